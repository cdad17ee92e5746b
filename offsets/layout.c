/* SPDX-License-Identifier: MIT */
/*
 * Field offsets with libclang: one generated translation unit includes the
 * library's own headers, and clang's record layout (the one the compiler
 * uses) gives each field's offset. Nothing is guessed: a struct or field the
 * headers do not define, a path through a pointer, or a type that does not
 * fit the spec's makes that field absent, with the reason.
 */
#include "layout.h"

#include <clang-c/Index.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static void *xmalloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);

	if (!p) {
		perror("offsets");
		exit(1);
	}
	return p;
}

static char *xprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0) {
		perror("offsets");
		exit(1);
	}
	va_end(ap);
	return s;
}

/* A CXString as a malloc'd C string. */
static char *take(CXString s)
{
	const char *c = clang_getCString(s);
	char *d = strdup(c ? c : "");

	clang_disposeString(s);
	if (!d) {
		perror("offsets");
		exit(1);
	}
	return d;
}

/* ---- finding a struct by tag or typedef name ---------------------------- */

struct find_record {
	const char *name;        /* what is left of a qualified name: "SSL3_STATE" of "bssl::SSL3_STATE" */
	CXCursor found;
	int have;
};

static enum CXChildVisitResult find_record_visit(CXCursor c, CXCursor parent, CXClientData data)
{
	struct find_record *f = data;
	enum CXCursorKind k = clang_getCursorKind(c);
	const char *sep = strstr(f->name, "::");
	char *name;

	/* C++ (BoringSSL): "bssl::SSL3_STATE" is SSL3_STATE in every `namespace bssl` block */
	if (k == CXCursor_Namespace && sep) {
		name = take(clang_getCursorSpelling(c));
		if (strlen(name) == (size_t)(sep - f->name) && strncmp(name, f->name, (size_t)(sep - f->name)) == 0) {
			struct find_record inner = { .name = sep + 2 };

			clang_visitChildren(c, find_record_visit, &inner);
			if (inner.have) {
				f->found = inner.found;
				f->have = 1;
			}
		}
		free(name);
		return CXChildVisit_Continue;
	}
	if (sep || (k != CXCursor_StructDecl && k != CXCursor_ClassDecl && k != CXCursor_UnionDecl &&
		    k != CXCursor_TypedefDecl))
		return CXChildVisit_Continue;
	name = take(clang_getCursorSpelling(c));
	if (strcmp(name, f->name) == 0) {
		CXCursor def;

		if (k == CXCursor_TypedefDecl) {
			CXType t = clang_getCanonicalType(clang_getTypedefDeclUnderlyingType(c));
			def = t.kind == CXType_Record ? clang_getCursorDefinition(clang_getTypeDeclaration(t))
						      : clang_getNullCursor();
		} else {
			def = clang_getCursorDefinition(c);
		}
		/* A tag wins over a typedef of the same name; a definition over a declaration. */
		if (!clang_Cursor_isNull(def) && (!f->have || k != CXCursor_TypedefDecl)) {
			f->found = def;
			f->have = 1;
		}
	}
	free(name);
	return CXChildVisit_Continue;
}

/* The C (C++) name of the spec's struct: itself, unless the recipe renames it. */
static const char *c_name_of(const struct layout_request *req, const char *spec_name)
{
	size_t n = strlen(spec_name);

	for (size_t i = 0; i < req->n_renames; i++)
		if (strncmp(req->renames[i], spec_name, n) == 0 && req->renames[i][n] == ' ')
			return req->renames[i] + n + 1;
	return spec_name;
}

static int find_record(CXTranslationUnit tu, const struct layout_request *req, const char *name, CXCursor *out)
{
	struct find_record f = { .name = c_name_of(req, name) };

	clang_visitChildren(clang_getTranslationUnitCursor(tu), find_record_visit, &f);
	if (f.have)
		*out = f.found;
	return f.have;
}

/* ---- finding a field, looking into anonymous members -------------------- */

