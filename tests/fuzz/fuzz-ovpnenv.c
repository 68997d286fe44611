/* fuzz-ovpnenv.c - OpenVPN's script/plug-in environment parser (same
 * input shape and round-trip invariant as fuzz-ocenv.c) */
#include "fuzzenv.h"
#include "ovpnenv.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	g_autoptr(GHashTable) env = fuzzenv_table(data, size);
	g_autoptr(VpnConfig) cfg = NULL;
	int fd;

	ovpnenv_tuntap_fd(env, &fd, NULL);
	cfg = ovpnenv_parse_config(env, NULL);
	if (cfg)
		fuzzenv_check_roundtrip(cfg);
	return 0;
}
