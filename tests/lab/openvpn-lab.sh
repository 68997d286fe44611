# tests/lab/openvpn-lab.sh - a throw-away OpenVPN 2.6 lab in network
# namespaces, for the tests of the OpenVPN plug-in.  Modelled on
# tests/lab/ocserv-lab.sh (same slots, bookkeeping, teardown and host safety
# net; both labs can be up at once).  Source it from a bash test that runs as
# root, call ovlab_up in the test's own shell (not inside $(...) or a
# pipeline: it exports variables and records what it started), and make sure
# ovlab_down runs: ovlab_trap installs an EXIT trap that does it.
#
#   . tests/lab/openvpn-lab.sh
#   ovlab_trap
#   ovlab_up --persist-tun || exit 1
#   ovlab_client_config "$OVLAB_DIR/p1.ovpn" \
#       "plugin $TOP/vpnns-openvpn.so user=vpnnstest name=x" "user nobody" "group nogroup"
#   ovlab_openvpn_bg p1 "$OVLAB_DIR/p1.ovpn"
#   ovlab_wait_log p1 'Initialization Sequence Completed' 15
#   ...
#   ovlab_down
#
# Debian packages needed (bookworm):
#   openvpn openssl dnsmasq busybox iproute2 util-linux (mount) coreutils
#   mawk curl dnsutils
#
# Topology (ID is OVLAB_ID, 4 of [a-z0-9], random unless you set it;
# addresses are those of slot 0, see "Slots" in tests/lab/ocserv-lab.sh):
#
#   host netns                          server netns vpo-ID-srv
#   bridge vpo-ID-br                    uplink  198.51.100.2/24
#     198.51.100.1/24                           2001:db8:100::2/64
#     2001:db8:100::1/64    <-- veth -->        openvpn udp4 198.51.100.2:1194
#     ports: vpo-ID-s (server)                  tun0 198.18.1.1/24
#            vpo-ID-NAME (clients)                   2001:db8:3::1/64
#   lab clients (ovlab_openvpn_bg):     intra0  203.0.113.10, .53 /24
#     openvpn in the host netns,                2001:db8:203::10, ::53 /64
#     tun device unconfigured                   busybox httpd on .10 / ::10 :80
#     (ifconfig-noexec, route-noexec)           dnsmasq on .53 / ::53
#   client netns vpo-ID-NAME            net9    198.18.9.10/24
#     uplink 198.51.100.(10+n)/24               busybox httpd on .10 :80
#            2001:db8:100::(10+n)/64    (n = 1..4)
#
# The intranet (203.0.113.0/24, 2001:db8:203::/64) and the second network
# (198.18.9.0/24) exist only inside the server netns, on veth pairs kept
# inside it (the VM kernel has no dummy driver); every address behind the
# VPN is local to the server netns, so the server needs no IP forwarding
# (none is enabled).  OpenVPN server (OVLAB_SERVER_CONF): TLS with a PKI made
# by the lab with openssl (EC P-256: a CA, the server, a shared client
# certificate, and one more client certificate per ovlab_client_config),
# tls-crypt, "dh none", disable-dco, topology subnet, pools 198.18.1.0/24
# and 2001:db8:3::/64 (server .1 / ::1; dynamic clients from .2 / ::1000),
# duplicate-cn, keepalive 2 10 (clients: ping 2, ping-restart 10; the
# server drops a silent client after 20 s), and it pushes
#   route 198.18.9.0 255.255.255.0
#   route 203.0.113.0 255.255.255.0
#   route-ipv6 2001:db8:203::/64
#   dhcp-option DNS 203.0.113.53, dhcp-option DOMAIN vpnns.test
# or, with --dns-option, OpenVPN 2.6's
#   dns server 1 address 203.0.113.53, dns search-domains vpnns.test
# Its management interface listens on 127.0.0.1:7505 inside the server
# netns (ovlab_mgmt).  Its tun device sends nothing of its own (no IPv6
# router solicitations or DAD probes: sysctls in the server netns), so no
# client gets a packet nobody sent; see _ovlab_up_net for why that matters.  Everything the lab writes is under OVLAB_DIR.  While
# any lab (this one or an ocserv lab) is up, the host holds "unreachable"
# routes for the lab-only ranges (see _ovlab_safety_net): nothing sent from
# the host to them can leave the machine.
#
# Client addresses: each config written by ovlab_client_config has a
# certificate of its own (CN vpnns-lab-client-ID-N, N = 1, 2, ...) and the
# server pins its addresses (client-config-dir): 198.18.1.(100+N) and
# 2001:db8:3::(100+N), e.g. .101 and ::101 for the first config.  So an
# openvpn restarted by SIGUSR1 gets the same addresses and pushed options
# even though the server keeps its old session for up to 20 s, and
# --persist-tun keeps the tun device as it would with a real server.  A
# --dynamic config shares the one client certificate (duplicate-cn) and gets
# a pool address: after a SIGUSR1 the old session still holds that address,
# the reconnect gets another one, and OpenVPN then closes and reopens the tun
# device even with persist-tun ("Pulled options changed on restart").
#
# The lab itself never gives the host an address or a route for the VPN: the
# client configs it writes have ifconfig-noexec and route-noexec (the
# plug-in configures the tunnel in its sandbox), and ovlab_openvpn_bg refuses
# to start an openvpn in the host netns whose configuration lacks them
# (unless OVLAB_ALLOW_EXEC=1).  Without a plug-in the tun device simply stays
# down and unconfigured in the host netns.  (OpenVPN still looks up the
# host's default gateways: route_net_gateway and net_gateway_ipv6 in the
# scripts' and plug-ins' environment are this machine's real ones.)
#
# Functions
#   ovlab_up [--persist-tun] [--up-restart] [--dns-option] [--dns6]
#            [--tun-mtu N] [--port N] [--id ID] [--slot K]
#       Build the lab and export the OVLAB_* variables below; non-zero (and
#       a "# ovlab: ERROR" line on stderr) on failure.  Each option can also
#       come from the environment: OVLAB_PERSIST_TUN=1, OVLAB_UP_RESTART=1,
#       OVLAB_DNS_OPTION=1, OVLAB_PUSH_DNS6=1, OVLAB_TUN_MTU=N, OVLAB_PORT=N,
#       OVLAB_ID=ID, OVLAB_SLOT=K (ovlab_down unsets them again).
#         --persist-tun  client configs written by ovlab_client_config get
#                        "persist-tun"
#         --up-restart   ... and "up-restart"
#         --dns-option   push "dns server 1 address 203.0.113.53" and
#                        "dns search-domains vpnns.test" instead of the two
#                        dhcp-options
#         --dns6         also push 2001:db8:203::53 ("dhcp-option DNS6", or
#                        a second address of dns server 1)
#         --tun-mtu N    server "tun-mtu N" and push "tun-mtu N" (2.6
#                        clients accept it up to their tun-mtu-max, 1600)
#         --port N       UDP port (default 1194)
#         --id ID        lab id (1-4 of [a-z0-9]; default random)
#         --slot K       use slot K (0-15) or fail; default: the first free one
#   ovlab_down
#       Tear everything down: the lab's openvpn clients (SIGTERM, 5 s, then
#       SIGKILL) and what they spawned, every service the lab started (by
#       recorded PID, checked against its start time), anything left inside
#       a lab netns, the namespaces, bridge and veths, the temp dir, the
#       slot link.  Idempotent; safe from an EXIT trap; unsets the lab
#       variables.
#   ovlab_trap
#       trap ovlab_down on EXIT (before any EXIT trap already set, e.g.
#       tests/lib/env.sh's cleanup_sandboxes or oclab_down, which still run),
#       and make INT/TERM exit through it.  (oclab_trap replaces the EXIT
#       trap: with both labs, call ovlab_trap after it.  In a subshell it
#       installs just ovlab_down.)
#   ovlab_client_config [--exec] [--dynamic] FILE [LINE...]
#       Write a complete client config FILE (mode 0600): client, dev tun,
#       proto udp, remote (the lab server), nobind, disable-dco,
#       remote-cert-tls server, verify-x509-name, verb 3, ifconfig-noexec,
#       route-noexec, persist-tun / up-restart if the lab has them, the CA,
#       client certificate and key and tls-crypt key inline, then each LINE
#       (e.g. "plugin /path/vpnns-openvpn.so user=vpnnstest name=x",
#       "persist-key", "user nobody", "group nogroup").  Issues the config's
#       own certificate and pins its addresses (see "Client addresses"); sets
#       OVLAB_CONF_CN, OVLAB_CONF_IP4, OVLAB_CONF_IP6 ("pool" with
#       --dynamic), also noted in FILE's second line.  Run at most one
#       openvpn per config at a time.
#         --exec     leave out ifconfig-noexec and route-noexec: only for an
#                    openvpn run in a client netns (OVLAB_OVPN_WRAP), which
#                    then configures its tun there itself
#         --dynamic  the shared certificate and a pool address
#   ovlab_client_addr FILE [ipv4|ipv6|cn]   what ovlab_client_config noted
#   ovlab_openvpn_bg NAME CONFIG [ARGS...]
#       Start "openvpn --config CONFIG ARGS..." in the background as root,
#       with a clean environment (PATH, and HOME, USER, LOGNAME if set; cwd
#       /), output appended to $OVLAB_DIR/openvpn-NAME.log (NAME: 1-16 of
#       [a-z0-9_-]); returns once openvpn runs (not once it is connected:
#       use ovlab_wait_log).  Sets OVLAB_OVPN_PID to openvpn's own PID (also
#       in $OVLAB_DIR/pids/ovpn-NAME.pid) and OVLAB_OVPN_JOB to the bash job
#       (`wait $OVLAB_OVPN_JOB` gives openvpn's exit status).  It runs in the
#       host netns unless OVLAB_OVPN_WRAP (a command prefix; words, a shell
#       function is fine) says otherwise, e.g.
#         OVLAB_OVPN_WRAP="ovlab_client_sandbox c1" ovlab_openvpn_bg k1 C
#       ovlab_down stops it.  In the host netns it refuses a config without
#       ifconfig-noexec and route-noexec unless OVLAB_ALLOW_EXEC=1.
#   ovlab_openvpn_stop NAME [SIGNAL [SECONDS]]
#       Send SIGNAL (default TERM) to that openvpn and wait (default 10 s)
#       until it has exited; non-zero if it has not.
#   ovlab_signal NAME SIGNAL      send SIGNAL (USR1, HUP, ...) to it
#   ovlab_openvpn_pid NAME        print its PID (if it still runs)
#   ovlab_log NAME                print the path of its log
#   ovlab_log_count NAME REGEX    how many lines of its current run (since
#                                 the last "### " start line) match the
#                                 extended REGEX
#   ovlab_wait_log NAME REGEX [SECONDS [N]]
#       Wait (default 15 s) until N (default 1) lines of the current run
#       match, e.g. 'Initialization Sequence Completed'; after a SIGUSR1 wait
#       for N = $(ovlab_log_count NAME RE) + 1.  Fails at once if openvpn
#       has exited.
#   ovlab_tun_dev NAME            the tun device of its current run (from
#                                 "TUN/TAP device X opened"), e.g. tun0
#   ovlab_client_ns NAME
#       Create client netns vpo-ID-NAME (NAME: 1-6 of [a-z0-9]) with a veth
#       "uplink" on the lab bridge (slot 0: 198.51.100.(10+n)/24,
#       2001:db8:100::(10+n)/64 for the n-th client, n = 1..4) and no
#       default route; prints the netns name.
#   ovlab_client_sandbox NAME CMD [ARGS...]
#       Run CMD in that netns in a private mount namespace with a tmpfs on
#       /run and /etc/resolv.conf bind-mounted from $OVLAB_DIR/NAME.resolv.conf
#       (no nameserver at first), so that nothing run there can touch the
#       host's resolv.conf or /run.
#   ovlab_server_exec CMD [ARGS...]    run CMD in the server netns
#   ovlab_mgmt COMMAND...              one command on the server's
#                                      management interface; prints its
#                                      answer (e.g. "status 2", "kill CN");
#                                      status 2 on an ERROR: answer
#   ovlab_sessions                     how many clients the server has
#                                      (a client that went without an exit
#                                      notification counts until the server
#                                      drops it, up to 20 s later)
#   ovlab_wait_sessions N [SECONDS]    wait (default 10 s) until exactly N
#   ovlab_pid_alive PID                PID exists and is not a zombie
#   ovlab_leftovers [ID]               print what of lab ID still exists
#                                      (netns, link, process, dir, slot
#                                      link); empty after ovlab_down
#
# Exported by ovlab_up
#   OVLAB_ID OVLAB_DIR            lab id, temp dir (/tmp/vpo-ID.XXXXXX, 0755)
#   OVLAB_NETNS                   server netns (vpo-ID-srv)
#   OVLAB_HOST_IF                 host-side bridge carrying 198.51.100.1
#   OVLAB_SLOT                    the lab's slot (shared with ocserv labs)
#   OVLAB_LINK4 OVLAB_LINK6       198.51.100.0/24, 2001:db8:100::/64 (slot 0)
#   OVLAB_HOST4 OVLAB_HOST6       198.51.100.1, 2001:db8:100::1 (slot 0)
#   OVLAB_SERVER_IP4 OVLAB_SERVER_IP6   198.51.100.2, 2001:db8:100::2 (slot 0)
#   OVLAB_PORT                    1194 unless set
#   OVLAB_REMOTE                  "198.51.100.2 1194" (slot 0; for "remote")
#   OVLAB_SERVER_CONF OVLAB_SERVER_LOG   the server's config and log
#   OVLAB_SERVER_CN OVLAB_CLIENT_CN      certificate CNs (vpnns-lab-server-ID,
#                                 vpnns-lab-client-ID)
#   OVLAB_CA_CERT OVLAB_CLIENT_CERT OVLAB_CLIENT_KEY OVLAB_TLS_CRYPT_KEY
#                                 PEM files (the key ones 0600)
#   OVLAB_MGMT_PORT               7505 (127.0.0.1 in the server netns)
#   OVLAB_POOL4 OVLAB_POOL6       198.18.1.0/24, 2001:db8:3::/64
#   OVLAB_GW4 OVLAB_GW6           198.18.1.1, 2001:db8:3::1 (the server's
#                                 VPN addresses: route_vpn_gateway, ...)
#   OVLAB_NET9                    198.18.9.0/24 (the second network)
#   OVLAB_DOMAIN OVLAB_NAME       vpnns.test, intranet.vpnns.test
#   OVLAB_NAME9                   net9.vpnns.test (-> 198.18.9.10)
#   OVLAB_DNS OVLAB_DNS6          203.0.113.53, 2001:db8:203::53
#   OVLAB_HTTP4 OVLAB_HTTP6       203.0.113.10, 2001:db8:203::10
#   OVLAB_HTTP9                   198.18.9.10
#   OVLAB_URL4 OVLAB_URL6 OVLAB_URL9   http://203.0.113.10/,
#                                 http://[2001:db8:203::10]/, http://198.18.9.10/
#   OVLAB_PAGE OVLAB_PAGE_SHA256  the exact body of URL4 and URL6 (one line,
#                                 no newline), its sha256
#   OVLAB_PAGE9                   the exact body of URL9 (a different line)
#   OVLAB_BIG_PATH                /big.bin on all three servers
#   OVLAB_BIG_SIZE OVLAB_BIG_SHA256   2097152 random bytes, their sha256
#   OVLAB_PERSIST_TUN OVLAB_UP_RESTART OVLAB_DNS_OPTION OVLAB_PUSH_DNS6
#   OVLAB_TUN_MTU                 the options in force (1/0; MTU or empty)
# Set by ovlab_client_config: OVLAB_CONF_CN OVLAB_CONF_IP4 OVLAB_CONF_IP6;
# by ovlab_openvpn_bg: OVLAB_OVPN_PID OVLAB_OVPN_JOB.
#
# Slots: exactly the mechanism of tests/lab/ocserv-lab.sh (the symlink
# /tmp/vpl-slot-K -> OVLAB_DIR claims slot K; a link to a vanished dir is
# taken over), so that ocserv and OpenVPN labs get distinct link addresses
# and can be up at the same time.  Names here start with "vpo-" (the ocserv
# lab's with "vpl-"), so the two never collide even with the same id.
#
# Timing (2 cores, loaded): ovlab_up 0.8-1.5 s, ovlab_client_config 0.1 s
# (a certificate), a connect 0.1-0.3 s, a SIGUSR1 reconnect 1.1-1.5 s
# (OpenVPN's "Restart pause, 1 second"), ovlab_down 0.7-1.3 s (plus up to 5
# s for a client that ignores SIGTERM).

