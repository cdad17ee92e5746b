/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include "log.h"
#include "tcp_out.h"

#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS 5000
#define CONNECT_TIMEOUT_MS 2000
/* A listener that stops reading holds the sink this long per send, then the connection is given up. */
#define SEND_TIMEOUT_S 5

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void ps_tcp_out_init(struct ps_tcp_out *t, const char *host, uint16_t port)
{
	*t = (struct ps_tcp_out){ .host = host, .port = port, .fd = -1, .backoff_ms = BACKOFF_FIRST_MS };
}

static int fcntl_blocking(int fd)
{
	int flags = fcntl(fd, F_GETFL);

	return flags < 0 ? -1 : fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
}

static int connect_one(const struct addrinfo *ai)
{
	struct timeval send_timeout = { .tv_sec = SEND_TIMEOUT_S };
	struct pollfd pfd;
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), soerr = 0;
	socklen_t len = sizeof(soerr);

	if (fd < 0)
		return -errno;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS)
		goto fail;
	pfd = (struct pollfd){ .fd = fd, .events = POLLOUT };
	if (poll(&pfd, 1, CONNECT_TIMEOUT_MS) != 1) {
		errno = ETIMEDOUT;
		goto fail;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0 || soerr) {
		errno = soerr ? soerr : errno;
		goto fail;
	}
	/* sends block (with a bound) on this thread from here on */
	if (fcntl_blocking(fd) != 0 || setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof(send_timeout)) != 0)
		goto fail;
	return fd;
fail:
	soerr = errno;
	close(fd);
	return -soerr;
}

static int try_connect(struct ps_tcp_out *t)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	char port[8];
	int fd = -EHOSTUNREACH, rc;

	snprintf(port, sizeof(port), "%u", t->port);
	rc = getaddrinfo(t->host, port, &hints, &res);
	if (rc)
		return -EHOSTUNREACH;
	for (ai = res; ai; ai = ai->ai_next)
		if ((fd = connect_one(ai)) >= 0)
			break;
	freeaddrinfo(res);
	return fd;
}

static void broke(struct ps_tcp_out *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
	t->failures++;
	t->retry_at_ns = mono_ns() + (uint64_t)t->backoff_ms * 1000000ull;
	t->backoff_ms = t->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : t->backoff_ms * 2;
}

/*
 * A listener that went away has sent its FIN: seen here, before a send the
 * kernel would accept and then lose to the reset.
 */
static bool peer_closed(int fd)
{
	char byte[256];
	ssize_t n;

	while ((n = recv(fd, byte, sizeof(byte), MSG_DONTWAIT)) > 0)
		;   /* a listener has nothing to say: whatever it sends is dropped */
	return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

int ps_tcp_out_ready(struct ps_tcp_out *t)
{
	int fd;

	if (t->fd >= 0 && !peer_closed(t->fd))
		return 0;
	if (t->fd >= 0)
		broke(t);
	if (mono_ns() < t->retry_at_ns)
		return -EAGAIN;
	fd = try_connect(t);
	if (fd < 0) {
		broke(t);
		return -EAGAIN;
	}
	t->fd = fd;
	t->connects++;
	t->backoff_ms = BACKOFF_FIRST_MS;
	return 0;
}

int ps_tcp_out_sendv(struct ps_tcp_out *t, struct iovec *iov, int n, size_t *accepted)
{
	struct msghdr msg = { 0 };
	int err = ps_tcp_out_ready(t);

	*accepted = 0;
	if (err)
		return err;
	while (n > 0) {
		ssize_t k;

		msg.msg_iov = iov;
		msg.msg_iovlen = (size_t)n;
		k = sendmsg(t->fd, &msg, MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			/* SO_SNDTIMEO passed: part may be gone already, so this is no "try again" */
			err = errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
			broke(t);
			return err;
		}
		*accepted += (size_t)k;
		for (; n > 0 && (size_t)k >= iov->iov_len; iov++, n--)
			k -= (ssize_t)iov->iov_len;
		if (n > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + k;
			iov->iov_len -= (size_t)k;
		}
	}
	return 0;
}

int ps_tcp_out_send(struct ps_tcp_out *t, const uint8_t *data, size_t len)
{
	struct iovec iov = { .iov_base = (void *)data, .iov_len = len };
	size_t accepted;

	return ps_tcp_out_sendv(t, &iov, 1, &accepted);
}

int ps_tcp_out_wait_ms(const struct ps_tcp_out *t)
{
	uint64_t now = mono_ns();

	if (t->fd >= 0 || now >= t->retry_at_ns)
		return 0;
	return (int)((t->retry_at_ns - now + 999999) / 1000000);
}

void ps_tcp_out_close(struct ps_tcp_out *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}
