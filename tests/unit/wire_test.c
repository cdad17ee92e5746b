/* SPDX-License-Identifier: MIT */
/*
 * --from wire's pure parts: the TCP reassembler with synthetic segment
 * streams (in order, reordered, repeated, overlapping, lost, wrapping), the
 * record framing, the TLS 1.3 record layer against RFC 8448's simple 1-RTT
 * trace, and the whole path (segments of that trace in any order, the
 * secrets before or after) through ps_wire.
 */
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "evp.h"
#include "rfc8448_vectors.h"
#include "tcp_reassembly.h"
#include "tls_keys.h"
#include "tls_records.h"
#include "tls_session.h"
#include "wire.h"

/* ---- helpers ---------------------------------------------------------------- */

struct bytes {
	uint8_t *data;
	size_t len;
};

static struct bytes unhex(const char *hex)
{
	struct bytes b = { .data = malloc(strlen(hex) / 2 + 1), .len = strlen(hex) / 2 };

	for (size_t i = 0; i < b.len; i++) {
		unsigned v;

		sscanf(hex + 2 * i, "%2x", &v);
		b.data[i] = (uint8_t)v;
	}
	return b;
}

static void append(struct bytes *b, const uint8_t *data, size_t len)
{
	b->data = realloc(b->data, b->len + len + 1);
	memcpy(b->data + b->len, data, len);
	b->len += len;
}

/* ---- TCP reassembly ------------------------------------------------------------ */

struct collected {
	struct bytes got;
	uint64_t gaps, gap_bytes;
};

static void on_data(void *arg, const uint8_t *data, size_t len)
{
	append(&((struct collected *)arg)->got, data, len);
}

static void on_gap(void *arg, uint64_t len)
{
	struct collected *c = arg;

	c->gaps++;
	c->gap_bytes += len;
}

/* A 2000-byte stream from isn + 1 (after a SYN at isn), cut in segments [start, end). */
static uint8_t stream_byte(size_t i)
{
	return (uint8_t)(i * 7 + 3);
}

static void send_piece(struct ps_tcp_stream *s, struct collected *c, uint32_t isn, size_t start, size_t end)
{
	uint8_t buf[2000];
	struct ps_tcp_sink sink = { .data = on_data, .gap = on_gap, .arg = c };

	for (size_t i = start; i < end; i++)
		buf[i - start] = stream_byte(i);
	ps_tcp_stream_segment(s, &(struct ps_tcp_segment){ .seq = isn + 1 + (uint32_t)start, .data = buf,
							   .len = end - start }, &sink);
}

static void start_stream(struct ps_tcp_stream *s, struct collected *c, uint32_t isn)
{
	struct ps_tcp_sink sink = { .data = on_data, .gap = on_gap, .arg = c };

	memset(c, 0, sizeof(*c));
	ps_tcp_stream_init(s);
	ps_tcp_stream_segment(s, &(struct ps_tcp_segment){ .seq = isn, .syn = true }, &sink);
}

static int stream_intact(const struct collected *c, size_t len)
{
	if (c->got.len != len)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (c->got.data[i] != stream_byte(i))
			return 0;
	return 1;
}

struct piece {
	size_t start, end;
};

static void run_pieces(uint32_t isn, const struct piece *pieces, size_t n, struct collected *c,
		       struct ps_tcp_stream *s)
{
	start_stream(s, c, isn);
	for (size_t i = 0; i < n; i++)
		send_piece(s, c, isn, pieces[i].start, pieces[i].end);
}

static void test_tcp_in_order(void)
{
	static const struct piece p[] = { { 0, 500 }, { 500, 1000 }, { 1000, 2000 } };
	struct ps_tcp_stream s;
	struct collected c;

	run_pieces(1000, p, 3, &c, &s);
	CHECK(stream_intact(&c, 2000));
	CHECK_INT(c.gaps, 0);
	ps_tcp_stream_free(&s);
	free(c.got.data);
}

