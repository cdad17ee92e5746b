/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer: a mutated binary through what plainsight reads of its target
 * (runtime/target/): the ELF reader's every lookup, each module's version
 * rules and layout choice, the Go function table and build info. The input
 * is the file, written to a memfd the readers open by path. Rules that also
 * search DT_NEEDED libraries run without that search: it opens the system's
 * libraries, not the input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "elf_file.h"
#include "gopclntab.h"
#include "module.h"
#include "names.h"
#include "version.h"

#define NEEDED_MAX 8

struct needed_names {
	char *names[NEEDED_MAX];
	size_t n;
};

static int collect_needed(const char *name, void *arg)
{
	struct needed_names *needed = arg;

	if (needed->n == NEEDED_MAX)
		return 1;
	needed->names[needed->n] = strdup(name);
	if (!needed->names[needed->n])
		abort();
	needed->n++;
	return 0;
}

static void read_needed(struct ps_elf *elf)
{
	struct needed_names needed = { .n = 0 };
	char *joined;

	ps_elf_for_each_needed(elf, collect_needed, &needed);
	joined = ps_names_join((const char *const *)needed.names, needed.n, "'", ", ", " and ");
	free(joined);
	for (size_t i = 0; i < needed.n; i++)
		free(needed.names[i]);
}

/* The lookups the target, link and call-following stages make, at addresses the file names. */
static void read_symbols(struct ps_elf *elf)
{
	static const char *const functions[] = { "SSL_write", "SSL_read", "gnutls_record_send", "main" };
	uint64_t vaddr, size, value, offset_vaddr;
	uint8_t code[64];

	ps_elf_has_symbols(elf);
	for (size_t i = 0; i < sizeof(functions) / sizeof(functions[0]); i++) {
		long offset = ps_elf_symbol_offset(elf, functions[i]);

		if (offset >= 0)
			ps_elf_offset_vaddr(elf, (uint64_t)offset, &offset_vaddr);
		if (ps_elf_function(elf, functions[i], &vaddr, &size) != 0)
			continue;
		ps_elf_exported_function_at(elf, vaddr, &size);
		ps_elf_section_name_at(elf, vaddr);
		ps_elf_vaddr_offset(elf, vaddr);
		ps_elf_read_code(elf, vaddr, code, sizeof(code));
	}
	ps_elf_symbol_vaddr(elf, "SSL_version_str", true, &vaddr);
	if (ps_elf_section_vaddr(elf, ".got", &vaddr) == 0) {
		ps_elf_relocation_symbol(elf, vaddr);
		ps_elf_pointer_at(elf, vaddr, &value);
	}
	if (ps_elf_section_vaddr(elf, ".data.rel.ro", &vaddr) == 0)
		ps_elf_pointer_at(elf, vaddr, &value);
}

static void detect_versions(struct ps_elf *elf)
{
	char version[64], found_in[256];

	for (uint32_t m = 0; m < ps_n_modules; m++) {
		const struct ps_module_desc *module = ps_modules[m];

		for (uint32_t t = 0; t < module->n_targets; t++) {
			const struct ps_version_rule *rule;

			for (uint32_t i = 0; (rule = ps_target_version_rule(&module->targets[t], i)); i++) {
				struct ps_version_rule here = *rule;
				const struct ps_layout_desc *layout;

				here.needed_prefix = NULL;
				if (ps_version_detect(elf, &here, version, sizeof(version), found_in, sizeof(found_in)) == 0) {
					ps_version_suffix(version);
					ps_layout_select(module, rule->product, version, &layout);
				}
			}
		}
	}
}

static void read_go(struct ps_elf *elf)
{
	struct ps_go_pclntab tab;
	uint64_t entry, end;
	char version[64];

	if (ps_go_pclntab_open(elf, &tab) == 0) {
		ps_go_function(&tab, "crypto/tls.(*Conn).Read", &entry, &end);
		ps_go_function(&tab, "main.main", &entry, &end);
	}
	ps_go_version(elf, version, sizeof(version));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];
	struct ps_elf *elf;

	if (fd < 0) {
		fd = memfd_create("elf_fuzz", MFD_CLOEXEC);
		if (fd < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	elf = ps_elf_open(path);
	if (!elf)
		return 0;
	read_symbols(elf);
	read_needed(elf);
	detect_versions(elf);
	read_go(elf);
	ps_elf_close(elf);
	return 0;
}
