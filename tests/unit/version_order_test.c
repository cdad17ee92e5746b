/* SPDX-License-Identifier: MIT */
/*
 * common/version_order.c, the order probec and the runtime share. The Makefile
 * links this file twice: against the runtime's library (version_order_test)
 * and against probec's objects (version_order_test-probec); both must pass.
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "version_order.h"

#ifndef VERSION_ORDER_BUILD
#define VERSION_ORDER_BUILD "runtime"
#endif

static int sign(int value)
{
	return (value > 0) - (value < 0);
}

static void check_order(const char *lower, const char *higher)
{
	int forward = version_order_compare(lower, higher);
	int backward = version_order_compare(higher, lower);

	if (sign(forward) != -1 || sign(backward) != 1) {
		fprintf(stderr, "  want \"%s\" < \"%s\", compare gives %d and %d\n", lower, higher, forward, backward);
		check_failures_in_test++;
	}
}

static void check_same(const char *a, const char *b)
{
	if (version_order_compare(a, b) != 0 || version_order_compare(b, a) != 0) {
		fprintf(stderr, "  want \"%s\" = \"%s\", compare gives %d and %d\n", a, b, version_order_compare(a, b),
			version_order_compare(b, a));
		check_failures_in_test++;
	}
}

/* Every pair of a chain, not only neighbours: the order must be transitive. */
static void check_chain(const char *const *ascending, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		for (size_t j = i + 1; j < count; j++)
			check_order(ascending[i], ascending[j]);
		check_same(ascending[i], ascending[i]);
	}
}

#define CHAIN(...)                                                             \
	do {                                                                   \
		static const char *const chain[] = { __VA_ARGS__ };            \
		check_chain(chain, sizeof(chain) / sizeof(chain[0]));          \
	} while (0)

static void test_numeric_components(void)
{
	CHAIN("0", "1.0.2", "1.1.0", "1.1.1", "3.0.0", "3.0.9", "3.0.19", "3.0.99", "3.0.100", "3.1.0", "3.9.9",
	      "3.10.0", "10.0.0", "99999999999999999999.1", "100000000000000000000.0");
	check_same("3.0", "3.0.0");
	check_same("3.00.1", "3.0.1");
	check_same("", "0");
	check_order("3.0", "3.0.1");
}

static void test_openssl_letters(void)
{
	CHAIN("1.0.2", "1.0.2a", "1.0.2u", "1.0.2y", "1.0.2z", "1.0.2za", "1.0.2zb", "1.0.2zh", "1.0.2zi", "1.0.2zz",
	      "1.0.2zza", "1.0.3");
	/* Outside OpenSSL's count, a longer run is still later: two letters after one. */
	check_order("1.0.2z", "1.0.2ab");
	check_order("1.0.2ab", "1.0.2za");
	check_order("1.1.1zz", "1.1.2");
	check_order("1.1.1w", "1.1.1x");
}

static void test_pre_releases(void)
{
	CHAIN("2.9.9", "3.0.0-dev", "3.0.0-alpha", "3.0.0-alpha1", "3.0.0-alpha2", "3.0.0-alpha10", "3.0.0-alpha17",
	      "3.0.0-beta1", "3.0.0-beta2", "3.0.0-pre1", "3.0.0-rc1", "3.0.0-rc2", "3.0.0", "3.0.0a", "3.0.1-alpha1",
	      "3.0.1");
	check_same("3.0.0-alpha1", "3.0.0-ALPHA1");
	check_same("3.0.0-alpha01", "3.0.0-alpha1");
	check_same("3.0.0-rc1+quic", "3.0.0-rc1");
	check_order("3.0.0-rc.1", "3.0.0-rc.2");
	check_order("1.1.1-dev", "1.1.1a");
	/* PostgreSQL glues its pre-releases to the number. */
	CHAIN("15.6", "16beta1", "16beta2", "16rc1", "16", "16.1");
	check_same("16", "16.0");
}

static void test_ignored_tails(void)
{
	/* Build metadata: a patched build is a product of its own, not a later version. */
	check_same("3.0.0+quic", "3.0.0");
	check_same("1.1.1v+quic", "1.1.1v");
	check_order("3.0.13+quic", "3.0.14-dev");
	check_order("3.0.13+quic", "3.0.14");
	/* A "-" tag that is no pre-release names a product or a build. */
	check_same("1.1.1w-fips", "1.1.1w");
	check_same("3.0.0-preview", "3.0.0");
	check_same("1.1.1w-0+deb11u1", "1.1.1w");
	check_same("garbage", "0");
	check_same("3.0.", "3.0");
}

static void test_mariadb_mysql(void)
{
	CHAIN("5.5.68-MariaDB", "10.3.39-MariaDB", "10.11.6-MariaDB", "10.11.19-MariaDB", "11.4.2-MariaDB");
	CHAIN("5.7.44", "8.0.0", "8.0.36", "8.4.0", "9.7.4");
	check_same("10.11.6-MariaDB", "10.11.6");
	check_same("10.11.6-MariaDB-0+deb12u1-log", "10.11.6");
	check_same("5.7.44-log", "5.7.44");
	/* Products are not in the order: the numbers alone compare, as between any two versions. */
	check_order("8.0.36", "10.11.6-MariaDB");
}

static void check_spec_ok(const char *version)
{
	const char *problem = version_order_spec_problem(version);

	if (problem) {
		fprintf(stderr, "  \"%s\" refused: %s\n", version, problem);
		check_failures_in_test++;
	}
}

static void check_spec_refused(const char *version, const char *reason_part)
{
	const char *problem = version_order_spec_problem(version);

	if (!problem || !strstr(problem, reason_part)) {
		fprintf(stderr, "  \"%s\": %s, want a reason with \"%s\"\n", version, problem ? problem : "accepted",
			reason_part);
		check_failures_in_test++;
	}
}

static void test_spec_spelling(void)
{
	static const char *const accepted[] = {
		"0", "3.0.2", "1.1.1w", "1.0.2za", "1.0.2zza", "10.11.6", "99.99", "3.0.0-alpha1", "3.0.0-rc.2", "3.2.0-dev",
		"16beta1",
	};

	for (size_t i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++)
		check_spec_ok(accepted[i]);
	check_spec_refused("", "numbers joined by dots");
	check_spec_refused("1.x", "numbers joined by dots");
	check_spec_refused("v1.0", "numbers joined by dots");
	check_spec_refused("3.0.", "numbers joined by dots");
	check_spec_refused("3.01", "zero in front");
	check_spec_refused("1.0.2ab", "OpenSSL's patch releases");
	check_spec_refused("1.0a.2", "letters only follow the last number");
	check_spec_refused("3.0.0+quic", "build metadata");
	check_spec_refused("3.0.0-rc1+quic", "build metadata");
	check_spec_refused("10.11.6-MariaDB", "\"-\" tag other than a pre-release");
	check_spec_refused("3.0.0-Alpha1", "lowercase word");
	check_spec_refused("3.0.0-alpha_1", "lowercase word");
}

int main(void)
{
	printf("# version order, linked into %s\n", VERSION_ORDER_BUILD);
	TEST(test_numeric_components);
	TEST(test_openssl_letters);
	TEST(test_pre_releases);
	TEST(test_ignored_tails);
	TEST(test_mariadb_mysql);
	TEST(test_spec_spelling);
	return TEST_EXIT();
}
