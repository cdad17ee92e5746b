/* SPDX-License-Identifier: MIT */
/* runtime/target/version.c: detection in real binaries, forced versions, layout choice (the order: version_order_test.c). */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "ldcache.h"
#include "version.h"

static const struct ps_version_rule openssl_rule = {
	.section = ".rodata",
	.regex = "OpenSSL ([0-9]+\\.[0-9]+\\.[0-9]+[a-z]*)",
	.needed_prefix = "libcrypto.so",
	.force_flag = -1,
};

static void test_suffix(void)
{
	CHECK_STR(ps_version_suffix("1.1.1v+quic"), "+quic");
	CHECK_STR(ps_version_suffix("3.0.16+quic"), "+quic");
	CHECK_STR(ps_version_suffix("3.2.0-dev"), "-dev");
	CHECK_STR(ps_version_suffix("1.1.1w-fips"), "-fips");
	CHECK_STR(ps_version_suffix("3.0."), ".");
	CHECK_STR(ps_version_suffix("garbage"), "garbage");
	CHECK(ps_version_suffix("3.0.19") == NULL);
	CHECK(ps_version_suffix("1.0.2za") == NULL);
	CHECK(ps_version_suffix("3.0") == NULL);
	CHECK(ps_version_suffix("10") == NULL);
	CHECK(ps_version_suffix("") == NULL);
	CHECK(ps_version_suffix(NULL) == NULL);
}

/* The library's own version as `openssl version` reports it ("... (Library: OpenSSL 3.0.x ...)"). */
/* The plan opens a target once and detects in its ELF; these tests start from a path. */
static int detect_in_path(const char *path, const struct ps_version_rule *rule, char *version, size_t version_size,
			  char *found_in, size_t found_in_size)
{
	struct ps_elf *elf = ps_elf_open(path);
	int err;

	if (!elf)
		return -errno;
	err = ps_version_detect(elf, rule, version, version_size, found_in, found_in_size);
	ps_elf_close(elf);
	return err;
}

static int target_detect_in_path(const char *path, const struct ps_target_desc *target, char *version,
				 size_t version_size, char *found_in, size_t found_in_size,
				 const struct ps_version_rule **matched)
{
	struct ps_elf *elf = ps_elf_open(path);
	int err;

	if (!elf)
		return -errno;
	err = ps_target_version_detect(elf, target, version, version_size, found_in, found_in_size, matched);
	ps_elf_close(elf);
	return err;
}

static int openssl_cli_version(char *version, size_t size)
{
	char line[512], found[64];
	const char *library;
	FILE *cli = popen("openssl version 2>/dev/null", "r");
	int ok = 0;

	if (!cli)
		return 0;
	if (fgets(line, sizeof(line), cli)) {
		library = strstr(line, "Library: OpenSSL ");
		if (library)
			ok = sscanf(library, "Library: OpenSSL %63[0-9a-z.]", found) == 1;
		else
			ok = sscanf(line, "OpenSSL %63[0-9a-z.]", found) == 1;
	}
	pclose(cli);
	if (ok)
		snprintf(version, size, "%s", found);
	return ok;
}

static void test_detect_system_openssl(void)
{
	char libssl[PATH_MAX], libcrypto[PATH_MAX], want[64], version[64], found_in[PATH_MAX];

	CHECK_INT(ps_ldcache_resolve("libssl.so.3", libssl, sizeof(libssl)), 0);
	CHECK_INT(ps_ldcache_resolve("libcrypto.so.3", libcrypto, sizeof(libcrypto)), 0);
	CHECK(openssl_cli_version(want, sizeof(want)));
	CHECK_INT(detect_in_path(libssl, &openssl_rule, version, sizeof(version), found_in, sizeof(found_in)), 0);
	CHECK_STR(version, want);
	CHECK_STR(found_in, libcrypto);

	/* found_in is optional. */
	memset(version, 0, sizeof(version));
	CHECK_INT(detect_in_path(libssl, &openssl_rule, version, sizeof(version), NULL, 0), 0);
	CHECK_STR(version, want);

	/* Too small for the version or the path: said, not cut. */
	CHECK_INT(detect_in_path(libssl, &openssl_rule, version, 3, found_in, sizeof(found_in)), -ENOSPC);
	CHECK_INT(detect_in_path(libssl, &openssl_rule, version, sizeof(version), found_in, 4), -ENOSPC);
}

