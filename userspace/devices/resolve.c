// SPDX-License-Identifier: MIT
/*
 * resolve: settings device -> Linux block device (or file), through sysfs.
 *
 * Layouts this follows (checked on Debian's 6.12 and 7.3 in the VM lab):
 * - /sys/class/nvme/nvmeX links to the controller device (under its PCI
 *   function, .../<pci addr>/nvme/nvmeX; on Hyper-V the PCI function sits
 *   below the VMBus device, .../<guid>/pciDDDD:BB/DDDD:BB:00.0/nvme/nvmeX).
 * - Namespaces: without a multipath head the namespace disk nvmeAnB is a
 *   child of the controller directory.  With native multipath the
 *   controller holds hidden path disks nvmeAcXnB (no "dev", no /dev node),
 *   the usable disk is the head nvmeAnB (a child of the nvme-subsystem
 *   device); since 6.15 the head's multipath/ group links to its paths
 *   (6.12 has no such links).  Names use the subsystem instance and a head
 *   instance, never the nsid (6.12 named nsid 2 nvme0n1): only the "nsid"
 *   attribute tells.  The "serial" attribute is space-padded to 20 bytes.
 * - SCSI: the host device hostN sits below the HBA (virtioK/hostN for
 *   virtio-scsi, directly below the VMBus device for storvsc);
 *   /sys/bus/scsi/devices/H:C:T:L/block/sdX is the disk.
 */
#include "devices/resolve.h"

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

#define ERR_NOT_FOUND	"Configuration.StorageCannotFindVtl2Device"
#define ERR_UNSUPPORTED "Configuration.StorageUnsupportedDeviceType"

/* How deep below a VMBus or PCI device the controller/host may sit. */
#define RESOLVE_SEARCH_DEPTH 6
/* At most this many candidates are reported (ambiguity, "it has ..."). */
#define RESOLVE_MAX_FOUND    8
#define ATTR_LEN	     256
#define LIST_LEN	     160
#define QOFF		     (sizeof("queue/") - 1) /* "queue/x" + QOFF: "x" */

/* One resolution: what it reads and where its error goes. */
struct rs {
	const char *sys;      /* sysfs root */
	const char *dev_root; /* /dev root */
	const struct settings_device *dev;
	struct error_obj *err;
};

/* --- small helpers --- */

/* snprintf that fails with -ENAMETOOLONG instead of truncating. */
__attribute__((format(printf, 3, 4))) static int pfmt(char *buf, size_t len,
						      const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= len)
		return -ENAMETOOLONG;
	return 0;
}

/* snprintf for text where truncation is acceptable (messages, lists). */
__attribute__((format(printf, 3, 4))) static void sfmt(char *buf, size_t len,
						       const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

/* Append to a comma-separated list; silently stops when full ("..."). */
static void list_add(char *list, size_t len, const char *item)
{
	size_t used = strlen(list);

	if (used + 1 >= len)
		return;
	if (snprintf(list + used, len - used, "%s%s", used ? ", " : "", item) >=
		    (int)(len - used) &&
	    len > 4)
		memcpy(list + len - 4, "...", 4);
}

__attribute__((format(printf, 4, 5))) static int
rs_fail(struct rs *r, const char *id, const char *field, const char *fmt, ...)
{
	char path[ERROR_PATH_LEN];
	char msg[sizeof(r->err->message)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* A truncated path still points at the right object: keep it. */
	sfmt(path, sizeof(path), "%s.%s", r->dev->path, field);
	error_set(r->err, id, path, "%s", msg);
	return strcmp(id, ERR_UNSUPPORTED) == 0 ? -ENODEV : -ENOENT;
}

/* Read a sysfs attribute, whitespace-trimmed.  0 or -errno. */
static int read_attr(const char *path, char *buf, size_t len)
{
	ssize_t n;
	size_t start = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	close(fd);
	buf[n] = '\0';
	while (n > 0 && isspace((unsigned char)buf[n - 1]))
		buf[--n] = '\0';
	while (buf[start] && isspace((unsigned char)buf[start]))
		start++;
	if (start)
		memmove(buf, buf + start, (size_t)n - start + 1);
	return 0;
}

/* Decimal only, no sign, no junk.  0, -EINVAL or -ERANGE. */
static int parse_u64(const char *s, uint64_t *v)
{
	uint64_t x = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		if (x > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -ERANGE;
		x = x * 10 + (uint64_t)(*s - '0');
	}
	*v = x;
	return 0;
}

static int parse_u32(const char *s, uint32_t *v)
{
	uint64_t x;
	int ret = parse_u64(s, &x);

	if (ret)
		return ret;
	if (x > UINT32_MAX)
		return -ERANGE;
	*v = (uint32_t)x;
	return 0;
}

/* DIR/NAME as a number. */
static int read_attr_u64(const char *dir, const char *name, uint64_t *v)
{
	char path[PATH_MAX], buf[ATTR_LEN];
	int ret;

	ret = pfmt(path, sizeof(path), "%s/%s", dir, name);
	if (!ret)
		ret = read_attr(path, buf, sizeof(buf));
	if (!ret)
		ret = parse_u64(buf, v);
	return ret;
}

static int read_attr_str(const char *dir, const char *name, char *buf,
			 size_t len)
{
	char path[PATH_MAX];
	int ret = pfmt(path, sizeof(path), "%s/%s", dir, name);

	return ret ? ret : read_attr(path, buf, len);
}

/* "PREFIX<digits>" exactly (nvme0, host12); *num gets the digits. */
static bool name_num(const char *name, const char *prefix, uint32_t *num)
{
	size_t plen = strlen(prefix);
	uint32_t n;

	if (strncmp(name, prefix, plen) != 0)
		return false;
	if (parse_u32(name + plen, &n))
		return false;
	if (num)
		*num = n;
	return true;
}

static bool is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* " (dangling symlink)" when PATH is a link to nothing, else "". */
static const char *dangling(const char *path)
{
	struct stat st;

	if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode) && stat(path, &st))
		return " (dangling symlink)";
	return "";
}

