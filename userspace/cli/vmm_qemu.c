// SPDX-License-Identifier: MIT
/* vmm_qemu: QEMU's -device and -blockdev arguments for every controller and
 * LUN. */
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

/* --- QEMU --------------------------------------------------------------- */

bool vmm_read_only(const struct vmm_lun *vl)
{
	return vl->lun->is_dvd || (vl->served && vl->dev.read_only);
}

static void qemu_blockdev(struct vmm_ctx *c, const struct vmm_lun *vl)
{
	const struct settings_opt_bool *dtp =
		&vl->lun->disable_thin_provisioning;
	bool discard = !(dtp->has && dtp->val) &&
		       !(vl->served && !vl->dev.discard_max_bytes);
	struct optstr s;

	vmm_arg(c, "-blockdev");
	opt_begin(&s);
	opt_str(&s, "driver", c->o->driver);
	opt_str(&s, "node-name", vl->node);
	opt_str(&s, "filename", vl->path);
	opt_str(&s, "cache.direct", "on");
	opt_str(&s, "aio", c->o->aio);
	if (vmm_read_only(vl))
		opt_str(&s, "read-only", "on");
	else if (discard)
		opt_str(&s, "discard", "unmap"); /* guest UNMAP/TRIM reaches
						    the ublk device */
	opt_end(c, &s);
}

/* Properties every emulated disk shares: sizes and write cache. */
static void qemu_disk_common(struct optstr *s, const struct vmm_lun *vl)
{
	const struct settings_lun *l = vl->lun;
	uint32_t lbs, pbs;

	if (!l->is_dvd) {
		vmm_block_sizes(vl, &lbs, &pbs);
		if (lbs)
			opt_u64(s, "logical_block_size", lbs);
		if (pbs)
			opt_u64(s, "physical_block_size", pbs);
	}
	if (l->write_cache.has)
		opt_bool(s, "write-cache", l->write_cache.val);
	else if (vl->served)
		opt_bool(s, "write-cache", vl->dev.volatile_cache);
}

static void qemu_rotation(struct vmm_ctx *c, struct optstr *s,
			  const struct vmm_lun *vl)
{
	const struct settings_opt_u64 *r = &vl->lun->medium_rotation_rate;

	if (!r->has || vl->lun->is_dvd)
		return;
	if (r->val > UINT16_MAX)
		vmm_note(c,
			 "%s: medium_rotation_rate %" PRIu64
			 " does not fit QEMU's 16-bit rotation_rate",
			 vl->id, r->val);
	else
		opt_u64(s, "rotation_rate", r->val);
}

static void qemu_scsi_lun(struct vmm_ctx *c, const struct vmm_lun *vl)
{
	const struct settings_lun *l = vl->lun;
	char bus[48];
	struct optstr s;

	qemu_blockdev(c, vl);
	vmm_arg(c, "-device");
	opt_begin(&s);
	opt_str(&s, l->is_dvd ? "scsi-cd" : "scsi-hd", NULL);
	opt_str(&s, "id", vl->id);
	opt_str(&s, "drive", vl->node);
	snprintf(bus, sizeof(bus), "%s.0", vl->ctrl_id);
	opt_str(&s, "bus", bus);
	opt_u64(&s, "channel", 0);
	opt_u64(&s, "scsi-id", 0);
	opt_u64(&s, "lun", l->location);
	if (l->serial_number && *l->serial_number)
		opt_str(&s, "serial", l->serial_number);
	opt_str(&s, "vendor", vl->vendor);
	opt_str(&s, "product", vl->product);
	opt_str(&s, "ver", vl->revision);
	if (vl->device_id[0]) {
		opt_str(&s, "device_id", vl->device_id);
		opt_x64(&s, "wwn", vl->wwn);
	}
	qemu_rotation(c, &s, vl);
	qemu_disk_common(&s, vl);
	if (!l->is_dvd && (l->fua.has || vl->served))
		opt_bool(&s, "dpofua", l->fua.has ? l->fua.val : vl->dev.fua);
	opt_end(c, &s);
}

