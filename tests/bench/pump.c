/*
 * tests/bench/pump.c - a no-crypto packet pump for `--script-tun` relays.
 *
 * It plays openconnect's side of `openconnect --script-tun --script CMD`:
 * an AF_UNIX SOCK_DGRAM socketpair whose far end is handed to the relay in
 * $VPNFD (one datagram = one raw IPv4 packet, no header), plus the
 * INTERNAL_IP4_* variables openconnect sets.  Then it measures how fast the
 * relay moves packets, with no VPN and no crypto in the way:
 *
 *   pump drive --size BYTES --seconds S --inside "INSIDE" [options] -- RELAY...
 *       Start the relay (/bin/sh -c, own process group), wait until an ICMP
 *       echo round trip goes through it, then
 *       inbound:  write IPv4/UDP packets of BYTES to 192.0.2.2 port 9 into
 *                 VPNFD for S seconds (sendmmsg, nonblocking, poll on POLLOUT)
 *                 and count what the kernel inside the sandbox accepted
 *                 (`INSIDE cat /proc/net/dev /proc/net/snmp ...` before and
 *                 after: the UDP NoPorts counter counts the skbs that reached
 *                 UDP intact, the tun's rx counters what the relay wrote;
 *                 a relay that joins datagrams into UDP superpackets (GRO)
 *                 makes one skb of many, so datagrams are counted from the
 *                 tun's bytes)
 *       outbound: run `INSIDE PUMP flood ...` inside the sandbox and count the
 *                 packets of BYTES that arrive on VPNFD intact; the flood
 *                 sends with UDP_SEGMENT (GSO), up to 64 datagrams a call,
 *                 as QUIC stacks (Firefox's, quic-go, quinn) do, unless
 *                 --no-gso
 *       and end the relay with SIGHUP to its process group (SIGKILL after 3 s).
 *       Results are printed as `key=value` lines on stdout.
 *
 *   pump flood --dest ADDR --size BYTES --seconds S [--window W] [--nice N] [--gso]
 *       UDP flood (sendmmsg; with --gso, UDP_SEGMENT) to ADDR port 9, IP
 *       packets of exactly BYTES, each carrying a sequence number.  Runs inside the sandbox; prints
 *       `sent=N secs=T errors=E stalls=N mode=closed|open`.
 *
 * Why the flood is closed-loop: a tun gives its sender no backpressure (it
 * drops when its ring of txqueuelen packets is full), so an open-loop flood
 * burns a CPU making packets the tun throws away, and on 2 CPUs the figure
 * then depends on who the scheduler favours.  So the pump writes, on the
 * flood's stdin, the next sequence number it awaits, and the flood keeps at
 * most W packets (default 256, at most 4 MiB) in flight, like a TCP sender's
 * window; packets lost on the way are written off after 20 ms without
 * progress.  Loss then is what the relay itself dropped (e.g. on EAGAIN
 * writing to VPNFD).  `--open-loop` gives the plain flood.
 *
 * The traffic never leaves the sandbox: 192.0.2.0/24 (TEST-NET-1) exists only
 * on the sandbox's tun, and the other end is this process's socketpair.
 *
 * Build: cc -O2 -o pump pump.c   (C11, libc only)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/sockios.h>

#define BATCH      64
#define GSO_MAX    64                 /* datagrams in one UDP_SEGMENT send */
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef SOL_UDP
#define SOL_UDP 17
#endif
#define MAX_PKT    65535
#define SLOT       (MAX_PKT + 1)
#define MIN_SIZE   (20 + 8 + 16)      /* IPv4 + UDP + a little payload */
#define PEER_ADDR  "192.0.2.1"        /* the "VPN side" */
#define LOCAL_ADDR "192.0.2.2"        /* INTERNAL_IP4_ADDRESS, the sandbox */
#define DISCARD    9
#define SPORT      40009
#define ECHO_ID    0x7075             /* "pu" */

static const char *prog = "pump";

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static void warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void warnx(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (time_t)s) * 1e9) };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int ms_until(double deadline, int cap)
{
	double left = deadline - now();
	if (left <= 0)
		return 0;
	int ms = (int)(left * 1000) + 1;
	return ms > cap ? cap : ms;
}

static long parse_long(const char *s, const char *what, long lo, long hi)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		die("bad %s '%s' (want %ld..%ld)", what, s, lo, hi);
	return v;
}

static double parse_double(const char *s, const char *what)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !(v > 0) || v > 3600)
		die("bad %s '%s'", what, s);
	return v;
}

/* ---- packets ---------------------------------------------------------- */

static uint32_t csum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;
	while (len > 1) {
		sum += (uint32_t)p[0] << 8 | p[1];
		p += 2;
		len -= 2;
	}
	if (len)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = v & 0xff; }
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

/* The payload both directions carry, so the receiver can check it intact. */
static void fill_pattern(uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 131 + (i >> 8) * 7 + 17);
}

static void ip_header(uint8_t *p, size_t total, uint8_t proto,
		      struct in_addr src, struct in_addr dst, uint16_t id)
{
	memset(p, 0, 20);
	p[0] = 0x45;
	put16(p + 2, (uint16_t)total);
	put16(p + 4, id);
	put16(p + 6, 0x4000);            /* DF */
	p[8] = 64;
	p[9] = proto;
	memcpy(p + 12, &src, 4);
	memcpy(p + 16, &dst, 4);
	put16(p + 10, csum_fold(csum_add(0, p, 20)));
}

/* An IPv4/UDP packet of exactly `total` bytes, with valid IP and UDP
 * checksums (so the receiving kernel verifies the payload too). */
