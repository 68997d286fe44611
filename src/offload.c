/* offload.c - segmentation and coalescing for the relay's tun (virtio_net_hdr)
 *
 * Theory of operation
 *
 * A tun device opened with IFF_VNET_HDR puts a struct virtio_net_hdr in
 * front of every packet, both ways, and TUNSETOFFLOAD lets it carry
 * superpackets: the same TCP (or UDP) header over up to 64 KiB of payload,
 * with gso_size saying how large each real segment is.  That is how the
 * relay avoids paying the kernel's per-packet cost twice:
 *
 *   - sandbox -> VPN: the sandbox's TCP stack hands the tun 64 KiB
 *     superpackets (TSO) instead of one skb per MSS, and this file cuts
 *     them into the segments the VPN carries (offload_segment()), with the
 *     headers and checksums the kernel would have made;
 *   - VPN -> sandbox: the packets of one recvmmsg() batch that continue one
 *     TCP stream (or one UDP flow) are joined into one superpacket
 *     (offload_coalesce()), as the kernel's GRO does for a network card, so
 *     one write() and one pass through the sandbox's IP stack take many
 *     packets.  The sandbox's kernel splits UDP superpackets again for
 *     every socket that did not ask for them (UDP_GRO).
 *
 * Coalescing is strict: only packets GRO itself would merge (identical IP
 * headers; for TCP identical headers and options, ACK or ACK|PSH,
 * contiguous sequence numbers; equal sizes but for a shorter last one),
 * each with a valid checksum, since a superpacket is handed over as
 * already checked.  Everything else
 * passes unchanged, in order.  Packets from the VPN are untrusted input:
 * every length and offset is checked against the buffer before use.
 *
 * Checksums follow RFC 1071: a one's-complement sum is independent of byte
 * order, so words are summed as they lie in memory and the folded result
 * is stored the same way.
 */
#include "offload.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#ifndef VIRTIO_NET_HDR_GSO_UDP_L4
#define VIRTIO_NET_HDR_GSO_UDP_L4 5 /* Linux 6.2 headers; Debian 12 has 6.1 */
#endif

#define TH_FIN 0x01
#define TH_PSH 0x08
#define TH_ACK 0x10
#define TH_CWR 0x80

#define GRO_MAX_ITEMS 64 /* flows tracked in one batch */
#define GRO_MAX_SEGS 64  /* segments in one superpacket, as the kernel's GRO */

static guint16 get16(const guint8 *p)
{
	return (guint16)(p[0] << 8 | p[1]);
}

static guint32 get32(const guint8 *p)
{
	return (guint32)p[0] << 24 | (guint32)p[1] << 16 | (guint32)p[2] << 8 | p[3];
}

