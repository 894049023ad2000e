/* SPDX-License-Identifier: MIT */
/*
 * maps: lifecycle of one instance's pinned BPF maps under
 * <bpffs>/blkxlate/<instance>/ (directory 0700): create and program them
 * from a plan, open them again from another process, remove them.
 */
#ifndef BLKXLATE_MAPS_H
#define BLKXLATE_MAPS_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include <blkxlate/abi.h>

#include "plan/plan.h"

#define MAPS_DEFAULT_INSTANCE "default"
#define MAPS_PROG_PIN	      "remap_prog"

struct remap_bpf;

struct maps {
	char dir[PATH_MAX];
	int luns_fd;
	int disks_fd;
	int members_fd;
	int lun_stats_fd;
	int member_stats_fd;
	int meta_fd;
	int queue_stats_fd;
	int trace_devs_fd;
	int io_hist_fd;
	int nvme_stats_fd;
	int trace_nvme_fd;
	int trace_ctl_fd;
	int trace_events_fd;
	int prog_fd;		/* the remap syscall program */
	struct remap_bpf *skel; /* set when this process created the maps */
};

/*
 * Room in the maps: the disks and members of the plan plus headroom for
 * LUNs added by a live reload (blkxlate reload).
 */
struct maps_slots {
	uint32_t disks;
	uint32_t members;
};

static inline struct maps_slots maps_slots_for(size_t nr_disks,
					       size_t nr_members)
{
	struct maps_slots s;
	size_t d = nr_disks * 2 > nr_disks + 16 ? nr_disks * 2 : nr_disks + 16;
	size_t m = nr_members * 2 > nr_members + 64 ? nr_members * 2
						    : nr_members + 64;

	s.disks = (uint32_t)(d < BLKX_MAX_DISKS ? d : BLKX_MAX_DISKS);
	s.members = (uint32_t)(m < BLKX_MAX_MEMBERS ? m : BLKX_MAX_MEMBERS);
	return s;
}

/* Entries of queue_stats (disk * BLKX_MAX_QUEUES + queue). */
static inline unsigned int maps_queue_stats_entries(struct maps_slots s)
{
	return s.disks * BLKX_MAX_QUEUES;
}

/* Entries of io_hist ((disk, or disk_slots + member) * ops + op). */
static inline unsigned int maps_io_hist_entries(struct maps_slots s)
{
	return (s.disks + s.members) * BLKX_NR_TOPS;
}

/* snprintf into a caller's error buffer (err may be NULL). */
void maps_errf(char *err, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The slots an instance's maps were made with (meta). 0 or -errno. */
int maps_slots_get(const struct maps *m, struct maps_slots *s);

/* The bpffs root: $BLKXLATE_BPFFS or /sys/fs/bpf. */
const char *maps_bpffs_root(void);
/* <root>/blkxlate/<instance>; -EINVAL for a bad instance name. */
int maps_instance_dir(const char *instance, char *buf, size_t len);

/*
 * Create, pin and program the maps of instance from plan p.  Refuses with
 * -EEXIST when the instance is already loaded.  All or nothing: on failure
 * nothing stays pinned.  err gets a readable reason.
 */
int maps_create(const char *instance, const struct plan *p, struct maps *m,
		char *err, size_t errlen);
/* Open the pinned maps and program of a loaded instance. */
int maps_open(const char *instance, struct maps *m, char *err, size_t errlen);
/* Close fds (and the skeleton); pins stay. */
void maps_close(struct maps *m);
/* Unpin everything of instance and remove its directory. */
int maps_destroy(const char *instance, char *err, size_t errlen);

/*
 * Run the remap program on rq (BPF_PROG_RUN).  0 with rq->result set, or
 * -errno when the program could not run.
 */
int maps_remap(const struct maps *m, struct blkx_remap_ctx *rq);

/*
 * Give every map of obj that the instance has pinned in pin_dir the pinned
 * map's size, so that libbpf can reuse the pin (some maps are sized to the
 * plan at creation).  Call between open and load.  0 or -errno.
 */
struct bpf_object;
int maps_match_pins(struct bpf_object *obj, const char *pin_dir);

#endif /* BLKXLATE_MAPS_H */
