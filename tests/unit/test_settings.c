// SPDX-License-Identifier: MIT
/*
 * settings: the bad fixtures (one rule each, listed in bad/EXPECT with their
 * error_id and path), the good fixtures (asserts on the parsed model), and
 * table-driven cases from C strings.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/settings.h"

#define C0  "1f0c3e2a-7a5b-4b8e-9d2a-0c1e2f3a4b5c"
#define G_A "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
#define G_B "8a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
#define P0  "dynamic.storage_controllers[0]"
#define L0  P0 ".luns[0]"

/* --- fixtures on disk -------------------------------------------------- */

static char fixture_root[PATH_MAX];

static bool has_expect(const char *dir)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%.3000s/bad/EXPECT", dir);
	return access(p, R_OK) == 0;
}

/* $SETTINGS_FIXTURES, ./tests/fixtures/settings (make runs tests from the
 * repo root), or the same below any parent of the test binary. */
static int find_fixtures(void **state)
{
	const char *env = getenv("SETTINGS_FIXTURES");
	char exe[PATH_MAX], *slash;
	ssize_t n;

	(void)state;
	if (env && has_expect(env))
		return snprintf(fixture_root, PATH_MAX, "%s", env) < 0;
	if (has_expect("tests/fixtures/settings"))
		return snprintf(fixture_root, PATH_MAX, "%s",
				"tests/fixtures/settings") < 0;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		return -1;
	exe[n] = '\0';
	while ((slash = strrchr(exe, '/')) && slash != exe) {
		*slash = '\0';
		snprintf(fixture_root, PATH_MAX,
			 "%.3000s/tests/fixtures/settings", exe);
		if (has_expect(fixture_root))
			return 0;
	}
	fprintf(stderr, "test_settings: no tests/fixtures/settings found\n");
	return -1;
}

static void fixture_path(char *out, const char *kind, const char *file)
{
	snprintf(out, PATH_MAX, "%.3000s/%s/%.200s", fixture_root, kind, file);
}

static bool settings_empty(const struct settings *s)
{
	static const struct settings zero;

	return memcmp(s, &zero, sizeof(zero)) == 0;
}

/* The last path component without its index: luns[1] -> luns. */
static void last_component(const char *path, char *out, size_t size)
{
	const char *dot = strrchr(path, '.');

	snprintf(out, size, "%s", dot ? dot + 1 : path);
	out[strcspn(out, "[")] = '\0';
}

/* --- bad fixtures ------------------------------------------------------ */

struct expect {
	char file[128];
	char error_id[64];
	char path[ERROR_PATH_LEN];
	bool seen;
};

static size_t load_expect(struct expect **out)
{
	char p[PATH_MAX], line[512];
	struct expect *e = NULL;
	size_t n = 0;
	FILE *f;

	fixture_path(p, "bad", "EXPECT");
	f = fopen(p, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		char *s = line + strspn(line, " \t");

		if (*s == '#' || *s == '\n' || !*s)
			continue;
		e = realloc(e, (n + 1) * sizeof(*e));
		assert_non_null(e);
		memset(&e[n], 0, sizeof(*e));
		if (sscanf(s, "%127s %63s %159s", e[n].file, e[n].error_id,
			   e[n].path) != 3)
			fail_msg("EXPECT: malformed line: %s", s);
		if (!strcmp(e[n].path, "-"))
			e[n].path[0] = '\0';
		for (size_t i = 0; i < n; i++)
			if (!strcmp(e[i].file, e[n].file))
				fail_msg("EXPECT lists %s twice", e[n].file);
		n++;
	}
	fclose(f);
	*out = e;
	return n;
}

/* error_json() round-trips through json-c. */
static void check_error_json(const struct error_obj *err)
{
	char *text = error_json(err);
	struct json_object *o, *v;

	assert_non_null(text);
	o = json_tokener_parse(text);
	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "error_id", &v));
	assert_string_equal(json_object_get_string(v), err->error_id);
	assert_true(json_object_object_get_ex(o, "message", &v));
	assert_string_equal(json_object_get_string(v), err->message);
	assert_true(json_object_object_get_ex(o, "path", &v));
	assert_string_equal(json_object_get_string(v), err->path);
	json_object_put(o);
	free(text);
}

/* One fixture against its EXPECT line; false (and a report) on mismatch. */
static bool check_bad(const struct expect *e)
{
	struct settings s;
	struct error_obj err;
	char p[PATH_MAX], last[ERROR_PATH_LEN];
	int ret;

	fixture_path(p, "bad", e->file);
	ret = settings_parse_file(p, &s, &err);
	last_component(e->path, last, sizeof(last));
	if (ret != -EINVAL || strcmp(err.error_id, e->error_id) ||
	    strcmp(err.path, e->path) || !err.message[0] ||
	    !strstr(err.message, last) || !settings_empty(&s)) {
		print_error("%s: got ret %d %s at '%s': %s\n"
			    "    want %s at '%s' (message naming '%s')\n",
			    e->file, ret, err.error_id, err.path, err.message,
			    e->error_id, e->path, last);
		settings_fini(&s);
		return false;
	}
	check_error_json(&err);
	return true;
}

