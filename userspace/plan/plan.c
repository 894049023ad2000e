// SPDX-License-Identifier: MIT
/*
 * plan: resolve and probe every member once, check the geometry once.
 * Rules follow OpenHCL's striped disk: members of a stripe must agree on
 * sector size, size and read-only flag (unequal sizes are refused, not
 * truncated); the chunk is a non-zero multiple of the sector size; each
 * member is rounded down to whole chunks.
 */
#include "base/bits.h"
#include "plan/plan.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define DEFAULT_MAX_IO_BYTES (512u * 1024)

static void pad_copy(char *dst, size_t width, const char *src)
{
	size_t n = strlen(src);

	memset(dst, ' ', width);
	memcpy(dst, src, n < width ? n : width);
	dst[width] = '\0';
}

const char *plan_fmt_size(uint64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = {"B",   "KiB", "MiB",
					    "GiB", "TiB", "PiB"};
	unsigned int u = 0;
	uint64_t whole = bytes;

	while (whole >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		whole /= 1024;
		u++;
	}
	if (u == 0 || bytes % (1ULL << (10 * u)) == 0)
		snprintf(buf, len, "%" PRIu64 " %s", whole, units[u]);
	else
		snprintf(buf, len, "%.1f %s",
			 (double)bytes / (double)(1ULL << (10 * u)), units[u]);
	return buf;
}

/* The facts of one member (devices/ gathers them) judged by our rules. */
static int plan_member(const struct resolve_ctx *rc, unsigned int flags,
		       const struct settings_device *sd, struct plan_member *pm,
		       struct error_obj *err)
{
	char fpath[ERROR_PATH_LEN + 16];
	int ret;

	snprintf(fpath, sizeof(fpath), "%s.device_path", sd->path);
	pm->src = sd;
	ret = device_probe(rc, sd,
			   flags & PLAN_SKIP_BUSY_CHECK ? DEVICE_SKIP_BUSY_CHECK
							: 0,
			   &pm->dev, err);
	if (ret)
		return ret;

	if (pm->dev.logical_block_size != 512 &&
	    pm->dev.logical_block_size != 4096) {
		error_set(
			err, "StorageInvalidSectorSize", fpath,
			"backing %s has %u-byte sectors; blkxlate serves 512- and 4096-byte sectors only",
			pm->dev.dev_path, pm->dev.logical_block_size);
		return -EINVAL;
	}
	if (pm->dev.physical_block_size < pm->dev.logical_block_size)
		pm->dev.physical_block_size = pm->dev.logical_block_size;
	if (pm->dev.size_bytes < pm->dev.logical_block_size ||
	    pm->dev.size_bytes % pm->dev.logical_block_size) {
		error_set(
			err, "StorageInvalidDiskSize", fpath,
			"backing %s is %" PRIu64
			" bytes: the size must be a non-zero multiple of its %u-byte sector",
			pm->dev.dev_path, pm->dev.size_bytes,
			pm->dev.logical_block_size);
		return -EINVAL;
	}
	pm->m.backing = sd->type;
	pm->m.dev_major = pm->dev.is_file ? 0 : pm->dev.major;
	pm->m.dev_minor = pm->dev.is_file ? 0 : pm->dev.minor;
	snprintf(pm->m.device, sizeof(pm->m.device), "%s", pm->dev.dev_path);
	return 0;
}

/* Stripe rules: every member like member 0. */
static int check_stripe_members(const struct plan_disk *d,
				struct error_obj *err)
{
	const struct plan_member *m0 = &d->members[0];

	for (size_t i = 1; i < d->nr_members; i++) {
		const struct plan_member *mi = &d->members[i];
		char fpath[ERROR_PATH_LEN + 16];

		snprintf(fpath, sizeof(fpath), "%s.device_path", mi->src->path);
		if (mi->dev.logical_block_size != m0->dev.logical_block_size) {
			error_set(
				err, "StorageStripeSectorSizeMismatch", fpath,
				"striped members must have equal sector sizes: %s has %u-byte sectors, %s has %u",
				mi->dev.dev_path, mi->dev.logical_block_size,
				m0->dev.dev_path, m0->dev.logical_block_size);
			return -EINVAL;
		}
		if (mi->dev.size_bytes != m0->dev.size_bytes) {
			error_set(
				err, "StorageStripeSizeMismatch", fpath,
				"striped members must have equal sizes: %s is %" PRIu64
				" bytes, %s is %" PRIu64 " bytes",
				mi->dev.dev_path, mi->dev.size_bytes,
				m0->dev.dev_path, m0->dev.size_bytes);
			return -EINVAL;
		}
		if (mi->dev.read_only != m0->dev.read_only) {
			error_set(
				err, "StorageStripeReadOnlyMismatch", fpath,
				"striped members must all be read-only or all writable: %s is %s, %s is %s",
				mi->dev.dev_path,
				mi->dev.read_only ? "read-only" : "writable",
				m0->dev.dev_path,
				m0->dev.read_only ? "read-only" : "writable");
			return -EINVAL;
		}
	}
	return 0;
}