static void test_tcp_reordered_repeated_overlapping(void)
{
	static const struct piece p[] = {
		{ 1500, 2000 }, { 500, 1000 }, { 500, 1000 }, { 0, 600 }, { 900, 1600 }, { 0, 100 }, { 1000, 1500 },
	};
	struct ps_tcp_stream s;
	struct collected c;

	run_pieces(77, p, sizeof(p) / sizeof(p[0]), &c, &s);
	CHECK(stream_intact(&c, 2000));
	CHECK_INT(c.gaps, 0);
	CHECK(s.repeated > 0);
	CHECK(!s.held);
	ps_tcp_stream_free(&s);
	free(c.got.data);
}

/* The sequence numbers wrap past 2^32 in the middle of the stream. */
static void test_tcp_wraps(void)
{
	static const struct piece p[] = { { 1000, 2000 }, { 0, 1000 } };
	struct ps_tcp_stream s;
	struct collected c;

	run_pieces(UINT32_MAX - 700, p, 2, &c, &s);
	CHECK(stream_intact(&c, 2000));
	ps_tcp_stream_free(&s);
	free(c.got.data);
}

/* A lost segment: what follows is held until the end, then delivered after a counted gap. */
static void test_tcp_lost(void)
{
	static const struct piece p[] = { { 0, 500 }, { 800, 2000 } };
	struct ps_tcp_sink sink;
	struct ps_tcp_stream s;
	struct collected c;

	run_pieces(5, p, 2, &c, &s);
	CHECK_INT(c.got.len, 500);
	sink = (struct ps_tcp_sink){ .data = on_data, .gap = on_gap, .arg = &c };
	ps_tcp_stream_flush(&s, &sink);
	CHECK_INT(c.gaps, 1);
	CHECK_INT(c.gap_bytes, 300);
	CHECK_INT(c.got.len, 1700);
	CHECK(c.got.data[500] == stream_byte(800));
	ps_tcp_stream_free(&s);
	free(c.got.data);
}

/* Joined mid-stream (no SYN seen): the first segment starts the stream. */
static void test_tcp_joined(void)
{
	struct ps_tcp_sink sink;
	struct ps_tcp_stream s;
	struct collected c = { 0 };
	uint8_t data[10] = "0123456789";

	ps_tcp_stream_init(&s);
	sink = (struct ps_tcp_sink){ .data = on_data, .gap = on_gap, .arg = &c };
	ps_tcp_stream_segment(&s, &(struct ps_tcp_segment){ .seq = 900, .data = data + 5, .len = 5 }, &sink);
	ps_tcp_stream_segment(&s, &(struct ps_tcp_segment){ .seq = 895, .data = data, .len = 5 }, &sink);
	ps_tcp_stream_segment(&s, &(struct ps_tcp_segment){ .seq = 905, .data = data, .len = 3, .fin = true }, &sink);
	CHECK_INT(c.got.len, 8);
	CHECK(memcmp(c.got.data, "56789012", 8) == 0);
	CHECK(ps_tcp_stream_finished(&s));
	ps_tcp_stream_free(&s);
	free(c.got.data);
}

/* More than the bound held behind a hole: the hole is given up on, counted, and the rest flows. */
static void test_tcp_hold_bound(void)
{
	struct ps_tcp_sink sink;
	struct ps_tcp_stream s;
	struct collected c = { 0 };
	size_t chunk = 60000, n = PS_TCP_HOLD_MAX / chunk + 2;
	uint8_t *data = calloc(1, chunk);

	ps_tcp_stream_init(&s);
	sink = (struct ps_tcp_sink){ .data = on_data, .gap = on_gap, .arg = &c };
	ps_tcp_stream_segment(&s, &(struct ps_tcp_segment){ .seq = 0, .syn = true }, &sink);
	for (size_t i = 0; i < n; i++)  /* byte 1 .. 100 never comes */
		ps_tcp_stream_segment(&s, &(struct ps_tcp_segment){ .seq = 101 + (uint32_t)(i * chunk), .data = data,
								    .len = chunk }, &sink);
	CHECK_INT(c.gaps, 1);
	CHECK_INT(c.gap_bytes, 100);
	CHECK_INT(c.got.len, n * chunk);
	CHECK(s.held_bytes <= PS_TCP_HOLD_MAX);
	ps_tcp_stream_free(&s);
	free(data);
	free(c.got.data);
}

/* ---- record framing ----------------------------------------------------------- */

struct framed {
	int n;
	size_t lens[16];
	uint8_t types[16];
	uint32_t sums[16];          /* of the fragment's bytes, position-weighted */
};

