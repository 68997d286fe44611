# tests/lib/fakehost.sh - a host that looks like a systemd-resolved desktop,
# built in a private mount namespace, so that tests can give the host
# resolver sockets and a resolved-style /etc without touching this machine's
# own /etc, /run or resolver.
#
# fake_resolved_host CMD [ARGS...]
#     Run CMD (as root) in a private mount namespace (unshare -m
#     --propagation private) whose
#       /etc  is a copy of this machine's (a bind mount of the temp dir
#             $FAKE_HOST_ETC, which CMD sees exported), with systemd-resolved's
#             hosts line in nsswitch.conf and resolv.conf a symlink to
#             ../run/systemd/resolve/stub-resolv.conf;
#       /run  is a fresh tmpfs holding /run/systemd/resolve/stub-resolv.conf
#             ("nameserver $FAKE_HOST_STUB", default 192.0.2.53) and the
#             empty directories /run/nscd and /run/avahi-daemon.
#     Nothing listens on the resolver sockets: CMD starts what it wants
#     there.  A sandbox created by CMD inherits this host.  The copy of /etc
#     is removed when CMD ends; returns CMD's status.
fake_resolved_host() {
	unshare -m --propagation private bash -c '
		set -e
		etc=$(mktemp -d /tmp/vpnns-fake-etc.XXXXXX)
		cp -a /etc/. "$etc"/
		sed -i "s/^hosts:.*/hosts: mymachines resolve [!UNAVAIL=return] files myhostname mdns4_minimal [NOTFOUND=return] dns/" "$etc/nsswitch.conf"
		rm -f "$etc/resolv.conf"
		ln -s ../run/systemd/resolve/stub-resolv.conf "$etc/resolv.conf"
		mount --bind "$etc" /etc
		mount -t tmpfs -o mode=0755 fakerun /run
		mkdir -p /run/systemd/resolve /run/nscd /run/avahi-daemon
		echo "nameserver ${FAKE_HOST_STUB:-192.0.2.53}" > /run/systemd/resolve/stub-resolv.conf
		export FAKE_HOST_ETC=$etc
		rc=0; "$@" || rc=$?
		umount -l /run; umount -l /etc
		rm -rf --one-file-system "$etc"
		exit $rc' fake_resolved_host "$@"
}
