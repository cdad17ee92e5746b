/* SPDX-License-Identifier: MIT */
/* Library versions: reading them out of binaries and choosing a layout. */
#include "version.h"
#include "gopclntab.h"

#include <errno.h>
#include <limits.h>
#include <regex.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "elf_file.h"
#include "ldcache.h"
#include "version_order.h"

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_lower(char c)
{
	return c >= 'a' && c <= 'z';
}

const char *ps_version_suffix(const char *version)
{
	const char *at = version;

	if (!version)
		return NULL;
	for (;;) {
		const char *digits = at;

		while (is_digit(*at))
			at++;
		if (at == digits)
			break;
		while (is_lower(*at))
			at++;
		if (at[0] != '.' || !is_digit(at[1]))
			break;
		at++;
	}
	return *at ? at : NULL;
}

static int copy_bounded(const char *from, size_t len, char *out, size_t out_size)
{
	if (len >= out_size)
		return -ENOSPC;
	memcpy(out, from, len);
	out[len] = '\0';
	return 0;
}

/* Group 1 of the regex is the version; a rule without one cannot say it. */
static int compile_rule(const struct ps_version_rule *rule, int flags, regex_t *regex)
{
	if (!rule->regex || regcomp(regex, rule->regex, flags | REG_EXTENDED) != 0)
		return -EINVAL;
	if (regex->re_nsub < 1) {
		regfree(regex);
		return -EINVAL;
	}
	return 0;
}

/* 0 and the version when text matches, -ENOENT when it does not. */
static int match_version(const regex_t *regex, const char *text, char *version, size_t version_size)
{
	regmatch_t groups[2];

	if (regexec(regex, text, 2, groups, 0) != 0 || groups[1].rm_so < 0)
		return -ENOENT;
	return copy_bounded(text + groups[1].rm_so, groups[1].rm_eo - groups[1].rm_so, version, version_size);
}

/*
 * One string of a section: 1 when the match starts the string (a banner such
 * as "OpenSSL 1.1.1t  7 Feb 2023"), 0 when it lies inside longer text, with
 * the version copied out in *found; -ENOENT without a match.
 */
static int match_in_string(const regex_t *regex, const char *text, char **found)
{
	regmatch_t groups[2];

	*found = NULL;
	if (!*text || regexec(regex, text, 2, groups, 0) != 0 || groups[1].rm_so < 0)
		return -ENOENT;
	*found = strndup(text + groups[1].rm_so, groups[1].rm_eo - groups[1].rm_so);
	if (!*found)
		return -ENOMEM;
	return groups[0].rm_so == 0;
}

/*
 * The literal text every match of an extended regex begins with ("OpenSSL "
 * for "OpenSSL ([0-9]+..."), so that only strings holding it need regexec:
 * a Node.js executable has some 50 MB of .rodata. Conservative: no prefix
 * (0) when the regex has an alternation; a literal made optional by the
 * quantifier after it is left out.
 */
static size_t literal_prefix(const char *regex, char *out, size_t out_size)
{
	const char *at = regex;
	size_t len = 0;

	if (strchr(regex, '|'))
		return 0;
	if (*at == '^')
		at++;
	while (*at && len + 1 < out_size) {
		char c = *at;

		if (c == '\\') {
			/* An escaped punctuation mark is itself; \w, \1 and the like are not literals. */
			if (!at[1] || (at[1] >= '0' && at[1] <= '9') || (at[1] >= 'a' && at[1] <= 'z') ||
			    (at[1] >= 'A' && at[1] <= 'Z'))
				break;
			c = at[1];
			at += 2;
		} else if (strchr(".[]()*+?{}^$", c)) {
			break;
		} else {
			at++;
		}
		/* "ab*", "ab?", "ab{0,1}": the b may be absent. */
		if (*at == '*' || *at == '?' || *at == '{')
			break;
		out[len++] = c;
	}
	out[len] = '\0';
	return len;
}

/*
 * A section is a run of NUL-terminated strings; regexec wants each one alone.
 * The last string may lack its NUL at the section's end, so it is copied.
 *
 * The version is the first string that starts with a match: an executable
 * with a library linked in also holds text that merely mentions versions
 * (Node.js keeps its JavaScript sources in .rodata, "// OpenSSL 1.1.0,
 * buffers are ..." among them, which can come before the banner). Only
 * without such a string does the first match inside other text count
 * (OpenSSL 1.0.2's "SSLv3 part of OpenSSL 1.0.2s  28 May 2019").
 */
