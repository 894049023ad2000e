/* SPDX-License-Identifier: MIT */
/*
 * program: the one writer of the pinned maps' contents -- what `load`,
 * daemon start and reload program (disks, members, LUNs, meta), the
 * counters a reused slot starts from, the tracer's device tables and its
 * reader count.  (maps.c creates and removes the maps themselves.)
 */
#ifndef BLKXLATE_PINS_PROGRAM_H
#define BLKXLATE_PINS_PROGRAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pins/maps.h"
#include "plan/plan.h"

/* Every disk of p at its plan index, its LUN and meta (a new instance's
 * maps).  0 or -errno with err saying what failed. */
int program_plan(const struct maps *m, const struct plan *p, char *err,
		 size_t errlen);

/* The geometry of pd at disk slot di and its members at
 * pd->geo.first_member, with zeroed counters (a slot may be reused); the
 * LUN is not visible yet.  0 or -errno. */
int program_disk(const struct maps *m, const struct maps_slots *slots,
		 const struct plan_disk *pd, uint32_t di);
/* Rewrite member j of pd (its flags changed while it serves). */
int program_member(const struct maps *m, const struct plan_disk *pd, size_t j);
/* Make pd's LUN resolve to disk slot di (the last step of adding it). */
int program_lun_add(const struct maps *m, const struct plan_disk *pd,
		    uint32_t di);
/* Take pd's LUN out of the luns map (the first step of removing it). */
int program_lun_remove(const struct maps *m, const struct plan_disk *pd);
/* Take every LUN whose disk slot is not used[] out of the luns map (what a
 * dead daemon's half-done change left).  Returns how many went. */
int program_lun_prune(const struct maps *m, const bool *used, uint32_t cap);
/* meta: nr_disks and nr_members now served, generation + 1. */
int program_meta_update(const struct maps *m, size_t nr_disks,
			size_t nr_members);

/* Zero the counters of disk slot di and its members (lun_stats,
 * queue_stats, member_stats, io_hist). */
void program_reset_counters(const struct maps *m,
			    const struct maps_slots *slots,
			    const struct plan_disk *pd, uint32_t di);

/* Tell the tracer that block device bdev (/dev/ublkbN) is disk slot di and
 * which block devices are its members (add), or forget them. */
int program_trace_lun(const struct maps *m, const struct maps_slots *slots,
		      const struct plan_disk *pd, uint32_t di, const char *bdev,
		      bool add);
/* One more (delta 1) or one fewer (-1) reader of the remap events. */
int program_trace_readers(const struct maps *m, int delta);

/* The kernel's dev_t encoding, as the BPF side computes it. */
static inline uint32_t program_dev_key(uint32_t major, uint32_t minor)
{
	return major << 20 | minor;
}

#endif /* BLKXLATE_PINS_PROGRAM_H */
