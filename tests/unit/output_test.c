/* SPDX-License-Identifier: MIT */
/* Text and JSON writers and their format helpers: runtime/output/. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include "check.h"
#include "test_writer.h"
#include "output.h"
#include "reach.h"

#include "test_events.h"

/* 2026-11-29T11:45:01.123456789Z */
#define TEST_TIME_NS (1795952701ULL * 1000000000ULL + 123456789ULL)
#define TEST_HEADER "2026-11-29T11:45:01.123456789Z tls "
#define TEST_IDS "pid=1234 tid=1235 uid=1000 comm=curl"

static char temp_path[64];

static void make_temp_path(void)
{
	snprintf(temp_path, sizeof(temp_path), "/tmp/ps_output_test.%d", (int)getpid());
}

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *text = NULL;
	size_t size = 0;
	FILE *mem;
	char buf[65536];
	size_t n;

	if (!f)
		return NULL;
	mem = open_memstream(&text, &size);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, mem);
	fclose(mem);
	fclose(f);
	return text;
}

/* Closes w, which must close cleanly, and returns what it wrote to temp_path. */
static char *close_and_read(struct ps_writer *w)
{
	CHECK_INT(ps_writer_close(w), 0);
	return read_all(temp_path);
}

/* Writes records with a fresh writer and returns what landed in the file. */
static char *write_records(const struct ps_output_opts *opts, const struct ps_record *recs, size_t n)
{
	struct ps_writer *w = open_writer(temp_path, opts);
	char *text;

	CHECK(w != NULL);
	if (!w)
		return NULL;
	for (size_t i = 0; i < n; i++)
		CHECK_INT(ps_writer_record(w, &recs[i]), 0);
	text = close_and_read(w);
	unlink(temp_path);
	return text;
}

static char *write_one(enum ps_output_mode mode, bool hex, const struct ps_record *rec)
{
	struct ps_output_opts opts = { .raw = true, .mode = mode, .hex = hex };

	return write_records(&opts, rec, 1);
}

static void fill_header(struct ps_event_header *hdr, uint16_t event_id, uint32_t var_len)
{
	memset(hdr, 0, sizeof(*hdr));
	hdr->pid = 1234;
	hdr->tid = 1235;
	hdr->uid = 1000;
	hdr->event_id = event_id;
	hdr->fixed_size = (uint16_t)test_events[event_id].fixed_size;
	hdr->var_len = var_len;
	strcpy(hdr->comm, "curl");
	strcpy(hdr->thread, "curl");
}

static void set_ipv4(struct ps_tuple *t, const char *saddr, uint16_t sport, const char *daddr, uint16_t dport)
{
	memset(t, 0, sizeof(*t));
	t->family = AF_INET;
	t->proto = 6;
	t->sport = sport;
	t->dport = dport;
	inet_pton(AF_INET, saddr, t->saddr);
	inet_pton(AF_INET, daddr, t->daddr);
}

static void set_ipv6(struct ps_tuple *t, const char *saddr, uint16_t sport, const char *daddr, uint16_t dport)
{
	memset(t, 0, sizeof(*t));
	t->family = AF_INET6;
	t->proto = 6;
	t->sport = sport;
	t->dport = dport;
	inet_pton(AF_INET6, saddr, t->saddr);
	inet_pton(AF_INET6, daddr, t->daddr);
}

static struct ps_record tls_record(struct test_tls_data *ev, const void *data, size_t len)
{
	struct ps_record rec = {
		.module = &test_module,
		.event = &test_events[EV_TLS_DATA],
		.fixed = ev,
		.data = data,
		.data_len = len,
		.time_ns = TEST_TIME_NS,
	};

	fill_header(&ev->hdr, EV_TLS_DATA, (uint32_t)len);
	ev->fd = 3;
	ev->dir = 0;
	ev->fd_by_offsets = 3;
	ev->hdr.present = 1;
	set_ipv4(&ev->conn, "10.0.0.1", 51000, "93.184.216.34", 443);
	return rec;
}

static struct ps_record path_record(struct test_open_path *ev, const char *path, size_t len)
{
	struct ps_record rec = {
		.module = &test_module,
		.event = &test_events[EV_OPEN_PATH],
		.fixed = ev,
		.data = (const uint8_t *)path,
		.data_len = len,
		.time_ns = TEST_TIME_NS,
	};

	fill_header(&ev->hdr, EV_OPEN_PATH, (uint32_t)len);
	ev->dfd = -100;
	ev->mode = 0644;
	return rec;
}

/* Runs one format helper into a string. */
#define FORMAT(fn, data, len)                                   \
	({                                                      \
		char *text_ = NULL;                             \
		size_t size_ = 0;                               \
		FILE *mem_ = open_memstream(&text_, &size_);    \
		fn(mem_, (const uint8_t *)(data), (len));       \
		fclose(mem_);                                   \
		text_;                                          \
	})

static void text_record_with_escapes(void)
{
	static const uint8_t data[] = "GET /\0\xff\\x\ty\nz";
	struct test_tls_data ev;
	struct ps_record rec = tls_record(&ev, data, sizeof(data) - 1);
	char *text = write_one(PS_OUTPUT_TEXT, false, &rec);

	CHECK_STR(text, TEST_HEADER "tls_data " TEST_IDS " fd=3 dir=write 10.0.0.1:51000 -> 93.184.216.34:443"
			" len=13\n"
			"| GET /\\x00\\xff\\\\x\ty\n"
			"| z\n");
	free(text);
}

/*
 * Without --raw, a connection's records whose bytes are HTTP become messages
 * (runtime/http); a connection that is not HTTP keeps its records, byte for
 * byte the same as with --raw.
 */
