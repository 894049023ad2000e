/* SPDX-License-Identifier: MIT */
/* log: messages on stderr, "blkxlate: <level>: ..." (the daemon adds time). */
#ifndef BLKXLATE_LOG_H
#define BLKXLATE_LOG_H

#include <stdbool.h>

extern bool log_verbose;    /* log_debug prints only when set */
extern bool log_timestamps; /* prefix a UTC time (daemon logs) */

void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* BLKXLATE_LOG_H */
