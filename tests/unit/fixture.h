/* fixture.h - recorded VPN environments (tests/lab/fixtures) for unit tests */
#pragma once

#include "ocenv.h"

#include <stdarg.h>
#include <string.h>

/* A recorded environment as a table.  NAME.env0 files hold `env -0`
 * output (values may span lines); NAME.env files one NAME=value a line. */
static inline GHashTable *fixture(const char *name)
{
	g_autofree char *text = NULL;
	g_autoptr(GPtrArray) envp = g_ptr_array_new();
	const char *path = g_test_get_filename(G_TEST_DIST, "..", "lab", "fixtures", name, NULL);
	gsize len;

	g_assert_true(g_file_get_contents(path, &text, &len, NULL));
	if (!g_str_has_suffix(name, ".env0")) {
		for (gsize i = 0; i < len; i++) {
			if (text[i] == '\n')
				text[i] = 0;
		}
	}
	for (gsize off = 0; off < len; off += strlen(text + off) + 1)
		g_ptr_array_add(envp, text + off);
	g_ptr_array_add(envp, NULL);
	return ocenv_table((char **)envp->pdata);
}

/* An environment from NAME, VALUE, ... NULL pairs. */
static inline GHashTable *table(const char *first, ...)
{
	GHashTable *env = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	va_list ap;

	va_start(ap, first);
	for (const char *k = first; k; k = va_arg(ap, const char *))
		g_hash_table_replace(env, g_strdup(k), g_strdup(va_arg(ap, const char *)));
	va_end(ap);
	return env;
}
