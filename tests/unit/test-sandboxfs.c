/* test-sandboxfs.c - the nsswitch.conf filter that keeps NSS from bypassing resolv.conf */
#include "sandboxfs.h"

#include <string.h>

static void check(const char *in, const char *want_hosts)
{
	g_autofree char *out = sandboxfs_nsswitch_filter(in);
	g_auto(GStrv) lines = g_strsplit(out, "\n", -1);
	int found = 0;

	for (char **l = lines; *l; l++) {
		if (g_str_has_prefix(*l, "hosts:")) {
			g_autofree char *v = g_strstrip(g_strdup(*l + 6));
			g_assert_cmpstr(v, ==, want_hosts);
			found++;
		}
	}
	g_assert_cmpint(found, ==, 1);
}

static void test_debian_default(void)
{
	check("passwd: files\nhosts:          files dns\nnetworks: files\n", "files dns");
}

static void test_resolved(void)
{
	check("hosts: mymachines resolve [!UNAVAIL=return] files myhostname dns\n",
	      "mymachines files myhostname dns");
}

static void test_mdns(void)
{
	check("hosts: files mdns4_minimal [NOTFOUND=return] dns mdns4\n", "files dns");
	check("hosts: files mdns_minimal [NOTFOUND=return] dns\n", "files dns");
}

static void test_resolve_only(void)
{
	check("hosts: resolve [!UNAVAIL=return]\n", "dns");
}

static void test_action_with_spaces(void)
{
	check("hosts: files resolve [ !UNAVAIL=return NOTFOUND=return ] dns\n", "files dns");
}

static void test_missing_hosts(void)
{
	check("passwd: files", "files dns");
	check("", "files dns");
	check(NULL, "files dns");
}

static void test_keeps_other_lines(void)
{
	g_autofree char *out = sandboxfs_nsswitch_filter(
		"# comment\npasswd: files systemd\nhosts: files resolve dns\nhosts: resolve\n");

	g_assert_nonnull(strstr(out, "# comment\n"));
	g_assert_nonnull(strstr(out, "passwd: files systemd\n"));
	g_assert_null(strstr(out, "resolve"));
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/nsswitch/debian-default", test_debian_default);
	g_test_add_func("/nsswitch/resolved", test_resolved);
	g_test_add_func("/nsswitch/mdns", test_mdns);
	g_test_add_func("/nsswitch/resolve-only", test_resolve_only);
	g_test_add_func("/nsswitch/action-with-spaces", test_action_with_spaces);
	g_test_add_func("/nsswitch/missing-hosts", test_missing_hosts);
	g_test_add_func("/nsswitch/keeps-other-lines", test_keeps_other_lines);
	return g_test_run();
}
