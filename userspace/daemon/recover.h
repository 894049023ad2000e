/* SPDX-License-Identifier: MIT */
/*
 * recover: what a killed daemon of this instance left (its state file,
 * devices, pins, links) is taken over, refused or discarded before a new
 * daemon serves anything, whatever step the crash hit.
 *
 * Per LUN, by its key, never by its position: a LUN the dead daemon served
 * ("serving" or "removing" in the state file) that the new settings serve
 * with the same geometry is taken over at the disk slot the pinned maps
 * hold it in; a LUN half added ("adding") is rolled back (its device
 * removed) and, if the new settings serve it, added again; a "removing"
 * LUN the new settings drop is removed (the reload completes).  A LUN that
 * served and is missing from, or different in, the new settings refuses
 * the start (its queued guest I/O would be lost): the dead daemon's own
 * settings recover it, or `blkxlate down` discards it.
 */
#ifndef BLKXLATE_DAEMON_RECOVER_H
#define BLKXLATE_DAEMON_RECOVER_H

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"
#include "dataplane/ublk.h"
#include "pins/maps.h"
#include "plan/plan.h"

struct recover {
	bool recovering; /* take devices over (maps holds the open pins) */
	int dead_pid;	 /* the daemon that left them */
	int *ublk_ids;	 /* per plan disk: the dead daemon's device, or -1 */
	uint32_t *slots; /* per plan disk: its disk slot in the maps */
};

/*
 * Decide and do what the leftovers need, before anything is served: on
 * return (0) every device of the instance but the ones to take over is
 * gone, and the plan's disks are placed at rec->slots.  insist
 * (--recover) refuses anything but recovering.  0 or -errno with err
 * filled.  The caller holds the instance lock.
 */
int recover_leftovers(const char *instance, bool insist, struct ublk_ctrl *ctrl,
		      struct plan *plan, struct maps *maps, struct recover *rec,
		      struct error_obj *err);
void recover_fini(struct recover *rec);

#endif /* BLKXLATE_DAEMON_RECOVER_H */
