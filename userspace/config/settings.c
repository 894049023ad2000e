// SPDX-License-Identifier: MIT
/*
 * settings: OpenHCL VTL2 settings JSON -> validated model.
 *
 * Every JSON object is read the same way: collect() matches its keys against
 * the object's field table (snake_case, or protobuf JSON's lowerCamelCase),
 * turns unknown keys into warnings, and the typed getters below turn values
 * into numbers, enums and strings -- or into one settings_error naming the
 * field (path), the value and the rule.  The first error stops the parse and
 * settings_parse_*() frees whatever was built, so on error the caller gets a
 * zeroed model.
 */
#include "config/settings.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#define ERR_JSON	   "Configuration.JsonFormatError"
#define ERR_VERSION	   "Configuration.UnsupportedSchemaVersion"
#define ERR_NAMESPACE	   "Configuration.UnsupportedSchemaNamespace"
#define ERR_EMPTY_CHUNK	   "Configuration.EmptyNamespaceChunk"
#define ERR_INSTANCE_ID	   "Configuration.InvalidInstanceId"
#define ERR_CTRL_TYPE	   "Configuration.StorageInvalidControllerType"
#define ERR_CTRL_DUP	   "Configuration.StorageControllerGuidAlreadyExists"
#define ERR_SCSI_MAX	   "Configuration.StorageScsiControllerExceedsMaxLimits"
#define ERR_IDE_MAX	   "Configuration.StorageIdeChannelExceedsMaxLimits"
#define ERR_IDE_NO_CHANNEL "Configuration.StorageIdeChannelNotProvided"
#define ERR_IDE_SLOT	   "Configuration.StorageIdeChannelInvalidConfiguration"
#define ERR_LOCATION_MAX   "Configuration.StorageLunLocationExceedsMaxLimits"
#define ERR_LOCATION_DUP   "Configuration.StorageLunLocationDuplicated"
#define ERR_DEVICE_ID	   "Configuration.StorageInvalidDeviceId"
#define ERR_VENDOR_ID	   "Configuration.StorageInvalidVendorId"
#define ERR_PRODUCT_ID	   "Configuration.StorageInvalidProductId"
#define ERR_PRODUCT_REV	   "Configuration.StorageInvalidProductRevisionLevel"
#define ERR_SERIAL	   "Configuration.StorageInvalidSerialNumber"
#define ERR_MODEL	   "Configuration.StorageInvalidModelNumber"
#define ERR_SECTOR_SIZE	   "Configuration.StorageInvalidPhysicalSectorSize"
#define ERR_MAX_TRANSFER   "Configuration.StorageInvalidMaxTransferLength"
#define ERR_DISK_SIZE	   "Configuration.StorageInvalidDiskSize"
#define ERR_DEVICE_TYPE	   "Configuration.StorageUnsupportedDeviceType"
#define ERR_EMPTY_DRIVE	   "Configuration.EmptyDriveNotAllowed"
#define ERR_CHUNK_SIZE	   "Configuration.StorageInvalidChunkSize"
#define ERR_NTFS_GUID	   "Configuration.StorageInvalidNtfsFormatGuid"
#define ERR_DISK_COUNT	   "Configuration.StorageInvalidPhysicalDiskCount"
#define ERR_DEVICE_PATH	   "Configuration.StorageInvalidDevicePath"
#define ERR_SUB_PATH	   "Configuration.StorageInvalidSubDevicePath"
/* Not an OpenHCL code: settings_parse_*() returned -ENOMEM. */
#define ERR_NOMEM	   "System.OutOfMemory"

#define MAX_FIELDS	   24	       /* the Lun has the most */
#define VAL_LEN		   48	       /* a value quoted in a message */
#define MAX_STRIPE_DEVICES 32	       /* disk_striped's member limit */
#define MAX_IO_QUEUE_DEPTH 4096	       /* io_queue_depth 1..4096 */
#define VSCSI_MAX_LUN	   16383       /* storvsp's host LUN range */
#define MAX_FILE_BYTES	   (16u << 20) /* a settings file, sanity bound */
#define JSON_FLAGS	   (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* Parse state: the model being built and where the first error goes. */
struct pctx {
	struct settings *s;
	struct settings_error *err;
	size_t warn_cap;
};

/* One JSON object's known fields, as collect() found them. */
struct fields {
	const char *const *names; /* snake_case */
	int nr;
	const char *base;		     /* JSON path of the object */
	struct json_object *val[MAX_FIELDS]; /* NULL: absent or null */
	const char *key[MAX_FIELDS];	     /* the key as written */
};

/* --- paths and messages ------------------------------------------------ */

/*
 * After a cut to fit a buffer, drop a last UTF-8 character that lost some
 * of its bytes: messages and paths quote the input, and their JSON form
 * must stay valid UTF-8.
 */
static void utf8_trim(char *s)
{
	size_t n = strlen(s), i = n, need;
	unsigned char c;

	/* back to the start of the last character */
	while (i > 0 && ((unsigned char)s[i - 1] & 0xc0) == 0x80 && n - i < 3)
		i--;
	if (i == 0)
		return;
	c = (unsigned char)s[i - 1];
	if (c < 0x80)
		return;
	need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
	if (n - (i - 1) < need)
		s[i - 1] = '\0';
}

/* base.key; the document root has an empty base. Truncation only shortens
 * a label, so it is not an error. */
static void path_field(char *out, const char *base, const char *key)
{
	if (snprintf(out, SETTINGS_PATH_LEN, "%s%s%s", base, *base ? "." : "",
		     key) >= SETTINGS_PATH_LEN)
		utf8_trim(out);
}

static void path_elem(char *out, const char *array_path, size_t idx)
{
	if (snprintf(out, SETTINGS_PATH_LEN, "%s[%zu]", array_path, idx) >=
	    SETTINGS_PATH_LEN)
		utf8_trim(out);
}

static void field_path(const struct fields *f, int i, char *out)
{
	path_field(out, f->base, f->key[i] ? f->key[i] : f->names[i]);
}

/* Messages start from the last indexed component: luns[1].location. */
static const char *path_short(const char *path)
{
	const char *p = strrchr(path, '[');

	if (!p)
		return *path ? path : "settings";
	while (p > path && p[-1] != '.')
		p--;
	return p;
}

/* v as JSON text, shortened to fit a message. */
static const char *val_text(struct json_object *v, char *buf)
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
	settings_error_set(c->err, id, path, "%s %s", path_short(path), msg);
	return -EINVAL;
}

