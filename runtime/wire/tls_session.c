/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "tls_session.h"

/* The smallest protected record: a header and a 16-byte tag around one byte. */
#define MIN_RECORD_BYTES (PS_TLS_HEADER_LEN + 17)
/* After a gap, how many sequence numbers are tried at most: each try decrypts the record. */
#define GAP_SEARCH_MAX 1024
/* A pending entry of this type stands for a gap in the stream, not a record. */
#define PENDING_GAP 0

struct ps_tls_pending {
	struct ps_tls_pending *next;
	uint8_t type;
	uint16_t version;
	size_t len;                 /* PENDING_GAP: the records the gap may have held */
	uint8_t data[];
};

enum outcome { DONE, NEED_SECRETS };

static void count(struct ps_tls_session *s, enum ps_wire_cause cause)
{
	s->ops->undecryptable[cause]++;
}

void ps_tls_session_init(struct ps_tls_session *s, const struct ps_tls_session_ops *ops)
{
	memset(s, 0, sizeof(*s));
	s->ops = ops;
	s->client_dir = -1;
	for (int d = 0; d < 2; d++)
		s->dir[d].pending_tail = &s->dir[d].pending;
}

/* The waiting records dropped (counted: no secret); the sequence numbers they and the gaps took, in dir->skipped. */
static void drop_pending(struct ps_tls_session *s, struct ps_tls_direction *dir)
{
	while (dir->pending) {
		struct ps_tls_pending *p = dir->pending;

		dir->pending = p->next;
		if (p->type != PENDING_GAP) {
			s->pending_bytes -= p->len;
			count(s, PS_WIRE_NO_SECRET);
			dir->skipped++;
		} else {
			dir->skipped += p->len;
		}
		free(p);
	}
	dir->pending_tail = &dir->pending;
}

void ps_tls_session_free(struct ps_tls_session *s)
{
	ps_tls_bytes_free(&s->early_reads);  /* never answered: read by no one seen */
	for (int d = 0; d < 2; d++) {
		struct ps_tls_direction *dir = &s->dir[d];

		drop_pending(s, dir);
		ps_tls_framer_free(&dir->framer);
		ps_tls_bytes_free(&dir->handshake);
		if (dir->keyed)
			ps_tls_cipher_free(&dir->cipher);
		memset(dir->traffic_secret, 0, sizeof(dir->traffic_secret));
	}
}

static bool is_client(const struct ps_tls_session *s, int d)
{
	return s->client_dir == d;
}

static void unkey(struct ps_tls_direction *dir)
{
	if (dir->keyed)
		ps_tls_cipher_free(&dir->cipher);
	dir->keyed = false;
}

/* ---- 0-RTT data ----------------------------------------------------------- */

/*
 * The client's early data is its write as soon as it is decrypted; the
 * server's read only once the server takes it: held until the answer.
 */
static void early_plaintext(struct ps_tls_session *s, int d, const uint8_t *plain, size_t len)
{
	s->ops->plaintext(s->ops->arg, s, d, PS_WIRE_WRITER, plain, len);
	if (s->early_answer == PS_TLS_EARLY_TAKEN)
		s->ops->plaintext(s->ops->arg, s, d, PS_WIRE_READER, plain, len);
	else if (s->early_answer == PS_TLS_EARLY_UNANSWERED &&
		 (s->pending_bytes + s->early_reads.len + len > PS_TLS_PENDING_MAX ||
		  ps_tls_bytes_append(&s->early_reads, plain, len)))
		count(s, PS_WIRE_PENDING_FULL);
}

static void answer_early_data(struct ps_tls_session *s, bool taken)
{
	if (s->early_answer != PS_TLS_EARLY_UNANSWERED)
		return;
	s->early_answer = taken ? PS_TLS_EARLY_TAKEN : PS_TLS_EARLY_REFUSED;
	if (taken && s->early_reads.len && s->client_dir >= 0)
		s->ops->plaintext(s->ops->arg, s, s->client_dir, PS_WIRE_READER, s->early_reads.data, s->early_reads.len);
	ps_tls_bytes_free(&s->early_reads);
}

