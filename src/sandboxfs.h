/* sandboxfs.h - the sandbox's private view of /etc: resolv.conf, nsswitch.conf, hidden resolver sockets */
#pragma once

#include <glib.h>
#include <sys/types.h>

typedef enum {
	SANDBOXFS_OVERLAY, /* overlayfs on /etc, upper directory in the state directory */
	SANDBOXFS_BIND,    /* bind mounts over the individual files */
} SandboxfsMode;

/* How many entries sandboxfs_hidden_dirs has (before its NULL). */
#define SANDBOXFS_N_HIDDEN 3

typedef struct {
	SandboxfsMode mode;
	char *gendir;      /* this sandbox generation's directory in the state dir */
	char *resolv_src;  /* bind mode: the file bound over /etc/resolv.conf */
	char *nss_src;     /* bind mode: the file bound over /etc/nsswitch.conf */
	dev_t hidden_dev[SANDBOXFS_N_HIDDEN]; /* st_dev of our cover over each hidden dir, 0: none */
} Sandboxfs;

void sandboxfs_free(Sandboxfs *fs);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Sandboxfs, sandboxfs_free)

/* In a fresh mount namespace: stop mount propagation to the host, give the
 * sandbox its own /etc/resolv.conf (naming no reachable server) and an
 * nsswitch.conf without resolver sources that bypass it, and hide the
 * systemd-resolved, nscd and avahi sockets.  Prefers an overlay on /etc;
 * falls back to bind mounts (or uses them when @force_bind). */
Sandboxfs *sandboxfs_setup(const char *gendir, gboolean force_bind, GError **error);

/* Replace the sandbox's resolv.conf with @contents. */
gboolean sandboxfs_set_resolv(Sandboxfs *fs, const char *contents, GError **error);

/* Bind mode: re-establish a bind mount the host broke by replacing the file
 * underneath it; @repaired (may be NULL) tells whether one had to be. */
gboolean sandboxfs_repair(Sandboxfs *fs, gboolean *repaired, GError **error);

/* Cover every hidden directory that exists and is not covered (any more):
 * one the host made after the sandbox started, or removed and made again.
 * Returns the directories it covered ("/run/nscd, ..."), NULL if none. */
char *sandboxfs_hide_resolvers(Sandboxfs *fs);

/* The directories to watch for host changes that undo the sandbox's view:
 * in bind mode /etc and the directory resolv.conf's symlink points into
 * now; always the nearest existing parent of each hidden directory.  Ask
 * again after every change (symlinks are re-pointed, directories made
 * anew).  NULL-terminated, for g_strfreev(). */
char **sandboxfs_watch_dirs(const Sandboxfs *fs);

/* The resolv.conf of a sandbox with no VPN attached. */
extern const char sandboxfs_resolv_offline[];

/* @nsswitch with the resolve, mdns* and similar sources taken off the hosts
 * line (with their [action] items), and dns added if nothing is left to
 * resolve names through resolv.conf.  Pure; unit-tested. */
char *sandboxfs_nsswitch_filter(const char *nsswitch);

/* The directories whose Unix sockets would let a query escape the network
 * namespace. */
extern const char *const sandboxfs_hidden_dirs[SANDBOXFS_N_HIDDEN + 1];
