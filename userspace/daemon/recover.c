// SPDX-License-Identifier: MIT
#include "daemon/recover.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "daemon/daemon.h"
#include "daemon/leftover.h"
#include "daemon/state.h"

/* The pinned maps hold what this plan would program (same order). */
static int maps_match_plan(const struct maps *m, const struct plan *p)
{
	struct blkx_meta meta;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(m->meta_fd, &zero, &meta) ||
	    meta.nr_disks != p->nr_disks || meta.nr_members != p->nr_members)
		return -ESTALE;
	for (size_t i = 0; i < p->nr_disks; i++) {
		const struct plan_disk *pd = &p->disks[i];
		struct blkx_disk geo;
		__u32 di = (__u32)i;

		if (bpf_map_lookup_elem(m->disks_fd, &di, &geo) ||
		    memcmp(&geo, &pd->geo, sizeof(geo)))
			return -ESTALE;
		for (size_t j = 0; j < pd->nr_members; j++) {
			struct blkx_member mem;
			__u32 mi = pd->geo.first_member + (__u32)j;

			if (bpf_map_lookup_elem(m->members_fd, &mi, &mem) ||
			    memcmp(&mem, &pd->members[j].m, sizeof(mem)))
				return -ESTALE;
		}
	}
	return 0;
}

/* The dead daemon's device for each disk of the plan, or -ESTALE when
 * its LUNs differ from the plan's. */
static int match_leftover(struct ublk_ctrl *ctrl, const struct plan *plan,
			  const struct state *st, struct recover *rec)
{
	if (st->nr_disks != plan->nr_disks)
		return -ESTALE;
	rec->ublk_ids =
		calloc(plan->nr_disks ? plan->nr_disks : 1, sizeof(int));
	if (!rec->ublk_ids)
		return -ENOMEM;
	for (size_t i = 0; i < plan->nr_disks; i++) {
		const struct blkx_lun_key *k = &plan->disks[i].key;
		const struct state_disk *sd = &st->disks[i];

		if (strcmp(sd->controller, k->controller) ||
		    sd->location != k->location || sd->channel != k->channel ||
		    !leftover_recoverable(ctrl, sd->ublk_id))
			return -ESTALE;
		rec->ublk_ids[i] = sd->ublk_id;
	}
	return 0;
}

static int leftovers(const char *instance, bool insist, struct ublk_ctrl *ctrl,
		     const struct plan *plan, struct maps *maps,
		     struct recover *rec, const struct state *st,
		     struct error_obj *err)
{
	bool any_recoverable = false;
	int ret;

	if (state_pid_alive(st->pid)) {
		log_error("instance '%s' is running (pid %d)", instance,
			  st->pid);
		error_set(err, DAEMON_ERR_LEFTOVERS, "",
			  "leftovers of an earlier daemon: %s (see the log)",
			  strerror(EBUSY));
		return -EBUSY;
	}
	for (size_t i = 0; i < st->nr_disks; i++)
		any_recoverable =
			any_recoverable ||
			leftover_recoverable(ctrl, st->disks[i].ublk_id);
	ret = st->recovery && any_recoverable
		      ? match_leftover(ctrl, plan, st, rec)
		      : -ESTALE;
	if (!ret && maps_open(instance, maps, NULL, 0) == 0 &&
	    maps_match_plan(maps, plan) == 0) {
		rec->recovering = true;
		log_info(
			"recovering %zu disk(s) of pid %d, which did not stop cleanly",
			st->nr_disks, st->pid);
		return 0;
	}
	maps_close(maps);
	recover_fini(rec);
	if (any_recoverable) {
		log_error(
			"instance '%s': pid %d died leaving recoverable devices for other settings (%s); start with those settings to recover them, or discard them with 'blkxlate down --instance %s'",
			instance, st->pid, st->config, instance);
		ret = -EEXIST;
	} else if (insist) {
		log_error(
			"--recover: the devices of pid %d cannot be recovered (not made for recovery, or gone)",
			st->pid);
		ret = -ESTALE;
	} else {
		ret = leftover_discard(instance, st, ctrl);
		log_warn(
			"discarded what pid %d left (%d device(s), pins, links)",
			st->pid, ret);
		return 0;
	}
	error_set(err, DAEMON_ERR_LEFTOVERS, "",
		  "leftovers of an earlier daemon: %s (see the log)",
		  strerror(-ret));
	return ret;
}

int recover_leftovers(const char *instance, bool insist, struct ublk_ctrl *ctrl,
		      const struct plan *plan, struct maps *maps,
		      struct recover *rec, struct error_obj *err)
{
	struct state st;
	int ret;

	memset(rec, 0, sizeof(*rec));
	ret = state_read(instance, &st);
	if (ret == -ENOENT && !insist)
		return 0;
	if (ret == -ENOENT)
		log_error(
			"--recover: instance '%s' left nothing to recover (no state file)",
			instance);
	if (ret) {
		error_set(err, DAEMON_ERR_LEFTOVERS, "",
			  "leftovers of an earlier daemon: %s (see the log)",
			  strerror(-ret));
		return ret;
	}
	ret = leftovers(instance, insist, ctrl, plan, maps, rec, &st, err);
	state_fini(&st);
	return ret;
}

void recover_fini(struct recover *rec)
{
	free(rec->ublk_ids);
	rec->ublk_ids = NULL;
	rec->recovering = false;
}
