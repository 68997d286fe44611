#!/bin/bash
# tests/demo.sh - a guided tour of vpnns with a real VPN, for a newcomer on a
# fresh machine:  make && sudo make demo   (or: sudo bash tests/demo.sh)
#
# It builds nothing (run `make` first), creates the test users
# (tests/setup.sh), and brings up the throw-away OpenConnect lab of
# tests/lab/ocserv-lab.sh: an ocserv VPN server, and an "intranet" web page
# and DNS server reachable only through that VPN, all in network namespaces.
# Then, as an ordinary user ($SUDO_USER, else the test user vpnnstest), it
# runs the commands a person would type, printing each one:
#   a. a sandbox before any VPN has only lo
#   b. unprivileged openconnect --script-tun attaches its tunnel to it
#   c. programs in the sandbox reach the intranet, by address and by name
#   d. the same request from outside the sandbox does not enter the tunnel
#   e. after openconnect disconnects the sandbox is offline again
#   f. vpnns stop ends it
# and finally removes everything it created, and checks that it did.
# Traffic goes only to addresses inside the lab's namespaces.  Exits non-zero
# if any step does not behave as shown.  Takes about 10 s.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/lib/tap.sh"          # wait_until
. "$HERE/lib/env.sh"
trap - EXIT                  # env.sh's trap: this script has its own
. "$HERE/lab/ocserv-lab.sh"

NAME=demo
T0=$(date +%s%N)

say()  { printf '\n==> %s\n' "$*"; }
note() { printf '    %s\n' "$*"; }
fail() { printf '\ndemo FAILED: %s\n' "$*" >&2; exit 1; }

if [ "$(id -u)" != 0 ]; then
	echo "demo: run as root (it creates a test user and a VPN lab in network namespaces): sudo make demo" >&2
	exit 1
fi
[ -x "$VPNNS" ] || { echo "demo: $VPNNS is missing: run 'make' first" >&2; exit 1; }
for c in ocserv openconnect certtool ocpasswd occtl dnsmasq busybox curl dig setpriv; do
	command -v "$c" >/dev/null ||
		{ echo "demo: $c is not installed: run 'sudo sh tests/install-deps.sh'" >&2; exit 1; }
done
cd /tmp || exit 1

bash "$TOP/tests/setup.sh" || fail "tests/setup.sh failed"

DEMO_USER=$TEST_USER
if [ -n "${SUDO_USER:-}" ] && [ "$SUDO_USER" != root ] && getent passwd "$SUDO_USER" >/dev/null; then
	DEMO_USER=$SUDO_USER
fi
DEMO_UID=$(id -u "$DEMO_USER")
DEMO_HOME=$(user_home "$DEMO_USER")
[ "$DEMO_UID" != 0 ] || fail "the demo user $DEMO_USER is root; run it through sudo as an ordinary user"
# as_user gives a clean login environment without XDG_RUNTIME_DIR, so the
# sandbox's state goes to ~/.vpnns-demo (openconnect's script, started by
# the lab with a clean environment too, finds it there as well)
unset TEST_XDG
STATE_DIRS=("$DEMO_HOME/.vpnns-$NAME" "/run/user/$DEMO_UID/vpnns/$NAME")

as_demo() { as_user -u "$DEMO_USER" "$@"; }
vpnns_demo() { as_demo "$VPNNS" "$@"; }

