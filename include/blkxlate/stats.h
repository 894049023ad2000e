/* SPDX-License-Identifier: MIT */
/*
 * The I/O counters of a LUN or a member (struct blkx_io_stats), counted the
 * same way by the BPF fast path and the userspace data path.
 */
#ifndef BLKXLATE_STATS_H
#define BLKXLATE_STATS_H

#include <linux/ublk_cmd.h>

#include "abi.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/*
 * One request (or member I/O) of ublk operation op; its sectors count only
 * when it succeeded; fua: a write that had to reach stable storage.
 */
static __always_inline void blkx_count_io(struct blkx_io_stats *s, __u32 op,
					  int fua, __u32 sectors, int failed)
{
	if (op == UBLK_IO_OP_READ) {
		__sync_fetch_and_add(&s->reads, 1);
		if (!failed)
			__sync_fetch_and_add(&s->read_sectors, sectors);
	} else if (op == UBLK_IO_OP_WRITE) {
		__sync_fetch_and_add(&s->writes, 1);
		if (!failed)
			__sync_fetch_and_add(&s->write_sectors, sectors);
		if (fua)
			__sync_fetch_and_add(&s->fua_writes, 1);
	} else if (op == UBLK_IO_OP_FLUSH) {
		__sync_fetch_and_add(&s->flushes, 1);
	} else if (op == UBLK_IO_OP_DISCARD) {
		__sync_fetch_and_add(&s->discards, 1);
	} else if (op == UBLK_IO_OP_WRITE_ZEROES) {
		__sync_fetch_and_add(&s->write_zeroes, 1);
	}
	if (failed)
		__sync_fetch_and_add(&s->errors, 1);
}

#endif /* BLKXLATE_STATS_H */
