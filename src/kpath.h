/* kpath.h - the kernel path: a root VPN client's tun moved into a user's sandbox */
#pragma once

#include "ocenv.h"
#include "options.h"
#include "vpncfg.h"

#include <sys/types.h>

typedef struct {
	uid_t uid;
	gid_t gid;
	char *name;
	char *home;
} KpathUser;

typedef enum {
	KPATH_ENSURE,       /* start the sandbox (as the user) */
	KPATH_NETNS,        /* fetch its network namespace fd */
	KPATH_CONFIGURE,    /* hand the holder a configuration */
	KPATH_DECONFIGURE,  /* take it back */
	KPATH_WATCH,        /* wait until the holder goes; exit status says how */
} KpathOp;

/* KPATH_WATCH's exit statuses */
#define KPATH_WATCH_GONE 0  /* the sandbox was stopped (or is not there) */
#define KPATH_WATCH_DIED 3  /* the holder died; the state directory remains */
#define KPATH_WATCH_UNSUPPORTED 4 /* the holder cannot be watched (another version) */

void kpath_user_clear(KpathUser *u);

/* The user whose sandbox receives the tunnel: @spec (a name or uid), else
 * the one who ran sudo or pkexec, else the caller.  Root is refused. */
gboolean kpath_user_lookup(const char *spec, KpathUser *u, GError **error);

/* Run @op for sandbox opts->name in a child that has become @u (the
 * configuration mode is opts->mode, default "kernel"); a netns fd it sends
 * lands in @netns.  With @pid, return at once with the child's pid there
 * (KPATH_WATCH).  Returns the child's exit status. */
int kpath_as_user(const VpnnsOptions *opts, const KpathUser *u, KpathOp op,
		  const VpnConfig *cfg, pid_t vpn_pid, int *netns);

/* Start a KPATH_WATCH child and return its pid (-1 on failure). */
pid_t kpath_watch_start(const VpnnsOptions *opts, const KpathUser *u);

/* Ensure the sandbox, verify its owner, move cfg->ifname into it if it is
 * still in our namespace (warning when it was configured here), and have
 * the holder configure it.  Returns an exit status. */
int kpath_connect(const VpnnsOptions *opts, const KpathUser *u, VpnConfig *cfg, pid_t vpn_pid);

/* openconnect's per-event calls (reason=...) as root. */
int kpath_openconnect(const VpnnsOptions *opts, GHashTable *env, const OcEnvInfo *info);
