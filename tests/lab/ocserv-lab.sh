# tests/lab/ocserv-lab.sh - a throw-away OpenConnect VPN lab in network
# namespaces, for the integration tests.  Source it from a bash test that runs
# as root, call oclab_up in the test's own shell (not inside $(...) or a
# pipeline: it exports variables and records what it started), and make sure
# oclab_down runs: oclab_trap installs an EXIT trap that does it.
#
#   . tests/lab/ocserv-lab.sh
#   oclab_trap
#   oclab_up --split || exit 1
#   OCLAB_OC_WRAP=as_user oclab_openconnect_bg u1 --script-tun --script "$S"
#   ...
#   oclab_down
#
# Debian packages needed (bookworm):
#   ocserv openconnect vpnc-scripts gnutls-bin dnsmasq busybox iproute2
#   util-linux (setpriv, mount) coreutils mawk curl dnsutils
# (busybox provides the HTTP server; vpnc-scripts comes with openconnect;
# tests/lab/smoke-ocserv.sh also uses iputils-ping.)
#
# Topology (ID is OCLAB_ID, 4 hex digits unless you set it; addresses are
# those of slot 0, see "Slots" below):
#
#   host netns                          server netns vpl-ID-srv
#   bridge vpl-ID-br                    uplink  198.51.100.2/24
#     198.51.100.1/24                           2001:db8:100::2/64
#     2001:db8:100::1/64    <-- veth -->        ocserv tcp+udp :OCLAB_PORT
#     ports: vpl-ID-s (server)          intra0  203.0.113.10, .53 /24
#            vpl-ID-NAME (clients)              2001:db8:203::10, ::53 /64
#                                               busybox httpd on .10 / ::10 :80
#   client netns vpl-ID-NAME                    dnsmasq on .53 / ::53
#     uplink 198.51.100.(10+n)/24               ocserv's tun devices vplID-N
#            2001:db8:100::(10+n)/64    (n = 1..4)
#
# The host side is a bridge carrying 198.51.100.1, so that client namespaces
# reach the server on the same link without the host forwarding anything: no
# sysctl, default route or resolv.conf is touched.  The intranet
# (203.0.113.0/24, 2001:db8:203::/64) exists only inside the server netns and
# is reachable only through the VPN.  intra0 is a dummy interface, or a veth
# pair kept inside the server netns when the kernel has no dummy driver (the
# Firecracker kernel of these VMs has none).  ocserv: password auth (plain
# file made with ocpasswd) for test/test, pools 198.18.0.0/24 and
# 2001:db8:2::/48 (a /64 per session), DNS 203.0.113.53, default domain
# vpnns.test, max-same-clients = 0 (unlimited), no ban scoring, occtl socket
# in the lab dir.  Everything the lab writes is under OCLAB_DIR.  While any
# lab is up the host also holds "unreachable" routes for the lab-only ranges
# (intranet and pools, see _oclab_safety_net), removed with the last lab.
#
# Functions
#   oclab_up [--split] [--mtu N] [--link-mtu N] [--port N] [--no-dtls]
#            [--dns6] [--id ID] [--slot K]
#       Build the lab and export the OCLAB_* variables below; non-zero (and
#       a "# oclab: ERROR" line on stderr) on failure.  Each option can also
#       come from the environment: OCLAB_SPLIT=1, OCLAB_MTU=N,
#       OCLAB_LINK_MTU=N, OCLAB_PORT=N, OCLAB_DTLS=0, OCLAB_PUSH_DNS6=1,
#       OCLAB_ID=ID, OCLAB_SLOT=K (oclab_down unsets them again).
#         --split     push only routes 203.0.113.0/24 and 2001:db8:203::/64
#                     (CISCO_SPLIT_INC_*) instead of the default routes
#         --mtu N     tunnel MTU: openconnect reports INTERNAL_IP4_MTU=N.
#                     ocserv's "mtu" is the link (base) MTU and it offers
#                     that minus its per-packet overhead, so the lab sets
#                     ocserv "mtu = N+66" (DTLS 1.2 AES-256-GCM, the default
#                     here) or N+28 (--no-dtls: TLS 1.3 AES-256-GCM); it
#                     also raises the link MTU to 9000 when N > 1400, since
#                     ocserv caps the base MTU at openconnect's X-CSTP-Base-MTU
#                     (derived from its path MTU) and at the TCP MSS - 13.
#                     A client run with --no-dtls on a DTLS lab gets N+38;
#                     one run with --base-mtu below N+66 gets less.
#         --link-mtu  MTU of the veths and bridge (default 1500, see --mtu)
#         --no-dtls   no udp-port: CSTP (TLS) only
#         --dns6      also push 2001:db8:203::53 (openconnect 9.01 then puts
#                     both servers in INTERNAL_IP4_DNS, space-separated)
#         --id ID     lab id (1-4 of [a-z0-9]; default random)
#         --slot K    use slot K (0-15) or fail; default: the first free one
#   oclab_down
#       Tear everything down: the lab's openconnect clients (SIGINT, then
#       SIGKILL) and what they spawned, every service the lab started (by
#       recorded PID, checked against its start time), anything left inside
#       a lab netns, the namespaces, bridge and veths, the temp dir.
#       Idempotent; safe from an EXIT trap; unsets the lab variables.
#   oclab_trap
#       trap oclab_down on EXIT, and make INT/TERM exit through it.
#   oclab_openconnect_args [ARGS...]
#       Print the openconnect arguments, one a line, server last:
#       --protocol=anyconnect --user=test --passwd-on-stdin --non-inter
#       --servercert=pin-sha256:... ARGS... 198.51.100.2:443 (or
#       $OCLAB_OC_SERVER if set, e.g. OCLAB_OC_SERVER=$OCLAB_SERVER6).
#       The password (OCLAB_PASS) goes on stdin.
#   oclab_openconnect_cmd [ARGS...]
#       Print the same as one shell-quoted "openconnect ..." command line.
#   oclab_openconnect [ARGS...]
#       Run openconnect in the foreground with the password on stdin, its
#       output appended to $OCLAB_OC_LOG.  Returns openconnect's status.
#       (Use oclab_openconnect_bg rather than openconnect's --background.)
#   oclab_openconnect_bg NAME [ARGS...]
#       Start it in the background, output to $OCLAB_DIR/openconnect-NAME.log;
#       returns once openconnect runs (not once it is connected: wait for
#       your script's output or oclab_wait_sessions).  Sets OCLAB_OC_PID to
#       openconnect's own PID (also in $OCLAB_DIR/pids/oc-NAME.pid) and
#       OCLAB_OC_JOB to the bash job (`wait $OCLAB_OC_JOB` gives
#       openconnect's exit status).  oclab_down stops it.
#     Both runners start openconnect with a clean environment (PATH, and
#     HOME, USER, LOGNAME if set; cwd /) through the command prefix in
#     OCLAB_OC_WRAP (words; a shell function is fine), e.g.
#       OCLAB_OC_WRAP=as_user oclab_openconnect_bg u1 --script-tun --script S
#       OCLAB_OC_WRAP="ip netns exec vpl-ab12-c1" oclab_openconnect ...
#       OCLAB_OC_WRAP="oclab_client_sandbox c1" oclab_openconnect_bg k1 ...
#   oclab_openconnect_stop NAME [SIGNAL [SECONDS]]
#       Send SIGNAL (default INT: log off; the kernel path runs the script
#       for disconnect, --script-tun's script gets SIGHUP) to that
#       openconnect and wait (default 10 s) until it has exited.
#   oclab_client_ns NAME
#       Create client netns vpl-ID-NAME (NAME: up to 6 of [a-z0-9]) with a
#       veth "uplink" on the lab bridge (slot 0: 198.51.100.(10+n)/24,
#       2001:db8:100::(10+n)/64 for the n-th client, n = 1..4) and no
#       default route; prints the netns name.
#   oclab_client_sandbox NAME CMD [ARGS...]
#       Run CMD in that netns in a private mount namespace with a tmpfs on
#       /run and /etc/resolv.conf bind-mounted from $OCLAB_DIR/NAME.resolv.conf
#       (no nameserver at first): Debian's vpnc-script runs there without
#       touching the host's resolv.conf or /run/vpnc.  Later sandboxes of the
#       same NAME (e.g. `oclab_client_sandbox c1 getent hosts intranet`)
#       see what vpnc-script wrote into that file.
#   oclab_server_exec CMD [ARGS...]    run CMD in the server netns
#   oclab_occtl ARGS...                occtl on the lab's occtl socket
#   oclab_sessions                     print how many sessions ocserv has
#   oclab_wait_sessions N [SECONDS]    wait (default 10 s) until exactly N
#   oclab_pid_alive PID                PID exists and is not a zombie
#   oclab_leftovers [ID]               print what of lab ID still exists
#                                      (netns, link, process, dir); empty
#                                      after oclab_down
#
# Exported by oclab_up
#   OCLAB_ID OCLAB_DIR            lab id, temp dir (/tmp/vpl-ID.XXXXXX, 0755)
#   OCLAB_NETNS                   server netns (vpl-ID-srv)
#   OCLAB_HOST_IF                 host-side bridge carrying 198.51.100.1
#   OCLAB_SLOT                    the lab's slot (0 unless another lab is up)
#   OCLAB_LINK4 OCLAB_LINK6       198.51.100.0/24, 2001:db8:100::/64 (slot 0)
#   OCLAB_HOST4 OCLAB_HOST6       198.51.100.1, 2001:db8:100::1 (slot 0)
#   OCLAB_SERVER_IP4 OCLAB_SERVER_IP6   198.51.100.2, 2001:db8:100::2 (slot 0)
#   OCLAB_PORT                    443 unless set
#   OCLAB_SERVER OCLAB_SERVER6    198.51.100.2:443, [2001:db8:100::2]:443 (slot 0)
#   OCLAB_CERT_PIN                pin-sha256:... (for --servercert)
#   OCLAB_CA_CERT                 the lab CA certificate (for --cafile)
#   OCLAB_USER OCLAB_PASS         test, test
#   OCLAB_POOL4 OCLAB_POOL6       198.18.0.0/24, 2001:db8:2::/48
#   OCLAB_DOMAIN OCLAB_NAME       vpnns.test, intranet.vpnns.test
#   OCLAB_DNS OCLAB_DNS6          203.0.113.53, 2001:db8:203::53
#   OCLAB_HTTP4 OCLAB_HTTP6       203.0.113.10, 2001:db8:203::10
#   OCLAB_URL4 OCLAB_URL6         http://203.0.113.10/, http://[2001:db8:203::10]/
#   OCLAB_PAGE OCLAB_PAGE_SHA256  the exact body of those URLs (one line, no
#                                 newline), its sha256
#   OCLAB_BIG_PATH                /big.bin, e.g. http://$OCLAB_HTTP4$OCLAB_BIG_PATH
#   OCLAB_BIG_SIZE OCLAB_BIG_SHA256   2097152 random bytes, their sha256
#   OCLAB_SPLIT OCLAB_MTU OCLAB_LINK_MTU OCLAB_PORT OCLAB_DTLS OCLAB_PUSH_DNS6
#                                 the options in force
#   OCLAB_OCSERV_MTU              ocserv's "mtu" (empty unless --mtu)
#   OCLAB_OC_LOG                  log of oclab_openconnect
# and OCLAB_VPNC_SCRIPT (Debian's vpnc-script) is set on sourcing.
#
# Slots: several labs can be up at once (parallel tests, two developers on
# one machine).  Names carry the lab id; the host-side link addresses come
# from a slot, claimed atomically with the symlink /tmp/vpl-slot-K -> OCLAB_DIR
# (removed by oclab_down; a link to a vanished dir is taken over).  Slot 0
# is 198.51.100.0/24 and 2001:db8:100::/64 as above; slot K > 0 is
# 198.51.100.16K/28 and 2001:db8:100:K::/64 (K in hex), host .16K+1 and
# ::1, server .16K+2 and ::2, clients .16K+10+n and ::(10+n); on the host the
# /28 is more specific than slot 0's /24.  The intranet and the VPN pools are
# the same in every lab: they only exist inside each lab's namespaces.
#
# Timing: oclab_up takes about 1 s, a connect 0.2-0.5 s, oclab_down about
# 1 s (clients log off cleanly; ocserv gets 0.3 s, then SIGKILL).

