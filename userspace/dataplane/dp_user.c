// SPDX-License-Identifier: MIT
/*
 * dp_user: the userspace data path.  Each request is remapped with the
 * shared remap header over the disk's geometry (the same numbers the BPF
 * maps hold) and becomes io_uring I/O on the members' fixed files:
 *   READ/WRITE     one READ_FIXED/WRITE_FIXED per segment (zero copy on the
 *                  request's own pages where UBLK_F_AUTO_BUF_REG exists);
 *                  FUA writes carry RWF_DSYNC, which the block layer turns
 *                  into FUA (or a flush) on each member written
 *   FLUSH          fdatasync on every member
 *   DISCARD        punch-hole (unmap, reads zero) of each member's extent
 *   WRITE_ZEROES   zero-range of each member's extent
 * Every sub-I/O is awaited even after an error; the first error wins and a
 * short transfer is -EIO.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>

#include <blkxlate/remap.h>
#include <blkxlate/stats.h>

#include "base/log.h"
#include "dataplane/queue.h"

static void prep_member_sqe(struct io_uring_sqe *sqe, unsigned int member,
			    unsigned int tag, unsigned int op,
			    uint32_t nr_sectors)
{
	sqe->fd = (int)(1 + member); /* fixed file index */
	sqe->flags |= IOSQE_FIXED_FILE;
	sqe->user_data =
		blkx_udata(BLKX_SQE_MEMBER, tag, member, op, nr_sectors);
}

static int queue_rw(struct queue *q, unsigned int tag,
		    const struct ublksrv_io_desc *iod, unsigned int op)
{
	struct blkx_segment segs[BLKX_MAX_SEGMENTS];
	struct ldisk *ld = q->ld;
	struct blkx_tag *io = &q->tags[tag];
	int n;

	n = blkx_remap(&ld->geo, iod->start_sector, iod->nr_sectors, segs,
		       BLKX_MAX_SEGMENTS);
	if (n <= 0) {
		log_error("dev %u: %s of %u sectors at %llu not mapped: %s",
			  ld->dev_id, op == UBLK_IO_OP_READ ? "read" : "write",
			  iod->nr_sectors,
			  (unsigned long long)iod->start_sector,
			  strerror(n ? -n : EINVAL));
		return queue_commit(q, tag, n ? n : -EINVAL);
	}
	io->result = (int32_t)(iod->nr_sectors << BLKX_SECTOR_SHIFT);
	for (int i = 0; i < n; i++) {
		struct io_uring_sqe *sqe = queue_get_sqe(q);
		uint64_t dev_sector = blkx_member_sector(
			&ld->members[segs[i].member], &segs[i]);
		uint64_t off = dev_sector << BLKX_SECTOR_SHIFT;
		uint64_t boff = segs[i].req_offset << BLKX_SECTOR_SHIFT;
		unsigned int len = segs[i].nr_sectors << BLKX_SECTOR_SHIFT;
		/* zero copy: an offset into the registered request buffer,
		 * whose base is 0; copy mode: our buffer's address */
		uint64_t addr =
			ld->zero_copy
				? boff
				: (uint64_t)(uintptr_t)q->bufs[tag] + boff;

		if (!sqe || dev_sector == ~0ULL) {
			io->result = -EIO;
			break;
		}
		if (op == UBLK_IO_OP_READ)
			io_uring_prep_read_fixed(sqe, 0,
						 (void *)(uintptr_t)addr, len,
						 off, (int)tag);
		else
			io_uring_prep_write_fixed(sqe, 0,
						  (const void *)(uintptr_t)addr,
						  len, off, (int)tag);
		if (op == UBLK_IO_OP_WRITE && (io->flags & BLKX_TAG_FUA))
			sqe->rw_flags = RWF_DSYNC; /* FUA on this member */
		prep_member_sqe(
			sqe, segs[i].member, tag,
			op | (io->flags & BLKX_TAG_FUA ? BLKX_OP_FUA : 0),
			segs[i].nr_sectors);
		io->pending++;
	}
	if (!io->pending)
		return queue_commit(q, tag, io->result);
	return 0;
}

