// SPDX-License-Identifier: MIT
/* cli_daemon: `daemon`, `up`, `down`, `status` — serving the disks. */
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

#include "cli/cli.h"
#include "daemon/control.h"
#include "daemon/daemon.h"
#include "daemon/lun.h"
#include "daemon/leftover.h"
#include "pins/maps.h"
#include "daemon/state.h"

#define UP_TIMEOUT_S   300
#define DOWN_TIMEOUT_S 120

enum {
	OPT_QUEUES = 256,
	OPT_DEPTH,
	OPT_SYSFS_ROOT,
	OPT_CONFIG,
	OPT_DATAPLANE,
	OPT_NO_TRACING,
	OPT_NO_RECOVERY,
	OPT_RECOVER
};

static void usage_daemon(FILE *f, const char *cmd)
{
	fprintf(f,
		"Usage: blkxlate %s [OPTIONS] CONFIG\n"
		"\n"
		"%s\n"
		"  -i, --instance NAME   instance name (default 'default')\n"
		"  -q, --queues N        ublk queues per disk (default: one per CPU, max %d)\n"
		"  -d, --depth N         queue depth (default: the controller's io_queue_depth,\n"
		"                        else %d)\n"
		"      --dataplane MODE  auto (default): the in-kernel BPF loop where the\n"
		"                        kernel has it, else userspace; bpf: insist; user\n"
		"      --no-recovery     make devices that fail their I/O and go away when\n"
		"                        the daemon dies (default: they wait for the next\n"
		"                        daemon, which recovers them)\n"
		"      --recover         insist on recovering the devices a killed daemon\n"
		"                        of this instance left (default: recover when the\n"
		"                        settings match, else discard)\n"
		"      --no-tracing      don't attach the block I/O tracing programs\n"
		"                        (blkxlate stats/trace then have nothing to show)\n"
		"      --sysfs-root DIR  read sysfs from DIR\n"
		"  -h, --help            this text\n",
		cmd,
		strcmp(cmd, "up")
			? "Serve every guest LUN of CONFIG as a ublk block device, in the foreground,\nuntil SIGTERM or SIGINT; then remove every device, pin and link.\n"
			: "Start the daemon detached (log in /run/blkxlate/NAME.log), wait until\nevery disk is served or the daemon failed, and say which.\n",
		BLKX_MAX_QUEUES, LUN_DEFAULT_DEPTH);
}

