#!/bin/bash
# Crash and race recovery: 100 concurrent first starts, vpnns stop racing
# new joins, and an attach process killed with SIGKILL.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/env.sh"
require_root
cd /tmp


# --- 100 concurrent first starts ------------------------------------------------------
C=$(uniq_name cold100); track "$C"
out=$(for i in $(seq 100); do vpnns_user --name "$C" -- readlink /proc/self/ns/net & done; wait)
assert_eq "100 concurrent first starts all ran" 100 "$(echo "$out" | grep -c '^net:')"
assert_eq "... in one network namespace" 1 "$(echo "$out" | sort -u | wc -l)"
assert_eq "... with exactly one holder" 1 "$(holders "$C" | wc -l)"
vpnns_user stop "$C" >/dev/null

# --- stop racing joins ---------------------------------------------------------------------
# Joins keep arriving while `vpnns stop` runs.  Afterwards every joined
# program is either gone or lives in a sandbox whose holder is alive:
# nothing is left running in a dead sandbox.
R=$(uniq_name race); track "$R"
vpnns_user up "$R"
pidfile_dir=$(mktemp -d /tmp/vpnns-race.XXXXXX); chmod 1777 "$pidfile_dir"
stop_job=
for i in $(seq 40); do
	as_user sh -c "exec $VPNNS --name $R -- sh -c 'echo \$\$ > $pidfile_dir/\$\$; exec sleep 30'" >/dev/null 2>&1 &
	disown $!
	if [ "$i" = 10 ]; then
		vpnns_user stop --timeout 1 "$R" > "$pidfile_dir/stop.out" 2>&1 &
		stop_job=$!
	fi
	sleep 0.02
done
wait "$stop_job"
sleep 1   # joins that were under way have reached their sandbox
orphans=0 checked=0
live_nets=$(for h in $(holders "$R"); do readlink "/proc/$h/ns/net"; done | sort -u)
for f in "$pidfile_dir"/[0-9]*; do
	p=$(basename "$f")
	alive "$p" || continue
	checked=$((checked + 1))
	net=$(readlink "/proc/$p/ns/net" 2>/dev/null) || continue
	echo "$live_nets" | grep -qxF "$net" || orphans=$((orphans + 1))
done
assert_match "the racing stop finished" "stopped sandbox '$R'" "$(cat "$pidfile_dir/stop.out")"
assert_eq "no program runs on in a stopped sandbox ($checked still running, all in a live one)" 0 "$orphans"
vpnns_user stop --timeout 1 "$R" >/dev/null 2>&1
rm -rf "$pidfile_dir"

# --- an attach killed with SIGKILL --------------------------------------------------------
PEER=$TOP/tests/tools/tuntap-peer
A=$(uniq_name akill); track "$A"
attach_pid() { vpnns_user status "$A" 2>/dev/null | sed -n 's/.*(attach pid \([0-9]*\)).*/\1/p'; }
offline() { [ "$(vpnns_user --name "$A" -- ip -o link show | awk -F': ' '{print $2}' | tr '\n' ' ')" = "lo " ]; }
# a relay fed by a stand-in VPN client (many pings, so it is still running)
as_user env VPNNS_NAME="$A" "$PEER" --openconnect --local 198.18.6.2 --peer 198.18.6.1 \
	--mtu 1500 --size 1000 --count 100 --interval-ms 100 -- sh -c "exec $VPNNS --attach" >/dev/null 2>&1 &
peer_job=$!
ap=
for i in $(seq 100); do ap=$(attach_pid); [ -n "$ap" ] && break; sleep 0.1; done
assert_match "the relay is attached" "^[0-9]+$" "$ap"
kill -KILL "$ap"
assert_true "a SIGKILLed attach leaves the sandbox offline" wait_until 5 offline
wait "$peer_job" 2>/dev/null
out=$(as_user env VPNNS_NAME="$A" "$PEER" --openconnect --local 198.18.6.2 --peer 198.18.6.1 \
	--mtu 1500 --size 1000 --count 5 -- sh -c "exec $VPNNS --attach" 2>&1); rc=$?
assert_eq "after an attach was SIGKILLed, the next attach succeeds" 0 "$rc"
assert_match "... and carries traffic" "replies=5/5" "$out"
assert_true "... and the sandbox is offline again after it" wait_until 5 offline

tap_done
