/* SPDX-License-Identifier: MIT */
/*
 * runtime/target/gopclntab.c on real Go binaries, built here with the Go
 * toolchain on PATH (Debian's golang-go) four ways: default, PIE, -s -w and
 * stripped. Expected addresses come from `go tool nm` on the default build's
 * twin with symbols, the version from `go env GOVERSION`: nothing is copied
 * from one build.
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
#include "gopclntab.h"
#include "go_returns.h"
#include "target.h"

static char dir[] = "/tmp/plainsight-gopclntab-test.XXXXXX";
static char go_version[64];

static const char *const wanted[] = {
	"crypto/tls.(*Conn).Read",
	"crypto/tls.(*Conn).Write",
	"crypto/tls.(*Conn).writeRecordLocked",
	"crypto/tls.(*Config).writeKeyLog",
	"main.main",
};

static int run(const char *command)
{
	int status = system(command);

	if (status != 0)
		fprintf(stderr, "  command failed (%d): %s\n", status, command);
	return status;
}

/* Builds the fixture as `name` with the extra go build flags. */
static int build(const char *name, const char *flags)
{
	char command[PATH_MAX * 2];

	snprintf(command, sizeof(command),
		 "cd tests/go/fixture && GOFLAGS=-mod=mod GOCACHE=%s/cache CGO_ENABLED=0 go build %s -o %s/%s . >&2",
		 dir, flags, dir, name);
	return run(command);
}

/* `go tool nm`'s address of a text symbol in the binary with symbols, or 0. */
static uint64_t nm_address(const char *path, const char *symbol)
{
	char command[PATH_MAX + 64], line[1024], name[512];
	unsigned long long value;
	uint64_t found = 0;
	char type;
	FILE *nm;

	snprintf(command, sizeof(command), "go tool nm '%s'", path);
	nm = popen(command, "r");
	if (!nm)
		return 0;
	while (fgets(line, sizeof(line), nm)) {
		char *nl = strchr(line, '\n');

		if (nl)
			*nl = '\0';
		/* "  4d3f20 T crypto/tls.(*Conn).Read" */
		if (sscanf(line, "%llx %c %511[^\n]", &value, &type, name) == 3 && type == 'T' &&
		    strcmp(name, symbol) == 0)
			found = value;
	}
	pclose(nm);
	return found;
}

static void check_binary(const char *name, const char *reference)
{
	char path[PATH_MAX], ref_path[PATH_MAX], version[64];
	struct ps_go_pclntab tab;
	struct ps_elf *elf;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(ref_path, sizeof(ref_path), "%s/%s", dir, reference);
	elf = ps_elf_open(path);
	CHECK(elf != NULL);
	if (!elf)
		return;
	CHECK_INT(ps_go_pclntab_open(elf, &tab), 0);
	CHECK(tab.format >= PS_GO_PCLN_118);   /* Debian's golang-go is 1.19 or later */
	for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++) {
		uint64_t entry = 0, end = 0, want = nm_address(ref_path, wanted[i]);

		CHECK(want != 0);
		CHECK_INT(ps_go_function(&tab, wanted[i], &entry, &end), 0);
		if (entry != want)
			fprintf(stderr, "  %s: %s at 0x%llx, go tool nm says 0x%llx\n", name, wanted[i],
				(unsigned long long)entry, (unsigned long long)want);
		CHECK(entry == want);
		CHECK(end > entry && end - entry < 65536);
	}
	CHECK_INT(ps_go_function(&tab, "crypto/tls.(*Conn).NoSuchMethod", &(uint64_t){ 0 }, &(uint64_t){ 0 }),
		  -ENOENT);
	CHECK_INT(ps_go_version(elf, version, sizeof(version)), 0);
	CHECK_STR(version, go_version);
	ps_elf_close(elf);
}

/*
 * Where the probes go: writeRecordLocked's entry site is past its stack check
 * (a few bytes in, right after a conditional jump), and every RET site of
 * Read is a RET byte (0xc3) inside the function.
 */
