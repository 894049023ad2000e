// SPDX-License-Identifier: MIT
/*
 * program: order matters where the data path reads while we write.  A
 * disk's geometry and members are written before its LUN entry exists
 * (program_disk, then program_lun_add), and its LUN entry goes before its
 * slot is given back (program_lun_remove first).
 */
#include "pins/program.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>

static int put(int fd, const void *key, const void *val, __u64 flags)
{
	return bpf_map_update_elem(fd, key, val, flags) ? -errno : 0;
}

static int program_geometry(const struct maps *m, const struct plan_disk *pd,
			    uint32_t di)
{
	int ret = 0;

	for (size_t j = 0; !ret && j < pd->nr_members; j++) {
		__u32 mi = pd->geo.first_member + (__u32)j;

		ret = put(m->members_fd, &mi, &pd->members[j].m, BPF_ANY);
	}
	return ret ? ret : put(m->disks_fd, &di, &pd->geo, BPF_ANY);
}

int program_member(const struct maps *m, const struct plan_disk *pd, size_t j)
{
	__u32 mi = pd->geo.first_member + (__u32)j;

	if (j >= pd->nr_members)
		return -EINVAL;
	return put(m->members_fd, &mi, &pd->members[j].m, BPF_EXIST);
}

int program_plan(const struct maps *m, const struct plan *p, char *err,
		 size_t errlen)
{
	struct maps_slots slots = maps_slots_for(p->nr_disks, p->nr_members);
	struct blkx_meta meta = {
		.abi_version = BLKX_ABI_VERSION,
		.nr_disks = (__u32)p->nr_disks,
		.nr_members = (__u32)p->nr_members,
		.disk_slots = slots.disks,
		.member_slots = slots.members,
		.generation = (__u64)time(NULL),
	};
	__u32 zero = 0;
	int ret;

	for (size_t i = 0; i < p->nr_disks; i++) {
		const struct plan_disk *d = &p->disks[i];
		struct blkx_lun lun = {.disk = (__u32)i,
				       .protocol = d->geo.protocol};

		ret = program_geometry(m, d, (uint32_t)i);
		if (!ret)
			ret = put(m->luns_fd, &d->key, &lun, BPF_NOEXIST);
		if (ret) {
			maps_errf(err, errlen, "programming disk %zu: %s", i,
				  strerror(-ret));
			return ret;
		}
	}
	ret = put(m->meta_fd, &zero, &meta, BPF_ANY);
	if (ret)
		maps_errf(err, errlen, "programming meta: %s", strerror(-ret));
	return ret;
}

int program_disk(const struct maps *m, const struct maps_slots *slots,
		 const struct plan_disk *pd, uint32_t di)
{
	int ret = program_geometry(m, pd, di);

	if (!ret)
		program_reset_counters(m, slots, pd, di);
	return ret;
}

int program_lun_add(const struct maps *m, const struct plan_disk *pd,
		    uint32_t di)
{
	struct blkx_lun lv = {.disk = di, .protocol = pd->geo.protocol};

	return put(m->luns_fd, &pd->key, &lv, BPF_ANY);
}

int program_lun_remove(const struct maps *m, const struct plan_disk *pd)
{
	return bpf_map_delete_elem(m->luns_fd, &pd->key) && errno != ENOENT
		       ? -errno
		       : 0;
}

int program_lun_prune(const struct maps *m, const bool *used, uint32_t cap)
{
	static struct blkx_lun_key stale[BLKX_MAX_DISKS];
	struct blkx_lun_key cur, next;
	size_t n = 0;
	int removed = 0;

	for (bool first = true;
	     n < BLKX_MAX_DISKS &&
	     !bpf_map_get_next_key(m->luns_fd, first ? NULL : &cur, &next);
	     first = false) {
		struct blkx_lun v;

		cur = next;
		if (!bpf_map_lookup_elem(m->luns_fd, &cur, &v) &&
		    (v.disk >= cap || !used[v.disk]))
			stale[n++] = cur;
	}
	for (size_t i = 0; i < n; i++)
		removed += !bpf_map_delete_elem(m->luns_fd, &stale[i]);
	return removed;
}

