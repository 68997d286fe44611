/* vpncfg.c - one VPN configuration, whichever client it came from
 *
 * openconnect's vpnc-script variables and OpenVPN's plug-in variables are
 * both parsed into a VpnConfig (ocenv.c, ovpnenv.c), which travels to the
 * holder as a GVariant dictionary and is validated again there: the holder
 * applies nothing it did not parse itself.  All text that ends up in the
 * sandbox's resolv.conf passes through vpncfg_check_domain() or inet_pton,
 * so a hostile VPN server cannot inject lines into it.
 */
#include "vpncfg.h"
#include "util.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static void vpncfg_set_invalid(GError **error, const char *what, const char *text,
			       const char *expected)
{
	/* quote the bad value, but never raw control characters or broken UTF-8 */
	g_autofree char *shown = g_strescape(text ? text : "", NULL);

	g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_INVALID, "%s='%.80s%s' is not %s", what,
		    shown, strlen(shown) > 80 ? "..." : "", expected);
}

VpnConfig *vpncfg_new(void)
{
	VpnConfig *cfg = g_new0(VpnConfig, 1);

	cfg->routes = g_array_new(FALSE, TRUE, sizeof(VpnPrefix));
	cfg->excludes = g_array_new(FALSE, TRUE, sizeof(VpnPrefix));
	cfg->dns = g_ptr_array_new_with_free_func(g_free);
	cfg->search = g_ptr_array_new_with_free_func(g_free);
	cfg->split_dns = g_ptr_array_new_with_free_func(g_free);
	return cfg;
}

void vpncfg_free(VpnConfig *cfg)
{
	if (!cfg)
		return;
	g_free(cfg->ifname);
	g_free(cfg->gateway);
	g_array_unref(cfg->routes);
	g_array_unref(cfg->excludes);
	g_ptr_array_unref(cfg->dns);
	g_ptr_array_unref(cfg->search);
	g_ptr_array_unref(cfg->split_dns);
	g_free(cfg);
}

gboolean vpncfg_parse_uint(const char *what, const char *text, guint64 min, guint64 max,
			   guint64 *out, GError **error)
{
	char *end;
	guint64 v;

	if (!text || !g_ascii_isdigit(*text) || strlen(text) > 20)
		goto bad;
	errno = 0;
	v = g_ascii_strtoull(text, &end, 10);
	if (errno || *end || v < min || v > max)
		goto bad;
	*out = v;
	return TRUE;
bad:
	{
		g_autofree char *range = g_strdup_printf("a number from %" G_GUINT64_FORMAT
							 " to %" G_GUINT64_FORMAT, min, max);
		vpncfg_set_invalid(error, what, text, range);
	}
	return FALSE;
}

gboolean vpncfg_parse_addr(const char *what, const char *text, int family, VpnPrefix *out,
			   GError **error)
{
	VpnPrefix p = { 0 };

	if (text && strlen(text) < INET6_ADDRSTRLEN) {
		if ((family == AF_INET || family == AF_UNSPEC) && inet_pton(AF_INET, text, p.addr) == 1) {
			p.family = AF_INET;
			p.prefix = 32;
		} else if ((family == AF_INET6 || family == AF_UNSPEC) &&
			   inet_pton(AF_INET6, text, p.addr) == 1) {
			p.family = AF_INET6;
			p.prefix = 128;
		}
	}
	if (!p.family) {
		vpncfg_set_invalid(error, what, text,
				   family == AF_INET ? "an IPv4 address"
				   : family == AF_INET6 ? "an IPv6 address" : "an IP address");
		return FALSE;
	}
	*out = p;
	return TRUE;
}

gboolean vpncfg_parse_prefix(const char *what, const char *text, int family, VpnPrefix *out,
			     GError **error)
{
	g_autofree char *addr = NULL;
	const char *slash = text ? strchr(text, '/') : NULL;
	guint64 len;

	if (!slash)
		return vpncfg_parse_addr(what, text, family, out, error);
	addr = g_strndup(text, slash - text);
	if (!vpncfg_parse_addr(what, addr, family, out, error))
		return FALSE;
	if (!vpncfg_parse_uint(what, slash + 1, 0, out->family == AF_INET ? 32 : 128, &len, NULL)) {
		vpncfg_set_invalid(error, what, text, "an address with a valid /prefix length");
		return FALSE;
	}
	out->prefix = (guint8)len;
	return TRUE;
}

