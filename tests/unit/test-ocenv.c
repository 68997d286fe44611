/* test-ocenv.c - openconnect's vpnc-script environment parser */
#include "ocenv.h"
#include "fixture.h"
#include "util.h"

#include <string.h>
#include <sys/socket.h>

static char *prefix_str(const VpnPrefix *p)
{
	return vpncfg_prefix_to_string(p);
}

static void test_script_tun(void)
{
	g_autoptr(GHashTable) env = fixture("openconnect-script-tun.env");
	g_autoptr(GError) error = NULL;
	g_autoptr(VpnConfig) cfg = ocenv_parse_config(env, &error);
	OcEnvInfo info;
	g_autofree char *ip4 = NULL, *ip6 = NULL;

	g_assert_no_error(error);
	g_assert_true(ocenv_parse_info(env, &info, &error));
	g_assert_null(info.reason);
	g_assert_cmpint(info.vpnfd, >=, 0);
	g_assert_cmpint(info.vpnpid, >, 0);
	ocenv_info_clear(&info);
	/* the parsed values are the recorded variables, canonicalised */
	g_assert_true(cfg->has_ip4);
	ip4 = prefix_str(&cfg->ip4);
	{
		g_autofree char *want = g_strdup_printf("%s/%s",
			(char *)g_hash_table_lookup(env, "INTERNAL_IP4_ADDRESS"),
			(char *)g_hash_table_lookup(env, "INTERNAL_IP4_NETMASKLEN"));
		g_assert_cmpstr(ip4, ==, want);
	}
	g_assert_true(cfg->has_ip6);
	ip6 = prefix_str(&cfg->ip6);
	g_assert_cmpstr(ip6, ==, g_hash_table_lookup(env, "INTERNAL_IP6_NETMASK"));
	g_assert_cmpuint(cfg->mtu, ==, 1434);
	g_assert_cmpuint(cfg->dns->len, ==, 1);
	g_assert_cmpstr(cfg->dns->pdata[0], ==, "203.0.113.53");
	g_assert_cmpuint(cfg->search->len, ==, 1);
	g_assert_cmpstr(cfg->search->pdata[0], ==, "vpnns.test");
	g_assert_cmpuint(cfg->routes->len, ==, 0); /* full tunnel: default routes */
	g_assert_cmpstr(cfg->gateway, ==, "198.51.100.2");
	g_assert_null(cfg->ifname);
}

static void test_split(void)
{
	g_autoptr(GHashTable) env = fixture("openconnect-script-tun-split.env");
	g_autoptr(GError) error = NULL;
	g_autoptr(VpnConfig) cfg = ocenv_parse_config(env, &error);
	g_autofree char *r0 = NULL, *r1 = NULL;

	g_assert_no_error(error);
	g_assert_cmpuint(cfg->routes->len, ==, 2);
	r0 = prefix_str(&g_array_index(cfg->routes, VpnPrefix, 0));
	r1 = prefix_str(&g_array_index(cfg->routes, VpnPrefix, 1));
	g_assert_cmpstr(r0, ==, "203.0.113.0/24");
	g_assert_cmpstr(r1, ==, "2001:db8:203::/64");
}

static void test_kernel(void)
{
	g_autoptr(GHashTable) env = fixture("openconnect-kernel-connect.env");
	g_autoptr(GError) error = NULL;
	g_autoptr(VpnConfig) cfg = ocenv_parse_config(env, &error);
	OcEnvInfo info;

	g_assert_no_error(error);
	g_assert_cmpstr(cfg->ifname, ==, "tun0");
	g_assert_true(ocenv_parse_info(env, &info, NULL));
	g_assert_cmpstr(info.reason, ==, "connect");
	g_assert_cmpint(info.vpnfd, ==, -1);
	ocenv_info_clear(&info);
}

static void test_mtu4000(void)
{
	g_autoptr(GHashTable) env = fixture("openconnect-script-tun-mtu4000.env");
	g_autoptr(VpnConfig) cfg = ocenv_parse_config(env, NULL);

	g_assert_nonnull(cfg);
	g_assert_cmpuint(cfg->mtu, ==, 4000);
}

static void test_netmask_forms(void)
{
	g_autoptr(GHashTable) a = table("INTERNAL_IP4_ADDRESS", "10.1.2.3", "INTERNAL_IP4_NETMASK", "255.255.240.0", NULL);
	g_autoptr(GHashTable) b = table("INTERNAL_IP4_ADDRESS", "10.1.2.3", NULL);
	g_autoptr(VpnConfig) ca = ocenv_parse_config(a, NULL);
	g_autoptr(VpnConfig) cb = ocenv_parse_config(b, NULL);

	g_assert_cmpuint(ca->ip4.prefix, ==, 20);
	g_assert_cmpuint(cb->ip4.prefix, ==, 32);
}