static void test_bad_fixtures(void **state)
{
	struct expect *e;
	size_t n = load_expect(&e), failed = 0;

	(void)state;
	assert_true(n >= 40);
	for (size_t i = 0; i < n; i++)
		failed += !check_bad(&e[i]);
	free(e);
	assert_int_equal(failed, 0);
}

/* Every *.json under dir must be in names, and every name on disk. */
static void check_listing(const char *kind, const char *const *names, size_t n)
{
	char p[PATH_MAX];
	struct dirent *d;
	size_t on_disk = 0;
	DIR *dir;

	snprintf(p, sizeof(p), "%.3000s/%s", fixture_root, kind);
	dir = opendir(p);
	assert_non_null(dir);
	while ((d = readdir(dir))) {
		size_t len = strlen(d->d_name), i;

		if (d->d_name[0] == '.' || !strcmp(d->d_name, "EXPECT"))
			continue;
		for (i = 0; i < n && strcmp(names[i], d->d_name); i++)
			;
		if (i == n || len < 6 || strcmp(d->d_name + len - 5, ".json"))
			fail_msg("%s/%s is not listed", kind, d->d_name);
		on_disk++;
	}
	closedir(dir);
	if (on_disk != n)
		fail_msg("%s: %zu listed, %zu on disk", kind, n, on_disk);
}

static void test_bad_listing_matches(void **state)
{
	struct expect *e;
	size_t n = load_expect(&e);
	const char **names = calloc(n, sizeof(*names));

	(void)state;
	assert_non_null(names);
	for (size_t i = 0; i < n; i++)
		names[i] = e[i].file;
	check_listing("bad", names, n);
	free(names);
	free(e);
}

/* Every error_id the parser knows has at least one bad fixture. */
static void test_bad_cover_every_error(void **state)
{
	static const char *const ids[] = {
		"JsonFormatError",
		"UnsupportedSchemaVersion",
		"UnsupportedSchemaNamespace",
		"EmptyNamespaceChunk",
		"InvalidInstanceId",
		"StorageInvalidControllerType",
		"StorageControllerGuidAlreadyExists",
		"StorageScsiControllerExceedsMaxLimits",
		"StorageIdeChannelExceedsMaxLimits",
		"StorageIdeChannelNotProvided",
		"StorageIdeChannelInvalidConfiguration",
		"StorageLunLocationExceedsMaxLimits",
		"StorageLunLocationDuplicated",
		"StorageInvalidDeviceId",
		"StorageInvalidVendorId",
		"StorageInvalidProductId",
		"StorageInvalidProductRevisionLevel",
		"StorageInvalidSerialNumber",
		"StorageInvalidModelNumber",
		"StorageInvalidPhysicalSectorSize",
		"StorageInvalidMaxTransferLength",
		"StorageInvalidDiskSize",
		"StorageUnsupportedDeviceType",
		"EmptyDriveNotAllowed",
		"StorageInvalidChunkSize",
		"StorageInvalidNtfsFormatGuid",
		"StorageInvalidPhysicalDiskCount",
		"StorageInvalidDevicePath",
		"StorageInvalidSubDevicePath",
	};
	struct expect *e;
	size_t n = load_expect(&e);

	(void)state;
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		char id[64];
		size_t k;

		snprintf(id, sizeof(id), "Configuration.%s", ids[i]);
		for (k = 0; k < n && strcmp(e[k].error_id, id); k++)
			;
		if (k == n)
			fail_msg("no bad fixture for %s", id);
	}
	free(e);
}

/* --- good fixtures ----------------------------------------------------- */

static void parse_good(const char *file, struct settings *s)
{
	struct error_obj err;
	char p[PATH_MAX];

	fixture_path(p, "good", file);
	if (settings_parse_file(p, s, &err))
		fail_msg("%s: %s at '%s': %s", file, err.error_id, err.path,
			 err.message);
}

static bool has_warning(const struct settings *s, const char *path)
{
	for (size_t i = 0; i < s->nr_warnings; i++)
		if (!strcmp(s->warnings[i].path, path))
			return true;
	return false;
}

static void check_default_fixed(const struct settings *s)
{
	assert_int_equal(s->fixed.scsi_sub_channels, 0);
	assert_int_equal(s->fixed.io_ring_size, SETTINGS_DEFAULT_IO_RING_SIZE);
	assert_false(s->fixed.max_bounce_buffer_pages.has);
}

static void check_dev(const struct settings_device *d,
		      enum settings_device_type type, const char *path,
		      uint32_t sub)
{
	assert_int_equal(d->type, type);
	assert_string_equal(d->device_path, path);
	assert_int_equal(d->sub_device_path, sub);
}