/* Entry D (in the directory open as dirfd) is a real directory, not a link. */
static bool dirent_is_dir(DIR *d, const struct dirent *de)
{
	struct stat st;

	if (de->d_type == DT_DIR)
		return true;
	if (de->d_type != DT_UNKNOWN)
		return false;
	return fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	       S_ISDIR(st.st_mode);
}

/* --- bounded search below a device --- */

typedef bool (*match_fn)(const char *parent, const char *name);

struct found {
	int n; /* matches seen (may exceed max) */
	char path[RESOLVE_MAX_FOUND][PATH_MAX]; /* first matches */
	char name[RESOLVE_MAX_FOUND][64];
};

/*
 * Walk real directories (never symlinks: sysfs links loop back up the tree)
 * below DIR, at most DEPTH levels, recording directories MATCH accepts and
 * not descending into them.
 */
static void search_below(const char *dir, const char *base, int depth,
			 match_fn match, struct found *f)
{
	struct dirent *de;
	DIR *d;

	if (depth <= 0)
		return;
	d = opendir(dir);
	if (!d)
		return;
	while ((de = readdir(d))) {
		char sub[PATH_MAX];

		if (de->d_name[0] == '.' || !dirent_is_dir(d, de))
			continue;
		if (pfmt(sub, sizeof(sub), "%s/%s", dir, de->d_name))
			continue;
		if (match(base, de->d_name)) {
			if (f->n < RESOLVE_MAX_FOUND &&
			    strlen(de->d_name) < sizeof(f->name[0])) {
				strcpy(f->path[f->n], sub);
				strcpy(f->name[f->n], de->d_name);
			}
			f->n++;
			continue;
		}
		search_below(sub, de->d_name, depth - 1, match, f);
	}
	closedir(d);
}

static bool match_nvme_ctrl(const char *parent, const char *name)
{
	return strcmp(parent, "nvme") == 0 && name_num(name, "nvme", NULL);
}

static bool match_scsi_host(const char *parent, const char *name)
{
	return strcmp(parent, "scsi_host") != 0 && name_num(name, "host", NULL);
}

static void found_list(const struct found *f, char *list, size_t len)
{
	list[0] = '\0';
	for (int i = 0; i < f->n && i < RESOLVE_MAX_FOUND; i++)
		list_add(list, len, f->name[i]);
	if (f->n > RESOLVE_MAX_FOUND)
		list_add(list, len, "...");
}

/* --- device_path forms --- */

/* A VMBus GUID in sysfs spelling (lowercase, no braces). */
static bool parse_guid_form(const char *s, char *out)
{
	struct guid g;

	if (guid_parse(s, &g))
		return false;
	guid_format(&g, out);
	return true;
}

