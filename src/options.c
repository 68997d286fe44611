/* options.c - command-line parsing, one small parser per command
 *
 * The classic form is kept: `vpnns [--name NAME] -- CMD [ARGS...]`, and
 * `vpnns` alone opens a shell.  Management commands are words (`vpnns stop
 * work`); anything else without a `--` before it is an error rather than a
 * guess, so `vpnns stop` can never run a program called stop.
 */
#include "options.h"
#include "paths.h"
#include "util.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

const char options_usage[] =
	"Usage:\n"
	"  vpnns [--name NAME] [--hostname HOST] [-- COMMAND [ARGS...]]\n"
	"  vpnns up [NAME] [--hostname HOST]\n"
	"  vpnns list [--json]\n"
	"  vpnns status [NAME] [--json]\n"
	"  vpnns stop [NAME] [--timeout SECONDS]\n"
	"  vpnns --attach [--name NAME] [--script PATH] [--user USER] [--no-offload]\n"
	"                                               (run by a VPN client)\n"
	"\n"
	"Run COMMAND (default: $SHELL) in the per-application VPN sandbox NAME\n"
	"(default: 'default'), starting the sandbox if it is not running.  Inside,\n"
	"the only network is the VPN tunnel attached to the sandbox; without one\n"
	"there is none at all.\n"
	"\n"
	"Commands:\n"
	"  up       start the sandbox and keep it, without running anything\n"
	"  list     one line per sandbox: name, holder pid, state, tunnel, processes\n"
	"  status   the same for one sandbox, in detail, with the processes inside\n"
	"  stop     end every process inside (SIGTERM, then SIGKILL after --timeout\n"
	"           seconds, default 5), end the sandbox and remove its state\n"
	"\n"
	"Options:\n"
	"  -n, --name NAME        sandbox name: letters, digits, '_', '.', '-'\n"
	"      --state-dir DIR    keep sandbox state in DIR/NAME (default:\n"
	"                         $XDG_RUNTIME_DIR/vpnns/NAME, else ~/.vpnns-NAME)\n"
	"      --hostname HOST    hostname inside a newly created sandbox\n"
	"      --json             list/status: print JSON\n"
	"      --timeout SECONDS  stop: grace period before SIGKILL\n"
	"      --attach           be the VPN client's hook: bring its tunnel into the\n"
	"                         sandbox (openconnect --script-tun --script \"vpnns\n"
	"                         --attach\", or root openconnect --script \"vpnns\n"
	"                         --attach --user USER\")\n"
	"      --user USER        --attach as root: whose sandbox gets the tunnel\n"
	"                         (default: $SUDO_UID, $PKEXEC_UID)\n"
	"  -s, --script PATH      --attach: configure the tunnel with this vpnc-script,\n"
	"                         run inside the sandbox, instead of vpnns itself\n"
	"      --no-offload       --attach --script-tun: relay packet by packet, without\n"
	"                         segmentation offload on the sandbox's tun\n"
	"  -h, --help             show this help\n"
	"  -V, --version          show the version\n"
	"\n"
	"See vpnns(1) for details.\n";

enum { OPT_STATE_DIR = 256, OPT_HOSTNAME, OPT_JSON, OPT_TIMEOUT, OPT_ATTACH, OPT_USER,
       OPT_NO_OFFLOAD };

