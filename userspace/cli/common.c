// SPDX-License-Identifier: MIT
#include <errno.h>
#include <limits.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "daemon/instance.h"
#include "daemon/state.h"
#include "pins/maps.h"
#include "plan/plan.h"

void cli_settings_error(const struct error_obj *err, bool json)
{
	if (json) {
		char *s = error_json(err);

		printf("%s\n", s ? s : "{\"error_id\":\"InternalFailure\"}");
		free(s);
		return;
	}
	cli_error("%s: %s [%s]", err->path[0] ? err->path : "(settings)",
		  err->message, err->error_id);
}

void cli_settings_warnings(const struct settings *s, bool json)
{
	if (json)
		return;
	for (size_t i = 0; i < s->nr_warnings; i++)
		cli_warn("%s: %s", s->warnings[i].path, s->warnings[i].message);
}

int cli_print_json(struct json_object *obj)
{
	const char *s = json_object_to_json_string_ext(
		obj, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);

	printf("%s\n", s);
	json_object_put(obj);
	return fflush(stdout) ? -EIO : 0;
}

int cli_parse_u64(const char *opt, const char *arg, unsigned long long max,
		  unsigned long long *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	if (!arg || !*arg || *arg == '-')
		goto bad;
	v = strtoull(arg, &end, 0);
	if (errno || *end || v > max)
		goto bad;
	*out = v;
	return 0;
bad:
	cli_error("%s: '%s' is not a number in 0..%llu", opt, arg ? arg : "",
		  max);
	return -EINVAL;
}

int cli_exit_of(const struct error_obj *err)
{
	return !strncmp(err->error_id, "Configuration.", 14) ? CLI_BAD_SETTINGS
							     : CLI_FAILED;
}

int cli_lock_instance(const char *cmd, const char *instance)
{
	int holder, fd = instance_lock(instance, &holder);

	if (fd == -EBUSY && holder && holder == state_running_pid(instance))
		cli_error(
			"%s: instance '%s' is served by pid %d ('blkxlate down --instance %s' stops it)",
			cmd, instance, holder, instance);
	else if (fd == -EBUSY)
		cli_error(
			"%s: instance '%s' is busy: pid %d holds its lock (its daemon starting, or another blkxlate command)",
			cmd, instance, holder);
	else if (fd == -EINVAL)
		cli_error(
			"%s: invalid instance name '%s' (1-32 of [A-Za-z0-9_-])",
			cmd, instance);
	else if (fd < 0)
		cli_error("%s: cannot take the lock of instance '%s' in %s: %s",
			  cmd, instance, state_run_dir(), strerror(-fd));
	return fd < 0 ? -1 : fd;
}

int cli_read_config(const char *config, bool json, const struct resolve_ctx *rc,
		    struct settings *s, struct plan *p)
{
	struct error_obj err = {0};

	if (settings_parse_file(config, s, &err)) {
		cli_settings_error(&err, json);
		return CLI_BAD_SETTINGS;
	}
	cli_settings_warnings(s, json);
	if (rc && plan_build(s, rc, 0, p, &err)) {
		cli_settings_error(&err, json);
		settings_fini(s);
		return CLI_BAD_SETTINGS;
	}
	return CLI_OK;
}

static void usage_simple(FILE *f, const char *cmd, const char *what)
{
	fprintf(f,
		"Usage: blkxlate %s [--instance NAME]%s\n"
		"\n"
		"%s\n"
		"\n"
		"  -i, --instance NAME   instance name (default 'default')\n"
		"%s  -h, --help            this text\n",
		cmd, strcmp(cmd, "status") ? "" : " [--json]", what,
		strcmp(cmd, "status")
			? ""
			: "  -j, --json            JSON output\n");
}

int cli_parse_instance(int argc, char **argv, const char *what,
		       const char **instance, bool *json)
{
	static const struct option longopts[] = {
		CLI_OPT_INSTANCE,
		CLI_OPT_JSON,
		CLI_OPT_HELP,
		CLI_OPT_END,
	};
	int c;

	*instance = MAPS_DEFAULT_INSTANCE;
	optind = 1;
	while ((c = getopt_long(argc, argv, json ? "i:jh" : "i:h", longopts,
				NULL)) != -1) {
		switch (c) {
		case 'i':
			*instance = optarg;
			break;
		case 'j':
			if (!json)
				goto bad;
			*json = true;
			break;
		case 'h':
			usage_simple(stdout, argv[0], what);
			return 1;
		default:
			goto bad;
		}
	}
	if (optind == argc)
		return 0;
	cli_error("%s: unexpected argument '%s'", argv[0], argv[optind]);
bad:
	usage_simple(stderr, argv[0], what);
	return -CLI_USAGE;
}

int cli_parse_count(const char *opt, const char *arg, unsigned int max,
		    unsigned int *out)
{
	unsigned long long v;

	if (cli_parse_u64(opt, arg, max, &v) || !v) {
		cli_error("%s: must be 1..%u", opt, max);
		return -EINVAL;
	}
	*out = (unsigned int)v;
	return 0;
}

int cli_common_opt(int c, const struct cli_common *co)
{
	if (c == 'i' && co->instance) {
		*co->instance = optarg;
		return 0;
	}
	if (c == 'j' && co->json) {
		*co->json = true;
		return 0;
	}
	if (c == CLI_OPT_SYSFS_ROOT && co->rc) {
		co->rc->sysfs_root = optarg;
		return 0;
	}
	if (c == 'h') {
		co->usage(stdout);
		return 1;
	}
	co->usage(stderr);
	return -CLI_USAGE;
}

int cli_getopt(int argc, char **argv, const char *optstring,
	       const struct option *longopts, const struct cli_common *co)
{
	int c, ret;

	optind = 1;
	while ((c = getopt_long(argc, argv, optstring, longopts, NULL)) != -1) {
		ret = co->own ? co->own(c, co->ctx) : 1;
		if (ret < 0)
			return ret;
		if (ret > 0)
			ret = cli_common_opt(c, co);
		if (ret)
			return ret;
	}
	return 0;
}

int cli_parse_choice(const char *opt, const char *arg,
		     const char *const *choices, const char **out)
{
	char list[256] = "";
	size_t n = 0;

	for (; choices[n]; n++) {
		if (!strcmp(arg, choices[n])) {
			*out = choices[n];
			return 0;
		}
	}
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(list);

		snprintf(list + len, sizeof(list) - len, "%s%s",
			 !i	     ? ""
			 : i + 1 < n ? ", "
				     : " or ",
			 choices[i]);
	}
	cli_error("%s: '%s' is not %s", opt, arg, list);
	return -EINVAL;
}
