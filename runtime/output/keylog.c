/* SPDX-License-Identifier: MIT */
/* SSLKEYLOGFILE lines from secrets events: see keylog.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "fields.h"
#include "hkdf.h"
#include "keylog.h"
#include "output.h"

#define MASTER_SECRET_LEN 48
#define TLS1_3_VERSION 0x0304

static const char *const label_names[] = {
	[PS_SECRET_MASTER] = "CLIENT_RANDOM",
	[PS_SECRET_CLIENT_HS] = "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
	[PS_SECRET_SERVER_HS] = "SERVER_HANDSHAKE_TRAFFIC_SECRET",
	[PS_SECRET_CLIENT_TRAFFIC_0] = "CLIENT_TRAFFIC_SECRET_0",
	[PS_SECRET_SERVER_TRAFFIC_0] = "SERVER_TRAFFIC_SECRET_0",
	[PS_SECRET_EXPORTER] = "EXPORTER_SECRET",
	[PS_SECRET_CLIENT_EARLY] = "CLIENT_EARLY_TRAFFIC_SECRET",
};

/* The names keylog.h gives the secrets events' fields. */
static const char *const field_names[] = {
	[PS_SECRET_MASTER] = "master_secret",
	[PS_SECRET_CLIENT_HS] = "client_handshake_traffic_secret",
	[PS_SECRET_SERVER_HS] = "server_handshake_traffic_secret",
	[PS_SECRET_CLIENT_TRAFFIC_0] = "client_traffic_secret_0",
	[PS_SECRET_SERVER_TRAFFIC_0] = "server_traffic_secret_0",
	[PS_SECRET_EXPORTER] = "exporter_secret",
	[PS_SECRET_CLIENT_EARLY] = "client_early_traffic_secret",
};

const char *ps_secret_label_name(enum ps_secret_label label)
{
	return label_names[label];
}

const char *ps_secret_field_name(enum ps_secret_label label)
{
	return field_names[label];
}

/* The secrets delivered so far: an open-addressing set of (label, connection). */
struct seen {
	uint8_t used;
	uint8_t label;
	uint8_t connection[PS_CLIENT_RANDOM_LEN];   /* the client random */
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

	for (size_t i = 0; i < PS_CLIENT_RANDOM_LEN; i++)
		h = (h ^ key->connection[i]) * 1099511628211ull;
	return (size_t)(h & (cap - 1));
}

static struct seen *find_slot(struct seen *slots, size_t cap, const struct seen *key)
{
	size_t i = slot_of(key, cap);

	while (slots[i].used && (slots[i].label != key->label ||
				 memcmp(slots[i].connection, key->connection, PS_CLIENT_RANDOM_LEN) != 0))
		i = (i + 1) & (cap - 1);
	return &slots[i];
}

