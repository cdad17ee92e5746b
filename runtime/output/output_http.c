/* SPDX-License-Identifier: MIT */
/*
 * Messages (runtime/http/http.h) as text and json.
 *
 * json: one object per message, keys in a fixed order:
 *   {"time_ns": ..., "proto": "http2", "type": "response", "method": "GET", "path": "/", "authority": "a",
 *    "status": 200, "stream_id": 1, "headers": [[":status", "200"], ...], "body": "...",
 *    "body_len": 5, "first_ns": ..., "last_ns": ..., "pid": ..., ..., "dport": 443}
 * A header field that HPACK could not resolve (a capture begun mid-connection)
 * is [name, value, "lost"], "?" standing for what is unknown. A body that is
 * not valid UTF-8 is body_b64; a body cut by the limit says body_truncated.
 *
 * text: a header line like a record's, the start line, the fields, a blank
 * line and the body, every line of them after "| ", as the data of records.
 */
#include <inttypes.h>
#include <string.h>
#include <time.h>
#include "http.h"
#include "output.h"

static const char *const proto_names[] = { "http1", "http2", "grpc", "raw" };
static const char *const kind_names[] = { "request", "response", "control", "raw" };

static void json_str(FILE *f, const char *s, size_t len)
{
	fputc('"', f);
	ps_format_json_string(f, (const uint8_t *)s, len);
	fputc('"', f);
}

static void json_key_str(FILE *f, const char *key, const char *value)
{
	if (!value)
		return;
	fprintf(f, ", \"%s\": ", key);
	json_str(f, value, strlen(value));
}

static void json_headers(FILE *f, const char *key, const struct ps_http_headers *h)
{
	if (!h)
		return;
	fprintf(f, ", \"%s\": [", key);
	for (size_t i = 0; i < h->n; i++) {
		fputs(i ? ", [" : "[", f);
		json_str(f, h->v[i].name, h->v[i].name_len);
		fputs(", ", f);
		json_str(f, h->v[i].value, h->v[i].value_len);
		fputs(h->v[i].lost ? ", \"lost\"]" : "]", f);
	}
	fputc(']', f);
}

static void json_body(FILE *f, const char *key, const uint8_t *data, size_t len)
{
	fprintf(f, ", \"%s", key);
	if (ps_format_utf8_valid(data, len)) {
		fputs("\": ", f);
		json_str(f, (const char *)data, len);
	} else {
		fputs("_b64\": \"", f);
		ps_format_base64(f, data, len);
		fputc('"', f);
	}
}

static void json_conn(FILE *f, const struct ps_http_message *msg)
{
	const struct ps_http_chunk *c = msg->conn;
	char addr[64];

	fprintf(f, ", \"pid\": %u, \"tid\": %u, \"uid\": %u, \"comm\": ", c->pid, c->tid, c->uid);
	json_str(f, c->comm, strnlen(c->comm, PS_COMM_LEN));
	fprintf(f, ", \"fd\": %d, \"dir\": \"%s\"", c->fd, msg->dir == PS_HTTP_WRITE ? "write" : "read");
	if (!c->tuple.family)
		return;
	fputs(", \"saddr\": ", f);
	ps_format_addr(&c->tuple, c->tuple.saddr, addr, sizeof(addr));
	json_str(f, addr, strlen(addr));
	fprintf(f, ", \"sport\": %u, \"daddr\": ", c->tuple.sport);
	ps_format_addr(&c->tuple, c->tuple.daddr, addr, sizeof(addr));
	json_str(f, addr, strlen(addr));
	fprintf(f, ", \"dport\": %u", c->tuple.dport);
}

