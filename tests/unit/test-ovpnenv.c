/* test-ovpnenv.c - OpenVPN's script/plug-in environment parser */
#include "ocenv.h"
#include "ovpnenv.h"
#include "fixture.h"
#include "util.h"

#include <stdarg.h>
#include <string.h>

static char *p2s(const VpnPrefix *p)
{
	return vpncfg_prefix_to_string(p);
}

/* What OpenVPN 2.6 hands ROUTE_UP with topology subnet (reference/openvpn.md). */
static void test_subnet(void)
{
	g_autoptr(GHashTable) env = table("dev", "tun0", "tun_mtu", "1500",
		"ifconfig_local", "10.8.0.2", "ifconfig_netmask", "255.255.255.0",
		"ifconfig_ipv6_local", "fd00:8::1000", "ifconfig_ipv6_netbits", "64",
		"route_network_1", "10.9.0.0", "route_netmask_1", "255.255.0.0", "route_gateway_1", "10.8.0.1",
		"route_ipv6_network_1", "fd00:9::/64", "route_ipv6_gateway_1", "fd00:8::1",
		"foreign_option_1", "dhcp-option DNS 10.8.0.1",
		"foreign_option_2", "dhcp-option DOMAIN corp.test",
		"foreign_option_3", "dhcp-option DNS6 fd00:8::1",
		"foreign_option_4", "dhcp-option DOMAIN-SEARCH eng.corp.test",
		"foreign_option_5", "block-outside-dns",
		"trusted_ip", "198.51.100.2", NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(VpnConfig) cfg = ovpnenv_parse_config(env, &error);
	g_autofree char *ip4 = NULL, *ip6 = NULL, *r0 = NULL, *r1 = NULL;

	g_assert_no_error(error);
	g_assert_cmpstr(cfg->ifname, ==, "tun0");
	g_assert_cmpuint(cfg->mtu, ==, 1500);
	ip4 = p2s(&cfg->ip4);
	ip6 = p2s(&cfg->ip6);
	g_assert_cmpstr(ip4, ==, "10.8.0.2/24");
	g_assert_cmpstr(ip6, ==, "fd00:8::1000/64");
	g_assert_cmpuint(cfg->routes->len, ==, 2);
	r0 = p2s(&g_array_index(cfg->routes, VpnPrefix, 0));
	r1 = p2s(&g_array_index(cfg->routes, VpnPrefix, 1));
	g_assert_cmpstr(r0, ==, "10.9.0.0/16");
	g_assert_cmpstr(r1, ==, "fd00:9::/64");
	g_assert_true(cfg->force_default); /* the sandbox has no other path */
	g_assert_cmpuint(cfg->dns->len, ==, 2);
	g_assert_cmpstr(cfg->dns->pdata[0], ==, "10.8.0.1");
	g_assert_cmpstr(cfg->dns->pdata[1], ==, "fd00:8::1");
	g_assert_cmpuint(cfg->search->len, ==, 2);
	g_assert_cmpstr(cfg->search->pdata[1], ==, "eng.corp.test");
	g_assert_cmpstr(cfg->gateway, ==, "198.51.100.2");
}

/* What OpenVPN 2.6.14 really handed ROUTE_UP in the lab. */
static void test_fixture_route_up(void)
{
	g_autoptr(GHashTable) env = fixture("openvpn-route-up.env0");
	g_autoptr(GError) error = NULL;
	g_autoptr(VpnConfig) cfg = ovpnenv_parse_config(env, &error);
	g_autofree char *ip4 = NULL, *ip6 = NULL;

	g_assert_no_error(error);
	g_assert_cmpstr(cfg->ifname, ==, g_hash_table_lookup(env, "dev"));
	ip4 = p2s(&cfg->ip4);
	ip6 = p2s(&cfg->ip6);
	g_assert_true(g_str_has_prefix(ip4, g_hash_table_lookup(env, "ifconfig_local")));
	g_assert_true(g_str_has_suffix(ip4, "/24"));
	g_assert_true(g_str_has_prefix(ip6, g_hash_table_lookup(env, "ifconfig_ipv6_local")));
	g_assert_cmpuint(cfg->routes->len, ==, 3); /* two IPv4, one IPv6 pushed */
	g_assert_cmpuint(cfg->dns->len, ==, 1);
	g_assert_cmpstr(cfg->dns->pdata[0], ==, "203.0.113.53");
	g_assert_cmpstr(cfg->search->pdata[0], ==, "vpnns.test");
}

/* --up-restart's UP: no route_* variables (reference/openvpn.md). */
static void test_fixture_up_restart(void)
{
	g_autoptr(GHashTable) env = fixture("openvpn-persist-up-restart.env0");
	g_autoptr(GError) error = NULL;
	g_autoptr(VpnConfig) cfg = ovpnenv_parse_config(env, &error);

	g_assert_no_error(error);
	g_assert_cmpstr(g_hash_table_lookup(env, "script_context"), ==, "restart");
	g_assert_false(g_hash_table_contains(env, "route_network_1"));
	g_assert_cmpuint(cfg->routes->len, ==, 0);
	g_assert_true(cfg->has_ip4);
}

/* OpenVPN 2.6's --dns pushes: dns_server_* beside foreign_option_* */
static void test_fixture_dns_option(void)
{
	g_autoptr(GHashTable) env = fixture("openvpn-dns-route-up.env0");
	g_autoptr(VpnConfig) cfg = ovpnenv_parse_config(env, NULL);

	g_assert_nonnull(cfg);
	g_assert_cmpuint(cfg->dns->len, ==, 1); /* the same server, once */
	g_assert_cmpstr(cfg->dns->pdata[0], ==, "203.0.113.53");
	g_assert_cmpuint(cfg->search->len, ==, 1);
}

static void test_p2p(void)
{
	g_autoptr(GHashTable) env = table("ifconfig_local", "10.8.0.6", "ifconfig_remote", "10.8.0.5", NULL);
	g_autoptr(VpnConfig) cfg = ovpnenv_parse_config(env, NULL);
	g_autofree char *peer = NULL;

	g_assert_true(cfg->has_peer4);
	peer = p2s(&cfg->peer4);
	g_assert_cmpstr(peer, ==, "10.8.0.5/32");
	g_assert_cmpuint(cfg->ip4.prefix, ==, 32);
}

/* OpenVPN 2.6's --dns: numbered by priority, which may be negative */
static void test_dns_option(void)
{
	g_autoptr(GHashTable) env = table("ifconfig_local", "10.8.0.2",
		"dns_server_10_address_1", "10.8.0.53",
		"dns_server_-5_address_1", "10.8.0.1",
		"dns_server_-5_address_2", "fd00:8::53",
		"dns_search_domain_2", "b.test", "dns_search_domain_1", "a.test",
		"dns_server_10_port_1", "53", NULL);
	g_autoptr(VpnConfig) cfg = ovpnenv_parse_config(env, NULL);

	g_assert_cmpuint(cfg->dns->len, ==, 3);
	g_assert_cmpstr(cfg->dns->pdata[0], ==, "10.8.0.1");
	g_assert_cmpstr(cfg->dns->pdata[1], ==, "fd00:8::53");
	g_assert_cmpstr(cfg->dns->pdata[2], ==, "10.8.0.53");
	g_assert_cmpstr(cfg->search->pdata[0], ==, "a.test");
	g_assert_cmpstr(cfg->search->pdata[1], ==, "b.test");
}

static void test_huge_index_refused(void)
{
	g_autoptr(GHashTable) a = table("ifconfig_local", "10.8.0.2", "route_network_4294967296", "10.0.0.0", NULL);
	g_autoptr(GHashTable) b = table("ifconfig_local", "10.8.0.2", "route_network_1", "10.1.0.0",
					"route_network_1000", "10.0.0.0", NULL);
	g_autoptr(GHashTable) c = table("ifconfig_local", "10.8.0.2", "route_network_1", "10.1.0.0",
					"route_network_2", "10.2.0.0", NULL);
	g_autoptr(GError) ea = NULL, eb = NULL;
	g_autoptr(VpnConfig) ca = ovpnenv_parse_config(a, &ea);
	g_autoptr(VpnConfig) cb = ovpnenv_parse_config(b, &eb);
	g_autoptr(VpnConfig) cc = ovpnenv_parse_config(c, NULL);

	g_assert_null(ca);
	g_assert_nonnull(strstr(ea->message, "out of range"));
	g_assert_null(cb);
	g_assert_nonnull(strstr(eb->message, "route_network_1000 is out of sequence: route_network_2 is missing"));
	g_assert_nonnull(cc);
	g_assert_cmpuint(cc->routes->len, ==, 2);
}

static void expect_invalid(GHashTable *env, const char *mentions)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(VpnConfig) cfg = ovpnenv_parse_config(env, &error);

	g_assert_null(cfg);
	if (!error || !strstr(error->message, mentions))
		g_error("'%s' does not mention %s", error ? error->message : "(none)", mentions);
	g_hash_table_unref(env);
}

