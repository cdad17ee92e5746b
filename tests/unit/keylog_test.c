/* SPDX-License-Identifier: MIT */
/* HKDF-Expand-Label (runtime/output/hkdf.c) and SSLKEYLOGFILE lines (runtime/output/keylog.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check.h"
#include "hkdf.h"
#include "keylog.h"
#include "output.h"
#include "secrets_record.h"
#include "test_writer.h"

static void unhex(const char *hex, uint8_t *out, size_t len)
{
	for (size_t i = 0; i < len; i++)
		sscanf(hex + 2 * i, "%2hhx", &out[i]);
}

static const char *hex(const uint8_t *p, size_t len)
{
	static char text[2 * 64 + 1];

	for (size_t i = 0; i < len; i++)
		sprintf(text + 2 * i, "%02x", p[i]);
	return text;
}

/*
 * RFC 8448 section 3 (Simple 1-RTT Handshake): "derive secret for handshake
 * tls13 c hs traffic" / "s hs traffic", from the handshake secret and the
 * transcript hash of ClientHello..ServerHello given there.
 */
static void test_rfc8448_handshake_traffic(void)
{
	uint8_t hs[32], hash[32], out[32];

	unhex("1dc826e93606aa6fdc0aadc12f741b01046aa6b99f691ed221a9f0ca043fbeac", hs, 32);
	unhex("860c06edc07858ee8e78f0e7428c58edd6b43f2ca3e6e95f02ed063cf0e1cad8", hash, 32);
	CHECK_INT(ps_hkdf_expand_label(32, hs, 32, "c hs traffic", hash, 32, out, 32), 0);
	CHECK_STR(hex(out, 32), "b3eddb126e067f35a780b3abf45e2d8f3b1a950738f52e9600746a0e27a55a21");
	CHECK_INT(ps_hkdf_expand_label(32, hs, 32, "s hs traffic", hash, 32, out, 32), 0);
	CHECK_STR(hex(out, 32), "b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38");
	/* a hash no TLS 1.3 suite names */
	CHECK_INT(ps_hkdf_expand_label(20, hs, 32, "c hs traffic", hash, 32, out, 32), -1);
}

/* A secrets event as a spec declares it (specs/openssl/openssl.spec, tls_secrets). */
struct secrets_ev {
	struct ps_event_header hdr;
	uint8_t client_random[32];
	int32_t version;
	uint32_t cipher;
	uint64_t master_secret_length;
	uint8_t master_secret[48];
	uint8_t handshake_secret[64];
	uint8_t handshake_hash[64];
	uint8_t client_traffic_secret_0[64];
	uint8_t server_traffic_secret_0[64];
	uint8_t exporter_secret[64];
};

#define FB(m, bit) { .name = #m, .kind = PS_FIELD_FIXED_BYTES, .offset = offsetof(struct secrets_ev, m), \
		     .size = sizeof(((struct secrets_ev *)0)->m), .present_bit = bit, .check_field = -1 }
#define FI(m, k, bit) { .name = #m, .kind = k, .offset = offsetof(struct secrets_ev, m), \
			.size = sizeof(((struct secrets_ev *)0)->m), .present_bit = bit, .check_field = -1 }

static const struct ps_field_desc secrets_fields[] = {
	FB(client_random, 0), FI(version, PS_FIELD_INT, 1), FI(cipher, PS_FIELD_UINT, 2),
	FI(master_secret_length, PS_FIELD_UINT, 3), FB(master_secret, 4), FB(handshake_secret, 5),
	FB(handshake_hash, 6), FB(client_traffic_secret_0, 7), FB(server_traffic_secret_0, 8), FB(exporter_secret, 9),
};

static const struct ps_event_desc secrets_event = {
	.name = "tls_secrets", .fixed_size = sizeof(struct secrets_ev), .fields = secrets_fields,
	.n_fields = sizeof(secrets_fields) / sizeof(secrets_fields[0]), .var_field = -1,
};

static const struct ps_field_desc data_fields[] = {
	{ .name = "fd", .kind = PS_FIELD_INT, .offset = PS_TEST_HDR, .size = 4, .present_bit = -1, .check_field = -1 },
};
static const struct ps_event_desc data_event = { .name = "tls_data", .fields = data_fields, .n_fields = 1,
						 .var_field = -1 };

static char *run(struct ps_keylog *kl, const struct secrets_ev *ev, int *lines)
{
	struct ps_record rec = { .event = &secrets_event, .fixed = ev };
	char *text = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);

	*lines = ps_keylog_write(kl, f, &rec);
	fclose(f);
	return text;
}

