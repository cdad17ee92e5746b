/* SPDX-License-Identifier: MIT */
/* TLS 1.3's HKDF-Expand-Label (RFC 8446 section 7.1), on libcrypto's HKDF (loaded on first use). */
#ifndef PS_HKDF_H
#define PS_HKDF_H

#include <stddef.h>
#include <stdint.h>

/*
 * out = HKDF-Expand-Label(secret, label, context, out_len) with the hash of
 * hash_len bytes (32: SHA-256, 48: SHA-384). label is without "tls13 ".
 * Returns 0, or -1 (unknown hash, libcrypto absent or failing: warned once).
 */
int ps_hkdf_expand_label(size_t hash_len, const uint8_t *secret, size_t secret_len, const char *label,
			 const uint8_t *context, size_t context_len, uint8_t *out, size_t out_len);

#endif
