/* SPDX-License-Identifier: MIT */
/*
 * lun: one guest LUN served as one ublk device — its members opened, the
 * device added (or recovered after a crash), its queues serving, started,
 * and its stable link; and all of that taken down again.
 */
#ifndef BLKXLATE_LUN_H
#define BLKXLATE_LUN_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "plan/plan.h"
#include "dataplane/queue.h"
#include "dataplane/ublk.h"

/* What the daemon gives every LUN. */
struct lun_env {
	struct ublk_ctrl *ctrl;
	const char *instance; /* its mark goes on every device */
	/* Write the state file: called once a LUN has picked its ublk id and
	 * before ADD_DEV, so that a crash at any later step leaves a device
	 * that the state file names.  0, or -errno: then nothing is added. */
	int (*journal)(void *ctx);
	void *journal_ctx;
	const struct ring_ops *dp;
	bool zero_copy;	     /* UBLK_F_AUTO_BUF_REG */
	bool recovery;	     /* add devices with UBLK_F_USER_RECOVERY */
	bool fail_io;	     /* ... and _FAIL_IO: no waiting while down */
	const char *pin_dir; /* the instance's bpffs directory */
	struct blkx_io_stats *lun_stats; /* mmapped maps, whole */
	struct blkx_io_stats *member_stats;
	struct blkx_queue_stats *queue_stats;
	unsigned int queue_stats_entries;
	unsigned int nr_queues; /* 0: one per CPU */
	unsigned int depth;	/* 0: the controller's io_queue_depth, 128 */
};

struct lun {
	struct ldisk ld;
	const struct plan_disk *pd;
	bool claimed;	 /* ld.dev_id is ours: journaled, maybe added */
	bool added;	 /* we hold a ublk device id */
	bool committed;	 /* it served (or a crashed daemon served it) */
	bool removing;	 /* a reload is taking it out */
	bool started;	 /* /dev/ublkbN exists */
	bool recovering; /* to be taken over from a crashed daemon */
	bool recovered;	 /* it was */
	bool mutex_init;
	char bdev[32];
	char link[PATH_MAX];
};

/* queue depth when neither --depth nor the controller's io_queue_depth says */
#define LUN_DEFAULT_DEPTH 128

/*
 * Set l up to serve pd at disk slot idx (nothing is opened or added yet;
 * with recover_id >= 0 it is that device of a crashed daemon, to be taken
 * over).  Then lun_up(), or its two halves for a live reload:
 * lun_prepare() does everything up to queues waiting for requests
 * (nothing visible yet), lun_start() START_DEV (or END_USER_RECOVERY) and
 * the link.  On failure the caller runs lun_down().  0 or -errno.
 */
void lun_init(struct lun *l, const struct lun_env *env,
	      const struct plan_disk *pd, uint32_t idx, int recover_id);
int lun_up(struct lun *l, const struct lun_env *env);
int lun_prepare(struct lun *l, const struct lun_env *env);
int lun_start(struct lun *l, const struct lun_env *env);
/* Member j takes no more I/O in the userspace path (BLKX_MEMBER_FAILED
 * in its copy of the members map values; the map itself is program's). */
void lun_member_failed(struct lun *l, size_t j);
/* Stop, delete and release everything lun_up() made. */
void lun_down(struct lun *l, const struct lun_env *env);

#endif /* BLKXLATE_LUN_H */
