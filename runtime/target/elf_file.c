/* SPDX-License-Identifier: MIT */
/* Reading the ELF files plainsight attaches to, with libelf. */
#include "elf_file.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* In .gnu.version: the symbol is a non-default version (name@VER, not name@@VER). */
#define VERSYM_HIDDEN 0x8000

/* An exported function's address and size, for lookups by address. */
struct exported_function {
	uint64_t vaddr;
	uint64_t size;
};

struct ps_elf {
	char *path;
	int fd;
	Elf *elf;
	struct exported_function *exports;  /* sorted by vaddr; built at the first lookup by address */
	size_t n_exports;
	bool exports_read;
};

static void ps_elf_free(struct ps_elf *elf)
{
	if (elf->elf)
		elf_end(elf->elf);
	if (elf->fd >= 0)
		close(elf->fd);
	free(elf->exports);
	free(elf->path);
	free(elf);
}

struct ps_elf *ps_elf_open(const char *path)
{
	struct ps_elf *elf;
	struct stat st;
	int err;

	/* libelf refuses every call until told which ELF version the caller speaks. */
	if (elf_version(EV_CURRENT) == EV_NONE) {
		errno = ENOSYS;
		return NULL;
	}
	elf = calloc(1, sizeof(*elf));
	if (!elf)
		return NULL;
	elf->fd = -1;
	elf->path = strdup(path);
	if (!elf->path) {
		err = ENOMEM;
		goto fail;
	}
	elf->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (elf->fd < 0 || fstat(elf->fd, &st) < 0) {
		err = errno;
		goto fail;
	}
	if (S_ISDIR(st.st_mode)) {
		err = EISDIR;
		goto fail;
	}
	elf->elf = elf_begin(elf->fd, ELF_C_READ_MMAP, NULL);
	if (!elf->elf || elf_kind(elf->elf) != ELF_K_ELF) {
		err = ENOEXEC;
		goto fail;
	}
	return elf;

fail:
	ps_elf_free(elf);
	errno = err;
	return NULL;
}

void ps_elf_close(struct ps_elf *elf)
{
	if (elf)
		ps_elf_free(elf);
}

int ps_elf_stat(const struct ps_elf *elf, struct stat *st)
{
	return fstat(elf->fd, st) ? -errno : 0;
}

const char *ps_elf_path(const struct ps_elf *elf)
{
	return elf->path;
}

static Elf_Scn *find_section_by_type(Elf *e, GElf_Word type, GElf_Shdr *shdr)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(e, scn)) != NULL) {
		if (gelf_getshdr(scn, shdr) && shdr->sh_type == type)
			return scn;
	}
	return NULL;
}

static Elf_Scn *find_section_by_name(Elf *e, const char *name, GElf_Shdr *shdr)
{
	Elf_Scn *scn = NULL;
	size_t names_index;

	if (elf_getshdrstrndx(e, &names_index) != 0)
		return NULL;
	while ((scn = elf_nextscn(e, scn)) != NULL) {
		const char *scn_name;

		if (!gelf_getshdr(scn, shdr))
			continue;
		scn_name = elf_strptr(e, names_index, shdr->sh_name);
		if (scn_name && strcmp(scn_name, name) == 0)
			return scn;
	}
	return NULL;
}

/* A name in .symtab may carry its version: "SSL_write@@OPENSSL_3.0.0". */
static bool symbol_name_matches(const char *name, const char *wanted, bool *hidden_version)
{
	size_t len = strlen(wanted);

	if (strncmp(name, wanted, len) != 0)
		return false;
	if (name[len] == '\0') {
		*hidden_version = false;
		return true;
	}
	if (name[len] != '@')
		return false;
	*hidden_version = name[len + 1] != '@';
	return true;
}

/* Only code that is really defined here can take a uprobe. */
static bool is_defined_function(const GElf_Sym *sym)
{
	int type = GELF_ST_TYPE(sym->st_info);

	/* For an IFUNC this is the resolver's address, which is what the symbol names. */
	if (type != STT_FUNC && type != STT_GNU_IFUNC)
		return false;
	return sym->st_shndx != SHN_UNDEF && sym->st_value != 0;
}

/*
 * Looks for the symbol in one table. A library may define one name in several
 * versions (glibc's memcpy@GLIBC_2.2.5 and memcpy@@GLIBC_2.14); callers that
 * link today get the default one, so it wins over the hidden ones.
 */
