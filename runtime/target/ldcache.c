/* SPDX-License-Identifier: MIT */
/*
 * Finding a shared library by soname the way the dynamic loader does: the
 * glibc /etc/ld.so.cache first, then the default directories.
 *
 * Two cache layouts exist (glibc elf/cache.c, sysdeps/generic/dl-cache.h):
 *   new:      "glibc-ld.so.cache" "1.1" header, entries, strings; string
 *             offsets count from the start of the new header;
 *   old+new:  "ld.so-1.7.0" header and entries, then the new header at the
 *             next 8-byte boundary, hidden inside the old string table.
 * A cache holding only the old layout (glibc < 2.32 with -c old) is read too;
 * its string offsets count from the end of its entries.
 */
#include "ldcache.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LDCACHE_SYSTEM_PATH "/etc/ld.so.cache"

#define OLD_MAGIC      "ld.so-1.7.0"
#define OLD_HEADER_LEN 16 /* char magic[11], padding, uint32 nlibs */
#define OLD_ENTRY_LEN  12 /* int32 flags, uint32 key, uint32 value */

#define NEW_MAGIC      "glibc-ld.so.cache1.1"
#define NEW_HEADER_LEN 48 /* magic, nlibs, len_strings, flags, pad, extension offset, unused[3] */
#define NEW_ENTRY_LEN  24 /* int32 flags, uint32 key, uint32 value, uint32 osversion, uint64 hwcap */
#define NEW_FLAGS_AT   28 /* the header byte saying which byte order the cache uses */
#define NEW_BIG_ENDIAN 3

/* FLAG_ELF_LIBC6 | FLAG_X8664_LIB64: x32 (0x0800) and i386 (0x0003) libraries share sonames. */
#define FLAGS_X86_64 0x0303

/* No real cache comes near this; a bigger file is not one. */
#define CACHE_MAX_SIZE (64u << 20)

static const char *const default_dirs[] = {
	"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib",
};

/* The entries of one cache layout inside the file's bytes. */
struct cache_table {
	size_t entries_at;
	size_t entry_len;
	uint32_t n_entries;
	size_t strings_at; /* what string offsets count from */
	bool has_hwcap;
};

static int copy_out(const char *path, char *out, size_t out_size)
{
	size_t len = strlen(path);

	if (len >= out_size)
		return -ENAMETOOLONG;
	memcpy(out, path, len + 1);
	return 0;
}

static uint32_t read_u32(const uint8_t *at)
{
	uint32_t value;

	memcpy(&value, at, sizeof(value));
	return value;
}

static uint64_t read_u64(const uint8_t *at)
{
	uint64_t value;

	memcpy(&value, at, sizeof(value));
	return value;
}

/* Directories may hold 32-bit libraries or linker scripts under the same name. */
static bool is_x86_64_elf(const char *path)
{
	Elf64_Ehdr header;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t got;

	if (fd < 0)
		return false;
	got = read(fd, &header, sizeof(header));
	close(fd);
	return got == (ssize_t)sizeof(header) && memcmp(header.e_ident, ELFMAG, SELFMAG) == 0 &&
	       header.e_ident[EI_CLASS] == ELFCLASS64 && header.e_machine == EM_X86_64;
}

static int read_whole_file(const char *path, uint8_t **bytes, size_t *size)
{
	struct stat st;
	uint8_t *buffer;
	size_t done = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int err;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		err = -errno;
		goto fail_fd;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > CACHE_MAX_SIZE) {
		err = -EBADMSG;
		goto fail_fd;
	}
	buffer = malloc(st.st_size ? st.st_size : 1);
	if (!buffer) {
		err = -ENOMEM;
		goto fail_fd;
	}
	while (done < (size_t)st.st_size) {
		ssize_t got = read(fd, buffer + done, st.st_size - done);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			err = got < 0 ? -errno : -EIO;
			free(buffer);
			goto fail_fd;
		}
		done += got;
	}
	close(fd);
	*bytes = buffer;
	*size = done;
	return 0;

fail_fd:
	close(fd);
	return err;
}

/* Whether the table's entries lie inside the file; nlibs comes from the file itself. */
static bool table_fits(const struct cache_table *table, size_t size)
{
	if (table->entries_at > size)
		return false;
	return table->n_entries <= (size - table->entries_at) / table->entry_len;
}

static int find_new_table(const uint8_t *cache, size_t size, size_t at, struct cache_table *table)
{
	if (size < NEW_HEADER_LEN || at > size - NEW_HEADER_LEN)
		return -EBADMSG;
	if (memcmp(cache + at, NEW_MAGIC, strlen(NEW_MAGIC)) != 0)
		return -EBADMSG;
	/* Entries are read in host order; a cache written for big-endian is no use here. */
	if ((cache[at + NEW_FLAGS_AT] & 3) == NEW_BIG_ENDIAN)
		return -EBADMSG;
	table->entries_at = at + NEW_HEADER_LEN;
	table->entry_len = NEW_ENTRY_LEN;
	table->n_entries = read_u32(cache + at + strlen(NEW_MAGIC));
	table->strings_at = at;
	table->has_hwcap = true;
	return table_fits(table, size) ? 0 : -EBADMSG;
}

