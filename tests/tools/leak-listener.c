/* leak-listener.c - counting listeners on the host side, for the leak suite.
 *
 * Stands where a leak out of a sandbox would arrive on the host and counts
 * everything that does: TCP connections, UDP datagrams, DNS queries to a
 * fake resolver, connections to Unix sockets at the paths of the host's
 * resolver daemons, and IPv4/IPv6 packets seen on any interface of this
 * network namespace that carry given addresses.  libc only.
 *
 *   leak-listener --counts FILE [--answer A.B.C.D] SPEC...
 *
 * SPEC:
 *   tcp:ADDR:PORT    connections (accepted and closed at once)
 *   udp:ADDR:PORT    datagrams
 *   dns:ADDR[:PORT]  a resolver on UDP and TCP (port 53 unless given):
 *                    queries (one line each for UDP and TCP); A questions
 *                    get the --answer address (default 127.0.83.1), any
 *                    other question an empty NOERROR
 *   unix:PATH        a stream socket (mode 0666; PATH is replaced):
 *                    connections from processes in another network
 *                    namespace than ours - a sandbox's - and, on a line of
 *                    their own ("unix-ownns"), those from ours
 *   capture:PREFIX   packets whose source or destination is in PREFIX
 *                    (198.18.0.0/24, 2001:db8:2::/48), on every interface,
 *                    in or out (an AF_PACKET socket with a BPF filter, so
 *                    nothing else is queued for us)
 * ADDR: an IPv4 address, an IPv6 address in brackets, or * for 0.0.0.0;
 * PORT 0 lets the kernel choose: the counts file names the port it chose.
 *
 * The counts file is rewritten (by rename) whenever a count changes and on
 * SIGUSR1; its first appearance means every listener is bound.  Lines:
 *   gen N                              (one more on every write)
 *   KIND ENDPOINT COUNT LAST
 * e.g. "udp 127.0.0.1:40123 2 from=127.0.0.1:5353", "dns-udp
 * 127.0.0.53:53 1 from=127.0.0.1:41000,q=x.test", "unix
 * /run/nscd/socket 1 pid=123,uid=1001,netns=net:[4026532301]",
 * "capture 198.18.0.0/24 1 if=vpl-ab12-br,198.18.0.250>198.51.100.1".  LAST
 * is "-" until something arrives.  Every event is also logged on stderr.
 * Events already queued when SIGUSR1 arrives are counted before the file is
 * written.  SIGTERM or SIGINT end it.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_COUNTERS 64
#define LAST_LEN 160

enum kind { K_TCP, K_UDP, K_DNS_UDP, K_DNS_TCP, K_UNIX, K_UNIX_OWNNS, K_CAPTURE };
static const char *const kind_names[] = {
	"tcp", "udp", "dns-udp", "dns-tcp", "unix", "unix-ownns", "capture",
};

struct counter {
	enum kind kind;
	int fd;            /* -1 for unix-ownns, which shares its unix socket */
	char endpoint[128];
	unsigned long count;
	char last[LAST_LEN];
	struct counter *ownns; /* unix: where connections from our netns go */
};

static struct counter counters[MAX_COUNTERS];
static int ncounters;
static const char *counts_path;
static struct in_addr answer_addr;
static char own_netns[64];
static unsigned long generation;

static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("leak-listener: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static struct counter *counter_new(enum kind kind, int fd, const char *endpoint)
{
	struct counter *c;

	if (ncounters == MAX_COUNTERS)
		die("too many listeners (at most %d)", MAX_COUNTERS);
	c = &counters[ncounters++];
	c->kind = kind;
	c->fd = fd;
	snprintf(c->endpoint, sizeof(c->endpoint), "%s", endpoint);
	strcpy(c->last, "-");
	return c;
}

/* Keep LAST free of spaces and non-printable bytes: it is one field. */
static void counter_hit(struct counter *c, const char *fmt, ...)
{
	va_list ap;

	c->count++;
	va_start(ap, fmt);
	vsnprintf(c->last, sizeof(c->last), fmt, ap);
	va_end(ap);
	for (char *p = c->last; *p; p++)
		if (*p <= ' ' || *p > '~')
			*p = '_';
	fprintf(stderr, "leak-listener: %s %s: #%lu %s\n", kind_names[c->kind], c->endpoint,
		c->count, c->last);
}

static void counts_write(void)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", counts_path);
	f = fopen(tmp, "w");
	if (!f)
		die("cannot write %s: %s", tmp, strerror(errno));
	fprintf(f, "gen %lu\n", ++generation);
	for (int i = 0; i < ncounters; i++)
		fprintf(f, "%s %s %lu %s\n", kind_names[counters[i].kind], counters[i].endpoint,
			counters[i].count, counters[i].last);
	if (fclose(f) != 0 || rename(tmp, counts_path) < 0)
		die("cannot write %s: %s", counts_path, strerror(errno));
}

