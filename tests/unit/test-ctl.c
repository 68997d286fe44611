/* test-ctl.c - the control protocol's encoder, decoder and fd passing */
#include "ctl.h"
#include "fdpass.h"
#include "util.h"

#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>

static CtlMsg *parse_bytes(GBytes *b, GError **error)
{
	gsize len;
	const void *data = g_bytes_get_data(b, &len);

	return ctl_msg_parse(data, len, error);
}

static void test_roundtrip(void)
{
	g_autoptr(GError) error = NULL;
	GVariantDict d;
	g_autoptr(GBytes) b = NULL;
	g_autoptr(CtlMsg) msg = NULL;
	guint32 grace = 0;

	g_variant_dict_init(&d, NULL);
	g_variant_dict_insert(&d, "grace-ms", "u", 1234);
	b = ctl_msg_encode(CTL_OP_STOP, g_variant_dict_end(&d));
	msg = parse_bytes(b, &error);
	g_assert_no_error(error);
	g_assert_cmpint(msg->op, ==, CTL_OP_STOP);
	g_assert_true(g_variant_lookup(msg->body, "grace-ms", "u", &grace));
	g_assert_cmpuint(grace, ==, 1234);
}

static void test_empty_body(void)
{
	g_autoptr(GBytes) b = ctl_msg_encode(CTL_OP_JOIN, NULL);
	g_autoptr(CtlMsg) msg = parse_bytes(b, NULL);

	g_assert_nonnull(msg);
	g_assert_cmpint(msg->op, ==, CTL_OP_JOIN);
	g_assert_cmpuint(g_variant_n_children(msg->body), ==, 0);
}

static void test_truncated(void)
{
	g_autoptr(GBytes) b = ctl_msg_encode(CTL_OP_STATUS, g_variant_new_parsed("{'k': <'value'>}"));
	gsize len;
	const guint8 *data = g_bytes_get_data(b, &len);

	for (gsize cut = 0; cut < len; cut++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(CtlMsg) msg = ctl_msg_parse(data, cut, &error);

		g_assert_null(msg);
		g_assert_error(error, VPNNS_ERROR, VPNNS_ERROR_PROTOCOL);
	}
}

static void test_wrong_version(void)
{
	g_autoptr(GBytes) b = ctl_msg_encode(CTL_OP_JOIN, NULL);
	gsize len = g_bytes_get_size(b);
	guint8 *data = g_memdup2(g_bytes_get_data(b, NULL), len);
	g_autoptr(GError) error = NULL;
	CtlHeader hdr;

	memcpy(&hdr, data, sizeof(hdr));
	hdr.version = CTL_VERSION + 1;
	memcpy(data, &hdr, sizeof(hdr));
	g_assert_null(ctl_msg_parse(data, len, &error));
	g_assert_error(error, VPNNS_ERROR, VPNNS_ERROR_PROTOCOL);
	g_assert_nonnull(strstr(error->message, "version"));
	g_free(data);
}

static void test_unknown_op(void)
{
	CtlHeader hdr = { .version = CTL_VERSION, .op = 77, .len = 0 };
	g_autoptr(GError) error = NULL;

	g_assert_null(ctl_msg_parse(&hdr, sizeof(hdr), &error));
	g_assert_error(error, VPNNS_ERROR, VPNNS_ERROR_PROTOCOL);
}

static void test_oversized(void)
{
	CtlHeader hdr = { .version = CTL_VERSION, .op = CTL_OP_JOIN, .len = CTL_MAX_PAYLOAD + 1 };
	g_autofree guint8 *buf = g_malloc0(sizeof(hdr) + CTL_MAX_PAYLOAD + 1);
	g_autoptr(GError) error = NULL;

	memcpy(buf, &hdr, sizeof(hdr));
	g_assert_null(ctl_msg_parse(buf, sizeof(hdr) + CTL_MAX_PAYLOAD + 1, &error));
	g_assert_error(error, VPNNS_ERROR, VPNNS_ERROR_PROTOCOL);
}

static void test_length_mismatch(void)
{
	g_autoptr(GBytes) b = ctl_msg_encode(CTL_OP_STATUS, g_variant_new_parsed("{'k': <'v'>}"));
	gsize len = g_bytes_get_size(b);
	g_autofree guint8 *data = g_malloc0(len + 8);
	g_autoptr(GError) error = NULL;

	memcpy(data, g_bytes_get_data(b, NULL), len);
	/* trailing garbage beyond the announced length */
	g_assert_null(ctl_msg_parse(data, len + 8, &error));
	g_assert_error(error, VPNNS_ERROR, VPNNS_ERROR_PROTOCOL);
}

static void test_malformed_payload(void)
{
	guint8 buf[sizeof(CtlHeader) + 16];
	CtlHeader hdr = { .version = CTL_VERSION, .op = CTL_OP_STATUS, .len = 16 };
	g_autoptr(GError) error = NULL;

	memset(buf, 0xff, sizeof(buf));
	memcpy(buf, &hdr, sizeof(hdr));
	g_assert_null(ctl_msg_parse(buf, sizeof(buf), &error));
	g_assert_error(error, VPNNS_ERROR, VPNNS_ERROR_PROTOCOL);
}

