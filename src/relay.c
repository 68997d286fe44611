/* relay.c - the packet relay between a VPN client's socket and the sandbox's tun
 *
 * openconnect --script-tun hands its packets over an AF_UNIX datagram
 * socket (one datagram per IP packet).  The relay moves them to and from a
 * tun device that the holder created inside the sandbox:
 *
 *   VPN socket --recvmmsg(64)--> coalesce --> write() each --> tun   (inbound)
 *   tun --read() until empty--> segment --> sendmmsg --> VPN socket  (outbound)
 *
 * The tun speaks virtio_net_hdr with segmentation offload (tun.c): the
 * sandbox's TCP stack sends 64 KiB superpackets, which offload.c cuts into
 * MTU-sized packets, and consecutive segments of one TCP stream (or
 * datagrams of one UDP flow) in an inbound batch become one superpacket, as
 * a network card's GRO would make them - one write() and one trip through the sandbox's stack for many
 * packets, which is where a relay's time goes.  A tun without the header
 * (handed over by an older holder) is relayed packet by packet.
 *
 * Every buffer holds 64 KiB, the largest IP packet, so no MTU truncates
 * (the classic relay's 2048-byte buffer did).  Both fds are nonblocking and
 * everything waits in one epoll set: when the VPN socket is full the relay
 * stops reading the tun until it drains (POLLOUT) - backpressure, not
 * drops.  A datagram socket's peer closing gives no EOF, so the VPN
 * client's death is watched through a pidfd, and send errors count too.
 */
#include "relay.h"
#include "ctl.h"
#include "fdpass.h"
#include "offload.h"
#include "tun.h"
#include "util.h"

#include <glib-unix.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define RELAY_BATCH 64
#define RELAY_PKT_MAX 65536
#define RELAY_REPORT_MS 1000

/* The VPN socket's send buffer holds a little less than one batch of
 * packets of the tunnel's MTU, so that the VPN client always has the next
 * packets waiting while the relay is not running, and no more: whatever
 * waits here adds to every packet's round trip without making the VPN
 * client any faster.  With 4 MiB, TCP through openconnect lost 10-15% of
 * its upload throughput to that queue (tests/bench/openconnect.sh); with
 * 16 KiB the VPN client starves.  When it is full the relay stops reading
 * the tun, and the sandbox's own queueing (TCP small queues, the tun's
 * qdisc) holds the rest, as it does when the VPN client reads a tun
 * itself.  The kernel doubles the value and counts each packet with its
 * overhead (about 2.3 KiB for 1400 bytes): 64 KiB holds about 55 such
 * packets, and 24 x MTU about 40 jumbo ones. */
#define RELAY_VPN_SNDBUF_MIN (64u << 10)
#define RELAY_VPN_SNDBUF_MAX (1u << 20)

static int relay_vpn_sndbuf(guint mtu)
{
	return (int)CLAMP(24 * (gsize)mtu, RELAY_VPN_SNDBUF_MIN, RELAY_VPN_SNDBUF_MAX);
}

/* Inbound slots: the vnet header's room, then a packet, which coalescing
 * may grow to 64 KiB. */
#define RELAY_HEADROOM 16
#define RELAY_SLOT (RELAY_HEADROOM + RELAY_PKT_MAX)

/* Outbound: frames read from the tun and the segments cut from them lie one
 * after another in an arena.  A batch ends at RELAY_BATCH packets, as
 * inbound (larger ones only delay the VPN client, which works on a batch
 * while we read the next), or when the next frame might not fit.  Only the
 * pages a batch touches become resident. */
#define RELAY_OUT_MSGS (RELAY_BATCH + OFFLOAD_MAX_SEGS)
#define RELAY_OUT_ARENA (4u << 20)
#define RELAY_OUT_FRAME (OFFLOAD_VNET_LEN + RELAY_PKT_MAX)

