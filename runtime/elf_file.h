/* SPDX-License-Identifier: MIT */
/* Reading the ELF files plainsight attaches to, with libelf. */

#ifndef PS_ELF_H
#define PS_ELF_H

#include <stddef.h>
#include <stdint.h>

struct ps_elf;

/* Opens path; NULL and errno set on failure (ENOEXEC: not an ELF file). */
struct ps_elf *ps_elf_open(const char *path);
void ps_elf_close(struct ps_elf *elf);
const char *ps_elf_path(const struct ps_elf *elf);

/*
 * Finds a function symbol (.dynsym, then .symtab) and returns the file offset
 * a uprobe attaches to, or a negative errno: -ENOENT when absent, -ENODATA
 * when the file has no symbol tables at all (stripped).
 */
long ps_elf_symbol_offset(struct ps_elf *elf, const char *symbol);

/* Whether the file has any symbol table; a stripped binary has none. */
int ps_elf_has_symbols(struct ps_elf *elf);

/* Calls fn for each DT_NEEDED name; stops early when fn returns non-zero. */
int ps_elf_for_each_needed(struct ps_elf *elf, int (*fn)(const char *name, void *arg), void *arg);

/*
 * Points *data at the section's bytes (valid until ps_elf_close) and sets *size;
 * -ENOENT when the file has no such section.
 */
int ps_elf_section(struct ps_elf *elf, const char *name, const void **data, size_t *size);

#endif
