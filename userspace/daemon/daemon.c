// SPDX-License-Identifier: MIT
/*
 * daemon: bring-up is all or nothing.  Everything is resolved, checked and
 * pinned before the first ublk device exists; if any device fails to come
 * up, the ones already up are stopped and deleted again and the exit says
 * why.  Teardown runs in reverse on SIGTERM/SIGINT.  What a daemon that
 * was killed left behind is recovered (same settings, devices made for
 * recovery) or discarded first.
 */
#include "daemon/daemon.h"
#include "daemon/daemon_priv.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <stdarg.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "daemon/control.h"
#include "daemon/leftover.h"
#include "base/log.h"
#include "daemon/lun.h"
#include "pins/maps.h"
#include "plan/plan.h"
#include "dataplane/queue.h"
#include "config/settings.h"
#include "daemon/state.h"
#include "pins/trace.h"
#include "dataplane/ublk.h"

extern char **environ;

static void sigusr1_noop(int sig)
{
	(void)sig;
}

/* Report readiness (or the reason for failing) to `blkxlate up`. */
static void notify(const struct daemon_opts *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void notify(const struct daemon_opts *o, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	ssize_t n;

	if (o->ready_fd < 0)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	n = write(o->ready_fd, msg, strlen(msg));
	(void)n;
}

static int run_modprobe(const char *module)
{
	char *argv[] = {"modprobe", "-q", (char *)module, NULL};
	int status;
	pid_t pid;

	if (posix_spawnp(&pid, "modprobe", NULL, NULL, argv, environ))
		return -ENOENT;
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -ENODEV;
}

static int open_ublk(struct daemon *d)
{
	int ret;

	if (access(UBLK_CONTROL_PATH, F_OK))
		run_modprobe("ublk_drv");
	ret = ublk_ctrl_open(&d->ctrl);
	if (ret) {
		log_error(
			"ublk is not available: cannot open %s (%s); this kernel needs the ublk_drv module (CONFIG_BLK_DEV_UBLK)",
			UBLK_CONTROL_PATH, strerror(-ret));
		return ret;
	}
	d->ctrl_open = true;
	if (!(d->ctrl.features & UBLK_F_CMD_IOCTL_ENCODE)) {
		log_error(
			"this kernel's ublk lacks UBLK_F_CMD_IOCTL_ENCODE (features %#llx); blkxlate needs Linux 6.5 or later",
			(unsigned long long)d->ctrl.features);
		return -EOPNOTSUPP;
	}
	d->zero_copy = d->ctrl.features & UBLK_F_AUTO_BUF_REG;
	log_info("ublk features %#llx", (unsigned long long)d->ctrl.features);
	return 0;
}

static void *map_stats(int fd, size_t entries, size_t entry_size, size_t *len)
{
	long page = sysconf(_SC_PAGESIZE);
	void *p;

	*len = (entries * entry_size + (size_t)page - 1) & ~((size_t)page - 1);
	p = mmap(NULL, *len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	return p == MAP_FAILED ? NULL : p;
}

/* major:minor of /sys/block/NAME */
static int sysfs_devno(const char *name, unsigned int *maj, unsigned int *min)
{
	char path[96], buf[32];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "/sys/block/%s/dev", name);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	ok = fgets(buf, sizeof(buf), f) && sscanf(buf, "%u:%u", maj, min) == 2;
	fclose(f);
	return ok ? 0 : -EINVAL;
}

int daemon_trace_lun(struct daemon *d, const struct lun *l, bool add)
{
	const struct plan_disk *pd = l->pd;
	uint32_t idx = l->ld.disk_index;
	struct blkx_trace_dev td = {
		.target = idx, .kind = BLKX_TRACE_LUN, .disk = idx};
	unsigned int maj, min;
	int ret;

	if (!d->tracing)
		return 0;
	ret = sysfs_devno(l->bdev + strlen("/dev/"), &maj, &min);
	if (!ret)
		ret = add ? trace_add_dev(d->maps.trace_devs_fd, maj, min, &td)
			  : trace_del_dev(d->maps.trace_devs_fd, maj, min);
	for (size_t j = 0; !ret && j < pd->nr_members; j++) {
		const struct plan_member *pm = &pd->members[j];
		uint32_t mi = pd->geo.first_member + (uint32_t)j;

		if (pm->dev.is_file)
			continue; /* no block requests to see */
		td.target = d->slots.disks + mi;
		td.kind = BLKX_TRACE_MEMBER;
		td.member = mi;
		/* requests carry the whole disk, not a partition */
		ret = add ? trace_add_dev(d->maps.trace_devs_fd,
					  major(pm->dev.store_dev),
					  minor(pm->dev.store_dev), &td)
			  : trace_del_dev(d->maps.trace_devs_fd,
					  major(pm->dev.store_dev),
					  minor(pm->dev.store_dev));
		if (!ret && add && !strncmp(pm->dev.name, "nvme", 4))
			ret = trace_add_nvme(d->maps.trace_nvme_fd,
					     pm->dev.name, mi);
	}
	return ret;
}

static void start_tracing(struct daemon *d)
{
	char err[256] = "";
	int ret;

	ret = trace_start(&d->tracer, d->maps.dir, err, sizeof(err));
	if (!ret) {
		d->tracing = true;
		for (size_t i = 0; i < d->nr_luns && !ret; i++)
			ret = daemon_trace_lun(d, d->luns[i], true);
		if (ret)
			snprintf(err, sizeof(err), "registering devices: %s",
				 strerror(-ret));
	}
	if (ret) {
		/* the disks are served either way; say what is missing */
		log_warn("tracing is off: %s", err);
		if (d->tracing)
			trace_stop(&d->tracer);
		d->tracing = false;
		return;
	}
	log_info("tracing block I/O of %zu disk(s) and their members%s",
		 d->nr_luns,
		 !d->tracer.nvme	? ""
		 : d->tracer.nvme_setup ? " (and NVMe set-up and completions)"
					: " (and NVMe completions)");
}

static struct json_object *state_json(const struct daemon *d)
{
	struct json_object *o = json_object_new_object();
	struct json_object *arr = json_object_new_array();

	json_object_object_add(o, "instance",
			       json_object_new_string(d->o->instance));
	json_object_object_add(o, "pid", json_object_new_int(getpid()));
	json_object_object_add(o, "config", json_object_new_string(d->config));
	json_object_object_add(o, "started",
			       json_object_new_int64((int64_t)time(NULL)));
	json_object_object_add(o, "dataplane",
			       json_object_new_string(d->dp->name));
	json_object_object_add(o, "dataplane_reason",
			       json_object_new_string(d->dp_reason));
	json_object_object_add(o, "zero_copy",
			       json_object_new_boolean(d->zero_copy));
	json_object_object_add(o, "tracing",
			       json_object_new_boolean(d->tracing));
	json_object_object_add(o, "recovery",
			       json_object_new_boolean(d->env.recovery));
	json_object_object_add(
		o, "ublk_features",
		json_object_new_int64((int64_t)d->ctrl.features));
	for (size_t i = 0; i < d->nr_luns; i++) {
		const struct lun *sv = d->luns[i];
		const struct plan_disk *pd = sv->pd;
		struct json_object *e = json_object_new_object();
		struct json_object *mem = json_object_new_array();

		json_object_object_add(
			e, "controller",
			json_object_new_string(pd->key.controller));
		json_object_object_add(
			e, "protocol",
			json_object_new_string(
				settings_protocol_name(pd->ctrl->protocol)));
		json_object_object_add(e, "location",
				       json_object_new_int64(pd->key.location));
		json_object_object_add(e, "channel",
				       json_object_new_int64(pd->key.channel));
		json_object_object_add(
			e, "disk", json_object_new_int64(sv->ld.disk_index));
		json_object_object_add(
			e, "ublk_id",
			json_object_new_int64(sv->added ? (int64_t)sv->ld.dev_id
							: -1));
		json_object_object_add(e, "recovered",
				       json_object_new_boolean(sv->recovered));
		json_object_object_add(e, "device",
				       json_object_new_string(sv->bdev));
		json_object_object_add(e, "link",
				       json_object_new_string(sv->link));
		json_object_object_add(
			e, "size_bytes",
			json_object_new_int64((int64_t)pd->size_bytes));
		json_object_object_add(e, "queues",
				       json_object_new_int64(sv->ld.nr_queues));
		json_object_object_add(e, "depth",
				       json_object_new_int64(sv->ld.depth));
		for (size_t m = 0; m < pd->nr_members; m++)
			json_object_array_add(
				mem, json_object_new_string(
					     pd->members[m].dev.dev_path));
		json_object_object_add(e, "members", mem);
		json_object_array_add(arr, e);
	}
	json_object_object_add(o, "disks", arr);
	return o;
}

static void daemon_teardown(struct daemon *d)
{
	if (d->tracing)
		trace_stop(&d->tracer);
	d->tracing = false;
	for (size_t i = d->nr_luns; i-- > 0;) {
		lun_down(d->luns[i], &d->env);
		free(d->luns[i]);
	}
	free(d->luns);
	free(d->disk_used);
	free(d->member_used);
	d->disk_used = d->member_used = NULL;
	free(d->recover_ids);
	d->luns = NULL;
	d->recover_ids = NULL;
	if (d->lun_stats)
		munmap(d->lun_stats, d->lun_stats_len);
	if (d->member_stats)
		munmap(d->member_stats, d->member_stats_len);
	if (d->queue_stats)
		munmap(d->queue_stats, d->queue_stats_len);
	maps_close(&d->maps);
	if (d->maps_owned) {
		char err[512] = "";

		if (maps_destroy(d->o->instance, err, sizeof(err)))
			log_error("unpinning the maps: %s", err);
	}
	if (d->ctrl_open)
		ublk_ctrl_close(&d->ctrl);
	plan_fini(&d->plan);
	settings_fini(&d->s);
}

/*
 * The data path: the in-kernel BPF loop where the kernel can run it (io
 * uring BPF struct_ops, 7.1+, and zero copy through UBLK_F_AUTO_BUF_REG),
 * else the userspace loop.  "auto" falls back and says why; "bpf" fails.
 */
static int choose_dataplane(struct daemon *d)
{
	const char *want = d->o->dataplane ? d->o->dataplane : "auto";
	char why[256] = "";
	int ret = -EOPNOTSUPP;

	if (!strcmp(want, "user")) {
		d->dp = &ring_user_ops;
		snprintf(d->dp_reason, sizeof(d->dp_reason),
			 "userspace io_uring loop (--dataplane=user), %s",
			 d->zero_copy ? "zero copy (UBLK_F_AUTO_BUF_REG)"
				      : "copy mode");
		goto out;
	}
	if (!d->zero_copy)
		snprintf(why, sizeof(why),
			 "the kernel's ublk lacks UBLK_F_AUTO_BUF_REG");
	else
		ret = ring_bpf_probe(d->maps.dir, why, sizeof(why));
	if (!ret) {
		d->dp = &ring_bpf_ops;
		snprintf(
			d->dp_reason, sizeof(d->dp_reason),
			"in-kernel io_uring BPF loop (io_uring_bpf_ops), zero copy (UBLK_F_AUTO_BUF_REG)");
		goto out;
	}
	if (!strcmp(want, "bpf")) {
		snprintf(
			d->dp_reason, sizeof(d->dp_reason),
			"--dataplane=bpf, but the BPF data path cannot run here: %s",
			why);
		log_error("%s", d->dp_reason);
		return -EOPNOTSUPP;
	}
	d->dp = &ring_user_ops;
	snprintf(
		d->dp_reason, sizeof(d->dp_reason),
		"userspace io_uring loop, %s; no BPF data path: %s",
		d->zero_copy
			? "zero copy (UBLK_F_AUTO_BUF_REG)"
			: "copy mode (requests are copied through server buffers)",
		why);
out:
	log_info("data path: %s", d->dp_reason);
	return 0;
}

/* The pinned maps hold what this plan would program (same order). */
static int maps_match_plan(const struct maps *m, const struct plan *p)
{
	struct blkx_meta meta;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(m->meta_fd, &zero, &meta) ||
	    meta.nr_disks != p->nr_disks || meta.nr_members != p->nr_members)
		return -ESTALE;
	for (size_t i = 0; i < p->nr_disks; i++) {
		const struct plan_disk *pd = &p->disks[i];
		struct blkx_disk geo;
		__u32 di = (__u32)i;

		if (bpf_map_lookup_elem(m->disks_fd, &di, &geo) ||
		    memcmp(&geo, &pd->geo, sizeof(geo)))
			return -ESTALE;
		for (size_t j = 0; j < pd->nr_members; j++) {
			struct blkx_member mem;
			__u32 mi = pd->geo.first_member + (__u32)j;

			if (bpf_map_lookup_elem(m->members_fd, &mi, &mem) ||
			    memcmp(&mem, &pd->members[j].m, sizeof(mem)))
				return -ESTALE;
		}
	}
	return 0;
}