static void json_grpc(FILE *f, const struct ps_http_message *msg)
{
	if (msg->proto != PS_PROTO_GRPC)
		return;
	fputs(", \"grpc\": {\"service\": ", f);
	if (msg->grpc_service)
		json_str(f, msg->grpc_service, strlen(msg->grpc_service));
	else
		fputs("null", f);
	fputs(", \"method\": ", f);
	if (msg->grpc_method)
		json_str(f, msg->grpc_method, strlen(msg->grpc_method));
	else
		fputs("null", f);
	json_key_str(f, "status", msg->grpc_status);
	json_key_str(f, "message", msg->grpc_message);
	fputs(", \"messages\": [", f);
	for (size_t i = 0; i < msg->n_grpc_messages; i++) {
		const struct ps_grpc_message *m = &msg->grpc_messages[i];

		fprintf(f, "%s{\"compressed\": %s, \"len\": %u, \"data_b64\": \"", i ? ", " : "",
			m->compressed ? "true" : "false", m->declared_len);
		ps_format_base64(f, m->data, m->len);
		fputc('"', f);
		if (m->encoding)
			json_key_str(f, "encoding", m->encoding);
		else if (m->len < m->declared_len)
			fprintf(f, ", \"missing\": %" PRIu64, (uint64_t)(m->declared_len - m->len));
		json_key_str(f, "decode_error", m->decode_error);
		fputc('}', f);
	}
	fputs("]}", f);
}

void ps_http_write_json(FILE *f, const struct ps_http_message *msg)
{
	fprintf(f, "{\"time_ns\": %" PRIu64 ", \"proto\": \"%s\", \"type\": \"%s\"", msg->first_ns,
		proto_names[msg->proto], kind_names[msg->kind]);
	json_key_str(f, "method", msg->method);
	json_key_str(f, "path", msg->path);
	json_key_str(f, "authority", msg->authority);
	if (msg->status)
		fprintf(f, ", \"status\": %d", msg->status);
	json_key_str(f, "reason", msg->kind == PS_MSG_RESPONSE ? msg->reason : NULL);
	json_key_str(f, "version", msg->version);
	if (msg->stream_id >= 0)
		fprintf(f, ", \"stream_id\": %" PRId64, msg->stream_id);
	if (msg->push_promise)
		fputs(", \"push_promise\": true", f);
	json_key_str(f, "control", msg->control);
	if (msg->kind == PS_MSG_CONTROL)
		fprintf(f, ", \"error_code\": %u", msg->error_code);
	if (msg->last_stream_id >= 0)
		fprintf(f, ", \"last_stream_id\": %" PRId64, msg->last_stream_id);
	json_headers(f, "headers", msg->headers);
	json_headers(f, "trailers", msg->trailers);
	if (msg->kind != PS_MSG_CONTROL) {
		json_body(f, "body", msg->body ? msg->body : (const uint8_t *)"", msg->body_len);
		fprintf(f, ", \"body_len\": %" PRIu64, msg->body_total);
	}
	if (msg->body_truncated)
		fprintf(f, ", \"body_truncated\": %" PRIu64, msg->body_truncated);
	json_key_str(f, "content_encoding", msg->content_encoding);
	json_key_str(f, "decode_error", msg->decode_error);
	json_grpc(f, msg);
	fprintf(f, ", \"first_ns\": %" PRIu64 ", \"last_ns\": %" PRIu64, msg->first_ns, msg->last_ns);
	json_conn(f, msg);
	json_key_str(f, "note", msg->note);
	fputs("}\n", f);
}

void ps_http_write_json_counters(FILE *f, const struct ps_http_counters *c)
{
	fprintf(f,
		"{\"http_summary\": {\"messages\": %" PRIu64 ", \"raw_fallbacks\": %" PRIu64 ", \"skipped_bytes\": %" PRIu64
		", \"truncated_bytes\": %" PRIu64 ", \"evicted\": %" PRIu64 ", \"hpack_lost\": %" PRIu64
		", \"stream_errors\": %" PRIu64 "}}\n",
		c->messages, c->raw_fallbacks, c->skipped_bytes, c->truncated_bytes, c->evicted, c->hpack_lost,
		c->stream_errors);
}

/* ---- text ---------------------------------------------------------------- */

#define PREFIX "| "

static void text_time(FILE *f, uint64_t ns)
{
	time_t s = (time_t)(ns / 1000000000);
	struct tm tm;
	char date[32];

	if (!gmtime_r(&s, &tm) || !strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm))
		fprintf(f, "@%" PRIu64, ns);
	else
		fprintf(f, "%s.%09" PRIu64 "Z", date, ns % 1000000000);
}

static void text_run(FILE *f, const char *s, size_t len)
{
	ps_format_escaped_run(f, PREFIX, (const uint8_t *)s, len);
}

