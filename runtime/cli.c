/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "core_btf.h"
#include "maps_ahead.h"
#include "log.h"
#include "packet_capture.h"
#include "stream_addr.h"

#ifndef PS_VERSION_STRING
#define PS_VERSION_STRING "0.1.0"
#endif

/* Long-only common options get ids above any character. */
enum {
	OPT_HEX = 256,
	OPT_MAPSIZE,
	OPT_STATUS,
	OPT_LOSSLESS,
	OPT_BTF_CACHE,
	OPT_SECRETS,
	OPT_FROM,
	OPT_RAW,
	OPT_ECAPTUREQ,
	OPT_EVENTADDR,
	OPT_ROTATE_SIZE,
	OPT_ROTATE_TIME,
	OPT_MODULE_FLAG, /* OPT_MODULE_FLAG + i: the module's flag i */
};

struct common_option {
	struct option opt;
	const char *arg_name;
	const char *help;
};

static const struct common_option common_options[] = {
	{ { "model", required_argument, NULL, 'm' }, "MODE",
	  "output: text (default), json, keylog (key), or pcapng (pcap): packets and TLS secrets in one "
	  "file Wireshark decrypts; a pcap filter may follow the options" },
	{ { "from", required_argument, NULL, OPT_FROM }, "SOURCE",
	  "where the plaintext comes from: calls (default: probes on the library's reads and writes) or wire: "
	  "the packets of -i, decrypted with the secrets the probes find (only those are attached); "
	  "a pcap filter may follow the options" },
	{ { "keylogfile", required_argument, NULL, 'k' }, "FILE",
	  "write TLS secrets to FILE (mode 0600) as SSLKEYLOGFILE lines; -m keylog writes only them" },
	{ { "secrets", no_argument, NULL, OPT_SECRETS }, NULL,
	  "text and json output: the TLS secrets too, one record per connection (left out by default)" },
	{ { "write", required_argument, NULL, 'w' }, "FILE",
	  "write records to FILE (mode 0600) instead of stdout; -m pcapng: the capture (default "
	  PS_DEFAULT_PCAPNG_PATH ")" },
	{ { "pcapfile", required_argument, NULL, 'w' }, "FILE", "the same as --write" },
	{ { "interface", required_argument, NULL, 'i' }, "IFACE",
	  "-m pcapng, --from wire: capture on IFACE, repeatable; 'any' (the default): every interface that is up" },
	{ { "ecaptureq", required_argument, NULL, OPT_ECAPTUREQ }, "ws://HOST:PORT/",
	  "serve eCaptureQ's live stream there (WebSocket, protobuf LogEntry messages: events, log lines, "
	  "heartbeats; -m pcapng: the plaintext decrypted from the packets); eCaptureQ's default is "
	  "ws://127.0.0.1:28257/" },
	{ { "eventaddr", required_argument, NULL, OPT_EVENTADDR }, "ADDR",
	  "send the records (in the -m output) to ADDR instead of stdout: a FILE, tcp://HOST:PORT (lines, "
	  "reconnecting) or ws://HOST:PORT/PATH (one message per line); -m pcapng: the pcapng stream, each "
	  "file and connection a whole capture (binary WebSocket messages)" },
	{ { "eventroratesize", required_argument, NULL, OPT_ROTATE_SIZE }, "MB",
	  "--eventaddr FILE: start a new file when it would pass MB MiB (the old one becomes FILE.1, FILE.2, ...)" },
	{ { "eventroratetime", required_argument, NULL, OPT_ROTATE_TIME }, "S",
	  "--eventaddr FILE: start a new file S seconds after the first line of the current one (even with no line since)" },
	{ { "logaddr", required_argument, NULL, 'l' }, "ADDR",
	  "send plainsight's own message lines to ADDR too (FILE, tcp:// or ws://, as --eventaddr)" },
	{ { "pid", required_argument, NULL, 'p' }, "PID", "trace only this process" },
	{ { "uid", required_argument, NULL, 'u' }, "UID", "trace only this user" },
	{ { "hex", no_argument, NULL, OPT_HEX }, NULL, "text output: hex dump of the data" },
	{ { "raw", no_argument, NULL, OPT_RAW }, NULL,
	  "text and json output: one record per traced call, as captured, instead of HTTP/1.x, HTTP/2 and "
	  "gRPC messages" },
	{ { "tsize", required_argument, NULL, 't' }, "BYTES",
	  "show at most BYTES of each HTTP message's decoded body, marking what is cut (0, the default: all)" },
	{ { "mapsize", required_argument, NULL, OPT_MAPSIZE }, "KIB",
	  "ring buffer size in KiB, a power of two (default: a 256th of the available memory, 8192 to 65536); "
	  "--from wire: the packet backlog's size too (default: a 16th of the available memory, 64 MiB to 1 GiB)" },
	{ { "quiet", no_argument, NULL, 'q' }, NULL, "no status line" },
	{ { "status", no_argument, NULL, OPT_STATUS }, NULL, "status line even when stderr is not a terminal" },
	{ { "lossless", no_argument, NULL, OPT_LOSSLESS }, NULL,
	  "never drop a record: a traced process that fills the ring past a quarter is stopped (SIGSTOP) until "
	  "plainsight has caught up (SIGCONT); its parent can see it stop. --from wire: the processes whose "
	  "plaintext is written, while the packet backlog is past a quarter" },
	{ { "btf-cache", required_argument, NULL, OPT_BTF_CACHE }, "DIR",
	  "keep the kernel types the probes need, and what start-up reads out of each library file, in "
	  "DIR, for a fast start; 'none': read them from the kernel and the library each time (default "
	  PS_CORE_BTF_DEFAULT_DIR ")" },
	{ { "debug", no_argument, NULL, 'd' }, NULL, "show each start-up phase, libbpf's warnings and the verifier log; twice (-dd) also libbpf's debug lines" },
	{ { "help", no_argument, NULL, 'h' }, NULL, "show this help" },
};

