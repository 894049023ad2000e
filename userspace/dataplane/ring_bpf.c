// SPDX-License-Identifier: MIT
/*
 * ring_bpf: the BPF data path's ring.  Per queue: a raw ring
 * (SQE128 | SINGLE_ISSUER | DEFER_TASKRUN | NO_SQARRAY | SQ_REWIND), the
 * fixed files and a sparse buffer table for UBLK_F_AUTO_BUF_REG, one
 * instance of bpf/fastpath.bpf.c attached to that ring, FETCH for every
 * tag; then the thread sleeps in io_uring_enter(GETEVENTS) while the
 * kernel runs the loop.  When the program hands a CQE over (returns STOP
 * without consuming it), request_handle_cqe() serves that one CQE on the same
 * per-tag state, and the thread enters again.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "base/log.h"
#include "pins/maps.h"
#include "dataplane/queue.h"
/* after queue.h: the skeleton's .bss uses the ABI types */
#include "fastpath.skel.h"

/* the program writes up to 32 SQEs a step; the slow path needs room for
 * BLKX_MAX_SEGMENTS + 1 */
#define FASTPATH_MIN_SQ 128

struct ring_bpf {
	struct fastpath_bpf *skel;
	struct bpf_link *link;
};

static unsigned int pow2_at_least(unsigned int v, unsigned int min)
{
	unsigned int n = min;

	while (n < v)
		n <<= 1;
	return n;
}

/* Open, configure and load one fastpath instance for ring r. */
static int fastpath_load(struct ring_bpf *b, const struct rawring *r,
			 const char *pin_dir, uint32_t disk, uint16_t queue,
			 uint16_t depth, const void *iods)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pin_dir);
	struct fastpath_bpf *skel;
	int ret;

	skel = fastpath_bpf__open_opts(&opts);
	if (!skel)
		return -errno;
	b->skel = skel;
	skel->rodata->cfg_disk = disk;
	skel->rodata->cfg_queue = queue;
	skel->rodata->cfg_depth = depth;
	skel->rodata->cfg_iod_base = (uint64_t)(uintptr_t)iods;
	skel->rodata->cfg_cq_head = r->p.cq_off.head;
	skel->rodata->cfg_cq_tail = r->p.cq_off.tail;
	skel->rodata->cfg_cq_cqes = r->p.cq_off.cqes;
	skel->rodata->cfg_cq_mask = r->cq_mask;
	skel->rodata->cfg_rings_bytes = r->rings_sz;
	skel->rodata->cfg_sqes_bytes = r->sqes_sz;
	skel->struct_ops.blkx_ops->ring_fd = (unsigned int)r->fd;
	ret = maps_match_pins(skel->obj, pin_dir);
	if (!ret)
		ret = fastpath_bpf__load(skel);
	return ret;
}

static int fastpath_attach(struct ring_bpf *b)
{
	b->link = bpf_map__attach_struct_ops(b->skel->maps.blkx_ops);
	return b->link ? 0 : -errno;
}

static void fastpath_unload(struct ring_bpf *b)
{
	if (b->link)
		bpf_link__destroy(b->link);
	if (b->skel)
		fastpath_bpf__destroy(b->skel);
	b->link = NULL;
	b->skel = NULL;
}

static int ring_bpf_setup(struct queue *q)
{
	struct ldisk *ld = q->ld;
	struct ring_bpf *b = calloc(1, sizeof(*b));
	unsigned int sq, cq;
	int ret;

	if (!b)
		return -ENOMEM;
	q->ring_priv = b;
	q->use_raw = true;
	sq = pow2_at_least(q->depth, FASTPATH_MIN_SQ);
	/* every tag may have its command and one I/O per member in flight */
	cq = pow2_at_least((unsigned int)q->depth * (1u + ld->nr_members),
			   2 * sq);
	ret = rawring_init(&q->raw, sq, cq,
			   IORING_SETUP_SINGLE_ISSUER |
				   IORING_SETUP_DEFER_TASKRUN);
	if (ret) {
		log_error("dev %u queue %u: io_uring with SQ_REWIND: %s",
			  ld->dev_id, q->q_id, strerror(-ret));
		return ret;
	}
	ret = queue_register_files(q, &q->raw.shim);
	if (!ret)
		ret = io_uring_register_buffers_sparse(&q->raw.shim, q->depth);
	if (!ret)
		ret = queue_map_iods(q);
	if (ret)
		return ret;
	ret = fastpath_load(b, &q->raw, ld->pin_dir, ld->disk_index, q->q_id,
			    q->depth, q->iods);
	if (ret) {
		log_error("dev %u queue %u: loading the fast path: %s",
			  ld->dev_id, q->q_id, strerror(-ret));
		return ret;
	}
	/* the per-tag state lives in the program's .bss */
	q->tags = b->skel->bss->tags;
	q->qs = &b->skel->bss->qs;
	memset(q->tags, 0, sizeof(b->skel->bss->tags));
	memset(q->qs, 0, sizeof(*q->qs));
	ret = queue_fetch_all(q);
	if (!ret) /* a plain enter: no BPF is attached yet */
		ret = rawring_enter(&q->raw, 0, 0);
	if (ret >= 0)
		ret = fastpath_attach(b);
	if (ret < 0)
		log_error("dev %u queue %u: attaching the fast path: %s",
			  ld->dev_id, q->q_id, strerror(-ret));
	return ret < 0 ? ret : 0;
}

