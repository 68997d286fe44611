/* client.c - finding, starting and talking to a sandbox's holder
 *
 * The state lock (a flock on STATE/lock) orders everything that changes a
 * sandbox's existence: joins hold it shared until they exec, creation and
 * stop hold it exclusively.  The lock file disappears when `vpnns stop`
 * removes the state directory, so after every flock() we check that the
 * file we locked is still the one at the path, and start over if not.
 */
#include "client.h"
#include "fdpass.h"
#include "ns.h"
#include "util.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#define CLIENT_START_TIMEOUT_MS 10000

void client_free(VpnnsClient *client)
{
	if (!client)
		return;
	if (client->sock >= 0)
		close(client->sock);
	if (client->lock_fd >= 0)
		close(client->lock_fd);
	paths_free(client->paths);
	g_free(client);
}

void client_pidfile_clear(ClientPidfile *pf)
{
	g_clear_pointer(&pf->generation, g_free);
}

gboolean client_read_pidfile(const VpnnsPaths *paths, ClientPidfile *out)
{
	g_autoptr(GKeyFile) kf = g_key_file_new();

	memset(out, 0, sizeof(*out));
	if (!g_key_file_load_from_file(kf, paths->pid, G_KEY_FILE_NONE, NULL))
		return FALSE;
	out->pid = (pid_t)g_key_file_get_integer(kf, "holder", "pid", NULL);
	out->userns_dev = g_key_file_get_uint64(kf, "holder", "userns-dev", NULL);
	out->userns_ino = g_key_file_get_uint64(kf, "holder", "userns-ino", NULL);
	out->created = g_key_file_get_int64(kf, "holder", "created", NULL);
	out->generation = g_key_file_get_string(kf, "holder", "generation", NULL);
	return out->pid > 0 && out->userns_ino != 0;
}

GArray *client_orphans(const ClientPidfile *pf)
{
	NsId id = { .dev = (dev_t)pf->userns_dev, .ino = (ino_t)pf->userns_ino };

	return ns_list_pids(&id, getpid());
}

GArray *client_read_orphan_namespaces(const VpnnsPaths *paths)
{
	g_autofree char *file = g_build_filename(paths->dir, "orphans", NULL);
	g_autofree char *text = NULL;
	g_auto(GStrv) lines = NULL;
	GArray *out = g_array_new(FALSE, TRUE, sizeof(ClientPidfile));

	if (!g_file_get_contents(file, &text, NULL, NULL))
		return out;
	lines = g_strsplit(text, "\n", -1);
	for (char **l = lines; *l; l++) {
		ClientPidfile pf = { 0 };

		if (sscanf(*l, "%" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT,
			   &pf.userns_dev, &pf.userns_ino) == 2 && pf.userns_ino)
			g_array_append_val(out, pf);
	}
	return out;
}

/* Remember the namespace of a dead holder whose processes still run, so
 * that `vpnns stop` can end them after a new holder took over the name. */
static void client_remember_orphans(const VpnnsPaths *paths, const ClientPidfile *pf)
{
	g_autofree char *file = g_build_filename(paths->dir, "orphans", NULL);
	g_autofree char *line = g_strdup_printf("%" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT "\n",
						pf->userns_dev, pf->userns_ino);
	vpnns_autofd int fd = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd >= 0)
		vpnns_write_all(fd, line, strlen(line), NULL);
}

/* Lock the state lock in @how, making sure it is still the live one. */
static gboolean client_lock(VpnnsClient *client, int how, gboolean *stale, GError **error)
{
	struct stat a, b;

	*stale = FALSE;
	if (client->lock_fd < 0) {
		client->lock_fd = open(client->paths->lock,
				       O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (client->lock_fd < 0)
			return vpnns_set_errno(error, errno, "cannot open %s", client->paths->lock);
	}
	while (flock(client->lock_fd, how) < 0) {
		if (errno != EINTR)
			return vpnns_set_errno(error, errno, "cannot lock %s", client->paths->lock);
	}
	if (fstat(client->lock_fd, &a) < 0 || stat(client->paths->lock, &b) < 0 ||
	    a.st_dev != b.st_dev || a.st_ino != b.st_ino) {
		close(client->lock_fd);
		client->lock_fd = -1;
		*stale = TRUE;
	}
	return TRUE;
}

/* Connect to the control socket: TRUE and sock set, or FALSE with
 * NOT_FOUND when nobody listens. */
static gboolean client_connect(VpnnsClient *client, GError **error)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	g_strlcpy(sa.sun_path, client->paths->ctl, sizeof(sa.sun_path));
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return vpnns_set_errno(error, errno, "socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int errsv = errno;

		close(fd);
		if (errsv == ENOENT || errsv == ECONNREFUSED) {
			g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_NOT_FOUND,
				    "no sandbox named '%s' is running", client->paths->name);
			return FALSE;
		}
		return vpnns_set_errno(error, errsv, "cannot connect to %s", client->paths->ctl);
	}
	/* Only our own holder may serve us: a planted socket (or a symlink to
	 * someone else's) must not hand us another user's namespaces. */
	{
		struct ucred peer;

		if (!fdpass_peercred(fd, &peer, error)) {
			close(fd);
			return FALSE;
		}
		if (peer.uid != geteuid()) {
			close(fd);
			g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_PERMISSION,
				    "%s is served by uid %u, not by you (uid %u): refusing to use it; "
				    "'vpnns stop %s' or remove %s", client->paths->ctl, (unsigned)peer.uid,
				    (unsigned)geteuid(), client->paths->name, client->paths->dir);
			return FALSE;
		}
		/* A SIGKILLed holder's socket outlives its main thread while
		 * the others exit: nobody will answer there. */
		if (vpnns_pid_is_dead(peer.pid)) {
			close(fd);
			g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_NOT_FOUND,
				    "no sandbox named '%s' is running (its holder just died)",
				    client->paths->name);
			return FALSE;
		}
	}
	client->sock = fd;
	return TRUE;
}

