/* SPDX-License-Identifier: MIT */
/*
 * The event processor: records -> connections (pid, fd, 4-tuple) -> one
 * ordered byte stream per direction -> a parser. A connection's end shows
 * as its fd holding another one (another 4-tuple, a new HTTP/2 preface, a
 * request after a response delimited by close); what a parser still holds
 * then goes out, and at exit, saying how it ended. Bounded: each direction
 * holds at most limits.stream_buffer_max unparsed bytes, the table at most
 * limits.max_connections connections (the least recently used goes), and a
 * connection silent for limits.idle_ns is evicted; what is dropped is
 * counted in skipped_bytes.
 */
#include <stdlib.h>
#include <string.h>
#include "http_internal.h"

#define DEFAULT_STREAM_BUFFER_MAX (4u << 20)
#define DEFAULT_MAX_CONNECTIONS 4096
#define DEFAULT_IDLE_NS (120ull * 1000000000ull)

void ps_http_limits_default(struct ps_http_limits *limits)
{
	limits->body_max = 0;
	limits->stream_buffer_max = DEFAULT_STREAM_BUFFER_MAX;
	limits->max_connections = DEFAULT_MAX_CONNECTIONS;
	limits->idle_ns = DEFAULT_IDLE_NS;
}

int http_buf_append(struct http_buf *b, const uint8_t *data, size_t len)
{
	if (!len)
		return 0;
	if (b->len + len > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		uint8_t *p;

		while (cap < b->len + len)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p)
			return -1;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
	return 0;
}

void http_buf_consume(struct http_buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
		return;
	}
	memmove(b->p, b->p + n, b->len - n);
	b->len -= n;
}

void http_buf_free(struct http_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

char *http_strndup(const uint8_t *s, size_t len)
{
	char *out = malloc(len + 1);

	if (!out)
		return NULL;
	memcpy(out, s, len);
	out[len] = '\0';
	return out;
}

bool http_ascii_eq(const char *a, size_t a_len, const char *b)
{
	return strlen(b) == a_len && strncasecmp(a, b, a_len) == 0;
}

int http_headers_add(struct ps_http_headers *h, const uint8_t *name, size_t name_len, const uint8_t *value,
		     size_t value_len, bool lost)
{
	struct ps_http_header *hdr;

	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 16;
		struct ps_http_header *v = realloc(h->v, cap * sizeof(*v));

		if (!v)
			return -1;
		h->v = v;
		h->cap = cap;
	}
	hdr = &h->v[h->n];
	hdr->name = http_strndup(name, name_len);
	hdr->value = http_strndup(value, value_len);
	if (!hdr->name || !hdr->value) {
		free(hdr->name);
		free(hdr->value);
		return -1;
	}
	hdr->name_len = name_len;
	hdr->value_len = value_len;
	hdr->lost = lost;
	h->n++;
	return 0;
}

void http_headers_clear(struct ps_http_headers *h)
{
	for (size_t i = 0; i < h->n; i++) {
		free(h->v[i].name);
		free(h->v[i].value);
	}
	free(h->v);
	memset(h, 0, sizeof(*h));
}

const struct ps_http_header *http_headers_find(const struct ps_http_headers *h, const char *name)
{
	for (size_t i = 0; h && i < h->n; i++)
		if (http_ascii_eq(h->v[i].name, h->v[i].name_len, name))
			return &h->v[i];
	return NULL;
}

void http_message_init(struct ps_http_message *msg, struct http_conn *c, enum ps_http_proto proto)
{
	memset(msg, 0, sizeof(*msg));
	msg->proto = proto;
	msg->conn = &c->info;
	msg->stream_id = -1;
	msg->last_stream_id = -1;
}

void http_emit(struct ps_http_processor *p, struct http_conn *c, struct ps_http_message *msg)
{
	(void)c;
	p->counters.messages++;
	p->emit(msg, p->emit_arg);
}

