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
#include <stddef.h>
#include <stdint.h>

struct json_object;

const char *state_run_dir(void);
/* <run dir>/<instance>.<suffix> */
int state_path(const char *instance, const char *suffix, char *buf, size_t len);
/* The stable link of a LUN: <run dir>/<controller>/lun<L> (or ide<C>-<L>) */
int state_link_path(const char *controller, int ide, uint32_t channel,
		    uint32_t location, char *buf, size_t len);
/* Create the link (and its directory), replacing a stale one. */
int state_link_create(const char *link, const char *target);
/* Remove the link and, if empty, its controller directory. */
void state_link_remove(const char *link);

/* Write obj (not consumed) atomically to <instance>.state, mode 0644. */
int state_write(const char *instance, struct json_object *obj);
/* Read <instance>.state; NULL with errno set when absent or unreadable. */
struct json_object *state_read(const char *instance);
void state_remove(const char *instance);

#endif /* BLKXLATE_STATE_H */
