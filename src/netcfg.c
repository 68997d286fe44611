/* netcfg.c - network configuration inside the sandbox through libnl-3
 *
 * The only file that speaks netlink.  Sockets are created by the holder
 * inside the sandbox's network namespace, so every request lands there and
 * nothing here can touch the host's interfaces.  libnl's NLE_* codes are
 * turned into GErrors in one place, netcfg_nl_error().
 */
#include "netcfg.h"
#include "util.h"

#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/addr.h>
#include <netlink/route/route.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <netlink/cache.h>
#include <fcntl.h>
#include <net/if.h>

struct _NetcfgSocket {
	struct nl_sock *sock;
};

typedef struct rtnl_link RtnlLink;
typedef struct nl_cache NlCache;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(RtnlLink, rtnl_link_put)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NlCache, nl_cache_free)

static gboolean netcfg_nl_error(GError **error, int nle, const char *what)
{
	g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_FAILED, "%s: %s", what,
		    nl_geterror(nle < 0 ? -nle : nle));
	return FALSE;
}

NetcfgSocket *netcfg_socket_new(GError **error)
{
	NetcfgSocket *nl = g_new0(NetcfgSocket, 1);
	int err;

	nl->sock = nl_socket_alloc();
	if (!nl->sock) {
		g_free(nl);
		g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_FAILED, "cannot allocate a netlink socket");
		return NULL;
	}
	err = nl_connect(nl->sock, NETLINK_ROUTE);
	if (err < 0) {
		netcfg_socket_free(nl);
		netcfg_nl_error(error, err, "cannot open a netlink socket");
		return NULL;
	}
	/* libnl opens without CLOEXEC; the holder never execs, but be tidy. */
	fcntl(nl_socket_get_fd(nl->sock), F_SETFD, FD_CLOEXEC);
	return nl;
}

void netcfg_socket_free(NetcfgSocket *nl)
{
	if (!nl)
		return;
	nl_socket_free(nl->sock);
	g_free(nl);
}

/* Apply @change (flags, MTU, namespace...) to link @ifname; @what names
 * the action in errors. */
static gboolean netcfg_link_change(NetcfgSocket *nl, const char *ifname, RtnlLink *change,
				   const char *what, GError **error)
{
	g_autoptr(RtnlLink) link = NULL;
	g_autofree char *context = NULL;
	int err;

	err = rtnl_link_get_kernel(nl->sock, 0, ifname, &link);
	if (err < 0)
		return netcfg_nl_error(error, err, ifname);
	err = rtnl_link_change(nl->sock, link, change, 0);
	if (err < 0) {
		context = g_strdup_printf("cannot %s %s", what, ifname);
		return netcfg_nl_error(error, err, context);
	}
	return TRUE;
}

gboolean netcfg_link_up(NetcfgSocket *nl, const char *ifname, GError **error)
{
	g_autoptr(RtnlLink) change = rtnl_link_alloc();

	rtnl_link_set_flags(change, IFF_UP);
	return netcfg_link_change(nl, ifname, change, "bring up", error);
}

GPtrArray *netcfg_link_names(NetcfgSocket *nl, GError **error)
{
	g_autoptr(NlCache) cache = NULL;
	GPtrArray *names;
	int err;

	err = rtnl_link_alloc_cache(nl->sock, AF_UNSPEC, &cache);
	if (err < 0) {
		netcfg_nl_error(error, err, "cannot list links");
		return NULL;
	}
	names = g_ptr_array_new_with_free_func(g_free);
	for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o))
		g_ptr_array_add(names, g_strdup(rtnl_link_get_name((struct rtnl_link *)o)));
	return names;
}

/* --- VPN configuration ------------------------------------------------ */

typedef struct rtnl_addr RtnlAddr;
typedef struct rtnl_route RtnlRoute;
typedef struct nl_addr NlAddr;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(RtnlAddr, rtnl_addr_put)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(RtnlRoute, rtnl_route_put)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NlAddr, nl_addr_put)

/* Routes vpnns installs carry this protocol number, so that a flush finds
 * the unreachable ones too (they have no interface). */
#define NETCFG_RTPROT 0x76

int netcfg_socket_fd(NetcfgSocket *nl)
{
	return nl_socket_get_fd(nl->sock);
}

int netcfg_ifindex(NetcfgSocket *nl, const char *ifname, GError **error)
{
	g_autoptr(RtnlLink) link = NULL;
	int err = rtnl_link_get_kernel(nl->sock, 0, ifname, &link);

	if (err < 0) {
		netcfg_nl_error(error, err, ifname);
		return 0;
	}
	return rtnl_link_get_ifindex(link);
}

