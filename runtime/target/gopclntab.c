/* SPDX-License-Identifier: MIT */
/*
 * Finding functions and the version in a Go binary without its symbol table.
 * Every offset read from the file is bounds-checked: the file is untrusted.
 */
#include "gopclntab.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define GO_PTRSIZE 8   /* amd64 only, as the rest of plainsight */

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static int format_of_magic(uint32_t magic, enum ps_go_pcln_format *format)
{
	switch (magic) {
	case 0xfffffffb: *format = PS_GO_PCLN_12; return 0;
	case 0xfffffffa: *format = PS_GO_PCLN_116; return 0;
	case 0xfffffff0: *format = PS_GO_PCLN_118; return 0;
	case 0xfffffff1: *format = PS_GO_PCLN_120; return 0;
	default: return -ENOENT;
	}
}

/* The pcHeader: magic, two zero bytes, the pc quantum (1 on amd64), the pointer size. */
static bool header_plausible(const uint8_t *p, size_t size)
{
	enum ps_go_pcln_format format;

	return size >= 16 && format_of_magic(le32(p), &format) == 0 && p[4] == 0 && p[5] == 0 && p[6] == 1 &&
	       p[7] == GO_PTRSIZE;
}

/* An entry of the function table: its pc and the offset of its _func, relative to where the formats say. */
static int functab_entry(const struct ps_go_pclntab *tab, uint64_t i, uint64_t *pc, uint64_t *func)
{
	bool wide = tab->format == PS_GO_PCLN_12 || tab->format == PS_GO_PCLN_116;
	size_t width = wide ? 2 * GO_PTRSIZE : 8;
	size_t at = tab->functab + (size_t)i * width;

	if (i > tab->n_funcs || at + width > tab->size || at < tab->functab)
		return -EBADMSG;
	if (wide) {
		*pc = le64(tab->data + at);
		*func = le64(tab->data + at + GO_PTRSIZE);
	} else {
		*pc = tab->text_start + le32(tab->data + at);
		*func = le32(tab->data + at + 4);
	}
	return 0;
}

static int parse_header(struct ps_go_pclntab *tab, uint64_t text_vaddr)
{
	const uint8_t *p = tab->data;
	uint64_t pcln;

	if (format_of_magic(le32(p), &tab->format))
		return -ENOENT;
	switch (tab->format) {
	case PS_GO_PCLN_12:
		tab->n_funcs = le64(p + 8);
		tab->functab = 8 + GO_PTRSIZE;
		break;
	case PS_GO_PCLN_116:
		if (tab->size < 64)
			return -EBADMSG;
		tab->n_funcs = le64(p + 8);
		tab->funcnames = le64(p + 24);
		tab->functab = le64(p + 56);
		break;
	default:
		if (tab->size < 72)
			return -EBADMSG;
		tab->n_funcs = le64(p + 8);
		/* PIE: the linker leaves textStart to a dynamic relocation, so the file may hold 0 */
		tab->text_start = le64(p + 24) ? le64(p + 24) : text_vaddr;
		tab->funcnames = le64(p + 32);
		pcln = le64(p + 64);
		tab->functab = pcln;
		break;
	}
	if (tab->functab >= tab->size || tab->funcnames >= tab->size || tab->n_funcs == 0 ||
	    tab->n_funcs > tab->size / 8)
		return -EBADMSG;
	return 0;
}

/* Where the table is: its own section, or (PIE, external linking) inside .data.rel.ro or .rodata. */
static int find_table(struct ps_elf *elf, struct ps_go_pclntab *tab)
{
	static const char *const own[] = { ".gopclntab", ".data.rel.ro.gopclntab" };
	static const char *const inside[] = { ".data.rel.ro", ".rodata" };
	const void *data;
	size_t size;

	for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
		if (ps_elf_section(elf, own[i], &data, &size) == 0 && header_plausible(data, size)) {
			tab->data = data;
			tab->size = size;
			return 0;
		}
	for (size_t i = 0; i < sizeof(inside) / sizeof(inside[0]); i++) {
		if (ps_elf_section(elf, inside[i], &data, &size) != 0)
			continue;
		/* the header is pointer-aligned */
		for (size_t at = 0; at + 16 <= size; at += GO_PTRSIZE)
			if (header_plausible((const uint8_t *)data + at, size - at)) {
				tab->data = (const uint8_t *)data + at;
				tab->size = size - at;
				return 0;
			}
	}
	return -ENOENT;
}