int program_meta_update(const struct maps *m, size_t nr_disks,
			size_t nr_members)
{
	struct blkx_meta meta;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(m->meta_fd, &zero, &meta))
		return -errno;
	meta.nr_disks = (__u32)nr_disks;
	meta.nr_members = (__u32)nr_members;
	meta.generation++;
	return put(m->meta_fd, &zero, &meta, BPF_ANY);
}

void program_reset_counters(const struct maps *m,
			    const struct maps_slots *slots,
			    const struct plan_disk *pd, uint32_t di)
{
	static const struct blkx_hist zero_hist;
	static const struct blkx_io_stats zero_io;
	static const struct blkx_queue_stats zero_q;

	put(m->lun_stats_fd, &di, &zero_io, BPF_ANY);
	for (__u32 q = 0; q < BLKX_MAX_QUEUES; q++) {
		__u32 k = di * BLKX_MAX_QUEUES + q;

		put(m->queue_stats_fd, &k, &zero_q, BPF_ANY);
	}
	for (size_t j = 0; j < pd->nr_members; j++) {
		__u32 mi = pd->geo.first_member + (__u32)j;

		put(m->member_stats_fd, &mi, &zero_io, BPF_ANY);
	}
	for (__u32 op = 0; op < BLKX_NR_TOPS; op++) {
		__u32 k = di * BLKX_NR_TOPS + op;

		put(m->io_hist_fd, &k, &zero_hist, BPF_ANY);
		for (size_t j = 0; j < pd->nr_members; j++) {
			k = (slots->disks + pd->geo.first_member + (__u32)j) *
				    BLKX_NR_TOPS +
			    op;
			put(m->io_hist_fd, &k, &zero_hist, BPF_ANY);
		}
	}
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

static int trace_dev(const struct maps *m, uint32_t major, uint32_t minor,
		     const struct blkx_trace_dev *td, bool add)
{
	uint32_t key = program_dev_key(major, minor);

	if (add)
		return put(m->trace_devs_fd, &key, td, BPF_ANY);
	return bpf_map_delete_elem(m->trace_devs_fd, &key) && errno != ENOENT
		       ? -errno
		       : 0;
}

int program_trace_lun(const struct maps *m, const struct maps_slots *slots,
		      const struct plan_disk *pd, uint32_t di, const char *bdev,
		      bool add)
{
	struct blkx_trace_dev td = {
		.target = di, .kind = BLKX_TRACE_LUN, .disk = di};
	const char *name = strrchr(bdev, '/');
	unsigned int maj, min;
	int ret;

	ret = sysfs_devno(name ? name + 1 : bdev, &maj, &min);
	if (!ret)
		ret = trace_dev(m, maj, min, &td, add);
	for (size_t j = 0; !ret && j < pd->nr_members; j++) {
		const struct plan_member *pm = &pd->members[j];
		uint32_t mi = pd->geo.first_member + (uint32_t)j;

		if (pm->dev.is_file)
			continue; /* no block requests to see */
		td.target = slots->disks + mi;
		td.kind = BLKX_TRACE_MEMBER;
		td.member = mi;
		/* requests carry the whole disk, not a partition */
		ret = trace_dev(m, major(pm->dev.store_dev),
				minor(pm->dev.store_dev), &td, add);
		if (!ret && add && !strncmp(pm->dev.name, "nvme", 4)) {
			char key[32] = {
				0}; /* trace_nvme's key: the disk name */

			memcpy(key, pm->dev.name,
			       strnlen(pm->dev.name, sizeof(key) - 1));
			ret = put(m->trace_nvme_fd, key, &mi, BPF_ANY);
		}
	}
	return ret;
}

int program_trace_readers(const struct maps *m, int delta)
{
	struct blkx_trace_ctl ctl;
	uint32_t zero = 0;

	if (bpf_map_lookup_elem(m->trace_ctl_fd, &zero, &ctl))
		return -errno;
	if (delta > 0)
		ctl.readers++;
	else if (ctl.readers)
		ctl.readers--;
	return put(m->trace_ctl_fd, &zero, &ctl, BPF_ANY);
}
