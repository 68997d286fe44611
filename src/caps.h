/* caps.h - capabilities: what the holder keeps, what an application loses */
#pragma once

#include <glib.h>

/* The holder: keep only the capabilities it uses inside its namespaces
 * (network and mount administration, signalling and inspecting the
 * processes it serves); clear inheritable and ambient sets. */
gboolean caps_holder_restrict(GError **error);

/* An application about to exec: empty effective, permitted, inheritable
 * and ambient sets; the bounding set keeps only CAP_NET_RAW, so that ping
 * (file capability cap_net_raw=ep) can still be executed.  Nothing else,
 * file capabilities included, can bring a capability back. */
gboolean caps_drop_all(GError **error);

/* A vpnc-script run inside the sandbox (vpnns --attach --script): keep
 * network and mount administration across exec as ambient capabilities,
 * since the script runs with the user's own uid. */
gboolean caps_keep_for_script(GError **error);
