/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer: one record of any module's event, its fixed part, data and
 * gaps from the input, through every writer (runtime/output/): text, hex,
 * json, the writer itself (records to HTTP messages, the json summary),
 * and for a secrets event the key log, its text and json record and a
 * pcapng file with the record's data as a packet and the key log lines in
 * a Decryption Secrets Block.
 *
 * Input: module, event, a flags byte, a few counters, gap lengths, the
 * data's length and the data, then the fixed part (the event's size; the
 * header's event_id and fixed_size are set right). What is checked beyond
 * crashes: every json line is one valid JSON object in valid UTF-8 (a
 * checker of its own below, not the writers' helpers), and the pcapng
 * file is whole blocks whose lengths agree.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "keylog.h"
#include "outfile.h"
#include "output.h"
#include "pcapng.h"
#include "secrets_record.h"

#define GAPS_MAX 3

/* ---- a strict JSON checker (RFC 8259), for one value at *p ---------------- */

static void skip_space(const char **p, const char *end)
{
	while (*p < end && (**p == ' ' || **p == '\t'))
		(*p)++;
}

/* The length of the UTF-8 sequence at p (RFC 3629: no overlongs, no surrogates), 0 when invalid. */
static size_t utf8_sequence(const unsigned char *p, const unsigned char *end)
{
	size_t n = p[0] < 0x80 ? 1 : p[0] >= 0xc2 && p[0] < 0xe0 ? 2 : p[0] >= 0xe0 && p[0] < 0xf0 ? 3 :
		   p[0] >= 0xf0 && p[0] < 0xf5 ? 4 : 0;
	uint32_t cp;

	if (!n || (size_t)(end - p) < n)
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	if (n == 3) {
		cp = (uint32_t)(p[0] & 0x0f) << 12 | (uint32_t)(p[1] & 0x3f) << 6 | (p[2] & 0x3f);
		if (cp < 0x800 || (cp >= 0xd800 && cp < 0xe000))
			return 0;
	} else if (n == 4) {
		cp = (uint32_t)(p[0] & 0x07) << 18 | (uint32_t)(p[1] & 0x3f) << 12 | (uint32_t)(p[2] & 0x3f) << 6 |
		     (p[3] & 0x3f);
		if (cp < 0x10000 || cp > 0x10ffff)
			return 0;
	}
	return n;
}

static int json_string(const char **p, const char *end)
{
	(*p)++;
	while (*p < end && **p != '"') {
		unsigned char c = (unsigned char)**p;
		size_t n;

		if (c < 0x20)
			return -1;
		if (c == '\\') {
			if (++*p == end)
				return -1;
			if (**p == 'u') {
				for (int i = 0; i < 4; i++)
					if (++*p == end || !strchr("0123456789abcdefABCDEF", **p) || !**p)
						return -1;
			} else if (!**p || !strchr("\"\\/bfnrt", **p)) {
				return -1;
			}
			(*p)++;
			continue;
		}
		n = utf8_sequence((const unsigned char *)*p, (const unsigned char *)end);
		if (!n)
			return -1;
		*p += n;
	}
	if (*p == end)
		return -1;
	(*p)++;
	return 0;
}

static int json_number(const char **p, const char *end)
{
	const char *start = *p;

	if (*p < end && **p == '-')
		(*p)++;
	if (*p == end || **p < '0' || **p > '9')
		return -1;
	if (**p == '0')
		(*p)++;
	else
		while (*p < end && **p >= '0' && **p <= '9')
			(*p)++;
	if (*p < end && **p == '.') {
		if (++*p == end || **p < '0' || **p > '9')
			return -1;
		while (*p < end && **p >= '0' && **p <= '9')
			(*p)++;
	}
	return *p > start ? 0 : -1;
}

static int json_value(const char **p, const char *end, int depth);

/* An object or an array: open, values (with keys for an object) separated by commas, close. */
static int json_container(const char **p, const char *end, int depth, char close)
{
	(*p)++;
	skip_space(p, end);
	if (*p < end && **p == close) {
		(*p)++;
		return 0;
	}
	for (;;) {
		skip_space(p, end);
		if (close == '}') {
			if (*p == end || **p != '"' || json_string(p, end))
				return -1;
			skip_space(p, end);
			if (*p == end || **p != ':')
				return -1;
			(*p)++;
		}
		if (json_value(p, end, depth + 1))
			return -1;
		skip_space(p, end);
		if (*p == end)
			return -1;
		if (**p == close) {
			(*p)++;
			return 0;
		}
		if (**p != ',')
			return -1;
		(*p)++;
	}
}

static int json_value(const char **p, const char *end, int depth)
{
	static const char *const words[] = { "true", "false", "null" };

	skip_space(p, end);
	if (*p == end || depth > 32)
		return -1;
	switch (**p) {
	case '{': return json_container(p, end, depth, '}');
	case '[': return json_container(p, end, depth, ']');
	case '"': return json_string(p, end);
	}
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		size_t n = strlen(words[i]);

		if ((size_t)(end - *p) >= n && memcmp(*p, words[i], n) == 0) {
			*p += n;
			return 0;
		}
	}
	return json_number(p, end);
}

