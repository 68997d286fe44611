/* ovpnhelper.c - the OpenVPN plug-in's root helper (vpnns --openvpn-helper)
 *
 * Theory of operation.  vpnns-openvpn.so is loaded by OpenVPN while it is
 * still root and forks+execs this helper, which stays root for OpenVPN's
 * whole life, in the manner of OpenVPN's own down-root plug-in: after
 * `--user nobody` every later event (ROUTE_PREDOWN, DOWN, the UP after a
 * SIGUSR1) comes from a process that has only CAP_NET_ADMIN and could
 * neither become the sandbox's user nor reach her holder.  The plug-in
 * forwards each event's environment here; the helper does the work through
 * the kernel path (kpath.c): the sandbox is created as the user, its
 * namespace's owner is checked, OpenVPN's tun is moved in, and the holder
 * configures it.
 *
 * The helper also watches the sandbox (CTL_OP_WATCH).  A sandbox ended on
 * purpose (`vpnns stop`) ends OpenVPN (SIGTERM); a holder that died
 * restarts it (SIGUSR1), which brings a fresh tun into a fresh sandbox.
 * Either way OpenVPN never keeps spinning on a tun whose namespace is gone.
 *
 * No state lives only in the plug-in: what the helper remembers (the routes
 * of the last ROUTE_UP, for --up-restart's route-less UP) dies with it when
 * OpenVPN reloads the plug-in on SIGHUP, and the full event sequence that
 * follows a reload carries everything again.
 */
#include "ovpnhelper.h"
#include "kpath.h"
#include "ovpnenv.h"
#include "ovpnproto.h"
#include "paths.h"
#include "util.h"

#include <openvpn/openvpn-plugin.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
	int sock;
	pid_t openvpn;        /* our parent */
	KpathUser user;
	VpnnsOptions opts;    /* name, state dir, mode "openvpn" */
	GArray *routes;       /* VpnPrefix of the last ROUTE_UP */
	char *routes_dev;
	pid_t watcher;
	int watcher_fd;       /* its pidfd, -1 when none */
	gint64 restart_deadline; /* after a SIGUSR1 for a dead holder: 0 or when to give up */
} OvpnHelper;

#define OVPNHELPER_RESTART_MS 15000

gboolean ovpnhelper_parse_request(const void *buf, size_t len, guint32 *event, char ***envp,
				  GError **error)
{
	OvpnprotoHdr hdr;
	const char *p, *end;
	g_autoptr(GPtrArray) env = NULL;

	if (len < sizeof(hdr)) {
		g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_PROTOCOL, "truncated plug-in request");
		return FALSE;
	}
	memcpy(&hdr, buf, sizeof(hdr));
	if (hdr.magic != OVPNPROTO_MAGIC || hdr.len != len - sizeof(hdr) ||
	    hdr.count > hdr.len || hdr.event > 64) {
		g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_PROTOCOL, "malformed plug-in request");
		return FALSE;
	}
	env = g_ptr_array_new_with_free_func(g_free);
	p = (const char *)buf + sizeof(hdr);
	end = p + hdr.len;
	for (guint32 i = 0; i < hdr.count; i++) {
		const char *nul = memchr(p, 0, (size_t)(end - p));

		if (!nul) {
			g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_PROTOCOL,
				    "plug-in request: string %u is not terminated", i);
			return FALSE;
		}
		g_ptr_array_add(env, g_strdup(p));
		p = nul + 1;
	}
	if (p != end) {
		g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_PROTOCOL,
			    "plug-in request: %zu bytes after the last string", (size_t)(end - p));
		return FALSE;
	}
	g_ptr_array_add(env, NULL);
	*event = hdr.event;
	*envp = (char **)g_ptr_array_free(g_steal_pointer(&env), FALSE);
	return TRUE;
}

static void ovpnhelper_reply(OvpnHelper *h, gboolean ok, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

static void ovpnhelper_reply(OvpnHelper *h, gboolean ok, const char *fmt, ...)
{
	g_autofree char *msg = NULL;
	g_autofree char *buf = NULL;
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	n = strlen(msg) + 2;
	buf = g_malloc(n);
	buf[0] = ok ? 0 : 1;
	memcpy(buf + 1, msg, n - 1);
	send(h->sock, buf, n, MSG_NOSIGNAL);
}

/* --- arguments ------------------------------------------------------------ */

static gboolean ovpnhelper_args(OvpnHelper *h, int argc, char **argv, GError **error)
{
	const char *user = NULL;

	h->opts.name = g_strdup(VPNNS_DEFAULT_NAME);
	for (int i = 0; i < argc; i++) {
		if (g_str_has_prefix(argv[i], "user=")) {
			user = argv[i] + 5;
		} else if (g_str_has_prefix(argv[i], "name=")) {
			g_free(h->opts.name);
			h->opts.name = g_strdup(argv[i] + 5);
		} else if (g_str_has_prefix(argv[i], "state-dir=")) {
			if (!g_path_is_absolute(argv[i] + 10)) {
				g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_INVALID,
					    "state-dir= must be an absolute path, not '%s'", argv[i] + 10);
				return FALSE;
			}
			g_free(h->opts.state_dir);
			h->opts.state_dir = g_strdup(argv[i] + 10);
		} else {
			g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_INVALID,
				    "unknown argument '%s' (expected user=NAME|UID, name=SANDBOX, "
				    "state-dir=DIR)", argv[i]);
			return FALSE;
		}
	}
	if (!user || !*user) {
		g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_INVALID,
			    "user= is missing: say whose sandbox receives the tunnel "
			    "(plugin vpnns-openvpn.so user=alice name=work)");
		return FALSE;
	}
	if (!paths_name_valid(h->opts.name, error))
		return FALSE;
	if (!kpath_user_lookup(user, &h->user, error))
		return FALSE;
	if (geteuid() != 0) {
		g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_PERMISSION,
			    "the plug-in must be loaded while OpenVPN still runs as root (it moves "
			    "the tun device into %s's sandbox)", h->user.name);
		return FALSE;
	}
	h->opts.mode = "openvpn";
	return TRUE;
}