static NlAddr *netcfg_nl_addr(const VpnPrefix *p)
{
	NlAddr *a = nl_addr_build(p->family, p->addr, p->family == AF_INET ? 4 : 16);

	nl_addr_set_prefixlen(a, p->prefix);
	return a;
}

static gboolean netcfg_add_addr(NetcfgSocket *nl, int ifindex, const VpnPrefix *local,
				const VpnPrefix *peer, GError **error)
{
	g_autoptr(RtnlAddr) addr = rtnl_addr_alloc();
	g_autoptr(NlAddr) l = netcfg_nl_addr(local);
	int err;

	rtnl_addr_set_ifindex(addr, ifindex);
	rtnl_addr_set_family(addr, local->family);
	rtnl_addr_set_local(addr, l);
	if (peer) {
		g_autoptr(NlAddr) p = netcfg_nl_addr(peer);
		rtnl_addr_set_peer(addr, p);
	}
	/* A tunnel has no neighbours to collide with: skip duplicate address
	 * detection so IPv6 works at once. */
	if (local->family == AF_INET6)
		rtnl_addr_set_flags(addr, IFA_F_NODAD);
	err = rtnl_addr_add(nl->sock, addr, NLM_F_REPLACE);
	if (err < 0) {
		g_autofree char *s = vpncfg_prefix_to_string(local);
		return netcfg_nl_error(error, err, s);
	}
	return TRUE;
}

/* A route to @dst through @ifindex, or unreachable when @ifindex is 0. */
static gboolean netcfg_add_route(NetcfgSocket *nl, int ifindex, const VpnPrefix *dst,
				 GError **error)
{
	g_autoptr(RtnlRoute) route = rtnl_route_alloc();
	g_autoptr(NlAddr) d = netcfg_nl_addr(dst);
	int err;

	rtnl_route_set_family(route, dst->family);
	rtnl_route_set_dst(route, d);
	rtnl_route_set_table(route, RT_TABLE_MAIN);
	rtnl_route_set_protocol(route, NETCFG_RTPROT);
	if (ifindex) {
		struct rtnl_nexthop *nh = rtnl_route_nh_alloc();

		rtnl_route_set_scope(route, RT_SCOPE_LINK);
		rtnl_route_set_type(route, RTN_UNICAST);
		rtnl_route_nh_set_ifindex(nh, ifindex);
		rtnl_route_add_nexthop(route, nh);
	} else {
		rtnl_route_set_scope(route, RT_SCOPE_UNIVERSE);
		rtnl_route_set_type(route, RTN_UNREACHABLE);
	}
	err = rtnl_route_add(nl->sock, route, NLM_F_REPLACE);
	if (err < 0) {
		g_autofree char *s = vpncfg_prefix_to_string(dst);
		g_autofree char *what = g_strdup_printf("route to %s", s);
		return netcfg_nl_error(error, err, what);
	}
	return TRUE;
}

static gboolean netcfg_prefix_covers(const VpnPrefix *net, const VpnPrefix *host)
{
	if (net->family != host->family)
		return FALSE;
	for (int bit = 0; bit < net->prefix; bit++) {
		guint8 m = (guint8)(0x80 >> (bit % 8));

		if ((net->addr[bit / 8] & m) != (host->addr[bit / 8] & m))
			return FALSE;
	}
	return TRUE;
}

static gboolean netcfg_family_has_split(const VpnConfig *cfg, int family)
{
	for (guint i = 0; i < cfg->routes->len; i++) {
		if (g_array_index(cfg->routes, VpnPrefix, i).family == family)
			return TRUE;
	}
	return FALSE;
}

/* Split tunnel: the name servers must be reachable even when no pushed
 * route covers them. */
static gboolean netcfg_dns_routes(NetcfgSocket *nl, int ifindex, const VpnConfig *cfg,
				  GError **error)
{
	for (guint i = 0; i < cfg->dns->len; i++) {
		VpnPrefix ns;
		gboolean covered = FALSE;

		if (!vpncfg_parse_addr("dns", cfg->dns->pdata[i], AF_UNSPEC, &ns, NULL))
			continue;
		if ((ns.family == AF_INET && !cfg->has_ip4) || (ns.family == AF_INET6 && !cfg->has_ip6))
			continue;
		if (cfg->force_default || !netcfg_family_has_split(cfg, ns.family))
			continue; /* the default route covers it */
		for (guint j = 0; j < cfg->routes->len && !covered; j++)
			covered = netcfg_prefix_covers(&g_array_index(cfg->routes, VpnPrefix, j), &ns);
		if (!covered && !netcfg_add_route(nl, ifindex, &ns, error))
			return FALSE;
	}
	return TRUE;
}

