// SPDX-License-Identifier: MIT
#include "daemon/state.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *state_run_dir(void)
{
	const char *d = getenv("BLKXLATE_RUN_DIR");

	return d && *d ? d : "/run/blkxlate";
}

static int fmt_path(char *buf, size_t len, const char *fmt, const char *a,
		    const char *b)
{
	int n = snprintf(buf, len, fmt, state_run_dir(), a, b);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int state_path(const char *instance, const char *suffix, char *buf, size_t len)
{
	return fmt_path(buf, len, "%s/%s.%s", instance, suffix);
}

int state_link_path(const char *controller, int ide, uint32_t channel,
		    uint32_t location, char *buf, size_t len)
{
	char name[48];

	if (ide)
		snprintf(name, sizeof(name), "ide%u-%u", channel, location);
	else
		snprintf(name, sizeof(name), "lun%u", location);
	return fmt_path(buf, len, "%s/%s/%s", controller, name);
}

static int mkdir_p(const char *dir, mode_t mode)
{
	char tmp[PATH_MAX];

	if (snprintf(tmp, sizeof(tmp), "%s", dir) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, mode) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, mode) && errno != EEXIST)
		return -errno;
	return 0;
}

int state_link_create(const char *link, const char *target)
{
	char dir[PATH_MAX];
	int ret;

	snprintf(dir, sizeof(dir), "%s", link);
	ret = mkdir_p(dirname(dir), 0755);
	if (ret)
		return ret;
	if (unlink(link) && errno != ENOENT)
		return -errno;
	return symlink(target, link) ? -errno : 0;
}

void state_link_remove(const char *link)
{
	char dir[PATH_MAX];

	unlink(link);
	snprintf(dir, sizeof(dir), "%s", link);
	rmdir(dirname(dir)); /* only when empty */
}

int state_write(const char *instance, struct json_object *obj)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	const char *s;
	int fd, ret;

	ret = mkdir_p(state_run_dir(), 0755);
	if (!ret)
		ret = state_path(instance, "state", path, sizeof(path));
	if (ret)
		return ret;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	s = json_object_to_json_string_ext(
		obj, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s) || fsync(fd)) {
		ret = -errno;
		close(fd);
		unlink(tmp);
		return ret ? ret : -EIO;
	}
	close(fd);
	if (rename(tmp, path)) {
		ret = -errno;
		unlink(tmp);
		return ret;
	}
	return 0;
}

struct json_object *state_read(const char *instance)
{
	char path[PATH_MAX];
	struct json_object *o;

	if (state_path(instance, "state", path, sizeof(path))) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	if (access(path, R_OK))
		return NULL;
	o = json_object_from_file(path);
	if (!o)
		errno = EINVAL;
	return o;
}

void state_remove(const char *instance)
{
	char path[PATH_MAX];

	if (!state_path(instance, "state", path, sizeof(path)))
		unlink(path);
}