/* The crashed daemon's device for each disk of the plan, or -ESTALE when
 * its LUNs differ from the plan's. */
static int match_leftover(struct daemon *d, const struct leftover *lo)
{
	if (lo->nr_disks != d->plan.nr_disks)
		return -ESTALE;
	d->recover_ids =
		calloc(d->plan.nr_disks ? d->plan.nr_disks : 1, sizeof(int));
	if (!d->recover_ids)
		return -ENOMEM;
	for (size_t i = 0; i < d->plan.nr_disks; i++) {
		const struct blkx_lun_key *k = &d->plan.disks[i].key;
		const struct leftover_disk *ld = &lo->disks[i];

		if (strcmp(ld->controller, k->controller) ||
		    ld->location != k->location || ld->channel != k->channel ||
		    !leftover_recoverable(&d->ctrl, ld->ublk_id))
			return -ESTALE;
		d->recover_ids[i] = ld->ublk_id;
	}
	return 0;
}

/*
 * A daemon of this instance that was killed left devices (and pins, links,
 * state).  Recover them when they were made for it and the settings serve
 * the same LUNs; refuse to start when they could be recovered but the
 * settings differ (the guest's queued I/O would be lost); else discard.
 */
static int handle_leftovers(struct daemon *d)
{
	struct leftover lo;
	bool any_recoverable = false;
	int ret;

	ret = leftover_read(d->o->instance, &lo);
	if (ret == -ENOENT) {
		if (d->o->recover) {
			log_error(
				"--recover: instance '%s' left nothing to recover (no state file)",
				d->o->instance);
			return -ENOENT;
		}
		return 0;
	}
	if (ret)
		return ret;
	if (lo.alive) {
		log_error("instance '%s' is running (pid %d)", d->o->instance,
			  lo.pid);
		leftover_fini(&lo);
		return -EBUSY;
	}
	for (size_t i = 0; i < lo.nr_disks; i++)
		any_recoverable =
			any_recoverable ||
			leftover_recoverable(&d->ctrl, lo.disks[i].ublk_id);
	ret = lo.recovery && any_recoverable ? match_leftover(d, &lo) : -ESTALE;
	if (!ret && maps_open(d->o->instance, &d->maps, NULL, 0) == 0 &&
	    maps_match_plan(&d->maps, &d->plan) == 0) {
		d->recovering = true;
		log_info(
			"recovering %zu disk(s) of pid %d, which did not stop cleanly",
			lo.nr_disks, lo.pid);
		leftover_fini(&lo);
		return 0;
	}
	maps_close(&d->maps);
	free(d->recover_ids);
	d->recover_ids = NULL;
	if (any_recoverable) {
		log_error(
			"instance '%s': pid %d died leaving recoverable devices for other settings (%s); start with those settings to recover them, or discard them with 'blkxlate down --instance %s'",
			d->o->instance, lo.pid, lo.config, d->o->instance);
		leftover_fini(&lo);
		return -EEXIST;
	}
	if (d->o->recover) {
		log_error(
			"--recover: the devices of pid %d cannot be recovered (not made for recovery, or gone)",
			lo.pid);
		leftover_fini(&lo);
		return -ESTALE;
	}
	ret = leftover_discard(d->o->instance, &lo, &d->ctrl);
	log_warn("discarded what pid %d left (%d device(s), pins, links)",
		 lo.pid, ret);
	leftover_fini(&lo);
	return 0;
}