/* A LUN with none of the optional fields. */
static void check_plain_lun(const struct settings_lun *l)
{
	assert_false(l->has_device_id);
	assert_string_equal(l->vendor_id, "");
	assert_string_equal(l->product_id, "");
	assert_string_equal(l->product_revision_level, "");
	assert_null(l->serial_number);
	assert_null(l->model_number);
	assert_false(l->medium_rotation_rate.has);
	assert_false(l->physical_sector_size.has);
	assert_false(l->fua.has);
	assert_false(l->write_cache.has);
	assert_false(l->odx.has);
	assert_false(l->disable_thin_provisioning.has);
	assert_false(l->max_transfer_length.has);
	assert_false(l->scsi_disk_size_in_bytes.has);
	assert_false(l->is_dvd);
	assert_false(l->has_ntfs_guid);
}

static void good_nvme_to_scsi_single(const struct settings *s)
{
	const struct settings_controller *c = &s->controllers[0];
	const struct settings_lun *l = &c->luns[0];

	check_default_fixed(s);
	assert_int_equal(s->nr_warnings, 0);
	assert_int_equal(s->nr_controllers, 1);
	assert_int_equal(c->protocol, SETTINGS_PROTO_SCSI);
	assert_string_equal(c->instance_id_str, C0);
	assert_string_equal(c->path, P0);
	assert_false(c->io_queue_depth.has);
	assert_int_equal(c->nr_luns, 1);
	assert_string_equal(l->path, L0);
	assert_int_equal(l->location, 0);
	assert_false(l->striped);
	assert_false(l->legacy);
	assert_false(l->chunk_size_in_kb.has);
	check_plain_lun(l);
	assert_int_equal(l->nr_devices, 1);
	check_dev(&l->devices[0], SETTINGS_DEV_NVME, G_A, 1);
	assert_string_equal(l->devices[0].path, L0 ".physical_devices.device");
}

static void good_nvme_striped(const struct settings *s)
{
	const struct settings_lun *l = &s->controllers[0].luns[0];

	assert_int_equal(s->nr_warnings, 0);
	assert_true(l->striped);
	assert_true(l->chunk_size_in_kb.has);
	assert_int_equal(l->chunk_size_in_kb.val, 128);
	assert_int_equal(l->nr_devices, 2);
	check_dev(&l->devices[0], SETTINGS_DEV_NVME, G_A, 1);
	check_dev(&l->devices[1], SETTINGS_DEV_NVME, G_B, 1);
	assert_string_equal(l->devices[1].path,
			    L0 ".physical_devices.devices[1]");
}

static void good_vscsi_to_scsi(const struct settings *s)
{
	const struct settings_lun *l = &s->controllers[0].luns[0];

	assert_int_equal(s->controllers[0].protocol, SETTINGS_PROTO_SCSI);
	assert_int_equal(l->nr_devices, 1);
	check_dev(&l->devices[0], SETTINGS_DEV_VSCSI, G_B, 0);
}

static void good_legacy_form(const struct settings *s)
{
	const struct settings_controller *c = &s->controllers[0];

	assert_int_equal(c->nr_luns, 2);
	for (size_t i = 0; i < 2; i++) {
		assert_true(c->luns[i].legacy);
		assert_false(c->luns[i].striped);
		assert_int_equal(c->luns[i].nr_devices, 1);
		assert_string_equal(c->luns[i].devices[0].path,
				    c->luns[i].path);
	}
	check_dev(&c->luns[0].devices[0], SETTINGS_DEV_NVME, G_A, 2);
	check_dev(&c->luns[1].devices[0], SETTINGS_DEV_VSCSI, G_B, 3);
	assert_int_equal(c->luns[1].location, 1);
}

static void good_namespace_base64(const struct settings *s)
{
	const struct settings_controller *c = &s->controllers[0];

	assert_int_equal(s->nr_warnings, 1);
	assert_true(has_warning(s, "namespace_settings[0].namespace"));
	assert_int_equal(s->fixed.io_ring_size, 512);
	assert_int_equal(s->nr_controllers, 1);
	assert_string_equal(c->path, "namespace_settings[1].settings." P0);
	assert_int_equal(c->luns[0].location, 3);
	check_dev(&c->luns[0].devices[0], SETTINGS_DEV_NVME, G_A, 1);
}

static void good_namespace_object(const struct settings *s)
{
	const struct settings_controller *c = &s->controllers[0];

	assert_int_equal(s->nr_warnings, 1);
	assert_true(has_warning(s, "namespace_settings[1].namespace"));
	assert_int_equal(c->protocol, SETTINGS_PROTO_NVME);
	assert_string_equal(c->luns[0].path,
			    "namespace_settings[0].settings." L0);
	assert_int_equal(c->luns[0].location, 1);
}

