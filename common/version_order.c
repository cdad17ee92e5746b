/* SPDX-License-Identifier: MIT */
/* The one version order (the rules are in version_order.h). */
#include "version_order.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* No <ctype.h>: its answers follow the locale, and the order must not. */
static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_lower(char c)
{
	return c >= 'a' && c <= 'z';
}

static char lower_case(char c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* In their order: a dev tree comes before the first alpha. */
static const char *const pre_release_words[] = { "dev", "alpha", "beta", "pre", "rc" };
#define N_PRE_RELEASE_WORDS (sizeof(pre_release_words) / sizeof(pre_release_words[0]))

/* The rank of the pre-release word text starts with, and its length; -1 when none does. */
static int pre_release_word(const char *text, size_t *len)
{
	for (size_t rank = 0; rank < N_PRE_RELEASE_WORDS; rank++) {
		const char *word = pre_release_words[rank];
		size_t i = 0;

		while (word[i] && lower_case(text[i]) == word[i])
			i++;
		if (!word[i]) {
			*len = i;
			return (int)rank;
		}
	}
	return -1;
}

/* A word ends where no letter follows: "-rc1", "-rc.1", "-rc" but not "-preview". */
static bool ends_word(char c)
{
	return !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));
}

/* One dotted component of the release: its digits without zeros in front, and its letters. */
struct release_part {
	const char *digits;
	size_t n_digits;
	const char *letters;
	size_t n_letters;
};

/* A version cut into what takes part in the order. */
struct version_key {
	const char *release;       /* up to release_end */
	const char *release_end;
	int pre_rank;              /* -1: the release itself, after all its pre-releases */
	const char *pre_rest;      /* what follows the word, up to a "+" */
	size_t n_pre_rest;
};

/* The letters after a component's digits, unless they begin a glued pre-release ("16beta1"). */
static size_t letters_at(const char *at)
{
	size_t word_len, n = 0;

	if (pre_release_word(at, &word_len) >= 0 && is_digit(at[word_len]))
		return 0;
	while (is_lower(at[n]))
		n++;
	return n;
}

/* The end of the release that starts version: components while a dot and a digit follow. */
static const char *release_end(const char *version)
{
	const char *at = version;

	while (is_digit(*at)) {
		while (is_digit(*at))
			at++;
		at += letters_at(at);
		if (at[0] != '.' || !is_digit(at[1]))
			break;
		at++;
	}
	return at;
}

static size_t pre_rest_len(const char *rest)
{
	const char *plus = strchr(rest, '+');

	return plus ? (size_t)(plus - rest) : strlen(rest);
}

static void version_key_read(const char *version, struct version_key *key)
{
	const char *tail;
	size_t word_len;
	int rank;

	key->release = version;
	key->release_end = tail = release_end(version);
	key->pre_rank = -1;
	key->pre_rest = "";
	key->n_pre_rest = 0;
	if (tail == version)
		return; /* no version at all: as "0" */
	if (*tail == '-') {
		rank = pre_release_word(tail + 1, &word_len);
		if (rank < 0 || !ends_word(tail[1 + word_len]))
			return;
		tail += 1 + word_len;
	} else {
		rank = pre_release_word(tail, &word_len);
		if (rank < 0 || !is_digit(tail[word_len]))
			return;
		tail += word_len;
	}
	key->pre_rank = rank;
	key->pre_rest = tail;
	key->n_pre_rest = pre_rest_len(tail);
}

/* Reads the component at *cursor (before end) and moves past it and its dot; past the end, 0. */
static void next_release_part(const char **cursor, const char *end, struct release_part *part)
{
	const char *at = *cursor;

	while (at < end && *at == '0')
		at++;
	part->digits = at;
	while (at < end && is_digit(*at))
		at++;
	part->n_digits = at - part->digits;
	part->letters = at;
	while (at < end && is_lower(*at))
		at++;
	part->n_letters = at - part->letters;
	if (at < end && *at == '.')
		at++;
	*cursor = at;
}

static int sign(int value)
{
	return (value > 0) - (value < 0);
}

/* Digit strings without zeros in front: the longer is the bigger number, at any size. */
static int compare_numbers(const char *a, size_t n_a, const char *b, size_t n_b)
{
	if (n_a != n_b)
		return n_a < n_b ? -1 : 1;
	return sign(memcmp(a, b, n_a));
}

static int compare_release_parts(const struct release_part *a, const struct release_part *b)
{
	int order = compare_numbers(a->digits, a->n_digits, b->digits, b->n_digits);

	if (order)
		return order;
	/* Letters count like digits: "z" < "za" as 9 < 10. */
	return compare_numbers(a->letters, a->n_letters, b->letters, b->n_letters);
}

