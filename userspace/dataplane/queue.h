/* SPDX-License-Identifier: MIT */
/*
 * queue: one ublk queue served by one thread and one io_uring: FETCH_REQ
 * for every tag, then CQE -> request -> member I/O -> commit.  A request
 * reads as a sentence:
 *   iod -> dp->queue_io(q, tag) -> remap -> SQEs -> CQE -> dp->io_done
 *       -> queue_commit(q, tag, res)
 * The userspace data path runs that loop itself (liburing); the BPF data
 * path runs it in the kernel and hands the rare cases back to the same
 * userspace handlers, on the same per-tag state.
 */
#ifndef BLKXLATE_QUEUE_H
#define BLKXLATE_QUEUE_H

#include <liburing.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <blkxlate/abi.h>
#include <blkxlate/kcompat.h>

#include "dataplane/rawring.h"

struct ldisk;
struct queue;

/* The data path's hooks. */
struct dataplane_ops {
	const char *name;
	/* make the ring, register files and buffers, FETCH every tag */
	int (*setup)(struct queue *q);
	/* serve until the device stops (all fetches aborted) */
	void (*run)(struct queue *q);
	void (*teardown)(struct queue *q);
	/* userspace handler of a request: queue SQEs, or commit at once */
	int (*queue_io)(struct queue *q, unsigned int tag,
			const struct ublksrv_io_desc *iod);
	/* userspace handler of a member I/O completion */
	void (*io_done)(struct queue *q, const struct io_uring_cqe *cqe);
};

struct queue {
	struct ldisk *ld;
	uint16_t q_id;
	uint16_t depth;
	const struct dataplane_ops *dp;
	/* the ring: liburing, or a raw one for the BPF data path */
	bool use_raw;
	struct io_uring ring;
	struct rawring raw;
	struct ublksrv_io_desc *iods; /* the driver's mmap for this queue */
	size_t iods_len;
	/* per-tag and queue state (malloc'd, or the BPF program's .bss) */
	struct blkx_tag *tags;
	struct blkx_qstate *qs;
	void **bufs; /* copy mode: one server buffer per tag */
	struct blkx_queue_stats *qstats; /* BPF data path: in queue_stats */
	void *dp_priv;			 /* the data path's own state */
	pthread_t thread;
	bool thread_started;
	int setup_ret; /* result of setup, read by the starter */
};

/* Everything the queues of one ublk device share. */
struct ldisk {
	uint32_t dev_id;
	uint32_t disk_index;		   /* in the disks map */
	struct blkx_disk geo;		   /* copy of the map value */
	const struct blkx_member *members; /* members map values, in order */
	int cdev_fd;			   /* /dev/ublkcN */
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
int queue_start_all(struct ldisk *ld, const struct dataplane_ops *dp);
/* Wait for the queue threads (after STOP_DEV made the kernel abort the
 * fetches) and free what they own. */
void queue_join_all(struct ldisk *ld);
/* End the queues of a device that was never started (no STOP_DEV will
 * abort their fetches): set ld->abort and signal the threads until they
 * have all exited. */
void queue_abort_all(struct ldisk *ld);

/* --- shared by the data paths ------------------------------------------ */
/* Complete tag with res (bytes or -errno) and fetch the next request. */
int queue_commit(struct queue *q, unsigned int tag, int32_t res);
/* An SQE on the queue's ring, submitting first when the SQ is full. */
struct io_uring_sqe *queue_get_sqe(struct queue *q);
/* FETCH_REQ for every tag (setup). */
int queue_fetch_all(struct queue *q);
/* Handle one CQE in userspace: a ublk command or a member I/O. */
void queue_handle_cqe(struct queue *q, const struct io_uring_cqe *cqe);
/* Map the driver's request descriptors of this queue. */
int queue_map_iods(struct queue *q);
/* The fixed files: [0] = /dev/ublkcN, [1..n] = the members. */
int queue_register_files(struct queue *q, struct io_uring *ring);
/* true while the queue still has work: commands with the kernel or
 * requests being served (and the device was not aborted) */
bool queue_busy(const struct queue *q);

/* Add to a counter of the pinned stats maps (shared with BPF). */
static inline void stats_add(__u64 *ctr, __u64 v)
{
	__atomic_fetch_add(ctr, v, __ATOMIC_RELAXED);
}

extern const struct dataplane_ops dp_user_ops;
extern const struct dataplane_ops dp_bpf_ops;

/* The userspace handlers (the BPF data path's slow path too). */
int dp_user_queue_io(struct queue *q, unsigned int tag,
		     const struct ublksrv_io_desc *iod);
void dp_user_io_done(struct queue *q, const struct io_uring_cqe *cqe);

/*
 * Can this kernel run the BPF data path?  Sets up a throwaway ring with the
 * flags it needs, loads the program against the instance's pinned maps and
 * attaches it.  0, or -errno with the reason in why.
 */
int dp_bpf_probe(const char *pin_dir, char *why, size_t len);

#endif /* BLKXLATE_QUEUE_H */