OCLAB_VPNC_SCRIPT=${OCLAB_VPNC_SCRIPT:-/usr/share/vpnc-scripts/vpnc-script}

_oclab_die() { printf '# oclab: ERROR: %s\n' "$*" >&2; return 1; }

# --- process bookkeeping (tests/lab/lab-common.sh) ---------------------------

. "$(dirname "${BASH_SOURCE[0]}")/lab-common.sh"
oclab_pid_alive() { lab_pid_alive "$@"; }

# --- helpers ----------------------------------------------------------------

oclab_server_exec() { ip netns exec "$OCLAB_NETNS" "$@"; }

oclab_occtl() { occtl -s "$OCLAB_DIR/occtl.sock" "$@"; }

oclab_sessions() {
	# the sessions occtl's JSON shows as connected; a TCP connection that
	# has not logged in (a probe of the port) is listed too, as "pre-auth"
	local out
	out=$(oclab_occtl -j show users 2>/dev/null) || { echo 0; return 1; }
	printf '%s\n' "$out" | grep -c '"State": *"connected"' || true
}

oclab_wait_sessions() {
	local want=$1 secs=${2:-10} end
	end=$(( $(date +%s%N) + secs * 1000000000 ))
	while [ "$(oclab_sessions)" != "$want" ]; do
		[ "$(date +%s%N)" -lt "$end" ] || return 1
		sleep 0.1
	done
}