/*
 * A PCI address "DDDD:BB:SS.F" (domain 4..8 hex digits; Hyper-V and VMD use
 * wide domains) or "BB:SS.F" meaning domain 0000; out gets sysfs spelling.
 */
static bool parse_pci_form(const char *s, char *out, size_t len)
{
	unsigned int dom = 0, bus, slot, fn;
	size_t n = strlen(s), dlen = 0;
	const char *p = s;

	if (n > 7) { /* has a domain */
		while (isxdigit((unsigned char)p[dlen]))
			dlen++;
		if (dlen < 4 || dlen > 8 || p[dlen] != ':')
			return false;
		p += dlen + 1;
	}
	if (strlen(p) != 7 || !isxdigit((unsigned char)p[0]) ||
	    !isxdigit((unsigned char)p[1]) || p[2] != ':' ||
	    !isxdigit((unsigned char)p[3]) || !isxdigit((unsigned char)p[4]) ||
	    p[5] != '.' || p[6] < '0' || p[6] > '7')
		return false;
	if (dlen && sscanf(s, "%x:", &dom) != 1)
		return false;
	if (sscanf(p, "%2x:%2x.%1x", &bus, &slot, &fn) != 3 || slot > 0x1f)
		return false;
	return pfmt(out, len, "%04x:%02x:%02x.%x", dom, bus, slot, fn) == 0;
}

/* device_path as a device on a bus: "VMBus <guid>" or "PCI <addr>". */
struct bus_dev {
	char top[PATH_MAX];	      /* its sysfs device directory */
	char what[32 + GUID_STR_LEN]; /* "VMBus device <guid>" */
	char tag[16 + GUID_STR_LEN];  /* "VMBus <guid>" */
};

/*
 * 1 when device_path is a VMBus GUID or a PCI address whose device exists
 * (B filled), 0 when it is neither form, -errno with the error filled when
 * it is one but sysfs lacks it.
 */
static int bus_device(struct rs *r, struct bus_dev *b)
{
	const char *p = r->dev->device_path;
	const char *bus, *kind;
	char id[GUID_STR_LEN + 1];

	if (parse_guid_form(p, id)) {
		bus = "vmbus";
		kind = "VMBus";
	} else if (parse_pci_form(p, id, sizeof(id))) {
		bus = "pci";
		kind = "PCI";
	} else {
		return 0;
	}
	if (pfmt(b->top, sizeof(b->top), "%s/bus/%s/devices/%s", r->sys, bus,
		 id))
		return rs_fail(r, ERR_NOT_FOUND, "device_path",
			       "sysfs root too long");
	if (!is_dir(b->top))
		return rs_fail(r, ERR_NOT_FOUND, "device_path",
			       "no %s device %s under %s/bus/%s/devices%s",
			       kind, id, r->sys, bus, dangling(b->top));
	sfmt(b->what, sizeof(b->what), "%s device %s", kind, id);
	sfmt(b->tag, sizeof(b->tag), "%s %s", kind, id);
	return 1;
}

/* --- block device attributes --- */

static bool is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

/* Reads the attributes of one block device; remembers the last one read. */
struct attr_reader {
	const char *dir;    /* the device's sysfs directory */
	char q[PATH_MAX];   /* its queue/ (the disk's, for a partition) */
	const char *attr;   /* last attribute, as "size" or "queue/x" */
	char raw[ATTR_LEN]; /* its text */
};

/* ATTR as text; a missing optional one reads as DEF. */
static int ra_str(struct attr_reader *a, const char *attr, const char *def)
{
	bool queue = strncmp(attr, "queue/", QOFF) == 0;
	int ret;

	a->attr = attr;
	a->raw[0] = '\0';
	ret = read_attr_str(queue ? a->q : a->dir, queue ? attr + QOFF : attr,
			    a->raw, sizeof(a->raw));
	if (ret == -ENOENT && def) {
		sfmt(a->raw, sizeof(a->raw), "%s", def);
		return 0;
	}
	return ret;
}

static int ra_u64(struct attr_reader *a, const char *attr, const char *def,
		  uint64_t max, uint64_t *v)
{
	int ret = ra_str(a, attr, def);

	if (!ret)
		ret = parse_u64(a->raw, v);
	if (!ret && *v > max)
		ret = -ERANGE;
	return ret;
}

