/* ctl.c - the holder's control protocol: message encoding and validation
 *
 * This is the only code that reads bytes from another process in the
 * holder, so it trusts nothing: every length is checked before it is used,
 * the payload must be a GVariant dictionary in normal form (GLib then
 * guarantees every later lookup is bounded), and unknown operations are
 * rejected here rather than in the dispatcher.
 */
#include "ctl.h"
#include "util.h"

#include <string.h>

void ctl_msg_free(CtlMsg *msg)
{
	if (!msg)
		return;
	g_clear_pointer(&msg->body, g_variant_unref);
	g_free(msg);
}

const char *ctl_op_name(uint32_t op)
{
	switch (op) {
	case CTL_OP_JOIN: return "join";
	case CTL_OP_STATUS: return "status";
	case CTL_OP_STOP: return "stop";
	case CTL_OP_GET_NETNS: return "get-netns";
	case CTL_OP_CREATE_TUN: return "create-tun";
	case CTL_OP_CONFIGURE: return "configure";
	case CTL_OP_DECONFIGURE: return "deconfigure";
	case CTL_OP_REPORT: return "report";
	case CTL_OP_WATCH: return "watch";
	case CTL_OP_REPLY_OK: return "ok";
	case CTL_OP_REPLY_ERROR: return "error";
	}
	return NULL;
}

unsigned ctl_op_reply_fds(CtlOp op)
{
	switch (op) {
	case CTL_OP_JOIN: return 4;
	case CTL_OP_GET_NETNS: return 1;
	case CTL_OP_CREATE_TUN: return 1;
	default: return 0;
	}
}

GBytes *ctl_msg_encode(CtlOp op, GVariant *body)
{
	g_autoptr(GVariant) normal = NULL;
	CtlHeader hdr = { .version = CTL_VERSION, .op = op };
	GByteArray *buf;

	if (!body)
		body = g_variant_new("a{sv}", NULL);
	g_variant_ref_sink(body);
	normal = g_variant_get_normal_form(body);
	g_variant_unref(body);
	g_return_val_if_fail(g_variant_is_of_type(normal, G_VARIANT_TYPE_VARDICT), NULL);

	hdr.len = (uint32_t)g_variant_get_size(normal);
	g_return_val_if_fail(hdr.len <= CTL_MAX_PAYLOAD, NULL);
	buf = g_byte_array_sized_new(sizeof(hdr) + hdr.len);
	g_byte_array_append(buf, (const guint8 *)&hdr, sizeof(hdr));
	g_byte_array_set_size(buf, sizeof(hdr) + hdr.len);
	g_variant_store(normal, buf->data + sizeof(hdr));
	return g_byte_array_free_to_bytes(buf);
}

CtlMsg *ctl_msg_parse(const void *buf, size_t len, GError **error)
{
	g_autoptr(CtlMsg) msg = NULL;
	g_autoptr(GBytes) payload = NULL;
	CtlHeader hdr;

	if (len < sizeof(hdr)) {
		g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_PROTOCOL,
			    "truncated message: %zu bytes, the header alone is %zu", len, sizeof(hdr));
		return NULL;
	}
	memcpy(&hdr, buf, sizeof(hdr));
	if (hdr.version != CTL_VERSION) {
		g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_PROTOCOL,
			    "protocol version %u, expected %u: the sandbox's holder comes from "
			    "another version of vpnns ('vpnns stop NAME' ends it)",
			    hdr.version, CTL_VERSION);
		return NULL;
	}
	if (!ctl_op_name(hdr.op)) {
		g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_PROTOCOL,
			    "unknown operation %u", hdr.op);
		return NULL;
	}
	if (hdr.len > CTL_MAX_PAYLOAD) {
		g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_PROTOCOL,
			    "payload of %u bytes exceeds the limit of %d", hdr.len, CTL_MAX_PAYLOAD);
		return NULL;
	}
	if (hdr.len != len - sizeof(hdr)) {
		g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_PROTOCOL,
			    "header announces %u payload bytes but %zu arrived",
			    hdr.len, len - sizeof(hdr));
		return NULL;
	}

	msg = g_new0(CtlMsg, 1);
	msg->op = hdr.op;
	/* Copy: the caller's buffer is reused, and GVariant wants aligned data. */
	payload = g_bytes_new((const char *)buf + sizeof(hdr), hdr.len);
	msg->body = g_variant_ref_sink(
		g_variant_new_from_bytes(G_VARIANT_TYPE_VARDICT, payload, FALSE));
	if (!g_variant_is_normal_form(msg->body)) {
		g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_PROTOCOL,
			    "malformed %s message: the payload is not a valid dictionary",
			    ctl_op_name(hdr.op));
		return NULL;
	}
	return g_steal_pointer(&msg);
}

GBytes *ctl_msg_encode_error(const GError *error)
{
	GVariantDict dict;

	g_variant_dict_init(&dict, NULL);
	g_variant_dict_insert(&dict, "code", "u", (guint32)error->code);
	g_variant_dict_insert(&dict, "domain", "s",
			      error->domain == VPNNS_ERROR ? "vpnns" : "other");
	g_variant_dict_insert(&dict, "message", "s", error->message);
	return ctl_msg_encode(CTL_OP_REPLY_ERROR, g_variant_dict_end(&dict));
}

gboolean ctl_reply_check(const CtlMsg *reply, GError **error)
{
	const char *message = NULL, *domain = NULL;
	guint32 code = VPNNS_ERROR_FAILED;

	if (reply->op == CTL_OP_REPLY_OK)
		return TRUE;
	if (reply->op != CTL_OP_REPLY_ERROR) {
		g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_PROTOCOL,
			    "expected a reply, got a %s request", ctl_op_name(reply->op));
		return FALSE;
	}
	g_variant_lookup(reply->body, "message", "&s", &message);
	g_variant_lookup(reply->body, "code", "u", &code);
	g_variant_lookup(reply->body, "domain", "&s", &domain);
	if (g_strcmp0(domain, "vpnns") != 0 || code > VPNNS_ERROR_STOPPED)
		code = VPNNS_ERROR_FAILED;
	g_set_error(error, VPNNS_ERROR, code, "%s",
		    message ? message : "the holder reported an error without a message");
	return FALSE;
}