_oclab_tcp_open() { timeout 1 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }

# --- up -----------------------------------------------------------------------



oclab_up() {
	local split=${OCLAB_SPLIT:-0} mtu=${OCLAB_MTU:-} linkmtu=${OCLAB_LINK_MTU:-}
	local port=${OCLAB_PORT:-443} dtls=${OCLAB_DTLS:-1} dns6=${OCLAB_PUSH_DNS6:-0}
	local id=${OCLAB_ID:-} slot=${OCLAB_SLOT:-}
	while [ $# -gt 0 ]; do
		case $1 in
		--split) split=1 ;;
		--mtu) mtu=$2; shift ;;
		--mtu=*) mtu=${1#*=} ;;
		--link-mtu) linkmtu=$2; shift ;;
		--link-mtu=*) linkmtu=${1#*=} ;;
		--port) port=$2; shift ;;
		--port=*) port=${1#*=} ;;
		--no-dtls) dtls=0 ;;
		--dns6) dns6=1 ;;
		--id) id=$2; shift ;;
		--id=*) id=${1#*=} ;;
		--slot) slot=$2; shift ;;
		--slot=*) slot=${1#*=} ;;
		*) _oclab_die "oclab_up: unknown option $1"; return 1 ;;
		esac
		shift
	done
	[ "$(id -u)" = 0 ] || { _oclab_die "oclab_up needs root"; return 1; }
	if [ -n "${OCLAB_DIR:-}" ] && [ -d "$OCLAB_DIR" ]; then
		_oclab_die "a lab is already up ($OCLAB_DIR); oclab_down first"; return 1
	fi
	[ -n "$id" ] || id=$(od -An -N2 -tx2 /dev/urandom | tr -d ' \n')
	case $id in *[!a-z0-9]*|'') _oclab_die "bad lab id '$id'"; return 1 ;; esac
	[ ${#id} -le 4 ] || { _oclab_die "lab id '$id' longer than 4"; return 1; }
	if [ -z "$linkmtu" ]; then
		if [ -n "$mtu" ] && [ "$mtu" -gt 1400 ]; then linkmtu=9000; else linkmtu=1500; fi
	fi
	local c
	for c in ocserv ocpasswd occtl openconnect certtool dnsmasq busybox ip curl; do
		command -v "$c" >/dev/null || { _oclab_die "missing command: $c"; return 1; }
	done
	case $slot in ''|[0-9]|1[0-5]) ;; *) _oclab_die "bad slot '$slot' (0-15)"; return 1 ;; esac

	export OCLAB_ID=$id
	export OCLAB_NETNS=vpl-$id-srv
	export OCLAB_HOST_IF=vpl-$id-br
	export OCLAB_DIR
	OCLAB_DIR=$(mktemp -d "/tmp/vpl-$id.XXXXXX") || return 1
	chmod 0755 "$OCLAB_DIR"
	mkdir -p "$OCLAB_DIR/pids" "$OCLAB_DIR/pki" "$OCLAB_DIR/www"
	chmod 0700 "$OCLAB_DIR/pki"
	export OCLAB_SLOT
	OCLAB_SLOT=$(lab_claim_slot OCLAB "$OCLAB_DIR" "$slot") || {
		_oclab_die "no free lab slot${slot:+ (slot $slot is taken)}"; return 1
	}
	lab_slot_addrs OCLAB "$OCLAB_SLOT"
	export OCLAB_SPLIT=$split OCLAB_MTU=$mtu OCLAB_LINK_MTU=$linkmtu
	export OCLAB_PORT=$port OCLAB_DTLS=$dtls OCLAB_PUSH_DNS6=$dns6
	# ocserv "mtu" is the link (base) MTU; the tunnel MTU it offers is that
	# minus its per-packet overhead for the negotiated channel: 66 for DTLS 1.2
	# with AES-256-GCM (what openconnect 9 and ocserv 1.1 agree on), 28 for
	# TLS 1.3 AES-256-GCM when there is no DTLS.
	export OCLAB_OCSERV_MTU=
	if [ -n "$mtu" ]; then
		if [ "$dtls" = 1 ]; then OCLAB_OCSERV_MTU=$((mtu + 66)); else OCLAB_OCSERV_MTU=$((mtu + 28)); fi
	fi
	export OCLAB_SERVER=$OCLAB_SERVER_IP4:$port
	export OCLAB_SERVER6="[$OCLAB_SERVER_IP6]:$port"
	export OCLAB_USER=test OCLAB_PASS=test
	export OCLAB_POOL4=198.18.0.0/24 OCLAB_POOL6=2001:db8:2::/48
	export OCLAB_DOMAIN=vpnns.test OCLAB_NAME=intranet.vpnns.test
	export OCLAB_DNS=203.0.113.53 OCLAB_DNS6=2001:db8:203::53
	export OCLAB_HTTP4=203.0.113.10 OCLAB_HTTP6=2001:db8:203::10
	export OCLAB_URL4=http://$OCLAB_HTTP4/ OCLAB_URL6="http://[$OCLAB_HTTP6]/"
	export OCLAB_OC_LOG=$OCLAB_DIR/openconnect.log
	: >"$OCLAB_DIR/clients"

	_oclab_up_net && _oclab_up_pki && _oclab_up_services || {
		_oclab_die "oclab_up failed; logs in $OCLAB_DIR (kept until oclab_down)"
		return 1
	}
}

