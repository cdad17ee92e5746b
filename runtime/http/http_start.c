/* SPDX-License-Identifier: MIT */
/*
 * What a run of bytes begins, by the parsers' own detection (http1.c,
 * http2.c): for consumers that label records without parsing them, such as
 * the eCaptureQ stream's Event.type.
 */
#include <string.h>
#include "http.h"
#include "http_internal.h"

/* RFC 9113 section 3.4: the client's connection preface. */
static const char h2_preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

enum ps_http_start ps_http_start_of(const uint8_t *data, size_t len)
{
	size_t n = len < sizeof(h2_preface) - 1 ? len : sizeof(h2_preface) - 1;

	if (len >= 4 && memcmp(data, h2_preface, n) == 0)
		return PS_HTTP_START_H2_PREFACE;
	if (len >= 5 && http1_looks_like(data, len))
		return memcmp(data, "HTTP/", 5) == 0 ? PS_HTTP_START_H1_RESPONSE : PS_HTTP_START_H1_REQUEST;
	if (h2_looks_like(data, len))
		return PS_HTTP_START_H2_FRAMES;
	return PS_HTTP_START_NONE;
}
