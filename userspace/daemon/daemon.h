/* SPDX-License-Identifier: MIT */
/*
 * daemon: settings -> plan -> pinned maps -> one ublk device per guest LUN,
 * served until SIGTERM/SIGINT; then every device is stopped and deleted and
 * every pin, link and state file removed.
 */
#ifndef BLKXLATE_DAEMON_H
#define BLKXLATE_DAEMON_H

#include <stdbool.h>

#include "devices/resolve.h"

struct daemon_opts {
	const char *config;
	const char *instance;
	unsigned int nr_queues; /* 0: one per CPU (at most BLKX_MAX_QUEUES) */
	unsigned int depth;	/* 0: io_queue_depth of the controller, or
				   LUN_DEFAULT_DEPTH */
	const char *dataplane;	/* "auto" (default), "bpf" or "user" */
	bool no_tracing;	/* don't attach bpf/trace.bpf.c */
	bool no_recovery;	/* devices without UBLK_F_USER_RECOVERY */
	bool recover;		/* insist on recovering a crashed daemon */
	int ready_fd;		/* -1, or where to report "OK" / "ERR msg" */
	struct resolve_ctx rc;
};

/* Run the daemon in the foreground.  Returns a cli_exit status. */
int daemon_run(const struct daemon_opts *o);

#endif /* BLKXLATE_DAEMON_H */
