/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "tls_decrypt.h"

#define NONCE_LEN 12
#define EXPLICIT_NONCE_LEN 8
#define CBC_BLOCK 16

static bool is_ccm(const struct ps_tls_suite *s)
{
	return s->cipher == PS_BULK_AES_128_CCM || s->cipher == PS_BULK_AES_256_CCM;
}

int ps_tls_cipher_init(struct ps_tls_cipher *c, const struct ps_evp *evp, const struct ps_tls_suite *suite,
		       bool encrypt_then_mac, const struct ps_tls_keys *keys)
{
	memset(c, 0, sizeof(*c));
	c->evp = evp;
	c->suite = suite;
	c->encrypt_then_mac = encrypt_then_mac;
	c->keys = *keys;
	c->ctx = evp->ctx_new();
	if (!c->ctx)
		return -ENOMEM;
	/* GCM and ChaCha20-Poly1305 keep the key and take a nonce per record; CCM and CBC start over each time */
	if (suite->mode == PS_TLS_AEAD && !is_ccm(suite) &&
	    evp->decrypt_init(c->ctx, evp->ciphers[suite->cipher], NULL, c->keys.key, NULL) <= 0) {
		ps_tls_cipher_free(c);
		return -EINVAL;
	}
	return 0;
}

void ps_tls_cipher_free(struct ps_tls_cipher *c)
{
	if (c->ctx)
		c->evp->ctx_free(c->ctx);
	c->ctx = NULL;
	memset(&c->keys, 0, sizeof(c->keys));
}

/* RFC 8446 section 5.3, RFC 7905 section 2: the IV XOR the sequence number, left-padded. */
static void xor_nonce(const uint8_t iv[NONCE_LEN], uint64_t seq, uint8_t nonce[NONCE_LEN])
{
	memcpy(nonce, iv, NONCE_LEN);
	for (int i = 0; i < 8; i++)
		nonce[NONCE_LEN - 1 - i] ^= (uint8_t)(seq >> (8 * i));
}

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

/* TLS 1.2's additional data and MAC header: seq_num + type + version + length (RFC 5246 section 6.2.3.3). */
static void tls12_header(uint8_t out[13], uint64_t seq, const struct ps_tls_record *rec, size_t len)
{
	put_be64(out, seq);
	out[8] = rec->type;
	out[9] = (uint8_t)(rec->version >> 8);
	out[10] = (uint8_t)rec->version;
	out[11] = (uint8_t)(len >> 8);
	out[12] = (uint8_t)len;
}

struct aead_input {
	const uint8_t *nonce, *aad, *ciphertext, *tag;
	size_t aad_len, len;
};

static int aead_open_ccm(struct ps_tls_cipher *c, const struct aead_input *in, uint8_t *out)
{
	const struct ps_evp *evp = c->evp;
	EVP_CIPHER_CTX *ctx = c->ctx;
	int n;

	if (evp->decrypt_init(ctx, evp->ciphers[c->suite->cipher], NULL, NULL, NULL) <= 0 ||
	    evp->ctx_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, NONCE_LEN, NULL) <= 0 ||
	    evp->ctx_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, c->suite->tag_len, (void *)in->tag) <= 0 ||
	    evp->decrypt_init(ctx, NULL, NULL, c->keys.key, in->nonce) <= 0 ||
	    evp->decrypt_update(ctx, NULL, &n, NULL, (int)in->len) <= 0 ||
	    evp->decrypt_update(ctx, NULL, &n, in->aad, (int)in->aad_len) <= 0)
		return -EBADMSG;
	/* CCM checks the tag in the one update of the whole ciphertext */
	return evp->decrypt_update(ctx, out, &n, in->ciphertext, (int)in->len) > 0 ? 0 : -EBADMSG;
}

