/* options.h - command-line parsing, one small parser per command */
#pragma once

#include <glib.h>

typedef enum {
	CMD_RUN,     /* vpnns [-- CMD ARGS...]  (classic) */
	CMD_UP,
	CMD_LIST,
	CMD_STATUS,
	CMD_STOP,
	CMD_ATTACH,  /* vpnns --attach: the VPN client's hook */
	CMD_HELP,
	CMD_VERSION,
} VpnnsCommand;

typedef struct {
	VpnnsCommand command;
	char *name;         /* --name, or the command's NAME argument */
	char *state_dir;    /* --state-dir */
	char *hostname;     /* --hostname */
	gboolean json;      /* --json */
	int timeout_s;      /* stop --timeout */
	char *user;         /* --attach --user: whose sandbox (kernel path) */
	char *script;       /* --attach --script: a vpnc-script to run inside */
	gboolean no_offload; /* --attach --no-offload: relay packet by packet */
	const char *mode;   /* how the tunnel came: "kernel" (default), "openvpn" */
	const char *reason; /* the VPN client's event, for --script (kernel path) */
	char **argv;        /* CMD_RUN: the command and its arguments (may be empty) */
} VpnnsOptions;

#define OPTIONS_EXIT_USAGE 2

void options_free(VpnnsOptions *opts);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VpnnsOptions, options_free)

/* Parse argv.  On a usage error returns NULL with the message in @error. */
VpnnsOptions *options_parse(int argc, char **argv, GError **error);

/* The --help text. */
extern const char options_usage[];
