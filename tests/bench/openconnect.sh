#!/bin/bash
# tests/bench/openconnect.sh - TCP throughput (iperf3) through a real
# openconnect to a real ocserv (the lab of tests/lab/ocserv-lab.sh), into a
# sandbox, for three paths in one run:
#   kernel   root openconnect, --script "vpnns --attach --user TEST_USER":
#            the kernel tun moved into the test user's sandbox
#   relay    openconnect --script-tun as the test user, --script
#            "vpnns --attach": our relay between VPNFD and a tun in the sandbox
#   classic  the same with the classic vpnns (Debian's ocproxy package,
#            /usr/bin/vpnns) as the script and to run the client
# The iperf3 server runs in the lab's server netns on the intranet address
# 203.0.113.10; the client runs as the test user inside the sandbox, both
# directions (client->server, and -R server->client), BENCH_REPEATS times
# each (default 5) for BENCH_SECONDS (default 5), the paths taking turns;
# the table shows the medians of the receiver's bits/s and the ratios to
# the kernel path.  On a 2-CPU machine iperf3, openconnect and ocserv
# compete for the CPUs, so single runs vary by +-30%: look at the medians.
#
# Run as root (make bench; everything but the kernel path's openconnect runs
# as the unprivileged test user):  bash tests/bench/openconnect.sh
# Environment: BENCH_SECONDS, BENCH_REPEATS, CLASSIC_VPNNS (default
#   /usr/bin/vpnns), VPNNS (ours, default the build tree's ./vpnns),
#   BENCH_KEEP=1 (keep the work directory with the iperf3 JSON and logs).
# Traffic goes only to addresses inside the lab's namespaces.  About 5 s of
# setup and teardown plus 3 x 2 x REPEATS x (SECONDS + 0.3) s: 165 s by
# default.
set -u
. "$(dirname "$0")/../lib/tap.sh"     # wait_until
. "$(dirname "$0")/../lib/env.sh"
trap - EXIT                            # env.sh's: this script has its own
. "$TOP/tests/lab/ocserv-lab.sh"

SECS=${BENCH_SECONDS:-5}
REPEATS=${BENCH_REPEATS:-5}
CLASSIC=${CLASSIC_VPNNS:-/usr/bin/vpnns}
PORT=5201

die() { echo "openconnect.sh: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (sudo make bench); the sandboxes run as the test user $TEST_USER"
case $SECS in ''|*[!0-9]*|0) die "BENCH_SECONDS must be a whole number > 0" ;; esac
case $REPEATS in ''|*[!0-9]*|0) die "BENCH_REPEATS must be a whole number > 0" ;; esac
[ -x "$VPNNS" ] || die "$VPNNS is missing: run 'make' first"
for c in iperf3 ocserv openconnect certtool ocpasswd occtl dnsmasq busybox curl dig setpriv ss; do
	command -v "$c" >/dev/null || die "$c is not installed (see tests/install-deps.sh)"
done
getent passwd "$TEST_USER" >/dev/null || die "no test user $TEST_USER: run tests/setup.sh"
cd /tmp || exit 1

HOME_T=$(user_home)
unset TEST_XDG   # as_user: no XDG_RUNTIME_DIR, state in ~/.vpnns-NAME (openconnect's script sees the same)
for n in bk br; do
	if as_user "$VPNNS" status "$n" >/dev/null 2>&1; then
		die "$TEST_USER already has a sandbox '$n' (an interrupted run?): $VPNNS stop $n as $TEST_USER"
	fi
done
HAVE_CLASSIC=
if [ -x "$CLASSIC" ]; then
	HAVE_CLASSIC=1
	[ ! -e "$HOME_T/.vpnns-bc" ] ||
		die "$HOME_T/.vpnns-bc exists (an interrupted run?): end its processes and remove it"
fi

work=$(mktemp -d /tmp/vpnns-bench-oc.XXXXXX) || exit 1
chmod 755 "$work"

SRV_PID=
OURS_STARTED=()        # sandboxes of ours to stop
OC_STARTED=()          # lab labels of the openconnects we started
CLASSIC_BEFORE=
CLASSIC_STARTED=

# The classic vpnns has no stop.  End, by PID, what this run started: the
# test user's processes that were not there before the classic path began
# (comm -13 of the two lists) and that belong to sandbox bc - their command
# line names it, or they descend from one that does (the test user may be
# running other tests at the same time) - then remove ~/.vpnns-bc.
classic_pids() {
	local new p q ppid hit
	new=$(comm -13 <(printf '%s\n' "$CLASSIC_BEFORE") <(pgrep -u "$TEST_USER" | sort))
	for p in $new; do
		q=$p hit=
		while [ -n "$q" ] && [ "$q" -gt 1 ]; do
			if tr '\0' ' ' 2>/dev/null <"/proc/$q/cmdline" | grep -qF -- "--name bc "; then
				hit=1; break
			fi
			ppid=$(sed 's/.*) //' "/proc/$q/stat" 2>/dev/null | cut -d' ' -f2)
			q=$ppid
		done
		[ -n "$hit" ] && echo "$p"
	done
}
_gone() { ! oclab_pid_alive "$1"; }
classic_cleanup() {
	local pids p
	[ -n "$CLASSIC_STARTED" ] || return 0
	pids=$(classic_pids)
	if [ -n "$pids" ]; then
		kill $pids 2>/dev/null
		for p in $pids; do wait_until 2 _gone "$p"; done
		pids=$(classic_pids)
		[ -z "$pids" ] || kill -KILL $pids 2>/dev/null
	fi
	rm -rf "${HOME_T:?}/.vpnns-bc"
	CLASSIC_STARTED=
}