/* --- addresses ------------------------------------------------------------ */

/* "ADDR:PORT" (PORT optional when @defport >= 0) into @ss. */
static socklen_t parse_endpoint(const char *spec, int defport, struct sockaddr_storage *ss)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *port = NULL;
	long p = defport;
	char *end;

	memset(ss, 0, sizeof(*ss));
	if (spec[0] == '[') {
		const char *close = strchr(spec, ']');

		if (!close || (size_t)(close - spec - 1) >= sizeof(host))
			die("bad address in '%s'", spec);
		memcpy(host, spec + 1, (size_t)(close - spec - 1));
		host[close - spec - 1] = 0;
		if (close[1] == ':')
			port = close + 2;
		else if (close[1])
			die("bad address in '%s'", spec);
	} else {
		const char *colon = strchr(spec, ':');
		size_t len = colon ? (size_t)(colon - spec) : strlen(spec);

		if (len >= sizeof(host))
			die("bad address in '%s'", spec);
		memcpy(host, spec, len);
		host[len] = 0;
		if (colon)
			port = colon + 1;
	}
	if (port) {
		p = strtol(port, &end, 10);
		if (!*port || *end || p < 0 || p > 65535)
			die("bad port in '%s'", spec);
	} else if (defport < 0) {
		die("'%s' needs a port", spec);
	}
	if (spec[0] == '[') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)p);
		if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
			die("bad IPv6 address in '%s'", spec);
		return sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)p);
		if (strcmp(host, "*") != 0 && inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			die("bad IPv4 address in '%s'", spec);
		return sizeof(*s4);
	}
}

static void format_sockaddr(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		snprintf(buf, len, "[%s]:%u", a, ntohs(s6->sin6_port));
	} else if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		snprintf(buf, len, "%s:%u", a, ntohs(s4->sin_port));
	} else {
		snprintf(buf, len, "?");
	}
}

/* A socket of @type bound to @spec; its real endpoint (the port the kernel
 * chose for port 0) goes into @endpoint. */
