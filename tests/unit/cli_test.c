/* SPDX-License-Identifier: MIT */
/*
 * runtime/cli.c on the generated modules: good command lines and what they
 * set, bad ones and the exact one line each gets, the helps.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cli.h"
#include "maps_ahead.h"
#include "std_capture.h"

#define MAX_ARGS 32

struct parsed {
	enum ps_cli_result result;
	struct ps_options opts;
	char *out, *err;
};

/* Parses "plainsight" + args (NULL-terminated) with stdout and stderr captured. */
static void parse(const char *const *args, struct parsed *p)
{
	char *argv[MAX_ARGS + 2] = { "plainsight" };
	struct std_capture capture;
	int argc = 1;

	for (; args[argc - 1] && argc <= MAX_ARGS; argc++)
		argv[argc] = (char *)args[argc - 1];
	argv[argc] = NULL;
	if (!std_capture_begin(&capture)) {
		CHECK(!"cannot capture stdout and stderr");
		return;
	}
	p->result = ps_cli_parse(argc, argv, &p->opts);
	std_capture_end(&capture, &p->out, &p->err);
}

static void parsed_free(struct parsed *p)
{
	ps_cli_free(&p->opts);
	free(p->out);
	free(p->err);
}

static int flag_index(const struct ps_module_desc *module, const char *name)
{
	for (uint32_t i = 0; module && i < module->n_flags; i++)
		if (strcmp(module->flags[i].name, name) == 0)
			return (int)i;
	return -1;
}

static void test_defaults(void)
{
	struct parsed p;

	parse((const char *[]){ "tls", NULL }, &p);
	CHECK_INT(p.result, PS_CLI_RUN);
	CHECK_STR(p.opts.module ? p.opts.module->name : NULL, "tls");
	CHECK_INT(p.opts.output.mode, PS_OUTPUT_TEXT);
	CHECK(!p.opts.output.hex && !p.opts.quiet && !p.opts.status && !p.opts.debug && !p.opts.has_uid);
	CHECK_INT(p.opts.mapsize_kib, ps_ring_default_kib());
	CHECK_INT(p.opts.pid, 0);
	CHECK(p.opts.output_path == NULL && p.opts.keylog_path == NULL);
	CHECK(p.opts.btf_cache_dir != NULL && p.opts.btf_cache_dir[0] == '/');
	CHECK_STR(p.err, "");
	CHECK_STR(p.out, "");
	parsed_free(&p);
}

static void test_every_common_option(void)
{
	struct parsed p;

	parse((const char *[]){ "tls", "-m", "json", "-w", "/tmp/out", "-k", "/tmp/keys", "-p", "42", "-u", "0",
				"--hex", "--mapsize", "64", "-q", "--status", "-d", "--btf-cache", "none", NULL },
	      &p);
	CHECK_INT(p.result, PS_CLI_RUN);
	CHECK_INT(p.opts.output.mode, PS_OUTPUT_JSON);
	CHECK_STR(p.opts.output_path, "/tmp/out");
	CHECK_STR(p.opts.keylog_path, "/tmp/keys");
	CHECK_INT(p.opts.pid, 42);
	CHECK(p.opts.has_uid);
	CHECK_INT(p.opts.uid, 0);
	CHECK(p.opts.output.hex && p.opts.quiet && p.opts.status && p.opts.debug);
	CHECK_INT(p.opts.mapsize_kib, 64);
	CHECK(p.opts.btf_cache_dir == NULL);
	CHECK_STR(p.err, "");
	parsed_free(&p);
}

/* -m keylog: the key log is the output, from -k, else -w. */
static void test_keylog_mode(void)
{
	struct parsed p;

	parse((const char *[]){ "tls", "-m", "key", "-k", "/tmp/keys", NULL }, &p);
	CHECK_INT(p.result, PS_CLI_RUN);
	CHECK_INT(p.opts.output.mode, PS_OUTPUT_KEYLOG);
	CHECK_STR(p.opts.output_path, "/tmp/keys");
	CHECK(p.opts.keylog_path == NULL);
	parsed_free(&p);
	parse((const char *[]){ "tls", "--model", "keylog", "-w", "/tmp/keys", NULL }, &p);
	CHECK_INT(p.result, PS_CLI_RUN);
	CHECK_STR(p.opts.output_path, "/tmp/keys");
	parsed_free(&p);
}