static void qemu_nvme_ns(struct vmm_ctx *c, const struct vmm_lun *vl)
{
	const struct settings_lun *l = vl->lun;
	struct optstr s;

	if (l->location > VMM_QEMU_MAX_NSID)
		vmm_note(c, "%s: QEMU 7.2 accepts nsid 1..%d only, not %u",
			 vl->id, VMM_QEMU_MAX_NSID, l->location);
	if (l->vendor_id[0] || l->product_id[0] ||
	    l->product_revision_level[0] ||
	    (l->serial_number && *l->serial_number) ||
	    (l->model_number && *l->model_number))
		vmm_note(
			c,
			"%s: QEMU 7.2's nvme-ns has no serial, model, vendor, product or revision (the controller's serial comes from its instance_id, its model and firmware are QEMU's): not expressed",
			vl->id);
	if (!vl->device_id[0])
		vmm_note(
			c,
			"%s: no device_id: QEMU picks a random namespace UUID at every start",
			vl->id);
	qemu_blockdev(c, vl);
	vmm_arg(c, "-device");
	opt_begin(&s);
	opt_str(&s, "nvme-ns", NULL);
	opt_str(&s, "id", vl->id);
	opt_str(&s, "drive", vl->node);
	opt_str(&s, "bus", vl->ctrl_id);
	opt_u64(&s, "nsid", l->location);
	if (vl->device_id[0])
		opt_str(&s, "uuid", vl->device_id);
	qemu_disk_common(&s, vl);
	opt_end(c, &s);
}

static void qemu_ide_lun(struct vmm_ctx *c, const struct vmm_lun *vl)
{
	const struct settings_lun *l = vl->lun;
	char bus[16];
	struct optstr s;

	if (l->vendor_id[0] || l->product_id[0])
		vmm_note(
			c,
			"%s: ATA has no vendor or product (only model, from model_number): vendor_id/product_id are not expressed",
			vl->id);
	if (l->serial_number && strlen(l->serial_number) > VMM_ATA_SERIAL_LEN)
		vmm_note(
			c,
			"%s: the guest sees the first %d characters of serial_number",
			vl->id, VMM_ATA_SERIAL_LEN);
	qemu_blockdev(c, vl);
	vmm_arg(c, "-device");
	opt_begin(&s);
	opt_str(&s, l->is_dvd ? "ide-cd" : "ide-hd", NULL);
	opt_str(&s, "id", vl->id);
	opt_str(&s, "drive", vl->node);
	snprintf(bus, sizeof(bus), "ide.%u", l->channel);
	opt_str(&s, "bus", bus);
	opt_u64(&s, "unit", l->location);
	if (l->serial_number && *l->serial_number)
		opt_str(&s, "serial", l->serial_number);
	if (l->model_number && *l->model_number)
		opt_str(&s, "model", l->model_number);
	opt_str(&s, "ver", vl->revision);
	if (vl->device_id[0]) {
		opt_x64(&s, "wwn", vl->wwn);
	}
	qemu_rotation(c, &s, vl);
	qemu_disk_common(&s, vl);
	opt_end(c, &s);
}

/*
 * The NVMe controller serial: the instance_id's first and last groups
 * (8 + 12 hex digits = the 20 characters of SN), where GUIDs made by
 * hand or by time usually differ.
 */
static void nvme_serial(const struct settings_controller *ctrl, char *buf)
{
	memcpy(buf, ctrl->instance_id_str, 8);
	memcpy(buf + 8, ctrl->instance_id_str + 24, 12);
	buf[VMM_NVME_SERIAL_LEN] = '\0';
}