static void good_aliases(const struct settings *s)
{
	static const enum settings_protocol proto[] = {
		SETTINGS_PROTO_SCSI, SETTINGS_PROTO_SCSI, SETTINGS_PROTO_SCSI,
		SETTINGS_PROTO_NVME, SETTINGS_PROTO_NVME, SETTINGS_PROTO_NVME,
		SETTINGS_PROTO_NVME, SETTINGS_PROTO_IDE};
	const struct settings_controller *c = s->controllers;

	assert_int_equal(s->nr_warnings, 0);
	assert_int_equal(s->nr_controllers, 8);
	for (size_t i = 0; i < 8; i++)
		assert_int_equal(c[i].protocol, proto[i]);
	for (size_t i = 0; i < 4; i++) {
		assert_false(c[0].luns[i].striped);
		check_dev(&c[0].luns[i].devices[0], SETTINGS_DEV_NVME, G_A, 1);
	}
	assert_true(c[1].luns[0].striped);
	assert_int_equal(c[1].luns[0].chunk_size_in_kb.val, 64);
	check_dev(&c[1].luns[0].devices[0], SETTINGS_DEV_VSCSI, G_A, 0);
	check_dev(&c[1].luns[0].devices[1], SETTINGS_DEV_VSCSI, G_A, 1);
	check_dev(&c[2].luns[0].devices[0], SETTINGS_DEV_VSCSI, G_A, 2);
	check_dev(&c[2].luns[0].devices[1], SETTINGS_DEV_VSCSI, G_A, 3);
	check_dev(&c[2].luns[1].devices[0], SETTINGS_DEV_FILE, "/a.img", 0);
	check_dev(&c[2].luns[1].devices[1], SETTINGS_DEV_FILE, "/b.img", 0);
	assert_true(c[2].luns[2].striped);
	assert_int_equal(c[2].luns[2].chunk_size_in_kb.val, 8);
	assert_true(c[7].luns[0].has_channel);
	assert_int_equal(c[7].luns[0].channel, 0);
}

static void good_ide(const struct settings *s)
{
	const struct settings_controller *c = &s->controllers[0];

	assert_int_equal(c->protocol, SETTINGS_PROTO_IDE);
	assert_int_equal(c->nr_luns, 4);
	for (uint32_t i = 0; i < 4; i++) {
		assert_true(c->luns[i].has_channel);
		assert_int_equal(c->luns[i].channel, i / 2);
		assert_int_equal(c->luns[i].location, i % 2);
		assert_int_equal(c->luns[i].is_dvd, i == 2);
	}
	check_dev(&c->luns[2].devices[0], SETTINGS_DEV_FILE,
		  "/srv/iso/install.iso", 0);
	check_dev(&c->luns[3].devices[0], SETTINGS_DEV_NVME, G_A, 7);
}

static void good_nvme_namespaces(const struct settings *s)
{
	const struct settings_controller *c = &s->controllers[0];

	assert_int_equal(c->protocol, SETTINGS_PROTO_NVME);
	assert_true(c->io_queue_depth.has);
	assert_int_equal(c->io_queue_depth.val, 4096);
	assert_int_equal(c->nr_luns, 3);
	assert_int_equal(c->luns[0].location, 1);
	assert_int_equal(c->luns[1].location, 2);
	assert_int_equal(c->luns[2].location, 0xFFFFFFFEu);
	check_dev(&c->luns[2].devices[0], SETTINGS_DEV_NVME, G_A, 0xFFFFFFFEu);
}

static void good_all_fields_lun0(const struct settings_lun *l)
{
	char g[GUID_STR_LEN + 1];

	assert_int_equal(l->location, 63);
	assert_true(l->has_device_id);
	guid_format(&l->device_id, g);
	assert_string_equal(g, "d1e2f3a4-b5c6-4d7e-8f90-a1b2c3d4e5f6");
	assert_string_equal(l->vendor_id, "MSFT");
	assert_string_equal(l->product_id, "Virtual Disk");
	assert_string_equal(l->product_revision_level, "1.0");
	assert_string_equal(l->serial_number, "SN-0123456789ABCDEFG");
	assert_int_equal(strlen(l->model_number), 40);
	assert_int_equal(l->medium_rotation_rate.val, 1);
	assert_int_equal(l->physical_sector_size.val, 4096);
	assert_true(l->fua.has && l->fua.val);
	assert_true(l->write_cache.has && !l->write_cache.val);
	assert_true(l->odx.has && l->odx.val);
	assert_true(l->disable_thin_provisioning.has);
	assert_true(l->disable_thin_provisioning.val);
	assert_int_equal(l->max_transfer_length.val, 1048576);
	assert_int_equal(l->scsi_disk_size_in_bytes.val, 5368709120ull);
	assert_int_equal(l->chunk_size_in_kb.val, 1024);
	assert_true(l->has_ntfs_guid);
	guid_format(&l->ntfs_guid, g);
	assert_string_equal(g, "01234567-89ab-cdef-0123-456789abcdef");
	assert_int_equal(l->nr_devices, 3);
	check_dev(&l->devices[2], SETTINGS_DEV_NVME, G_A, 2);
}

static void good_all_fields(const struct settings *s)
{
	const struct settings_controller *c = &s->controllers[0];
	const struct settings_lun *l = &c->luns[1];

	assert_int_equal(s->nr_warnings, 0);
	assert_int_equal(s->fixed.scsi_sub_channels, 16);
	assert_int_equal(s->fixed.io_ring_size, 1024);
	assert_true(s->fixed.max_bounce_buffer_pages.has);
	assert_int_equal(s->fixed.max_bounce_buffer_pages.val, 64);
	assert_int_equal(c->io_queue_depth.val, 1);
	good_all_fields_lun0(&c->luns[0]);
	/* The bounds, and empty strings as "not set". */
	assert_int_equal(l->medium_rotation_rate.val, 65535);
	assert_int_equal(l->physical_sector_size.val, 512);
	assert_int_equal(l->max_transfer_length.val, 4096);
	assert_int_equal(l->scsi_disk_size_in_bytes.val, 512);
	assert_string_equal(l->vendor_id, "");
	assert_null(l->serial_number);
	assert_false(l->has_device_id);
}

