# tests/lib/vpn.sh - helpers for the integration tests that attach a real VPN
# (tests/lab/ocserv-lab.sh, tests/lab/openvpn-lab.sh) to a sandbox of the
# test user.  Source it after tests/lib/env.sh (and the lab it uses).

# inside NAME CMD [ARGS...]: run CMD in sandbox NAME as the test user
inside() { local n=$1; shift; vpnns_user --name "$n" -- "$@"; }

# connected NAME: its status says a tunnel is attached
connected() { vpnns_user status "$1" 2>/dev/null | grep -q '^state: *connected'; }

# offline NAME: only lo, and no reachable name server
offline() {
	[ "$(inside "$1" ip -o link show | awk -F': ' '{print $2}' | tr '\n' ' ')" = "lo " ] &&
	[ "$(inside "$1" awk '/^nameserver/ {print $2}' /etc/resolv.conf)" = 127.0.0.1 ]
}

# attach_pid NAME: the pid of the attach process serving it (relay path)
attach_pid() { vpnns_user status "$1" | sed -n 's/.*(attach pid \([0-9]*\)).*/\1/p'; }

# relay_start LABEL NAME [ATTACH-OPTIONS...]: openconnect --script-tun as the
# test user, attaching sandbox NAME (the unprivileged relay path)
relay_start() {
	local label=$1 name=$2; shift 2
	OCLAB_OC_WRAP=as_user oclab_openconnect_bg "$label" --script-tun \
		--script "$VPNNS --attach --name $name $*"
}

# kernel_start LABEL NAME: root openconnect, its tun moved into the test
# user's sandbox NAME (the kernel path)
kernel_start() {
	oclab_openconnect_bg "$1" --script "$VPNNS --attach --user $TEST_USER --name $2"
}

# ovpn_client LABEL NAME [CONFIG-LINES...]: a root OpenVPN client of the
# OpenVPN lab whose plug-in attaches the test user's sandbox NAME
ovpn_client() {
	local label=$1 name=$2; shift 2
	ovlab_client_config "$OVLAB_DIR/$label.ovpn" \
		"plugin $TOP/openvpn-plugin/vpnns-openvpn.so vpnns=$VPNNS user=$TEST_USER name=$name" "$@"
	ovlab_openvpn_bg "$label" "$OVLAB_DIR/$label.ovpn"
}

# completed LABEL [N]: OpenVPN LABEL has completed its N-th (default first)
# initialization of this run (waits up to 20 s)
completed() { ovlab_wait_log "$1" 'Initialization Sequence Completed' 20 "${2:-1}"; }
