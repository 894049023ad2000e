// SPDX-License-Identifier: MIT
#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

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
