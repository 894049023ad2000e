// SPDX-License-Identifier: MIT
/* nvme: an NVMe namespace by controller (VMBus, PCI, name, serial) and nsid. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "devices/resolve_priv.h"

/* --- NVMe --- */

struct nvme_ctrl_ref {
	char dir[PATH_MAX];    /* the controller device's sysfs directory */
	char name[64];	       /* nvmeX */
	char serial[ATTR_LEN]; /* "" when unreadable */
	char desc[96];	       /* how it was named: "serial S (nvme1)" */
	char label[160];       /* for messages: "nvme1 (serial S)" */
};

static int ctrl_set(struct nvme_ctrl_ref *c, const char *dir, const char *name)
{
	if (rs_pfmt(c->dir, sizeof(c->dir), "%s", dir) ||
	    rs_pfmt(c->name, sizeof(c->name), "%s", name))
		return -ENAMETOOLONG;
	return 0;
}

/*
 * The one directory below device directory TOP that MATCH accepts, at most
 * RESOLVE_SEARCH_DEPTH levels down.  KIND ("an NVMe controller") and MANY
 * ("NVMe controllers") name it in errors, LOOKED_FOR says what was sought.
 * On success *OUT is the caller's to free.
 */
int rs_one_below(struct rs *r, const char *top, const char *what,
		 match_fn match, const char *kind, const char *looked_for,
		 const char *many, struct found **out)
{
	static const char field[] = "device_path";
	char list[LIST_LEN];
	struct found *f;
	int n;

	*out = NULL;
	f = calloc(1, sizeof(*f));
	if (!f) {
		rs_fail(r, ERR_NOT_FOUND, field, "out of memory");
		return -ENOMEM;
	}
	rs_search_below(top, "", RESOLVE_SEARCH_DEPTH, match, f);
	if (f->n == 1) {
		*out = f;
		return 0;
	}
	rs_found_list(f, list, sizeof(list));
	n = f->n;
	free(f);
	if (n == 0)
		return rs_fail(r, ERR_UNSUPPORTED, field,
			       "%s is not %s: no %s within %d levels below %s",
			       what, kind, looked_for, RESOLVE_SEARCH_DEPTH,
			       top);
	return rs_fail(r, ERR_NOT_FOUND, field,
		       "%s is ambiguous: several %s below it (%s)", what, many,
		       list);
}

/* The one NVMe controller below device directory TOP (VMBus or PCI). */
static int nvme_ctrl_below(struct rs *r, const char *top, const char *what,
			   struct nvme_ctrl_ref *c)
{
	struct found *f;
	int ret;

	ret = rs_one_below(r, top, what, rs_match_nvme_ctrl,
			   "an NVMe controller", "nvme/nvmeN",
			   "NVMe controllers", &f);
	if (ret)
		return ret;
	if (ctrl_set(c, f->path[0], f->name[0]))
		ret = rs_fail(r, ERR_NOT_FOUND, "device_path",
			      "%s: path too long", what);
	free(f);
	return ret;
}

/*
 * The controller whose serial attribute equals SERIAL.  The serial belongs
 * to the NVM subsystem (NVMe spec, Identify Controller SN), so the
 * controllers of one multipath subsystem share it: that is one device, and
 * the lowest-numbered controller stands for it.  Controllers of different
 * subsystems (subsysnqn) with one serial are ambiguous.
 */
static int nvme_ctrl_by_serial(struct rs *r, const char *serial,
			       struct nvme_ctrl_ref *c)
{
	static const char field[] = "device_path";
	char cls[PATH_MAX], dir[PATH_MAX], buf[ATTR_LEN], list[LIST_LEN] = "";
	char nqn[ATTR_LEN], first_nqn[ATTR_LEN] = "";
	uint32_t num, best = UINT32_MAX;
	bool one_subsys = true;
	struct dirent *de;
	int n = 0, e;
	DIR *d;

