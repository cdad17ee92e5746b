/* SPDX-License-Identifier: MIT */
/* Secrets records for text and json output: see secrets_record.h. */
#include <stddef.h>
#include <string.h>
#include "secrets_record.h"

static void add_field(struct ps_secrets_record *out, const char *name, enum ps_field_kind kind, size_t offset,
		      size_t size)
{
	out->fields[out->event.n_fields++] = (struct ps_field_desc){
		.name = name,
		.kind = kind,
		.offset = (uint32_t)offset,
		.size = (uint32_t)size,
		.present_bit = -1,      /* only the fields with a value are described */
		.check_field = -1,
	};
}

void ps_secrets_record_build(struct ps_secrets_record *out, const struct ps_record *from,
			     const struct ps_secrets *s)
{
	memset(out, 0, sizeof(*out));
	out->event = (struct ps_event_desc){
		.name = from->event->name,
		.fixed_size = sizeof(out->fixed),
		.fields = out->fields,
		.var_field = -1,
	};
	memcpy(&out->fixed.hdr, from->fixed, sizeof(out->fixed.hdr));
	out->fixed.hdr.fixed_size = sizeof(out->fixed);
	out->fixed.version = s->version;
	out->fixed.cipher = s->cipher & 0xffff;   /* the suite's IANA number: OpenSSL adds 0x03000000 */
	if (s->has_client_random) {
		memcpy(out->fixed.client_random, s->client_random, sizeof(out->fixed.client_random));
		add_field(out, "client_random", PS_FIELD_FIXED_BYTES, offsetof(struct ps_secrets_fixed, client_random),
			  PS_CLIENT_RANDOM_LEN);
	}
	if (s->has_version)
		add_field(out, "version", PS_FIELD_INT, offsetof(struct ps_secrets_fixed, version), sizeof(int64_t));
	if (s->has_cipher)
		add_field(out, "cipher", PS_FIELD_UINT, offsetof(struct ps_secrets_fixed, cipher), sizeof(int64_t));
	for (enum ps_secret_label l = 0; l < PS_SECRET_LABELS; l++) {
		if (!(s->labels & (1u << l)))
			continue;
		memcpy(out->fixed.secret[l], s->secret[l], s->len[l]);
		add_field(out, ps_secret_field_name(l), PS_FIELD_FIXED_BYTES,
			  offsetof(struct ps_secrets_fixed, secret) + (size_t)l * PS_SECRET_MAX_LEN, s->len[l]);
	}
	out->rec = (struct ps_record){
		.module = from->module,
		.event = &out->event,
		.fixed = &out->fixed,
		.time_ns = from->time_ns,
	};
}
