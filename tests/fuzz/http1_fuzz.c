/* SPDX-License-Identifier: MIT */
/* libFuzzer: HTTP/1.x streams (runtime/http/http1.c) cut anywhere, both directions. */
#include "fuzz_feed.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_feed(data, size, NULL, 64);
	return 0;
}
