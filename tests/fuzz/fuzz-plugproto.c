/* fuzz-plugproto.c - the OpenVPN plug-in -> helper request decoder */
#include "ovpnhelper.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	g_auto(GStrv) envp = NULL;
	guint32 event;

	ovpnhelper_parse_request(data, size, &event, &envp, NULL);
	return 0;
}
