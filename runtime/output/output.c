/* SPDX-License-Identifier: MIT */
/*
 * The writer: one output stream, its buffer and its first error. The modes
 * (output_text.c, output_json.c) only format; this file notices when the
 * bytes do not reach the file, so that no record is lost without a count.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include "async_sink.h"
#include "fields.h"
#include "http.h"
#include "keylog.h"
#include "outfile.h"
#include "output.h"
#include "secrets_record.h"
#include "meminfo.h"

/*
 * Big writes: one 4 MiB call should cost a few syscalls, not thousands.
 * Past 256 KiB a write's fixed cost is under 1% of its copy, while every
 * byte of the buffer stays resident once used (bench P5).
 */
#define WRITER_BUFFER_SIZE (256 << 10)

/*
 * Formatted bytes waiting for the writer thread (async_sink.h): enough to
 * ride out the disk's dirty-page throttling, which holds a writer for
 * hundreds of milliseconds once gigabytes are waiting for writeback, at
 * bulk-capture rates (bench P2 lost 80-110 MB in such stalls with a 64 MiB
 * queue). A 32nd of the available memory, 64 MiB to 1 GiB; used only
 * during such a stall, and given back as it is written.
 */
#define WRITER_QUEUE_MIN (64ull << 20)
#define WRITER_QUEUE_MAX (1ull << 30)

static size_t writer_queue_bytes(void)
{
	uint64_t bytes = ps_mem_available_kib() * 1024 / 32;

	return bytes < WRITER_QUEUE_MIN ? WRITER_QUEUE_MIN : bytes > WRITER_QUEUE_MAX ? WRITER_QUEUE_MAX : bytes;
}

/*
 * A record handed to a file's writer thread (async_sink.h) but not known
 * to be in the file yet: where it ends in the stream, and the data bytes
 * the caller counted for it. A full disk loses the records still queued,
 * which the caller counted as written: they are counted again as not
 * written (ps_writer_close_counted).
 */
struct unconfirmed_record {
	uint64_t end;
	uint64_t data_bytes;
};

struct unconfirmed {
	struct unconfirmed_record *records;  /* a ring: first, then the next len - 1 */
	size_t first, len, capacity;
	bool out_of_memory;                  /* then nothing more is tracked, and close says so */
};

struct ps_writer {
	FILE *stream;
	char *buffer;
	struct ps_output_opts opts;
	bool flush_each_record;     /* a reader may be waiting on the other end */
	int error;                  /* first failure, a negative errno; sticky */
	/* text and json without --raw: data records become HTTP messages (runtime/http) */
	struct ps_http_processor *http;
	/* a file (async sink) with records counted one by one, not HTTP messages */
	bool confirming;
	struct ps_sink_progress progress;
	struct unconfirmed unconfirmed;
};

static void writer_free(struct ps_writer *w)
{
	ps_http_processor_free(w->http);
	free(w->unconfirmed.records);
	free(w->buffer);
	free(w);
}

/* Forgets the records that reached the file. */
static void unconfirmed_drop_written(struct unconfirmed *u, uint64_t written)
{
	while (u->len && u->records[u->first].end <= written) {
		u->first = (u->first + 1) % u->capacity;
		u->len--;
	}
}

static bool unconfirmed_grow(struct unconfirmed *u)
{
	size_t capacity = u->capacity ? u->capacity * 2 : 1024;
	struct unconfirmed_record *records = malloc(capacity * sizeof(*records));

	if (!records)
		return false;
	for (size_t i = 0; i < u->len; i++)
		records[i] = u->records[(u->first + i) % u->capacity];
	free(u->records);
	u->records = records;
	u->first = 0;
	u->capacity = capacity;
	return true;
}

