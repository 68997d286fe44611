/* ns.c - namespace creation (holder) and joining by file descriptor (clients)
 *
 * Theory of operation: the holder unshares user, network, mount and UTS
 * namespaces once and keeps them alive by living.  Everyone else enters them
 * through fds the holder sends over its control socket, never through
 * /proc/PID/ns paths, so a recycled PID can never lead a client into the
 * wrong namespace.  The user namespace maps the user to itself (uid uid 1,
 * setgroups deny): files keep their owner inside, and programs that refuse
 * to run as root (ssh's config checks, Chromium's sandbox) keep working.
 */
#include "ns.h"
#include "util.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

static const char *const ns_names[NS_COUNT] = { "user", "net", "mnt", "uts" };
static const int ns_types[NS_COUNT] = { CLONE_NEWUSER, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWUTS };

static gboolean ns_read_int(const char *path, long *value)
{
	g_autofree char *text = NULL;

	if (!g_file_get_contents(path, &text, NULL, NULL))
		return FALSE;
	*value = strtol(text, NULL, 10);
	return TRUE;
}

char *ns_userns_diagnosis(void)
{
	long v;

	if (ns_read_int("/proc/sys/kernel/unprivileged_userns_clone", &v) && v == 0)
		return g_strdup("unprivileged user namespaces are disabled: run "
				"'sudo sysctl kernel.unprivileged_userns_clone=1'");
	if (ns_read_int("/proc/sys/user/max_user_namespaces", &v) && v == 0)
		return g_strdup("user namespaces are disabled (user.max_user_namespaces = 0): run "
				"'sudo sysctl user.max_user_namespaces=15000'");
	if (ns_read_int("/proc/sys/kernel/apparmor_restrict_unprivileged_userns", &v) && v == 1)
		return g_strdup("AppArmor restricts unprivileged user namespaces: run "
				"'sudo sysctl kernel.apparmor_restrict_unprivileged_userns=0' "
				"or install an AppArmor profile for vpnns that allows 'userns'");
	return NULL;
}

static gboolean ns_userns_error(GError **error, int errsv, const char *what)
{
	g_autofree char *why = ns_userns_diagnosis();

	if (why) {
		g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_UNSUPPORTED,
			    "cannot create the sandbox (%s: %s): %s", what, g_strerror(errsv), why);
		return FALSE;
	}
	return vpnns_set_errno(error, errsv, "cannot create the sandbox (%s)", what);
}

static gboolean ns_write_proc(const char *file, const char *text, GError **error)
{
	g_autofree char *path = g_build_filename("/proc/self", file, NULL);
	vpnns_autofd int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		return ns_userns_error(error, errno, path);
	return TRUE;
}

gboolean ns_unshare_sandbox(GError **error)
{
	uid_t uid = geteuid();
	gid_t gid = getegid();
	char map[64];

	if (unshare(CLONE_NEWUSER | CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWUTS) < 0)
		return ns_userns_error(error, errno, "unshare");
	/* setgroups must be denied before an unprivileged gid_map write. */
	if (!ns_write_proc("setgroups", "deny", error))
		return FALSE;
	g_snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)uid, (unsigned)uid);
	if (!ns_write_proc("uid_map", map, error))
		return FALSE;
	g_snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)gid, (unsigned)gid);
	return ns_write_proc("gid_map", map, error);
}

gboolean ns_open_self(int fds[NS_COUNT], GError **error)
{
	for (int i = 0; i < NS_COUNT; i++)
		fds[i] = -1;
	for (int i = 0; i < NS_COUNT; i++) {
		g_autofree char *path = g_strdup_printf("/proc/self/ns/%s", ns_names[i]);

		fds[i] = open(path, O_RDONLY | O_CLOEXEC);
		if (fds[i] < 0) {
			int errsv = errno;
			for (int j = 0; j < i; j++)
				close(fds[j]);
			return vpnns_set_errno(error, errsv, "cannot open %s", path);
		}
	}
	return TRUE;
}

gboolean ns_join(const int fds[NS_COUNT], const char *cwd, GError **error)
{
	for (int i = 0; i < NS_COUNT; i++) {
		if (setns(fds[i], ns_types[i]) < 0)
			return vpnns_set_errno(error, errno, "cannot enter the sandbox's %s namespace",
					       ns_names[i]);
	}
	/* setns(CLONE_NEWNS) moved us to the root of the sandbox's mount tree. */
	if (cwd && chdir(cwd) == 0)
		return TRUE;
	if (chdir(g_get_home_dir()) == 0 || chdir("/") == 0)
		return TRUE;
	return vpnns_set_errno(error, errno, "cannot change directory inside the sandbox");
}

