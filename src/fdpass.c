/* fdpass.c - sending and receiving messages with file descriptors (SCM_RIGHTS)
 *
 * The receive side walks every control message, checks its level, type and
 * length, and closes whatever it did not ask for: an fd smuggled into a
 * process is a resource leak at best and a confused deputy at worst.
 */
#include "fdpass.h"
#include "util.h"

#include <string.h>
#include <unistd.h>

gboolean fdpass_send(int sock, const void *buf, size_t len, const int *fds,
		     size_t nfds, GError **error)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 8)];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	g_return_val_if_fail(nfds <= 8, FALSE);
	if (nfds > 0) {
		struct cmsghdr *cmsg;

		memset(&u, 0, sizeof(u));
		msg.msg_control = u.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * nfds);
	}
	do
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return vpnns_set_errno(error, errno, "cannot send to the control socket");
	if ((size_t)n != len) {
		g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_PROTOCOL,
			    "short send on the control socket (%zd of %zu bytes)", n, len);
		return FALSE;
	}
	return TRUE;
}

void fdpass_close_all(int *fds, size_t nfds)
{
	for (size_t i = 0; i < nfds; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}

gssize fdpass_recv(int sock, void *buf, size_t size, int *fds, size_t max_fds,
		   size_t *nfds, GError **error)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 16)];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = buf, .iov_len = size };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = u.buf, .msg_controllen = sizeof(u.buf),
	};
	gboolean bad_cmsg = FALSE;
	ssize_t n;

	*nfds = 0;
	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	/* A peer that closed before it read what we sent - a holder that died
	 * with our connection still waiting to be accepted - resets it: for
	 * us the connection ended all the same. */
	if (n < 0 && errno == ECONNRESET)
		return 0;
	if (n < 0) {
		vpnns_set_errno(error, errno, "cannot receive from the control socket");
		return -1;
	}

	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		size_t count;
		int *data;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
		    c->cmsg_len < CMSG_LEN(0)) {
			bad_cmsg = TRUE;
			continue;
		}
		count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		data = (int *)CMSG_DATA(c);
		for (size_t i = 0; i < count; i++) {
			int fd;

			memcpy(&fd, data + i, sizeof(fd));
			if (*nfds < max_fds) {
				fds[(*nfds)++] = fd;
			} else {
				close(fd);
				bad_cmsg = TRUE;
			}
		}
	}

	if (msg.msg_flags & (MSG_CTRUNC | MSG_TRUNC) || bad_cmsg) {
		fdpass_close_all(fds, *nfds);
		*nfds = 0;
		g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_PROTOCOL, "%s",
			    msg.msg_flags & MSG_TRUNC ? "oversized message on the control socket"
			    : "unexpected file descriptors or control data on the control socket");
		return -1;
	}
	return n;
}

gboolean fdpass_peercred(int sock, struct ucred *cred, GError **error)
{
	socklen_t len = sizeof(*cred);

	if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, cred, &len) < 0)
		return vpnns_set_errno(error, errno, "SO_PEERCRED");
	return TRUE;
}
