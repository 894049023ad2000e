// SPDX-License-Identifier: MIT
/*
 * queue: what both data paths share.  Setup order matters: the ring must be
 * made by the thread that submits (SINGLE_ISSUER), every tag must have a
 * FETCH with the kernel before START_DEV returns, and at STOP_DEV the
 * kernel completes the idle fetches with -ENODEV, which ends the loop.
 */
#include "dataplane/queue.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <blkxlate/stats.h>

#include "base/log.h"

int queue_map_iods(struct queue *q)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t max_sz = (UBLK_MAX_QUEUE_DEPTH * sizeof(struct ublksrv_io_desc) +
			 (size_t)page - 1) &
			~((size_t)page - 1);
	off_t off = UBLKSRV_CMD_BUF_OFFSET + (off_t)q->q_id * (off_t)max_sz;
	void *p;

	q->iods_len =
		(q->depth * sizeof(struct ublksrv_io_desc) + (size_t)page - 1) &
		~((size_t)page - 1);
	p = mmap(NULL, q->iods_len, PROT_READ, MAP_SHARED | MAP_POPULATE,
		 q->ld->cdev_fd, off);
	if (p == MAP_FAILED)
		return -errno;
	q->iods = p;
	return 0;
}

int queue_register_files(struct queue *q, struct io_uring *ring)
{
	struct ldisk *ld = q->ld;
	int fds[1 + BLKX_MAX_DISK_MEMBERS];

	fds[0] = ld->cdev_fd;
	for (int i = 0; i < ld->nr_members; i++)
		fds[1 + i] = ld->member_fds[i];
	return io_uring_register_files(ring, fds,
				       (unsigned int)(1 + ld->nr_members));
}

struct io_uring_sqe *queue_get_sqe(struct queue *q)
{
	struct io_uring_sqe *sqe;

	if (q->use_raw)
		/* never enter from here: with the BPF loop attached an enter
		 * runs the loop, which would take CQEs we are handling; the
		 * BPF data path keeps room for a request's SQEs instead */
		return rawring_get_sqe(&q->raw);
	sqe = io_uring_get_sqe(&q->ring);
	if (!sqe) {
		if (io_uring_submit(&q->ring) < 0)
			return NULL;
		sqe = io_uring_get_sqe(&q->ring);
	}
	if (sqe)
		memset(sqe, 0, 2 * sizeof(*sqe)); /* 128-byte SQE */
	return sqe;
}

/* FETCH_REQ (first time) or COMMIT_AND_FETCH_REQ for tag. */
static int queue_ublk_cmd(struct queue *q, unsigned int tag, uint32_t op,
			  int32_t res)
{
	struct ublksrv_io_cmd *cmd;
	struct io_uring_sqe *sqe = queue_get_sqe(q);

	if (!sqe)
		return -EBUSY;
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = 0; /* fixed file 0: /dev/ublkcN */
	sqe->flags = IOSQE_FIXED_FILE;
	sqe->cmd_op = op;
	cmd = (struct ublksrv_io_cmd *)sqe->cmd;
	cmd->q_id = q->q_id;
	cmd->tag = (uint16_t)tag;
	cmd->result = res;
	if (q->ld->zero_copy)
		/* struct ublk_auto_buf_reg in sqe->addr: index = tag */
		sqe->addr = tag;
	else
		cmd->addr = (uint64_t)(uintptr_t)q->bufs[tag];
	sqe->user_data = blkx_udata(BLKX_SQE_UBLK, tag, 0, 0, 0);
	q->tags[tag].flags |= BLKX_TAG_FETCH;
	q->qs->cmds_live++;
	return 0;
}

int queue_fetch_all(struct queue *q)
{
	int ret = 0;

	for (unsigned int t = 0; !ret && t < q->depth; t++)
		ret = queue_ublk_cmd(q, t, UBLK_U_IO_FETCH_REQ, -1);
	return ret;
}

int queue_commit(struct queue *q, unsigned int tag, int32_t res)
{
	struct blkx_tag *t = &q->tags[tag];
	int ret;

	if (q->ld->lun_stats)
		blkx_count_io(q->ld->lun_stats, t->op, t->flags & BLKX_TAG_FUA,
			      t->nr_sectors, res < 0);
	if (q->qstats)
		stats_add(&q->qstats->user_commits, 1);
	t->flags &= (__u8) ~(BLKX_TAG_OWNED | BLKX_TAG_FUA);
	q->qs->ios_owned--;
	ret = queue_ublk_cmd(q, tag, UBLK_U_IO_COMMIT_AND_FETCH_REQ, res);
	if (ret)
		log_error("queue %u tag %u: cannot commit: %s", q->q_id, tag,
			  strerror(-ret));
	return ret;
}

