/* SPDX-License-Identifier: MIT */
/*
 * runtime/target/ldcache.c against this machine's real /etc/ld.so.cache (compared
 * with what `ldconfig -p` says) and against caches written here in each
 * layout glibc has used, including damaged ones.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "ldcache.h"

#define SYSTEM_CACHE "/etc/ld.so.cache"

static char scratch_dir[] = "/tmp/plainsight-ldcache-test.XXXXXX";
static char system_libc[PATH_MAX]; /* from ldconfig -p, an existing x86-64 library to point entries at */

/* The x86-64 path `ldconfig -p` prints for soname, or false. */
static bool ldconfig_path(const char *soname, char *path, size_t size)
{
	char line[2048], name[512], kind[256], found[PATH_MAX];
	bool ok = false;
	FILE *ldconfig = popen("ldconfig -p 2>/dev/null || /sbin/ldconfig -p 2>/dev/null", "r");

	if (!ldconfig)
		return false;
	while (fgets(line, sizeof(line), ldconfig)) {
		/* "\tlibc.so.6 (libc6,x86-64) => /lib/x86_64-linux-gnu/libc.so.6" */
		if (sscanf(line, " %511s (%255[^)]) => %4095s", name, kind, found) != 3)
			continue;
		if (!ok && strcmp(name, soname) == 0 && strcmp(kind, "libc6,x86-64") == 0) {
			snprintf(path, size, "%s", found);
			ok = true;
		}
	}
	pclose(ldconfig);
	return ok;
}

static void write_file(const char *path, const void *bytes, size_t size)
{
	FILE *file = fopen(path, "wb");

	CHECK(file != NULL);
	if (!file)
		return;
	CHECK(fwrite(bytes, 1, size, file) == size);
	fclose(file);
}

static void *read_file(const char *path, size_t *size)
{
	FILE *file = fopen(path, "rb");
	char *bytes = NULL;
	long length;

	if (!file)
		return NULL;
	if (fseek(file, 0, SEEK_END) == 0 && (length = ftell(file)) > 0 && fseek(file, 0, SEEK_SET) == 0) {
		bytes = malloc(length);
		if (bytes && fread(bytes, 1, length, file) != (size_t)length) {
			free(bytes);
			bytes = NULL;
		}
		*size = length;
	}
	fclose(file);
	return bytes;
}

static void scratch_path(const char *name, char *path, size_t size)
{
	snprintf(path, size, "%s/%s", scratch_dir, name);
}

static void test_system_cache_matches_ldconfig(void)
{
	static const char *const sonames[] = { "libc.so.6", "libssl.so.3", "libcrypto.so.3" };

	for (size_t i = 0; i < sizeof(sonames) / sizeof(sonames[0]); i++) {
		char want[PATH_MAX], got[PATH_MAX];

		CHECK(ldconfig_path(sonames[i], want, sizeof(want)));
		CHECK_INT(ps_ldcache_resolve(sonames[i], got, sizeof(got)), 0);
		CHECK_STR(got, want);
		CHECK(access(got, F_OK) == 0);
		CHECK_INT(ps_ldcache_resolve_in(SYSTEM_CACHE, sonames[i], got, sizeof(got)), 0);
		CHECK_STR(got, want);
	}
}

static void test_unknown_and_edge_names(void)
{
	char out[PATH_MAX], tiny[8];

	CHECK_INT(ps_ldcache_resolve("libplainsight-does-not-exist.so.9", out, sizeof(out)), -ENOENT);
	CHECK_INT(ps_ldcache_resolve("libc.so.6", tiny, sizeof(tiny)), -ENAMETOOLONG);
	CHECK_INT(ps_ldcache_resolve("", out, sizeof(out)), -EINVAL);
	/* A path is taken as it is. */
	CHECK_INT(ps_ldcache_resolve(system_libc, out, sizeof(out)), 0);
	CHECK_STR(out, system_libc);
	CHECK_INT(ps_ldcache_resolve("/nonexistent/libc.so.6", out, sizeof(out)), -ENOENT);
}

/* ---- caches written by hand, in each layout ---------------------------------------- */

struct fake_entry {
	uint32_t flags;
	const char *key;
	const char *value;
	uint64_t hwcap;
};

enum fake_layout { LAYOUT_NEW, LAYOUT_OLD_THEN_NEW, LAYOUT_OLD };

struct byte_buffer {
	uint8_t bytes[8192];
	size_t used;
};

