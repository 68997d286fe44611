/* ovpnenv.c - OpenVPN's script/plug-in environment, parsed into a VpnConfig
 *
 * Variable names and their order are measured for OpenVPN 2.6.14 in
 * shared/reference/openvpn.md.  Numbered variables (route_network_1, ...)
 * are read from 1 upwards until the first gap, with a bound, so a huge
 * index in a hostile environment costs nothing.  OpenVPN 2.6's --dns
 * variables are numbered by server *priority*, which may be any number,
 * so those are found by pattern and sorted.
 */
#include "ovpnenv.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static const char *ovpnenv_get(GHashTable *env, const char *key)
{
	const char *v = g_hash_table_lookup(env, key);

	return v && *v ? v : NULL;
}

static gboolean ovpnenv_parse_ip4(GHashTable *env, VpnConfig *cfg, GError **error)
{
	const char *local = ovpnenv_get(env, "ifconfig_local");
	const char *mask = ovpnenv_get(env, "ifconfig_netmask");
	const char *remote = ovpnenv_get(env, "ifconfig_remote");

	if (!local)
		return TRUE;
	if (!vpncfg_parse_addr("ifconfig_local", local, AF_INET, &cfg->ip4, error))
		return FALSE;
	cfg->has_ip4 = TRUE;
	if (mask)
		return vpncfg_parse_netmask("ifconfig_netmask", mask, &cfg->ip4.prefix, error);
	if (remote) {
		cfg->has_peer4 = TRUE;
		return vpncfg_parse_addr("ifconfig_remote", remote, AF_INET, &cfg->peer4, error);
	}
	return TRUE;
}

static gboolean ovpnenv_parse_ip6(GHashTable *env, VpnConfig *cfg, GError **error)
{
	const char *local = ovpnenv_get(env, "ifconfig_ipv6_local");
	const char *bits = ovpnenv_get(env, "ifconfig_ipv6_netbits");
	guint64 v;

	if (!local)
		return TRUE;
	if (!vpncfg_parse_addr("ifconfig_ipv6_local", local, AF_INET6, &cfg->ip6, error))
		return FALSE;
	cfg->has_ip6 = TRUE;
	if (bits) {
		if (!vpncfg_parse_uint("ifconfig_ipv6_netbits", bits, 0, 128, &v, error))
			return FALSE;
		cfg->ip6.prefix = (guint8)v;
	}
	return TRUE;
}

/* How many of PREFIX1, PREFIX2, ... exist without a gap. */
static guint64 ovpnenv_run_length(GHashTable *env, const char *prefix)
{
	guint64 n = 0;

	for (;;) {
		g_autofree char *key = g_strdup_printf("%s%" G_GUINT64_FORMAT, prefix, n + 1);

		if (n >= VPNCFG_MAX_ROUTES || !g_hash_table_contains(env, key))
			return n;
		n++;
	}
}

/* OpenVPN numbers routes 1, 2, ... without gaps; an index beyond the run
 * (route_network_99999999) is not from OpenVPN, and is refused. */
static gboolean ovpnenv_check_route_indices(GHashTable *env, GError **error)
{
	static const struct { const char *prefix; gboolean v6; } kinds[] = {
		{ "route_network_", FALSE }, { "route_netmask_", FALSE }, { "route_gateway_", FALSE },
		{ "route_ipv6_network_", TRUE }, { "route_ipv6_gateway_", TRUE },
	};
	guint64 run4 = ovpnenv_run_length(env, "route_network_");
	guint64 run6 = ovpnenv_run_length(env, "route_ipv6_network_");
	GHashTableIter iter;
	gpointer k;

	g_hash_table_iter_init(&iter, env);
	while (g_hash_table_iter_next(&iter, &k, NULL)) {
		for (size_t i = 0; i < G_N_ELEMENTS(kinds); i++) {
			const char *key = k;
			guint64 n;

			if (!g_str_has_prefix(key, kinds[i].prefix))
				continue;
			if (!vpncfg_parse_uint(key, key + strlen(kinds[i].prefix), 1, VPNCFG_MAX_ROUTES, &n,
					       NULL)) {
				g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_INVALID,
					    "%.60s: route index out of range (1 to %d)", key, VPNCFG_MAX_ROUTES);
				return FALSE;
			}
			if (n > (kinds[i].v6 ? run6 : run4)) {
				g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_INVALID,
					    "%.60s is out of sequence: %s%" G_GUINT64_FORMAT " is missing", key,
					    kinds[i].v6 ? "route_ipv6_network_" : "route_network_",
					    (kinds[i].v6 ? run6 : run4) + 1);
				return FALSE;
			}
			break;
		}
	}
	return TRUE;
}

