/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the TLS side of --from wire takes any bytes in either
 * direction. The input is a list of chunks (direction and gap bits, 2-byte
 * length, bytes); the session frames records, parses hellos, waits for and
 * is given secrets (fixed ones, for any client random), decrypts, and must
 * neither crash nor leak, whatever the records say. The connection of RFC
 * 8448's simple 1-RTT trace gets the trace's secrets, so the seeds made of
 * its records (tests/fuzz/seeds/) decrypt, and their mutations reach the
 * layers behind the decryption; any other gets fixed made-up ones.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "evp.h"
#include "rfc8448_vectors.h"
#include "tls_session.h"

static struct ps_evp evp;
static int evp_state;           /* 0: not loaded yet, 1: loaded, -1: failed */

static void on_plain(void *arg, struct ps_tls_session *s, int dir, enum ps_wire_ends ends, const uint8_t *data,
		     size_t len)
{
	volatile uint8_t sink = 0;

	for (size_t i = 0; i < len; i++)
		sink ^= data[i];
	(void)sink;
}

static void unhex(const char *hex, uint8_t *out, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned v;

		sscanf(hex + 2 * i, "%2x", &v);
		out[i] = (uint8_t)v;
	}
}

static void set_secret(struct ps_secrets *s, enum ps_secret_label label, const char *hex)
{
	unhex(hex, s->secret[label], 32);
	s->len[label] = 32;
	s->labels |= 1u << label;
}

/* RFC 8448's secrets for its client random, made-up ones for any other. */
static const struct ps_secrets *lookup(void *arg, const uint8_t random[32])
{
	static struct ps_secrets rfc;
	struct ps_secrets *s = arg;

	if (!rfc.labels) {
		unhex(rfc8448_client_random, rfc.client_random, 32);
		set_secret(&rfc, PS_SECRET_CLIENT_HS, rfc8448_client_hs_secret);
		set_secret(&rfc, PS_SECRET_SERVER_HS, rfc8448_server_hs_secret);
		set_secret(&rfc, PS_SECRET_CLIENT_TRAFFIC_0, rfc8448_client_ap_secret);
		set_secret(&rfc, PS_SECRET_SERVER_TRAFFIC_0, rfc8448_server_ap_secret);
	}
	if (memcmp(random, rfc.client_random, 32) == 0)
		return &rfc;
	memcpy(s->client_random, random, 32);
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size)
{
	uint64_t undecryptable[PS_WIRE_CAUSES] = { 0 };
	struct ps_secrets secrets = { .has_client_random = true };
	struct ps_tls_session_ops ops = { .plaintext = on_plain, .secrets = lookup, .arg = &secrets, .evp = &evp,
					  .undecryptable = undecryptable };
	struct ps_tls_session s;
	size_t at = 0;

	if (!evp_state)
		evp_state = ps_evp_load(&evp) ? -1 : 1;
	if (evp_state < 0)
		abort();
	for (int l = 0; l < PS_SECRET_LABELS; l++) {
		memset(secrets.secret[l], 0x40 + l, PS_SECRET_MAX_LEN);
		secrets.len[l] = l == PS_SECRET_MASTER ? 48 : 32;
		secrets.labels |= 1u << l;
	}
	ps_tls_session_init(&s, &ops);
	while (at + 3 <= size) {
		uint8_t head = in[at];
		size_t len = (size_t)(in[at + 1] << 8 | in[at + 2]);

		at += 3;
		if (len > size - at)
			len = size - at;
		if (head & 2)
			ps_tls_session_gap(&s, head & 1, len);
		else
			ps_tls_session_data(&s, head & 1, in + at, len);
		if (head & 4)
			ps_tls_session_retry(&s);
		at += len;
	}
	ps_tls_session_free(&s);
	return 0;
}