	if (rs_pfmt(cls, sizeof(cls), "%s/class/nvme", r->sys))
		return rs_fail(r, ERR_NOT_FOUND, field, "sysfs root too long");
	d = opendir(cls);
	if (!d) {
		e = errno;
		return rs_fail(
			r, ERR_NOT_FOUND, field,
			"no NVMe controller with serial \"%s\": cannot list %s (%s; nvme driver not loaded?)",
			serial, cls, strerror(e));
	}
	while ((de = readdir(d))) {
		if (!rs_name_num(de->d_name, "nvme", &num) ||
		    rs_pfmt(dir, sizeof(dir), "%s/%s", cls, de->d_name) ||
		    rs_read_attr_str(dir, "serial", buf, sizeof(buf)) ||
		    strcmp(buf, serial) != 0)
			continue;
		if (rs_read_attr_str(dir, "subsysnqn", nqn, sizeof(nqn)))
			nqn[0] = '\0';
		if (n++ == 0)
			memcpy(first_nqn, nqn, sizeof(nqn));
		else if (!nqn[0] || strcmp(nqn, first_nqn) != 0)
			one_subsys = false;
		rs_list_add(list, sizeof(list), de->d_name);
		if (num < best && ctrl_set(c, dir, de->d_name) == 0)
			best = num;
	}
	closedir(d);
	if (n == 0)
		return rs_fail(r, ERR_NOT_FOUND, field,
			       "no NVMe controller with serial \"%s\" under %s",
			       serial, cls);
	if (n > 1 && !one_subsys)
		return rs_fail(
			r, ERR_NOT_FOUND, field,
			"NVMe serial \"%s\" is ambiguous: controllers %s under %s have it but are not one subsystem",
			serial, list, cls);
	if (best == UINT32_MAX)
		return rs_fail(r, ERR_NOT_FOUND, field, "path too long");
	return 0;
}

/* device_path -> controller: VMBus GUID, PCI address, nvmeX or serial. */
static int nvme_find_ctrl(struct rs *r, struct nvme_ctrl_ref *c)
{
	static const char field[] = "device_path";
	const char *p = r->dev->device_path;
	struct bus_dev bd;
	char top[PATH_MAX];
	int ret;

	ret = rs_bus_device(r, &bd);
	if (ret < 0)
		return ret;
	if (ret) {
		ret = nvme_ctrl_below(r, bd.top, bd.what, c);
		if (ret)
			return ret;
		rs_sfmt(c->desc, sizeof(c->desc), "%s (%s)", bd.tag, c->name);
	} else if (rs_name_num(p, "nvme", NULL)) {
		if (rs_pfmt(top, sizeof(top), "%s/class/nvme/%s", r->sys, p) ||
		    !rs_is_dir(top))
			return rs_fail(
				r, ERR_NOT_FOUND, field,
				"no NVMe controller %s under %s/class/nvme%s",
				p, r->sys, rs_dangling(top));
		if (ctrl_set(c, top, p))
			return rs_fail(r, ERR_NOT_FOUND, field,
				       "path too long");
		rs_sfmt(c->desc, sizeof(c->desc), "%s", p);
	} else {
		ret = nvme_ctrl_by_serial(r, p, c);
		if (ret)
			return ret;
		rs_sfmt(c->desc, sizeof(c->desc), "serial %s (%s)", p, c->name);
	}
	if (rs_read_attr_str(c->dir, "serial", c->serial, sizeof(c->serial)))
		c->serial[0] = '\0';
	if (c->serial[0])
		rs_sfmt(c->label, sizeof(c->label), "%s (serial %s)", c->name,
			c->serial);
	else
		rs_sfmt(c->label, sizeof(c->label), "%s", c->name);
	return 0;
}

/*
 * A hidden multipath path device (nvmeAcXnB) rather than a usable disk.
 * The "hidden" attribute says so where the kernel has it; the name pattern
 * (nvme_set_disk_name) where it does not.
 */
static bool nvme_is_path_dev(const char *dir, const char *name)
{
	unsigned int a, b, n;
	char buf[16], tail;

	if (rs_read_attr_str(dir, "hidden", buf, sizeof(buf)) == 0)
		return strcmp(buf, "1") == 0;
	return sscanf(name, "nvme%uc%un%u%c", &a, &b, &n, &tail) == 3;
}

/*
 * The multipath head disk of path device PATH_NAME.  Kernels 6.15+ link
 * /sys/block/<head>/multipath/<path>; older ones name the head as the path
 * without its "cX" (nvme_set_disk_name), which is checked by its nsid.
 */
