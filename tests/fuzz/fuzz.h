/* SPDX-License-Identifier: MIT */
/*
 * What both libFuzzer targets share.  Each target is one translation unit
 * that includes this header once, so it also holds their
 * LLVMFuzzerInitialize(): strict mode, on unless BLKX_FUZZ_STRICT=0, which
 * turns off the checks of the findings in tests/fuzz/README.md.
 */
#ifndef BLKX_TESTS_FUZZ_H
#define BLKX_TESTS_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken invariant: a crash, so that libFuzzer keeps the input. */
#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond))                                                   \
			__builtin_trap();                                      \
	} while (0)

static bool strict;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *e = getenv("BLKX_FUZZ_STRICT");

	(void)argc;
	(void)argv;
	strict = !e || strcmp(e, "0"); /* BLKX_FUZZ_STRICT=0: the old rules */
	return 0;
}

#endif
