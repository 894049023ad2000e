// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the settings parser (userspace/settings.c).
 *
 * Any bytes (NUL-terminated copy) go to settings_parse_string().  ASan and
 * UBSan catch memory and arithmetic errors; leaks are caught by libFuzzer's
 * leak check.  On top of that every result is checked against what
 * settings.h promises, and a broken promise traps (a crash to libFuzzer):
 *
 *   error:   the model is all zeroes; error_id is "Configuration.<Name>" (or
 *            "System.OutOfMemory"), message non-empty, path a well-formed
 *            JSON path of known field names; error_json() gives a
 *            JSON object json-c reads back with exactly those three strings;
 *   success: every limit of the model (locations, channels, nsids, device
 *            counts, striping and chunk, unique locations and controller
 *            GUIDs, identity string lengths...), and settings_fini() zeroes
 *            the model.
 *   both:    parsing again without an error object gives the same result.
 *
 * The checks of the findings of the first runs (see tests/fuzz/README.md;
 * fixed since) are on: for valid UTF-8 input the error JSON and the
 * warnings must be valid UTF-8 too.  BLKX_FUZZ_STRICT=0 turns them off.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "fuzz.h"
#include "base/guid.h"
#include "config/settings.h"

/* --- strings ----------------------------------------------------------- */

/* s has its NUL within cap bytes; returns its length. */
static size_t bounded_len(const char *s, size_t cap)
{
	const char *nul = memchr(s, '\0', cap);

	CHECK(nul);
	return (size_t)(nul - s);
}

static bool all_zero(const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

static bool printable_ascii(const char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e)
			return false;
	return true;
}

/* RFC 3629 UTF-8: no overlongs, no surrogates, nothing above U+10FFFF. */
static bool valid_utf8(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		unsigned char lo = 0x80, hi = 0xbf;
		size_t more;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			more = 1;
		} else if (c >= 0xe0 && c <= 0xef) {
			more = 2;
			lo = c == 0xe0 ? 0xa0 : 0x80;
			hi = c == 0xed ? 0x9f : 0xbf;
		} else if (c >= 0xf0 && c <= 0xf4) {
			more = 3;
			lo = c == 0xf0 ? 0x90 : 0x80;
			hi = c == 0xf4 ? 0x8f : 0xbf;
		} else {
			return false;
		}
		if (n - i <= more)
			return false;
		if (s[i + 1] < lo || s[i + 1] > hi)
			return false;
		for (size_t k = 2; k <= more; k++)
			if (s[i + k] < 0x80 || s[i + k] > 0xbf)
				return false;
		i += more + 1;
	}
	return true;
}

static bool is_ident(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || ch == '_';
}

/*
 * A JSON path as settings.c writes it: empty (the document), or names
 * joined by single dots with [N] indexes after them, e.g.
 * dynamic.storage_controllers[0].luns[1].location.  A path that filled
 * the buffer was cut (settings.c: "truncation only shortens a label"), so
 * only its characters are checked.
 */
static void check_path(const char *path)
{
	size_t len = bounded_len(path, ERROR_PATH_LEN);
	const char *p = path;

	CHECK(printable_ascii(path));
	if (!len || len == ERROR_PATH_LEN - 1)
		return;
	for (;;) {
		const char *start = p;

		while (is_ident(*p))
			p++;
		CHECK(p > start); /* no empty name, no leading dot */
		while (*p == '[') {
			start = ++p;
			while (*p >= '0' && *p <= '9')
				p++;
			CHECK(p > start && *p == ']');
			CHECK(p - start == 1 || *start != '0');
			p++;
		}
		if (!*p)
			return;
		CHECK(*p == '.');
		p++;
	}
}

/* --- errors ------------------------------------------------------------ */

static const char *json_field(struct json_object *o, const char *key)
{
	struct json_object *v;

	CHECK(json_object_object_get_ex(o, key, &v));
	CHECK(json_object_is_type(v, json_type_string));
	return json_object_get_string(v);
}

static void check_error_json(const struct error_obj *err, bool utf8_in)
{
	char *text = error_json(err);
	struct json_tokener *tok;
	struct json_object *o;
	int flags = JSON_TOKENER_STRICT;
	size_t len;

	CHECK(text);
	len = strlen(text);
	if (strict && utf8_in)
		flags |= JSON_TOKENER_VALIDATE_UTF8;
	tok = json_tokener_new();
	CHECK(tok);
	json_tokener_set_flags(tok, flags);
	o = json_tokener_parse_ex(tok, text, (int)len);
	CHECK(json_tokener_get_error(tok) == json_tokener_success);
	CHECK(json_tokener_get_parse_end(tok) == len);
	json_tokener_free(tok);
	CHECK(json_object_is_type(o, json_type_object));
	CHECK(json_object_object_length(o) == 3);
	CHECK(!strcmp(json_field(o, "error_id"), err->error_id));
	CHECK(!strcmp(json_field(o, "message"), err->message));
	CHECK(!strcmp(json_field(o, "path"), err->path));
	json_object_put(o);
	free(text);
}

