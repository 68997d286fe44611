/* vpnns-openvpn.c - the OpenVPN plug-in: moves the tunnel into a user's vpnns sandbox
 *
 *   plugin /usr/local/lib/openvpn/plugins/vpnns-openvpn.so user=alice name=work
 *
 * This file stays thin on purpose.  At load time (OpenVPN is still root)
 * it forks and execs `vpnns --openvpn-helper ARGS`, a helper that stays
 * root for OpenVPN's whole life - the down-root pattern - and forwards
 * each UP, ROUTE_UP, ROUTE_PREDOWN and DOWN event's environment to it over
 * a socketpair (src/ovpnproto.h).  Everything else - argument checks, the
 * sandbox, the move, the configuration - lives in vpnns itself, so this
 * library links nothing but libc and keeps no state beyond its helper.
 *
 * Every fd it opens is close-on-exec; only the openvpn_plugin_* entry
 * points are exported (vpnns-openvpn.map).
 */
#include <errno.h>
#include <fcntl.h>
#include <openvpn/openvpn-plugin.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../src/ovpnproto.h"

#ifndef VPNNS_BIN
#define VPNNS_BIN "/usr/local/bin/vpnns"
#endif

/* Built with -fvisibility=hidden; OPENVPN_EXPORT is empty on Linux. */
#define PLUGIN_API OPENVPN_EXPORT __attribute__((visibility("default")))

#define PLUGIN_NAME "vpnns-openvpn"
#define PLUGIN_START_MS 10000
#define PLUGIN_EVENT_MS 60000

struct vpnns_plugin {
	int sock;
	pid_t helper;
	const char *bin;  /* the vpnns that serves as helper */
	plugin_log_t log;
	char *buf; /* OVPNPROTO_MAX bytes */
};

static void plugin_msg(const struct vpnns_plugin *p, openvpn_plugin_log_flags_t flags,
		       const char *msg)
{
	if (p->log)
		p->log(flags, PLUGIN_NAME, "%s", msg);
	else
		fprintf(stderr, PLUGIN_NAME ": %s\n", msg);
}

/* Wait up to @ms for the helper's reply; 0 = success, 1 = it said no,
 * -1 = it did not answer.  The message goes to OpenVPN's log. */
static int plugin_wait_reply(struct vpnns_plugin *p, int ms)
{
	struct pollfd pfd = { .fd = p->sock, .events = POLLIN };
	char reply[4096];
	ssize_t n;
	int r;

	do
		r = poll(&pfd, 1, ms);
	while (r < 0 && errno == EINTR);
	if (r <= 0) {
		plugin_msg(p, PLOG_ERR, "the vpnns helper did not answer");
		return -1;
	}
	n = recv(p->sock, reply, sizeof(reply) - 1, 0);
	if (n <= 0) {
		snprintf(reply, sizeof(reply), "the vpnns helper went away (is %s installed?)", p->bin);
		plugin_msg(p, PLOG_ERR, reply);
		return -1;
	}
	reply[n] = 0;
	plugin_msg(p, reply[0] == 0 ? PLOG_NOTE : PLOG_ERR, reply + 1);
	return reply[0] == 0 ? 0 : 1;
}

static void plugin_reap(struct vpnns_plugin *p)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };

	if (p->helper <= 0)
		return;
	for (int i = 0; i < 500; i++) { /* up to 5 s for a clean exit */
		if (waitpid(p->helper, NULL, WNOHANG) != 0)
			return;
		nanosleep(&ts, NULL);
	}
	/* After OpenVPN dropped root this may fail (the helper is root):
	 * then leave it - never hang OpenVPN's exit on it. */
	if (kill(p->helper, SIGKILL) == 0)
		waitpid(p->helper, NULL, 0);
}

static void plugin_free(struct vpnns_plugin *p)
{
	if (p->sock >= 0)
		close(p->sock);
	plugin_reap(p);
	free(p->buf);
	free(p);
}

