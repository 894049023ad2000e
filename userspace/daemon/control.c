// SPDX-License-Identifier: MIT
#include "daemon/control.h"

#include <errno.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/log.h"
#include "daemon/state.h"

#define MAX_REQUEST 4096

static int sock_addr(const char *instance, struct sockaddr_un *sa)
{
	char path[PATH_MAX];

	if (state_path(instance, "sock", path, sizeof(path)) ||
	    strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, path, strlen(path) + 1);
	return 0;
}

int control_listen(const char *instance)
{
	struct sockaddr_un sa;
	mode_t old;
	int fd, ret;

	ret = sock_addr(instance, &sa);
	if (ret)
		return ret;
	if (mkdir(state_run_dir(), 0755) && errno != EEXIST)
		return -errno;
	unlink(sa.sun_path); /* a dead daemon's */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	old = umask(0177); /* born 0600: no window with looser modes */
	ret = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (ret || chmod(sa.sun_path, 0600) || listen(fd, 4)) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

void control_unlink(const char *instance)
{
	struct sockaddr_un sa;

	if (!sock_addr(instance, &sa))
		unlink(sa.sun_path);
}

int control_read_line(int fd, char *buf, size_t len, int timeout_ms)
{
	size_t got = 0;

	while (got + 1 < len) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (poll(&p, 1, timeout_ms) <= 0)
			return -ETIMEDOUT;
		n = read(fd, buf + got, len - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
		buf[got] = '\0';
		if (strchr(buf, '\n'))
			break;
	}
	buf[got] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return got ? 0 : -EIO;
}

static int write_all(int fd, const char *s)
{
	size_t len = strlen(s);

	while (len) {
		ssize_t n = write(fd, s, len);

		if (n <= 0)
			return -errno;
		s += n;
		len -= (size_t)n;
	}
	return 0;
}

int control_serve_one(int lfd,
		      struct json_object *(*handle)(void *ctx,
						    const char *line),
		      void *ctx)
{
	struct json_object *reply;
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	char line[MAX_REQUEST];
	int fd, ret;

	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* the socket is 0600 root; check the peer as well */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) ||
	    cred.uid != geteuid()) {
		write_all(
			fd,
			"{\"ok\":false,\"error\":{\"error_id\":\"PermissionDenied\",\"message\":\"only root may control blkxlate\"}}\n");
		close(fd);
		return -EPERM;
	}
	ret = control_read_line(fd, line, sizeof(line), 5000);
	if (!ret) {
		reply = handle(ctx, line);
		ret = write_all(fd, json_object_to_json_string_ext(
					    reply, JSON_C_TO_STRING_PLAIN));
		if (!ret)
			ret = write_all(fd, "\n");
		json_object_put(reply);
	}
	close(fd);
	return ret;
}

struct json_object *control_request(const char *instance, const char *line,
				    int timeout_s)
{
	struct json_object *reply;
	struct sockaddr_un sa;
	char buf[65536];
	int fd, ret;

	ret = sock_addr(instance, &sa);
	if (ret) {
		errno = -ret;
		return NULL;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return NULL;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    write_all(fd, line) || write_all(fd, "\n")) {
		ret = errno;
		close(fd);
		errno = ret;
		return NULL;
	}
	ret = control_read_line(fd, buf, sizeof(buf), timeout_s * 1000);
	close(fd);
	if (ret) {
		errno = -ret;
		return NULL;
	}
	reply = json_tokener_parse(buf);
	if (!reply)
		errno = EPROTO;
	return reply;
}