void http_dir_fallback(struct ps_http_processor *p, struct http_conn *c, enum ps_http_dir d, const char *why)
{
	struct http_dir *dir = &c->dir[d];
	struct ps_http_message msg;

	if (dir->raw)
		return;
	p->counters.raw_fallbacks++;
	if (dir == p->whole_dir && dir->in.len == p->whole_len) {
		p->handed_back = true;
		dir->raw = true;
		http_buf_free(&dir->in);
		return;
	}
	http_message_init(&msg, c, PS_PROTO_RAW);
	msg.kind = PS_MSG_RAW;
	msg.dir = d;
	msg.note = why;
	msg.body = dir->in.p;
	msg.body_len = dir->in.len;
	msg.body_total = dir->in.len;
	msg.first_ns = msg.last_ns = dir->in_time;
	http_emit(p, c, &msg);
	dir->raw = true;
	http_buf_free(&dir->in);
}

/* ---- the connection table ------------------------------------------------ */

/*
 * A connection is its process and fd; the 4-tuple, when both sides of the
 * comparison know it, tells a reused fd from the connection it held. A
 * record without one (a Unix socket, a memory BIO whose socket was learned
 * late) belongs to the connection its fd holds.
 */
static bool same_fd(const struct ps_http_chunk *a, const struct ps_http_chunk *b)
{
	return a->pid == b->pid && a->fd == b->fd;
}

static bool same_tuple(const struct ps_tuple *a, const struct ps_tuple *b)
{
	return !a->family || !b->family ||
	       (a->family == b->family && a->sport == b->sport && a->dport == b->dport &&
		memcmp(a->saddr, b->saddr, 16) == 0 && memcmp(a->daddr, b->daddr, 16) == 0);
}

static void unlink_conn(struct ps_http_processor *p, struct http_conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		p->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		p->lru_tail = c->prev;
	c->prev = c->next = NULL;
}

static void push_front(struct ps_http_processor *p, struct http_conn *c)
{
	c->next = p->conns;
	c->prev = NULL;
	if (p->conns)
		p->conns->prev = c;
	p->conns = c;
	if (!p->lru_tail)
		p->lru_tail = c;
}

static void pending_free_all(struct http_conn *c)
{
	while (c->pending) {
		struct http_pending *next = c->pending->next;

		free(c->pending->method);
		free(c->pending->path);
		free(c->pending->authority);
		free(c->pending);
		c->pending = next;
	}
	c->pending_tail = &c->pending;
}

/* Ends a connection: what its parsers hold goes out, saying how it ended. */
static void conn_close(struct ps_http_processor *p, struct http_conn *c, enum http_end end)
{
	unlink_conn(p, c);
	p->n_conns--;
	if (c->proto == CONN_HTTP1) {
		http1_finish(p, c, PS_HTTP_WRITE, end);
		http1_finish(p, c, PS_HTTP_READ, end);
	} else if (c->proto == CONN_HTTP2) {
		h2_finish(p, c);
	}
	for (int d = 0; d < 2; d++) {
		p->counters.skipped_bytes += c->dir[d].in.len;
		http_buf_free(&c->dir[d].in);
		http1_dir_free(&c->dir[d]);
	}
	h2_conn_free(c);
	pending_free_all(c);
	free(c);
}

static void evict_idle(struct ps_http_processor *p, uint64_t now)
{
	while (p->lru_tail && now > p->lru_tail->last_mono_ns + p->limits.idle_ns) {
		p->counters.evicted++;
		conn_close(p, p->lru_tail, HTTP_END_EVICTED);
	}
}

static struct http_conn *conn_lookup(struct ps_http_processor *p, const struct ps_http_chunk *chunk)
{
	struct http_conn *c;

	for (c = p->conns; c && !same_fd(&c->info, chunk); c = c->next)
		;
	if (c && same_tuple(&c->info.tuple, &chunk->tuple)) {
		if (!c->info.tuple.family)
			c->info.tuple = chunk->tuple;
		unlink_conn(p, c);
		push_front(p, c);
		return c;
	}
	/* the fd's number holds another connection: the one it held has closed */
	if (c)
		conn_close(p, c, HTTP_END_SEEN);
	if (p->n_conns >= p->limits.max_connections && p->lru_tail) {
		p->counters.evicted++;
		conn_close(p, p->lru_tail, HTTP_END_EVICTED);
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->info = *chunk;
	c->info.data = NULL;
	c->info.len = 0;
	c->pending_tail = &c->pending;
	push_front(p, c);
	p->n_conns++;
	return c;
}

static enum http_conn_proto detect(const uint8_t *data, size_t len)
{
	static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
	size_t n = len < sizeof(preface) - 1 ? len : sizeof(preface) - 1;

