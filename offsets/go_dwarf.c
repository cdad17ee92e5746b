/* SPDX-License-Identifier: MIT */
/*
 * A Go module's layout from DWARF (libdw, elfutils). Go's DWARF names types
 * by package path ("crypto/tls.Conn", "internal/poll.FD"); spec structs have
 * identifiers for names, so each is mapped with --type. Go renames runtime
 * types between releases (runtime.itab is internal/abi.ITab's alias from
 * 1.23 on, its fields exported: hash -> Hash): a --type may list
 * alternatives, "A|B", the first found wins, and a member is found by its
 * name, else by that name up to case. A field path walks
 * members held inline ("conn.tab": tls.Conn's conn, an interface held as
 * runtime.iface, then its tab), through typedefs. The Go release comes from
 * the compile units' DW_AT_producer ("Go cmd/compile go1.19.8; regabi"),
 * which also says whether the register ABI was used. A program without it
 * gets a layout with `abi stack;` (Go's stack ABI, ABI0, which `abi go`
 * hooks then read) whose range ends at Go 1.16, the last release on amd64
 * before the register ABI (Go 1.17 release notes): a calling convention is
 * never carried to a later release.
 *
 * `--itab-hash C=T,I` writes `const C`: the type hash of concrete type T as
 * the method table of T for interface I holds it (the linker's symbol
 * go:itab.T,I, "go.itab." before Go 1.20, field runtime.itab.hash), lower 31
 * bits (layout constants are 0 .. 2^31-1). Hooks compare an interface's
 * method table's hash with it to know the value's type without symbols.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "go_dwarf.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <gelf.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "spec_fields.h"

struct name_map {
	char **spec, **go;
	size_t n;
};

struct go_dwarf {
	Dwarf *dw;
	Elf *elf;
	char producer[128];        /* of the first compile unit that has one */
	bool regabi;
};

static int map_add(struct name_map *m, const char *arg, char sep)
{
	const char *eq = strchr(arg, sep);
	char **spec = realloc(m->spec, (m->n + 1) * sizeof(*spec));
	char **go;

	if (spec)
		m->spec = spec;
	go = realloc(m->go, (m->n + 1) * sizeof(*go));
	if (go)
		m->go = go;
	if (!eq || eq == arg || !eq[1] || !spec || !go)
		return -1;
	m->spec[m->n] = strndup(arg, (size_t)(eq - arg));
	m->go[m->n] = strdup(eq + 1);
	m->n++;
	return 0;
}

static const char *map_find(const struct name_map *m, const char *spec)
{
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->spec[i], spec) == 0)
			return m->go[i];
	return NULL;
}

static void map_free(struct name_map *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->spec[i]);
		free(m->go[i]);
	}
	free(m->spec);
	free(m->go);
}

/* Typedefs (Go's named interfaces and defined types) down to what they name. */
static bool strip_typedefs(Dwarf_Die *die)
{
	Dwarf_Attribute attr;

	while (dwarf_tag(die) == DW_TAG_typedef)
		if (!dwarf_attr(die, DW_AT_type, &attr) || !dwarf_formref_die(&attr, die))
			return false;
	return true;
}

/* The top-level type named `name` in any compile unit. */
static bool find_type(struct go_dwarf *g, const char *name, Dwarf_Die *found)
{
	Dwarf_Off off = 0, next;
	size_t header;

	while (dwarf_nextcu(g->dw, off, &next, &header, NULL, NULL, NULL) == 0) {
		Dwarf_Die cu, child;

		if (dwarf_offdie(g->dw, off + header, &cu) && dwarf_child(&cu, &child) == 0) {
			do {
				int tag = dwarf_tag(&child);
				const char *n = dwarf_diename(&child);

				if ((tag == DW_TAG_structure_type || tag == DW_TAG_typedef) && n && strcmp(n, name) == 0) {
					*found = child;
					return strip_typedefs(found);
				}
			} while (dwarf_siblingof(&child, &child) == 0);
		}
		off = next;
	}
	return false;
}

static bool member_named(Dwarf_Die *strct, const char *name, Dwarf_Die *member)
{
	for (int pass = 0; pass < 2; pass++) {
		if (dwarf_child(strct, member) != 0)
			return false;
		do {
			const char *n = dwarf_diename(member);

			if (dwarf_tag(member) == DW_TAG_member && n &&
			    (pass == 0 ? strcmp(n, name) : strcasecmp(n, name)) == 0)
				return true;
		} while (dwarf_siblingof(member, member) == 0);
	}
	return false;
}

