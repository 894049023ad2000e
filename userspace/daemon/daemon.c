// SPDX-License-Identifier: MIT
/*
 * daemon: bring-up is all or nothing.  Everything is resolved, checked and
 * pinned before the first ublk device exists; if any device fails to come
 * up, the ones already up are stopped and deleted again and the exit says
 * why.  Teardown runs in reverse on SIGTERM/SIGINT.  What a daemon that
 * was killed left behind is recovered (same settings, devices made for
 * recovery) or discarded first (recover.c).
 */
#include "base/json.h"
#include "daemon/daemon.h"

#include <errno.h>
#include <json-c/json.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "daemon/control.h"
#include "daemon/instance.h"
#include "daemon/lun.h"
#include "daemon/recover.h"
#include "daemon/reload.h"
#include "daemon/serving.h"
#include "daemon/setup.h"
#include "daemon/state.h"
#include "daemon/watch.h"
#include "pins/maps.h"
#include "pins/program.h"
#include "pins/trace.h"

struct daemon {
	const struct daemon_opts *o;
	int lock_fd; /* the instance lock, held for the daemon's life */
	bool ready;  /* every LUN served */
	bool state_written;
	struct serving sv;
	struct maps maps;
	bool maps_owned; /* ours to unpin at the end */
	struct ublk_ctrl ctrl;
	bool ctrl_open;
	bool zero_copy;
	const struct ring_ops *dp;
	char dp_reason[512];
	struct lun_env env;
	struct recover rec;
	struct mapped lun_stats, member_stats, queue_stats;
	struct tracer tracer;
	bool tracing;
	struct watch watch; /* file members cut while served */
};

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

/* The failure in err, to the log (settings errors) and to `up`. */
static int fail(struct daemon *d, const struct error_obj *err, int ret)
{
	if (!strncmp(err->error_id, "Configuration.", 14)) {
		log_error("%s: %s: %s [%s]", d->o->config, err->path,
			  err->message, err->error_id);
		notify(d->o, "ERR %s: %s [%s]\n", err->path, err->message,
		       err->error_id);
	} else {
		notify(d->o, "ERR %s\n", err->message);
	}
	return ret;
}

static void start_tracing(struct daemon *d)
{
	struct serving *sv = &d->sv;
	char err[256] = "";
	int ret;

	ret = trace_start(&d->tracer, d->maps.dir, err, sizeof(err));
	for (size_t i = 0; !ret && i < sv->nr_luns; i++)
		ret = program_trace_lun(&d->maps, &sv->slots, sv->luns[i]->pd,
					sv->luns[i]->ld.disk_index,
					sv->luns[i]->bdev, true);
	if (ret && !err[0])
		snprintf(err, sizeof(err), "registering devices: %s",
			 strerror(-ret));
	if (ret) {
		/* the disks are served either way; say what is missing */
		log_warn("tracing is off: %s", err);
		trace_stop(&d->tracer);
		return;
	}
	d->tracing = true;
	log_info("tracing block I/O of %zu disk(s) and their members%s",
		 sv->nr_luns,
		 !d->tracer.nvme	? ""
		 : d->tracer.nvme_setup ? " (and NVMe set-up and completions)"
					: " (and NVMe completions)");
}

/* One state-file entry for a LUN. */
static int state_disk_of(const struct lun *l, struct state_disk *sd)
{
	const struct plan_disk *pd = l->pd;

	snprintf(sd->controller, sizeof(sd->controller), "%s",
		 pd->key.controller);
	snprintf(sd->protocol, sizeof(sd->protocol), "%s",
		 settings_protocol_name(pd->ctrl->protocol));
	sd->location = pd->key.location;
	sd->channel = pd->key.channel;
	sd->disk = l->ld.disk_index;
	sd->phase = l->removing	   ? STATE_REMOVING
		    : l->committed ? STATE_SERVING
				   : STATE_ADDING;
	sd->ublk_id = l->claimed ? (int)l->ld.dev_id : -1;
	sd->recovered = l->recovered;
	snprintf(sd->device, sizeof(sd->device), "%s", l->bdev);
	snprintf(sd->link, sizeof(sd->link), "%s", l->link);
	sd->size_bytes = pd->size_bytes;
	sd->queues = l->ld.nr_queues;
	sd->depth = l->ld.depth;
	sd->members = calloc(pd->nr_members ? pd->nr_members : 1,
			     sizeof(*sd->members));
	if (!sd->members)
		return -ENOMEM;
	for (size_t m = 0; m < pd->nr_members; m++) {
		/* borrowed: freed by the plan, not by state_fini() */
		sd->members[m] = (char *)pd->members[m].dev.dev_path;
		sd->nr_members = m + 1;
	}
	return 0;
}

