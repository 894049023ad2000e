// SPDX-License-Identifier: MIT
#include "daemon/leftover.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "daemon/instance.h"
#include "pins/maps.h"

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

bool leftover_ours(struct ublk_ctrl *ctrl, const char *instance, int id)
{
	struct ublksrv_ctrl_dev_info info;

	return id >= 0 && !ublk_get_dev_info(ctrl, (uint32_t)id, &info) &&
	       info.ublksrv_flags == instance_mark(instance);
}

/* Remove the links under the run directory that point at target. */
static void remove_links_to(const char *target)
{
	DIR *top = opendir(state_run_dir());
	struct dirent *e;

	while (top && (e = readdir(top))) {
		char dir[PATH_MAX], link[PATH_MAX * 2], to[PATH_MAX];
		struct dirent *f;
		DIR *sub;

		if (e->d_name[0] == '.' || e->d_type != DT_DIR)
			continue;
		snprintf(dir, sizeof(dir), "%s/%s", state_run_dir(), e->d_name);
		sub = opendir(dir);
		while (sub && (f = readdir(sub))) {
			ssize_t n;

			if (f->d_type != DT_LNK)
				continue;
			snprintf(link, sizeof(link), "%s/%s", dir, f->d_name);
			n = readlink(link, to, sizeof(to) - 1);
			if (n > 0 && (to[n] = '\0', !strcmp(to, target)))
				state_link_remove(link);
		}
		if (sub)
			closedir(sub);
	}
	if (top)
		closedir(top);
}

static void append(char *list, size_t len, const char *word)
{
	size_t used = strlen(list);

	snprintf(list + used, len - used, "%s%s", used ? " " : "", word);
}

int leftover_remove_devices(const char *instance, struct ublk_ctrl *ctrl,
			    const int *keep, size_t nkeep, char *list,
			    size_t len)
{
	int ids[INSTANCE_MAX_DEVICES], n, deleted = 0;

	n = instance_devices(ctrl, instance, ids, INSTANCE_MAX_DEVICES);
	for (int i = 0; i < n && i < INSTANCE_MAX_DEVICES; i++) {
		char name[32];
		size_t k = 0;

		while (k < nkeep && keep[k] != ids[i])
			k++;
		if (k < nkeep)
			continue;
		/* STOP_DEV fails I/O that waits for a daemon; then delete */
		ublk_stop_dev(ctrl, (uint32_t)ids[i]);
		if (ublk_del_dev(ctrl, (uint32_t)ids[i])) {
			log_warn("could not delete leftover ublk device %d",
				 ids[i]);
			continue;
		}
		deleted++;
		snprintf(name, sizeof(name), "/dev/ublkb%d", ids[i]);
		remove_links_to(name);
		append(list, len, name + 5);
	}
	return deleted;
}

int leftover_discard(const char *instance, const struct state *st,
		     struct ublk_ctrl *ctrl, char *list, size_t len)
{
	char err[512];
	int deleted = 0;

	if (ctrl)
		deleted = leftover_remove_devices(instance, ctrl, NULL, 0, list,
						  len);
	for (size_t i = 0; st && i < st->nr_disks; i++) {
		const struct state_disk *sd = &st->disks[i];
		char to[PATH_MAX];
		ssize_t n;

		if (!sd->link[0])
			continue;
		n = readlink(sd->link, to, sizeof(to) - 1);
		/* a link that another instance made since is not ours */
		if (n > 0 && (to[n] = '\0', strcmp(to, sd->device)) &&
		    !access(to, F_OK))
			continue;
		state_link_remove(sd->link);
	}
	if (maps_destroy(instance, err, sizeof(err)) && !strstr(err, "not"))
		log_warn("leftover pins: %s", err);
	state_remove(instance);
	return deleted;
}