/* The first of "A|B|..." the DWARF has; its name in *found_name. */
static bool find_type_of(struct go_dwarf *g, const char *names, Dwarf_Die *found, char *found_name, size_t size)
{
	char *copy = strdup(names), *save = NULL;
	bool ok = false;

	for (char *n = strtok_r(copy, "|", &save); n && !ok; n = strtok_r(NULL, "|", &save))
		if (find_type(g, n, found)) {
			snprintf(found_name, size, "%s", n);
			ok = true;
		}
	free(copy);
	return ok;
}

/* The offset of a dotted path from the start of `strct`; its member's type in *type. NULL or a reason. */
static const char *path_offset(Dwarf_Die strct, const char *path, long long *offset, Dwarf_Die *type)
{
	char *copy = strdup(path), *save = NULL;
	const char *why = NULL;

	*offset = 0;
	for (char *part = strtok_r(copy, ".", &save); part && !why; part = strtok_r(NULL, ".", &save)) {
		Dwarf_Die member;
		Dwarf_Attribute attr;
		Dwarf_Word at;

		if (dwarf_tag(&strct) != DW_TAG_structure_type)
			why = "a path through a member that is not held inline";
		else if (!member_named(&strct, part, &member))
			why = "no such member in this version";
		else if (!dwarf_attr(&member, DW_AT_data_member_location, &attr) || dwarf_formudata(&attr, &at) != 0)
			why = "the member has no constant offset";
		else if (!dwarf_attr(&member, DW_AT_type, &attr) || !dwarf_formref_die(&attr, &strct) ||
			 !strip_typedefs(&strct))
			why = "the member has no type";
		else
			*offset += (long long)at;
	}
	*type = strct;
	free(copy);
	return why;
}

/* Does the DWARF type fit the spec's: `ptr ...` a pointer, iN/uN an integer of that size. */
static const char *type_mismatch(Dwarf_Die *type, const char *spec_type)
{
	int tag = dwarf_tag(type);
	Dwarf_Word size = 0;
	Dwarf_Attribute attr;

	if (strncmp(spec_type, "ptr", 3) == 0)
		return tag == DW_TAG_pointer_type ? NULL : "the spec says a pointer; the member is none";
	if (tag != DW_TAG_base_type || !dwarf_attr(type, DW_AT_byte_size, &attr) || dwarf_formudata(&attr, &size))
		return "the spec says an integer; the member is none";
	if (strtoul(spec_type + 1, NULL, 10) / 8 != size)
		return "the member's size differs from the spec's integer";
	return NULL;
}

static void read_producer(struct go_dwarf *g)
{
	Dwarf_Off off = 0, next;
	size_t header;

	while (dwarf_nextcu(g->dw, off, &next, &header, NULL, NULL, NULL) == 0) {
		Dwarf_Die cu;
		Dwarf_Attribute attr;
		const char *p;

		if (dwarf_offdie(g->dw, off + header, &cu) && dwarf_attr(&cu, DW_AT_producer, &attr) &&
		    (p = dwarf_formstring(&attr)) && strstr(p, " go1.")) {
			snprintf(g->producer, sizeof(g->producer), "%s", p);
			g->regabi = strstr(p, "regabi") != NULL;
			return;
		}
		off = next;
	}
}

/* The bytes at vaddr in the file, from the section holding them. */
static bool read_vaddr(Elf *elf, uint64_t vaddr, void *out, size_t len)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	while ((scn = elf_nextscn(elf, scn))) {
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS || vaddr < sh.sh_addr ||
		    vaddr + len > sh.sh_addr + sh.sh_size)
			continue;
		d = elf_rawdata(scn, NULL);
		if (!d || vaddr - sh.sh_addr + len > d->d_size)
			return false;
		memcpy(out, (const char *)d->d_buf + (vaddr - sh.sh_addr), len);
		return true;
	}
	return false;
}

static bool symbol_value(Elf *elf, const char *name, uint64_t *value)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	while ((scn = elf_nextscn(elf, scn))) {
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB || !(d = elf_getdata(scn, NULL)) ||
		    !sh.sh_entsize)
			continue;
		for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym sym;
			const char *n;

			if (gelf_getsym(d, (int)i, &sym) && (n = elf_strptr(elf, sh.sh_link, sym.st_name)) &&
			    strcmp(n, name) == 0) {
				*value = sym.st_value;
				return true;
			}
		}
	}
	return false;
}

