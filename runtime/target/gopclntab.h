/* SPDX-License-Identifier: MIT */
/*
 * Go binaries: their functions from the pc-line table (.gopclntab), which
 * survives `-ldflags='-s -w'` and strip, and their Go version from
 * .go.buildinfo. Formats: Go's src/runtime/symtab.go (pcHeader, _func,
 * functab) and src/debug/buildinfo/buildinfo.go, per release.
 */
#ifndef PS_GOPCLNTAB_H
#define PS_GOPCLNTAB_H

#include <stddef.h>
#include <stdint.h>
#include "elf_file.h"

enum ps_go_pcln_format {
	PS_GO_PCLN_12,    /* magic 0xfffffffb: Go 1.2 .. 1.15 */
	PS_GO_PCLN_116,   /* 0xfffffffa: Go 1.16, 1.17 */
	PS_GO_PCLN_118,   /* 0xfffffff0: Go 1.18, 1.19 */
	PS_GO_PCLN_120,   /* 0xfffffff1: Go 1.20 and later */
};

/* A view of one binary's table; data points into the ps_elf's mapping. */
struct ps_go_pclntab {
	const uint8_t *data;
	size_t size;
	enum ps_go_pcln_format format;
	uint64_t n_funcs;
	uint64_t text_start;      /* 1.18+: entries are offsets from it */
	size_t funcnames;         /* 1.16+: offset in data of the function name table */
	size_t functab;           /* offset in data of the (entry, func offset) pairs */
};

/* The table of a Go binary: -ENOENT when the file is no Go binary, -EBADMSG when the table does not parse. */
int ps_go_pclntab_open(struct ps_elf *elf, struct ps_go_pclntab *tab);

/*
 * The function named `name` ("crypto/tls.(*Conn).Read"): its entry address
 * and the next function's, which ends its code. -ENOENT when absent.
 */
int ps_go_function(const struct ps_go_pclntab *tab, const char *name, uint64_t *entry, uint64_t *end);

/* The Go version the binary was built with ("go1.19.8"); -ENOENT when .go.buildinfo does not say. */
int ps_go_version(struct ps_elf *elf, char *version, size_t size);

#endif /* PS_GOPCLNTAB_H */
