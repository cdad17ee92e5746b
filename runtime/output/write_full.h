/* SPDX-License-Identifier: MIT */
/* write(2) until all is out: the one loop every file and socket writer uses. */
#ifndef PS_WRITE_FULL_H
#define PS_WRITE_FULL_H

#include <stddef.h>

/*
 * Writes len bytes of data to fd, again after a signal or a short write.
 * 0, or a negative errno (-EIO when the kernel takes nothing); *written
 * (when not NULL) gets what did go out, a failure's part included.
 */
int ps_write_full(int fd, const void *data, size_t len, size_t *written);

#endif