static void build_udp(uint8_t *p, size_t total, struct in_addr src,
		      struct in_addr dst, uint16_t sport, uint16_t dport)
{
	size_t ulen = total - 20;
	ip_header(p, total, IPPROTO_UDP, src, dst, 1);
	uint8_t *u = p + 20;
	put16(u, sport);
	put16(u + 2, dport);
	put16(u + 4, (uint16_t)ulen);
	put16(u + 6, 0);
	fill_pattern(u + 8, ulen - 8);
	uint8_t pseudo[12];
	memcpy(pseudo, &src, 4);
	memcpy(pseudo + 4, &dst, 4);
	pseudo[8] = 0;
	pseudo[9] = IPPROTO_UDP;
	put16(pseudo + 10, (uint16_t)ulen);
	uint16_t c = csum_fold(csum_add(csum_add(0, pseudo, 12), u, ulen));
	put16(u + 6, c ? c : 0xffff);
}

static size_t build_echo(uint8_t *p, struct in_addr src, struct in_addr dst,
			 uint16_t seq)
{
	size_t total = 20 + 8 + 56;
	ip_header(p, total, IPPROTO_ICMP, src, dst, seq);
	uint8_t *ic = p + 20;
	memset(ic, 0, 8);
	ic[0] = 8;                       /* echo request */
	put16(ic + 4, ECHO_ID);
	put16(ic + 6, seq);
	fill_pattern(ic + 8, 56);
	put16(ic + 2, csum_fold(csum_add(0, ic, 8 + 56)));
	return total;
}

static bool is_echo_reply(const uint8_t *p, size_t len, struct in_addr from)
{
	if (len < 28 || p[0] >> 4 != 4 || p[9] != IPPROTO_ICMP)
		return false;
	size_t ihl = (size_t)(p[0] & 15) * 4;
	if (len < ihl + 8 || memcmp(p + 12, &from, 4) != 0)
		return false;
	return p[ihl] == 0 && get16(p + ihl + 4) == ECHO_ID;
}

/* ---- child processes -------------------------------------------------- */

static char *shell_quote(const char *s)
{
	size_t n = 3;
	for (const char *c = s; *c; c++)
		n += *c == '\'' ? 4 : 1;
	char *q = malloc(n), *o = q;
	if (!q)
		die("out of memory");
	*o++ = '\'';
	for (const char *c = s; *c; c++) {
		if (*c == '\'') {
			memcpy(o, "'\\''", 4);
			o += 4;
		} else {
			*o++ = *c;
		}
	}
	*o++ = '\'';
	*o = 0;
	return q;
}

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		die("out of memory");
	va_end(ap);
	return s;
}

/* Run `/bin/sh -c cmd` in its own process group, stdout into a pipe
 * (*out_fd), stdin from a pipe (*in_fd, nonblocking) or /dev/null. */
static pid_t spawn_sh(const char *cmd, int *out_fd, int *in_fd)
{
	int pfd[2], ifd[2] = { -1, -1 };
	if (pipe2(pfd, O_CLOEXEC) < 0 || (in_fd && pipe2(ifd, O_CLOEXEC) < 0))
		die("pipe: %s", strerror(errno));
	pid_t pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		setpgid(0, 0);
		int in = in_fd ? ifd[0] : open("/dev/null", O_RDONLY);
		if (in >= 0)
			dup2(in, 0);
		dup2(pfd[1], 1);
		signal(SIGPIPE, SIG_DFL);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	setpgid(pid, pid);
	close(pfd[1]);
	*out_fd = pfd[0];
	if (in_fd) {
		close(ifd[0]);
		fcntl(ifd[1], F_SETFL, O_NONBLOCK);
		*in_fd = ifd[1];
	}
	return pid;
}

/* Wait for pid up to `secs`; returns true (and *status) once it exited. */
static bool wait_for(pid_t pid, double secs, int *status)
{
	double end = now() + secs;
	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);
		if (r == pid || (r < 0 && errno == ECHILD))
			return true;
		if (now() >= end)
			return false;
		sleep_s(0.01);
	}
}

/* Run a shell command, collect its stdout (up to cap-1 bytes), kill its
 * process group after `secs`.  Returns the exit status, -1 on timeout. */
