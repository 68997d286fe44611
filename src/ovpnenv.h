/* ovpnenv.h - OpenVPN's script/plug-in environment, parsed into a VpnConfig */
#pragma once

#include "vpncfg.h"

/* Parse what OpenVPN exports to scripts and plug-ins: dev, tun_mtu (or
 * TUNTAP_MTU), ifconfig_local with ifconfig_netmask (subnet) or
 * ifconfig_remote (p2p/net30), ifconfig_ipv6_local/netbits,
 * route_network_N/netmask_N, route_ipv6_network_N, foreign_option_N
 * (dhcp-option DNS/DNS6/DOMAIN/DOMAIN-SEARCH) and OpenVPN 2.6's
 * dns_server_P_address_M / dns_search_domain_N.  The sandbox has no path
 * but the tunnel, so the result always asks for default routes too.
 * Pure; any malformed value fails the whole parse, naming the variable. */
VpnConfig *ovpnenv_parse_config(GHashTable *env, GError **error);

/* OpenVPN 2.7's --dev-node unix:PROG: the packet socket in
 * TUNTAP_SOCKET_FD (-1 when absent); only TUNTAP_DEV_TYPE=tun is served. */
gboolean ovpnenv_tuntap_fd(GHashTable *env, int *fd, GError **error);
