/* SPDX-License-Identifier: MIT */
/* The writer thread's stream: runtime/output/async_sink.c. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "async_sink.h"
#include "check.h"

/* Everything written, in order, whatever the block sizes and the queue bound. */
static void bytes_arrive_in_order(void)
{
	char path[] = "/tmp/ps_async_sink_test.XXXXXX";
	int fd = mkstemp(path);
	size_t total = 0, i;
	FILE *f;

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	/* a queue of 1 KiB: the writer falls behind at once and the bound is hit all the time */
	f = ps_async_sink_open(fd, 1024, NULL);
	CHECK(f != NULL);
	if (!f)
		return;
	setvbuf(f, NULL, _IOFBF, 700);
	for (i = 0; i < 20000; i++) {
		int n = fprintf(f, "line %zu %.*s\n", i, (int)(i % 3000), "");

		total += (size_t)n;
	}
	CHECK_INT(fclose(f), 0);
	{
		FILE *in = fopen(path, "r");
		char *line = NULL;
		size_t cap = 0, want = 0, seen = 0;
		ssize_t n;

		CHECK(in != NULL);
		while (in && (n = getline(&line, &cap, in)) > 0) {
			size_t got;

			CHECK(sscanf(line, "line %zu", &got) == 1 && got == want);
			want++;
			seen += (size_t)n;
		}
		CHECK_INT(want, 20000);
		CHECK_INT(seen, total);
		free(line);
		if (in)
			fclose(in);
	}
	unlink(path);
}

/* A write that fails (no space) is reported by a later write, with its errno, and by fclose. */
static void write_error_is_sticky(void)
{
	int fd = open("/dev/full", O_WRONLY);
	char block[4096];
	int failed_at = -1, i;
	FILE *f;

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	f = ps_async_sink_open(fd, 1 << 20, NULL);
	CHECK(f != NULL);
	if (!f)
		return;
	setvbuf(f, NULL, _IONBF, 0);
	memset(block, 'x', sizeof(block));
	/* the first failure reaches the stream within a few writes: the thread writes each at once */
	for (i = 0; i < 10000 && failed_at < 0; i++) {
		errno = 0;
		fwrite(block, 1, sizeof(block), f);
		/* how the writers see it (output.c, check_stream): the stream's error flag and errno */
		if (ferror(f)) {
			failed_at = i;
			CHECK_INT(errno, ENOSPC);
		}
		usleep(100);
	}
	CHECK(failed_at >= 0);
	CHECK_INT(fclose(f), EOF);
}

/* A reader that goes away: EPIPE, not a signal that kills the process. */
static void broken_pipe_is_an_error(void)
{
	int p[2];
	FILE *f;

	CHECK_INT(pipe(p), 0);
	signal(SIGPIPE, SIG_IGN);
	close(p[0]);
	f = ps_async_sink_open(p[1], 1 << 20, NULL);
	CHECK(f != NULL);
	if (!f)
		return;
	fputs("nobody reads this\n", f);
	errno = 0;
	CHECK_INT(fclose(f), EOF);
	CHECK_INT(errno, EPIPE);
}

int main(void)
{
	TEST(bytes_arrive_in_order);
	TEST(write_error_is_sticky);
	TEST(broken_pipe_is_an_error);
	return TEST_EXIT();
}
