/* attach.h - vpnns --attach: the hook a VPN client calls to bring its tunnel into a sandbox */
#pragma once

#include "options.h"

/* Run as openconnect's --script (relay path with VPNFD, kernel path with
 * reason/TUNDEV) or as OpenVPN's --dev-node unix: program
 * (TUNTAP_SOCKET_FD).  Returns the exit status. */
int attach_main(const VpnnsOptions *opts, char **envp);