static int match_in_strings(const regex_t *regex, const char *prefix, size_t prefix_len, const char *bytes,
			    size_t size, char *version, size_t version_size)
{
	char *embedded = NULL;
	size_t at = 0;
	int err;

	while (at < size) {
		const char *start = bytes + at;
		const char *end;
		char *found;
		int where;

		if (prefix_len) {
			/* Straight to the next string holding the prefix, back to where it starts. */
			const char *hit = memmem(start, size - at, prefix, prefix_len);

			if (!hit)
				break;
			start = hit;
			while (start > bytes + at && start[-1] != '\0')
				start--;
			at = start - bytes;
		}
		end = memchr(start, '\0', size - at);
		if (end) {
			where = match_in_string(regex, start, &found);
			at = end - bytes + 1;
		} else {
			char *tail = strndup(start, size - at);

			if (!tail) {
				free(embedded);
				return -ENOMEM;
			}
			where = match_in_string(regex, tail, &found);
			free(tail);
			at = size;
		}
		if (where == -ENOENT)
			continue;
		if (where < 0) {
			free(embedded);
			return where;
		}
		if (where == 1) {
			free(embedded);
			err = copy_bounded(found, strlen(found), version, version_size);
			free(found);
			return err;
		}
		if (!embedded)
			embedded = found;
		else
			free(found);
	}
	if (!embedded)
		return -ENOENT;
	err = copy_bounded(embedded, strlen(embedded), version, version_size);
	free(embedded);
	return err;
}

/* Detection in one file: -ENOENT when the section is absent or holds no match. */
static int detect_in_elf(struct ps_elf *elf, const struct ps_version_rule *rule, const regex_t *regex,
			 char *version, size_t version_size)
{
	char prefix[64];
	size_t prefix_len = literal_prefix(rule->regex, prefix, sizeof(prefix));
	const void *bytes;
	size_t size;
	int err;

	/*
	 * `match file`: the name of the file the path resolves to (libmbedtls.so.21
	 * is a link to libmbedtls.so.3.6.6), for builds whose banner is no string
	 */
	if (strcmp(rule->section, PS_VERSION_FILE_NAME) == 0) {
		char *real = realpath(ps_elf_path(elf), NULL);
		const char *base;

		if (!real)
			return -ENOENT;
		base = strrchr(real, '/') ? strrchr(real, '/') + 1 : real;
		err = match_version(regex, base, version, version_size);
		free(real);
		return err;
	}
	/* Go keeps its version in a header of its own, not among NUL-terminated strings */
	if (strcmp(rule->section, ".go.buildinfo") == 0) {
		char text[64];

		err = ps_go_version(elf, text, sizeof(text));
		return err ? err : match_version(regex, text, version, version_size);
	}
	err = ps_elf_section(elf, rule->section, &bytes, &size);
	if (err == 0)
		err = match_in_strings(regex, prefix, prefix_len, bytes, size, version, version_size);
	else if (err == -ENODATA)
		err = -ENOENT;
	return err;
}

/* A needed library is no target: opened for this search only. */
static int detect_in_file(const char *path, const struct ps_version_rule *rule, const regex_t *regex,
			  char *version, size_t version_size)
{
	struct ps_elf *elf = ps_elf_open(path);
	int err;

	if (!elf)
		return -errno;
	err = detect_in_elf(elf, rule, regex, version, version_size);
	ps_elf_close(elf);
	return err;
}

/* What the walk over DT_NEEDED entries needs to know and to report. */
struct needed_search {
	const char *from;
	const struct ps_version_rule *rule;
	const regex_t *regex;
	char *version;
	size_t version_size;
	char found_in[PATH_MAX]; /* open() takes no longer path; a longer one is -ENAMETOOLONG */
	int result;
};

static int search_needed_library(const char *name, void *arg)
{
	struct needed_search *search = arg;
	int err;

	if (strncmp(name, search->rule->needed_prefix, strlen(search->rule->needed_prefix)) != 0)
		return 0;
	/*
	 * A library that is not installed, or holds no match, is no reason to stop
	 * looking in the others; one that exists but cannot be read is reported.
	 */
	err = ps_ldcache_resolve_needed(search->from, name, search->found_in, sizeof(search->found_in));
	if (err == 0)
		err = detect_in_file(search->found_in, search->rule, search->regex, search->version,
				     search->version_size);
	if (err == -ENOENT || err == -ENOEXEC)
		return 0;
	search->result = err;
	return 1;
}

static int detect_in_needed(struct ps_elf *elf, const struct ps_version_rule *rule, const regex_t *regex,
			    char *version, size_t version_size, char *found_in, size_t found_in_size)
{
	struct needed_search search = {
		.from = ps_elf_path(elf),
		.rule = rule,
		.regex = regex,
		.version = version,
		.version_size = version_size,
		.result = -ENOENT,
	};
	int err = ps_elf_for_each_needed(elf, search_needed_library, &search);

	if (err < 0)
		return err;
	if (search.result == 0 && found_in)
		return copy_bounded(search.found_in, strlen(search.found_in), found_in, found_in_size);
	return search.result;
}

int ps_version_detect(struct ps_elf *elf, const struct ps_version_rule *rule, char *version,
		      size_t version_size, char *found_in, size_t found_in_size)
{
	regex_t regex;
	int err;

	if (!rule->section)
		return -EINVAL;
	err = compile_rule(rule, 0, &regex);
	if (err)
		return err;
	err = detect_in_elf(elf, rule, &regex, version, version_size);
	if (err == 0 && found_in)
		err = copy_bounded(ps_elf_path(elf), strlen(ps_elf_path(elf)), found_in, found_in_size);
	else if (err == -ENOENT && rule->needed_prefix)
		err = detect_in_needed(elf, rule, &regex, version, version_size, found_in, found_in_size);
	regfree(&regex);
	return err;
}

