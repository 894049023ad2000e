/* SPDX-License-Identifier: MIT */
/*
 * reload_plan: the pure part of a live reload -- what the new plan keeps,
 * adds and removes, whether that is allowed, and which map slots the added
 * LUNs take.  No I/O: the unit tests drive it with plans of their own.
 */
#ifndef BLKXLATE_DAEMON_RELOAD_PLAN_H
#define BLKXLATE_DAEMON_RELOAD_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/serving.h"

/* The change from sv to a new plan np (arrays sized by reload_change_init). */
struct reload_change {
	uint32_t *slot;	    /* per new-plan disk: its disk index */
	bool *is_new;	    /* per new-plan disk: an added LUN */
	struct lun **added; /* per new-plan disk: the prepared LUN */
	bool *removed;	    /* per current LUN */
	size_t nr_added;
	size_t nr_removed;
};

int reload_change_init(struct reload_change *c, size_t new_disks,
		       size_t cur_luns);
void reload_change_fini(struct reload_change *c);

/* Same controllers, each with the same protocol; else
 * StorageCannotAddRemoveControllerAtRuntime naming the one. */
int reload_check_controllers(const struct settings *cur,
			     const struct settings *nw, struct error_obj *err);
/* Would the guest see any difference between a and b (indices aside)? */
bool reload_lun_same(const struct plan_disk *a, const struct plan_disk *b);
/* The LUN of sv with key k, or NULL. */
struct lun *reload_find_lun(const struct serving *sv,
			    const struct blkx_lun_key *k);
/* Every LUN of np that sv serves already must be unchanged. */
int reload_check_kept(const struct serving *sv, const struct plan *np,
		      struct error_obj *err);
/* Mark in c the LUNs of sv that np drops. */
void reload_find_removed(const struct serving *sv, const struct plan *np,
			 struct reload_change *c);
/* A free run of n slots in used[0..cap), or -1. */
long reload_find_free(const bool *used, uint32_t cap, size_t n);
/*
 * Give every disk of np its slots: kept LUNs their own, added ones free
 * slots, taken in sv's used arrays (reload_release_slots() gives them
 * back); np's member entries are renumbered to match.  -E2BIG with
 * StorageTooManyDisks when the maps have no room.
 */
int reload_assign_slots(struct serving *sv, struct plan *np,
			struct reload_change *c, struct error_obj *err);
void reload_release_slots(struct serving *sv, const struct plan_disk *pd,
			  uint32_t di);

#endif /* BLKXLATE_DAEMON_RELOAD_PLAN_H */
