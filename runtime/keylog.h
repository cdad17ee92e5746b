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

struct ps_keylog;

struct ps_keylog *ps_keylog_new(void);
void ps_keylog_free(struct ps_keylog *kl);

/* Whether keylog mode takes records of this event. */
bool ps_keylog_is_secrets_event(const struct ps_event_desc *event);

/*
 * Writes the lines this record gives that were not written before, each
 * flushed. Returns how many, or a negative errno when f failed.
 */
int ps_keylog_write(struct ps_keylog *kl, FILE *f, const struct ps_record *rec);

#endif
