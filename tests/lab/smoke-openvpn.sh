#!/bin/bash
# tests/lab/smoke-openvpn.sh - proves that the OpenVPN lab of
# tests/lab/openvpn-lab.sh works, and records what OpenVPN 2.6 hands its
# up/route-up/route-pre-down/down scripts (nearly what a plug-in sees) as
# fixtures for the unit tests of the plug-in's environment parser.
#
# Run as root: bash tests/lab/smoke-openvpn.sh   (TAP on stdout, 20-30 s)
#
# Three labs in turn:
#   1. default (dhcp-option DNS/DOMAIN): a root openvpn in a client netns,
#      configuring its tun itself (no -noexec options), reaches the intranet
#      over IPv4 and IPv6, the pushed second network and the DNS server; at
#      the same time a root openvpn in the host netns with ifconfig-noexec,
#      route-noexec and recording scripts: the host gets a tun device, down
#      and unconfigured, and no route or address
#   2. --dns-option: the same recording with OpenVPN 2.6's "dns" options;
#      SIGUSR1 without persist-tun (the tun device is recreated)
#   3. --persist-tun --up-restart: SIGUSR1 keeps the tun device (in a client
#      netns, traffic still flows); a --dynamic client gets a new address
#      and its tun device is reopened anyway; a second OpenVPN lab and an
#      ocserv lab come up and go at the same time
# Each lab is torn down and checked for leftovers.
#
# Fixtures (tests/lab/fixtures/) are written when missing, or always with
# OVLAB_UPDATE_FIXTURES=1:
#   openvpn-{up,route-up,route-pre-down,down}.env       lab 1: connect, then
#                                                       exit on SIGTERM
#   openvpn-dns-{up,route-up,route-pre-down,down}.env   lab 2 (--dns-option)
#   openvpn-persist-down-restart.env, openvpn-persist-up-restart.env
#                                                       lab 3: SIGUSR1 with
#                                                       persist-tun, up-restart
# all with ifconfig-noexec and route-noexec, as the plug-in will run.  Each
# is the output of `env` in the script, with a twin *.env0 with the output of
# `env -0`.  OpenVPN gives scripts only its own variables (no PATH, nothing
# of its caller's environment), and the script's /bin/sh adds PWD=/; a
# plug-in gets the same except script_type (and PWD).
#
# Debian packages: those of tests/lab/openvpn-lab.sh (openvpn openssl
# dnsmasq busybox iproute2 util-linux curl dnsutils); ocserv and gnutls-bin
# for the ocserv lab next to lab 3 (skipped without them).

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../lib/tap.sh"
. "$HERE/../lib/env.sh"
. "$HERE/openvpn-lab.sh"

require_root
for c in openvpn openssl dnsmasq busybox curl dig; do
	command -v "$c" >/dev/null || tap_skip_all "missing command $c (see the package list in tests/lab/openvpn-lab.sh)"
done
[ -c /dev/net/tun ] || tap_skip_all "no /dev/net/tun"

FIXTURES=$HERE/fixtures
ovlab_trap

# --- helpers -------------------------------------------------------------------

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# envval FILE NAME: the value of NAME in an `env` dump (bash builtins only:
# hundreds of these run, and forks are slow on a loaded machine)
envval() {
	local l
	[ -r "$1" ] || return 0
	while IFS= read -r l; do
		case $l in "$2="*) printf '%s\n' "${l#*=}"; return 0 ;; esac
	done <"$1"
}

# envnames FILE: the sorted variable names of an `env -0` dump
envnames() { tr '\0\n' '\n\1' <"$1" 2>/dev/null | sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*\)=.*/\1/p' | sort; }

# save_fixture SRC NAME: SRC.env and SRC.env0 (from the recording script)
# become fixtures NAME.env and NAME.env0
save_fixture() {
	mkdir -p "$FIXTURES"
	if [ ! -s "$1.env" ] || [ ! -s "$1.env0" ]; then
		tap_fail "fixture $2: no $1.env/.env0 recorded"
		return
	fi
	if [ "${OVLAB_UPDATE_FIXTURES:-}" = 1 ] || [ ! -e "$FIXTURES/$2.env" ] ||
		[ ! -e "$FIXTURES/$2.env0" ]; then
		cp "$1.env" "$FIXTURES/$2.env" && cp "$1.env0" "$FIXTURES/$2.env0" &&
			tap_diag "recorded fixtures $2.env and $2.env0"
	fi
}

# save_fixtures DIR PREFIX: DIR/T.init.env{,0} (T = up, route-up,
# route-pre-down, down) become fixtures PREFIX-T.env{,0}
save_fixtures() {
	local t
	for t in up route-up route-pre-down down; do
		save_fixture "$1/$t.init" "$2-$t"
	done
}

host_state() {  # what the lab must never change on the host
	sha256sum /etc/resolv.conf
	ip -4 route show default
	ip -6 route show default
	findmnt -n -o TARGET,FSTYPE /run
}

# host_routes: the host's routes, without unreachable ones and those of
# lab links and link-local (other labs, ours or other people's, may come and
# go meanwhile)
host_routes() {
	{ ip -4 route show; ip -6 route show; } |
		grep -Ev '^unreachable |^fe80:|dev (vpl|vpo)-|^198\.51\.100\.|^2001:db8:100(:|::)' | sort
}

