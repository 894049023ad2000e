// SPDX-License-Identifier: MIT
/* cli/running: `status` and `reload` — asking a running daemon. */
#include <bpf/bpf.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <json-c/json.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/json.h"
#include "cli/cli.h"
#include "daemon/control.h"
#include "daemon/daemon.h"
#include "daemon/lun.h"
#include "daemon/leftover.h"
#include "pins/maps.h"
#include "daemon/state.h"

static struct json_object *jget(struct json_object *o, const char *k)
{
	struct json_object *v = NULL;

	json_object_object_get_ex(o, k, &v);
	return v;
}

static const char *jstr(struct json_object *o, const char *k)
{
	struct json_object *v = jget(o, k);

	return v ? json_object_get_string(v) : "";
}

/* Add live state and the LUN's counters to sd's entry e of the state. */
/* The members of sd the daemon marked failed (BLKX_MEMBER_FAILED in the
 * members map), as a JSON array of their paths, or NULL when none. */
static struct json_object *failed_members(const struct maps *m,
					  const struct state_disk *sd)
{
	struct json_object *arr = NULL;
	struct blkx_disk geo;
	__u32 di = sd->disk;

	if (!m || bpf_map_lookup_elem(m->disks_fd, &di, &geo))
		return NULL;
	for (size_t j = 0; j < sd->nr_members && j < geo.nr_members; j++) {
		struct blkx_member mem;
		__u32 mi = geo.first_member + (__u32)j;

		if (bpf_map_lookup_elem(m->members_fd, &mi, &mem) ||
		    !(mem.flags & BLKX_MEMBER_FAILED))
			continue;
		if (!arr)
			arr = json_object_new_array();
		json_object_array_add(arr,
				      json_object_new_string(sd->members[j]));
	}
	return arr;
}

static void add_live(struct json_object *e, const struct state_disk *sd,
		     const struct maps *m, bool alive)
{
	struct json_object *failed = failed_members(m, sd);
	int stats_fd = m ? m->lun_stats_fd : -1;
	struct blkx_io_stats st = {0};
	struct json_object *so = json_object_new_object();
	__u32 disk = sd->disk;
	char sys[96];
	const char *dev = sd->device;
	bool present;

	snprintf(sys, sizeof(sys), "/sys/block/%s",
		 strrchr(dev, '/') ? strrchr(dev, '/') + 1 : dev);
	present = !access(sys, F_OK);
	/* a dead daemon's recoverable disk queues its I/O until one comes */
	if (failed)
		json_object_object_add(e, "failed_members", failed);
	json_add_str(e, "state",
		     alive && present && failed		    ? "FAILED"
		     : alive && present			    ? "live"
		     : present && sd->phase != STATE_ADDING ? "waiting"
		     : present				    ? "orphaned"
							    : "gone");
	if (stats_fd >= 0)
		bpf_map_lookup_elem(stats_fd, &disk, &st);
	json_add_int(so, "reads", st.reads);
	json_add_int(so, "writes", st.writes);
	json_add_int(so, "read_bytes", st.read_sectors << BLKX_SECTOR_SHIFT);
	json_add_int(so, "write_bytes", st.write_sectors << BLKX_SECTOR_SHIFT);
	json_add_int(so, "flushes", st.flushes);
	json_add_int(so, "fua_writes", st.fua_writes);
	json_add_int(so, "discards", st.discards);
	json_add_int(so, "errors", st.errors);
	json_object_object_add(e, "stats", so);
}

static bool member_failed(struct json_object *e, const char *name)
{
	struct json_object *f = jget(e, "failed_members");

	for (size_t i = 0; f && i < json_object_array_length(f); i++)
		if (!strcmp(json_object_get_string(
				    json_object_array_get_idx(f, i)),
			    name))
			return true;
	return false;
}

static void print_status(struct json_object *st, const char *instance)
{
	struct json_object *disks = jget(st, "disks");
	size_t n = disks ? json_object_array_length(disks) : 0;

	printf("instance '%s': pid %s, data path %s (%s)\n", instance,
	       jstr(st, "pid"), jstr(st, "dataplane"),
	       jstr(st, "dataplane_reason"));
	if (!json_object_get_boolean(jget(st, "running"))) {
		time_t t = (time_t)json_object_get_int64(
			jget(st, "waiting_since"));
		char when[64];

		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S %Z",
			 localtime(&t));
		printf("NOT RUNNING: pid %s died; disks in state 'waiting' wait for recovery (since %s at the latest, the state file's last write): their I/O queues until 'blkxlate up' takes them over; 'blkxlate down' discards them\n",
		       jstr(st, "pid"), when);
	}
	printf("%-36s %-5s %-4s %-14s %-8s %-8s %s\n", "CONTROLLER", "PROTO",
	       "LOC", "DEVICE", "STATE", "IO", "MEMBERS");
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(disks, i);
		struct json_object *mem = jget(e, "members");
		struct json_object *so = jget(e, "stats");
		char io[32];

		snprintf(io, sizeof(io), "%lldr/%lldw",
			 (long long)json_object_get_int64(jget(so, "reads")),
			 (long long)json_object_get_int64(jget(so, "writes")));
		printf("%-36s %-5s %-4s %-14s %-8s %-8s ",
		       jstr(e, "controller"), jstr(e, "protocol"),
		       jstr(e, "location"), jstr(e, "device"), jstr(e, "state"),
		       io);
		for (size_t m = 0; mem && m < json_object_array_length(mem);
		     m++) {
			const char *name = json_object_get_string(
				json_object_array_get_idx(mem, m));

			printf("%s%s%s", m ? ", " : "", name,
			       member_failed(e, name) ? " (FAILED: see the log)"
						      : "");
		}
		printf("\n%-36s %-5s %-4s -> %s\n", "", "", "",
		       jstr(e, "link"));
	}
}