static int daemon_prepare(struct daemon *d)
{
	struct error_obj serr = {0};
	char err[512] = "";
	int ret;

	snprintf(d->config, sizeof(d->config), "%s", d->o->config);
	if (daemon_check_config_file(d->config, &serr) ||
	    settings_parse_file(d->config, &d->s, &serr)) {
		log_error("%s: %s: %s [%s]", d->o->config, serr.path,
			  serr.message, serr.error_id);
		notify(d->o, "ERR %s: %s [%s]\n", serr.path, serr.message,
		       serr.error_id);
		return CLI_BAD_SETTINGS;
	}
	for (size_t i = 0; i < d->s.nr_warnings; i++)
		log_warn("%s: %s", d->s.warnings[i].path,
			 d->s.warnings[i].message);
	if (plan_build(&d->s, &d->o->rc, 0, &d->plan, &serr)) {
		log_error("%s: %s: %s [%s]", d->o->config, serr.path,
			  serr.message, serr.error_id);
		notify(d->o, "ERR %s: %s [%s]\n", serr.path, serr.message,
		       serr.error_id);
		return CLI_BAD_SETTINGS;
	}
	ret = open_ublk(d);
	if (ret) {
		notify(d->o, "ERR ublk is not available in this kernel (%s)\n",
		       strerror(-ret));
		return CLI_FAILED;
	}
	ret = handle_leftovers(d);
	if (ret) {
		notify(d->o,
		       "ERR leftovers of an earlier daemon: %s (see the log)\n",
		       strerror(-ret));
		return CLI_FAILED;
	}
	if (!d->recovering &&
	    maps_create(d->o->instance, &d->plan, &d->maps, err, sizeof(err))) {
		log_error("maps: %s", err);
		notify(d->o, "ERR %s\n", err);
		return CLI_FAILED;
	}
	d->maps_owned = true;
	if (maps_slots_get(&d->maps, &d->slots) || !d->slots.disks ||
	    !(d->disk_used = calloc(d->slots.disks, sizeof(bool))) ||
	    !(d->member_used = calloc(d->slots.members, sizeof(bool)))) {
		log_error("maps: cannot read their room (meta)");
		notify(d->o, "ERR cannot read the pinned meta map\n");
		return CLI_FAILED;
	}
	for (size_t i = 0; i < d->plan.nr_disks; i++) {
		const struct plan_disk *pd = &d->plan.disks[i];

		d->disk_used[i] = true;
		for (size_t j = 0; j < pd->nr_members; j++)
			d->member_used[pd->geo.first_member + j] = true;
	}
	d->lun_stats =
		map_stats(d->maps.lun_stats_fd, BLKX_MAX_DISKS,
			  sizeof(struct blkx_io_stats), &d->lun_stats_len);
	d->member_stats =
		map_stats(d->maps.member_stats_fd, BLKX_MAX_MEMBERS,
			  sizeof(struct blkx_io_stats), &d->member_stats_len);
	d->queue_stats = map_stats(
		d->maps.queue_stats_fd, maps_queue_stats_entries(d->slots),
		sizeof(struct blkx_queue_stats), &d->queue_stats_len);
	if (!d->lun_stats || !d->member_stats || !d->queue_stats)
		log_warn("cannot map the stats maps (%s): counters stay 0",
			 strerror(errno));
	ret = choose_dataplane(d);
	if (ret) {
		notify(d->o, "ERR %s\n", d->dp_reason);
		return CLI_FAILED;
	}
	d->env = (struct lun_env){
		.ctrl = &d->ctrl,
		.dp = d->dp,
		.zero_copy = d->zero_copy,
		.recovery = !d->o->no_recovery &&
			    (d->ctrl.features & UBLK_F_USER_RECOVERY),
		.pin_dir = d->maps.dir,
		.lun_stats = d->lun_stats,
		.member_stats = d->member_stats,
		.queue_stats = d->queue_stats,
		.queue_stats_entries = maps_queue_stats_entries(d->slots),
		.nr_queues = d->o->nr_queues,
		.depth = d->o->depth,
	};
	return CLI_OK;
}