static uint32_t fragment_sum(const struct ps_tls_record *rec)
{
	uint32_t sum = 0;

	for (size_t i = 0; i < rec->len; i++)
		sum = sum * 31 + rec->fragment[i];
	return sum;
}

static void on_framed(void *arg, const struct ps_tls_record *rec)
{
	struct framed *f = arg;

	if (f->n < 16) {
		f->lens[f->n] = rec->len;
		f->types[f->n] = rec->type;
		f->sums[f->n] = fragment_sum(rec);
	}
	f->n++;
}

/*
 * Records read in place and records cut between deliveries give the same:
 * a stream of three records with an implausible header and a record after
 * it, cut in three at every pair of places.
 */
static void test_framing_every_cut(void)
{
	struct bytes a = unhex(rfc8448_client_data_record), b = unhex(rfc8448_client_alert_record);
	struct bytes stream = { 0 };
	struct framed whole = { 0 };
	struct ps_tls_framer fr = { 0 };

	append(&stream, a.data, a.len);
	append(&stream, b.data, b.len);
	append(&stream, (const uint8_t *)"\x17\x03\x03\xff\xff", 5);  /* longer than any record: lost */
	append(&stream, a.data, a.len);
	ps_tls_framer_push(&fr, stream.data, stream.len, on_framed, &whole);
	ps_tls_framer_free(&fr);
	CHECK_INT(whole.n, 3);
	CHECK_INT(whole.lens[2], 0x43);
	for (size_t i = 0; i <= stream.len; i++)
		for (size_t j = i; j <= stream.len; j++) {
			struct framed cut = { 0 };

			memset(&fr, 0, sizeof(fr));
			ps_tls_framer_push(&fr, stream.data, i, on_framed, &cut);
			ps_tls_framer_push(&fr, stream.data + i, j - i, on_framed, &cut);
			ps_tls_framer_push(&fr, stream.data + j, stream.len - j, on_framed, &cut);
			ps_tls_framer_free(&fr);
			if (cut.n != whole.n || memcmp(cut.lens, whole.lens, sizeof(whole.lens)) ||
			    memcmp(cut.sums, whole.sums, sizeof(whole.sums))) {
				fprintf(stderr, "cut at %zu and %zu: %d records, not %d as whole\n", i, j, cut.n, whole.n);
				CHECK(0);
				i = j = stream.len;
			}
		}
	free(a.data);
	free(b.data);
	free(stream.data);
}

static void test_framing_split_and_joined(void)
{
	struct bytes a = unhex(rfc8448_client_data_record), b = unhex(rfc8448_client_alert_record);
	struct bytes both = { 0 };
	struct ps_tls_framer fr = { 0 };
	struct framed f = { 0 };

	append(&both, a.data, a.len);
	append(&both, b.data, b.len);
	for (size_t i = 0; i < both.len; i++)  /* one byte per segment */
		ps_tls_framer_push(&fr, both.data + i, 1, on_framed, &f);
	CHECK_INT(f.n, 2);
	CHECK_INT(f.lens[0], 0x43);
	CHECK_INT(f.lens[1], 0x13);
	ps_tls_framer_push(&fr, both.data, both.len, on_framed, &f);  /* two in one segment */
	CHECK_INT(f.n, 4);
	/* after a gap: garbage, then the next record boundary */
	ps_tls_framer_gap(&fr);
	ps_tls_framer_push(&fr, (const uint8_t *)"\x01\x02\x03\xff\xff", 5, on_framed, &f);
	ps_tls_framer_push(&fr, b.data, b.len, on_framed, &f);
	CHECK_INT(f.n, 5);
	CHECK_INT(f.lens[4], 0x13);
	CHECK(fr.skipped >= 5);
	ps_tls_framer_free(&fr);
	free(a.data);
	free(b.data);
	free(both.data);
}

