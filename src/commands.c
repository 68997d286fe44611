/* commands.c - the management commands: up, list, status, stop
 *
 * Results go to stdout (they are the data the user asked for, and --json
 * makes them machine-readable); diagnostics go to stderr.
 */
#include "commands.h"
#include "client.h"
#include "ns.h"
#include "paths.h"
#include "util.h"

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>

void commands_print_error(const GError *error)
{
	g_printerr("vpnns: %s\n", error->message);
}

static int commands_fail(GError *error)
{
	commands_print_error(error);
	g_error_free(error);
	return 1;
}

HolderOptions commands_holder_options(const VpnnsOptions *opts)
{
	return (HolderOptions){
		.hostname = opts->hostname,
		.force_bind = g_strcmp0(g_getenv("VPNNS_FORCE_BIND_MOUNTS"), "1") == 0,
	};
}

int commands_up(const VpnnsOptions *opts)
{
	GError *error = NULL;
	HolderOptions hopts = commands_holder_options(opts);
	VpnnsPaths *paths = paths_new(opts->name, opts->state_dir, &error);
	g_autoptr(VpnnsClient) client = NULL;

	if (!paths)
		return commands_fail(error);
	client = client_open(paths, CLIENT_JOIN, &hopts, &error);
	if (!client)
		return commands_fail(error);
	if (!client->created && opts->hostname)
		g_printerr("vpnns: sandbox '%s' was already running; --hostname applies only "
			   "when a sandbox is created\n", opts->name);
	return 0;
}

/* --- reading a sandbox's status ----------------------------------------- */

typedef struct {
	char *name;
	char *dir;
	char *state;      /* ready, stale */
	guint32 pid;
	gint64 created;
	char *hostname;
	char *etc;
	GVariant *processes; /* a(us) */
	GVariant *reply;     /* the holder's whole status reply, if running */
	char *tunnel;        /* NULL: no VPN attached */
	char **addresses;
} SandboxInfo;

static void sandbox_info_free(SandboxInfo *info)
{
	g_free(info->name);
	g_free(info->dir);
	g_free(info->state);
	g_free(info->hostname);
	g_free(info->etc);
	g_free(info->tunnel);
	g_strfreev(info->addresses);
	g_clear_pointer(&info->processes, g_variant_unref);
	g_clear_pointer(&info->reply, g_variant_unref);
	g_free(info);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SandboxInfo, sandbox_info_free)

static GVariant *commands_orphan_list(const ClientPidfile *pf)
{
	g_autoptr(GArray) pids = client_orphans(pf);
	GVariantBuilder b;

	g_variant_builder_init(&b, G_VARIANT_TYPE("a(us)"));
	for (guint i = 0; i < pids->len; i++) {
		pid_t pid = g_array_index(pids, pid_t, i);
		g_autofree char *comm = vpnns_proc_comm(pid);

		g_variant_builder_add(&b, "(us)", (guint32)pid, comm);
	}
	return g_variant_ref_sink(g_variant_builder_end(&b));
}