static int plan_geometry(struct plan_disk *d, struct error_obj *err)
{
	const struct settings_lun *l = d->lun;
	const struct plan_member *m0 = &d->members[0];
	uint64_t member_bytes = m0->dev.size_bytes;
	char fpath[ERROR_PATH_LEN + 32];
	int ret;

	d->lbs = m0->dev.logical_block_size;
	if (d->ctrl->protocol == SETTINGS_PROTO_IDE && d->lbs != 512) {
		snprintf(fpath, sizeof(fpath), "%s.device_path", m0->src->path);
		error_set(
			err, "StorageInvalidSectorSize", fpath,
			"IDE disks have 512-byte sectors, but %s has %u-byte sectors",
			m0->dev.dev_path, d->lbs);
		return -EINVAL;
	}
	if (l->striped) {
		uint64_t chunk = l->chunk_size_in_kb.val * 1024;

		ret = check_stripe_members(d, err);
		if (ret)
			return ret;
		snprintf(fpath, sizeof(fpath), "%s.chunk_size_in_kb", l->path);
		if (!chunk || chunk % d->lbs || chunk > UINT32_MAX / 2) {
			error_set(
				err, "StorageInvalidChunkSize", fpath,
				"chunk_size_in_kb %" PRIu64
				" must be a non-zero multiple of the %u-byte sector size (and below 2 GiB)",
				l->chunk_size_in_kb.val, d->lbs);
			return -EINVAL;
		}
		member_bytes -= member_bytes % chunk;
		if (!member_bytes) {
			error_set(err, "StorageInvalidChunkSize", fpath,
				  "chunk_size_in_kb %" PRIu64
				  " is larger than the members (%" PRIu64
				  " bytes each)",
				  l->chunk_size_in_kb.val, m0->dev.size_bytes);
			return -EINVAL;
		}
		d->chunk_bytes = (uint32_t)chunk;
		d->geo.chunk_sectors = (uint32_t)(chunk / BLKX_SECTOR_SIZE);
		d->geo.flags |= BLKX_DISK_STRIPED;
	}
	d->geo.nr_members = (uint32_t)d->nr_members;
	d->geo.member_sectors = member_bytes / BLKX_SECTOR_SIZE;
	d->size_bytes = member_bytes * d->nr_members;

	if (l->scsi_disk_size_in_bytes.has) {
		uint64_t want = l->scsi_disk_size_in_bytes.val;

		snprintf(fpath, sizeof(fpath), "%s.scsi_disk_size_in_bytes",
			 l->path);
		if (want > d->size_bytes || want % d->lbs || !want) {
			error_set(
				err, "StorageInvalidDiskSize", fpath,
				"scsi_disk_size_in_bytes %" PRIu64
				" must be a non-zero multiple of the %u-byte sector size and at most the backing's %" PRIu64
				" bytes",
				want, d->lbs, d->size_bytes);
			return -EINVAL;
		}
		d->size_bytes = want;
	}
	d->geo.size_sectors = d->size_bytes / BLKX_SECTOR_SIZE;
	d->geo.lbs_shift = ilog2_u64(d->lbs);
	return 0;
}