static void writer_http_messages(void)
{
	static const uint8_t request[] = "GET /x HTTP/1.1\r\nHost: a.test\r\n\r\n";
	static const uint8_t other[] = "SSH-2.0-OpenSSH_9.2\r\n";
	struct ps_output_opts parsed = { .mode = PS_OUTPUT_JSON }, raw = { .raw = true, .mode = PS_OUTPUT_JSON };
	struct test_tls_data ev1, ev2;
	struct ps_record http = tls_record(&ev1, request, sizeof(request) - 1);
	struct ps_record not_http = tls_record(&ev2, other, sizeof(other) - 1);
	char *a = write_records(&parsed, &http, 1), *b, *c;

	CHECK(a && strstr(a, "\"proto\": \"http1\", \"type\": \"request\", \"method\": \"GET\", \"path\": \"/x\", "
			     "\"authority\": \"a.test\""));
	CHECK(a && strstr(a, "\"pid\": 1234, \"tid\": 1235, \"uid\": 1000, \"comm\": \"curl\", \"fd\": 3, \"dir\": \"write\""));
	CHECK(a && !strstr(a, "payload_b64"));
	b = write_records(&parsed, &not_http, 1);
	c = write_records(&raw, &not_http, 1);
	CHECK(b && c && strstr(c, "payload_b64"));
	CHECK_STR(b, c ? c : "");
	free(a);
	free(b);
	free(c);
}

static void text_record_ipv6_and_marks(void)
{
	static const uint8_t data[] = "HTTP/1.1 200 OK\r\n";
	struct test_tls_data ev;
	struct ps_record rec = tls_record(&ev, data, sizeof(data) - 1);
	char *text;

	set_ipv6(&ev.conn, "2001:db8::1", 443, "::1", 40000);
	ev.dir = 1;
	rec.lost_bytes = 4096;
	rec.incomplete = true;
	rec.read_failed = true;
	text = write_one(PS_OUTPUT_TEXT, false, &rec);
	/* data ending in a newline ends with an empty data line */
	CHECK_STR(text, TEST_HEADER "tls_data " TEST_IDS " fd=3 dir=read [2001:db8::1]:443 -> [::1]:40000"
			" len=17 lost=4096 incomplete read-failed\n"
			"| HTTP/1.1 200 OK\\x0d\n"
			"| \n");
	free(text);
}

static void text_record_without_tuple_or_data(void)
{
	struct test_tls_data ev;
	struct ps_record rec = tls_record(&ev, "", 0);
	char *text;

	memset(&ev.conn, 0, sizeof(ev.conn));
	ev.dir = 7; /* no name for it in the spec */
	ev.fd = -1;
	text = write_one(PS_OUTPUT_TEXT, false, &rec);
	CHECK_STR(text, TEST_HEADER "tls_data " TEST_IDS " fd=-1 dir=7 len=0\n");
	free(text);
}

static void text_record_hexdump(void)
{
	static const uint8_t data[] = "Hello, world!\n\0\xff\\abcdefghijklmnopqrstuvwxyz";
	struct test_tls_data ev;
	struct ps_record rec = tls_record(&ev, data, sizeof(data) - 1);
	char *text = write_one(PS_OUTPUT_TEXT, true, &rec);

	/* what `hexdump -C` prints for the same bytes, less its final offset line */
	CHECK_STR(text, TEST_HEADER "tls_data " TEST_IDS " fd=3 dir=write 10.0.0.1:51000 -> 93.184.216.34:443"
			" len=43\n"
			"| 00000000  48 65 6c 6c 6f 2c 20 77  6f 72 6c 64 21 0a 00 ff  |Hello, world!...|\n"
			"| 00000010  5c 61 62 63 64 65 66 67  68 69 6a 6b 6c 6d 6e 6f  |\\abcdefghijklmno|\n"
			"| 00000020  70 71 72 73 74 75 76 77  78 79 7a                 |pqrstuvwxyz|\n");
	free(text);
}

/* Bytes that never came are named where they were, never shown as data. */
static const struct ps_gap three_gaps[] = { { 0, 2 }, { 5, 3 }, { 11, 4 } };

static void text_record_gaps(void)
{
	struct test_tls_data ev;
	struct ps_record rec = tls_record(&ev, "abcdef", 6);
	char *text;

	rec.gaps = three_gaps;
	rec.n_gaps = 3;
	rec.lost_bytes = 9;
	text = write_one(PS_OUTPUT_TEXT, false, &rec);
	CHECK_STR(text, TEST_HEADER "tls_data " TEST_IDS " fd=3 dir=write 10.0.0.1:51000 -> 93.184.216.34:443"
			" len=6 lost=9\n"
			"| \\[... 2 bytes lost at offset 0 ...]abc\\[... 3 bytes lost at offset 5 ...]def"
			"\\[... 4 bytes lost at offset 11 ...]\n");
	free(text);
	text = write_one(PS_OUTPUT_TEXT, true, &rec);
	CHECK_STR(text, TEST_HEADER "tls_data " TEST_IDS " fd=3 dir=write 10.0.0.1:51000 -> 93.184.216.34:443"
			" len=6 lost=9\n"
			"| \\[... 2 bytes lost at offset 0 ...]\n"
			"| 00000002  61 62 63                                          |abc|\n"
			"| \\[... 3 bytes lost at offset 5 ...]\n"
			"| 00000008  64 65 66                                          |def|\n"
			"| \\[... 4 bytes lost at offset 11 ...]\n");
	free(text);
	/* a payload that spells a marker comes out escaped, unlike a marker */
	rec = tls_record(&ev, "\\[... 1 bytes lost at offset 0 ...]\n", 35);
	text = write_one(PS_OUTPUT_TEXT, false, &rec);
	CHECK(text && strstr(text, "\n| \\\\[... 1 bytes lost at offset 0 ...]\n"));
	free(text);
}

