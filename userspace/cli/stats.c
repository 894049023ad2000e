// SPDX-License-Identifier: MIT
/* cli/stats: `stats` — what the tracing programs counted, per LUN and member.
 */
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

#include "base/json.h"
#include "cli/cli.h"
#include "cli/targets.h"
#include "base/guid.h"
#include "pins/maps.h"
#include "pins/program.h"
#include "daemon/state.h"

static int snapshot(int fd, uint32_t entries, struct blkx_hist *h)
{
	for (uint32_t i = 0; i < entries; i++)
		if (bpf_map_lookup_elem(fd, &i, &h[i]))
			return -errno;
	return 0;
}

/* Latency (us) below which a fraction p of the histogram lies. */
static double percentile(const __u64 *slots, double p)
{
	__u64 total = 0, acc = 0;

	for (int k = 0; k < BLKX_HIST_SLOTS; k++)
		total += slots[k];
	if (!total)
		return -1;
	for (int k = 0; k < BLKX_HIST_SLOTS; k++) {
		acc += slots[k];
		if ((double)acc >= p * (double)total)
			return k == 0 ? 1 : (double)(1ULL << k);
	}
	return (double)(1ULL << (BLKX_HIST_SLOTS - 1));
}

struct tstats {
	double iops, mbps, p50, p99;
	__u64 errors, ios;
	__u64 slots[BLKX_HIST_SLOTS];
};

static void target_stats(const struct blkx_hist *a, const struct blkx_hist *b,
			 uint32_t t, double dt, struct tstats *out)
{
	__u64 ios = 0, bytes = 0;

	memset(out, 0, sizeof(*out));
	for (int op = 0; op < BLKX_NR_TOPS; op++) {
		const struct blkx_hist *x = &a[t * BLKX_NR_TOPS + op];
		const struct blkx_hist *y = &b[t * BLKX_NR_TOPS + op];

		ios += y->ios - x->ios;
		bytes += y->bytes - x->bytes;
		out->errors += y->errors;
		out->ios += y->ios;
		for (int k = 0; k < BLKX_HIST_SLOTS; k++)
			out->slots[k] += y->slots[k] - x->slots[k];
	}
	out->iops = dt > 0 ? (double)ios / dt : 0;
	out->mbps = dt > 0 ? (double)bytes / dt / 1e6 : 0;
	out->p50 = percentile(out->slots, 0.50);
	out->p99 = percentile(out->slots, 0.99);
}

/* A member's NVMe command counters (nvme:nvme_setup_cmd/complete_rq),
 * totals since the daemon started; NULL where it saw no NVMe command. */
static struct json_object *nvme_json(int nvme_fd, uint32_t mi)
{
	struct blkx_nvme_stats ns = {0};
	struct json_object *o;

	if (nvme_fd < 0 || bpf_map_lookup_elem(nvme_fd, &mi, &ns) ||
	    (!ns.issued && !ns.cmds))
		return NULL;
	o = json_object_new_object();
	json_add_int(o, "issued", ns.issued);
	json_add_int(o, "completed", ns.cmds);
	json_add_int(o, "errors", ns.errors);
	json_add_int(o, "retried", ns.retries);
	return o;
}

static void print_round(const struct target_name *names, const uint32_t *order,
			uint32_t n, const struct blkx_hist *a,
			const struct blkx_hist *b, double dt,
			const uint32_t *filter, int nf, int nvme_fd, bool json)
{
	struct json_object *arr = json ? json_object_new_array() : NULL;

	if (!json)
		printf("%-50s %-14s %9s %8s %7s %8s %8s\n", "TARGET", "DEVICE",
		       "IOPS", "MB/s", "ERRORS", "P50(us)", "P99(us)");
	for (uint32_t i = 0; i < n; i++) {
		uint32_t t = order[i];
		struct tstats s;

		if (!targets_wanted(filter, nf, names[t].disk))
			continue;
		target_stats(a, b, t, dt, &s);
		if (json) {
			struct json_object *o = json_object_new_object();

			json_add_str(o, "target", names[t].label);
			json_add_str(o, "kind",
				     names[t].member ? "member" : "lun");
			json_add_int(o, "disk", names[t].disk);
			json_add_str(o, "device", names[t].device);
			json_object_object_add(o, "iops",
					       json_object_new_double(s.iops));
			json_object_object_add(o, "mbps",
					       json_object_new_double(s.mbps));
			json_add_int(o, "errors", s.errors);
			json_add_int(o, "ios_total", s.ios);
			json_object_object_add(o, "p50_us",
					       json_object_new_double(s.p50));
			json_object_object_add(o, "p99_us",
					       json_object_new_double(s.p99));
			if (names[t].member) {
				struct json_object *nv =
					nvme_json(nvme_fd, names[t].mi);

				if (nv)
					json_object_object_add(o, "nvme", nv);
			}
			json_object_array_add(arr, o);
			continue;
		}
		printf("%-50s %-14s %9.1f %8.2f %7llu ", names[t].label,
		       names[t].device, s.iops, s.mbps,
		       (unsigned long long)s.errors);
		if (s.p50 < 0)
			printf("%8s %8s\n", "-", "-");
		else
			printf("%8.0f %8.0f\n", s.p50, s.p99);
	}
	if (json) {
		struct json_object *r = json_object_new_object();

		json_object_object_add(r, "interval_s",
				       json_object_new_double(dt));
		json_object_object_add(r, "targets", arr);
		cli_print_json(r);
	}
	fflush(stdout);
}