#define N_COMMON (sizeof(common_options) / sizeof(common_options[0]))

static const char *flag_arg_name(enum ps_flag_type type)
{
	switch (type) {
	case PS_FLAG_BOOL:
		return NULL;
	case PS_FLAG_INT:
		return "N";
	case PS_FLAG_STRING:
		return "STRING";
	case PS_FLAG_PATH:
		return "PATH";
	}
	return "VALUE";
}

static void print_option_line(char short_name, const char *long_name, const char *arg_name, const char *help,
			      const char *default_value)
{
	char left[64];
	int n;

	if (short_name)
		n = snprintf(left, sizeof(left), "  -%c, --%s%s%s", short_name, long_name, arg_name ? " " : "",
			     arg_name ? arg_name : "");
	else
		n = snprintf(left, sizeof(left), "      --%s%s%s", long_name, arg_name ? " " : "",
			     arg_name ? arg_name : "");
	if (n < 28)
		printf("%-28s%s", left, help);
	else
		printf("%s\n%-28s%s", left, "", help);
	if (default_value)
		printf(" (default: %s)", default_value);
	putchar('\n');
}

static void print_main_help(void)
{
	printf("Usage: plainsight MODULE [OPTIONS]\n"
	       "       plainsight MODULE --help\n\n"
	       "Shows what processes send and receive through TLS libraries and other\n"
	       "traced functions, with eBPF: no certificates, no proxy, no restart.\n\n"
	       "Modules:\n");
	for (uint32_t i = 0; i < ps_n_modules; i++) {
		char name[64];

		snprintf(name, sizeof(name), "%s%s%s%s", ps_modules[i]->name, ps_modules[i]->alias ? " (" : "",
			 ps_modules[i]->alias ? ps_modules[i]->alias : "", ps_modules[i]->alias ? ")" : "");
		printf("  %-12s %s\n", name, ps_modules[i]->help);
	}
	printf("\nOptions:\n"
	       "  -h, --help     show this help\n"
	       "  -V, --version  show the version\n");
}

