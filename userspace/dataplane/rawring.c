// SPDX-License-Identifier: MIT
#include "dataplane/rawring.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <blkxlate/kcompat.h>

#define SQE128_SIZE 128

int rawring_init(struct rawring *r, unsigned int sq_entries,
		 unsigned int cq_entries, unsigned int extra_flags)
{
	void *p;
	int fd;

	memset(r, 0, sizeof(*r));
	r->fd = -1;
	r->p.flags = IORING_SETUP_SQE128 | IORING_SETUP_NO_SQARRAY |
		     IORING_SETUP_SQ_REWIND | IORING_SETUP_CQSIZE | extra_flags;
	r->p.cq_entries = cq_entries;
	fd = (int)syscall(__NR_io_uring_setup, sq_entries, &r->p);
	if (fd < 0)
		return -errno;
	r->fd = fd;
	/* FEAT_SINGLE_MMAP (5.4+): SQ and CQ ring headers share one map */
	r->rings_sz = r->p.cq_off.cqes +
		      r->p.cq_entries * sizeof(struct io_uring_cqe);
	if (r->p.sq_off.flags + sizeof(unsigned int) > r->rings_sz)
		r->rings_sz = r->p.sq_off.flags + sizeof(unsigned int);
	p = mmap(NULL, r->rings_sz, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQ_RING);
	if (p == MAP_FAILED)
		goto fail;
	r->rings = p;
	r->sqes_sz = (size_t)r->p.sq_entries * SQE128_SIZE;
	p = mmap(NULL, r->sqes_sz, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQES);
	if (p == MAP_FAILED)
		goto fail;
	r->sqes = p;
	r->cq_khead = (unsigned int *)((char *)r->rings + r->p.cq_off.head);
	r->cq_ktail = (unsigned int *)((char *)r->rings + r->p.cq_off.tail);
	r->cq_mask =
		*(unsigned int *)((char *)r->rings + r->p.cq_off.ring_mask);
	r->cqes = (struct io_uring_cqe *)((char *)r->rings + r->p.cq_off.cqes);
	r->shim.ring_fd = fd;
	r->shim.enter_ring_fd = fd;
	return 0;
fail:
	fd = -errno;
	rawring_exit(r);
	return fd;
}

void rawring_exit(struct rawring *r)
{
	if (r->sqes)
		munmap(r->sqes, r->sqes_sz);
	if (r->rings)
		munmap(r->rings, r->rings_sz);
	if (r->fd >= 0)
		close(r->fd);
	r->sqes = r->rings = NULL;
	r->fd = -1;
}

struct io_uring_sqe *rawring_get_sqe(struct rawring *r)
{
	struct io_uring_sqe *sqe;

	if (r->pending >= r->p.sq_entries)
		return NULL;
	sqe = (struct io_uring_sqe *)((char *)r->sqes +
				      (size_t)r->pending * SQE128_SIZE);
	memset(sqe, 0, SQE128_SIZE);
	r->pending++;
	return sqe;
}

int rawring_enter(struct rawring *r, unsigned int min_complete,
		  unsigned int flags)
{
	unsigned int n = r->pending;
	int ret;

	ret = (int)syscall(__NR_io_uring_enter, r->fd, n, min_complete, flags,
			   NULL, 0);
	if (ret < 0)
		return -errno;
	/* with SQ_REWIND the next batch starts again at index 0 */
	r->pending = (unsigned int)ret >= n ? 0 : n - (unsigned int)ret;
	if (r->pending) {
		/* move the unsubmitted tail to the front */
		memmove(r->sqes, (char *)r->sqes + (size_t)ret * SQE128_SIZE,
			(size_t)r->pending * SQE128_SIZE);
	}
	return ret;
}

int rawring_run_loop(struct rawring *r)
{
	int ret = (int)syscall(__NR_io_uring_enter, r->fd, 0, 1,
			       IORING_ENTER_GETEVENTS, NULL, 0);

	return ret < 0 ? -errno : ret;
}
