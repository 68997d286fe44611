/* test-options.c - the command line: classic form, commands, usage errors */
#include "options.h"
#include "util.h"

static VpnnsOptions *parse(const char *line, GError **error)
{
	g_auto(GStrv) argv = NULL;
	int argc;

	g_assert_true(g_shell_parse_argv(line, &argc, &argv, NULL));
	return options_parse(argc, argv, error);
}

static void test_classic(void)
{
	g_autoptr(VpnnsOptions) o = parse("vpnns --name work -- firefox -P vpn", NULL);

	g_assert_nonnull(o);
	g_assert_cmpint(o->command, ==, CMD_RUN);
	g_assert_cmpstr(o->name, ==, "work");
	g_assert_cmpuint(g_strv_length(o->argv), ==, 3);
	g_assert_cmpstr(o->argv[0], ==, "firefox");
	g_assert_cmpstr(o->argv[2], ==, "vpn");
}

static void test_classic_equals_and_short(void)
{
	g_autoptr(VpnnsOptions) a = parse("vpnns --name=w -- true", NULL);
	g_autoptr(VpnnsOptions) b = parse("vpnns -n w -- true", NULL);

	g_assert_cmpstr(a->name, ==, "w");
	g_assert_cmpstr(b->name, ==, "w");
}

static void test_shell(void)
{
	g_autoptr(VpnnsOptions) o = NULL;

	g_unsetenv("VPNNS_NAME");
	o = parse("vpnns", NULL);
	g_assert_cmpint(o->command, ==, CMD_RUN);
	g_assert_cmpstr(o->name, ==, "default");
	g_assert_cmpuint(g_strv_length(o->argv), ==, 0);
}

static void test_env_name(void)
{
	g_autoptr(VpnnsOptions) o = NULL;

	g_setenv("VPNNS_NAME", "fromenv", TRUE);
	o = parse("vpnns -- true", NULL);
	g_assert_cmpstr(o->name, ==, "fromenv");
	g_unsetenv("VPNNS_NAME");
}

static void test_commands(void)
{
	g_autoptr(VpnnsOptions) stop = parse("vpnns stop work --timeout 3", NULL);
	g_autoptr(VpnnsOptions) status = parse("vpnns status --json work", NULL);
	g_autoptr(VpnnsOptions) list = parse("vpnns list --json", NULL);
	g_autoptr(VpnnsOptions) up = parse("vpnns --name x up --hostname h", NULL);

	g_assert_cmpint(stop->command, ==, CMD_STOP);
	g_assert_cmpstr(stop->name, ==, "work");
	g_assert_cmpint(stop->timeout_s, ==, 3);
	g_assert_cmpint(status->command, ==, CMD_STATUS);
	g_assert_true(status->json);
	g_assert_cmpstr(status->name, ==, "work");
	g_assert_cmpint(list->command, ==, CMD_LIST);
	g_assert_cmpint(up->command, ==, CMD_UP);
	g_assert_cmpstr(up->name, ==, "x");
	g_assert_cmpstr(up->hostname, ==, "h");
}

static void test_errors(void)
{
	const char *bad[] = {
		"vpnns firefox",            /* no -- before a command */
		"vpnns --bogus",
		"vpnns --name",
		"vpnns --name ../x -- true",
		"vpnns stop a b",
		"vpnns list extra",
		"vpnns stop --timeout x",
		"vpnns stop --timeout 9999",
		"vpnns list --hostname h",  /* option of another command */
		NULL,
	};

	for (int i = 0; bad[i]; i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(VpnnsOptions) o = parse(bad[i], &error);

		if (o)
			g_error("accepted: %s", bad[i]);
		g_assert_error(error, VPNNS_ERROR, VPNNS_ERROR_INVALID);
	}
}

static void test_option_named(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(VpnnsOptions) a = parse("vpnns list --timeout 3", &error);
	g_autoptr(VpnnsOptions) b = parse("vpnns --json list", NULL);
	g_autoptr(VpnnsOptions) c = parse("vpnns --hostname x list", NULL);

	g_assert_null(a);
	g_assert_cmpstr(error->message, ==, "option --timeout does not apply to list");
	g_assert_nonnull(b);
	g_assert_true(b->json);
	g_assert_null(c);
}

static void test_attach(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(VpnnsOptions) a = parse("vpnns --attach --name work --no-offload", NULL);
	g_autoptr(VpnnsOptions) b = parse("vpnns --attach --user alice -s /x/hook", NULL);
	g_autoptr(VpnnsOptions) c = parse("vpnns --no-offload -- true", &error);
	g_autoptr(GError) error2 = NULL;
	g_autoptr(VpnnsOptions) d = parse("vpnns --attach extra", &error2);

	g_assert_cmpint(a->command, ==, CMD_ATTACH);
	g_assert_cmpstr(a->name, ==, "work");
	g_assert_true(a->no_offload);
	g_assert_cmpint(b->command, ==, CMD_ATTACH);
	g_assert_false(b->no_offload);
	g_assert_cmpstr(b->user, ==, "alice");
	g_assert_cmpstr(b->script, ==, "/x/hook");
	g_assert_null(c);
	g_assert_cmpstr(error->message, ==, "option --no-offload does not apply to running a "
			"command (it goes with --attach)");
	g_assert_null(d);
	g_assert_error(error2, VPNNS_ERROR, VPNNS_ERROR_INVALID);
}

static void test_help(void)
{
	g_autoptr(VpnnsOptions) a = parse("vpnns --help", NULL);
	g_autoptr(VpnnsOptions) b = parse("vpnns stop --help", NULL);
	g_autoptr(VpnnsOptions) c = parse("vpnns -V", NULL);

	g_assert_cmpint(a->command, ==, CMD_HELP);
	g_assert_cmpint(b->command, ==, CMD_HELP);
	g_assert_cmpint(c->command, ==, CMD_VERSION);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/options/classic", test_classic);
	g_test_add_func("/options/classic-forms", test_classic_equals_and_short);
	g_test_add_func("/options/shell", test_shell);
	g_test_add_func("/options/env-name", test_env_name);
	g_test_add_func("/options/commands", test_commands);
	g_test_add_func("/options/errors", test_errors);
	g_test_add_func("/options/help", test_help);
	g_test_add_func("/options/attach", test_attach);
	g_test_add_func("/options/option-named", test_option_named);
	return g_test_run();
}