static void print_module_help(const struct ps_module_desc *module)
{
	printf("Usage: plainsight %s [OPTIONS]\n\n%s\n", module->name, module->help);
	if (module->n_flags) {
		printf("\n%s options:\n", module->name);
		for (uint32_t i = 0; i < module->n_flags; i++) {
			const struct ps_flag_desc *flag = &module->flags[i];

			print_option_line(flag->short_name, flag->name, flag_arg_name(flag->type),
					  flag->help ? flag->help : "", flag->default_value);
		}
	}
	printf("\nCommon options:\n");
	for (size_t i = 0; i < N_COMMON; i++) {
		const struct common_option *c = &common_options[i];
		char short_name = c->opt.val < 256 ? (char)c->opt.val : 0;

		print_option_line(short_name, c->opt.name, c->arg_name, c->help, NULL);
	}
	printf("\nOnce every probe is attached, a line starting \"plainsight: attached\" goes to\n"
	       "stderr. Ctrl-C (SIGINT) or SIGTERM stops, flushes and prints a summary; a\n"
	       "second one of the same stops at once (a reader that no longer reads cannot hold it).\n");
	if (module->n_targets == 1 && module->targets[0].go)
		printf("Given neither a program nor -p PID, the module attaches to every Go program\n"
		       "with crypto/tls that runs or starts later (each executable once, containers\n"
		       "too), one \"plainsight: attached ... of pid N\" line each.\n");
	else
		printf("With no path given for its library, the module also attaches to every other\n"
		       "copy a process maps (LD_LIBRARY_PATH, containers, OpenSSL linked in), one\n"
		       "\"plainsight: attached ... of pid N\" line each.\n");
	printf("\nRoot is not needed; these capabilities are:\n"
	       "  CAP_BPF, CAP_PERFMON    load the probes, attach uprobes and tracepoints\n"
	       "                          (before Linux 6.6 some kernels also want\n"
	       "                          CAP_SYS_ADMIN for uprobes; the error says so)\n"
	       "  CAP_NET_ADMIN           -i: capture packets (-m pcapng)\n"
	       "  CAP_SYS_PTRACE          other users' processes: their maps and roots\n"
	       "                          (discovery, -p, what is out of reach)\n"
	       "  CAP_DAC_READ_SEARCH     read the files other users' processes map\n"
	       "Once attached, those no longer needed are dropped (README, \"Without root\").\n");
}

static const struct ps_module_desc *find_module(const char *name)
{
	for (uint32_t i = 0; i < ps_n_modules; i++)
		if (strcmp(ps_modules[i]->name, name) == 0 ||
		    (ps_modules[i]->alias && strcmp(ps_modules[i]->alias, name) == 0))
			return ps_modules[i];
	return NULL;
}

static int parse_u32(const char *text, uint32_t *out)
{
	char *end;
	unsigned long value;

	errno = 0;
	value = strtoul(text, &end, 10);
	if (errno || end == text || *end || value > UINT32_MAX || text[0] == '-')
		return -EINVAL;
	*out = (uint32_t)value;
	return 0;
}

static int parse_u64(const char *text, uint64_t *out)
{
	char *end;
	unsigned long long value;

	errno = 0;
	value = strtoull(text, &end, 10);
	if (errno || end == text || *end || text[0] == '-')
		return -EINVAL;
	*out = value;
	return 0;
}

static int is_power_of_two(uint32_t n)
{
	return n && !(n & (n - 1));
}

