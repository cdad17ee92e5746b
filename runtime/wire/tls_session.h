/* SPDX-License-Identifier: MIT */
/*
 * One TLS connection seen from the wire, both directions: records in,
 * plaintext out. The hellos give the randoms, version and suite; the
 * secrets (keylog.h) come from the probes, by client random, possibly
 * after the records that need them: until then a direction's records wait,
 * in order, up to a bound. TLS 1.3 moves from the handshake keys to the
 * application keys at each side's Finished, and to the next ones at each
 * KeyUpdate (RFC 8446 section 4.6.3).
 */
#ifndef PS_TLS_SESSION_H
#define PS_TLS_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "evp.h"
#include "keylog.h"
#include "tls_decrypt.h"
#include "tls_records.h"
#include "wire_causes.h"

/* Records held per connection while its secrets are awaited. */
#define PS_TLS_PENDING_MAX (16u << 20)

struct ps_tls_session;

struct ps_tls_session_ops {
	/*
	 * Plaintext application data of session s sent in direction dir (0 or
	 * 1, as the caller numbers them), for the sender's write, the
	 * receiver's read or both (0-RTT data: the read once the server takes it).
	 */
	void (*plaintext)(void *arg, struct ps_tls_session *s, int dir, enum ps_wire_ends ends, const uint8_t *data,
			  size_t len);
	/* The secrets known for a client random, or NULL. */
	const struct ps_secrets *(*secrets)(void *arg, const uint8_t client_random[32]);
	void *arg;
	const struct ps_evp *evp;
	uint64_t *undecryptable;    /* [PS_WIRE_CAUSES], records counted by cause */
};

struct ps_tls_pending;

/* Whether the server takes the client's 0-RTT data: its EncryptedExtensions say (RFC 8446 section 4.2.10). */
enum ps_tls_early_answer { PS_TLS_EARLY_UNANSWERED, PS_TLS_EARLY_TAKEN, PS_TLS_EARLY_REFUSED };

/* EARLY: the client's 0-RTT data, from its ClientHello to its EndOfEarlyData */
enum ps_tls_epoch { PS_TLS_EPOCH_PLAIN, PS_TLS_EPOCH_EARLY, PS_TLS_EPOCH_HANDSHAKE, PS_TLS_EPOCH_APPLICATION };

struct ps_tls_direction {
	struct ps_tls_framer framer;
	struct ps_tls_bytes handshake;  /* handshake message bytes not yet whole */
	enum ps_tls_epoch epoch;
	bool cipher_spec_changed;   /* 1.2: a ChangeCipherSpec was sent, what follows is protected */
	bool keyed;                 /* cipher holds this epoch's keys */
	struct ps_tls_cipher cipher;
	uint8_t traffic_secret[PS_SECRET_MAX_LEN]; /* 1.3: this epoch's, for the next KeyUpdate */
	bool key_update_due;        /* 1.3: a KeyUpdate was read: the next record uses the next keys */
	uint64_t gap_records;       /* after a gap: up to this many records may have been missed */
	bool after_gap;
	struct ps_tls_pending *pending, **pending_tail;  /* records awaiting secrets, in order */
	uint64_t skipped;           /* records dropped past the bound: sequence numbers they took */
	bool draining;              /* its waiting records are being read (drain is not reentered) */
};

struct ps_tls_session {
	const struct ps_tls_session_ops *ops;
	bool gave_up;               /* its secrets were waited for long enough: records needing them are counted */
	struct ps_tls_direction dir[2];
	int client_dir;             /* the direction the ClientHello went; -1: not seen */
	bool has_client_random, has_server_hello;
	bool early_data;            /* the ClientHello offered 0-RTT data */
	enum ps_tls_early_answer early_answer;
	struct ps_tls_bytes early_reads;  /* 0-RTT plaintext the server reads only if it takes it */
	uint8_t client_random[32], server_random[32];
	uint16_t version;
	uint16_t cipher_id;
	const struct ps_tls_suite *suite;  /* NULL: none seen, or not one wire mode reads */
	bool encrypt_then_mac;
	size_t pending_bytes;
	int current_dir;            /* while a record is read */
};

void ps_tls_session_init(struct ps_tls_session *s, const struct ps_tls_session_ops *ops);
/* The records still waiting are counted as never decrypted (no secret). */
void ps_tls_session_free(struct ps_tls_session *s);

/* Stream bytes of direction dir, in order. */
void ps_tls_session_data(struct ps_tls_session *s, int dir, const uint8_t *data, size_t len);
/* len bytes of direction dir never arrived. */
void ps_tls_session_gap(struct ps_tls_session *s, int dir, uint64_t len);
/* New secrets are known: the waiting records are tried again. */
void ps_tls_session_retry(struct ps_tls_session *s);
/*
 * The secrets do not come: the waiting records are counted (no secret),
 * and so are later ones that need them, until secrets come after all.
 */
void ps_tls_session_give_up(struct ps_tls_session *s);
/* Whether records wait for secrets. */
bool ps_tls_session_waiting(const struct ps_tls_session *s);

#endif