static void check_error(const struct settings *s, const struct error_obj *err,
			bool utf8_in)
{
	static const char cfg[] = "Configuration.";
	size_t id_len = bounded_len(err->error_id, sizeof(err->error_id));
	size_t msg_len = bounded_len(err->message, sizeof(err->message));

	/* on error the caller gets a zeroed model */
	CHECK(all_zero(s, sizeof(*s)));
	if (strcmp(err->error_id, "System.OutOfMemory")) {
		CHECK(id_len > sizeof(cfg) - 1);
		CHECK(!strncmp(err->error_id, cfg, sizeof(cfg) - 1));
		for (const char *p = err->error_id + sizeof(cfg) - 1; *p; p++)
			CHECK((*p >= 'a' && *p <= 'z') ||
			      (*p >= 'A' && *p <= 'Z'));
	}
	CHECK(msg_len > 0);
	check_path(err->path);
	check_error_json(err, utf8_in);
}

/* --- the model --------------------------------------------------------- */

static void check_opt_u64(const struct settings_opt_u64 *o)
{
	CHECK(o->has || o->val == 0);
}

static void check_opt_bool(const struct settings_opt_bool *o)
{
	CHECK(o->has || !o->val);
}

static void check_device(const struct settings_device *d)
{
	CHECK(d->device_path && d->device_path[0]);
	check_path(d->path);
	switch (d->type) {
	case SETTINGS_DEV_NVME:
		CHECK(d->sub_device_path != 0 &&
		      d->sub_device_path != UINT32_MAX);
		break;
	case SETTINGS_DEV_VSCSI:
		CHECK(d->sub_device_path <= 16383);
		break;
	case SETTINGS_DEV_FILE:
		CHECK(d->device_path[0] == '/' && d->sub_device_path == 0);
		break;
	default:
		CHECK(0);
	}
}

static void check_identity(const struct settings_lun *l)
{
	CHECK(bounded_len(l->vendor_id, sizeof(l->vendor_id)) <= 8);
	CHECK(bounded_len(l->product_id, sizeof(l->product_id)) <= 16);
	CHECK(bounded_len(l->product_revision_level,
			  sizeof(l->product_revision_level)) <= 4);
	CHECK(printable_ascii(l->vendor_id) && printable_ascii(l->product_id) &&
	      printable_ascii(l->product_revision_level));
	/* empty strings are protobuf's default: stored as absent */
	CHECK(!l->serial_number ||
	      (l->serial_number[0] && strlen(l->serial_number) <= 20 &&
	       printable_ascii(l->serial_number)));
	CHECK(!l->model_number ||
	      (l->model_number[0] && strlen(l->model_number) <= 40 &&
	       printable_ascii(l->model_number)));
	CHECK(!l->has_device_id || !guid_is_zero(&l->device_id));
}

static void check_lun_values(const struct settings_lun *l)
{
	check_opt_u64(&l->medium_rotation_rate);
	check_opt_u64(&l->physical_sector_size);
	check_opt_u64(&l->max_transfer_length);
	check_opt_u64(&l->scsi_disk_size_in_bytes);
	check_opt_u64(&l->chunk_size_in_kb);
	check_opt_bool(&l->fua);
	check_opt_bool(&l->write_cache);
	check_opt_bool(&l->odx);
	check_opt_bool(&l->disable_thin_provisioning);
	CHECK(l->medium_rotation_rate.val <= UINT16_MAX);
	CHECK(!l->physical_sector_size.has ||
	      l->physical_sector_size.val == 512 ||
	      l->physical_sector_size.val == 4096);
	CHECK(!l->max_transfer_length.has ||
	      (l->max_transfer_length.val >= 4096 &&
	       l->max_transfer_length.val % 512 == 0));
	CHECK(!l->scsi_disk_size_in_bytes.has ||
	      (l->scsi_disk_size_in_bytes.val &&
	       l->scsi_disk_size_in_bytes.val % 512 == 0));
	CHECK(l->chunk_size_in_kb.val <= UINT32_MAX);
}