/* Builds getopt's tables: common options first, then the module's flags. */
static int build_option_tables(const struct ps_module_desc *module, struct option **longopts, char **shortopts)
{
	size_t n = N_COMMON + module->n_flags;
	struct option *opts = calloc(n + 1, sizeof(*opts));
	char *shorts = calloc(2 * n + 2, 1);
	size_t s = 0;

	if (!opts || !shorts) {
		free(opts);
		free(shorts);
		return -ENOMEM;
	}
	shorts[s++] = ':'; /* report a missing argument as ':' */
	for (size_t i = 0; i < N_COMMON; i++) {
		opts[i] = common_options[i].opt;
		if (opts[i].val < 256) {
			shorts[s++] = (char)opts[i].val;
			if (opts[i].has_arg == required_argument)
				shorts[s++] = ':';
		}
	}
	for (uint32_t i = 0; i < module->n_flags; i++) {
		const struct ps_flag_desc *flag = &module->flags[i];
		struct option *o = &opts[N_COMMON + i];

		o->name = flag->name;
		o->has_arg = flag->type == PS_FLAG_BOOL ? no_argument : required_argument;
		o->val = OPT_MODULE_FLAG + (int)i;
		if (flag->short_name) {
			shorts[s++] = flag->short_name;
			if (o->has_arg == required_argument)
				shorts[s++] = ':';
		}
	}
	*longopts = opts;
	*shortopts = shorts;
	return 0;
}

/* A spec's short flag name maps to its option id. */
static int module_flag_by_short(const struct ps_module_desc *module, int c)
{
	for (uint32_t i = 0; i < module->n_flags; i++)
		if (module->flags[i].short_name == c)
			return (int)i;
	return -1;
}

static int usage_error(const struct ps_module_desc *module, const char *fmt, const char *what)
{
	fprintf(stderr, "plainsight: ");
	fprintf(stderr, fmt, what);
	fprintf(stderr, " (see 'plainsight %s --help')\n", module->name);
	return PS_CLI_EXIT_USAGE;
}

static int add_interface(struct ps_options *opts, const char *name)
{
	const char **grown;

	if (strcmp(name, "any") != 0 && if_nametoindex(name) == 0)
		return usage_error(opts->module, "-i: no network interface '%s'", name);
	grown = realloc(opts->interfaces, (opts->n_interfaces + 1) * sizeof(*grown));
	if (!grown) {
		ps_error("out of memory");
		return PS_CLI_EXIT_USAGE;
	}
	opts->interfaces = grown;
	opts->interfaces[opts->n_interfaces++] = name;
	return PS_CLI_RUN;
}

/* pcapng mode: the arguments left are one pcap filter, as tcpdump takes it. */
static int take_packet_filter(struct ps_options *opts, int argc, char **argv)
{
	size_t len = 1;
	char err[512];

	for (int i = optind; i < argc; i++)
		len += strlen(argv[i]) + 1;
	opts->packet_filter = calloc(len, 1);
	if (!opts->packet_filter) {
		ps_error("out of memory");
		return PS_CLI_EXIT_USAGE;
	}
	for (int i = optind; i < argc; i++) {
		if (i > optind)
			strcat(opts->packet_filter, " ");
		strcat(opts->packet_filter, argv[i]);
	}
	if (ps_packet_filter_check(opts->packet_filter, err, sizeof(err)) != 0) {
		fprintf(stderr, "plainsight: bad packet filter '%s': %s\n", opts->packet_filter, err);
		return PS_CLI_EXIT_USAGE;
	}
	return PS_CLI_RUN;
}

/* --from wire: text or json records, from packets. */
static int check_wire_options(struct ps_options *opts, int argc, char **argv)
{
	if (opts->output.mode == PS_OUTPUT_PCAPNG || opts->output.mode == PS_OUTPUT_KEYLOG)
		return usage_error(opts->module, "--from wire gives records: use -m text or json, not %s",
				   opts->output.mode == PS_OUTPUT_PCAPNG ? "pcapng" : "keylog");
	if (optind < argc)
		return take_packet_filter(opts, argc, argv);
	return PS_CLI_RUN;
}

/* Options that only -m pcapng (and --from wire) use, and its default file. */
static int check_pcapng_options(struct ps_options *opts, int argc, char **argv)
{
	if (opts->from_wire)
		return check_wire_options(opts, argc, argv);
	if (opts->output.mode != PS_OUTPUT_PCAPNG) {
		if (opts->n_interfaces)
			return usage_error(opts->module, "%s captures packets only with -m pcapng or --from wire", "-i");
		return PS_CLI_RUN;
	}
	if (!opts->output_path && !opts->event_addr)
		opts->output_path = PS_DEFAULT_PCAPNG_PATH;
	if (optind < argc)
		return take_packet_filter(opts, argc, argv);
	return PS_CLI_RUN;
}