static void put16(guint8 *p, guint16 v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void put32(guint8 *p, guint32 v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

guint64 offload_csum_add(guint64 sum, const void *data, gsize len)
{
	const guint8 *p = data;

	for (; len >= 8; p += 8, len -= 8) {
		guint64 w;

		memcpy(&w, p, 8);
		sum += (w & 0xffffffffu) + (w >> 32);
	}
	for (; len >= 2; p += 2, len -= 2) {
		guint16 w;

		memcpy(&w, p, 2);
		sum += w;
	}
	if (len) {
		guint8 tail[2] = { p[0], 0 };
		guint16 w;

		memcpy(&w, tail, 2);
		sum += w;
	}
	return sum;
}

guint16 offload_csum_fold(guint64 sum)
{
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (guint16)((sum & 0xffff) + (sum >> 16));
}

/* Store a folded sum where it lies in memory order (see the top). */
static void csum_store(guint8 *at, guint16 v)
{
	memcpy(at, &v, 2);
}

/* The TCP/UDP pseudo-header of the IP packet at @ip, for @l4len bytes of
 * transport header and payload. */
static guint64 csum_pseudo(const guint8 *ip, guint8 proto, gsize l4len)
{
	guint64 sum = (ip[0] >> 4) == 4 ? offload_csum_add(0, ip + 12, 8)
					 : offload_csum_add(0, ip + 8, 32);

	return sum + htons(proto) + htons((guint16)l4len);
}

/* A transport checksum from its sum: complemented, and never 0, which for
 * UDP means "none" (RFC 768); 0xffff is the same value for TCP. */
static guint16 csum_final(guint64 sum)
{
	guint16 v = ~offload_csum_fold(sum);

	return v ? v : 0xffff;
}

/* The full transport checksum, for a header whose checksum field is 0. */
static guint16 csum_l4(const guint8 *ip, gsize l4off, guint8 proto, gsize len)
{
	return csum_final(csum_pseudo(ip, proto, len - l4off) +
			  offload_csum_add(0, ip + l4off, len - l4off));
}

static void ip4_set_csum(guint8 *ip)
{
	ip[10] = ip[11] = 0;
	csum_store(ip + 10, ~offload_csum_fold(offload_csum_add(0, ip, 20)));
}

static int seg_fail(const char **why, const char *what)
{
	if (why)
		*why = what;
	return -1;
}

/* What a superpacket looks like, checked against its buffer. */
typedef struct {
	gboolean tcp;
	guint8 version, proto;
	gsize l4, hlen, payload, mss, nsegs;
} SegShape;

static const char *seg_shape(const struct virtio_net_hdr *h, const guint8 *pkt, gsize len,
			     SegShape *s)
{
	guint8 type = h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN;

	s->tcp = type == VIRTIO_NET_HDR_GSO_TCPV4 || type == VIRTIO_NET_HDR_GSO_TCPV6;
	if (!s->tcp && type != VIRTIO_NET_HDR_GSO_UDP_L4)
		return "unsupported GSO type";
	s->proto = s->tcp ? IPPROTO_TCP : IPPROTO_UDP;
	s->version = pkt[0] >> 4;
	s->l4 = h->csum_start;
	if (s->version == 4) {
		if (type == VIRTIO_NET_HDR_GSO_TCPV6 || len < 20 || (pkt[0] & 0xf) * 4u != s->l4 ||
		    s->l4 < 20 || pkt[9] != s->proto)
			return "bad IPv4 header in a superpacket";
	} else if (s->version == 6) {
		if (type == VIRTIO_NET_HDR_GSO_TCPV4 || len < 40 || s->l4 != 40 || pkt[6] != s->proto)
			return "bad IPv6 header in a superpacket";
	} else {
		return "superpacket is not IP";
	}
	if (s->l4 + (s->tcp ? 20u : 8u) > len)
		return "superpacket shorter than its headers";
	s->hlen = s->l4 + (s->tcp ? (pkt[s->l4 + 12] >> 4) * 4u : 8u);
	if ((s->tcp && s->hlen < s->l4 + 20) || s->hlen > len || s->hlen > OFFLOAD_MAX_HDR)
		return "bad transport header in a superpacket";
	s->payload = len - s->hlen;
	s->mss = h->gso_size;
	if (s->mss == 0 || s->hlen + s->mss > OFFLOAD_PKT_MAX)
		return "bad segment size in a superpacket";
	s->nsegs = s->payload ? (s->payload + s->mss - 1) / s->mss : 1;
	if (s->nsegs > OFFLOAD_MAX_SEGS)
		return "too many segments in a superpacket";
	return NULL;
}

/* Cut the superpacket @pkt into segments in @out. */
static int seg_cut(const SegShape *s, const guint8 *pkt, guint8 *out, gsize out_size,
		   struct iovec *iov, int max_iov, const char **why)
{
	guint32 seq = s->tcp ? get32(pkt + s->l4 + 4) : 0;
	guint16 id = get16(pkt + 4);
	gsize used = 0;

	if (s->nsegs > (gsize)max_iov || s->payload + s->nsegs * (s->hlen + 8) > out_size)
		return seg_fail(why, "no room for the segments");
	for (gsize i = 0, off = 0; i < s->nsegs; i++, off += s->mss) {
		gsize chunk = MIN(s->mss, s->payload - off), total = s->hlen + chunk;
		guint8 *seg = out + used, *l4 = seg + s->l4, *check = l4 + (s->tcp ? 16 : 6);

		memcpy(seg, pkt, s->hlen);
		memcpy(seg + s->hlen, pkt + s->hlen + off, chunk);
		if (s->version == 4) {
			put16(seg + 2, (guint16)total);
			put16(seg + 4, (guint16)(id + i));
			ip4_set_csum(seg);
		} else {
			put16(seg + 4, (guint16)(total - 40));
		}
		if (s->tcp) {
			put32(l4 + 4, seq + (guint32)off);
			if (i + 1 < s->nsegs)
				l4[13] &= ~(TH_FIN | TH_PSH);
			if (i > 0)
				l4[13] &= ~TH_CWR;
		} else {
			put16(l4 + 4, (guint16)(total - s->l4));
		}
		check[0] = check[1] = 0;
		csum_store(check, csum_l4(seg, s->l4, s->proto, total));
		iov[i].iov_base = seg;
		iov[i].iov_len = total;
		used += (total + 7) & ~(gsize)7;
	}
	return (int)s->nsegs;
}

int offload_segment(guint8 *frame, gsize len, guint8 *out, gsize out_size,
		    struct iovec *iov, int max_iov, const char **why)
{
	struct virtio_net_hdr h;
	guint8 *pkt = frame + OFFLOAD_VNET_LEN;
	SegShape shape;
	const char *bad;

	if (len <= OFFLOAD_VNET_LEN || max_iov < 1)
		return seg_fail(why, "empty packet");
	memcpy(&h, frame, sizeof(h));
	len -= OFFLOAD_VNET_LEN;
	if ((h.gso_type & ~VIRTIO_NET_HDR_GSO_ECN) == VIRTIO_NET_HDR_GSO_NONE) {
		if (h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
			gsize start = h.csum_start, at = start + h.csum_offset;

			if (start >= len || at + 2 > len)
				return seg_fail(why, "checksum offsets outside the packet");
			/* the field holds the pseudo-header sum, which counts in */
			csum_store(pkt + at, csum_final(offload_csum_add(0, pkt + start, len - start)));
		}
		iov[0].iov_base = pkt;
		iov[0].iov_len = len;
		return 1;
	}
	bad = seg_shape(&h, pkt, len, &shape);
	if (bad)
		return seg_fail(why, bad);
	return seg_cut(&shape, pkt, out, out_size, iov, max_iov, why);
}

/* --- coalescing ---------------------------------------------------------- */

/* A TCP segment or UDP datagram that GRO could merge. */
typedef struct {
	gsize l4, hlen, payload;
	guint32 seq;
	guint16 id;
	guint8 version, proto, flags;
} GroSeg;

typedef enum {
	GRO_OTHER,   /* not TCP or UDP over IP, or headers out of bounds */
	GRO_KEEP,    /* must pass as it is (SYN, FIN, no data, bad checksum, ...) */
	GRO_MERGE,   /* a candidate */
} GroKind;

/* The IP header: where the transport header starts, for TCP and for UDP
 * when @udp. */
static gboolean gro_parse_ip(const guint8 *p, gsize len, gboolean udp, GroSeg *s)
{
	if (len < 28)
		return FALSE;
	s->version = p[0] >> 4;
	if (s->version == 4) {
		s->proto = p[9];
		s->l4 = (p[0] & 0xf) * 4u;
		s->id = get16(p + 4);
		if (s->l4 < 20)
			return FALSE;
	} else if (s->version == 6) {
		s->proto = p[6];
		s->l4 = 40;
		s->id = 0;
	} else {
		return FALSE;
	}
	return s->proto == IPPROTO_TCP || (udp && s->proto == IPPROTO_UDP);
}

/* Can the packet's IP header join a superpacket: IPv4 without options,
 * not a fragment, its length the packet's, intact; IPv6 without extension
 * headers (the transport is the next header). */
static gboolean gro_ip_mergeable(const guint8 *p, gsize len, const GroSeg *s)
{
	if (s->version == 6)
		return get16(p + 4) + 40u == len;
	return s->l4 == 20 && get16(p + 2) == len && !(get16(p + 6) & 0x3fff) &&
	       offload_csum_fold(offload_csum_add(0, p, 20)) == 0xffff;
}

static gboolean gro_l4_csum_ok(const guint8 *p, gsize len, const GroSeg *s)
{
	return offload_csum_fold(csum_pseudo(p, s->proto, len - s->l4) +
				 offload_csum_add(0, p + s->l4, len - s->l4)) == 0xffff;
}

static GroKind gro_parse(const guint8 *p, gsize len, gboolean udp, GroSeg *s)
{
	gsize thl;

	s->payload = 0;
	s->seq = 0;
	s->flags = 0;
	if (!gro_parse_ip(p, len, udp, s) || s->l4 + (s->proto == IPPROTO_TCP ? 20u : 8u) > len)
		return GRO_OTHER;
	if (s->proto == IPPROTO_UDP) {
		s->hlen = s->l4 + 8;
		s->payload = len - s->hlen;
		/* a zero checksum means none: nothing to verify, so no merging */
		if (!s->payload || get16(p + s->l4 + 4) != len - s->l4 || !get16(p + s->l4 + 6))
			return GRO_KEEP;
	} else {
		thl = (p[s->l4 + 12] >> 4) * 4u;
		s->hlen = s->l4 + thl;
		s->flags = p[s->l4 + 13];
		s->seq = get32(p + s->l4 + 4);
		if (thl < 20 || s->hlen >= len || (s->flags & ~TH_PSH) != TH_ACK)
			return GRO_KEEP;
		s->payload = len - s->hlen;
	}
	if (!gro_ip_mergeable(p, len, s) || !gro_l4_csum_ok(p, len, s))
		return GRO_KEEP;
	return GRO_MERGE;
}

/* Same connection: protocol, addresses and ports. */
static gboolean gro_same_flow(const guint8 *a, const guint8 *b, const GroSeg *sa, const GroSeg *sb)
{
	if (sa->version != sb->version || sa->proto != sb->proto)
		return FALSE;
	if (sa->version == 4 ? memcmp(a + 12, b + 12, 8) : memcmp(a + 8, b + 8, 32))
		return FALSE;
	return !memcmp(a + sa->l4, b + sb->l4, 4);
}

/* Headers GRO requires identical: TOS/DF/TTL (traffic class, flow label,
 * hop limit) and, for TCP, ack, data offset, window and every option byte. */
static gboolean gro_same_headers(const guint8 *a, const guint8 *b, const GroSeg *sa,
				 const GroSeg *sb)
{
	const guint8 *ta = a + sa->l4, *tb = b + sb->l4;

	if (sa->hlen != sb->hlen)
		return FALSE;
	if (sa->version == 4 ? a[1] != b[1] || (a[6] & 0x40) != (b[6] & 0x40) || a[8] != b[8]
			     : memcmp(a, b, 4) || a[7] != b[7])
		return FALSE;
	if (sa->proto == IPPROTO_UDP)
		return TRUE;
	return !memcmp(ta + 8, tb + 8, 5) && !memcmp(ta + 14, tb + 14, 2) &&
	       !memcmp(ta + 20, tb + 20, sa->hlen - sa->l4 - 20);
}

typedef struct {
	int head;          /* index of the packet that collects the others */
	GroSeg seg;        /* the head's shape */
	guint32 next_seq;
	gsize gso_size;
	int nsegs;
	guint16 last_id;
	gboolean closed;   /* ended by a short or PSH segment, or a gap */
} GroItem;

static guint8 *gro_pkt(const OffloadPacket *p)
{
	return p->frame + OFFLOAD_VNET_LEN;
}

static gboolean gro_fits(const GroItem *it, const OffloadPacket *head, const guint8 *q,
			 const GroSeg *s)
{
	const guint8 *h = gro_pkt(head);

	if (it->closed || it->nsegs >= GRO_MAX_SEGS ||
	    (s->proto == IPPROTO_TCP && s->seq != it->next_seq) ||
	    s->payload > it->gso_size || head->len + s->payload > MIN(head->cap, OFFLOAD_PKT_MAX))
		return FALSE;
	/* without DF the IP ids must count up, as GRO requires */
	if (s->version == 4 && !(h[6] & 0x40) && s->id != (guint16)(it->last_id + 1))
		return FALSE;
	return gro_same_headers(h, q, &it->seg, s);
}

static void gro_append(GroItem *it, OffloadPacket *head, OffloadPacket *q, const GroSeg *s)
{
	guint8 *h = gro_pkt(head);

	memcpy(h + head->len, gro_pkt(q) + s->hlen, s->payload);
	head->len += s->payload;
	head->segs++;
	head->wire_bytes += q->len;
	it->next_seq += (guint32)s->payload;
	it->nsegs++;
	it->last_id = s->id;
	if (s->payload < it->gso_size || s->flags & TH_PSH) {
		it->closed = TRUE;
		h[it->seg.l4 + 13] |= s->flags & TH_PSH;
	}
	q->merged = TRUE;
	q->segs = 0;
}

static void gro_start(GroItem *it, int idx, const GroSeg *s)
{
	*it = (GroItem){ .head = idx, .seg = *s, .next_seq = s->seq + (guint32)s->payload,
			 .gso_size = s->payload, .nsegs = 1, .last_id = s->id,
			 .closed = (s->flags & TH_PSH) != 0 };
}

/* Give a superpacket its final lengths, header checksum and GSO header; the
 * transport checksum field holds the pseudo-header sum, as for any packet
 * whose checksum is left to the hardware (CHECKSUM_PARTIAL). */
static void gro_finish(const GroItem *it, OffloadPacket *head)
{
	gboolean tcp = it->seg.proto == IPPROTO_TCP;
	guint8 *p = gro_pkt(head), *l4 = p + it->seg.l4, *check = l4 + (tcp ? 16 : 6);
	struct virtio_net_hdr h = {
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
		.gso_type = !tcp ? VIRTIO_NET_HDR_GSO_UDP_L4
			: it->seg.version == 4 ? VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_TCPV6,
		.hdr_len = (guint16)it->seg.hlen,
		.gso_size = (guint16)it->gso_size,
		.csum_start = (guint16)it->seg.l4,
		.csum_offset = tcp ? 16 : 6,
	};

	if (it->seg.version == 4) {
		put16(p + 2, (guint16)head->len);
		ip4_set_csum(p);
	} else {
		put16(p + 4, (guint16)(head->len - 40));
	}
	if (!tcp)
		put16(l4 + 4, (guint16)(head->len - it->seg.l4));
	check[0] = check[1] = 0;
	csum_store(check, offload_csum_fold(csum_pseudo(p, it->seg.proto, head->len - it->seg.l4)));
	memcpy(head->frame, &h, sizeof(h));
}

int offload_coalesce(OffloadPacket *pkts, int n, gboolean udp)
{
	GroItem items[GRO_MAX_ITEMS];
	int nitems = 0, merged = 0;

	for (int i = 0; i < n; i++) {
		OffloadPacket *q = &pkts[i];
		GroItem *flow = NULL;
		GroKind kind;
		GroSeg s;

		q->merged = FALSE;
		q->segs = 1;
		q->wire_bytes = q->len;
		memset(q->frame, 0, OFFLOAD_VNET_LEN);
		if (n < 2)
			break; /* nothing to join it with: no need to parse it */
		kind = gro_parse(gro_pkt(q), q->len, udp, &s);
		if (kind == GRO_OTHER)
			continue;
		for (int k = nitems - 1; k >= 0; k--) {
			if (gro_same_flow(gro_pkt(&pkts[items[k].head]), gro_pkt(q), &items[k].seg, &s)) {
				flow = &items[k];
				break;
			}
		}
		if (kind == GRO_KEEP) {
			/* what follows in this stream must not overtake it */
			if (flow)
				flow->closed = TRUE;
			continue;
		}
		if (flow && gro_fits(flow, &pkts[flow->head], gro_pkt(q), &s)) {
			gro_append(flow, &pkts[flow->head], q, &s);
			merged++;
			continue;
		}
		if (flow)
			flow->closed = TRUE;
		if (nitems < GRO_MAX_ITEMS)
			gro_start(&items[nitems++], i, &s);
	}
	for (int k = 0; k < nitems; k++) {
		if (items[k].nsegs > 1)
			gro_finish(&items[k], &pkts[items[k].head]);
	}
	return merged;
}
