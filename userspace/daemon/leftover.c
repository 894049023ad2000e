// SPDX-License-Identifier: MIT
#include "daemon/leftover.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "pins/maps.h"
#include "daemon/state.h"

static bool pid_alive(int pid)
{
	char path[64], buf[512];
	FILE *f;
	char *rp;

	if (pid <= 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	rp = strrchr(buf, ')');
	/* a zombie is dead too */
	return rp && rp[1] == ' ' && rp[2] != 'Z';
}

static const char *jstr(struct json_object *o, const char *k)
{
	struct json_object *v;

	return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v)
						   : "";
}

static int64_t jint(struct json_object *o, const char *k, int64_t dflt)
{
	struct json_object *v;

	return json_object_object_get_ex(o, k, &v) ? json_object_get_int64(v)
						   : dflt;
}

int leftover_read(const char *instance, struct leftover *lo)
{
	struct json_object *st = state_read(instance), *disks;
	size_t n;

	memset(lo, 0, sizeof(*lo));
	if (!st)
		return errno == ENOENT || !errno ? -ENOENT : -errno;
	lo->pid = (int)jint(st, "pid", 0);
	lo->alive = pid_alive(lo->pid);
	lo->recovery = jint(st, "recovery", 0) != 0;
	snprintf(lo->config, sizeof(lo->config), "%s", jstr(st, "config"));
	n = json_object_object_get_ex(st, "disks", &disks)
		    ? json_object_array_length(disks)
		    : 0;
	lo->disks = calloc(n ? n : 1, sizeof(*lo->disks));
	if (!lo->disks) {
		json_object_put(st);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(disks, i);
		struct leftover_disk *ld = &lo->disks[i];

		snprintf(ld->controller, sizeof(ld->controller), "%s",
			 jstr(e, "controller"));
		ld->location = (uint32_t)jint(e, "location", 0);
		ld->channel = (uint32_t)jint(e, "channel", 0);
		ld->ublk_id = (int)jint(e, "ublk_id", -1);
		snprintf(ld->link, sizeof(ld->link), "%s", jstr(e, "link"));
	}
	lo->nr_disks = n;
	json_object_put(st);
	return 0;
}

void leftover_fini(struct leftover *lo)
{
	free(lo->disks);
	memset(lo, 0, sizeof(*lo));
}

bool leftover_recoverable(struct ublk_ctrl *ctrl, int id)
{
	struct ublksrv_ctrl_dev_info info;

	if (id < 0 || ublk_get_dev_info(ctrl, (uint32_t)id, &info))
		return false;
	return (info.flags & UBLK_F_USER_RECOVERY) &&
	       (info.state == UBLK_S_DEV_QUIESCED ||
		info.state == UBLK_S_DEV_FAIL_IO ||
		/* the kernel may not have seen every queue go yet */
		info.state == UBLK_S_DEV_LIVE);
}

int leftover_discard(const char *instance, const struct leftover *lo,
		     struct ublk_ctrl *ctrl)
{
	char err[512];
	int deleted = 0;

	for (size_t i = 0; i < lo->nr_disks; i++) {
		const struct leftover_disk *ld = &lo->disks[i];
		struct ublksrv_ctrl_dev_info info;

		if (ld->link[0])
			state_link_remove(ld->link);
		if (ld->ublk_id < 0 || !ctrl ||
		    ublk_get_dev_info(ctrl, (uint32_t)ld->ublk_id, &info))
			continue;
		/* STOP_DEV fails I/O that waits for a daemon; then delete */
		ublk_stop_dev(ctrl, (uint32_t)ld->ublk_id);
		if (ublk_del_dev(ctrl, (uint32_t)ld->ublk_id))
			log_warn("could not delete leftover ublk device %d",
				 ld->ublk_id);
		else
			deleted++;
	}
	if (maps_destroy(instance, err, sizeof(err)) && !strstr(err, "not"))
		log_warn("leftover pins: %s", err);
	state_remove(instance);
	return deleted;
}
