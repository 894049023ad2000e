// SPDX-License-Identifier: MIT
/*
 * request: the userspace request handler.  Each request is remapped with
 * the shared remap header over the disk's geometry (the numbers the BPF
 * maps hold) and becomes member SQEs encoded by the shared request header:
 *   READ/WRITE     one READ_FIXED/WRITE_FIXED per segment (zero copy on the
 *                  request's own pages where UBLK_F_AUTO_BUF_REG exists);
 *                  a FUA write carries RWF_DSYNC on every member written
 *   FLUSH          fdatasync on every member
 * A member marked failed (blkx_member_failed) fails every request that
 * needs it with -EIO.
 *   DISCARD        punch hole (unmap, reads zero) of each member's extent
 *   WRITE_ZEROES   zero range (or punch hole) of each member's extent
 * Every sub-I/O is awaited even after an error; the first error wins and a
 * short transfer is -EIO (blkx_member_res, blkx_member_done).
 */
#include <errno.h>
#include <string.h>

#include <blkxlate/remap.h>
#include <blkxlate/request.h>

#include "base/log.h"
#include "dataplane/queue.h"

/* The member SQEs of a request are queued: commit now if there are none
 * (everything failed before the first), else wait for their CQEs. */
static void issued(struct queue *q, unsigned int tag)
{
	struct blkx_tag *t = &q->tags[tag];

	if (!t->pending)
		queue_commit(q, tag, t->result);
}

/* One more member SQE for t at dev_sector, or NULL with the request
 * failing -EIO: the ring is full, or dev_sector is ~0 (outside the member,
 * blkx_member_sector()). */
static struct io_uring_sqe *member_sqe(struct queue *q, struct blkx_tag *t,
				       uint64_t dev_sector)
{
	struct io_uring_sqe *sqe =
		dev_sector == ~0ULL ? NULL : queue_get_sqe(q);

	if (sqe)
		t->pending++;
	else
		t->result = -EIO;
	return sqe;
}

static void serve_rw(struct queue *q, unsigned int tag,
		     const struct ublksrv_io_desc *iod)
{
	struct blkx_segment segs[BLKX_MAX_SEGMENTS];
	struct ldisk *ld = q->ld;
	struct blkx_tag *t = &q->tags[tag];
	int n;

	n = blkx_remap(&ld->geo, iod->start_sector, iod->nr_sectors, segs,
		       BLKX_MAX_SEGMENTS);
	if (n <= 0) {
		log_error(
			"dev %u: %s of %u sectors at %llu not mapped: %s",
			ld->dev_id, t->op == UBLK_IO_OP_READ ? "read" : "write",
			iod->nr_sectors, (unsigned long long)iod->start_sector,
			strerror(n ? -n : EINVAL));
		queue_commit(q, tag, n ? n : -EINVAL);
		return;
	}
	for (int i = 0; i < n; i++) {
		uint64_t dev_sector = blkx_member_sector(
			&ld->members[segs[i].member], &segs[i]);
		uint64_t boff = segs[i].req_offset << BLKX_SECTOR_SHIFT;
		struct io_uring_sqe *sqe = member_sqe(q, t, dev_sector);

		if (!sqe)
			break;
		/* zero copy: an offset into the registered request buffer,
		 * whose base is 0; copy mode: our buffer's address */
		blkx_prep_member_rw(
			sqe, t, tag, segs[i].member, dev_sector,
			segs[i].nr_sectors,
			ld->zero_copy
				? boff
				: (uint64_t)(uintptr_t)q->bufs[tag] + boff);
	}
	issued(q, tag);
}

static void serve_flush(struct queue *q, unsigned int tag)
{
	struct blkx_tag *t = &q->tags[tag];

	for (int m = 0; m < q->ld->nr_members; m++) {
		/* a failed member cannot make the guest's writes durable */
		struct io_uring_sqe *sqe = member_sqe(
			q, t,
			blkx_member_failed(&q->ld->members[m]) ? ~0ULL : 0);

		if (!sqe)
			break;
		blkx_prep_member_flush(sqe, tag, (unsigned int)m);
	}
	issued(q, tag);
}

