/* SPDX-License-Identifier: MIT */
/*
 * The one stripe math of blkxlate, compiled into the BPF programs and into
 * the userspace data path alike.  Pure functions over the geometry in the
 * disks/members maps; no libc, no allocation.
 *
 * Layout (as OpenHCL's striped disk): chunk c of the logical disk lives on
 * member c mod n at member sector (c / n) * chunk + offset-in-chunk.  A
 * single backing is a one-member disk mapped straight through.
 */
#ifndef BLKXLATE_REMAP_H
#define BLKXLATE_REMAP_H

#include "abi.h"

/* errno values, spelled out so that BPF code needs no libc headers */
#define BLKX_EIO    5
#define BLKX_E2BIG  7
#define BLKX_ENOENT 2
#define BLKX_EBUSY  16
#define BLKX_EINVAL 22
#define BLKX_ERANGE 34

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/*
 * Geometry sanity that the planner guarantees; checked again here so that a
 * corrupted map entry yields an error instead of a division by zero.
 */
static __always_inline int blkx_disk_ok(const struct blkx_disk *d)
{
	if (d->nr_members == 0 || d->nr_members > BLKX_MAX_DISK_MEMBERS)
		return 0;
	if (d->nr_members > 1 &&
	    (d->chunk_sectors == 0 || d->member_sectors % d->chunk_sectors))
		return 0; /* members hold whole chunks */
	/* with at most 32 (2^5) members, below 2^58 sectors (2^67 bytes) per
	 * member no product or sum of this math wraps */
	if (d->member_sectors >> 58)
		return 0;
	if (d->size_sectors > d->member_sectors * d->nr_members)
		return 0;
	return 1;
}

/* 0 when [sector, sector + nr) lies inside the disk, else -BLKX_ERANGE. */
static __always_inline int blkx_remap_check(const struct blkx_disk *d,
					    __u64 sector, __u64 nr)
{
	if (nr > d->size_sectors || sector > d->size_sectors - nr)
		return -BLKX_ERANGE;
	return 0;
}

/*
 * The first segment of [sector, sector + nr), nr > 0, inside the disk.
 * Fills seg->member and seg->member_sector (relative to the member's usable
 * range) and returns the segment length in sectors.
 */
static __always_inline __u64 blkx_remap_one(const struct blkx_disk *d,
					    __u64 sector, __u64 nr,
					    struct blkx_segment *seg)
{
	__u64 chunk, stripe, in_chunk, len;

	if (d->nr_members <= 1) {
		seg->member = 0;
		seg->member_sector = sector;
		return nr;
	}
	chunk = sector / d->chunk_sectors;
	in_chunk = sector - chunk * d->chunk_sectors;
	stripe = chunk / d->nr_members;
	seg->member = (__u32)(chunk - stripe * d->nr_members);
	seg->member_sector = stripe * d->chunk_sectors + in_chunk;
	len = d->chunk_sectors - in_chunk;
	return len < nr ? len : nr;
}

/*
 * Map a request onto member segments.  segs has room for max entries
 * (max <= BLKX_MAX_SEGMENTS); member_sector is relative to each member's
 * usable range (add blkx_member.offset_sectors for the device sector, see
 * blkx_member_sector()).  Returns the number of segments, 0 for nr == 0, or
 *   -BLKX_EINVAL  the geometry is corrupt,
 *   -BLKX_ERANGE  the request leaves the disk (or nr does not fit 32 bits
 *                 per segment),
 *   -BLKX_E2BIG   more than max segments would be needed,
 *   -BLKX_EIO     a post-condition failed (a segment would leave its member
 *                 or the lengths do not add up): never issue such a request.
 */
static __always_inline int blkx_remap(const struct blkx_disk *d, __u64 sector,
				      __u64 nr, struct blkx_segment *segs,
				      __u32 max)
{
	__u64 done = 0;
	int n = 0;
	int i;

	if (!blkx_disk_ok(d))
		return -BLKX_EINVAL;
	if (blkx_remap_check(d, sector, nr))
		return -BLKX_ERANGE;
	if (max > BLKX_MAX_SEGMENTS)
		max = BLKX_MAX_SEGMENTS;

	for (i = 0; i < BLKX_MAX_SEGMENTS; i++) {
		struct blkx_segment *s = &segs[i];
		__u64 len;

		if (done >= nr)
			break;
		if ((__u32)i >= max)
			return -BLKX_E2BIG;
		len = blkx_remap_one(d, sector + done, nr - done, s);
		if (len > 0xffffffffULL)
			return -BLKX_ERANGE;
		/* post-condition: the segment stays inside its member */
		if (s->member >= d->nr_members ||
		    s->member_sector + len > d->member_sectors)
			return -BLKX_EIO;
		s->nr_sectors = (__u32)len;
		s->req_offset = done;
		done += len;
		n++;
	}
	if (done < nr)
		return -BLKX_E2BIG;
	if (done != nr) /* post-condition: lengths add up to the request */
		return -BLKX_EIO;
	return n;
}

