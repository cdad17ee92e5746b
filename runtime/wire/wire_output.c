/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include "fields.h"
#include "keylog.h"
#include "log.h"
#include "packet_capture.h"
#include "packet_queue.h"
#include "sock_owner.h"
#include "sock_owner_types.h"
#include "wire.h"
#include "wire_output.h"

/* A connection end's process is looked up until found, at most this many times. */
#define OWNER_TRIES 8
/* Connections closed or idle are looked at this often. */
#define SWEEP_INTERVAL_NS (1000ull * 1000000)

struct ps_wire_output {
	const struct ps_options *opts;
	ps_wire_record_fn on_record;
	void *arg;
	struct ps_packet_capture *capture;
	struct ps_packet_queue *queue;  /* the capture's packets, drained on a thread of their own */
	struct ps_sock_owners *owners;  /* NULL: records name no process */
	struct ps_wire *wire;
	const struct ps_event_desc *event;  /* the module's data event */
	uint32_t event_id;
	const struct ps_field_desc *fd_field, *dir_field, *conn_field;
	int64_t dir_write, dir_read;        /* the dir enum's values */
	uint8_t *fixed;                     /* the record being made */
	int linktype;                       /* of the interface being read */
	uint64_t last_sweep_ns;
	uint64_t unattributed, other_processes;
};

/* Which process each end of a connection is (the user slot of its flow). */
struct end_owner {
	struct ps_wire_endpoint end;
	bool known;
	int tries;
	struct ps_sock_owner owner;
};

struct conn_owners {
	struct end_owner ends[2];
	int n;
};

static const struct ps_field_desc *field_named(const struct ps_event_desc *event, const char *name)
{
	for (uint32_t i = 0; i < event->n_fields; i++)
		if (strcmp(event->fields[i].name, name) == 0)
			return &event->fields[i];
	return NULL;
}

static int64_t enum_value(const struct ps_field_desc *field, const char *name)
{
	for (uint32_t i = 0; i < field->n_enum; i++)
		if (field->enum_names[i] && strcmp(field->enum_names[i], name) == 0)
			return i;
	return -1;
}

/* The module's data event: bytes, a dir enum of write and read, a connection tuple. */
static int find_data_event(struct ps_wire_output *out, const struct ps_module_desc *module)
{
	for (uint32_t e = 0; e < module->n_events; e++) {
		const struct ps_event_desc *event = &module->events[e];
		const struct ps_field_desc *dir = field_named(event, "dir"), *conn = field_named(event, "conn");

		if (ps_keylog_is_secrets_event(event) || event->var_field < 0 || !dir || dir->kind != PS_FIELD_ENUM ||
		    !conn || conn->kind != PS_FIELD_TUPLE || enum_value(dir, "write") < 0 || enum_value(dir, "read") < 0)
			continue;
		out->event = event;
		out->event_id = e;
		out->dir_field = dir;
		out->conn_field = conn;
		out->fd_field = field_named(event, "fd");
		out->dir_write = enum_value(dir, "write");
		out->dir_read = enum_value(dir, "read");
		return 0;
	}
	ps_error("%s: --from wire needs an event with payload, dir (write, read) and conn fields; this module has none",
		 module->name);
	return -ENOTSUP;
}

static void set_int(uint8_t *fixed, const struct ps_field_desc *field, int64_t value)
{
	switch (field->size) {
	case 1: { int8_t v = (int8_t)value; memcpy(fixed + field->offset, &v, 1); break; }
	case 2: { int16_t v = (int16_t)value; memcpy(fixed + field->offset, &v, 2); break; }
	case 4: { int32_t v = (int32_t)value; memcpy(fixed + field->offset, &v, 4); break; }
	case 8: memcpy(fixed + field->offset, &value, 8); break;
	}
	if (field->present_bit >= 0)
		((struct ps_event_header *)fixed)->present |= 1u << field->present_bit;
}

static void sock_tuple(uint8_t family, const struct ps_wire_endpoint *local, const struct ps_wire_endpoint *remote,
		       struct ps_sock_tuple *t)
{
	memset(t, 0, sizeof(*t));
	t->family = family == 4 ? PS_SOCK_FAMILY_IPV4 : PS_SOCK_FAMILY_IPV6;
	t->local_port = local->port;
	t->remote_port = remote->port;
	memcpy(t->local_addr, local->addr, 16);
	memcpy(t->remote_addr, remote->addr, 16);
}