/* ---- the hellos ---------------------------------------------------------- */

static void drain(struct ps_tls_session *s, int d);

static void take_server_hello(struct ps_tls_session *s, const struct ps_tls_hello *hello)
{
	const struct ps_tls_suite *suite = ps_tls_suite_find(hello->cipher);

	if (hello->retry_request) {
		/* a second ClientHello (same random) and the real ServerHello follow; 0-RTT data is refused */
		answer_early_data(s, false);
		return;
	}
	memcpy(s->server_random, hello->random, 32);
	s->version = hello->version;
	s->cipher_id = hello->cipher;
	s->encrypt_then_mac = hello->encrypt_then_mac;
	s->has_server_hello = true;
	/* TLS 1.2 and 1.3 only, each with its own suites */
	if (suite && ((s->version == 0x0304 && suite->tls13) || (s->version == 0x0303 && !suite->tls13)))
		s->suite = suite;
}

static void on_plain_handshake(void *arg, const struct ps_tls_handshake_msg *msg)
{
	struct ps_tls_session *s = arg;
	struct ps_tls_hello hello;

	if (msg->type == PS_TLS_CLIENT_HELLO && ps_tls_parse_client_hello(msg->body, msg->len, &hello) == 0) {
		s->client_dir = s->current_dir;
		memcpy(s->client_random, hello.random, 32);
		s->has_client_random = true;
		s->early_data = hello.early_data;
	} else if (msg->type == PS_TLS_SERVER_HELLO && ps_tls_parse_server_hello(msg->body, msg->len, &hello) == 0) {
		if (s->client_dir < 0)
			s->client_dir = !s->current_dir;
		take_server_hello(s, &hello);
	}
}

/* ---- keys ---------------------------------------------------------------- */

static enum ps_secret_label tls13_label(const struct ps_tls_session *s, int d, enum ps_tls_epoch epoch)
{
	if (epoch == PS_TLS_EPOCH_EARLY)
		return PS_SECRET_CLIENT_EARLY;
	if (epoch == PS_TLS_EPOCH_HANDSHAKE)
		return is_client(s, d) ? PS_SECRET_CLIENT_HS : PS_SECRET_SERVER_HS;
	return is_client(s, d) ? PS_SECRET_CLIENT_TRAFFIC_0 : PS_SECRET_SERVER_TRAFFIC_0;
}

static int key_with_secret(struct ps_tls_session *s, struct ps_tls_direction *dir, const uint8_t *secret)
{
	struct ps_tls_keys keys;
	int err;

	if (ps_tls13_keys(s->suite, secret, &keys))
		return -EINVAL;
	memcpy(dir->traffic_secret, secret, ps_tls_digest_len(s->suite->prf_digest));
	err = ps_tls_cipher_init(&dir->cipher, s->ops->evp, s->suite, false, &keys);
	memset(&keys, 0, sizeof(keys));
	dir->keyed = err == 0;
	return err;
}

/* The keys of the direction's epoch from the secrets; -EAGAIN while they are not known. */
static int make_keys(struct ps_tls_session *s, int d)
{
	struct ps_tls_direction *dir = &s->dir[d];
	const struct ps_secrets *secrets = s->ops->secrets(s->ops->arg, s->client_random);
	struct ps_tls_keys keys;
	enum ps_secret_label label;
	int err;

	if (!secrets)
		return -EAGAIN;
	if (s->suite->tls13) {
		label = tls13_label(s, d, dir->epoch);
		if (!(secrets->labels & (1u << label)) || secrets->len[label] != ps_tls_digest_len(s->suite->prf_digest))
			return -EAGAIN;
		return key_with_secret(s, dir, secrets->secret[label]);
	}
	if (!(secrets->labels & (1u << PS_SECRET_MASTER)))
		return -EAGAIN;
	if (ps_tls12_keys(s->ops->evp, s->suite, secrets->secret[PS_SECRET_MASTER], secrets->len[PS_SECRET_MASTER],
			  s->client_random, s->server_random, is_client(s, d), &keys))
		return -EINVAL;
	err = ps_tls_cipher_init(&dir->cipher, s->ops->evp, s->suite, s->encrypt_then_mac, &keys);
	memset(&keys, 0, sizeof(keys));
	dir->keyed = err == 0;
	return err;
}

