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

#include <blkxlate/request.h>

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

void queue_unmap_iods(struct queue *q)
{
	if (q->iods)
		munmap((void *)q->iods, q->iods_len);
	q->iods = NULL;
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

/* In copy mode the kernel copies the request into (or out of) the tag's
 * server buffer; with zero copy there is none. */
static uint64_t tag_buf(const struct queue *q, unsigned int tag)
{
	return q->bufs ? (uint64_t)(uintptr_t)q->bufs[tag] : 0;
}

int queue_fetch_all(struct queue *q)
{
	for (unsigned int t = 0; t < q->depth; t++) {
		struct io_uring_sqe *sqe = queue_get_sqe(q);

		if (!sqe)
			return -EBUSY;
		blkx_prep_fetch(sqe, q->q_id, t, q->ld->zero_copy,
				tag_buf(q, t));
		blkx_tag_fetching(&q->tags[t], q->qs);
	}
	return 0;
}

int queue_commit(struct queue *q, unsigned int tag, int32_t res)
{
	struct io_uring_sqe *sqe;

	blkx_tag_end(&q->tags[tag], q->qs, q->ld->lun_stats, res);
	if (q->qstats)
		stats_add(&q->qstats->user_commits, 1);
	sqe = queue_get_sqe(q);
	if (!sqe) {
		log_error("queue %u tag %u: cannot commit: %s", q->q_id, tag,
			  strerror(EBUSY));
		return -EBUSY;
	}
	blkx_prep_commit(sqe, q->q_id, tag, res, q->ld->zero_copy,
			 tag_buf(q, tag));
	return 0;
}

bool queue_busy(const struct queue *q)
{
	return (q->qs->cmds_live > 0 || q->qs->ios_owned > 0) && !q->ld->abort;
}

static void *queue_thread(void *arg)
{
	struct queue *q = arg;
	struct ldisk *ld = q->ld;
	int ret = q->ring_ops->setup(q);

	pthread_mutex_lock(&ld->lock);
	q->setup_ret = ret;
	ld->nr_ready++;
	pthread_cond_broadcast(&ld->cond);
	pthread_mutex_unlock(&ld->lock);
	if (!ret)
		q->ring_ops->run(q);
	q->ring_ops->teardown(q);
	return NULL;
}

int queue_start_all(struct ldisk *ld, const struct ring_ops *ops)
{
	int ret = 0;

	ld->nr_ready = 0;
	for (unsigned int i = 0; i < ld->nr_queues; i++) {
		struct queue *q = &ld->queues[i];

		q->ld = ld;
		q->q_id = (uint16_t)i;
		q->depth = ld->depth;
		q->ring_ops = ops;
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
