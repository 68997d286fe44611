/* fake-holder.c - an impostor holder, for privilege-boundary tests.
 *
 * Listens on a control-socket path and answers vpnns's requests the way a
 * hostile process would: STATUS with an empty dictionary, GET_NETNS and
 * JOIN with the fd of *its own* network namespace.  Run it in the host
 * namespace and it offers the host's; run it with --unshare and it first
 * makes a user+network namespace of its own and offers that.  The kernel
 * path must refuse both: the namespace's owner is not the target user.
 *
 *   fake-holder [--unshare] SOCKET-PATH
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

struct hdr { uint16_t version, op; uint32_t len; } __attribute__((packed));

static void reply(int c, int fd)
{
	struct hdr h = { 1, 100, 0 }; /* version 1, REPLY_OK, empty a{sv} */
	struct iovec iov = { &h, sizeof(h) };
	char cbuf[CMSG_SPACE(sizeof(int) * 4)];
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	int fds[4] = { fd, fd, fd, fd };

	if (fd >= 0) {
		struct cmsghdr *cm;

		memset(cbuf, 0, sizeof(cbuf));
		m.msg_control = cbuf;
		m.msg_controllen = CMSG_SPACE(sizeof(int));
		cm = CMSG_FIRSTHDR(&m);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), fds, sizeof(int));
	}
	sendmsg(c, &m, MSG_NOSIGNAL);
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *path = argv[argc - 1];
	int ls, netns;

	if (argc < 2)
		return 2;
	if (argc > 2 && !strcmp(argv[1], "--unshare") && unshare(CLONE_NEWUSER | CLONE_NEWNET) < 0) {
		perror("unshare");
		return 1;
	}
	netns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	ls = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (netns < 0 || ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(ls, 8) < 0) {
		perror("fake-holder");
		return 1;
	}
	chmod(path, 0777);
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		int c = accept(ls, NULL, NULL);
		char buf[65536];
		ssize_t n;

		if (c < 0)
			continue;
		while ((n = recv(c, buf, sizeof(buf), 0)) >= (ssize_t)sizeof(struct hdr)) {
			struct hdr h;

			memcpy(&h, buf, sizeof(h));
			reply(c, h.op == 1 || h.op == 4 ? netns : -1); /* JOIN, GET_NETNS */
		}
		close(c);
	}
}
