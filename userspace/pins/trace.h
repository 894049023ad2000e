/* SPDX-License-Identifier: MIT */
/*
 * trace: the daemon's side of bpf/trace.bpf.c — load it against the
 * instance's pinned maps and attach it (pins/program.c tells it which
 * block devices are the instance's guest disks and members).
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

#endif /* BLKXLATE_TRACE_H */
