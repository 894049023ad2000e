// SPDX-License-Identifier: MIT
/*
 * maps: the control plane's side of the pinned maps.  The remap skeleton
 * defines every map with LIBBPF_PIN_BY_NAME; opening it with the instance
 * directory as pin root creates and pins them there, and every later BPF
 * object of the instance reuses them by name.
 */
#include "pins/maps.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include <blkxlate/remap.h>

#include "pins/program.h"
#include "remap.skel.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

/* The pinned objects of an instance and where struct maps keeps their fd;
 * the last one is the remap program, the others are maps of that name. */
static const struct {
	const char *name;
	size_t fd_off;
} pins[] = {
	{"luns", offsetof(struct maps, luns_fd)},
	{"disks", offsetof(struct maps, disks_fd)},
	{"members", offsetof(struct maps, members_fd)},
	{"lun_stats", offsetof(struct maps, lun_stats_fd)},
	{"member_stats", offsetof(struct maps, member_stats_fd)},
	{"meta", offsetof(struct maps, meta_fd)},
	{"queue_stats", offsetof(struct maps, queue_stats_fd)},
	{"trace_devs", offsetof(struct maps, trace_devs_fd)},
	{"io_hist", offsetof(struct maps, io_hist_fd)},
	{"nvme_stats", offsetof(struct maps, nvme_stats_fd)},
	{"trace_nvme", offsetof(struct maps, trace_nvme_fd)},
	{"trace_ctl", offsetof(struct maps, trace_ctl_fd)},
	{"trace_events", offsetof(struct maps, trace_events_fd)},
	{MAPS_PROG_PIN, offsetof(struct maps, prog_fd)},
};
#define NR_PINS (sizeof(pins) / sizeof(pins[0]))

static int *pin_fd(struct maps *m, size_t i)
{
	return (int *)((char *)m + pins[i].fd_off);
}

void maps_errf(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!err || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

const char *maps_bpffs_root(void)
{
	const char *r = getenv("BLKXLATE_BPFFS");

	return r && *r ? r : "/sys/fs/bpf";
}

static int instance_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 32)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return 0;
	}
	return 1;
}

int maps_instance_dir(const char *instance, char *buf, size_t len)
{
	int n;

	if (!instance_name_ok(instance))
		return -EINVAL;
	n = snprintf(buf, len, "%s/blkxlate/%s", maps_bpffs_root(), instance);
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	return 0;
}

/* Mount bpffs on the default root if nothing is mounted there. */
static int ensure_bpffs(char *err, size_t errlen)
{
	const char *root = maps_bpffs_root();
	struct statfs sfs;

	if (!statfs(root, &sfs) && (unsigned long)sfs.f_type == BPF_FS_MAGIC)
		return 0;
	if (strcmp(root, "/sys/fs/bpf")) {
		maps_errf(err, errlen,
			  "%s is not a bpffs mount (BLKXLATE_BPFFS)", root);
		return -ENOTDIR;
	}
	if (mount("bpf", root, "bpf", 0, "mode=0700")) {
		int e = errno;

		maps_errf(
			err, errlen,
			"bpffs is not mounted on %s and mounting it failed: %s",
			root, strerror(e));
		return -e;
	}
	return 0;
}

static int mkdir_0700(const char *path)
{
	if (mkdir(path, 0700) && errno != EEXIST)
		return -errno;
	/* mkdir honours the umask; the pins must be root's only */
	if (chmod(path, 0700))
		return -errno;
	return 0;
}

static void init_fds(struct maps *m)
{
	memset(m, 0, sizeof(*m));
	for (size_t i = 0; i < NR_PINS; i++)
		*pin_fd(m, i) = -1;
}

static int dup_map_fds(struct maps *m)
{
	for (size_t i = 0; i < NR_PINS; i++) {
		int fd;

		if (i == NR_PINS - 1)
			fd = bpf_program__fd(m->skel->progs.blkx_map_lba);
		else
			fd = bpf_map__fd(bpf_object__find_map_by_name(
				m->skel->obj, pins[i].name));
		*pin_fd(m, i) = fd < 0 ? -1 : dup(fd);
		if (*pin_fd(m, i) < 0)
			return fd < 0 ? fd : -errno;
	}
	return 0;
}

static int dir_is_empty(const char *path)
{
	struct dirent *de;
	DIR *d = opendir(path);
	int empty = 1;

	if (!d)
		return 1;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			empty = 0;
			break;
		}
	}
	closedir(d);
	return empty;
}

