/* fuzz-offload.c - the relay's segmentation (frames from the tun) and
 * coalescing (packets from the VPN, untrusted).
 *
 * Input: one mode byte, then
 *   mode bit 0 set:   a tun frame (virtio_net_hdr + packet) for offload_segment()
 *   mode bit 0 clear: packets for offload_coalesce(), each behind a 2-byte
 *                     big-endian length; with mode bit 1 their IPv4/IPv6
 *                     lengths and TCP checksums are made valid first, so the
 *                     fuzzer reaches the merging itself.
 * Properties: nothing is written outside its buffer (ASan), a superpacket
 * cut up again gives as many packets and bytes as went into it. */
#include "offload.h"

#include <netinet/in.h>
#include <string.h>

#define NPKT 24
#define SLOT (16 + 65536)

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static guint8 *mem, *out;
static struct iovec iov[OFFLOAD_MAX_SEGS];

static void fix_packet(guint8 *p, gsize len)
{
	gsize l4;
	guint64 sum;
	guint16 v;

	if (len < 40)
		return;
	if (p[0] >> 4 == 4 && (p[0] & 0xf) == 5 && p[9] == IPPROTO_TCP) {
		l4 = 20;
		p[2] = (guint8)(len >> 8);
		p[3] = (guint8)len;
		p[10] = p[11] = 0;
		v = ~offload_csum_fold(offload_csum_add(0, p, 20));
		memcpy(p + 10, &v, 2);
		sum = offload_csum_add(0, p + 12, 8);
	} else if (p[0] >> 4 == 6 && len >= 60 && p[6] == IPPROTO_TCP) {
		l4 = 40;
		p[4] = (guint8)((len - 40) >> 8);
		p[5] = (guint8)(len - 40);
		sum = offload_csum_add(0, p + 8, 32);
	} else {
		return;
	}
	sum += htons(IPPROTO_TCP) + htons((guint16)(len - l4));
	p[l4 + 16] = p[l4 + 17] = 0;
	v = ~offload_csum_fold(offload_csum_add(sum, p + l4, len - l4));
	memcpy(p + l4 + 16, &v, 2);
}

static void fuzz_segment(const unsigned char *data, size_t size)
{
	gsize len = MIN(size, OFFLOAD_VNET_LEN + 65536);
	int n;

	memcpy(mem, data, len);
	n = offload_segment(mem, len, out, OFFLOAD_SEG_SPACE, iov, OFFLOAD_MAX_SEGS, NULL);
	for (int i = 0; i < n; i++) {
		const guint8 *b = iov[i].iov_base;

		if (!((b >= out && b + iov[i].iov_len <= out + OFFLOAD_SEG_SPACE) ||
		      (b >= mem && b + iov[i].iov_len <= mem + len)))
			__builtin_trap();
	}
}

static void fuzz_coalesce(const unsigned char *data, size_t size, gboolean fix)
{
	OffloadPacket pkts[NPKT];
	int n = 0;

	while (size >= 2 && n < NPKT) {
		gsize len = MIN((gsize)(data[0] << 8 | data[1]), size - 2);
		guint8 *frame = mem + (gsize)n * SLOT;

		memcpy(frame + OFFLOAD_VNET_LEN, data + 2, len);
		if (fix)
			fix_packet(frame + OFFLOAD_VNET_LEN, len);
		pkts[n++] = (OffloadPacket){ .frame = frame, .len = len, .cap = 65536 };
		data += 2 + len;
		size -= 2 + len;
	}
	offload_coalesce(pkts, n, TRUE);
	for (int i = 0; i < n; i++) {
		gsize bytes = 0;
		int k;

		if (pkts[i].len > pkts[i].cap || (pkts[i].merged && pkts[i].segs))
			__builtin_trap();
		if (pkts[i].merged || pkts[i].segs < 2)
			continue;
		k = offload_segment(pkts[i].frame, OFFLOAD_VNET_LEN + pkts[i].len, out,
				    OFFLOAD_SEG_SPACE, iov, OFFLOAD_MAX_SEGS, NULL);
		if (k != (int)pkts[i].segs)
			__builtin_trap();
		for (int j = 0; j < k; j++)
			bytes += iov[j].iov_len;
		if (bytes != pkts[i].wire_bytes)
			__builtin_trap();
	}
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	if (!mem) {
		mem = g_malloc(NPKT * (gsize)SLOT);
		out = g_malloc(OFFLOAD_SEG_SPACE);
	}
	if (size < 1)
		return 0;
	if (data[0] & 1)
		fuzz_segment(data + 1, size - 1);
	else
		fuzz_coalesce(data + 1, size - 1, (data[0] & 2) != 0);
	return 0;
}