/* Limits and cache/FUA/discard flags every member allows. */
static int plan_limits(struct plan_disk *d, struct error_obj *err)
{
	const struct settings_lun *l = d->lun;
	char fpath[ERROR_PATH_LEN + 32];
	uint32_t max_io = DEFAULT_MAX_IO_BYTES;
	bool all_fua = true, any_cache = false, all_discard = true;
	uint64_t discard_max = UINT64_MAX, wz_max = UINT64_MAX;

	d->pbs = d->lbs;
	for (size_t i = 0; i < d->nr_members; i++) {
		const struct resolved_dev *rd = &d->members[i].dev;

		if (rd->physical_block_size > d->pbs)
			d->pbs = rd->physical_block_size;
		if (rd->max_hw_sectors_kb &&
		    rd->max_hw_sectors_kb * 1024u < max_io)
			max_io = rd->max_hw_sectors_kb * 1024u;
		all_fua = all_fua && rd->fua;
		any_cache = any_cache || rd->volatile_cache;
		all_discard = all_discard && rd->discard_max_bytes;
		if (rd->discard_max_bytes < discard_max)
			discard_max = rd->discard_max_bytes;
		if (rd->write_zeroes_max_bytes < wz_max)
			wz_max = rd->write_zeroes_max_bytes;
		d->rotational = d->rotational || rd->rotational;
		d->read_only = d->read_only || rd->read_only;
	}
	if (l->physical_sector_size.has) {
		snprintf(fpath, sizeof(fpath), "%s.physical_sector_size",
			 l->path);
		if (l->physical_sector_size.val < d->lbs) {
			error_set(
				err, "StorageInvalidPhysicalSectorSize", fpath,
				"physical_sector_size %" PRIu64
				" is smaller than the %u-byte logical sector of the backing",
				l->physical_sector_size.val, d->lbs);
			return -EINVAL;
		}
		d->pbs = (uint32_t)l->physical_sector_size.val;
	}
	if (!is_pow2(d->pbs) || d->pbs > 65536)
		d->pbs = d->lbs;
	if (l->max_transfer_length.has && l->max_transfer_length.val < max_io)
		max_io = (uint32_t)l->max_transfer_length.val;
	max_io -= max_io % d->lbs;
	d->max_io_bytes = max_io;
	d->geo.pbs_shift = ilog2_u64(d->pbs);

	d->fua = l->fua.has ? l->fua.val : all_fua;
	d->write_cache = l->write_cache.has ? l->write_cache.val : any_cache;
	d->discard = all_discard && !(l->disable_thin_provisioning.has &&
				      l->disable_thin_provisioning.val);
	d->discard_max_bytes = d->discard ? discard_max : 0;
	d->write_zeroes_max_bytes = wz_max == UINT64_MAX ? 0 : wz_max;
	if (l->is_dvd)
		d->read_only = true;
	if (d->fua)
		d->geo.flags |= BLKX_DISK_FUA;
	if (d->write_cache)
		d->geo.flags |= BLKX_DISK_WRITE_CACHE;
	if (d->discard)
		d->geo.flags |= BLKX_DISK_DISCARD;
	if (d->read_only)
		d->geo.flags |= BLKX_DISK_READ_ONLY;
	return 0;
}

void plan_lun_identity(const struct settings_lun *l, char vendor[9],
		       char product[17], char revision[5])
{
	pad_copy(vendor, 8, l->vendor_id[0] ? l->vendor_id : "Msft");
	pad_copy(product, 16,
		 l->product_id[0] ? l->product_id : "Virtual Disk");
	pad_copy(revision, 4,
		 l->product_revision_level[0] ? l->product_revision_level
					      : "1.0");
}

static void plan_identity(struct plan_disk *d)
{
	const struct settings_lun *l = d->lun;

	plan_lun_identity(l, d->vendor_id, d->product_id, d->revision);
	if (l->has_device_id)
		guid_format(&l->device_id, d->device_id);
	else
		d->device_id[0] = '\0';
}

/* Two members on the same storage whose byte ranges meet. */
static int check_overlaps(const struct plan *p, const struct plan_disk *d,
			  size_t upto, struct error_obj *err)
{
	const struct plan_member *pm = &d->members[upto];

	for (size_t i = 0; i <= (size_t)(d - p->disks); i++) {
		const struct plan_disk *o = &p->disks[i];
		size_t n = o == d ? upto : o->nr_members;

		for (size_t j = 0; j < n; j++) {
			const struct plan_member *om = &o->members[j];
			char fpath[ERROR_PATH_LEN + 16];

			if (om->dev.store_dev != pm->dev.store_dev ||
			    om->dev.store_ino != pm->dev.store_ino ||
			    om->dev.store_end <= pm->dev.store_start ||
			    pm->dev.store_end <= om->dev.store_start)
				continue;
			snprintf(fpath, sizeof(fpath), "%s.device_path",
				 pm->src->path);
			error_set(
				err, "StorageBackingDuplicated", fpath,
				"backing %s overlaps %s, already used by %s: a backing can serve one LUN once",
				pm->dev.dev_path, om->dev.dev_path,
				om->src->path);
			return -EINVAL;
		}
	}
	return 0;
}

