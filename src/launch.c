/* launch.c - the application launcher: join a sandbox and exec a command in it
 *
 * vpnns replaces itself with the command (as nsenter and unshare do), so the
 * command stays in the caller's terminal, process group and session: job
 * control, ptys and tmux work, signals reach it directly, and the caller
 * sees its exit status - a shell reports 128+N for a command killed by
 * signal N.  Under systemd the service's main process is the application.
 */
#include "launch.h"
#include "caps.h"
#include "ns.h"
#include "util.h"

#include <string.h>

int launch_exec(VpnnsClient *client, char **argv, GError **error)
{
	g_autoptr(CtlMsg) reply = NULL;
	g_autofree char *cwd = g_get_current_dir();
	const char *shell = g_getenv("SHELL");
	char *shell_argv[] = { (char *)(shell && *shell ? shell : "/bin/sh"), NULL };
	int fds[NS_COUNT];
	gboolean joined;
	int errsv;

	reply = client_request(client, CTL_OP_JOIN, NULL, fds, 5000, error);
	if (!reply)
		return LAUNCH_EXIT_FAILED;
	joined = ns_join(fds, cwd, error);
	for (int i = 0; i < NS_COUNT; i++)
		close(fds[i]);
	if (!joined || !caps_drop_all(error))
		return LAUNCH_EXIT_FAILED;
	if (!argv || !argv[0])
		argv = shell_argv;

	/* The state lock and the control socket are close-on-exec: releasing
	 * them at exec tells a concurrent `vpnns stop` that this join is done
	 * and the command is inside, where stop will find it. */
	execvp(argv[0], argv);
	errsv = errno;
	if (errsv == ENOENT) {
		g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_NOT_FOUND,
			    "%s: command not found", argv[0]);
		return LAUNCH_EXIT_NOT_FOUND;
	}
	vpnns_set_errno(error, errsv, "cannot execute %s", argv[0]);
	return LAUNCH_EXIT_CANNOT_EXEC;
}