_oclab_up_net() {
	local ns=$OCLAB_NETNS br=$OCLAB_HOST_IF hs=vpl-$OCLAB_ID-s
	ip netns add "$ns" || return 1
	ip -n "$ns" link set lo up || return 1
	ip link add "$br" type bridge || return 1
	# no IPv6 autoconfiguration or router solicitations on the lab bridge
	echo 0 2>/dev/null >"/proc/sys/net/ipv6/conf/$br/accept_ra"
	echo 0 2>/dev/null >"/proc/sys/net/ipv6/conf/$br/autoconf"
	ip link add "$hs" mtu "$OCLAB_LINK_MTU" type veth peer name uplink netns "$ns" mtu "$OCLAB_LINK_MTU" || return 1
	ip link set "$hs" master "$br" || return 1
	ip link set "$br" mtu "$OCLAB_LINK_MTU" || return 1
	ip addr add "$OCLAB_HOST4/${OCLAB_LINK4#*/}" dev "$br" || return 1
	ip addr add "$OCLAB_HOST6/64" dev "$br" nodad || return 1
	ip link set "$hs" up && ip link set "$br" up || return 1
	ip -n "$ns" addr add "$OCLAB_SERVER_IP4/${OCLAB_LINK4#*/}" dev uplink || return 1
	ip -n "$ns" addr add "$OCLAB_SERVER_IP6/64" dev uplink nodad || return 1
	ip -n "$ns" link set uplink up || return 1
	# the intranet: a dummy interface, or a veth pair inside the netns
	if ! ip -n "$ns" link add intra0 type dummy 2>/dev/null; then
		ip -n "$ns" link add intra0 type veth peer name intra0p || return 1
		ip -n "$ns" link set intra0p up || return 1
	fi
	ip -n "$ns" addr add 203.0.113.10/24 dev intra0 || return 1
	ip -n "$ns" addr add 203.0.113.53/24 dev intra0 || return 1
	ip -n "$ns" addr add 2001:db8:203::10/64 dev intra0 nodad || return 1
	ip -n "$ns" addr add 2001:db8:203::53/64 dev intra0 nodad || return 1
	ip -n "$ns" link set intra0 up || return 1
	_oclab_safety_net add
}

