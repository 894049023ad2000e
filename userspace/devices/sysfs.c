// SPDX-License-Identifier: MIT
/* sysfs: attribute readers, the bounded search below a device, and the
 * device_path forms (VMBus GUID, PCI address). */
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

/* --- small helpers --- */

/* snprintf that fails with -ENAMETOOLONG instead of truncating. */
int rs_pfmt(char *buf, size_t len, const char *fmt, ...)
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
void rs_sfmt(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

/* Append to a comma-separated list; silently stops when full ("..."). */
void rs_list_add(char *list, size_t len, const char *item)
{
	size_t used = strlen(list);

	if (used + 1 >= len)
		return;
	if (snprintf(list + used, len - used, "%s%s", used ? ", " : "", item) >=
		    (int)(len - used) &&
	    len > 4)
		memcpy(list + len - 4, "...", 4);
}

int rs_fail(struct rs *r, const char *id, const char *field, const char *fmt,
	    ...)
{
	char path[ERROR_PATH_LEN];
	char msg[sizeof(r->err->message)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* A truncated path still points at the right object: keep it. */
	rs_sfmt(path, sizeof(path), "%s.%s", r->dev->path, field);
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
int rs_parse_u64(const char *s, uint64_t *v)
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

int rs_parse_u32(const char *s, uint32_t *v)
{
	uint64_t x;
	int ret = rs_parse_u64(s, &x);

	if (ret)
		return ret;
	if (x > UINT32_MAX)
		return -ERANGE;
	*v = (uint32_t)x;
	return 0;
}

/* DIR/NAME as a number. */
int rs_read_attr_u64(const char *dir, const char *name, uint64_t *v)
{
	char path[PATH_MAX], buf[ATTR_LEN];
	int ret;

	ret = rs_pfmt(path, sizeof(path), "%s/%s", dir, name);
	if (!ret)
		ret = read_attr(path, buf, sizeof(buf));
	if (!ret)
		ret = rs_parse_u64(buf, v);
	return ret;
}

int rs_read_attr_str(const char *dir, const char *name, char *buf, size_t len)
{
	char path[PATH_MAX];
	int ret = rs_pfmt(path, sizeof(path), "%s/%s", dir, name);

	return ret ? ret : read_attr(path, buf, len);
}

/* "PREFIX<digits>" exactly (nvme0, host12); *num gets the digits. */
bool rs_name_num(const char *name, const char *prefix, uint32_t *num)
{
	size_t plen = strlen(prefix);
	uint32_t n;

	if (strncmp(name, prefix, plen) != 0)
		return false;
	if (rs_parse_u32(name + plen, &n))
		return false;
	if (num)
		*num = n;
	return true;
}

bool rs_is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* " (dangling symlink)" when PATH is a link to nothing, else "". */
const char *rs_dangling(const char *path)
{
	struct stat st;

	if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode) && stat(path, &st))
		return " (dangling symlink)";
	return "";
}

/* Entry D (in the directory open as dirfd) is a real directory, not a link. */
bool rs_dirent_is_dir(DIR *d, const struct dirent *de)
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

/*
 * Walk real directories (never symlinks: sysfs links loop back up the tree)
 * below DIR, at most DEPTH levels, recording directories MATCH accepts and
 * not descending into them.
 */
void rs_search_below(const char *dir, const char *base, int depth,
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

		if (de->d_name[0] == '.' || !rs_dirent_is_dir(d, de))
			continue;
		if (rs_pfmt(sub, sizeof(sub), "%s/%s", dir, de->d_name))
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
		rs_search_below(sub, de->d_name, depth - 1, match, f);
	}
	closedir(d);
}

bool rs_match_nvme_ctrl(const char *parent, const char *name)
{
	return strcmp(parent, "nvme") == 0 && rs_name_num(name, "nvme", NULL);
}

bool rs_match_scsi_host(const char *parent, const char *name)
{
	return strcmp(parent, "scsi_host") != 0 &&
	       rs_name_num(name, "host", NULL);
}

void rs_found_list(const struct found *f, char *list, size_t len)
{
	list[0] = '\0';
	for (int i = 0; i < f->n && i < RESOLVE_MAX_FOUND; i++)
		rs_list_add(list, len, f->name[i]);
	if (f->n > RESOLVE_MAX_FOUND)
		rs_list_add(list, len, "...");
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
	return rs_pfmt(out, len, "%04x:%02x:%02x.%x", dom, bus, slot, fn) == 0;
}

/*
 * 1 when device_path is a VMBus GUID or a PCI address whose device exists
 * (B filled), 0 when it is neither form, -errno with the error filled when
 * it is one but sysfs lacks it.
 */
int rs_bus_device(struct rs *r, struct bus_dev *b)
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
	if (rs_pfmt(b->top, sizeof(b->top), "%s/bus/%s/devices/%s", r->sys, bus,
		    id))
		return rs_fail(r, ERR_NOT_FOUND, "device_path",
			       "sysfs root too long");
	if (!rs_is_dir(b->top))
		return rs_fail(r, ERR_NOT_FOUND, "device_path",
			       "no %s device %s under %s/bus/%s/devices%s",
			       kind, id, r->sys, bus, rs_dangling(b->top));
	rs_sfmt(b->what, sizeof(b->what), "%s device %s", kind, id);
	rs_sfmt(b->tag, sizeof(b->tag), "%s %s", kind, id);
	return 1;
}
