// SPDX-License-Identifier: MIT
/*
 * cli_vmm: `vmm-args` — the VMM arguments that attach every guest LUN of a
 * settings file, through its stable /run/blkxlate path, to an emulated
 * controller and location with its configured identity.  Only the settings
 * are read (no backing is opened); a running daemon of the instance adds
 * what only the served devices know: their sector sizes, read-only flag,
 * write cache and FUA.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "pins/maps.h"
#include "plan/plan.h"
#include "devices/resolve.h"
#include "config/settings.h"
#include "daemon/state.h"

#define VMM_NVME_SERIAL_LEN   20  /* NVMe Identify Controller SN */
#define VMM_ATA_SERIAL_LEN    20  /* ATA IDENTIFY words 10-19 */
#define VMM_VIRTIO_SERIAL_LEN 20  /* VIRTIO_BLK_ID_BYTES */
#define VMM_QEMU_MAX_NSID     256 /* QEMU 7.2 NVME_MAX_NAMESPACES */

enum vmm_kind { VMM_QEMU, VMM_CLOUD_HYPERVISOR };

struct vmm_opts {
	enum vmm_kind vmm;
	bool has_vmm;
	bool json;
	const char *config;
	const char *path_template; /* NULL: the stable links */
	const char *driver;	   /* QEMU blockdev driver */
	const char *aio;	   /* QEMU blockdev aio */
	const char *instance;	   /* whose running daemon to ask */
	struct resolve_ctx rc;	   /* sysfs of the served devices */
};

/* One output entry: an argv string, or a comment line (text mode only). */
struct vmm_item {
	char *text;
	bool comment;
};

struct vmm_ctx {
	const struct vmm_opts *o;
	struct state state; /* the running daemon's state */
	bool have_state;
	struct vmm_item *items;
	size_t nr_items, cap_items;
	char **notes;
	size_t nr_notes, cap_notes;
	struct json_object *disks; /* --json: one object per LUN */
	size_t nr_luns;
	int err; /* the first -errno met while building */
};

/* What one LUN becomes, whatever the VMM. */
struct vmm_lun {
	const struct settings_controller *ctrl;
	const struct settings_lun *lun;
	char ctrl_id[32]; /* QEMU controller id, e.g. blkx-scsi0 */
	char id[48];	  /* device id, e.g. blkx-scsi0-lun3 */
	char node[64];	  /* QEMU blockdev node-name */
	char path[PATH_MAX];
	char vendor[9], product[17], revision[5]; /* space padded */
	char device_id[GUID_STR_LEN + 1];	  /* "" when unset */
	uint64_t wwn;				  /* 0 when no device_id */
	bool served; /* dev holds the daemon's device */
	struct resolved_dev dev;
};