static int aead_open(struct ps_tls_cipher *c, const struct aead_input *in, uint8_t *out)
{
	const struct ps_evp *evp = c->evp;
	EVP_CIPHER_CTX *ctx = c->ctx;
	int n, last;

	if (is_ccm(c->suite))
		return aead_open_ccm(c, in, out);
	if (evp->decrypt_init(ctx, NULL, NULL, NULL, in->nonce) <= 0 ||
	    evp->decrypt_update(ctx, NULL, &n, in->aad, (int)in->aad_len) <= 0 ||
	    (in->len && evp->decrypt_update(ctx, out, &n, in->ciphertext, (int)in->len) <= 0) ||
	    evp->ctx_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, c->suite->tag_len, (void *)in->tag) <= 0 ||
	    evp->decrypt_final(ctx, out + (in->len ? n : 0), &last) <= 0)
		return -EBADMSG;
	return 0;
}

/* TLSInnerPlaintext (RFC 8446 section 5.2): content, the real type, then zeros. */
static int strip_inner_padding(const uint8_t *plain, size_t *len, uint8_t *type)
{
	while (*len && plain[*len - 1] == 0)
		(*len)--;
	if (!*len)
		return -EBADMSG;  /* all zeros: an unexpected_message for the peer */
	*type = plain[--*len];
	return 0;
}

static int decrypt_tls13(struct ps_tls_cipher *c, uint64_t seq, const struct ps_tls_record *rec, uint8_t *out,
			 size_t *out_len, uint8_t *type)
{
	uint8_t nonce[NONCE_LEN], aad[PS_TLS_HEADER_LEN];
	size_t tag = c->suite->tag_len;
	int err;

	if (rec->len < tag + 1)
		return -EINVAL;
	xor_nonce(c->keys.iv, seq, nonce);
	aad[0] = rec->type;
	aad[1] = (uint8_t)(rec->version >> 8);
	aad[2] = (uint8_t)rec->version;
	aad[3] = (uint8_t)(rec->len >> 8);
	aad[4] = (uint8_t)rec->len;
	err = aead_open(c, &(struct aead_input){ .nonce = nonce, .aad = aad, .aad_len = sizeof(aad),
						 .ciphertext = rec->fragment, .len = rec->len - tag,
						 .tag = rec->fragment + rec->len - tag }, out);
	if (err)
		return err;
	*out_len = rec->len - tag;
	return strip_inner_padding(out, out_len, type);
}

static int decrypt_tls12_aead(struct ps_tls_cipher *c, uint64_t seq, const struct ps_tls_record *rec, uint8_t *out,
			      size_t *out_len, uint8_t *type)
{
	uint8_t nonce[NONCE_LEN], aad[13];
	size_t tag = c->suite->tag_len;
	size_t explicit_len = c->suite->fixed_iv_len == NONCE_LEN ? 0 : EXPLICIT_NONCE_LEN;
	size_t len;
	int err;

	if (rec->len < explicit_len + tag)
		return -EINVAL;
	len = rec->len - explicit_len - tag;
	if (explicit_len) {         /* salt from the key block, then the record's explicit part */
		memcpy(nonce, c->keys.iv, 4);
		memcpy(nonce + 4, rec->fragment, EXPLICIT_NONCE_LEN);
	} else {
		xor_nonce(c->keys.iv, seq, nonce);
	}
	tls12_header(aad, seq, rec, len);
	err = aead_open(c, &(struct aead_input){ .nonce = nonce, .aad = aad, .aad_len = sizeof(aad),
						 .ciphertext = rec->fragment + explicit_len, .len = len,
						 .tag = rec->fragment + rec->len - tag }, out);
	if (err)
		return err;
	*out_len = len;
	*type = rec->type;
	return 0;
}

static int hmac(const struct ps_tls_cipher *c, const uint8_t header[13], const uint8_t *data, size_t len,
		uint8_t *mac)
{
	static const char *const digest_names[PS_DIGESTS] = { "SHA1", "SHA256", "SHA384" };
	uint8_t *input = malloc(13 + len);
	size_t got = 0;
	int ok;

	if (!input)
		return -ENOMEM;
	memcpy(input, header, 13);
	memcpy(input + 13, data, len);
	ok = c->evp->q_mac(NULL, "HMAC", NULL, digest_names[c->suite->mac_digest], NULL, c->keys.mac_key,
			   c->suite->mac_len, input, 13 + len, mac, PS_TLS_MAX_MAC_KEY, &got) != NULL &&
	     got == c->suite->mac_len;
	free(input);
	return ok ? 0 : -EBADMSG;
}

