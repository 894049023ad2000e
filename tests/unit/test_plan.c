// SPDX-License-Identifier: MIT
/*
 * plan: geometry rules on file backings (stripe member checks, rounding to
 * whole chunks, smaller presented size, overlap refusal, limits and flags).
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

#include "plan/plan.h"
#include "config/settings.h"

static char dir[] = "/tmp/blkxlate-plan.XXXXXX";

static void mkfile(const char *name, off_t size)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, size), 0);
	close(fd);
}

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(dir))
		return -1;
	mkfile("a", 64 << 20);
	mkfile("b", 64 << 20);
	mkfile("c", 64 << 20);
	mkfile("odd", (64 << 20) + (96 << 10)); /* not whole 128K chunks */
	mkfile("odd2", (64 << 20) + (96 << 10));
	mkfile("small", 32 << 20);
	mkfile("ragged", (1 << 20) + 100); /* not whole sectors */
	return 0;
}

static int teardown(void **state)
{
	const char *names[] = {"a", "b", "c", "odd", "odd2", "small", "ragged"};
	char path[256];

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
	return 0;
}

/* Build a one-controller config; luns is a printf format with %1$s = dir. */
static int plan_json(const char *luns, struct plan *p, struct error_obj *err)
{
	char body[4096], json[8192];
	struct settings s = {0};
	struct resolve_ctx rc;
	int ret;

	/* every %s in luns is the temp dir */
	snprintf(body, sizeof(body), luns, dir, dir, dir, dir);
	snprintf(
		json, sizeof(json),
		"{\"version\":\"V1\",\"dynamic\":{\"storage_controllers\":[{\"instance_id\":\"11111111-2222-3333-4444-555555555555\",\"protocol\":\"SCSI\",\"luns\":[%s]}]}}",
		body);
	ret = settings_parse_string(json, &s, err);
	if (ret) {
		print_message("settings: %s %s %s\n", err->error_id, err->path,
			      err->message);
		return ret;
	}
	resolve_ctx_default(&rc);
	ret = plan_build(&s, &rc, 0, p, err);
	/* the plan keeps pointers into s: tests only read numbers */
	if (!ret) {
		for (size_t i = 0; i < p->nr_disks; i++) {
			p->disks[i].ctrl = NULL;
			p->disks[i].lun = NULL;
			for (size_t m = 0; m < p->disks[i].nr_members; m++)
				p->disks[i].members[m].src = NULL;
		}
	}
	settings_fini(&s);
	return ret;
}

#define DEV(name) "{\"device_type\":\"file\",\"device_path\":\"%s/" name "\"}"
#define SINGLE(loc, name)                                                      \
	"{\"location\":" #loc ",\"physical_devices\":{\"type\":\"single\","    \
	"\"device\":" DEV(name) "}}"
#define STRIPE2(loc, kb, a, b)                                                 \
	"{\"location\":" #loc ",\"chunk_size_in_kb\":" #kb                     \
	",\"physical_devices\":{\"type\":\"striped\",\"devices\":[" DEV(       \
		a) "," DEV(b) "]}}"

static void test_single_file(void **state)
{
	struct error_obj err;
	struct plan p;

	(void)state;
	assert_int_equal(plan_json(SINGLE(0, "a"), &p, &err), 0);
	assert_int_equal(p.nr_disks, 1);
	assert_int_equal(p.disks[0].size_bytes, 64 << 20);
	assert_int_equal(p.disks[0].geo.size_sectors, (64 << 20) / 512);
	assert_int_equal(p.disks[0].geo.nr_members, 1);
	assert_int_equal(p.disks[0].geo.chunk_sectors, 0);
	assert_int_equal(p.disks[0].lbs, 512);
	assert_true(p.disks[0].discard);
	assert_int_equal(p.disks[0].members[0].m.size_sectors,
			 (64 << 20) / 512);
	plan_fini(&p);
}

static void test_stripe_geometry(void **state)
{
	struct error_obj err;
	struct plan p;

	(void)state;
	assert_int_equal(plan_json(STRIPE2(0, 128, "a", "b"), &p, &err), 0);
	assert_int_equal(p.disks[0].size_bytes, 128 << 20);
	assert_int_equal(p.disks[0].chunk_bytes, 128 << 10);
	assert_int_equal(p.disks[0].geo.chunk_sectors, 256);
	assert_int_equal(p.disks[0].geo.nr_members, 2);
	assert_true(p.disks[0].geo.flags & BLKX_DISK_STRIPED);
	assert_int_equal(p.disks[0].members[1].m.index, 1);
	assert_int_equal(p.disks[0].members[1].m.disk, 0);
	plan_fini(&p);
}

static void test_stripe_rounds_down_to_chunks(void **state)
{
	struct error_obj err;
	struct plan p;

	(void)state;
	assert_int_equal(plan_json(STRIPE2(0, 128, "odd", "odd2"), &p, &err),
			 0);
	/* 64 MiB + 96 KiB per member -> 64 MiB usable each */
	assert_int_equal(p.disks[0].geo.member_sectors, (64 << 20) / 512);
	assert_int_equal(p.disks[0].size_bytes, 128 << 20);
	plan_fini(&p);
}

