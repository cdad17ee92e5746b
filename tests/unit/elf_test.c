/* SPDX-License-Identifier: MIT */
/*
 * runtime/target/elf_file.c on this machine's real files. Expected offsets come from nm
 * and readelf run at test time, so the test checks our reading of the ELF
 * against binutils' rather than against numbers copied from one build.
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
#include "elf_file.h"
#include "ldcache.h"

static char libssl_path[PATH_MAX];
static char libcrypto_path[PATH_MAX];
static char scratch_dir[] = "/tmp/plainsight-elf-test.XXXXXX";

/* The value nm prints for a defined symbol (versioned "name@@VER" accepted), or -1. */
static long long nm_symbol_value(const char *path, bool dynamic, const char *symbol)
{
	char command[PATH_MAX + 64], line[1024], name[512];
	unsigned long long value;
	long long found = -1;
	char type;
	FILE *nm;

	snprintf(command, sizeof(command), "nm %s --defined-only '%s' 2>/dev/null", dynamic ? "-D" : "", path);
	nm = popen(command, "r");
	if (!nm)
		return -1;
	while (fgets(line, sizeof(line), nm)) {
		char *at;

		if (sscanf(line, "%llx %c %511s", &value, &type, name) != 3)
			continue;
		at = strchr(name, '@');
		if (at)
			*at = '\0';
		if (strcmp(name, symbol) == 0 && found < 0)
			found = (long long)value;
	}
	pclose(nm);
	return found;
}

/* Turns a virtual address into a file offset with the PT_LOAD lines readelf prints. */
static long long readelf_file_offset(const char *path, unsigned long long address)
{
	char command[PATH_MAX + 64], line[1024];
	unsigned long long offset, vaddr, paddr, filesz, memsz;
	long long found = -1;
	FILE *readelf;

	snprintf(command, sizeof(command), "readelf -lW '%s' 2>/dev/null", path);
	readelf = popen(command, "r");
	if (!readelf)
		return -1;
	while (fgets(line, sizeof(line), readelf)) {
		if (sscanf(line, " LOAD %llx %llx %llx %llx %llx", &offset, &vaddr, &paddr, &filesz, &memsz) != 5)
			continue;
		if (found < 0 && address >= vaddr && address < vaddr + filesz)
			found = (long long)(address - vaddr + offset);
	}
	pclose(readelf);
	return found;
}

static long long expected_offset(const char *path, bool dynamic, const char *symbol)
{
	long long value = nm_symbol_value(path, dynamic, symbol);

	return value < 0 ? -1 : readelf_file_offset(path, value);
}

static void check_symbol(struct ps_elf *elf, bool dynamic, const char *symbol)
{
	long long want = expected_offset(ps_elf_path(elf), dynamic, symbol);
	long got = ps_elf_symbol_offset(elf, symbol);

	CHECK(want > 0);
	CHECK_INT(got, want);
}

/* Compiles a tiny C program into the scratch directory; false when no compiler works. */
static bool build_program(const char *name, const char *flags, char *path, size_t path_size)
{
	char source[PATH_MAX], command[3 * PATH_MAX];
	FILE *file;

	snprintf(source, sizeof(source), "%s/%s.c", scratch_dir, name);
	snprintf(path, path_size, "%s/%s", scratch_dir, name);
	file = fopen(source, "w");
	if (!file)
		return false;
	fputs("int plainsight_probe_me(int x) { return x * 3; }\n"
	      "int main(int argc, char **argv) { (void)argv; return plainsight_probe_me(argc) == 0; }\n",
	      file);
	fclose(file);
	snprintf(command, sizeof(command), "cc %s -o '%s' '%s' >/dev/null 2>&1", flags, path, source);
	return system(command) == 0;
}

static void test_libssl_symbols(void)
{
	struct ps_elf *elf = ps_elf_open(libssl_path);

	CHECK(elf != NULL);
	if (!elf)
		return;
	CHECK_STR(ps_elf_path(elf), libssl_path);
	CHECK(ps_elf_has_symbols(elf));
	check_symbol(elf, true, "SSL_write");
	check_symbol(elf, true, "SSL_read");
	check_symbol(elf, true, "SSL_write_ex");
	ps_elf_close(elf);
}

static void test_missing_symbol(void)
{
	struct ps_elf *elf = ps_elf_open(libssl_path);

	CHECK(elf != NULL);
	if (!elf)
		return;
	CHECK_INT(ps_elf_symbol_offset(elf, "plainsight_no_such_function"), -ENOENT);
	/* A prefix of a real name is not that name. */
	CHECK_INT(ps_elf_symbol_offset(elf, "SSL_wri"), -ENOENT);
	/* libssl imports memcpy: an undefined symbol is not a place to attach. */
	CHECK_INT(ps_elf_symbol_offset(elf, "memcpy"), -ENOENT);
	ps_elf_close(elf);
}

