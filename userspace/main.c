// SPDX-License-Identifier: MIT
/* blkxlate: OpenHCL-style storage translation on Linux (ublk + BPF). */
#include <bpf/libbpf.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

#define BLKXLATE_VERSION "0.1.0"

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{"validate", cli_validate, "check a settings file"},
	{"plan", cli_plan, "resolve backings and show what would be served"},
	{"resolve", cli_resolve, "show which device a backing setting names"},
	{"load", cli_load, "program and pin the BPF maps (no ublk)"},
	{"unload", cli_unload, "remove the pinned maps of an instance"},
	{"map-lba", cli_map_lba, "ask the remap BPF program where LBAs live"},
	{"daemon", cli_daemon, "serve the LUNs as ublk devices (foreground)"},
	{"up", cli_up, "start the daemon detached and wait until it serves"},
	{"down", cli_down, "stop the daemon and remove its devices"},
	{"status", cli_status, "show the served disks and their state"},
	{"reload", cli_reload, "apply new settings to the running daemon"},
	{"features", cli_features, "what this kernel offers blkxlate"},
	{"vmm-args", cli_vmm_args, "print VMM arguments that attach every LUN"},
	{"stats", cli_stats, "IOPS, MB/s, errors, p50/p99 per LUN and member"},
	{"trace", cli_trace, "one line per remapped request, live"},
};
#define NR_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *f)
{
	fprintf(f, "Usage: blkxlate [-v] COMMAND [ARGS...]\n"
		   "       blkxlate COMMAND --help\n\nCommands:\n");
	for (size_t i = 0; i < NR_COMMANDS; i++)
		fprintf(f, "  %-10s %s\n", commands[i].name,
			commands[i].summary);
	fprintf(f, "\nOptions:\n"
		   "  -v, --verbose   more detail (libbpf messages too)\n"
		   "  -V, --version   print the version\n"
		   "  -h, --help      this text\n");
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	if (level == LIBBPF_DEBUG || (level == LIBBPF_INFO && !cli_verbose) ||
	    (level == LIBBPF_WARN && !cli_verbose))
		return 0;
	return vfprintf(stderr, fmt, ap);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"verbose", no_argument, NULL, 'v'},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	/* stop at the command: its options are its own */
	while ((c = getopt_long(argc, argv, "+vVh", longopts, NULL)) != -1) {
		switch (c) {
		case 'v':
			cli_verbose = true;
			break;
		case 'V':
			printf("blkxlate %s\n", BLKXLATE_VERSION);
			return CLI_OK;
		case 'h':
			usage(stdout);
			return CLI_OK;
		default:
			usage(stderr);
			return CLI_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return CLI_USAGE;
	}
	libbpf_set_print(libbpf_print);
	for (size_t i = 0; i < NR_COMMANDS; i++)
		if (!strcmp(argv[optind], commands[i].name))
			return commands[i].fn(argc - optind, argv + optind);
	fprintf(stderr, "blkxlate: error: unknown command '%s'\n\n",
		argv[optind]);
	usage(stderr);
	return CLI_USAGE;
}