static SandboxInfo *commands_query(const char *name, const char *state_dir, GError **error)
{
	g_autoptr(SandboxInfo) info = g_new0(SandboxInfo, 1);
	g_autoptr(GError) local = NULL;
	g_autoptr(VpnnsClient) client = NULL;
	g_autoptr(CtlMsg) reply = NULL;
	VpnnsPaths *paths = paths_new(name, state_dir, error);
	ClientPidfile pf;

	if (!paths)
		return NULL;
	info->name = g_strdup(name);
	info->dir = g_strdup(paths->dir);
	if (!paths_check_dir(paths, &local)) {
		if (g_error_matches(local, VPNNS_ERROR, VPNNS_ERROR_NOT_FOUND))
			g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_NOT_FOUND,
				    "no sandbox named '%s'; 'vpnns list' shows the existing ones", name);
		else
			g_propagate_error(error, g_steal_pointer(&local));
		paths_free(paths);
		return NULL;
	}
	/* A stale sandbox: describe what its pid file says. */
	if (client_read_pidfile(paths, &pf) || TRUE) {
		info->pid = (guint32)MAX(pf.pid, 0);
		info->created = pf.created;
		info->processes = pf.userns_ino ? commands_orphan_list(&pf)
						: g_variant_ref_sink(g_variant_new("a(us)", NULL));
		client_pidfile_clear(&pf);
	}
	info->state = g_strdup("stale");
	client = client_open(paths, CLIENT_EXISTING, NULL, &local);
	if (!client)
		return g_steal_pointer(&info);
	reply = client_request(client, CTL_OP_STATUS, NULL, NULL, 5000, &local);
	/* STATUS is answered even while stopping: the holder died as we asked */
	if (!reply && g_error_matches(local, VPNNS_ERROR, VPNNS_ERROR_STOPPED))
		return g_steal_pointer(&info);
	if (!reply) {
		g_propagate_error(error, g_steal_pointer(&local));
		return NULL;
	}
	g_clear_pointer(&info->state, g_free);
	g_clear_pointer(&info->processes, g_variant_unref);
	g_variant_lookup(reply->body, "state", "s", &info->state);
	g_variant_lookup(reply->body, "pid", "u", &info->pid);
	g_variant_lookup(reply->body, "created", "x", &info->created);
	g_variant_lookup(reply->body, "hostname", "s", &info->hostname);
	g_variant_lookup(reply->body, "etc", "s", &info->etc);
	info->processes = g_variant_lookup_value(reply->body, "processes", G_VARIANT_TYPE("a(us)"));
	g_variant_lookup(reply->body, "tunnel", "s", &info->tunnel);
	g_variant_lookup(reply->body, "addresses", "^as", &info->addresses);
	info->reply = g_variant_ref(reply->body);
	if (!info->state)
		info->state = g_strdup("unknown");
	if (!info->processes)
		info->processes = g_variant_ref_sink(g_variant_new("a(us)", NULL));
	return g_steal_pointer(&info);
}

/* --- JSON output --------------------------------------------------------- */

static void json_string(GString *out, const char *s)
{
	g_string_append_c(out, '"');
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
		if (*p == '"' || *p == '\\')
			g_string_append_printf(out, "\\%c", *p);
		else if (*p < 0x20)
			g_string_append_printf(out, "\\u%04x", *p);
		else
			g_string_append_c(out, (char)*p);
	}
	g_string_append_c(out, '"');
}

static void json_strv(GString *out, const char *key, GVariant *reply)
{
	g_autofree const char **v = NULL;

	if (!reply || !g_variant_lookup(reply, key, "^a&s", &v))
		return;
	g_string_append_printf(out, ",\"%s\":[", key);
	for (int i = 0; v[i]; i++) {
		if (i)
			g_string_append_c(out, ',');
		json_string(out, v[i]);
	}
	g_string_append_c(out, ']');
}

/* mode, pids, routes, dns and the relay's counters, when a VPN is attached */
static void json_tunnel_detail(GString *out, GVariant *reply)
{
	g_autoptr(GVariant) counters = NULL;
	const char *mode;
	guint32 u;

	if (!reply || !g_variant_lookup(reply, "mode", "&s", &mode))
		return;
	g_string_append(out, ",\"mode\":");
	json_string(out, mode);
	if (g_variant_lookup(reply, "attach-pid", "u", &u))
		g_string_append_printf(out, ",\"attach_pid\":%u", u);
	if (g_variant_lookup(reply, "vpn-pid", "u", &u))
		g_string_append_printf(out, ",\"vpn_pid\":%u", u);
	if (g_variant_lookup(reply, "mtu", "u", &u))
		g_string_append_printf(out, ",\"mtu\":%u", u);
	json_strv(out, "routes", reply);
	json_strv(out, "dns", reply);
	counters = g_variant_lookup_value(reply, "counters", G_VARIANT_TYPE("a{st}"));
	if (counters) {
		GVariantIter iter;
		const char *k;
		guint64 v;
		gboolean first = TRUE;

		g_string_append(out, ",\"counters\":{");
		g_variant_iter_init(&iter, counters);
		while (g_variant_iter_next(&iter, "{&st}", &k, &v)) {
			g_string_append_printf(out, "%s", first ? "" : ",");
			json_string(out, k);
			g_string_append_printf(out, ":%" G_GUINT64_FORMAT, v);
			first = FALSE;
		}
		g_string_append_c(out, '}');
	}
}