typedef struct {
	guint8 *buf;              /* RELAY_BATCH slots of RELAY_SLOT bytes */
	struct mmsghdr msgs[RELAY_BATCH];
	struct iovec iov[RELAY_BATCH];
	OffloadPacket pkts[RELAY_BATCH];
	gboolean udp_gro;         /* the tun takes UDP superpackets */
} RelayIn;

typedef struct {
	guint8 *arena;
	struct mmsghdr *msgs;     /* RELAY_OUT_MSGS each */
	struct iovec *iov;
	int count, sent;          /* packets in this batch, and sent so far */
} RelayOut;

static void relay_in_init(RelayIn *r)
{
	/* Large enough to be mmap'ed by malloc: pages are only touched as
	 * packets fill them, so the resident cost follows the traffic. */
	r->buf = g_malloc(RELAY_BATCH * (gsize)RELAY_SLOT);
	for (int i = 0; i < RELAY_BATCH; i++) {
		r->iov[i].iov_base = r->buf + (gsize)i * RELAY_SLOT + RELAY_HEADROOM;
		r->iov[i].iov_len = RELAY_PKT_MAX;
		memset(&r->msgs[i], 0, sizeof(r->msgs[i]));
		r->msgs[i].msg_hdr.msg_iov = &r->iov[i];
		r->msgs[i].msg_hdr.msg_iovlen = 1;
	}
}

static void relay_out_init(RelayOut *r)
{
	r->arena = g_malloc(RELAY_OUT_ARENA);
	r->msgs = g_new0(struct mmsghdr, RELAY_OUT_MSGS);
	r->iov = g_new0(struct iovec, RELAY_OUT_MSGS);
	for (int i = 0; i < RELAY_OUT_MSGS; i++) {
		r->msgs[i].msg_hdr.msg_iov = &r->iov[i];
		r->msgs[i].msg_hdr.msg_iovlen = 1;
	}
	r->count = r->sent = 0;
}

static void relay_out_free(RelayOut *r)
{
	g_free(r->arena);
	g_free(r->msgs);
	g_free(r->iov);
}

/* Does the tun put a virtio_net_hdr before each packet?  Then it gets the
 * offloads offload.c implements. */
static gboolean relay_tun_vnet(int tunfd, gboolean *udp_gro)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	if (ioctl(tunfd, TUNGETIFF, &ifr) < 0 || !(ifr.ifr_flags & IFF_VNET_HDR))
		return FALSE;
	*udp_gro = (tun_set_offload(tunfd) & TUN_OFFLOAD_UDP) != 0;
	return TRUE;
}

void relay_block_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
}

GVariant *relay_counters_variant(const RelayCounters *c)
{
	GVariantBuilder b;

	g_variant_builder_init(&b, G_VARIANT_TYPE("a{st}"));
	g_variant_builder_add(&b, "{st}", "in-packets", c->in_packets);
	g_variant_builder_add(&b, "{st}", "in-bytes", c->in_bytes);
	g_variant_builder_add(&b, "{st}", "out-packets", c->out_packets);
	g_variant_builder_add(&b, "{st}", "out-bytes", c->out_bytes);
	g_variant_builder_add(&b, "{st}", "in-dropped", c->in_dropped);
	g_variant_builder_add(&b, "{st}", "out-dropped", c->out_dropped);
	g_variant_builder_add(&b, "{st}", "pushback", c->pushback);
	g_variant_builder_add(&b, "{st}", "in-merged", c->in_merged);
	g_variant_builder_add(&b, "{st}", "out-split", c->out_split);
	return g_variant_builder_end(&b);
}

static void relay_report(int ctlfd, const RelayCounters *c)
{
	GVariantDict d;
	g_autoptr(GBytes) msg = NULL;
	gsize len;
	const void *data;

	g_variant_dict_init(&d, NULL);
	g_variant_dict_insert_value(&d, "counters", relay_counters_variant(c));
	msg = ctl_msg_encode(CTL_OP_REPORT, g_variant_dict_end(&d));
	data = g_bytes_get_data(msg, &len);
	send(ctlfd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL); /* best effort */
}

