/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "pcapng.h"
#include "write_full.h"

/* Block types and option codes, draft-ietf-opsawg-pcapng sections 4 and 3.5. */
#define BLOCK_SHB 0x0a0d0d0au
#define BLOCK_IDB 0x00000001u
#define BLOCK_EPB 0x00000006u
#define BLOCK_DSB 0x0000000au
/* an Enhanced Packet Block's Captured Packet Length: after type, length, interface and timestamp (4.3) */
#define EPB_CAPTURED_LEN_AT 20
#define BYTE_ORDER_MAGIC 0x1a2b3c4du

#define OPT_END 0
#define OPT_COMMENT 1
#define SHB_OS 3
#define SHB_USERAPPL 4
#define IF_NAME 2
#define IF_TSRESOL 9
#define IF_FILTER 11

/* if_filter's first byte says the filter's kind: 0 is a libpcap filter string (section 4.2). */
#define IF_FILTER_LIBPCAP 0
#define TSRESOL_NANOSECONDS 9

/* An option's length field is 16 bits: a longer value (a huge command line in a comment) is cut there. */
#define OPTION_MAX_LEN 0xfff8u

struct ps_pcapng {
	int fd;
	uint8_t *buf;
	size_t len, cap;
	size_t block_start;         /* where the block being built begins */
	off_t committed;            /* file bytes known to be whole blocks */
	ps_pcapng_emit_fn emit;     /* instead of fd, when set */
	void *emit_arg;
	int error;
};

struct ps_pcapng *ps_pcapng_new(int fd)
{
	struct ps_pcapng *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->fd = fd;
	w->committed = lseek(fd, 0, SEEK_CUR);
	if (w->committed < 0)
		w->committed = 0;
	return w;
}

struct ps_pcapng *ps_pcapng_new_emit(ps_pcapng_emit_fn emit, void *arg)
{
	struct ps_pcapng *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->fd = -1;
	w->emit = emit;
	w->emit_arg = arg;
	return w;
}

void ps_pcapng_free(struct ps_pcapng *w)
{
	if (!w)
		return;
	free(w->buf);
	free(w);
}

size_t ps_pcapng_pending(const struct ps_pcapng *w)
{
	return w->len;
}

void ps_pcapng_last_block(const struct ps_pcapng *w, const uint8_t **data, size_t *len)
{
	*data = w->buf + w->block_start;
	*len = w->len - w->block_start;
}

void ps_pcapng_take(struct ps_pcapng *w, const uint8_t **data, size_t *len)
{
	*data = w->buf;
	*len = w->len;
	w->len = 0;
	w->block_start = 0;
}

static int reserve(struct ps_pcapng *w, size_t more)
{
	size_t cap = w->cap ? w->cap : 65536;
	uint8_t *buf;

	if (w->len + more <= w->cap)
		return 0;
	while (cap < w->len + more)
		cap *= 2;
	buf = realloc(w->buf, cap);
	if (!buf)
		return -ENOMEM;
	w->buf = buf;
	w->cap = cap;
	return 0;
}

static void put(struct ps_pcapng *w, const void *data, size_t len)
{
	memcpy(w->buf + w->len, data, len);
	w->len += len;
}

static void put_u16(struct ps_pcapng *w, uint16_t v)
{
	put(w, &v, sizeof(v));
}

static void put_u32(struct ps_pcapng *w, uint32_t v)
{
	put(w, &v, sizeof(v));
}

static void put_padding(struct ps_pcapng *w, size_t len)
{
	static const uint8_t zeros[4];

	put(w, zeros, (4 - len % 4) % 4);
}

static size_t padded(size_t len)
{
	return (len + 3) & ~(size_t)3;
}

static size_t option_size(size_t len)
{
	return 4 + padded(len > OPTION_MAX_LEN ? OPTION_MAX_LEN : len);
}

/* Type and a length patched by block_end; body_max bounds what comes between. */
static int block_begin(struct ps_pcapng *w, uint32_t type, size_t body_max)
{
	if (w->error)
		return w->error;
	if (body_max > UINT32_MAX - 12 || reserve(w, body_max + 12))
		return -ENOMEM;
	w->block_start = w->len;
	put_u32(w, type);
	put_u32(w, 0);
	return 0;
}

static void block_end(struct ps_pcapng *w)
{
	uint32_t total = (uint32_t)(w->len - w->block_start + 4);

	memcpy(w->buf + w->block_start + 4, &total, sizeof(total));
	put_u32(w, total);
}

static void put_option(struct ps_pcapng *w, uint16_t code, const void *value, size_t len)
{
	if (len > OPTION_MAX_LEN)
		len = OPTION_MAX_LEN;
	put_u16(w, code);
	put_u16(w, (uint16_t)len);
	put(w, value, len);
	put_padding(w, len);
}

static void put_string_option(struct ps_pcapng *w, uint16_t code, const char *value)
{
	if (value && *value)
		put_option(w, code, value, strlen(value));
}

static size_t string_option_size(const char *value)
{
	return value && *value ? option_size(strlen(value)) : 0;
}

static void put_end_of_options(struct ps_pcapng *w)
{
	put_u16(w, OPT_END);
	put_u16(w, 0);
}

