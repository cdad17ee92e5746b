/* SPDX-License-Identifier: MIT */
/*
 * HTTP/1.x messages (RFC 9112): start line, header fields in order, then the
 * body framed by Transfer-Encoding: chunked (7.1), Content-Length (6.2), or
 * the connection's end (a response with neither, 6.3). Pipelined messages
 * follow one another in the stream; a response learns its request (method,
 * target, Host) from the other direction, oldest first. 101 Switching
 * Protocols (a WebSocket) hands both directions back to raw records.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "http_internal.h"

/* A header section longer than this is no HTTP plainsight will show. */
#define HEADER_SECTION_MAX (256u << 10)
/* A chunk-size line longer than this is broken (RFC 9112 7.1.1 has no bound; servers use ~4 KiB) */
#define CHUNK_LINE_MAX 4096

enum h1_state { H1_START, H1_BODY_LENGTH, H1_CHUNK_SIZE, H1_CHUNK_DATA, H1_CHUNK_CRLF, H1_TRAILERS, H1_BODY_UNTIL_CLOSE };

struct http1_dir {
	enum ps_http_dir dir;
	enum h1_state state;
	bool is_request;
	char *method, *path, *version, *reason, *authority;
	char *req_method, *req_path, *req_authority;  /* a response's request */
	int status;
	struct ps_http_headers headers, trailers;
	struct http_body body;
	uint64_t remaining;         /* body bytes or chunk bytes left */
	size_t checked;             /* bytes of an unfinished header section found well-formed */
	uint64_t first_ns;
};

static const char *const methods[] = {
	"GET ", "POST ", "PUT ", "HEAD ", "DELETE ", "OPTIONS ", "PATCH ", "CONNECT ", "TRACE ", "PRI ",
};

/* A request line's method or a status line's version begins data (or data is a prefix of one). */
bool http1_looks_like(const uint8_t *data, size_t len)
{
	static const char status[] = "HTTP/1.";

	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		size_t m = strlen(methods[i]), n = len < m ? len : m;

		if (!strcmp(methods[i], "PRI "))
			continue;
		if (n && memcmp(data, methods[i], n) == 0)
			return true;
	}
	return len && memcmp(data, status, len < 7 ? len : 7) == 0;
}

static void reset_message(struct http1_dir *h)
{
	free(h->method);
	free(h->path);
	free(h->version);
	free(h->reason);
	free(h->authority);
	free(h->req_method);
	free(h->req_path);
	free(h->req_authority);
	http_headers_clear(&h->headers);
	http_headers_clear(&h->trailers);
	http_buf_free(&h->body.raw);
	enum ps_http_dir dir = h->dir;

	memset(h, 0, sizeof(*h));
	h->dir = dir;
}

void http1_dir_free(struct http_dir *dir)
{
	if (!dir->parser)
		return;
	reset_message(dir->parser);
	free(dir->parser);
	dir->parser = NULL;
}

static void emit_message(struct ps_http_processor *p, struct http_conn *c, struct http1_dir *h, uint64_t now,
			 const char *note)
{
	const struct ps_http_header *ce = http_headers_find(&h->headers, "content-encoding");
	struct http_body_view view;
	struct ps_http_message msg;

	http_message_init(&msg, c, PS_PROTO_HTTP1);
	msg.dir = h->dir;
	msg.kind = h->is_request ? PS_MSG_REQUEST : PS_MSG_RESPONSE;
	msg.method = h->is_request ? h->method : h->req_method;
	msg.path = h->is_request ? h->path : h->req_path;
	msg.authority = h->is_request ? h->authority : h->req_authority;
	msg.version = h->version;
	msg.status = h->status;
	msg.reason = h->reason;
	msg.headers = &h->headers;
	msg.trailers = h->trailers.n ? &h->trailers : NULL;
	msg.first_ns = h->first_ns;
	msg.last_ns = now;
	msg.note = note;
	http_body_decode(&h->body, ce ? ce->value : NULL, p->limits.body_max, &view);
	http_body_view_to_message(&view, &msg);
	p->counters.truncated_bytes += view.truncated;
	http_emit(p, c, &msg);
	http_body_view_free(&view);
	reset_message(h);
}

