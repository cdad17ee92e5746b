/* SPDX-License-Identifier: MIT */
/*
 * A record is one traced call as the user sees it: the event's fixed part and
 * its variable data joined from all its ring-buffer chunks.
 */
#ifndef PS_RECORD_H
#define PS_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "module.h"
#include "ps_event.h"
#include "wire_causes.h"

/* Bytes of a call that never arrived: [offset, offset + length) of the call's data. */
struct ps_gap {
	uint64_t offset;
	uint64_t length;
};

struct ps_record {
	const struct ps_module_desc *module;
	const struct ps_event_desc *event;
	const void *fixed;          /* event->fixed_size bytes, starting with struct ps_event_header */
	/*
	 * The variable part, joined: only the bytes that arrived, with no stand-in
	 * for those that did not; NULL when the event has none.
	 */
	const uint8_t *data;
	size_t data_len;
	uint64_t time_ns;           /* wall clock, ns since the epoch */
	/*
	 * The byte ranges of the call missing from data (the ring buffer had no
	 * room, the process's memory could not be read), in order and apart:
	 * the call passed data_len + lost_bytes bytes.
	 */
	const struct ps_gap *gaps;
	size_t n_gaps;
	uint64_t lost_bytes;        /* the sum of the gaps' lengths */
	bool incomplete;            /* the call's last chunk never arrived */
	/*
	 * Only the collected text is known: the record that would have collected
	 * it never came (collect.h), so every other field is absent.
	 */
	bool unfinished;
	bool read_failed;           /* some data could not be read from the traced process */
	const char *process_name;   /* NUL-terminated, set by the capture (procname.h); NULL: the header's comm */
};

static inline const struct ps_event_header *ps_record_header(const struct ps_record *rec)
{
	return (const struct ps_event_header *)rec->fixed;
}

/* The process's name as records show it: at most PS_COMM_LEN bytes, not always NUL-terminated. */
static inline const char *ps_record_comm(const struct ps_record *rec)
{
	return rec->process_name ? rec->process_name : ps_record_header(rec)->comm;
}

/* What the runtime counts; shown in the status line and the exit summary. */
struct ps_counters {
	uint64_t records;           /* records written */
	uint64_t bytes;             /* data bytes written: captured bytes only, never a gap */
	uint64_t chunks;            /* ring-buffer records read */
	uint64_t kernel_loss[PS_LOSS_KINDS]; /* summed over CPUs, see enum ps_loss_kind */
	/*
	 * Bytes shown as gaps in the records written: already counted by the
	 * kernel (ring buffer, unreadable), so part of the lost bytes, not more.
	 */
	uint64_t gap_bytes;
	uint64_t unwritten_bytes;   /* data bytes of records the output could not take */
	uint64_t incomplete;        /* calls whose last chunk never came */
	uint64_t malformed;         /* ring-buffer records that made no sense */
	uint64_t write_errors;      /* records the output could not take */
	uint64_t kernel_missed;     /* probe runs the kernel skipped (bpf_prog_info.recursion_misses) */
	uint64_t uncollected;       /* buffered records no later record took (collect.h) */
	uint64_t check_mismatch;    /* `check` fields that disagreed */
	bool keys_refused;          /* secrets the accessors do not confirm are left out (target.h) */
	uint64_t secrets_dropped;   /* secrets records written without them, or not at all */
	uint64_t unreachable_programs; /* programs whose TLS the module cannot see (reach.h) */
	uint64_t targets;           /* files the module was attached to: the first and every copy found (copies.h) */
	/* -m pcapng (pcapng_output.h) */
	uint64_t packets;           /* packets written */
	uint64_t packet_bytes;      /* their captured bytes */
	uint64_t packets_dropped;   /* dropped by the kernel capture, its ring full (pcap_stats) */
	uint64_t packets_backlog_full; /* --from wire: dropped, plainsight's packet backlog full (packet_queue.h) */
	uint64_t packets_unwritten; /* captured, but the file failed */
	uint64_t secrets_written;   /* key log lines in Decryption Secrets Blocks */
	uint64_t interrupted_calls; /* calls whose process ended inside them (probes.h: ps_probes_sweep_gone) */
	uint64_t held_back;         /* --lossless: times a traced process was stopped for the ring to drain */
	uint64_t packets_unattributed; /* written without the process that sent them */
	uint64_t packets_other_processes; /* left out by -p or -u (or of no known process then) */
	/* --from wire (wire.h): the records were decrypted from packets */
	bool wire;
	uint64_t wire_packets;      /* TCP segments read */
	uint64_t wire_connections;
	uint64_t wire_not_tls;      /* connections whose first bytes were no TLS: left alone */
	uint64_t wire_gaps, wire_gap_bytes; /* stream bytes never captured */
	uint64_t wire_undecryptable[PS_WIRE_CAUSES]; /* TLS records, by cause */
};

/*
 * The three totals of the summary, each in one unit, each loss counted once
 * at the place it happened: for the traced calls, bytes + lost bytes is what
 * they passed. Unreadable strings (no length known) count 1 each.
 */
static inline uint64_t ps_counters_lost_bytes(const struct ps_counters *c)
{
	return c->kernel_loss[PS_LOSS_RINGBUF_BYTES] + c->kernel_loss[PS_LOSS_READ_FAIL] +
	       c->kernel_loss[PS_LOSS_TRUNC_BYTES] + c->unwritten_bytes;
}

/* Records lost whole: ring-buffer records with no room, malformed, not written, never collected. */
static inline uint64_t ps_counters_lost_records(const struct ps_counters *c)
{
	return c->kernel_loss[PS_LOSS_RINGBUF_EVENTS] + c->malformed + c->write_errors + c->uncollected;
}

/* Calls not seen whole: joined incomplete, no state slot, probe runs the kernel skipped. */
static inline uint64_t ps_counters_incomplete_calls(const struct ps_counters *c)
{
	return c->incomplete + c->kernel_loss[PS_LOSS_SAVE_FULL] + c->kernel_missed;
}

#endif
