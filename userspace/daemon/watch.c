// SPDX-License-Identifier: MIT
/* watch: file members cut below their planned range (see watch.h). */
#include "daemon/watch.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <blkxlate/remap.h>

#include "base/log.h"
#include "pins/program.h"

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool is_file(const struct plan_member *pm)
{
	return pm->m.backing == BLKX_BACKING_FILE;
}

/* Mark member j of LUN i failed: the maps first (the BPF path), then the
 * userspace path's copy. */
static void fail_member(struct serving *sv, const struct maps *m, size_t i,
			size_t j, long long size, unsigned long long need)
{
	struct plan_disk *pd = &sv->plan.disks[i];
	struct plan_member *pm = &pd->members[j];
	int ret;

	pm->m.flags |= BLKX_MEMBER_FAILED;
	ret = program_member(m, pd, j);
	lun_member_failed(sv->luns[i], j);
	log_error(
		"LUN %u of %s: member %s is %lld bytes, below the %llu bytes it serves (it was cut while served): every request that needs it now fails with EIO; serve the LUN anew (reload without it, then with it, or down and up) once the file is whole%s%s",
		pd->key.location, pd->key.controller, pm->dev.dev_path, size,
		need, ret ? "; the members map could not be updated: " : "",
		ret ? strerror(-ret) : "");
}

static void check(struct watch *w, struct serving *sv, const struct maps *m)
{
	for (size_t i = 0; i < sv->nr_luns; i++) {
		struct plan_disk *pd = &sv->plan.disks[i];
		struct lun *l = sv->luns[i];

		for (size_t j = 0; l && l->ld.member_fds && j < pd->nr_members;
		     j++) {
			const struct plan_member *pm = &pd->members[j];
			unsigned long long need =
				(unsigned long long)(pm->m.offset_sectors +
						     pm->m.size_sectors)
				<< BLKX_SECTOR_SHIFT;
			struct stat st;

			/* the data path's copy says what is failed */
			if (!is_file(pm) ||
			    blkx_member_failed(&l->ld.members[j]) ||
			    l->ld.member_fds[j] < 0 ||
			    fstat(l->ld.member_fds[j], &st))
				continue;
			if ((unsigned long long)st.st_size < need)
				fail_member(sv, m, i, j, (long long)st.st_size,
					    need);
		}
	}
	w->next_ms = now_ms() + (w->fd >= 0 ? WATCH_HOLDOFF_MS : 1000);
}

void watch_sync(struct watch *w, struct serving *sv, const struct maps *m)
{
	bool warned = false;

	watch_fini(w);
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	for (size_t i = 0; i < sv->nr_luns; i++) {
		const struct plan_disk *pd = &sv->plan.disks[i];
		const struct lun *l = sv->luns[i];

		for (size_t j = 0; l && l->ld.member_fds && j < pd->nr_members;
		     j++) {
			char path[64];

			if (!is_file(&pd->members[j]) ||
			    l->ld.member_fds[j] < 0)
				continue;
			w->nr_files++;
			/* the file we hold open, not whatever the path
			 * names now */
			snprintf(path, sizeof(path), "/proc/self/fd/%d",
				 l->ld.member_fds[j]);
			if (w->fd >= 0 &&
			    inotify_add_watch(w->fd, path, IN_MODIFY) < 0 &&
			    !warned) {
				log_warn(
					"cannot watch %s (%s): file members are checked every second instead",
					pd->members[j].dev.dev_path,
					strerror(errno));
				warned = true;
				close(w->fd);
				w->fd = -1;
			}
		}
	}
	if (!w->nr_files && w->fd >= 0) {
		close(w->fd);
		w->fd = -1;
	}
	check(w, sv, m);
}

int watch_poll_fd(const struct watch *w)
{
	/* during the hold-off the events wait (inotify merges them) */
	return w->fd >= 0 && now_ms() >= w->next_ms ? w->fd : -1;
}

int watch_timeout_ms(const struct watch *w)
{
	long long left = w->next_ms - now_ms();

	if (!w->nr_files)
		return -1;
	if (left > 0)
		return (int)left;
	return w->fd >= 0 ? -1 : 0; /* inotify wakes us, else check now */
}

void watch_run(struct watch *w, struct serving *sv, const struct maps *m)
{
	char buf[4096];

	bool changed = w->fd < 0;

	if (!w->nr_files || now_ms() < w->next_ms)
		return;
	while (w->fd >= 0 && read(w->fd, buf, sizeof(buf)) > 0)
		changed = true;
	if (changed)
		check(w, sv, m);
}

void watch_fini(struct watch *w)
{
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
	w->nr_files = 0;
	w->next_ms = 0;
}
