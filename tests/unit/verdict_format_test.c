/* SPDX-License-Identifier: MIT */
/*
 * runtime/target/verdict_format.c: the library verdicts cached between runs
 * come back exactly as kept, and bytes that are not a whole entry (cut short,
 * a flipped bit, a count past the end behind a right digest, bytes left
 * over) are refused, never half read.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cache_file.h"
#include "check.h"
#include "verdict_format.h"

#define HEADER_SIZE 24   /* magic, digest, body size */

static struct ps_verdict_file files[] = {
	{ .path = "/usr/lib/x86_64-linux-gnu/libssl.so.3", .dev = 2049, .ino = 1234567, .size = 696320,
	  .mtime_ns = 1764000000123456789ull },
	{ .path = "/usr/lib/x86_64-linux-gnu/libcrypto.so.3", .dev = 2049, .ino = 1234568, .size = 4625360,
	  .mtime_ns = 1764000000987654321ull },
};
static int32_t offsets[] = { 0, 16, 24, -1, 2328 };
static uint8_t shown[] = { 1, 1, 0, 0, 1 };
static int64_t sites[] = { 0x35290, -1, 0x3a000, 0x1000 };

static struct ps_verdicts sample(void)
{
	struct ps_verdicts v = {
		.build = 0x1122334455667788ull, .options = 0x99aabbccddeeff00ull,
		.files = files, .n_files = 2,
		.has_version = true, .version_rule = 0, .version = "3.0.19", .version_from = files[1].path,
		.has_accessors = true, .layout_index = 3, .n_offsets = 5, .offsets = offsets, .shown = shown,
		.checked = 3, .mismatches = 1, .first_mismatch = 2, .message = "ssl_st.wbio at 24: SSL_get_wbio reads 32",
		.has_sites = true, .hookset = 1, .n_sites = 4, .sites = sites, .n_missing = 1,
	};
	return v;
}

/* The digest and size of a body edited in place, so that only the body's own checks can refuse it. */
static void reseal(uint8_t *bytes, size_t size)
{
	uint64_t body = size - HEADER_SIZE, digest = ps_fnv1a(PS_FNV_OFFSET, bytes + HEADER_SIZE, body);

	memcpy(bytes + 8, &digest, 8);
	memcpy(bytes + 16, &body, 8);
}

static void test_round_trip(void)
{
	struct ps_verdicts in = sample(), out;
	uint8_t *bytes;
	size_t size;

	CHECK_INT(ps_verdicts_encode(&in, &bytes, &size), 0);
	CHECK_INT(ps_verdicts_decode(bytes, size, &out), 0);
	CHECK(out.build == in.build && out.options == in.options);
	CHECK_INT(out.n_files, 2);
	CHECK_STR(out.files[0].path, files[0].path);
	CHECK_STR(out.files[1].path, files[1].path);
	CHECK(out.files[1].ino == files[1].ino && out.files[1].mtime_ns == files[1].mtime_ns &&
	      out.files[1].size == files[1].size && out.files[1].dev == files[1].dev);
	CHECK(out.has_version && out.version_rule == 0);
	CHECK_STR(out.version, "3.0.19");
	CHECK_STR(out.version_from, files[1].path);
	CHECK(out.has_accessors && out.layout_index == 3 && out.n_offsets == 5);
	CHECK(memcmp(out.offsets, offsets, sizeof(offsets)) == 0 && memcmp(out.shown, shown, sizeof(shown)) == 0);
	CHECK(out.checked == 3 && out.mismatches == 1 && out.first_mismatch == 2);
	CHECK_STR(out.message, in.message);
	CHECK(out.has_sites && out.hookset == 1 && out.n_sites == 4 && out.n_missing == 1);
	CHECK(memcmp(out.sites, sites, sizeof(sites)) == 0);
	ps_verdicts_free(&out);
	free(bytes);
}

