/* test-plugin.c - vpnns-openvpn.so loaded with dlopen, as OpenVPN loads it
 *
 * The plug-in execs the vpnns helper of this build (vpnns=...): the test
 * checks that bad arguments refuse to load with a clear message and that
 * malformed environments are rejected before anything is done.  Opening
 * for a real user needs root (the helper refuses otherwise, and says so).
 */
#include "util.h"

#include <dlfcn.h>
#include <openvpn/openvpn-plugin.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef int (*open_fn)(int, struct openvpn_plugin_args_open_in const *,
		       struct openvpn_plugin_args_open_return *);
typedef int (*func_fn)(int, struct openvpn_plugin_args_func_in const *,
		       struct openvpn_plugin_args_func_return *);
typedef void (*close_fn)(openvpn_plugin_handle_t);

static void *lib;
static open_fn p_open;
static func_fn p_func;
static close_fn p_close;
static GString *logged;
static char *vpnns_arg;

static void capture_log(openvpn_plugin_log_flags_t flags, const char *name, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	g_string_append_vprintf(logged, fmt, ap);
	g_string_append_c(logged, '\n');
	va_end(ap);
}

static void capture_vlog(openvpn_plugin_log_flags_t flags, const char *name, const char *fmt,
			 va_list ap)
{
	g_string_append_vprintf(logged, fmt, ap);
}

static struct openvpn_plugin_callbacks callbacks = { .plugin_log = capture_log,
						    .plugin_vlog = capture_vlog };

/* Open with "ARG ARG ..." after the library path; NULL when refused. */
static openvpn_plugin_handle_t plugin_open(const char *args, int *type_mask)
{
	g_auto(GStrv) words = g_strsplit(args, " ", -1);
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	const char *envp[] = { "PATH=/usr/bin:/bin", NULL };
	struct openvpn_plugin_args_open_return ret = { 0 };
	int r;

	g_ptr_array_add(argv, "vpnns-openvpn.so");
	g_ptr_array_add(argv, vpnns_arg);
	for (char **w = words; *w; w++) {
		if (**w)
			g_ptr_array_add(argv, *w);
	}
	g_ptr_array_add(argv, NULL);
	{
		struct openvpn_plugin_args_open_in in = {
			.type_mask = 0xffff, .argv = (const char **)argv->pdata, .envp = envp,
			.callbacks = &callbacks, .ovpn_version = "2.6.14",
			.ovpn_version_major = 2, .ovpn_version_minor = 6, .ovpn_version_patch = "14",
		};
		g_string_truncate(logged, 0);
		r = p_open(OPENVPN_PLUGINv3_STRUCTVER, &in, &ret);
	}
	if (type_mask)
		*type_mask = ret.type_mask;
	return r == OPENVPN_PLUGIN_FUNC_SUCCESS ? ret.handle : NULL;
}

static int plugin_event(openvpn_plugin_handle_t h, int type, const char *const *envp)
{
	const char *argv[] = { "vpnns-openvpn.so", NULL };
	struct openvpn_plugin_args_func_in in = { .type = type, .argv = argv,
		.envp = (const char **)envp, .handle = h };
	struct openvpn_plugin_args_func_return ret = { 0 };

	g_string_truncate(logged, 0);
	return p_func(OPENVPN_PLUGINv3_STRUCTVER, &in, &ret);
}

static void expect_refused(const char *args, const char *mentions)
{
	openvpn_plugin_handle_t h = plugin_open(args, NULL);

	if (h)
		g_error("loaded with '%s'", args);
	if (!strstr(logged->str, mentions))
		g_error("args '%s': log '%s' does not mention '%s'", args, logged->str, mentions);
}

static void test_bad_arguments(void)
{
	expect_refused("name=work", "user= is missing");
	expect_refused("user=no-such-user-vpnns name=work", "no such user 'no-such-user-vpnns'");
	expect_refused("user=root name=work", "root's own sandbox is not supported");
	expect_refused("user=nobody name=../x", "invalid sandbox name");
	expect_refused("user=nobody name=", "invalid sandbox name");
	expect_refused("user=nobody frobnicate=1", "unknown argument 'frobnicate=1'");
}

/* An OpenVPN that is no longer root cannot load the plug-in (its helper
 * could not move the tun).  As root, check it in a child that became nobody. */
static void test_not_root(void)
{
	pid_t pid;
	int status;

	if (geteuid() != 0) {
		expect_refused("user=nobody name=work", "must be loaded while OpenVPN still runs as root");
		return;
	}
	pid = fork();
	if (pid == 0) {
		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(2);
		if (plugin_open("user=nobody name=work", NULL))
			_exit(3);
		_exit(strstr(logged->str, "must be loaded while OpenVPN still runs as root") ? 0 : 4);
	}
	g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
	g_assert_true(WIFEXITED(status));
	g_assert_cmpint(WEXITSTATUS(status), ==, 0);
}

static void expect_event_refused(openvpn_plugin_handle_t h, int type, const char *const *envp,
				 const char *mentions)
{
	int r = plugin_event(h, type, envp);

	g_assert_cmpint(r, ==, OPENVPN_PLUGIN_FUNC_ERROR);
	if (!strstr(logged->str, mentions))
		g_error("log '%s' does not mention '%s'", logged->str, mentions);
}