struct find_field {
	const char *name;
	long long base_bits;
	long long offset_bits;
	CXCursor field;
	int have;
};

static int find_field(CXType record, const char *name, long long base_bits, long long *off_bits, CXCursor *field);

static enum CXVisitorResult find_field_visit(CXCursor c, CXClientData data)
{
	struct find_field *f = data;
	char *name = take(clang_getCursorSpelling(c));
	long long off = clang_Cursor_getOffsetOfField(c);
	int anonymous = clang_Cursor_isAnonymousRecordDecl(c) || name[0] == '\0';

	if (off >= 0 && strcmp(name, f->name) == 0) {
		f->offset_bits = f->base_bits + off;
		f->field = c;
		f->have = 1;
	} else if (off >= 0 && anonymous) {
		CXType t = clang_getCanonicalType(clang_getCursorType(c));

		if (t.kind == CXType_Record && find_field(t, f->name, f->base_bits + off, &f->offset_bits, &f->field))
			f->have = 1;
	}
	free(name);
	return f->have ? CXVisit_Break : CXVisit_Continue;
}

static int find_field(CXType record, const char *name, long long base_bits, long long *off_bits, CXCursor *field)
{
	struct find_field f = { .name = name, .base_bits = base_bits };

	clang_Type_visitFields(record, find_field_visit, &f);
	if (f.have) {
		*off_bits = f.offset_bits;
		*field = f.field;
	}
	return f.have;
}

/* ---- the spec's type against the C type -------------------------------- */

static const char *type_name(CXType t)
{
	static char buf[256];
	char *s = take(clang_getTypeSpelling(t));

	snprintf(buf, sizeof(buf), "%s", s);
	free(s);
	return buf;
}

static int is_integer(CXType t)
{
	switch (t.kind) {
	case CXType_Bool: case CXType_Char_U: case CXType_UChar: case CXType_UShort: case CXType_UInt:
	case CXType_ULong: case CXType_ULongLong: case CXType_UInt128: case CXType_Char_S: case CXType_SChar:
	case CXType_Short: case CXType_Int: case CXType_Long: case CXType_LongLong: case CXType_Int128:
	case CXType_Enum: case CXType_Char16: case CXType_Char32: case CXType_WChar:
		return 1;
	default:
		return 0;
	}
}

/* The record's tag name, "" for an anonymous one. */
static char *record_tag(CXType t)
{
	return take(clang_getCursorSpelling(clang_getTypeDeclaration(clang_getCanonicalType(t))));
}

/*
 * Checks a field's C type against the spec's type text. Returns 0 when it
 * fits (maybe with a *note), -1 when reading it as the spec says would be
 * wrong (with *note the reason).
 */
