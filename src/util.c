/* util.c - error helpers, fd cleanup and small I/O helpers shared by every part */
#include "util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

G_DEFINE_QUARK(vpnns-error-quark, vpnns_error)

gboolean vpnns_set_errno(GError **error, int errsv, const char *fmt, ...)
{
	g_autofree char *prefix = NULL;
	va_list ap;

	va_start(ap, fmt);
	prefix = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errsv), "%s: %s",
		    prefix, g_strerror(errsv));
	return FALSE;
}

gboolean vpnns_write_all(int fd, const void *buf, size_t len, GError **error)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return vpnns_set_errno(error, errno, "write");
		p += n;
		len -= (size_t)n;
	}
	return TRUE;
}

gboolean vpnns_write_file(const char *path, const char *contents, int mode,
			  GError **error)
{
	g_autofree char *tmp = g_strdup_printf("%s.tmp.%d", path, (int)getpid());
	vpnns_autofd int fd = -1;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return vpnns_set_errno(error, errno, "cannot create %s", tmp);
	if (fchmod(fd, mode) < 0 ||
	    !vpnns_write_all(fd, contents, strlen(contents), NULL)) {
		int errsv = errno;
		unlink(tmp);
		return vpnns_set_errno(error, errsv, "cannot write %s", tmp);
	}
	if (rename(tmp, path) < 0) {
		int errsv = errno;
		unlink(tmp);
		return vpnns_set_errno(error, errsv, "cannot replace %s", path);
	}
	return TRUE;
}

char *vpnns_proc_comm(pid_t pid)
{
	g_autofree char *path = g_strdup_printf("/proc/%d/comm", (int)pid);
	g_autofree char *comm = NULL;

	if (!g_file_get_contents(path, &comm, NULL, NULL))
		return g_strdup("?");
	g_strchomp(comm);
	return g_steal_pointer(&comm);
}

gboolean vpnns_pid_is_dead(pid_t pid)
{
	char path[64], buf[256];
	vpnns_autofd int fd = -1;
	ssize_t n;
	char *paren;

	g_snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return TRUE;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return TRUE;
	buf[n] = 0;
	paren = strrchr(buf, ')');
	return !paren || paren[1] != ' ' || paren[2] == 'Z' || paren[2] == 'X';
}

gint64 vpnns_now_ms(void)
{
	return g_get_monotonic_time() / 1000;
}
