/* fdpass.h - sending and receiving messages with file descriptors (SCM_RIGHTS) */
#pragma once

#include <glib.h>
#include <sys/socket.h>

/* Send one datagram with @nfds fds attached. */
gboolean fdpass_send(int sock, const void *buf, size_t len, const int *fds,
		     size_t nfds, GError **error);

/* Receive one datagram into @buf.  Up to @max_fds received fds are stored in
 * @fds (close-on-exec) and counted in @nfds; any beyond that, and any
 * control message that is not SCM_RIGHTS, are closed and make the call
 * fail.  A datagram larger than @size fails (it is never silently cut).
 * Returns the datagram length, 0 when the peer closed (or reset the
 * connection), -1 on error. */
gssize fdpass_recv(int sock, void *buf, size_t size, int *fds, size_t max_fds,
		   size_t *nfds, GError **error);

/* The credentials of the process at the other end of @sock. */
gboolean fdpass_peercred(int sock, struct ucred *cred, GError **error);

/* Close @nfds fds in @fds and set them to -1. */
void fdpass_close_all(int *fds, size_t nfds);
