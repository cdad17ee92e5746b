/* SPDX-License-Identifier: MIT */
/*
 * runtime/target/accessors.c: the decoder on hand-made machine code, and on the real
 * accessors of this machine's libssl.so.3 against the spec's "3.0" layout and
 * libssl3.so's (NSS) against the nss spec's "3.87"
 * (the generated tables, so the spec's `accessor` annotations are what is tested).
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "accessors.h"
#include "check.h"
#include "ldcache.h"
#include "log.h"
#include "module.h"

static char libssl_path[PATH_MAX];
static struct ps_elf *libssl;   /* opened once, as the plan opens its target */
static struct ps_disasm disasm; /* one decoder for every test, as a target has one */

static const struct ps_module_desc *find_module(const char *name)
{
	for (uint32_t i = 0; i < ps_n_modules; i++)
		if (strcmp(ps_modules[i]->name, name) == 0)
			return ps_modules[i];
	return NULL;
}

static const struct ps_layout_desc *find_layout(const struct ps_module_desc *m, const char *name)
{
	for (uint32_t i = 0; m && i < m->n_layouts; i++)
		if (strcmp(m->layouts[i].name, name) == 0)
			return &m->layouts[i];
	return NULL;
}

/* mov 0x10(%rdi),%rax; ret */
static void test_plain_load(void)
{
	static const uint8_t code[] = { 0x48, 0x8b, 0x47, 0x10, 0xc3 };
	int64_t off = -1;

	bool pointer_load = false;

	CHECK_INT(ps_accessor_decode(&disasm, code, sizeof(code), 0x1000, 1, -1, &off, &pointer_load), 0);
	CHECK_INT(off, 16);
	CHECK(pointer_load);   /* 8 bytes into a 64-bit register */
	/* there is no second access */
	CHECK_INT(ps_accessor_decode(&disasm, code, sizeof(code), 0x1000, 2, -1, &off, NULL), -ENOENT);
}

/* SSL_version up to 3.1: the first member, a load with no displacement: mov (%rdi),%eax; ret */
static void test_zero_displacement(void)
{
	static const uint8_t code[] = { 0x8b, 0x07, 0xc3 };
	int64_t off = -1;
	bool pointer_load = true;

	CHECK_INT(ps_accessor_decode(&disasm, code, sizeof(code), 0x1000, 1, -1, &off, &pointer_load), 0);
	CHECK_INT(off, 0);
	CHECK(!pointer_load);   /* 4 bytes: an int, not a pointer */
}

/*
 * The shape of SSL_get_wbio and SSL_SESSION_get_master_key: a null check, a
 * copy of the argument, then accesses through the copy:
 *   test %rdi,%rdi; je +9; mov %rdi,%rax; mov 0x20(%rdi),%rdx;
 *   lea 0x918(%rax),%rsi; ret
 */
static void test_null_check_and_copy(void)
{
	static const uint8_t code[] = {
		0x48, 0x85, 0xff,                         /* test %rdi,%rdi */
		0x74, 0x0f,                               /* je +15 */
		0x48, 0x89, 0xf8,                         /* mov %rdi,%rax */
		0x48, 0x8b, 0x57, 0x20,                   /* mov 0x20(%rdi),%rdx */
		0x48, 0x8d, 0xb0, 0x18, 0x09, 0x00, 0x00, /* lea 0x918(%rax),%rsi */
		0xc3,                                     /* ret */
	};
	int64_t off = -1;
	bool pointer_load = true;

	CHECK_INT(ps_accessor_decode(&disasm, code, sizeof(code), 0x1000, 1, -1, &off, NULL), 0);
	CHECK_INT(off, 0x20);
	CHECK_INT(ps_accessor_decode(&disasm, code, sizeof(code), 0x1000, 2, -1, &off, &pointer_load), 0);
	CHECK_INT(off, 0x918);
	CHECK(!pointer_load);   /* lea: an address, nothing loaded */
}

