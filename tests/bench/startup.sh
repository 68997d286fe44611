#!/bin/bash
# tests/bench/startup.sh - how fast `vpnns -- true` is, and how small the
# holder stays, as ratios against references measured in the same run:
#   warm: joining a running sandbox, against `unshare -Urn true`
#   cold: creating a sandbox, against the same reference
#   the classic vpnns (Debian's ocproxy package), warm and cold
#   holder RSS after start and after BENCH_JOINS joins (default 10000)
# Run as root (make bench); everything runs as the unprivileged test user.
set -eu
. "$(dirname "$0")/../lib/env.sh"
RUNS=${BENCH_RUNS:-200}
JOINS=${BENCH_JOINS:-10000}
CLASSIC=${CLASSIC_VPNNS:-/usr/bin/vpnns}
N=bench$$
cd /tmp
out=$(mktemp -d /tmp/vpnns-bench.XXXXXX); chmod 777 "$out"
trap 'rm -rf "$out"; as_user "$VPNNS" stop "$N" >/dev/null 2>&1 || true' EXIT

median_ms() { # hyperfine csv -> median of row $2, in ms
	awk -F, -v row="$2" 'NR == row + 1 { printf "%.2f", $4 * 1000 }' "$1"
}
hf() { as_user hyperfine -N --style none --export-csv "$out/$1.csv" "${@:2}" >/dev/null; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

echo "# vpnns startup benchmark ($RUNS runs each, medians; $(nproc) CPUs)"
as_user "$VPNNS" up "$N"
hf warm --warmup 10 --runs "$RUNS" "$VPNNS --name $N -- true" "unshare -Urn true"
warm=$(median_ms "$out/warm.csv" 1); ref=$(median_ms "$out/warm.csv" 2)
hf cold --runs $((RUNS / 4)) --prepare "$VPNNS stop $N" "$VPNNS --name $N -- true"
cold=$(median_ms "$out/cold.csv" 1)

printf '%-40s %8s ms\n' "unshare -Urn true (reference)" "$ref"
printf '%-40s %8s ms  %sx reference  (target <= 2x)\n' "vpnns -- true, warm" "$warm" "$(ratio "$warm" "$ref")"
printf '%-40s %8s ms  %sx reference  (target <= 50 ms)\n' "vpnns -- true, cold (new sandbox)" "$cold" "$(ratio "$cold" "$ref")"

if [ -x "$CLASSIC" ]; then
	C=cbench$$
	before=$(pgrep -u "$TEST_USER" | sort)
	as_user "$CLASSIC" --name "$C" -- true >/dev/null 2>&1 || true
	hf classic --runs 5 "$CLASSIC --name $C -- true"
	cwarm=$(median_ms "$out/classic.csv" 1)
	printf '%-40s %8s ms  vpnns warm is %sx faster\n' "classic vpnns -- true (ocproxy)" "$cwarm" "$(ratio "$cwarm" "$warm")"
	# the classic vpnns leaves a helper process behind: end what this
	# benchmark started, by pid
	for p in $(comm -13 <(echo "$before") <(pgrep -u "$TEST_USER" | sort)); do
		kill "$p" 2>/dev/null || true
	done
	rm -rf "$(user_home)/.vpnns-$C"
else
	echo "classic vpnns not installed ($CLASSIC): apt-get install ocproxy"
fi

as_user "$VPNNS" stop "$N" >/dev/null
as_user "$VPNNS" up "$N"
hp=$(holder_pid "$N")
rss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
r0=$(rss "$hp")
as_user sh -c "i=0; while [ \$i -lt $JOINS ]; do $VPNNS --name $N -- true || exit 1; i=\$((i + 1)); done"
r1=$(rss "$hp")
printf '%-40s %8s KiB  (target <= 4096)\n' "holder RSS after start" "$r0"
printf '%-40s %8s KiB  growth %s KiB over %s joins\n' "holder RSS after $JOINS joins" "$r1" "$((r1 - r0))" "$JOINS"
