// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the stripe math (include/blkxlate/remap.h).
 *
 * The input bytes are decoded by hand (FuzzedDataProvider-style: little
 * endian integers, zeroes once the bytes run out) into one disk geometry,
 * one member and up to 16 requests.  Geometries come in four flavours:
 * raw bytes, what the planner builds (whole chunks), the planner's with one
 * field nudged, and sizes near 2^64.  For every request:
 *
 *  - blkx_remap() equals a model that walks the request chunk by chunk with
 *    the layout formula (result code, and every segment), and the segments
 *    are checked sector by sector against the naive per-sector layout for
 *    requests of up to 4096 sectors; segments stay inside their member,
 *    are contiguous and add up to the request;
 *  - corrupt geometries are refused with -EINVAL (UBSan traps any division
 *    by zero or overflow on the way);
 *  - blkx_remap_single() == blkx_remap(..., max = 1);
 *  - blkx_member_extent() is the per-member min..max of the model's
 *    sectors, contiguous, 0 for members outside the stripe, and the
 *    extents of all members add up to the request;
 *  - blkx_member_sector() is offset + member_sector exactly when the
 *    segment fits the member, else all ones;
 *  - blkx_unmap() inverts the layout: every sector of a mapped request
 *    comes back to its guest sector, and any member sector gives the guest
 *    sector the layout puts there (computed in 128 bits), or all ones when
 *    that is outside the disk or the member.
 *
 * The checks of the findings of the first runs (see tests/fuzz/README.md;
 * fixed since) are on; BLKX_FUZZ_STRICT=0 turns them off.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <blkxlate/remap.h>

#include "fuzz.h"
#include "../remap_model.h"

#define MAX_REQUESTS	 16
#define SECTOR_MODEL_MAX 4096 /* per-sector model up to this many sectors */
#define CHUNK_MODEL_MAX	 4096 /* per-chunk extent model up to this many */

typedef unsigned __int128 u128;

/* --- decoding the input ------------------------------------------------ */

struct src {
	const uint8_t *p;
	size_t n;
};

static uint64_t take(struct src *s, size_t bytes)
{
	uint64_t v = 0;

	for (size_t i = 0; i < bytes; i++) {
		uint64_t b = 0;

		if (s->n) {
			b = *s->p++;
			s->n--;
		}
		v |= b << (8 * i);
	}
	return v;
}

static uint8_t take_u8(struct src *s)
{
	return (uint8_t)take(s, 1);
}

static uint32_t take_u32(struct src *s)
{
	return (uint32_t)take(s, 4);
}

static uint64_t take_u64(struct src *s)
{
	return take(s, 8);
}

/* lo..hi inclusive */
static uint64_t take_range(struct src *s, uint64_t lo, uint64_t hi)
{
	uint64_t span = hi - lo, v;

	if (lo >= hi)
		return lo;
	v = span < 0xff		   ? take(s, 1)
	    : span < 0xffff	   ? take(s, 2)
	    : span < 0xffffffffULL ? take(s, 4)
				   : take(s, 8);
	return span == UINT64_MAX ? v : lo + v % (span + 1);
}

/* --- geometries -------------------------------------------------------- */

static uint32_t take_chunk(struct src *s)
{
	switch (take_u8(s) % 4) {
	case 0:
		return (uint32_t)take_range(s, 1, 64); /* odd sizes too */
	case 1:
		return 8u << take_range(s, 0, 20); /* 4 KiB .. 4 GiB */
	case 2:
		return (uint32_t)take_range(s, 1, 4096) * 8;
	default:
		return (uint32_t)take_range(s, 1, UINT32_MAX);
	}
}

/* As the planner builds it: whole chunks, size <= members. */
static void planner_geometry(struct src *s, struct blkx_disk *d)
{
	uint32_t n = (uint32_t)take_range(s, 1, BLKX_MAX_DISK_MEMBERS);
	uint32_t chunk = take_chunk(s);
	uint64_t rows_max = UINT64_MAX / chunk / n, rows;

	rows = take_u8(s) & 1 ? take_range(s, 1, 64)
			      : take_range(s, 1, rows_max);
	d->nr_members = n;
	d->chunk_sectors = n > 1 ? chunk : 0;
	d->member_sectors = rows * chunk;
	if (n == 1 && take_u8(s) & 1) /* chunk ignored, any size */
		d->member_sectors = take_range(s, 1, UINT64_MAX);
	d->size_sectors = d->member_sectors * n;
	if (take_u8(s) & 1) /* scsi_disk_size_in_bytes: smaller */
		d->size_sectors = take_range(s, 0, d->size_sectors);
}