gboolean vpncfg_parse_netmask(const char *what, const char *text, guint8 *prefix,
			      GError **error)
{
	struct in_addr a;
	guint32 m;
	guint8 len = 0;

	if (!text || inet_pton(AF_INET, text, &a) != 1)
		goto bad;
	m = ntohl(a.s_addr);
	while (len < 32 && (m & (0x80000000u >> len)))
		len++;
	if (len < 32 && (m << len) != 0)
		goto bad; /* holes: 255.0.255.0 */
	*prefix = len;
	return TRUE;
bad:
	vpncfg_set_invalid(error, what, text, "a contiguous IPv4 netmask");
	return FALSE;
}

gboolean vpncfg_check_domain(const char *what, const char *text, GError **error)
{
	size_t len = text ? strlen(text) : 0;

	if (len == 0 || len > 253 || text[0] == '.' || text[0] == '-')
		goto bad;
	for (const char *p = text; *p; p++) {
		if (!g_ascii_isalnum(*p) && *p != '-' && *p != '_' && *p != '.')
			goto bad;
	}
	return TRUE;
bad:
	vpncfg_set_invalid(error, what, text, "a DNS domain");
	return FALSE;
}

gboolean vpncfg_check_ifname(const char *what, const char *text, GError **error)
{
	size_t len = text ? strlen(text) : 0;

	if (len == 0 || len >= 16 || !strcmp(text, ".") || !strcmp(text, ".."))
		goto bad;
	/* printable ASCII only: the name also travels in GVariant strings
	 * (UTF-8) and ends up in messages (found by fuzz-ovpnenv) */
	for (const char *p = text; *p; p++) {
		if (*p == '/' || *p == ':' || !g_ascii_isgraph(*p))
			goto bad;
	}
	return TRUE;
bad:
	vpncfg_set_invalid(error, what, text, "an interface name");
	return FALSE;
}

char *vpncfg_addr_to_string(const VpnPrefix *p)
{
	char buf[INET6_ADDRSTRLEN];

	if (!inet_ntop(p->family, p->addr, buf, sizeof(buf)))
		return g_strdup("?");
	return g_strdup(buf);
}

char *vpncfg_prefix_to_string(const VpnPrefix *p)
{
	g_autofree char *a = vpncfg_addr_to_string(p);

	return g_strdup_printf("%s/%u", a, p->prefix);
}

gboolean vpncfg_add_dns(VpnConfig *cfg, const char *what, const char *text, GError **error)
{
	VpnPrefix p;
	g_autofree char *canon = NULL;

	if (!vpncfg_parse_addr(what, text, AF_UNSPEC, &p, error))
		return FALSE;
	canon = vpncfg_addr_to_string(&p);
	for (guint i = 0; i < cfg->dns->len; i++) {
		if (!strcmp(cfg->dns->pdata[i], canon))
			return TRUE;
	}
	if (cfg->dns->len >= VPNCFG_MAX_DNS) {
		g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_INVALID,
			    "%s: more than %d name servers", what, VPNCFG_MAX_DNS);
		return FALSE;
	}
	g_ptr_array_add(cfg->dns, g_steal_pointer(&canon));
	return TRUE;
}

gboolean vpncfg_add_domains(GPtrArray *list, const char *what, const char *text,
			    GError **error)
{
	g_auto(GStrv) words = g_strsplit_set(text ? text : "", " ,\t", -1);

	for (char **w = words; *w; w++) {
		gboolean dup = FALSE;

		if (!**w)
			continue;
		if (!vpncfg_check_domain(what, *w, error))
			return FALSE;
		for (guint i = 0; i < list->len; i++)
			dup = dup || !g_ascii_strcasecmp(list->pdata[i], *w);
		if (dup)
			continue;
		if (list->len >= VPNCFG_MAX_DOMAINS) {
			g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_INVALID,
				    "%s: more than %d domains", what, VPNCFG_MAX_DOMAINS);
			return FALSE;
		}
		g_ptr_array_add(list, g_strdup(*w));
	}
	return TRUE;
}

static void vpncfg_mask_host_bits(VpnPrefix *p)
{
	int bytes = p->family == AF_INET ? 4 : 16;

	for (int i = 0; i < bytes; i++) {
		int keep = (int)p->prefix - i * 8;

		if (keep >= 8)
			continue;
		p->addr[i] &= keep <= 0 ? 0 : (guint8)(0xff << (8 - keep));
	}
}

static void vpncfg_normalise_list(GArray *list, gboolean drop_default)
{
	for (guint i = 0; i < list->len;) {
		VpnPrefix *p = &g_array_index(list, VpnPrefix, i);

		vpncfg_mask_host_bits(p);
		if (drop_default && p->prefix == 0)
			g_array_remove_index(list, i);
		else
			i++;
	}
}

