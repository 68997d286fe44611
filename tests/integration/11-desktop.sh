#!/bin/bash
# Desktop programs inside the sandbox.  ssh: root-owned configuration files
# appear unowned inside a user namespace and ssh refuses them ("Bad owner or
# permissions"); the sandbox must give ssh a configuration it accepts.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/env.sh"
require_root
command -v ssh >/dev/null || tap_skip_all "ssh is not installed (run tests/install-deps.sh)"
cd /tmp

# Runs "$@" in a private mount namespace whose /etc/ssh is a copy of the
# host's plus a root-owned ssh_config.d drop-in, as Debian and Ubuntu ship.
with_ssh_dropin() {
	unshare -m --propagation private bash -c '
		set -e
		d=$(mktemp -d /tmp/vpnns-ssh.XXXXXX); chmod 755 "$d"
		cp -a /etc/ssh/. "$d"/ 2>/dev/null || true
		mkdir -p "$d/ssh_config.d"
		echo "ServerAliveInterval 42" > "$d/ssh_config.d/10-vpnns-test.conf"
		chown -R root:root "$d"
		mount --bind "$d" /etc/ssh
		rc=0; "$@" || rc=$?
		umount /etc/ssh; rm -rf "$d"
		exit $rc' with_ssh_dropin "$@"
}
check_ssh() {
	local name=$1 mode=$2
	as_user env VPNNS_FORCE_BIND_MOUNTS=$mode "$VPNNS" --name "$name" -- ssh -G example.test 2>&1
	echo "rc=$?"
	echo "host-owner=$(stat -c %U /etc/ssh/ssh_config.d/10-vpnns-test.conf)"
	as_user "$VPNNS" stop --timeout 1 "$name" >/dev/null 2>&1
}
export -f check_ssh as_user; export VPNNS TEST_USER

for mode in 0 1; do
	label=$([ $mode = 1 ] && echo bind || echo overlay)
	S=$(uniq_name "ssh$mode"); track "$S"
	out=$(with_ssh_dropin bash -c "check_ssh $S $mode")
	assert_no_match "[$label] ssh does not reject root-owned config inside" "Bad owner or permissions" "$out"
	assert_match "[$label] ssh reads the configuration" "^rc=0$" "$out"
	assert_match "[$label] ... including the drop-in's settings" "^serveraliveinterval 42$" "$out"
	assert_match "[$label] the host's files stay root's" "^host-owner=root$" "$out"
done

tap_done
