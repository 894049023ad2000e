// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * trace: what the guest disks and their members do, seen from the block
 * layer.  On block:block_rq_complete (a BTF tracepoint) for the devices in
 * trace_devs only: counters and log2 latency histograms per device and
 * operation in io_hist; while `blkxlate trace` runs, one remap event per
 * member I/O in trace_events, with the guest sector it serves (the inverse
 * of the stripe math).  nvme:nvme_setup_cmd and nvme:nvme_complete_rq,
 * where the nvme driver is loaded, count NVMe commands, errors and retries
 * per member.
 *
 * While no one reads, the cost is one program run per completed request
 * (and per NVMe command): a hash lookup that drops every other device, and
 * a few counter adds; block:block_rq_issue then stops at one array lookup.
 * The histograms time a request from its start in the block layer
 * (start_time_ns, kept for I/O accounting while the queue's iostats is on,
 * the default), as iostat's await does, so nothing is stored per request
 * in flight.  Only while `blkxlate trace` reads does block_rq_issue note
 * when each member request went to its driver, and an event's latency is
 * that service time, as biosnoop shows it.
 */
#include <linux/bpf.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include <blkxlate/remap.h>

#include "maps.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* The kernel types we read, by field name (CO-RE relocates the offsets). */
struct gendisk {
	int major;
	int first_minor;
} __attribute__((preserve_access_index));

struct request_queue {
	struct gendisk *disk;
} __attribute__((preserve_access_index));

struct request {
	struct request_queue *q;
	unsigned int cmd_flags;
	unsigned long long __sector;
	unsigned long long start_time_ns;
} __attribute__((preserve_access_index));

struct trace_event_raw_nvme_setup_cmd {
	char disk[32];
} __attribute__((preserve_access_index));

struct trace_event_raw_nvme_complete_rq {
	char disk[32];
	__u8 retries;
	__u16 status;
} __attribute__((preserve_access_index));

#define REQ_OP_MASK	    0xff
#define REQ_OP_READ	    0
#define REQ_OP_WRITE	    1
#define REQ_OP_FLUSH	    2
#define REQ_OP_DISCARD	    3
#define REQ_OP_SECURE_ERASE 5
#define REQ_OP_WRITE_ZEROES 9

/* issue time of each member request in flight, while someone traces */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, __u64);
} rq_start SEC(".maps");

/* The NVMe counters of the member that is namespace DISK (a tracepoint's
 * disk name), or NULL when DISK is not one of ours. */
static __always_inline struct blkx_nvme_stats *
nvme_member_stats(const char *disk)
{
	char name[32] = {}; /* the whole key counts: zero past the NUL */
	__u32 *mi;

	bpf_probe_read_kernel_str(name, sizeof(name), disk);
	mi = bpf_map_lookup_elem(&trace_nvme, name);
	return mi ? bpf_map_lookup_elem(&nvme_stats, mi) : NULL;
}

static __always_inline struct blkx_trace_dev *traced(struct request *rq)
{
	struct gendisk *disk = BPF_CORE_READ(rq, q, disk);
	__u32 dev;

	if (!disk)
		return NULL;
	dev = (__u32)BPF_CORE_READ(disk, major) << 20 |
	      (__u32)BPF_CORE_READ(disk, first_minor);
	return bpf_map_lookup_elem(&trace_devs, &dev);
}

static __always_inline int trace_op(unsigned int cmd_flags)
{
	switch (cmd_flags & REQ_OP_MASK) {
	case REQ_OP_READ:
		return BLKX_TOP_READ;
	case REQ_OP_WRITE:
		return BLKX_TOP_WRITE;
	case REQ_OP_FLUSH:
		return BLKX_TOP_FLUSH;
	case REQ_OP_DISCARD:
	case REQ_OP_SECURE_ERASE:
	case REQ_OP_WRITE_ZEROES:
		return BLKX_TOP_DISCARD;
	default:
		return -1;
	}
}

static __always_inline __u32 log2_slot(__u64 us)
{
	__u32 slot = 0;

	/* slot k holds [2^(k-1), 2^k) microseconds; the last one the rest */
	while (us && slot < BLKX_HIST_SLOTS - 1) {
		us >>= 1;
		slot++;
	}
	return slot;
}

static __always_inline struct blkx_trace_ctl *tracing_readers(void)
{
	struct blkx_trace_ctl *ctl;
	__u32 zero = 0;

	ctl = bpf_map_lookup_elem(&trace_ctl, &zero);
	return ctl && ctl->readers ? ctl : NULL;
}

