/* SPDX-License-Identifier: MIT */
/*
 * plan: validated settings + resolved backings -> the disks to serve.
 * Member geometry is checked here once (as OpenHCL's striped disk does);
 * the result is expressed in the map value types of include/blkxlate/abi.h
 * so that maps, the BPF programs and the data path read the same numbers.
 */
#ifndef BLKXLATE_PLAN_H
#define BLKXLATE_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <blkxlate/abi.h>

#include "devices/resolve.h"
#include "config/settings.h"

struct plan_member {
	struct resolved_dev dev;
	struct blkx_member m; /* the members map value */
	const struct settings_device *src;
};

struct plan_disk {
	const struct settings_controller *ctrl;
	const struct settings_lun *lun;
	struct blkx_lun_key key; /* the luns map key */
	struct blkx_disk geo;	 /* the disks map value */
	uint64_t size_bytes;	 /* guest-visible size */
	uint32_t lbs;		 /* logical block size */
	uint32_t pbs;		 /* physical block size */
	uint32_t chunk_bytes;	 /* 0 when not striped */
	uint32_t max_io_bytes;	 /* largest request the guest may send */
	uint64_t discard_max_bytes;
	uint64_t write_zeroes_max_bytes;
	bool fua;
	bool write_cache;
	bool rotational;
	bool read_only;
	bool discard;
	char vendor_id[9];   /* space padded to 8 */
	char product_id[17]; /* space padded to 16 */
	char revision[5];    /* space padded to 4 */
	char device_id[40];  /* canonical GUID or "" */
	size_t nr_members;
	struct plan_member *members;
};

struct plan {
	size_t nr_disks;
	struct plan_disk *disks;
	size_t nr_members; /* over all disks */
};

/* plan_build flags */
#define PLAN_SKIP_BUSY_CHECK (1u << 0) /* don't probe exclusive use */

/*
 * Resolve every backing of s and check the geometry.  0, or -errno with err
 * naming the setting that cannot be served.  Nothing is opened for writing
 * and nothing is kept open.
 */
int plan_build(const struct settings *s, const struct resolve_ctx *rc,
	       unsigned int flags, struct plan *out, struct error_obj *err);
void plan_fini(struct plan *p);

/*
 * The identity a LUN presents, without its backings: vendor_id, product_id
 * and product_revision_level space padded to 8, 16 and 4 characters, with
 * OpenHCL's defaults ("Msft", "Virtual Disk", "1.0") where unset.
 */
void plan_lun_identity(const struct settings_lun *l, char vendor[9],
		       char product[17], char revision[5]);

/* Find the disk of (controller GUID string, location, channel), or NULL. */
const struct plan_disk *plan_find(const struct plan *p, const char *controller,
				  uint32_t location, uint32_t channel);

/* Put pd at disk slot di of the maps, its members at slots mi.. (a live
 * reload, or a recovery, places disks where the maps have room). */
void plan_place_disk(struct plan_disk *pd, uint32_t di, uint32_t mi);

/* Format a byte count as "256 MiB" / "1.5 GiB" into buf. */
const char *plan_fmt_size(uint64_t bytes, char *buf, size_t len);

#endif /* BLKXLATE_PLAN_H */
