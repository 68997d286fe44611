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

# UDP: a burst of one flow, which the relay hands the sandbox joined into
# superpackets (GRO), must reach a socket inside intact, in order, one
# datagram at a time (the sandbox's kernel splits them for a socket that
# did not ask for UDP_GRO).
U=$(uniq_name udpgro); track "$U"
vpnns_user up "$U"
got=$dir/udp.got; peer_out=$dir/udp.out
: > "$got"; chown "$TEST_USER" "$got"
rpid=$(start_inside "$U" "$dir/recv.pid" socat -u UDP4-RECV:7000,rcvbuf=1048576 "OPEN:$got,append")
as_user env VPNNS_NAME="$U" "$PEER" --openconnect --local 198.18.9.2 --peer 198.18.9.1 \
	--mtu 1500 --size 1400 --count 1 --udp-burst 40 --udp-port 7000 --hold-ms 1500 \
	-- sh -c "exec $dir/vpnc-script" > "$peer_out" 2>&1 &
peer_job=$!
wait_until 10 grep -q '^udp_sent=40$' "$peer_out"
sleep 1.2 # the relay reports its counters once a second
coalesced=$(vpnns_user status "$U" | sed -n 's/.* \([0-9]*\) coalesced.*/\1/p')
wait "$peer_job"; rc=$?
assert_eq "UDP burst: the peer sent 40 datagrams and the relay ended cleanly" "0 1" \
	"$rc $(grep -c '^udp_sent=40$' "$peer_out")"
assert_eq "UDP burst: all 40 datagrams arrived, intact and in order" \
	"$(perl -e 'print chr($_ % 256) x 1372 for 0..39' | sha256sum)" "$(sha256sum < "$got")"
assert_match "UDP burst: the relay joined datagrams into superpackets" "^[1-9][0-9]*$" "$coalesced"
end_pid "$rpid"

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
