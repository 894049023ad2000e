/* SPDX-License-Identifier: MIT */
/*
 * parse: what the files of config/ share while they read one document --
 * the parse state, an object's collected fields, the error ids, and the
 * steps one file calls in another.  Not for use outside config/.
 *
 * Every JSON object is read the same way: cfg_collect() matches its keys
 * against the object's field table (snake_case, or protobuf JSON's
 * lowerCamelCase), turns unknown keys into warnings, and the typed getters turn
 * values into numbers, enums and strings -- or into one error object naming the
 * field (path), the value and the rule.  The first error stops the parse and
 * settings_parse_*() frees whatever was built, so on error the caller gets
 * a zeroed model.
 */
#ifndef BLKXLATE_CONFIG_PARSE_H
#define BLKXLATE_CONFIG_PARSE_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/settings.h"

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

#define MAX_FIELDS     24	   /* the Lun has the most */
#define VAL_LEN	       48	   /* a value quoted in a message */
#define VSCSI_MAX_LUN  16383	   /* storvsp's host LUN range */
#define MAX_FILE_BYTES (16u << 20) /* a settings file, sanity bound */
#define JSON_FLAGS     (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* Parse state: the model being built and where the first error goes. */
struct pctx {
	struct settings *s;
	struct error_obj *err;
	size_t warn_cap;
};

/* One JSON object's known fields, as cfg_collect() found them. */
struct fields {
	const char *const *names; /* snake_case */
	int nr;
	const char *base;		     /* JSON path of the object */
	struct json_object *val[MAX_FIELDS]; /* NULL: absent or null */
	const char *key[MAX_FIELDS];	     /* the key as written */
};

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

/* physical_devices.type */
enum { BACKING_SINGLE, BACKING_STRIPED };

extern const struct enum_desc cfg_version_enum, cfg_protocol_enum,
	cfg_backing_enum, cfg_device_type_enum;

void cfg_path_field(char *out, const char *base, const char *key);
void cfg_path_elem(char *out, const char *array_path, size_t idx);
void cfg_field_path(const struct fields *f, int i, char *out);
const char *cfg_path_short(const char *path);
const char *cfg_val_text(struct json_object *v, char *buf);
int cfg_fail_path(struct pctx *c, const char *id, const char *path,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
int cfg_fail(struct pctx *c, const char *id, const struct fields *f, int i,
	     const char *fmt, ...) __attribute__((format(printf, 5, 6)));
int cfg_oom(struct pctx *c);
int cfg_warn_field(struct pctx *c, const struct fields *f, int i,
		   const char *what);
void cfg_fields_init(struct fields *f, const char *const *names, int nr,
		     const char *base);
int cfg_collect(struct pctx *c, struct json_object *obj, struct fields *f);
int cfg_get_u32(struct pctx *c, const struct fields *f, int i,
		struct settings_opt_u64 *out);
int cfg_get_u64(struct pctx *c, const struct fields *f, int i,
		struct settings_opt_u64 *out);
int cfg_get_u32_range(struct pctx *c, const struct fields *f, int i,
		      uint32_t lo, uint32_t hi, struct settings_opt_u64 *out);
int cfg_get_bool(struct pctx *c, const struct fields *f, int i,
		 struct settings_opt_bool *out);
int cfg_get_str(struct pctx *c, const struct fields *f, int i,
		const char **out);
int cfg_get_typed(struct pctx *c, const struct fields *f, int i,
		  enum json_type t, struct json_object **out);
int cfg_get_enum(struct pctx *c, const struct fields *f, int i,
		 const struct enum_desc *d, int *out);
int cfg_parse_luns(struct pctx *c, struct settings_controller *ctl,
		   struct json_object *arr, const char *path);
int cfg_parse_root(struct pctx *c, struct json_object *root);
int cfg_parse_b64_chunk(struct pctx *c, struct json_object *v, const char *path,
			struct json_object **doc);

#endif /* BLKXLATE_CONFIG_PARSE_H */