/* After a record was formatted into the stream: it ends where the stream is now. */
static void confirm_later(struct ps_writer *w, uint64_t data_bytes)
{
	struct unconfirmed *u = &w->unconfirmed;

	if (!w->confirming || w->error || u->out_of_memory)
		return;
	unconfirmed_drop_written(u, __atomic_load_n(&w->progress.written, __ATOMIC_ACQUIRE));
	if (u->len == u->capacity && !unconfirmed_grow(u)) {
		u->out_of_memory = true;
		return;
	}
	u->records[(u->first + u->len) % u->capacity] = (struct unconfirmed_record){
		.end = w->progress.accepted + __fpending(w->stream), .data_bytes = data_bytes };
	u->len++;
}

static void write_message(const struct ps_http_message *msg, void *arg)
{
	struct ps_writer *w = arg;

	if (w->opts.mode == PS_OUTPUT_JSON)
		ps_http_write_json(w->stream, msg);
	else
		ps_http_write_text(w->stream, msg);
}

static const struct ps_field_desc *field_named(const struct ps_event_desc *ev, const char *name,
					       enum ps_field_kind kind)
{
	for (uint32_t i = 0; i < ev->n_fields; i++)
		if (ev->fields[i].kind == kind && strcmp(ev->fields[i].name, name) == 0)
			return &ev->fields[i];
	return NULL;
}

/*
 * A record of a stream's bytes: an event with fd, dir (write, read), conn
 * and a bytes payload, as every TLS module's tls_data. Others are not HTTP.
 */
bool ps_output_record_chunk(const struct ps_record *rec, struct ps_http_chunk *chunk)
{
	const struct ps_event_desc *ev = rec->event;
	const struct ps_field_desc *fd = field_named(ev, "fd", PS_FIELD_INT);
	const struct ps_field_desc *dir = field_named(ev, "dir", PS_FIELD_ENUM);
	const struct ps_field_desc *conn = field_named(ev, "conn", PS_FIELD_TUPLE);
	const struct ps_event_header *hdr = ps_record_header(rec);
	const struct ps_tuple *tuple;
	int64_t fd_value = -1, dir_value = 0;

	if (!fd || !dir || !conn || ev->var_field < 0 || ev->fields[ev->var_field].kind != PS_FIELD_BYTES ||
	    ev->fields[ev->var_field].text || dir->n_enum != 2 || strcmp(dir->enum_names[0], "write") != 0 ||
	    rec->unfinished)
		return false;
	memset(chunk, 0, sizeof(*chunk));
	ps_field_int(fd, rec, &fd_value);
	ps_field_int(dir, rec, &dir_value);
	tuple = ps_field_tuple(conn, rec);
	if (tuple)
		chunk->tuple = *tuple;
	chunk->pid = hdr->pid;
	chunk->tid = hdr->tid;
	chunk->uid = hdr->uid;
	memcpy(chunk->comm, ps_record_comm(rec), strnlen(ps_record_comm(rec), PS_COMM_LEN));
	chunk->fd = (int32_t)fd_value;
	chunk->dir = dir_value ? PS_HTTP_READ : PS_HTTP_WRITE;
	chunk->mono_ns = hdr->mono_ns;
	chunk->time_ns = rec->time_ns;
	chunk->data = rec->data;
	chunk->len = rec->data_len;
	/* a gap anywhere in the call: the stream cannot be followed past it */
	chunk->lost_before = rec->lost_bytes + (rec->incomplete || rec->read_failed);
	return true;
}

static struct ps_writer *writer_new(const struct ps_output_opts *opts)
{
	struct ps_writer *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->opts = *opts;
	w->buffer = malloc(WRITER_BUFFER_SIZE);
	if (!w->buffer) {
		writer_free(w);
		errno = ENOMEM;
		return NULL;
	}
	return w;
}

