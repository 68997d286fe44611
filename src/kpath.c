/* kpath.c - the kernel path: a root VPN client's tun moved into a user's sandbox
 *
 * Theory of operation.  Root runs the VPN client and holds its tun; the
 * sandbox belongs to a user.  Root never acts on the user's files or trusts
 * what it reads there: every talk with the holder happens in a child that
 * has irrevocably become the user (so the sandbox is created as the user,
 * never as root), and the one thing root receives back - the network
 * namespace fd - is checked with NS_GET_USERNS + NS_GET_OWNER_UID before
 * root moves the device into it.  Packets then flow in the kernel.
 */
#include "kpath.h"
#include "fdpass.h"
#include "hook.h"
#include "netcfg.h"
#include "ns.h"
#include "util.h"

#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* KPATH_WATCH: ask the holder to tell us when the sandbox ends.  An answer
 * means it was ended on purpose (vpnns stop, logout); the connection
 * closing without one means the holder died. */
static int kpath_watch(VpnnsClient *client)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(CtlMsg) reply = client_request(client, CTL_OP_WATCH, NULL, NULL, -1, &error);

	if (reply)
		return KPATH_WATCH_GONE;
	/* a holder of an older vpnns answers "unknown operation": no watch */
	if (g_error_matches(error, VPNNS_ERROR, VPNNS_ERROR_PROTOCOL) ||
	    g_error_matches(error, VPNNS_ERROR, VPNNS_ERROR_UNSUPPORTED))
		return KPATH_WATCH_UNSUPPORTED;
	return KPATH_WATCH_DIED;
}

void kpath_user_clear(KpathUser *u)
{
	g_clear_pointer(&u->name, g_free);
	g_clear_pointer(&u->home, g_free);
}

/* The user whose sandbox receives the tunnel: --user, else the one who ran
 * sudo or pkexec, else the caller. */
gboolean kpath_user_lookup(const char *spec, KpathUser *u, GError **error)
{
	struct passwd *pw = NULL;
	guint64 uid;

	if (!spec)
		spec = g_getenv("SUDO_UID");
	if (!spec)
		spec = g_getenv("PKEXEC_UID");
	if (!spec) {
		pw = getpwuid(getuid());
	} else if (vpncfg_parse_uint("--user", spec, 0, G_MAXUINT32 - 1, &uid, NULL)) {
		pw = getpwuid((uid_t)uid);
	} else {
		pw = getpwnam(spec);
	}
	if (!pw) {
		g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_NOT_FOUND, "no such user '%s'",
			    spec ? spec : "(the caller)");
		return FALSE;
	}
	if (pw->pw_uid == 0) {
		g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_INVALID,
			    "the kernel path moves the tunnel into a user's sandbox: say whose "
			    "(vpnns --attach --user NAME, or user=NAME for the OpenVPN plug-in); "
			    "root's own sandbox is not supported");
		return FALSE;
	}
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	u->name = g_strdup(pw->pw_name);
	u->home = g_strdup(pw->pw_dir);
	return TRUE;
}

/* In a forked child: become @u for good, with an environment to match. */
static gboolean kpath_become(const KpathUser *u, GError **error)
{
	g_autofree char *xdg = g_strdup_printf("/run/user/%u", (unsigned)u->uid);
	struct stat st;

	if (getuid() == 0 && initgroups(u->name, u->gid) < 0)
		return vpnns_set_errno(error, errno, "initgroups");
	if (setresgid(u->gid, u->gid, u->gid) < 0 || setresuid(u->uid, u->uid, u->uid) < 0)
		return vpnns_set_errno(error, errno, "cannot become user %s", u->name);
	if (getuid() != u->uid || geteuid() != u->uid) {
		g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_PERMISSION, "still not user %s", u->name);
		return FALSE;
	}
	/* Changing uid made us non-dumpable, which leaves /proc/self owned by
	 * root: the holder could not write its own uid_map.  We are wholly the
	 * user now, holding nothing of root's but the VPN's environment. */
	if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
		return vpnns_set_errno(error, errno, "PR_SET_DUMPABLE");
	g_setenv("HOME", u->home, TRUE);
	g_setenv("USER", u->name, TRUE);
	g_setenv("LOGNAME", u->name, TRUE);
	if (lstat(xdg, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == u->uid)
		g_setenv("XDG_RUNTIME_DIR", xdg, TRUE);
	else
		g_unsetenv("XDG_RUNTIME_DIR");
	return TRUE;
}


