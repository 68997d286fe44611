/* caps.h - capabilities: what the holder keeps, what an application loses */
#pragma once

#include <glib.h>

/* The holder: keep only the capabilities it uses inside its namespaces
 * (network and mount administration, signalling and inspecting the
 * processes it serves); clear inheritable and ambient sets. */
gboolean caps_holder_restrict(GError **error);

/* An application about to exec: empty effective, permitted, inheritable,
 * ambient and bounding sets, so neither the process nor anything it runs
 * (file capabilities included) holds a capability in the sandbox. */
gboolean caps_drop_all(GError **error);