/* Add the state-file entry of every LUN of luns[0..n) there is. */
static int state_add(struct state *st, struct lun *const *luns, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int ret;

		if (!luns[i] || !luns[i]->pd)
			continue;
		ret = state_disk_of(luns[i], &st->disks[st->nr_disks]);
		if (ret)
			return ret;
		st->nr_disks++;
	}
	return 0;
}

/*
 * The state file says what this daemon serves now, and what it is about
 * to change (a reload's pending LUNs, a device about to be added).  It is
 * written before every such step; 0 or -errno (the step is not taken).
 */
static int write_state(struct daemon *d)
{
	const struct serving *sv = &d->sv;
	struct state st = {.pid = getpid(), .started = (int64_t)time(NULL)};
	size_t n = sv->nr_luns + sv->nr_pending;
	int ret = 0;

	snprintf(st.instance, sizeof(st.instance), "%s", d->o->instance);
	snprintf(st.config, sizeof(st.config), "%s", sv->config);
	snprintf(st.dataplane, sizeof(st.dataplane), "%s",
		 d->dp ? d->dp->name : "");
	snprintf(st.dataplane_reason, sizeof(st.dataplane_reason), "%s",
		 d->dp_reason);
	st.ready = d->ready;
	st.zero_copy = d->zero_copy;
	st.tracing = d->tracing;
	st.recovery = d->env.recovery;
	st.ublk_features = d->ctrl.features;
	st.disks = calloc(n ? n : 1, sizeof(*st.disks));
	if (!st.disks)
		ret = -ENOMEM;
	if (!ret)
		ret = state_add(&st, sv->luns, sv->nr_luns);
	if (!ret)
		ret = state_add(&st, sv->pending, sv->nr_pending);
	if (!ret)
		ret = state_write(d->o->instance, &st);
	if (ret)
		log_error("cannot write the state file: %s", strerror(-ret));
	else
		d->state_written = true;
	for (size_t i = 0; i < st.nr_disks; i++)
		free(st.disks[i].members);
	free(st.disks);
	return ret;
}

static int journal(void *ctx)
{
	return write_state(ctx);
}

static void daemon_teardown(struct daemon *d)
{
	struct serving *sv = &d->sv;

	if (d->tracing)
		trace_stop(&d->tracer);
	d->tracing = false;
	for (size_t i = sv->nr_luns; i-- > 0;) {
		if (sv->luns[i])
			lun_down(sv->luns[i], &d->env);
		free(sv->luns[i]);
	}
	free(sv->luns);
	free(sv->disk_used);
	free(sv->member_used);
	sv->luns = NULL;
	sv->nr_luns = 0;
	sv->disk_used = sv->member_used = NULL;
	recover_fini(&d->rec);
	setup_unmap_stats(&d->lun_stats);
	setup_unmap_stats(&d->member_stats);
	setup_unmap_stats(&d->queue_stats);
	maps_close(&d->maps);
	if (d->maps_owned) {
		char err[512] = "";

		if (maps_destroy(d->o->instance, err, sizeof(err)))
			log_error("unpinning the maps: %s", err);
	}
	if (d->ctrl_open)
		ublk_ctrl_close(&d->ctrl);
	plan_fini(&sv->plan);
	settings_fini(&sv->s);
}

/* The settings and their plan.  A backing the killed daemon held may stay
 * busy for a moment after it died (its rings are torn down after it):
 * then the plan is tried again, for up to 3 s. */
