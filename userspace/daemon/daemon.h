/* SPDX-License-Identifier: MIT */
/*
 * daemon: settings -> plan -> pinned maps -> one ublk device per guest LUN,
 * served until SIGTERM/SIGINT; then every device is stopped and deleted and
 * every pin, link and state file removed.
 */
#ifndef BLKXLATE_DAEMON_H
#define BLKXLATE_DAEMON_H

#include <stdbool.h>

#include "base/error.h"
#include "devices/resolve.h"

/* Error ids of the daemon's own failures (settings and backings keep
 * theirs, Configuration.*). */
#define DAEMON_ERR_UBLK	     "Daemon.UblkUnavailable"
#define DAEMON_ERR_LEFTOVERS "Daemon.Leftovers"
#define DAEMON_ERR_MAPS	     "Daemon.Maps"
#define DAEMON_ERR_DATAPATH  "Daemon.DataPath"
#define DAEMON_ERR_SERVE     "Daemon.ServeFailed"
#define DAEMON_ERR_BUSY	     "Daemon.InstanceBusy"
#define DAEMON_ERR_STATE     "Daemon.StateFile"
#define DAEMON_ERR_QUEUES    "Daemon.Queues"
#define DAEMON_ERR_NOFILE    "Daemon.OpenFileLimit"
#define DAEMON_ERR_NOMEM     "System.OutOfMemory"

struct daemon_opts {
	const char *config;
	const char *instance;
	unsigned int nr_queues;	 /* 0: one per CPU (at most BLKX_MAX_QUEUES) */
	unsigned int depth;	 /* 0: io_queue_depth of the controller, or
				    LUN_DEFAULT_DEPTH */
	const char *dataplane;	 /* "auto" (default), "bpf" or "user" */
	bool no_tracing;	 /* don't attach bpf/trace.bpf.c */
	bool no_recovery;	 /* devices without UBLK_F_USER_RECOVERY */
	bool recover;		 /* insist on recovering a crashed daemon */
	bool fail_io_while_down; /* UBLK_F_USER_RECOVERY_FAIL_IO */
	int ready_fd;		 /* -1, or where to report "OK" / "ERR msg" */
	struct resolve_ctx rc;
};

/* Run the daemon in the foreground until SIGTERM/SIGINT.  0 after a clean
 * stop, or -errno with err saying why it could not serve. */
int daemon_run(const struct daemon_opts *o, struct error_obj *err);

#endif /* BLKXLATE_DAEMON_H */
