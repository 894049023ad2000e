// SPDX-License-Identifier: MIT
/*
 * reload_plan: as OpenHCL does it, existing LUNs must not change (a striped
 * one never can: its layout is the guest's data) and controllers are
 * neither added nor removed.  Disk and member indices of kept LUNs never
 * move; added LUNs take free slots in the maps.
 */
#include "daemon/reload_plan.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int reload_change_init(struct reload_change *c, size_t new_disks,
		       size_t cur_luns)
{
	size_t n = new_disks ? new_disks : 1;

	memset(c, 0, sizeof(*c));
	c->slot = calloc(n, sizeof(*c->slot));
	c->is_new = calloc(n, sizeof(*c->is_new));
	c->added = calloc(n, sizeof(*c->added));
	c->removed = calloc(cur_luns ? cur_luns : 1, sizeof(*c->removed));
	if (!c->slot || !c->is_new || !c->added || !c->removed) {
		reload_change_fini(c);
		return -ENOMEM;
	}
	return 0;
}

void reload_change_fini(struct reload_change *c)
{
	free(c->slot);
	free(c->is_new);
	free(c->added);
	free(c->removed);
	memset(c, 0, sizeof(*c));
}

struct lun *reload_find_lun(const struct serving *sv,
			    const struct blkx_lun_key *k)
{
	for (size_t i = 0; i < sv->nr_luns; i++)
		if (sv->luns[i] &&
		    !memcmp(&sv->luns[i]->pd->key, k, sizeof(*k)))
			return sv->luns[i];
	return NULL;
}

static bool str_eq(const char *a, const char *b)
{
	return !strcmp(a ? a : "", b ? b : "");
}

/* Would the guest see any difference? (indices aside) */
bool reload_lun_same(const struct plan_disk *a, const struct plan_disk *b)
{
	struct blkx_disk ga = a->geo, gb = b->geo;

	ga.first_member = gb.first_member = 0;
	if (memcmp(&ga, &gb, sizeof(ga)) || a->nr_members != b->nr_members ||
	    a->size_bytes != b->size_bytes || a->lbs != b->lbs ||
	    a->pbs != b->pbs || a->max_io_bytes != b->max_io_bytes ||
	    a->fua != b->fua || a->write_cache != b->write_cache ||
	    a->discard != b->discard || a->read_only != b->read_only ||
	    strcmp(a->vendor_id, b->vendor_id) ||
	    strcmp(a->product_id, b->product_id) ||
	    strcmp(a->revision, b->revision) ||
	    strcmp(a->device_id, b->device_id) ||
	    !str_eq(a->lun->serial_number, b->lun->serial_number) ||
	    !str_eq(a->lun->model_number, b->lun->model_number))
		return false;
	for (size_t j = 0; j < a->nr_members; j++)
		if (strcmp(a->members[j].dev.dev_path,
			   b->members[j].dev.dev_path) ||
		    a->members[j].m.offset_sectors !=
			    b->members[j].m.offset_sectors)
			return false;
	return true;
}

/* Same controllers, each with the same protocol. */
int reload_check_controllers(const struct settings *cur,
			     const struct settings *nw, struct error_obj *err)
{
	for (int pass = 0; pass < 2; pass++) {
		const struct settings *a = pass ? nw : cur;
		const struct settings *b = pass ? cur : nw;

		for (size_t i = 0; i < a->nr_controllers; i++) {
			const struct settings_controller *c =
				&a->controllers[i];
			bool found = false;

			for (size_t j = 0; j < b->nr_controllers; j++)
				if (guid_equal(
					    &c->instance_id,
					    &b->controllers[j].instance_id) &&
				    c->protocol == b->controllers[j].protocol)
					found = true;
			if (!found) {
				error_set(
					err,
					"StorageCannotAddRemoveControllerAtRuntime",
					pass ? c->path
					     : "dynamic.storage_controllers",
					"controller %s (%s) would be %s; controllers cannot be added, removed or change protocol while serving",
					c->instance_id_str,
					settings_protocol_name(c->protocol),
					pass ? "added" : "removed");
				return -EINVAL;
			}
		}
	}
	return 0;
}

/* The plan's LUNs that exist already must be unchanged. */
int reload_check_kept(const struct serving *sv, const struct plan *np,
		      struct error_obj *err)
{
	for (size_t i = 0; i < np->nr_disks; i++) {
		const struct plan_disk *pd = &np->disks[i];
		struct lun *l = reload_find_lun(sv, &pd->key);

		if (!l || reload_lun_same(l->pd, pd))
			continue;
		if (l->pd->lun->striped || pd->lun->striped)
			error_set(
				err,
				"StripedStorageCannotChangeControllerAtRuntime",
				pd->lun->path,
				"LUN %u of %s is striped and would change; a striped LUN cannot change while served (its layout is the guest's data)",
				pd->key.location, pd->key.controller);
		else
			error_set(
				err, "StorageCannotChangeLunAtRuntime",
				pd->lun->path,
				"LUN %u of %s would change; remove it in one reload and add it back in another",
				pd->key.location, pd->key.controller);
		return -EINVAL;
	}
	return 0;
}

/* Which current LUNs the new plan drops. */
void reload_find_removed(const struct serving *sv, const struct plan *np,
			 struct reload_change *c)
{
	for (size_t i = 0; i < sv->nr_luns; i++) {
		const struct blkx_lun_key *k = &sv->luns[i]->pd->key;

		c->removed[i] =
			!plan_find(np, k->controller, k->location, k->channel);
		c->nr_removed += c->removed[i];
	}
}

/* A free run of n slots in used[0..cap), or -1. */
long reload_find_free(const bool *used, uint32_t cap, size_t n)
{
	for (uint32_t i = 0; i + n <= cap; i++) {
		size_t k = 0;

		while (k < n && !used[i + k])
			k++;
		if (k == n)
			return i;
		i += (uint32_t)k;
	}
	return -1;
}

/* Give every disk of np its slots: kept LUNs their own, added ones free
 * slots (taken here; release() gives them back). */
int reload_assign_slots(struct serving *sv, struct plan *np,
			struct reload_change *c, struct error_obj *err)
{
	for (size_t i = 0; i < np->nr_disks; i++) {
		struct plan_disk *pd = &np->disks[i];
		struct lun *l = reload_find_lun(sv, &pd->key);
		long di, mi;

		if (l) {
			di = l->ld.disk_index;
			mi = l->pd->geo.first_member;
		} else {
			di = reload_find_free(sv->disk_used, sv->slots.disks,
					      1);
			mi = reload_find_free(sv->member_used,
					      sv->slots.members,
					      pd->nr_members);
			if (di < 0 || mi < 0) {
				error_set(
					err, "StorageTooManyDisks",
					pd->lun->path,
					"the running instance has room for %u disks and %u members in all; restart the daemon to serve more",
					sv->slots.disks, sv->slots.members);
				return -E2BIG;
			}
			sv->disk_used[di] = true;
			for (size_t j = 0; j < pd->nr_members; j++)
				sv->member_used[mi + (long)j] = true;
			c->is_new[i] = true;
			c->nr_added++;
		}
		c->slot[i] = (uint32_t)di;
		plan_place_disk(pd, (uint32_t)di, (uint32_t)mi);
	}
	return 0;
}

void reload_release_slots(struct serving *sv, const struct plan_disk *pd,
			  uint32_t di)
{
	sv->disk_used[di] = false;
	for (size_t j = 0; j < pd->nr_members; j++)
		sv->member_used[pd->geo.first_member + j] = false;
}
