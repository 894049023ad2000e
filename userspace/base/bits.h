/* SPDX-License-Identifier: MIT */
/* bits: powers of two, the one copy. */
#ifndef BLKXLATE_BASE_BITS_H
#define BLKXLATE_BASE_BITS_H

#include <stdbool.h>
#include <stdint.h>

static inline bool is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

/* floor(log2(v)); 0 for v <= 1 */
static inline unsigned int ilog2_u64(uint64_t v)
{
	unsigned int r = 0;

	while (v >>= 1)
		r++;
	return r;
}

#endif /* BLKXLATE_BASE_BITS_H */