/* The planner's geometry with one field off by a little. */
static void nudge_geometry(struct src *s, struct blkx_disk *d)
{
	int64_t delta = (int64_t)take_range(s, 0, 16) - 8;

	switch (take_u8(s) % 6) {
	case 0:
		d->member_sectors += (uint64_t)delta;
		break;
	case 1:
		d->size_sectors += (uint64_t)delta;
		break;
	case 2:
		d->chunk_sectors += (uint32_t)delta;
		break;
	case 3:
		d->nr_members += (uint32_t)delta;
		break;
	case 4:
		d->chunk_sectors = 0;
		break;
	default:
		d->chunk_sectors = take_u32(s); /* chunk set on 1 member */
		break;
	}
}

static void take_geometry(struct src *s, struct blkx_disk *d)
{
	memset(d, 0, sizeof(*d));
	d->lbs_shift = 9;
	switch (take_u8(s) % 4) {
	case 0: /* anything a corrupted map entry could hold */
		d->size_sectors = take_u64(s);
		d->member_sectors = take_u64(s);
		d->chunk_sectors = take_u32(s);
		d->nr_members = take_u32(s);
		break;
	case 1:
		planner_geometry(s, d);
		break;
	case 2:
		planner_geometry(s, d);
		nudge_geometry(s, d);
		break;
	default: /* near 2^64: products that overflow */
		d->nr_members =
			(uint32_t)take_range(s, 1, BLKX_MAX_DISK_MEMBERS + 1);
		d->chunk_sectors = take_chunk(s);
		d->member_sectors = UINT64_MAX - take_range(s, 0, 1u << 20);
		if (take_u8(s) & 1)
			d->member_sectors /= d->nr_members;
		d->size_sectors = UINT64_MAX - take_range(s, 0, UINT64_MAX);
		break;
	}
}

/* What blkx_disk_ok() must accept, computed without overflow: members of
 * whole chunks, below 2^58 sectors each, holding the disk. */
static bool geometry_ok(const struct blkx_disk *d)
{
	if (d->nr_members == 0 || d->nr_members > BLKX_MAX_DISK_MEMBERS)
		return false;
	if (d->nr_members > 1 &&
	    (d->chunk_sectors == 0 || d->member_sectors % d->chunk_sectors))
		return false;
	if (d->member_sectors >= 1ULL << 58)
		return false;
	return (u128)d->size_sectors <= (u128)d->member_sectors * d->nr_members;
}

/* Whole chunks per member: the planner's promise (no -EIO ever). */
static bool geometry_whole_chunks(const struct blkx_disk *d)
{
	return d->nr_members == 1 || d->member_sectors % d->chunk_sectors == 0;
}

/* --- the model --------------------------------------------------------- */

/*
 * blkx_remap()'s contract, segment by segment: a segment ends at its chunk
 * or at the request's end; the (max + 1)-th segment is -E2BIG, one longer
 * than 32 bits -ERANGE, one past its member's end -EIO.
 */
static int model_remap(const struct blkx_disk *d, uint64_t sector, uint64_t nr,
		       uint32_t max, struct blkx_segment *segs)
{
	uint64_t done = 0;
	int n = 0;

	if ((u128)sector + nr > d->size_sectors)
		return -BLKX_ERANGE;
	if (max > BLKX_MAX_SEGMENTS)
		max = BLKX_MAX_SEGMENTS;
	while (done < nr) {
		struct blkx_segment *s = &segs[n];
		uint64_t len = nr - done, ms;

		if ((uint32_t)n >= max)
			return -BLKX_E2BIG;
		naive(d, sector + done, &s->member, &ms);
		s->member_sector = ms;
		if (d->nr_members > 1 &&
		    len > d->chunk_sectors - (sector + done) % d->chunk_sectors)
			len = d->chunk_sectors -
			      (sector + done) % d->chunk_sectors;
		if (len > UINT32_MAX)
			return -BLKX_ERANGE;
		if ((u128)s->member_sector + len > d->member_sectors)
			return -BLKX_EIO;
		s->nr_sectors = (uint32_t)len;
		s->req_offset = done;
		done += len;
		n++;
	}
	return n;
}