static void text_string_and_fixed_events(void)
{
	struct test_open_path path_ev;
	struct test_exit exit_ev;
	struct ps_record recs[2];
	struct ps_output_opts opts = { .raw = true, .mode = PS_OUTPUT_TEXT, .hex = true };
	char *text;

	recs[0] = path_record(&path_ev, "/tmp/a b\\\x01", 10);
	path_ev.hdr.present = 1 << 3;
	fill_header(&exit_ev.hdr, EV_EXIT, 0);
	strcpy(exit_ev.hdr.comm, "Web Content");
	strcpy(exit_ev.hdr.thread, "Web Content");
	exit_ev.code = 2;
	recs[1] = (struct ps_record){ .module = &test_module, .event = &test_events[EV_EXIT],
				      .fixed = &exit_ev, .time_ns = TEST_TIME_NS + 1 };
	/* hex applies to bytes only: a path stays text */
	text = write_records(&opts, recs, 2);
	CHECK_STR(text, TEST_HEADER "open_path " TEST_IDS " dfd=-100 mode=420 len=10\n"
			"| /tmp/a b\\\\\\x01\n"
			"2026-11-29T11:45:01.123456790Z tls exit pid=1234 tid=1235 uid=1000 comm=Web\\x20Content"
			" code=2\n");
	free(text);
}

static void json_record_bytes(void)
{
	static const uint8_t data[] = "\0\xff\\";
	struct test_tls_data ev;
	struct ps_record rec = tls_record(&ev, data, 3);
	char *text = write_one(PS_OUTPUT_JSON, false, &rec);

	CHECK_STR(text, "{\"time_ns\": 1795952701123456789, \"mono_ns\": 0, \"pid\": 1234, \"tid\": 1235, \"uid\": 1000,"
			" \"comm\": \"curl\", \"thread\": \"curl\", \"module\": \"tls\", \"event\": \"tls_data\", \"fd\": 3,"
			" \"dir\": \"write\", \"saddr\": \"10.0.0.1\", \"sport\": 51000,"
			" \"daddr\": \"93.184.216.34\", \"dport\": 443, \"len\": 3, \"payload_b64\": \"AP9c\"}\n");
	free(text);
}

static void json_record_ipv6_marks_and_unknown_enum(void)
{
	struct test_tls_data ev;
	struct ps_record rec = tls_record(&ev, "hi", 2);
	char *text;

	set_ipv6(&ev.conn, "fe80::1", 1, "2001:db8:0:0:1::2", 2);
	ev.dir = 9;
	rec.lost_bytes = 7;
	rec.incomplete = true;
	rec.read_failed = true;
	text = write_one(PS_OUTPUT_JSON, false, &rec);
	CHECK_STR(text, "{\"time_ns\": 1795952701123456789, \"mono_ns\": 0, \"pid\": 1234, \"tid\": 1235, \"uid\": 1000,"
			" \"comm\": \"curl\", \"thread\": \"curl\", \"module\": \"tls\", \"event\": \"tls_data\", \"fd\": 3,"
			" \"dir\": 9, \"saddr\": \"fe80::1\", \"sport\": 1,"
			" \"daddr\": \"2001:db8::1:0:0:2\", \"dport\": 2, \"len\": 2, \"payload_b64\": \"aGk=\","
			" \"lost_bytes\": 7, \"incomplete\": true, \"read_failed\": true}\n");
	free(text);

	memset(&ev.conn, 0, sizeof(ev.conn));
	rec.lost_bytes = 0;
	rec.incomplete = rec.read_failed = false;
	text = write_one(PS_OUTPUT_JSON, false, &rec);
	CHECK_STR(text, "{\"time_ns\": 1795952701123456789, \"mono_ns\": 0, \"pid\": 1234, \"tid\": 1235, \"uid\": 1000,"
			" \"comm\": \"curl\", \"thread\": \"curl\", \"module\": \"tls\", \"event\": \"tls_data\", \"fd\": 3,"
			" \"dir\": 9, \"len\": 2, \"payload_b64\": \"aGk=\"}\n");
	free(text);

	/* len and the payload: the bytes that came; gaps: where the others were */
	rec = tls_record(&ev, "abcdef", 6);
	rec.gaps = three_gaps;
	rec.n_gaps = 3;
	rec.lost_bytes = 9;
	text = write_one(PS_OUTPUT_JSON, false, &rec);
	CHECK(text && strstr(text, ", \"len\": 6, \"payload_b64\": \"YWJjZGVm\", \"lost_bytes\": 9,"
				   " \"gaps\": [[0, 2], [5, 3], [11, 4]]}\n"));
	free(text);
}

