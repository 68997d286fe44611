/* tunnel.c - the holder's VPN attachment: the tunnel device, its configuration, its DNS
 *
 * One tunnel per sandbox.  It arrives either as a tun the holder created
 * here for a relay (tunnel_create), or as a kernel tun that root moved in
 * (the kernel path), and is configured by tunnel_configure in both cases.
 * The holder listens for RTM_DELLINK: when the tunnel device disappears -
 * the relay ended, openconnect was killed, the VPN dropped - the name
 * servers go with it, so a disconnected sandbox has neither a route nor a
 * resolver, whatever killed the tunnel and however abruptly.
 */
#include "tunnel.h"
#include "netcfg.h"
#include "tun.h"
#include "util.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct _HolderTunnel {
	Sandboxfs *fs;
	NetcfgSocket *nl;
	NetcfgSocket *monitor;
	int ifindex;          /* 0: no tunnel */
	char *ifname;
	char *mode;           /* relay, kernel, script */
	VpnConfig *cfg;       /* NULL until configured */
	gboolean applied;     /* FALSE: the user's vpnc-script configured it */
	pid_t attach_pid, vpn_pid;
	gint64 since;
	GVariant *counters;   /* a{st} from the relay */
};

HolderTunnel *tunnel_new(Sandboxfs *fs, GError **error)
{
	HolderTunnel *t = g_new0(HolderTunnel, 1);

	t->fs = fs;
	t->nl = netcfg_socket_new(error);
	if (t->nl)
		t->monitor = netcfg_monitor_new(error);
	if (!t->nl || !t->monitor) {
		tunnel_free(t);
		return NULL;
	}
	return t;
}

static void tunnel_forget(HolderTunnel *t)
{
	t->ifindex = 0;
	g_clear_pointer(&t->ifname, g_free);
	g_clear_pointer(&t->mode, g_free);
	g_clear_pointer(&t->cfg, vpncfg_free);
	g_clear_pointer(&t->counters, g_variant_unref);
	t->attach_pid = t->vpn_pid = 0;
}

void tunnel_free(HolderTunnel *t)
{
	if (!t)
		return;
	tunnel_forget(t);
	netcfg_socket_free(t->nl);
	netcfg_socket_free(t->monitor);
	g_free(t);
}

/* Back to "no VPN": no name server, and none of our routes (the
 * unreachable split-exclude ones outlive the device otherwise). */
static void tunnel_offline(HolderTunnel *t, const char *why)
{
	g_autoptr(GError) error = NULL;

	netcfg_flush(t->nl, t->ifindex, NULL);
	if (!sandboxfs_set_resolv(t->fs, sandboxfs_resolv_offline, &error))
		g_warning("cannot reset the sandbox's resolv.conf: %s", error->message);
	if (t->ifname)
		g_message("tunnel %s: %s", t->ifname, why);
	tunnel_forget(t);
}

/* Is the tunnel we know still there? */
static gboolean tunnel_alive(HolderTunnel *t)
{
	g_autofree char *name = NULL;

	if (!t->ifindex)
		return FALSE;
	if (netcfg_ifindex(t->nl, t->ifname, NULL) == t->ifindex)
		return TRUE;
	tunnel_offline(t, "gone");
	return FALSE;
}

static gboolean tunnel_busy_error(HolderTunnel *t, const char *ifname, GError **error)
{
	if (!tunnel_alive(t) || (ifname && !g_strcmp0(ifname, t->ifname)))
		return FALSE;
	g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_FAILED,
		    "this sandbox already has a VPN attached (%s, %s path, attach pid %d); "
		    "disconnect it first", t->ifname, t->mode ? t->mode : "?", (int)t->attach_pid);
	return TRUE;
}

int tunnel_create(HolderTunnel *t, pid_t attach_pid, pid_t vpn_pid, gboolean offload,
		  char **ifname, GError **error)
{
	int fd;

	if (tunnel_busy_error(t, NULL, error))
		return -1;
	fd = tun_create(ifname, offload, error);
	if (fd < 0)
		return -1;
	tunnel_forget(t);
	t->ifindex = netcfg_ifindex(t->nl, *ifname, error);
	if (!t->ifindex) {
		close(fd);
		g_clear_pointer(ifname, g_free);
		return -1;
	}
	t->ifname = g_strdup(*ifname);
	t->mode = g_strdup("relay");
	t->attach_pid = attach_pid;
	t->vpn_pid = vpn_pid;
	t->since = g_get_real_time() / G_USEC_PER_SEC;
	return fd;
}