static int parse_daemon_opts(int argc, char **argv, struct daemon_opts *o)
{
	static const struct option longopts[] = {
		{"instance", required_argument, NULL, 'i'},
		{"queues", required_argument, NULL, 'q'},
		{"depth", required_argument, NULL, 'd'},
		{"config", required_argument, NULL, OPT_CONFIG},
		{"dataplane", required_argument, NULL, OPT_DATAPLANE},
		{"no-tracing", no_argument, NULL, OPT_NO_TRACING},
		{"no-recovery", no_argument, NULL, OPT_NO_RECOVERY},
		{"recover", no_argument, NULL, OPT_RECOVER},
		{"sysfs-root", required_argument, NULL, OPT_SYSFS_ROOT},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	unsigned long long v;
	int c;

	memset(o, 0, sizeof(*o));
	o->instance = MAPS_DEFAULT_INSTANCE;
	o->ready_fd = -1;
	resolve_ctx_default(&o->rc);
	optind = 1;
	while ((c = getopt_long(argc, argv, "i:q:d:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'i':
			o->instance = optarg;
			break;
		case 'q':
			if (cli_parse_u64("--queues", optarg, BLKX_MAX_QUEUES,
					  &v) ||
			    !v) {
				cli_error("--queues: must be 1..%d",
					  BLKX_MAX_QUEUES);
				return -CLI_USAGE;
			}
			o->nr_queues = (unsigned int)v;
			break;
		case 'd':
			if (cli_parse_u64("--depth", optarg,
					  BLKX_MAX_QUEUE_DEPTH, &v) ||
			    !v) {
				cli_error("--depth: must be 1..%d",
					  BLKX_MAX_QUEUE_DEPTH);
				return -CLI_USAGE;
			}
			o->depth = (unsigned int)v;
			break;
		case OPT_CONFIG:
			o->config = optarg;
			break;
		case OPT_NO_TRACING:
			o->no_tracing = true;
			break;
		case OPT_NO_RECOVERY:
			o->no_recovery = true;
			break;
		case OPT_RECOVER:
			o->recover = true;
			break;
		case OPT_DATAPLANE:
			if (strcmp(optarg, "auto") && strcmp(optarg, "bpf") &&
			    strcmp(optarg, "user")) {
				cli_error(
					"--dataplane: '%s' is not auto, bpf or user",
					optarg);
				return -CLI_USAGE;
			}
			o->dataplane = optarg;
			break;
		case OPT_SYSFS_ROOT:
			o->rc.sysfs_root = optarg;
			break;
		case 'h':
			usage_daemon(stdout, argv[0]);
			return 1;
		default:
			usage_daemon(stderr, argv[0]);
			return -CLI_USAGE;
		}
	}
	if (!o->config && optind == argc - 1)
		o->config = argv[optind++];
	if (!o->config || optind != argc) {
		cli_error("%s: expected one CONFIG file", argv[0]);
		usage_daemon(stderr, argv[0]);
		return -CLI_USAGE;
	}
	if (maps_instance_dir(o->instance, (char[PATH_MAX]){0}, PATH_MAX)) {
		cli_error(
			"--instance: invalid name '%s' (1-32 of [A-Za-z0-9_-])",
			o->instance);
		return -CLI_USAGE;
	}
	return 0;
}

/* The daemon's result as an exit status: settings or backings that cannot
 * be served are 3, anything else 1. */
static int daemon_exit(int ret, const struct error_obj *err)
{
	if (!ret)
		return CLI_OK;
	return cli_exit_of(err);
}

int cli_daemon(int argc, char **argv)
{
	struct error_obj err = {0};
	struct daemon_opts o;
	int ret, pid;

	ret = parse_daemon_opts(argc, argv, &o);
	if (ret)
		return ret > 0 ? CLI_OK : -ret;
	pid = state_running_pid(o.instance);
	if (pid) {
		cli_error("instance '%s' is already running (pid %d)",
			  o.instance, pid);
		return CLI_FAILED;
	}
	return daemon_exit(daemon_run(&o, &err), &err);
}

int cli_up(int argc, char **argv)
{
	struct error_obj err = {0};
	struct daemon_opts o;
	char logpath[PATH_MAX], msg[1200];
	int pfd[2], ret, pid;

	ret = parse_daemon_opts(argc, argv, &o);
	if (ret)
		return ret > 0 ? CLI_OK : -ret;
	pid = state_running_pid(o.instance);
	if (pid) {
		cli_error("instance '%s' is already running (pid %d)",
			  o.instance, pid);
		return CLI_FAILED;
	}
	if (state_path(o.instance, "log", logpath, sizeof(logpath)) ||
	    (mkdir(state_run_dir(), 0755) && errno != EEXIST)) {
		cli_error("cannot create %s: %s", state_run_dir(),
			  strerror(errno));
		return CLI_FAILED;
	}
	if (pipe2(pfd, O_CLOEXEC)) {
		cli_error("pipe: %s", strerror(errno));
		return CLI_FAILED;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		cli_error("fork: %s", strerror(errno));
		return CLI_FAILED;
	}
	if (pid == 0) {
		int logfd =
			open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
			     0600);
		int nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);

		close(pfd[0]);
		setsid();
		if (nullfd >= 0)
			dup2(nullfd, 0);
		if (logfd >= 0) {
			dup2(logfd, 1);
			dup2(logfd, 2);
		}
		o.ready_fd = pfd[1];
		_exit(daemon_exit(daemon_run(&o, &err), &err));
	}
	close(pfd[1]);
	/* the daemon's readiness line: "OK n" or "ERR why" ("" on exit) */
	if (control_read_line(pfd[0], msg, sizeof(msg), UP_TIMEOUT_S * 1000))
		msg[0] = '\0';
	close(pfd[0]);
	if (!strncmp(msg, "OK", 2)) {
		printf("instance '%s' up: %d disk(s) served by pid %d; log %s\n",
		       o.instance, atoi(msg + 3), pid, logpath);
		return CLI_OK;
	}
	if (!strncmp(msg, "ERR ", 4)) {
		msg[strcspn(msg, "\n")] = '\0';
		cli_error("up: %s (log: %s)", msg + 4, logpath);
		return strstr(msg, "[Configuration.") ? CLI_BAD_SETTINGS
						      : CLI_FAILED;
	}
	cli_error(
		"up: the daemon (pid %d) exited or hung without saying why; see %s",
		pid, logpath);
	kill(pid, SIGTERM);
	return CLI_FAILED;
}

