// SPDX-License-Identifier: MIT
/* cli_maps: `load`, `unload`, `map-lba` — the pinned maps of an instance. */
#include <bpf/bpf.h>
#include <errno.h>
#include <limits.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <blkxlate/remap.h>

#include "base/json.h"
#include "cli/cli.h"
#include "daemon/instance.h"
#include "daemon/state.h"
#include "base/guid.h"
#include "pins/maps.h"
#include "plan/plan.h"
#include "config/settings.h"

enum {
	OPT_INSTANCE = 256,
	OPT_CONTROLLER,
	OPT_LUN,
	OPT_CHANNEL,
	OPT_LBA,
	OPT_SECTORS
};

static void usage_load(FILE *f)
{
	fprintf(f,
		"Usage: blkxlate load [--instance NAME] [--json] CONFIG\n"
		"\n"
		"Validate CONFIG, resolve and probe its backings, then create the BPF maps\n"
		"(LUN table, disk geometry, members, stats) and the remap program, pinned\n"
		"under /sys/fs/bpf/blkxlate/NAME/.  Nothing is pinned when anything fails.\n"
		"\n"
		"  -i, --instance NAME   instance name (default 'default')\n"
		"      --sysfs-root DIR  read sysfs from DIR\n"
		"  -j, --json            JSON output\n"
		"  -h, --help            this text\n");
}

static void usage_map_lba(FILE *f)
{
	fprintf(f,
		"Usage: blkxlate map-lba --controller GUID --lun L --lba N [--sectors K]\n"
		"                        [--channel C] [--instance NAME] [--json]\n"
		"\n"
		"Ask the loaded remap BPF program where guest blocks N..N+K-1 of LUN L on\n"
		"controller GUID live.  LBAs and counts are in the LUN's logical blocks.\n"
		"\n"
		"  -c, --controller GUID  guest-visible controller instance_id\n"
		"  -l, --lun L            location (SCSI LUN, NVMe nsid, IDE slot)\n"
		"      --channel C        IDE channel (default 0)\n"
		"  -a, --lba N            first logical block\n"
		"  -n, --sectors K        logical blocks (default 1)\n"
		"  -i, --instance NAME    instance name (default 'default')\n"
		"  -j, --json             JSON output\n"
		"  -h, --help             this text\n");
}

int cli_load(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_OPT_INSTANCE, CLI_OPT_SYSFS, CLI_OPT_JSON,
		CLI_OPT_HELP,	  CLI_OPT_END,
	};
	const char *instance = MAPS_DEFAULT_INSTANCE;
	struct settings s = {0};
	struct resolve_ctx rc;
	struct plan p = {0};
	struct maps m;
	char err[512] = "";
	bool json = false;
	int lock = -1;
	struct cli_common co = {.instance = &instance,
				.json = &json,
				.rc = &rc,
				.usage = usage_load};
	int ret;

	resolve_ctx_default(&rc);
	ret = cli_getopt(argc, argv, "i:jh", longopts, &co);
	if (ret)
		return ret > 0 ? CLI_OK : -ret;
	if (optind != argc - 1) {
		cli_error("load: expected exactly one CONFIG file argument");
		usage_load(stderr);
		return CLI_USAGE;
	}
	ret = cli_read_config(argv[optind], json, &rc, &s, &p);
	if (ret)
		return ret;
	lock = cli_lock_instance("load", instance);
	if (lock < 0) {
		ret = CLI_FAILED;
		goto out;
	}
	if (maps_create(instance, &p, &m, err, sizeof(err))) {
		cli_error("load: %s", err);
		ret = CLI_FAILED;
		goto out;
	}
	if (json) {
		struct json_object *r = json_object_new_object();

		json_add_str(r, "instance", instance);
		json_add_str(r, "pin_dir", m.dir);
		json_add_int(r, "disks", p.nr_disks);
		json_add_int(r, "members", p.nr_members);
		cli_print_json(r);
	} else {
		printf("loaded %zu disk(s), %zu member(s) into %s\n",
		       p.nr_disks, p.nr_members, m.dir);
	}
	maps_close(&m);
