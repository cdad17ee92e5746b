/* SPDX-License-Identifier: MIT */
/*
 * A TLS client on BoringSSL, for the tls module's BoringSSL tests
 * (test_boringssl.py builds it with cc -I/usr/include/android against
 * Debian's android-libboringssl-dev, linked to
 * /usr/lib/x86_64-linux-gnu/android/libssl.so.0 and libcrypto.so.0).
 *
 *   boringssl_peer PORT SEND_FILE RECV_BYTES OUT_FILE
 *       Prints {"pid": P}, waits for a line on stdin, connects to
 *       127.0.0.1:PORT, sends SEND_FILE in ONE SSL_write (without
 *       SSL_MODE_ENABLE_PARTIAL_WRITE BoringSSL writes it all before
 *       returning, as OpenSSL does), reads exactly RECV_BYTES with SSL_read
 *       into OUT_FILE, prints {"fd": F, "local": [A, P], "peer": [A, P]}
 *       and closes.
 * The certificate is not checked. Any failure: a line on stderr, exit 1.
 */
#include <openssl/ssl.h>
#include "peer_common.h"

int main(int argc, char **argv)
{
	struct peer p;
	SSL_CTX *ctx;
	SSL *ssl;
	int n;

	peer_start(&p, argc, argv, "boringssl_peer");
	ctx = SSL_CTX_new(TLS_method());
	if (!ctx)
		peer_die("SSL_CTX_new");
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	ssl = SSL_new(ctx);
	if (!ssl || !SSL_set_fd(ssl, p.fd) || SSL_connect(ssl) != 1)
		peer_die("the BoringSSL handshake");
	n = SSL_write(ssl, p.data, (int)p.len);
	if (n < 0 || (size_t)n != p.len)
		peer_die("SSL_write of the whole buffer");
	while (p.have < p.want) {
		n = SSL_read(ssl, p.got + p.have, (int)(p.want - p.have));
		if (n <= 0)
			peer_die("the server closed early");
		p.have += (size_t)n;
	}
	peer_finish(&p);
	SSL_shutdown(ssl);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	return 0;
}
