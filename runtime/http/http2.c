/* SPDX-License-Identifier: MIT */
/*
 * HTTP/2 (RFC 9113): the client's preface (3.4), then frames (4.1) in each
 * direction. HEADERS and PUSH_PROMISE with their CONTINUATIONs make one
 * header block, decoded by nghttp2's HPACK inflater (one per direction);
 * DATA fills the stream's body; END_STREAM ends one half of a stream, and
 * that half goes out as a message. RST_STREAM and GOAWAY go out as control
 * messages. A problem of one stream (bad padding, a block that does not
 * decode) is that stream's note; the others go on.
 *
 * A capture that starts mid-connection has no dynamic table: hpack_lost.c
 * rewrites each block so that a reference to an entry never seen becomes a
 * field marked lost, and nghttp2 decodes the rest.
 */
#include <stdlib.h>
#include <string.h>
#include <nghttp2/nghttp2.h>
#include "hpack_lost.h"
#include "http_internal.h"

#define PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define PREFACE_LEN 24
#define FRAME_HEADER 9
#define DEFAULT_MAX_FRAME 16384u
#define FRAME_LEN_MAX ((1u << 24) - 1)
/* One header block (HEADERS + CONTINUATIONs) past this is a stream error, not stored. */
#define HEADER_BLOCK_MAX (256u << 10)
/* Decoded header fields of one block past this are counted, not stored. */
#define HEADER_LIST_MAX (1u << 20)
/* Streams one connection keeps; the oldest goes out, cut short, past this. */
#define STREAMS_MAX 1024
/* nghttp2 checks a size update against this; the observer does not enforce SETTINGS. */
#define INFLATER_SETTINGS_MAX (1u << 30)

enum { F_DATA, F_HEADERS, F_PRIORITY, F_RST_STREAM, F_SETTINGS, F_PUSH_PROMISE, F_PING, F_GOAWAY,
       F_WINDOW_UPDATE, F_CONTINUATION };
#define FLAG_END_STREAM 0x1
#define FLAG_ACK 0x1
#define FLAG_END_HEADERS 0x4
#define FLAG_PADDED 0x8
#define FLAG_PRIORITY 0x20

struct h2_half {
	struct ps_http_headers headers, trailers;
	struct http_body body;
	bool headers_done, ended, emitted, push;
	uint64_t first_ns, last_ns;
	const char *note;
};

struct h2_stream {
	uint32_t id;
	struct h2_half half[2];     /* by the direction that sent it */
	struct h2_stream *next;
};

struct h2_dir {
	bool preface_checked;
	nghttp2_hd_inflater *inflater;
	uint32_t max_frame;         /* the other side's SETTINGS_MAX_FRAME_SIZE; 0: not seen */
	struct http_buf block;      /* the header block being gathered */
	bool in_block, block_too_big, block_end_stream, block_push;
	uint32_t block_stream, promised;
};

/* Streams closed lately: frames that still come for them (DATA after a reset) open nothing. */
#define CLOSED_RING 64

struct h2_conn {
	struct h2_dir dir[2];
	struct h2_stream *streams;  /* newest first */
	size_t n_streams;
	uint32_t closed[CLOSED_RING];
	unsigned closed_next;
};

static const char *const error_names[] = {
	"NO_ERROR", "PROTOCOL_ERROR", "INTERNAL_ERROR", "FLOW_CONTROL_ERROR", "SETTINGS_TIMEOUT",
	"STREAM_CLOSED", "FRAME_SIZE_ERROR", "REFUSED_STREAM", "CANCEL", "COMPRESSION_ERROR",
	"CONNECT_ERROR", "ENHANCE_YOUR_CALM", "INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED",
};

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/*
 * Mid-connection: the data is a whole number of plausible frames (known
 * type, reserved bit clear, sane length), at least one.
 */
