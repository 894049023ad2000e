// SPDX-License-Identifier: MIT
/*
 * reload: live reconfiguration, in two phases as OpenHCL does it.
 * Phase 1 acquires everything the added LUNs need (members held
 * exclusively, ublk devices added, queues fetching) without making
 * anything visible; any failure there undoes phase 1 and changes nothing.
 * Phase 2 starts the added LUNs and stops and deletes the removed ones.
 * Existing LUNs must not change (a striped one never can: its layout is
 * the guest's data), and controllers are neither added nor removed.
 * Disk and member indices of kept LUNs never move; added LUNs take free
 * slots in the maps, whose counters are zeroed first.
 */
#include <bpf/bpf.h>
#include <errno.h>
#include <stdio.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/daemon_priv.h"
#include "base/log.h"

int daemon_check_config_file(const char *path, struct error_obj *err)
{
	struct stat st;

	if (stat(path, &st))
		return 0; /* parsing reports the missing file */
	if ((st.st_mode & S_IWOTH) ||
	    ((st.st_mode & S_IWGRP) && st.st_gid != 0) ||
	    (st.st_uid != geteuid() && st.st_uid != 0)) {
		error_set(
			err, "InsecureConfigFile", "",
			"%s (mode %04o, owner uid %u, gid %u) can be written by users other than root; blkxlate runs as root and will not read it (chmod go-w, chown root)",
			path, (unsigned int)(st.st_mode & 07777),
			(unsigned int)st.st_uid, (unsigned int)st.st_gid);
		return -EPERM;
	}
	return 0;
}

void daemon_reset_counters(struct daemon *d, uint32_t idx,
			   const struct plan_disk *pd)
{
	struct blkx_hist zero_hist = {0};

	if (d->lun_stats)
		memset((struct blkx_io_stats *)d->lun_stats + idx, 0,
		       sizeof(struct blkx_io_stats));
	if (d->queue_stats)
		memset((struct blkx_queue_stats *)d->queue_stats +
			       (size_t)idx * BLKX_MAX_QUEUES,
		       0, BLKX_MAX_QUEUES * sizeof(struct blkx_queue_stats));
	for (size_t j = 0; j < pd->nr_members; j++)
		if (d->member_stats)
			memset((struct blkx_io_stats *)d->member_stats +
				       pd->geo.first_member + j,
			       0, sizeof(struct blkx_io_stats));
	for (__u32 op = 0; op < BLKX_NR_TOPS; op++) {
		__u32 k = idx * BLKX_NR_TOPS + op;

		bpf_map_update_elem(d->maps.io_hist_fd, &k, &zero_hist,
				    BPF_ANY);
		for (size_t j = 0; j < pd->nr_members; j++) {
			k = (d->slots.disks + pd->geo.first_member + (__u32)j) *
				    BLKX_NR_TOPS +
			    op;
			bpf_map_update_elem(d->maps.io_hist_fd, &k, &zero_hist,
					    BPF_ANY);
		}
	}
}

static struct lun *find_lun(struct daemon *d, const struct blkx_lun_key *k)
{
	for (size_t i = 0; i < d->nr_luns; i++)
		if (d->luns[i] && !memcmp(&d->luns[i]->pd->key, k, sizeof(*k)))
			return d->luns[i];
	return NULL;
}

static bool str_eq(const char *a, const char *b)
{
	return !strcmp(a ? a : "", b ? b : "");
}

