// SPDX-License-Identifier: MIT
/*
 * reload_plan: what a live reload may change, decided without a daemon --
 * controller checks, LUN identity comparison, kept LUNs, removed LUNs and
 * the slots added LUNs take in the maps.  Plans are built from settings on
 * file backings; the "served" LUNs are struct lun shells at known slots.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/reload_plan.h"

#define CTRL_A "11111111-2222-3333-4444-555555555555"
#define CTRL_B "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"

static char dir[] = "/tmp/blkxlate-reload.XXXXXX";

/* one settings document and its plan */
struct cfg {
	struct settings s;
	struct plan p;
};

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(dir))
		return -1;
	for (char n = 'a'; n <= 'h'; n++) {
		char path[64];
		int fd;

		snprintf(path, sizeof(path), "%s/%c", dir, n);
		fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
		if (fd < 0 || ftruncate(fd, 16 << 20))
			return -1;
		close(fd);
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (char n = 'a'; n <= 'h'; n++) {
		char path[64];

		snprintf(path, sizeof(path), "%s/%c", dir, n);
		unlink(path);
	}
	rmdir(dir);
	return 0;
}

#define DEV(n) "{\"device_type\":\"file\",\"device_path\":\"%1$s/" n "\"}"
#define SINGLE(loc, n, extra)                                                  \
	"{\"location\":" #loc extra                                            \
	",\"physical_devices\":{\"type\":\"single\",\"device\":" DEV(n) "}}"
#define STRIPE(loc, kb, a, b)                                                  \
	"{\"location\":" #loc ",\"chunk_size_in_kb\":" #kb                     \
	",\"physical_devices\":{\"type\":\"striped\",\"devices\":[" DEV(       \
		a) "," DEV(b) "]}}"
#define CTRL(id, proto, luns)                                                  \
	"{\"instance_id\":\"" id "\",\"protocol\":\"" proto                    \
	"\",\"luns\":[" luns "]}"

/* Parse and plan a document whose controllers are ctrls (%1$s: dir). */
static void load(struct cfg *c, const char *ctrls)
{
	char body[4096], json[4400];
	struct error_obj err = {0};
	struct resolve_ctx rc;

	snprintf(body, sizeof(body), ctrls, dir);
	snprintf(
		json, sizeof(json),
		"{\"version\":\"V1\",\"dynamic\":{\"storage_controllers\":[%s]}}",
		body);
	memset(c, 0, sizeof(*c));
	if (settings_parse_string(json, &c->s, &err))
		fail_msg("settings: %s %s %s", err.error_id, err.path,
			 err.message);
	resolve_ctx_default(&rc);
	if (plan_build(&c->s, &rc, PLAN_SKIP_BUSY_CHECK, &c->p, &err))
		fail_msg("plan: %s %s %s", err.error_id, err.path, err.message);
}

static void unload(struct cfg *c)
{
	plan_fini(&c->p);
	settings_fini(&c->s);
}

/* sv serves every disk of c at its plan index, with room for slots. */
static void serve(struct serving *sv, struct cfg *c, uint32_t disks,
		  uint32_t members)
{
	memset(sv, 0, sizeof(*sv));
	sv->slots = (struct maps_slots){disks, members};
	sv->disk_used = calloc(disks, sizeof(bool));
	sv->member_used = calloc(members, sizeof(bool));
	sv->luns = calloc(c->p.nr_disks, sizeof(*sv->luns));
	assert_non_null(sv->disk_used);
	assert_non_null(sv->member_used);
	assert_non_null(sv->luns);
	for (size_t i = 0; i < c->p.nr_disks; i++) {
		const struct plan_disk *pd = &c->p.disks[i];

		sv->luns[i] = calloc(1, sizeof(struct lun));
		assert_non_null(sv->luns[i]);
		sv->luns[i]->pd = pd;
		sv->luns[i]->ld.disk_index = (uint32_t)i;
		sv->disk_used[i] = true;
		for (size_t j = 0; j < pd->nr_members; j++)
			sv->member_used[pd->geo.first_member + j] = true;
	}
	sv->nr_luns = c->p.nr_disks;
	sv->s = c->s;
}

static void unserve(struct serving *sv)
{
	for (size_t i = 0; i < sv->nr_luns; i++)
		free(sv->luns[i]);
	free(sv->luns);
	free(sv->disk_used);
	free(sv->member_used);
}