_OVLAB_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

_ovlab_die() { printf '# ovlab: ERROR: %s\n' "$*" >&2; return 1; }

# --- process bookkeeping (tests/lab/lab-common.sh) ---------------------------

. "$_OVLAB_HERE/lab-common.sh"
ovlab_pid_alive() { lab_pid_alive "$@"; }

# --- helpers -------------------------------------------------------------------

ovlab_server_exec() { ip netns exec "$OVLAB_NETNS" "$@"; }

# ovlab_mgmt COMMAND...: send one command to the management interface (in
# the server netns, through bash's /dev/tcp) and print its answer: up to the
# "END" of a multi-line one, or its "SUCCESS:"/"ERROR:" line; real-time
# ">..." messages are left out.  (Sending "quit" right behind the command can
# close the session before the answer is out: it is sent after.)
ovlab_mgmt() {
	ip netns exec "$OVLAB_NETNS" timeout 5 bash -c '
		port=$1; shift
		exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
		printf "%s\n" "$*" >&3
		rc=1
		while IFS= read -r -t 4 line <&3; do
			line=${line%$'"'"'\r'"'"'}
			case $line in ">"*) continue ;; esac
			printf "%s\n" "$line"
			case $line in
			END|SUCCESS:*) rc=0; break ;;
			ERROR:*) rc=2; break ;;
			esac
		done
		printf "quit\n" >&3
		exit $rc' sh "$OVLAB_MGMT_PORT" "$@"
}

