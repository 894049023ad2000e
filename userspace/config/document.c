// SPDX-License-Identifier: MIT
/*
 * document: controllers, fixed and dynamic, the document forms and the
 * namespace_settings chunks.
 */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <blkxlate/abi.h>

#include "base/utf8.h"
#include "config/parse.h"

/* --- controllers ------------------------------------------------------- */

enum { C_INSTANCE_ID, C_PROTOCOL, C_LUNS, C_IO_QUEUE_DEPTH, C_NR };
static const char *const ctl_names[C_NR] = {"instance_id", "protocol", "luns",
					    "io_queue_depth"};

static int ctl_instance_id(struct pctx *c, const struct fields *f, size_t n)
{
	struct settings_controller *ctl = &c->s->controllers[n];
	const char *s;
	int ret = cfg_get_str(c, f, C_INSTANCE_ID, &s);

	if (ret)
		return ret;
	if (!s)
		return cfg_fail(c, ERR_INSTANCE_ID, f, C_INSTANCE_ID,
				"is missing (a controller needs a GUID)");
	if (guid_parse(s, &ctl->instance_id))
		return cfg_fail(c, ERR_INSTANCE_ID, f, C_INSTANCE_ID,
				"\"%s\" is not a GUID", s);
	guid_format(&ctl->instance_id, ctl->instance_id_str);
	for (size_t i = 0; i < n; i++)
		if (guid_equal(&c->s->controllers[i].instance_id,
			       &ctl->instance_id))
			return cfg_fail(
				c, ERR_CTRL_DUP, f, C_INSTANCE_ID,
				"%s is already used by %s (instance ids must be unique)",
				ctl->instance_id_str,
				cfg_path_short(c->s->controllers[i].path));
	return 0;
}

static int ctl_protocol(struct pctx *c, const struct fields *f, size_t n)
{
	struct settings_controller *ctl = &c->s->controllers[n];
	unsigned int same = 0;
	int proto, ret;

	ret = cfg_get_enum(c, f, C_PROTOCOL, &cfg_protocol_enum, &proto);
	if (ret)
		return ret;
	ctl->protocol = (enum settings_protocol)proto;
	for (size_t i = 0; i <= n; i++)
		same += c->s->controllers[i].protocol == ctl->protocol;
	if (ctl->protocol == SETTINGS_PROTO_SCSI &&
	    same > SETTINGS_MAX_SCSI_CONTROLLERS)
		return cfg_fail(c, ERR_SCSI_MAX, f, C_PROTOCOL,
				"SCSI makes %u SCSI controllers (at most %d)",
				same, SETTINGS_MAX_SCSI_CONTROLLERS);
	if (ctl->protocol == SETTINGS_PROTO_IDE &&
	    same > SETTINGS_MAX_IDE_CONTROLLERS)
		return cfg_fail(c, ERR_IDE_MAX, f, C_PROTOCOL,
				"IDE makes %u IDE controllers (at most %d)",
				same, SETTINGS_MAX_IDE_CONTROLLERS);
	return 0;
}

static int parse_controller(struct pctx *c, struct json_object *obj, size_t n)
{
	struct settings_controller *ctl = &c->s->controllers[n];
	char path[ERROR_PATH_LEN];
	struct json_object *luns;
	struct fields f;
	int ret;

	cfg_fields_init(&f, ctl_names, C_NR, ctl->path);
	ret = cfg_collect(c, obj, &f);
	if (!ret)
		ret = ctl_instance_id(c, &f, n);
	if (!ret)
		ret = ctl_protocol(c, &f, n);
	if (!ret)
		ret = cfg_get_u32_range(c, &f, C_IO_QUEUE_DEPTH, 1,
					BLKX_MAX_QUEUE_DEPTH,
					&ctl->io_queue_depth);
	if (!ret)
		ret = cfg_get_typed(c, &f, C_LUNS, json_type_array, &luns);
	if (ret || !luns)
		return ret;
	cfg_field_path(&f, C_LUNS, path);
	return cfg_parse_luns(c, ctl, luns, path);
}

static int parse_controllers(struct pctx *c, struct json_object *arr,
			     const char *path)
{
	struct settings *s = c->s;
	size_t n = json_object_array_length(arr);
	int ret = 0;

	if (!n)
		return 0;
	s->controllers = calloc(n, sizeof(*s->controllers));
	if (!s->controllers)
		return cfg_oom(c);
	/* Entries not reached yet stay zeroed: settings_fini() copes. */
	s->nr_controllers = n;
	for (size_t i = 0; i < n && !ret; i++) {
		cfg_path_elem(s->controllers[i].path, path, i);
		ret = parse_controller(c, json_object_array_get_idx(arr, i), i);
	}
	return ret;
}

