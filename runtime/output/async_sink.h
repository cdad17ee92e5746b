/* SPDX-License-Identifier: MIT */
/*
 * A stdio stream whose bytes a thread of their own writes to the file, so
 * that the ring-buffer reader never waits on the disk: a write that blocks
 * on block allocation or dirty-page throttling stalls only this thread,
 * while the reader goes on emptying the ring. The queue between them is
 * bounded; when it is full the reader waits, and the ring absorbs the rest.
 */
#ifndef PS_ASYNC_SINK_H
#define PS_ASYNC_SINK_H

#include <stddef.h>
#include <stdio.h>

#include <stdint.h>

/*
 * How far the stream's bytes got: a byte the caller wrote is counted in
 * accepted once stdio hands it to the sink, and in written once it is in
 * the file. The caller reads written with __atomic_load_n: the writer
 * thread stores it. After a failure, the bytes past written never arrive.
 */
struct ps_sink_progress {
	uint64_t accepted;
	uint64_t written;
};

/*
 * A write-only stream onto fd, which it owns from then on (fclose closes
 * it). At most max_queued bytes wait for the writer thread. A write error
 * is sticky: the next write, fflush or fclose on the stream fails with its
 * errno. progress, if not NULL, is kept up to date until fclose returns.
 * NULL and errno set on failure (fd is then still the caller's).
 */
FILE *ps_async_sink_open(int fd, size_t max_queued, struct ps_sink_progress *progress);

#endif
