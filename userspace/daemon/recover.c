// SPDX-License-Identifier: MIT
#include "daemon/recover.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "daemon/daemon.h"
#include "daemon/instance.h"
#include "daemon/leftover.h"
#include "daemon/reload_plan.h"
#include "daemon/state.h"
#include "pins/program.h"

static int refuse(struct error_obj *err, int ret, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int refuse(struct error_obj *err, int ret, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_error("%s", msg);
	error_set(err, DAEMON_ERR_LEFTOVERS, "", "%s", msg);
	return ret;
}

/* The pinned disk at slot di is pd but for where its members sit (then
 * *first_member says where) and which failed: a member the dead daemon
 * marked failed stays so in pd. */
static bool pinned_matches(const struct maps *m, struct plan_disk *pd,
			   uint32_t di, uint32_t *first_member)
{
	struct blkx_disk geo, want = pd->geo;

	if (bpf_map_lookup_elem(m->disks_fd, &di, &geo))
		return false;
	want.first_member = geo.first_member;
	if (memcmp(&geo, &want, sizeof(geo)))
		return false;
	for (size_t j = 0; j < pd->nr_members; j++) {
		struct blkx_member mem, wm = pd->members[j].m;
		__u32 mi = geo.first_member + (__u32)j;

		wm.disk = di;
		wm.index = (__u32)j;
		if (bpf_map_lookup_elem(m->members_fd, &mi, &mem))
			return false;
		wm.flags = mem.flags;
		if (memcmp(&mem, &wm, sizeof(mem)))
			return false;
	}
	for (size_t j = 0; j < pd->nr_members; j++) {
		struct blkx_member mem;
		__u32 mi = geo.first_member + (__u32)j;

		if (!bpf_map_lookup_elem(m->members_fd, &mi, &mem))
			pd->members[j].m.flags |=
				mem.flags & BLKX_MEMBER_FAILED;
	}
	*first_member = geo.first_member;
	return true;
}

/* Mark n slots from first used, if they are in range and free. */
static bool take(bool *used, uint32_t cap, uint32_t first, size_t n)
{
	if (first > cap || n > cap - first)
		return false;
	for (size_t k = 0; k < n; k++)
		if (used[first + k])
			return false;
	for (size_t k = 0; k < n; k++)
		used[first + k] = true;
	return true;
}

/* Place the recovered disks where the pins hold them, the others in free
 * slots.  first[i] is where disk i's members sit when it is recovered. */
static int place(const struct maps *m, struct plan *plan, struct recover *rec,
		 const uint32_t *first, struct error_obj *err)
{
	struct maps_slots s;
	bool *ud = NULL, *um = NULL;
	int ret = 0;

	if (maps_slots_get(m, &s) || !s.disks || !(ud = calloc(s.disks, 1)) ||
	    !(um = calloc(s.members, 1))) {
		free(ud);
		return refuse(err, -EIO, "cannot read the pinned meta map");
	}
	for (size_t i = 0; !ret && i < plan->nr_disks; i++) {
		struct plan_disk *pd = &plan->disks[i];

		if (rec->ublk_ids[i] < 0)
			continue;
		if (!take(ud, s.disks, rec->slots[i], 1) ||
		    !take(um, s.members, first[i], pd->nr_members))
			ret = refuse(
				err, -EEXIST,
				"the state file and the pinned maps disagree on disk slot %u",
				rec->slots[i]);
		plan_place_disk(pd, rec->slots[i], first[i]);
	}
	/* LUN entries but the recovered ones go (a half-done change's);
	 * the added ones get theirs once they serve */
	if (!ret)
		program_lun_prune(m, ud, s.disks);
	for (size_t i = 0; !ret && i < plan->nr_disks; i++) {
		struct plan_disk *pd = &plan->disks[i];
		long di, mi;

		if (rec->ublk_ids[i] >= 0)
			continue;
		di = reload_find_free(ud, s.disks, 1);
		mi = reload_find_free(um, s.members, pd->nr_members);
		if (di < 0 || mi < 0)
			ret = refuse(
				err, -E2BIG,
				"the dead daemon's maps have no room for LUN %u of %s; start with its settings, or discard its devices with 'blkxlate down'",
				pd->key.location, pd->key.controller);
		else {
			take(ud, s.disks, (uint32_t)di, 1);
			take(um, s.members, (uint32_t)mi, pd->nr_members);
			rec->slots[i] = (uint32_t)di;
			plan_place_disk(pd, (uint32_t)di, (uint32_t)mi);
		}
	}
	free(ud);
	free(um);
	return ret;
}

/*
 * Which of the dead daemon's LUNs this plan takes over: 0 (some), -ESTALE
 * (none can be), or -EEXIST with err when one that served would be lost.
 */
static int match(const char *instance, struct ublk_ctrl *ctrl,
		 struct plan *plan, const struct state *st,
		 const struct maps *m, struct recover *rec,
		 struct error_obj *err)
{
	uint32_t *first = calloc(plan->nr_disks + 1, sizeof(*first));
	size_t found = 0;
	int ret = 0;

	if (!first)
		return -ENOMEM;
	for (size_t k = 0; !ret && k < st->nr_disks; k++) {
		const struct state_disk *sd = &st->disks[k];
		const struct plan_disk *found_pd;
		struct plan_disk *pd;
		size_t i;

		/* half added: rolled back; gone: nothing waits on it */
		if (sd->phase == STATE_ADDING ||
		    !leftover_ours(ctrl, instance, sd->ublk_id) ||
		    !leftover_recoverable(ctrl, sd->ublk_id))
			continue;
		found_pd = plan_find(plan, sd->controller, sd->location,
				     sd->channel);
		/* plan is ours to change: found_pd is one of its disks */
		pd = found_pd ? &plan->disks[found_pd - plan->disks] : NULL;
		if (!pd && sd->phase == STATE_REMOVING)
			continue; /* the reload that removed it completes */
		i = pd ? (size_t)(pd - plan->disks) : 0;
		if (!pd || !pinned_matches(m, pd, sd->disk, &first[i])) {
			ret = refuse(
				err, -EEXIST,
				"pid %d died serving LUN %u of %s (/dev/ublkb%d, waiting for recovery), which these settings %s; start with the settings it served (%s) to recover it, or discard its devices with 'blkxlate down --instance %s'",
				st->pid, sd->location, sd->controller,
				sd->ublk_id, pd ? "change" : "do not serve",
				st->config, instance);
			break;
		}
		rec->ublk_ids[i] = sd->ublk_id;
		rec->slots[i] = sd->disk;
		found++;
	}
	if (!ret && !found)
		ret = -ESTALE;
	if (!ret)
		ret = place(m, plan, rec, first, err);
	free(first);
	return ret;
}

static int init_rec(struct recover *rec, size_t n)
{
	memset(rec, 0, sizeof(*rec));
	rec->ublk_ids = calloc(n + 1, sizeof(*rec->ublk_ids));
	rec->slots = calloc(n + 1, sizeof(*rec->slots));
	if (!rec->ublk_ids || !rec->slots)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		rec->ublk_ids[i] = -1;
		rec->slots[i] = (uint32_t)i;
	}
	return 0;
}