int ps_pcapng_section(struct ps_pcapng *w, const char *application, const char *os)
{
	int64_t unknown_section_length = -1;
	int err = block_begin(w, BLOCK_SHB, 16 + string_option_size(application) + string_option_size(os) + 4);

	if (err)
		return err;
	put_u32(w, BYTE_ORDER_MAGIC);
	put_u16(w, 1);
	put_u16(w, 0);
	put(w, &unknown_section_length, sizeof(unknown_section_length));
	put_string_option(w, SHB_OS, os);
	put_string_option(w, SHB_USERAPPL, application);
	put_end_of_options(w);
	block_end(w);
	return 0;
}

int ps_pcapng_interface(struct ps_pcapng *w, const char *name, uint16_t linktype, uint32_t snaplen,
			const char *filter)
{
	uint8_t tsresol = TSRESOL_NANOSECONDS;
	size_t filter_len = filter && *filter ? 1 + strlen(filter) : 0;
	int err = block_begin(w, BLOCK_IDB, 8 + string_option_size(name) + option_size(1) +
					    (filter_len ? option_size(filter_len) : 0) + 4);

	if (err)
		return err;
	put_u16(w, linktype);
	put_u16(w, 0);
	put_u32(w, snaplen);
	put_string_option(w, IF_NAME, name);
	put_option(w, IF_TSRESOL, &tsresol, 1);
	if (filter_len) {
		uint8_t kind = IF_FILTER_LIBPCAP;

		if (filter_len > OPTION_MAX_LEN)
			filter_len = OPTION_MAX_LEN;
		/* the kind byte, then the string: one option value, padded once */
		put_u16(w, IF_FILTER);
		put_u16(w, (uint16_t)filter_len);
		put(w, &kind, 1);
		put(w, filter, filter_len - 1);
		put_padding(w, filter_len);
	}
	put_end_of_options(w);
	block_end(w);
	return 0;
}

int ps_pcapng_packet(struct ps_pcapng *w, uint32_t interface_id, uint64_t wall_ns, const void *data,
		     uint32_t captured_len, uint32_t original_len, const char *comment)
{
	size_t comment_size = string_option_size(comment);
	int err = block_begin(w, BLOCK_EPB, 20 + padded(captured_len) + comment_size + 4);

	if (err)
		return err;
	put_u32(w, interface_id);
	put_u32(w, (uint32_t)(wall_ns >> 32));
	put_u32(w, (uint32_t)wall_ns);
	put_u32(w, captured_len);
	put_u32(w, original_len);
	put(w, data, captured_len);
	put_padding(w, captured_len);
	if (comment_size) {
		put_string_option(w, OPT_COMMENT, comment);
		put_end_of_options(w);
	}
	block_end(w);
	return 0;
}

int ps_pcapng_secrets(struct ps_pcapng *w, uint32_t secrets_type, const void *data, size_t len)
{
	int err;

	if (len > UINT32_MAX - 64)
		return -E2BIG;
	err = block_begin(w, BLOCK_DSB, 8 + padded(len));
	if (err)
		return err;
	put_u32(w, secrets_type);
	put_u32(w, (uint32_t)len);
	put(w, data, len);
	put_padding(w, len);
	block_end(w);
	return 0;
}

/*
 * Of the first written bytes of the buffer, the whole blocks: their length,
 * and how many of them are packets and secrets.
 */
static size_t whole_blocks(const struct ps_pcapng *w, size_t written, struct ps_pcapng_kept *kept)
{
	size_t at = 0;

	while (at + 8 <= written) {
		uint32_t type, total;

		memcpy(&type, w->buf + at, sizeof(type));
		memcpy(&total, w->buf + at + 4, sizeof(total));
		if (total > written - at)
			break;
		if (type == BLOCK_EPB && total >= EPB_CAPTURED_LEN_AT + 4) {
			uint32_t captured;

			memcpy(&captured, w->buf + at + EPB_CAPTURED_LEN_AT, sizeof(captured));
			kept->packets++;
			kept->packet_bytes += captured;
		}
		kept->secrets += type == BLOCK_DSB;
		at += total;
	}
	return at;
}

/*
 * A failed write (a full disk) may have left part of a block: the file is
 * cut back to the whole blocks that reached it, which stay.
 */
static void cut_back(struct ps_pcapng *w, size_t written, struct ps_pcapng_kept *kept)
{
	off_t end = w->committed + (off_t)whole_blocks(w, written, kept);

	if (ftruncate(w->fd, end) == 0)
		lseek(w->fd, end, SEEK_SET);
}

int ps_pcapng_flush(struct ps_pcapng *w, struct ps_pcapng_kept *kept)
{
	size_t written;
	int err;

	*kept = (struct ps_pcapng_kept){ 0 };
	if (w->error)
		return w->error;
	if (w->emit) {
		err = w->len ? w->emit(w->emit_arg, w->buf, w->len) : 0;

		w->len = 0;
		if (err)
			w->error = err;
		return err;
	}
	err = ps_write_full(w->fd, w->buf, w->len, &written);
	if (err) {
		w->error = err;
		cut_back(w, written, kept);
		w->len = 0;
		return err;
	}
	w->committed += (off_t)w->len;
	w->len = 0;
	return 0;
}
