#!/bin/bash
# Desktop programs inside the sandbox.
#  - ssh: root-owned configuration files appear unowned inside a user
#    namespace and ssh refuses them ("Bad owner or permissions"); the sandbox
#    must give ssh a configuration it accepts.
#  - X11: an Xvfb of the test user's own on /tmp/.X11-unix/X<N>.  Its
#    abstract socket (@/tmp/.X11-unix/X<N>) belongs to the host's network
#    namespace, so inside only the file system socket can work; the cookie is
#    filed under the hostname, so the sandbox must keep the host's.
#  - $XDG_RUNTIME_DIR: a socket and a D-Bus session bus of the host's in the
#    user's runtime directory, which also holds vpnns's own state.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/env.sh"
require_root
missing=
for c in ssh Xvfb xauth xdpyinfo xprop mcookie socat dbus-daemon dbus-send ss; do
	command -v "$c" >/dev/null || missing="$missing $c"
done
[ -z "$missing" ] || tap_skip_all "not installed:$missing (run tests/install-deps.sh)"
cd /tmp

# Runs "$@" in a private mount namespace whose /etc/ssh is a copy of the
# host's plus a root-owned ssh_config.d drop-in, as Debian and Ubuntu ship.
with_ssh_dropin() {
	unshare -m --propagation private bash -c '
		set -e
		d=$(mktemp -d /tmp/vpnns-ssh.XXXXXX); chmod 755 "$d"
		cp -a /etc/ssh/. "$d"/ 2>/dev/null || true
		mkdir -p "$d/ssh_config.d"
		echo "ServerAliveInterval 42" > "$d/ssh_config.d/10-vpnns-test.conf"
		chown -R root:root "$d"
		mount --bind "$d" /etc/ssh
		rc=0; "$@" || rc=$?
		umount /etc/ssh; rm -rf "$d"
		exit $rc' with_ssh_dropin "$@"
}
check_ssh() {
	local name=$1 mode=$2
	as_user env VPNNS_FORCE_BIND_MOUNTS=$mode "$VPNNS" --name "$name" -- ssh -G example.test 2>&1
	echo "rc=$?"
	echo "host-owner=$(stat -c %U /etc/ssh/ssh_config.d/10-vpnns-test.conf)"
	as_user "$VPNNS" stop --timeout 1 "$name" >/dev/null 2>&1
}
export -f check_ssh as_user; export VPNNS TEST_USER

for mode in 0 1; do
	label=$([ $mode = 1 ] && echo bind || echo overlay)
	S=$(uniq_name "ssh$mode"); track "$S"
	out=$(with_ssh_dropin bash -c "check_ssh $S $mode")
	assert_no_match "[$label] ssh does not reject root-owned config inside" "Bad owner or permissions" "$out"
	assert_match "[$label] ssh reads the configuration" "^rc=0$" "$out"
	assert_match "[$label] ... including the drop-in's settings" "^serveraliveinterval 42$" "$out"
	assert_match "[$label] the host's files stay root's" "^host-owner=root$" "$out"
done

# --- X11 and $XDG_RUNTIME_DIR ----------------------------------------------------
XDG=
XPID= SOCKPID= BUSPID=
MADE_X11_DIR=
cleanup_desktop() {
	cleanup_sandboxes   # first: their state is in $XDG
	end_pid $XPID $SOCKPID $BUSPID
	[ -z "$XDG" ] || runtime_dir_remove "$XDG"
	[ -z "$MADE_X11_DIR" ] || rmdir /tmp/.X11-unix 2>/dev/null
}
trap cleanup_desktop EXIT

# free_display: an X display number nobody uses: no lock file, no socket in
# the file system or the abstract namespace, no TCP port.  Xvfb's own lock
# (created atomically) settles a race with anyone starting one now.
free_display() {
	local n
	for n in $(seq 73 199); do
		if [ -e "/tmp/.X$n-lock" ] || [ -e "/tmp/.X11-unix/X$n" ] ||
		   grep -q "@/tmp/.X11-unix/X$n\$" /proc/net/unix ||
		   [ -n "$(ss -Hltn "sport = :$((6000 + n))")" ]; then
			continue
		fi
		echo "$n"
		return 0
	done
	return 1
}

