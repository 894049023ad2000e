// SPDX-License-Identifier: MIT
/* scsi: a SCSI disk by host (VMBus, PCI, hostN) and LUN. */
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

#include "devices/resolve_priv.h"

/* --- SCSI --- */

/* The one SCSI host below device directory TOP (VMBus or PCI). */
static int scsi_host_below(struct rs *r, const char *top, const char *what,
			   uint32_t *host)
{
	struct found *f;
	int ret;

	ret = rs_one_below(r, top, what, rs_match_scsi_host,
			   "a SCSI controller", "hostN", "SCSI hosts", &f);
	if (ret)
		return ret;
	rs_name_num(f->name[0], "host", host);
	free(f);
	return 0;
}

/* device_path -> SCSI host number: VMBus GUID, hostN / N, PCI address. */
static int scsi_find_host(struct rs *r, uint32_t *host, char *desc, size_t len)
{
	static const char field[] = "device_path";
	const char *p = r->dev->device_path;
	struct bus_dev bd;
	char top[PATH_MAX];
	int ret;

	ret = rs_bus_device(r, &bd);
	if (ret < 0)
		return ret;
	if (ret) {
		ret = scsi_host_below(r, bd.top, bd.what, host);
		if (!ret)
			rs_sfmt(desc, len, "%s (host%" PRIu32 ")", bd.tag,
				*host);
		return ret;
	}
	if (!rs_name_num(p, "host", host) && rs_parse_u32(p, host))
		return rs_fail(
			r, ERR_NOT_FOUND, field,
			"\"%s\" is not a VMBus GUID, a SCSI host (hostN or N) or a PCI address",
			p);
	if (rs_pfmt(top, sizeof(top), "%s/class/scsi_host/host%" PRIu32, r->sys,
		    *host) ||
	    !rs_is_dir(top))
		return rs_fail(r, ERR_NOT_FOUND, field,
			       "no SCSI host host%" PRIu32
			       " under %s/class/scsi_host%s",
			       *host, r->sys, rs_dangling(top));
	rs_sfmt(desc, len, "host%" PRIu32, *host);
	return 0;
}

/* The LUNs at channel 0 target 0 of HOST, for messages. */
static void scsi_luns(struct rs *r, uint32_t host, char *list, size_t len)
{
	char dir[PATH_MAX], sdev[PATH_MAX];
	uint32_t luns[32];
	unsigned int h, c, t, l;
	struct dirent *de;
	int n = 0;
	char tail;
	DIR *d;

	list[0] = '\0';
	if (rs_pfmt(dir, sizeof(dir), "%s/bus/scsi/devices", r->sys))
		return;
	d = opendir(dir);
	if (!d)
		return;
	while ((de = readdir(d))) {
		if (sscanf(de->d_name, "%u:%u:%u:%u%c", &h, &c, &t, &l,
			   &tail) != 4 ||
		    h != host || c || t ||
		    rs_pfmt(sdev, sizeof(sdev), "%s/%s", dir, de->d_name) ||
		    !rs_is_dir(sdev))
			continue;
		if (n < (int)(sizeof(luns) / sizeof(luns[0])))
			luns[n] = l;
		n++;
	}
	closedir(d);
	rs_u32_list(luns, n, (int)(sizeof(luns) / sizeof(luns[0])), list, len);
}

int resolve_vscsi(struct rs *r, struct resolved_dev *out)
{
	static const char field[] = "sub_device_path";
	const uint32_t lun = r->dev->sub_device_path;
	char desc[96], hctl[48], sdev[PATH_MAX], blk[PATH_MAX], name[64] = "";
	char how[160], list[LIST_LEN], type[16];
	struct dirent *de;
	uint32_t host;
	int ret, n = 0;
	DIR *d;

	ret = scsi_find_host(r, &host, desc, sizeof(desc));
	if (ret)
		return ret;
	rs_sfmt(hctl, sizeof(hctl), "%" PRIu32 ":0:0:%" PRIu32, host, lun);
	if (rs_pfmt(sdev, sizeof(sdev), "%s/bus/scsi/devices/%s", r->sys,
		    hctl) ||
	    rs_pfmt(blk, sizeof(blk), "%s/block", sdev))
		return rs_fail(r, ERR_NOT_FOUND, field, "sysfs root too long");
	if (!rs_is_dir(sdev)) {
		scsi_luns(r, host, list, sizeof(list));
		return rs_fail(
			r, ERR_NOT_FOUND, field,
			"SCSI %s has no LUN %" PRIu32
			" at channel 0 target 0: no %s%s (it has LUNs %s)",
			desc, lun, sdev, rs_dangling(sdev), list);
	}
	d = opendir(blk);
	if (d) {
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			if (n++ == 0 &&
			    rs_pfmt(name, sizeof(name), "%s", de->d_name))
				name[0] = '\0';
		}
		closedir(d);
	}
	if (n == 1 && name[0]) {
		rs_sfmt(how, sizeof(how), "vscsi %s lun %" PRIu32 " -> %s %s",
			desc, lun, hctl, name);
		return rs_finish_block(r, field, name, how, out);
	}
	if (n > 1)
		return rs_fail(r, ERR_NOT_FOUND, field,
			       "SCSI device %s has %d block devices under %s",
			       hctl, n, blk);
	/* No disk: not a disk at all (type 0 disk, 14 RBC), or not bound. */
	if (rs_read_attr_str(sdev, "type", type, sizeof(type)) == 0 &&
	    strcmp(type, "0") != 0 && strcmp(type, "14") != 0)
		return rs_fail(
			r, ERR_UNSUPPORTED, field,
			"SCSI device %s (%s lun %" PRIu32
			") is not a disk (SCSI type %s): no block device under %s",
			hctl, desc, lun, type, blk);
	return rs_fail(r, ERR_NOT_FOUND, field,
		       "SCSI device %s (%s lun %" PRIu32
		       ") has no block device under %s (sd_mod not loaded?)",
		       hctl, desc, lun, blk);
}
