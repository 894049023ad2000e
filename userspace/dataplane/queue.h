/* SPDX-License-Identifier: MIT */
/*
 * queue: one ublk queue served by one thread and one io_uring.  A request
 * reads as a sentence:
 *   ring CQE -> request_handle_cqe() -> remap -> member SQEs (request.h)
 *   -> member CQEs -> request_handle_cqe() -> queue_commit()
 * What the two data paths vary is the ring (struct ring_ops): the
 * userspace loop (ring_user.c, liburing) runs every CQE through
 * request_handle_cqe() itself; the BPF loop (ring_bpf.c) runs the same
 * steps in the kernel and hands only the rare CQEs back to it, on the same
 * per-tag state.
 */
#ifndef BLKXLATE_DATAPLANE_QUEUE_H
#define BLKXLATE_DATAPLANE_QUEUE_H

#include <liburing.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <blkxlate/abi.h>
#include <blkxlate/kcompat.h>

#include "dataplane/rawring.h"

struct ldisk;
struct queue;

/* A data path: how a queue's ring is made, run and taken down. */
struct ring_ops {
	const char *name;
	/* open files one queue holds (what RLIMIT_NOFILE must allow) */
	unsigned int fds_per_queue;
	/* make the ring, register files and buffers, FETCH every tag */
	int (*setup)(struct queue *q);
	/* serve until the device stops (all fetches aborted) */
	void (*run)(struct queue *q);
	void (*teardown)(struct queue *q);
};

struct queue {
	struct ldisk *ld;
	uint16_t q_id;
	uint16_t depth;
	const struct ring_ops *ring_ops;
	/* the ring: liburing, or a raw one for the BPF data path */
	bool use_raw;
	struct io_uring ring;
	struct rawring raw;
	const struct ublksrv_io_desc *iods; /* the driver's mmap */
	size_t iods_len;
	/* per-tag and queue state (malloc'd, or the BPF program's .bss) */
	struct blkx_tag *tags;
	struct blkx_qstate *qs;
	void **bufs; /* copy mode: one server buffer per tag */
	struct blkx_queue_stats *qstats; /* in the pinned queue_stats */
	void *ring_priv;		 /* the data path's own state */
	pthread_t thread;
	bool thread_started;
	int setup_ret; /* result of setup, read by the starter */
};

/* Everything the queues of one ublk device share. */
struct ldisk {
	uint32_t dev_id;
	uint32_t disk_index;  /* in the disks map */
	struct blkx_disk geo; /* copy of the map value */
	/* members map values, in order; the daemon may set a member's
	 * flags (lun_member_failed), the queues only read them */
	struct blkx_member *members;
	int cdev_fd; /* /dev/ublkcN */
	int nr_members;
	int *member_fds; /* fixed files 1..n */
	bool zero_copy;	 /* UBLK_F_AUTO_BUF_REG */
	uint32_t max_io_bytes;
	uint16_t nr_queues;
	uint16_t depth;
	struct queue *queues;
	struct blkx_io_stats *lun_stats;    /* mmapped pinned map entry */
	struct blkx_io_stats *member_stats; /* entry of member 0 */
	const char *pin_dir;		    /* the instance's bpffs directory */
	struct blkx_queue_stats *queue_stats; /* mmapped map, whole */
	unsigned int queue_stats_entries;     /* its size */
	/* readiness handshake between queue threads and the starter */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned int nr_ready;
	/* set (then SIGUSR1 to the threads) to end queues of a device that
	 * was never started: no STOP_DEV will abort their fetches */
	volatile bool abort;
};

/* Start the queue threads of ld (each sets up its ring and FETCHes every
 * tag) and wait until all are ready.  0 or the first setup error. */
int queue_start_all(struct ldisk *ld, const struct ring_ops *ops);
/* Wait for the queue threads (after STOP_DEV made the kernel abort the
 * fetches) and free what they own. */
void queue_join_all(struct ldisk *ld);
/* End the queues of a device that was never started (no STOP_DEV will
 * abort their fetches): set ld->abort and signal the threads until they
 * have all exited. */
void queue_abort_all(struct ldisk *ld);

/* --- what the rings and the request handler share ---------------------- */
/* An SQE on the queue's ring (its first 64 bytes are the caller's to
 * fill), or NULL when the ring has no room. */
struct io_uring_sqe *queue_get_sqe(struct queue *q);
/* FETCH_REQ for every tag (setup). */
int queue_fetch_all(struct queue *q);
/* Complete tag with res (bytes or -errno) and fetch the next request. */
int queue_commit(struct queue *q, unsigned int tag, int32_t res);
/* Map the driver's request descriptors of this queue. */
int queue_map_iods(struct queue *q);
void queue_unmap_iods(struct queue *q);
/* The fixed files: [0] = /dev/ublkcN, [1..n] = the members. */
int queue_register_files(struct queue *q, struct io_uring *ring);
/* true while the queue still has work: commands with the kernel or
 * requests being served (and the device was not aborted) */
bool queue_busy(const struct queue *q);

/*
 * request: serve one CQE of the queue's ring in userspace -- a request
 * (FETCH/COMMIT completion: remap, queue member SQEs, or commit at once) or
 * a member completion (judge it, commit after the last).  The BPF data
 * path's slow path too.
 */
void request_handle_cqe(struct queue *q, const struct io_uring_cqe *cqe);

/* Add to a counter of the pinned stats maps (shared with BPF). */
static inline void stats_add(__u64 *ctr, __u64 v)
{
	__atomic_fetch_add(ctr, v, __ATOMIC_RELAXED);
}

extern const struct ring_ops ring_user_ops;
extern const struct ring_ops ring_bpf_ops;

/*
 * Can this kernel run the BPF data path?  Sets up a throwaway ring with the
 * flags it needs, loads the program against the instance's pinned maps and
 * attaches it.  0, or -errno with the reason in why.
 */
int ring_bpf_probe(const char *pin_dir, char *why, size_t len);

#endif /* BLKXLATE_DATAPLANE_QUEUE_H */
