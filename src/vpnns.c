/* vpnns.c - main(): parse the command line and run one command */
#include "attach.h"
#include "commands.h"
#include "launch.h"
#include "options.h"
#include "ovpnhelper.h"
#include "paths.h"
#include "util.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int vpnns_run(const VpnnsOptions *opts)
{
	GError *error = NULL;
	HolderOptions hopts = commands_holder_options(opts);
	VpnnsPaths *paths = paths_new(opts->name, opts->state_dir, &error);
	g_autoptr(VpnnsClient) client = NULL;
	int status;

	if (!paths) {
		commands_print_error(error);
		g_error_free(error);
		return LAUNCH_EXIT_FAILED;
	}
	client = client_open(paths, CLIENT_JOIN, &hopts, &error);
	if (!client) {
		commands_print_error(error);
		g_error_free(error);
		return LAUNCH_EXIT_FAILED;
	}
	if (!client->created && opts->hostname)
		g_printerr("vpnns: sandbox '%s' was already running; --hostname applies only when "
			   "a sandbox is created ('vpnns stop %s' first)\n", opts->name, opts->name);
	status = launch_exec(client, opts->argv, &error);
	commands_print_error(error);
	g_error_free(error);
	return status;
}

int main(int argc, char **argv)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(VpnnsOptions) opts = NULL;

	setlocale(LC_ALL, "");
	/* Internal: the OpenVPN plug-in's helper, exec'd by vpnns-openvpn.so. */
	if (argc >= 2 && !strcmp(argv[1], "--openvpn-helper"))
		return ovpnhelper_main(argc - 2, argv + 2);
	opts = options_parse(argc, argv, &error);
	if (!opts) {
		g_printerr("vpnns: %s\nTry 'vpnns --help' for more information.\n", error->message);
		return OPTIONS_EXIT_USAGE;
	}
	switch (opts->command) {
	case CMD_HELP:
		fputs(options_usage, stdout);
		return 0;
	case CMD_VERSION:
		printf("vpnns %s\n", VPNNS_VERSION);
		return 0;
	case CMD_UP:
		return commands_up(opts);
	case CMD_LIST:
		return commands_list(opts);
	case CMD_STATUS:
		return commands_status(opts);
	case CMD_STOP:
		return commands_stop(opts);
	case CMD_ATTACH:
		return attach_main(opts, environ);
	case CMD_RUN:
		break;
	}
	return vpnns_run(opts);
}
