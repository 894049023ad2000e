/* SPDX-License-Identifier: MIT */
/* targets: what `stats` and `trace` show -- an instance's LUNs and their
 * members, named from the pinned maps and the state file. */
#ifndef BLKXLATE_CLI_TARGETS_H
#define BLKXLATE_CLI_TARGETS_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "pins/maps.h"

#define TARGETS_MAX_FILTERS 16 /* --lun options */

/* A LUN (index disk) or a member (index nr_disks + member index). */
struct target_name {
	char label[80];	 /* "SCSI <guid> 0" or "  member 1" */
	char device[64]; /* /dev/ublkb0, /dev/nvme0n1 */
	uint32_t disk;
	uint32_t mi; /* a member's index in members and nvme_stats */
	bool member;
};

/* Set by SIGINT/SIGTERM once targets_catch_signals() ran. */
extern volatile sig_atomic_t targets_stop;
void targets_catch_signals(void);
double targets_now_s(void);
/* --lun CTRL:LOC[:CHANNEL] -> disk index through the luns map (an error
 * shown). */
int targets_parse_lun(const struct maps *m, const char *arg, uint32_t *disk);
/* Names of every target (LUNs, then their members) from the maps. */
int targets_load_names(const struct maps *m, uint32_t nr_disks,
		       uint32_t nr_members, struct target_name *names);
/* The LUNs' devices, from the state file. */
void targets_lun_devices(uint32_t nr_disks, struct target_name *names,
			 const char *instance);
/* Is disk among the nf filters (none: every disk)? */
bool targets_wanted(const uint32_t *filter, int nf, uint32_t disk);
/* The disk and member slots of the instance's maps. */
int targets_instance_size(const struct maps *m, uint32_t *nd, uint32_t *nm);

#endif /* BLKXLATE_CLI_TARGETS_H */