bool h2_looks_like(const uint8_t *data, size_t len)
{
	size_t off = 0;
	int frames = 0;

	while (off + FRAME_HEADER <= len) {
		uint32_t flen = (uint32_t)data[off] << 16 | (uint32_t)data[off + 1] << 8 | data[off + 2];
		uint8_t type = data[off + 3];

		if (type > F_CONTINUATION || (data[off + 5] & 0x80) || flen > DEFAULT_MAX_FRAME * 4)
			return false;
		off += FRAME_HEADER + flen;
		frames++;
	}
	return frames > 0 && off == len;
}

static void half_clear(struct h2_half *h)
{
	http_headers_clear(&h->headers);
	http_headers_clear(&h->trailers);
	http_buf_free(&h->body.raw);
}

static void stream_free(struct h2_stream *s)
{
	half_clear(&s->half[0]);
	half_clear(&s->half[1]);
	free(s);
}

static struct h2_conn *conn_state(struct http_conn *c)
{
	if (!c->h2)
		c->h2 = calloc(1, sizeof(struct h2_conn));
	return c->h2;
}

static bool is_response(const struct h2_half *h)
{
	return http_headers_find(&h->headers, ":status") != NULL;
}

static const char *header_value(const struct ps_http_headers *hs, const char *name)
{
	const struct ps_http_header *h = http_headers_find(hs, name);

	return h ? h->value : NULL;
}

static void emit_half(struct ps_http_processor *p, struct http_conn *c, struct h2_stream *s, int d, const char *note)
{
	struct h2_half *h = &s->half[d], *other = &s->half[!d];
	const struct ps_http_headers *req = is_response(h) ? &other->headers : &h->headers;
	struct ps_grpc_message *grpc_messages = NULL;
	char *service = NULL, *method = NULL;
	const char *status;
	struct http_body_view view;
	struct ps_http_message msg;

	if (h->emitted || (!h->headers.n && !h->body.received && !h->headers_done))
		return;
	h->emitted = true;
	http_message_init(&msg, c, grpc_is(&h->headers) || grpc_is(&other->headers) ? PS_PROTO_GRPC : PS_PROTO_HTTP2);
	msg.kind = is_response(h) ? PS_MSG_RESPONSE : PS_MSG_REQUEST;
	msg.dir = (enum ps_http_dir)d;
	msg.method = header_value(req, ":method");
	msg.path = header_value(req, ":path");
	msg.authority = header_value(req, ":authority");
	status = header_value(&h->headers, ":status");
	msg.status = status ? atoi(status) : 0;
	msg.headers = &h->headers;
	msg.trailers = h->trailers.n ? &h->trailers : NULL;
	msg.stream_id = s->id;
	msg.push_promise = h->push;
	msg.first_ns = h->first_ns;
	msg.last_ns = h->last_ns;
	msg.note = note ? note : h->note;
	if (msg.proto == PS_PROTO_GRPC) {
		/* gRPC's messages carry their own compression (grpc-encoding), not the body's */
		http_body_decode(&h->body, NULL, 0, &view);
		http_body_view_to_message(&view, &msg);
		grpc_describe(&msg, req, &grpc_messages, &service, &method);
		/* the limit applies to what is shown, after the messages were read from the whole body */
		if (p->limits.body_max && msg.body_len > p->limits.body_max) {
			msg.body_truncated += msg.body_len - p->limits.body_max;
			msg.body_len = (size_t)p->limits.body_max;
		}
	} else {
		http_body_decode(&h->body, header_value(&h->headers, "content-encoding"), p->limits.body_max, &view);
		http_body_view_to_message(&view, &msg);
	}
	p->counters.truncated_bytes += msg.body_truncated;
	http_emit(p, c, &msg);
	grpc_messages_free(grpc_messages, msg.n_grpc_messages);
	free(service);
	free(method);
	http_body_view_free(&view);
	/* the request's fields stay for the response; the body does not */
	http_buf_free(&h->body.raw);
}

static bool recently_closed(const struct h2_conn *hc, uint32_t id)
{
	for (unsigned i = 0; i < CLOSED_RING; i++)
		if (hc->closed[i] == id)
			return true;
	return false;
}

