# tests/lib/env.sh - the environment every integration test shares: where the
# built binaries are, and the dedicated non-root test user.
#
# Integration tests run as root (CI runs as root) and use as_user to run the
# product as the unprivileged test user, the way a person would.

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VPNNS=${VPNNS:-$TOP/vpnns}
TEST_USER=${VPNNS_TEST_USER:-vpnnstest}
TEST_USER2=${VPNNS_TEST_USER2:-vpnnstest2}

# as_user CMD [ARGS...]: run a command as the test user with a clean login
# environment (HOME set, no XDG_RUNTIME_DIR unless the caller exports
# TEST_XDG).
as_user() {
	local u=$TEST_USER
	if [ "${1:-}" = "-u" ]; then u=$2; shift 2; fi
	local home
	home=$(getent passwd "$u" | cut -d: -f6)
	setpriv --reuid="$u" --regid="$u" --init-groups --reset-env -- \
		env HOME="$home" USER="$u" LOGNAME="$u" SHELL=/bin/sh \
		PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin \
		${TEST_XDG:+XDG_RUNTIME_DIR=$TEST_XDG} \
		${VPNNS_DEBUG:+G_MESSAGES_DEBUG=vpnns} "$@"
}

require_root() {
	[ "$(id -u)" = 0 ] || tap_skip_all "integration tests run as root (they create a test user); run 'sudo make check'"
}

# vpnns_user [-u USER] ARGS...: run the product as the test user.
vpnns_user() {
	if [ "${1:-}" = "-u" ]; then
		local u=$2; shift 2
		as_user -u "$u" "$VPNNS" "$@"
	else
		as_user "$VPNNS" "$@"
	fi
}

# user_home [USER]
user_home() { getent passwd "${1:-$TEST_USER}" | cut -d: -f6; }

# holder_pid NAME [USER]: the pid recorded in the classic state directory.
holder_pid() {
	sed -n 's/^pid=//p' "$(user_home "${2:-$TEST_USER}")/.vpnns-$1/pid" 2>/dev/null
}

# Sandboxes this test started, stopped on exit (by name, as their user, with
# the runtime directory they were tracked under: their state is there).
TEST_SANDBOXES=()
cleanup_sandboxes() {
	local s rest
	for s in "${TEST_SANDBOXES[@]}"; do
		rest=${s#*:}
		TEST_XDG=${rest%:*} vpnns_user -u "${s%%:*}" stop --timeout 1 "${rest##*:}" \
			>/dev/null 2>&1 || true
	done
}
# track NAME [USER]: remember to stop sandbox NAME at exit.
track() { TEST_SANDBOXES+=("${2:-$TEST_USER}:${TEST_XDG:-}:$1"); }
trap cleanup_sandboxes EXIT

# alive PID: the process exists and is not a zombie waiting for its parent.
alive() {
	local st
	st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# holders NAME: the live holders of sandbox NAME (a holder is forked, not
# exec'd, so it keeps the command line of the vpnns that started it)
holders() {
	local p
	for p in $(pgrep -u "$TEST_USER" -x vpnns); do
		alive "$p" && tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | grep -q -- "--name $1 " && echo "$p"
	done
}

# start_as_user [--inside NAME] PIDFILE CMD...: start CMD in the background
# as the test user, on the host or in sandbox NAME; its own pid (not a
# wrapper's) lands in PIDFILE and is printed.  Its output goes to $START_LOG
# (default: nowhere).
start_as_user() {
	local pre=() pidfile
	if [ "$1" = --inside ]; then pre=("$VPNNS" --name "$2" --); shift 2; fi
	pidfile=$1; shift
	rm -f "$pidfile"
	as_user "${pre[@]}" sh -c 'echo $$ > "$0"; exec "$@"' "$pidfile" "$@" \
		>"${START_LOG:-/dev/null}" 2>&1 &
	wait_until 10 test -s "$pidfile" && cat "$pidfile"
}

# start_inside NAME PIDFILE CMD...: start_as_user in sandbox NAME.
start_inside() { start_as_user --inside "$@"; }

# end_pid PID...: end processes this test started, by pid: SIGTERM, then
# SIGKILL after 5 seconds; returns once they are gone.
end_pid() {
	local p
	for p in "$@"; do
		alive "$p" || continue
		kill -TERM "$p" 2>/dev/null
		wait_until 5 eval '! alive '"$p" || kill -KILL "$p" 2>/dev/null
		wait_until 5 eval '! alive '"$p"
	done
	return 0
}

# runtime_dir_new: a runtime directory for the test user like the one
# logind makes (a tmpfs of the user's own, mode 0700); prints its path.
runtime_dir_new() {
	local uid gid d
	uid=$(id -u "$TEST_USER") gid=$(id -g "$TEST_USER")
	d=$(mktemp -d /tmp/vpnns-xdg.XXXXXX) || return 1
	mount -t tmpfs -o "uid=$uid,gid=$gid,mode=0700,size=16m" vpnns-xdg "$d" && echo "$d"
}
# runtime_dir_remove DIR
runtime_dir_remove() { umount "$1" && rmdir "$1"; }

# A name unique to this test run, so runs never collide.
uniq_name() { echo "t$$-$1"; }