static int queue_flush(struct queue *q, unsigned int tag)
{
	struct blkx_tag *io = &q->tags[tag];

	for (int m = 0; m < q->ld->nr_members; m++) {
		struct io_uring_sqe *sqe = queue_get_sqe(q);

		if (!sqe) {
			io->result = -EIO;
			break;
		}
		io_uring_prep_fsync(sqe, 0, IORING_FSYNC_DATASYNC);
		prep_member_sqe(sqe, (unsigned int)m, tag, UBLK_IO_OP_FLUSH, 0);
		io->pending++;
	}
	if (!io->pending)
		return queue_commit(q, tag, io->result);
	return 0;
}

/* DISCARD and WRITE_ZEROES: one fallocate per member extent. */
static int queue_zero(struct queue *q, unsigned int tag,
		      const struct ublksrv_io_desc *iod, unsigned int op)
{
	struct ldisk *ld = q->ld;
	struct blkx_tag *io = &q->tags[tag];
	int mode = FALLOC_FL_KEEP_SIZE;

	if (blkx_remap_check(&ld->geo, iod->start_sector, iod->nr_sectors))
		return queue_commit(q, tag, -EIO);
	if (op == UBLK_IO_OP_DISCARD ||
	    !((iod->op_flags >> 8) & (UBLK_IO_F_NOUNMAP >> 8)))
		mode |= FALLOC_FL_PUNCH_HOLE; /* unmap; reads return zeroes */
	else
		mode |= FALLOC_FL_ZERO_RANGE;
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
		sqe = queue_get_sqe(q);
		if (!sqe || dev_sector == ~0ULL) {
			io->result = -EIO;
			break;
		}
		io_uring_prep_fallocate(sqe, 0, mode,
					dev_sector << BLKX_SECTOR_SHIFT,
					len << BLKX_SECTOR_SHIFT);
		prep_member_sqe(sqe, (unsigned int)m, tag, op,
				(uint32_t)(len > 0xffffff ? 0 : len));
		io->pending++;
	}
	if (!io->pending)
		return queue_commit(q, tag, io->result);
	return 0;
}

int dp_user_queue_io(struct queue *q, unsigned int tag,
		     const struct ublksrv_io_desc *iod)
{
	unsigned int op = iod->op_flags & 0xff;

	switch (op) {
	case UBLK_IO_OP_READ:
	case UBLK_IO_OP_WRITE:
		return queue_rw(q, tag, iod, op);
	case UBLK_IO_OP_FLUSH:
		return queue_flush(q, tag);
	case UBLK_IO_OP_DISCARD:
	case UBLK_IO_OP_WRITE_ZEROES:
		return queue_zero(q, tag, iod, op);
	default:
		log_warn("dev %u: unsupported operation %u", q->ld->dev_id, op);
		return queue_commit(q, tag, -EOPNOTSUPP);
	}
}

void dp_user_io_done(struct queue *q, const struct io_uring_cqe *cqe)
{
	unsigned int tag = blkx_udata_tag(cqe->user_data);
	unsigned int member = blkx_udata_member(cqe->user_data);
	unsigned int op = blkx_udata_op(cqe->user_data) & ~BLKX_OP_FUA;
	bool fua = blkx_udata_op(cqe->user_data) & BLKX_OP_FUA;
	uint32_t sectors = blkx_udata_sectors(cqe->user_data);
	struct blkx_tag *io = &q->tags[tag];
	int res = cqe->res;

	if ((op == UBLK_IO_OP_READ || op == UBLK_IO_OP_WRITE) && res >= 0 &&
	    (uint32_t)res != sectors << BLKX_SECTOR_SHIFT) {
		log_error("dev %u: short %s on member %u: %d of %u bytes",
			  q->ld->dev_id,
			  op == UBLK_IO_OP_READ ? "read" : "write", member, res,
			  sectors << BLKX_SECTOR_SHIFT);
		res = -EIO;
	}
	if (res < 0) {
		if (io->result >= 0) /* the first error wins */
			log_error("dev %u: member %u: op %u failed: %s",
				  q->ld->dev_id, member, op, strerror(-res));
		if (io->result >= 0)
			io->result = res;
	}
	if (q->ld->member_stats)
		blkx_count_io(&q->ld->member_stats[member], op, fua, sectors,
			      res < 0);
	if (--io->pending == 0)
		queue_commit(q, tag, io->result);
}

