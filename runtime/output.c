/* SPDX-License-Identifier: MIT */
/*
 * The writer: one output stream, its buffer and its first error. The modes
 * (output_text.c, output_json.c) only format; this file notices when the
 * bytes do not reach the file, so that no record is lost without a count.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>
#include "keylog.h"
#include "output.h"

/*
 * Big writes: one 4 MiB call should cost a few syscalls, not thousands.
 * Past 256 KiB a write's fixed cost is under 1% of its copy, while every
 * byte of the buffer stays resident once used (bench P5).
 */
#define WRITER_BUFFER_SIZE (256 << 10)

struct ps_writer {
	FILE *stream;
	char *buffer;
	struct ps_output_opts opts;
	bool flush_each_record;     /* a reader may be waiting on the other end */
	int error;                  /* first failure, a negative errno; sticky */
	struct ps_keylog *keylog;   /* keylog mode: the lines written so far */
};

struct ps_writer *ps_writer_open(const char *path, const struct ps_output_opts *opts)
{
	struct ps_writer *w = calloc(1, sizeof(*w));
	int fd, saved_errno;

	if (!w)
		return NULL;
	w->opts = *opts;
	/*
	 * stdout gets a stream of its own on a duplicate, so that closing the
	 * writer and freeing its buffer never touches the C library's stdout.
	 */
	if (path)
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	else
		fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	w->stream = fdopen(fd, "w");
	if (!w->stream) {
		saved_errno = errno;
		close(fd);
		errno = saved_errno;
		goto fail;
	}
	w->buffer = malloc(WRITER_BUFFER_SIZE);
	if (!w->buffer || setvbuf(w->stream, w->buffer, _IOFBF, WRITER_BUFFER_SIZE) != 0) {
		fclose(w->stream);
		free(w->buffer);
		errno = ENOMEM;
		goto fail;
	}
	/* Keys are secret: an older file of other permissions is made 0600 too. */
	if (opts->mode == PS_OUTPUT_KEYLOG) {
		w->keylog = ps_keylog_new();
		if (!w->keylog || (path && fchmod(fd, 0600) != 0)) {
			saved_errno = w->keylog ? errno : ENOMEM;
			ps_keylog_free(w->keylog);
			fclose(w->stream);
			free(w->buffer);
			errno = saved_errno;
			goto fail;
		}
	}
	/* Someone watches stdout live (a terminal, `| jq`): hand each record over whole. */
	w->flush_each_record = path == NULL;
	return w;

fail:
	saved_errno = errno;
	free(w);
	errno = saved_errno;
	return NULL;
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
	case PS_OUTPUT_KEYLOG: {
		/* other records are not for this file; each line is flushed as written */
		int err = ps_keylog_write(w->keylog, w->stream, rec);

		if (err < 0 && !w->error)
			w->error = err;
		return check_stream(w);
	}
	default:
		return -EINVAL;
	}
	if (w->flush_each_record)
		fflush(w->stream);
	return check_stream(w);
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
	ps_keylog_free(w->keylog);
	free(w->buffer);
	free(w);
	return err;
}

/* Only json carries notices: text output has them on stderr alone. */
int ps_writer_notice(struct ps_writer *w, const struct ps_notice *notice)
{
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