int ps_go_pclntab_open(struct ps_elf *elf, struct ps_go_pclntab *tab)
{
	uint64_t text_vaddr = 0, pc, func;
	int err;

	memset(tab, 0, sizeof(*tab));
	err = find_table(elf, tab);
	if (err)
		return err;
	ps_elf_section_vaddr(elf, ".text", &text_vaddr);
	err = parse_header(tab, text_vaddr);
	if (err)
		return err;
	/* the last entry (n_funcs) is the end of the text: it must be readable */
	return functab_entry(tab, tab->n_funcs, &pc, &func);
}

/* The name of the function whose _func is at `func` (relative to the function table, or 1.2: to the table). */
static const char *func_name(const struct ps_go_pclntab *tab, uint64_t func)
{
	size_t base = tab->format == PS_GO_PCLN_12 ? 0 : tab->functab;
	size_t name_field = tab->format >= PS_GO_PCLN_118 ? 4 : GO_PTRSIZE;
	size_t at = base + func, names = tab->format == PS_GO_PCLN_12 ? 0 : tab->funcnames;
	uint32_t name_off;

	if (func > tab->size || at + name_field + 4 > tab->size)
		return NULL;
	name_off = le32(tab->data + at + name_field);
	if (names + name_off >= tab->size)
		return NULL;
	/* the name must end inside the table */
	if (!memchr(tab->data + names + name_off, '\0', tab->size - names - name_off))
		return NULL;
	return (const char *)tab->data + names + name_off;
}

int ps_go_function(const struct ps_go_pclntab *tab, const char *name, uint64_t *entry, uint64_t *end)
{
	for (uint64_t i = 0; i < tab->n_funcs; i++) {
		uint64_t pc, func, next_pc, next_func;
		const char *found;

		if (functab_entry(tab, i, &pc, &func))
			return -EBADMSG;
		found = func_name(tab, func);
		if (!found || strcmp(found, name) != 0)
			continue;
		if (functab_entry(tab, i + 1, &next_pc, &next_func) || next_pc <= pc)
			return -EBADMSG;
		*entry = pc;
		*end = next_pc;
		return 0;
	}
	return -ENOENT;
}

/* A uvarint (encoding/binary) at *at, moving *at past it; -EBADMSG when it runs off the end. */
static int read_uvarint(const uint8_t *p, size_t size, size_t *at, uint64_t *value)
{
	*value = 0;
	for (unsigned shift = 0; *at < size && shift < 64; shift += 7) {
		uint8_t byte = p[(*at)++];

		*value |= (uint64_t)(byte & 0x7f) << shift;
		if (!(byte & 0x80))
			return 0;
	}
	return -EBADMSG;
}

/* Before Go 1.18 the header points to runtime.buildVersion, a string header (pointer, length). */
static int version_by_pointer(struct ps_elf *elf, const uint8_t *info, size_t size, char *out, size_t out_size)
{
	uint8_t header[16];
	uint64_t str, len;

	if (size < 16 + GO_PTRSIZE)
		return -ENOENT;
	str = le64(info + 16);
	/* PIE: the pointer is a dynamic relocation's, 0 in the file */
	if (!str || ps_elf_read_code(elf, str, header, sizeof(header)) != (ssize_t)sizeof(header))
		return -ENOENT;
	len = le64(header + 8);
	if (len == 0 || len >= out_size || ps_elf_read_code(elf, le64(header), out, len) != (ssize_t)len)
		return -ENOENT;
	out[len] = '\0';
	return 0;
}

int ps_go_version(struct ps_elf *elf, char *version, size_t size)
{
	static const char magic[] = "\xff Go buildinf:";
	const uint8_t *info;
	const void *data;
	size_t info_size, at = 32;
	uint64_t len;
	char text[64];
	int err;

	if (ps_elf_section(elf, ".go.buildinfo", &data, &info_size) != 0 || info_size < 32 ||
	    memcmp(data, magic, sizeof(magic) - 1) != 0)
		return -ENOENT;
	info = data;
	if (info[14] != GO_PTRSIZE || (info[15] & 1))   /* flags bit 0: big-endian */
		return -ENOENT;
	if (info[15] & 2) {   /* Go 1.18+: the strings follow the header, each after its length */
		if (read_uvarint(info, info_size, &at, &len) || len == 0 || len >= sizeof(text) ||
		    len > info_size - at)
			return -ENOENT;
		memcpy(text, info + at, len);
		text[len] = '\0';
	} else {
		err = version_by_pointer(elf, info, info_size, text, sizeof(text));
		if (err)
			return err;
	}
	/* "go1.19.8", or "devel go1.22-abc..." from a source build */
	const char *go = strstr(text, "go1.");
	if (!go || (size_t)snprintf(version, size, "%s", go) >= size)
		return -ENOENT;
	version[strcspn(version, " -")] = '\0';
	return 0;
}