/* Segments of a successful remap: shape, bounds, and sector by sector. */
static void check_segments(const struct blkx_disk *d, uint64_t sector,
			   uint64_t nr, const struct blkx_segment *seg, int n)
{
	uint64_t covered = 0;

	for (int i = 0; i < n; i++) {
		CHECK(seg[i].nr_sectors > 0);
		CHECK(seg[i].req_offset == covered);
		CHECK(seg[i].member < d->nr_members);
		CHECK((u128)seg[i].member_sector + seg[i].nr_sectors <=
		      d->member_sectors);
		if (nr <= SECTOR_MODEL_MAX) {
			for (uint32_t k = 0; k < seg[i].nr_sectors; k++) {
				uint32_t m;
				uint64_t ms;

				naive(d, sector + covered + k, &m, &ms);
				CHECK(m == seg[i].member);
				CHECK(ms == seg[i].member_sector + k);
			}
		}
		covered += seg[i].nr_sectors;
	}
	CHECK(covered == nr);
}

static void check_remap(const struct blkx_disk *d, uint64_t sector, uint64_t nr,
			uint32_t max)
{
	struct blkx_segment got[BLKX_MAX_SEGMENTS], want[BLKX_MAX_SEGMENTS];
	int r = blkx_remap(d, sector, nr, got, max);
	int m = model_remap(d, sector, nr, max, want);

	CHECK(r == m);
	if (r <= 0)
		return;
	CHECK(r <= (int)max && r <= BLKX_MAX_SEGMENTS);
	for (int i = 0; i < r; i++) {
		CHECK(got[i].member == want[i].member);
		CHECK(got[i].member_sector == want[i].member_sector);
		CHECK(got[i].nr_sectors == want[i].nr_sectors);
		CHECK(got[i].req_offset == want[i].req_offset);
	}
	check_segments(d, sector, nr, got, r);
}

/*
 * blkx_remap_single() is blkx_remap() with room for one segment.  Known
 * difference (reported): when the request spans chunks and its first
 * segment leaves its member, which only a member of partial chunks allows,
 * blkx_remap() says -EIO and blkx_remap_single() -E2BIG.
 */
static void check_single(const struct blkx_disk *d, uint64_t sector,
			 uint64_t nr)
{
	struct blkx_segment a, b;
	int ra = blkx_remap(d, sector, nr, &a, 1);
	int rb = blkx_remap_single(d, sector, nr, &b);

	if (!strict && ra == -BLKX_EIO && rb == -BLKX_E2BIG &&
	    !geometry_whole_chunks(d))
		return;
	CHECK(ra == rb);
	if (ra == 1) {
		CHECK(a.member == b.member);
		CHECK(a.member_sector == b.member_sector);
		CHECK(a.nr_sectors == b.nr_sectors);
		CHECK(a.req_offset == b.req_offset);
	}
}

struct extent_model {
	uint64_t lo[BLKX_MAX_DISK_MEMBERS];
	uint64_t hi[BLKX_MAX_DISK_MEMBERS]; /* last sector */
	uint64_t count[BLKX_MAX_DISK_MEMBERS];
};

static void model_add(struct extent_model *x, uint32_t m, uint64_t ms,
		      uint64_t len)
{
	if (!x->count[m] || ms < x->lo[m])
		x->lo[m] = ms;
	if (!x->count[m] || ms + len - 1 > x->hi[m])
		x->hi[m] = ms + len - 1;
	x->count[m] += len;
}

