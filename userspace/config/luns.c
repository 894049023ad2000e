// SPDX-License-Identifier: MIT
/* luns: a LUN and its physical devices (single, striped, legacy form). */
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

/* --- physical devices -------------------------------------------------- */

enum { D_TYPE, D_PATH, D_SUB, D_NR };
static const char *const device_names[D_NR] = {"device_type", "device_path",
					       "sub_device_path"};

static int device_path_check(struct pctx *c, const struct fields *f,
			     const int idx[D_NR], struct settings_device *dev)
{
	const char *p;
	int ret = cfg_get_str(c, f, idx[D_PATH], &p);

	if (ret)
		return ret;
	if (!p)
		return cfg_fail(c, ERR_DEVICE_PATH, f, idx[D_PATH],
				"is missing (the backing device is required)");
	if (!*p)
		return cfg_fail(c, ERR_DEVICE_PATH, f, idx[D_PATH],
				"is empty (the backing device is required)");
	if (dev->type == SETTINGS_DEV_FILE && *p != '/')
		return cfg_fail(
			c, ERR_DEVICE_PATH, f, idx[D_PATH],
			"\"%s\" is not an absolute path (file backings need one)",
			p);
	dev->device_path = strdup(p);
	return dev->device_path ? 0 : cfg_oom(c);
}

/* NVMe: the namespace id (required); vSCSI: the host LUN; file: none. */
static int device_sub_check(struct pctx *c, const struct fields *f, int i,
			    struct settings_device *dev)
{
	struct settings_opt_u64 sub;
	const char *rule;
	int ret = cfg_get_u32(c, f, i, &sub);

	if (ret)
		return ret;
	dev->sub_device_path = (uint32_t)sub.val;
	if (dev->type == SETTINGS_DEV_NVME && !sub.has)
		return cfg_fail(
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
	return cfg_fail(c, ERR_SUB_PATH, f, i, "%" PRIu64 " is invalid (%s)",
			sub.val, rule);
}

/* device_type, device_path, sub_device_path at idx[] of f: one backing. */
static int parse_device_fields(struct pctx *c, const struct fields *f,
			       const int idx[D_NR], struct settings_device *dev)
{
	int type, ret;

	ret = cfg_get_enum(c, f, idx[D_TYPE], &cfg_device_type_enum, &type);
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

	cfg_fields_init(&f, device_names, D_NR, dev->path);
	ret = cfg_collect(c, obj, &f);
	if (ret)
		return ret;
	return parse_device_fields(c, &f, idx, dev);
}

static int lun_alloc_devices(struct pctx *c, struct settings_lun *lun, size_t n)
{
	lun->devices = calloc(n, sizeof(*lun->devices));
	if (!lun->devices)
		return cfg_oom(c);
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
		return cfg_fail(
			c, ERR_DISK_COUNT, f, PD_DEVICE,
			"is missing (a single disk needs exactly one device; %zu in devices)",
			nr);
	if (nr)
		return cfg_fail(
			c, ERR_DISK_COUNT, f, PD_DEVICES,
			"has %zu devices (a single disk takes only physical_devices.device)",
			nr);
	ret = lun_alloc_devices(c, lun, 1);
	if (ret)
		return ret;
	cfg_field_path(f, PD_DEVICE, lun->devices[0].path);
	return parse_device(c, device, &lun->devices[0]);
}

static int pd_striped(struct pctx *c, const struct fields *f,
		      struct json_object *devices, size_t nr,
		      struct settings_lun *lun)
{
	char path[ERROR_PATH_LEN];
	int ret;