static void test_detect_without_needed(void)
{
	struct ps_version_rule only_target = openssl_rule;
	char libssl[PATH_MAX], version[64];

	only_target.needed_prefix = NULL;
	CHECK_INT(ps_ldcache_resolve("libssl.so.3", libssl, sizeof(libssl)), 0);
	/* libssl asks libcrypto for its version; its own strings hold none. */
	CHECK_INT(detect_in_path(libssl, &only_target, version, sizeof(version), NULL, 0), -ENOENT);
}

static void test_detect_errors(void)
{
	struct ps_version_rule bad_regex = openssl_rule;
	struct ps_version_rule no_group = openssl_rule;
	char version[64];

	CHECK_INT(detect_in_path("/bin/true", &openssl_rule, version, sizeof(version), NULL, 0), -ENOENT);
	CHECK(detect_in_path("/nonexistent/libssl.so.3", &openssl_rule, version, sizeof(version), NULL, 0) < 0);
	bad_regex.regex = "OpenSSL ([0-9]+";
	CHECK_INT(detect_in_path("/bin/true", &bad_regex, version, sizeof(version), NULL, 0), -EINVAL);
	no_group.regex = "OpenSSL [0-9]+";
	CHECK_INT(detect_in_path("/bin/true", &no_group, version, sizeof(version), NULL, 0), -EINVAL);
}

/*
 * An executable whose .rodata holds the given strings in this order (one
 * const array each, -fno-toplevel-reorder keeps the order); false when no
 * compiler works here.
 */
static bool build_with_strings(const char *path, const char *const *strings, size_t count)
{
	char source[PATH_MAX + 8], command[3 * PATH_MAX];
	FILE *file;

	snprintf(source, sizeof(source), "%s.c", path);
	file = fopen(source, "w");
	if (!file)
		return false;
	for (size_t i = 0; i < count; i++) {
		fprintf(file, "__attribute__((used)) const char s%zu[] = \"", i);
		for (const char *c = strings[i]; *c; c++)
			fprintf(file, *c == '\n' ? "\\n" : (*c == '"' || *c == '\\') ? "\\%c" : "%c", *c);
		fputs("\";\n", file);
	}
	fputs("int main(void) { return 0; }\n", file);
	fclose(file);
	snprintf(command, sizeof(command), "cc -O0 -fno-toplevel-reorder -o '%s' '%s' >/dev/null 2>&1",
		 path, source);
	unlink(path);
	return system(command) == 0;
}

static void check_detected_with(const char *regex, const char *const *strings, size_t count, int want_err,
				const char *want)
{
	char dir[] = "/tmp/plainsight-version-test.XXXXXX", path[PATH_MAX], version[64] = "";
	struct ps_version_rule only_target = openssl_rule;
	char command[PATH_MAX + 16];

	only_target.needed_prefix = NULL;
	if (regex)
		only_target.regex = regex;
	if (!mkdtemp(dir)) {
		CHECK(!"mkdtemp");
		return;
	}
	snprintf(path, sizeof(path), "%s/strings", dir);
	if (!build_with_strings(path, strings, count)) {
		fprintf(stderr, "  cc cannot build here\n");
		check_failures_in_test++;
	} else {
		int before = check_failures_in_test;

		CHECK_INT(detect_in_path(path, &only_target, version, sizeof(version), NULL, 0), want_err);
		if (want)
			CHECK_STR(version, want);
		if (check_failures_in_test != before)
			fprintf(stderr, "  (regex \"%s\", first string \"%s\")\n", only_target.regex, strings[0]);
	}
	snprintf(command, sizeof(command), "rm -rf '%s'", dir);
	if (system(command) != 0)
		fprintf(stderr, "  could not remove %s\n", dir);
}

static void check_detected(const char *const *strings, size_t count, int want_err, const char *want)
{
	check_detected_with(NULL, strings, count, want_err, want);
}