/* The process at end `local` of the flow, looked up once it is known (a few tries before that). */
static const struct ps_sock_owner *owner_of(struct ps_wire_output *out, const struct ps_wire_flow *flow,
					    const struct ps_wire_endpoint *local, const struct ps_wire_endpoint *remote)
{
	struct conn_owners *owners = *flow->user;
	struct end_owner *e = NULL;
	struct ps_sock_tuple t;

	if (!out->owners)
		return NULL;
	if (!owners && !(owners = *flow->user = calloc(1, sizeof(*owners))))
		return NULL;
	for (int i = 0; i < owners->n && !e; i++)
		if (!memcmp(&owners->ends[i].end, local, sizeof(*local)))
			e = &owners->ends[i];
	if (!e && owners->n < 2) {
		e = &owners->ends[owners->n++];
		e->end = *local;
	}
	if (!e || e->known || e->tries >= OWNER_TRIES)
		return e && e->known ? &e->owner : NULL;
	e->tries++;
	sock_tuple(flow->family, local, remote, &t);
	e->known = ps_sock_owners_lookup(out->owners, &t, &e->owner) == 0;
	return e->known ? &e->owner : NULL;
}

static bool owner_matches(const struct ps_options *opts, const struct ps_sock_owner *o)
{
	return (!opts->pid || o->pid == opts->pid) && (!opts->has_uid || o->uid == opts->uid);
}

static void emit(struct ps_wire_output *out, const struct ps_wire_flow *flow, const struct ps_sock_owner *owner,
		 bool write, const uint8_t *data, size_t len, uint64_t wall_ns)
{
	const struct ps_wire_endpoint *local = write ? flow->src : flow->dst, *remote = write ? flow->dst : flow->src;
	struct ps_event_header *hdr = (struct ps_event_header *)out->fixed;
	struct ps_tuple tuple = { .family = flow->family == 4 ? AF_INET : AF_INET6, .sport = local->port,
				  .dport = remote->port, .proto = 6 /* IPPROTO_TCP */ };
	char comm[PS_COMM_LEN + 1] = "";

	memset(out->fixed, 0, out->event->fixed_size);
	hdr->event_id = (uint16_t)out->event_id;
	hdr->fixed_size = (uint16_t)out->event->fixed_size;
	hdr->var_total = len;
	hdr->var_len = (uint32_t)(len > UINT32_MAX ? UINT32_MAX : len);
	if (owner) {
		if (out->queue)
			ps_packet_queue_hold(out->queue, owner->pid);  /* --lossless: held back with the backlog */
		hdr->pid = hdr->tid = owner->pid;
		hdr->uid = owner->uid;
		memcpy(hdr->comm, owner->comm, PS_COMM_LEN);
		memcpy(comm, owner->comm, PS_COMM_LEN);
	}
	memcpy(tuple.saddr, local->addr, 16);
	memcpy(tuple.daddr, remote->addr, 16);
	memcpy(out->fixed + out->conn_field->offset, &tuple, sizeof(tuple));
	if (out->conn_field->present_bit >= 0)
		hdr->present |= 1u << out->conn_field->present_bit;
	set_int(out->fixed, out->dir_field, write ? out->dir_write : out->dir_read);
	if (out->fd_field && (out->fd_field->kind == PS_FIELD_INT || out->fd_field->kind == PS_FIELD_UINT))
		set_int(out->fixed, out->fd_field, -1);  /* the descriptor is not on the wire */
	out->on_record(out->arg, &(struct ps_record){ .module = out->opts->module, .event = out->event,
						       .fixed = out->fixed, .data = data, .data_len = len,
						       .time_ns = wall_ns, .process_name = comm });
}

static void on_plaintext(void *arg, const struct ps_wire_flow *flow, enum ps_wire_ends ends, const uint8_t *data,
			 size_t len, uint64_t wall_ns)
{
	struct ps_wire_output *out = arg;
	const struct ps_sock_owner *sender = owner_of(out, flow, flow->src, flow->dst);
	const struct ps_sock_owner *receiver = owner_of(out, flow, flow->dst, flow->src);
	bool filtering = out->opts->pid || out->opts->has_uid;
	bool sent = (ends & PS_WIRE_WRITER) && sender && owner_matches(out->opts, sender);
	bool received = (ends & PS_WIRE_READER) && receiver && owner_matches(out->opts, receiver);

	if (sent)
		emit(out, flow, sender, true, data, len, wall_ns);
	if (received)
		emit(out, flow, receiver, false, data, len, wall_ns);
	if (sent || received || !(ends & PS_WIRE_WRITER))
		return;  /* a read alone: the unnamed sender's bytes showed when they were written */
	if (filtering) {
		out->other_processes++;
		return;
	}
	/* no process known at either end: the bytes still show, as the sender's */
	out->unattributed++;
	emit(out, flow, NULL, true, data, len, wall_ns);
}

static void free_owners(void *arg, void *user)
{
	free(user);
}


static int wire_output_new(const struct ps_options *opts, ps_wire_record_fn on_record, void *arg,
			   struct ps_wire_output **result)
{
	struct ps_wire_output *out = calloc(1, sizeof(*out));
	struct ps_wire_ops ops = { .plaintext = on_plaintext, .free_user = free_owners, .arg = out };
	int err;

	*result = out;
	if (!out) {
		ps_error("out of memory");
		return -ENOMEM;
	}
	out->opts = opts;
	out->on_record = on_record;
	out->arg = arg;
	err = find_data_event(out, opts->module);
	if (!err && !(out->fixed = calloc(1, out->event->fixed_size)))
		err = -ENOMEM;
	if (!err && !(out->wire = ps_wire_new(&ops)))
		err = -ENOMEM;
	return err;
}

