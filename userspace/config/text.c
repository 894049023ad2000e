// SPDX-License-Identifier: MIT
/*
 * text: JSON text (strict UTF-8, nothing after the document), base64
 * chunks, and the entry points of settings.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <blkxlate/abi.h>

#include "base/utf8.h"
#include "config/parse.h"

/* --- JSON text and base64 ---------------------------------------------- */

static void offset_to_line(const char *text, size_t off, size_t *line,
			   size_t *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off; i++) {
		(*col)++;
		if (text[i] == '\n') {
			(*line)++;
			*col = 1;
		}
	}
}

static int json_fail(struct pctx *c, const char *src, const char *path,
		     const char *text, size_t off, const char *why)
{
	size_t line, col;

	offset_to_line(text, off, &line, &col);
	error_set(c->err, ERR_JSON, path,
		  "%s: invalid JSON at line %zu, column %zu: %s", src, line,
		  col, why);
	return -EINVAL;
}

/* Parse one whole JSON document (nothing but whitespace after it). */
static int parse_json_text(struct pctx *c, const char *text, size_t len,
			   const char *src, const char *path,
			   struct json_object **out)
{
	struct json_tokener *tok;
	enum json_tokener_error jerr;
	size_t end;

	*out = NULL;
	if (len >= INT_MAX || strlen(text) != len)
		return json_fail(c, src, path, text, strnlen(text, len),
				 len >= INT_MAX ? "too large" : "NUL byte");
	tok = json_tokener_new();
	if (!tok)
		return cfg_oom(c);
	/* strict JSON, valid UTF-8: whatever the input holds comes back in
	 * messages and paths, which must be valid JSON themselves */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
					    JSON_TOKENER_VALIDATE_UTF8);
	/* The NUL too: it ends a top-level number instead of "continue". */
	*out = json_tokener_parse_ex(tok, text, (int)len + 1);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (jerr == json_tokener_success) {
		size_t bad = utf8_invalid_at((const unsigned char *)text, len);

		end += strspn(text + end, " \t\r\n");
		if (end == len && bad == len)
			return 0;
		json_object_put(*out);
		*out = NULL;
		if (bad < end)
			return json_fail(
				c, src, path, text, bad,
				"invalid UTF-8 (an overlong form, a surrogate or above U+10FFFF)");
		return json_fail(c, src, path, text, end,
				 "unexpected data after the document");
	}
	json_object_put(*out);
	*out = NULL;
	return json_fail(c, src, path, text, end,
			 jerr == json_tokener_continue
				 ? "unexpected end of input"
				 : json_tokener_error_desc(jerr));
}

static int b64_val(char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+' || ch == '-')
		return 62;
	if (ch == '/' || ch == '_')
		return 63;
	return -1;
}

/*
 * Standard or URL-safe base64, padding optional, as protobuf JSON reads
 * bytes.  out needs len * 3 / 4 + 1 bytes; it is NUL-terminated.  Returns
 * the decoded length or -EINVAL.
 */
static ssize_t b64_decode(const char *in, size_t len, char *out)
{
	size_t pad = 0, n = 0;
	uint32_t acc = 0;
	int bits = 0;

	while (len && in[len - 1] == '=') {
		len--;
		pad++;
	}
	if (pad > 2 || (pad && (len + pad) % 4) || len % 4 == 1)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		int v = b64_val(in[i]);

		if (v < 0)
			return -EINVAL;
		acc = (acc << 6 | (uint32_t)v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (char)(acc >> bits & 0xff);
		}
	}
	out[n] = '\0';
	return (ssize_t)n;
}

/* A base64 chunk: decode, then parse the JSON document inside. */
int cfg_parse_b64_chunk(struct pctx *c, struct json_object *v, const char *path,
			struct json_object **doc)
{
	size_t len = (size_t)json_object_get_string_len(v);
	char src[ERROR_PATH_LEN + 32];
	char *buf = malloc(len / 4 * 3 + 4);
	ssize_t n;
	int ret;

	if (!buf)
		return cfg_oom(c);
	n = b64_decode(json_object_get_string(v), len, buf);
	if (n < 0)
		ret = cfg_fail_path(c, ERR_JSON, path, "is not valid base64");
	else if (buf[strspn(buf, " \t\r\n")] != '{')
		ret = cfg_fail_path(
			c, ERR_JSON, path,
			"does not decode to a JSON object (protobuf chunks are not supported)");
	else {
		snprintf(src, sizeof(src), "%s (base64-decoded)", path);
		ret = parse_json_text(c, buf, (size_t)n, src, path, doc);
	}
	free(buf);
	return ret;
}