# lab_pids: every process the lab knows of (tracked and inside its netns)
lab_pids() {
	local f ns
	for f in "$OVLAB_DIR"/pids/*.pid; do
		[ -e "$f" ] && cut -d' ' -f1 "$f"
	done
	for ns in $(ip netns list | awk '{print $1}' | grep "^vpo-$OVLAB_ID-"); do
		ip netns pids "$ns"
	done
}

none_alive() {
	local p bad=
	for p in "$@"; do ovlab_pid_alive "$p" && bad="$bad $p($(cat /proc/$p/comm 2>/dev/null))"; done
	[ -z "$bad" ] || { echo "still alive:$bad"; return 1; }
}

redown() { OVLAB_ID=$1 OVLAB_DIR=$2 ovlab_down; }

labs_up() {  # labs_up [ovpn]: is another lab (or OpenVPN lab) up?
	local f t
	for f in /tmp/vpl-slot-*; do
		[ -L "$f" ] || continue
		t=$(readlink "$f")
		[ -d "$t" ] || continue
		[ "${1:-}" = ovpn ] && [ ! -e "$t/ovlab.id" ] && continue
		return 0
	done
	return 1
}

ifindex_gone() { ! ip -o link show | grep -q "^$1: "; }

# teardown_and_check LABEL [EXTRA-PID...]
teardown_and_check() {
	local label=$1 id=$OVLAB_ID dir=$OVLAB_DIR pids t0; shift
	tap_diag "$label: $(( $(now_ms) - T_LAB )) ms until teardown"
	pids=$(lab_pids | sort -u)
	t0=$(now_ms)
	ovlab_down
	tap_diag "$label: ovlab_down took $(( $(now_ms) - t0 )) ms"
	assert_eq "$label: teardown leaves no netns, link, process, dir or slot link" "" "$(ovlab_leftovers "$id")"
	assert_true "$label: every lab process is gone" none_alive $pids "$@"
	assert_false "$label: lab dir removed" test -e "$dir"
	assert_eq "$label: OVLAB_* unset" "" "${OVLAB_ID:-}${OVLAB_DIR:-}${OVLAB_NETNS:-}"
	assert_true "$label: ovlab_down again (same id and dir) is harmless" redown "$id" "$dir"
	assert_eq "$label: and still leaves nothing" "" "$(ovlab_leftovers "$id")"
	assert_eq "$label: host resolv.conf, default routes and /run untouched" "$HOST_STATE" "$(host_state)"
	if ! labs_up ovpn; then
		assert_eq "$label: no OpenVPN-lab-only route left on the host (no other OpenVPN lab up)" "" \
			"$( { ip route show; ip -6 route show; } | grep -E '198\.18\.(1|9)\.0/24|2001:db8:3::/64')"
	fi
	if ! labs_up; then
		assert_eq "$label: no lab route left on the host (no other lab up)" "" \
			"$( { ip route show; ip -6 route show; } | grep -E '203\.0\.113\.|198\.18\.|198\.51\.100\.|2001:db8:(203|3|2|100)(:|::)')"
	else
		tap_diag "$label: another lab is up, so the shared ranges stay"
	fi
}

# The recording script for up/route-up/route-pre-down/down: the first call
# of each script_type and script_context dumps its environment (T.C.env and
# T.C.env0), argv (T.C.argv) and the device's state (T.C.dev); every call
# appends "script_type|script_context|signal|dev" to the events file.
write_record_script() {  # write_record_script PATH OUTDIR
	cat >"$1" <<-EOF
	#!/bin/sh
	out=$2
	t=\${script_type:-none}.\${script_context:-none}
	echo "\${script_type:-}|\${script_context:-}|\${signal:-}|\${dev:-}" >>"\$out/events"
	if [ ! -e "\$out/\$t.env" ]; then
		env -0 >"\$out/\$t.env0"
		printf '%s\n' "\$@" >"\$out/\$t.argv"
		{ ip -o link show dev "\$dev"; ip -o addr show dev "\$dev"; ip route show dev "\$dev"; } >"\$out/\$t.dev" 2>&1
		env >"\$out/\$t.env.tmp" && mv "\$out/\$t.env.tmp" "\$out/\$t.env"
	fi
	exit 0
	EOF
	chmod 0755 "$1"
}

# start_recorder [--dynamic] NAME [LINE...]: a root openvpn in the host
# netns with ifconfig-noexec, route-noexec and the recording script for all
# four hooks, writing to $OVLAB_DIR/NAME (or $REC_DIR)
start_recorder() {
	local dyn=
	[ "$1" = --dynamic ] && { dyn=--dynamic; shift; }
	local name=$1 out=${REC_DIR:-$OVLAB_DIR/$1}; shift
	mkdir -p "$out"
	write_record_script "$OVLAB_DIR/$name.sh" "$out"
	ovlab_client_config $dyn "$OVLAB_DIR/$name.ovpn" "script-security 2" \
		"up $OVLAB_DIR/$name.sh" "route-up $OVLAB_DIR/$name.sh" \
		"route-pre-down $OVLAB_DIR/$name.sh" "down $OVLAB_DIR/$name.sh" "$@"
	ovlab_openvpn_bg "$name" "$OVLAB_DIR/$name.ovpn"
}

dump_logs() {
	local f
	for f in "$(ovlab_log "$1")" "$OVLAB_SERVER_LOG"; do
		tap_diag "--- $f"
		tail -n 30 "$f" 2>&1 | sed "s/^/#   /" >&2
	done
}

# await_init NAME [N]: wait for the N-th "Initialization Sequence Completed"
await_init() {
	local t0
	t0=$(now_ms)
	assert_true "openvpn $1 connects (Initialization Sequence Completed${2:+ #$2})" \
		ovlab_wait_log "$1" 'Initialization Sequence Completed' 20 "${2:-1}"
	if [ "$(ovlab_log_count "$1" 'Initialization Sequence Completed')" -lt "${2:-1}" ]; then
		dump_logs "$1"
	else
		tap_diag "$1: connected in $(( $(now_ms) - t0 )) ms"
	fi
}

# events NAME|DIR [N]: the recorded script calls (the last N), as
# "type context signal,..."
events() {
	local d=$1 t c g dev all=() out
	case $d in /*) ;; *) d=$OVLAB_DIR/$d ;; esac
	[ -r "$d/events" ] || return 0
	while IFS='|' read -r t c g dev; do
		all+=("$t${c:+ $c}${g:+ $g}")
	done <"$d/events"
	[ -n "${2:-}" ] && [ "${#all[@]}" -gt "$2" ] && all=("${all[@]: -$2}")
	out=$(IFS=,; echo "${all[*]}")
	printf '%s\n' "$out"
}

ifindex_of() { ip -o link show dev "$1" 2>/dev/null | cut -d: -f1; }

HOST_STATE=$(host_state)
T_START=$(now_ms)

# =============================================================================
# 1. default: dhcp-option DNS / DOMAIN
# =============================================================================
t0=$(now_ms)
T_LAB=$t0
ovlab_up; assert_eq "lab 1 (default) comes up" 0 "$?"
[ -n "${OVLAB_DIR:-}" ] && [ -d "$OVLAB_DIR" ] || tap_done
tap_diag "lab $OVLAB_ID up in $(( $(now_ms) - t0 )) ms, slot $OVLAB_SLOT: host $OVLAB_HOST4, server $OVLAB_REMOTE"
if [ "$OVLAB_SLOT" = 0 ]; then
	assert_eq "OVLAB_REMOTE (slot 0)" "198.51.100.2 1194" "$OVLAB_REMOTE"
else
	assert_match "OVLAB_REMOTE (slot $OVLAB_SLOT)" '^198\.51\.100\.[0-9]+ 1194$' "$OVLAB_REMOTE"
fi
assert_eq "the slot link points to the lab dir" "$OVLAB_DIR" "$(readlink "/tmp/vpl-slot-$OVLAB_SLOT")"
assert_match "the host side of the lab link" "inet $OVLAB_HOST4/" "$(ip -4 addr show dev "$OVLAB_HOST_IF")"
assert_match "the server listens on udp $OVLAB_SERVER_IP4:1194" "$OVLAB_SERVER_IP4:1194 " \
	"$(ovlab_server_exec ss -Hnlu)"
assert_eq "the server netns forwards nothing (IPv4, IPv6)" "0 0" \
	"$(ovlab_server_exec cat /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv6/conf/all/forwarding | paste -sd' ')"
for l in 'push "route 198.18.9.0 255.255.255.0"' 'push "route 203.0.113.0 255.255.255.0"' \
	'push "route-ipv6 2001:db8:203::/64"' 'push "dhcp-option DNS 203.0.113.53"' \
	'push "dhcp-option DOMAIN vpnns.test"' 'topology subnet' 'server 198.18.1.0 255.255.255.0' \
	'server-ipv6 2001:db8:3::/64' 'disable-dco' 'duplicate-cn'; do
	assert_true "server config: $l" grep -qxF "$l" "$OVLAB_SERVER_CONF"
done
assert_eq "intranet page in the server netns" "$OVLAB_PAGE" \
	"$(ovlab_server_exec curl -fsS --max-time 2 "$OVLAB_URL4")"
assert_eq "second-network page in the server netns" "$OVLAB_PAGE9" \
	"$(ovlab_server_exec curl -fsS --max-time 2 "$OVLAB_URL9")"
assert_eq "no session yet" 0 "$(ovlab_sessions)"
# (ip route get only asks the kernel; it sends nothing)
for a in "$OVLAB_HTTP4" "$OVLAB_HTTP9" 198.18.1.5; do
	assert_false "the host has no route to $a (unreachable while a lab is up)" ip route get "$a"
done
for a in "$OVLAB_HTTP6" 2001:db8:3::1000; do
	assert_false "the host has no route to $a" ip -6 route get "$a"
done

C1=$(ovlab_client_ns c1)
assert_false "client netns cannot reach the intranet before the VPN" \
	ip netns exec "$C1" curl -fsS --max-time 2 -o /dev/null "$OVLAB_URL4"

# -- a root openvpn in a client netns, configuring its tun itself -------------
ovlab_client_config --exec "$OVLAB_DIR/k1.ovpn"
assert_eq "ovlab_client_config (no extra lines) succeeds" 0 "$?"
K1_IP4=$OVLAB_CONF_IP4 K1_IP6=$OVLAB_CONF_IP6
assert_eq "the first config's own addresses" "198.18.1.101 2001:db8:3::101" "$K1_IP4 $K1_IP6"
assert_eq "ovlab_client_addr" "$K1_IP6" "$(ovlab_client_addr "$OVLAB_DIR/k1.ovpn" ipv6)"
assert_eq "the server pins them (client-config-dir)" \
	"ifconfig-push $K1_IP4 255.255.255.0,ifconfig-ipv6-push $K1_IP6/64 $OVLAB_GW6" \
	"$(paste -sd, "$OVLAB_DIR/ccd/$OVLAB_CONF_CN")"
assert_false "--exec config has no ifconfig-noexec / route-noexec" \
	grep -Eq '^(ifconfig|route)-noexec' "$OVLAB_DIR/k1.ovpn"
assert_false "a config without ifconfig-noexec/route-noexec is refused in the host netns" \
	ovlab_openvpn_bg bad "$OVLAB_DIR/k1.ovpn"
OVLAB_OVPN_WRAP="ovlab_client_sandbox c1" ovlab_openvpn_bg k1 "$OVLAB_DIR/k1.ovpn"
K1=$OVLAB_OVPN_PID K1_JOB=$OVLAB_OVPN_JOB
await_init k1
assert_eq "k1 runs in the client netns" "$C1" "$(ip netns identify "$K1")"
assert_eq "k1's tun device" tun0 "$(ovlab_tun_dev k1)"
assert_match "openvpn configured tun0 in the client netns" \
	"inet ${K1_IP4//./\\.}/24 " "$(ip -n "$C1" -4 addr show dev tun0)"
assert_match "... and its IPv6 address" "inet6 $K1_IP6/64 " "$(ip -n "$C1" -6 addr show dev tun0)"
assert_match "pushed route 198.18.9.0/24 in the client netns" '^198\.18\.9\.0/24 via 198\.18\.1\.1 dev tun0' \
	"$(ip -n "$C1" -4 route show 198.18.9.0/24)"
assert_match "pushed route 203.0.113.0/24 in the client netns" '^203\.0\.113\.0/24 via 198\.18\.1\.1 dev tun0' \
	"$(ip -n "$C1" -4 route show 203.0.113.0/24)"
assert_match "pushed route 2001:db8:203::/64 in the client netns" '^2001:db8:203::/64 .*dev tun0' \
	"$(ip -n "$C1" -6 route show 2001:db8:203::/64)"
assert_eq "no default route in the client netns" "" "$(ip -n "$C1" route show default)"
assert_eq "curl reaches the intranet page over IPv4" "$OVLAB_PAGE" \
	"$(ip netns exec "$C1" curl -fsS --max-time 5 "$OVLAB_URL4")"
assert_eq "curl reaches the second network (pushed route 198.18.9.0/24)" "$OVLAB_PAGE9" \
	"$(ip netns exec "$C1" curl -fsS --max-time 5 "$OVLAB_URL9")"
assert_eq "curl reaches the intranet page over IPv6" "$OVLAB_PAGE" \
	"$(ip netns exec "$C1" curl -fsS --max-time 5 "$OVLAB_URL6")"
assert_eq "2 MiB file over IPv4 arrives intact" "$OVLAB_BIG_SHA256" \
	"$(ip netns exec "$C1" curl -fsS --max-time 10 "http://$OVLAB_HTTP4$OVLAB_BIG_PATH" | sha256sum | cut -d' ' -f1)"
assert_eq "dig @$OVLAB_DNS $OVLAB_NAME A" "$OVLAB_HTTP4" \
	"$(ip netns exec "$C1" dig +short +time=2 +tries=1 "@$OVLAB_DNS" "$OVLAB_NAME" A)"
assert_eq "dig @$OVLAB_DNS $OVLAB_NAME AAAA" "$OVLAB_HTTP6" \
	"$(ip netns exec "$C1" dig +short +time=2 +tries=1 "@$OVLAB_DNS" "$OVLAB_NAME" AAAA)"
assert_eq "dig @$OVLAB_DNS $OVLAB_NAME9 A" "$OVLAB_HTTP9" \
	"$(ip netns exec "$C1" dig +short +time=2 +tries=1 "@$OVLAB_DNS" "$OVLAB_NAME9" A)"
assert_no_match "nothing wrote the client's private resolv.conf" '^nameserver' \
	"$(cat "$OVLAB_DIR/c1.resolv.conf")"
assert_true "the server has one session" ovlab_wait_sessions 1 5

# -- a root openvpn in the host netns, -noexec, recording its scripts --------
ROUTES0=$(host_routes)
ADDRS0=$(ip -o addr show | grep -E ' 198\.18\.| 2001:db8:3:')
start_recorder f1
F1=$OVLAB_OVPN_PID F1_IP4=$OVLAB_CONF_IP4 F1_IP6=$OVLAB_CONF_IP6
assert_match "ovlab_openvpn_bg sets OVLAB_OVPN_PID" '^[0-9]+$' "$F1"
assert_eq "f1 runs in the host netns" "$(readlink /proc/self/ns/net)" "$(readlink "/proc/$F1/ns/net")"
await_init f1
f1=$OVLAB_DIR/f1
F1DEV=$(ovlab_tun_dev f1)
F1IDX=$(ifindex_of "$F1DEV")
tap_diag "f1: tun device $F1DEV (ifindex $F1IDX) in the host netns"
assert_match "f1 opened a tun device in the host netns" '^[0-9]+$' "$F1IDX"
assert_match "... which is down (ifconfig-noexec)" 'state DOWN' "$(ip -o link show dev "$F1DEV")"
assert_eq "... and has no address" "" "$(ip -o addr show dev "$F1DEV")"
assert_eq "... and no route" "" "$( { ip -4 route show dev "$F1DEV"; ip -6 route show dev "$F1DEV"; } 2>&1)"
assert_eq "the host's routes are unchanged (route-noexec)" "$ROUTES0" "$(host_routes)"
assert_eq "the host got no VPN address" "$ADDRS0" "$(ip -o addr show | grep -E ' 198\.18\.| 2001:db8:3:')"
assert_true "two sessions at once" ovlab_wait_sessions 2 5
assert_eq "scripts so far" "up init,route-up init" "$(events f1)"
assert_match "the device is down and unconfigured when up runs" 'state DOWN' "$(cat "$f1/up.init.dev" 2>/dev/null)"
assert_no_match "... without an address" ' inet6? ' "$(cat "$f1/up.init.dev" 2>/dev/null)"
assert_eq "up argv: dev tun_mtu 0 ifconfig_local ifconfig_netmask init" \
	"$F1DEV 1500 0 $F1_IP4 255.255.255.0 init" "$(paste -sd' ' "$f1/up.init.argv" 2>/dev/null)"
assert_eq "route-up argv: none" "" "$(cat "$f1/route-up.init.argv" 2>/dev/null)"
for t in up route-up; do
	e=$f1/$t.init.env
	assert_eq "$t: script_type" "$t" "$(envval "$e" script_type)"
	assert_eq "$t: script_context" init "$(envval "$e" script_context)"
	assert_eq "$t: dev" "$F1DEV" "$(envval "$e" dev)"
	assert_eq "$t: dev_type" tun "$(envval "$e" dev_type)"
	assert_eq "$t: tun_mtu" 1500 "$(envval "$e" tun_mtu)"
	assert_eq "$t: ifconfig_local" "$F1_IP4" "$(envval "$e" ifconfig_local)"
	assert_eq "$t: ifconfig_netmask (topology subnet)" 255.255.255.0 "$(envval "$e" ifconfig_netmask)"
	assert_eq "$t: no ifconfig_remote (topology subnet)" "" "$(envval "$e" ifconfig_remote)"
	assert_eq "$t: ifconfig_ipv6_local" "$F1_IP6" "$(envval "$e" ifconfig_ipv6_local)"
	assert_eq "$t: ifconfig_ipv6_netbits" 64 "$(envval "$e" ifconfig_ipv6_netbits)"
	assert_eq "$t: ifconfig_ipv6_remote" "$OVLAB_GW6" "$(envval "$e" ifconfig_ipv6_remote)"
	assert_eq "$t: route_vpn_gateway" "$OVLAB_GW4" "$(envval "$e" route_vpn_gateway)"
	assert_eq "$t: route_network_1 (push order; there despite route-noexec)" 198.18.9.0 "$(envval "$e" route_network_1)"
	assert_eq "$t: route_netmask_1" 255.255.255.0 "$(envval "$e" route_netmask_1)"
	assert_eq "$t: route_gateway_1" "$OVLAB_GW4" "$(envval "$e" route_gateway_1)"
	assert_eq "$t: route_network_2" 203.0.113.0 "$(envval "$e" route_network_2)"
	assert_eq "$t: no route_network_3" "" "$(envval "$e" route_network_3)"
	assert_eq "$t: route_ipv6_network_1" 2001:db8:203::/64 "$(envval "$e" route_ipv6_network_1)"
	assert_eq "$t: route_ipv6_gateway_1" "$OVLAB_GW6" "$(envval "$e" route_ipv6_gateway_1)"
	assert_eq "$t: foreign_option_1" "dhcp-option DNS $OVLAB_DNS" "$(envval "$e" foreign_option_1)"
	assert_eq "$t: foreign_option_2" "dhcp-option DOMAIN $OVLAB_DOMAIN" "$(envval "$e" foreign_option_2)"
	assert_eq "$t: no foreign_option_3" "" "$(envval "$e" foreign_option_3)"
	assert_eq "$t: no dns_* variables" "" "$(grep '^dns_' "$e")"
	assert_eq "$t: no redirect_gateway (route-noexec)" "" "$(envval "$e" redirect_gateway)"
	assert_eq "$t: no signal" "" "$(envval "$e" signal)"
	assert_eq "$t: trusted_ip" "$OVLAB_SERVER_IP4" "$(envval "$e" trusted_ip)"
	assert_eq "$t: trusted_port" "$OVLAB_PORT" "$(envval "$e" trusted_port)"
	assert_eq "$t: daemon_pid" "$F1" "$(envval "$e" daemon_pid)"
	assert_eq "$t: config" "$OVLAB_DIR/f1.ovpn" "$(envval "$e" config)"
	assert_eq "$t: common_name of the server" "$OVLAB_SERVER_CN" "$(envval "$e" common_name)"
	assert_eq "$t: no PATH (scripts get only OpenVPN's variables)" "" "$(envval "$e" PATH)"
done
assert_eq "up and route-up see the same variable names" \
	"$(envnames "$f1/up.init.env0")" "$(envnames "$f1/route-up.init.env0")"

t0=$(now_ms)
assert_true "SIGTERM stops f1" ovlab_openvpn_stop f1 TERM 10
tap_diag "f1 stopped in $(( $(now_ms) - t0 )) ms"
assert_eq "scripts on SIGTERM (signal is lower case)" \
	"up init,route-up init,route-pre-down init sigterm,down init sigterm" "$(events f1)"
assert_match "route-pre-down: the device still exists" "^$F1IDX: " "$(cat "$f1/route-pre-down.init.dev" 2>/dev/null)"
assert_match "down: the device is already gone" 'does not exist' "$(cat "$f1/down.init.dev" 2>/dev/null)"
assert_true "f1's tun device is gone from the host" ifindex_gone "$F1IDX"
for t in route-pre-down down; do
	e=$f1/$t.init.env
	assert_eq "$t: script_type" "$t" "$(envval "$e" script_type)"
	assert_eq "$t: signal" sigterm "$(envval "$e" signal)"
	assert_eq "$t: route_network_2" 203.0.113.0 "$(envval "$e" route_network_2)"
	assert_eq "$t: foreign_option_1" "dhcp-option DNS $OVLAB_DNS" "$(envval "$e" foreign_option_1)"
	assert_eq "$t: the variables of up, and signal" \
		"$( { envnames "$f1/up.init.env0"; echo signal; } | sort)" "$(envnames "$e"0)"
done
assert_eq "down argv: like up's" "$(cat "$f1/up.init.argv" 2>/dev/null)" "$(cat "$f1/down.init.argv" 2>/dev/null)"
assert_eq "route-pre-down argv: like up's" "$(cat "$f1/up.init.argv" 2>/dev/null)" "$(cat "$f1/route-pre-down.init.argv" 2>/dev/null)"
save_fixtures "$f1" openvpn

assert_true "SIGTERM stops k1" ovlab_openvpn_stop k1 TERM 10
wait "$K1_JOB"
assert_eq "k1 exit status after SIGTERM" 0 "$?"
assert_false "tun0 is gone from the client netns" ip -n "$C1" link show dev tun0
teardown_and_check "lab 1" "$K1" "$F1"

# =============================================================================
# 2. --dns-option, then SIGUSR1 without persist-tun
# =============================================================================
t0=$(now_ms)
T_LAB=$t0
ovlab_up --dns-option; assert_eq "lab 2 (--dns-option) comes up" 0 "$?"
[ -n "${OVLAB_DIR:-}" ] && [ -d "$OVLAB_DIR" ] || tap_done
tap_diag "lab $OVLAB_ID up in $(( $(now_ms) - t0 )) ms, slot $OVLAB_SLOT"
assert_true "server config: push \"dns server 1 address 203.0.113.53\"" \
	grep -qxF 'push "dns server 1 address 203.0.113.53"' "$OVLAB_SERVER_CONF"
assert_true "server config: push \"dns search-domains vpnns.test\"" \
	grep -qxF 'push "dns search-domains vpnns.test"' "$OVLAB_SERVER_CONF"
assert_false "server config: no dhcp-option" grep -q dhcp-option "$OVLAB_SERVER_CONF"
start_recorder f2
F2=$OVLAB_OVPN_PID
r2=$(mktemp -d /tmp/ovsmoke.XXXXXX)   # outlives the lab dir, for the last check
REC_DIR=$r2 start_recorder r2
R2=$OVLAB_OVPN_PID
await_init f2
await_init r2
assert_true "SIGTERM stops f2" ovlab_openvpn_stop f2 TERM 10
f2=$OVLAB_DIR/f2
assert_eq "scripts" "up init,route-up init,route-pre-down init sigterm,down init sigterm" "$(events f2)"
for t in up route-up route-pre-down down; do
	e=$f2/$t.init.env
	assert_eq "dns $t: dns_server_1_address_1" "$OVLAB_DNS" "$(envval "$e" dns_server_1_address_1)"
	assert_eq "dns $t: dns_search_domain_1" "$OVLAB_DOMAIN" "$(envval "$e" dns_search_domain_1)"
	assert_eq "dns $t: also foreign_option_1 (converted)" "dhcp-option DNS $OVLAB_DNS" "$(envval "$e" foreign_option_1)"
	assert_eq "dns $t: also foreign_option_2 (converted, DOMAIN-SEARCH)" \
		"dhcp-option DOMAIN-SEARCH $OVLAB_DOMAIN" "$(envval "$e" foreign_option_2)"
	assert_eq "dns $t: route_network_1" 198.18.9.0 "$(envval "$e" route_network_1)"
done
tap_diag "dns up: $(grep -E '^(dns_|foreign_option_)' "$f2/up.init.env" | sort | tr '\n' ' ')"
save_fixtures "$f2" openvpn-dns

# SIGUSR1 without persist-tun: the tun device is closed and a new one opened
R2IDX=$(ifindex_of "$(ovlab_tun_dev r2)")
t0=$(now_ms)
assert_true "ovlab_signal r2 USR1" ovlab_signal r2 USR1
await_init r2 2
tap_diag "r2: SIGUSR1 to Initialization Sequence Completed: $(( $(now_ms) - t0 )) ms"
assert_eq "r2 is the same process" "$R2" "$(ovlab_openvpn_pid r2)"
assert_eq "SIGUSR1 without persist-tun: scripts (the new up is 'init' again)" \
	"up init,route-up init,route-pre-down init sigusr1,down init sigusr1,up init,route-up init" "$(events "$r2")"
R2IDX2=$(ifindex_of "$(ovlab_tun_dev r2)")
assert_ne "... on a new tun device (ifindex $R2IDX -> $R2IDX2)" "$R2IDX" "$R2IDX2"
assert_true "... the old one is gone" ifindex_gone "$R2IDX"
# r2 stays up: ovlab_down stops it
teardown_and_check "lab 2" "$F2" "$R2"
assert_true "lab 2: r2's tun device is gone" ifindex_gone "$R2IDX2"
assert_eq "lab 2: ovlab_down ran r2's route-pre-down and down (sigterm)" \
	"route-pre-down init sigterm,down init sigterm" \
	"$(events "$r2" 2)"
rm -rf "$r2"

# =============================================================================
# 3. --persist-tun --up-restart; other labs at the same time
# =============================================================================
t0=$(now_ms)
T_LAB=$t0
ovlab_up --persist-tun --up-restart; assert_eq "lab 3 (--persist-tun --up-restart) comes up" 0 "$?"
[ -n "${OVLAB_DIR:-}" ] && [ -d "$OVLAB_DIR" ] || tap_done
tap_diag "lab $OVLAB_ID up in $(( $(now_ms) - t0 )) ms, slot $OVLAB_SLOT"
C3=$(ovlab_client_ns c3)
ovlab_client_config --exec "$OVLAB_DIR/k3.ovpn"
K3_IP4=$OVLAB_CONF_IP4
OVLAB_OVPN_WRAP="ovlab_client_sandbox c3" ovlab_openvpn_bg k3 "$OVLAB_DIR/k3.ovpn"
K3=$OVLAB_OVPN_PID
start_recorder p3
P3=$OVLAB_OVPN_PID
p3=$OVLAB_DIR/p3
assert_true "client config has persist-tun" grep -qx persist-tun "$OVLAB_DIR/p3.ovpn"
assert_true "client config has up-restart" grep -qx up-restart "$OVLAB_DIR/p3.ovpn"
# a --dynamic one: the shared certificate, an address from the pool
start_recorder --dynamic d3
D3=$OVLAB_OVPN_PID
d3=$OVLAB_DIR/d3
assert_eq "a --dynamic config gets the pool" pool "$(ovlab_client_addr "$OVLAB_DIR/d3.ovpn")"
for n in k3 p3 d3; do await_init "$n"; done
K3IDX=$(ip -n "$C3" -o link show dev tun0 | cut -d: -f1)
P3IDX=$(ifindex_of "$(ovlab_tun_dev p3)")
D3IDX=$(ifindex_of "$(ovlab_tun_dev d3)")
D3_IP4=$(envval "$d3/up.init.env" ifconfig_local)
t0=$(now_ms)
for n in k3 p3 d3; do ovlab_signal "$n" SIGUSR1; done
for n in k3 p3 d3; do await_init "$n" 2; done
tap_diag "SIGUSR1 to Initialization Sequence Completed (3 clients at once): $(( $(now_ms) - t0 )) ms"
assert_eq "k3 (persist-tun): the same tun0 in the client netns" "$K3IDX" \
	"$(ip -n "$C3" -o link show dev tun0 | cut -d: -f1)"
assert_match "... the same address" "inet ${K3_IP4//./\\.}/24" "$(ip -n "$C3" -4 addr show dev tun0)"
assert_true "log: Preserving previous TUN/TAP instance" \
	grep -q 'Preserving previous TUN/TAP instance' "$(ovlab_log k3)"
assert_eq "k3 still reaches the intranet after SIGUSR1 (IPv4)" "$OVLAB_PAGE" \
	"$(ip netns exec "$C3" curl -fsS --max-time 5 "$OVLAB_URL4")"
assert_eq "... and IPv6" "$OVLAB_PAGE" "$(ip netns exec "$C3" curl -fsS --max-time 5 "$OVLAB_URL6")"
assert_eq "p3 (persist-tun, up-restart) SIGUSR1: down and up 'restart', no route-up, no route-pre-down" \
	"up init,route-up init,down restart sigusr1,up restart" "$(events p3)"
assert_eq "... the same tun device" "$P3IDX" "$(ifindex_of "$(ovlab_tun_dev p3)")"
e=$p3/up.restart.env
assert_eq "up restart: ifconfig_local" "$(envval "$p3/up.init.env" ifconfig_local)" "$(envval "$e" ifconfig_local)"
assert_eq "up restart: foreign_option_1" "dhcp-option DNS $OVLAB_DNS" "$(envval "$e" foreign_option_1)"
assert_eq "up restart: no route_* variables" "" "$(grep '^route_' "$e" 2>/dev/null; [ -s "$e" ] || echo missing)"
assert_eq "up restart: no signal" "" "$(envval "$e" signal)"
assert_eq "up restart argv" "$(ovlab_tun_dev p3) 1500 0 $(envval "$e" ifconfig_local) 255.255.255.0 restart" \
	"$(paste -sd' ' "$p3/up.restart.argv" 2>/dev/null)"
assert_eq "down restart: signal" sigusr1 "$(envval "$p3/down.restart.env" signal)"
assert_eq "down restart: route_network_1" 198.18.9.0 "$(envval "$p3/down.restart.env" route_network_1)"
tap_diag "variables in up init but not in up restart: $(comm -23 <(envnames "$p3/up.init.env0") <(envnames "$e"0) | tr '\n' ' ')"
save_fixture "$p3/up.restart" openvpn-persist-up-restart
save_fixture "$p3/down.restart" openvpn-persist-down-restart
tap_diag "d3 (--dynamic) scripts: $(events d3)"
assert_eq "d3 (--dynamic: a new pool address, the old session lingers): the tun device is reopened" \
	"up init,route-up init,down restart sigusr1,up restart,route-pre-down init UNKNOWN,down init UNKNOWN,up init UNKNOWN,route-up init UNKNOWN" \
	"$(events d3)"
assert_true "log: Pulled options changed on restart" \
	grep -q 'Pulled options changed on restart' "$(ovlab_log d3)"
assert_ne "... a new address" "$D3_IP4" "$(ovlab_log d3 >/dev/null; grep -o 'ifconfig [0-9.]* ' "$(ovlab_log d3)" | tail -n1 | cut -d' ' -f2)"
assert_ne "... a new tun device" "$D3IDX" "$(ifindex_of "$(ovlab_tun_dev d3)")"
assert_true "... the old one is gone" ifindex_gone "$D3IDX"

second_ovlab_ok() (
	# an OpenVPN lab of its own in this subshell, next to lab 3
	unset $(compgen -v OVLAB_)
	ovlab_trap
	ovlab_up >/dev/null || exit 1
	echo "second lab $OVLAB_ID in slot $OVLAB_SLOT, server $OVLAB_REMOTE"
	[ "$OVLAB_SLOT" != "$1" ] || exit 2
	ovlab_client_config "$OVLAB_DIR/s.ovpn"
	ovlab_openvpn_bg s "$OVLAB_DIR/s.ovpn" || exit 3
	ovlab_wait_log s 'Initialization Sequence Completed' 20 || { cat "$(ovlab_log s)"; exit 4; }
	id=$OVLAB_ID
	ovlab_down
	[ -z "$(ovlab_leftovers "$id")" ] || exit 5
)
ocserv_lab_ok() (
	# an ocserv lab in this subshell, next to lab 3
	. "$HERE/ocserv-lab.sh"
	unset $(compgen -v OCLAB_ | grep -vx OCLAB_VPNC_SCRIPT)
	oclab_trap
	oclab_up >/dev/null || exit 1
	echo "ocserv lab $OCLAB_ID in slot $OCLAB_SLOT"
	[ "$OCLAB_SLOT" != "$1" ] || exit 2
	id=$OCLAB_ID
	oclab_down
	[ -z "$(oclab_leftovers "$id")" ] || exit 3
)
# both at once, in the background (they take a few seconds each)
t0=$(now_ms)
second_ovlab_ok "$OVLAB_SLOT" >"$OVLAB_DIR/second.out" 2>&1 &
second_job=$!
have_ocserv=
if command -v ocserv >/dev/null && command -v certtool >/dev/null && [ -r "$HERE/ocserv-lab.sh" ]; then
	have_ocserv=1
	ocserv_lab_ok "$OVLAB_SLOT" >"$OVLAB_DIR/ocserv.out" 2>&1 &
	ocserv_job=$!
fi
wait "$second_job"
assert_eq "a second OpenVPN lab can be up at the same time (own slot; a client connects)" 0 "$?"
tap_diag "$(cat "$OVLAB_DIR/second.out")"
if [ -n "$have_ocserv" ]; then
	wait "$ocserv_job"
	assert_eq "an ocserv lab can be up at the same time (own slot)" 0 "$?"
	tap_diag "$(cat "$OVLAB_DIR/ocserv.out")"
else
	tap_ok "an ocserv lab can be up at the same time # SKIP no ocserv"
fi
tap_diag "the other two labs took $(( $(now_ms) - t0 )) ms"
assert_true "lab 3 keeps the host's unreachable routes after the other labs went" \
	sh -c "ip route show | grep -q '^unreachable 203.0.113.0/24' && ip route show | grep -q '^unreachable 198.18.1.0/24' && ip route show | grep -q '^unreachable 198.18.9.0/24' && ip -6 route show | grep -q '^unreachable 2001:db8:3::/64' && ip -6 route show | grep -q '^unreachable 2001:db8:203::/64'"
assert_eq "k3 still reaches the intranet after the other labs went" "$OVLAB_PAGE" \
	"$(ip netns exec "$C3" curl -fsS --max-time 5 "$OVLAB_URL4")"
teardown_and_check "lab 3" "$K3" "$P3" "$D3"

tap_diag "all three labs took $(( $(now_ms) - T_START )) ms"
tap_done
