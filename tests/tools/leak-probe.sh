#!/bin/bash
# tests/tools/leak-probe.sh - every way out a sandboxed program might try, for
# the leak suite (tests/integration/12-leaks.sh).  Run it inside a sandbox,
# as the sandbox's user; the host side counts what arrives
# (tests/tools/leak-listener).
#
#   leak-probe.sh TARGETS NAME
#       One round: every probe at once, each with a short timeout; prints
#       one line a probe, "ID STATUS" (the probe's exit status: 0 means it
#       got through to something, which inside a sandbox is only right for
#       what the tunnel carries).
#   leak-probe.sh --loop DIR TARGETS NAME
#       Rounds until DIR/stop exists: round N's output goes to DIR/round-N,
#       and then "N START_NS END_NS PROBES" is appended to DIR/rounds.
#
# TARGETS has one probe a line:
#   tcp ADDR PORT     a TCP connection (bash's /dev/tcp)
#   udp ADDR PORT     a UDP datagram (bash's /dev/udp)
#   dns ADDR PORT     a query for NAME with dig, over UDP and over TCP
#   icmp ADDR         one ping
#   unix PATH         a connection to a Unix stream socket (socat)
# and every round also looks NAME up the ways programs do: dig with
# resolv.conf's server, getent hosts and getent ahosts (glibc's NSS, nscd
# client included).
set -u

probe_round() {
	local targets=$1 name=$2 kind a b dir
	dir=$(mktemp -d "${TMPDIR:-/tmp}/leak-probe.XXXXXX") || exit 1
	# each probe writes its own line; all run at once, each with a
	# timeout of its own and this one around it, so a round cannot hang
	run() {
		local id=$1; shift
		timeout -k 1 5 "$@" >/dev/null 2>&1
		echo "$id $?" >"$dir/$BASHPID"
	}
	while read -r kind a b; do
		case $kind in
		tcp) run "tcp:$a:$b" timeout 1.5 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$a" "$b" & ;;
		udp) run "udp:$a:$b" timeout 1.5 bash -c 'printf leak-probe >"/dev/udp/$0/$1"' "$a" "$b" & ;;
		dns)
			run "dns-udp:$a:$b" dig +time=1 +tries=1 -p "$b" "@$a" "$name" A &
			run "dns-tcp:$a:$b" dig +tcp +time=1 +tries=1 -p "$b" "@$a" "$name" A & ;;
		icmp) run "icmp:$a" ping -n -c 1 -W 1 "$a" & ;;
		unix) run "unix:$a" timeout 1.5 socat -u OPEN:/dev/null "UNIX-CONNECT:$a" & ;;
		''|'#'*) ;;
		*) echo "leak-probe: unknown probe '$kind'" >&2; exit 2 ;;
		esac
	done <"$targets"
	run dig-resolv.conf dig +time=1 +tries=1 "$name" A &
	run getent-hosts timeout 3 getent hosts "$name" &
	run getent-ahosts timeout 3 getent ahosts "$name" &
	wait
	cat "$dir"/* | sort
	rm -rf "$dir"
}

if [ "${1:-}" = --loop ]; then
	dir=$2; shift 2
	n=0
	while [ ! -e "$dir/stop" ]; do
		n=$((n + 1))
		start=$(date +%s%N)
		probe_round "$@" >"$dir/round-$n"
		echo "$n $start $(date +%s%N) $(wc -l <"$dir/round-$n")" >>"$dir/rounds"
	done
	exit 0
fi
probe_round "$@"