/* DISCARD and WRITE_ZEROES: one fallocate per member extent. */
static void serve_zero(struct queue *q, unsigned int tag,
		       const struct ublksrv_io_desc *iod)
{
	struct ldisk *ld = q->ld;
	struct blkx_tag *t = &q->tags[tag];

	if (blkx_remap_check(&ld->geo, iod->start_sector, iod->nr_sectors)) {
		queue_commit(q, tag, -EIO);
		return;
	}
	for (int m = 0; m < ld->nr_members; m++) {
		__u64 start;
		__u64 len = blkx_member_extent(&ld->geo, (__u32)m,
					       iod->start_sector,
					       iod->nr_sectors, &start);
		struct blkx_segment ext = {.member_sector = start,
					   .nr_sectors = (__u32)len};
		struct io_uring_sqe *sqe;
		uint64_t dev_sector;

		if (!len)
			continue;
		dev_sector =
			len > 0xffffffffULL
				? ~0ULL
				: blkx_member_sector(&ld->members[m], &ext);
		sqe = member_sqe(q, t, dev_sector);
		if (!sqe)
			break;
		blkx_prep_member_zero(sqe, tag, (unsigned int)m, t->op,
				      iod->op_flags & UBLK_IO_F_NOUNMAP,
				      dev_sector, len);
	}
	issued(q, tag);
}

/* The kernel answered tag's FETCH/COMMIT: a request, or the end. */
static void on_ublk_cqe(struct queue *q, const struct io_uring_cqe *cqe)
{
	unsigned int tag = blkx_udata_tag(cqe->user_data);
	struct blkx_tag *t = &q->tags[tag];
	const struct ublksrv_io_desc *iod = &q->iods[tag];

	if (cqe->res != UBLK_IO_RES_OK) {
		if (cqe->res != UBLK_IO_RES_ABORT)
			log_error(
				"dev %u queue %u tag %u: ublk command failed: %s",
				q->ld->dev_id, q->q_id, tag,
				strerror(-cqe->res));
		/* -ENODEV: the device is stopping; this tag is done */
		blkx_tag_aborted(t, q->qs);
		return;
	}
	blkx_tag_begin(t, q->qs, iod);
	if (q->qstats)
		stats_add(t->op == UBLK_IO_OP_READ || t->op == UBLK_IO_OP_WRITE
				  ? &q->qstats->user_rw
				  : &q->qstats->user_other,
			  1);
	switch (t->op) {
	case UBLK_IO_OP_READ:
	case UBLK_IO_OP_WRITE:
		serve_rw(q, tag, iod);
		break;
	case UBLK_IO_OP_FLUSH:
		serve_flush(q, tag);
		break;
	case UBLK_IO_OP_DISCARD:
	case UBLK_IO_OP_WRITE_ZEROES:
		serve_zero(q, tag, iod);
		break;
	default:
		log_warn("dev %u: unsupported operation %u", q->ld->dev_id,
			 t->op);
		queue_commit(q, tag, -EOPNOTSUPP);
	}
}

/* A member I/O of a request completed. */
static void on_member_cqe(struct queue *q, const struct io_uring_cqe *cqe)
{
	unsigned int tag = blkx_udata_tag(cqe->user_data);
	unsigned int member = blkx_udata_member(cqe->user_data);
	unsigned int op = blkx_udata_op(cqe->user_data) & ~BLKX_OP_FUA;
	bool fua = blkx_udata_op(cqe->user_data) & BLKX_OP_FUA;
	uint32_t sectors = blkx_udata_sectors(cqe->user_data);
	struct blkx_tag *t = &q->tags[tag];
	int32_t res = blkx_member_res(cqe->user_data, cqe->res);

	if (!(t->flags & BLKX_TAG_OWNED) || !t->pending) {
		log_error(
			"dev %u queue %u tag %u: a member completion for no request (res %d)",
			q->ld->dev_id, q->q_id, tag, cqe->res);
		return;
	}
	if (res < 0 && cqe->res >= 0)
		log_error("dev %u: short %s on member %u: %d of %u bytes",
			  q->ld->dev_id,
			  op == UBLK_IO_OP_READ ? "read" : "write", member,
			  cqe->res, sectors << BLKX_SECTOR_SHIFT);
	if (res < 0 && t->result >= 0) /* the first error wins */
		log_error("dev %u: member %u: op %u failed: %s", q->ld->dev_id,
			  member, op, strerror(-res));
	if (q->ld->member_stats)
		blkx_count_io(&q->ld->member_stats[member], op, fua, sectors,
			      res < 0);
	if (blkx_member_done(t, res))
		queue_commit(q, tag, t->result);
}

void request_handle_cqe(struct queue *q, const struct io_uring_cqe *cqe)
{
	if (blkx_udata_kind(cqe->user_data) == BLKX_SQE_UBLK)
		on_ublk_cqe(q, cqe);
	else
		on_member_cqe(q, cqe);
}
