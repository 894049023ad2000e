// SPDX-License-Identifier: MIT
/*
 * The request steps (include/blkxlate/request.h) compiled twice: in BPF
 * (tests/bpf/request.bpf.c, run with BPF_PROG_RUN) and in C.  200,000
 * random cases -- request descriptors of every operation and flag, tag and
 * queue states, member completions, commit results -- must give
 * byte-identical SQEs, tag and queue state and counters.  Then the rules
 * themselves on a few fixed cases.  Needs root.
 */
#include <errno.h>
#include <linux/fs.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "request_steps.h"
#include "request.skel.h"

#define CASES 200000

_Static_assert(BLKX_RWF_DSYNC == RWF_DSYNC, "RWF_DSYNC");
_Static_assert(BLKX_UBLK_ABORT == UBLK_IO_RES_ABORT, "UBLK_IO_RES_ABORT");
_Static_assert(sizeof(struct io_uring_sqe) * 2 == REQ_SQE_BYTES, "SQE128");

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dULL;
}

static void random_case(struct req_case *c)
{
	static const __u32 ops[] = {UBLK_IO_OP_READ,	     UBLK_IO_OP_WRITE,
				    UBLK_IO_OP_FLUSH,	     UBLK_IO_OP_DISCARD,
				    UBLK_IO_OP_WRITE_ZEROES, 7};
	static const __s32 results[] = {0, 4096, 512, -5, -28, -19, 65536};

	memset(c, 0, sizeof(*c));
	c->iod.op_flags = ops[rnd() % 6] | (__u32)(rnd() & 0xffff00);
	c->iod.nr_sectors = (__u32)(rnd() % 4096);
	c->iod.start_sector = rnd() >> (rnd() % 64);
	c->iod.addr = rnd();
	c->tag_in.result = results[rnd() % 7];
	c->tag_in.pending = (__u16)(rnd() % 4);
	c->tag_in.op = (__u8)ops[rnd() % 6];
	c->tag_in.flags = (__u8)(rnd() & 7);
	c->tag_in.nr_sectors = (__u32)(rnd() % 4096);
	c->qs_in.cmds_live = (__u32)(rnd() % 128 + 1);
	c->qs_in.ios_owned = (__u32)(rnd() % 128 + 1);
	c->dev_sector = rnd() >> (rnd() % 64);
	c->buf = rnd() % 3 ? rnd() % (1 << 20) : rnd();
	c->nr_sectors = (__u32)(rnd() % 2048);
	c->zero_sectors = rnd() % 2 ? rnd() % 4096 : rnd() >> 20;
	c->ud = blkx_udata(BLKX_SQE_MEMBER, (__u32)rnd(), (__u32)rnd(),
			   ops[rnd() % 5] | (rnd() % 2 ? BLKX_OP_FUA : 0),
			   (__u32)(rnd() % 2048));
	c->cqe_res = rnd() % 2 ? (__s32)(blkx_udata_sectors(c->ud) << 9)
			       : results[rnd() % 7];
	c->fill = rnd();
	c->tag = (__u32)(rnd() % 4096);
	c->member = (__u32)(rnd() % 32);
	c->cmd_op = rnd() % 2 ? UBLK_U_IO_FETCH_REQ
			      : UBLK_U_IO_COMMIT_AND_FETCH_REQ;
	c->res = results[rnd() % 7];
	c->zero_copy = (__s32)(rnd() % 2);
	c->nounmap = (__s32)(rnd() % 2);
	c->kind = rnd() % 2 ? BLKX_SQE_UBLK : BLKX_SQE_MEMBER;
	c->q_id = (__u16)(rnd() % 16);
}

static const char *const field_names[] = {
	"sqe_rw", "sqe_cmd", "sqe_flush", "sqe_zero", "tag_begin",
};