/*
 * Fill OUT from the block device directory DIR (a disk, or a partition whose
 * queue/ is its disk's).  On failure WHY names the attribute and its value.
 * Optional attributes are those younger kernels added (write_zeroes 4.10,
 * fua 4.18, write_cache 4.7) or that some drivers leave out.
 */
static int block_attrs_at(const char *dir, struct resolved_dev *out, char *why,
			  size_t whylen)
{
	struct attr_reader a = {.dir = dir};
	uint64_t sectors, ro, lbs, pbs, hw_kb, discard, wz, rot, fua;
	unsigned int maj, min;
	char part[PATH_MAX];
	int ret;

	why[0] = '\0';
	if (pfmt(a.q, sizeof(a.q), "%s/queue", dir) ||
	    pfmt(part, sizeof(part), "%s/partition", dir))
		return -ENAMETOOLONG;
	if (!is_dir(a.q) && access(part, F_OK) == 0 &&
	    pfmt(a.q, sizeof(a.q), "%s/../queue", dir))
		return -ENAMETOOLONG;

	ret = ra_str(&a, "dev", NULL);
	if (!ret && sscanf(a.raw, "%u:%u", &maj, &min) != 2)
		ret = -EINVAL;
	if (!ret)
		ret = ra_u64(&a, "size", NULL, UINT64_MAX / 512, &sectors);
	if (!ret)
		ret = ra_u64(&a, "ro", NULL, 1, &ro);
	if (!ret)
		ret = ra_u64(&a, "queue/logical_block_size", NULL, 1u << 30,
			     &lbs);
	if (!ret && (lbs < 512 || !is_pow2(lbs)))
		ret = -EINVAL;
	if (!ret)
		ret = ra_u64(&a, "queue/physical_block_size", NULL, 1u << 30,
			     &pbs);
	if (!ret && (pbs < lbs || !is_pow2(pbs)))
		ret = -EINVAL;
	if (!ret)
		ret = ra_u64(&a, "queue/max_hw_sectors_kb", NULL, UINT32_MAX,
			     &hw_kb);
	if (!ret)
		ret = ra_u64(&a, "queue/discard_max_bytes", "0", UINT64_MAX,
			     &discard);
	if (!ret)
		ret = ra_u64(&a, "queue/write_zeroes_max_bytes", "0",
			     UINT64_MAX, &wz);
	if (!ret)
		ret = ra_u64(&a, "queue/rotational", "0", 1, &rot);
	if (!ret)
		ret = ra_u64(&a, "queue/fua", "0", 1, &fua);
	if (!ret)
		ret = ra_str(&a, "queue/write_cache", "write through");
	if (!ret && strcmp(a.raw, "write back") != 0 &&
	    strcmp(a.raw, "write through") != 0)
		ret = -EINVAL;
	if (ret) {
		if (ret == -ENOENT)
			sfmt(why, whylen, "%s is missing", a.attr);
		else if (ret == -EINVAL || ret == -ERANGE)
			sfmt(why, whylen, "%s has an unusable value \"%s\"",
			     a.attr, a.raw);
		else
			sfmt(why, whylen, "%s: %s", a.attr, strerror(-ret));
		return ret;
	}

	out->major = maj;
	out->minor = min;
	out->size_bytes = sectors * 512;
	out->read_only = ro != 0;
	out->logical_block_size = (uint32_t)lbs;
	out->physical_block_size = (uint32_t)pbs;
	out->max_hw_sectors_kb = (uint32_t)hw_kb;
	out->discard_max_bytes = discard;
	out->write_zeroes_max_bytes = wz;
	out->rotational = rot != 0;
	out->fua = fua != 0;
	out->volatile_cache = strcmp(a.raw, "write back") == 0;
	out->from_sysfs = true;
	return 0;
}

/* The sysfs directory of block device NAME (whole disk or partition). */
static int block_dir(const char *sys, const char *name, char *dir, size_t len)
{
	int ret;

	if (!*name || strchr(name, '/') || strcmp(name, "..") == 0)
		return -EINVAL;
	ret = pfmt(dir, len, "%s/block/%s", sys, name);
	if (ret)
		return ret;
	if (is_dir(dir))
		return 0;
	ret = pfmt(dir, len, "%s/class/block/%s", sys, name);
	if (ret)
		return ret;
	return is_dir(dir) ? 0 : -ENOENT;
}