static void usage_simple(FILE *f, const char *cmd, const char *what)
{
	fprintf(f,
		"Usage: blkxlate %s [--instance NAME]%s\n"
		"\n"
		"%s\n"
		"\n"
		"  -i, --instance NAME   instance name (default 'default')\n"
		"%s  -h, --help            this text\n",
		cmd, strcmp(cmd, "status") ? "" : " [--json]", what,
		strcmp(cmd, "status")
			? ""
			: "  -j, --json            JSON output\n");
}

static int parse_simple(int argc, char **argv, const char *what,
			const char **instance, bool *json)
{
	static const struct option longopts[] = {
		{"instance", required_argument, NULL, 'i'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	*instance = MAPS_DEFAULT_INSTANCE;
	optind = 1;
	while ((c = getopt_long(argc, argv, json ? "i:jh" : "i:h", longopts,
				NULL)) != -1) {
		switch (c) {
		case 'i':
			*instance = optarg;
			break;
		case 'j':
			if (!json)
				goto bad;
			*json = true;
			break;
		case 'h':
			usage_simple(stdout, argv[0], what);
			return 1;
		default:
			goto bad;
		}
	}
	if (optind == argc)
		return 0;
	cli_error("%s: unexpected argument '%s'", argv[0], argv[optind]);
bad:
	usage_simple(stderr, argv[0], what);
	return -CLI_USAGE;
}

/* `down` of an instance whose daemon died: remove what it left. */
static int discard_leftovers(const char *instance)
{
	struct ublk_ctrl ctrl;
	struct state st;
	bool have_ctrl;
	int n;

	if (state_read(instance, &st)) {
		cli_error("down: instance '%s' is not running", instance);
		return CLI_FAILED;
	}
	have_ctrl = ublk_ctrl_open(&ctrl) == 0;
	n = leftover_discard(instance, &st, have_ctrl ? &ctrl : NULL);
	printf("instance '%s' was not running (pid %d died); discarded %d leftover device(s), its pins and links\n",
	       instance, st.pid, n);
	if (have_ctrl)
		ublk_ctrl_close(&ctrl);
	state_fini(&st);
	return CLI_OK;
}

int cli_down(int argc, char **argv)
{
	const char *instance;
	time_t end;
	int ret, pid;

	ret = parse_simple(
		argc, argv,
		"Stop the instance's daemon: every ublk device is stopped and deleted,\nand its links, pins and state removed.",
		&instance, NULL);
	if (ret)
		return ret > 0 ? CLI_OK : -ret;
	pid = state_running_pid(instance);
	if (!pid)
		return discard_leftovers(instance);
	if (kill(pid, SIGTERM)) {
		cli_error("down: cannot signal pid %d: %s", pid,
			  strerror(errno));
		return CLI_FAILED;
	}
	end = time(NULL) + DOWN_TIMEOUT_S;
	while (time(NULL) < end) {
		char path[64];
		struct stat st;

		snprintf(path, sizeof(path), "/proc/%d", pid);
		if (stat(path, &st) || !state_running_pid(instance)) {
			/* gone, or a zombie whose state file is removed */
			char pin[PATH_MAX];

			if (!maps_instance_dir(instance, pin, sizeof(pin)) &&
			    !access(pin, F_OK)) {
				usleep(100000);
				continue;
			}
			printf("instance '%s' stopped\n", instance);
			return CLI_OK;
		}
		usleep(100000);
	}
	cli_error("down: pid %d did not stop within %d s", pid, DOWN_TIMEOUT_S);
	return CLI_FAILED;
}

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

/* Add live state and the LUN's counters to a state-file disk entry. */
static void add_live(struct json_object *e, int stats_fd, bool alive)
{
	struct blkx_io_stats st = {0};
	struct json_object *so = json_object_new_object();
	__u32 disk = (__u32)json_object_get_int(jget(e, "disk"));
	char sys[96];
	const char *dev = jstr(e, "device");
	bool present;

	snprintf(sys, sizeof(sys), "/sys/block/%s",
		 strrchr(dev, '/') ? strrchr(dev, '/') + 1 : dev);
	present = !access(sys, F_OK);
	json_object_object_add(e, "state",
			       json_object_new_string(alive && present ? "live"
						      : present ? "orphaned"
								: "gone"));
	if (stats_fd >= 0)
		bpf_map_lookup_elem(stats_fd, &disk, &st);
	json_object_object_add(so, "reads",
			       json_object_new_int64((int64_t)st.reads));
	json_object_object_add(so, "writes",
			       json_object_new_int64((int64_t)st.writes));
	json_object_object_add(so, "read_bytes",
			       json_object_new_int64((int64_t)st.read_sectors
						     << BLKX_SECTOR_SHIFT));
	json_object_object_add(so, "write_bytes",
			       json_object_new_int64((int64_t)st.write_sectors
						     << BLKX_SECTOR_SHIFT));
	json_object_object_add(so, "flushes",
			       json_object_new_int64((int64_t)st.flushes));
	json_object_object_add(so, "fua_writes",
			       json_object_new_int64((int64_t)st.fua_writes));
	json_object_object_add(so, "discards",
			       json_object_new_int64((int64_t)st.discards));
	json_object_object_add(so, "errors",
			       json_object_new_int64((int64_t)st.errors));
	json_object_object_add(e, "stats", so);
}

static void print_status(struct json_object *st, const char *instance)
{
	struct json_object *disks = jget(st, "disks");
	size_t n = disks ? json_object_array_length(disks) : 0;

	printf("instance '%s': pid %s, data path %s (%s)\n", instance,
	       jstr(st, "pid"), jstr(st, "dataplane"),
	       jstr(st, "dataplane_reason"));
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
		     m++)
			printf("%s%s", m ? ", " : "",
			       json_object_get_string(
				       json_object_array_get_idx(mem, m)));
		printf("\n%-36s %-5s %-4s -> %s\n", "", "", "",
		       jstr(e, "link"));
	}
}

