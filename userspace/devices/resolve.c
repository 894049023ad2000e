// SPDX-License-Identifier: MIT
/*
 * resolve: settings device -> Linux block device (or file), through sysfs.
 *
 * Layouts this follows (checked on Debian's 6.12 and 7.3 in the VM lab):
 * - /sys/class/nvme/nvmeX links to the controller device (under its PCI
 *   function, .../<pci addr>/nvme/nvmeX; on Hyper-V the PCI function sits
 *   below the VMBus device, .../<guid>/pciDDDD:BB/DDDD:BB:00.0/nvme/nvmeX).
 * - Namespaces: without a multipath head the namespace disk nvmeAnB is a
 *   child of the controller directory.  With native multipath the
 *   controller holds hidden path disks nvmeAcXnB (no "dev", no /dev node),
 *   the usable disk is the head nvmeAnB (a child of the nvme-subsystem
 *   device); since 6.15 the head's multipath/ group links to its paths
 *   (6.12 has no such links).  Names use the subsystem instance and a head
 *   instance, never the nsid (6.12 named nsid 2 nvme0n1): only the "nsid"
 *   attribute tells.  The "serial" attribute is space-padded to 20 bytes.
 * - SCSI: the host device hostN sits below the HBA (virtioK/hostN for
 *   virtio-scsi, directly below the VMBus device for storvsc);
 *   /sys/bus/scsi/devices/H:C:T:L/block/sdX is the disk.
 */
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

/* --- entry points --- */

int resolve_device(const struct resolve_ctx *ctx,
		   const struct settings_device *dev, struct resolved_dev *out,
		   struct error_obj *err)
{
	struct resolve_ctx def;
	struct rs r;

	if (!ctx) {
		resolve_ctx_default(&def);
		ctx = &def;
	}
	memset(out, 0, sizeof(*out));
	r.sys = ctx->sysfs_root ? ctx->sysfs_root : "/sys";
	r.dev_root = ctx->dev_root ? ctx->dev_root : "/dev";
	r.dev = dev;
	r.err = err;
	if (!dev->device_path || !dev->device_path[0])
		return rs_fail(&r, ERR_NOT_FOUND, "device_path",
			       "device_path is empty");
	switch (dev->type) {
	case SETTINGS_DEV_NVME:
		return resolve_nvme(&r, out);
	case SETTINGS_DEV_VSCSI:
		return resolve_vscsi(&r, out);
	case SETTINGS_DEV_FILE:
		return resolve_file(&r, out);
	}
	return rs_fail(&r, ERR_UNSUPPORTED, "device_type",
		       "unknown device type %d", (int)dev->type);
}

void resolve_ctx_default(struct resolve_ctx *ctx)
{
	const char *sys = getenv("BLKXLATE_SYSFS_ROOT");
	const char *dev = getenv("BLKXLATE_DEV_ROOT");

	ctx->sysfs_root = sys && *sys ? sys : "/sys";
	ctx->dev_root = dev && *dev ? dev : "/dev";
}
