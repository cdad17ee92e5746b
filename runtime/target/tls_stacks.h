/* SPDX-License-Identifier: MIT */
/*
 * The TLS implementations a program may carry, and the module that probes
 * each: runtime/target/reach.c says when a program's TLS goes through one that no
 * running module probes. A module added for one of them (gnutls, nss, gotls)
 * keeps the notices about it quiet by its name alone.
 */
#ifndef PS_TLS_STACKS_H
#define PS_TLS_STACKS_H

#include <stdbool.h>
#include <stddef.h>

struct ps_tls_stack {
	const char *name;                /* as the user knows it: "GnuTLS" */
	const char *module;              /* the module that probes it: plainsight MODULE */
	const char *const *libraries;    /* file name prefixes of its shared libraries; NULL: compiled in */
};

extern const struct ps_tls_stack ps_tls_openssl, ps_tls_gnutls, ps_tls_nss, ps_tls_wolfssl, ps_tls_mbedtls, ps_tls_go;

/* The stack whose shared library this file is (by its name: "libgnutls.so.30"); NULL: none. */
const struct ps_tls_stack *ps_tls_stack_of_library(const char *path);

/* Whether the module probes one of the stacks: only such a module looks for what it cannot see. */
bool ps_tls_stacks_probed_by(const char *module);

/* What an executable carries itself, read from its ELF file. */
struct ps_exe_tls {
	bool go_tls;                     /* Go, with crypto/tls compiled in */
	bool static_openssl;             /* defines SSL_write itself (OpenSSL linked in, as in Node.js) */
	char **needed;                   /* its DT_NEEDED names of TLS libraries ("libgnutls.so.30") */
	size_t n_needed;
};

/* Reads path's ELF file; 0, or a negative errno (-ENOEXEC: not ELF). */
int ps_exe_tls_read(const char *path, struct ps_exe_tls *exe);
void ps_exe_tls_free(struct ps_exe_tls *exe);

/* Whether the executable names a library of stack among its DT_NEEDED. */
bool ps_exe_tls_needs(const struct ps_exe_tls *exe, const struct ps_tls_stack *stack);

#endif
