/* SPDX-License-Identifier: MIT */
/*
 * The secrets the probes found, by client random, for the connections on
 * the wire: each connection's secrets merged as they come (a TLS 1.3
 * handshake's before its application ones). Bounded: the oldest
 * connection's go first.
 */
#ifndef PS_WIRE_SECRETS_H
#define PS_WIRE_SECRETS_H

#include "keylog.h"

#define PS_WIRE_SECRETS_MAX 16384

struct ps_wire_secrets;

struct ps_wire_secrets *ps_wire_secrets_new(void);
void ps_wire_secrets_free(struct ps_wire_secrets *ws);
/* Adds s's secrets (it needs a client random); -EINVAL without one, -ENOMEM. */
int ps_wire_secrets_add(struct ps_wire_secrets *ws, const struct ps_secrets *s);
/* The connection's secrets, or NULL. */
const struct ps_secrets *ps_wire_secrets_find(const struct ps_wire_secrets *ws, const uint8_t client_random[32]);

#endif
