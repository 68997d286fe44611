/* offload.h - segmentation and coalescing for the relay's tun (virtio_net_hdr) */
#pragma once

#include <glib.h>
#include <linux/virtio_net.h>
#include <sys/uio.h>

/* Every packet on a tun opened with IFF_VNET_HDR starts with this header. */
#define OFFLOAD_VNET_LEN ((gsize)sizeof(struct virtio_net_hdr))

/* The largest IP packet the relay carries; superpackets stay within it. */
#define OFFLOAD_PKT_MAX 65535u

/* Bounds on one superpacket read from the tun: more segments or longer
 * headers than these and it is dropped as malformed (TCP's smallest MSS,
 * 48, gives at most 1366 segments of 64 KiB). */
#define OFFLOAD_MAX_SEGS 1408
#define OFFLOAD_MAX_HDR 256

/* Room offload_segment() may need for the segments of one superpacket. */
#define OFFLOAD_SEG_SPACE (65536u + OFFLOAD_MAX_SEGS * (gsize)(OFFLOAD_MAX_HDR + 8))

/* The one's-complement sum of @len bytes (RFC 1071), added to @sum and not
 * yet folded.  Only the last of several areas summed may have an odd
 * length. */
guint64 offload_csum_add(guint64 sum, const void *data, gsize len);

/* Fold a sum to 16 bits (not complemented). */
guint16 offload_csum_fold(guint64 sum);

/* tun -> wire: turn one frame read from the tun (header + packet, @len
 * bytes, writable) into plain IP packets.  A packet the kernel left for us
 * to checksum is completed in place and becomes iov[0]; a TCP or UDP
 * superpacket is cut into segments, each with its own headers and
 * checksums, written one after another into @out (@out_size bytes,
 * OFFLOAD_SEG_SPACE is always enough).  Returns the number of packets in
 * @iov (at most @max_iov), or -1 for a frame that cannot be sent (@why
 * says why). */
int offload_segment(guint8 *frame, gsize len, guint8 *out, gsize out_size,
		    struct iovec *iov, int max_iov, const char **why);

/* One packet received from the VPN, in a buffer with OFFLOAD_VNET_LEN bytes
 * of room before it for the header. */
typedef struct {
	guint8 *frame;   /* the header's room; the packet follows it */
	gsize len;       /* the packet's length */
	gsize cap;       /* room for the packet (it may grow to this) */
	gboolean merged; /* set: folded into an earlier packet, do not write */
	guint segs;      /* set: packets it carries now (0 when merged) */
	gsize wire_bytes; /* set: their length as received */
} OffloadPacket;

/* wire -> tun: coalesce consecutive TCP segments of one connection within
 * a batch, the way the kernel's GRO does (same headers and options,
 * contiguous sequence numbers, equal sizes but for the last, valid
 * checksums), into one superpacket each - and, with @udp (the tun takes
 * UDP superpackets: Linux >= 6.2), consecutive UDP datagrams of one flow
 * of equal size but for the last, which the sandbox's kernel splits again
 * for sockets that did not ask for UDP_GRO.  Then write every packet's
 * header (a GSO one for superpackets, an empty one otherwise).  Packets
 * that are folded into another get @merged.  The order of each flow's
 * packets is kept.  Returns how many packets were folded. */
int offload_coalesce(OffloadPacket *pkts, int n, gboolean udp);