/* Node.js 8 and 14 keep their JavaScript in .rodata: a comment there names a version too. */
static void test_detect_prefers_banner(void)
{
	static const char *const js_first[] = {
		"// Copyright Joyent, Inc.\n  // OpenSSL 1.1.0, buffers are malloced and freed\n",
		"OpenSSL 1.1.1t  7 Feb 2023",
	};
	static const char *const banner_first[] = {
		"OpenSSL 1.1.1v+quic  1 Aug 2023",
		"  // OpenSSL 1.1.0, buffers are malloced and freed\n",
	};
	/* 1.0.2 also says it inside other strings; the bare banner still wins. */
	static const char *const parts_first[] = {
		"DTLSv1 part of OpenSSL 1.0.2r  26 Feb 2019",
		"OpenSSL 1.0.2s  28 May 2019",
	};
	/* Without a bare banner, the first mention counts. */
	static const char *const only_inside[] = {
		"SSLv3 part of OpenSSL 1.0.2s  28 May 2019",
		"RSA part of OpenSSL 1.0.2t  10 Sep 2019",
	};
	static const char *const none[] = { "OpenSSL without a version", "LibreSSL 3.8.2" };

	check_detected(js_first, 2, 0, "1.1.1t");
	check_detected(banner_first, 2, 0, "1.1.1v");
	check_detected(parts_first, 2, 0, "1.0.2s");
	check_detected(only_inside, 2, 0, "1.0.2s");
	check_detected(none, 2, -ENOENT, NULL);
}

/*
 * Only strings holding the regex's literal start are matched: that start
 * must never be longer than what every match really begins with.
 */
static void test_detect_literal_prefix(void)
{
	static const char *const glued[] = { "x", "OpenSSL1.1.1t  7 Feb 2023" };
	static const char *const spaced[] = { "OpenSSL 1.0.2s", "Open SSL 3.0.2" };
	static const char *const inside[] = { "libssl: OpenSSL 3.5.9 29 Sep 2026", "y" };
	static const char *const libre[] = { "z", "LibreSSL 3.8.2" };

	/* "L ?": the space may be absent. */
	check_detected_with("OpenSSL ?([0-9]+\\.[0-9]+\\.[0-9]+[a-z]*)", glued, 2, 0, "1.1.1t");
	check_detected_with("OpenSSL{0,1}1([.0-9]+[a-z]*)", glued, 2, 0, ".1.1t");
	/* An escaped space is a literal one; \\. a literal dot. */
	check_detected_with("Open\\ SSL ([0-9]+\\.[0-9]+\\.[0-9]+)", spaced, 2, 0, "3.0.2");
	/* Anchored: a match inside other text does not count. */
	check_detected_with("^OpenSSL ([0-9]+\\.[0-9]+\\.[0-9]+[a-z]*)", inside, 2, -ENOENT, NULL);
	check_detected_with("OpenSSL ([0-9]+\\.[0-9]+\\.[0-9]+[a-z]*)", inside, 2, 0, "3.5.9");
	/* An alternation has no single start. */
	check_detected_with("OpenSSL ([0-9.]+)|LibreSSL ([0-9.]+)", libre, 2, -ENOENT, NULL);
	check_detected_with("(Libre|Open)SSL [0-9.]+", libre, 2, 0, "Libre");
	/* Nothing literal at all. */
	check_detected_with("([0-9]+\\.[0-9]+\\.[0-9]+)", libre, 2, 0, "3.8.2");
}

/*
 * `match file`: the regex reads the name of the file the path resolves to.
 * A copy of the system's libssl.so.3 named libfixture.so.3.6.6, and a link
 * libfixture.so.21 to it, stand for libmbedtls.so.21 -> libmbedtls.so.3.6.6;
 * the banner is never looked at.
 */
static int copy_file(const char *from, const char *to)
{
	FILE *in = fopen(from, "rb"), *out = in ? fopen(to, "wb") : NULL;
	char buf[65536];
	size_t n;
	int err = in && out ? 0 : -1;

	while (!err && (n = fread(buf, 1, sizeof(buf), in)) > 0)
		if (fwrite(buf, 1, n, out) != n)
			err = -1;
	if (in)
		fclose(in);
	if (out && fclose(out) != 0)
		err = -1;
	return err;
}

