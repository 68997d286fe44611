#!/bin/bash
# The OpenVPN plug-in with a real OpenVPN 2.6 server and a root client on
# the host (tests/lab/openvpn-lab.sh): the client's tun is moved into a
# sandbox owned by the non-root test user, and stays working through
# SIGUSR1 (with and without --persist-tun), --up-restart, SIGHUP and
# --user nobody.  Traffic goes only to addresses inside the lab.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/env.sh"
require_root
for t in openvpn openssl dnsmasq busybox curl; do
	command -v $t >/dev/null || tap_skip_all "$t is not installed (run tests/install-deps.sh)"
done
PLUGIN=$TOP/openvpn-plugin/vpnns-openvpn.so
[ -f "$PLUGIN" ] || tap_skip_all "the plug-in is not built (make)"
. "$TOP/tests/lab/openvpn-lab.sh"
. "$TOP/tests/lib/vpn.sh"
trap 'ovlab_down; cleanup_sandboxes' EXIT
cd /tmp

host_state() {
	ip -o addr show | awk '$2 !~ /^vp[lo]-/ {print $2, $3, $4}' | sort
	ip route show table main | grep -v -e 'dev vp[lo]-' -e '^unreachable'
	ip -6 route show table main | grep -v -e 'dev vp[lo]-' -e '^unreachable'
	md5sum < /etc/resolv.conf
}
works() {  # works NAME: the intranet by name answers through the VPN
	[ "$(inside "$1" curl -sS -m 5 http://intranet/ 2>/dev/null)" = "$OVLAB_PAGE" ]
}
cpu_of() { ps -o pcpu= -p "$1" 2>/dev/null | tr -d ' '; }

ovlab_up || { tap_fail "the OpenVPN lab comes up"; tap_done; }
host_before=$(host_state)

host_tuns() { ip -o link show type tun | awk -F': ' '{print $1 ":" $2}' | sort; }
# tuns_appeared BEFORE: host tun devices (index:name) that were not there before
tuns_appeared() { comm -13 <(echo "$1") <(host_tuns); }

# --- connect ------------------------------------------------------------------
A=$(uniq_name ovpn); track "$A"
tuns_before=$(host_tuns)
ovpn_client a "$A"
assert_true "the plug-in's OpenVPN connects" completed a
assert_true "the sandbox is connected" wait_until 5 connected "$A"
assert_match "the plug-in logged whose sandbox it serves" "vpnns-openvpn: serving sandbox '$A' of $TEST_USER" \
	"$(cat "$(ovlab_log a)")"
hp=$(holder_pid "$A")
assert_eq "the sandbox was created as the user, not root" "$TEST_USER" "$(ps -o user= -p "$hp")"
assert_match "status names the openvpn path" "tunnel: +tun[0-9]+ \(openvpn path\)" "$(vpnns_user status "$A")"
assert_eq "HTTP by address through the VPN" "$OVLAB_PAGE" "$(inside "$A" curl -sS -m 5 "$OVLAB_URL4")"
assert_eq "HTTP by name (pushed DNS and domain)" "$OVLAB_PAGE" "$(inside "$A" curl -sS -m 5 "http://intranet/")"
assert_eq "HTTP over IPv6" "$OVLAB_PAGE" "$(inside "$A" curl -sS -m 5 "$OVLAB_URL6")"
assert_eq "HTTP to the pushed route's network" "$OVLAB_PAGE9" "$(inside "$A" curl -sS -m 5 "$OVLAB_URL9")"
routes=$(inside "$A" ip route show)
assert_match "the pushed route is installed" "^198\.18\.9\.0/24 dev tun" "$routes"
assert_match "and a default route: the sandbox has no other path" "^default dev tun" "$routes"
dev=$(ovlab_tun_dev a)
assert_match "OpenVPN opened a tun device" "^tun[0-9]+$" "$dev"
assert_eq "... which is no longer in the host namespace" "" "$(tuns_appeared "$tuns_before")"
assert_true "... but in the sandbox" inside "$A" ip link show "$dev"
assert_eq "host routes, addresses and resolv.conf unchanged while connected" "$host_before" "$(host_state)"

# --- restarts -------------------------------------------------------------------
ovlab_signal a USR1
assert_true "SIGUSR1 (no --persist-tun): OpenVPN reconnects" completed a 2
assert_true "... with a new tun, moved in again: the tunnel works" wait_until 10 works "$A"
dev=$(ovlab_tun_dev a)
assert_eq "... and the new $dev does not stay on the host" "" "$(tuns_appeared "$tuns_before")"
ovlab_signal a HUP
assert_true "SIGHUP (the plug-in is reloaded): OpenVPN reconnects" completed a 3
assert_true "... and the tunnel works" wait_until 10 works "$A"
assert_match "... through a freshly loaded plug-in" "PLUGIN_CLOSE" "$(cat "$(ovlab_log a)")"

# client SIGKILL: the tun dies with OpenVPN; the sandbox must fall back to nothing
pid=$(ovlab_openvpn_pid a)
kill -KILL "$pid"
assert_true "client SIGKILL leaves only lo and no name server" wait_until 5 offline "$A"
ovlab_openvpn_stop a 2>/dev/null