out:
	instance_unlock(lock);
	plan_fini(&p);
	settings_fini(&s);
	return ret;
}

int cli_unload(int argc, char **argv)
{
	const char *instance = MAPS_DEFAULT_INSTANCE;
	char err[512] = "", st[PATH_MAX];
	int ret, lock;

	ret = cli_parse_instance(
		argc, argv,
		"Remove the pinned maps and program of an instance.", &instance,
		NULL);
	if (ret)
		return ret > 0 ? CLI_OK : -ret;
	lock = cli_lock_instance("unload", instance);
	if (lock < 0)
		return CLI_FAILED;
	if (!state_path(instance, "state", st, sizeof(st)) &&
	    !access(st, F_OK)) {
		/* its pins are what a recovery needs */
		cli_error(
			"unload: instance '%s' has a daemon's state (%s): its devices may wait for recovery; 'blkxlate down --instance %s' removes them with the pins",
			instance, st, instance);
		instance_unlock(lock);
		return CLI_FAILED;
	}
	ret = maps_destroy(instance, err, sizeof(err));
	instance_unlock(lock);
	if (ret) {
		cli_error("unload: %s", err);
		return CLI_FAILED;
	}
	printf("unloaded instance '%s'\n", instance);
	return CLI_OK;
}

struct map_lba_args {
	const char *instance;
	struct blkx_lun_key key;
	unsigned long long lba, count;
	bool json, have_ctrl, have_lun, have_lba;
};

/* The options of map-lba that no other command has (cli_common.own). */
static int map_lba_own_opt(int c, void *ctx)
{
	struct map_lba_args *a = ctx;
	unsigned long long v;
	struct guid g;

	switch (c) {
	case 'c':
		if (guid_parse(optarg, &g)) {
			cli_error(
				"--controller: '%s' is not a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)",
				optarg);
			return -CLI_USAGE;
		}
		guid_format(&g, a->key.controller);
		a->have_ctrl = true;
		break;
	case 'l':
		if (cli_parse_u64("--lun", optarg, UINT32_MAX, &v))
			return -CLI_USAGE;
		a->key.location = (__u32)v;
		a->have_lun = true;
		break;
	case OPT_CHANNEL:
		if (cli_parse_u64("--channel", optarg, 1, &v))
			return -CLI_USAGE;
		a->key.channel = (__u32)v;
		break;
	case 'a':
		if (cli_parse_u64("--lba", optarg, UINT64_MAX >> 12, &a->lba))
			return -CLI_USAGE;
		a->have_lba = true;
		break;
	case 'n':
		if (cli_parse_u64("--sectors", optarg, UINT32_MAX, &a->count))
			return -CLI_USAGE;
		if (!a->count) {
			cli_error("--sectors: must be at least 1");
			return -CLI_USAGE;
		}
		break;
	default:
		return 1;
	}
	return 0;
}

static int parse_map_lba(int argc, char **argv, struct map_lba_args *a)
{
	static const struct option longopts[] = {
		{"controller", required_argument, NULL, 'c'},
		{"lun", required_argument, NULL, 'l'},
		{"channel", required_argument, NULL, OPT_CHANNEL},
		{"lba", required_argument, NULL, 'a'},
		{"sectors", required_argument, NULL, 'n'},
		CLI_OPT_INSTANCE,
		CLI_OPT_JSON,
		CLI_OPT_HELP,
		CLI_OPT_END,
	};
	struct cli_common co = {.instance = &a->instance,
				.json = &a->json,
				.own = map_lba_own_opt,
				.ctx = a,
				.usage = usage_map_lba};
	int ret;

	memset(a, 0, sizeof(*a));
	a->instance = MAPS_DEFAULT_INSTANCE;
	a->count = 1;
	ret = cli_getopt(argc, argv, "c:l:a:n:i:jh", longopts, &co);
	if (ret)
		return ret;
	if (!a->have_ctrl || !a->have_lun || !a->have_lba || optind != argc) {
		cli_error(
			"map-lba: --controller, --lun and --lba are required%s",
			optind != argc ? " (and no other arguments)" : "");
		usage_map_lba(stderr);
		return -CLI_USAGE;
	}
	return 0;
}

