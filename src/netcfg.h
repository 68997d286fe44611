/* netcfg.h - network configuration inside the sandbox through libnl-3 */
#pragma once

#include "vpncfg.h"

#include <glib.h>

typedef struct _NetcfgSocket NetcfgSocket;

/* A NETLINK_ROUTE socket bound to the network namespace the caller is in
 * (create it inside the namespace it is to configure). */
NetcfgSocket *netcfg_socket_new(GError **error);
void netcfg_socket_free(NetcfgSocket *nl);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NetcfgSocket, netcfg_socket_free)

/* Bring the link called @ifname up. */
gboolean netcfg_link_up(NetcfgSocket *nl, const char *ifname, GError **error);

/* The names of all links in the namespace, sorted by ifindex. */
GPtrArray *netcfg_link_names(NetcfgSocket *nl, GError **error);

/* The ifindex of @ifname, or 0 with @error set. */
int netcfg_ifindex(NetcfgSocket *nl, const char *ifname, GError **error);

/* Configure link @ifindex from @cfg: MTU, up, addresses, then routes: the
 * split-include routes when the VPN pushed some (plus host routes to its
 * name servers), else default routes for each family that has an address;
 * split-exclude prefixes become unreachable.  Idempotent: what was there
 * from an earlier configuration of this link is replaced. */
gboolean netcfg_apply(NetcfgSocket *nl, int ifindex, const VpnConfig *cfg, GError **error);

/* Remove every global address of link @ifindex and every route through it
 * or installed by vpnns.  A link that is already gone is not an error. */
gboolean netcfg_flush(NetcfgSocket *nl, int ifindex, GError **error);

/* Whether link @ifname has any address beyond IPv6 link-local ones. */
gboolean netcfg_link_has_addresses(NetcfgSocket *nl, const char *ifname);

/* Move link @ifname of the caller's namespace into the network namespace
 * @netns_fd refers to. */
gboolean netcfg_move_link(NetcfgSocket *nl, const char *ifname, int netns_fd, GError **error);

/* A socket that hears about links disappearing (RTM_DELLINK). */
NetcfgSocket *netcfg_monitor_new(GError **error);
int netcfg_socket_fd(NetcfgSocket *nl);
/* Read what arrived; call @gone for every link deleted. */
void netcfg_monitor_dispatch(NetcfgSocket *nl, void (*gone)(int ifindex, gpointer data),
			     gpointer data);

/* The routes through link @ifindex, as text ("default", "203.0.113.0/24"). */
GPtrArray *netcfg_routes(NetcfgSocket *nl, int ifindex, GError **error);
