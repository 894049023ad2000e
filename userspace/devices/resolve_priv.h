/* SPDX-License-Identifier: MIT */
/*
 * resolve_priv: what the files of devices/ share while they resolve one
 * backing: the resolution state, the sysfs readers and the bounded search.
 * Not for use outside devices/.
 */
#ifndef BLKXLATE_DEVICES_RESOLVE_PRIV_H
#define BLKXLATE_DEVICES_RESOLVE_PRIV_H

#include <dirent.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/resolve.h"

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

typedef bool (*match_fn)(const char *parent, const char *name);

struct found {
	int n; /* matches seen (may exceed max) */
	char path[RESOLVE_MAX_FOUND][PATH_MAX]; /* first matches */
	char name[RESOLVE_MAX_FOUND][64];
};

/* device_path as a device on a bus: "VMBus <guid>" or "PCI <addr>". */
struct bus_dev {
	char top[PATH_MAX];	      /* its sysfs device directory */
	char what[32 + GUID_STR_LEN]; /* "VMBus device <guid>" */
	char tag[16 + GUID_STR_LEN];  /* "VMBus <guid>" */
};

/* snprintf that fails with -ENAMETOOLONG instead of truncating. */
int rs_pfmt(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* snprintf for text where truncation is acceptable (messages, lists). */
void rs_sfmt(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Fail the resolution on FIELD of the device: -ENOENT, or -ENODEV for an
 * unsupported device. */
int rs_fail(struct rs *r, const char *id, const char *field, const char *fmt,
	    ...) __attribute__((format(printf, 4, 5)));
void rs_list_add(char *list, size_t len, const char *item);
int rs_parse_u64(const char *s, uint64_t *v);
int rs_parse_u32(const char *s, uint32_t *v);
int rs_read_attr_u64(const char *dir, const char *name, uint64_t *v);
int rs_read_attr_str(const char *dir, const char *name, char *buf, size_t len);
bool rs_name_num(const char *name, const char *prefix, uint32_t *num);
bool rs_is_dir(const char *path);
const char *rs_dangling(const char *path);
bool rs_dirent_is_dir(DIR *d, const struct dirent *de);
void rs_search_below(const char *dir, const char *base, int depth,
		     match_fn match, struct found *f);
bool rs_match_nvme_ctrl(const char *parent, const char *name);
bool rs_match_scsi_host(const char *parent, const char *name);
void rs_found_list(const struct found *f, char *list, size_t len);
int rs_bus_device(struct rs *r, struct bus_dev *b);
int rs_finish_block(struct rs *r, const char *field, const char *name,
		    const char *how, struct resolved_dev *out);
int resolve_file(struct rs *r, struct resolved_dev *out);
/* Fill the facts of a regular file backing from its stat. */
struct stat;
void rs_file_facts(struct resolved_dev *out, const struct stat *st);
int rs_one_below(struct rs *r, const char *top, const char *what,
		 match_fn match, const char *kind, const char *looked_for,
		 const char *many, struct found **out);
void rs_u32_list(uint32_t *v, int n, int max, char *list, size_t len);
int resolve_nvme(struct rs *r, struct resolved_dev *out);
int resolve_vscsi(struct rs *r, struct resolved_dev *out);

#endif /* BLKXLATE_DEVICES_RESOLVE_PRIV_H */
