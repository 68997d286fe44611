/* ocenv.c - openconnect's vpnc-script environment, parsed into a VpnConfig
 *
 * The variables are documented by vpnc-script and measured for
 * openconnect 9.01 in shared/reference/openconnect.md.  The split-route
 * variables come as a count plus numbered entries; the count is bounded and
 * every numbered entry must be present and valid, so a hostile or broken
 * environment is rejected as a whole instead of configuring half a tunnel.
 */
#include "ocenv.h"
#include "util.h"

#include <string.h>
#include <sys/socket.h>

void ocenv_info_clear(OcEnvInfo *info)
{
	g_clear_pointer(&info->reason, g_free);
}

GHashTable *ocenv_table(char **envp)
{
	GHashTable *env = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);

	for (char **e = envp; e && *e; e++) {
		const char *eq = strchr(*e, '=');

		if (eq && eq != *e)
			g_hash_table_replace(env, g_strndup(*e, eq - *e), g_strdup(eq + 1));
	}
	return env;
}

static const char *ocenv_get(GHashTable *env, const char *key)
{
	const char *v = g_hash_table_lookup(env, key);

	return v && *v ? v : NULL;
}

gboolean ocenv_parse_info(GHashTable *env, OcEnvInfo *info, GError **error)
{
	static const char *const reasons[] = { "pre-init", "connect", "disconnect",
		"reconnect", "attempt-reconnect", NULL };
	const char *reason = ocenv_get(env, "reason");
	const char *fd = ocenv_get(env, "VPNFD");
	const char *pid = ocenv_get(env, "VPNPID");
	guint64 v;

	memset(info, 0, sizeof(*info));
	info->vpnfd = -1;
	if (reason) {
		if (!g_strv_contains(reasons, reason)) {
			g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_INVALID,
				    "reason='%.40s' is not one openconnect sends", reason);
			return FALSE;
		}
		info->reason = g_strdup(reason);
	}
	if (fd) {
		if (!vpncfg_parse_uint("VPNFD", fd, 0, G_MAXINT, &v, error))
			goto fail;
		info->vpnfd = (int)v;
	}
	if (pid) {
		if (!vpncfg_parse_uint("VPNPID", pid, 1, G_MAXINT, &v, error))
			goto fail;
		info->vpnpid = (pid_t)v;
	}
	return TRUE;
fail:
	ocenv_info_clear(info); /* found by fuzz-ocenv: reason leaked */
	return FALSE;
}

/* CISCO_SPLIT_INC / CISCO_IPV6_SPLIT_EXC ...: NAME=count, NAME_<i>_ADDR,
 * and NAME_<i>_MASKLEN (or, IPv4 only, NAME_<i>_MASK). */
static gboolean ocenv_parse_split(GHashTable *env, const char *name, int family, GArray *out,
				  GError **error)
{
	const char *count_text = ocenv_get(env, name);
	guint64 count;

	if (!count_text)
		return TRUE;
	if (!vpncfg_parse_uint(name, count_text, 0, VPNCFG_MAX_ROUTES, &count, error))
		return FALSE;
	for (guint64 i = 0; i < count; i++) {
		g_autofree char *addr_key = g_strdup_printf("%s_%" G_GUINT64_FORMAT "_ADDR", name, i);
		g_autofree char *len_key = g_strdup_printf("%s_%" G_GUINT64_FORMAT "_MASKLEN", name, i);
		g_autofree char *mask_key = g_strdup_printf("%s_%" G_GUINT64_FORMAT "_MASK", name, i);
		const char *addr = ocenv_get(env, addr_key);
		const char *len = ocenv_get(env, len_key);
		const char *mask = ocenv_get(env, mask_key);
		VpnPrefix p;
		guint64 plen;

		if (!addr) {
			g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_INVALID,
				    "%s=%" G_GUINT64_FORMAT " but %s is missing", name, count, addr_key);
			return FALSE;
		}
		/* some servers write the length into _ADDR too: 10.0.0.0/8 */
		if (!vpncfg_parse_prefix(addr_key, addr, family, &p, error))
			return FALSE;
		if (len) {
			if (!vpncfg_parse_uint(len_key, len, 0, family == AF_INET ? 32 : 128, &plen, error))
				return FALSE;
			p.prefix = (guint8)plen;
		} else if (mask && family == AF_INET) {
			if (!vpncfg_parse_netmask(mask_key, mask, &p.prefix, error))
				return FALSE;
		} else if (!strchr(addr, '/')) {
			g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_INVALID,
				    "%s has no prefix length (%s is missing)", addr_key, len_key);
			return FALSE;
		}
		g_array_append_val(out, p);
	}
	return TRUE;
}