static void test_malformed_environments(void)
{
	const char *bad_addr[] = { "dev=tun9", "ifconfig_local=10.8.0.256", "ifconfig_netmask=255.255.255.0", NULL };
	const char *bad_mask[] = { "dev=tun9", "ifconfig_local=10.8.0.2", "ifconfig_netmask=255.0.255.0", NULL };
	const char *huge_index[] = { "dev=tun9", "ifconfig_local=10.8.0.2", "ifconfig_netmask=255.255.255.0",
				     "route_network_4294967295=10.9.0.0", NULL };
	const char *gap[] = { "dev=tun9", "ifconfig_local=10.8.0.2", "ifconfig_netmask=255.255.255.0",
			      "route_network_1=10.9.0.0", "route_network_7=10.7.0.0", NULL };
	const char *no_dev[] = { "ifconfig_local=10.8.0.2", "ifconfig_netmask=255.255.255.0", NULL };
	const char *no_addr[] = { "dev=tun9", NULL };
	const char *dns_inject[] = { "dev=tun9", "ifconfig_local=10.8.0.2",
				     "foreign_option_1=dhcp-option DOMAIN a.test\nnameserver 6.6.6.6", NULL };
	int mask = 0;
	openvpn_plugin_handle_t h;

	if (geteuid() != 0) {
		/* the helper serves only a root OpenVPN; in CI tests run as root */
		if (!g_strcmp0(g_getenv("CI"), "true"))
			g_test_fail();
		g_test_skip("run as root to exercise the plug-in's event handling");
		return;
	}
	h = plugin_open("user=nobody name=plugin-unit-test", &mask);
	if (!h)
		g_error("refused to load: %s", logged->str);
	g_assert_cmpint(mask, ==, OPENVPN_PLUGIN_MASK(OPENVPN_PLUGIN_UP) |
		OPENVPN_PLUGIN_MASK(OPENVPN_PLUGIN_ROUTE_UP) |
		OPENVPN_PLUGIN_MASK(OPENVPN_PLUGIN_ROUTE_PREDOWN) | OPENVPN_PLUGIN_MASK(OPENVPN_PLUGIN_DOWN));
	expect_event_refused(h, OPENVPN_PLUGIN_UP, bad_addr, "ifconfig_local='10.8.0.256' is not an IPv4 address");
	expect_event_refused(h, OPENVPN_PLUGIN_UP, bad_mask, "ifconfig_netmask='255.0.255.0'");
	expect_event_refused(h, OPENVPN_PLUGIN_ROUTE_UP, huge_index, "route index out of range");
	expect_event_refused(h, OPENVPN_PLUGIN_ROUTE_UP, gap, "route_network_7 is out of sequence");
	expect_event_refused(h, OPENVPN_PLUGIN_UP, no_dev, "dev is not set");
	expect_event_refused(h, OPENVPN_PLUGIN_UP, no_addr, "neither ifconfig_local");
	expect_event_refused(h, OPENVPN_PLUGIN_UP, dns_inject, "foreign_option_1");
	/* the helper keeps serving after every refusal; teardown never fails */
	g_assert_cmpint(plugin_event(h, OPENVPN_PLUGIN_DOWN, no_dev), ==, OPENVPN_PLUGIN_FUNC_SUCCESS);
	p_close(h);
}

static void test_exports(void)
{
	/* only the three entry points: nothing of ours leaks into OpenVPN */
	g_assert_nonnull(p_open);
	g_assert_nonnull(p_func);
	g_assert_nonnull(p_close);
	g_assert_null(dlsym(lib, "plugin_msg"));
	g_assert_null(dlsym(lib, "ovpnproto_encode"));
}

int main(int argc, char **argv)
{
	g_autofree char *dir = g_path_get_dirname(argv[0]);
	g_autofree char *here = g_canonicalize_filename(dir, NULL);
	g_autofree char *so = g_canonicalize_filename("../../openvpn-plugin/vpnns-openvpn.so", here);
	g_autofree char *abs = g_canonicalize_filename("../../vpnns", here);

	g_test_init(&argc, &argv, NULL);
	logged = g_string_new(NULL);
	vpnns_arg = g_strconcat("vpnns=", abs, NULL);
	lib = dlopen(so, RTLD_NOW | RTLD_LOCAL);
	if (!lib)
		g_error("dlopen %s: %s (build it with make)", so, dlerror());
	p_open = (open_fn)dlsym(lib, "openvpn_plugin_open_v3");
	p_func = (func_fn)dlsym(lib, "openvpn_plugin_func_v3");
	p_close = (close_fn)dlsym(lib, "openvpn_plugin_close_v1");
	g_test_add_func("/plugin/exports", test_exports);
	g_test_add_func("/plugin/bad-arguments", test_bad_arguments);
	g_test_add_func("/plugin/not-root", test_not_root);
	g_test_add_func("/plugin/malformed-environments", test_malformed_environments);
	return g_test_run();
}