static void usage_vmm(FILE *f)
{
	fputs("Usage: blkxlate vmm-args --vmm qemu|cloud-hypervisor [OPTIONS] CONFIG\n"
	      "\n"
	      "Print the arguments that attach every guest LUN of CONFIG to a VMM through\n"
	      "its stable path /run/blkxlate/<controller>/lun<L> (or ide<C>-<L>), at its\n"
	      "controller and location, with its identity.  Only the settings are read:\n"
	      "the backings need not be present.\n"
	      "\n"
	      "QEMU, ids in settings order:\n"
	      "  SCSI  -device virtio-scsi-pci,id=blkx-scsiN; LUN L: scsi-hd (scsi-cd for\n"
	      "        is_dvd) id blkx-scsiN-lunL, bus blkx-scsiN.0, channel 0, scsi-id 0,\n"
	      "        lun L, serial, vendor, product, ver, device_id, wwn, rotation_rate\n"
	      "  NVMe  -device nvme,id=blkx-nvmeN,serial=S; nsid L: nvme-ns id blkx-nvmeN-nsL,\n"
	      "        nsid L, uuid = device_id\n"
	      "  IDE   ide-hd (ide-cd) id blkx-ide<C>-<L> on the machine's bus ide.C, unit L:\n"
	      "        needs -machine pc (i440fx's PIIX IDE)\n"
	      "  each disk a -blockdev node <id>-blk with cache.direct=on.\n"
	      "  wwn: NAA 3 (locally assigned), 0x3 then the low 60 bits of device_id's\n"
	      "  first 8 bytes XOR its last 8 (GUID bytes in text order, big endian).\n"
	      "  S: the controller instance_id's first and last groups (8 + 12 hex digits).\n"
	      "cloud-hypervisor: one --disk with a path=...,direct=on,serial=,id= per LUN\n"
	      "(virtio-blk); the notes say what it cannot express.\n"
	      "\n"
	      "Sector sizes are known once the disks are served: while the daemon of\n"
	      "--instance runs, logical/physical_block_size, read-only, write cache and\n"
	      "FUA come from its devices' sysfs.  Otherwise only physical_sector_size\n"
	      "from the settings is passed, and QEMU presents 512-byte logical sectors\n"
	      "(it asks the host device only for DASD): run vmm-args after 'blkxlate up'.\n"
	      "\n"
	      "Output: shell words, an option and its value a line, continued with '\\',\n"
	      "then comments and notes as '#' lines: it pastes after a VMM command line\n"
	      "and reads back with: eval \"set -- $(blkxlate vmm-args ...)\"\n"
	      "\n"
	      "  -m, --vmm VMM           qemu or cloud-hypervisor (required)\n"
	      "  -j, --json              {\"vmm\", \"args\": [argv strings], \"notes\", \"disks\"}\n"
	      "  -p, --path-template T   disk paths from T, not the stable links: %c the\n"
	      "                          controller GUID, %l the location, %h the IDE\n"
	      "                          channel (0 otherwise), %% a '%'\n"
	      "      --driver DRIVER     QEMU blockdev driver: host_device (default) or\n"
	      "                          file (for regular files)\n"
	      "      --aio MODE          QEMU aio: native (default), io_uring or threads\n"
	      "  -i, --instance NAME     the daemon to ask for sector sizes (default\n"
	      "                          'default')\n"
	      "      --sysfs-root DIR    read the served devices' sysfs from DIR\n"
	      "  -h, --help              this text\n"
	      "\n"
	      "Exit status: 0 ok, 1 failed, 2 bad usage, 3 invalid settings.\n",
	      f);
}

/* --- collecting the output ---------------------------------------------- */

static void vmm_fail(struct vmm_ctx *c, int err)
{
	if (!c->err)
		c->err = err;
}

/* Append an entry; takes text (NULL: an allocation failed). */
static void vmm_push(struct vmm_ctx *c, char *text, bool comment)
{
	if (!text) {
		vmm_fail(c, -ENOMEM);
		return;
	}
	if (c->nr_items == c->cap_items) {
		size_t cap = c->cap_items ? c->cap_items * 2 : 32;
		struct vmm_item *v = reallocarray(c->items, cap, sizeof(*v));

		if (!v) {
			free(text);
			vmm_fail(c, -ENOMEM);
			return;
		}
		c->items = v;
		c->cap_items = cap;
	}
	c->items[c->nr_items].text = text;
	c->items[c->nr_items].comment = comment;
	c->nr_items++;
}

static void vmm_arg(struct vmm_ctx *c, const char *arg)
{
	vmm_push(c, strdup(arg), false);
}

static char *vfmt(const char *fmt, va_list ap)
{
	char *s;

	return vasprintf(&s, fmt, ap) < 0 ? NULL : s;
}

__attribute__((format(printf, 2, 3))) static void
vmm_comment(struct vmm_ctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmm_push(c, vfmt(fmt, ap), true);
	va_end(ap);
}

/* A note: what the VMM cannot express, or where a value came from. */
__attribute__((format(printf, 2, 3))) static void vmm_note(struct vmm_ctx *c,
							   const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = vfmt(fmt, ap);
	va_end(ap);
	if (!s) {
		vmm_fail(c, -ENOMEM);
		return;
	}
	if (c->nr_notes == c->cap_notes) {
		size_t cap = c->cap_notes ? c->cap_notes * 2 : 8;
		char **v = reallocarray(c->notes, cap, sizeof(*v));

		if (!v) {
			free(s);
			vmm_fail(c, -ENOMEM);
			return;
		}
		c->notes = v;
		c->cap_notes = cap;
	}
	c->notes[c->nr_notes++] = s;
}

