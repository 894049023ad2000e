/* SPDX-License-Identifier: MIT */
/*
 * recover: what a killed daemon of this instance left (its state file,
 * devices, pins, links) is taken over, refused or discarded before a new
 * daemon serves anything.
 */
#ifndef BLKXLATE_DAEMON_RECOVER_H
#define BLKXLATE_DAEMON_RECOVER_H

#include <stdbool.h>

#include "base/error.h"
#include "dataplane/ublk.h"
#include "pins/maps.h"
#include "plan/plan.h"

struct recover {
	bool recovering; /* take the devices over */
	int *ublk_ids;	 /* per plan disk: the dead daemon's device */
};

/*
 * Recover the leftovers when they were made for it and plan serves the same
 * LUNs with the same pinned geometry (then maps holds the open pins);
 * refuse (-EEXIST) when they could be recovered but the settings differ
 * (the guest's queued I/O would be lost); else discard them.  insist
 * (--recover) refuses anything but recovering.  A live daemon is -EBUSY.
 * 0 or -errno with err filled.
 */
int recover_leftovers(const char *instance, bool insist, struct ublk_ctrl *ctrl,
		      const struct plan *plan, struct maps *maps,
		      struct recover *rec, struct error_obj *err);
void recover_fini(struct recover *rec);

#endif /* BLKXLATE_DAEMON_RECOVER_H */