static void text_headers(FILE *f, const struct ps_http_headers *h)
{
	for (size_t i = 0; h && i < h->n; i++) {
		fputs(PREFIX, f);
		text_run(f, h->v[i].name, h->v[i].name_len);
		fputs(": ", f);
		text_run(f, h->v[i].value, h->v[i].value_len);
		if (h->v[i].lost)
			fputs("    [lost: HPACK entry from before the capture]", f);
		fputc('\n', f);
	}
}

void ps_http_write_text(FILE *f, const struct ps_http_message *msg)
{
	const struct ps_http_chunk *c = msg->conn;
	char saddr[64], daddr[64];

	text_time(f, msg->first_ns);
	fprintf(f, " %s %s pid=%u tid=%u uid=%u comm=", proto_names[msg->proto], kind_names[msg->kind], c->pid, c->tid,
		c->uid);
	for (size_t i = 0; i < strnlen(c->comm, PS_COMM_LEN); i++)
		fputc(c->comm[i] > ' ' && c->comm[i] < 0x7f ? c->comm[i] : '?', f);
	fprintf(f, " fd=%d dir=%s", c->fd, msg->dir == PS_HTTP_WRITE ? "write" : "read");
	if (c->tuple.family) {
		ps_format_addr(&c->tuple, c->tuple.saddr, saddr, sizeof(saddr));
		ps_format_addr(&c->tuple, c->tuple.daddr, daddr, sizeof(daddr));
		fprintf(f, " %s:%u -> %s:%u", saddr, c->tuple.sport, daddr, c->tuple.dport);
	}
	if (msg->stream_id >= 0)
		fprintf(f, " stream=%" PRId64, msg->stream_id);
	if (msg->kind != PS_MSG_CONTROL)
		fprintf(f, " len=%" PRIu64, msg->body_total);
	fputc('\n', f);
	if (msg->note && msg->kind != PS_MSG_CONTROL)
		fprintf(f, "%s[%s]\n", PREFIX, msg->note);
	switch (msg->kind) {
	case PS_MSG_REQUEST:
		fprintf(f, "%s%s%s %s %s\n", PREFIX, msg->push_promise ? "(promised) " : "", msg->method ? msg->method : "?",
			msg->path ? msg->path : "?", msg->version ? msg->version : "HTTP/2");
		break;
	case PS_MSG_RESPONSE:
		fprintf(f, "%s%s %d%s%s", PREFIX, msg->version ? msg->version : "HTTP/2", msg->status,
			msg->reason && *msg->reason ? " " : "", msg->reason ? msg->reason : "");
		if (msg->method)
			fprintf(f, "    (%s %s)", msg->method, msg->path ? msg->path : "?");
		fputc('\n', f);
		break;
	case PS_MSG_CONTROL:
		fprintf(f, "%s%s %s", PREFIX, msg->control, msg->note ? msg->note : "");
		if (msg->last_stream_id >= 0)
			fprintf(f, " last_stream_id=%" PRId64, msg->last_stream_id);
		fputc('\n', f);
		return;
	case PS_MSG_RAW:
		ps_format_escaped_lines(f, PREFIX, msg->body, msg->body_len);
		return;
	}
	text_headers(f, msg->headers);
	if (msg->proto == PS_PROTO_GRPC) {
		fprintf(f, "%sgrpc %s/%s", PREFIX, msg->grpc_service ? msg->grpc_service : "?",
			msg->grpc_method ? msg->grpc_method : "?");
		if (msg->grpc_status)
			fprintf(f, " status=%s", msg->grpc_status);
		fprintf(f, " messages=%zu\n", msg->n_grpc_messages);
	}
	if (msg->decode_error)
		fprintf(f, "%s[body not decoded: %s]\n", PREFIX, msg->decode_error);
	if (msg->body_len) {
		fprintf(f, "%s\n", PREFIX);
		ps_format_escaped_lines(f, PREFIX, msg->body, msg->body_len);
	}
	if (msg->body_truncated)
		fprintf(f, "%s[... %" PRIu64 " more bytes of body not shown: -t/--tsize]\n", PREFIX, msg->body_truncated);
	if (msg->trailers) {
		fprintf(f, "%s[trailers]\n", PREFIX);
		text_headers(f, msg->trailers);
	}
}