static const struct option options_long[] = {
	{ "name", required_argument, NULL, 'n' },
	{ "state-dir", required_argument, NULL, OPT_STATE_DIR },
	{ "hostname", required_argument, NULL, OPT_HOSTNAME },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "attach", no_argument, NULL, OPT_ATTACH },
	{ "user", required_argument, NULL, OPT_USER },
	{ "no-offload", no_argument, NULL, OPT_NO_OFFLOAD },
	{ "script", required_argument, NULL, 's' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

void options_free(VpnnsOptions *opts)
{
	if (!opts)
		return;
	g_free(opts->name);
	g_free(opts->state_dir);
	g_free(opts->hostname);
	g_free(opts->user);
	g_free(opts->script);
	g_strfreev(opts->argv);
	g_free(opts);
}

static gboolean options_usage_error(GError **error, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static gboolean options_usage_error(GError **error, const char *fmt, ...)
{
	g_autofree char *message = NULL;
	va_list ap;

	va_start(ap, fmt);
	message = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error_literal(error, VPNNS_ERROR, VPNNS_ERROR_INVALID, message);
	return FALSE;
}

/* Which options each command accepts (beyond --name/--state-dir/--help). */
static gboolean options_allowed(VpnnsCommand cmd, int opt)
{
	switch (opt) {
	case OPT_HOSTNAME: return cmd == CMD_RUN || cmd == CMD_UP;
	case OPT_JSON: return cmd == CMD_LIST || cmd == CMD_STATUS;
	case OPT_TIMEOUT: return cmd == CMD_STOP;
	case OPT_USER: case 's': case OPT_NO_OFFLOAD: return cmd == CMD_ATTACH;
	default: return TRUE;
	}
}

static const char *options_long_name(int opt)
{
	for (const struct option *o = options_long; o->name; o++) {
		if (o->val == opt)
			return o->name;
	}
	return "?";
}

/* One getopt pass over argv[optind..]; stops at the first non-option.
 * Options seen are recorded in @seen for options_check_allowed(). */
static gboolean options_scan(VpnnsOptions *opts, int argc, char **argv, GPtrArray *seen,
			     GError **error)
{
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:n:s:hV", options_long, NULL)) != -1) {
		if (c != '?' && c != ':')
			g_ptr_array_add(seen, GINT_TO_POINTER(c));
		switch (c) {
		case 'n':
			g_free(opts->name);
			opts->name = g_strdup(optarg);
			break;
		case OPT_STATE_DIR:
			g_free(opts->state_dir);
			opts->state_dir = g_strdup(optarg);
			break;
		case OPT_HOSTNAME:
			g_free(opts->hostname);
			opts->hostname = g_strdup(optarg);
			break;
		case OPT_JSON:
			opts->json = TRUE;
			break;
		case OPT_ATTACH:
			opts->command = CMD_ATTACH;
			break;
		case OPT_NO_OFFLOAD:
			opts->no_offload = TRUE;
			break;
		case OPT_USER:
			g_free(opts->user);
			opts->user = g_strdup(optarg);
			break;
		case 's':
			g_free(opts->script);
			opts->script = g_strdup(optarg);
			break;
		case OPT_TIMEOUT: {
			char *end;
			long v = strtol(optarg, &end, 10);

			if (*optarg == 0 || *end || v < 0 || v > 600)
				return options_usage_error(error, "--timeout wants whole seconds "
							   "from 0 to 600, not '%s'", optarg);
			opts->timeout_s = (int)v;
			break;
		}
		case 'h':
			opts->command = CMD_HELP;
			return TRUE;
		case 'V':
			opts->command = CMD_VERSION;
			return TRUE;
		case ':':
			return options_usage_error(error, "option %s needs a value", argv[optind - 1]);
		default:
			return options_usage_error(error, "unknown option '%s'", argv[optind - 1]);
		}
	}
	return TRUE;
}

static const char *options_command_name(VpnnsCommand cmd)
{
	switch (cmd) {
	case CMD_UP: return "up";
	case CMD_LIST: return "list";
	case CMD_STATUS: return "status";
	case CMD_STOP: return "stop";
	case CMD_ATTACH: return "--attach";
	default: return "running a command";
	}
}

static gboolean options_check_allowed(const VpnnsOptions *opts, GPtrArray *seen, GError **error)
{
	for (guint i = 0; i < seen->len; i++) {
		int opt = GPOINTER_TO_INT(seen->pdata[i]);

		if (!options_allowed(opts->command, opt))
			return options_usage_error(error, "option --%s does not apply to %s%s",
						   options_long_name(opt),
						   options_command_name(opts->command),
						   options_allowed(CMD_ATTACH, opt) &&
								   opts->command != CMD_ATTACH
							   ? " (it goes with --attach)" : "");
	}
	return TRUE;
}

static gboolean options_command(const char *word, VpnnsCommand *cmd)
{
	static const struct { const char *word; VpnnsCommand cmd; } words[] = {
		{ "up", CMD_UP }, { "list", CMD_LIST }, { "ls", CMD_LIST },
		{ "status", CMD_STATUS }, { "stop", CMD_STOP }, { "help", CMD_HELP },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(words); i++) {
		if (!strcmp(word, words[i].word)) {
			*cmd = words[i].cmd;
			return TRUE;
		}
	}
	return FALSE;
}

VpnnsOptions *options_parse(int argc, char **argv, GError **error)
{
	g_autoptr(VpnnsOptions) opts = g_new0(VpnnsOptions, 1);
	g_autoptr(GPtrArray) seen = g_ptr_array_new();
	gboolean dashdash;

	opts->command = CMD_RUN;
	opts->timeout_s = 5;
	optind = 0; /* glibc: (re-)initialise getopt */
	if (!options_scan(opts, argc, argv, seen, error))
		return NULL;
	if (opts->command == CMD_HELP || opts->command == CMD_VERSION)
		return g_steal_pointer(&opts);

	dashdash = optind > 1 && !strcmp(argv[optind - 1], "--");
	if (opts->command == CMD_ATTACH) {
		if (optind < argc) {
			g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_INVALID,
				    "--attach takes no arguments ('%s')", argv[optind]);
			return NULL;
		}
	} else if (dashdash || optind >= argc) {
		opts->argv = g_strdupv(argv + optind);
	} else {
		if (!options_command(argv[optind], &opts->command)) {
			g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_INVALID,
				    "unknown command '%s'; to run a program in the sandbox, put -- "
				    "before it: vpnns -- %s", argv[optind], argv[optind]);
			return NULL;
		}
		if (opts->command == CMD_HELP)
			return g_steal_pointer(&opts);
		/* the command's own options and NAME, in any order */
		argv += optind;
		argc -= optind;
		optind = 0; /* glibc: re-initialise getopt for the new argv */
		while (optind < argc) {
			if (!options_scan(opts, argc, argv, seen, error))
				return NULL;
			if (opts->command == CMD_HELP || optind >= argc)
				break;
			if (opts->command == CMD_LIST || (opts->name && optind < argc)) {
				g_set_error(error, VPNNS_ERROR, VPNNS_ERROR_INVALID,
					    "unexpected argument '%s'", argv[optind]);
				return NULL;
			}
			opts->name = g_strdup(argv[optind++]);
		}
	}
	if (!options_check_allowed(opts, seen, error))
		return NULL;
	if (!opts->name)
		opts->name = g_strdup(g_getenv("VPNNS_NAME") && *g_getenv("VPNNS_NAME")
				      ? g_getenv("VPNNS_NAME") : VPNNS_DEFAULT_NAME);
	if (opts->command != CMD_LIST && !paths_name_valid(opts->name, error))
		return NULL;
	return g_steal_pointer(&opts);
}