static void json_info(GString *out, const SandboxInfo *info, gboolean detail)
{
	GVariantIter iter;
	guint32 pid;
	const char *comm;
	gboolean first = TRUE;

	g_string_append(out, "{\"name\":");
	json_string(out, info->name);
	g_string_append_printf(out, ",\"pid\":%u,\"state\":", info->pid);
	json_string(out, info->state);
	g_string_append(out, ",\"tunnel\":");
	if (info->tunnel)
		json_string(out, info->tunnel);
	else
		g_string_append(out, "null");
	g_string_append(out, ",\"addresses\":[");
	for (int i = 0; info->addresses && info->addresses[i]; i++) {
		if (i)
			g_string_append_c(out, ',');
		json_string(out, info->addresses[i]);
	}
	g_string_append_c(out, ']');
	g_string_append_printf(out, ",\"processes\":%zu", g_variant_n_children(info->processes));
	if (detail) {
		g_string_append(out, ",\"state_dir\":");
		json_string(out, info->dir);
		g_string_append_printf(out, ",\"created\":%" G_GINT64_FORMAT ",\"hostname\":", info->created);
		json_string(out, info->hostname);
		g_string_append(out, ",\"etc\":");
		json_string(out, info->etc);
		json_tunnel_detail(out, info->reply);
		g_string_append(out, ",\"pids\":[");
		g_variant_iter_init(&iter, info->processes);
		while (g_variant_iter_next(&iter, "(u&s)", &pid, &comm)) {
			g_string_append_printf(out, "%s{\"pid\":%u,\"command\":", first ? "" : ",", pid);
			json_string(out, comm);
			g_string_append_c(out, '}');
			first = FALSE;
		}
		g_string_append_c(out, ']');
	}
	g_string_append_c(out, '}');
}

/* --- list and status -------------------------------------------------- */

int commands_list(const VpnnsOptions *opts)
{
	g_autoptr(GPtrArray) names = paths_list_names(opts->state_dir);
	g_autoptr(GString) json = g_string_new("[");
	int status = 0;

	if (!opts->json && names->len > 0)
		printf("%-20s %8s  %-10s %-10s %-24s %s\n", "NAME", "PID", "STATE", "TUNNEL",
		       "ADDRESSES", "PROCESSES");
	for (guint i = 0; i < names->len; i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(SandboxInfo) info = commands_query(names->pdata[i], opts->state_dir, &error);

		if (!info) {
			g_printerr("vpnns: %s: %s\n", (char *)names->pdata[i], error->message);
			status = 1;
			continue;
		}
		if (opts->json) {
			if (json->len > 1)
				g_string_append_c(json, ',');
			json_info(json, info, FALSE);
		} else {
			g_autofree char *addrs = info->addresses && info->addresses[0]
				? g_strjoinv(",", info->addresses) : g_strdup("-");

			printf("%-20s %8u  %-10s %-10s %-24s %zu\n", info->name, info->pid,
			       info->state, info->tunnel ? info->tunnel : "-", addrs,
			       g_variant_n_children(info->processes));
		}
	}
	if (opts->json)
		printf("%s]\n", json->str);
	return status;
}

static void commands_print_strv(const char *label, GVariant *reply, const char *key)
{
	g_autofree const char **v = NULL;

	if (g_variant_lookup(reply, key, "^a&s", &v) && v[0]) {
		g_autofree char *joined = g_strjoinv(" ", (char **)v);
		printf("%-12s%s\n", label, joined);
	}
}

