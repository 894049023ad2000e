// SPDX-License-Identifier: MIT
#include "pins/trace.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "pins/maps.h"
#include "trace.skel.h"

/* Whether the nvme driver's tracepoint NAME exists (tracefs or debugfs). */
static bool nvme_tracepoint(const char *name)
{
	static const char *const roots[] = {"/sys/kernel/tracing",
					    "/sys/kernel/debug/tracing"};
	char path[128];

	for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
		snprintf(path, sizeof(path), "%s/events/nvme/%s", roots[i],
			 name);
		if (!access(path, F_OK))
			return true;
	}
	return false;
}

/* A program the tracing can do without: attached, or false with a warning. */
static bool attach_optional(struct bpf_program *prog, struct bpf_link **link,
			    const char *what)
{
	*link = bpf_program__attach(prog);
	if (!*link)
		log_warn("%s not traced: %s", what, strerror(errno));
	return *link != NULL;
}

int trace_start(struct tracer *t, const char *pin_dir, char *err, size_t errlen)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pin_dir);
	int ret;

	memset(t, 0, sizeof(*t));
	t->skel = trace_bpf__open_opts(&opts);
	if (!t->skel) {
		ret = -errno;
		snprintf(err, errlen, "opening the tracing programs: %s",
			 strerror(-ret));
		return ret;
	}
	/* NVMe counting only where the nvme driver has its tracepoints */
	t->nvme = !access("/sys/kernel/btf/nvme_core", F_OK) &&
		  nvme_tracepoint("nvme_complete_rq");
	t->nvme_setup = t->nvme && nvme_tracepoint("nvme_setup_cmd");
	bpf_program__set_autoload(t->skel->progs.blkx_nvme_complete, t->nvme);
	bpf_program__set_autoload(t->skel->progs.blkx_nvme_setup,
				  t->nvme_setup);
	ret = maps_match_pins(t->skel->obj, pin_dir);
	if (!ret)
		ret = trace_bpf__load(t->skel);
	if (ret) {
		snprintf(err, errlen, "loading the tracing programs: %s",
			 strerror(-ret));
		goto fail;
	}
	t->skel->links.blkx_rq_issue =
		bpf_program__attach(t->skel->progs.blkx_rq_issue);
	t->skel->links.blkx_rq_complete =
		bpf_program__attach(t->skel->progs.blkx_rq_complete);
	if (!t->skel->links.blkx_rq_issue || !t->skel->links.blkx_rq_complete) {
		ret = -errno;
		snprintf(err, errlen,
			 "attaching to block:block_rq_issue/complete: %s",
			 strerror(-ret));
		goto fail;
	}
	if (t->nvme)
		t->nvme = attach_optional(t->skel->progs.blkx_nvme_complete,
					  &t->skel->links.blkx_nvme_complete,
					  "nvme:nvme_complete_rq");
	if (t->nvme && t->nvme_setup)
		t->nvme_setup = attach_optional(t->skel->progs.blkx_nvme_setup,
						&t->skel->links.blkx_nvme_setup,
						"nvme:nvme_setup_cmd");
	return 0;
fail:
	trace_stop(t);
	return ret ? ret : -EINVAL;
}

void trace_stop(struct tracer *t)
{
	if (t->skel)
		trace_bpf__destroy(t->skel); /* detaches, too */
	t->skel = NULL;
}