/* --- the userspace loop (liburing) ------------------------------------- */

static int setup_ring(struct queue *q)
{
	struct io_uring_params p;
	unsigned int entries = 64;
	int ret;

	while (entries < q->depth * 2u && entries < 4096)
		entries <<= 1;
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_SQE128 | IORING_SETUP_SINGLE_ISSUER |
		  IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_COOP_TASKRUN;
	ret = io_uring_queue_init_params(entries, &q->ring, &p);
	if (ret == -EINVAL) {
		/* before 6.1: no DEFER_TASKRUN/SINGLE_ISSUER */
		memset(&p, 0, sizeof(p));
		p.flags = IORING_SETUP_SQE128;
		ret = io_uring_queue_init_params(entries, &q->ring, &p);
	}
	return ret;
}

static int setup_buffers(struct queue *q)
{
	struct iovec *iov;
	int ret;

	if (q->ld->zero_copy)
		/* the driver registers each request's pages at index = tag */
		return io_uring_register_buffers_sparse(&q->ring, q->depth);
	q->bufs = calloc(q->depth, sizeof(*q->bufs));
	iov = calloc(q->depth, sizeof(*iov));
	if (!q->bufs || !iov) {
		free(iov);
		return -ENOMEM;
	}
	for (unsigned int t = 0; t < q->depth; t++) {
		if (posix_memalign(&q->bufs[t], 4096, q->ld->max_io_bytes)) {
			free(iov);
			return -ENOMEM;
		}
		iov[t].iov_base = q->bufs[t];
		iov[t].iov_len = q->ld->max_io_bytes;
	}
	ret = io_uring_register_buffers(&q->ring, iov, q->depth);
	free(iov);
	return ret;
}

static int dp_user_setup(struct queue *q)
{
	int ret;

	q->tags = calloc(q->depth, sizeof(*q->tags));
	q->qs = calloc(1, sizeof(*q->qs));
	if (!q->tags || !q->qs)
		return -ENOMEM;
	ret = setup_ring(q);
	if (ret)
		return ret;
	ret = queue_register_files(q, &q->ring);
	if (!ret)
		ret = setup_buffers(q);
	if (!ret)
		ret = queue_map_iods(q);
	if (!ret)
		ret = queue_fetch_all(q);
	if (!ret) {
		ret = io_uring_submit(&q->ring);
		ret = ret < 0 ? ret : 0;
	}
	return ret;
}

static void dp_user_run(struct queue *q)
{
	while (queue_busy(q)) {
		struct io_uring_cqe *cqe;
		unsigned int head, n = 0;
		int ret;

		ret = io_uring_submit_and_wait(&q->ring, 1);
		if (ret < 0 && ret != -EINTR && ret != -EAGAIN &&
		    ret != -EBUSY && ret != -ETIME) {
			log_error("dev %u queue %u: io_uring_enter: %s",
				  q->ld->dev_id, q->q_id, strerror(-ret));
			break;
		}
		io_uring_for_each_cqe(&q->ring, head, cqe)
		{
			queue_handle_cqe(q, cqe);
			n++;
		}
		io_uring_cq_advance(&q->ring, n);
	}
}

static void dp_user_teardown(struct queue *q)
{
	if (q->ring.ring_fd >= 0)
		io_uring_queue_exit(&q->ring);
	q->ring.ring_fd = -1;
	if (q->iods)
		munmap(q->iods, q->iods_len);
	q->iods = NULL;
	if (q->bufs)
		for (unsigned int t = 0; t < q->depth; t++)
			free(q->bufs[t]);
	free(q->bufs);
	free(q->tags);
	free(q->qs);
	q->bufs = NULL;
	q->tags = NULL;
	q->qs = NULL;
}

const struct dataplane_ops dp_user_ops = {
	.name = "user",
	.setup = dp_user_setup,
	.run = dp_user_run,
	.teardown = dp_user_teardown,
	.queue_io = dp_user_queue_io,
	.io_done = dp_user_io_done,
};
