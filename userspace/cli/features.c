// SPDX-License-Identifier: MIT
/* cli_features: what this kernel offers blkxlate. */
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "base/json.h"
#include "cli/cli.h"
#include "dataplane/ublk.h"

static void usage_features(FILE *f)
{
	fprintf(f,
		"Usage: blkxlate features [--json]\n"
		"\n"
		"Report the kernel features blkxlate uses: ublk and its feature bits\n"
		"(GET_FEATURES), zero copy, and io_uring BPF struct_ops (in the kernel BTF).\n"
		"\n"
		"  -j, --json   JSON output\n"
		"  -h, --help   this text\n");
}

/* Does the running kernel's BTF know `struct name`? */
static int kernel_has_struct(const char *name)
{
	struct btf *btf = btf__load_vmlinux_btf();
	int found;

	if (!btf)
		return -errno;
	found = btf__find_by_name_kind(btf, name, BTF_KIND_STRUCT) > 0;
	btf__free(btf);
	return found;
}

int cli_features(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_OPT_JSON,
		CLI_OPT_HELP,
		CLI_OPT_END,
	};
	struct json_object *r = json_object_new_object();
	struct json_object *names = json_object_new_array();
	struct ublk_ctrl ctrl;
	struct utsname u;
	bool json = false, ublk_ok;
	struct cli_common co = {.json = &json, .usage = usage_features};
	int ret, bpf_ops;

	ret = cli_getopt(argc, argv, "jh", longopts, &co);
	if (ret) {
		json_object_put(r);
		json_object_put(names);
		return ret > 0 ? CLI_OK : -ret;
	}
	uname(&u);
	ret = ublk_ctrl_open(&ctrl);
	ublk_ok = ret == 0;
	bpf_ops = kernel_has_struct("io_uring_bpf_ops");
	json_add_str(r, "kernel", u.release);
	json_add_bool(r, "ublk", ublk_ok);
	if (ublk_ok) {
		for (unsigned int b = 0; b < 64; b++) {
			const char *n = ublk_feature_name(b);

			if (!(ctrl.features & (1ULL << b)))
				continue;
			if (n)
				json_object_array_add(
					names, json_object_new_string(n));
			else {
				char tmp[16];

				snprintf(tmp, sizeof(tmp), "bit%u", b);
				json_object_array_add(
					names, json_object_new_string(tmp));
			}
		}
		json_add_int(r, "ublk_features", ctrl.features);
		ublk_ctrl_close(&ctrl);
	} else {
		json_add_str(r, "ublk_error", strerror(-ret));
	}
	json_object_object_add(r, "ublk_feature_names", names);
	json_add_bool(r, "zero_copy",
		      ublk_ok && (ctrl.features & UBLK_F_AUTO_BUF_REG));
	json_add_bool(r, "io_uring_bpf_ops", bpf_ops > 0);
	json_add_str(r, "libbpf", libbpf_version_string());
	if (json)
		return cli_print_json(r) ? CLI_FAILED : CLI_OK;

	printf("kernel              %s\n", u.release);
	if (ublk_ok) {
		printf("ublk                yes, features %#llx:",
		       (unsigned long long)ctrl.features);
		for (size_t i = 0; i < json_object_array_length(names); i++)
			printf(" %s",
			       json_object_get_string(
				       json_object_array_get_idx(names, i)));
		printf("\nzero copy           %s\n",
		       ctrl.features & UBLK_F_AUTO_BUF_REG
			       ? "yes (UBLK_F_AUTO_BUF_REG)"
			       : "no (requests are copied through server buffers)");
	} else {
		printf("ublk                no (%s: %s; load ublk_drv)\n",
		       UBLK_CONTROL_PATH, strerror(-ret));
	}
	printf("io_uring BPF ops    %s\n",
	       bpf_ops > 0    ? "yes (struct io_uring_bpf_ops in kernel BTF)"
	       : bpf_ops == 0 ? "no (needs Linux 7.1 or later)"
			      : "unknown (no kernel BTF)");
	printf("libbpf              %s\n", libbpf_version_string());
	printf("data path (auto)    %s\n",
	       ublk_ok && (ctrl.features & UBLK_F_AUTO_BUF_REG) && bpf_ops > 0
		       ? "bpf: the in-kernel io_uring BPF loop, zero copy"
	       : !ublk_ok ? "none: no ublk"
	       : !(ctrl.features & UBLK_F_AUTO_BUF_REG)
		       ? "user: ublk lacks UBLK_F_AUTO_BUF_REG (zero copy)"
		       : "user: no io_uring BPF struct_ops in this kernel");
	json_object_put(r);
	return CLI_OK;
}
