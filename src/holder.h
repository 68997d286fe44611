/* holder.h - the holder: one long-lived process per sandbox that owns its namespaces */
#pragma once

#include "paths.h"

typedef struct {
	const char *hostname;   /* NULL: keep the host's */
	gboolean force_bind;    /* skip the overlay (tests; VPNNS_FORCE_BIND_MOUNTS=1) */
} HolderOptions;

/* Run as the holder of @paths in a freshly forked, session-leading process
 * whose only other open fd is @ready_fd: create the namespaces, report
 * "OK\n" or "ERR message" on @ready_fd, then serve the control socket until
 * stopped.  Never returns. */
G_GNUC_NORETURN void holder_main(const VpnnsPaths *paths, const HolderOptions *opts, int ready_fd);
