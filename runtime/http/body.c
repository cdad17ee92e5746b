/* SPDX-License-Identifier: MIT */
/*
 * Bodies: stored as they arrive (bounded), decoded once at the message's
 * end: Content-Encoding gzip and deflate through zlib (RFC 9110 8.4.1),
 * br through libbrotli (RFC 7932). The shown part stops at the limit; the
 * decoder runs on to count the whole length, up to DECODE_COUNT_MAX.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>
#include <brotli/decode.h>
#include "http_internal.h"

/* A decompression bomb stops being counted here: the total then says at least. */
#define DECODE_COUNT_MAX (1ull << 30)
#define SCRATCH 65536

void http_body_add(struct http_body *b, const uint8_t *data, size_t len)
{
	size_t room = b->raw.len < BODY_STORE_MAX ? BODY_STORE_MAX - b->raw.len : 0;
	size_t take = len < room ? len : room;

	b->received += len;
	http_buf_append(&b->raw, data, take);
}

/* Keeps the first `limit` bytes of what a decoder produces, counts all. */
struct sink {
	struct http_buf out;
	uint64_t limit, total;
};

static void sink_put(struct sink *s, const uint8_t *data, size_t len)
{
	uint64_t room = s->total < s->limit ? s->limit - s->total : 0;

	if (room)
		http_buf_append(&s->out, data, len < room ? len : (size_t)room);
	s->total += len;
}

/* windowBits: 15 + 16 gzip, 15 zlib, -15 raw deflate. 0 on success, else why not. */
static const char *zlib_decode(const uint8_t *in, size_t len, int window_bits, struct sink *s)
{
	uint8_t scratch[SCRATCH];
	z_stream z;
	int rc = Z_OK;

	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, window_bits) != Z_OK)
		return "zlib cannot start";
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)len;
	while (rc != Z_STREAM_END && s->total < DECODE_COUNT_MAX) {
		z.next_out = scratch;
		z.avail_out = sizeof(scratch);
		rc = inflate(&z, Z_NO_FLUSH);
		sink_put(s, scratch, sizeof(scratch) - z.avail_out);
		if (rc == Z_STREAM_END)
			break;
		if (rc != Z_OK || (z.avail_in == 0 && z.avail_out != 0)) {
			inflateEnd(&z);
			return rc == Z_OK || rc == Z_BUF_ERROR ? "compressed body ends early" : "compressed body is corrupt";
		}
	}
	inflateEnd(&z);
	return NULL;
}

static const char *brotli_decode(const uint8_t *in, size_t len, struct sink *s)
{
	BrotliDecoderState *st = BrotliDecoderCreateInstance(NULL, NULL, NULL);
	BrotliDecoderResult rc = BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT;
	const uint8_t *next_in = in;
	size_t avail_in = len;
	const char *err = NULL;

	if (!st)
		return "brotli cannot start";
	while (rc == BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT && s->total < DECODE_COUNT_MAX) {
		uint8_t scratch[SCRATCH], *next_out = scratch;
		size_t avail_out = sizeof(scratch);

		rc = BrotliDecoderDecompressStream(st, &avail_in, &next_in, &avail_out, &next_out, NULL);
		sink_put(s, scratch, sizeof(scratch) - avail_out);
	}
	if (rc == BROTLI_DECODER_RESULT_ERROR)
		err = "compressed body is corrupt";
	else if (rc == BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT)
		err = "compressed body ends early";
	BrotliDecoderDestroyInstance(st);
	return err;
}

static void show_as_sent(const struct http_body *b, uint64_t limit, struct http_body_view *view)
{
	view->data = b->raw.p;
	view->len = b->raw.len;
	view->total = b->received;
	if (limit && view->len > limit)
		view->len = (size_t)limit;
	view->truncated = b->received - view->len;
}

void http_body_decode(const struct http_body *b, const char *coding, uint64_t limit, struct http_body_view *view)
{
	struct sink s = { .limit = limit ? limit : UINT64_MAX };
	const char *err;

	memset(view, 0, sizeof(*view));
	if (!coding || !*coding || !strcasecmp(coding, "identity") || !b->received) {
		show_as_sent(b, limit, view);
		return;
	}
	if (b->received > b->raw.len) {
		view->error = "body longer than plainsight stores: shown as sent";
		show_as_sent(b, limit, view);
		return;
	}
	if (!strcasecmp(coding, "gzip") || !strcasecmp(coding, "x-gzip")) {
		err = zlib_decode(b->raw.p, b->raw.len, 15 + 16, &s);
	} else if (!strcasecmp(coding, "deflate")) {
		/* RFC 9110 says zlib format; some servers send raw deflate */
		err = zlib_decode(b->raw.p, b->raw.len, 15, &s);
		if (err) {
			http_buf_free(&s.out);
			s.total = 0;
			err = zlib_decode(b->raw.p, b->raw.len, -15, &s);
		}
	} else if (!strcasecmp(coding, "br")) {
		err = brotli_decode(b->raw.p, b->raw.len, &s);
	} else {
		view->error = "unknown content coding: shown as sent";
		show_as_sent(b, limit, view);
		return;
	}
	if (err) {
		http_buf_free(&s.out);
		view->error = err;
		show_as_sent(b, limit, view);
		return;
	}
	view->owned = s.out.p;
	view->data = s.out.p ? s.out.p : (const uint8_t *)"";
	view->len = s.out.len;
	view->total = s.total;
	view->truncated = s.total - s.out.len;
	view->coding = coding;
}

void http_body_view_free(struct http_body_view *view)
{
	free(view->owned);
	view->owned = NULL;
}

void http_body_view_to_message(const struct http_body_view *view, struct ps_http_message *msg)
{
	msg->body = view->data;
	msg->body_len = view->len;
	msg->body_total = view->total;
	msg->body_truncated = view->truncated;
	msg->content_encoding = view->coding;
	msg->decode_error = view->error;
}
