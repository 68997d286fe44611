/* fuzzenv.h - what the environment fuzz targets share */
#pragma once

#include "ocenv.h"

/* The input as an environment table: entries separated by NUL (env -0) or
 * newline, NAME=value each. */
static inline GHashTable *fuzzenv_table(const unsigned char *data, size_t size)
{
	g_autofree char *text = g_malloc(size + 1);
	g_auto(GStrv) envp = NULL;

	for (size_t i = 0; i < size; i++)
		text[i] = data[i] == 0 || data[i] == '\n' ? '\x1e' : (char)data[i];
	text[size] = 0;
	envp = g_strsplit(text, "\x1e", 4096);
	return ocenv_table(envp);
}

/* The invariant: whatever a parser accepts survives the trip to the holder,
 * which re-validates everything it receives. */
static inline void fuzzenv_check_roundtrip(const VpnConfig *cfg)
{
	g_autoptr(GVariant) v = g_variant_ref_sink(vpncfg_to_variant(cfg));
	g_autoptr(GError) error = NULL;
	g_autoptr(VpnConfig) back = vpncfg_from_variant(v, &error);

	if (!back)
		g_error("accepted configuration does not round-trip: %s", error->message);
}