static int find_table(const uint8_t *cache, size_t size, struct cache_table *table)
{
	struct cache_table old;
	size_t new_at;

	if (size >= strlen(NEW_MAGIC) && memcmp(cache, NEW_MAGIC, strlen(NEW_MAGIC)) == 0)
		return find_new_table(cache, size, 0, table);
	if (size < OLD_HEADER_LEN || memcmp(cache, OLD_MAGIC, strlen(OLD_MAGIC)) != 0)
		return -EBADMSG;

	old.entries_at = OLD_HEADER_LEN;
	old.entry_len = OLD_ENTRY_LEN;
	old.n_entries = read_u32(cache + strlen(OLD_MAGIC) + 1);
	old.has_hwcap = false;
	if (!table_fits(&old, size))
		return -EBADMSG;
	old.strings_at = old.entries_at + (size_t)old.n_entries * OLD_ENTRY_LEN;

	/* ldconfig aligns the new header to its own alignment, that of its uint64 hwcap. */
	new_at = (old.strings_at + 7) & ~(size_t)7;
	if (find_new_table(cache, size, new_at, table) == 0)
		return 0;
	*table = old;
	return 0;
}

/* A NUL-terminated string inside the file, or NULL when the offset leads outside it. */
static const char *cache_string(const uint8_t *cache, size_t size, size_t strings_at, uint32_t offset)
{
	size_t at = strings_at + offset;

	if (at < strings_at || at >= size || !memchr(cache + at, '\0', size - at))
		return NULL;
	return (const char *)cache + at;
}

static int lookup_in_cache(const uint8_t *cache, size_t size, const char *soname, char *out, size_t out_size)
{
	struct cache_table table;
	int err = find_table(cache, size, &table);

	if (err)
		return err;
	for (uint32_t i = 0; i < table.n_entries; i++) {
		const uint8_t *entry = cache + table.entries_at + (size_t)i * table.entry_len;
		const char *key = cache_string(cache, size, table.strings_at, read_u32(entry + 4));
		const char *value = cache_string(cache, size, table.strings_at, read_u32(entry + 8));

		if (!key || !value)
			return -EBADMSG;
		if (read_u32(entry) != FLAGS_X86_64 || strcmp(key, soname) != 0)
			continue;
		/*
		 * Entries with hwcap bits name variants in glibc-hwcaps/ subdirectories that
		 * ld.so picks only on CPUs supporting them; the generic entry is always valid.
		 */
		if (table.has_hwcap && read_u64(entry + 16) != 0)
			continue;
		/* A stale entry (library removed since ldconfig ran) is skipped, as ld.so does. */
		if (access(value, F_OK) != 0)
			continue;
		return copy_out(value, out, out_size);
	}
	return -ENOENT;
}

static int join_and_check(const char *dir, size_t dir_len, const char *name, char *out, size_t out_size)
{
	char *path;
	int err = -ENOENT;

	if (asprintf(&path, "%.*s/%s", (int)dir_len, dir, name) < 0)
		return -ENOMEM;
	if (is_x86_64_elf(path))
		err = copy_out(path, out, out_size);
	free(path);
	return err;
}

static int lookup_in_default_dirs(const char *soname, char *out, size_t out_size)
{
	for (size_t i = 0; i < sizeof(default_dirs) / sizeof(default_dirs[0]); i++) {
		int err = join_and_check(default_dirs[i], strlen(default_dirs[i]), soname, out, out_size);

		if (err != -ENOENT)
			return err;
	}
	return -ENOENT;
}

/* Like ld.so, a name with a slash is a path, not a soname to look up. */
static int resolve_path(const char *path, char *out, size_t out_size)
{
	if (access(path, F_OK) != 0)
		return -ENOENT;
	return copy_out(path, out, out_size);
}

static int resolve(const char *cache_path, const char *soname, char *out, size_t out_size,
		   bool broken_cache_is_error)
{
	uint8_t *cache = NULL;
	size_t size = 0;
	int err;

	if (!soname || !*soname)
		return -EINVAL;
	if (strchr(soname, '/'))
		return resolve_path(soname, out, out_size);

	err = read_whole_file(cache_path, &cache, &size);
	if (err == 0) {
		err = lookup_in_cache(cache, size, soname, out, out_size);
		free(cache);
		if (err != -ENOENT && (err != -EBADMSG || broken_cache_is_error))
			return err;
	} else if (err != -ENOENT && broken_cache_is_error) {
		/* No cache at all (some containers) is normal; an unreadable one is not. */
		return err;
	}
	return lookup_in_default_dirs(soname, out, out_size);
}

int ps_ldcache_resolve_in(const char *cache_path, const char *soname, char *out, size_t out_size)
{
	return resolve(cache_path, soname, out, out_size, true);
}

int ps_ldcache_resolve(const char *soname, char *out, size_t out_size)
{
	/* ld.so ignores a damaged system cache and searches the default directories; so do we. */
	return resolve(LDCACHE_SYSTEM_PATH, soname, out, out_size, false);
}

int ps_ldcache_resolve_needed(const char *from, const char *needed, char *out, size_t out_size)
{
	const char *slash;
	int err;

	if (!needed || !*needed)
		return -EINVAL;
	if (strchr(needed, '/'))
		return resolve_path(needed, out, out_size);

	slash = from ? strrchr(from, '/') : NULL;
	if (slash)
		err = join_and_check(from, slash - from, needed, out, out_size);
	else
		err = join_and_check(".", 1, needed, out, out_size);
	if (err != -ENOENT)
		return err;
	return ps_ldcache_resolve(needed, out, out_size);
}