int resolve_block_attrs(const struct resolve_ctx *ctx, const char *name,
			struct resolved_dev *out)
{
	char dir[PATH_MAX], why[160];
	int ret;

	ret = block_dir(ctx->sysfs_root, name, dir, sizeof(dir));
	if (ret)
		return ret;
	return block_attrs_at(dir, out, why, sizeof(why));
}

/*
 * Fill OUT for kernel block device NAME found as HOW; errors name FIELD.
 */
static int finish_block(struct rs *r, const char *field, const char *name,
			const char *how, struct resolved_dev *out)
{
	char dir[PATH_MAX], why[160];
	int ret;

	ret = block_dir(r->sys, name, dir, sizeof(dir));
	if (ret)
		return rs_fail(r, ERR_NOT_FOUND, field,
			       "%s: block device %s not found under %s/block",
			       how, name, r->sys);
	ret = block_attrs_at(dir, out, why, sizeof(why));
	if (ret)
		return rs_fail(r, ERR_NOT_FOUND, field,
			       "%s: block device %s (%s) is unusable: %s", how,
			       name, dir, why);
	if (pfmt(out->dev_path, sizeof(out->dev_path), "%s/%s", r->dev_root,
		 name) ||
	    pfmt(out->name, sizeof(out->name), "%s", name))
		return rs_fail(r, ERR_NOT_FOUND, field,
			       "%s: device path %s/%s is too long", how,
			       r->dev_root, name);
	sfmt(out->how, sizeof(out->how), "%s", how);
	return 0;
}

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
	if (pfmt(c->dir, sizeof(c->dir), "%s", dir) ||
	    pfmt(c->name, sizeof(c->name), "%s", name))
		return -ENAMETOOLONG;
	return 0;
}

/*
 * The one directory below device directory TOP that MATCH accepts, at most
 * RESOLVE_SEARCH_DEPTH levels down.  KIND ("an NVMe controller") and MANY
 * ("NVMe controllers") name it in errors, LOOKED_FOR says what was sought.
 * On success *OUT is the caller's to free.
 */
