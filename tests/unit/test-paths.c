/* test-paths.c - sandbox name validation and state directory layout */
#include "paths.h"
#include "util.h"

#include <string.h>
#include <sys/stat.h>

static void test_name_valid(void)
{
	const char *good[] = { "default", "work", "a", "A-b_c.9", "x.y", NULL };

	for (int i = 0; good[i]; i++) {
		g_autoptr(GError) error = NULL;
		g_assert_true(paths_name_valid(good[i], &error));
		g_assert_no_error(error);
	}
}

static void test_name_invalid(void)
{
	g_autofree char *long_name = g_strnfill(VPNNS_NAME_MAX + 1, 'a');
	g_autofree char *max_name = g_strnfill(VPNNS_NAME_MAX, 'a');
	const char *bad[] = { "", ".", "..", "../x", "a/b", "/abs", ".hidden", "a b",
			      "tab\tx", "nl\nx", "é", "a*", "$(id)", long_name, NULL };

	for (int i = 0; bad[i]; i++) {
		g_autoptr(GError) error = NULL;
		g_assert_false(paths_name_valid(bad[i], &error));
		g_assert_error(error, VPNNS_ERROR, VPNNS_ERROR_INVALID);
	}
	g_assert_false(paths_name_valid(NULL, NULL));
	g_assert_true(paths_name_valid(max_name, NULL));
}