/* --- watching the sandbox ------------------------------------------------- */

static void ovpnhelper_watch(OvpnHelper *h)
{
	if (h->watcher > 0)
		return;
	h->watcher = kpath_watch_start(&h->opts, &h->user);
	h->watcher_fd = h->watcher > 0 ? (int)syscall(SYS_pidfd_open, h->watcher, 0) : -1;
}

static void ovpnhelper_unwatch(OvpnHelper *h)
{
	/* Never wait without a bound: a helper without CAP_KILL cannot signal
	 * the user's watcher, which then dies with us (PR_SET_PDEATHSIG). */
	if (h->watcher > 0 && kill(h->watcher, SIGTERM) == 0) {
		for (int i = 0; i < 100 && waitpid(h->watcher, NULL, WNOHANG) == 0; i++)
			g_usleep(10 * 1000);
	}
	if (h->watcher_fd >= 0)
		close(h->watcher_fd);
	h->watcher = 0;
	h->watcher_fd = -1;
}

static void ovpnhelper_signal(OvpnHelper *h, int sig, const char *what)
{
	if (kill(h->openvpn, sig) == 0) {
		g_printerr("vpnns-openvpn: %s OpenVPN (pid %d)\n", what, (int)h->openvpn);
		return;
	}
	g_printerr("vpnns-openvpn: cannot signal OpenVPN (pid %d): %s; it will not notice that "
		   "sandbox '%s' is gone (under systemd, give the unit CAP_KILL)\n",
		   (int)h->openvpn, g_strerror(errno), h->opts.name);
}

/* The watcher ended: the sandbox is gone. */
static void ovpnhelper_sandbox_gone(OvpnHelper *h)
{
	int status = 0;

	waitpid(h->watcher, &status, 0);
	close(h->watcher_fd);
	h->watcher = 0;
	h->watcher_fd = -1;
	status = WIFEXITED(status) ? WEXITSTATUS(status) : KPATH_WATCH_DIED;
	if (status == KPATH_WATCH_GONE) {
		g_printerr("vpnns-openvpn: sandbox '%s' of %s was stopped\n", h->opts.name, h->user.name);
		ovpnhelper_signal(h, SIGTERM, "ending");
	} else if (status == KPATH_WATCH_DIED) {
		/* A restart brings a new tun into a fresh sandbox - unless
		 * --persist-tun keeps the dead one: then no UP follows, and
		 * OpenVPN is ended rather than left spinning on it. */
		g_printerr("vpnns-openvpn: the holder of sandbox '%s' died\n", h->opts.name);
		ovpnhelper_signal(h, SIGUSR1, "restarting into a fresh sandbox:");
		h->restart_deadline = vpnns_now_ms() + OVPNHELPER_RESTART_MS;
	} else {
		g_printerr("vpnns-openvpn: sandbox '%s' cannot be watched (its holder is from another "
			   "version of vpnns); OpenVPN will not be told if it goes away\n", h->opts.name);
	}
}

/* --- events ---------------------------------------------------------------- */

static gboolean ovpnhelper_has_routes(GHashTable *env)
{
	return g_hash_table_contains(env, "route_network_1") ||
	       g_hash_table_contains(env, "route_ipv6_network_1");
}

static int ovpnhelper_up(OvpnHelper *h, GHashTable *env, guint32 event, GError **error)
{
	g_autoptr(VpnConfig) cfg = ovpnenv_parse_config(env, error);
	int status;

	if (!cfg)
		return 1;
	if (!cfg->ifname) {
		g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_INVALID, "dev is not set");
		return 1;
	}
	if (event == OPENVPN_PLUGIN_ROUTE_UP || ovpnhelper_has_routes(env)) {
		/* remember them: --up-restart's UP comes without route_* */
		g_clear_pointer(&h->routes, g_array_unref);
		h->routes = g_array_ref(cfg->routes);
		g_free(h->routes_dev);
		h->routes_dev = g_strdup(cfg->ifname);
	} else if (h->routes && !g_strcmp0(h->routes_dev, cfg->ifname)) {
		g_array_append_vals(cfg->routes, h->routes->data, h->routes->len);
	}
	status = kpath_connect(&h->opts, &h->user, cfg, h->openvpn);
	if (status == 0) {
		h->restart_deadline = 0; /* the restart brought a tunnel */
		ovpnhelper_watch(h);
	}
	return status;
}

