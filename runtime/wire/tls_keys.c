/* SPDX-License-Identifier: MIT */
#include <string.h>
#include <openssl/kdf.h>
#include "hkdf.h"
#include "tls_keys.h"

#define AEAD13(id_, cipher_, key_, tag_, digest_) \
	{ .id = id_, .tls13 = true, .mode = PS_TLS_AEAD, .cipher = cipher_, .key_len = key_, .fixed_iv_len = 12, \
	  .tag_len = tag_, .prf_digest = digest_ }
#define AEAD12(id_, cipher_, key_, iv_, tag_, digest_) \
	{ .id = id_, .mode = PS_TLS_AEAD, .cipher = cipher_, .key_len = key_, .fixed_iv_len = iv_, .tag_len = tag_, \
	  .prf_digest = digest_ }
#define CBC12(id_, cipher_, key_, mac_, mac_len_, prf_) \
	{ .id = id_, .mode = PS_TLS_CBC, .cipher = cipher_, .key_len = key_, .mac_digest = mac_, .mac_len = mac_len_, \
	  .prf_digest = prf_ }

/*
 * Suite numbers from the IANA TLS Cipher Suites registry; the record
 * protection of each from its RFC: 8446 (1.3), 5288 and 5289 (GCM), 7905
 * (ChaCha20-Poly1305), 6655 and 7251 (CCM), 5246 and 5289 (CBC). The key
 * exchange (RSA, DHE, ECDHE) does not matter here: the master secret is given.
 */