static gboolean ovpnenv_parse_routes(GHashTable *env, VpnConfig *cfg, GError **error)
{
	if (!ovpnenv_check_route_indices(env, error))
		return FALSE;
	for (int i = 1; i <= VPNCFG_MAX_ROUTES; i++) {
		g_autofree char *nk = g_strdup_printf("route_network_%d", i);
		g_autofree char *mk = g_strdup_printf("route_netmask_%d", i);
		const char *net = ovpnenv_get(env, nk), *mask = ovpnenv_get(env, mk);
		VpnPrefix p;

		if (!net)
			break;
		if (!vpncfg_parse_addr(nk, net, AF_INET, &p, error))
			return FALSE;
		if (mask && !vpncfg_parse_netmask(mk, mask, &p.prefix, error))
			return FALSE;
		g_array_append_val(cfg->routes, p);
	}
	for (int i = 1; i <= VPNCFG_MAX_ROUTES; i++) {
		g_autofree char *nk = g_strdup_printf("route_ipv6_network_%d", i);
		const char *net = ovpnenv_get(env, nk);
		VpnPrefix p;

		if (!net)
			break;
		if (!vpncfg_parse_prefix(nk, net, AF_INET6, &p, error))
			return FALSE;
		g_array_append_val(cfg->routes, p);
	}
	return TRUE;
}

/* foreign_option_N = "dhcp-option DNS 10.8.0.1" and friends */
static gboolean ovpnenv_parse_foreign(GHashTable *env, VpnConfig *cfg, GError **error)
{
	for (int i = 1; i <= 1024; i++) {
		g_autofree char *key = g_strdup_printf("foreign_option_%d", i);
		const char *opt = ovpnenv_get(env, key);
		g_auto(GStrv) w = NULL;

		if (!opt)
			break;
		w = g_strsplit_set(opt, " \t", 4);
		if (g_strv_length(w) < 3 || strcmp(w[0], "dhcp-option") != 0)
			continue; /* not about DNS */
		if (!g_ascii_strcasecmp(w[1], "DNS") || !g_ascii_strcasecmp(w[1], "DNS6")) {
			if (!vpncfg_add_dns(cfg, key, w[2], error))
				return FALSE;
		} else if (!g_ascii_strcasecmp(w[1], "DOMAIN") ||
			   !g_ascii_strcasecmp(w[1], "DOMAIN-SEARCH") ||
			   !g_ascii_strcasecmp(w[1], "ADAPTER_DOMAIN_SUFFIX")) {
			if (!vpncfg_add_domains(cfg->search, key, w[2], error))
				return FALSE;
		}
	}
	return TRUE;
}

typedef struct {
	int prio, index;
	const char *key, *value;
} OvpnDns;

