/* SPDX-License-Identifier: MIT */
/*
 * gRPC over HTTP/2 (grpc/grpc doc/PROTOCOL-HTTP2.md): content-type
 * application/grpc[+proto|;...], :path /Service/Method, each message a
 * Compressed-Flag byte and a 4-byte big-endian length before its bytes,
 * grpc-status and grpc-message in the trailers (or in the headers of a
 * Trailers-Only response). Messages are shown raw: protobuf needs a schema.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "http_internal.h"

bool grpc_is(const struct ps_http_headers *headers)
{
	const struct ps_http_header *ct = http_headers_find(headers, "content-type");

	return ct && ct->value_len >= 16 && strncasecmp(ct->value, "application/grpc", 16) == 0 &&
	       (ct->value_len == 16 || ct->value[16] == '+' || ct->value[16] == ';');
}

/*
 * A message with the Compressed-Flag set is compressed with the stream's
 * grpc-encoding (gzip, deflate; identity needs no flag): undone for display,
 * by the same decoders as HTTP bodies.
 */
static void decompress(struct ps_grpc_message *m, const struct ps_http_headers *headers)
{
	const struct ps_http_header *enc = http_headers_find(headers, "grpc-encoding");
	struct http_body body = { 0 };
	struct http_body_view view;

	if (!m->compressed || !enc || m->len < m->declared_len)
		return;
	http_body_add(&body, m->data, m->len);
	http_body_decode(&body, enc->value, 0, &view);
	if (view.coding) {
		m->owned = view.owned;
		m->data = view.data;
		m->len = view.len;
		m->encoding = enc->value;
	} else {
		m->decode_error = view.error;
		http_body_view_free(&view);
	}
	http_buf_free(&body.raw);
}

void grpc_messages_free(struct ps_grpc_message *messages, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(messages[i].owned);
	free(messages);
}

static const char *status_field(const struct ps_http_message *msg, const char *name)
{
	const struct ps_http_header *h = msg->trailers ? http_headers_find(msg->trailers, name) : NULL;

	if (!h)
		h = http_headers_find(msg->headers, name);
	return h ? h->value : NULL;
}

void grpc_describe(struct ps_http_message *msg, const struct ps_http_headers *req_headers,
		   struct ps_grpc_message **messages, char **service, char **method)
{
	const struct ps_http_header *path = http_headers_find(req_headers, ":path");
	struct ps_grpc_message *v = NULL;
	size_t n = 0, cap = 0, off = 0;

	*messages = NULL;
	*service = *method = NULL;
	if (path && path->value_len > 1 && path->value[0] == '/') {
		const char *slash = memrchr(path->value + 1, '/', path->value_len - 1);

		if (slash) {
			*service = http_strndup((const uint8_t *)path->value + 1, (size_t)(slash - path->value - 1));
			*method = http_strndup((const uint8_t *)slash + 1, path->value_len - (size_t)(slash + 1 - path->value));
		}
	}
	msg->grpc_service = *service;
	msg->grpc_method = *method;
	msg->grpc_status = status_field(msg, "grpc-status");
	msg->grpc_message = status_field(msg, "grpc-message");
	while (off + 5 <= msg->body_len) {
		const uint8_t *p = msg->body + off;
		uint32_t len = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 | p[4];
		size_t have = msg->body_len - off - 5 < len ? msg->body_len - off - 5 : len;

		if (n == cap) {
			struct ps_grpc_message *nv = realloc(v, (cap = cap ? cap * 2 : 8) * sizeof(*v));

			if (!nv)
				break;
			v = nv;
		}
		v[n] = (struct ps_grpc_message){ .compressed = p[0] & 1, .declared_len = len, .data = p + 5, .len = have };
		decompress(&v[n++], msg->headers);
		off += 5 + have;
	}
	*messages = v;
	msg->grpc_messages = v;
	msg->n_grpc_messages = n;
}