static gboolean ocenv_parse_ip4(GHashTable *env, VpnConfig *cfg, GError **error)
{
	const char *addr = ocenv_get(env, "INTERNAL_IP4_ADDRESS");
	const char *len = ocenv_get(env, "INTERNAL_IP4_NETMASKLEN");
	const char *mask = ocenv_get(env, "INTERNAL_IP4_NETMASK");
	guint64 v;

	if (!addr)
		return TRUE;
	if (!vpncfg_parse_addr("INTERNAL_IP4_ADDRESS", addr, AF_INET, &cfg->ip4, error))
		return FALSE;
	cfg->has_ip4 = TRUE;
	if (len) {
		if (!vpncfg_parse_uint("INTERNAL_IP4_NETMASKLEN", len, 0, 32, &v, error))
			return FALSE;
		cfg->ip4.prefix = (guint8)v;
	} else if (mask) {
		if (!vpncfg_parse_netmask("INTERNAL_IP4_NETMASK", mask, &cfg->ip4.prefix, error))
			return FALSE;
	}
	return TRUE;
}

static gboolean ocenv_parse_ip6(GHashTable *env, VpnConfig *cfg, GError **error)
{
	const char *addr = ocenv_get(env, "INTERNAL_IP6_ADDRESS");
	const char *netmask = ocenv_get(env, "INTERNAL_IP6_NETMASK");

	/* INTERNAL_IP6_NETMASK carries "addr/len"; INTERNAL_IP6_ADDRESS the
	 * address alone (vpnc-script prefers the former). */
	if (netmask && strchr(netmask, '/')) {
		if (!vpncfg_parse_prefix("INTERNAL_IP6_NETMASK", netmask, AF_INET6, &cfg->ip6, error))
			return FALSE;
		cfg->has_ip6 = TRUE;
		if (addr) {
			VpnPrefix a;

			if (!vpncfg_parse_addr("INTERNAL_IP6_ADDRESS", addr, AF_INET6, &a, error))
				return FALSE;
			memcpy(cfg->ip6.addr, a.addr, sizeof(a.addr));
		}
		return TRUE;
	}
	if (!addr)
		return TRUE;
	cfg->has_ip6 = TRUE;
	return vpncfg_parse_prefix("INTERNAL_IP6_ADDRESS", addr, AF_INET6, &cfg->ip6, error);
}

static gboolean ocenv_parse_dns(GHashTable *env, const char *key, VpnConfig *cfg, GError **error)
{
	g_auto(GStrv) servers = g_strsplit_set(ocenv_get(env, key) ? ocenv_get(env, key) : "", " ,\t", -1);

	for (char **s = servers; *s; s++) {
		if (**s && !vpncfg_add_dns(cfg, key, *s, error))
			return FALSE;
	}
	return TRUE;
}

VpnConfig *ocenv_parse_config(GHashTable *env, GError **error)
{
	g_autoptr(VpnConfig) cfg = vpncfg_new();
	const char *tundev = ocenv_get(env, "TUNDEV");
	const char *mtu = ocenv_get(env, "INTERNAL_IP4_MTU");
	const char *gw = ocenv_get(env, "VPNGATEWAY");
	guint64 v;

	if (tundev) {
		if (!vpncfg_check_ifname("TUNDEV", tundev, error))
			return NULL;
		cfg->ifname = g_strdup(tundev);
	}
	if (mtu) {
		if (!vpncfg_parse_uint("INTERNAL_IP4_MTU", mtu, 68, 65535, &v, error))
			return NULL;
		cfg->mtu = (guint32)v;
	}
	if (gw) {
		VpnPrefix p;

		if (!vpncfg_parse_addr("VPNGATEWAY", gw, AF_UNSPEC, &p, error))
			return NULL;
		cfg->gateway = vpncfg_addr_to_string(&p);
	}
	if (!ocenv_parse_ip4(env, cfg, error) || !ocenv_parse_ip6(env, cfg, error) ||
	    !ocenv_parse_dns(env, "INTERNAL_IP4_DNS", cfg, error) ||
	    !ocenv_parse_dns(env, "INTERNAL_IP6_DNS", cfg, error) ||
	    !vpncfg_add_domains(cfg->search, "CISCO_DEF_DOMAIN", ocenv_get(env, "CISCO_DEF_DOMAIN"), error) ||
	    !vpncfg_add_domains(cfg->split_dns, "CISCO_SPLIT_DNS", ocenv_get(env, "CISCO_SPLIT_DNS"), error) ||
	    !ocenv_parse_split(env, "CISCO_SPLIT_INC", AF_INET, cfg->routes, error) ||
	    !ocenv_parse_split(env, "CISCO_SPLIT_EXC", AF_INET, cfg->excludes, error) ||
	    !ocenv_parse_split(env, "CISCO_IPV6_SPLIT_INC", AF_INET6, cfg->routes, error) ||
	    !ocenv_parse_split(env, "CISCO_IPV6_SPLIT_EXC", AF_INET6, cfg->excludes, error))
		return NULL;
	if (!cfg->has_ip4 && !cfg->has_ip6) {
		g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_INVALID,
			    "neither INTERNAL_IP4_ADDRESS nor INTERNAL_IP6_ADDRESS is set: "
			    "is this being run by openconnect?");
		return NULL;
	}
	if (cfg->has_ip6 && cfg->mtu && cfg->mtu < 1280)
		g_message("tunnel MTU %u is below IPv6's minimum of 1280; IPv6 will not work", cfg->mtu);
	vpncfg_normalise(cfg);
	return g_steal_pointer(&cfg);
}
