// SPDX-License-Identifier: MIT
#include "daemon/instance.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon/state.h"
#include "pins/maps.h"

static int open_lock_file(const char *instance, int flags)
{
	char path[PATH_MAX];
	int fd, ret;

	/* the one check of a name: the pins' */
	if (maps_instance_dir(instance, path, sizeof(path)))
		return -EINVAL;
	ret = state_path(instance, "lock", path, sizeof(path));
	if (!ret && (flags & O_CREAT))
		ret = state_run_dir_create();
	if (ret)
		return ret;
	fd = open(path, flags | O_NOFOLLOW | O_CLOEXEC, 0600);
	return fd < 0 ? -errno : fd;
}

static struct flock whole_file(short type)
{
	struct flock fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = type;
	fl.l_whence = SEEK_SET;
	return fl;
}

static int holder_of(int fd)
{
	struct flock fl = whole_file(F_WRLCK);

	if (fcntl(fd, F_GETLK, &fl))
		return 0;
	return fl.l_type == F_UNLCK ? 0 : (int)fl.l_pid;
}

int instance_lock(const char *instance, int *holder)
{
	struct flock fl = whole_file(F_WRLCK);
	int fd = open_lock_file(instance, O_RDWR | O_CREAT);

	*holder = 0;
	if (fd < 0)
		return fd;
	if (!fcntl(fd, F_SETLK, &fl))
		return fd;
	if (errno != EAGAIN && errno != EACCES) {
		int e = errno;

		close(fd);
		return -e;
	}
	*holder = holder_of(fd);
	close(fd);
	return -EBUSY;
}

int instance_lock_wait(const char *instance, int timeout_ms, int *holder)
{
	for (int waited = 0;; waited += 50) {
		int fd = instance_lock(instance, holder);

		if (fd != -EBUSY || waited >= timeout_ms)
			return fd;
		usleep(50 * 1000);
	}
}

void instance_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}

int instance_lock_holder(const char *instance)
{
	int fd = open_lock_file(instance, O_RDONLY);
	int pid;

	if (fd < 0)
		return 0;
	pid = holder_of(fd);
	close(fd);
	return pid;
}

uint64_t instance_mark(const char *instance)
{
	/* "bX" in the top 16 bits, FNV-1a of the name in the other 48 */
	uint64_t h = 14695981039346656037ULL;

	for (const char *p = instance; *p; p++) {
		h ^= (unsigned char)*p;
		h *= 1099511628211ULL;
	}
	return 0x6258ULL << 48 | (h & 0xffffffffffffULL);
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* Every ublk device id there is now: /sys/class/ublk-char/ublkcN (or
 * /dev/ublkcN), into ids[0..max); returns how many, or -errno. */
static int all_dev_ids(int *ids, int max)
{
	const char *dirs[] = {"/sys/class/ublk-char", "/dev"};
	int n = 0;

	for (size_t d = 0; d < 2 && !n; d++) {
		DIR *dir = opendir(dirs[d]);
		struct dirent *e;

		if (!dir)
			continue;
		while ((e = readdir(dir))) {
			char *end;
			long id;

			if (strncmp(e->d_name, "ublkc", 5))
				continue;
			id = strtol(e->d_name + 5, &end, 10);
			if (end == e->d_name + 5 || *end || id < 0 ||
			    id > INT_MAX)
				continue;
			if (n < max)
				ids[n] = (int)id;
			n++;
		}
		closedir(dir);
	}
	return n;
}

int instance_devices(struct ublk_ctrl *ctrl, const char *instance, int *ids,
		     int max)
{
	uint64_t mark = instance_mark(instance);
	int all[4096], n, found = 0;

	n = all_dev_ids(all, 4096);
	if (n > 4096)
		n = 4096;
	qsort(all, (size_t)n, sizeof(int), cmp_int);
	for (int i = 0; i < n; i++) {
		struct ublksrv_ctrl_dev_info info;

		if (ublk_get_dev_info(ctrl, (uint32_t)all[i], &info) ||
		    info.ublksrv_flags != mark)
			continue;
		if (found < max)
			ids[found] = all[i];
		found++;
	}
	return found;
}

int instance_free_dev_id(struct ublk_ctrl *ctrl, uint32_t from)
{
	for (uint32_t id = from; id < (1U << 20); id++) {
		struct ublksrv_ctrl_dev_info info;

		if (ublk_get_dev_info(ctrl, id, &info) == -ENODEV)
			return (int)id;
	}
	return -ENOSPC;
}

void instance_crash_point(const char *name)
{
	static char seen[16][32];
	static int count[16];
	const char *want = getenv("BLKXLATE_CRASH_AT");
	size_t len = strlen(name);
	int nth = 1, slot;

	if (!want || strncmp(want, name, len) ||
	    (want[len] && want[len] != ':'))
		return;
	if (want[len] == ':')
		nth = atoi(want + len + 1);
	for (slot = 0; slot < 15 && seen[slot][0] && strcmp(seen[slot], name);
	     slot++)
		;
	snprintf(seen[slot], sizeof(seen[slot]), "%s", name);
	if (++count[slot] < nth)
		return;
	fprintf(stderr, "blkxlate: crash point %s reached: SIGKILL\n", name);
	fflush(NULL);
	raise(SIGKILL);
}
