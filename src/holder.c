/* holder.c - the holder: one long-lived process per sandbox that owns its namespaces
 *
 * Theory of operation: the holder is forked (and detached) by the first
 * vpnns command that finds no sandbox.  It unshares the user, network, mount
 * and UTS namespaces, prepares them (lo up, private /etc files), restricts
 * its capabilities to what it needs, and serves a SOCK_SEQPACKET control
 * socket in the state directory.  It never execs, so it keeps those
 * capabilities inside the namespaces for its whole life; it is the only
 * process that configures the inside.  Every connection is checked with
 * SO_PEERCRED (only the sandbox's own user is served), every message is
 * validated by ctl_msg_parse(), and a bad request gets an error reply while
 * the holder goes on serving the others.
 */
#include "holder.h"
#include "caps.h"
#include "ctl.h"
#include "fdpass.h"
#include "netcfg.h"
#include "ns.h"
#include "sandboxfs.h"
#include "tunnel.h"
#include "util.h"

#include <fcntl.h>
#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>

#define HOLDER_MAX_CONNECTIONS 64
#define HOLDER_STOP_GRACE_MS 5000
#define HOLDER_KILL_WAIT_MS 2000

typedef struct {
	const VpnnsPaths *paths;
	GMainLoop *loop;
	int listen_fd;
	int ns_fds[NS_COUNT];
	NsId userns;
	Sandboxfs *fs;
	HolderTunnel *tunnel;
	char *hostname;
	gint64 created;   /* wall clock, seconds */
	guint nconns;
	GList *watchers;  /* HolderConn waiting for CTL_OP_WATCH's answer */
	int inotify_fd;   /* the directories of sandboxfs_watch_dirs() */
	gboolean stopping;
} VpnnsHolder;

typedef struct {
	VpnnsHolder *holder;
	int fd;
	struct ucred peer;
} HolderConn;

static void holder_conn_free(HolderConn *conn)
{
	conn->holder->watchers = g_list_remove(conn->holder->watchers, conn);
	conn->holder->nconns--;
	close(conn->fd);
	g_free(conn);
}

static gboolean holder_reply(HolderConn *conn, CtlOp op, GVariant *body,
			     const int *fds, size_t nfds)
{
	g_autoptr(GBytes) msg = ctl_msg_encode(op, body);
	g_autoptr(GError) error = NULL;
	gsize len;
	const void *data = g_bytes_get_data(msg, &len);

	if (!fdpass_send(conn->fd, data, len, fds, nfds, &error)) {
		g_debug("reply to pid %d: %s", (int)conn->peer.pid, error->message);
		return FALSE;
	}
	return TRUE;
}

static void holder_reply_error(HolderConn *conn, const GError *error)
{
	g_autoptr(GBytes) msg = ctl_msg_encode_error(error);
	gsize len;
	const void *data = g_bytes_get_data(msg, &len);

	fdpass_send(conn->fd, data, len, NULL, 0, NULL);
}

/* --- stop ------------------------------------------------------------- */

static GArray *holder_list_pids(gpointer data)
{
	VpnnsHolder *holder = data;

	return ns_list_pids(&holder->userns, getpid());
}

/* End every process inside: SIGTERM, then SIGKILL after @grace_ms.  Returns
 * an a(usb) of (pid, command, needed SIGKILL). */
static GVariant *holder_end_processes(VpnnsHolder *holder, gint64 grace_ms)
{
	GVariantBuilder b;

	g_variant_builder_init(&b, G_VARIANT_TYPE("a(usb)"));
	ns_end_processes(holder_list_pids, holder, grace_ms, HOLDER_KILL_WAIT_MS, &b);
	return g_variant_builder_end(&b);
}

/* Tell whoever watches (the OpenVPN plug-in) that this end is deliberate:
 * a holder that dies instead just closes their connections. */
static void holder_answer_watchers(VpnnsHolder *holder)
{
	for (GList *l = holder->watchers; l; l = l->next) {
		GVariantDict d;

		g_variant_dict_init(&d, NULL);
		g_variant_dict_insert(&d, "reason", "s", "stopped");
		holder_reply(l->data, CTL_OP_REPLY_OK, g_variant_dict_end(&d), NULL, 0);
	}
}

