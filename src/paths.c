/* paths.c - sandbox names, the per-identity state directory and its files
 *
 * Every sandbox has a state directory that only its user can enter:
 * $XDG_RUNTIME_DIR/vpnns/NAME when the runtime directory exists and belongs
 * to the user, else the classic ~/.vpnns-NAME.  Names are restricted to a
 * small character set with no leading dot, so no name can climb out of the
 * base directory, and every directory is checked with lstat/O_NOFOLLOW so a
 * symlink planted by someone else is refused instead of followed.
 */
#include "paths.h"
#include "util.h"

#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>

void paths_free(VpnnsPaths *paths)
{
	if (!paths)
		return;
	g_free(paths->name);
	g_free(paths->dir);
	g_free(paths->lock);
	g_free(paths->ctl);
	g_free(paths->pid);
	g_free(paths);
}

gboolean paths_name_valid(const char *name, GError **error)
{
	size_t len = name ? strlen(name) : 0;

	if (len == 0) {
		g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_INVALID,
			    "invalid sandbox name: the name is empty");
		return FALSE;
	}
	if (len > VPNNS_NAME_MAX) {
		g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_INVALID,
			    "invalid sandbox name: %zu characters, at most %d are allowed",
			    len, VPNNS_NAME_MAX);
		return FALSE;
	}
	if (name[0] == '.') {
		g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_INVALID,
			    "invalid sandbox name '%s': it must not start with a dot", name);
		return FALSE;
	}
	for (const char *p = name; *p; p++) {
		if (g_ascii_isalnum(*p) || *p == '_' || *p == '.' || *p == '-')
			continue;
		g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_INVALID,
			    "invalid sandbox name: only letters, digits, '_', '.' and '-' are allowed");
		return FALSE;
	}
	return TRUE;
}

/* The classic vpnns (Debian's ocproxy package) keeps ~/.vpnns-NAME too,
 * mode 0755, with a "watcher" socket and no lock file of ours. */
static gboolean paths_is_classic_vpnns_dir(const char *dir)
{
	g_autofree char *watcher = g_build_filename(dir, "watcher", NULL);
	g_autofree char *lock = g_build_filename(dir, "lock", NULL);

	return g_file_test(watcher, G_FILE_TEST_EXISTS) && !g_file_test(lock, G_FILE_TEST_EXISTS);
}

/* A directory we may keep state in: a real directory (not a symlink), owned
 * by us.  @private_only additionally refuses access for group and others. */
static gboolean paths_dir_trusted(const char *dir, gboolean private_only, GError **error)
{
	struct stat st;

	if (lstat(dir, &st) < 0) {
		if (errno == ENOENT) {
			g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_NOT_FOUND,
				    "%s does not exist", dir);
			return FALSE;
		}
		return vpnns_set_errno(error, errno, "cannot examine %s", dir);
	}
	if (S_ISLNK(st.st_mode) || !S_ISDIR(st.st_mode)) {
		g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_PERMISSION,
			    "%s is not a directory (a symlink or another file is in its place); "
			    "refusing to use it: remove it and try again", dir);
		return FALSE;
	}
	if (st.st_uid != geteuid()) {
		g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_PERMISSION,
			    "%s belongs to uid %u, not to you (uid %u); refusing to use it",
			    dir, (unsigned)st.st_uid, (unsigned)geteuid());
		return FALSE;
	}
	if (private_only && (st.st_mode & 077) && paths_is_classic_vpnns_dir(dir)) {
		g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_PERMISSION,
			    "%s belongs to the classic vpnns (from the ocproxy package); end the "
			    "programs it runs and remove the directory, or choose another --name", dir);
		return FALSE;
	}
	if (private_only && (st.st_mode & 077)) {
		g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_PERMISSION,
			    "%s is accessible to other users (mode %04o); refusing to use it: "
			    "run 'chmod 700 %s' or remove it", dir,
			    (unsigned)(st.st_mode & 07777), dir);
		return FALSE;
	}
	return TRUE;
}

char *paths_base_dir(const char *override)
{
	const char *env = g_getenv("VPNNS_STATE_DIR");
	const char *xdg = g_getenv("XDG_RUNTIME_DIR");

	if (override && *override)
		return g_strdup(override);
	if (env && *env)
		return g_strdup(env);
	if (xdg && g_path_is_absolute(xdg) && paths_dir_trusted(xdg, FALSE, NULL))
		return g_build_filename(xdg, "vpnns", NULL);
	return NULL;
}

