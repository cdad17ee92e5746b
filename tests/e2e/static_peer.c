/* SPDX-License-Identifier: MIT */
/*
 * A TLS server or client with OpenSSL linked in statically, for the version
 * tests (test_versions.py builds it with cc -static ... -lssl -lcrypto).
 *
 *   static_peer server CERT KEY RECV_BYTES SEND_FILE OUT_FILE
 *       Listens on 127.0.0.1 (free port), prints {"port": P}; takes one
 *       connection: reads exactly RECV_BYTES into OUT_FILE, sends SEND_FILE,
 *       waits for the client to close, prints {"fd": F, "port": P}.
 *   static_peer client PORT SEND_FILE RECV_BYTES OUT_FILE
 *       Connects, sends SEND_FILE, reads exactly RECV_BYTES into OUT_FILE,
 *       prints {"fd": F, "port": LOCAL_PORT} and closes.
 * Built with -DWITH_BANNER, the first line also says {"openssl": BANNER}:
 * that links OpenSSL's version text in (without it, a static executable
 * holds no version string at all).
 * Every socket has a 60 s timeout; any failure: a line on stderr, exit 1.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static void die(const char *what)
{
	fprintf(stderr, "static_peer: %s\n", what);
	ERR_print_errors_fp(stderr);
	exit(1);
}

static char *slurp(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	char *data;
	long n;

	if (!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET))
		die("cannot read the send file");
	data = malloc(n ? n : 1);
	if (!data || fread(data, 1, n, f) != (size_t)n)
		die("cannot read the send file");
	fclose(f);
	*size = n;
	return data;
}

static void timeouts(int fd)
{
	struct timeval tv = { .tv_sec = 60 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static int local_port(int fd)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);

	if (getsockname(fd, (struct sockaddr *)&a, &len))
		die("getsockname");
	return ntohs(a.sin_port);
}

static void exchange(SSL *ssl, const char *send_file, long recv_bytes, const char *out_file, int send_first)
{
	size_t size, done = 0;
	char *data = slurp(send_file, &size);
	char *got = malloc(recv_bytes ? recv_bytes : 1);
	long have = 0;
	FILE *out;

	if (!got)
		die("out of memory");
	for (int step = 0; step < 2; step++) {
		if ((step == 0) == (send_first != 0)) {
			while (done < size) {
				int n = SSL_write(ssl, data + done, size - done > (1 << 20) ? 1 << 20 : (int)(size - done));

				if (n <= 0)
					die("SSL_write failed");
				done += n;
			}
		} else {
			while (have < recv_bytes) {
				int n = SSL_read(ssl, got + have, (int)(recv_bytes - have));

				if (n <= 0)
					die("SSL_read failed before all bytes arrived");
				have += n;
			}
		}
	}
	out = fopen(out_file, "wb");
	if (!out || fwrite(got, 1, have, out) != (size_t)have || fclose(out))
		die("cannot write the output file");
	free(data);
	free(got);
}

static int server(char **a)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	struct sockaddr_in addr = { .sin_family = AF_INET };
	int one = 1, ls, fd;
	char buf[256];
	SSL *ssl;

	if (!ctx || SSL_CTX_use_certificate_file(ctx, a[0], SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, a[1], SSL_FILETYPE_PEM) != 1)
		die("cannot load the certificate or key");
	inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
	ls = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ls < 0 || bind(ls, (struct sockaddr *)&addr, sizeof(addr)) || listen(ls, 1))
		die("cannot listen");
	timeouts(ls);
#ifdef WITH_BANNER
	printf("{\"port\": %d, \"openssl\": \"%s\"}\n", local_port(ls), OpenSSL_version(OPENSSL_VERSION));
#else
	printf("{\"port\": %d}\n", local_port(ls));
#endif
	fflush(stdout);
	fd = accept(ls, NULL, NULL);
	if (fd < 0)
		die("accept failed");
	timeouts(fd);
	ssl = SSL_new(ctx);
	if (!ssl || SSL_set_fd(ssl, fd) != 1 || SSL_accept(ssl) != 1)
		die("handshake failed");
	exchange(ssl, a[3], atol(a[2]), a[4], 0);
	/* The client closes once it has read everything. */
	while (SSL_read(ssl, buf, sizeof(buf)) > 0)
		;
	printf("{\"fd\": %d, \"port\": %d}\n", fd, local_port(fd));
	SSL_free(ssl);
	close(fd);
	close(ls);
	SSL_CTX_free(ctx);
	return 0;
}

static int client(char **a)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(atoi(a[0])) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	SSL *ssl;

	inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
	if (!ctx || fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)))
		die("cannot connect");
	timeouts(fd);
	ssl = SSL_new(ctx);
	if (!ssl || SSL_set_fd(ssl, fd) != 1 || SSL_connect(ssl) != 1)
		die("handshake failed");
	exchange(ssl, a[1], atol(a[2]), a[3], 1);
	printf("{\"fd\": %d, \"port\": %d}\n", fd, local_port(fd));
	SSL_shutdown(ssl);
	SSL_free(ssl);
	close(fd);
	SSL_CTX_free(ctx);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 7 && strcmp(argv[1], "server") == 0)
		return server(argv + 2);
	if (argc == 6 && strcmp(argv[1], "client") == 0)
		return client(argv + 2);
	fprintf(stderr, "usage: static_peer server CERT KEY RECV_BYTES SEND_FILE OUT_FILE | "
		"client PORT SEND_FILE RECV_BYTES OUT_FILE\n");
	return 2;
}
