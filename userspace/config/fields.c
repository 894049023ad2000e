// SPDX-License-Identifier: MIT
/*
 * fields: paths and messages, collecting an object's fields, the typed
 * getters and the enums -- how every settings object is read.
 */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <blkxlate/abi.h>

#include "base/utf8.h"
#include "config/parse.h"

/* --- paths and messages ------------------------------------------------ */

/* base.key; the document root has an empty base. Truncation only shortens
 * a label, so it is not an error. */
void cfg_path_field(char *out, const char *base, const char *key)
{
	if (snprintf(out, ERROR_PATH_LEN, "%s%s%s", base, *base ? "." : "",
		     key) >= ERROR_PATH_LEN)
		utf8_trim(out);
}

void cfg_path_elem(char *out, const char *array_path, size_t idx)
{
	if (snprintf(out, ERROR_PATH_LEN, "%s[%zu]", array_path, idx) >=
	    ERROR_PATH_LEN)
		utf8_trim(out);
}

void cfg_field_path(const struct fields *f, int i, char *out)
{
	cfg_path_field(out, f->base, f->key[i] ? f->key[i] : f->names[i]);
}

/* Messages start from the last indexed component: luns[1].location. */
const char *cfg_path_short(const char *path)
{
	const char *p = strrchr(path, '[');

	if (!p)
		return *path ? path : "settings";
	while (p > path && p[-1] != '.')
		p--;
	return p;
}

/* v as JSON text, shortened to fit a message. */
const char *cfg_val_text(struct json_object *v, char *buf)
{
	const char *t =
		v ? json_object_to_json_string_ext(v, JSON_FLAGS) : "(missing)";

	if (!t)
		t = "?";
	if (strlen(t) < VAL_LEN)
		snprintf(buf, VAL_LEN, "%s", t);
	else {
		memcpy(buf, t, VAL_LEN - 4); /* t is longer */
		buf[VAL_LEN - 4] = '\0';
		utf8_trim(buf);
		strcat(buf, "...");
	}
	return buf;
}

static int vfail(struct pctx *c, const char *id, const char *path,
		 const char *fmt, va_list ap)
{
	char msg[sizeof(c->err->message)];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	utf8_trim(msg);
	error_set(c->err, id, path, "%s %s", cfg_path_short(path), msg);
	return -EINVAL;
}

int cfg_fail_path(struct pctx *c, const char *id, const char *path,
		  const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = vfail(c, id, path, fmt, ap);
	va_end(ap);
	return ret;
}

/* Fail on field i of f: the path names the field, fmt follows its name. */
int cfg_fail(struct pctx *c, const char *id, const struct fields *f, int i,
	     const char *fmt, ...)
{
	char path[ERROR_PATH_LEN];
	va_list ap;
	int ret;

	cfg_field_path(f, i, path);
	va_start(ap, fmt);
	ret = vfail(c, id, path, fmt, ap);
	va_end(ap);
	return ret;
}

int cfg_oom(struct pctx *c)
{
	error_set(c->err, ERR_NOMEM, "", "out of memory");
	return -ENOMEM;
}

