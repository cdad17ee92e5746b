/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "tls_records.h"

/* SHA-256 of "HelloRetryRequest": the random of a HelloRetryRequest (RFC 8446 section 4.1.3). */
static const uint8_t hello_retry_random[32] = {
	0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
	0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
};

int ps_tls_bytes_append(struct ps_tls_bytes *b, const uint8_t *data, size_t len)
{
	if (!len)
		return 0;
	if (b->len + len > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		uint8_t *grown;

		while (cap < b->len + len)
			cap *= 2;
		grown = realloc(b->data, cap);
		if (!grown)
			return -ENOMEM;
		b->data = grown;
		b->cap = cap;
	}
	memcpy(b->data + b->len, data, len);
	b->len += len;
	return 0;
}

static void bytes_consume(struct ps_tls_bytes *b, size_t n)
{
	if (!n)
		return;
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
}

void ps_tls_bytes_free(struct ps_tls_bytes *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

void ps_tls_framer_free(struct ps_tls_framer *f)
{
	ps_tls_bytes_free(&f->pending);
}

bool ps_tls_header_plausible(const uint8_t *h)
{
	size_t len = (size_t)h[3] << 8 | h[4];

	return h[0] >= PS_TLS_CHANGE_CIPHER_SPEC && h[0] <= PS_TLS_APPLICATION_DATA && h[1] == 3 && h[2] <= 4 &&
	       len > 0 && len <= PS_TLS_FRAGMENT_MAX;
}

/* While lost: drops bytes up to the first plausible header, counting them. */
static void find_boundary(struct ps_tls_framer *f)
{
	size_t i = 0;

	while (i + PS_TLS_HEADER_LEN <= f->pending.len && !ps_tls_header_plausible(f->pending.data + i))
		i++;
	if (i + PS_TLS_HEADER_LEN <= f->pending.len)
		f->lost = false;
	else if (f->pending.len >= PS_TLS_HEADER_LEN)
		i = f->pending.len - (PS_TLS_HEADER_LEN - 1); /* a header may start in the last 4 bytes */
	f->skipped += i;
	bytes_consume(&f->pending, i);
}

/*
 * Whole records from data itself, while not lost: returns the bytes taken.
 * A record cut by the end of data, and all of data once a header is not
 * plausible, are left to the buffered path.
 */
static size_t records_in_place(const uint8_t *data, size_t len, ps_tls_record_fn on_record, void *arg)
{
	size_t at = 0;

	while (len - at >= PS_TLS_HEADER_LEN) {
		const uint8_t *h = data + at;
		size_t frag_len = (size_t)h[3] << 8 | h[4];

		if (!ps_tls_header_plausible(h) || len - at < PS_TLS_HEADER_LEN + frag_len)
			break;
		on_record(arg, &(struct ps_tls_record){ .type = h[0], .version = (uint16_t)(h[1] << 8 | h[2]),
							.fragment = h + PS_TLS_HEADER_LEN, .len = frag_len });
		at += PS_TLS_HEADER_LEN + frag_len;
	}
	return at;
}

/* The bytes that complete the buffered record (or its header), at most len. */
static size_t completing_bytes(const struct ps_tls_framer *f, size_t len)
{
	size_t want = PS_TLS_HEADER_LEN;

	if (f->pending.len >= PS_TLS_HEADER_LEN && ps_tls_header_plausible(f->pending.data))
		want += (size_t)f->pending.data[3] << 8 | f->pending.data[4];
	want = want > f->pending.len ? want - f->pending.len : 0;
	return want < len ? want : len;
}

/*
 * data appended to the buffered bytes, and the whole records there read: a
 * record cut between deliveries, or a boundary looked for while lost.
 */
static int records_buffered(struct ps_tls_framer *f, const uint8_t *data, size_t len, ps_tls_record_fn on_record,
			    void *arg)
{
	size_t at = 0;

	if (ps_tls_bytes_append(&f->pending, data, len))
		return -ENOMEM;
	for (;;) {
		const uint8_t *h;
		size_t frag_len;

		if (f->lost)
			find_boundary(f);
		if (f->lost || f->pending.len - at < PS_TLS_HEADER_LEN)
			break;
		h = f->pending.data + at;
		if (!ps_tls_header_plausible(h)) {
			bytes_consume(&f->pending, at);
			at = 0;
			f->lost = true;
			continue;
		}
		frag_len = (size_t)h[3] << 8 | h[4];
		if (f->pending.len - at < PS_TLS_HEADER_LEN + frag_len)
			break;
		on_record(arg, &(struct ps_tls_record){ .type = h[0], .version = (uint16_t)(h[1] << 8 | h[2]),
							.fragment = h + PS_TLS_HEADER_LEN, .len = frag_len });
		at += PS_TLS_HEADER_LEN + frag_len;
	}
	if (at)
		bytes_consume(&f->pending, at);
	return 0;
}

/*
 * Most stream bytes are whole records in one delivery: they are read where
 * they are, and only a record cut between deliveries is copied (wire mode
 * would otherwise copy every byte it reads once more).
 */
int ps_tls_framer_push(struct ps_tls_framer *f, const uint8_t *data, size_t len, ps_tls_record_fn on_record, void *arg)
{
	size_t n;
	int err;

	while (!f->lost && f->pending.len && len) {
		/* finish the buffered record first: the records after it start in data */
		n = completing_bytes(f, len);
		if (!n)
			break;      /* an implausible header buffered: the buffered path finds the next one */
		err = records_buffered(f, data, n, on_record, arg);
		if (err)
			return err;
		data += n;
		len -= n;
	}
	if (!f->lost && !f->pending.len) {
		n = records_in_place(data, len, on_record, arg);
		data += n;
		len -= n;
	}
	return len ? records_buffered(f, data, len, on_record, arg) : 0;
}

void ps_tls_framer_gap(struct ps_tls_framer *f)
{
	f->skipped += f->pending.len;
	f->pending.len = 0;
	f->lost = true;
}

int ps_tls_handshake_push(struct ps_tls_bytes *buf, const uint8_t *data, size_t len, ps_tls_handshake_fn on_msg,
			  void *arg)
{
	size_t at = 0;

	if (ps_tls_bytes_append(buf, data, len))
		return -ENOMEM;
	while (buf->len - at >= 4) {
		const uint8_t *m = buf->data + at;
		size_t body_len = (size_t)m[1] << 16 | (size_t)m[2] << 8 | m[3];

		if (body_len > PS_TLS_HANDSHAKE_MAX) {
			buf->len = 0;
			return -EMSGSIZE;
		}
		if (buf->len - at < 4 + body_len)
			break;
		on_msg(arg, &(struct ps_tls_handshake_msg){ .type = m[0], .body = m + 4, .len = body_len });
		at += 4 + body_len;
	}
	if (at)
		bytes_consume(buf, at);
	return 0;
}

/* A bounds-checked reader over a message body. */
struct reader {
	const uint8_t *p;
	size_t left;
	bool bad;
};

static const uint8_t *take(struct reader *r, size_t n)
{
	const uint8_t *at = r->p;

	if (r->bad || r->left < n) {
		r->bad = true;
		return NULL;
	}
	r->p += n;
	r->left -= n;
	return at;
}

static size_t take_uint(struct reader *r, size_t bytes)
{
	const uint8_t *p = take(r, bytes);
	size_t v = 0;

	for (size_t i = 0; p && i < bytes; i++)
		v = v << 8 | p[i];
	return v;
}

/* Skips an opaque vector with a length of len_bytes bytes. */
static void skip_vector(struct reader *r, size_t len_bytes)
{
	take(r, take_uint(r, len_bytes));
}

int ps_tls_parse_client_hello(const uint8_t *body, size_t len, struct ps_tls_hello *out)
{
	struct reader r = { .p = body, .left = len };
	const uint8_t *random;

	memset(out, 0, sizeof(*out));
	out->version = (uint16_t)take_uint(&r, 2);
	random = take(&r, 32);
	if (r.bad)
		return -EINVAL;
	memcpy(out->random, random, 32);
	skip_vector(&r, 1);         /* legacy_session_id */
	skip_vector(&r, 2);         /* cipher_suites */
	skip_vector(&r, 1);         /* legacy_compression_methods */
	if (!r.bad && r.left >= 2) {
		size_t total = take_uint(&r, 2);
		struct reader ext = { .p = take(&r, total), .left = total, .bad = r.bad };

		while (!ext.bad && ext.left >= 4) {
			size_t type = take_uint(&ext, 2);

			take(&ext, take_uint(&ext, 2));
			out->early_data |= type == 42 && !ext.bad;
		}
	}
	return 0;
}

/* ServerHello's extensions: supported_versions (43) and encrypt_then_mac (22). */
static void read_server_extensions(struct reader *r, struct ps_tls_hello *out)
{
	size_t total = take_uint(r, 2);
	struct reader ext = { .p = take(r, total), .left = total, .bad = r->bad };

	while (!ext.bad && ext.left >= 4) {
		size_t type = take_uint(&ext, 2), len = take_uint(&ext, 2);
		struct reader data = { .p = take(&ext, len), .left = len, .bad = ext.bad };

		if (type == 43 && len == 2)
			out->version = (uint16_t)take_uint(&data, 2);
		else if (type == 22)
			out->encrypt_then_mac = true;
	}
}

int ps_tls_parse_server_hello(const uint8_t *body, size_t len, struct ps_tls_hello *out)
{
	struct reader r = { .p = body, .left = len };
	const uint8_t *random;

	memset(out, 0, sizeof(*out));
	out->version = (uint16_t)take_uint(&r, 2);
	random = take(&r, 32);
	skip_vector(&r, 1);         /* legacy_session_id_echo */
	out->cipher = (uint16_t)take_uint(&r, 2);
	take(&r, 1);                /* legacy_compression_method */
	if (r.bad)
		return -EINVAL;
	memcpy(out->random, random, 32);
	out->retry_request = memcmp(random, hello_retry_random, 32) == 0;
	if (r.left)                 /* a TLS 1.0 ServerHello may end here */
		read_server_extensions(&r, out);
	return 0;
}

int ps_tls_parse_encrypted_extensions(const uint8_t *body, size_t len, bool *early_data_accepted)
{
	struct reader r = { .p = body, .left = len };
	size_t total = take_uint(&r, 2);
	struct reader ext = { .p = take(&r, total), .left = total, .bad = r.bad };

	*early_data_accepted = false;
	while (!ext.bad && ext.left >= 4) {
		size_t type = take_uint(&ext, 2);

		take(&ext, take_uint(&ext, 2));
		*early_data_accepted |= type == 42 && !ext.bad;
	}
	return r.bad || ext.bad ? -EINVAL : 0;
}