static void stream_remove(struct h2_conn *hc, struct h2_stream *s)
{
	hc->closed[hc->closed_next++ % CLOSED_RING] = s->id;
	for (struct h2_stream **pp = &hc->streams; *pp; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			hc->n_streams--;
			stream_free(s);
			return;
		}
	}
}

static void maybe_done(struct h2_conn *hc, struct h2_stream *s)
{
	if (s->half[0].ended && s->half[1].ended)
		stream_remove(hc, s);
}

static struct h2_stream *stream_get(struct ps_http_processor *p, struct http_conn *c, struct h2_conn *hc, uint32_t id)
{
	struct h2_stream *s, *oldest = NULL;

	for (s = hc->streams; s; s = s->next)
		if (s->id == id)
			return s;
	if (hc->n_streams >= STREAMS_MAX) {
		for (s = hc->streams; s; s = s->next)
			oldest = s;
		emit_half(p, c, oldest, 0, "stream dropped: too many open streams");
		emit_half(p, c, oldest, 1, "stream dropped: too many open streams");
		p->counters.evicted++;
		stream_remove(hc, oldest);
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->id = id;
	s->next = hc->streams;
	hc->streams = s;
	hc->n_streams++;
	return s;
}

static nghttp2_hd_inflater *inflater(struct h2_dir *hd)
{
	if (!hd->inflater && nghttp2_hd_inflate_new(&hd->inflater) == 0)
		nghttp2_hd_inflate_change_table_size(hd->inflater, INFLATER_SETTINGS_MAX);
	return hd->inflater;
}

/* The block would not decode: the table is unknown from here on, as at a mid-connection start. */
static void inflater_reset(struct h2_dir *hd)
{
	if (hd->inflater)
		nghttp2_hd_inflate_del(hd->inflater);
	hd->inflater = NULL;
}

/* Decodes one header block into out; NULL or why not. */
static const char *decode_block(struct ps_http_processor *p, struct h2_dir *hd, const uint8_t *block, size_t len,
				struct ps_http_headers *out)
{
	nghttp2_hd_inflater *inf = inflater(hd);
	struct hpack_lost_plan plan;
	const uint8_t *in;
	size_t inlen, rep = 0, stored = 0;
	const char *why = NULL;