static void handle_ublk_cqe(struct queue *q, const struct io_uring_cqe *cqe)
{
	unsigned int tag = blkx_udata_tag(cqe->user_data);
	struct blkx_tag *t = &q->tags[tag];

	t->flags &= (__u8)~BLKX_TAG_FETCH;
	q->qs->cmds_live--;
	if (cqe->res == UBLK_IO_RES_OK) {
		const struct ublksrv_io_desc *iod = &q->iods[tag];

		t->flags |= BLKX_TAG_OWNED;
		if ((iod->op_flags >> 8) & (UBLK_IO_F_FUA >> 8))
			t->flags |= BLKX_TAG_FUA;
		t->op = (uint8_t)(iod->op_flags & 0xff);
		t->nr_sectors = iod->nr_sectors;
		t->result = 0;
		t->pending = 0;
		q->qs->ios_owned++;
		if (q->qstats) {
			bool rw = t->op == UBLK_IO_OP_READ ||
				  t->op == UBLK_IO_OP_WRITE;

			stats_add(rw ? &q->qstats->user_rw
				     : &q->qstats->user_other,
				  1);
		}
		if (q->dp->queue_io(q, tag, iod) < 0)
			log_error("queue %u tag %u: request not served",
				  q->q_id, tag);
		return;
	}
	if (cqe->res != UBLK_IO_RES_ABORT)
		log_error("dev %u queue %u tag %u: ublk command failed: %s",
			  q->ld->dev_id, q->q_id, tag, strerror(-cqe->res));
	/* -ENODEV: the device is stopping; this tag is done */
}

void queue_handle_cqe(struct queue *q, const struct io_uring_cqe *cqe)
{
	if (blkx_udata_kind(cqe->user_data) == BLKX_SQE_UBLK)
		handle_ublk_cqe(q, cqe);
	else
		q->dp->io_done(q, cqe);
}

bool queue_busy(const struct queue *q)
{
	return (q->qs->cmds_live > 0 || q->qs->ios_owned > 0) && !q->ld->abort;
}

static void *queue_thread(void *arg)
{
	struct queue *q = arg;
	struct ldisk *ld = q->ld;
	int ret = q->dp->setup(q);

	pthread_mutex_lock(&ld->lock);
	q->setup_ret = ret;
	ld->nr_ready++;
	pthread_cond_broadcast(&ld->cond);
	pthread_mutex_unlock(&ld->lock);
	if (!ret)
		q->dp->run(q);
	q->dp->teardown(q);
	return NULL;
}

int queue_start_all(struct ldisk *ld, const struct dataplane_ops *dp)
{
	int ret = 0;

	ld->nr_ready = 0;
	for (unsigned int i = 0; i < ld->nr_queues; i++) {
		struct queue *q = &ld->queues[i];

		q->ld = ld;
		q->q_id = (uint16_t)i;
		q->depth = ld->depth;
		q->dp = dp;
		q->ring.ring_fd = -1;
		q->raw.fd = -1;
		if (ld->queue_stats && ld->disk_index * BLKX_MAX_QUEUES + i <
					       ld->queue_stats_entries)
			q->qstats = &ld->queue_stats[ld->disk_index *
							     BLKX_MAX_QUEUES +
						     i];
		ret = -pthread_create(&q->thread, NULL, queue_thread, q);
		if (ret) {
			log_error("dev %u: cannot start queue thread %u: %s",
				  ld->dev_id, i, strerror(-ret));
			break;
		}
		q->thread_started = true;
	}
	pthread_mutex_lock(&ld->lock);
	for (;;) {
		unsigned int started = 0;

		for (unsigned int i = 0; i < ld->nr_queues; i++)
			started += ld->queues[i].thread_started;
		if (ld->nr_ready >= started)
			break;
		pthread_cond_wait(&ld->cond, &ld->lock);
	}
	pthread_mutex_unlock(&ld->lock);
	for (unsigned int i = 0; !ret && i < ld->nr_queues; i++)
		ret = ld->queues[i].setup_ret;
	return ret;
}

void queue_join_all(struct ldisk *ld)
{
	for (unsigned int i = 0; i < ld->nr_queues; i++) {
		struct queue *q = &ld->queues[i];

		if (q->thread_started)
			pthread_join(q->thread, NULL);
		q->thread_started = false;
	}
}

void queue_abort_all(struct ldisk *ld)
{
	ld->abort = true;
	for (unsigned int i = 0; i < ld->nr_queues; i++) {
		struct queue *q = &ld->queues[i];

		if (!q->thread_started)
			continue;
		/* the signal may land before the thread sleeps: repeat */
		for (;;) {
			struct timespec ts;

			pthread_kill(q->thread, SIGUSR1);
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 50 * 1000 * 1000;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			if (pthread_timedjoin_np(q->thread, NULL, &ts) == 0)
				break;
		}
		q->thread_started = false;
	}
}