static void test_hellos(void)
{
	struct bytes ch = unhex(rfc8448_client_hello_record), sh = unhex(rfc8448_server_hello_record);
	struct bytes random = unhex(rfc8448_client_random);
	struct ps_tls_hello hello;

	CHECK_INT(ps_tls_parse_client_hello(ch.data + 9, ch.len - 9, &hello), 0);
	CHECK(memcmp(hello.random, random.data, 32) == 0);
	CHECK_INT(ps_tls_parse_server_hello(sh.data + 9, sh.len - 9, &hello), 0);
	CHECK_INT(hello.version, 0x0304);
	CHECK_INT(hello.cipher, 0x1301);
	CHECK(!hello.retry_request);
	CHECK(ps_tls_parse_server_hello(sh.data + 9, 20, &hello) != 0);
	free(ch.data);
	free(sh.data);
	free(random.data);
}

/* EncryptedExtensions bodies of RFC 8448 sections 3 (a full handshake) and 4 (0-RTT taken: early_data, 42, last). */
static const char ee_full[] = "0022000a00140012001d00170018001901000101010201030104001c0002400100000000";
static const char ee_early_taken[] = "0026000a00140012001d00170018001901000101010201030104001c00024001000000"
				     "00002a0000";

static void test_encrypted_extensions(void)
{
	struct bytes full = unhex(ee_full), taken = unhex(ee_early_taken);
	bool accepted = true;

	CHECK_INT(ps_tls_parse_encrypted_extensions(full.data, full.len, &accepted), 0);
	CHECK(!accepted);
	CHECK_INT(ps_tls_parse_encrypted_extensions(taken.data, taken.len, &accepted), 0);
	CHECK(accepted);
	CHECK(ps_tls_parse_encrypted_extensions(taken.data, taken.len - 3, &accepted) != 0);
	free(full.data);
	free(taken.data);
}

/* ---- keys -------------------------------------------------------------------- */

static void test_tls13_keys(void)
{
	struct bytes secret = unhex(rfc8448_server_hs_secret), key = unhex(rfc8448_server_hs_key);
	struct bytes iv = unhex(rfc8448_server_hs_iv);
	struct bytes ap = unhex(rfc8448_client_ap_secret), ap_key = unhex(rfc8448_client_ap_key);
	struct bytes ap_iv = unhex(rfc8448_client_ap_iv);
	struct ps_tls_keys keys;

	CHECK_INT(ps_tls13_keys(ps_tls_suite_find(0x1301), secret.data, &keys), 0);
	CHECK(memcmp(keys.key, key.data, 16) == 0);
	CHECK(memcmp(keys.iv, iv.data, 12) == 0);
	CHECK_INT(ps_tls13_keys(ps_tls_suite_find(0x1301), ap.data, &keys), 0);
	CHECK(memcmp(keys.key, ap_key.data, 16) == 0);
	CHECK(memcmp(keys.iv, ap_iv.data, 12) == 0);
	CHECK(ps_tls_suite_find(0x0005) == NULL);  /* RC4: not read */
	free(secret.data), free(key.data), free(iv.data), free(ap.data), free(ap_key.data), free(ap_iv.data);
}

/* ---- the session against RFC 8448 --------------------------------------------- */

struct trace_out {
	struct bytes plain[2];
	struct ps_secrets secrets;
	int secrets_known;
};

static void on_plain(void *arg, struct ps_tls_session *s, int dir, enum ps_wire_ends ends, const uint8_t *data,
		     size_t len)
{
	if (ends & PS_WIRE_WRITER)
		append(&((struct trace_out *)arg)->plain[dir], data, len);
}

static const struct ps_secrets *lookup(void *arg, const uint8_t random[32])
{
	struct trace_out *t = arg;

	return t->secrets_known && memcmp(random, t->secrets.client_random, 32) == 0 ? &t->secrets : NULL;
}

static void add_secret(struct ps_secrets *s, enum ps_secret_label label, const char *hex)
{
	struct bytes b = unhex(hex);

	memcpy(s->secret[label], b.data, b.len);
	s->len[label] = b.len;
	s->labels |= 1u << label;
	free(b.data);
}

static void rfc8448_secrets(struct ps_secrets *s)
{
	struct bytes random = unhex(rfc8448_client_random);

	memset(s, 0, sizeof(*s));
	memcpy(s->client_random, random.data, 32);
	s->has_client_random = true;
	add_secret(s, PS_SECRET_CLIENT_HS, rfc8448_client_hs_secret);
	add_secret(s, PS_SECRET_SERVER_HS, rfc8448_server_hs_secret);
	add_secret(s, PS_SECRET_CLIENT_TRAFFIC_0, rfc8448_client_ap_secret);
	add_secret(s, PS_SECRET_SERVER_TRAFFIC_0, rfc8448_server_ap_secret);
	free(random.data);
}

