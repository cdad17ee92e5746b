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

struct ps_record {
	const struct ps_module_desc *module;
	const struct ps_event_desc *event;
	const void *fixed;          /* event->fixed_size bytes, starting with struct ps_event_header */
	const uint8_t *data;        /* the variable part, joined; NULL when the event has none */
	size_t data_len;
	uint64_t time_ns;           /* wall clock, ns since the epoch */
	uint64_t lost_bytes;        /* bytes of data the ring buffer could not carry: zeros in data */
	bool incomplete;            /* the call's last chunk never arrived */
	/*
	 * Only the collected text is known: the record that would have collected
	 * it never came (collect.h), so every other field is absent.
	 */
	bool unfinished;
	bool read_failed;           /* some data could not be read from the traced process */
};

static inline const struct ps_event_header *ps_record_header(const struct ps_record *rec)
{
	return (const struct ps_event_header *)rec->fixed;
}

/* What the runtime counts; shown in the status line and the exit summary. */
struct ps_counters {
	uint64_t records;           /* records written */
	uint64_t bytes;             /* data bytes written */
	uint64_t chunks;            /* ring-buffer records read */
	uint64_t kernel_loss[PS_LOSS_KINDS]; /* summed over CPUs, see enum ps_loss_kind */
	uint64_t gap_bytes;         /* data missing inside joined calls */
	uint64_t incomplete;        /* calls whose last chunk never came */
	uint64_t malformed;         /* ring-buffer records that made no sense */
	uint64_t write_errors;      /* records the output could not take */
	uint64_t kernel_missed;     /* probe runs the kernel skipped (bpf_prog_info.recursion_misses) */
	uint64_t uncollected;       /* buffered records no later record took (collect.h) */
	uint64_t check_mismatch;    /* `check` fields that disagreed */
	bool keys_refused;          /* secrets the accessors do not confirm are left out (target.h) */
	uint64_t secrets_dropped;   /* secrets records written without them, or not at all */
	/* -m pcapng (pcapng_output.h) */
	uint64_t packets;           /* packets written */
	uint64_t packet_bytes;      /* their captured bytes */
	uint64_t packets_dropped;   /* dropped by the kernel capture, its ring full (pcap_stats) */
	uint64_t packets_unwritten; /* captured, but the file failed */
	uint64_t secrets_written;   /* key log lines in Decryption Secrets Blocks */
	uint64_t packets_unattributed; /* written without the process that sent them */
	uint64_t packets_other_processes; /* left out by -p or -u (or of no known process then) */
};

#endif