	if (len && memcmp(data, preface, n) == 0)
		return CONN_HTTP2;
	if (http1_looks_like(data, len))
		return CONN_HTTP1;
	if (h2_looks_like(data, len))
		return CONN_HTTP2;
	return CONN_RAW;
}

struct ps_http_processor *ps_http_processor_new(const struct ps_http_limits *limits, ps_http_emit_fn emit, void *arg)
{
	struct ps_http_processor *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	if (limits)
		p->limits = *limits;
	else
		ps_http_limits_default(&p->limits);
	p->emit = emit;
	p->emit_arg = arg;
	return p;
}

bool ps_http_push(struct ps_http_processor *p, const struct ps_http_chunk *chunk)
{
	struct http_conn *c;
	struct http_dir *dir;

	evict_idle(p, chunk->mono_ns);
	c = conn_lookup(p, chunk);
	if (!c)
		return false;
	c->last_mono_ns = chunk->mono_ns;
	c->info.tid = chunk->tid;
	/*
	 * A connection not yet seen to be HTTP is looked at again at each call:
	 * a capture that starts in the middle of a body finds the next message
	 * (calls usually begin with one; HTTP/2 frames are whole in a call).
	 */
	if (c->proto == CONN_UNKNOWN || c->proto == CONN_RAW) {
		if (!chunk->len)
			return false;
		c->proto = detect(chunk->data, chunk->len);
	}
	/* the client's preface again on a known connection: the fd now holds another one */
	if (c->proto == CONN_HTTP2 && chunk->len >= 24 && memcmp(chunk->data, "PRI * HTTP/2.0\r\n", 16) == 0 &&
	    h2_dir_started(c, chunk->dir)) {
		conn_close(p, c, HTTP_END_SEEN);
		return ps_http_push(p, chunk);
	}
	if (c->proto == CONN_HTTP1 && http1_starts_new_connection(c, chunk)) {
		conn_close(p, c, HTTP_END_SEEN);
		return ps_http_push(p, chunk);
	}
	if (c->proto == CONN_RAW)
		return false;
	dir = &c->dir[chunk->dir];
	if (dir->raw)
		return false;
	if (chunk->lost_before) {
		p->counters.skipped_bytes += chunk->lost_before;
		http_dir_fallback(p, c, chunk->dir, "bytes of this stream were lost before this point");
		return false;
	}
	if (dir->in.len + chunk->len > p->limits.stream_buffer_max) {
		http_dir_fallback(p, c, chunk->dir, "more unparsed bytes than the stream buffer holds");
		return false;
	}
	if (!dir->in.len) {
		dir->in_time = chunk->time_ns;
		p->whole_dir = dir;
		p->whole_len = chunk->len;
	}
	if (http_buf_append(&dir->in, chunk->data, chunk->len) != 0) {
		p->whole_dir = NULL;   /* nothing appended: the record goes out as it is */
		http_dir_fallback(p, c, chunk->dir, "out of memory");
		return false;
	}
	if (c->proto == CONN_HTTP1)
		http1_feed(p, c, chunk->dir, chunk->time_ns);
	else
		h2_feed(p, c, chunk->dir, chunk->time_ns);
	p->whole_dir = NULL;
	if (p->handed_back) {
		p->handed_back = false;
		return false;
	}
	return true;
}

void ps_http_flush(struct ps_http_processor *p)
{
	while (p->conns)
		conn_close(p, p->conns, HTTP_END_EXIT);
}

const struct ps_http_counters *ps_http_counters(const struct ps_http_processor *p)
{
	return &p->counters;
}

void ps_http_processor_free(struct ps_http_processor *p)
{
	if (!p)
		return;
	ps_http_flush(p);
	free(p);
}
