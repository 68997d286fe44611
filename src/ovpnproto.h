/* ovpnproto.h - the framing between the OpenVPN plug-in and its root helper
 *
 * Plain C with no GLib, so that openvpn-plugin/vpnns-openvpn.so can use it.
 * One SOCK_SEQPACKET datagram per event:
 *
 *   request: OvpnprotoHdr { magic, event, count, len } + len bytes holding
 *            exactly count NUL-terminated "NAME=value" strings (OpenVPN's envp)
 *   reply:   one status byte (0 = success) + a NUL-terminated message
 *
 * The helper answers the plug-in's start with a reply too (status 0:
 * ready, or the reason it refuses to serve).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define OVPNPROTO_MAGIC 0x564f5056u /* "VPOV" */
#define OVPNPROTO_MAX (256 * 1024)
#define OVPNPROTO_HELPER_FD 3        /* the helper's end of the socket */

typedef struct {
	uint32_t magic;
	uint32_t event;   /* OPENVPN_PLUGIN_UP, ... */
	uint32_t count;   /* strings that follow */
	uint32_t len;     /* bytes that follow */
} OvpnprotoHdr;

/* Encode @envp for @event into @buf (of @size bytes); returns the length,
 * or 0 when it does not fit. */
static inline size_t ovpnproto_encode(uint32_t event, const char *const *envp, char *buf,
				      size_t size)
{
	OvpnprotoHdr hdr = { OVPNPROTO_MAGIC, event, 0, 0 };
	size_t off = sizeof(hdr);

	for (const char *const *e = envp; e && *e; e++) {
		size_t n = strlen(*e) + 1;

		if (off + n > size)
			return 0;
		memcpy(buf + off, *e, n);
		off += n;
		hdr.count++;
	}
	if (sizeof(hdr) > size)
		return 0;
	hdr.len = (uint32_t)(off - sizeof(hdr));
	memcpy(buf, &hdr, sizeof(hdr));
	return off;
}
