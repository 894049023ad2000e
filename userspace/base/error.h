/* SPDX-License-Identifier: MIT */
/*
 * error: the error object every layer fills and only cli/ turns into an
 * exit status.  error_id is "<Category>.<Name>" (OpenHCL's
 * "Configuration.<Name>" for settings and backings), path the JSON path of
 * the offending setting ("" when none), message names the value and the
 * rule.  Functions return 0 or -errno and fill one of these on failure.
 */
#ifndef BLKXLATE_BASE_ERROR_H
#define BLKXLATE_BASE_ERROR_H

#define ERROR_PATH_LEN 160 /* the JSON path of a setting */

struct error_obj {
	char error_id[64];
	char message[256];
	char path[ERROR_PATH_LEN];
};

/* Fill err (printf-style message); name without a category gets
 * "Configuration.".  A NULL err is ignored. */
void error_set(struct error_obj *err, const char *name, const char *path,
	       const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* err as one JSON object {"error_id","message","path"} (caller frees). */
char *error_json(const struct error_obj *err);

#endif /* BLKXLATE_BASE_ERROR_H */