/* The trace's records in the order they went: direction 0 is the client's. */
static const struct {
	int dir;
	const char *hex;
} trace[] = {
	{ 0, rfc8448_client_hello_record }, { 1, rfc8448_server_hello_record },
	{ 1, rfc8448_server_flight_record }, { 0, rfc8448_client_finished_record },
	{ 1, rfc8448_ticket_record }, { 0, rfc8448_client_data_record },
	{ 1, rfc8448_server_data_record }, { 0, rfc8448_client_alert_record },
	{ 1, rfc8448_server_alert_record },
};
#define TRACE_LEN (sizeof(trace) / sizeof(trace[0]))

static int is_0_to_49(const struct bytes *b)
{
	if (b->len != 50)
		return 0;
	for (int i = 0; i < 50; i++)
		if (b->data[i] != i)
			return 0;
	return 1;
}

/* Feeds the trace's records [from, to) to s as they are. */
static void feed_trace(struct ps_tls_session *s, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++) {
		struct bytes rec = unhex(trace[i].hex);

		ps_tls_session_data(s, trace[i].dir, rec.data, rec.len);
		free(rec.data);
	}
}

/* Feeds the trace; flip: a bit of the client's data record's tag flipped. */
static void run_trace(struct ps_evp *evp, bool secrets_first, bool flip, uint64_t undecryptable[PS_WIRE_CAUSES],
		      struct trace_out *out)
{
	struct ps_tls_session_ops ops = { .plaintext = on_plain, .secrets = lookup, .arg = out, .evp = evp,
					  .undecryptable = undecryptable };
	struct ps_tls_session s;

	memset(out, 0, sizeof(*out));
	rfc8448_secrets(&out->secrets);
	out->secrets_known = secrets_first;
	ps_tls_session_init(&s, &ops);
	for (size_t i = 0; i < TRACE_LEN; i++) {
		struct bytes rec = unhex(trace[i].hex);

		if (flip && trace[i].hex == rfc8448_client_data_record)
			rec.data[rec.len - 1] ^= 1;
		ps_tls_session_data(&s, trace[i].dir, rec.data, rec.len);
		free(rec.data);
	}
	if (!secrets_first) {
		CHECK(ps_tls_session_waiting(&s));
		CHECK_INT(out->plain[0].len + out->plain[1].len, 0);
		out->secrets_known = 1;
		ps_tls_session_retry(&s);
	}
	CHECK(!ps_tls_session_waiting(&s));
	CHECK_INT(s.client_dir, 0);
	CHECK_INT(s.version, 0x0304);
	ps_tls_session_free(&s);
}

static void test_rfc8448_trace(void)
{
	uint64_t undecryptable[PS_WIRE_CAUSES] = { 0 };
	struct trace_out out;
	struct ps_evp evp;

	if (ps_evp_load(&evp)) {
		CHECK(!"libcrypto loads");
		return;
	}
	for (int late = 0; late < 2; late++) {
		run_trace(&evp, !late, false, undecryptable, &out);
		CHECK(is_0_to_49(&out.plain[0]));
		CHECK(is_0_to_49(&out.plain[1]));
		for (int i = 0; i < PS_WIRE_CAUSES; i++)
			CHECK_INT(undecryptable[i], 0);
		free(out.plain[0].data), free(out.plain[1].data);
	}
	/* a wrong tag: counted, nothing written; the server's record still reads */
	run_trace(&evp, true, true, undecryptable, &out);
	CHECK_INT(out.plain[0].len, 0);
	CHECK(is_0_to_49(&out.plain[1]));
	CHECK_INT(undecryptable[PS_WIRE_BAD_RECORD], 1);
	free(out.plain[0].data), free(out.plain[1].data);
	ps_evp_unload(&evp);
}

/*
 * A session of the trace (out: no secrets known) with libcrypto loaded into
 * evp, what it cannot decrypt counted in undecryptable; false, a failed
 * check, when libcrypto does not load.
 */