gboolean tunnel_configure(HolderTunnel *t, GVariant *body, pid_t peer, GError **error)
{
	g_autoptr(GVariant) dict = g_variant_lookup_value(body, "config", G_VARIANT_TYPE_VARDICT);
	g_autoptr(VpnConfig) cfg = NULL;
	g_autofree char *resolv = NULL;
	g_autofree char *origin = NULL;
	g_autoptr(GError) local = NULL;
	const char *mode = "kernel";
	gboolean apply = TRUE;
	guint32 vpn_pid = 0;
	int ifindex;

	if (!dict) {
		g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_PROTOCOL, "configure: no configuration");
		return FALSE;
	}
	cfg = vpncfg_from_variant(dict, error);
	if (!cfg)
		return FALSE;
	if (!cfg->ifname) {
		g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_INVALID, "configure: which device?");
		return FALSE;
	}
	g_variant_lookup(body, "mode", "&s", &mode);
	g_variant_lookup(body, "apply", "b", &apply);
	g_variant_lookup(body, "vpn-pid", "u", &vpn_pid);
	if (tunnel_busy_error(t, cfg->ifname, error))
		return FALSE;
	/* The same device name from another path is another tunnel: a kernel
	 * path must not take over (and orphan) a relay's tun, nor the reverse. */
	if (t->ifindex && t->mode && g_strcmp0(t->mode, mode) != 0) {
		g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_FAILED,
			    "this sandbox already has a VPN attached (%s, %s path); disconnect it first",
			    t->ifname, t->mode);
		return FALSE;
	}
	ifindex = netcfg_ifindex(t->nl, cfg->ifname, error);
	if (!ifindex)
		return FALSE;

	if (apply && !netcfg_apply(t->nl, ifindex, cfg, &local)) {
		/* never half configured: take everything back off */
		netcfg_flush(t->nl, ifindex, NULL);
		tunnel_offline(t, "configuration failed");
		g_propagate_prefixed_error(error, g_steal_pointer(&local),
					   "cannot configure %s in the sandbox: ", cfg->ifname);
		return FALSE;
	}
	origin = vpn_pid ? g_strdup_printf("VPN client pid %u", vpn_pid) : NULL;
	resolv = vpncfg_resolv_conf(cfg, origin);
	if (apply && !sandboxfs_set_resolv(t->fs, resolv, &local)) {
		netcfg_flush(t->nl, ifindex, NULL);
		tunnel_offline(t, "cannot write resolv.conf");
		g_propagate_error(error, g_steal_pointer(&local));
		return FALSE;
	}
	if (t->ifindex != ifindex) {
		tunnel_forget(t);
		t->since = g_get_real_time() / G_USEC_PER_SEC;
		t->attach_pid = peer;
	}
	t->ifindex = ifindex;
	g_free(t->ifname);
	t->ifname = g_strdup(cfg->ifname);
	g_free(t->mode);
	t->mode = g_strdup(mode);
	if (vpn_pid)
		t->vpn_pid = (pid_t)vpn_pid;
	g_clear_pointer(&t->cfg, vpncfg_free);
	t->cfg = g_steal_pointer(&cfg);
	t->applied = apply;
	{
		g_autofree char *summary = vpncfg_summary(t->cfg);
		g_message("tunnel configured (%s path): %s", t->mode, summary);
	}
	return TRUE;
}

gboolean tunnel_deconfigure(HolderTunnel *t, GVariant *body, GError **error)
{
	const char *ifname = NULL;

	g_variant_lookup(body, "ifname", "&s", &ifname);
	if (!t->ifindex || (ifname && g_strcmp0(ifname, t->ifname) != 0))
		return TRUE; /* nothing of ours: already gone */
	if (netcfg_ifindex(t->nl, t->ifname, NULL) == t->ifindex)
		netcfg_flush(t->nl, t->ifindex, NULL);
	tunnel_offline(t, "disconnected");
	return TRUE;
}

void tunnel_report(HolderTunnel *t, GVariant *body)
{
	g_autoptr(GVariant) c = g_variant_lookup_value(body, "counters", G_VARIANT_TYPE("a{st}"));

	if (!c || !t->ifindex)
		return;
	g_clear_pointer(&t->counters, g_variant_unref);
	t->counters = g_steal_pointer(&c);
}

