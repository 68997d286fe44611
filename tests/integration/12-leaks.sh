#!/bin/bash
# The leak suite: the host side is watched while a program in the sandbox
# tries every way out, in every state a sandbox goes through - never
# connected; connected through openconnect's relay and kernel paths; after a
# disconnect, an openconnect SIGKILL, a holder SIGKILL (programs already
# inside probe on); while the host replaces its resolv.conf (renamed over,
# and symlinks to regenerated files), its nsswitch.conf, and its resolvers'
# runtime directories; during an OpenVPN SIGUSR1 restart.
#
# Host side (tests/tools/leak-listener): TCP and UDP listeners on loopback
# (127.0.0.1, ::1, and 127.1.2.3, which nothing configures) and on the
# labs' host-side bridge addresses (IPv4 and IPv6); a fake resolver (UDP
# and TCP port 53) on systemd-resolved's stub address and on the bridge;
# Unix sockets where resolved (io.systemd.Resolve), nscd and avahi listen;
# and a capture of every packet on the host's interfaces that carries a VPN
# pool address.
# Probes (tests/tools/leak-probe.sh, as the test user inside the sandbox):
# TCP, UDP and ping to each of those addresses, dig over UDP and TCP to each
# resolver, dig through resolv.conf, getent hosts and ahosts (NSS, with
# glibc's nscd client), and connections to each Unix socket.  Pass: nothing
# arrives on the host, and the tunnel works where it should.  Positive
# controls first show every listener counting.
#
# Everything runs on a fake systemd-resolved host (tests/lib/fakehost.sh):
# this file re-runs itself in a private mount namespace with a copy of /etc
# and a fresh /run, so the machine's own /etc and resolver stay untouched;
# every sandbox is created there and inherits it.  Traffic goes only to
# loopback, to the labs' namespaces and to their host-side bridges.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/env.sh"
require_root
for t in ocserv openconnect openvpn openssl certtool dnsmasq busybox curl dig socat ping ss; do
	command -v $t >/dev/null || tap_skip_all "$t is not installed (run tests/install-deps.sh)"
done
LISTENER=$TOP/tests/tools/leak-listener
PROBE=$TOP/tests/tools/leak-probe.sh
PLUGIN=$TOP/openvpn-plugin/vpnns-openvpn.so
[ -x "$LISTENER" ] || tap_skip_all "tests/tools/leak-listener is not built (make check builds it)"
[ -f "$PLUGIN" ] || tap_skip_all "the plug-in is not built (make)"
. "$TOP/tests/lib/fakehost.sh"

# port53_free ADDR: nothing listens on ADDR:53 or on port 53 of every address
port53_free() {
	! ss -Hlntu 'sport = :53' | awk '{print $5}' |
		grep -Eqx "($1|0\.0\.0\.0|\*):53"
}
if [ -z "${LEAKS_ON_FAKE_HOST:-}" ]; then
	# resolved's stub address, unless a real resolver has it
	stub=
	for a in 127.0.0.53 127.0.53.53 127.53.0.53; do
		port53_free "$a" && { stub=$a; break; }
	done
	[ -n "$stub" ] || tap_skip_all "port 53 is taken on 127.0.0.53 and the other stub addresses tried (a resolver on 0.0.0.0:53?)"
	LEAKS_ON_FAKE_HOST=1 FAKE_HOST_STUB=$stub fake_resolved_host bash "$0" "$@"
	exit
fi

# --- on the fake host from here on ---------------------------------------------
STUB=$FAKE_HOST_STUB
if [ "$(stat -c %d:%i /etc)" != "$(stat -c %d:%i "${FAKE_HOST_ETC:-/nonexistent}")" ] ||
	[ "$(findmnt -n -o SOURCE /run)" != fakerun ]; then
	echo "1..1"; echo "not ok 1 - not on the fake host: refusing to touch this machine's /etc and /run"
	exit 1