static int one_below(struct rs *r, const char *top, const char *what,
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
	search_below(top, "", RESOLVE_SEARCH_DEPTH, match, f);
	if (f->n == 1) {
		*out = f;
		return 0;
	}
	found_list(f, list, sizeof(list));
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

	ret = one_below(r, top, what, match_nvme_ctrl, "an NVMe controller",
			"nvme/nvmeN", "NVMe controllers", &f);
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

	if (pfmt(cls, sizeof(cls), "%s/class/nvme", r->sys))
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
		if (!name_num(de->d_name, "nvme", &num) ||
		    pfmt(dir, sizeof(dir), "%s/%s", cls, de->d_name) ||
		    read_attr_str(dir, "serial", buf, sizeof(buf)) ||
		    strcmp(buf, serial) != 0)
			continue;
		if (read_attr_str(dir, "subsysnqn", nqn, sizeof(nqn)))
			nqn[0] = '\0';
		if (n++ == 0)
			memcpy(first_nqn, nqn, sizeof(nqn));
		else if (!nqn[0] || strcmp(nqn, first_nqn) != 0)
			one_subsys = false;
		list_add(list, sizeof(list), de->d_name);
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

	ret = bus_device(r, &bd);
	if (ret < 0)
		return ret;
	if (ret) {
		ret = nvme_ctrl_below(r, bd.top, bd.what, c);
		if (ret)
			return ret;
		sfmt(c->desc, sizeof(c->desc), "%s (%s)", bd.tag, c->name);
	} else if (name_num(p, "nvme", NULL)) {
		if (pfmt(top, sizeof(top), "%s/class/nvme/%s", r->sys, p) ||
		    !is_dir(top))
			return rs_fail(
				r, ERR_NOT_FOUND, field,
				"no NVMe controller %s under %s/class/nvme%s",
				p, r->sys, dangling(top));
		if (ctrl_set(c, top, p))
			return rs_fail(r, ERR_NOT_FOUND, field,
				       "path too long");
		sfmt(c->desc, sizeof(c->desc), "%s", p);
	} else {
		ret = nvme_ctrl_by_serial(r, p, c);
		if (ret)
			return ret;
		sfmt(c->desc, sizeof(c->desc), "serial %s (%s)", p, c->name);
	}
	if (read_attr_str(c->dir, "serial", c->serial, sizeof(c->serial)))
		c->serial[0] = '\0';
	if (c->serial[0])
		sfmt(c->label, sizeof(c->label), "%s (serial %s)", c->name,
		     c->serial);
	else
		sfmt(c->label, sizeof(c->label), "%s", c->name);
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

	if (read_attr_str(dir, "hidden", buf, sizeof(buf)) == 0)
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

	if (pfmt(blk, sizeof(blk), "%s/block", r->sys))
		return -ENAMETOOLONG;
	d = opendir(blk);
	if (!d)
		return -errno;
	while (ret && (de = readdir(d))) {
		if (de->d_name[0] == '.' ||
		    pfmt(p, sizeof(p), "%s/%s/multipath/%s", blk, de->d_name,
			 path_name) ||
		    lstat(p, &st) != 0)
			continue;
		ret = pfmt(head, len, "%s", de->d_name);
	}
	closedir(d);
	if (ret == 0)
		return 0;
	if (sscanf(path_name, "nvme%uc%un%u", &a, &b, &n) != 3 ||
	    pfmt(derived, sizeof(derived), "nvme%un%u", a, n) ||
	    pfmt(p, sizeof(p), "%s/%s", blk, derived) ||
	    read_attr_u64(p, "nsid", &v) || v != nsid)
		return -ENOENT;
	return pfmt(head, len, "%s", derived);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* "1, 2, 7" from the first N values of V, sorted. */
static void u32_list(uint32_t *v, int n, int max, char *list, size_t len)
{
	char num[16];

	list[0] = '\0';
	qsort(v, (size_t)(n < max ? n : max), sizeof(*v), cmp_u32);
	for (int i = 0; i < n && i < max; i++) {
		sfmt(num, sizeof(num), "%" PRIu32, v[i]);
		list_add(list, len, num);
	}
	if (n > max)
		list_add(list, len, "...");
	if (!n)
		sfmt(list, len, "none");
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
		    !dirent_is_dir(d, de) ||
		    pfmt(sub, sizeof(sub), "%s/%s", c->dir, de->d_name) ||
		    read_attr_u64(sub, "nsid", &nsid) || nsid > UINT32_MAX)
			continue;
		if (nseen < (int)(sizeof(seen) / sizeof(seen[0])))
			seen[nseen] = (uint32_t)nsid;
		nseen++;
		if (nsid != want || ns[0])
			continue;
		if (pfmt(ns, sizeof(ns), "%s", de->d_name))
			ns[0] = '\0';
		else
			path_dev = nvme_is_path_dev(sub, de->d_name);
	}
	closedir(d);
	if (!ns[0]) {
		u32_list(seen, nseen, (int)(sizeof(seen) / sizeof(seen[0])),
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
		sfmt(how, sizeof(how),
		     "nvme %s nsid %" PRIu32 " -> %s (head of %s)", c->desc,
		     want, head, ns);
		return finish_block(r, field, head, how, out);
	}
	sfmt(how, sizeof(how), "nvme %s nsid %" PRIu32 " -> %s", c->desc, want,
	     ns);
	return finish_block(r, field, ns, how, out);
}

static int resolve_nvme(struct rs *r, struct resolved_dev *out)
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

/* --- SCSI --- */

/* The one SCSI host below device directory TOP (VMBus or PCI). */
static int scsi_host_below(struct rs *r, const char *top, const char *what,
			   uint32_t *host)
{
	struct found *f;
	int ret;

	ret = one_below(r, top, what, match_scsi_host, "a SCSI controller",
			"hostN", "SCSI hosts", &f);
	if (ret)
		return ret;
	name_num(f->name[0], "host", host);
	free(f);
	return 0;
}

