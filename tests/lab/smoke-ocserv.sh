#!/bin/bash
# tests/lab/smoke-ocserv.sh - proves that the OpenConnect lab of
# tests/lab/ocserv-lab.sh works, and records what openconnect hands its
# scripts as fixtures for the unit tests of the environment parser.
#
# Run as root: bash tests/lab/smoke-ocserv.sh   (TAP on stdout, 15-25 s)
#
# Three labs in turn:
#   1. full tunnel: a root openconnect in a client netns configured by
#      Debian's vpnc-script (kept away from the host's resolv.conf and /run),
#      curl/dig through it; at the same time a non-root openconnect
#      --script-tun from the host netns (two sessions of the same login)
#   2. --split: the same, and the client netns gets only the split routes
#   3. --mtu 4000: INTERNAL_IP4_MTU=4000 and 4000-byte packets pass unfragmented
# Each lab is torn down and checked for leftovers.
#
# Fixtures (tests/lab/fixtures/) are written when missing, or always with
# OCLAB_UPDATE_FIXTURES=1:
#   openconnect-script-tun.env          non-root --script-tun, full tunnel
#   openconnect-script-tun-split.env    the same with split routes
#   openconnect-script-tun-mtu4000.env  the same with a 4000-byte tunnel MTU
#   openconnect-kernel-{pre-init,connect,disconnect}.env   root, tun device
# Each is the verbatim output of `env` in the script openconnect ran, and
# each has a twin *.env0 with the output of `env -0` (NUL-separated: one
# value, CISCO_CSTP_OPTIONS, spans several lines);
# openconnect is started with a clean environment (PATH, HOME, USER, LOGNAME)
# so nothing of the calling session ends up in them.
#
# Debian packages: those of tests/lab/ocserv-lab.sh (ocserv openconnect
# vpnc-scripts gnutls-bin dnsmasq busybox iproute2 util-linux curl dnsutils)
# plus iputils-ping.

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../lib/tap.sh"
. "$HERE/../lib/env.sh"
. "$HERE/ocserv-lab.sh"

require_root
for c in ocserv openconnect certtool dnsmasq busybox curl dig ping setpriv; do
	command -v "$c" >/dev/null || tap_skip_all "missing command $c (see the package list in tests/lab/ocserv-lab.sh)"
done
[ -x "$OCLAB_VPNC_SCRIPT" ] || tap_skip_all "no $OCLAB_VPNC_SCRIPT (package vpnc-scripts)"
getent passwd "$TEST_USER" >/dev/null || tap_skip_all "no user $TEST_USER: run tests/setup.sh"

FIXTURES=$HERE/fixtures
oclab_trap

# --- helpers -----------------------------------------------------------------

# envval FILE NAME: the value of NAME in an `env` dump
envval() { sed -n "s/^$2=//p" "$1" | head -n1; }

# save_fixture SRC NAME: the env dump SRC becomes fixture NAME (X.env), and
# its NUL-separated twin (X.env0 or SRC0) fixture X.env0.
save_fixture() {
	local src0=${1%.env}.env0 dst0=${2%.env}.env0
	[ -e "$src0" ] || src0=${1}0
	mkdir -p "$FIXTURES"
	if [ "${OCLAB_UPDATE_FIXTURES:-}" = 1 ] || [ ! -e "$FIXTURES/$2" ]; then
		cp "$1" "$FIXTURES/$2" && cp "$src0" "$FIXTURES/$dst0" &&
			tap_diag "recorded fixtures $2 and $dst0"
	fi
}

host_state() {  # what the lab must never change on the host
	sha256sum /etc/resolv.conf
	ip -4 route show default
	ip -6 route show default
	findmnt -n -o TARGET,FSTYPE /run
}

