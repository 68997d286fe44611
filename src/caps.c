/* caps.c - capabilities: what the holder keeps, what an application loses
 *
 * Joining the sandbox's user namespace with setns() grants every capability
 * inside it.  The holder needs some of them for as long as it lives, because
 * it never execs; applications need none, and because the user is mapped to
 * itself (not to root) an exec would already drop the permitted set - but a
 * binary with file capabilities could regain some, so the bounding set is
 * emptied too, with one exception: CAP_NET_RAW.  Debian ships ping with the
 * file capability cap_net_raw=ep, and execve() refuses such a binary with
 * EPERM when the bounding set lacks the capability (commoncap.c:
 * "insufficient to execute correctly").  What ping gains is confined to the
 * sandbox's own user namespace, hence to raw sockets in the sandbox's own
 * network namespace, whose only way out is the tunnel.
 */
#include "caps.h"
#include "util.h"

#include <sys/capability.h>
#include <sys/prctl.h>

static const cap_value_t caps_holder_keep[] = {
	CAP_NET_ADMIN,      /* netlink: addresses, routes, links; tun devices */
	CAP_SYS_ADMIN,      /* re-establishing mounts (resolv.conf) */
	CAP_DAC_OVERRIDE,   /* writing the sandbox's /etc files */
	CAP_FOWNER,
	CAP_KILL,           /* ending the processes inside on stop */
	CAP_SYS_PTRACE,     /* reading /proc/PID/ns of non-dumpable processes */
};

gboolean caps_holder_restrict(GError **error)
{
	g_autoptr(GError) local = NULL;
	cap_t caps = cap_init();
	int ret;

	if (!caps)
		return vpnns_set_errno(error, errno, "cap_init");
	cap_set_flag(caps, CAP_PERMITTED, G_N_ELEMENTS(caps_holder_keep), caps_holder_keep, CAP_SET);
	cap_set_flag(caps, CAP_EFFECTIVE, G_N_ELEMENTS(caps_holder_keep), caps_holder_keep, CAP_SET);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		vpnns_set_errno(&local, errno, "clearing ambient capabilities");
	ret = cap_set_proc(caps);
	if (ret < 0 && !local)
		vpnns_set_errno(&local, errno, "restricting the holder's capabilities");
	cap_free(caps);
	if (local) {
		g_propagate_error(error, g_steal_pointer(&local));
		return FALSE;
	}
	return TRUE;
}

gboolean caps_drop_all(GError **error)
{
	cap_t caps;
	int ret;

	for (cap_value_t c = 0; c <= CAP_LAST_CAP; c++) {
		if (c == CAP_NET_RAW)
			continue; /* see the top of this file: ping */
		/* EINVAL: a capability this kernel does not know. */
		if (cap_drop_bound(c) < 0 && errno != EINVAL)
			return vpnns_set_errno(error, errno, "dropping capability %d from the bounding set", c);
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		return vpnns_set_errno(error, errno, "clearing ambient capabilities");
	caps = cap_init(); /* all sets empty */
	if (!caps)
		return vpnns_set_errno(error, errno, "cap_init");
	ret = cap_set_proc(caps);
	cap_free(caps);
	if (ret < 0)
		return vpnns_set_errno(error, errno, "dropping capabilities");
	return TRUE;
}

static const cap_value_t caps_script_keep[] = {
	CAP_NET_ADMIN, CAP_NET_RAW, CAP_SYS_ADMIN, CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_CHOWN,
};

gboolean caps_keep_for_script(GError **error)
{
	cap_t caps = cap_get_proc();
	int ret;

	if (!caps)
		return vpnns_set_errno(error, errno, "cap_get_proc");
	cap_set_flag(caps, CAP_INHERITABLE, G_N_ELEMENTS(caps_script_keep), caps_script_keep, CAP_SET);
	ret = cap_set_proc(caps);
	cap_free(caps);
	if (ret < 0)
		return vpnns_set_errno(error, errno, "setting inheritable capabilities");
	for (size_t i = 0; i < G_N_ELEMENTS(caps_script_keep); i++) {
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, caps_script_keep[i], 0, 0) < 0)
			return vpnns_set_errno(error, errno, "raising ambient capability %d",
					       caps_script_keep[i]);
	}
	return TRUE;
}