/* An ADDR of --eventaddr, --logaddr or --ecaptureq (stream_addr.h): one line naming what is wrong. */
static int parse_stream_addr(struct ps_options *opts, const char *option, const char *arg, const char **out)
{
	struct ps_stream_addr addr;
	const char *why = "";

	if (ps_stream_addr_parse(arg, &addr, &why) != 0) {
		fprintf(stderr, "plainsight: %s '%s': %s (see 'plainsight %s --help')\n", option, arg, why,
			opts->module->name);
		return PS_CLI_EXIT_USAGE;
	}
	if (strcmp(option, "--ecaptureq") == 0 && addr.kind != PS_ADDR_WS) {
		fprintf(stderr, "plainsight: --ecaptureq '%s': the address is ws://HOST:PORT/ (see 'plainsight %s --help')\n",
			arg, opts->module->name);
		return PS_CLI_EXIT_USAGE;
	}
	*out = arg;
	return PS_CLI_RUN;
}

/* --eventaddr takes the place of stdout and -w (of pcapng mode's default file too). */
static int check_stream_options(struct ps_options *opts)
{
	const char *name = opts->module->name;
	struct ps_stream_addr addr;
	const char *why;

	if ((opts->event_rotate_mb || opts->event_rotate_s) &&
	    (!opts->event_addr || ps_stream_addr_parse(opts->event_addr, &addr, &why) || addr.kind != PS_ADDR_FILE)) {
		fprintf(stderr, "plainsight: --eventroratesize and --eventroratetime rotate an --eventaddr FILE "
			"(see 'plainsight %s --help')\n", name);
		return PS_CLI_EXIT_USAGE;
	}
	if (!opts->event_addr)
		return PS_CLI_RUN;
	if (opts->output_path) {
		fprintf(stderr, "plainsight: --eventaddr and -w both say where the records go: give one "
			"(see 'plainsight %s --help')\n", name);
		return PS_CLI_EXIT_USAGE;
	}
	return PS_CLI_RUN;
}