/* A holder that died without cleaning up (SIGKILL, a crash, a reboot of the
 * runtime directory's owner) leaves its socket and pid file; processes it
 * served may still run in its namespaces.  Say so, and clear the way. */
static void client_clear_stale(VpnnsClient *client)
{
	ClientPidfile pf;

	if (client_read_pidfile(client->paths, &pf)) {
		g_autoptr(GArray) orphans = client_orphans(&pf);

		if (orphans->len > 0) {
			g_autoptr(GString) list = g_string_new(NULL);

			for (guint i = 0; i < orphans->len && i < 10; i++) {
				pid_t pid = g_array_index(orphans, pid_t, i);
				g_autofree char *comm = vpnns_proc_comm(pid);

				g_string_append_printf(list, "%s%d (%s)", i ? ", " : "", (int)pid, comm);
			}
			g_printerr("vpnns: the holder of sandbox '%s' (pid %d) died; %u processes still "
				   "run in the old sandbox, without network: %s%s. A new sandbox is "
				   "started; 'vpnns stop %s' ends them too.\n",
				   client->paths->name, (int)pf.pid, orphans->len, list->str,
				   orphans->len > 10 ? ", ..." : "", client->paths->name);
			client_remember_orphans(client->paths, &pf);
		} else if (pf.generation) {
			paths_remove_tree(pf.generation, NULL);
		}
		client_pidfile_clear(&pf);
	}
	unlink(client->paths->ctl);
	unlink(client->paths->pid);
}

static gboolean client_start_holder(VpnnsClient *client, const HolderOptions *opts,
				    GError **error)
{
	HolderOptions defaults = { 0 };
	char buf[1024];
	int pipefd[2];
	pid_t pid;
	ssize_t n;
	size_t got = 0;
	int status;
	struct pollfd pfd;
	gint64 deadline;

	if (!opts)
		opts = &defaults;
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return vpnns_set_errno(error, errno, "pipe");
	pid = fork();
	if (pid < 0)
		return vpnns_set_errno(error, errno, "fork");
	if (pid == 0) {
		/* Intermediate child: detach, fork the holder, and exit so the
		 * holder is re-parented away from the command we exec. */
		int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);

		setsid();
		if (devnull >= 0) {
			dup2(devnull, STDIN_FILENO);
			dup2(devnull, STDOUT_FILENO);
		}
		if (dup2(pipefd[1], 3) < 0)
			_exit(1);
		/* Nothing of the caller's may live on in the holder: least of all
		 * the state lock, which would then never be released. */
		close_range(4, ~0U, 0);
		if (fork() != 0)
			_exit(0);
		holder_main(client->paths, opts, 3);
	}
	close(pipefd[1]);
	waitpid(pid, &status, 0);

	deadline = vpnns_now_ms() + CLIENT_START_TIMEOUT_MS;
	pfd = (struct pollfd){ .fd = pipefd[0], .events = POLLIN };
	for (;;) {
		gint64 left = deadline - vpnns_now_ms();

		if (left <= 0 || poll(&pfd, 1, (int)left) == 0) {
			close(pipefd[0]);
			g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_FAILED,
				    "the sandbox holder did not start within %d s",
				    CLIENT_START_TIMEOUT_MS / 1000);
			return FALSE;
		}
		n = read(pipefd[0], buf + got, sizeof(buf) - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || got + (size_t)n >= sizeof(buf) - 1)
			break;
		got += (size_t)n;
	}
	close(pipefd[0]);
	buf[got] = 0;
	if (g_str_has_prefix(buf, "OK"))
		return TRUE;
	g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_FAILED, "%s",
		    g_str_has_prefix(buf, "ERR ") ? buf + 4
		    : "the sandbox holder exited during start-up");
	if (g_str_has_prefix(buf, "ERR ") && strstr(buf, "user namespace"))
		(*error)->code = VPNNS_ERROR_UNSUPPORTED;
	return FALSE;
}