/* Every line one JSON object, nothing else on it. */
static void check_json_lines(const char *text, size_t len)
{
	const char *end = text + len;

	while (text < end) {
		const char *eol = memchr(text, '\n', end - text);
		const char *p = text;

		if (!eol || *p != '{' || json_value(&p, eol, 0) || p != eol)
			abort();
		text = eol + 1;
	}
}

/* ---- the pcapng file: whole blocks, each length said twice ---------------- */

static void check_pcapng(int fd)
{
	off_t size = lseek(fd, 0, SEEK_END);
	uint8_t *file = malloc(size ? size : 1);
	off_t at = 0;

	if (!file || pread(fd, file, size, 0) != size)
		abort();
	while (at < size) {
		uint32_t len, trailer;

		if (size - at < 12)
			abort();
		memcpy(&len, file + at + 4, 4);
		if (len < 12 || len % 4 || len > size - at)
			abort();
		memcpy(&trailer, file + at + len - 4, 4);
		if (trailer != len)
			abort();
		at += len;
	}
	free(file);
}

/* ---- the input ------------------------------------------------------------ */

struct fuzz_input {
	const uint8_t *data;
	size_t size;
};

static uint8_t take_byte(struct fuzz_input *in)
{
	uint8_t b = in->size ? in->data[0] : 0;

	if (in->size) {
		in->data++;
		in->size--;
	}
	return b;
}

/* Up to n bytes into out, zeros for the rest. */
static void take_bytes(struct fuzz_input *in, void *out, size_t n)
{
	size_t got = n < in->size ? n : in->size;

	memcpy(out, in->data, got);
	memset((uint8_t *)out + got, 0, n - got);
	in->data += got;
	in->size -= got;
}

struct fuzz_record {
	struct ps_record rec;
	struct ps_gap gaps[GAPS_MAX];
	uint8_t *fixed;
};

/* The gaps before, between and after the data's pieces, in call order as the assembler makes them. */
static void take_gaps(struct fuzz_input *in, struct fuzz_record *r, size_t data_len, unsigned n)
{
	uint64_t call_offset = 0;

	for (unsigned i = 0; i < n; i++) {
		uint16_t length, piece;

		take_bytes(in, &length, sizeof(length));
		take_bytes(in, &piece, sizeof(piece));
		if (!length)
			continue;
		/* some of the data comes before this gap: none before the first, or the gaps would touch */
		piece = data_len ? piece % (data_len + 1) : 0;
		if (r->rec.n_gaps && !piece)
			piece = 1;
		call_offset += piece;
		if (call_offset > data_len + r->rec.lost_bytes)
			break;
		r->gaps[r->rec.n_gaps++] = (struct ps_gap){ .offset = call_offset, .length = length };
		call_offset += length;
		r->rec.lost_bytes += length;
	}
}

static int build_record(struct fuzz_input *in, struct fuzz_record *r, const struct ps_module_desc *module,
			const struct ps_event_desc *ev, uint8_t flags)
{
	struct ps_event_header hdr;
	unsigned n_gaps = flags >> 5 & 3;
	struct fuzz_input gap_bytes;
	const uint8_t *data;
	uint16_t data_len;

	gap_bytes = (struct fuzz_input){ in->data, in->size < 4 * n_gaps ? in->size : 4 * n_gaps };
	in->data += gap_bytes.size;
	in->size -= gap_bytes.size;
	take_bytes(in, &data_len, sizeof(data_len));
	if (data_len > in->size)
		data_len = (uint16_t)in->size;
	data = in->data;
	in->data += data_len;
	in->size -= data_len;
	r->fixed = calloc(1, ev->fixed_size);
	if (!r->fixed)
		return -1;
	take_bytes(in, r->fixed, ev->fixed_size);
	memcpy(&hdr, r->fixed, sizeof(hdr));
	hdr.event_id = (uint16_t)(ev - module->events);
	hdr.fixed_size = (uint16_t)ev->fixed_size;
	memcpy(r->fixed, &hdr, sizeof(hdr));
	r->rec = (struct ps_record){
		.module = module,
		.event = ev,
		.fixed = r->fixed,
		.data = ev->var_field >= 0 ? data : NULL,
		.data_len = ev->var_field >= 0 ? data_len : 0,
		.time_ns = hdr.mono_ns,
		.gaps = r->gaps,
		.incomplete = flags & 1,
		.read_failed = flags & 2,
		.unfinished = (flags & 0x1c) == 0x1c,
		.process_name = flags & 8 ? "process name, longer than comm" : NULL,
	};
	take_gaps(&gap_bytes, r, r->rec.data_len, n_gaps);
	return 0;
}

/* ---- the writers ----------------------------------------------------------- */