static int bind_inet(const char *spec, int defport, int type, char *endpoint, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = parse_endpoint(spec, defport, &ss);
	int one = 1, fd;

	fd = socket(ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket for %s: %s", spec, strerror(errno));
	if (ss.ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
		die("IPV6_V6ONLY for %s: %s", spec, strerror(errno));
	if (type == SOCK_STREAM && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		die("SO_REUSEADDR for %s: %s", spec, strerror(errno));
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0)
		die("cannot bind %s %s: %s", type == SOCK_STREAM ? "TCP" : "UDP", spec, strerror(errno));
	if (type == SOCK_STREAM && listen(fd, 64) < 0)
		die("cannot listen on %s: %s", spec, strerror(errno));
	sl = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
		die("getsockname for %s: %s", spec, strerror(errno));
	format_sockaddr(&ss, endpoint, len);
	return fd;
}

/* --- DNS -------------------------------------------------------------------- */

/* Answer the query in @q (@len bytes) into @r (room for @rlen); returns the
 * answer's length, 0 for something that is no query.  The question's name
 * goes into @name for the log. */
static size_t dns_answer(const uint8_t *q, size_t len, uint8_t *r, size_t rlen, char *name,
			 size_t namelen)
{
	size_t off = 12, n = 0, qend;
	uint16_t qtype, qclass;
	int answer;

	snprintf(name, namelen, "?");
	if (len < 12 || (q[2] & 0x80) || (q[4] << 8 | q[5]) < 1)
		return 0;
	while (off < len && q[off]) {
		size_t l = q[off];

		if (l > 63 || off + 1 + l >= len)
			return 0;
		for (size_t i = 0; i < l && n + 2 < namelen; i++)
			name[n++] = (char)q[off + 1 + i];
		if (n + 1 < namelen)
			name[n++] = '.';
		off += 1 + l;
	}
	name[n ? n - 1 : 0] = 0;
	if (off + 5 > len)
		return 0;
	qtype = (uint16_t)(q[off + 1] << 8 | q[off + 2]);
	qclass = (uint16_t)(q[off + 3] << 8 | q[off + 4]);
	qend = off + 5;
	answer = qtype == 1 && qclass == 1;
	if (qend + (answer ? 16 : 0) > rlen)
		return 0;
	memcpy(r, q, qend);
	r[2] = (uint8_t)(0x80 | (q[2] & 0x01)); /* QR, keep RD */
	r[3] = 0x80;                            /* RA, NOERROR */
	r[4] = 0; r[5] = 1;                     /* one question */
	r[6] = 0; r[7] = (uint8_t)answer;
	memset(r + 8, 0, 4);                    /* no authority, no additional */
	if (!answer)
		return qend;
	memcpy(r + qend, (const uint8_t[]){ 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4 }, 12);
	memcpy(r + qend + 12, &answer_addr, 4);
	return qend + 16;
}

static void on_dns_udp(struct counter *c)
{
	uint8_t q[1500], r[1600];
	struct sockaddr_storage from;
	socklen_t fl = sizeof(from);
	char peer[80], name[256];
	ssize_t n;
	size_t rl;

	while ((n = recvfrom(c->fd, q, sizeof(q), 0, (struct sockaddr *)&from, &fl)) >= 0) {
		rl = dns_answer(q, (size_t)n, r, sizeof(r), name, sizeof(name));
		format_sockaddr(&from, peer, sizeof(peer));
		counter_hit(c, "from=%s,q=%s", peer, name);
		if (rl)
			sendto(c->fd, r, rl, 0, (struct sockaddr *)&from, fl);
		fl = sizeof(from);
	}
}

static int read_full(int fd, uint8_t *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);

		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

/* One query per connection is all dig and glibc send; a client that sends
 * nothing is given half a second. */
static void dns_tcp_serve(int s, char *name, size_t namelen)
{
	struct timeval tv = { 0, 500000 };
	uint8_t q[4096], r[4096 + 18];
	size_t ql, rl;

	snprintf(name, namelen, "?");
	if (fcntl(s, F_SETFL, 0) < 0 || setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		return;
	if (read_full(s, q, 2) < 0)
		return;
	ql = (size_t)(q[0] << 8 | q[1]);
	if (ql > sizeof(q) || read_full(s, q, ql) < 0)
		return;
	rl = dns_answer(q, ql, r + 2, sizeof(r) - 2, name, namelen);
	if (!rl)
		return;
	r[0] = (uint8_t)(rl >> 8);
	r[1] = (uint8_t)rl;
	if (write(s, r, rl + 2) < 0)
		return;
}

/* --- TCP, UDP, Unix ----------------------------------------------------------- */

static void on_accept(struct counter *c)
{
	struct sockaddr_storage from;
	socklen_t fl = sizeof(from);
	char peer[80], name[256];
	int s;

	while ((s = accept4(c->fd, (struct sockaddr *)&from, &fl, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0) {
		format_sockaddr(&from, peer, sizeof(peer));
		if (c->kind == K_DNS_TCP) {
			dns_tcp_serve(s, name, sizeof(name));
			counter_hit(c, "from=%s,q=%s", peer, name);
		} else {
			counter_hit(c, "from=%s", peer);
		}
		close(s);
		fl = sizeof(from);
	}
}

static void on_udp(struct counter *c)
{
	uint8_t buf[2048];
	struct sockaddr_storage from;
	socklen_t fl = sizeof(from);
	char peer[80];

	while (recvfrom(c->fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl) >= 0) {
		format_sockaddr(&from, peer, sizeof(peer));
		counter_hit(c, "from=%s", peer);
		fl = sizeof(from);
	}
}

/* The peer's network namespace, by its pid: a process that has already
 * exited reads as "gone", and counts as a sandbox's (a leak is never
 * excused by the leaker's quick exit). */
static void on_unix(struct counter *c)
{
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	char path[64], ns[64];
	ssize_t n;
	int s;

	while ((s = accept4(c->fd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
		strcpy(ns, "gone");
		if (getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == 0) {
			snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)cred.pid);
			n = readlink(path, ns, sizeof(ns) - 1);
			ns[n > 0 ? n : 0] = 0;
			if (n <= 0)
				strcpy(ns, "gone");
		} else {
			cred.pid = 0;
			cred.uid = (uid_t)-1;
		}
		counter_hit(strcmp(ns, own_netns) == 0 ? c->ownns : c, "pid=%d,uid=%d,netns=%s",
			    (int)cred.pid, (int)cred.uid, ns);
		close(s);
		cl = sizeof(cred);
	}
}

static int listen_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		die("Unix socket path too long: %s", path);
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket for %s: %s", path, strerror(errno));
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(path, 0666) < 0 ||
	    listen(fd, 64) < 0)
		die("cannot listen on %s: %s", path, strerror(errno));
	return fd;
}

/* --- capture -------------------------------------------------------------------- */

struct bpf_asm {
	struct sock_filter ins[96];
	int n;
	int to_accept[32], nacc; /* jumps (jt) to patch to the accept instruction */
	int to_next[8], nnext;   /* jumps (jf) to patch to the next block */
	int to_reject[8], nrej;  /* jumps (jf) to patch to the reject instruction */
};

static int bpf_emit(struct bpf_asm *a, uint16_t code, uint32_t k)
{
	if (a->n == (int)(sizeof(a->ins) / sizeof(a->ins[0])))
		die("capture filter too long");
	a->ins[a->n] = (struct sock_filter)BPF_STMT(code, k);
	return a->n++;
}

static void bpf_patch(struct bpf_asm *a, const int *at, int n, int target, int jt)
{
	for (int i = 0; i < n; i++) {
		int off = target - at[i] - 1;

		if (off < 0 || off > 255)
			die("capture filter jump out of range");
		if (jt)
			a->ins[at[i]].jt = (uint8_t)off;
		else
			a->ins[at[i]].jf = (uint8_t)off;
	}
}

/* Match the @bits-bit prefix @net against the address at @off of the IP
 * header: a mismatch jumps to the next block, a full match to accept. */
static void bpf_match(struct bpf_asm *a, uint32_t off, const uint8_t *net, int bits)
{
	int words = (bits + 31) / 32;

	for (int w = 0; w < words; w++) {
		int b = bits - 32 * w < 32 ? bits - 32 * w : 32;
		uint32_t mask = b == 32 ? 0xffffffffu : ~(0xffffffffu >> b);
		uint32_t val = (uint32_t)net[4 * w] << 24 | (uint32_t)net[4 * w + 1] << 16 |
			       (uint32_t)net[4 * w + 2] << 8 | net[4 * w + 3];
		int j;

		bpf_emit(a, BPF_LD | BPF_W | BPF_ABS, off + 4 * (uint32_t)w);
		if (mask != 0xffffffffu)
			bpf_emit(a, BPF_ALU | BPF_AND | BPF_K, mask);
		/* a mismatch leaves the block; a match goes on to the next word,
		 * or, after the last one, to accept */
		j = bpf_emit(a, BPF_JMP | BPF_JEQ | BPF_K, val & mask);
		a->to_next[a->nnext++] = j;
		if (w == words - 1)
			a->to_accept[a->nacc++] = j;
	}
}

/* The BPF program for "source or destination in PREFIX".  Packet sockets of
 * type SOCK_DGRAM run their filter on the network header. */
static void capture_filter(struct bpf_asm *a, int family, const uint8_t *net, int bits)
{
	uint32_t src = family == AF_INET ? 12 : 8, dst = family == AF_INET ? 16 : 24;
	int j;

	memset(a, 0, sizeof(*a));
	bpf_emit(a, BPF_LD | BPF_H | BPF_ABS, (uint32_t)(SKF_AD_OFF + SKF_AD_PROTOCOL));
	j = bpf_emit(a, BPF_JMP | BPF_JEQ | BPF_K, family == AF_INET ? ETH_P_IP : ETH_P_IPV6);
	a->to_reject[a->nrej++] = j;
	bpf_match(a, src, net, bits);
	/* a source that does not match: try the destination */
	bpf_patch(a, a->to_next, a->nnext, a->n, 0);
	a->nnext = 0;
	bpf_match(a, dst, net, bits);
	/* the destination block's mismatches reject */
	for (int i = 0; i < a->nnext; i++)
		a->to_reject[a->nrej++] = a->to_next[i];
	j = bpf_emit(a, BPF_RET | BPF_K, 0xffff);
	bpf_patch(a, a->to_accept, a->nacc, j, 1);
	j = bpf_emit(a, BPF_RET | BPF_K, 0);
	bpf_patch(a, a->to_reject, a->nrej, j, 0);
}

static int open_capture(const char *prefix)
{
	char addr[INET6_ADDRSTRLEN];
	const char *slash = strchr(prefix, '/');
	uint8_t net[16] = { 0 };
	struct bpf_asm a;
	struct sock_fprog prog;
	int family, bits, fd, max;
	char *end;

	if (!slash || (size_t)(slash - prefix) >= sizeof(addr))
		die("bad capture prefix '%s' (ADDR/LEN)", prefix);
	memcpy(addr, prefix, (size_t)(slash - prefix));
	addr[slash - prefix] = 0;
	family = strchr(addr, ':') ? AF_INET6 : AF_INET;
	max = family == AF_INET ? 32 : 128;
	bits = (int)strtol(slash + 1, &end, 10);
	if (inet_pton(family, addr, net) != 1 || !slash[1] || *end || bits < 1 || bits > max)
		die("bad capture prefix '%s'", prefix);
	capture_filter(&a, family, net, bits);
	prog.len = (unsigned short)a.n;
	prog.filter = a.ins;
	fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));
	if (fd < 0)
		die("cannot open a packet socket for %s: %s", prefix, strerror(errno));
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0)
		die("cannot attach the capture filter for %s: %s", prefix, strerror(errno));
	/* packets that arrived between socket() and the filter */
	while (recv(fd, net, sizeof(net), MSG_TRUNC) >= 0)
		;
	return fd;
}