static int check_type(const struct layout_request *req, const char *spec_type, CXType ctype, char **note)
{
	CXType t = clang_getCanonicalType(ctype);
	long long size = clang_Type_getSizeOf(t);
	char word[32];
	unsigned bits;
	char tail;

	if (strncmp(spec_type, "ptr", 3) == 0 && (spec_type[3] == '\0' || spec_type[3] == ' ')) {
		const char *target = spec_type[3] ? spec_type + 4 : "";

		if (t.kind == CXType_Record) {
			char *tag = record_tag(t);
			*note = tag[0] ? xprintf("it is a struct %s held inline here, not a pointer", tag)
				       : xprintf("it is an unnamed struct held inline here, not a pointer");
			free(tag);
			return -1;
		}
		if (t.kind != CXType_Pointer) {
			*note = xprintf("it is a %s here, not a pointer", type_name(ctype));
			return -1;
		}
		/* "ptr bio_st": the pointee should be that struct (a typedef'd tag reads the same) */
		if (*target && !(target[0] == 'i' || target[0] == 'u') ) {
			CXType pointee = clang_getCanonicalType(clang_getPointeeType(t));
			if (pointee.kind == CXType_Record) {
				char *tag = record_tag(pointee);
				/* the recipe's C name, "bssl::SSL3_STATE", whose tag is SSL3_STATE */
				const char *c_name = c_name_of(req, target), *colons = strrchr(c_name, ':');
				if (strcmp(tag, colons ? colons + 1 : c_name) != 0)
					*note = xprintf("warning: points to struct %s here, the spec says %s", tag, target);
				free(tag);
			}
		}
		return 0;
	}
	/* u8[32] and the like */
	{
		unsigned n;
		if (sscanf(spec_type, "%31[a-z0-9][%u%c", word, &n, &tail) == 3 && tail == ']' &&
		    sscanf(word, "%*[iu]%u%c", &bits, &tail) == 1) {
			if (t.kind != CXType_ConstantArray) {
				*note = xprintf("it is a %s here, not an array", type_name(ctype));
				return -1;
			}
			CXType elem = clang_getCanonicalType(clang_getArrayElementType(t));
			long long count = clang_getArraySize(t);
			if (clang_Type_getSizeOf(elem) * 8 != bits) {
				*note = xprintf("its elements are %s (%lld bytes) here, the spec says %s", type_name(elem),
						clang_Type_getSizeOf(elem), word);
				return -1;
			}
			if (count < n) {
				*note = xprintf("it has %lld elements here, the spec says %u", count, n);
				return -1;
			}
			/* a longer array is read from its start: the spec names the part it needs */
			return 0;
		}
	}
	if (sscanf(spec_type, "%*[iu]%u%c", &bits, &tail) == 1 && (spec_type[0] == 'i' || spec_type[0] == 'u') &&
	    (bits == 8 || bits == 16 || bits == 32 || bits == 64)) {
		if (!is_integer(t)) {
			*note = xprintf("it is a %s here, not an integer", type_name(ctype));
			return -1;
		}
		if (size * 8 < bits) {
			*note = xprintf("it is a %s (%lld bytes) here, smaller than %s", type_name(ctype), size, spec_type);
			return -1;
		}
		if (size * 8 > bits)
			*note = xprintf("warning: it is a %s (%lld bytes) here, the spec reads its low %u bits",
					type_name(ctype), size, bits);
		return 0;
	}
	*note = xprintf("warning: type '%s' not checked (the offsets tool knows iN, uN, ptr and uN[N])", spec_type);
	return 0;
}

/* ---- one field path ------------------------------------------------------- */

static void compute_field(CXTranslationUnit tu, const struct layout_request *req, const struct spec_field *sf, struct field_result *r,
			  CXCursor *record_out, int *have_record)
{
	CXCursor rec;
	CXType t;
	long long total = 0;
	char *path = strdup(sf->path), *save = NULL, *comp;
	char *walked = NULL;
	CXCursor field = clang_getNullCursor();

	r->status = FIELD_ABSENT;
	*have_record = 0;
	if (!path) {
		perror("offsets");
		exit(1);
	}
	if (!find_record(tu, req, sf->strct, &rec)) {
		r->note = xprintf("no struct %s in this version", sf->strct);
		free(path);
		return;
	}
	*record_out = rec;
	*have_record = 1;
	t = clang_getCanonicalType(clang_getCursorType(rec));
	for (comp = strtok_r(path, ".", &save); comp; comp = strtok_r(NULL, ".", &save)) {
		long long off;

		if (walked) {
			/* the previous component must be a struct held inline */
			t = clang_getCanonicalType(clang_getCursorType(field));
			if (t.kind == CXType_Pointer) {
				r->note = xprintf("%s.%s is a pointer in this version, so %s is not at a fixed offset in %s",
						  sf->strct, walked, sf->path, sf->strct);
				goto out;
			}
			if (t.kind != CXType_Record) {
				r->note = xprintf("%s.%s is a %s in this version, not a struct", sf->strct, walked,
						  type_name(t));
				goto out;
			}
		}
		if (!find_field(t, comp, 0, &off, &field)) {
			if (walked)
				r->note = xprintf("no field %s in %s.%s in this version", comp, sf->strct, walked);
			else
				r->note = xprintf("no field %s in struct %s in this version", comp, sf->strct);
			goto out;
		}
		total += off;
		if (walked) {
			char *w = xprintf("%s.%s", walked, comp);
			free(walked);
			walked = w;
		} else {
			walked = strdup(comp);
		}
	}
	if (total % 8) {
		r->note = xprintf("%s.%s is a bit-field (bit offset %lld)", sf->strct, sf->path, total);
		goto out;
	}
	if (check_type(req, sf->type, clang_getCursorType(field), &r->note) < 0)
		goto out;
	r->status = FIELD_OK;
	r->offset = total / 8;
out:
	free(walked);
	free(path);
}

