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
	const struct ring_ops *dp;
	bool zero_copy;	     /* UBLK_F_AUTO_BUF_REG */
	bool recovery;	     /* add devices with UBLK_F_USER_RECOVERY */
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
	bool added;	/* we hold a ublk device id */
	bool started;	/* /dev/ublkbN exists */
	bool recovered; /* it came from a crashed daemon */
	bool mutex_init;
	char bdev[32];
	char link[PATH_MAX];
};

/* queue depth when neither --depth nor the controller's io_queue_depth says */
#define LUN_DEFAULT_DEPTH 128

/*
 * Serve pd (disk index idx): open its members, add a ublk device (or, with
 * recover_id >= 0, take over that device of a crashed daemon through
 * START/END_USER_RECOVERY), start its queues and the device, create its
 * link.  On failure the caller runs lun_down() on it.  0 or -errno.
 */
int lun_up(struct lun *l, const struct lun_env *env, const struct plan_disk *pd,
	   uint32_t idx, int recover_id);
/* The two halves of lun_up(), for a live reload: everything up to queues
 * waiting for requests (nothing visible yet), then START_DEV and the link. */
int lun_prepare(struct lun *l, const struct lun_env *env,
		const struct plan_disk *pd, uint32_t idx, int recover_id);
int lun_start(struct lun *l, const struct lun_env *env);
/* Stop, delete and release everything lun_up() made. */
void lun_down(struct lun *l, const struct lun_env *env);

#endif /* BLKXLATE_LUN_H */