/* Shapes the decoder must not guess at: the argument overwritten first, a tail call, an index. */
static void test_cannot_tell(void)
{
	static const uint8_t overwritten[] = { 0x31, 0xff, 0x48, 0x8b, 0x47, 0x10, 0xc3 }; /* xor %edi,%edi; mov 0x10(%rdi),%rax */
	static const uint8_t tail_call[] = { 0xe9, 0x00, 0x00, 0x00, 0x00, 0x48, 0x8b, 0x47, 0x10 };  /* jmp; mov */
	static const uint8_t indexed[] = { 0x48, 0x8b, 0x44, 0xf7, 0x10, 0xc3 }; /* mov 0x10(%rdi,%rsi,8),%rax */
	int64_t off = -1;

	CHECK_INT(ps_accessor_decode(&disasm, overwritten, sizeof(overwritten), 0, 1, -1, &off, NULL), -ENOENT);
	CHECK_INT(ps_accessor_decode(&disasm, tail_call, sizeof(tail_call), 0, 1, -1, &off, NULL), -ENOENT);
	CHECK_INT(ps_accessor_decode(&disasm, indexed, sizeof(indexed), 0, 1, -1, &off, NULL), -ENOENT);
	CHECK_INT(ps_accessor_decode(&disasm, NULL, 0, 0, 1, -1, &off, NULL), -EINVAL);
}

/* Every accessor the spec names agrees with the "3.0" layout on the system's libssl 3.0. */
static void test_system_libssl_matches_3_0(void)
{
	const struct ps_module_desc *tls = find_module("tls");
	const struct ps_layout_desc *layout = find_layout(tls, "3.0");
	struct ps_accessor_result result;
	uint32_t with_accessor = 0;
	int32_t offsets[256];
	bool shown[256] = { false };

	CHECK(tls && layout && tls->n_offsets <= 256);
	if (!tls || !layout || tls->n_offsets > 256)
		return;
	for (uint32_t i = 0; i < tls->n_offsets; i++) {
		const struct ps_offset_desc *o = &tls->offsets[i];
		int64_t off = -1;
		int err;

		if (!o->accessor || layout->offsets[i] < 0)
			continue;
		with_accessor++;
		err = ps_accessor_offset(libssl, &disasm, o->accessor, o->accessor_load,
					 o->has_through ? layout->offsets[o->through] : -1, &off, NULL);
		if (err || off != layout->offsets[i])
			fprintf(stderr, "  %s.%s: %s load %u gives %lld (err %d), layout 3.0 has %d\n", o->strct,
				o->field, o->accessor, o->accessor_load, (long long)off, err, layout->offsets[i]);
		CHECK_INT(err, 0);
		CHECK_INT(off, layout->offsets[i]);
	}
	/* version, rbio, wbio, session, s3.client_random, ssl_version, master_key_length, master_key, cipher, id */
	CHECK(with_accessor >= 10);
	memcpy(offsets, layout->offsets, tls->n_offsets * sizeof(*offsets));
	ps_accessors_check(tls, layout, libssl, &disasm, offsets, shown, &result);
	CHECK_INT(result.mismatches, 0);
	CHECK(memcmp(offsets, layout->offsets, tls->n_offsets * sizeof(*offsets)) == 0);
	CHECK_INT(result.checked, with_accessor);
	CHECK_STR(result.message, "");
}

/*
 * The 1.1.1 layout on libssl 3.0: session and s3 are elsewhere; the check says
 * so and puts what the accessors read in their place.
 */
static void test_system_libssl_corrects_1_1_1(void)
{
	const struct ps_module_desc *tls = find_module("tls");
	const struct ps_layout_desc *layout = find_layout(tls, "1.1.1");
	const struct ps_layout_desc *right = find_layout(tls, "3.0");
	struct ps_accessor_result result;
	int32_t offsets[256];
	bool shown[256] = { false };
	bool session_checked = false, s3_checked = false;

	CHECK(tls && layout && right && tls->n_offsets <= 256);
	if (!tls || !layout || !right || tls->n_offsets > 256)
		return;
	memcpy(offsets, layout->offsets, tls->n_offsets * sizeof(*offsets));
	ps_accessors_check(tls, layout, libssl, &disasm, offsets, shown, &result);
	CHECK(result.mismatches >= 2);
	CHECK(strstr(result.message, "layout '1.1.1' puts ssl_st.") != NULL);
	CHECK(strstr(result.message, "reads it at") != NULL);
	for (uint32_t i = 0; i < tls->n_offsets; i++) {
		if (strcmp(tls->offsets[i].strct, "ssl_st"))
			continue;
		if (!strcmp(tls->offsets[i].field, "session")) {
			session_checked = true;
			CHECK(shown[i]);
			CHECK_INT(offsets[i], right->offsets[i]);   /* 2328, where 3.0 keeps it */
		}
		if (!strcmp(tls->offsets[i].field, "s3")) {
			/* 1.1.1's s3 is a pointer; 3.0's SSL_get_client_random takes the address of its inline struct */
			s3_checked = true;
			CHECK(!shown[i]);
			CHECK_INT(offsets[i], layout->offsets[i]);
		}
	}
	CHECK(session_checked && s3_checked);
}