/* RFC 8446 section 7.2: application_traffic_secret_N+1 from _N; the sequence number starts over. */
static void apply_key_update(struct ps_tls_session *s, struct ps_tls_direction *dir)
{
	uint8_t next[PS_SECRET_MAX_LEN];

	dir->key_update_due = false;
	if (ps_tls13_next_secret(s->suite, dir->traffic_secret, next) == 0) {
		unkey(dir);
		key_with_secret(s, dir, next);
	} else {
		unkey(dir);
	}
	memset(next, 0, sizeof(next));
}

/* ---- protected records --------------------------------------------------- */

static void on_protected_handshake(void *arg, const struct ps_tls_handshake_msg *msg)
{
	struct ps_tls_session *s = arg;
	struct ps_tls_direction *dir = &s->dir[s->current_dir];

	bool taken;

	if (!s->suite->tls13)
		return;  /* 1.2: Finished, or a renegotiation wire mode does not follow */
	if (msg->type == PS_TLS_ENCRYPTED_EXTENSIONS && !is_client(s, s->current_dir) &&
	    ps_tls_parse_encrypted_extensions(msg->body, msg->len, &taken) == 0) {
		answer_early_data(s, taken);
	} else if (msg->type == PS_TLS_END_OF_EARLY_DATA && dir->epoch == PS_TLS_EPOCH_EARLY) {
		answer_early_data(s, true);             /* sent only when the server took the early data */
		dir->epoch = PS_TLS_EPOCH_HANDSHAKE;    /* keys change after this record */
	} else if (msg->type == PS_TLS_FINISHED && dir->epoch == PS_TLS_EPOCH_HANDSHAKE)
		dir->epoch = PS_TLS_EPOCH_APPLICATION;  /* keys change after this record */
	else if (msg->type == PS_TLS_KEY_UPDATE && dir->epoch == PS_TLS_EPOCH_APPLICATION)
		dir->key_update_due = true;
}

/* After a gap: the first sequence number in reach that opens the record. */
static int decrypt_after_gap(struct ps_tls_direction *dir, const struct ps_tls_record *rec, uint8_t *out,
			     size_t *len, uint8_t *type)
{
	uint64_t tries = dir->gap_records < GAP_SEARCH_MAX ? dir->gap_records : GAP_SEARCH_MAX;

	for (uint64_t i = 0; i <= tries; i++)
		if (ps_tls_decrypt_at(&dir->cipher, dir->cipher.seq + i, rec, out, len, type) == 0) {
			dir->cipher.seq += i + 1;
			dir->after_gap = false;
			dir->gap_records = 0;
			return 0;
		}
	dir->gap_records++;         /* this record took a number too, if it was one */
	return -EBADMSG;
}

static void use_plaintext(struct ps_tls_session *s, int d, uint8_t type, const uint8_t *plain, size_t len)
{
	struct ps_tls_direction *dir = &s->dir[d];
	enum ps_tls_epoch before = dir->epoch;

	if (type == PS_TLS_APPLICATION_DATA && len && before == PS_TLS_EPOCH_EARLY)
		early_plaintext(s, d, plain, len);
	else if (type == PS_TLS_APPLICATION_DATA && len)
		s->ops->plaintext(s->ops->arg, s, d, PS_WIRE_BOTH_ENDS, plain, len);
	else if (type == PS_TLS_HANDSHAKE)
		ps_tls_handshake_push(&dir->handshake, plain, len, on_protected_handshake, s);
	if (dir->epoch != before) {  /* EndOfEarlyData, Finished: the next epoch's keys from the next record on */
		unkey(dir);
		ps_tls_bytes_free(&dir->handshake);
	} else if (dir->key_update_due) {
		apply_key_update(s, dir);
	}
}

