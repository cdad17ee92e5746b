/* SPDX-License-Identifier: MIT */
/* Reading the ELF files plainsight attaches to, with libelf. */

#ifndef PS_ELF_H
#define PS_ELF_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <stdint.h>
#include <sys/types.h>

struct ps_elf;

/* Opens path; NULL and errno set on failure (ENOEXEC: not an ELF file). */
struct ps_elf *ps_elf_open(const char *path);
void ps_elf_close(struct ps_elf *elf);
const char *ps_elf_path(const struct ps_elf *elf);
/* fstat(2) of the file as opened: the very file read, whatever its path names since. */
int ps_elf_stat(const struct ps_elf *elf, struct stat *st);

/*
 * Finds a function symbol (.dynsym, then .symtab) and returns the file offset
 * a uprobe attaches to, or a negative errno: -ENOENT when absent, -ENODATA
 * when the file has no symbol tables at all (stripped).
 */
long ps_elf_symbol_offset(struct ps_elf *elf, const char *symbol);

/*
 * The link-time address (st_value) of a function, or with object set of a
 * global variable; the same errors as ps_elf_symbol_offset.
 */
int ps_elf_symbol_vaddr(struct ps_elf *elf, const char *symbol, bool object, uint64_t *vaddr);

/* A function's link-time address and size (st_size); the same errors as ps_elf_symbol_offset. */
int ps_elf_function(struct ps_elf *elf, const char *symbol, uint64_t *vaddr, uint64_t *size);

/* Whether .dynsym defines a function starting at vaddr, one the file exports: 0 and its size, or -ENOENT
 * (-ENOMEM when its index cannot be built). */
int ps_elf_exported_function_at(struct ps_elf *elf, uint64_t vaddr, uint64_t *size);

/* The name of the loaded section holding vaddr (".text", ".plt", ...); NULL outside them. */
const char *ps_elf_section_name_at(struct ps_elf *elf, uint64_t vaddr);

/* The name of the symbol a relocation at slot (a GOT entry, say) binds; NULL when none does. */
const char *ps_elf_relocation_symbol(struct ps_elf *elf, uint64_t slot);

/*
 * The link-time address the 8-byte pointer at vaddr holds once loaded: the
 * addend of the R_X86_64_RELATIVE relocation on it (a position-independent
 * table of function pointers), the value of the defined symbol an
 * R_X86_64_64 one binds, else the bytes the file holds there. -ENOENT when
 * a relocation binds an undefined symbol; other negative errnos when the
 * file cannot be read there.
 */
int ps_elf_pointer_at(struct ps_elf *elf, uint64_t vaddr, uint64_t *value);

/* Reads up to size bytes of the file at link-time address vaddr: the count read, or a negative errno. */
ssize_t ps_elf_read_code(struct ps_elf *elf, uint64_t vaddr, void *buf, size_t size);

/* The file offset of a link-time address inside a loaded segment; -ERANGE outside them. */
long ps_elf_vaddr_offset(struct ps_elf *elf, uint64_t vaddr);

/* The link-time address of a file offset inside a loaded segment; -ERANGE outside them. */
int ps_elf_offset_vaddr(struct ps_elf *elf, uint64_t offset, uint64_t *vaddr);

/* Whether the file has any symbol table; a stripped binary has none. */
int ps_elf_has_symbols(struct ps_elf *elf);

/* Calls fn for each DT_NEEDED name; stops early when fn returns non-zero. */
int ps_elf_for_each_needed(struct ps_elf *elf, int (*fn)(const char *name, void *arg), void *arg);

/*
 * Points *data at the section's bytes (valid until ps_elf_close) and sets *size;
 * -ENOENT when the file has no such section.
 */
int ps_elf_section(struct ps_elf *elf, const char *name, const void **data, size_t *size);

/* The link-time address (sh_addr) of a section; -ENOENT when the file has no such section. */
int ps_elf_section_vaddr(struct ps_elf *elf, const char *name, uint64_t *vaddr);

#endif