static void json_string_fields(void)
{
	struct test_open_path ev;
	struct ps_record rec = path_record(&ev, "/etc/\xc3\xa9t\xc3\xa9\n\"q\"", 14);
	char *text;

	/* dfd is optional and absent: no key */
	text = write_one(PS_OUTPUT_JSON, false, &rec);
	CHECK_STR(text, "{\"time_ns\": 1795952701123456789, \"mono_ns\": 0, \"pid\": 1234, \"tid\": 1235, \"uid\": 1000,"
			" \"comm\": \"curl\", \"thread\": \"curl\", \"module\": \"tls\", \"event\": \"open_path\", \"mode\": 420,"
			" \"path\": \"/etc/\xc3\xa9t\xc3\xa9\\u000a\\\"q\\\"\"}\n");
	free(text);

	/* invalid UTF-8: replaced in the text, kept whole in base64 */
	rec = path_record(&ev, "a\xff", 2);
	ev.hdr.present = 1 << 3;
	text = write_one(PS_OUTPUT_JSON, false, &rec);
	CHECK_STR(text, "{\"time_ns\": 1795952701123456789, \"mono_ns\": 0, \"pid\": 1234, \"tid\": 1235, \"uid\": 1000,"
			" \"comm\": \"curl\", \"thread\": \"curl\", \"module\": \"tls\", \"event\": \"open_path\", \"dfd\": -100,"
			" \"mode\": 420, \"path\": \"a\\ufffd\", \"path_b64\": \"Yf8=\"}\n");
	free(text);
}

/* open_path's fixed part with its variable part as `query: bytes text` (mysqld) or `string` without text. */
static const struct ps_field_desc query_text_fields[] = {
	{ .name = "dfd", .kind = PS_FIELD_INT, .offset = PS_TEST_HDR, .size = 4, .present_bit = 3, .check_field = -1 },
	{ .name = "mode", .kind = PS_FIELD_UINT, .offset = PS_TEST_HDR + 4, .size = 4, .present_bit = -1, .check_field = -1 },
	{ .name = "query", .kind = PS_FIELD_BYTES, .offset = PS_TEST_HDR + 8, .size = 0, .present_bit = -1,
	  .check_field = -1, .text = true },
};
static const struct ps_field_desc string_not_text_fields[] = {
	{ .name = "dfd", .kind = PS_FIELD_INT, .offset = PS_TEST_HDR, .size = 4, .present_bit = 3, .check_field = -1 },
	{ .name = "mode", .kind = PS_FIELD_UINT, .offset = PS_TEST_HDR + 4, .size = 4, .present_bit = -1, .check_field = -1 },
	{ .name = "name", .kind = PS_FIELD_STRING, .offset = PS_TEST_HDR + 8, .size = 0, .present_bit = -1,
	  .check_field = -1 },
};
static const struct ps_event_desc query_text_event = {
	.name = "query", .fixed_size = sizeof(struct test_open_path), .fields = query_text_fields, .n_fields = 3,
	.var_field = 2,
};
static const struct ps_event_desc string_not_text_event = {
	.name = "named", .fixed_size = sizeof(struct test_open_path), .fields = string_not_text_fields, .n_fields = 3,
	.var_field = 2,
};

#define JSON_QUERY_HEAD "{\"time_ns\": 1795952701123456789, \"mono_ns\": 0, \"pid\": 1234, \"tid\": 1235, \"uid\": 1000," \
			" \"comm\": \"curl\", \"thread\": \"curl\", \"module\": \"tls\", \"event\": \"query\", \"mode\": 420, "

/* The JSON of one query record whose text is bytes[len]. */
static char *json_query(const struct ps_event_desc *event, const char *bytes, size_t len)
{
	struct test_open_path ev;
	struct ps_record rec = path_record(&ev, bytes, len);

	rec.event = event;
	return write_one(PS_OUTPUT_JSON, false, &rec);
}

/*
 * A text field is a JSON string whatever its kind; only where its bytes are
 * not UTF-8 does NAME_b64 follow with the exact bytes.
 */
