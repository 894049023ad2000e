// SPDX-License-Identifier: MIT
/*
 * resolve: settings device -> block device, against fake sysfs trees.
 *
 * Each test gets a fresh tree in a temp dir that mimics what Linux builds:
 * real device directories under devices/, and the kernel's relative
 * symlinks from class/, bus/, block/ and dev/block/.  The tree holds
 *  - nvme0 (serial BLKXLATE-B, PCI 0000:00:04.0): nvme0n1 nsid 1, plus the
 *    ng0n1 char device; no multipath head (like QEMU's lone controllers);
 *  - nvme1 (serial BLKXLATE-A, PCI 0000:00:05.0): nvme1n1 is nsid 2 with
 *    4096-byte blocks, nvme1n2 is nsid 1 (names do not match nsids);
 *  - nvme2 (serial BLKXLATE-C) below VMBus device GUID_NVME, Hyper-V style
 *    (pci7870:00/7870:00:00.0/nvme/nvme2), with native multipath: hidden
 *    path nvme2c2n1 (nsid 5) under the controller, head nvme2n1 under the
 *    nvme-subsystem device, linked from its multipath/ group;
 *  - virtio-scsi HBA 0000:00:06.0/virtio2/host0: 0:0:0:0 sda, 0:0:0:1 sdb;
 *  - storvsc host3 below VMBus device GUID_SCSI: 3:0:0:2 sdc, 3:0:0:5 a
 *    CD-ROM without block device, 3:0:0:6 a disk not bound to sd yet;
 *  - VMBus device GUID_NET (a NIC: neither NVMe nor SCSI).
 * Checked against Debian 6.12 and 7.3 in the VM lab: link targets, hidden
 * path devices without "dev", multipath/ links (7.3 only), space-padded
 * serials, ngXnY char devices beside the namespaces.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>

#include "devices/resolve.h"

#define ERR_NOT_FOUND	"Configuration.StorageCannotFindVtl2Device"
#define ERR_UNSUPPORTED "Configuration.StorageUnsupportedDeviceType"
#define DEV_PATH                                                               \
	"dynamic.storage_controllers[0].luns[1].physical_devices.device"

#define GUID_NVME "5a0c1e2d-3b4f-4a5b-8c6d-7e8f90a1b2c3"
#define GUID_SCSI "f8b3781b-1e82-4818-a1c3-63d806ec15bb"
#define GUID_NET  "9a3bbc1e-4d6f-4e2a-9b1c-0d2e3f405162"
#define VMBUS_DIR "devices/LNXSYSTM:00/LNXSYBUS:00/ACPI0004:00/VMBUS:00"

#define NVME0_DIR   "devices/pci0000:00/0000:00:04.0/nvme/nvme0"
#define NVME1_DIR   "devices/pci0000:00/0000:00:05.0/nvme/nvme1"
#define NVME2_PCI   VMBUS_DIR "/" GUID_NVME "/pci7870:00/7870:00:00.0"
#define NVME2_DIR   NVME2_PCI "/nvme/nvme2"
#define SUBSYS2_DIR "devices/virtual/nvme-subsystem/nvme-subsys2"
#define HOST0_DIR   "devices/pci0000:00/0000:00:06.0/virtio2/host0"
#define HOST3_DIR   VMBUS_DIR "/" GUID_SCSI "/host3"

struct fx {
	char root[PATH_MAX]; /* the temp dir */
	char sys[PATH_MAX];  /* root/sys */
	char dev[PATH_MAX];  /* root/dev */
	struct resolve_ctx ctx;
	struct resolved_dev out;
	struct error_obj err;
};

/* --- fake tree builders --- */

static void xfmt(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void xfmt(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < len);
}

/* mkdir -p BASE/REL */
static void mkdirs(const char *base, const char *rel)
{
	char p[PATH_MAX];

	xfmt(p, sizeof(p), "%s/%s", base, rel);
	for (char *s = p + strlen(base) + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		assert_true(mkdir(p, 0755) == 0 || errno == EEXIST);
		*s = '/';
	}
	assert_true(mkdir(p, 0755) == 0 || errno == EEXIST);
}

/* The parent directory of REL ("" for a top-level name). */
static void parent_of(const char *rel, char *out, size_t len)
{
	const char *slash = strrchr(rel, '/');

	xfmt(out, len, "%.*s", slash ? (int)(slash - rel) : 0, rel);
}

