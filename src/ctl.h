/* ctl.h - the holder's control protocol: message encoding and validation */
#pragma once

#include <glib.h>
#include <stdint.h>

/*
 * One message is one SOCK_SEQPACKET datagram: a fixed 8-byte header in host
 * byte order (both ends are on one machine), then a payload that is a
 * serialised GVariant of type a{sv} in normal form.  File descriptors travel
 * beside the payload as SCM_RIGHTS; which operations may carry them, and how
 * many, is fixed by ctl_op_reply_fds().
 */
#define CTL_VERSION 1
#define CTL_MAX_PAYLOAD (16 * 1024)
#define CTL_MAX_FDS 4

typedef enum {
	CTL_OP_JOIN = 1,     /* reply: user, net, mnt, uts namespace fds */
	CTL_OP_STATUS,       /* reply: a{sv} describing the sandbox */
	CTL_OP_STOP,         /* end everything inside, then the holder */
	CTL_OP_GET_NETNS,    /* reply: the network namespace fd */
	CTL_OP_CREATE_TUN,   /* reply: fd of a tun device created inside */
	CTL_OP_CONFIGURE,    /* apply a VPN configuration inside */
	CTL_OP_DECONFIGURE,  /* remove it */
	CTL_OP_REPORT,       /* the relay's counters; the only request without a reply */
	CTL_OP_WATCH,        /* answered only when the sandbox is deliberately ended */
	CTL_OP_LAST_REQUEST = CTL_OP_WATCH,
	CTL_OP_REPLY_OK = 100,
	CTL_OP_REPLY_ERROR,  /* body: "code" (u), "message" (s) */
} CtlOp;

typedef struct __attribute__((packed)) {
	uint16_t version;
	uint16_t op;
	uint32_t len; /* payload bytes following the header */
} CtlHeader;

typedef struct {
	CtlOp op;
	GVariant *body; /* a{sv}, never NULL */
} CtlMsg;

void ctl_msg_free(CtlMsg *msg);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CtlMsg, ctl_msg_free)

/* The name of @op for messages, or NULL when it is not an operation. */
const char *ctl_op_name(uint32_t op);

/* How many fds a successful reply to request @op carries. */
unsigned ctl_op_reply_fds(CtlOp op);

/* Serialise a message; @body may be NULL (empty dictionary) or floating. */
GBytes *ctl_msg_encode(CtlOp op, GVariant *body);

/* Validate and decode one received datagram: header size, version, a known
 * operation, a length that matches, a payload within bounds that is a
 * well-formed a{sv} in normal form. */
CtlMsg *ctl_msg_parse(const void *buf, size_t len, GError **error);

/* An error reply carrying @error's message. */
GBytes *ctl_msg_encode_error(const GError *error);

/* Turn a REPLY_ERROR message back into a GError (returns FALSE), or TRUE
 * for REPLY_OK. */
gboolean ctl_reply_check(const CtlMsg *reply, GError **error);
