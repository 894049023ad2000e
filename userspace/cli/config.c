// SPDX-License-Identifier: MIT
/* cli_config: `validate` and `plan` — read-only looks at a settings file. */
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "cli/cli.h"
#include "plan/plan.h"
#include "devices/resolve.h"
#include "config/settings.h"

struct config_opts {
	bool json;
	const char *config;
	struct resolve_ctx rc;
};

static void usage_validate(FILE *f)
{
	fprintf(f,
		"Usage: blkxlate validate [--json] CONFIG\n"
		"\n"
		"Check a VTL2 settings file against every rule of the settings model\n"
		"(fields, aliases, limits, duplicates).  Backings are not opened: use\n"
		"'blkxlate plan' for that.\n"
		"\n"
		"  -j, --json   print the result (or the error object) as JSON\n"
		"  -h, --help   this text\n"
		"\n"
		"Exit status: 0 valid, 3 invalid settings, 2 bad usage.\n");
}

static void usage_plan(FILE *f)
{
	fprintf(f,
		"Usage: blkxlate plan [--json] [--sysfs-root DIR] CONFIG\n"
		"\n"
		"Validate CONFIG, resolve every backing through sysfs, check the member\n"
		"geometry, and print what would be served: controller, protocol,\n"
		"location -> backing(s), size, chunk, sector size, identity.\n"
		"\n"
		"  -j, --json             JSON output\n"
		"      --sysfs-root DIR   read sysfs from DIR (default /sys, or\n"
		"                         $BLKXLATE_SYSFS_ROOT)\n"
		"  -h, --help             this text\n"
		"\n"
		"Exit status: 0 ok, 3 invalid settings or backings, 2 bad usage.\n");
}

static int parse_config_opts(int argc, char **argv, void (*usage)(FILE *),
			     struct config_opts *o)
{
	static const struct option longopts[] = {
		CLI_OPT_JSON,
		CLI_OPT_HELP,
		CLI_OPT_SYSFS,
		CLI_OPT_END,
	};
	struct cli_common co = {.json = &o->json, .rc = &o->rc, .usage = usage};
	int ret;

	memset(o, 0, sizeof(*o));
	resolve_ctx_default(&o->rc);
	ret = cli_getopt(argc, argv, "jh", longopts, &co);
	if (ret)
		return ret;
	if (optind != argc - 1) {
		cli_error("%s: expected exactly one CONFIG file argument",
			  argv[0]);
		usage(stderr);
		return -CLI_USAGE;
	}
	o->config = argv[optind];
	return 0;
}

static struct json_object *warnings_json(const struct settings *s)
{
	struct json_object *arr = json_object_new_array();

	for (size_t i = 0; i < s->nr_warnings; i++) {
		struct json_object *w = json_object_new_object();

		json_add_str(w, "path", s->warnings[i].path);
		json_add_str(w, "message", s->warnings[i].message);
		json_object_array_add(arr, w);
	}
	return arr;
}

int cli_validate(int argc, char **argv)
{
	struct settings s = {0};
	struct config_opts o;
	size_t nluns = 0;
	int ret;

	ret = parse_config_opts(argc, argv, usage_validate, &o);
	if (ret)
		return ret > 0 ? CLI_OK : -ret;
	ret = cli_read_config(o.config, o.json, NULL, &s, NULL);
	if (ret)
		return ret;
	for (size_t i = 0; i < s.nr_controllers; i++)
		nluns += s.controllers[i].nr_luns;
	if (o.json) {
		struct json_object *r = json_object_new_object();

		json_add_bool(r, "valid", 1);
		json_add_int(r, "controllers", s.nr_controllers);
		json_add_int(r, "luns", nluns);
		json_object_object_add(r, "warnings", warnings_json(&s));
		cli_print_json(r);
	} else {
		printf("%s: valid: %zu controller(s), %zu LUN(s), %zu warning(s)\n",
		       o.config, s.nr_controllers, nluns, s.nr_warnings);
	}
	settings_fini(&s);
	return CLI_OK;
}

static struct json_object *jstr(const char *s)
{
	return json_object_new_string(s ? s : "");
}

static struct json_object *disk_json(const struct plan_disk *d)
{
	struct json_object *o = json_object_new_object();
	struct json_object *mem = json_object_new_array();
	struct json_object *id = json_object_new_object();
	const struct settings_lun *l = d->lun;

