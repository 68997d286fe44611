#!/bin/bash
# Privilege boundaries: root's kernel path (openconnect as root, and the
# OpenVPN plug-in through the same code) must never move a tunnel into a
# namespace the target user does not own, whatever sits at the user's
# control socket; and no user is served by another user's holder.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/env.sh"
require_root
FAKE=$TOP/tests/tools/fake-holder
[ -x "$FAKE" ] || tap_skip_all "tests/tools/fake-holder is not built (make check builds it)"
cd /tmp
HOME_T=$(user_home)
DEV=vpnfake$$
tmp=$(mktemp -d /tmp/vpnns-bound.XXXXXX); chmod 755 "$tmp"
mkdir -m 1777 "$tmp/run"   # the impostors write their pid and output here
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	[ ${#pids[@]} -gt 0 ] || true
	ip link del "$DEV" 2>/dev/null
	rm -rf "$tmp" "$HOME_T"/.vpnns-"$(uniq_name f)"*
	cleanup_sandboxes
}
trap cleanup EXIT

# a root-owned tun in the host namespace, as openconnect's would be
ip tuntap add dev "$DEV" mode tun
links() { ip -o link show | awk -F': ' '$2 !~ /^(vp[lo]-|tun[0-9])/ {print $2}' | sort; }  # (labs' and other VPN clients' aside)
host_links=$(links)

# start_fake USER SOCKET [--unshare]: an impostor holder, its pid in pids[]
start_fake() {
	local u=$1 sock=$2; shift 2
	local run=$tmp/run/$u.$RANDOM
	as_user -u "$u" sh -c 'echo $$ > "$0.pid"; exec "$@" > "$0.out" 2>&1' "$run" "$FAKE" "$@" "$sock" &
	disown $!
	wait_until 5 grep -q ready "$run.out"
	pids+=("$(cat "$run.pid")")
}
kernel_attach() {  # kernel_attach NAME: root openconnect's connect event
	env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin reason=connect TUNDEV="$DEV" \
		INTERNAL_IP4_ADDRESS=198.18.5.2 INTERNAL_IP4_NETMASKLEN=24 \
		"$VPNNS" --attach --user "$TEST_USER" --name "$1" 2>&1
}
unmoved() {
	assert_true "$1: the tun is still in the host namespace" ip link show "$DEV"
	assert_eq "$1: the host's links are unchanged" "$host_links" "$(links)"
}

# --- the user's own impostor offers the host's network namespace ---------------
A=$(uniq_name fa)
as_user mkdir -m 700 "$HOME_T/.vpnns-$A"
start_fake "$TEST_USER" "$HOME_T/.vpnns-$A/ctl"
out=$(kernel_attach "$A"); rc=$?
assert_ne "planted socket offering the host namespace: refused" 0 "$rc"
assert_match "... saying whose namespace it was" "refusing to move the tunnel: the namespace offered as $TEST_USER's sandbox belongs to uid 0" "$out"
unmoved "host namespace offered"

# --- another user's impostor, in a user namespace of its own --------------------
B=$(uniq_name fb)
uid2=$(id -u "$TEST_USER2")
mkdir -m 755 "$tmp/other"; chown "$TEST_USER2" "$tmp/other"
start_fake "$TEST_USER2" "$tmp/other/ctl" --unshare
as_user mkdir -m 700 "$HOME_T/.vpnns-$B"
as_user ln -s "$tmp/other/ctl" "$HOME_T/.vpnns-$B/ctl"
out=$(kernel_attach "$B"); rc=$?
assert_ne "a socket leading to another user's holder: refused" 0 "$rc"
assert_match "... by the client's own check of who serves it" "served by uid $uid2, not by you" "$out"
unmoved "another user's holder"
# and the user's own programs are not served by it either
out=$(vpnns_user --name "$B" -- true 2>&1); rc=$?
assert_eq "the user's vpnns -- cmd refuses another user's holder too" 125 "$rc"
assert_match "... with the same message" "served by uid $uid2, not by you" "$out"

# --- a symlinked state directory -------------------------------------------------
C=$(uniq_name fc)
as_user mkdir -m 700 "$tmp/elsewhere" 2>/dev/null || { mkdir -m 700 "$tmp/elsewhere"; chown "$TEST_USER" "$tmp/elsewhere"; }
as_user ln -s "$tmp/elsewhere" "$HOME_T/.vpnns-$C"
out=$(kernel_attach "$C"); rc=$?
assert_ne "a symlinked state directory: refused" 0 "$rc"
assert_match "... with a clear message" "not a directory \(a symlink or another file is in its place\)" "$out"
assert_eq "... nothing was created through the symlink" "" "$(ls -A "$tmp/elsewhere")"
unmoved "symlinked state directory"

# --- a real sandbox of another user's cannot be the target -----------------------------
D=$(uniq_name fd); track "$D" "$TEST_USER2"
vpnns_user -u "$TEST_USER2" up "$D"
home2=$(user_home "$TEST_USER2")
as_user mkdir -m 700 "$HOME_T/.vpnns-$D"
# even if root could be made to look there: the user cannot reach it, and
# the holder serves only its own user
chmod 711 "$home2/.vpnns-$D"; chmod 777 "$home2/.vpnns-$D/ctl"
as_user ln -s "$home2/.vpnns-$D/ctl" "$HOME_T/.vpnns-$D/ctl"
out=$(kernel_attach "$D"); rc=$?
assert_ne "a link to another user's real holder: refused" 0 "$rc"
unmoved "another user's real sandbox"
chmod 700 "$home2/.vpnns-$D"; chmod 600 "$home2/.vpnns-$D/ctl"

tap_done
