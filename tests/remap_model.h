/* SPDX-License-Identifier: MIT */
/*
 * The naive model of the stripe layout that the remap tests and the remap
 * fuzzer check include/blkxlate/remap.h against: where one sector lives,
 * straight from the layout's definition (chunk c on member c mod n at
 * (c / n) * chunk).
 */
#ifndef BLKXLATE_TEST_REMAP_MODEL_H
#define BLKXLATE_TEST_REMAP_MODEL_H

#include <stdint.h>

#include <blkxlate/abi.h>

static inline void naive(const struct blkx_disk *d, uint64_t s,
			 uint32_t *member, uint64_t *msector)
{
	uint64_t chunk;

	if (d->nr_members == 1) {
		*member = 0;
		*msector = s;
		return;
	}
	chunk = s / d->chunk_sectors;
	*member = (uint32_t)(chunk % d->nr_members);
	*msector = (chunk / d->nr_members) * d->chunk_sectors +
		   s % d->chunk_sectors;
}

#endif /* BLKXLATE_TEST_REMAP_MODEL_H */
