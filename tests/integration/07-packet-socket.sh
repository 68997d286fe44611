#!/bin/bash
# The relay driven by a stand-in for the VPN client (tests/tools/tuntap-peer):
# OpenVPN 2.7's --dev-node unix:PROG (TUNTAP_SOCKET_FD, stopped with SIGINT)
# through the installed wrapper, and openconnect's --script-tun shape
# (VPNFD, stopped with SIGHUP to the process group).  ICMP echo requests of
# every size up to 65535 bytes must come back from the sandbox's kernel intact.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/env.sh"
require_root
PEER=$TOP/tests/tools/tuntap-peer
[ -x "$PEER" ] || tap_skip_all "tests/tools/tuntap-peer is not built (make check builds it)"
cd /tmp

# The wrapper as `make install` would install it, pointing at this build.
dir=$(mktemp -d /tmp/vpnns-wrap.XXXXXX); chmod 755 "$dir"
sed -e "s|@BINDIR@|$TOP|g" -e "s|@LIBEXECDIR@|$dir|g" "$TOP/vpnc-script/vpnns-vpnc-script.in" > "$dir/vpnc-script"
chmod 755 "$dir/vpnc-script"; ln -s vpnc-script "$dir/openvpn-tun"
trap 'rm -rf "$dir"; cleanup_sandboxes' EXIT

O=$(uniq_name ovpn27); track "$O"
for size in 84 1500 9000 65535; do
	out=$(as_user env VPNNS_NAME="$O" "$PEER" --local 198.18.7.2 --peer 198.18.7.1 \
		--mtu 65535 --size "$size" --count 5 -- "$dir/openvpn-tun" 2>&1); rc=$?
	assert_eq "OpenVPN 2.7 unix: $size-byte packets through the relay and back, intact" 0 "$rc"
	assert_match "... all 5 replies" "replies=5/5 size=$size" "$out"
done
assert_match "OpenVPN 2.7 unix: SIGINT ends the relay cleanly, at once" "exit_ms=[0-9]{1,3} exit=0" "$out"
assert_eq "... and the sandbox is offline again" "lo " \
	"$(vpnns_user --name "$O" -- ip -o link show | awk -F': ' '{print $2}' | tr '\n' ' ')"
assert_match "the identity came from VPNNS_NAME" "^$O " "$(vpnns_user list | grep "^$O ")"

C=$(uniq_name ocshape); track "$C"
out=$(as_user env VPNNS_NAME="$C" "$PEER" --openconnect --local 198.18.8.2 --peer 198.18.8.1 \
	--mtu 9000 --size 9000 --count 5 -- sh -c "exec $dir/vpnc-script" 2>&1); rc=$?
assert_eq "openconnect shape through the wrapper: 9000-byte packets intact" 0 "$rc"
assert_match "... SIGHUP to the process group ends it cleanly" "exit=0" "$out"

# What OpenVPN could hand us that we refuse
out=$(as_user env VPNNS_NAME="$O" TUNTAP_SOCKET_FD=0 TUNTAP_DEV_TYPE=tap ifconfig_local=198.18.7.2 \
	"$VPNNS" --attach 2>&1 </dev/null); rc=$?
assert_ne "a tap device is refused" 0 "$rc"
assert_match "... saying tun only" "serves tun \(layer 3\) devices only" "$out"
out=$(as_user env VPNNS_NAME="$O" TUNTAP_SOCKET_FD=0 ifconfig_local=198.18.7.2 ifconfig_netmask=255.0.255.0 \
	"$VPNNS" --attach 2>&1 </dev/null); rc=$?
assert_eq "a malformed OpenVPN variable fails" 1 "$rc"
assert_match "... naming it" "malformed OpenVPN environment: ifconfig_netmask='255.0.255.0'" "$out"
out=$(as_user env VPNNS_NAME="$O" TUNTAP_SOCKET_FD=0 "$VPNNS" --attach 2>&1 </dev/null)
assert_match "no address at all is explained" "neither ifconfig_local nor ifconfig_ipv6_local" "$out"

tap_done
