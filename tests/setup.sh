#!/bin/bash
# tests/setup.sh - prepare this machine for the integration tests (run as
# root by 'make check'): the dedicated non-root test users, and /dev/net/tun
# opened to everyone as most distributions ship it (these VMs ship it 0600).
set -eu
for u in "${VPNNS_TEST_USER:-vpnnstest}" "${VPNNS_TEST_USER2:-vpnnstest2}"; do
	if ! getent passwd "$u" >/dev/null; then
		useradd --create-home --shell /bin/bash "$u"
	fi
done
if [ -c /dev/net/tun ] && [ "$(stat -c %a /dev/net/tun)" != 666 ]; then
	chmod 0666 /dev/net/tun
fi
# The build tree must be reachable by the test users.
top=$(cd "$(dirname "$0")/.." && pwd)
d=$top
while [ "$d" != / ]; do
	chmod o+x "$d" 2>/dev/null || true
	d=$(dirname "$d")
done