ovlab_sessions() {
	local out
	out=$(ovlab_mgmt status 2 2>/dev/null) || { echo 0; return 1; }
	printf '%s\n' "$out" | grep -c '^CLIENT_LIST,' || true
}

ovlab_wait_sessions() {
	local want=$1 secs=${2:-10} end
	end=$(( $(date +%s%N) + secs * 1000000000 ))
	while [ "$(ovlab_sessions)" != "$want" ]; do
		[ "$(date +%s%N)" -lt "$end" ] || return 1
		sleep 0.1
	done
}

# --- host safety net ------------------------------------------------------------

# The networks behind the VPN and the VPN pools exist only inside the lab's
# namespaces.  On the host they would follow the real default route off
# this machine, so while a lab is up the host holds unreachable routes for
# them.  The intranet ranges are shared with the ocserv lab: they stay while
# any lab (ocserv or OpenVPN) is up; the OpenVPN-only ones while any OpenVPN
# lab is up.  The last lab of all to go also removes the ocserv lab's ranges
# (ocserv-lab.sh keeps them while any lab is up, so when an ocserv lab goes
# down before an OpenVPN lab they would otherwise stay behind).
_OVLAB_SHARED4="203.0.113.0/24"
_OVLAB_SHARED6="2001:db8:203::/64"
_OVLAB_ONLY4="198.18.1.0/24 198.18.9.0/24"
_OVLAB_ONLY6="2001:db8:3::/64"

