// SPDX-License-Identifier: MIT
/*
 * daemon: bring-up is all or nothing.  Everything is resolved, checked and
 * pinned before the first ublk device exists; if any device fails to come
 * up, the ones already up are stopped and deleted again and the exit says
 * why.  Teardown runs in reverse on SIGTERM/SIGINT.
 */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
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

#include "cli.h"
#include "log.h"
#include "maps.h"
#include "plan.h"
#include "queue.h"
#include "settings.h"
#include "state.h"
#include "trace.h"
#include "ublk.h"

extern char **environ;

struct served {
	struct ldisk ld;
	const struct plan_disk *pd;
	bool added;
	bool started;
	bool mutex_init;
	char bdev[32];
	char link[PATH_MAX];
};

struct daemon {
	const struct daemon_opts *o;
	struct settings s;
	struct plan plan;
	struct maps maps;
	bool maps_created;
	struct ublk_ctrl ctrl;
	bool ctrl_open;
	bool zero_copy;
	const struct dataplane_ops *dp;
	char dp_reason[512];
	struct served *sv;
	size_t nr_sv;
	void *lun_stats;
	size_t lun_stats_len;
	void *member_stats;
	size_t member_stats_len;
	void *queue_stats;
	size_t queue_stats_len;
	struct tracer tracer;
	bool tracing;
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
		log_error("ublk is not available: cannot open %s (%s); this "
			  "kernel needs the ublk_drv module "
			  "(CONFIG_BLK_DEV_UBLK)",
			  UBLK_CONTROL_PATH, strerror(-ret));
		return ret;
	}
	d->ctrl_open = true;
	if (!(d->ctrl.features & UBLK_F_CMD_IOCTL_ENCODE)) {
		log_error("this kernel's ublk lacks UBLK_F_CMD_IOCTL_ENCODE "
			  "(features %#llx); blkxlate needs Linux 6.5 or "
			  "later",
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

static int open_member(const struct plan_member *pm, bool read_only)
{
	int flags = (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC;
	int fd;

	/* hold block devices exclusively: no one mounts them under us */
	if (!pm->dev.is_file)
		flags |= O_EXCL;
	fd = open(pm->dev.dev_path, flags | O_DIRECT);
	if (fd < 0 && errno == EINVAL) {
		/* e.g. a file on ramfs: no O_DIRECT there */
		log_warn("%s does not support O_DIRECT; using buffered I/O "
			 "(flushes still reach it)",
			 pm->dev.dev_path);
		fd = open(pm->dev.dev_path, flags);
	}
	if (fd < 0) {
		int e = errno;

		log_error("cannot open backing %s: %s", pm->dev.dev_path,
			  strerror(e));
		return -e;
	}
	return fd;
}

static unsigned int ilog2_u64(uint64_t v)
{
	unsigned int r = 0;

	while (v >>= 1)
		r++;
	return r;
}

static bool is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

static void fill_params(const struct plan_disk *pd, struct ublk_params *p)
{
	uint32_t chunk = pd->geo.chunk_sectors;
	uint64_t stripe = (uint64_t)pd->chunk_bytes * pd->nr_members;

	memset(p, 0, sizeof(*p));
	p->types = UBLK_PARAM_TYPE_BASIC | UBLK_PARAM_TYPE_DISCARD;
	if (pd->read_only)
		p->basic.attrs |= UBLK_ATTR_READ_ONLY;
	if (pd->rotational)
		p->basic.attrs |= UBLK_ATTR_ROTATIONAL;
	if (pd->write_cache)
		p->basic.attrs |= UBLK_ATTR_VOLATILE_CACHE;
	if (pd->fua)
		p->basic.attrs |= UBLK_ATTR_FUA;
	p->basic.logical_bs_shift = (uint8_t)pd->geo.lbs_shift;
	p->basic.physical_bs_shift = (uint8_t)pd->geo.pbs_shift;
	p->basic.io_min_shift = (uint8_t)pd->geo.pbs_shift;
	if (chunk)
		p->basic.io_opt_shift = (uint8_t)ilog2_u64(
			is_pow2(stripe) ? stripe : pd->chunk_bytes);
	p->basic.max_sectors = pd->max_io_bytes >> 9;
	/* the block layer splits at chunk boundaries: one member per
	 * read/write (a power of two is what it accepts) */
	p->basic.chunk_sectors = is_pow2(chunk) ? chunk : 0;
	p->basic.dev_sectors = pd->geo.size_sectors;

	p->discard.discard_granularity = pd->pbs;
	p->discard.max_discard_segments = 1;
	if (pd->discard)
		p->discard.max_discard_sectors = UINT32_MAX >> 9;
	/* zero-range falls back to writing zeroes: always possible */
	p->discard.max_write_zeroes_sectors = UINT32_MAX >> 9;
}

/*
 * No I/O scheduler on the ublk disk: the guest's own scheduler and the
 * members' queues already order the I/O, and a single-queue ublk disk
 * would otherwise get mq-deadline, which halved 4k random read IOPS in the
 * lab (docs/benchmarks.md).
 */
static void set_scheduler_none(uint32_t dev_id)
{
	char path[96];
	int fd;

	snprintf(path, sizeof(path), "/sys/block/ublkb%u/queue/scheduler",
		 dev_id);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "none", 4) != 4)
		log_warn("cannot set the I/O scheduler of ublkb%u to none: %s",
			 dev_id, strerror(errno));
	if (fd >= 0)
		close(fd);
}

static int wait_for_node(const char *path, int ms)
{
	for (int i = 0; i < ms / 10; i++) {
		if (!access(path, F_OK))
			return 0;
		usleep(10000);
	}
	return access(path, F_OK) ? -ENOENT : 0;
}

static unsigned int pick_queues(const struct daemon_opts *o)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	if (o->nr_queues)
		return o->nr_queues;
	if (ncpu < 1)
		ncpu = 1;
	return ncpu > DAEMON_MAX_QUEUES ? DAEMON_MAX_QUEUES
					: (unsigned int)ncpu;
}

