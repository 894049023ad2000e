// SPDX-License-Identifier: MIT
/*
 * The remap math (include/blkxlate/remap.h): table-driven cases, and a
 * property test of 1,000,000 random requests over random geometries against
 * a naive sector-by-sector model of the stripe layout.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include <blkxlate/remap.h>
#include "../remap_model.h"

#define PROPERTY_REQUESTS 1000000

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	uint64_t x = rng_state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static uint64_t rnd_range(uint64_t lo, uint64_t hi) /* inclusive */
{
	return lo + rnd() % (hi - lo + 1);
}

static struct blkx_disk stripe(uint32_t n, uint32_t chunk, uint64_t chunks)
{
	struct blkx_disk d = {
		.nr_members = n,
		.chunk_sectors = n > 1 ? chunk : 0,
		.member_sectors = chunk * chunks,
		.size_sectors = (uint64_t)chunk * chunks * n,
		.lbs_shift = 9,
	};
	return d;
}

static void test_single_passthrough(void **state)
{
	struct blkx_disk d = stripe(1, 0, 0);
	struct blkx_segment seg[4];

	(void)state;
	d.member_sectors = d.size_sectors = 1000;
	assert_int_equal(blkx_remap(&d, 10, 990, seg, 4), 1);
	assert_int_equal(seg[0].member, 0);
	assert_int_equal(seg[0].member_sector, 10);
	assert_int_equal(seg[0].nr_sectors, 990);
	assert_int_equal(seg[0].req_offset, 0);
}

static void test_stripe_layout_table(void **state)
{
	static const struct {
		uint32_t n, chunk;
		uint64_t sector, nr;
		int segs;
		uint32_t m0;
		uint64_t ms0;
		uint32_t len0;
	} cases[] = {
		/* 2 members, 64 KiB chunk (128 sectors) */
		{2, 128, 0, 8, 1, 0, 0, 8},	 /* chunk 0 on member 0 */
		{2, 128, 128, 8, 1, 1, 0, 8},	 /* chunk 1 on member 1 */
		{2, 128, 256, 8, 1, 0, 128, 8},	 /* chunk 2: m0, 2nd row */
		{2, 128, 120, 16, 2, 0, 120, 8}, /* crosses chunk 0 -> 1 */
		{2, 128, 383, 2, 2, 0, 255, 1},	 /* chunk 2 end -> 3 */
		{3, 8, 0, 24, 3, 0, 0, 8},	 /* one full row */
		{3, 8, 4, 48, 7, 0, 4, 4},	 /* partial chunks both ends */
		{4, 1, 7, 1, 1, 3, 1, 1},	 /* 1-sector chunks */
		{2, 256, 511, 1, 1, 1, 255, 1},	 /* last sector of row 0 */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct blkx_disk d = stripe(cases[i].n, cases[i].chunk, 16);
		struct blkx_segment seg[BLKX_MAX_SEGMENTS];
		int n = blkx_remap(&d, cases[i].sector, cases[i].nr, seg,
				   BLKX_MAX_SEGMENTS);

		print_message("case %zu\n", i);
		assert_int_equal(n, cases[i].segs);
		assert_int_equal(seg[0].member, cases[i].m0);
		assert_int_equal(seg[0].member_sector, cases[i].ms0);
		assert_int_equal(seg[0].nr_sectors, cases[i].len0);
	}
}

