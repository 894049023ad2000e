// SPDX-License-Identifier: MIT
/* vmm_ch: cloud-hypervisor's --disk arguments, and what it cannot express. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/vmm.h"
#include "config/settings.h"
#include "daemon/state.h"
#include "pins/maps.h"
#include "plan/plan.h"

/* --- cloud-hypervisor --------------------------------------------------- */

static int ch_disk(struct vmm_ctx *c, const struct vmm_lun *vl)
{
	const struct settings_lun *l = vl->lun;
	struct optstr s;

	/* its option parser has no escape for a comma in a value */
	if (strchr(vl->path, ',')) {
		cli_error(
			"%s: cloud-hypervisor cannot take a disk path with a comma: %s%s",
			l->path, vl->path,
			c->o->path_template ? " (see --path-template)" : "");
		return -EINVAL;
	}
	opt_begin(&s);
	opt_str(&s, "path", vl->path);
	opt_str(&s, "direct", "on");
	if (vmm_read_only(vl))
		opt_str(&s, "readonly", "on");
	if (l->serial_number && *l->serial_number) {
		if (strchr(l->serial_number, ','))
			vmm_note(
				c,
				"%s: serial_number has a comma, which cloud-hypervisor cannot take: not expressed",
				vl->id);
		else
			opt_str(&s, "serial", l->serial_number);
		if (strlen(l->serial_number) > VMM_VIRTIO_SERIAL_LEN)
			vmm_note(
				c,
				"%s: virtio-blk carries the first %d characters of serial_number",
				vl->id, VMM_VIRTIO_SERIAL_LEN);
	}
	opt_str(&s, "id", vl->id);
	opt_end(c, &s);
	if (l->is_dvd)
		vmm_note(c, "%s: a DVD becomes a read-only virtio-blk disk",
			 vl->id);
	return 0;
}

int ch_build(struct vmm_ctx *c, const struct settings *s)
{
	unsigned int nscsi = 0, nnvme = 0;
	int ret;

	vmm_note(
		c,
		"cloud-hypervisor attaches every LUN as its own virtio-blk PCI device: the controller (SCSI, NVMe, IDE), the LUN/nsid/slot location, vendor/product/revision, model_number, device_id (WWN, NGUID, UUID), rotation rate, sector sizes and DVD media cannot be expressed; the disk id names the controller and location");
	for (size_t i = 0; i < s->nr_controllers; i++) {
		const struct settings_controller *ctrl = &s->controllers[i];
		char ctrl_id[32];

		if (ctrl->protocol == SETTINGS_PROTO_SCSI)
			snprintf(ctrl_id, sizeof(ctrl_id), "blkx-scsi%u",
				 nscsi++);
		else if (ctrl->protocol == SETTINGS_PROTO_NVME)
			snprintf(ctrl_id, sizeof(ctrl_id), "blkx-nvme%u",
				 nnvme++);
		else
			snprintf(ctrl_id, sizeof(ctrl_id), "ide");
		vmm_comment(c, "%s controller %s (%s)",
			    settings_protocol_name(ctrl->protocol),
			    ctrl->instance_id_str, ctrl_id);
		for (size_t l = 0; l < ctrl->nr_luns; l++) {
			struct vmm_lun vl;

			ret = vmm_lun_init(c, ctrl, &ctrl->luns[l], ctrl_id,
					   &vl);
			if (ret)
				return ret;
			if (c->nr_luns == 0)
				vmm_arg(c, "--disk");
			vmm_disk_json(c, &vl);
			ret = ch_disk(c, &vl);
			if (ret)
				return ret;
		}
	}
	return 0;
}