/* The stream is w's from here on. */
static void writer_start(struct ps_writer *w, FILE *stream, bool flush_each_record)
{
	const struct ps_output_opts *opts = &w->opts;

	w->stream = stream;
	w->flush_each_record = flush_each_record;
	/* a fresh stream with a valid mode: setvbuf cannot fail */
	setvbuf(w->stream, w->buffer, _IOFBF, WRITER_BUFFER_SIZE);
	if ((opts->mode == PS_OUTPUT_TEXT || opts->mode == PS_OUTPUT_JSON) && !opts->raw) {
		struct ps_http_limits limits;

		ps_http_limits_default(&limits);
		limits.body_max = opts->tsize;
		w->http = ps_http_processor_new(&limits, write_message, w);
		/* no processor: records go out as captured, which loses nothing */
	}
}

struct ps_writer *ps_writer_open(struct ps_outfile *file, const struct ps_output_opts *opts)
{
	struct ps_writer *w = writer_new(opts);
	/* Someone watches stdout live (a terminal, `| jq`): hand each record over whole. */
	bool live = file->path == NULL;
	FILE *stream;
	int saved_errno;

	if (!w)
		return NULL;
	/*
	 * A file goes through the writer thread, which waits on the disk in
	 * the reader's stead. A failure leaves the descriptor open: the file
	 * stays the caller's.
	 */
	stream = live ? fdopen(file->fd, "w") : ps_async_sink_open(file->fd, writer_queue_bytes(), &w->progress);
	if (!stream) {
		saved_errno = errno;
		writer_free(w);
		errno = saved_errno;
		return NULL;
	}
	file->fd = -1;
	writer_start(w, stream, live);
	w->confirming = !live && !w->http;
	return w;
}

struct ps_writer *ps_writer_open_stream(FILE *stream, const struct ps_output_opts *opts)
{
	struct ps_writer *w = writer_new(opts);

	if (!w)
		return NULL;
	/* each record handed over whole: a line sink sends lines as they end (line_sink.h) */
	writer_start(w, stream, true);
	return w;
}

/* Remembers the stream's first failure; stdio reports it in errno. */
static int check_stream(struct ps_writer *w)
{
	if (!w->error && ferror(w->stream))
		w->error = errno ? -errno : -EIO;
	return w->error;
}

/* A record (or notice) is out: flushed at once when a reader may be waiting; the stream's error, if any. */
static int record_written(struct ps_writer *w)
{
	if (w->flush_each_record)
		fflush(w->stream);
	return check_stream(w);
}

/*
 * Once the output failed, later records are refused, not half-written
 * after a gap: the caller counts each of them as a write error.
 */
static int write_record(struct ps_writer *w, const struct ps_record *rec, uint64_t counted_bytes)
{
	int err;

	if (w->error)
		return w->error;
	errno = 0;
	if (w->http) {
		struct ps_http_chunk chunk;

		if (ps_output_record_chunk(rec, &chunk) && ps_http_push(w->http, &chunk))
			return record_written(w);
	}
	switch (w->opts.mode) {
	case PS_OUTPUT_TEXT:
		ps_output_text_record(w->stream, &w->opts, rec);
		break;
	case PS_OUTPUT_JSON:
		ps_output_json_record(w->stream, rec);
		break;
	case PS_OUTPUT_KEYLOG:
		return 0;   /* no record is for this file: ps_writer_secrets */
	default:
		return -EINVAL;
	}
	err = record_written(w);
	if (!err)
		confirm_later(w, counted_bytes);
	return err;
}

int ps_writer_record(struct ps_writer *w, const struct ps_record *rec)
{
	return write_record(w, rec, rec->data_len);
}