	json_object_object_add(o, "controller", jstr(d->key.controller));
	json_object_object_add(o, "protocol",
			       jstr(settings_protocol_name(d->ctrl->protocol)));
	json_add_int(o, "location", d->key.location);
	if (l->has_channel)
		json_add_int(o, "channel", d->key.channel);
	json_add_int(o, "size_bytes", d->size_bytes);
	json_add_int(o, "logical_block_size", d->lbs);
	json_add_int(o, "physical_block_size", d->pbs);
	json_add_bool(o, "striped", l->striped);
	json_add_int(o, "chunk_bytes", d->chunk_bytes);
	json_add_int(o, "max_io_bytes", d->max_io_bytes);
	json_add_bool(o, "read_only", d->read_only);
	json_add_bool(o, "fua", d->fua);
	json_add_bool(o, "write_cache", d->write_cache);
	json_add_bool(o, "discard", d->discard);
	for (size_t i = 0; i < d->nr_members; i++) {
		const struct plan_member *pm = &d->members[i];
		struct json_object *m = json_object_new_object();

		json_object_object_add(
			m, "device_type",
			jstr(settings_device_type_name(pm->src->type)));
		json_object_object_add(m, "device_path",
				       jstr(pm->src->device_path));
		json_object_object_add(m, "device", jstr(pm->dev.dev_path));
		json_object_object_add(m, "how", jstr(pm->dev.how));
		json_add_int(m, "size_bytes", pm->dev.size_bytes);
		json_add_int(m, "used_bytes",
			     (pm->m.size_sectors << BLKX_SECTOR_SHIFT));
		json_object_array_add(mem, m);
	}
	json_object_object_add(o, "members", mem);
	json_object_object_add(id, "vendor_id", jstr(d->vendor_id));
	json_object_object_add(id, "product_id", jstr(d->product_id));
	json_object_object_add(id, "product_revision_level", jstr(d->revision));
	json_object_object_add(id, "serial_number", jstr(l->serial_number));
	json_object_object_add(id, "model_number", jstr(l->model_number));
	json_object_object_add(id, "device_id", jstr(d->device_id));
	json_object_object_add(o, "identity", id);
	return o;
}

static void print_plan_table(const struct plan *p)
{
	char size[32], chunk[32];
	int bw = 7; /* width of the BACKING column */

	for (size_t i = 0; i < p->nr_disks; i++)
		for (size_t m = 0; m < p->disks[i].nr_members; m++) {
			int n = (int)strlen(
				p->disks[i].members[m].dev.dev_path);

			bw = n > bw ? n : bw;
		}
	printf("%-36s %-5s %-5s %-*s %9s %8s %6s  %s\n", "CONTROLLER", "PROTO",
	       "LOC", bw, "BACKING", "SIZE", "CHUNK", "SECTOR", "IDENTITY");
	for (size_t i = 0; i < p->nr_disks; i++) {
		const struct plan_disk *d = &p->disks[i];
		char loc[24];

		if (d->lun->has_channel)
			snprintf(loc, sizeof(loc), "%u:%u", d->key.channel,
				 d->key.location);
		else
			snprintf(loc, sizeof(loc), "%u", d->key.location);
		if (d->chunk_bytes)
			plan_fmt_size(d->chunk_bytes, chunk, sizeof(chunk));
		else
			snprintf(chunk, sizeof(chunk), "-");
		for (size_t m = 0; m < d->nr_members; m++) {
			const struct plan_member *pm = &d->members[m];

			if (m == 0)
				printf("%-36s %-5s %-5s ", d->key.controller,
				       settings_protocol_name(
					       d->ctrl->protocol),
				       loc);
			else
				printf("%-36s %-5s %-5s ", "", "", "");
			if (m == 0)
				printf("%-*s %9s %8s %6u  '%s' '%s' '%s'%s%s",
				       bw, pm->dev.dev_path,
				       plan_fmt_size(d->size_bytes, size,
						     sizeof(size)),
				       chunk, d->lbs, d->vendor_id,
				       d->product_id, d->revision,
				       d->device_id[0] ? " id " : "",
				       d->device_id);
			else
				printf("%s", pm->dev.dev_path);
			printf("\n");
			if (cli_verbose)
				printf("%-49s   (%s)\n", "", pm->dev.how);
		}
	}
	printf("%zu disk(s), %zu backing member(s)\n", p->nr_disks,
	       p->nr_members);
}