static void test_layout_xdg(void)
{
	g_autofree char *xdg = g_dir_make_tmp("vpnns-test-XXXXXX", NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(VpnnsPaths) p = NULL;
	g_autofree char *want = NULL;

	g_setenv("XDG_RUNTIME_DIR", xdg, TRUE);
	g_unsetenv("VPNNS_STATE_DIR");
	p = paths_new("work", NULL, &error);
	g_assert_no_error(error);
	want = g_build_filename(xdg, "vpnns", "work", NULL);
	g_assert_cmpstr(p->dir, ==, want);
	g_assert_true(g_str_has_suffix(p->ctl, "/vpnns/work/ctl"));
	g_assert_true(g_str_has_suffix(p->lock, "/vpnns/work/lock"));
	g_assert_false(p->classic);

	g_assert_true(paths_ensure_dir(p, &error));
	g_assert_no_error(error);
	{
		struct stat st;
		g_assert_cmpint(lstat(p->dir, &st), ==, 0);
		g_assert_cmpint(st.st_mode & 07777, ==, 0700);
	}
	paths_remove_tree(xdg, NULL);
}

static void test_layout_classic(void)
{
	g_autoptr(VpnnsPaths) p = NULL;
	g_autofree char *want = g_build_filename(g_get_home_dir(), ".vpnns-work", NULL);

	g_setenv("XDG_RUNTIME_DIR", "/nonexistent-vpnns-test", TRUE);
	g_unsetenv("VPNNS_STATE_DIR");
	p = paths_new("work", NULL, NULL);
	g_assert_nonnull(p);
	g_assert_cmpstr(p->dir, ==, want);
	g_assert_true(p->classic);
}

static void test_layout_override(void)
{
	g_autoptr(VpnnsPaths) p = paths_new("n", "/some/dir", NULL);

	g_assert_cmpstr(p->dir, ==, "/some/dir/n");
	g_setenv("VPNNS_STATE_DIR", "/env/dir", TRUE);
	{
		g_autoptr(VpnnsPaths) q = paths_new("n", NULL, NULL);
		g_assert_cmpstr(q->dir, ==, "/env/dir/n");
	}
	g_unsetenv("VPNNS_STATE_DIR");
}

static void test_socket_too_long(void)
{
	g_autofree char *deep = g_strnfill(120, 'd');
	g_autofree char *base = g_strconcat("/tmp/", deep, NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(VpnnsPaths) p = paths_new("x", base, &error);

	g_assert_null(p);
	g_assert_error(error, VPNNS_ERROR, VPNNS_ERROR_INVALID);
	g_assert_nonnull(strstr(error->message, "--state-dir"));
}

static void test_refuse_symlink(void)
{
	g_autofree char *tmp = g_dir_make_tmp("vpnns-test-XXXXXX", NULL);
	g_autofree char *target = g_build_filename(tmp, "elsewhere", NULL);
	g_autofree char *link = g_build_filename(tmp, "planted", NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(VpnnsPaths) p = paths_new("planted", tmp, NULL);

	g_assert_cmpint(mkdir(target, 0700), ==, 0);
	g_assert_cmpint(symlink(target, link), ==, 0);
	g_assert_false(paths_ensure_dir(p, &error));
	g_assert_error(error, VPNNS_ERROR, VPNNS_ERROR_PERMISSION);
	paths_remove_tree(tmp, NULL);
}

static void test_refuse_open_mode(void)
{
	g_autofree char *tmp = g_dir_make_tmp("vpnns-test-XXXXXX", NULL);
	g_autofree char *dir = g_build_filename(tmp, "open", NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(VpnnsPaths) p = paths_new("open", tmp, NULL);

	chmod(tmp, 0700);
	g_assert_cmpint(mkdir(dir, 0755), ==, 0);
	chmod(dir, 0755);
	g_assert_false(paths_ensure_dir(p, &error));
	g_assert_error(error, VPNNS_ERROR, VPNNS_ERROR_PERMISSION);
	g_assert_nonnull(strstr(error->message, "chmod 700"));
	paths_remove_tree(tmp, NULL);
}

static void test_list_names(void)
{
	g_autofree char *tmp = g_dir_make_tmp("vpnns-test-XXXXXX", NULL);
	const char *names[] = { "b", "a", ".hidden", NULL };
	g_autoptr(GPtrArray) got = NULL;

	for (int i = 0; names[i]; i++) {
		g_autofree char *d = g_build_filename(tmp, names[i], NULL);
		g_assert_cmpint(mkdir(d, 0700), ==, 0);
	}
	got = paths_list_names(tmp);
	g_assert_cmpuint(got->len, ==, 2);
	g_assert_cmpstr(got->pdata[0], ==, "a");
	g_assert_cmpstr(got->pdata[1], ==, "b");
	paths_remove_tree(tmp, NULL);
}

static void test_remove_tree_mode0(void)
{
	g_autofree char *tmp = g_dir_make_tmp("vpnns-test-XXXXXX", NULL);
	g_autofree char *sub = g_build_filename(tmp, "work", NULL);
	g_autofree char *subsub = g_build_filename(sub, "work", NULL);
	g_autofree char *outside = g_dir_make_tmp("vpnns-test-XXXXXX", NULL);
	g_autofree char *victim = g_build_filename(outside, "keep", NULL);
	g_autofree char *link = g_build_filename(sub, "link", NULL);

	g_assert_cmpint(mkdir(sub, 0700), ==, 0);
	g_assert_cmpint(mkdir(subsub, 0), ==, 0);
	g_assert_true(g_file_set_contents(victim, "x", 1, NULL));
	g_assert_cmpint(symlink(outside, link), ==, 0);
	g_assert_cmpint(chmod(sub, 0), ==, 0);
	g_assert_true(paths_remove_tree(tmp, NULL));
	g_assert_false(g_file_test(tmp, G_FILE_TEST_EXISTS));
	/* the symlink was removed, not followed */
	g_assert_true(g_file_test(victim, G_FILE_TEST_EXISTS));
	paths_remove_tree(outside, NULL);
}

static void test_classic_vpnns_dir(void)
{
	g_autofree char *base = g_dir_make_tmp("vpnns-test-XXXXXX", NULL);
	g_autofree char *dir = g_build_filename(base, "default", NULL);
	g_autofree char *watcher = g_build_filename(dir, "watcher", NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(VpnnsPaths) p = paths_new("default", base, NULL);

	g_assert_cmpint(mkdir(dir, 0755), ==, 0);
	chmod(dir, 0755);
	g_assert_true(g_file_set_contents(watcher, "", 0, NULL));
	g_assert_false(paths_ensure_dir(p, &error));
	g_assert_error(error, VPNNS_ERROR, VPNNS_ERROR_PERMISSION);
	g_assert_nonnull(strstr(error->message, "classic vpnns"));
	paths_remove_tree(base, NULL);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/paths/name/valid", test_name_valid);
	g_test_add_func("/paths/name/invalid", test_name_invalid);
	g_test_add_func("/paths/layout/xdg", test_layout_xdg);
	g_test_add_func("/paths/layout/classic", test_layout_classic);
	g_test_add_func("/paths/layout/override", test_layout_override);
	g_test_add_func("/paths/socket-too-long", test_socket_too_long);
	g_test_add_func("/paths/refuse/symlink", test_refuse_symlink);
	g_test_add_func("/paths/refuse/open-mode", test_refuse_open_mode);
	g_test_add_func("/paths/list", test_list_names);
	g_test_add_func("/paths/remove-tree", test_remove_tree_mode0);
	g_test_add_func("/paths/classic-vpnns-dir", test_classic_vpnns_dir);
	return g_test_run();
}
