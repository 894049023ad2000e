// SPDX-License-Identifier: MIT
/*
 * cli_vmm: `vmm-args` — the VMM arguments that attach every guest LUN of a
 * settings file, through its stable /run/blkxlate path, to an emulated
 * controller and location with its configured identity.  Only the settings
 * are read (no backing is opened); a running daemon of the instance adds
 * what only the served devices know: their sector sizes, read-only flag,
 * write cache and FUA.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/vmm.h"
#include "config/settings.h"
#include "daemon/state.h"
#include "pins/maps.h"
#include "plan/plan.h"

static void usage_vmm(FILE *f)
{
	fputs("Usage: blkxlate vmm-args --vmm qemu|cloud-hypervisor [OPTIONS] CONFIG\n"
	      "\n"
	      "Print the arguments that attach every guest LUN of CONFIG to a VMM through\n"
	      "its stable path /run/blkxlate/<controller>/lun<L> (or ide<C>-<L>), at its\n"
	      "controller and location, with its identity.  Only the settings are read:\n"
	      "the backings need not be present.\n"
	      "\n"
	      "QEMU, ids in settings order:\n"
	      "  SCSI  -device virtio-scsi-pci,id=blkx-scsiN; LUN L: scsi-hd (scsi-cd for\n"
	      "        is_dvd) id blkx-scsiN-lunL, bus blkx-scsiN.0, channel 0, scsi-id 0,\n"
	      "        lun L, serial, vendor, product, ver, device_id, wwn, rotation_rate\n"
	      "  NVMe  -device nvme,id=blkx-nvmeN,serial=S; nsid L: nvme-ns id blkx-nvmeN-nsL,\n"
	      "        nsid L, uuid = device_id\n"
	      "  IDE   ide-hd (ide-cd) id blkx-ide<C>-<L> on the machine's bus ide.C, unit L:\n"
	      "        needs -machine pc (i440fx's PIIX IDE)\n"
	      "  each disk a -blockdev node <id>-blk with cache.direct=on.\n"
	      "  wwn: NAA 3 (locally assigned), 0x3 then the low 60 bits of device_id's\n"
	      "  first 8 bytes XOR its last 8 (GUID bytes in text order, big endian).\n"
	      "  S: the controller instance_id's first and last groups (8 + 12 hex digits).\n"
	      "cloud-hypervisor: one --disk with a path=...,direct=on,serial=,id= per LUN\n"
	      "(virtio-blk); the notes say what it cannot express.\n"
	      "\n"
	      "Sector sizes are known once the disks are served: while the daemon of\n"
	      "--instance runs, logical/physical_block_size, read-only, write cache and\n"
	      "FUA come from its devices' sysfs.  Otherwise only physical_sector_size\n"
	      "from the settings is passed, and QEMU presents 512-byte logical sectors\n"
	      "(it asks the host device only for DASD): run vmm-args after 'blkxlate up'.\n"
	      "\n"
	      "Output: shell words, an option and its value a line, continued with '\\',\n"
	      "then comments and notes as '#' lines: it pastes after a VMM command line\n"
	      "and reads back with: eval \"set -- $(blkxlate vmm-args ...)\"\n"
	      "\n"
	      "  -m, --vmm VMM           qemu or cloud-hypervisor (required)\n"
	      "  -j, --json              {\"vmm\", \"args\": [argv strings], \"notes\", \"disks\"}\n"
	      "  -p, --path-template T   disk paths from T, not the stable links: %c the\n"
	      "                          controller GUID, %l the location, %h the IDE\n"
	      "                          channel (0 otherwise), %% a '%'\n"
	      "      --driver DRIVER     QEMU blockdev driver: host_device (default) or\n"
	      "                          file (for regular files)\n"
	      "      --aio MODE          QEMU aio: native (default), io_uring or threads\n"
	      "  -i, --instance NAME     the daemon to ask for sector sizes (default\n"
	      "                          'default')\n"
	      "      --sysfs-root DIR    read the served devices' sysfs from DIR\n"
	      "  -h, --help              this text\n"
	      "\n"
	      "Exit status: 0 ok, 1 failed, 2 bad usage, 3 invalid settings.\n",
	      f);
}

/* --- the command -------------------------------------------------------- */

enum { OPT_DRIVER = 256, OPT_AIO };