static bool start_without_secrets(struct ps_tls_session *s, struct ps_tls_session_ops *ops, struct ps_evp *evp,
				  struct trace_out *out, uint64_t undecryptable[PS_WIRE_CAUSES])
{
	if (ps_evp_load(evp)) {
		CHECK(!"libcrypto loads");
		return false;
	}
	*ops = (struct ps_tls_session_ops){ .plaintext = on_plain, .secrets = lookup, .arg = out, .evp = evp,
					    .undecryptable = undecryptable };
	ps_tls_session_init(s, ops);
	return true;
}

/* A record whose secrets never come: counted when the session ends, never written. */
static void test_no_secret_counted(void)
{
	uint64_t undecryptable[PS_WIRE_CAUSES] = { 0 };
	struct trace_out out = { 0 };
	struct ps_tls_session_ops ops;
	struct ps_tls_session s;
	struct ps_evp evp;

	if (!start_without_secrets(&s, &ops, &evp, &out, undecryptable))
		return;
	feed_trace(&s, 0, TRACE_LEN);
	ps_tls_session_free(&s);
	CHECK_INT(undecryptable[PS_WIRE_NO_SECRET], 7);
	CHECK_INT(out.plain[0].len + out.plain[1].len, 0);
	ps_evp_unload(&evp);
}

/* ---- the whole path: segments of the trace through ps_wire ------------------------- */

struct wire_out {
	struct bytes plain[2];      /* by sender port: [0] the client's (port 40000) */
};

static void on_wire_plain(void *arg, const struct ps_wire_flow *flow, enum ps_wire_ends ends, const uint8_t *data,
			  size_t len, uint64_t wall_ns)
{
	struct wire_out *w = arg;

	if (ends & PS_WIRE_WRITER)
		append(&w->plain[flow->src->port == 40000 ? 0 : 1], data, len);
}

/* The trace as TCP segments of at most 100 bytes, client 10.0.0.1:40000, server 10.0.0.2:443. */
struct seg {
	struct ps_wire_segment s;
	uint8_t *owned;
};

static struct ps_wire_segment segment_of(int dir, uint32_t seq)
{
	struct ps_wire_segment s = { .family = 4, .seq = seq };

	s.src.addr[0] = s.dst.addr[0] = 10;
	s.src.addr[3] = dir ? 2 : 1;
	s.dst.addr[3] = dir ? 1 : 2;
	s.src.port = dir ? 443 : 40000;
	s.dst.port = dir ? 40000 : 443;
	return s;
}

static size_t trace_segments(struct seg *out, size_t max)
{
	uint32_t seq[2] = { 1000, 5000000 };
	size_t n = 0;

	for (int d = 0; d < 2; d++) {  /* the handshake's SYNs */
		out[n].s = segment_of(d, seq[d] - 1);
		out[n].s.syn = true;
		out[n++].owned = NULL;
	}
	for (size_t i = 0; i < TRACE_LEN; i++) {
		struct bytes rec = unhex(trace[i].hex);
		int d = trace[i].dir;

		for (size_t off = 0; off < rec.len && n < max; off += 100, n++) {
			size_t len = rec.len - off < 100 ? rec.len - off : 100;

			out[n].owned = malloc(len);
			memcpy(out[n].owned, rec.data + off, len);
			out[n].s = segment_of(d, seq[d]);
			out[n].s.payload = out[n].owned;
			out[n].s.len = len;
			seq[d] += (uint32_t)len;
		}
		free(rec.data);
	}
	return n;
}

