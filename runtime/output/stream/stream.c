/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "ecaptureq_encode.h"
#include "http.h"
#include "line_sink.h"
#include "log.h"
#include "output.h"
#include "stream.h"
#include "stream_addr.h"
#include "stream_type.h"
#include "ws_server.h"

struct ps_stream {
	struct ps_ws_server *ecaptureq;
	struct ps_line_sink *events, *logs;
	struct ps_stream_addr events_addr, logs_addr;
	struct ps_stream_types types;   /* the capture thread's */
	bool pcapng;                    /* --eventaddr gets batches of pcapng blocks */
};

static void on_log_line(void *arg, const char *line)
{
	struct ps_stream *s = arg;

	if (s->logs)
		ps_line_sink_line(s->logs, line, strlen(line));
	if (s->ecaptureq) {
		struct ps_stream_msg *m = ps_ecaptureq_log(line);

		if (m)
			ps_ws_server_log(s->ecaptureq, m);
		ps_stream_msg_unref(m);
	}
}

/* The option was checked by the command line; a failure here is reported all the same. */
static int parse(const char *what, const char *text, struct ps_stream_addr *addr)
{
	const char *why = "";

	if (ps_stream_addr_parse(text, addr, &why) == 0)
		return 0;
	ps_error("%s '%s': %s", what, text, why);
	return -EINVAL;
}

int ps_stream_open(const struct ps_options *opts, struct ps_stream **out)
{
	struct ps_stream *s;
	struct ps_stream_addr ws;

	*out = NULL;
	if (!opts->ecaptureq_addr && !opts->event_addr && !opts->log_addr)
		return 0;
	s = calloc(1, sizeof(*s));
	if (!s) {
		ps_error("out of memory");
		return -ENOMEM;
	}
	if (opts->ecaptureq_addr && (parse("--ecaptureq", opts->ecaptureq_addr, &ws) ||
				     !(s->ecaptureq = ps_ws_server_start(ws.host, ws.port))))
		goto fail;
	s->pcapng = opts->output.mode == PS_OUTPUT_PCAPNG;
	if (opts->event_addr && (parse("--eventaddr", opts->event_addr, &s->events_addr) ||
				 !(s->events = ps_line_sink_open("--eventaddr", &s->events_addr,
								 opts->event_rotate_mb << 20,
								 opts->event_rotate_s * 1000000000ull,
								 s->pcapng))))
		goto fail;
	if (opts->log_addr && (parse("--logaddr", opts->log_addr, &s->logs_addr) ||
			       !(s->logs = ps_line_sink_open("--logaddr", &s->logs_addr, 0, 0, false))))
		goto fail;
	ps_log_set_tap(on_log_line, s);
	*out = s;
	return 0;
fail:
	ps_stream_close(s);
	return -EINVAL;
}

FILE *ps_stream_events(struct ps_stream *s)
{
	return s && s->events ? ps_line_sink_stream(s->events) : NULL;
}

struct ps_line_sink *ps_stream_event_sink(struct ps_stream *s)
{
	return s ? s->events : NULL;
}

bool ps_stream_wants_records(const struct ps_stream *s)
{
	return s && s->ecaptureq;
}

/* A stable id per connection (process, descriptor, addresses), written as a UUID. */
static void connection_uuid(const struct ps_http_chunk *c, char out[37])
{
	uint64_t h[2] = { 0xcbf29ce484222325ull, 0x84222325cbf29ce4ull };
	const uint8_t *parts[] = { (const uint8_t *)&c->pid, (const uint8_t *)&c->fd, (const uint8_t *)&c->tuple };
	size_t sizes[] = { sizeof(c->pid), sizeof(c->fd), sizeof(c->tuple) };

	for (int k = 0; k < 2; k++)
		for (size_t p = 0; p < 3; p++)
			for (size_t i = 0; i < sizes[p]; i++)
				h[k] = (h[k] ^ parts[p][i]) * (k ? 0x100000001b3ull : 0x100000001b3ull ^ 0x5bd1e995ull);
	snprintf(out, 37, "%08" PRIx64 "-%04" PRIx64 "-%04" PRIx64 "-%04" PRIx64 "-%012" PRIx64, h[0] >> 32,
		 h[0] >> 16 & 0xffff, h[0] & 0xffff, h[1] >> 48, h[1] & (uint64_t)0xffffffffffff);
}

/*
 * What keeps a connection's type apart from the process's others: its
 * descriptor, or, for a record decrypted from packets (which has none), its
 * ports, with the top bit set so that no descriptor looks the same.
 */
static int32_t type_key(const struct ps_http_chunk *c)
{
	if (c->fd >= 0)
		return c->fd;
	return (int32_t)(0x80000000u | ((uint32_t)c->tuple.sport << 16 ^ c->tuple.dport));
}