/* A global variable defined here: data the BPF programs may read. */
static bool is_defined_object(const GElf_Sym *sym)
{
	int type = GELF_ST_TYPE(sym->st_info);

	if (type != STT_OBJECT && type != STT_TLS && type != STT_COMMON)
		return false;
	return type != STT_TLS && sym->st_shndx != SHN_UNDEF && sym->st_value != 0;
}

static int find_symbol_in_table(Elf *e, Elf_Scn *scn, const GElf_Shdr *shdr, const char *symbol,
				GElf_Sym *found, bool object)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	Elf_Data *versions = NULL;
	GElf_Shdr versions_shdr;
	bool found_hidden = false;
	size_t count;

	if (!data || shdr->sh_entsize == 0)
		return -ENOENT;
	if (shdr->sh_type == SHT_DYNSYM) {
		Elf_Scn *versions_scn = find_section_by_type(e, SHT_GNU_versym, &versions_shdr);

		if (versions_scn)
			versions = elf_getdata(versions_scn, NULL);
	}
	count = shdr->sh_size / shdr->sh_entsize;
	for (size_t i = 0; i < count; i++) {
		GElf_Sym sym;
		GElf_Versym version;
		const char *name;
		bool hidden;

		if (!gelf_getsym(data, i, &sym) || !(object ? is_defined_object(&sym) : is_defined_function(&sym)))
			continue;
		name = elf_strptr(e, shdr->sh_link, sym.st_name);
		if (!name || !symbol_name_matches(name, symbol, &hidden))
			continue;
		if (versions && gelf_getversym(versions, i, &version) && (version & VERSYM_HIDDEN))
			hidden = true;
		if (!hidden) {
			*found = sym;
			return 0;
		}
		if (!found_hidden) {
			*found = sym;
			found_hidden = true;
		}
	}
	return found_hidden ? 0 : -ENOENT;
}

/*
 * A uprobe is placed by file offset; the symbol gives a virtual address. The
 * loaded segment holding it maps file bytes [p_offset, p_offset + p_filesz) at
 * p_vaddr, for shared libraries and PIE or fixed-address executables alike.
 */
static long file_offset_of_address(Elf *e, GElf_Addr address)
{
	size_t count;

	if (elf_getphdrnum(e, &count) != 0)
		return -ENOEXEC;
	for (size_t i = 0; i < count; i++) {
		GElf_Phdr phdr;

		if (!gelf_getphdr(e, i, &phdr) || phdr.p_type != PT_LOAD)
			continue;
		if (address >= phdr.p_vaddr && address - phdr.p_vaddr < phdr.p_filesz)
			return (long)(address - phdr.p_vaddr + phdr.p_offset);
	}
	/* The symbol points outside every loaded segment: the file is inconsistent. */
	return -ERANGE;
}

long ps_elf_vaddr_offset(struct ps_elf *elf, uint64_t vaddr)
{
	return file_offset_of_address(elf->elf, vaddr);
}

long ps_elf_symbol_offset(struct ps_elf *elf, const char *symbol)
{
	uint64_t address;
	int err = ps_elf_symbol_vaddr(elf, symbol, false, &address);

	return err ? err : file_offset_of_address(elf->elf, address);
}

/* The symbol's entry in .dynsym, else .symtab; -ENOENT when absent, -ENODATA with no table at all. */
static int find_symbol(struct ps_elf *elf, const char *symbol, bool object, GElf_Sym *found)
{
	static const GElf_Word table_types[] = { SHT_DYNSYM, SHT_SYMTAB };
	bool any_table = false;

	for (size_t i = 0; i < sizeof(table_types) / sizeof(table_types[0]); i++) {
		GElf_Shdr shdr;
		Elf_Scn *scn = find_section_by_type(elf->elf, table_types[i], &shdr);

		if (!scn)
			continue;
		any_table = true;
		if (find_symbol_in_table(elf->elf, scn, &shdr, symbol, found, object) == 0)
			return 0;
	}
	return any_table ? -ENOENT : -ENODATA;
}

int ps_elf_symbol_vaddr(struct ps_elf *elf, const char *symbol, bool object, uint64_t *vaddr)
{
	GElf_Sym sym;
	int err = find_symbol(elf, symbol, object, &sym);

	if (!err)
		*vaddr = sym.st_value;
	return err;
}

int ps_elf_function(struct ps_elf *elf, const char *symbol, uint64_t *vaddr, uint64_t *size)
{
	GElf_Sym sym;
	int err = find_symbol(elf, symbol, false, &sym);

	if (err)
		return err;
	*vaddr = sym.st_value;
	*size = sym.st_size;
	return 0;
}

static int by_vaddr(const void *a, const void *b)
{
	const struct exported_function *x = a, *y = b;

	return x->vaddr < y->vaddr ? -1 : x->vaddr > y->vaddr;
}

