/* tunnel.h - the holder's VPN attachment: the tunnel device, its configuration, its DNS */
#pragma once

#include "sandboxfs.h"
#include "vpncfg.h"

#include <sys/types.h>

typedef struct _HolderTunnel HolderTunnel;

/* Netlink sockets for the sandbox (call inside its network namespace). */
HolderTunnel *tunnel_new(Sandboxfs *fs, GError **error);
void tunnel_free(HolderTunnel *t);

/* Relay path: create a tun device inside for @attach_pid, which relays for
 * the VPN client @vpn_pid (0: unknown); with @offload it takes superpackets
 * (a virtio_net_hdr on each packet).  Returns its fd and name. */
int tunnel_create(HolderTunnel *t, pid_t attach_pid, pid_t vpn_pid, gboolean offload,
		  char **ifname, GError **error);

/* Apply a configuration request (body of CTL_OP_CONFIGURE: "config" a{sv},
 * "mode" s, "vpn-pid" u, "apply" b).  On failure the sandbox is left with
 * no address, no route and no name server, never half configured. */
gboolean tunnel_configure(HolderTunnel *t, GVariant *body, pid_t peer, GError **error);

/* Remove the configuration (body: "ifname" s, optional). */
gboolean tunnel_deconfigure(HolderTunnel *t, GVariant *body, GError **error);

/* Store the relay's counters (body of CTL_OP_REPORT). */
void tunnel_report(HolderTunnel *t, GVariant *body);

/* Add "tunnel", "mode", "addresses", "routes", "dns", "attach-pid",
 * "vpn-pid", "counters" to a status reply; "state" becomes "connected". */
void tunnel_status(HolderTunnel *t, GVariantDict *d);

/* On stop: ask the relay and (relay path) the VPN client serving this
 * sandbox to end. */
void tunnel_end_clients(HolderTunnel *t);

/* The fd to watch for link changes, and what to call when it is readable. */
int tunnel_monitor_fd(HolderTunnel *t);
void tunnel_monitor_dispatch(HolderTunnel *t);
