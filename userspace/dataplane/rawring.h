/* SPDX-License-Identifier: MIT */
/*
 * rawring: an io_uring set up with raw syscalls, for the flags the BPF
 * data path needs and liburing 2.3 does not know: NO_SQARRAY (liburing 2.3
 * would write an SQ array that does not exist) and SQ_REWIND (SQEs always
 * start at index 0 and head/tail are never touched).  Only what the queue
 * needs: get an SQE, enter, walk CQEs.  Registration goes through
 * liburing's helpers on a struct io_uring that only carries the fd.
 */
#ifndef BLKXLATE_RAWRING_H
#define BLKXLATE_RAWRING_H

#include <liburing.h>
#include <stddef.h>

struct rawring {
	int fd;
	struct io_uring_params p;
	void *rings; /* SQ and CQ ring headers + CQEs (one mmap) */
	size_t rings_sz;
	void *sqes; /* the SQE array (128-byte SQEs) */
	size_t sqes_sz;
	unsigned int pending; /* SQEs written at 0..pending-1, not submitted */
	unsigned int *cq_khead;
	unsigned int *cq_ktail;
	unsigned int cq_mask;
	struct io_uring_cqe *cqes;
	struct io_uring shim; /* ring_fd only: for liburing's register calls */
};

/* Create the ring (SQE128 | NO_SQARRAY | SQ_REWIND | extra_flags). */
int rawring_init(struct rawring *r, unsigned int sq_entries,
		 unsigned int cq_entries, unsigned int extra_flags);
void rawring_exit(struct rawring *r);
/* The next SQE slot (zeroed), or NULL when the SQ is full. */
struct io_uring_sqe *rawring_get_sqe(struct rawring *r);
/* Submit what is pending; with IORING_ENTER_GETEVENTS also wait for
 * min_complete CQEs (and run an attached BPF loop).  >= 0 or -errno. */
int rawring_enter(struct rawring *r, unsigned int min_complete,
		  unsigned int flags);

/* Enter without submitting: with an io_uring BPF loop attached this runs
 * the loop until it stops (the loop submits by itself).  >= 0 or -errno. */
int rawring_run_loop(struct rawring *r);

#endif /* BLKXLATE_RAWRING_H */
