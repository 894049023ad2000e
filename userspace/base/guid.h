/* SPDX-License-Identifier: MIT */
/* guid: parse and print GUIDs as OpenHCL writes them. */
#ifndef BLKXLATE_GUID_H
#define BLKXLATE_GUID_H

#include <stdbool.h>
#include <stdint.h>

#define GUID_STR_LEN 36 /* without braces and NUL */

struct guid {
	uint8_t b[16]; /* in text order: the bytes as the string reads */
};

/*
 * Parse "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", optionally in braces, any
 * case.  0 or -EINVAL.
 */
int guid_parse(const char *s, struct guid *g);
/* Canonical lowercase form into buf (GUID_STR_LEN + 1 bytes). */
void guid_format(const struct guid *g, char *buf);
bool guid_is_zero(const struct guid *g);
bool guid_equal(const struct guid *a, const struct guid *b);

#endif /* BLKXLATE_GUID_H */
