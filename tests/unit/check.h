/* SPDX-License-Identifier: MIT */
/*
 * The smallest test harness that says what failed: each CHECK that fails
 * prints its expression and place; each TEST prints one PASS or FAIL line,
 * which tests/run-all.sh counts.
 */
#ifndef PS_CHECK_H
#define PS_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_failures_in_test;
static int check_failed_tests;

#define CHECK(cond)                                                                       \
	do {                                                                              \
		if (!(cond)) {                                                            \
			fprintf(stderr, "  %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			check_failures_in_test++;                                         \
		}                                                                         \
	} while (0)

#define CHECK_STR(got, want)                                                              \
	do {                                                                              \
		const char *check_got_ = (got), *check_want_ = (want);                    \
		if (!check_got_ || strcmp(check_got_, check_want_) != 0) {                \
			fprintf(stderr, "  %s:%d: %s is \"%s\", want \"%s\"\n", __FILE__, __LINE__, #got, \
				check_got_ ? check_got_ : "(null)", check_want_);            \
			check_failures_in_test++;                                         \
		}                                                                         \
	} while (0)

#define CHECK_INT(got, want)                                                              \
	do {                                                                              \
		long long check_got_ = (long long)(got), check_want_ = (long long)(want); \
		if (check_got_ != check_want_) {                                          \
			fprintf(stderr, "  %s:%d: %s is %lld, want %lld\n", __FILE__, __LINE__, #got, \
				check_got_, check_want_);                                    \
			check_failures_in_test++;                                         \
		}                                                                         \
	} while (0)

#define TEST(fn)                                                                          \
	do {                                                                              \
		check_failures_in_test = 0;                                               \
		fn();                                                                     \
		printf("%s %s\n", check_failures_in_test ? "FAIL" : "PASS", #fn);         \
		fflush(stdout);                                                           \
		if (check_failures_in_test)                                               \
			check_failed_tests++;                                             \
	} while (0)

#define TEST_EXIT() (check_failed_tests ? 1 : 0)

/* Where a test event's own fields start: right after the common header. */
#define PS_TEST_HDR ((uint32_t)sizeof(struct ps_event_header))

#endif