/* Would the guest see any difference? (indices aside) */
static bool lun_same(const struct plan_disk *a, const struct plan_disk *b)
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
static int check_controllers(const struct settings *cur,
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
static int check_kept(struct daemon *d, const struct plan *np,
		      struct error_obj *err)
{
	for (size_t i = 0; i < np->nr_disks; i++) {
		const struct plan_disk *pd = &np->disks[i];
		struct lun *l = find_lun(d, &pd->key);

		if (!l || lun_same(l->pd, pd))
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

/* A free run of n slots in used[0..cap), or -1. */
static long find_free(const bool *used, uint32_t cap, size_t n)
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

struct change {
	uint32_t *slot;	    /* per new-plan disk: its disk index */
	bool *is_new;	    /* per new-plan disk: an added LUN */
	struct lun **added; /* per new-plan disk: the prepared LUN */
	bool *removed;	    /* per current LUN */
	size_t nr_added;
	size_t nr_removed;
};

/* Give every disk of np its slots: kept LUNs their own, added ones free
 * slots (taken here; release() gives them back). */
static int assign_slots(struct daemon *d, struct plan *np, struct change *c,
			struct error_obj *err)
{
	for (size_t i = 0; i < np->nr_disks; i++) {
		struct plan_disk *pd = &np->disks[i];
		struct lun *l = find_lun(d, &pd->key);
		long di, mi;

		if (l) {
			di = l->ld.disk_index;
			mi = l->pd->geo.first_member;
		} else {
			di = find_free(d->disk_used, d->slots.disks, 1);
			mi = find_free(d->member_used, d->slots.members,
				       pd->nr_members);
			if (di < 0 || mi < 0) {
				error_set(
					err, "StorageTooManyDisks",
					pd->lun->path,
					"the running instance has room for %u disks and %u members in all; restart the daemon to serve more",
					d->slots.disks, d->slots.members);
				return -E2BIG;
			}
			d->disk_used[di] = true;
			for (size_t j = 0; j < pd->nr_members; j++)
				d->member_used[mi + (long)j] = true;
			c->is_new[i] = true;
			c->nr_added++;
		}
		c->slot[i] = (uint32_t)di;
		pd->geo.first_member = (uint32_t)mi;
		for (size_t j = 0; j < pd->nr_members; j++) {
			pd->members[j].m.disk = (uint32_t)di;
			pd->members[j].m.index = (uint32_t)j;
		}
	}
	return 0;
}

static void release_slots(struct daemon *d, const struct plan_disk *pd,
			  uint32_t di)
{
	d->disk_used[di] = false;
	for (size_t j = 0; j < pd->nr_members; j++)
		d->member_used[pd->geo.first_member + j] = false;
}

static int program_disk(struct daemon *d, const struct plan_disk *pd,
			uint32_t di)
{
	for (size_t j = 0; j < pd->nr_members; j++) {
		__u32 mi = pd->geo.first_member + (__u32)j;

		if (bpf_map_update_elem(d->maps.members_fd, &mi,
					&pd->members[j].m, BPF_ANY))
			return -errno;
	}
	if (bpf_map_update_elem(d->maps.disks_fd, &di, &pd->geo, BPF_ANY))
		return -errno;
	daemon_reset_counters(d, di, pd);
	return 0;
}

/* Phase 1: acquire what every added LUN needs; nothing shows yet. */
static int acquire(struct daemon *d, struct plan *np, struct change *c,
		   struct error_obj *err)
{
	for (size_t i = 0; i < np->nr_disks; i++) {
		struct lun *l;
		int ret;

		if (!c->is_new[i])
			continue;
		l = calloc(1, sizeof(*l));
		if (!l)
			return -ENOMEM;
		c->added[i] = l;
		ret = program_disk(d, &np->disks[i], c->slot[i]);
		if (!ret)
			ret = lun_prepare(l, &d->env, &np->disks[i], c->slot[i],
					  -1);
		if (ret) {
			error_set(
				err, "StorageAttachDiskFailed",
				np->disks[i].lun->path,
				"cannot serve LUN %u of %s: %s (nothing was changed; see the log)",
				np->disks[i].key.location,
				np->disks[i].key.controller, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

/* Undo phase 1 (and an unfinished phase 2 start). */
static void release(struct daemon *d, struct plan *np, struct change *c)
{
	for (size_t i = 0; i < np->nr_disks; i++) {
		if (!c->is_new[i])
			continue;
		if (c->added[i]) {
			lun_down(c->added[i], &d->env);
			free(c->added[i]);
			c->added[i] = NULL;
		}
		release_slots(d, &np->disks[i], c->slot[i]);
	}
}

/* Phase 2: start the added, then stop the removed.  A start that fails
 * is undone with every other added LUN; the removed are untouched then. */
static int commit(struct daemon *d, struct plan *np, struct change *c,
		  struct error_obj *err)
{
	for (size_t i = 0; i < np->nr_disks; i++) {
		int ret;

		if (!c->is_new[i])
			continue;
		ret = lun_start(c->added[i], &d->env);
		if (ret) {
			error_set(
				err, "StorageAttachDiskFailed",
				np->disks[i].lun->path,
				"cannot start LUN %u of %s: %s (nothing was changed)",
				np->disks[i].key.location,
				np->disks[i].key.controller, strerror(-ret));
			return ret;
		}
	}
	for (size_t i = 0; i < np->nr_disks; i++) {
		struct blkx_lun lv = {.disk = c->slot[i],
				      .protocol = np->disks[i].geo.protocol};

		if (!c->is_new[i])
			continue;
		bpf_map_update_elem(d->maps.luns_fd, &np->disks[i].key, &lv,
				    BPF_ANY);
		daemon_trace_lun(d, c->added[i], true);
	}
	for (size_t i = 0; i < d->nr_luns; i++) {
		struct lun *l = d->luns[i];

		if (!c->removed[i])
			continue;
		bpf_map_delete_elem(d->maps.luns_fd, &l->pd->key);
		daemon_trace_lun(d, l, false);
		release_slots(d, l->pd, l->ld.disk_index);
		log_info("removing LUN %u of %s (%s)", l->pd->key.location,
			 l->pd->key.controller, l->bdev);
		lun_down(l, &d->env);
		free(l);
		d->luns[i] = NULL;
	}
	return 0;
}

static struct json_object *lun_json(const struct plan_disk *pd, const char *dev)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "controller",
			       json_object_new_string(pd->key.controller));
	json_object_object_add(o, "location",
			       json_object_new_int64(pd->key.location));
	json_object_object_add(o, "device", json_object_new_string(dev));
	return o;
}

/*
 * Switch to the new plan: LUNs in its order, the kept ones pointed at it.
 * The plan and settings structs are copied, their heap arrays are not, so
 * every pointer into them stays valid.
 */
static int adopt(struct daemon *d, struct settings *ns, struct plan *np,
		 struct change *c, struct json_object *res)
{
	struct lun **luns =
		calloc(np->nr_disks ? np->nr_disks : 1, sizeof(*luns));
	struct json_object *added = json_object_new_array();
	size_t kept = 0;

	if (!luns) {
		json_object_put(added);
		return -ENOMEM;
	}
	for (size_t i = 0; i < np->nr_disks; i++) {
		struct lun *l = c->is_new[i] ? c->added[i]
					     : find_lun(d, &np->disks[i].key);

		if (c->is_new[i])
			json_object_array_add(added,
					      lun_json(&np->disks[i], l->bdev));
		else
			kept++;
		l->pd = &np->disks[i];
		luns[i] = l;
	}
	free(d->luns);
	d->luns = luns;
	d->nr_luns = np->nr_disks;
	plan_fini(&d->plan);
	settings_fini(&d->s);
	d->plan = *np;
	d->s = *ns;
	memset(np, 0, sizeof(*np));
	memset(ns, 0, sizeof(*ns));
	json_object_object_add(res, "added", added);
	json_object_object_add(res, "kept",
			       json_object_new_int64((int64_t)kept));
	return 0;
}

static void update_meta(struct daemon *d)
{
	struct blkx_meta meta;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(d->maps.meta_fd, &zero, &meta))
		return;
	meta.nr_disks = (__u32)d->plan.nr_disks;
	meta.nr_members = (__u32)d->plan.nr_members;
	meta.generation++;
	bpf_map_update_elem(d->maps.meta_fd, &zero, &meta, BPF_ANY);
}

static void change_fini(struct change *c)
{
	free(c->slot);
	free(c->is_new);
	free(c->added);
	free(c->removed);
}

/* Which current LUNs the new plan drops. */
static void find_removed(struct daemon *d, const struct plan *np,
			 struct change *c, struct json_object *list)
{
	for (size_t i = 0; i < d->nr_luns; i++) {
		bool keep = false;

		for (size_t j = 0; j < np->nr_disks && !keep; j++)
			keep = !memcmp(&np->disks[j].key, &d->luns[i]->pd->key,
				       sizeof(np->disks[j].key));
		c->removed[i] = !keep;
		if (!keep) {
			json_object_array_add(list, lun_json(d->luns[i]->pd,
							     d->luns[i]->bdev));
			c->nr_removed++;
		}
	}
}

int daemon_reload(struct daemon *d, const char *path, struct error_obj *err,
		  struct json_object **result)
{
	struct settings ns = {0};
	struct plan np = {0};
	struct change c = {0};
	struct json_object *res = NULL, *removed = NULL;
	size_t n;
	int ret;

	ret = daemon_check_config_file(path, err);
	if (!ret)
		ret = settings_parse_file(path, &ns, err);
	if (!ret)
		ret = check_controllers(&d->s, &ns, err);
	/* members we already hold would be "busy": for the added LUNs that
	 * check is their exclusive open in phase 1 */
	if (!ret)
		ret = plan_build(&ns, &d->o->rc, PLAN_SKIP_BUSY_CHECK, &np,
				 err);
	if (!ret)
		ret = check_kept(d, &np, err);
	if (ret)
		goto out;
	n = np.nr_disks ? np.nr_disks : 1;
	c.slot = calloc(n, sizeof(*c.slot));
	c.is_new = calloc(n, sizeof(*c.is_new));
	c.added = calloc(n, sizeof(*c.added));
	c.removed = calloc(d->nr_luns ? d->nr_luns : 1, sizeof(*c.removed));
	res = json_object_new_object();
	removed = json_object_new_array();
	if (!c.slot || !c.is_new || !c.added || !c.removed || !res ||
	    !removed) {
		ret = -ENOMEM;
		goto out;
	}
	find_removed(d, &np, &c, removed);
	ret = assign_slots(d, &np, &c, err);
	if (!ret)
		ret = acquire(d, &np, &c, err);
	if (!ret)
		ret = commit(d, &np, &c, err);
	if (ret) {
		release(d, &np, &c);
		log_error("reload of %s refused: %s [%s]", path, err->message,
			  err->error_id);
		goto out;
	}
	ret = adopt(d, &ns, &np, &c, res);
	if (ret)
		goto out;
	json_object_object_add(res, "removed", removed);
	removed = NULL;
	snprintf(d->config, sizeof(d->config), "%s", path);
	update_meta(d);
	daemon_write_state(d);
	log_info("reloaded %s: %zu LUN(s) added, %zu removed", path, c.nr_added,
		 c.nr_removed);
	*result = res;
	res = NULL;
out:
	json_object_put(res);
	json_object_put(removed);
	change_fini(&c);
	plan_fini(&np);
	settings_fini(&ns);
	return ret;
}
