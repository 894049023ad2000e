// SPDX-License-Identifier: MIT
/*
 * ublk control commands.  Each is a URING_CMD on /dev/ublk-control whose
 * 32-byte struct ublksrv_ctrl_cmd sits in the SQE's command area (so the
 * ring uses 128-byte SQEs).  Ioctl-encoded opcodes (UBLK_U_CMD_*) are used
 * throughout: GET_FEATURES only exists in that form, and the legacy
 * numbers answer -ENODEV on kernels that require the encoding.
 */
#include "dataplane/ublk.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int ctrl_cmd(struct ublk_ctrl *c, uint32_t op, uint32_t dev_id,
		    uint64_t addr, uint16_t len, uint64_t data0)
{
	struct ublksrv_ctrl_cmd *cmd;
	struct io_uring_cqe *cqe;
	struct io_uring_sqe *sqe;
	int ret;

	sqe = io_uring_get_sqe(&c->ring);
	if (!sqe)
		return -EBUSY;
	memset(sqe, 0, 2 * sizeof(*sqe)); /* a 128-byte SQE */
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = c->fd;
	sqe->cmd_op = op;
	cmd = (struct ublksrv_ctrl_cmd *)sqe->cmd;
	cmd->dev_id = dev_id;
	cmd->queue_id = (uint16_t)-1;
	cmd->addr = addr;
	cmd->len = len;
	cmd->data[0] = data0;
	ret = io_uring_submit(&c->ring);
	if (ret < 0)
		return ret;
	ret = io_uring_wait_cqe(&c->ring, &cqe);
	if (ret < 0)
		return ret;
	ret = cqe->res;
	io_uring_cqe_seen(&c->ring, cqe);
	return ret;
}

int ublk_ctrl_open(struct ublk_ctrl *c)
{
	struct io_uring_params p;
	int ret;

	memset(c, 0, sizeof(*c));
	c->fd = open(UBLK_CONTROL_PATH, O_RDWR | O_CLOEXEC);
	if (c->fd < 0)
		return -errno;
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_SQE128;
	ret = io_uring_queue_init_params(4, &c->ring, &p);
	if (ret < 0) {
		close(c->fd);
		c->fd = -1;
		return ret;
	}
	ret = ctrl_cmd(c, UBLK_U_CMD_GET_FEATURES, 0,
		       (uint64_t)(uintptr_t)&c->features, sizeof(c->features),
		       0);
	if (ret < 0) {
		/* before 6.5: no GET_FEATURES, and no features we rely on */
		c->features = 0;
	}
	return 0;
}

void ublk_ctrl_close(struct ublk_ctrl *c)
{
	if (c->fd >= 0) {
		io_uring_queue_exit(&c->ring);
		close(c->fd);
	}
	c->fd = -1;
}

int ublk_add_dev(struct ublk_ctrl *c, struct ublksrv_ctrl_dev_info *info)
{
	return ctrl_cmd(c, UBLK_U_CMD_ADD_DEV, info->dev_id,
			(uint64_t)(uintptr_t)info, sizeof(*info), 0);
}

int ublk_set_params(struct ublk_ctrl *c, uint32_t dev_id, struct ublk_params *p)
{
	p->len = sizeof(*p);
	return ctrl_cmd(c, UBLK_U_CMD_SET_PARAMS, dev_id,
			(uint64_t)(uintptr_t)p, sizeof(*p), 0);
}

int ublk_get_params(struct ublk_ctrl *c, uint32_t dev_id, struct ublk_params *p)
{
	p->len = sizeof(*p);
	return ctrl_cmd(c, UBLK_U_CMD_GET_PARAMS, dev_id,
			(uint64_t)(uintptr_t)p, sizeof(*p), 0);
}

int ublk_get_dev_info(struct ublk_ctrl *c, uint32_t dev_id,
		      struct ublksrv_ctrl_dev_info *info)
{
	return ctrl_cmd(c, UBLK_U_CMD_GET_DEV_INFO, dev_id,
			(uint64_t)(uintptr_t)info, sizeof(*info), 0);
}

int ublk_start_dev(struct ublk_ctrl *c, uint32_t dev_id, int32_t pid)
{
	return ctrl_cmd(c, UBLK_U_CMD_START_DEV, dev_id, 0, 0, (uint64_t)pid);
}

int ublk_stop_dev(struct ublk_ctrl *c, uint32_t dev_id)
{
	return ctrl_cmd(c, UBLK_U_CMD_STOP_DEV, dev_id, 0, 0, 0);
}

int ublk_del_dev(struct ublk_ctrl *c, uint32_t dev_id)
{
	int ret = ctrl_cmd(c, UBLK_U_CMD_DEL_DEV_ASYNC, dev_id, 0, 0, 0);

	/* DEL_DEV_ASYNC arrived in 6.9; older kernels only wait */
	if (ret == -EINVAL || ret == -EOPNOTSUPP || ret == -524 /* ENOTSUPP */)
		ret = ctrl_cmd(c, UBLK_U_CMD_DEL_DEV, dev_id, 0, 0, 0);
	return ret;
}

int ublk_start_recovery(struct ublk_ctrl *c, uint32_t dev_id)
{
	return ctrl_cmd(c, UBLK_U_CMD_START_USER_RECOVERY, dev_id, 0, 0, 0);
}

int ublk_end_recovery(struct ublk_ctrl *c, uint32_t dev_id, int32_t pid)
{
	return ctrl_cmd(c, UBLK_U_CMD_END_USER_RECOVERY, dev_id, 0, 0,
			(uint64_t)pid);
}

const char *ublk_feature_name(unsigned int bit)
{
	static const char *const names[] = {
		"SUPPORT_ZERO_COPY",
		"URING_CMD_COMP_IN_TASK",
		"NEED_GET_DATA",
		"USER_RECOVERY",
		"USER_RECOVERY_REISSUE",
		"UNPRIVILEGED_DEV",
		"CMD_IOCTL_ENCODE",
		"USER_COPY",
		"ZONED",
		"USER_RECOVERY_FAIL_IO",
		"UPDATE_SIZE",
		"AUTO_BUF_REG",
		"QUIESCE",
		"PER_IO_DAEMON",
		"BUF_REG_OFF_DAEMON",
		"BATCH_IO",
		"INTEGRITY",
		"SAFE_STOP_DEV",
		"NO_AUTO_PART_SCAN",
		"SHMEM_ZC",
		"IO_DESC_SIZE",
	};

	return bit < sizeof(names) / sizeof(names[0]) ? names[bit] : NULL;
}

const char *ublk_state_name(uint16_t state)
{
	switch (state) {
	case UBLK_S_DEV_DEAD:
		return "dead";
	case UBLK_S_DEV_LIVE:
		return "live";
	case UBLK_S_DEV_QUIESCED:
		return "quiesced";
	case UBLK_S_DEV_FAIL_IO:
		return "fail-io";
	default:
		return "unknown";
	}
}
