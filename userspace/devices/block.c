// SPDX-License-Identifier: MIT
/* block: a block device's facts from sysfs, and file backings. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <blkxlate/abi.h>

#include "base/bits.h"
#include "devices/resolve_priv.h"

/* --- block device attributes --- */

/* Reads the attributes of one block device; remembers the last one read. */
struct attr_reader {
	const char *dir;    /* the device's sysfs directory */
	char q[PATH_MAX];   /* its queue/ (the disk's, for a partition) */
	const char *attr;   /* last attribute, as "size" or "queue/x" */
	char raw[ATTR_LEN]; /* its text */
};

/* ATTR as text; a missing optional one reads as DEF. */
static int ra_str(struct attr_reader *a, const char *attr, const char *def)
{
	bool queue = strncmp(attr, "queue/", QOFF) == 0;
	int ret;

	a->attr = attr;
	a->raw[0] = '\0';
	ret = rs_read_attr_str(queue ? a->q : a->dir,
			       queue ? attr + QOFF : attr, a->raw,
			       sizeof(a->raw));
	if (ret == -ENOENT && def) {
		rs_sfmt(a->raw, sizeof(a->raw), "%s", def);
		return 0;
	}
	return ret;
}

static int ra_u64(struct attr_reader *a, const char *attr, const char *def,
		  uint64_t max, uint64_t *v)
{
	int ret = ra_str(a, attr, def);

	if (!ret)
		ret = rs_parse_u64(a->raw, v);
	if (!ret && *v > max)
		ret = -ERANGE;
	return ret;
}

/*
 * Fill OUT from the block device directory DIR (a disk, or a partition whose
 * queue/ is its disk's).  On failure WHY names the attribute and its value.
 * Optional attributes are those younger kernels added (write_zeroes 4.10,
 * fua 4.18, write_cache 4.7) or that some drivers leave out.
 */
static int block_attrs_at(const char *dir, struct resolved_dev *out, char *why,
			  size_t whylen)
{
	struct attr_reader a = {.dir = dir};
	uint64_t sectors, ro, lbs, pbs, hw_kb, discard, wz, rot, fua;
	unsigned int maj, min;
	char part[PATH_MAX];
	int ret;

	why[0] = '\0';
	if (rs_pfmt(a.q, sizeof(a.q), "%s/queue", dir) ||
	    rs_pfmt(part, sizeof(part), "%s/partition", dir))
		return -ENAMETOOLONG;
	if (!rs_is_dir(a.q) && access(part, F_OK) == 0 &&
	    rs_pfmt(a.q, sizeof(a.q), "%s/../queue", dir))
		return -ENAMETOOLONG;

	ret = ra_str(&a, "dev", NULL);
	if (!ret && sscanf(a.raw, "%u:%u", &maj, &min) != 2)
		ret = -EINVAL;
	if (!ret)
		ret = ra_u64(&a, "size", NULL, UINT64_MAX / 512, &sectors);
	if (!ret)
		ret = ra_u64(&a, "ro", NULL, 1, &ro);
	if (!ret)
		ret = ra_u64(&a, "queue/logical_block_size", NULL, 1u << 30,
			     &lbs);
	if (!ret && (lbs < 512 || !is_pow2(lbs)))
		ret = -EINVAL;
	if (!ret)
		ret = ra_u64(&a, "queue/physical_block_size", NULL, 1u << 30,
			     &pbs);
	if (!ret && (pbs < lbs || !is_pow2(pbs)))
		ret = -EINVAL;
	if (!ret)
		ret = ra_u64(&a, "queue/max_hw_sectors_kb", NULL, UINT32_MAX,
			     &hw_kb);
	if (!ret)
		ret = ra_u64(&a, "queue/discard_max_bytes", "0", UINT64_MAX,
			     &discard);
	if (!ret)
		ret = ra_u64(&a, "queue/write_zeroes_max_bytes", "0",
			     UINT64_MAX, &wz);
	if (!ret)
		ret = ra_u64(&a, "queue/rotational", "0", 1, &rot);
	if (!ret)
		ret = ra_u64(&a, "queue/fua", "0", 1, &fua);
	if (!ret)
		ret = ra_str(&a, "queue/write_cache", "write through");
	if (!ret && strcmp(a.raw, "write back") != 0 &&
	    strcmp(a.raw, "write through") != 0)
		ret = -EINVAL;
	if (ret) {
		if (ret == -ENOENT)
			rs_sfmt(why, whylen, "%s is missing", a.attr);
		else if (ret == -EINVAL || ret == -ERANGE)
			rs_sfmt(why, whylen, "%s has an unusable value \"%s\"",
				a.attr, a.raw);
		else
			rs_sfmt(why, whylen, "%s: %s", a.attr, strerror(-ret));
		return ret;
	}

	out->major = maj;
	out->minor = min;
	out->size_bytes = sectors * 512;
	out->read_only = ro != 0;
	out->logical_block_size = (uint32_t)lbs;
	out->physical_block_size = (uint32_t)pbs;
	out->max_hw_sectors_kb = (uint32_t)hw_kb;
	out->discard_max_bytes = discard;
	out->write_zeroes_max_bytes = wz;
	out->rotational = rot != 0;
	out->fua = fua != 0;
	out->volatile_cache = strcmp(a.raw, "write back") == 0;
	out->from_sysfs = true;
	return 0;
}

