/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include "keylog.h"
#include "line_sink.h"
#include "log.h"
#include "outfile.h"
#include "packet_capture.h"
#include "pcapng.h"
#include "pcapng_output.h"
#include "sock_owner.h"

#ifndef PS_VERSION_STRING
#define PS_VERSION_STRING "0.1.0"
#endif

/* Past this, a batch is written at once: memory stays bounded under a flood. */
#define FLUSH_BYTES (4 << 20)
/*
 * To --eventaddr, smaller: a batch is one message of the sink's and is never
 * split across its files, so this bounds how far past --eventroratesize a
 * file goes (a packet's length at most), and how long a reader waits.
 */
#define SINK_FLUSH_BYTES (64 << 10)

/*
 * How long a packet waits before it is written. A TLS 1.3 client derives
 * its handshake secret only after the server's flight arrived: the packets
 * that need a secret can reach us before the secret does. Holding each
 * packet this long lets the secret's block go first (Wireshark reads a
 * file in one pass and cannot decrypt a record whose key comes later).
 */
#define HOLD_NS (200 * 1000000ull)
/* Under a flood, the oldest packets go out early rather than memory growing without bound. */
#define HOLD_MAX_BYTES (64 << 20)

struct held_packet {
	struct held_packet *next;
	uint64_t wall_ns;
	uint32_t interface, captured_len, original_len;
	uint8_t data[];
};

struct ps_pcapng_output {
	int fd;
	const char *path;
	struct ps_pcapng *file;
	struct ps_line_sink *sink;  /* --eventaddr: instead of fd */
	ps_pcapng_packet_tap tap;
	void *tap_arg;
	struct ps_packet_capture *capture;
	struct ps_keylog *keylog;   /* which lines were taken already: no secret twice */
	char *pending;              /* key log lines not yet in a block */
	size_t pending_len;
	FILE *pending_stream;
	struct ps_sock_owners *owners;  /* NULL: packets name no process */
	struct ps_packet_process_filter process_filter; /* -p, -u */
	uint64_t other_processes;   /* left out by -p or -u */
	char comment[12288];        /* two processes' comm and command line (sock_owner.c bounds them) */
	uint64_t unattributed;
	struct pollfd *pollfds;     /* the interfaces' descriptors, and one of the caller's */
	size_t n_pollfds;
	struct held_packet *held, **held_tail; /* oldest first */
	size_t held_bytes;
	uint64_t packets, bytes, secrets;
	uint64_t packets_unwritten; /* in a batch whose write failed */
	uint64_t pending_secrets;   /* lines in pending */
	uint64_t batch_packets, batch_bytes, batch_secrets; /* in the blocks not yet flushed */
	int error;
};

static int fail_write(struct ps_pcapng_output *out, int err)
{
	if (!out->error) {
		out->error = err;
		ps_error("cannot write %s: %s; stopping (the packets written before stay readable)", out->path,
			 strerror(-err));
	}
	return out->error;
}

/* A fresh stream for the lines of the next block. */
static int start_pending(struct ps_pcapng_output *out)
{
	if (out->pending_stream)
		fclose(out->pending_stream);
	free(out->pending);
	out->pending = NULL;
	out->pending_len = 0;
	out->pending_stream = open_memstream(&out->pending, &out->pending_len);
	return out->pending_stream ? 0 : -ENOMEM;
}

static int write_header(struct ps_pcapng_output *out, const struct ps_options *opts)
{
	struct utsname uts;
	char os[3 * sizeof(uts.sysname)];
	int err;

	if (uname(&uts) == 0)
		snprintf(os, sizeof(os), "%s %s %s", uts.sysname, uts.release, uts.machine);
	else
		snprintf(os, sizeof(os), "Linux");
	err = ps_pcapng_section(out->file, "plainsight " PS_VERSION_STRING, os);
	for (size_t i = 0; !err && i < ps_packet_capture_count(out->capture); i++)
		err = ps_pcapng_interface(out->file, ps_packet_capture_name(out->capture, i),
					  ps_packet_capture_file_linktype(out->capture, i), PS_PACKET_SNAPLEN,
					  opts->packet_filter);
	if (!err && out->sink) {
		const uint8_t *header;
		size_t len;

		/* not sent as such: the sink starts each file and connection with it */
		ps_pcapng_take(out->file, &header, &len);
		err = ps_line_sink_preamble_add(out->sink, header, len);
	} else if (!err) {
		struct ps_pcapng_kept kept;

		err = ps_pcapng_flush(out->file, &kept);
	}
	return err ? fail_write(out, err) : 0;
}

/* A batch of whole blocks into the sink's queue: it counts what it cannot send. */
static int emit_to_sink(void *arg, const uint8_t *data, size_t len)
{
	ps_line_sink_bytes(arg, data, len);
	return 0;
}

