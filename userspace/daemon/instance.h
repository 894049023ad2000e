/* SPDX-License-Identifier: MIT */
/*
 * instance: what makes something this instance's own.
 *  - The instance lock <run dir>/<instance>.lock: a POSIX record lock that
 *    the daemon holds for its whole life and `load`, `unload` and `down`
 *    hold while they work.  One holder at a time, so those commands are
 *    exclusive per instance; the kernel drops it when the holder dies
 *    (kill -9 too), and F_GETLK names the holder's pid, so "is the daemon
 *    running" never trusts a pid that may have been reused.
 *  - The mark: every ublk device a daemon adds carries the instance's mark
 *    in ublksrv_ctrl_dev_info.ublksrv_flags (kept by the kernel for the
 *    server, returned by GET_DEV_INFO), so a device is found as the
 *    instance's even when no state file names it.
 *  - Crash points for the VM suite's kill-at-every-step tests.
 */
#ifndef BLKXLATE_DAEMON_INSTANCE_H
#define BLKXLATE_DAEMON_INSTANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dataplane/ublk.h"

/*
 * Take the instance lock without waiting: the lock's fd (keep it open: the
 * lock lasts as long as it does), or -EBUSY with *holder set to the pid
 * that holds it, or -errno.
 */
int instance_lock(const char *instance, int *holder);
/* Take it, waiting up to timeout_ms for the holder to let go. */
int instance_lock_wait(const char *instance, int timeout_ms, int *holder);
void instance_unlock(int fd);
/* The pid that holds the instance lock, or 0 when no process does.  Not
 * for the holder itself: a POSIX lock goes with the first close() of any
 * descriptor of the file in the holding process, and this opens one. */
int instance_lock_holder(const char *instance);

/* The mark of the instance's ublk devices (never 0). */
uint64_t instance_mark(const char *instance);
/* Add the mark to a device about to be added. */
static inline void instance_mark_dev(struct ublksrv_ctrl_dev_info *info,
				     const char *instance)
{
	info->ublksrv_flags = instance_mark(instance);
}

/* At most this many devices of one instance are found and removed. */
#define INSTANCE_MAX_DEVICES 1024

/*
 * The ids of every ublk device that carries the instance's mark (sorted,
 * at most max).  Returns how many there are (may exceed max), or -errno.
 */
int instance_devices(struct ublk_ctrl *ctrl, const char *instance, int *ids,
		     int max);
/* A ublk id no device has now (from *from up), or -ENOSPC. */
int instance_free_dev_id(struct ublk_ctrl *ctrl, uint32_t from);

/*
 * Crash point NAME: with BLKXLATE_CRASH_AT=NAME (or NAME:N, the Nth time
 * it is reached) in the environment, the process kills itself there with
 * SIGKILL, as a crash would.  For the VM suite only; a no-op otherwise.
 */
void instance_crash_point(const char *name);

#endif /* BLKXLATE_DAEMON_INSTANCE_H */