/* device_path -> SCSI host number: VMBus GUID, hostN / N, PCI address. */
static int scsi_find_host(struct rs *r, uint32_t *host, char *desc, size_t len)
{
	static const char field[] = "device_path";
	const char *p = r->dev->device_path;
	struct bus_dev bd;
	char top[PATH_MAX];
	int ret;

	ret = bus_device(r, &bd);
	if (ret < 0)
		return ret;
	if (ret) {
		ret = scsi_host_below(r, bd.top, bd.what, host);
		if (!ret)
			sfmt(desc, len, "%s (host%" PRIu32 ")", bd.tag, *host);
		return ret;
	}
	if (!name_num(p, "host", host) && parse_u32(p, host))
		return rs_fail(
			r, ERR_NOT_FOUND, field,
			"\"%s\" is not a VMBus GUID, a SCSI host (hostN or N) or a PCI address",
			p);
	if (pfmt(top, sizeof(top), "%s/class/scsi_host/host%" PRIu32, r->sys,
		 *host) ||
	    !is_dir(top))
		return rs_fail(r, ERR_NOT_FOUND, field,
			       "no SCSI host host%" PRIu32
			       " under %s/class/scsi_host%s",
			       *host, r->sys, dangling(top));
	sfmt(desc, len, "host%" PRIu32, *host);
	return 0;
}

/* The LUNs at channel 0 target 0 of HOST, for messages. */
static void scsi_luns(struct rs *r, uint32_t host, char *list, size_t len)
{
	char dir[PATH_MAX], sdev[PATH_MAX];
	uint32_t luns[32];
	unsigned int h, c, t, l;
	struct dirent *de;
	int n = 0;
	char tail;
	DIR *d;

	list[0] = '\0';
	if (pfmt(dir, sizeof(dir), "%s/bus/scsi/devices", r->sys))
		return;
	d = opendir(dir);
	if (!d)
		return;
	while ((de = readdir(d))) {
		if (sscanf(de->d_name, "%u:%u:%u:%u%c", &h, &c, &t, &l,
			   &tail) != 4 ||
		    h != host || c || t ||
		    pfmt(sdev, sizeof(sdev), "%s/%s", dir, de->d_name) ||
		    !is_dir(sdev))
			continue;
		if (n < (int)(sizeof(luns) / sizeof(luns[0])))
			luns[n] = l;
		n++;
	}
	closedir(d);
	u32_list(luns, n, (int)(sizeof(luns) / sizeof(luns[0])), list, len);
}

static int resolve_vscsi(struct rs *r, struct resolved_dev *out)
{
	static const char field[] = "sub_device_path";
	const uint32_t lun = r->dev->sub_device_path;
	char desc[96], hctl[48], sdev[PATH_MAX], blk[PATH_MAX], name[64] = "";
	char how[160], list[LIST_LEN], type[16];
	struct dirent *de;
	uint32_t host;
	int ret, n = 0;
	DIR *d;

	ret = scsi_find_host(r, &host, desc, sizeof(desc));
	if (ret)
		return ret;
	sfmt(hctl, sizeof(hctl), "%" PRIu32 ":0:0:%" PRIu32, host, lun);
	if (pfmt(sdev, sizeof(sdev), "%s/bus/scsi/devices/%s", r->sys, hctl) ||
	    pfmt(blk, sizeof(blk), "%s/block", sdev))
		return rs_fail(r, ERR_NOT_FOUND, field, "sysfs root too long");
	if (!is_dir(sdev)) {
		scsi_luns(r, host, list, sizeof(list));
		return rs_fail(
			r, ERR_NOT_FOUND, field,
			"SCSI %s has no LUN %" PRIu32
			" at channel 0 target 0: no %s%s (it has LUNs %s)",
			desc, lun, sdev, dangling(sdev), list);
	}
	d = opendir(blk);
	if (d) {
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			if (n++ == 0 &&
			    pfmt(name, sizeof(name), "%s", de->d_name))
				name[0] = '\0';
		}
		closedir(d);
	}
	if (n == 1 && name[0]) {
		sfmt(how, sizeof(how), "vscsi %s lun %" PRIu32 " -> %s %s",
		     desc, lun, hctl, name);
		return finish_block(r, field, name, how, out);
	}
	if (n > 1)
		return rs_fail(r, ERR_NOT_FOUND, field,
			       "SCSI device %s has %d block devices under %s",
			       hctl, n, blk);
	/* No disk: not a disk at all (type 0 disk, 14 RBC), or not bound. */
	if (read_attr_str(sdev, "type", type, sizeof(type)) == 0 &&
	    strcmp(type, "0") != 0 && strcmp(type, "14") != 0)
		return rs_fail(
			r, ERR_UNSUPPORTED, field,
			"SCSI device %s (%s lun %" PRIu32
			") is not a disk (SCSI type %s): no block device under %s",
			hctl, desc, lun, type, blk);
	return rs_fail(r, ERR_NOT_FOUND, field,
		       "SCSI device %s (%s lun %" PRIu32
		       ") has no block device under %s (sd_mod not loaded?)",
		       hctl, desc, lun, blk);
}