static const struct ps_tls_suite suites[] = {
	AEAD13(0x1301, PS_BULK_AES_128_GCM, 16, 16, PS_DIGEST_SHA256),
	AEAD13(0x1302, PS_BULK_AES_256_GCM, 32, 16, PS_DIGEST_SHA384),
	AEAD13(0x1303, PS_BULK_CHACHA20_POLY1305, 32, 16, PS_DIGEST_SHA256),
	AEAD13(0x1304, PS_BULK_AES_128_CCM, 16, 16, PS_DIGEST_SHA256),
	AEAD13(0x1305, PS_BULK_AES_128_CCM, 16, 8, PS_DIGEST_SHA256),
	/* 1.2 AES-GCM: RSA, DHE_RSA, ECDHE_ECDSA, ECDHE_RSA */
	AEAD12(0x009c, PS_BULK_AES_128_GCM, 16, 4, 16, PS_DIGEST_SHA256),
	AEAD12(0x009d, PS_BULK_AES_256_GCM, 32, 4, 16, PS_DIGEST_SHA384),
	AEAD12(0x009e, PS_BULK_AES_128_GCM, 16, 4, 16, PS_DIGEST_SHA256),
	AEAD12(0x009f, PS_BULK_AES_256_GCM, 32, 4, 16, PS_DIGEST_SHA384),
	AEAD12(0xc02b, PS_BULK_AES_128_GCM, 16, 4, 16, PS_DIGEST_SHA256),
	AEAD12(0xc02c, PS_BULK_AES_256_GCM, 32, 4, 16, PS_DIGEST_SHA384),
	AEAD12(0xc02f, PS_BULK_AES_128_GCM, 16, 4, 16, PS_DIGEST_SHA256),
	AEAD12(0xc030, PS_BULK_AES_256_GCM, 32, 4, 16, PS_DIGEST_SHA384),
	/* 1.2 ChaCha20-Poly1305: ECDHE_RSA, ECDHE_ECDSA, DHE_RSA */
	AEAD12(0xcca8, PS_BULK_CHACHA20_POLY1305, 32, 12, 16, PS_DIGEST_SHA256),
	AEAD12(0xcca9, PS_BULK_CHACHA20_POLY1305, 32, 12, 16, PS_DIGEST_SHA256),
	AEAD12(0xccaa, PS_BULK_CHACHA20_POLY1305, 32, 12, 16, PS_DIGEST_SHA256),
	/* 1.2 AES-CCM (and CCM_8): RSA, DHE_RSA, ECDHE_ECDSA */
	AEAD12(0xc09c, PS_BULK_AES_128_CCM, 16, 4, 16, PS_DIGEST_SHA256),
	AEAD12(0xc09d, PS_BULK_AES_256_CCM, 32, 4, 16, PS_DIGEST_SHA256),
	AEAD12(0xc09e, PS_BULK_AES_128_CCM, 16, 4, 16, PS_DIGEST_SHA256),
	AEAD12(0xc09f, PS_BULK_AES_256_CCM, 32, 4, 16, PS_DIGEST_SHA256),
	AEAD12(0xc0a0, PS_BULK_AES_128_CCM, 16, 4, 8, PS_DIGEST_SHA256),
	AEAD12(0xc0a1, PS_BULK_AES_256_CCM, 32, 4, 8, PS_DIGEST_SHA256),
	AEAD12(0xc0ac, PS_BULK_AES_128_CCM, 16, 4, 16, PS_DIGEST_SHA256),
	AEAD12(0xc0ad, PS_BULK_AES_256_CCM, 32, 4, 16, PS_DIGEST_SHA256),
	AEAD12(0xc0ae, PS_BULK_AES_128_CCM, 16, 4, 8, PS_DIGEST_SHA256),
	AEAD12(0xc0af, PS_BULK_AES_256_CCM, 32, 4, 8, PS_DIGEST_SHA256),
	/* 1.2 AES-CBC with HMAC-SHA1: RSA, DHE_RSA, ECDHE_ECDSA, ECDHE_RSA */
	CBC12(0x002f, PS_BULK_AES_128_CBC, 16, PS_DIGEST_SHA1, 20, PS_DIGEST_SHA256),
	CBC12(0x0035, PS_BULK_AES_256_CBC, 32, PS_DIGEST_SHA1, 20, PS_DIGEST_SHA256),
	CBC12(0x0033, PS_BULK_AES_128_CBC, 16, PS_DIGEST_SHA1, 20, PS_DIGEST_SHA256),
	CBC12(0x0039, PS_BULK_AES_256_CBC, 32, PS_DIGEST_SHA1, 20, PS_DIGEST_SHA256),
	CBC12(0xc009, PS_BULK_AES_128_CBC, 16, PS_DIGEST_SHA1, 20, PS_DIGEST_SHA256),
	CBC12(0xc00a, PS_BULK_AES_256_CBC, 32, PS_DIGEST_SHA1, 20, PS_DIGEST_SHA256),
	CBC12(0xc013, PS_BULK_AES_128_CBC, 16, PS_DIGEST_SHA1, 20, PS_DIGEST_SHA256),
	CBC12(0xc014, PS_BULK_AES_256_CBC, 32, PS_DIGEST_SHA1, 20, PS_DIGEST_SHA256),
	/* HMAC-SHA256 and -SHA384 (RFC 5246, 5289) */
	CBC12(0x003c, PS_BULK_AES_128_CBC, 16, PS_DIGEST_SHA256, 32, PS_DIGEST_SHA256),
	CBC12(0x003d, PS_BULK_AES_256_CBC, 32, PS_DIGEST_SHA256, 32, PS_DIGEST_SHA256),
	CBC12(0x0067, PS_BULK_AES_128_CBC, 16, PS_DIGEST_SHA256, 32, PS_DIGEST_SHA256),
	CBC12(0x006b, PS_BULK_AES_256_CBC, 32, PS_DIGEST_SHA256, 32, PS_DIGEST_SHA256),
	CBC12(0xc023, PS_BULK_AES_128_CBC, 16, PS_DIGEST_SHA256, 32, PS_DIGEST_SHA256),
	CBC12(0xc024, PS_BULK_AES_256_CBC, 32, PS_DIGEST_SHA384, 48, PS_DIGEST_SHA384),
	CBC12(0xc027, PS_BULK_AES_128_CBC, 16, PS_DIGEST_SHA256, 32, PS_DIGEST_SHA256),
	CBC12(0xc028, PS_BULK_AES_256_CBC, 32, PS_DIGEST_SHA384, 48, PS_DIGEST_SHA384),
};

