/* SPDX-License-Identifier: MIT */
/*
 * The HTTP processor and parsers (runtime/http): streams built here byte by
 * byte (HTTP/2 header blocks by nghttp2's deflater), fed whole and cut at
 * every offset, and the json messages compared.
 */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <brotli/encode.h>
#include <nghttp2/nghttp2.h>
#include "check.h"
#include "http.h"

#define NOW 1800000000000000000ull

struct bytes {
	uint8_t *p;
	size_t len, cap;
};

static void put(struct bytes *b, const void *data, size_t len)
{
	if (!len)
		return;
	if (b->len + len > b->cap) {
		b->cap = (b->len + len) * 2 + 64;
		b->p = realloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
}

static void puts_b(struct bytes *b, const char *s)
{
	put(b, s, strlen(s));
}

/* ---- running the processor ----------------------------------------------- */

struct run {
	struct ps_http_processor *p;
	char *out;
	size_t out_len;
	FILE *f;
	bool text;
};

static void emit(const struct ps_http_message *msg, void *arg)
{
	struct run *r = arg;

	if (r->text)
		ps_http_write_text(r->f, msg);
	else
		ps_http_write_json(r->f, msg);
}

static void run_start(struct run *r, uint64_t body_max)
{
	struct ps_http_limits limits;

	memset(r, 0, sizeof(*r));
	ps_http_limits_default(&limits);
	limits.body_max = body_max;
	r->f = open_memstream(&r->out, &r->out_len);
	r->p = ps_http_processor_new(&limits, emit, r);
}

static bool push(struct run *r, enum ps_http_dir dir, const uint8_t *data, size_t len)
{
	struct ps_http_chunk c = { .pid = 42, .tid = 42, .comm = "test", .fd = 7, .dir = dir,
				   .mono_ns = 1, .time_ns = NOW, .data = data, .len = len };

	c.tuple.family = 2;
	c.tuple.sport = 40000;
	c.tuple.dport = 443;
	return ps_http_push(r->p, &c);
}

/* One call on connection fd of process 42; sport 0: its 4-tuple unknown. */
static bool push_on(struct run *r, int32_t fd, uint16_t sport, enum ps_http_dir dir, const char *text)
{
	struct ps_http_chunk c = { .pid = 42, .tid = 42, .comm = "test", .fd = fd, .dir = dir,
				   .mono_ns = 1, .time_ns = NOW, .data = (const uint8_t *)text, .len = strlen(text) };

	if (sport) {
		c.tuple.family = 2;
		c.tuple.sport = sport;
		c.tuple.dport = 443;
	}
	return ps_http_push(r->p, &c);
}

/* Ends the run: the json lines, the caller's to free. */
static char *run_end(struct run *r, struct ps_http_counters *counters)
{
	ps_http_flush(r->p);
	if (counters)
		*counters = *ps_http_counters(r->p);
	ps_http_processor_free(r->p);
	fclose(r->f);
	return r->out;
}

/*
 * Two streams fed in turns: each direction cut at `cut` (one piece when 0),
 * client first, then the server.
 */
static char *feed_cut(const struct bytes *client, const struct bytes *server, size_t cut, size_t step)
{
	struct run r;
	const struct bytes *s[2] = { client, server };

	run_start(&r, 0);
	for (int d = 0; d < 2; d++) {
		size_t first = cut && cut < s[d]->len ? cut : s[d]->len;

		if (step) {
			for (size_t off = 0; off < s[d]->len; off += step)
				push(&r, d, s[d]->p + off, s[d]->len - off < step ? s[d]->len - off : step);
			continue;
		}
		push(&r, d, s[d]->p, first);
		if (first < s[d]->len)
			push(&r, d, s[d]->p + first, s[d]->len - first);
	}
	return run_end(&r, NULL);
}

static int count(const char *haystack, const char *needle)
{
	int n = 0;

	for (const char *p = haystack; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

#define CHECK_HAS(out, s) do { if (!strstr((out), (s))) { fprintf(stderr, "  missing %s in:\n%s\n", (s), (out)); check_failures_in_test++; } } while (0)

/* Every cut of both streams, and byte by byte, gives what the whole does. */
static void check_every_cut(const struct bytes *client, const struct bytes *server, const char *what)
{
	char *whole = feed_cut(client, server, 0, 0);
	size_t longest = client->len > server->len ? client->len : server->len;
	int bad = 0;

	for (size_t cut = 1; cut < longest && bad < 3; cut++) {
		char *out = feed_cut(client, server, cut, 0);

		if (strcmp(out, whole) != 0) {
			fprintf(stderr, "  %s: cut at %zu differs:\n%s\n  whole:\n%s\n", what, cut, out, whole);
			bad++;
		}
		free(out);
	}
	char *bytewise = feed_cut(client, server, 0, 1);
	if (strcmp(bytewise, whole) != 0) {
		fprintf(stderr, "  %s: byte by byte differs:\n%s\n  whole:\n%s\n", what, bytewise, whole);
		bad++;
	}
	free(bytewise);
	CHECK_INT(bad, 0);
	free(whole);
}

/* ---- HTTP/1.x ------------------------------------------------------------ */

static void gzip_bytes(const char *text, struct bytes *out, int window_bits)
{
	z_stream z = { 0 };
	uint8_t buf[4096];

	deflateInit2(&z, 6, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY);
	z.next_in = (Bytef *)text;
	z.avail_in = (uInt)strlen(text);
	z.next_out = buf;
	z.avail_out = sizeof(buf);
	deflate(&z, Z_FINISH);
	put(out, buf, sizeof(buf) - z.avail_out);
	deflateEnd(&z);
}

static void http1_streams(struct bytes *client, struct bytes *server)
{
	struct bytes gz = { 0 };
	char line[64];

	/* pipelined: a GET, a POST with a chunked body and a trailer, a HEAD */
	puts_b(client, "GET /a?x=1 HTTP/1.1\r\nHost: example.test\r\nX-Order: first\r\nAccept: */*\r\n\r\n");
	puts_b(client, "POST /upload HTTP/1.1\r\nHost: example.test\r\nTransfer-Encoding: chunked\r\n\r\n"
		       "5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n");
	puts_b(client, "HEAD /h HTTP/1.1\r\nHost: example.test\r\n\r\n");
	puts_b(server, "HTTP/1.1 200 OK\r\nContent-Length: 12\r\nContent-Type: text/plain\r\n\r\nfirst body\r\n");
	gzip_bytes("the upload was received, gzip'd", &gz, 15 + 16);
	puts_b(server, "HTTP/1.1 201 Created\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n");
	snprintf(line, sizeof(line), "%zx\r\n", gz.len - 10);
	puts_b(server, line);
	put(server, gz.p, gz.len - 10);
	snprintf(line, sizeof(line), "\r\n%x\r\n", 10);
	puts_b(server, line);
	put(server, gz.p + gz.len - 10, 10);
	puts_b(server, "\r\n0\r\n\r\n");
	puts_b(server, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");  /* HEAD: no body */
	free(gz.p);
}

static void test_http1_messages(void)
{
	struct bytes client = { 0 }, server = { 0 };
	char *out;

	http1_streams(&client, &server);
	out = feed_cut(&client, &server, 0, 0);
	CHECK_INT(count(out, "\"proto\": \"http1\""), 6);
	CHECK_HAS(out, "\"method\": \"GET\", \"path\": \"/a?x=1\", \"authority\": \"example.test\"");
	CHECK_HAS(out, "\"headers\": [[\"Host\", \"example.test\"], [\"X-Order\", \"first\"], [\"Accept\", \"*/*\"]]");
	CHECK_HAS(out, "\"trailers\": [[\"X-Trailer\", \"t\"]], \"body\": \"hello, world\", \"body_len\": 12");
	CHECK_HAS(out, "\"body\": \"first body\\u000d\\u000a\"");
	CHECK_HAS(out, "\"method\": \"POST\", \"path\": \"/upload\", \"authority\": \"example.test\", \"status\": 201");
	CHECK_HAS(out, "\"body\": \"the upload was received, gzip'd\", \"body_len\": 31, \"content_encoding\": \"gzip\"");
	CHECK_HAS(out, "\"method\": \"HEAD\", \"path\": \"/h\", \"authority\": \"example.test\", \"status\": 200");
	CHECK(!strstr(out, "\"note\""));
	free(out);
	free(client.p);
	free(server.p);
}

static void test_http1_every_cut(void)
{
	struct bytes client = { 0 }, server = { 0 };

	http1_streams(&client, &server);
	check_every_cut(&client, &server, "http1");
	free(client.p);
	free(server.p);
}

static void response_with(const char *coding, const struct bytes *body, const char *want)
{
	struct bytes server = { 0 };
	char head[256];
	struct run r;
	char *out;

	snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Encoding: %s\r\nContent-Length: %zu\r\n\r\n", coding,
		 body->len);
	puts_b(&server, head);
	put(&server, body->p, body->len);
	run_start(&r, 0);
	push(&r, PS_HTTP_READ, server.p, server.len);
	out = run_end(&r, NULL);
	CHECK_HAS(out, want);
	free(out);
	free(server.p);
}

static void test_http1_codings(void)
{
	const char *text = "deflate and brotli and gzip, all the same text";
	struct bytes zlib = { 0 }, raw = { 0 }, br = { 0 }, junk = { 0 };
	size_t br_len = 256;

	gzip_bytes(text, &zlib, 15);
	gzip_bytes(text, &raw, -15);
	br.p = malloc(br_len);
	CHECK(BrotliEncoderCompress(5, 22, BROTLI_MODE_TEXT, strlen(text), (const uint8_t *)text, &br_len, br.p));
	br.len = br_len;
	puts_b(&junk, "\x1f\x8b not gzip at all");
	response_with("deflate", &zlib, "\"body\": \"deflate and brotli and gzip, all the same text\"");
	response_with("deflate", &raw, "\"content_encoding\": \"deflate\"");
	response_with("br", &br, "\"body\": \"deflate and brotli and gzip, all the same text\", \"body_len\": 46, "
				 "\"content_encoding\": \"br\"");
	response_with("gzip", &junk, "\"decode_error\": \"compressed body is corrupt\"");
	free(zlib.p);
	free(raw.p);
	free(br.p);
	free(junk.p);
}

static void test_http1_tsize(void)
{
	const char *resp = "HTTP/1.1 200 OK\r\nContent-Length: 26\r\n\r\nabcdefghijklmnopqrstuvwxyz";
	struct run r;
	char *out;

	run_start(&r, 10);
	push(&r, PS_HTTP_READ, (const uint8_t *)resp, strlen(resp));
	out = run_end(&r, NULL);
	CHECK_HAS(out, "\"body\": \"abcdefghij\", \"body_len\": 26, \"body_truncated\": 16");
	free(out);
	run_start(&r, 10);
	r.text = true;
	push(&r, PS_HTTP_READ, (const uint8_t *)resp, strlen(resp));
	out = run_end(&r, NULL);
	CHECK_HAS(out, "| abcdefghij\n");
	CHECK_HAS(out, "[... 16 more bytes of body not shown: -t/--tsize]");
	free(out);
}

static void test_http1_malformed(void)
{
	const char *bad_chunk = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n";
	const char *bad_length = "HTTP/1.1 200 OK\r\nContent-Length: 12x\r\n\r\n";
	const char *not_http = "SSH-2.0-OpenSSH_9.2\r\n";
	struct ps_http_counters counters;
	struct bytes big = { 0 };
	struct run r;
	char *out;

	run_start(&r, 0);
	CHECK(push(&r, PS_HTTP_READ, (const uint8_t *)bad_chunk, strlen(bad_chunk)));
	/* the direction is raw now: its records go out as records */
	CHECK(!push(&r, PS_HTTP_READ, (const uint8_t *)"more", 4));
	out = run_end(&r, &counters);
	CHECK_HAS(out, "\"proto\": \"raw\", \"type\": \"raw\"");
	CHECK_HAS(out, "\"note\": \"a bad chunk size\"");
	CHECK_HAS(out, "\"body\": \"zz\\u000d\\u000ahello\\u000d\\u000a0\\u000d\\u000a\\u000d\\u000a\"");
	CHECK_INT(counters.raw_fallbacks, 1);
	free(out);

	/* a call that is all bad goes back to be written as the record it is */
	run_start(&r, 0);
	CHECK(!push(&r, PS_HTTP_READ, (const uint8_t *)bad_length, strlen(bad_length)));
	out = run_end(&r, &counters);
	CHECK_STR(out, "");
	CHECK_INT(counters.raw_fallbacks, 1);
	free(out);

	/* after a good message in the same call, the rest is a raw message saying why */
	{
		struct bytes two = { 0 };

		puts_b(&two, "HTTP/1.1 204 No Content\r\n\r\n");
		puts_b(&two, bad_length);
		run_start(&r, 0);
		CHECK(push(&r, PS_HTTP_READ, two.p, two.len));
		out = run_end(&r, NULL);
		CHECK_HAS(out, "\"status\": 204");
		CHECK_HAS(out, "\"note\": \"a bad Content-Length\"");
		free(out);
		free(two.p);
	}

	/* no header section: given up at its first bad line, not after 256 KiB */
	{
		const char *pump = "HTTP/1.1 200 OK bench payload\nHTTP/1.1 200 OK bench payload: more\n";

		run_start(&r, 0);
		CHECK(push(&r, PS_HTTP_WRITE, (const uint8_t *)"GET / HTTP/1.1\r\n", 16));
		CHECK(!push(&r, PS_HTTP_READ, (const uint8_t *)pump, strlen(pump)));
		out = run_end(&r, &counters);
		CHECK_INT(counters.raw_fallbacks, 2);
		free(out);
	}

	/* not HTTP: never taken, never altered */
	run_start(&r, 0);
	CHECK(!push(&r, PS_HTTP_WRITE, (const uint8_t *)not_http, strlen(not_http)));
	out = run_end(&r, NULL);
	CHECK_STR(out, "");
	free(out);

	/* begun mid-body: records until a call begins with a message, then messages */
	run_start(&r, 0);
	CHECK(!push(&r, PS_HTTP_READ, (const uint8_t *)"the end of some body\r\n", 22));
	CHECK(push(&r, PS_HTTP_READ, (const uint8_t *)bad_length, 17));
	CHECK(push(&r, PS_HTTP_READ, (const uint8_t *)"Content-Length: 2\r\n\r\nok", 23));
	out = run_end(&r, NULL);
	CHECK_HAS(out, "\"status\": 200, \"reason\": \"OK\"");
	CHECK_HAS(out, "\"body\": \"ok\"");
	free(out);

	/* a 1 MiB header list */
	puts_b(&big, "GET / HTTP/1.1\r\n");
	while (big.len < (1u << 20))
		puts_b(&big, "X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
	run_start(&r, 0);
	for (size_t off = 0; off < big.len; off += 65536)
		push(&r, PS_HTTP_WRITE, big.p + off, big.len - off < 65536 ? big.len - off : 65536);
	out = run_end(&r, &counters);
	CHECK_HAS(out, "\"note\": \"a header section longer than 256 KiB\"");
	CHECK_INT(counters.raw_fallbacks, 1);
	free(out);
	free(big.p);
}

static void test_http1_upgrade(void)
{
	const char *req = "GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
	const char *resp = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
	struct run r;
	char *out;

	run_start(&r, 0);
	CHECK(push(&r, PS_HTTP_WRITE, (const uint8_t *)req, strlen(req)));
	CHECK(push(&r, PS_HTTP_READ, (const uint8_t *)resp, strlen(resp)));
	/* WebSocket frames go out as records, in both directions */
	CHECK(!push(&r, PS_HTTP_READ, (const uint8_t *)"\x81\x05hello", 7));
	CHECK(!push(&r, PS_HTTP_WRITE, (const uint8_t *)"\x81\x85....", 7));
	out = run_end(&r, NULL);
	CHECK_INT(count(out, "\"proto\": \"http1\""), 2);
	CHECK_HAS(out, "\"status\": 101");
	CHECK(!strstr(out, "\"raw\""));
	free(out);
}

/* The json line of the first message holding s, or "" (it ends at its newline). */
static const char *line_with(const char *out, const char *s)
{
	const char *at = strstr(out, s);

	if (!at)
		return "";
	while (at > out && at[-1] != '\n')
		at--;
	return at;
}

static bool line_has(const char *line, const char *s)
{
	const char *nl = strchr(line, '\n'), *at = strstr(line, s);

	return at && (!nl || at < nl);
}

/*
 * No 4-tuple (a Unix socket, a memory BIO): connections told apart by fd
 * alone, two of them interleaved; each response paired with its own
 * connection's requests, in order. A record that knows the tuple joins the
 * connection its fd holds.
 */
static void test_http1_unknown_tuple(void)
{
	struct run r;
	char *out;

	run_start(&r, 0);
	CHECK(push_on(&r, 7, 0, PS_HTTP_WRITE, "GET /a1 HTTP/1.1\r\nHost: a\r\n\r\nGET /a2 HTTP/1.1\r\nHost: a\r\n\r\n"));
	CHECK(push_on(&r, 8, 0, PS_HTTP_WRITE, "GET /b1 HTTP/1.1\r\nHost: b\r\n\r\n"));
	CHECK(push_on(&r, 8, 0, PS_HTTP_READ, "HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nb1"));
	CHECK(push_on(&r, 7, 0, PS_HTTP_READ, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\na1"));
	/* the same connection, its 4-tuple learned late */
	CHECK(push_on(&r, 7, 40001, PS_HTTP_READ, "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\na2"));
	CHECK(push_on(&r, 7, 0, PS_HTTP_WRITE, "GET /a3 HTTP/1.1\r\nHost: a\r\n\r\n"));
	CHECK(push_on(&r, 7, 0, PS_HTTP_READ, "HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\na3"));
	out = run_end(&r, NULL);
	CHECK_INT(count(out, "\"type\": \"request\""), 4);
	CHECK_INT(count(out, "\"type\": \"response\""), 4);
	CHECK_HAS(out, "\"path\": \"/b1\", \"authority\": \"b\", \"status\": 404");
	CHECK_HAS(out, "\"path\": \"/a1\", \"authority\": \"a\", \"status\": 200");
	CHECK_HAS(out, "\"path\": \"/a2\", \"authority\": \"a\", \"status\": 201");
	CHECK_HAS(out, "\"path\": \"/a3\", \"authority\": \"a\", \"status\": 202");
	CHECK(line_has(line_with(out, "\"status\": 404"), "\"fd\": 8"));
	CHECK(line_has(line_with(out, "\"status\": 202"), "\"fd\": 7"));
	CHECK(!strstr(out, "\"note\""));
	free(out);
}

/*
 * A response with neither Content-Length nor chunked coding ends with the
 * connection (RFC 9112 6.3 rule 8): complete when the fd is seen to hold
 * another connection (another 4-tuple; with none known, a new request),
 * marked as cut by exit when plainsight stops first.
 */
static void test_http1_body_until_close(void)
{
	const char *resp1 = "HTTP/1.0 200 OK\r\nServer: old\r\n\r\nfirst body, ", *more = "then more\n";
	struct ps_http_counters counters;
	struct run r;
	char *out;

	for (int known = 0; known < 2; known++) {
		uint16_t first = known ? 40001 : 0, second = known ? 40002 : 0;

		run_start(&r, 0);
		CHECK(push_on(&r, 7, first, PS_HTTP_WRITE, "GET /one HTTP/1.1\r\nHost: a\r\n\r\n"));
		CHECK(push_on(&r, 7, first, PS_HTTP_READ, resp1));
		CHECK(push_on(&r, 7, first, PS_HTTP_READ, more));
		/* still open: not yet a message */
		fflush(r.f);
		CHECK_INT(count(r.out, "\"type\": \"response\""), 0);
		/* the fd again, now another connection */
		CHECK(push_on(&r, 7, second, PS_HTTP_WRITE, "GET /two HTTP/1.0\r\n\r\n"));
		fflush(r.f);
		CHECK_INT(count(r.out, "\"type\": \"response\""), 1);
		CHECK(push_on(&r, 7, second, PS_HTTP_READ, "HTTP/1.0 200 OK\r\nConnection: close\r\n\r\nsecond"));
		out = run_end(&r, &counters);
		CHECK_INT(count(out, "\"type\": \"response\""), 2);
		CHECK(line_has(line_with(out, "\"path\": \"/one\", \"authority\": \"a\", \"status\": 200"),
			       "\"body\": \"first body, then more\\u000a\", \"body_len\": 22"));
		CHECK(!line_has(line_with(out, "\"path\": \"/one\", \"authority\": \"a\", \"status\": 200"), "\"note\""));
		CHECK(line_has(line_with(out, "\"path\": \"/two\", \"status\": 200"),
			       "\"body\": \"second\", \"body_len\": 6"));
		CHECK(line_has(line_with(out, "\"path\": \"/two\", \"status\": 200"),
			       "\"note\": \"body delimited by the connection's close: cut by exit, the connection still open\""));
		CHECK_INT(counters.raw_fallbacks, 0);
		CHECK_INT(counters.skipped_bytes, 0);
		free(out);
	}
}

/* ---- HTTP/2 -------------------------------------------------------------- */

static void frame(struct bytes *b, uint8_t type, uint8_t flags, uint32_t stream, const void *payload, size_t len)
{
	uint8_t h[9] = { (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len, type, flags,
			 (uint8_t)(stream >> 24), (uint8_t)(stream >> 16), (uint8_t)(stream >> 8), (uint8_t)stream };

	put(b, h, 9);
	put(b, payload, len);
}

#define NV(n, v) { (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, sizeof(v) - 1, NGHTTP2_NV_FLAG_NONE }

static size_t hpack(nghttp2_hd_deflater *d, const nghttp2_nv *nva, size_t n, uint8_t *out, size_t cap)
{
	ssize_t len = nghttp2_hd_deflate_hd(d, out, cap, nva, n);

	CHECK(len > 0);
	return len > 0 ? (size_t)len : 0;
}

/* A HEADERS frame on stream with flags: nva, n fields, compressed by d (whose table they change). */
static void headers_frame(struct bytes *b, nghttp2_hd_deflater *d, const nghttp2_nv *nva, size_t n, uint8_t flags,
			  uint32_t stream)
{
	uint8_t block[1024];

	frame(b, 1, flags, stream, block, hpack(d, nva, n, block, sizeof(block)));
}

static void h2_streams(struct bytes *client, struct bytes *server)
{
	nghttp2_hd_deflater *cd, *sd;
	uint8_t block[1024], payload[64];
	const nghttp2_nv req1[] = { NV(":method", "GET"), NV(":path", "/one"), NV(":scheme", "https"),
				    NV(":authority", "h2.test"), NV("user-agent", "unit/1") };
	const nghttp2_nv req2[] = { NV(":method", "POST"), NV(":path", "/two"), NV(":scheme", "https"),
				    NV(":authority", "h2.test"), NV("user-agent", "unit/1"),
				    NV("content-type", "text/plain") };
	const nghttp2_nv resp[] = { NV(":status", "200"), NV("server", "unit"), NV("content-type", "text/plain") };
	const nghttp2_nv push_req[] = { NV(":method", "GET"), NV(":path", "/pushed.css"), NV(":scheme", "https"),
					NV(":authority", "h2.test") };
	const nghttp2_nv trailers[] = { NV("x-checksum", "abc") };
	const uint8_t settings[] = { 0, 1, 0, 0, 0x10, 0 };   /* HEADER_TABLE_SIZE 4096 */
	const uint8_t goaway[] = { 0, 0, 0, 3, 0, 0, 0, 0 };
	size_t n, half;

	nghttp2_hd_deflate_new(&cd, 4096);
	nghttp2_hd_deflate_new(&sd, 4096);
	puts_b(client, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
	frame(client, 4, 0, 0, settings, sizeof(settings));
	frame(server, 4, 0, 0, settings, sizeof(settings));
	frame(server, 4, 1, 0, NULL, 0);
	frame(client, 4, 1, 0, NULL, 0);
	/* stream 1: HEADERS with priority and padding, END_STREAM */
	n = hpack(cd, req1, 5, block, sizeof(block));
	payload[0] = 3;             /* pad length */
	memset(payload + 1, 0, 5);  /* priority: dependency 0, weight 0 */
	{
		struct bytes p = { 0 };

		put(&p, payload, 6);
		put(&p, block, n);
		put(&p, "\0\0\0", 3);
		frame(client, 1, 0x1 | 0x4 | 0x8 | 0x20, 1, p.p, p.len);
		free(p.p);
	}
	/* stream 3: HEADERS split by CONTINUATION, then DATA in two frames (one padded) */
	n = hpack(cd, req2, 6, block, sizeof(block));
	half = n / 2;
	frame(client, 1, 0, 3, block, half);
	frame(client, 9, 0x4, 3, block + half, n - half);
	frame(client, 0, 0, 3, "part one, ", 10);
	payload[0] = 2;
	memcpy(payload + 1, "part two", 8);
	memset(payload + 9, 0, 2);
	frame(client, 0, 0x1 | 0x8, 3, payload, 11);
	frame(client, 8, 0, 0, "\0\0\x10\0", 4);        /* WINDOW_UPDATE */
	frame(client, 6, 0, 0, "pingping", 8);          /* PING */
	frame(client, 2, 0, 3, "\0\0\0\0\x10", 5);      /* PRIORITY */
	frame(client, 0xfa, 0, 0, "unknown", 7);        /* an unknown type: ignored */
	/* server: PUSH_PROMISE of stream 2 on stream 1, responses, trailers, RST_STREAM, GOAWAY */
	{
		struct bytes p = { 0 };

		put(&p, "\0\0\0\x02", 4);
		n = hpack(sd, push_req, 4, block, sizeof(block));
		put(&p, block, n);
		frame(server, 5, 0x4, 1, p.p, p.len);
		free(p.p);
	}
	headers_frame(server, sd, resp, 3, 0x4, 1);
	frame(server, 0, 0x1, 1, "one's body", 10);
	headers_frame(server, sd, resp, 3, 0x4, 3);   /* now all from the dynamic table */
	frame(server, 0, 0, 3, "two's body", 10);
	headers_frame(server, sd, trailers, 1, 0x4 | 0x1, 3);
	headers_frame(server, sd, resp, 3, 0x4, 2);
	frame(server, 3, 0, 2, "\0\0\0\x08", 4);        /* RST_STREAM CANCEL */
	frame(server, 7, 0, 0, goaway, sizeof(goaway));
	nghttp2_hd_deflate_del(cd);
	nghttp2_hd_deflate_del(sd);
}

static void test_h2_messages(void)
{
	struct bytes client = { 0 }, server = { 0 };
	struct ps_http_counters counters;
	struct run r;
	char *out;

	h2_streams(&client, &server);
	run_start(&r, 0);
	CHECK(push(&r, PS_HTTP_WRITE, client.p, client.len));
	CHECK(push(&r, PS_HTTP_READ, server.p, server.len));
	out = run_end(&r, &counters);
	CHECK_HAS(out, "\"type\": \"request\", \"method\": \"GET\", \"path\": \"/one\", \"authority\": \"h2.test\", "
		       "\"stream_id\": 1, \"headers\": [[\":method\", \"GET\"], [\":path\", \"/one\"], [\":scheme\", "
		       "\"https\"], [\":authority\", \"h2.test\"], [\"user-agent\", \"unit/1\"]]");
	CHECK_HAS(out, "\"path\": \"/two\", \"authority\": \"h2.test\", \"stream_id\": 3");
	CHECK_HAS(out, "\"body\": \"part one, part two\"");
	CHECK_HAS(out, "\"method\": \"GET\", \"path\": \"/pushed.css\", \"authority\": \"h2.test\", \"stream_id\": 2, "
		       "\"push_promise\": true");
	CHECK_HAS(out, "\"path\": \"/one\", \"authority\": \"h2.test\", \"status\": 200, \"stream_id\": 1, \"headers\": "
		       "[[\":status\", \"200\"], [\"server\", \"unit\"], [\"content-type\", \"text/plain\"]], "
		       "\"body\": \"one's body\"");
	CHECK_HAS(out, "\"method\": \"POST\", \"path\": \"/two\", \"authority\": \"h2.test\", \"status\": 200, "
		       "\"stream_id\": 3, \"headers\": [[\":status\", \"200\"], [\"server\", \"unit\"], [\"content-type\", "
		       "\"text/plain\"]], \"trailers\": [[\"x-checksum\", \"abc\"]], \"body\": \"two's body\"");
	CHECK_HAS(out, "\"control\": \"RST_STREAM\", \"error_code\": 8");
	CHECK_HAS(out, "\"path\": \"/pushed.css\", \"authority\": \"h2.test\", \"status\": 200, \"stream_id\": 2");
	CHECK_HAS(out, "\"note\": \"stream reset (RST_STREAM)\"");
	CHECK_HAS(out, "\"control\": \"GOAWAY\", \"error_code\": 0, \"last_stream_id\": 3");
	CHECK_INT(counters.stream_errors, 0);
	CHECK_INT(counters.hpack_lost, 0);
	CHECK_INT(counters.raw_fallbacks, 0);
	free(out);
	free(client.p);
	free(server.p);
}

static void test_h2_every_cut(void)
{
	struct bytes client = { 0 }, server = { 0 };

	h2_streams(&client, &server);
	check_every_cut(&client, &server, "http2");
	free(client.p);
	free(server.p);
}

/* Size updates in the blocks: to 0 (the table emptied), to 256, back to 4096. */
static void test_h2_table_size_updates(void)
{
	nghttp2_hd_deflater *cd;
	struct bytes client = { 0 };
	const nghttp2_nv req[] = { NV(":method", "GET"), NV(":path", "/same"), NV(":scheme", "https"),
				   NV(":authority", "size.test"), NV("x-long", "a value long enough to be indexed") };
	const size_t sizes[] = { 4096, 0, 256, 4096, 64, 4096 };
	struct ps_http_counters counters;
	struct run r;
	char *out;

	nghttp2_hd_deflate_new(&cd, 4096);
	puts_b(&client, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		CHECK_INT(nghttp2_hd_deflate_change_table_size(cd, sizes[i]), 0);
		headers_frame(&client, cd, req, 5, 0x5, 1 + 2 * (uint32_t)i);
		headers_frame(&client, cd, req, 5, 0x5, 101 + 2 * (uint32_t)i);   /* again: indexed where the table holds it */
	}
	run_start(&r, 0);
	push(&r, PS_HTTP_WRITE, client.p, client.len);
	out = run_end(&r, &counters);
	CHECK_INT(count(out, "[\"x-long\", \"a value long enough to be indexed\"]"), 12);
	CHECK_INT(count(out, "\"path\": \"/same\", \"authority\": \"size.test\""), 12);
	CHECK_INT(counters.stream_errors, 0);
	CHECK_INT(counters.hpack_lost, 0);
	free(out);
	free(client.p);
	nghttp2_hd_deflate_del(cd);
}

/*
 * The capture starts after the first request: its dynamic entries are lost.
 * Fields that referred to them are marked, the rest decode, and entries the
 * later blocks add decode too.
 */
static void test_h2_mid_connection(void)
{
	nghttp2_hd_deflater *cd;
	struct bytes before = { 0 }, after = { 0 };
	const nghttp2_nv first[] = { NV(":method", "GET"), NV(":path", "/first"), NV(":scheme", "https"),
				     NV(":authority", "mid.test"), NV("cookie", "session=1234"),
				     NV("x-custom", "value-one") };
	const nghttp2_nv second[] = { NV(":method", "GET"), NV(":path", "/second"), NV(":scheme", "https"),
				      NV(":authority", "mid.test"), NV("cookie", "session=1234"),
				      NV("x-new", "only from here on"), NV("x-custom", "value-two") };
	const nghttp2_nv third[] = { NV(":method", "GET"), NV(":path", "/third"), NV(":scheme", "https"),
				     NV(":authority", "mid.test"), NV("x-new", "only from here on"),
				     NV("x-custom", "value-two") };
	struct ps_http_counters counters;
	struct run r;
	char *out;

	nghttp2_hd_deflate_new(&cd, 4096);
	headers_frame(&before, cd, first, 6, 0x5, 1);
	headers_frame(&after, cd, second, 7, 0x5, 3);
	headers_frame(&after, cd, third, 6, 0x5, 5);
	run_start(&r, 0);
	CHECK(push(&r, PS_HTTP_WRITE, after.p, after.len));
	out = run_end(&r, &counters);
	/*
	 * :authority was indexed by the first request: lost. nghttp2 never
	 * indexes a cookie shorter than 20 bytes: it decodes.
	 */
	CHECK_HAS(out, "\"path\": \"/second\", \"stream_id\": 3, \"headers\": [[\":method\", \"GET\"], [\":path\", "
		       "\"/second\"], [\":scheme\", \"https\"], [\"?\", \"?\", \"lost\"], [\"cookie\", \"session=1234\"], "
		       "[\"x-new\", \"only from here on\"], [\"?\", \"value-two\", \"lost\"]]");
	/* x-custom's new entry came with a lost name: its value decodes, its name stays unknown */
	CHECK_HAS(out, "\"path\": \"/third\", \"stream_id\": 5, \"headers\": [[\":method\", \"GET\"], [\":path\", "
		       "\"/third\"], [\":scheme\", \"https\"], [\"?\", \"?\", \"lost\"], [\"x-new\", \"only from here on\"], "
		       "[\"?\", \"value-two\", \"lost\"]]");
	CHECK_INT(counters.hpack_lost, 4);
	CHECK_INT(counters.raw_fallbacks, 0);
	free(out);
	free(before.p);
	free(after.p);
	nghttp2_hd_deflate_del(cd);
}

static void test_h2_malformed(void)
{
	nghttp2_hd_deflater *cd;
	struct bytes s = { 0 }, cut = { 0 };
	const nghttp2_nv req[] = { NV(":method", "GET"), NV(":path", "/ok"), NV(":scheme", "https"),
				   NV(":authority", "bad.test") };
	struct ps_http_counters counters;
	struct run r;
	char *out;

	/* a block nghttp2 refuses on stream 1, bad padding on stream 3, stream 5 fine */
	nghttp2_hd_deflate_new(&cd, 4096);
	puts_b(&s, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
	frame(&s, 1, 0x5, 1, "\x80", 1);                /* indexed field 0: a decoding error */
	frame(&s, 1, 0x5 | 0x8, 3, "\x09" "abc", 4);    /* 9 bytes of padding in 4 */
	headers_frame(&s, cd, req, 4, 0x5, 5);
	run_start(&r, 0);
	push(&r, PS_HTTP_WRITE, s.p, s.len);
	out = run_end(&r, &counters);
	CHECK_HAS(out, "\"stream_id\": 1, \"headers\": []");
	CHECK_HAS(out, "\"note\": \"a header block nghttp2 cannot decode\"");
	CHECK_HAS(out, "\"path\": \"/ok\", \"authority\": \"bad.test\", \"stream_id\": 5");
	CHECK_INT(counters.stream_errors, 2);
	free(out);

	/* a frame whose length runs past what ever came */
	puts_b(&cut, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
	frame(&cut, 0, 0, 1, "0123456789", 10);
	cut.p[24 + 1] = 0x10;   /* length 4096 + 10 */
	run_start(&r, 0);
	push(&r, PS_HTTP_WRITE, cut.p, cut.len);
	out = run_end(&r, &counters);
	CHECK_HAS(out, "\"proto\": \"raw\", \"type\": \"raw\"");
	CHECK_HAS(out, "\"note\": \"an incomplete frame when the capture ended\"");
	free(out);

	/* past the peer's SETTINGS_MAX_FRAME_SIZE */
	free(cut.p);
	memset(&cut, 0, sizeof(cut));
	frame(&cut, 4, 0, 0, "\0\x05\0\0\x40\0", 6);    /* MAX_FRAME_SIZE 16384 */
	run_start(&r, 0);
	push(&r, PS_HTTP_READ, cut.p, cut.len);
	free(cut.p);
	memset(&cut, 0, sizeof(cut));
	puts_b(&cut, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
	put(&cut, "\x01\0\0\0\0\0\0\0\x01", 9);          /* 65536 bytes of DATA */
	push(&r, PS_HTTP_WRITE, cut.p, cut.len);
	out = run_end(&r, &counters);
	CHECK_HAS(out, "\"note\": \"a frame longer than the peer's SETTINGS_MAX_FRAME_SIZE\"");
	free(out);

	/* a 1 MiB header list: one header block past the bound, the stream says so, the next decodes */
	{
		struct bytes big = { 0 }, blk = { 0 };
		uint8_t lit[8] = { 0x00, 0x01, 'x', 0x7f, 0x81, 0x7f };  /* literal, name "x", value length 127 + 256 */

		puts_b(&big, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
		while (blk.len < (1u << 20)) {
			uint8_t value[383];

			memset(value, 'v', sizeof(value));
			lit[4] = 0x80 | (383 - 127) % 128;
			lit[5] = (383 - 127) / 128;
			put(&blk, lit, 6);
			put(&blk, value, sizeof(value));
		}
		for (size_t off = 0; off < blk.len; off += 16384) {
			size_t len = blk.len - off < 16384 ? blk.len - off : 16384;

			frame(&big, off ? 9 : 1, (off + len == blk.len ? 0x4 : 0) | (off ? 0 : 0x1), 1, blk.p + off, len);
		}
		headers_frame(&big, cd, req, 4, 0x5, 3);
		run_start(&r, 0);
		for (size_t off = 0; off < big.len; off += 65536)
			push(&r, PS_HTTP_WRITE, big.p + off, big.len - off < 65536 ? big.len - off : 65536);
		out = run_end(&r, &counters);
		CHECK_HAS(out, "\"note\": \"a header block longer than 256 KiB: not decoded\"");
		CHECK_HAS(out, "\"stream_id\": 3");
		CHECK_INT(counters.raw_fallbacks, 0);
		free(out);
		free(big.p);
		free(blk.p);
	}
	free(s.p);
	free(cut.p);
	nghttp2_hd_deflate_del(cd);
}

static void test_grpc(void)
{
	nghttp2_hd_deflater *cd, *sd;
	struct bytes client = { 0 }, server = { 0 };
	const nghttp2_nv req[] = { NV(":method", "POST"), NV(":path", "/helloworld.Greeter/SayHello"),
				   NV(":scheme", "https"), NV(":authority", "grpc.test"),
				   NV("content-type", "application/grpc"), NV("te", "trailers") };
	const nghttp2_nv resp[] = { NV(":status", "200"), NV("content-type", "application/grpc+proto") };
	const nghttp2_nv trailers[] = { NV("grpc-status", "5"), NV("grpc-message", "not found") };
	struct run r;
	char *out;

	nghttp2_hd_deflate_new(&cd, 4096);
	nghttp2_hd_deflate_new(&sd, 4096);
	puts_b(&client, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
	headers_frame(&client, cd, req, 6, 0x4, 1);
	frame(&client, 0, 0x1, 1, "\0\0\0\0\x03" "abc" "\x01\0\0\0\x02" "zz", 15);
	headers_frame(&server, sd, resp, 2, 0x4, 1);
	frame(&server, 0, 0, 1, "\0\0\0\0\x01" "r", 6);
	headers_frame(&server, sd, trailers, 2, 0x5, 1);
	{
		const nghttp2_nv req_gz[] = { NV(":method", "POST"), NV(":path", "/helloworld.Greeter/SayHello"),
					      NV(":scheme", "https"), NV(":authority", "grpc.test"),
					      NV("content-type", "application/grpc"), NV("grpc-encoding", "gzip") };
		struct bytes gz = { 0 }, msg = { 0 };
		uint8_t prefix[5] = { 1, 0, 0, 0, 0 };

		gzip_bytes("compressed hello", &gz, 15 + 16);
		prefix[4] = (uint8_t)gz.len;
		put(&msg, prefix, 5);
		put(&msg, gz.p, gz.len);
		headers_frame(&client, cd, req_gz, 6, 0x4, 3);
		frame(&client, 0, 0x1, 3, msg.p, msg.len);
		free(gz.p);
		free(msg.p);
	}
	run_start(&r, 0);
	push(&r, PS_HTTP_WRITE, client.p, client.len);
	push(&r, PS_HTTP_READ, server.p, server.len);
	out = run_end(&r, NULL);
	CHECK_INT(count(out, "\"proto\": \"grpc\""), 3);
	/* "compressed hello" */
	CHECK_HAS(out, "\"messages\": [{\"compressed\": true, \"len\": 36, \"data_b64\": \"Y29tcHJlc3NlZCBoZWxsbw==\", "
		       "\"encoding\": \"gzip\"}]");
	CHECK_HAS(out, "\"grpc\": {\"service\": \"helloworld.Greeter\", \"method\": \"SayHello\", \"messages\": "
		       "[{\"compressed\": false, \"len\": 3, \"data_b64\": \"YWJj\"}, {\"compressed\": true, \"len\": 2, "
		       "\"data_b64\": \"eno=\"}]}");
	CHECK_HAS(out, "\"grpc\": {\"service\": \"helloworld.Greeter\", \"method\": \"SayHello\", \"status\": \"5\", "
		       "\"message\": \"not found\", \"messages\": [{\"compressed\": false, \"len\": 1, \"data_b64\": \"cg==\"}]}");
	free(out);
	free(client.p);
	free(server.p);
	nghttp2_hd_deflate_del(cd);
	nghttp2_hd_deflate_del(sd);
}

/* A reused fd: the client's preface again starts a new connection (new HPACK tables). */
static void test_h2_fd_reuse(void)
{
	nghttp2_hd_deflater *cd;
	struct bytes a = { 0 };
	const nghttp2_nv req[] = { NV(":method", "GET"), NV(":path", "/r"), NV(":scheme", "https"),
				   NV(":authority", "reuse.test") };
	struct ps_http_counters counters;
	struct run r;
	char *out;

	run_start(&r, 0);
	for (int i = 0; i < 2; i++) {
		nghttp2_hd_deflate_new(&cd, 4096);
		a.len = 0;
		puts_b(&a, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
		headers_frame(&a, cd, req, 4, 0x5, 1);
		push(&r, PS_HTTP_WRITE, a.p, a.len);
		nghttp2_hd_deflate_del(cd);
	}
	out = run_end(&r, &counters);
	CHECK_INT(count(out, "\"authority\": \"reuse.test\", \"stream_id\": 1"), 2);
	CHECK_INT(counters.hpack_lost, 0);
	free(out);
	free(a.p);
}

int main(void)
{
	TEST(test_http1_messages);
	TEST(test_http1_every_cut);
	TEST(test_http1_codings);
	TEST(test_http1_tsize);
	TEST(test_http1_malformed);
	TEST(test_http1_upgrade);
	TEST(test_http1_unknown_tuple);
	TEST(test_http1_body_until_close);
	TEST(test_h2_messages);
	TEST(test_h2_every_cut);
	TEST(test_h2_table_size_updates);
	TEST(test_h2_mid_connection);
	TEST(test_h2_malformed);
	TEST(test_grpc);
	TEST(test_h2_fd_reuse);
	return TEST_EXIT();
}
