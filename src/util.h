/* util.h - error helpers, fd cleanup and small I/O helpers shared by every part */
#pragma once

#include <errno.h>
#include <glib.h>
#include <stdbool.h>
#include <unistd.h>

#define VPNNS_ERROR (vpnns_error_quark())
GQuark vpnns_error_quark(void);

typedef enum {
	VPNNS_ERROR_FAILED,      /* generic */
	VPNNS_ERROR_INVALID,     /* bad input: a name, a message, a variable */
	VPNNS_ERROR_NOT_FOUND,   /* no such sandbox */
	VPNNS_ERROR_PERMISSION,  /* ownership or credential check failed */
	VPNNS_ERROR_UNSUPPORTED, /* the kernel forbids it (user namespaces off) */
	VPNNS_ERROR_PROTOCOL,    /* the peer spoke nonsense */
	VPNNS_ERROR_STOPPED,     /* the sandbox is stopping or gone */
} VpnnsErrorCode;

/* Fill @error from errno with a printf-style prefix; always returns FALSE. */
gboolean vpnns_set_errno(GError **error, int errsv, const char *fmt, ...)
	G_GNUC_PRINTF(3, 4);

/* An fd that closes itself when it goes out of scope (GLib 2.74 lacks g_autofd). */
static inline void vpnns_fd_cleanup(int *fd)
{
	if (*fd >= 0) {
		int errsv = errno;
		close(*fd);
		errno = errsv;
	}
}
#define vpnns_autofd __attribute__((cleanup(vpnns_fd_cleanup)))

static inline int vpnns_steal_fd(int *fd)
{
	int ret = *fd;
	*fd = -1;
	return ret;
}

/* Write all of @buf or fail. */
gboolean vpnns_write_all(int fd, const void *buf, size_t len, GError **error);

/* Write @contents to @path atomically (temp file + rename), mode @mode. */
gboolean vpnns_write_file(const char *path, const char *contents, int mode,
			  GError **error);

/* The command name of @pid (from /proc/PID/comm), or "?" */
char *vpnns_proc_comm(pid_t pid);

/* The process is gone, or a zombie: one still has credentials, hence a
 * user namespace, and (while its other threads exit) open files, but it is
 * already dead, and only its parent can make it go away. */
gboolean vpnns_pid_is_dead(pid_t pid);

/* Milliseconds on the monotonic clock. */
gint64 vpnns_now_ms(void);
