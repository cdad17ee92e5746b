/* SPDX-License-Identifier: MIT */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "evp.h"
#include "log.h"
#include "tcp_reassembly.h"
#include "tls_session.h"
#include "wire.h"
#include "wire_secrets.h"

struct conn {
	struct conn *chain;         /* in its hash bucket */
	struct conn *prev, *next;   /* every connection, oldest first */
	struct ps_wire *wire;
	uint8_t family;
	struct ps_wire_endpoint end[2];  /* direction d goes from end[d] to end[!d] */
	struct ps_tcp_stream tcp[2];
	struct ps_tls_session tls;
	uint64_t last_ns;
	uint64_t waiting_since_ns;  /* its records wait for secrets since then; 0: none wait */
	bool closed;
	bool checked[2];            /* the direction's first bytes were looked at */
	bool not_tls;               /* a stream began with bytes that are no TLS record: left alone */
	void *user;
};

struct ps_wire {
	struct ps_wire_ops ops;
	struct ps_evp evp;
	struct ps_tls_session_ops tls_ops;
	struct ps_wire_secrets *secrets;
	struct conn **buckets;
	size_t n_buckets, n_conns;
	struct conn *oldest, *newest;
	uint64_t now_ns;            /* the packet being read */
	struct ps_wire_counters counters;
};

static const char *const cause_names[PS_WIRE_CAUSES] = {
	[PS_WIRE_NO_SECRET] = "no secret",
	[PS_WIRE_NO_HANDSHAKE] = "no handshake seen",
	[PS_WIRE_UNSUPPORTED] = "unsupported version or suite",
	[PS_WIRE_BAD_RECORD] = "failed authentication",
	[PS_WIRE_AFTER_GAP] = "after a gap",
	[PS_WIRE_PENDING_FULL] = "waiting list full",
};

const char *ps_wire_cause_name(enum ps_wire_cause cause)
{
	return cause < PS_WIRE_CAUSES ? cause_names[cause] : "?";
}

/* ---- connections by address ---------------------------------------------- */

static int endpoint_cmp(const struct ps_wire_endpoint *a, const struct ps_wire_endpoint *b)
{
	int c = memcmp(a->addr, b->addr, sizeof(a->addr));

	return c ? c : (int)a->port - (int)b->port;
}

static size_t bucket_of(const struct ps_wire *w, const struct ps_wire_endpoint *lo, const struct ps_wire_endpoint *hi)
{
	uint64_t h = 1469598103934665603ull;  /* FNV-1a over both endpoints */
	const struct ps_wire_endpoint *ends[2] = { lo, hi };

	for (int e = 0; e < 2; e++) {
		for (size_t i = 0; i < sizeof(ends[e]->addr); i++)
			h = (h ^ ends[e]->addr[i]) * 1099511628211ull;
		h = (h ^ ends[e]->port) * 1099511628211ull;
	}
	return (size_t)(h % w->n_buckets);
}

/* The connection's two ends in a fixed order, so both directions find it. */
static void order_ends(const struct ps_wire_segment *seg, const struct ps_wire_endpoint **lo,
		       const struct ps_wire_endpoint **hi)
{
	bool src_low = endpoint_cmp(&seg->src, &seg->dst) <= 0;

	*lo = src_low ? &seg->src : &seg->dst;
	*hi = src_low ? &seg->dst : &seg->src;
}

static struct conn *find_conn(struct ps_wire *w, const struct ps_wire_segment *seg)
{
	const struct ps_wire_endpoint *lo, *hi;

	order_ends(seg, &lo, &hi);
	for (struct conn *c = w->buckets[bucket_of(w, lo, hi)]; c; c = c->chain)
		if (c->family == seg->family && !endpoint_cmp(&c->end[0], lo) && !endpoint_cmp(&c->end[1], hi))
			return c;
	return NULL;
}

static void rehash(struct ps_wire *w)
{
	size_t n = w->n_buckets * 4;
	struct conn **buckets = calloc(n, sizeof(*buckets));

	if (!buckets)
		return;  /* longer chains, still correct */
	free(w->buckets);
	w->buckets = buckets;
	w->n_buckets = n;
	for (struct conn *c = w->oldest; c; c = c->next) {
		size_t b = bucket_of(w, &c->end[0], &c->end[1]);

		c->chain = buckets[b];
		buckets[b] = c;
	}
}

static const struct ps_secrets *find_secrets(void *arg, const uint8_t client_random[32]);
static void on_tls_plaintext(void *arg, struct ps_tls_session *session, int dir, enum ps_wire_ends ends,
			     const uint8_t *data, size_t len);

static struct conn *new_conn(struct ps_wire *w, const struct ps_wire_segment *seg)
{
	const struct ps_wire_endpoint *lo, *hi;
	struct conn *c = calloc(1, sizeof(*c));
	size_t b;

