/* netcfg.h - network configuration inside the sandbox through libnl-3 */
#pragma once

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
