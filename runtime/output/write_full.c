/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <unistd.h>
#include "write_full.h"

int ps_write_full(int fd, const void *data, size_t len, size_t *written)
{
	const char *at = data;
	size_t done = 0;
	int err = 0;

	while (done < len) {
		ssize_t n = write(fd, at + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? -errno : -EIO;
			break;
		}
		done += (size_t)n;
	}
	if (written)
		*written = done;
	return err;
}
