/* ocenv.h - openconnect's vpnc-script environment, parsed into a VpnConfig */
#pragma once

#include "vpncfg.h"

#include <sys/types.h>

/* What openconnect says about the call, beside the configuration. */
typedef struct {
	char *reason;  /* pre-init, connect, ...; NULL with --script-tun */
	int vpnfd;     /* --script-tun: the packet socket; -1 if absent */
	pid_t vpnpid;  /* openconnect's pid; 0 if absent */
} OcEnvInfo;

void ocenv_info_clear(OcEnvInfo *info);

/* An environ-style array as a table (later entries win). */
GHashTable *ocenv_table(char **envp);

/* Parse the call's kind (reason, VPNFD, VPNPID); fails on malformed values. */
gboolean ocenv_parse_info(GHashTable *env, OcEnvInfo *info, GError **error);

/* Parse the tunnel configuration: INTERNAL_IP4_*, INTERNAL_IP6_*, the
 * CISCO_SPLIT_* and CISCO_IPV6_SPLIT_* routes, CISCO_DEF_DOMAIN,
 * CISCO_SPLIT_DNS, TUNDEV, VPNGATEWAY.  Pure: it reads only @env.  Any
 * malformed value fails the whole parse, naming the variable. */
VpnConfig *ocenv_parse_config(GHashTable *env, GError **error);