static void good_camel_case(const struct settings *s)
{
	const struct settings_controller *c = &s->controllers[0];

	assert_int_equal(s->nr_warnings, 0);
	assert_int_equal(s->fixed.io_ring_size, 64);
	assert_int_equal(s->fixed.scsi_sub_channels, 2);
	assert_int_equal(c->io_queue_depth.val, 32);
	assert_string_equal(c->luns[0].path,
			    "dynamic.storageControllers[0].luns[0]");
	assert_string_equal(c->luns[0].vendor_id, "ACME");
	assert_true(c->luns[0].is_dvd);
	assert_int_equal(c->luns[0].scsi_disk_size_in_bytes.val, 1024);
	check_dev(&c->luns[0].devices[0], SETTINGS_DEV_VSCSI, G_B, 5);
	assert_string_equal(
		c->luns[0].devices[0].path,
		"dynamic.storageControllers[0].luns[0].physicalDevices.device");
	assert_true(c->luns[1].legacy);
	check_dev(&c->luns[1].devices[0], SETTINGS_DEV_NVME, G_A, 9);
}

static void good_file_backings(const struct settings *s)
{
	const struct settings_controller *c = &s->controllers[0];

	check_dev(&c->luns[0].devices[0], SETTINGS_DEV_FILE,
		  "/var/lib/blkxlate/disk0.img", 0);
	check_dev(&c->luns[1].devices[0], SETTINGS_DEV_FILE, "/dev/loop0", 0);
	check_dev(&c->luns[1].devices[1], SETTINGS_DEV_FILE, "/dev/loop1", 0);
	assert_true(c->luns[2].legacy);
	check_dev(&c->luns[2].devices[0], SETTINGS_DEV_FILE,
		  "/var/lib/blkxlate/legacy.img", 0);
}

static void good_warnings(const struct settings *s)
{
	static const char *const paths[] = {
		"comment",
		"fixed.extra_fixed",
		"fixed.scsi_sub_channels",
		"dynamic.extra_dynamic",
		"dynamic.nic_devices",
		P0 ".extra_controller",
		L0 ".extra_lun",
		L0 ".channel",
		L0 ".chunk_size_in_kb",
		L0 ".total_logic_size_in_kb",
		L0 ".physical_devices.extra_pd",
		L0 ".physical_devices.device.extra_device",
	};
	const struct settings_lun *l = &s->controllers[0].luns[0];
	size_t n = sizeof(paths) / sizeof(paths[0]);

	for (size_t i = 0; i < n; i++)
		if (!has_warning(s, paths[i]))
			fail_msg("no warning at %s", paths[i]);
	assert_int_equal(s->nr_warnings, n);
	for (size_t i = 0; i < n; i++)
		assert_non_null(
			strstr(s->warnings[i].message, "ignored")
				?: strstr(s->warnings[i].message, "clamped"));
	assert_int_equal(s->fixed.scsi_sub_channels, 256);
	assert_false(l->chunk_size_in_kb.has);
	assert_false(l->has_channel);
	check_dev(&l->devices[0], SETTINGS_DEV_NVME, G_A, 1);
}

static void good_empty(const struct settings *s)
{
	check_default_fixed(s);
	assert_int_equal(s->nr_controllers, 0);
	assert_null(s->controllers);
	assert_int_equal(s->nr_warnings, 0);
}

static const struct good_case {
	const char *file;
	void (*check)(const struct settings *s);
} good_cases[] = {
	{"nvme-to-scsi-single.json", good_nvme_to_scsi_single},
	{"nvme-striped.json", good_nvme_striped},
	{"vscsi-to-scsi.json", good_vscsi_to_scsi},
	{"legacy-form.json", good_legacy_form},
	{"namespace-base64.json", good_namespace_base64},
	{"namespace-object.json", good_namespace_object},
	{"aliases.json", good_aliases},
	{"ide.json", good_ide},
	{"nvme-namespaces.json", good_nvme_namespaces},
	{"all-fields.json", good_all_fields},
	{"camel-case.json", good_camel_case},
	{"file-backings.json", good_file_backings},
	{"warnings.json", good_warnings},
	{"empty-document.json", good_empty},
	{"empty-dynamic.json", good_empty},
	{"version-only-nulls.json", good_empty},
};
#define NR_GOOD (sizeof(good_cases) / sizeof(good_cases[0]))

static void test_good_fixtures(void **state)
{
	(void)state;
	for (size_t i = 0; i < NR_GOOD; i++) {
		struct settings s;

		parse_good(good_cases[i].file, &s);
		good_cases[i].check(&s);
		settings_fini(&s);
		assert_true(settings_empty(&s));
	}
}

