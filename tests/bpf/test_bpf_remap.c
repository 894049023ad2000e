// SPDX-License-Identifier: MIT
/*
 * The remap BPF program against the C remap: both are built from
 * include/blkxlate/remap.h; 100,000 random requests go through the program
 * (BPF_PROG_RUN over the pinned maps) and through the C functions, and the
 * results must be identical.  Also: the maps lifecycle (0700 directory,
 * all-or-nothing create, refusal to load twice, unload).  Needs root.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <bpf/bpf.h>

#include <blkxlate/remap.h>

#include "pins/maps.h"
#include "plan/plan.h"

#define REQUESTS 100000
#define NR_DISKS 24

static uint64_t rng = 0x1234567887654321ULL;

static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dULL;
}

static uint64_t rnd_range(uint64_t lo, uint64_t hi)
{
	return lo + rnd() % (hi - lo + 1);
}

struct fixture {
	char instance[40];
	struct settings_controller ctrl;
	struct settings_lun luns[NR_DISKS];
	struct plan plan;
	struct maps maps;
};

/* A synthetic plan: random geometries and member offsets, no backings. */
static void make_plan(struct fixture *f)
{
	struct plan *p = &f->plan;
	uint32_t first = 0;

	snprintf(f->ctrl.instance_id_str, sizeof(f->ctrl.instance_id_str), "%s",
		 "6f1c2b3a-0000-4000-8000-00000000beef");
	p->disks = calloc(NR_DISKS, sizeof(*p->disks));
	assert_non_null(p->disks);
	p->nr_disks = NR_DISKS;
	for (uint32_t i = 0; i < NR_DISKS; i++) {
		struct plan_disk *d = &p->disks[i];
		uint32_t n = i % 5 == 0 ? 1 : (uint32_t)rnd_range(2, 8);
		uint32_t chunk = (uint32_t)rnd_range(1, 256) * 8;
		uint64_t chunks = rnd_range(1, 4096);

		d->ctrl = &f->ctrl;
		d->lun = &f->luns[i];
		snprintf(d->key.controller, sizeof(d->key.controller), "%s",
			 f->ctrl.instance_id_str);
		d->key.location = i;
		d->geo.nr_members = n;
		d->geo.chunk_sectors = n > 1 ? chunk : 0;
		d->geo.member_sectors = (uint64_t)chunk * chunks;
		d->geo.size_sectors = d->geo.member_sectors * n;
		if (i % 3 == 0)
			d->geo.size_sectors = rnd_range(1, d->geo.size_sectors);
		d->geo.first_member = first;
		d->geo.lbs_shift = 9;
		d->nr_members = n;
		d->members = calloc(n, sizeof(*d->members));
		assert_non_null(d->members);
		for (uint32_t m = 0; m < n; m++) {
			struct blkx_member *bm = &d->members[m].m;

			bm->offset_sectors = rnd_range(0, 1 << 20);
			bm->size_sectors = d->geo.member_sectors;
			bm->disk = i;
			bm->index = m;
			snprintf(bm->device, sizeof(bm->device),
				 "/dev/fake%un%u", i, m);
		}
		first += n;
	}
	p->nr_members = first;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[512] = "";

	if (!f)
		return -1;
	snprintf(f->instance, sizeof(f->instance), "test-%d", (int)getpid());
	make_plan(f);
	if (maps_create(f->instance, &f->plan, &f->maps, err, sizeof(err))) {
		fprintf(stderr, "maps_create: %s\n", err);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	maps_close(&f->maps);
	maps_destroy(f->instance, NULL, 0);
	plan_fini(&f->plan);
	free(f);
	return 0;
}

/* What the C side says: remap + member offsets, as the data path does. */
static int c_remap(const struct plan_disk *d, uint64_t sector, uint64_t nr,
		   struct blkx_segment *segs)
{
	int n = blkx_remap(&d->geo, sector, nr, segs, BLKX_MAX_SEGMENTS);

	for (int i = 0; i < n; i++) {
		uint64_t s = blkx_member_sector(&d->members[segs[i].member].m,
						&segs[i]);

		if (s == ~0ULL)
			return -BLKX_EIO;
		segs[i].member_sector = s;
	}
	return n;
}

static void test_bpf_equals_c(void **state)
{
	struct fixture *f = *state;
	unsigned long ok = 0, errors = 0, multi = 0;

	for (long i = 0; i < REQUESTS; i++) {
		const struct plan_disk *d =
			&f->plan.disks[rnd() % f->plan.nr_disks];
		struct blkx_segment csegs[BLKX_MAX_SEGMENTS];
		struct blkx_remap_ctx rq;
		uint64_t size = d->geo.size_sectors;
		uint64_t sector, nr;
		int cn;

		if (rnd() % 10 == 0) { /* near or past the end */
			sector = size - rnd_range(0, 8) % (size + 1);
			nr = rnd_range(1, 4096);
		} else {
			sector = rnd_range(0, size - 1);
			nr = rnd_range(1, 2048);
		}
		memset(&rq, 0, sizeof(rq));
		rq.lun = d->key;
		rq.sector = sector;
		rq.nr_sectors = nr;
		assert_int_equal(maps_remap(&f->maps, &rq), 0);
		cn = c_remap(d, sector, nr, csegs);
		if (rq.result != cn)
			fail_msg(
				"request %ld (disk %u, %llu+%llu): BPF %d, C %d",
				i, d->key.location, (unsigned long long)sector,
				(unsigned long long)nr, rq.result, cn);
		for (int s = 0; s < cn; s++) {
			assert_int_equal(rq.segs[s].member, csegs[s].member);
			assert_int_equal(rq.segs[s].member_sector,
					 csegs[s].member_sector);
			assert_int_equal(rq.segs[s].nr_sectors,
					 csegs[s].nr_sectors);
			assert_int_equal(rq.segs[s].req_offset,
					 csegs[s].req_offset);
		}
		if (cn > 0) {
			ok++;
			multi += cn > 1;
		} else {
			errors++;
		}
	}
	print_message(
		"bpf==c: %d requests identical: %lu mapped (%lu multi-segment), %lu refused alike\n",
		REQUESTS, ok, multi, errors);
	assert_true(ok > REQUESTS / 2 && multi > 1000 && errors > 1000);
}

static void test_unknown_lun(void **state)
{
	struct fixture *f = *state;
	struct blkx_remap_ctx rq = {0};

	rq.lun = f->plan.disks[0].key;
	rq.lun.location = 999;
	rq.nr_sectors = 1;
	assert_int_equal(maps_remap(&f->maps, &rq), 0);
	assert_int_equal(rq.result, -BLKX_ENOENT);
}

static void test_pin_dir_private(void **state)
{
	struct fixture *f = *state;
	struct stat st;

	assert_int_equal(stat(f->maps.dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
}

static void test_second_load_refused(void **state)
{
	struct fixture *f = *state;
	struct maps again;
	char err[512] = "";

	assert_int_equal(
		maps_create(f->instance, &f->plan, &again, err, sizeof(err)),
		-EEXIST);
	assert_non_null(strstr(err, "already loaded"));
	/* and the first instance is untouched */
	struct blkx_remap_ctx rq = {.lun = f->plan.disks[1].key,
				    .nr_sectors = 1};
	assert_int_equal(maps_remap(&f->maps, &rq), 0);
	assert_true(rq.result > 0);
}

static void test_failed_load_leaves_nothing(void **state)
{
	struct fixture *f = *state;
	char inst[48], dir[PATH_MAX], err[512] = "";
	struct plan bad = f->plan;
	struct maps m;
	struct stat st;

	/* two disks with one key: the second luns insert fails */
	bad.disks = calloc(2, sizeof(*bad.disks));
	assert_non_null(bad.disks);
	bad.disks[0] = f->plan.disks[1];
	bad.disks[1] = f->plan.disks[1];
	bad.nr_disks = 2;
	snprintf(inst, sizeof(inst), "%s-bad", f->instance);
	assert_true(maps_create(inst, &bad, &m, err, sizeof(err)) < 0);
	assert_int_equal(maps_instance_dir(inst, dir, sizeof(dir)), 0);
	assert_int_equal(stat(dir, &st), -1);
	assert_int_equal(errno, ENOENT);
	free(bad.disks);
}

static void test_open_and_destroy(void **state)
{
	struct fixture *f = *state;
	struct maps m;
	char err[512] = "";
	struct blkx_meta meta;
	uint32_t zero = 0;

	assert_int_equal(maps_open(f->instance, &m, err, sizeof(err)), 0);
	assert_int_equal(bpf_map_lookup_elem(m.meta_fd, &zero, &meta), 0);
	assert_int_equal(meta.nr_disks, NR_DISKS);
	assert_int_equal(meta.nr_members, f->plan.nr_members);
	maps_close(&m);
	assert_int_equal(maps_open("no-such-instance", &m, err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "not loaded"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bpf_equals_c),
		cmocka_unit_test(test_unknown_lun),
		cmocka_unit_test(test_pin_dir_private),
		cmocka_unit_test(test_second_load_refused),
		cmocka_unit_test(test_failed_load_leaves_nothing),
		cmocka_unit_test(test_open_and_destroy),
	};

	if (geteuid() != 0) {
		printf("SKIP: bpf tests need root (BPF maps and programs); CI runs them as root\n");
		return 77;
	}
	return cmocka_run_group_tests_name("bpf-remap", tests, setup, teardown);
}
