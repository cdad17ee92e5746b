/* SPDX-License-Identifier: MIT */
/*
 * One direction's record protection for one epoch: the keys, the record
 * sequence number, and the EVP context. TLS 1.3 AEAD (RFC 8446 section
 * 5.2-5.3), TLS 1.2 AEAD (RFC 5288 section 3, RFC 6655 section 3, RFC 7905
 * section 2) and TLS 1.2 CBC with HMAC, MAC-then-encrypt (RFC 5246 section
 * 6.2.3.2) or encrypt-then-MAC (RFC 7366).
 */
#ifndef PS_TLS_DECRYPT_H
#define PS_TLS_DECRYPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "evp.h"
#include "tls_keys.h"
#include "tls_records.h"

struct ps_tls_cipher {
	const struct ps_evp *evp;
	const struct ps_tls_suite *suite;
	bool encrypt_then_mac;
	struct ps_tls_keys keys;
	EVP_CIPHER_CTX *ctx;
	uint64_t seq;               /* the next record's sequence number */
};

/* 0, or -ENOMEM / -EINVAL (libcrypto refused the key). */
int ps_tls_cipher_init(struct ps_tls_cipher *c, const struct ps_evp *evp, const struct ps_tls_suite *suite,
		       bool encrypt_then_mac, const struct ps_tls_keys *keys);
void ps_tls_cipher_free(struct ps_tls_cipher *c);

/*
 * Decrypts rec with sequence number seq into out (room for rec->len bytes):
 * *out_len plaintext bytes of content type *type (TLS 1.3: the inner type).
 * 0; -EBADMSG when the tag, MAC or padding is wrong (a wrong key or
 * sequence number looks the same); -EINVAL for a record too short.
 */
int ps_tls_decrypt_at(struct ps_tls_cipher *c, uint64_t seq, const struct ps_tls_record *rec, uint8_t *out,
		      size_t *out_len, uint8_t *type);

/* The same at c->seq, which then moves on, whether or not the record opened. */
int ps_tls_decrypt(struct ps_tls_cipher *c, const struct ps_tls_record *rec, uint8_t *out, size_t *out_len,
		   uint8_t *type);

#endif
