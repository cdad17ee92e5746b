/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer: HTTP/2 frames (runtime/http/http2.c), HPACK through nghttp2 and
 * hpack_lost.c, gRPC bodies: the client's direction begins with the preface,
 * so every input is taken for HTTP/2.
 */
#include "fuzz_feed.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_feed(data, size, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 0);
	return 0;
}