# show CMD...: print the command as the user would type it (vpnns for the
# build tree's binary), run it as the user, show its output; its status is
# the command's.  The output is kept in $OUT.
OUT=
show() {
	local shown=$* rc=0
	shown=${shown//$VPNNS/vpnns}
	printf '    %s$ %s\n' "$DEMO_USER" "$shown"
	OUT=$(as_demo "$@" 2>&1) || rc=$?
	[ -z "$OUT" ] || printf '%s\n' "$OUT" | sed 's/^/      /'
	return "$rc"
}
connected() { vpnns_demo status "$NAME" 2>/dev/null | grep -q '^state: *connected'; }
only_lo() {  # the interfaces in the sandbox: lo and nothing else
	[ "$(vpnns_demo --name "$NAME" -- ip -o link show | awk -F': ' '{print $2}' | tr '\n' ' ')" = "lo " ]
}
no_server() {  # resolv.conf names no server but the sandbox's own loopback
	[ "$(vpnns_demo --name "$NAME" -- awk '/^nameserver/ {print $2}' /etc/resolv.conf)" = 127.0.0.1 ]
}
demo_pids() {  # the demo user's processes that belong to this demo
	local p
	for p in $(pgrep -u "$DEMO_USER"); do
		tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline" |
			grep -qF -e "--name $NAME " -e "vpl-$LAB_ID" -e "${OCLAB_CERT_PIN:-vpl-$LAB_ID}" &&
			echo "$p"
	done
}

# Refuse to touch a sandbox of this name that the user already has.
if vpnns_demo status "$NAME" >/dev/null 2>&1; then
	fail "$DEMO_USER already has a sandbox named '$NAME'; end it first with: vpnns stop $NAME"
fi
for d in "${STATE_DIRS[@]}"; do
	[ ! -e "$d" ] || fail "$d already exists; end that sandbox first with: vpnns stop $NAME"
done

SANDBOX_STARTED=
LAB_ID=
cleanup() {
	if [ -n "${OCLAB_ID:-}" ]; then
		oclab_openconnect_stop demo INT 5 || true
	fi
	if [ -n "$SANDBOX_STARTED" ]; then
		vpnns_demo stop --timeout 1 "$NAME" >/dev/null 2>&1 || true
		SANDBOX_STARTED=
	fi
	oclab_down
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "vpnns demo, as user $DEMO_USER ('vpnns' below is $VPNNS)"

say "Bringing up a VPN lab: ocserv, and an intranet (203.0.113.0/24, DNS name"
note "intranet.vpnns.test) that exists only behind the VPN, in network namespaces"
oclab_up || fail "the lab did not come up"
LAB_ID=$OCLAB_ID
note "VPN server $OCLAB_SERVER, login $OCLAB_USER/$OCLAB_PASS, lab id $OCLAB_ID"

# --- a ----------------------------------------------------------------------
say "(a) A sandbox named '$NAME' before any VPN: its only interface is lo"
SANDBOX_STARTED=1
show "$VPNNS" --name "$NAME" -- ip -br addr || fail "vpnns --name $NAME -- ip -br addr failed"
only_lo || fail "the new sandbox has interfaces other than lo"

# --- b ----------------------------------------------------------------------
say "(b) openconnect, run by $DEMO_USER without root, attaches its tunnel to the sandbox"
note "(--script-tun: openconnect hands the packets to 'vpnns --attach', no tun device of its own)"
printf '    %s$ echo %s | openconnect --script-tun --script "vpnns --attach --name %s" \\\n' \
	"$DEMO_USER" "$OCLAB_PASS" "$NAME"
printf '          --user=%s --passwd-on-stdin --servercert=%s %s &\n' \
	"$OCLAB_USER" "$OCLAB_CERT_PIN" "$OCLAB_SERVER"
OCLAB_OC_WRAP="as_user -u $DEMO_USER" oclab_openconnect_bg demo --script-tun \
	--script "$VPNNS --attach --name $NAME" || fail "openconnect did not start"
wait_until 20 connected || {
	tail -n 20 "$OCLAB_DIR/openconnect-demo.log" >&2
	fail "the sandbox did not get connected within 20 s (openconnect log above)"
}
show "$VPNNS" status "$NAME" || fail "vpnns status $NAME failed"
printf '%s\n' "$OUT" | grep -Eq '^tunnel: +tun[0-9]+ \(relay path\)' ||
	fail "vpnns status does not show the relay path"

# --- c ----------------------------------------------------------------------
say "(c) Programs in the sandbox reach the intranet through the VPN"
show "$VPNNS" --name "$NAME" -- curl -sS -m 5 "$OCLAB_URL4" || fail "curl by address failed"
[ "$OUT" = "$OCLAB_PAGE" ] || fail "curl by address did not return the intranet page"
note "... and names resolve through the VPN's DNS server:"
show "$VPNNS" --name "$NAME" -- curl -sS -m 5 "http://$OCLAB_NAME/" || fail "curl by name failed"
[ "$OUT" = "$OCLAB_PAGE" ] || fail "curl by name did not return the intranet page"
show "$VPNNS" --name "$NAME" -- ip route get "$OCLAB_HTTP4" || fail "ip route get inside failed"
printf '%s\n' "$OUT" | grep -q ' dev tun' || fail "inside, $OCLAB_HTTP4 is not routed into the tunnel"

# --- d ----------------------------------------------------------------------
say "(d) Outside the sandbox there is no route into the tunnel"
note "The host has no tunnel device; the intranet's address is routed as before"
note "the VPN (while the lab is up, the lab makes it 'unreachable' on this host,"
note "so the request below fails at once instead of going to the real network):"
# Safety: only send the request while the lab's unreachable route is in
# force, so that it cannot leave this machine.
[ -n "${OCLAB_ID:-}" ] && ip route show "203.0.113.0/24" | grep -q '^unreachable' ||
	fail "the lab's unreachable route for 203.0.113.0/24 is missing; not sending the request"
show ip route get "$OCLAB_HTTP4"
printf '%s\n' "$OUT" | grep -q 'dev tun' && fail "the host routes $OCLAB_HTTP4 into a tunnel"
printf '%s\n' "$OUT" | grep -Eq 'unreachable|No route to host|Network is unreachable' ||
	fail "the host has a route for $OCLAB_HTTP4; not sending the request"
if show curl -sS -m 3 "$OCLAB_URL4"; then
	fail "curl from outside the sandbox reached $OCLAB_URL4"
fi
note "-> it fails: only the sandbox's programs use the VPN"

# --- e ----------------------------------------------------------------------
say "(e) openconnect disconnects (Ctrl-C): the sandbox is offline again"
printf '    %s$ kill -INT %s        # or Ctrl-C in openconnect'"'"'s terminal\n' "$DEMO_USER" "$OCLAB_OC_PID"
oclab_openconnect_stop demo INT 10 || fail "openconnect did not exit within 10 s of SIGINT"
wait_until 5 only_lo || fail "after the disconnect the sandbox still has interfaces other than lo"
wait_until 5 no_server || fail "after the disconnect resolv.conf still names a server"
show "$VPNNS" --name "$NAME" -- ip -br addr || fail "ip -br addr inside failed"
note "... and resolv.conf names no reachable server (127.0.0.1 is the sandbox's own lo):"
show "$VPNNS" --name "$NAME" -- cat /etc/resolv.conf || fail "cat /etc/resolv.conf inside failed"
if show "$VPNNS" --name "$NAME" -- curl -sS -m 3 "$OCLAB_URL4"; then
	fail "the sandbox still reaches the intranet after the disconnect"
fi
note "-> no VPN, no network: nothing leaks out"

# --- f ----------------------------------------------------------------------
say "(f) vpnns stop ends the sandbox and removes its state"
show "$VPNNS" stop "$NAME" || fail "vpnns stop $NAME failed"
SANDBOX_STARTED=
if vpnns_demo status "$NAME" >/dev/null 2>&1; then fail "the sandbox still exists after vpnns stop"; fi

say "Tearing the lab down"
pin=$OCLAB_CERT_PIN
oclab_down
OCLAB_CERT_PIN=$pin
left=$(oclab_leftovers "$LAB_ID")
[ -z "$left" ] || fail "the lab left something behind: $left"
for d in "${STATE_DIRS[@]}"; do
	[ ! -e "$d" ] || fail "$d is still there"
done
left=$(demo_pids)
[ -z "$left" ] || fail "processes of the demo are still running: $(ps -o pid=,args= -p $left | tr '\n' ';')"
ms=$(( ($(date +%s%N) - T0) / 1000000 ))
printf '\ndemo finished: nothing left behind (%d.%01d s)\n' $((ms / 1000)) $((ms % 1000 / 100))
