/* SPDX-License-Identifier: MIT */
/*
 * The request steps of the ublk data path, compiled into the BPF fast path
 * (bpf/fastpath.bpf.c) and into the userspace request handler
 * (userspace/dataplane/request.c) alike, as remap.h is.  A request is:
 *
 *   FETCH/COMMIT CQE (res 0)     blkx_tag_begin(iod)
 *   remap.h                      segments
 *   per segment                  blkx_prep_member_rw()   (or fsync/fallocate)
 *   per member CQE               blkx_member_res(), blkx_member_done()
 *   last one                     blkx_tag_end(), blkx_prep_commit()
 *
 * Every SQE encoding of a queue ring is here, once: the BPF side cannot use
 * liburing's prep helpers, and two hand-kept copies drifted.  Pure
 * functions over the caller's memory; no libc, no allocation.
 */
#ifndef BLKXLATE_REQUEST_H
#define BLKXLATE_REQUEST_H

#include <linux/falloc.h>
#include <linux/io_uring.h>

#include "abi.h"
#include "kcompat.h"
#include "remap.h" /* the errno values */
#include "stats.h"

/* RWF_DSYNC of <linux/fs.h>, whose other contents BPF code does not need */
#define BLKX_RWF_DSYNC	0x2
/* UBLK_IO_RES_ABORT: the device is stopping, the fetch will not return */
#define BLKX_UBLK_ABORT (-19)

/*
 * user_data of every SQE of a queue ring: what it is and whom it belongs
 * to.  A member write carrying FUA has BLKX_OP_FUA or-ed into its op.
 */
#define BLKX_OP_FUA 0x80
enum blkx_sqe_kind {
	BLKX_SQE_UBLK = 1,   /* FETCH_REQ / COMMIT_AND_FETCH_REQ */
	BLKX_SQE_MEMBER = 2, /* I/O on a member */
};

static __always_inline __u64 blkx_udata(__u32 kind, __u32 tag, __u32 member,
					__u32 op, __u32 nr_sectors)
{
	return (__u64)(tag & 0xffff) | (__u64)(member & 0xff) << 16 |
	       (__u64)(op & 0xff) << 24 | (__u64)(nr_sectors & 0xffffff) << 32 |
	       (__u64)kind << 56;
}
static __always_inline __u32 blkx_udata_tag(__u64 d)
{
	return d & 0xffff;
}
static __always_inline __u32 blkx_udata_member(__u64 d)
{
	return (d >> 16) & 0xff;
}
static __always_inline __u32 blkx_udata_op(__u64 d)
{
	return (d >> 24) & 0xff;
}
static __always_inline __u32 blkx_udata_sectors(__u64 d)
{
	return (d >> 32) & 0xffffff;
}
static __always_inline __u32 blkx_udata_kind(__u64 d)
{
	return d >> 56;
}

/* --- the request descriptor -------------------------------------------- */

static __always_inline __u32 blkx_iod_op(const struct ublksrv_io_desc *iod)
{
	return iod->op_flags & 0xff;
}

/* The one FUA rule: a FUA write reaches stable storage on every member it
 * writes; a read (or anything else) carries no FUA. */
static __always_inline int blkx_iod_fua(const struct ublksrv_io_desc *iod)
{
	return blkx_iod_op(iod) == UBLK_IO_OP_WRITE &&
	       (iod->op_flags & UBLK_IO_F_FUA);
}

/* --- tag transitions ---------------------------------------------------- */

/* A FETCH or COMMIT_AND_FETCH for the tag is with the kernel. */
static __always_inline void blkx_tag_fetching(struct blkx_tag *t,
					      struct blkx_qstate *qs)
{
	t->flags = BLKX_TAG_FETCH;
	qs->cmds_live++;
}

/* The kernel answered the tag's fetch with a request: the server owns it.
 * The expected result is the request's bytes for READ/WRITE, else 0; no
 * member I/O is pending yet. */