/* `--itab-hash C=T,I`: the hash, or -1 after a line on stderr. */
static long long itab_hash(struct go_dwarf *g, const char *types)
{
	static const char *const prefixes[] = { "go:itab.", "go.itab." };
	Dwarf_Die itab, type;
	long long hash_at;
	uint64_t addr;
	uint32_t hash;

	char found[64];

	if (!find_type_of(g, "runtime.itab|internal/abi.ITab", &itab, found, sizeof(found)) ||
	    path_offset(itab, "hash", &hash_at, &type)) {
		fprintf(stderr, "offsets: no runtime.itab.hash in the DWARF\n");
		return -1;
	}
	for (size_t i = 0; i < 2; i++) {
		char name[512];

		snprintf(name, sizeof(name), "%s%s", prefixes[i], types);
		if (symbol_value(g->elf, name, &addr) && read_vaddr(g->elf, addr + (uint64_t)hash_at, &hash, 4))
			return hash & 0x7fffffff;
	}
	fprintf(stderr, "offsets: no method table go:itab.%s in the symbol table (is the type used as that interface?)\n",
		types);
	return -1;
}

struct options {
	const char *binary, *spec, *module, *layouts, *name, *versions, *origin;
	struct name_map types, hashes;
};

static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option opts[] = {
		{ "dwarf", required_argument, NULL, 'D' },  { "spec", required_argument, NULL, 's' },
		{ "module", required_argument, NULL, 'm' }, { "layouts", required_argument, NULL, 'l' },
		{ "name", required_argument, NULL, 'n' },   { "versions", required_argument, NULL, 'v' },
		{ "origin", required_argument, NULL, 'o' }, { "type", required_argument, NULL, 't' },
		{ "itab-hash", required_argument, NULL, 'i' }, { NULL, 0, NULL, 0 },
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'D': o->binary = optarg; break;
		case 's': o->spec = optarg; break;
		case 'm': o->module = optarg; break;
		case 'l': o->layouts = optarg; break;
		case 'n': o->name = optarg; break;
		case 'v': o->versions = optarg; break;
		case 'o': o->origin = optarg; break;
		case 't':
		case 'i':
			if (map_add(c == 't' ? &o->types : &o->hashes, optarg, '=') == 0)
				break;
			fprintf(stderr, "offsets: --%s wants NAME=VALUE, got \"%s\"\n", c == 't' ? "type" : "itab-hash", optarg);
			return 2;
		default:
			return 2;
		}
	}
	if (!o->binary || !o->spec || !o->module || optind != argc) {
		fprintf(stderr, "usage: offsets --dwarf BINARY --spec FILE --module NAME --type STRUCT=GO_TYPE ... "
				"[--itab-hash CONST=TYPE,IFACE] [--layouts DIR] [--name NAME] [--versions LO..] [--origin TEXT]\n");
		return 2;
	}
	return 0;
}

/* "go1.19.8" of the producer, and its minor line "1.19". */
static bool go_release(const char *producer, char *full, size_t full_size, char *line, size_t line_size)
{
	const char *go = strstr(producer, "go1.");
	size_t n, dot;

	if (!go)
		return false;
	n = strcspn(go, "; ");
	snprintf(full, full_size, "%.*s", (int)n, go);
	dot = strcspn(go + 4, ".; ");
	snprintf(line, line_size, "%.*s", (int)(dot + 2), go + 2);
	return true;
}

/* The last Go release on amd64 whose functions take arguments on the stack (ABI0): every 1.16.x. */
#define LAST_STACK_ABI_GO "1.16.99"

