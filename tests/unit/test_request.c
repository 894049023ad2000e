// SPDX-License-Identifier: MIT
/*
 * request: the per-tag state machine of the userspace data path over a
 * real io_uring, with file members and no ublk.  The harness plays the
 * kernel's part: it hands request_handle_cqe() a FETCH completion for a
 * request descriptor of its own, lets the ring run the member I/O on the
 * files, feeds the member completions back, and reads the COMMIT the
 * handler queued (fixed file 0 is /dev/null, so that command itself goes
 * nowhere).  Copy mode: one registered server buffer per tag.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cmocka.h>

#include <blkxlate/request.h>

#include "dataplane/queue.h"

#define DEPTH	       8
#define NR_MEMBERS     2
#define CHUNK	       64   /* sectors: 32 KiB */
#define MEMBER_SECTORS 2048 /* 1 MiB each */
#define BUF_BYTES      (256u << 10)

struct commit {
	unsigned int tag;
	int32_t res;
};

struct fx {
	char dir[64];
	char path[NR_MEMBERS][96];
	int fds[NR_MEMBERS];
	struct queue q;
	struct ldisk ld;
	struct blkx_member members[NR_MEMBERS];
	struct ublksrv_io_desc iods[DEPTH];
	struct blkx_tag tags[DEPTH];
	struct blkx_qstate qs;
	struct blkx_io_stats lun, mstats[NR_MEMBERS];
	struct blkx_queue_stats qstats;
	void *bufs[DEPTH];
	/* what the harness saw queued */
	struct commit commits[64];
	int nr_commits;
	int fetches;
	int dsync_writes, plain_writes;
};

/* The byte a member holds at (member, sector, offset): a pattern that
 * tells every sector of every member apart. */
static uint8_t pattern(unsigned int m, uint64_t sector, unsigned int off)
{
	return (uint8_t)(m * 131 + sector * 7 + off / 64);
}

static void fill_member(struct fx *f, unsigned int m, uint64_t sectors)
{
	uint8_t sec[512];

	for (uint64_t s = 0; s < sectors; s++) {
		for (unsigned int o = 0; o < 512; o++)
			sec[o] = pattern(m, s, o);
		assert_int_equal(pwrite(f->fds[m], sec, 512, (off_t)(s * 512)),
				 512);
	}
}

