/* SPDX-License-Identifier: MIT */
/*
 * Cipher suites and the keys of one direction: TLS 1.3's from a traffic
 * secret (RFC 8446 section 7.3), TLS 1.2's from the master secret's key
 * block (RFC 5246 section 6.3), both through EVP.
 */
#ifndef PS_TLS_KEYS_H
#define PS_TLS_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "evp.h"

#define PS_TLS_MAX_KEY 32
#define PS_TLS_MAX_IV 16
#define PS_TLS_MAX_MAC_KEY 48
#define PS_TLS_MAX_HASH 48

enum ps_tls_mode {
	PS_TLS_AEAD,                /* GCM, CCM, ChaCha20-Poly1305 */
	PS_TLS_CBC,                 /* 1.2: AES-CBC with HMAC, MAC-then-encrypt or encrypt-then-MAC */
};

/* What a suite number means for the record layer. */
struct ps_tls_suite {
	uint16_t id;
	bool tls13;
	enum ps_tls_mode mode;
	enum ps_bulk_cipher cipher;
	uint8_t key_len;
	uint8_t fixed_iv_len;       /* 1.3 and 1.2 ChaCha20: 12 (the whole nonce); 1.2 GCM and CCM: 4 (the salt); CBC: 0 */
	uint8_t tag_len;            /* AEAD: 16, or 8 for CCM_8 */
	enum ps_digest prf_digest;  /* 1.3: the HKDF hash; 1.2: the PRF's */
	enum ps_digest mac_digest;  /* CBC: the HMAC's */
	uint8_t mac_len;            /* CBC: the HMAC's length (and its key's) */
};

/* The suite, or NULL when wire mode does not read it. */
const struct ps_tls_suite *ps_tls_suite_find(uint16_t id);
size_t ps_tls_digest_len(enum ps_digest digest);

/* One direction's keys for one epoch. */
struct ps_tls_keys {
	uint8_t key[PS_TLS_MAX_KEY];
	uint8_t iv[PS_TLS_MAX_IV];
	uint8_t mac_key[PS_TLS_MAX_MAC_KEY];
};

/* key = HKDF-Expand-Label(secret, "key", "", key_len), iv likewise with "iv" (RFC 8446 section 7.3). 0 or -1. */
int ps_tls13_keys(const struct ps_tls_suite *suite, const uint8_t *secret, struct ps_tls_keys *out);

/* The next application traffic secret after a KeyUpdate: HKDF-Expand-Label(secret, "traffic upd", "", Hash.length). */
int ps_tls13_next_secret(const struct ps_tls_suite *suite, const uint8_t *secret, uint8_t *next);

/*
 * TLS 1.2: key_block = PRF(master_secret, "key expansion", server_random +
 * client_random), cut into the client's and the server's MAC keys, keys and
 * IVs in that order. client: the client's writing keys, else the server's.
 */
int ps_tls12_keys(const struct ps_evp *evp, const struct ps_tls_suite *suite, const uint8_t *master, size_t master_len,
		  const uint8_t client_random[32], const uint8_t server_random[32], bool client, struct ps_tls_keys *out);

#endif
