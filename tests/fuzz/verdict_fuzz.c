/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer: a library-verdicts cache entry (runtime/target/verdict_format.c)
 * of any bytes. The input is decoded as it is, and once more behind a right
 * header (magic, digest, size), so that the body's own checks are what
 * stands between the bytes and the decoder. What decodes must encode back
 * to the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cache_file.h"
#include "verdict_format.h"

static void decode_and_reencode(const uint8_t *bytes, size_t size)
{
	struct ps_verdicts v;
	uint8_t *again;
	size_t again_size;

	if (ps_verdicts_decode(bytes, size, &v) != 0)
		return;
	if (ps_verdicts_encode(&v, &again, &again_size) != 0)
		abort();
	if (again_size != size || memcmp(again, bytes, size) != 0)
		abort();
	free(again);
	ps_verdicts_free(&v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *sealed = malloc(size + 24);
	uint64_t digest = ps_fnv1a(PS_FNV_OFFSET, data, size), body = size;

	if (!sealed)
		return 0;
	decode_and_reencode(data, size);
	memcpy(sealed, PS_VERDICTS_MAGIC, 8);
	memcpy(sealed + 8, &digest, 8);
	memcpy(sealed + 16, &body, 8);
	memcpy(sealed + 24, data, size);
	decode_and_reencode(sealed, size + 24);
	free(sealed);
	return 0;
}
