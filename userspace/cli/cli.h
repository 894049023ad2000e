/* SPDX-License-Identifier: MIT */
/* cli: the blkxlate subcommands, one function each (argv[0] = name). */
#ifndef BLKXLATE_CLI_H
#define BLKXLATE_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include "base/log.h"
#include "config/settings.h"

/* Exit statuses of every subcommand. */
enum cli_exit {
	CLI_OK = 0,
	CLI_FAILED = 1,	      /* the operation failed (I/O, BPF, kernel) */
	CLI_USAGE = 2,	      /* bad command line */
	CLI_BAD_SETTINGS = 3, /* the settings (or their backings) are invalid */
};

#define cli_verbose log_verbose

/* The options several commands share, one spelling each (struct option
 * entries); a command numbers its own long-only options from 256. */
#define CLI_OPT_SYSFS_ROOT 0x1000
#define CLI_OPT_INSTANCE                                                       \
	{                                                                      \
		"instance", required_argument, NULL, 'i'                       \
	}
#define CLI_OPT_JSON                                                           \
	{                                                                      \
		"json", no_argument, NULL, 'j'                                 \
	}
#define CLI_OPT_HELP                                                           \
	{                                                                      \
		"help", no_argument, NULL, 'h'                                 \
	}
#define CLI_OPT_SYSFS                                                          \
	{                                                                      \
		"sysfs-root", required_argument, NULL, CLI_OPT_SYSFS_ROOT      \
	}
#define CLI_OPT_END                                                            \
	{                                                                      \
		NULL, 0, NULL, 0                                               \
	}

int cli_validate(int argc, char **argv);
int cli_plan(int argc, char **argv);
int cli_load(int argc, char **argv);
int cli_unload(int argc, char **argv);
int cli_map_lba(int argc, char **argv);
int cli_daemon(int argc, char **argv);
int cli_up(int argc, char **argv);
int cli_down(int argc, char **argv);
int cli_status(int argc, char **argv);
int cli_reload(int argc, char **argv);
int cli_features(int argc, char **argv);
int cli_resolve(int argc, char **argv);
int cli_vmm_args(int argc, char **argv);
int cli_stats(int argc, char **argv);
int cli_trace(int argc, char **argv);

/* Helpers shared by the subcommands (messages go through log.h). */
#define cli_error log_error
#define cli_warn  log_warn
#define cli_info  log_info
/* Report a settings error as a JSON object on stdout or a line on stderr. */
void cli_settings_error(const struct error_obj *err, bool json);
/* The exit status of a failure: 3 for settings and backings that cannot be
 * served (Configuration.*), 1 for anything else. */
int cli_exit_of(const struct error_obj *err);
/* Take the instance lock for command cmd: its fd, or -1 after saying who
 * holds it (the daemon serving it, or another command). */
int cli_lock_instance(const char *cmd, const char *instance);
/* Print the parser's warnings (stderr lines; nothing in JSON mode). */
void cli_settings_warnings(const struct settings *s, bool json);
/*
 * The preamble of every command that reads a settings file: parse config
 * (an error is printed, as JSON with json), print its warnings (text mode
 * only), and with rc resolve and plan it too.  CLI_OK, or CLI_BAD_SETTINGS
 * with nothing left to free.
 */
struct plan;
struct resolve_ctx;
int cli_read_config(const char *config, bool json, const struct resolve_ctx *rc,
		    struct settings *s, struct plan *p);
/*
 * Options of a command that takes only --instance (and --json where json is
 * not NULL): its usage is "Usage: blkxlate CMD [--instance NAME]" and what.
 * 0, 1 after --help, or -CLI_USAGE after an error shown.
 */
int cli_parse_instance(int argc, char **argv, const char *what,
		       const char **instance, bool *json);
/* Where a command keeps the shared options (NULL: it has no such one). */
struct cli_common {
	const char **instance;	/* -i, --instance */
	bool *json;		/* -j, --json */
	struct resolve_ctx *rc; /* --sysfs-root */
	void (*usage)(FILE *f); /* -h, and any option it does not know */
	/* the command's own options: 0 taken, -CLI_USAGE refused (the error
	 * shown), 1 not one of its own */
	int (*own)(int c, void *ctx);
	void *ctx;
};
/* The cases of a getopt loop that every command shares: 0 when c was a
 * shared option (set), 1 after -h (usage printed), -CLI_USAGE for an
 * option nobody knows (usage on stderr). */
int cli_common_opt(int c, const struct cli_common *co);
/* The whole getopt loop of a command: its own options through co->own,
 * then the shared ones.  0, 1 after -h, or -CLI_USAGE. */
int cli_getopt(int argc, char **argv, const char *optstring,
	       const struct option *longopts, const struct cli_common *co);
/* Print a json-c object on stdout, pretty, with a newline; frees it. */
struct json_object;
int cli_print_json(struct json_object *obj);
/* Parse an unsigned integer argument; 0 or -EINVAL with an error shown. */
int cli_parse_u64(const char *opt, const char *arg, unsigned long long max,
		  unsigned long long *out);
/* One of choices (NULL-terminated) into *out, or -EINVAL with "OPT: 'ARG' is
 * not a, b or c" shown. */
int cli_parse_choice(const char *opt, const char *arg,
		     const char *const *choices, const char **out);
/* The same for a count 1..max. */
int cli_parse_count(const char *opt, const char *arg, unsigned int max,
		    unsigned int *out);

#endif /* BLKXLATE_CLI_H */