/*
 * The data path's common case, without a loop (the BPF verifier walks every
 * iteration of a loop): a request inside one chunk is one segment.  The
 * same math and checks as blkx_remap() with max == 1, which the unit tests
 * assert.  Returns 1 with *seg filled, or the errors of blkx_remap():
 * -BLKX_E2BIG when the request spans chunks.
 */
static __always_inline int blkx_remap_single(const struct blkx_disk *d,
					     __u64 sector, __u64 nr,
					     struct blkx_segment *seg)
{
	__u64 len;

	if (!blkx_disk_ok(d))
		return -BLKX_EINVAL;
	if (blkx_remap_check(d, sector, nr))
		return -BLKX_ERANGE;
	if (nr == 0)
		return 0;
	len = blkx_remap_one(d, sector, nr, seg);
	/* the checks of blkx_remap(), in its order */
	if (len > 0xffffffffULL)
		return -BLKX_ERANGE;
	if (seg->member >= d->nr_members ||
	    seg->member_sector + len > d->member_sectors)
		return -BLKX_EIO;
	if (len < nr)
		return -BLKX_E2BIG;
	seg->nr_sectors = (__u32)len;
	seg->req_offset = 0;
	return 1;
}

/*
 * The part of [sector, sector + nr) that lives on member m, as one range:
 * the chunks of one member are consecutive rows of the stripe, so for
 * discard and write-zeroes every member gets a single contiguous extent
 * (OpenHCL merges unmap ranges the same way).  The request must be inside
 * the disk (blkx_remap_check).  Returns the extent length in sectors (0 when
 * the member holds none of it) and sets *start, relative to the member's
 * usable range.
 */
static __always_inline __u64 blkx_member_extent(const struct blkx_disk *d,
						__u32 m, __u64 sector, __u64 nr,
						__u64 *start)
{
	__u64 cs = d->chunk_sectors, n = d->nr_members;
	__u64 c_first, c_last, c_a, c_b, s, e;

	*start = 0;
	if (nr == 0 || m >= d->nr_members)
		return 0;
	if (n <= 1) {
		*start = sector;
		return nr;
	}
	c_first = sector / cs;
	c_last = (sector + nr - 1) / cs;
	c_a = c_first + (m + n - c_first % n) % n; /* first chunk of m */
	if (c_a > c_last)
		return 0;
	c_b = c_last - (c_last % n + n - m) % n; /* last chunk of m */
	if (c_a == c_first)
		s = (c_a / n) * cs + (sector - c_first * cs);
	else
		s = (c_a / n) * cs;
	if (c_b == c_last)
		e = (c_b / n) * cs + (sector + nr - c_last * cs);
	else
		e = (c_b / n + 1) * cs;
	*start = s;
	return e - s;
}

/*
 * The inverse of the layout: the guest sector that member m's (usable
 * range) sector ms holds, or ~0 when it holds none (outside the member,
 * or beyond a smaller presented disk).  Tracing uses it to name the guest
 * sector of a member I/O.
 */
static __always_inline __u64 blkx_unmap(const struct blkx_disk *d, __u32 m,
					__u64 ms)
{
	__u64 row, guest;

	if (!blkx_disk_ok(d) || m >= d->nr_members || ms >= d->member_sectors)
		return ~0ULL;
	if (d->nr_members <= 1)
		guest = ms;
	else {
		row = ms / d->chunk_sectors;
		guest = (row * d->nr_members + m) * d->chunk_sectors +
			(ms - row * d->chunk_sectors);
	}
	return guest < d->size_sectors ? guest : ~0ULL;
}

/*
 * A member marked failed (BLKX_MEMBER_FAILED, e.g. a file cut below its
 * range) takes no more I/O.  The daemon sets the flag while queues read
 * it, hence the one volatile load.
 */
static __always_inline int blkx_member_failed(const struct blkx_member *m)
{
	return (*(const volatile __u32 *)&m->flags & BLKX_MEMBER_FAILED) != 0;
}

/*
 * Device sector of a segment on its member, or -1 (as all ones) when the
 * segment does not fit the member's usable range or the member failed.
 */
static __always_inline __u64 blkx_member_sector(const struct blkx_member *m,
						const struct blkx_segment *s)
{
	if (blkx_member_failed(m) || s->member_sector > m->size_sectors ||
	    s->nr_sectors > m->size_sectors - s->member_sector)
		return ~0ULL;
	return m->offset_sectors + s->member_sector;
}

#endif /* BLKXLATE_REMAP_H */
