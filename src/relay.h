/* relay.h - the packet relay between a VPN client's socket and the sandbox's tun */
#pragma once

#include <glib.h>

typedef struct {
	guint64 in_packets, in_bytes;     /* VPN -> sandbox */
	guint64 out_packets, out_bytes;   /* sandbox -> VPN */
	guint64 in_dropped, out_dropped;  /* refused by the kernel, or oversized */
	guint64 pushback;                 /* times the VPN socket was full */
	guint64 in_merged;                /* inbound packets that went in superpackets */
	guint64 out_split;                /* superpackets from the sandbox, cut up */
} RelayCounters;

typedef enum {
	RELAY_END_SIGNAL,    /* SIGHUP/SIGTERM/SIGINT: the VPN client's shutdown */
	RELAY_END_VPN_GONE,  /* the VPN client died or closed its socket */
	RELAY_END_TUN_GONE,  /* the tun device went away (the sandbox was stopped) */
	RELAY_END_ERROR,
} RelayEnd;

typedef struct {
	int vpnfd;     /* datagram socket: one datagram = one IP packet */
	int tunfd;     /* the tun device inside the sandbox (IFF_NO_PI) */
	int pidfd;     /* the VPN client's pidfd, or -1 */
	int ctlfd;     /* the holder connection for counter reports, or -1 */
	guint mtu;     /* the tunnel's MTU, or 0: not known */
} RelayFds;

/* Block SIGHUP, SIGTERM and SIGINT; relay_run() takes them through a
 * signalfd.  Call before starting anything that could be signalled. */
void relay_block_signals(void);

/* Copy packets both ways until the VPN client ends.  Never busy-loops:
 * when the VPN socket is full the relay stops reading the tun (the
 * sandbox's sockets see the pressure) instead of dropping. */
RelayEnd relay_run(const RelayFds *fds, RelayCounters *counters, GError **error);

/* The counters as a{st}, for CTL_OP_REPORT and status. */
GVariant *relay_counters_variant(const RelayCounters *c);
