#!/bin/bash
# tests/fuzz/run.sh - build the libFuzzer targets with clang (ASan + UBSan)
# and run each for FUZZ_SECONDS (default 60), seeded from the environments
# recorded in tests/lab/fixtures and a few protocol messages.  A crash
# leaves its input in tests/fuzz/findings/ and fails the run; turn each
# finding into a regression test (tests/unit) once fixed.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
secs=${FUZZ_SECONDS:-60}
build=$top/tests/fuzz/build
mkdir -p "$build" "$top/tests/fuzz/findings"
command -v clang >/dev/null || { echo "fuzz: clang is not installed (apt-get install clang libclang-rt-14-dev)"; exit 1; }

flags="-g -O1 -std=gnu11 -D_GNU_SOURCE -DG_LOG_DOMAIN=\"vpnns\" -DVPNNS_VERSION=\"fuzz\"
	-DGLIB_VERSION_MIN_REQUIRED=GLIB_VERSION_2_74 -fsanitize=fuzzer,address,undefined
	-fno-sanitize-recover=undefined -I$top/src $(pkg-config --cflags glib-2.0 libnl-3.0 libnl-route-3.0 libcap)"
libs="$(pkg-config --libs glib-2.0 libnl-3.0 libnl-route-3.0 libcap)"
srcs=$(ls "$top"/src/*.c | grep -v '/vpnns\.c$')

seed() {  # seed TARGET: a corpus from the recorded environments
	local c=$build/corpus-$1
	mkdir -p "$c"
	case $1 in
	ocenv) for f in "$top"/tests/lab/fixtures/openconnect-*.env0; do cp "$f" "$c/"; done ;;
	ovpnenv) for f in "$top"/tests/lab/fixtures/openvpn-*.env0; do cp "$f" "$c/"; done ;;
	ctl) printf '\001\000\001\000\000\000\000\000' > "$c/join"
	     printf '\001\000\002\000\000\000\000\000' > "$c/status" ;;
	plugproto) printf 'VPOV\000\000\000\000\001\000\000\000\006\000\000\000dev=t\000' > "$c/up" ;;
	offload)  # two segments of one TCP stream (the harness fixes their checksums),
	          # and a TSO frame of three segments
	     tcp() { printf '\x00\x30\x45\x00\x00\x30\x00%s\x40\x00\x40\x06\x00\x00\xc6\x12\x00\x01\xc6\x12\x00\x02' "$1"
	             printf '\x14\x51\x9c\x40\x00\x00\x03%s\x00\x00\x00\x63\x50\x10\x01\xf5\x00\x00\x00\x00abcdefgh' "$2"; }
	     { printf '\x02'; tcp '\x01' '\xe8'; tcp '\x02' '\xf0'; } > "$c/stream"
	     { printf '\x01\x01\x01\x28\x00\x08\x00\x14\x00\x10\x00'
	       printf '\x45\x00\x00\x40\x00\x01\x40\x00\x40\x06\x00\x00\xc6\x12\x00\x01\xc6\x12\x00\x02'
	       printf '\x14\x51\x9c\x40\x00\x00\x03\xe8\x00\x00\x00\x63\x50\x19\x01\xf5\x00\x00\x00\x00'
	       printf 'abcdefghijklmnopqrstuvwx'; } > "$c/tso" ;;
	esac
	echo "$c"
}

status=0
for t in ocenv ovpnenv ctl plugproto offload; do
	bin=$build/fuzz-$t
	# shellcheck disable=SC2086
	clang $flags -o "$bin" "$top/tests/fuzz/fuzz-$t.c" $srcs $libs
	corpus=$(seed "$t")
	echo "=== fuzz-$t: ${secs}s"
	if ! ASAN_OPTIONS=detect_leaks=1 "$bin" -max_total_time="$secs" -max_len=65536 \
		-artifact_prefix="$top/tests/fuzz/findings/$t-" -print_final_stats=1 "$corpus" \
		> "$build/$t.log" 2>&1; then
		echo "fuzz-$t: FOUND A CRASH (input in tests/fuzz/findings/)"; tail -30 "$build/$t.log"
		status=1
	fi
	grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$build/$t.log" | sed "s/^/fuzz-$t: /"
done
exit $status
