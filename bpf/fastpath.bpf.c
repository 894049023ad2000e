// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * fastpath: the ublk data path inside the kernel.  One instance of this
 * object is attached, as an io_uring BPF struct_ops, to the ring of one
 * ublk queue; the queue thread then sleeps in io_uring_enter(GETEVENTS) and
 * the kernel runs loop_step on every batch of completions:
 *
 *   FETCH/COMMIT CQE (a request on tag T)
 *       -> read T's descriptor from the server's mapping of the iod array
 *       -> remap it with include/blkxlate/remap.h over the pinned maps
 *       -> READ_FIXED/WRITE_FIXED on the member's fixed file, using the
 *          request's own pages (UBLK_F_AUTO_BUF_REG registered them at
 *          buffer index T): zero copy
 *   member CQE -> COMMIT_AND_FETCH_REQ for T with the result
 *
 * Everything else (FLUSH, DISCARD, WRITE_ZEROES, a request spanning
 * chunks, a member error or short transfer, anything unexpected) is handed
 * to userspace: the program stops *before* consuming that CQE and returns
 * IOU_LOOP_STOP; the queue thread handles the CQEs from there with the
 * same per-tag state (this object's .bss) and re-enters.  The CQ head is
 * the hand-over point, so nothing is lost or completed twice.
 */
#include <linux/bpf.h>
#include <linux/io_uring.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include <blkxlate/kcompat.h>
#include <blkxlate/remap.h>
#include <blkxlate/request.h>
#include <blkxlate/stats.h>

#include "iou_ops.bpf.h"
#include "maps.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

#define CQE_BATCH 32  /* CQEs per step; each makes at most one SQE */
#define SQE_BYTES 128 /* IORING_SETUP_SQE128 */

/* Set by the loader before load (frozen: the verifier sees constants). */
const volatile __u32 cfg_disk;	      /* disks map index */
const volatile __u32 cfg_queue;	      /* ublk queue id */
const volatile __u32 cfg_depth;	      /* tags of the queue */
const volatile __u64 cfg_iod_base;    /* server's mmap of the iod array */
const volatile __u32 cfg_cq_head;     /* io_uring_params.cq_off.head */
const volatile __u32 cfg_cq_tail;     /* .cq_off.tail */
const volatile __u32 cfg_cq_cqes;     /* .cq_off.cqes */
const volatile __u32 cfg_cq_mask;     /* cq_entries - 1 */
const volatile __u64 cfg_rings_bytes; /* covers every CQ offset used */
const volatile __u64 cfg_sqes_bytes;  /* >= CQE_BATCH SQEs */

/* Shared with the queue thread (mmapped .bss), see struct blkx_tag. */
struct blkx_tag tags[BLKX_MAX_QUEUE_DEPTH];
struct blkx_qstate qs;

enum handoff {
	HANDOFF_NONE = 0,
	HANDOFF_OP,
	HANDOFF_SPLIT,
	HANDOFF_ERROR,
	HANDOFF_OTHER,
};

static __always_inline struct blkx_queue_stats *queue_counters(void)
{
	__u32 key = cfg_disk * BLKX_MAX_QUEUES + cfg_queue;

	return bpf_map_lookup_elem(&queue_stats, &key);
}

static __always_inline void count_member(const struct blkx_disk *d, __u64 ud)
{
	__u32 idx = d->first_member + blkx_udata_member(ud);
	struct blkx_io_stats *ms = bpf_map_lookup_elem(&member_stats, &idx);

	/* only successful member I/O is counted here: errors go to userspace */
	if (ms)
		blkx_count_io(ms, blkx_udata_op(ud) & ~BLKX_OP_FUA,
			      blkx_udata_op(ud) & BLKX_OP_FUA,
			      blkx_udata_sectors(ud), 0);
}

/* COMMIT_AND_FETCH_REQ for tag with res into sqe; the tag is free again. */
static __always_inline void commit(struct io_uring_sqe *sqe, __u32 tag,
				   struct blkx_tag *t, __s32 res)
{
	struct blkx_queue_stats *st = queue_counters();
	__u32 disk = cfg_disk;

	blkx_tag_end(t, &qs, bpf_map_lookup_elem(&lun_stats, &disk), res);
	blkx_prep_commit(sqe, (__u16)cfg_queue, tag, res, 1, 0);
	if (st)
		__sync_fetch_and_add(&st->bpf_commits, 1);
}

/* A request arrived on tag: serve a one-segment READ/WRITE into sqe. */
static __always_inline int on_request(struct io_uring_sqe *sqe, __u32 tag,
				      struct blkx_tag *t)
{
	struct blkx_queue_stats *st;
	struct ublksrv_io_desc iod;
	struct blkx_segment seg;
	struct blkx_member *m;
	struct blkx_disk *d;
	__u32 op, midx, disk = cfg_disk;
	__u64 dev_sector;

	if (bpf_copy_from_user(
		    &iod, sizeof(iod),
		    (void *)(cfg_iod_base + (__u64)tag * sizeof(iod))))
		return -HANDOFF_OTHER;
	op = blkx_iod_op(&iod);
	if (op != UBLK_IO_OP_READ && op != UBLK_IO_OP_WRITE)
		return -HANDOFF_OP;
	d = bpf_map_lookup_elem(&disks, &disk);
	if (!d)
		return -HANDOFF_OTHER;
	switch (blkx_remap_single(d, iod.start_sector, iod.nr_sectors, &seg)) {
	case 1:
		break;
	case -BLKX_E2BIG:
		return -HANDOFF_SPLIT;
	default:
		return -HANDOFF_OTHER;
	}
	midx = d->first_member + seg.member;
	m = bpf_map_lookup_elem(&members, &midx);
	if (!m)
		return -HANDOFF_OTHER;
	dev_sector = blkx_member_sector(m, &seg);
	if (dev_sector == ~0ULL)
		return -HANDOFF_OTHER;

	/* consumed from here on */
	blkx_tag_begin(t, &qs, &iod);
	t->pending = 1;
	blkx_prep_member_rw(sqe, t, tag, seg.member, dev_sector, seg.nr_sectors,
			    0);
	st = queue_counters();
	if (st)
		__sync_fetch_and_add(&st->bpf_rw, 1);
	return 1;
}

/*
 * One CQE.  A global function: the verifier checks it once, not once per
 * iteration of the caller's loop.  sqe is the free slot this CQE may use.
 * Returns 1 when consumed and sqe written, 0 when consumed without an SQE,
 * or -(enum handoff) when the CQE is left for userspace.
 */
__noinline int blkx_handle_cqe(__u64 ud, __s32 res, struct io_uring_sqe *sqe)
{
	__u32 tag = blkx_udata_tag(ud), disk = cfg_disk;
	struct blkx_disk *d;
	struct blkx_tag *t;

	if (!sqe || tag >= cfg_depth)
		return -HANDOFF_OTHER;
	t = &tags[tag & (BLKX_MAX_QUEUE_DEPTH - 1)];
	if (blkx_udata_kind(ud) == BLKX_SQE_UBLK) {
		if (!(t->flags & BLKX_TAG_FETCH))
			return -HANDOFF_OTHER;
		if (res == 0)
			return on_request(sqe, tag, t);
		if (res != BLKX_UBLK_ABORT)
			return -HANDOFF_OTHER;
		/* the device is stopping: this tag is done */
		blkx_tag_aborted(t, &qs);
		return 0;
	}
	if (blkx_udata_kind(ud) != BLKX_SQE_MEMBER ||
	    !(t->flags & BLKX_TAG_OWNED) || t->pending == 0)
		return -HANDOFF_OTHER;
	if (blkx_member_res(ud, res) < 0)
		return -HANDOFF_ERROR; /* userspace reports it */
	d = bpf_map_lookup_elem(&disks, &disk);
	if (d)
		count_member(d, ud);
	if (!blkx_member_done(t, res))
		return 0;
	commit(sqe, tag, t, t->result);
	return 1;
}

static __always_inline void count_handoff(struct blkx_queue_stats *st, int why)
{
	if (!st)
		return;
	if (why == HANDOFF_OP)
		__sync_fetch_and_add(&st->handoff_op, 1);
	else if (why == HANDOFF_SPLIT)
		__sync_fetch_and_add(&st->handoff_split, 1);
	else if (why == HANDOFF_ERROR)
		__sync_fetch_and_add(&st->handoff_error, 1);
	else
		__sync_fetch_and_add(&st->handoff_other, 1);
	__sync_fetch_and_add(&st->stops, 1);
}

SEC("struct_ops.s/loop_step")
int BPF_PROG(blkx_loop_step, struct iou_ctx *ring, struct iou_loop_params *lp)
{
	struct blkx_queue_stats *st = queue_counters();
	__u32 *khead, *ktail, head, tail, nsqe = 0;
	__u8 *rings, *sqes;
	int why = HANDOFF_NONE;

	if (st)
		__sync_fetch_and_add(&st->loop_steps, 1);
	rings = bpf_io_uring_get_region(ring, IOU_REGION_CQ, cfg_rings_bytes);
	sqes = bpf_io_uring_get_region(ring, IOU_REGION_SQ, cfg_sqes_bytes);
	if (!rings || !sqes)
		return IOU_LOOP_STOP;
	if (cfg_cq_head > cfg_rings_bytes - 4 ||
	    cfg_cq_tail > cfg_rings_bytes - 4 ||
	    cfg_sqes_bytes < CQE_BATCH * SQE_BYTES)
		return IOU_LOOP_STOP;
	if (qs.user_sqes) {
		/* what the userspace slow path queued (SQ_REWIND: at 0..n-1) */
		__u32 n = qs.user_sqes;

		qs.user_sqes = 0;
		if (bpf_io_uring_submit_sqes(ring, n) != (int)n && st)
			__sync_fetch_and_add(&st->submit_errors, 1);
	}
	khead = (__u32 *)(rings + cfg_cq_head);
	ktail = (__u32 *)(rings + cfg_cq_tail);
	head = *khead;
	tail = *(volatile __u32 *)ktail;
	asm volatile("" ::: "memory"); /* read CQEs after the tail */

	for (int i = 0; i < CQE_BATCH; i++) {
		struct io_uring_cqe *cqe;
		__u64 off;
		int r;

		if (head == tail)
			break;
		off = cfg_cq_cqes +
		      (__u64)(head & cfg_cq_mask) * sizeof(struct io_uring_cqe);
		if (off > cfg_rings_bytes - sizeof(struct io_uring_cqe))
			break;
		cqe = (struct io_uring_cqe *)(rings + off);
		/* each CQE makes at most one SQE: slot nsqe <= i is free */
		r = blkx_handle_cqe(
			cqe->user_data, cqe->res,
			(struct io_uring_sqe *)(sqes +
						(nsqe & (CQE_BATCH - 1)) *
							SQE_BYTES));
		if (r < 0) {
			why = -r;
			break;
		}
		nsqe += r;
		head++;
	}
	if (nsqe) {
		if (bpf_io_uring_submit_sqes(ring, nsqe) != (int)nsqe && st)
			__sync_fetch_and_add(&st->submit_errors, 1);
	}
	asm volatile("" ::: "memory");
	*(volatile __u32 *)khead = head; /* these CQEs are consumed */

	if (why != HANDOFF_NONE) {
		count_handoff(st, why);
		return IOU_LOOP_STOP;
	}
	if (qs.cmds_live == 0 && qs.ios_owned == 0) {
		/* every fetch was aborted: the device stopped */
		if (st)
			__sync_fetch_and_add(&st->stops, 1);
		return IOU_LOOP_STOP;
	}
	lp->cq_wait_idx = head + 1; /* sleep until the next CQE */
	return IOU_LOOP_CONTINUE;
}

SEC(".struct_ops.link")
struct io_uring_bpf_ops blkx_ops = {
	.loop_step = (void *)blkx_loop_step,
};