# lab_pids: every process the lab knows of (tracked and inside its netns)
lab_pids() {
	local f ns
	for f in "$OCLAB_DIR"/pids/*.pid; do
		[ -e "$f" ] && cut -d' ' -f1 "$f"
	done
	for ns in $(ip netns list | awk '{print $1}' | grep "^vpl-$OCLAB_ID-"); do
		ip netns pids "$ns"
	done
}

none_alive() {
	local p bad=
	for p in "$@"; do oclab_pid_alive "$p" && bad="$bad $p($(cat /proc/$p/comm 2>/dev/null))"; done
	[ -z "$bad" ] || { echo "still alive:$bad"; return 1; }
}

redown() { OCLAB_ID=$1 OCLAB_DIR=$2 oclab_down; }

# teardown_and_check LABEL [EXTRA-PID...]
teardown_and_check() {
	local label=$1 id=$OCLAB_ID dir=$OCLAB_DIR pids; shift
	tap_diag "$label: $(( $(now_ms) - T_LAB )) ms until teardown"
	pids=$(lab_pids | sort -u)
	oclab_down
	assert_eq "$label: teardown leaves no netns, link, process or dir" "" "$(oclab_leftovers "$id")"
	assert_true "$label: every lab process is gone" none_alive $pids "$@"
	assert_false "$label: lab dir removed" test -e "$dir"
	assert_true "$label: oclab_down again (same id and dir) is harmless" redown "$id" "$dir"
	assert_eq "$label: and still leaves nothing" "" "$(oclab_leftovers "$id")"
	assert_eq "$label: host resolv.conf, default routes and /run untouched" "$HOST_STATE" "$(host_state)"
	if ! other_lab_up; then
		assert_eq "$label: no lab route left on the host (no other lab up)" "" \
			"$( { ip route show; ip -6 route show; } | grep -E '203\.0\.113\.|198\.18\.0\.|198\.51\.100\.|2001:db8:(203|2|100)(:|::)')"
	fi
}

other_lab_up() {  # is any other lab (slot link to a live dir) up?
	local f
	for f in /tmp/vpl-slot-*; do [ -L "$f" ] && [ -d "$(readlink "$f")" ] && return 0; done
	return 1
}

# A --script-tun script for the non-root user: dump the environment, record
# its PID, sleep until openconnect sends SIGHUP.
write_tun_script() {  # write_tun_script PATH OUTDIR
	cat >"$1" <<-EOF
	#!/bin/sh
	env -0 >"$2/env0"
	env >"$2/env.tmp" && mv "$2/env.tmp" "$2/env"
	echo \$\$ >"$2/pid"
	trap 'echo HUP >"$2/signal"; kill \$s 2>/dev/null; exit 0' HUP
	trap 'echo TERM >"$2/signal"; kill \$s 2>/dev/null; exit 0' TERM
	sleep 600 & s=\$!
	wait \$s
	EOF
	chmod 0755 "$1"
}

# A --script for root: append the environment to kernel-REASON.env, let
# Debian's vpnc-script configure the tun device, routes and resolv.conf, then
# mark kernel-REASON.done (connect.env appears before the routes do).
write_record_script() {  # write_record_script PATH OUTDIR
	cat >"$1" <<-EOF
	#!/bin/sh
	env -0 >>"$2/kernel-\$reason.env0"
	env >>"$2/kernel-\$reason.env"
	$OCLAB_VPNC_SCRIPT
	rc=\$?
	echo \$rc >>"$2/kernel-\$reason.done"
	exit \$rc
	EOF
	chmod 0755 "$1"
}

# start_user_tun NAME: non-root openconnect --script-tun from the host netns
start_user_tun() {
	local out=$OCLAB_DIR/$1
	mkdir -p "$out" && chown "$TEST_USER:" "$out"
	write_tun_script "$OCLAB_DIR/$1.sh" "$out"
	OCLAB_OC_WRAP=as_user oclab_openconnect_bg "$1" --script-tun --script "$OCLAB_DIR/$1.sh"
}

# start_kernel NAME CLIENT: root openconnect in client netns CLIENT
start_kernel() {
	local out=$OCLAB_DIR/$1
	mkdir -p "$out"
	write_record_script "$OCLAB_DIR/$1.sh" "$out"
	OCLAB_OC_WRAP="oclab_client_sandbox $2" oclab_openconnect_bg "$1" --script "$OCLAB_DIR/$1.sh"
}

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# await DESC NAME FILE: wait up to 15 s for FILE (what a script of openconnect
# NAME writes); on failure show the logs
await() {
	assert_true "$1" wait_until 15 test -s "$3"
	[ -s "$3" ] || dump_logs "$2"
}

dump_logs() {
	local f
	for f in "$OCLAB_DIR/openconnect-$1.log" "$OCLAB_DIR/ocserv.log"; do
		tap_diag "--- $f"
		tail -n 30 "$f" 2>&1 | sed "s/^/#   /" >&2
	done
}

HOST_STATE=$(host_state)
T_START=$(now_ms)

# =============================================================================
# 1. full tunnel
# =============================================================================
t0=$(now_ms)
T_LAB=$(now_ms)
oclab_up; assert_eq "lab 1 (full tunnel) comes up" 0 "$?"
[ -n "${OCLAB_DIR:-}" ] && [ -d "$OCLAB_DIR" ] || tap_done
tap_diag "lab $OCLAB_ID up in $(( $(now_ms) - t0 )) ms: $OCLAB_SERVER $OCLAB_CERT_PIN"
POOL4_RE=$(printf %s "${OCLAB_POOL4%0/24}" | sed "s/[.]/\\\\./g")   # e.g. 198\.18\.0\.
assert_match "OCLAB_CERT_PIN is a pin-sha256" '^pin-sha256:[A-Za-z0-9+/]{43}=$' "$OCLAB_CERT_PIN"
tap_diag "slot $OCLAB_SLOT: host $OCLAB_HOST4 $OCLAB_HOST6, server $OCLAB_SERVER_IP4 $OCLAB_SERVER_IP6"
if [ "$OCLAB_SLOT" = 0 ]; then
	assert_eq "OCLAB_SERVER (slot 0)" "198.51.100.2:443" "$OCLAB_SERVER"
else
	assert_match "OCLAB_SERVER (slot $OCLAB_SLOT)" '^198\.51\.100\.[0-9]+:443$' "$OCLAB_SERVER"
fi
assert_match "the host side of the lab link" "inet $OCLAB_HOST4/" "$(ip -4 addr show dev "$OCLAB_HOST_IF")"
assert_true "ocserv listens on $OCLAB_SERVER (from the host)" _oclab_tcp_open "$OCLAB_SERVER_IP4" 443
assert_true "ocserv listens on $OCLAB_SERVER6 (from the host)" _oclab_tcp_open "$OCLAB_SERVER_IP6" 443
assert_eq "intranet page in the server netns" "$OCLAB_PAGE" \
	"$(oclab_server_exec curl -fsS --max-time 2 "$OCLAB_URL4")"
assert_eq "no session yet" 0 "$(oclab_sessions)"
OCLAB_OC_SERVER=$OCLAB_SERVER6 oclab_openconnect --authenticate >/dev/null
assert_eq "openconnect authenticates over IPv6 to $OCLAB_SERVER6" 0 "$?"
assert_match "... and got a session cookie" '^COOKIE=' "$(cat "$OCLAB_OC_LOG")"
# (ip route get only asks the kernel; it sends nothing)
assert_false "the host has no route to the intranet (unreachable while a lab is up)" \
	ip route get "$OCLAB_HTTP4"
assert_false "the host has no route to the VPN pool" ip route get "${OCLAB_POOL4%.0/24}.5"
assert_false "the host has no IPv6 route to the intranet" ip -6 route get "$OCLAB_HTTP6"

C1=$(oclab_client_ns c1)
assert_false "client netns cannot reach the intranet before the VPN" \
	ip netns exec "$C1" curl -fsS --max-time 2 -o /dev/null "$OCLAB_URL4"
assert_false "client netns cannot reach the intranet DNS before the VPN" \
	ip netns exec "$C1" dig +time=1 +tries=1 "@$OCLAB_DNS" "$OCLAB_NAME"

# -- root, kernel tun device, vpnc-script ------------------------------------
t0=$(now_ms)
start_kernel k1 c1
K1=$OCLAB_OC_PID K1_JOB=$OCLAB_OC_JOB
await "root openconnect in the client netns connects; vpnc-script ran for connect" k1 "$OCLAB_DIR/k1/kernel-connect.done"
assert_eq "vpnc-script connect exit status" 0 "$(cat "$OCLAB_DIR/k1/kernel-connect.done" 2>/dev/null)"
tap_diag "kernel-path connect took $(( $(now_ms) - t0 )) ms"
assert_true "vpnc-script configured tun0 in the client netns" \
	wait_until 5 sh -c "ip -n '$C1' -4 addr show dev tun0 | grep -q 'inet $POOL4_RE'"
k1env=$OCLAB_DIR/k1/kernel-connect.env
assert_eq "connect: TUNDEV" tun0 "$(envval "$k1env" TUNDEV)"
assert_eq "connect: VPNGATEWAY" "$OCLAB_SERVER_IP4" "$(envval "$k1env" VPNGATEWAY)"
assert_eq "connect: VPNPID is openconnect's PID" "$K1" "$(envval "$k1env" VPNPID)"
assert_match "full tunnel: default route via tun0 in the client netns" "^default dev tun0 " \
	"$(ip -n "$C1" -4 route show default)"

assert_eq "curl reaches the intranet page over IPv4" "$OCLAB_PAGE" \
	"$(ip netns exec "$C1" curl -fsS --max-time 5 "$OCLAB_URL4")"
assert_eq "curl reaches the intranet page over IPv6" "$OCLAB_PAGE" \
	"$(ip netns exec "$C1" curl -fsS --max-time 5 "$OCLAB_URL6")"
assert_eq "2 MiB file over IPv4 arrives intact" "$OCLAB_BIG_SHA256" \
	"$(ip netns exec "$C1" curl -fsS --max-time 10 "http://$OCLAB_HTTP4$OCLAB_BIG_PATH" | sha256sum | cut -d' ' -f1)"
assert_eq "2 MiB file over IPv6 arrives intact" "$OCLAB_BIG_SHA256" \
	"$(ip netns exec "$C1" curl -fsS --max-time 10 "http://[$OCLAB_HTTP6]$OCLAB_BIG_PATH" | sha256sum | cut -d' ' -f1)"
assert_eq "dig @$OCLAB_DNS $OCLAB_NAME A" "$OCLAB_HTTP4" \
	"$(ip netns exec "$C1" dig +short +time=2 +tries=1 "@$OCLAB_DNS" "$OCLAB_NAME" A)"
assert_eq "dig @$OCLAB_DNS $OCLAB_NAME AAAA" "$OCLAB_HTTP6" \
	"$(ip netns exec "$C1" dig +short +time=2 +tries=1 "@$OCLAB_DNS" "$OCLAB_NAME" AAAA)"
rc=$(cat "$OCLAB_DIR/c1.resolv.conf")
assert_match "vpnc-script wrote the pushed DNS into the client's resolv.conf" \
	'^nameserver 203\.0\.113\.53$' "$rc"
assert_match "vpnc-script wrote the pushed domain into the client's resolv.conf" \
	'^search .*vpnns\.test' "$rc"
assert_match "the short name resolves through the pushed DNS and search domain" \
	"^$OCLAB_HTTP4 |^$OCLAB_HTTP6 " "$(oclab_client_sandbox c1 getent ahosts intranet)"
assert_eq "curl by name through the pushed DNS" "$OCLAB_PAGE" \
	"$(oclab_client_sandbox c1 curl -fsS --max-time 5 "http://$OCLAB_NAME/")"

# -- non-root, --script-tun, at the same time ----------------------------------
t0=$(now_ms)
start_user_tun u1
U1=$OCLAB_OC_PID
await "non-root openconnect --script-tun runs its script" u1 "$OCLAB_DIR/u1/env"
tap_diag "script-tun connect took $(( $(now_ms) - t0 )) ms"
assert_eq "openconnect --script-tun runs as $TEST_USER" "$(id -u "$TEST_USER")" \
	"$(awk "/^Uid:/{print \$2}" /proc/$U1/status)"
assert_true "two sessions of the same login at once" oclab_wait_sessions 2 5
uenv=$OCLAB_DIR/u1/env
assert_match "script-tun: VPNFD is a descriptor number" '^[0-9]+$' "$(envval "$uenv" VPNFD)"
assert_eq "script-tun: VPNPID" "$U1" "$(envval "$uenv" VPNPID)"
assert_eq "script-tun: no reason variable (only the kernel path has one)" "" "$(envval "$uenv" reason)"
assert_eq "script-tun: no TUNDEV" "" "$(envval "$uenv" TUNDEV)"
assert_match "script-tun: INTERNAL_IP4_ADDRESS in $OCLAB_POOL4" "^${POOL4_RE}[0-9]{1,3}\$" \
	"$(envval "$uenv" INTERNAL_IP4_ADDRESS)"
assert_eq "script-tun: INTERNAL_IP4_DNS" 203.0.113.53 "$(envval "$uenv" INTERNAL_IP4_DNS)"
assert_eq "script-tun: CISCO_DEF_DOMAIN" vpnns.test "$(envval "$uenv" CISCO_DEF_DOMAIN)"
assert_match "script-tun: INTERNAL_IP6_ADDRESS in 2001:db8:2::/48" '^2001:db8:2:' \
	"$(envval "$uenv" INTERNAL_IP6_ADDRESS)"
assert_ne "the two sessions got different IPv4 addresses" \
	"$(envval "$k1env" INTERNAL_IP4_ADDRESS)" "$(envval "$uenv" INTERNAL_IP4_ADDRESS)"
save_fixture "$uenv" openconnect-script-tun.env

usp=$(cat "$OCLAB_DIR/u1/pid")
assert_true "SIGINT stops the non-root openconnect" oclab_openconnect_stop u1 INT 10
assert_true "openconnect sent SIGHUP to its --script-tun script" \
	wait_until 5 grep -qx HUP "$OCLAB_DIR/u1/signal"
assert_true "the --script-tun script has exited" wait_until 5 none_alive "$usp"
assert_true "ocserv is down to one session" oclab_wait_sessions 1 5

# -- disconnect the kernel path ------------------------------------------------
assert_true "SIGINT stops the root openconnect" oclab_openconnect_stop k1 INT 10
wait "$K1_JOB"
assert_eq "root openconnect exit status after SIGINT" 0 "$?"
assert_true "script was called for disconnect" test -s "$OCLAB_DIR/k1/kernel-disconnect.env"
assert_eq "vpnc-script disconnect exit status" 0 "$(cat "$OCLAB_DIR/k1/kernel-disconnect.done" 2>/dev/null)"
assert_false "tun0 is gone from the client netns" ip -n "$C1" link show dev tun0
assert_no_match "vpnc-script restored the client's resolv.conf" "^nameserver" \
	"$(cat "$OCLAB_DIR/c1.resolv.conf")"
for r in pre-init connect disconnect; do
	f=$OCLAB_DIR/k1/kernel-$r.env
	assert_eq "kernel path: exactly one call for $r" 1 "$(grep -c "^reason=$r\$" "$f" 2>/dev/null)"
	save_fixture "$f" "openconnect-kernel-$r.env"
done
assert_true "ocserv has no session left" oclab_wait_sessions 0 5
teardown_and_check "lab 1" "$K1" "$U1" "$usp"

# =============================================================================
# 2. split routes
# =============================================================================
T_LAB=$(now_ms)
oclab_up --split; assert_eq "lab 2 (--split) comes up" 0 "$?"
C1=$(oclab_client_ns c1)
start_user_tun u2
await "split: script-tun runs its script" u2 "$OCLAB_DIR/u2/env"
uenv=$OCLAB_DIR/u2/env
assert_eq "split: CISCO_SPLIT_INC" 1 "$(envval "$uenv" CISCO_SPLIT_INC)"
assert_eq "split: CISCO_SPLIT_INC_0_ADDR" 203.0.113.0 "$(envval "$uenv" CISCO_SPLIT_INC_0_ADDR)"
assert_eq "split: CISCO_SPLIT_INC_0_MASKLEN" 24 "$(envval "$uenv" CISCO_SPLIT_INC_0_MASKLEN)"
assert_eq "split: CISCO_IPV6_SPLIT_INC" 1 "$(envval "$uenv" CISCO_IPV6_SPLIT_INC)"
assert_eq "split: CISCO_IPV6_SPLIT_INC_0_ADDR" 2001:db8:203:: "$(envval "$uenv" CISCO_IPV6_SPLIT_INC_0_ADDR)"
assert_eq "split: CISCO_IPV6_SPLIT_INC_0_MASKLEN" 64 "$(envval "$uenv" CISCO_IPV6_SPLIT_INC_0_MASKLEN)"
save_fixture "$uenv" openconnect-script-tun-split.env
start_kernel k2 c1
await "split: root openconnect connects" k2 "$OCLAB_DIR/k2/kernel-connect.done"
assert_true "split: vpnc-script routes 203.0.113.0/24 via tun0" \
	wait_until 5 sh -c "ip -n '$C1' -4 route show 203.0.113.0/24 | grep -q 'dev tun0'"
assert_eq "split: no IPv4 default route in the client netns" "" "$(ip -n "$C1" -4 route show default)"
assert_eq "split: no IPv6 default route in the client netns" "" "$(ip -n "$C1" -6 route show default)"
assert_eq "split: curl over IPv4" "$OCLAB_PAGE" "$(ip netns exec "$C1" curl -fsS --max-time 5 "$OCLAB_URL4")"
assert_eq "split: curl over IPv6" "$OCLAB_PAGE" "$(ip netns exec "$C1" curl -fsS --max-time 5 "$OCLAB_URL6")"
second_lab_ok() (
	# a lab of its own in this subshell, next to lab 2
	unset $(compgen -v OCLAB_ | grep -vx OCLAB_VPNC_SCRIPT)
	oclab_trap
	oclab_up >/dev/null || exit 1
	echo "second lab $OCLAB_ID in slot $OCLAB_SLOT, server $OCLAB_SERVER"
	[ "$OCLAB_SLOT" != "$1" ] || exit 2
	oclab_openconnect --authenticate || { cat "$OCLAB_OC_LOG"; exit 3; }
	grep -q '^COOKIE=' "$OCLAB_OC_LOG" || exit 4
	id=$OCLAB_ID
	oclab_down
	[ -z "$(oclab_leftovers "$id")" ] || exit 5
)
assert_true "a second lab can be up at the same time (own slot; openconnect authenticates)" \
	second_lab_ok "$OCLAB_SLOT"
assert_eq "split: lab 2 still answers after the second lab is gone" "$OCLAB_PAGE" \
	"$(ip netns exec "$C1" curl -fsS --max-time 5 "$OCLAB_URL4")"
teardown_and_check "lab 2"

# =============================================================================
# 3. 4000-byte tunnel MTU
# =============================================================================
T_LAB=$(now_ms)
oclab_up --mtu 4000; assert_eq "lab 3 (--mtu 4000) comes up" 0 "$?"
C1=$(oclab_client_ns c1)
start_user_tun u3
await "mtu: script-tun runs its script" u3 "$OCLAB_DIR/u3/env"
uenv=$OCLAB_DIR/u3/env
assert_eq "mtu: INTERNAL_IP4_MTU" 4000 "$(envval "$uenv" INTERNAL_IP4_MTU)"
save_fixture "$uenv" openconnect-script-tun-mtu4000.env
start_kernel k3 c1
await "mtu: root openconnect connects" k3 "$OCLAB_DIR/k3/kernel-connect.done"
assert_true "mtu: tun0 has MTU 4000" \
	wait_until 5 sh -c "ip -n '$C1' link show dev tun0 | grep -q 'mtu 4000 '"
assert_true "mtu: a 4000-byte packet with DF passes the tunnel" \
	ip netns exec "$C1" ping -n -c1 -W3 -M do -s 3972 "$OCLAB_HTTP4"
assert_false "mtu: a 4001-byte packet with DF does not" \
	ip netns exec "$C1" ping -n -c1 -W1 -M do -s 3973 "$OCLAB_HTTP4"
assert_eq "mtu: 2 MiB file arrives intact" "$OCLAB_BIG_SHA256" \
	"$(ip netns exec "$C1" curl -fsS --max-time 10 "http://$OCLAB_HTTP4$OCLAB_BIG_PATH" | sha256sum | cut -d' ' -f1)"
teardown_and_check "lab 3"

tap_diag "all three labs took $(( $(now_ms) - T_START )) ms"
tap_done