gboolean netcfg_apply(NetcfgSocket *nl, int ifindex, const VpnConfig *cfg, GError **error)
{
	g_autoptr(RtnlLink) link = NULL;
	g_autoptr(RtnlLink) change = rtnl_link_alloc();
	static const VpnPrefix v4_default = { .family = AF_INET };
	static const VpnPrefix v6_default = { .family = AF_INET6 };
	int err;

	err = rtnl_link_get_kernel(nl->sock, ifindex, NULL, &link);
	if (err < 0)
		return netcfg_nl_error(error, err, "the tunnel device");
	if (cfg->mtu)
		rtnl_link_set_mtu(change, cfg->mtu);
	rtnl_link_set_flags(change, IFF_UP);
	err = rtnl_link_change(nl->sock, link, change, 0);
	if (err < 0)
		return netcfg_nl_error(error, err, "cannot set the tunnel's MTU and bring it up");
	if (!netcfg_flush(nl, ifindex, error))
		return FALSE;

	if (cfg->has_ip4 && !netcfg_add_addr(nl, ifindex, &cfg->ip4, cfg->has_peer4 ? &cfg->peer4 : NULL, error))
		return FALSE;
	if (cfg->has_ip6 && !netcfg_add_addr(nl, ifindex, &cfg->ip6, NULL, error))
		return FALSE;

	for (guint i = 0; i < cfg->routes->len; i++) {
		const VpnPrefix *r = &g_array_index(cfg->routes, VpnPrefix, i);

		if ((r->family == AF_INET && !cfg->has_ip4) || (r->family == AF_INET6 && !cfg->has_ip6))
			continue; /* no source address to use it with */
		if (!netcfg_add_route(nl, ifindex, r, error))
			return FALSE;
	}
	if (cfg->has_ip4 && (cfg->force_default || !netcfg_family_has_split(cfg, AF_INET)) &&
	    !netcfg_add_route(nl, ifindex, &v4_default, error))
		return FALSE;
	if (cfg->has_ip6 && (cfg->force_default || !netcfg_family_has_split(cfg, AF_INET6)) &&
	    !netcfg_add_route(nl, ifindex, &v6_default, error))
		return FALSE;
	if (!netcfg_dns_routes(nl, ifindex, cfg, error))
		return FALSE;
	for (guint i = 0; i < cfg->excludes->len; i++) {
		if (!netcfg_add_route(nl, 0, &g_array_index(cfg->excludes, VpnPrefix, i), error))
			return FALSE;
	}
	return TRUE;
}

gboolean netcfg_flush(NetcfgSocket *nl, int ifindex, GError **error)
{
	g_autoptr(NlCache) addrs = NULL;
	g_autoptr(NlCache) routes = NULL;
	int err;

	err = rtnl_addr_alloc_cache(nl->sock, &addrs);
	if (err < 0)
		return netcfg_nl_error(error, err, "cannot list addresses");
	for (struct nl_object *o = nl_cache_get_first(addrs); o; o = nl_cache_get_next(o)) {
		struct rtnl_addr *a = (struct rtnl_addr *)o;

		if (rtnl_addr_get_ifindex(a) == ifindex && rtnl_addr_get_scope(a) != RT_SCOPE_LINK)
			rtnl_addr_delete(nl->sock, a, 0);
	}
	err = rtnl_route_alloc_cache(nl->sock, AF_UNSPEC, 0, &routes);
	if (err < 0)
		return netcfg_nl_error(error, err, "cannot list routes");
	for (struct nl_object *o = nl_cache_get_first(routes); o; o = nl_cache_get_next(o)) {
		struct rtnl_route *r = (struct rtnl_route *)o;
		struct rtnl_nexthop *nh = rtnl_route_nexthop_n(r, 0);
		gboolean ours = rtnl_route_get_protocol(r) == NETCFG_RTPROT;
		gboolean via = nh && rtnl_route_nh_get_ifindex(nh) == ifindex &&
			       rtnl_route_get_table(r) == RT_TABLE_MAIN &&
			       rtnl_route_get_protocol(r) != RTPROT_KERNEL;

		if (ours || via)
			rtnl_route_delete(nl->sock, r, 0);
	}
	return TRUE;
}