/* The sysfs directory of block device NAME (whole disk or partition). */
static int block_dir(const char *sys, const char *name, char *dir, size_t len)
{
	int ret;

	if (!*name || strchr(name, '/') || strcmp(name, "..") == 0)
		return -EINVAL;
	ret = rs_pfmt(dir, len, "%s/block/%s", sys, name);
	if (ret)
		return ret;
	if (rs_is_dir(dir))
		return 0;
	ret = rs_pfmt(dir, len, "%s/class/block/%s", sys, name);
	if (ret)
		return ret;
	return rs_is_dir(dir) ? 0 : -ENOENT;
}

int resolve_block_attrs(const struct resolve_ctx *ctx, const char *name,
			struct resolved_dev *out)
{
	char dir[PATH_MAX], why[160];
	int ret;

	ret = block_dir(ctx->sysfs_root, name, dir, sizeof(dir));
	if (ret)
		return ret;
	return block_attrs_at(dir, out, why, sizeof(why));
}

/*
 * Fill OUT for kernel block device NAME found as HOW; errors name FIELD.
 */
int rs_finish_block(struct rs *r, const char *field, const char *name,
		    const char *how, struct resolved_dev *out)
{
	char dir[PATH_MAX], why[160];
	int ret;

	ret = block_dir(r->sys, name, dir, sizeof(dir));
	if (ret)
		return rs_fail(r, ERR_NOT_FOUND, field,
			       "%s: block device %s not found under %s/block",
			       how, name, r->sys);
	ret = block_attrs_at(dir, out, why, sizeof(why));
	if (ret)
		return rs_fail(r, ERR_NOT_FOUND, field,
			       "%s: block device %s (%s) is unusable: %s", how,
			       name, dir, why);
	if (rs_pfmt(out->dev_path, sizeof(out->dev_path), "%s/%s", r->dev_root,
		    name) ||
	    rs_pfmt(out->name, sizeof(out->name), "%s", name))
		return rs_fail(r, ERR_NOT_FOUND, field,
			       "%s: device path %s/%s is too long", how,
			       r->dev_root, name);
	rs_sfmt(out->how, sizeof(out->how), "%s", how);
	return 0;
}

/* --- files --- */

/* What a regular file offers as a backing: 512-byte sectors (the floor;
 * the page cache takes any), a volatile cache until fsync, no FUA, punch
 * hole for discard and zero range for write zeroes. */
void rs_file_facts(struct resolved_dev *out, const struct stat *st)
{
	out->is_file = true;
	out->size_bytes = (uint64_t)st->st_size;
	out->logical_block_size = 1u << BLKX_SECTOR_SHIFT;
	out->physical_block_size = 1u << BLKX_SECTOR_SHIFT;
	out->volatile_cache = true;
	out->fua = false;
	out->discard_max_bytes = UINT32_MAX;
	out->write_zeroes_max_bytes = UINT32_MAX;
	out->store_dev = st->st_dev;
	out->store_ino = st->st_ino;
	out->store_start = 0;
	out->store_end = (uint64_t)st->st_size;
}

int resolve_file(struct rs *r, struct resolved_dev *out)
{
	static const char field[] = "device_path";
	const char *p = r->dev->device_path;
	char dir[PATH_MAX], real[PATH_MAX], why[160];
	const char *base;
	struct stat st;
	int e;

	if (stat(p, &st)) {
		e = errno;
		return rs_fail(r, ERR_NOT_FOUND, field, "file %s: %s%s", p,
			       strerror(e), rs_dangling(p));
	}
	if (rs_pfmt(out->dev_path, sizeof(out->dev_path), "%s", p))
		return rs_fail(r, ERR_NOT_FOUND, field, "path too long");
	if (S_ISREG(st.st_mode)) {
		rs_file_facts(out, &st);
		rs_sfmt(out->how, sizeof(out->how), "file %s", p);
		return 0;
	}
	if (!S_ISBLK(st.st_mode))
		return rs_fail(
			r, ERR_UNSUPPORTED, field,
			"%s is neither a regular file nor a block device", p);
	if (rs_pfmt(dir, sizeof(dir), "%s/dev/block/%u:%u", r->sys,
		    major(st.st_rdev), minor(st.st_rdev)) ||
	    !rs_is_dir(dir))
		return rs_fail(
			r, ERR_NOT_FOUND, field,
			"block device %s (%u:%u) has no %s/dev/block/%u:%u%s",
			p, major(st.st_rdev), minor(st.st_rdev), r->sys,
			major(st.st_rdev), minor(st.st_rdev), rs_dangling(dir));
	if (block_attrs_at(dir, out, why, sizeof(why)))
		return rs_fail(r, ERR_NOT_FOUND, field,
			       "block device %s (%s) is unusable: %s", p, dir,
			       why);
	if (out->major != major(st.st_rdev) || out->minor != minor(st.st_rdev))
		return rs_fail(
			r, ERR_NOT_FOUND, field,
			"block device %s is %u:%u but %s/dev says %" PRIu32
			":%" PRIu32,
			p, major(st.st_rdev), minor(st.st_rdev), dir,
			out->major, out->minor);
	base = realpath(dir, real) ? strrchr(real, '/') : NULL;
	rs_sfmt(out->name, sizeof(out->name), "%s", base ? base + 1 : "");
	rs_sfmt(out->how, sizeof(out->how), "file %s (block device %s %u:%u)",
		p, out->name, out->major, out->minor);
	return 0;
}