static size_t put(struct byte_buffer *buffer, size_t at, const void *bytes, size_t size)
{
	memcpy(buffer->bytes + at, bytes, size);
	if (at + size > buffer->used)
		buffer->used = at + size;
	return at + size;
}

static size_t put_u32(struct byte_buffer *buffer, size_t at, uint32_t value)
{
	return put(buffer, at, &value, sizeof(value));
}

static size_t put_u64(struct byte_buffer *buffer, size_t at, uint64_t value)
{
	return put(buffer, at, &value, sizeof(value));
}

/* Writes the strings at `at` and records where each key and value landed. */
static size_t put_strings(struct byte_buffer *buffer, size_t at, const struct fake_entry *entries, size_t n,
			  size_t *key_at, size_t *value_at)
{
	for (size_t i = 0; i < n; i++) {
		key_at[i] = at;
		at = put(buffer, at, entries[i].key, strlen(entries[i].key) + 1);
		value_at[i] = at;
		at = put(buffer, at, entries[i].value, strlen(entries[i].value) + 1);
	}
	return at;
}

/* The old table: header at 0, entries at 16, strings counted from the end of the entries. */
static size_t put_old_table(struct byte_buffer *buffer, const struct fake_entry *entries, size_t n,
			    const size_t *key_at, const size_t *value_at)
{
	size_t strings_at = 16 + n * 12;

	put(buffer, 0, "ld.so-1.7.0", 12);
	put_u32(buffer, 12, n);
	for (size_t i = 0; i < n; i++) {
		size_t at = 16 + i * 12;

		put_u32(buffer, at, entries[i].flags);
		put_u32(buffer, at + 4, key_at[i] - strings_at);
		put_u32(buffer, at + 8, value_at[i] - strings_at);
	}
	return strings_at;
}

/* The new table at new_at: 48-byte header, 24-byte entries, strings counted from new_at. */
static size_t put_new_table(struct byte_buffer *buffer, size_t new_at, const struct fake_entry *entries,
			    size_t n, const size_t *key_at, const size_t *value_at)
{
	put(buffer, new_at, "glibc-ld.so.cache1.1", 20);
	put_u32(buffer, new_at + 20, n);
	put_u32(buffer, new_at + 24, 0);
	buffer->bytes[new_at + 28] = 2; /* little-endian */
	for (size_t i = 0; i < n; i++) {
		size_t at = new_at + 48 + i * 24;

		put_u32(buffer, at, entries[i].flags);
		put_u32(buffer, at + 4, key_at[i] - new_at);
		put_u32(buffer, at + 8, value_at[i] - new_at);
		put_u32(buffer, at + 12, 0);
		put_u64(buffer, at + 16, entries[i].hwcap);
	}
	return new_at + 48 + n * 24;
}

static void build_cache(enum fake_layout layout, const struct fake_entry *entries, size_t n,
			struct byte_buffer *buffer)
{
	size_t key_at[16], value_at[16];
	size_t old_end = 16 + n * 12;
	size_t new_at = layout == LAYOUT_OLD_THEN_NEW ? (old_end + 7) & ~(size_t)7 : 0;
	size_t strings_at;

	memset(buffer, 0, sizeof(*buffer));
	if (layout == LAYOUT_OLD)
		strings_at = old_end;
	else
		strings_at = new_at + 48 + n * 24;
	put_strings(buffer, strings_at, entries, n, key_at, value_at);
	if (layout != LAYOUT_NEW)
		put_old_table(buffer, entries, n, key_at, value_at);
	if (layout != LAYOUT_OLD)
		put_new_table(buffer, new_at, entries, n, key_at, value_at);
}

static void check_fake_layout(enum fake_layout layout, const char *wrong_library)
{
	/* Only the last entry is a present, generic, x86-64 one. */
	const struct fake_entry entries[] = {
		{ 0x0803, "libplainsight-fake.so.1", wrong_library, 0 },  /* x32 */
		{ 0x0003, "libplainsight-fake.so.1", wrong_library, 0 },  /* i386 */
		{ 0x0303, "libplainsight-fake.so.1", "/nonexistent/libplainsight-fake.so.1", 0 },
		{ 0x0303, "libplainsight-other.so.2", wrong_library, 0 },
		{ 0x0303, "libplainsight-fake.so.1", system_libc, 0 },
	};
	struct byte_buffer buffer;
	char cache[PATH_MAX], out[PATH_MAX];

	build_cache(layout, entries, sizeof(entries) / sizeof(entries[0]), &buffer);
	scratch_path("fake.cache", cache, sizeof(cache));
	write_file(cache, buffer.bytes, buffer.used);
	CHECK_INT(ps_ldcache_resolve_in(cache, "libplainsight-fake.so.1", out, sizeof(out)), 0);
	CHECK_STR(out, system_libc);
	CHECK_INT(ps_ldcache_resolve_in(cache, "libplainsight-other.so.2", out, sizeof(out)), 0);
	CHECK_STR(out, wrong_library);
	CHECK_INT(ps_ldcache_resolve_in(cache, "libplainsight-none.so.3", out, sizeof(out)), -ENOENT);
}