int ps_writer_secrets(struct ps_writer *w, const struct ps_record *rec, const struct ps_secrets *secrets)
{
	struct ps_secrets_record out;
	int err;

	if (w->error)
		return w->error;
	errno = 0;
	if (w->opts.mode == PS_OUTPUT_KEYLOG) {
		/* each line is flushed as written: a decrypting reader may be waiting */
		int lines = ps_keylog_write_lines(w->stream, secrets);

		if (lines < 0 && !w->error)
			w->error = lines;
		err = check_stream(w);
		if (!err && lines > 0)
			confirm_later(w, 0);
		return err ? err : lines > 0;
	}
	if (!w->opts.secrets)
		return 0;
	ps_secrets_record_build(&out, rec, secrets);
	/* a secrets record counts as a record, its bytes not as data */
	err = write_record(w, &out.rec, 0);
	return err ? err : 1;
}

int ps_writer_summary(struct ps_writer *w, const struct ps_counters *counters)
{
	if (w->error)
		return w->error;
	errno = 0;
	if (w->http) {
		const struct ps_http_counters *c = ps_http_counters(w->http);

		/* what the parsers still hold goes out before the summary */
		ps_http_flush(w->http);
		if (w->opts.mode == PS_OUTPUT_JSON)
			ps_http_write_json_counters(w->stream, c);
		else if (c->messages)
			fprintf(stderr, "plainsight: http: %" PRIu64 " messages, %" PRIu64 " streams shown raw, %" PRIu64
				" bytes skipped, %" PRIu64 " body bytes cut by --tsize, %" PRIu64 " connections evicted, %" PRIu64
				" header fields lost (HPACK), %" PRIu64 " stream errors\n",
				c->messages, c->raw_fallbacks, c->skipped_bytes, c->truncated_bytes, c->evicted,
				c->hpack_lost, c->stream_errors);
	}
	if (w->opts.mode != PS_OUTPUT_JSON)
		return check_stream(w);
	ps_output_json_summary(w->stream, counters);
	return check_stream(w);
}

/*
 * Once the writer thread is done: the records counted as written whose
 * bytes are not all in the file (a disk that filled, after they were
 * queued).
 */
static void count_unconfirmed(struct ps_writer *w, struct ps_unwritten *unwritten)
{
	struct unconfirmed *u = &w->unconfirmed;

	unconfirmed_drop_written(u, __atomic_load_n(&w->progress.written, __ATOMIC_ACQUIRE));
	for (size_t i = 0; i < u->len; i++) {
		unwritten->records++;
		unwritten->data_bytes += u->records[(u->first + i) % u->capacity].data_bytes;
	}
	unwritten->unknown = u->out_of_memory && w->error;
}

int ps_writer_close(struct ps_writer *w)
{
	return ps_writer_close_counted(w, NULL);
}

int ps_writer_close_counted(struct ps_writer *w, struct ps_unwritten *unwritten)
{
	int err;

	if (unwritten)
		*unwritten = (struct ps_unwritten){ 0 };
	if (!w)
		return 0;
	if (w->http && !w->error)
		ps_http_flush(w->http);
	errno = 0;
	if (fflush(w->stream) != 0 && !w->error)
		w->error = errno ? -errno : -EIO;
	check_stream(w);
	errno = 0;
	if (fclose(w->stream) != 0 && !w->error)
		w->error = errno ? -errno : -EIO;
	if (unwritten && w->error)
		count_unconfirmed(w, unwritten);
	err = w->error;
	writer_free(w);
	return err;
}

/* Only json carries notices: text output has them on stderr alone. */
int ps_writer_notice(struct ps_writer *w, const struct ps_notice *notice)
{
	if (!w)
		return 0;   /* pcapng mode: notices go to stderr only */
	if (w->error)
		return w->error;
	if (w->opts.mode != PS_OUTPUT_JSON)
		return 0;
	errno = 0;
	ps_output_json_notice(w->stream, notice);
	return record_written(w);
}

int ps_writer_attachment(struct ps_writer *w, const struct ps_attachment *attachment)
{
	if (!w || w->error)
		return w ? w->error : 0;
	if (w->opts.mode != PS_OUTPUT_JSON)
		return 0;
	errno = 0;
	ps_output_json_attachment(w->stream, attachment);
	return record_written(w);
}