static int compare_releases(const struct version_key *a, const struct version_key *b)
{
	const char *at_a = a->release, *at_b = b->release;

	while (at_a < a->release_end || at_b < b->release_end) {
		struct release_part part_a, part_b;
		int order;

		next_release_part(&at_a, a->release_end, &part_a);
		next_release_part(&at_b, b->release_end, &part_b);
		order = compare_release_parts(&part_a, &part_b);
		if (order)
			return order;
	}
	return 0;
}

static size_t skip_zeros(const char *s, size_t n)
{
	size_t i = 0;

	while (i + 1 < n && s[i] == '0' && is_digit(s[i + 1]))
		i++;
	return i;
}

static size_t digit_run(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && is_digit(s[i]))
		i++;
	return i;
}

/* What follows a pre-release word: digit runs as numbers, other bytes by value, ignoring case. */
static int compare_pre_rests(const char *a, size_t n_a, const char *b, size_t n_b)
{
	size_t i = 0, j = 0;

	while (i < n_a && j < n_b) {
		if (is_digit(a[i]) && is_digit(b[j])) {
			size_t run_a = digit_run(a + i, n_a - i), run_b = digit_run(b + j, n_b - j);
			size_t zeros_a = skip_zeros(a + i, run_a), zeros_b = skip_zeros(b + j, run_b);
			int order = compare_numbers(a + i + zeros_a, run_a - zeros_a, b + j + zeros_b, run_b - zeros_b);

			if (order)
				return order;
			i += run_a;
			j += run_b;
			continue;
		}
		if (lower_case(a[i]) != lower_case(b[j]))
			return (unsigned char)lower_case(a[i]) < (unsigned char)lower_case(b[j]) ? -1 : 1;
		i++;
		j++;
	}
	if (i < n_a || j < n_b)
		return i < n_a ? 1 : -1; /* "alpha" < "alpha1" */
	return 0;
}

int version_order_compare(const char *a, const char *b)
{
	struct version_key key_a, key_b;
	int order;

	version_key_read(a, &key_a);
	version_key_read(b, &key_b);
	order = compare_releases(&key_a, &key_b);
	if (order)
		return order;
	if (key_a.pre_rank != key_b.pre_rank) {
		/* The release itself (-1) comes after every pre-release of it. */
		if (key_a.pre_rank < 0 || key_b.pre_rank < 0)
			return key_a.pre_rank < 0 ? 1 : -1;
		return key_a.pre_rank < key_b.pre_rank ? -1 : 1;
	}
	return compare_pre_rests(key_a.pre_rest, key_a.n_pre_rest, key_b.pre_rest, key_b.n_pre_rest);
}

/* ---- what a spec may write ---------------------------------------------------- */

static const char *const want_release = "want numbers joined by dots, e.g. \"3.0.2\" or \"1.1.1w\"";

/* OpenSSL's count: one letter, after as many "z" as it went past "z". */
static bool openssl_letters(const char *letters, size_t n)
{
	for (size_t i = 0; i + 1 < n; i++)
		if (letters[i] != 'z')
			return false;
	return true;
}

/* A pre-release as a spec writes it: lowercase letters, digits and dots ("-alpha1", "-rc.2"). */
static bool plain_pre_release(const char *tail)
{
	if (*tail == '-')
		tail++;
	for (; *tail; tail++)
		if (!is_lower(*tail) && !is_digit(*tail) && *tail != '.')
			return false;
	return true;
}

static const char *release_problem(const char *version, const char *end)
{
	const char *at = version;

	while (at < end) {
		const char *digits = at;
		size_t n_letters;

		while (is_digit(*at))
			at++;
		if (*digits == '0' && at - digits > 1)
			return "a number with a zero in front reads as another spelling of the same version";
		n_letters = letters_at(at);
		if (n_letters && at + n_letters < end)
			return "letters only follow the last number, as in \"1.1.1w\"";
		if (!openssl_letters(at, n_letters))
			return "letters count OpenSSL's patch releases: a .. z, then za .. zz";
		at += n_letters;
		if (at < end)
			at++; /* the dot */
	}
	return NULL;
}

const char *version_order_spec_problem(const char *version)
{
	const char *end = release_end(version);
	struct version_key key;
	const char *problem;

	if (end == version)
		return want_release;
	problem = release_problem(version, end);
	if (problem)
		return problem;
	if (!*end)
		return NULL;
	if (strchr(end, '+'))
		return "build metadata (\"+...\") takes no part in the version order: a patched build is a product of its own";
	version_key_read(version, &key);
	if (key.pre_rank < 0)
		return *end == '-' ? "a \"-\" tag other than a pre-release (dev, alpha, beta, pre, rc) takes no part in the version order"
				   : want_release;
	if (!plain_pre_release(end))
		return "a pre-release is a lowercase word and a number, e.g. \"3.0.0-alpha1\"";
	return NULL;
}