void daemon_write_state(struct daemon *d)
{
	struct json_object *st = state_json(d);
	int ret = state_write(d->o->instance, st);

	json_object_put(st);
	if (ret)
		log_warn("cannot write the state file: %s", strerror(-ret));
}

static void block_signals(sigset_t *set)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sigusr1_noop; /* no SA_RESTART: interrupts enter */
	sigaction(SIGUSR1, &sa, NULL);
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static struct json_object *error_reply(const struct error_obj *err)
{
	struct json_object *r = json_object_new_object();

	char *js = error_json(err);

	json_object_object_add(r, "ok", json_object_new_boolean(0));
	json_object_object_add(r, "error", js ? json_tokener_parse(js) : NULL);
	free(js);
	return r;
}

static struct json_object *do_reload(struct daemon *d, const char *path)
{
	struct error_obj err = {0};
	struct json_object *res = NULL;
	char abs[PATH_MAX];

	if (!realpath(path, abs))
		snprintf(abs, sizeof(abs), "%s", path);
	if (daemon_reload(d, abs, &err, &res)) {
		if (!err.error_id[0])
			error_set(&err, "InternalFailure", "", "reload failed");
		return error_reply(&err);
	}
	json_object_object_add(res, "ok", json_object_new_boolean(1));
	json_object_object_add(res, "config", json_object_new_string(abs));
	return res;
}