int cli_plan(int argc, char **argv)
{
	struct settings s = {0};
	struct plan p = {0};
	struct config_opts o;
	int ret;

	ret = parse_config_opts(argc, argv, usage_plan, &o);
	if (ret)
		return ret > 0 ? CLI_OK : -ret;
	ret = cli_read_config(o.config, o.json, &o.rc, &s, &p);
	if (ret)
		return ret;
	if (o.json) {
		struct json_object *r = json_object_new_object();
		struct json_object *arr = json_object_new_array();

		for (size_t i = 0; i < p.nr_disks; i++)
			json_object_array_add(arr, disk_json(&p.disks[i]));
		json_object_object_add(r, "disks", arr);
		json_object_object_add(r, "warnings", warnings_json(&s));
		cli_print_json(r);
	} else {
		print_plan_table(&p);
	}
	plan_fini(&p);
	settings_fini(&s);
	return CLI_OK;
}

static void usage_resolve(FILE *f)
{
	fprintf(f,
		"Usage: blkxlate resolve [--json] [--sysfs-root DIR] TYPE DEVICE_PATH [SUB_DEVICE_PATH]\n"
		"\n"
		"Show which device a backing setting names, with the daemon's own resolver:\n"
		"TYPE is nvme, vscsi or file; DEVICE_PATH and SUB_DEVICE_PATH as in the\n"
		"settings (e.g. 'nvme BLKXLATE-A 2', 'vscsi 0000:00:05.0 1').\n"
		"\n"
		"  -j, --json             JSON output\n"
		"      --sysfs-root DIR   read sysfs from DIR\n"
		"  -h, --help             this text\n");
}

int cli_resolve(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_OPT_JSON,
		CLI_OPT_HELP,
		CLI_OPT_SYSFS,
		CLI_OPT_END,
	};
	struct settings_device dev = {0};
	struct error_obj err = {0};
	struct resolved_dev rd;
	struct resolve_ctx rc;
	unsigned long long sub = 0;
	bool json = false;
	struct cli_common co = {
		.json = &json, .rc = &rc, .usage = usage_resolve};
	int ret, nargs;

	resolve_ctx_default(&rc);
	ret = cli_getopt(argc, argv, "jh", longopts, &co);
	if (ret)
		return ret > 0 ? CLI_OK : -ret;
	nargs = argc - optind;
	if (nargs < 2 || nargs > 3) {
		cli_error(
			"resolve: expected TYPE DEVICE_PATH [SUB_DEVICE_PATH]");
		usage_resolve(stderr);
		return CLI_USAGE;
	}
	if (!strcmp(argv[optind], "nvme"))
		dev.type = SETTINGS_DEV_NVME;
	else if (!strcmp(argv[optind], "vscsi"))
		dev.type = SETTINGS_DEV_VSCSI;
	else if (!strcmp(argv[optind], "file"))
		dev.type = SETTINGS_DEV_FILE;
	else {
		cli_error("resolve: TYPE '%s' is not nvme, vscsi or file",
			  argv[optind]);
		return CLI_USAGE;
	}
	dev.device_path = argv[optind + 1];
	if (nargs == 3 && cli_parse_u64("SUB_DEVICE_PATH", argv[optind + 2],
					UINT32_MAX, &sub))
		return CLI_USAGE;
	dev.sub_device_path = (uint32_t)sub;
	snprintf(dev.path, sizeof(dev.path), "device");
	if (resolve_device(&rc, &dev, &rd, &err)) {
		cli_settings_error(&err, json);
		return CLI_BAD_SETTINGS;
	}
	if (json) {
		struct json_object *r = json_object_new_object();

		json_object_object_add(r, "device", jstr(rd.dev_path));
		json_object_object_add(r, "name", jstr(rd.name));
		json_object_object_add(r, "how", jstr(rd.how));
		json_add_int(r, "size_bytes", rd.size_bytes);
		json_add_int(r, "logical_block_size", rd.logical_block_size);
		cli_print_json(r);
	} else {
		printf("%s\n", rd.dev_path);
		if (cli_verbose)
			printf("  %s\n", rd.how);
	}
	return CLI_OK;
}
