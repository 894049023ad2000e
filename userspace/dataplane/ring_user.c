// SPDX-License-Identifier: MIT
/*
 * ring_user: the userspace data path's ring.  A liburing ring per queue
 * (SQE128; SINGLE_ISSUER | DEFER_TASKRUN where the kernel has them), the
 * fixed files, and either a sparse buffer table that UBLK_F_AUTO_BUF_REG
 * fills with each request's pages (zero copy) or one server buffer per tag
 * (copy mode); then every CQE goes through request_handle_cqe().
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>

#include "base/log.h"
#include "dataplane/queue.h"

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

static int ring_user_setup(struct queue *q)
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

static void ring_user_run(struct queue *q)
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
			request_handle_cqe(q, cqe);
			n++;
		}
		io_uring_cq_advance(&q->ring, n);
	}
}

static void ring_user_teardown(struct queue *q)
{
	if (q->ring.ring_fd >= 0)
		io_uring_queue_exit(&q->ring);
	q->ring.ring_fd = -1;
	queue_unmap_iods(q);
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

const struct ring_ops ring_user_ops = {
	.name = "user",
	.fds_per_queue = 2, /* the ring (and slack) */
	.setup = ring_user_setup,
	.run = ring_user_run,
	.teardown = ring_user_teardown,
};
