/* SPDX-License-Identifier: MIT */
/* The packets' backlog and the thread that fills it: see packet_queue.h. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>
#include "log.h"
#include "meminfo.h"
#include "packet_queue.h"

#define DEFAULT_MIN ((size_t)64 << 20)
#define DEFAULT_MAX ((size_t)1 << 30)
/* The thread wakes this often to see whether it should stop. */
#define POLL_MS 100
/* TPACKET_V3 hands a young block over when its timeout (20 ms) expires: the last packets wait that long. */
#define FINISH_WAIT_MS 60
/* --lossless: more processes than this are not held (each is stopped and continued one by one). */
#define HELD_MAX 1024
/* In place of an entry's length: the next entry is at the start of the backlog. */
#define WRAP UINT32_MAX

struct entry {
	uint32_t captured_len;      /* or WRAP */
	uint32_t original_len;
	uint32_t interface;
	uint32_t pad;
	uint64_t wall_ns;
	/* captured_len bytes, then padding to 8 */
};

struct ps_packet_queue {
	struct ps_packet_capture *capture;
	uint8_t *buf;
	size_t capacity;            /* a multiple of 8 */
	bool lossless;
	int ready_fd;               /* eventfd: packets wait */
	int wake_fd;                /* eventfd: the thread should stop */
	pthread_t thread;
	bool started, joined;

	pthread_mutex_t lock;       /* guards what follows */
	size_t head, tail;          /* where the thread writes next, where take() reads next */
	size_t used;                /* bytes between tail and head, skipped ends included */
	size_t count;               /* packets waiting */
	bool finishing;
	int error;                  /* the thread's, after one error line: it stopped */
	bool stopped;               /* --lossless: the held processes are stopped */
	uint32_t held[HELD_MAX];
	size_t n_held;
	struct ps_packet_queue_stats stats;
};

size_t ps_packet_queue_default_bytes(void)
{
	size_t want = (size_t)(ps_mem_available_kib() / 16) * 1024;

	return want < DEFAULT_MIN ? DEFAULT_MIN : want > DEFAULT_MAX ? DEFAULT_MAX : want & ~(size_t)7;
}

static size_t entry_size(uint32_t captured_len)
{
	return (sizeof(struct entry) + captured_len + 7) & ~(size_t)7;
}

/* ---- --lossless ---------------------------------------------------------- */

/* With the lock held. A process gone is forgotten. */
static void signal_held(struct ps_packet_queue *q, int sig)
{
	for (size_t i = 0; i < q->n_held;) {
		if (kill((pid_t)q->held[i], sig) != 0 && errno == ESRCH) {
			q->held[i] = q->held[--q->n_held];
			continue;
		}
		if (sig == SIGSTOP)
			q->stats.held_back++;
		i++;
	}
	q->stopped = sig == SIGSTOP;
}

void ps_packet_queue_hold(struct ps_packet_queue *q, uint32_t pid)
{
	if (!q->lossless || !pid || pid == (uint32_t)getpid())
		return;
	pthread_mutex_lock(&q->lock);
	for (size_t i = 0; i < q->n_held; i++)
		if (q->held[i] == pid)
			goto out;
	if (q->n_held < HELD_MAX) {
		q->held[q->n_held++] = pid;
		if (q->stopped)
			kill((pid_t)pid, SIGSTOP);
	}
out:
	pthread_mutex_unlock(&q->lock);
}

/* ---- the thread ---------------------------------------------------------- */

/*
 * Where a packet of size bytes goes, with the lock held: at head, or at the
 * start when the end has no room (the end is then skipped, and counted as
 * used until take() passes it). SIZE_MAX: no room.
 */
static size_t place(const struct ps_packet_queue *q, size_t size, bool *wrap)
{
	*wrap = false;
	if (q->count == 0)
		return size <= q->capacity ? 0 : SIZE_MAX;  /* empty: head and tail start over */
	if (q->head > q->tail || (q->head == q->tail && q->used == 0)) {
		if (size <= q->capacity - q->head)
			return q->head;
		*wrap = true;
		return size <= q->tail ? 0 : SIZE_MAX;
	}
	return size <= q->tail - q->head ? q->head : SIZE_MAX;
}