static unsigned int pick_depth(const struct daemon_opts *o,
			       const struct plan_disk *pd)
{
	if (o->depth)
		return o->depth;
	if (pd->ctrl->io_queue_depth.has)
		return (unsigned int)pd->ctrl->io_queue_depth.val;
	return DAEMON_DEFAULT_DEPTH;
}

static int served_open_members(struct daemon *d, struct served *sv)
{
	const struct plan_disk *pd = sv->pd;
	struct ldisk *ld = &sv->ld;

	ld->nr_members = (int)pd->nr_members;
	ld->member_fds = calloc(pd->nr_members, sizeof(int));
	ld->queues = calloc(ld->nr_queues, sizeof(*ld->queues));
	if (!ld->member_fds || !ld->queues)
		return -ENOMEM;
	for (size_t i = 0; i < pd->nr_members; i++)
		ld->member_fds[i] = -1;
	for (size_t i = 0; i < pd->nr_members; i++) {
		int fd = open_member(&pd->members[i], pd->read_only);

		if (fd < 0)
			return fd;
		ld->member_fds[i] = fd;
	}
	(void)d;
	return 0;
}

static int served_add(struct daemon *d, struct served *sv)
{
	const struct plan_disk *pd = sv->pd;
	struct ldisk *ld = &sv->ld;
	struct ublksrv_ctrl_dev_info info;
	struct ublk_params params;
	char cdev[32];
	int ret;

	memset(&info, 0, sizeof(info));
	info.nr_hw_queues = ld->nr_queues;
	info.queue_depth = ld->depth;
	info.max_io_buf_bytes = pd->max_io_bytes;
	info.dev_id = UINT32_MAX; /* any free id */
	info.flags = UBLK_F_CMD_IOCTL_ENCODE;
	if (d->zero_copy)
		info.flags |= UBLK_F_AUTO_BUF_REG;
	ret = ublk_add_dev(&d->ctrl, &info);
	if (ret) {
		log_error("%s location %u: ublk ADD_DEV failed: %s",
			  pd->key.controller, pd->key.location, strerror(-ret));
		return ret;
	}
	sv->added = true;
	ld->dev_id = info.dev_id;
	fill_params(pd, &params);
	ret = ublk_set_params(&d->ctrl, ld->dev_id, &params);
	if (ret) {
		log_error("ublk device %u: SET_PARAMS failed: %s", ld->dev_id,
			  strerror(-ret));
		return ret;
	}
	snprintf(cdev, sizeof(cdev), "/dev/ublkc%u", ld->dev_id);
	if (wait_for_node(cdev, 3000) ||
	    (ld->cdev_fd = open(cdev, O_RDWR | O_CLOEXEC)) < 0) {
		ret = -errno;
		log_error("cannot open %s: %s", cdev, strerror(-ret));
		return ret ? ret : -ENOENT;
	}
	return 0;
}