/* --- files --- */

static int resolve_file(struct rs *r, struct resolved_dev *out)
{
	static const char field[] = "device_path";
	const char *p = r->dev->device_path;
	char dir[PATH_MAX], real[PATH_MAX], why[160];
	const char *base;
	struct stat st;
	int e;

	if (stat(p, &st)) {
		e = errno;
		return rs_fail(r, ERR_NOT_FOUND, field, "file %s: %s%s", p,
			       strerror(e), dangling(p));
	}
	if (pfmt(out->dev_path, sizeof(out->dev_path), "%s", p))
		return rs_fail(r, ERR_NOT_FOUND, field, "path too long");
	if (S_ISREG(st.st_mode)) {
		/* Geometry is plan's choice for files; 512 is the floor. */
		out->is_file = true;
		out->size_bytes = (uint64_t)st.st_size;
		out->logical_block_size = 512;
		out->physical_block_size = 512;
		sfmt(out->how, sizeof(out->how), "file %s", p);
		return 0;
	}
	if (!S_ISBLK(st.st_mode))
		return rs_fail(
			r, ERR_UNSUPPORTED, field,
			"%s is neither a regular file nor a block device", p);
	if (pfmt(dir, sizeof(dir), "%s/dev/block/%u:%u", r->sys,
		 major(st.st_rdev), minor(st.st_rdev)) ||
	    !is_dir(dir))
		return rs_fail(
			r, ERR_NOT_FOUND, field,
			"block device %s (%u:%u) has no %s/dev/block/%u:%u%s",
			p, major(st.st_rdev), minor(st.st_rdev), r->sys,
			major(st.st_rdev), minor(st.st_rdev), dangling(dir));
	if (block_attrs_at(dir, out, why, sizeof(why)))
		return rs_fail(r, ERR_NOT_FOUND, field,
			       "block device %s (%s) is unusable: %s", p, dir,
			       why);
	if (out->major != major(st.st_rdev) || out->minor != minor(st.st_rdev))
		return rs_fail(
			r, ERR_NOT_FOUND, field,
			"block device %s is %u:%u but %s/dev says %" PRIu32
			":%" PRIu32,
			p, major(st.st_rdev), minor(st.st_rdev), dir,
			out->major, out->minor);
	base = realpath(dir, real) ? strrchr(real, '/') : NULL;
	sfmt(out->name, sizeof(out->name), "%s", base ? base + 1 : "");
	sfmt(out->how, sizeof(out->how), "file %s (block device %s %u:%u)", p,
	     out->name, out->major, out->minor);
	return 0;
}

/* --- entry points --- */

int resolve_device(const struct resolve_ctx *ctx,
		   const struct settings_device *dev, struct resolved_dev *out,
		   struct error_obj *err)
{
	struct resolve_ctx def;
	struct rs r;

	if (!ctx) {
		resolve_ctx_default(&def);
		ctx = &def;
	}
	memset(out, 0, sizeof(*out));
	r.sys = ctx->sysfs_root ? ctx->sysfs_root : "/sys";
	r.dev_root = ctx->dev_root ? ctx->dev_root : "/dev";
	r.dev = dev;
	r.err = err;
	if (!dev->device_path || !dev->device_path[0])
		return rs_fail(&r, ERR_NOT_FOUND, "device_path",
			       "device_path is empty");
	switch (dev->type) {
	case SETTINGS_DEV_NVME:
		return resolve_nvme(&r, out);
	case SETTINGS_DEV_VSCSI:
		return resolve_vscsi(&r, out);
	case SETTINGS_DEV_FILE:
		return resolve_file(&r, out);
	}
	return rs_fail(&r, ERR_UNSUPPORTED, "device_type",
		       "unknown device type %d", (int)dev->type);
}

void resolve_ctx_default(struct resolve_ctx *ctx)
{
	const char *sys = getenv("BLKXLATE_SYSFS_ROOT");
	const char *dev = getenv("BLKXLATE_DEV_ROOT");

	ctx->sysfs_root = sys && *sys ? sys : "/sys";
	ctx->dev_root = dev && *dev ? dev : "/dev";
}