	if (!inf)
		return "out of memory";
	if (hpack_lost_rewrite(block, len, nghttp2_hd_inflate_get_num_table_entries(inf), &plan) != 0) {
		inflater_reset(hd);
		return "a header block that is not HPACK";
	}
	in = plan.block;
	inlen = plan.block_len;
	for (;;) {
		nghttp2_nv nv;
		int flags = 0;
		ssize_t rv = nghttp2_hd_inflate_hd2(inf, &nv, &flags, in, inlen, 1);

		if (rv < 0) {
			inflater_reset(hd);
			why = "a header block nghttp2 cannot decode";
			break;
		}
		in += rv;
		inlen -= (size_t)rv;
		if (flags & NGHTTP2_HD_INFLATE_EMIT) {
			while (rep < plan.n_marks && plan.marks[rep] == HPACK_MARK_DROPPED) {
				p->counters.hpack_lost++;
				http_headers_add(out, (const uint8_t *)"?", 1, (const uint8_t *)"?", 1, true);
				rep++;
			}
			/*
			 * "?" is no field name (RFC 9110 5.6.2: not a token): it is
			 * hpack_lost's stand-in, also when a later block indexes the entry
			 */
			bool lost = (rep < plan.n_marks && plan.marks[rep] == HPACK_MARK_LOST_NAME) ||
				    (nv.namelen == 1 && nv.name[0] == '?');

			p->counters.hpack_lost += lost;
			rep++;
			stored += nv.namelen + nv.valuelen;
			if (stored <= HEADER_LIST_MAX)
				http_headers_add(out, nv.name, nv.namelen, nv.value, nv.valuelen, lost);
			else
				why = "a header list longer than 1 MiB: the rest is not shown";
		}
		if (flags & NGHTTP2_HD_INFLATE_FINAL) {
			nghttp2_hd_inflate_end_headers(inf);
			break;
		}
		if (!(flags & NGHTTP2_HD_INFLATE_EMIT) && inlen == 0)
			break;
	}
	for (; !why && rep < plan.n_marks; rep++) {
		if (plan.marks[rep] == HPACK_MARK_DROPPED) {
			p->counters.hpack_lost++;
			http_headers_add(out, (const uint8_t *)"?", 1, (const uint8_t *)"?", 1, true);
		}
	}
	hpack_lost_plan_free(&plan);
	return why;
}

static void end_half(struct ps_http_processor *p, struct http_conn *c, struct h2_conn *hc, struct h2_stream *s, int d)
{
	s->half[d].ended = true;
	emit_half(p, c, s, d, NULL);
	maybe_done(hc, s);
}

static void block_done(struct ps_http_processor *p, struct http_conn *c, struct h2_conn *hc, int d, uint64_t now)
{
	struct h2_dir *hd = &hc->dir[d];
	uint32_t id = hd->block_push ? hd->promised : hd->block_stream;
	int half = hd->block_push ? !d : d;  /* a promised request is the client's, sent by the server */
	struct h2_stream *s = stream_get(p, c, hc, id);
	struct ps_http_headers decoded = { 0 };
	const char *why;
	struct h2_half *h;

	hd->in_block = false;
	if (hd->block_too_big) {
		inflater_reset(hd);
		why = "a header block longer than 256 KiB: not decoded";
	} else {
		why = decode_block(p, hd, hd->block.p, hd->block.len, &decoded);
	}
	hd->block.len = 0;
	hd->block_too_big = false;
	if (!s) {
		http_headers_clear(&decoded);
		return;
	}
	h = &s->half[half];
	if (why) {
		p->counters.stream_errors++;
		h->note = why;
	}
	if (!h->headers_done) {
		h->headers = decoded;
		h->headers_done = true;
		h->push = hd->block_push;
		if (!h->first_ns)
			h->first_ns = now;
	} else if (is_response(h) && atoi(header_value(&h->headers, ":status")) / 100 == 1) {
		/* an informational response, then the final one (RFC 9113 8.1) */
		emit_half(p, c, s, half, NULL);
		http_headers_clear(&h->headers);
		h->emitted = false;
		h->headers = decoded;
		h->first_ns = now;
	} else {
		http_headers_clear(&h->trailers);
		h->trailers = decoded;
	}
	h->last_ns = now;
	if (hd->block_push) {
		h->ended = true;    /* a promised request has no body */
		emit_half(p, c, s, half, NULL);
	} else if (hd->block_end_stream) {
		end_half(p, c, hc, s, half);
	}
}

static void control_message(struct ps_http_processor *p, struct http_conn *c, int d, const char *what,
			    uint32_t stream, uint32_t code, int64_t last_stream, uint64_t now)
{
	struct ps_http_message msg;

	http_message_init(&msg, c, PS_PROTO_HTTP2);
	msg.dir = (enum ps_http_dir)d;
	msg.kind = PS_MSG_CONTROL;
	msg.control = what;
	msg.stream_id = stream;
	msg.error_code = code;
	msg.last_stream_id = last_stream;
	msg.note = code < sizeof(error_names) / sizeof(error_names[0]) ? error_names[code] : "unknown error code";
	msg.first_ns = msg.last_ns = now;
	http_emit(p, c, &msg);
}

/* The payload without padding (6.1, 6.2, 6.6); false: the padding is longer than the frame. */
static bool unpad(uint8_t flags, const uint8_t **pl, uint32_t *len)
{
	uint8_t pad;

	if (!(flags & FLAG_PADDED))
		return true;
	if (*len < 1)
		return false;
	pad = (*pl)[0];
	if ((uint32_t)pad + 1 > *len)
		return false;
	*pl += 1;
	*len -= 1 + pad;
	return true;
}

static void stream_error(struct ps_http_processor *p, struct http_conn *c, struct h2_conn *hc, uint32_t id, int d,
			 const char *why)
{
	struct h2_stream *s = stream_get(p, c, hc, id);

	p->counters.stream_errors++;
	if (s && !s->half[d].note)
		s->half[d].note = why;
}

static void frame(struct ps_http_processor *p, struct http_conn *c, struct h2_conn *hc, int d, const uint8_t *f,
		  uint32_t len, uint64_t now)
{
	struct h2_dir *hd = &hc->dir[d];
	uint8_t type = f[3], flags = f[4];
	uint32_t id = get32(f + 5) & 0x7fffffff;
	const uint8_t *pl = f + FRAME_HEADER;
	struct h2_stream *s;

	if (hd->in_block && type != F_CONTINUATION) {
		/* a connection error in HTTP/2 (6.10); here the block is dropped and the rest goes on */
		stream_error(p, c, hc, hd->block_stream, d, "header block cut by another frame");
		hd->in_block = false;
		hd->block.len = 0;
		inflater_reset(hd);
	}
	switch (type) {
	case F_DATA:
		if (!id)
			return;
		if (recently_closed(hc, id)) {
			p->counters.skipped_bytes += len;   /* a closed stream's: RFC 9113 5.1 says ignore */
			return;
		}
		if (!unpad(flags, &pl, &len)) {
			stream_error(p, c, hc, id, d, "DATA padding longer than the frame");
			return;
		}
		s = stream_get(p, c, hc, id);
		if (!s)
			return;
		if (!s->half[d].first_ns)
			s->half[d].first_ns = now;
		s->half[d].last_ns = now;
		http_body_add(&s->half[d].body, pl, len);
		if (flags & FLAG_END_STREAM)
			end_half(p, c, hc, s, d);
		return;
	case F_HEADERS:
	case F_PUSH_PROMISE:
		if (!id)
			return;
		if (!unpad(flags, &pl, &len)) {
			stream_error(p, c, hc, id, d, "HEADERS padding longer than the frame");
			inflater_reset(hd);
			return;
		}
		if (type == F_HEADERS && (flags & FLAG_PRIORITY)) {
			if (len < 5) {
				stream_error(p, c, hc, id, d, "HEADERS too short for its priority");
				inflater_reset(hd);
				return;
			}
			pl += 5;
			len -= 5;
		}
		hd->block_push = type == F_PUSH_PROMISE;
		if (hd->block_push) {
			if (len < 4) {
				stream_error(p, c, hc, id, d, "PUSH_PROMISE too short");
				inflater_reset(hd);
				return;
			}
			hd->promised = get32(pl) & 0x7fffffff;
			pl += 4;
			len -= 4;
		}
		hd->in_block = true;
		hd->block_stream = id;
		hd->block_end_stream = type == F_HEADERS && (flags & FLAG_END_STREAM);
		hd->block.len = 0;
		hd->block_too_big = false;
		/* fall through: the fragment is gathered as a CONTINUATION's */
		/* FALLTHROUGH */
	case F_CONTINUATION:
		if (!hd->in_block || id != hd->block_stream) {
			hd->in_block = false;
			return;     /* an orphan CONTINUATION: its block began before the capture */
		}
		if (hd->block.len + len > HEADER_BLOCK_MAX || hd->block_too_big) {
			hd->block_too_big = true;
			p->counters.skipped_bytes += len;
		} else {
			http_buf_append(&hd->block, pl, len);
		}
		if (flags & FLAG_END_HEADERS)
			block_done(p, c, hc, d, now);
		return;
	case F_RST_STREAM:
		if (len != 4 || !id)
			return;
		control_message(p, c, d, "RST_STREAM", id, get32(pl), -1, now);
		for (s = hc->streams; s && s->id != id; s = s->next)
			;
		if (s) {
			/*
			 * NO_ERROR after a complete response: the server wants no more
			 * of the request (RFC 9113 8.1); bytes of it still in flight
			 * are counted as skipped.
			 */
			const char *why = get32(pl) == 0 ? "stream ended by RST_STREAM NO_ERROR: the rest was not wanted"
							 : "stream reset (RST_STREAM)";

			emit_half(p, c, s, 0, why);
			emit_half(p, c, s, 1, why);
			stream_remove(hc, s);
		}
		return;
	case F_SETTINGS:
		if (flags & FLAG_ACK || len % 6)
			return;
		for (uint32_t i = 0; i < len; i += 6) {
			uint16_t key = (uint16_t)(pl[i] << 8 | pl[i + 1]);
			uint32_t value = get32(pl + i + 2);

			if (key == 5)   /* SETTINGS_MAX_FRAME_SIZE: what the other side may send */
				hc->dir[!d].max_frame = value;
		}
		return;
	case F_GOAWAY:
		if (len < 8)
			return;
		control_message(p, c, d, "GOAWAY", 0, get32(pl + 4), get32(pl) & 0x7fffffff, now);
		return;
	default:
		/* PRIORITY, PING, WINDOW_UPDATE change no message; unknown types are ignored (5.5) */
		return;
	}
}

bool h2_dir_started(const struct http_conn *c, enum ps_http_dir d)
{
	const struct h2_conn *hc = c->h2;

	return hc && hc->dir[d].preface_checked;
}

void h2_feed(struct ps_http_processor *p, struct http_conn *c, enum ps_http_dir d, uint64_t now)
{
	struct http_dir *dir = &c->dir[d];
	struct h2_conn *hc = conn_state(c);
	struct h2_dir *hd;
	size_t off = 0;

	if (!hc) {
		http_dir_fallback(p, c, d, "out of memory");
		return;
	}
	hd = &hc->dir[d];
	if (!hd->preface_checked) {
		size_t n = dir->in.len < PREFACE_LEN ? dir->in.len : PREFACE_LEN;

		if (memcmp(dir->in.p, PREFACE, n) == 0) {
			if (n < PREFACE_LEN)
				return;
			off = PREFACE_LEN;
		}
		hd->preface_checked = true;
	}
	while (dir->in.len - off >= FRAME_HEADER) {
		const uint8_t *f = dir->in.p + off;
		uint32_t len = (uint32_t)f[0] << 16 | (uint32_t)f[1] << 8 | f[2];
		uint32_t max = hd->max_frame ? hd->max_frame : FRAME_LEN_MAX;

		if (len > max) {
			http_buf_consume(&dir->in, off);
			http_dir_fallback(p, c, d, "a frame longer than the peer's SETTINGS_MAX_FRAME_SIZE");
			return;
		}
		if (dir->in.len - off < FRAME_HEADER + (size_t)len)
			break;
		frame(p, c, hc, d, f, len, now);
		off += FRAME_HEADER + len;
	}
	http_buf_consume(&dir->in, off);
	if (dir->in.len)
		dir->in_time = now;
}

/* The capture ends: halves not ended go out as they are, saying so. */
void h2_finish(struct ps_http_processor *p, struct http_conn *c)
{
	struct h2_conn *hc = c->h2;

	if (!hc)
		return;
	for (struct h2_stream *s = hc->streams; s; s = s->next)
		for (int d = 0; d < 2; d++)
			if (!s->half[d].ended)
				emit_half(p, c, s, d, "stream cut short: the capture ended before END_STREAM");
	for (int d = 0; d < 2; d++)
		if (c->dir[d].in.len && !c->dir[d].raw)
			http_dir_fallback(p, c, d, "an incomplete frame when the capture ended");
}

void h2_conn_free(struct http_conn *c)
{
	struct h2_conn *hc = c->h2;

	if (!hc)
		return;
	while (hc->streams) {
		struct h2_stream *next = hc->streams->next;

		stream_free(hc->streams);
		hc->streams = next;
	}
	for (int d = 0; d < 2; d++) {
		inflater_reset(&hc->dir[d]);
		http_buf_free(&hc->dir[d].block);
	}
	free(hc);
	c->h2 = NULL;
}