static int ovpnhelper_down(OvpnHelper *h, GHashTable *env)
{
	g_autoptr(VpnConfig) cfg = vpncfg_new();
	const char *dev = g_hash_table_lookup(env, "dev");

	if (vpncfg_check_ifname("dev", dev, NULL))
		cfg->ifname = g_strdup(dev);
	return kpath_as_user(&h->opts, &h->user, KPATH_DECONFIGURE, cfg, h->openvpn, NULL);
}

static const char *ovpnhelper_event_name(guint32 event)
{
	switch (event) {
	case OPENVPN_PLUGIN_UP: return "up";
	case OPENVPN_PLUGIN_ROUTE_UP: return "route-up";
	case OPENVPN_PLUGIN_ROUTE_PREDOWN: return "route-pre-down";
	case OPENVPN_PLUGIN_DOWN: return "down";
	default: return "other";
	}
}

static void ovpnhelper_event(OvpnHelper *h, const char *buf, size_t len)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GHashTable) env = NULL;
	g_auto(GStrv) envp = NULL;
	guint32 event;
	int status = 0;

	if (!ovpnhelper_parse_request(buf, len, &event, &envp, &error)) {
		ovpnhelper_reply(h, FALSE, "%s", error->message);
		return;
	}
	env = ocenv_table(envp);
	switch (event) {
	case OPENVPN_PLUGIN_UP:
	case OPENVPN_PLUGIN_ROUTE_UP:
		status = ovpnhelper_up(h, env, event, &error);
		break;
	case OPENVPN_PLUGIN_ROUTE_PREDOWN:
	case OPENVPN_PLUGIN_DOWN:
		status = ovpnhelper_down(h, env);
		break;
	default:
		break;
	}
	if (error)
		ovpnhelper_reply(h, FALSE, "%s: malformed OpenVPN environment: %s",
				 ovpnhelper_event_name(event), error->message);
	else if (status != 0)
		ovpnhelper_reply(h, FALSE, "%s failed for sandbox '%s' of %s (see above)",
				 ovpnhelper_event_name(event), h->opts.name, h->user.name);
	else
		ovpnhelper_reply(h, TRUE, "%s: sandbox '%s' of %s", ovpnhelper_event_name(event),
				 h->opts.name, h->user.name);
}

static void ovpnhelper_clear(OvpnHelper *h)
{
	ovpnhelper_unwatch(h);
	kpath_user_clear(&h->user);
	g_clear_pointer(&h->opts.name, g_free);
	g_clear_pointer(&h->opts.state_dir, g_free);
	g_clear_pointer(&h->routes, g_array_unref);
	g_clear_pointer(&h->routes_dev, g_free);
}

int ovpnhelper_main(int argc, char **argv)
{
	OvpnHelper h = { .sock = OVPNPROTO_HELPER_FD, .openvpn = getppid(), .watcher_fd = -1 };
	g_autoptr(GError) error = NULL;
	g_autofree char *buf = g_malloc(OVPNPROTO_MAX + 1);

	signal(SIGPIPE, SIG_IGN);
	if (!ovpnhelper_args(&h, argc, argv, &error)) {
		ovpnhelper_reply(&h, FALSE, "%s", error->message);
		ovpnhelper_clear(&h);
		return 1;
	}
	ovpnhelper_reply(&h, TRUE, "serving sandbox '%s' of %s", h.opts.name, h.user.name);

	for (;;) {
		struct pollfd p[2] = {
			{ .fd = h.sock, .events = POLLIN },
			{ .fd = h.watcher_fd, .events = POLLIN },
		};
		ssize_t n;
		int timeout = h.restart_deadline ? (int)MAX(0, h.restart_deadline - vpnns_now_ms()) : -1;
		int r = poll(p, 2, timeout);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (r == 0) { /* no UP since the restart: OpenVPN kept the dead tun */
			h.restart_deadline = 0;
			g_printerr("vpnns-openvpn: OpenVPN did not bring a new tunnel within %d s "
				   "(--persist-tun keeps the dead one)\n", OVPNHELPER_RESTART_MS / 1000);
			ovpnhelper_signal(&h, SIGTERM, "ending");
			continue;
		}
		if (p[1].revents)
			ovpnhelper_sandbox_gone(&h);
		if (!p[0].revents)
			continue;
		n = recv(h.sock, buf, OVPNPROTO_MAX + 1, MSG_TRUNC);
		if (n <= 0)
			break; /* the plug-in was closed, or OpenVPN died */
		if (n > OVPNPROTO_MAX) {
			ovpnhelper_reply(&h, FALSE, "plug-in request larger than %d bytes", OVPNPROTO_MAX);
			continue;
		}
		ovpnhelper_event(&h, buf, (size_t)n);
	}
	ovpnhelper_clear(&h);
	return 0;
}