static void test_stripe_refusals(void **state)
{
	static const struct {
		const char *luns, *id, *path_suffix;
	} cases[] = {
		{STRIPE2(0, 128, "a", "small"), "StorageStripeSizeMismatch",
		 "luns[0].physical_devices.devices[1].device_path"},
		{STRIPE2(0, 128, "a", "a"), "StorageBackingDuplicated",
		 "luns[0].physical_devices.devices[1].device_path"},
		{SINGLE(0, "a") "," SINGLE(1, "a"), "StorageBackingDuplicated",
		 "luns[1].physical_devices.device.device_path"},
		{STRIPE2(0, 131072, "a", "b"), "StorageInvalidChunkSize",
		 "luns[0].chunk_size_in_kb"},
		{SINGLE(0, "ragged"), "StorageInvalidDiskSize",
		 "luns[0].physical_devices.device.device_path"},
		{SINGLE(0, "missing"), NULL,
		 "luns[0].physical_devices.device.device_path"},
		{"{\"location\":0,\"scsi_disk_size_in_bytes\":67109376,\"physical_devices\":{\"type\":\"single\",\"device\":" DEV(
			 "a") "}}",
		 "StorageInvalidDiskSize", "luns[0].scsi_disk_size_in_bytes"},
		{"{\"location\":0,\"physical_sector_size\":512,\"physical_devices\":{\"type\":\"single\",\"device\":" DEV(
			 "a") "}}",
		 NULL, NULL}, /* valid: 512 >= 512 */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct error_obj err = {0};
		struct plan p = {0};
		int ret = plan_json(cases[i].luns, &p, &err);
		char want[128];

		print_message("case %zu: %s %s\n", i, err.error_id, err.path);
		if (!cases[i].path_suffix) {
			assert_int_equal(ret, 0);
			plan_fini(&p);
			continue;
		}
		assert_true(ret < 0);
		assert_int_equal(p.nr_disks, 0); /* nothing half-built */
		if (cases[i].id) {
			snprintf(want, sizeof(want), "Configuration.%s",
				 cases[i].id);
			assert_string_equal(err.error_id, want);
		}
		snprintf(want, sizeof(want),
			 "dynamic.storage_controllers[0].%s",
			 cases[i].path_suffix);
		assert_string_equal(err.path, want);
		assert_true(strlen(err.message) > 10);
	}
}

static void test_smaller_disk_and_overrides(void **state)
{
	struct error_obj err;
	struct plan p;

	(void)state;
	assert_int_equal(
		plan_json(
			"{\"location\":3,\"scsi_disk_size_in_bytes\":1048576,\"physical_sector_size\":4096,\"disable_thin_provisioning\":true,\"fua\":true,\"write_cache\":false,\"max_transfer_length\":65536,\"vendor_id\":\"ACME\",\"product_id\":\"Disk\",\"physical_devices\":{\"type\":\"single\",\"device\":" DEV(
				"a") "}}",
			&p, &err),
		0);
	assert_int_equal(p.disks[0].size_bytes, 1 << 20);
	assert_int_equal(p.disks[0].geo.size_sectors, 2048);
	/* the member keeps its full usable range */
	assert_int_equal(p.disks[0].geo.member_sectors, (64 << 20) / 512);
	assert_int_equal(p.disks[0].pbs, 4096);
	assert_int_equal(p.disks[0].geo.pbs_shift, 12);
	assert_false(p.disks[0].discard);
	assert_true(p.disks[0].fua);
	assert_false(p.disks[0].write_cache);
	assert_int_equal(p.disks[0].max_io_bytes, 65536);
	assert_string_equal(p.disks[0].vendor_id, "ACME    ");
	assert_string_equal(p.disks[0].product_id, "Disk            ");
	assert_int_equal(p.disks[0].key.location, 3);
	assert_string_equal(p.disks[0].key.controller,
			    "11111111-2222-3333-4444-555555555555");
	plan_fini(&p);
}

static void test_member_numbering(void **state)
{
	struct error_obj err;
	struct plan p;

	(void)state;
	assert_int_equal(plan_json(SINGLE(0, "c") "," STRIPE2(1, 64, "a", "b"),
				   &p, &err),
			 0);
	assert_int_equal(p.nr_disks, 2);
	assert_int_equal(p.nr_members, 3);
	assert_int_equal(p.disks[0].geo.first_member, 0);
	assert_int_equal(p.disks[1].geo.first_member, 1);
	assert_int_equal(p.disks[1].members[0].m.disk, 1);
	assert_non_null(
		plan_find(&p, "11111111-2222-3333-4444-555555555555", 1, 0));
	assert_null(
		plan_find(&p, "11111111-2222-3333-4444-555555555555", 2, 0));
	plan_fini(&p);
}

static void test_fmt_size(void **state)
{
	char buf[32];

	(void)state;
	assert_string_equal(plan_fmt_size(512, buf, sizeof(buf)), "512 B");
	assert_string_equal(plan_fmt_size(128 << 10, buf, sizeof(buf)),
			    "128 KiB");
	assert_string_equal(plan_fmt_size(3ULL << 29, buf, sizeof(buf)),
			    "1.5 GiB");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single_file),
		cmocka_unit_test(test_stripe_geometry),
		cmocka_unit_test(test_stripe_rounds_down_to_chunks),
		cmocka_unit_test(test_stripe_refusals),
		cmocka_unit_test(test_smaller_disk_and_overrides),
		cmocka_unit_test(test_member_numbering),
		cmocka_unit_test(test_fmt_size),
	};

	return cmocka_run_group_tests_name("plan", tests, setup, teardown);
}
