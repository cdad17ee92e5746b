/* SPDX-License-Identifier: MIT */
/* runtime/target/names.c: the one way names are joined in messages. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "names.h"

static void check_join(const char *const *names, size_t n, const char *quote, const char *separator,
		       const char *last_separator, const char *want)
{
	char *got = ps_names_join(names, n, quote, separator, last_separator);

	CHECK_STR(got, want);
	free(got);
}

static void test_join(void)
{
	static const char *const three[] = { "SSL_read", "SSL_read_ex", "ssl_read" };
	static char big[4096];

	check_join(three, 0, "", ", ", " and ", "");
	check_join(three, 1, "", ", ", " and ", "SSL_read");
	check_join(three, 2, "", ", ", " and ", "SSL_read and SSL_read_ex");
	check_join(three, 3, "", ", ", " and ", "SSL_read, SSL_read_ex and ssl_read");
	check_join(three, 3, "", ", ", ", ", "SSL_read, SSL_read_ex, ssl_read");
	check_join(three, 2, "'", " or ", " or ", "'SSL_read' or 'SSL_read_ex'");
	/* a list longer than any fixed buffer the joiners had is not cut */
	memset(big, 'x', sizeof(big) - 1);
	{
		const char *const names[] = { "a", big };
		char *got = ps_names_join(names, 2, "", ", ", " and ");

		CHECK(got && strlen(got) == strlen("a and ") + sizeof(big) - 1);
		free(got);
	}
}

int main(void)
{
	TEST(test_join);
	return TEST_EXIT();
}