_ovlab_route_unreach() {  # add|del PREFIX...
	local op=$1 r; shift
	[ $# -gt 0 ] || return 0
	if [ "$op" = add ]; then
		for r in "$@"; do echo "route replace unreachable $r"; done | ip -batch -
	else
		for r in "$@"; do echo "route del unreachable $r"; done | ip -force -batch - 2>/dev/null
	fi
	return 0
}

# _ovlab_labs_up [ovpn]: is any lab (or any OpenVPN lab) up, i.e. a slot link
# pointing to an existing dir (an OpenVPN lab's holds ovlab.id)?
_ovlab_labs_up() {
	local f t
	for f in /tmp/vpl-slot-*; do
		[ -L "$f" ] || continue
		t=$(readlink "$f")
		[ -d "$t" ] || continue
		[ "${1:-}" = ovpn ] && [ ! -e "$t/ovlab.id" ] && continue
		return 0
	done
	return 1
}

_ovlab_safety_net() {  # add | del
	if [ "$1" = add ]; then
		_ovlab_route_unreach add $_OVLAB_SHARED4 $_OVLAB_ONLY4 $_OVLAB_SHARED6 $_OVLAB_ONLY6
		return 0
	fi
	_ovlab_labs_up ovpn || _ovlab_route_unreach del $_OVLAB_ONLY4 $_OVLAB_ONLY6
	if ! _ovlab_labs_up; then
		_ovlab_route_unreach del $_OVLAB_SHARED4 $_OVLAB_SHARED6
		# the ocserv lab's own ranges, by its own definition (a subshell:
		# nothing of it leaks into the caller)
		if [ -r "$_OVLAB_HERE/ocserv-lab.sh" ]; then
			( . "$_OVLAB_HERE/ocserv-lab.sh" >/dev/null 2>&1 &&
				declare -F _oclab_safety_net >/dev/null &&
				_oclab_safety_net del ) >/dev/null 2>&1
		fi
	fi
	return 0
}

# --- up ---------------------------------------------------------------------------

ovlab_up() {
	local persist=${OVLAB_PERSIST_TUN:-0} uprestart=${OVLAB_UP_RESTART:-0}
	local dnsopt=${OVLAB_DNS_OPTION:-0} dns6=${OVLAB_PUSH_DNS6:-0}
	local mtu=${OVLAB_TUN_MTU:-} port=${OVLAB_PORT:-1194}
	local id=${OVLAB_ID:-} slot=${OVLAB_SLOT:-} c
	while [ $# -gt 0 ]; do
		case $1 in
		--persist-tun) persist=1 ;;
		--up-restart) uprestart=1 ;;
		--dns-option) dnsopt=1 ;;
		--dns6) dns6=1 ;;
		--tun-mtu) mtu=$2; shift ;;
		--tun-mtu=*) mtu=${1#*=} ;;
		--port) port=$2; shift ;;
		--port=*) port=${1#*=} ;;
		--id) id=$2; shift ;;
		--id=*) id=${1#*=} ;;
		--slot) slot=$2; shift ;;
		--slot=*) slot=${1#*=} ;;
		*) _ovlab_die "ovlab_up: unknown option $1"; return 1 ;;
		esac
		shift
	done
	[ "$(id -u)" = 0 ] || { _ovlab_die "ovlab_up needs root"; return 1; }
	if [ -n "${OVLAB_DIR:-}" ] && [ -d "$OVLAB_DIR" ]; then
		_ovlab_die "a lab is already up ($OVLAB_DIR); ovlab_down first"; return 1
	fi
	for c in openvpn openssl dnsmasq busybox ip curl timeout mount; do
		command -v "$c" >/dev/null || { _ovlab_die "missing command: $c"; return 1; }
	done
	case $slot in ''|[0-9]|1[0-5]) ;; *) _ovlab_die "bad slot '$slot' (0-15)"; return 1 ;; esac
	case $port in ''|*[!0-9]*) _ovlab_die "bad port '$port'"; return 1 ;; esac
	case $mtu in ''|[0-9][0-9][0-9]|[0-9][0-9][0-9][0-9]) ;; *) _ovlab_die "bad tun MTU '$mtu'"; return 1 ;; esac
	if [ -z "$id" ]; then
		# random, and not one of a lab that (still) exists
		for c in 1 2 3 4 5 6 7 8; do
			id=$(od -An -N2 -tx2 /dev/urandom | tr -d ' \n')
			ls -d /tmp/vpo-"$id".* >/dev/null 2>&1 || ip netns list | grep -q "^vpo-$id-" || break
		done
	fi
	case $id in *[!a-z0-9]*|'') _ovlab_die "bad lab id '$id'"; return 1 ;; esac
	[ ${#id} -le 4 ] || { _ovlab_die "lab id '$id' longer than 4"; return 1; }

	export OVLAB_ID=$id
	export OVLAB_NETNS=vpo-$id-srv
	export OVLAB_HOST_IF=vpo-$id-br
	export OVLAB_DIR
	OVLAB_DIR=$(mktemp -d "/tmp/vpo-$id.XXXXXX") || return 1
	chmod 0755 "$OVLAB_DIR"
	echo "$id" >"$OVLAB_DIR/ovlab.id"   # marks an OpenVPN lab's dir
	mkdir -p "$OVLAB_DIR/pids" "$OVLAB_DIR/pki" "$OVLAB_DIR/www" "$OVLAB_DIR/www9" "$OVLAB_DIR/ccd"
	chmod 0700 "$OVLAB_DIR/pki"
	export OVLAB_SLOT
	OVLAB_SLOT=$(lab_claim_slot OVLAB "$OVLAB_DIR" "$slot") || {
		_ovlab_die "no free lab slot${slot:+ (slot $slot is taken)}"; return 1
	}
	lab_slot_addrs OVLAB "$OVLAB_SLOT"
	export OVLAB_PERSIST_TUN=$persist OVLAB_UP_RESTART=$uprestart
	export OVLAB_DNS_OPTION=$dnsopt OVLAB_PUSH_DNS6=$dns6 OVLAB_TUN_MTU=$mtu
	export OVLAB_PORT=$port OVLAB_REMOTE="$OVLAB_SERVER_IP4 $port"
	export OVLAB_SERVER_CONF=$OVLAB_DIR/server.conf OVLAB_SERVER_LOG=$OVLAB_DIR/server.log
	export OVLAB_SERVER_CN=vpnns-lab-server-$id OVLAB_CLIENT_CN=vpnns-lab-client-$id
	export OVLAB_MGMT_PORT=7505
	export OVLAB_POOL4=198.18.1.0/24 OVLAB_POOL6=2001:db8:3::/64
	export OVLAB_GW4=198.18.1.1 OVLAB_GW6=2001:db8:3::1
	export OVLAB_NET9=198.18.9.0/24 OVLAB_HTTP9=198.18.9.10
	export OVLAB_DOMAIN=vpnns.test OVLAB_NAME=intranet.vpnns.test OVLAB_NAME9=net9.vpnns.test
	export OVLAB_DNS=203.0.113.53 OVLAB_DNS6=2001:db8:203::53
	export OVLAB_HTTP4=203.0.113.10 OVLAB_HTTP6=2001:db8:203::10
	export OVLAB_URL4=http://$OVLAB_HTTP4/ OVLAB_URL6="http://[$OVLAB_HTTP6]/"
	export OVLAB_URL9=http://$OVLAB_HTTP9/
	: >"$OVLAB_DIR/clients"
	echo 0 >"$OVLAB_DIR/configs"

	_ovlab_up_net && _ovlab_up_pki && _ovlab_up_services || {
		_ovlab_die "ovlab_up failed; logs in $OVLAB_DIR (kept until ovlab_down)"
		return 1
	}
}

_ovlab_up_net() {
	local ns=$OVLAB_NETNS br=$OVLAB_HOST_IF hs=vpo-$OVLAB_ID-s len=${OVLAB_LINK4#*/}
	ip netns add "$ns" || return 1
	# the server's tun device is to send nothing of its own: no router
	# solicitations (sent at +0, +4, +12 s... by default), no DAD probes.
	# OpenVPN's server forwards such multicast to every client, and a client
	# with its tun still down (no plug-in, or before the plug-in brought it
	# up) stops reading its socket until the tun can take the packet, i.e.
	# for good, and ping-restarts 10 s later.
	ip netns exec "$ns" sh -c 'for k in router_solicitations dad_transmits; do
		echo 0 >/proc/sys/net/ipv6/conf/default/$k || exit 1; done' || return 1
	ip link add "$br" type bridge || return 1
	# no IPv6 autoconfiguration or router solicitations on the lab bridge
	echo 0 2>/dev/null >"/proc/sys/net/ipv6/conf/$br/accept_ra"
	echo 0 2>/dev/null >"/proc/sys/net/ipv6/conf/$br/autoconf"
	ip -batch - <<-EOF || return 1
	link add $hs type veth peer name uplink netns $ns
	link set $hs master $br
	addr add $OVLAB_HOST4/$len dev $br
	addr add $OVLAB_HOST6/64 dev $br nodad
	link set $hs up
	link set $br up
	EOF
	# the intranet and the second network: dummy interfaces, or veth pairs
	# kept inside the netns when the kernel has no dummy driver
	if ip -n "$ns" link add intra0 type dummy 2>/dev/null; then
		ip -n "$ns" link add net9 type dummy || return 1
	else
		ip -n "$ns" -batch - <<-EOF || return 1
		link add intra0 type veth peer name intra0p
		link add net9 type veth peer name net9p
		link set intra0p up
		link set net9p up
		EOF
	fi
	ip -n "$ns" -batch - <<-EOF || return 1
	link set lo up
	addr add $OVLAB_SERVER_IP4/$len dev uplink
	addr add $OVLAB_SERVER_IP6/64 dev uplink nodad
	link set uplink up
	addr add $OVLAB_HTTP4/24 dev intra0
	addr add $OVLAB_DNS/24 dev intra0
	addr add $OVLAB_HTTP6/64 dev intra0 nodad
	addr add $OVLAB_DNS6/64 dev intra0 nodad
	link set intra0 up
	addr add $OVLAB_HTTP9/24 dev net9
	link set net9 up
	EOF
	_ovlab_safety_net add
}

_OVLAB_EC="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"

_ovlab_up_pki() {
	local d=$OVLAB_DIR/pki
	(
		set -e
		cd "$d"
		umask 077
		openssl req -x509 $_OVLAB_EC -keyout ca.key -out ca.crt -days 30 \
			-subj "/O=vpnns test lab/CN=vpnns-lab-ca-$OVLAB_ID" \
			-addext basicConstraints=critical,CA:TRUE \
			-addext keyUsage=critical,keyCertSign,cRLSign
		openssl req $_OVLAB_EC -keyout server.key -out server.csr \
			-subj "/O=vpnns test lab/CN=$OVLAB_SERVER_CN"
		printf '%s\n' basicConstraints=CA:FALSE \
			keyUsage=critical,digitalSignature,keyAgreement \
			extendedKeyUsage=serverAuth \
			"subjectAltName=DNS:vpn.vpnns.test,IP:$OVLAB_SERVER_IP4,IP:$OVLAB_SERVER_IP6" >server.ext
		openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -set_serial 2 \
			-days 30 -extfile server.ext -out server.crt
		printf '%s\n' basicConstraints=CA:FALSE \
			keyUsage=critical,digitalSignature,keyAgreement \
			extendedKeyUsage=clientAuth >client.ext
		openvpn --genkey tls-crypt tls-crypt.key
		chmod 0644 ca.crt server.crt
	) >"$OVLAB_DIR/pki.log" 2>&1 || { _ovlab_die "PKI generation failed, see $OVLAB_DIR/pki.log"; return 1; }
	_ovlab_issue_client client "$OVLAB_CLIENT_CN" 3 || return 1
	export OVLAB_CA_CERT=$d/ca.crt OVLAB_CLIENT_CERT=$d/client.crt
	export OVLAB_CLIENT_KEY=$d/client.key OVLAB_TLS_CRYPT_KEY=$d/tls-crypt.key
}

# _ovlab_issue_client BASE CN SERIAL: pki/BASE.key and pki/BASE.crt, a
# client certificate for CN signed by the lab CA
_ovlab_issue_client() {
	(
		set -e
		cd "$OVLAB_DIR/pki"
		umask 077
		openssl req $_OVLAB_EC -keyout "$1.key" -out "$1.csr" -subj "/O=vpnns test lab/CN=$2"
		openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -set_serial "$3" \
			-days 30 -extfile client.ext -out "$1.crt"
		chmod 0644 "$1.crt"
		rm -f "$1.csr"
	) >>"$OVLAB_DIR/pki.log" 2>&1 || { _ovlab_die "cannot issue a client certificate, see $OVLAB_DIR/pki.log"; return 1; }
}

_ovlab_write_server_conf() {
	local d=$OVLAB_DIR
	{
		echo "# generated by tests/lab/openvpn-lab.sh (lab $OVLAB_ID, slot $OVLAB_SLOT)"
		cat <<-EOF
		dev tun
		topology subnet
		proto udp4
		local $OVLAB_SERVER_IP4
		port $OVLAB_PORT
		disable-dco
		server ${OVLAB_POOL4%/*} 255.255.255.0
		server-ipv6 $OVLAB_POOL6
		ca $d/pki/ca.crt
		cert $d/pki/server.crt
		key $d/pki/server.key
		dh none
		tls-crypt $d/pki/tls-crypt.key
		duplicate-cn
		client-config-dir $d/ccd
		keepalive 2 10
		persist-key
		persist-tun
		management 127.0.0.1 $OVLAB_MGMT_PORT
		verb 3
		push "route ${OVLAB_NET9%/*} 255.255.255.0"
		push "route 203.0.113.0 255.255.255.0"
		push "route-ipv6 2001:db8:203::/64"
		EOF
		if [ -n "$OVLAB_TUN_MTU" ]; then
			echo "tun-mtu $OVLAB_TUN_MTU"
			echo "push \"tun-mtu $OVLAB_TUN_MTU\""
		fi
		if [ "$OVLAB_DNS_OPTION" = 1 ]; then
			if [ "$OVLAB_PUSH_DNS6" = 1 ]; then
				echo "push \"dns server 1 address $OVLAB_DNS $OVLAB_DNS6\""
			else
				echo "push \"dns server 1 address $OVLAB_DNS\""
			fi
			echo "push \"dns search-domains $OVLAB_DOMAIN\""
		else
			echo "push \"dhcp-option DNS $OVLAB_DNS\""
			[ "$OVLAB_PUSH_DNS6" = 1 ] && echo "push \"dhcp-option DNS6 $OVLAB_DNS6\""
			echo "push \"dhcp-option DOMAIN $OVLAB_DOMAIN\""
		fi
	} >"$OVLAB_SERVER_CONF"
}

_ovlab_up_services() {
	local ns=$OVLAB_NETNS d=$OVLAB_DIR pid

	# web content: the same page on the intranet (v4 and v6), another one
	# on the second network; the same big file on both
	printf 'vpnns lab intranet page %s' "$OVLAB_ID" >"$d/www/index.html"
	printf 'vpnns lab second network page %s' "$OVLAB_ID" >"$d/www9/index.html"
	head -c 2097152 /dev/urandom >"$d/www/big.bin"
	ln "$d/www/big.bin" "$d/www9/big.bin"
	export OVLAB_PAGE OVLAB_PAGE9 OVLAB_PAGE_SHA256 OVLAB_BIG_SHA256
	OVLAB_PAGE=$(cat "$d/www/index.html")
	OVLAB_PAGE9=$(cat "$d/www9/index.html")
	OVLAB_PAGE_SHA256=$(sha256sum <"$d/www/index.html" | cut -d' ' -f1)
	OVLAB_BIG_SHA256=$(sha256sum <"$d/www/big.bin" | cut -d' ' -f1)
	export OVLAB_BIG_PATH=/big.bin OVLAB_BIG_SIZE=2097152
	: >"$d/httpd.conf"

	# HTTP servers (busybox httpd, foreground, one per address)
	ip netns exec "$ns" busybox httpd -f -v -c "$d/httpd.conf" -h "$d/www" \
		-p "$OVLAB_HTTP4:80" >"$d/httpd4.log" 2>&1 &
	lab_track "$OVLAB_DIR" httpd4 $!
	disown $!
	ip netns exec "$ns" busybox httpd -f -v -c "$d/httpd.conf" -h "$d/www" \
		-p "[$OVLAB_HTTP6]:80" >"$d/httpd6.log" 2>&1 &
	lab_track "$OVLAB_DIR" httpd6 $!
	disown $!
	ip netns exec "$ns" busybox httpd -f -v -c "$d/httpd.conf" -h "$d/www9" \
		-p "$OVLAB_HTTP9:80" >"$d/httpd9.log" 2>&1 &
	lab_track "$OVLAB_DIR" httpd9 $!
	disown $!

	# DNS (dnsmasq, foreground, no upstream, no host files)
	ip netns exec "$ns" dnsmasq --keep-in-foreground --conf-file=/dev/null \
		--no-resolv --no-hosts --no-poll --bind-interfaces \
		--listen-address="$OVLAB_DNS" --listen-address="$OVLAB_DNS6" \
		--except-interface=lo --local=/"$OVLAB_DOMAIN"/ \
		--host-record="$OVLAB_NAME,$OVLAB_HTTP4,$OVLAB_HTTP6" \
		--host-record="$OVLAB_NAME9,$OVLAB_HTTP9" \
		--pid-file="$d/dnsmasq.pid" --user=nobody --group=nogroup \
		--log-facility=- --log-queries >"$d/dnsmasq.log" 2>&1 &
	lab_track "$OVLAB_DIR" dnsmasq $!
	disown $!

	# the OpenVPN server (foreground, clean environment)
	_ovlab_write_server_conf
	ip netns exec "$ns" env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		openvpn --cd "$d" --config "$OVLAB_SERVER_CONF" >"$OVLAB_SERVER_LOG" 2>&1 </dev/null &
	lab_track "$OVLAB_DIR" server $!
	disown $!

	lab_wait 10 grep -q 'Initialization Sequence Completed' "$OVLAB_SERVER_LOG" ||
		{ _ovlab_die "the OpenVPN server did not start (see $OVLAB_SERVER_LOG)"; return 1; }
	if ! lab_wait 5 _ovlab_check_services; then
		_ovlab_die "$(_ovlab_check_services 2>&1) does not answer (logs in $d)"; return 1
	fi
	for pid in httpd4 httpd6 httpd9 dnsmasq server; do
		lab_tracked_pid "$d/pids/$pid.pid" >/dev/null ||
			{ _ovlab_die "$pid is not running"; return 1; }
	done
}

# _ovlab_check_services: in one go inside the server netns, does everything
# answer?  (Prints what does not.)
_ovlab_check_services() {
	ip netns exec "$OVLAB_NETNS" bash -c '
		exec 3<>"/dev/tcp/127.0.0.1/$1" || { echo "the management interface"; exit 1; }
		exec 3>&-
		dig +time=1 +tries=1 +short "@$2" "$3" A | grep -q . || { echo dnsmasq; exit 1; }
		for u in "$4" "$5" "$6"; do
			curl -fsS -o /dev/null --max-time 1 "$u" || { echo "httpd ($u)"; exit 1; }
		done' sh "$OVLAB_MGMT_PORT" "$OVLAB_DNS" "$OVLAB_NAME" "$OVLAB_URL4" "$OVLAB_URL6" "$OVLAB_URL9"
}

# --- client network namespaces ------------------------------------------------

ovlab_client_ns() {
	local name=$1 n ns hs
	case $name in *[!a-z0-9]*|'') _ovlab_die "bad client name '$name'"; return 1 ;; esac
	[ ${#name} -le 6 ] || { _ovlab_die "client name '$name' longer than 6"; return 1; }
	[ "$name" != srv ] && [ "$name" != br ] && [ "$name" != s ] ||
		{ _ovlab_die "client name '$name' is reserved"; return 1; }
	ns=vpo-$OVLAB_ID-$name hs=vpo-$OVLAB_ID-$name
	n=$(( $(wc -l <"$OVLAB_DIR/clients") + 1 ))
	[ "$n" -le 4 ] || { _ovlab_die "at most 4 client netns per lab"; return 1; }
	echo "$name" >>"$OVLAB_DIR/clients"
	ip netns add "$ns" || return 1
	ip -n "$ns" link set lo up || return 1
	ip link add "$hs" type veth peer name uplink netns "$ns" || return 1
	ip link set "$hs" master "$OVLAB_HOST_IF" up || return 1
	ip -n "$ns" addr add "198.51.100.$((16 * OVLAB_SLOT + 10 + n))/${OVLAB_LINK4#*/}" dev uplink || return 1
	ip -n "$ns" addr add "${OVLAB_LINK6%::/64}::$((10 + n))/64" dev uplink nodad || return 1
	ip -n "$ns" link set uplink up || return 1
	printf '# resolv.conf of lab client %s (empty until something sets a server)\n' \
		"$name" >"$OVLAB_DIR/$name.resolv.conf"
	echo "$ns"
}

ovlab_client_sandbox() {
	local name=$1; shift
	ip netns exec "vpo-$OVLAB_ID-$name" sh -c '
		rc=$1; shift
		mount -t tmpfs -o mode=0755 vpo-run /run || exit 1
		t=$(readlink -m /etc/resolv.conf)
		if [ ! -e "$t" ]; then
			case $t in
			/run/*) mkdir -p "$(dirname "$t")" && : >"$t" || exit 1 ;;
			*) echo "ovlab_client_sandbox: no $t to bind over" >&2; exit 1 ;;
			esac
		fi
		mount --bind "$rc" "$t" || exit 1
		exec "$@"' sh "$OVLAB_DIR/$name.resolv.conf" "$@"
}

# --- client configs and openvpn clients ---------------------------------------

ovlab_client_config() {
	local exec=0 dynamic=0 f n cn base ip4 ip6
	while :; do
		case ${1:-} in
		--exec) exec=1; shift ;;
		--dynamic) dynamic=1; shift ;;
		*) break ;;
		esac
	done
	f=${1:-}
	[ -n "$f" ] || { _ovlab_die "usage: ovlab_client_config [--exec] [--dynamic] FILE [LINE...]"; return 1; }
	shift
	[ -n "${OVLAB_DIR:-}" ] && [ -d "$OVLAB_DIR" ] || { _ovlab_die "no lab is up"; return 1; }
	if [ "$dynamic" = 1 ]; then
		cn=$OVLAB_CLIENT_CN base=client ip4=pool ip6=pool
	else
		n=$(( $(cat "$OVLAB_DIR/configs") + 1 ))
		[ "$n" -le 99 ] || { _ovlab_die "at most 99 client configs per lab"; return 1; }
		echo "$n" >"$OVLAB_DIR/configs"
		cn=vpnns-lab-client-$OVLAB_ID-$n base=client-$n
		ip4=${OVLAB_POOL4%.0/24}.$((100 + n)) ip6=${OVLAB_POOL6%::/64}::$((100 + n))
		_ovlab_issue_client "$base" "$cn" $((100 + n)) || return 1
		printf 'ifconfig-push %s 255.255.255.0\nifconfig-ipv6-push %s/64 %s\n' \
			"$ip4" "$ip6" "$OVLAB_GW6" >"$OVLAB_DIR/ccd/$cn"
	fi
	OVLAB_CONF_CN=$cn OVLAB_CONF_IP4=$ip4 OVLAB_CONF_IP6=$ip6
	(
		umask 077
		{
			echo "# generated by tests/lab/openvpn-lab.sh for lab $OVLAB_ID (slot $OVLAB_SLOT)"
			echo "# ovlab: cn=$cn ipv4=$ip4 ipv6=$ip6"
			cat <<-EOF
			client
			dev tun
			proto udp
			remote $OVLAB_REMOTE
			nobind
			disable-dco
			remote-cert-tls server
			verify-x509-name $OVLAB_SERVER_CN name
			verb 3
			EOF
			if [ "$exec" = 0 ]; then
				echo ifconfig-noexec
				echo route-noexec
			fi
			[ "$OVLAB_PERSIST_TUN" = 1 ] && echo persist-tun
			[ "$OVLAB_UP_RESTART" = 1 ] && echo up-restart
			echo "<ca>"; cat "$OVLAB_CA_CERT"; echo "</ca>"
			echo "<cert>"; cat "$OVLAB_DIR/pki/$base.crt"; echo "</cert>"
			echo "<key>"; cat "$OVLAB_DIR/pki/$base.key"; echo "</key>"
			echo "<tls-crypt>"; cat "$OVLAB_TLS_CRYPT_KEY"; echo "</tls-crypt>"
			if [ $# -gt 0 ]; then printf '%s\n' "$@"; fi
		} >"$f"
	)
}

# ovlab_client_addr FILE [cn|ipv4|ipv6]: what ovlab_client_config noted in
# FILE (default ipv4; "pool" for a --dynamic one)
ovlab_client_addr() {
	sed -n "s/^# ovlab: .*\<${2:-ipv4}=\([^ ]*\).*/\1/p" "$1" | head -n1
}

_ovlab_check_name() {
	case $1 in *[!a-z0-9_-]*|'') _ovlab_die "bad openvpn name '$1'"; return 1 ;; esac
	[ ${#1} -le 16 ] || { _ovlab_die "openvpn name '$1' longer than 16"; return 1; }
}

# _ovlab_noexec_ok CONFIG ARGS...: both ifconfig-noexec and route-noexec are
# in CONFIG or among ARGS
_ovlab_noexec_ok() {
	local conf=$1 o a found; shift
	for o in ifconfig-noexec route-noexec; do
		found=0
		grep -Eq "^[[:space:]]*(--)?$o([[:space:]]|\$)" "$conf" 2>/dev/null && found=1
		for a in "$@"; do [ "$a" = "--$o" ] && found=1; done
		[ "$found" = 1 ] || return 1
	done
}

# _ovlab_launch PIDFILE CONFIG ARGS...: exec openvpn through $OVLAB_OVPN_WRAP
# with a clean environment, writing its PID to PIDFILE first.
_ovlab_launch() {
	local pidfile=$1 wrap=(); shift
	read -ra wrap <<<"${OVLAB_OVPN_WRAP:-}"
	"${wrap[@]}" bash -c '
		echo $$ >&3
		# no descriptor of the caller (a $(...) pipe would never see EOF)
		for fd in /proc/$$/fd/*; do
			fd=${fd##*/}
			[ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null
		done
		cd /
		exec env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
			${HOME:+HOME=$HOME} ${USER:+USER=$USER} ${LOGNAME:+LOGNAME=$LOGNAME} \
			openvpn --config "$@"' sh "$@" 3>"$pidfile" </dev/null
}


# _ovlab_kill_launcher TMPFILE: stop the launcher/openvpn whose PID is in
# TMPFILE, if that PID still is one of this lab's (its command line names a
# file in the lab dir, which is unique to the lab).
_ovlab_kill_launcher() {
	local pid
	[ -s "$1" ] || { rm -f "$1"; return 0; }
	read -r pid <"$1"
	if [ -n "$pid" ] && [ -n "${OVLAB_DIR:-}" ] &&
		tr '\0' '\n' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF -- "$OVLAB_DIR/"; then
		lab_kill_wait 2000 $(lab_descendants "$pid") "$pid"
	fi
	rm -f "$1"
}

ovlab_openvpn_bg() {
	local name=${1:-} conf=${2:-} pidfile log pid; shift 2 || true
	_ovlab_check_name "$name" || return 1
	[ -n "${OVLAB_DIR:-}" ] && [ -d "$OVLAB_DIR" ] || { _ovlab_die "no lab is up"; return 1; }
	[ -r "$conf" ] || { _ovlab_die "no config '$conf'"; return 1; }
	case $conf in /*) ;; *) conf=$(pwd)/$conf ;; esac
	if [ -z "${OVLAB_OVPN_WRAP:-}" ] && [ "${OVLAB_ALLOW_EXEC:-0}" != 1 ] &&
		! _ovlab_noexec_ok "$conf" "$@"; then
		_ovlab_die "refusing to run openvpn $name in the host netns without ifconfig-noexec and route-noexec (OVLAB_ALLOW_EXEC=1 overrides)"
		return 1
	fi
	pidfile=$OVLAB_DIR/pids/ovpn-$name.pid log=$OVLAB_DIR/openvpn-$name.log
	if pid=$(lab_tracked_pid "$pidfile"); then
		_ovlab_die "openvpn $name is already running (PID $pid)"; return 1
	fi
	{
		printf '### %s' "$(date '+%T.%N')"
		[ -n "${OVLAB_OVPN_WRAP:-}" ] && printf ' %s' "$OVLAB_OVPN_WRAP"
		printf ' openvpn --config %q' "$conf"
		[ $# -gt 0 ] && printf ' %q' "$@"
		printf '\n'
	} >>"$log"
	: >"$pidfile.tmp"
	_ovlab_launch "$pidfile.tmp" "$conf" "$@" >>"$log" 2>&1 &
	OVLAB_OVPN_JOB=$!
	# wait until the launcher has exec'd into openvpn
	if ! lab_wait 5 lab_is_comm_file "$pidfile.tmp" openvpn; then
		_ovlab_die "openvpn $name did not start (see $log)"
		_ovlab_kill_launcher "$pidfile.tmp"
		OVLAB_OVPN_PID=
		return 1
	fi
	read -r pid <"$pidfile.tmp"
	lab_track "$OVLAB_DIR" "ovpn-$name" "$pid"
	rm -f "$pidfile.tmp"
	export OVLAB_OVPN_PID=$pid
}

ovlab_openvpn_pid() { lab_tracked_pid "$OVLAB_DIR/pids/ovpn-$1.pid"; }

ovlab_openvpn_stop() {
	local name=$1 sig=${2:-TERM} secs=${3:-10} pid
	pid=$(ovlab_openvpn_pid "$name") || return 0
	kill "-$sig" "$pid" 2>/dev/null
	lab_wait "$secs" lab_not_alive "$pid"
}

ovlab_signal() {
	local pid
	pid=$(ovlab_openvpn_pid "$1") || { _ovlab_die "openvpn $1 is not running"; return 1; }
	kill "-${2#SIG}" "$pid"
}

ovlab_log() { echo "$OVLAB_DIR/openvpn-$1.log"; }

ovlab_log_count() {
	RE=$2 awk '/^### / { n = 0; next } $0 ~ ENVIRON["RE"] { n++ } END { print n + 0 }' \
		"$OVLAB_DIR/openvpn-$1.log" 2>/dev/null || echo 0
}

ovlab_wait_log() {
	local name=$1 re=$2 secs=${3:-15} want=${4:-1} end pid
	end=$(( $(date +%s%N) + secs * 1000000000 ))
	pid=$(ovlab_openvpn_pid "$name") || pid=
	while [ "$(ovlab_log_count "$name" "$re")" -lt "$want" ]; do
		[ "$(date +%s%N)" -lt "$end" ] || return 1
		if [ -z "$pid" ] || ! ovlab_pid_alive "$pid"; then
			# one last look: it may have logged it on its way out
			[ "$(ovlab_log_count "$name" "$re")" -ge "$want" ] && return 0
			return 1
		fi
		sleep 0.05
	done
}

ovlab_tun_dev() {
	awk '/^### / { d = "" } match($0, /TUN\/TAP device [^ ]+ opened/) {
		d = substr($0, RSTART + 15, RLENGTH - 22) } END { if (d != "") print d; else exit 1 }' \
		"$OVLAB_DIR/openvpn-$1.log" 2>/dev/null
}

# --- down --------------------------------------------------------------------------

ovlab_down() {
	local id=${OVLAB_ID:-} d=${OVLAB_DIR:-} f pid ns name nspids
	local -a ovpids=() kids=() svc=()
	[ -n "$id" ] || return 0
	if [ -n "$d" ] && [ -d "$d/pids" ]; then
		# openvpn clients first (their plug-ins tear down on SIGTERM), then
		# whatever they spawned if it outlived them
		for f in "$d"/pids/ovpn-*.pid; do
			pid=$(lab_tracked_pid "$f") || continue
			ovpids+=("$pid")
			kids+=($(lab_descendants "$pid"))
			kill -TERM "$pid" 2>/dev/null
		done
		for pid in "${ovpids[@]}"; do
			lab_wait 5 lab_not_alive "$pid"
		done
		for pid in "${ovpids[@]}"; do
			ovlab_pid_alive "$pid" || continue
			kids+=($(lab_descendants "$pid"))
			lab_kill_wait 2000 "$pid"
		done
		for pid in "${kids[@]}"; do
			ovlab_pid_alive "$pid" && lab_kill_wait 2000 "$pid"
		done
		# an openvpn interrupted while starting
		for f in "$d"/pids/*.tmp; do
			[ -e "$f" ] && OVLAB_DIR=$d _ovlab_kill_launcher "$f"
		done
		# the services (server, dnsmasq, httpd)
		for f in "$d"/pids/*.pid; do
			pid=$(lab_tracked_pid "$f") || continue
			svc+=("$pid")
		done
		lab_kill_wait 500 "${svc[@]}"
	fi
	# anything still inside a lab namespace is the lab's too
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^vpo-$id-"); do
		nspids=$(ip netns pids "$ns" 2>/dev/null)
		[ -z "$nspids" ] || lab_kill_wait 2000 $nspids
		ip netns del "$ns" 2>/dev/null
	done
	for name in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//' | grep -E "^vpo-$id-"); do
		ip link del "$name" 2>/dev/null
	done
	for f in /tmp/vpl-slot-*; do
		[ -L "$f" ] || continue
		case $(readlink "$f") in /tmp/vpo-"$id".*) rm -f "$f" ;; esac
	done
	if [ -n "$d" ] && [ -d "$d" ]; then
		case $d in /tmp/vpo-"$id".*) rm -rf -- "$d" ;; esac
	fi
	_ovlab_safety_net del
	unset OVLAB_ID OVLAB_DIR OVLAB_NETNS OVLAB_HOST_IF OVLAB_SLOT OVLAB_PORT \
		OVLAB_PERSIST_TUN OVLAB_UP_RESTART OVLAB_DNS_OPTION OVLAB_PUSH_DNS6 \
		OVLAB_TUN_MTU OVLAB_OVPN_PID OVLAB_OVPN_JOB OVLAB_CONF_CN OVLAB_CONF_IP4 OVLAB_CONF_IP6
	return 0
}

ovlab_leftovers() {
	local id=${1:-${OVLAB_ID:-}} p c
	[ -n "$id" ] || return 0
	ip netns list 2>/dev/null | awk '{print "netns " $1}' | grep -E " vpo-$id-"
	ip -o link show 2>/dev/null | awk -F': ' '{print "link " $2}' | grep -E " vpo-$id-"
	for p in $(grep -lsF -- "/tmp/vpo-$id." /proc/[0-9]*/cmdline 2>/dev/null); do
		p=${p#/proc/}; p=${p%/cmdline}
		c=$(tr "\\0" " " 2>/dev/null <"/proc/$p/cmdline") || continue
		[ -n "$c" ] && echo "process $p: $c"
	done
	ls -d /tmp/vpo-"$id".* 2>/dev/null | sed 's/^/dir /'
	for p in /tmp/vpl-slot-*; do
		[ -L "$p" ] || continue
		case $(readlink "$p") in /tmp/vpo-"$id".*) echo "slot link $p" ;; esac
	done
	return 0
}

ovlab_trap() {
	local prev=
	# keep an EXIT trap already set (env.sh's cleanup_sandboxes, oclab_down)
	# and run it after ovlab_down; not in a subshell, which has none of its
	# own yet (trap -p there shows the parent's)
	if [ "$BASHPID" = "$$" ]; then
		eval "set -- $(trap -p EXIT)"
		[ $# -ge 3 ] && prev=$3
	fi
	case $prev in
	*ovlab_down*) trap -- "$prev" EXIT ;;
	*) trap -- "ovlab_down${prev:+; $prev}" EXIT ;;
	esac
	trap 'exit 130' INT
	trap 'exit 143' TERM
}