/* AES-CBC without libcrypto's padding check: TLS padding is checked by the caller. */
static int cbc_decrypt(struct ps_tls_cipher *c, const uint8_t *iv, const uint8_t *in, size_t len, uint8_t *out)
{
	const struct ps_evp *evp = c->evp;
	int n, last;

	if (evp->decrypt_init(c->ctx, evp->ciphers[c->suite->cipher], NULL, c->keys.key, iv) <= 0 ||
	    evp->set_padding(c->ctx, 0) <= 0 || evp->decrypt_update(c->ctx, out, &n, in, (int)len) <= 0 ||
	    evp->decrypt_final(c->ctx, out + n, &last) <= 0)
		return -EBADMSG;
	return 0;
}

/* GenericBlockCipher's padding: padding_length + 1 bytes, each padding_length. */
static int strip_cbc_padding(const uint8_t *plain, size_t *len)
{
	uint8_t pad = plain[*len - 1];

	if ((size_t)pad + 1 > *len)
		return -EBADMSG;
	for (size_t i = *len - 1 - pad; i < *len - 1; i++)
		if (plain[i] != pad)
			return -EBADMSG;
	*len -= (size_t)pad + 1;
	return 0;
}

static int decrypt_tls12_cbc(struct ps_tls_cipher *c, uint64_t seq, const struct ps_tls_record *rec, uint8_t *out,
			     size_t *out_len, uint8_t *type)
{
	size_t mac_len = c->suite->mac_len, body = rec->len - (c->encrypt_then_mac ? mac_len : 0);
	uint8_t header[13], mac[PS_TLS_MAX_MAC_KEY];
	size_t len;
	int err;

	if (rec->len < CBC_BLOCK + mac_len || (body - CBC_BLOCK) % CBC_BLOCK || body <= CBC_BLOCK)
		return -EINVAL;
	if (c->encrypt_then_mac) {  /* RFC 7366 section 3: the MAC covers IV and ciphertext */
		tls12_header(header, seq, rec, body);
		if ((err = hmac(c, header, rec->fragment, body, mac)) != 0)
			return err;
		if (c->evp->memcmp(mac, rec->fragment + body, mac_len))
			return -EBADMSG;
	}
	len = body - CBC_BLOCK;
	if ((err = cbc_decrypt(c, rec->fragment, rec->fragment + CBC_BLOCK, len, out)) != 0 ||
	    (err = strip_cbc_padding(out, &len)) != 0)
		return err;
	if (!c->encrypt_then_mac) {
		if (len < mac_len)
			return -EBADMSG;
		len -= mac_len;
		tls12_header(header, seq, rec, len);
		if ((err = hmac(c, header, out, len, mac)) != 0)
			return err;
		if (c->evp->memcmp(mac, out + len, mac_len))
			return -EBADMSG;
	}
	*out_len = len;
	*type = rec->type;
	return 0;
}

int ps_tls_decrypt_at(struct ps_tls_cipher *c, uint64_t seq, const struct ps_tls_record *rec, uint8_t *out,
		      size_t *out_len, uint8_t *type)
{
	if (c->suite->tls13)
		return decrypt_tls13(c, seq, rec, out, out_len, type);
	if (c->suite->mode == PS_TLS_AEAD)
		return decrypt_tls12_aead(c, seq, rec, out, out_len, type);
	return decrypt_tls12_cbc(c, seq, rec, out, out_len, type);
}

int ps_tls_decrypt(struct ps_tls_cipher *c, const struct ps_tls_record *rec, uint8_t *out, size_t *out_len,
		   uint8_t *type)
{
	/* a record that fails still took its number: the next one is read at the next */
	return ps_tls_decrypt_at(c, c->seq++, rec, out, out_len, type);
}
