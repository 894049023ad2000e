/* SPDX-License-Identifier: MIT */
/*
 * blkxlate ABI shared by the BPF programs and the userspace control plane:
 * the key and value types of every pinned map.  Fixed-width fields, explicit
 * padding, no libc headers, so that the same bytes mean the same thing on
 * both sides and bpftool prints every field by name (BTF).
 */
#ifndef BLKXLATE_ABI_H
#define BLKXLATE_ABI_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Limits of one blkxlate instance (sizes of the pinned maps). */
#define BLKX_MAX_DISKS	      1024 /* guest LUNs / namespaces */
#define BLKX_MAX_MEMBERS      4096 /* backing members over all disks */
#define BLKX_MAX_DISK_MEMBERS 32   /* members of one striped disk */
#define BLKX_MAX_SEGMENTS     64   /* segments one remap may produce */
#define BLKX_GUID_STR_LEN     40 /* "xxxxxxxx-...-xxxxxxxxxxxx" + NUL, padded */
#define BLKX_DEV_NAME_LEN     64 /* member device path, NUL-terminated */
#define BLKX_SECTOR_SHIFT     9	 /* remap unit: 512-byte sectors, like ublk */
#define BLKX_SECTOR_SIZE      (1u << BLKX_SECTOR_SHIFT)
#define BLKX_ABI_VERSION      1

/* Guest-visible controller protocol (settings "protocol"). */
enum blkx_protocol {
	BLKX_PROTO_SCSI = 0,
	BLKX_PROTO_IDE = 1,
	BLKX_PROTO_NVME = 2,
};

/* Backing family (settings "device_type"); FILE is our extension. */
enum blkx_backing {
	BLKX_BACKING_NVME = 0,
	BLKX_BACKING_VSCSI = 1,
	BLKX_BACKING_FILE = 2,
};

/* struct blkx_disk.flags */
#define BLKX_DISK_STRIPED     (1u << 0)
#define BLKX_DISK_READ_ONLY   (1u << 1)
#define BLKX_DISK_FUA	      (1u << 2) /* every member honours FUA */
#define BLKX_DISK_WRITE_CACHE (1u << 3) /* some member has a volatile cache */
#define BLKX_DISK_DISCARD     (1u << 4) /* every member can discard */

/* struct blkx_member.flags */
#define BLKX_MEMBER_FAILED (1u << 0) /* no I/O reaches it any more */

/* luns map key: guest-visible controller and location. */
struct blkx_lun_key {
	char controller[BLKX_GUID_STR_LEN]; /* canonical lowercase GUID */
	__u32 location;			    /* SCSI LUN, IDE slot, NVMe nsid */
	__u32 channel;			    /* IDE channel, else 0 */
};

/* luns map value. */
struct blkx_lun {
	__u32 disk;	/* index into the disks map */
	__u32 protocol; /* enum blkx_protocol */
};

/*
 * disks map value: the geometry of one guest disk, checked once by the
 * planner.  All sizes are in 512-byte sectors.  Member i of the disk is
 * members[first_member + i].
 */
struct blkx_disk {
	__u64 size_sectors;   /* guest-visible size */
	__u64 member_sectors; /* usable sectors of each member (whole chunks) */
	__u32 chunk_sectors;  /* stripe chunk; 0 when not striped */
	__u32 nr_members;     /* 1 for a single backing */
	__u32 first_member;   /* index of member 0 in the members map */
	__u32 lbs_shift;      /* log2(logical block size): 9 or 12 */
	__u32 pbs_shift;      /* log2(physical block size) */
	__u32 flags;	      /* BLKX_DISK_* */
	__u32 protocol;	      /* enum blkx_protocol */
	__u32 location;	      /* guest location, for reports */
};

/* members map value: where a member's usable range sits on its device. */
struct blkx_member {
	__u64 offset_sectors; /* start of the usable range on the device */
	__u64 size_sectors;   /* length of the usable range */
	__u32 dev_major;      /* block device numbers, 0:0 for a file */
	__u32 dev_minor;
	__u32 disk;    /* owning disk */
	__u32 index;   /* position in the disk's stripe set */
	__u32 backing; /* enum blkx_backing */
	__u32 flags;   /* BLKX_MEMBER_*: set by the daemon while it serves */
	char device[BLKX_DEV_NAME_LEN]; /* e.g. /dev/nvme0n1 */
};

/* Per-LUN and per-member I/O counters (lun_stats, member_stats). */
struct blkx_io_stats {
	__u64 reads;
	__u64 writes;
	__u64 read_sectors;
	__u64 write_sectors;
	__u64 flushes;
	__u64 discards;
	__u64 write_zeroes;
	__u64 errors;
	__u64 fua_writes; /* writes that had to reach stable storage */
};

/* meta map (one entry): what the control plane programmed. */
struct blkx_meta {
	__u32 abi_version;
	__u32 nr_disks;	    /* disks served */
	__u32 nr_members;   /* members of those disks */
	__u32 disk_slots;   /* disk indices the maps have room for */
	__u32 member_slots; /* member indices the maps have room for */
	__u32 pad;
	__u64 generation; /* bumped on every successful load */
};

/*
 * Per-queue state of the ublk data path.  In the BPF data path it lives in
 * the fast-path program's .bss, which userspace maps: the program and the
 * userspace slow path take turns on it (both run in the queue's thread),
 * so a request handed over keeps its state.
 */
#define BLKX_MAX_QUEUE_DEPTH 4096 /* UBLK_MAX_QUEUE_DEPTH */
#define BLKX_MAX_QUEUES	     16