# The intranet and the VPN pools exist only inside the lab's namespaces.  On
# the host they would follow the real default route off this machine, so
# while any lab is up the host holds unreachable routes for them: a test
# that slips and asks the host for a lab address fails here, at once,
# instead of sending a packet anywhere.  (The pools avoid 192.0.2.0/24,
# which some of these VMs use for their own uplink.)
_OCLAB_LAB_ONLY4="203.0.113.0/24 198.18.0.0/24"
_OCLAB_LAB_ONLY6="2001:db8:203::/64 2001:db8:2::/48"
_oclab_safety_net() {  # add | del
	local r f
	if [ "$1" = del ]; then
		# another lab still up keeps them
		for f in /tmp/vpl-slot-*; do [ -L "$f" ] && [ -d "$(readlink "$f")" ] && return 0; done
	fi
	for r in $_OCLAB_LAB_ONLY4; do
		if [ "$1" = add ]; then ip route replace unreachable "$r"; else ip route del unreachable "$r" 2>/dev/null; fi
	done
	for r in $_OCLAB_LAB_ONLY6; do
		if [ "$1" = add ]; then ip -6 route replace unreachable "$r"; else ip -6 route del unreachable "$r" 2>/dev/null; fi
	done
	return 0
}

_oclab_up_pki() {
	local d=$OCLAB_DIR/pki
	cat >"$d/ca.tmpl" <<-EOF
	cn = "vpnns test lab CA $OCLAB_ID"
	organization = "vpnns test lab"
	serial = 1
	expiration_days = 30
	ca
	signing_key
	cert_signing_key
	crl_signing_key
	EOF
	cat >"$d/server.tmpl" <<-EOF
	cn = "$OCLAB_SERVER_IP4"
	organization = "vpnns test lab"
	serial = 2
	expiration_days = 30
	ip_address = "$OCLAB_SERVER_IP4"
	ip_address = "$OCLAB_SERVER_IP6"
	dns_name = "vpn.vpnns.test"
	signing_key
	encryption_key
	tls_www_server
	EOF
	{
		certtool --generate-privkey --key-type=rsa --bits=2048 --outfile "$d/ca-key.pem" &&
		certtool --generate-self-signed --load-privkey "$d/ca-key.pem" \
			--template "$d/ca.tmpl" --outfile "$d/ca-cert.pem" &&
		certtool --generate-privkey --key-type=rsa --bits=2048 --outfile "$d/server-key.pem" &&
		certtool --generate-certificate --load-privkey "$d/server-key.pem" \
			--load-ca-certificate "$d/ca-cert.pem" --load-ca-privkey "$d/ca-key.pem" \
			--template "$d/server.tmpl" --outfile "$d/server-cert.pem"
	} >"$OCLAB_DIR/certtool.log" 2>&1 || { _oclab_die "certtool failed, see $OCLAB_DIR/certtool.log"; return 1; }
	cp "$d/ca-cert.pem" "$OCLAB_DIR/ca-cert.pem"
	export OCLAB_CA_CERT=$OCLAB_DIR/ca-cert.pem
	export OCLAB_CERT_PIN
	OCLAB_CERT_PIN=$(certtool --certificate-info --infile "$d/server-cert.pem" |
		grep -o 'pin-sha256:[A-Za-z0-9+/=]*' | head -n1)
	[ -n "$OCLAB_CERT_PIN" ] || { _oclab_die "no pin-sha256 in certtool output"; return 1; }
	printf '%s\n%s\n' "$OCLAB_PASS" "$OCLAB_PASS" |
		ocpasswd -c "$OCLAB_DIR/ocpasswd" "$OCLAB_USER" >/dev/null 2>&1 ||
		{ _oclab_die "ocpasswd failed"; return 1; }
}

