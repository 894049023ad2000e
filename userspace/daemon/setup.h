/* SPDX-License-Identifier: MIT */
/*
 * setup: what the kernel offers the daemon -- the ublk control device and
 * its features, and the data path that can run (the BPF loop, else the
 * userspace loop), with the reason for the choice.
 */
#ifndef BLKXLATE_DAEMON_SETUP_H
#define BLKXLATE_DAEMON_SETUP_H

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"
#include "daemon/serving.h"
#include "dataplane/queue.h"
#include "dataplane/ublk.h"

/* Open /dev/ublk-control (loading ublk_drv if needed) and check that its
 * features suffice.  0 or -errno with err saying what is missing. */
int setup_ublk(struct ublk_ctrl *ctrl, struct error_obj *err);

/*
 * The data path for want ("auto", "bpf", "user"; NULL is auto): the
 * in-kernel BPF loop where the kernel can run it (io_uring BPF struct_ops,
 * 7.1+, zero copy through UBLK_F_AUTO_BUF_REG), else the userspace loop.
 * reason says which and why.  "auto" falls back; "bpf" fails (-EOPNOTSUPP,
 * err set).
 */
int setup_dataplane(const char *want, bool zero_copy, const char *pin_dir,
		    const struct ring_ops **dp, char *reason, size_t len,
		    struct error_obj *err);

/* Take the instance lock for the daemon's life: its fd, or -errno with
 * err saying who holds it. */
int setup_lock(const char *instance, struct error_obj *err);
/* --queues: the kernel makes at most one queue per possible CPU. */
int setup_check_queues(unsigned int nr_queues, struct error_obj *err);
/*
 * Open files: each LUN holds its members, its char device and, per queue,
 * what the data path needs.  The soft RLIMIT_NOFILE is raised to the hard
 * one; below what is needed the daemon refuses, with both numbers.
 */
int setup_nofile(const struct serving *sv, const struct ring_ops *dp,
		 struct error_obj *err);

/* --while-down fail needs UBLK_F_USER_RECOVERY_FAIL_IO. */
int setup_check_fail_io(const struct ublk_ctrl *ctrl, bool want,
			struct error_obj *err);

/* A pinned array map mmapped whole (the stats maps), and undone. */
struct mapped {
	void *p;
	size_t len;
};
void *setup_map_stats(int fd, size_t entries, size_t entry_size,
		      struct mapped *m);
void setup_unmap_stats(struct mapped *m);

#endif /* BLKXLATE_DAEMON_SETUP_H */