static void test_random_garbage(void)
{
	GRand *rand = g_rand_new_with_seed(42);
	guint8 buf[256];

	for (int i = 0; i < 20000; i++) {
		gsize len = g_rand_int_range(rand, 0, sizeof(buf));
		CtlHeader hdr = { .version = CTL_VERSION, .op = g_rand_int_range(rand, 1, 8),
				  .len = len >= sizeof(hdr) ? len - sizeof(hdr) : 0 };
		g_autoptr(CtlMsg) msg = NULL;

		for (gsize j = 0; j < len; j++)
			buf[j] = (guint8)g_rand_int(rand);
		if (len >= sizeof(hdr) && (i & 1))
			memcpy(buf, &hdr, sizeof(hdr));
		msg = ctl_msg_parse(buf, len, NULL);
		if (msg)
			g_assert_true(g_variant_is_of_type(msg->body, G_VARIANT_TYPE_VARDICT));
	}
	g_rand_free(rand);
}

static void test_error_reply(void)
{
	g_autoptr(GError) sent = g_error_new(VPNNS_ERROR, VPNNS_ERROR_STOPPED, "sandbox 'x' is stopping");
	g_autoptr(GBytes) b = ctl_msg_encode_error(sent);
	g_autoptr(CtlMsg) msg = parse_bytes(b, NULL);
	g_autoptr(GError) got = NULL;

	g_assert_false(ctl_reply_check(msg, &got));
	g_assert_error(got, VPNNS_ERROR, VPNNS_ERROR_STOPPED);
	g_assert_cmpstr(got->message, ==, "sandbox 'x' is stopping");
}

static void test_fdpass_roundtrip(void)
{
	int sv[2], fds[2], got[4];
	size_t nfds = 0;
	char buf[64];
	gssize n;

	g_assert_cmpint(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), ==, 0);
	fds[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	fds[1] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	g_assert_true(fdpass_send(sv[0], "hi", 2, fds, 2, NULL));
	n = fdpass_recv(sv[1], buf, sizeof(buf), got, 4, &nfds, NULL);
	g_assert_cmpint(n, ==, 2);
	g_assert_cmpuint(nfds, ==, 2);
	/* received fds are close-on-exec */
	g_assert_cmpint(fcntl(got[0], F_GETFD) & FD_CLOEXEC, !=, 0);
	fdpass_close_all(got, nfds);
	close(fds[0]);
	close(fds[1]);
	close(sv[0]);
	close(sv[1]);
}

static int count_open_fds(void)
{
	g_autoptr(GDir) d = g_dir_open("/proc/self/fd", 0, NULL);
	int n = 0;

	while (g_dir_read_name(d))
		n++;
	return n;
}

static void test_fdpass_unexpected_fds(void)
{
	int sv[2], fds[3], got[1];
	size_t nfds = 7;
	char buf[64];
	g_autoptr(GError) error = NULL;
	int before;

	g_assert_cmpint(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), ==, 0);
	for (int i = 0; i < 3; i++)
		fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	g_assert_true(fdpass_send(sv[0], "x", 1, fds, 3, NULL));
	for (int i = 0; i < 3; i++)
		close(fds[i]);
	before = count_open_fds();
	/* a receiver expecting no fds at all closes every one it got */
	g_assert_cmpint(fdpass_recv(sv[1], buf, sizeof(buf), got, 0, &nfds, &error), ==, -1);
	g_assert_error(error, VPNNS_ERROR, VPNNS_ERROR_PROTOCOL);
	g_assert_cmpuint(nfds, ==, 0);
	g_assert_cmpint(count_open_fds(), ==, before);
	close(sv[0]);
	close(sv[1]);
}

static void test_fdpass_oversized(void)
{
	int sv[2];
	size_t nfds;
	char big[512] = { 0 }, small[16];
	g_autoptr(GError) error = NULL;

	g_assert_cmpint(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), ==, 0);
	g_assert_true(fdpass_send(sv[0], big, sizeof(big), NULL, 0, NULL));
	g_assert_cmpint(fdpass_recv(sv[1], small, sizeof(small), NULL, 0, &nfds, &error), ==, -1);
	g_assert_error(error, VPNNS_ERROR, VPNNS_ERROR_PROTOCOL);
	close(sv[0]);
	close(sv[1]);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/ctl/roundtrip", test_roundtrip);
	g_test_add_func("/ctl/empty-body", test_empty_body);
	g_test_add_func("/ctl/parse/truncated", test_truncated);
	g_test_add_func("/ctl/parse/wrong-version", test_wrong_version);
	g_test_add_func("/ctl/parse/unknown-op", test_unknown_op);
	g_test_add_func("/ctl/parse/oversized", test_oversized);
	g_test_add_func("/ctl/parse/length-mismatch", test_length_mismatch);
	g_test_add_func("/ctl/parse/malformed-payload", test_malformed_payload);
	g_test_add_func("/ctl/parse/random-garbage", test_random_garbage);
	g_test_add_func("/ctl/error-reply", test_error_reply);
	g_test_add_func("/fdpass/roundtrip", test_fdpass_roundtrip);
	g_test_add_func("/fdpass/unexpected-fds", test_fdpass_unexpected_fds);
	g_test_add_func("/fdpass/oversized", test_fdpass_oversized);
	return g_test_run();
}
