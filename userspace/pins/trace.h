/* SPDX-License-Identifier: MIT */
/*
 * trace: the daemon's side of bpf/trace.bpf.c — load it against the
 * instance's pinned maps, attach it, and tell it which block devices are
 * the instance's guest disks and members.
 */
#ifndef BLKXLATE_TRACE_H
#define BLKXLATE_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <blkxlate/abi.h>

struct trace_bpf;

struct tracer {
	struct trace_bpf *skel;
	bool nvme;	 /* nvme:nvme_complete_rq attached */
	bool nvme_setup; /* nvme:nvme_setup_cmd attached, too */
};

/* Load and attach (block tracepoints; the nvme one where it exists)
 * against the maps pinned in pin_dir.  0 or -errno (err says). */
int trace_start(struct tracer *t, const char *pin_dir, char *err,
		size_t errlen);
void trace_stop(struct tracer *t);

/* Trace block device major:minor as td (in the pinned trace_devs). */
int trace_add_dev(int trace_devs_fd, uint32_t major, uint32_t minor,
		  const struct blkx_trace_dev *td);
/* Stop tracing block device major:minor. */
int trace_del_dev(int trace_devs_fd, uint32_t major, uint32_t minor);
/* Name an NVMe namespace (e.g. "nvme0n1") as member index mi. */
int trace_add_nvme(int trace_nvme_fd, const char *name, uint32_t mi);
/* The kernel's dev_t encoding, as the BPF side computes it. */
static inline uint32_t trace_dev_key(uint32_t major, uint32_t minor)
{
	return major << 20 | minor;
}

#endif /* BLKXLATE_TRACE_H */
