// SPDX-License-Identifier: MIT
/* vmm_lun: what every VMM needs of a LUN -- ids, path, identity, WWN, and
 * the served device's facts while the daemon runs. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "cli/cli.h"
#include "cli/vmm.h"
#include "config/settings.h"
#include "daemon/state.h"
#include "pins/maps.h"
#include "plan/plan.h"

/* --- what every VMM needs of a LUN -------------------------------------- */

/*
 * A 64-bit WWN from device_id: NAA 3 ("locally assigned", SPC-4), whose 60
 * bits are ours to choose; NAA 5 and 6 carry an IEEE OUI that blkxlate
 * does not own.  The 60 bits are the GUID's first 8 bytes XOR its last 8
 * (bytes in text order, big endian), so every byte counts.
 */
static uint64_t vmm_wwn(const struct guid *g)
{
	uint64_t hi = 0, lo = 0;

	for (int i = 0; i < 8; i++) {
		hi = hi << 8 | g->b[i];
		lo = lo << 8 | g->b[8 + i];
	}
	return (UINT64_C(3) << 60) | ((hi ^ lo) & (UINT64_MAX >> 4));
}

/* Expand --path-template (checked by vmm_check_template). */
static int vmm_template(const char *t, const struct settings_controller *ctrl,
			const struct settings_lun *l, char *buf, size_t len)
{
	size_t n = 0;

	for (; *t; t++) {
		char num[16];
		const char *add = num;
		size_t alen;

		if (*t != '%') {
			num[0] = *t;
			num[1] = '\0';
		} else if (*++t == 'c') {
			add = ctrl->instance_id_str;
		} else if (*t == 'l') {
			snprintf(num, sizeof(num), "%u", l->location);
		} else if (*t == 'h') {
			snprintf(num, sizeof(num), "%u",
				 l->has_channel ? l->channel : 0);
		} else {
			add = "%";
		}
		alen = strlen(add);
		if (n + alen >= len)
			return -ENAMETOOLONG;
		memcpy(buf + n, add, alen);
		n += alen;
	}
	buf[n] = '\0';
	return 0;
}

int vmm_check_template(const char *t)
{
	if (!*t) {
		cli_error("--path-template: empty template");
		return -EINVAL;
	}
	for (; *t; t++) {
		if (*t != '%')
			continue;
		t++;
		if (*t != 'c' && *t != 'l' && *t != 'h' && *t != '%') {
			cli_error(
				"--path-template: unknown conversion '%%%.1s' (use %%c, %%l, %%h or %%%%)",
				t);
			return -EINVAL;
		}
	}
	return 0;
}

/* Read the running daemon's state; c->have_state stays false when there is
 * none (a state file left by a daemon that died describes nothing). */
void vmm_state_load(struct vmm_ctx *c)
{
	if (state_read(c->o->instance, &c->state))
		return;
	if (!state_daemon_alive(c->o->instance, &c->state)) {
		state_fini(&c->state);
		return;
	}
	c->have_state = true;
}

/* The daemon's device of a LUN and its sysfs attributes, when served. */
static bool vmm_served_device(struct vmm_ctx *c, struct vmm_lun *vl)
{
	const struct state_disk *sd;
	const char *name;

	if (!c->have_state)
		return false;
	sd = state_find(&c->state, vl->ctrl->instance_id_str, vl->lun->location,
			vl->lun->has_channel ? vl->lun->channel : 0);
	if (!sd || !sd->device[0])
		return false; /* not served, or still being brought up */
	name = strrchr(sd->device, '/');
	name = name ? name + 1 : sd->device;
	if (resolve_block_attrs(&c->o->rc, name, &vl->dev)) {
		vmm_note(
			c,
			"%s: the daemon's %s has no usable sysfs attributes: its sector sizes are omitted",
			vl->id, sd->device);
		return false;
	}
	return true;
}

int vmm_lun_init(struct vmm_ctx *c, const struct settings_controller *ctrl,
		 const struct settings_lun *l, const char *ctrl_id,
		 struct vmm_lun *vl)
{
	bool ide = ctrl->protocol == SETTINGS_PROTO_IDE;
	int ret;

	memset(vl, 0, sizeof(*vl));
	vl->ctrl = ctrl;
	vl->lun = l;
	snprintf(vl->ctrl_id, sizeof(vl->ctrl_id), "%s", ctrl_id);
	if (ide)
		snprintf(vl->id, sizeof(vl->id), "blkx-ide%u-%u", l->channel,
			 l->location);
	else
		snprintf(vl->id, sizeof(vl->id), "%s-%s%u", ctrl_id,
			 ctrl->protocol == SETTINGS_PROTO_NVME ? "ns" : "lun",
			 l->location);
	snprintf(vl->node, sizeof(vl->node), "%s-blk", vl->id);
	if (c->o->path_template)
		ret = vmm_template(c->o->path_template, ctrl, l, vl->path,
				   sizeof(vl->path));
	else
		ret = state_link_path(ctrl->instance_id_str, ide,
				      l->has_channel ? l->channel : 0,
				      l->location, vl->path, sizeof(vl->path));
	if (ret) {
		cli_error("%s: the disk path of %s is too long", l->path,
			  vl->id);
		return ret;
	}
	plan_lun_identity(l, vl->vendor, vl->product, vl->revision);
	if (l->has_device_id) {
		guid_format(&l->device_id, vl->device_id);
		vl->wwn = vmm_wwn(&l->device_id);
	}
	vl->served = vmm_served_device(c, vl);
	return 0;
}

void vmm_disk_json(struct vmm_ctx *c, const struct vmm_lun *vl)
{
	struct json_object *o;

	c->nr_luns++;
	if (!c->disks)
		return;
	o = json_object_new_object();
	json_add_str(o, "controller", vl->ctrl->instance_id_str);
	json_add_str(o, "protocol", settings_protocol_name(vl->ctrl->protocol));
	json_add_int(o, "location", vl->lun->location);
	if (vl->lun->has_channel)
		json_add_int(o, "channel", vl->lun->channel);
	json_add_str(o, "path", vl->path);
	json_add_str(o, "id", vl->id);
	if (c->o->vmm == VMM_QEMU) {
		json_add_str(o, "controller_id", vl->ctrl_id);
		json_add_str(o, "node", vl->node);
	}
	if (vl->served)
		json_add_str(o, "device", vl->dev.dev_path);
	json_object_array_add(c->disks, o);
}

/* The sector sizes the guest should see, 0 where unknown. */
void vmm_block_sizes(const struct vmm_lun *vl, uint32_t *lbs, uint32_t *pbs)
{
	const struct settings_opt_u64 *ps = &vl->lun->physical_sector_size;

	*lbs = vl->served ? vl->dev.logical_block_size : 0;
	*pbs = vl->served ? vl->dev.physical_block_size : 0;
	/* plan's rule: a power of two up to 64 KiB, else ignored */
	if (!vl->served && ps->has && ps->val >= 512 && ps->val <= 65536 &&
	    !(ps->val & (ps->val - 1)))
		*pbs = (uint32_t)ps->val;
}
