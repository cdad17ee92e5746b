/* SPDX-License-Identifier: MIT */
#include <string.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include "hkdf.h"

/* struct HkdfLabel of RFC 8446 section 7.1: length, "tls13 " + label, context. */
static size_t hkdf_label(uint8_t *buf, size_t size, size_t out_len, const char *label, const uint8_t *context,
			 size_t context_len)
{
	static const char prefix[] = "tls13 ";
	size_t label_len = strlen(prefix) + strlen(label), n = 0;

	if (label_len > 255 || context_len > 255 || 4 + label_len + context_len > size || out_len > 0xffff)
		return 0;
	buf[n++] = (uint8_t)(out_len >> 8);
	buf[n++] = (uint8_t)out_len;
	buf[n++] = (uint8_t)label_len;
	memcpy(buf + n, prefix, strlen(prefix));
	n += strlen(prefix);
	memcpy(buf + n, label, strlen(label));
	n += strlen(label);
	buf[n++] = (uint8_t)context_len;
	memcpy(buf + n, context, context_len);
	return n + context_len;
}

int ps_hkdf_expand_label(size_t hash_len, const uint8_t *secret, size_t secret_len, const char *label,
			 const uint8_t *context, size_t context_len, uint8_t *out, size_t out_len)
{
	const EVP_MD *md = hash_len == 32 ? EVP_sha256() : hash_len == 48 ? EVP_sha384() : NULL;
	uint8_t info[4 + 255 + 255];
	size_t info_len = hkdf_label(info, sizeof(info), out_len, label, context, context_len);
	size_t got = out_len;
	EVP_PKEY_CTX *ctx;
	int ok;

	if (!md || !info_len)
		return -1;
	ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
	if (!ctx)
		return -1;
	ok = EVP_PKEY_derive_init(ctx) > 0 && EVP_PKEY_CTX_hkdf_mode(ctx, EVP_PKEY_HKDEF_MODE_EXPAND_ONLY) > 0 &&
	     EVP_PKEY_CTX_set_hkdf_md(ctx, md) > 0 && EVP_PKEY_CTX_set1_hkdf_key(ctx, secret, (int)secret_len) > 0 &&
	     EVP_PKEY_CTX_add1_hkdf_info(ctx, info, (int)info_len) > 0 && EVP_PKEY_derive(ctx, out, &got) > 0 &&
	     got == out_len;
	EVP_PKEY_CTX_free(ctx);
	return ok ? 0 : -1;
}