/* The functions .dynsym defines, sorted: call following looks many addresses up. */
static int read_exports(struct ps_elf *elf)
{
	GElf_Shdr shdr;
	Elf_Scn *scn = find_section_by_type(elf->elf, SHT_DYNSYM, &shdr);
	Elf_Data *data = scn ? elf_getdata(scn, NULL) : NULL;
	size_t count = data && shdr.sh_entsize ? shdr.sh_size / shdr.sh_entsize : 0;

	elf->exports_read = true;
	if (!count)
		return 0;
	elf->exports = calloc(count, sizeof(*elf->exports));
	if (!elf->exports)
		return -ENOMEM;
	for (size_t i = 0; i < count; i++) {
		GElf_Sym sym;

		if (gelf_getsym(data, (int)i, &sym) && is_defined_function(&sym))
			elf->exports[elf->n_exports++] = (struct exported_function){ sym.st_value, sym.st_size };
	}
	qsort(elf->exports, elf->n_exports, sizeof(*elf->exports), by_vaddr);
	return 0;
}

int ps_elf_exported_function_at(struct ps_elf *elf, uint64_t vaddr, uint64_t *size)
{
	const struct exported_function key = { .vaddr = vaddr }, *found;
	int err = elf->exports_read ? 0 : read_exports(elf);

	if (err)
		return err;
	found = elf->n_exports ? bsearch(&key, elf->exports, elf->n_exports, sizeof(key), by_vaddr) : NULL;
	if (!found)
		return -ENOENT;
	*size = found->size;
	return 0;
}

const char *ps_elf_section_name_at(struct ps_elf *elf, uint64_t vaddr)
{
	Elf_Scn *scn = NULL;
	size_t names_index;

	if (elf_getshdrstrndx(elf->elf, &names_index) != 0)
		return NULL;
	while ((scn = elf_nextscn(elf->elf, scn)) != NULL) {
		GElf_Shdr shdr;

		if (!gelf_getshdr(scn, &shdr) || !(shdr.sh_flags & SHF_ALLOC))
			continue;
		if (vaddr >= shdr.sh_addr && vaddr - shdr.sh_addr < shdr.sh_size)
			return elf_strptr(elf->elf, names_index, shdr.sh_name);
	}
	return NULL;
}

const char *ps_elf_relocation_symbol(struct ps_elf *elf, uint64_t slot)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf->elf, scn)) != NULL) {
		GElf_Shdr shdr, symtab_shdr;
		Elf_Scn *symtab;
		Elf_Data *data, *syms;

		if (!gelf_getshdr(scn, &shdr) || shdr.sh_type != SHT_RELA || shdr.sh_entsize == 0)
			continue;
		data = elf_getdata(scn, NULL);
		symtab = elf_getscn(elf->elf, shdr.sh_link);
		if (!data || !symtab || !gelf_getshdr(symtab, &symtab_shdr) || !(syms = elf_getdata(symtab, NULL)))
			continue;
		for (size_t i = 0; i < shdr.sh_size / shdr.sh_entsize; i++) {
			GElf_Rela rela;
			GElf_Sym sym;

			if (!gelf_getrela(data, i, &rela) || rela.r_offset != slot || GELF_R_SYM(rela.r_info) == 0)
				continue;
			if (!gelf_getsym(syms, (int)GELF_R_SYM(rela.r_info), &sym))
				return NULL;
			return elf_strptr(elf->elf, symtab_shdr.sh_link, sym.st_name);
		}
	}
	return NULL;
}

/* Whether a RELA relocation applies to slot: 1 and *value, 0 when none does, -ENOENT for an undefined symbol. */
static int relocated_pointer(struct ps_elf *elf, uint64_t slot, uint64_t *value)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf->elf, scn)) != NULL) {
		GElf_Shdr shdr;
		Elf_Data *data, *syms = NULL;
		Elf_Scn *symtab;

		if (!gelf_getshdr(scn, &shdr) || shdr.sh_type != SHT_RELA || shdr.sh_entsize == 0)
			continue;
		if (!(data = elf_getdata(scn, NULL)))
			continue;
		symtab = shdr.sh_link ? elf_getscn(elf->elf, shdr.sh_link) : NULL;
		if (symtab)
			syms = elf_getdata(symtab, NULL);
		for (size_t i = 0; i < shdr.sh_size / shdr.sh_entsize; i++) {
			GElf_Rela rela;
			GElf_Sym sym;

			if (!gelf_getrela(data, i, &rela) || rela.r_offset != slot)
				continue;
			if (GELF_R_TYPE(rela.r_info) == R_X86_64_RELATIVE) {
				*value = (uint64_t)rela.r_addend;
				return 1;
			}
			if (GELF_R_TYPE(rela.r_info) != R_X86_64_64 || !syms ||
			    !gelf_getsym(syms, (int)GELF_R_SYM(rela.r_info), &sym) || sym.st_shndx == SHN_UNDEF)
				return -ENOENT;
			*value = sym.st_value + (uint64_t)rela.r_addend;
			return 1;
		}
	}
	return 0;
}