static __always_inline void blkx_tag_begin(struct blkx_tag *t,
					   struct blkx_qstate *qs,
					   const struct ublksrv_io_desc *iod)
{
	__u32 op = blkx_iod_op(iod);

	t->flags = BLKX_TAG_OWNED | (blkx_iod_fua(iod) ? BLKX_TAG_FUA : 0);
	t->op = (__u8)op;
	t->nr_sectors = iod->nr_sectors;
	t->result = op == UBLK_IO_OP_READ || op == UBLK_IO_OP_WRITE
			    ? (__s32)(iod->nr_sectors << BLKX_SECTOR_SHIFT)
			    : 0;
	t->pending = 0;
	qs->cmds_live--;
	qs->ios_owned++;
}

/* The kernel aborted the tag's fetch (the device stops): the tag is done. */
static __always_inline void blkx_tag_aborted(struct blkx_tag *t,
					     struct blkx_qstate *qs)
{
	t->flags = 0;
	qs->cmds_live--;
}

/* The request on t ends with res (bytes or -errno): count it on the LUN
 * (lun may be NULL) and hand the tag back for the next fetch.  The caller
 * queues the COMMIT_AND_FETCH with blkx_prep_io_cmd(). */
static __always_inline void blkx_tag_end(struct blkx_tag *t,
					 struct blkx_qstate *qs,
					 struct blkx_io_stats *lun, __s32 res)
{
	if (lun)
		blkx_count_io(lun, t->op, t->flags & BLKX_TAG_FUA,
			      t->nr_sectors, res < 0);
	qs->ios_owned--;
	blkx_tag_fetching(t, qs);
}

/*
 * A member completion as the guest sees it: a READ/WRITE that moved fewer
 * bytes than asked is -EIO; otherwise res (bytes, 0, or -errno).
 */
static __always_inline __s32 blkx_member_res(__u64 ud, __s32 res)
{
	__u32 op = blkx_udata_op(ud) & ~BLKX_OP_FUA;

	if (res >= 0 && (op == UBLK_IO_OP_READ || op == UBLK_IO_OP_WRITE) &&
	    (__u32)res != blkx_udata_sectors(ud) << BLKX_SECTOR_SHIFT)
		return -BLKX_EIO;
	return res;
}

/*
 * One member I/O of t completed with mres (blkx_member_res()): the first
 * error wins.  Returns 1 when it was the last one (commit t->result), 0
 * while others are pending (or none was: a stray completion changes
 * nothing).  Every sub-I/O is awaited, even after an error.
 */
static __always_inline int blkx_member_done(struct blkx_tag *t, __s32 mres)
{
	if (!t->pending)
		return 0;
	if (mres < 0 && t->result >= 0)
		t->result = mres;
	return --t->pending == 0;
}

/* --- SQE encodings ------------------------------------------------------ */

/* The slot may hold an older SQE: clear the 64 bytes the encodings use
 * (the ublk command sits in bytes 48..63 of the 128-byte SQE). */
static __always_inline void blkx_sqe_clear(struct io_uring_sqe *sqe)
{
	__u64 *w = (__u64 *)sqe;

	w[0] = 0;
	w[1] = 0;
	w[2] = 0;
	w[3] = 0;
	w[4] = 0;
	w[5] = 0;
	w[6] = 0;
	w[7] = 0;
}

/*
 * FETCH_REQ or COMMIT_AND_FETCH_REQ (cmd_op) for tag of queue q_id on fixed
 * file 0 (/dev/ublkcN), committing res.  With zero copy the kernel
 * registers the next request's pages at buffer index tag (struct
 * ublk_auto_buf_reg {.index = tag} in sqe->addr); in copy mode buf is the
 * server buffer's address.
 */
static __always_inline void blkx_prep_io_cmd(struct io_uring_sqe *sqe,
					     __u32 cmd_op, __u16 q_id,
					     __u32 tag, __s32 res,
					     int zero_copy, __u64 buf)
{
	struct ublksrv_io_cmd *cmd = (struct ublksrv_io_cmd *)&sqe->addr3;

	blkx_sqe_clear(sqe);
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->flags = IOSQE_FIXED_FILE;
	sqe->fd = 0;
	sqe->cmd_op = cmd_op;
	if (zero_copy)
		sqe->addr = tag;
	else
		cmd->addr = buf;
	sqe->user_data = blkx_udata(BLKX_SQE_UBLK, tag, 0, 0, 0);
	cmd->q_id = q_id;
	cmd->tag = (__u16)tag;
	cmd->result = res;
}

