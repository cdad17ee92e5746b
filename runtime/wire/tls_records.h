/* SPDX-License-Identifier: MIT */
/*
 * The TLS record layer's framing (RFC 8446 section 5.1, RFC 5246 section
 * 6.2): a byte stream cut into records, and handshake messages taken out
 * of the records' fragments, with ClientHello and ServerHello read for the
 * randoms, the version and the cipher suite.
 */
#ifndef PS_TLS_RECORDS_H
#define PS_TLS_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PS_TLS_HEADER_LEN 5
/* The longest fragment a record may have: TLSCiphertext in 1.2 (2^14 + 2048), more than 1.3's 2^14 + 256. */
#define PS_TLS_FRAGMENT_MAX (16384 + 2048)

enum ps_tls_content {
	PS_TLS_CHANGE_CIPHER_SPEC = 20,
	PS_TLS_ALERT = 21,
	PS_TLS_HANDSHAKE = 22,
	PS_TLS_APPLICATION_DATA = 23,
};

enum ps_tls_handshake_type {
	PS_TLS_CLIENT_HELLO = 1,
	PS_TLS_SERVER_HELLO = 2,
	PS_TLS_NEW_SESSION_TICKET = 4,
	PS_TLS_END_OF_EARLY_DATA = 5,
	PS_TLS_ENCRYPTED_EXTENSIONS = 8,
	PS_TLS_FINISHED = 20,
	PS_TLS_KEY_UPDATE = 24,
};

struct ps_tls_record {
	uint8_t type;
	uint16_t version;
	const uint8_t *fragment;
	size_t len;
};

/* A growing buffer of bytes not yet taken. */
struct ps_tls_bytes {
	uint8_t *data;
	size_t len, cap;
};

/*
 * One direction's records. After a gap (or when joined mid-stream) the
 * framer looks for the next plausible record header; the bytes it passes
 * over are counted.
 */
struct ps_tls_framer {
	struct ps_tls_bytes pending;
	bool lost;                  /* looking for a record boundary */
	uint64_t skipped;           /* bytes passed over while looking */
};

typedef void (*ps_tls_record_fn)(void *arg, const struct ps_tls_record *rec);

void ps_tls_framer_free(struct ps_tls_framer *f);
/* Bytes of the stream; each whole record goes to on_record. 0, or -ENOMEM. */
int ps_tls_framer_push(struct ps_tls_framer *f, const uint8_t *data, size_t len, ps_tls_record_fn on_record, void *arg);
/* Bytes missing from the stream: what was buffered is dropped, the next boundary looked for. */
void ps_tls_framer_gap(struct ps_tls_framer *f);
/* Whether 5 bytes look like a record header: a known type, version 3.x, a length in bounds. */
bool ps_tls_header_plausible(const uint8_t *h);

/* Handshake messages from the fragments of handshake records (plain or decrypted). */
struct ps_tls_handshake_msg {
	uint8_t type;
	const uint8_t *body;
	size_t len;
};
typedef void (*ps_tls_handshake_fn)(void *arg, const struct ps_tls_handshake_msg *msg);
/* Past this, a message is not waited for: a ClientHello with every extension is a few KiB. */
#define PS_TLS_HANDSHAKE_MAX (256u << 10)
/* 0, -ENOMEM, or -EMSGSIZE (a message longer than the bound: the buffer is dropped). */
int ps_tls_handshake_push(struct ps_tls_bytes *buf, const uint8_t *data, size_t len, ps_tls_handshake_fn on_msg,
			  void *arg);
/* 0, or -ENOMEM. */
int ps_tls_bytes_append(struct ps_tls_bytes *b, const uint8_t *data, size_t len);
void ps_tls_bytes_free(struct ps_tls_bytes *b);

/* What the hellos tell. */
struct ps_tls_hello {
	uint8_t random[32];
	uint16_t version;           /* ServerHello: supported_versions' choice, else legacy_version */
	uint16_t cipher;            /* ServerHello */
	bool encrypt_then_mac;      /* ServerHello: RFC 7366's extension */
	bool retry_request;         /* a HelloRetryRequest (RFC 8446 section 4.1.3) */
	bool early_data;            /* ClientHello: 0-RTT data follows (early_data, RFC 8446 section 4.2.10) */
};

/* 0, or -EINVAL when the body is cut short or malformed. */
int ps_tls_parse_client_hello(const uint8_t *body, size_t len, struct ps_tls_hello *out);
int ps_tls_parse_server_hello(const uint8_t *body, size_t len, struct ps_tls_hello *out);
/* TLS 1.3's EncryptedExtensions: whether the server takes the 0-RTT data (RFC 8446 section 4.2.10). */
int ps_tls_parse_encrypted_extensions(const uint8_t *body, size_t len, bool *early_data_accepted);

#endif