/* Refuse before anything moves: a second tunnel would be pushed into the
 * sandbox only to be turned away by the holder. */
static gboolean kpath_sandbox_free(VpnnsClient *client, const VpnnsOptions *opts,
				   const VpnConfig *cfg)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(CtlMsg) status = client_request(client, CTL_OP_STATUS, NULL, NULL,
						 HOOK_TIMEOUT_MS, &error);
	const char *tunnel = NULL, *mode = NULL;
	const char *want = opts->mode ? opts->mode : "kernel";

	if (!status) {
		g_printerr("vpnns: %s\n", error->message);
		return FALSE;
	}
	g_variant_lookup(status->body, "tunnel", "&s", &tunnel);
	g_variant_lookup(status->body, "mode", "&s", &mode);
	if (tunnel && (g_strcmp0(tunnel, cfg->ifname) != 0 || g_strcmp0(mode, want) != 0)) {
		g_printerr("vpnns: sandbox '%s' already has a VPN attached (%s, %s path); "
			   "disconnect it first\n", opts->name, tunnel, mode ? mode : "?");
		return FALSE;
	}
	return TRUE;
}

/* The child's side: talk to the holder as the user. */
static int kpath_child(const VpnnsOptions *opts, KpathOp op, const VpnConfig *cfg,
		       pid_t vpn_pid, int sock)
{
	GError *error = NULL;
	g_autoptr(VpnnsClient) client = NULL;
	g_autoptr(CtlMsg) reply = NULL;
	GVariantDict d;
	int netns = -1;

	client = hook_open(opts, op == KPATH_DECONFIGURE || op == KPATH_WATCH ? CLIENT_EXISTING
			     : CLIENT_JOIN, &error);
	if (!client) {
		if (op == KPATH_DECONFIGURE)
			return 0; /* no sandbox: nothing to take down */
		if (op == KPATH_WATCH)
			return KPATH_WATCH_GONE;
		return hook_fail(error, NULL);
	}
	switch (op) {
	case KPATH_ENSURE:
		return 0;
	case KPATH_NETNS:
		if (!kpath_sandbox_free(client, opts, cfg))
			return 1;
		reply = client_request(client, CTL_OP_GET_NETNS, NULL, &netns, HOOK_TIMEOUT_MS, &error);
		if (!reply || !fdpass_send(sock, "n", 1, &netns, 1, &error))
			return hook_fail(error, NULL);
		return 0;
	case KPATH_CONFIGURE:
		if (opts->script) {
			int status = hook_run_script(client, opts->script,
						     opts->reason ? opts->reason : "connect", cfg->ifname);

			if (status != 0)
				return status;
		}
		if (!hook_request(client, CTL_OP_CONFIGURE,
				    hook_configure_body(cfg, opts->mode ? opts->mode : "kernel", vpn_pid,
							!opts->script), &error))
			return hook_fail(error, NULL);
		return 0;
	case KPATH_WATCH:
		return kpath_watch(client);
	case KPATH_DECONFIGURE:
		if (opts->script && cfg->ifname)
			hook_run_script(client, opts->script, "disconnect", cfg->ifname);
		g_variant_dict_init(&d, NULL);
		if (cfg->ifname)
			g_variant_dict_insert(&d, "ifname", "s", cfg->ifname);
		if (!hook_request(client, CTL_OP_DECONFIGURE, g_variant_dict_end(&d), &error))
			return hook_fail(error, NULL);
		return 0;
	}
	return 1;
}

/* Run @op in a child that has become @u; a netns fd it sends ends up in
 * @netns (when not NULL).  Returns the child's exit status. */