/* Write sys/REL (creating its directories) with CONTENT. */
static void put(struct fx *f, const char *rel, const char *content)
{
	char dir[PATH_MAX], p[PATH_MAX];
	FILE *fp;

	parent_of(rel, dir, sizeof(dir));
	if (dir[0])
		mkdirs(f->sys, dir);
	xfmt(p, sizeof(p), "%s/%s", f->sys, rel);
	fp = fopen(p, "w");
	assert_non_null(fp);
	assert_int_equal(fputs(content, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
}

static void putf(struct fx *f, const char *rel, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void putf(struct fx *f, const char *rel, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	put(f, rel, buf);
}

/*
 * sys/LINK -> sys/TARGET as the kernel writes it: a relative link
 * ("../../devices/...").  TARGET need not exist (dangling links).
 */
static void link_to(struct fx *f, const char *link, const char *target)
{
	char dir[PATH_MAX], rel[PATH_MAX] = "", p[PATH_MAX];
	size_t used = 0;

	parent_of(link, dir, sizeof(dir));
	if (dir[0]) {
		mkdirs(f->sys, dir);
		used += 3;
		strcpy(rel, "../");
		for (const char *s = dir; *s; s++) {
			if (*s != '/')
				continue;
			assert_true(used + 3 < sizeof(rel));
			strcat(rel, "../");
			used += 3;
		}
	}
	assert_true(used + strlen(target) < sizeof(rel));
	strcat(rel, target);
	xfmt(p, sizeof(p), "%s/%s", f->sys, link);
	assert_int_equal(symlink(rel, p), 0);
}

static void rm(struct fx *f, const char *rel)
{
	char p[PATH_MAX];

	xfmt(p, sizeof(p), "%s/%s", f->sys, rel);
	assert_int_equal(unlink(p), 0);
}

struct disk {
	const char *dir; /* its device directory, below sys/ */
	const char *name;
	unsigned int major, minor;
	uint64_t sectors;
	unsigned int lbs, pbs;
	int nsid;    /* -1: no nsid attribute */
	bool hidden; /* a multipath path device: no dev, no /dev node */
	bool rotational;
};

/* A gendisk: its directory with the block attributes, and its links. */
static void add_disk(struct fx *f, const struct disk *d)
{
	char p[PATH_MAX], t[PATH_MAX];

	xfmt(t, sizeof(t), "%s/%s", d->dir, d->name);
	xfmt(p, sizeof(p), "%s/size", t);
	putf(f, p, "%llu\n", (unsigned long long)d->sectors);
	xfmt(p, sizeof(p), "%s/ro", t);
	put(f, p, "0\n");
	xfmt(p, sizeof(p), "%s/hidden", t);
	put(f, p, d->hidden ? "1\n" : "0\n");
	if (!d->hidden) {
		xfmt(p, sizeof(p), "%s/dev", t);
		putf(f, p, "%u:%u\n", d->major, d->minor);
	}
	if (d->nsid >= 0) {
		xfmt(p, sizeof(p), "%s/nsid", t);
		putf(f, p, "%d\n", d->nsid);
	}
	xfmt(p, sizeof(p), "%s/queue/logical_block_size", t);
	putf(f, p, "%u\n", d->lbs);
	xfmt(p, sizeof(p), "%s/queue/physical_block_size", t);
	putf(f, p, "%u\n", d->pbs);
	xfmt(p, sizeof(p), "%s/queue/max_hw_sectors_kb", t);
	put(f, p, "512\n");
	xfmt(p, sizeof(p), "%s/queue/discard_max_bytes", t);
	put(f, p, "2199023255040\n");
	xfmt(p, sizeof(p), "%s/queue/write_zeroes_max_bytes", t);
	put(f, p, "131072\n");
	xfmt(p, sizeof(p), "%s/queue/rotational", t);
	put(f, p, d->rotational ? "1\n" : "0\n");
	xfmt(p, sizeof(p), "%s/queue/write_cache", t);
	put(f, p, "write back\n");
	xfmt(p, sizeof(p), "%s/queue/fua", t);
	put(f, p, "1\n");
	/* What the kernel links: subsystem, and the class and dev entries. */
	xfmt(p, sizeof(p), "%s/subsystem", t);
	link_to(f, p, "class/block");
	xfmt(p, sizeof(p), "block/%s", d->name);
	link_to(f, p, t);
	xfmt(p, sizeof(p), "class/block/%s", d->name);
	link_to(f, p, t);
	if (!d->hidden) {
		xfmt(p, sizeof(p), "dev/block/%u:%u", d->major, d->minor);
		link_to(f, p, t);
	}
}

/* A PCI function directory plus its bus link and the links sysfs has. */
static void add_pci(struct fx *f, const char *dir, const char *addr,
		    const char *driver)
{
	char p[PATH_MAX], t[PATH_MAX];

	xfmt(p, sizeof(p), "%s/vendor", dir);
	put(f, p, "0x1b36\n");
	xfmt(p, sizeof(p), "%s/subsystem", dir);
	link_to(f, p, "bus/pci");
	xfmt(p, sizeof(p), "%s/driver", dir);
	xfmt(t, sizeof(t), "bus/pci/drivers/%s", driver);
	link_to(f, p, t);
	xfmt(p, sizeof(p), "bus/pci/devices/%s", addr);
	link_to(f, p, dir);
}

/* An NVMe controller device directory with its attributes and links. */
static void add_nvme_ctrl(struct fx *f, const char *dir, const char *name,
			  const char *serial)
{
	char p[PATH_MAX];

	xfmt(p, sizeof(p), "%s/serial", dir);
	putf(f, p, "%s\n", serial);
	xfmt(p, sizeof(p), "%s/model", dir);
	put(f, p, "QEMU NVMe Ctrl\n");
	/* one subsystem per controller unless a test says otherwise */
	xfmt(p, sizeof(p), "%s/subsysnqn", dir);
	putf(f, p, "nqn.2019-08.org.qemu:%s\n", name);
	xfmt(p, sizeof(p), "%s/subsystem", dir);
	link_to(f, p, "class/nvme");
	xfmt(p, sizeof(p), "%s/device", dir);
	link_to(f, p, "devices"); /* points up: must not be followed */
	xfmt(p, sizeof(p), "class/nvme/%s", name);
	link_to(f, p, dir);
}

/* A SCSI device H:C:T:L below target directory TDIR, of TYPE. */
static void add_sdev(struct fx *f, const char *tdir, const char *hctl, int type)
{
	char p[PATH_MAX], t[PATH_MAX];

	xfmt(t, sizeof(t), "%s/%s", tdir, hctl);
	xfmt(p, sizeof(p), "%s/type", t);
	putf(f, p, "%d\n", type);
	xfmt(p, sizeof(p), "%s/vendor", t);
	put(f, p, "QEMU    \n");
	xfmt(p, sizeof(p), "bus/scsi/devices/%s", hctl);
	link_to(f, p, t);
}

static void add_scsi_host(struct fx *f, const char *dir, unsigned int n)
{
	char p[PATH_MAX], t[PATH_MAX];

	xfmt(t, sizeof(t), "%s/scsi_host/host%u", dir, n);
	xfmt(p, sizeof(p), "%s/proc_name", t);
	put(f, p, "virtio_scsi\n");
	xfmt(p, sizeof(p), "class/scsi_host/host%u", n);
	link_to(f, p, t);
	xfmt(p, sizeof(p), "bus/scsi/devices/host%u", n);
	link_to(f, p, dir);
}

static void build_tree(struct fx *f)
{
	/* nvme0: one namespace, and its generic char device ng0n1. */
	add_pci(f, "devices/pci0000:00/0000:00:04.0", "0000:00:04.0", "nvme");
	add_nvme_ctrl(f, NVME0_DIR, "nvme0", "BLKXLATE-B");
	add_disk(f, &(struct disk){NVME0_DIR, "nvme0n1", 259, 0, 2097152, 512,
				   512, 1, false, false});
	put(f, NVME0_DIR "/ng0n1/dev", "241:0\n");
	/* nvme1: names do not follow nsids; nsid 2 has 4 KiB blocks. */
	add_pci(f, "devices/pci0000:00/0000:00:05.0", "0000:00:05.0", "nvme");
	add_nvme_ctrl(f, NVME1_DIR, "nvme1", "BLKXLATE-A   ");
	add_disk(f, &(struct disk){NVME1_DIR, "nvme1n1", 259, 1, 131072, 4096,
				   4096, 2, false, false});
	add_disk(f, &(struct disk){NVME1_DIR, "nvme1n2", 259, 2, 65536, 512,
				   4096, 1, false, false});
	/* nvme2 on Hyper-V, native multipath. */
	put(f, VMBUS_DIR "/" GUID_NVME "/class_id",
	    "{f8615163-df3e-46c5-913f-f2d2f965ed0e}\n");
	link_to(f, VMBUS_DIR "/" GUID_NVME "/loop", VMBUS_DIR); /* a cycle */
	link_to(f, "bus/vmbus/devices/" GUID_NVME, VMBUS_DIR "/" GUID_NVME);
	add_pci(f, NVME2_PCI, "7870:00:00.0", "nvme");
	add_nvme_ctrl(f, NVME2_DIR, "nvme2", "BLKXLATE-C");
	add_disk(f, &(struct disk){NVME2_DIR, "nvme2c2n1", 259, 3, 1024, 512,
				   512, 5, true, false});
	add_disk(f, &(struct disk){SUBSYS2_DIR, "nvme2n1", 259, 4, 1024, 512,
				   512, 5, false, false});
	link_to(f, SUBSYS2_DIR "/nvme2n1/multipath/nvme2c2n1",
		NVME2_DIR "/nvme2c2n1");
	/* virtio-scsi: host0 below virtio2 below the PCI function. */
	add_pci(f, "devices/pci0000:00/0000:00:06.0", "0000:00:06.0",
		"virtio-pci");
	put(f, "devices/pci0000:00/0000:00:06.0/virtio2/features", "0\n");
	add_scsi_host(f, HOST0_DIR, 0);
	add_sdev(f, HOST0_DIR "/target0:0:0", "0:0:0:0", 0);
	add_disk(f,
		 &(struct disk){HOST0_DIR "/target0:0:0/0:0:0:0/block", "sda",
				8, 0, 4194304, 512, 512, -1, false, true});
	add_sdev(f, HOST0_DIR "/target0:0:0", "0:0:0:1", 0);
	add_disk(f,
		 &(struct disk){HOST0_DIR "/target0:0:0/0:0:0:1/block", "sdb",
				8, 16, 262144, 4096, 4096, -1, false, false});
	/* storvsc: host3 directly below the VMBus device. */
	link_to(f, "bus/vmbus/devices/" GUID_SCSI, VMBUS_DIR "/" GUID_SCSI);
	add_scsi_host(f, HOST3_DIR, 3);
	add_sdev(f, HOST3_DIR "/target3:0:0", "3:0:0:2", 0);
	add_disk(f,
		 &(struct disk){HOST3_DIR "/target3:0:0/3:0:0:2/block", "sdc",
				8, 32, 8192, 512, 4096, -1, false, false});
	add_sdev(f, HOST3_DIR "/target3:0:0", "3:0:0:5", 5);
	add_sdev(f, HOST3_DIR "/target3:0:0", "3:0:0:6", 0);
	/* A NIC on VMBus. */
	put(f, VMBUS_DIR "/" GUID_NET "/net/eth0/address",
	    "00:15:5d:00:00:01\n");
	link_to(f, "bus/vmbus/devices/" GUID_NET, VMBUS_DIR "/" GUID_NET);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char tmpl[] = "/tmp/test_resolve.XXXXXX";

	if (!f || !mkdtemp(tmpl))
		return -1;
	strcpy(f->root, tmpl);
	snprintf(f->sys, sizeof(f->sys), "%s/sys", tmpl);
	snprintf(f->dev, sizeof(f->dev), "%s/dev", tmpl);
	if (mkdir(f->sys, 0755) || mkdir(f->dev, 0755))
		return -1;
	f->ctx.sysfs_root = f->sys;
	f->ctx.dev_root = f->dev;
	*state = f;
	build_tree(f);
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[PATH_MAX + 16];

	/* The temp dir name is ours and has no shell metacharacters. */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->root);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

/* --- helpers for the cases --- */

static int resolve(struct fx *f, enum settings_device_type type,
		   const char *device_path, uint32_t sub)
{
	struct settings_device d = {
		.type = type,
		.device_path = (char *)device_path,
		.sub_device_path = sub,
	};

	strcpy(d.path, DEV_PATH);
	memset(&f->err, 0, sizeof(f->err));
	return resolve_device(&f->ctx, &d, &f->out, &f->err);
}

/* Resolved to block device NAME at MAJ:MIN, found as HOW. */
static void expect_disk(struct fx *f, const char *name, unsigned int maj,
			unsigned int min, const char *how)
{
	char p[PATH_MAX];

	assert_string_equal(f->out.name, name);
	xfmt(p, sizeof(p), "%s/%s", f->dev, name);
	assert_string_equal(f->out.dev_path, p);
	assert_int_equal(f->out.major, maj);
	assert_int_equal(f->out.minor, min);
	assert_true(f->out.from_sysfs);
	assert_false(f->out.is_file);
	if (how)
		assert_string_equal(f->out.how, how);
}

/* Failed with ID at DEV_PATH.FIELD, the message containing each of WHAT. */
static void expect_err(struct fx *f, int ret, const char *id, const char *field,
		       const char *what1, const char *what2)
{
	char p[ERROR_PATH_LEN];

	assert_true(ret < 0);
	assert_string_equal(f->err.error_id, id);
	xfmt(p, sizeof(p), "%s.%s", DEV_PATH, field);
	assert_string_equal(f->err.path, p);
	if (what1 && !strstr(f->err.message, what1))
		fail_msg("message \"%s\" lacks \"%s\"", f->err.message, what1);
	if (what2 && !strstr(f->err.message, what2))
		fail_msg("message \"%s\" lacks \"%s\"", f->err.message, what2);
}

/* --- NVMe --- */

static void test_nvme_serial_4k_namespace(void **state)
{
	struct fx *f = *state;

	assert_int_equal(resolve(f, SETTINGS_DEV_NVME, "BLKXLATE-A", 2), 0);
	expect_disk(f, "nvme1n1", 259, 1,
		    "nvme serial BLKXLATE-A (nvme1) nsid 2 -> nvme1n1");
	assert_int_equal(f->out.size_bytes, 131072ull * 512);
	assert_int_equal(f->out.logical_block_size, 4096);
	assert_int_equal(f->out.physical_block_size, 4096);
	assert_int_equal(f->out.max_hw_sectors_kb, 512);
	assert_int_equal(f->out.discard_max_bytes, 2199023255040ull);
	assert_int_equal(f->out.write_zeroes_max_bytes, 131072);
	assert_false(f->out.rotational);
	assert_false(f->out.read_only);
	assert_true(f->out.volatile_cache);
	assert_true(f->out.fua);
}

static void test_nvme_serial_by_nsid_not_name(void **state)
{
	struct fx *f = *state;

	/* nsid 1 lives in nvme1n2, not nvme1n1 */
	assert_int_equal(resolve(f, SETTINGS_DEV_NVME, "BLKXLATE-A", 1), 0);
	expect_disk(f, "nvme1n2", 259, 2,
		    "nvme serial BLKXLATE-A (nvme1) nsid 1 -> nvme1n2");
	assert_int_equal(f->out.logical_block_size, 512);
	assert_int_equal(f->out.physical_block_size, 4096);
	assert_int_equal(f->out.size_bytes, 65536ull * 512);
}

static void test_nvme_ctrl_name(void **state)
{
	struct fx *f = *state;

	/* ng0n1 (char device, no nsid) sits beside nvme0n1 and is skipped */
	assert_int_equal(resolve(f, SETTINGS_DEV_NVME, "nvme0", 1), 0);
	expect_disk(f, "nvme0n1", 259, 0, "nvme nvme0 nsid 1 -> nvme0n1");
	assert_int_equal(f->out.size_bytes, 2097152ull * 512);
}

static void test_nvme_pci_address(void **state)
{
	struct fx *f = *state;

	assert_int_equal(resolve(f, SETTINGS_DEV_NVME, "0000:00:05.0", 2), 0);
	expect_disk(f, "nvme1n1", 259, 1,
		    "nvme PCI 0000:00:05.0 (nvme1) nsid 2 -> nvme1n1");
}

static void test_nvme_pci_short_address(void **state)
{
	struct fx *f = *state;

	assert_int_equal(resolve(f, SETTINGS_DEV_NVME, "00:04.0", 1), 0);
	expect_disk(f, "nvme0n1", 259, 0,
		    "nvme PCI 0000:00:04.0 (nvme0) nsid 1 -> nvme0n1");
}

static void test_nvme_vmbus_multipath(void **state)
{
	struct fx *f = *state;

	/* any case, braces: sysfs spells it lowercase without */
	assert_int_equal(resolve(f, SETTINGS_DEV_NVME,
				 "{5A0C1E2D-3B4F-4A5B-8C6D-7E8F90A1B2C3}", 5),
			 0);
	expect_disk(f, "nvme2n1", 259, 4,
		    "nvme VMBus " GUID_NVME
		    " (nvme2) nsid 5 -> nvme2n1 (head of nvme2c2n1)");
}

static void test_nvme_multipath_by_serial(void **state)
{
	struct fx *f = *state;

	assert_int_equal(resolve(f, SETTINGS_DEV_NVME, "BLKXLATE-C", 5), 0);
	expect_disk(f, "nvme2n1", 259, 4, NULL);
	assert_int_equal(f->out.size_bytes, 1024 * 512);
}

static void test_nvme_multipath_without_links(void **state)
{
	struct fx *f = *state;

	/* before 6.15 the head has no multipath/ links: name rule applies */
	rm(f, SUBSYS2_DIR "/nvme2n1/multipath/nvme2c2n1");
	assert_int_equal(resolve(f, SETTINGS_DEV_NVME, "nvme2", 5), 0);
	expect_disk(f, "nvme2n1", 259, 4, NULL);
}

static void test_nvme_multipath_no_head(void **state)
{
	struct fx *f = *state;

	rm(f, SUBSYS2_DIR "/nvme2n1/multipath/nvme2c2n1");
	rm(f, "block/nvme2n1");
	expect_err(f, resolve(f, SETTINGS_DEV_NVME, "nvme2", 5), ERR_NOT_FOUND,
		   "sub_device_path", "nvme2c2n1", "multipath");
}

static void test_nvme_multipath_head_nsid_mismatch(void **state)
{
	struct fx *f = *state;

	/* the name rule alone is not trusted: the head's nsid must agree */
	rm(f, SUBSYS2_DIR "/nvme2n1/multipath/nvme2c2n1");
	rm(f, SUBSYS2_DIR "/nvme2n1/nsid");
	put(f, SUBSYS2_DIR "/nvme2n1/nsid", "6\n");
	expect_err(f, resolve(f, SETTINGS_DEV_NVME, "nvme2", 5), ERR_NOT_FOUND,
		   "sub_device_path", "nvme2c2n1", NULL);
}

static void test_nvme_serial_not_found(void **state)
{
	struct fx *f = *state;
	char want[PATH_MAX + 64];

	xfmt(want, sizeof(want),
	     "no NVMe controller with serial \"BLKXLATE-Z\" under %s/class/nvme",
	     f->sys);
	expect_err(f, resolve(f, SETTINGS_DEV_NVME, "BLKXLATE-Z", 1),
		   ERR_NOT_FOUND, "device_path", want, NULL);
}

static void test_nvme_serial_ambiguous(void **state)
{
	struct fx *f = *state;

	add_nvme_ctrl(f, "devices/pci0000:00/0000:00:07.0/nvme/nvme3", "nvme3",
		      "BLKXLATE-B");
	expect_err(f, resolve(f, SETTINGS_DEV_NVME, "BLKXLATE-B", 1),
		   ERR_NOT_FOUND, "device_path", "ambiguous", "nvme3");
	assert_non_null(strstr(f->err.message, "nvme0"));
}

static void test_nvme_serial_shared_by_one_subsystem(void **state)
{
	struct fx *f = *state;

	/*
	 * A second controller nvme4 of nvme2's subsystem: same serial, same
	 * subsysnqn, another path (nvme2c4n1) to the same head nvme2n1.
	 */
	add_pci(f, "devices/pci0000:00/0000:00:09.0", "0000:00:09.0", "nvme");
	add_nvme_ctrl(f, "devices/pci0000:00/0000:00:09.0/nvme/nvme4", "nvme4",
		      "BLKXLATE-C");
	rm(f, "devices/pci0000:00/0000:00:09.0/nvme/nvme4/subsysnqn");
	put(f, "devices/pci0000:00/0000:00:09.0/nvme/nvme4/subsysnqn",
	    "nqn.2019-08.org.qemu:nvme2\n");
	add_disk(f, &(struct disk){"devices/pci0000:00/0000:00:09.0/nvme/nvme4",
				   "nvme2c4n1", 259, 5, 1024, 512, 512, 5, true,
				   false});
	link_to(f, SUBSYS2_DIR "/nvme2n1/multipath/nvme2c4n1",
		"devices/pci0000:00/0000:00:09.0/nvme/nvme4/nvme2c4n1");
	assert_int_equal(resolve(f, SETTINGS_DEV_NVME, "BLKXLATE-C", 5), 0);
	expect_disk(
		f, "nvme2n1", 259, 4,
		"nvme serial BLKXLATE-C (nvme2) nsid 5 -> nvme2n1 (head of nvme2c2n1)");
	/* the second path resolves to the same head */
	assert_int_equal(resolve(f, SETTINGS_DEV_NVME, "nvme4", 5), 0);
	expect_disk(f, "nvme2n1", 259, 4,
		    "nvme nvme4 nsid 5 -> nvme2n1 (head of nvme2c4n1)");
}

static void test_nvme_nsid_not_found(void **state)
{
	struct fx *f = *state;

	expect_err(
		f, resolve(f, SETTINGS_DEV_NVME, "BLKXLATE-A", 7),
		ERR_NOT_FOUND, "sub_device_path",
		"NVMe controller nvme1 (serial BLKXLATE-A) has no namespace with nsid 7 (it has 1, 2)",
		NULL);
}

static void test_nvme_ctrl_without_namespaces(void **state)
{
	struct fx *f = *state;

	add_nvme_ctrl(f, "devices/pci0000:00/0000:00:07.0/nvme/nvme3", "nvme3",
		      "EMPTY");
	expect_err(f, resolve(f, SETTINGS_DEV_NVME, "EMPTY", 1), ERR_NOT_FOUND,
		   "sub_device_path", "nsid 1 (it has none)", NULL);
}

static void test_nvme_ctrl_name_not_found(void **state)
{
	struct fx *f = *state;

	expect_err(f, resolve(f, SETTINGS_DEV_NVME, "nvme9", 1), ERR_NOT_FOUND,
		   "device_path", "no NVMe controller nvme9 under", NULL);
}

static void test_nvme_dangling_class_link(void **state)
{
	struct fx *f = *state;

	link_to(f, "class/nvme/nvme7", "devices/pci0000:00/gone/nvme/nvme7");
	/* a serial search steps over it ... */
	assert_int_equal(resolve(f, SETTINGS_DEV_NVME, "BLKXLATE-B", 1), 0);
	expect_disk(f, "nvme0n1", 259, 0, NULL);
	/* ... and naming it says what is wrong */
	expect_err(f, resolve(f, SETTINGS_DEV_NVME, "nvme7", 1), ERR_NOT_FOUND,
		   "device_path", "nvme7", "dangling symlink");
}

static void test_nvme_dangling_block_link(void **state)
{
	struct fx *f = *state;

	rm(f, "block/nvme0n1");
	rm(f, "class/block/nvme0n1");
	link_to(f, "block/nvme0n1", "devices/gone/nvme0n1");
	expect_err(f, resolve(f, SETTINGS_DEV_NVME, "nvme0", 1), ERR_NOT_FOUND,
		   "sub_device_path", "block device nvme0n1 not found", NULL);
}

static void test_nvme_pci_not_found(void **state)
{
	struct fx *f = *state;

	expect_err(f, resolve(f, SETTINGS_DEV_NVME, "0000:00:1f.0", 1),
		   ERR_NOT_FOUND, "device_path",
		   "no PCI device 0000:00:1f.0 under", NULL);
}

static void test_nvme_pci_not_nvme(void **state)
{
	struct fx *f = *state;

	/* the virtio-scsi HBA */
	expect_err(f, resolve(f, SETTINGS_DEV_NVME, "0000:00:06.0", 1),
		   ERR_UNSUPPORTED, "device_path",
		   "PCI device 0000:00:06.0 is not an NVMe controller", NULL);
}

static void test_nvme_pci_two_ctrls(void **state)
{
	struct fx *f = *state;

	/* a second controller below the same PCI function */
	mkdirs(f->sys, "devices/pci0000:00/0000:00:04.0/nvme/nvme9");
	expect_err(
		f, resolve(f, SETTINGS_DEV_NVME, "0000:00:04.0", 1),
		ERR_NOT_FOUND, "device_path",
		"PCI device 0000:00:04.0 is ambiguous: several NVMe controllers below it (",
		"nvme9");
}

static void test_nvme_vmbus_not_nvme(void **state)
{
	struct fx *f = *state;

	expect_err(f, resolve(f, SETTINGS_DEV_NVME, GUID_SCSI, 1),
		   ERR_UNSUPPORTED, "device_path",
		   "VMBus device " GUID_SCSI " is not an NVMe controller",
		   NULL);
	expect_err(f, resolve(f, SETTINGS_DEV_NVME, GUID_NET, 1),
		   ERR_UNSUPPORTED, "device_path", GUID_NET, NULL);
}

static void test_nvme_vmbus_not_found(void **state)
{
	struct fx *f = *state;

	expect_err(f,
		   resolve(f, SETTINGS_DEV_NVME,
			   "00000000-1111-2222-3333-444444444444", 1),
		   ERR_NOT_FOUND, "device_path",
		   "no VMBus device 00000000-1111-2222-3333-444444444444",
		   NULL);
}

static void test_nvme_missing_attribute(void **state)
{
	struct fx *f = *state;

	rm(f, NVME0_DIR "/nvme0n1/queue/logical_block_size");
	expect_err(f, resolve(f, SETTINGS_DEV_NVME, "nvme0", 1), ERR_NOT_FOUND,
		   "sub_device_path", "nvme0n1",
		   "queue/logical_block_size is missing");
}

static void test_nvme_bad_attribute(void **state)
{
	static const char *const bad[][2] = {
		{"queue/logical_block_size", "1000\n"},
		{"queue/logical_block_size", "abc\n"},
		{"queue/physical_block_size", "256\n"},
		{"size", "-1\n"},
		{"size", "99999999999999999999999\n"},
		{"dev", "259\n"},
		{"queue/write_cache", "maybe\n"},
		{"queue/rotational", "2\n"},
	};
	struct fx *f = *state;
	char p[PATH_MAX], old[64];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int fd;
		ssize_t n;

		xfmt(p, sizeof(p), "%s/%s/nvme0n1/%s", f->sys, NVME0_DIR,
		     bad[i][0]);
		fd = open(p, O_RDONLY);
		assert_true(fd >= 0);
		n = read(fd, old, sizeof(old) - 1);
		close(fd);
		assert_true(n > 0);
		old[n] = '\0';
		xfmt(p, sizeof(p), "%s/nvme0n1/%s", NVME0_DIR, bad[i][0]);
		rm(f, p);
		put(f, p, bad[i][1]);
		expect_err(f, resolve(f, SETTINGS_DEV_NVME, "nvme0", 1),
			   ERR_NOT_FOUND, "sub_device_path", bad[i][0],
			   "unusable value");
		rm(f, p);
		put(f, p, old);
	}
	assert_int_equal(resolve(f, SETTINGS_DEV_NVME, "nvme0", 1), 0);
}

static void test_nvme_optional_attributes(void **state)
{
	struct fx *f = *state;

	/* pre-4.18 kernels: no fua, write_zeroes; write through cache */
	rm(f, NVME0_DIR "/nvme0n1/queue/fua");
	rm(f, NVME0_DIR "/nvme0n1/queue/write_zeroes_max_bytes");
	rm(f, NVME0_DIR "/nvme0n1/queue/write_cache");
	put(f, NVME0_DIR "/nvme0n1/queue/write_cache", "write through\n");
	assert_int_equal(resolve(f, SETTINGS_DEV_NVME, "nvme0", 1), 0);
	assert_false(f->out.fua);
	assert_false(f->out.volatile_cache);
	assert_int_equal(f->out.write_zeroes_max_bytes, 0);
}

/* --- vSCSI --- */

static void test_vscsi_host_name(void **state)
{
	struct fx *f = *state;

	assert_int_equal(resolve(f, SETTINGS_DEV_VSCSI, "host0", 1), 0);
	expect_disk(f, "sdb", 8, 16, "vscsi host0 lun 1 -> 0:0:0:1 sdb");
	assert_int_equal(f->out.logical_block_size, 4096);
	assert_int_equal(f->out.size_bytes, 262144ull * 512);
}

static void test_vscsi_host_number(void **state)
{
	struct fx *f = *state;

	assert_int_equal(resolve(f, SETTINGS_DEV_VSCSI, "0", 0), 0);
	expect_disk(f, "sda", 8, 0, "vscsi host0 lun 0 -> 0:0:0:0 sda");
	assert_true(f->out.rotational);
}

static void test_vscsi_pci_virtio(void **state)
{
	struct fx *f = *state;

	assert_int_equal(resolve(f, SETTINGS_DEV_VSCSI, "0000:00:06.0", 1), 0);
	expect_disk(f, "sdb", 8, 16,
		    "vscsi PCI 0000:00:06.0 (host0) lun 1 -> 0:0:0:1 sdb");
}

static void test_vscsi_vmbus(void **state)
{
	struct fx *f = *state;

	assert_int_equal(resolve(f, SETTINGS_DEV_VSCSI, GUID_SCSI, 2), 0);
	expect_disk(f, "sdc", 8, 32,
		    "vscsi VMBus " GUID_SCSI " (host3) lun 2 -> 3:0:0:2 sdc");
	assert_int_equal(f->out.physical_block_size, 4096);
}

static void test_vscsi_lun_not_found(void **state)
{
	struct fx *f = *state;

	expect_err(f, resolve(f, SETTINGS_DEV_VSCSI, "host0", 7), ERR_NOT_FOUND,
		   "sub_device_path", "no LUN 7", "(it has LUNs 0, 1)");
}

static void test_vscsi_dangling_lun(void **state)
{
	struct fx *f = *state;

	link_to(f, "bus/scsi/devices/0:0:0:4", HOST0_DIR "/target0:0:0/gone");
	expect_err(f, resolve(f, SETTINGS_DEV_VSCSI, "host0", 4), ERR_NOT_FOUND,
		   "sub_device_path", "0:0:0:4", "dangling symlink");
	assert_non_null(strstr(f->err.message, "(it has LUNs 0, 1)"));
}

static void test_vscsi_host_not_found(void **state)
{
	struct fx *f = *state;

	expect_err(f, resolve(f, SETTINGS_DEV_VSCSI, "host9", 0), ERR_NOT_FOUND,
		   "device_path", "no SCSI host host9 under",
		   "class/scsi_host");
	expect_err(f, resolve(f, SETTINGS_DEV_VSCSI, "9", 0), ERR_NOT_FOUND,
		   "device_path", "host9", NULL);
}

static void test_vscsi_bad_device_path(void **state)
{
	struct fx *f = *state;

	expect_err(f, resolve(f, SETTINGS_DEV_VSCSI, "sdb", 0), ERR_NOT_FOUND,
		   "device_path", "\"sdb\" is not a VMBus GUID", NULL);
}

static void test_vscsi_not_a_disk(void **state)
{
	struct fx *f = *state;

	expect_err(f, resolve(f, SETTINGS_DEV_VSCSI, GUID_SCSI, 5),
		   ERR_UNSUPPORTED, "sub_device_path", "3:0:0:5",
		   "not a disk (SCSI type 5)");
}

static void test_vscsi_disk_not_bound(void **state)
{
	struct fx *f = *state;

	expect_err(f, resolve(f, SETTINGS_DEV_VSCSI, "host3", 6), ERR_NOT_FOUND,
		   "sub_device_path", "3:0:0:6", "no block device");
}

static void test_vscsi_pci_not_scsi(void **state)
{
	struct fx *f = *state;

	expect_err(f, resolve(f, SETTINGS_DEV_VSCSI, "0000:00:04.0", 0),
		   ERR_UNSUPPORTED, "device_path",
		   "PCI device 0000:00:04.0 is not a SCSI controller", NULL);
}

static void test_vscsi_pci_two_hosts(void **state)
{
	struct fx *f = *state;

	mkdirs(f->sys, "devices/pci0000:00/0000:00:06.0/virtio2/host5");
	expect_err(
		f, resolve(f, SETTINGS_DEV_VSCSI, "0000:00:06.0", 0),
		ERR_NOT_FOUND, "device_path",
		"PCI device 0000:00:06.0 is ambiguous: several SCSI hosts below it (",
		"host5");
}

static void test_vscsi_vmbus_not_scsi(void **state)
{
	struct fx *f = *state;

	/* the NVMe VMBus device holds nvme2, and a link loop */
	expect_err(f, resolve(f, SETTINGS_DEV_VSCSI, GUID_NVME, 0),
		   ERR_UNSUPPORTED, "device_path",
		   "VMBus device " GUID_NVME " is not a SCSI controller", NULL);
}

/* --- files --- */

static void test_file_regular(void **state)
{
	struct fx *f = *state;
	char p[PATH_MAX];
	int fd;

	xfmt(p, sizeof(p), "%s/disk.img", f->root);
	fd = open(p, O_CREAT | O_WRONLY, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 3 << 20), 0);
	close(fd);
	assert_int_equal(resolve(f, SETTINGS_DEV_FILE, p, 0), 0);
	assert_true(f->out.is_file);
	assert_false(f->out.from_sysfs);
	assert_string_equal(f->out.dev_path, p);
	assert_int_equal(f->out.size_bytes, 3 << 20);
	assert_int_equal(f->out.logical_block_size, 512);
}

static void test_file_missing(void **state)
{
	struct fx *f = *state;
	char p[PATH_MAX];

	xfmt(p, sizeof(p), "%s/nope.img", f->root);
	expect_err(f, resolve(f, SETTINGS_DEV_FILE, p, 0), ERR_NOT_FOUND,
		   "device_path", p, "No such file");
}

static void test_file_directory(void **state)
{
	struct fx *f = *state;

	expect_err(f, resolve(f, SETTINGS_DEV_FILE, f->dev, 0), ERR_UNSUPPORTED,
		   "device_path", "neither a regular file nor a block device",
		   NULL);
}

/* A block device node for MAJ:MIN in dev/, or skip where mknod is denied. */
static bool make_node(struct fx *f, const char *name, unsigned int maj,
		      unsigned int min, char *p, size_t len)
{
	xfmt(p, len, "%s/%s", f->dev, name);
	if (mknod(p, S_IFBLK | 0600, makedev(maj, min)) == 0)
		return true;
	print_message("mknod %s: %s: skipped\n", p, strerror(errno));
	return false;
}

static void test_file_block_device(void **state)
{
	struct fx *f = *state;
	char p[PATH_MAX];

	if (!make_node(f, "mydisk", 8, 16, p, sizeof(p)))
		skip();
	assert_int_equal(resolve(f, SETTINGS_DEV_FILE, p, 0), 0);
	assert_false(f->out.is_file);
	assert_true(f->out.from_sysfs);
	assert_string_equal(f->out.dev_path, p); /* as given */
	assert_string_equal(f->out.name, "sdb");
	assert_int_equal(f->out.logical_block_size, 4096);
	assert_int_equal(f->out.size_bytes, 262144ull * 512);
}

static void test_file_partition(void **state)
{
	struct fx *f = *state;
	char p[PATH_MAX];

	/* a partition has no queue/: the disk's applies */
	put(f, NVME1_DIR "/nvme1n1/nvme1n1p1/dev", "259:9\n");
	put(f, NVME1_DIR "/nvme1n1/nvme1n1p1/size", "2048\n");
	put(f, NVME1_DIR "/nvme1n1/nvme1n1p1/ro", "1\n");
	put(f, NVME1_DIR "/nvme1n1/nvme1n1p1/partition", "1\n");
	link_to(f, "dev/block/259:9", NVME1_DIR "/nvme1n1/nvme1n1p1");
	if (!make_node(f, "nvme1n1p1", 259, 9, p, sizeof(p)))
		skip();
	assert_int_equal(resolve(f, SETTINGS_DEV_FILE, p, 0), 0);
	assert_string_equal(f->out.name, "nvme1n1p1");
	assert_int_equal(f->out.size_bytes, 2048 * 512);
	assert_int_equal(f->out.logical_block_size, 4096);
	assert_true(f->out.read_only);
}

static void test_file_block_device_without_sysfs(void **state)
{
	struct fx *f = *state;
	char p[PATH_MAX];

	if (!make_node(f, "stray", 250, 7, p, sizeof(p)))
		skip();
	expect_err(f, resolve(f, SETTINGS_DEV_FILE, p, 0), ERR_NOT_FOUND,
		   "device_path", "250:7", NULL);
}

/* --- other entry points --- */

static void test_block_attrs_by_name(void **state)
{
	struct fx *f = *state;
	struct resolved_dev d = {0};

	assert_int_equal(resolve_block_attrs(&f->ctx, "nvme1n1", &d), 0);
	assert_int_equal(d.logical_block_size, 4096);
	assert_int_equal(d.major, 259);
	assert_int_equal(d.minor, 1);
	assert_int_equal(resolve_block_attrs(&f->ctx, "nvme9n9", &d), -ENOENT);
	assert_int_equal(resolve_block_attrs(&f->ctx, "../x", &d), -EINVAL);
	rm(f, NVME1_DIR "/nvme1n1/size");
	assert_int_equal(resolve_block_attrs(&f->ctx, "nvme1n1", &d), -ENOENT);
}

static void test_empty_device_path(void **state)
{
	struct fx *f = *state;

	expect_err(f, resolve(f, SETTINGS_DEV_NVME, "", 1), ERR_NOT_FOUND,
		   "device_path", "empty", NULL);
}

static void test_no_sysfs_at_all(void **state)
{
	struct fx *f = *state;
	char p[PATH_MAX];

	xfmt(p, sizeof(p), "%s/nonexistent", f->root);
	f->ctx.sysfs_root = p;
	expect_err(f, resolve(f, SETTINGS_DEV_NVME, "BLKXLATE-A", 1),
		   ERR_NOT_FOUND, "device_path", "BLKXLATE-A", "cannot list");
	expect_err(f, resolve(f, SETTINGS_DEV_VSCSI, "host0", 1), ERR_NOT_FOUND,
		   "device_path", "host0", NULL);
}

static void test_ctx_default(void **state)
{
	struct resolve_ctx c;

	(void)state;
	unsetenv("BLKXLATE_SYSFS_ROOT");
	unsetenv("BLKXLATE_DEV_ROOT");
	resolve_ctx_default(&c);
	assert_string_equal(c.sysfs_root, "/sys");
	assert_string_equal(c.dev_root, "/dev");
	setenv("BLKXLATE_SYSFS_ROOT", "/tmp/s", 1);
	setenv("BLKXLATE_DEV_ROOT", "/tmp/d", 1);
	resolve_ctx_default(&c);
	assert_string_equal(c.sysfs_root, "/tmp/s");
	assert_string_equal(c.dev_root, "/tmp/d");
	unsetenv("BLKXLATE_SYSFS_ROOT");
	unsetenv("BLKXLATE_DEV_ROOT");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_nvme_serial_4k_namespace),
		T(test_nvme_serial_by_nsid_not_name),
		T(test_nvme_ctrl_name),
		T(test_nvme_pci_address),
		T(test_nvme_pci_short_address),
		T(test_nvme_vmbus_multipath),
		T(test_nvme_multipath_by_serial),
		T(test_nvme_multipath_without_links),
		T(test_nvme_multipath_no_head),
		T(test_nvme_multipath_head_nsid_mismatch),
		T(test_nvme_serial_not_found),
		T(test_nvme_serial_ambiguous),
		T(test_nvme_serial_shared_by_one_subsystem),
		T(test_nvme_nsid_not_found),
		T(test_nvme_ctrl_without_namespaces),
		T(test_nvme_ctrl_name_not_found),
		T(test_nvme_dangling_class_link),
		T(test_nvme_dangling_block_link),
		T(test_nvme_pci_not_found),
		T(test_nvme_pci_not_nvme),
		T(test_nvme_pci_two_ctrls),
		T(test_nvme_vmbus_not_nvme),
		T(test_nvme_vmbus_not_found),
		T(test_nvme_missing_attribute),
		T(test_nvme_bad_attribute),
		T(test_nvme_optional_attributes),
		T(test_vscsi_host_name),
		T(test_vscsi_host_number),
		T(test_vscsi_pci_virtio),
		T(test_vscsi_vmbus),
		T(test_vscsi_lun_not_found),
		T(test_vscsi_dangling_lun),
		T(test_vscsi_host_not_found),
		T(test_vscsi_bad_device_path),
		T(test_vscsi_not_a_disk),
		T(test_vscsi_disk_not_bound),
		T(test_vscsi_pci_not_scsi),
		T(test_vscsi_pci_two_hosts),
		T(test_vscsi_vmbus_not_scsi),
		T(test_file_regular),
		T(test_file_missing),
		T(test_file_directory),
		T(test_file_block_device),
		T(test_file_partition),
		T(test_file_block_device_without_sysfs),
		T(test_block_attrs_by_name),
		T(test_empty_device_path),
		T(test_no_sysfs_at_all),
		cmocka_unit_test(test_ctx_default),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
