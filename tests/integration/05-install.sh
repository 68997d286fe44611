#!/bin/bash
# make install / uninstall honour PREFIX and DESTDIR symmetrically; the man
# page is well-formed; --help and --version answer.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/env.sh"

dest=$(mktemp -d /tmp/vpnns-destdir.XXXXXX)
make -s -C "$TOP" install DESTDIR="$dest" PREFIX=/opt/vpnns >/dev/null 2>&1
assert_true "binary installed under DESTDIR/PREFIX" test -x "$dest/opt/vpnns/bin/vpnns"
assert_true "man page installed" test -f "$dest/opt/vpnns/share/man/man1/vpnns.1"
assert_true "vpnc-script wrapper installed" test -x "$dest/opt/vpnns/libexec/vpnns/vpnc-script"
assert_eq "openvpn-tun is the wrapper" "vpnc-script" "$(readlink "$dest/opt/vpnns/libexec/vpnns/openvpn-tun")"
assert_match "the wrapper runs the installed vpnns" "exec /opt/vpnns/bin/vpnns --attach" \
	"$(cat "$dest/opt/vpnns/libexec/vpnns/vpnc-script")"
assert_true "OpenVPN plug-in installed" test -f "$dest/opt/vpnns/lib/openvpn/plugins/vpnns-openvpn.so"
assert_eq "the plug-in exports only OpenVPN's entry points" \
	"openvpn_plugin_close_v1 openvpn_plugin_func_v3 openvpn_plugin_open_v3" \
	"$(nm -D --defined-only "$dest/opt/vpnns/lib/openvpn/plugins/vpnns-openvpn.so" | awk '$2 == "T" {print $3}' | sort | tr '\n' ' ' | sed 's/ $//')"
assert_no_match "the plug-in links nothing but libc" "glib|libnl|libcap" \
	"$(ldd "$dest/opt/vpnns/lib/openvpn/plugins/vpnns-openvpn.so")"
assert_eq "nothing installed outside DESTDIR/PREFIX" "$dest/opt" "$(find "$dest" -mindepth 1 -maxdepth 1)"
assert_match "the installed binary runs" "^vpnns [0-9]+\.[0-9]+\.[0-9]+$" "$("$dest/opt/vpnns/bin/vpnns" --version)"
make -s -C "$TOP" uninstall DESTDIR="$dest" PREFIX=/opt/vpnns >/dev/null
assert_eq "uninstall removes every installed file" "" "$(find "$dest" -type f -o -type l)"
assert_eq "... and the directories of its own" "" "$(find "$dest" -path '*/libexec/vpnns')"
rm -rf "$dest"

assert_eq "mandoc finds nothing to warn about in the man pages" "" \
	"$(mandoc -Tlint -W warning "$TOP"/man/*.[0-9] 2>&1)"
assert_eq "groff finds nothing to warn about" "" \
	"$(for m in "$TOP"/man/*.[0-9]; do groff -man -ww -z "$m"; done 2>&1)"

help=$("$VPNNS" --help)
assert_match "--help shows the classic form" "vpnns \[--name NAME\].*-- COMMAND" "$help"
assert_match "--help lists stop" "^  stop " "$help"
assert_status "a usage error exits 2" 2 "$VPNNS" --no-such-option
assert_match "a usage error points at --help" "Try 'vpnns --help'" "$("$VPNNS" --no-such-option 2>&1)"
assert_eq "diagnostics never go to stdout" "" "$("$VPNNS" --no-such-option 2>/dev/null)"
tap_done