static enum outcome read_protected(struct ps_tls_session *s, int d, const struct ps_tls_record *rec)
{
	struct ps_tls_direction *dir = &s->dir[d];
	uint8_t plain[PS_TLS_FRAGMENT_MAX];
	size_t len = 0;
	uint8_t type = 0;
	int err;

	if (!s->has_client_random) {
		count(s, PS_WIRE_NO_HANDSHAKE);
		return DONE;
	}
	if (!s->has_server_hello)
		return NEED_SECRETS;    /* the ServerHello is on its way in the other direction */
	if (!s->suite) {
		count(s, PS_WIRE_UNSUPPORTED);
		return DONE;
	}
	if (dir->epoch == PS_TLS_EPOCH_PLAIN)
		dir->epoch = !s->suite->tls13 ? PS_TLS_EPOCH_APPLICATION
			     : s->early_data && is_client(s, d) ? PS_TLS_EPOCH_EARLY : PS_TLS_EPOCH_HANDSHAKE;
	if (!dir->keyed && (err = make_keys(s, d)) != 0) {
		if (err == -EAGAIN)
			return NEED_SECRETS;
		count(s, PS_WIRE_UNSUPPORTED);
		return DONE;
	}
	err = dir->after_gap ? decrypt_after_gap(dir, rec, plain, &len, &type)
			     : ps_tls_decrypt(&dir->cipher, rec, plain, &len, &type);
	if (err && dir->epoch == PS_TLS_EPOCH_EARLY && !dir->after_gap) {
		/*
		 * A server that turns 0-RTT down has the client send no
		 * EndOfEarlyData: its handshake keys start where the early
		 * data ends (RFC 8446 section 4.2.10).
		 */
		answer_early_data(s, false);
		unkey(dir);
		dir->epoch = PS_TLS_EPOCH_HANDSHAKE;
		if ((err = make_keys(s, d)) == -EAGAIN)
			return NEED_SECRETS;
		if (!err)
			err = ps_tls_decrypt(&dir->cipher, rec, plain, &len, &type);
	}
	if (err) {
		count(s, dir->after_gap ? PS_WIRE_AFTER_GAP : PS_WIRE_BAD_RECORD);
		return DONE;
	}
	use_plaintext(s, d, type, plain, len);
	return DONE;
}

/* Whether records of this type are protected in this direction now. */
static bool is_protected(const struct ps_tls_session *s, const struct ps_tls_direction *dir, uint8_t type)
{
	if (type == PS_TLS_APPLICATION_DATA || dir->cipher_spec_changed)
		return true;
	return s->suite && s->suite->tls13 && dir->epoch != PS_TLS_EPOCH_PLAIN && type != PS_TLS_CHANGE_CIPHER_SPEC;
}

static enum outcome read_record(struct ps_tls_session *s, int d, const struct ps_tls_record *rec)
{
	struct ps_tls_direction *dir = &s->dir[d];

	s->current_dir = d;
	if (is_protected(s, dir, rec->type))
		return read_protected(s, d, rec);
	if (rec->type == PS_TLS_HANDSHAKE) {
		ps_tls_handshake_push(&dir->handshake, rec->fragment, rec->len, on_plain_handshake, s);
		if (s->has_server_hello)
			drain(s, !d);       /* the other side's records may have waited for it */
		s->current_dir = d;
		return DONE;
	}
	if (rec->type != PS_TLS_CHANGE_CIPHER_SPEC)
		return DONE;            /* a plaintext alert */
	/*
	 * Before the ServerHello: the client's may be 1.2's, sent after a
	 * ServerHello still on its way here; the server's can only be the one
	 * 1.3 sends after a HelloRetryRequest (RFC 8446 appendix D.4).
	 */
	if (!s->has_server_hello)
		return s->has_client_random && d == s->client_dir ? NEED_SECRETS : DONE;
	/* 1.3 sends one for middleboxes only (RFC 8446 appendix D.4); 1.2 starts protection with it */
	if (!s->suite || !s->suite->tls13) {
		dir->cipher_spec_changed = true;
		unkey(dir);
	}
	return DONE;
}