/* The model's per-member sectors; false when the request is too big. */
static bool model_extents(const struct blkx_disk *d, uint64_t sector,
			  uint64_t nr, struct extent_model *x)
{
	uint64_t done = 0;

	memset(x, 0, sizeof(*x));
	if (nr <= SECTOR_MODEL_MAX) {
		for (uint64_t k = 0; k < nr; k++) {
			uint32_t m;
			uint64_t ms;

			naive(d, sector + k, &m, &ms);
			model_add(x, m, ms, 1);
		}
		return true;
	}
	if (d->nr_members > 1 &&
	    (sector + nr - 1) / d->chunk_sectors - sector / d->chunk_sectors >=
		    CHUNK_MODEL_MAX)
		return false;
	while (done < nr) {
		uint64_t len = nr - done;
		uint64_t ms;
		uint32_t m;

		naive(d, sector + done, &m, &ms);
		if (d->nr_members > 1 &&
		    len > d->chunk_sectors - (sector + done) % d->chunk_sectors)
			len = d->chunk_sectors -
			      (sector + done) % d->chunk_sectors;
		model_add(x, m, ms, len);
		done += len;
	}
	return true;
}

/* Only for requests inside a disk blkx_disk_ok() accepts (its contract). */
static void check_extents(const struct blkx_disk *d, uint64_t sector,
			  uint64_t nr, uint32_t far_member, bool mapped)
{
	struct extent_model x;
	bool model = model_extents(d, sector, nr, &x);
	u128 sum = 0;
	__u64 start;

	for (uint32_t m = 0; m < d->nr_members; m++) {
		uint64_t len = blkx_member_extent(d, m, sector, nr, &start);

		sum += len;
		if (model && !x.count[m]) {
			CHECK(len == 0);
		} else if (model) {
			CHECK(x.hi[m] - x.lo[m] + 1 == x.count[m]);
			CHECK(start == x.lo[m] && len == x.count[m]);
		}
		/* every sector mapped: the extents stay in the members */
		if (mapped && len)
			CHECK((u128)start + len <= d->member_sectors);
	}
	/* each sector lives on exactly one member */
	CHECK(sum == nr);
	for (uint32_t m = d->nr_members; m < d->nr_members + 2; m++)
		CHECK(blkx_member_extent(d, m, sector, nr, &start) == 0);
	if (far_member >= d->nr_members)
		CHECK(blkx_member_extent(d, far_member, sector, nr, &start) ==
		      0);
}

static void check_member_sector(const struct blkx_member *mem,
				const struct blkx_segment *seg)
{
	uint64_t got = blkx_member_sector(mem, seg);

	if ((u128)seg->member_sector + seg->nr_sectors <= mem->size_sectors)
		CHECK(got == mem->offset_sectors + seg->member_sector);
	else
		CHECK(got == ~0ULL);
}

/* Every sector of a mapped request comes back to where it came from. */
static void check_unmap_segments(const struct blkx_disk *d, uint64_t sector,
				 const struct blkx_segment *seg, int n)
{
	for (int i = 0; i < n; i++) {
		uint64_t last = seg[i].nr_sectors - 1;

		for (uint64_t k = 0; k <= last; k++) {
			/* all of a small segment, else its first and last */
			if (last >= SECTOR_MODEL_MAX && k == 1)
				k = last;
			CHECK(blkx_unmap(d, seg[i].member,
					 seg[i].member_sector + k) ==
			      sector + seg[i].req_offset + k);
		}
	}
}

/*
 * Any member sector: the guest sector the layout puts there, computed
 * without overflow.  Known difference (reported): blkx_unmap() computes in
 * 64 bits and wraps when that guest sector is >= 2^64, which only members
 * of partial chunks near 2^64 sectors (or whose product with the member
 * count wraps) allow, and may then return a wrong sector inside the disk.
 */
static void check_unmap_point(const struct blkx_disk *d, bool ok, uint32_t m,
			      uint64_t ms)
{
	uint64_t got = blkx_unmap(d, m, ms);
	u128 guest;

	if (!ok || m >= d->nr_members || ms >= d->member_sectors) {
		CHECK(got == ~0ULL);
		return;
	}
	if (d->nr_members == 1)
		guest = ms;
	else
		guest = ((u128)(ms / d->chunk_sectors) * d->nr_members + m) *
				d->chunk_sectors +
			ms % d->chunk_sectors;
	if (!strict && guest > UINT64_MAX)
		return;
	CHECK(got == (guest < d->size_sectors ? (uint64_t)guest : ~0ULL));
}

