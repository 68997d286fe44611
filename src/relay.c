/* relay.c - the packet relay between a VPN client's socket and the sandbox's tun
 *
 * openconnect --script-tun hands its packets over an AF_UNIX datagram
 * socket (one datagram per IP packet).  The relay moves them to and from a
 * tun device that the holder created inside the sandbox:
 *
 *   VPN socket --recvmmsg(64)--> write() each --> tun     (inbound)
 *   tun --read() up to 64--> sendmmsg --> VPN socket      (outbound)
 *
 * Every buffer holds 64 KiB, the largest IP packet, so no MTU truncates
 * (the classic relay's 2048-byte buffer did).  Both fds are nonblocking and
 * everything waits in one poll(): when the VPN socket is full the relay
 * stops reading the tun until it drains (POLLOUT) - backpressure, not
 * drops.  A datagram socket's peer closing gives no EOF, so the VPN
 * client's death is watched through a pidfd, and send errors count too.
 */
#include "relay.h"
#include "ctl.h"
#include "fdpass.h"
#include "util.h"

#include <glib-unix.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define RELAY_BATCH 64
#define RELAY_PKT_MAX 65536
#define RELAY_REPORT_MS 1000

typedef struct {
	guint8 *buf;              /* RELAY_BATCH slots of RELAY_PKT_MAX bytes */
	struct mmsghdr msgs[RELAY_BATCH];
	struct iovec iov[RELAY_BATCH];
} RelayRing;

static void relay_ring_init(RelayRing *r)
{
	/* Large enough to be mmap'ed by malloc: pages are only touched as
	 * packets fill them, so the resident cost follows the MTU in use. */
	r->buf = g_malloc(RELAY_BATCH * (gsize)RELAY_PKT_MAX);
	for (int i = 0; i < RELAY_BATCH; i++) {
		r->iov[i].iov_base = r->buf + (gsize)i * RELAY_PKT_MAX;
		r->iov[i].iov_len = RELAY_PKT_MAX;
		memset(&r->msgs[i], 0, sizeof(r->msgs[i]));
		r->msgs[i].msg_hdr.msg_iov = &r->iov[i];
		r->msgs[i].msg_hdr.msg_iovlen = 1;
	}
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

/* VPN -> tun: drain the socket in batches.  FALSE: the VPN side is gone. */
static gboolean relay_inbound(const RelayFds *fds, RelayRing *r, RelayCounters *c,
			      gboolean *tun_gone)
{
	for (int rounds = 0; rounds < 4; rounds++) {
		int n;

		for (int i = 0; i < RELAY_BATCH; i++)
			r->msgs[i].msg_hdr.msg_flags = 0;
		n = recvmmsg(fds->vpnfd, r->msgs, RELAY_BATCH, MSG_DONTWAIT, NULL);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR || !relay_vpn_error(errno);
		for (int i = 0; i < n; i++) {
			unsigned len = r->msgs[i].msg_len;

			if (r->msgs[i].msg_hdr.msg_flags & MSG_TRUNC || len == 0) {
				c->in_dropped++;
				continue;
			}
			if (write(fds->tunfd, r->iov[i].iov_base, len) == (ssize_t)len) {
				c->in_packets++;
				c->in_bytes += len;
			} else {
				if (errno == EBADFD || errno == EIO)
					*tun_gone = TRUE;
				c->in_dropped++;
			}
		}
		if (n < RELAY_BATCH)
			break;
	}
	return TRUE;
}

/* tun -> VPN: read a batch from the tun unless packets are still waiting
 * for room in the socket, then send what is pending. */
typedef struct {
	int count, sent;
} RelayPending;

static gboolean relay_outbound(const RelayFds *fds, RelayRing *r, RelayPending *p,
			       RelayCounters *c, gboolean *tun_gone)
{
	if (p->sent == p->count) {
		p->count = p->sent = 0;
		while (p->count < RELAY_BATCH) {
			ssize_t n = read(fds->tunfd, r->iov[p->count].iov_base, RELAY_PKT_MAX);

			if (n < 0) {
				if (errno == EBADFD || errno == EIO)
					*tun_gone = TRUE;
				break;
			}
			if (n == 0) {
				*tun_gone = TRUE;
				break;
			}
			r->msgs[p->count].msg_hdr.msg_iov->iov_len = (size_t)n;
			p->count++;
		}
	}
	while (p->sent < p->count) {
		int n = sendmmsg(fds->vpnfd, r->msgs + p->sent, (unsigned)(p->count - p->sent),
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
				c->out_bytes += r->msgs[p->sent + i].msg_hdr.msg_iov->iov_len;
			}
		}
		p->sent += n;
	}
	if (p->sent == p->count) {
		/* restore full-size buffers for the next read */
		for (int i = 0; i < p->count; i++)
			r->iov[i].iov_len = RELAY_PKT_MAX;
	}
	return TRUE;
}

