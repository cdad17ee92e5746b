/* tls_pump: a TLS bulk transfer over loopback, for `make bench` (P1, P2, P5).
 *
 * One process, two threads: a server thread that accepts one TLS connection
 * on 127.0.0.1 and SSL_reads until it has every byte, and the main thread
 * that connects and SSL_writes BYTES bytes in CHUNK-byte calls.  Both ends
 * live in one process so that `plainsight -p PID` sees exactly this
 * transfer: the bytes it should capture are BYTES written plus BYTES read.
 *
 * The payload is printable ASCII (an HTTP-like text body), so text and json
 * output carry it without escaping.
 *
 * With -g the pump sets up, prints "ready PID port PORT" on stdout and waits
 * for SIGUSR1 before the handshake, so a tracer can attach to that PID (or
 * capture that port) first.
 *
 * Output (stdout, one line):
 *   bytes=N written=N read=N seconds=S mib_per_s=X chunk=C pid=P
 * The time runs from the first SSL_write to the server's last SSL_read.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

static const char *cert_file, *key_file;
static uint64_t total_bytes = 256ull << 20;
static size_t chunk = 16384;
static size_t read_size = 65536;
static int listen_fd = -1;

static uint64_t server_read;
static struct timespec server_done;
static int server_failed;

static void die(const char *what)
{
	fprintf(stderr, "tls_pump: %s: %s\n", what, errno ? strerror(errno) : "failed");
	ERR_print_errors_fp(stderr);
	exit(1);
}

static double secs(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static uint64_t parse_size(const char *s)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s || v < 0) {
		fprintf(stderr, "tls_pump: bad size '%s'\n", s);
		exit(2);
	}
	switch (*end) {
	case 'k': case 'K': v *= 1024; break;
	case 'm': case 'M': v *= 1024 * 1024; break;
	case 'g': case 'G': v *= 1024.0 * 1024 * 1024; break;
	case '\0': break;
	default:
		fprintf(stderr, "tls_pump: bad size suffix in '%s'\n", s);
		exit(2);
	}
	return (uint64_t)v;
}

static void *server_main(void *arg)
{
	SSL_CTX *ctx = arg;
	int fd = accept(listen_fd, NULL, NULL);
	if (fd < 0) {
		server_failed = 1;
		return NULL;
	}
	SSL *ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	if (SSL_accept(ssl) != 1) {
		ERR_print_errors_fp(stderr);
		server_failed = 1;
		close(fd);
		return NULL;
	}
	char *buf = malloc(read_size);
	if (!buf) {
		server_failed = 1;
		return NULL;
	}
	while (server_read < total_bytes) {
		int n = SSL_read(ssl, buf, (int)read_size);
		if (n <= 0) {
			ERR_print_errors_fp(stderr);
			server_failed = 1;
			break;
		}
		server_read += (uint64_t)n;
	}
	clock_gettime(CLOCK_MONOTONIC, &server_done);
	SSL_shutdown(ssl);
	SSL_free(ssl);
	close(fd);
	free(buf);
	return NULL;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: tls_pump -c CERT -k KEY [-n BYTES] [-b CHUNK] [-r READSIZE] [-g]\n"
		"  sizes take k, m, g suffixes (binary); defaults -n 256m -b 16k -r 64k\n");
	exit(2);
}

int main(int argc, char **argv)
{
	int gate = 0, opt;
	while ((opt = getopt(argc, argv, "c:k:n:b:r:gh")) != -1) {
		switch (opt) {
		case 'c': cert_file = optarg; break;
		case 'k': key_file = optarg; break;
		case 'n': total_bytes = parse_size(optarg); break;
		case 'b': chunk = (size_t)parse_size(optarg); break;
		case 'r': read_size = (size_t)parse_size(optarg); break;
		case 'g': gate = 1; break;
		default: usage();
		}
	}
	if (!cert_file || !key_file || chunk == 0 || chunk > (1u << 30) ||
	    read_size == 0 || read_size > (1u << 30))
		usage();

	sigset_t usr1;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	/* Block before any thread exists so every thread inherits the mask. */
	pthread_sigmask(SIG_BLOCK, &usr1, NULL);
	signal(SIGPIPE, SIG_IGN);

	SSL_CTX *sctx = SSL_CTX_new(TLS_server_method());
	SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
	if (!sctx || !cctx)
		die("SSL_CTX_new");
	if (SSL_CTX_use_certificate_chain_file(sctx, cert_file) != 1 ||
	    SSL_CTX_use_PrivateKey_file(sctx, key_file, SSL_FILETYPE_PEM) != 1)
		die("loading certificate/key");
	SSL_CTX_set_verify(cctx, SSL_VERIFY_NONE, NULL);

	listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	if (listen_fd < 0)
		die("socket");
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = 0 };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t salen = sizeof(sa);
	if (bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(listen_fd, 1) < 0 ||
	    getsockname(listen_fd, (struct sockaddr *)&sa, &salen) < 0)
		die("bind/listen on 127.0.0.1");

	char *buf = malloc(chunk);
	if (!buf)
		die("malloc");
	static const char text[] =
		"HTTP/1.1 200 OK plainsight bench payload: the quick brown fox jumps over the lazy dog 0123456789\n";
	for (size_t i = 0; i < chunk; i++)
		buf[i] = text[i % (sizeof(text) - 1)];

	if (gate) {
		printf("ready %d port %d\n", (int)getpid(), (int)ntohs(sa.sin_port));
		fflush(stdout);
		int sig;
		sigwait(&usr1, &sig);
	}

	pthread_t th;
	if (pthread_create(&th, NULL, server_main, sctx) != 0)
		die("pthread_create");

	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("connect");
	SSL *ssl = SSL_new(cctx);
	SSL_set_fd(ssl, fd);
	if (SSL_connect(ssl) != 1)
		die("SSL_connect");

	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	uint64_t written = 0;
	while (written < total_bytes) {
		uint64_t left = total_bytes - written;
		int len = (int)(left < chunk ? left : chunk);
		int n = SSL_write(ssl, buf, len);
		if (n <= 0)
			die("SSL_write");
		written += (uint64_t)n;
	}
	pthread_join(th, NULL);
	SSL_shutdown(ssl);
	SSL_free(ssl);
	close(fd);
	if (server_failed || server_read != total_bytes) {
		fprintf(stderr, "tls_pump: server read %llu of %llu bytes\n",
			(unsigned long long)server_read, (unsigned long long)total_bytes);
		return 1;
	}
	double s = secs(&t0, &server_done);
	printf("bytes=%llu written=%llu read=%llu seconds=%.6f mib_per_s=%.2f chunk=%zu pid=%d\n",
	       (unsigned long long)total_bytes, (unsigned long long)written,
	       (unsigned long long)server_read, s, (double)total_bytes / s / 1048576.0,
	       chunk, (int)getpid());
	SSL_CTX_free(sctx);
	SSL_CTX_free(cctx);
	free(buf);
	return 0;
}
