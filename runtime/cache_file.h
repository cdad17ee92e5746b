/* SPDX-License-Identifier: MIT */
/*
 * Files plainsight keeps between runs in its cache directory (the kernel
 * types of core_btf.c, the library verdicts of verdict_cache.c): what they
 * hold decides where probes go and what they read, so only a file we own,
 * in a directory nobody else may write, is read, and a file is written
 * whole under a temporary name and renamed, so a reader never sees half.
 */
#ifndef PS_CACHE_FILE_H
#define PS_CACHE_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

/*
 * FNV-1a, 64 bits: enough to tell kernels, builds and libraries apart and to
 * catch a damaged file; the ownership checks keep out deliberate ones.
 * libcrypto's digests would cost ~2 MiB of resident memory for its set-up.
 */
#define PS_FNV_OFFSET 0xcbf29ce484222325ull
uint64_t ps_fnv1a(uint64_t hash, const void *data, size_t size);

/* 0 when st (a file or directory at path) is ours and nobody else may write it; else -EPERM. */
int ps_cache_check_owner(const struct stat *st);

/* Makes dir and its parents (mode 0755) and checks it as above. */
int ps_cache_dir_make(const char *dir);

/* The whole of an owned regular file at path (no symbolic link), at most limit bytes (-EFBIG). */
int ps_cache_read_owned(const char *path, size_t limit, uint8_t **data, size_t *size);

/* All of fd (up to limit bytes), or all of path. */
int ps_read_fd_all(int fd, size_t limit, uint8_t **data, size_t *size);
int ps_read_path_all(const char *path, size_t limit, uint8_t **data, size_t *size);
int ps_write_fd_all(int fd, const void *data, size_t size);

/* Writes head then body into dir/.entry-XXXXXX with mode, then renames it to path. */
int ps_cache_write_atomic(const char *dir, const char *path, mode_t mode, const void *head, size_t head_size,
			  const void *body, size_t body_size);

#endif