static GVariant *tunnel_addresses(HolderTunnel *t)
{
	GVariantBuilder b;

	g_variant_builder_init(&b, G_VARIANT_TYPE_STRING_ARRAY);
	if (t->cfg && t->cfg->has_ip4) {
		g_autofree char *s = vpncfg_prefix_to_string(&t->cfg->ip4);
		g_variant_builder_add(&b, "s", s);
	}
	if (t->cfg && t->cfg->has_ip6) {
		g_autofree char *s = vpncfg_prefix_to_string(&t->cfg->ip6);
		g_variant_builder_add(&b, "s", s);
	}
	return g_variant_builder_end(&b);
}

void tunnel_status(HolderTunnel *t, GVariantDict *d)
{
	g_autoptr(GPtrArray) routes = NULL;

	if (!tunnel_alive(t))
		return;
	routes = netcfg_routes(t->nl, t->ifindex, NULL);
	g_variant_dict_insert(d, "state", "s", t->cfg ? "connected" : "attaching");
	g_variant_dict_insert(d, "tunnel", "s", t->ifname);
	g_variant_dict_insert(d, "mode", "s", t->mode ? t->mode : "?");
	g_variant_dict_insert(d, "since", "x", t->since);
	g_variant_dict_insert(d, "attach-pid", "u", (guint32)t->attach_pid);
	g_variant_dict_insert(d, "vpn-pid", "u", (guint32)t->vpn_pid);
	g_variant_dict_insert_value(d, "addresses", tunnel_addresses(t));
	if (routes)
		g_variant_dict_insert_value(d, "routes", g_variant_new_strv(
			(const char *const *)routes->pdata, routes->len));
	if (t->cfg && !t->applied)
		g_variant_dict_insert(d, "configured-by", "s", "script");
	if (t->cfg && t->applied) {
		g_variant_dict_insert_value(d, "dns", g_variant_new_strv(
			(const char *const *)t->cfg->dns->pdata, t->cfg->dns->len));
		if (t->cfg->mtu)
			g_variant_dict_insert(d, "mtu", "u", t->cfg->mtu);
	}
	if (t->counters)
		g_variant_dict_insert_value(d, "counters", t->counters);
}

/* Is @ancestor the parent, grandparent, ... of @pid? */
static gboolean tunnel_is_ancestor(pid_t ancestor, pid_t pid)
{
	for (int depth = 0; depth < 16 && pid > 1; depth++) {
		g_autofree char *path = g_strdup_printf("/proc/%d/stat", (int)pid);
		g_autofree char *text = NULL;
		char *paren;
		int ppid;

		if (!g_file_get_contents(path, &text, NULL, NULL))
			return FALSE;
		paren = strrchr(text, ')');
		if (!paren || sscanf(paren + 1, " %*c %d", &ppid) != 1)
			return FALSE;
		if (ppid == ancestor)
			return TRUE;
		pid = ppid;
	}
	return FALSE;
}

void tunnel_end_clients(HolderTunnel *t)
{
	if (!tunnel_alive(t))
		return;
	/* The VPN client only if the relay really is its descendant: the pid
	 * came from the environment, which is not proof of anything. */
	if (t->vpn_pid > 1 && t->attach_pid > 1 && tunnel_is_ancestor(t->vpn_pid, t->attach_pid)) {
		if (kill(t->vpn_pid, SIGTERM) == 0)
			g_message("stop: ended the VPN client (pid %d)", (int)t->vpn_pid);
	}
	if (t->attach_pid > 1 && !g_strcmp0(t->mode, "relay") && kill(t->attach_pid, SIGTERM) == 0)
		g_message("stop: ended the relay (pid %d)", (int)t->attach_pid);
}

int tunnel_monitor_fd(HolderTunnel *t)
{
	return netcfg_socket_fd(t->monitor);
}

static void tunnel_on_link_gone(int ifindex, gpointer data)
{
	HolderTunnel *t = data;

	if (t->ifindex && ifindex == t->ifindex)
		tunnel_offline(t, "the device disappeared; name servers and routes removed");
}

void tunnel_monitor_dispatch(HolderTunnel *t)
{
	netcfg_monitor_dispatch(t->monitor, tunnel_on_link_gone, t);
}
