/* vpncfg.h - one VPN configuration, whichever client it came from */
#pragma once

#include <glib.h>
#include <netinet/in.h>

#define VPNCFG_MAX_ROUTES 1024
#define VPNCFG_MAX_DNS 8
#define VPNCFG_MAX_DOMAINS 32

/* An address with a prefix length: an interface address or a route. */
typedef struct {
	int family;           /* AF_INET or AF_INET6 */
	guint8 addr[16];
	guint8 prefix;
} VpnPrefix;

typedef struct {
	char *ifname;         /* TUNDEV / dev: the tunnel device, if known */
	guint32 mtu;          /* 0: leave it */
	gboolean has_ip4, has_ip6;
	VpnPrefix ip4, ip6;   /* the tunnel's own addresses */
	gboolean has_peer4;
	VpnPrefix peer4;      /* OpenVPN p2p/net30: the remote end */
	GArray *routes;       /* VpnPrefix: split-include routes; none = default routes */
	gboolean force_default; /* default routes even with split routes (OpenVPN) */
	GArray *excludes;     /* VpnPrefix: split-exclude: made unreachable inside */
	GPtrArray *dns;       /* name servers, canonical text form */
	GPtrArray *search;    /* search domains */
	GPtrArray *split_dns; /* domains the server wants resolved by its servers */
	char *gateway;        /* the VPN server's address (informational) */
} VpnConfig;

VpnConfig *vpncfg_new(void);
void vpncfg_free(VpnConfig *cfg);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VpnConfig, vpncfg_free)

/* Parsers for single values; every error names @what and the bad value.
 * Addresses are canonicalised through inet_pton, so nothing from the VPN
 * reaches a file or a netlink message as raw text. */
gboolean vpncfg_parse_addr(const char *what, const char *text, int family, VpnPrefix *out,
			   GError **error);
/* "ADDR/LEN", or ADDR alone meaning a host prefix; family AF_UNSPEC: either. */
gboolean vpncfg_parse_prefix(const char *what, const char *text, int family, VpnPrefix *out,
			     GError **error);
/* A dotted netmask (255.255.255.0) to a prefix length; contiguous only. */
gboolean vpncfg_parse_netmask(const char *what, const char *text, guint8 *prefix,
			      GError **error);
gboolean vpncfg_parse_uint(const char *what, const char *text, guint64 min, guint64 max,
			   guint64 *out, GError **error);
/* A DNS domain: letters, digits, '-', '_', '.', at most 253 characters. */
gboolean vpncfg_check_domain(const char *what, const char *text, GError **error);

/* A network interface name as the kernel accepts it (dev_valid_name):
 * 1 to 15 characters, not "." or "..", no '/', ':' or white space. */
gboolean vpncfg_check_ifname(const char *what, const char *text, GError **error);

/* Append a name server (validated, canonical, deduplicated). */
gboolean vpncfg_add_dns(VpnConfig *cfg, const char *what, const char *text, GError **error);
/* Append domains from a list separated by spaces or commas. */
gboolean vpncfg_add_domains(GPtrArray *list, const char *what, const char *text,
			    GError **error);

/* Canonical text of a prefix ("192.0.2.0/24"), and of its address alone. */
char *vpncfg_prefix_to_string(const VpnPrefix *p);
char *vpncfg_addr_to_string(const VpnPrefix *p);

/* Normalise: zero the host bits of routes; a 0/0 split-include means
 * "default route" and is dropped (none left = default routes). */
void vpncfg_normalise(VpnConfig *cfg);

/* The whole configuration as a{sv} for the control protocol, and back
 * (re-validating every value: the holder trusts nothing it receives). */
GVariant *vpncfg_to_variant(const VpnConfig *cfg);
VpnConfig *vpncfg_from_variant(GVariant *dict, GError **error);

/* The sandbox's resolv.conf for this configuration. */
char *vpncfg_resolv_conf(const VpnConfig *cfg, const char *origin);

/* One line for `vpnns status`: "tun0 192.0.2.2/24 2001:db8::2/64". */
char *vpncfg_summary(const VpnConfig *cfg);