SEC("tp_btf/block_rq_issue")
int BPF_PROG(blkx_rq_issue, struct request *rq)
{
	struct blkx_trace_dev *td;
	__u64 key = (__u64)rq, now;

	if (!tracing_readers())
		return 0;
	td = traced(rq);
	if (!td || td->kind != BLKX_TRACE_MEMBER)
		return 0;
	now = bpf_ktime_get_ns();
	bpf_map_update_elem(&rq_start, &key, &now, BPF_ANY);
	return 0;
}

/* One remap event for a member request that completed at NOW, having
 * started in the block layer at START (0: unknown). */
static __always_inline void emit(const struct blkx_trace_dev *td,
				 struct request *rq, int op, __u64 start,
				 __u64 now, __u32 bytes, int error)
{
	struct blkx_trace_event *ev;
	struct blkx_trace_ctl *ctl;
	struct blkx_member *m;
	struct blkx_disk *d;
	__u32 mi = td->member, di = td->disk;
	__u64 ms, key = (__u64)rq, *issued, lat_ns = 0;

	ctl = tracing_readers();
	if (!ctl)
		return;
	/* the service time where block_rq_issue saw this use of RQ */
	issued = bpf_map_lookup_elem(&rq_start, &key);
	if (issued && *issued >= start && *issued <= now)
		lat_ns = now - *issued;
	else if (start && start <= now)
		lat_ns = now - start;
	if (issued)
		bpf_map_delete_elem(&rq_start, &key);
	m = bpf_map_lookup_elem(&members, &mi);
	d = bpf_map_lookup_elem(&disks, &di);
	if (!m || !d)
		return;
	ev = bpf_ringbuf_reserve(&trace_events, sizeof(*ev), 0);
	if (!ev) {
		__sync_fetch_and_add(&ctl->dropped, 1);
		return;
	}
	ms = BPF_CORE_READ(rq, __sector);
	ev->ts_ns = now;
	ev->lat_ns = lat_ns;
	ev->member_sector = ms;
	ev->guest_sector =
		ms >= m->offset_sectors
			? blkx_unmap(d, m->index, ms - m->offset_sectors)
			: ~0ULL;
	ev->disk = di;
	ev->member = m->index;
	ev->nr_sectors = bytes >> BLKX_SECTOR_SHIFT;
	ev->op = (__u8)op;
	ev->error = error;
	bpf_ringbuf_submit(ev, 0);
}

SEC("tp_btf/block_rq_complete")
int BPF_PROG(blkx_rq_complete, struct request *rq, __u8 error,
	     unsigned int nr_bytes)
{
	struct blkx_trace_dev *td = traced(rq);
	__u64 start, now, lat_ns = 0;
	struct blkx_hist *h;
	int timed;
	__u32 idx;
	int op;

	if (!td)
		return 0;
	/* 0 where the queue keeps no I/O accounting (iostats off) */
	start = BPF_CORE_READ(rq, start_time_ns);
	now = bpf_ktime_get_ns();
	timed = start && start <= now;
	if (timed)
		lat_ns = now - start;
	op = trace_op(BPF_CORE_READ(rq, cmd_flags));
	if (op < 0)
		return 0;
	idx = td->target * BLKX_NR_TOPS + (__u32)op;
	h = bpf_map_lookup_elem(&io_hist, &idx);
	if (!h)
		return 0;
	__sync_fetch_and_add(&h->ios, 1);
	__sync_fetch_and_add(&h->bytes, nr_bytes);
	if (error)
		__sync_fetch_and_add(&h->errors, 1);
	if (timed) {
		__u32 slot = log2_slot(lat_ns / 1000);

		__sync_fetch_and_add(&h->lat_sum_us, lat_ns / 1000);
		if (slot < BLKX_HIST_SLOTS)
			__sync_fetch_and_add(&h->slots[slot], 1);
	}
	if (td->kind == BLKX_TRACE_MEMBER)
		emit(td, rq, op, start, now, nr_bytes, error);
	return 0;
}

SEC("tracepoint/nvme/nvme_setup_cmd")
int blkx_nvme_setup(struct trace_event_raw_nvme_setup_cmd *tp)
{
	struct blkx_nvme_stats *ns = nvme_member_stats(tp->disk);

	if (ns)
		__sync_fetch_and_add(&ns->issued, 1);
	return 0;
}

SEC("tracepoint/nvme/nvme_complete_rq")
int blkx_nvme_complete(struct trace_event_raw_nvme_complete_rq *tp)
{
	struct blkx_nvme_stats *ns = nvme_member_stats(tp->disk);

	if (!ns)
		return 0;
	__sync_fetch_and_add(&ns->cmds, 1);
	if (BPF_CORE_READ(tp, status))
		__sync_fetch_and_add(&ns->errors, 1);
	if (BPF_CORE_READ(tp, retries))
		__sync_fetch_and_add(&ns->retries, 1);
	return 0;
}
