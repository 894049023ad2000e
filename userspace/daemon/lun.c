// SPDX-License-Identifier: MIT
/*
 * lun: bring-up order matters.  Members first (held exclusively), then the
 * ublk device and its parameters, then every queue thread with a FETCH for
 * every tag, and only then START_DEV (or END_USER_RECOVERY), which waits
 * for those fetches.  lun_down() undoes whatever part was done.
 */
#include "base/bits.h"
#include "daemon/lun.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "daemon/instance.h"
#include "daemon/state.h"

static int open_member(const struct plan_member *pm, bool read_only)
{
	int flags = (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC;
	int fd;

	/* hold block devices exclusively: no one mounts them under us */
	if (!pm->dev.is_file)
		flags |= O_EXCL;
	/* a backing a LUN just removed held stays busy until the kernel has
	 * torn down that LUN's rings, shortly after they were closed */
	for (int tries = 0;; tries++) {
		fd = open(pm->dev.dev_path, flags | O_DIRECT);
		if (fd >= 0 || errno != EBUSY || tries >= 30)
			break;
		usleep(100 * 1000);
	}
	if (fd < 0 && errno == EINVAL) {
		/* e.g. a file on ramfs: no O_DIRECT there */
		log_warn(
			"%s does not support O_DIRECT; using buffered I/O (flushes still reach it)",
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
	p->basic.max_sectors = pd->max_io_bytes >> BLKX_SECTOR_SHIFT;
	/* the block layer splits at chunk boundaries: one member per
	 * read/write (a power of two is what it accepts) */
	p->basic.chunk_sectors = is_pow2(chunk) ? chunk : 0;
	p->basic.dev_sectors = pd->geo.size_sectors;

	p->discard.discard_granularity = pd->pbs;
	p->discard.max_discard_segments = 1;
	if (pd->discard)
		p->discard.max_discard_sectors =
			UINT32_MAX >> BLKX_SECTOR_SHIFT;
	/* zero-range falls back to writing zeroes: always possible */
	p->discard.max_write_zeroes_sectors = UINT32_MAX >> BLKX_SECTOR_SHIFT;
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

static unsigned int pick_queues(const struct lun_env *env)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	if (env->nr_queues)
		return env->nr_queues;
	if (ncpu < 1)
		ncpu = 1;
	return ncpu > BLKX_MAX_QUEUES ? BLKX_MAX_QUEUES : (unsigned int)ncpu;
}

static unsigned int pick_depth(const struct lun_env *env,
			       const struct plan_disk *pd)
{
	if (env->depth)
		return env->depth;
	if (pd->ctrl->io_queue_depth.has)
		return (unsigned int)pd->ctrl->io_queue_depth.val;
	return LUN_DEFAULT_DEPTH;
}

static int open_members(struct lun *l)
{
	const struct plan_disk *pd = l->pd;
	struct ldisk *ld = &l->ld;
	struct blkx_member *mv;

	ld->nr_members = (int)pd->nr_members;
	ld->member_fds = calloc(pd->nr_members, sizeof(int));
	ld->queues = calloc(ld->nr_queues, sizeof(*ld->queues));
	/* the members map values, as the BPF side sees them */
	mv = calloc(pd->nr_members, sizeof(*mv));
	ld->members = mv;
	if (!ld->member_fds || !ld->queues || !mv)
		return -ENOMEM;
	for (size_t i = 0; i < pd->nr_members; i++) {
		ld->member_fds[i] = -1;
		mv[i] = pd->members[i].m;
	}
	for (size_t i = 0; i < pd->nr_members; i++) {
		int fd = open_member(&pd->members[i], pd->read_only);

		if (fd < 0)
			return fd;
		ld->member_fds[i] = fd;
	}
	return 0;
}

void lun_member_failed(struct lun *l, size_t j)
{
	if (l->ld.members && j < (size_t)l->ld.nr_members)
		__atomic_or_fetch(&l->ld.members[j].flags, BLKX_MEMBER_FAILED,
				  __ATOMIC_RELEASE);
}

static int open_cdev(struct ldisk *ld)
{
	char cdev[32];
	int ret;

	snprintf(cdev, sizeof(cdev), "/dev/ublkc%u", ld->dev_id);
	if (wait_for_node(cdev, 3000) ||
	    (ld->cdev_fd = open(cdev, O_RDWR | O_CLOEXEC)) < 0) {
		ret = errno ? -errno : -ENOENT;
		log_error("cannot open %s: %s", cdev, strerror(-ret));
		return ret;
	}
	return 0;
}

static int add_device(struct lun *l, const struct lun_env *env)
{
	const struct plan_disk *pd = l->pd;
	struct ldisk *ld = &l->ld;
	struct ublksrv_ctrl_dev_info info;
	struct ublk_params params;
	int ret;

	memset(&info, 0, sizeof(info));
	info.nr_hw_queues = ld->nr_queues;
	info.queue_depth = ld->depth;
	info.max_io_buf_bytes = pd->max_io_bytes;
	info.flags = UBLK_F_CMD_IOCTL_ENCODE;
	if (env->zero_copy)
		info.flags |= UBLK_F_AUTO_BUF_REG;
	if (env->recovery) {
		/* the device outlives a crashed daemon; I/O waits for the
		 * next one and what was in flight is issued again */
		info.flags |= UBLK_F_USER_RECOVERY;
		/* FAIL_IO and REISSUE exclude each other */
		if (env->fail_io)
			info.flags |= UBLK_F_USER_RECOVERY_FAIL_IO;
		else if (env->ctrl->features & UBLK_F_USER_RECOVERY_REISSUE)
			info.flags |= UBLK_F_USER_RECOVERY_REISSUE;
	}
	instance_mark_dev(&info, env->instance);
	/* pick the id, journal it, then add the device with that id */
	for (int tries = 0, from = 0;; tries++) {
		int id = instance_free_dev_id(env->ctrl, (uint32_t)from);

		ret = id < 0 ? id : 0;
		if (!ret) {
			ld->dev_id = (uint32_t)id;
			l->claimed = true;
			ret = env->journal ? env->journal(env->journal_ctx) : 0;
			if (ret)
				log_error(
					"cannot journal ublk device %d in the state file: %s; not adding it",
					id, strerror(-ret));
		}
		if (ret) {
			l->claimed = false;
			return ret;
		}
		instance_crash_point("add-journaled");
		info.dev_id = (uint32_t)id;
		ret = ublk_add_dev(env->ctrl, &info);
		/* another server took the id in between: the next one */
		if (ret != -EEXIST || tries >= 16)
			break;
		from = id + 1;
	}
	if (ret) {
		log_error("%s location %u: ublk ADD_DEV failed: %s",
			  pd->key.controller, pd->key.location, strerror(-ret));
		return ret;
	}
	instance_crash_point("added");
	l->added = true;
	ld->dev_id = info.dev_id;
	fill_params(pd, &params);
	ret = ublk_set_params(env->ctrl, ld->dev_id, &params);
	if (ret) {
		log_error("ublk device %u: SET_PARAMS failed: %s", ld->dev_id,
			  strerror(-ret));
		return ret;
	}
	return open_cdev(ld);
}

/*
 * Take over device id from a crashed daemon.  The kernel accepts
 * START_USER_RECOVERY once it has seen every queue of the old daemon go
 * (the device is QUIESCED); until then it answers -EBUSY.
 */
static int recover_device(struct lun *l, const struct lun_env *env, uint32_t id)
{
	struct ublksrv_ctrl_dev_info info;
	struct ldisk *ld = &l->ld;
	int ret;

	ret = ublk_get_dev_info(env->ctrl, id, &info);
	if (ret) {
		log_error("ublk device %u of the crashed daemon is gone: %s",
			  id, strerror(-ret));
		return ret;
	}
	if (!(info.flags & UBLK_F_USER_RECOVERY)) {
		log_error("ublk device %u was not created for recovery", id);
		return -EINVAL;
	}
	l->added = true;
	ld->dev_id = id;
	/* the device keeps its own shape: serve it the way it was made */
	ld->nr_queues = info.nr_hw_queues;
	ld->depth = info.queue_depth;
	ld->zero_copy = info.flags & UBLK_F_AUTO_BUF_REG;
	for (int tries = 0;; tries++) {
		ret = ublk_start_recovery(env->ctrl, id);
		if (ret != -EBUSY || tries >= 100)
			break;
		usleep(100 * 1000);
	}
	if (ret) {
		log_error("ublk device %u: START_USER_RECOVERY failed: %s", id,
			  strerror(-ret));
		return ret;
	}
	l->recovered = true;
	return open_cdev(ld);
}

static int make_link(struct lun *l)
{
	const struct plan_disk *pd = l->pd;
	int ret;

	ret = state_link_path(
		pd->key.controller, pd->ctrl->protocol == SETTINGS_PROTO_IDE,
		pd->key.channel, pd->key.location, l->link, sizeof(l->link));
	if (!ret)
		ret = state_link_create(l->link, l->bdev);
	if (ret) {
		log_error("cannot create %s: %s", l->link, strerror(-ret));
		l->link[0] = '\0';
	}
	return ret;
}

static int start_device(struct lun *l, const struct lun_env *env)
{
	struct ldisk *ld = &l->ld;
	int ret;

	if (l->recovered)
		ret = ublk_end_recovery(env->ctrl, ld->dev_id, getpid());
	else
		ret = ublk_start_dev(env->ctrl, ld->dev_id, getpid());
	if (ret) {
		log_error("ublk device %u: %s failed: %s", ld->dev_id,
			  l->recovered ? "END_USER_RECOVERY" : "START_DEV",
			  strerror(-ret));
		return ret;
	}
	l->started = l->committed = true;
	instance_crash_point("started");
	snprintf(l->bdev, sizeof(l->bdev), "/dev/ublkb%u", ld->dev_id);
	if (wait_for_node(l->bdev, 3000))
		log_warn("%s did not appear", l->bdev);
	if (!l->recovered)
		set_scheduler_none(ld->dev_id);
	return make_link(l);
}

void lun_init(struct lun *l, const struct lun_env *env,
	      const struct plan_disk *pd, uint32_t idx, int recover_id)
{
	struct ldisk *ld = &l->ld;

	memset(l, 0, sizeof(*l));
	l->pd = pd;
	ld->cdev_fd = -1;
	ld->disk_index = idx;
	ld->nr_queues = (uint16_t)pick_queues(env);
	ld->depth = (uint16_t)pick_depth(env, pd);
	pthread_mutex_init(&ld->lock, NULL);
	pthread_cond_init(&ld->cond, NULL);
	l->mutex_init = true;
	if (recover_id >= 0) {
		/* a crashed daemon's: it served, and the state file names it */
		ld->dev_id = (uint32_t)recover_id;
		l->claimed = l->committed = l->recovering = true;
	}
}

int lun_prepare(struct lun *l, const struct lun_env *env)
{
	const struct plan_disk *pd = l->pd;
	struct ldisk *ld = &l->ld;
	uint32_t idx = ld->disk_index;
	int ret;

	ld->geo = pd->geo;
	ld->zero_copy = env->zero_copy;
	ld->max_io_bytes = pd->max_io_bytes;
	ld->lun_stats = env->lun_stats ? env->lun_stats + idx : NULL;
	ld->member_stats = env->member_stats
				   ? env->member_stats + pd->geo.first_member
				   : NULL;
	ld->pin_dir = env->pin_dir;
	ld->queue_stats = env->queue_stats;
	ld->queue_stats_entries = env->queue_stats_entries;
	if (l->recovering) {
		/* learn the device's queues before opening anything */
		ret = recover_device(l, env, ld->dev_id);
		if (!ret)
			ret = open_members(l);
	} else {
		ret = open_members(l);
		if (!ret)
			ret = add_device(l, env);
	}
	if (!ret) {
		ret = queue_start_all(ld, env->dp);
		if (ret)
			log_error("ublk device %u: queue setup failed: %s",
				  ld->dev_id, strerror(-ret));
	}
	return ret;
}

int lun_start(struct lun *l, const struct lun_env *env)
{
	const struct plan_disk *pd = l->pd;
	struct ldisk *ld = &l->ld;
	int ret = start_device(l, env);

	if (!ret)
		log_info(
			"%s %s location %u -> %s (%s; %u queue(s) x %u, %zu member(s)%s)",
			settings_protocol_name(pd->ctrl->protocol),
			pd->key.controller, pd->key.location, l->bdev, l->link,
			ld->nr_queues, ld->depth, pd->nr_members,
			l->recovered ? ", recovered" : "");
	return ret;
}

int lun_up(struct lun *l, const struct lun_env *env)
{
	int ret = lun_prepare(l, env);

	return ret ? ret : lun_start(l, env);
}

void lun_down(struct lun *l, const struct lun_env *env)
{
	struct ldisk *ld = &l->ld;
	int ret;

	if (l->started) {
		ret = ublk_stop_dev(env->ctrl, ld->dev_id);
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
	if (l->added) {
		ret = ublk_del_dev(env->ctrl, ld->dev_id);
		if (ret)
			log_error("ublk device %u: DEL_DEV failed: %s",
				  ld->dev_id, strerror(-ret));
	}
	if (l->link[0])
		state_link_remove(l->link);
	for (int i = 0; ld->member_fds && i < ld->nr_members; i++)
		if (ld->member_fds[i] >= 0)
			close(ld->member_fds[i]);
	free(ld->member_fds);
	free(ld->queues);
	free(ld->members);
	if (l->mutex_init) {
		pthread_mutex_destroy(&ld->lock);
		pthread_cond_destroy(&ld->cond);
	}
	memset(l, 0, sizeof(*l));
}
