/* client.h - finding, starting and talking to a sandbox's holder */
#pragma once

#include "ctl.h"
#include "holder.h"
#include "paths.h"

typedef struct {
	VpnnsPaths *paths;
	int lock_fd;   /* the state lock, shared or exclusive; close-on-exec */
	int sock;      /* connected control socket; close-on-exec */
	gboolean created; /* this client started the holder */
} VpnnsClient;

void client_free(VpnnsClient *client);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VpnnsClient, client_free)

typedef enum {
	CLIENT_JOIN,    /* connect, starting the sandbox if it is not running */
	CLIENT_EXISTING,/* connect to a running sandbox only */
	CLIENT_STOP,    /* exclusive lock, connect if running (sock -1 if not) */
} ClientMode;

/* Open the sandbox @paths describes.  The state lock is held (shared for
 * joins, exclusive while creating or stopping) until the client is freed or
 * execs, so a stop never races a join that is under way and concurrent
 * first starts create one holder. */
VpnnsClient *client_open(VpnnsPaths *paths, ClientMode mode, const HolderOptions *opts,
			 GError **error);

/* Send one request and wait up to @timeout_ms for its reply, which must
 * carry exactly the number of fds ctl_op_reply_fds() says (stored in @fds). */
CtlMsg *client_request(VpnnsClient *client, CtlOp op, GVariant *body, int *fds,
		       int timeout_ms, GError **error);

/* What the pid file of a sandbox says about its (last) holder. */
typedef struct {
	pid_t pid;
	guint64 userns_dev, userns_ino;
	gint64 created;
	char *generation;
} ClientPidfile;

gboolean client_read_pidfile(const VpnnsPaths *paths, ClientPidfile *out);
void client_pidfile_clear(ClientPidfile *pf);

/* Processes still living in the user namespace of a dead holder. */
GArray *client_orphans(const ClientPidfile *pf);

/* The user namespaces of earlier holders of this sandbox that died while
 * processes still ran in them (STATE/orphans), as ClientPidfile entries
 * with only the userns fields set. */
GArray *client_read_orphan_namespaces(const VpnnsPaths *paths);
