// SPDX-License-Identifier: MIT
#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <sys/time.h>
#include <time.h>

bool log_verbose;
bool log_timestamps;

static void vlog(const char *level, const char *fmt, va_list ap)
{
	char line[1024];
	int n = 0;

	if (log_timestamps) {
		struct timeval tv;
		struct tm tm;

		gettimeofday(&tv, NULL);
		gmtime_r(&tv.tv_sec, &tm);
		n = (int)strftime(line, sizeof(line), "%FT%T", &tm);
		n += snprintf(line + n, sizeof(line) - (size_t)n, ".%03ldZ ",
			      (long)tv.tv_usec / 1000);
	}
	n += snprintf(line + n, sizeof(line) - (size_t)n, "blkxlate: %s",
		      level);
	if (n < (int)sizeof(line))
		vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	/* one write per line, so threads do not interleave */
	fprintf(stderr, "%s\n", line);
}

/* The four levels differ only in their prefix and when they print. */
#define LOG_FN(name, prefix, when)                                             \
	void name(const char *fmt, ...)                                        \
	{                                                                      \
		va_list ap;                                                    \
                                                                               \
		if (!(when))                                                   \
			return;                                                \
		va_start(ap, fmt);                                             \
		vlog(prefix, fmt, ap);                                         \
		va_end(ap);                                                    \
	}

LOG_FN(log_error, "error: ", true)
LOG_FN(log_warn, "warning: ", true)
LOG_FN(log_info, "", true)
LOG_FN(log_debug, "debug: ", log_verbose)
