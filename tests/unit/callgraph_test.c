/* SPDX-License-Identifier: MIT */
/*
 * runtime/target/callgraph.c: the callee sweep on hand-made machine code, and call
 * following in real OpenSSL builds: this machine's stripped libssl.so.3, and
 * the corpus's Node.js executables, whose .symtab names the functions, so
 * what the call following finds is checked against the symbol table.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "callgraph.h"
#include "check.h"
#include "elf_file.h"
#include "ldcache.h"
#include "link.h"
#include "target.h"

static char libssl_path[PATH_MAX];
static struct ps_disasm disasm;   /* one decoder for every test, as a target has one */

static bool has_target(const uint64_t *targets, size_t n, uint64_t want)
{
	for (size_t i = 0; i < n; i++)
		if (targets[i] == want)
			return true;
	return false;
}

/*
 * At 0x1000: call 0x2000; call *%rax; jne 0x1010 (inside); jmp 0x3000
 * (a tail call); call 0x2000 again (counted once); ret.
 */
static void test_callees_of_hand_made_code(void)
{
	static const uint8_t code[] = {
		0xe8, 0xfb, 0x0f, 0x00, 0x00,             /* 0x1000: call 0x2000 */
		0xff, 0xd0,                               /* 0x1005: call *%rax */
		0x75, 0x07,                               /* 0x1007: jne 0x1010 */
		0xe9, 0xf2, 0x1f, 0x00, 0x00,             /* 0x1009: jmp 0x3000 */
		0x90, 0x90,                               /* 0x100e: nop; nop */
		0xe8, 0xeb, 0x0f, 0x00, 0x00,             /* 0x1010: call 0x2000 */
		0xc3,                                     /* 0x1015: ret */
	};
	uint64_t *targets = NULL;
	size_t n = 0;

	CHECK_INT(ps_callgraph_decode(&disasm, code, sizeof(code), 0x1000, &targets, &n), 0);
	CHECK_INT(n, 2);
	CHECK(has_target(targets, n, 0x2000));
	CHECK(has_target(targets, n, 0x3000));
	free(targets);
}

/* Bytes that are no instruction inside a function: cannot tell, never a partial answer. */
static void test_undecodable_code(void)
{
	static const uint8_t code[] = { 0xe8, 0xfb, 0x0f, 0x00, 0x00, 0x06 /* push %es: invalid in 64-bit */ };
	uint64_t *targets = NULL;
	size_t n = 0;

	CHECK_INT(ps_callgraph_decode(&disasm, code, sizeof(code), 0x1000, &targets, &n), -ENOEXEC);
	CHECK(targets == NULL);
	CHECK_INT(n, 0);
}

/*
 * Debian's libssl 3.0 is stripped: SSL_read and SSL_read_ex share one
 * internal callee (ssl_read_internal), SSL_write and SSL_write_ex another
 * (ssl_write_internal); each wrapper reaches its own and not the other one.
 */
static void test_system_libssl(void)
{
	static const char *const readers[] = { "SSL_read", "SSL_read_ex" };
	static const char *const writers[] = { "SSL_write", "SSL_write_ex" };
	static const char *const both[] = { "SSL_read", "SSL_write" };
	static const char *const absent[] = { "SSL_read", "no_such_function" };
	struct ps_elf *elf = ps_elf_open(libssl_path);
	uint64_t read_internal = 0, write_internal = 0, unused;
	size_t n = 0;

	CHECK(elf != NULL);
	if (!elf)
		return;
	CHECK_INT(ps_callgraph_locate(elf, &disasm, readers, 2, &read_internal, &n), 0);
	CHECK_INT(n, 1);
	CHECK_INT(ps_callgraph_locate(elf, &disasm, writers, 2, &write_internal, &n), 0);
	CHECK(read_internal != write_internal);
	/* SSL_read and SSL_write call nothing internal in common */
	CHECK_INT(ps_callgraph_locate(elf, &disasm, both, 2, &unused, &n), -EMLINK);
	CHECK_INT(n, 0);
	CHECK_INT(ps_callgraph_locate(elf, &disasm, absent, 2, &unused, &n), -ENOENT);
	CHECK_INT(ps_callgraph_reaches(elf, &disasm, "SSL_read", &read_internal, 1), 1);
	CHECK_INT(ps_callgraph_reaches(elf, &disasm, "SSL_read_ex", &read_internal, 1), 1);
	CHECK_INT(ps_callgraph_reaches(elf, &disasm, "SSL_write_ex", &write_internal, 1), 1);
	CHECK_INT(ps_callgraph_reaches(elf, &disasm, "SSL_write", &read_internal, 1), 0);
	CHECK_INT(ps_callgraph_reaches(elf, &disasm, "SSL_read", &write_internal, 1), 0);
	ps_elf_close(elf);
}

