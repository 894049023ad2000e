/* SPDX-License-Identifier: MIT */
/*
 * serving: what a daemon serves now -- the settings file and its model, the
 * plan, one LUN per plan disk, and which map slots they hold.  The daemon
 * owns it; reload changes it in place.
 */
#ifndef BLKXLATE_DAEMON_SERVING_H
#define BLKXLATE_DAEMON_SERVING_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/settings.h"
#include "daemon/lun.h"
#include "pins/maps.h"
#include "plan/plan.h"

struct serving {
	char config[PATH_MAX]; /* the settings file now served */
	struct settings s;
	struct plan plan;
	struct lun **luns; /* luns[i] serves plan.disks[i]; never moves */
	size_t nr_luns;
	/* a reload's LUNs being added (NULL where none): journaled too */
	struct lun **pending;
	size_t nr_pending;
	struct maps_slots slots; /* the room the maps were made with */
	bool *disk_used;	 /* [slots.disks] */
	bool *member_used;	 /* [slots.members] */
};

#endif /* BLKXLATE_DAEMON_SERVING_H */
