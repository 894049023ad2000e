// SPDX-License-Identifier: MIT
#include "daemon/leftover.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "pins/maps.h"
#include "daemon/state.h"

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

int leftover_discard(const char *instance, const struct state *st,
		     struct ublk_ctrl *ctrl)
{
	char err[512];
	int deleted = 0;

	for (size_t i = 0; i < st->nr_disks; i++) {
		const struct state_disk *ld = &st->disks[i];
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
