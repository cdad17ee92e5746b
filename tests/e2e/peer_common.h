/* SPDX-License-Identifier: MIT */
/*
 * What the small TLS clients of the library tests (wolfssl_peer.c,
 * mbedtls_peer.c, nss_peer.c, boringssl_peer.c) share: the arguments PORT
 * SEND_FILE RECV_BYTES OUT_FILE, {"pid": P} then a go line on stdin (so
 * that plainsight can be told the pid first), a connected socket with 60 s
 * timeouts, and at the end the bytes read written to OUT_FILE and
 * {"fd": F, "local": [A, P], "peer": [A, P]}.
 */
#ifndef PEER_COMMON_H
#define PEER_COMMON_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

struct peer {
	const char *out;
	unsigned char *data, *got;
	size_t len, want, have;
	int fd;
};

static const char *peer_name = "peer";

static void peer_die(const char *what)
{
	fprintf(stderr, "%s: %s failed\n", peer_name, what);
	exit(1);
}

static void peer_print_addr(const char *name, const struct sockaddr_in *a)
{
	char ip[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
	printf("\"%s\": [\"%s\", %u]", name, ip, ntohs(a->sin_port));
}

static void peer_start(struct peer *p, int argc, char **argv, const char *name)
{
	struct sockaddr_in addr = { .sin_family = AF_INET };
	struct timeval tv = { .tv_sec = 60 };
	char line[16];
	FILE *f;
	long size;

	peer_name = name;
	memset(p, 0, sizeof(*p));
	if (argc != 5) {
		fprintf(stderr, "usage: %s PORT SEND_FILE RECV_BYTES OUT_FILE\n", name);
		exit(2);
	}
	f = fopen(argv[2], "rb");
	if (!f || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
		peer_die("reading the file to send");
	p->len = (size_t)size;
	p->data = malloc(p->len + 1);
	if (!p->data || fread(p->data, 1, p->len, f) != p->len)
		peer_die("reading the file to send");
	fclose(f);
	p->want = strtoull(argv[3], NULL, 10);
	p->got = malloc(p->want + 1);
	p->out = argv[4];
	if (!p->got)
		peer_die("malloc");
	printf("{\"pid\": %d}\n", (int)getpid());
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		peer_die("reading the go line");
	p->fd = socket(AF_INET, SOCK_STREAM, 0);
	addr.sin_port = htons((uint16_t)atoi(argv[1]));
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (p->fd < 0)
		peer_die("socket");
	setsockopt(p->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(p->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(p->fd, (struct sockaddr *)&addr, sizeof(addr)) != 0)
		peer_die("connect");
}

static void peer_finish(struct peer *p)
{
	struct sockaddr_in local, remote;
	socklen_t len = sizeof(local);
	FILE *f = fopen(p->out, "wb");

	if (!f || fwrite(p->got, 1, p->want, f) != p->want || fclose(f) != 0)
		peer_die("writing the output file");
	getsockname(p->fd, (struct sockaddr *)&local, &len);
	len = sizeof(remote);
	getpeername(p->fd, (struct sockaddr *)&remote, &len);
	printf("{\"fd\": %d, ", p->fd);
	peer_print_addr("local", &local);
	printf(", ");
	peer_print_addr("peer", &remote);
	printf("}\n");
	fflush(stdout);
}

#endif
