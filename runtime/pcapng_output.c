/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>
#include "keylog.h"
#include "log.h"
#include "outfile.h"
#include "packet_capture.h"
#include "pcapng.h"
#include "pcapng_output.h"

#ifndef PS_VERSION_STRING
#define PS_VERSION_STRING "0.1.0"
#endif

/* Past this, a batch is written at once: memory stays bounded under a flood. */
#define FLUSH_BYTES (4 << 20)

struct ps_pcapng_output {
	int fd;
	const char *path;
	struct ps_pcapng *file;
	struct ps_packet_capture *capture;
	struct ps_keylog *keylog;   /* which lines were taken already: no secret twice */
	char *pending;              /* key log lines not yet in a block */
	size_t pending_len;
	FILE *pending_stream;
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
					  (uint16_t)ps_packet_capture_linktype(out->capture, i), PS_PACKET_SNAPLEN,
					  opts->packet_filter);
	if (!err)
		err = ps_pcapng_flush(out->file);
	return err ? fail_write(out, err) : 0;
}

int ps_pcapng_output_open(struct ps_outfile *file, const struct ps_options *opts, struct ps_pcapng_output **result)
{
	static const char *const any[] = { "any" };
	struct ps_pcapng_output *out = calloc(1, sizeof(*out));
	int err;

	if (!out)
		return -ENOMEM;
	out->fd = -1;
	out->path = opts->output_path;
	out->keylog = ps_keylog_new();
	out->file = ps_pcapng_new(file->fd);
	if (!out->keylog || start_pending(out) || !out->file) {
		ps_error("out of memory");
		ps_pcapng_output_close(out);
		return -ENOMEM;
	}
	out->fd = file->fd;
	file->fd = -1;
	err = opts->n_interfaces ? ps_packet_capture_open(opts->interfaces, opts->n_interfaces, opts->packet_filter,
							 &out->capture)
				 : ps_packet_capture_open(any, 1, opts->packet_filter, &out->capture);
	if (!err)
		err = write_header(out, opts);
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
	size_t n = ps_packet_capture_count(out->capture);
	struct pollfd *pfds = calloc(n + 1, sizeof(*pfds));
	int *fds = calloc(n, sizeof(*fds));
	int rc;

	if (!pfds || !fds) {
		free(pfds);
		free(fds);
		return -ENOMEM;
	}
	ps_packet_capture_fds(out->capture, fds);
	for (size_t i = 0; i < n; i++)
		pfds[i] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
	pfds[n] = (struct pollfd){ .fd = other_fd, .events = POLLIN };
	rc = poll(pfds, n + 1, timeout_ms);
	free(pfds);
	free(fds);
	return rc < 0 ? -errno : 0;
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
	out->batch_secrets = out->pending_secrets;
	out->pending_secrets = 0;
	return start_pending(out);
}

static int flush_batch(struct ps_pcapng_output *out)
{
	int err = ps_pcapng_flush(out->file);

	if (err) {
		out->packets_unwritten += out->batch_packets;
		out->batch_packets = out->batch_bytes = out->batch_secrets = 0;
		return fail_write(out, err);
	}
	out->packets += out->batch_packets;
	out->bytes += out->batch_bytes;
	out->secrets += out->batch_secrets;
	out->batch_packets = out->batch_bytes = out->batch_secrets = 0;
	return 0;
}

static int on_packet(const struct ps_packet *packet, void *arg)
{
	struct ps_pcapng_output *out = arg;
	int err = ps_pcapng_packet(out->file, packet->interface, packet->wall_ns, packet->data,
				   packet->captured_len, packet->original_len, NULL);

	if (err) {
		out->packets_unwritten++;
		return fail_write(out, err);
	}
	out->batch_packets++;
	out->batch_bytes += packet->captured_len;
	if (ps_pcapng_pending(out->file) >= FLUSH_BYTES)
		return flush_batch(out);
	return 0;
}

int ps_pcapng_output_packets(struct ps_pcapng_output *out)
{
	int err;

	if (out->error)
		return out->error;
	err = write_pending_secrets(out);
	if (err)
		return fail_write(out, err);
	err = ps_packet_capture_dispatch(out->capture, on_packet, out);
	if (err < 0) {
		if (!out->error)
			out->error = err; /* a capture error, already said */
		flush_batch(out);
		return out->error;
	}
	return flush_batch(out);
}

int ps_pcapng_output_finish(struct ps_pcapng_output *out)
{
	/* a young TPACKET_V3 block is handed over when its timeout expires */
	ps_pcapng_output_wait(out, -1, 60);
	return ps_pcapng_output_packets(out);
}

void ps_pcapng_output_counters(struct ps_pcapng_output *out, struct ps_counters *counters)
{
	counters->packets = out->packets;
	counters->packet_bytes = out->bytes;
	counters->packets_dropped = ps_packet_capture_dropped(out->capture);
	counters->packets_unwritten = out->packets_unwritten;
	counters->secrets_written = out->secrets;
}

int ps_pcapng_output_close(struct ps_pcapng_output *out)
{
	int err;

	if (!out)
		return 0;
	err = out->error;
	ps_packet_capture_close(out->capture);
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