static void test_default_split_route(void)
{
	g_autoptr(GHashTable) env = table("INTERNAL_IP4_ADDRESS", "10.0.0.2",
		"CISCO_SPLIT_INC", "2", "CISCO_SPLIT_INC_0_ADDR", "0.0.0.0", "CISCO_SPLIT_INC_0_MASKLEN", "0",
		"CISCO_SPLIT_INC_1_ADDR", "10.9.0.0", "CISCO_SPLIT_INC_1_MASKLEN", "16", NULL);
	g_autoptr(VpnConfig) cfg = ocenv_parse_config(env, NULL);

	/* 0.0.0.0/0 pushed as a split route means the default route */
	g_assert_cmpuint(cfg->routes->len, ==, 0);
}

static void test_host_bits_masked(void)
{
	g_autoptr(GHashTable) env = table("INTERNAL_IP4_ADDRESS", "10.0.0.2",
		"CISCO_SPLIT_INC", "1", "CISCO_SPLIT_INC_0_ADDR", "10.9.8.7", "CISCO_SPLIT_INC_0_MASK", "255.255.0.0", NULL);
	g_autoptr(VpnConfig) cfg = ocenv_parse_config(env, NULL);
	g_autofree char *r = prefix_str(&g_array_index(cfg->routes, VpnPrefix, 0));

	g_assert_cmpstr(r, ==, "10.9.0.0/16");
}

static void test_dns_mixed_families(void)
{
	g_autoptr(GHashTable) env = table("INTERNAL_IP4_ADDRESS", "10.0.0.2",
		"INTERNAL_IP4_DNS", "10.0.0.53 2001:db8::53 10.0.0.53", NULL);
	g_autoptr(VpnConfig) cfg = ocenv_parse_config(env, NULL);
	g_autofree char *resolv = vpncfg_resolv_conf(cfg, NULL);

	g_assert_cmpuint(cfg->dns->len, ==, 2);
	g_assert_nonnull(strstr(resolv, "nameserver 10.0.0.53\nnameserver 2001:db8::53\n"));
}

static void expect_invalid(GHashTable *env, const char *mentions)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(VpnConfig) cfg = ocenv_parse_config(env, &error);

	g_assert_null(cfg);
	g_assert_error(error, VPNNS_ERROR, VPNNS_ERROR_INVALID);
	if (!strstr(error->message, mentions))
		g_error("'%s' does not mention %s", error->message, mentions);
	g_hash_table_unref(env);
}

static void test_malformed(void)
{
	expect_invalid(table("INTERNAL_IP4_ADDRESS", "10.0.0.256", NULL), "INTERNAL_IP4_ADDRESS");
	expect_invalid(table("INTERNAL_IP4_ADDRESS", "2001:db8::1", NULL), "INTERNAL_IP4_ADDRESS");
	expect_invalid(table("INTERNAL_IP4_ADDRESS", "10.0.0.2", "INTERNAL_IP4_NETMASK", "255.0.255.0", NULL), "NETMASK");
	expect_invalid(table("INTERNAL_IP4_ADDRESS", "10.0.0.2", "INTERNAL_IP4_NETMASKLEN", "33", NULL), "NETMASKLEN");
	expect_invalid(table("INTERNAL_IP4_ADDRESS", "10.0.0.2", "INTERNAL_IP4_MTU", "65536", NULL), "INTERNAL_IP4_MTU");
	expect_invalid(table("INTERNAL_IP4_ADDRESS", "10.0.0.2", "INTERNAL_IP4_MTU", "-1", NULL), "INTERNAL_IP4_MTU");
	expect_invalid(table("INTERNAL_IP4_ADDRESS", "10.0.0.2", "INTERNAL_IP4_MTU", "1400x", NULL), "INTERNAL_IP4_MTU");
	expect_invalid(table("INTERNAL_IP4_ADDRESS", "10.0.0.2", "INTERNAL_IP4_DNS", "8.8.8.8\nnameserver 6.6.6.6", NULL), "INTERNAL_IP4_DNS");
	expect_invalid(table("INTERNAL_IP4_ADDRESS", "10.0.0.2", "CISCO_DEF_DOMAIN", "ok.test\nnameserver 6.6.6.6", NULL), "CISCO_DEF_DOMAIN");
	expect_invalid(table("INTERNAL_IP4_ADDRESS", "10.0.0.2", "CISCO_SPLIT_INC", "3", "CISCO_SPLIT_INC_0_ADDR", "10.1.0.0", "CISCO_SPLIT_INC_0_MASKLEN", "16", NULL), "CISCO_SPLIT_INC_1_ADDR");
	expect_invalid(table("INTERNAL_IP4_ADDRESS", "10.0.0.2", "CISCO_SPLIT_INC", "99999999999", NULL), "CISCO_SPLIT_INC");
	expect_invalid(table("INTERNAL_IP4_ADDRESS", "10.0.0.2", "CISCO_SPLIT_INC", "1", "CISCO_SPLIT_INC_0_ADDR", "10.1.0.0", NULL), "no prefix length");
	expect_invalid(table("INTERNAL_IP4_ADDRESS", "10.0.0.2", "CISCO_IPV6_SPLIT_INC", "1", "CISCO_IPV6_SPLIT_INC_0_ADDR", "10.1.0.0", "CISCO_IPV6_SPLIT_INC_0_MASKLEN", "16", NULL), "IPv6");
	expect_invalid(table("INTERNAL_IP6_NETMASK", "2001:db8::1/129", NULL), "INTERNAL_IP6_NETMASK");
	expect_invalid(table("INTERNAL_IP4_ADDRESS", "10.0.0.2", "TUNDEV", "../../etc", NULL), "TUNDEV");
	expect_invalid(table("INTERNAL_IP4_DNS", "10.0.0.53", NULL), "INTERNAL_IP4_ADDRESS");
	{
		g_autofree char *many = g_strnfill(300, 'a');
		expect_invalid(table("INTERNAL_IP4_ADDRESS", "10.0.0.2", "CISCO_DEF_DOMAIN", many, NULL), "CISCO_DEF_DOMAIN");
	}
}