void ps_stream_record(struct ps_stream *s, const struct ps_record *rec)
{
	bool connection;
	struct ps_stream_event ev = { 0 };
	struct ps_http_chunk chunk;
	char uuid[37], local[64] = "", remote[64] = "";
	struct ps_stream_msg *m;

	if (!s || !s->ecaptureq)
		return;
	if (!ps_output_record_chunk(rec, &chunk)) {
		/* not a connection's bytes (a shell's line, a query): the process is all there is */
		memset(&chunk, 0, sizeof(chunk));
		chunk.pid = ps_record_header(rec)->pid;
		chunk.fd = -1;
		chunk.time_ns = rec->time_ns;
		chunk.data = rec->data;
		chunk.len = rec->data_len;
	}
	connection = chunk.fd >= 0 || chunk.tuple.family;
	connection_uuid(&chunk, uuid);
	if (chunk.tuple.family) {
		ps_format_addr(&chunk.tuple, chunk.tuple.saddr, local, sizeof(local));
		ps_format_addr(&chunk.tuple, chunk.tuple.daddr, remote, sizeof(remote));
	}
	ev.time_ns = (int64_t)chunk.time_ns;
	ev.uuid = uuid;
	/* the bytes go from the writer to the reader: a read's came from the peer */
	if (chunk.dir == PS_HTTP_READ && connection) {
		ev.src_ip = remote, ev.src_port = chunk.tuple.dport;
		ev.dst_ip = local, ev.dst_port = chunk.tuple.sport;
	} else {
		ev.src_ip = local, ev.src_port = chunk.tuple.sport;
		ev.dst_ip = remote, ev.dst_port = chunk.tuple.dport;
	}
	ev.pid = chunk.pid;
	ev.pname = ps_record_comm(rec);
	ev.type = connection ? ps_stream_type_of(&s->types, chunk.pid, type_key(&chunk), chunk.dir == PS_HTTP_READ,
						 chunk.data, chunk.len) : PS_STREAM_TYPE_UNKNOWN;
	ev.payload = chunk.data;
	ev.len = chunk.len;
	m = ps_ecaptureq_event(&ev);
	if (m)
		ps_ws_server_send(s->ecaptureq, m);
	ps_stream_msg_unref(m);
}

void ps_stream_status(struct ps_stream *s, FILE *f)
{
	struct ps_ws_counters w;
	struct ps_line_sink_counters e;

	if (!s)
		return;
	if (s->ecaptureq) {
		ps_ws_server_counters(s->ecaptureq, &w);
		fprintf(f, "; ecaptureq: %" PRIu64 " clients, %" PRIu64 " events sent, %" PRIu64 " dropped", w.clients,
			w.events_sent, w.events_dropped);
	}
	if (s->events) {
		ps_line_sink_counters(s->events, &e);
		fprintf(f, "; eventaddr: %" PRIu64 " %s sent, %" PRIu64 " dropped", e.lines_sent,
			s->pcapng ? "batches" : "lines", e.lines_dropped);
	}
}

/* unit: "lines", or "batches" of pcapng blocks */
static void sink_summary(const char *what, const char *unit, const struct ps_stream_addr *addr,
			 struct ps_line_sink_counters *c)
{
	if (addr->kind == PS_ADDR_FILE)
		ps_info("%s: %" PRIu64 " %s written, %" PRIu64 " dropped, %" PRIu64 " files rotated", what,
			c->lines_sent, unit, c->lines_dropped, c->rotations);
	else
		ps_info("%s: %" PRIu64 " %s sent, %" PRIu64 " dropped (queue full, connection down or broken), "
			"%" PRIu64 " connections made", what, c->lines_sent, unit, c->lines_dropped, c->connects);
}

void ps_stream_close(struct ps_stream *s)
{
	struct ps_ws_counters w;
	struct ps_line_sink_counters c;

	if (!s)
		return;
	if (s->ecaptureq) {
		ps_ws_server_stop(s->ecaptureq, &w);
		s->ecaptureq = NULL;
		ps_info("ecaptureq: %" PRIu64 " clients (%" PRIu64 " dropped as too slow), %" PRIu64 " events sent, %"
			PRIu64 " events dropped, %" PRIu64 " log lines not kept for replay", w.clients_total,
			w.clients_dropped, w.events_sent, w.events_dropped, w.log_lines_unkept);
	}
	if (s->events) {
		ps_line_sink_close(s->events, &c);
		s->events = NULL;
		sink_summary("eventaddr", s->pcapng ? "batches" : "lines", &s->events_addr, &c);
	}
	if (s->logs) {
		/* its own summary goes to stderr alone: the tap is off by then */
		struct ps_line_sink *logs = s->logs;

		s->logs = NULL;
		ps_log_set_tap(NULL, NULL);
		ps_line_sink_close(logs, &c);
		sink_summary("logaddr", "lines", &s->logs_addr, &c);
	}
	ps_log_set_tap(NULL, NULL);
	free(s);
}