static void holder_shutdown(VpnnsHolder *holder)
{
	if (holder->stopping)
		return;
	holder->stopping = TRUE;
	holder_answer_watchers(holder);
	/* No new clients from here on; the stopping client holds the state
	 * lock, so no new holder can start until this one is gone. */
	unlink(holder->paths->ctl);
	close(holder->listen_fd);
	holder->listen_fd = -1;
}

/* --- requests --------------------------------------------------------- */

static GVariant *holder_status(VpnnsHolder *holder)
{
	GVariantDict d;
	GVariantBuilder procs;
	g_autoptr(GArray) pids = ns_list_pids(&holder->userns, getpid());

	g_variant_builder_init(&procs, G_VARIANT_TYPE("a(us)"));
	for (guint i = 0; i < pids->len; i++) {
		pid_t pid = g_array_index(pids, pid_t, i);
		g_autofree char *comm = vpnns_proc_comm(pid);

		g_variant_builder_add(&procs, "(us)", (guint32)pid, comm);
	}
	g_variant_dict_init(&d, NULL);
	g_variant_dict_insert(&d, "name", "s", holder->paths->name);
	g_variant_dict_insert(&d, "pid", "u", (guint32)getpid());
	g_variant_dict_insert(&d, "state", "s", "ready");
	g_variant_dict_insert(&d, "created", "x", holder->created);
	g_variant_dict_insert(&d, "hostname", "s", holder->hostname);
	g_variant_dict_insert(&d, "etc", "s",
			      holder->fs->mode == SANDBOXFS_OVERLAY ? "overlay" : "bind");
	g_variant_dict_insert_value(&d, "processes", g_variant_builder_end(&procs));
	tunnel_status(holder->tunnel, &d);
	return g_variant_dict_end(&d);
}

static void holder_dispatch(VpnnsHolder *holder, HolderConn *conn, const CtlMsg *msg)
{
	g_autoptr(GError) error = NULL;
	guint32 grace = HOLDER_STOP_GRACE_MS;
	guint32 vpn_pid = 0;
	gboolean offload = TRUE;
	g_autofree char *ifname = NULL;
	GVariantDict d;
	int fd;

	switch (msg->op) {
	case CTL_OP_JOIN:
		holder_reply(conn, CTL_OP_REPLY_OK, NULL, holder->ns_fds, NS_COUNT);
		return;
	case CTL_OP_GET_NETNS:
		holder_reply(conn, CTL_OP_REPLY_OK, NULL, &holder->ns_fds[NS_NET], 1);
		return;
	case CTL_OP_STATUS:
		holder_reply(conn, CTL_OP_REPLY_OK, holder_status(holder), NULL, 0);
		return;
	case CTL_OP_STOP:
		g_variant_lookup(msg->body, "grace-ms", "u", &grace);
		grace = MIN(grace, 10 * 60 * 1000);
		g_message("stop requested by pid %d", (int)conn->peer.pid);
		holder_shutdown(holder);
		tunnel_end_clients(holder->tunnel);
		g_variant_dict_init(&d, NULL);
		g_variant_dict_insert(&d, "pid", "u", (guint32)getpid());
		g_variant_dict_insert_value(&d, "ended", holder_end_processes(holder, grace));
		holder_reply(conn, CTL_OP_REPLY_OK, g_variant_dict_end(&d), NULL, 0);
		g_main_loop_quit(holder->loop);
		return;
	case CTL_OP_CREATE_TUN:
		g_variant_lookup(msg->body, "vpn-pid", "u", &vpn_pid);
		g_variant_lookup(msg->body, "offload", "b", &offload);
		fd = tunnel_create(holder->tunnel, conn->peer.pid, (pid_t)vpn_pid, offload, &ifname,
				   &error);
		if (fd < 0)
			break;
		g_variant_dict_init(&d, NULL);
		g_variant_dict_insert(&d, "ifname", "s", ifname);
		holder_reply(conn, CTL_OP_REPLY_OK, g_variant_dict_end(&d), &fd, 1);
		close(fd); /* the relay holds the only fd: the device ends with it */
		return;
	case CTL_OP_CONFIGURE:
		if (!tunnel_configure(holder->tunnel, msg->body, conn->peer.pid, &error))
			break;
		holder_reply(conn, CTL_OP_REPLY_OK, NULL, NULL, 0);
		return;
	case CTL_OP_DECONFIGURE:
		if (!tunnel_deconfigure(holder->tunnel, msg->body, &error))
			break;
		holder_reply(conn, CTL_OP_REPLY_OK, NULL, NULL, 0);
		return;
	case CTL_OP_REPORT:
		tunnel_report(holder->tunnel, msg->body); /* no reply, by design */
		return;
	case CTL_OP_WATCH:
		if (!g_list_find(holder->watchers, conn))
			holder->watchers = g_list_prepend(holder->watchers, conn);
		return; /* answered by holder_answer_watchers() */
	default:
		g_set_error(&error, VPNNS_ERROR, VPNNS_ERROR_UNSUPPORTED,
			    "the holder does not support '%s'", ctl_op_name(msg->op));
		break;
	}
	g_message("%s request from pid %d failed: %s", ctl_op_name(msg->op), (int)conn->peer.pid,
		  error->message);
	holder_reply_error(conn, error);
}