/* A secret with its key log label (specs/gnutls/gnutls.spec, tls_secret). */
struct labelled_ev {
	struct ps_event_header hdr;
	uint8_t client_random[32];
	uint8_t secret[64];
	uint32_t secret_length;
};

static const struct ps_field_desc labelled_fields[] = {
	{ .name = "client_random", .kind = PS_FIELD_FIXED_BYTES, .offset = offsetof(struct labelled_ev, client_random),
	  .size = 32, .present_bit = 0, .check_field = -1 },
	{ .name = "secret", .kind = PS_FIELD_FIXED_BYTES, .offset = offsetof(struct labelled_ev, secret), .size = 64,
	  .present_bit = 1, .check_field = -1 },
	{ .name = "secret_length", .kind = PS_FIELD_UINT, .offset = offsetof(struct labelled_ev, secret_length),
	  .size = 4, .present_bit = -1, .check_field = -1 },
	{ .name = "label", .kind = PS_FIELD_STRING, .offset = sizeof(struct labelled_ev), .present_bit = -1,
	  .check_field = -1, .text = true },
};

static const struct ps_event_desc labelled_event = {
	.name = "tls_secret", .fixed_size = sizeof(struct labelled_ev), .fields = labelled_fields,
	.n_fields = sizeof(labelled_fields) / sizeof(labelled_fields[0]), .var_field = 3,
};

static char *run_labelled(struct ps_keylog *kl, const struct labelled_ev *ev, const char *label, int *lines)
{
	struct ps_record rec = { .event = &labelled_event, .fixed = ev, .data = (const uint8_t *)label,
				 .data_len = strlen(label) + 1 };   /* cstr() keeps the NUL */
	char *text = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);

	*lines = ps_keylog_write(kl, f, &rec);
	fclose(f);
	return text;
}

/* Each secret as the library names it: known labels written once, as long as secret_length says. */
static void test_labelled_secrets(void)
{
	struct ps_keylog *kl = ps_keylog_new();
	struct labelled_ev ev = { 0 };
	int n;
	char *text;

	memset(ev.client_random, 0xcd, 32);
	memset(ev.secret, 0x33, 64);
	ev.secret_length = 48;
	ev.hdr.present = 0x3;
	text = run_labelled(kl, &ev, "SERVER_TRAFFIC_SECRET_0", &n);
	CHECK_INT(n, 1);
	CHECK_STR(text, "SERVER_TRAFFIC_SECRET_0 cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd "
			"333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333\n");
	free(text);
	/* a key update hands the label again: the first stays */
	text = run_labelled(kl, &ev, "SERVER_TRAFFIC_SECRET_0", &n);
	CHECK_INT(n, 0);
	free(text);
	ev.secret_length = 32;
	text = run_labelled(kl, &ev, "CLIENT_RANDOM", &n);
	CHECK_INT(n, 1);
	CHECK_STR(text, "CLIENT_RANDOM cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd "
			"3333333333333333333333333333333333333333333333333333333333333333\n");
	free(text);
	/* 0-RTT data's secret (wire mode decrypts the early data with it) */
	text = run_labelled(kl, &ev, "CLIENT_EARLY_TRAFFIC_SECRET", &n);
	CHECK_INT(n, 1);
	CHECK_STR(text, "CLIENT_EARLY_TRAFFIC_SECRET cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd "
			"3333333333333333333333333333333333333333333333333333333333333333\n");
	free(text);
	/* a label the key log does not write, a length beyond the field, no secret: nothing */
	text = run_labelled(kl, &ev, "EARLY_EXPORTER_SECRET", &n);
	CHECK_INT(n, 0);
	free(text);
	ev.secret_length = 65;
	text = run_labelled(kl, &ev, "EXPORTER_SECRET", &n);
	CHECK_INT(n, 0);
	free(text);
	ev.secret_length = 32;
	ev.hdr.present = 0x1;
	text = run_labelled(kl, &ev, "EXPORTER_SECRET", &n);
	CHECK_INT(n, 0);
	free(text);
	ps_keylog_free(kl);
}

