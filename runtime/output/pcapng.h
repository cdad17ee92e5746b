/* SPDX-License-Identifier: MIT */
/*
 * A pcapng file writer (draft-ietf-opsawg-pcapng): Section Header, Interface
 * Description, Enhanced Packet and Decryption Secrets blocks, little-endian
 * as this host. libpcap reads pcapng but cannot write it, hence this file.
 *
 * Blocks are built in memory and reach the file only whole, at a flush: a
 * reader following the file (tshark -r while it grows) never meets half a
 * block, and when a write fails (disk full) the file is cut back to the last
 * whole block, so what was written stays a valid capture.
 */
#ifndef PS_PCAPNG_H
#define PS_PCAPNG_H

#include <stddef.h>
#include <stdint.h>

/* Decryption Secrets Block secrets type: an NSS key log (SSLKEYLOGFILE lines). */
#define PS_PCAPNG_SECRETS_TLS_KEYLOG 0x544c534bu

struct ps_pcapng;

/* Writes to fd (not closed by the writer). NULL when out of memory. */
struct ps_pcapng *ps_pcapng_new(int fd);
/*
 * Writes nowhere: each flush hands its whole blocks to emit (--eventaddr's
 * sink), which copies them; a negative errno from emit fails the flush as a
 * write would. NULL when out of memory.
 */
typedef int (*ps_pcapng_emit_fn)(void *arg, const uint8_t *data, size_t len);
struct ps_pcapng *ps_pcapng_new_emit(ps_pcapng_emit_fn emit, void *arg);
void ps_pcapng_free(struct ps_pcapng *w);

/* The blocks, appended to the buffer; 0 or -ENOMEM. */
int ps_pcapng_section(struct ps_pcapng *w, const char *application, const char *os);
/* Timestamps of this interface are in nanoseconds (if_tsresol 9); filter may be NULL. */
int ps_pcapng_interface(struct ps_pcapng *w, const char *name, uint16_t linktype, uint32_t snaplen,
			const char *filter);
int ps_pcapng_packet(struct ps_pcapng *w, uint32_t interface_id, uint64_t wall_ns, const void *data,
		     uint32_t captured_len, uint32_t original_len, const char *comment);
int ps_pcapng_secrets(struct ps_pcapng *w, uint32_t secrets_type, const void *data, size_t len);

/* Bytes waiting for the next flush. */
size_t ps_pcapng_pending(const struct ps_pcapng *w);
/* The last block appended, whole; valid until the next call. */
void ps_pcapng_last_block(const struct ps_pcapng *w, const uint8_t **data, size_t *len);
/* The blocks waiting, taken out instead of flushed; valid until the next call. */
void ps_pcapng_take(struct ps_pcapng *w, const uint8_t **data, size_t *len);

/* Of a flush that failed, the blocks that reached the file whole. */
struct ps_pcapng_kept {
	size_t packets, secrets;
	uint64_t packet_bytes;      /* the packets' captured bytes */
};

/*
 * Writes the buffered blocks. On failure (a full disk) the file is cut
 * back to the whole blocks that reached it (when it is a regular file), the
 * rest are dropped, kept counts what stays, and every later call fails with
 * the same negative errno.
 */
int ps_pcapng_flush(struct ps_pcapng *w, struct ps_pcapng_kept *kept);

#endif