static void on_capture(struct counter *c)
{
	uint8_t pkt[64];
	struct sockaddr_ll ll;
	socklen_t sl = sizeof(ll);
	char ifname[IF_NAMESIZE] = "?", s[INET6_ADDRSTRLEN] = "?", d[INET6_ADDRSTRLEN] = "?";
	ssize_t n;

	while ((n = recvfrom(c->fd, pkt, sizeof(pkt), MSG_TRUNC, (struct sockaddr *)&ll, &sl)) >= 0) {
		if_indextoname((unsigned)ll.sll_ifindex, ifname);
		if (ntohs(ll.sll_protocol) == ETH_P_IP && n >= 20) {
			inet_ntop(AF_INET, pkt + 12, s, sizeof(s));
			inet_ntop(AF_INET, pkt + 16, d, sizeof(d));
		} else if (ntohs(ll.sll_protocol) == ETH_P_IPV6 && n >= 40) {
			inet_ntop(AF_INET6, pkt + 8, s, sizeof(s));
			inet_ntop(AF_INET6, pkt + 24, d, sizeof(d));
		}
		counter_hit(c, "if=%s,%s>%s,%s", ifname, s, d,
			    ll.sll_pkttype == PACKET_OUTGOING ? "out" : "in");
		sl = sizeof(ll);
	}
}