static void test_detect_file_name(void)
{
	static const struct ps_version_rule file_rule = {
		.section = PS_VERSION_FILE_NAME,
		.regex = "^libfixture\\.so\\.([0-9]+\\.[0-9]+\\.[0-9]+)$",
		.force_flag = -1,
	};
	char lib[PATH_MAX], dir[] = "/tmp/version_test.XXXXXX", real[PATH_MAX + 32], link[PATH_MAX + 32];
	char version[32] = "", found[PATH_MAX] = "";

	if (ps_ldcache_resolve("libssl.so.3", lib, sizeof(lib)) != 0 || !mkdtemp(dir)) {
		printf("  (no libssl.so.3 or no temporary directory: the case is not run)\n");
		return;
	}
	snprintf(real, sizeof(real), "%s/libfixture.so.3.6.6", dir);
	snprintf(link, sizeof(link), "%s/libfixture.so.21", dir);
	CHECK_INT(copy_file(lib, real), 0);
	CHECK_INT(symlink("libfixture.so.3.6.6", link), 0);
	CHECK_INT(detect_in_path(link, &file_rule, version, sizeof(version), found, sizeof(found)), 0);
	CHECK_STR(version, "3.6.6");
	CHECK_STR(found, link);
	/* a name the regex does not take: no version, not an error */
	CHECK_INT(detect_in_path(lib, &file_rule, version, sizeof(version), NULL, 0), -ENOENT);
	unlink(link);
	unlink(real);
	rmdir(dir);
}

static void test_parse_forced(void)
{
	char version[64];

	CHECK_INT(ps_version_parse_forced("openssl 3.0.13", &openssl_rule, version, sizeof(version)), 0);
	CHECK_STR(version, "3.0.13");
	CHECK_INT(ps_version_parse_forced("OpenSSL 1.1.1w  11 Sep 2023", &openssl_rule, version, sizeof(version)), 0);
	CHECK_STR(version, "1.1.1w");
	CHECK(ps_version_parse_forced("garbage", &openssl_rule, version, sizeof(version)) < 0);
	CHECK(ps_version_parse_forced("", &openssl_rule, version, sizeof(version)) < 0);
	CHECK_INT(ps_version_parse_forced("openssl 3.0.13", &openssl_rule, version, 4), -ENOSPC);
}

static const struct ps_layout_desc test_layouts[] = {
	{ .name = "openssl-1.1.1", .min_version = "1.1.1", .max_version = "1.1.1zz" },
	{ .name = "openssl-3.0", .min_version = "3.0.0", .max_version = "3.0.99" },
	{ .name = "openssl-3.2", .min_version = "3.2.0", .max_version = "3.2.99" },
};

static const struct ps_module_desc test_module = {
	.name = "tls-test",
	.layouts = test_layouts,
	.n_layouts = sizeof(test_layouts) / sizeof(test_layouts[0]),
};

/* The layout module m selects for product (NULL: none) and version; want_name NULL: none. */
static void check_module_layout(const struct ps_module_desc *m, const char *product, const char *version,
				enum ps_layout_match want_match, const char *want_name)
{
	const struct ps_layout_desc *layout = (const void *)m; /* must be overwritten */
	enum ps_layout_match match = ps_layout_select(m, product, version, &layout);
	const char *got_name = layout == (const void *)m ? "(not set)" : layout ? layout->name : "(none)";

	if (match != want_match || strcmp(got_name, want_name ? want_name : "(none)") != 0) {
		fprintf(stderr, "  %s: %s %s: match %d, layout %s; want %d, %s\n", m->name, product ? product : "(none)",
			version ? version : "(none)", match, got_name, want_match, want_name ? want_name : "(none)");
		check_failures_in_test++;
	}
}

static void check_layout(const char *version, enum ps_layout_match want_match, const char *want_name)
{
	check_module_layout(&test_module, NULL, version, want_match, want_name);
}

