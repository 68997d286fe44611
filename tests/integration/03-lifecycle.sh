#!/bin/bash
# The sandbox's life: up, list, status, stop; concurrent first starts;
# recovery after the holder is killed; the XDG runtime directory layout.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/env.sh"
require_root
cd /tmp
HOME_T=$(user_home)

# pids of the test user's processes whose command is vpnns (holders)

# --- up, list, status ----------------------------------------------------------
N=$(uniq_name life); track "$N"
assert_status "up creates a sandbox" 0 vpnns_user up "$N"
hp=$(holder_pid "$N")
assert_match "a holder pid is recorded" "^[0-9]+$" "$hp"
assert_true "the holder runs" kill -0 "$hp"
assert_eq "state directory is private (0700)" "700" "$(stat -c %a "$HOME_T/.vpnns-$N")"
assert_true "control socket exists" test -S "$HOME_T/.vpnns-$N/ctl"
assert_eq "control socket is owner-only" "600" "$(stat -c %a "$HOME_T/.vpnns-$N/ctl" | sed 's/^7/6/')"
assert_status "up again is fine" 0 vpnns_user up "$N"
assert_eq "up again keeps the same holder" "$hp" "$(holder_pid "$N")"
ns1=$(vpnns_user --name "$N" -- readlink /proc/self/ns/net)
ns2=$(vpnns_user --name "$N" -- readlink /proc/self/ns/net)
assert_eq "the sandbox persists between runs" "$ns1" "$ns2"

PF=$(mktemp /tmp/vpnns-pid.XXXXXX); chmod 666 "$PF"
app=$(start_inside "$N" "$PF" sleep 300)
list=$(vpnns_user list)
assert_match "list has a header" "^NAME +PID +STATE" "$list"
assert_match "list shows the sandbox, its holder and one process" "^$N +$hp +ready +- +- +1$" "$list"
json=$(vpnns_user list --json)
assert_match "list --json is a JSON array with the sandbox" "\{\"name\":\"$N\",\"pid\":$hp,\"state\":\"ready\",\"tunnel\":null,\"addresses\":\[\],\"processes\":1\}" "$json"
status=$(vpnns_user status "$N")
assert_match "status names the state" "^state: +ready$" "$status"
assert_match "status lists the process inside by pid" "^ +$app +sleep$" "$status"
assert_match "status --json has the pids" "\"pids\":\[\{\"pid\":$app,\"command\":\"sleep\"\}\]" "$(vpnns_user status --json "$N")"
assert_status "status of a missing sandbox fails" 1 vpnns_user status "$(uniq_name nosuch)"
assert_match "and says so" "no sandbox named" "$(vpnns_user status "$(uniq_name nosuch)" 2>&1)"

# --- stop ----------------------------------------------------------------------
out=$(vpnns_user stop "$N")
assert_match "stop says what it ended" "stopped sandbox '$N': ended 1 process: $app \(sleep\)" "$out"
assert_false "the process inside is gone" alive "$app"
assert_false "the holder is gone" alive "$hp"
assert_false "the state directory is gone" test -e "$HOME_T/.vpnns-$N"
assert_status "stop of a missing sandbox fails" 1 vpnns_user stop "$N"

# A process that ignores SIGTERM gets SIGKILL after --timeout.
app=$(start_inside "$N" "$PF" sh -c 'trap "" TERM; while :; do sleep 0.1; done')
t0=$(date +%s%N)
out=$(vpnns_user stop --timeout 1 "$N")
t1=$(date +%s%N)
assert_match "a TERM-ignoring process is reported as needing SIGKILL" "$app \(sh, needed SIGKILL\)" "$out"
assert_true "and stop took about the grace period (< 4 s)" test $(( (t1 - t0) / 1000000 )) -lt 4000
assert_false "the TERM-ignoring process is gone" alive "$app"

# stop reads each process's name before it signals it: a process that obeys
# SIGTERM at once used to be gone before its name was read, and reported
# as "(?)" now and then
bad=
for i in $(seq 15); do
	for j in 1 2 3; do start_inside "$N" "$PF" sleep 300 >/dev/null; done
	out=$(vpnns_user stop "$N")
	[ "$(printf '%s\n' "$out" | grep -o '[0-9]* (sleep)' | wc -l)" = 3 ] || bad="$bad [$out]"
done
assert_eq "15 stops of 3 processes each name all 3" "" "$bad"

# --- concurrent first starts -----------------------------------------------------
C=$(uniq_name conc); track "$C"
assert_eq "no holder for the name before" 0 "$(holders "$C" | wc -l)"
out=$(for i in $(seq 20); do vpnns_user --name "$C" -- readlink /proc/self/ns/net & done; wait)
assert_eq "20 concurrent first starts all ran" 20 "$(echo "$out" | grep -c '^net:')"
assert_eq "... in one network namespace" 1 "$(echo "$out" | sort -u | wc -l)"
assert_eq "... served by exactly one holder" 1 "$(holders "$C" | wc -l)"
vpnns_user stop "$C" >/dev/null

