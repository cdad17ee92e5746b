/* SPDX-License-Identifier: MIT */
/*
 * JSON output, for programs: one object per line (JSON Lines), keys in a
 * fixed order. A field the spec declares `text` (a query, a command line) is
 * a JSON string; where its bytes are not valid UTF-8 the string shows U+FFFD
 * and NAME_b64 carries the exact bytes. Other bytes (TLS payloads) travel
 * in base64 only, as NAME_b64 after their len.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>
#include "fields.h"
#include "output.h"

/* In format.c; it belongs in output.h beside the other format helpers. */

static void write_string(FILE *f, const char *s, size_t len)
{
	fputc('"', f);
	ps_format_json_string(f, (const uint8_t *)s, len);
	fputc('"', f);
}

/* `, "name` with the given suffix, then `": ` */
static void write_key(FILE *f, const char *name, const char *suffix)
{
	fputs(", ", f);
	fputc('"', f);
	ps_format_json_string(f, (const uint8_t *)name, strlen(name));
	fputs(suffix, f);
	fputs("\": ", f);
}

static void write_addr(FILE *f, const struct ps_tuple *t, const uint8_t addr[16])
{
	char text[64];

	if (!ps_format_addr(t, addr, text, sizeof(text)))
		strcpy(text, "?");
	write_string(f, text, strlen(text));
}

static void write_tuple(FILE *f, const struct ps_tuple *t)
{
	fputs(", \"saddr\": ", f);
	write_addr(f, t, t->saddr);
	fprintf(f, ", \"sport\": %u, \"daddr\": ", t->sport);
	write_addr(f, t, t->daddr);
	fprintf(f, ", \"dport\": %u", t->dport);
}

static void write_data(FILE *f, const struct ps_record *rec, const struct ps_field_desc *field)
{
	const uint8_t *data = rec->data ? rec->data : (const uint8_t *)"";

	if (!field->text) {
		fprintf(f, ", \"len\": %zu", rec->data_len);
		write_key(f, field->name, "_b64");
		fputc('"', f);
		ps_format_base64(f, data, rec->data_len);
		fputc('"', f);
		return;
	}
	write_key(f, field->name, "");
	write_string(f, (const char *)data, rec->data_len);
	if (ps_format_utf8_valid(data, rec->data_len))
		return;
	/* The text above replaced some bytes; these keep them. */
	write_key(f, field->name, "_b64");
	fputc('"', f);
	ps_format_base64(f, data, rec->data_len);
	fputc('"', f);
}

static void write_field(FILE *f, const struct ps_record *rec, const struct ps_field_desc *field)
{
	const struct ps_tuple *tuple;
	int64_t value = 0;

	switch (field->kind) {
	case PS_FIELD_INT:
		ps_field_int(field, rec, &value);
		write_key(f, field->name, "");
		fprintf(f, "%" PRId64, value);
		break;
	case PS_FIELD_UINT:
		ps_field_int(field, rec, &value);
		write_key(f, field->name, "");
		fprintf(f, "%" PRIu64, (uint64_t)value);
		break;
	case PS_FIELD_ENUM:
		ps_field_int(field, rec, &value);
		write_key(f, field->name, "");
		/* A value the spec has no name for is still worth seeing. */
		if ((uint64_t)value < field->n_enum && field->enum_names[value])
			write_string(f, field->enum_names[value], strlen(field->enum_names[value]));
		else
			fprintf(f, "%" PRIu64, (uint64_t)value);
		break;
	case PS_FIELD_TUPLE:
		tuple = ps_field_tuple(field, rec);
		if (tuple && tuple->family != 0)
			write_tuple(f, tuple);
		break;
	case PS_FIELD_BYTES:
	case PS_FIELD_STRING:
		write_data(f, rec, field);
		break;
	case PS_FIELD_FIXED_BYTES:
		write_key(f, field->name, "");
		fputc('"', f);
		ps_format_hex(f, ps_field_fixed_bytes(field, rec), field->size);
		fputc('"', f);
		break;
	}
}

/* "gaps": [[offset, length], ...]: the byte ranges of the call that the payload lacks. */
static void write_gaps(FILE *f, const struct ps_record *rec)
{
	if (!rec->n_gaps)
		return;
	fputs(", \"gaps\": [", f);
	for (size_t i = 0; i < rec->n_gaps; i++)
		fprintf(f, "%s[%" PRIu64 ", %" PRIu64 "]", i ? ", " : "", rec->gaps[i].offset, rec->gaps[i].length);
	fputc(']', f);
}