int cli_status(int argc, char **argv)
{
	struct json_object *st, *disks;
	struct state state;
	const char *instance;
	bool json = false, alive, have_maps;
	struct maps m;
	char err[512];
	int ret;

	ret = cli_parse_instance(
		argc, argv,
		"Show what the instance serves: controller, protocol, location -> ublk\ndevice -> members, the data path, each disk's state and I/O counts.",
		&instance, &json);
	if (ret)
		return ret > 0 ? CLI_OK : -ret;
	if (state_read(instance, &state)) {
		if (json)
			printf("{\"instance\":\"%s\",\"running\":false}\n",
			       instance);
		else
			cli_error("status: instance '%s' is not running",
				  instance);
		return CLI_FAILED;
	}
	alive = state_daemon_alive(instance, &state);
	st = state_json(&state);
	have_maps = !maps_open(instance, &m, err, sizeof(err));
	disks = jget(st, "disks");
	for (size_t i = 0; i < state.nr_disks; i++)
		add_live(json_object_array_get_idx(disks, i), &state.disks[i],
			 have_maps ? &m : NULL, alive);
	state_fini(&state);
	if (have_maps)
		maps_close(&m);
	json_add_bool(st, "running", alive);
	if (!alive) {
		char path[PATH_MAX];
		struct stat sb;

		if (!state_path(instance, "state", path, sizeof(path)) &&
		    !stat(path, &sb))
			json_add_int(st, "waiting_since", sb.st_mtime);
	}
	if (json)
		cli_print_json(json_object_get(st));
	else
		print_status(st, instance);
	json_object_put(st);
	return alive ? CLI_OK : CLI_FAILED;
}

static void usage_reload(FILE *f)
{
	fprintf(f,
		"Usage: blkxlate reload [--instance NAME] [--json] [CONFIG]\n"
		"\n"
		"Apply CONFIG (default: the settings the daemon serves now, re-read) to the\n"
		"running daemon, in two phases: acquire everything the added LUNs need,\n"
		"then start them and remove the dropped ones.  Invalid settings, a changed\n"
		"LUN, or an added or removed controller change nothing.  SIGHUP to the\n"
		"daemon does the same with its current settings file.\n"
		"\n"
		"  -i, --instance NAME   instance (default 'default')\n"
		"  -j, --json            print the daemon's JSON answer\n"
		"  -h, --help            this text\n"
		"\n"
		"Exit status: 0 applied, 3 refused (invalid or not allowed), 1 failed.\n");
}

static void print_luns(const char *what, struct json_object *arr)
{
	size_t n = arr ? json_object_array_length(arr) : 0;

	printf("  %s: %zu", what, n);
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(arr, i);

		printf("%s%s:%s %s", i ? ", " : " (", jstr(e, "controller"),
		       jstr(e, "location"), jstr(e, "device"));
	}
	printf("%s\n", n ? ")" : "");
}

int cli_reload(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_OPT_INSTANCE,
		CLI_OPT_JSON,
		CLI_OPT_HELP,
		CLI_OPT_END,
	};
	const char *instance = MAPS_DEFAULT_INSTANCE;
	struct json_object *reply, *v;
	char line[PATH_MAX + 16], abs[PATH_MAX];
	bool json = false;
	struct cli_common co = {
		.instance = &instance, .json = &json, .usage = usage_reload};
	int ret;

	ret = cli_getopt(argc, argv, "i:jh", longopts, &co);
	if (ret)
		return ret > 0 ? CLI_OK : -ret;
	if (argc - optind > 1) {
		cli_error("reload: at most one CONFIG");
		return CLI_USAGE;
	}
	if (optind < argc) {
		if (!realpath(argv[optind], abs)) {
			cli_error("reload: %s: %s", argv[optind],
				  strerror(errno));
			return CLI_BAD_SETTINGS;
		}
		snprintf(line, sizeof(line), "reload %s", abs);
	} else {
		snprintf(line, sizeof(line), "reload");
	}
	reply = control_request(instance, line, 600);
	if (!reply) {
		cli_error(
			"reload: cannot reach the daemon of instance '%s' (%s); is it running?",
			instance, strerror(errno));
		return CLI_FAILED;
	}
	if (json) {
		cli_print_json(json_object_get(reply));
	} else if (json_object_object_get_ex(reply, "ok", &v) &&
		   json_object_get_boolean(v)) {
		printf("reloaded %s\n", jstr(reply, "config"));
		print_luns("added", jget(reply, "added"));
		print_luns("removed", jget(reply, "removed"));
		printf("  kept: %s\n", jstr(reply, "kept"));
	} else {
		struct json_object *e = jget(reply, "error");

		cli_error("reload refused: %s: %s [%s]", jstr(e, "path"),
			  jstr(e, "message"), jstr(e, "error_id"));
	}
	ret = json_object_object_get_ex(reply, "ok", &v) &&
			      json_object_get_boolean(v)
		      ? CLI_OK
	      : !strncmp(jstr(jget(reply, "error"), "error_id"),
			 "Configuration.", 14)
		      ? CLI_BAD_SETTINGS
		      : CLI_FAILED;
	json_object_put(reply);
	return ret;
}
