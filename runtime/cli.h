/* SPDX-License-Identifier: MIT */
/* The command line: common options plus the flags a module's spec declares. */
#ifndef PS_CLI_H
#define PS_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include "module.h"
#include "output.h"

struct ps_options {
	const struct ps_module_desc *module;
	const char **flag_values;   /* one per module flag; NULL when not given */
	struct ps_output_opts output;
	const char *output_path;    /* -w; NULL: stdout. Keylog mode: -k, else -w */
	const char *keylog_path;    /* -k: SSLKEYLOGFILE lines, in any mode; NULL: none */
	uint32_t pid;               /* -p; 0: every process */
	uint32_t uid;               /* -u */
	bool has_uid;
	uint32_t mapsize_kib;       /* --mapsize: ring buffer size; --from wire: the packet backlog's too */
	bool mapsize_given;
	bool quiet;                 /* -q: no status line */
	bool status;                /* --status: status line even when stderr is no terminal */
	bool lossless;              /* --lossless: back-pressure instead of loss (events/backpressure.h) */
	int debug;                  /* -d once, -dd twice */
	const char *btf_cache_dir;  /* --btf-cache; NULL: none, read the kernel's whole BTF */
	bool from_wire;             /* --from wire: plaintext decrypted from packets, only the secrets hooks */
	const char **interfaces;    /* -i, pcapng mode and --from wire; none: every interface that is up */
	uint32_t n_interfaces;
	const char *ecaptureq_addr; /* --ecaptureq ws://HOST:PORT/; NULL: none (stream.h) */
	const char *event_addr;     /* --eventaddr: the records there instead of stdout; NULL: none */
	const char *log_addr;       /* -l/--logaddr: the message lines there too; NULL: none */
	uint64_t event_rotate_mb;   /* --eventroratesize: 0, no limit */
	uint64_t event_rotate_s;    /* --eventroratetime: 0, no limit */
	char *packet_filter;        /* pcapng mode, --from wire: the arguments left, joined; NULL: every packet */
};

#define PS_DEFAULT_PCAPNG_PATH "plainsight.pcapng"

enum ps_cli_result {
	PS_CLI_RUN,                 /* options parsed: capture */
	PS_CLI_EXIT_OK,             /* --help or --version was printed */
	PS_CLI_EXIT_USAGE,          /* a usage error was printed */
};

/* Parses argv into opts; prints help and usage errors itself. */
enum ps_cli_result ps_cli_parse(int argc, char **argv, struct ps_options *opts);
void ps_cli_free(struct ps_options *opts);

/* The value of a module flag, or its spec default, or NULL. */
const char *ps_cli_flag_value(const struct ps_options *opts, int flag_index);

#endif