static void json_text_fields(void)
{
	static const struct {
		const char *in;
		size_t len;
		const char *want_tail;
	} cases[] = {
		{ "select 1", 8, "\"query\": \"select 1\"}\n" },
		/* é and 😀 stay as they are; quotes, backslash and control characters are escaped */
		{ "select '\xc3\xa9\xf0\x9f\x98\x80'\n\t\"\\\x1b", 20,
		  "\"query\": \"select '\xc3\xa9\xf0\x9f\x98\x80'\\u000a\\u0009\\\"\\\\\\u001b\"}\n" },
		/* a byte that is no UTF-8 at all */
		{ "select '\xff'", 10, "\"query\": \"select '\\ufffd'\", \"query_b64\": \"c2VsZWN0ICf/Jw==\"}\n" },
		/* an overlong '/' */
		{ "\xc0\xaf", 2, "\"query\": \"\\ufffd\\ufffd\", \"query_b64\": \"wK8=\"}\n" },
		/* a surrogate half (U+D800) */
		{ "a\xed\xa0\x80", 4, "\"query\": \"a\\ufffd\\ufffd\\ufffd\", \"query_b64\": \"Ye2ggA==\"}\n" },
		/* a sequence cut short by the end of the query */
		{ "x\xe2\x82", 3, "\"query\": \"x\\ufffd\\ufffd\", \"query_b64\": \"eOKC\"}\n" },
		/* an empty query is an empty string */
		{ "", 0, "\"query\": \"\"}\n" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *text = json_query(&query_text_event, cases[i].in, cases[i].len);
		char want[512];

		snprintf(want, sizeof(want), JSON_QUERY_HEAD "%s", cases[i].want_tail);
		CHECK_STR(text, want);
		free(text);
	}
}

/* A string field the spec does not call text is bytes like any other: base64 after its length. */
static void json_string_not_text_is_base64(void)
{
	char *text = json_query(&string_not_text_event, "hi", 2);

	CHECK_STR(text, "{\"time_ns\": 1795952701123456789, \"mono_ns\": 0, \"pid\": 1234, \"tid\": 1235, \"uid\": 1000,"
			" \"comm\": \"curl\", \"thread\": \"curl\", \"module\": \"tls\", \"event\": \"named\", \"mode\": 420,"
			" \"len\": 2, \"name_b64\": \"aGk=\"}\n");
	free(text);
}

static void json_comm_is_escaped(void)
{
	struct test_exit ev;
	struct ps_record rec = { .module = &test_module, .event = &test_events[EV_EXIT], .fixed = &ev,
				 .time_ns = 5 };
	char *text;

	fill_header(&ev.hdr, EV_EXIT, 0);
	/* all 16 bytes used, no NUL: the name must stop at the array's end */
	memcpy(ev.hdr.comm, "a\"b\\c\x01\xff" "789012345", PS_COMM_LEN);
	ev.code = -1;
	text = write_one(PS_OUTPUT_JSON, false, &rec);
	CHECK_STR(text, "{\"time_ns\": 5, \"mono_ns\": 0, \"pid\": 1234, \"tid\": 1235, \"uid\": 1000,"
			" \"comm\": \"a\\\"b\\\\c\\u0001\\ufffd789012345\", \"thread\": \"curl\", \"module\": \"tls\", \"event\": \"exit\","
			" \"code\": -1}\n");
	free(text);
}

/* A thread that named itself: comm stays the program's, the thread's name has its own field. */
static void thread_name_beside_process_name(void)
{
	struct test_exit ev;
	struct ps_record rec = { .module = &test_module, .event = &test_events[EV_EXIT], .fixed = &ev,
				 .time_ns = 5 };
	char *text;

	fill_header(&ev.hdr, EV_EXIT, 0);
	memcpy(ev.hdr.comm, "node", 5);
	memcpy(ev.hdr.thread, "MainThread", 11);
	ev.code = 0;
	text = write_one(PS_OUTPUT_JSON, false, &rec);
	CHECK(text && strstr(text, "\"comm\": \"node\", \"thread\": \"MainThread\", \"module\""));
	free(text);
	text = write_one(PS_OUTPUT_TEXT, false, &rec);
	CHECK(text && strstr(text, " comm=node thread=MainThread code=0"));
	free(text);
	/* the same name twice says nothing new in text */
	memcpy(ev.hdr.thread, "node", 5);
	text = write_one(PS_OUTPUT_TEXT, false, &rec);
	CHECK(text && strstr(text, " comm=node code=0") && !strstr(text, "thread="));
	free(text);
}

/* The terminal: "pts3" is /dev/pts/3; other names pass as they are. */
static void tty_is_shown_as_users_know_it(void)
{
	struct test_exit ev;
	struct ps_record rec = { .module = &test_module, .event = &test_events[EV_EXIT], .fixed = &ev,
				 .time_ns = 5 };
	static const char names[][PS_TTY_LEN] = { "pts3", "pts", "ttyS0", "" };
	char buf[32], *text;

	CHECK_STR(ps_format_tty(names[0], buf, sizeof(buf)), "pts/3");
	CHECK_STR(ps_format_tty(names[1], buf, sizeof(buf)), "pts");
	CHECK_STR(ps_format_tty(names[2], buf, sizeof(buf)), "ttyS0");
	CHECK_STR(ps_format_tty(names[3], buf, sizeof(buf)), "");
	fill_header(&ev.hdr, EV_EXIT, 0);
	memcpy(ev.hdr.comm, "bash", 5);
	memcpy(ev.hdr.thread, "bash", 5);
	memcpy(ev.hdr.tty, "pts12", 6);
	ev.code = 0;
	text = write_one(PS_OUTPUT_JSON, false, &rec);
	CHECK(text && strstr(text, "\"comm\": \"bash\", \"thread\": \"bash\", \"tty\": \"pts/12\", \"module\""));
	free(text);
	text = write_one(PS_OUTPUT_TEXT, false, &rec);
	CHECK(text && strstr(text, " comm=bash tty=pts/12 "));
	free(text);
}

/* A notice: json only, its strings escaped; text output leaves it to stderr. */
static void json_notice(void)
{
	struct ps_notice notice = {
		.pid = 42, .exe = "/opt/\"q\"/app", .stack = &ps_tls_gnutls,
		.library = "/usr/lib/libgnutls.so.30", .reason = "GnuTLS (/usr/lib/libgnutls.so.30), not probed",
	};
	struct ps_output_opts opts = { .raw = true, .mode = PS_OUTPUT_JSON };
	struct ps_writer *w = open_writer(temp_path, &opts);
	char *text;

	CHECK(w != NULL);
	if (!w)
		return;
	CHECK_INT(ps_writer_notice(w, &notice), 0);
	notice.library = NULL;
	notice.stack = &ps_tls_go;
	notice.reason = "Go crypto/tls";
	CHECK_INT(ps_writer_notice(w, &notice), 0);
	text = close_and_read(w);
	CHECK_STR(text, "{\"notice\": \"unreachable\", \"pid\": 42, \"exe\": \"/opt/\\\"q\\\"/app\", \"stack\": \"GnuTLS\","
			" \"module\": \"gnutls\", \"library\": \"/usr/lib/libgnutls.so.30\","
			" \"reason\": \"GnuTLS (/usr/lib/libgnutls.so.30), not probed\"}\n"
			"{\"notice\": \"unreachable\", \"pid\": 42, \"exe\": \"/opt/\\\"q\\\"/app\", \"stack\": \"Go crypto/tls\","
			" \"module\": \"gotls\", \"reason\": \"Go crypto/tls\"}\n");
	free(text);

	opts.mode = PS_OUTPUT_TEXT;
	w = open_writer(temp_path, &opts);
	CHECK(w != NULL);
	if (!w)
		return;
	CHECK_INT(ps_writer_notice(w, &notice), 0);
	text = close_and_read(w);
	CHECK_STR(text, "");
	free(text);
}

static void json_summary(void)
{
	struct ps_output_opts opts = { .raw = true, .mode = PS_OUTPUT_JSON };
	struct ps_counters c = {
		.records = 1, .bytes = 2, .chunks = 3, .gap_bytes = 9, .incomplete = 10, .malformed = 11,
		.write_errors = 12, .kernel_missed = 14, .uncollected = 16, .check_mismatch = 13, .unwritten_bytes = 17,
		.unreachable_programs = 18, .targets = 20, .held_back = 19, .interrupted_calls = 21,
	};
	struct ps_writer *w;
	char *text;

	c.kernel_loss[PS_LOSS_RINGBUF_EVENTS] = 4;
	c.kernel_loss[PS_LOSS_RINGBUF_BYTES] = 5;
	c.kernel_loss[PS_LOSS_READ_FAIL] = 6;
	c.kernel_loss[PS_LOSS_SAVE_FULL] = 7;
	c.kernel_loss[PS_LOSS_TRUNC_BYTES] = 8;
	c.kernel_loss[PS_LOSS_NO_ENTRY] = 15;
	w = open_writer(temp_path, &opts);
	CHECK(w != NULL);
	if (!w)
		return;
	CHECK_INT(ps_writer_summary(w, &c), 0);
	text = close_and_read(w);
	/* lost_bytes 5 + 6 + 8 + 17, lost_records 4 + 11 + 12 + 16, incomplete_calls 10 + 7 + 14 */
	CHECK_STR(text, "{\"summary\": {\"records\": 1, \"bytes\": 2, \"lost_bytes\": 36, \"lost_records\": 43,"
			" \"incomplete_calls\": 31, \"gap_bytes\": 9, \"chunks\": 3, \"lost\": {\"ringbuf_events\": 4,"
			" \"ringbuf_bytes\": 5, \"read_fail\": 6, \"save_full\": 7,"
			" \"truncated_bytes\": 8, \"unwritten_bytes\": 17,"
			" \"incomplete\": 10, \"malformed\": 11, \"write_errors\": 12,"
			" \"kernel_missed\": 14, \"uncollected\": 16},"
			" \"check_mismatch\": 13, \"unpaired_returns\": 15, \"keys_refused\": false,"
			" \"secrets_dropped\": 0, \"unreachable_programs\": 18, \"targets\": 20, \"held_back\": 19, \"interrupted_calls\": 21}}\n");
	free(text);

	/* text mode: the summary goes to stderr, not into the output */
	opts.mode = PS_OUTPUT_TEXT;
	w = open_writer(temp_path, &opts);
	CHECK(w != NULL);
	if (!w)
		return;
	CHECK_INT(ps_writer_summary(w, &c), 0);
	text = close_and_read(w);
	CHECK_STR(text, "");
	free(text);
	unlink(temp_path);
}

/* RFC 4648 section 10. */
static void base64_test_vectors(void)
{
	static const char *const want[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };

	for (size_t len = 0; len < sizeof(want) / sizeof(want[0]); len++) {
		char *text = FORMAT(ps_format_base64, "foobar", len);

		CHECK_STR(text, want[len]);
		free(text);
	}
	/* lengths 0..4 as the JSON writer puts them */
	for (size_t len = 0; len <= 4; len++) {
		struct test_tls_data ev;
		struct ps_record rec = tls_record(&ev, "foob", len);
		char *text = write_one(PS_OUTPUT_JSON, false, &rec);
		char want_tail[64];

		snprintf(want_tail, sizeof(want_tail), "\"len\": %zu, \"payload_b64\": \"%s\"}\n", len, want[len]);
		CHECK(text && strlen(text) > strlen(want_tail));
		if (text && strlen(text) > strlen(want_tail))
			CHECK_STR(text + strlen(text) - strlen(want_tail), want_tail);
		free(text);
	}
}

/* Longer than the helper's own buffer, with every byte value. */
static void base64_long_input(void)
{
	size_t len = 10000;
	uint8_t *data = malloc(len);
	char *text;
	size_t text_len;
	bool same = true;

	for (size_t i = 0; i < len; i++)
		data[i] = (uint8_t)(i * 37);
	text = FORMAT(ps_format_base64, data, len);
	text_len = strlen(text);
	CHECK_INT(text_len, (len + 2) / 3 * 4);
	/* decode by hand and compare */
	for (size_t i = 0, o = 0; i + 4 <= text_len; i += 4) {
		static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
		uint32_t group = 0;

		for (int k = 0; k < 4; k++)
			group = group << 6 | (text[i + k] == '=' ? 0 : (uint32_t)(strchr(alphabet, text[i + k]) - alphabet));
		for (int k = 0; k < 3 && o < len; k++, o++)
			same &= data[o] == (uint8_t)(group >> (16 - 8 * k));
	}
	CHECK(same);
	free(text);
	free(data);
}

static void escaped_lines(FILE *f, const uint8_t *data, size_t len)
{
	ps_format_escaped_lines(f, "| ", data, len);
}

static void escaped_text(void)
{
	char *text = FORMAT(escaped_lines, "a\0b\xff\\\n\t\r\x7f~ ", 11);

	CHECK_STR(text, "| a\\x00b\\xff\\\\\n| \t\\x0d\\x7f~ \n");
	free(text);
	text = FORMAT(escaped_lines, "", 0);
	CHECK_STR(text, "| \n");
	free(text);
}

/*
 * What a forged header in the data becomes: a data line. Only newlines end
 * lines; the other bytes readers may split lines on (\r, \v, \f, \x1c-\x1e,
 * \x85, U+2028's bytes) are escaped.
 */
static void data_cannot_start_a_line(void)
{
	static const char data[] = "x\n2026-11-29T11:45:01.123456789Z tls tls_data pid=1 len=1\n\n"
				   "\r\v\f\x1c\x1d\x1e\x85\xe2\x80\xa8";
	char *text = FORMAT(escaped_lines, data, sizeof(data) - 1);

	CHECK_STR(text, "| x\n"
			"| 2026-11-29T11:45:01.123456789Z tls tls_data pid=1 len=1\n"
			"| \n"
			"| \\x0d\\x0b\\x0c\\x1c\\x1d\\x1e\\x85\\xe2\\x80\\xa8\n");
	free(text);
}

static void json_string_escaping(void)
{
	static const struct {
		const char *in;
		size_t len;
		const char *want;
		bool valid;
	} cases[] = {
		{ "plain", 5, "plain", true },
		{ "q\"b\\s/", 6, "q\\\"b\\\\s/", true },
		{ "\0\x01\n\t\x1f\x7f", 6, "\\u0000\\u0001\\u000a\\u0009\\u001f\x7f", true },
		/* é, €, 😀: two, three and four bytes */
		{ "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", true },
		{ "a\xff" "b", 3, "a\\ufffdb", false },
		/* an overlong '/', a surrogate half, past U+10FFFF, a lone continuation byte */
		{ "\xc0\xaf", 2, "\\ufffd\\ufffd", false },
		{ "\xed\xa0\x80", 3, "\\ufffd\\ufffd\\ufffd", false },
		{ "\xf4\x90\x80\x80", 4, "\\ufffd\\ufffd\\ufffd\\ufffd", false },
		{ "\x80", 1, "\\ufffd", false },
		/* a sequence cut short by the end of the data */
		{ "ok\xe2\x82", 4, "ok\\ufffd\\ufffd", false },
		/* the highest code point and the last before the surrogates are fine */
		{ "\xf4\x8f\xbf\xbf\xed\x9f\xbf", 7, "\xf4\x8f\xbf\xbf\xed\x9f\xbf", true },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *text = FORMAT(ps_format_json_string, cases[i].in, cases[i].len);

		CHECK_STR(text, cases[i].want);
		CHECK_INT(ps_format_utf8_valid((const uint8_t *)cases[i].in, cases[i].len), cases[i].valid);
		free(text);
	}
}

static void addresses(void)
{
	struct ps_tuple t;
	char buf[64];

	set_ipv4(&t, "127.0.0.1", 1, "192.168.1.254", 2);
	CHECK_STR(ps_format_addr(&t, t.saddr, buf, sizeof(buf)), "127.0.0.1");
	CHECK_STR(ps_format_addr(&t, t.daddr, buf, sizeof(buf)), "192.168.1.254");
	set_ipv6(&t, "::1", 1, "::ffff:10.1.2.3", 2);
	CHECK_STR(ps_format_addr(&t, t.saddr, buf, sizeof(buf)), "::1");
	CHECK_STR(ps_format_addr(&t, t.daddr, buf, sizeof(buf)), "::ffff:10.1.2.3");
	t.family = 0;
	CHECK_STR(ps_format_addr(&t, t.saddr, buf, sizeof(buf)), "?");
}

static void file_is_private_and_truncated(void)
{
	struct ps_output_opts opts = { .raw = true, .mode = PS_OUTPUT_TEXT };
	struct test_exit ev;
	struct ps_record rec = { .module = &test_module, .event = &test_events[EV_EXIT], .fixed = &ev,
				 .time_ns = TEST_TIME_NS };
	struct ps_writer *w;
	struct stat st;
	FILE *old;
	char *text;

	unlink(temp_path);
	fill_header(&ev.hdr, EV_EXIT, 0);
	ev.code = 0;
	w = open_writer(temp_path, &opts);
	CHECK(w != NULL);
	if (!w)
		return;
	CHECK_INT(stat(temp_path, &st), 0);
	CHECK_INT(st.st_mode & 0777, 0600);
	CHECK_INT(ps_writer_close(w), 0);

	old = fopen(temp_path, "w");
	for (int i = 0; i < 1000; i++)
		fputs("left over from an earlier run\n", old);
	fclose(old);
	text = write_records(&opts, &rec, 1);
	CHECK_STR(text, TEST_HEADER "exit " TEST_IDS " code=0\n");
	free(text);
}

/* A full disk must reach the caller: from the record, or at the latest from close. */
static void write_error_is_reported(void)
{
	struct ps_output_opts opts = { .raw = true, .mode = PS_OUTPUT_TEXT };
	size_t big_len = 3 << 20;
	uint8_t *big = calloc(1, big_len);
	struct test_tls_data ev;
	struct ps_record small = tls_record(&ev, "hi\n", 3);
	struct ps_record large = tls_record(&ev, big, big_len);
	struct ps_writer *w;

	/* small enough to sit in the buffer: close is where it fails */
	w = open_writer("/dev/full", &opts);
	CHECK(w != NULL);
	if (w) {
		CHECK_INT(ps_writer_record(w, &small), 0);
		CHECK_INT(ps_writer_close(w), -ENOSPC);
	}

	/*
	 * bigger than the buffer: the writer thread meets the error while the
	 * record is written, so the record, or a call soon after it, fails;
	 * from the first failure on every call fails, and close always does
	 */
	opts.mode = PS_OUTPUT_JSON;
	w = open_writer("/dev/full", &opts);
	CHECK(w != NULL);
	if (w) {
		int results[3];
		bool failed = false;

		results[0] = ps_writer_record(w, &large);
		results[1] = ps_writer_record(w, &small);
		results[2] = ps_writer_summary(w, &(struct ps_counters){ 0 });
		for (int i = 0; i < 3; i++) {
			CHECK(results[i] == 0 || results[i] == -ENOSPC);
			CHECK(!failed || results[i] == -ENOSPC);
			failed = failed || results[i] == -ENOSPC;
		}
		CHECK_INT(ps_writer_close(w), -ENOSPC);
	}
	free(big);
}

/* stdout (path NULL): each record reaches the reader when written. */
/*
 * Records a file's writer took (0 returned) but the disk refused are counted
 * at close as not written, with their data bytes; those refused at once are
 * the caller's to count, not again here.
 */
static void records_never_in_the_file_are_counted(void)
{
	struct ps_output_opts opts = { .raw = true, .mode = PS_OUTPUT_JSON };
	struct test_tls_data ev;
	struct ps_record rec = tls_record(&ev, "hello", 5);
	struct ps_unwritten unwritten = { .records = 99 };
	uint64_t taken = 0, bytes = 0;
	struct ps_writer *w = open_writer("/dev/full", &opts);

	CHECK(w != NULL);
	if (!w)
		return;
	for (int i = 0; i < 3; i++)
		if (ps_writer_record(w, &rec) == 0) {
			taken++;
			bytes += rec.data_len;
		}
	CHECK(taken > 0);
	CHECK_INT(ps_writer_close_counted(w, &unwritten), -ENOSPC);
	CHECK_INT(unwritten.records, taken);
	CHECK_INT(unwritten.data_bytes, bytes);
	CHECK(!unwritten.unknown);

	/* a file that takes everything: nothing counted */
	w = open_writer(temp_path, &opts);
	CHECK(w != NULL);
	if (!w)
		return;
	CHECK_INT(ps_writer_record(w, &rec), 0);
	CHECK_INT(ps_writer_close_counted(w, &unwritten), 0);
	CHECK_INT(unwritten.records, 0);
	unlink(temp_path);
}

static void stdout_gets_each_record_at_once(void)
{
	struct ps_output_opts opts = { .raw = true, .mode = PS_OUTPUT_TEXT };
	struct test_exit ev;
	struct ps_record rec = { .module = &test_module, .event = &test_events[EV_EXIT], .fixed = &ev,
				 .time_ns = TEST_TIME_NS };
	int fd = open(temp_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int saved_stdout;
	struct ps_writer *w;
	char *text;

	fill_header(&ev.hdr, EV_EXIT, 0);
	ev.code = 1;
	fflush(stdout);
	saved_stdout = dup(STDOUT_FILENO);
	dup2(fd, STDOUT_FILENO);
	close(fd);
	w = open_writer(NULL, &opts);
	CHECK(w != NULL);
	if (w) {
		CHECK_INT(ps_writer_record(w, &rec), 0);
		text = read_all(temp_path);
		CHECK_STR(text, TEST_HEADER "exit " TEST_IDS " code=1\n");
		free(text);
		CHECK_INT(ps_writer_close(w), 0);
	}
	dup2(saved_stdout, STDOUT_FILENO);
	close(saved_stdout);
	unlink(temp_path);
}

/* The sixteen-at-a-time scan against the plain definition, every byte at every position. */
static void escaped_matches_bytewise_reference(void)
{
	uint8_t buf[40];
	int mismatches = 0;

	for (int pos = 0; pos < 32; pos++) {
		for (int c = 0; c < 256; c++) {
			char *got = NULL, *want = NULL;
			size_t got_len = 0, want_len = 0;
			FILE *g = open_memstream(&got, &got_len), *w = open_memstream(&want, &want_len);

			memset(buf, 'a', sizeof(buf));
			buf[pos] = (uint8_t)c;
			ps_format_escaped_lines(g, "| ", buf, sizeof(buf));
			fputs("| ", w);
			for (size_t i = 0; i < sizeof(buf); i++) {
				uint8_t b = buf[i];

				if (b == '\\')
					fputs("\\\\", w);
				else if (b == '\n')
					fputs("\n| ", w);
				else if ((b >= 0x20 && b < 0x7f) || b == '\t')
					fputc(b, w);
				else
					fprintf(w, "\\x%02x", b);
			}
			fputc('\n', w);
			fclose(g);
			fclose(w);
			if (got_len != want_len || memcmp(got, want, got_len) != 0)
				mismatches++;
			free(got);
			free(want);
		}
	}
	CHECK_INT(mismatches, 0);
}

int main(void)
{
	make_temp_path();
	TEST(text_record_with_escapes);
	TEST(writer_http_messages);
	TEST(text_record_ipv6_and_marks);
	TEST(text_record_without_tuple_or_data);
	TEST(text_record_hexdump);
	TEST(text_record_gaps);
	TEST(text_string_and_fixed_events);
	TEST(json_record_bytes);
	TEST(json_record_ipv6_marks_and_unknown_enum);
	TEST(json_string_fields);
	TEST(json_text_fields);
	TEST(json_string_not_text_is_base64);
	TEST(json_comm_is_escaped);
	TEST(thread_name_beside_process_name);
	TEST(json_summary);
	TEST(json_notice);
	TEST(tty_is_shown_as_users_know_it);
	TEST(base64_test_vectors);
	TEST(base64_long_input);
	TEST(escaped_text);
	TEST(data_cannot_start_a_line);
	TEST(escaped_matches_bytewise_reference);
	TEST(json_string_escaping);
	TEST(addresses);
	TEST(file_is_private_and_truncated);
	TEST(write_error_is_reported);
	TEST(records_never_in_the_file_are_counted);
	TEST(stdout_gets_each_record_at_once);
	return TEST_EXIT();
}
