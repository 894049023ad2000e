// SPDX-License-Identifier: MIT
/* cli/trace: `trace` — one line per remapped request, live. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/targets.h"
#include "base/guid.h"
#include "pins/maps.h"
#include "pins/program.h"
#include "daemon/state.h"

struct trace_run {
	const struct maps *m;
	const struct target_name *names;
	uint32_t nd;
	const uint32_t *filter;
	int nf;
	bool json;
	long count; /* events printed */
	long max;   /* 0: unlimited */
	double t0;
};

static const char *top_name(unsigned int op)
{
	static const char *const n[] = {"R", "W", "F", "D"};

	return op < BLKX_NR_TOPS ? n[op] : "?";
}

static int on_event(void *ctx, void *data, size_t len)
{
	struct trace_run *r = ctx;
	const struct blkx_trace_event *ev = data;
	const struct target_name *lun, *mem = NULL;
	uint32_t mi;

	if (len < sizeof(*ev) || ev->disk >= r->nd ||
	    !targets_wanted(r->filter, r->nf, ev->disk))
		return 0;
	if (r->max && r->count >= r->max)
		return 1;
	lun = &r->names[ev->disk];
	/* the member's name: first_member + index, via the disks map */
	{
		struct blkx_disk d;

		if (!bpf_map_lookup_elem(r->m->disks_fd, &ev->disk, &d)) {
			mi = d.first_member + ev->member;
			mem = &r->names[r->nd + mi];
		}
	}
	if (r->json) {
		printf("{\"time_s\":%.6f,\"lun\":\"%s\",\"op\":\"%s\",\"guest_sector\":%lld,\"sectors\":%u,\"member\":%u,\"device\":\"%s\",\"member_sector\":%llu,\"latency_us\":%.1f,\"error\":%d}\n",
		       (double)ev->ts_ns / 1e9, lun->label, top_name(ev->op),
		       ev->guest_sector == ~0ULL ? -1LL
						 : (long long)ev->guest_sector,
		       ev->nr_sectors, ev->member, mem ? mem->device : "",
		       (unsigned long long)ev->member_sector,
		       (double)ev->lat_ns / 1e3, ev->error);
	} else {
		if (r->count == 0)
			printf("%-12s %-48s %-2s %12s %6s %6s %-14s %12s %9s %s\n",
			       "TIME(s)", "LUN", "OP", "GUEST_SECTOR", "SECTS",
			       "MEMBER", "DEVICE", "MEMBER_SECTOR", "LAT(us)",
			       "ERR");
		printf("%-12.6f %-48s %-2s %12lld %6u %6u %-14s %12llu %9.1f %s\n",
		       (double)ev->ts_ns / 1e9, lun->label, top_name(ev->op),
		       ev->guest_sector == ~0ULL ? -1LL
						 : (long long)ev->guest_sector,
		       ev->nr_sectors, ev->member, mem ? mem->device : "",
		       (unsigned long long)ev->member_sector,
		       (double)ev->lat_ns / 1e3, ev->error ? "ERR" : "");
	}
	r->count++;
	fflush(stdout);
	return 0;
}

/* readers of the event ring, +1 or -1 (never below 0) */
static void usage_trace(FILE *f)
{
	fprintf(f,
		"Usage: blkxlate trace [--instance NAME] [--lun CTRL:LOC]... [--count N]\n"
		"                      [--duration SEC] [--json]\n"
		"\n"
		"One line per remapped request as it completes on a member: the guest LUN\n"
		"and sector it serves, the member, its sector and the latency.  Events flow\n"
		"only while a trace runs (the pinned trace_ctl map counts readers).\n"
		"\n"
		"  -i, --instance NAME   instance (default 'default')\n"
		"  -l, --lun CTRL:LOC    only this LUN (repeatable)\n"
		"  -c, --count N         stop after N events\n"
		"  -d, --duration SEC    stop after SEC seconds\n"
		"  -j, --json            one JSON object per line\n"
		"  -h, --help            this text\n");
}

int cli_trace(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_OPT_INSTANCE,
		{"lun", required_argument, NULL, 'l'},
		{"count", required_argument, NULL, 'c'},
		{"duration", required_argument, NULL, 'd'},
		CLI_OPT_JSON,
		CLI_OPT_HELP,
		CLI_OPT_END,
	};
	const char *instance = MAPS_DEFAULT_INSTANCE,
		   *luns[TARGETS_MAX_FILTERS];
	unsigned long long count = 0, duration = 0;
	uint32_t filter[TARGETS_MAX_FILTERS], nd = 0, nm = 0;
	struct target_name *names = NULL;
	struct ring_buffer *rb = NULL;
	struct trace_run run = {0};
	int c, nluns = 0, ret;
	bool json = false, counted = false;
	struct cli_common co = {
		.instance = &instance, .json = &json, .usage = usage_trace};
	struct maps m;
	char err[512];

	optind = 1;
	while ((c = getopt_long(argc, argv, "i:l:c:d:jh", longopts, NULL)) !=
	       -1) {
		switch (c) {
		case 'l':
			if (nluns == TARGETS_MAX_FILTERS) {
				cli_error("--lun: at most %d",
					  TARGETS_MAX_FILTERS);
				return CLI_USAGE;
			}
			luns[nluns++] = optarg;
			break;
		case 'c':
			if (cli_parse_u64("--count", optarg, 1ULL << 40,
					  &count))
				return CLI_USAGE;
			break;
		case 'd':
			if (cli_parse_u64("--duration", optarg, 86400,
					  &duration))
				return CLI_USAGE;
			break;
		default:
			ret = cli_common_opt(c, &co);
			if (ret)
				return ret > 0 ? CLI_OK : -ret;
		}
	}
	if (optind != argc) {
		cli_error("trace: unexpected argument '%s'", argv[optind]);
		return CLI_USAGE;
	}
	ret = CLI_FAILED; /* until the events flowed */
	if (maps_open(instance, &m, err, sizeof(err))) {
		cli_error("trace: %s", err);
		return CLI_FAILED;
	}
	if (targets_instance_size(&m, &nd, &nm))
		goto out;
	for (int i = 0; i < nluns; i++)
		if (targets_parse_lun(&m, luns[i], &filter[i])) {
			ret = CLI_USAGE;
			goto out;
		}
	names = calloc(nd + nm ? nd + nm : 1, sizeof(*names));
	if (!names)
		goto out;
	targets_load_names(&m, nd, nm, names);
	run = (struct trace_run){.m = &m,
				 .names = names,
				 .nd = nd,
				 .filter = filter,
				 .nf = nluns,
				 .json = json,
				 .max = (long)count,
				 .t0 = targets_now_s()};
	rb = ring_buffer__new(m.trace_events_fd, on_event, &run, NULL);
	if (!rb) {
		cli_error("trace: opening the event ring: %s", strerror(errno));
		goto out;
	}
	targets_catch_signals();
	if (program_trace_readers(&m, +1)) {
		cli_error("trace: switching events on: %s", strerror(errno));
		goto out;
	}
	counted = true;
	while (!targets_stop && (!count || run.count < (long)count) &&
	       (!duration || targets_now_s() - run.t0 < (double)duration)) {
		int n = ring_buffer__poll(rb, 100);

		if (n < 0 && n != -EINTR) {
			cli_error("trace: reading events: %s", strerror(-n));
			goto out;
		}
	}
	ret = CLI_OK;
out:
	if (counted)
		program_trace_readers(&m, -1);
	if (!json && ret == CLI_OK)
		fprintf(stderr, "%ld event(s)\n", run.count);
	ring_buffer__free(rb);
	free(names);
	maps_close(&m);
	return ret;
}