static gint ovpnenv_dns_cmp(gconstpointer a, gconstpointer b)
{
	const OvpnDns *x = a, *y = b;

	if (x->prio != y->prio)
		return x->prio < y->prio ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* OpenVPN >= 2.6.2's --dns: dns_server_<prio>_address_<m>,
 * dns_search_domain_<n> */
static gboolean ovpnenv_parse_dns_option(GHashTable *env, VpnConfig *cfg, GError **error)
{
	g_autoptr(GArray) servers = g_array_new(FALSE, FALSE, sizeof(OvpnDns));
	g_autoptr(GArray) domains = g_array_new(FALSE, FALSE, sizeof(OvpnDns));
	GHashTableIter iter;
	gpointer k, v;

	g_hash_table_iter_init(&iter, env);
	while (g_hash_table_iter_next(&iter, &k, &v)) {
		OvpnDns d = { .key = k, .value = v };
		int used = 0;

		if (sscanf(k, "dns_server_%d_address_%d%n", &d.prio, &d.index, &used) == 2 &&
		    ((const char *)k)[used] == 0)
			g_array_append_val(servers, d);
		else if (sscanf(k, "dns_search_domain_%d%n", &d.index, &used) == 1 &&
			 ((const char *)k)[used] == 0)
			g_array_append_val(domains, d);
		if (servers->len > 64 || domains->len > 64) {
			g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_INVALID,
				    "too many dns_server_* or dns_search_domain_* variables");
			return FALSE;
		}
	}
	g_array_sort(servers, ovpnenv_dns_cmp);
	g_array_sort(domains, ovpnenv_dns_cmp);
	for (guint i = 0; i < servers->len; i++) {
		OvpnDns *d = &g_array_index(servers, OvpnDns, i);

		if (!vpncfg_add_dns(cfg, d->key, d->value, error))
			return FALSE;
	}
	for (guint i = 0; i < domains->len; i++) {
		OvpnDns *d = &g_array_index(domains, OvpnDns, i);

		if (!vpncfg_add_domains(cfg->search, d->key, d->value, error))
			return FALSE;
	}
	return TRUE;
}

VpnConfig *ovpnenv_parse_config(GHashTable *env, GError **error)
{
	g_autoptr(VpnConfig) cfg = vpncfg_new();
	const char *dev = ovpnenv_get(env, "dev");
	const char *mtu_name = ovpnenv_get(env, "tun_mtu") ? "tun_mtu" : "TUNTAP_MTU";
	const char *mtu = ovpnenv_get(env, mtu_name);
	const char *gw = ovpnenv_get(env, "trusted_ip");
	guint64 v;

	if (dev) {
		if (!vpncfg_check_ifname("dev", dev, error))
			return NULL;
		cfg->ifname = g_strdup(dev);
	}
	if (mtu) {
		if (!vpncfg_parse_uint(mtu_name, mtu, 68, 65535, &v, error))
			return NULL;
		cfg->mtu = (guint32)v;
	}
	if (gw) {
		VpnPrefix p;

		if (!vpncfg_parse_addr("trusted_ip", gw, AF_UNSPEC, &p, error))
			return NULL;
		cfg->gateway = vpncfg_addr_to_string(&p);
	}
	if (!ovpnenv_parse_ip4(env, cfg, error) || !ovpnenv_parse_ip6(env, cfg, error) ||
	    !ovpnenv_parse_routes(env, cfg, error) || !ovpnenv_parse_foreign(env, cfg, error) ||
	    !ovpnenv_parse_dns_option(env, cfg, error))
		return NULL;
	if (!cfg->has_ip4 && !cfg->has_ip6) {
		g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_INVALID,
			    "neither ifconfig_local nor ifconfig_ipv6_local is set: is this being run "
			    "by OpenVPN, after the server pushed the tunnel's addresses?");
		return NULL;
	}
	cfg->force_default = TRUE;
	vpncfg_normalise(cfg);
	return g_steal_pointer(&cfg);
}

gboolean ovpnenv_tuntap_fd(GHashTable *env, int *fd, GError **error)
{
	const char *text = ovpnenv_get(env, "TUNTAP_SOCKET_FD");
	const char *type = ovpnenv_get(env, "TUNTAP_DEV_TYPE");
	guint64 v;

	*fd = -1;
	if (!text)
		return TRUE;
	if (type && strcmp(type, "tun") != 0) {
		g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_UNSUPPORTED,
			    "TUNTAP_DEV_TYPE=%.20s: vpnns serves tun (layer 3) devices only; "
			    "use 'dev tun' in the OpenVPN configuration", type);
		return FALSE;
	}
	if (!vpncfg_parse_uint("TUNTAP_SOCKET_FD", text, 0, G_MAXINT, &v, error))
		return FALSE;
	*fd = (int)v;
	return TRUE;
}
