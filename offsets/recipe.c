/* SPDX-License-Identifier: MIT */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "recipe.h"

#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void oom(void)
{
	perror("offsets");
	exit(1);
}

static void list_add(struct recipe_list *l, const char *s)
{
	l->v = realloc(l->v, (l->n + 1) * sizeof(*l->v));
	if (!l->v || !(l->v[l->n] = strdup(s)))
		oom();
	l->n++;
}

static void list_free(struct recipe_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

/* A path of the recipe relative to its directory. */
static char *beside(const struct recipe *r, const char *rel)
{
	char *p;

	if (rel[0] == '/')
		p = strdup(rel);
	else if (asprintf(&p, "%s/%s", r->dir, rel) < 0)
		p = NULL;
	if (!p)
		oom();
	return p;
}

/* One value a key may have once: set it, or say it was set twice. */
static int set_once(char **slot, const char *v, const char *path, int line, const char *key)
{
	if (*slot) {
		fprintf(stderr, "offsets: %s:%d: '%s' given twice\n", path, line, key);
		return -1;
	}
	if (!(*slot = strdup(v)))
		oom();
	return 0;
}

int recipe_read(const char *path, struct recipe *r)
{
	FILE *f = fopen(path, "r");
	char *line = NULL, *copy;
	size_t cap = 0;
	int lineno = 0, rc = 0;

	memset(r, 0, sizeof(*r));
	if (!f) {
		fprintf(stderr, "offsets: cannot read recipe %s: %m\n", path);
		return -1;
	}
	if (!(r->path = strdup(path)) || !(copy = strdup(path)))
		oom();
	if (!(r->dir = strdup(dirname(copy))))
		oom();
	free(copy);
	while (rc == 0 && getline(&line, &cap, f) > 0) {
		char *key, *val, *end;

		lineno++;
		line[strcspn(line, "\n")] = '\0';
		/* a comment starts the line or follows a blank: "s|x|#include ...|" keeps its # */
		for (char *h = line; (h = strchr(h, '#')); h++)
			if (h == line || h[-1] == ' ' || h[-1] == '\t') {
				*h = '\0';
				break;
			}
		key = line + strspn(line, " \t");
		if (!*key)
			continue;
		val = key + strcspn(key, " \t");
		if (*val)
			*val++ = '\0';
		val += strspn(val, " \t");
		for (end = val + strlen(val); end > val && (end[-1] == ' ' || end[-1] == '\t');)
			*--end = '\0';
		if (!*val) {
			fprintf(stderr, "offsets: %s:%d: '%s' wants a value\n", path, lineno, key);
			rc = -1;
		} else if (!strcmp(key, "library")) {
			rc = set_once(&r->library, val, path, lineno, key);
		} else if (!strcmp(key, "spec")) {
			rc = set_once(&r->spec, val, path, lineno, key);
		} else if (!strcmp(key, "module")) {
			rc = set_once(&r->module, val, path, lineno, key);
		} else if (!strcmp(key, "name")) {
			rc = set_once(&r->name, val, path, lineno, key);
		} else if (!strcmp(key, "versions")) {
			rc = set_once(&r->versions, val, path, lineno, key);
		} else if (!strcmp(key, "product")) {
			rc = set_once(&r->product, val, path, lineno, key);
		} else if (!strcmp(key, "hooks")) {
			rc = set_once(&r->hooks, val, path, lineno, key);
		} else if (!strcmp(key, "language")) {
			rc = set_once(&r->language, val, path, lineno, key);
			if (rc == 0 && strcmp(val, "c") && strcmp(val, "c++")) {
				fprintf(stderr, "offsets: %s:%d: language is c or c++, got '%s'\n", path, lineno, val);
				rc = -1;
			}
		} else if (!strcmp(key, "banner")) {
			char *hdr = val + strcspn(val, " \t");
			if (!*hdr) {
				fprintf(stderr, "offsets: %s:%d: banner wants MACRO <HEADER>\n", path, lineno);
				rc = -1;
			} else {
				*hdr++ = '\0';
				hdr += strspn(hdr, " \t");
				rc = set_once(&r->banner_macro, val, path, lineno, key);
				if (rc == 0 && !(r->banner_header = strdup(hdr)))
					oom();
			}
		} else if (!strcmp(key, "installed")) {
			char *pkg = val + strcspn(val, " \t");
			if (*pkg) {
				*pkg++ = '\0';
				pkg += strspn(pkg, " \t");
				if (!(r->package = strdup(pkg)))
					oom();
			}
			rc = set_once(&r->installed, val, path, lineno, key);
		} else if (!strcmp(key, "tree")) {
			list_add(&r->marks, val);
		} else if (!strcmp(key, "prepare")) {
			list_add(&r->prepare, val);
		} else if (!strcmp(key, "include")) {
			list_add(&r->includes, val);
		} else if (!strcmp(key, "incdir")) {
			list_add(&r->incdirs, val);
		} else if (!strcmp(key, "define")) {
			list_add(&r->defines, val);
		} else if (!strcmp(key, "struct")) {
			char *c = val + strcspn(val, " \t=");
			char *pair;
			if (*c)
				*c++ = '\0';
			c += strspn(c, " \t=");
			if (!*c || asprintf(&pair, "%s %s", val, c) < 0) {
				fprintf(stderr, "offsets: %s:%d: struct wants SPEC_NAME = C_NAME\n", path, lineno);
				rc = -1;
			} else {
				list_add(&r->renames, pair);
				free(pair);
			}
		} else {
			fprintf(stderr, "offsets: %s:%d: unknown key '%s'\n", path, lineno, key);
			rc = -1;
		}
	}
	free(line);
	fclose(f);
	if (rc == 0) {
		const char *missing = !r->library ? "library" : !r->spec ? "spec" : !r->module ? "module"
				      : !r->name ? "name" : !r->versions ? "versions"
				      : !r->banner_macro ? "banner" : !r->includes.n ? "include" : NULL;
		if (missing) {
			fprintf(stderr, "offsets: %s: no '%s' line\n", path, missing);
			rc = -1;
		}
	}
	if (rc == 0) {
		char *s = beside(r, r->spec);
		free(r->spec);
		r->spec = s;
		if (!r->language && !(r->language = strdup("c")))
			oom();
	}
	if (rc != 0)
		recipe_free(r);
	return rc;
}

void recipe_free(struct recipe *r)
{
	char **s[] = { &r->path, &r->dir, &r->library, &r->spec, &r->module, &r->name, &r->versions,
		       &r->product, &r->hooks, &r->language, &r->banner_macro, &r->banner_header, &r->installed,
		       &r->package };
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		free(*s[i]);
	list_free(&r->marks);
	list_free(&r->prepare);
	list_free(&r->includes);
	list_free(&r->incdirs);
	list_free(&r->defines);
	list_free(&r->renames);
	memset(r, 0, sizeof(*r));
}
