/* SPDX-License-Identifier: MIT */
#include "ecaptureq.pb-c.h"
#include "ecaptureq_encode.h"

static struct ps_stream_msg *pack_entry(const Event__LogEntry *entry, enum ps_stream_msg_kind kind)
{
	size_t len = event__log_entry__get_packed_size(entry);
	struct ps_stream_msg *m = ps_stream_msg_new(kind, len);

	if (m)
		event__log_entry__pack(entry, m->data);
	return m;
}

struct ps_stream_msg *ps_ecaptureq_event(const struct ps_stream_event *ev)
{
	Event__Event event = EVENT__EVENT__INIT;
	Event__LogEntry entry = EVENT__LOG_ENTRY__INIT;

	/* protobuf-c reads the strings only: the casts drop a const it does not need */
	event.timestamp = ev->time_ns;
	event.uuid = (char *)ev->uuid;
	event.src_ip = (char *)ev->src_ip;
	event.src_port = ev->src_port;
	event.dst_ip = (char *)ev->dst_ip;
	event.dst_port = ev->dst_port;
	event.pid = ev->pid;
	event.pname = (char *)ev->pname;
	event.type = ev->type;
	event.length = (uint32_t)ev->len;
	event.payload.data = (uint8_t *)ev->payload;
	event.payload.len = ev->len;
	entry.log_type = EVENT__LOG_TYPE__EVENT;
	entry.payload_case = EVENT__LOG_ENTRY__PAYLOAD_EVENT_PAYLOAD;
	entry.event_payload = &event;
	return pack_entry(&entry, PS_STREAM_EVENT);
}

struct ps_stream_msg *ps_ecaptureq_heartbeat(int64_t time_ns, int64_t count, const char *message)
{
	Event__Heartbeat heartbeat = EVENT__HEARTBEAT__INIT;
	Event__LogEntry entry = EVENT__LOG_ENTRY__INIT;

	heartbeat.timestamp = time_ns;
	heartbeat.count = count;
	heartbeat.message = (char *)message;
	entry.log_type = EVENT__LOG_TYPE__HEARTBEAT;
	entry.payload_case = EVENT__LOG_ENTRY__PAYLOAD_HEARTBEAT_PAYLOAD;
	entry.heartbeat_payload = &heartbeat;
	return pack_entry(&entry, PS_STREAM_HEARTBEAT);
}

struct ps_stream_msg *ps_ecaptureq_log(const char *line)
{
	Event__LogEntry entry = EVENT__LOG_ENTRY__INIT;

	entry.log_type = EVENT__LOG_TYPE__PROCESS_LOG;
	entry.payload_case = EVENT__LOG_ENTRY__PAYLOAD_RUN_LOG;
	entry.run_log = (char *)line;
	return pack_entry(&entry, PS_STREAM_LOG);
}