/* --- main ----------------------------------------------------------------------- */

static void add_spec(const char *spec)
{
	char ep[128];
	int fd;

	if (!strncmp(spec, "tcp:", 4)) {
		fd = bind_inet(spec + 4, -1, SOCK_STREAM, ep, sizeof(ep));
		counter_new(K_TCP, fd, ep);
	} else if (!strncmp(spec, "udp:", 4)) {
		fd = bind_inet(spec + 4, -1, SOCK_DGRAM, ep, sizeof(ep));
		counter_new(K_UDP, fd, ep);
	} else if (!strncmp(spec, "dns:", 4)) {
		fd = bind_inet(spec + 4, 53, SOCK_DGRAM, ep, sizeof(ep));
		counter_new(K_DNS_UDP, fd, ep);
		fd = bind_inet(spec + 4, 53, SOCK_STREAM, ep, sizeof(ep));
		counter_new(K_DNS_TCP, fd, ep);
	} else if (!strncmp(spec, "unix:", 5)) {
		struct counter *c = counter_new(K_UNIX, listen_unix(spec + 5), spec + 5);

		c->ownns = counter_new(K_UNIX_OWNNS, -1, spec + 5);
	} else if (!strncmp(spec, "capture:", 8)) {
		counter_new(K_CAPTURE, open_capture(spec + 8), spec + 8);
	} else {
		die("unknown listener '%s' (tcp:, udp:, dns:, unix:, capture:)", spec);
	}
}

