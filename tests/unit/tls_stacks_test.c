/* SPDX-License-Identifier: MIT */
/*
 * runtime/target/tls_stacks.c: which TLS stack a library file name belongs to, and
 * what executables built here with cc carry (OpenSSL defined in them, TLS
 * libraries they need, the marks of a Go binary with crypto/tls).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "tls_stacks.h"

static char scratch_dir[] = "/tmp/plainsight-tls-stacks-test.XXXXXX";

static void test_library_names(void)
{
	CHECK(ps_tls_stack_of_library("libssl.so.3") == &ps_tls_openssl);
	CHECK(ps_tls_stack_of_library("/opt/app/lib/libssl.so.1.1") == &ps_tls_openssl);
	CHECK(ps_tls_stack_of_library("/usr/lib/x86_64-linux-gnu/libgnutls.so.30.34.3") == &ps_tls_gnutls);
	/* NSS's libssl3.so is not OpenSSL's libssl.so */
	CHECK(ps_tls_stack_of_library("/usr/lib/x86_64-linux-gnu/libssl3.so") == &ps_tls_nss);
	CHECK(ps_tls_stack_of_library("libnss3.so") == &ps_tls_nss);
	CHECK(ps_tls_stack_of_library("/usr/lib/x86_64-linux-gnu/libwolfssl.so.35") == &ps_tls_wolfssl);
	CHECK(ps_tls_stack_of_library("libmbedtls.so.14") == &ps_tls_mbedtls);
	CHECK(ps_tls_stack_of_library("libmbedcrypto.so.7") == NULL);
	CHECK(ps_tls_stack_of_library("libcrypto.so.3") == NULL);
	CHECK(ps_tls_stack_of_library("libgnutlsxx.so.30") == NULL);
	CHECK(ps_tls_stack_of_library("/usr/lib/libssl.so.3/") == NULL);
}

static void test_modules(void)
{
	CHECK(ps_tls_stacks_probed_by("tls"));
	CHECK(ps_tls_stacks_probed_by("gnutls"));
	CHECK(!ps_tls_stacks_probed_by("bash"));
	CHECK_STR(ps_tls_go.module, "gotls");
}

/* Builds source with cc and flags into scratch_dir/name; false when cc cannot (a library missing). */
static bool build(const char *name, const char *source, const char *flags, char *path, size_t size)
{
	char src_path[256], command[1024];
	FILE *f;

	snprintf(src_path, sizeof(src_path), "%s/%s.c", scratch_dir, name);
	snprintf(path, size, "%s/%s", scratch_dir, name);
	f = fopen(src_path, "w");
	if (!f)
		return false;
	fputs(source, f);
	fclose(f);
	snprintf(command, sizeof(command), "cc -O1 -o '%s' '%s' %s >/dev/null 2>&1", path, src_path, flags);
	return system(command) == 0;
}

static void test_openssl_defined_inside(void)
{
	char path[256];
	struct ps_exe_tls exe;

	if (!build("static_ssl", "int SSL_write(void *s, const void *b, int n) { (void)s; (void)b; return n; }\n"
			       "int main(int c, char **v) { return SSL_write(0, v, c) != c; }\n",
		   "-rdynamic", path, sizeof(path))) {
		CHECK(!"cc failed");
		return;
	}
	CHECK_INT(ps_exe_tls_read(path, &exe), 0);
	CHECK(exe.static_openssl);
	CHECK(!exe.go_tls);
	CHECK_INT(exe.n_needed, 0);
	ps_exe_tls_free(&exe);
}

static void test_needed_libraries(void)
{
	const char *source = "int SSL_write(void *, const void *, int);\n"
			     "int gnutls_global_init(void);\n"
			     "int main(int c, char **v) { return c > 5 ? SSL_write(0, v, c) + gnutls_global_init() : 0; }\n";
	char path[256];
	struct ps_exe_tls exe;

	if (!build("needs_ssl", source, "-Wl,--no-as-needed -lssl -lgnutls", path, sizeof(path))) {
		printf("SKIP test_needed_libraries: cc cannot link -lssl -lgnutls (libssl-dev, libgnutls28-dev)\n");
		return;
	}
	CHECK_INT(ps_exe_tls_read(path, &exe), 0);
	/* an import of SSL_write is no OpenSSL of its own */
	CHECK(!exe.static_openssl);
	CHECK(ps_exe_tls_needs(&exe, &ps_tls_openssl));
	CHECK(ps_exe_tls_needs(&exe, &ps_tls_gnutls));
	CHECK(!ps_exe_tls_needs(&exe, &ps_tls_nss));
	CHECK_INT(exe.n_needed, 2);
	ps_exe_tls_free(&exe);
}

/* The two sections a Go linker writes, with crypto/tls among the function names, or not. */
static void check_go_marks(const char *name, const char *pclntab, bool want_tls)
{
	char source[1024], path[256];
	struct ps_exe_tls exe;

	snprintf(source, sizeof(source),
		 "__attribute__((used, section(\".go.buildinfo\"))) static const char buildinfo[] = \"\\xff Go buildinf:\";\n"
		 "__attribute__((used, section(\".gopclntab\"))) static const char pclntab[] = \"%s\";\n"
		 "int main(void) { return 0; }\n", pclntab);
	if (!build(name, source, "", path, sizeof(path))) {
		CHECK(!"cc failed");
		return;
	}
	CHECK_INT(ps_exe_tls_read(path, &exe), 0);
	CHECK_INT(exe.go_tls, want_tls);
	CHECK(!exe.static_openssl);
	ps_exe_tls_free(&exe);
}

static void test_go_marks(void)
{
	check_go_marks("go_tls", "main.main\\0crypto/tls.(*Conn).Write\\0runtime.main", true);
	check_go_marks("go_plain", "main.main\\0runtime.main\\0crypto/sha256.block", false);
}

static void test_not_elf(void)
{
	struct ps_exe_tls exe;
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/script", scratch_dir);
	f = fopen(path, "w");
	if (!f) {
		CHECK(!"cannot write the script");
		return;
	}
	fputs("#!/bin/sh\necho SSL_write\n", f);
	fclose(f);
	CHECK_INT(ps_exe_tls_read(path, &exe), -ENOEXEC);
	CHECK_INT(ps_exe_tls_read("/nonexistent/program", &exe), -ENOENT);
}

int main(void)
{
	char command[256];

	if (!mkdtemp(scratch_dir)) {
		perror("mkdtemp");
		return 1;
	}
	TEST(test_library_names);
	TEST(test_modules);
	TEST(test_openssl_defined_inside);
	TEST(test_needed_libraries);
	TEST(test_go_marks);
	TEST(test_not_elf);
	snprintf(command, sizeof(command), "rm -rf '%s'", scratch_dir);
	if (system(command) != 0)
		fprintf(stderr, "cannot remove %s\n", scratch_dir);
	return TEST_EXIT();
}
