/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cache_file.h"

#define FNV_PRIME 0x100000001b3ull

uint64_t ps_fnv1a(uint64_t hash, const void *data, size_t size)
{
	const uint8_t *p = data;

	for (size_t i = 0; i < size; i++)
		hash = (hash ^ p[i]) * FNV_PRIME;
	return hash;
}

int ps_cache_check_owner(const struct stat *st)
{
	return st->st_uid != geteuid() || (st->st_mode & (S_IWGRP | S_IWOTH)) ? -EPERM : 0;
}

int ps_cache_dir_make(const char *dir)
{
	char path[PATH_MAX];
	struct stat st;
	size_t len = strlen(dir);

	if (len == 0 || len >= sizeof(path))
		return -ENAMETOOLONG;
	memcpy(path, dir, len + 1);
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(path, 0755) && errno != EEXIST)
		return -errno;
	if (stat(path, &st))
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	return ps_cache_check_owner(&st);
}

int ps_read_fd_all(int fd, size_t limit, uint8_t **data, size_t *size)
{
	size_t cap = 4096, len = 0;
	uint8_t *buf = malloc(cap);
	ssize_t n;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		if (len == cap) {
			uint8_t *grown;

			if (cap >= limit) {
				free(buf);
				return -EFBIG;
			}
			cap *= 2;
			grown = realloc(buf, cap);
			if (!grown) {
				free(buf);
				return -ENOMEM;
			}
			buf = grown;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = -errno;

			free(buf);
			return err;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	*data = buf;
	*size = len;
	return 0;
}

int ps_read_path_all(const char *path, size_t limit, uint8_t **data, size_t *size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int err;

	if (fd < 0)
		return -errno;
	err = ps_read_fd_all(fd, limit, data, size);
	close(fd);
	return err;
}

int ps_cache_read_owned(const char *path, size_t limit, uint8_t **data, size_t *size)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	int err;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		err = -errno;
	} else if (!S_ISREG(st.st_mode)) {
		err = -EINVAL;
	} else {
		err = ps_cache_check_owner(&st);
		if (!err)
			err = ps_read_fd_all(fd, limit, data, size);
	}
	close(fd);
	return err;
}

int ps_write_fd_all(int fd, const void *data, size_t size)
{
	const uint8_t *p = data;

	while (size) {
		ssize_t n = write(fd, p, size);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		size -= (size_t)n;
	}
	return 0;
}

int ps_cache_write_atomic(const char *dir, const char *path, mode_t mode, const void *head, size_t head_size,
			  const void *body, size_t body_size)
{
	char tmp[PATH_MAX];
	int fd, err;

	if (snprintf(tmp, sizeof(tmp), "%s/.entry-XXXXXX", dir) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = fchmod(fd, mode) ? -errno : 0;
	if (!err)
		err = ps_write_fd_all(fd, head, head_size);
	if (!err)
		err = ps_write_fd_all(fd, body, body_size);
	if (close(fd) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}
