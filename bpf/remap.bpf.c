// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * remap: answer "where does (controller, location, sector, count) live?"
 * from the pinned maps, with the same remap header the data paths use.
 * A BPF_PROG_TYPE_SYSCALL program run with BPF_PROG_RUN (blkxlate map-lba,
 * and the BPF-vs-C equivalence test).
 *
 * The verifier only allows constant offsets into ctx, while the remap loop
 * indexes its segment array.  So the request is copied into a per-CPU
 * scratch entry, remapped there, and copied back.  Syscall programs run
 * with migration disabled but may be preempted: the scratch entry carries
 * an owner flag, and a second caller on the same CPU gets -EBUSY (and
 * retries) instead of sharing it.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include <blkxlate/remap.h>

#include "maps.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

struct remap_scratch {
	__u32 busy;
	__u32 pad;
	struct blkx_remap_ctx rq;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct remap_scratch);
} remap_scratch SEC(".maps");

/* Member-relative sectors -> device sectors; n segments, n > 0. */
static int apply_member_offsets(const struct blkx_disk *d,
				struct blkx_remap_ctx *rq, int n)
{
	for (int i = 0; i < BLKX_MAX_SEGMENTS && i < n; i++) {
		struct blkx_segment *s = &rq->segs[i];
		__u32 idx = d->first_member + s->member;
		struct blkx_member *m;
		__u64 dev_sector;

		m = bpf_map_lookup_elem(&members, &idx);
		if (!m)
			return -BLKX_EINVAL;
		dev_sector = blkx_member_sector(m, s);
		if (dev_sector == ~0ULL)
			return -BLKX_EIO;
		s->member_sector = dev_sector;
	}
	return n;
}

static int remap_request(struct blkx_remap_ctx *rq)
{
	struct blkx_disk *d;
	struct blkx_lun *lun;
	__u32 disk;
	int n;

	lun = bpf_map_lookup_elem(&luns, &rq->lun);
	if (!lun)
		return -BLKX_ENOENT;
	disk = lun->disk;
	rq->disk = disk;
	d = bpf_map_lookup_elem(&disks, &disk);
	if (!d)
		return -BLKX_EINVAL;
	n = blkx_remap(d, rq->sector, rq->nr_sectors, rq->segs,
		       BLKX_MAX_SEGMENTS);
	if (n > 0)
		n = apply_member_offsets(d, rq, n);
	return n;
}

SEC("syscall")
int blkx_map_lba(struct blkx_remap_ctx *ctx_rq)
{
	struct remap_scratch *sc;
	__u32 zero = 0;

	sc = bpf_map_lookup_elem(&remap_scratch, &zero);
	if (!sc)
		return 0;
	if (__sync_val_compare_and_swap(&sc->busy, 0, 1) != 0) {
		ctx_rq->result = -BLKX_EBUSY;
		return 0;
	}
	__builtin_memcpy(&sc->rq.lun, &ctx_rq->lun, sizeof(sc->rq.lun));
	sc->rq.sector = ctx_rq->sector;
	sc->rq.nr_sectors = ctx_rq->nr_sectors;
	sc->rq.disk = 0;
	sc->rq.result = remap_request(&sc->rq);

	ctx_rq->result = sc->rq.result;
	ctx_rq->disk = sc->rq.disk;
	/* straight-line copy: ctx offsets must be constants */
#pragma clang loop unroll(full)
	for (int i = 0; i < BLKX_MAX_SEGMENTS; i++)
		ctx_rq->segs[i] = sc->rq.segs[i];
	asm volatile("" ::: "memory");
	sc->busy = 0;
	return 0;
}
