#!/bin/bash
# vpnns --attach with the real openconnect against a real ocserv in network
# namespaces this test builds (tests/lab/ocserv-lab.sh): the unprivileged
# relay path (--script-tun, as the non-root test user) and the root kernel
# path (the tun moved into the test user's sandbox).  Traffic goes only to
# addresses inside the lab's namespaces.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/env.sh"
require_root
for t in ocserv openconnect dnsmasq busybox curl certtool; do
	command -v $t >/dev/null || tap_skip_all "$t is not installed (run tests/install-deps.sh)"
done
. "$TOP/tests/lab/ocserv-lab.sh"
. "$TOP/tests/lib/vpn.sh"
trap 'oclab_down; cleanup_sandboxes' EXIT
cd /tmp

host_state() {  # the host's own addresses, routes and resolv.conf (labs' links aside)
	ip -o addr show | awk '$2 !~ /^vp[lo]-/ {print $2, $3, $4}' | sort
	ip route show table main | grep -v -e 'dev vp[lo]-' -e '^unreachable'
	ip -6 route show table main | grep -v -e 'dev vp[lo]-' -e '^unreachable'
	md5sum < /etc/resolv.conf
}
host_tuns() { ip -o link show type tun | awk -F': ' '{print $1 ":" $2}' | sort; }
# tuns_appeared BEFORE: host tun devices (index:name) that were not there before
tuns_appeared() { comm -13 <(echo "$1") <(host_tuns); }
# upload NAME ADDR: send the lab's 2 MB file from inside sandbox NAME over
# TCP to a listener on ADDR in the server netns; prints the sha256 of what
# arrived there.
upload() {
	local n=$1 addr=$2 got=$OCLAB_DIR/upload.recv job v=4 to=$2
	case $addr in *:*) v=6 to="[$addr]" ;; esac
	rm -f "$got"
	oclab_server_exec timeout 30 socat -u "TCP$v-LISTEN:7001,bind=$addr,reuseaddr" \
		"OPEN:$got,creat,trunc" &
	job=$!
	wait_until 5 eval "oclab_server_exec ss -Hltn 'sport = :7001' | grep -q ."
	inside "$n" socat -u "FILE:$OCLAB_DIR/www/big.bin" "TCP$v:$to:7001"
	wait "$job"
	sha256sum < "$got" | cut -d' ' -f1
}
# transfers_intact LABEL NAME: 2 MB uploads over IPv4 and IPv6 and a 2 MB
# download through sandbox NAME arrive intact; then waits for the relay's
# next counter report.
transfers_intact() {
	local sum
	assert_eq "$1: a 2 MB upload arrives intact (sha256)" "$OCLAB_BIG_SHA256" "$(upload "$2" "$OCLAB_HTTP4")"
	assert_eq "$1: ... over IPv6 too" "$OCLAB_BIG_SHA256" "$(upload "$2" "$OCLAB_HTTP6")"
	sum=$(inside "$2" sh -c "curl -sS -m 20 http://$OCLAB_HTTP4$OCLAB_BIG_PATH | sha256sum" | awk '{print $1}')
	assert_eq "$1: a 2 MB download arrives intact (sha256)" "$OCLAB_BIG_SHA256" "$sum"
	sleep 1.1 # the counters arrive once a second
}
# counter NAME LABEL: a figure from `vpnns status`'s relay lines
counter() { vpnns_user status "$1" | sed -n "s/.* \([0-9]*\) $2.*/\1/p"; }

# ============================================================================
# Lab 1: full tunnel, IPv4 + IPv6
oclab_up || { tap_fail "the lab comes up"; tap_done; }
host_before=$(host_state)

# --- relay path, unprivileged -------------------------------------------------
R=$(uniq_name relay); track "$R"
relay_tuns_before=$(host_tuns)
relay_start r1 "$R"
assert_true "relay: openconnect --script-tun connects the sandbox" wait_until 20 connected "$R"
assert_match "relay: status names the relay path" "tunnel: +tun[0-9]+ \(relay path\), MTU 1434" "$(vpnns_user status "$R")"
assert_eq "relay: HTTP by address through the VPN" "$OCLAB_PAGE" "$(inside "$R" curl -sS -m 5 "$OCLAB_URL4")"
assert_eq "relay: HTTP by name (pushed DNS and domain)" "$OCLAB_PAGE" "$(inside "$R" curl -sS -m 5 "http://intranet/")"
assert_eq "relay: HTTP over IPv6 through the VPN" "$OCLAB_PAGE" "$(inside "$R" curl -sS -m 5 "$OCLAB_URL6")"
assert_match "relay: resolv.conf has the VPN's server and domain" \
	"nameserver $OCLAB_DNS.*search $OCLAB_DOMAIN" "$(inside "$R" cat /etc/resolv.conf | tr '\n' ' ')"
