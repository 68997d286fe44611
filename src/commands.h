/* commands.h - the management commands: up, list, status, stop */
#pragma once

#include "options.h"

/* Each returns the process exit status. */
int commands_up(const VpnnsOptions *opts);
int commands_list(const VpnnsOptions *opts);
int commands_status(const VpnnsOptions *opts);
int commands_stop(const VpnnsOptions *opts);

/* Print "vpnns: MESSAGE" on stderr. */
void commands_print_error(const GError *error);
