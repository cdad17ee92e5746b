/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "elf_file.h"
#include "tls_stacks.h"

/* "libssl.so" is OpenSSL's prefix; NSS's libssl3.so does not share it. */
static const char *const openssl_libraries[] = { "libssl.so", NULL };
static const char *const gnutls_libraries[] = { "libgnutls.so", NULL };
static const char *const nss_libraries[] = { "libnss3.so", "libssl3.so", NULL };
static const char *const wolfssl_libraries[] = { "libwolfssl.so", NULL };
static const char *const mbedtls_libraries[] = { "libmbedtls.so", NULL };

const struct ps_tls_stack ps_tls_openssl = { "OpenSSL", "tls", openssl_libraries };
const struct ps_tls_stack ps_tls_gnutls = { "GnuTLS", "gnutls", gnutls_libraries };
const struct ps_tls_stack ps_tls_nss = { "NSS", "nss", nss_libraries };
const struct ps_tls_stack ps_tls_wolfssl = { "wolfSSL", "wolfssl", wolfssl_libraries };
const struct ps_tls_stack ps_tls_mbedtls = { "Mbed TLS", "mbedtls", mbedtls_libraries };
const struct ps_tls_stack ps_tls_go = { "Go crypto/tls", "gotls", NULL };

static const struct ps_tls_stack *const all_stacks[] = {
	&ps_tls_openssl, &ps_tls_gnutls, &ps_tls_nss, &ps_tls_wolfssl, &ps_tls_mbedtls, &ps_tls_go,
};
#define N_STACKS (sizeof(all_stacks) / sizeof(all_stacks[0]))

/*
 * A symbol of crypto/tls that every Go program using it links: a client
 * or a server writes through (*Conn).Write.
 */
#define GO_TLS_FUNCTION "crypto/tls.(*Conn).Write"

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

static bool is_library_of(const struct ps_tls_stack *stack, const char *name)
{
	if (!stack->libraries)
		return false;
	for (const char *const *prefix = stack->libraries; *prefix; prefix++)
		if (strncmp(name, *prefix, strlen(*prefix)) == 0)
			return true;
	return false;
}

const struct ps_tls_stack *ps_tls_stack_of_library(const char *path)
{
	const char *name = base_name(path);

	for (size_t i = 0; i < N_STACKS; i++)
		if (is_library_of(all_stacks[i], name))
			return all_stacks[i];
	return NULL;
}

bool ps_tls_stacks_probed_by(const char *module)
{
	for (size_t i = 0; i < N_STACKS; i++)
		if (strcmp(all_stacks[i]->module, module) == 0)
			return true;
	return false;
}

/*
 * Go writes .go.buildinfo into every binary since 1.13. Function names stay
 * in .gopclntab when the symbol table is stripped (-ldflags=-s), so they are
 * looked for there first.
 */
static bool carries_go_tls(struct ps_elf *elf)
{
	const void *data;
	size_t size;

	if (ps_elf_section(elf, ".go.buildinfo", &data, &size) != 0)
		return false;
	if (ps_elf_section(elf, ".gopclntab", &data, &size) == 0 &&
	    memmem(data, size, GO_TLS_FUNCTION, sizeof(GO_TLS_FUNCTION)) != NULL)
		return true;
	return ps_elf_symbol_offset(elf, GO_TLS_FUNCTION) >= 0;
}

static int add_tls_needed(const char *name, void *arg)
{
	struct ps_exe_tls *exe = arg;
	char **grown;

	if (!ps_tls_stack_of_library(name))
		return 0;
	grown = realloc(exe->needed, (exe->n_needed + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	exe->needed = grown;
	exe->needed[exe->n_needed] = strdup(name);
	if (!exe->needed[exe->n_needed])
		return -ENOMEM;
	exe->n_needed++;
	return 0;
}

int ps_exe_tls_read(const char *path, struct ps_exe_tls *exe)
{
	struct ps_elf *elf = ps_elf_open(path);
	int err;

	memset(exe, 0, sizeof(*exe));
	if (!elf)
		return -errno;
	exe->go_tls = carries_go_tls(elf);
	/* an import of SSL_write is undefined in .dynsym: only a definition counts */
	exe->static_openssl = ps_elf_symbol_offset(elf, "SSL_write") >= 0;
	err = ps_elf_for_each_needed(elf, add_tls_needed, exe);
	ps_elf_close(elf);
	/* a damaged dynamic section leaves the libraries to /proc/PID/maps; memory does not */
	if (err == -ENOMEM) {
		ps_exe_tls_free(exe);
		return err;
	}
	return 0;
}

void ps_exe_tls_free(struct ps_exe_tls *exe)
{
	for (size_t i = 0; i < exe->n_needed; i++)
		free(exe->needed[i]);
	free(exe->needed);
	memset(exe, 0, sizeof(*exe));
}

bool ps_exe_tls_needs(const struct ps_exe_tls *exe, const struct ps_tls_stack *stack)
{
	for (size_t i = 0; i < exe->n_needed; i++)
		if (is_library_of(stack, exe->needed[i]))
			return true;
	return false;
}