XDG=$(runtime_dir_new) || { tap_fail "a runtime directory for $TEST_USER"; tap_done; }
export TEST_XDG=$XDG
# as systemd-tmpfiles makes it at boot
[ -d /tmp/.X11-unix ] || { mkdir -m 1777 /tmp/.X11-unix && MADE_X11_DIR=1; }
D=$(free_display) || { tap_fail "a free X display number"; tap_done; }
COOKIE=$(mcookie)
as_user touch "$XDG/Xauthority" "$XDG/Xauthority.wrong"
as_user xauth -q -f "$XDG/Xauthority" add "$(hostname)/unix:$D" MIT-MAGIC-COOKIE-1 "$COOKIE"
as_user xauth -q -f "$XDG/Xauthority.wrong" add "$(hostname)/unix:$D" MIT-MAGIC-COOKIE-1 "$(mcookie)"
XPID=$(START_LOG=$XDG/xvfb.log start_as_user "$XDG/xvfb.pid" \
	Xvfb ":$D" -auth "$XDG/Xauthority" -nolisten tcp -noreset -screen 0 1234x567x24)
x11() { as_user env DISPLAY=":$D" XAUTHORITY="$XDG/Xauthority" "$@"; }
if [ -n "$XPID" ] && wait_until 10 x11 xdpyinfo; then
	tap_ok "Xvfb serves display :$D on the host"
else
	tap_fail "Xvfb serves display :$D on the host" "$(cat "$XDG/xvfb.log" 2>/dev/null)"
fi
assert_eq "... and it is ours (its lock names its pid)" "$XPID" "$(tr -d ' \n' < "/tmp/.X$D-lock" 2>/dev/null)"
assert_match "... listening on the file system socket /tmp/.X11-unix/X$D" " /tmp/.X11-unix/X$D\$" "$(cat /proc/net/unix)"
assert_match "... and on the abstract one, which the host's client can reach" "^reached$" \
	"$(socat -u OPEN:/dev/null "ABSTRACT-CONNECT:/tmp/.X11-unix/X$D" 2>&1 && echo reached)"
assert_eq "... but not on TCP" "" "$(ss -Hltn "sport = :$((6000 + D))")"
assert_match "the host's client is refused with the wrong cookie" "Invalid MIT-MAGIC-COOKIE-1 key" \
	"$(as_user env DISPLAY=":$D" XAUTHORITY="$XDG/Xauthority.wrong" xdpyinfo 2>&1)"

TOKEN=hello-$$-$RANDOM
SOCKPID=$(START_LOG=$XDG/socat.log start_as_user "$XDG/socat.pid" \
	socat "UNIX-LISTEN:$XDG/app.sock,fork" "SYSTEM:echo $TOKEN")
BUSPID=$(START_LOG=$XDG/dbus.log start_as_user "$XDG/dbus.pid" \
	dbus-daemon --session --nofork --address="unix:path=$XDG/bus")
bus_id() { "$@" dbus-send --session --print-reply=literal --dest=org.freedesktop.DBus / org.freedesktop.DBus.GetId; }
assert_true "the host's app socket listens in \$XDG_RUNTIME_DIR" wait_until 10 test -S "$XDG/app.sock"
assert_true "so does the D-Bus session bus" wait_until 10 as_user dbus-send --session --dest=org.freedesktop.DBus / org.freedesktop.DBus.Peer.Ping
HOST_BUS_ID=$(bus_id as_user | tr -d ' ')
assert_match "... and tells the host's client its id" "^[0-9a-f]{32}$" "$HOST_BUS_ID"

