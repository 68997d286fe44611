/* ns.h - namespace creation (holder) and joining by file descriptor (clients) */
#pragma once

#include <glib.h>
#include <sys/stat.h>
#include <sys/types.h>

/* The order of namespace fds in a JOIN reply: user first, since joining it
 * is what grants the capabilities needed to join the others. */
enum { NS_USER, NS_NET, NS_MNT, NS_UTS, NS_COUNT };

typedef struct {
	dev_t dev;
	ino_t ino;
} NsId;

/* Create new user, network, mount and UTS namespaces for the calling
 * process, mapping the caller's uid and gid to themselves.  On failure the
 * error says which system setting forbids user namespaces. */
gboolean ns_unshare_sandbox(GError **error);

/* Open the caller's namespaces, in NS_* order. */
gboolean ns_open_self(int fds[NS_COUNT], GError **error);

/* Join the namespaces in @fds (NS_* order), then return to @cwd if it
 * exists inside (else the home directory, else /). */
gboolean ns_join(const int fds[NS_COUNT], const char *cwd, GError **error);

/* Identify a namespace by fd or by /proc path. */
gboolean ns_id_from_fd(int fd, NsId *id);
gboolean ns_id_from_path(const char *path, NsId *id);

/* Whether process @pid lives in user namespace @userns or in one nested
 * below it (Chromium and Flatpak create their own). */
gboolean ns_pid_in_userns(pid_t pid, const NsId *userns);

/* Every process in (or below) user namespace @userns, except @exclude. */
GArray *ns_list_pids(const NsId *userns, pid_t exclude);

/* Lists the processes ns_end_processes() is to end (a new GArray of pid_t). */
typedef GArray *(*NsPidLister)(gpointer data);

/* End the processes @list finds: SIGTERM (and SIGCONT, since a stopped job
 * cannot act on SIGTERM) to each as it appears - processes that start
 * meanwhile, a join under way, get the same - until none is left or
 * @grace_ms have passed; then SIGKILL to what is left, waiting up to
 * @kill_wait_ms (0: not at all) for it to go.  Adds (pid, command, needed SIGKILL) to @b,
 * an a(usb). */
void ns_end_processes(NsPidLister list, gpointer data, gint64 grace_ms, gint64 kill_wait_ms,
		      GVariantBuilder *b);

/* The uid owning the user namespace that owns namespace @nsfd
 * (NS_GET_USERNS + NS_GET_OWNER_UID). */
gboolean ns_owner_uid(int nsfd, uid_t *uid, GError **error);

/* Explain, in one sentence naming the setting to change, why this system
 * refuses unprivileged user namespaces; NULL when no setting forbids them. */
char *ns_userns_diagnosis(void);