static void test_fake_caches_each_layout(void)
{
	char wrong[PATH_MAX];

	/* Any existing file will do: the point is that it must not be chosen. */
	scratch_path("wrong.so", wrong, sizeof(wrong));
	write_file(wrong, "", 0);
	check_fake_layout(LAYOUT_NEW, wrong);
	check_fake_layout(LAYOUT_OLD_THEN_NEW, wrong);
	check_fake_layout(LAYOUT_OLD, wrong);
}

static void test_hwcap_entries_skipped(void)
{
	char decoy[PATH_MAX], cache[PATH_MAX], out[PATH_MAX];
	struct byte_buffer buffer;

	scratch_path("decoy.so", decoy, sizeof(decoy));
	write_file(decoy, "", 0);
	const struct fake_entry entries[] = {
		{ 0x0303, "libplainsight-fake.so.1", decoy, 1ull << 62 }, /* a glibc-hwcaps/ variant */
		{ 0x0303, "libplainsight-fake.so.1", system_libc, 0 },
	};
	build_cache(LAYOUT_NEW, entries, 2, &buffer);
	scratch_path("hwcap.cache", cache, sizeof(cache));
	write_file(cache, buffer.bytes, buffer.used);
	CHECK_INT(ps_ldcache_resolve_in(cache, "libplainsight-fake.so.1", out, sizeof(out)), 0);
	CHECK_STR(out, system_libc);
}

/* ---- damaged caches ------------------------------------------------------------------ */

static int resolve_libc_from_bytes(const void *bytes, size_t size, char *out, size_t out_size)
{
	char cache[PATH_MAX];

	scratch_path("damaged.cache", cache, sizeof(cache));
	write_file(cache, bytes, size);
	return ps_ldcache_resolve_in(cache, "libc.so.6", out, out_size);
}

static void test_truncated_system_cache(void)
{
	size_t size = 0, entries_end;
	uint8_t *bytes = read_file(SYSTEM_CACHE, &size);
	char out[PATH_MAX];
	uint32_t n_entries;

	CHECK(bytes != NULL && size > 48);
	if (!bytes || size <= 48)
		return;
	CHECK(memcmp(bytes, "glibc-ld.so.cache1.1", 20) == 0);
	memcpy(&n_entries, bytes + 20, sizeof(n_entries));
	entries_end = 48 + (size_t)n_entries * 24;

	/* Cut inside the header, inside the entries, and where the strings begin. */
	CHECK_INT(resolve_libc_from_bytes(bytes, 0, out, sizeof(out)), -EBADMSG);
	CHECK_INT(resolve_libc_from_bytes(bytes, 10, out, sizeof(out)), -EBADMSG);
	CHECK_INT(resolve_libc_from_bytes(bytes, 47, out, sizeof(out)), -EBADMSG);
	CHECK_INT(resolve_libc_from_bytes(bytes, 48 + 24 * 3 + 5, out, sizeof(out)), -EBADMSG);
	CHECK_INT(resolve_libc_from_bytes(bytes, entries_end - 1, out, sizeof(out)), -EBADMSG);
	CHECK_INT(resolve_libc_from_bytes(bytes, entries_end, out, sizeof(out)), -EBADMSG);

	/* Every other cut: an answer or an error, never a read past the end (run under ASan). */
	for (size_t cut = 1; cut < size; cut += 37) {
		int err = resolve_libc_from_bytes(bytes, cut, out, sizeof(out));

		CHECK(err == 0 || err == -EBADMSG);
		if (err == 0)
			CHECK_STR(out, system_libc);
	}
	free(bytes);
}

