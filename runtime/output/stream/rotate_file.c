/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "log.h"
#include "outfile.h"
#include "rotate_file.h"
#include "write_full.h"

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int write_preamble(struct ps_rotate_file *f)
{
	uint64_t written = 0;
	int err;

	if (!f->preamble)
		return 0;
	err = f->preamble(f->preamble_arg, f->fd, &written);
	f->size += written;
	f->preamble_size = f->size;
	return err;
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
	f->preamble_size = 0;
	f->opened_ns = mono_ns();
	return write_preamble(f);
}

int ps_rotate_file_open(struct ps_rotate_file *f, const char *path, uint64_t max_bytes, uint64_t max_ns)
{
	*f = (struct ps_rotate_file){ .path = path, .fd = -1, .max_bytes = max_bytes, .max_ns = max_ns };
	return open_current(f);
}

int ps_rotate_file_set_preamble(struct ps_rotate_file *f, ps_rotate_preamble_fn fn, void *arg)
{
	f->preamble = fn;
	f->preamble_arg = arg;
	return f->fd >= 0 && f->size == 0 ? write_preamble(f) : 0;
}

static bool holds_something(const struct ps_rotate_file *f)
{
	return f->size > f->preamble_size;
}

static bool time_due(const struct ps_rotate_file *f)
{
	return f->max_ns && mono_ns() - f->opened_ns >= f->max_ns;
}

static bool due(const struct ps_rotate_file *f, size_t len)
{
	if (!holds_something(f))
		return false;   /* a line longer than the limit gets a file of its own, not an empty one before it */
	if (f->max_bytes && f->size + len > f->max_bytes)
		return true;
	return time_due(f);
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
	size_t written;
	int err;

	if ((f->fd < 0 || due(f, len)) && (err = f->fd < 0 ? open_current(f) : rotate(f)) != 0)
		return err;
	/* a file's time runs from its first line: one that waited empty is not closed at once */
	if (!holds_something(f))
		f->opened_ns = mono_ns();
	err = ps_write_full(f->fd, data, len, &written);
	f->size += written;
	return err;
}

int ps_rotate_file_tick(struct ps_rotate_file *f)
{
	if (f->fd < 0 || !holds_something(f) || !time_due(f))
		return 0;
	return rotate(f);
}

uint64_t ps_rotate_file_due_in_ns(const struct ps_rotate_file *f)
{
	uint64_t age;

	if (!f->max_ns || f->fd < 0 || !holds_something(f))
		return UINT64_MAX;
	age = mono_ns() - f->opened_ns;
	return age >= f->max_ns ? 0 : f->max_ns - age;
}

void ps_rotate_file_close(struct ps_rotate_file *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
}