static gboolean relay_vpn_error(int errsv)
{
	return errsv == ECONNREFUSED || errsv == EPIPE || errsv == ENOTCONN ||
	       errsv == ECONNRESET || errsv == EBADF;
}

static void relay_tun_error(gboolean *tun_gone)
{
	if (errno == EBADFD || errno == EIO)
		*tun_gone = TRUE;
}

/* Write one received batch into the tun: coalesced when the tun takes
 * superpackets, else packet by packet. */
static void relay_inbound_write(const RelayFds *fds, RelayIn *r, int n, gboolean vnet,
				RelayCounters *c, gboolean *tun_gone)
{
	int m = 0;

	for (int i = 0; i < n; i++) {
		guint8 *slot = r->buf + (gsize)i * RELAY_SLOT;
		unsigned len = r->msgs[i].msg_len;

		if (r->msgs[i].msg_hdr.msg_flags & MSG_TRUNC || len == 0) {
			c->in_dropped++;
			continue;
		}
		r->pkts[m++] = (OffloadPacket){ .frame = slot + RELAY_HEADROOM - OFFLOAD_VNET_LEN,
						.len = len, .cap = RELAY_PKT_MAX,
						.segs = 1, .wire_bytes = len };
	}
	if (vnet)
		offload_coalesce(r->pkts, m, r->udp_gro);
	for (int i = 0; i < m; i++) {
		OffloadPacket *p = &r->pkts[i];
		const guint8 *data = vnet ? p->frame : p->frame + OFFLOAD_VNET_LEN;
		gsize len = vnet ? p->len + OFFLOAD_VNET_LEN : p->len;

		if (p->merged)
			continue;
		if (write(fds->tunfd, data, len) == (ssize_t)len) {
			c->in_packets += p->segs;
			c->in_bytes += p->wire_bytes;
			if (p->segs > 1)
				c->in_merged += p->segs;
		} else {
			relay_tun_error(tun_gone);
			c->in_dropped += p->segs;
		}
	}
}

/* VPN -> tun: drain the socket in batches; @wrote: something arrived.
 * FALSE: the VPN side is gone. */
static gboolean relay_inbound(const RelayFds *fds, RelayIn *r, gboolean vnet,
			      RelayCounters *c, gboolean *wrote, gboolean *tun_gone)
{
	for (int rounds = 0; rounds < 4; rounds++) {
		int n;

		for (int i = 0; i < RELAY_BATCH; i++)
			r->msgs[i].msg_hdr.msg_flags = 0;
		n = recvmmsg(fds->vpnfd, r->msgs, RELAY_BATCH, MSG_DONTWAIT, NULL);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR || !relay_vpn_error(errno);
		*wrote = *wrote || n > 0;
		relay_inbound_write(fds, r, n, vnet, c, tun_gone);
		if (n < RELAY_BATCH)
			break;
	}
	return TRUE;
}

/* Read the tun until it is empty or the batch is full, cutting
 * superpackets into segments on the way. */
static void relay_outbound_read(const RelayFds *fds, RelayOut *r, gboolean vnet,
				RelayCounters *c, gboolean *tun_gone)
{
	gsize used = 0;

	r->count = r->sent = 0;
	while (r->count < RELAY_BATCH &&
	       used + RELAY_OUT_FRAME + OFFLOAD_SEG_SPACE <= RELAY_OUT_ARENA) {
		guint8 *frame = r->arena + used;
		ssize_t n = read(fds->tunfd, frame, RELAY_OUT_FRAME);
		gsize end = used + (gsize)MAX(n, 0);
		const char *why = NULL;
		int k;

		if (n <= 0) {
			if (n == 0)
				*tun_gone = TRUE;
			else
				relay_tun_error(tun_gone);
			break;
		}
		if (!vnet) {
			r->iov[r->count].iov_base = frame;
			r->iov[r->count].iov_len = (size_t)n;
			k = 1;
		} else {
			gsize cut_at = (end + 7) & ~(gsize)7; /* the segments go after the frame */

			k = offload_segment(frame, (gsize)n, r->arena + cut_at, RELAY_OUT_ARENA - cut_at,
					    r->iov + r->count, RELAY_OUT_MSGS - r->count, &why);
			if (k < 0) {
				g_debug("relay: dropped a packet from the sandbox: %s", why);
				c->out_dropped++;
				continue;
			}
			if (((struct virtio_net_hdr *)frame)->gso_type != VIRTIO_NET_HDR_GSO_NONE)
				c->out_split++;
			end = MAX(end, (gsize)((guint8 *)r->iov[r->count + k - 1].iov_base +
					       r->iov[r->count + k - 1].iov_len - r->arena));
		}
		r->count += k;
		used = (end + 7) & ~(gsize)7;
	}
}