static void usage_stats(FILE *f)
{
	fprintf(f,
		"Usage: blkxlate stats [--instance NAME] [--lun CTRL:LOC]... [--interval SEC]\n"
		"                      [--watch SEC] [--json]\n"
		"\n"
		"Per guest LUN and per member: IOPS and MB/s over an interval, errors since\n"
		"the start, and p50/p99 latency from the log2 histograms the tracing programs\n"
		"keep in the pinned io_hist map (block layer, issue to completion).\n"
		"\n"
		"  -i, --instance NAME   instance (default 'default')\n"
		"  -l, --lun CTRL:LOC    only this LUN and its members (repeatable)\n"
		"  -n, --interval SEC    measure over SEC seconds (default 1)\n"
		"  -w, --watch SEC       print every SEC seconds until interrupted\n"
		"  -j, --json            JSON output\n"
		"  -h, --help            this text\n");
}

struct stats_opts {
	const char *instance;
	const char *luns[TARGETS_MAX_FILTERS];
	int nr_luns;
	double interval;
	double watch;
	bool json;
};

/* The options of stats that no other command has (cli_common.own). */
static int stats_own_opt(int c, void *ctx)
{
	struct stats_opts *o = ctx;
	unsigned long long v;

	switch (c) {
	case 'l':
		if (o->nr_luns == TARGETS_MAX_FILTERS) {
			cli_error("--lun: at most %d", TARGETS_MAX_FILTERS);
			return -CLI_USAGE;
		}
		o->luns[o->nr_luns++] = optarg;
		break;
	case 'n':
	case 'w':
		if (cli_parse_u64(c == 'n' ? "--interval" : "--watch", optarg,
				  3600, &v) ||
		    !v) {
			cli_error("%s: must be 1..3600 seconds",
				  c == 'n' ? "--interval" : "--watch");
			return -CLI_USAGE;
		}
		if (c == 'n')
			o->interval = (double)v;
		else
			o->watch = (double)v;
		break;
	default:
		return 1;
	}
	return 0;
}

static int parse_stats(int argc, char **argv, struct stats_opts *o)
{
	static const struct option longopts[] = {
		CLI_OPT_INSTANCE,
		{"lun", required_argument, NULL, 'l'},
		{"interval", required_argument, NULL, 'n'},
		{"watch", required_argument, NULL, 'w'},
		CLI_OPT_JSON,
		CLI_OPT_HELP,
		CLI_OPT_END,
	};
	struct cli_common co = {.instance = &o->instance,
				.json = &o->json,
				.own = stats_own_opt,
				.ctx = o,
				.usage = usage_stats};
	int ret;

	memset(o, 0, sizeof(*o));
	o->instance = MAPS_DEFAULT_INSTANCE;
	o->interval = 1;
	ret = cli_getopt(argc, argv, "i:l:n:w:jh", longopts, &co);
	if (ret)
		return ret;
	if (optind != argc) {
		cli_error("stats: unexpected argument '%s'", argv[optind]);
		return -CLI_USAGE;
	}
	return 0;
}

int cli_stats(int argc, char **argv)
{
	uint32_t filter[TARGETS_MAX_FILTERS], nd = 0, nm = 0, n;
	struct target_name *names = NULL;
	struct blkx_hist *a = NULL, *b = NULL;
	uint32_t *order = NULL, total = 0;
	struct stats_opts o;
	struct maps m;
	char err[512];
	int ret = CLI_FAILED;

	ret = parse_stats(argc, argv, &o);
	if (ret)
		return ret > 0 ? CLI_OK : -ret;
	ret = CLI_FAILED;
	if (maps_open(o.instance, &m, err, sizeof(err))) {
		cli_error("stats: %s", err);
		return CLI_FAILED;
	}
	if (targets_instance_size(&m, &nd, &nm))
		goto out;
	for (int i = 0; i < o.nr_luns; i++)
		if (targets_parse_lun(&m, o.luns[i], &filter[i])) {
			ret = CLI_USAGE;
			goto out;
		}
	n = nd + nm;
	names = calloc(n ? n : 1, sizeof(*names));
	total = n;
	a = calloc((size_t)(n ? n : 1) * BLKX_NR_TOPS, sizeof(*a));
	b = calloc((size_t)(n ? n : 1) * BLKX_NR_TOPS, sizeof(*b));
	if (!names || !a || !b)
		goto out;
	targets_load_names(&m, nd, nm, names);
	targets_lun_devices(nd, names, o.instance);
	order = calloc(n ? n : 1, sizeof(*order));
	if (!order)
		goto out;
	/* each LUN, then its members; unused slots are left out */
	n = 0;
	for (uint32_t d = 0; d < nd; d++) {
		if (!names[d].label[0])
			continue;
		order[n++] = d;
		for (uint32_t mi = 0; mi < nm; mi++)
			if (names[nd + mi].label[0] && names[nd + mi].disk == d)
				order[n++] = nd + mi;
	}
	targets_catch_signals();
	if (snapshot(m.io_hist_fd, total * BLKX_NR_TOPS, a)) {
		cli_error(
			"stats: reading io_hist: %s (is tracing on? see 'blkxlate status --json')",
			strerror(errno));
		goto out;
	}
	do {
		double t0 = targets_now_s(), dt;

		while (!targets_stop &&
		       targets_now_s() - t0 < (o.watch ? o.watch : o.interval))
			usleep(20000);
		dt = targets_now_s() - t0;
		if (snapshot(m.io_hist_fd, total * BLKX_NR_TOPS, b))
			goto out;
		print_round(names, order, n, a, b, dt, filter, o.nr_luns,
			    m.nvme_stats_fd, o.json);
		memcpy(a, b, (size_t)total * BLKX_NR_TOPS * sizeof(*a));
		if (o.watch && !targets_stop && !o.json)
			printf("\n");
	} while (o.watch && !targets_stop);
	ret = CLI_OK;
out:
	free(order);
	free(names);
	free(a);
	free(b);
	maps_close(&m);
	return ret;
}