static int prepare_plan(struct daemon *d, struct error_obj *err)
{
	struct serving *sv = &d->sv;
	char st[PATH_MAX];
	int ret;

	snprintf(sv->config, sizeof(sv->config), "%s", d->o->config);
	ret = settings_check_file(sv->config, err);
	if (!ret)
		ret = settings_parse_file(sv->config, &sv->s, err);
	if (ret)
		return ret;
	for (size_t i = 0; i < sv->s.nr_warnings; i++)
		log_warn("%s: %s", sv->s.warnings[i].path,
			 sv->s.warnings[i].message);
	for (int tries = 0;; tries++) {
		ret = plan_build(&sv->s, &d->o->rc, 0, &sv->plan, err);
		if (ret != -EBUSY || tries >= 30 ||
		    state_path(d->o->instance, "state", st, sizeof(st)) ||
		    access(st, F_OK))
			return ret;
		memset(err, 0, sizeof(*err));
		usleep(100 * 1000);
	}
}

/* The pinned maps (ours, or the recovered daemon's) and what they hold. */
static int prepare_maps(struct daemon *d, struct error_obj *err)
{
	struct serving *sv = &d->sv;
	char msg[512] = "";

	if (!d->rec.recovering && maps_create(d->o->instance, &sv->plan,
					      &d->maps, msg, sizeof(msg))) {
		log_error("maps: %s", msg);
		error_set(err, DAEMON_ERR_MAPS, "", "%s", msg);
		return -EIO;
	}
	d->maps_owned = true;
	if (maps_slots_get(&d->maps, &sv->slots) || !sv->slots.disks ||
	    !(sv->disk_used = calloc(sv->slots.disks, sizeof(bool))) ||
	    !(sv->member_used = calloc(sv->slots.members, sizeof(bool)))) {
		log_error("maps: cannot read their room (meta)");
		error_set(err, DAEMON_ERR_MAPS, "",
			  "cannot read the pinned meta map");
		return -EIO;
	}
	for (size_t i = 0; i < sv->plan.nr_disks; i++) {
		const struct plan_disk *pd = &sv->plan.disks[i];

		sv->disk_used[d->rec.slots[i]] = true;
		for (size_t j = 0; j < pd->nr_members; j++)
			sv->member_used[pd->geo.first_member + j] = true;
	}
	if (!setup_map_stats(d->maps.lun_stats_fd, BLKX_MAX_DISKS,
			     sizeof(struct blkx_io_stats), &d->lun_stats) ||
	    !setup_map_stats(d->maps.member_stats_fd, BLKX_MAX_MEMBERS,
			     sizeof(struct blkx_io_stats), &d->member_stats) ||
	    !setup_map_stats(d->maps.queue_stats_fd,
			     maps_queue_stats_entries(sv->slots),
			     sizeof(struct blkx_queue_stats), &d->queue_stats))
		log_warn("cannot map the stats maps (%s): counters stay 0",
			 strerror(errno));
	return 0;
}

/* One LUN per plan disk, at its slot; the state file names them all
 * before anything of theirs exists. */
static int init_luns(struct daemon *d, struct error_obj *err)
{
	struct serving *sv = &d->sv;
	size_t n = sv->plan.nr_disks;
	int ret;

	sv->luns = calloc(n ? n : 1, sizeof(*sv->luns));
	for (size_t i = 0; sv->luns && i < n; i++) {
		sv->luns[i] = calloc(1, sizeof(struct lun));
		if (!sv->luns[i])
			break;
		sv->nr_luns = i + 1;
		lun_init(sv->luns[i], &d->env, &sv->plan.disks[i],
			 d->rec.slots[i], d->rec.ublk_ids[i]);
	}
	if (sv->nr_luns != n || !sv->luns) {
		error_set(err, DAEMON_ERR_NOMEM, "", "out of memory");
		return -ENOMEM;
	}
	ret = write_state(d);
	if (ret)
		error_set(
			err, DAEMON_ERR_STATE, "",
			"cannot write the state file in %s: %s; nothing is served without it",
			state_run_dir(), strerror(-ret));
	return ret;
}

