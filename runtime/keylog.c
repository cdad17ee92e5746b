/* SPDX-License-Identifier: MIT */
/* SSLKEYLOGFILE lines from secrets events: see keylog.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "fields.h"
#include "hkdf.h"
#include "keylog.h"
#include "output.h"

#define CLIENT_RANDOM_LEN 32
#define MASTER_SECRET_LEN 48
#define TLS1_3_VERSION 0x0304

enum label {
	L_CLIENT_RANDOM,
	L_CLIENT_HS,
	L_SERVER_HS,
	L_CLIENT_TRAFFIC_0,
	L_SERVER_TRAFFIC_0,
	L_EXPORTER,
};

static const char *const label_names[] = {
	[L_CLIENT_RANDOM] = "CLIENT_RANDOM",
	[L_CLIENT_HS] = "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
	[L_SERVER_HS] = "SERVER_HANDSHAKE_TRAFFIC_SECRET",
	[L_CLIENT_TRAFFIC_0] = "CLIENT_TRAFFIC_SECRET_0",
	[L_SERVER_TRAFFIC_0] = "SERVER_TRAFFIC_SECRET_0",
	[L_EXPORTER] = "EXPORTER_SECRET",
};

/* The lines written so far: an open-addressing set of (label, client random). */
struct seen {
	uint8_t used;
	uint8_t label;
	uint8_t client_random[CLIENT_RANDOM_LEN];
};

struct ps_keylog {
	struct seen *slots;
	size_t cap, n;
};

struct ps_keylog *ps_keylog_new(void)
{
	return calloc(1, sizeof(struct ps_keylog));
}

void ps_keylog_free(struct ps_keylog *kl)
{
	if (!kl)
		return;
	free(kl->slots);
	free(kl);
}

static size_t slot_of(const struct seen *key, size_t cap)
{
	uint64_t h = 1469598103934665603ull ^ key->label;   /* FNV-1a */

	for (size_t i = 0; i < CLIENT_RANDOM_LEN; i++)
		h = (h ^ key->client_random[i]) * 1099511628211ull;
	return (size_t)(h & (cap - 1));
}

static struct seen *find_slot(struct seen *slots, size_t cap, const struct seen *key)
{
	size_t i = slot_of(key, cap);

	while (slots[i].used && (slots[i].label != key->label ||
				 memcmp(slots[i].client_random, key->client_random, CLIENT_RANDOM_LEN) != 0))
		i = (i + 1) & (cap - 1);
	return &slots[i];
}

/* Adds (label, client random); false when it was there already. */
static bool remember(struct ps_keylog *kl, enum label label, const uint8_t *client_random)
{
	struct seen key = { .used = 1, .label = (uint8_t)label };
	struct seen *slot;

	memcpy(key.client_random, client_random, CLIENT_RANDOM_LEN);
	if ((kl->n + 1) * 2 > kl->cap) {
		size_t cap = kl->cap ? kl->cap * 2 : 256;
		struct seen *slots = calloc(cap, sizeof(*slots));

		if (!slots)
			return true;   /* no memory: a repeat line is better than a lost one */
		for (size_t i = 0; i < kl->cap; i++)
			if (kl->slots[i].used)
				*find_slot(slots, cap, &kl->slots[i]) = kl->slots[i];
		free(kl->slots);
		kl->slots = slots;
		kl->cap = cap;
	}
	slot = find_slot(kl->slots, kl->cap, &key);
	if (slot->used)
		return false;
	*slot = key;
	kl->n++;
	return true;
}

static const struct ps_field_desc *field_named(const struct ps_event_desc *event, const char *name)
{
	for (uint32_t i = 0; i < event->n_fields; i++)
		if (strcmp(event->fields[i].name, name) == 0)
			return &event->fields[i];
	return NULL;
}

bool ps_keylog_is_secrets_event(const struct ps_event_desc *event)
{
	const struct ps_field_desc *f = field_named(event, "client_random");

	return f && f->kind == PS_FIELD_FIXED_BYTES && f->size == CLIENT_RANDOM_LEN;
}

/* A u8[N] field of at least len bytes, present and not all zero; else NULL. */
static const uint8_t *secret_field(const struct ps_record *rec, const char *name, size_t len)
{
	const struct ps_field_desc *f = field_named(rec->event, name);
	const uint8_t *p;

	if (!f || f->size < len || !(p = ps_field_fixed_bytes(f, rec)))
		return NULL;
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return p;
	return NULL;
}