/* "chunked" is the last transfer coding (RFC 9112 6.3 rule 4). */
static bool is_chunked(const struct ps_http_header *te)
{
	const char *v = te->value;
	size_t n = te->value_len;

	while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	return n >= 7 && strncasecmp(v + n - 7, "chunked", 7) == 0 && (n == 7 || v[n - 8] == ',' || v[n - 8] == ' ');
}

static int parse_content_length(const struct ps_http_headers *hs, uint64_t *out)
{
	bool seen = false;

	for (size_t i = 0; i < hs->n; i++) {
		const struct ps_http_header *hdr = &hs->v[i];
		uint64_t v = 0;

		if (!http_ascii_eq(hdr->name, hdr->name_len, "content-length"))
			continue;
		if (!hdr->value_len)
			return -1;
		for (size_t k = 0; k < hdr->value_len; k++) {
			if (hdr->value[k] < '0' || hdr->value[k] > '9' || v > (1ull << 50))
				return -1;
			v = v * 10 + (uint64_t)(hdr->value[k] - '0');
		}
		if (seen && v != *out)
			return -1;
		*out = v;
		seen = true;
	}
	return seen ? 1 : 0;
}

/* A line's end: LF, the CR before it dropped by the callers (RFC 9112 2.2 allows a bare LF). */
static const uint8_t *find_crlf(const uint8_t *p, size_t len)
{
	return memchr(p, '\n', len);
}

/* Header lines [p, end): "name: value" each, ending in CRLF (or LF). */
static const char *parse_fields(const uint8_t *p, const uint8_t *end, struct ps_http_headers *out)
{
	while (p < end) {
		const uint8_t *nl = find_crlf(p, (size_t)(end - p)), *line_end, *colon, *v, *ve;

		if (!nl)
			nl = end;
		line_end = nl > p && nl[-1] == '\r' ? nl - 1 : nl;
		if (line_end == p)
			break;
		colon = memchr(p, ':', (size_t)(line_end - p));
		if (!colon || colon == p || *p == ' ' || *p == '\t')
			return "a header line without a name";
		for (const uint8_t *q = p; q < colon; q++)
			if (*q <= ' ' || *q >= 0x7f)
				return "a header name with a space or a control byte";
		v = colon + 1;
		while (v < line_end && (*v == ' ' || *v == '\t'))
			v++;
		ve = line_end;
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
		if (http_headers_add(out, p, (size_t)(colon - p), v, (size_t)(ve - v), false))
			return "out of memory";
		p = nl + 1;
	}
	return NULL;
}

static bool token_char(uint8_t ch)
{
	return ch > ' ' && ch < 0x7f && !strchr("\"(),/:;<=>?@[\\]{}", ch);
}

/* The start line [p, end) without its CRLF. */
static const char *parse_start_line(struct http1_dir *h, const uint8_t *p, const uint8_t *end)
{
	const uint8_t *sp1 = memchr(p, ' ', (size_t)(end - p)), *sp2;

	if (!sp1)
		return "no HTTP start line";
	if (end - p >= 12 && memcmp(p, "HTTP/1.", 7) == 0 && sp1 == p + 8) {
		const uint8_t *code = sp1 + 1;

		if (end - code < 3 || code[0] < '1' || code[0] > '9' || code[1] < '0' || code[1] > '9' ||
		    code[2] < '0' || code[2] > '9' || (end - code > 3 && code[3] != ' '))
			return "a status line without a three-digit status";
		h->is_request = false;
		h->version = http_strndup(p, 8);
		h->status = (code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0');
		h->reason = http_strndup(end - code > 4 ? code + 4 : end, end - code > 4 ? (size_t)(end - code - 4) : 0);
		return NULL;
	}
	for (const uint8_t *q = p; q < sp1; q++)
		if (!token_char(*q))
			return "no HTTP start line";
	sp2 = memrchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1));
	if (!sp2 || sp2 == sp1 + 1 || end - sp2 != 9 || memcmp(sp2 + 1, "HTTP/1.", 7) != 0)
		return "a request line without HTTP/1.x";
	h->is_request = true;
	h->method = http_strndup(p, (size_t)(sp1 - p));
	h->path = http_strndup(sp1 + 1, (size_t)(sp2 - sp1 - 1));
	h->version = http_strndup(sp2 + 1, 8);
	return NULL;
}