static void check_lun(const struct settings_controller *c,
		      const struct settings_lun *l)
{
	check_path(l->path);
	check_identity(l);
	check_lun_values(l);
	switch (c->protocol) {
	case SETTINGS_PROTO_SCSI:
		CHECK(l->location < SETTINGS_SCSI_MAX_LUNS && !l->has_channel);
		break;
	case SETTINGS_PROTO_IDE:
		CHECK(l->has_channel && l->channel < SETTINGS_IDE_CHANNELS);
		CHECK(l->location < SETTINGS_IDE_DRIVES);
		break;
	case SETTINGS_PROTO_NVME:
		CHECK(l->location != 0 && l->location != UINT32_MAX);
		CHECK(!l->has_channel && !l->is_dvd);
		break;
	default:
		CHECK(0);
	}
	CHECK(l->has_channel || l->channel == 0);
	/* a backing: one device, or a stripe of 2..32 with a chunk */
	CHECK(l->devices && l->nr_devices >= 1 && l->nr_devices <= 32);
	CHECK(l->striped == (l->nr_devices >= 2));
	CHECK(!(l->striped && l->legacy));
	CHECK(l->striped ? l->chunk_size_in_kb.has && l->chunk_size_in_kb.val
			 : !l->chunk_size_in_kb.has);
	for (size_t k = 0; k < l->nr_devices; k++)
		check_device(&l->devices[k]);
}

static void check_controller(const struct settings *s, size_t i)
{
	const struct settings_controller *c = &s->controllers[i];
	char canon[GUID_STR_LEN + 1];

	check_path(c->path);
	guid_format(&c->instance_id, canon);
	CHECK(!strcmp(canon, c->instance_id_str));
	check_opt_u64(&c->io_queue_depth);
	CHECK(!c->io_queue_depth.has ||
	      (c->io_queue_depth.val >= 1 && c->io_queue_depth.val <= 4096));
	CHECK(c->nr_luns == 0 || c->luns);
	for (size_t j = 0; j < i; j++)
		CHECK(!guid_equal(&s->controllers[j].instance_id,
				  &c->instance_id));
	for (size_t j = 0; j < c->nr_luns; j++) {
		const struct settings_lun *l = &c->luns[j];

		check_lun(c, l);
		for (size_t k = 0; k < j; k++)
			CHECK(c->luns[k].location != l->location ||
			      c->luns[k].channel != l->channel);
	}
}

static void check_model(const struct settings *s, bool utf8_in)
{
	size_t scsi = 0, ide = 0;

	CHECK(s->fixed.scsi_sub_channels <= SETTINGS_MAX_SUB_CHANNELS);
	CHECK(s->fixed.io_ring_size >= 1);
	check_opt_u64(&s->fixed.max_bounce_buffer_pages);
	CHECK(s->fixed.max_bounce_buffer_pages.val <= UINT32_MAX);
	CHECK(s->nr_controllers == 0 || s->controllers);
	for (size_t i = 0; i < s->nr_controllers; i++) {
		check_controller(s, i);
		scsi += s->controllers[i].protocol == SETTINGS_PROTO_SCSI;
		ide += s->controllers[i].protocol == SETTINGS_PROTO_IDE;
	}
	CHECK(scsi <= SETTINGS_MAX_SCSI_CONTROLLERS);
	CHECK(ide <= SETTINGS_MAX_IDE_CONTROLLERS);
	CHECK(s->nr_warnings == 0 || s->warnings);
	for (size_t i = 0; i < s->nr_warnings; i++) {
		const struct settings_warning *w = &s->warnings[i];
		size_t pl = bounded_len(w->path, sizeof(w->path));
		size_t ml = bounded_len(w->message, sizeof(w->message));

		CHECK(ml > 0);
		if (strict && utf8_in)
			CHECK(valid_utf8((const unsigned char *)w->path, pl) &&
			      valid_utf8((const unsigned char *)w->message,
					 ml));
	}
}

/* --- the target -------------------------------------------------------- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct error_obj err, err2;
	struct settings s, s2;
	char *text = malloc(size + 1);
	bool utf8_in;
	int ret, ret2;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	utf8_in = valid_utf8((const unsigned char *)text, strlen(text));

	memset(&err, 0xa5, sizeof(err)); /* must be overwritten */
	ret = settings_parse_string(text, &s, &err);
	CHECK(ret == 0 || ret == -EINVAL || ret == -ENOMEM);
	if (ret) {
		check_error(&s, &err, utf8_in);
	} else {
		check_model(&s, utf8_in);
		settings_fini(&s);
		CHECK(all_zero(&s, sizeof(s)));
	}

	/* deterministic, and err may be NULL */
	ret2 = settings_parse_string(text, &s2, NULL);
	CHECK(ret2 == ret);
	settings_fini(&s2);
	if (ret) {
		ret2 = settings_parse_string(text, &s2, &err2);
		CHECK(ret2 == ret && !memcmp(&err, &err2, sizeof(err)));
	}
	free(text);
	return 0;
}
