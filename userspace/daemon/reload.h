/* SPDX-License-Identifier: MIT */
/*
 * reload: live reconfiguration of a running daemon, in two phases as
 * OpenHCL does it.  Phase 1 acquires everything the added LUNs need
 * (members held exclusively, ublk devices added, queues fetching) without
 * making anything visible; any failure there undoes phase 1 and changes
 * nothing.  Phase 2 starts the added LUNs and stops and deletes the removed
 * ones.  What is allowed is reload_plan's to say.  Before it touches the
 * kernel, the state file journals the whole change (added LUNs "adding",
 * removed ones "removing"), so that a crash at any step of it is completed
 * or rolled back by the next daemon (recover.h).
 */
#ifndef BLKXLATE_DAEMON_RELOAD_H
#define BLKXLATE_DAEMON_RELOAD_H

#include <stdbool.h>

#include "daemon/lun.h"
#include "daemon/serving.h"
#include "devices/resolve.h"
#include "pins/maps.h"

struct json_object;

/* What a reload works with; sv is changed in place when it succeeds. */
struct reload_env {
	struct serving *sv;
	const struct lun_env *lun_env;
	const struct maps *maps;
	bool tracing; /* tell the tracer about added and removed LUNs */
	const struct resolve_ctx *rc;
	/* write the state file: what is served, and what the reload is
	 * about to add (sv->pending) and remove (lun.removing) */
	int (*journal)(void *ctx);
	void *journal_ctx;
};

/*
 * Apply the settings in path: 0 with *result describing the change
 * ({"added": [...], "kept": N, "removed": [...]}), or -errno with err
 * filled and nothing changed.
 */
int reload_apply(const struct reload_env *re, const char *path,
		 struct error_obj *err, struct json_object **result);

#endif /* BLKXLATE_DAEMON_RELOAD_H */