static void commands_print_tunnel(const SandboxInfo *info)
{
	g_autoptr(GVariant) counters = NULL;
	const char *mode = "?";
	guint32 attach = 0, vpn = 0, mtu = 0;
	guint64 ip = 0, ib = 0, op = 0, ob = 0, id = 0, od = 0, pb = 0, im = 0, os = 0;

	if (!info->tunnel) {
		printf("tunnel:     none\n");
		return;
	}
	g_variant_lookup(info->reply, "mode", "&s", &mode);
	g_variant_lookup(info->reply, "attach-pid", "u", &attach);
	g_variant_lookup(info->reply, "vpn-pid", "u", &vpn);
	g_variant_lookup(info->reply, "mtu", "u", &mtu);
	printf("tunnel:     %s (%s path), MTU %u%s\n", info->tunnel, mode, mtu,
	       g_variant_lookup(info->reply, "configured-by", "&s", NULL)
	       ? ", configured by the user's vpnc-script" : "");
	printf("vpn client: pid %u (attach pid %u)\n", vpn, attach);
	commands_print_strv("addresses:", info->reply, "addresses");
	commands_print_strv("routes:", info->reply, "routes");
	commands_print_strv("dns:", info->reply, "dns");
	counters = g_variant_lookup_value(info->reply, "counters", G_VARIANT_TYPE("a{st}"));
	if (!counters)
		return;
	g_variant_lookup(counters, "in-packets", "t", &ip);
	g_variant_lookup(counters, "in-bytes", "t", &ib);
	g_variant_lookup(counters, "out-packets", "t", &op);
	g_variant_lookup(counters, "out-bytes", "t", &ob);
	g_variant_lookup(counters, "in-dropped", "t", &id);
	g_variant_lookup(counters, "out-dropped", "t", &od);
	g_variant_lookup(counters, "pushback", "t", &pb);
	g_variant_lookup(counters, "in-merged", "t", &im);
	g_variant_lookup(counters, "out-split", "t", &os);
	printf("relay in:   %" G_GUINT64_FORMAT " packets, %" G_GUINT64_FORMAT " bytes, %"
	       G_GUINT64_FORMAT " dropped, %" G_GUINT64_FORMAT " coalesced\n", ip, ib, id, im);
	printf("relay out:  %" G_GUINT64_FORMAT " packets, %" G_GUINT64_FORMAT " bytes, %"
	       G_GUINT64_FORMAT " dropped, %" G_GUINT64_FORMAT " waits for the VPN, %"
	       G_GUINT64_FORMAT " superpackets cut\n", op, ob, od, pb, os);
}

int commands_status(const VpnnsOptions *opts)
{
	GError *error = NULL;
	g_autoptr(SandboxInfo) info = commands_query(opts->name, opts->state_dir, &error);
	char created[64] = "-";
	GVariantIter iter;
	guint32 pid;
	const char *comm;

	if (!info)
		return commands_fail(error);
	if (opts->json) {
		g_autoptr(GString) json = g_string_new(NULL);

		json_info(json, info, TRUE);
		printf("%s\n", json->str);
		return 0;
	}
	if (info->created > 0) {
		time_t t = (time_t)info->created;
		struct tm tm;

		strftime(created, sizeof(created), "%Y-%m-%d %H:%M:%S", localtime_r(&t, &tm));
	}
	printf("sandbox:    %s\n", info->name);
	printf("state:      %s%s\n", info->state,
	       !strcmp(info->state, "stale") ? " (its holder is gone; 'vpnns stop' cleans up)" : "");
	printf("holder:     pid %u\n", info->pid);
	printf("state dir:  %s\n", info->dir);
	printf("created:    %s\n", created);
	if (info->hostname)
		printf("hostname:   %s\n", info->hostname);
	if (info->etc)
		printf("/etc:       %s\n", info->etc);
	commands_print_tunnel(info);
	printf("processes:  %zu\n", g_variant_n_children(info->processes));
	g_variant_iter_init(&iter, info->processes);
	while (g_variant_iter_next(&iter, "(u&s)", &pid, &comm))
		printf("  %8u  %s\n", pid, comm);
	return 0;
}

