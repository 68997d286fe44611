# tests/lib/tap.sh - a small TAP producer and assertion library for the
# integration tests.  Source it, call the assertions, then tap_done.
#
# Every assertion prints one "ok N - ..." or "not ok N - ..." line; a failure
# also prints what was expected and what was seen as "# " diagnostics.  A
# test file ends with tap_done, which prints the plan and exits non-zero when
# anything failed.

TAP_N=0
TAP_FAILED=0

tap_diag() { printf '# %s\n' "$@" | sed 's/^# $/#/' >&2; }

tap_ok() {      # tap_ok DESCRIPTION  (always passes)
	TAP_N=$((TAP_N + 1))
	printf 'ok %d - %s\n' "$TAP_N" "$1"
}

tap_fail() {    # tap_fail DESCRIPTION [DIAGNOSTIC...]
	TAP_N=$((TAP_N + 1))
	TAP_FAILED=$((TAP_FAILED + 1))
	printf 'not ok %d - %s\n' "$TAP_N" "$1"
	shift
	for d in "$@"; do tap_diag "$d"; done
}

# assert_true DESCRIPTION CMD [ARGS...]: CMD must exit 0.
assert_true() {
	local desc=$1; shift
	local out
	if out=$("$@" 2>&1); then tap_ok "$desc"
	else tap_fail "$desc" "command failed (exit $?): $*" "$out"; fi
}

# assert_false DESCRIPTION CMD [ARGS...]: CMD must exit non-zero.
assert_false() {
	local desc=$1; shift
	local out
	if out=$("$@" 2>&1); then tap_fail "$desc" "command unexpectedly succeeded: $*" "$out"
	else tap_ok "$desc"; fi
}

# assert_eq DESCRIPTION EXPECTED ACTUAL
assert_eq() {
	if [ "$2" = "$3" ]; then tap_ok "$1"
	else tap_fail "$1" "expected: $2" "     got: $3"; fi
}

# assert_ne DESCRIPTION UNEXPECTED ACTUAL
assert_ne() {
	if [ "$2" != "$3" ]; then tap_ok "$1"
	else tap_fail "$1" "did not expect: $2"; fi
}

# assert_match DESCRIPTION EXTENDED-REGEX TEXT
assert_match() {
	if printf '%s\n' "$3" | grep -Eq -- "$2"; then tap_ok "$1"
	else tap_fail "$1" "expected to match: $2" "text: $3"; fi
}

# assert_no_match DESCRIPTION EXTENDED-REGEX TEXT
assert_no_match() {
	if printf '%s\n' "$3" | grep -Eq -- "$2"; then tap_fail "$1" "must not match: $2" "text: $3"
	else tap_ok "$1"; fi
}

# assert_status DESCRIPTION EXPECTED-STATUS CMD [ARGS...]
assert_status() {
	local desc=$1 want=$2; shift 2
	local out rc=0
	out=$("$@" 2>&1) || rc=$?
	if [ "$rc" = "$want" ]; then tap_ok "$desc"
	else tap_fail "$desc" "expected exit status $want, got $rc: $*" "$out"; fi
}

# wait_until SECONDS CMD [ARGS...]: poll CMD every 50 ms until it succeeds.
wait_until() {
	local limit=$1; shift
	local end=$(( $(date +%s%N) + limit * 1000000000 ))
	while ! "$@" >/dev/null 2>&1; do
		[ "$(date +%s%N)" -lt "$end" ] || return 1
		sleep 0.05
	done
}

# tap_skip_all REASON: the whole file cannot run here.  In CI (CI=true) a
# skip is a failure: a missing kernel feature or package must not pass.
tap_skip_all() {
	if [ "${CI:-}" = true ]; then
		echo "1..1"
		echo "not ok 1 - cannot run in CI: $1"
		exit 1
	fi
	echo "1..0 # SKIP $1"
	exit 77
}

tap_done() {
	echo "1..$TAP_N"
	[ "$TAP_FAILED" -eq 0 ] || { tap_diag "$TAP_FAILED of $TAP_N failed"; exit 1; }
	exit 0
}
