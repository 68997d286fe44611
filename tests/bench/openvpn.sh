#!/bin/bash
# tests/bench/openvpn.sh - TCP throughput (iperf3) through a real OpenVPN 2.6
# client and server (the lab of tests/lab/openvpn-lab.sh), for two paths in
# one run:
#   reference  a root openvpn in a plain client netns of the lab
#              (ovlab_client_ns, ovlab_client_config --exec): OpenVPN
#              configures its own tun there; iperf3 runs in that netns
#   plug-in    a root openvpn in the host netns with vpnns-openvpn.so (user=
#              TEST_USER): the tun is moved into the test user's sandbox;
#              iperf3 runs as the test user with `vpnns --name NAME --`
# Both use the same kernel tun and the same userspace OpenVPN, so the
# sandbox should cost nothing: the figures are the medians of the
# receiver's bits/s and the ratio plug-in/reference per direction.
# The iperf3 server runs in the lab's server netns on the intranet address
# 203.0.113.10 (behind the VPN); the client runs as the test user on both
# paths, both directions (client->server, and -R server->client),
# BENCH_REPEATS times each (default 3) for BENCH_SECONDS (default 5), the
# paths taking turns.  On a 2-CPU machine iperf3 and the two openvpns
# compete for the CPUs, so single runs vary: look at the medians.
#
# Run as root (make bench):  bash tests/bench/openvpn.sh
# Environment: BENCH_SECONDS, BENCH_REPEATS, VPNNS (default the build tree's
#   ./vpnns), BENCH_KEEP=1 (keep the work directory with the iperf3 JSON).
# Traffic goes only to addresses inside the lab's namespaces; the host is
# never configured (the plug-in's client has ifconfig-noexec/route-noexec,
# the reference client runs in its own netns).  About 5 s of setup and
# teardown plus 2 x 2 x REPEATS x (SECONDS + 0.5) s: about 70 s by default.
set -u
. "$(dirname "$0")/../lib/tap.sh"     # wait_until
. "$(dirname "$0")/../lib/env.sh"
trap - EXIT                            # env.sh's: this script has its own
. "$TOP/tests/lab/openvpn-lab.sh"

SECS=${BENCH_SECONDS:-5}
REPEATS=${BENCH_REPEATS:-3}
PLUGIN=$TOP/openvpn-plugin/vpnns-openvpn.so
PORT=5201
N=bov$$                                # the plug-in's sandbox (as TEST_USER)

die() { echo "openvpn.sh: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (sudo make bench); the sandbox runs as the test user $TEST_USER"
case $SECS in ''|*[!0-9]*|0) die "BENCH_SECONDS must be a whole number > 0" ;; esac
case $REPEATS in ''|*[!0-9]*|0) die "BENCH_REPEATS must be a whole number > 0" ;; esac
[ -x "$VPNNS" ] || die "$VPNNS is missing: run 'make' first"
[ -f "$PLUGIN" ] || die "$PLUGIN is missing: run 'make' first"
for c in iperf3 openvpn openssl dnsmasq busybox curl dig setpriv ss timeout; do
	command -v "$c" >/dev/null || die "$c is not installed (see tests/install-deps.sh)"
done
[ -c /dev/net/tun ] || die "no /dev/net/tun"
getent passwd "$TEST_USER" >/dev/null || die "no test user $TEST_USER: run tests/setup.sh"
cd /tmp || exit 1

unset TEST_XDG   # as_user: no XDG_RUNTIME_DIR, state in ~/.vpnns-NAME (the plug-in's helper sees the same)
if as_user "$VPNNS" status "$N" >/dev/null 2>&1; then
	die "$TEST_USER already has a sandbox '$N': $VPNNS stop $N as $TEST_USER"
fi

work=$(mktemp -d /tmp/vpnns-bench-ovpn.XXXXXX) || exit 1
chmod 755 "$work"

SRV_PID=
OV_STARTED=()          # lab labels of the openvpns we started
SANDBOX_STARTED=