static void test_layout_select(void)
{
	check_layout("1.1.1w", PS_LAYOUT_EXACT, "openssl-1.1.1");
	check_layout("3.0.19", PS_LAYOUT_EXACT, "openssl-3.0");
	check_layout("3.2.1", PS_LAYOUT_EXACT, "openssl-3.2");

	/* The boundaries belong to the range. */
	check_layout("1.1.1", PS_LAYOUT_EXACT, "openssl-1.1.1");
	check_layout("1.1.1zz", PS_LAYOUT_EXACT, "openssl-1.1.1");
	check_layout("3.0.0", PS_LAYOUT_EXACT, "openssl-3.0");
	check_layout("3.0.99", PS_LAYOUT_EXACT, "openssl-3.0");
	check_layout("3.2.0", PS_LAYOUT_EXACT, "openssl-3.2");
	check_layout("3.2.99", PS_LAYOUT_EXACT, "openssl-3.2");

	/* Between ranges and above them: the layout just below. */
	check_layout("3.1.5", PS_LAYOUT_NEAREST, "openssl-3.0");
	check_layout("3.0.100", PS_LAYOUT_NEAREST, "openssl-3.0");
	check_layout("2.0.0", PS_LAYOUT_NEAREST, "openssl-1.1.1");
	check_layout("3.5.0", PS_LAYOUT_NEAREST, "openssl-3.2");

	/* Below every range. */
	check_layout("1.0.2", PS_LAYOUT_NONE, NULL);
	check_layout("1.1.0l", PS_LAYOUT_NONE, NULL);
	check_layout(NULL, PS_LAYOUT_NONE, NULL);
}

/* Go's layouts (specs/gotls): the stack ABI's never serves a later release. */
static const struct ps_layout_desc go_layouts[] = {
	{ .name = "go1.15", .min_version = "1.15", .max_version = "1.16.99", .go_stack_abi = true },
	{ .name = "go1.19", .min_version = "1.19", .max_version = "1.20.99" },
	{ .name = "go1.21", .min_version = "1.21" },
};

static const struct ps_module_desc go_module = {
	.name = "gotls-test",
	.layouts = go_layouts,
	.n_layouts = sizeof(go_layouts) / sizeof(go_layouts[0]),
};

static void check_go_layout(const char *version, enum ps_layout_match want_match, const char *want_name)
{
	check_module_layout(&go_module, NULL, version, want_match, want_name);
}

static void test_layout_select_stack_abi(void)
{
	check_go_layout("1.15.15", PS_LAYOUT_EXACT, "go1.15");
	check_go_layout("1.16.3", PS_LAYOUT_EXACT, "go1.15");
	check_go_layout("1.16", PS_LAYOUT_EXACT, "go1.15");
	check_go_layout("1.17.13", PS_LAYOUT_NONE, NULL);
	check_go_layout("1.18", PS_LAYOUT_NONE, NULL);
	check_go_layout("1.19.8", PS_LAYOUT_EXACT, "go1.19");
	check_go_layout("1.14.2", PS_LAYOUT_NONE, NULL);
}

/* Two products whose version numbers overlap, as MariaDB 10/11 and MySQL 8/9 do (specs/mysqld). */
static const struct ps_version_rule more_server_rules[] = {
	{ .section = ".rodata", .regex = "^MySQL ([0-9]+\\.[0-9]+\\.[0-9]+)$", .product = "mysql", .force_flag = -1 },
	{ .section = ".rodata", .regex = "^([0-9]+\\.[0-9]+\\.[0-9]+)$", .product = "mysql", .force_flag = -1 },
};

static const struct ps_target_desc server_target = {
	.name = "server",
	.version = { .section = ".rodata", .regex = "^([0-9]+\\.[0-9]+\\.[0-9]+)-MariaDB", .product = "mariadb",
		     .force_flag = -1 },
	.more_versions = more_server_rules,
	.n_more_versions = 2,
};