int ps_version_parse_forced(const char *forced, const struct ps_version_rule *rule, char *version,
			    size_t version_size)
{
	regex_t regex;
	int err = compile_rule(rule, REG_ICASE, &regex);

	if (err)
		return err;
	err = match_version(&regex, forced, version, version_size);
	regfree(&regex);
	/* The user typed something this rule cannot read as a version. */
	return err == -ENOENT ? -EINVAL : err;
}

const struct ps_version_rule *ps_target_version_rule(const struct ps_target_desc *target, uint32_t index)
{
	if (index == 0)
		return target->version.regex ? &target->version : NULL;
	return index - 1 < target->n_more_versions ? &target->more_versions[index - 1] : NULL;
}

int ps_target_version_detect(struct ps_elf *elf, const struct ps_target_desc *target, char *version,
			     size_t version_size, char *found_in, size_t found_in_size,
			     const struct ps_version_rule **matched)
{
	const struct ps_version_rule *rule;
	int err = -ENOENT;

	*matched = NULL;
	/* In the spec's order: a later banner may also occur in a binary an earlier one names. */
	for (uint32_t i = 0; (rule = ps_target_version_rule(target, i)); i++) {
		err = ps_version_detect(elf, rule, version, version_size, found_in, found_in_size);
		if (err != -ENOENT)
			break;
	}
	if (err == 0)
		*matched = rule;
	return err;
}

int ps_target_version_parse_forced(const char *forced, const struct ps_target_desc *target, char *version,
				   size_t version_size, const struct ps_version_rule **matched)
{
	const struct ps_version_rule *rule;
	int err = -EINVAL;

	*matched = NULL;
	for (uint32_t i = 0; (rule = ps_target_version_rule(target, i)); i++) {
		err = ps_version_parse_forced(forced, rule, version, version_size);
		if (err != -EINVAL)
			break;
	}
	if (err == 0)
		*matched = rule;
	return err;
}

static bool same_product(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

/* A missing bound (NULL) leaves that side of the range open. */
static bool layout_holds(const struct ps_layout_desc *layout, const char *version)
{
	if (layout->min_version && version_order_compare(version, layout->min_version) < 0)
		return false;
	if (layout->max_version && version_order_compare(version, layout->max_version) > 0)
		return false;
	if (layout->below_version && version_order_compare(version, layout->below_version) >= 0)
		return false;
	return true;
}

/* The layout of product (NULL: any) whose range holds version, or NULL. */
static const struct ps_layout_desc *layout_holding(const struct ps_module_desc *module, const char *product,
						   const char *version)
{
	for (uint32_t i = 0; i < module->n_layouts; i++) {
		const struct ps_layout_desc *layout = &module->layouts[i];

		if (same_product(layout->product, product) && layout_holds(layout, version))
			return layout;
	}
	return NULL;
}

/*
 * Whether candidate ends closer below a version than nearest: the later end,
 * or at the same end the layout of the product (the compiler proves ranges
 * apart only within a product), so the choice never hangs on table order.
 */
static bool closer_below(const struct ps_layout_desc *candidate, const struct ps_layout_desc *nearest)
{
	int order = version_order_compare(candidate->max_version, nearest->max_version);

	return order > 0 || (order == 0 && candidate->product && !nearest->product);
}

/* Of product's layouts (or those of none), the one ending closest below version. */
static const struct ps_layout_desc *nearest_lower(const struct ps_module_desc *module, const char *product,
						  const char *version)
{
	const struct ps_layout_desc *nearest = NULL;

	for (uint32_t i = 0; i < module->n_layouts; i++) {
		const struct ps_layout_desc *candidate = &module->layouts[i];

		if (candidate->product && !same_product(candidate->product, product))
			continue;
		/* Go changed its calling convention after the stack ABI's last version: never carried past it */
		if (candidate->go_stack_abi)
			continue;
		if (!candidate->max_version || version_order_compare(candidate->max_version, version) >= 0)
			continue;
		if (!nearest || closer_below(candidate, nearest))
			nearest = candidate;
	}
	return nearest;
}

enum ps_layout_match ps_layout_select(const struct ps_module_desc *module, const char *product,
				      const char *version, const struct ps_layout_desc **layout)
{
	*layout = NULL;
	if (!version)
		return PS_LAYOUT_NONE;
	*layout = layout_holding(module, product, version);
	if (!*layout && product)
		*layout = layout_holding(module, NULL, version);
	if (*layout)
		return PS_LAYOUT_EXACT;
	/*
	 * A version between two ranges (3.1.x when specs cover 3.0 and 3.2) most
	 * likely kept the struct layout of the release before it.
	 */
	*layout = nearest_lower(module, product, version);
	return *layout ? PS_LAYOUT_NEAREST : PS_LAYOUT_NONE;
}
