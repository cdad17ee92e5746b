/* SPDX-License-Identifier: MIT */
/*
 * The source of tests/fuzz/seeds/elf_fuzz/: a small library holding what
 * the target readers look for, so that the fuzzer starts inside each of
 * them: an OpenSSL banner, SSL_write and SSL_read, a table of function
 * pointers (relocations), and a Go 1.20 function table and 1.18 build
 * info (runtime/target/gopclntab.h) naming main.main and
 * crypto/tls.(*Conn).Read. tests/fuzz/elf_seeds.sh builds it.
 */
#include <stdint.h>

const char banner[] = "OpenSSL 3.0.13 30 Jan 2024";

int SSL_write(void *ssl, const void *buf, int num)
{
	return ssl && buf ? num : -1;
}

int SSL_read(void *ssl, void *buf, int num)
{
	return ssl && buf ? num : -1;
}

int (*const methods[])(void *, const void *, int) = { SSL_write };

/* pcHeader (72 bytes), function names at 72, functab at 112: (entry, _func) pairs and the end, then two _funcs. */
__attribute__((section(".gopclntab"), used)) static const uint8_t gopclntab[152] = {
	0xf1, 0xff, 0xff, 0xff, 0, 0, 1, 8,
	2, 0, 0, 0, 0, 0, 0, 0,          /* nfunc */
	0, 0, 0, 0, 0, 0, 0, 0,          /* nfiles */
	0, 0x10, 0, 0, 0, 0, 0, 0,       /* textStart */
	72, 0, 0, 0, 0, 0, 0, 0,         /* funcnameOffset */
	0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0,
	112, 0, 0, 0, 0, 0, 0, 0,        /* pclnOffset: the functab */
	'm', 'a', 'i', 'n', '.', 'm', 'a', 'i', 'n', 0,
	'c', 'r', 'y', 'p', 't', 'o', '/', 't', 'l', 's', '.', '(', '*', 'C', 'o', 'n', 'n', ')', '.',
	'R', 'e', 'a', 'd', 0,
	[112] = 0, 0, 0, 0, 24, 0, 0, 0,
	0x10, 0, 0, 0, 32, 0, 0, 0,
	0x40, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0,          /* _func of main.main: entryOff, nameOff */
	0x10, 0, 0, 0, 10, 0, 0, 0,
};

__attribute__((section(".go.buildinfo"), used, aligned(16))) static const uint8_t buildinfo[48] = {
	0xff, ' ', 'G', 'o', ' ', 'b', 'u', 'i', 'l', 'd', 'i', 'n', 'f', ':', 8, 2,
	[32] = 8, 'g', 'o', '1', '.', '2', '1', '.', '5', 0,
};
