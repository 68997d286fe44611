/* tun.c - tun devices: created inside the sandbox by the holder
 *
 * The holder opens /dev/net/tun inside the sandbox's network namespace, so
 * the device is born there and never exists on the host; its fd then goes
 * to the relay over SCM_RIGHTS.  Creating a tun needs CAP_NET_ADMIN in the
 * namespace's owning user namespace (the holder has it) and permission to
 * open /dev/net/tun (mode 0666 on most distributions; 0600 on some).
 *
 * The device carries a virtio_net_hdr before each packet (IFF_VNET_HDR),
 * and the relay, which cuts and joins superpackets (offload.c), turns on
 * segmentation offload (TUNSETOFFLOAD), so the sandbox's stack handles
 * 64 KiB at a time instead of one MTU.  `vpnns --attach --no-offload` asks
 * for a plain device, relayed packet by packet.
 */
#include "tun.h"
#include "util.h"

#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20 /* Linux 6.2 headers; Debian 12 has 6.1 */
#define TUN_F_USO6 0x40
#endif

TunOffload tun_set_offload(int fd)
{
	unsigned tcp = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;

	if (ioctl(fd, TUNSETOFFLOAD, tcp | TUN_F_USO4 | TUN_F_USO6) == 0)
		return TUN_OFFLOAD_TCP | TUN_OFFLOAD_UDP;
	if (ioctl(fd, TUNSETOFFLOAD, tcp) == 0)
		return TUN_OFFLOAD_TCP;
	g_debug("tun: no segmentation offload: %s", g_strerror(errno));
	return 0;
}

static gboolean tun_open_error(GError **error, int errsv)
{
	struct stat st;

	if (errsv == ENOENT || errsv == ENODEV) {
		g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_UNSUPPORTED,
			    "/dev/net/tun does not exist: load the tun module ('sudo modprobe tun')");
		return FALSE;
	}
	if ((errsv == EACCES || errsv == EPERM) && stat("/dev/net/tun", &st) == 0) {
		g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_PERMISSION,
			    "/dev/net/tun is not accessible to you (mode %04o, owner uid %u): most "
			    "distributions make it 0666; run 'sudo chmod 0666 /dev/net/tun' (a udev rule "
			    "KERNEL==\"tun\", MODE=\"0666\" keeps it so), or run openconnect as root, "
			    "which uses the kernel path instead",
			    (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid);
		return FALSE;
	}
	return vpnns_set_errno(error, errsv, "cannot open /dev/net/tun");
}

int tun_create(char **ifname, gboolean vnet, GError **error)
{
	struct ifreq ifr;
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0) {
		tun_open_error(error, errno);
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI | (vnet ? IFF_VNET_HDR : 0);
	g_strlcpy(ifr.ifr_name, "tun%d", sizeof(ifr.ifr_name));
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int errsv = errno;

		close(fd);
		vpnns_set_errno(error, errsv, "cannot create a tun device in the sandbox");
		return -1;
	}
	*ifname = g_strndup(ifr.ifr_name, IFNAMSIZ);
	return fd;
}