static int apply_common(struct ps_options *opts, int c, const char *arg)
{
	const struct ps_module_desc *module = opts->module;

	switch (c) {
	case 'm':
		if (strcmp(arg, "text") == 0)
			opts->output.mode = PS_OUTPUT_TEXT;
		else if (strcmp(arg, "json") == 0)
			opts->output.mode = PS_OUTPUT_JSON;
		else if (strcmp(arg, "keylog") == 0 || strcmp(arg, "key") == 0)
			opts->output.mode = PS_OUTPUT_KEYLOG;
		else if (strcmp(arg, "pcapng") == 0 || strcmp(arg, "pcap") == 0)
			opts->output.mode = PS_OUTPUT_PCAPNG;
		else
			return usage_error(module, "unknown output mode '%s': use text, json, keylog or pcapng", arg);
		return PS_CLI_RUN;
	case 'w':
		opts->output_path = arg;
		return PS_CLI_RUN;
	case 'k':
		opts->keylog_path = arg;
		return PS_CLI_RUN;
	case 'i':
		return add_interface(opts, arg);
	case OPT_ECAPTUREQ:
		return parse_stream_addr(opts, "--ecaptureq", arg, &opts->ecaptureq_addr);
	case OPT_EVENTADDR:
		return parse_stream_addr(opts, "--eventaddr", arg, &opts->event_addr);
	case 'l':
		return parse_stream_addr(opts, "--logaddr", arg, &opts->log_addr);
	case OPT_ROTATE_SIZE:
		if (parse_u64(arg, &opts->event_rotate_mb) || opts->event_rotate_mb == 0 ||
		    opts->event_rotate_mb > (1ull << 40))
			return usage_error(module, "--eventroratesize wants a size in MiB, 1 or more, not '%s'", arg);
		return PS_CLI_RUN;
	case OPT_ROTATE_TIME:
		if (parse_u64(arg, &opts->event_rotate_s) || opts->event_rotate_s == 0 ||
		    opts->event_rotate_s > (1ull << 32))
			return usage_error(module, "--eventroratetime wants a number of seconds, 1 or more, not '%s'", arg);
		return PS_CLI_RUN;
	case 'p':
		if (parse_u32(arg, &opts->pid) || opts->pid == 0)
			return usage_error(module, "--pid wants a process id, not '%s'", arg);
		return PS_CLI_RUN;
	case 'u':
		if (parse_u32(arg, &opts->uid))
			return usage_error(module, "--uid wants a user id, not '%s'", arg);
		opts->has_uid = true;
		return PS_CLI_RUN;
	case OPT_HEX:
		opts->output.hex = true;
		return PS_CLI_RUN;
	case OPT_SECRETS:
		opts->output.secrets = true;
		return PS_CLI_RUN;
	case OPT_FROM:
		if (strcmp(arg, "calls") != 0 && strcmp(arg, "wire") != 0)
			return usage_error(module, "--from wants calls or wire, not '%s'", arg);
		opts->from_wire = strcmp(arg, "wire") == 0;
		return PS_CLI_RUN;
	case OPT_RAW:
		opts->output.raw = true;
		return PS_CLI_RUN;
	case 't':
		if (parse_u64(arg, &opts->output.tsize))
			return usage_error(module, "--tsize wants a number of bytes, not '%s'", arg);
		return PS_CLI_RUN;
	case OPT_MAPSIZE:
		if (parse_u32(arg, &opts->mapsize_kib) || !is_power_of_two(opts->mapsize_kib) ||
		    opts->mapsize_kib < 4 || opts->mapsize_kib > (1u << 21))
			return usage_error(module, "--mapsize wants a power of two from 4 to 2097152 (KiB), not '%s'",
					   arg);
		opts->mapsize_given = true;
		return PS_CLI_RUN;
	case 'q':
		opts->quiet = true;
		return PS_CLI_RUN;
	case OPT_LOSSLESS:
		opts->lossless = true;
		return PS_CLI_RUN;
	case OPT_STATUS:
		opts->status = true;
		return PS_CLI_RUN;
	case 'd':
		opts->debug++;
		return PS_CLI_RUN;
	case OPT_BTF_CACHE:
		if (!*arg || (*arg != '/' && strcmp(arg, "none") != 0))
			return usage_error(module, "--btf-cache wants an absolute directory or 'none', not '%s'", arg);
		opts->btf_cache_dir = strcmp(arg, "none") == 0 ? NULL : arg;
		return PS_CLI_RUN;
	}
	return PS_CLI_EXIT_USAGE;
}

static int apply_module_flag(struct ps_options *opts, int index, const char *arg)
{
	const struct ps_flag_desc *flag = &opts->module->flags[index];
	char *end;

	if (flag->type == PS_FLAG_BOOL) {
		opts->flag_values[index] = "true";
		return PS_CLI_RUN;
	}
	if (flag->type == PS_FLAG_INT) {
		errno = 0;
		(void)strtoll(arg, &end, 0);
		if (errno || end == arg || *end) {
			fprintf(stderr, "plainsight: --%s wants a number, not '%s'\n", flag->name, arg);
			return PS_CLI_EXIT_USAGE;
		}
	}
	opts->flag_values[index] = arg;
	return PS_CLI_RUN;
}

static enum ps_cli_result parse_module_options(int argc, char **argv, struct ps_options *opts)
{
	struct option *longopts;
	char *shortopts;
	int c, result = PS_CLI_RUN;

