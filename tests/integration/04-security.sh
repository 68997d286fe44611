#!/bin/bash
# Hostile input and other users: bad names create nothing, another user (and
# root) is not served by someone's holder, unsafe state directories are
# refused, and a system without user namespaces gets an error naming the fix.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/env.sh"
require_root
cd /tmp
HOME_T=$(user_home)

snapshot() { ls -A "$HOME_T"; ls -A /tmp | grep -i vpnns || true; }

# --- hostile names -------------------------------------------------------------
long=$(printf 'x%.0s' $(seq 300))
before=$(snapshot)
for bad in "../x" "a/b" "$long" "" ".hidden" ".." "a b" '$(touch /tmp/pwned)'; do
	label=${bad:0:20}
	assert_status "name '$label' rejected (run)" 2 vpnns_user --name "$bad" -- true
	assert_status "name '$label' rejected (stop)" 2 vpnns_user stop "$bad"
	err=$(vpnns_user --name "$bad" -- true 2>&1)
	assert_match "name '$label': the error says why" "^vpnns: invalid sandbox name" "$err"
done
assert_eq "hostile names created nothing" "$before" "$(snapshot)"
assert_false "no command substitution happened" test -e /tmp/pwned

# --- another user is not served --------------------------------------------------
N=$(uniq_name sec); track "$N"
vpnns_user up "$N"
ctl=$HOME_T/.vpnns-$N/ctl
status_req() { printf '\001\000\002\000\000\000\000\000'; }   # v1, STATUS, no payload
reply_of() { socat -t2 - "UNIX-CONNECT:$ctl,type=5" 2>/dev/null | od -An -tx1 -N4 | tr -d ' \n'; }
export -f status_req; export ctl
assert_eq "the owner is served (reply header v1, ok)" "01006400" \
	"$(as_user bash -c "$(declare -f status_req reply_of); ctl=$ctl; status_req | reply_of")"
assert_false "another user cannot even reach the socket (0700 dir)" \
	as_user -u "$TEST_USER2" socat -u OPEN:/dev/null "UNIX-CONNECT:$ctl,type=5"
assert_eq "root is not served either (unmapped peer)" "" "$(status_req | reply_of)"
# Simulate a careless chmod: the holder still refuses other users by SO_PEERCRED.
chmod 711 "$HOME_T/.vpnns-$N"; chmod 777 "$ctl"
assert_eq "another user is refused by the holder itself" "" \
	"$(as_user -u "$TEST_USER2" bash -c "$(declare -f status_req reply_of); ctl=$ctl; status_req | reply_of")"
chmod 700 "$HOME_T/.vpnns-$N"; chmod 600 "$ctl"
assert_match "the holder logged the refusals" "refused a control connection from pid [0-9]+ uid" \
	"$(cat "$HOME_T/.vpnns-$N/log")"
assert_status "and keeps serving its user" 0 vpnns_user --name "$N" -- true

# A malformed request gets an error reply; the holder lives on.
bad=$(as_user bash -c "printf '\001\000\002\000\377\000\000\000' | socat -t2 - UNIX-CONNECT:$ctl,type=5 | od -An -tx1 -N4 | tr -d ' \n'")
assert_eq "a malformed request gets an error reply" "01006500" "$bad"
bad=$(as_user bash -c "printf '\011\000\001\000\000\000\000\000' | socat -t2 - UNIX-CONNECT:$ctl,type=5 | od -An -tx1 -N4 | tr -d ' \n'")
assert_eq "a wrong protocol version gets an error reply" "01006500" "$bad"
assert_status "the holder still serves after bad requests" 0 vpnns_user --name "$N" -- true
vpnns_user stop "$N" >/dev/null

