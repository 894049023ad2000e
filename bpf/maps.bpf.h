/* SPDX-License-Identifier: MIT */
/*
 * The pinned maps of one blkxlate instance, shared by every BPF program of
 * the project.  LIBBPF_PIN_BY_NAME + the instance directory as pin root
 * makes every object that includes this header use the same maps.
 */
#ifndef BLKXLATE_MAPS_BPF_H
#define BLKXLATE_MAPS_BPF_H

#include <blkxlate/abi.h>

/* guest (controller, location) -> disk */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BLKX_MAX_DISKS);
	__type(key, struct blkx_lun_key);
	__type(value, struct blkx_lun);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} luns SEC(".maps");

/* disk index -> geometry */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BLKX_MAX_DISKS);
	__type(key, __u32);
	__type(value, struct blkx_disk);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} disks SEC(".maps");

/* member index -> device, offset, size */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BLKX_MAX_MEMBERS);
	__type(key, __u32);
	__type(value, struct blkx_member);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} members SEC(".maps");

/* per-LUN counters; mmapable so the userspace data path adds in place */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BLKX_MAX_DISKS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct blkx_io_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} lun_stats SEC(".maps");

/* per-member counters */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BLKX_MAX_MEMBERS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct blkx_io_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} member_stats SEC(".maps");

/* per (disk, queue) counters of the data path, index disk * 16 + queue;
 * the control plane sizes it to the disks it serves before loading */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BLKX_MAX_QUEUES);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct blkx_queue_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} queue_stats SEC(".maps");

/* traced block devices: kernel dev_t -> who it is */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BLKX_MAX_DISKS + BLKX_MAX_MEMBERS);
	__type(key, __u32);
	__type(value, struct blkx_trace_dev);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} trace_devs SEC(".maps");

/* counters and latency histograms per (target, op); sized by the control
 * plane to (disks + members) * BLKX_NR_TOPS before loading */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BLKX_NR_TOPS);
	__type(key, __u32);
	__type(value, struct blkx_hist);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} io_hist SEC(".maps");

/* NVMe completions per member */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BLKX_MAX_MEMBERS);
	__type(key, __u32);
	__type(value, struct blkx_nvme_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} nvme_stats SEC(".maps");

/* NVMe namespace name (nvmeXnY, as the nvme tracepoints give it) ->
 * member index */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BLKX_MAX_MEMBERS);
	__type(key, char[32]);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} trace_nvme SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct blkx_trace_ctl);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} trace_ctl SEC(".maps");

/* remap events, while someone runs `blkxlate trace` */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} trace_events SEC(".maps");

/* what was programmed */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct blkx_meta);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} meta SEC(".maps");

#endif /* BLKXLATE_MAPS_BPF_H */