void ps_output_json_record(FILE *f, const struct ps_record *rec)
{
	const struct ps_event_header *hdr = ps_record_header(rec);

	/* mono_ns: CLOCK_MONOTONIC, for ordering and intervals that wall-clock steps cannot skew */
	fprintf(f, "{\"time_ns\": %" PRIu64 ", \"mono_ns\": %" PRIu64 ", \"pid\": %u, \"tid\": %u, \"uid\": %u, \"comm\": ",
		rec->time_ns, (uint64_t)hdr->mono_ns, hdr->pid, hdr->tid, hdr->uid);
	write_string(f, ps_record_comm(rec), strnlen(ps_record_comm(rec), PS_COMM_LEN));
	fputs(", \"thread\": ", f);
	write_string(f, hdr->thread, strnlen(hdr->thread, PS_COMM_LEN));
	if (hdr->tty[0]) {
		char tty[PS_TTY_LEN + 8];

		fputs(", \"tty\": ", f);
		ps_format_tty(hdr->tty, tty, sizeof(tty));
		write_string(f, tty, strlen(tty));
	}
	fputs(", \"module\": ", f);
	write_string(f, rec->module->name, strlen(rec->module->name));
	fputs(", \"event\": ", f);
	write_string(f, rec->event->name, strlen(rec->event->name));
	for (uint32_t i = 0; i < rec->event->n_fields; i++) {
		const struct ps_field_desc *field = &rec->event->fields[i];

		if (!field->hidden && ps_field_present(field, rec))
			write_field(f, rec, field);
	}
	if (rec->lost_bytes)
		fprintf(f, ", \"lost_bytes\": %" PRIu64, rec->lost_bytes);
	write_gaps(f, rec);
	if (rec->incomplete)
		fputs(", \"incomplete\": true", f);
	if (rec->read_failed)
		fputs(", \"read_failed\": true", f);
	fputs("}\n", f);
}

/*
 * bytes: captured; lost_bytes: every byte of the traced calls that is not in
 * the output, whatever the cause (bytes + lost_bytes is what they passed);
 * lost_records and incomplete_calls: the records and calls concerned. "lost"
 * says where each loss happened; gap_bytes, the part of lost_bytes that the
 * records show as gaps, is no loss of its own.
 */
/* --from wire: the packets, the gaps, and the records that gave no plaintext, by cause. */
static void write_wire_summary(FILE *f, const struct ps_counters *c)
{
	static const char *const cause_keys[PS_WIRE_CAUSES] = {
		[PS_WIRE_NO_SECRET] = "no_secret", [PS_WIRE_NO_HANDSHAKE] = "no_handshake",
		[PS_WIRE_UNSUPPORTED] = "unsupported", [PS_WIRE_BAD_RECORD] = "bad_record",
		[PS_WIRE_AFTER_GAP] = "after_gap", [PS_WIRE_PENDING_FULL] = "pending_full",
	};

	fprintf(f, ", \"wire\": {\"packets\": %" PRIu64 ", \"packets_dropped\": %" PRIu64
		", \"packets_backlog_full\": %" PRIu64 ", \"connections\": %" PRIu64
		", \"not_tls\": %" PRIu64 ", \"gaps\": %" PRIu64 ", \"gap_bytes\": %" PRIu64 ", \"unattributed\": %" PRIu64
		", \"undecryptable\": {", c->wire_packets, c->packets_dropped, c->packets_backlog_full,
		c->wire_connections, c->wire_not_tls,
		c->wire_gaps, c->wire_gap_bytes, c->packets_unattributed);
	for (int i = 0; i < PS_WIRE_CAUSES; i++)
		fprintf(f, "%s\"%s\": %" PRIu64, i ? ", " : "", cause_keys[i], c->wire_undecryptable[i]);
	fputs("}}", f);
}

void ps_output_json_summary(FILE *f, const struct ps_counters *c)
{
	fprintf(f,
		"{\"summary\": {\"records\": %" PRIu64 ", \"bytes\": %" PRIu64 ", \"lost_bytes\": %" PRIu64
		", \"lost_records\": %" PRIu64 ", \"incomplete_calls\": %" PRIu64 ", \"gap_bytes\": %" PRIu64
		", \"chunks\": %" PRIu64
		", \"lost\": {\"ringbuf_events\": %" PRIu64 ", \"ringbuf_bytes\": %" PRIu64
		", \"read_fail\": %" PRIu64 ", \"save_full\": %" PRIu64
		", \"truncated_bytes\": %" PRIu64 ", \"unwritten_bytes\": %" PRIu64
		", \"incomplete\": %" PRIu64 ", \"malformed\": %" PRIu64
		", \"write_errors\": %" PRIu64 ", \"kernel_missed\": %" PRIu64 ", \"uncollected\": %" PRIu64 "}, \"check_mismatch\": %" PRIu64
		", \"unpaired_returns\": %" PRIu64 ", \"keys_refused\": %s, \"secrets_dropped\": %" PRIu64
		", \"unreachable_programs\": %" PRIu64 ", \"targets\": %" PRIu64 ", \"held_back\": %" PRIu64 ", \"interrupted_calls\": %" PRIu64,
		c->records, c->bytes, ps_counters_lost_bytes(c), ps_counters_lost_records(c),
		ps_counters_incomplete_calls(c), c->gap_bytes, c->chunks, c->kernel_loss[PS_LOSS_RINGBUF_EVENTS],
		c->kernel_loss[PS_LOSS_RINGBUF_BYTES], c->kernel_loss[PS_LOSS_READ_FAIL],
		c->kernel_loss[PS_LOSS_SAVE_FULL], c->kernel_loss[PS_LOSS_TRUNC_BYTES], c->unwritten_bytes,
		c->incomplete, c->malformed, c->write_errors, c->kernel_missed, c->uncollected, c->check_mismatch,
		c->kernel_loss[PS_LOSS_NO_ENTRY], c->keys_refused ? "true" : "false", c->secrets_dropped,
		c->unreachable_programs, c->targets, c->held_back, c->interrupted_calls);
	if (c->wire)
		write_wire_summary(f, c);
	fputs("}}\n", f);
}
