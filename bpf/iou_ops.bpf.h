/* SPDX-License-Identifier: MIT */
/*
 * The io_uring BPF struct_ops interface (merged for Linux 7.1; as in the
 * BTF of Debian's 7.3.4 kernel).  Declared here because the build machine's
 * headers predate it; libbpf matches the struct_ops type and the kfuncs by
 * name against the running kernel's BTF at load time.
 */
#ifndef BLKXLATE_IOU_OPS_BPF_H
#define BLKXLATE_IOU_OPS_BPF_H

/* opaque to BPF, as in the kernel BTF (an empty struct, not a forward
 * declaration: libbpf compares kfunc prototypes kind by kind) */
struct iou_ctx {
};

struct iou_loop_params {
	__u32 cq_wait_idx; /* wake the loop when the CQ tail reaches this */
} __attribute__((preserve_access_index));

struct io_uring_bpf_ops {
	int (*loop_step)(struct iou_ctx *ring, struct iou_loop_params *lp);
	__u32 ring_fd;
	void *priv;
};

enum {
	IOU_LOOP_CONTINUE = 0,
	IOU_LOOP_STOP = 1,
};

enum {
	IOU_REGION_MEM = 0,
	IOU_REGION_CQ = 1, /* ring headers and CQEs */
	IOU_REGION_SQ = 2, /* the SQE array */
};

/* A region of the ring; rdwr_buf_size must be a load-time constant. */
extern __u8 *bpf_io_uring_get_region(struct iou_ctx *ring, __u32 region_id,
				     const unsigned long rdwr_buf_size) __ksym;
/* Submit the first nr SQEs (IORING_SETUP_SQ_REWIND); sleepable. */
extern int bpf_io_uring_submit_sqes(struct iou_ctx *ring, __u32 nr) __ksym;

#endif /* BLKXLATE_IOU_OPS_BPF_H */