_oclab_write_ocserv_conf() {
	local f=$OCLAB_DIR/ocserv.conf
	{
		echo "# generated by tests/lab/ocserv-lab.sh"
		echo "auth = \"plain[passwd=$OCLAB_DIR/ocpasswd]\""
		echo "tcp-port = $OCLAB_PORT"
		[ "$OCLAB_DTLS" = 1 ] && echo "udp-port = $OCLAB_PORT"
		cat <<-EOF
		run-as-user = nobody
		run-as-group = nogroup
		socket-file = $OCLAB_DIR/ocserv.sock
		occtl-socket-file = $OCLAB_DIR/occtl.sock
		use-occtl = true
		pid-file = $OCLAB_DIR/ocserv.pid
		server-cert = $OCLAB_DIR/pki/server-cert.pem
		server-key = $OCLAB_DIR/pki/server-key.pem
		isolate-workers = true
		max-clients = 64
		max-same-clients = 0
		rate-limit-ms = 0
		server-stats-reset-time = 604800
		keepalive = 32400
		dpd = 90
		mobile-dpd = 1800
		switch-to-tcp-timeout = 25
		try-mtu-discovery = false
		tls-priorities = "NORMAL:%SERVER_PRECEDENCE:%COMPAT:-VERS-SSL3.0:-VERS-TLS1.0:-VERS-TLS1.1"
		auth-timeout = 240
		min-reauth-time = 1
		max-ban-score = 0
		ban-reset-time = 1200
		cookie-timeout = 300
		deny-roaming = false
		rekey-time = 172800
		rekey-method = ssl
		use-utmp = false
		log-level = 2
		device = vpl$OCLAB_ID-
		predictable-ips = true
		default-domain = $OCLAB_DOMAIN
		ipv4-network = $OCLAB_POOL4
		ipv6-network = $OCLAB_POOL6
		ipv6-subnet-prefix = 64
		dns = $OCLAB_DNS
		ping-leases = false
		cisco-client-compat = true
		dtls-legacy = true
		EOF
		[ "$OCLAB_PUSH_DNS6" = 1 ] && echo "dns = $OCLAB_DNS6"
		[ -n "$OCLAB_OCSERV_MTU" ] && echo "mtu = $OCLAB_OCSERV_MTU"
		if [ "$OCLAB_SPLIT" = 1 ]; then
			echo "route = 203.0.113.0/255.255.255.0"
			echo "route = 2001:db8:203::/64"
		else
			echo "route = default"
		fi
	} >"$f"
}

_oclab_up_services() {
	local ns=$OCLAB_NETNS d=$OCLAB_DIR pid

	# web content
	printf 'vpnns lab intranet page %s' "$OCLAB_ID" >"$d/www/index.html"
	head -c 2097152 /dev/urandom >"$d/www/big.bin"
	export OCLAB_PAGE OCLAB_PAGE_SHA256 OCLAB_BIG_SHA256
	OCLAB_PAGE=$(cat "$d/www/index.html")
	OCLAB_PAGE_SHA256=$(sha256sum <"$d/www/index.html" | cut -d' ' -f1)
	OCLAB_BIG_SHA256=$(sha256sum <"$d/www/big.bin" | cut -d' ' -f1)
	export OCLAB_BIG_PATH=/big.bin OCLAB_BIG_SIZE=2097152
	: >"$d/httpd.conf"

	# HTTP servers (busybox httpd, foreground, one per address)
	ip netns exec "$ns" busybox httpd -f -v -c "$d/httpd.conf" -h "$d/www" \
		-p "$OCLAB_HTTP4:80" >"$d/httpd4.log" 2>&1 &
	lab_track "$OCLAB_DIR" httpd4 $!
	disown $!
	ip netns exec "$ns" busybox httpd -f -v -c "$d/httpd.conf" -h "$d/www" \
		-p "[$OCLAB_HTTP6]:80" >"$d/httpd6.log" 2>&1 &
	lab_track "$OCLAB_DIR" httpd6 $!
	disown $!

	# DNS (dnsmasq, foreground, no upstream, no host files)
	ip netns exec "$ns" dnsmasq --keep-in-foreground --conf-file=/dev/null \
		--no-resolv --no-hosts --no-poll --bind-interfaces \
		--listen-address="$OCLAB_DNS" --listen-address="$OCLAB_DNS6" \
		--except-interface=lo --local=/"$OCLAB_DOMAIN"/ \
		--host-record="$OCLAB_NAME,$OCLAB_HTTP4,$OCLAB_HTTP6" \
		--pid-file="$d/dnsmasq.pid" --user=nobody --group=nogroup \
		--log-facility=- --log-queries >"$d/dnsmasq.log" 2>&1 &
	lab_track "$OCLAB_DIR" dnsmasq $!
	disown $!

	# ocserv
	_oclab_write_ocserv_conf
	ip netns exec "$ns" ocserv --foreground --config "$d/ocserv.conf" \
		>"$d/ocserv.log" 2>&1 &
	lab_track "$OCLAB_DIR" ocserv $!
	disown $!

	lab_wait 10 _oclab_tcp_open "$OCLAB_SERVER_IP4" "$OCLAB_PORT" ||
		{ _oclab_die "ocserv is not listening on $OCLAB_SERVER (see $d/ocserv.log)"; return 1; }
	lab_wait 5 test -S "$d/occtl.sock" ||
		{ _oclab_die "no occtl socket (see $d/ocserv.log)"; return 1; }
	lab_wait 5 ip netns exec "$ns" dig +time=1 +tries=1 +short "@$OCLAB_DNS" "$OCLAB_NAME" A ||
		{ _oclab_die "dnsmasq does not answer (see $d/dnsmasq.log)"; return 1; }
	lab_wait 5 ip netns exec "$ns" curl -fsS -o /dev/null --max-time 1 "$OCLAB_URL4" ||
		{ _oclab_die "httpd (IPv4) does not answer (see $d/httpd4.log)"; return 1; }
	lab_wait 5 ip netns exec "$ns" curl -fsS -o /dev/null --max-time 1 "$OCLAB_URL6" ||
		{ _oclab_die "httpd (IPv6) does not answer (see $d/httpd6.log)"; return 1; }
	for pid in httpd4 httpd6 dnsmasq ocserv; do
		lab_tracked_pid "$d/pids/$pid.pid" >/dev/null ||
			{ _oclab_die "$pid is not running"; return 1; }
	done
}