void vpncfg_normalise(VpnConfig *cfg)
{
	gboolean v4_default = FALSE, v6_default = FALSE;

	for (guint i = 0; i < cfg->routes->len; i++) {
		VpnPrefix *p = &g_array_index(cfg->routes, VpnPrefix, i);

		if (p->prefix == 0 && p->family == AF_INET)
			v4_default = TRUE;
		if (p->prefix == 0 && p->family == AF_INET6)
			v6_default = TRUE;
	}
	/* A pushed 0.0.0.0/0 "split" route is the default route; keeping the
	 * other routes of that family would add nothing. */
	for (guint i = 0; i < cfg->routes->len;) {
		VpnPrefix *p = &g_array_index(cfg->routes, VpnPrefix, i);

		if ((p->family == AF_INET && v4_default) || (p->family == AF_INET6 && v6_default))
			g_array_remove_index(cfg->routes, i);
		else
			i++;
	}
	vpncfg_normalise_list(cfg->routes, TRUE);
	vpncfg_normalise_list(cfg->excludes, TRUE);
}

/* --- GVariant form --------------------------------------------------- */

static GVariant *vpncfg_prefixes_variant(GArray *list)
{
	GVariantBuilder b;

	g_variant_builder_init(&b, G_VARIANT_TYPE_STRING_ARRAY);
	for (guint i = 0; i < list->len; i++) {
		g_autofree char *s = vpncfg_prefix_to_string(&g_array_index(list, VpnPrefix, i));
		g_variant_builder_add(&b, "s", s);
	}
	return g_variant_builder_end(&b);
}

static GVariant *vpncfg_strings_variant(GPtrArray *list)
{
	return g_variant_new_strv((const char *const *)list->pdata, list->len);
}

GVariant *vpncfg_to_variant(const VpnConfig *cfg)
{
	GVariantDict d;

	g_variant_dict_init(&d, NULL);
	if (cfg->ifname)
		g_variant_dict_insert(&d, "ifname", "s", cfg->ifname);
	if (cfg->mtu)
		g_variant_dict_insert(&d, "mtu", "u", cfg->mtu);
	if (cfg->has_ip4) {
		g_autofree char *s = vpncfg_prefix_to_string(&cfg->ip4);
		g_variant_dict_insert(&d, "ip4", "s", s);
	}
	if (cfg->has_ip6) {
		g_autofree char *s = vpncfg_prefix_to_string(&cfg->ip6);
		g_variant_dict_insert(&d, "ip6", "s", s);
	}
	if (cfg->has_peer4) {
		g_autofree char *s = vpncfg_prefix_to_string(&cfg->peer4);
		g_variant_dict_insert(&d, "peer4", "s", s);
	}
	if (cfg->gateway)
		g_variant_dict_insert(&d, "gateway", "s", cfg->gateway);
	g_variant_dict_insert_value(&d, "routes", vpncfg_prefixes_variant(cfg->routes));
	if (cfg->force_default)
		g_variant_dict_insert(&d, "default-route", "b", TRUE);
	g_variant_dict_insert_value(&d, "excludes", vpncfg_prefixes_variant(cfg->excludes));
	g_variant_dict_insert_value(&d, "dns", vpncfg_strings_variant(cfg->dns));
	g_variant_dict_insert_value(&d, "search", vpncfg_strings_variant(cfg->search));
	g_variant_dict_insert_value(&d, "split-dns", vpncfg_strings_variant(cfg->split_dns));
	return g_variant_dict_end(&d);
}

static gboolean vpncfg_prefixes_from_variant(GVariant *dict, const char *key, GArray *out,
					     GError **error)
{
	g_autofree const char **items = NULL;
	g_autoptr(GVariant) v = g_variant_lookup_value(dict, key, G_VARIANT_TYPE_STRING_ARRAY);
	gsize n = 0;

	if (!v)
		return TRUE;
	items = g_variant_get_strv(v, &n);
	if (n > VPNCFG_MAX_ROUTES) {
		g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_INVALID, "%s: too many routes (%zu)", key, n);
		return FALSE;
	}
	for (gsize i = 0; i < n; i++) {
		VpnPrefix p;

		if (!vpncfg_parse_prefix(key, items[i], AF_UNSPEC, &p, error))
			return FALSE;
		g_array_append_val(out, p);
	}
	return TRUE;
}