fi
. "$TOP/tests/lab/ocserv-lab.sh"
. "$TOP/tests/lab/openvpn-lab.sh"
. "$TOP/tests/lib/vpn.sh"
cd /tmp
W=$(mktemp -d /tmp/vpnns-leaks.XXXXXX); chmod 0755 "$W"
LISTENERS=()   # name:pid
LOOPS=()       # prober loop directories
cleanup() {
	local d l
	for d in "${LOOPS[@]}"; do touch "$d/stop"; done
	ovlab_down; oclab_down; cleanup_sandboxes
	for l in "${LISTENERS[@]}"; do kill "${l#*:}" 2>/dev/null; done
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

PROBE_NAME=leakprobe.leaks.test
# The fake host: resolv.conf -> ../run/systemd/resolve/stub-resolv.conf naming
# $STUB; no avahi yet (it starts later, see "late resolvers").
rmdir /run/avahi-daemon
echo "nameserver $STUB" >/run/systemd/resolve/stub-resolv.conf

oclab_up || { tap_fail "the ocserv lab comes up"; tap_done; }
ovlab_up || { tap_fail "the OpenVPN lab comes up"; tap_done; }
fwd=$(for ns in "$OCLAB_NETNS" "$OVLAB_NETNS"; do
	ip netns exec "$ns" sysctl -n net.ipv4.ip_forward net.ipv6.conf.all.forwarding; done | tr -d '\n')
assert_eq "the labs' servers forward nothing (what a tunnel carries ends there, so whatever reaches the host came outside it)" \
	0000 "$fwd"

# --- the listeners ---------------------------------------------------------------
# start_listener NAME SPEC...: a leak-listener whose counts are in $W/NAME.counts
start_listener() {
	local name=$1; shift
	"$LISTENER" --counts "$W/$name.counts" "$@" 2>>"$W/$name.log" &
	LISTENERS+=("$name:$!")
	wait_until 5 test -s "$W/$name.counts" ||
		{ tap_fail "listener $name is up" "$(cat "$W/$name.log")"; tap_done; }
}
gen_of() { sed -n 's/^gen //p' "$1"; }
gen_moved() { [ "$(gen_of "$1")" != "$2" ]; }

# snapshot FILE: every listener's counts now, "LISTENER KIND ENDPOINT COUNT LAST"
snapshot() {
	local l name pid gen
	: >"$1"
	for l in "${LISTENERS[@]}"; do
		name=${l%%:*} pid=${l#*:}
		gen=$(gen_of "$W/$name.counts")
		if ! alive "$pid" || ! kill -USR1 "$pid" || ! wait_until 5 gen_moved "$W/$name.counts" "$gen"; then
			tap_fail "listener $name still counts" "$(tail -5 "$W/$name.log")"
			tap_done
		fi
		sed -n "/^gen /!s/^/$name /p" "$W/$name.counts" >>"$1"
	done
}

# risen BEFORE AFTER: the counters that rose, "LISTENER KIND ENDPOINT: +N
# (last: ...)"; unix-ownns counts the host's own processes, never a leak
risen() {
	awk 'NR == FNR { c[$1 " " $2 " " $3] = $4; next }
		$2 != "unix-ownns" && $4 > c[$1 " " $2 " " $3] + 0 {
			printf "%s %s %s: +%d (last: %s)\n", $1, $2, $3, $4 - c[$1 " " $2 " " $3], $5 }' "$1" "$2"
}
# still BEFORE AFTER KIND-REGEX: the counters of those kinds that did not rise
still() {
	awk -v kinds="$3" 'NR == FNR { c[$1 " " $2 " " $3] = $4; next }
		$2 ~ kinds && $4 <= c[$1 " " $2 " " $3] + 0 { print $1, $2, $3 }' "$1" "$2"
}

capture_prefixes="$OCLAB_POOL4 $OCLAB_POOL6 $OVLAB_POOL4 $OVLAB_POOL6"
start_listener main \
	tcp:127.0.0.1:0 udp:127.0.0.1:0 "tcp:[::1]:0" "udp:[::1]:0" tcp:127.1.2.3:0 udp:127.1.2.3:0 \
	"tcp:$OCLAB_HOST4:0" "udp:$OCLAB_HOST4:0" "tcp:[$OCLAB_HOST6]:0" "udp:[$OCLAB_HOST6]:0" \
	"tcp:$OVLAB_HOST4:0" "udp:$OVLAB_HOST4:0" "tcp:[$OVLAB_HOST6]:0" "udp:[$OVLAB_HOST6]:0" \
	"dns:$STUB" "dns:$OCLAB_HOST4" "dns:[$OCLAB_HOST6]" \
	unix:/run/systemd/resolve/io.systemd.Resolve unix:/run/nscd/socket \
	$(printf 'capture:%s ' $capture_prefixes)

# The probes: one for each TCP/UDP/DNS listener (127.1.2.3 is a loopback
# address nobody configured), a ping to each host-side address, each
# resolver socket - avahi's too, before it even exists.
TARGETS=$W/targets
{
	awk '$1 == "tcp" || $1 == "udp" || $1 == "dns-udp" {
		ep = $2; port = ep; sub(/.*:/, "", port); addr = substr(ep, 1, length(ep) - length(port) - 1)
		gsub(/[][]/, "", addr)
		kind = $1; if (kind == "dns-udp") kind = "dns"
		print kind, addr, port }' "$W/main.counts"
	printf 'icmp %s\n' "$OCLAB_HOST4" "$OCLAB_HOST6" "$OVLAB_HOST4" "$OVLAB_HOST6"
	printf 'unix %s\n' /run/systemd/resolve/io.systemd.Resolve /run/nscd/socket /run/avahi-daemon/socket
} >"$TARGETS"
chmod 0644 "$TARGETS"
# every probe prints one line: dns two (UDP, TCP), three name lookups more
NPROBES=$(awk '{ n += ($1 == "dns") ? 2 : 1 } END { print n + 3 }' "$TARGETS")

# --- positive controls: every listener counts -------------------------------------
snapshot "$W/c0"
as_user bash "$PROBE" "$TARGETS" "$PROBE_NAME" >/dev/null
snapshot "$W/c1"
assert_eq "control: the host's own probes reach every TCP, UDP and DNS listener" "" \
	"$(still "$W/c0" "$W/c1" '^(tcp|udp|dns-udp|dns-tcp)$')"
assert_match "control: NSS on the fake host resolves through the fake resolver, as on a resolved host" \
	"^127\.0\.83\.1 +$PROBE_NAME" "$(as_user getent hosts "$PROBE_NAME")"
# A process in a network namespace vpnns did not make (as the classic vpnns's
# sandbox was) reaches the resolver sockets; that is what a leak looks like.
as_user unshare -r -n bash "$PROBE" "$TARGETS" "$PROBE_NAME" >/dev/null
snapshot "$W/c2"
assert_eq "control: a bare network namespace's probes reach the resolved and nscd sockets" "" \
	"$(still "$W/c1" "$W/c2" '^unix$')"
# Packets from VPN pool addresses, sent across the lab bridge from a client
# namespace of the lab's: what a packet leaking from a tunnel looks like.
cns=$(oclab_client_ns ctl)
forged=
udp4=$(awk '$1 == "udp" && $2 ~ /^'"$OCLAB_HOST4"':/ { sub(/.*:/, "", $2); print $2 }' "$W/main.counts")
udp6=$(awk '$1 == "udp" && $2 ~ /^\['"$OCLAB_HOST6"'\]:/ { sub(/.*:/, "", $2); print $2 }' "$W/main.counts")
for p in $capture_prefixes; do
	case $p in
	*:*) src=${p%%::/*}::250 forged="$forged $src"; ip -n "$cns" addr add "$src/128" dev uplink nodad
	     ip netns exec "$cns" socat -u - "UDP6-SENDTO:[$OCLAB_HOST6]:$udp6,bind=[$src]" <<<leak ;;
	*)   src=${p%.0/*}.250 forged="$forged $src"; ip -n "$cns" addr add "$src/32" dev uplink
	     ip netns exec "$cns" socat -u - "UDP4-SENDTO:$OCLAB_HOST4:$udp4,bind=$src" <<<leak ;;
	esac
done
snapshot "$W/c3"
assert_eq "control: the capture sees packets from every VPN pool on the host's interfaces" "" \
	"$(still "$W/c2" "$W/c3" '^capture$')"
# Gone at once, with what the host learnt of those addresses: the host's
# neighbour discovery would go on probing them.
ip netns del "$cns"
for src in $forged; do ip neigh del "$src" dev "$OCLAB_HOST_IF" 2>/dev/null; done

# --- rounds ----------------------------------------------------------------------
ROUNDS=0 PROBES_RUN=0 LEAKS=0
declare -A STATES

# check STATE LABEL BEFORE AFTER RAN OUTPUT: nothing arrived on the host
# between the snapshots, and whole rounds of probes ran (RAN probes; OUTPUT
# has their "ID STATUS" lines)
check() {
	local state=$1 label=$2 ran=$5 found
	STATES[$state]=1
	ROUNDS=$((ROUNDS + ran / NPROBES)) PROBES_RUN=$((PROBES_RUN + ran))
	found=$(risen "$3" "$4")
	LEAKS=$((LEAKS + $(printf '%s\n' "$found" | sed -n 's/.*: +\([0-9]*\) (last: .*/\1/p' |
		awk '{ s += $1 } END { print s + 0 }')))
	found=$(printf '%s\n' "$found" | awk 'NF' | sed 's/^/leaked to /')
	if [ -n "$found" ] || [ $((ran % NPROBES)) != 0 ] || [ "$ran" = 0 ]; then
		tap_fail "[$label] no probe reaches the host ($ran probes)" \
			"${found:-no leak, but $ran probes ran (rounds of $NPROBES expected)}" \
			"probes that got through to something: $(echo "$6" | awk '$2 == 0 {print $1}' | tr '\n' ' ')"
	else
		tap_ok "[$label] no probe reaches the host ($ran probes, $(grep -vc ' unix-ownns ' "$4") counters at 0)"
	fi
}

