// SPDX-License-Identifier: MIT
/*
 * reload: acquire, then commit; a failure undoes exactly what this reload
 * took (release()).  Added LUNs get their geometry and zeroed counters in
 * the maps before anything of theirs is visible, their LUN entries once
 * they serve; removed LUNs leave the luns map before their devices go.
 */
#include "base/json.h"
#include "daemon/reload.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "daemon/instance.h"
#include "daemon/reload_plan.h"
#include "pins/program.h"

/* An added LUN could not be served; nothing was changed. */
static int attach_failed(struct error_obj *err, const struct plan_disk *pd,
			 const char *what, int ret, const char *hint)
{
	error_set(err, "StorageAttachDiskFailed", pd->lun->path,
		  "cannot %s LUN %u of %s: %s (nothing was changed%s)", what,
		  pd->key.location, pd->key.controller, strerror(-ret), hint);
	return ret;
}

/* Journal the whole change before the kernel sees any of it: the added
 * LUNs (not yet holding anything) and the removed ones marked. */
static int journal(const struct reload_env *re, struct plan *np,
		   struct reload_change *c, struct error_obj *err)
{
	struct serving *sv = re->sv;
	int ret;

	for (size_t i = 0; i < np->nr_disks; i++) {
		if (!c->is_new[i])
			continue;
		c->added[i] = calloc(1, sizeof(struct lun));
		if (!c->added[i])
			return -ENOMEM;
		lun_init(c->added[i], re->lun_env, &np->disks[i], c->slot[i],
			 -1);
	}
	for (size_t i = 0; i < sv->nr_luns; i++)
		sv->luns[i]->removing = c->removed[i];
	sv->pending = c->added;
	sv->nr_pending = np->nr_disks;
	ret = re->journal ? re->journal(re->journal_ctx) : 0;
	if (ret)
		error_set(
			err, "StorageAttachDiskFailed", "",
			"cannot journal the change in the state file: %s (nothing was changed)",
			strerror(-ret));
	instance_crash_point("reload-journaled");
	return ret;
}

/* Phase 1: acquire what every added LUN needs; nothing shows yet. */
static int acquire(const struct reload_env *re, struct plan *np,
		   struct reload_change *c, struct error_obj *err)
{
	for (size_t i = 0; i < np->nr_disks; i++) {
		struct plan_disk *pd = &np->disks[i];
		int ret;

		if (!c->is_new[i])
			continue;
		ret = program_disk(re->maps, &re->sv->slots, pd, c->slot[i]);
		if (!ret)
			ret = lun_prepare(c->added[i], re->lun_env);
		if (ret)
			return attach_failed(err, pd, "serve", ret,
					     "; see the log");
	}
	return 0;
}

/* Undo phase 1 (and an unfinished phase 2). */
static void release(const struct reload_env *re, struct plan *np,
		    struct reload_change *c)
{
	struct serving *sv = re->sv;

	for (size_t i = 0; i < sv->nr_luns; i++)
		if (sv->luns[i])
			sv->luns[i]->removing = false;
	sv->pending = NULL;
	sv->nr_pending = 0;
	for (size_t i = 0; i < np->nr_disks; i++) {
		if (!c->is_new[i])
			continue;
		program_lun_remove(re->maps, &np->disks[i]);
		if (c->added[i]) {
			lun_down(c->added[i], re->lun_env);
			free(c->added[i]);
			c->added[i] = NULL;
		}
		reload_release_slots(re->sv, &np->disks[i], c->slot[i]);
	}
}

/* Phase 2: start the added, then stop the removed.  A start that fails
 * is undone with every other added LUN; the removed are untouched then. */
static int commit(const struct reload_env *re, struct plan *np,
		  struct reload_change *c, struct error_obj *err)
{
	struct serving *sv = re->sv;

	for (size_t i = 0; i < np->nr_disks; i++) {
		const struct plan_disk *pd = &np->disks[i];
		int ret;

		if (!c->is_new[i])
			continue;
		ret = lun_start(c->added[i], re->lun_env);
		if (ret) {
			return attach_failed(err, pd, "start", ret, "");
		}
		ret = program_lun_add(re->maps, pd, c->slot[i]);
		if (ret) {
			return attach_failed(
				err, pd, "register", ret,
				"; the pinned luns map refused it");
		}
	}
	for (size_t i = 0; re->tracing && i < np->nr_disks; i++)
		if (c->is_new[i] &&
		    program_trace_lun(re->maps, &sv->slots, &np->disks[i],
				      c->slot[i], c->added[i]->bdev, true))
			log_warn("LUN %u of %s is not traced",
				 np->disks[i].key.location,
				 np->disks[i].key.controller);
	for (size_t i = 0; i < sv->nr_luns; i++) {
		struct lun *l = sv->luns[i];

		if (!c->removed[i])
			continue;
		program_lun_remove(re->maps, l->pd);
		if (re->tracing)
			program_trace_lun(re->maps, &sv->slots, l->pd,
					  l->ld.disk_index, l->bdev, false);
		reload_release_slots(sv, l->pd, l->ld.disk_index);
		log_info("removing LUN %u of %s (%s)", l->pd->key.location,
			 l->pd->key.controller, l->bdev);
		lun_down(l, re->lun_env);
		free(l);
		sv->luns[i] = NULL;
		instance_crash_point("reload-removed");
	}
	return 0;
}