static void test_good_listing_matches(void **state)
{
	const char *names[NR_GOOD];

	(void)state;
	for (size_t i = 0; i < NR_GOOD; i++)
		names[i] = good_cases[i].file;
	check_listing("good", names, NR_GOOD);
}

/* --- cases from C strings ---------------------------------------------- */

#define DEV_NVME(nsid)                                                         \
	"{\"device_type\":\"nvme\",\"device_path\":\"" G_A                     \
	"\",\"sub_device_path\":" nsid "}"
#define SINGLE "{\"type\":\"single\",\"device\":" DEV_NVME("1") "}"
#define LUN(loc, extra)                                                        \
	"{\"location\":" loc ",\"physical_devices\":" SINGLE extra "}"
#define CTRL(id, proto, luns)                                                  \
	"{\"instance_id\":\"" id "\",\"protocol\":" proto ",\"luns\":[" luns   \
	"]}"
#define DOC(ctrls)                                                             \
	"{\"version\":\"V1\",\"dynamic\":{\"storage_controllers\":[" ctrls "]" \
	"}"                                                                    \
	"}"
#define SCSI_LUN(extra) DOC(CTRL(C0, "\"SCSI\"", LUN("0", extra)))
#define ID(n)		"0000000" #n "-0000-4000-8000-000000000000"