/* ---- configuration-dependent parts of a struct -------------------------- */

/*
 * Whether the preprocessor skipped line of file. A range holding the
 * struct's own first line (struct_line) is ignored: the struct was parsed, so
 * that range is a later inclusion of the same header skipped whole by its
 * include guard (1.0.2 reaches ssl.h both as include/openssl/ssl.h and
 * through its symlinked original).
 */
static int line_skipped(CXSourceRangeList *skipped, CXFile file, unsigned line, unsigned struct_line)
{
	for (unsigned i = 0; skipped && i < skipped->count; i++) {
		CXFile f;
		unsigned a, b;

		clang_getSpellingLocation(clang_getRangeStart(skipped->ranges[i]), &f, &a, NULL, NULL);
		if (!clang_File_isEqual(f, file))
			continue;
		clang_getSpellingLocation(clang_getRangeEnd(skipped->ranges[i]), NULL, &b, NULL, NULL);
		if (struct_line >= a && struct_line <= b)
			continue;
		if (line >= a && line <= b)
			return 1;
	}
	return 0;
}

/*
 * Notes each #if/#ifdef/#ifndef in the struct's definition up to its last
 * line that a reported field needs, kept or left out by this configuration:
 * another configuration of the same version may lay the struct out otherwise.
 */
static void config_notes(CXTranslationUnit tu, CXCursor rec, unsigned last_line, const char *root,
			 CXSourceRangeList *skipped, struct layout_result *out)
{
	CXSourceRange ext = clang_getCursorExtent(rec);
	CXToken *toks = NULL;
	unsigned n = 0;
	CXFile file;
	char *fname, *rel, *sname = take(clang_getCursorSpelling(rec));

	unsigned struct_line;

	clang_getSpellingLocation(clang_getRangeStart(ext), &file, &struct_line, NULL, NULL);
	fname = take(clang_getFileName(file));
	rel = fname;
	if (strncmp(fname, root, strlen(root)) == 0 && fname[strlen(root)] == '/')
		rel = fname + strlen(root) + 1;
	clang_tokenize(tu, ext, &toks, &n);
	for (unsigned i = 0; i + 1 < n; i++) {
		unsigned line, nline;
		char *p, *d;

		if (clang_getTokenKind(toks[i]) != CXToken_Punctuation)
			continue;
		p = take(clang_getTokenSpelling(tu, toks[i]));
		d = take(clang_getTokenSpelling(tu, toks[i + 1]));
		clang_getSpellingLocation(clang_getTokenLocation(tu, toks[i]), NULL, &line, NULL, NULL);
		if (strcmp(p, "#") == 0 && (strcmp(d, "if") == 0 || strcmp(d, "ifdef") == 0 ||
					    strcmp(d, "ifndef") == 0 || strcmp(d, "elif") == 0) &&
		    line <= last_line) {
			/* the condition: the tokens on the same line */
			char cond[200] = "";
			for (unsigned j = i + 2; j < n; j++) {
				char *w;
				clang_getSpellingLocation(clang_getTokenLocation(tu, toks[j]), NULL, &nline, NULL, NULL);
				if (nline != line)
					break;
				w = take(clang_getTokenSpelling(tu, toks[j]));
				if (strlen(cond) + strlen(w) + 2 < sizeof(cond)) {
					if (*cond)
						strcat(cond, " ");
					strcat(cond, w);
				}
				free(w);
			}
			char **v = realloc(out->config_notes, (out->n_config_notes + 1) * sizeof(*v));
			if (!v) {
				perror("offsets");
				exit(1);
			}
			out->config_notes = v;
			v[out->n_config_notes++] =
				xprintf("%s: #%s %s at %s:%u: %s", sname[0] ? sname : "(anonymous)", d, cond, rel,
					line, line_skipped(skipped, file, line + 1, struct_line) ? "left out" : "kept");
		}
		free(p);
		free(d);
	}
	clang_disposeTokens(tu, toks, n);
	free(fname);
	free(sname);
}

