/* SPDX-License-Identifier: MIT */
/*
 * How captured bytes are spelled in output: escaped text, hex dumps, base64,
 * JSON strings, addresses. Every helper writes all of its input: none of
 * them shortens user data.
 */
#include <arpa/inet.h>
#include <emmintrin.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include "output.h"

static const char hex_digits[] = "0123456789abcdef";

const char *ps_format_tty(const char tty[PS_TTY_LEN], char *buf, size_t size)
{
	size_t len = strnlen(tty, PS_TTY_LEN);

	if (len > 3 && strncmp(tty, "pts", 3) == 0 && strspn(tty + 3, "0123456789") == len - 3)
		snprintf(buf, size, "pts/%.*s", (int)(len - 3), tty + 3);
	else
		snprintf(buf, size, "%.*s", (int)len, tty);
	return buf;
}

/* Text is copied through as is: printable ASCII, newline, tab; not backslash. */
static bool is_plain_text(uint8_t c)
{
	return (c >= 0x20 && c < 0x7f && c != '\\') || c == '\n' || c == '\t';
}

/*
 * Bytes of the 16 at p that are not plain text, one bit each (bit i: p[i]).
 * Text output scans every captured byte, so it looks at sixteen at a time
 * with SSE2, which every x86-64 CPU has: a signed compare puts 0x80-0xff
 * below 0x20 along with the control characters.
 */
static unsigned not_plain_mask16(const uint8_t *p)
{
	__m128i v = _mm_loadu_si128((const __m128i *)p);
	__m128i printable = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8(0x1f)),
					  _mm_cmplt_epi8(v, _mm_set1_epi8(0x7f)));
	__m128i backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'));
	__m128i newline_or_tab = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\n')),
					      _mm_cmpeq_epi8(v, _mm_set1_epi8('\t')));
	__m128i plain = _mm_or_si128(_mm_andnot_si128(backslash, printable), newline_or_tab);

	return ~(unsigned)_mm_movemask_epi8(plain) & 0xffffu;
}

/* Length of the run of plain text at the start of data. */
static size_t plain_run(const uint8_t *data, size_t len)
{
	size_t run = 0;

	for (; run + 16 <= len; run += 16) {
		unsigned mask = not_plain_mask16(data + run);

		if (mask)
			return run + (size_t)__builtin_ctz(mask);
	}
	while (run < len && is_plain_text(data[run]))
		run++;
	return run;
}

/*
 * Escaped output is built in a local buffer and written in big pieces: one
 * stdio call per escaped byte made binary data three times slower to print.
 */
struct out_buffer {
	FILE *f;
	size_t pos;
	char text[8192];
};

static void out_flush(struct out_buffer *out)
{
	fwrite(out->text, 1, out->pos, out->f);
	out->pos = 0;
}

static void out_append(struct out_buffer *out, const void *text, size_t len)
{
	if (out->pos + len > sizeof(out->text))
		out_flush(out);
	if (len > sizeof(out->text)) {
		fwrite(text, 1, len, out->f);
		return;
	}
	memcpy(out->text + out->pos, text, len);
	out->pos += len;
}

/* A run of plain text, with the prefix after each of its newlines. */
static void append_plain_lines(struct out_buffer *out, const uint8_t *text, size_t len, const char *prefix,
			       size_t prefix_len)
{
	const uint8_t *end = text + len;
	const uint8_t *newline;

	while ((newline = memchr(text, '\n', (size_t)(end - text))) != NULL) {
		out_append(out, text, (size_t)(newline + 1 - text));
		out_append(out, prefix, prefix_len);
		text = newline + 1;
	}
	out_append(out, text, (size_t)(end - text));
}

void ps_format_escaped_run(FILE *f, const char *prefix, const uint8_t *data, size_t len)
{
	struct out_buffer out = { .f = f };
	size_t prefix_len = strlen(prefix);
	size_t i = 0;

	while (i < len) {
		size_t run = i + plain_run(data + i, len - i);

		if (run > i) {
			append_plain_lines(&out, data + i, run - i, prefix, prefix_len);
			i = run;
			continue;
		}
		if (data[i] == '\\') {
			out_append(&out, "\\\\", 2);
		} else {
			char esc[4] = { '\\', 'x', hex_digits[data[i] >> 4], hex_digits[data[i] & 0xf] };

			out_append(&out, esc, sizeof(esc));
		}
		i++;
	}
	out_flush(&out);
}