/* --- stop --------------------------------------------------------------- */

/* Wait for @pid to exit, up to @ms. */
static void commands_wait_exit(pid_t pid, int ms)
{
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	struct pollfd pfd = { .fd = pidfd, .events = POLLIN };

	if (pidfd < 0)
		return;
	poll(&pfd, 1, ms);
	close(pidfd);
}

static GArray *commands_list_orphans(gpointer data)
{
	GArray *spaces = data, *pids = g_array_new(FALSE, FALSE, sizeof(pid_t));

	for (guint i = 0; i < spaces->len; i++) {
		g_autoptr(GArray) found = client_orphans(&g_array_index(spaces, ClientPidfile, i));

		g_array_append_vals(pids, found->data, found->len);
	}
	return pids;
}

/* End the processes left in dead holders' namespaces (from the host):
 * the last holder's when it is gone (@include_last), and those recorded when
 * a new holder replaced a dead one.  Adds (pid, command, needed SIGKILL)
 * entries to @b. */
static void commands_end_orphans(VpnnsClient *client, gboolean include_last, int grace_ms,
				 GVariantBuilder *b)
{
	g_autoptr(GArray) spaces = client_read_orphan_namespaces(client->paths);
	ClientPidfile pf;

	if (include_last && client_read_pidfile(client->paths, &pf)) {
		g_array_append_val(spaces, pf);
		pf.generation = NULL; /* owned by the copy in @spaces */
	}
	ns_end_processes(commands_list_orphans, spaces, grace_ms, 0, b);
	for (guint i = 0; i < spaces->len; i++)
		client_pidfile_clear(&g_array_index(spaces, ClientPidfile, i));
}

/* The holder's pid, from the pid file, if that process still is the holder
 * the file describes (it lives in the user namespace the file records; a
 * recycled pid is left alone): 0 otherwise, with @error set. */
static pid_t commands_holder_pid(VpnnsClient *client, GError **error)
{
	ClientPidfile pf;
	NsId id;
	g_autofree char *path = NULL;
	pid_t pid = 0;

	if (!client_read_pidfile(client->paths, &pf)) {
		g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_FAILED,
			    "cannot tell which process is the holder: %s is missing", client->paths->pid);
		return 0;
	}
	path = g_strdup_printf("/proc/%d/ns/user", (int)pf.pid);
	if (ns_id_from_path(path, &id) && (guint64)id.ino == pf.userns_ino)
		pid = pf.pid;
	else
		g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_FAILED,
			    "the holder (pid %d) is not the process the pid file describes", (int)pf.pid);
	client_pidfile_clear(&pf);
	return pid;
}

/* A holder that does not speak our protocol (another vpnns version) still
 * ends everything inside on SIGTERM. */
static gboolean commands_terminate_holder(VpnnsClient *client, int grace_ms, GError **error)
{
	pid_t pid = commands_holder_pid(client, error);

	if (!pid)
		return FALSE;
	if (kill(pid, SIGTERM) < 0)
		return vpnns_set_errno(error, errno, "cannot signal the holder (pid %d)", (int)pid);
	commands_wait_exit(pid, grace_ms + 5000);
	return TRUE;
}

static void commands_print_ended(const char *name, GVariant *ended, gboolean was_running)
{
	g_autoptr(GHashTable) killed = g_hash_table_new(NULL, NULL);
	g_autoptr(GString) list = g_string_new(NULL);
	GVariantIter iter;
	guint32 pid;
	const char *comm;
	gboolean sigkill;
	guint n = 0;

	g_variant_iter_init(&iter, ended);
	while (g_variant_iter_next(&iter, "(u&sb)", &pid, &comm, &sigkill)) {
		if (sigkill)
			g_hash_table_add(killed, GUINT_TO_POINTER(pid));
	}
	g_variant_iter_init(&iter, ended);
	while (g_variant_iter_next(&iter, "(u&sb)", &pid, &comm, &sigkill)) {
		if (sigkill)
			continue;
		g_string_append_printf(list, "%s%u (%s%s)", n++ ? ", " : "", pid, comm,
				       g_hash_table_contains(killed, GUINT_TO_POINTER(pid))
				       ? ", needed SIGKILL" : "");
	}
	printf("stopped sandbox '%s'%s: ", name, was_running ? "" : " (its holder was already gone)");
	if (n == 0)
		printf("no processes were running inside\n");
	else
		printf("ended %u process%s: %s\n", n, n == 1 ? "" : "es", list->str);
}

