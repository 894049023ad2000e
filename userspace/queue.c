// SPDX-License-Identifier: MIT
/*
 * queue: the per-queue thread.  Setup order matters: the ring must be made
 * by the thread that submits (SINGLE_ISSUER), every tag must have a FETCH
 * with the kernel before START_DEV returns, and at STOP_DEV the kernel
 * completes the idle fetches with -ENODEV, which ends the loop.
 */
#include "queue.h"

#include <errno.h>
#include <signal.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "log.h"

static unsigned int ring_entries(unsigned int depth)
{
	unsigned int n = 64;

	while (n < depth * 2 && n < 4096)
		n <<= 1;
	return n;
}

static int setup_ring(struct queue *q)
{
	struct io_uring_params p;
	unsigned int entries = ring_entries(q->depth);
	int ret;

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

static int setup_files_and_buffers(struct queue *q)
{
	struct ldisk *ld = q->ld;
	int fds[1 + BLKX_MAX_DISK_MEMBERS];
	int ret;

	fds[0] = ld->cdev_fd;
	for (int i = 0; i < ld->nr_members; i++)
		fds[1 + i] = ld->member_fds[i];
	ret = io_uring_register_files(&q->ring, fds,
				      (unsigned int)(1 + ld->nr_members));
	if (ret)
		return ret;
	if (ld->zero_copy)
		/* the driver registers each request's pages at index = tag */
		return io_uring_register_buffers_sparse(&q->ring, q->depth);

	struct iovec *iov = calloc(q->depth, sizeof(*iov));

	if (!iov)
		return -ENOMEM;
	for (unsigned int t = 0; t < q->depth; t++) {
		if (posix_memalign(&q->ios[t].buf, 4096, ld->max_io_bytes)) {
			free(iov);
			return -ENOMEM;
		}
		iov[t].iov_base = q->ios[t].buf;
		iov[t].iov_len = ld->max_io_bytes;
	}
	ret = io_uring_register_buffers(&q->ring, iov, q->depth);
	free(iov);
	return ret;
}

static int map_iods(struct queue *q)
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

struct io_uring_sqe *queue_get_sqe(struct queue *q)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&q->ring);

	if (!sqe) {
		int ret = io_uring_submit(&q->ring);

		if (ret < 0)
			return NULL;
		sqe = io_uring_get_sqe(&q->ring);
	}
	return sqe;
}

/* FETCH_REQ (first time) or COMMIT_AND_FETCH_REQ for tag. */
static int queue_ublk_cmd(struct queue *q, unsigned int tag, uint32_t op,
			  int32_t res)
{
	struct io_slot *io = &q->ios[tag];
	struct ublksrv_io_cmd *cmd;
	struct io_uring_sqe *sqe = queue_get_sqe(q);

	if (!sqe)
		return -EBUSY;
	memset(sqe, 0, 2 * sizeof(*sqe)); /* 128-byte SQE */
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
		cmd->addr = (uint64_t)(uintptr_t)io->buf;
	sqe->user_data = queue_udata(QK_UBLK, tag, 0, 0, 0);
	io->fetch_live = true;
	q->cmds_live++;
	return 0;
}

int queue_commit(struct queue *q, unsigned int tag, int32_t res)
{
	struct io_slot *io = &q->ios[tag];
	struct blkx_io_stats *ls = q->ld->lun_stats;
	int ret;

	if (ls) {
		uint64_t sectors = io->nr_sectors;

		switch (io->op) {
		case UBLK_IO_OP_READ:
			stats_add(&ls->reads, 1);
			stats_add(&ls->read_sectors, res > 0 ? sectors : 0);
			break;
		case UBLK_IO_OP_WRITE:
			stats_add(&ls->writes, 1);
			stats_add(&ls->write_sectors, res > 0 ? sectors : 0);
			if (io->fua)
				stats_add(&ls->fua_writes, 1);
			break;
		case UBLK_IO_OP_FLUSH:
			stats_add(&ls->flushes, 1);
			break;
		case UBLK_IO_OP_DISCARD:
			stats_add(&ls->discards, 1);
			break;
		case UBLK_IO_OP_WRITE_ZEROES:
			stats_add(&ls->write_zeroes, 1);
			break;
		}
		if (res < 0)
			stats_add(&ls->errors, 1);
	}
	if (res < 0)
		q->nr_errors++;
	io->owned = false;
	q->ios_owned--;
	ret = queue_ublk_cmd(q, tag, UBLK_U_IO_COMMIT_AND_FETCH_REQ, res);
	if (ret)
		log_error("queue %u tag %u: cannot commit: %s", q->q_id, tag,
			  strerror(-ret));
	return ret;
}

static int queue_setup(struct queue *q)
{
	int ret;

	q->ios = calloc(q->depth, sizeof(*q->ios));
	if (!q->ios)
		return -ENOMEM;
	ret = setup_ring(q);
	if (ret)
		return ret;
	ret = setup_files_and_buffers(q);
	if (!ret)
		ret = map_iods(q);
	for (unsigned int t = 0; !ret && t < q->depth; t++)
		ret = queue_ublk_cmd(q, t, UBLK_U_IO_FETCH_REQ, -1);
	if (!ret) {
		ret = io_uring_submit(&q->ring);
		ret = ret < 0 ? ret : 0;
	}
	return ret;
}

static void handle_ublk_cqe(struct queue *q, const struct io_uring_cqe *cqe)
{
	unsigned int tag = udata_tag(cqe->user_data);
	struct io_slot *io = &q->ios[tag];

	io->fetch_live = false;
	q->cmds_live--;
	if (cqe->res == UBLK_IO_RES_OK) {
		const struct ublksrv_io_desc *iod = &q->iods[tag];

		io->owned = true;
		io->op = (uint8_t)(iod->op_flags & 0xff);
		io->nr_sectors = iod->nr_sectors;
		io->fua = (iod->op_flags >> 8) & (UBLK_IO_F_FUA >> 8);
		io->result = 0;
		io->pending = 0;
		q->ios_owned++;
		q->nr_requests++;
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

static void queue_loop(struct queue *q)
{
	while ((q->cmds_live > 0 || q->ios_owned > 0) && !q->ld->abort) {
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
			if (udata_kind(cqe->user_data) == QK_UBLK)
				handle_ublk_cqe(q, cqe);
			else
				q->dp->io_done(q, cqe);
			n++;
		}
		io_uring_cq_advance(&q->ring, n);
	}
}

static void queue_teardown(struct queue *q)
{
	if (q->ring.ring_fd >= 0)
		io_uring_queue_exit(&q->ring);
	q->ring.ring_fd = -1;
	if (q->iods)
		munmap(q->iods, q->iods_len);
	q->iods = NULL;
	if (q->ios)
		for (unsigned int t = 0; t < q->depth; t++)
			free(q->ios[t].buf);
	free(q->ios);
	q->ios = NULL;
}

static void *queue_thread(void *arg)
{
	struct queue *q = arg;
	struct ldisk *ld = q->ld;
	int ret = queue_setup(q);

	pthread_mutex_lock(&ld->lock);
	q->setup_ret = ret;
	ld->nr_ready++;
	pthread_cond_broadcast(&ld->cond);
	pthread_mutex_unlock(&ld->lock);
	if (!ret)
		queue_loop(q);
	queue_teardown(q);
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