/*
 * One option value "a=b,c=d" being built.  A comma inside a value is
 * written twice, which is how QEMU reads a literal comma.
 */
struct optstr {
	FILE *f;
	char *buf;
	size_t len;
	bool first;
};

static void opt_begin(struct optstr *s)
{
	s->buf = NULL;
	s->len = 0;
	s->first = true;
	s->f = open_memstream(&s->buf, &s->len);
}

/* key=val, or the bare word key when val is NULL */
static void opt_str(struct optstr *s, const char *key, const char *val)
{
	if (!s->f)
		return;
	if (!s->first)
		fputc(',', s->f);
	s->first = false;
	fputs(key, s->f);
	if (!val)
		return;
	fputc('=', s->f);
	for (; *val; val++) {
		if (*val == ',')
			fputc(',', s->f);
		fputc(*val, s->f);
	}
}

static void opt_u64(struct optstr *s, const char *key, uint64_t val)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRIu64, val);
	opt_str(s, key, buf);
}

static void opt_x64(struct optstr *s, const char *key, uint64_t val)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "0x%016" PRIx64, val);
	opt_str(s, key, buf);
}

static void opt_bool(struct optstr *s, const char *key, bool val)
{
	opt_str(s, key, val ? "on" : "off");
}

/* Finish the value and append it as one argv string. */
static void opt_end(struct vmm_ctx *c, struct optstr *s)
{
	if (!s->f) {
		vmm_fail(c, -ENOMEM);
		return;
	}
	if (fclose(s->f)) {
		free(s->buf);
		vmm_fail(c, -ENOMEM);
		return;
	}
	vmm_push(c, s->buf, false);
}

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