cleanup() {
	local l
	if [ -n "$SRV_PID" ] && [ "$(cat "/proc/$SRV_PID/comm" 2>/dev/null)" = iperf3 ]; then
		kill "$SRV_PID" 2>/dev/null
	fi
	SRV_PID=
	if [ -n "${OVLAB_ID:-}" ]; then
		for l in "${OV_STARTED[@]}"; do ovlab_openvpn_stop "$l" TERM 10; done
	fi
	OV_STARTED=()
	if [ -n "$SANDBOX_STARTED" ]; then
		as_user "$VPNNS" stop --timeout 1 "$N" >/dev/null 2>&1 || true
	fi
	SANDBOX_STARTED=
	if [ -n "${BENCH_KEEP:-}" ] && [ -n "${OVLAB_DIR:-}" ]; then
		cp "$OVLAB_DIR"/openvpn-*.log "$OVLAB_SERVER_LOG" "$work/" 2>/dev/null
	fi
	ovlab_down
	if [ -n "${BENCH_KEEP:-}" ]; then echo "# work directory kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ovlab_up >"$work/ovlab-up.log" 2>&1 || { cat "$work/ovlab-up.log" >&2; die "the lab did not come up"; }

# iperf3 server on the intranet address, inside the server netns; its own
# PID (sh execs into it) is written to a file, so it is killed by PID.
ovlab_server_exec sh -c 'echo $$ >"$0"; exec iperf3 -s -B "$1" -p "$2"' \
	"$work/iperf3.pid" "$OVLAB_HTTP4" "$PORT" >"$work/iperf3-server.log" 2>&1 &
wait_until 5 test -s "$work/iperf3.pid" || die "the iperf3 server did not start"
SRV_PID=$(cat "$work/iperf3.pid")
server_listens() { [ -n "$(ovlab_server_exec ss -Hltn "sport = :$PORT")" ]; }
wait_until 5 server_listens || die "the iperf3 server does not listen (see $work/iperf3-server.log)"

ov_failed() {  # ov_failed LABEL WHAT
	echo "# $1: $2; openvpn log:" >&2
	tail -n 15 "$(ovlab_log "$1")" 2>/dev/null | sed 's/^/#   /' >&2
	exit 1
}
completed() { ovlab_wait_log "$1" 'Initialization Sequence Completed' 20; }
connected() { as_user "$VPNNS" status "$1" 2>/dev/null | grep -q '^state: *connected'; }

# as_user_in NETNS CMD...: as_user, inside a plain netns (the reference)
as_user_in() {
	local ns=$1; shift
	ip netns exec "$ns" setpriv --reuid="$TEST_USER" --regid="$TEST_USER" --init-groups --reset-env -- \
		env HOME="$(user_home)" USER="$TEST_USER" LOGNAME="$TEST_USER" SHELL=/bin/sh \
		PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin "$@"
}

# --- 1. reference: OpenVPN configures its own tun in a plain client netns ----
REF_NS=$(ovlab_client_ns ref) || die "cannot create the client netns"
# (at least one LINE: without any, ovlab_client_config writes the file but
# returns 1 - its subshell ends with `[ $# -gt 0 ] && printf ...`)
ovlab_client_config --exec "$OVLAB_DIR/ref.ovpn" "# reference: openvpn configures its tun in $REF_NS" ||
	die "cannot write the reference config"
OV_STARTED+=(ref)
OVLAB_OVPN_WRAP="ovlab_client_sandbox ref" ovlab_openvpn_bg ref "$OVLAB_DIR/ref.ovpn" ||
	ov_failed ref "openvpn did not start"
completed ref || ov_failed ref "did not connect"
ref_ready() { ip -n "$REF_NS" -4 route get "$OVLAB_HTTP4" 2>/dev/null | grep -q ' dev tun'; }
wait_until 10 ref_ready || ov_failed ref "no route to $OVLAB_HTTP4 over the tun in $REF_NS"

# --- 2. the plug-in: root openvpn on the host, the tun in the user's sandbox --
ovlab_client_config "$OVLAB_DIR/plug.ovpn" \
	"plugin $PLUGIN vpnns=$VPNNS user=$TEST_USER name=$N" || die "cannot write the plug-in config"
OV_STARTED+=(plug)
SANDBOX_STARTED=1
ovlab_openvpn_bg plug "$OVLAB_DIR/plug.ovpn" || ov_failed plug "openvpn did not start"
completed plug || ov_failed plug "did not connect"
wait_until 10 connected "$N" || ov_failed plug "sandbox $N is not connected"
PLUG_DEV=$(ovlab_tun_dev plug)
as_user "$VPNNS" --name "$N" -- ip -4 route get "$OVLAB_HTTP4" 2>/dev/null | grep -q " dev $PLUG_DEV " ||
	ov_failed plug "the sandbox does not route $OVLAB_HTTP4 over openvpn's $PLUG_DEV"

# both paths answer before anything is measured
page() { "$@" curl -fsS --max-time 5 "$OVLAB_URL4" 2>/dev/null; }
[ "$(page as_user_in "$REF_NS")" = "$OVLAB_PAGE" ] || ov_failed ref "the intranet does not answer"
[ "$(page as_user "$VPNNS" --name "$N" --)" = "$OVLAB_PAGE" ] || ov_failed plug "the intranet does not answer in the sandbox"

# measure LABEL DIR REP: one iperf3 run as the test user on path LABEL;
# prints the receiver's Mbit/s (empty on failure).
measure() {
	local label=$1 dir=$2 rep=$3 out r= run
	out=$work/$label-$dir-$rep.json
	[ "$dir" = down ] && r=-R
	case $label in
	ref) run=(as_user_in "$REF_NS") ;;
	plug) run=(as_user "$VPNNS" --name "$N" --) ;;
	esac
	"${run[@]}" timeout -k 3 $((SECS + 30)) \
		iperf3 -c "$OVLAB_HTTP4" -p "$PORT" -t "$SECS" --connect-timeout 5000 -J $r \
		>"$out" 2>"$out.err"
	awk '/"sum_received"/ { f = 1 }
	     f && /"bits_per_second"/ { v = $0; sub(/.*:/, "", v); sub(/,.*/, "", v)
	                                printf "%.0f\n", v / 1e6; exit }' "$out"
}
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }

declare -A RES ALL        # label:dir -> median Mbit/s, every run
FAILED=
PATHS=(ref plug)
declare -A TITLE=([ref]="reference (tun in a plain netns)" [plug]="plug-in (tun in the sandbox)")

cipher=$(sed -n "s/.*Data Channel: cipher '\\([^']*\\)'.*/\\1/p" "$(ovlab_log plug)" | tail -n1)
echo "# iperf3 through OpenVPN $(openvpn --version | awk 'NR == 1 { print $2 }') (lab, UDP, ${cipher:-?}, tun MTU 1500): ${SECS} s x ${REPEATS} per direction, medians"
echo "# $(nproc) CPUs, load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

# Both paths are connected at once (an idle one costs nothing) and the runs
# take turns - reference, plug-in, both directions, REPEATS rounds - so that
# a change in the machine's load hits both alike.
for rep in $(seq "$REPEATS"); do
	for label in "${PATHS[@]}"; do
		for dir in up down; do
			v=$(measure "$label" "$dir" "$rep")
			if [ -z "$v" ]; then
				echo "# $label $dir run $rep failed: $(head -c 300 "$work/$label-$dir-$rep.json.err" 2>/dev/null)" \
					"$(grep -m1 '"error"' "$work/$label-$dir-$rep.json" 2>/dev/null)" >&2
				FAILED=1
				continue
			fi
			ALL[$label:$dir]="${ALL[$label:$dir]:-} $v"
		done
	done
done
for label in "${PATHS[@]}"; do
	for dir in up down; do
		[ -n "${ALL[$label:$dir]:-}" ] && RES[$label:$dir]=$(median ${ALL[$label:$dir]})
	done
	echo "#   $label runs: client->server${ALL[$label:up]:- none}; server->client${ALL[$label:down]:- none} Mbit/s"
done

# the plug-in's tunnel still serves the sandbox after the runs
connected "$N" || { echo "# plug: sandbox $N is no longer connected after the runs" >&2; FAILED=1; }

# everything down before the table: openvpns end, the sandbox ends
for l in "${OV_STARTED[@]}"; do ovlab_openvpn_stop "$l" TERM 10 || echo "# openvpn $l did not stop on SIGTERM" >&2; done
OV_STARTED=()
as_user "$VPNNS" stop --timeout 1 "$N" >/dev/null 2>&1
SANDBOX_STARTED=

# --- the table -------------------------------------------------------------------
ratio() {  # ratio A B: A/B, or n/a
	if [ -z "$1" ] || [ -z "$2" ] || [ "$2" = 0 ]; then echo n/a
	else awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; fi
}
echo
printf '%-34s %22s %22s\n' path "client->server Mbit/s" "server->client Mbit/s"
for label in "${PATHS[@]}"; do
	printf '%-34s %22s %22s\n' "${TITLE[$label]}" "${RES[$label:up]:-failed}" "${RES[$label:down]:-failed}"
done
echo
printf '%-34s %22s %22s\n' ratio "client->server" "server->client"
printf '%-34s %22s %22s\n' sandbox/reference "$(ratio "${RES[plug:up]:-}" "${RES[ref:up]:-}")" \
	"$(ratio "${RES[plug:down]:-}" "${RES[ref:down]:-}")"
echo "target: equal within noise (same kernel data path)"
[ -z "$FAILED" ] || { echo "openvpn.sh: some measurements failed (see above)" >&2; exit 1; }
exit 0
