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
 * TUNDEV): see kpath.c.
 */
#include "attach.h"
#include "hook.h"
#include "kpath.h"
#include "ocenv.h"
#include "ovpnenv.h"
#include "relay.h"
#include "util.h"

#include <sys/syscall.h>
#include <unistd.h>

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
	RelayFds fds = { .vpnfd = vpnfd, .pidfd = -1, .mtu = cfg->mtu };
	RelayEnd end;
	int status = 0;

	relay_block_signals(); /* the VPN client's stop signal must not kill us half-way */
	client = hook_open(opts, CLIENT_JOIN, &error);
	if (!client)
		return hook_fail(error, NULL);

	g_variant_dict_init(&d, NULL);
	g_variant_dict_insert(&d, "vpn-pid", "u", (guint32)MAX(vpn_pid, 0));
	if (opts->no_offload)
		g_variant_dict_insert(&d, "offload", "b", FALSE);
	reply = client_request(client, CTL_OP_CREATE_TUN, g_variant_dict_end(&d), &fds.tunfd,
			       HOOK_TIMEOUT_MS, &error);
	if (!reply)
		return hook_fail(error, NULL);
	g_variant_lookup(reply->body, "ifname", "s", &ifname);
	cfg->ifname = g_strdup(ifname ? ifname : "tun0");

	if (opts->script) {
		status = hook_run_script(client, opts->script, "connect", cfg->ifname);
		if (status != 0) {
			close(fds.tunfd);
			return status;
		}
	}
	if (!hook_request(client, CTL_OP_CONFIGURE,
			    hook_configure_body(cfg, "relay", vpn_pid, !opts->script), &error)) {
		close(fds.tunfd);
		return hook_fail(error, NULL);
	}
	if (vpn_pid > 1)
		fds.pidfd = (int)syscall(SYS_pidfd_open, vpn_pid, 0);
	fds.ctlfd = client->sock;

	g_message("relaying %s <-> VPN socket for pid %d", cfg->ifname, (int)vpn_pid);
	end = relay_run(&fds, &counters, &error);
	if (end == RELAY_END_ERROR) {
		hook_fail(error, "relay");
		status = 1;
	} else if (end == RELAY_END_TUN_GONE) {
		g_printerr("vpnns --attach: the sandbox went away (stopped, or its holder died)\n");
	}
	if (opts->script)
		hook_run_script(client, opts->script, "disconnect", cfg->ifname);
	close(fds.tunfd); /* the device, and every route through it, goes now */
	{
		g_autoptr(GError) ignored = NULL;
		GVariantDict dd;

		g_variant_dict_init(&dd, NULL);
		g_variant_dict_insert(&dd, "ifname", "s", cfg->ifname);
		hook_request(client, CTL_OP_DECONFIGURE, g_variant_dict_end(&dd), &ignored);
	}
	if (fds.pidfd >= 0)
		close(fds.pidfd);
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
		return hook_fail(error, "malformed OpenVPN environment");
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
		return hook_fail(error, "OpenVPN");
	if (tuntap_fd >= 0)
		return attach_openvpn_unix(opts, env, tuntap_fd);
	if (!ocenv_parse_info(env, &info, &error))
		return hook_fail(error, "malformed VPN environment");
	if (info.vpnfd >= 0) {
		g_autoptr(VpnConfig) cfg = ocenv_parse_config(env, &error);

		if (!cfg)
			status = hook_fail(error, "malformed VPN environment");
		else
			status = attach_relay(opts, cfg, info.vpnfd, info.vpnpid);
	} else if (info.reason) {
		status = kpath_openconnect(opts, env, &info);
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