	if (!c)
		return NULL;
	order_ends(seg, &lo, &hi);
	c->wire = w;
	c->family = seg->family;
	c->end[0] = *lo;
	c->end[1] = *hi;
	ps_tcp_stream_init(&c->tcp[0]);
	ps_tcp_stream_init(&c->tcp[1]);
	ps_tls_session_init(&c->tls, &w->tls_ops);
	if (w->n_conns >= 2 * w->n_buckets)
		rehash(w);
	b = bucket_of(w, lo, hi);
	c->chain = w->buckets[b];
	w->buckets[b] = c;
	c->prev = w->newest;
	if (w->newest)
		w->newest->next = c;
	else
		w->oldest = c;
	w->newest = c;
	w->n_conns++;
	w->counters.connections++;
	return c;
}

static void unlink_conn(struct ps_wire *w, struct conn *c)
{
	struct conn **at = &w->buckets[bucket_of(w, &c->end[0], &c->end[1])];

	while (*at && *at != c)
		at = &(*at)->chain;
	if (*at)
		*at = c->chain;
	if (c->prev)
		c->prev->next = c->next;
	else
		w->oldest = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		w->newest = c->prev;
	w->n_conns--;
}

/* ---- a connection's streams ---------------------------------------------- */

struct stream_ctx {
	struct conn *conn;
	int dir;
};

/*
 * A stream seen from its SYN whose first bytes are no TLS record header is
 * another protocol (plain HTTP, SSH, ...): not read, not counted as
 * undecryptable. One joined mid-way may start anywhere: it is read.
 */
static void check_tls(struct conn *c, int dir, const uint8_t *data, size_t len)
{
	c->checked[dir] = true;
	if (!c->tcp[dir].from_syn)
		return;
	if (len < PS_TLS_HEADER_LEN ? data[0] < PS_TLS_CHANGE_CIPHER_SPEC || data[0] > PS_TLS_APPLICATION_DATA
				    : !ps_tls_header_plausible(data)) {
		c->not_tls = true;
		c->wire->counters.not_tls++;
	}
}

static void on_stream_data(void *arg, const uint8_t *data, size_t len)
{
	struct stream_ctx *ctx = arg;
	struct conn *c = ctx->conn;

	if (!c->checked[ctx->dir] && len)
		check_tls(c, ctx->dir, data, len);
	if (!c->not_tls)
		ps_tls_session_data(&c->tls, ctx->dir, data, len);
}

static void on_stream_gap(void *arg, uint64_t len)
{
	struct stream_ctx *ctx = arg;

	ctx->conn->wire->counters.gaps++;
	ctx->conn->wire->counters.gap_bytes += len;
	ctx->conn->checked[ctx->dir] = true;  /* what follows a gap starts anywhere */
	if (!ctx->conn->not_tls)
		ps_tls_session_gap(&ctx->conn->tls, ctx->dir, len);
}

static void flush_streams(struct conn *c)
{
	for (int d = 0; d < 2; d++) {
		struct stream_ctx ctx = { .conn = c, .dir = d };
		struct ps_tcp_sink sink = { .data = on_stream_data, .gap = on_stream_gap, .arg = &ctx };

		ps_tcp_stream_flush(&c->tcp[d], &sink);
	}
}

/* Its streams flushed, its waiting records counted, its memory freed. */
static void end_conn(struct ps_wire *w, struct conn *c)
{
	if (!c->closed)
		flush_streams(c);
	unlink_conn(w, c);
	ps_tls_session_free(&c->tls);
	ps_tcp_stream_free(&c->tcp[0]);
	ps_tcp_stream_free(&c->tcp[1]);
	if (c->user && w->ops.free_user)
		w->ops.free_user(w->ops.arg, c->user);
	free(c);
}

static void close_conn(struct ps_wire *w, struct conn *c)
{
	flush_streams(c);
	c->closed = true;
	if (!ps_tls_session_waiting(&c->tls))
		end_conn(w, c);
}

static void take_segment(struct ps_wire *w, struct conn *c, const struct ps_wire_segment *seg)
{
	int d = endpoint_cmp(&seg->src, &c->end[0]) == 0 ? 0 : 1;
	struct stream_ctx ctx = { .conn = c, .dir = d };
	struct ps_tcp_sink sink = { .data = on_stream_data, .gap = on_stream_gap, .arg = &ctx };

	c->last_ns = w->now_ns;
	ps_tcp_stream_segment(&c->tcp[d], &(struct ps_tcp_segment){ .seq = seg->seq, .syn = seg->syn, .fin = seg->fin,
								    .data = seg->payload, .len = seg->len },
			      &sink);
	if (seg->rst || (ps_tcp_stream_finished(&c->tcp[0]) && ps_tcp_stream_finished(&c->tcp[1])))
		close_conn(w, c);
}