static const char *fixture_path(char *buf, size_t size, const char *name)
{
	const char *out = getenv("OUT");

	snprintf(buf, size, "%s/tests/%s", out && *out ? out : "build", name);
	return buf;
}

/*
 * The fixture library twice: with its symbol table (where the functions
 * truly are) and stripped (where they are looked for). Both, or a failed check.
 */
static bool open_fixtures(struct ps_elf **with_symbols, struct ps_elf **stripped)
{
	char path[PATH_MAX];

	*with_symbols = ps_elf_open(fixture_path(path, sizeof(path), "libcallgraph_fixture.so"));
	*stripped = ps_elf_open(fixture_path(path, sizeof(path), "libcallgraph_fixture.stripped.so"));
	CHECK(*with_symbols && *stripped);
	return *with_symbols && *stripped;
}

static void close_fixtures(struct ps_elf *with_symbols, struct ps_elf *stripped)
{
	ps_elf_close(with_symbols);
	ps_elf_close(stripped);
}

/*
 * tests/unit/callgraph_fixture.c, stripped: fixture_internal is found by its
 * two callers, at the address the unstripped copy's .symtab gives it; the
 * tail call through the PLT reaches it; one caller alone is ambiguous.
 */
static void test_stripped_fixture(void)
{
	static const char *const readers[] = { "fixture_read", "fixture_read_ex" };
	static const char *const one_reader[] = { "fixture_read" };
	struct ps_elf *with_symbols, *stripped;
	uint64_t want = 0, size, got = 0, unused;
	size_t n = 0;

	if (!open_fixtures(&with_symbols, &stripped))
		goto out;
	CHECK_INT(ps_elf_function(with_symbols, "fixture_internal", &want, &size), 0);
	CHECK_INT(ps_elf_function(stripped, "fixture_internal", &unused, &size), -ENOENT);
	CHECK_INT(ps_callgraph_locate(stripped, &disasm, readers, 2, &got, &n), 0);
	CHECK_INT(n, 1);
	CHECK_INT(got, want);
	/* fixture_read alone also calls fixture_error: two candidates, no guess */
	CHECK_INT(ps_callgraph_locate(stripped, &disasm, one_reader, 1, &unused, &n), -EMLINK);
	CHECK_INT(n, 2);
	CHECK_INT(ps_callgraph_reaches(stripped, &disasm, "fixture_read_all", &got, 1), 1);
	CHECK_INT(ps_callgraph_reaches(stripped, &disasm, "fixture_other", &got, 1), 0);
out:
	close_fixtures(with_symbols, stripped);
}

/* `called with`: the function string literals are passed to, in the stripped fixture. */
static void test_located_by_strings(void)
{
	static const char *const labels[] = { "FIXTURE_MASTER", "FIXTURE_EXPORTER" };
	static const char *const shared[] = { "FIXTURE_MASTER" };
	static const char *const missing[] = { "FIXTURE_MASTER", "NOT_IN_THE_FIXTURE" };
	struct ps_elf *with_symbols, *stripped;
	uint64_t want = 0, size, got = 0, unused;
	size_t n = 0;

	if (!open_fixtures(&with_symbols, &stripped))
		goto out;
	CHECK_INT(ps_elf_function(with_symbols, "fixture_log", &want, &size), 0);
	CHECK_INT(ps_callgraph_locate_passed(stripped, &disasm, labels, 2, &got, &n), 0);
	CHECK_INT(n, 1);
	CHECK_INT(got, want);
	/* "FIXTURE_MASTER" alone goes to fixture_log and fixture_note: no guess */
	CHECK_INT(ps_callgraph_locate_passed(stripped, &disasm, shared, 1, &unused, &n), -EMLINK);
	CHECK_INT(n, 2);
	CHECK_INT(ps_callgraph_locate_passed(stripped, &disasm, missing, 2, &unused, &n), -ENOENT);
	CHECK_INT(n, 0);
out:
	close_fixtures(with_symbols, stripped);
}

/*
 * `slot S.F of T`: the table fixture_vector returns, found in the stripped
 * copy, is where the unstripped copy's .symtab puts fixture_vector_table,
 * and its slots, read through their relocations, hold the two functions.
 */
