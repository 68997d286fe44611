/* fuzz-ctl.c - the holder's control-message decoder, and the configuration
 * it then extracts from a CONFIGURE body */
#include "ctl.h"
#include "vpncfg.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	g_autoptr(CtlMsg) msg = ctl_msg_parse(data, size, NULL);
	g_autoptr(GVariant) config = NULL;

	if (!msg)
		return 0;
	config = g_variant_lookup_value(msg->body, "config", G_VARIANT_TYPE_VARDICT);
	if (config) {
		g_autoptr(VpnConfig) cfg = vpncfg_from_variant(config, NULL);
	}
	ctl_reply_check(msg, NULL);
	return 0;
}