void ps_pcapng_output_tap(struct ps_pcapng_output *out, ps_pcapng_packet_tap tap, void *arg)
{
	out->tap = tap;
	out->tap_arg = arg;
}


int ps_pcapng_output_open(struct ps_outfile *file, struct ps_line_sink *sink, const struct ps_options *opts,
			  struct ps_pcapng_output **result)
{
	struct ps_pcapng_output *out = calloc(1, sizeof(*out));
	int err;

	if (!out)
		return -ENOMEM;
	out->fd = -1;
	out->held_tail = &out->held;
	out->process_filter = (struct ps_packet_process_filter){ .pid = opts->pid, .uid = opts->uid,
								 .has_uid = opts->has_uid };
	out->path = sink ? opts->event_addr : opts->output_path;
	out->sink = sink;
	out->keylog = ps_keylog_new();
	out->file = sink ? ps_pcapng_new_emit(emit_to_sink, sink) : ps_pcapng_new(file->fd);
	if (!out->keylog || start_pending(out) || !out->file) {
		ps_error("out of memory");
		ps_pcapng_output_close(out);
		return -ENOMEM;
	}
	if (!sink) {
		out->fd = file->fd;
		file->fd = -1;
	}
	err = ps_packet_capture_open(opts->interfaces, opts->n_interfaces, opts->packet_filter, &out->capture);
	if (!err)
		err = ps_packet_capture_pollfds(out->capture, &out->pollfds, &out->n_pollfds);
	if (!err)
		err = write_header(out, opts);
	if (!err)
		ps_sock_owners_start(&out->owners); /* it warns when it cannot: packets go on without names */
	if (err) {
		ps_pcapng_output_close(out);
		return err;
	}
	*result = out;
	return 0;
}

int ps_pcapng_output_record(struct ps_pcapng_output *out, const struct ps_record *rec)
{
	int n;

	if (out->error)
		return out->error;
	n = ps_keylog_write(out->keylog, out->pending_stream, rec);
	if (n < 0)
		return fail_write(out, -ENOMEM);
	out->pending_secrets += (uint64_t)n;
	return 0;
}

int ps_pcapng_output_wait(struct ps_pcapng_output *out, int other_fd, int timeout_ms)
{
	out->pollfds[out->n_pollfds - 1] = (struct pollfd){ .fd = other_fd, .events = POLLIN };
	return poll(out->pollfds, out->n_pollfds, timeout_ms) < 0 ? -errno : 0;
}

static int write_pending_secrets(struct ps_pcapng_output *out)
{
	int err;

	if (fflush(out->pending_stream) != 0)
		return -ENOMEM;
	if (!out->pending_len)
		return 0;
	err = ps_pcapng_secrets(out->file, PS_PCAPNG_SECRETS_TLS_KEYLOG, out->pending, out->pending_len);
	if (err)
		return err;
	if (out->sink) {
		const uint8_t *block;
		size_t len;

		/* a later file or connection starts with every secret: its connections may be older than it */
		ps_pcapng_last_block(out->file, &block, &len);
		err = ps_line_sink_preamble_add(out->sink, block, len);
		if (err)
			return err;
	}
	out->batch_secrets = out->pending_secrets;
	out->pending_secrets = 0;
	return start_pending(out);
}

static int flush_batch(struct ps_pcapng_output *out)
{
	struct ps_pcapng_kept kept;
	int err = ps_pcapng_flush(out->file, &kept);

	if (err) {
		/* the blocks kept are the batch's first, in the order they were added */
		out->packets += kept.packets;
		out->bytes += kept.packet_bytes;
		out->secrets += kept.secrets;
		out->packets_unwritten += out->batch_packets - kept.packets;
		out->batch_packets = out->batch_bytes = out->batch_secrets = 0;
		return fail_write(out, err);
	}
	out->packets += out->batch_packets;
	out->bytes += out->batch_bytes;
	out->secrets += out->batch_secrets;
	out->batch_packets = out->batch_bytes = out->batch_secrets = 0;
	return 0;
}

static bool filters_processes(const struct ps_pcapng_output *out)
{
	return out->process_filter.pid || out->process_filter.has_uid;
}

/*
 * Looked up when the packet is written: its connection's owner is known by
 * then. -ESRCH: -p or -u leave the packet out (one whose process is not
 * known too: it cannot be shown to match).
 */
static int packet_comment(struct ps_pcapng_output *out, const struct held_packet *packet, const char **comment)
{
	int linktype = ps_packet_capture_linktype(out->capture, packet->interface);
	int err = out->owners ? ps_sock_owners_comment(out->owners, linktype, packet->data, packet->captured_len,
						      &out->process_filter, out->comment, sizeof(out->comment))
			      : -ENOENT;

	*comment = err ? NULL : out->comment;
	if (err == -ENOENT && !out->error && !filters_processes(out))
		out->unattributed++;
	return err == -ESRCH || (err && filters_processes(out)) ? -ESRCH : 0;
}