# round STATE NAME: one round of probes in sandbox NAME, checked
round() {
	local out label="$1, $(etc_mode "$2")"
	snapshot "$W/before"
	out=$(inside "$2" bash "$PROBE" "$TARGETS" "$PROBE_NAME" 2>&1)
	snapshot "$W/after"
	check "$1" "$label" "$W/before" "$W/after" "$(echo "$out" | grep -c '^[^ ]* [0-9]*$')" "$out"
}

# loop_start NAME DIR: a prober looping inside sandbox NAME (started the way
# any program is); prints its pid once it finished a first round
loop_start() {
	local pid
	mkdir -p "$2"; chown "$TEST_USER" "$2"; LOOPS+=("$2")
	pid=$(start_inside "$1" "$2/pid" bash "$PROBE" --loop "$2" "$TARGETS" "$PROBE_NAME")
	wait_until 20 test -s "$2/rounds" && echo "$pid"
}
# loop_after DIR NS [N]: N (default 1) rounds that started after time NS have ended
loop_after() { [ "$(awk -v t="$2" '$2 > t' "$1/rounds" 2>/dev/null | wc -l)" -ge "${3:-1}" ]; }
loop_started_before() { [ "$(awk 'NR == 1 {print $2}' "$1/rounds")" -lt "$2" ]; }
# looped_through DIR FROM TO NAME: the loop in sandbox NAME ran from before
# time FROM until after TO (says what it saw otherwise)
looped_through() {
	wait_until 20 loop_after "$1" "$3" && loop_started_before "$1" "$2" && return 0
	echo "from $2 to $3; rounds (N START END PROBES):"; cat "$1/rounds"
	vpnns_user status "$4" 2>&1
	echo "holder log:"; tail -n 20 "$(user_home)/.vpnns-$4/log" 2>&1
	return 1
}
# loop_check STATE LABEL DIR PID BEFORE: end the loop after its round and
# check all its rounds against snapshot BEFORE
loop_check() {
	touch "$3/stop"
	wait_until 20 eval '! alive '"$4"
	snapshot "$W/after"
	check "$1" "$2" "$5" "$W/after" "$(awk '{ n += $4 } END { print n + 0 }' "$3/rounds")" \
		"$(cat "$3"/round-* 2>/dev/null)"
}
now() { date +%s%N; }