static void test_tls12_line_and_dedupe(void)
{
	struct ps_keylog *kl = ps_keylog_new();
	struct secrets_ev ev = { 0 };
	int n;
	char *text;

	memset(ev.client_random, 0xab, 32);
	memset(ev.master_secret, 0x11, 48);
	ev.version = 0x0303;
	ev.master_secret_length = 48;
	ev.hdr.present = 0x1f;
	text = run(kl, &ev, &n);
	CHECK_INT(n, 1);
	CHECK_STR(text, "CLIENT_RANDOM abababababababababababababababababababababababababababababababab "
			"111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111\n");
	free(text);
	/* the same connection again: nothing */
	text = run(kl, &ev, &n);
	CHECK_INT(n, 0);
	CHECK_STR(text, "");
	free(text);
	/* another connection whose master secret is not there yet (all zero): nothing */
	ev.client_random[0] = 1;
	memset(ev.master_secret, 0, 48);
	text = run(kl, &ev, &n);
	CHECK_INT(n, 0);
	free(text);
	/* no client random: nothing */
	ev.hdr.present &= ~1u;
	memset(ev.master_secret, 0x22, 48);
	text = run(kl, &ev, &n);
	CHECK_INT(n, 0);
	free(text);
	ps_keylog_free(kl);
}

static void test_tls13_lines(void)
{
	struct ps_keylog *kl = ps_keylog_new();
	struct secrets_ev ev = { 0 };
	char want[2048], cr[65];
	int n;
	char *text;

	memset(ev.client_random, 0xcd, 32);
	ev.version = 0x0304;
	ev.cipher = 0x03001301;   /* OpenSSL's id: 0x03000000 | TLS_AES_128_GCM_SHA256 */
	unhex("1dc826e93606aa6fdc0aadc12f741b01046aa6b99f691ed221a9f0ca043fbeac", ev.handshake_secret, 32);
	unhex("860c06edc07858ee8e78f0e7428c58edd6b43f2ca3e6e95f02ed063cf0e1cad8", ev.handshake_hash, 32);
	memset(ev.client_traffic_secret_0, 0x01, 32);
	memset(ev.server_traffic_secret_0, 0x02, 32);
	/* exporter secret left zero: no line */
	ev.hdr.present = 0x3ff;
	strcpy(cr, hex(ev.client_random, 32));
	snprintf(want, sizeof(want),
		 "CLIENT_HANDSHAKE_TRAFFIC_SECRET %s b3eddb126e067f35a780b3abf45e2d8f3b1a950738f52e9600746a0e27a55a21\n"
		 "SERVER_HANDSHAKE_TRAFFIC_SECRET %s b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38\n"
		 "CLIENT_TRAFFIC_SECRET_0 %s 0101010101010101010101010101010101010101010101010101010101010101\n"
		 "SERVER_TRAFFIC_SECRET_0 %s 0202020202020202020202020202020202020202020202020202020202020202\n",
		 cr, cr, cr, cr);
	text = run(kl, &ev, &n);
	CHECK_INT(n, 4);
	CHECK_STR(text, want);
	free(text);
	/* the exporter secret arrives later (another event of the same connection): that line only */
	memset(ev.exporter_secret, 0x03, 32);
	text = run(kl, &ev, &n);
	CHECK_INT(n, 1);
	CHECK(strncmp(text, "EXPORTER_SECRET ", 16) == 0);
	free(text);
	/* SHA-384 suite: 48-byte secrets */
	ev.client_random[0] = 0;
	ev.cipher = 0x1302;
	memset(ev.client_traffic_secret_0, 0x01, 48);
	text = run(kl, &ev, &n);
	CHECK_INT(n, 5);
	CHECK(strstr(text, "CLIENT_TRAFFIC_SECRET_0 ") && strstr(text, " " "010101010101010101010101010101010101010101010101"
									 "010101010101010101010101010101010101010101010101\n"));
	free(text);
	/* an unknown suite: no TLS 1.3 line at all */
	ev.client_random[0] = 2;
	ev.cipher = 0x9999;
	text = run(kl, &ev, &n);
	CHECK_INT(n, 0);
	free(text);
	ps_keylog_free(kl);
}

static void test_secrets_event_detection(void)
{
	CHECK(ps_keylog_is_secrets_event(&secrets_event));
	CHECK(!ps_keylog_is_secrets_event(&data_event));
}

/* Many connections: the set grows and still knows every one. */
static void test_many_connections(void)
{
	struct ps_keylog *kl = ps_keylog_new();
	struct secrets_ev ev = { 0 };
	int n, total = 0;
	char *text;

	ev.version = 0x0303;
	ev.hdr.present = 0x1f;
	ev.master_secret_length = 48;
	memset(ev.master_secret, 0x5a, 48);
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < 3000; i++) {
			memcpy(ev.client_random, &i, sizeof(i));
			ev.client_random[31] = 1;
			text = run(kl, &ev, &n);
			total += n;
			free(text);
		}
	CHECK_INT(total, 3000);
	ps_keylog_free(kl);
}