static int plan_disk_build(struct plan *p, struct plan_disk *d,
			   const struct resolve_ctx *rc, unsigned int flags,
			   struct error_obj *err)
{
	const struct settings_lun *l = d->lun;
	int ret;

	snprintf(d->key.controller, sizeof(d->key.controller), "%s",
		 d->ctrl->instance_id_str);
	d->key.location = l->location;
	d->key.channel = l->has_channel ? l->channel : 0;
	d->geo.protocol = d->ctrl->protocol;
	d->geo.location = l->location;
	d->nr_members = l->nr_devices;
	d->members = calloc(d->nr_members, sizeof(*d->members));
	if (!d->members)
		return -ENOMEM;
	for (size_t i = 0; i < d->nr_members; i++) {
		ret = plan_member(rc, flags, &l->devices[i], &d->members[i],
				  err);
		if (ret)
			return ret;
		ret = check_overlaps(p, d, i, err);
		if (ret)
			return ret;
	}
	ret = plan_geometry(d, err);
	if (!ret)
		ret = plan_limits(d, err);
	if (ret)
		return ret;
	plan_identity(d);
	for (size_t i = 0; i < d->nr_members; i++) {
		struct blkx_member *m = &d->members[i].m;

		m->index = (uint32_t)i;
		m->offset_sectors = 0;
		m->size_sectors = d->geo.member_sectors;
	}
	return 0;
}

int plan_build(const struct settings *s, const struct resolve_ctx *rc,
	       unsigned int flags, struct plan *out, struct error_obj *err)
{
	struct plan p = {0};
	size_t total = 0;
	int ret = 0;

	for (size_t c = 0; c < s->nr_controllers; c++)
		total += s->controllers[c].nr_luns;
	if (total > BLKX_MAX_DISKS) {
		error_set(err, "StorageTooManyDisks",
			  "dynamic.storage_controllers",
			  "%zu LUNs exceed the limit of %d", total,
			  BLKX_MAX_DISKS);
		return -E2BIG;
	}
	p.disks = calloc(total ? total : 1, sizeof(*p.disks));
	if (!p.disks)
		return -ENOMEM;
	for (size_t c = 0; c < s->nr_controllers && !ret; c++) {
		const struct settings_controller *ctrl = &s->controllers[c];

		for (size_t i = 0; i < ctrl->nr_luns && !ret; i++) {
			struct plan_disk *d = &p.disks[p.nr_disks++];

			d->ctrl = ctrl;
			d->lun = &ctrl->luns[i];
			d->geo.first_member = (uint32_t)p.nr_members;
			ret = plan_disk_build(&p, d, rc, flags, err);
			if (!ret &&
			    p.nr_members + d->nr_members > BLKX_MAX_MEMBERS) {
				error_set(err, "StorageTooManyDisks",
					  d->lun->path,
					  "more than %d backing members in all",
					  BLKX_MAX_MEMBERS);
				ret = -E2BIG;
			}
			if (!ret) {
				for (size_t m = 0; m < d->nr_members; m++)
					d->members[m].m.disk =
						(uint32_t)(p.nr_disks - 1);
				p.nr_members += d->nr_members;
			}
		}
	}
	if (ret) {
		plan_fini(&p);
		return ret;
	}
	*out = p;
	return 0;
}

void plan_fini(struct plan *p)
{
	if (!p->disks)
		return;
	for (size_t i = 0; i < p->nr_disks; i++)
		free(p->disks[i].members);
	free(p->disks);
	memset(p, 0, sizeof(*p));
}

const struct plan_disk *plan_find(const struct plan *p, const char *controller,
				  uint32_t location, uint32_t channel)
{
	for (size_t i = 0; i < p->nr_disks; i++) {
		const struct plan_disk *d = &p->disks[i];

		if (!strcasecmp(d->key.controller, controller) &&
		    d->key.location == location && d->key.channel == channel)
			return d;
	}
	return NULL;
}

void plan_place_disk(struct plan_disk *pd, uint32_t di, uint32_t mi)
{
	pd->geo.first_member = mi;
	for (size_t j = 0; j < pd->nr_members; j++) {
		pd->members[j].m.disk = di;
		pd->members[j].m.index = (uint32_t)j;
	}
}