/* --- entry points ------------------------------------------------------ */

static int parse_text(const char *text, size_t len, const char *src,
		      struct settings *out, struct error_obj *err)
{
	struct error_obj scratch;
	struct pctx c = {.s = out, .err = err ? err : &scratch};
	struct json_object *root;
	int ret;

	memset(out, 0, sizeof(*out));
	memset(c.err, 0, sizeof(*c.err));
	out->fixed.io_ring_size = SETTINGS_DEFAULT_IO_RING_SIZE;
	ret = parse_json_text(&c, text, len, src, "", &root);
	if (!ret) {
		ret = cfg_parse_root(&c, root);
		json_object_put(root);
	}
	if (ret)
		settings_fini(out);
	return ret;
}

int settings_parse_string(const char *json, struct settings *out,
			  struct error_obj *err)
{
	if (!json) {
		memset(out, 0, sizeof(*out));
		error_set(err, ERR_JSON, "", "settings: no document");
		return -EINVAL;
	}
	return parse_text(json, strlen(json), "settings", out, err);
}

/* The whole file into a NUL-terminated buffer (caller frees).  -errno. */
static int read_all(const char *path, char **bufp, size_t *lenp)
{
	size_t len = 0, cap = 0;
	char *buf = NULL, *p;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	do {
		if (cap - len < 4096) {
			if (cap >= MAX_FILE_BYTES) {
				ret = -EFBIG;
				break;
			}
			cap = cap ? 2 * cap : 65536;
			p = realloc(buf, cap);
			if (!p) {
				ret = -ENOMEM;
				break;
			}
			buf = p;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno != EINTR)
			ret = -errno;
		len += n > 0 ? (size_t)n : 0;
	} while (!ret && n != 0);
	close(fd);
	if (ret) {
		free(buf);
		return ret;
	}
	buf[len] = '\0';
	*bufp = buf;
	*lenp = len;
	return 0;
}

int settings_parse_file(const char *path, struct settings *out,
			struct error_obj *err)
{
	size_t len = 0;
	char *buf = NULL;
	int ret = read_all(path, &buf, &len);

	if (ret) {
		memset(out, 0, sizeof(*out));
		error_set(err, ERR_JSON, "", "cannot read %s: %s", path,
			  strerror(-ret));
		return ret == -ENOMEM ? -ENOMEM : -EINVAL;
	}
	ret = parse_text(buf, len, path, out, err);
	free(buf);
	return ret;
}

void settings_fini(struct settings *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nr_controllers; i++) {
		struct settings_controller *ctl = &s->controllers[i];

		for (size_t j = 0; j < ctl->nr_luns; j++) {
			struct settings_lun *lun = &ctl->luns[j];

			for (size_t k = 0; k < lun->nr_devices; k++)
				free(lun->devices[k].device_path);
			free(lun->devices);
			free(lun->serial_number);
			free(lun->model_number);
		}
		free(ctl->luns);
	}
	free(s->controllers);
	free(s->warnings);
	memset(s, 0, sizeof(*s));
}

const char *settings_protocol_name(enum settings_protocol p)
{
	switch (p) {
	case SETTINGS_PROTO_SCSI:
		return "SCSI";
	case SETTINGS_PROTO_IDE:
		return "IDE";
	case SETTINGS_PROTO_NVME:
		return "NVME";
	}
	return "?";
}

const char *settings_device_type_name(enum settings_device_type t)
{
	switch (t) {
	case SETTINGS_DEV_NVME:
		return "nvme";
	case SETTINGS_DEV_VSCSI:
		return "vscsi";
	case SETTINGS_DEV_FILE:
		return "file";
	}
	return "?";
}

int settings_check_file(const char *path, struct error_obj *err)
{
	struct stat st;

	if (stat(path, &st))
		return 0; /* parsing reports the missing file */
	if ((st.st_mode & S_IWOTH) ||
	    ((st.st_mode & S_IWGRP) && st.st_gid != 0) ||
	    (st.st_uid != geteuid() && st.st_uid != 0)) {
		error_set(
			err, "InsecureConfigFile", "",
			"%s (mode %04o, owner uid %u, gid %u) can be written by users other than root; blkxlate runs as root and will not read it (chmod go-w, chown root)",
			path, (unsigned int)(st.st_mode & 07777),
			(unsigned int)st.st_uid, (unsigned int)st.st_gid);
		return -EPERM;
	}
	return 0;
}