/* struct blkx_tag.flags */
#define BLKX_TAG_OWNED (1u << 0) /* the server serves it (CQE .. commit) */
#define BLKX_TAG_FUA   (1u << 1) /* a write with UBLK_IO_F_FUA */
/* (the transitions: include/blkxlate/request.h) */
#define BLKX_TAG_FETCH (1u << 2) /* a FETCH/COMMIT command is queued */

struct blkx_tag {
	__s32 result;	  /* first error, or the bytes to report */
	__u16 pending;	  /* member I/Os not completed yet */
	__u8 op;	  /* UBLK_IO_OP_* being served */
	__u8 flags;	  /* BLKX_TAG_* */
	__u32 nr_sectors; /* of the request */
	__u32 pad;
};

struct blkx_qstate {
	__u32 cmds_live; /* FETCH/COMMIT commands with the kernel */
	__u32 ios_owned; /* requests being served */
	__u32 user_sqes; /* SQEs userspace wrote at 0..n-1 for BPF to submit:
			  * with the loop attached, io_uring_enter submits
			  * nothing itself */
	__u32 pad;
};

/* queue_stats map (array, mmapable): the entry of queue q of disk d is
 * d * BLKX_MAX_QUEUES + q */
struct blkx_queue_stats {
	__u64 loop_steps;    /* loop_step runs */
	__u64 bpf_rw;	     /* READ/WRITE remapped and issued by BPF */
	__u64 bpf_commits;   /* requests completed by BPF */
	__u64 user_rw;	     /* READ/WRITE served by the userspace handler */
	__u64 user_other;    /* other requests served by userspace */
	__u64 user_commits;  /* requests completed by userspace */
	__u64 handoff_op;    /* handed over: not a READ/WRITE */
	__u64 handoff_split; /* handed over: spans more than one chunk */
	__u64 handoff_error; /* handed over: member error or short transfer */
	__u64 handoff_other; /* handed over: unexpected result or state */
	__u64 stops;	     /* loop_step returned STOP */
	__u64 submit_errors; /* bpf_io_uring_submit_sqes fell short */
};

/*
 * Tracing (bpf/trace.bpf.c on block:block_rq_issue/complete): latency
 * histograms and counters per traced device and operation, and remap
 * events on demand.
 */
#define BLKX_HIST_SLOTS 24 /* log2 microseconds: [0,1) [1,2) .. [2^22, inf) */

enum blkx_trace_op {
	BLKX_TOP_READ = 0,
	BLKX_TOP_WRITE = 1,
	BLKX_TOP_FLUSH = 2,
	BLKX_TOP_DISCARD = 3, /* discard, write zeroes, secure erase */
	BLKX_NR_TOPS = 4,
};

/* trace_devs value: who a traced block device (key: kernel dev_t,
 * major << 20 | minor) is.  A LUN's target is its disk index, a member's
 * is meta.disk_slots + its member index. */
#define BLKX_TRACE_LUN	  0
#define BLKX_TRACE_MEMBER 1
struct blkx_trace_dev {
	__u32 target; /* io_hist entry = target * BLKX_NR_TOPS + op */
	__u32 kind;   /* BLKX_TRACE_LUN or BLKX_TRACE_MEMBER */
	__u32 disk;   /* disks map index */
	__u32 member; /* members map index (members only) */
};

/* io_hist value */
struct blkx_hist {
	__u64 ios;
	__u64 bytes;
	__u64 errors;
	__u64 lat_sum_us;
	__u64 slots[BLKX_HIST_SLOTS]; /* completions by log2(latency in us) */
};

/* nvme_stats value, per member (nvme:nvme_setup_cmd, nvme_complete_rq) */
struct blkx_nvme_stats {
	__u64 cmds;   /* completed */
	__u64 errors; /* NVMe status != 0 */
	__u64 retries;
	__u64 issued; /* set up for the controller */
};

/* trace_ctl (one entry): remap events flow while readers > 0 */
struct blkx_trace_ctl {
	__u32 readers;
	__u32 pad;
	__u64 dropped; /* events lost to a full ring buffer */
};

/* One remap event: a member I/O and the guest range it serves. */
struct blkx_trace_event {
	__u64 ts_ns;	     /* completion, CLOCK_MONOTONIC */
	__u64 lat_ns;	     /* issue to completion on the member */
	__u64 guest_sector;  /* where it lies on the guest disk (~0: none) */
	__u64 member_sector; /* on the member device */
	__u32 disk;	     /* disks map index */
	__u32 member;	     /* index in the disk's stripe set */
	__u32 nr_sectors;
	__u8 op; /* enum blkx_trace_op */
	__u8 pad[3];
	__s32 error; /* blk_status_t, 0 when it succeeded */
	__u32 pad2;
};

/* One piece of a remapped request. */
struct blkx_segment {
	__u64 member_sector; /* in the member's usable range: see
				blkx_member_sector() */
	__u64 req_offset;    /* sectors from the start of the request */
	__u32 member;	     /* index in the disk's stripe set */
	__u32 nr_sectors;
};

/*
 * Context of the remap syscall program (BPF_PROG_RUN): the request goes in,
 * the segments come out in the same buffer.
 */
struct blkx_remap_ctx {
	struct blkx_lun_key lun; /* in */
	__u64 sector;		 /* in: start, 512-byte sectors */
	__u64 nr_sectors;	 /* in */
	__s32 result;		 /* out: segment count or -errno */
	__u32 disk;		 /* out: disk index */
	struct blkx_segment segs[BLKX_MAX_SEGMENTS]; /* out */
};

#endif /* BLKXLATE_ABI_H */