void ps_format_escaped_lines(FILE *f, const char *prefix, const uint8_t *data, size_t len)
{
	fputs(prefix, f);
	ps_format_escaped_run(f, prefix, data, len);
	fputc('\n', f);
}

/*
 * The layout of `hexdump -C`, without its `*` for repeated lines: a dump
 * that hides bytes is no help when looking for where two captures differ.
 */
void ps_format_hexdump(FILE *f, const char *prefix, const uint8_t *data, size_t len)
{
	ps_format_hexdump_at(f, prefix, data, len, 0);
}

void ps_format_hexdump_at(FILE *f, const char *prefix, const uint8_t *data, size_t len, uint64_t base)
{
	for (size_t off = 0; off < len; off += 16) {
		size_t n = len - off < 16 ? len - off : 16;
		char line[128];
		int pos = snprintf(line, sizeof(line), "%08llx  ", (unsigned long long)(base + off));

		fputs(prefix, f);
		for (size_t i = 0; i < 16; i++) {
			if (i < n) {
				line[pos++] = hex_digits[data[off + i] >> 4];
				line[pos++] = hex_digits[data[off + i] & 0xf];
			} else {
				line[pos++] = ' ';
				line[pos++] = ' ';
			}
			line[pos++] = ' ';
			if (i == 7)
				line[pos++] = ' ';
		}
		line[pos++] = ' ';
		line[pos++] = '|';
		for (size_t i = 0; i < n; i++) {
			uint8_t c = data[off + i];

			line[pos++] = c >= 0x20 && c < 0x7f ? (char)c : '.';
		}
		line[pos++] = '|';
		line[pos++] = '\n';
		fwrite(line, 1, (size_t)pos, f);
	}
}

/*
 * Where bytes are missing: `\[... 32768 bytes lost at offset 65536 ...]`. A
 * backslash before `[` is no escape that data gives (`\\`, `\xNN`), so no
 * payload can pass for a marker.
 */
void ps_format_gap_marker(FILE *f, const struct ps_gap *gap)
{
	fprintf(f, "\\[... %llu bytes lost at offset %llu ...]", (unsigned long long)gap->length,
		(unsigned long long)gap->offset);
}

void ps_format_with_gaps(FILE *f, const struct ps_record *rec, ps_piece_fn write_piece, const char *marker_line_prefix)
{
	const uint8_t *data = rec->data;
	size_t done = 0;            /* bytes of data written */
	uint64_t lost = 0;          /* bytes of the gaps passed */

	for (size_t i = 0; i < rec->n_gaps; i++) {
		const struct ps_gap *gap = &rec->gaps[i];
		uint64_t before = gap->offset - lost - done;   /* data bytes before this gap */

		if (before > rec->data_len - done)
			before = rec->data_len - done;
		if (before)
			write_piece(f, data + done, (size_t)before, done + lost);
		done += (size_t)before;
		if (marker_line_prefix)
			fputs(marker_line_prefix, f);
		ps_format_gap_marker(f, gap);
		if (marker_line_prefix)
			fputc('\n', f);
		lost += gap->length;
	}
	if (done < rec->data_len)
		write_piece(f, data + done, rec->data_len - done, done + lost);
}

void ps_format_hex(FILE *f, const uint8_t *data, size_t len)
{
	char out[256];
	size_t pos = 0;

	for (size_t i = 0; i < len; i++) {
		out[pos++] = hex_digits[data[i] >> 4];
		out[pos++] = hex_digits[data[i] & 0xf];
		if (pos == sizeof(out)) {
			fwrite(out, 1, pos, f);
			pos = 0;
		}
	}
	fwrite(out, 1, pos, f);
}

/* RFC 4648 section 4: the standard alphabet, padded with '='. */
static const char base64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/*
 * Base64 is on the hot path of json output (every payload byte goes through
 * it): a table of all 4096 twelve-bit values, two characters each, turns
 * three bytes into four characters with two lookups.
 */