static int served_start(struct daemon *d, struct served *sv)
{
	struct ldisk *ld = &sv->ld;
	const struct plan_disk *pd = sv->pd;
	int ret;

	ret = queue_start_all(ld, d->dp);
	if (ret) {
		log_error("ublk device %u: queue setup failed: %s", ld->dev_id,
			  strerror(-ret));
		return ret;
	}
	ret = ublk_start_dev(&d->ctrl, ld->dev_id, getpid());
	if (ret) {
		log_error("ublk device %u: START_DEV failed: %s", ld->dev_id,
			  strerror(-ret));
		return ret;
	}
	sv->started = true;
	snprintf(sv->bdev, sizeof(sv->bdev), "/dev/ublkb%u", ld->dev_id);
	if (wait_for_node(sv->bdev, 3000))
		log_warn("%s did not appear", sv->bdev);
	set_scheduler_none(ld->dev_id);
	ret = state_link_path(
		pd->key.controller, pd->ctrl->protocol == SETTINGS_PROTO_IDE,
		pd->key.channel, pd->key.location, sv->link, sizeof(sv->link));
	if (!ret)
		ret = state_link_create(sv->link, sv->bdev);
	if (ret) {
		log_error("cannot create %s: %s", sv->link, strerror(-ret));
		sv->link[0] = '\0';
		return ret;
	}
	return 0;
}

static int served_up(struct daemon *d, struct served *sv, size_t idx)
{
	const struct plan_disk *pd = sv->pd;
	struct ldisk *ld = &sv->ld;
	int ret;

	ld->cdev_fd = -1;
	ld->disk_index = (uint32_t)idx;
	ld->geo = pd->geo;
	ld->zero_copy = d->zero_copy;
	ld->max_io_bytes = pd->max_io_bytes;
	ld->nr_queues = (uint16_t)pick_queues(d->o);
	ld->depth = (uint16_t)pick_depth(d->o, pd);
	ld->lun_stats = d->lun_stats
				? (struct blkx_io_stats *)d->lun_stats + idx
				: NULL;
	ld->member_stats = d->member_stats
				   ? (struct blkx_io_stats *)d->member_stats +
					     pd->geo.first_member
				   : NULL;
	ld->pin_dir = d->maps.dir;
	ld->queue_stats = d->queue_stats;
	ld->queue_stats_entries = maps_queue_stats_entries(d->plan.nr_disks);
	pthread_mutex_init(&ld->lock, NULL);
	pthread_cond_init(&ld->cond, NULL);
	sv->mutex_init = true;
	ret = served_open_members(d, sv);
	if (!ret) {
		/* the members map values, as the BPF side sees them */
		struct blkx_member *mv = calloc(pd->nr_members, sizeof(*mv));

		if (!mv)
			return -ENOMEM;
		for (size_t i = 0; i < pd->nr_members; i++)
			mv[i] = pd->members[i].m;
		ld->members = mv;
	}
	if (!ret)
		ret = served_add(d, sv);
	if (!ret)
		ret = served_start(d, sv);
	if (!ret)
		log_info("%s %s location %u -> %s (%s; %u queue(s) x %u, "
			 "%zu member(s))",
			 settings_protocol_name(pd->ctrl->protocol),
			 pd->key.controller, pd->key.location, sv->bdev,
			 sv->link, ld->nr_queues, ld->depth, pd->nr_members);
	return ret;
}