static void test_table_slots(void)
{
	struct ps_elf *with_symbols, *stripped;
	uint64_t table = 0, want_table = 1, one = 0, two = 0, want_one = 1, want_two = 2, size, unused;

	if (!open_fixtures(&with_symbols, &stripped))
		goto out;
	CHECK_INT(ps_elf_symbol_vaddr(with_symbols, "fixture_vector_table", true, &want_table), 0);
	CHECK_INT(ps_elf_function(with_symbols, "fixture_slot_one", &want_one, &size), 0);
	CHECK_INT(ps_elf_function(with_symbols, "fixture_slot_two", &want_two, &size), 0);
	CHECK_INT(ps_callgraph_returned_address(stripped, &disasm, "fixture_vector", &table), 0);
	CHECK_INT(table, want_table);
	CHECK_INT(ps_elf_pointer_at(stripped, table + 8, &one), 0);
	CHECK_INT(ps_elf_pointer_at(stripped, table + 16, &two), 0);
	CHECK_INT(one, want_one);
	CHECK_INT(two, want_two);
	CHECK_STR(ps_elf_section_name_at(stripped, one), ".text");
	/* a function that returns no table's address, and one the file lacks */
	CHECK_INT(ps_callgraph_returned_address(stripped, &disasm, "fixture_other", &unused), -EMLINK);
	CHECK_INT(ps_callgraph_returned_address(stripped, &disasm, "fixture_not_there", &unused), -ENOENT);
out:
	close_fixtures(with_symbols, stripped);
}

/*
 * Debian's libfreeblpriv3.so (stripped, NSS 3.87): FREEBL_GetVector returns
 * its table, whose slots (lib/freebl/loader.h, the nss spec's layout) hold
 * functions of .text, none of them exported.
 */
static char libfreebl_path[PATH_MAX];

static void test_system_libfreebl(void)
{
	struct ps_elf *elf = ps_elf_open(libfreebl_path);
	uint64_t table = 0, fn = 0, size;

	CHECK(elf != NULL);
	if (!elf)
		return;
	CHECK_INT(ps_callgraph_returned_address(elf, &disasm, "FREEBL_GetVector", &table), 0);
	CHECK_STR(ps_elf_section_name_at(elf, table), ".data.rel.ro");
	CHECK_INT(ps_elf_pointer_at(elf, table + 1152, &fn), 0);   /* FREEBLVector.p_HMAC_Finish */
	CHECK_STR(ps_elf_section_name_at(elf, fn), ".text");
	CHECK_INT(ps_elf_exported_function_at(elf, fn, &size), -ENOENT);
	ps_elf_close(elf);
}

/*
 * Debian's libgnutls.so.30 (stripped): the function its TLS 1.3 labels are
 * passed to is the one "CLIENT_RANDOM" is passed to too (lib/kx.c), and it
 * is no exported function: _gnutls_call_keylog_func, the gnutls spec's hook.
 */
static char libgnutls_path[PATH_MAX];

static void test_system_libgnutls(void)
{
	static const char *const tls13[] = { "EXPORTER_SECRET", "CLIENT_EARLY_TRAFFIC_SECRET" };
	static const char *const tls12[] = { "CLIENT_RANDOM" };
	struct ps_elf *elf = ps_elf_open(libgnutls_path);
	uint64_t got = 0, master = 1, size;
	size_t n = 0;

	CHECK(elf != NULL);
	if (!elf)
		return;
	CHECK_INT(ps_callgraph_locate_passed(elf, &disasm, tls13, 2, &got, &n), 0);
	CHECK_INT(n, 1);
	CHECK_INT(ps_callgraph_locate_passed(elf, &disasm, tls12, 1, &master, &n), 0);
	CHECK_INT(got, master);
	CHECK_INT(ps_elf_exported_function_at(elf, got, &size), -ENOENT);
	ps_elf_close(elf);
}

static const char *const fixture_readers[] = { "fixture_read", "fixture_read_ex" };
static const char *const fixture_reader_alone[] = { "fixture_read" };
static const char *const fixture_internal_only[] = { "fixture_internal" };