static gboolean vpncfg_optional_prefix(GVariant *dict, const char *key, int family,
				       gboolean *has, VpnPrefix *out, GError **error)
{
	const char *s;

	if (!g_variant_lookup(dict, key, "&s", &s))
		return TRUE;
	*has = TRUE;
	return vpncfg_parse_prefix(key, s, family, out, error);
}

VpnConfig *vpncfg_from_variant(GVariant *dict, GError **error)
{
	g_autoptr(VpnConfig) cfg = vpncfg_new();
	g_autofree const char **dns = NULL, **search = NULL, **split = NULL;
	const char *s;
	guint32 mtu = 0;

	if (g_variant_lookup(dict, "ifname", "&s", &s)) {
		if (!vpncfg_check_ifname("ifname", s, error))
			return NULL;
		cfg->ifname = g_strdup(s);
	}
	if (g_variant_lookup(dict, "mtu", "u", &mtu)) {
		if (mtu < 68 || mtu > 65535) {
			g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_INVALID,
				    "mtu=%u is not a number from 68 to 65535", mtu);
			return NULL;
		}
		cfg->mtu = mtu;
	}
	if (!vpncfg_optional_prefix(dict, "ip4", AF_INET, &cfg->has_ip4, &cfg->ip4, error) ||
	    !vpncfg_optional_prefix(dict, "ip6", AF_INET6, &cfg->has_ip6, &cfg->ip6, error) ||
	    !vpncfg_optional_prefix(dict, "peer4", AF_INET, &cfg->has_peer4, &cfg->peer4, error) ||
	    !vpncfg_prefixes_from_variant(dict, "routes", cfg->routes, error) ||
	    !vpncfg_prefixes_from_variant(dict, "excludes", cfg->excludes, error))
		return NULL;
	if (g_variant_lookup(dict, "gateway", "&s", &s)) {
		VpnPrefix gw;

		if (!vpncfg_parse_addr("gateway", s, AF_UNSPEC, &gw, error))
			return NULL;
		cfg->gateway = vpncfg_addr_to_string(&gw);
	}
	g_variant_lookup(dict, "default-route", "b", &cfg->force_default);
	g_variant_lookup(dict, "dns", "^a&s", &dns);
	g_variant_lookup(dict, "search", "^a&s", &search);
	g_variant_lookup(dict, "split-dns", "^a&s", &split);
	for (int i = 0; dns && dns[i]; i++) {
		if (!vpncfg_add_dns(cfg, "dns", dns[i], error))
			return NULL;
	}
	for (int i = 0; search && search[i]; i++) {
		if (!vpncfg_add_domains(cfg->search, "search", search[i], error))
			return NULL;
	}
	for (int i = 0; split && split[i]; i++) {
		if (!vpncfg_add_domains(cfg->split_dns, "split-dns", split[i], error))
			return NULL;
	}
	vpncfg_normalise(cfg);
	return g_steal_pointer(&cfg);
}

char *vpncfg_resolv_conf(const VpnConfig *cfg, const char *origin)
{
	g_autoptr(GString) out = g_string_new(NULL);

	g_string_append_printf(out, "# vpnns: name servers of the VPN on %s%s%s\n",
			       cfg->ifname ? cfg->ifname : "the tunnel", origin ? ", " : "",
			       origin ? origin : "");
	if (cfg->dns->len == 0)
		g_string_append(out, "# The VPN pushed no name server, so none is reachable.\n"
				     "nameserver 127.0.0.1\n"
				     "options attempts:1 timeout:1\n");
	for (guint i = 0; i < cfg->dns->len; i++)
		g_string_append_printf(out, "nameserver %s\n", (char *)cfg->dns->pdata[i]);
	if (cfg->search->len > 0) {
		g_string_append(out, "search");
		for (guint i = 0; i < cfg->search->len; i++)
			g_string_append_printf(out, " %s", (char *)cfg->search->pdata[i]);
		g_string_append_c(out, '\n');
	}
	return g_string_free(g_steal_pointer(&out), FALSE);
}

char *vpncfg_summary(const VpnConfig *cfg)
{
	g_autoptr(GString) out = g_string_new(cfg->ifname ? cfg->ifname : "?");

	if (cfg->has_ip4) {
		g_autofree char *s = vpncfg_prefix_to_string(&cfg->ip4);
		g_string_append_printf(out, " %s", s);
	}
	if (cfg->has_ip6) {
		g_autofree char *s = vpncfg_prefix_to_string(&cfg->ip6);
		g_string_append_printf(out, " %s", s);
	}
	return g_string_free(g_steal_pointer(&out), FALSE);
}