/* Adds (label, connection); false when it was there already. */
static bool remember(struct ps_keylog *kl, enum ps_secret_label label, const uint8_t *connection)
{
	struct seen key = { .used = 1, .label = (uint8_t)label };
	struct seen *slot;

	memcpy(key.connection, connection, PS_CLIENT_RANDOM_LEN);
	if ((kl->n + 1) * 2 > kl->cap) {
		size_t cap = kl->cap ? kl->cap * 2 : 256;
		struct seen *slots = calloc(cap, sizeof(*slots));

		if (!slots)
			return true;   /* no memory: a repeat is better than a loss */
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

uint32_t ps_keylog_take_new(struct ps_keylog *kl, struct ps_secrets *s)
{
	for (enum ps_secret_label l = 0; l < PS_SECRET_LABELS; l++) {
		uint8_t connection[PS_CLIENT_RANDOM_LEN] = { 0 };

		if (!(s->labels & (1u << l)))
			continue;
		if (s->has_client_random)
			memcpy(connection, s->client_random, PS_CLIENT_RANDOM_LEN);
		else
			memcpy(connection, s->secret[l],
			       s->len[l] < PS_CLIENT_RANDOM_LEN ? s->len[l] : PS_CLIENT_RANDOM_LEN);
		if (!remember(kl, l, connection))
			s->labels &= ~(1u << l);
	}
	return s->labels;
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

	return f && f->kind == PS_FIELD_FIXED_BYTES && f->size == PS_CLIENT_RANDOM_LEN;
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

static void add_secret(struct ps_secrets *s, enum ps_secret_label label, const uint8_t *secret, size_t len)
{
	memcpy(s->secret[label], secret, len);
	s->len[label] = len;
	s->labels |= 1u << label;
}

/* A handshake traffic secret: kept by the library, or derived from the handshake secret. */
static void add_handshake_secret(struct ps_secrets *s, const struct ps_record *rec, enum ps_secret_label label,
				 size_t hash_len)
{
	const char *kept = field_names[label];
	const uint8_t *secret = secret_field(rec, kept, hash_len), *hs, *hash;
	uint8_t derived[PS_SECRET_MAX_LEN];

	if (secret) {
		add_secret(s, label, secret, hash_len);
		return;
	}
	hs = secret_field(rec, "handshake_secret", hash_len);
	hash = secret_field(rec, "handshake_hash", hash_len);
	if (!hs || !hash)
		return;
	if (ps_hkdf_expand_label(hash_len, hs, hash_len,
				 label == PS_SECRET_CLIENT_HS ? "c hs traffic" : "s hs traffic", hash, hash_len,
				 derived, hash_len) < 0)
		return;
	add_secret(s, label, derived, hash_len);
}

/*
 * A secret handed over with its key log label, as a library's own key log
 * function gets it (GnuTLS's key log call, Go's
 * crypto/tls.(*Config).writeKeyLog(label, clientRandom, secret)): `label` (a
 * string or bytes, the variable part), `secret` (u8[N]) and `secret_length`.
 * false when the event is not of that kind; a label this key log does not
 * write (early data's) gives nothing.
 */
static bool add_labelled_secret(struct ps_secrets *s, const struct ps_record *rec)
{
	const struct ps_field_desc *label = field_named(rec->event, "label");
	const struct ps_field_desc *secret = field_named(rec->event, "secret");
	const uint8_t *bytes;
	size_t len;
	int64_t length;

	if (!label || (label->kind != PS_FIELD_STRING && label->kind != PS_FIELD_BYTES) || !secret ||
	    secret->kind != PS_FIELD_FIXED_BYTES)
		return false;
	if (!rec->data || !int_field(rec, "secret_length", &length) || length <= 0 || length > PS_SECRET_MAX_LEN ||
	    (uint64_t)length > secret->size)
		return true;
	len = rec->data_len;
	while (len && rec->data[len - 1] == '\0')
		len--;
	if (!(bytes = secret_field(rec, "secret", (size_t)length)))
		return true;
	for (enum ps_secret_label l = 0; l < PS_SECRET_LABELS; l++)
		if (strlen(label_names[l]) == len && memcmp(label_names[l], rec->data, len) == 0) {
			add_secret(s, l, bytes, (size_t)length);
			break;
		}
	return true;
}

int ps_secrets_from_record(const struct ps_record *rec, struct ps_secrets *s)
{
	const uint8_t *client_random, *secret;
	int64_t master_len = MASTER_SECRET_LEN;
	size_t hash_len;

	memset(s, 0, sizeof(*s));
	if (!ps_keylog_is_secrets_event(rec->event))
		return -EINVAL;
	client_random = secret_field(rec, "client_random", PS_CLIENT_RANDOM_LEN);
	if (client_random) {
		memcpy(s->client_random, client_random, PS_CLIENT_RANDOM_LEN);
		s->has_client_random = true;
	}
	s->has_version = int_field(rec, "version", &s->version);
	s->has_cipher = int_field(rec, "cipher", &s->cipher);
	if (add_labelled_secret(s, rec))
		return 0;
	if (s->version != TLS1_3_VERSION) {
		/* TLS 1.2 and below (SSL 3.0's master secret is 48 bytes too) */
		if (!int_field(rec, "master_secret_length", &master_len))
			master_len = MASTER_SECRET_LEN;
		if (master_len > 0 && master_len <= MASTER_SECRET_LEN &&
		    (secret = secret_field(rec, "master_secret", (size_t)master_len)))
			add_secret(s, PS_SECRET_MASTER, secret, (size_t)master_len);
		return 0;
	}
	hash_len = tls13_hash_len(s->cipher);
	if (!hash_len)
		return 0;
	add_handshake_secret(s, rec, PS_SECRET_CLIENT_HS, hash_len);
	add_handshake_secret(s, rec, PS_SECRET_SERVER_HS, hash_len);
	for (enum ps_secret_label l = PS_SECRET_CLIENT_TRAFFIC_0; l <= PS_SECRET_EXPORTER; l++)
		if ((secret = secret_field(rec, field_names[l], hash_len)))
			add_secret(s, l, secret, hash_len);
	return 0;
}

int ps_keylog_write_lines(FILE *f, const struct ps_secrets *s)
{
	int n = 0;

	/* a line names its connection by the client random: none, no line */
	if (!s->has_client_random)
		return 0;
	for (enum ps_secret_label l = 0; l < PS_SECRET_LABELS; l++) {
		if (!(s->labels & (1u << l)))
			continue;
		fprintf(f, "%s ", label_names[l]);
		ps_format_hex(f, s->client_random, PS_CLIENT_RANDOM_LEN);
		fputc(' ', f);
		ps_format_hex(f, s->secret[l], s->len[l]);
		fputc('\n', f);
		n++;
	}
	if (fflush(f) != 0 || ferror(f))
		return errno ? -errno : -EIO;
	return n;
}

int ps_keylog_write(struct ps_keylog *kl, FILE *f, const struct ps_record *rec)
{
	struct ps_secrets s;

	if (ps_secrets_from_record(rec, &s) != 0 || !s.has_client_random || !ps_keylog_take_new(kl, &s))
		return 0;
	return ps_keylog_write_lines(f, &s);
}