/* --- fixed, dynamic, the document forms -------------------------------- */

enum { FX_SUB_CHANNELS, FX_IO_RING_SIZE, FX_MAX_BOUNCE, FX_NR };
static const char *const fixed_names[FX_NR] = {
	"scsi_sub_channels", "io_ring_size", "max_bounce_buffer_pages"};

static int parse_fixed(struct pctx *c, struct json_object *obj,
		       const char *path)
{
	struct settings_fixed *fx = &c->s->fixed;
	struct settings_opt_u64 sub, ring;
	struct fields f;
	int ret;

	cfg_fields_init(&f, fixed_names, FX_NR, path);
	ret = cfg_collect(c, obj, &f);
	if (!ret)
		ret = cfg_get_u32(c, &f, FX_SUB_CHANNELS, &sub);
	if (!ret)
		ret = cfg_get_u32(c, &f, FX_IO_RING_SIZE, &ring);
	if (!ret)
		ret = cfg_get_u32(c, &f, FX_MAX_BOUNCE,
				  &fx->max_bounce_buffer_pages);
	if (ret)
		return ret;
	if (ring.has && !ring.val)
		return cfg_fail(c, ERR_JSON, &f, FX_IO_RING_SIZE,
				"0 is out of range (io_ring_size >= 1)");
	if (ring.has)
		fx->io_ring_size = (uint32_t)ring.val;
	fx->scsi_sub_channels = (uint32_t)sub.val;
	if (sub.val > SETTINGS_MAX_SUB_CHANNELS) {
		fx->scsi_sub_channels = SETTINGS_MAX_SUB_CHANNELS;
		return cfg_warn_field(c, &f, FX_SUB_CHANNELS,
				      "is above 256; clamped to 256");
	}
	return 0;
}

enum { DY_STORAGE_CONTROLLERS, DY_NIC_DEVICES, DY_NR };
static const char *const dynamic_names[DY_NR] = {"storage_controllers",
						 "nic_devices"};

static int parse_dynamic(struct pctx *c, struct json_object *obj,
			 const char *path)
{
	char cpath[ERROR_PATH_LEN];
	struct json_object *ctls, *nics;
	struct fields f;
	int ret;

	cfg_fields_init(&f, dynamic_names, DY_NR, path);
	ret = cfg_collect(c, obj, &f);
	if (!ret)
		ret = cfg_get_typed(c, &f, DY_STORAGE_CONTROLLERS,
				    json_type_array, &ctls);
	if (ret)
		return ret;
	nics = f.val[DY_NIC_DEVICES];
	if (nics && !(json_object_is_type(nics, json_type_array) &&
		      !json_object_array_length(nics))) {
		ret = cfg_warn_field(
			c, &f, DY_NIC_DEVICES,
			"are network devices, which blkxlate does not serve; ignored");
		if (ret)
			return ret;
	}
	if (!ctls)
		return 0;
	cfg_field_path(&f, DY_STORAGE_CONTROLLERS, cpath);
	return parse_controllers(c, ctls, cpath);
}

/* The Base form's fields, first in the top-level table too. */
enum { B_VERSION, B_FIXED, B_DYNAMIC, B_NR, T_NAMESPACE_SETTINGS = B_NR, T_NR };
static const char *const top_names[T_NR] = {"version", "fixed", "dynamic",
					    "namespace_settings"};

static int parse_base(struct pctx *c, const struct fields *f)
{
	char path[ERROR_PATH_LEN];
	struct json_object *fixed, *dyn;
	int version, ret;

	ret = cfg_get_enum(c, f, B_VERSION, &cfg_version_enum, &version);
	if (!ret)
		ret = cfg_get_typed(c, f, B_FIXED, json_type_object, &fixed);
	if (!ret)
		ret = cfg_get_typed(c, f, B_DYNAMIC, json_type_object, &dyn);
	if (!ret && fixed) {
		cfg_field_path(f, B_FIXED, path);
		ret = parse_fixed(c, fixed, path);
	}
	if (!ret && dyn) {
		cfg_field_path(f, B_DYNAMIC, path);
		ret = parse_dynamic(c, dyn, path);
	}
	return ret;
}