static void pending_push(struct http_conn *c, const struct http1_dir *h)
{
	struct http_pending *r = calloc(1, sizeof(*r));

	if (!r)
		return;
	r->method = strdup(h->method);
	r->path = strdup(h->path);
	r->authority = h->authority ? strdup(h->authority) : NULL;
	*c->pending_tail = r;
	c->pending_tail = &r->next;
}

static void pending_pop(struct http_conn *c, struct http1_dir *h)
{
	struct http_pending *r = c->pending;

	if (!r)
		return;
	c->pending = r->next;
	if (!c->pending)
		c->pending_tail = &c->pending;
	h->req_method = r->method;
	h->req_path = r->path;
	h->req_authority = r->authority;
	free(r);
}

/*
 * The header section is whole in buf[0, len): start line, fields, framing.
 * Returns NULL or why this is not HTTP.
 */
static const char *begin_message(struct http_conn *c, struct http1_dir *h, const uint8_t *buf, size_t len,
				 bool *upgrade)
{
	const uint8_t *nl = find_crlf(buf, len), *line_end;
	const struct ps_http_header *te, *host;
	uint64_t length = 0;
	const char *err;
	int cl;

	line_end = nl > buf && nl[-1] == '\r' ? nl - 1 : nl;
	if ((err = parse_start_line(h, buf, line_end)) != NULL)
		return err;
	if ((err = parse_fields(nl + 1, buf + len, &h->headers)) != NULL)
		return err;
	te = http_headers_find(&h->headers, "transfer-encoding");
	cl = parse_content_length(&h->headers, &length);
	if (cl < 0)
		return "a bad Content-Length";
	if (h->is_request) {
		host = http_headers_find(&h->headers, "host");
		h->authority = host ? strdup(host->value) : NULL;
		pending_push(c, h);
	} else if (h->status >= 200 || h->status == 101) {
		pending_pop(c, h);
	}
	*upgrade = !h->is_request && h->status == 101;
	if (!h->is_request && (h->status < 200 || h->status == 204 || h->status == 304 ||
			       (h->req_method && !strcmp(h->req_method, "HEAD")))) {
		h->state = H1_START;    /* no body (RFC 9112 6.3 rule 1) */
		return NULL;
	}
	if (!h->is_request && h->status / 100 == 2 && h->req_method && !strcmp(h->req_method, "CONNECT")) {
		*upgrade = true;        /* a tunnel follows */
		return NULL;
	}
	if (te && is_chunked(te)) {
		h->state = H1_CHUNK_SIZE;
	} else if (te && !h->is_request) {
		h->state = H1_BODY_UNTIL_CLOSE;
	} else if (te) {
		return "a request whose last transfer coding is not chunked";
	} else if (cl > 0) {
		h->remaining = length;
		h->state = length ? H1_BODY_LENGTH : H1_START;
	} else {
		h->state = h->is_request ? H1_START : H1_BODY_UNTIL_CLOSE;
	}
	return NULL;
}