static int fail_path(struct pctx *c, const char *id, const char *path,
		     const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail_path(struct pctx *c, const char *id, const char *path,
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
static int fail(struct pctx *c, const char *id, const struct fields *f, int i,
		const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int fail(struct pctx *c, const char *id, const struct fields *f, int i,
		const char *fmt, ...)
{
	char path[SETTINGS_PATH_LEN];
	va_list ap;
	int ret;

	field_path(f, i, path);
	va_start(ap, fmt);
	ret = vfail(c, id, path, fmt, ap);
	va_end(ap);
	return ret;
}

static int oom(struct pctx *c)
{
	settings_error_set(c->err, ERR_NOMEM, "", "out of memory");
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
			return oom(c);
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
	if (snprintf(w->message, sizeof(w->message), "%s %s", path_short(path),
		     msg) >= (int)sizeof(w->message))
		utf8_trim(w->message); /* a label: cut */
	return 0;
}

static int warn_field(struct pctx *c, const struct fields *f, int i,
		      const char *what)
{
	char path[SETTINGS_PATH_LEN];

	field_path(f, i, path);
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

static void fields_init(struct fields *f, const char *const *names, int nr,
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
static int collect(struct pctx *c, struct json_object *obj, struct fields *f)
{
	char path[SETTINGS_PATH_LEN];
	int ret;

	if (!json_object_is_type(obj, json_type_object))
		return fail_path(c, ERR_JSON, f->base, "is not a JSON object");
	json_object_object_foreach (obj, k, v) {
		int i = field_index(f, k);

		if (i < 0) {
			path_field(path, f->base, k);
			ret = warn(c, path, "is not a known field; ignored");
			if (ret)
				return ret;
			continue;
		}
		if (f->key[i])
			return fail(c, ERR_JSON, f, i,
				    "is given twice (%s, %s)", f->key[i], k);
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
		val_text(v, vb);
	return fail(
		c, ERR_JSON, f, i, "%s is not %s", vb,
		wide ? "an unsigned 64-bit integer (a number or a decimal string)"
		     : "an unsigned 32-bit integer (0..4294967295)");
}

static int get_u32(struct pctx *c, const struct fields *f, int i,
		   struct settings_opt_u64 *out)
{
	return get_uint(c, f, i, UINT32_MAX, out);
}

static int get_u64(struct pctx *c, const struct fields *f, int i,
		   struct settings_opt_u64 *out)
{
	return get_uint(c, f, i, UINT64_MAX, out);
}

/* An optional u32 limited to lo..hi; out of range is a format error. */
static int get_u32_range(struct pctx *c, const struct fields *f, int i,
			 uint32_t lo, uint32_t hi, struct settings_opt_u64 *out)
{
	int ret = get_u32(c, f, i, out);

	if (ret || !out->has || (out->val >= lo && out->val <= hi))
		return ret;
	return fail(c, ERR_JSON, f, i,
		    "%" PRIu64 " is out of range (%s must be %" PRIu32
		    "..%" PRIu32 ")",
		    out->val, f->names[i], lo, hi);
}

static int get_bool(struct pctx *c, const struct fields *f, int i,
		    struct settings_opt_bool *out)
{
	struct json_object *v = f->val[i];
	char vb[VAL_LEN];

	out->has = false;
	out->val = false;
	if (!v)
		return 0;
	if (!json_object_is_type(v, json_type_boolean))
		return fail(c, ERR_JSON, f, i,
			    "%s is not a boolean (true or false)",
			    val_text(v, vb));
	out->has = true;
	out->val = json_object_get_boolean(v);
	return 0;
}

/* A string field, NULL when absent; embedded NULs are rejected. */
static int get_str(struct pctx *c, const struct fields *f, int i,
		   const char **out)
{
	struct json_object *v = f->val[i];
	char vb[VAL_LEN];

	*out = NULL;
	if (!v)
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return fail(c, ERR_JSON, f, i, "%s is not a string",
			    val_text(v, vb));
	*out = json_object_get_string(v);
	if (strlen(*out) != (size_t)json_object_get_string_len(v))
		return fail(c, ERR_JSON, f, i, "%s contains a NUL character",
			    val_text(v, vb));
	return 0;
}

/* A field of JSON type t (object or array), NULL when absent. */
static int get_typed(struct pctx *c, const struct fields *f, int i,
		     enum json_type t, struct json_object **out)
{
	struct json_object *v = f->val[i];
	char vb[VAL_LEN];

	*out = NULL;
	if (!v)
		return 0;
	if (!json_object_is_type(v, t))
		return fail(c, ERR_JSON, f, i, "%s is not a JSON %s",
			    val_text(v, vb), json_type_to_name(t));
	*out = v;
	return 0;
}

/* --- enums: protobuf names, their aliases and their numbers ------------ */

struct enum_name {
	const char *name;
	int val;
};

struct enum_desc {
	const char *what;	       /* for messages */
	const char *error_id;	       /* unknown or missing value */
	const struct enum_name *names; /* NULL-terminated */
	const int *by_number;	       /* protobuf number -> value, -1 none */
	size_t nr_numbers;
	const char *expect; /* for messages */
};

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
static int get_enum(struct pctx *c, const struct fields *f, int i,
		    const struct enum_desc *d, int *out)
{
	struct json_object *v = f->val[i];
	char vb[VAL_LEN];

	if (!v)
		return fail(c, d->error_id, f, i, "is missing (expected %s)",
			    d->expect);
	if (!json_object_is_type(v, json_type_int) &&
	    !json_object_is_type(v, json_type_string))
		return fail(c, ERR_JSON, f, i, "%s is not a string or integer",
			    val_text(v, vb));
	if (!enum_lookup(d, v, out))
		return fail(c, d->error_id, f, i,
			    "%s is not a %s (expected %s)", val_text(v, vb),
			    d->what, d->expect);
	return 0;
}

static const struct enum_desc version_enum = {
	.what = "supported schema version",
	.error_id = ERR_VERSION,
	.names = (const struct enum_name[]){{"V1", 1}, {NULL, 0}},
	.by_number = (const int[]){-1, 1},
	.nr_numbers = 2,
	.expect = "\"V1\" or 1",
};

static const struct enum_desc protocol_enum = {
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

enum { BACKING_SINGLE, BACKING_STRIPED };

static const struct enum_desc backing_enum = {
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

static const struct enum_desc device_type_enum = {
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

/* --- physical devices -------------------------------------------------- */

enum { D_TYPE, D_PATH, D_SUB, D_NR };
static const char *const device_names[D_NR] = {"device_type", "device_path",
					       "sub_device_path"};

static int device_path_check(struct pctx *c, const struct fields *f,
			     const int idx[D_NR], struct settings_device *dev)
{
	const char *p;
	int ret = get_str(c, f, idx[D_PATH], &p);

	if (ret)
		return ret;
	if (!p)
		return fail(c, ERR_DEVICE_PATH, f, idx[D_PATH],
			    "is missing (the backing device is required)");
	if (!*p)
		return fail(c, ERR_DEVICE_PATH, f, idx[D_PATH],
			    "is empty (the backing device is required)");
	if (dev->type == SETTINGS_DEV_FILE && *p != '/')
		return fail(
			c, ERR_DEVICE_PATH, f, idx[D_PATH],
			"\"%s\" is not an absolute path (file backings need one)",
			p);
	dev->device_path = strdup(p);
	return dev->device_path ? 0 : oom(c);
}

/* NVMe: the namespace id (required); vSCSI: the host LUN; file: none. */
static int device_sub_check(struct pctx *c, const struct fields *f, int i,
			    struct settings_device *dev)
{
	struct settings_opt_u64 sub;
	const char *rule;
	int ret = get_u32(c, f, i, &sub);

	if (ret)
		return ret;
	dev->sub_device_path = (uint32_t)sub.val;
	if (dev->type == SETTINGS_DEV_NVME && !sub.has)
		return fail(
			c, ERR_SUB_PATH, f, i,
			"is missing (an NVMe backing needs its namespace id, 1..4294967294)");
	if (dev->type == SETTINGS_DEV_NVME &&
	    (sub.val == 0 || sub.val == UINT32_MAX))
		rule = "an NVMe namespace id is 1..4294967294";
	else if (dev->type == SETTINGS_DEV_VSCSI && sub.val > VSCSI_MAX_LUN)
		rule = "a host SCSI LUN is 0..16383";
	else if (dev->type == SETTINGS_DEV_FILE && sub.val)
		rule = "a file backing takes none, or 0";
	else
		return 0;
	return fail(c, ERR_SUB_PATH, f, i, "%" PRIu64 " is invalid (%s)",
		    sub.val, rule);
}

/* device_type, device_path, sub_device_path at idx[] of f: one backing. */
static int parse_device_fields(struct pctx *c, const struct fields *f,
			       const int idx[D_NR], struct settings_device *dev)
{
	int type, ret;

	ret = get_enum(c, f, idx[D_TYPE], &device_type_enum, &type);
	if (ret)
		return ret;
	dev->type = (enum settings_device_type)type;
	ret = device_path_check(c, f, idx, dev);
	if (ret)
		return ret;
	return device_sub_check(c, f, idx[D_SUB], dev);
}

/* A PhysicalDevice object; dev->path is already set. */
static int parse_device(struct pctx *c, struct json_object *obj,
			struct settings_device *dev)
{
	static const int idx[D_NR] = {D_TYPE, D_PATH, D_SUB};
	struct fields f;
	int ret;

	fields_init(&f, device_names, D_NR, dev->path);
	ret = collect(c, obj, &f);
	if (ret)
		return ret;
	return parse_device_fields(c, &f, idx, dev);
}

static int lun_alloc_devices(struct pctx *c, struct settings_lun *lun, size_t n)
{
	lun->devices = calloc(n, sizeof(*lun->devices));
	if (!lun->devices)
		return oom(c);
	lun->nr_devices = n;
	return 0;
}

enum { PD_TYPE, PD_DEVICE, PD_DEVICES, PD_NR };
static const char *const pd_names[PD_NR] = {"type", "device", "devices"};

static int pd_single(struct pctx *c, const struct fields *f,
		     struct json_object *device, size_t nr,
		     struct settings_lun *lun)
{
	int ret;

	if (!device)
		return fail(
			c, ERR_DISK_COUNT, f, PD_DEVICE,
			"is missing (a single disk needs exactly one device; %zu in devices)",
			nr);
	if (nr)
		return fail(
			c, ERR_DISK_COUNT, f, PD_DEVICES,
			"has %zu devices (a single disk takes only physical_devices.device)",
			nr);
	ret = lun_alloc_devices(c, lun, 1);
	if (ret)
		return ret;
	field_path(f, PD_DEVICE, lun->devices[0].path);
	return parse_device(c, device, &lun->devices[0]);
}

static int pd_striped(struct pctx *c, const struct fields *f,
		      struct json_object *devices, size_t nr,
		      struct settings_lun *lun)
{
	char path[SETTINGS_PATH_LEN];
	int ret;

	if (f->val[PD_DEVICE])
		return fail(
			c, ERR_DISK_COUNT, f, PD_DEVICE,
			"is set (a striped disk takes only physical_devices.devices)");
	if (nr < 2 || nr > MAX_STRIPE_DEVICES)
		return fail(c, ERR_DISK_COUNT, f, PD_DEVICES,
			    "has %zu devices (a striped disk needs 2..%d)", nr,
			    MAX_STRIPE_DEVICES);
	ret = lun_alloc_devices(c, lun, nr);
	if (ret)
		return ret;
	lun->striped = true;
	field_path(f, PD_DEVICES, path);
	for (size_t i = 0; i < nr && !ret; i++) {
		path_elem(lun->devices[i].path, path, i);
		ret = parse_device(c, json_object_array_get_idx(devices, i),
				   &lun->devices[i]);
	}
	return ret;
}

static int parse_physical_devices(struct pctx *c, struct json_object *obj,
				  const char *path, struct settings_lun *lun)
{
	struct json_object *device, *devices;
	struct fields f;
	int type, ret;
	size_t nr;

	fields_init(&f, pd_names, PD_NR, path);
	ret = collect(c, obj, &f);
	if (!ret)
		ret = get_enum(c, &f, PD_TYPE, &backing_enum, &type);
	if (!ret)
		ret = get_typed(c, &f, PD_DEVICE, json_type_object, &device);
	if (!ret)
		ret = get_typed(c, &f, PD_DEVICES, json_type_array, &devices);
	if (ret)
		return ret;
	nr = devices ? json_object_array_length(devices) : 0;
	if (type == BACKING_SINGLE)
		return pd_single(c, &f, device, nr, lun);
	return pd_striped(c, &f, devices, nr, lun);
}

/* --- luns -------------------------------------------------------------- */

enum {
	L_CHANNEL,
	L_LOCATION,
	L_DEVICE_ID,
	L_VENDOR_ID,
	L_PRODUCT_ID,
	L_PRODUCT_REV,
	L_SERIAL,
	L_MODEL,
	L_ROTATION,
	L_SECTOR_SIZE,
	L_FUA,
	L_WRITE_CACHE,
	L_ODX,
	L_DISABLE_THIN,
	L_MAX_TRANSFER,
	L_PHYSICAL_DEVICES,
	L_IS_DVD,
	L_CHUNK_SIZE,
	L_DISK_SIZE,
	L_NTFS_GUID,
	L_TOTAL_LOGIC_SIZE,
	L_DEVICE_TYPE, /* legacy single-device form: */
	L_DEVICE_PATH,
	L_SUB_DEVICE_PATH,
	L_NR
};
_Static_assert(L_NR <= MAX_FIELDS, "MAX_FIELDS too small for a Lun");

static const char *const lun_names[L_NR] = {
	"channel",
	"location",
	"device_id",
	"vendor_id",
	"product_id",
	"product_revision_level",
	"serial_number",
	"model_number",
	"medium_rotation_rate",
	"physical_sector_size",
	"fua",
	"write_cache",
	"odx",
	"disable_thin_provisioning",
	"max_transfer_length",
	"physical_devices",
	"is_dvd",
	"chunk_size_in_kb",
	"scsi_disk_size_in_bytes",
	"ntfs_guid",
	"total_logic_size_in_kb",
	"device_type",
	"device_path",
	"sub_device_path",
};

static int lun_ide_slot(struct pctx *c, const struct fields *f,
			const struct settings_lun *lun)
{
	if (!lun->has_channel)
		return fail(c, ERR_IDE_NO_CHANNEL, f, L_CHANNEL,
			    "is missing (IDE disks need channel 0 or 1)");
	if (lun->channel >= SETTINGS_IDE_CHANNELS)
		return fail(c, ERR_IDE_MAX, f, L_CHANNEL,
			    "%" PRIu32
			    " exceeds the IDE limit (channel must be < %d)",
			    lun->channel, SETTINGS_IDE_CHANNELS);
	if (lun->location >= SETTINGS_IDE_DRIVES)
		return fail(
			c, ERR_IDE_MAX, f, L_LOCATION,
			"%" PRIu32
			" exceeds the IDE limit (location must be < %d drives per channel)",
			lun->location, SETTINGS_IDE_DRIVES);
	return 0;
}

static int lun_location(struct pctx *c, enum settings_protocol proto,
			const struct fields *f, struct settings_lun *lun)
{
	struct settings_opt_u64 loc, chan;
	int ret = get_u32(c, f, L_LOCATION, &loc);

	if (!ret)
		ret = get_u32(c, f, L_CHANNEL, &chan);
	if (ret)
		return ret;
	lun->location = (uint32_t)loc.val;
	lun->has_channel = chan.has;
	lun->channel = (uint32_t)chan.val;
	if (proto == SETTINGS_PROTO_IDE)
		return lun_ide_slot(c, f, lun);
	if (proto == SETTINGS_PROTO_SCSI && loc.val >= SETTINGS_SCSI_MAX_LUNS)
		return fail(c, ERR_LOCATION_MAX, f, L_LOCATION,
			    "%" PRIu64
			    " exceeds the SCSI limit (location must be < %d)",
			    loc.val, SETTINGS_SCSI_MAX_LUNS);
	if (proto == SETTINGS_PROTO_NVME &&
	    (loc.val == 0 || loc.val == UINT32_MAX))
		return fail(
			c, ERR_LOCATION_MAX, f, L_LOCATION,
			"%" PRIu64
			" is not an NVMe namespace id (location must be 1..4294967294)",
			loc.val);
	if (!chan.has)
		return 0;
	lun->has_channel = false;
	lun->channel = 0;
	return warn_field(c, f, L_CHANNEL,
			  "is only used by IDE disks; ignored");
}

/* A printable-ASCII identity string of at most max characters; NULL when
 * absent or empty (protobuf's default). */
static int get_ascii(struct pctx *c, const struct fields *f, int i, size_t max,
		     const char *id, const char **out)
{
	char vb[VAL_LEN];
	size_t len;
	int ret = get_str(c, f, i, out);

	if (ret || !*out)
		return ret;
	len = strlen(*out);
	for (size_t k = 0; k < len; k++)
		if ((*out)[k] < 0x20 || (*out)[k] > 0x7e)
			return fail(
				c, id, f, i,
				"%s has a character that is not printable ASCII",
				val_text(f->val[i], vb));
	if (len > max)
		return fail(c, id, f, i,
			    "%s is %zu characters long (%s is at most %zu)",
			    val_text(f->val[i], vb), len, f->names[i], max);
	if (!len)
		*out = NULL;
	return 0;
}

static int copy_ascii(struct pctx *c, const struct fields *f, int i,
		      const char *id, char *dst, size_t size)
{
	const char *s;
	int ret = get_ascii(c, f, i, size - 1, id, &s);

	if (!ret && s)
		snprintf(dst, size, "%s", s);
	return ret;
}

static int dup_ascii(struct pctx *c, const struct fields *f, int i, size_t max,
		     const char *id, char **dst)
{
	const char *s;
	int ret = get_ascii(c, f, i, max, id, &s);

	if (ret || !s)
		return ret;
	*dst = strdup(s);
	return *dst ? 0 : oom(c);
}

static int lun_device_id(struct pctx *c, const struct fields *f,
			 struct settings_lun *lun)
{
	const char *s;
	int ret = get_str(c, f, L_DEVICE_ID, &s);

	if (ret || !s || !*s)
		return ret;
	if (guid_parse(s, &lun->device_id))
		return fail(c, ERR_DEVICE_ID, f, L_DEVICE_ID,
			    "\"%s\" is not a GUID", s);
	if (guid_is_zero(&lun->device_id))
		return fail(
			c, ERR_DEVICE_ID, f, L_DEVICE_ID,
			"\"%s\" is the zero GUID (device_id must be non-zero)",
			s);
	lun->has_device_id = true;
	return 0;
}

static int lun_identity(struct pctx *c, const struct fields *f,
			struct settings_lun *lun)
{
	int ret = lun_device_id(c, f, lun);

	if (!ret)
		ret = copy_ascii(c, f, L_VENDOR_ID, ERR_VENDOR_ID,
				 lun->vendor_id, sizeof(lun->vendor_id));
	if (!ret)
		ret = copy_ascii(c, f, L_PRODUCT_ID, ERR_PRODUCT_ID,
				 lun->product_id, sizeof(lun->product_id));
	if (!ret)
		ret = copy_ascii(c, f, L_PRODUCT_REV, ERR_PRODUCT_REV,
				 lun->product_revision_level,
				 sizeof(lun->product_revision_level));
	/* NVMe's identify limits: SN 20 bytes, MN 40 bytes. */
	if (!ret)
		ret = dup_ascii(c, f, L_SERIAL, 20, ERR_SERIAL,
				&lun->serial_number);
	if (!ret)
		ret = dup_ascii(c, f, L_MODEL, 40, ERR_MODEL,
				&lun->model_number);
	return ret;
}

static int lun_sizes(struct pctx *c, const struct fields *f,
		     struct settings_lun *lun)
{
	const struct settings_opt_u64 *ps = &lun->physical_sector_size;
	const struct settings_opt_u64 *mtl = &lun->max_transfer_length;
	const struct settings_opt_u64 *ds = &lun->scsi_disk_size_in_bytes;
	int ret = get_u32(c, f, L_SECTOR_SIZE, &lun->physical_sector_size);

	if (!ret && ps->has && ps->val != 512 && ps->val != 4096)
		return fail(c, ERR_SECTOR_SIZE, f, L_SECTOR_SIZE,
			    "%" PRIu64 " is not 512 or 4096", ps->val);
	if (!ret)
		ret = get_u64(c, f, L_MAX_TRANSFER, &lun->max_transfer_length);
	if (!ret && mtl->has && (mtl->val < 4096 || mtl->val % 512))
		return fail(
			c, ERR_MAX_TRANSFER, f, L_MAX_TRANSFER,
			"%" PRIu64
			" is invalid (max_transfer_length must be >= 4096 and a multiple of 512)",
			mtl->val);
	if (!ret)
		ret = get_u64(c, f, L_DISK_SIZE, &lun->scsi_disk_size_in_bytes);
	if (!ret && ds->has && (ds->val == 0 || ds->val % 512))
		return fail(
			c, ERR_DISK_SIZE, f, L_DISK_SIZE,
			"%" PRIu64
			" is invalid (scsi_disk_size_in_bytes must be a non-zero multiple of 512)",
			ds->val);
	return ret;
}

static int lun_overrides(struct pctx *c, const struct fields *f,
			 struct settings_lun *lun)
{
	int ret = get_u32_range(c, f, L_ROTATION, 0, UINT16_MAX,
				&lun->medium_rotation_rate);

	if (!ret)
		ret = get_bool(c, f, L_FUA, &lun->fua);
	if (!ret)
		ret = get_bool(c, f, L_WRITE_CACHE, &lun->write_cache);
	if (!ret)
		ret = get_bool(c, f, L_ODX, &lun->odx);
	if (!ret)
		ret = get_bool(c, f, L_DISABLE_THIN,
			       &lun->disable_thin_provisioning);
	if (!ret)
		ret = lun_sizes(c, f, lun);
	return ret;
}

/* The legacy form: device_type/device_path/sub_device_path on the Lun. */
static int lun_legacy(struct pctx *c, const struct fields *f,
		      struct settings_lun *lun)
{
	static const int idx[D_NR] = {L_DEVICE_TYPE, L_DEVICE_PATH,
				      L_SUB_DEVICE_PATH};
	int ret;

	if (!f->val[L_DEVICE_PATH] || !f->val[L_SUB_DEVICE_PATH]) {
		int i = f->val[L_DEVICE_PATH] ? L_SUB_DEVICE_PATH
					      : L_DEVICE_PATH;

		return fail(
			c, ERR_JSON, f, i,
			"is missing: could not find any physical devices (the legacy form needs device_path and sub_device_path)");
	}
	ret = lun_alloc_devices(c, lun, 1);
	if (ret)
		return ret;
	lun->legacy = true;
	snprintf(lun->devices[0].path, SETTINGS_PATH_LEN, "%s", lun->path);
	return parse_device_fields(c, f, idx, &lun->devices[0]);
}

static int lun_chunk_size(struct pctx *c, const struct fields *f,
			  struct settings_lun *lun)
{
	int ret = get_u32(c, f, L_CHUNK_SIZE, &lun->chunk_size_in_kb);

	if (ret)
		return ret;
	if (lun->striped && !lun->chunk_size_in_kb.val)
		return fail(
			c, ERR_CHUNK_SIZE, f, L_CHUNK_SIZE,
			"is %s (a striped disk needs a non-zero chunk size in KiB)",
			lun->chunk_size_in_kb.has ? "0" : "missing");
	if (!lun->striped && lun->chunk_size_in_kb.has) {
		lun->chunk_size_in_kb.has = false;
		lun->chunk_size_in_kb.val = 0;
		return warn_field(c, f, L_CHUNK_SIZE,
				  "only applies to striped disks; ignored");
	}
	return 0;
}

/* is_dvd and the backing: physical_devices, the legacy form, or neither. */
static int lun_backing(struct pctx *c, enum settings_protocol proto,
		       const struct fields *f, struct settings_lun *lun)
{
	struct settings_opt_bool dvd;
	struct json_object *pd;
	char path[SETTINGS_PATH_LEN];
	int legacy = -1, ret;

	ret = get_bool(c, f, L_IS_DVD, &dvd);
	if (!ret)
		ret = get_typed(c, f, L_PHYSICAL_DEVICES, json_type_object,
				&pd);
	if (ret)
		return ret;
	lun->is_dvd = dvd.val;
	if (lun->is_dvd && proto == SETTINGS_PROTO_NVME)
		return fail(c, ERR_DEVICE_TYPE, f, L_IS_DVD,
			    "is true (an NVMe namespace cannot be a DVD)");
	for (int i = L_SUB_DEVICE_PATH; i >= L_DEVICE_TYPE; i--)
		if (f->val[i])
			legacy = i;
	/* As OpenHCL: is_dvd or physical_devices means the new schema. */
	if (legacy >= 0 && (pd || lun->is_dvd))
		return fail(
			c, ERR_JSON, f, legacy,
			"cannot be used with %s: cannot mix old/new physical device schema declarations",
			pd ? "physical_devices" : "is_dvd");
	if (pd) {
		field_path(f, L_PHYSICAL_DEVICES, path);
		ret = parse_physical_devices(c, pd, path, lun);
	} else if (lun->is_dvd) {
		return fail(
			c, ERR_EMPTY_DRIVE, f, L_IS_DVD,
			"is true with no physical_devices: blkxlate cannot serve an empty drive");
	} else if (legacy >= 0) {
		ret = lun_legacy(c, f, lun);
	} else {
		return fail(
			c, ERR_JSON, f, L_PHYSICAL_DEVICES,
			"is missing: could not find any physical devices (need physical_devices or device_path)");
	}
	return ret ? ret : lun_chunk_size(c, f, lun);
}

static int lun_extras(struct pctx *c, const struct fields *f,
		      struct settings_lun *lun)
{
	const char *s;
	int ret = get_str(c, f, L_NTFS_GUID, &s);

	if (ret)
		return ret;
	if (s && guid_parse(s, &lun->ntfs_guid))
		return fail(c, ERR_NTFS_GUID, f, L_NTFS_GUID,
			    "\"%s\" is not a GUID", s);
	lun->has_ntfs_guid = s != NULL;
	if (f->key[L_TOTAL_LOGIC_SIZE])
		return warn_field(c, f, L_TOTAL_LOGIC_SIZE,
				  "is deprecated; ignored");
	return 0;
}

/* One Lun; lun->path is already set. */
static int parse_lun(struct pctx *c, enum settings_protocol proto,
		     struct json_object *obj, struct settings_lun *lun)
{
	struct fields f;
	int ret;

	fields_init(&f, lun_names, L_NR, lun->path);
	ret = collect(c, obj, &f);
	if (!ret)
		ret = lun_location(c, proto, &f, lun);
	if (!ret)
		ret = lun_identity(c, &f, lun);
	if (!ret)
		ret = lun_overrides(c, &f, lun);
	if (!ret)
		ret = lun_backing(c, proto, &f, lun);
	if (!ret)
		ret = lun_extras(c, &f, lun);
	return ret;
}

/* luns[n] against the ones before it: one disk per location / IDE slot. */
static int lun_check_dup(struct pctx *c, const struct settings_controller *ctl,
			 size_t n)
{
	const struct settings_lun *lun = &ctl->luns[n];
	bool ide = ctl->protocol == SETTINGS_PROTO_IDE;
	char path[SETTINGS_PATH_LEN];

	for (size_t i = 0; i < n; i++) {
		const struct settings_lun *o = &ctl->luns[i];

		if (o->location != lun->location ||
		    (ide && o->channel != lun->channel))
			continue;
		path_field(path, lun->path, "location");
		if (ide)
			return fail_path(
				c, ERR_IDE_SLOT, path,
				"%" PRIu32 " on channel %" PRIu32
				" is already used by %s (one disk per IDE slot)",
				lun->location, lun->channel,
				path_short(o->path));
		return fail_path(
			c, ERR_LOCATION_DUP, path,
			"%" PRIu32
			" is already used by %s (locations must be unique within a controller)",
			lun->location, path_short(o->path));
	}
	return 0;
}

static int parse_luns(struct pctx *c, struct settings_controller *ctl,
		      struct json_object *arr, const char *path)
{
	size_t n = json_object_array_length(arr);
	int ret = 0;

	if (!n)
		return 0;
	ctl->luns = calloc(n, sizeof(*ctl->luns));
	if (!ctl->luns)
		return oom(c);
	ctl->nr_luns = n;
	for (size_t i = 0; i < n && !ret; i++) {
		path_elem(ctl->luns[i].path, path, i);
		ret = parse_lun(c, ctl->protocol,
				json_object_array_get_idx(arr, i),
				&ctl->luns[i]);
		if (!ret)
			ret = lun_check_dup(c, ctl, i);
	}
	return ret;
}

/* --- controllers ------------------------------------------------------- */

enum { C_INSTANCE_ID, C_PROTOCOL, C_LUNS, C_IO_QUEUE_DEPTH, C_NR };
static const char *const ctl_names[C_NR] = {"instance_id", "protocol", "luns",
					    "io_queue_depth"};

static int ctl_instance_id(struct pctx *c, const struct fields *f, size_t n)
{
	struct settings_controller *ctl = &c->s->controllers[n];
	const char *s;
	int ret = get_str(c, f, C_INSTANCE_ID, &s);

	if (ret)
		return ret;
	if (!s)
		return fail(c, ERR_INSTANCE_ID, f, C_INSTANCE_ID,
			    "is missing (a controller needs a GUID)");
	if (guid_parse(s, &ctl->instance_id))
		return fail(c, ERR_INSTANCE_ID, f, C_INSTANCE_ID,
			    "\"%s\" is not a GUID", s);
	guid_format(&ctl->instance_id, ctl->instance_id_str);
	for (size_t i = 0; i < n; i++)
		if (guid_equal(&c->s->controllers[i].instance_id,
			       &ctl->instance_id))
			return fail(
				c, ERR_CTRL_DUP, f, C_INSTANCE_ID,
				"%s is already used by %s (instance ids must be unique)",
				ctl->instance_id_str,
				path_short(c->s->controllers[i].path));
	return 0;
}

static int ctl_protocol(struct pctx *c, const struct fields *f, size_t n)
{
	struct settings_controller *ctl = &c->s->controllers[n];
	unsigned int same = 0;
	int proto, ret;

	ret = get_enum(c, f, C_PROTOCOL, &protocol_enum, &proto);
	if (ret)
		return ret;
	ctl->protocol = (enum settings_protocol)proto;
	for (size_t i = 0; i <= n; i++)
		same += c->s->controllers[i].protocol == ctl->protocol;
	if (ctl->protocol == SETTINGS_PROTO_SCSI &&
	    same > SETTINGS_MAX_SCSI_CONTROLLERS)
		return fail(c, ERR_SCSI_MAX, f, C_PROTOCOL,
			    "SCSI makes %u SCSI controllers (at most %d)", same,
			    SETTINGS_MAX_SCSI_CONTROLLERS);
	if (ctl->protocol == SETTINGS_PROTO_IDE &&
	    same > SETTINGS_MAX_IDE_CONTROLLERS)
		return fail(c, ERR_IDE_MAX, f, C_PROTOCOL,
			    "IDE makes %u IDE controllers (at most %d)", same,
			    SETTINGS_MAX_IDE_CONTROLLERS);
	return 0;
}

static int parse_controller(struct pctx *c, struct json_object *obj, size_t n)
{
	struct settings_controller *ctl = &c->s->controllers[n];
	char path[SETTINGS_PATH_LEN];
	struct json_object *luns;
	struct fields f;
	int ret;

	fields_init(&f, ctl_names, C_NR, ctl->path);
	ret = collect(c, obj, &f);
	if (!ret)
		ret = ctl_instance_id(c, &f, n);
	if (!ret)
		ret = ctl_protocol(c, &f, n);
	if (!ret)
		ret = get_u32_range(c, &f, C_IO_QUEUE_DEPTH, 1,
				    MAX_IO_QUEUE_DEPTH, &ctl->io_queue_depth);
	if (!ret)
		ret = get_typed(c, &f, C_LUNS, json_type_array, &luns);
	if (ret || !luns)
		return ret;
	field_path(&f, C_LUNS, path);
	return parse_luns(c, ctl, luns, path);
}

static int parse_controllers(struct pctx *c, struct json_object *arr,
			     const char *path)
{
	struct settings *s = c->s;
	size_t n = json_object_array_length(arr);
	int ret = 0;

	if (!n)
		return 0;
	s->controllers = calloc(n, sizeof(*s->controllers));
	if (!s->controllers)
		return oom(c);
	/* Entries not reached yet stay zeroed: settings_fini() copes. */
	s->nr_controllers = n;
	for (size_t i = 0; i < n && !ret; i++) {
		path_elem(s->controllers[i].path, path, i);
		ret = parse_controller(c, json_object_array_get_idx(arr, i), i);
	}
	return ret;
}

/* --- fixed, dynamic, the document forms -------------------------------- */

enum { FX_SUB_CHANNELS, FX_IO_RING_SIZE, FX_MAX_BOUNCE, FX_NR };
static const char *const fixed_names[FX_NR] = {
	"scsi_sub_channels", "io_ring_size", "max_bounce_buffer_pages"};

static int parse_fixed(struct pctx *c, struct json_object *obj,
		       const char *path)
{
	struct settings_fixed *fx = &c->s->fixed;
	struct settings_opt_u64 sub, ring;
	struct fields f;
	int ret;

	fields_init(&f, fixed_names, FX_NR, path);
	ret = collect(c, obj, &f);
	if (!ret)
		ret = get_u32(c, &f, FX_SUB_CHANNELS, &sub);
	if (!ret)
		ret = get_u32(c, &f, FX_IO_RING_SIZE, &ring);
	if (!ret)
		ret = get_u32(c, &f, FX_MAX_BOUNCE,
			      &fx->max_bounce_buffer_pages);
	if (ret)
		return ret;
	if (ring.has && !ring.val)
		return fail(c, ERR_JSON, &f, FX_IO_RING_SIZE,
			    "0 is out of range (io_ring_size >= 1)");
	if (ring.has)
		fx->io_ring_size = (uint32_t)ring.val;
	fx->scsi_sub_channels = (uint32_t)sub.val;
	if (sub.val > SETTINGS_MAX_SUB_CHANNELS) {
		fx->scsi_sub_channels = SETTINGS_MAX_SUB_CHANNELS;
		return warn_field(c, &f, FX_SUB_CHANNELS,
				  "is above 256; clamped to 256");
	}
	return 0;
}

enum { DY_STORAGE_CONTROLLERS, DY_NIC_DEVICES, DY_NR };
static const char *const dynamic_names[DY_NR] = {"storage_controllers",
						 "nic_devices"};

static int parse_dynamic(struct pctx *c, struct json_object *obj,
			 const char *path)
{
	char cpath[SETTINGS_PATH_LEN];
	struct json_object *ctls, *nics;
	struct fields f;
	int ret;

	fields_init(&f, dynamic_names, DY_NR, path);
	ret = collect(c, obj, &f);
	if (!ret)
		ret = get_typed(c, &f, DY_STORAGE_CONTROLLERS, json_type_array,
				&ctls);
	if (ret)
		return ret;
	nics = f.val[DY_NIC_DEVICES];
	if (nics && !(json_object_is_type(nics, json_type_array) &&
		      !json_object_array_length(nics))) {
		ret = warn_field(
			c, &f, DY_NIC_DEVICES,
			"are network devices, which blkxlate does not serve; ignored");
		if (ret)
			return ret;
	}
	if (!ctls)
		return 0;
	field_path(&f, DY_STORAGE_CONTROLLERS, cpath);
	return parse_controllers(c, ctls, cpath);
}

/* The Base form's fields, first in the top-level table too. */
enum { B_VERSION, B_FIXED, B_DYNAMIC, B_NR, T_NAMESPACE_SETTINGS = B_NR, T_NR };
static const char *const top_names[T_NR] = {"version", "fixed", "dynamic",
					    "namespace_settings"};

static int parse_base(struct pctx *c, const struct fields *f)
{
	char path[SETTINGS_PATH_LEN];
	struct json_object *fixed, *dyn;
	int version, ret;

	ret = get_enum(c, f, B_VERSION, &version_enum, &version);
	if (!ret)
		ret = get_typed(c, f, B_FIXED, json_type_object, &fixed);
	if (!ret)
		ret = get_typed(c, f, B_DYNAMIC, json_type_object, &dyn);
	if (!ret && fixed) {
		field_path(f, B_FIXED, path);
		ret = parse_fixed(c, fixed, path);
	}
	if (!ret && dyn) {
		field_path(f, B_DYNAMIC, path);
		ret = parse_dynamic(c, dyn, path);
	}
	return ret;
}

static int parse_base_doc(struct pctx *c, struct json_object *doc,
			  const char *path)
{
	struct fields f;
	int ret;

	fields_init(&f, top_names, B_NR, path);
	ret = collect(c, doc, &f);
	return ret ? ret : parse_base(c, &f);
}

/* --- JSON text and base64 ---------------------------------------------- */

static void offset_to_line(const char *text, size_t off, size_t *line,
			   size_t *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off; i++) {
		(*col)++;
		if (text[i] == '\n') {
			(*line)++;
			*col = 1;
		}
	}
}

static int json_fail(struct pctx *c, const char *src, const char *path,
		     const char *text, size_t off, const char *why)
{
	size_t line, col;

	offset_to_line(text, off, &line, &col);
	settings_error_set(c->err, ERR_JSON, path,
			   "%s: invalid JSON at line %zu, column %zu: %s", src,
			   line, col, why);
	return -EINVAL;
}

/*
 * Offset of the first byte of s[0..n) that is not RFC 3629 UTF-8, or n.
 * json-c's JSON_TOKENER_VALIDATE_UTF8 checks only the shape of each
 * sequence (a lead byte and its continuation bytes); overlong forms,
 * surrogates and code points above U+10FFFF pass it, and would then be
 * quoted into messages and warnings that are not valid UTF-8.
 */
static size_t utf8_invalid_at(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i], lo = 0x80, hi = 0xbf;
		size_t more;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			more = 1;
		} else if (c >= 0xe0 && c <= 0xef) {
			more = 2;
			lo = c == 0xe0 ? 0xa0 : 0x80; /* no overlong */
			hi = c == 0xed ? 0x9f : 0xbf; /* no surrogate */
		} else if (c >= 0xf0 && c <= 0xf4) {
			more = 3;
			lo = c == 0xf0 ? 0x90 : 0x80; /* no overlong */
			hi = c == 0xf4 ? 0x8f : 0xbf; /* <= U+10FFFF */
		} else {
			return i;
		}
		if (n - i <= more || s[i + 1] < lo || s[i + 1] > hi)
			return i;
		for (size_t k = 2; k <= more; k++)
			if (s[i + k] < 0x80 || s[i + k] > 0xbf)
				return i;
		i += more + 1;
	}
	return n;
}

/* Parse one whole JSON document (nothing but whitespace after it). */
static int parse_json_text(struct pctx *c, const char *text, size_t len,
			   const char *src, const char *path,
			   struct json_object **out)
{
	struct json_tokener *tok;
	enum json_tokener_error jerr;
	size_t end;

	*out = NULL;
	if (len >= INT_MAX || strlen(text) != len)
		return json_fail(c, src, path, text, strnlen(text, len),
				 len >= INT_MAX ? "too large" : "NUL byte");
	tok = json_tokener_new();
	if (!tok)
		return oom(c);
	/* strict JSON, valid UTF-8: whatever the input holds comes back in
	 * messages and paths, which must be valid JSON themselves */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
					    JSON_TOKENER_VALIDATE_UTF8);
	/* The NUL too: it ends a top-level number instead of "continue". */
	*out = json_tokener_parse_ex(tok, text, (int)len + 1);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (jerr == json_tokener_success) {
		size_t bad = utf8_invalid_at((const unsigned char *)text, len);

		end += strspn(text + end, " \t\r\n");
		if (end == len && bad == len)
			return 0;
		json_object_put(*out);
		*out = NULL;
		if (bad < end)
			return json_fail(
				c, src, path, text, bad,
				"invalid UTF-8 (an overlong form, a surrogate or above U+10FFFF)");
		return json_fail(c, src, path, text, end,
				 "unexpected data after the document");
	}
	json_object_put(*out);
	*out = NULL;
	return json_fail(c, src, path, text, end,
			 jerr == json_tokener_continue
				 ? "unexpected end of input"
				 : json_tokener_error_desc(jerr));
}

static int b64_val(char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+' || ch == '-')
		return 62;
	if (ch == '/' || ch == '_')
		return 63;
	return -1;
}

/*
 * Standard or URL-safe base64, padding optional, as protobuf JSON reads
 * bytes.  out needs len * 3 / 4 + 1 bytes; it is NUL-terminated.  Returns
 * the decoded length or -EINVAL.
 */
static ssize_t b64_decode(const char *in, size_t len, char *out)
{
	size_t pad = 0, n = 0;
	uint32_t acc = 0;
	int bits = 0;

	while (len && in[len - 1] == '=') {
		len--;
		pad++;
	}
	if (pad > 2 || (pad && (len + pad) % 4) || len % 4 == 1)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		int v = b64_val(in[i]);

		if (v < 0)
			return -EINVAL;
		acc = (acc << 6 | (uint32_t)v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (char)(acc >> bits & 0xff);
		}
	}
	out[n] = '\0';
	return (ssize_t)n;
}

/* A base64 chunk: decode, then parse the JSON document inside. */
static int parse_b64_chunk(struct pctx *c, struct json_object *v,
			   const char *path, struct json_object **doc)
{
	size_t len = (size_t)json_object_get_string_len(v);
	char src[SETTINGS_PATH_LEN + 32];
	char *buf = malloc(len / 4 * 3 + 4);
	ssize_t n;
	int ret;

	if (!buf)
		return oom(c);
	n = b64_decode(json_object_get_string(v), len, buf);
	if (n < 0)
		ret = fail_path(c, ERR_JSON, path, "is not valid base64");
	else if (buf[strspn(buf, " \t\r\n")] != '{')
		ret = fail_path(
			c, ERR_JSON, path,
			"does not decode to a JSON object (protobuf chunks are not supported)");
	else {
		snprintf(src, sizeof(src), "%s (base64-decoded)", path);
		ret = parse_json_text(c, buf, (size_t)n, src, path, doc);
	}
	free(buf);
	return ret;
}

/* --- namespace_settings ------------------------------------------------ */

enum { NS_NAMESPACE, NS_SETTINGS, NS_NR };
static const char *const chunk_names[NS_NR] = {"namespace", "settings"};

static int chunk_base(struct pctx *c, const struct fields *f, bool *seen_base)
{
	struct json_object *v = f->val[NS_SETTINGS], *doc = v;
	char path[SETTINGS_PATH_LEN];
	int ret = 0;

	if (*seen_base)
		return fail(
			c, ERR_JSON, f, NS_NAMESPACE,
			"\"Base\" is given twice (one Base chunk per document)");
	*seen_base = true;
	field_path(f, NS_SETTINGS, path);
	if (json_object_is_type(v, json_type_string))
		ret = parse_b64_chunk(c, v, path, &doc);
	if (!ret)
		ret = parse_base_doc(c, doc, path);
	if (doc != v)
		json_object_put(doc);
	return ret;
}

static int parse_chunk(struct pctx *c, struct json_object *obj,
		       const char *path, bool *seen_base)
{
	struct json_object *v;
	const char *ns;
	struct fields f;
	char vb[VAL_LEN];
	int ret;

	fields_init(&f, chunk_names, NS_NR, path);
	ret = collect(c, obj, &f);
	if (!ret)
		ret = get_str(c, &f, NS_NAMESPACE, &ns);
	if (ret)
		return ret;
	v = f.val[NS_SETTINGS];
	if (!v || (json_object_is_type(v, json_type_string) &&
		   !json_object_get_string_len(v)))
		return fail(c, ERR_EMPTY_CHUNK, &f, NS_SETTINGS,
			    "is empty (namespace %s)", ns ? ns : "(missing)");
	if (!json_object_is_type(v, json_type_string) &&
	    !json_object_is_type(v, json_type_object))
		return fail(c, ERR_JSON, &f, NS_SETTINGS,
			    "%s is not a base64 string or a JSON object",
			    val_text(v, vb));
	if (!ns)
		ns = "";
	if (!strcmp(ns, "Base"))
		return chunk_base(c, &f, seen_base);
	if (!strcmp(ns, "NetworkDevice") || !strcmp(ns, "NetworkAcceleration"))
		return warn_field(
			c, &f, NS_NAMESPACE,
			"is a network namespace, which blkxlate does not serve; ignored");
	return fail(
		c, ERR_NAMESPACE, &f, NS_NAMESPACE,
		"%s is not a supported namespace (Base, NetworkDevice or NetworkAcceleration)",
		val_text(f.val[NS_NAMESPACE], vb));
}

static int parse_namespaces(struct pctx *c, const struct fields *f)
{
	char path[SETTINGS_PATH_LEN], epath[SETTINGS_PATH_LEN];
	struct json_object *arr;
	bool seen_base = false;
	int ret;

	for (int i = B_VERSION; i < B_NR; i++)
		if (f->val[i])
			return fail(
				c, ERR_JSON, f, i,
				"cannot be mixed with namespace_settings (use a Base chunk)");
	ret = get_typed(c, f, T_NAMESPACE_SETTINGS, json_type_array, &arr);
	if (ret)
		return ret;
	field_path(f, T_NAMESPACE_SETTINGS, path);
	for (size_t i = 0; i < json_object_array_length(arr) && !ret; i++) {
		path_elem(epath, path, i);
		ret = parse_chunk(c, json_object_array_get_idx(arr, i), epath,
				  &seen_base);
	}
	return ret;
}

static int parse_root(struct pctx *c, struct json_object *root)
{
	struct fields f;
	int ret;

	fields_init(&f, top_names, T_NR, "");
	ret = collect(c, root, &f);
	if (ret)
		return ret;
	if (f.val[T_NAMESPACE_SETTINGS])
		return parse_namespaces(c, &f);
	/* {} is an empty document; anything of the Base form needs V1. */
	if (f.val[B_VERSION] || f.val[B_FIXED] || f.val[B_DYNAMIC])
		return parse_base(c, &f);
	return 0;
}

/* --- entry points ------------------------------------------------------ */

static int parse_text(const char *text, size_t len, const char *src,
		      struct settings *out, struct settings_error *err)
{
	struct settings_error scratch;
	struct pctx c = {.s = out, .err = err ? err : &scratch};
	struct json_object *root;
	int ret;

	memset(out, 0, sizeof(*out));
	memset(c.err, 0, sizeof(*c.err));
	out->fixed.io_ring_size = SETTINGS_DEFAULT_IO_RING_SIZE;
	ret = parse_json_text(&c, text, len, src, "", &root);
	if (!ret) {
		ret = parse_root(&c, root);
		json_object_put(root);
	}
	if (ret)
		settings_fini(out);
	return ret;
}

int settings_parse_string(const char *json, struct settings *out,
			  struct settings_error *err)
{
	if (!json) {
		memset(out, 0, sizeof(*out));
		settings_error_set(err, ERR_JSON, "", "settings: no document");
		return -EINVAL;
	}
	return parse_text(json, strlen(json), "settings", out, err);
}

/* The whole file into a NUL-terminated buffer (caller frees).  -errno. */
static int read_all(const char *path, char **bufp, size_t *lenp)
{
	size_t len = 0, cap = 0;
	char *buf = NULL, *p;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	do {
		if (cap - len < 4096) {
			if (cap >= MAX_FILE_BYTES) {
				ret = -EFBIG;
				break;
			}
			cap = cap ? 2 * cap : 65536;
			p = realloc(buf, cap);
			if (!p) {
				ret = -ENOMEM;
				break;
			}
			buf = p;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno != EINTR)
			ret = -errno;
		len += n > 0 ? (size_t)n : 0;
	} while (!ret && n != 0);
	close(fd);
	if (ret) {
		free(buf);
		return ret;
	}
	buf[len] = '\0';
	*bufp = buf;
	*lenp = len;
	return 0;
}

int settings_parse_file(const char *path, struct settings *out,
			struct settings_error *err)
{
	size_t len = 0;
	char *buf = NULL;
	int ret = read_all(path, &buf, &len);

	if (ret) {
		memset(out, 0, sizeof(*out));
		settings_error_set(err, ERR_JSON, "", "cannot read %s: %s",
				   path, strerror(-ret));
		return ret == -ENOMEM ? -ENOMEM : -EINVAL;
	}
	ret = parse_text(buf, len, path, out, err);
	free(buf);
	return ret;
}

void settings_fini(struct settings *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nr_controllers; i++) {
		struct settings_controller *ctl = &s->controllers[i];

		for (size_t j = 0; j < ctl->nr_luns; j++) {
			struct settings_lun *lun = &ctl->luns[j];

			for (size_t k = 0; k < lun->nr_devices; k++)
				free(lun->devices[k].device_path);
			free(lun->devices);
			free(lun->serial_number);
			free(lun->model_number);
		}
		free(ctl->luns);
	}
	free(s->controllers);
	free(s->warnings);
	memset(s, 0, sizeof(*s));
}

void settings_error_set(struct settings_error *err, const char *name,
			const char *path, const char *fmt, ...)
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

char *settings_error_json(const struct settings_error *err)
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

const char *settings_protocol_name(enum settings_protocol p)
{
	switch (p) {
	case SETTINGS_PROTO_SCSI:
		return "SCSI";
	case SETTINGS_PROTO_IDE:
		return "IDE";
	case SETTINGS_PROTO_NVME:
		return "NVME";
	}
	return "?";
}

const char *settings_device_type_name(enum settings_device_type t)
{
	switch (t) {
	case SETTINGS_DEV_NVME:
		return "nvme";
	case SETTINGS_DEV_VSCSI:
		return "vscsi";
	case SETTINGS_DEV_FILE:
		return "file";
	}
	return "?";
}
