/* SPDX-License-Identifier: MIT */
/*
 * leftover: what a daemon that did not stop cleanly (kill -9, crash) left
 * behind, as its state file tells: ublk devices (recoverable when they were
 * made with UBLK_F_USER_RECOVERY), pinned maps and links.  The next daemon
 * recovers them or `blkxlate down` discards them.
 */
#ifndef BLKXLATE_LEFTOVER_H
#define BLKXLATE_LEFTOVER_H

#include <stdbool.h>

#include "daemon/state.h"
#include "dataplane/ublk.h"

/* Is device id waiting for a new daemon (QUIESCED/FAIL_IO, recoverable)? */
bool leftover_recoverable(struct ublk_ctrl *ctrl, int id);
/*
 * Discard everything st (the state file of a dead daemon) names: stop and
 * delete the devices (ctrl may be NULL: none), remove the links, the pinned
 * maps and the state file.  Returns how many devices were deleted.
 */
int leftover_discard(const char *instance, const struct state *st,
		     struct ublk_ctrl *ctrl);

#endif /* BLKXLATE_LEFTOVER_H */