/* Take over what match() chose; every other device of the instance goes. */
static void take_over(const char *instance, struct ublk_ctrl *ctrl,
		      const struct plan *plan, struct recover *rec)
{
	char list[1024] = "";
	size_t n = 0;
	int removed;

	rec->recovering = true;
	for (size_t i = 0; i < plan->nr_disks; i++)
		n += rec->ublk_ids[i] >= 0;
	removed = leftover_remove_devices(instance, ctrl, rec->ublk_ids,
					  plan->nr_disks, list, sizeof(list));
	log_info(
		"recovering %zu disk(s) of pid %d, which did not stop cleanly%s%s",
		n, rec->dead_pid,
		removed ? "; removed its other devices: " : "", list);
}

static int leftovers(const char *instance, bool insist, struct ublk_ctrl *ctrl,
		     struct plan *plan, struct maps *maps, struct recover *rec,
		     const struct state *st, struct error_obj *err)
{
	char list[1024] = "";
	int ret = -ESTALE, n;

	if (st && st->recovery && maps_open(instance, maps, NULL, 0) == 0) {
		ret = match(instance, ctrl, plan, st, maps, rec, err);
		if (!ret) {
			take_over(instance, ctrl, plan, rec);
			return 0;
		}
		maps_close(maps);
		if (ret != -ESTALE)
			return ret;
	}
	if (insist)
		return refuse(
			err, -ESTALE,
			"--recover: what pid %d left cannot be recovered (not made for recovery, or gone)",
			rec->dead_pid);
	for (size_t i = 0; i < plan->nr_disks; i++)
		rec->slots[i] = (uint32_t)i;
	n = leftover_discard(instance, st, ctrl, list, sizeof(list));
	log_warn(
		"discarded what pid %d left: %d device(s)%s%s, its pins and links",
		rec->dead_pid, n, n ? ": " : "", list);
	return 0;
}

int recover_leftovers(const char *instance, bool insist, struct ublk_ctrl *ctrl,
		      struct plan *plan, struct maps *maps, struct recover *rec,
		      struct error_obj *err)
{
	int ids[INSTANCE_MAX_DEVICES], nr_devs, ret;
	struct state st;
	bool pins;

	if (init_rec(rec, plan->nr_disks))
		return refuse(err, -ENOMEM, "out of memory");
	ret = state_read(instance, &st);
	if (ret && ret != -ENOENT && ret != -EINVAL)
		return refuse(err, ret, "cannot read the state file: %s",
			      strerror(-ret));
	if (ret == -EINVAL)
		log_warn(
			"the state file of instance '%s' cannot be parsed (a crash while it was written?); what the instance left is found by its devices' mark",
			instance);
	nr_devs = instance_devices(ctrl, instance, ids, INSTANCE_MAX_DEVICES);
	pins = maps_open(instance, maps, NULL, 0) == 0;
	maps_close(maps);
	if (ret && nr_devs <= 0 && !pins) {
		if (ret == -EINVAL)
			state_remove(instance);
		return insist ? refuse(err, -ENOENT,
				       "--recover: instance '%s' left nothing to recover",
				       instance)
			      : 0;
	}
	if (ret == -ENOENT && nr_devs <= 0 && pins)
		return refuse(
			err, -EEXIST,
			"instance '%s' has pinned maps but no daemon state: 'blkxlate load' made them; 'blkxlate unload --instance %s' first",
			instance, instance);
	rec->dead_pid = ret ? 0 : st.pid;
	ret = leftovers(instance, insist, ctrl, plan, maps, rec,
			ret ? NULL : &st, err);
	state_fini(&st);
	return ret;
}

void recover_fini(struct recover *rec)
{
	free(rec->ublk_ids);
	free(rec->slots);
	memset(rec, 0, sizeof(*rec));
}