gboolean netcfg_link_has_addresses(NetcfgSocket *nl, const char *ifname)
{
	g_autoptr(NlCache) addrs = NULL;
	int ifindex = netcfg_ifindex(nl, ifname, NULL);

	if (!ifindex || rtnl_addr_alloc_cache(nl->sock, &addrs) < 0)
		return FALSE;
	for (struct nl_object *o = nl_cache_get_first(addrs); o; o = nl_cache_get_next(o)) {
		struct rtnl_addr *a = (struct rtnl_addr *)o;

		if (rtnl_addr_get_ifindex(a) == ifindex && rtnl_addr_get_scope(a) != RT_SCOPE_LINK)
			return TRUE;
	}
	return FALSE;
}

gboolean netcfg_move_link(NetcfgSocket *nl, const char *ifname, int netns_fd, GError **error)
{
	g_autoptr(RtnlLink) change = rtnl_link_alloc();

	rtnl_link_set_ns_fd(change, netns_fd);
	return netcfg_link_change(nl, ifname, change, "move into the sandbox", error);
}

GPtrArray *netcfg_routes(NetcfgSocket *nl, int ifindex, GError **error)
{
	g_autoptr(NlCache) routes = NULL;
	GPtrArray *out;
	int err = rtnl_route_alloc_cache(nl->sock, AF_UNSPEC, 0, &routes);

	if (err < 0) {
		netcfg_nl_error(error, err, "cannot list routes");
		return NULL;
	}
	out = g_ptr_array_new_with_free_func(g_free);
	for (struct nl_object *o = nl_cache_get_first(routes); o; o = nl_cache_get_next(o)) {
		struct rtnl_route *r = (struct rtnl_route *)o;
		struct rtnl_nexthop *nh = rtnl_route_nexthop_n(r, 0);
		struct nl_addr *dst = rtnl_route_get_dst(r);
		char buf[128];

		if (rtnl_route_get_table(r) != RT_TABLE_MAIN || !dst)
			continue;
		if (rtnl_route_get_type(r) == RTN_UNREACHABLE && rtnl_route_get_protocol(r) == NETCFG_RTPROT) {
			g_ptr_array_add(out, g_strdup_printf("unreachable %s",
				nl_addr_get_prefixlen(dst) ? nl_addr2str(dst, buf, sizeof(buf)) : "default"));
			continue;
		}
		if (!nh || rtnl_route_nh_get_ifindex(nh) != ifindex)
			continue;
		if (nl_addr_get_prefixlen(dst) == 0)
			g_ptr_array_add(out, g_strdup(nl_addr_get_family(dst) == AF_INET6 ? "default6" : "default"));
		else
			g_ptr_array_add(out, g_strdup(nl_addr2str(dst, buf, sizeof(buf))));
	}
	return out;
}

/* --- link monitor ----------------------------------------------------- */

typedef struct {
	void (*gone)(int ifindex, gpointer data);
	gpointer data;
} NetcfgMonitorCall;

static int netcfg_monitor_valid(struct nl_msg *msg, void *arg)
{
	NetcfgMonitorCall *call = arg;
	struct nlmsghdr *hdr = nlmsg_hdr(msg);

	if (hdr->nlmsg_type == RTM_DELLINK && nlmsg_datalen(hdr) >= (int)sizeof(struct ifinfomsg)) {
		struct ifinfomsg *ifi = nlmsg_data(hdr);

		call->gone(ifi->ifi_index, call->data);
	}
	return NL_OK;
}

NetcfgSocket *netcfg_monitor_new(GError **error)
{
	NetcfgSocket *nl = netcfg_socket_new(error);
	int err;

	if (!nl)
		return NULL;
	nl_socket_disable_seq_check(nl->sock);
	err = nl_socket_add_membership(nl->sock, RTNLGRP_LINK);
	if (err < 0) {
		netcfg_socket_free(nl);
		netcfg_nl_error(error, err, "cannot listen for link changes");
		return NULL;
	}
	nl_socket_set_nonblocking(nl->sock);
	return nl;
}

void netcfg_monitor_dispatch(NetcfgSocket *nl, void (*gone)(int ifindex, gpointer data),
			     gpointer data)
{
	NetcfgMonitorCall call = { gone, data };

	nl_socket_modify_cb(nl->sock, NL_CB_VALID, NL_CB_CUSTOM, netcfg_monitor_valid, &call);
	while (nl_recvmsgs_default(nl->sock) >= 0)
		;
}