static void write_json(FILE *f, const struct ps_record *rec, const struct ps_counters *counters)
{
	ps_output_json_record(f, rec);
	ps_output_json_summary(f, counters);
}

static void write_text(FILE *f, const struct ps_record *rec)
{
	struct ps_output_opts opts = { .mode = PS_OUTPUT_TEXT };

	ps_output_text_record(f, &opts, rec);
	opts.hex = true;
	ps_output_text_record(f, &opts, rec);
}

/* The writer as the runtime opens it on stdout: data records of a stream go to the HTTP parsers. */
static void write_through_writer(const struct ps_record *rec, const struct ps_counters *counters, bool json)
{
	struct ps_output_opts opts = { .mode = json ? PS_OUTPUT_JSON : PS_OUTPUT_TEXT };
	struct ps_outfile file = { .path = NULL, .fd = open("/dev/null", O_WRONLY | O_CLOEXEC) };
	struct ps_writer *w;

	if (file.fd < 0)
		abort();
	w = ps_writer_open(&file, &opts);
	if (!w)
		abort();
	ps_writer_record(w, rec);
	ps_writer_summary(w, counters);
	ps_writer_close(w);
}

static void write_pcapng(const struct ps_record *rec, const char *keylog, size_t keylog_len)
{
	static int fd = -1;
	char comm[PS_COMM_LEN + 1] = { 0 };
	struct ps_pcapng_kept kept;
	struct ps_pcapng *w;
	uint32_t original = rec->data_len + rec->lost_bytes > UINT32_MAX ? UINT32_MAX :
			    (uint32_t)(rec->data_len + rec->lost_bytes);

	if (fd < 0)
		fd = memfd_create("writers_fuzz", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, 0) != 0 || lseek(fd, 0, SEEK_SET) != 0)
		abort();
	memcpy(comm, ps_record_comm(rec), PS_COMM_LEN);
	w = ps_pcapng_new(fd);
	if (!w)
		abort();
	ps_pcapng_section(w, comm, "Linux");
	ps_pcapng_interface(w, comm, 1, 65535, rec->process_name);
	if (keylog_len)
		ps_pcapng_secrets(w, PS_PCAPNG_SECRETS_TLS_KEYLOG, keylog, keylog_len);
	ps_pcapng_packet(w, 0, rec->time_ns, rec->data ? rec->data : (const uint8_t *)"",
			 (uint32_t)rec->data_len, original, comm);
	if (ps_pcapng_flush(w, &kept) != 0)
		abort();
	ps_pcapng_free(w);
	check_pcapng(fd);
}

/* A secrets event: the key log's lines (a second time: nothing new), and the record of the secrets. */
static void write_secrets(FILE *json, FILE *text, const struct ps_record *rec, char **keylog, size_t *keylog_len)
{
	struct ps_secrets secrets;
	struct ps_secrets_record out;
	struct ps_keylog *kl = ps_keylog_new();
	FILE *lines = open_memstream(keylog, keylog_len);

	if (!kl || !lines)
		abort();
	if (ps_secrets_from_record(rec, &secrets) == 0) {
		ps_secrets_record_build(&out, rec, &secrets);
		ps_output_json_record(json, &out.rec);
		write_text(text, &out.rec);
	}
	ps_keylog_write(kl, lines, rec);
	if (ps_keylog_write(kl, lines, rec) > 0)
		abort();
	fclose(lines);
	ps_keylog_free(kl);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = { data, size };
	const struct ps_module_desc *module = ps_modules[take_byte(&in) % ps_n_modules];
	const struct ps_event_desc *ev;
	struct fuzz_record r = { 0 };
	struct ps_counters counters = { 0 };
	char *json_text = NULL, *text = NULL, *keylog = NULL;
	size_t json_len = 0, text_len = 0, keylog_len = 0;
	FILE *json, *text_out;
	uint8_t flags;

	if (!module->n_events)
		return 0;
	ev = &module->events[take_byte(&in) % module->n_events];
	flags = take_byte(&in);
	take_bytes(&in, &counters.records, sizeof(counters.records));
	take_bytes(&in, &counters.kernel_loss, sizeof(counters.kernel_loss));
	counters.wire = flags & 4;
	if (build_record(&in, &r, module, ev, flags))
		abort();
	json = open_memstream(&json_text, &json_len);
	text_out = open_memstream(&text, &text_len);
	if (!json || !text_out)
		abort();
	write_json(json, &r.rec, &counters);
	write_text(text_out, &r.rec);
	if (ps_keylog_is_secrets_event(ev))
		write_secrets(json, text_out, &r.rec, &keylog, &keylog_len);
	fclose(json);
	fclose(text_out);
	check_json_lines(json_text, json_len);
	write_through_writer(&r.rec, &counters, flags & 0x80);
	write_pcapng(&r.rec, keylog, keylog_len);
	free(json_text);
	free(text);
	free(keylog);
	free(r.fixed);
	return 0;
}