static int hexval(uint8_t ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch |= 0x20;
	return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* "1a;ext=x" up to the line's end: the chunk size, or -1 (RFC 9112 7.1). */
static int64_t parse_chunk_size(const uint8_t *p, const uint8_t *end)
{
	int64_t v = 0;
	const uint8_t *q = p;

	for (; q < end && hexval(*q) >= 0; q++) {
		if (v > (1ll << 40))
			return -1;
		v = v * 16 + hexval(*q);
	}
	if (q == p)
		return -1;
	while (q < end && (*q == ' ' || *q == '\t'))
		q++;
	if (q < end && *q != ';')
		return -1;
	return v;
}

/*
 * One line of a header section, [line, end) without its line end: the
 * start line when it is the first, else a field. NULL or why it is no HTTP.
 */
static const char *check_header_line(const uint8_t *line, const uint8_t *end, bool first)
{
	const uint8_t *colon;

	if (first) {
		struct http1_dir scratch = { 0 };
		const char *err = parse_start_line(&scratch, line, end);

		reset_message(&scratch);
		return err;
	}
	if (end == line)
		return NULL;
	colon = memchr(line, ':', (size_t)(end - line));
	if (!colon || colon == line)
		return "a header line without a name";
	for (const uint8_t *q = line; q < colon; q++)
		if (*q <= ' ' || *q >= 0x7f)
			return "a header name with a space or a control byte";
	return NULL;
}

/*
 * Where the header section in buf ends (its CRLF CRLF), checking each line
 * on the way: a stream that is no HTTP is given up on at its first bad line,
 * not searched whole for a blank line first (a 16 KiB record that starts
 * like a status line costs a line, not the record). The lines found
 * well-formed so far are remembered for the next call, when more came.
 * NULL when the end is not in buf yet, or with *err set.
 */
static const uint8_t *find_header_end(struct http1_dir *h, const uint8_t *buf, size_t len, const char **err)
{
	const uint8_t *nl;

	while (h->checked < len && (nl = memchr(buf + h->checked, '\n', len - h->checked)) != NULL) {
		const uint8_t *line = buf + h->checked, *end = nl > line && nl[-1] == '\r' ? nl - 1 : nl;

		/* a line of its own CR LF after a CR LF: line is past the start line, which ends in \n */
		if (end == line && nl > line && line - buf >= 2 && line[-2] == '\r')
			return line - 2;
		if ((*err = check_header_line(line, end, h->checked == 0)) != NULL)
			return NULL;
		h->checked = (size_t)(nl + 1 - buf);
	}
	return NULL;
}

/*
 * One step over buf: consumes what it can. Returns bytes consumed; 0 means
 * it needs more; sets *err to fall back.
 */
static size_t step(struct ps_http_processor *p, struct http_conn *c, enum ps_http_dir d, struct http1_dir *h,
		   const uint8_t *buf, size_t len, uint64_t now, const char **err, bool *upgrade)
{
	const uint8_t *nl, *end;
	size_t take;
	int64_t size;

	switch (h->state) {
	case H1_START:
		if (!http1_looks_like(buf, len)) {
			*err = "no HTTP start line";
			return 0;
		}
		end = find_header_end(h, buf, len, err);
		if (!end) {
			if (!*err && len > HEADER_SECTION_MAX)
				*err = "a header section longer than 256 KiB";
			return 0;
		}
		h->first_ns = c->dir[d].in_time;
		*err = begin_message(c, h, buf, (size_t)(end - buf) + 2, upgrade);
		if (*err)
			return 0;
		if (h->state == H1_START || *upgrade)
			emit_message(p, c, h, now, NULL);
		return (size_t)(end - buf) + 4;
	case H1_BODY_LENGTH:
	case H1_CHUNK_DATA:
	case H1_BODY_UNTIL_CLOSE:
		take = len;
		if (h->state != H1_BODY_UNTIL_CLOSE && take > h->remaining)
			take = (size_t)h->remaining;
		http_body_add(&h->body, buf, take);
		h->remaining -= h->state != H1_BODY_UNTIL_CLOSE ? take : 0;
		if (h->remaining == 0 && h->state == H1_BODY_LENGTH)
			emit_message(p, c, h, now, NULL);
		else if (h->remaining == 0 && h->state == H1_CHUNK_DATA)
			h->state = H1_CHUNK_CRLF;
		return take;
	case H1_CHUNK_CRLF:
		if (len < 2)
			return buf[0] == '\r' ? 0 : (*err = "a chunk not followed by CRLF", 0);
		if (buf[0] != '\r' || buf[1] != '\n') {
			*err = "a chunk not followed by CRLF";
			return 0;
		}
		h->state = H1_CHUNK_SIZE;
		return 2;
	case H1_CHUNK_SIZE:
		nl = memchr(buf, '\n', len);
		if (!nl) {
			if (len > CHUNK_LINE_MAX)
				*err = "a chunk size line longer than 4 KiB";
			return 0;
		}
		end = nl > buf && nl[-1] == '\r' ? nl - 1 : nl;
		size = parse_chunk_size(buf, end);
		if (size < 0) {
			*err = "a bad chunk size";
			return 0;
		}
		h->remaining = (uint64_t)size;
		h->state = size ? H1_CHUNK_DATA : H1_TRAILERS;
		return (size_t)(nl - buf) + 1;
	case H1_TRAILERS:
		if (len >= 2 && buf[0] == '\r' && buf[1] == '\n') {
			emit_message(p, c, h, now, NULL);
			return 2;
		}
		end = memmem(buf, len, "\r\n\r\n", 4);
		if (!end) {
			if (len > HEADER_SECTION_MAX)
				*err = "a trailer section longer than 256 KiB";
			return 0;
		}
		if ((*err = parse_fields(buf, end + 2, &h->trailers)) != NULL)
			return 0;
		emit_message(p, c, h, now, NULL);
		return (size_t)(end - buf) + 4;
	}
	return 0;
}

void http1_feed(struct ps_http_processor *p, struct http_conn *c, enum ps_http_dir d, uint64_t now)
{
	struct http_dir *dir = &c->dir[d];
	struct http1_dir *h = dir->parser;
	size_t off = 0, n;
	const char *err = NULL;
	bool upgrade = false;

	if (!h && !(h = dir->parser = calloc(1, sizeof(*h)))) {
		http_dir_fallback(p, c, d, "out of memory");
		return;
	}
	h->dir = d;
	while (off < dir->in.len) {
		n = step(p, c, d, h, dir->in.p + off, dir->in.len - off, now, &err, &upgrade);
		off += n;
		if (err || upgrade || n == 0)
			break;
	}
	http_buf_consume(&dir->in, off);
	if (dir->in.len)
		dir->in_time = now;
	if (err) {
		reset_message(h);
		http_dir_fallback(p, c, d, err);
	} else if (upgrade) {
		/* the bytes that follow belong to another protocol, in both directions */
		if (dir->in.len)
			http_dir_fallback(p, c, d, "bytes after 101 Switching Protocols or CONNECT");
		dir->raw = true;
		c->dir[!d].raw = true;
		http_buf_free(&c->dir[!d].in);
	}
}

/*
 * A request begins in chunk's direction, nothing of it buffered, while the
 * other direction holds a response delimited by the connection's close
 * (RFC 9112 6.3 rule 8): that connection has closed, and the fd's number
 * now holds another one. This is how the end shows when the 4-tuple is
 * unknown (a Unix socket, a socket the probes never saw); a client does not
 * send on a connection whose response runs until it closes.
 */
bool http1_starts_new_connection(const struct http_conn *c, const struct ps_http_chunk *chunk)
{
	const struct http_dir *other = &c->dir[!chunk->dir], *dir = &c->dir[chunk->dir];
	const struct http1_dir *answer = other->parser, *h = dir->parser;

	if (other->raw || dir->raw || !answer || answer->state != H1_BODY_UNTIL_CLOSE || dir->in.len ||
	    (h && h->state != H1_START))
		return false;
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (chunk->len >= strlen(methods[i]) && memcmp(chunk->data, methods[i], strlen(methods[i])) == 0)
			return true;
	return false;
}

/*
 * The connection's records stop: a body until close is complete when its
 * close was seen, and says it may not be otherwise; anything else is cut short.
 */
void http1_finish(struct ps_http_processor *p, struct http_conn *c, enum ps_http_dir d, enum http_end end)
{
	static const char *const until_close[] = {
		[HTTP_END_SEEN] = NULL,
		[HTTP_END_EXIT] = "body delimited by the connection's close: cut by exit, the connection still open",
		[HTTP_END_EVICTED] = "body delimited by the connection's close: cut when the connection was evicted "
				     "(idle, or the table full), its close not seen",
	};
	static const char *const cut_short[] = {
		[HTTP_END_SEEN] = "message cut short: the connection closed before its end",
		[HTTP_END_EXIT] = "message cut short: the capture ended before its end",
		[HTTP_END_EVICTED] = "message cut short: the connection was evicted before its end",
	};
	struct http_dir *dir = &c->dir[d];
	struct http1_dir *h = dir->parser;

	if (dir->raw)
		return;
	if (h && h->state == H1_BODY_UNTIL_CLOSE)
		emit_message(p, c, h, dir->in_time, until_close[end]);
	else if (h && h->state != H1_START)
		emit_message(p, c, h, dir->in_time, cut_short[end]);
	if (dir->in.len)
		http_dir_fallback(p, c, d, "an incomplete message when the capture ended");
}