# works NAME URL4 URL6 PAGE VPN-NAME ADDR4 ADDR6: the tunnel carries what it
# should: HTTP over IPv4 and IPv6, and the VPN's name through NSS (says
# what it got otherwise)
works() {
	local got want
	got=$(inside "$1" sh -c 'curl -sS -m 5 "$0"; echo; curl -sS -m 5 "$1"; echo
		getent ahosts "$2" | awk "\$2 == \"STREAM\" {print \$1}" | sort' "$2" "$3" "$5" 2>&1)
	want=$(printf '%s\n' "$4" "$4"; printf '%s\n' "$6" "$7" | sort)
	[ "$got" = "$want" ] || { echo "expected: $want"; echo "got: $got"; return 1; }
}
oc_works() { works "$1" "$OCLAB_URL4" "$OCLAB_URL6" "$OCLAB_PAGE" "$OCLAB_NAME" "$OCLAB_HTTP4" "$OCLAB_HTTP6"; }
etc_mode() { vpnns_user status "$1" | awk '/^\/etc:/ {print $2}'; }

# --- never connected ---------------------------------------------------------------
A=$(uniq_name ov); track "$A"      # /etc as an overlay
B=$(uniq_name bind); track "$B"    # /etc through bind mounts
vpnns_user up "$A"
as_user env VPNNS_FORCE_BIND_MOUNTS=1 "$VPNNS" up "$B"
assert_eq "sandbox $A has an overlay /etc, $B bind mounts" "overlay bind" "$(etc_mode "$A") $(etc_mode "$B")"
round "never connected" "$A"
round "never connected" "$B"

# --- connected through the relay ---------------------------------------------------
relay_start ra "$A"
relay_start rb "$B"; rb_pid=$OCLAB_OC_PID
assert_true "relay: both sandboxes connect" wait_until 20 eval 'connected "$A" && connected "$B"'
assert_true "relay: the tunnel works in $A (HTTP over IPv4 and IPv6, the VPN's name server)" oc_works "$A"
assert_true "relay: ... and in $B" oc_works "$B"
round "connected, relay path" "$A"
round "connected, relay path" "$B"

# --- the host replaces its resolv.conf and nsswitch.conf while connected ---------------
# systemd-resolved regenerates the file its symlink points to, by rename
printf 'nameserver %s\nsearch host.example\n' "$STUB" >/run/systemd/resolve/stub-resolv.conf.new
mv -f /run/systemd/resolve/stub-resolv.conf.new /run/systemd/resolve/stub-resolv.conf
# (bind mode repairs asynchronously: the checks give it a moment)
for s in "$A" "$B"; do
	assert_true "resolved regenerates the stub: the tunnel and its DNS still work in $s" wait_until 5 oc_works "$s"
	round "connected, resolved regenerated stub-resolv.conf" "$s"
done
# a new plain file renamed over the symlink (a network manager taking
# over), and a new nsswitch.conf, with resolve (a package upgrade)
printf 'nameserver %s\n' "$STUB" >"$FAKE_HOST_ETC/resolv.conf.new"
mv -f "$FAKE_HOST_ETC/resolv.conf.new" "$FAKE_HOST_ETC/resolv.conf"
sed 's/^hosts:.*/hosts: files resolve [!UNAVAIL=return] dns/' "$FAKE_HOST_ETC/nsswitch.conf" >"$FAKE_HOST_ETC/nsswitch.conf.new"
mv -f "$FAKE_HOST_ETC/nsswitch.conf.new" "$FAKE_HOST_ETC/nsswitch.conf"
for s in "$A" "$B"; do
	assert_true "host renames new resolv.conf and nsswitch.conf over the old: the tunnel and its DNS still work in $s" \
		wait_until 5 oc_works "$s"
	assert_no_match "... and $s's nsswitch.conf still has no resolve" resolve "$(inside "$s" grep '^hosts:' /etc/nsswitch.conf)"
	round "connected, host renamed resolv.conf and nsswitch.conf over" "$s"
done

# resolvconf style: /etc/resolv.conf -> ../run/resolvconf/resolv.conf, a
# directory nothing hides; sandboxes made now follow the new symlink
mkdir -p /run/resolvconf
printf 'nameserver %s\n' "$STUB" >/run/resolvconf/resolv.conf
ln -s ../run/resolvconf/resolv.conf "$FAKE_HOST_ETC/resolv.conf.new"
mv -fT "$FAKE_HOST_ETC/resolv.conf.new" "$FAKE_HOST_ETC/resolv.conf"
C=$(uniq_name rcov); track "$C"
D=$(uniq_name rcbind); track "$D"
vpnns_user up "$C"
as_user env VPNNS_FORCE_BIND_MOUNTS=1 "$VPNNS" up "$D"
relay_start rc "$C"
relay_start rd "$D"
assert_true "resolvconf host: both new sandboxes connect" wait_until 20 eval 'connected "$C" && connected "$D"'
printf 'nameserver %s\n# regenerated\n' "$STUB" >/run/resolvconf/resolv.conf.new
mv -f /run/resolvconf/resolv.conf.new /run/resolvconf/resolv.conf
# (in $A and $B, made before the symlink was re-pointed, too)
for s in "$C" "$D" "$A" "$B"; do
	assert_true "resolvconf regenerates its file: the tunnel and its DNS still work in $s ($(etc_mode "$s"))" \
		wait_until 5 oc_works "$s"
done
for s in "$C" "$D"; do
	round "connected, resolvconf regenerated the symlink's target" "$s"
done
oclab_openconnect_stop rc INT; oclab_openconnect_stop rd INT
vpnns_user stop --timeout 1 "$C" >/dev/null; vpnns_user stop --timeout 1 "$D" >/dev/null

# --- disconnect, openconnect SIGKILL --------------------------------------------------
oclab_openconnect_stop ra INT
assert_true "disconnect: $A is offline again" wait_until 5 offline "$A"
round "after disconnect, relay path" "$A"
ap=$(attach_pid "$B")
t0=$(now)
kill -KILL "$rb_pid"
wait_until 3 eval '! alive '"$ap"
ms=$(( ($(now) - t0) / 1000000 ))
assert_true "openconnect SIGKILL: the attach is gone within 1 s ($ms ms)" test "$ms" -lt 1000
assert_true "openconnect SIGKILL: $B is offline again" wait_until 5 offline "$B"
round "after openconnect SIGKILL, relay path" "$B"

# --- late resolvers: the host's resolver directories made after the sandbox ------------
# nscd restarted (its runtime directory removed and made again), resolved
# installed after the sandbox started (/run/systemd made anew), avahi started
rm -rf /run/nscd /run/systemd
mkdir -p /run/nscd /run/systemd/resolve /run/avahi-daemon
echo "nameserver $STUB" >/run/systemd/resolve/stub-resolv.conf
start_listener late unix:/run/nscd/socket unix:/run/systemd/resolve/io.systemd.Resolve \
	unix:/run/avahi-daemon/socket
snapshot "$W/c4"
as_user unshare -r -n bash "$PROBE" "$TARGETS" "$PROBE_NAME" >/dev/null
snapshot "$W/c5"
assert_eq "control: a bare network namespace reaches the new nscd, resolved and avahi sockets" "" \
	"$(still "$W/c4" "$W/c5" '^unix$' | grep '^late ')"
hides_late() {
	inside "$1" sh -c '! test -e /run/nscd/socket && ! test -e /run/systemd/resolve/io.systemd.Resolve &&
		! test -e /run/avahi-daemon/socket'
}
for s in "$A" "$B"; do
	assert_true "late resolvers: $s ($(etc_mode "$s")) hides their new sockets" wait_until 3 hides_late "$s"
	round "late resolvers (nscd restarted, resolved and avahi started after the sandbox)" "$s"
done

# --- the kernel path ---------------------------------------------------------------------
kernel_start ka "$A"
assert_true "kernel path: root openconnect connects $A" wait_until 20 connected "$A"
assert_true "kernel path: the tunnel works" oc_works "$A"
round "connected, kernel path" "$A"
oclab_openconnect_stop ka INT
assert_true "kernel path, disconnect: $A is offline again" wait_until 5 offline "$A"
round "after disconnect, kernel path" "$A"
kernel_start kb "$A"
assert_true "kernel path: connects again" wait_until 20 connected "$A"
kill -KILL "$OCLAB_OC_PID"
assert_true "kernel path, openconnect SIGKILL: $A is offline again" wait_until 5 offline "$A"
round "after openconnect SIGKILL, kernel path" "$A"

# --- holder SIGKILL: programs inside keep probing ---------------------------------------
relay_start rh "$A"
wait_until 20 connected "$A"
assert_true "holder SIGKILL: $A is connected again, and works" oc_works "$A"
ap=$(attach_pid "$A") hp=$(holder_pid "$A") mode=$(etc_mode "$A")
L=$W/loop-holder
snapshot "$W/loop-before"
lp=$(loop_start "$A" "$L")
assert_match "holder SIGKILL: a prober loop runs inside" "^[0-9]+$" "$lp"
kill -KILL "$hp"
t_dead=$(now)
assert_true "holder SIGKILL: the relay notices and ends" wait_until 5 eval '! alive '"$ap"
assert_true "holder SIGKILL: the prober loop still runs, in the old sandbox" alive "$lp"
assert_eq "... which has only lo left" "lo " "$(nsenter -t "$lp" -n ip -o link show | awk -F': ' '{print $2}' | tr '\n' ' ')"
assert_true "holder SIGKILL: the loop completes 2 rounds after the kill" wait_until 20 loop_after "$L" "$t_dead" 2
loop_check "after holder SIGKILL, programs already inside probing" \
	"after holder SIGKILL (connected before), $mode, programs already inside probing" "$L" "$lp" "$W/loop-before"
oclab_openconnect_stop rh INT
vpnns_user stop --timeout 1 "$A" >/dev/null

# --- OpenVPN SIGUSR1 restarts ---------------------------------------------------------------
ov_works() { works "$1" "$OVLAB_URL4" "$OVLAB_URL6" "$OVLAB_PAGE" "$OVLAB_NAME" "$OVLAB_HTTP4" "$OVLAB_HTTP6"; }
# usr1_restart LABEL WHAT [CONFIG-LINES...]: a sandbox the plug-in's OpenVPN
# serves; a prober loops inside from before a SIGUSR1 until the new tunnel
# works
usr1_restart() {
	local label=$1 what=$2 name lp t_usr1 t_back; shift 2
	name=$(uniq_name "$label"); track "$name"
	ovpn_client "$label" "$name" "$@"
	assert_true "OpenVPN$what: the plug-in's OpenVPN connects $name" \
		eval 'completed "$label" && wait_until 5 connected "$name"'
	assert_true "OpenVPN$what: the tunnel works" wait_until 10 ov_works "$name"
	snapshot "$W/loop-before"
	lp=$(loop_start "$name" "$W/loop-$label")
	t_usr1=$(now)
	ovlab_signal "$label" USR1
	assert_true "OpenVPN$what SIGUSR1: OpenVPN reconnects" completed "$label" 2
	assert_true "OpenVPN$what SIGUSR1: ... and the tunnel works again" wait_until 10 ov_works "$name"
	t_back=$(now)
	assert_true "OpenVPN$what SIGUSR1: the prober looped from before the signal until after the tunnel was back" \
		looped_through "$W/loop-$label" "$t_usr1" "$t_back" "$name"
	loop_check "during an OpenVPN SIGUSR1 restart" "during an OpenVPN$what SIGUSR1 restart, $(etc_mode "$name")" \
		"$W/loop-$label" "$lp" "$W/loop-before"
	ovlab_openvpn_stop "$label"
}
usr1_restart oa ""
usr1_restart ob " --persist-tun" persist-tun

# --- the figures ---------------------------------------------------------------------------
tap_diag "leak suite: ${#STATES[@]} states, $ROUNDS probe rounds of $NPROBES probes: $PROBES_RUN probes run, $LEAKS leaks found"
assert_eq "${#STATES[@]} states x $NPROBES probes ($PROBES_RUN probes in $ROUNDS rounds): leaks found" 0 "$LEAKS"
tap_done
