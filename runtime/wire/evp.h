/* SPDX-License-Identifier: MIT */
/*
 * The libcrypto functions wire decryption uses, all EVP, loaded when the
 * first wire context starts: the other modes never map libcrypto (as
 * output/hkdf.c, which the TLS 1.3 key schedule goes through too). The
 * ciphers are fetched once per context, not per connection.
 */
#ifndef PS_WIRE_EVP_H
#define PS_WIRE_EVP_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/evp.h>

/* The bulk ciphers of the suites wire mode reads (tls_keys.c). */
enum ps_bulk_cipher {
	PS_BULK_AES_128_GCM,
	PS_BULK_AES_256_GCM,
	PS_BULK_CHACHA20_POLY1305,
	PS_BULK_AES_128_CCM,
	PS_BULK_AES_256_CCM,
	PS_BULK_AES_128_CBC,
	PS_BULK_AES_256_CBC,
	PS_BULK_CIPHERS
};

enum ps_digest { PS_DIGEST_SHA1, PS_DIGEST_SHA256, PS_DIGEST_SHA384, PS_DIGESTS };

struct ps_evp {
	void *lib;
	EVP_CIPHER *ciphers[PS_BULK_CIPHERS];
	EVP_MD *digests[PS_DIGESTS];
	__typeof__(EVP_CIPHER_fetch) *cipher_fetch;
	__typeof__(EVP_CIPHER_free) *cipher_free;
	__typeof__(EVP_MD_fetch) *md_fetch;
	__typeof__(EVP_MD_free) *md_free;
	__typeof__(EVP_MD_get_size) *md_size;
	__typeof__(EVP_CIPHER_CTX_new) *ctx_new;
	__typeof__(EVP_CIPHER_CTX_free) *ctx_free;
	__typeof__(EVP_DecryptInit_ex) *decrypt_init;
	__typeof__(EVP_CIPHER_CTX_ctrl) *ctx_ctrl;
	__typeof__(EVP_CIPHER_CTX_set_padding) *set_padding;
	__typeof__(EVP_DecryptUpdate) *decrypt_update;
	__typeof__(EVP_DecryptFinal_ex) *decrypt_final;
	__typeof__(EVP_Q_mac) *q_mac;
	__typeof__(EVP_PKEY_CTX_new_id) *pkey_ctx_new_id;
	__typeof__(EVP_PKEY_CTX_free) *pkey_ctx_free;
	__typeof__(EVP_PKEY_derive_init) *derive_init;
	__typeof__(EVP_PKEY_derive) *derive;
	int (*set_tls1_prf_md)(EVP_PKEY_CTX *ctx, const EVP_MD *md);
	int (*set1_tls1_prf_secret)(EVP_PKEY_CTX *ctx, const unsigned char *sec, int seclen);
	int (*add1_tls1_prf_seed)(EVP_PKEY_CTX *ctx, const unsigned char *seed, int seedlen);
	int (*memcmp)(const void *a, const void *b, size_t len);
};

/* Loads libcrypto and fetches the ciphers. 0, or -1 after one warning line. */
int ps_evp_load(struct ps_evp *evp);
void ps_evp_unload(struct ps_evp *evp);

#endif