static int qemu_controller(struct vmm_ctx *c,
			   const struct settings_controller *ctrl,
			   unsigned int index)
{
	const char *proto = settings_protocol_name(ctrl->protocol);
	char ctrl_id[32], serial[VMM_NVME_SERIAL_LEN + 1];
	struct optstr s;
	int ret;

	switch (ctrl->protocol) {
	case SETTINGS_PROTO_SCSI:
		snprintf(ctrl_id, sizeof(ctrl_id), "blkx-scsi%u", index);
		vmm_comment(c, "%s controller %s: virtio-scsi-pci %s", proto,
			    ctrl->instance_id_str, ctrl_id);
		vmm_arg(c, "-device");
		opt_begin(&s);
		opt_str(&s, "virtio-scsi-pci", NULL);
		opt_str(&s, "id", ctrl_id);
		opt_end(c, &s);
		break;
	case SETTINGS_PROTO_NVME:
		snprintf(ctrl_id, sizeof(ctrl_id), "blkx-nvme%u", index);
		nvme_serial(ctrl, serial);
		vmm_comment(c, "%s controller %s: nvme %s, serial %s", proto,
			    ctrl->instance_id_str, ctrl_id, serial);
		vmm_arg(c, "-device");
		opt_begin(&s);
		opt_str(&s, "nvme", NULL);
		opt_str(&s, "id", ctrl_id);
		opt_str(&s, "serial", serial);
		opt_end(c, &s);
		break;
	default:
		snprintf(ctrl_id, sizeof(ctrl_id), "ide");
		vmm_comment(
			c,
			"%s controller %s: the machine's own buses ide.0 and ide.1 (-machine pc)",
			proto, ctrl->instance_id_str);
		vmm_note(
			c,
			"IDE controller %s: its slots go on the machine's IDE buses ide.<channel>, unit <slot>: start QEMU with -machine pc (i440fx's PIIX IDE; q35's AHCI takes one unit per bus)",
			ctrl->instance_id_str);
		break;
	}
	for (size_t i = 0; i < ctrl->nr_luns; i++) {
		struct vmm_lun vl;

		ret = vmm_lun_init(c, ctrl, &ctrl->luns[i], ctrl_id, &vl);
		if (ret)
			return ret;
		vmm_disk_json(c, &vl);
		if (ctrl->protocol == SETTINGS_PROTO_SCSI)
			qemu_scsi_lun(c, &vl);
		else if (ctrl->protocol == SETTINGS_PROTO_NVME)
			qemu_nvme_ns(c, &vl);
		else
			qemu_ide_lun(c, &vl);
	}
	return 0;
}

/* Two NVMe controllers must not share a serial (nor the subsystem NQN
 * QEMU derives from it). */
static int qemu_check_nvme_serials(const struct settings *s)
{
	char a[VMM_NVME_SERIAL_LEN + 1], b[VMM_NVME_SERIAL_LEN + 1];

	for (size_t i = 0; i < s->nr_controllers; i++) {
		if (s->controllers[i].protocol != SETTINGS_PROTO_NVME)
			continue;
		nvme_serial(&s->controllers[i], a);
		for (size_t j = i + 1; j < s->nr_controllers; j++) {
			if (s->controllers[j].protocol != SETTINGS_PROTO_NVME)
				continue;
			nvme_serial(&s->controllers[j], b);
			if (strcmp(a, b))
				continue;
			cli_error(
				"%s: NVMe controllers %s and %s would both get serial %s (the first and last groups of instance_id)",
				s->controllers[j].path,
				s->controllers[i].instance_id_str,
				s->controllers[j].instance_id_str, a);
			return -EINVAL;
		}
	}
	return 0;
}

int qemu_build(struct vmm_ctx *c, const struct settings *s)
{
	unsigned int nscsi = 0, nnvme = 0;
	bool sized = false;
	int ret;

	ret = qemu_check_nvme_serials(s);
	if (ret)
		return ret;
	for (size_t i = 0; i < s->nr_controllers && !c->err; i++) {
		const struct settings_controller *ctrl = &s->controllers[i];

		if (ctrl->protocol == SETTINGS_PROTO_SCSI)
			ret = qemu_controller(c, ctrl, nscsi++);
		else if (ctrl->protocol == SETTINGS_PROTO_NVME)
			ret = qemu_controller(c, ctrl, nnvme++);
		else
			ret = qemu_controller(c, ctrl, 0);
		if (ret)
			return ret;
		for (size_t l = 0; l < ctrl->nr_luns; l++)
			sized = sized || !ctrl->luns[l].is_dvd;
	}
	if (!sized)
		return 0;
	if (c->have_state)
		vmm_note(
			c,
			"sector sizes, read-only, write cache and FUA from the devices of the running daemon of instance '%s' (pid %d)",
			c->o->instance, c->state.pid);
	else
		vmm_note(
			c,
			"no running daemon of instance '%s': logical_block_size is left to QEMU, which presents 512-byte sectors; run vmm-args again once 'blkxlate up' serves the disks",
			c->o->instance);
	return 0;
}