int maps_create(const char *instance, const struct plan *p, struct maps *m,
		char *err, size_t errlen)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts);
	char top[PATH_MAX], prog_pin[PATH_MAX + 16];
	struct maps_slots slots;
	int ret;

	init_fds(m);
	ret = maps_instance_dir(instance, m->dir, sizeof(m->dir));
	if (ret) {
		maps_errf(err, errlen,
			  "invalid instance name '%s' (1-32 of [A-Za-z0-9_-])",
			  instance);
		return ret;
	}
	ret = ensure_bpffs(err, errlen);
	if (ret)
		return ret;
	snprintf(top, sizeof(top), "%s/blkxlate", maps_bpffs_root());
	ret = mkdir_0700(top);
	if (!ret)
		ret = mkdir_0700(m->dir);
	if (ret) {
		maps_errf(err, errlen, "cannot create %s: %s", m->dir,
			  strerror(-ret));
		return ret;
	}
	if (!dir_is_empty(m->dir)) {
		maps_errf(
			err, errlen,
			"instance '%s' is already loaded (%s); unload it first",
			instance, m->dir);
		return -EEXIST;
	}

	opts.pin_root_path = m->dir;
	m->skel = remap_bpf__open_opts(&opts);
	if (!m->skel) {
		ret = -errno;
		maps_errf(err, errlen, "opening the BPF object: %s",
			  strerror(-ret));
		goto fail;
	}
	slots = maps_slots_for(p->nr_disks, p->nr_members);
	ret = bpf_map__set_max_entries(m->skel->maps.queue_stats,
				       maps_queue_stats_entries(slots));
	if (!ret)
		ret = bpf_map__set_max_entries(m->skel->maps.io_hist,
					       maps_io_hist_entries(slots));
	if (!ret)
		ret = remap_bpf__load(m->skel);
	if (ret) {
		maps_errf(
			err, errlen,
			"loading the BPF maps and remap program: %s (is this root with BPF enabled?)",
			strerror(-ret));
		goto fail;
	}
	ret = dup_map_fds(m);
	if (!ret)
		ret = program_plan(m, p, err, errlen);
	if (ret)
		goto fail;
	snprintf(prog_pin, sizeof(prog_pin), "%s/%s", m->dir, MAPS_PROG_PIN);
	ret = bpf_program__pin(m->skel->progs.blkx_map_lba, prog_pin);
	if (ret) {
		maps_errf(err, errlen, "pinning %s: %s", prog_pin,
			  strerror(-ret));
		goto fail;
	}
	return 0;
fail:
	maps_close(m);
	maps_destroy(instance, NULL, 0);
	return ret;
}

int maps_open(const char *instance, struct maps *m, char *err, size_t errlen)
{
	int ret;

	init_fds(m);
	ret = maps_instance_dir(instance, m->dir, sizeof(m->dir));
	if (ret) {
		maps_errf(err, errlen, "invalid instance name '%s'", instance);
		return ret;
	}
	for (size_t i = 0; i < NR_PINS; i++) {
		char path[PATH_MAX + 32];

		snprintf(path, sizeof(path), "%s/%s", m->dir, pins[i].name);
		*pin_fd(m, i) = bpf_obj_get(path);
		if (*pin_fd(m, i) < 0) {
			ret = -errno;
			if (ret == -ENOENT)
				maps_errf(
					err, errlen,
					"instance '%s' is not loaded (no %s); run 'blkxlate load CONFIG' first",
					instance, path);
			else
				maps_errf(err, errlen, "opening %s: %s", path,
					  strerror(-ret));
			maps_close(m);
			return ret;
		}
	}
	return 0;
}

void maps_close(struct maps *m)
{
	for (size_t i = 0; i < NR_PINS; i++) {
		if (*pin_fd(m, i) >= 0)
			close(*pin_fd(m, i));
		*pin_fd(m, i) = -1;
	}
	if (m->skel)
		remap_bpf__destroy(m->skel);
	m->skel = NULL;
}

int maps_destroy(const char *instance, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	int ret, found = 0;

	ret = maps_instance_dir(instance, dir, sizeof(dir));
	if (ret) {
		maps_errf(err, errlen, "invalid instance name '%s'", instance);
		return ret;
	}
	for (size_t i = 0; i < NR_PINS; i++) {
		char path[PATH_MAX + 32];

		snprintf(path, sizeof(path), "%s/%s", dir, pins[i].name);
		if (!unlink(path))
			found++;
		else if (errno != ENOENT) {
			ret = -errno;
			maps_errf(err, errlen, "removing %s: %s", path,
				  strerror(errno));
		}
	}
	if (rmdir(dir) && errno != ENOENT) {
		if (!ret) {
			ret = -errno;
			maps_errf(err, errlen,
				  "removing %s: %s (unknown pins left there?)",
				  dir, strerror(errno));
		}
	} else if (!found && !ret) {
		maps_errf(err, errlen, "instance '%s' is not loaded", instance);
		return -ENOENT;
	}
	return ret;
}

int maps_remap(const struct maps *m, struct blkx_remap_ctx *rq)
{
	LIBBPF_OPTS(bpf_test_run_opts, topts, .ctx_in = rq,
		    .ctx_size_in = sizeof(*rq));

	/* -EBUSY: another caller owned this CPU's scratch entry; retry */
	for (int tries = 0; tries < 100; tries++) {
		if (bpf_prog_test_run_opts(m->prog_fd, &topts))
			return -errno;
		if (rq->result != -BLKX_EBUSY)
			return 0;
		usleep(100);
	}
	return -EBUSY;
}

int maps_match_pins(struct bpf_object *obj, const char *pin_dir)
{
	struct bpf_map *map;

	bpf_object__for_each_map(map, obj)
	{
		struct bpf_map_info info;
		__u32 len = sizeof(info);
		char path[PATH_MAX];
		int fd, ret;

		if (snprintf(path, sizeof(path), "%s/%s", pin_dir,
			     bpf_map__name(map)) >= (int)sizeof(path))
			return -ENAMETOOLONG;
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue; /* not pinned (yet): created as declared */
		memset(&info, 0, sizeof(info));
		ret = bpf_map_get_info_by_fd(fd, &info, &len);
		close(fd);
		if (ret)
			return -errno;
		if (info.max_entries != bpf_map__max_entries(map)) {
			ret = bpf_map__set_max_entries(map, info.max_entries);
			if (ret)
				return ret;
		}
	}
	return 0;
}

int maps_slots_get(const struct maps *m, struct maps_slots *s)
{
	struct blkx_meta meta;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(m->meta_fd, &zero, &meta))
		return -errno;
	s->disks = meta.disk_slots;
	s->members = meta.member_slots;
	return 0;
}
