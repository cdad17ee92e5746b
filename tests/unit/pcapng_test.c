/* SPDX-License-Identifier: MIT */
/* The pcapng block writer: runtime/output/pcapng.c, read back by libpcap and block by block. */
#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include "check.h"
#include "pcapng.h"

static char path[96];

static int open_fresh(void)
{
	snprintf(path, sizeof(path), "/tmp/ps_pcapng_test.%d", (int)getpid());
	return open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
}

static uint8_t *read_all(size_t *len)
{
	struct stat st;
	uint8_t *buf;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &st) != 0) {
		*len = 0;
		return NULL;
	}
	buf = malloc((size_t)st.st_size + 1);
	*len = (size_t)read(fd, buf, (size_t)st.st_size);
	close(fd);
	return buf;
}

static uint32_t u32_at(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* Every block: length a multiple of 4, the same at both ends, the last ending at the file's end. */
static int count_blocks(const uint8_t *buf, size_t len, uint32_t type, const uint8_t **found)
{
	size_t at = 0;
	int n = 0;

	while (at + 12 <= len) {
		uint32_t total = u32_at(buf + at + 4);

		CHECK(total % 4 == 0 && total >= 12 && at + total <= len);
		if (total % 4 || total < 12 || at + total > len)
			return -1;
		CHECK_INT(u32_at(buf + at + total - 4), total);
		if (u32_at(buf + at) == type) {
			if (found && !n)
				*found = buf + at;
			n++;
		}
		at += total;
	}
	CHECK_INT(at, len);
	return n;
}

static void write_sample(struct ps_pcapng *w)
{
	static const uint8_t frame[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 8, 0, 0x45 };
	static const char keys[] = "CLIENT_RANDOM 00 11\n";

	CHECK_INT(ps_pcapng_section(w, "plainsight test", "Linux"), 0);
	CHECK_INT(ps_pcapng_interface(w, "lo", DLT_EN10MB, 262144, "tcp port 443"), 0);
	CHECK_INT(ps_pcapng_secrets(w, PS_PCAPNG_SECRETS_TLS_KEYLOG, keys, strlen(keys)), 0);
	CHECK_INT(ps_pcapng_packet(w, 0, 1700000000123456789ull, frame, sizeof(frame), 60, "pid=1 comm=x"), 0);
	CHECK_INT(ps_pcapng_packet(w, 0, 1700000001000000001ull, frame, 14, 14, NULL), 0);
}

static void test_blocks_read_back(void)
{
	int fd = open_fresh();
	struct ps_pcapng *w = ps_pcapng_new(fd);
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *data;
	const uint8_t *dsb = NULL;
	struct ps_pcapng_kept kept;
	uint8_t *buf;
	size_t len;
	pcap_t *p;

	write_sample(w);
	CHECK_INT(ps_pcapng_flush(w, &kept), 0);
	CHECK_INT(ps_pcapng_pending(w), 0);
	ps_pcapng_free(w);
	close(fd);

	buf = read_all(&len);
	CHECK_INT(count_blocks(buf, len, 0x0000000a, &dsb), 1);
	CHECK_INT(count_blocks(buf, len, 0x00000006, NULL), 2);
	if (dsb) {
		CHECK_INT(u32_at(dsb + 8), 0x544c534b);
		CHECK_INT(u32_at(dsb + 12), 20);
		CHECK(memcmp(dsb + 16, "CLIENT_RANDOM 00 11\n", 20) == 0);
	}
	free(buf);

	p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, errbuf);
	CHECK(p != NULL);
	if (!p)
		return;
	CHECK_INT(pcap_datalink(p), DLT_EN10MB);
	CHECK_INT(pcap_next_ex(p, &h, &data), 1);
	CHECK_INT(h->ts.tv_sec, 1700000000);
	CHECK_INT(h->ts.tv_usec, 123456789);
	CHECK_INT(h->caplen, 15);
	CHECK_INT(h->len, 60);
	CHECK_INT(data[14], 0x45);
	CHECK_INT(pcap_next_ex(p, &h, &data), 1);
	CHECK_INT(h->ts.tv_usec, 1);
	CHECK_INT(h->caplen, 14);
	CHECK_INT(pcap_next_ex(p, &h, &data), PCAP_ERROR_BREAK);
	pcap_close(p);
	unlink(path);
}

/*
 * A write that fails halfway (the file size limit stands in for a full
 * disk): the file is cut back to the whole blocks that reached it, the
 * flush's first packet among them, and stays readable.
 */
static void test_failed_write_leaves_whole_blocks(void)
{
	int fd = open_fresh();
	struct ps_pcapng *w = ps_pcapng_new(fd);
	struct ps_pcapng_kept kept;
	struct rlimit old, limit;
	static uint8_t big[4000];
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *data;
	size_t first_len, small_block_len, len;
	uint8_t *buf;
	pcap_t *p;
	int n = 0;

	write_sample(w);
	CHECK_INT(ps_pcapng_flush(w, &kept), 0);
	first_len = (size_t)lseek(fd, 0, SEEK_CUR);
	CHECK_INT(ps_pcapng_packet(w, 0, 1, big, 100, 100, NULL), 0);
	small_block_len = ps_pcapng_pending(w);
	CHECK_INT(ps_pcapng_packet(w, 0, 1, big, sizeof(big), sizeof(big), NULL), 0);
	getrlimit(RLIMIT_FSIZE, &old);
	limit = old;
	limit.rlim_cur = first_len + small_block_len + 3000;  /* inside the second packet's block */
	signal(SIGXFSZ, SIG_IGN);
	setrlimit(RLIMIT_FSIZE, &limit);
	CHECK_INT(ps_pcapng_flush(w, &kept), -EFBIG);
	setrlimit(RLIMIT_FSIZE, &old);
	signal(SIGXFSZ, SIG_DFL);
	CHECK_INT(kept.packets, 1);
	CHECK_INT(kept.packet_bytes, 100);
	CHECK_INT(kept.secrets, 0);
	/* the error sticks: nothing after a gap */
	CHECK_INT(ps_pcapng_packet(w, 0, 1, big, 10, 10, NULL), -EFBIG);
	CHECK_INT(ps_pcapng_flush(w, &kept), -EFBIG);
	CHECK_INT(kept.packets, 0);
	ps_pcapng_free(w);
	close(fd);

	buf = read_all(&len);
	CHECK_INT(len, first_len + small_block_len);
	free(buf);
	p = pcap_open_offline(path, errbuf);
	CHECK(p != NULL);
	if (p) {
		while (pcap_next_ex(p, &h, &data) == 1)
			n++;
		CHECK_INT(n, 3);
		pcap_close(p);
	}
	unlink(path);
}

int main(void)
{
	TEST(test_blocks_read_back);
	TEST(test_failed_write_leaves_whole_blocks);
	return TEST_EXIT();
}
