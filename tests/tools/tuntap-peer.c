/* tuntap-peer.c - plays a VPN client's side of a packet socket, for tests.
 *
 * Stands in for OpenVPN 2.7's --dev-node unix:PROG (TUNTAP_SOCKET_FD) or
 * openconnect's --script-tun (VPNFD): it creates an AF_UNIX datagram
 * socketpair, runs PROG with the other end and the configuration in its
 * environment, then sends ICMP echo requests of a chosen size to the
 * tunnel address (the sandbox's kernel answers them) and checks that every
 * reply comes back whole.  Finally it stops PROG the way the client would
 * (SIGINT for OpenVPN, SIGHUP to the process group for openconnect) and
 * reports how long PROG took to exit.
 *
 *   tuntap-peer [--openconnect] --local ADDR --peer ADDR --mtu N --size N
 *               --count N [--wait-ms N] [--interval-ms N]
 *               [--udp-burst N --udp-port P [--hold-ms N]] -- PROG [ARGS...]
 *
 * --udp-burst then sends N UDP datagrams of --size bytes to port P of the
 * tunnel address in one sendmmsg() - one flow, one size, as a relay with
 * GRO joins them - the payload of datagram i all bytes i % 256; prints
 * "udp_sent=N" and keeps PROG running --hold-ms (default 300) longer.
 *
 * Exit status 0 when every reply arrived intact and PROG exited 0.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint16_t csum(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)(p[len - 1] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* The IPv4 header of a packet of @total bytes, and 8 zero bytes after it. */
static void build_ip4(uint8_t *pkt, size_t total, uint8_t proto, struct in_addr src,
		      struct in_addr dst)
{
	uint16_t c;

	memset(pkt, 0, 28);
	pkt[0] = 0x45;
	pkt[2] = (uint8_t)(total >> 8);
	pkt[3] = (uint8_t)total;
	pkt[6] = proto == 17 ? 0x40 : 0; /* DF on UDP, as a QUIC sender sets it */
	pkt[8] = 64;   /* TTL */
	pkt[9] = proto;
	memcpy(pkt + 12, &src, 4);
	memcpy(pkt + 16, &dst, 4);
	c = csum(pkt, 20);
	pkt[10] = (uint8_t)(c >> 8);
	pkt[11] = (uint8_t)c;
}

/* An IPv4 ICMP echo request of @total bytes from @src to @dst. */
static size_t build_echo(uint8_t *pkt, size_t total, struct in_addr src, struct in_addr dst,
			 uint16_t seq)
{
	uint16_t c;

	build_ip4(pkt, total, 1, src, dst);
	pkt[20] = 8;   /* echo request */
	pkt[24] = 0x12;
	pkt[25] = 0x34;
	pkt[26] = (uint8_t)(seq >> 8);
	pkt[27] = (uint8_t)seq;
	for (size_t i = 28; i < total; i++)
		pkt[i] = (uint8_t)(i * 7 + seq);
	c = csum(pkt + 20, total - 20);
	pkt[22] = (uint8_t)(c >> 8);
	pkt[23] = (uint8_t)c;
	return total;
}

/* An IPv4 UDP datagram of @total bytes to port @port, payload bytes @fill. */
static size_t build_udp(uint8_t *pkt, size_t total, struct in_addr src, struct in_addr dst,
			uint16_t port, uint8_t fill)
{
	uint8_t pseudo[12];
	uint32_t sum = 0;
	uint16_t c;

	build_ip4(pkt, total, 17, src, dst);
	pkt[20] = 0x9c;
	pkt[21] = 0x40;
	pkt[22] = (uint8_t)(port >> 8);
	pkt[23] = (uint8_t)port;
	pkt[24] = (uint8_t)((total - 20) >> 8);
	pkt[25] = (uint8_t)(total - 20);
	memset(pkt + 28, fill, total - 28);
	/* the checksum over the pseudo-header, then the datagram */
	memcpy(pseudo, pkt + 12, 8);
	pseudo[8] = 0;
	pseudo[9] = 17;
	pseudo[10] = pkt[24];
	pseudo[11] = pkt[25];
	c = (uint16_t)~csum(pseudo, 12);
	sum = c + (uint16_t)~csum(pkt + 20, total - 20);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	c = (uint16_t)~sum ? (uint16_t)~sum : 0xffff;
	pkt[26] = (uint8_t)(c >> 8);
	pkt[27] = (uint8_t)c;
	return total;
}

/* Send @n UDP datagrams in one sendmmsg(); returns how many went. */
static int udp_burst(int fd, int n, size_t size, struct in_addr src, struct in_addr dst,
		     uint16_t port)
{
	uint8_t *pkts = malloc((size_t)n * size);
	struct mmsghdr *msgs = calloc((size_t)n, sizeof(*msgs));
	struct iovec *iov = calloc((size_t)n, sizeof(*iov));
	int sent = 0;

	for (int k = 0; k < n; k++) {
		iov[k].iov_base = pkts + (size_t)k * size;
		iov[k].iov_len = build_udp(iov[k].iov_base, size, src, dst, port, (uint8_t)k);
		msgs[k].msg_hdr.msg_iov = &iov[k];
		msgs[k].msg_hdr.msg_iovlen = 1;
	}
	while (sent < n) {
		int r = sendmmsg(fd, msgs + sent, (unsigned)(n - sent), 0);
		if (r <= 0)
			break;
		sent += r;
	}
	free(pkts);
	free(msgs);
	free(iov);
	return sent;
}