static void test_module_flags(void)
{
	struct parsed p;
	int libssl, version, errnumber;

	parse((const char *[]){ "tls", "--libssl", "/opt/libssl.so.3", "--ssl_version=openssl 3.0.2", NULL }, &p);
	libssl = flag_index(p.opts.module, "libssl");
	version = flag_index(p.opts.module, "ssl_version");
	CHECK_INT(p.result, PS_CLI_RUN);
	CHECK(libssl >= 0 && version >= 0);
	CHECK_STR(ps_cli_flag_value(&p.opts, libssl), "/opt/libssl.so.3");
	CHECK_STR(ps_cli_flag_value(&p.opts, version), "openssl 3.0.2");
	CHECK(ps_cli_flag_value(&p.opts, -1) == NULL);
	parsed_free(&p);
	/* a short module flag taking a number; a flag not given has no value */
	parse((const char *[]){ "bash", "-e", "127", NULL }, &p);
	errnumber = flag_index(p.opts.module, "errnumber");
	CHECK_INT(p.result, PS_CLI_RUN);
	CHECK_STR(ps_cli_flag_value(&p.opts, errnumber), "127");
	CHECK(flag_index(p.opts.module, "bash_version") >= 0);
	CHECK(ps_cli_flag_value(&p.opts, flag_index(p.opts.module, "bash_version")) == NULL);
	parsed_free(&p);
}

struct bad_case {
	const char *args[8];
	const char *error;   /* the whole of stderr: one line */
};

static const struct bad_case bad_cases[] = {
	{ { "nosuch" }, "plainsight: unknown module 'nosuch' (see 'plainsight --help')\n" },
	{ { "tls", "-m", "xml" },
	  "plainsight: unknown output mode 'xml': use text, json, keylog or pcapng (see 'plainsight tls --help')\n" },
	{ { "tls", "-p", "0" }, "plainsight: --pid wants a process id, not '0' (see 'plainsight tls --help')\n" },
	{ { "tls", "--pid", "12x" }, "plainsight: --pid wants a process id, not '12x' (see 'plainsight tls --help')\n" },
	{ { "tls", "-u", "-1" }, "plainsight: --uid wants a user id, not '-1' (see 'plainsight tls --help')\n" },
	{ { "tls", "--mapsize", "100" }, "plainsight: --mapsize wants a power of two from 4 to 2097152 (KiB), not "
					  "'100' (see 'plainsight tls --help')\n" },
	{ { "tls", "--mapsize", "2" }, "plainsight: --mapsize wants a power of two from 4 to 2097152 (KiB), not '2' "
					"(see 'plainsight tls --help')\n" },
	{ { "tls", "--btf-cache", "cache" }, "plainsight: --btf-cache wants an absolute directory or 'none', not "
					      "'cache' (see 'plainsight tls --help')\n" },
	{ { "tls", "--bogus" }, "plainsight: unknown option '--bogus' (see 'plainsight tls --help')\n" },
	{ { "tls", "-Z" }, "plainsight: unknown option '-Z' (see 'plainsight tls --help')\n" },
	{ { "tls", "-w" }, "plainsight: option '-w' needs a value (see 'plainsight tls --help')\n" },
	{ { "tls", "--libssl" }, "plainsight: option '--libssl' needs a value (see 'plainsight tls --help')\n" },
	{ { "tls", "extra" }, "plainsight: unexpected argument 'extra' (see 'plainsight tls --help')\n" },
	{ { "tls", "-m", "keylog", "-k", "/tmp/a", "-w", "/tmp/b" },
	  "plainsight: -m keylog writes one file: give -k FILE or -w FILE, not both (see 'plainsight tls --help')\n" },
	{ { "bash", "-e", "seven" }, "plainsight: --errnumber wants a number, not 'seven'\n" },
};