/* tun -> VPN: read a batch from the tun unless packets are still waiting
 * for room in the socket, then send what is pending. */
static gboolean relay_outbound(const RelayFds *fds, RelayOut *r, gboolean vnet,
			       RelayCounters *c, gboolean *tun_gone)
{
	if (r->sent == r->count)
		relay_outbound_read(fds, r, vnet, c, tun_gone);
	while (r->sent < r->count) {
		int n = sendmmsg(fds->vpnfd, r->msgs + r->sent, (unsigned)(r->count - r->sent),
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0 && (errno == EAGAIN || errno == ENOBUFS)) {
			c->pushback++;
			break; /* wait for POLLOUT */
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && relay_vpn_error(errno))
			return FALSE;
		if (n < 0) { /* EMSGSIZE and the like: this packet only */
			c->out_dropped++;
			n = 1;
		} else {
			for (int i = 0; i < n; i++) {
				c->out_packets++;
				c->out_bytes += r->iov[r->sent + i].iov_len;
			}
		}
		r->sent += n;
	}
	return TRUE;
}

/* What the relay waits for, in one epoll set (level-triggered, like
 * poll(), but without re-registering five fds on every wakeup: the relay
 * wakes for nearly every packet a busy VPN sends). */
enum { W_SIG, W_PID, W_CTL, W_VPN, W_TUN, W_N };

static void relay_watch(int epfd, int op, int fd, int tag, guint32 events)
{
	struct epoll_event ev = { .events = events, .data.u32 = (guint32)tag };

	if (fd >= 0)
		epoll_ctl(epfd, op, fd, &ev);
}

/* While packets wait for room in the VPN socket, wait for POLLOUT there
 * and stop reading the tun (backpressure); else read both. */
static void relay_watch_pushback(int epfd, const RelayFds *fds, gboolean waiting)
{
	relay_watch(epfd, EPOLL_CTL_MOD, fds->vpnfd, W_VPN, EPOLLIN | (waiting ? EPOLLOUT : 0));
	relay_watch(epfd, EPOLL_CTL_MOD, fds->tunfd, W_TUN, waiting ? 0 : EPOLLIN);
}

/* The holder's connection: readable means it died (it sends us nothing).
 * Returns TRUE when the relay must end. */
static gboolean relay_holder_gone(int ctlfd)
{
	char drain[256];

	/* The sandbox is orphaned, and `vpnns stop` could no longer end us:
	 * end the VPN session instead of carrying it into namespaces nobody
	 * manages. */
	if (recv(ctlfd, drain, sizeof(drain), MSG_DONTWAIT) > 0)
		return FALSE;
	g_message("the sandbox's holder went away; ending the relay");
	return TRUE;
}