int ps_elf_pointer_at(struct ps_elf *elf, uint64_t vaddr, uint64_t *value)
{
	int r = relocated_pointer(elf, vaddr, value);
	ssize_t got;

	if (r)
		return r < 0 ? r : 0;
	got = ps_elf_read_code(elf, vaddr, value, sizeof(*value));
	return got < 0 ? (int)got : got != (ssize_t)sizeof(*value) ? -EIO : 0;
}

ssize_t ps_elf_read_code(struct ps_elf *elf, uint64_t vaddr, void *buf, size_t size)
{
	long offset = file_offset_of_address(elf->elf, vaddr);
	ssize_t got;

	if (offset < 0)
		return offset;
	got = pread(elf->fd, buf, size, offset);
	return got < 0 ? -errno : got;
}

int ps_elf_offset_vaddr(struct ps_elf *elf, uint64_t offset, uint64_t *vaddr)
{
	size_t count;

	if (elf_getphdrnum(elf->elf, &count) != 0)
		return -ENOEXEC;
	for (size_t i = 0; i < count; i++) {
		GElf_Phdr phdr;

		if (!gelf_getphdr(elf->elf, i, &phdr) || phdr.p_type != PT_LOAD)
			continue;
		if (offset >= phdr.p_offset && offset - phdr.p_offset < phdr.p_filesz) {
			*vaddr = offset - phdr.p_offset + phdr.p_vaddr;
			return 0;
		}
	}
	return -ERANGE;
}

int ps_elf_has_symbols(struct ps_elf *elf)
{
	GElf_Shdr shdr;

	return find_section_by_type(elf->elf, SHT_DYNSYM, &shdr) != NULL ||
	       find_section_by_type(elf->elf, SHT_SYMTAB, &shdr) != NULL;
}

int ps_elf_for_each_needed(struct ps_elf *elf, int (*fn)(const char *name, void *arg), void *arg)
{
	GElf_Shdr shdr;
	Elf_Scn *scn = find_section_by_type(elf->elf, SHT_DYNAMIC, &shdr);
	Elf_Data *data;
	size_t count;

	/* A static executable has no dynamic section and needs nothing. */
	if (!scn)
		return 0;
	data = elf_getdata(scn, NULL);
	if (!data || shdr.sh_entsize == 0)
		return -EBADMSG;
	count = shdr.sh_size / shdr.sh_entsize;
	for (size_t i = 0; i < count; i++) {
		GElf_Dyn dyn;
		const char *name;
		int rc;

		if (!gelf_getdyn(data, i, &dyn))
			return -EBADMSG;
		if (dyn.d_tag == DT_NULL)
			break;
		if (dyn.d_tag != DT_NEEDED)
			continue;
		name = elf_strptr(elf->elf, shdr.sh_link, dyn.d_un.d_val);
		if (!name)
			return -EBADMSG;
		rc = fn(name, arg);
		if (rc)
			return rc;
	}
	return 0;
}

int ps_elf_section_vaddr(struct ps_elf *elf, const char *name, uint64_t *vaddr)
{
	GElf_Shdr shdr;

	if (!find_section_by_name(elf->elf, name, &shdr))
		return -ENOENT;
	*vaddr = shdr.sh_addr;
	return 0;
}

int ps_elf_section(struct ps_elf *elf, const char *name, const void **data, size_t *size)
{
	GElf_Shdr shdr;
	Elf_Scn *scn = find_section_by_name(elf->elf, name, &shdr);
	Elf_Data *bytes;

	if (!scn)
		return -ENOENT;
	/* .bss and friends occupy memory but no bytes in the file. */
	if (shdr.sh_type == SHT_NOBITS)
		return -ENODATA;
	/* Handing out compressed bytes as if they were the content would mislead every reader. */
	if (shdr.sh_flags & SHF_COMPRESSED)
		return -EOPNOTSUPP;
	bytes = elf_rawdata(scn, NULL);
	if (!bytes)
		return -EBADMSG;
	*data = bytes->d_buf;
	*size = bytes->d_size;
	return 0;
}