cleanup() {
	local l n
	if [ -n "$SRV_PID" ] && [ "$(cat "/proc/$SRV_PID/comm" 2>/dev/null)" = iperf3 ]; then
		kill "$SRV_PID" 2>/dev/null
	fi
	SRV_PID=
	if [ -n "${OCLAB_ID:-}" ]; then
		for l in "${OC_STARTED[@]}"; do oclab_openconnect_stop "$l" INT 5; done
	fi
	OC_STARTED=()
	for n in "${OURS_STARTED[@]}"; do
		as_user "$VPNNS" stop --timeout 1 "$n" >/dev/null 2>&1 || true
	done
	OURS_STARTED=()
	classic_cleanup
	oclab_down
	if [ -n "${BENCH_KEEP:-}" ]; then echo "# work directory kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

oclab_up || die "the lab did not come up"

# iperf3 server on the intranet address, inside the server netns; its own
# PID (sh execs into it) is written to a file, so it is killed by PID.
oclab_server_exec sh -c 'echo $$ >"$0"; exec iperf3 -s -B "$1" -p "$2"' \
	"$work/iperf3.pid" "$OCLAB_HTTP4" "$PORT" >"$work/iperf3-server.log" 2>&1 &
wait_until 5 test -s "$work/iperf3.pid" || die "the iperf3 server did not start"
SRV_PID=$(cat "$work/iperf3.pid")
server_listens() { [ -n "$(oclab_server_exec ss -Hltn "sport = :$PORT")" ]; }
wait_until 5 server_listens || die "the iperf3 server does not listen (see $work/iperf3-server.log)"

# measure BIN NAME LABEL DIR REP: one iperf3 run as the test user in sandbox
# NAME; prints the receiver's Mbit/s (empty on failure).
measure() {
	local bin=$1 name=$2 label=$3 dir=$4 rep=$5 out r=
	out=$work/$label-$dir-$rep.json
	[ "$dir" = down ] && r=-R
	as_user timeout -k 3 $((SECS + 30)) "$bin" --name "$name" -- \
		iperf3 -c "$OCLAB_HTTP4" -p "$PORT" -t "$SECS" --connect-timeout 5000 -J $r \
		>"$out" 2>"$out.err"
	awk '/"sum_received"/ { f = 1 }
	     f && /"bits_per_second"/ { v = $0; sub(/.*:/, "", v); sub(/,.*/, "", v)
	                                printf "%.0f\n", v / 1e6; exit }' "$out"
}
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }

declare -A RES            # label:dir -> median Mbit/s
declare -A ALL            # label:dir -> every run
declare -A BIN NAMEOF     # label -> vpnns binary, sandbox name
PATHS=()                  # the connected paths, in order
FAILED=

connected() { as_user "$VPNNS" status "$1" 2>/dev/null | grep -q '^state: *connected'; }
oc_failed() {  # oc_failed LABEL WHAT
	echo "# $1: $2; openconnect log:" >&2
	tail -n 15 "$OCLAB_DIR/openconnect-$1.log" 2>/dev/null | sed 's/^/#   /' >&2
	FAILED=1
}

echo "# iperf3 through openconnect -> ocserv (lab, DTLS, tunnel MTU 1434): ${SECS} s x ${REPEATS} per direction, medians"
# how busy the machine is without us (other benchmarks, builds): iperf3,
# openconnect and ocserv need every CPU there is
cpu_busy() {  # percent of CPU time not idle over 1 s
	local a b
	a=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6 }' /proc/stat)
	sleep 1
	b=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6 }' /proc/stat)
	awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " ")
		u = y[1] - x[1]; i = y[2] - x[2]; printf "%d", (u + i) ? 100 * u / (u + i) : 0 }'
}
busy=$(cpu_busy)
echo "# $(nproc) CPUs, ${busy}% busy before the runs (load average $(cut -d' ' -f1-3 /proc/loadavg))"
[ "$busy" -lt 15 ] ||
	echo "# WARNING: the machine is busy with other work: the figures are lower and noisier than on an idle one"

# All three paths are connected at once (an idle one costs nothing), and
# the runs take turns - kernel, relay, classic, both directions, REPEATS
# rounds - so that a change in the machine's load hits every path alike.

# --- 1. kernel path: root openconnect, the tun moved into the user's sandbox ---
OURS_STARTED+=(bk)
OC_STARTED+=(bk)
if oclab_openconnect_bg bk --script "$VPNNS --attach --user $TEST_USER --name bk" &&
	wait_until 20 connected bk; then
	PATHS+=(kernel); BIN[kernel]=$VPNNS; NAMEOF[kernel]=bk