static const struct str_case {
	const char *name;
	const char *json;
	const char *error_id; /* NULL: must parse */
	const char *path;
} str_cases[] = {
	{"top-level number", "123", "JsonFormatError", ""},
	{"top-level null", "null", "JsonFormatError", ""},
	{"whitespace only", " \n\t ", "JsonFormatError", ""},
	{"version only", "{\"version\":\"V1\"}", NULL, NULL},
	{"version 1.0 is not an enum", "{\"version\":1.0}", "JsonFormatError",
	 "version"},
	{"version 1", "{\"version\":1,\"dynamic\":{}}", NULL, NULL},
	{"empty namespace list", "{\"namespace_settings\":[]}", NULL, NULL},
	{"namespace list not array", "{\"namespace_settings\":{}}",
	 "JsonFormatError", "namespace_settings"},
	{"namespace not a string",
	 "{\"namespace_settings\":[{\"namespace\":1,\"settings\":{}}]}",
	 "JsonFormatError", "namespace_settings[0].namespace"},
	/* base64 of {"version":"V1"}, URL-safe alphabet, no padding. */
	{"base64 without padding",
	 "{\"namespace_settings\":[{\"namespace\":\"Base\",\"settings\":\"eyJ2ZXJzaW9uIjoiVjEifQ\"}]}",
	 NULL, NULL},
	{"base64 of {}",
	 "{\"namespace_settings\":[{\"namespace\":\"Base\",\"settings\":\"e30=\"}]}",
	 "UnsupportedSchemaVersion", "namespace_settings[0].settings.version"},
	{"4 SCSI + 1 IDE + NVMe",
	 DOC(CTRL(ID(1), "\"SCSI\"", "") "," CTRL(ID(2), "\"SCSI\"", "") "," CTRL(
		 ID(3), "\"SCSI\"",
		 "") "," CTRL(ID(4), "\"SCSI\"",
			      "") "," CTRL(ID(5), "\"IDE\"",
					   "") "," CTRL(ID(6), "\"NVME\"",
							"") "," CTRL(ID(7),
								     "\"NVME\"",
								     "")),
	 NULL, NULL},
	{"braced GUIDs are the same controller",
	 DOC(CTRL(C0, "1", "") "," CTRL("{" C0 "}", "3", "")),
	 "StorageControllerGuidAlreadyExists",
	 "dynamic.storage_controllers[1].instance_id"},
	{"SCSI location 63", DOC(CTRL(C0, "\"SCSI\"", LUN("63", ""))), NULL,
	 NULL},
	{"location 1e1", DOC(CTRL(C0, "\"SCSI\"", LUN("1e1", ""))), NULL, NULL},
	{"location 6.5e1", DOC(CTRL(C0, "\"SCSI\"", LUN("6.5e1", ""))),
	 "StorageLunLocationExceedsMaxLimits", L0 ".location"},
	{"location -0 is 0", DOC(CTRL(C0, "\"SCSI\"", LUN("-0", ""))), NULL,
	 NULL},
	{"location true", DOC(CTRL(C0, "\"SCSI\"", LUN("true", ""))),
	 "JsonFormatError", L0 ".location"},
	{"same location on two controllers",
	 DOC(CTRL(ID(1), "\"SCSI\"", LUN("0", "")) "," CTRL(ID(2), "\"SCSI\"",
							    LUN("0", ""))),
	 NULL, NULL},
	{"io_queue_depth 4096",
	 DOC("{\"instance_id\":\"" C0
	     "\",\"protocol\":\"SCSI\",\"io_queue_depth\":4096}"),
	 NULL, NULL},
	{"sub channels 256 stays",
	 "{\"version\":\"V1\",\"fixed\":{\"scsi_sub_channels\":256}}", NULL,
	 NULL},
	{"sub channels above u32",
	 "{\"version\":\"V1\",\"fixed\":{\"scsi_sub_channels\":4294967296}}",
	 "JsonFormatError", "fixed.scsi_sub_channels"},
	{"io_ring_size as u64 string is not allowed",
	 "{\"version\":\"V1\",\"fixed\":{\"io_ring_size\":\"64\"}}",
	 "JsonFormatError", "fixed.io_ring_size"},
	{"disk size: largest multiple of 512, as a string",
	 SCSI_LUN(",\"scsi_disk_size_in_bytes\":\"18446744073709551104\""),
	 NULL, NULL},
	{"disk size: largest multiple of 512, as a number",
	 SCSI_LUN(",\"scsi_disk_size_in_bytes\":18446744073709551104"), NULL,
	 NULL},
	{"disk size: 2^64 as a string",
	 SCSI_LUN(",\"scsi_disk_size_in_bytes\":\"18446744073709551616\""),
	 "JsonFormatError", L0 ".scsi_disk_size_in_bytes"},
	{"disk size: signed string",
	 SCSI_LUN(",\"scsi_disk_size_in_bytes\":\"+512\""), "JsonFormatError",
	 L0 ".scsi_disk_size_in_bytes"},
	{"disk size: empty string",
	 SCSI_LUN(",\"scsi_disk_size_in_bytes\":\"\""), "JsonFormatError",
	 L0 ".scsi_disk_size_in_bytes"},
	{"max transfer 1.5e6 not a multiple of 512",
	 SCSI_LUN(",\"max_transfer_length\":1.5e6"),
	 "StorageInvalidMaxTransferLength", L0 ".max_transfer_length"},
	{"rotation rate 1.5", SCSI_LUN(",\"medium_rotation_rate\":1.5"),
	 "JsonFormatError", L0 ".medium_rotation_rate"},
	{"odx null is unset", SCSI_LUN(",\"odx\":null"), NULL, NULL},
	{"ntfs_guid empty", SCSI_LUN(",\"ntfs_guid\":\"\""),
	 "StorageInvalidNtfsFormatGuid", L0 ".ntfs_guid"},
	{"device_id wrong type", SCSI_LUN(",\"device_id\":[]"),
	 "JsonFormatError", L0 ".device_id"},
	{"vendor id 8 chars", SCSI_LUN(",\"vendor_id\":\"ABCDEFGH\""), NULL,
	 NULL},
	{"product id 16 chars",
	 SCSI_LUN(",\"product_id\":\"ABCDEFGHIJKLMNOP\""), NULL, NULL},
	{"revision 4 chars", SCSI_LUN(",\"product_revision_level\":\"1.00\""),
	 NULL, NULL},
	{"vendor id with DEL", SCSI_LUN(",\"vendor_id\":\"AB\\u007f\""),
	 "StorageInvalidVendorId", L0 ".vendor_id"},
	{"model number with NUL", SCSI_LUN(",\"model_number\":\"A\\u0000B\""),
	 "JsonFormatError", L0 ".model_number"},
	{"DVD on SCSI with a device", SCSI_LUN(",\"is_dvd\":true"), NULL, NULL},
	{"device path with NUL",
	 DOC(CTRL(
		 C0, "\"SCSI\"",
		 "{\"physical_devices\":{\"type\":\"single\",\"device\":{\"device_type\":\"vscsi\",\"device_path\":\"a\\u0000\"}}}")),
	 "JsonFormatError", L0 ".physical_devices.device.device_path"},
	{"vscsi LUN 16383",
	 DOC(CTRL(
		 C0, "\"SCSI\"",
		 "{\"physical_devices\":{\"type\":\"single\",\"device\":{\"device_type\":\"vscsi\",\"device_path\":\"host3\",\"sub_device_path\":16383}}}")),
	 NULL, NULL},
	{"device not an object",
	 DOC(CTRL(C0, "\"SCSI\"",
		  "{\"physical_devices\":{\"type\":\"single\",\"device\":7}}")),
	 "JsonFormatError", L0 ".physical_devices.device"},
	{"striped member not an object",
	 DOC(CTRL(
		 C0, "\"SCSI\"",
		 "{\"chunk_size_in_kb\":4,\"physical_devices\":{\"type\":2,\"devices\":[" DEV_NVME(
			 "1") ",\"x\"]}}")),
	 "JsonFormatError", L0 ".physical_devices.devices[1]"},
	{"protocol as boolean", DOC(CTRL(C0, "true", "")), "JsonFormatError",
	 P0 ".protocol"},
	{"protocol 0 is UNKNOWN", DOC(CTRL(C0, "0", "")),
	 "StorageInvalidControllerType", P0 ".protocol"},
	{"controller not an object", DOC("[]"), "JsonFormatError", P0},
	{"nic_devices of any shape are ignored",
	 "{\"version\":\"V1\",\"dynamic\":{\"nic_devices\":7}}", NULL, NULL},
	{"camelCase and snake_case twice",
	 "{\"version\":\"V1\",\"fixed\":{\"ioRingSize\":1,\"io_ring_size\":2}}",
	 "JsonFormatError", "fixed.ioRingSize"},
};

