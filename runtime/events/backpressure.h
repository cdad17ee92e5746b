/* SPDX-License-Identifier: MIT */
/*
 * --lossless: the kernel side stops (SIGSTOP) a traced process that fills
 * the ring past a quarter; the reader continues it (SIGCONT) once the ring is
 * empty again. Nothing is dropped, at the price of the traced program
 * waiting for plainsight, and of its parent seeing it stop.
 */
#ifndef PS_BACKPRESSURE_H
#define PS_BACKPRESSURE_H

#include <stdint.h>

/*
 * Continues every process in the stopped map (its fd; negative: none) and
 * empties it. The number of processes continued.
 */
uint64_t ps_backpressure_release(int stopped_fd);

#endif