static struct json_object *lun_json(const struct plan_disk *pd, const char *dev)
{
	struct json_object *o = json_object_new_object();

	json_add_str(o, "controller", pd->key.controller);
	json_add_int(o, "location", pd->key.location);
	json_add_str(o, "device", dev);
	return o;
}

/* What changes, before anything does: {"removed": [...]} */
static struct json_object *removed_json(const struct serving *sv,
					const struct reload_change *c)
{
	struct json_object *list = json_object_new_array();

	for (size_t i = 0; list && i < sv->nr_luns; i++)
		if (c->removed[i])
			json_object_array_add(
				list,
				lun_json(sv->luns[i]->pd, sv->luns[i]->bdev));
	return list;
}

/*
 * Switch to the new plan: LUNs in its order, the kept ones pointed at it.
 * The plan and settings structs are copied, their heap arrays are not, so
 * every pointer into them stays valid.
 */
static int adopt(struct serving *sv, struct settings *ns, struct plan *np,
		 struct reload_change *c, struct json_object *res)
{
	struct lun **luns =
		calloc(np->nr_disks ? np->nr_disks : 1, sizeof(*luns));
	struct json_object *added = json_object_new_array();
	size_t kept = 0;

	if (!luns || !added) {
		free(luns);
		json_object_put(added);
		return -ENOMEM;
	}
	for (size_t i = 0; i < np->nr_disks; i++) {
		struct lun *l =
			c->is_new[i] ? c->added[i]
				     : reload_find_lun(sv, &np->disks[i].key);

		if (c->is_new[i])
			json_object_array_add(added,
					      lun_json(&np->disks[i], l->bdev));
		else
			kept++;
		l->pd = &np->disks[i];
		luns[i] = l;
	}
	free(sv->luns);
	sv->luns = luns;
	sv->nr_luns = np->nr_disks;
	sv->pending = NULL;
	sv->nr_pending = 0;
	plan_fini(&sv->plan);
	settings_fini(&sv->s);
	sv->plan = *np;
	sv->s = *ns;
	memset(np, 0, sizeof(*np));
	memset(ns, 0, sizeof(*ns));
	json_object_object_add(res, "added", added);
	json_add_int(res, "kept", kept);
	return 0;
}

/* The new settings and their plan, checked against what is served. */
static int reload_prepare(const struct reload_env *re, const char *path,
			  struct settings *ns, struct plan *np,
			  struct error_obj *err)
{
	int ret = settings_check_file(path, err);

	if (!ret)
		ret = settings_parse_file(path, ns, err);
	if (!ret)
		ret = reload_check_controllers(&re->sv->s, ns, err);
	/* members we already hold would be "busy": for the added LUNs that
	 * check is their exclusive open in phase 1 */
	if (!ret)
		ret = plan_build(ns, re->rc, PLAN_SKIP_BUSY_CHECK, np, err);
	if (!ret)
		ret = reload_check_kept(re->sv, np, err);
	return ret;
}

int reload_apply(const struct reload_env *re, const char *path,
		 struct error_obj *err, struct json_object **result)
{
	struct serving *sv = re->sv;
	struct settings ns = {0};
	struct plan np = {0};
	struct reload_change c = {0};
	struct json_object *res = NULL, *removed = NULL;
	int ret;

	ret = reload_prepare(re, path, &ns, &np, err);
	if (!ret)
		ret = reload_change_init(&c, np.nr_disks, sv->nr_luns);
	if (ret)
		goto out;
	reload_find_removed(sv, &np, &c);
	res = json_object_new_object();
	removed = removed_json(sv, &c);
	if (!res || !removed) {
		ret = -ENOMEM;
		goto out;
	}
	ret = reload_assign_slots(sv, &np, &c, err);
	if (!ret)
		ret = journal(re, &np, &c, err);
	if (!ret)
		ret = acquire(re, &np, &c, err);
	if (!ret)
		ret = commit(re, &np, &c, err);
	if (ret) {
		release(re, &np, &c);
		log_error("reload of %s refused: %s [%s]", path, err->message,
			  err->error_id);
		goto out;
	}
	ret = adopt(sv, &ns, &np, &c, res);
	if (ret)
		goto out;
	json_object_object_add(res, "removed", removed);
	removed = NULL;
	snprintf(sv->config, sizeof(sv->config), "%s", path);
	program_meta_update(re->maps, sv->plan.nr_disks, sv->plan.nr_members);
	log_info("reloaded %s: %zu LUN(s) added, %zu removed", path, c.nr_added,
		 c.nr_removed);
	*result = res;
	res = NULL;
out:
	json_object_put(res);
	json_object_put(removed);
	reload_change_fini(&c);
	plan_fini(&np);
	settings_fini(&ns);
	return ret;
}