static void test_corrupt_fields(void)
{
	const struct fake_entry entries[] = {
		{ 0x0303, "libc.so.6", "/lib/x86_64-linux-gnu/libc.so.6", 0 },
	};
	struct byte_buffer buffer;
	char out[PATH_MAX];

	/* An entry count that would reach far past the file, and would overflow a careless size. */
	build_cache(LAYOUT_NEW, entries, 1, &buffer);
	put_u32(&buffer, 20, 0xffffffffu);
	CHECK_INT(resolve_libc_from_bytes(buffer.bytes, buffer.used, out, sizeof(out)), -EBADMSG);

	/* A key offset outside the file. */
	build_cache(LAYOUT_NEW, entries, 1, &buffer);
	put_u32(&buffer, 48 + 4, 0xfffffff0u);
	CHECK_INT(resolve_libc_from_bytes(buffer.bytes, buffer.used, out, sizeof(out)), -EBADMSG);

	/* A value string with no NUL before the end of the file. */
	build_cache(LAYOUT_NEW, entries, 1, &buffer);
	buffer.used--;
	CHECK_INT(resolve_libc_from_bytes(buffer.bytes, buffer.used, out, sizeof(out)), -EBADMSG);

	/* The old header announcing more entries than there are. */
	build_cache(LAYOUT_OLD, entries, 1, &buffer);
	put_u32(&buffer, 12, 0x7fffffffu);
	CHECK_INT(resolve_libc_from_bytes(buffer.bytes, buffer.used, out, sizeof(out)), -EBADMSG);

	/* Not a cache at all. */
	CHECK_INT(resolve_libc_from_bytes("this is not an ld.so cache, just text\n", 38, out, sizeof(out)),
		  -EBADMSG);
}

static void test_missing_cache_uses_directories(void)
{
	char out[PATH_MAX];

	/* Like ld.so in a container without a cache: the default directories still work. */
	CHECK_INT(ps_ldcache_resolve_in("/nonexistent/ld.so.cache", "libc.so.6", out, sizeof(out)), 0);
	CHECK(access(out, F_OK) == 0);
	CHECK(strstr(out, "/libc.so.6") != NULL);
	CHECK_INT(ps_ldcache_resolve_in("/nonexistent/ld.so.cache", "libplainsight-none.so.1", out, sizeof(out)),
		  -ENOENT);
}

static void test_resolve_needed(void)
{
	char from[PATH_MAX], shipped[PATH_MAX], fake_libc[PATH_MAX], out[PATH_MAX], command[3 * PATH_MAX];

	/* A library shipped beside the one needing it is found there first. */
	scratch_path("libplainsight-shipped.so.1", shipped, sizeof(shipped));
	scratch_path("libplainsight-main.so", from, sizeof(from));
	snprintf(command, sizeof(command), "cp '%s' '%s'", system_libc, shipped);
	CHECK(system(command) == 0);
	CHECK_INT(ps_ldcache_resolve_needed(from, "libplainsight-shipped.so.1", out, sizeof(out)), 0);
	CHECK_STR(out, shipped);

	/* A file of the same name that is no x86-64 library is passed over, as ld.so would. */
	scratch_path("libc.so.6", fake_libc, sizeof(fake_libc));
	write_file(fake_libc, "GROUP ( /lib/x86_64-linux-gnu/libc.so.6 )\n", 42);
	CHECK_INT(ps_ldcache_resolve_needed(from, "libc.so.6", out, sizeof(out)), 0);
	CHECK_STR(out, system_libc);

	CHECK_INT(ps_ldcache_resolve_needed(from, "libplainsight-none.so.1", out, sizeof(out)), -ENOENT);
}

int main(void)
{
	char command[PATH_MAX + 16];

	if (!ldconfig_path("libc.so.6", system_libc, sizeof(system_libc))) {
		printf("SKIP ldcache_test: `ldconfig -p` lists no x86-64 libc.so.6\n");
		return 1;
	}
	if (!mkdtemp(scratch_dir)) {
		perror("mkdtemp");
		return 1;
	}

	TEST(test_system_cache_matches_ldconfig);
	TEST(test_unknown_and_edge_names);
	TEST(test_fake_caches_each_layout);
	TEST(test_hwcap_entries_skipped);
	TEST(test_truncated_system_cache);
	TEST(test_corrupt_fields);
	TEST(test_missing_cache_uses_directories);
	TEST(test_resolve_needed);

	snprintf(command, sizeof(command), "rm -rf '%s'", scratch_dir);
	if (system(command) != 0)
		fprintf(stderr, "could not remove %s\n", scratch_dir);
	return TEST_EXIT();
}