P=$(uniq_name persist); track "$P"
ovpn_client p "$P" persist-tun
assert_true "--persist-tun: connects" completed p
ovlab_signal p USR1
sleep 1
assert_true "--persist-tun SIGUSR1: reconnects" completed p 2
assert_true "... the moved device stays and works" wait_until 10 works "$P"
ovlab_openvpn_stop p

U=$(uniq_name uprestart); track "$U"
ovpn_client u "$U" persist-tun up-restart
assert_true "--up-restart: connects" completed u
ovlab_signal u USR1
assert_true "--up-restart SIGUSR1: reconnects" completed u 2
has_route9() { inside "$1" ip route show | grep -q '^198\.18\.9\.0/24 dev tun'; }
assert_true "... its route-less UP keeps the pushed routes" wait_until 10 has_route9 "$U"
assert_true "... and the tunnel works" wait_until 10 works "$U"
ovlab_openvpn_stop u

N=$(uniq_name nobody); track "$N"
ovpn_client n "$N" "user nobody" "group nogroup"
assert_true "--user nobody: connects" completed n
assert_match "... and drops its privileges" "nobody" "$(ps -o user= -p "$(ovlab_openvpn_pid n)")"
ovlab_signal n USR1
assert_true "--user nobody SIGUSR1: reconnects as nobody" completed n 2
assert_true "... and the new tun reaches the sandbox through the root helper" wait_until 10 works "$N"
ovlab_openvpn_stop n
assert_true "--user nobody: a clean stop leaves only lo and no name server" wait_until 5 offline "$N"

# --- the sandbox goes away under OpenVPN ---------------------------------------------
S=$(uniq_name stop); track "$S"
ovpn_client s "$S"
completed s
pid=$(ovlab_openvpn_pid s)
vpnns_user stop "$S" >/dev/null
assert_true "vpnns stop while connected ends the OpenVPN that served it" \
	wait_until 10 sh -c "! kill -0 $pid 2>/dev/null || [ \"\$(awk '{print \$3}' /proc/$pid/stat)\" = Z ]"
assert_match "... as it says in OpenVPN's log" "sandbox '$S' of $TEST_USER was stopped.*ending OpenVPN \(pid $pid\)" \
	"$(tr '\n' ' ' < "$(ovlab_log s)")"

D=$(uniq_name died); track "$D"
ovpn_client d "$D"
completed d
pid=$(ovlab_openvpn_pid d)
kill -KILL "$(holder_pid "$D")"
assert_true "a holder that dies restarts OpenVPN, which reconnects" completed d 2
assert_true "... into a fresh sandbox that works" wait_until 10 works "$D"
sleep 1
cpu=$(cpu_of "$pid")
assert_true "... and OpenVPN is not spinning (${cpu:-?}% CPU)" awk -v c="${cpu:-100}" 'BEGIN { exit !(c < 50) }'
ovlab_openvpn_stop d

# with --persist-tun the restart keeps the dead device and brings no UP:
# the helper must end OpenVPN instead of leaving it spinning
Q=$(uniq_name deadpersist); track "$Q"
ovpn_client q "$Q" persist-tun
completed q
pid=$(ovlab_openvpn_pid q)
kill -KILL "$(holder_pid "$Q")"
assert_true "persist-tun and a dead holder: OpenVPN is ended within the helper's 15 s" \
	wait_until 25 eval '! ovlab_pid_alive '"$pid"
assert_match "... saying why" "did not bring a new tunnel within 15 s" "$(cat "$(ovlab_log q)")"
ovlab_openvpn_stop q 2>/dev/null

# --- OpenVPN 2.6's --dns, and a device configured on the host ---------------------------
ovlab_down
ovlab_up --dns-option || { tap_fail "the --dns-option lab comes up"; tap_done; }
O=$(uniq_name dnsopt); track "$O"
ovpn_client o "$O"
assert_true "--dns-option: connects" completed o
assert_eq "... the name server comes from dns_server_N_address_M" "$OVLAB_DNS" \
	"$(inside "$O" awk '/^nameserver/ {print $2}' /etc/resolv.conf)"
assert_match "... the search domain from dns_search_domain_N" "^search vpnns.test" \
	"$(inside "$O" grep ^search /etc/resolv.conf)"
assert_true "... and names resolve through it" works "$O"
ovlab_openvpn_stop o

W=$(uniq_name warn); track "$W"
ovlab_client_config "$OVLAB_DIR/w.ovpn" "plugin $PLUGIN vpnns=$VPNNS user=$TEST_USER name=$W"
sed -i '/^ifconfig-noexec$/d' "$OVLAB_DIR/w.ovpn"
# OpenVPN will address the tun on the host for a moment (a lab-only range,
# covered by the lab's safety net) before the plug-in moves it away.
OVLAB_ALLOW_EXEC=1 ovlab_openvpn_bg w "$OVLAB_DIR/w.ovpn"
completed w
assert_match "a device OpenVPN configured on the host gets a clear warning" \
	"was already configured on the host.*--ifconfig-noexec --route-noexec" "$(cat "$(ovlab_log w)")"
assert_true "... and still ends up working in the sandbox" wait_until 10 works "$W"
ovlab_openvpn_stop w

ovlab_down
assert_eq "host routes, addresses and resolv.conf as before" "$host_before" "$(host_state)"
tap_done