/* Open member m again with flags and put it at fixed file 1 + m. */
static void set_member_fd(struct fx *f, unsigned int m, int flags)
{
	int fd = open(f->path[m], flags | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(
		io_uring_register_files_update(&f->q.ring, 1 + m, &fd, 1), 1);
	close(f->fds[m]);
	f->fds[m] = fd;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct io_uring_params p = {.flags = IORING_SETUP_SQE128};
	struct iovec iov[DEPTH];
	int files[1 + NR_MEMBERS];

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/blkxlate-request.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	for (unsigned int m = 0; m < NR_MEMBERS; m++) {
		snprintf(f->path[m], sizeof(f->path[m]), "%s/m%u", f->dir, m);
		f->fds[m] =
			open(f->path[m], O_CREAT | O_RDWR | O_CLOEXEC, 0600);
		if (f->fds[m] < 0)
			return -1;
		fill_member(f, m, MEMBER_SECTORS);
		f->members[m] = (struct blkx_member){
			.size_sectors = MEMBER_SECTORS, .index = m};
	}
	f->ld.geo = (struct blkx_disk){
		.size_sectors = MEMBER_SECTORS * NR_MEMBERS,
		.member_sectors = MEMBER_SECTORS,
		.chunk_sectors = CHUNK,
		.nr_members = NR_MEMBERS,
		.flags = BLKX_DISK_STRIPED,
	};
	f->ld.members = f->members;
	f->ld.nr_members = NR_MEMBERS;
	f->ld.max_io_bytes = BUF_BYTES;
	f->ld.lun_stats = &f->lun;
	f->ld.member_stats = f->mstats;
	f->q.ld = &f->ld;
	f->q.depth = DEPTH;
	f->q.iods = f->iods;
	f->q.tags = f->tags;
	f->q.qs = &f->qs;
	f->q.qstats = &f->qstats;
	f->q.bufs = f->bufs;
	if (io_uring_queue_init_params(64, &f->q.ring, &p))
		return -1;
	files[0] = open("/dev/null", O_RDWR | O_CLOEXEC);
	for (unsigned int m = 0; m < NR_MEMBERS; m++)
		files[1 + m] = f->fds[m];
	if (files[0] < 0 ||
	    io_uring_register_files(&f->q.ring, files, 1 + NR_MEMBERS))
		return -1;
	close(files[0]);
	for (unsigned int t = 0; t < DEPTH; t++) {
		if (posix_memalign(&f->bufs[t], 4096, BUF_BYTES))
			return -1;
		iov[t] = (struct iovec){f->bufs[t], BUF_BYTES};
	}
	if (io_uring_register_buffers(&f->q.ring, iov, DEPTH))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	io_uring_queue_exit(&f->q.ring);
	for (unsigned int m = 0; m < NR_MEMBERS; m++) {
		close(f->fds[m]);
		unlink(f->path[m]);
	}
	rmdir(f->dir);
	for (unsigned int t = 0; t < DEPTH; t++)
		free(f->bufs[t]);
	free(f);
	return 0;
}

/* Record the ublk commands and member writes queued since the last
 * submit, as the kernel would read them. */
static void inspect_sq(struct fx *f)
{
	struct io_uring_sq *sq = &f->q.ring.sq;

	for (unsigned int i = sq->sqe_head; i != sq->sqe_tail; i++) {
		const struct io_uring_sqe *sqe =
			&sq->sqes[(i & sq->ring_mask) << 1];
		const struct ublksrv_io_cmd *cmd =
			(const struct ublksrv_io_cmd *)sqe->cmd;

		if (sqe->opcode == IORING_OP_URING_CMD) {
			assert_int_equal(sqe->fd, 0);
			assert_int_equal(
				cmd->addr,
				(uint64_t)(uintptr_t)f->bufs[cmd->tag]);
			if (sqe->cmd_op == UBLK_U_IO_FETCH_REQ) {
				f->fetches++;
				continue;
			}
			assert_int_equal(sqe->cmd_op,
					 UBLK_U_IO_COMMIT_AND_FETCH_REQ);
			assert_true(f->nr_commits < 64);
			f->commits[f->nr_commits++] =
				(struct commit){cmd->tag, cmd->result};
		} else if (sqe->opcode == IORING_OP_WRITE_FIXED) {
			if (sqe->rw_flags == RWF_DSYNC)
				f->dsync_writes++;
			else
				f->plain_writes++;
		}
	}
}

/* Run the ring until the queue owns no request: member completions go to
 * the handler; the answers to our commands on /dev/null are dropped. */
static void run_ring(struct fx *f)
{
	for (int rounds = 0; rounds < 100 && f->qs.ios_owned; rounds++) {
		struct io_uring_cqe *cqe;

		inspect_sq(f);
		assert_true(io_uring_submit(&f->q.ring) >= 0);
		while (!io_uring_peek_cqe(&f->q.ring, &cqe) ||
		       (f->qs.ios_owned &&
			!io_uring_wait_cqe(&f->q.ring, &cqe))) {
			struct io_uring_cqe c = *cqe;

			io_uring_cqe_seen(&f->q.ring, cqe);
			if (blkx_udata_kind(c.user_data) == BLKX_SQE_MEMBER)
				request_handle_cqe(&f->q, &c);
			if (!f->qs.ios_owned)
				break;
		}
	}
	inspect_sq(f);
	assert_true(io_uring_submit(&f->q.ring) >= 0);
	assert_int_equal(f->qs.ios_owned, 0);
}

/* The kernel hands tag a request: op at sector for nr sectors. */
static void request(struct fx *f, unsigned int tag, uint32_t op_flags,
		    uint64_t sector, uint32_t nr)
{
	struct io_uring_cqe cqe = {
		.user_data = blkx_udata(BLKX_SQE_UBLK, tag, 0, 0, 0)};

	f->iods[tag] = (struct ublksrv_io_desc){
		.op_flags = op_flags, .nr_sectors = nr, .start_sector = sector};
	request_handle_cqe(&f->q, &cqe);
}

static void fetch_all(struct fx *f)
{
	assert_int_equal(queue_fetch_all(&f->q), 0);
	inspect_sq(f);
	assert_true(io_uring_submit(&f->q.ring) >= 0);
	assert_int_equal(f->fetches, DEPTH);
	assert_int_equal(f->qs.cmds_live, DEPTH);
	for (unsigned int t = 0; t < DEPTH; t++)
		assert_int_equal(f->tags[t].flags, BLKX_TAG_FETCH);
}

static int32_t last_commit(struct fx *f, unsigned int tag)
{
	inspect_sq(f);
	assert_true(io_uring_submit(&f->q.ring) >= 0);
	assert_true(f->nr_commits > 0);
	assert_int_equal(f->commits[f->nr_commits - 1].tag, tag);
	/* the tag is fetching again and the queue balanced */
	assert_int_equal(f->tags[tag].flags, BLKX_TAG_FETCH);
	assert_int_equal(f->qs.cmds_live, DEPTH);
	return f->commits[f->nr_commits - 1].res;
}

/* guest sector -> (member, member sector) by the layout, for checking */
static void where(uint64_t g, unsigned int *m, uint64_t *ms)
{
	uint64_t c = g / CHUNK;

	*m = (unsigned int)(c % NR_MEMBERS);
	*ms = (c / NR_MEMBERS) * CHUNK + g % CHUNK;
}

static void check_read_data(struct fx *f, unsigned int tag, uint64_t sector,
			    uint32_t nr)
{
	const uint8_t *b = f->bufs[tag];

	for (uint32_t s = 0; s < nr; s++) {
		unsigned int m;
		uint64_t ms;

		where(sector + s, &m, &ms);
		for (unsigned int o = 0; o < 512; o++)
			if (b[s * 512 + o] != pattern(m, ms, o))
				fail_msg(
					"guest sector %llu byte %u: not member %u sector %llu",
					(unsigned long long)(sector + s), o, m,
					(unsigned long long)ms);
	}
}

/* fetch -> request -> member CQE -> commit, inside one chunk */
static void test_read_one_chunk(void **state)
{
	struct fx *f = *state;

	fetch_all(f);
	request(f, 3, UBLK_IO_OP_READ, CHUNK + 8, 8); /* chunk 1: member 1 */
	assert_int_equal(f->tags[3].flags, BLKX_TAG_OWNED);
	assert_int_equal(f->tags[3].pending, 1);
	assert_int_equal(f->qs.ios_owned, 1);
	run_ring(f);
	assert_int_equal(last_commit(f, 3), 8 * 512);
	check_read_data(f, 3, CHUNK + 8, 8);
	assert_int_equal(f->lun.reads, 1);
	assert_int_equal(f->lun.read_sectors, 8);
	assert_int_equal(f->mstats[1].reads, 1);
	assert_int_equal(f->mstats[0].reads, 0);
	assert_int_equal(f->qstats.user_rw, 1);
	assert_int_equal(f->qstats.user_commits, 1);
}

/* a read spanning three chunks: three member I/Os, one commit */
static void test_read_spanning(void **state)
{
	struct fx *f = *state;
	uint64_t sector = CHUNK - 16;
	uint32_t nr = 2 * CHUNK + 16; /* the ends of chunks 0 and 2, all of 1 */

	fetch_all(f);
	request(f, 0, UBLK_IO_OP_READ, sector, nr);
	assert_int_equal(f->tags[0].pending, 3);
	run_ring(f);
	assert_int_equal(f->nr_commits, 1);
	assert_int_equal(last_commit(f, 0), (int32_t)nr * 512);
	check_read_data(f, 0, sector, nr);
	assert_int_equal(f->mstats[0].reads + f->mstats[1].reads, 3);
	assert_int_equal(f->lun.reads, 1);
}

/* a FUA write across a chunk boundary: RWF_DSYNC on both member writes,
 * the data where the layout says; a plain write carries none */
static void test_write_fua(void **state)
{
	struct fx *f = *state;
	uint64_t sector = 3 * CHUNK - 4;
	uint8_t *b = f->bufs[5], back[512];

	fetch_all(f);
	for (unsigned int i = 0; i < 8 * 512; i++)
		b[i] = (uint8_t)(0xa5 ^ i);
	request(f, 5, UBLK_IO_OP_WRITE | UBLK_IO_F_FUA, sector, 8);
	assert_true(f->tags[5].flags & BLKX_TAG_FUA);
	run_ring(f);
	assert_int_equal(last_commit(f, 5), 8 * 512);
	assert_int_equal(f->dsync_writes, 2);
	assert_int_equal(f->plain_writes, 0);
	assert_int_equal(f->lun.fua_writes, 1);
	for (unsigned int s = 0; s < 8; s++) {
		unsigned int m;
		uint64_t ms;

		where(sector + s, &m, &ms);
		assert_int_equal(pread(f->fds[m], back, 512, (off_t)(ms * 512)),
				 512);
		assert_memory_equal(back, b + s * 512, 512);
	}
	request(f, 6, UBLK_IO_OP_WRITE, 0, 8);
	run_ring(f);
	assert_int_equal(last_commit(f, 6), 8 * 512);
	assert_int_equal(f->plain_writes, 1);
	assert_int_equal(f->lun.fua_writes, 1);
	/* a FUA read is a plain read */
	request(f, 7, UBLK_IO_OP_READ | UBLK_IO_F_FUA, 0, 8);
	assert_false(f->tags[7].flags & BLKX_TAG_FUA);
	run_ring(f);
	assert_int_equal(last_commit(f, 7), 8 * 512);
}

/* a member file shorter than the geometry: the segment on it reads short
 * and the request fails with -EIO, after its other segment completed */
static void test_short_transfer(void **state)
{
	struct fx *f = *state;

	assert_int_equal(ftruncate(f->fds[1], (off_t)CHUNK * 512), 0);
	fetch_all(f);
	/* chunks 2 and 3: member 0 row 1 (fine), member 1 row 1 (gone) */
	request(f, 2, UBLK_IO_OP_READ, 2 * CHUNK + CHUNK / 2, CHUNK);
	assert_int_equal(f->tags[2].pending, 2);
	run_ring(f);
	assert_int_equal(last_commit(f, 2), -EIO);
	assert_int_equal(f->lun.errors, 1);
	assert_int_equal(f->mstats[1].errors, 1);
	assert_int_equal(f->mstats[0].errors, 0);
	assert_int_equal(f->tags[2].pending, 0);
}

/* a member that refuses writes: the error reaches the guest, the first
 * error wins, every sub-I/O is awaited, the healthy member is written */
static void test_member_error(void **state)
{
	struct fx *f = *state;

	set_member_fd(f, 0, O_RDONLY);
	fetch_all(f);
	request(f, 1, UBLK_IO_OP_WRITE, CHUNK - 8, 16); /* members 0 and 1 */
	run_ring(f);
	assert_int_equal(last_commit(f, 1), -EBADF);
	assert_int_equal(f->mstats[0].errors, 1);
	assert_int_equal(f->mstats[1].writes, 1);
	assert_int_equal(f->mstats[1].errors, 0);
	assert_int_equal(f->lun.errors, 1);
	/* the next request on the same tag is served normally */
	request(f, 1, UBLK_IO_OP_READ, CHUNK, 8);
	run_ring(f);
	assert_int_equal(last_commit(f, 1), 8 * 512);
}

/* FLUSH to every member; DISCARD to each member's extent (reads zero);
 * past the end refused at once, with no member I/O */
static void test_flush_discard_bounds(void **state)
{
	struct fx *f = *state;
	uint8_t back[512], zero[512] = {0};

	fetch_all(f);
	request(f, 4, UBLK_IO_OP_FLUSH, 0, 0);
	assert_int_equal(f->tags[4].pending, NR_MEMBERS);
	run_ring(f);
	assert_int_equal(last_commit(f, 4), 0);
	assert_int_equal(f->lun.flushes, 1);
	assert_int_equal(f->mstats[0].flushes + f->mstats[1].flushes, 2);

	request(f, 4, UBLK_IO_OP_DISCARD, 0, 4 * CHUNK);
	assert_int_equal(f->tags[4].pending, NR_MEMBERS);
	run_ring(f);
	assert_int_equal(last_commit(f, 4), 0);
	for (unsigned int m = 0; m < NR_MEMBERS; m++) {
		assert_int_equal(pread(f->fds[m], back, 512, 512), 512);
		assert_memory_equal(back, zero, 512);
	}
	/* row 2 is untouched */
	assert_int_equal(pread(f->fds[0], back, 512, 2 * CHUNK * 512), 512);
	assert_int_equal(back[0], pattern(0, 2 * CHUNK, 0));

	request(f, 4, UBLK_IO_OP_READ, MEMBER_SECTORS * NR_MEMBERS - 4, 8);
	assert_int_equal(f->tags[4].pending, 0);
	assert_int_equal(last_commit(f, 4), -ERANGE);
	assert_int_equal(f->lun.errors, 1);
}

/* an aborted fetch (the device stops) ends the tag */
static void test_abort(void **state)
{
	struct fx *f = *state;
	struct io_uring_cqe cqe = {
		.user_data = blkx_udata(BLKX_SQE_UBLK, 2, 0, 0, 0),
		.res = UBLK_IO_RES_ABORT};

	fetch_all(f);
	request_handle_cqe(&f->q, &cqe);
	assert_int_equal(f->tags[2].flags, 0);
	assert_int_equal(f->qs.cmds_live, DEPTH - 1);
	assert_int_equal(f->qs.ios_owned, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_read_one_chunk, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_read_spanning, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_write_fua, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_short_transfer, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_member_error, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_flush_discard_bounds,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_abort, setup, teardown),
	};

	return cmocka_run_group_tests_name("request", tests, NULL, NULL);
}
