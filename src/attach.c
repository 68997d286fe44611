/* attach.c - vpnns --attach: the hook a VPN client calls to bring its tunnel into a sandbox
 *
 * Theory of operation.  Two ways in, one configuration path:
 *
 * Relay path (openconnect --script-tun, OpenVPN 2.7 --dev-node unix:, no
 * root anywhere): the VPN client hands us a datagram socket.  We join (or
 * start) the user's sandbox, ask its holder for a tun device created
 * inside, receive the fd over SCM_RIGHTS, send the holder the parsed
 * configuration, and relay packets until the VPN client ends.
 *
 * Kernel path (openconnect as root, called once per event with reason and
 * TUNDEV): root never trusts the user's files.  A child drops to the
 * target user and, as that user, starts the sandbox and fetches its network
 * namespace fd from the holder; root checks with NS_GET_USERNS and
 * NS_GET_OWNER_UID that the namespace belongs to that user, moves TUNDEV
 * into it, and a user child hands the holder the configuration.  Packets
 * then never cross user space again.
 */
#include "attach.h"
#include "caps.h"
#include "client.h"
#include "commands.h"
#include "fdpass.h"
#include "netcfg.h"
#include "ns.h"
#include "ocenv.h"
#include "ovpnenv.h"
#include "relay.h"
#include "util.h"

#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#define ATTACH_TIMEOUT_MS 10000

static int attach_fail(GError *error, const char *context)
{
	g_printerr("vpnns --attach: %s%s%s\n", context ? context : "", context ? ": " : "",
		   error->message);
	g_error_free(error);
	return 1;
}

/* Send a request whose reply carries no fds. */
static gboolean attach_request(VpnnsClient *client, CtlOp op, GVariant *body, GError **error)
{
	g_autoptr(CtlMsg) reply = client_request(client, op, body, NULL, ATTACH_TIMEOUT_MS, error);

	return reply != NULL;
}

static GVariant *attach_configure_body(const VpnConfig *cfg, const char *mode, pid_t vpn_pid,
				       gboolean apply)
{
	GVariantDict d;

	g_variant_dict_init(&d, NULL);
	g_variant_dict_insert_value(&d, "config", vpncfg_to_variant(cfg));
	g_variant_dict_insert(&d, "mode", "s", mode);
	g_variant_dict_insert(&d, "vpn-pid", "u", (guint32)MAX(vpn_pid, 0));
	g_variant_dict_insert(&d, "apply", "b", apply);
	return g_variant_dict_end(&d);
}

/* --script: run the user's vpnc-script inside the sandbox with @reason and
 * TUNDEV set, keeping network administration rights across its exec. */
