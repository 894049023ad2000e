/* SPDX-License-Identifier: MIT */
/*
 * leftover: what a daemon that did not stop cleanly (kill -9, crash) left
 * behind, as its state file tells: ublk devices (recoverable when they were
 * made with UBLK_F_USER_RECOVERY), pinned maps and links.  The next daemon
 * recovers them or `blkxlate down` discards them.
 */
#ifndef BLKXLATE_LEFTOVER_H
#define BLKXLATE_LEFTOVER_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dataplane/ublk.h"

struct leftover_disk {
	char controller[40];
	uint32_t location;
	uint32_t channel;
	int ublk_id; /* -1: none was added */
	char link[PATH_MAX];
};

struct leftover {
	int pid;
	bool alive;    /* that daemon still runs (not a leftover then) */
	bool recovery; /* its devices were made for recovery */
	char config[PATH_MAX];
	size_t nr_disks;
	struct leftover_disk *disks;
};

/* Read the instance's state file.  -ENOENT when there is none. */
int leftover_read(const char *instance, struct leftover *lo);
void leftover_fini(struct leftover *lo);
/* Is device id waiting for a new daemon (QUIESCED/FAIL_IO, recoverable)? */
bool leftover_recoverable(struct ublk_ctrl *ctrl, int id);
/*
 * Discard everything: stop and delete the devices, remove the links, the
 * pinned maps and the state file.  Returns how many devices were deleted.
 */
int leftover_discard(const char *instance, const struct leftover *lo,
		     struct ublk_ctrl *ctrl);

#endif /* BLKXLATE_LEFTOVER_H */