static void print_segments(const struct maps *m, const struct blkx_disk *d,
			   const struct blkx_remap_ctx *rq, bool json)
{
	unsigned int shift = d->lbs_shift - BLKX_SECTOR_SHIFT;
	struct json_object *arr = json_object_new_array();

	for (int i = 0; i < rq->result; i++) {
		const struct blkx_segment *s = &rq->segs[i];
		__u32 idx = d->first_member + s->member;
		struct blkx_member mem = {0};

		bpf_map_lookup_elem(m->members_fd, &idx, &mem);
		if (json) {
			struct json_object *o = json_object_new_object();

			json_add_int(o, "member", s->member);
			json_add_str(o, "device", mem.device);
			json_add_int(o, "lba", (s->member_sector >> shift));
			json_add_int(o, "sectors", s->nr_sectors >> shift);
			json_object_array_add(arr, o);
		} else {
			printf("member %u %s lba %llu sectors %u\n", s->member,
			       mem.device,
			       (unsigned long long)(s->member_sector >> shift),
			       s->nr_sectors >> shift);
		}
	}
	if (json) {
		struct json_object *r = json_object_new_object();

		json_object_object_add(r, "segments", arr);
		cli_print_json(r);
	} else {
		json_object_put(arr);
	}
}

int cli_map_lba(int argc, char **argv)
{
	struct map_lba_args a;
	struct blkx_remap_ctx rq;
	struct blkx_disk d = {0};
	struct blkx_lun lun;
	struct maps m;
	char err[512] = "";
	unsigned int shift;
	int ret;

	ret = parse_map_lba(argc, argv, &a);
	if (ret)
		return ret > 0 ? CLI_OK : -ret;
	if (maps_open(a.instance, &m, err, sizeof(err))) {
		cli_error("map-lba: %s", err);
		return CLI_FAILED;
	}
	/* only the unit: LBAs are in the LUN's logical blocks */
	if (bpf_map_lookup_elem(m.luns_fd, &a.key, &lun) ||
	    bpf_map_lookup_elem(m.disks_fd, &lun.disk, &d)) {
		cli_error(
			"map-lba: no LUN %u (channel %u) on controller %s in instance '%s'",
			a.key.location, a.key.channel, a.key.controller,
			a.instance);
		maps_close(&m);
		return CLI_FAILED;
	}
	shift = d.lbs_shift - BLKX_SECTOR_SHIFT;
	memset(&rq, 0, sizeof(rq));
	rq.lun = a.key;
	rq.sector = a.lba << shift;
	rq.nr_sectors = a.count << shift;
	ret = maps_remap(&m, &rq);
	if (ret) {
		cli_error("map-lba: running the remap program: %s",
			  strerror(-ret));
		maps_close(&m);
		return CLI_FAILED;
	}
	if (rq.result < 0) {
		if (rq.result == -BLKX_ERANGE)
			cli_error(
				"map-lba: blocks %llu..%llu are past the end of the disk (%llu blocks of %u bytes)",
				a.lba, a.lba + a.count - 1,
				(unsigned long long)(d.size_sectors >> shift),
				1u << d.lbs_shift);
		else if (rq.result == -BLKX_E2BIG)
			cli_error(
				"map-lba: the range spans more than %d chunks; ask for fewer sectors",
				BLKX_MAX_SEGMENTS);
		else
			cli_error("map-lba: remap failed: %s",
				  strerror(-rq.result));
		maps_close(&m);
		return CLI_FAILED;
	}
	print_segments(&m, &d, &rq, a.json);
	maps_close(&m);
	return CLI_OK;
}
