// SPDX-License-Identifier: MIT
/* cli/daemon: `daemon`, `up`, `down` — starting and stopping the daemon. */
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
#include "daemon/instance.h"
#include "daemon/lun.h"
#include "daemon/leftover.h"
#include "pins/maps.h"
#include "daemon/state.h"

#define UP_TIMEOUT_S   300
#define DOWN_TIMEOUT_S 120

enum {
	OPT_QUEUES = 256,
	OPT_DEPTH,
	OPT_CONFIG,
	OPT_DATAPLANE,
	OPT_NO_TRACING,
	OPT_NO_RECOVERY,
	OPT_RECOVER,
	OPT_WHILE_DOWN
};

static void usage_serve(FILE *f, const char *cmd)
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
		"      --while-down MODE what the disks do while no daemon serves them (it\n"
		"                        died, the next one has not taken over): wait\n"
		"                        (default: their I/O queues, a sync blocks) or fail\n"
		"                        (their I/O fails at once: UBLK_F_USER_RECOVERY_FAIL_IO,\n"
		"                        where the kernel has it); the next daemon still\n"
		"                        recovers them\n"
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

static void usage_daemon(FILE *f)
{
	usage_serve(f, "daemon");
}

static void usage_up(FILE *f)
{
	usage_serve(f, "up");
}

/* The options of daemon and up that no other command has (cli_common.own). */
static int daemon_own_opt(int c, void *ctx)
{
	struct daemon_opts *o = ctx;
	static const char *const dataplanes[] = {"auto", "bpf", "user", NULL};
	static const char *const while_down[] = {"wait", "fail", NULL};
	const char *mode;

	switch (c) {
	case 'q':
		if (cli_parse_count("--queues", optarg, BLKX_MAX_QUEUES,
				    &o->nr_queues))
			return -CLI_USAGE;
		break;
	case 'd':
		if (cli_parse_count("--depth", optarg, BLKX_MAX_QUEUE_DEPTH,
				    &o->depth))
			return -CLI_USAGE;
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
	case OPT_WHILE_DOWN:
		if (cli_parse_choice("--while-down", optarg, while_down, &mode))
			return -CLI_USAGE;
		o->fail_io_while_down = !strcmp(mode, "fail");
		break;
	case OPT_DATAPLANE:
		if (cli_parse_choice("--dataplane", optarg, dataplanes,
				     &o->dataplane))
			return -CLI_USAGE;
		break;
	default:
		return 1;
	}
	return 0;
}

static int parse_daemon_opts(int argc, char **argv, struct daemon_opts *o)
{
	static const struct option longopts[] = {
		CLI_OPT_INSTANCE,
		{"queues", required_argument, NULL, 'q'},
		{"depth", required_argument, NULL, 'd'},
		{"config", required_argument, NULL, OPT_CONFIG},
		{"dataplane", required_argument, NULL, OPT_DATAPLANE},
		{"no-tracing", no_argument, NULL, OPT_NO_TRACING},
		{"no-recovery", no_argument, NULL, OPT_NO_RECOVERY},
		{"recover", no_argument, NULL, OPT_RECOVER},
		{"while-down", required_argument, NULL, OPT_WHILE_DOWN},
		CLI_OPT_SYSFS,
		CLI_OPT_HELP,
		CLI_OPT_END,
	};
	struct cli_common co = {.instance = &o->instance,
				.rc = &o->rc,
				.own = daemon_own_opt,
				.ctx = o,
				.usage = strcmp(argv[0], "up") ? usage_daemon
							       : usage_up};
	int ret;

	memset(o, 0, sizeof(*o));
	o->instance = MAPS_DEFAULT_INSTANCE;
	o->ready_fd = -1;
	resolve_ctx_default(&o->rc);
	ret = cli_getopt(argc, argv, "i:q:d:h", longopts, &co);
	if (ret)
		return ret;
	if (!o->config && optind == argc - 1)
		o->config = argv[optind++];
	if (!o->config || optind != argc) {
		cli_error("%s: expected one CONFIG file", argv[0]);
		co.usage(stderr);
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

/*
 * With the instance lock held (no daemon runs): remove whatever the
 * instance still has -- the devices that carry its mark, whether or not a
 * state file names them, its links, pins and state file.  Says what went.
 */
static int sweep(const char *instance, const char *why, bool quiet_if_none)
{
	char pin[PATH_MAX], list[1024] = "";
	struct ublk_ctrl ctrl;
	struct state st;
	bool have_ctrl, have_st, have_pins;
	int n;

	have_st = state_read(instance, &st) == 0;
	have_pins = !maps_instance_dir(instance, pin, sizeof(pin)) &&
		    !access(pin, F_OK);
	have_ctrl = ublk_ctrl_open(&ctrl) == 0;
	n = leftover_discard(instance, have_st ? &st : NULL,
			     have_ctrl ? &ctrl : NULL, list, sizeof(list));
	if (have_ctrl)
		ublk_ctrl_close(&ctrl);
	if (!have_st && !have_pins && !n) {
		if (!quiet_if_none) {
			cli_error("down: instance '%s' is not running",
				  instance);
			return CLI_FAILED;
		}
	} else if (why) {
		printf("%s; discarded %d leftover device(s)%s%s, its pins and links\n",
		       why, n, n ? ": " : "", list);
	} else if (n) {
		printf("instance '%s': removed %d device(s) its daemon left: %s\n",
		       instance, n, list);
	}
	state_fini(&st);
	return CLI_OK;
}

/* `down` when no daemon runs: what one that died left goes. */
static int discard_leftovers(const char *instance)
{
	char why[160];
	struct state st;
	int holder, fd, ret;

	fd = instance_lock_wait(instance, 10 * 1000, &holder);
	if (fd < 0) {
		cli_error(
			"down: instance '%s' is busy: pid %d holds its lock (another blkxlate command)",
			instance, holder);
		return CLI_FAILED;
	}
	if (state_read(instance, &st) == 0)
		snprintf(why, sizeof(why),
			 "instance '%s' was not running (pid %d died)",
			 instance, st.pid);
	else
		snprintf(
			why, sizeof(why),
			"instance '%s' was not running (no readable state file)",
			instance);
	state_fini(&st);
	ret = sweep(instance, why, false);
	instance_unlock(fd);
	return ret;
}

int cli_down(int argc, char **argv)
{
	const char *instance;
	int ret, pid, fd, holder;

	ret = cli_parse_instance(
		argc, argv,
		"Stop the instance's daemon: every ublk device is stopped and deleted,\nand its links, pins and state removed.  With no daemon running, remove\nwhat one left (every device that carries the instance's mark).",
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
	/* the lock is free once the daemon has exited */
	fd = instance_lock_wait(instance, DOWN_TIMEOUT_S * 1000, &holder);
	if (fd < 0) {
		cli_error("down: pid %d did not stop within %d s", pid,
			  DOWN_TIMEOUT_S);
		return CLI_FAILED;
	}
	ret = sweep(instance, NULL, true);
	instance_unlock(fd);
	if (ret == CLI_OK)
		printf("instance '%s' stopped\n", instance);
	return ret;
}
