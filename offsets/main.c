/* SPDX-License-Identifier: MIT */
/*
 * build/offsets: the `layout` block of a spec for one OpenSSL source tree.
 *
 *   build/offsets [--spec FILE] [--module NAME] [options] SRC_DIR
 *
 * It copies SRC_DIR to a scratch directory (the tree itself is never
 * written), configures the copy and generates its headers (make
 * build_generated, the minimal step from 1.1.0 on; make links on 1.0.2),
 * parses with libclang a generated file that includes the library's internal
 * headers, and prints the offset of every struct field the spec's module
 * declares, as a layout block named after the version banner
 * (OPENSSL_VERSION_TEXT) it came from. A field this version does not have is
 * said on stderr and written as `absent`.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "go_dwarf.h"
#include "layout.h"
#include "layout_file.h"
#include "recipe.h"
#include "spec_fields.h"

extern char **environ;

static const char *const SSL_HEADERS[] = { "ssl/ssl_local.h", "ssl/ssl_locl.h" };
static const char *const BIO_HEADERS[] = { "crypto/bio/bio_local.h", "crypto/bio/bio_lcl.h" };
static const char *const INCLUDE_DIRS[] = { ".", "include", "crypto/include", "providers/common/include",
					    "providers/implementations/include", "ssl" };

static void usage(FILE *out)
{
	fprintf(out,
		"usage: offsets [options] SRC_DIR\n"
		"       offsets --recipe FILE [--layouts DIR] [--origin TEXT] [--work DIR] [--keep] [SRC_DIR]\n"
		"Prints the layout file (specs/README.md) of the OpenSSL source tree SRC_DIR,\n"
		"or, with --recipe, of the library that recipe describes (offsets/README.md).\n"
		"  --layouts DIR      write it to DIR/NAME.spec instead (replacing that file)\n"
		"  --origin TEXT      where the tree came from, for the file's header\n"
		"                     (e.g. \"upstream tag openssl-3.2.3, commit 45fda76\")\n"
		"  --spec FILE        the spec whose struct fields to measure (default specs/openssl/openssl.spec)\n"
		"  --module NAME      the module in it (default tls)\n"
		"  --configure ARGS   options for OpenSSL's config script, one string (default none)\n"
		"  --cflags ARGS      more compiler options for parsing, one string (e.g. -DOPENSSL_NO_PSK)\n"
		"  --name NAME        the layout's name (default from the banner: \"3.0\", \"1.1.1\")\n"
		"  --versions LO..HI  the versions it covers (default open: \"3.0.0\".. or \"1.1.1\"..,\n"
		"                     up to the next layout; LO.. is open too)\n"
		"  --product NAME     the product the layout is for (default: the banner's build metadata,\n"
		"                     \"quic\" for \"OpenSSL 1.1.1v+quic\"; none for a plain release)\n"
		"  --work DIR         prepare the copy in DIR (kept; reused when already prepared)\n"
		"  --keep             keep the scratch directory and say where it is\n"
		"  -h, --help         this text\n");
}

/* Runs argv in dir with stdout and stderr to log (appended). Returns the exit status, -1 on failure to run. */
static int run(char *const argv[], const char *dir, const char *log)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int status, rc;

	posix_spawn_file_actions_init(&fa);
	if (dir)
		posix_spawn_file_actions_addchdir_np(&fa, dir);
	posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0644);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	{
		FILE *l = fopen(log, "a");
		if (l) {
			fprintf(l, "\n$");
			for (int i = 0; argv[i]; i++)
				fprintf(l, " %s", argv[i]);
			fprintf(l, "   (in %s)\n", dir ? dir : ".");
			fclose(l);
		}
	}
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0) {
		errno = rc;
		return -1;
	}
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int exists(const char *dir, const char *rel)
{
	char p[PATH_MAX];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	return stat(p, &st) == 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

/*
 * A kept work directory is reused when its stamp says it was prepared from
 * the same tree and options: the stamp holds exactly want.
 */
static int stamp_matches(const char *stamp, const char *want)
{
	FILE *f = fopen(stamp, "r");
	char *have = NULL;
	size_t cap = 0;
	int same;

	if (!f)
		return 0;
	same = getdelim(&have, &cap, '\0', f) > 0 && strcmp(have, want) == 0;
	free(have);
	fclose(f);
	return same;
}

static void stamp_write(const char *stamp, const char *want)
{
	FILE *f = fopen(stamp, "w");

	if (f) {
		fputs(want, f);
		fclose(f);
	}
}

/* A fresh copy of src at copy_root, the stamp of the old one gone first; 0, or -1 said on stderr. */
static int copy_afresh(const char *src, const char *copy_root, const char *stamp, const char *log)
{
	char *cp[] = { "cp", "-a", "--", (char *)src, (char *)copy_root, NULL };

	unlink(stamp);
	nftw(copy_root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	if (run(cp, NULL, log) != 0) {
		fprintf(stderr, "offsets: cannot copy %s to %s (see %s)\n", src, copy_root, log);
		return -1;
	}
	return 0;
}

/* Splits a string at spaces into argv entries appended to *v (the strings are strdup'd). */
static void split_args(const char *s, char ***v, size_t *n)
{
	char *copy = strdup(s ? s : ""), *save = NULL;

	for (char *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		*v = realloc(*v, (*n + 2) * sizeof(**v));
		if (!*v) {
			perror("offsets");
			exit(1);
		}
		(*v)[(*n)++] = strdup(w);
		(*v)[*n] = NULL;
	}
	free(copy);
}

/* The version out of a banner "OpenSSL 3.0.20 27 Jan 2026" (or "OpenSSL 1.1.1w+quic  11 Sep 2023"). */
static int parse_banner(const char *banner, int *major, int *minor, int *patch, char letters[8])
{
	const char *p = strstr(banner, "SSL ");
	int used = 0;

	letters[0] = '\0';
	if (!p || sscanf(p + 4, "%d.%d.%d%n", major, minor, patch, &used) != 3)
		return -1;
	p += 4 + used;
	for (int i = 0; i < 7 && *p >= 'a' && *p <= 'z'; i++, p++) {
		letters[i] = *p;
		letters[i + 1] = '\0';
	}
	return 0;
}

/* Whether the n bytes at s make a name the spec language accepts (a letter or _, then letters, digits, _). */
static int is_spec_name(const char *s, size_t n)
{
	if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
			return 0;
	return 1;
}

/*
 * The build metadata of a banner, "quic" for "OpenSSL 3.0.13+quic 30 Jan
 * 2024", or NULL. A patched build lays its structs out otherwise than the
 * release it is named after, so its layout belongs to its own product.
 */
static char *banner_build_metadata(const char *banner)
{
	const char *p = strstr(banner, "SSL ");
	if (!p)
		return NULL;
	p += 4;
	while (*p && *p != ' ' && *p != '+')
		p++;
	if (*p != '+')
		return NULL;
	size_t n = strspn(p + 1, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
	return is_spec_name(p + 1, n) ? strndup(p + 1, n) : NULL;
}

/*
 * The layout file to stdout, or to DIR/NAME.spec (written beside, then
 * renamed: a failed run leaves the old file). Returns the absent fields'
 * count, or -1 after one line on stderr.
 */
static int write_layout(const char *dir, const struct layout_file *lf, const struct spec_fields *fields,
			const struct layout_result *res)
{
	char *path = NULL, *part = NULL;
	FILE *out;
	int absent;

	if (!dir)
		return layout_file_write(stdout, lf, fields, res);
	if (asprintf(&path, "%s/%s.spec", dir, lf->file_name ? lf->file_name : lf->name) < 0 || asprintf(&part, "%s.part", path) < 0) {
		fprintf(stderr, "offsets: out of memory\n");
		free(path);
		return -1;
	}
	out = fopen(part, "w");
	if (!out) {
		fprintf(stderr, "offsets: cannot write %s: %s\n", part, strerror(errno));
		free(part);
		free(path);
		return -1;
	}
	absent = layout_file_write(out, lf, fields, res);
	if (ferror(out) | (fclose(out) != 0) || rename(part, path) != 0) {
		fprintf(stderr, "offsets: cannot write %s: %s\n", path, strerror(errno));
		unlink(part);
		absent = -1;
	} else {
		fprintf(stderr, "offsets: wrote %s\n", path);
	}
	free(part);
	free(path);
	return absent;
}

/* The version of an installed Debian package, or NULL. */
static char *package_version(const char *pkg)
{
	char *cmd = NULL, *line = NULL;
	size_t cap = 0;
	FILE *p;

	if (asprintf(&cmd, "dpkg-query -W -f '${Version}' '%s' 2>/dev/null", pkg) < 0)
		return NULL;
	p = popen(cmd, "r");
	free(cmd);
	if (!p)
		return NULL;
	if (getline(&line, &cap, p) <= 0) {
		free(line);
		line = NULL;
	}
	pclose(p);
	return line;
}

/* Appends s to *acc with sep between (both may be NULL at first). */
static void append(char **acc, const char *sep, const char *s)
{
	char *n = NULL;

	if (asprintf(&n, "%s%s%s", *acc ? *acc : "", *acc ? sep : "", s) < 0) {
		perror("offsets");
		exit(1);
	}
	free(*acc);
	*acc = n;
}

/*
 * The layout of a library a recipe describes (specs/<lib>/offsets.recipe):
 * its headers, from a source tree (copied and prepared when the recipe has
 * `prepare` commands) or installed ones, parsed as the recipe says.
 */
static int recipe_main(const char *recipe_path, const char *arg_src, const char *layouts_dir, const char *origin,
		       const char *work_opt, int keep)
{
	struct recipe r;
	struct spec_fields fields;
	char src[PATH_MAX], work[PATH_MAX] = "", log[PATH_MAX + 16], tu[PATH_MAX + 16], copy_root[PATH_MAX + 8];
	const char *root;
	struct stat st;
	int made_work = 0, rc = 1;
	char **args = NULL, *prepared = NULL, *sources = NULL, *rewrite = NULL, *debian_version = NULL,
	     *headers_from = NULL;
	size_t nargs = 0;

	if (recipe_read(recipe_path, &r) < 0)
		return 1;
	if (!arg_src && !r.installed) {
		fprintf(stderr, "offsets: %s reads a source tree: give its directory\n", recipe_path);
		recipe_free(&r);
		return 1;
	}
	if (!arg_src)
		arg_src = r.installed;
	if (stat(arg_src, &st) != 0 || !S_ISDIR(st.st_mode) || !realpath(arg_src, src)) {
		fprintf(stderr, "offsets: %s: not a directory\n", arg_src);
		recipe_free(&r);
		return 1;
	}
	for (size_t i = 0; i < r.marks.n; i++)
		if (!exists(src, r.marks.v[i])) {
			fprintf(stderr, "offsets: %s: not a %s source tree (needs %s)\n", arg_src, r.library, r.marks.v[i]);
			recipe_free(&r);
			return 1;
		}
	if (spec_fields_read(r.spec, r.module, &fields) < 0) {
		recipe_free(&r);
		return 1;
	}
	root = src;
	/* the scratch directory holds the translation unit, and the copy that prepare commands write */
	if (work_opt) {
		if ((mkdir(work_opt, 0755) != 0 && errno != EEXIST) || !realpath(work_opt, work)) {
			fprintf(stderr, "offsets: cannot use %s: %s\n", work_opt, strerror(errno));
			goto out;
		}
		keep = 1;
	} else {
		const char *tmp = getenv("TMPDIR");
		snprintf(work, sizeof(work), "%s/offsets.XXXXXX", tmp && *tmp ? tmp : "/tmp");
		if (!mkdtemp(work)) {
			fprintf(stderr, "offsets: cannot create a scratch directory: %s\n", strerror(errno));
			work[0] = '\0';
			goto out;
		}
		made_work = 1;
	}
	snprintf(log, sizeof(log), "%s/prepare.log", work);
	snprintf(tu, sizeof(tu), "%s/offsets_tu.c", work);
	for (size_t i = 0; i < r.prepare.n; i++)
		append(&prepared, "; ", r.prepare.v[i]);
	if (r.prepare.n) {
		char stamp[PATH_MAX + 32], *want = NULL;

		snprintf(copy_root, sizeof(copy_root), "%s/src", work);
		snprintf(stamp, sizeof(stamp), "%s/prepared", work);
		if (asprintf(&want, "%s\n%s\n", src, prepared) < 0)
			goto out;
		if (!stamp_matches(stamp, want)) {
			if (copy_afresh(src, copy_root, stamp, log) != 0) {
				free(want);
				goto out;
			}
			fprintf(stderr, "offsets: preparing a copy of %s in %s\n", src, work);
			for (size_t i = 0; i < r.prepare.n; i++) {
				char *sh[] = { "sh", "-c", r.prepare.v[i], NULL };
				if (run(sh, copy_root, log) != 0) {
					fprintf(stderr, "offsets: the recipe's step '%s' failed in %s (see %s)\n",
						r.prepare.v[i], copy_root, log);
					free(want);
					goto out;
				}
			}
			stamp_write(stamp, want);
		}
		free(want);
		root = copy_root;
	}
	for (size_t i = 0; i < r.incdirs.n; i++) {
		char *a = NULL;
		/* An absolute directory is installed headers the tree lacks (NSPR's, beside NSS's tree). */
		if (r.incdirs.v[i][0] == '/' ? asprintf(&a, "-I%s", r.incdirs.v[i]) < 0
					     : asprintf(&a, "-I%s/%s", root, r.incdirs.v[i]) < 0)
			goto out;
		split_args(a, &args, &nargs);
		free(a);
	}
	for (size_t i = 0; i < r.defines.n; i++) {
		char *a = NULL;
		if (asprintf(&a, "-D%s", r.defines.v[i]) < 0)
			goto out;
		split_args(a, &args, &nargs);
		free(a);
	}
	struct layout_request req = {
		.root = root,
		.headers = (const char **)r.includes.v,
		.n_headers = r.includes.n,
		.banner_macro = r.banner_macro,
		.banner_header = r.banner_header,
		.extra_args = (const char **)args,
		.n_extra_args = nargs,
		.tu_path = tu,
		.language = r.language,
		.renames = r.renames.v,
		.n_renames = r.renames.n,
	};
	struct layout_result res;
	if (layout_compute(&req, &fields, &res) < 0)
		goto out;

	for (size_t i = 0; i < r.includes.n; i++)
		append(&sources, " and ", r.includes.v[i]);
	if (r.installed) {
		char *v = r.package ? package_version(r.package) : NULL;
		if (asprintf(&headers_from, "%s%s%s%s%s", src, r.package ? ", Debian package " : "",
			     r.package ? r.package : "", v ? " " : "", v ? v : "") < 0)
			headers_from = NULL;
		free(v);
		if (asprintf(&rewrite, "make offsets RECIPE=%s", recipe_path) < 0)
			rewrite = NULL;
	} else {
		debian_version = debian_version_of(src);
		if (asprintf(&rewrite, "make offsets RECIPE=%s SRC=<this source tree>", recipe_path) < 0)
			rewrite = NULL;
	}
	const char *dots = strstr(r.versions, "..");
	char lo[64] = "", hi[64] = "";
	if (dots) {
		snprintf(lo, sizeof(lo), "%.*s", (int)(dots - r.versions), r.versions);
		snprintf(hi, sizeof(hi), "%s", dots + 2);
	}
	if (!dots || !lo[0]) {
		fprintf(stderr, "offsets: %s: versions wants LO..HI or LO.., got \"%s\"\n", recipe_path, r.versions);
		layout_result_free(&res, fields.n);
		goto out;
	}
	/* "4.35" alone does not say whose release it is */
	char *label = NULL;
	if (!strcasestr(res.banner, r.library) && asprintf(&label, "%s %s", r.library, res.banner) < 0)
		label = NULL;
	/* the layout is named as the recipe says; its file, like OpenSSL's products', NAME+PRODUCT.spec */
	char *file_name = NULL;
	if (asprintf(&file_name, "%s%s%s", r.name, r.product ? "+" : "", r.product ? r.product : "") < 0)
		goto out;
	struct layout_file lf = {
		.name = r.name,
		.file_name = file_name,
		.product = r.product,
		.min_version = lo,
		.max_version = hi[0] ? hi : NULL,
		.module = r.module,
		.tree = strrchr(src, '/') ? strrchr(src, '/') + 1 : src,
		.origin = origin,
		.debian_version = debian_version,
		.hooks = r.hooks,
		.rewrite = rewrite,
		.banner_macro = r.banner_macro,
		.sources = sources,
		.label = label,
		.prepared = prepared,
		.headers_from = headers_from,
	};
	int absent = write_layout(layouts_dir, &lf, &fields, &res);
	free(file_name);
	free(label);
	if (absent >= 0) {
		fprintf(stderr, "offsets: %s: %zu fields, %zu with an offset, %d absent\n", res.banner, fields.n,
			fields.n - absent, absent);
		rc = 0;
	}
	layout_result_free(&res, fields.n);
out:
	if (made_work && !keep && rc == 0)
		nftw(work, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	else if (work[0])
		fprintf(stderr, "offsets: the scratch directory is kept in %s\n", work);
	for (size_t i = 0; i < nargs; i++)
		free(args[i]);
	free(args);
	free(prepared);
	free(sources);
	free(rewrite);
	free(debian_version);
	free(headers_from);
	spec_fields_free(&fields);
	recipe_free(&r);
	return rc;
}

int main(int argc, char **argv)
{
	/* a Go program's DWARF instead of a source tree: go_dwarf.c */
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--dwarf") == 0 || strncmp(argv[i], "--dwarf=", 8) == 0)
			return go_dwarf_main(argc, argv);

	const char *spec = "specs/openssl/openssl.spec", *module = "tls";
	const char *configure = "", *cflags = "", *name = NULL, *versions = NULL, *work_opt = NULL, *product_opt = NULL;
	const char *layouts_dir = NULL, *origin = NULL, *recipe = NULL;
	int keep = 0;
	static const struct option opts[] = {
		{ "spec", required_argument, NULL, 's' },      { "module", required_argument, NULL, 'm' },
		{ "configure", required_argument, NULL, 'c' }, { "cflags", required_argument, NULL, 'f' },
		{ "name", required_argument, NULL, 'n' },      { "versions", required_argument, NULL, 'v' },
		{ "work", required_argument, NULL, 'w' },      { "keep", no_argument, NULL, 'k' },
		{ "product", required_argument, NULL, 'p' },
		{ "layouts", required_argument, NULL, 'l' },   { "origin", required_argument, NULL, 'o' },
		{ "recipe", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },            { NULL, 0, NULL, 0 },
	};
	int o;

	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 's': spec = optarg; break;
		case 'm': module = optarg; break;
		case 'c': configure = optarg; break;
		case 'f': cflags = optarg; break;
		case 'n': name = optarg; break;
		case 'v': versions = optarg; break;
		case 'w': work_opt = optarg; break;
		case 'p': product_opt = optarg; break;
		case 'l': layouts_dir = optarg; break;
		case 'o': origin = optarg; break;
		case 'k': keep = 1; break;
		case 'r': recipe = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (recipe) {
		if (optind < argc - 1) {
			usage(stderr);
			return 2;
		}
		return recipe_main(recipe, optind < argc ? argv[optind] : NULL, layouts_dir, origin, work_opt, keep);
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	if (product_opt && !is_spec_name(product_opt, strlen(product_opt))) {
		fprintf(stderr, "offsets: --product wants a name (a letter or _, then letters, digits, _), got \"%s\"\n",
			product_opt);
		return 1;
	}

	char src[PATH_MAX];
	struct stat st;
	const char *arg_src = argv[optind];
	if (stat(arg_src, &st) != 0 || !S_ISDIR(st.st_mode) || !realpath(arg_src, src)) {
		fprintf(stderr, "offsets: %s: not a directory\n", arg_src);
		return 1;
	}
	const char *ssl_h = NULL, *bio_h = NULL;
	for (size_t i = 0; i < 2; i++) {
		if (!ssl_h && exists(src, SSL_HEADERS[i]))
			ssl_h = SSL_HEADERS[i];
		if (!bio_h && exists(src, BIO_HEADERS[i]))
			bio_h = BIO_HEADERS[i];
	}
	if (!ssl_h || !(exists(src, "Configure") || exists(src, "config"))) {
		fprintf(stderr, "offsets: %s: not an OpenSSL source tree (needs Configure and ssl/ssl_local.h or ssl/ssl_locl.h)\n",
			arg_src);
		return 1;
	}

	struct spec_fields fields;
	if (spec_fields_read(spec, module, &fields) < 0)
		return 1;

	/* ---- a scratch copy, configured, with its headers generated ---- */
	char work[PATH_MAX], root[PATH_MAX + 8], log[PATH_MAX + 16], stamp[PATH_MAX + 32], tu[PATH_MAX + 16];
	int made_work = 0, rc = 1;
	if (work_opt) {
		if (mkdir(work_opt, 0755) != 0 && errno != EEXIST) {
			fprintf(stderr, "offsets: cannot create %s: %s\n", work_opt, strerror(errno));
			return 1;
		}
		if (!realpath(work_opt, work)) {
			fprintf(stderr, "offsets: %s: %s\n", work_opt, strerror(errno));
			return 1;
		}
		keep = 1;
	} else {
		const char *tmp = getenv("TMPDIR");
		snprintf(work, sizeof(work), "%s/offsets.XXXXXX", tmp && *tmp ? tmp : "/tmp");
		if (!mkdtemp(work)) {
			fprintf(stderr, "offsets: cannot create a scratch directory: %s\n", strerror(errno));
			return 1;
		}
		made_work = 1;
	}
	snprintf(root, sizeof(root), "%s/src", work);
	snprintf(log, sizeof(log), "%s/prepare.log", work);
	snprintf(stamp, sizeof(stamp), "%s/prepared", work);
	snprintf(tu, sizeof(tu), "%s/offsets_tu.c", work);

	/* A kept work directory is reused when it was prepared from the same tree and options. */
	char want_stamp[3 * PATH_MAX];
	snprintf(want_stamp, sizeof(want_stamp), "%s\n%s\n", src, configure);
	if (!stamp_matches(stamp, want_stamp)) {
		if (copy_afresh(src, root, stamp, log) != 0)
			goto out;
		char **cfg = NULL;
		size_t ncfg = 0;
		split_args(exists(root, "config") ? "sh ./config" : "perl ./Configure", &cfg, &ncfg);
		split_args(configure, &cfg, &ncfg);
		fprintf(stderr, "offsets: configuring a copy of %s in %s\n", src, work);
		if (run(cfg, root, log) != 0) {
			fprintf(stderr, "offsets: OpenSSL's configure step failed in %s (see %s)\n", root, log);
			goto out;
		}
		for (size_t i = 0; i < ncfg; i++)
			free(cfg[i]);
		free(cfg);
		/* 1.1.0 and later: build_generated makes the headers and nothing else; 1.0.2: links. */
		char *gen[] = { "make", "-j2", "build_generated", NULL };
		char *links[] = { "make", "links", NULL };
		char grep_target[] = "^build_generated:";
		char mk[PATH_MAX + 32];
		snprintf(mk, sizeof(mk), "%s/Makefile", root);
		char *grep[] = { "grep", "-q", grep_target, mk, NULL };
		int has_gen = run(grep, NULL, "/dev/null") == 0;
		if (run(has_gen ? gen : links, root, log) != 0) {
			fprintf(stderr, "offsets: generating the headers (make %s) failed in %s (see %s)\n",
				has_gen ? "build_generated" : "links", root, log);
			goto out;
		}
		stamp_write(stamp, want_stamp);
	}

	/* ---- parse and measure ---- */
	const char *headers[2];
	size_t nh = 0;
	/* bio_local.h insists on coming before <openssl/bio.h>, which ssl_local.h includes. */
	if (bio_h)
		headers[nh++] = bio_h;
	headers[nh++] = ssl_h;
	char **extra = NULL;
	size_t nextra = 0;
	for (size_t i = 0; i < sizeof(INCLUDE_DIRS) / sizeof(INCLUDE_DIRS[0]); i++) {
		if (exists(root, INCLUDE_DIRS[i])) {
			char inc[PATH_MAX + 64];
			snprintf(inc, sizeof(inc), "-I%s/%s", root, INCLUDE_DIRS[i]);
			split_args(inc, &extra, &nextra);
		}
	}
	split_args(cflags, &extra, &nextra);
	struct layout_request req = {
		.root = root,
		.headers = headers,
		.n_headers = nh,
		.banner_macro = "OPENSSL_VERSION_TEXT",
		.banner_header = "<openssl/opensslv.h>",
		.extra_args = (const char **)extra,
		.n_extra_args = nextra,
		.tu_path = tu,
	};
	struct layout_result res;
	if (layout_compute(&req, &fields, &res) < 0)
		goto out;

	int major, minor, patch;
	char letters[8];
	if (parse_banner(res.banner, &major, &minor, &patch, letters) < 0) {
		fprintf(stderr, "offsets: cannot read a version out of the banner \"%s\"\n", res.banner);
		layout_result_free(&res, fields.n);
		goto out;
	}
	char *product = product_opt ? strdup(product_opt) : banner_build_metadata(res.banner);
	char dname[32], lo[40], hi[40];
	bool open_range = true;
	/* 3.x: one layout a minor release; before 3.0, one a patch release (1.1.1a .. 1.1.1w) */
	if (major >= 3) {
		snprintf(dname, sizeof(dname), "%d.%d", major, minor);
		snprintf(lo, sizeof(lo), "%d.%d.0", major, minor);
	} else {
		snprintf(dname, sizeof(dname), "%d.%d.%d", major, minor, patch);
		snprintf(lo, sizeof(lo), "%d.%d.%d", major, minor, patch);
	}
	if (versions) {
		const char *dots = strstr(versions, "..");
		if (!dots || dots == versions) {
			fprintf(stderr, "offsets: --versions wants LO..HI or LO.., got \"%s\"\n", versions);
			layout_result_free(&res, fields.n);
			goto out;
		}
		snprintf(lo, sizeof(lo), "%.*s", (int)(dots - versions), versions);
		snprintf(hi, sizeof(hi), "%s", dots + 2);
		open_range = !hi[0];
	}
	char *layout_name = NULL;
	if (asprintf(&layout_name, "%s%s%s", name ? name : dname, product && !name ? "+" : "",
		     product && !name ? product : "") < 0) {
		fprintf(stderr, "offsets: out of memory\n");
		free(product);
		layout_result_free(&res, fields.n);
		goto out;
	}
	if (product && !product_opt)
		fprintf(stderr,
			"offsets: the banner \"%s\" names the build \"+%s\": the layout is for product %s, "
			"which a `match ... product %s;` rule of the spec must detect\n",
			res.banner, product, product, product);

	/* ---- the layout file ---- */
	char *debian_version = debian_version_of(src);
	char *options = NULL;
	/* what `make offsets` must be given again to rewrite this file (--configure is in the header) */
	if ((name || versions || product_opt || *cflags) &&
	    asprintf(&options, "%s%s%s%s%s%s%s%s", name ? "--name " : "", name ? name : "",
		     versions ? (name ? " --versions " : "--versions ") : "", versions ? versions : "",
		     product_opt ? ((name || versions) ? " --product " : "--product ") : "", product_opt ? product_opt : "",
		     *cflags ? " --cflags " : "", cflags) < 0)
		options = NULL;
	struct layout_file lf = {
		.name = layout_name,
		.product = product,
		.min_version = lo,
		.max_version = open_range ? NULL : hi,
		.module = module,
		.tree = strrchr(src, '/') ? strrchr(src, '/') + 1 : src,
		.origin = origin,
		.debian_version = debian_version,
		.configure = exists(src, "config") ? "./config" : "./Configure",
		.configure_args = configure,
		.ssl_header = ssl_h,
		.bio_header = bio_h,
		.options = options,
	};
	int absent = write_layout(layouts_dir, &lf, &fields, &res);
	free(debian_version);
	free(options);
	free(layout_name);
	free(product);
	if (absent < 0) {
		layout_result_free(&res, fields.n);
		goto out;
	}
	fprintf(stderr, "offsets: %s: %zu fields, %zu with an offset, %d absent\n", res.banner, fields.n,
		fields.n - absent, absent);
	layout_result_free(&res, fields.n);
	for (size_t i = 0; i < nextra; i++)
		free(extra[i]);
	free(extra);
	rc = 0;
out:
	/* A failed run keeps its scratch copy: the log it names is there. */
	if (made_work && !keep && rc == 0)
		nftw(work, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	else if (keep)
		fprintf(stderr, "offsets: the prepared copy is kept in %s\n", work);
	spec_fields_free(&fields);
	return rc;
}