static void run_wire(bool shuffle, bool repeat, bool secrets_late)
{
	struct wire_out w = { 0 };
	struct ps_wire_ops ops = { .plaintext = on_wire_plain, .arg = &w };
	struct ps_wire *wire = ps_wire_new(&ops);
	struct seg segs[64];
	struct ps_secrets secrets;
	size_t n;
	unsigned seed = 12345;

	if (!wire) {
		CHECK(!"ps_wire_new");
		return;
	}
	n = trace_segments(segs, 64);
	rfc8448_secrets(&secrets);
	if (!secrets_late)
		ps_wire_secrets(wire, &secrets);
	/* reordered: swap neighbours of the data segments (the SYNs stay first) */
	for (size_t i = 2; shuffle && i + 1 < n; i += 2) {
		struct seg t = segs[i];

		segs[i] = segs[i + 1];
		segs[i + 1] = t;
	}
	for (size_t i = 0; i < n; i++) {
		ps_wire_segment(wire, &segs[i].s, 1);
		if (repeat && (rand_r(&seed) % 3) == 0)
			ps_wire_segment(wire, &segs[i].s, 1);
	}
	if (secrets_late)
		ps_wire_secrets(wire, &secrets);
	ps_wire_finish(wire);
	CHECK(is_0_to_49(&w.plain[0]));
	CHECK(is_0_to_49(&w.plain[1]));
	for (int i = 0; i < PS_WIRE_CAUSES; i++)
		CHECK_INT(ps_wire_counters(wire)->undecryptable[i], 0);
	CHECK_INT(ps_wire_counters(wire)->gaps, 0);
	CHECK_INT(ps_wire_counters(wire)->connections, 1);
	ps_wire_free(wire);
	for (size_t i = 0; i < n; i++)
		free(segs[i].owned);
	free(w.plain[0].data), free(w.plain[1].data);
}

static void test_wire_in_order(void)
{
	run_wire(false, false, false);
}

static void test_wire_reordered_repeated_secrets_late(void)
{
	run_wire(true, true, true);
}

/* Another protocol on a connection seen from its SYN: left alone, counted as such, nothing undecryptable. */
static void test_wire_not_tls(void)
{
	static const uint8_t request[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	struct wire_out w = { 0 };
	struct ps_wire_ops ops = { .plaintext = on_wire_plain, .arg = &w };
	struct ps_wire *wire = ps_wire_new(&ops);
	struct ps_wire_segment syn = segment_of(0, 99), data = segment_of(0, 100);

	if (!wire) {
		CHECK(!"ps_wire_new");
		return;
	}
	syn.syn = true;
	data.payload = request;
	data.len = sizeof(request) - 1;
	ps_wire_segment(wire, &syn, 1);
	ps_wire_segment(wire, &data, 1);
	ps_wire_finish(wire);
	CHECK_INT(ps_wire_counters(wire)->not_tls, 1);
	for (int i = 0; i < PS_WIRE_CAUSES; i++)
		CHECK_INT(ps_wire_counters(wire)->undecryptable[i], 0);
	CHECK_INT(w.plain[0].len, 0);
	ps_wire_free(wire);
}

/* Secrets that never come: the waiting records are counted when given up on, and so are later ones. */
static void test_give_up(void)
{
	uint64_t undecryptable[PS_WIRE_CAUSES] = { 0 };
	struct trace_out out = { 0 };
	struct ps_tls_session_ops ops;
	struct ps_tls_session s;
	struct ps_evp evp;

	if (!start_without_secrets(&s, &ops, &evp, &out, undecryptable))
		return;
	feed_trace(&s, 0, TRACE_LEN - 2);
	CHECK(ps_tls_session_waiting(&s));
	ps_tls_session_give_up(&s);
	CHECK(!ps_tls_session_waiting(&s));
	CHECK_INT(undecryptable[PS_WIRE_NO_SECRET], 5);
	feed_trace(&s, TRACE_LEN - 2, TRACE_LEN);  /* the alerts: counted at once */
	CHECK(!ps_tls_session_waiting(&s));
	CHECK_INT(undecryptable[PS_WIRE_NO_SECRET], 7);
	ps_tls_session_free(&s);
	CHECK_INT(undecryptable[PS_WIRE_NO_SECRET], 7);
	CHECK_INT(out.plain[0].len + out.plain[1].len, 0);
	ps_evp_unload(&evp);
}

int main(void)
{
	TEST(test_tcp_in_order);
	TEST(test_tcp_reordered_repeated_overlapping);
	TEST(test_tcp_wraps);
	TEST(test_tcp_lost);
	TEST(test_tcp_joined);
	TEST(test_tcp_hold_bound);
	TEST(test_framing_split_and_joined);
	TEST(test_framing_every_cut);
	TEST(test_hellos);
	TEST(test_encrypted_extensions);
	TEST(test_tls13_keys);
	TEST(test_rfc8448_trace);
	TEST(test_no_secret_counted);
	TEST(test_wire_in_order);
	TEST(test_wire_reordered_repeated_secrets_late);
	TEST(test_wire_not_tls);
	TEST(test_give_up);
	return TEST_EXIT();
}