routes=$(inside "$R" ip route show; inside "$R" ip -6 route show)
assert_match "relay: IPv4 default route through the tunnel" "^default dev tun[0-9]+" "$routes"
assert_match "relay: IPv6 default route through the tunnel" "^default dev tun[0-9]+ .*metric" "$routes"
# Outside the sandbox nothing leads into the tunnel.  Checked without
# sending anything: on this host a request to the lab's addresses would
# follow the real default route.
assert_eq "relay: no tun device appeared outside the sandbox" "" "$(tuns_appeared "$relay_tuns_before")"
assert_no_match "relay: the host routes the intranet elsewhere, not into a tunnel" "dev tun" \
	"$(ip route get "$OCLAB_HTTP4" 2>&1; ip -6 route get "$OCLAB_HTTP6" 2>&1)"
assert_eq "host routes, addresses and resolv.conf unchanged while connected" "$host_before" "$(host_state)"
has_counters() { vpnns_user status --json "$1" | grep -Eq '"counters":\{"in-packets":[1-9][0-9]*'; }
assert_true "relay: status shows the relay's counters (reported every second)" wait_until 3 has_counters "$R"
assert_match "relay: ... in the text form too" "relay in: +[1-9][0-9]* packets" "$(vpnns_user status "$R")"
# Segmentation offload: the sandbox's TCP hands the relay 64 KiB
# superpackets, which it cuts to the tunnel's MTU; a download's segments
# are joined into superpackets on the way in (offload.c).
transfers_intact relay "$R"
assert_match "relay: the uploads came as superpackets, cut to the MTU" "^[1-9][0-9]*$" "$(counter "$R" "superpackets cut")"
assert_match "relay: the download's segments went in coalesced" "^[1-9][0-9]*$" "$(counter "$R" coalesced)"
assert_eq "relay: nothing was dropped" "0 0" "$(counter "$R" "dropped, [0-9]* coalesced") $(counter "$R" "dropped, [0-9]* waits")"
assert_match "relay: the sandbox's tun carries a virtio_net_hdr" "vnet_hdr on" "$(inside "$R" ip -d link show type tun)"

ap=$(attach_pid "$R")
oclab_openconnect_stop r1 INT
assert_true "relay: disconnect ends the attach process" wait_until 3 eval '! alive '"$ap"
assert_true "relay: after disconnect only lo and no name server" wait_until 3 offline "$R"

# openconnect killed without a word: the relay must notice by itself
relay_start r2 "$R"
wait_until 20 connected "$R"
ap=$(attach_pid "$R")
t0=$(date +%s%N)
kill -KILL "$OCLAB_OC_PID"
wait_until 3 eval '! alive '"$ap"
t1=$(date +%s%N)
assert_true "relay: openconnect SIGKILL -> attach gone within 1 s ($(( (t1 - t0) / 1000000 )) ms)" \
	test $(( (t1 - t0) / 1000000 )) -lt 1000
assert_true "relay: ... and the sandbox is offline again" wait_until 3 offline "$R"
relay_start r3 "$R"
assert_true "relay: a new openconnect for the same name connects at once" wait_until 20 connected "$R"
assert_eq "relay: ... and works" "$OCLAB_PAGE" "$(inside "$R" curl -sS -m 5 "$OCLAB_URL4")"

# two identities at once
R2=$(uniq_name relay2); track "$R2"
relay_start r4 "$R2"
assert_true "two identities: the second sandbox connects too" wait_until 20 connected "$R2"
a1=$(inside "$R" ip -4 -o addr show scope global | awk '{print $4}')
a2=$(inside "$R2" ip -4 -o addr show scope global | awk '{print $4}')
assert_ne "two identities: each has its own tunnel address" "$a1" "$a2"
assert_eq "two identities: the first reaches the server" "$OCLAB_PAGE" "$(inside "$R" curl -sS -m 5 "$OCLAB_URL4")"
assert_eq "two identities: the second reaches the server" "$OCLAB_PAGE" "$(inside "$R2" curl -sS -m 5 "$OCLAB_URL4")"
assert_ne "two identities: separate network namespaces" \
	"$(inside "$R" readlink /proc/self/ns/net)" "$(inside "$R2" readlink /proc/self/ns/net)"

# vpnns stop while connected ends the relay and the openconnect serving it
ap=$(attach_pid "$R2"); ocp=$OCLAB_OC_PID
out=$(vpnns_user stop "$R2")
assert_true "stop while connected ends the relay" wait_until 3 eval '! alive '"$ap"
assert_true "stop while connected ends the openconnect that served it" wait_until 5 eval '! oclab_pid_alive '"$ocp"
oclab_openconnect_stop r3 INT