RelayEnd relay_run(const RelayFds *fds, RelayCounters *c, GError **error)
{
	enum { P_SIG, P_PID, P_CTL, P_VPN, P_TUN, P_N };
	g_autofree RelayRing *in = g_new0(RelayRing, 1);
	g_autofree RelayRing *out = g_new0(RelayRing, 1);
	RelayPending pending = { 0 };
	RelayCounters reported = { 0 };
	struct pollfd pfd[P_N];
	gint64 next_report = vpnns_now_ms() + RELAY_REPORT_MS;
	gboolean tun_gone = FALSE;
	int ctlfd = fds->ctlfd;
	int sigfd, sndbuf = 4 << 20;
	RelayEnd end = RELAY_END_ERROR;
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
	relay_ring_init(in);
	relay_ring_init(out);
	/* More room in the socket means fewer stalls at high rates; the kernel
	 * caps it at net.core.wmem_max. */
	setsockopt(fds->vpnfd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	g_unix_set_fd_nonblocking(fds->vpnfd, TRUE, NULL);
	g_unix_set_fd_nonblocking(fds->tunfd, TRUE, NULL);

	for (;;) {
		gboolean waiting = pending.sent < pending.count;
		gint64 now;
		int timeout, ret;

		pfd[P_SIG] = (struct pollfd){ .fd = sigfd, .events = POLLIN };
		pfd[P_PID] = (struct pollfd){ .fd = fds->pidfd, .events = POLLIN };
		pfd[P_CTL] = (struct pollfd){ .fd = ctlfd, .events = POLLIN };
		pfd[P_VPN] = (struct pollfd){ .fd = fds->vpnfd,
					      .events = POLLIN | (waiting ? POLLOUT : 0) };
		pfd[P_TUN] = (struct pollfd){ .fd = fds->tunfd, .events = waiting ? 0 : POLLIN };
		now = vpnns_now_ms();
		timeout = ctlfd >= 0 ? (int)MAX(0, next_report - now) : -1;
		ret = poll(pfd, P_N, timeout);
		if (ret < 0 && errno != EINTR) {
			vpnns_set_errno(error, errno, "poll");
			break;
		}
		if (ret > 0 && pfd[P_SIG].revents) {
			end = RELAY_END_SIGNAL;
			break;
		}
		if (ret > 0 && pfd[P_PID].revents) {
			end = RELAY_END_VPN_GONE;
			break;
		}
		if (ret > 0 && pfd[P_VPN].revents & (POLLERR | POLLHUP | POLLNVAL)) {
			end = RELAY_END_VPN_GONE;
			break;
		}
		if (ret > 0 && pfd[P_CTL].revents) {
			char drain[256];

			/* The holder died: the sandbox is orphaned, and `vpnns stop`
			 * could no longer end us.  End the VPN session instead of
			 * carrying it into namespaces nobody manages. */
			if (recv(ctlfd, drain, sizeof(drain), MSG_DONTWAIT) <= 0) {
				end = RELAY_END_TUN_GONE;
				g_message("the sandbox's holder went away; ending the relay");
				break;
			}
		}
		if (ret > 0 && pfd[P_VPN].revents & POLLIN && !relay_inbound(fds, in, c, &tun_gone)) {
			end = RELAY_END_VPN_GONE;
			break;
		}
		if (ret > 0 && (pfd[P_TUN].revents & POLLIN || pfd[P_VPN].revents & POLLOUT) &&
		    !relay_outbound(fds, out, &pending, c, &tun_gone)) {
			end = RELAY_END_VPN_GONE;
			break;
		}
		if (tun_gone || (ret > 0 && pfd[P_TUN].revents & (POLLERR | POLLHUP | POLLNVAL))) {
			end = RELAY_END_TUN_GONE;
			break;
		}
		if (ctlfd >= 0 && vpnns_now_ms() >= next_report) {
			if (memcmp(&reported, c, sizeof(*c)) != 0)
				relay_report(ctlfd, c);
			reported = *c;
			next_report = vpnns_now_ms() + RELAY_REPORT_MS;
		}
	}
	if (ctlfd >= 0)
		relay_report(ctlfd, c);
	g_free(in->buf);
	g_free(out->buf);
	close(sigfd);
	return end;
}