else
	oc_failed bk "the kernel path did not connect"
fi

# --- 2. relay path: openconnect --script-tun as the test user ------------------
OURS_STARTED+=(br)
OC_STARTED+=(br)
if OCLAB_OC_WRAP=as_user oclab_openconnect_bg br --script-tun --script "$VPNNS --attach --name br" &&
	wait_until 20 connected br; then
	PATHS+=(relay); BIN[relay]=$VPNNS; NAMEOF[relay]=br
else
	oc_failed br "the relay path did not connect"
fi

# --- 3. the classic vpnns --------------------------------------------------------
# Its --attach joins the namespace of a running "watcher" daemon or creates
# one, and every `vpnns --name bc --` does the same.  Two starts at once
# race (it writes the watcher's pid file before the watcher listens, and a
# start that finds a pid but no listener creates a second namespace):
# polling with `vpnns --name bc -- ip addr` while --attach was creating it
# made the attach fail here ("can't connect to watcher") and openconnect
# exit.  So a keeper process creates the namespace first and holds it (the
# watcher lives while it has a client); only then openconnect attaches, and
# the clients join.
classic_keeper_ready() {
	local pid
	pid=$(cat "$work/u/keeper.pid" 2>/dev/null) && [ -n "$pid" ] && pgrep -P "$pid" >/dev/null
}
classic_ready() {
	as_user "$CLASSIC" --name bc -- ip -4 -o addr show 2>/dev/null | grep -q "inet ${OCLAB_POOL4%.*}\."
}
if [ -n "$HAVE_CLASSIC" ]; then
	CLASSIC_BEFORE=$(pgrep -u "$TEST_USER" | sort)
	CLASSIC_STARTED=1
	mkdir "$work/u" && chown "$TEST_USER" "$work/u"
	as_user sh -c 'echo $$ >"$0"; exec "$@"' "$work/u/keeper.pid" \
		"$CLASSIC" --name bc -- sleep infinity >"$work/classic-keeper.log" 2>&1 &
	if ! wait_until 10 classic_keeper_ready; then
		echo "# the classic vpnns did not create its namespace: $(cat "$work/classic-keeper.log")" >&2
		FAILED=1
	else
		OC_STARTED+=(bc)
		if OCLAB_OC_WRAP=as_user oclab_openconnect_bg bc --script-tun --script "$CLASSIC --attach --name bc" &&
			wait_until 20 classic_ready; then
			PATHS+=(classic); BIN[classic]=$CLASSIC; NAMEOF[classic]="bc"
		else
			oc_failed bc "the classic vpnns did not connect"
		fi
	fi
else
	echo "# classic vpnns not installed ($CLASSIC): apt-get install ocproxy"
fi

# --- the runs --------------------------------------------------------------------
for rep in $(seq "$REPEATS"); do
	for label in "${PATHS[@]}"; do
		for dir in up down; do
			v=$(measure "${BIN[$label]}" "${NAMEOF[$label]}" "$label" "$dir" "$rep")
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

# everything down before the table: openconnects log off, sandboxes end
for l in "${OC_STARTED[@]}"; do oclab_openconnect_stop "$l" INT; done
OC_STARTED=()
for n in "${OURS_STARTED[@]}"; do as_user "$VPNNS" stop --timeout 1 "$n" >/dev/null 2>&1; done
OURS_STARTED=()
classic_cleanup

# --- the table -------------------------------------------------------------------
ratio() {  # ratio A B: A/B, or n/a
	if [ -z "$1" ] || [ -z "$2" ] || [ "$2" = 0 ]; then echo n/a
	else awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; fi
}
echo
printf '%-8s %22s %22s\n' path "client->server Mbit/s" "server->client Mbit/s"
for label in kernel relay classic; do
	[ "$label" = classic ] && [ -z "$HAVE_CLASSIC" ] && continue
	printf '%-8s %22s %22s\n' "$label" "${RES[$label:up]:-failed}" "${RES[$label:down]:-failed}"
done
echo
printf '%-16s %16s %16s\n' ratio "client->server" "server->client"
printf '%-16s %16s %16s\n' relay/kernel "$(ratio "${RES[relay:up]:-}" "${RES[kernel:up]:-}")" \
	"$(ratio "${RES[relay:down]:-}" "${RES[kernel:down]:-}")"
if [ -n "$HAVE_CLASSIC" ]; then
	printf '%-16s %16s %16s\n' classic/kernel "$(ratio "${RES[classic:up]:-}" "${RES[kernel:up]:-}")" \
		"$(ratio "${RES[classic:down]:-}" "${RES[kernel:down]:-}")"
fi
echo "target: relay >= 0.9x kernel"
[ -f "$TOP/tests/bench/pump.sh" ] && echo "see pump.sh for packets/s"
[ -z "$FAILED" ] || { echo "openconnect.sh: some measurements failed (see above)" >&2; exit 1; }
exit 0
