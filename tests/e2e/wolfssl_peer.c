/* SPDX-License-Identifier: MIT */
/*
 * A TLS client on wolfSSL, for the wolfssl module's tests (test_libs.py
 * builds it with cc ... -lwolfssl against Debian's libwolfssl-dev).
 *
 *   wolfssl_peer PORT SEND_FILE RECV_BYTES OUT_FILE
 *       Prints {"pid": P}, waits for a line on stdin, connects to
 *       127.0.0.1:PORT, sends SEND_FILE with wolfSSL_write, reads exactly
 *       RECV_BYTES with wolfSSL_read into OUT_FILE, prints {"fd": F,
 *       "local": [A, P], "peer": [A, P]} and closes.
 * The certificate is not checked. Any failure: a line on stderr, exit 1.
 */
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include "peer_common.h"

int main(int argc, char **argv)
{
	struct peer p;
	WOLFSSL_CTX *ctx;
	WOLFSSL *ssl;
	size_t sent = 0;
	int n;

	peer_start(&p, argc, argv, "wolfssl_peer");
	wolfSSL_Init();
	ctx = wolfSSL_CTX_new(wolfSSLv23_client_method());
	if (!ctx)
		peer_die("wolfSSL_CTX_new");
	wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_NONE, NULL);
	ssl = wolfSSL_new(ctx);
	if (!ssl || wolfSSL_set_fd(ssl, p.fd) != WOLFSSL_SUCCESS || wolfSSL_connect(ssl) != WOLFSSL_SUCCESS)
		peer_die("wolfSSL handshake");
	while (sent < p.len) {
		n = wolfSSL_write(ssl, p.data + sent, (int)(p.len - sent));
		if (n <= 0)
			peer_die("wolfSSL_write");
		sent += (size_t)n;
	}
	while (p.have < p.want) {
		n = wolfSSL_read(ssl, p.got + p.have, (int)(p.want - p.have));
		if (n <= 0)
			peer_die("the server closed early");
		p.have += (size_t)n;
	}
	peer_finish(&p);
	wolfSSL_shutdown(ssl);
	wolfSSL_free(ssl);
	wolfSSL_CTX_free(ctx);
	wolfSSL_Cleanup();
	return 0;
}