static void test_controllers(void **state)
{
	struct error_obj err = {0};
	struct cfg a, same, added, proto;

	(void)state;
	load(&a, CTRL(CTRL_A, "SCSI", SINGLE(0, "a", "")));
	load(&same,
	     CTRL(CTRL_A, "SCSI", SINGLE(0, "a", "") "," SINGLE(1, "b", "")));
	load(&added, CTRL(CTRL_A, "SCSI", SINGLE(0, "a", "")) "," CTRL(
			     CTRL_B, "SCSI", SINGLE(0, "b", "")));
	load(&proto, CTRL(CTRL_A, "NVME", SINGLE(1, "a", "")));
	assert_int_equal(reload_check_controllers(&a.s, &same.s, &err), 0);
	assert_int_equal(reload_check_controllers(&a.s, &added.s, &err),
			 -EINVAL);
	assert_string_equal(
		err.error_id,
		"Configuration.StorageCannotAddRemoveControllerAtRuntime");
	assert_string_equal(err.path, "dynamic.storage_controllers[1]");
	assert_non_null(strstr(err.message, "would be added"));
	assert_int_equal(reload_check_controllers(&added.s, &a.s, &err),
			 -EINVAL);
	assert_string_equal(err.path, "dynamic.storage_controllers");
	assert_non_null(strstr(err.message, CTRL_B " (SCSI) would be removed"));
	assert_int_equal(reload_check_controllers(&a.s, &proto.s, &err),
			 -EINVAL);
	assert_string_equal(
		err.error_id,
		"Configuration.StorageCannotAddRemoveControllerAtRuntime");
	unload(&a);
	unload(&same);
	unload(&added);
	unload(&proto);
}

static void test_lun_identity(void **state)
{
	struct cfg a, b;

	(void)state;
	load(&a, CTRL(CTRL_A, "SCSI",
		      SINGLE(0, "a", "") "," SINGLE(1, "b", "") "," STRIPE(
			      2, 64, "c", "d")));
	load(&b, CTRL(CTRL_A, "SCSI",
		      SINGLE(0, "a", ",\"vendor_id\":\"Other\"") "," SINGLE(
			      1, "e", "") "," STRIPE(2, 128, "c", "d")));
	/* itself, and a copy at other member indices */
	assert_true(reload_lun_same(&a.p.disks[0], &a.p.disks[0]));
	b.p.disks[2].geo.first_member += 7;
	assert_false(reload_lun_same(&a.p.disks[2], &b.p.disks[2])); /* chunk */
	assert_false(
		reload_lun_same(&a.p.disks[0], &b.p.disks[0])); /* vendor */
	assert_false(
		reload_lun_same(&a.p.disks[1], &b.p.disks[1])); /* backing */
	unload(&a);
	load(&a, CTRL(CTRL_A, "SCSI",
		      SINGLE(0, "a", ",\"vendor_id\":\"Other\"") "," SINGLE(
			      1, "e", "") "," STRIPE(2, 128, "c", "d")));
	for (int i = 0; i < 3; i++)
		assert_true(reload_lun_same(&a.p.disks[i], &b.p.disks[i]));
	unload(&a);
	unload(&b);
}

static void test_kept_and_removed(void **state)
{
	struct error_obj err = {0};
	struct serving sv;
	struct reload_change c;
	struct cfg cur, single_changed, stripe_changed, ok;

	(void)state;
	load(&cur, CTRL(CTRL_A, "SCSI",
			SINGLE(0, "a", "") "," SINGLE(1, "b", "") "," STRIPE(
				2, 64, "c", "d")));
	load(&single_changed,
	     CTRL(CTRL_A, "SCSI", SINGLE(0, "a", ",\"serial_number\":\"X\"")));
	load(&stripe_changed, CTRL(CTRL_A, "SCSI", STRIPE(2, 128, "c", "d")));
	load(&ok, CTRL(CTRL_A, "SCSI",
		       SINGLE(1, "b", "") "," STRIPE(
			       2, 64, "c", "d") "," SINGLE(5, "e", "")));
	serve(&sv, &cur, 8, 16);
	assert_int_equal(reload_check_kept(&sv, &single_changed.p, &err),
			 -EINVAL);
	assert_string_equal(err.error_id,
			    "Configuration.StorageCannotChangeLunAtRuntime");
	assert_string_equal(err.path, "dynamic.storage_controllers[0].luns[0]");
	assert_int_equal(reload_check_kept(&sv, &stripe_changed.p, &err),
			 -EINVAL);
	assert_string_equal(
		err.error_id,
		"Configuration.StripedStorageCannotChangeControllerAtRuntime");
	assert_int_equal(reload_check_kept(&sv, &ok.p, &err), 0);

	assert_int_equal(reload_change_init(&c, ok.p.nr_disks, sv.nr_luns), 0);
	reload_find_removed(&sv, &ok.p, &c);
	assert_int_equal(c.nr_removed, 1);
	assert_true(c.removed[0]);
	assert_false(c.removed[1]);
	assert_false(c.removed[2]);
	reload_change_fini(&c);
	unserve(&sv);
	unload(&cur);
	unload(&single_changed);
	unload(&stripe_changed);
	unload(&ok);
}

