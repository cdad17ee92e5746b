/* SPDX-License-Identifier: MIT */
#include <dlfcn.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/opensslv.h>
#include "hkdf.h"
#include "log.h"

#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)
/* the soname of the libcrypto whose headers we were built with */
#define LIBCRYPTO_SONAME "libcrypto.so." STRINGIFY(OPENSSL_SHLIB_VERSION)

/*
 * Only libraries that keep the handshake secret but not the handshake
 * traffic secrets need HKDF, and only once per connection: libcrypto (1.4
 * MiB resident, and its start-up) is loaded the first time, not with us.
 */
static struct {
	__typeof__(EVP_sha256) *sha256;
	__typeof__(EVP_sha384) *sha384;
	__typeof__(EVP_PKEY_CTX_new_id) *ctx_new_id;
	__typeof__(EVP_PKEY_derive_init) *derive_init;
	__typeof__(EVP_PKEY_CTX_set_hkdf_mode) *set_hkdf_mode;
	__typeof__(EVP_PKEY_CTX_set_hkdf_md) *set_hkdf_md;
	__typeof__(EVP_PKEY_CTX_set1_hkdf_key) *set1_hkdf_key;
	__typeof__(EVP_PKEY_CTX_add1_hkdf_info) *add1_hkdf_info;
	__typeof__(EVP_PKEY_derive) *derive;
	__typeof__(EVP_PKEY_CTX_free) *ctx_free;
} crypto;

static int load_libcrypto(void)
{
	static int state;       /* 0: not tried, 1: loaded, -1: failed */
	const struct {
		void **slot;
		const char *name;
	} syms[] = {
		{ (void **)&crypto.sha256, "EVP_sha256" },
		{ (void **)&crypto.sha384, "EVP_sha384" },
		{ (void **)&crypto.ctx_new_id, "EVP_PKEY_CTX_new_id" },
		{ (void **)&crypto.derive_init, "EVP_PKEY_derive_init" },
		{ (void **)&crypto.set_hkdf_mode, "EVP_PKEY_CTX_set_hkdf_mode" },
		{ (void **)&crypto.set_hkdf_md, "EVP_PKEY_CTX_set_hkdf_md" },
		{ (void **)&crypto.set1_hkdf_key, "EVP_PKEY_CTX_set1_hkdf_key" },
		{ (void **)&crypto.add1_hkdf_info, "EVP_PKEY_CTX_add1_hkdf_info" },
		{ (void **)&crypto.derive, "EVP_PKEY_derive" },
		{ (void **)&crypto.ctx_free, "EVP_PKEY_CTX_free" },
	};
	void *lib;

	if (state)
		return state > 0 ? 0 : -1;
	state = -1;
	lib = dlopen(LIBCRYPTO_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		ps_warn("cannot load %s for HKDF (TLS 1.3 handshake secrets are not derived): %s", LIBCRYPTO_SONAME,
			dlerror());
		return -1;
	}
	for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		*syms[i].slot = dlsym(lib, syms[i].name);
		if (!*syms[i].slot) {
			ps_warn("%s has no %s: TLS 1.3 handshake secrets are not derived", LIBCRYPTO_SONAME,
				syms[i].name);
			return -1;
		}
	}
	state = 1;     /* stays loaded: later connections derive too */
	return 0;
}

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
	if (context_len)  /* an empty context may come as NULL */
		memcpy(buf + n, context, context_len);
	return n + context_len;
}

int ps_hkdf_expand_label(size_t hash_len, const uint8_t *secret, size_t secret_len, const char *label,
			 const uint8_t *context, size_t context_len, uint8_t *out, size_t out_len)
{
	uint8_t info[4 + 255 + 255];
	size_t info_len = hkdf_label(info, sizeof(info), out_len, label, context, context_len);
	size_t got = out_len;
	const EVP_MD *md;
	EVP_PKEY_CTX *ctx;
	int ok;

	if ((hash_len != 32 && hash_len != 48) || !info_len || load_libcrypto())
		return -1;
	md = hash_len == 32 ? crypto.sha256() : crypto.sha384();
	ctx = crypto.ctx_new_id(EVP_PKEY_HKDF, NULL);
	if (!md || !ctx) {
		crypto.ctx_free(ctx);
		return -1;
	}
	ok = crypto.derive_init(ctx) > 0 && crypto.set_hkdf_mode(ctx, EVP_PKEY_HKDEF_MODE_EXPAND_ONLY) > 0 &&
	     crypto.set_hkdf_md(ctx, md) > 0 && crypto.set1_hkdf_key(ctx, secret, (int)secret_len) > 0 &&
	     crypto.add1_hkdf_info(ctx, info, (int)info_len) > 0 && crypto.derive(ctx, out, &got) > 0 &&
	     got == out_len;
	crypto.ctx_free(ctx);
	return ok ? 0 : -1;
}