static int vmm_check_template(const char *t)
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
static void vmm_state_load(struct vmm_ctx *c)
{
	if (state_read(c->o->instance, &c->state))
		return;
	if (!state_pid_alive(c->state.pid)) {
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

static int vmm_lun_init(struct vmm_ctx *c,
			const struct settings_controller *ctrl,
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

static void vmm_disk_json(struct vmm_ctx *c, const struct vmm_lun *vl)
{
	struct json_object *o;

	c->nr_luns++;
	if (!c->disks)
		return;
	o = json_object_new_object();
	json_object_object_add(
		o, "controller",
		json_object_new_string(vl->ctrl->instance_id_str));
	json_object_object_add(o, "protocol",
			       json_object_new_string(settings_protocol_name(
				       vl->ctrl->protocol)));
	json_object_object_add(o, "location",
			       json_object_new_int64(vl->lun->location));
	if (vl->lun->has_channel)
		json_object_object_add(o, "channel",
				       json_object_new_int64(vl->lun->channel));
	json_object_object_add(o, "path", json_object_new_string(vl->path));
	json_object_object_add(o, "id", json_object_new_string(vl->id));
	if (c->o->vmm == VMM_QEMU) {
		json_object_object_add(o, "controller_id",
				       json_object_new_string(vl->ctrl_id));
		json_object_object_add(o, "node",
				       json_object_new_string(vl->node));
	}
	if (vl->served)
		json_object_object_add(
			o, "device", json_object_new_string(vl->dev.dev_path));
	json_object_array_add(c->disks, o);
}

/* The sector sizes the guest should see, 0 where unknown. */
static void vmm_block_sizes(const struct vmm_lun *vl, uint32_t *lbs,
			    uint32_t *pbs)
{
	const struct settings_opt_u64 *ps = &vl->lun->physical_sector_size;

	*lbs = vl->served ? vl->dev.logical_block_size : 0;
	*pbs = vl->served ? vl->dev.physical_block_size : 0;
	/* plan's rule: a power of two up to 64 KiB, else ignored */
	if (!vl->served && ps->has && ps->val >= 512 && ps->val <= 65536 &&
	    !(ps->val & (ps->val - 1)))
		*pbs = (uint32_t)ps->val;
}

/* --- QEMU --------------------------------------------------------------- */

static bool vmm_read_only(const struct vmm_lun *vl)
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

static int qemu_build(struct vmm_ctx *c, const struct settings *s)
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

static int ch_build(struct vmm_ctx *c, const struct settings *s)
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

/* --- printing ----------------------------------------------------------- */

/* One shell word: bare when safe, else single-quoted. */
static void print_word(const char *w)
{
	static const char safe[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-";

	if (*w && strspn(w, safe) == strlen(w)) {
		fputs(w, stdout);
		return;
	}
	putchar('\'');
	for (; *w; w++) {
		if (*w == '\'')
			fputs("'\\''", stdout);
		else
			putchar(*w);
	}
	putchar('\'');
}

/*
 * Text: the arguments as shell words, an option and its first value on one
 * line, further values of the same option (cloud-hypervisor's --disk) each
 * on its own line, every line but the last continued with a backslash;
 * then the comments and notes as '#' lines.  So the output pastes after a
 * VMM command line and reads back with eval "set -- $(...)": the comments
 * come after the command they would otherwise cut short.
 */
static int vmm_print_text(const struct vmm_ctx *c, const char *header)
{
	bool open = false;
	size_t nvals = 0;

	for (size_t i = 0; i < c->nr_items; i++) {
		const struct vmm_item *it = &c->items[i];

		if (it->comment)
			continue;
		if ((it->text[0] == '-' || nvals) && open) {
			fputs(" \\\n", stdout);
			open = false;
		}
		if (it->text[0] == '-') {
			nvals = 0;
		} else {
			if (open)
				putchar(' ');
			else if (nvals)
				fputs("  ", stdout);
			nvals++;
		}
		print_word(it->text);
		open = true;
	}
	if (open)
		putchar('\n');
	printf("# %s\n", header);
	for (size_t i = 0; i < c->nr_items; i++)
		if (c->items[i].comment)
			printf("# %s\n", c->items[i].text);
	for (size_t i = 0; i < c->nr_notes; i++)
		printf("# note: %s\n", c->notes[i]);
	return fflush(stdout) ? -EIO : 0;
}

static int vmm_print_json(struct vmm_ctx *c)
{
	struct json_object *r = json_object_new_object();
	struct json_object *args = json_object_new_array();
	struct json_object *notes = json_object_new_array();

	if (!r || !args || !notes) {
		json_object_put(r);
		json_object_put(args);
		json_object_put(notes);
		return -ENOMEM;
	}
	json_object_object_add(
		r, "vmm",
		json_object_new_string(
			c->o->vmm == VMM_QEMU ? "qemu" : "cloud-hypervisor"));
	json_object_object_add(r, "config",
			       json_object_new_string(c->o->config));
	for (size_t i = 0; i < c->nr_items; i++)
		if (!c->items[i].comment)
			json_object_array_add(
				args, json_object_new_string(c->items[i].text));
	for (size_t i = 0; i < c->nr_notes; i++)
		json_object_array_add(notes,
				      json_object_new_string(c->notes[i]));
	json_object_object_add(r, "args", args);
	json_object_object_add(r, "notes", notes);
	json_object_object_add(r, "disks", c->disks);
	c->disks = NULL;
	return cli_print_json(r);
}

static void vmm_ctx_fini(struct vmm_ctx *c)
{
	for (size_t i = 0; i < c->nr_items; i++)
		free(c->items[i].text);
	free(c->items);
	for (size_t i = 0; i < c->nr_notes; i++)
		free(c->notes[i]);
	free(c->notes);
	json_object_put(c->disks);
	state_fini(&c->state);
}

/* --- the command -------------------------------------------------------- */

enum { OPT_DRIVER = 256, OPT_AIO, OPT_SYSFS_ROOT };

static int parse_vmm_opts(int argc, char **argv, struct vmm_opts *o)
{
	static const struct option longopts[] = {
		{"vmm", required_argument, NULL, 'm'},
		{"json", no_argument, NULL, 'j'},
		{"path-template", required_argument, NULL, 'p'},
		{"driver", required_argument, NULL, OPT_DRIVER},
		{"aio", required_argument, NULL, OPT_AIO},
		{"instance", required_argument, NULL, 'i'},
		{"sysfs-root", required_argument, NULL, OPT_SYSFS_ROOT},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->driver = "host_device";
	o->aio = "native";
	o->instance = MAPS_DEFAULT_INSTANCE;
	resolve_ctx_default(&o->rc);
	optind = 1;
	while ((c = getopt_long(argc, argv, "m:jp:i:h", longopts, NULL)) !=
	       -1) {
		switch (c) {
		case 'm':
			if (!strcmp(optarg, "qemu")) {
				o->vmm = VMM_QEMU;
			} else if (!strcmp(optarg, "cloud-hypervisor") ||
				   !strcmp(optarg, "ch")) {
				o->vmm = VMM_CLOUD_HYPERVISOR;
			} else {
				cli_error(
					"--vmm: '%s' is not qemu or cloud-hypervisor",
					optarg);
				return -CLI_USAGE;
			}
			o->has_vmm = true;
			break;
		case 'j':
			o->json = true;
			break;
		case 'p':
			if (vmm_check_template(optarg))
				return -CLI_USAGE;
			o->path_template = optarg;
			break;
		case OPT_DRIVER:
			if (strcmp(optarg, "host_device") &&
			    strcmp(optarg, "file")) {
				cli_error(
					"--driver: '%s' is not host_device or file",
					optarg);
				return -CLI_USAGE;
			}
			o->driver = optarg;
			break;
		case OPT_AIO:
			if (strcmp(optarg, "native") &&
			    strcmp(optarg, "io_uring") &&
			    strcmp(optarg, "threads")) {
				cli_error(
					"--aio: '%s' is not native, io_uring or threads",
					optarg);
				return -CLI_USAGE;
			}
			o->aio = optarg;
			break;
		case 'i':
			o->instance = optarg;
			break;
		case OPT_SYSFS_ROOT:
			o->rc.sysfs_root = optarg;
			break;
		case 'h':
			usage_vmm(stdout);
			return 1;
		default:
			usage_vmm(stderr);
			return -CLI_USAGE;
		}
	}
	if (!o->has_vmm) {
		cli_error("vmm-args: --vmm qemu|cloud-hypervisor is required");
		usage_vmm(stderr);
		return -CLI_USAGE;
	}
	if (optind != argc - 1) {
		cli_error(
			"vmm-args: expected exactly one CONFIG file argument");
		usage_vmm(stderr);
		return -CLI_USAGE;
	}
	if (maps_instance_dir(o->instance, (char[PATH_MAX]){0}, PATH_MAX)) {
		cli_error(
			"--instance: invalid name '%s' (1-32 of [A-Za-z0-9_-])",
			o->instance);
		return -CLI_USAGE;
	}
	o->config = argv[optind];
	return 0;
}

int cli_vmm_args(int argc, char **argv)
{
	struct error_obj err = {0};
	struct settings s = {0};
	struct vmm_ctx c = {0};
	struct vmm_opts o;
	char header[PATH_MAX + 96];
	int ret;

	ret = parse_vmm_opts(argc, argv, &o);
	if (ret)
		return ret > 0 ? CLI_OK : -ret;
	if (settings_parse_file(o.config, &s, &err)) {
		cli_settings_error(&err, o.json);
		return CLI_BAD_SETTINGS;
	}
	cli_settings_warnings(&s, o.json);
	c.o = &o;
	if (o.json) {
		c.disks = json_object_new_array();
		if (!c.disks) {
			cli_error("vmm-args: out of memory");
			settings_fini(&s);
			return CLI_FAILED;
		}
	}
	vmm_state_load(&c);
	ret = o.vmm == VMM_QEMU ? qemu_build(&c, &s) : ch_build(&c, &s);
	if (!ret && c.err) {
		ret = c.err;
		cli_error("vmm-args: %s", strerror(-ret));
	}
	if (!ret) {
		snprintf(header, sizeof(header),
			 "blkxlate vmm-args --vmm %s: %zu disk(s) of %s",
			 o.vmm == VMM_QEMU ? "qemu" : "cloud-hypervisor",
			 c.nr_luns, o.config);
		ret = o.json ? vmm_print_json(&c) : vmm_print_text(&c, header);
		if (ret)
			cli_error("vmm-args: writing the output: %s",
				  strerror(-ret));
	}
	vmm_ctx_fini(&c);
	settings_fini(&s);
	return ret ? CLI_FAILED : CLI_OK;
}