/* One control request: "reload [PATH]" or "ping". */
static struct json_object *handle_request(void *ctx, const char *line)
{
	struct daemon *d = ctx;
	struct json_object *r;

	if (!strncmp(line, "reload", 6) && (!line[6] || line[6] == ' ')) {
		const char *path = line[6] ? line + 7 : d->config;

		return do_reload(d, *path ? path : d->config);
	}
	r = json_object_new_object();
	json_object_object_add(r, "ok",
			       json_object_new_boolean(!strcmp(line, "ping")));
	if (strcmp(line, "ping"))
		json_object_object_add(
			r, "error",
			json_object_new_string(
				"unknown request (reload [PATH], ping)"));
	return r;
}

/* Serve signals and control requests until SIGTERM/SIGINT. */
static int event_loop(struct daemon *d, const sigset_t *set)
{
	int sfd = signalfd(-1, set, SFD_CLOEXEC);
	int lfd = control_listen(d->o->instance);
	int sig = 0;

	if (sfd < 0)
		return -errno;
	if (lfd < 0)
		log_warn(
			"no control socket (%s): 'blkxlate reload' cannot reach this daemon; SIGHUP still reloads",
			strerror(-lfd));
	while (!sig) {
		struct pollfd p[2] = {{.fd = sfd, .events = POLLIN},
				      {.fd = lfd, .events = POLLIN}};
		struct signalfd_siginfo si;

		if (poll(p, lfd >= 0 ? 2 : 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (lfd >= 0 && (p[1].revents & POLLIN))
			control_serve_one(lfd, handle_request, d);
		if (!(p[0].revents & POLLIN) ||
		    read(sfd, &si, sizeof(si)) != sizeof(si))
			continue;
		if (si.ssi_signo == SIGHUP) {
			struct json_object *r = do_reload(d, d->config);

			log_info("SIGHUP: %s",
				 json_object_to_json_string_ext(
					 r, JSON_C_TO_STRING_PLAIN));
			json_object_put(r);
			continue;
		}
		sig = (int)si.ssi_signo;
	}
	if (lfd >= 0) {
		close(lfd);
		control_unlink(d->o->instance);
	}
	close(sfd);
	return sig;
}

int daemon_run(const struct daemon_opts *o)
{
	struct daemon d;
	sigset_t set;
	int ret, sig;

	memset(&d, 0, sizeof(d));
	d.o = o;
	log_timestamps = true;
	block_signals(&set);
	ret = daemon_prepare(&d);
	if (ret) {
		/* leftovers we did not take over stay as they are */
		d.maps_owned = d.maps_owned && !d.recovering;
		daemon_teardown(&d);
		return ret;
	}
	d.luns = calloc(d.plan.nr_disks ? d.plan.nr_disks : 1, sizeof(*d.luns));
	if (!d.luns) {
		daemon_teardown(&d);
		return CLI_FAILED;
	}
	for (size_t i = 0; i < d.plan.nr_disks; i++) {
		d.luns[i] = calloc(1, sizeof(struct lun));
		if (!d.luns[i]) {
			daemon_teardown(&d);
			return CLI_FAILED;
		}
		d.nr_luns = i + 1;
		ret = lun_up(d.luns[i], &d.env, &d.plan.disks[i], (uint32_t)i,
			     d.recovering ? d.recover_ids[i] : -1);
		if (ret) {
			notify(o,
			       "ERR %s location %u could not be served: %s (see the log)\n",
			       d.plan.disks[i].key.controller,
			       d.plan.disks[i].key.location, strerror(-ret));
			log_error("bring-up failed; taking everything down");
			daemon_teardown(&d);
			state_remove(o->instance);
			return CLI_FAILED;
		}
		/* after each device: a crash now leaves a known leftover */
		daemon_write_state(&d);
	}
	if (!o->no_tracing)
		start_tracing(&d);
	daemon_write_state(&d);
	log_info("instance '%s' serving %zu disk(s)%s; pid %d", o->instance,
		 d.nr_luns, d.recovering ? " (recovered)" : "", getpid());
	notify(o, "OK %zu\n", d.nr_luns);

	sig = event_loop(&d, &set);
	log_info("signal %d: stopping %zu disk(s)", sig, d.nr_luns);
	state_remove(o->instance);
	daemon_teardown(&d);
	log_info("instance '%s' stopped", o->instance);
	return CLI_OK;
}