static void test_bounds(void **state)
{
	struct blkx_disk d = stripe(2, 128, 4); /* 1024 sectors */
	struct blkx_segment seg[BLKX_MAX_SEGMENTS];

	(void)state;
	/* last sector is fine, one past is not */
	assert_int_equal(blkx_remap(&d, 1023, 1, seg, 8), 1);
	assert_int_equal(seg[0].member, 1);
	assert_int_equal(seg[0].member_sector, 511);
	assert_int_equal(blkx_remap(&d, 1024, 1, seg, 8), -BLKX_ERANGE);
	assert_int_equal(blkx_remap(&d, 1020, 5, seg, 8), -BLKX_ERANGE);
	/* start + length overflow must not wrap into range */
	assert_int_equal(blkx_remap(&d, UINT64_MAX - 1, 4, seg, 8),
			 -BLKX_ERANGE);
	assert_int_equal(blkx_remap(&d, 4, UINT64_MAX, seg, 8), -BLKX_ERANGE);
	/* empty request: no segment */
	assert_int_equal(blkx_remap(&d, 1024, 0, seg, 8), 0);
	/* whole disk needs 8 segments; 7 is too few */
	assert_int_equal(blkx_remap(&d, 0, 1024, seg, 8), 8);
	assert_int_equal(blkx_remap(&d, 0, 1024, seg, 7), -BLKX_E2BIG);
}

static void test_corrupt_geometry(void **state)
{
	struct blkx_disk d = stripe(2, 128, 4);
	struct blkx_segment seg[4];

	(void)state;
	d.chunk_sectors = 0; /* would divide by zero */
	assert_int_equal(blkx_remap(&d, 0, 1, seg, 4), -BLKX_EINVAL);
	d = stripe(2, 128, 4);
	d.nr_members = 0;
	assert_int_equal(blkx_remap(&d, 0, 1, seg, 4), -BLKX_EINVAL);
	d = stripe(2, 128, 4);
	d.nr_members = BLKX_MAX_DISK_MEMBERS + 1;
	assert_int_equal(blkx_remap(&d, 0, 1, seg, 4), -BLKX_EINVAL);
	d = stripe(2, 128, 4);
	d.size_sectors += 1; /* bigger than its members */
	assert_int_equal(blkx_remap(&d, 0, 1, seg, 4), -BLKX_EINVAL);
}

static void test_member_sector(void **state)
{
	struct blkx_member m = {.offset_sectors = 2048, .size_sectors = 100};
	struct blkx_segment s = {.member_sector = 90, .nr_sectors = 10};

	(void)state;
	assert_int_equal(blkx_member_sector(&m, &s), 2048 + 90);
	s.nr_sectors = 11;
	assert_true(blkx_member_sector(&m, &s) == ~0ULL);
	s.member_sector = UINT64_MAX;
	s.nr_sectors = 1;
	assert_true(blkx_member_sector(&m, &s) == ~0ULL);
	/* a failed member takes nothing, even inside its range */
	s.member_sector = 0;
	assert_int_equal(blkx_member_sector(&m, &s), 2048);
	m.flags = BLKX_MEMBER_FAILED;
	assert_true(blkx_member_failed(&m));
	assert_true(blkx_member_sector(&m, &s) == ~0ULL);
}

static struct blkx_disk random_geometry(void)
{
	uint32_t n =
		(uint32_t)(rnd() % 4 == 0 ? rnd_range(1, 32) : rnd_range(1, 6));
	uint32_t chunk;
	uint64_t chunks;
	struct blkx_disk d;

	switch (rnd() % 3) {
	case 0:
		chunk = (uint32_t)rnd_range(1, 64); /* odd sizes too */
		break;
	case 1:
		chunk = 8u << rnd_range(0, 9); /* 4 KiB .. 2 MiB */
		break;
	default:
		chunk = (uint32_t)rnd_range(1, 512) * 8;
		break;
	}
	chunks = rnd_range(1, 64);
	d = stripe(n, chunk, chunks);
	if (n == 1)
		d.chunk_sectors = 0;
	if (rnd() % 4 == 0) /* scsi_disk_size_in_bytes: a smaller disk */
		d.size_sectors = rnd_range(1, d.size_sectors);
	return d;
}