/* Is @r the intact echo reply to @req? */
static int is_reply(const uint8_t *r, size_t rlen, const uint8_t *req, size_t qlen)
{
	if (rlen != qlen || r[9] != 1 || r[20] != 0)
		return 0;
	if (memcmp(r + 12, req + 16, 4) || memcmp(r + 16, req + 12, 4))
		return 0;
	return memcmp(r + 24, req + 24, qlen - 24) == 0;
}

int main(int argc, char **argv)
{
	const char *local = NULL, *peer = NULL;
	int mtu = 1500, size = 1000, count = 10, wait_ms = 10000, oc = 0, interval_ms = 0, i;
	int burst = 0, port = 0, hold_ms = 300;
	struct in_addr src, dst;
	int sv[2], status, got = 0;
	uint8_t *req, *buf;
	pid_t pid;
	int64_t deadline, t0;
	char fdtext[16], mtutext[16];

	for (i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		if (!strcmp(argv[i], "--openconnect")) oc = 1;
		else if (!strcmp(argv[i], "--local")) local = argv[++i];
		else if (!strcmp(argv[i], "--peer")) peer = argv[++i];
		else if (!strcmp(argv[i], "--mtu")) mtu = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--size")) size = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--count")) count = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--wait-ms")) wait_ms = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--interval-ms")) interval_ms = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--udp-burst")) burst = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--udp-port")) port = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--hold-ms")) hold_ms = atoi(argv[++i]);
	}
	if (i >= argc - 1 || !local || !peer || inet_pton(AF_INET, local, &dst) != 1 ||
	    inet_pton(AF_INET, peer, &src) != 1 || size < 28 || size > 65535) {
		fprintf(stderr, "usage: tuntap-peer [--openconnect] --local A --peer A --mtu N --size N --count N -- PROG...\n");
		return 2;
	}
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) < 0)
		return 2;
	snprintf(fdtext, sizeof(fdtext), "%d", sv[1]);
	snprintf(mtutext, sizeof(mtutext), "%d", mtu);
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		setpgid(0, 0);
		if (oc) {
			setenv("VPNFD", fdtext, 1);
			setenv("INTERNAL_IP4_ADDRESS", local, 1);
			setenv("INTERNAL_IP4_NETMASKLEN", "24", 1);
			setenv("INTERNAL_IP4_MTU", mtutext, 1);
			{
				char ppid[16];
				snprintf(ppid, sizeof(ppid), "%d", (int)getppid());
				setenv("VPNPID", ppid, 1);
			}
		} else {
			setenv("TUNTAP_SOCKET_FD", fdtext, 1);
			setenv("TUNTAP_DEV_TYPE", "tun", 1);
			setenv("TUNTAP_MTU", mtutext, 1);
			setenv("ifconfig_local", local, 1);
			setenv("ifconfig_netmask", "255.255.255.0", 1);
		}
		execvp(argv[i + 1], argv + i + 1);
		perror("exec");
		_exit(127);
	}
	close(sv[1]);
	req = malloc(65536);
	buf = malloc(65536);
	t0 = now_ms();
	deadline = t0 + wait_ms;
	/* Wait for the tunnel: one small probe every 100 ms until it answers. */
	for (uint16_t seq = 0; got == 0 && now_ms() < deadline; seq++) {
		size_t len = build_echo(req, 84, src, dst, seq);
		struct pollfd p = { .fd = sv[0], .events = POLLIN };

		send(sv[0], req, len, MSG_DONTWAIT);
		while (poll(&p, 1, 100) > 0) {
			ssize_t n = recv(sv[0], buf, 65536, 0);
			if (n > 0 && is_reply(buf, (size_t)n, req, len)) {
				got = 1;
				break;
			}
		}
	}
	if (!got) {
		fprintf(stderr, "tuntap-peer: no answer within %d ms\n", wait_ms);
		kill(-pid, SIGKILL);
		waitpid(pid, &status, 0);
		printf("ready=0 replies=0/%d\n", count);
		return 1;
	}
	printf("ready_ms=%lld\n", (long long)(now_ms() - t0));
	got = 0;
	for (int n = 0; n < count; n++) {
		size_t len = build_echo(req, (size_t)size, src, dst, (uint16_t)(1000 + n));
		struct pollfd p = { .fd = sv[0], .events = POLLIN };
		int64_t until = now_ms() + 2000;

		if (interval_ms > 0 && n > 0)
			usleep((useconds_t)interval_ms * 1000);
		if (send(sv[0], req, len, 0) != (ssize_t)len) {
			perror("send");
			break;
		}
		while (now_ms() < until && poll(&p, 1, (int)(until - now_ms())) > 0) {
			ssize_t r = recv(sv[0], buf, 65536, 0);
			if (r > 0 && is_reply(buf, (size_t)r, req, len)) {
				got++;
				break;
			}
		}
	}
	printf("replies=%d/%d size=%d\n", got, count, size);
	if (burst > 0) {
		printf("udp_sent=%d\n", udp_burst(sv[0], burst, (size_t)size, src, dst, (uint16_t)port));
		fflush(stdout);
		usleep((useconds_t)hold_ms * 1000);
	}
	t0 = now_ms();
	if (oc)
		kill(-pid, SIGHUP);
	else
		kill(pid, SIGINT);
	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			break;
		if (now_ms() - t0 > 3000) {
			kill(-pid, SIGKILL);
			waitpid(pid, &status, 0);
			printf("exit=killed\n");
			return 1;
		}
		usleep(10000);
	}
	printf("exit_ms=%lld exit=%d\n", (long long)(now_ms() - t0),
	       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	return got == count && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
