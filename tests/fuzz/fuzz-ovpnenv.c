/* fuzz-ovpnenv.c - OpenVPN's script/plug-in environment parser (same
 * input shape and round-trip invariant as fuzz-ocenv.c) */
#include "ocenv.h"
#include "ovpnenv.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	g_autofree char *text = g_malloc(size + 1);
	g_auto(GStrv) envp = NULL;
	g_autoptr(GHashTable) env = NULL;
	g_autoptr(VpnConfig) cfg = NULL;
	int fd;

	/* entries are separated by NUL (env -0) or newline */
	for (size_t i = 0; i < size; i++)
		text[i] = data[i] == 0 || data[i] == '\n' ? '\x1e' : (char)data[i];
	text[size] = 0;
	envp = g_strsplit(text, "\x1e", 4096);
	env = ocenv_table(envp);
	ovpnenv_tuntap_fd(env, &fd, NULL);
	cfg = ovpnenv_parse_config(env, NULL);
	if (cfg) {
		g_autoptr(GVariant) v = g_variant_ref_sink(vpncfg_to_variant(cfg));
		g_autoptr(GError) error = NULL;
		g_autoptr(VpnConfig) back = vpncfg_from_variant(v, &error);

		if (!back)
			g_error("accepted configuration does not round-trip: %s", error->message);
	}
	return 0;
}