static void test_malformed(void)
{
	expect_invalid(table("ifconfig_local", "10.8.0", NULL), "ifconfig_local");
	expect_invalid(table("ifconfig_local", "10.8.0.2", "ifconfig_netmask", "255.255.0.255", NULL), "ifconfig_netmask");
	expect_invalid(table("ifconfig_local", "10.8.0.2", "route_network_1", "10.9.0.0/16", NULL), "route_network_1");
	expect_invalid(table("ifconfig_local", "10.8.0.2", "route_ipv6_network_1", "fd00::/200", NULL), "route_ipv6_network_1");
	expect_invalid(table("ifconfig_local", "10.8.0.2", "foreign_option_1", "dhcp-option DNS 1.2.3.4;rm", NULL), "foreign_option_1");
	expect_invalid(table("ifconfig_local", "10.8.0.2", "foreign_option_1", "dhcp-option DOMAIN a\nnameserver", NULL), "foreign_option_1");
	expect_invalid(table("ifconfig_local", "10.8.0.2", "dns_server_1_address_1", "not-an-ip", NULL), "dns_server_1_address_1");
	expect_invalid(table("ifconfig_local", "10.8.0.2", "tun_mtu", "99999", NULL), "tun_mtu");
	expect_invalid(table("dev", "../../x", "ifconfig_local", "10.8.0.2", NULL), "dev");
	expect_invalid(table("dev", "tun0", NULL), "ifconfig_local");
	/* fuzz-ovpnenv: a name that is not UTF-8 could not reach the holder */
	expect_invalid(table("dev", "tun\xff", "ifconfig_local", "10.8.0.2", NULL), "dev");
	expect_invalid(table("dev", "tu n", "ifconfig_local", "10.8.0.2", NULL), "dev");
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/ovpnenv/subnet", test_subnet);
	g_test_add_func("/ovpnenv/p2p", test_p2p);
	g_test_add_func("/ovpnenv/fixture/route-up", test_fixture_route_up);
	g_test_add_func("/ovpnenv/fixture/up-restart", test_fixture_up_restart);
	g_test_add_func("/ovpnenv/fixture/dns-option", test_fixture_dns_option);
	g_test_add_func("/ovpnenv/dns-option", test_dns_option);
	g_test_add_func("/ovpnenv/huge-index-refused", test_huge_index_refused);
	g_test_add_func("/ovpnenv/malformed", test_malformed);
	return g_test_run();
}