static void check_product_detected(const char *const *strings, size_t count, const char *want_product,
				   const char *want_version)
{
	char dir[] = "/tmp/plainsight-version-test.XXXXXX", path[PATH_MAX], version[64] = "";
	char command[PATH_MAX + 16];
	const struct ps_version_rule *matched = NULL;

	if (!mkdtemp(dir)) {
		CHECK(!"mkdtemp");
		return;
	}
	snprintf(path, sizeof(path), "%s/strings", dir);
	if (!build_with_strings(path, strings, count)) {
		fprintf(stderr, "  cc cannot build here\n");
		check_failures_in_test++;
	} else if (!want_product) {
		CHECK_INT(target_detect_in_path(path, &server_target, version, sizeof(version), NULL, 0, &matched),
			  -ENOENT);
		CHECK(matched == NULL);
	} else {
		CHECK_INT(target_detect_in_path(path, &server_target, version, sizeof(version), NULL, 0, &matched), 0);
		CHECK_STR(matched ? matched->product : NULL, want_product);
		CHECK_STR(version, want_version);
	}
	snprintf(command, sizeof(command), "rm -rf '%s'", dir);
	if (system(command) != 0)
		fprintf(stderr, "  could not remove %s\n", dir);
}

/* The rules are tried in order over the whole section: the first rule that matches anywhere wins. */
static void test_detect_products(void)
{
	/* MariaDB also says "MySQL"-like things; its own banner comes first in the rules. */
	static const char *const mariadb[] = { "MySQL 5.5.5", "10.11.19-MariaDB", "5.5.5" };
	static const char *const mysql[] = { "1.3.2", "MySQL 9.7.4", "9.7.4.0" };
	static const char *const bare[] = { "no banner here", "8.0.36" };
	static const char *const neither[] = { "MariaDB", "MySQL", "9.7" };

	check_product_detected(mariadb, 3, "mariadb", "10.11.19");
	check_product_detected(mysql, 3, "mysql", "9.7.4");
	check_product_detected(bare, 2, "mysql", "8.0.36");
	check_product_detected(neither, 3, NULL, NULL);
}

static void check_forced_product(const char *forced, int want_err, const char *want_product, const char *want_version)
{
	const struct ps_version_rule *matched = (const void *)&server_target; /* must be overwritten */
	char version[64] = "";

	CHECK_INT(ps_target_version_parse_forced(forced, &server_target, version, sizeof(version), &matched), want_err);
	if (want_err) {
		CHECK(matched == NULL);
		return;
	}
	CHECK_STR(matched ? matched->product : NULL, want_product);
	CHECK_STR(version, want_version);
}

static void test_parse_forced_products(void)
{
	check_forced_product("10.11.6-MariaDB", 0, "mariadb", "10.11.6");
	check_forced_product("10.11.6-mariadb-log", 0, "mariadb", "10.11.6");
	check_forced_product("mysql 8.0.36", 0, "mysql", "8.0.36");
	check_forced_product("8.0.36", 0, "mysql", "8.0.36");
	check_forced_product("eight", -EINVAL, NULL, NULL);
}

static const struct ps_layout_desc product_layouts[] = {
	{ .name = "mariadb", .product = "mariadb", .min_version = "10.0.0", .max_version = "11.99.99" },
	{ .name = "mysql-8", .product = "mysql", .min_version = "8.0.0", .max_version = "8.99.99" },
	{ .name = "mysql-9", .product = "mysql", .min_version = "9.0.0", .max_version = "9.99.99" },
	{ .name = "any-old", .min_version = "5.0.0", .max_version = "5.99.99" },
};

static const struct ps_module_desc product_module = {
	.name = "server-test",
	.layouts = product_layouts,
	.n_layouts = sizeof(product_layouts) / sizeof(product_layouts[0]),
};

static void check_product_layout(const char *product, const char *version, enum ps_layout_match want_match,
				 const char *want_name)
{
	check_module_layout(&product_module, product, version, want_match, want_name);
}

