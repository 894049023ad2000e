/* SPDX-License-Identifier: MIT */
/*
 * utf8: RFC 3629 UTF-8.  Messages, paths and warnings quote the input, and
 * their JSON form must stay valid UTF-8.
 */
#ifndef BLKXLATE_BASE_UTF8_H
#define BLKXLATE_BASE_UTF8_H

#include <stddef.h>

/* After a cut to fit a buffer, drop a last character that lost bytes. */
void utf8_trim(char *s);
/* Offset of the first byte of s[0..n) that is not RFC 3629 UTF-8, or n. */
size_t utf8_invalid_at(const unsigned char *s, size_t n);

#endif /* BLKXLATE_BASE_UTF8_H */
