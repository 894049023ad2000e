/* SPDX-License-Identifier: MIT */
/*
 * resolve: settings device -> Linux block device (or file), through sysfs.
 * The sysfs and /dev roots are configurable so that tests can use fake
 * trees.  Resolution only reads sysfs; opening the device is plan's job.
 */
#ifndef BLKXLATE_RESOLVE_H
#define BLKXLATE_RESOLVE_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "config/settings.h"

struct resolve_ctx {
	const char *sysfs_root; /* default "/sys" */
	const char *dev_root;	/* default "/dev" */
};

/* Where a resolved backing lives and what sysfs says about it. */
struct resolved_dev {
	char dev_path[PATH_MAX]; /* /dev/nvme0n1, /dev/sdb, or the file */
	char name[64];	 /* kernel name (nvme0n1, sdb) or "" for files */
	char how[128];	 /* how it was found, e.g. "serial BLKX-A nsid 2" */
	bool is_file;	 /* a regular file (device_type file) */
	bool from_sysfs; /* the fields below were read from sysfs */
	uint32_t major, minor; /* from sysfs "dev" */
	uint64_t size_bytes;
	uint32_t logical_block_size;
	uint32_t physical_block_size;
	uint32_t max_hw_sectors_kb;
	uint64_t discard_max_bytes;	 /* 0: no discard */
	uint64_t write_zeroes_max_bytes; /* 0: none */
	bool rotational;
	bool read_only;
	bool volatile_cache; /* queue/write_cache says "write back" */
	bool fua;	     /* queue/fua */
	/* where its bytes live, for overlap checks (device_probe()) */
	uint64_t store_dev;   /* whole-disk dev_t, or st_dev for a file */
	uint64_t store_ino;   /* inode for a file, 0 for a block device */
	uint64_t store_start; /* bytes */
	uint64_t store_end;   /* bytes, exclusive */
};

/* A resolution failure: error_id, message and settings path, as settings. */
int resolve_device(const struct resolve_ctx *ctx,
		   const struct settings_device *dev, struct resolved_dev *out,
		   struct error_obj *err);

/* Fill ctx from BLKXLATE_SYSFS_ROOT / BLKXLATE_DEV_ROOT or the defaults. */
void resolve_ctx_default(struct resolve_ctx *ctx);

/*
 * Read the sysfs attributes of block device NAME (e.g. "nvme0n1") into out
 * (size, block sizes, queue limits, dev numbers).  0 or -errno.
 */
int resolve_block_attrs(const struct resolve_ctx *ctx, const char *name,
			struct resolved_dev *out);

/* device_probe flags */
#define DEVICE_SKIP_BUSY_CHECK (1u << 0) /* don't probe exclusive use */

/*
 * Every fact of one backing, gathered once: resolve it (sysfs), then check
 * that it can be used -- a block device opened (exclusively unless
 * DEVICE_SKIP_BUSY_CHECK: a busy one is refused naming its holder) and
 * its dev_t compared with sysfs', where it lives; a file readable and
 * writable.  Nothing is kept open.  Judging the facts is plan's job.  0 or
 * -errno with err naming <device>.device_path.
 */
int device_probe(const struct resolve_ctx *ctx,
		 const struct settings_device *dev, unsigned int flags,
		 struct resolved_dev *out, struct error_obj *err);

#endif /* BLKXLATE_RESOLVE_H */