static void test_string_cases(void **state)
{
	size_t failed = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(str_cases) / sizeof(str_cases[0]); i++) {
		const struct str_case *t = &str_cases[i];
		char id[64] = "";
		struct settings s;
		struct error_obj err;
		int ret = settings_parse_string(t->json, &s, &err);

		if (t->error_id)
			snprintf(id, sizeof(id), "Configuration.%s",
				 t->error_id);
		if (t->error_id
			    ? (ret != -EINVAL || strcmp(err.error_id, id) ||
			       strcmp(err.path, t->path) || !settings_empty(&s))
			    : ret != 0) {
			print_error("%s: got %d %s at '%s': %s\n", t->name, ret,
				    ret ? err.error_id : "success", err.path,
				    err.message);
			failed++;
		}
		settings_fini(&s);
	}
	assert_int_equal(failed, 0);
}

/* --- behaviour of the API itself --------------------------------------- */

static void test_json_error_position(void **state)
{
	struct settings s;
	struct error_obj err;

	(void)state;
	assert_int_equal(
		settings_parse_string("{\n  \"version\": \"V1\",\n}", &s, &err),
		-EINVAL);
	assert_string_equal(err.error_id, "Configuration.JsonFormatError");
	assert_non_null(strstr(err.message, "line 3"));
	assert_true(settings_empty(&s));
}

static void test_unreadable_file(void **state)
{
	struct settings s;
	struct error_obj err;
	const char *missing = "/nonexistent/blkxlate-settings.json";

	(void)state;
	assert_int_equal(settings_parse_file(missing, &s, &err), -EINVAL);
	assert_string_equal(err.error_id, "Configuration.JsonFormatError");
	assert_non_null(strstr(err.message, missing));
	assert_non_null(strstr(err.message, strerror(ENOENT)));
	assert_true(settings_empty(&s));
	assert_int_equal(settings_parse_file("/", &s, &err), -EINVAL);
	assert_non_null(strstr(err.message, strerror(EISDIR)));
}

static void test_null_error_and_fini(void **state)
{
	struct settings s;

	(void)state;
	assert_int_equal(settings_parse_string("{", &s, NULL), -EINVAL);
	assert_true(settings_empty(&s));
	settings_fini(&s);
	settings_fini(&s);
	settings_fini(NULL);
	assert_int_equal(settings_parse_string(SCSI_LUN(""), &s, NULL), 0);
	assert_int_equal(s.nr_controllers, 1);
	settings_fini(&s);
	assert_true(settings_empty(&s));
}

static void test_error_set_and_json(void **state)
{
	struct error_obj err;
	char *text;

	(void)state;
	error_set(&err, "StorageInvalidDiskSize", "a.b[1].c", "%s \"%d\"\n",
		  "quote", 7);
	assert_string_equal(err.error_id,
			    "Configuration.StorageInvalidDiskSize");
	assert_string_equal(err.path, "a.b[1].c");
	assert_string_equal(err.message, "quote \"7\"\n");
	check_error_json(&err);
	error_set(&err, "Underhill.Other", "", "x");
	assert_string_equal(err.error_id, "Underhill.Other");
	text = error_json(&err);
	assert_string_equal(
		text,
		"{\"error_id\":\"Underhill.Other\",\"message\":\"x\",\"path\":\"\"}");
	free(text);
}

static void test_message_style(void **state)
{
	struct settings s;
	struct error_obj err;

	(void)state;
	settings_parse_string(
		DOC(CTRL(C0, "\"SCSI\"", LUN("0", "") "," LUN("64", ""))), &s,
		&err);
	assert_string_equal(
		err.message,
		"luns[1].location 64 exceeds the SCSI limit (location must be < 64)");
	settings_parse_string(
		DOC(CTRL(C0, "\"IDE\"", LUN("2", ",\"channel\":0"))), &s, &err);
	assert_string_equal(err.error_id,
			    "Configuration.StorageIdeChannelExceedsMaxLimits");
	assert_non_null(strstr(err.message, "location"));
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(settings_protocol_name(SETTINGS_PROTO_SCSI),
			    "SCSI");
	assert_string_equal(settings_protocol_name(SETTINGS_PROTO_IDE), "IDE");
	assert_string_equal(settings_protocol_name(SETTINGS_PROTO_NVME),
			    "NVME");
	assert_string_equal(settings_device_type_name(SETTINGS_DEV_NVME),
			    "nvme");
	assert_string_equal(settings_device_type_name(SETTINGS_DEV_VSCSI),
			    "vscsi");
	assert_string_equal(settings_device_type_name(SETTINGS_DEV_FILE),
			    "file");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_fixtures),
		cmocka_unit_test(test_bad_listing_matches),
		cmocka_unit_test(test_bad_cover_every_error),
		cmocka_unit_test(test_good_fixtures),
		cmocka_unit_test(test_good_listing_matches),
		cmocka_unit_test(test_string_cases),
		cmocka_unit_test(test_json_error_position),
		cmocka_unit_test(test_unreadable_file),
		cmocka_unit_test(test_null_error_and_fini),
		cmocka_unit_test(test_error_set_and_json),
		cmocka_unit_test(test_message_style),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, find_fixtures, NULL);
}