	if (f->val[PD_DEVICE])
		return cfg_fail(
			c, ERR_DISK_COUNT, f, PD_DEVICE,
			"is set (a striped disk takes only physical_devices.devices)");
	if (nr < 2 || nr > BLKX_MAX_DISK_MEMBERS)
		return cfg_fail(c, ERR_DISK_COUNT, f, PD_DEVICES,
				"has %zu devices (a striped disk needs 2..%d)",
				nr, BLKX_MAX_DISK_MEMBERS);
	ret = lun_alloc_devices(c, lun, nr);
	if (ret)
		return ret;
	lun->striped = true;
	cfg_field_path(f, PD_DEVICES, path);
	for (size_t i = 0; i < nr && !ret; i++) {
		cfg_path_elem(lun->devices[i].path, path, i);
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

	cfg_fields_init(&f, pd_names, PD_NR, path);
	ret = cfg_collect(c, obj, &f);
	if (!ret)
		ret = cfg_get_enum(c, &f, PD_TYPE, &cfg_backing_enum, &type);
	if (!ret)
		ret = cfg_get_typed(c, &f, PD_DEVICE, json_type_object,
				    &device);
	if (!ret)
		ret = cfg_get_typed(c, &f, PD_DEVICES, json_type_array,
				    &devices);
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
		return cfg_fail(c, ERR_IDE_NO_CHANNEL, f, L_CHANNEL,
				"is missing (IDE disks need channel 0 or 1)");
	if (lun->channel >= SETTINGS_IDE_CHANNELS)
		return cfg_fail(c, ERR_IDE_MAX, f, L_CHANNEL,
				"%" PRIu32
				" exceeds the IDE limit (channel must be < %d)",
				lun->channel, SETTINGS_IDE_CHANNELS);
	if (lun->location >= SETTINGS_IDE_DRIVES)
		return cfg_fail(
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
	int ret = cfg_get_u32(c, f, L_LOCATION, &loc);

	if (!ret)
		ret = cfg_get_u32(c, f, L_CHANNEL, &chan);
	if (ret)
		return ret;
	lun->location = (uint32_t)loc.val;
	lun->has_channel = chan.has;
	lun->channel = (uint32_t)chan.val;
	if (proto == SETTINGS_PROTO_IDE)
		return lun_ide_slot(c, f, lun);
	if (proto == SETTINGS_PROTO_SCSI && loc.val >= SETTINGS_SCSI_MAX_LUNS)
		return cfg_fail(
			c, ERR_LOCATION_MAX, f, L_LOCATION,
			"%" PRIu64
			" exceeds the SCSI limit (location must be < %d)",
			loc.val, SETTINGS_SCSI_MAX_LUNS);
	if (proto == SETTINGS_PROTO_NVME &&
	    (loc.val == 0 || loc.val == UINT32_MAX))
		return cfg_fail(
			c, ERR_LOCATION_MAX, f, L_LOCATION,
			"%" PRIu64
			" is not an NVMe namespace id (location must be 1..4294967294)",
			loc.val);
	if (!chan.has)
		return 0;
	lun->has_channel = false;
	lun->channel = 0;
	return cfg_warn_field(c, f, L_CHANNEL,
			      "is only used by IDE disks; ignored");
}

/* A printable-ASCII identity string of at most max characters; NULL when
 * absent or empty (protobuf's default). */
static int get_ascii(struct pctx *c, const struct fields *f, int i, size_t max,
		     const char *id, const char **out)
{
	char vb[VAL_LEN];
	size_t len;
	int ret = cfg_get_str(c, f, i, out);

	if (ret || !*out)
		return ret;
	len = strlen(*out);
	for (size_t k = 0; k < len; k++)
		if ((*out)[k] < 0x20 || (*out)[k] > 0x7e)
			return cfg_fail(
				c, id, f, i,
				"%s has a character that is not printable ASCII",
				cfg_val_text(f->val[i], vb));
	if (len > max)
		return cfg_fail(c, id, f, i,
				"%s is %zu characters long (%s is at most %zu)",
				cfg_val_text(f->val[i], vb), len, f->names[i],
				max);
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
	return *dst ? 0 : cfg_oom(c);
}

static int lun_device_id(struct pctx *c, const struct fields *f,
			 struct settings_lun *lun)
{
	const char *s;
	int ret = cfg_get_str(c, f, L_DEVICE_ID, &s);

	if (ret || !s || !*s)
		return ret;
	if (guid_parse(s, &lun->device_id))
		return cfg_fail(c, ERR_DEVICE_ID, f, L_DEVICE_ID,
				"\"%s\" is not a GUID", s);
	if (guid_is_zero(&lun->device_id))
		return cfg_fail(
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
	int ret = cfg_get_u32(c, f, L_SECTOR_SIZE, &lun->physical_sector_size);

	if (!ret && ps->has && ps->val != 512 && ps->val != 4096)
		return cfg_fail(c, ERR_SECTOR_SIZE, f, L_SECTOR_SIZE,
				"%" PRIu64 " is not 512 or 4096", ps->val);
	if (!ret)
		ret = cfg_get_u64(c, f, L_MAX_TRANSFER,
				  &lun->max_transfer_length);
	if (!ret && mtl->has && (mtl->val < 4096 || mtl->val % 512))
		return cfg_fail(
			c, ERR_MAX_TRANSFER, f, L_MAX_TRANSFER,
			"%" PRIu64
			" is invalid (max_transfer_length must be >= 4096 and a multiple of 512)",
			mtl->val);
	if (!ret)
		ret = cfg_get_u64(c, f, L_DISK_SIZE,
				  &lun->scsi_disk_size_in_bytes);
	if (!ret && ds->has && (ds->val == 0 || ds->val % 512))
		return cfg_fail(
			c, ERR_DISK_SIZE, f, L_DISK_SIZE,
			"%" PRIu64
			" is invalid (scsi_disk_size_in_bytes must be a non-zero multiple of 512)",
			ds->val);
	return ret;
}

static int lun_overrides(struct pctx *c, const struct fields *f,
			 struct settings_lun *lun)
{
	int ret = cfg_get_u32_range(c, f, L_ROTATION, 0, UINT16_MAX,
				    &lun->medium_rotation_rate);

	if (!ret)
		ret = cfg_get_bool(c, f, L_FUA, &lun->fua);
	if (!ret)
		ret = cfg_get_bool(c, f, L_WRITE_CACHE, &lun->write_cache);
	if (!ret)
		ret = cfg_get_bool(c, f, L_ODX, &lun->odx);
	if (!ret)
		ret = cfg_get_bool(c, f, L_DISABLE_THIN,
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

		return cfg_fail(
			c, ERR_JSON, f, i,
			"is missing: could not find any physical devices (the legacy form needs device_path and sub_device_path)");
	}
	ret = lun_alloc_devices(c, lun, 1);
	if (ret)
		return ret;
	lun->legacy = true;
	snprintf(lun->devices[0].path, ERROR_PATH_LEN, "%s", lun->path);
	return parse_device_fields(c, f, idx, &lun->devices[0]);
}

static int lun_chunk_size(struct pctx *c, const struct fields *f,
			  struct settings_lun *lun)
{
	int ret = cfg_get_u32(c, f, L_CHUNK_SIZE, &lun->chunk_size_in_kb);

	if (ret)
		return ret;
	if (lun->striped && !lun->chunk_size_in_kb.val)
		return cfg_fail(
			c, ERR_CHUNK_SIZE, f, L_CHUNK_SIZE,
			"is %s (a striped disk needs a non-zero chunk size in KiB)",
			lun->chunk_size_in_kb.has ? "0" : "missing");
	if (!lun->striped && lun->chunk_size_in_kb.has) {
		lun->chunk_size_in_kb.has = false;
		lun->chunk_size_in_kb.val = 0;
		return cfg_warn_field(c, f, L_CHUNK_SIZE,
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
	char path[ERROR_PATH_LEN];
	int legacy = -1, ret;

	ret = cfg_get_bool(c, f, L_IS_DVD, &dvd);
	if (!ret)
		ret = cfg_get_typed(c, f, L_PHYSICAL_DEVICES, json_type_object,
				    &pd);
	if (ret)
		return ret;
	lun->is_dvd = dvd.val;
	if (lun->is_dvd && proto == SETTINGS_PROTO_NVME)
		return cfg_fail(c, ERR_DEVICE_TYPE, f, L_IS_DVD,
				"is true (an NVMe namespace cannot be a DVD)");
	for (int i = L_SUB_DEVICE_PATH; i >= L_DEVICE_TYPE; i--)
		if (f->val[i])
			legacy = i;
	/* As OpenHCL: is_dvd or physical_devices means the new schema. */
	if (legacy >= 0 && (pd || lun->is_dvd))
		return cfg_fail(
			c, ERR_JSON, f, legacy,
			"cannot be used with %s: cannot mix old/new physical device schema declarations",
			pd ? "physical_devices" : "is_dvd");
	if (pd) {
		cfg_field_path(f, L_PHYSICAL_DEVICES, path);
		ret = parse_physical_devices(c, pd, path, lun);
	} else if (lun->is_dvd) {
		return cfg_fail(
			c, ERR_EMPTY_DRIVE, f, L_IS_DVD,
			"is true with no physical_devices: blkxlate cannot serve an empty drive");
	} else if (legacy >= 0) {
		ret = lun_legacy(c, f, lun);
	} else {
		return cfg_fail(
			c, ERR_JSON, f, L_PHYSICAL_DEVICES,
			"is missing: could not find any physical devices (need physical_devices or device_path)");
	}
	return ret ? ret : lun_chunk_size(c, f, lun);
}

static int lun_extras(struct pctx *c, const struct fields *f,
		      struct settings_lun *lun)
{
	const char *s;
	int ret = cfg_get_str(c, f, L_NTFS_GUID, &s);

	if (ret)
		return ret;
	if (s && guid_parse(s, &lun->ntfs_guid))
		return cfg_fail(c, ERR_NTFS_GUID, f, L_NTFS_GUID,
				"\"%s\" is not a GUID", s);
	lun->has_ntfs_guid = s != NULL;
	if (f->key[L_TOTAL_LOGIC_SIZE])
		return cfg_warn_field(c, f, L_TOTAL_LOGIC_SIZE,
				      "is deprecated; ignored");
	return 0;
}

/* One Lun; lun->path is already set. */
static int parse_lun(struct pctx *c, enum settings_protocol proto,
		     struct json_object *obj, struct settings_lun *lun)
{
	struct fields f;
	int ret;

	cfg_fields_init(&f, lun_names, L_NR, lun->path);
	ret = cfg_collect(c, obj, &f);
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
	char path[ERROR_PATH_LEN];

	for (size_t i = 0; i < n; i++) {
		const struct settings_lun *o = &ctl->luns[i];

		if (o->location != lun->location ||
		    (ide && o->channel != lun->channel))
			continue;
		cfg_path_field(path, lun->path, "location");
		if (ide)
			return cfg_fail_path(
				c, ERR_IDE_SLOT, path,
				"%" PRIu32 " on channel %" PRIu32
				" is already used by %s (one disk per IDE slot)",
				lun->location, lun->channel,
				cfg_path_short(o->path));
		return cfg_fail_path(
			c, ERR_LOCATION_DUP, path,
			"%" PRIu32
			" is already used by %s (locations must be unique within a controller)",
			lun->location, cfg_path_short(o->path));
	}
	return 0;
}

int cfg_parse_luns(struct pctx *c, struct settings_controller *ctl,
		   struct json_object *arr, const char *path)
{
	size_t n = json_object_array_length(arr);
	int ret = 0;

	if (!n)
		return 0;
	ctl->luns = calloc(n, sizeof(*ctl->luns));
	if (!ctl->luns)
		return cfg_oom(c);
	ctl->nr_luns = n;
	for (size_t i = 0; i < n && !ret; i++) {
		cfg_path_elem(ctl->luns[i].path, path, i);
		ret = parse_lun(c, ctl->protocol,
				json_object_array_get_idx(arr, i),
				&ctl->luns[i]);
		if (!ret)
			ret = lun_check_dup(c, ctl, i);
	}
	return ret;
}
