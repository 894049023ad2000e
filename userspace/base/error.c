// SPDX-License-Identifier: MIT
#include "base/error.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

#include "base/utf8.h"

void error_set(struct error_obj *err, const char *name, const char *path,
	       const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	/* name may be given with or without the category. */
	snprintf(err->error_id, sizeof(err->error_id), "%s%s",
		 strchr(name, '.') ? "" : "Configuration.", name);
	if (snprintf(err->path, sizeof(err->path), "%s", path ? path : "") >=
	    (int)sizeof(err->path))
		utf8_trim(err->path);
	va_start(ap, fmt);
	if (vsnprintf(err->message, sizeof(err->message), fmt, ap) >=
	    (int)sizeof(err->message))
		utf8_trim(err->message);
	va_end(ap);
}

static int add_str(struct json_object *o, const char *key, const char *val)
{
	struct json_object *s = json_object_new_string(val);

	if (!s)
		return -ENOMEM;
	if (json_object_object_add(o, key, s)) {
		json_object_put(s);
		return -ENOMEM;
	}
	return 0;
}

char *error_json(const struct error_obj *err)
{
	struct json_object *o = json_object_new_object();
	const char *text = NULL;
	char *ret = NULL;

	if (!o)
		return NULL;
	if (!add_str(o, "error_id", err->error_id) &&
	    !add_str(o, "message", err->message) &&
	    !add_str(o, "path", err->path))
		text = json_object_to_json_string_ext(o, JSON_FLAGS);
	if (text)
		ret = strdup(text);
	json_object_put(o);
	return ret;
}