static void check_against_model(const struct blkx_disk *d, uint64_t sector,
				uint64_t nr, const struct blkx_segment *seg,
				int n)
{
	uint64_t covered = 0;

	for (int i = 0; i < n; i++) {
		assert_true(seg[i].nr_sectors > 0);
		assert_int_equal(seg[i].req_offset, covered);
		assert_true(seg[i].member < d->nr_members);
		/* no segment leaves its member */
		assert_true(seg[i].member_sector + seg[i].nr_sectors <=
			    d->member_sectors);
		for (uint32_t k = 0; k < seg[i].nr_sectors; k++) {
			uint32_t m;
			uint64_t ms;

			naive(d, sector + covered + k, &m, &ms);
			if (m != seg[i].member ||
			    ms != seg[i].member_sector + k)
				fail_msg(
					"sector %llu: model says member %u sector %llu, remap says member %u sector %llu",
					(unsigned long long)(sector + covered +
							     k),
					m, (unsigned long long)ms,
					seg[i].member,
					(unsigned long long)(seg[i].member_sector +
							     k));
		}
		covered += seg[i].nr_sectors;
	}
	assert_int_equal(covered, nr);
}

static void test_property_random(void **state)
{
	struct blkx_segment seg[BLKX_MAX_SEGMENTS];
	struct blkx_disk d = {0};
	unsigned long inside = 0, outside = 0, too_big = 0, multi = 0;
	const char *seed = getenv("BLKXLATE_SEED");

	(void)state;
	if (seed)
		rng_state = strtoull(seed, NULL, 0) | 1;
	for (long i = 0; i < PROPERTY_REQUESTS; i++) {
		uint64_t sector, nr, max_nr;
		int n;

		if (i % 100 == 0)
			d = random_geometry();
		if (rnd() % 16 == 0) {
			/* at or across the end */
			sector = d.size_sectors -
				 rnd_range(0, 16) % (d.size_sectors + 1);
			nr = rnd_range(1, 64);
		} else {
			sector = rnd_range(0, d.size_sectors - 1);
			max_nr = d.size_sectors - sector;
			nr = rnd_range(1, max_nr < 1024 ? max_nr : 1024);
		}
		n = blkx_remap(&d, sector, nr, seg, BLKX_MAX_SEGMENTS);
		if (sector + nr > d.size_sectors) {
			assert_int_equal(n, -BLKX_ERANGE);
			outside++;
			continue;
		}
		if (n == -BLKX_E2BIG) {
			/* only when the request really needs > 64 chunks */
			assert_true(d.chunk_sectors &&
				    nr > (uint64_t)(BLKX_MAX_SEGMENTS - 1) *
						    d.chunk_sectors);
			too_big++;
			continue;
		}
		assert_true(n > 0);
		multi += n > 1;
		check_against_model(&d, sector, nr, seg, n);
		inside++;
	}
	print_message(
		"property: %d requests: %lu mapped (%lu multi-segment), %lu past the end refused, %lu over %d segments\n",
		PROPERTY_REQUESTS, inside, multi, outside, too_big,
		BLKX_MAX_SEGMENTS);
	/* the generator must exercise every branch it claims to */
	assert_true(outside > 1000 && multi > 10000 && inside > 500000);
}

/* blkx_unmap() inverts the layout sector by sector. */
static void test_unmap_inverts(void **state)
{
	unsigned long checked = 0, outside = 0;

	(void)state;
	for (long i = 0; i < 200000; i++) {
		struct blkx_disk d = random_geometry();
		uint64_t s = rnd_range(0, d.size_sectors - 1);
		uint32_t m;
		uint64_t ms;

		naive(&d, s, &m, &ms);
		assert_int_equal(blkx_unmap(&d, m, ms), s);
		/* a member sector beyond the presented disk holds nothing */
		ms = rnd_range(0, d.member_sectors + 2);
		m = (uint32_t)rnd_range(0, d.nr_members);
		if (blkx_unmap(&d, m, ms) == ~0ULL) {
			outside++;
		} else {
			uint32_t m2;
			uint64_t ms2;

			naive(&d, blkx_unmap(&d, m, ms), &m2, &ms2);
			assert_int_equal(m2, m);
			assert_int_equal(ms2, ms);
		}
		checked++;
	}
	print_message("unmap: %lu sectors inverted, %lu outside refused\n",
		      checked, outside);
	assert_true(outside > 1000);
}

