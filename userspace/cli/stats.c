// SPDX-License-Identifier: MIT
/* cli_stats: `stats` and `trace` — what the tracing programs see. */
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
#include "base/guid.h"
#include "pins/maps.h"
#include "pins/program.h"
#include "daemon/state.h"

#define MAX_LUN_FILTERS 16

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* --lun CTRL:LOC[:CHANNEL] -> disk index through the luns map. */
static int parse_lun(const struct maps *m, const char *arg, uint32_t *disk)
{
	struct blkx_lun_key key = {0};
	struct blkx_lun lun;
	char ctrl[64];
	const char *colon = strchr(arg, ':');
	unsigned int loc = 0, ch = 0;
	struct guid g;

	if (!colon || (size_t)(colon - arg) >= sizeof(ctrl))
		goto bad;
	memcpy(ctrl, arg, (size_t)(colon - arg));
	ctrl[colon - arg] = '\0';
	if (guid_parse(ctrl, &g) || sscanf(colon + 1, "%u:%u", &loc, &ch) < 1)
		goto bad;
	guid_format(&g, key.controller);
	key.location = loc;
	key.channel = ch;
	if (bpf_map_lookup_elem(m->luns_fd, &key, &lun)) {
		cli_error("--lun %s: no such LUN in this instance", arg);
		return -ENOENT;
	}
	*disk = lun.disk;
	return 0;
bad:
	cli_error("--lun: '%s' is not CONTROLLER_GUID:LOCATION[:CHANNEL]", arg);
	return -EINVAL;
}

struct target_name {
	char label[80];	 /* "SCSI <guid> 0" or "  member 1" */
	char device[64]; /* /dev/ublkb0, /dev/nvme0n1 */
	uint32_t disk;
	uint32_t mi; /* a member's index in members and nvme_stats */
	bool member;
};

/* Names of every target (LUNs, then their members) from the maps. */
static int load_names(const struct maps *m, uint32_t nr_disks,
		      uint32_t nr_members, struct target_name *names)
{
	static const char *const proto[] = {"SCSI", "IDE", "NVME"};
	struct blkx_lun_key key, next;
	struct blkx_lun lun;
	void *prev = NULL;

	/* unused slots keep an empty label and are not shown */
	for (uint32_t i = 0; i < nr_disks + nr_members; i++)
		names[i].label[0] = '\0';
	while (!bpf_map_get_next_key(m->luns_fd, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(m->luns_fd, &key, &lun) ||
		    lun.disk >= nr_disks)
			continue;
		snprintf(names[lun.disk].label, sizeof(names[lun.disk].label),
			 "%s %s %u",
			 lun.protocol < 3 ? proto[lun.protocol] : "?",
			 key.controller, key.location);
		names[lun.disk].disk = lun.disk;
	}
	for (uint32_t mi = 0; mi < nr_members; mi++) {
		struct target_name *t = &names[nr_disks + mi];
		struct blkx_member mem = {0};

		if (bpf_map_lookup_elem(m->members_fd, &mi, &mem) ||
		    !mem.device[0])
			continue;
		snprintf(t->label, sizeof(t->label), "  member %u of LUN above",
			 mem.index);
		snprintf(t->device, sizeof(t->device), "%s", mem.device);
		t->disk = mem.disk;
		t->mi = mi;
		t->member = true;
	}
	return 0;
}

/* The LUN's device: the stable name is in the state file; the kernel's
 * name is enough here. */
static void lun_devices(uint32_t nr_disks, struct target_name *names,
			const char *instance)
{
	struct state st;

	if (state_read(instance, &st))
		return;
	for (size_t i = 0; i < st.nr_disks; i++) {
		const struct state_disk *sd = &st.disks[i];

		if (sd->disk < nr_disks)
			snprintf(names[sd->disk].device,
				 sizeof(names[sd->disk].device), "%s",
				 sd->device);
	}
	state_fini(&st);
}

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
	json_object_object_add(o, "issued",
			       json_object_new_int64((int64_t)ns.issued));
	json_object_object_add(o, "completed",
			       json_object_new_int64((int64_t)ns.cmds));
	json_object_object_add(o, "errors",
			       json_object_new_int64((int64_t)ns.errors));
	json_object_object_add(o, "retried",
			       json_object_new_int64((int64_t)ns.retries));
	return o;
}