/* FETCH_REQ for tag: the first fetch of a queue's setup. */
static __always_inline void blkx_prep_fetch(struct io_uring_sqe *sqe,
					    __u16 q_id, __u32 tag,
					    int zero_copy, __u64 buf)
{
	blkx_prep_io_cmd(sqe, UBLK_U_IO_FETCH_REQ, q_id, tag, -1, zero_copy,
			 buf);
}

/* COMMIT_AND_FETCH_REQ: tag's request ends with res, the next is fetched. */
static __always_inline void blkx_prep_commit(struct io_uring_sqe *sqe,
					     __u16 q_id, __u32 tag, __s32 res,
					     int zero_copy, __u64 buf)
{
	blkx_prep_io_cmd(sqe, UBLK_U_IO_COMMIT_AND_FETCH_REQ, q_id, tag, res,
			 zero_copy, buf);
}

/* The common part of a member SQE: fixed file 1 + member. */
static __always_inline void blkx_prep_member(struct io_uring_sqe *sqe,
					     __u8 opcode, __u32 tag,
					     __u32 member, __u32 op,
					     __u32 nr_sectors)
{
	blkx_sqe_clear(sqe);
	sqe->opcode = opcode;
	sqe->flags = IOSQE_FIXED_FILE;
	sqe->fd = (__s32)(1 + member);
	sqe->user_data =
		blkx_udata(BLKX_SQE_MEMBER, tag, member, op, nr_sectors);
}

/*
 * READ_FIXED/WRITE_FIXED of one segment: nr_sectors at dev_sector of the
 * member, from or into registered buffer index tag at buf (with zero copy
 * the byte offset into the request, whose base is 0; in copy mode the
 * address in the server buffer).  A FUA write carries RWF_DSYNC, which the
 * block layer turns into FUA (or a flush) on that member.
 */
static __always_inline void blkx_prep_member_rw(struct io_uring_sqe *sqe,
						const struct blkx_tag *t,
						__u32 tag, __u32 member,
						__u64 dev_sector,
						__u32 nr_sectors, __u64 buf)
{
	int write = t->op == UBLK_IO_OP_WRITE;
	int fua = write && (t->flags & BLKX_TAG_FUA);

	blkx_prep_member(
		sqe, write ? IORING_OP_WRITE_FIXED : IORING_OP_READ_FIXED, tag,
		member, t->op | (fua ? BLKX_OP_FUA : 0), nr_sectors);
	sqe->off = dev_sector << BLKX_SECTOR_SHIFT;
	sqe->addr = buf;
	sqe->len = nr_sectors << BLKX_SECTOR_SHIFT;
	sqe->rw_flags = fua ? BLKX_RWF_DSYNC : 0;
	sqe->buf_index = (__u16)tag;
}

/* FLUSH on one member: fdatasync. */
static __always_inline void blkx_prep_member_flush(struct io_uring_sqe *sqe,
						   __u32 tag, __u32 member)
{
	blkx_prep_member(sqe, IORING_OP_FSYNC, tag, member, UBLK_IO_OP_FLUSH,
			 0);
	sqe->fsync_flags = IORING_FSYNC_DATASYNC;
}

/*
 * DISCARD or WRITE_ZEROES (op) of one member extent: fallocate punch hole
 * (unmap; reads return zeroes) unless nounmap asks for zero range.  The
 * user_data carries the extent's sectors only when they fit (0 else).
 */
static __always_inline void
blkx_prep_member_zero(struct io_uring_sqe *sqe, __u32 tag, __u32 member,
		      __u32 op, int nounmap, __u64 dev_sector, __u64 nr_sectors)
{
	int mode = FALLOC_FL_KEEP_SIZE | (op == UBLK_IO_OP_DISCARD || !nounmap
						  ? FALLOC_FL_PUNCH_HOLE
						  : FALLOC_FL_ZERO_RANGE);

	blkx_prep_member(sqe, IORING_OP_FALLOCATE, tag, member, op,
			 nr_sectors > 0xffffff ? 0 : (__u32)nr_sectors);
	/* io_uring's fallocate: mode in len, offset in off, length in addr */
	sqe->off = dev_sector << BLKX_SECTOR_SHIFT;
	sqe->addr = nr_sectors << BLKX_SECTOR_SHIFT;
	sqe->len = (__u32)mode;
}

#endif /* BLKXLATE_REQUEST_H */
