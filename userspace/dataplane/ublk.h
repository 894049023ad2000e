/* SPDX-License-Identifier: MIT */
/*
 * ublk: the control commands of /dev/ublk-control, one function each
 * (io_uring URING_CMD on a 128-byte-SQE ring, ioctl-encoded opcodes).
 */
#ifndef BLKXLATE_UBLK_H
#define BLKXLATE_UBLK_H

#include <liburing.h>
#include <stdbool.h>
#include <stdint.h>

#include <blkxlate/kcompat.h>

#define UBLK_CONTROL_PATH "/dev/ublk-control"

struct ublk_ctrl {
	int fd;		      /* /dev/ublk-control */
	struct io_uring ring; /* SQE128, for control commands only */
	uint64_t features;    /* UBLK_U_CMD_GET_FEATURES */
};

/* Open /dev/ublk-control (loading ublk_drv is the caller's job) and read
 * the feature bits.  0 or -errno. */
int ublk_ctrl_open(struct ublk_ctrl *c);
void ublk_ctrl_close(struct ublk_ctrl *c);

/* ADD_DEV: info in/out (dev_id -1 = any); the kernel fills dev_id. */
int ublk_add_dev(struct ublk_ctrl *c, struct ublksrv_ctrl_dev_info *info);
int ublk_set_params(struct ublk_ctrl *c, uint32_t dev_id,
		    struct ublk_params *p);
int ublk_get_params(struct ublk_ctrl *c, uint32_t dev_id,
		    struct ublk_params *p);
int ublk_get_dev_info(struct ublk_ctrl *c, uint32_t dev_id,
		      struct ublksrv_ctrl_dev_info *info);
/* START_DEV with the serving process's pid: /dev/ublkbN appears. */
int ublk_start_dev(struct ublk_ctrl *c, uint32_t dev_id, int32_t pid);
int ublk_stop_dev(struct ublk_ctrl *c, uint32_t dev_id);
/* DEL_DEV_ASYNC where the kernel has it, else DEL_DEV. */
int ublk_del_dev(struct ublk_ctrl *c, uint32_t dev_id);
int ublk_start_recovery(struct ublk_ctrl *c, uint32_t dev_id);
int ublk_end_recovery(struct ublk_ctrl *c, uint32_t dev_id, int32_t pid);

/* Name of feature bit `bit` (e.g. "AUTO_BUF_REG"), or NULL if unknown. */
const char *ublk_feature_name(unsigned int bit);
/* Name of a device state (UBLK_S_DEV_*). */
const char *ublk_state_name(uint16_t state);

#endif /* BLKXLATE_UBLK_H */