static bool wanted(const uint32_t *filter, int nf, uint32_t disk)
{
	for (int i = 0; i < nf; i++)
		if (filter[i] == disk)
			return true;
	return nf == 0;
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

		if (!wanted(filter, nf, names[t].disk))
			continue;
		target_stats(a, b, t, dt, &s);
		if (json) {
			struct json_object *o = json_object_new_object();

			json_object_object_add(
				o, "target",
				json_object_new_string(names[t].label));
			json_object_object_add(
				o, "kind",
				json_object_new_string(
					names[t].member ? "member" : "lun"));
			json_object_object_add(
				o, "disk",
				json_object_new_int64(names[t].disk));
			json_object_object_add(
				o, "device",
				json_object_new_string(names[t].device));
			json_object_object_add(o, "iops",
					       json_object_new_double(s.iops));
			json_object_object_add(o, "mbps",
					       json_object_new_double(s.mbps));
			json_object_object_add(
				o, "errors",
				json_object_new_int64((int64_t)s.errors));
			json_object_object_add(
				o, "ios_total",
				json_object_new_int64((int64_t)s.ios));
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
	const char *luns[MAX_LUN_FILTERS];
	int nr_luns;
	double interval;
	double watch;
	bool json;
};

static int parse_stats(int argc, char **argv, struct stats_opts *o)
{
	static const struct option longopts[] = {
		{"instance", required_argument, NULL, 'i'},
		{"lun", required_argument, NULL, 'l'},
		{"interval", required_argument, NULL, 'n'},
		{"watch", required_argument, NULL, 'w'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	unsigned long long v;
	int c;

	memset(o, 0, sizeof(*o));
	o->instance = MAPS_DEFAULT_INSTANCE;
	o->interval = 1;
	optind = 1;
	while ((c = getopt_long(argc, argv, "i:l:n:w:jh", longopts, NULL)) !=
	       -1) {
		switch (c) {
		case 'i':
			o->instance = optarg;
			break;
		case 'l':
			if (o->nr_luns == MAX_LUN_FILTERS) {
				cli_error("--lun: at most %d", MAX_LUN_FILTERS);
				return -CLI_USAGE;
			}
			o->luns[o->nr_luns++] = optarg;
			break;
		case 'n':
		case 'w':
			if (cli_parse_u64(c == 'n' ? "--interval" : "--watch",
					  optarg, 3600, &v) ||
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
		case 'j':
			o->json = true;
			break;
		case 'h':
			usage_stats(stdout);
			return 1;
		default:
			usage_stats(stderr);
			return -CLI_USAGE;
		}
	}
	if (optind != argc) {
		cli_error("stats: unexpected argument '%s'", argv[optind]);
		return -CLI_USAGE;
	}
	return 0;
}

/* meta's disk and member counts */
static int instance_size(const struct maps *m, uint32_t *nd, uint32_t *nm)
{
	struct blkx_meta meta;
	uint32_t zero = 0;

	if (bpf_map_lookup_elem(m->meta_fd, &zero, &meta))
		return -errno;
	/* io_hist is laid out by slots: disks, then members */
	*nd = meta.disk_slots;
	*nm = meta.member_slots;
	return 0;
}

int cli_stats(int argc, char **argv)
{
	uint32_t filter[MAX_LUN_FILTERS], nd = 0, nm = 0, n;
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
	if (instance_size(&m, &nd, &nm))
		goto out;
	for (int i = 0; i < o.nr_luns; i++)
		if (parse_lun(&m, o.luns[i], &filter[i])) {
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
	load_names(&m, nd, nm, names);
	lun_devices(nd, names, o.instance);
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
	catch_signals();
	if (snapshot(m.io_hist_fd, total * BLKX_NR_TOPS, a)) {
		cli_error(
			"stats: reading io_hist: %s (is tracing on? see 'blkxlate status --json')",
			strerror(errno));
		goto out;
	}
	do {
		double t0 = now_s(), dt;

		while (!stop_requested &&
		       now_s() - t0 < (o.watch ? o.watch : o.interval))
			usleep(20000);
		dt = now_s() - t0;
		if (snapshot(m.io_hist_fd, total * BLKX_NR_TOPS, b))
			goto out;
		print_round(names, order, n, a, b, dt, filter, o.nr_luns,
			    m.nvme_stats_fd, o.json);
		memcpy(a, b, (size_t)total * BLKX_NR_TOPS * sizeof(*a));
		if (o.watch && !stop_requested && !o.json)
			printf("\n");
	} while (o.watch && !stop_requested);
	ret = CLI_OK;
out:
	free(order);
	free(names);
	free(a);
	free(b);
	maps_close(&m);
	return ret;
}

/* ---------------------------------------------------------------- trace */

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
	    !wanted(r->filter, r->nf, ev->disk))
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
		{"instance", required_argument, NULL, 'i'},
		{"lun", required_argument, NULL, 'l'},
		{"count", required_argument, NULL, 'c'},
		{"duration", required_argument, NULL, 'd'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *instance = MAPS_DEFAULT_INSTANCE, *luns[MAX_LUN_FILTERS];
	unsigned long long count = 0, duration = 0;
	uint32_t filter[MAX_LUN_FILTERS], nd = 0, nm = 0;
	struct target_name *names = NULL;
	struct ring_buffer *rb = NULL;
	struct trace_run run = {0};
	int c, nluns = 0, ret = CLI_FAILED;
	bool json = false, counted = false;
	struct maps m;
	char err[512];

	optind = 1;
	while ((c = getopt_long(argc, argv, "i:l:c:d:jh", longopts, NULL)) !=
	       -1) {
		switch (c) {
		case 'i':
			instance = optarg;
			break;
		case 'l':
			if (nluns == MAX_LUN_FILTERS) {
				cli_error("--lun: at most %d", MAX_LUN_FILTERS);
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
		case 'j':
			json = true;
			break;
		case 'h':
			usage_trace(stdout);
			return CLI_OK;
		default:
			usage_trace(stderr);
			return CLI_USAGE;
		}
	}
	if (optind != argc) {
		cli_error("trace: unexpected argument '%s'", argv[optind]);
		return CLI_USAGE;
	}
	if (maps_open(instance, &m, err, sizeof(err))) {
		cli_error("trace: %s", err);
		return CLI_FAILED;
	}
	if (instance_size(&m, &nd, &nm))
		goto out;
	for (int i = 0; i < nluns; i++)
		if (parse_lun(&m, luns[i], &filter[i])) {
			ret = CLI_USAGE;
			goto out;
		}
	names = calloc(nd + nm ? nd + nm : 1, sizeof(*names));
	if (!names)
		goto out;
	load_names(&m, nd, nm, names);
	run = (struct trace_run){.m = &m,
				 .names = names,
				 .nd = nd,
				 .filter = filter,
				 .nf = nluns,
				 .json = json,
				 .max = (long)count,
				 .t0 = now_s()};
	rb = ring_buffer__new(m.trace_events_fd, on_event, &run, NULL);
	if (!rb) {
		cli_error("trace: opening the event ring: %s", strerror(errno));
		goto out;
	}
	catch_signals();
	if (program_trace_readers(&m, +1)) {
		cli_error("trace: switching events on: %s", strerror(errno));
		goto out;
	}
	counted = true;
	while (!stop_requested && (!count || run.count < (long)count) &&
	       (!duration || now_s() - run.t0 < (double)duration)) {
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
