/* SPDX-License-Identifier: MIT */
/*
 * leftover: what a daemon that did not stop cleanly (kill -9, crash) left
 * behind: ublk devices (recoverable when they were made with
 * UBLK_F_USER_RECOVERY), pinned maps, links and its state file.  A device
 * is the instance's when it carries the instance's mark (instance.h), so
 * they are found whether or not the state file names them, and a device
 * that is not the instance's is never touched.  The caller holds the
 * instance lock: no daemon of the instance runs.
 */
#ifndef BLKXLATE_LEFTOVER_H
#define BLKXLATE_LEFTOVER_H

#include <stdbool.h>
#include <stddef.h>

#include "daemon/state.h"
#include "dataplane/ublk.h"

/* Is device id waiting for a new daemon (QUIESCED/FAIL_IO, recoverable)? */
bool leftover_recoverable(struct ublk_ctrl *ctrl, int id);
/* Does device id carry the instance's mark? */
bool leftover_ours(struct ublk_ctrl *ctrl, const char *instance, int id);

/*
 * Stop and delete every device of the instance but those in keep[0..nkeep),
 * and remove the links that name them.  Their names ("ublkb3 ublkb4") are
 * appended to list.  Returns how many were deleted.
 */
int leftover_remove_devices(const char *instance, struct ublk_ctrl *ctrl,
			    const int *keep, size_t nkeep, char *list,
			    size_t len);
/*
 * Discard everything the instance has: its devices (ctrl may be NULL:
 * none), the links st names (st may be NULL: no readable state file), the
 * pinned maps and the state file.  Returns how many devices were deleted.
 */
int leftover_discard(const char *instance, const struct state *st,
		     struct ublk_ctrl *ctrl, char *list, size_t len);

#endif /* BLKXLATE_LEFTOVER_H */