/* ---- the translation unit ------------------------------------------------- */

struct find_var {
	const char *name;
	CXCursor found;
	int have;
};

static enum CXChildVisitResult find_var_visit(CXCursor c, CXCursor parent, CXClientData data)
{
	struct find_var *f = data;

	if (clang_getCursorKind(c) == CXCursor_VarDecl) {
		char *name = take(clang_getCursorSpelling(c));
		if (strcmp(name, f->name) == 0) {
			f->found = c;
			f->have = 1;
		}
		free(name);
	}
	return CXChildVisit_Continue;
}

/* The first string literal under a cursor: the banner after macro expansion. */
static enum CXChildVisitResult find_string_visit(CXCursor c, CXCursor parent, CXClientData data)
{
	char **out = data;

	if (clang_getCursorKind(c) == CXCursor_StringLiteral) {
		char *lit = take(clang_getCursorSpelling(c));
		size_t n = strlen(lit);

		/* a plain "..." literal; OpenSSL's banners have no escapes */
		if (n >= 2 && lit[0] == '"' && lit[n - 1] == '"') {
			memmove(lit, lit + 1, n - 2);
			lit[n - 2] = '\0';
			*out = lit;
			return CXChildVisit_Break;
		}
		free(lit);
	}
	return CXChildVisit_Recurse;
}

static char *read_banner(CXTranslationUnit tu)
{
	struct find_var f = { .name = "offsets_banner" };
	char *s = NULL;

	clang_visitChildren(clang_getTranslationUnitCursor(tu), find_var_visit, &f);
	if (f.have)
		clang_visitChildren(f.found, find_string_visit, &s);
	return s;
}

static int write_tu(const struct layout_request *req)
{
	FILE *f = fopen(req->tu_path, "w");

	if (!f) {
		fprintf(stderr, "offsets: cannot write %s: %m\n", req->tu_path);
		return -1;
	}
	fprintf(f, "/* Generated by the offsets tool: the headers whose structs it measures. */\n");
	/* "<h>" is found on the include path, anything else in the tree */
	for (size_t i = 0; i < req->n_headers; i++)
		if (req->headers[i][0] == '<')
			fprintf(f, "#include %s\n", req->headers[i]);
		else
			fprintf(f, "#include \"%s/%s\"\n", req->root, req->headers[i]);
	fprintf(f, "#include %s\n", req->banner_header);
	fprintf(f, "const char offsets_banner[] = %s;\n", req->banner_macro);
	if (fclose(f) != 0) {
		fprintf(stderr, "offsets: cannot write %s: %m\n", req->tu_path);
		return -1;
	}
	return 0;
}