static int daemon_prepare(struct daemon *d, struct error_obj *err)
{
	int ret;

	d->lock_fd = setup_lock(d->o->instance, err);
	ret = d->lock_fd < 0 ? d->lock_fd : 0;
	if (!ret)
		ret = setup_check_queues(d->o->nr_queues, err);
	if (!ret)
		ret = prepare_plan(d, err);
	if (!ret) {
		ret = setup_ublk(&d->ctrl, err);
		d->ctrl_open = !ret;
		d->zero_copy = d->ctrl.features & UBLK_F_AUTO_BUF_REG;
	}
	if (!ret)
		ret = recover_leftovers(d->o->instance, d->o->recover, &d->ctrl,
					&d->sv.plan, &d->maps, &d->rec, err);
	if (!ret)
		ret = setup_check_fail_io(&d->ctrl, d->o->fail_io_while_down,
					  err);
	if (ret)
		return ret;
	d->env = (struct lun_env){
		.ctrl = &d->ctrl,
		.instance = d->o->instance,
		.journal = journal,
		.journal_ctx = d,
		.zero_copy = d->zero_copy,
		.recovery = !d->o->no_recovery &&
			    (d->ctrl.features & UBLK_F_USER_RECOVERY),
		.fail_io = d->o->fail_io_while_down,
		.nr_queues = d->o->nr_queues,
		.depth = d->o->depth,
	};
	ret = init_luns(d, err);
	if (!ret)
		ret = prepare_maps(d, err);
	if (!ret)
		ret = setup_dataplane(d->o->dataplane, d->zero_copy,
				      d->maps.dir, &d->dp, d->dp_reason,
				      sizeof(d->dp_reason), err);
	if (!ret)
		ret = setup_nofile(&d->sv, d->dp, err);
	if (ret)
		return ret;
	d->env.dp = d->dp;
	d->env.pin_dir = d->maps.dir;
	d->env.lun_stats = d->lun_stats.p;
	d->env.member_stats = d->member_stats.p;
	d->env.queue_stats = d->queue_stats.p;
	d->env.queue_stats_entries = maps_queue_stats_entries(d->sv.slots);
	return 0;
}

/* Every LUN of the plan up, in order; the state file after each. */
static int bring_up(struct daemon *d, struct error_obj *err)
{
	struct serving *sv = &d->sv;

	for (size_t i = 0; i < sv->nr_luns; i++) {
		struct lun *l = sv->luns[i];
		const struct plan_disk *pd = l->pd;
		uint32_t slot = l->ld.disk_index;
		int ret = 0;

		/* a disk added next to recovered ones: its slot is new */
		if (d->rec.recovering && !l->recovering)
			ret = program_disk(&d->maps, &sv->slots, pd, slot);
		if (!ret)
			ret = lun_up(l, &d->env);
		if (!ret)
			ret = program_lun_add(&d->maps, pd, slot);
		/* after each device: a crash now leaves a known leftover */
		if (!ret)
			ret = write_state(d);
		if (ret) {
			error_set(
				err, DAEMON_ERR_SERVE, pd->lun->path,
				"%s location %u could not be served: %s (see the log)",
				pd->key.controller, pd->key.location,
				strerror(-ret));
			log_error("bring-up failed; taking everything down");
			return ret;
		}
	}
	program_meta_update(&d->maps, sv->plan.nr_disks, sv->plan.nr_members);
	return 0;
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

	json_add_bool(r, "ok", 0);
	json_object_object_add(r, "error", js ? json_tokener_parse(js) : NULL);
	free(js);
	return r;
}

static struct json_object *do_reload(struct daemon *d, const char *path)
{
	struct reload_env re = {
		.sv = &d->sv,
		.lun_env = &d->env,
		.maps = &d->maps,
		.tracing = d->tracing,
		.rc = &d->o->rc,
		.journal = journal,
		.journal_ctx = d,
	};
	struct error_obj err = {0};
	struct json_object *res = NULL;
	char abs[PATH_MAX];