static bool int_field(const struct ps_record *rec, const char *name, int64_t *value)
{
	const struct ps_field_desc *f = field_named(rec->event, name);

	return f && ps_field_int(f, rec, value) == 0;
}

/* RFC 8446 appendix B.4 and RFC 8998: the hash each TLS 1.3 suite names; 0 when unknown. */
static size_t tls13_hash_len(int64_t cipher)
{
	switch (cipher & 0xffff) {
	case 0x1301: /* TLS_AES_128_GCM_SHA256 */
	case 0x1303: /* TLS_CHACHA20_POLY1305_SHA256 */
	case 0x1304: /* TLS_AES_128_CCM_SHA256 */
	case 0x1305: /* TLS_AES_128_CCM_8_SHA256 */
		return 32;
	case 0x1302: /* TLS_AES_256_GCM_SHA384 */
		return 48;
	}
	return 0;
}

static int write_line(struct ps_keylog *kl, FILE *f, enum label label, const uint8_t *client_random,
		      const uint8_t *secret, size_t len)
{
	if (!remember(kl, label, client_random))
		return 0;
	fprintf(f, "%s ", label_names[label]);
	ps_format_hex(f, client_random, CLIENT_RANDOM_LEN);
	fputc(' ', f);
	ps_format_hex(f, secret, len);
	fputc('\n', f);
	if (fflush(f) != 0 || ferror(f))
		return errno ? -errno : -EIO;
	return 1;
}

/* A handshake traffic secret: kept by the library, or derived from the handshake secret. */
static int write_handshake_secret(struct ps_keylog *kl, FILE *f, const struct ps_record *rec, enum label label,
				  const uint8_t *client_random, size_t hash_len)
{
	const char *kept = label == L_CLIENT_HS ? "client_handshake_traffic_secret" : "server_handshake_traffic_secret";
	const uint8_t *secret = secret_field(rec, kept, hash_len), *hs, *hash;
	uint8_t derived[64];

	if (secret)
		return write_line(kl, f, label, client_random, secret, hash_len);
	hs = secret_field(rec, "handshake_secret", hash_len);
	hash = secret_field(rec, "handshake_hash", hash_len);
	if (!hs || !hash)
		return 0;
	if (ps_hkdf_expand_label(hash_len, hs, hash_len, label == L_CLIENT_HS ? "c hs traffic" : "s hs traffic", hash,
				 hash_len, derived, hash_len) < 0)
		return 0;
	return write_line(kl, f, label, client_random, derived, hash_len);
}

int ps_keylog_write(struct ps_keylog *kl, FILE *f, const struct ps_record *rec)
{
	static const struct {
		enum label label;
		const char *field;
	} tls13[] = {
		{ L_CLIENT_TRAFFIC_0, "client_traffic_secret_0" },
		{ L_SERVER_TRAFFIC_0, "server_traffic_secret_0" },
		{ L_EXPORTER, "exporter_secret" },
	};
	const uint8_t *client_random, *secret;
	int64_t version = 0, cipher = 0, master_len = MASTER_SECRET_LEN;
	size_t hash_len;
	int n = 0, r;

	if (!ps_keylog_is_secrets_event(rec->event) ||
	    !(client_random = secret_field(rec, "client_random", CLIENT_RANDOM_LEN)))
		return 0;
	int_field(rec, "version", &version);
	int_field(rec, "cipher", &cipher);
	if (version != TLS1_3_VERSION) {
		/* TLS 1.2 and below (SSL 3.0's master secret is 48 bytes too) */
		if (!int_field(rec, "master_secret_length", &master_len))
			master_len = MASTER_SECRET_LEN;
		if (master_len <= 0 || master_len > MASTER_SECRET_LEN ||
		    !(secret = secret_field(rec, "master_secret", (size_t)master_len)))
			return 0;
		return write_line(kl, f, L_CLIENT_RANDOM, client_random, secret, (size_t)master_len);
	}
	hash_len = tls13_hash_len(cipher);
	if (!hash_len)
		return 0;
	for (enum label l = L_CLIENT_HS; l <= L_SERVER_HS; l++) {
		r = write_handshake_secret(kl, f, rec, l, client_random, hash_len);
		if (r < 0)
			return r;
		n += r;
	}
	for (size_t i = 0; i < sizeof(tls13) / sizeof(tls13[0]); i++) {
		secret = secret_field(rec, tls13[i].field, hash_len);
		if (!secret)
			continue;
		r = write_line(kl, f, tls13[i].label, client_random, secret, hash_len);
		if (r < 0)
			return r;
		n += r;
	}
	return n;
}
