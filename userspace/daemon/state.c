// SPDX-License-Identifier: MIT
#include "base/json.h"
#include "daemon/state.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/instance.h"

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

static int mkdir_p(const char *dir, mode_t mode);

int state_run_dir_create(void)
{
	return mkdir_p(state_run_dir(), 0755);
}

const char *state_phase_name(enum state_phase p)
{
	return p == STATE_ADDING     ? "adding"
	       : p == STATE_REMOVING ? "removing"
				     : "serving";
}

static enum state_phase phase_of(const char *name)
{
	return !strcmp(name, "adding")	   ? STATE_ADDING
	       : !strcmp(name, "removing") ? STATE_REMOVING
					   : STATE_SERVING;
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

struct json_object *state_json(const struct state *st)
{
	struct json_object *o = json_object_new_object();
	struct json_object *arr = json_object_new_array();

	json_add_str(o, "instance", st->instance);
	json_object_object_add(o, "pid", json_object_new_int(st->pid));
	json_add_bool(o, "ready", st->ready);
	json_add_str(o, "config", st->config);
	json_add_int(o, "started", st->started);
	json_add_str(o, "dataplane", st->dataplane);
	json_add_str(o, "dataplane_reason", st->dataplane_reason);
	json_add_bool(o, "zero_copy", st->zero_copy);
	json_add_bool(o, "tracing", st->tracing);
	json_add_bool(o, "recovery", st->recovery);
	json_add_int(o, "ublk_features", st->ublk_features);
	for (size_t i = 0; i < st->nr_disks; i++) {
		const struct state_disk *sd = &st->disks[i];
		struct json_object *e = json_object_new_object();
		struct json_object *mem = json_object_new_array();

		json_add_str(e, "controller", sd->controller);
		json_add_str(e, "phase", state_phase_name(sd->phase));
		json_add_str(e, "protocol", sd->protocol);
		json_add_int(e, "location", sd->location);
		json_add_int(e, "channel", sd->channel);
		json_add_int(e, "disk", sd->disk);
		json_add_int(e, "ublk_id", sd->ublk_id);
		json_add_bool(e, "recovered", sd->recovered);
		json_add_str(e, "device", sd->device);
		json_add_str(e, "link", sd->link);
		json_add_int(e, "size_bytes", sd->size_bytes);
		json_add_int(e, "queues", sd->queues);
		json_add_int(e, "depth", sd->depth);
		for (size_t m = 0; m < sd->nr_members; m++)
			json_object_array_add(
				mem, json_object_new_string(sd->members[m]));
		json_object_object_add(e, "members", mem);
		json_object_array_add(arr, e);
	}
	json_object_object_add(o, "disks", arr);
	return o;
}

/* Write all of s to fd; 0 or -errno. */
static int write_all(int fd, const char *s, size_t len)
{
	while (len) {
		ssize_t n = write(fd, s, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		s += n;
		len -= (size_t)n;
	}
	return 0;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return -errno;
	ret = fsync(fd) ? -errno : 0;
	close(fd);
	return ret;
}

int state_write(const char *instance, const struct state *st)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	struct json_object *obj;
	const char *s;
	int fd, ret;

	ret = state_run_dir_create();
	if (!ret)
		ret = state_path(instance, "state", path, sizeof(path));
	if (ret)
		return ret;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	/* a crash may have left one; we hold the instance lock */
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	if (fd < 0)
		return -errno;
	obj = state_json(st);
	s = json_object_to_json_string_ext(
		obj, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	ret = s ? write_all(fd, s, strlen(s)) : -ENOMEM;
	if (!ret && fsync(fd))
		ret = -errno;
	json_object_put(obj);
	if (close(fd) && !ret)
		ret = -errno;
	if (!ret && rename(tmp, path))
		ret = -errno;
	if (!ret)
		ret = fsync_dir(state_run_dir());
	if (ret)
		unlink(tmp);
	return ret;
}

static void jcopy(struct json_object *o, const char *k, char *buf, size_t len)
{
	struct json_object *v;

	snprintf(buf, len, "%s",
		 json_object_object_get_ex(o, k, &v) && v
			 ? json_object_get_string(v)
			 : "");
}

static int64_t jint(struct json_object *o, const char *k, int64_t dflt)
{
	struct json_object *v;

	return json_object_object_get_ex(o, k, &v) && v
		       ? json_object_get_int64(v)
		       : dflt;
}

/* The array at key k of o and its length (0 when there is none). */
static size_t jarray(struct json_object *o, const char *k,
		     struct json_object **arr)
{
	return json_object_object_get_ex(o, k, arr) &&
			       json_object_is_type(*arr, json_type_array)
		       ? json_object_array_length(*arr)
		       : 0;
}

static int read_disk(struct json_object *e, struct state_disk *sd)
{
	struct json_object *mem;
	char phase[16];
	size_t n;

	jcopy(e, "controller", sd->controller, sizeof(sd->controller));
	jcopy(e, "protocol", sd->protocol, sizeof(sd->protocol));
	jcopy(e, "phase", phase, sizeof(phase));
	sd->phase = phase_of(phase);
	sd->location = (uint32_t)jint(e, "location", 0);
	sd->channel = (uint32_t)jint(e, "channel", 0);
	sd->disk = (uint32_t)jint(e, "disk", 0);
	sd->ublk_id = (int)jint(e, "ublk_id", -1);
	sd->recovered = jint(e, "recovered", 0) != 0;
	jcopy(e, "device", sd->device, sizeof(sd->device));
	jcopy(e, "link", sd->link, sizeof(sd->link));
	sd->size_bytes = (uint64_t)jint(e, "size_bytes", 0);
	sd->queues = (uint32_t)jint(e, "queues", 0);
	sd->depth = (uint32_t)jint(e, "depth", 0);
	n = jarray(e, "members", &mem);
	sd->members = calloc(n ? n : 1, sizeof(*sd->members));
	if (!sd->members)
		return -ENOMEM;
	for (size_t m = 0; m < n; m++) {
		const char *p = json_object_get_string(
			json_object_array_get_idx(mem, m));

		sd->members[m] = strdup(p ? p : "");
		if (!sd->members[m])
			return -ENOMEM;
		sd->nr_members = m + 1;
	}
	return 0;
}

int state_read(const char *instance, struct state *st)
{
	char path[PATH_MAX];
	struct json_object *o, *disks;
	size_t n;
	int ret = 0;

	memset(st, 0, sizeof(*st));
	if (state_path(instance, "state", path, sizeof(path)))
		return -ENAMETOOLONG;
	if (access(path, R_OK))
		return -errno;
	o = json_object_from_file(path);
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return -EINVAL;
	}
	jcopy(o, "instance", st->instance, sizeof(st->instance));
	st->pid = (int)jint(o, "pid", 0);
	st->ready = jint(o, "ready", 0) != 0;
	jcopy(o, "config", st->config, sizeof(st->config));
	st->started = jint(o, "started", 0);
	jcopy(o, "dataplane", st->dataplane, sizeof(st->dataplane));
	jcopy(o, "dataplane_reason", st->dataplane_reason,
	      sizeof(st->dataplane_reason));
	st->zero_copy = jint(o, "zero_copy", 0) != 0;
	st->tracing = jint(o, "tracing", 0) != 0;
	st->recovery = jint(o, "recovery", 0) != 0;
	st->ublk_features = (uint64_t)jint(o, "ublk_features", 0);
	n = jarray(o, "disks", &disks);
	st->disks = calloc(n ? n : 1, sizeof(*st->disks));
	if (!st->disks)
		ret = -ENOMEM;
	for (size_t i = 0; !ret && i < n; i++) {
		st->nr_disks = i + 1;
		ret = read_disk(json_object_array_get_idx(disks, i),
				&st->disks[i]);
	}
	json_object_put(o);
	if (ret)
		state_fini(st);
	return ret;
}

void state_fini(struct state *st)
{
	for (size_t i = 0; st->disks && i < st->nr_disks; i++) {
		for (size_t m = 0; m < st->disks[i].nr_members; m++)
			free(st->disks[i].members[m]);
		free(st->disks[i].members);
	}
	free(st->disks);
	memset(st, 0, sizeof(*st));
}

const struct state_disk *state_find(const struct state *st,
				    const char *controller, uint32_t location,
				    uint32_t channel)
{
	for (size_t i = 0; i < st->nr_disks; i++) {
		const struct state_disk *sd = &st->disks[i];

		if (!strcasecmp(sd->controller, controller) &&
		    sd->location == location && sd->channel == channel)
			return sd;
	}
	return NULL;
}

bool state_daemon_alive(const char *instance, const struct state *st)
{
	return st->pid > 0 && instance_lock_holder(instance) == st->pid;
}

int state_running_pid(const char *instance)
{
	struct state st;
	int pid;

	if (state_read(instance, &st))
		return 0;
	pid = state_daemon_alive(instance, &st) ? st.pid : 0;
	state_fini(&st);
	return pid;
}

void state_remove(const char *instance)
{
	char path[PATH_MAX];

	if (!state_path(instance, "state", path, sizeof(path)))
		unlink(path);
}
