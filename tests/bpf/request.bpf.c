// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * The request steps compiled for BPF: a syscall program (BPF_PROG_RUN)
 * runs the case in .bss through tests/bpf/request_steps.h, which calls
 * include/blkxlate/request.h exactly as bpf/fastpath.bpf.c does.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "request_steps.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

struct req_case in;
struct req_out out;

SEC("syscall")
int blkx_request_steps(void *ctx)
{
	(void)ctx;
	req_run(&in, &out);
	return 0;
}
