/* SPDX-License-Identifier: MIT */
/*
 * One case of the request steps (include/blkxlate/request.h), run by
 * tests/bpf/request.bpf.c inside the kernel and by test_bpf_request.c in
 * C: the same inputs must give byte-identical SQEs and state.  Fixed-width
 * fields and explicit padding, as the ABI types.
 */
#ifndef BLKXLATE_TEST_REQUEST_STEPS_H
#define BLKXLATE_TEST_REQUEST_STEPS_H

#include <blkxlate/request.h>

#define REQ_SQE_BYTES 128

struct req_case {
	struct ublksrv_io_desc iod;
	struct blkx_tag tag_in;
	struct blkx_qstate qs_in;
	__u64 dev_sector;
	__u64 buf;
	__u64 ud;	    /* a member completion's user_data */
	__u64 zero_sectors; /* a discard/write-zeroes extent */
	__u64 fill;	    /* what the SQE slots held before */
	__u32 tag;
	__u32 member;
	__u32 nr_sectors;
	__u32 cmd_op;
	__s32 res; /* commit result */
	__s32 cqe_res;
	__s32 zero_copy;
	__s32 nounmap;
	__u32 kind; /* user_data encoding input */
	__u16 q_id;
	__u16 pad;
};

struct req_out {
	__u8 sqe_rw[REQ_SQE_BYTES];
	__u8 sqe_cmd[REQ_SQE_BYTES];
	__u8 sqe_flush[REQ_SQE_BYTES];
	__u8 sqe_zero[REQ_SQE_BYTES];
	struct blkx_tag tag_begin;
	struct blkx_qstate qs_begin;
	struct blkx_tag tag_done;
	struct blkx_tag tag_end;
	struct blkx_qstate qs_end;
	struct blkx_tag tag_abort;
	struct blkx_qstate qs_abort;
	struct blkx_io_stats lun; /* counted by blkx_tag_end */
	__u64 ud;		  /* blkx_udata() of the case */
	__u32 ud_fields[5];	  /* tag, member, op, sectors, kind of in.ud */
	__s32 mres;
	__s32 done;
	__s32 fua;
	__u32 op;
	__u32 pad;
};

static __always_inline void req_fill(__u8 *sqe, __u64 v)
{
	__u64 *w = (__u64 *)sqe;

	for (int i = 0; i < REQ_SQE_BYTES / 8; i++)
		w[i] = v;
}

static __always_inline void req_run(const struct req_case *in,
				    struct req_out *out)
{
	struct blkx_tag t;
	struct blkx_qstate qs;

	out->op = blkx_iod_op(&in->iod);
	out->fua = blkx_iod_fua(&in->iod);
	t = in->tag_in;
	qs = in->qs_in;
	blkx_tag_begin(&t, &qs, &in->iod);
	out->tag_begin = t;
	out->qs_begin = qs;

	req_fill(out->sqe_rw, in->fill);
	blkx_prep_member_rw((struct io_uring_sqe *)out->sqe_rw, &out->tag_begin,
			    in->tag, in->member, in->dev_sector, in->nr_sectors,
			    in->buf);
	req_fill(out->sqe_cmd, in->fill);
	if (in->cmd_op == UBLK_U_IO_FETCH_REQ)
		blkx_prep_fetch((struct io_uring_sqe *)out->sqe_cmd, in->q_id,
				in->tag, in->zero_copy, in->buf);
	else
		blkx_prep_commit((struct io_uring_sqe *)out->sqe_cmd, in->q_id,
				 in->tag, in->res, in->zero_copy, in->buf);
	req_fill(out->sqe_flush, in->fill);
	blkx_prep_member_flush((struct io_uring_sqe *)out->sqe_flush, in->tag,
			       in->member);
	req_fill(out->sqe_zero, in->fill);
	blkx_prep_member_zero((struct io_uring_sqe *)out->sqe_zero, in->tag,
			      in->member, out->op, in->nounmap, in->dev_sector,
			      in->zero_sectors);

	out->mres = blkx_member_res(in->ud, in->cqe_res);
	t = in->tag_in;
	out->done = blkx_member_done(&t, out->mres);
	out->tag_done = t;

	t = in->tag_in;
	qs = in->qs_in;
	blkx_tag_end(&t, &qs, &out->lun, in->res);
	out->tag_end = t;
	out->qs_end = qs;

	t = in->tag_in;
	qs = in->qs_in;
	blkx_tag_aborted(&t, &qs);
	out->tag_abort = t;
	out->qs_abort = qs;

	out->ud = blkx_udata(in->kind, in->tag, in->member, out->op,
			     in->nr_sectors);
	out->ud_fields[0] = blkx_udata_tag(in->ud);
	out->ud_fields[1] = blkx_udata_member(in->ud);
	out->ud_fields[2] = blkx_udata_op(in->ud);
	out->ud_fields[3] = blkx_udata_sectors(in->ud);
	out->ud_fields[4] = blkx_udata_kind(in->ud);
}

#endif /* BLKXLATE_TEST_REQUEST_STEPS_H */