/* Move packets until something ends the relay. */
static RelayEnd relay_loop(const RelayFds *fds, int sigfd, RelayIn *in, RelayOut *out,
			   gboolean vnet, RelayCounters *c, GError **error)
{
	RelayCounters reported = { 0 };
	gint64 next_report = vpnns_now_ms() + RELAY_REPORT_MS;
	gboolean tun_gone = FALSE, was_waiting = FALSE;
	vpnns_autofd int epfd = epoll_create1(EPOLL_CLOEXEC);

	if (epfd < 0) {
		vpnns_set_errno(error, errno, "epoll_create1");
		return RELAY_END_ERROR;
	}
	relay_watch(epfd, EPOLL_CTL_ADD, sigfd, W_SIG, EPOLLIN);
	relay_watch(epfd, EPOLL_CTL_ADD, fds->pidfd, W_PID, EPOLLIN);
	relay_watch(epfd, EPOLL_CTL_ADD, fds->ctlfd, W_CTL, EPOLLIN);
	relay_watch(epfd, EPOLL_CTL_ADD, fds->vpnfd, W_VPN, EPOLLIN);
	relay_watch(epfd, EPOLL_CTL_ADD, fds->tunfd, W_TUN, EPOLLIN);
	for (;;) {
		gboolean waiting = out->sent < out->count, wrote = FALSE;
		struct epoll_event evs[W_N];
		guint32 rev[W_N] = { 0 };
		int timeout = fds->ctlfd >= 0 ? (int)MAX(0, next_report - vpnns_now_ms()) : -1;
		int n;

		if (waiting != was_waiting)
			relay_watch_pushback(epfd, fds, waiting);
		was_waiting = waiting;
		n = epoll_wait(epfd, evs, W_N, timeout);
		if (n < 0 && errno != EINTR) {
			vpnns_set_errno(error, errno, "epoll_wait");
			return RELAY_END_ERROR;
		}
		for (int i = 0; i < n; i++)
			rev[evs[i].data.u32] = evs[i].events;
		if (rev[W_SIG])
			return RELAY_END_SIGNAL;
		if (rev[W_PID] || rev[W_VPN] & (EPOLLERR | EPOLLHUP))
			return RELAY_END_VPN_GONE;
		if (rev[W_CTL] && relay_holder_gone(fds->ctlfd))
			return RELAY_END_TUN_GONE;
		if (rev[W_VPN] & EPOLLIN && !relay_inbound(fds, in, vnet, c, &wrote, &tun_gone))
			return RELAY_END_VPN_GONE;
		/* What was just written (ACKs, most often) tends to make the
		 * sandbox send at once: read the tun without waiting again. */
		if ((rev[W_TUN] & EPOLLIN || rev[W_VPN] & EPOLLOUT || (wrote && !waiting)) &&
		    !relay_outbound(fds, out, vnet, c, &tun_gone))
			return RELAY_END_VPN_GONE;
		if (tun_gone || rev[W_TUN] & (EPOLLERR | EPOLLHUP))
			return RELAY_END_TUN_GONE;
		if (fds->ctlfd >= 0 && vpnns_now_ms() >= next_report) {
			if (memcmp(&reported, c, sizeof(*c)) != 0)
				relay_report(fds->ctlfd, c);
			reported = *c;
			next_report = vpnns_now_ms() + RELAY_REPORT_MS;
		}
	}
}

RelayEnd relay_run(const RelayFds *fds, RelayCounters *c, GError **error)
{
	g_autofree RelayIn *in = g_new0(RelayIn, 1);
	RelayOut out;
	gboolean vnet;
	int sigfd, sndbuf = relay_vpn_sndbuf(fds->mtu);
	RelayEnd end;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sigfd < 0) {
		vpnns_set_errno(error, errno, "signalfd");
		return RELAY_END_ERROR;
	}
	relay_in_init(in);
	relay_out_init(&out);
	vnet = relay_tun_vnet(fds->tunfd, &in->udp_gro);
	/* Room for a batch, not more (see relay_vpn_sndbuf()) */
	setsockopt(fds->vpnfd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	g_unix_set_fd_nonblocking(fds->vpnfd, TRUE, NULL);
	g_unix_set_fd_nonblocking(fds->tunfd, TRUE, NULL);

	end = relay_loop(fds, sigfd, in, &out, vnet, c, error);
	if (fds->ctlfd >= 0)
		relay_report(fds->ctlfd, c);
	g_free(in->buf);
	relay_out_free(&out);
	close(sigfd);
	return end;
}