static void test_bad_command_lines(void)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		struct parsed p;
		int before = check_failures_in_test;

		parse(bad_cases[i].args, &p);
		CHECK_INT(p.result, PS_CLI_EXIT_USAGE);
		CHECK_STR(p.err, bad_cases[i].error);
		CHECK_STR(p.out, "");
		if (check_failures_in_test != before)
			fprintf(stderr, "  (plainsight %s %s ...)\n", bad_cases[i].args[0],
				bad_cases[i].args[1] ? bad_cases[i].args[1] : "");
		parsed_free(&p);
	}
}

static void test_helps(void)
{
	struct parsed p;

	/* a module's help: its own flags, then the common ones, on stdout */
	parse((const char *[]){ "tls", "--help", NULL }, &p);
	CHECK_INT(p.result, PS_CLI_EXIT_OK);
	CHECK(strncmp(p.out, "Usage: plainsight tls [OPTIONS]\n\n", 33) == 0);
	CHECK(strstr(p.out, "\ntls options:\n      --libssl PATH ") != NULL);
	CHECK(strstr(p.out, "\nCommon options:\n  -m, --model MODE ") != NULL);
	CHECK(strstr(p.out, "  -h, --help ") != NULL);
	CHECK_STR(p.err, "");
	parsed_free(&p);
	/* a short module flag is listed with its short name */
	parse((const char *[]){ "bash", "-h", NULL }, &p);
	CHECK_INT(p.result, PS_CLI_EXIT_OK);
	CHECK(strstr(p.out, "\n  -e, --errnumber N ") != NULL);
	parsed_free(&p);
	/* the main help lists every module; without a module it is a usage error */
	parse((const char *[]){ "--help", NULL }, &p);
	CHECK_INT(p.result, PS_CLI_EXIT_OK);
	CHECK(strstr(p.out, "Usage: plainsight MODULE [OPTIONS]\n") != NULL);
	for (uint32_t i = 0; i < ps_n_modules; i++) {
		char name[64], line[80];

		/* a module with an alias is listed as "nss (nspr)" */
		snprintf(name, sizeof(name), "%s%s%s%s", ps_modules[i]->name, ps_modules[i]->alias ? " (" : "",
			 ps_modules[i]->alias ? ps_modules[i]->alias : "", ps_modules[i]->alias ? ")" : "");
		snprintf(line, sizeof(line), "\n  %-12s ", name);
		CHECK(strstr(p.out, line) != NULL);
	}
	parsed_free(&p);
	/* an alias runs its module */
	for (uint32_t i = 0; i < ps_n_modules; i++) {
		char usage[80];

		if (!ps_modules[i]->alias)
			continue;
		parse((const char *[]){ ps_modules[i]->alias, "-h", NULL }, &p);
		CHECK_INT(p.result, PS_CLI_EXIT_OK);
		snprintf(usage, sizeof(usage), "Usage: plainsight %s [OPTIONS]\n", ps_modules[i]->name);
		CHECK(strstr(p.out, usage) != NULL);
		parsed_free(&p);
	}
	parse((const char *[]){ NULL }, &p);
	CHECK_INT(p.result, PS_CLI_EXIT_USAGE);
	CHECK(strstr(p.out, "Usage: plainsight MODULE [OPTIONS]\n") != NULL);
	parsed_free(&p);
	parse((const char *[]){ "-V", NULL }, &p);
	CHECK_INT(p.result, PS_CLI_EXIT_OK);
	CHECK(strncmp(p.out, "plainsight ", 11) == 0 && strchr(p.out, '\n') == p.out + strlen(p.out) - 1);
	parsed_free(&p);
}

int main(void)
{
	TEST(test_defaults);
	TEST(test_every_common_option);
	TEST(test_keylog_mode);
	TEST(test_module_flags);
	TEST(test_bad_command_lines);
	TEST(test_helps);
	return TEST_EXIT();
}
