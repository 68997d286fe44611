/* fuzz-ocenv.c - openconnect's vpnc-script environment parser
 *
 * Input: NUL- or newline-separated NAME=value entries.  Invariants:
 * whatever the parser accepts survives the trip to the holder, and nothing
 * the VPN sends adds a line of its own to the sandbox's resolv.conf.
 */
#include "fuzzenv.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	g_autoptr(GHashTable) env = fuzzenv_table(data, size);
	g_autoptr(VpnConfig) cfg = NULL;
	g_autofree char *resolv = NULL;
	OcEnvInfo info;

	if (ocenv_parse_info(env, &info, NULL))
		ocenv_info_clear(&info);
	cfg = ocenv_parse_config(env, NULL);
	if (!cfg)
		return 0;
	fuzzenv_check_roundtrip(cfg);
	resolv = vpncfg_resolv_conf(cfg, NULL);
	for (const char *l = resolv; (l = strchr(l, '\n')) && l[1]; l++) {
		if (strncmp(l + 1, "nameserver ", 11) && strncmp(l + 1, "search ", 7) &&
		    strncmp(l + 1, "# ", 2) && strncmp(l + 1, "options ", 8))
			g_error("unexpected resolv.conf line: %s", l + 1);
	}
	return 0;
}