static const struct ps_module_desc secrets_module = { .name = "tls" };

/* The json a writer makes of a secrets record's secrets, when asked for them. */
static char *secrets_json(const struct secrets_ev *ev)
{
	struct ps_record rec = { .module = &secrets_module, .event = &secrets_event, .fixed = ev, .time_ns = 7 };
	struct ps_secrets s;
	struct ps_secrets_record out;
	char *text = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);

	CHECK_INT(ps_secrets_from_record(&rec, &s), 0);
	ps_secrets_record_build(&out, &rec, &s);
	ps_output_json_record(f, &out.rec);
	fclose(f);
	return text;
}

/* TLS 1.2: the master secret, as long as it is, and no TLS 1.3 field; TLS 1.3: its secrets only. */
static void test_secrets_record_has_its_versions_fields(void)
{
	struct secrets_ev ev = { 0 };
	char want[2048], cr[65], *text;

	ev.hdr.pid = 5;
	ev.hdr.tid = 6;
	memcpy(ev.hdr.comm, "curl", 5);
	memcpy(ev.hdr.thread, "curl", 5);
	memset(ev.client_random, 0xab, 32);
	memset(ev.master_secret, 0x11, 48);
	ev.version = 0x0303;
	ev.cipher = 0x0300c02f;
	ev.master_secret_length = 48;
	ev.hdr.present = 0x3ff;
	strcpy(cr, hex(ev.client_random, 32));
	text = secrets_json(&ev);
	snprintf(want, sizeof(want),
		 "{\"time_ns\": 7, \"mono_ns\": 0, \"pid\": 5, \"tid\": 6, \"uid\": 0, \"comm\": \"curl\","
		 " \"thread\": \"curl\", \"module\": \"tls\", \"event\": \"tls_secrets\", \"client_random\": \"%s\", \"version\": 771,"
		 " \"cipher\": 49199, \"master_secret\": \"%s\"}\n", cr, hex(ev.master_secret, 48));
	CHECK_STR(text, want);
	free(text);

	memset(&ev.master_secret, 0, sizeof(ev.master_secret));
	ev.version = 0x0304;
	ev.cipher = 0x03001301;
	unhex("1dc826e93606aa6fdc0aadc12f741b01046aa6b99f691ed221a9f0ca043fbeac", ev.handshake_secret, 32);
	unhex("860c06edc07858ee8e78f0e7428c58edd6b43f2ca3e6e95f02ed063cf0e1cad8", ev.handshake_hash, 32);
	memset(ev.client_traffic_secret_0, 0x01, 32);
	memset(ev.server_traffic_secret_0, 0x02, 32);
	memset(ev.exporter_secret, 0x03, 32);
	text = secrets_json(&ev);
	snprintf(want, sizeof(want),
		 "{\"time_ns\": 7, \"mono_ns\": 0, \"pid\": 5, \"tid\": 6, \"uid\": 0, \"comm\": \"curl\","
		 " \"thread\": \"curl\", \"module\": \"tls\", \"event\": \"tls_secrets\", \"client_random\": \"%s\", \"version\": 772,"
		 " \"cipher\": 4865,"
		 " \"client_handshake_traffic_secret\": \"b3eddb126e067f35a780b3abf45e2d8f3b1a950738f52e9600746a0e27a55a21\","
		 " \"server_handshake_traffic_secret\": \"b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38\","
		 " \"client_traffic_secret_0\": \"0101010101010101010101010101010101010101010101010101010101010101\","
		 " \"server_traffic_secret_0\": \"0202020202020202020202020202020202020202020202020202020202020202\","
		 " \"exporter_secret\": \"0303030303030303030303030303030303030303030303030303030303030303\"}\n", cr);
	CHECK_STR(text, want);
	free(text);
}