# --- relay path without offload: packet by packet ------------------------------------
N=$(uniq_name nooff); track "$N"
relay_start r6 "$N" --no-offload
assert_true "--no-offload: the relay connects" wait_until 20 connected "$N"
assert_match "--no-offload: the sandbox's tun has no virtio_net_hdr" "vnet_hdr off" "$(inside "$N" ip -d link show type tun)"
transfers_intact --no-offload "$N"
# 2 MB each way: well over 1400 packets in and out, none of them joined or cut
pin=$(vpnns_user status "$N" | sed -n 's/^relay in: *\([0-9]*\) packets.*/\1/p')
pout=$(vpnns_user status "$N" | sed -n 's/^relay out: *\([0-9]*\) packets.*/\1/p')
assert_true "--no-offload: the relay moved the packets one by one ($pin in, $pout out)" \
	test "${pin:-0}" -gt 1400 -a "${pout:-0}" -gt 1400
assert_eq "--no-offload: nothing was coalesced, cut or dropped" "0 0 0 0" \
	"$(counter "$N" coalesced) $(counter "$N" "superpackets cut") $(counter "$N" "dropped, [0-9]* coalesced") $(counter "$N" "dropped, [0-9]* waits")"
oclab_openconnect_stop r6 INT
assert_true "--no-offload: disconnect leaves only lo and no name server" wait_until 3 offline "$N"

# --- relay path with the user's own vpnc-script -----------------------------------
S=$(uniq_name script); track "$S"
script=$(mktemp /tmp/vpnns-vpnc.XXXXXX); chmod 755 "$script"
marker=$(mktemp /tmp/vpnns-marker.XXXXXX); chmod 666 "$marker"
cat > "$script" <<EOS
#!/bin/sh
echo "\$reason \$TUNDEV" >> $marker
if [ "\$reason" = connect ]; then
	ip link set "\$TUNDEV" up mtu "\$INTERNAL_IP4_MTU"
	ip addr add "\$INTERNAL_IP4_ADDRESS/32" dev "\$TUNDEV"
	ip route add default dev "\$TUNDEV"
fi
EOS
relay_start r5 "$S" --script "$script"
assert_true "--script: the sandbox connects through the user's script" wait_until 20 connected "$S"
assert_match "--script: the script ran inside with reason=connect and TUNDEV" "^connect tun[0-9]+$" "$(head -1 "$marker")"
assert_eq "--script: its configuration carries traffic" "$OCLAB_PAGE" "$(inside "$S" curl -sS -m 5 "$OCLAB_URL4")"
assert_match "--script: vpnns wrote no resolv.conf of its own" "no VPN is attached" "$(inside "$S" cat /etc/resolv.conf)"
oclab_openconnect_stop r5 INT
assert_true "--script: ... and ran again with reason=disconnect" wait_until 3 grep -q "^disconnect tun" "$marker"
rm -f "$script" "$marker"

# --- /dev/net/tun not accessible --------------------------------------------------
T=$(uniq_name notun); track "$T"
chmod 0600 /dev/net/tun
err=$(as_user env VPNFD=0 INTERNAL_IP4_ADDRESS=192.0.2.9 "$VPNNS" --attach --name "$T" 2>&1 </dev/null); rc=$?
chmod 0666 /dev/net/tun
assert_ne "a 0600 /dev/net/tun makes attach fail" 0 "$rc"
assert_match "... with a message saying what to do" "/dev/net/tun is not accessible to you \(mode 0600.*chmod 0666" "$err"
assert_true "... and leaves the sandbox offline" offline "$T"

# --- malformed VPN environment -------------------------------------------------
err=$(as_user env VPNFD=0 INTERNAL_IP4_ADDRESS=192.0.2.999 "$VPNNS" --attach --name "$T" 2>&1 </dev/null); rc=$?
assert_eq "a malformed variable fails attach" 1 "$rc"
assert_match "... naming the variable" "malformed VPN environment: INTERNAL_IP4_ADDRESS='192.0.2.999' is not an IPv4 address" "$err"
assert_true "... with the sandbox left offline" offline "$T"
err=$(as_user "$VPNNS" --attach --name "$T" 2>&1 </dev/null); rc=$?
assert_eq "attach outside a VPN client is a usage error" 2 "$rc"
assert_match "... that shows how to run it" "openconnect --script-tun --script" "$err"

