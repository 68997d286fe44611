#!/bin/bash
# tests/bench/pump.sh - packet pump benchmark of `--script-tun` relays, no VPN
# and no crypto: tests/bench/pump.c plays openconnect (socketpair in $VPNFD,
# INTERNAL_IP4_* variables, SIGHUP to end) and pushes IPv4/UDP packets of
# one size (== the tunnel MTU) through the relay in both directions:
#   inbound   VPN -> sandbox: counted by the sandbox kernel (UDP NoPorts,
#             datagrams from the tun's byte count, since a relay with GRO
#             hands the sandbox UDP superpackets), loss = what the relay took
#             but did not deliver intact
#   outbound  sandbox -> VPN: a UDP flood inside the sandbox, counted intact
#             on the socketpair; closed loop (at most 256 packets in flight,
#             acknowledged by the pump), so loss = what the relay dropped.
#             The flood sends with UDP_SEGMENT (GSO), as QUIC stacks such as
#             Firefox's do; PUMP_DRIVE_ARGS=--no-gso sends one datagram a call
# for the classic vpnns (Debian's ocproxy) and ours (when it has --attach),
# then prints ours/classic packets/s per size and direction.
#
# Run as root (everything runs as the unprivileged test user):
#   bash tests/bench/pump.sh
# Environment: PUMP_SIZES (default "1400 9000"; up to 65535),
#   PUMP_SECONDS (per direction, default 3), PUMP_RELAYS (default
#   "classic ours"), CLASSIC_VPNNS (default /usr/bin/vpnns), VPNNS (ours,
#   default the build tree's ./vpnns), PUMP_VERBOSE=1 (raw pump output),
#   PUMP_KEEP=1 (keep the work directory with the relay logs),
#   PUMP_DRIVE_ARGS (more `pump drive` options, e.g. --open-loop).
# Traffic exists only inside the sandbox (192.0.2.0/24, TEST-NET-1, on its
# tun) and on the socketpair; nothing is sent to any real network.
set -eu
. "$(dirname "$0")/../lib/env.sh"
trap - EXIT
HERE=$(cd "$(dirname "$0")" && pwd)
SIZES=${PUMP_SIZES:-1400 9000}
SECS=${PUMP_SECONDS:-3}
RELAYS=${PUMP_RELAYS:-classic ours}
CLASSIC=${CLASSIC_VPNNS:-/usr/bin/vpnns}
OURS=$VPNNS
TAG=pump$$

if [ "$(id -u)" != 0 ]; then
	echo "pump.sh: run as root (the relays run as the test user $TEST_USER)" >&2
	exit 1
fi
getent passwd "$TEST_USER" >/dev/null || {
	echo "pump.sh: no test user $TEST_USER (run tests/setup.sh)" >&2; exit 1; }
cd /tmp

work=$(mktemp -d /tmp/vpnns-pump.XXXXXX)
chmod 755 "$work"
mkdir "$work/log"
chown "$TEST_USER" "$work/log"
cc -std=c11 -O2 -Wall -Wextra -o "$work/pump" "$HERE/pump.c"
chmod 755 "$work/pump"

home=$(user_home)
before=$(pgrep -u "$TEST_USER" | sort)
started=()        # "label name" of every relay instance