static int warn(struct pctx *c, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int warn(struct pctx *c, const char *path, const char *fmt, ...)
{
	struct settings *s = c->s;
	struct settings_warning *w;
	char msg[sizeof(w->message)];
	va_list ap;

	if (s->nr_warnings == c->warn_cap) {
		size_t cap = c->warn_cap ? 2 * c->warn_cap : 8;

		w = realloc(s->warnings, cap * sizeof(*w));
		if (!w)
			return cfg_oom(c);
		s->warnings = w;
		c->warn_cap = cap;
	}
	w = &s->warnings[s->nr_warnings++];
	if (snprintf(w->path, sizeof(w->path), "%s", path) >=
	    (int)sizeof(w->path))
		utf8_trim(w->path);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	utf8_trim(msg);
	if (snprintf(w->message, sizeof(w->message), "%s %s",
		     cfg_path_short(path), msg) >= (int)sizeof(w->message))
		utf8_trim(w->message); /* a label: cut */
	return 0;
}

int cfg_warn_field(struct pctx *c, const struct fields *f, int i,
		   const char *what)
{
	char path[ERROR_PATH_LEN];

	cfg_field_path(f, i, path);
	return warn(c, path, "%s", what);
}

/* --- collecting an object's fields ------------------------------------- */

/* Protobuf JSON also names fields in lowerCamelCase: sub_device_path is
 * subDevicePath. */
static bool key_is_camel(const char *key, const char *name)
{
	for (; *name; name++, key++) {
		char want = *name;

		if (want == '_' && name[1] >= 'a' && name[1] <= 'z')
			want = (char)(*++name - 'a' + 'A');
		if (*key != want)
			return false;
	}
	return *key == '\0';
}

static int field_index(const struct fields *f, const char *key)
{
	for (int i = 0; i < f->nr; i++)
		if (!strcmp(key, f->names[i]) || key_is_camel(key, f->names[i]))
			return i;
	return -1;
}

void cfg_fields_init(struct fields *f, const char *const *names, int nr,
		     const char *base)
{
	memset(f, 0, sizeof(*f));
	f->names = names;
	f->nr = nr;
	f->base = base;
}

/*
 * Match obj's keys against f.  A null value counts as absent, as protobuf
 * JSON reads it.  Unknown keys become warnings, never errors.
 */
int cfg_collect(struct pctx *c, struct json_object *obj, struct fields *f)
{
	char path[ERROR_PATH_LEN];
	int ret;

	if (!json_object_is_type(obj, json_type_object))
		return cfg_fail_path(c, ERR_JSON, f->base,
				     "is not a JSON object");
	json_object_object_foreach (obj, k, v) {
		int i = field_index(f, k);

		if (i < 0) {
			cfg_path_field(path, f->base, k);
			ret = warn(c, path, "is not a known field; ignored");
			if (ret)
				return ret;
			continue;
		}
		if (f->key[i])
			return cfg_fail(c, ERR_JSON, f, i,
					"is given twice (%s, %s)", f->key[i],
					k);
		f->key[i] = k;
		f->val[i] = v;
	}
	return 0;
}

/* --- typed getters ----------------------------------------------------- */

static bool uint_from_int(struct json_object *v, uint64_t *x)
{
	if (json_object_get_int64(v) < 0)
		return false;
	*x = json_object_get_uint64(v);
	/* json-c saturates larger numbers to UINT64_MAX, so that value cannot
	 * be told from an overflow; no field accepts it anyway. */
	return *x != UINT64_MAX;
}

/* Protobuf JSON accepts 1e3 for an integer; only exact values here. */
static bool uint_from_double(struct json_object *v, uint64_t *x)
{
	double d = json_object_get_double(v);

	if (!(d >= 0 && d <= 9007199254740992.0)) /* 2^53; NaN fails too */
		return false;
	*x = (uint64_t)d;
	return (double)*x == d;
}

/* Protobuf JSON writes uint64 as a decimal string. */
static bool uint_from_string(struct json_object *v, uint64_t *x)
{
	const char *s = json_object_get_string(v);
	size_t len = (size_t)json_object_get_string_len(v);
	char *end;

	if (!len || strspn(s, "0123456789") != len)
		return false;
	errno = 0;
	*x = strtoull(s, &end, 10);
	return errno == 0 && *end == '\0';
}

/* An unsigned field up to max (UINT32_MAX or UINT64_MAX); *has false and 0
 * when absent. */
static int get_uint(struct pctx *c, const struct fields *f, int i, uint64_t max,
		    struct settings_opt_u64 *out)
{
	struct json_object *v = f->val[i];
	bool wide = max > UINT32_MAX, ok;
	char vb[VAL_LEN];
	uint64_t x = 0;

	out->has = false;
	out->val = 0;
	if (!v)
		return 0;
	switch (json_object_get_type(v)) {
	case json_type_int:
		ok = uint_from_int(v, &x);
		break;
	case json_type_double:
		ok = uint_from_double(v, &x);
		break;
	case json_type_string:
		ok = wide && uint_from_string(v, &x);
		break;
	default:
		ok = false;
	}
	if (ok && x <= max) {
		out->has = true;
		out->val = x;
		return 0;
	}
	if (json_object_is_type(v, json_type_int) && !ok &&
	    json_object_get_int64(v) > 0) /* saturated by json-c */
		snprintf(vb, sizeof(vb), "%s", "a number >= 2^64 - 1");
	else
		cfg_val_text(v, vb);
	return cfg_fail(
		c, ERR_JSON, f, i, "%s is not %s", vb,
		wide ? "an unsigned 64-bit integer (a number or a decimal string)"
		     : "an unsigned 32-bit integer (0..4294967295)");
}

int cfg_get_u32(struct pctx *c, const struct fields *f, int i,
		struct settings_opt_u64 *out)
{
	return get_uint(c, f, i, UINT32_MAX, out);
}

int cfg_get_u64(struct pctx *c, const struct fields *f, int i,
		struct settings_opt_u64 *out)
{
	return get_uint(c, f, i, UINT64_MAX, out);
}

/* An optional u32 limited to lo..hi; out of range is a format error. */
int cfg_get_u32_range(struct pctx *c, const struct fields *f, int i,
		      uint32_t lo, uint32_t hi, struct settings_opt_u64 *out)
{
	int ret = cfg_get_u32(c, f, i, out);

	if (ret || !out->has || (out->val >= lo && out->val <= hi))
		return ret;
	return cfg_fail(c, ERR_JSON, f, i,
			"%" PRIu64 " is out of range (%s must be %" PRIu32
			"..%" PRIu32 ")",
			out->val, f->names[i], lo, hi);
}

int cfg_get_bool(struct pctx *c, const struct fields *f, int i,
		 struct settings_opt_bool *out)
{
	struct json_object *v = f->val[i];
	char vb[VAL_LEN];

	out->has = false;
	out->val = false;
	if (!v)
		return 0;
	if (!json_object_is_type(v, json_type_boolean))
		return cfg_fail(c, ERR_JSON, f, i,
				"%s is not a boolean (true or false)",
				cfg_val_text(v, vb));
	out->has = true;
	out->val = json_object_get_boolean(v);
	return 0;
}

/* A string field, NULL when absent; embedded NULs are rejected. */
int cfg_get_str(struct pctx *c, const struct fields *f, int i, const char **out)
{
	struct json_object *v = f->val[i];
	char vb[VAL_LEN];

	*out = NULL;
	if (!v)
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return cfg_fail(c, ERR_JSON, f, i, "%s is not a string",
				cfg_val_text(v, vb));
	*out = json_object_get_string(v);
	if (strlen(*out) != (size_t)json_object_get_string_len(v))
		return cfg_fail(c, ERR_JSON, f, i,
				"%s contains a NUL character",
				cfg_val_text(v, vb));
	return 0;
}

/* A field of JSON type t (object or array), NULL when absent. */
int cfg_get_typed(struct pctx *c, const struct fields *f, int i,
		  enum json_type t, struct json_object **out)
{
	struct json_object *v = f->val[i];
	char vb[VAL_LEN];

	*out = NULL;
	if (!v)
		return 0;
	if (!json_object_is_type(v, t))
		return cfg_fail(c, ERR_JSON, f, i, "%s is not a JSON %s",
				cfg_val_text(v, vb), json_type_to_name(t));
	*out = v;
	return 0;
}

/* --- enums: protobuf names, their aliases and their numbers ------------ */

static bool enum_lookup(const struct enum_desc *d, struct json_object *v,
			int *out)
{
	if (json_object_is_type(v, json_type_int)) {
		int64_t n = json_object_get_int64(v);

		if (n < 0 || (uint64_t)n >= d->nr_numbers ||
		    d->by_number[n] < 0)
			return false;
		*out = d->by_number[n];
		return true;
	}
	for (const struct enum_name *e = d->names; e->name; e++) {
		if (!strcmp(json_object_get_string(v), e->name)) {
			*out = e->val;
			return true;
		}
	}
	return false;
}

/* A required enum field: missing or unknown is d->error_id. */
int cfg_get_enum(struct pctx *c, const struct fields *f, int i,
		 const struct enum_desc *d, int *out)
{
	struct json_object *v = f->val[i];
	char vb[VAL_LEN];

	if (!v)
		return cfg_fail(c, d->error_id, f, i,
				"is missing (expected %s)", d->expect);
	if (!json_object_is_type(v, json_type_int) &&
	    !json_object_is_type(v, json_type_string))
		return cfg_fail(c, ERR_JSON, f, i,
				"%s is not a string or integer",
				cfg_val_text(v, vb));
	if (!enum_lookup(d, v, out))
		return cfg_fail(c, d->error_id, f, i,
				"%s is not a %s (expected %s)",
				cfg_val_text(v, vb), d->what, d->expect);
	return 0;
}

const struct enum_desc cfg_version_enum = {
	.what = "supported schema version",
	.error_id = ERR_VERSION,
	.names = (const struct enum_name[]){{"V1", 1}, {NULL, 0}},
	.by_number = (const int[]){-1, 1},
	.nr_numbers = 2,
	.expect = "\"V1\" or 1",
};

const struct enum_desc cfg_protocol_enum = {
	.what = "storage protocol",
	.error_id = ERR_CTRL_TYPE,
	.names = (const struct enum_name[]){{"SCSI", SETTINGS_PROTO_SCSI},
					    {"scsi", SETTINGS_PROTO_SCSI},
					    {"IDE", SETTINGS_PROTO_IDE},
					    {"ide", SETTINGS_PROTO_IDE},
					    {"NVME", SETTINGS_PROTO_NVME},
					    {"nvme", SETTINGS_PROTO_NVME},
					    {"NVMe", SETTINGS_PROTO_NVME},
					    {NULL, 0}},
	.by_number = (const int[]){-1, SETTINGS_PROTO_SCSI, SETTINGS_PROTO_IDE,
				   SETTINGS_PROTO_NVME},
	.nr_numbers = 4,
	.expect = "SCSI, IDE or NVME, or 1..3",
};

const struct enum_desc cfg_backing_enum = {
	.what = "physical devices type",
	.error_id = ERR_DEVICE_TYPE,
	.names = (const struct enum_name[]){{"SINGLE", BACKING_SINGLE},
					    {"single", BACKING_SINGLE},
					    {"STRIPED", BACKING_STRIPED},
					    {"striped", BACKING_STRIPED},
					    {"striping", BACKING_STRIPED},
					    {NULL, 0}},
	.by_number = (const int[]){-1, BACKING_SINGLE, BACKING_STRIPED},
	.nr_numbers = 3,
	.expect = "single or striped, or 1..2",
};

const struct enum_desc cfg_device_type_enum = {
	.what = "device type",
	.error_id = ERR_DEVICE_TYPE,
	.names = (const struct enum_name[]){{"NVME", SETTINGS_DEV_NVME},
					    {"NVMe", SETTINGS_DEV_NVME},
					    {"nvme", SETTINGS_DEV_NVME},
					    {"VSCSI", SETTINGS_DEV_VSCSI},
					    {"VScsi", SETTINGS_DEV_VSCSI},
					    {"vscsi", SETTINGS_DEV_VSCSI},
					    {"FILE", SETTINGS_DEV_FILE},
					    {"file", SETTINGS_DEV_FILE},
					    {NULL, 0}},
	.by_number = (const int[]){-1, SETTINGS_DEV_NVME, SETTINGS_DEV_VSCSI},
	.nr_numbers = 3,
	.expect = "nvme, vscsi or file, or 1..2",
};