/* Only a version (no layout applies), or nothing at all but the identity: both come back so. */
static void test_sections_absent(void)
{
	struct ps_verdicts in = { .build = 1, .options = 2, .files = files, .n_files = 1,
				  .has_version = true, .version_rule = -1, .version = "", .version_from = "" }, out;
	uint8_t *bytes;
	size_t size;

	CHECK_INT(ps_verdicts_encode(&in, &bytes, &size), 0);
	CHECK_INT(ps_verdicts_decode(bytes, size, &out), 0);
	CHECK(out.has_version && out.version_rule == -1 && !out.has_accessors && !out.has_sites);
	CHECK_STR(out.version, "");
	ps_verdicts_free(&out);
	free(bytes);
	in.has_version = false;
	CHECK_INT(ps_verdicts_encode(&in, &bytes, &size), 0);
	CHECK_INT(ps_verdicts_decode(bytes, size, &out), 0);
	CHECK(!out.has_version && out.version == NULL && out.n_files == 1);
	ps_verdicts_free(&out);
	free(bytes);
}

static void test_cut_or_flipped(void)
{
	struct ps_verdicts in = sample(), out;
	uint8_t *bytes;
	size_t size;

	CHECK_INT(ps_verdicts_encode(&in, &bytes, &size), 0);
	for (size_t cut = 0; cut < size; cut++) {
		CHECK_INT(ps_verdicts_decode(bytes, cut, &out), -EBADMSG);
		CHECK(out.files == NULL && out.version == NULL);
	}
	for (size_t i = 0; i < size; i++)
		for (int bit = 0; bit < 8; bit++) {
			bytes[i] ^= (uint8_t)(1u << bit);
			CHECK_INT(ps_verdicts_decode(bytes, size, &out), -EBADMSG);
			bytes[i] ^= (uint8_t)(1u << bit);
		}
	CHECK_INT(ps_verdicts_decode(bytes, size, &out), 0);
	ps_verdicts_free(&out);
	free(bytes);
}

/* Behind a right digest: every body shorter than the real one, and one with a byte too many. */
static void test_resealed_bodies(void)
{
	struct ps_verdicts in = sample(), out;
	uint8_t *bytes, *grown;
	size_t size;

	CHECK_INT(ps_verdicts_encode(&in, &bytes, &size), 0);
	for (size_t cut = HEADER_SIZE; cut < size; cut++) {
		uint8_t *copy = malloc(cut);

		memcpy(copy, bytes, cut);
		reseal(copy, cut);
		CHECK_INT(ps_verdicts_decode(copy, cut, &out), -EBADMSG);
		free(copy);
	}
	grown = malloc(size + 1);
	memcpy(grown, bytes, size);
	grown[size] = 0;
	reseal(grown, size + 1);
	CHECK_INT(ps_verdicts_decode(grown, size + 1, &out), -EBADMSG);
	free(grown);
	free(bytes);
}

/* A huge count, a string holding a NUL, a flag neither 0 nor 1: refused though the digest is right. */
static void test_resealed_lies(void)
{
	struct ps_verdicts in = sample(), out;
	uint8_t *bytes;
	size_t size, n_files_at = HEADER_SIZE + 16, path_at = n_files_at + 4 + 4;
	uint32_t huge = 0xffffffffu;

	CHECK_INT(ps_verdicts_encode(&in, &bytes, &size), 0);
	memcpy(bytes + n_files_at, &huge, 4);
	reseal(bytes, size);
	CHECK_INT(ps_verdicts_decode(bytes, size, &out), -EBADMSG);
	free(bytes);

	CHECK_INT(ps_verdicts_encode(&in, &bytes, &size), 0);
	bytes[path_at + 3] = '\0';
	reseal(bytes, size);
	CHECK_INT(ps_verdicts_decode(bytes, size, &out), -EBADMSG);
	free(bytes);

	/* has_version is the first byte after the two files */
	CHECK_INT(ps_verdicts_encode(&in, &bytes, &size), 0);
	{
		size_t at = n_files_at + 4;

		for (int i = 0; i < 2; i++)
			at += 4 + strlen(files[i].path) + 4 * 8;
		CHECK_INT(bytes[at], 1);
		bytes[at] = 2;
		reseal(bytes, size);
		CHECK_INT(ps_verdicts_decode(bytes, size, &out), -EBADMSG);
	}
	free(bytes);
}

int main(void)
{
	TEST(test_round_trip);
	TEST(test_sections_absent);
	TEST(test_cut_or_flipped);
	TEST(test_resealed_bodies);
	TEST(test_resealed_lies);
	return TEST_EXIT();
}
