/* SPDX-License-Identifier: MIT */
/*
 * TLS secrets events to SSLKEYLOGFILE lines (the NSS key log format that
 * Wireshark and tshark read). A secrets event is any event with a
 * `client_random: u8[32]` field; the fields it may carry, by name (the
 * spec maps library fields to them, see specs/README.md, "Secrets"):
 *
 *   version                  the protocol version: 0x0301 .. 0x0303, 0x0304 (TLS 1.3)
 *   cipher                   the cipher suite, in its low 16 bits
 *   master_secret            TLS <= 1.2: CLIENT_RANDOM (master_secret_length bytes, default 48)
 *   handshake_secret,        TLS 1.3: the handshake secret and the transcript hash
 *   handshake_hash             through ServerHello, from which the handshake traffic
 *                              secrets are derived (RFC 8446 section 7.1)
 *   client_handshake_traffic_secret, server_handshake_traffic_secret   when kept as such
 *   client_traffic_secret_0, server_traffic_secret_0, exporter_secret
 *   label, secret,           one secret as the library's own key log gets it: label
 *   secret_length              (a string) is its key log label, secret (u8[N]) its bytes
 *
 * TLS 1.3 secrets are as long as the suite's hash: 0x1302 (AES-256-GCM-SHA384)
 * SHA-384, the other suites SHA-256. One line per secret and connection
 * (client random): repeats and all-zero secrets are not written.
 */
#ifndef PS_KEYLOG_H
#define PS_KEYLOG_H

#include <stdbool.h>
#include <stdio.h>
#include "record.h"

#define PS_CLIENT_RANDOM_LEN 32
#define PS_SECRET_MAX_LEN 64

/* The secrets of the key log, one per line label. */
enum ps_secret_label {
	PS_SECRET_MASTER,           /* CLIENT_RANDOM: TLS 1.2 and below */
	PS_SECRET_CLIENT_HS,
	PS_SECRET_SERVER_HS,
	PS_SECRET_CLIENT_TRAFFIC_0,
	PS_SECRET_SERVER_TRAFFIC_0,
	PS_SECRET_EXPORTER,
	PS_SECRET_CLIENT_EARLY,     /* TLS 1.3 0-RTT data's (RFC 8446 section 7.1) */
	PS_SECRET_LABELS
};

/*
 * A connection's secrets as a record gives them: only those its version has,
 * each present, non-zero and as long as it is (the master secret's length,
 * the TLS 1.3 suite's hash), the handshake traffic secrets derived.
 */
struct ps_secrets {
	uint8_t client_random[PS_CLIENT_RANDOM_LEN];
	bool has_client_random;
	int64_t version;
	bool has_version;
	int64_t cipher;
	bool has_cipher;
	uint32_t labels;            /* a bit per enum ps_secret_label present */
	uint8_t secret[PS_SECRET_LABELS][PS_SECRET_MAX_LEN];
	size_t len[PS_SECRET_LABELS];
};

/* The name of a secret: the key log's label, or as a field of text and json output. */
const char *ps_secret_label_name(enum ps_secret_label label);
const char *ps_secret_field_name(enum ps_secret_label label);

/* Whether records of this event carry secrets (keylog mode's, --secrets). */
bool ps_keylog_is_secrets_event(const struct ps_event_desc *event);

/* The secrets of a record of a secrets event; -EINVAL for another event. */
int ps_secrets_from_record(const struct ps_record *rec, struct ps_secrets *s);

/*
 * The secrets already delivered, per connection (client random) and label:
 * the one place repeats are dropped, for every output (a threaded server
 * emits a connection's secrets on each thread that touches it).
 */
struct ps_keylog;

struct ps_keylog *ps_keylog_new(void);
void ps_keylog_free(struct ps_keylog *kl);

/*
 * Drops from s the secrets delivered before and remembers the others;
 * returns s->labels, 0 when the record brings nothing new. A secret with no
 * client random is known by its own bytes.
 */
uint32_t ps_keylog_take_new(struct ps_keylog *kl, struct ps_secrets *s);

/* SSLKEYLOGFILE lines of s, flushed. Returns how many, or a negative errno when f failed. */
int ps_keylog_write_lines(FILE *f, const struct ps_secrets *s);

/* The three above in one: the lines this record gives that were not written before. */
int ps_keylog_write(struct ps_keylog *kl, FILE *f, const struct ps_record *rec);

#endif
