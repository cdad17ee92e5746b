/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "log.h"
#include "outfile.h"
#include "rotate_file.h"

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int open_current(struct ps_rotate_file *f)
{
	struct ps_outfile file;
	int err = ps_outfile_open(&file, f->path);

	if (!err)
		err = ps_outfile_begin(&file);
	if (err) {
		ps_outfile_discard(&file);
		return err;
	}
	f->fd = file.fd;
	f->size = 0;
	f->opened_ns = mono_ns();
	return 0;
}

int ps_rotate_file_open(struct ps_rotate_file *f, const char *path, uint64_t max_bytes, uint64_t max_ns)
{
	*f = (struct ps_rotate_file){ .path = path, .fd = -1, .max_bytes = max_bytes, .max_ns = max_ns };
	return open_current(f);
}

static bool due(const struct ps_rotate_file *f, size_t len)
{
	if (!f->size)
		return false;   /* a line longer than the limit gets a file of its own, not an empty one before it */
	if (f->max_bytes && f->size + len > f->max_bytes)
		return true;
	return f->max_ns && mono_ns() - f->opened_ns >= f->max_ns;
}

static int rotate(struct ps_rotate_file *f)
{
	char old[4096];

	close(f->fd);
	f->fd = -1;
	if (snprintf(old, sizeof(old), "%s.%llu", f->path, (unsigned long long)f->rotations + 1) >= (int)sizeof(old))
		return -ENAMETOOLONG;
	if (rename(f->path, old) != 0)
		return -errno;
	f->rotations++;
	return open_current(f);
}

int ps_rotate_file_write(struct ps_rotate_file *f, const uint8_t *data, size_t len)
{
	int err;

	if ((f->fd < 0 || due(f, len)) && (err = f->fd < 0 ? open_current(f) : rotate(f)) != 0)
		return err;
	while (len) {
		ssize_t n = write(f->fd, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		data += n;
		len -= (size_t)n;
		f->size += (uint64_t)n;
	}
	return 0;
}

void ps_rotate_file_close(struct ps_rotate_file *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
}