static void test_info_malformed(void)
{
	g_autoptr(GHashTable) a = table("reason", "explode", NULL);
	g_autoptr(GHashTable) b = table("VPNFD", "x", NULL);
	g_autoptr(GHashTable) c = table("VPNPID", "0", NULL);
	OcEnvInfo info;

	g_assert_false(ocenv_parse_info(a, &info, NULL));
	g_assert_false(ocenv_parse_info(b, &info, NULL));
	g_assert_false(ocenv_parse_info(c, &info, NULL));
	/* fuzz-ocenv: a valid reason with a bad VPNFD leaked the reason; the
	 * info must come back empty (run under ASan: make check SANITIZE=1) */
	{
		g_autoptr(GHashTable) d = table("reason", "connect", "VPNFD", "x", NULL);

		g_assert_false(ocenv_parse_info(d, &info, NULL));
		g_assert_null(info.reason);
	}
}

static void test_variant_roundtrip(void)
{
	g_autoptr(GHashTable) env = fixture("openconnect-script-tun-split.env");
	g_autoptr(VpnConfig) cfg = ocenv_parse_config(env, NULL);
	g_autoptr(GVariant) v = g_variant_ref_sink(vpncfg_to_variant(cfg));
	g_autoptr(GError) error = NULL;
	g_autoptr(VpnConfig) back = vpncfg_from_variant(v, &error);
	g_autoptr(GVariant) v2 = NULL;

	g_assert_no_error(error);
	v2 = g_variant_ref_sink(vpncfg_to_variant(back));
	g_assert_true(g_variant_equal(v, v2));
}

static void test_variant_hostile(void)
{
	const char *bad[] = {
		"{'ip4': <'10.0.0.1/40'>}",
		"{'mtu': <uint32 10>}",
		"{'dns': <['1.2.3.4\\nnameserver 6.6.6.6']>}",
		"{'search': <['a b\\nc']>}",
		"{'routes': <['nonsense']>}",
		"{'ifname': <'../x'>}",
		"{'ifname': <'aaaaaaaaaaaaaaaaaaaa'>}",
		NULL,
	};

	for (int i = 0; bad[i]; i++) {
		g_autoptr(GVariant) v = g_variant_ref_sink(g_variant_new_parsed(bad[i]));
		g_autoptr(GError) error = NULL;
		g_autoptr(VpnConfig) cfg = vpncfg_from_variant(v, &error);

		if (cfg)
			g_error("accepted %s", bad[i]);
		g_assert_error(error, VPNNS_ERROR, VPNNS_ERROR_INVALID);
	}
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/ocenv/fixture/script-tun", test_script_tun);
	g_test_add_func("/ocenv/fixture/split", test_split);
	g_test_add_func("/ocenv/fixture/kernel", test_kernel);
	g_test_add_func("/ocenv/fixture/mtu4000", test_mtu4000);
	g_test_add_func("/ocenv/netmask-forms", test_netmask_forms);
	g_test_add_func("/ocenv/default-split-route", test_default_split_route);
	g_test_add_func("/ocenv/host-bits-masked", test_host_bits_masked);
	g_test_add_func("/ocenv/dns-mixed-families", test_dns_mixed_families);
	g_test_add_func("/ocenv/malformed", test_malformed);
	g_test_add_func("/ocenv/info-malformed", test_info_malformed);
	g_test_add_func("/vpncfg/variant-roundtrip", test_variant_roundtrip);
	g_test_add_func("/vpncfg/variant-hostile", test_variant_hostile);
	return g_test_run();
}