static int write_oldest(struct ps_pcapng_output *out)
{
	struct held_packet *packet = out->held;
	uint32_t captured_len = packet->captured_len;
	int err;

	out->held = packet->next;
	if (!out->held)
		out->held_tail = &out->held;
	out->held_bytes -= packet->captured_len;
	const char *comment;

	if (packet_comment(out, packet, &comment) == -ESRCH) {
		out->other_processes++;
		free(packet);
		return 0;
	}
	err = out->error ? out->error : ps_pcapng_packet(out->file, packet->interface, packet->wall_ns, packet->data,
							 packet->captured_len, packet->original_len, comment);
	free(packet);
	if (err) {
		out->packets_unwritten++;
		return fail_write(out, err);
	}
	out->batch_packets++;
	out->batch_bytes += captured_len;
	if (ps_pcapng_pending(out->file) >= (out->sink ? SINK_FLUSH_BYTES : FLUSH_BYTES))
		return flush_batch(out);
	return 0;
}

static uint64_t wall_clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Writes the packets held long enough (all of them at the end), oldest first. */
static int write_due(struct ps_pcapng_output *out, bool all)
{
	uint64_t now = wall_clock_ns();
	int err = 0;

	while (out->held && !err &&
	       (all || out->held->wall_ns + HOLD_NS <= now || out->held_bytes > HOLD_MAX_BYTES))
		err = write_oldest(out);
	/* after a failure, what is held can never be written: counted now */
	while (err && out->held)
		write_oldest(out);
	return err;
}

static int on_packet(const struct ps_packet *packet, void *arg)
{
	struct ps_pcapng_output *out = arg;
	struct held_packet *held;

	if (out->tap)
		out->tap(out->tap_arg, ps_packet_capture_linktype(out->capture, packet->interface), packet->data,
			 packet->captured_len, packet->wall_ns);
	if (out->error) {
		out->packets_unwritten++;
		return out->error;
	}
	held = malloc(sizeof(*held) + packet->captured_len);
	if (!held) {
		out->packets_unwritten++;
		return fail_write(out, -ENOMEM);
	}
	*held = (struct held_packet){ .wall_ns = packet->wall_ns, .interface = packet->interface,
				      .captured_len = packet->captured_len, .original_len = packet->original_len };
	memcpy(held->data, packet->data, packet->captured_len);
	*out->held_tail = held;
	out->held_tail = &held->next;
	out->held_bytes += packet->captured_len;
	return out->held_bytes > HOLD_MAX_BYTES ? write_due(out, false) : 0;
}

/* Secrets first, then the packets due: a packet follows every secret known when it was written. */
static int write_batch(struct ps_pcapng_output *out, bool all)
{
	int err;

	if (out->error)
		return out->error;
	err = write_pending_secrets(out);
	if (err)
		return fail_write(out, err);
	err = ps_packet_capture_dispatch(out->capture, on_packet, out);
	if (err < 0 && !out->error)
		out->error = err; /* a capture error, already said */
	err = err < 0 ? err : 0;
	if (!err)
		err = write_due(out, all);
	if (err)
		flush_batch(out);
	else
		err = flush_batch(out);
	return out->error ? out->error : err;
}

int ps_pcapng_output_packets(struct ps_pcapng_output *out)
{
	return write_batch(out, false);
}

int ps_pcapng_output_finish(struct ps_pcapng_output *out)
{
	/* a young TPACKET_V3 block is handed over when its timeout expires */
	ps_pcapng_output_wait(out, -1, 60);
	return write_batch(out, true);
}

void ps_pcapng_output_counters(struct ps_pcapng_output *out, struct ps_counters *counters)
{
	counters->packets = out->packets;
	counters->packet_bytes = out->bytes;
	counters->packets_dropped = ps_packet_capture_dropped(out->capture);
	counters->packets_unwritten = out->packets_unwritten;
	counters->secrets_written = out->secrets;
	counters->packets_unattributed = out->unattributed;
	counters->packets_other_processes = out->other_processes;
}

int ps_pcapng_output_close(struct ps_pcapng_output *out)
{
	int err;

	if (!out)
		return 0;
	err = out->error;
	while (out->held) {
		struct held_packet *next = out->held->next;

		free(out->held);
		out->held = next;
	}
	ps_packet_capture_close(out->capture);
	free(out->pollfds);
	ps_sock_owners_stop(out->owners);
	ps_pcapng_free(out->file);
	if (out->pending_stream)
		fclose(out->pending_stream);
	free(out->pending);
	ps_keylog_free(out->keylog);
	if (out->fd >= 0 && close(out->fd) != 0 && !err)
		err = -errno;
	free(out);
	return err;
}
