/* SPDX-License-Identifier: MIT */
/*
 * --from wire: the interfaces' packets moved by a thread of their own from
 * the kernel's capture rings into a backlog in plainsight's memory, so that
 * the rings are emptied as fast as packets come however long decryption and
 * output take on the main thread (bench P2w: a 32 MiB kernel ring drained
 * only between two batches of records overflowed during a bulk transfer). A
 * packet the backlog has no room for is dropped and counted; its connection
 * shows a gap.
 *
 * --lossless: the processes whose plaintext is written are stopped
 * (SIGSTOP) when the backlog passes a quarter of its size, and continued
 * (SIGCONT) once it is back under an eighth: what they would send waits in
 * their sockets meanwhile, and the rest of the backlog holds what is already
 * on its way (a socket's send buffer, a few MiB).
 */
#ifndef PS_PACKET_QUEUE_H
#define PS_PACKET_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "packet_capture.h"

struct ps_packet_queue;

struct ps_packet_queue_stats {
	uint64_t dropped;           /* packets with no room in the backlog */
	uint64_t kernel_dropped;    /* packets the kernel dropped, its ring full (pcap_stats) */
	uint64_t held_back;         /* --lossless: times a process was stopped for the backlog to drain */
	size_t peak;                /* the most bytes the backlog held */
};

/* The default size: a 16th of the memory available, 64 MiB to 1 GiB. */
size_t ps_packet_queue_default_bytes(void);

/*
 * Starts the thread that drains capture (the queue's until it is freed) into
 * a backlog of capacity bytes. 0, or a negative errno after one error line.
 */
int ps_packet_queue_start(struct ps_packet_capture *capture, size_t capacity, bool lossless,
			  struct ps_packet_queue **out);

/* A descriptor that polls readable while packets wait. */
int ps_packet_queue_fd(const struct ps_packet_queue *q);

/*
 * Hands the packets waiting when it is called to on_packet, oldest first,
 * without blocking (those the thread adds meanwhile wait for the next call,
 * so the caller gets back to its other work). The number of packets, or the
 * first error on_packet returned.
 */
int ps_packet_queue_take(struct ps_packet_queue *q, ps_packet_fn on_packet, void *arg);

/* --lossless: pid's plaintext is written; it is stopped with the others while the backlog is high. */
void ps_packet_queue_hold(struct ps_packet_queue *q, uint32_t pid);

/* Moves the packets still in the kernel's rings and ends the thread; take() then gets the last ones. */
void ps_packet_queue_finish(struct ps_packet_queue *q);

void ps_packet_queue_stats(struct ps_packet_queue *q, struct ps_packet_queue_stats *stats);

/* Ends the thread, continues every process it stopped, frees the backlog. NULL is fine. */
void ps_packet_queue_free(struct ps_packet_queue *q);

#endif
