/* SPDX-License-Identifier: MIT */
#include <dlfcn.h>
#include <string.h>
#include <openssl/opensslv.h>
#include "evp.h"
#include "log.h"

#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)
/* the soname of the libcrypto whose headers we were built with */
#define LIBCRYPTO_SONAME "libcrypto.so." STRINGIFY(OPENSSL_SHLIB_VERSION)

/* OpenSSL's algorithm names (EVP_CIPHER_fetch(3), EVP_MD_fetch(3)), by enum ps_bulk_cipher and ps_digest. */
static const char *const cipher_names[PS_BULK_CIPHERS] = {
	"AES-128-GCM", "AES-256-GCM", "ChaCha20-Poly1305", "AES-128-CCM", "AES-256-CCM", "AES-128-CBC", "AES-256-CBC",
};
static const char *const digest_names[PS_DIGESTS] = { "SHA1", "SHA256", "SHA384" };

static int load_symbols(struct ps_evp *evp)
{
	const struct {
		void **slot;
		const char *name;
	} syms[] = {
		{ (void **)&evp->cipher_fetch, "EVP_CIPHER_fetch" },
		{ (void **)&evp->cipher_free, "EVP_CIPHER_free" },
		{ (void **)&evp->md_fetch, "EVP_MD_fetch" },
		{ (void **)&evp->md_free, "EVP_MD_free" },
		{ (void **)&evp->md_size, "EVP_MD_get_size" },
		{ (void **)&evp->ctx_new, "EVP_CIPHER_CTX_new" },
		{ (void **)&evp->ctx_free, "EVP_CIPHER_CTX_free" },
		{ (void **)&evp->decrypt_init, "EVP_DecryptInit_ex" },
		{ (void **)&evp->ctx_ctrl, "EVP_CIPHER_CTX_ctrl" },
		{ (void **)&evp->set_padding, "EVP_CIPHER_CTX_set_padding" },
		{ (void **)&evp->decrypt_update, "EVP_DecryptUpdate" },
		{ (void **)&evp->decrypt_final, "EVP_DecryptFinal_ex" },
		{ (void **)&evp->q_mac, "EVP_Q_mac" },
		{ (void **)&evp->pkey_ctx_new_id, "EVP_PKEY_CTX_new_id" },
		{ (void **)&evp->pkey_ctx_free, "EVP_PKEY_CTX_free" },
		{ (void **)&evp->derive_init, "EVP_PKEY_derive_init" },
		{ (void **)&evp->derive, "EVP_PKEY_derive" },
		{ (void **)&evp->set_tls1_prf_md, "EVP_PKEY_CTX_set_tls1_prf_md" },
		{ (void **)&evp->set1_tls1_prf_secret, "EVP_PKEY_CTX_set1_tls1_prf_secret" },
		{ (void **)&evp->add1_tls1_prf_seed, "EVP_PKEY_CTX_add1_tls1_prf_seed" },
		{ (void **)&evp->memcmp, "CRYPTO_memcmp" },
	};

	for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		*syms[i].slot = dlsym(evp->lib, syms[i].name);
		if (!*syms[i].slot) {
			ps_warn("%s has no %s: wire mode cannot decrypt", LIBCRYPTO_SONAME, syms[i].name);
			return -1;
		}
	}
	return 0;
}

static int fetch_algorithms(struct ps_evp *evp)
{
	for (int i = 0; i < PS_BULK_CIPHERS; i++) {
		evp->ciphers[i] = evp->cipher_fetch(NULL, cipher_names[i], NULL);
		if (!evp->ciphers[i]) {
			ps_warn("%s has no cipher %s: wire mode cannot decrypt", LIBCRYPTO_SONAME, cipher_names[i]);
			return -1;
		}
	}
	for (int i = 0; i < PS_DIGESTS; i++) {
		evp->digests[i] = evp->md_fetch(NULL, digest_names[i], NULL);
		if (!evp->digests[i]) {
			ps_warn("%s has no digest %s: wire mode cannot decrypt", LIBCRYPTO_SONAME, digest_names[i]);
			return -1;
		}
	}
	return 0;
}

int ps_evp_load(struct ps_evp *evp)
{
	memset(evp, 0, sizeof(*evp));
	evp->lib = dlopen(LIBCRYPTO_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!evp->lib) {
		ps_warn("cannot load %s: wire mode cannot decrypt: %s", LIBCRYPTO_SONAME, dlerror());
		return -1;
	}
	if (load_symbols(evp) || fetch_algorithms(evp)) {
		ps_evp_unload(evp);
		return -1;
	}
	return 0;
}

void ps_evp_unload(struct ps_evp *evp)
{
	if (!evp->lib)
		return;
	for (int i = 0; i < PS_BULK_CIPHERS; i++)
		if (evp->ciphers[i])
			evp->cipher_free(evp->ciphers[i]);
	for (int i = 0; i < PS_DIGESTS; i++)
		if (evp->digests[i])
			evp->md_free(evp->digests[i]);
	/* libcrypto stays mapped: hkdf.c holds it too, and unloading it is never safe to assume */
	memset(evp, 0, sizeof(*evp));
}