/* Sites of hooks as a spec would declare them, on the stripped fixture. */
static int fixture_sites(const struct ps_hook_desc *hooks, uint32_t n_hooks, long *sites, uint32_t *n_missing)
{
	static struct ps_resolved_target target;
	const struct ps_module_desc module = { .name = "fixture", .n_targets = 1 };
	const struct ps_hookset_desc hookset = { .name = "default", .hooks = hooks, .n_hooks = n_hooks };
	const struct ps_options opts = { .module = &module };
	struct ps_plan plan = { .targets = &target, .n_targets = 1 };
	int err;

	memset(&target, 0, sizeof(target));
	fixture_path(target.path, sizeof(target.path), "libcallgraph_fixture.stripped.so");
	target.elf = ps_elf_open(target.path);
	if (!target.elf)
		return -errno;
	*n_missing = 0;
	err = ps_hook_sites(&opts, &plan, &hookset, sites, n_missing);
	ps_plan_close_files(&plan);
	return err;
}

/*
 * `called by` and `unless calls` together (how the tls spec hooks
 * ssl_read_internal): the internal function is hooked; the exported
 * functions that reach it, directly or by a tail call through the PLT, are
 * not; one that does not reach it is.
 */
static void test_hook_sites_located(void)
{
	const struct ps_hook_desc hooks[] = {
		{ .symbol = "fixture_internal", .optional = true, .called_by = fixture_readers, .n_called_by = 2,
		  .symbol_flag = -1, .offset_flag = -1 },
		{ .symbol = "fixture_read", .unless_calls = fixture_internal_only, .n_unless_calls = 1,
		  .symbol_flag = -1, .offset_flag = -1 },
		{ .symbol = "fixture_read_all", .unless_calls = fixture_internal_only, .n_unless_calls = 1,
		  .symbol_flag = -1, .offset_flag = -1 },
		{ .symbol = "fixture_other", .unless_calls = fixture_internal_only, .n_unless_calls = 1,
		  .symbol_flag = -1, .offset_flag = -1 },
	};
	char path[PATH_MAX];
	struct ps_elf *elf = ps_elf_open(fixture_path(path, sizeof(path), "libcallgraph_fixture.so"));
	uint64_t vaddr = 0, size;
	long sites[4], want = -1;
	uint32_t missing;

	CHECK(elf != NULL);
	if (elf && ps_elf_function(elf, "fixture_internal", &vaddr, &size) == 0)
		want = ps_elf_vaddr_offset(elf, vaddr);
	ps_elf_close(elf);
	CHECK_INT(fixture_sites(hooks, 4, sites, &missing), 0);
	CHECK_INT(sites[0], want);
	CHECK_INT(sites[1], -ESRCH);
	CHECK_INT(sites[2], -ESRCH);
	CHECK(sites[3] >= 0);
	CHECK_INT(missing, 0);
}

/*
 * One caller alone shares two callees with itself: not located (a warning,
 * the optional hook counted missing), and the exported function that stands
 * in for it is hooked: nothing is lost.
 */
static void test_hook_sites_fall_back(void)
{
	const struct ps_hook_desc hooks[] = {
		{ .symbol = "fixture_internal", .optional = true, .called_by = fixture_reader_alone, .n_called_by = 1,
		  .symbol_flag = -1, .offset_flag = -1 },
		{ .symbol = "fixture_read", .unless_calls = fixture_internal_only, .n_unless_calls = 1,
		  .symbol_flag = -1, .offset_flag = -1 },
	};
	long sites[2];
	uint32_t missing;

	CHECK_INT(fixture_sites(hooks, 2, sites, &missing), 0);
	CHECK_INT(sites[0], -ENOENT);
	CHECK(sites[1] >= 0);
	CHECK_INT(missing, 1);
}

static const char *corpus_path(char *buf, size_t size, const char *rest)
{
	const char *cache = getenv("PLAINSIGHT_CACHE");

	snprintf(buf, size, "%s/%s", cache && *cache ? cache : "/var/cache/plainsight-corpus", rest);
	return buf;
}

/*
 * A Node.js executable keeps .symtab (and exports ssl_read_internal, so the
 * hook finds it by name): the out-of-line ssl_read_internal is what BIO_f_ssl's
 * ssl_read calls (ssl/bio_ssl.c), while SSL_read has it inlined and reaches
 * no ssl_read_internal, which `unless calls` relies on to keep hooking it.
 */