static void test_layout_select_products(void)
{
	/* The same numbers, told apart by the product. */
	check_product_layout("mariadb", "10.11.19", PS_LAYOUT_EXACT, "mariadb");
	check_product_layout("mysql", "9.7.4", PS_LAYOUT_EXACT, "mysql-9");
	check_product_layout("mysql", "8.0.36", PS_LAYOUT_EXACT, "mysql-8");
	/* MariaDB 12 falls back to MariaDB's layout, never to MySQL 9's. */
	check_product_layout("mariadb", "12.0.1", PS_LAYOUT_NEAREST, "mariadb");
	check_product_layout("mysql", "10.0.0", PS_LAYOUT_NEAREST, "mysql-9");
	/* A layout of no product serves every product where none of its own holds. */
	check_product_layout("mysql", "5.7.44", PS_LAYOUT_EXACT, "any-old");
	check_product_layout("mariadb", "5.5.5", PS_LAYOUT_EXACT, "any-old");
	check_product_layout("mariadb", "9.0.0", PS_LAYOUT_NEAREST, "any-old");
	/* An unnamed product gets only the layouts of none. */
	check_product_layout(NULL, "10.11.19", PS_LAYOUT_NEAREST, "any-old");
	check_product_layout("percona", "4.1.0", PS_LAYOUT_NONE, NULL);
}

/* The product's layout and one of none end together, the product's listed last. */
static const struct ps_layout_desc tied_layouts[] = {
	{ .name = "3.0", .min_version = "3.0.0", .max_version = "3.0.99" },
	{ .name = "3.0+quic", .product = "quic", .min_version = "3.0.0", .max_version = "3.0.99" },
};

static const struct ps_module_desc tied_module = {
	.name = "tied-test",
	.layouts = tied_layouts,
	.n_layouts = sizeof(tied_layouts) / sizeof(tied_layouts[0]),
};

/* Between ranges, a tie goes to the product's layout, never to whichever the table lists first. */
static void test_layout_select_nearest_tie(void)
{
	const struct ps_layout_desc *layout = NULL;

	CHECK_INT(ps_layout_select(&tied_module, "quic", "3.1.0", &layout), PS_LAYOUT_NEAREST);
	CHECK_STR(layout ? layout->name : NULL, "3.0+quic");
	CHECK_INT(ps_layout_select(&tied_module, NULL, "3.1.0", &layout), PS_LAYOUT_NEAREST);
	CHECK_STR(layout ? layout->name : NULL, "3.0");
}

/* Open ranges (`versions "1.0.2" ..`): each ends below the next layout's first version, the last never. */
static const struct ps_layout_desc open_layouts[] = {
	{ .name = "1.0.2", .min_version = "1.0.2", .below_version = "1.1.1" },
	{ .name = "1.1.1", .min_version = "1.1.1", .below_version = "3.0.0" },
	{ .name = "3.0", .min_version = "3.0.0" },
};

static const struct ps_module_desc open_module = {
	.name = "open-test",
	.layouts = open_layouts,
	.n_layouts = sizeof(open_layouts) / sizeof(open_layouts[0]),
};

static void check_open_layout(const char *version, enum ps_layout_match want_match, const char *want_name)
{
	check_module_layout(&open_module, NULL, version, want_match, want_name);
}

static void test_layout_select_open(void)
{
	check_open_layout("1.0.2", PS_LAYOUT_EXACT, "1.0.2");
	check_open_layout("1.0.2zb", PS_LAYOUT_EXACT, "1.0.2");
	check_open_layout("1.1.0l", PS_LAYOUT_EXACT, "1.0.2");
	check_open_layout("1.1.1", PS_LAYOUT_EXACT, "1.1.1");
	check_open_layout("1.1.1w", PS_LAYOUT_EXACT, "1.1.1");
	check_open_layout("3.0.0", PS_LAYOUT_EXACT, "3.0");
	check_open_layout("4.0.1", PS_LAYOUT_EXACT, "3.0");
	check_open_layout("1.0.1u", PS_LAYOUT_NONE, NULL);
}

int main(void)
{
	TEST(test_suffix);
	TEST(test_detect_system_openssl);
	TEST(test_detect_without_needed);
	TEST(test_detect_errors);
	TEST(test_detect_prefers_banner);
	TEST(test_detect_literal_prefix);
	TEST(test_detect_file_name);
	TEST(test_parse_forced);
	TEST(test_layout_select);
	TEST(test_detect_products);
	TEST(test_parse_forced_products);
	TEST(test_layout_select_products);
	TEST(test_layout_select_nearest_tie);
	TEST(test_layout_select_open);
	TEST(test_layout_select_stack_abi);
	return TEST_EXIT();
}