static int attach_run_script(VpnnsClient *client, const char *script, const char *reason,
			     const char *ifname)
{
	g_autoptr(CtlMsg) reply = NULL;
	g_autoptr(GError) error = NULL;
	int fds[NS_COUNT];
	int status;
	pid_t pid;

	reply = client_request(client, CTL_OP_JOIN, NULL, fds, ATTACH_TIMEOUT_MS, &error);
	if (!reply)
		return attach_fail(g_steal_pointer(&error), "cannot run the script");
	pid = fork();
	if (pid == 0) {
		g_autofree char *cwd = g_get_current_dir();

		if (!ns_join(fds, cwd, &error) || !caps_keep_for_script(&error)) {
			g_printerr("vpnns --attach: %s\n", error->message);
			_exit(1);
		}
		g_setenv("reason", reason, TRUE);
		g_setenv("TUNDEV", ifname, TRUE);
		execl(script, script, (char *)NULL);
		g_printerr("vpnns --attach: cannot run %s: %s\n", script, g_strerror(errno));
		_exit(127);
	}
	for (int i = 0; i < NS_COUNT; i++)
		close(fds[i]);
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return 1;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	g_printerr("vpnns --attach: %s %s failed (%s %d)\n", script, reason,
		   WIFEXITED(status) ? "exit status" : "signal",
		   WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	return 1;
}

static VpnnsClient *attach_open(const VpnnsOptions *opts, ClientMode mode, GError **error)
{
	HolderOptions hopts = commands_holder_options(opts);
	VpnnsPaths *paths = paths_new(opts->name, opts->state_dir, error);
	VpnnsClient *client;

	if (!paths)
		return NULL;
	client = client_open(paths, mode, &hopts, error);
	/* We may live long (the relay): hold no lock, so `vpnns stop` is
	 * never blocked by us; stop ends us through the holder instead. */
	if (client && client->lock_fd >= 0) {
		close(client->lock_fd);
		client->lock_fd = -1;
	}
	return client;
}

/* --- relay path ---------------------------------------------------------- */

/* Relay for the VPN client @vpn_pid, whose packets come through @vpnfd;
 * @cfg is the tunnel's configuration. */
static int attach_relay(const VpnnsOptions *opts, VpnConfig *cfg, int vpnfd, pid_t vpn_pid)
{
	GError *error = NULL;
	g_autoptr(VpnnsClient) client = NULL;
	g_autoptr(CtlMsg) reply = NULL;
	g_autofree char *ifname = NULL;
	GVariantDict d;
	RelayCounters counters = { 0 };
	RelayFds fds = { .vpnfd = vpnfd, .pidfd = -1 };
	RelayEnd end;
	int status = 0;

	relay_block_signals(); /* the VPN client's stop signal must not kill us half-way */
	client = attach_open(opts, CLIENT_JOIN, &error);
	if (!client)
		return attach_fail(error, NULL);

	g_variant_dict_init(&d, NULL);
	g_variant_dict_insert(&d, "vpn-pid", "u", (guint32)MAX(vpn_pid, 0));
	reply = client_request(client, CTL_OP_CREATE_TUN, g_variant_dict_end(&d), &fds.tunfd,
			       ATTACH_TIMEOUT_MS, &error);
	if (!reply)
		return attach_fail(error, NULL);
	g_variant_lookup(reply->body, "ifname", "s", &ifname);
	cfg->ifname = g_strdup(ifname ? ifname : "tun0");

	if (opts->script) {
		status = attach_run_script(client, opts->script, "connect", cfg->ifname);
		if (status != 0) {
			close(fds.tunfd);
			return status;
		}
	}
	if (!attach_request(client, CTL_OP_CONFIGURE,
			    attach_configure_body(cfg, "relay", vpn_pid, !opts->script), &error)) {
		close(fds.tunfd);
		return attach_fail(error, NULL);
	}
	if (vpn_pid > 1)
		fds.pidfd = (int)syscall(SYS_pidfd_open, vpn_pid, 0);
	fds.ctlfd = client->sock;

	g_message("relaying %s <-> VPN socket for pid %d", cfg->ifname, (int)vpn_pid);
	end = relay_run(&fds, &counters, &error);
	if (end == RELAY_END_ERROR) {
		attach_fail(error, "relay");
		status = 1;
	} else if (end == RELAY_END_TUN_GONE) {
		g_printerr("vpnns --attach: the tunnel device went away (was the sandbox stopped?)\n");
	}
	if (opts->script)
		attach_run_script(client, opts->script, "disconnect", cfg->ifname);
	close(fds.tunfd); /* the device, and every route through it, goes now */
	{
		g_autoptr(GError) ignored = NULL;
		GVariantDict dd;

		g_variant_dict_init(&dd, NULL);
		g_variant_dict_insert(&dd, "ifname", "s", cfg->ifname);
		attach_request(client, CTL_OP_DECONFIGURE, g_variant_dict_end(&dd), &ignored);
	}
	if (fds.pidfd >= 0)
		close(fds.pidfd);
	return status;
}

/* --- kernel path (root) --------------------------------------------------- */

typedef struct {
	uid_t uid;
	gid_t gid;
	char *name;
	char *home;
} AttachUser;

static void attach_user_clear(AttachUser *u)
{
	g_clear_pointer(&u->name, g_free);
	g_clear_pointer(&u->home, g_free);
}

/* The user whose sandbox receives the tunnel: --user, else the one who ran
 * sudo or pkexec, else the caller. */
static gboolean attach_target_user(const VpnnsOptions *opts, AttachUser *u, GError **error)
{
	const char *spec = opts->user;
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
			    "the kernel path moves the tunnel into a user's sandbox: say whose with "
			    "--user NAME (root's own sandbox is not supported)");
		return FALSE;
	}
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	u->name = g_strdup(pw->pw_name);
	u->home = g_strdup(pw->pw_dir);
	return TRUE;
}