# --- unsafe state directories ----------------------------------------------------
P=$(uniq_name planted)
mkdir -p /tmp/vpnns-elsewhere-$$; chown "$TEST_USER" /tmp/vpnns-elsewhere-$$
ln -s /tmp/vpnns-elsewhere-$$ "$HOME_T/.vpnns-$P"; chown -h "$TEST_USER2" "$HOME_T/.vpnns-$P"
err=$(vpnns_user --name "$P" -- true 2>&1); rc=$?
assert_eq "a symlinked state directory is refused" 125 "$rc"
assert_match "... with a message saying what to do" "not a directory .*refusing to use it: remove it" "$err"
assert_eq "... and nothing was written through it" "" "$(ls -A /tmp/vpnns-elsewhere-$$)"
rm -f "$HOME_T/.vpnns-$P"; rm -rf /tmp/vpnns-elsewhere-$$

mkdir -m 700 "$HOME_T/.vpnns-$P"; chown "$TEST_USER2" "$HOME_T/.vpnns-$P"
err=$(vpnns_user --name "$P" -- true 2>&1); rc=$?
assert_eq "a state directory owned by someone else is refused" 125 "$rc"
assert_match "... naming the owner" "belongs to uid $(id -u "$TEST_USER2"), not to you" "$err"
rm -rf "$HOME_T/.vpnns-$P"

mkdir -m 755 "$HOME_T/.vpnns-$P"; chown "$TEST_USER" "$HOME_T/.vpnns-$P"
err=$(vpnns_user --name "$P" -- true 2>&1); rc=$?
assert_eq "a state directory open to others is refused" 125 "$rc"
assert_match "... saying how to fix it" "chmod 700" "$err"
rm -rf "$HOME_T/.vpnns-$P"

long_dir=/tmp/$(printf 'd%.0s' $(seq 100))
err=$(vpnns_user --state-dir "$long_dir" -- true 2>&1); rc=$?
assert_eq "an over-long socket path is refused" 125 "$rc"
assert_match "... pointing at --state-dir" "too long|allow at most .*--state-dir" "$err"
assert_false "... creating nothing" test -e "$long_dir"

# --- a classic vpnns (ocproxy) directory of the same name ------------------------
if [ -x /usr/bin/vpnns ]; then
	CL=$(uniq_name classic)
	before=$(pgrep -u "$TEST_USER" | sort)
	as_user /usr/bin/vpnns --name "$CL" -- true >/dev/null 2>&1
	assert_true "the classic vpnns made ~/.vpnns-$CL" test -S "$HOME_T/.vpnns-$CL/watcher"
	list=$(vpnns_user list); rc=$?
	assert_eq "list is not upset by a classic vpnns directory" 0 "$rc"
	assert_no_match "... and does not show it" "^$CL " "$list"
	err=$(vpnns_user --name "$CL" -- true 2>&1)
	assert_match "using its name explains whose directory it is" "belongs to the classic vpnns \(from the ocproxy package\)" "$err"
	for p in $(comm -13 <(echo "$before") <(pgrep -u "$TEST_USER" | sort)); do kill "$p" 2>/dev/null; done
	rm -rf "$HOME_T/.vpnns-$CL"
else
	tap_fail "the classic vpnns (ocproxy) is installed" "run tests/install-deps.sh"
fi

# --- user namespaces disabled ------------------------------------------------------
# user.max_user_namespaces is per user namespace: set it to 0 in a throwaway
# one, so the host's setting is never touched.
sd=$(mktemp -d /tmp/vpnns-nouserns.XXXXXX)
err=$(unshare -Ur sh -c "echo 0 > /proc/sys/user/max_user_namespaces && $VPNNS --state-dir $sd -- true" 2>&1); rc=$?
assert_eq "no user namespaces: exit 125" 125 "$rc"
assert_match "no user namespaces: the error names the sysctl to change" \
	"user namespaces are disabled \(user.max_user_namespaces = 0\): run 'sudo sysctl user.max_user_namespaces=" "$err"
assert_eq "no user namespaces: nothing left behind" "" "$(ls -A "$sd")"
rm -rf "$sd"

tap_done