/* SQEs one CQE may need in userspace: a segment per chunk, and a commit */
#define SLOW_PATH_SQES (BLKX_MAX_SEGMENTS + 1)

/*
 * Serve in userspace the CQE the program stopped at, and only that one:
 * every other READ/WRITE stays with the program, which gets the CQ back
 * when the thread enters again.  (If the SQ lacks room for what the CQE may
 * need, the program first submits what is queued.)
 */
static void serve_handoff(struct queue *q)
{
	struct rawring *r = &q->raw;
	unsigned int head = *r->cq_khead;
	unsigned int tail = __atomic_load_n(r->cq_ktail, __ATOMIC_ACQUIRE);

	if (head == tail || r->pending + SLOW_PATH_SQES > r->p.sq_entries)
		return;
	request_handle_cqe(q, &r->cqes[head & r->cq_mask]);
	__atomic_store_n(r->cq_khead, head + 1, __ATOMIC_RELEASE);
}

static void ring_bpf_run(struct queue *q)
{
	while (queue_busy(q)) {
		int ret;

		/* with the loop attached, io_uring_enter submits nothing:
		 * the program submits userspace's SQEs when it starts; the
		 * slots stay ours until it has (a signal may come first) */
		q->qs->user_sqes = q->raw.pending;
		ret = rawring_run_loop(&q->raw);
		if (q->qs->user_sqes == 0)
			q->raw.pending = 0;
		if (ret < 0 && ret != -EINTR && ret != -EAGAIN &&
		    ret != -EBUSY) {
			log_error("dev %u queue %u: io_uring_enter: %s",
				  q->ld->dev_id, q->q_id, strerror(-ret));
			break;
		}
		serve_handoff(q);
	}
}

static void ring_bpf_teardown(struct queue *q)
{
	struct ring_bpf *b = q->ring_priv;

	/* tags/qs point into the skeleton: forget them before it goes */
	q->tags = NULL;
	q->qs = NULL;
	if (b)
		fastpath_unload(b);
	free(b);
	q->ring_priv = NULL;
	rawring_exit(&q->raw);
	queue_unmap_iods(q);
}

const struct ring_ops ring_bpf_ops = {
	.name = "bpf",
	/* the ring, and the skeleton's: every pinned map, its programs and
	 * the struct_ops link (about 20, seen in the lab) */
	.fds_per_queue = 24,
	.setup = ring_bpf_setup,
	.run = ring_bpf_run,
	.teardown = ring_bpf_teardown,
};

int ring_bpf_probe(const char *pin_dir, char *why, size_t len)
{
	struct ring_bpf b = {0};
	struct rawring r;
	static const struct ublksrv_io_desc dummy[1];
	int ret;

	ret = rawring_init(&r, FASTPATH_MIN_SQ, 2 * FASTPATH_MIN_SQ,
			   IORING_SETUP_SINGLE_ISSUER |
				   IORING_SETUP_DEFER_TASKRUN);
	if (ret) {
		snprintf(
			why, len,
			"io_uring lacks IORING_SETUP_NO_SQARRAY|SQ_REWIND (%s)",
			strerror(-ret));
		return ret;
	}
	ret = fastpath_load(&b, &r, pin_dir, 0, 0, 1, dummy);
	if (ret) {
		snprintf(why, len, "loading the fast-path program failed (%s)",
			 strerror(-ret));
	} else {
		ret = fastpath_attach(&b);
		if (ret)
			snprintf(why, len,
				 "attaching io_uring_bpf_ops failed (%s)",
				 strerror(-ret));
	}
	fastpath_unload(&b);
	rawring_exit(&r);
	return ret;
}