static void check_node(const char *path)
{
	struct ps_elf *elf = ps_elf_open(path);
	uint64_t read_internal, write_internal, size;

	CHECK(elf != NULL);
	if (!elf)
		return;
	CHECK_INT(ps_elf_function(elf, "ssl_read_internal", &read_internal, &size), 0);
	CHECK_INT(ps_elf_function(elf, "ssl_write_internal", &write_internal, &size), 0);
	CHECK_INT(ps_callgraph_reaches(elf, &disasm, "ssl_read", &read_internal, 1), 1);
	CHECK_INT(ps_callgraph_reaches(elf, &disasm, "ssl_write", &write_internal, 1), 1);
	CHECK_INT(ps_callgraph_reaches(elf, &disasm, "SSL_read", &read_internal, 1), 0);
	CHECK_INT(ps_callgraph_reaches(elf, &disasm, "SSL_write", &write_internal, 1), 0);
	ps_elf_close(elf);
}

static void test_node_20(void)
{
	char path[PATH_MAX];

	check_node(corpus_path(path, sizeof(path), "node/20.20.2/package/bin/node"));
}

/*
 * Debian's libssl 3.5 (trixie): SSL_write_ex tail-jumps through the PLT to
 * SSL_write_ex2, which calls ssl_write_internal; following the PLT stub is
 * what tells that SSL_write_ex reaches it.
 */
static void test_trixie_libssl_plt_tail_call(void)
{
	static const char *const writers[] = { "SSL_write", "SSL_write_ex2" };
	static const char *const old_writers[] = { "SSL_write", "SSL_write_ex" };
	char path[PATH_MAX];
	struct ps_elf *elf = ps_elf_open(corpus_path(path, sizeof(path),
						     "libssl/trixie/root/usr/lib/x86_64-linux-gnu/libssl.so.3"));
	uint64_t write_internal = 0, ex2, size;
	size_t n = 0;

	CHECK(elf != NULL);
	if (!elf)
		return;
	CHECK_INT(ps_callgraph_locate(elf, &disasm, writers, 2, &write_internal, &n), 0);
	/* SSL_write_ex calls nothing internal itself: its only callee is SSL_write_ex2's PLT stub */
	CHECK_INT(ps_callgraph_locate(elf, &disasm, old_writers, 2, &ex2, &n), -EMLINK);
	CHECK_INT(ps_callgraph_reaches(elf, &disasm, "SSL_write_ex", &write_internal, 1), 1);
	CHECK_INT(ps_elf_function(elf, "SSL_write_ex2", &ex2, &size), 0);
	CHECK_INT(ps_callgraph_reaches(elf, &disasm, "SSL_write_ex", &ex2, 1), 1);
	CHECK_INT(ps_callgraph_reaches(elf, &disasm, "SSL_read", &write_internal, 1), 0);
	ps_elf_close(elf);
}

int main(void)
{
	char path[PATH_MAX];

	if (ps_disasm_open(&disasm) != 0) {
		printf("FAIL capstone: cannot open a decoder (is libcapstone4 installed?)\n");
		return 1;
	}
	TEST(test_callees_of_hand_made_code);
	TEST(test_undecodable_code);
	TEST(test_stripped_fixture);
	TEST(test_located_by_strings);
	TEST(test_table_slots);
	TEST(test_hook_sites_located);
	TEST(test_hook_sites_fall_back);
	if (ps_ldcache_resolve("libssl.so.3", libssl_path, sizeof(libssl_path)) == 0)
		TEST(test_system_libssl);
	else
		printf("SKIP test_system_libssl: no libssl.so.3 in the ld.so cache\n");
	if (ps_ldcache_resolve("libgnutls.so.30", libgnutls_path, sizeof(libgnutls_path)) == 0)
		TEST(test_system_libgnutls);
	else
		printf("SKIP test_system_libgnutls: no libgnutls.so.30 in the ld.so cache\n");
	if (ps_ldcache_resolve("libfreeblpriv3.so", libfreebl_path, sizeof(libfreebl_path)) == 0)
		TEST(test_system_libfreebl);
	else
		printf("SKIP test_system_libfreebl: no libfreeblpriv3.so in the ld.so cache (libnss3)\n");
	if (access(corpus_path(path, sizeof(path), "node/20.20.2/package/bin/node"), R_OK) == 0)
		TEST(test_node_20);
	else
		printf("SKIP test_node_20: %s missing (tests/corpus/fetch.sh node)\n", path);
	if (access(corpus_path(path, sizeof(path), "libssl/trixie/root/usr/lib/x86_64-linux-gnu/libssl.so.3"),
		   R_OK) == 0)
		TEST(test_trixie_libssl_plt_tail_call);
	else
		printf("SKIP test_trixie_libssl_plt_tail_call: %s missing (tests/corpus/fetch.sh libssl)\n", path);
	ps_disasm_close(&disasm);
	return TEST_EXIT();
}
