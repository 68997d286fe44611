/* fuzz-ocenv.c - openconnect's vpnc-script environment parser
 *
 * Input: NUL- or newline-separated NAME=value entries.  Invariant: whatever
 * the parser accepts survives the trip to the holder - the GVariant form
 * must parse back (the holder re-validates everything it receives).
 */
#include "ocenv.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	g_autofree char *text = g_malloc(size + 1);
	g_auto(GStrv) envp = NULL;
	g_autoptr(GHashTable) env = NULL;
	g_autoptr(VpnConfig) cfg = NULL;
	OcEnvInfo info;

	/* entries are separated by NUL (env -0) or newline */
	for (size_t i = 0; i < size; i++)
		text[i] = data[i] == 0 || data[i] == '\n' ? '\x1e' : (char)data[i];
	text[size] = 0;
	envp = g_strsplit(text, "\x1e", 4096);
	env = ocenv_table(envp);
	if (ocenv_parse_info(env, &info, NULL))
		ocenv_info_clear(&info);
	cfg = ocenv_parse_config(env, NULL);
	if (cfg) {
		g_autoptr(GVariant) v = g_variant_ref_sink(vpncfg_to_variant(cfg));
		g_autoptr(GError) error = NULL;
		g_autoptr(VpnConfig) back = vpncfg_from_variant(v, &error);
		g_autofree char *resolv = vpncfg_resolv_conf(cfg, NULL);

		if (!back)
			g_error("accepted configuration does not round-trip: %s", error->message);
		/* nothing the VPN sends may add a line of its own to resolv.conf */
		for (const char *l = resolv; (l = strchr(l, '\n')) && l[1]; l++) {
			if (strncmp(l + 1, "nameserver ", 11) && strncmp(l + 1, "search ", 7) &&
			    strncmp(l + 1, "# ", 2) && strncmp(l + 1, "options ", 8))
				g_error("unexpected resolv.conf line: %s", l + 1);
		}
	}
	return 0;
}
