/* SPDX-License-Identifier: MIT */
/*
 * control: the daemon's control socket, <run dir>/<instance>.sock (mode
 * 0600, root only: the peer's uid is checked too).  One request line, one
 * JSON reply, then the connection closes.
 */
#ifndef BLKXLATE_CONTROL_H
#define BLKXLATE_CONTROL_H

#include <stddef.h>

struct json_object;

/* Create and listen; the path of a dead daemon's socket is replaced.
 * Returns the listening fd or -errno. */
int control_listen(const char *instance);
void control_unlink(const char *instance);

/* Accept one connection on lfd and answer it: handle() gets the request
 * line and returns the reply (which this frees).  0 or -errno. */
int control_serve_one(int lfd,
		      struct json_object *(*handle)(void *ctx,
						    const char *line),
		      void *ctx);

/* Client: send line to the instance's daemon and return its reply (the
 * caller frees it), or NULL with errno set (ECONNREFUSED, ENOENT...). */
struct json_object *control_request(const char *instance, const char *line,
				    int timeout_s);

/* Read one line (without its newline) from fd, waiting at most timeout_ms
 * for each piece.  0, or -ETIMEDOUT / -EIO when nothing came. */
int control_read_line(int fd, char *buf, size_t len, int timeout_ms);

#endif /* BLKXLATE_CONTROL_H */
