/* commands.h - the management commands: up, list, status, stop */
#pragma once

#include "options.h"

/* Each returns the process exit status. */
int commands_up(const VpnnsOptions *opts);
int commands_list(const VpnnsOptions *opts);
int commands_status(const VpnnsOptions *opts);
int commands_stop(const VpnnsOptions *opts);

#include "holder.h"

/* The holder options a run or `up` asks for. */
HolderOptions commands_holder_options(const VpnnsOptions *opts);

/* Print "vpnns: MESSAGE" on stderr. */
void commands_print_error(const GError *error);