static int parse_base_doc(struct pctx *c, struct json_object *doc,
			  const char *path)
{
	struct fields f;
	int ret;

	cfg_fields_init(&f, top_names, B_NR, path);
	ret = cfg_collect(c, doc, &f);
	return ret ? ret : parse_base(c, &f);
}

/* --- namespace_settings ------------------------------------------------ */

enum { NS_NAMESPACE, NS_SETTINGS, NS_NR };
static const char *const chunk_names[NS_NR] = {"namespace", "settings"};

static int chunk_base(struct pctx *c, const struct fields *f, bool *seen_base)
{
	struct json_object *v = f->val[NS_SETTINGS], *doc = v;
	char path[ERROR_PATH_LEN];
	int ret = 0;

	if (*seen_base)
		return cfg_fail(
			c, ERR_JSON, f, NS_NAMESPACE,
			"\"Base\" is given twice (one Base chunk per document)");
	*seen_base = true;
	cfg_field_path(f, NS_SETTINGS, path);
	if (json_object_is_type(v, json_type_string))
		ret = cfg_parse_b64_chunk(c, v, path, &doc);
	if (!ret)
		ret = parse_base_doc(c, doc, path);
	if (doc != v)
		json_object_put(doc);
	return ret;
}

static int parse_chunk(struct pctx *c, struct json_object *obj,
		       const char *path, bool *seen_base)
{
	struct json_object *v;
	const char *ns;
	struct fields f;
	char vb[VAL_LEN];
	int ret;

	cfg_fields_init(&f, chunk_names, NS_NR, path);
	ret = cfg_collect(c, obj, &f);
	if (!ret)
		ret = cfg_get_str(c, &f, NS_NAMESPACE, &ns);
	if (ret)
		return ret;
	v = f.val[NS_SETTINGS];
	if (!v || (json_object_is_type(v, json_type_string) &&
		   !json_object_get_string_len(v)))
		return cfg_fail(c, ERR_EMPTY_CHUNK, &f, NS_SETTINGS,
				"is empty (namespace %s)",
				ns ? ns : "(missing)");
	if (!json_object_is_type(v, json_type_string) &&
	    !json_object_is_type(v, json_type_object))
		return cfg_fail(c, ERR_JSON, &f, NS_SETTINGS,
				"%s is not a base64 string or a JSON object",
				cfg_val_text(v, vb));
	if (!ns)
		ns = "";
	if (!strcmp(ns, "Base"))
		return chunk_base(c, &f, seen_base);
	if (!strcmp(ns, "NetworkDevice") || !strcmp(ns, "NetworkAcceleration"))
		return cfg_warn_field(
			c, &f, NS_NAMESPACE,
			"is a network namespace, which blkxlate does not serve; ignored");
	return cfg_fail(
		c, ERR_NAMESPACE, &f, NS_NAMESPACE,
		"%s is not a supported namespace (Base, NetworkDevice or NetworkAcceleration)",
		cfg_val_text(f.val[NS_NAMESPACE], vb));
}

static int parse_namespaces(struct pctx *c, const struct fields *f)
{
	char path[ERROR_PATH_LEN], epath[ERROR_PATH_LEN];
	struct json_object *arr;
	bool seen_base = false;
	int ret;

	for (int i = B_VERSION; i < B_NR; i++)
		if (f->val[i])
			return cfg_fail(
				c, ERR_JSON, f, i,
				"cannot be mixed with namespace_settings (use a Base chunk)");
	ret = cfg_get_typed(c, f, T_NAMESPACE_SETTINGS, json_type_array, &arr);
	if (ret)
		return ret;
	cfg_field_path(f, T_NAMESPACE_SETTINGS, path);
	for (size_t i = 0; i < json_object_array_length(arr) && !ret; i++) {
		cfg_path_elem(epath, path, i);
		ret = parse_chunk(c, json_object_array_get_idx(arr, i), epath,
				  &seen_base);
	}
	return ret;
}

int cfg_parse_root(struct pctx *c, struct json_object *root)
{
	struct fields f;
	int ret;

	cfg_fields_init(&f, top_names, T_NR, "");
	ret = cfg_collect(c, root, &f);
	if (ret)
		return ret;
	if (f.val[T_NAMESPACE_SETTINGS])
		return parse_namespaces(c, &f);
	/* {} is an empty document; anything of the Base form needs V1. */
	if (f.val[B_VERSION] || f.val[B_FIXED] || f.val[B_DYNAMIC])
		return parse_base(c, &f);
	return 0;
}