VpnnsClient *client_open(VpnnsPaths *paths, ClientMode mode, const HolderOptions *opts,
			 GError **error)
{
	g_autoptr(VpnnsClient) client = g_new0(VpnnsClient, 1);
	g_autoptr(GError) local = NULL;
	gboolean stale;

	client->paths = paths;
	client->lock_fd = client->sock = -1;

	if (mode == CLIENT_JOIN) {
		if (!paths_ensure_dir(paths, error))
			return NULL;
	} else if (!paths_check_dir(paths, &local)) {
		if (g_error_matches(local, VPNNS_ERROR, VPNNS_ERROR_NOT_FOUND))
			g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_NOT_FOUND,
				    "no sandbox named '%s' (nothing at %s); 'vpnns list' shows "
				    "the existing ones", paths->name, paths->dir);
		else
			g_propagate_error(error, g_steal_pointer(&local));
		return NULL;
	}

	for (int attempt = 0; attempt < 100; attempt++) {
		g_clear_error(&local);
		if (!client_lock(client, mode == CLIENT_STOP ? LOCK_EX : LOCK_SH, &stale, error))
			return NULL;
		if (stale) {
			/* stopped and removed while we waited: start over */
			if (mode != CLIENT_JOIN) {
				g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_NOT_FOUND,
					    "sandbox '%s' was stopped", paths->name);
				return NULL;
			}
			if (!paths_ensure_dir(paths, error))
				return NULL;
			continue;
		}
		if (client_connect(client, &local))
			return g_steal_pointer(&client);
		if (!g_error_matches(local, VPNNS_ERROR, VPNNS_ERROR_NOT_FOUND)) {
			g_propagate_error(error, g_steal_pointer(&local));
			return NULL;
		}
		if (mode == CLIENT_STOP)
			return g_steal_pointer(&client); /* stop a dead sandbox: sock -1 */
		if (mode == CLIENT_EXISTING) {
			g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_NOT_FOUND,
				    "sandbox '%s' is not running ('vpnns up %s' starts it)",
				    paths->name, paths->name);
			return NULL;
		}
		/* Nobody listens: become the one that starts the holder. */
		if (!client_lock(client, LOCK_EX, &stale, error))
			return NULL;
		if (stale) {
			if (!paths_ensure_dir(paths, error))
				return NULL;
			continue;
		}
		g_clear_error(&local);
		if (client_connect(client, &local))
			return g_steal_pointer(&client); /* someone else was faster */
		client_clear_stale(client);
		if (!client_start_holder(client, opts, error)) {
			/* Leave nothing behind for a sandbox that never existed;
			 * waiters notice the lock file went away and start over. */
			if (!g_file_test(paths->pid, G_FILE_TEST_EXISTS))
				paths_remove_tree(paths->dir, NULL);
			return NULL;
		}
		client->created = TRUE;
		if (!client_connect(client, error))
			return NULL;
		return g_steal_pointer(&client);
	}
	g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_FAILED,
		    "sandbox '%s' keeps disappearing while starting; is something stopping it in a loop?",
		    paths->name);
	return NULL;
}

CtlMsg *client_request(VpnnsClient *client, CtlOp op, GVariant *body, int *fds,
		       int timeout_ms, GError **error)
{
	g_autoptr(GBytes) req = ctl_msg_encode(op, body);
	g_autoptr(CtlMsg) reply = NULL;
	char buf[sizeof(CtlHeader) + CTL_MAX_PAYLOAD];
	int got_fds[CTL_MAX_FDS];
	unsigned want = ctl_op_reply_fds(op);
	struct pollfd pfd = { .fd = client->sock, .events = POLLIN };
	size_t nfds = 0;
	gsize len;
	const void *data = g_bytes_get_data(req, &len);
	gssize n;
	int ret;

	if (!fdpass_send(client->sock, data, len, NULL, 0, error))
		return NULL;
	do
		ret = poll(&pfd, 1, timeout_ms);
	while (ret < 0 && errno == EINTR);
	if (ret == 0) {
		g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_FAILED,
			    "the holder of sandbox '%s' did not answer within %d s",
			    client->paths->name, timeout_ms / 1000);
		return NULL;
	}
	n = fdpass_recv(client->sock, buf, sizeof(buf), got_fds, CTL_MAX_FDS, &nfds, error);
	if (n < 0)
		return NULL;
	if (n == 0) {
		g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_STOPPED,
			    "the holder of sandbox '%s' closed the connection (was it stopped?)",
			    client->paths->name);
		return NULL;
	}
	reply = ctl_msg_parse(buf, (size_t)n, error);
	if (!reply || !ctl_reply_check(reply, error)) {
		fdpass_close_all(got_fds, nfds);
		return NULL;
	}
	if (nfds != want) {
		fdpass_close_all(got_fds, nfds);
		g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_PROTOCOL,
			    "the holder sent %zu file descriptors with its '%s' reply, expected %u",
			    nfds, ctl_op_name(op), want);
		return NULL;
	}
	if (nfds > 0)
		memcpy(fds, got_fds, nfds * sizeof(int));
	return g_steal_pointer(&reply);
}
