/* paths.h - sandbox names, the per-identity state directory and its files */
#pragma once

#include <glib.h>
#include <sys/types.h>

#define VPNNS_DEFAULT_NAME "default"
#define VPNNS_NAME_MAX 64

/* The state directory of one sandbox and the files in it (see vpnns(1) FILES). */
typedef struct {
	char *name;
	char *dir;      /* the state directory, mode 0700, owned by the user */
	char *lock;     /* flock(2) target serialising creation, joins and stop */
	char *ctl;      /* the holder's SOCK_SEQPACKET control socket */
	char *pid;      /* the holder's pid and its namespaces' inode numbers */
	gboolean classic; /* ~/.vpnns-NAME: the parent is $HOME, not ours to create */
} VpnnsPaths;

void paths_free(VpnnsPaths *paths);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VpnnsPaths, paths_free)

/* Check that @name is a valid sandbox name: [A-Za-z0-9_.-], 1 to
 * VPNNS_NAME_MAX characters, no leading dot. */
gboolean paths_name_valid(const char *name, GError **error);

/* The directory holding every sandbox's state directory for the calling
 * user: @override if set, else $VPNNS_STATE_DIR, else
 * $XDG_RUNTIME_DIR/vpnns when XDG_RUNTIME_DIR is a directory the user owns,
 * else NULL meaning the classic ~/.vpnns-NAME layout. */
char *paths_base_dir(const char *override);

/* Build (without touching the file system) the paths of sandbox @name. */
VpnnsPaths *paths_new(const char *name, const char *override, GError **error);

/* Create the state directory (and its parent base directory) mode 0700
 * without following symlinks, or check that the existing one belongs to the
 * caller and is not accessible to others. */
gboolean paths_ensure_dir(const VpnnsPaths *paths, GError **error);

/* Check an existing state directory the same way; NOT_FOUND if it is absent. */
gboolean paths_check_dir(const VpnnsPaths *paths, GError **error);

/* Every sandbox name with a state directory for the caller, sorted. */
GPtrArray *paths_list_names(const char *override);

/* Remove the state directory and everything in it (the overlay's work
 * directory is mode 0 and is made writable first).  Does not follow symlinks. */
gboolean paths_remove_tree(const char *dir, GError **error);

/* The per-generation sandbox directory (overlay upper/work) for holder @pid. */
char *paths_generation_dir(const VpnnsPaths *paths, pid_t pid);