/* In a forked child: become @u for good, with an environment to match. */
static gboolean attach_become(const AttachUser *u, GError **error)
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

typedef enum { AS_USER_ENSURE, AS_USER_NETNS, AS_USER_CONFIGURE, AS_USER_DECONFIGURE } AsUserOp;

/* The child's side: talk to the holder as the user. */
static int attach_as_user_child(const VpnnsOptions *opts, AsUserOp op, const VpnConfig *cfg,
				pid_t vpn_pid, int sock)
{
	GError *error = NULL;
	g_autoptr(VpnnsClient) client = NULL;
	g_autoptr(CtlMsg) reply = NULL;
	GVariantDict d;
	int netns = -1;

	client = attach_open(opts, op == AS_USER_DECONFIGURE ? CLIENT_EXISTING : CLIENT_JOIN, &error);
	if (!client) {
		if (op == AS_USER_DECONFIGURE)
			return 0; /* no sandbox: nothing to take down */
		return attach_fail(error, NULL);
	}
	switch (op) {
	case AS_USER_ENSURE:
		return 0;
	case AS_USER_NETNS:
		reply = client_request(client, CTL_OP_GET_NETNS, NULL, &netns, ATTACH_TIMEOUT_MS, &error);
		if (!reply || !fdpass_send(sock, "n", 1, &netns, 1, &error))
			return attach_fail(error, NULL);
		return 0;
	case AS_USER_CONFIGURE:
		if (opts->script) {
			int status = attach_run_script(client, opts->script, "connect", cfg->ifname);

			if (status != 0)
				return status;
		}
		if (!attach_request(client, CTL_OP_CONFIGURE,
				    attach_configure_body(cfg, "kernel", vpn_pid, !opts->script), &error))
			return attach_fail(error, NULL);
		return 0;
	case AS_USER_DECONFIGURE:
		if (opts->script && cfg->ifname)
			attach_run_script(client, opts->script, "disconnect", cfg->ifname);
		g_variant_dict_init(&d, NULL);
		if (cfg->ifname)
			g_variant_dict_insert(&d, "ifname", "s", cfg->ifname);
		if (!attach_request(client, CTL_OP_DECONFIGURE, g_variant_dict_end(&d), &error))
			return attach_fail(error, NULL);
		return 0;
	}
	return 1;
}

/* Run @op in a child that has become @u; a netns fd it sends ends up in
 * @netns (when not NULL).  Returns the child's exit status. */
