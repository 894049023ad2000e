/* SPDX-License-Identifier: MIT */
/*
 * state: what a running daemon tells the other commands, under the run
 * directory ($BLKXLATE_RUN_DIR or /run/blkxlate):
 *   <instance>.state          JSON: pid, data path, one entry per LUN
 *   <instance>.log            the detached daemon's log (blkxlate up)
 *   <controller>/lun<L>       -> /dev/ublkbN, stable names for VMMs
 *   <controller>/ide<C>-<L>   the same for IDE slots
 */
#ifndef BLKXLATE_STATE_H
#define BLKXLATE_STATE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;

const char *state_run_dir(void);
/* Create the run directory (0755) when it is missing.  0 or -errno. */
int state_run_dir_create(void);
/* <run dir>/<instance>.<suffix> */
int state_path(const char *instance, const char *suffix, char *buf, size_t len);
/* The stable link of a LUN: <run dir>/<controller>/lun<L> (or ide<C>-<L>) */
int state_link_path(const char *controller, int ide, uint32_t channel,
		    uint32_t location, char *buf, size_t len);
/* Create the link (and its directory), replacing a stale one. */
int state_link_create(const char *link, const char *target);
/* Remove the link and, if empty, its controller directory. */
void state_link_remove(const char *link);

/*
 * The state file <instance>.state: what a daemon serves, for status, down,
 * stats, vmm-args and the next daemon (leftovers).  This module is its
 * only writer and reader.
 */
/*
 * Where a LUN is, journaled before each step: "adding" from before its
 * ublk device is added until it serves (a crash rolls it back: the device
 * is removed), "serving", and "removing" from before a reload takes it
 * out (a crash completes that with the new settings, or undoes it with
 * the old).
 */
enum state_phase { STATE_ADDING, STATE_SERVING, STATE_REMOVING };
const char *state_phase_name(enum state_phase p);

struct state_disk {
	char controller[40]; /* canonical GUID */
	enum state_phase phase;
	char protocol[8]; /* SCSI, IDE, NVME */
	uint32_t location;
	uint32_t channel;
	uint32_t disk; /* disks map index */
	int ublk_id;   /* -1: none; else the device (added, or about to be) */
	bool recovered;
	char device[32]; /* /dev/ublkbN, "" until started */
	char link[PATH_MAX];
	uint64_t size_bytes;
	uint32_t queues;
	uint32_t depth;
	size_t nr_members;
	char **members; /* member device paths */
};

struct state {
	char instance[40];
	int pid;
	bool ready; /* bring-up done: every LUN was served */
	char config[PATH_MAX];
	int64_t started; /* time(2) */
	char dataplane[16];
	char dataplane_reason[512];
	bool zero_copy;
	bool tracing;
	bool recovery; /* its devices were made for recovery */
	uint64_t ublk_features;
	size_t nr_disks;
	struct state_disk *disks;
};

/* The file's JSON form of st (the caller puts it), as status prints it. */
struct json_object *state_json(const struct state *st);
/*
 * Write st to <instance>.state atomically and durably: a new temporary
 * file (O_EXCL|O_NOFOLLOW, 0600), fsync, rename, fsync of the directory.
 * The caller holds the instance lock.  0 or -errno (then the old file is
 * still there, whole).
 */
int state_write(const char *instance, const struct state *st);
/* Read <instance>.state into st (state_fini() frees it): 0, -ENOENT when
 * there is none, -EINVAL when it cannot be parsed, or -errno. */
int state_read(const char *instance, struct state *st);
void state_fini(struct state *st);
void state_remove(const char *instance);
/* The disk entry of (controller, location, channel), or NULL. */
const struct state_disk *state_find(const struct state *st,
				    const char *controller, uint32_t location,
				    uint32_t channel);

/* The one liveness check: is st the state of the instance's running
 * daemon (its pid holds the instance lock)? */
bool state_daemon_alive(const char *instance, const struct state *st);
/* The pid of the instance's running daemon, or 0 when none runs. */
int state_running_pid(const char *instance);

#endif /* BLKXLATE_STATE_H */
