/* SPDX-License-Identifier: MIT */
/*
 * settings: OpenHCL VTL2 settings JSON -> validated model.  The only place
 * where strings become numbers.  Every rule of
 * shared/reference/openhcl-settings-facts.md is checked here; checks that
 * need the real backings (sizes, sector sizes) belong to plan.
 */
#ifndef BLKXLATE_SETTINGS_H
#define BLKXLATE_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "base/guid.h"

#define SETTINGS_MAX_SCSI_CONTROLLERS 4
#define SETTINGS_MAX_IDE_CONTROLLERS  1
#define SETTINGS_SCSI_MAX_LUNS	      64 /* SCSI location < 64 */
#define SETTINGS_IDE_CHANNELS	      2
#define SETTINGS_IDE_DRIVES	      2
#define SETTINGS_MAX_SUB_CHANNELS     256
#define SETTINGS_DEFAULT_IO_RING_SIZE 256

enum settings_protocol {
	SETTINGS_PROTO_SCSI = 0, /* == BLKX_PROTO_* */
	SETTINGS_PROTO_IDE = 1,
	SETTINGS_PROTO_NVME = 2,
};

enum settings_device_type {
	SETTINGS_DEV_NVME = 0, /* == BLKX_BACKING_* */
	SETTINGS_DEV_VSCSI = 1,
	SETTINGS_DEV_FILE = 2, /* extension: regular file or block device */
};

/* An optional value: has == false means "not in the settings". */
struct settings_opt_u64 {
	bool has;
	uint64_t val;
};
struct settings_opt_bool {
	bool has;
	bool val;
};

struct settings_device {
	enum settings_device_type type;
	char *device_path;	   /* as written (GUID, PCI address, name...) */
	uint32_t sub_device_path;  /* nsid or LUN; 0 for files */
	char path[ERROR_PATH_LEN]; /* JSON path of this device object */
};

struct settings_lun {
	uint32_t location;
	bool has_channel;
	uint32_t channel; /* IDE only */
	bool has_device_id;
	struct guid device_id;
	char vendor_id[9];		/* <= 8 ASCII, as given (no padding) */
	char product_id[17];		/* <= 16 */
	char product_revision_level[5]; /* <= 4 */
	char *serial_number;		/* may be NULL */
	char *model_number;		/* may be NULL */
	struct settings_opt_u64 medium_rotation_rate;
	struct settings_opt_u64 physical_sector_size;
	struct settings_opt_bool fua;
	struct settings_opt_bool write_cache;
	struct settings_opt_bool odx;
	struct settings_opt_bool disable_thin_provisioning;
	struct settings_opt_u64 max_transfer_length;
	struct settings_opt_u64 scsi_disk_size_in_bytes;
	bool is_dvd;
	struct settings_opt_u64 chunk_size_in_kb;
	bool has_ntfs_guid;
	struct guid ntfs_guid;
	bool striped; /* physical_devices.type striped */
	bool legacy;  /* legacy device_type/device_path form */
	size_t nr_devices;
	struct settings_device *devices; /* 1 for single, >= 2 striped */
	char path[ERROR_PATH_LEN];	 /* e.g.
					    dynamic.storage_controllers[0].luns[1]
					  */
};

struct settings_controller {
	struct guid instance_id;
	char instance_id_str[GUID_STR_LEN + 1]; /* canonical lowercase */
	enum settings_protocol protocol;
	struct settings_opt_u64 io_queue_depth;
	size_t nr_luns;
	struct settings_lun *luns;
	char path[ERROR_PATH_LEN];
};

struct settings_fixed {
	uint32_t scsi_sub_channels; /* default 0, clamped to 256 */
	uint32_t io_ring_size;	    /* default 256 */
	struct settings_opt_u64 max_bounce_buffer_pages;
};

/* A field we did not recognise: reported, never silently dropped. */
struct settings_warning {
	char path[ERROR_PATH_LEN];
	char message[160];
};

struct settings {
	struct settings_fixed fixed;
	size_t nr_controllers;
	struct settings_controller *controllers;
	size_t nr_warnings;
	struct settings_warning *warnings;
};

/* Parse and validate a JSON document.  0 or -EINVAL with *err filled. */
int settings_parse_string(const char *json, struct settings *out,
			  struct error_obj *err);
/* Same for a file; an unreadable file is Configuration.JsonFormatError. */
int settings_parse_file(const char *path, struct settings *out,
			struct error_obj *err);
/* Refuse (-EPERM, Configuration.InsecureConfigFile) a settings file that
 * users other than root could write: blkxlate runs as root. */
int settings_check_file(const char *path, struct error_obj *err);
/* Release everything settings_parse_*() allocated; safe on a zeroed struct. */
void settings_fini(struct settings *s);

const char *settings_protocol_name(enum settings_protocol p);
const char *settings_device_type_name(enum settings_device_type t);

#endif /* BLKXLATE_SETTINGS_H */