# The classic vpnns has no stop: end, by pid, what this run started (new
# processes of the test user whose command line names one of our sandboxes),
# and remove its state directory.
cleanup_classic() {
	local name=$1 p
	for p in $(comm -13 <(echo "$before") <(pgrep -u "$TEST_USER" | sort)); do
		tr '\0' ' ' 2>/dev/null < "/proc/$p/cmdline" | grep -q -- "--name $name " || continue
		kill "$p" 2>/dev/null || true
	done
	sleep 0.1
	for p in $(comm -13 <(echo "$before") <(pgrep -u "$TEST_USER" | sort)); do
		tr '\0' ' ' 2>/dev/null < "/proc/$p/cmdline" | grep -q -- "--name $name " || continue
		kill -9 "$p" 2>/dev/null || true
	done
	rm -rf "${home:?}/.vpnns-$name"
}
cleanup_one() {
	case $1 in
	classic) cleanup_classic "$2" ;;
	ours) as_user "$OURS" stop --timeout 1 "$2" >/dev/null 2>&1 || true ;;
	esac
}
cleanup() {
	local s
	for s in "${started[@]}"; do
		cleanup_one ${s}
	done
	[ -n "${PUMP_KEEP:-}" ] && echo "# work directory kept: $work" || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

declare -A BIN
[ -x "$CLASSIC" ] && BIN[classic]=$CLASSIC
if [ -x "$OURS" ] && as_user "$OURS" --help 2>&1 | grep -q -- --attach; then
	BIN[ours]=$OURS
fi

declare -A PPS           # label:size:dir -> pkt/s
field() { # field KEY LINE
	local v
	v=$(printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p" | head -1)
	echo "${v:-?}"
}

echo "# vpnns relay packet pump: ${SECS} s per direction, no crypto, $(nproc) CPUs"
echo "# (inbound: delivered intact inside the sandbox; outbound: received intact on"
echo "#  VPNFD from a closed-loop flood in the sandbox; loss = 1 - intact/sent)"
printf '%-8s %6s %-9s %10s %8s %7s  %s\n' relay size direction "pkt/s" "Gbit/s" loss notes
for label in $RELAYS; do
	bin=${BIN[$label]:-}
	if [ -z "$bin" ]; then
		case $label in
		classic) echo "# classic vpnns not installed ($CLASSIC): apt-get install ocproxy" ;;
		ours) echo "# ours ($OURS) has no --attach yet: skipped" ;;
		*) echo "# unknown relay '$label' (want classic or ours)" ;;
		esac
		continue
	fi
	for size in $SIZES; do
		name=$TAG-$label-$size
		started+=("$label $name")
		log=$work/log/$label-$size.log
		rc=0
		out=$(as_user timeout -k 5 $((SECS * 2 + 70)) \
			"$work/pump" drive --size "$size" --seconds "$SECS" --show-config ${PUMP_DRIVE_ARGS:-} \
			--relay-log "$log" --inside "$bin --name $name --" \
			-- "$bin --attach --name $name") || rc=$?
		printf '%s\n' "$out" > "$work/log/$label-$size.out"
		[ -n "${PUMP_VERBOSE:-}" ] && printf '%s\n' "$out" | sed 's/^/#   /'
		ready=$(printf '%s\n' "$out" | sed -n 's/^ready //p')
		if [ "$(field ok "$ready")" != 1 ]; then
			printf '%-8s %6s %-9s %10s %8s %7s  %s\n' "$label" "$size" "-" "-" "-" "-" \
				"relay not ready ($(field reason "$ready"), rc $rc): see $log"
			cleanup_one "$label" "$name"
			continue
		fi
		for dir in inbound outbound; do
			l=$(printf '%s\n' "$out" | grep "^$dir " || true)
			pps=$(field pps "$l"); gbps=$(field gbps "$l"); loss=$(field loss "$l")
			notes=
			if [ "$dir" = inbound ]; then
				t=$(field ip_truncated "$l"); [ "$t" != 0 ] && [ "$t" != "?" ] && notes+="truncated=$t "
				t=$(field udp_csum_err "$l"); [ "$t" != 0 ] && [ "$t" != "?" ] && notes+="corrupt=$t "
				t=$(field queued_at_end "$l"); [ "$t" != 0 ] && [ "$t" != "?" ] && notes+="stalled(queued=$t) "
			else
				t=$(field other_big "$l"); [ "$t" != 0 ] && [ "$t" != "?" ] && notes+="wrong_len=$t(len $(field other_len "$l")) "
				t=$(field corrupt "$l"); [ "$t" != 0 ] && [ "$t" != "?" ] && notes+="corrupt=$t "
				t=$(field tun_tx_dropped "$l"); [ "$t" != 0 ] && [ "$t" != "?" ] && notes+="tun_drop=$t "
				t=$(field flood "$l"); [ "$t" != closed ] && notes+="flood=$t "
			fi
			t=$(field error "$l"); [ "$t" != "?" ] && notes+="error=$t "
			[ -z "$l" ] && notes+="no result (rc $rc) "
			PPS[$label:$size:$dir]=$pps
			printf '%-8s %6s %-9s %10s %8s %7s  %s\n' "$label" "$size" "$dir" "$pps" "$gbps" "$loss" "$notes"
		done
		# how the relay configured the sandbox, and what it complained about
		cfg=$(printf '%s\n' "$out" | sed -n 's/^config //p' |
			awk '/inet / && !/ lo / { for (i = 1; i <= NF; i++) if ($i == "inet") a = a " " $(i + 1) }
			     / mtu / && !/LOOPBACK/ { for (i = 1; i <= NF; i++) if ($i == "mtu") m = $(i + 1); d = $2; sub(/:$/, "", d) }
			     /^(default|[0-9]+\.[0-9.]+\/)/ { sub(/ *$/, ""); r = r (r ? ", " : "") $0 }
			     /^nameserver / { n = n " " $2 } /^search / { $1 = ""; sr = sr $0 }
			     END { printf "%s%s mtu %s; routes: %s; dns%s search%s", d, a, m, r, n, sr }')
		nlog=$(wc -l < "$log" 2>/dev/null || echo 0)
		top=
		[ "$nlog" != 0 ] && top=" (most: $(sort "$log" | uniq -c | sort -rn | head -1 | sed 's/^ *//'))"
		stop=$(printf '%s\n' "$out" | sed -n 's/^stop //p')
		echo "#   $label $size: $cfg; ready $(field ms "$ready") ms; stop by $(field relay "$stop"); relay log $nlog lines$top"
		cleanup_one "$label" "$name"
	done
done

echo "# ours/classic packets/s"
for size in $SIZES; do
	for dir in inbound outbound; do
		o=${PPS[ours:$size:$dir]:-}; c=${PPS[classic:$size:$dir]:-}
		if [ -z "$o" ] || [ "$o" = "?" ]; then r=n/a
		elif [ -z "$c" ] || [ "$c" = "?" ]; then r="n/a (no classic figure)"
		elif [ "$c" = 0 ]; then r="n/a (classic 0 pkt/s; ours $o)"
		else r=$(awk -v a="$o" -v b="$c" 'BEGIN { printf "%.2f", a / b }')
		fi
		printf '%-6s %-9s %s\n' "$size" "$dir" "$r"
	done
done
