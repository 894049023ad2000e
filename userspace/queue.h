/* SPDX-License-Identifier: MIT */
/*
 * queue: one ublk queue served by one thread and one io_uring: FETCH_REQ
 * for every tag, then a loop of CQE -> request -> member I/O -> commit.
 * A request reads as a sentence:
 *   iod -> dp->queue_io(q, tag) -> remap -> SQEs -> CQE -> dp->io_done
 *       -> queue_commit(q, tag, res)
 */
#ifndef BLKXLATE_QUEUE_H
#define BLKXLATE_QUEUE_H

#include <liburing.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <blkxlate/abi.h>
#include <blkxlate/kcompat.h>

struct ldisk;
struct queue;

/* user_data of every SQE: what it is and whom it belongs to.  A member
 * write that carries FUA has QUEUE_OP_FUA or-ed into its op. */
#define QUEUE_OP_FUA 0x80
enum queue_sqe_kind {
	QK_UBLK = 1,   /* FETCH_REQ / COMMIT_AND_FETCH_REQ */
	QK_MEMBER = 2, /* I/O on a member */
};

static inline uint64_t queue_udata(unsigned int kind, unsigned int tag,
				   unsigned int member, unsigned int op,
				   uint32_t nr_sectors)
{
	return (uint64_t)tag | (uint64_t)(member & 0xff) << 16 |
	       (uint64_t)(op & 0xff) << 24 |
	       (uint64_t)(nr_sectors & 0xffffff) << 32 | (uint64_t)kind << 56;
}
static inline unsigned int udata_tag(uint64_t d)
{
	return d & 0xffff;
}
static inline unsigned int udata_member(uint64_t d)
{
	return (d >> 16) & 0xff;
}
static inline unsigned int udata_op(uint64_t d)
{
	return (d >> 24) & 0xff;
}
static inline uint32_t udata_sectors(uint64_t d)
{
	return (d >> 32) & 0xffffff;
}
static inline unsigned int udata_kind(uint64_t d)
{
	return d >> 56;
}

/* Per-tag state. */
struct io_slot {
	int32_t result;	  /* first error, or bytes done */
	uint16_t pending; /* member SQEs not completed yet */
	uint8_t op;	  /* UBLK_IO_OP_* being served */
	bool fua;	  /* a write with UBLK_IO_F_FUA */
	bool owned;	  /* the request is ours (between CQE and commit) */
	bool fetch_live;  /* a FETCH/COMMIT command is with the kernel */
	uint32_t nr_sectors;
	void *buf; /* server buffer (copy mode), else NULL */
};

/* The data path's hooks (userspace loop now; the BPF loop plugs in here). */
struct dataplane_ops {
	const char *name;
	/* serve the request on tag: queue SQEs, or commit at once */
	int (*queue_io)(struct queue *q, unsigned int tag,
			const struct ublksrv_io_desc *iod);
	/* a member I/O of tag completed */
	void (*io_done)(struct queue *q, const struct io_uring_cqe *cqe);
};

struct queue {
	struct ldisk *ld;
	uint16_t q_id;
	uint16_t depth;
	struct io_uring ring;
	struct ublksrv_io_desc *iods; /* the driver's mmap for this queue */
	size_t iods_len;
	struct io_slot *ios;
	const struct dataplane_ops *dp;
	pthread_t thread;
	bool thread_started;
	unsigned int cmds_live; /* FETCH/COMMIT commands with the kernel */
	unsigned int ios_owned; /* requests being served */
	int setup_ret;		/* result of setup, read by the starter */
	/* counters of this queue */
	uint64_t nr_requests;
	uint64_t nr_errors;
};

/* Everything the queues of one ublk device share. */
struct ldisk {
	uint32_t dev_id;
	uint32_t disk_index;  /* in the disks map */
	struct blkx_disk geo; /* copy of the map value */
	int cdev_fd;	      /* /dev/ublkcN */
	int nr_members;
	int *member_fds;		   /* fixed files 1..n */
	const struct blkx_member *members; /* members map values, in order */
	bool zero_copy;			   /* UBLK_F_AUTO_BUF_REG */
	bool fua_by_dsync;		   /* FUA writes use RWF_DSYNC */
	uint32_t max_io_bytes;
	uint16_t nr_queues;
	uint16_t depth;
	struct queue *queues;
	struct blkx_io_stats *lun_stats;    /* mmapped pinned map entry */
	struct blkx_io_stats *member_stats; /* entry of member 0 */
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

/* Complete tag with res (bytes or -errno) and fetch the next request. */
int queue_commit(struct queue *q, unsigned int tag, int32_t res);
/* An SQE, submitting first when the SQ is full; NULL only on a dead ring. */
struct io_uring_sqe *queue_get_sqe(struct queue *q);

/* Add to a counter of the pinned stats maps (shared with BPF). */
static inline void stats_add(__u64 *ctr, __u64 v)
{
	__atomic_fetch_add(ctr, v, __ATOMIC_RELAXED);
}

extern const struct dataplane_ops dp_user_ops;

#endif /* BLKXLATE_QUEUE_H */