/* --- the target -------------------------------------------------------- */

static void take_request(struct src *s, const struct blkx_disk *d,
			 uint64_t *sector, uint64_t *nr)
{
	uint8_t how = take_u8(s);
	uint64_t size = d->size_sectors;
	uint64_t chunk = d->chunk_sectors ? d->chunk_sectors : 1;

	switch (how & 3) {
	case 0:
		*sector = take_range(s, 0, size);
		break;
	case 1: /* at or near the end */
		*sector = size - take_range(s, 0, size < 64 ? size : 64);
		break;
	case 2: /* on or beside a chunk boundary */
		*sector = take_range(s, 0, size / chunk) * chunk +
			  take_range(s, 0, 2) - 1;
		break;
	default:
		*sector = take_u64(s);
		break;
	}
	switch (how >> 2 & 3) {
	case 0:
		*nr = take_range(s, 0, 1024);
		break;
	case 1: /* up to the end of the disk */
		*nr = take_range(s, 0, *sector <= size ? size - *sector : 0);
		break;
	case 2: /* whole chunks, give or take one */
		*nr = take_range(s, 0, 80) * chunk + take_range(s, 0, 2) - 1;
		break;
	default:
		*nr = take_u64(s);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct src s = {.p = data, .n = size};
	struct blkx_member mem = {0};
	struct blkx_segment segs[BLKX_MAX_SEGMENTS], rnd_seg;
	struct blkx_disk d;
	bool ok, accepted;
	uint32_t um;
	uint64_t ums;
	int nreq;

	take_geometry(&s, &d);
	ok = geometry_ok(&d);
	accepted = blkx_disk_ok(&d);
	/* corrupt geometries are refused, and only those */
	CHECK(ok == accepted);
	/* the member holding the segments: the disk's, or anything */
	if (take_u8(&s) & 1) {
		mem.offset_sectors = take_range(&s, 0, 1u << 20);
		mem.size_sectors = d.member_sectors;
	} else {
		mem.offset_sectors = take_u64(&s);
		mem.size_sectors = take_u64(&s);
	}
	nreq = (int)take_range(&s, 1, MAX_REQUESTS);

	/* once the bytes run out, all further requests would be the same */
	for (int i = 0; i < nreq && (i == 0 || s.n); i++) {
		uint64_t sector, nr;
		uint32_t max = (uint32_t)take_range(&s, 0, 70);
		uint32_t far = take_u32(&s);
		int r;

		take_request(&s, &d, &sector, &nr);
		r = blkx_remap(&d, sector, nr, segs, max);
		if (!accepted) {
			CHECK(r == -BLKX_EINVAL);
			CHECK(blkx_remap_single(&d, sector, nr, segs) ==
			      -BLKX_EINVAL);
			continue;
		}
		check_remap(&d, sector, nr, max);
		check_single(&d, sector, nr);
		for (int k = 0; k < r; k++)
			check_member_sector(&mem, &segs[k]);
		if (r > 0)
			check_unmap_segments(&d, sector, segs, r);
		if (nr && (u128)sector + nr <= d.size_sectors) {
			r = blkx_remap(&d, sector, nr, segs, BLKX_MAX_SEGMENTS);
			check_extents(&d, sector, nr, far,
				      r > 0 || geometry_whole_chunks(&d));
		}
		if (nr == 0) {
			__u64 start;

			CHECK(blkx_member_extent(&d, far % d.nr_members, sector,
						 0, &start) == 0);
		}
	}
	rnd_seg.member_sector = take_u64(&s);
	rnd_seg.nr_sectors = take_u32(&s);
	rnd_seg.member = 0;
	rnd_seg.req_offset = 0;
	check_member_sector(&mem, &rnd_seg);
	/* a member sector anywhere, or near the member's end */
	um = take_u32(&s);
	if (accepted)
		um %= d.nr_members + 2;
	ums = take_u8(&s) & 1 ? d.member_sectors - 1 - take_range(&s, 0, 64)
			      : take_u64(&s);
	check_unmap_point(&d, accepted, um, ums);
	return 0;
}