void ps_wire_segment(struct ps_wire *w, const struct ps_wire_segment *seg, uint64_t wall_ns)
{
	struct conn *c = find_conn(w, seg);

	w->now_ns = wall_ns;
	w->counters.packets++;
	if (c && c->closed && seg->syn) {  /* the same addresses again: a new connection */
		end_conn(w, c);
		c = NULL;
	}
	if (c && c->closed)
		return;  /* a late retransmit, or the last ACKs */
	if (!c && (seg->rst || (!seg->syn && !seg->len)))
		return;  /* nothing to read: no connection for it */
	if (!c && !(c = new_conn(w, seg)))
		return;
	take_segment(w, c, seg);
}

void ps_wire_frame(struct ps_wire *w, int linktype, const uint8_t *frame, size_t len, uint64_t wall_ns)
{
	struct ps_wire_segment seg;

	if (ps_wire_parse(linktype, frame, len, &seg) != 0) {
		w->counters.not_tcp++;
		return;
	}
	ps_wire_segment(w, &seg, wall_ns);
}

/* ---- TLS ----------------------------------------------------------------- */

static const struct ps_secrets *find_secrets(void *arg, const uint8_t client_random[32])
{
	struct ps_wire *w = arg;

	return ps_wire_secrets_find(w->secrets, client_random);
}

/* A session is its connection's: the connection is found from it (container_of). */
static void on_tls_plaintext(void *arg, struct ps_tls_session *session, int dir, enum ps_wire_ends ends,
			     const uint8_t *data, size_t len)
{
	struct conn *c = (struct conn *)((char *)session - offsetof(struct conn, tls));
	struct ps_wire *w = arg;
	struct ps_wire_flow flow = { .family = c->family, .src = &c->end[dir], .dst = &c->end[!dir], .user = &c->user };

	if (ends & PS_WIRE_WRITER)
		w->counters.records++;
	w->ops.plaintext(w->ops.arg, &flow, ends, data, len, w->now_ns);
}

void ps_wire_secrets(struct ps_wire *w, const struct ps_secrets *secrets)
{
	if (ps_wire_secrets_add(w->secrets, secrets) != 0)
		return;
	for (struct conn *c = w->oldest, *next; c; c = next) {
		next = c->next;
		if (!ps_tls_session_waiting(&c->tls) || !c->tls.has_client_random ||
		    memcmp(c->tls.client_random, secrets->client_random, 32) != 0)
			continue;
		ps_tls_session_retry(&c->tls);
		if (c->closed && !ps_tls_session_waiting(&c->tls))
			end_conn(w, c);
	}
}

/* Records waiting too long for secrets that do not come: counted, and the connection's later ones with them. */
static void check_waiting(struct conn *c, uint64_t wall_ns)
{
	if (!ps_tls_session_waiting(&c->tls)) {
		c->waiting_since_ns = 0;
		return;
	}
	if (!c->waiting_since_ns)
		c->waiting_since_ns = wall_ns;
	else if (c->waiting_since_ns + PS_WIRE_SECRET_WAIT_NS <= wall_ns)
		ps_tls_session_give_up(&c->tls);
}

void ps_wire_sweep(struct ps_wire *w, uint64_t wall_ns)
{
	for (struct conn *c = w->oldest, *next; c; c = next) {
		next = c->next;
		check_waiting(c, wall_ns);
		if ((c->closed && c->last_ns + PS_WIRE_LINGER_NS <= wall_ns) || c->last_ns + PS_WIRE_IDLE_NS <= wall_ns)
			end_conn(w, c);
	}
}

void ps_wire_finish(struct ps_wire *w)
{
	while (w->oldest)
		end_conn(w, w->oldest);
}

const struct ps_wire_counters *ps_wire_counters(const struct ps_wire *w)
{
	return &w->counters;
}

struct ps_wire *ps_wire_new(const struct ps_wire_ops *ops)
{
	struct ps_wire *w = calloc(1, sizeof(*w));

	if (!w) {
		ps_error("out of memory");
		return NULL;
	}
	w->ops = *ops;
	w->n_buckets = 1024;
	w->buckets = calloc(w->n_buckets, sizeof(*w->buckets));
	w->secrets = ps_wire_secrets_new();
	if (!w->buckets || !w->secrets) {
		ps_error("out of memory");
		ps_wire_free(w);
		return NULL;
	}
	if (ps_evp_load(&w->evp)) {
		ps_wire_free(w);
		return NULL;
	}
	w->tls_ops = (struct ps_tls_session_ops){ .plaintext = on_tls_plaintext, .secrets = find_secrets, .arg = w,
						  .evp = &w->evp, .undecryptable = w->counters.undecryptable };
	return w;
}

void ps_wire_free(struct ps_wire *w)
{
	if (!w)
		return;
	ps_wire_finish(w);
	ps_evp_unload(&w->evp);
	ps_wire_secrets_free(w->secrets);
	free(w->buckets);
	free(w);
}
