/* SPDX-License-Identifier: MIT */
/*
 * A TLS client on GnuTLS, for the gnutls module's tests (test_gnutls.py
 * builds it with cc ... -lgnutls against Debian's libgnutls28-dev).
 *
 *   gnutls_peer PORT SEND_FILE RECV_BYTES OUT_FILE PRIORITY
 *       Prints {"pid": P} and waits for a line on stdin (so that plainsight
 *       can be told the pid first), connects to 127.0.0.1:PORT with the
 *       priority string PRIORITY, sends SEND_FILE in ONE gnutls_record_send
 *       call (corked: GnuTLS takes the whole buffer and sends it at
 *       uncork), reads exactly RECV_BYTES with gnutls_record_recv (with
 *       GNUTLS_PEER_PACKET=1 in the environment: gnutls_record_recv_packet,
 *       whose records it copies out with gnutls_packet_get) into OUT_FILE, prints {"fd": F, "local": [A, P], "peer": [A, P]} and
 *       closes.
 * The certificate is not checked. Every socket has a 60 s timeout; any
 * failure: a line on stderr, exit 1.
 */
#include <arpa/inet.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static void die(const char *what, int err)
{
	fprintf(stderr, "gnutls_peer: %s: %s\n", what, err ? gnutls_strerror(err) : "failed");
	exit(1);
}

static unsigned char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf;
	long size;

	if (!f || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
		die("cannot read the file to send", 0);
	buf = malloc((size_t)size + 1);
	if (!buf || fread(buf, 1, (size_t)size, f) != (size_t)size)
		die("cannot read the file to send", 0);
	fclose(f);
	*len = (size_t)size;
	return buf;
}

static void print_addr(const char *name, const struct sockaddr_in *a)
{
	char ip[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
	printf("\"%s\": [\"%s\", %u]", name, ip, ntohs(a->sin_port));
}

int main(int argc, char **argv)
{
	struct sockaddr_in addr = { .sin_family = AF_INET }, local, peer;
	socklen_t alen = sizeof(local);
	struct timeval tv = { .tv_sec = 60 };
	gnutls_certificate_credentials_t cred;
	gnutls_session_t session;
	unsigned char *data, *got;
	size_t len, want, have = 0;
	char line[16];
	const char *err_pos;
	ssize_t n;
	FILE *out;
	int fd, err;

	if (argc != 6) {
		fprintf(stderr, "usage: gnutls_peer PORT SEND_FILE RECV_BYTES OUT_FILE PRIORITY\n");
		return 2;
	}
	data = read_file(argv[2], &len);
	want = strtoull(argv[3], NULL, 10);
	got = malloc(want + 1);
	if (!got)
		die("out of memory", 0);
	printf("{\"pid\": %d}\n", (int)getpid());
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		die("no go line on stdin", 0);

	fd = socket(AF_INET, SOCK_STREAM, 0);
	addr.sin_port = htons((uint16_t)atoi(argv[1]));
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0)
		die("cannot connect", 0);

	if ((err = gnutls_certificate_allocate_credentials(&cred)) < 0)
		die("credentials", err);
	if ((err = gnutls_init(&session, GNUTLS_CLIENT)) < 0)
		die("gnutls_init", err);
	if ((err = gnutls_priority_set_direct(session, argv[5], &err_pos)) < 0)
		die("priority string", err);
	if ((err = gnutls_credentials_set(session, GNUTLS_CRD_CERTIFICATE, cred)) < 0)
		die("credentials_set", err);
	gnutls_transport_set_int(session, fd);
	do
		err = gnutls_handshake(session);
	while (err < 0 && !gnutls_error_is_fatal(err));
	if (err < 0)
		die("handshake", err);

	/* corked, one call takes it all: the test's single 4 MiB call */
	gnutls_record_cork(session);
	n = gnutls_record_send(session, data, len);
	if (n < 0 || (size_t)n != len)
		die("gnutls_record_send did not take the whole buffer", n < 0 ? (int)n : 0);
	do
		err = gnutls_record_uncork(session, GNUTLS_RECORD_WAIT);
	while (err == GNUTLS_E_AGAIN || err == GNUTLS_E_INTERRUPTED);
	if (err < 0)
		die("gnutls_record_uncork", err);

	while (have < want && getenv("GNUTLS_PEER_PACKET")) {
		gnutls_packet_t packet = NULL;
		gnutls_datum_t record;

		n = gnutls_record_recv_packet(session, &packet);
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
			continue;
		if (n <= 0 || !packet)
			die("the server closed early", n < 0 ? (int)n : 0);
		gnutls_packet_get(packet, &record, NULL);
		if (record.size > want - have)
			die("more than RECV_BYTES came", 0);
		memcpy(got + have, record.data, record.size);
		have += record.size;
		gnutls_packet_deinit(packet);
	}
	while (have < want) {
		n = gnutls_record_recv(session, got + have, want - have);
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
			continue;
		if (n <= 0)
			die("the server closed early", n < 0 ? (int)n : 0);
		have += (size_t)n;
	}
	out = fopen(argv[4], "wb");
	if (!out || fwrite(got, 1, want, out) != want || fclose(out) != 0)
		die("cannot write the output file", 0);

	getsockname(fd, (struct sockaddr *)&local, &alen);
	alen = sizeof(peer);
	getpeername(fd, (struct sockaddr *)&peer, &alen);
	printf("{\"fd\": %d, ", fd);
	print_addr("local", &local);
	printf(", ");
	print_addr("peer", &peer);
	printf("}\n");
	fflush(stdout);
	gnutls_bye(session, GNUTLS_SHUT_WR);
	close(fd);
	gnutls_deinit(session);
	gnutls_certificate_free_credentials(cred);
	free(data);
	free(got);
	return 0;
}