int cli_status(int argc, char **argv)
{
	struct json_object *st, *disks;
	struct state state;
	const char *instance;
	bool json = false, alive;
	struct maps m;
	char err[512];
	int ret, stats_fd = -1;

	ret = parse_simple(
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
	alive = state_pid_alive(state.pid);
	st = state_json(&state);
	state_fini(&state);
	if (!maps_open(instance, &m, err, sizeof(err)))
		stats_fd = m.lun_stats_fd;
	disks = jget(st, "disks");
	for (size_t i = 0; disks && i < json_object_array_length(disks); i++)
		add_live(json_object_array_get_idx(disks, i), stats_fd, alive);
	if (stats_fd >= 0)
		maps_close(&m);
	json_object_object_add(st, "running", json_object_new_boolean(alive));
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
		{"instance", required_argument, NULL, 'i'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *instance = MAPS_DEFAULT_INSTANCE;
	struct json_object *reply, *v;
	char line[PATH_MAX + 16], abs[PATH_MAX];
	bool json = false;
	int c, ret;

	optind = 1;
	while ((c = getopt_long(argc, argv, "i:jh", longopts, NULL)) != -1) {
		switch (c) {
		case 'i':
			instance = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			usage_reload(stdout);
			return CLI_OK;
		default:
			usage_reload(stderr);
			return CLI_USAGE;
		}
	}
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