const struct ps_tls_suite *ps_tls_suite_find(uint16_t id)
{
	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
		if (suites[i].id == id)
			return &suites[i];
	return NULL;
}

size_t ps_tls_digest_len(enum ps_digest digest)
{
	return digest == PS_DIGEST_SHA1 ? 20 : digest == PS_DIGEST_SHA256 ? 32 : 48;
}

int ps_tls13_keys(const struct ps_tls_suite *suite, const uint8_t *secret, struct ps_tls_keys *out)
{
	size_t hash_len = ps_tls_digest_len(suite->prf_digest);

	memset(out, 0, sizeof(*out));
	if (ps_hkdf_expand_label(hash_len, secret, hash_len, "key", NULL, 0, out->key, suite->key_len) ||
	    ps_hkdf_expand_label(hash_len, secret, hash_len, "iv", NULL, 0, out->iv, 12))
		return -1;
	return 0;
}

int ps_tls13_next_secret(const struct ps_tls_suite *suite, const uint8_t *secret, uint8_t *next)
{
	size_t hash_len = ps_tls_digest_len(suite->prf_digest);

	return ps_hkdf_expand_label(hash_len, secret, hash_len, "traffic upd", NULL, 0, next, hash_len);
}

static int tls12_prf(const struct ps_evp *evp, const EVP_MD *md, const uint8_t *secret, size_t secret_len,
		     const uint8_t *seed, size_t seed_len, uint8_t *out, size_t out_len)
{
	EVP_PKEY_CTX *ctx = evp->pkey_ctx_new_id(EVP_PKEY_TLS1_PRF, NULL);
	size_t got = out_len;
	int ok;

	if (!ctx)
		return -1;
	ok = evp->derive_init(ctx) > 0 && evp->set_tls1_prf_md(ctx, md) > 0 &&
	     evp->set1_tls1_prf_secret(ctx, secret, (int)secret_len) > 0 &&
	     evp->add1_tls1_prf_seed(ctx, seed, (int)seed_len) > 0 && evp->derive(ctx, out, &got) > 0 &&
	     got == out_len;
	evp->pkey_ctx_free(ctx);
	return ok ? 0 : -1;
}

int ps_tls12_keys(const struct ps_evp *evp, const struct ps_tls_suite *suite, const uint8_t *master, size_t master_len,
		  const uint8_t client_random[32], const uint8_t server_random[32], bool client, struct ps_tls_keys *out)
{
	static const char label[] = "key expansion";
	uint8_t seed[sizeof(label) - 1 + 64];
	uint8_t block[2 * (PS_TLS_MAX_MAC_KEY + PS_TLS_MAX_KEY + PS_TLS_MAX_IV)];
	size_t mac = suite->mode == PS_TLS_CBC ? suite->mac_len : 0;
	size_t key = suite->key_len, iv = suite->fixed_iv_len;
	size_t mine = client ? 0 : 1;

	memcpy(seed, label, sizeof(label) - 1);
	memcpy(seed + sizeof(label) - 1, server_random, 32);
	memcpy(seed + sizeof(label) - 1 + 32, client_random, 32);
	if (tls12_prf(evp, evp->digests[suite->prf_digest], master, master_len, seed, sizeof(seed), block,
		      2 * (mac + key + iv)))
		return -1;
	memset(out, 0, sizeof(*out));
	memcpy(out->mac_key, block + mine * mac, mac);
	memcpy(out->key, block + 2 * mac + mine * key, key);
	memcpy(out->iv, block + 2 * mac + 2 * key + mine * iv, iv);
	return 0;
}
