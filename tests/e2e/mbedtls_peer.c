/* SPDX-License-Identifier: MIT */
/*
 * A TLS client on Mbed TLS, for the mbedtls module's tests (test_libs.py
 * builds it with cc ... -lmbedtls -lmbedx509 -lmbedcrypto against Debian's
 * libmbedtls-dev: bookworm's 2.28, or trixie's 3.6 from the corpus).
 *
 *   mbedtls_peer PORT SEND_FILE RECV_BYTES OUT_FILE
 *       Prints {"pid": P}, waits for a line on stdin, connects to
 *       127.0.0.1:PORT, sends SEND_FILE with mbedtls_ssl_write (a record at
 *       most per call), reads exactly RECV_BYTES with mbedtls_ssl_read into
 *       OUT_FILE, prints {"fd": F, "local": [A, P], "peer": [A, P]} and
 *       closes.
 * The certificate is not checked. MBEDTLS_PEER_MAX=1.2 in the environment
 * keeps a 3.x client to TLS 1.2. Any failure: a line on stderr, exit 1.
 */
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>
#include <mbedtls/version.h>
#if MBEDTLS_VERSION_MAJOR >= 3
#include <psa/crypto.h>
#endif
#include "peer_common.h"

/* The socket peer_start connected, as Mbed TLS's BIO callbacks take it. */
static int send_fd(void *ctx, const unsigned char *buf, size_t len)
{
	return mbedtls_net_send(ctx, buf, len);
}

static int recv_fd(void *ctx, unsigned char *buf, size_t len)
{
	return mbedtls_net_recv(ctx, buf, len);
}

int main(int argc, char **argv)
{
	struct peer p;
	mbedtls_net_context net;
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_ssl_config conf;
	mbedtls_ssl_context ssl;
	size_t sent = 0;
	int n;

	peer_start(&p, argc, argv, "mbedtls_peer");
#if MBEDTLS_VERSION_MAJOR >= 3
	/* 3.x's TLS 1.3 computes through PSA, which must be initialised first */
	if (psa_crypto_init() != PSA_SUCCESS)
		peer_die("psa_crypto_init");
#endif
	mbedtls_net_init(&net);
	net.fd = p.fd;
	mbedtls_entropy_init(&entropy);
	mbedtls_ctr_drbg_init(&drbg);
	mbedtls_ssl_config_init(&conf);
	mbedtls_ssl_init(&ssl);
	if (mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy, NULL, 0) != 0 ||
	    mbedtls_ssl_config_defaults(&conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
					MBEDTLS_SSL_PRESET_DEFAULT) != 0)
		peer_die("mbedtls set-up");
	mbedtls_ssl_conf_authmode(&conf, MBEDTLS_SSL_VERIFY_NONE);
#if MBEDTLS_VERSION_MAJOR >= 3
	if (getenv("MBEDTLS_PEER_MAX") && strcmp(getenv("MBEDTLS_PEER_MAX"), "1.2") == 0)
		mbedtls_ssl_conf_max_tls_version(&conf, MBEDTLS_SSL_VERSION_TLS1_2);
#endif
	mbedtls_ssl_conf_rng(&conf, mbedtls_ctr_drbg_random, &drbg);
	if (mbedtls_ssl_setup(&ssl, &conf) != 0)
		peer_die("mbedtls_ssl_setup");
	mbedtls_ssl_set_bio(&ssl, &net, send_fd, recv_fd, NULL);
	while ((n = mbedtls_ssl_handshake(&ssl)) != 0)
		if (n != MBEDTLS_ERR_SSL_WANT_READ && n != MBEDTLS_ERR_SSL_WANT_WRITE)
			peer_die("mbedtls_ssl_handshake");
	while (sent < p.len) {
		n = mbedtls_ssl_write(&ssl, p.data + sent, p.len - sent);
		if (n == MBEDTLS_ERR_SSL_WANT_READ || n == MBEDTLS_ERR_SSL_WANT_WRITE)
			continue;
		if (n <= 0)
			peer_die("mbedtls_ssl_write");
		sent += (size_t)n;
	}
	while (p.have < p.want) {
		n = mbedtls_ssl_read(&ssl, p.got + p.have, p.want - p.have);
		if (n == MBEDTLS_ERR_SSL_WANT_READ || n == MBEDTLS_ERR_SSL_WANT_WRITE)
			continue;
		if (n <= 0)
			peer_die("the server closed early");
		p.have += (size_t)n;
	}
	peer_finish(&p);
	mbedtls_ssl_close_notify(&ssl);
	mbedtls_ssl_free(&ssl);
	mbedtls_ssl_config_free(&conf);
	mbedtls_ctr_drbg_free(&drbg);
	mbedtls_entropy_free(&entropy);
	return 0;
}