/* The options of vmm-args that no other command has (cli_common.own). */
static int vmm_own_opt(int c, void *ctx)
{
	struct vmm_opts *o = ctx;
	static const char *const drivers[] = {"host_device", "file", NULL};
	static const char *const aios[] = {"native", "io_uring", "threads",
					   NULL};

	switch (c) {
	case 'm':
		if (!strcmp(optarg, "qemu")) {
			o->vmm = VMM_QEMU;
		} else if (!strcmp(optarg, "cloud-hypervisor") ||
			   !strcmp(optarg, "ch")) {
			o->vmm = VMM_CLOUD_HYPERVISOR;
		} else {
			cli_error("--vmm: '%s' is not qemu or cloud-hypervisor",
				  optarg);
			return -CLI_USAGE;
		}
		o->has_vmm = true;
		break;
	case 'p':
		if (vmm_check_template(optarg))
			return -CLI_USAGE;
		o->path_template = optarg;
		break;
	case OPT_DRIVER:
		if (cli_parse_choice("--driver", optarg, drivers, &o->driver))
			return -CLI_USAGE;
		break;
	case OPT_AIO:
		if (cli_parse_choice("--aio", optarg, aios, &o->aio))
			return -CLI_USAGE;
		break;
	default:
		return 1;
	}
	return 0;
}

static int parse_vmm_opts(int argc, char **argv, struct vmm_opts *o)
{
	static const struct option longopts[] = {
		{"vmm", required_argument, NULL, 'm'},
		CLI_OPT_JSON,
		{"path-template", required_argument, NULL, 'p'},
		{"driver", required_argument, NULL, OPT_DRIVER},
		{"aio", required_argument, NULL, OPT_AIO},
		CLI_OPT_INSTANCE,
		CLI_OPT_SYSFS,
		CLI_OPT_HELP,
		CLI_OPT_END,
	};
	struct cli_common co = {.instance = &o->instance,
				.json = &o->json,
				.rc = &o->rc,
				.own = vmm_own_opt,
				.ctx = o,
				.usage = usage_vmm};
	int ret;

	memset(o, 0, sizeof(*o));
	o->driver = "host_device";
	o->aio = "native";
	o->instance = MAPS_DEFAULT_INSTANCE;
	resolve_ctx_default(&o->rc);
	ret = cli_getopt(argc, argv, "m:jp:i:h", longopts, &co);
	if (ret)
		return ret;
	if (!o->has_vmm) {
		cli_error("vmm-args: --vmm qemu|cloud-hypervisor is required");
		usage_vmm(stderr);
		return -CLI_USAGE;
	}
	if (optind != argc - 1) {
		cli_error(
			"vmm-args: expected exactly one CONFIG file argument");
		usage_vmm(stderr);
		return -CLI_USAGE;
	}
	if (maps_instance_dir(o->instance, (char[PATH_MAX]){0}, PATH_MAX)) {
		cli_error(
			"--instance: invalid name '%s' (1-32 of [A-Za-z0-9_-])",
			o->instance);
		return -CLI_USAGE;
	}
	o->config = argv[optind];
	return 0;
}

int cli_vmm_args(int argc, char **argv)
{
	struct settings s = {0};
	struct vmm_ctx c = {0};
	struct vmm_opts o;
	char header[PATH_MAX + 96];
	int ret;

	ret = parse_vmm_opts(argc, argv, &o);
	if (ret)
		return ret > 0 ? CLI_OK : -ret;
	ret = cli_read_config(o.config, o.json, NULL, &s, NULL);
	if (ret)
		return ret;
	c.o = &o;
	if (o.json) {
		c.disks = json_object_new_array();
		if (!c.disks) {
			cli_error("vmm-args: out of memory");
			settings_fini(&s);
			return CLI_FAILED;
		}
	}
	vmm_state_load(&c);
	ret = o.vmm == VMM_QEMU ? qemu_build(&c, &s) : ch_build(&c, &s);
	if (!ret && c.err) {
		ret = c.err;
		cli_error("vmm-args: %s", strerror(-ret));
	}
	if (!ret) {
		snprintf(header, sizeof(header),
			 "blkxlate vmm-args --vmm %s: %zu disk(s) of %s",
			 o.vmm == VMM_QEMU ? "qemu" : "cloud-hypervisor",
			 c.nr_luns, o.config);
		ret = o.json ? vmm_print_json(&c) : vmm_print_text(&c, header);
		if (ret)
			cli_error("vmm-args: writing the output: %s",
				  strerror(-ret));
	}
	vmm_ctx_fini(&c);
	settings_fini(&s);
	return ret ? CLI_FAILED : CLI_OK;
}