static void served_down(struct daemon *d, struct served *sv)
{
	struct ldisk *ld = &sv->ld;
	int ret;

	if (sv->started) {
		ret = ublk_stop_dev(&d->ctrl, ld->dev_id);
		if (ret)
			log_error("ublk device %u: STOP_DEV failed: %s",
				  ld->dev_id, strerror(-ret));
	} else if (ld->queues) {
		queue_abort_all(ld); /* never started: no STOP_DEV */
	}
	if (ld->queues)
		queue_join_all(ld);
	if (ld->cdev_fd >= 0)
		close(ld->cdev_fd);
	ld->cdev_fd = -1;
	if (sv->added) {
		ret = ublk_del_dev(&d->ctrl, ld->dev_id);
		if (ret)
			log_error("ublk device %u: DEL_DEV failed: %s",
				  ld->dev_id, strerror(-ret));
	}
	if (sv->link[0])
		state_link_remove(sv->link);
	for (int i = 0; ld->member_fds && i < ld->nr_members; i++)
		if (ld->member_fds[i] >= 0)
			close(ld->member_fds[i]);
	free(ld->member_fds);
	free(ld->queues);
	free((void *)ld->members);
	if (sv->mutex_init) {
		pthread_mutex_destroy(&ld->lock);
		pthread_cond_destroy(&ld->cond);
	}
	memset(sv, 0, sizeof(*sv));
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

/* Tell the tracing programs which devices are ours. */
static int trace_devices(struct daemon *d)
{
	uint32_t nr_disks = (uint32_t)d->plan.nr_disks;
	int ret = 0;

	for (size_t i = 0; i < d->nr_sv && !ret; i++) {
		const struct plan_disk *pd = d->sv[i].pd;
		struct blkx_trace_dev td = {.target = (uint32_t)i,
					    .kind = BLKX_TRACE_LUN,
					    .disk = (uint32_t)i};
		unsigned int maj, min;

		ret = sysfs_devno(d->sv[i].bdev + strlen("/dev/"), &maj, &min);
		if (!ret)
			ret = trace_add_dev(d->maps.trace_devs_fd, maj, min,
					    &td);
		for (size_t j = 0; !ret && j < pd->nr_members; j++) {
			const struct plan_member *pm = &pd->members[j];
			uint32_t mi = pd->geo.first_member + (uint32_t)j;

			if (pm->dev.is_file)
				continue; /* no block requests to see */
			td.target = nr_disks + mi;
			td.kind = BLKX_TRACE_MEMBER;
			td.member = mi;
			/* requests carry the whole disk, not a partition */
			ret = trace_add_dev(d->maps.trace_devs_fd,
					    major(pm->store_dev),
					    minor(pm->store_dev), &td);
			if (!ret && !strncmp(pm->dev.name, "nvme", 4))
				ret = trace_add_nvme(d->maps.trace_nvme_fd,
						     pm->dev.name, mi);
		}
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
		ret = trace_devices(d);
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
		 d->nr_sv, d->tracer.nvme ? " (and NVMe completions)" : "");
}

static struct json_object *state_json(const struct daemon *d)
{
	struct json_object *o = json_object_new_object();
	struct json_object *arr = json_object_new_array();

	json_object_object_add(o, "instance",
			       json_object_new_string(d->o->instance));
	json_object_object_add(o, "pid", json_object_new_int(getpid()));
	json_object_object_add(o, "config",
			       json_object_new_string(d->o->config));
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
	json_object_object_add(
		o, "ublk_features",
		json_object_new_int64((int64_t)d->ctrl.features));
	for (size_t i = 0; i < d->nr_sv; i++) {
		const struct served *sv = &d->sv[i];
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
		json_object_object_add(e, "disk",
				       json_object_new_int64((int64_t)i));
		json_object_object_add(e, "ublk_id",
				       json_object_new_int64(sv->ld.dev_id));
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
	for (size_t i = d->nr_sv; i-- > 0;)
		served_down(d, &d->sv[i]);
	free(d->sv);
	d->sv = NULL;
	if (d->lun_stats)
		munmap(d->lun_stats, d->lun_stats_len);
	if (d->member_stats)
		munmap(d->member_stats, d->member_stats_len);
	if (d->queue_stats)
		munmap(d->queue_stats, d->queue_stats_len);
	if (d->maps_created) {
		char err[512] = "";

		maps_close(&d->maps);
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
		d->dp = &dp_user_ops;
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
		ret = dp_bpf_probe(d->maps.dir, why, sizeof(why));
	if (!ret) {
		d->dp = &dp_bpf_ops;
		snprintf(d->dp_reason, sizeof(d->dp_reason),
			 "in-kernel io_uring BPF loop (io_uring_bpf_ops), zero "
			 "copy (UBLK_F_AUTO_BUF_REG)");
		goto out;
	}
	if (!strcmp(want, "bpf")) {
		snprintf(d->dp_reason, sizeof(d->dp_reason),
			 "--dataplane=bpf, but the BPF data path cannot run "
			 "here: %s",
			 why);
		log_error("%s", d->dp_reason);
		return -EOPNOTSUPP;
	}
	d->dp = &dp_user_ops;
	snprintf(d->dp_reason, sizeof(d->dp_reason),
		 "userspace io_uring loop, %s; no BPF data path: %s",
		 d->zero_copy ? "zero copy (UBLK_F_AUTO_BUF_REG)"
			      : "copy mode (requests are copied through "
				"server buffers)",
		 why);
out:
	log_info("data path: %s", d->dp_reason);
	return 0;
}

static int daemon_prepare(struct daemon *d)
{
	struct settings_error serr = {0};
	char err[512] = "";
	int ret;

	if (settings_parse_file(d->o->config, &d->s, &serr)) {
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
	if (maps_create(d->o->instance, &d->plan, &d->maps, err, sizeof(err))) {
		log_error("maps: %s", err);
		notify(d->o, "ERR %s\n", err);
		return CLI_FAILED;
	}
	d->maps_created = true;
	d->lun_stats =
		map_stats(d->maps.lun_stats_fd, BLKX_MAX_DISKS,
			  sizeof(struct blkx_io_stats), &d->lun_stats_len);
	d->member_stats =
		map_stats(d->maps.member_stats_fd, BLKX_MAX_MEMBERS,
			  sizeof(struct blkx_io_stats), &d->member_stats_len);
	d->queue_stats =
		map_stats(d->maps.queue_stats_fd,
			  maps_queue_stats_entries(d->plan.nr_disks),
			  sizeof(struct blkx_queue_stats), &d->queue_stats_len);
	if (!d->lun_stats || !d->member_stats || !d->queue_stats)
		log_warn("cannot map the stats maps (%s): counters stay 0",
			 strerror(errno));
	ret = choose_dataplane(d);
	if (ret) {
		notify(d->o, "ERR %s\n", d->dp_reason);
		return CLI_FAILED;
	}
	return CLI_OK;
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
		daemon_teardown(&d);
		return ret;
	}
	d.sv = calloc(d.plan.nr_disks ? d.plan.nr_disks : 1, sizeof(*d.sv));
	if (!d.sv) {
		daemon_teardown(&d);
		return CLI_FAILED;
	}
	for (size_t i = 0; i < d.plan.nr_disks; i++) {
		d.sv[i].pd = &d.plan.disks[i];
		d.nr_sv = i + 1;
		ret = served_up(&d, &d.sv[i], i);
		if (ret) {
			notify(o,
			       "ERR %s location %u could not be served: "
			       "%s (see the log)\n",
			       d.plan.disks[i].key.controller,
			       d.plan.disks[i].key.location, strerror(-ret));
			log_error("bring-up failed; taking everything down");
			daemon_teardown(&d);
			return CLI_FAILED;
		}
	}
	if (!o->no_tracing)
		start_tracing(&d);
	struct json_object *st = state_json(&d);

	ret = state_write(o->instance, st);
	json_object_put(st);
	if (ret)
		log_warn("cannot write the state file: %s", strerror(-ret));
	log_info("instance '%s' serving %zu disk(s); pid %d", o->instance,
		 d.nr_sv, getpid());
	notify(o, "OK %zu\n", d.nr_sv);

	for (;;) {
		if (sigwait(&set, &sig))
			continue;
		if (sig == SIGHUP) {
			log_warn("SIGHUP: live reconfiguration is not "
				 "supported yet; nothing changed");
			continue;
		}
		break;
	}
	log_info("signal %d: stopping %zu disk(s)", sig, d.nr_sv);
	state_remove(o->instance);
	daemon_teardown(&d);
	log_info("instance '%s' stopped", o->instance);
	return CLI_OK;
}