/* One set of what was delivered: a second record of a connection brings nothing, a later secret only itself. */
static void test_take_new_once_per_connection(void)
{
	struct ps_keylog *kl = ps_keylog_new();
	struct secrets_ev ev = { 0 };
	struct ps_record rec = { .event = &secrets_event, .fixed = &ev };
	struct ps_secrets s;

	memset(ev.client_random, 0x42, 32);
	ev.version = 0x0304;
	ev.cipher = 0x1301;
	memset(ev.client_traffic_secret_0, 0x01, 32);
	memset(ev.server_traffic_secret_0, 0x02, 32);
	ev.hdr.present = 0x3ff;
	CHECK_INT(ps_secrets_from_record(&rec, &s), 0);
	CHECK_INT(ps_keylog_take_new(kl, &s), (1u << PS_SECRET_CLIENT_TRAFFIC_0) | (1u << PS_SECRET_SERVER_TRAFFIC_0));
	CHECK_INT(ps_secrets_from_record(&rec, &s), 0);
	CHECK_INT(ps_keylog_take_new(kl, &s), 0);
	memset(ev.exporter_secret, 0x03, 32);
	CHECK_INT(ps_secrets_from_record(&rec, &s), 0);
	CHECK_INT(ps_keylog_take_new(kl, &s), 1u << PS_SECRET_EXPORTER);
	/* no client random (refused): the secret itself tells connections apart */
	ev.hdr.present &= ~1u;
	ev.version = 0x0303;
	ev.master_secret_length = 48;
	memset(ev.master_secret, 0x07, 48);
	CHECK_INT(ps_secrets_from_record(&rec, &s), 0);
	CHECK(!s.has_client_random);
	CHECK_INT(ps_keylog_take_new(kl, &s), 1u << PS_SECRET_MASTER);
	CHECK_INT(ps_secrets_from_record(&rec, &s), 0);
	CHECK_INT(ps_keylog_take_new(kl, &s), 0);
	ev.master_secret[0] = 8;
	CHECK_INT(ps_secrets_from_record(&rec, &s), 0);
	CHECK_INT(ps_keylog_take_new(kl, &s), 1u << PS_SECRET_MASTER);
	ps_keylog_free(kl);
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *text = calloc(1, 65536);

	if (f && text)
		fread(text, 1, 65535, f);
	if (f)
		fclose(f);
	return text;
}

/* Secrets reach a text or json writer only when asked for; a key log writer takes lines, not records. */
static void test_writers_take_secrets_only_when_asked(void)
{
	char path[] = "/tmp/keylog_test.XXXXXX";
	int fd = mkstemp(path);
	struct secrets_ev ev = { 0 };
	struct ps_record rec = { .module = &secrets_module, .event = &secrets_event, .fixed = &ev, .time_ns = 7 };
	struct ps_output_opts opts = { .raw = true, .mode = PS_OUTPUT_JSON };
	struct ps_secrets s;
	struct ps_writer *w;
	char *text;

	CHECK(fd >= 0);
	close(fd);
	memset(ev.client_random, 0xab, 32);
	memset(ev.master_secret, 0x11, 48);
	ev.version = 0x0303;
	ev.master_secret_length = 48;
	ev.hdr.present = 0x3ff;
	CHECK_INT(ps_secrets_from_record(&rec, &s), 0);

	w = open_writer(path, &opts);
	CHECK_INT(ps_writer_secrets(w, &rec, &s), 0);
	CHECK_INT(ps_writer_close(w), 0);
	text = read_file(path);
	CHECK_STR(text, "");
	free(text);

	opts.secrets = true;
	w = open_writer(path, &opts);
	CHECK_INT(ps_writer_secrets(w, &rec, &s), 1);
	CHECK_INT(ps_writer_close(w), 0);
	text = read_file(path);
	CHECK(strstr(text, "\"event\": \"tls_secrets\"") && strstr(text, "\"master_secret\": \"1111"));
	free(text);

	opts = (struct ps_output_opts){ .raw = true, .mode = PS_OUTPUT_KEYLOG };
	w = open_writer(path, &opts);
	CHECK_INT(ps_writer_record(w, &rec), 0);
	CHECK_INT(ps_writer_secrets(w, &rec, &s), 1);
	CHECK_INT(ps_writer_close(w), 0);
	text = read_file(path);
	CHECK(strncmp(text, "CLIENT_RANDOM abab", 18) == 0 && strchr(text, '\n') == text + strlen(text) - 1);
	free(text);
	unlink(path);
}

int main(void)
{
	TEST(test_rfc8448_handshake_traffic);
	TEST(test_tls12_line_and_dedupe);
	TEST(test_tls13_lines);
	TEST(test_labelled_secrets);
	TEST(test_secrets_event_detection);
	TEST(test_many_connections);
	TEST(test_secrets_record_has_its_versions_fields);
	TEST(test_take_new_once_per_connection);
	TEST(test_writers_take_secrets_only_when_asked);
	return TEST_EXIT();
}
