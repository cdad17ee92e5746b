/* SPDX-License-Identifier: MIT */
/*
 * A TCP client that reconnects: after a failure it waits 100 ms, then twice
 * as long each time up to 5 s. It runs on the sink's thread (line_sink.h),
 * so its waits never reach the capture.
 */
#ifndef PS_TCP_OUT_H
#define PS_TCP_OUT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct ps_tcp_out {
	const char *host;
	uint16_t port;
	int fd;
	uint64_t retry_at_ns;       /* CLOCK_MONOTONIC: no connection attempt before */
	uint32_t backoff_ms;
	uint64_t connects, failures;
};

void ps_tcp_out_init(struct ps_tcp_out *t, const char *host, uint16_t port);
/*
 * Sends data whole. 0; -EAGAIN when not connected and the next attempt is
 * not due (ps_tcp_out_wait_ms says when); another negative errno when the
 * connection broke during the send (the data may be partly sent: lost).
 */
int ps_tcp_out_send(struct ps_tcp_out *t, const uint8_t *data, size_t len);
/* As ps_tcp_out_send, for n pieces in one call (iov is used up); *accepted: the bytes the kernel took. */
int ps_tcp_out_sendv(struct ps_tcp_out *t, struct iovec *iov, int n, size_t *accepted);
/* Connected (a closed one noticed and made again when due): 0, or -EAGAIN. */
int ps_tcp_out_ready(struct ps_tcp_out *t);
/* Milliseconds until the next connection attempt; 0 when connected or due. */
int ps_tcp_out_wait_ms(const struct ps_tcp_out *t);
void ps_tcp_out_close(struct ps_tcp_out *t);

#endif