# --- clients --------------------------------------------------------------------

oclab_client_ns() {
	local name=$1 n ns hs
	case $name in *[!a-z0-9]*|'') _oclab_die "bad client name '$name'"; return 1 ;; esac
	[ ${#name} -le 6 ] || { _oclab_die "client name '$name' longer than 6"; return 1; }
	ns=vpl-$OCLAB_ID-$name hs=vpl-$OCLAB_ID-$name
	n=$(( $(wc -l <"$OCLAB_DIR/clients") + 1 ))
	[ "$n" -le 4 ] || { _oclab_die "at most 4 client netns per lab"; return 1; }
	echo "$name" >>"$OCLAB_DIR/clients"
	ip netns add "$ns" || return 1
	ip -n "$ns" link set lo up || return 1
	ip link add "$hs" mtu "$OCLAB_LINK_MTU" type veth peer name uplink netns "$ns" mtu "$OCLAB_LINK_MTU" || return 1
	ip link set "$hs" master "$OCLAB_HOST_IF" up || return 1
	ip -n "$ns" addr add "198.51.100.$((16 * OCLAB_SLOT + 10 + n))/${OCLAB_LINK4#*/}" dev uplink || return 1
	ip -n "$ns" addr add "${OCLAB_LINK6%::/64}::$((10 + n))/64" dev uplink nodad || return 1
	ip -n "$ns" link set uplink up || return 1
	printf '# resolv.conf of lab client %s (empty until the VPN sets a server)\n' \
		"$name" >"$OCLAB_DIR/$name.resolv.conf"
	echo "$ns"
}

oclab_client_sandbox() {
	local name=$1; shift
	ip netns exec "vpl-$OCLAB_ID-$name" sh -c '
		rc=$1; shift
		mount -t tmpfs -o mode=0755 vpl-run /run || exit 1
		t=$(readlink -m /etc/resolv.conf)
		if [ ! -e "$t" ]; then
			case $t in
			/run/*) mkdir -p "$(dirname "$t")" && : >"$t" || exit 1 ;;
			*) echo "oclab_client_sandbox: no $t to bind over" >&2; exit 1 ;;
			esac
		fi
		mount --bind "$rc" "$t" || exit 1
		exec "$@"' sh "$OCLAB_DIR/$name.resolv.conf" "$@"
}

# --- openconnect ------------------------------------------------------------------

oclab_openconnect_args() {
	printf '%s\n' --protocol=anyconnect "--user=$OCLAB_USER" --passwd-on-stdin \
		--non-inter "--servercert=$OCLAB_CERT_PIN" "$@" "${OCLAB_OC_SERVER:-$OCLAB_SERVER}"
}

oclab_openconnect_cmd() {
	local a
	printf 'openconnect'
	while IFS= read -r a; do printf ' %q' "$a"; done < <(oclab_openconnect_args "$@")
	printf '\n'
}

# _oclab_oc_launch PIDFILE ARGS...: exec openconnect through $OCLAB_OC_WRAP
# with a clean environment, writing its PID to PIDFILE first.
_oclab_oc_launch() {
	local pidfile=$1 wrap=() args=(); shift
	read -ra wrap <<<"${OCLAB_OC_WRAP:-}"
	mapfile -t args < <(oclab_openconnect_args "$@")
	"${wrap[@]}" sh -c '
		echo $$ >&3; exec 3>&-; cd /
		exec env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
			${HOME:+HOME=$HOME} ${USER:+USER=$USER} ${LOGNAME:+LOGNAME=$LOGNAME} \
			openconnect "$@"' sh "${args[@]}" 3>"$pidfile" <<<"$OCLAB_PASS"
}

oclab_openconnect() {
	echo "### $(date '+%T.%N') $(oclab_openconnect_cmd "$@")" >>"$OCLAB_OC_LOG"
	local rc=0 tmp=$OCLAB_DIR/pids/fg-$BASHPID.tmp
	_oclab_oc_launch "$tmp" "$@" >>"$OCLAB_OC_LOG" 2>&1 || rc=$?
	rm -f "$tmp"
	return "$rc"
}

oclab_openconnect_bg() {
	local name=$1 pidfile log pid; shift
	pidfile=$OCLAB_DIR/pids/oc-$name.pid log=$OCLAB_DIR/openconnect-$name.log
	echo "### $(date '+%T.%N') $(oclab_openconnect_cmd "$@")" >>"$log"
	: >"$pidfile.tmp"
	_oclab_oc_launch "$pidfile.tmp" "$@" >>"$log" 2>&1 &
	OCLAB_OC_JOB=$!
	# wait until the launcher has exec'd into openconnect
	if ! lab_wait 5 lab_is_comm_file "$pidfile.tmp" openconnect; then
		_oclab_die "openconnect $name did not start (see $log)"
		_oclab_kill_launcher "$pidfile.tmp"
		OCLAB_OC_PID=
		return 1
	fi
	read -r pid <"$pidfile.tmp"
	lab_track "$OCLAB_DIR" "oc-$name" "$pid"
	rm -f "$pidfile.tmp"
	OCLAB_OC_PID=$pid
}

# _oclab_kill_launcher TMPFILE: stop the launcher/openconnect whose PID is in
# TMPFILE, if that PID still is one of this lab's (its command line has the
# lab's certificate pin, which is unique to the lab).
_oclab_kill_launcher() {
	local pid
	[ -s "$1" ] || return 0
	read -r pid <"$1"
	if [ -n "$pid" ] && [ -n "${OCLAB_CERT_PIN:-}" ] &&
		tr '\0' '\n' 2>/dev/null <"/proc/$pid/cmdline" | grep -qxF -- "--servercert=$OCLAB_CERT_PIN"; then
		lab_kill_wait 2000 $(lab_descendants "$pid") "$pid"
	fi
	rm -f "$1"
}


oclab_openconnect_stop() {
	local name=$1 sig=${2:-INT} secs=${3:-10} pid
	pid=$(lab_tracked_pid "$OCLAB_DIR/pids/oc-$name.pid") || return 0
	kill "-$sig" "$pid" 2>/dev/null
	lab_wait "$secs" lab_not_alive "$pid"
}

# --- down -----------------------------------------------------------------------

oclab_down() {
	local id=${OCLAB_ID:-} d=${OCLAB_DIR:-} f pid ns name nspids
	local -a ocpids kids svc
	[ -n "$id" ] || return 0
	if [ -n "$d" ] && [ -d "$d/pids" ]; then
		# openconnect clients first, so that they log off instead of
		# reconnecting to a vanishing server; then whatever they spawned
		# (a --script-tun script, a vpnc-script) if it outlived them
		for f in "$d"/pids/oc-*.pid; do
			pid=$(lab_tracked_pid "$f") || continue
			ocpids+=("$pid")
			kids+=($(lab_descendants "$pid"))
			kill -INT "$pid" 2>/dev/null
		done
		for pid in "${ocpids[@]}"; do
			lab_wait 3 lab_not_alive "$pid"
		done
		for pid in "${ocpids[@]}"; do
			oclab_pid_alive "$pid" || continue
			kids+=($(lab_descendants "$pid"))
			lab_kill_wait 2000 "$pid"
		done
		for pid in "${kids[@]}"; do
			oclab_pid_alive "$pid" && lab_kill_wait 2000 "$pid"
		done
		# a foreground openconnect, or one interrupted while starting
		for f in "$d"/pids/*.tmp; do
			_oclab_kill_launcher "$f"
		done
		# the services (ocserv, dnsmasq, httpd)
		for f in "$d"/pids/*.pid; do
			pid=$(lab_tracked_pid "$f") || continue
			svc+=("$pid")
		done
		# (ocserv takes a second to shut down cleanly; a lab needs no clean
		# shutdown, and its sec-mod and workers go with the netns sweep below)
		lab_kill_wait 300 "${svc[@]}"
	fi
	# anything still inside a lab namespace is the lab's too
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^vpl-$id-"); do
		nspids=$(ip netns pids "$ns" 2>/dev/null)
		[ -z "$nspids" ] || lab_kill_wait 2000 $nspids
		ip netns del "$ns" 2>/dev/null
	done
	for name in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//' | grep -E "^vpl-$id-"); do
		ip link del "$name" 2>/dev/null
	done
	for f in /tmp/vpl-slot-*; do
		[ -L "$f" ] || continue
		case $(readlink "$f") in /tmp/vpl-"$id".*) rm -f "$f" ;; esac
	done
	if [ -n "$d" ] && [ -d "$d" ]; then
		case $d in /tmp/vpl-"$id".*) rm -rf -- "$d" ;; esac
	fi
	_oclab_safety_net del
	unset OCLAB_ID OCLAB_DIR OCLAB_NETNS OCLAB_HOST_IF OCLAB_SPLIT OCLAB_MTU \
		OCLAB_LINK_MTU OCLAB_PORT OCLAB_DTLS OCLAB_PUSH_DNS6 OCLAB_OCSERV_MTU \
		OCLAB_OC_PID OCLAB_OC_JOB OCLAB_SLOT
	return 0
}

oclab_leftovers() {
	local id=${1:-${OCLAB_ID:-}} p c
	[ -n "$id" ] || return 0
	ip netns list 2>/dev/null | awk '{print "netns " $1}' | grep -E " vpl-$id-"
	ip -o link show 2>/dev/null | awk -F': ' '{print "link " $2}' | grep -E " vpl-$id-"
	for p in $(grep -lsF -- "/tmp/vpl-$id." /proc/[0-9]*/cmdline 2>/dev/null); do
		p=${p#/proc/}; p=${p%/cmdline}
		c=$(tr "\\0" " " 2>/dev/null <"/proc/$p/cmdline") || continue
		[ -n "$c" ] && echo "process $p: $c"
	done
	ls -d /tmp/vpl-"$id".* 2>/dev/null | sed 's/^/dir /'
	for p in /tmp/vpl-slot-*; do
		[ -L "$p" ] || continue
		case $(readlink "$p") in /tmp/vpl-"$id".*) echo "slot link $p" ;; esac
	done
	return 0
}

oclab_trap() {
	trap 'oclab_down' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}
