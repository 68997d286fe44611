/* tun.h - tun devices: created inside the sandbox by the holder */
#pragma once

#include <glib.h>

/* Create a tun device (IFF_TUN | IFF_NO_PI | IFF_VNET_HDR, with checksum
 * and segmentation offload) in the caller's network namespace and return
 * its fd (close-on-exec, nonblocking); its name goes
 * to @ifname.  The device lives as long as the fd.  A /dev/net/tun the
 * user may not open gets an error that says how distributions set it up. */
int tun_create(char **ifname, GError **error);
