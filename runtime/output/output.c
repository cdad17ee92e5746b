/* SPDX-License-Identifier: MIT */
/*
 * The writer: one output stream, its buffer and its first error. The modes
 * (output_text.c, output_json.c) only format; this file notices when the
 * bytes do not reach the file, so that no record is lost without a count.
 */
#include <errno.h>
#include <stdlib.h>
#include "async_sink.h"
#include "keylog.h"
#include "outfile.h"
#include "output.h"
#include "secrets_record.h"

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
 * bulk-capture rates (bench P2). Used only during such a stall, and given
 * back as it is written.
 */
#define WRITER_QUEUE_MAX (64u << 20)

struct ps_writer {
	FILE *stream;
	char *buffer;
	struct ps_output_opts opts;
	bool flush_each_record;     /* a reader may be waiting on the other end */
	int error;                  /* first failure, a negative errno; sticky */
};

static void writer_free(struct ps_writer *w)
{
	free(w->buffer);
	free(w);
}

struct ps_writer *ps_writer_open(struct ps_outfile *file, const struct ps_output_opts *opts)
{
	struct ps_writer *w = calloc(1, sizeof(*w));
	int saved_errno;

	if (!w)
		return NULL;
	w->opts = *opts;
	w->buffer = malloc(WRITER_BUFFER_SIZE);
	if (!w->buffer) {
		writer_free(w);
		errno = ENOMEM;
		return NULL;
	}
	/* Someone watches stdout live (a terminal, `| jq`): hand each record over whole. */
	w->flush_each_record = file->path == NULL;
	/*
	 * A file goes through the writer thread, which waits on the disk in
	 * the reader's stead. A failure leaves the descriptor open: the file
	 * stays the caller's.
	 */
	w->stream = w->flush_each_record ? fdopen(file->fd, "w") : ps_async_sink_open(file->fd, WRITER_QUEUE_MAX);
	if (!w->stream) {
		saved_errno = errno;
		writer_free(w);
		errno = saved_errno;
		return NULL;
	}
	/* a fresh stream with a valid mode: setvbuf cannot fail */
	setvbuf(w->stream, w->buffer, _IOFBF, WRITER_BUFFER_SIZE);
	file->fd = -1;
	return w;
}

/* Remembers the stream's first failure; stdio reports it in errno. */
static int check_stream(struct ps_writer *w)
{
	if (!w->error && ferror(w->stream))
		w->error = errno ? -errno : -EIO;
	return w->error;
}

/*
 * Once the output failed, later records are refused, not half-written
 * after a gap: the caller counts each of them as a write error.
 */
int ps_writer_record(struct ps_writer *w, const struct ps_record *rec)
{
	if (w->error)
		return w->error;
	errno = 0;
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
	if (w->flush_each_record)
		fflush(w->stream);
	return check_stream(w);
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
		return err ? err : lines > 0;
	}
	if (!w->opts.secrets)
		return 0;
	ps_secrets_record_build(&out, rec, secrets);
	err = ps_writer_record(w, &out.rec);
	return err ? err : 1;
}

int ps_writer_summary(struct ps_writer *w, const struct ps_counters *counters)
{
	if (w->error)
		return w->error;
	if (w->opts.mode != PS_OUTPUT_JSON)
		return 0;
	errno = 0;
	ps_output_json_summary(w->stream, counters);
	return check_stream(w);
}

int ps_writer_close(struct ps_writer *w)
{
	int err;

	if (!w)
		return 0;
	errno = 0;
	if (fflush(w->stream) != 0 && !w->error)
		w->error = errno ? -errno : -EIO;
	check_stream(w);
	errno = 0;
	if (fclose(w->stream) != 0 && !w->error)
		w->error = errno ? -errno : -EIO;
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
	if (w->flush_each_record)
		fflush(w->stream);
	return check_stream(w);
}

int ps_writer_attachment(struct ps_writer *w, const struct ps_attachment *attachment)
{
	if (!w || w->error)
		return w ? w->error : 0;
	if (w->opts.mode != PS_OUTPUT_JSON)
		return 0;
	errno = 0;
	ps_output_json_attachment(w->stream, attachment);
	if (w->flush_each_record)
		fflush(w->stream);
	return check_stream(w);
}
