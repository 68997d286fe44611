/* test-offload.c - the relay's segmentation and coalescing (offload.c)
 *
 * Packets are built here with a checksum written independently of
 * offload.c (16-bit big-endian words, RFC 1071 as printed), so that a bug
 * in the fast sum cannot hide itself. */
#include "offload.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

/* The case tables below leave trailing fields of Step zero. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#define SLOT (16 + 65536)

/* --- an independent checksum and packet builder --------------------------- */

static guint32 ref_sum(guint32 sum, const guint8 *p, gsize len)
{
	for (gsize i = 0; i + 1 < len; i += 2)
		sum += (guint32)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (guint32)p[len - 1] << 8;
	return sum;
}

static guint16 ref_fold(guint32 sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (guint16)sum;
}

static guint16 rd16(const guint8 *p)
{
	return (guint16)(p[0] << 8 | p[1]);
}

static guint32 rd32(const guint8 *p)
{
	return (guint32)rd16(p) << 16 | rd16(p + 2);
}

static void wr16(guint8 *p, guint16 v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void wr32(guint8 *p, guint32 v)
{
	wr16(p, v >> 16);
	wr16(p + 2, v & 0xffff);
}

/* The pseudo-header sum of IP packet @ip for @l4len bytes of L4. */
static guint32 ref_pseudo(const guint8 *ip, guint8 proto, gsize l4len)
{
	guint32 s = (ip[0] >> 4) == 4 ? ref_sum(0, ip + 12, 8) : ref_sum(0, ip + 8, 32);

	return s + proto + (guint32)l4len;
}

/* Is the transport checksum of packet @ip (L4 at @l4, @len bytes) valid? */
static gboolean l4_csum_ok(const guint8 *ip, gsize l4, guint8 proto, gsize len)
{
	return ref_fold(ref_sum(ref_pseudo(ip, proto, len - l4), ip + l4, len - l4)) == 0xffff;
}

static gboolean ip4_csum_ok(const guint8 *ip)
{
	return ref_fold(ref_sum(0, ip, 20)) == 0xffff;
}

typedef struct {
	int version;
	guint8 proto;        /* IPPROTO_TCP or IPPROTO_UDP */
	guint16 sport, dport;
	guint32 seq, ack;
	guint8 flags;        /* TCP flags */
	guint16 id;          /* IPv4 id */
	gboolean df;
	gsize payload;       /* bytes of payload */
	guint8 fill;         /* payload byte i is fill + i */
	gsize off;           /* ... counted from this stream offset */
	guint32 tsval;       /* !0: a timestamp option (TCP) */
	int partial;         /* 1: leave the L4 checksum as the pseudo sum (for TSO input) */
} PktSpec;

#define ACK 0x10
#define PSH 0x08
#define FIN 0x01
#define CWR 0x80

static gsize build(guint8 *p, const PktSpec *s)
{
	gsize l3 = s->version == 4 ? 20 : 40;
	gsize l4h = s->proto == IPPROTO_TCP ? (s->tsval ? 32 : 20) : 8;
	gsize len = l3 + l4h + s->payload;
	guint8 *l4 = p + l3;
	guint16 csum;

	memset(p, 0, l3 + l4h);
	if (s->version == 4) {
		p[0] = 0x45;
		wr16(p + 2, (guint16)len);
		wr16(p + 4, s->id);
		p[6] = s->df ? 0x40 : 0;
		p[8] = 64;
		p[9] = s->proto;
		memcpy(p + 12, "\xc6\x12\x00\x01\xc6\x12\x00\x02", 8); /* 198.18.0.1 -> .2 */
		wr16(p + 10, ~ref_fold(ref_sum(0, p, 20)));
	} else {
		p[0] = 0x60;
		wr16(p + 4, (guint16)(len - 40));
		p[6] = s->proto;
		p[7] = 64;
		memcpy(p + 8, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
		memcpy(p + 24, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x02", 16);
	}
	wr16(l4, s->sport);
	wr16(l4 + 2, s->dport);
	if (s->proto == IPPROTO_TCP) {
		wr32(l4 + 4, s->seq);
		wr32(l4 + 8, s->ack);
		l4[12] = (guint8)((l4h / 4) << 4);
		l4[13] = s->flags;
		wr16(l4 + 14, 501);
		if (s->tsval) {
			memcpy(l4 + 20, "\x01\x01\x08\x0a", 4);
			wr32(l4 + 24, s->tsval);
			wr32(l4 + 28, 77);
		}
	} else {
		wr16(l4 + 4, (guint16)(len - l3));
	}
	for (gsize i = 0; i < s->payload; i++)
		p[l3 + l4h + i] = (guint8)(s->fill + s->off + i);
	csum = ref_fold(ref_pseudo(p, s->proto, len - l3));
	if (!s->partial)
		csum = ~ref_fold(ref_sum(ref_pseudo(p, s->proto, len - l3), l4, len - l3));
	wr16(l4 + (s->proto == IPPROTO_TCP ? 16 : 6), csum);
	return len;
}

static PktSpec tcp4(guint32 seq, gsize payload)
{
	return (PktSpec){ .version = 4, .proto = IPPROTO_TCP, .sport = 5201, .dport = 40000,
			  .seq = seq, .ack = 99, .flags = ACK, .id = 1, .df = TRUE,
			  .payload = payload, .off = seq - 1000, .tsval = 12345 };
}

/* --- segmentation ---------------------------------------------------------- */

static void test_csum_reference(void)
{
	guint8 buf[3001];
	GRand *r = g_rand_new_with_seed(42);

	for (int round = 0; round < 200; round++) {
		gsize len = g_rand_int_range(r, 0, sizeof(buf));
		guint16 ours, folded;
		guint8 be[2];

		for (gsize i = 0; i < len; i++)
			buf[i] = (guint8)g_rand_int(r);
		folded = offload_csum_fold(offload_csum_add(0, buf, len));
		memcpy(be, &folded, 2);   /* stored as it lies in memory */
		ours = rd16(be);
		g_assert_cmpuint(ours, ==, ref_fold(ref_sum(0, buf, len)));
	}
	g_rand_free(r);
}

/* A superpacket as the sandbox's TCP stack hands it to the tun. */
static gsize tso_frame(guint8 *frame, PktSpec s, guint8 gso_type, guint16 mss)
{
	struct virtio_net_hdr h = {
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
		.gso_type = gso_type,
		.gso_size = mss,
		.csum_start = s.version == 4 ? 20 : 40,
		.csum_offset = s.proto == IPPROTO_TCP ? 16 : 6,
	};

	s.partial = 1;
	memcpy(frame, &h, sizeof(h));
	return OFFLOAD_VNET_LEN + build(frame + OFFLOAD_VNET_LEN, &s);
}

static void check_segments(const struct iovec *iov, int n, const PktSpec *s, gsize mss)
{
	gsize l3 = s->version == 4 ? 20 : 40, hl = l3 + (s->tsval ? 32 : 20), off = 0;

	for (int i = 0; i < n; i++) {
		const guint8 *p = iov[i].iov_base;
		gsize len = iov[i].iov_len, chunk = len - hl;

		g_assert_cmpuint(chunk, ==, MIN(mss, s->payload - off));
		if (s->version == 4) {
			g_assert_true(ip4_csum_ok(p));
			g_assert_cmpuint(rd16(p + 2), ==, len);
			g_assert_cmpuint(rd16(p + 4), ==, (guint16)(s->id + i));
		} else {
			g_assert_cmpuint(rd16(p + 4), ==, len - 40);
		}
		g_assert_true(l4_csum_ok(p, l3, IPPROTO_TCP, len));
		g_assert_cmpuint(rd32(p + l3 + 4), ==, s->seq + off);
		g_assert_cmpuint(p[l3 + 13] & (PSH | FIN), ==, i == n - 1 ? s->flags & (PSH | FIN) : 0);
		g_assert_cmpuint(p[l3 + 13] & CWR, ==, i == 0 ? s->flags & CWR : 0);
		for (gsize k = 0; k < chunk; k++)
			g_assert_cmpuint(p[hl + k], ==, (guint8)(s->fill + s->off + off + k));
		off += chunk;
	}
	g_assert_cmpuint(off, ==, s->payload);
}

static void test_segment_tcp(gconstpointer data)
{
	int version = GPOINTER_TO_INT(data);
	g_autofree guint8 *frame = g_malloc(SLOT), *out = g_malloc(OFFLOAD_SEG_SPACE);
	struct iovec iov[OFFLOAD_MAX_SEGS];
	PktSpec s = tcp4(1000, 5500);
	const char *why = NULL;
	gsize len;
	int n;

	s.version = version;
	s.flags = ACK | PSH | FIN | CWR;
	len = tso_frame(frame, s, version == 4 ? VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN
					       : VIRTIO_NET_HDR_GSO_TCPV6, 1000);
	n = offload_segment(frame, len, out, OFFLOAD_SEG_SPACE, iov, G_N_ELEMENTS(iov), &why);
	g_assert_null(why);
	g_assert_cmpint(n, ==, 6);
	check_segments(iov, n, &s, 1000);
}

static void test_segment_udp(void)
{
	g_autofree guint8 *frame = g_malloc(SLOT), *out = g_malloc(OFFLOAD_SEG_SPACE);
	struct iovec iov[8];
	PktSpec s = { .version = 4, .proto = IPPROTO_UDP, .sport = 443, .dport = 50000,
		      .id = 7, .payload = 3000, .fill = 3 };
	gsize len = tso_frame(frame, s, 5 /* VIRTIO_NET_HDR_GSO_UDP_L4 */, 1200);
	int n = offload_segment(frame, len, out, OFFLOAD_SEG_SPACE, iov, G_N_ELEMENTS(iov), NULL);

	g_assert_cmpint(n, ==, 3);
	for (int i = 0; i < n; i++) {
		const guint8 *p = iov[i].iov_base;
		gsize chunk = i < 2 ? 1200 : 600;

		g_assert_cmpuint(iov[i].iov_len, ==, 28 + chunk);
		g_assert_true(ip4_csum_ok(p));
		g_assert_cmpuint(rd16(p + 24), ==, 8 + chunk);
		g_assert_true(l4_csum_ok(p, 20, IPPROTO_UDP, iov[i].iov_len));
		g_assert_cmpuint(p[28], ==, (guint8)(3 + i * 1200));
	}
}

/* A single packet whose checksum the kernel left to the device. */
static void test_segment_csum_only(void)
{
	guint8 frame[OFFLOAD_VNET_LEN + 200];
	PktSpec s = { .version = 6, .proto = IPPROTO_UDP, .sport = 53, .dport = 3333,
		      .payload = 111 };
	struct iovec iov[1];
	gsize len = tso_frame(frame, s, VIRTIO_NET_HDR_GSO_NONE, 0);
	int n = offload_segment(frame, len, NULL, 0, iov, 1, NULL);

	g_assert_cmpint(n, ==, 1);
	g_assert_true(iov[0].iov_base == frame + OFFLOAD_VNET_LEN); /* in place */
	g_assert_cmpuint(iov[0].iov_len, ==, len - OFFLOAD_VNET_LEN);
	g_assert_true(l4_csum_ok(iov[0].iov_base, 40, IPPROTO_UDP, iov[0].iov_len));
}

static void test_segment_plain(void)
{
	guint8 frame[OFFLOAD_VNET_LEN + 100], copy[sizeof(frame)];
	PktSpec s = tcp4(1000, 40);
	struct iovec iov[1];
	gsize len;

	memset(frame, 0, OFFLOAD_VNET_LEN);
	len = OFFLOAD_VNET_LEN + build(frame + OFFLOAD_VNET_LEN, &s);
	memcpy(copy, frame, sizeof(frame));
	g_assert_cmpint(offload_segment(frame, len, NULL, 0, iov, 1, NULL), ==, 1);
	g_assert_cmpmem(iov[0].iov_base, iov[0].iov_len, copy + OFFLOAD_VNET_LEN,
			len - OFFLOAD_VNET_LEN);
}

typedef struct {
	const char *what;
	void (*spoil)(guint8 *frame, gsize *len);
} Spoiler;

static void sp_short(guint8 *f, gsize *len) { *len = 5; }
static void sp_csum_out(guint8 *f, gsize *len) { ((struct virtio_net_hdr *)f)->gso_type = 0; ((struct virtio_net_hdr *)f)->csum_start = 4000; }
static void sp_csum_edge(guint8 *f, gsize *len) { ((struct virtio_net_hdr *)f)->gso_type = 0; ((struct virtio_net_hdr *)f)->csum_offset = (guint16)(*len - OFFLOAD_VNET_LEN - 20 - 1); }
static void sp_ufo(guint8 *f, gsize *len) { ((struct virtio_net_hdr *)f)->gso_type = VIRTIO_NET_HDR_GSO_UDP; }
static void sp_mss0(guint8 *f, gsize *len) { ((struct virtio_net_hdr *)f)->gso_size = 0; }
static void sp_mss_tiny(guint8 *f, gsize *len) { ((struct virtio_net_hdr *)f)->gso_size = 1; }
static void sp_start(guint8 *f, gsize *len) { ((struct virtio_net_hdr *)f)->csum_start = 24; }
static void sp_version(guint8 *f, gsize *len) { f[OFFLOAD_VNET_LEN] = 0x55; }
static void sp_v6type(guint8 *f, gsize *len) { ((struct virtio_net_hdr *)f)->gso_type = VIRTIO_NET_HDR_GSO_TCPV6; }
static void sp_proto(guint8 *f, gsize *len) { f[OFFLOAD_VNET_LEN + 9] = IPPROTO_UDP; }
static void sp_doff(guint8 *f, gsize *len) { f[OFFLOAD_VNET_LEN + 20 + 12] = 0x10; }
static void sp_doff_big(guint8 *f, gsize *len) { f[OFFLOAD_VNET_LEN + 20 + 12] = 0xf0; *len = OFFLOAD_VNET_LEN + 50; }
static void sp_cut(guint8 *f, gsize *len) { *len = OFFLOAD_VNET_LEN + 30; }

static void test_segment_malformed(void)
{
	static const Spoiler cases[] = {
		{ "shorter than a header", sp_short },
		{ "checksum start outside", sp_csum_out },
		{ "checksum field past the end", sp_csum_edge },
		{ "UFO (not offered)", sp_ufo },
		{ "segment size 0", sp_mss0 },
		{ "segment size 1: too many segments", sp_mss_tiny },
		{ "csum_start is not the IPv4 header length", sp_start },
		{ "not IP", sp_version },
		{ "TCPv6 on an IPv4 packet", sp_v6type },
		{ "not TCP", sp_proto },
		{ "TCP header shorter than 20", sp_doff },
		{ "TCP header past the end", sp_doff_big },
		{ "cut inside the TCP header", sp_cut },
	};
	g_autofree guint8 *frame = g_malloc(SLOT), *out = g_malloc(OFFLOAD_SEG_SPACE);
	struct iovec iov[OFFLOAD_MAX_SEGS];

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		PktSpec s = tcp4(1000, 2000);
		gsize len = tso_frame(frame, s, VIRTIO_NET_HDR_GSO_TCPV4, 1000);
		const char *why = NULL;

		cases[i].spoil(frame, &len);
		g_test_message("%s", cases[i].what);
		g_assert_cmpint(offload_segment(frame, len, out, OFFLOAD_SEG_SPACE, iov,
						G_N_ELEMENTS(iov), &why), ==, -1);
		g_assert_nonnull(why);
	}
	/* no room: the caller's promise broken, the frame refused, not overrun */
	{
		PktSpec s = tcp4(1000, 5000);
		gsize len = tso_frame(frame, s, VIRTIO_NET_HDR_GSO_TCPV4, 1000);

		g_assert_cmpint(offload_segment(frame, len, out, 3000, iov, G_N_ELEMENTS(iov), NULL), ==, -1);
		g_assert_cmpint(offload_segment(frame, len, out, OFFLOAD_SEG_SPACE, iov, 4, NULL), ==, -1);
	}
}

/* --- coalescing ------------------------------------------------------------- */

typedef struct {
	guint8 *mem;
	OffloadPacket pkts[80];
	int n;
} Batch;

static void batch_init(Batch *b)
{
	b->mem = g_malloc(80 * (gsize)SLOT);
	b->n = 0;
}

static void batch_clear(Batch *b)
{
	g_free(b->mem);
}

static OffloadPacket *batch_add(Batch *b, const PktSpec *s)
{
	guint8 *frame = b->mem + (gsize)b->n * SLOT;
	OffloadPacket *p = &b->pkts[b->n++];

	*p = (OffloadPacket){ .frame = frame, .len = build(frame + OFFLOAD_VNET_LEN, s),
			      .cap = SLOT - OFFLOAD_VNET_LEN };
	return p;
}

static const guint8 *pkt_of(const OffloadPacket *p)
{
	return p->frame + OFFLOAD_VNET_LEN;
}

static struct virtio_net_hdr vnet_of(const OffloadPacket *p)
{
	struct virtio_net_hdr h;

	memcpy(&h, p->frame, sizeof(h));
	return h;
}

/* The packets written, as "w" (whole) or "sN" (superpacket of N). */
static char *batch_shape(const Batch *b)
{
	GString *s = g_string_new(NULL);

	for (int i = 0; i < b->n; i++) {
		if (b->pkts[i].merged)
			continue;
		if (b->pkts[i].segs > 1)
			g_string_append_printf(s, "%ss%u", s->len ? " " : "", b->pkts[i].segs);
		else
			g_string_append_printf(s, "%sw", s->len ? " " : "");
	}
	return g_string_free(s, FALSE);
}

/* Cut a superpacket back with offload_segment() and compare with @specs. */
static void check_resegments(const OffloadPacket *p, const PktSpec *first, int nsegs, gsize mss)
{
	g_autofree guint8 *frame = g_malloc(SLOT), *out = g_malloc(OFFLOAD_SEG_SPACE);
	struct iovec iov[OFFLOAD_MAX_SEGS];
	struct virtio_net_hdr h = vnet_of(p);
	PktSpec whole = *first;
	int n;

	g_assert_cmpuint(h.flags, ==, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	g_assert_cmpuint(h.gso_type, ==, first->version == 4 ? VIRTIO_NET_HDR_GSO_TCPV4
							      : VIRTIO_NET_HDR_GSO_TCPV6);
	g_assert_cmpuint(h.gso_size, ==, mss);
	g_assert_cmpuint(h.csum_start, ==, first->version == 4 ? 20 : 40);
	g_assert_cmpuint(h.csum_offset, ==, 16);
	g_assert_cmpuint(h.hdr_len, ==, (first->version == 4 ? 20 : 40) + 32);
	/* the IP header is whole and the TCP checksum field holds the pseudo sum */
	if (first->version == 4) {
		g_assert_true(ip4_csum_ok(pkt_of(p)));
		g_assert_cmpuint(rd16(pkt_of(p) + 2), ==, p->len);
	} else {
		g_assert_cmpuint(rd16(pkt_of(p) + 4), ==, p->len - 40);
	}
	memcpy(frame, p->frame, OFFLOAD_VNET_LEN + p->len);
	n = offload_segment(frame, OFFLOAD_VNET_LEN + p->len, out, OFFLOAD_SEG_SPACE, iov,
			    G_N_ELEMENTS(iov), NULL);
	g_assert_cmpint(n, ==, nsegs);
	whole.payload = p->len - (first->version == 4 ? 52 : 72);
	whole.flags = pkt_of(p)[(first->version == 4 ? 20 : 40) + 13];
	check_segments(iov, n, &whole, mss);
}

static void test_coalesce_stream(gconstpointer data)
{
	int version = GPOINTER_TO_INT(data);
	Batch b;
	g_autofree char *shape = NULL;
	PktSpec s = tcp4(1000, 1000);

	batch_init(&b);
	s.version = version;
	for (int i = 0; i < 5; i++) {
		s.seq = 1000 + 1000 * i;
		s.off = 1000u * i;
		s.id = (guint16)(1 + i);
		s.payload = i == 4 ? 300 : 1000;
		batch_add(&b, &s);
	}
	g_assert_cmpint(offload_coalesce(b.pkts, b.n, TRUE), ==, 4);
	shape = batch_shape(&b);
	g_assert_cmpstr(shape, ==, "s5");
	g_assert_cmpuint(b.pkts[0].wire_bytes, ==, 4 * (1000 + (version == 4 ? 52 : 72)) +
						     300 + (version == 4 ? 52 : 72));
	s = tcp4(1000, 0);
	s.version = version;
	s.off = 0;
	check_resegments(&b.pkts[0], &s, 5, 1000);
	batch_clear(&b);
}

/* Build a batch from a list of (flow, seq offset, payload, flags) and
 * return its shape after coalescing. */
typedef struct {
	int flow;       /* 0, 1: two connections; 2: a UDP packet */
	int seg;        /* segment number in its stream */
	gsize payload;
	guint8 flags;
	int spoil;      /* 1: bad TCP checksum; 2: other timestamp; 3: other window */
} Step;

static char *run_steps(const Step *steps, int n)
{
	Batch b;
	char *shape;

	batch_init(&b);
	for (int i = 0; i < n; i++) {
		PktSpec s = tcp4(1000 + 1000u * steps[i].seg, steps[i].payload);
		OffloadPacket *p;

		s.sport = (guint16)(5201 + steps[i].flow);
		s.id = (guint16)(steps[i].seg + 1);
		s.flags = steps[i].flags ? steps[i].flags : ACK;
		if (steps[i].flow == 2) {
			s.proto = IPPROTO_UDP;
			s.tsval = 0;
		}
		if (steps[i].spoil == 2)
			s.tsval++;
		p = batch_add(&b, &s);
		if (steps[i].spoil == 1)
			((guint8 *)pkt_of(p))[60] ^= 0x40;
		if (steps[i].spoil == 3) {
			guint8 *th = p->frame + OFFLOAD_VNET_LEN + 20;

			/* a new window, checksum kept valid */
			wr16(th + 14, 502);
			wr16(th + 16, (guint16)(rd16(th + 16) - 1));
		}
	}
	offload_coalesce(b.pkts, b.n, TRUE);
	for (int i = 0; i < b.n; i++) {
		struct virtio_net_hdr h = vnet_of(&b.pkts[i]);

		if (!b.pkts[i].merged && b.pkts[i].segs == 1) /* a whole packet: empty header */
			g_assert_true(h.flags == 0 && h.gso_type == 0 && h.gso_size == 0);
	}
	shape = batch_shape(&b);
	batch_clear(&b);
	return shape;
}


static void test_coalesce_rules(void)
{
	static const struct {
		const char *what, *want;
		Step steps[8];
		int n;
	} cases[] = {
		{ "two interleaved connections", "s3 s2",
		  { { 0, 0, 1000 }, { 1, 0, 1000 }, { 0, 1, 1000 }, { 1, 1, 1000 }, { 0, 2, 1000 } }, 5 },
		{ "a gap in the sequence", "w s2",
		  { { 0, 0, 1000 }, { 0, 2, 1000 }, { 0, 3, 1000 } }, 3 },
		{ "a bad checksum passes alone, and nothing overtakes it", "w w w",
		  { { 0, 0, 1000 }, { 0, 1, 1000, 0, 1 }, { 0, 2, 1000 } }, 3 },
		{ "PSH ends a superpacket", "s2 w",
		  { { 0, 0, 1000 }, { 0, 1, 1000, ACK | PSH }, { 0, 2, 1000 } }, 3 },
		{ "PSH on the first: nothing joins it", "w s2",
		  { { 0, 0, 1000, ACK | PSH }, { 0, 1, 1000 }, { 0, 2, 1000 } }, 3 },
		{ "a short segment ends it", "s2 w",
		  { { 0, 0, 1000 }, { 0, 1, 500 }, { 0, 2, 1000 } }, 3 },
		{ "a longer segment cannot join", "w w",
		  { { 0, 0, 500 }, { 0, 1, 1000 } }, 2 },
		{ "other timestamps", "w w", { { 0, 0, 1000 }, { 0, 1, 1000, 0, 2 } }, 2 },
		{ "another window", "w w", { { 0, 0, 1000 }, { 0, 1, 1000, 0, 3 } }, 2 },
		{ "FIN passes alone and nothing overtakes it", "w w w",
		  { { 0, 0, 1000 }, { 0, 1, 1000, ACK | FIN }, { 0, 2, 1000 } }, 3 },
		{ "UDP between segments changes nothing", "s3 w",
		  { { 0, 0, 1000 }, { 2, 0, 100 }, { 0, 1, 1000 }, { 0, 2, 1000 } }, 4 },
		{ "a segment without payload keeps its place", "w w w",
		  { { 0, 0, 1000 }, { 0, 1, 0 }, { 0, 1, 1000 } }, 3 },
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *got = run_steps(cases[i].steps, cases[i].n);

		g_test_message("%s", cases[i].what);
		g_assert_cmpstr(got, ==, cases[i].want);
	}
}

/* The shape of @n segments of one stream, @size bytes each; @df clear:
 * without DF, with the IP id of segment @bad_id out of turn (-1: none). */
static char *stream_shape(int n, gsize size, gboolean df, int bad_id)
{
	Batch b;
	char *shape;

	batch_init(&b);
	for (int i = 0; i < n; i++) {
		PktSpec s = tcp4(1000 + (guint32)(size * i), size);

		s.off = size * i;
		s.df = df;
		s.id = (guint16)(i == bad_id ? 9 : 1 + i);
		batch_add(&b, &s);
	}
	offload_coalesce(b.pkts, b.n, TRUE);
	for (int i = 0; i < b.n; i++)
		g_assert_cmpuint(b.pkts[i].len, <=, OFFLOAD_PKT_MAX);
	shape = batch_shape(&b);
	batch_clear(&b);
	return shape;
}

static void test_coalesce_limits(void)
{
	g_autofree char *big = stream_shape(70, 1400, TRUE, -1);
	g_autofree char *small = stream_shape(70, 100, TRUE, -1);

	/* 46 segments of 1400 fill 64 KiB, the rest make a second one */
	g_assert_cmpstr(big, ==, "s46 s24");
	/* at most 64 per superpacket, as GRO */
	g_assert_cmpstr(small, ==, "s64 s6");
}

/* Without DF the IP ids must count up. */
static void test_coalesce_ipid(void)
{
	g_autofree char *shape = stream_shape(3, 1000, FALSE, 2);

	g_assert_cmpstr(shape, ==, "s2 w");
}

/* UDP datagrams of one flow, when the tun takes UDP superpackets. */
static char *udp_shape(const gsize *sizes, int n, gboolean udp, int zero_csum, Batch *keep)
{
	Batch b;
	char *shape;
	gsize off = 0;

	batch_init(&b);
	for (int i = 0; i < n; i++) {
		PktSpec s = { .version = 4, .proto = IPPROTO_UDP, .sport = 443, .dport = 50000,
			      .id = (guint16)(1 + i), .df = TRUE, .payload = sizes[i], .off = off };
		OffloadPacket *p = batch_add(&b, &s);

		if (i == zero_csum)
			((guint8 *)pkt_of(p))[26] = ((guint8 *)pkt_of(p))[27] = 0;
		off += sizes[i];
	}
	offload_coalesce(b.pkts, b.n, udp);
	shape = batch_shape(&b);
	if (keep)
		*keep = b;
	else
		batch_clear(&b);
	return shape;
}

static void test_coalesce_udp(void)
{
	static const gsize even[] = { 1200, 1200, 1200, 700 }, grow[] = { 700, 1200, 1200 };
	g_autofree char *joined = NULL, *off = udp_shape(even, 4, FALSE, -1, NULL);
	g_autofree char *nocsum = udp_shape(even, 4, TRUE, 1, NULL);
	g_autofree char *longer = udp_shape(grow, 3, TRUE, -1, NULL);
	g_autofree guint8 *frame = g_malloc(SLOT), *out = g_malloc(OFFLOAD_SEG_SPACE);
	struct iovec iov[8];
	struct virtio_net_hdr h;
	Batch b;
	int n;

	g_assert_cmpstr(off, ==, "w w w w");       /* not offered: nothing joins */
	g_assert_cmpstr(nocsum, ==, "w w s2");     /* no checksum, nothing to verify */
	g_assert_cmpstr(longer, ==, "w s2");       /* a longer datagram starts anew */
	joined = udp_shape(even, 4, TRUE, -1, &b);
	g_assert_cmpstr(joined, ==, "s4");
	h = vnet_of(&b.pkts[0]);
	g_assert_cmpuint(h.gso_type, ==, 5 /* VIRTIO_NET_HDR_GSO_UDP_L4 */);
	g_assert_cmpuint(h.gso_size, ==, 1200);
	g_assert_cmpuint(h.csum_offset, ==, 6);
	g_assert_cmpuint(rd16(pkt_of(&b.pkts[0]) + 24), ==, b.pkts[0].len - 20);
	/* cut again, the datagrams come back as they were sent */
	memcpy(frame, b.pkts[0].frame, OFFLOAD_VNET_LEN + b.pkts[0].len);
	n = offload_segment(frame, OFFLOAD_VNET_LEN + b.pkts[0].len, out, OFFLOAD_SEG_SPACE, iov,
			    G_N_ELEMENTS(iov), NULL);
	g_assert_cmpint(n, ==, 4);
	for (int i = 0, at = 0; i < n; at += (int)even[i], i++) {
		PktSpec s = { .version = 4, .proto = IPPROTO_UDP, .sport = 443, .dport = 50000,
			      .id = (guint16)(1 + i), .df = TRUE, .payload = even[i], .off = (gsize)at };
		guint8 want[1500];
		gsize len = build(want, &s);

		g_assert_cmpmem(iov[i].iov_base, iov[i].iov_len, want, len);
	}
	batch_clear(&b);
}

/* A batch of one: passed whole, with an empty header over whatever the
 * buffer held before. */
static void test_coalesce_single(void)
{
	Batch b;
	PktSpec s = tcp4(1000, 1000);
	OffloadPacket *p;

	batch_init(&b);
	p = batch_add(&b, &s);
	memset(p->frame, 0xaa, OFFLOAD_VNET_LEN);
	g_assert_cmpint(offload_coalesce(b.pkts, b.n, TRUE), ==, 0);
	g_assert_false(p->merged);
	g_assert_cmpuint(p->segs, ==, 1);
	g_assert_cmpuint(p->wire_bytes, ==, p->len);
	for (gsize i = 0; i < OFFLOAD_VNET_LEN; i++)
		g_assert_cmpuint(p->frame[i], ==, 0);
	batch_clear(&b);
}

/* Random bytes must neither crash nor be merged. */
static void test_coalesce_garbage(void)
{
	GRand *r = g_rand_new_with_seed(7);
	Batch b;

	batch_init(&b);
	for (int round = 0; round < 200; round++) {
		b.n = 0;
		for (int i = 0; i < 16; i++) {
			PktSpec s = tcp4(1000 + 1000u * i, 1000);
			OffloadPacket *p = batch_add(&b, &s);
			guint8 *q = p->frame + OFFLOAD_VNET_LEN;

			/* a random length and a few random bytes in the headers */
			p->len = g_rand_int_range(r, 0, (gint32)p->len + 1);
			for (int k = 0; k < 3; k++)
				q[g_rand_int_range(r, 0, 60)] = (guint8)g_rand_int(r);
		}
		offload_coalesce(b.pkts, b.n, TRUE);
		for (int i = 0; i < b.n; i++)
			g_assert_cmpuint(b.pkts[i].len, <=, b.pkts[i].cap);
	}
	batch_clear(&b);
	g_rand_free(r);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/offload/csum/reference", test_csum_reference);
	g_test_add_data_func("/offload/segment/tcp4", GINT_TO_POINTER(4), test_segment_tcp);
	g_test_add_data_func("/offload/segment/tcp6", GINT_TO_POINTER(6), test_segment_tcp);
	g_test_add_func("/offload/segment/udp", test_segment_udp);
	g_test_add_func("/offload/segment/csum-only", test_segment_csum_only);
	g_test_add_func("/offload/segment/plain", test_segment_plain);
	g_test_add_func("/offload/segment/malformed", test_segment_malformed);
	g_test_add_data_func("/offload/coalesce/stream4", GINT_TO_POINTER(4), test_coalesce_stream);
	g_test_add_data_func("/offload/coalesce/stream6", GINT_TO_POINTER(6), test_coalesce_stream);
	g_test_add_func("/offload/coalesce/rules", test_coalesce_rules);
	g_test_add_func("/offload/coalesce/limits", test_coalesce_limits);
	g_test_add_func("/offload/coalesce/ip-id", test_coalesce_ipid);
	g_test_add_func("/offload/coalesce/udp", test_coalesce_udp);
	g_test_add_func("/offload/coalesce/single", test_coalesce_single);
	g_test_add_func("/offload/coalesce/garbage", test_coalesce_garbage);
	return g_test_run();
}