static gboolean holder_on_conn(int fd, GIOCondition cond, gpointer data)
{
	HolderConn *conn = data;
	VpnnsHolder *holder = conn->holder;
	g_autoptr(GError) error = NULL;
	g_autoptr(CtlMsg) msg = NULL;
	char buf[sizeof(CtlHeader) + CTL_MAX_PAYLOAD];
	size_t nfds = 0;
	gssize n;

	n = fdpass_recv(fd, buf, sizeof(buf), NULL, 0, &nfds, &error);
	if (n == 0 || (n < 0 && !g_error_matches(error, VPNNS_ERROR, VPNNS_ERROR_PROTOCOL))) {
		if (error && !g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_AGAIN))
			g_debug("connection from pid %d: %s", (int)conn->peer.pid, error->message);
		if (error && g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_AGAIN))
			return G_SOURCE_CONTINUE;
		holder_conn_free(conn);
		return G_SOURCE_REMOVE;
	}
	if (n > 0)
		msg = ctl_msg_parse(buf, (size_t)n, &error);
	if (msg && msg->op > CTL_OP_LAST_REQUEST) {
		g_set_error(&error, VPNNS_ERROR, VPNNS_ERROR_PROTOCOL,
			    "'%s' is a reply, not a request", ctl_op_name(msg->op));
		g_clear_pointer(&msg, ctl_msg_free);
	}
	if (!msg) {
		g_warning("bad request from pid %d: %s", (int)conn->peer.pid, error->message);
		holder_reply_error(conn, error);
		return G_SOURCE_CONTINUE;
	}
	if (holder->stopping && msg->op != CTL_OP_STATUS) {
		g_set_error(&error, VPNNS_ERROR, VPNNS_ERROR_STOPPED,
			    "sandbox '%s' is stopping", holder->paths->name);
		holder_reply_error(conn, error);
		return G_SOURCE_CONTINUE;
	}
	holder_dispatch(holder, conn, msg);
	return G_SOURCE_CONTINUE;
}

static gboolean holder_on_accept(int fd, GIOCondition cond, gpointer data)
{
	VpnnsHolder *holder = data;
	g_autoptr(GError) error = NULL;
	HolderConn *conn;
	struct ucred peer;
	int cfd;

	if (holder->stopping)
		return G_SOURCE_REMOVE;
	cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (cfd < 0)
		return G_SOURCE_CONTINUE;
	/* The kernel reports the peer's uid as seen from inside our user
	 * namespace; anyone but our own user (root included) is unmapped. */
	if (!fdpass_peercred(cfd, &peer, &error) || peer.uid != getuid()) {
		g_warning("refused a control connection from pid %d uid %d",
			  error ? -1 : (int)peer.pid, error ? -1 : (int)peer.uid);
		close(cfd);
		return G_SOURCE_CONTINUE;
	}
	if (holder->nconns >= HOLDER_MAX_CONNECTIONS) {
		g_warning("too many control connections; refused pid %d", (int)peer.pid);
		close(cfd);
		return G_SOURCE_CONTINUE;
	}
	conn = g_new0(HolderConn, 1);
	conn->holder = holder;
	conn->fd = cfd;
	conn->peer = peer;
	holder->nconns++;
	g_unix_fd_add(cfd, G_IO_IN | G_IO_HUP | G_IO_ERR, holder_on_conn, conn);
	return G_SOURCE_CONTINUE;
}

