/* tun.h - tun devices: created inside the sandbox by the holder */
#pragma once

#include <glib.h>

/* Create a tun device (IFF_TUN | IFF_NO_PI, and IFF_VNET_HDR when @vnet) in
 * the caller's network namespace and return its fd (close-on-exec,
 * nonblocking); its name goes to @ifname.  The device lives as long as the
 * fd.  A /dev/net/tun the user may not open gets an error that says how
 * distributions set it up. */
int tun_create(char **ifname, gboolean vnet, GError **error);

typedef enum {
	TUN_OFFLOAD_TCP = 1 << 0, /* checksums, TSO4/6 with ECN */
	TUN_OFFLOAD_UDP = 1 << 1, /* UDP segmentation (Linux >= 6.2) */
} TunOffload;

/* Let the sandbox's stack hand the device unchecksummed packets and TCP
 * (and, where the kernel has it, UDP) superpackets, which the fd's reader
 * must then cut up (offload.c); returns what the kernel accepted. */
TunOffload tun_set_offload(int fd);