int kpath_as_user(const VpnnsOptions *opts, const KpathUser *u, KpathOp op,
		  const VpnConfig *cfg, pid_t vpn_pid, int *netns)
{
	int sv[2], status;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return 1;
	pid = fork();
	if (pid == 0) {
		GError *error = NULL;

		close(sv[0]);
		if (!kpath_become(u, &error))
			_exit(hook_fail(error, NULL));
		_exit(kpath_child(opts, op, cfg, vpn_pid, sv[1]));
	}
	close(sv[1]);
	if (pid < 0) {
		close(sv[0]);
		return 1;
	}
	if (netns) {
		char c;
		size_t n = 0;

		*netns = -1;
		if (fdpass_recv(sv[0], &c, 1, netns, 1, &n, NULL) != 1 || n != 1)
			*netns = -1;
	}
	close(sv[0]);
	if (waitpid(pid, &status, 0) < 0)
		return 1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

pid_t kpath_watch_start(const VpnnsOptions *opts, const KpathUser *u)
{
	pid_t pid = fork();

	if (pid == 0) {
		GError *error = NULL;

		close_range(3, ~0U, 0); /* it watches; it needs none of our fds */
		if (!kpath_become(u, &error))
			_exit(hook_fail(error, NULL));
		/* Set after the uid change (which clears it): die with the
		 * helper, even where the helper may not signal the user's
		 * processes (a systemd unit without CAP_KILL). */
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		if (getppid() == 1)
			_exit(KPATH_WATCH_UNSUPPORTED);
		_exit(kpath_child(opts, KPATH_WATCH, NULL, 0, -1));
	}
	return pid;
}

/* Root's check: the namespace the user's holder sent is owned by the user. */
static gboolean kpath_verify_netns(int netns, const KpathUser *u, GError **error)
{
	uid_t owner;

	if (!ns_owner_uid(netns, &owner, error))
		return FALSE;
	if (owner != u->uid) {
		g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_PERMISSION,
			    "refusing to move the tunnel: the namespace offered as %s's sandbox belongs "
			    "to uid %u", u->name, (unsigned)owner);
		return FALSE;
	}
	return TRUE;
}

int kpath_connect(const VpnnsOptions *opts, const KpathUser *u,
				 VpnConfig *cfg, pid_t vpn_pid)
{
	GError *error = NULL;
	g_autoptr(NetcfgSocket) host = NULL;
	vpnns_autofd int netns = -1;
	int status;

	if (!cfg->ifname) {
		g_set_error(&error, VPNNS_ERROR, VPNNS_ERROR_INVALID, "TUNDEV is not set");
		return hook_fail(error, "malformed VPN environment");
	}
	status = kpath_as_user(opts, u, KPATH_NETNS, cfg, vpn_pid, &netns);
	if (status != 0 || netns < 0) {
		g_printerr("vpnns: cannot reach %s's sandbox '%s'\n", u->name, opts->name);
		return status ? status : 1;
	}
	if (!kpath_verify_netns(netns, u, &error))
		return hook_fail(error, NULL);
	host = netcfg_socket_new(&error);
	if (!host)
		return hook_fail(error, NULL);
	/* On reconnect the device is already inside: nothing to move. */
	if (netcfg_ifindex(host, cfg->ifname, NULL) > 0) {
		if (netcfg_link_has_addresses(host, cfg->ifname))
			g_printerr("vpnns: warning: %s was already configured on the host before vpnns "
				   "moved it into the sandbox; run the VPN client without configuring "
				   "it (OpenVPN: --ifconfig-noexec --route-noexec)\n", cfg->ifname);
		if (!netcfg_move_link(host, cfg->ifname, netns, &error))
			return hook_fail(error, NULL);
	}
	return kpath_as_user(opts, u, KPATH_CONFIGURE, cfg, vpn_pid, NULL);
}

int kpath_openconnect(const VpnnsOptions *opts, GHashTable *env, const OcEnvInfo *info)
{
	GError *error = NULL;
	g_autoptr(VpnConfig) cfg = NULL;
	KpathUser u = { 0 };
	int status = 0;

	if (!kpath_user_lookup(opts->user, &u, &error))
		return hook_fail(error, NULL);
	if (!g_strcmp0(info->reason, "attempt-reconnect")) {
		status = 0;
	} else if (!g_strcmp0(info->reason, "pre-init")) {
		status = kpath_as_user(opts, &u, KPATH_ENSURE, NULL, 0, NULL);
	} else if (!g_strcmp0(info->reason, "disconnect")) {
		cfg = vpncfg_new();
		cfg->ifname = g_strdup(g_hash_table_lookup(env, "TUNDEV"));
		status = kpath_as_user(opts, &u, KPATH_DECONFIGURE, cfg, info->vpnpid, NULL);
	} else { /* connect, reconnect */
		cfg = ocenv_parse_config(env, &error);
		if (!cfg) {
			kpath_user_clear(&u);
			return hook_fail(error, "malformed VPN environment");
		}
		VpnnsOptions o = *opts;

		o.reason = info->reason; /* connect or reconnect, for --script */
		status = kpath_connect(&o, &u, cfg, info->vpnpid);
	}
	kpath_user_clear(&u);
	return status;
}

