/* sandboxfs.c - the sandbox's private view of /etc: resolv.conf, nsswitch.conf, hidden resolver sockets
 *
 * A private network namespace is not enough to stop DNS leaks: glibc's NSS
 * modules talk to systemd-resolved (nss-resolve), nscd and avahi (nss-mdns)
 * over Unix sockets, and Unix sockets cross network namespaces.  So the
 * holder gives its mount namespace an /etc of its own: overlayfs with the
 * upper directory in the state directory (Linux >= 5.11 allows this in a
 * user namespace), or, where that is refused, bind mounts over the two files
 * that matter.  A bind mount hangs on the dentry it covers, so when the host
 * renames a new resolv.conf into place the bind is lost inside; the holder
 * watches /etc and calls sandboxfs_repair() to put it back.  The covers over
 * the resolver directories are lost the same way when the host removes such
 * a directory (since Linux 3.18 that detaches the mounts on it in every
 * other mount namespace) and makes it again, as a resolver that restarts
 * may; one the host makes only after the sandbox started had no cover at
 * all.  The holder watches their parents and calls sandboxfs_hide_resolvers().
 */
#include "sandboxfs.h"
#include "util.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

const char sandboxfs_resolv_offline[] =
	"# vpnns: no VPN is attached to this sandbox, so no name server is reachable.\n"
	"# 127.0.0.1 is the sandbox's own loopback, not the host's.\n"
	"nameserver 127.0.0.1\n"
	"options attempts:1 timeout:1\n";

const char *const sandboxfs_hidden_dirs[SANDBOXFS_N_HIDDEN + 1] = {
	"/run/systemd/resolve",  /* io.systemd.Resolve varlink: nss-resolve */
	"/run/nscd",             /* nscd answers host lookups from its cache */
	"/run/avahi-daemon",     /* nss-mdns */
	NULL,
};

void sandboxfs_free(Sandboxfs *fs)
{
	if (!fs)
		return;
	g_free(fs->gendir);
	g_free(fs->resolv_src);
	g_free(fs->nss_src);
	g_free(fs);
}

static gboolean sandboxfs_is_dropped_source(const char *word)
{
	static const char *const dropped[] = { "resolve", "mdns", "mdns4", "mdns6",
		"mdns_minimal", "mdns4_minimal", "mdns6_minimal", "wins", NULL };

	return g_strv_contains(dropped, word);
}

static char *sandboxfs_filter_hosts(const char *sources)
{
	g_auto(GStrv) words = g_strsplit_set(sources, " \t", -1);
	g_autoptr(GString) out = g_string_new(NULL);
	gboolean skipping = FALSE, have_dns = FALSE, in_action = FALSE;

	for (char **w = words; *w; w++) {
		if (!**w)
			continue;
		/* [action] items belong to the source before them, and may
		 * contain spaces inside the brackets. */
		if (in_action || **w == '[') {
			in_action = !strchr(*w, ']');
			if (!skipping)
				g_string_append_printf(out, " %s", *w);
			continue;
		}
		skipping = sandboxfs_is_dropped_source(*w);
		if (skipping)
			continue;
		if (!strcmp(*w, "dns"))
			have_dns = TRUE;
		g_string_append_printf(out, " %s", *w);
	}
	if (!have_dns)
		g_string_append(out, " dns");
	return g_strdup(out->str + 1);
}

char *sandboxfs_nsswitch_filter(const char *nsswitch)
{
	g_auto(GStrv) lines = g_strsplit(nsswitch ? nsswitch : "", "\n", -1);
	g_autoptr(GString) out = g_string_new(NULL);
	gboolean have_hosts = FALSE;

	for (char **l = lines; *l; l++) {
		const char *p = *l;

		while (*p == ' ' || *p == '\t')
			p++;
		if (g_str_has_prefix(p, "hosts:") && !have_hosts) {
			g_autofree char *kept = sandboxfs_filter_hosts(p + strlen("hosts:"));

			g_string_append_printf(out, "hosts:          %s", kept);
			have_hosts = TRUE;
		} else if (g_str_has_prefix(p, "hosts:")) {
			continue; /* glibc uses the first; drop later ones */
		} else {
			g_string_append(out, *l);
		}
		if (l[1])
			g_string_append_c(out, '\n');
	}
	if (!have_hosts) {
		if (out->len && out->str[out->len - 1] != '\n')
			g_string_append_c(out, '\n');
		g_string_append(out, "hosts:          files dns\n");
	}
	return g_string_free(g_steal_pointer(&out), FALSE);
}