int ps_wire_output_open(const struct ps_options *opts, ps_wire_record_fn on_record, void *arg,
			struct ps_wire_output **result)
{
	struct ps_wire_output *out;
	int err = wire_output_new(opts, on_record, arg, &out);

	if (!err)
		err = ps_packet_capture_open(opts->interfaces, opts->n_interfaces, opts->packet_filter, &out->capture);
	if (!err)
		err = ps_packet_queue_start(out->capture, opts->mapsize_given ? (size_t)opts->mapsize_kib << 10
									       : ps_packet_queue_default_bytes(),
					    opts->lossless, &out->queue);
	if (!err)
		ps_sock_owners_start(&out->owners); /* it warns when it cannot: records go on without names */
	if (err) {
		ps_wire_output_close(out);
		return err;
	}
	*result = out;
	return 0;
}

int ps_wire_output_open_fed(const struct ps_options *opts, ps_wire_record_fn on_record, void *arg,
			    struct ps_wire_output **result)
{
	struct ps_wire_output *out;
	int err = wire_output_new(opts, on_record, arg, &out);

	if (!err)
		ps_sock_owners_start(&out->owners);
	if (err) {
		ps_wire_output_close(out);
		return err;
	}
	*result = out;
	return 0;
}

static uint64_t wall_clock_ns(void);

void ps_wire_output_frame(struct ps_wire_output *out, int linktype, const uint8_t *frame, size_t len,
			  uint64_t wall_ns)
{
	uint64_t now;

	ps_wire_frame(out->wire, linktype, frame, len, wall_ns);
	now = wall_clock_ns();
	if (now - out->last_sweep_ns >= SWEEP_INTERVAL_NS) {
		ps_wire_sweep(out->wire, now);
		out->last_sweep_ns = now;
	}
}

void ps_wire_output_secrets(struct ps_wire_output *out, const struct ps_secrets *secrets)
{
	ps_wire_secrets(out->wire, secrets);
}

int ps_wire_output_wait(struct ps_wire_output *out, int other_fd, int timeout_ms)
{
	struct pollfd fds[2] = { { .fd = ps_packet_queue_fd(out->queue), .events = POLLIN },
				 { .fd = other_fd, .events = POLLIN } };

	return poll(fds, 2, timeout_ms) < 0 ? -errno : 0;
}

static int on_packet(const struct ps_packet *packet, void *arg)
{
	struct ps_wire_output *out = arg;

	ps_wire_frame(out->wire, ps_packet_capture_linktype(out->capture, packet->interface), packet->data,
		      packet->captured_len, packet->wall_ns);
	return 0;
}

static uint64_t wall_clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int ps_wire_output_packets(struct ps_wire_output *out)
{
	int n = ps_packet_queue_take(out->queue, on_packet, out);
	uint64_t now = wall_clock_ns();

	if (now - out->last_sweep_ns >= SWEEP_INTERVAL_NS) {
		ps_wire_sweep(out->wire, now);
		out->last_sweep_ns = now;
	}
	return n < 0 ? n : 0;
}

int ps_wire_output_finish(struct ps_wire_output *out)
{
	int err = 0;

	if (out->queue) {
		ps_packet_queue_finish(out->queue);
		err = ps_wire_output_packets(out);
	}
	ps_wire_finish(out->wire);
	return err;
}

void ps_wire_output_counters(struct ps_wire_output *out, struct ps_counters *counters)
{
	const struct ps_wire_counters *w = ps_wire_counters(out->wire);
	struct ps_packet_queue_stats q;

	counters->wire = true;
	counters->wire_packets = w->packets;
	counters->wire_connections = w->connections;
	counters->wire_not_tls = w->not_tls;
	counters->wire_gaps = w->gaps;
	counters->wire_gap_bytes = w->gap_bytes;
	memcpy(counters->wire_undecryptable, w->undecryptable, sizeof(w->undecryptable));
	if (!out->queue)
		return; /* fed: the packets and their process filter are the feeder's to count */
	ps_packet_queue_stats(out->queue, &q);
	counters->packets_dropped = q.kernel_dropped;
	counters->packets_backlog_full = q.dropped;
	counters->held_back = q.held_back;
	counters->packets_unattributed = out->unattributed;
	counters->packets_other_processes = out->other_processes;
}

void ps_wire_output_close(struct ps_wire_output *out)
{
	if (!out)
		return;
	if (out->queue) {
		struct ps_packet_queue_stats q;

		ps_packet_queue_stats(out->queue, &q);
		ps_debug("packet backlog: at most %zu KiB held", q.peak >> 10);
	}
	ps_packet_queue_free(out->queue);  /* its thread reads the capture */
	ps_wire_free(out->wire);
	ps_packet_capture_close(out->capture);
	ps_sock_owners_stop(out->owners);
	free(out->fixed);
	free(out);
}
