/* launch.h - the application launcher: join a sandbox and exec a command in it */
#pragma once

#include "client.h"

/* Exit statuses of our own, as env(1) and chroot(1) use them. */
#define LAUNCH_EXIT_FAILED 125     /* vpnns itself failed */
#define LAUNCH_EXIT_CANNOT_EXEC 126
#define LAUNCH_EXIT_NOT_FOUND 127

/* Join the sandbox @client is connected to and replace this process with
 * @argv (NULL: the user's $SHELL).  Returns only on failure, with the exit
 * status to use. */
int launch_exec(VpnnsClient *client, char **argv, GError **error);