static int run_capture(const char *cmd, char *buf, size_t cap, double secs)
{
	int fd;
	pid_t pid = spawn_sh(cmd, &fd, NULL);
	size_t len = 0;
	double end = now() + secs;
	bool timed_out = false;
	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		int ms = ms_until(end, 1000);
		if (ms == 0) {
			timed_out = true;
			break;
		}
		int r = poll(&p, 1, ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			continue;
		char tmp[4096];
		ssize_t n = read(fd, tmp, sizeof tmp);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		size_t take = (size_t)n;
		if (len + take > cap - 1)
			take = cap - 1 - len;
		memcpy(buf + len, tmp, take);
		len += take;
	}
	buf[len] = 0;
	close(fd);
	int st = 0;
	if (timed_out) {
		kill(-pid, SIGKILL);
		waitpid(pid, &st, 0);
		return -1;
	}
	if (!wait_for(pid, 3, &st)) {
		kill(-pid, SIGKILL);
		waitpid(pid, &st, 0);
		return -1;
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* ---- counters inside the sandbox -------------------------------------- */

struct counters {
	bool ok;
	char ifname[32];
	uint64_t rx_bytes, rx_packets, rx_dropped;
	uint64_t tx_bytes, tx_packets, tx_dropped;
	uint64_t udp_in, udp_noports, udp_csum, ip_truncated, ip_hdrerr;
};

/* "Proto: Name1 Name2 ...\nProto: v1 v2 ...": the value of Proto:Name. */
static bool snmp_value(const char *text, const char *proto, const char *name,
		       uint64_t *out)
{
	size_t plen = strlen(proto);
	const char *line = text;
	while (line && *line) {
		const char *next = strchr(line, '\n');
		if (strncmp(line, proto, plen) == 0 && line[plen] == ':' && next &&
		    strncmp(next + 1, proto, plen) == 0 && next[1 + plen] == ':') {
			/* header line `line`, values line `next + 1` */
			const char *h = line + plen + 1, *v = next + 1 + plen + 1;
			for (;;) {
				while (*h == ' ') h++;
				while (*v == ' ') v++;
				if (*h == '\n' || !*h || *v == '\n' || !*v)
					break;
				size_t hl = strcspn(h, " \n");
				if (hl == strlen(name) && strncmp(h, name, hl) == 0) {
					*out = strtoull(v, NULL, 10);
					return true;
				}
				h += hl;
				v += strcspn(v, " \n");
			}
			return false;
		}
		line = next ? next + 1 : NULL;
	}
	return false;
}

static void parse_counters(const char *text, const char *want_if,
			   struct counters *c)
{
	memset(c, 0, sizeof *c);
	const char *line = text;
	while (line && *line) {
		const char *next = strchr(line, '\n');
		const char *colon = strchr(line, ':');
		if (colon && (!next || colon < next) && !strstr(line, "|")) {
			const char *n = line;
			while (*n == ' ')
				n++;
			size_t nl = (size_t)(colon - n);
			bool is_dev = nl > 0 && nl < sizeof c->ifname &&
				      !memchr(n, ' ', nl);
			/* /proc/net/dev lines: "  name: 16 numbers" */
			uint64_t v[16];
			int got = 0;
			if (is_dev) {
				const char *s = colon + 1;
				char *end;
				for (got = 0; got < 16; got++) {
					v[got] = strtoull(s, &end, 10);
					if (end == s)
						break;
					s = end;
				}
			}
			if (is_dev && got == 16 && !c->ok &&
			    (want_if ? (strlen(want_if) == nl && !strncmp(n, want_if, nl))
				     : !(nl == 2 && !strncmp(n, "lo", 2)))) {
				c->ok = true;
				memcpy(c->ifname, n, nl);
				c->ifname[nl] = 0;
				c->rx_bytes = v[0];
				c->rx_packets = v[1];
				c->rx_dropped = v[3];
				c->tx_bytes = v[8];
				c->tx_packets = v[9];
				c->tx_dropped = v[11];
			}
		}
		line = next ? next + 1 : NULL;
	}
	snmp_value(text, "Udp", "InDatagrams", &c->udp_in);
	snmp_value(text, "Udp", "NoPorts", &c->udp_noports);
	snmp_value(text, "Udp", "InCsumErrors", &c->udp_csum);
	snmp_value(text, "Ip", "InHdrErrors", &c->ip_hdrerr);
	snmp_value(text, "IpExt", "InTruncatedPkts", &c->ip_truncated);
}

static const char *g_inside;
static const char *g_ifname;

static bool read_counters(struct counters *c)
{
	static char buf[1 << 16];
	char *cmd = xasprintf("%s cat /proc/net/dev /proc/net/snmp /proc/net/netstat",
			      g_inside);
	int st = run_capture(cmd, buf, sizeof buf, 10);
	free(cmd);
	if (st != 0) {
		warnx("reading counters inside the sandbox failed (%s)",
		      st < 0 ? "timeout" : "exit status");
		memset(c, 0, sizeof *c);
		return false;
	}
	parse_counters(buf, g_ifname, c);
	if (!c->ok)
		warnx("no tunnel interface inside the sandbox");
	return c->ok;
}

/* ---- the relay -------------------------------------------------------- */

static volatile sig_atomic_t g_relay_pgid, g_flood_pgid;

static void stop_group(pid_t pgid, int *how)
{
	/* as openconnect does: SIGHUP to the script's process group */
	kill(-pgid, SIGHUP);
	int st;
	if (wait_for(pgid, 3, &st)) {
		*how = 0;
	} else {
		kill(-pgid, SIGKILL);
		waitpid(pgid, &st, 0);
		*how = 1;
	}
	/* the group may outlive the shell: make sure nothing of it is left */
	for (int i = 0; i < 100 && kill(-pgid, 0) == 0; i++) {
		if (i == 50)
			kill(-pgid, SIGKILL);   /* (or zombies init has yet to reap) */
		sleep_s(0.01);
	}
}

static void on_signal(int sig)
{
	if (g_flood_pgid > 0)
		kill(-(pid_t)g_flood_pgid, SIGKILL);
	if (g_relay_pgid > 0) {
		int how;
		stop_group((pid_t)g_relay_pgid, &how);
	}
	_exit(128 + sig);
}

static pid_t start_relay(const char *cmd, int child_fd, int mtu,
			 const char *log)
{
	int logfd = -1;
	if (log) {
		logfd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (logfd < 0)
			die("%s: %s", log, strerror(errno));
	}
	pid_t pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		setpgid(0, 0);
		int null = open("/dev/null", O_RDONLY);
		if (null >= 0) {
			dup2(null, 0);
			if (null > 2)
				close(null);
		}
		if (logfd >= 0) {
			dup2(logfd, 1);
			dup2(logfd, 2);
		}
		/* the child's end, inherited across exec */
		if (fcntl(child_fd, F_SETFD, 0) < 0)
			_exit(127);
		char buf[32];
		snprintf(buf, sizeof buf, "%d", child_fd);
		setenv("VPNFD", buf, 1);
		snprintf(buf, sizeof buf, "%d", (int)getppid());
		setenv("VPNPID", buf, 1);
		snprintf(buf, sizeof buf, "%d", mtu);
		setenv("INTERNAL_IP4_MTU", buf, 1);
		setenv("INTERNAL_IP4_ADDRESS", LOCAL_ADDR, 1);
		setenv("INTERNAL_IP4_NETMASK", "255.255.255.0", 1);
		setenv("INTERNAL_IP4_NETMASKLEN", "24", 1);
		setenv("INTERNAL_IP4_NETADDR", "192.0.2.0", 1);
		setenv("INTERNAL_IP4_DNS", "192.0.2.53", 1);
		setenv("CISCO_DEF_DOMAIN", "bench.test", 1);
		/* openconnect always sets it: the VPN server's own address;
		 * a documentation address (TEST-NET-2), nothing is sent to it */
		setenv("VPNGATEWAY", "198.51.100.1", 1);
		setenv("LOG_LEVEL", "1", 1);
		unsetenv("reason");
		unsetenv("TUNDEV");
		signal(SIGPIPE, SIG_DFL);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	setpgid(pid, pid);
	g_relay_pgid = pid;
	if (logfd >= 0)
		close(logfd);
	return pid;
}

/* ---- receive side ----------------------------------------------------- */

struct rx {
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	uint8_t *bufs;
};

static void rx_init(struct rx *r)
{
	r->bufs = malloc((size_t)BATCH * SLOT);
	if (!r->bufs)
		die("out of memory");
	for (int i = 0; i < BATCH; i++) {
		r->iov[i].iov_base = r->bufs + (size_t)i * SLOT;
		r->iov[i].iov_len = SLOT;
		memset(&r->msgs[i], 0, sizeof r->msgs[i]);
		r->msgs[i].msg_hdr.msg_iov = &r->iov[i];
		r->msgs[i].msg_hdr.msg_iovlen = 1;
	}
}

/* One nonblocking recvmmsg; returns the count (0 if nothing), -1 on error. */
static int rx_batch(int fd, struct rx *r)
{
	for (int i = 0; i < BATCH; i++)
		r->msgs[i].msg_hdr.msg_flags = 0;
	int n = recvmmsg(fd, r->msgs, BATCH, MSG_DONTWAIT, NULL);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	return n;
}

/* ---- drive ------------------------------------------------------------ */

static void usage(void)
{
	fprintf(stderr,
		"usage: pump drive --size BYTES --seconds S --inside CMD [--ifname IF]\n"
		"                  [--relay-log FILE] [--ready-timeout S] [--sndbuf BYTES]\n"
		"                  [--flood-nice N] [--open-loop] [--no-gso] [--show-config]\n"
		"                  [--skip-in] [--skip-out] -- RELAY_CMD...\n"
		"       pump flood --dest ADDR --size BYTES --seconds S [--window W] [--nice N] [--gso]\n");
	exit(2);
}

static double ratio_loss(uint64_t sent, uint64_t got)
{
	if (!sent)
		return 1.0;
	return got >= sent ? 0.0 : (double)(sent - got) / (double)sent;
}

struct drive_opts {
	long size;
	double seconds, ready_timeout;
	const char *relay_log;
	long sndbuf;
	int flood_nice;
	bool show_config, skip_in, skip_out, open_loop, no_gso;
};

static void print_config(void)
{
	static char buf[1 << 14];
	char *cmd = xasprintf("%s sh -c 'ip -o -4 addr show; ip -o link show;"
			      " ip -4 route show; cat /etc/resolv.conf' 2>&1",
			      g_inside);
	int st = run_capture(cmd, buf, sizeof buf, 10);
	free(cmd);
	if (st < 0)
		return;
	for (char *l = strtok(buf, "\n"); l; l = strtok(NULL, "\n"))
		printf("config %s\n", l);
	fflush(stdout);
}

/* Wait for an echo reply coming back through the relay. */
static double wait_ready(int fd, pid_t relay, double timeout)
{
	struct in_addr peer, local;
	inet_pton(AF_INET, PEER_ADDR, &peer);
	inet_pton(AF_INET, LOCAL_ADDR, &local);
	uint8_t req[128];
	static struct rx r;
	if (!r.bufs)
		rx_init(&r);
	double t0 = now(), end = t0 + timeout, next = t0;
	uint16_t seq = 0;
	for (;;) {
		double t = now();
		if (t >= end)
			return -1;
		int st;
		if (waitpid(relay, &st, WNOHANG) == relay) {
			g_relay_pgid = 0;
			warnx("relay exited before it was ready (%s %d)",
			      WIFEXITED(st) ? "status" : "signal",
			      WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
			return -2;
		}
		if (t >= next) {
			size_t len = build_echo(req, peer, local, ++seq);
			if (send(fd, req, len, MSG_DONTWAIT) < 0 &&
			    errno != EAGAIN && errno != ENOBUFS) {
				warnx("send to relay: %s", strerror(errno));
				return -2;
			}
			next = t + 0.05;
		}
		struct pollfd p = { fd, POLLIN, 0 };
		poll(&p, 1, ms_until(next < end ? next : end, 50));
		int n;
		while ((n = rx_batch(fd, &r)) > 0)
			for (int i = 0; i < n; i++)
				if (is_echo_reply(r.iov[i].iov_base, r.msgs[i].msg_len, local))
					return now() - t0;
	}
}

static int drive(int argc, char **argv)
{
	struct drive_opts o = { .size = 0, .seconds = 3, .ready_timeout = 10,
				.flood_nice = 0 };
	static const struct option lo[] = {
		{ "size", 1, NULL, 's' },    { "seconds", 1, NULL, 't' },
		{ "inside", 1, NULL, 'i' },  { "ifname", 1, NULL, 'I' },
		{ "relay-log", 1, NULL, 'l' }, { "ready-timeout", 1, NULL, 'r' },
		{ "sndbuf", 1, NULL, 'b' },  { "flood-nice", 1, NULL, 'n' },
		{ "show-config", 0, NULL, 'c' }, { "skip-in", 0, NULL, 'X' },
		{ "skip-out", 0, NULL, 'Y' }, { "open-loop", 0, NULL, 'O' },
		{ "no-gso", 0, NULL, 'G' }, { 0 } };
	int c;
	while ((c = getopt_long(argc, argv, "+", lo, NULL)) != -1) {
		switch (c) {
		case 's': o.size = parse_long(optarg, "size", MIN_SIZE, MAX_PKT); break;
		case 't': o.seconds = parse_double(optarg, "seconds"); break;
		case 'i': g_inside = optarg; break;
		case 'I': g_ifname = optarg; break;
		case 'l': o.relay_log = optarg; break;
		case 'r': o.ready_timeout = parse_double(optarg, "ready-timeout"); break;
		case 'b': o.sndbuf = parse_long(optarg, "sndbuf", 4096, 1 << 30); break;
		case 'n': o.flood_nice = (int)parse_long(optarg, "nice", 0, 19); break;
		case 'c': o.show_config = true; break;
		case 'X': o.skip_in = true; break;
		case 'Y': o.skip_out = true; break;
		case 'O': o.open_loop = true; break;
		case 'G': o.no_gso = true; break;
		default: usage();
		}
	}
	if (!o.size || !g_inside || optind >= argc)
		usage();

	/* The relay command: one argument is a shell command line (as
	 * openconnect's --script), several are quoted word by word. */
	char *relay_cmd;
	if (argc - optind == 1) {
		relay_cmd = argv[optind];
	} else {
		relay_cmd = strdup("");
		for (int i = optind; i < argc; i++) {
			char *q = shell_quote(argv[i]);
			char *n = xasprintf("%s%s%s", relay_cmd, *relay_cmd ? " " : "", q);
			free(q);
			free(relay_cmd);
			relay_cmd = n;
		}
	}
	char self[PATH_MAX];
	ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
	if (sl <= 0)
		die("readlink /proc/self/exe: %s", strerror(errno));
	self[sl] = 0;

	struct sigaction sa = { 0 };
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	/* the relay's SIGHUP must not reach us if it is sent around */
	sigaction(SIGHUP, &sa, NULL);

	int sv[2];
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) < 0)
		die("socketpair: %s", strerror(errno));
	int fd = sv[0];
	if (o.sndbuf) {
		int b = (int)o.sndbuf;
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &b, sizeof b);
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &b, sizeof b);
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);

	printf("relay cmd=%s\n", relay_cmd);
	printf("relay size=%ld seconds=%.1f\n", o.size, o.seconds);
	fflush(stdout);
	pid_t relay = start_relay(relay_cmd, sv[1], (int)o.size, o.relay_log);
	close(sv[1]);

	int rc = 0;
	double ready = wait_ready(fd, relay, o.ready_timeout);
	if (ready < 0) {
		printf("ready ok=0 reason=%s\n", ready < -1 ? "relay-died" : "timeout");
		rc = 1;
		goto out;
	}
	printf("ready ok=1 ms=%.0f\n", ready * 1000);
	fflush(stdout);
	if (o.show_config)
		print_config();

	struct in_addr peer, local;
	inet_pton(AF_INET, PEER_ADDR, &peer);
	inet_pton(AF_INET, LOCAL_ADDR, &local);
	size_t size = (size_t)o.size;
	static struct rx r;
	rx_init(&r);

	struct counters c0, c1, c2;
	bool have0 = read_counters(&c0);
	if (have0)
		printf("tun ifname=%s\n", c0.ifname);

	/* ---- inbound: VPN -> sandbox ---- */
	if (!o.skip_in) {
		uint8_t *pkt = malloc(size);
		if (!pkt)
			die("out of memory");
		build_udp(pkt, size, peer, local, SPORT, DISCARD);
		struct mmsghdr msgs[BATCH];
		struct iovec iov = { pkt, size };
		memset(msgs, 0, sizeof msgs);
		for (int i = 0; i < BATCH; i++) {
			msgs[i].msg_hdr.msg_iov = &iov;
			msgs[i].msg_hdr.msg_iovlen = 1;
		}
		uint64_t sent = 0, back = 0, polls = 0;
		const char *err = NULL;
		double t0 = now(), end = t0 + o.seconds;
		unsigned iter = 0;
		while (now() < end) {
			int n = sendmmsg(fd, msgs, BATCH, MSG_DONTWAIT);
			if (n > 0)
				sent += (uint64_t)n;
			bool wait = n < BATCH;
			if (n < 0 && errno != EAGAIN && errno != ENOBUFS &&
			    errno != EINTR) {
				err = strerror(errno);  /* the relay closed its end */
				break;
			}
			/* anything coming back (ICMP errors) is drained */
			if (wait || (++iter & 15) == 0) {
				int m;
				while ((m = rx_batch(fd, &r)) > 0)
					back += (uint64_t)m;
			}
			if (wait) {
				struct pollfd p = { fd, POLLOUT | POLLIN, 0 };
				polls++;
				poll(&p, 1, ms_until(end, 100));
			}
		}
		double secs = now() - t0;
		/* let the relay drain what is queued on the socket */
		double dend = now() + 2;
		int outq = 0;
		while (now() < dend) {
			if (ioctl(fd, SIOCOUTQ, &outq) < 0 || outq == 0)
				break;
			int m;
			while ((m = rx_batch(fd, &r)) > 0)
				back += (uint64_t)m;
			sleep_s(0.005);
		}
		sleep_s(0.05);
		bool have1 = read_counters(&c1);
		free(pkt);
		if (have0 && have1) {
			/* A relay may hand the sandbox UDP superpackets (GRO),
			 * which the tun and UDP count once each: the datagrams
			 * come from the tun's byte count, every skb carrying one
			 * 28-byte header and datagrams of size - 28 bytes, and
			 * are credited in the share of skbs that reached UDP
			 * intact (NoPorts; the checksum is checked first). */
			uint64_t skbs = (c1.udp_noports - c0.udp_noports) +
					(c1.udp_in - c0.udp_in);
			uint64_t tunp = c1.rx_packets - c0.rx_packets;
			uint64_t tunb = c1.rx_bytes - c0.rx_bytes;
			uint64_t dgrams = tunb > 28 * tunp ? (tunb - 28 * tunp) / (size - 28) : 0;
			uint64_t delivered = skbs >= tunp ? dgrams
					     : (uint64_t)((double)dgrams * (double)skbs / (double)tunp);
			printf("inbound size=%zu secs=%.3f sent=%" PRIu64
			       " delivered=%" PRIu64 " pps=%.0f gbps=%.3f loss=%.4f"
			       " udp_skbs=%" PRIu64
			       " tun_rx_packets=%" PRIu64 " tun_rx_bytes=%" PRIu64
			       " tun_rx_dropped=%" PRIu64 " ip_truncated=%" PRIu64
			       " ip_hdrerr=%" PRIu64 " udp_csum_err=%" PRIu64
			       " queued_at_end=%d polls=%" PRIu64 " back=%" PRIu64 "%s%s\n",
			       size, secs, sent, delivered, delivered / secs,
			       delivered * size * 8 / secs / 1e9,
			       ratio_loss(sent, delivered), skbs, tunp, tunb,
			       c1.rx_dropped - c0.rx_dropped,
			       c1.ip_truncated - c0.ip_truncated,
			       c1.ip_hdrerr - c0.ip_hdrerr,
			       c1.udp_csum - c0.udp_csum, outq, polls, back,
			       err ? " error=" : "", err ? err : "");
		} else {
			printf("inbound size=%zu secs=%.3f sent=%" PRIu64
			       " delivered=? pps=? gbps=? loss=? error=counters\n",
			       size, secs, sent);
			rc = 1;
		}
		fflush(stdout);
		if (have1)
			c0 = c1;
		have0 = have1;
	}

	/* ---- outbound: sandbox -> VPN ---- */
	if (!o.skip_out) {
		/* Window: packets the flood may have in flight before the pump
		 * has seen them; well below the tun's ring (txqueuelen 500),
		 * about 4 MiB of data at most.  0 = open loop. */
		long window = o.open_loop ? 0 : 4L * 1024 * 1024 / (long)size;
		if (window > 256)
			window = 256;
		if (window < 8 && !o.open_loop)
			window = 8;
		int ffd, ackfd = -1;
		char *q = shell_quote(self);
		char *cmd = xasprintf("%s %s flood --dest %s --size %zu --seconds %.3f"
				      " --nice %d --window %ld%s", g_inside, q, PEER_ADDR,
				      size, o.seconds, o.flood_nice, window,
				      o.no_gso ? "" : " --gso");
		free(q);
		uint8_t *expect = malloc(size);
		if (!expect)
			die("out of memory");
		fill_pattern(expect, size - 36);
		while (rx_batch(fd, &r) > 0)
			;                       /* stale packets */
		pid_t fpid = spawn_sh(cmd, &ffd, window ? &ackfd : NULL);
		g_flood_pgid = fpid;
		free(cmd);
		uint64_t good = 0, corrupt = 0, other = 0, other_big = 0;
		uint64_t acked = 0, maxseq = 0;
		size_t other_min = SIZE_MAX, other_max = 0;
		char fout[512] = "";
		size_t flen = 0;
		bool fexited = false, killed = false;
		int fst = 0;
		double hard = now() + o.seconds + 20, idle_since = 0, last_pkt = now();
		for (;;) {
			struct pollfd p[2] = { { fd, POLLIN, 0 }, { ffd, POLLIN, 0 } };
			int np = ffd >= 0 ? 2 : 1;
			poll(p, (nfds_t)np, 50);
			int n;
			while ((n = rx_batch(fd, &r)) > 0) {
				last_pkt = now();
				for (int i = 0; i < n; i++) {
					const uint8_t *b = r.iov[i].iov_base;
					size_t len = r.msgs[i].msg_len;
					/* one of the flood's, maybe truncated: its
					 * sequence number acknowledges it */
					bool mine = len >= 36 && b[0] == 0x45 &&
						    b[9] == IPPROTO_UDP &&
						    memcmp(b + 16, &peer, 4) == 0 &&
						    get16(b + 22) == DISCARD;
					if (mine) {
						uint64_t seq;
						memcpy(&seq, b + 28, 8);
						if (seq >= maxseq && seq < maxseq + 4 * (uint64_t)window + 1024)
							maxseq = seq + 1;
					}
					if (len != size) {
						other++;
						if (len > 200) {   /* not ICMP/ICMPv6 chatter */
							other_big++;
							if (len < other_min)
								other_min = len;
							if (len > other_max)
								other_max = len;
						}
						continue;
					}
					if (mine && get16(b + 2) == size &&
					    get16(b + 24) == size - 20 &&
					    memcmp(b + 36, expect, size - 36) == 0)
						good++;
					else
						corrupt++;
				}
				/* tell the flood how far it got (the next sequence
				 * number; a full pipe is retried with the next batch) */
				if (ackfd >= 0 && maxseq != acked) {
					uint64_t v = maxseq;
					ssize_t w = write(ackfd, &v, sizeof v);
					if (w == (ssize_t)sizeof v)
						acked = maxseq;
					else if (w < 0 && errno == EPIPE) {
						close(ackfd);
						ackfd = -1;
					}
				}
			}
			if (ffd >= 0 && (p[1].revents & (POLLIN | POLLHUP))) {
				ssize_t m = read(ffd, fout + flen, sizeof fout - 1 - flen);
				if (m > 0) {
					flen += (size_t)m;
				} else if (m == 0 || errno != EINTR) {
					close(ffd);
					ffd = -1;
				}
				fout[flen] = 0;
			}
			if (!fexited && waitpid(fpid, &fst, WNOHANG) == fpid) {
				fexited = true;
				g_flood_pgid = 0;
				idle_since = now();
			}
			double t = now();
			if (fexited && ffd < 0 && t - idle_since > 0.2 &&
			    t - last_pkt > 0.2)
				break;
			if (fexited && t - idle_since > 2)
				break;
			if (t > hard && !fexited) {
				kill(-fpid, SIGKILL);
				waitpid(fpid, &fst, 0);
				g_flood_pgid = 0;
				fexited = killed = true;
				idle_since = t;
				if (ffd >= 0) {
					close(ffd);
					ffd = -1;
				}
			}
		}
		if (ackfd >= 0)
			close(ackfd);
		free(expect);
		uint64_t fsent = 0, ferr = 0, fstalls = 0;
		double fsecs = 0;
		const char *s, *fmode = "?";
		if ((s = strstr(fout, "sent=")))
			fsent = strtoull(s + 5, NULL, 10);
		if ((s = strstr(fout, "secs=")))
			fsecs = strtod(s + 5, NULL);
		if ((s = strstr(fout, "errors=")))
			ferr = strtoull(s + 7, NULL, 10);
		if ((s = strstr(fout, "stalls=")))
			fstalls = strtoull(s + 7, NULL, 10);
		if ((s = strstr(fout, "mode=")))
			fmode = s[5] == 'c' ? "closed" : s[5] == 'o' ? "open" : "fallback";
		bool have2 = have0 && read_counters(&c2);
		if (fsecs > 0) {
			printf("outbound size=%zu secs=%.3f sent=%" PRIu64
			       " received=%" PRIu64 " pps=%.0f gbps=%.3f loss=%.4f"
			       " corrupt=%" PRIu64 " other=%" PRIu64 " other_big=%" PRIu64
			       " flood_errors=%" PRIu64 " flood=%s window=%ld stalls=%" PRIu64,
			       size, fsecs, fsent, good, good / fsecs,
			       good * size * 8 / fsecs / 1e9, ratio_loss(fsent, good),
			       corrupt, other, other_big, ferr, fmode, window, fstalls);
			if (other_big)
				printf(" other_len=%zu-%zu", other_min, other_max);
			if (have2)
				printf(" tun_tx_packets=%" PRIu64 " tun_tx_dropped=%" PRIu64,
				       c2.tx_packets - c0.tx_packets,
				       c2.tx_dropped - c0.tx_dropped);
			printf("\n");
		} else {
			printf("outbound size=%zu secs=? sent=? received=%" PRIu64
			       " pps=? gbps=? loss=? error=flood-%s status=%d\n",
			       size, good, killed ? "killed" : "failed",
			       WIFEXITED(fst) ? WEXITSTATUS(fst) : 128 + WTERMSIG(fst));
			rc = 1;
		}
		fflush(stdout);
	}

