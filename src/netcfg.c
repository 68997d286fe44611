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

gboolean netcfg_link_up(NetcfgSocket *nl, const char *ifname, GError **error)
{
	g_autoptr(RtnlLink) link = NULL;
	g_autoptr(RtnlLink) change = rtnl_link_alloc();
	int err;

	err = rtnl_link_get_kernel(nl->sock, 0, ifname, &link);
	if (err < 0)
		return netcfg_nl_error(error, err, ifname);
	rtnl_link_set_flags(change, IFF_UP);
	err = rtnl_link_change(nl->sock, link, change, 0);
	if (err < 0)
		return netcfg_nl_error(error, err, ifname);
	return TRUE;
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
