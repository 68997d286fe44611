/* ovpnhelper.h - the OpenVPN plug-in's root helper (vpnns --openvpn-helper) */
#pragma once

#include <glib.h>

/* Decode one plug-in request: the event and OpenVPN's environment (a
 * NULL-terminated array).  Pure; for tests and fuzzing. */
gboolean ovpnhelper_parse_request(const void *buf, size_t len, guint32 *event, char ***envp,
				  GError **error);

/* Run as the helper: argv holds the plug-in's arguments (user=, name=,
 * state-dir=); the plug-in's socket is fd OVPNPROTO_HELPER_FD.  Returns the
 * exit status. */
int ovpnhelper_main(int argc, char **argv);