out:;
	int how = 0;
	if (g_relay_pgid > 0) {
		double t = now();
		stop_group(relay, &how);
		printf("stop relay=%s ms=%.0f\n", how ? "sigkill" : "sighup",
		       (now() - t) * 1000);
		g_relay_pgid = 0;
	}
	fflush(stdout);
	close(fd);
	return rc;
}

/* ---- flood (runs inside the sandbox) ---------------------------------- */

/* The pump writes, on the flood's stdin, how many packets it has received
 * so far (native uint64_t, cumulative).  Returns the newest value, or -1 at
 * EOF/error. */
static int64_t read_acks(int fd, int64_t cur)
{
	static uint8_t carry[8];
	static size_t ncarry;
	uint8_t buf[4096];
	for (;;) {
		memcpy(buf, carry, ncarry);
		ssize_t n = read(fd, buf + ncarry, sizeof buf - ncarry);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? cur : -1;
		if (n == 0)
			return -1;
		size_t have = ncarry + (size_t)n, whole = have / 8 * 8;
		if (whole) {
			uint64_t v;
			memcpy(&v, buf + whole - 8, 8);
			cur = (int64_t)v;
		}
		ncarry = have - whole;
		memcpy(carry, buf + whole, ncarry);
	}
}

static int flood(int argc, char **argv)
{
	const char *dest = NULL;
	long size = 0, nice_v = 0, window = 0;
	bool gso = false;
	double seconds = 3;
	static const struct option lo[] = {
		{ "dest", 1, NULL, 'd' }, { "size", 1, NULL, 's' },
		{ "seconds", 1, NULL, 't' }, { "nice", 1, NULL, 'n' },
		{ "window", 1, NULL, 'w' }, { "gso", 0, NULL, 'g' }, { 0 } };
	int c;
	while ((c = getopt_long(argc, argv, "+", lo, NULL)) != -1) {
		switch (c) {
		case 'd': dest = optarg; break;
		case 's': size = parse_long(optarg, "size", MIN_SIZE, MAX_PKT); break;
		case 't': seconds = parse_double(optarg, "seconds"); break;
		case 'n': nice_v = parse_long(optarg, "nice", 0, 19); break;
		case 'w': window = parse_long(optarg, "window", 0, 100000); break;
		case 'g': gso = true; break;
		default: usage();
		}
	}
	if (!dest || !size)
		usage();
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(DISCARD) };
	if (inet_pton(AF_INET, dest, &sin.sin_addr) != 1)
		die("bad address '%s'", dest);
	/* only ever the tunnel's far end, never a real network */
	uint32_t a = ntohl(sin.sin_addr.s_addr);
	if ((a & 0xffffff00) != 0xc0000200)
		die("refusing to flood %s: only 192.0.2.0/24 (TEST-NET-1)", dest);
	if (nice_v)
		setpriority(PRIO_PROCESS, 0, (int)nice_v);
	/* closed loop needs the pump's counts on stdin, a pipe */
	struct stat st;
	const char *mode = "open";
	if (window > 0) {
		if (fstat(0, &st) == 0 && S_ISFIFO(st.st_mode)) {
			fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
			mode = "closed";
		} else {
			window = 0;
			mode = "fallback-open";   /* stdin did not come through */
		}
	}
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s < 0)
		die("socket: %s", strerror(errno));
	if (connect(s, (struct sockaddr *)&sin, sizeof sin) < 0)
		die("connect %s: %s", dest, strerror(errno));
	/* payload: a 64-bit sequence number, then the pattern */
	size_t plen = (size_t)size - 28 - 8;
	uint8_t *payload = malloc(plen);
	if (!payload)
		die("out of memory");
	fill_pattern(payload, plen);
	/* With GSO one message carries up to PER datagrams of one size (the
	 * kernel cuts them, or the device does); else one each. */
	int per = 1;
	if (gso) {
		int seg = (int)size - 28;
		per = 65000 / seg < GSO_MAX ? 65000 / seg : GSO_MAX;
		if (per < 2 || setsockopt(s, SOL_UDP, UDP_SEGMENT, &seg, sizeof seg) < 0)
			per = 1;
	}
	static uint64_t seqs[BATCH * GSO_MAX];
	static struct iovec iov[BATCH][2 * GSO_MAX];
	struct mmsghdr msgs[BATCH];
	int cnt[BATCH];
	memset(msgs, 0, sizeof msgs);
	for (int i = 0; i < BATCH; i++) {
		for (int j = 0; j < per; j++) {
			iov[i][2 * j] = (struct iovec){ &seqs[i * per + j], 8 };
			iov[i][2 * j + 1] = (struct iovec){ payload, plen };
		}
		msgs[i].msg_hdr.msg_iov = iov[i];
	}
	uint64_t sent = 0, errors = 0, stalls = 0;
	int64_t acked = 0;      /* the next sequence number the pump awaits */
	int64_t floor = 0;      /* all before it is seen or given up for lost */
	const char *fatal = NULL;
	double t0 = now(), end = t0 + seconds;
	while (now() < end) {
		int want = BATCH * per;
		if (window > 0) {
			int64_t a2 = read_acks(0, acked);
			if (a2 < 0) {           /* the pump went away */
				window = 0;
				mode = "fallback-open";
			} else {
				acked = a2;
			}
		}
		if (window > 0) {
			int64_t inflight = (int64_t)sent - (acked > floor ? acked : floor);
			if (inflight >= window) {
				/* wait for the pump to see some; what does not
				 * come within 20 ms was lost on the way */
				struct pollfd p = { 0, POLLIN, 0 };
				if (poll(&p, 1, ms_until(end, 20)) == 0 && now() < end) {
					floor = (int64_t)sent;
					stalls++;
				}
				continue;
			}
			if (window - inflight < want)
				want = (int)(window - inflight);
		}
		/* want datagrams, PER to a message */
		int nmsg = 0;
		for (int d = 0; d < want && nmsg < BATCH; nmsg++) {
			cnt[nmsg] = want - d < per ? want - d : per;
			for (int j = 0; j < cnt[nmsg]; j++)
				seqs[nmsg * per + j] = sent + (uint64_t)(d + j);
			msgs[nmsg].msg_hdr.msg_iovlen = (size_t)(2 * cnt[nmsg]);
			d += cnt[nmsg];
		}
		int n = sendmmsg(s, msgs, (unsigned)nmsg, 0);
		if (n > 0) {
			for (int i = 0; i < n; i++)
				sent += (uint64_t)cnt[i];
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		errors++;
		if (n < 0 && errno == EAGAIN) {
			struct pollfd p = { s, POLLOUT, 0 };
			poll(&p, 1, ms_until(end, 10));
		} else if (n < 0 && (errno == ENOBUFS || errno == ECONNREFUSED ||
				     errno == EHOSTUNREACH)) {
			sleep_s(0.0002);        /* no poll event for these */
		} else {
			fatal = strerror(n < 0 ? errno : EIO);
			break;
		}
	}
	double secs = now() - t0;
	printf("sent=%" PRIu64 " secs=%.6f errors=%" PRIu64 " stalls=%" PRIu64
	       " mode=%s gso=%d\n", sent, secs, errors, stalls, mode, per);
	fflush(stdout);
	free(payload);
	close(s);
	if (fatal)
		die("sendmmsg: %s", fatal);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	if (!strcmp(argv[1], "drive")) {
		prog = "pump drive";
		return drive(argc - 1, argv + 1);
	}
	if (!strcmp(argv[1], "flood")) {
		prog = "pump flood";
		return flood(argc - 1, argv + 1);
	}
	usage();
}