static char *sandboxfs_nsswitch_contents(void)
{
	g_autofree char *host = NULL;

	g_file_get_contents("/etc/nsswitch.conf", &host, NULL, NULL);
	return sandboxfs_nsswitch_filter(host);
}

/* Write @contents as /etc/@file inside the overlay, replacing whatever is
 * there, a symlink included (the host's target may not even exist). */
static gboolean sandboxfs_overlay_write(const char *file, const char *contents, GError **error)
{
	g_autofree char *path = g_build_filename("/etc", file, NULL);

	if (unlink(path) < 0 && errno != ENOENT)
		return vpnns_set_errno(error, errno, "cannot replace %s in the sandbox", path);
	return vpnns_write_file(path, contents, 0644, error);
}

static gboolean sandboxfs_mount_overlay(Sandboxfs *fs, GError **error)
{
	g_autofree char *upper = g_build_filename(fs->gendir, "etc.upper", NULL);
	g_autofree char *work = g_build_filename(fs->gendir, "etc.work", NULL);
	g_autofree char *opts = NULL;

	if ((mkdir(upper, 0755) < 0 && errno != EEXIST) || (mkdir(work, 0700) < 0 && errno != EEXIST))
		return vpnns_set_errno(error, errno, "cannot create the overlay directories in %s", fs->gendir);
	opts = g_strdup_printf("lowerdir=/etc,upperdir=%s,workdir=%s", upper, work);
	if (mount("overlay", "/etc", "overlay", MS_NOSUID | MS_NODEV, opts) < 0)
		return vpnns_set_errno(error, errno, "cannot mount an overlay on /etc");
	return TRUE;
}

/* Bind @src over @target; a dangling symlink at @target is not mountable,
 * so then the file it points to must be created, which we refuse to do on
 * the host: report it. */
static gboolean sandboxfs_bind(const char *src, const char *target, GError **error)
{
	if (mount(src, target, NULL, MS_BIND, NULL) < 0)
		return vpnns_set_errno(error, errno, "cannot bind %s over %s", src, target);
	return TRUE;
}

static gboolean sandboxfs_same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	return stat(a, &sa) == 0 && stat(b, &sb) == 0 &&
	       sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* Where the symlink /etc/@name points, as an absolute path (not
 * canonical); NULL when it is no symlink. */
static char *sandboxfs_etc_link(const char *name)
{
	g_autofree char *path = g_build_filename("/etc", name, NULL);
	g_autofree char *link = g_file_read_link(path, NULL);

	if (!link)
		return NULL;
	return g_path_is_absolute(link) ? g_steal_pointer(&link) : g_build_filename("/etc", link, NULL);
}

/* The file a bind over /etc/@name really lands on (mount(2) follows
 * symlinks).  When that target is missing - typically because /etc/resolv.conf
 * points into /run/systemd/resolve, which sandboxfs_hide_resolvers() just
 * covered with an empty tmpfs - create an empty placeholder, but only inside
 * one of our own tmpfs mounts, never on the host. */
static char *sandboxfs_bind_target(const char *name, GError **error)
{
	g_autofree char *path = g_build_filename("/etc", name, NULL);
	g_autofree char *target = sandboxfs_etc_link(name);
	g_autofree char *dir = NULL;
	g_autofree char *leaf = NULL;
	vpnns_autofd int fd = -1;

	if (!target)
		return g_steal_pointer(&path);
	/* "../run/x": compare canonical directories, not spellings */
	leaf = g_path_get_basename(target);
	dir = g_path_get_dirname(target);
	{
		char *real = realpath(dir, NULL);

		if (real) {
			g_free(target);
			target = g_build_filename(real, leaf, NULL);
			g_free(dir);
			dir = real;
		}
	}
	if (access(target, F_OK) == 0)
		return g_steal_pointer(&target);
	for (const char *const *d = sandboxfs_hidden_dirs; *d; d++) {
		if (strcmp(dir, *d) != 0)
			continue;
		fd = open(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
		if (fd < 0)
			break;
		return g_steal_pointer(&target);
	}
	g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_FAILED,
		    "%s is a symlink to %s, which does not exist; cannot bind a private copy over it",
		    path, target);
	return NULL;
}