static int attach_as_user(const VpnnsOptions *opts, const AttachUser *u, AsUserOp op,
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
		if (!attach_become(u, &error))
			_exit(attach_fail(error, NULL));
		_exit(attach_as_user_child(opts, op, cfg, vpn_pid, sv[1]));
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

/* Root's check: the namespace the user's holder sent is owned by the user. */
static gboolean attach_verify_netns(int netns, const AttachUser *u, GError **error)
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

static int attach_kernel_connect(const VpnnsOptions *opts, const AttachUser *u,
				 VpnConfig *cfg, pid_t vpn_pid)
{
	GError *error = NULL;
	g_autoptr(NetcfgSocket) host = NULL;
	vpnns_autofd int netns = -1;
	int status;

	if (!cfg->ifname) {
		g_set_error(&error, VPNNS_ERROR, VPNNS_ERROR_INVALID, "TUNDEV is not set");
		return attach_fail(error, "malformed VPN environment");
	}
	status = attach_as_user(opts, u, AS_USER_NETNS, cfg, vpn_pid, &netns);
	if (status != 0 || netns < 0) {
		g_printerr("vpnns --attach: cannot reach %s's sandbox '%s'\n", u->name, opts->name);
		return status ? status : 1;
	}
	if (!attach_verify_netns(netns, u, &error))
		return attach_fail(error, NULL);
	host = netcfg_socket_new(&error);
	if (!host)
		return attach_fail(error, NULL);
	/* On reconnect the device is already inside: nothing to move. */
	if (netcfg_ifindex(host, cfg->ifname, NULL) > 0 &&
	    !netcfg_move_link(host, cfg->ifname, netns, &error))
		return attach_fail(error, NULL);
	return attach_as_user(opts, u, AS_USER_CONFIGURE, cfg, vpn_pid, NULL);
}

static int attach_kernel(const VpnnsOptions *opts, GHashTable *env, const OcEnvInfo *info)
{
	GError *error = NULL;
	g_autoptr(VpnConfig) cfg = NULL;
	AttachUser u = { 0 };
	int status = 0;

	if (!attach_target_user(opts, &u, &error))
		return attach_fail(error, NULL);
	if (!g_strcmp0(info->reason, "attempt-reconnect")) {
		status = 0;
	} else if (!g_strcmp0(info->reason, "pre-init")) {
		status = attach_as_user(opts, &u, AS_USER_ENSURE, NULL, 0, NULL);
	} else if (!g_strcmp0(info->reason, "disconnect")) {
		cfg = vpncfg_new();
		cfg->ifname = g_strdup(g_hash_table_lookup(env, "TUNDEV"));
		status = attach_as_user(opts, &u, AS_USER_DECONFIGURE, cfg, info->vpnpid, NULL);
	} else { /* connect, reconnect */
		cfg = ocenv_parse_config(env, &error);
		if (!cfg) {
			attach_user_clear(&u);
			return attach_fail(error, "malformed VPN environment");
		}
		status = attach_kernel_connect(opts, &u, cfg, info->vpnpid);
	}
	attach_user_clear(&u);
	return status;
}

/* OpenVPN 2.7 --dev-node unix:PROG execs us with the packet socket in
 * TUNTAP_SOCKET_FD and its configuration in the environment; it is our
 * parent, and it stops us with SIGINT. */
static int attach_openvpn_unix(const VpnnsOptions *opts, GHashTable *env, int fd)
{
	GError *error = NULL;
	g_autoptr(VpnConfig) cfg = ovpnenv_parse_config(env, &error);

	if (!cfg)
		return attach_fail(error, "malformed OpenVPN environment");
	g_clear_pointer(&cfg->ifname, g_free); /* the tun is ours, not OpenVPN's */
	return attach_relay(opts, cfg, fd, getppid());
}

int attach_main(const VpnnsOptions *opts, char **envp)
{
	GError *error = NULL;
	g_autoptr(GHashTable) env = ocenv_table(envp);
	OcEnvInfo info;
	int tuntap_fd, status;

	if (!ovpnenv_tuntap_fd(env, &tuntap_fd, &error))
		return attach_fail(error, "OpenVPN");
	if (tuntap_fd >= 0)
		return attach_openvpn_unix(opts, env, tuntap_fd);
	if (!ocenv_parse_info(env, &info, &error))
		return attach_fail(error, "malformed VPN environment");
	if (info.vpnfd >= 0) {
		g_autoptr(VpnConfig) cfg = ocenv_parse_config(env, &error);

		if (!cfg)
			status = attach_fail(error, "malformed VPN environment");
		else
			status = attach_relay(opts, cfg, info.vpnfd, info.vpnpid);
	} else if (info.reason) {
		status = attach_kernel(opts, env, &info);
	} else {
		g_printerr("vpnns --attach: run me from a VPN client, e.g.\n"
			   "  openconnect --script-tun --script \"vpnns --attach\" SERVER   (no root)\n"
			   "  sudo openconnect --script \"vpnns --attach --user $USER\" SERVER\n"
			   "(neither VPNFD nor reason is set in the environment)\n");
		status = 2;
	}
	ocenv_info_clear(&info);
	return status;
}
