/* hook.c - talking to a sandbox's holder on behalf of a VPN client's hook
 *
 * What the relay path, the root kernel path and the OpenVPN plug-in's
 * helper share: opening the sandbox without holding its lock (a hook may
 * live long and must never block `vpnns stop`), configuration requests,
 * and running a user's vpnc-script inside the sandbox.
 */
#include "hook.h"
#include "caps.h"
#include "commands.h"
#include "ns.h"
#include "util.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int hook_fail(GError *error, const char *context)
{
	g_printerr("vpnns --attach: %s%s%s\n", context ? context : "", context ? ": " : "",
		   error->message);
	g_error_free(error);
	return 1;
}

/* Send a request whose reply carries no fds. */
gboolean hook_request(VpnnsClient *client, CtlOp op, GVariant *body, GError **error)
{
	g_autoptr(CtlMsg) reply = client_request(client, op, body, NULL, HOOK_TIMEOUT_MS, error);

	return reply != NULL;
}

GVariant *hook_configure_body(const VpnConfig *cfg, const char *mode, pid_t vpn_pid,
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
int hook_run_script(VpnnsClient *client, const char *script, const char *reason,
			     const char *ifname)
{
	g_autoptr(CtlMsg) reply = NULL;
	g_autoptr(GError) error = NULL;
	int fds[NS_COUNT];
	int status;
	pid_t pid;

	reply = client_request(client, CTL_OP_JOIN, NULL, fds, HOOK_TIMEOUT_MS, &error);
	if (!reply)
		return hook_fail(g_steal_pointer(&error), "cannot run the script");
	pid = fork();
	if (pid == 0) {
		g_autofree char *cwd = g_get_current_dir();

		if (!ns_join(fds, cwd, &error) || !caps_keep_for_script(&error)) {
			g_printerr("vpnns --attach: %s\n", error->message);
			_exit(1);
		}
		sigset_t none;

		/* the relay blocks its stop signals; the script must not inherit that */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
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

VpnnsClient *hook_open(const VpnnsOptions *opts, ClientMode mode, GError **error)
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