static void test_find_free(void **state)
{
	static const struct {
		bool used[8];
		uint32_t cap;
		size_t n;
		long want;
	} cases[] = {
		{{0}, 8, 1, 0},
		{{1, 1, 0, 1, 0, 0}, 8, 2, 4},
		{{1, 1, 0, 1, 0, 0}, 8, 1, 2},
		{{1, 1, 1, 1, 1, 1, 1, 0}, 8, 1, 7},
		{{1, 1, 1, 1, 1, 1, 1, 0}, 8, 2, -1},
		{{0, 0, 0}, 3, 3, 0},
		{{0, 0, 0}, 3, 4, -1},
		{{1, 0, 1, 0, 0, 1, 0, 0}, 8, 2, 3},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		long got = reload_find_free(cases[i].used, cases[i].cap,
					    cases[i].n);

		if (got != cases[i].want)
			fail_msg("case %zu: %ld, want %ld", i, got,
				 cases[i].want);
	}
}

static void test_assign_slots(void **state)
{
	struct error_obj err = {0};
	struct serving sv;
	struct reload_change c;
	struct cfg cur, np, full;

	(void)state;
	/* served: lun0 at slot 0 (member 0), stripe lun2 at slot 1 (1-2) */
	load(&cur, CTRL(CTRL_A, "SCSI",
			SINGLE(0, "a", "") "," STRIPE(2, 64, "c", "d")));
	/* new: stripe lun2 kept, lun0 dropped, stripe lun4 and lun5 added */
	load(&np, CTRL(CTRL_A, "SCSI",
		       SINGLE(5, "f", "") "," STRIPE(
			       2, 64, "c", "d") "," STRIPE(4, 64, "b", "e")));
	serve(&sv, &cur, 4, 6);
	assert_int_equal(reload_change_init(&c, np.p.nr_disks, sv.nr_luns), 0);
	assert_int_equal(reload_assign_slots(&sv, &np.p, &c, &err), 0);
	assert_int_equal(c.nr_added, 2);
	/* lun5: the first free slot (2; lun0's stays taken until commit) and
	 * member 3; lun2 keeps slot 1 and members 1-2; lun4 slot 3, 4-5 */
	assert_true(c.is_new[0]);
	assert_int_equal(c.slot[0], 2);
	assert_int_equal(np.p.disks[0].geo.first_member, 3);
	assert_false(c.is_new[1]);
	assert_int_equal(c.slot[1], 1);
	assert_int_equal(np.p.disks[1].geo.first_member, 1);
	assert_true(c.is_new[2]);
	assert_int_equal(c.slot[2], 3);
	assert_int_equal(np.p.disks[2].geo.first_member, 4);
	for (size_t i = 0; i < np.p.nr_disks; i++)
		for (size_t j = 0; j < np.p.disks[i].nr_members; j++) {
			assert_int_equal(np.p.disks[i].members[j].m.disk,
					 c.slot[i]);
			assert_int_equal(np.p.disks[i].members[j].m.index, j);
		}
	for (uint32_t i = 0; i < 4; i++)
		assert_true(sv.disk_used[i]);
	/* giving lun4's slots back frees exactly them */
	reload_release_slots(&sv, &np.p.disks[2], c.slot[2]);
	assert_false(sv.disk_used[3]);
	assert_false(sv.member_used[4]);
	assert_false(sv.member_used[5]);
	assert_true(sv.member_used[3]);
	reload_change_fini(&c);

	/* no room left for another stripe: refused, naming the LUN */
	load(&full,
	     CTRL(CTRL_A, "SCSI",
		  SINGLE(0, "a", "") "," STRIPE(2, 64, "c", "d") "," SINGLE(
			  5, "f", "") "," STRIPE(6, 64, "b",
						 "e") "," SINGLE(7, "g", "")));
	assert_int_equal(reload_change_init(&c, full.p.nr_disks, sv.nr_luns),
			 0);
	assert_int_equal(reload_assign_slots(&sv, &full.p, &c, &err), -E2BIG);
	assert_string_equal(err.error_id, "Configuration.StorageTooManyDisks");
	assert_string_equal(err.path, "dynamic.storage_controllers[0].luns[3]");
	reload_change_fini(&c);
	unserve(&sv);
	unload(&cur);
	unload(&np);
	unload(&full);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_controllers),
		cmocka_unit_test(test_lun_identity),
		cmocka_unit_test(test_kept_and_removed),
		cmocka_unit_test(test_find_free),
		cmocka_unit_test(test_assign_slots),
	};

	return cmocka_run_group_tests_name("reload-plan", tests, setup,
					   teardown);
}