static int write_layout(FILE *out, struct go_dwarf *g, const struct options *o, const struct spec_fields *fields,
			const char *release, const char *name, const char *min_version, const char *max_version)
{
	int absent = 0;

	fprintf(out, "# Layout \"%s\" of module %s, written by build/offsets --dwarf: do not edit.\n", name, o->module);
	fprintf(out, "# To rewrite it: make offsets-go GO=<that Go's bin/go>\n");
	fprintf(out, "# Program: %s, DW_AT_producer \"%s\"\n", o->origin ? o->origin : "a Go program", g->producer);
	fprintf(out, "# Tool: build/offsets --dwarf with libdw (elfutils %s), x86-64\n", dwfl_version(NULL));
	fprintf(out, "# Types:");
	for (size_t i = 0; i < o->types.n; i++)
		fprintf(out, " %s=%s", o->types.spec[i], o->types.go[i]);
	fprintf(out, "\nlayout \"%s\" versions \"%s\" ..%s%s%s {\n", name, min_version, max_version ? " \"" : "",
		max_version ? max_version : "", max_version ? "\"" : "");
	fprintf(out, "    source \"%s: DWARF of %s, derived by build/offsets\";\n", release,
		o->origin ? o->origin : "a Go program");
	if (!g->regabi)
		fprintf(out, "    abi stack; # no \"regabi\" in DW_AT_producer\n");
	for (size_t i = 0; i < fields->n; i++) {
		const struct spec_field *f = &fields->v[i];
		const char *go = map_find(&o->types, f->strct), *why = NULL;
		Dwarf_Die strct, type;
		long long offset = 0;
		char found[256];

		if (!go)
			why = "no --type names its Go type";
		else if (!find_type_of(g, go, &strct, found, sizeof(found)))
			why = "no such type in the DWARF";
		else if (!(why = path_offset(strct, f->path, &offset, &type)))
			why = type_mismatch(&type, f->type);
		if (why) {
			absent++;
			fprintf(out, "    %s.%s = absent; # %s\n", f->strct, f->path, why);
			fprintf(stderr, "offsets: %s: %s.%s is absent: %s\n", release, f->strct, f->path, why);
		} else {
			fprintf(out, "    %s.%s = %lld;\n", f->strct, f->path, offset);
		}
	}
	for (size_t i = 0; i < o->hashes.n; i++) {
		long long hash = itab_hash(g, o->hashes.go[i]);

		if (hash < 0)
			return -1;
		fprintf(out, "    const %s = %lld; # go:itab.%s's hash, low 31 bits\n", o->hashes.spec[i], hash,
			o->hashes.go[i]);
	}
	fprintf(out, "}\n");
	return absent;
}

static int write_output(struct go_dwarf *g, const struct options *o, const struct spec_fields *fields)
{
	char release[64], line[32], name[64], min_version[64], *path = NULL, *part = NULL;
	FILE *out = stdout;
	int absent;

	if (!go_release(g->producer, release, sizeof(release), line, sizeof(line))) {
		fprintf(stderr, "offsets: %s: no Go compile unit (DW_AT_producer) in its DWARF\n", o->binary);
		return 1;
	}
	/* default: layout "go1.19" for versions "1.19" .. (up to the next layout) */
	if (o->name)
		snprintf(name, sizeof(name), "%s", o->name);
	else
		snprintf(name, sizeof(name), "go%s", line);
	if (o->versions)
		snprintf(min_version, sizeof(min_version), "%.*s", (int)(strstr(o->versions, "..") ?
			 (size_t)(strstr(o->versions, "..") - o->versions) : strlen(o->versions)), o->versions);
	else
		snprintf(min_version, sizeof(min_version), "%s", line);
	if (o->layouts) {
		if (asprintf(&path, "%s/%s.spec", o->layouts, name) < 0 || asprintf(&part, "%s.part", path) < 0)
			return 1;
		out = fopen(part, "w");
		if (!out) {
			perror(part);
			return 1;
		}
	}
	absent = write_layout(out, g, o, fields, release, name, min_version, g->regabi ? NULL : LAST_STACK_ABI_GO);
	if (o->layouts) {
		if ((fclose(out) != 0) | (absent < 0) || rename(part, path) != 0) {
			fprintf(stderr, "offsets: cannot write %s\n", path);
			unlink(part);
			absent = -1;
		} else {
			fprintf(stderr, "offsets: wrote %s\n", path);
		}
	}
	free(path);
	free(part);
	return absent < 0 ? 1 : 0;
}

int go_dwarf_main(int argc, char **argv)
{
	struct options o = { .spec = NULL };
	struct go_dwarf g = { 0 };
	struct spec_fields fields = { 0 };
	int fd = -1, rc = parse_options(argc, argv, &o);

	if (rc)
		goto out;
	rc = 1;
	if (spec_fields_read(o.spec, o.module, &fields) < 0)
		goto out;
	elf_version(EV_CURRENT);
	fd = open(o.binary, O_RDONLY | O_CLOEXEC);
	g.dw = fd >= 0 ? dwarf_begin(fd, DWARF_C_READ) : NULL;
	if (!g.dw) {
		fprintf(stderr, "offsets: %s: no DWARF to read (%s)\n", o.binary, fd < 0 ? "cannot open it" : dwarf_errmsg(-1));
		goto out;
	}
	g.elf = dwarf_getelf(g.dw);
	read_producer(&g);
	rc = write_output(&g, &o, &fields);
out:
	if (g.dw)
		dwarf_end(g.dw);
	if (fd >= 0)
		close(fd);
	spec_fields_free(&fields);
	map_free(&o.types);
	map_free(&o.hashes);
	return rc;
}