	if (!realpath(path, abs))
		snprintf(abs, sizeof(abs), "%s", path);
	if (reload_apply(&re, abs, &err, &res)) {
		if (!err.error_id[0])
			error_set(&err, "InternalFailure", "", "reload failed");
		/* what was journaled for it is undone */
		write_state(d);
		watch_sync(&d->watch, &d->sv, &d->maps);
		return error_reply(&err);
	}
	if (write_state(d))
		json_add_str(
			res, "warning",
			"the state file could not be written (see the log)");
	/* what the added and removed LUNs' set-up allocated and freed
	 * (libbpf loads kernel BTF per queue) goes back to the system, so
	 * RSS stays flat over reloads */
	malloc_trim(0);
	watch_sync(&d->watch, &d->sv, &d->maps);
	json_add_bool(res, "ok", 1);
	json_add_str(res, "config", abs);
	return res;
}

/* One control request: "reload [PATH]" or "ping". */
static struct json_object *handle_request(void *ctx, const char *line)
{
	struct daemon *d = ctx;
	struct json_object *r;

	if (!strncmp(line, "reload", 6) && (!line[6] || line[6] == ' ')) {
		const char *path = line[6] ? line + 7 : d->sv.config;

		return do_reload(d, *path ? path : d->sv.config);
	}
	r = json_object_new_object();
	json_add_bool(r, "ok", !strcmp(line, "ping"));
	if (strcmp(line, "ping"))
		json_add_str(r, "error",
			     "unknown request (reload [PATH], ping)");
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
		/* a negative fd is left out by poll() */
		struct pollfd p[3] = {
			{.fd = sfd, .events = POLLIN},
			{.fd = lfd, .events = POLLIN},
			{.fd = watch_poll_fd(&d->watch), .events = POLLIN}};
		struct signalfd_siginfo si;

		if (poll(p, 3, watch_timeout_ms(&d->watch)) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		watch_run(&d->watch, &d->sv, &d->maps);
		if (lfd >= 0 && (p[1].revents & POLLIN))
			control_serve_one(lfd, handle_request, d);
		if (!(p[0].revents & POLLIN) ||
		    read(sfd, &si, sizeof(si)) != sizeof(si))
			continue;
		if (si.ssi_signo == SIGHUP) {
			struct json_object *r = do_reload(d, d->sv.config);

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

int daemon_run(const struct daemon_opts *o, struct error_obj *err)
{
	struct daemon d;
	sigset_t set;
	int ret, sig;

	memset(&d, 0, sizeof(d));
	d.o = o;
	d.lock_fd = -1;
	d.watch.fd = -1;
	log_timestamps = true;
	/* queue threads come and go with reloads: a few malloc arenas, not
	 * one per thread ever seen (each keeps what it grew to) */
	mallopt(M_ARENA_MAX, 2);
	block_signals(&set);
	ret = daemon_prepare(&d, err);
	if (ret) {
		/* leftovers we did not take over stay as they are */
		d.maps_owned = d.maps_owned && !d.rec.recovering;
		if (d.state_written && !d.rec.recovering)
			state_remove(o->instance);
		daemon_teardown(&d);
		instance_unlock(d.lock_fd);
		return fail(&d, err, ret);
	}
	ret = bring_up(&d, err);
	if (!ret && !o->no_tracing)
		start_tracing(&d);
	d.ready = !ret;
	if (!ret) {
		ret = write_state(&d);
		if (ret)
			error_set(
				err, DAEMON_ERR_STATE, "",
				"cannot write the state file in %s: %s; nothing is served without it",
				state_run_dir(), strerror(-ret));
	}
	if (ret) {
		fail(&d, err, ret);
		daemon_teardown(&d);
		state_remove(o->instance);
		instance_unlock(d.lock_fd);
		return ret;
	}
	instance_crash_point("ready");
	watch_sync(&d.watch, &d.sv, &d.maps);
	log_info("instance '%s' serving %zu disk(s)%s; pid %d", o->instance,
		 d.sv.nr_luns, d.rec.recovering ? " (recovered)" : "",
		 getpid());
	notify(o, "OK %zu\n", d.sv.nr_luns);

	sig = event_loop(&d, &set);
	watch_fini(&d.watch);
	log_info("signal %d: stopping %zu disk(s)", sig, d.sv.nr_luns);
	daemon_teardown(&d);
	state_remove(o->instance);
	log_info("instance '%s' stopped", o->instance);
	instance_unlock(d.lock_fd);
	return 0;
}