static gboolean ns_id_set(int ret, const struct stat *st, NsId *id)
{
	if (ret < 0)
		return FALSE;
	id->dev = st->st_dev;
	id->ino = st->st_ino;
	return TRUE;
}

gboolean ns_id_from_fd(int fd, NsId *id)
{
	struct stat st;

	return ns_id_set(fstat(fd, &st), &st, id);
}

gboolean ns_id_from_path(const char *path, NsId *id)
{
	struct stat st;

	return ns_id_set(stat(path, &st), &st, id);
}

static gboolean ns_id_equal(const NsId *a, const NsId *b)
{
	return a->dev == b->dev && a->ino == b->ino;
}

gboolean ns_pid_in_userns(pid_t pid, const NsId *userns)
{
	char path[64];
	vpnns_autofd int fd = -1;
	NsId id;

	g_snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return FALSE;
	/* Walk up the chain of parents; NS_GET_PARENT fails with EPERM once the
	 * parent lies outside what we may see, i.e. above the sandbox. */
	for (int depth = 0; depth < 33 && ns_id_from_fd(fd, &id); depth++) {
		int parent;

		if (ns_id_equal(&id, userns))
			return TRUE;
		parent = ioctl(fd, NS_GET_PARENT);
		if (parent < 0)
			return FALSE;
		close(fd);
		fd = parent;
	}
	return FALSE;
}

gboolean ns_owner_uid(int nsfd, uid_t *uid, GError **error)
{
	vpnns_autofd int userns = ioctl(nsfd, NS_GET_USERNS);

	if (userns < 0)
		return vpnns_set_errno(error, errno, "cannot find the namespace's owner (NS_GET_USERNS)");
	if (ioctl(userns, NS_GET_OWNER_UID, uid) < 0)
		return vpnns_set_errno(error, errno, "cannot find the namespace's owner (NS_GET_OWNER_UID)");
	return TRUE;
}

GArray *ns_list_pids(const NsId *userns, pid_t exclude)
{
	GArray *pids = g_array_new(FALSE, FALSE, sizeof(pid_t));
	DIR *d = opendir("/proc");
	struct dirent *de;

	if (!d)
		return pids;
	while ((de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		pid_t p;

		if (*end || pid <= 0 || pid == exclude)
			continue;
		p = (pid_t)pid;
		if (ns_pid_in_userns(p, userns) && !vpnns_pid_is_dead(p))
			g_array_append_val(pids, p);
	}
	closedir(d);
	return pids;
}

/* Add (pid, command, @killed) for each of @pids to @b. */
static void ns_record(GVariantBuilder *b, GArray *pids, gboolean killed)
{
	for (guint i = 0; i < pids->len; i++) {
		pid_t pid = g_array_index(pids, pid_t, i);
		g_autofree char *comm = vpnns_proc_comm(pid);

		g_variant_builder_add(b, "(usb)", (guint32)pid, comm, killed);
	}
}

void ns_end_processes(NsPidLister list, gpointer data, gint64 grace_ms, gint64 kill_wait_ms,
		      GVariantBuilder *b)
{
	g_autoptr(GHashTable) seen = g_hash_table_new(NULL, NULL);
	gint64 deadline = vpnns_now_ms() + grace_ms;
	g_autoptr(GArray) left = NULL;

	for (;;) {
		g_autoptr(GArray) pids = list(data);
		g_autoptr(GArray) fresh = g_array_new(FALSE, FALSE, sizeof(pid_t));

		for (guint i = 0; i < pids->len; i++) {
			pid_t pid = g_array_index(pids, pid_t, i);

			if (g_hash_table_add(seen, GINT_TO_POINTER(pid)))
				g_array_append_val(fresh, pid);
		}
		/* names first: a process that obeys at once is gone (and its
		 * /proc entry with it) before we could read its name after */
		ns_record(b, fresh, FALSE);
		for (guint i = 0; i < fresh->len; i++) {
			kill(g_array_index(fresh, pid_t, i), SIGTERM);
			kill(g_array_index(fresh, pid_t, i), SIGCONT);
		}
		if (pids->len == 0 || vpnns_now_ms() >= deadline)
			break;
		g_usleep(20 * 1000);
	}
	left = list(data);
	if (left->len == 0)
		return;
	ns_record(b, left, TRUE);
	for (guint i = 0; i < left->len; i++)
		kill(g_array_index(left, pid_t, i), SIGKILL);
	for (gint64 until = vpnns_now_ms() + kill_wait_ms; kill_wait_ms > 0;) {
		g_autoptr(GArray) still = list(data);

		if (still->len == 0)
			break;
		if (vpnns_now_ms() >= until) {
			g_warning("%u processes survived SIGKILL", still->len);
			break;
		}
		g_usleep(20 * 1000);
	}
}
