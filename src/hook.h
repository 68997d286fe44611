/* hook.h - talking to a sandbox's holder on behalf of a VPN client's hook */
#pragma once

#include "client.h"
#include "options.h"
#include "vpncfg.h"

#define HOOK_TIMEOUT_MS 10000

/* Print "vpnns --attach: CONTEXT: MESSAGE", free @error, return 1. */
int hook_fail(GError *error, const char *context);

/* Open the sandbox opts->name (starting it in CLIENT_JOIN mode) and let go
 * of its lock at once. */
VpnnsClient *hook_open(const VpnnsOptions *opts, ClientMode mode, GError **error);

/* A request whose reply carries no fds. */
gboolean hook_request(VpnnsClient *client, CtlOp op, GVariant *body, GError **error);

/* The body of CTL_OP_CONFIGURE. */
GVariant *hook_configure_body(const VpnConfig *cfg, const char *mode, pid_t vpn_pid,
			      gboolean apply);

/* Run the user's vpnc-script inside the sandbox with @reason and TUNDEV set;
 * returns 0 when it succeeded. */
int hook_run_script(VpnnsClient *client, const char *script, const char *reason,
		    const char *ifname);