PLUGIN_API int openvpn_plugin_open_v3(const int v3structver,
					  struct openvpn_plugin_args_open_in const *args,
					  struct openvpn_plugin_args_open_return *ret)
{
	static char *const helper_env[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
	const char *bin = VPNNS_BIN;
	char **argv;
	int sv[2], argc = 0, n = 0;
	struct vpnns_plugin *p;

	/* v3 struct 3 added the runtime version; we need callbacks too */
	if (v3structver < 3) {
		fprintf(stderr, PLUGIN_NAME ": this OpenVPN is too old (plug-in struct version %d)\n",
			v3structver);
		return OPENVPN_PLUGIN_FUNC_ERROR;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return OPENVPN_PLUGIN_FUNC_ERROR;
	p->sock = -1;
	p->log = args->callbacks ? args->callbacks->plugin_log : NULL;
	p->buf = malloc(OVPNPROTO_MAX);

	while (args->argv && args->argv[argc])
		argc++;
	argv = calloc((size_t)argc + 3, sizeof(char *));
	if (!argv || !p->buf) {
		free(argv);
		plugin_free(p);
		return OPENVPN_PLUGIN_FUNC_ERROR;
	}
	argv[n++] = "vpnns";
	argv[n++] = "--openvpn-helper";
	for (int i = 1; i < argc; i++) { /* argv[0] is this library */
		if (!strncmp(args->argv[i], "vpnns=", 6))
			bin = args->argv[i] + 6; /* another vpnns binary (tests) */
		else
			argv[n++] = (char *)args->argv[i];
	}
	p->bin = bin;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		free(argv);
		plugin_free(p);
		return OPENVPN_PLUGIN_FUNC_ERROR;
	}
	p->helper = fork();
	if (p->helper == 0) {
		/* between fork and exec: no allocation, only system calls */
		if (sv[1] == OVPNPROTO_HELPER_FD)
			fcntl(sv[1], F_SETFD, 0);
		else if (dup2(sv[1], OVPNPROTO_HELPER_FD) < 0)
			_exit(127);
		close_range(OVPNPROTO_HELPER_FD + 1, ~0U, 0);
		execve(bin, argv, helper_env);
		_exit(127);
	}
	close(sv[1]);
	free(argv);
	p->sock = sv[0];
	if (p->helper < 0 || plugin_wait_reply(p, PLUGIN_START_MS) != 0) {
		plugin_msg(p, PLOG_ERR, "refusing to load (see the reason above)");
		plugin_free(p);
		return OPENVPN_PLUGIN_FUNC_ERROR;
	}
	ret->type_mask = OPENVPN_PLUGIN_MASK(OPENVPN_PLUGIN_UP) |
			 OPENVPN_PLUGIN_MASK(OPENVPN_PLUGIN_ROUTE_UP) |
			 OPENVPN_PLUGIN_MASK(OPENVPN_PLUGIN_ROUTE_PREDOWN) |
			 OPENVPN_PLUGIN_MASK(OPENVPN_PLUGIN_DOWN);
	ret->handle = (openvpn_plugin_handle_t)p;
	return OPENVPN_PLUGIN_FUNC_SUCCESS;
}

PLUGIN_API int openvpn_plugin_func_v3(const int v3structver,
					  struct openvpn_plugin_args_func_in const *args,
					  struct openvpn_plugin_args_func_return *ret)
{
	struct vpnns_plugin *p = (struct vpnns_plugin *)args->handle;
	int up = args->type == OPENVPN_PLUGIN_UP || args->type == OPENVPN_PLUGIN_ROUTE_UP;
	size_t len;
	int r;

	(void)v3structver;
	(void)ret;
	len = ovpnproto_encode((uint32_t)args->type, args->envp, p->buf, OVPNPROTO_MAX);
	if (len == 0) {
		plugin_msg(p, PLOG_ERR, "OpenVPN's environment is too large to forward");
		return up ? OPENVPN_PLUGIN_FUNC_ERROR : OPENVPN_PLUGIN_FUNC_SUCCESS;
	}
	if (send(p->sock, p->buf, len, MSG_NOSIGNAL) != (ssize_t)len) {
		plugin_msg(p, PLOG_ERR, "the vpnns helper is gone");
		return up ? OPENVPN_PLUGIN_FUNC_ERROR : OPENVPN_PLUGIN_FUNC_SUCCESS;
	}
	r = plugin_wait_reply(p, PLUGIN_EVENT_MS);
	/* A failing UP stops OpenVPN - right: no tunnel in the sandbox.  A
	 * failing teardown must not: the tunnel is going away regardless. */
	if (r != 0 && up)
		return OPENVPN_PLUGIN_FUNC_ERROR;
	return OPENVPN_PLUGIN_FUNC_SUCCESS;
}

PLUGIN_API void openvpn_plugin_close_v1(openvpn_plugin_handle_t handle)
{
	plugin_free((struct vpnns_plugin *)handle);
}