static int collect_needed(const char *name, void *arg)
{
	bool *has_libcrypto = arg;

	if (strcmp(name, "libcrypto.so.3") == 0)
		*has_libcrypto = true;
	return 0;
}

static int stop_at_first(const char *name, void *arg)
{
	int *calls = arg;

	(void)name;
	(*calls)++;
	return 7;
}

static void test_needed(void)
{
	struct ps_elf *elf = ps_elf_open(libssl_path);
	bool has_libcrypto = false;
	int calls = 0;

	CHECK(elf != NULL);
	if (!elf)
		return;
	CHECK_INT(ps_elf_for_each_needed(elf, collect_needed, &has_libcrypto), 0);
	CHECK(has_libcrypto);
	CHECK_INT(ps_elf_for_each_needed(elf, stop_at_first, &calls), 7);
	CHECK_INT(calls, 1);
	ps_elf_close(elf);
}

static void test_libcrypto_rodata(void)
{
	struct ps_elf *elf = ps_elf_open(libcrypto_path);
	const void *bytes = NULL;
	size_t size = 0;

	CHECK(elf != NULL);
	if (!elf)
		return;
	CHECK_INT(ps_elf_section(elf, ".rodata", &bytes, &size), 0);
	CHECK(size > 0);
	CHECK(bytes && memmem(bytes, size, "OpenSSL 3.0.", strlen("OpenSSL 3.0.")) != NULL);
	CHECK_INT(ps_elf_section(elf, ".plainsight_none", &bytes, &size), -ENOENT);
	CHECK_INT(ps_elf_section(elf, ".bss", &bytes, &size), -ENODATA);
	ps_elf_close(elf);
}

/* A fixed-address executable maps code at 0x400000+: the offset differs from the address. */
static void test_non_pie_executable(void)
{
	char path[PATH_MAX];
	struct ps_elf *elf;

	CHECK(build_program("nopie", "-O0 -no-pie", path, sizeof(path)));
	elf = ps_elf_open(path);
	CHECK(elf != NULL);
	if (!elf)
		return;
	CHECK(nm_symbol_value(path, false, "plainsight_probe_me") !=
	      expected_offset(path, false, "plainsight_probe_me"));
	check_symbol(elf, false, "plainsight_probe_me");
	check_symbol(elf, false, "main");
	ps_elf_close(elf);
}

/* strip keeps .dynsym, so a static program stripped whole is what has no tables at all. */
static void test_no_symbol_tables(void)
{
	char path[PATH_MAX];
	struct ps_elf *elf;

	CHECK(build_program("stripped", "-static -s", path, sizeof(path)));
	elf = ps_elf_open(path);
	CHECK(elf != NULL);
	if (!elf)
		return;
	CHECK_INT(ps_elf_has_symbols(elf), 0);
	CHECK_INT(ps_elf_symbol_offset(elf, "main"), -ENODATA);
	ps_elf_close(elf);
}

static void test_not_elf(void)
{
	char path[PATH_MAX];
	FILE *file;

	snprintf(path, sizeof(path), "%s/not-elf.txt", scratch_dir);
	file = fopen(path, "w");
	CHECK(file != NULL);
	if (!file)
		return;
	fputs("#!/bin/sh\necho this is a script, not an ELF file\n", file);
	fclose(file);
	errno = 0;
	CHECK(ps_elf_open(path) == NULL);
	CHECK_INT(errno, ENOEXEC);

	errno = 0;
	CHECK(ps_elf_open("/nonexistent/plainsight/libnothing.so") == NULL);
	CHECK_INT(errno, ENOENT);
}

static bool compiler_works(void)
{
	return system("echo 'int main(void){return 0;}' | cc -static -x c -o /dev/null - >/dev/null 2>&1") == 0;
}

int main(void)
{
	char command[PATH_MAX + 16];

	if (ps_ldcache_resolve("libssl.so.3", libssl_path, sizeof(libssl_path)) != 0 ||
	    ps_ldcache_resolve("libcrypto.so.3", libcrypto_path, sizeof(libcrypto_path)) != 0) {
		printf("SKIP elf_test: libssl.so.3 or libcrypto.so.3 is not installed\n");
		return 1;
	}
	if (!mkdtemp(scratch_dir)) {
		perror("mkdtemp");
		return 1;
	}

	TEST(test_libssl_symbols);
	TEST(test_missing_symbol);
	TEST(test_needed);
	TEST(test_libcrypto_rodata);
	TEST(test_not_elf);
	if (compiler_works()) {
		TEST(test_non_pie_executable);
		TEST(test_no_symbol_tables);
	} else {
		printf("SKIP test_non_pie_executable: cc -static cannot build here\n");
		printf("SKIP test_no_symbol_tables: cc -static cannot build here\n");
	}

	snprintf(command, sizeof(command), "rm -rf '%s'", scratch_dir);
	if (system(command) != 0)
		fprintf(stderr, "could not remove %s\n", scratch_dir);
	return TEST_EXIT();
}