/* blkx_remap_single() is blkx_remap() with room for one segment. */
static void test_single_equals_remap(void **state)
{
	unsigned long one = 0, split = 0, refused = 0;

	(void)state;
	for (long i = 0; i < 200000; i++) {
		struct blkx_disk d = random_geometry();
		struct blkx_segment a, b;
		uint64_t sector = rnd_range(0, d.size_sectors + 4);
		uint64_t nr = rnd_range(0, 300);
		int ra = blkx_remap(&d, sector, nr, &a, 1);
		int rb = blkx_remap_single(&d, sector, nr, &b);

		assert_int_equal(ra, rb);
		if (ra == 1) {
			assert_int_equal(a.member, b.member);
			assert_int_equal(a.member_sector, b.member_sector);
			assert_int_equal(a.nr_sectors, b.nr_sectors);
			assert_int_equal(a.req_offset, b.req_offset);
			one++;
		} else if (ra == -BLKX_E2BIG) {
			split++;
		} else {
			refused++;
		}
	}
	print_message("single: %lu one-segment, %lu split, %lu refused\n", one,
		      split, refused);
	assert_true(one > 10000 && split > 10000 && refused > 1000);
}

/* Per-member extents cover exactly the sectors the model puts there. */
static void test_member_extent_property(void **state)
{
	unsigned long checked = 0, empty = 0;

	(void)state;
	for (long i = 0; i < 20000; i++) {
		struct blkx_disk d = random_geometry();
		uint64_t sector = rnd_range(0, d.size_sectors - 1);
		uint64_t max_nr = d.size_sectors - sector;
		uint64_t nr = rnd_range(1, max_nr < 4096 ? max_nr : 4096);
		uint64_t lo[BLKX_MAX_DISK_MEMBERS], hi[BLKX_MAX_DISK_MEMBERS];
		uint64_t count[BLKX_MAX_DISK_MEMBERS] = {0};

		for (uint32_t m = 0; m < d.nr_members; m++) {
			lo[m] = UINT64_MAX;
			hi[m] = 0;
		}
		for (uint64_t k = 0; k < nr; k++) {
			uint32_t m;
			uint64_t ms;

			naive(&d, sector + k, &m, &ms);
			lo[m] = ms < lo[m] ? ms : lo[m];
			hi[m] = ms + 1 > hi[m] ? ms + 1 : hi[m];
			count[m]++;
		}
		for (uint32_t m = 0; m < d.nr_members; m++) {
			__u64 start;
			uint64_t len =
				blkx_member_extent(&d, m, sector, nr, &start);

			if (!count[m]) {
				assert_int_equal(len, 0);
				empty++;
				continue;
			}
			/* contiguous: the model's sectors fill [lo, hi) */
			assert_int_equal(hi[m] - lo[m], count[m]);
			assert_int_equal(start, lo[m]);
			assert_int_equal(len, count[m]);
			assert_true(start + len <= d.member_sectors);
			checked++;
		}
	}
	print_message("extent: %lu member extents checked, %lu empty\n",
		      checked, empty);
	assert_true(checked > 20000 && empty > 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single_passthrough),
		cmocka_unit_test(test_stripe_layout_table),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_corrupt_geometry),
		cmocka_unit_test(test_member_sector),
		cmocka_unit_test(test_property_random),
		cmocka_unit_test(test_member_extent_property),
		cmocka_unit_test(test_single_equals_remap),
		cmocka_unit_test(test_unmap_inverts),
	};

	return cmocka_run_group_tests_name("remap", tests, NULL, NULL);
}
