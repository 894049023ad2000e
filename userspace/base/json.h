/* SPDX-License-Identifier: MIT */
/* json: one-line adds of json-c values to an object, for the reports that
 * add many fields. */
#ifndef BLKXLATE_BASE_JSON_H
#define BLKXLATE_BASE_JSON_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

static inline void json_add_int(struct json_object *o, const char *key,
				int64_t v)
{
	json_object_object_add(o, key, json_object_new_int64(v));
}

static inline void json_add_str(struct json_object *o, const char *key,
				const char *v)
{
	json_object_object_add(o, key, json_object_new_string(v ? v : ""));
}

static inline void json_add_bool(struct json_object *o, const char *key, bool v)
{
	json_object_object_add(o, key, json_object_new_boolean(v));
}

#endif /* BLKXLATE_BASE_JSON_H */
