#!/bin/bash
# tests/run-tap.sh - run TAP test programs, show their output, and print one
# summary line "N passed, N failed" (counting test programs' assertions).
# A program exiting 77 is a skip; with CI=true a skip counts as a failure.
pass=0 fail=0 skip=0 bad=()
for t in "$@"; do
	echo "=== $t"
	out=$(mktemp)
	case "$t" in
	*.sh) bash "$t" 2>&1 | tee "$out"; rc=${PIPESTATUS[0]} ;;
	*)    "$t" 2>&1 | tee "$out"; rc=${PIPESTATUS[0]} ;;
	esac
	p=$(grep -c '^ok ' "$out"); f=$(grep -c '^not ok ' "$out")
	pass=$((pass + p)); fail=$((fail + f))
	if [ "$rc" = 77 ]; then
		skip=$((skip + 1))
		[ "${CI:-}" = true ] && { fail=$((fail + 1)); bad+=("$t (skipped in CI)"); }
	elif [ "$rc" != 0 ] || [ "$f" != 0 ]; then
		[ "$f" = 0 ] && fail=$((fail + 1))
		bad+=("$t (exit $rc)")
	fi
	rm -f "$out"
done
for b in "${bad[@]}"; do echo "FAILED: $b"; done
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]