# inside NAME CMD...: CMD in sandbox NAME, with the desktop's environment
inside() {
	local name=$1; shift
	as_user env DISPLAY=":$D" XAUTHORITY="$XDG/Xauthority" "$VPNNS" --name "$name" -- "$@"
}

for mode in 0 1; do
	label=$([ $mode = 1 ] && echo bind || echo overlay)
	S=$(uniq_name "x$mode"); track "$S"
	assert_status "[$label] a sandbox starts with its state in \$XDG_RUNTIME_DIR" 0 \
		as_user env VPNNS_FORCE_BIND_MOUNTS=$mode "$VPNNS" up "$S"
	assert_true "[$label] ... in \$XDG_RUNTIME_DIR/vpnns/NAME" test -S "$XDG/vpnns/$S/ctl"
	assert_false "[$label] ... not in the classic place" test -e "$(user_home)/.vpnns-$S"
	assert_eq "[$label] ... with /etc as asked" "$label" "$(vpnns_user status "$S" | awk '/^\/etc:/ {print $2}')"
	# X11
	assert_eq "[$label] the hostname inside is the host's (the cookie is filed under it)" \
		"$(hostname)" "$(inside "$S" hostname)"
	assert_match "[$label] the host's abstract X socket is out of reach inside" "Connection refused" \
		"$(inside "$S" socat -u OPEN:/dev/null "ABSTRACT-CONNECT:/tmp/.X11-unix/X$D" 2>&1)"
	assert_match "[$label] an X client inside reaches the display through its file system socket" \
		"dimensions: +1234x567 pixels" "$(inside "$S" xdpyinfo 2>&1)"
	assert_match "[$label] ... at the depth it was given" "depth of root window: +24 planes" \
		"$(inside "$S" xdpyinfo 2>&1)"
	val=$label-$RANDOM
	inside "$S" xprop -root -f VPNNS_TEST 8s -set VPNNS_TEST "$val" 2>/dev/null
	assert_eq "[$label] a property it sets on the root window is seen outside" \
		"VPNNS_TEST(STRING) = \"$val\"" "$(x11 xprop -root VPNNS_TEST)"
	assert_match "[$label] with the wrong cookie the client inside is refused" "Invalid MIT-MAGIC-COOKIE-1 key" \
		"$(as_user env DISPLAY=":$D" XAUTHORITY="$XDG/Xauthority.wrong" "$VPNNS" --name "$S" -- xdpyinfo 2>&1)"
	# $XDG_RUNTIME_DIR
	assert_eq "[$label] XDG_RUNTIME_DIR is passed in" "$XDG" "$(inside "$S" printenv XDG_RUNTIME_DIR)"
	assert_eq "[$label] a client inside gets the reply of the host's server on \$XDG_RUNTIME_DIR/app.sock" \
		"$TOKEN" "$(inside "$S" sh -c 'socat -u "UNIX-CONNECT:$XDG_RUNTIME_DIR/app.sock" -')"
	assert_eq "[$label] dbus-send inside finds the session bus at \$XDG_RUNTIME_DIR/bus, the host's" \
		"$HOST_BUS_ID" "$(bus_id inside "$S" | tr -d ' ')"
	vpnns_user stop --timeout 1 "$S" >/dev/null 2>&1
	assert_false "[$label] stop removes the sandbox's state" test -e "$XDG/vpnns/$S"
	assert_true "[$label] ... and leaves the host's sockets alone" test -S "$XDG/app.sock" -a -S "$XDG/bus"
done

H=$(uniq_name xhost); track "$H"
as_user "$VPNNS" up --hostname elsewhere.test "$H" >/dev/null 2>&1
assert_eq "with --hostname the sandbox has another hostname" "elsewhere.test" "$(inside "$H" hostname)"
assert_match "... so Xlib finds no cookie for it and the client is refused" \
	"Authorization required, but no authorization protocol specified" "$(inside "$H" xdpyinfo 2>&1)"

tap_done