static gboolean holder_on_signal(gpointer data)
{
	VpnnsHolder *holder = data;
	g_autoptr(GVariant) ended = NULL;

	g_message("terminating on signal: ending the processes inside");
	holder_shutdown(holder);
	tunnel_end_clients(holder->tunnel);
	ended = g_variant_ref_sink(holder_end_processes(holder, HOLDER_STOP_GRACE_MS));
	g_main_loop_quit(holder->loop);
	return G_SOURCE_REMOVE;
}

/* Watch (again) every directory whose changes can undo the sandbox's view.
 * A directory already watched keeps its watch; one made anew since (the
 * new target of a re-pointed resolv.conf symlink, /run/systemd appearing)
 * gets one. */
static void holder_watch_dirs(VpnnsHolder *holder)
{
	g_auto(GStrv) dirs = sandboxfs_watch_dirs(holder->fs);

	for (char **d = dirs; *d; d++)
		inotify_add_watch(holder->inotify_fd, *d, IN_MASK_ADD | IN_MOVED_TO | IN_CREATE |
				  IN_DELETE | IN_CLOSE_WRITE);
}

/* The host changed something we cover: put the covers back.  The
 * directory covers first: a bind in bind mode may lie inside one. */
static gboolean holder_on_fs_change(int fd, GIOCondition cond, gpointer data)
{
	VpnnsHolder *holder = data;
	g_autoptr(GError) error = NULL;
	g_autofree char *hidden = NULL;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	gboolean repaired;

	while (read(fd, buf, sizeof(buf)) > 0)
		;
	holder_watch_dirs(holder);
	hidden = sandboxfs_hide_resolvers(holder->fs);
	if (hidden)
		g_message("the host made %s after the sandbox started: hidden inside it too", hidden);
	if (!sandboxfs_repair(holder->fs, &repaired, &error))
		g_warning("cannot restore the sandbox's private %s", error->message);
	else if (repaired)
		g_message("the host replaced /etc/resolv.conf or nsswitch.conf; "
			  "the sandbox's private copy is back in place");
	return G_SOURCE_CONTINUE;
}

static gboolean holder_on_link_change(int fd, GIOCondition cond, gpointer data)
{
	VpnnsHolder *holder = data;

	tunnel_monitor_dispatch(holder->tunnel);
	return G_SOURCE_CONTINUE;
}

static void holder_watch_fs(VpnnsHolder *holder)
{
	holder->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (holder->inotify_fd < 0) {
		g_warning("cannot watch the host's /etc and /run (inotify: %s): changes the host "
			  "makes there may reach the sandbox", g_strerror(errno));
		return;
	}
	holder_watch_dirs(holder);
	g_unix_fd_add(holder->inotify_fd, G_IO_IN, holder_on_fs_change, holder);
	/* what the host made between sandboxfs_setup() and the first watch */
	g_free(sandboxfs_hide_resolvers(holder->fs));
}

/* --- start-up --------------------------------------------------------- */

static gboolean holder_listen(VpnnsHolder *holder, GError **error)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	g_strlcpy(sa.sun_path, holder->paths->ctl, sizeof(sa.sun_path));
	unlink(holder->paths->ctl);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return vpnns_set_errno(error, errno, "socket");
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0) {
		int errsv = errno;
		close(fd);
		return vpnns_set_errno(error, errsv, "cannot listen on %s", holder->paths->ctl);
	}
	holder->listen_fd = fd;
	return TRUE;
}

static gboolean holder_write_pidfile(VpnnsHolder *holder, const char *gendir, GError **error)
{
	g_autofree char *text = g_strdup_printf(
		"[holder]\npid=%d\nuserns-dev=%" G_GUINT64_FORMAT "\nuserns-ino=%" G_GUINT64_FORMAT
		"\ncreated=%" G_GINT64_FORMAT "\ngeneration=%s\n",
		(int)getpid(), (guint64)holder->userns.dev, (guint64)holder->userns.ino,
		holder->created, gendir);

	return vpnns_write_file(holder->paths->pid, text, 0600, error);
}