static const char *base64_pairs(void)
{
	static char pairs[4096 * 2];
	static int ready;

	if (!ready) {
		for (int i = 0; i < 4096; i++) {
			pairs[2 * i] = base64_alphabet[i >> 6];
			pairs[2 * i + 1] = base64_alphabet[i & 63];
		}
		ready = 1;
	}
	return pairs;
}

void ps_format_base64(FILE *f, const uint8_t *data, size_t len)
{
	const char *pairs = base64_pairs();
	char out[16384];
	size_t pos = 0, i = 0;

	for (; i + 3 <= len; i += 3) {
		uint32_t group = (uint32_t)data[i] << 16 | (uint32_t)data[i + 1] << 8 | data[i + 2];

		memcpy(out + pos, pairs + 2 * (group >> 12), 2);
		memcpy(out + pos + 2, pairs + 2 * (group & 0xfff), 2);
		pos += 4;
		if (pos == sizeof(out)) {
			fwrite(out, 1, pos, f);
			pos = 0;
		}
	}
	if (i < len) {
		uint32_t group = (uint32_t)data[i] << 16 | (i + 1 < len ? (uint32_t)data[i + 1] << 8 : 0);

		out[pos++] = base64_alphabet[(group >> 18) & 63];
		out[pos++] = base64_alphabet[(group >> 12) & 63];
		out[pos++] = i + 1 < len ? base64_alphabet[(group >> 6) & 63] : '=';
		out[pos++] = '=';
	}
	fwrite(out, 1, pos, f);
}

/*
 * Length of the well-formed UTF-8 sequence at s (RFC 3629 section 4: no
 * overlong forms, no surrogates, nothing past U+10FFFF), or 0.
 */
static size_t utf8_sequence_length(const uint8_t *s, size_t avail)
{
	uint8_t lo = 0x80, hi = 0xbf;
	size_t n;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (avail < n || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

bool ps_format_utf8_valid(const uint8_t *data, size_t len)
{
	for (size_t i = 0; i < len;) {
		size_t n;

		if (data[i] < 0x80) {   /* ASCII: no call per byte */
			i++;
			continue;
		}
		n = utf8_sequence_length(data + i, len - i);
		if (!n)
			return false;
		i += n;
	}
	return true;
}

/*
 * The contents of a JSON string (RFC 8259 section 7), without the quotes.
 * The output must stay valid UTF-8, so a byte that is not part of a
 * well-formed sequence becomes U+FFFD; callers that must not lose it check
 * ps_format_utf8_valid and also write the bytes in base64.
 */
void ps_format_json_string(FILE *f, const uint8_t *data, size_t len)
{
	struct out_buffer out = { .f = f };
	size_t i = 0;

	while (i < len) {
		size_t run = i, n;

		for (;;) {
			/* printable ASCII, the bulk of text bodies, without the UTF-8 decoder's call per byte */
			while (run < len && data[run] >= 0x20 && data[run] < 0x80 && data[run] != '"' && data[run] != '\\')
				run++;
			if (run < len && data[run] >= 0x80 && (n = utf8_sequence_length(data + run, len - run)))
				run += n;
			else
				break;
		}
		if (run > i) {
			out_append(&out, data + i, run - i);
			i = run;
			continue;
		}
		if (data[i] == '"') {
			out_append(&out, "\\\"", 2);
		} else if (data[i] == '\\') {
			out_append(&out, "\\\\", 2);
		} else if (data[i] < 0x20) {
			char esc[6] = { '\\', 'u', '0', '0', hex_digits[data[i] >> 4], hex_digits[data[i] & 0xf] };

			out_append(&out, esc, sizeof(esc));
		} else {
			out_append(&out, "\\ufffd", 6);
		}
		i++;
	}
	out_flush(&out);
}

const char *ps_format_addr(const struct ps_tuple *t, const uint8_t addr[16], char *buf, size_t size)
{
	switch (t->family) {
	case AF_INET:
		return inet_ntop(AF_INET, addr, buf, (socklen_t)size);
	case AF_INET6:
		return inet_ntop(AF_INET6, addr, buf, (socklen_t)size);
	default:
		snprintf(buf, size, "?");
		return buf;
	}
}
