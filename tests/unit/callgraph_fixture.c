/* SPDX-License-Identifier: MIT */
/*
 * A small library for tests/unit/callgraph_test.c, built twice (Makefile):
 * with its symbol table and stripped. Like libssl's SSL_read, SSL_read_ex
 * and ssl_read_internal: two exported wrappers call one function that is not
 * exported, and a third exported function tail-calls a wrapper. The test
 * locates fixture_internal in the stripped copy by its callers and compares
 * with the address the unstripped copy's .symtab gives.
 */
#include <stddef.h>

__attribute__((visibility("hidden"), noinline)) int fixture_internal(char *buf, size_t num, size_t *done)
{
	size_t i;

	for (i = 0; i < num && buf[i]; i++)
		buf[i] ^= 0x20;
	*done = i;
	return i ? 1 : -1;
}

__attribute__((visibility("hidden"), noinline)) int fixture_error(int code)
{
	return code < 0 ? -1 : code;
}

int fixture_read(char *buf, int num)
{
	size_t done;
	int ret;

	if (num < 0)
		return fixture_error(num);
	ret = fixture_internal(buf, (size_t)num, &done);
	return ret > 0 ? (int)done : ret;
}

int fixture_read_ex(char *buf, size_t num, size_t *done)
{
	int ret = fixture_internal(buf, num, done);

	return ret < 0 ? 0 : ret;
}

/* Reaches fixture_internal only through the exported fixture_read_ex (a tail call). */
int fixture_read_all(char *buf, size_t num, size_t *done)
{
	return fixture_read_ex(buf, num, done);
}

/* Reaches nothing of the above. */
int fixture_other(int x)
{
	return fixture_error(x);
}

/*
 * Like GnuTLS's _gnutls_call_keylog_func: a function that is not exported,
 * found by the string literals its callers pass it (`called with`).
 * "FIXTURE_EXPORTER" may sit as the tail of "EARLY_FIXTURE_EXPORTER".
 */
__attribute__((visibility("hidden"), noinline)) int fixture_log(void *s, const char *label, const void *data,
								  unsigned size)
{
	return (s && label[0] && data) ? (int)size : -1;
}

/* Takes one of the same labels: that one alone names two functions. */
__attribute__((visibility("hidden"), noinline)) int fixture_note(const char *label)
{
	return label[0] == 'F';
}

int fixture_tls12(void *s, const void *master)
{
	return fixture_log(s, "FIXTURE_MASTER", master, 48);
}

int fixture_tls13(void *s, const void *secret)
{
	int ret = fixture_log(s, "FIXTURE_EXPORTER", secret, 32);

	return ret < 0 ? ret : fixture_log(s, "EARLY_FIXTURE_EXPORTER", secret, 32);
}

int fixture_notes(void)
{
	return fixture_note("FIXTURE_MASTER");
}

/*
 * Like NSS's freebl: functions reached only through a table of pointers an
 * exported function returns (`slot S.F of T`). fixture_vector returns NULL
 * when its check fails and runs one more call before returning the table,
 * as FREEBL_GetVector does (FREEBL_InitStubs, then BL_POSTRan).
 */
__attribute__((visibility("hidden"), noinline)) int fixture_slot_one(int x)
{
	return x + 1;
}

__attribute__((visibility("hidden"), noinline)) int fixture_slot_two(int x)
{
	return x * 2;
}

struct fixture_vector_st {
	unsigned short length;
	unsigned short version;
	int (*one)(int);
	int (*two)(int);
};

__attribute__((visibility("hidden"))) const struct fixture_vector_st fixture_vector_table = {
	sizeof(struct fixture_vector_st), 1, fixture_slot_one, fixture_slot_two,
};

__attribute__((visibility("hidden"))) volatile int fixture_vector_fails;

__attribute__((visibility("hidden"), noinline)) int fixture_vector_check(void)
{
	return fixture_vector_fails;
}

__attribute__((visibility("hidden"), noinline)) void fixture_vector_post(void)
{
	fixture_vector_fails = 0;
}

const struct fixture_vector_st *fixture_vector(void)
{
	if (fixture_vector_check())
		return NULL;
	fixture_vector_post();
	return &fixture_vector_table;
}