int layout_compute(const struct layout_request *req, const struct spec_fields *fields, struct layout_result *out)
{
	int cxx = req->language && strcmp(req->language, "c++") == 0;
	const char *base_args[] = { "-x", cxx ? "c++" : "c", cxx ? "-std=gnu++17" : "-std=gnu11", "-target",
				    "x86_64-pc-linux-gnu", "-w" };
	size_t nb = sizeof(base_args) / sizeof(base_args[0]);
	const char **args = xmalloc((nb + req->n_extra_args) * sizeof(*args));
	CXIndex index;
	CXTranslationUnit tu = NULL;
	enum CXErrorCode err;
	int errors = 0, rc = -1;
	CXSourceRangeList *skipped = NULL;

	memset(out, 0, sizeof(*out));
	if (write_tu(req) < 0) {
		free(args);
		return -1;
	}
	memcpy(args, base_args, nb * sizeof(*args));
	memcpy(args + nb, req->extra_args, req->n_extra_args * sizeof(*args));
	index = clang_createIndex(0, 0);
	err = clang_parseTranslationUnit2(index, req->tu_path, args, (int)(nb + req->n_extra_args), NULL, 0,
					  CXTranslationUnit_DetailedPreprocessingRecord |
						  CXTranslationUnit_SkipFunctionBodies,
					  &tu);
	if (err != CXError_Success || !tu) {
		fprintf(stderr, "offsets: libclang could not parse %s (error %d)\n", req->tu_path, (int)err);
		goto done;
	}
	for (unsigned i = 0; i < clang_getNumDiagnostics(tu); i++) {
		CXDiagnostic d = clang_getDiagnostic(tu, i);
		if (clang_getDiagnosticSeverity(d) >= CXDiagnostic_Error) {
			if (errors == 0)
				fprintf(stderr, "offsets: the headers do not compile, so no offset can be trusted:\n");
			if (errors < 10) {
				char *s = take(clang_formatDiagnostic(d, clang_defaultDiagnosticDisplayOptions()));
				fprintf(stderr, "  %s\n", s);
				free(s);
			}
			errors++;
		}
		clang_disposeDiagnostic(d);
	}
	if (errors) {
		if (errors > 10)
			fprintf(stderr, "  ... and %d more errors\n", errors - 10);
		goto done;
	}
	out->clang_version = take(clang_getClangVersion());
	out->banner = read_banner(tu);
	if (!out->banner) {
		fprintf(stderr, "offsets: %s is not a string literal in these headers\n", req->banner_macro);
		goto done;
	}
	skipped = clang_getAllSkippedRanges(tu);
	out->fields = xmalloc(fields->n * sizeof(*out->fields));
	for (size_t i = 0; i < fields->n; i++) {
		CXCursor rec;
		int have_rec;

		compute_field(tu, req, &fields->v[i], &out->fields[i], &rec, &have_rec);
	}
	/* Per struct: the conditional blocks before the last field measured in it. */
	for (size_t i = 0; i < fields->n; i++) {
		CXCursor rec;
		unsigned last = 0;
		int seen = 0;

		for (size_t j = 0; j < i; j++)
			if (strcmp(fields->v[j].strct, fields->v[i].strct) == 0)
				seen = 1;
		if (seen || !find_record(tu, req, fields->v[i].strct, &rec))
			continue;
		for (size_t j = i; j < fields->n; j++) {
			CXCursor f;
			long long off;
			unsigned line;
			char *first;

			if (strcmp(fields->v[j].strct, fields->v[i].strct) != 0 || out->fields[j].status != FIELD_OK)
				continue;
			/* the line of the path's first component is where it sits in this struct */
			first = strdup(fields->v[j].path);
			if (!first) {
				perror("offsets");
				exit(1);
			}
			first[strcspn(first, ".")] = '\0';
			if (find_field(clang_getCanonicalType(clang_getCursorType(rec)), first, 0, &off, &f)) {
				CXSourceRange fe = clang_getCursorExtent(f);
				clang_getSpellingLocation(clang_getRangeEnd(fe), NULL, &line, NULL, NULL);
				if (line > last)
					last = line;
			}
			free(first);
		}
		if (last)
			config_notes(tu, rec, last, req->root, skipped, out);
	}
	rc = 0;
done:
	if (skipped)
		clang_disposeSourceRangeList(skipped);
	if (tu)
		clang_disposeTranslationUnit(tu);
	clang_disposeIndex(index);
	free(args);
	return rc;
}

void layout_result_free(struct layout_result *r, size_t n_fields)
{
	for (size_t i = 0; r->fields && i < n_fields; i++)
		free(r->fields[i].note);
	free(r->fields);
	for (size_t i = 0; i < r->n_config_notes; i++)
		free(r->config_notes[i]);
	free(r->config_notes);
	free(r->banner);
	free(r->clang_version);
	memset(r, 0, sizeof(*r));
}