# --- kernel path: root openconnect, the test user's sandbox --------------------------
K=$(uniq_name kernel); track "$K"
tuns_before=$(host_tuns)
kernel_start k1 "$K"
assert_true "kernel: root openconnect connects the user's sandbox" wait_until 20 connected "$K"
hp=$(holder_pid "$K")
assert_eq "kernel: the sandbox was created as the user, not root" "$TEST_USER" "$(ps -o user= -p "$hp")"
assert_match "kernel: status names the kernel path" "tunnel: +tun[0-9]+ \(kernel path\)" "$(vpnns_user status "$K")"
assert_eq "kernel: HTTP by name through the moved tun" "$OCLAB_PAGE" "$(inside "$K" curl -sS -m 5 "http://$OCLAB_NAME/")"
assert_eq "kernel: HTTP over IPv6" "$OCLAB_PAGE" "$(inside "$K" curl -sS -m 5 "$OCLAB_URL6")"
assert_eq "kernel: openconnect's tun left the host namespace" "" "$(tuns_appeared "$tuns_before")"
assert_match "kernel: ... and is in the sandbox" "^[0-9]+: tun[0-9]+" "$(inside "$K" ip -o link show type tun)"
assert_eq "kernel: host routes, addresses and resolv.conf unchanged" "$host_before" "$(host_state)"
kill -USR2 "$OCLAB_OC_PID"   # openconnect reconnects: reason=reconnect
sleep 2
assert_eq "kernel: still works after a reconnect" "$OCLAB_PAGE" "$(inside "$K" curl -sS -m 5 "$OCLAB_URL4")"
oclab_openconnect_stop k1 INT
assert_true "kernel: disconnect leaves only lo and no name server" wait_until 3 offline "$K"
kernel_start k2 "$K"
wait_until 20 connected "$K"
kill -KILL "$OCLAB_OC_PID"
assert_true "kernel: openconnect SIGKILL takes the tun and the name servers away" wait_until 3 offline "$K"
kernel_start k3 "$K"
assert_true "kernel: a new connection works at once" wait_until 20 connected "$K"
oclab_openconnect_stop k3 INT

oclab_down
assert_eq "host routes, addresses and resolv.conf as before the tests" "$host_before" "$(host_state)"

# ============================================================================
# Lab 2: split routes and a 4000-byte tunnel MTU
oclab_up --split --mtu 4000 || { tap_fail "the split/MTU 4000 lab comes up"; tap_done; }
P=$(uniq_name split); track "$P"
relay_start s1 "$P"
assert_true "split: the relay connects" wait_until 20 connected "$P"
routes=$(inside "$P" ip route show; inside "$P" ip -6 route show)
assert_match "split: the pushed IPv4 route is installed" "^203\.0\.113\.0/24 dev tun" "$routes"
assert_match "split: the pushed IPv6 route is installed" "^2001:db8:203::/64 dev tun" "$routes"
assert_no_match "split: no default route" "^default" "$routes"
assert_eq "split: the intranet is reachable" "$OCLAB_PAGE" "$(inside "$P" curl -sS -m 5 "$OCLAB_URL4")"
assert_match "mtu: the tunnel has MTU 4000" "mtu 4000" "$(inside "$P" ip link show)"
sum=$(inside "$P" sh -c "curl -sS -m 20 http://$OCLAB_HTTP4$OCLAB_BIG_PATH | sha256sum" | awk '{print $1}')
assert_eq "mtu 4000: a 2 MB download arrives intact (sha256)" "$OCLAB_BIG_SHA256" "$sum"
sum=$(inside "$P" sh -c "curl -sS -m 20 -g 'http://[$OCLAB_HTTP6]$OCLAB_BIG_PATH' | sha256sum" | awk '{print $1}')
assert_eq "mtu 4000: ... over IPv6 too" "$OCLAB_BIG_SHA256" "$sum"
assert_true "mtu 4000: 3500-byte pings cross the tunnel unfragmented" \
	inside "$P" ping -c 2 -W 2 -M do -s 3500 "$OCLAB_HTTP4"
assert_eq "mtu 4000: a 2 MB upload arrives intact, cut to 4000-byte packets" "$OCLAB_BIG_SHA256" \
	"$(upload "$P" "$OCLAB_HTTP4")"
oclab_openconnect_stop s1 INT

kernel_start s2 "$P"
assert_true "split, kernel path: connects" wait_until 20 connected "$P"
routes=$(inside "$P" ip route show)
assert_match "split, kernel path: the pushed route is installed" "^203\.0\.113\.0/24 dev tun" "$routes"
assert_no_match "split, kernel path: no default route" "^default" "$routes"
sum=$(inside "$P" sh -c "curl -sS -m 20 http://$OCLAB_HTTP4$OCLAB_BIG_PATH | sha256sum" | awk '{print $1}')
assert_eq "kernel path, mtu 4000: the download arrives intact" "$OCLAB_BIG_SHA256" "$sum"
oclab_openconnect_stop s2 INT
oclab_down
assert_eq "no lab left behind" "" "$(oclab_leftovers)"

tap_done