static int on_capture_packet(const struct ps_packet *packet, void *arg)
{
	struct ps_packet_queue *q = arg;
	size_t size = entry_size(packet->captured_len), at, skipped = 0;
	bool wrap;

	pthread_mutex_lock(&q->lock);
	at = place(q, size, &wrap);
	if (at == SIZE_MAX) {
		q->stats.dropped++;
		pthread_mutex_unlock(&q->lock);
		return 0;
	}
	if (q->count == 0)
		q->head = q->tail = q->used = 0;
	pthread_mutex_unlock(&q->lock);

	/* the space from at on is the thread's alone until head moves past it */
	if (wrap) {
		skipped = q->capacity - q->head;
		if (skipped >= sizeof(struct entry))
			((struct entry *)(q->buf + q->head))->captured_len = WRAP;
	}
	*(struct entry *)(q->buf + at) = (struct entry){ .captured_len = packet->captured_len,
							  .original_len = packet->original_len,
							  .interface = packet->interface, .wall_ns = packet->wall_ns };
	memcpy(q->buf + at + sizeof(struct entry), packet->data, packet->captured_len);

	pthread_mutex_lock(&q->lock);
	q->head = at + size;
	q->used += skipped + size;
	q->count++;
	if (q->used > q->stats.peak)
		q->stats.peak = q->used;
	if (q->lossless && !q->stopped && q->used >= q->capacity / 4)
		signal_held(q, SIGSTOP);
	pthread_mutex_unlock(&q->lock);
	return 0;
}

