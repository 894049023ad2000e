/* SPDX-License-Identifier: MIT */
/*
 * vmm: what the files of `vmm-args` share -- its options, the output being
 * collected, and the model of one LUN that every VMM's arguments are built
 * from.  vmm.c is the command, vmm_output.c collects and prints,
 * vmm_lun.c models a LUN, vmm_qemu.c and vmm_ch.c speak each VMM.
 */
#ifndef BLKXLATE_CLI_VMM_H
#define BLKXLATE_CLI_VMM_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/settings.h"
#include "daemon/state.h"
#include "devices/resolve.h"

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

void vmm_arg(struct vmm_ctx *c, const char *arg);
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

/* The first -errno met while building wins; later ones are dropped. */
void vmm_fail(struct vmm_ctx *c, int err);
/* A comment line in the output (text mode only). */
void vmm_comment(struct vmm_ctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* A note: what the VMM cannot express, or where a value came from. */
void vmm_note(struct vmm_ctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void opt_begin(struct optstr *s);
void opt_str(struct optstr *s, const char *key, const char *val);
void opt_u64(struct optstr *s, const char *key, uint64_t val);
void opt_x64(struct optstr *s, const char *key, uint64_t val);
void opt_bool(struct optstr *s, const char *key, bool val);
void opt_end(struct vmm_ctx *c, struct optstr *s);
int vmm_print_text(const struct vmm_ctx *c, const char *header);
int vmm_print_json(struct vmm_ctx *c);
void vmm_ctx_fini(struct vmm_ctx *c);
int vmm_check_template(const char *t);
void vmm_state_load(struct vmm_ctx *c);
int vmm_lun_init(struct vmm_ctx *c, const struct settings_controller *ctrl,
		 const struct settings_lun *l, const char *ctrl_id,
		 struct vmm_lun *vl);
void vmm_disk_json(struct vmm_ctx *c, const struct vmm_lun *vl);
void vmm_block_sizes(const struct vmm_lun *vl, uint32_t *lbs, uint32_t *pbs);
bool vmm_read_only(const struct vmm_lun *vl);
int qemu_build(struct vmm_ctx *c, const struct settings *s);
int ch_build(struct vmm_ctx *c, const struct settings *s);

#endif /* BLKXLATE_CLI_VMM_H */
