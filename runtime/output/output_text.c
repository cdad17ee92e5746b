/* SPDX-License-Identifier: MIT */
/*
 * Text output, for people: one header line per record, then its data.
 *
 *   2026-11-29T11:45:01.123456789Z tls tls_data pid=12 tid=12 uid=0 comm=curl fd=3 dir=write 10.0.0.1:51000 -> 10.0.0.2:443 len=16
 *   | GET / HTTP/1.1\x0d
 *   | Host: a\x0d
 *   | \x0d
 *   |<space>
 *
 * The traced programs choose the data, so every line of it starts with
 * DATA_PREFIX and no data can pass for a header: a line that does not start
 * with it starts a record. Data keeps its tabs, and its newlines end lines
 * (data ending in a newline ends with a line that is the prefix alone); any
 * other byte outside printable ASCII, and the backslash, is escaped, so the
 * text maps back to the exact bytes.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include "fields.h"
#include "output.h"

#define DATA_PREFIX "| "

/* RFC 3339 in UTC with nanoseconds: 2026-11-29T11:45:01.123456789Z */
static void write_time(FILE *f, uint64_t time_ns)
{
	time_t seconds = (time_t)(time_ns / 1000000000);
	struct tm tm;
	char date[32];

	if (!gmtime_r(&seconds, &tm) || !strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm)) {
		fprintf(f, "@%" PRIu64, time_ns);
		return;
	}
	fprintf(f, "%s.%09" PRIu64 "Z", date, time_ns % 1000000000);
}

/*
 * A thread can name itself anything (prctl PR_SET_NAME), spaces included;
 * escape those too, so that the header line still splits on spaces.
 */
/* A header value (comm, tty) as one space-free word. */
static void write_word(FILE *f, const char *text, size_t max)
{
	size_t len = strnlen(text, max);

	for (size_t i = 0; i < len; i++) {
		uint8_t c = (uint8_t)text[i];

		if (c == '\\')
			fputs("\\\\", f);
		else if (c > 0x20 && c < 0x7f)
			fputc(c, f);
		else
			fprintf(f, "\\x%02x", c);
	}
}

static void write_endpoint(FILE *f, const struct ps_tuple *t, const uint8_t addr[16], uint16_t port)
{
	char text[64];

	if (!ps_format_addr(t, addr, text, sizeof(text)))
		strcpy(text, "?");
	if (t->family == AF_INET6)
		fprintf(f, "[%s]:%u", text, port);
	else
		fprintf(f, "%s:%u", text, port);
}

static void write_field(FILE *f, const struct ps_record *rec, const struct ps_field_desc *field)
{
	const struct ps_tuple *tuple;
	int64_t value = 0;

	switch (field->kind) {
	case PS_FIELD_INT:
		ps_field_int(field, rec, &value);
		fprintf(f, " %s=%" PRId64, field->name, value);
		break;
	case PS_FIELD_UINT:
		ps_field_int(field, rec, &value);
		fprintf(f, " %s=%" PRIu64, field->name, (uint64_t)value);
		break;
	case PS_FIELD_ENUM:
		ps_field_int(field, rec, &value);
		if ((uint64_t)value < field->n_enum && field->enum_names[value])
			fprintf(f, " %s=%s", field->name, field->enum_names[value]);
		else
			fprintf(f, " %s=%" PRIu64, field->name, (uint64_t)value);
		break;
	case PS_FIELD_TUPLE:
		tuple = ps_field_tuple(field, rec);
		if (!tuple || tuple->family == 0)
			break;
		fputc(' ', f);
		write_endpoint(f, tuple, tuple->saddr, tuple->sport);
		fputs(" -> ", f);
		write_endpoint(f, tuple, tuple->daddr, tuple->dport);
		break;
	case PS_FIELD_BYTES:
	case PS_FIELD_STRING:
		fprintf(f, " len=%zu", rec->data_len);
		break;
	case PS_FIELD_FIXED_BYTES:
		fprintf(f, " %s=", field->name);
		ps_format_hex(f, ps_field_fixed_bytes(field, rec), field->size);
		break;
	}
}

static void write_header(FILE *f, const struct ps_record *rec)
{
	const struct ps_event_header *hdr = ps_record_header(rec);

	write_time(f, rec->time_ns);
	fprintf(f, " %s %s pid=%u tid=%u uid=%u comm=", rec->module->name, rec->event->name, hdr->pid,
		hdr->tid, hdr->uid);
	write_word(f, ps_record_comm(rec), PS_COMM_LEN);
	/* a thread that kept the program's name (most do) says nothing more */
	if (hdr->thread[0] && strncmp(hdr->thread, ps_record_comm(rec), PS_COMM_LEN) != 0) {
		fputs(" thread=", f);
		write_word(f, hdr->thread, PS_COMM_LEN);
	}
	if (hdr->tty[0]) {
		char tty[PS_TTY_LEN + 8];

		fprintf(f, " tty=");
		write_word(f, ps_format_tty(hdr->tty, tty, sizeof(tty)), sizeof(tty));
	}
	for (uint32_t i = 0; i < rec->event->n_fields; i++) {
		const struct ps_field_desc *field = &rec->event->fields[i];

		if (!field->hidden && ps_field_present(field, rec))
			write_field(f, rec, field);
	}
	if (rec->lost_bytes)
		fprintf(f, " lost=%" PRIu64, rec->lost_bytes);
	if (rec->incomplete)
		fputs(" incomplete", f);
	if (rec->read_failed)
		fputs(" read-failed", f);
	fputc('\n', f);
}

static void write_escaped_piece(FILE *f, const uint8_t *data, size_t len, uint64_t call_offset)
{
	(void)call_offset;
	ps_format_escaped_run(f, DATA_PREFIX, data, len);
}

static void write_hexdump_piece(FILE *f, const uint8_t *data, size_t len, uint64_t call_offset)
{
	ps_format_hexdump_at(f, DATA_PREFIX, data, len, call_offset);
}

/* The data, with a marker where bytes are missing (format.c). */
static void write_data(FILE *f, const struct ps_output_opts *opts, const struct ps_record *rec)
{
	const struct ps_field_desc *field;

	if (rec->event->var_field < 0 || ((!rec->data || rec->data_len == 0) && !rec->n_gaps))
		return;
	field = &rec->event->fields[rec->event->var_field];
	if (field->hidden || !ps_field_present(field, rec))
		return;
	if (field->kind == PS_FIELD_BYTES && opts->hex) {
		ps_format_with_gaps(f, rec, write_hexdump_piece, DATA_PREFIX);
		return;
	}
	fputs(DATA_PREFIX, f);
	ps_format_with_gaps(f, rec, write_escaped_piece, NULL);
	fputc('\n', f);
}

void ps_output_text_record(FILE *f, const struct ps_output_opts *opts, const struct ps_record *rec)
{
	write_header(f, rec);
	write_data(f, opts, rec);
}
