// SPDX-License-Identifier: MIT
/*
 * probe: the one place that gathers a backing's facts.  resolve reads them
 * from sysfs; the probe adds what only opening tells (is it in use, is the
 * node the device sysfs described) and where the bytes live (the whole
 * disk and offset of a partition, the inode of a file).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <blkxlate/abi.h>

#include "devices/resolve_priv.h"

#define ERR_OPEN  "StorageCannotOpenVtl2Device"
#define ERR_INUSE "StorageBackingInUse"

/* For a partition, its whole disk and start in bytes; else itself at 0. */
static void whole_disk_of(const struct resolve_ctx *rc, struct resolved_dev *rd)
{
	char dir[PATH_MAX], path[PATH_MAX], real[PATH_MAX], buf[32];
	uint64_t part = 0, start_sectors = 0;
	unsigned int pmaj, pmin;

	rd->store_dev = makedev(rd->major, rd->minor);
	rd->store_start = 0;
	if (rs_pfmt(dir, sizeof(dir), "%s/dev/block/%u:%u", rc->sysfs_root,
		    rd->major, rd->minor) ||
	    rs_read_attr_u64(dir, "partition", &part) || !part ||
	    rs_read_attr_u64(dir, "start", &start_sectors) ||
	    rs_pfmt(path, sizeof(path), "%s/..", dir) ||
	    !realpath(path, real) ||
	    rs_read_attr_str(real, "dev", buf, sizeof(buf)) ||
	    sscanf(buf, "%u:%u", &pmaj, &pmin) != 2)
		return;
	rd->store_dev = makedev(pmaj, pmin);
	rd->store_start = start_sectors << BLKX_SECTOR_SHIFT;
}

/* Where a busy block device is used, for the error message. */
static void describe_busy(unsigned int maj, unsigned int min, char *buf,
			  size_t len)
{
	char want[32], line[1024];
	FILE *f;

	snprintf(buf, len, "held open exclusively by another user");
	snprintf(want, sizeof(want), "%u:%u", maj, min);
	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char devno[32], mnt[512];

		if (sscanf(line, "%*s %*s %31s %*s %511s", devno, mnt) == 2 &&
		    !strcmp(devno, want)) {
			snprintf(buf, len, "mounted at %s", mnt);
			break;
		}
	}
	fclose(f);
}

static int check_block(const struct resolve_ctx *rc, unsigned int flags,
		       struct resolved_dev *rd, const char *fpath,
		       struct error_obj *err)
{
	int oflags = O_RDONLY | O_CLOEXEC;
	struct stat st;
	int fd, e;

	if (!(flags & DEVICE_SKIP_BUSY_CHECK))
		oflags |= O_EXCL;
	fd = open(rd->dev_path, oflags);
	if (fd < 0 && errno == EBUSY) {
		char why[600];

		describe_busy(rd->major, rd->minor, why, sizeof(why));
		error_set(
			err, ERR_INUSE, fpath,
			"backing %s (%s) is in use: %s; blkxlate needs it for itself",
			rd->dev_path, rd->how, why);
		return -EBUSY;
	}
	if (fd < 0) {
		e = errno;
		error_set(err, ERR_OPEN, fpath,
			  "cannot open backing %s (%s): %s", rd->dev_path,
			  rd->how, strerror(e));
		return -e;
	}
	e = fstat(fd, &st) ? errno : 0;
	close(fd);
	if (e || !S_ISBLK(st.st_mode)) {
		error_set(err, ERR_OPEN, fpath,
			  "cannot read the geometry of %s: %s", rd->dev_path,
			  strerror(e ? e : ENOTBLK));
		return -(e ? e : ENOTBLK);
	}
	if (major(st.st_rdev) != rd->major || minor(st.st_rdev) != rd->minor) {
		error_set(err, ERR_OPEN, fpath,
			  "backing %s is %u:%u, but sysfs describes %u:%u (%s)",
			  rd->dev_path, major(st.st_rdev), minor(st.st_rdev),
			  rd->major, rd->minor, rd->how);
		return -ENODEV;
	}
	whole_disk_of(rc, rd);
	rd->store_ino = 0;
	rd->store_end = rd->store_start + rd->size_bytes;
	return 0;
}

static int check_file(struct resolved_dev *rd, const char *fpath,
		      struct error_obj *err)
{
	struct stat st;
	int e;

	if (stat(rd->dev_path, &st)) {
		e = errno;
		error_set(err, ERR_OPEN, fpath,
			  "cannot open backing file %s: %s", rd->dev_path,
			  strerror(e));
		return -e;
	}
	if (!S_ISREG(st.st_mode)) {
		error_set(
			err, "StorageUnsupportedDeviceType", fpath,
			"backing %s is neither a regular file nor a block device",
			rd->dev_path);
		return -EINVAL;
	}
	if (access(rd->dev_path, R_OK | W_OK)) {
		e = errno;
		error_set(err, ERR_OPEN, fpath,
			  "backing file %s is not readable and writable: %s",
			  rd->dev_path, strerror(e));
		return -e;
	}
	rs_file_facts(rd, &st);
	return 0;
}

int device_probe(const struct resolve_ctx *ctx,
		 const struct settings_device *dev, unsigned int flags,
		 struct resolved_dev *out, struct error_obj *err)
{
	char fpath[ERROR_PATH_LEN + 16];
	struct resolve_ctx def;
	struct stat st;
	int ret;

	if (!ctx) {
		resolve_ctx_default(&def);
		ctx = &def;
	}
	snprintf(fpath, sizeof(fpath), "%s.device_path", dev->path);
	ret = resolve_device(ctx, dev, out, err);
	if (ret)
		return ret;
	/* a regular file where a device node was named (test trees) is
	 * served as a file */
	if (out->is_file || (!stat(out->dev_path, &st) && S_ISREG(st.st_mode)))
		return check_file(out, fpath, err);
	return check_block(ctx, flags, out, fpath, err);
}