/*
 * A field reached through a pointer field (`through`), the shape of
 * SSL_get_client_random in 1.1.1: mov 0xa8(%rdi),%rdi; lea 0xb8(%rdi),%rcx; ret
 */
static void test_through_pointer(void)
{
	static const uint8_t code[] = {
		0x48, 0x8b, 0xbf, 0xa8, 0x00, 0x00, 0x00, /* mov 0xa8(%rdi),%rdi */
		0x48, 0x8d, 0x8f, 0xb8, 0x00, 0x00, 0x00, /* lea 0xb8(%rdi),%rcx */
		0xc3,
	};
	int64_t off = -1;

	CHECK_INT(ps_accessor_decode(&disasm, code, sizeof(code), 0x1000, 1, 0xa8, &off, NULL), 0);
	CHECK_INT(off, 0xb8);
	/* without through: the first access through the argument is the pointer itself */
	CHECK_INT(ps_accessor_decode(&disasm, code, sizeof(code), 0x1000, 1, -1, &off, NULL), 0);
	CHECK_INT(off, 0xa8);
	/* a pointer loaded from elsewhere: nothing is reached through the one named */
	CHECK_INT(ps_accessor_decode(&disasm, code, sizeof(code), 0x1000, 1, 0x90, &off, NULL), -ENOENT);
}

/*
 * `accessor SYM copy`: NSS 3.125.1's SSL_ExportKeyingMaterial (Firefox ESR's
 * libssl3.so, at 0x3b7b7) copying client_random then server_random into the
 * exporter seed, the client random's halves stored out of order:
 *   movups 0x638(%rdi),%xmm0; movups 0x648(%rdi),%xmm1
 *   movups %xmm1,0x10(%rax);  movups %xmm0,(%rax)
 *   movups 0x618(%rdi),%xmm0; movups 0x628(%rdi),%xmm1
 *   movups %xmm0,0x20(%rax);  movups %xmm1,0x30(%rax); ret
 */
static const uint8_t nss_3_125_copy[] = {
	0x0f, 0x10, 0x87, 0x38, 0x06, 0x00, 0x00, 0x0f, 0x10, 0x8f, 0x48, 0x06, 0x00, 0x00,
	0x0f, 0x11, 0x48, 0x10, 0x0f, 0x11, 0x00,
	0x0f, 0x10, 0x87, 0x18, 0x06, 0x00, 0x00, 0x0f, 0x10, 0x8f, 0x28, 0x06, 0x00, 0x00,
	0x0f, 0x11, 0x40, 0x20, 0x0f, 0x11, 0x48, 0x30, 0xc3,
};

static void test_copy(void)
{
	int64_t off = -1;

	CHECK_INT(ps_accessor_copy_decode(&disasm, nss_3_125_copy, sizeof(nss_3_125_copy), 0x1000, 32, &off), 0);
	CHECK_INT(off, 0x638);
	/* 16 bytes: the first piece stored at the start is the client random's first half */
	CHECK_INT(ps_accessor_copy_decode(&disasm, nss_3_125_copy, sizeof(nss_3_125_copy), 0x1000, 16, &off), 0);
	CHECK_INT(off, 0x638);
	/* 64 bytes: no copy that long starts at the buffer's start */
	CHECK_INT(ps_accessor_copy_decode(&disasm, nss_3_125_copy, sizeof(nss_3_125_copy), 0x1000, 64, &off),
		  -ENOENT);
	CHECK_INT(ps_accessor_copy_decode(&disasm, nss_3_125_copy, sizeof(nss_3_125_copy), 0x1000, 24, &off),
		  -EINVAL);
}

/*
 * NSS 3.87.1's shape (Debian bookworm's libssl3.so at 0x2babc): movdqu
 * through r12, stores interleaved with other writes; then a second copy of
 * another place, which makes the answer ambiguous:
 *   movdqu 0x620(%r12),%xmm0; movl $0x40,0x18(%rsp); movups %xmm0,0x0(%r13)
 *   movdqu 0x630(%r12),%xmm1; movups %xmm1,0x10(%r13)
 *   [movdqu 0x600(%r12),%xmm2; movups %xmm2,(%rax); movdqu 0x610(%r12),%xmm3; movups %xmm3,0x10(%rax)]
 */