static void check_sites(const char *name)
{
	struct ps_resolved_target target = { 0 };
	uint64_t entry, end;
	long site, *rets = NULL;
	size_t n_rets = 0;
	unsigned char byte;

	snprintf(target.path, sizeof(target.path), "%s/%s", dir, name);
	target.elf = ps_elf_open(target.path);
	CHECK(target.elf != NULL);
	if (!target.elf)
		return;
	CHECK_INT(ps_go_pclntab_open(target.elf, &target.go), 0);
	target.is_go = true;
	CHECK_INT(ps_go_function(&target.go, "crypto/tls.(*Conn).writeRecordLocked", &entry, &end), 0);
	CHECK_INT(ps_go_entry_site(&target, "crypto/tls.(*Conn).writeRecordLocked", &site), 0);
	CHECK(site > ps_elf_vaddr_offset(target.elf, entry) && site - ps_elf_vaddr_offset(target.elf, entry) <= 16);
	CHECK_INT(ps_go_return_sites(&target, "crypto/tls.(*Conn).Read", &rets, &n_rets), 0);
	CHECK(n_rets >= 1);
	CHECK_INT(ps_go_function(&target.go, "crypto/tls.(*Conn).Read", &entry, &end), 0);
	for (size_t i = 0; i < n_rets; i++) {
		uint64_t vaddr = 0;

		CHECK(ps_elf_offset_vaddr(target.elf, (uint64_t)rets[i], &vaddr) == 0 && vaddr > entry && vaddr < end);
		CHECK(ps_elf_read_code(target.elf, vaddr, &byte, 1) == 1 && byte == 0xc3);
	}
	free(rets);
	ps_disasm_close(&target.disasm);
	ps_elf_close(target.elf);
}

static void test_sites_default(void) { check_sites("default"); }
static void test_sites_stripped(void) { check_sites("stripped"); }
static void test_sites_pie(void) { check_sites("pie"); }

static void test_default(void) { check_binary("default", "default"); }
static void test_pie(void) { check_binary("pie", "pie"); }
static void test_no_symbols(void) { check_binary("sw", "default"); }
static void test_stripped(void) { check_binary("stripped", "default"); }

static void test_not_go(void)
{
	struct ps_elf *elf = ps_elf_open("/bin/true");
	struct ps_go_pclntab tab;
	char version[64];

	CHECK(elf != NULL);
	if (!elf)
		return;
	CHECK_INT(ps_go_pclntab_open(elf, &tab), -ENOENT);
	CHECK_INT(ps_go_version(elf, version, sizeof(version)), -ENOENT);
	ps_elf_close(elf);
}

int main(void)
{
	char command[PATH_MAX + 64];
	FILE *go;

	if (system("go version >/dev/null 2>&1") != 0) {
		printf("SKIP gopclntab_test: no go toolchain (golang-go) on PATH\n");
		return 0;
	}
	if (!mkdtemp(dir))
		return 1;
	go = popen("go env GOVERSION", "r");
	if (!go || !fgets(go_version, sizeof(go_version), go))
		return 1;
	pclose(go);
	go_version[strcspn(go_version, "\n")] = '\0';
	if (build("default", "") || build("pie", "-buildmode=pie") || build("sw", "-ldflags='-s -w'"))
		return 1;
	snprintf(command, sizeof(command), "cp %s/default %s/stripped && strip %s/stripped", dir, dir, dir);
	if (run(command))
		return 1;
	TEST(test_default);
	TEST(test_pie);
	TEST(test_no_symbols);
	TEST(test_stripped);
	TEST(test_not_go);
	TEST(test_sites_default);
	TEST(test_sites_stripped);
	TEST(test_sites_pie);
	snprintf(command, sizeof(command), "chmod -R u+w %s; rm -rf %s", dir, dir);
	if (system(command) != 0)
		fprintf(stderr, "  cannot remove %s\n", dir);
	return TEST_EXIT();
}
