/* SPDX-License-Identifier: MIT */
/*
 * A connection's secrets as a record of text and json output: the header of
 * the record they came in, then client_random, version, cipher and each
 * secret its version has (keylog.h), as long as it is. No field of the
 * other TLS version, none absent or zero.
 */
#ifndef PS_SECRETS_RECORD_H
#define PS_SECRETS_RECORD_H

#include "keylog.h"
#include "record.h"

struct ps_secrets_fixed {
	struct ps_event_header hdr;
	int64_t version;
	int64_t cipher;
	uint8_t client_random[PS_CLIENT_RANDOM_LEN];
	uint8_t secret[PS_SECRET_LABELS][PS_SECRET_MAX_LEN];
};

struct ps_secrets_record {
	struct ps_record rec;       /* what the writers take; points into the rest */
	struct ps_event_desc event;
	struct ps_field_desc fields[3 + PS_SECRET_LABELS];
	struct ps_secrets_fixed fixed;
};

/* Fills out from the secrets s of the record from. */
void ps_secrets_record_build(struct ps_secrets_record *out, const struct ps_record *from,
			     const struct ps_secrets *s);

#endif