static gboolean sandboxfs_setup_bind(Sandboxfs *fs, GError **error)
{
	g_autofree char *nss = sandboxfs_nsswitch_contents();

	fs->mode = SANDBOXFS_BIND;
	fs->resolv_src = g_build_filename(fs->gendir, "resolv.conf", NULL);
	fs->nss_src = g_build_filename(fs->gendir, "nsswitch.conf", NULL);
	if (!vpnns_write_file(fs->resolv_src, sandboxfs_resolv_offline, 0644, error) ||
	    !vpnns_write_file(fs->nss_src, nss, 0644, error))
		return FALSE;
	return sandboxfs_repair(fs, NULL, error);
}

char *sandboxfs_hide_resolvers(Sandboxfs *fs)
{
	g_autoptr(GString) done = g_string_new(NULL);

	for (int i = 0; sandboxfs_hidden_dirs[i]; i++) {
		const char *d = sandboxfs_hidden_dirs[i];
		struct stat st;

		if (stat(d, &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		if (fs->hidden_dev[i] && st.st_dev == fs->hidden_dev[i])
			continue; /* our cover is still there */
		if (mount("vpnns-hidden", d, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
			  "size=16k,nr_inodes=16,mode=0755") < 0) {
			g_warning("cannot hide %s inside the sandbox: %s", d, g_strerror(errno));
			continue;
		}
		fs->hidden_dev[i] = stat(d, &st) == 0 ? st.st_dev : 0;
		g_string_append_printf(done, "%s%s", done->len ? ", " : "", d);
	}
	return done->len ? g_string_free(g_steal_pointer(&done), FALSE) : NULL;
}

char **sandboxfs_watch_dirs(const Sandboxfs *fs)
{
	g_autoptr(GPtrArray) dirs = g_ptr_array_new_with_free_func(g_free);

	if (fs->mode == SANDBOXFS_BIND) {
		g_autofree char *target = sandboxfs_etc_link("resolv.conf");

		g_ptr_array_add(dirs, g_strdup("/etc"));
		if (target)
			g_ptr_array_add(dirs, g_path_get_dirname(target));
	}
	for (const char *const *d = sandboxfs_hidden_dirs; *d; d++) {
		char *parent = g_path_get_dirname(*d);

		/* /run/systemd appears with systemd-resolved: watch /run for it */
		while (!g_file_test(parent, G_FILE_TEST_IS_DIR) && strcmp(parent, "/") != 0) {
			char *up = g_path_get_dirname(parent);

			g_free(parent);
			parent = up;
		}
		g_ptr_array_add(dirs, parent);
	}
	g_ptr_array_add(dirs, NULL);
	return (char **)g_ptr_array_steal(dirs, NULL);
}

/* Copy the readable files, symlinks and subdirectories of @src into @dst
 * (one level of subdirectories is all /etc/ssh has). */
static void sandboxfs_copy_tree(const char *src, const char *dst, int depth)
{
	g_autoptr(GDir) dir = g_dir_open(src, 0, NULL);
	const char *name;

	if (!dir || mkdir(dst, 0755) < 0)
		return;
	while ((name = g_dir_read_name(dir))) {
		g_autofree char *from = g_build_filename(src, name, NULL);
		g_autofree char *to = g_build_filename(dst, name, NULL);
		g_autofree char *link = g_file_read_link(from, NULL);
		g_autofree char *text = NULL;
		gsize len;

		if (link) {
			if (symlink(link, to) < 0)
				g_debug("cannot copy the symlink %s", from);
		} else if (g_file_test(from, G_FILE_TEST_IS_DIR)) {
			if (depth < 2)
				sandboxfs_copy_tree(from, to, depth + 1);
		} else if (g_file_get_contents(from, &text, &len, NULL)) {
			/* unreadable files (the server's host keys) are left out */
			g_file_set_contents_full(to, text, (gssize)len, G_FILE_SET_CONTENTS_NONE, 0644, NULL);
		}
	}
}

/* ssh refuses configuration files owned by anyone but root or the user,
 * and inside a user namespace root's files belong to nobody: every file in
 * /etc/ssh/ssh_config.d makes ssh fail ("Bad owner or permissions").  Give
 * the sandbox a copy of the client configuration that is the user's own. */
static void sandboxfs_private_ssh(const Sandboxfs *fs)
{
	g_autofree char *copy = g_build_filename(fs->gendir, "ssh", NULL);

	if (!g_file_test("/etc/ssh", G_FILE_TEST_IS_DIR))
		return;
	sandboxfs_copy_tree("/etc/ssh", copy, 0);
	if (!g_file_test(copy, G_FILE_TEST_IS_DIR) ||
	    mount(copy, "/etc/ssh", NULL, MS_BIND, NULL) < 0)
		g_warning("cannot give the sandbox its own /etc/ssh; ssh may refuse root-owned "
			  "configuration files inside");
}

Sandboxfs *sandboxfs_setup(const char *gendir, gboolean force_bind, GError **error)
{
	g_autoptr(Sandboxfs) fs = g_new0(Sandboxfs, 1);
	g_autoptr(GError) overlay_error = NULL;
	g_autofree char *nss = NULL;

	fs->gendir = g_strdup(gendir);
	/* Slave, not private: mounts the host makes later (a USB stick, a
	 * network share) still appear inside, but nothing mounted here can
	 * propagate out to the host. */
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0) {
		vpnns_set_errno(error, errno, "cannot make the sandbox's mounts private");
		return NULL;
	}

	g_free(sandboxfs_hide_resolvers(fs));
	if (!force_bind && sandboxfs_mount_overlay(fs, &overlay_error)) {
		fs->mode = SANDBOXFS_OVERLAY;
		nss = sandboxfs_nsswitch_contents();
		if (!sandboxfs_overlay_write("resolv.conf", sandboxfs_resolv_offline, error) ||
		    !sandboxfs_overlay_write("nsswitch.conf", nss, error))
			return NULL;
	} else {
		if (overlay_error)
			g_message("%s; using bind mounts instead", overlay_error->message);
		if (!sandboxfs_setup_bind(fs, error))
			return NULL;
	}
	sandboxfs_private_ssh(fs);
	return g_steal_pointer(&fs);
}

gboolean sandboxfs_set_resolv(Sandboxfs *fs, const char *contents, GError **error)
{
	g_autofree char *tmp = NULL;
	vpnns_autofd int fd = -1;

	if (fs->mode == SANDBOXFS_OVERLAY)
		return sandboxfs_overlay_write("resolv.conf", contents, error);
	/* Bind mode: rewrite the bound file in place; renaming over it would
	 * detach the bind mount. */
	fd = open(fs->resolv_src, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return vpnns_set_errno(error, errno, "cannot write %s", fs->resolv_src);
	return vpnns_write_all(fd, contents, strlen(contents), error);
}

static gboolean sandboxfs_rebind(const char *src, const char *name, gboolean *repaired,
				 GError **error)
{
	g_autofree char *target = NULL;
	g_autofree char *path = g_build_filename("/etc", name, NULL);

	if (sandboxfs_same_file(src, path))
		return TRUE;
	target = sandboxfs_bind_target(name, error);
	if (!target || !sandboxfs_bind(src, target, error))
		return FALSE;
	if (repaired)
		*repaired = TRUE;
	return TRUE;
}

gboolean sandboxfs_repair(Sandboxfs *fs, gboolean *repaired, GError **error)
{
	if (repaired)
		*repaired = FALSE;
	if (fs->mode != SANDBOXFS_BIND)
		return TRUE;
	return sandboxfs_rebind(fs->resolv_src, "resolv.conf", repaired, error) &&
	       sandboxfs_rebind(fs->nss_src, "nsswitch.conf", repaired, error);
}
