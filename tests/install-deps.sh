#!/bin/sh
# tests/install-deps.sh - install what building, testing and benchmarking
# vpnns needs on Debian 12 / Ubuntu (run as root: sudo sh tests/install-deps.sh).
#
# The tests run their own ocserv, dnsmasq and OpenVPN inside network
# namespaces; the system services these packages bring are not wanted, so
# they are kept from starting during the install, and the ones this script
# newly installed are disabled afterwards.
set -e
export DEBIAN_FRONTEND=noninteractive
daemons="ocserv dnsmasq openvpn"
fresh=
for d in $daemons; do
	dpkg -s "$d" >/dev/null 2>&1 || fresh="$fresh $d"
done
policy=/usr/sbin/policy-rc.d
made_policy=
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod 755 "$policy" && made_policy=1
fi
trap '[ -z "$made_policy" ] || rm -f "$policy"' EXIT
apt-get update -q
apt-get install -y -q --no-install-recommends \
	build-essential pkg-config libglib2.0-dev libnl-3-dev libnl-route-3-dev libcap-dev \
	sudo passwd util-linux procps iproute2 socat mandoc groff-base man-db \
	ocserv openconnect vpnc-scripts gnutls-bin dnsmasq busybox curl dnsutils \
	iputils-ping openvpn easy-rsa openssl iperf3 hyperfine ocproxy ca-certificates \
	clang libclang-rt-14-dev openssh-client xvfb xauth x11-utils dbus-daemon dbus-bin
if [ -n "$fresh" ] && command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
	for d in $fresh; do
		systemctl disable --now "$d" >/dev/null 2>&1 || true
	done
fi