VpnnsPaths *paths_new(const char *name, const char *override, GError **error)
{
	g_autoptr(VpnnsPaths) paths = g_new0(VpnnsPaths, 1);
	g_autofree char *base = NULL;

	if (!paths_name_valid(name, error))
		return NULL;
	base = paths_base_dir(override);
	paths->name = g_strdup(name);
	if (base) {
		paths->dir = g_build_filename(base, name, NULL);
	} else {
		g_autofree char *leaf = g_strconcat(".vpnns-", name, NULL);
		paths->dir = g_build_filename(g_get_home_dir(), leaf, NULL);
		paths->classic = TRUE;
	}
	paths->lock = g_build_filename(paths->dir, "lock", NULL);
	paths->ctl = g_build_filename(paths->dir, "ctl", NULL);
	paths->pid = g_build_filename(paths->dir, "pid", NULL);

	if (strlen(paths->ctl) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_INVALID,
			    "the control socket path %s is %zu bytes long, but Unix sockets "
			    "allow at most %zu: use a shorter --state-dir (or VPNNS_STATE_DIR)",
			    paths->ctl, strlen(paths->ctl),
			    sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
		return NULL;
	}
	return g_steal_pointer(&paths);
}

static gboolean paths_mkdir_private(const char *dir, GError **error)
{
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return vpnns_set_errno(error, errno, "cannot create %s", dir);
	return paths_dir_trusted(dir, TRUE, error);
}

gboolean paths_ensure_dir(const VpnnsPaths *paths, GError **error)
{
	g_autofree char *parent = g_path_get_dirname(paths->dir);

	/* The classic layout lives directly in $HOME, which we do not create. */
	if (!paths->classic && !paths_mkdir_private(parent, error))
		return FALSE;
	return paths_mkdir_private(paths->dir, error);
}

gboolean paths_check_dir(const VpnnsPaths *paths, GError **error)
{
	return paths_dir_trusted(paths->dir, TRUE, error);
}

static gint paths_strcmp(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

GPtrArray *paths_list_names(const char *override)
{
	g_autofree char *base = paths_base_dir(override);
	const char *dir = base ? base : g_get_home_dir();
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return names;
	while ((de = readdir(d))) {
		const char *name = de->d_name;

		if (!base) {
			if (!g_str_has_prefix(name, ".vpnns-"))
				continue;
			name += strlen(".vpnns-");
		}
		if (!paths_name_valid(name, NULL))
			continue;
		if (!base) {
			g_autofree char *full = g_build_filename(dir, de->d_name, NULL);

			if (paths_is_classic_vpnns_dir(full))
				continue; /* not ours */
		}
		if (de->d_type == DT_UNKNOWN) { /* file systems that do not say */
			struct stat st;

			if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
			    !S_ISDIR(st.st_mode))
				continue;
		} else if (de->d_type != DT_DIR) {
			continue;
		}
		g_ptr_array_add(names, g_strdup(name));
	}
	closedir(d);
	g_ptr_array_sort(names, paths_strcmp);
	return names;
}

static gboolean paths_remove_at(int dirfd, const char *name, GError **error)
{
	struct stat st;
	vpnns_autofd int fd = -1;
	DIR *d;
	struct dirent *de;
	gboolean ok = TRUE;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? TRUE : vpnns_set_errno(error, errno, "cannot examine %s", name);
	if (!S_ISDIR(st.st_mode)) {
		if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
			return vpnns_set_errno(error, errno, "cannot remove %s", name);
		return TRUE;
	}
	/* overlayfs leaves its work/work directory with mode 0 */
	if ((st.st_mode & 0700) != 0700)
		(void)!fchmodat(dirfd, name, 0700, 0);
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return vpnns_set_errno(error, errno, "cannot open %s", name);
	d = fdopendir(dup(fd));
	if (!d)
		return vpnns_set_errno(error, errno, "cannot read %s", name);
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (!paths_remove_at(fd, de->d_name, ok ? error : NULL))
			ok = FALSE;
	}
	closedir(d);
	if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT && ok)
		return vpnns_set_errno(error, errno, "cannot remove %s", name);
	return ok;
}

gboolean paths_remove_tree(const char *dir, GError **error)
{
	g_autofree char *parent = g_path_get_dirname(dir);
	g_autofree char *leaf = g_path_get_basename(dir);
	vpnns_autofd int pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (pfd < 0)
		return vpnns_set_errno(error, errno, "cannot open %s", parent);
	return paths_remove_at(pfd, leaf, error);
}

char *paths_generation_dir(const VpnnsPaths *paths, pid_t pid)
{
	g_autofree char *leaf = g_strdup_printf("sandbox.%d", (int)pid);

	return g_build_filename(paths->dir, leaf, NULL);
}