static void test_bpf_equals_c(void **state)
{
	struct request_bpf *skel;
	unsigned long fua = 0, done = 0, short_io = 0;
	int fd;

	(void)state;
	skel = request_bpf__open_and_load();
	assert_non_null(skel);
	fd = bpf_program__fd(skel->progs.blkx_request_steps);
	for (long i = 0; i < CASES; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, opts);
		struct req_out c_out;

		random_case(&skel->bss->in);
		memset(&skel->bss->out, 0, sizeof(skel->bss->out));
		memset(&c_out, 0, sizeof(c_out));
		assert_int_equal(bpf_prog_test_run_opts(fd, &opts), 0);
		req_run(&skel->bss->in, &c_out);
		if (memcmp(&c_out, &skel->bss->out, sizeof(c_out))) {
			const __u8 *a = (const __u8 *)&c_out;
			const __u8 *b = (const __u8 *)&skel->bss->out;
			size_t off = 0;

			while (a[off] == b[off])
				off++;
			fail_msg(
				"case %ld: BPF and C differ at byte %zu of struct req_out (%s): C %#x, BPF %#x",
				i, off,
				off < 4 * REQ_SQE_BYTES
					? field_names[off / REQ_SQE_BYTES]
					: "state",
				a[off], b[off]);
		}
		fua += c_out.fua;
		done += c_out.done;
		short_io +=
			c_out.mres == -BLKX_EIO && skel->bss->in.cqe_res >= 0;
	}
	request_bpf__destroy(skel);
	print_message(
		"bpf==c: %d cases identical (%lu FUA writes, %lu last completions, %lu short transfers)\n",
		CASES, fua, done, short_io);
	assert_true(fua > 1000 && done > 1000 && short_io > 1000);
}

static struct io_uring_sqe *as_sqe(__u8 *b)
{
	return (struct io_uring_sqe *)b;
}

/* FUA decided once: a FUA write carries RWF_DSYNC, a FUA read none. */
static void test_fua_rule(void **state)
{
	struct req_case c = {0};
	struct req_out o = {0};

	(void)state;
	c.iod.op_flags = UBLK_IO_OP_WRITE | UBLK_IO_F_FUA;
	c.iod.nr_sectors = 8;
	c.nr_sectors = 8;
	req_run(&c, &o);
	assert_true(o.tag_begin.flags & BLKX_TAG_FUA);
	assert_int_equal(as_sqe(o.sqe_rw)->rw_flags, RWF_DSYNC);
	assert_int_equal(as_sqe(o.sqe_rw)->opcode, IORING_OP_WRITE_FIXED);
	assert_int_equal(blkx_udata_op(as_sqe(o.sqe_rw)->user_data),
			 UBLK_IO_OP_WRITE | BLKX_OP_FUA);

	c.iod.op_flags = UBLK_IO_OP_READ | UBLK_IO_F_FUA;
	memset(&o, 0, sizeof(o));
	req_run(&c, &o);
	assert_false(o.tag_begin.flags & BLKX_TAG_FUA);
	assert_int_equal(as_sqe(o.sqe_rw)->rw_flags, 0);
	assert_int_equal(as_sqe(o.sqe_rw)->opcode, IORING_OP_READ_FIXED);
	assert_int_equal(o.tag_begin.result, 8 << 9);
}

/* short transfer -> -EIO; the first error wins; every one is awaited */
static void test_completion_rules(void **state)
{
	struct blkx_tag t = {
		.result = 8192, .pending = 3, .flags = BLKX_TAG_OWNED};
	__u64 rd = blkx_udata(BLKX_SQE_MEMBER, 1, 0, UBLK_IO_OP_READ, 8);

	(void)state;
	assert_int_equal(blkx_member_res(rd, 4096), 4096);
	assert_int_equal(blkx_member_res(rd, 2048), -BLKX_EIO);
	assert_int_equal(blkx_member_res(rd, -28), -28);
	assert_int_equal(blkx_member_done(&t, -BLKX_EIO), 0);
	assert_int_equal(blkx_member_done(&t, -28), 0);
	assert_int_equal(t.result, -BLKX_EIO);
	assert_int_equal(blkx_member_done(&t, 4096), 1);
	assert_int_equal(t.result, -BLKX_EIO);
	/* a stray completion changes nothing */
	assert_int_equal(blkx_member_done(&t, -5), 0);
	assert_int_equal(t.pending, 0);
	/* a flush completes with 0 bytes: not short */
	assert_int_equal(blkx_member_res(blkx_udata(BLKX_SQE_MEMBER, 1, 0,
						    UBLK_IO_OP_FLUSH, 0),
					 0),
			 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bpf_equals_c),
		cmocka_unit_test(test_fua_rule),
		cmocka_unit_test(test_completion_rules),
	};

	if (geteuid() != 0) {
		printf("SKIP: bpf tests need root (BPF programs); CI runs them as root\n");
		return 77;
	}
	return cmocka_run_group_tests_name("bpf-request", tests, NULL, NULL);
}