static int nvme_head_of(struct rs *r, const char *path_name, uint32_t nsid,
			char *head, size_t len)
{
	char blk[PATH_MAX], p[PATH_MAX], derived[64];
	unsigned int a, b, n;
	struct dirent *de;
	struct stat st;
	uint64_t v;
	int ret = -ENOENT;
	DIR *d;

	if (rs_pfmt(blk, sizeof(blk), "%s/block", r->sys))
		return -ENAMETOOLONG;
	d = opendir(blk);
	if (!d)
		return -errno;
	while (ret && (de = readdir(d))) {
		if (de->d_name[0] == '.' ||
		    rs_pfmt(p, sizeof(p), "%s/%s/multipath/%s", blk, de->d_name,
			    path_name) ||
		    lstat(p, &st) != 0)
			continue;
		ret = rs_pfmt(head, len, "%s", de->d_name);
	}
	closedir(d);
	if (ret == 0)
		return 0;
	if (sscanf(path_name, "nvme%uc%un%u", &a, &b, &n) != 3 ||
	    rs_pfmt(derived, sizeof(derived), "nvme%un%u", a, n) ||
	    rs_pfmt(p, sizeof(p), "%s/%s", blk, derived) ||
	    rs_read_attr_u64(p, "nsid", &v) || v != nsid)
		return -ENOENT;
	return rs_pfmt(head, len, "%s", derived);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* "1, 2, 7" from the first N values of V, sorted. */
void rs_u32_list(uint32_t *v, int n, int max, char *list, size_t len)
{
	char num[16];

	list[0] = '\0';
	qsort(v, (size_t)(n < max ? n : max), sizeof(*v), cmp_u32);
	for (int i = 0; i < n && i < max; i++) {
		rs_sfmt(num, sizeof(num), "%" PRIu32, v[i]);
		rs_list_add(list, len, num);
	}
	if (n > max)
		rs_list_add(list, len, "...");
	if (!n)
		rs_sfmt(list, len, "none");
}

/* The namespace of controller C whose nsid is sub_device_path. */
static int nvme_find_ns(struct rs *r, const struct nvme_ctrl_ref *c,
			struct resolved_dev *out)
{
	static const char field[] = "sub_device_path";
	const uint32_t want = r->dev->sub_device_path;
	char sub[PATH_MAX], ns[64] = "", head[64], how[160], list[LIST_LEN];
	uint32_t seen[32];
	struct dirent *de;
	int nseen = 0, e;
	bool path_dev = false;
	uint64_t nsid;
	DIR *d;

	d = opendir(c->dir);
	if (!d) {
		e = errno;
		return rs_fail(r, ERR_NOT_FOUND, field,
			       "cannot list NVMe controller %s at %s: %s",
			       c->label, c->dir, strerror(e));
	}
	while ((de = readdir(d))) {
		/* nvmeAnB, nvmeAcXnB; not ngAnB (char devices) or links */
		if (strncmp(de->d_name, "nvme", 4) != 0 ||
		    !rs_dirent_is_dir(d, de) ||
		    rs_pfmt(sub, sizeof(sub), "%s/%s", c->dir, de->d_name) ||
		    rs_read_attr_u64(sub, "nsid", &nsid) || nsid > UINT32_MAX)
			continue;
		if (nseen < (int)(sizeof(seen) / sizeof(seen[0])))
			seen[nseen] = (uint32_t)nsid;
		nseen++;
		if (nsid != want || ns[0])
			continue;
		if (rs_pfmt(ns, sizeof(ns), "%s", de->d_name))
			ns[0] = '\0';
		else
			path_dev = nvme_is_path_dev(sub, de->d_name);
	}
	closedir(d);
	if (!ns[0]) {
		rs_u32_list(seen, nseen, (int)(sizeof(seen) / sizeof(seen[0])),
			    list, sizeof(list));
		return rs_fail(
			r, ERR_NOT_FOUND, field,
			"NVMe controller %s has no namespace with nsid %" PRIu32
			" (it has %s)",
			c->label, want, list);
	}
	if (path_dev) {
		if (nvme_head_of(r, ns, want, head, sizeof(head)))
			return rs_fail(
				r, ERR_NOT_FOUND, field,
				"NVMe controller %s: nsid %" PRIu32
				" is multipath path device %s, but no head disk links to it in %s/block/*/multipath/",
				c->label, want, ns, r->sys);
		rs_sfmt(how, sizeof(how),
			"nvme %s nsid %" PRIu32 " -> %s (head of %s)", c->desc,
			want, head, ns);
		return rs_finish_block(r, field, head, how, out);
	}
	rs_sfmt(how, sizeof(how), "nvme %s nsid %" PRIu32 " -> %s", c->desc,
		want, ns);
	return rs_finish_block(r, field, ns, how, out);
}

int resolve_nvme(struct rs *r, struct resolved_dev *out)
{
	struct nvme_ctrl_ref *c;
	int ret;

	c = calloc(1, sizeof(*c));
	if (!c) {
		rs_fail(r, ERR_NOT_FOUND, "device_path", "out of memory");
		return -ENOMEM;
	}
	ret = nvme_find_ctrl(r, c);
	if (!ret)
		ret = nvme_find_ns(r, c, out);
	free(c);
	return ret;
}
