/* SPDX-License-Identifier: MIT */
/*
 * A TLS client on NSS, for the nss module's tests (test_nss.py builds it
 * with cc $(pkg-config --cflags --libs nss) against Debian's libnss3-dev).
 *
 *   nss_peer PORT SEND_FILE RECV_BYTES OUT_FILE
 *       Prints {"pid": P}, waits for a line on stdin, connects to
 *       127.0.0.1:PORT, sends SEND_FILE in ONE PR_Write on the SSL socket
 *       (NSS writes it all before returning), reads exactly RECV_BYTES with
 *       PR_Read into OUT_FILE, prints {"fd": F, "local": [A, P], "peer":
 *       [A, P]} and closes.
 * No certificate database; the server's certificate is not checked. Any
 * failure: a line on stderr, exit 1.
 */
#include <nss.h>
#include <prio.h>
#include <private/pprio.h>
#include <ssl.h>
#include "peer_common.h"

/* The test's self-signed certificate: accepted. */
static SECStatus accept_any(void *arg, PRFileDesc *fd, PRBool check_sig, PRBool is_server)
{
	(void)arg;
	(void)fd;
	(void)check_sig;
	(void)is_server;
	return SECSuccess;
}

int main(int argc, char **argv)
{
	struct peer p;
	PRFileDesc *tcp, *ssl;
	PRInt32 n;

	peer_start(&p, argc, argv, "nss_peer");
	if (NSS_NoDB_Init(NULL) != SECSuccess || NSS_SetDomesticPolicy() != SECSuccess)
		peer_die("NSS_NoDB_Init");
	tcp = PR_ImportTCPSocket(p.fd);
	ssl = tcp ? SSL_ImportFD(NULL, tcp) : NULL;
	if (!ssl || SSL_OptionSet(ssl, SSL_SECURITY, PR_TRUE) != SECSuccess ||
	    SSL_OptionSet(ssl, SSL_HANDSHAKE_AS_CLIENT, PR_TRUE) != SECSuccess ||
	    SSL_AuthCertificateHook(ssl, accept_any, NULL) != SECSuccess || SSL_SetURL(ssl, "localhost") != SECSuccess ||
	    SSL_ResetHandshake(ssl, PR_FALSE) != SECSuccess || SSL_ForceHandshake(ssl) != SECSuccess)
		peer_die("the NSS handshake");
	n = PR_Write(ssl, p.data, (PRInt32)p.len);
	if (n < 0 || (size_t)n != p.len)
		peer_die("PR_Write of the whole buffer");
	while (p.have < p.want) {
		n = PR_Read(ssl, p.got + p.have, (PRInt32)(p.want - p.have));
		if (n <= 0)
			peer_die("the server closed early");
		p.have += (size_t)n;
	}
	peer_finish(&p);
	PR_Close(ssl);
	NSS_Shutdown();
	return 0;
}