static gboolean holder_setup(VpnnsHolder *holder, const HolderOptions *opts, GError **error)
{
	g_autofree char *gendir = paths_generation_dir(holder->paths, getpid());
	g_autoptr(NetcfgSocket) nl = NULL;
	char host[256];

	if (mkdir(gendir, 0700) < 0 && errno != EEXIST)
		return vpnns_set_errno(error, errno, "cannot create %s", gendir);
	if (!ns_unshare_sandbox(error))
		return FALSE;
	nl = netcfg_socket_new(error);
	if (!nl || !netcfg_link_up(nl, "lo", error))
		return FALSE;
	holder->fs = sandboxfs_setup(gendir, opts->force_bind, error);
	if (!holder->fs)
		return FALSE;
	holder->tunnel = tunnel_new(holder->fs, error);
	if (!holder->tunnel)
		return FALSE;
	if (opts->hostname && sethostname(opts->hostname, strlen(opts->hostname)) < 0)
		return vpnns_set_errno(error, errno, "cannot set the hostname '%s'", opts->hostname);
	if (gethostname(host, sizeof(host)) < 0)
		host[0] = 0;
	host[sizeof(host) - 1] = 0;
	holder->hostname = g_strdup(host);
	if (!caps_holder_restrict(error))
		return FALSE;
	if (!ns_open_self(holder->ns_fds, error))
		return FALSE;
	ns_id_from_fd(holder->ns_fds[NS_USER], &holder->userns);
	holder->created = g_get_real_time() / G_USEC_PER_SEC;
	if (!holder_listen(holder, error))
		return FALSE;
	return holder_write_pidfile(holder, gendir, error);
}

static void holder_report(int ready_fd, const GError *error)
{
	g_autofree char *msg = error ? g_strdup_printf("ERR %s", error->message) : g_strdup("OK\n");

	vpnns_write_all(ready_fd, msg, strlen(msg), NULL);
	close(ready_fd);
}

/* Log to the journal when there is one, else to the log file in the state
 * directory: the holder has no terminal once the client that started it is
 * gone. */
static void holder_setup_logging(const VpnnsPaths *paths)
{
	g_autofree char *log = g_build_filename(paths->dir, "log", NULL);
	int fd;

	if (g_file_test("/run/systemd/journal/socket", G_FILE_TEST_EXISTS)) {
		g_log_set_writer_func(g_log_writer_journald, NULL, NULL);
		return;
	}
	/* Append, so the last holder's words on why it ended survive; start
	 * afresh only when the log has grown large. */
	fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd >= 0 && lseek(fd, 0, SEEK_END) > 256 * 1024 && ftruncate(fd, 0) < 0)
		g_warning("cannot truncate %s", log);
	if (fd >= 0) {
		dup2(fd, STDERR_FILENO);
		close(fd);
	}
}

void holder_main(const VpnnsPaths *paths, const HolderOptions *opts, int ready_fd)
{
	VpnnsHolder holder = { .paths = paths, .listen_fd = -1, .inotify_fd = -1 };
	g_autoptr(GError) error = NULL;

	signal(SIGPIPE, SIG_IGN);
	umask(077); /* the control socket and every state file: owner only */
	if (chdir("/") < 0)
		_exit(1);
	holder_setup_logging(paths);
	for (int i = 0; i < NS_COUNT; i++)
		holder.ns_fds[i] = -1;

	if (!holder_setup(&holder, opts, &error)) {
		g_autofree char *gendir = paths_generation_dir(paths, getpid());

		unlink(paths->ctl);
		paths_remove_tree(gendir, NULL);
		holder_report(ready_fd, error);
		_exit(1);
	}
	holder.loop = g_main_loop_new(NULL, FALSE);
	g_unix_fd_add(holder.listen_fd, G_IO_IN, holder_on_accept, &holder);
	g_unix_signal_add(SIGTERM, holder_on_signal, &holder);
	g_unix_signal_add(SIGINT, holder_on_signal, &holder);
	g_unix_signal_add(SIGHUP, holder_on_signal, &holder);
	holder_watch_fs(&holder);
	g_unix_fd_add(tunnel_monitor_fd(holder.tunnel), G_IO_IN, holder_on_link_change, &holder);
	g_message("sandbox '%s' ready (etc: %s)", paths->name,
		  holder.fs->mode == SANDBOXFS_OVERLAY ? "overlay" : "bind mounts");
	holder_report(ready_fd, NULL);

	g_main_loop_run(holder.loop);

	if (!holder.stopping)
		holder_shutdown(&holder);
	unlink(paths->pid);
	/* Everything inside has ended: the overlay's upper directory is no
	 * longer in use by anyone but our own mount namespace. */
	paths_remove_tree(holder.fs->gendir, NULL);
	g_message("sandbox '%s' ended", paths->name);
	_exit(0);
}