/* ---- waiting for secrets ------------------------------------------------- */

static void enqueue(struct ps_tls_session *s, int d, const struct ps_tls_record *rec)
{
	struct ps_tls_direction *dir = &s->dir[d];
	struct ps_tls_pending *p;

	if (s->gave_up) {
		count(s, PS_WIRE_NO_SECRET);
		dir->skipped++;
		return;
	}
	if (s->pending_bytes + rec->len > PS_TLS_PENDING_MAX || !(p = malloc(sizeof(*p) + rec->len))) {
		count(s, PS_WIRE_PENDING_FULL);
		dir->skipped++;
		return;
	}
	*p = (struct ps_tls_pending){ .type = rec->type, .version = rec->version, .len = rec->len };
	memcpy(p->data, rec->fragment, rec->len);
	*dir->pending_tail = p;
	dir->pending_tail = &p->next;
	s->pending_bytes += rec->len;
}

static void enqueue_gap(struct ps_tls_direction *dir, uint64_t records)
{
	struct ps_tls_pending *p = malloc(sizeof(*p));

	if (!p)
		return;
	*p = (struct ps_tls_pending){ .type = PENDING_GAP, .len = records };
	*dir->pending_tail = p;
	dir->pending_tail = &p->next;
}

static void mark_gap(struct ps_tls_direction *dir, uint64_t records)
{
	dir->after_gap = true;
	dir->gap_records += records;
}

/* The direction's waiting records, in order, until one still needs secrets. */
static void drain(struct ps_tls_session *s, int d)
{
	struct ps_tls_direction *dir = &s->dir[d];

	if (dir->draining)
		return;
	dir->draining = true;
	while (dir->pending) {
		struct ps_tls_pending *p = dir->pending;
		struct ps_tls_record rec = { .type = p->type, .version = p->version, .fragment = p->data, .len = p->len };

		if (p->type != PENDING_GAP && read_record(s, d, &rec) == NEED_SECRETS) {
			dir->draining = false;
			return;
		}
		if (p->type == PENDING_GAP)
			mark_gap(dir, p->len);
		else
			s->pending_bytes -= p->len;
		dir->pending = p->next;
		if (!dir->pending)
			dir->pending_tail = &dir->pending;
		free(p);
	}
	if (dir->skipped) {         /* the records dropped at the bound took sequence numbers */
		mark_gap(dir, dir->skipped);
		dir->skipped = 0;
	}
	dir->draining = false;
}

static void on_record(void *arg, const struct ps_tls_record *rec)
{
	struct ps_tls_session *s = arg;
	int d = s->current_dir;

	if (s->dir[d].pending || s->dir[d].skipped || read_record(s, d, rec) == NEED_SECRETS)
		enqueue(s, d, rec);
	s->current_dir = d;
}

void ps_tls_session_data(struct ps_tls_session *s, int dir, const uint8_t *data, size_t len)
{
	s->current_dir = dir;
	ps_tls_framer_push(&s->dir[dir].framer, data, len, on_record, s);
}

void ps_tls_session_gap(struct ps_tls_session *s, int d, uint64_t len)
{
	struct ps_tls_direction *dir = &s->dir[d];
	uint64_t records = len / MIN_RECORD_BYTES + 1;

	ps_tls_framer_gap(&dir->framer);
	ps_tls_bytes_free(&dir->handshake);
	if (dir->pending || dir->skipped)
		enqueue_gap(dir, records);
	else
		mark_gap(dir, records);
}

void ps_tls_session_retry(struct ps_tls_session *s)
{
	s->gave_up = false;
	drain(s, 0);
	drain(s, 1);
}

void ps_tls_session_give_up(struct ps_tls_session *s)
{
	s->gave_up = true;
	drop_pending(s, &s->dir[0]);
	drop_pending(s, &s->dir[1]);
}

bool ps_tls_session_waiting(const struct ps_tls_session *s)
{
	return s->dir[0].pending || s->dir[1].pending;
}
