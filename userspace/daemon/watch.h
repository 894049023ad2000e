/* SPDX-License-Identifier: MIT */
/*
 * watch: the file members of the served LUNs, checked whenever one
 * changes.  A file cut below the range its plan uses (someone truncated
 * it while served) would be re-extended by the next write past its new
 * end and read back as holes: such a member is marked failed
 * (BLKX_MEMBER_FAILED, in the members map and the data path's copy), so
 * that both data paths fail every request that needs it with EIO from
 * then on, and it is reported.  It stays failed until its LUN is served
 * anew (removed and added by reload, or down and up).
 *
 * inotify tells us of a change (IN_MODIFY, which truncate raises, as do
 * our own writes); the checks run at most every WATCH_HOLDOFF_MS, so a
 * busy disk costs a few fstat() calls a second.  A write the data path
 * had already issued when the file was cut can still land past the new
 * end; none issued after the check does.
 */
#ifndef BLKXLATE_DAEMON_WATCH_H
#define BLKXLATE_DAEMON_WATCH_H

#include "daemon/serving.h"
#include "pins/maps.h"

#define WATCH_HOLDOFF_MS 20

struct watch {
	int fd;		   /* inotify, or -1: then poll every second */
	size_t nr_files;   /* file members watched */
	long long next_ms; /* no check before this (CLOCK_MONOTONIC) */
};

/* Watch the file members of every LUN sv serves (again, after a reload:
 * the old watches go).  Checks them once right away. */
void watch_sync(struct watch *w, struct serving *sv, const struct maps *m);
/* The fd to poll for POLLIN (-1: none) and the poll timeout in ms. */
int watch_poll_fd(const struct watch *w);
int watch_timeout_ms(const struct watch *w);
/* The fd was readable or the timeout passed: check what changed. */
void watch_run(struct watch *w, struct serving *sv, const struct maps *m);
void watch_fini(struct watch *w);

#endif /* BLKXLATE_DAEMON_WATCH_H */
