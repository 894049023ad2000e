/* SPDX-License-Identifier: MIT */
/* daemon_priv: the running daemon's state, shared by daemon.c, reload.c. */
#ifndef BLKXLATE_DAEMON_PRIV_H
#define BLKXLATE_DAEMON_PRIV_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "daemon/daemon.h"
#include "daemon/lun.h"
#include "pins/maps.h"
#include "plan/plan.h"
#include "config/settings.h"
#include "pins/trace.h"
#include "dataplane/ublk.h"

struct daemon {
	const struct daemon_opts *o;
	char config[PATH_MAX]; /* the settings file now served */
	struct settings s;
	struct plan plan;
	struct maps maps;
	bool maps_owned; /* ours to unpin at the end */
	struct maps_slots slots;
	bool *disk_used;   /* [slots.disks] */
	bool *member_used; /* [slots.members] */
	struct ublk_ctrl ctrl;
	bool ctrl_open;
	bool zero_copy;
	const struct ring_ops *dp;
	char dp_reason[512];
	struct lun_env env;
	struct lun **luns; /* luns[i] serves plan.disks[i]; never moves */
	size_t nr_luns;
	int *recover_ids; /* per disk: the crashed daemon's device, or -1 */
	bool recovering;
	void *lun_stats;
	size_t lun_stats_len;
	void *member_stats;
	size_t member_stats_len;
	void *queue_stats;
	size_t queue_stats_len;
	struct tracer tracer;
	bool tracing;
};

/* Register a LUN's ublk disk and block-device members with the tracing
 * programs (or take them out again). */
int daemon_trace_lun(struct daemon *d, const struct lun *l, bool add);
/* Write the state file from d. */
void daemon_write_state(struct daemon *d);
/* Zero the counters of disk slot idx and its members (a reused slot). */
void daemon_reset_counters(struct daemon *d, uint32_t idx,
			   const struct plan_disk *pd);

/*
 * Apply the settings in path to the running daemon in two phases: acquire
 * everything the added LUNs need (members, ublk devices, queues), then
 * commit (start them, stop and delete the removed ones).  A failure in the
 * first phase changes nothing.  Changing an existing LUN or adding or
 * removing a controller is refused.  0 with *result describing the change,
 * or -errno with err filled.
 */
struct json_object;
int daemon_reload(struct daemon *d, const char *path, struct error_obj *err,
		  struct json_object **result);

/* Refuse a settings file others could write (the daemon runs as root). */
int daemon_check_config_file(const char *path, struct error_obj *err);

#endif /* BLKXLATE_DAEMON_PRIV_H */