int commands_stop(const VpnnsOptions *opts)
{
	GError *error = NULL;
	VpnnsPaths *paths = paths_new(opts->name, opts->state_dir, &error);
	g_autoptr(VpnnsClient) client = NULL;
	g_autoptr(CtlMsg) reply = NULL;
	g_autoptr(GVariant) ended = NULL;
	GVariantBuilder all;
	GVariantDict d;
	guint32 pid = 0;
	gboolean running;

	if (!paths)
		return commands_fail(error);
	client = client_open(paths, CLIENT_STOP, NULL, &error);
	if (!client)
		return commands_fail(error);
	running = client->sock >= 0;
	if (running) {
		g_variant_dict_init(&d, NULL);
		g_variant_dict_insert(&d, "grace-ms", "u", (guint32)opts->timeout_s * 1000);
		reply = client_request(client, CTL_OP_STOP, g_variant_dict_end(&d), NULL,
				       (opts->timeout_s + 10) * 1000, &error);
		if (!reply && g_error_matches(error, VPNNS_ERROR, VPNNS_ERROR_PROTOCOL)) {
			g_printerr("vpnns: %s; ending the holder with SIGTERM\n", error->message);
			g_clear_error(&error);
			if (!commands_terminate_holder(client, opts->timeout_s * 1000, &error))
				return commands_fail(error);
		} else if (!reply && g_error_matches(error, VPNNS_ERROR, VPNNS_ERROR_STOPPED)) {
			/* We hold the state lock, so no other stop is ending it:
			 * the holder is dying by itself - SIGKILLed (its socket
			 * stays open until its last thread is gone) or ending on
			 * a signal.  Let it finish, then clean up after it as
			 * after any dead holder. */
			pid_t hp;

			g_clear_error(&error);
			hp = commands_holder_pid(client, NULL);
			if (hp) /* a holder ending on a signal gives the inside 5 s */
				commands_wait_exit(hp, 10000);
			running = FALSE;
		} else if (!reply) {
			return commands_fail(error);
		}
	}
	if (reply) {
		g_variant_lookup(reply->body, "pid", "u", &pid);
		ended = g_variant_lookup_value(reply->body, "ended", G_VARIANT_TYPE("a(usb)"));
		if (pid > 0)
			commands_wait_exit((pid_t)pid, 5000);
	}
	g_variant_builder_init(&all, G_VARIANT_TYPE("a(usb)"));
	if (ended) {
		GVariantIter iter;
		GVariant *child;

		g_variant_iter_init(&iter, ended);
		while ((child = g_variant_iter_next_value(&iter)))
			g_variant_builder_add_value(&all, child), g_variant_unref(child);
		g_clear_pointer(&ended, g_variant_unref);
	}
	commands_end_orphans(client, !running, opts->timeout_s * 1000, &all);
	ended = g_variant_ref_sink(g_variant_builder_end(&all));
	if (!paths_remove_tree(client->paths->dir, &error)) {
		g_prefix_error(&error, "sandbox stopped, but its state directory could not be removed: ");
		return commands_fail(error);
	}
	if (!client->paths->classic) {
		g_autofree char *base = g_path_get_dirname(client->paths->dir);

		rmdir(base); /* the last sandbox leaves no empty vpnns/ behind */
	}
	commands_print_ended(opts->name, ended, running);
	return 0;
}