	if (build_option_tables(opts->module, &longopts, &shortopts)) {
		ps_error("out of memory");
		return PS_CLI_EXIT_USAGE;
	}
	opterr = 0;
	optind = 1;
	while (result == PS_CLI_RUN && (c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		int flag_index;

		if (c == 'h') {
			print_module_help(opts->module);
			result = PS_CLI_EXIT_OK;
		} else if (c == '?') {
			if (optopt && optopt < 256)
				fprintf(stderr, "plainsight: unknown option '-%c' (see 'plainsight %s --help')\n",
					optopt, opts->module->name);
			else
				fprintf(stderr, "plainsight: unknown option '%s' (see 'plainsight %s --help')\n",
					argv[optind - 1], opts->module->name);
			result = PS_CLI_EXIT_USAGE;
		} else if (c == ':') {
			fprintf(stderr, "plainsight: option '%s' needs a value (see 'plainsight %s --help')\n",
				argv[optind - 1], opts->module->name);
			result = PS_CLI_EXIT_USAGE;
		} else if (c >= OPT_MODULE_FLAG) {
			result = apply_module_flag(opts, c - OPT_MODULE_FLAG, optarg);
		} else if ((flag_index = module_flag_by_short(opts->module, c)) >= 0) {
			result = apply_module_flag(opts, flag_index, optarg);
		} else {
			result = apply_common(opts, c, optarg);
		}
	}
	/* keylog mode: the key log is the output (-k, else -w, else stdout) */
	if (result == PS_CLI_RUN && opts->output.mode == PS_OUTPUT_KEYLOG && opts->keylog_path) {
		if (opts->output_path && strcmp(opts->output_path, opts->keylog_path) != 0) {
			fprintf(stderr, "plainsight: -m keylog writes one file: give -k FILE or -w FILE, not both "
				"(see 'plainsight %s --help')\n", opts->module->name);
			result = PS_CLI_EXIT_USAGE;
		}
		opts->output_path = opts->keylog_path;
		opts->keylog_path = NULL;
	}
	if (result == PS_CLI_RUN)
		result = check_stream_options(opts);
	if (result == PS_CLI_RUN)
		result = check_pcapng_options(opts, argc, argv);
	if (result == PS_CLI_RUN && optind < argc && opts->output.mode != PS_OUTPUT_PCAPNG && !opts->from_wire) {
		fprintf(stderr, "plainsight: unexpected argument '%s' (see 'plainsight %s --help')\n", argv[optind],
			opts->module->name);
		result = PS_CLI_EXIT_USAGE;
	}
	free(longopts);
	free(shortopts);
	return result;
}

enum ps_cli_result ps_cli_parse(int argc, char **argv, struct ps_options *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->mapsize_kib = ps_ring_default_kib();
	opts->output.mode = PS_OUTPUT_TEXT;
	opts->btf_cache_dir = PS_CORE_BTF_DEFAULT_DIR;

	if (argc < 2) {
		print_main_help();
		return PS_CLI_EXIT_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
		print_main_help();
		return PS_CLI_EXIT_OK;
	}
	if (strcmp(argv[1], "-V") == 0 || strcmp(argv[1], "--version") == 0) {
		printf("plainsight %s\n", PS_VERSION_STRING);
		return PS_CLI_EXIT_OK;
	}
	opts->module = find_module(argv[1]);
	if (!opts->module) {
		fprintf(stderr, "plainsight: unknown module '%s' (see 'plainsight --help')\n", argv[1]);
		return PS_CLI_EXIT_USAGE;
	}
	opts->flag_values = calloc(opts->module->n_flags + 1, sizeof(*opts->flag_values));
	if (!opts->flag_values) {
		ps_error("out of memory");
		return PS_CLI_EXIT_USAGE;
	}
	/* getopt sees the module name as argv[0] */
	return parse_module_options(argc - 1, argv + 1, opts);
}

void ps_cli_free(struct ps_options *opts)
{
	free(opts->flag_values);
	opts->flag_values = NULL;
	free(opts->interfaces);
	opts->interfaces = NULL;
	free(opts->packet_filter);
	opts->packet_filter = NULL;
}

const char *ps_cli_flag_value(const struct ps_options *opts, int flag_index)
{
	if (flag_index < 0 || (uint32_t)flag_index >= opts->module->n_flags)
		return NULL;
	if (opts->flag_values[flag_index])
		return opts->flag_values[flag_index];
	return opts->module->flags[flag_index].default_value;
}