static void on_event(struct counter *c)
{
	switch (c->kind) {
	case K_TCP: case K_DNS_TCP: on_accept(c); break;
	case K_UDP: on_udp(c); break;
	case K_DNS_UDP: on_dns_udp(c); break;
	case K_UNIX: on_unix(c); break;
	case K_CAPTURE: on_capture(c); break;
	case K_UNIX_OWNNS: break;
	}
}

int main(int argc, char **argv)
{
	struct pollfd pfd[MAX_COUNTERS + 1];
	struct counter *at[MAX_COUNTERS];
	int npfd = 0, sfd, i = 1;
	sigset_t set;
	ssize_t n;

	inet_pton(AF_INET, "127.0.83.1", &answer_addr);
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--counts") && i + 1 < argc)
			counts_path = argv[++i];
		else if (!strcmp(argv[i], "--answer") && i + 1 < argc) {
			if (inet_pton(AF_INET, argv[++i], &answer_addr) != 1)
				die("bad --answer address '%s'", argv[i]);
		} else
			die("usage: leak-listener --counts FILE [--answer A.B.C.D] SPEC...");
	}
	if (!counts_path || i == argc)
		die("usage: leak-listener --counts FILE [--answer A.B.C.D] SPEC...");
	n = readlink("/proc/self/ns/net", own_netns, sizeof(own_netns) - 1);
	if (n <= 0)
		die("cannot read /proc/self/ns/net: %s", strerror(errno));
	own_netns[n] = 0;
	for (; i < argc; i++)
		add_spec(argv[i]);

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0)
		die("signalfd: %s", strerror(errno));
	for (int k = 0; k < ncounters; k++) {
		if (counters[k].fd < 0)
			continue;
		at[npfd] = &counters[k];
		pfd[npfd++] = (struct pollfd){ .fd = counters[k].fd, .events = POLLIN };
	}
	pfd[npfd] = (struct pollfd){ .fd = sfd, .events = POLLIN };
	counts_write();
	fprintf(stderr, "leak-listener: %d listeners ready, counts in %s\n", ncounters, counts_path);

	for (;;) {
		struct signalfd_siginfo si;
		unsigned long before = 0, after = 0;
		int dump = 0;

		if (poll(pfd, (nfds_t)npfd + 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("poll: %s", strerror(errno));
		}
		for (int k = 0; k < ncounters; k++)
			before += counters[k].count;
		/* the sockets first: what was queued before a SIGUSR1 is counted
		 * before the file it asks for is written */
		for (int k = 0; k < npfd; k++)
			if (pfd[k].revents)
				on_event(at[k]);
		while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
			if (si.ssi_signo != SIGUSR1) {
				fprintf(stderr, "leak-listener: ending on signal %u\n", si.ssi_signo);
				return 0;
			}
			dump = 1;
		}
		for (int k = 0; k < ncounters; k++)
			after += counters[k].count;
		if (dump || after != before)
			counts_write();
	}
}