static void announce_ready(struct ps_packet_queue *q)
{
	uint64_t one = 1;

	if (write(q->ready_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		ps_debug("packet backlog: cannot wake the reader: %s", strerror(errno));
}

static int move_packets(struct ps_packet_queue *q)
{
	int n = ps_packet_capture_dispatch(q->capture, on_capture_packet, q);
	uint64_t kernel_dropped = ps_packet_capture_dropped(q->capture);

	pthread_mutex_lock(&q->lock);
	q->stats.kernel_dropped = kernel_dropped;
	pthread_mutex_unlock(&q->lock);
	if (n > 0)
		announce_ready(q);
	return n;
}

static void *drain_thread(void *arg)
{
	struct ps_packet_queue *q = arg;
	struct pollfd *fds;
	size_t n_fds;
	bool finishing = false;
	int err = 0;

	if (ps_packet_capture_pollfds(q->capture, &fds, &n_fds) != 0)
		return NULL;
	fds[n_fds - 1] = (struct pollfd){ .fd = q->wake_fd, .events = POLLIN };
	while (!finishing) {
		if (poll(fds, n_fds, POLL_MS) < 0 && errno != EINTR)
			break;
		pthread_mutex_lock(&q->lock);
		finishing = q->finishing;
		pthread_mutex_unlock(&q->lock);
		if (finishing && (err = move_packets(q)) >= 0)
			poll(NULL, 0, FINISH_WAIT_MS);
		if (err >= 0)
			err = move_packets(q);
		if (err < 0)
			break;
	}
	if (err < 0) {
		pthread_mutex_lock(&q->lock);
		q->error = err;  /* the capture said what failed */
		pthread_mutex_unlock(&q->lock);
	}
	free(fds);
	announce_ready(q);
	return NULL;
}

/* ---- the reader ---------------------------------------------------------- */

int ps_packet_queue_fd(const struct ps_packet_queue *q)
{
	return q->ready_fd;
}

int ps_packet_queue_take(struct ps_packet_queue *q, ps_packet_fn on_packet, void *arg)
{
	uint64_t ignored;
	size_t n;
	int err = 0;

	if (read(q->ready_fd, &ignored, sizeof(ignored)) < 0 && errno != EAGAIN)
		return -errno;
	pthread_mutex_lock(&q->lock);
	n = q->count;
	err = n ? 0 : q->error;
	pthread_mutex_unlock(&q->lock);
	for (size_t i = 0; i < n && !err; i++) {
		size_t tail = q->tail, skipped = 0;
		const struct entry *e;

		/* only take() moves tail: it is read without the lock */
		if (q->capacity - tail < sizeof(struct entry) ||
		    ((const struct entry *)(q->buf + tail))->captured_len == WRAP) {
			skipped = q->capacity - tail;
			tail = 0;
		}
		e = (const struct entry *)(q->buf + tail);
		err = on_packet(&(struct ps_packet){ .interface = e->interface, .wall_ns = e->wall_ns,
						     .data = (const uint8_t *)(e + 1), .captured_len = e->captured_len,
						     .original_len = e->original_len },
				arg);
		pthread_mutex_lock(&q->lock);
		q->tail = tail + entry_size(e->captured_len);
		q->used -= skipped + entry_size(e->captured_len);
		q->count--;
		if (q->stopped && q->used <= q->capacity / 8)
			signal_held(q, SIGCONT);
		pthread_mutex_unlock(&q->lock);
	}
	return err ? err : (int)n;
}

void ps_packet_queue_stats(struct ps_packet_queue *q, struct ps_packet_queue_stats *stats)
{
	pthread_mutex_lock(&q->lock);
	*stats = q->stats;
	pthread_mutex_unlock(&q->lock);
}

/* ---- start and end ------------------------------------------------------- */

static void join(struct ps_packet_queue *q)
{
	uint64_t one = 1;

	if (!q->started || q->joined)
		return;
	pthread_mutex_lock(&q->lock);
	q->finishing = true;
	pthread_mutex_unlock(&q->lock);
	if (write(q->wake_fd, &one, sizeof(one)) < 0)
		ps_debug("packet backlog: cannot wake its thread: %s", strerror(errno));
	pthread_join(q->thread, NULL);
	q->joined = true;
}

void ps_packet_queue_finish(struct ps_packet_queue *q)
{
	join(q);
}

int ps_packet_queue_start(struct ps_packet_capture *capture, size_t capacity, bool lossless,
			  struct ps_packet_queue **out)
{
	struct ps_packet_queue *q = calloc(1, sizeof(*q));
	int err;

	if (!q) {
		ps_error("out of memory");
		return -ENOMEM;
	}
	q->capture = capture;
	q->capacity = capacity & ~(size_t)7;
	q->lossless = lossless;
	q->ready_fd = q->wake_fd = -1;
	pthread_mutex_init(&q->lock, NULL);
	/* pages are taken as the backlog first reaches them: a quiet capture costs little */
	q->buf = mmap(NULL, q->capacity, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (q->buf == MAP_FAILED) {
		q->buf = NULL;
		err = -errno;
		ps_error("cannot make a packet backlog of %zu MiB: %s", q->capacity >> 20, strerror(errno));
		goto fail;
	}
	/*
	 * Huge pages where the kernel gives them on request (THP "madvise"): a
	 * backlog that fills at loopback speed takes a page fault per 2 MiB,
	 * not per 4 KiB. Without them it works the same, only slower.
	 */
	if (madvise(q->buf, q->capacity, MADV_HUGEPAGE) != 0)
		ps_debug("packet backlog: no huge pages: %s", strerror(errno));
	q->ready_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	q->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (q->ready_fd < 0 || q->wake_fd < 0) {
		err = -errno;
		ps_error("cannot make the packet backlog's eventfds: %s", strerror(errno));
		goto fail;
	}
	err = -pthread_create(&q->thread, NULL, drain_thread, q);
	if (err) {
		ps_error("cannot start the packet capture thread: %s", strerror(-err));
		goto fail;
	}
	q->started = true;
	*out = q;
	return 0;
fail:
	ps_packet_queue_free(q);
	return err;
}

void ps_packet_queue_free(struct ps_packet_queue *q)
{
	if (!q)
		return;
	join(q);
	pthread_mutex_lock(&q->lock);
	if (q->stopped)
		signal_held(q, SIGCONT);
	pthread_mutex_unlock(&q->lock);
	if (q->buf)
		munmap(q->buf, q->capacity);
	if (q->ready_fd >= 0)
		close(q->ready_fd);
	if (q->wake_fd >= 0)
		close(q->wake_fd);
	pthread_mutex_destroy(&q->lock);
	free(q);
}