# --- holder killed with SIGKILL --------------------------------------------------
K=$(uniq_name kill); track "$K"
vpnns_user up "$K"
hp=$(holder_pid "$K")
orphan=$(start_inside "$K" "$PF" sleep 300)
kill -KILL "$hp"
wait_until 5 eval '! alive '"$hp"
assert_match "list shows a dead holder as stale" "^$K +$hp +stale " "$(vpnns_user list)"
err=$(vpnns_user --name "$K" -- true 2>&1)
assert_status "the next run recovers with a fresh sandbox" 0 vpnns_user --name "$K" -- true
assert_match "and explains what still runs in the old one" "died; 1 processes still run in the old sandbox.*$orphan \(sleep\)" "$err"
hp2=$(holder_pid "$K")
assert_ne "a new holder serves the name" "$hp" "$hp2"
assert_true "the new holder runs" alive "$hp2"
assert_true "the orphan still runs, in the old sandbox" alive "$orphan"
out=$(vpnns_user stop "$K")
assert_match "stop ends the orphan of the old sandbox too" "stopped sandbox '$K': ended 1 process: $orphan \(sleep\)" "$out"
assert_false "the orphan is gone" alive "$orphan"

# A dead holder and no new run: stop cleans up, ending the orphans.
D=$(uniq_name dead); track "$D"
vpnns_user up "$D"; hp=$(holder_pid "$D")
orphan=$(start_inside "$D" "$PF" sleep 300)
kill -KILL "$hp"; wait_until 5 eval '! alive '"$hp"
out=$(vpnns_user stop "$D")
assert_match "stop of a dead sandbox ends what still ran in it" "holder was already gone.*ended 1 process: $orphan \(sleep\)" "$out"
assert_false "the orphan is gone" alive "$orphan"
assert_false "no state left" test -e "$HOME_T/.vpnns-$D"

# The same at once after the SIGKILL, 30 times: the dying holder's socket
# outlives the zombie its main thread already is, for as long as its other
# thread takes to go.  Whatever reaches it then must see a dead holder:
# list shows it stale, a run starts a fresh sandbox, stop cleans up.
bad=
for i in $(seq 30); do
	vpnns_user up "$D"; hp=$(holder_pid "$D")
	orphan=$(start_inside "$D" "$PF" sleep 300)
	kill -KILL "$hp"; wait_until 5 eval '! alive '"$hp"
	case $((i % 3)) in
	0) out=$(vpnns_user list 2>&1)
	   echo "$out" | grep -Eq "^$D +$hp +stale " || bad="$bad [$i: list] $out" ;;
	1) out=$(vpnns_user --name "$D" -- true 2>&1) || bad="$bad [$i: run] $out" ;;
	esac
	out=$(vpnns_user stop "$D" 2>&1)
	echo "$out" | grep -q "ended 1 process: $orphan " || bad="$bad [$i: stop] $out"
	alive "$orphan" && { bad="$bad [$i] orphan $orphan still runs"; kill -KILL "$orphan"; }
done
assert_eq "30 times right after a holder SIGKILL: list shows it stale, a run recovers, stop ends the orphan" "" "$bad"

# --- the XDG runtime directory ---------------------------------------------------
xdg=$(runtime_dir_new)
X=$(uniq_name xdg)
export TEST_XDG=$xdg
assert_status "runs with XDG_RUNTIME_DIR on tmpfs" 0 vpnns_user --name "$X" -- true
assert_true "state lives in \$XDG_RUNTIME_DIR/vpnns/NAME" test -S "$xdg/vpnns/$X/ctl"
assert_false "nothing in the classic place" test -e "$HOME_T/.vpnns-$X"
assert_eq "XDG sandbox uses the overlay" "overlay" "$(vpnns_user status "$X" | awk '/^\/etc:/ {print $2}')"
vpnns_user stop "$X" >/dev/null
assert_eq "stop leaves the runtime directory empty" "" "$(ls -A "$xdg")"
unset TEST_XDG
runtime_dir_remove "$xdg"

# --state-dir
sd=$(mktemp -d /tmp/vpnns-sd.XXXXXX); chown "$TEST_USER" "$sd"; chmod 700 "$sd"
assert_status "--state-dir is honoured" 0 vpnns_user --state-dir "$sd" --name sd -- true
assert_true "state is under --state-dir" test -S "$sd/sd/ctl"
vpnns_user --state-dir "$sd" stop sd >/dev/null
assert_eq "--state-dir left empty after stop" "" "$(ls -A "$sd" 2>/dev/null)"
rm -rf "$sd" "$PF"

tap_done