static void test_copy_ambiguous(void)
{
	static const uint8_t code[] = {
		0xf3, 0x41, 0x0f, 0x6f, 0x84, 0x24, 0x20, 0x06, 0x00, 0x00,
		0xc7, 0x44, 0x24, 0x18, 0x40, 0x00, 0x00, 0x00,
		0x41, 0x0f, 0x11, 0x45, 0x00,
		0xf3, 0x41, 0x0f, 0x6f, 0x8c, 0x24, 0x30, 0x06, 0x00, 0x00,
		0x41, 0x0f, 0x11, 0x4d, 0x10,
		/* the second copy */
		0xf3, 0x41, 0x0f, 0x6f, 0x94, 0x24, 0x00, 0x06, 0x00, 0x00,
		0x0f, 0x11, 0x10,
		0xf3, 0x41, 0x0f, 0x6f, 0x9c, 0x24, 0x10, 0x06, 0x00, 0x00,
		0x0f, 0x11, 0x58, 0x10,
		0xc3,
	};
	size_t first = sizeof(code) - 1 - 10 - 3 - 10 - 4;
	int64_t off = -1;

	CHECK_INT(ps_accessor_copy_decode(&disasm, code, first, 0x1000, 32, &off), 0);
	CHECK_INT(off, 0x620);
	CHECK_INT(ps_accessor_copy_decode(&disasm, code, sizeof(code), 0x1000, 32, &off), -ENOENT);
}

/*
 * This machine's libssl3.so, when it is NSS 3.87 (the spec's layout
 * "3.87"): its SSL_ExportKeyingMaterial confirms the client random's offset
 * through the generated tables' `accessor ... copy`, and the public ABI
 * structs stay known.
 */
static char libssl3_path[PATH_MAX];

static void test_system_libssl3_matches_3_87(void)
{
	const char *path = libssl3_path;
	const struct ps_module_desc *m = find_module("nss");
	const struct ps_layout_desc *layout = find_layout(m, "3.87");
	struct ps_elf *elf = ps_elf_open(path);
	struct ps_accessor_result result;
	int32_t offsets[64];
	bool shown[64] = { false };

	CHECK(m && layout && elf);
	if (!m || !layout || !elf || m->n_offsets > 64) {
		if (elf)
			ps_elf_close(elf);
		return;
	}
	memcpy(offsets, layout->offsets, m->n_offsets * sizeof(*offsets));
	ps_accessors_check(m, layout, elf, &disasm, offsets, shown, &result);
	CHECK_INT(result.checked, 1);
	CHECK_INT(result.mismatches, 0);
	for (uint32_t i = 0; i < m->n_offsets; i++)
		CHECK(shown[i]);   /* the one accessor's field, and the abi structs' */
	ps_elf_close(elf);
}

/* The file holds "Version: NSS 3.87." (sslver.c's banner). */
static bool is_nss_3_87(const char *path)
{
	static const char banner[] = "Version: NSS 3.87.";
	FILE *f = fopen(path, "rb");
	char buf[65536 + sizeof(banner)];
	size_t keep = 0, got;
	bool found = false;

	if (!f)
		return false;
	while (!found && (got = fread(buf + keep, 1, 65536, f)) > 0) {
		size_t n = keep + got;

		found = memmem(buf, n, banner, sizeof(banner) - 1) != NULL;
		keep = n < sizeof(banner) ? n : sizeof(banner) - 1;
		memmove(buf, buf + n - keep, keep);
	}
	fclose(f);
	return found;
}

int main(void)
{

	ps_log_set_debug(false);
	if (ps_disasm_open(&disasm) != 0) {
		printf("FAIL capstone: cannot open a decoder (is libcapstone4 installed?)\n");
		return 1;
	}
	TEST(test_plain_load);
	TEST(test_zero_displacement);
	TEST(test_null_check_and_copy);
	TEST(test_cannot_tell);
	TEST(test_through_pointer);
	TEST(test_copy);
	TEST(test_copy_ambiguous);
	if (ps_ldcache_resolve("libssl3.so", libssl3_path, sizeof(libssl3_path)) == 0 && is_nss_3_87(libssl3_path))
		TEST(test_system_libssl3_matches_3_87);
	else
		printf("SKIP test_system_libssl3_matches_3_87: no NSS 3.87 libssl3.so in the ld.so cache\n");
	if (ps_ldcache_resolve("libssl.so.3", libssl_path, sizeof(libssl_path)) == 0 &&
	    (libssl = ps_elf_open(libssl_path))) {
		TEST(test_system_libssl_matches_3_0);
		TEST(test_system_libssl_corrects_1_1_1);
		ps_elf_close(libssl);
	} else {
		printf("SKIP test_system_libssl_matches_3_0: no libssl.so.3 in the ld.so cache\n");
	}
	ps_disasm_close(&disasm);
	return TEST_EXIT();
}
