/* SPDX-License-Identifier: MIT */
/*
 * runtime/target.c's trust decision, table-driven: a small library built here
 * (its accessors read fields at known offsets, one does not decode), a module
 * described by hand around it, and ps_plan_make run for each case: layout
 * found or not, accessors agreeing, contradicting or undecodable, a version
 * given on the command line. Then runtime/target/trust.c's verdict per record.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "cli.h"
#include "keylog.h"
#include "log.h"
#include "std_capture.h"
#include "target.h"
#include "trust.h"

/* The library: struct conn { int version; ...; void *session at 16; ...; int secret_len at 64; }. */
static const char fixture_source[] =
	"struct conn { int version; char pad[12]; void *session; char pad2[40]; int secret_len; };\n"
	"const char plan_fixture_banner[] = \"PLANFIX 2.1.0 (a test library)\";\n"
	"int PF_version(struct conn *c) { return c->version; }\n"
	"void *PF_session(struct conn *c) { return c->session; }\n"
	"int PF_secret_len(struct conn *c) { return c->secret_len; }\n"
	"extern int pf_elsewhere(struct conn *c);\n"
	"int PF_opaque(struct conn *c) { return pf_elsewhere(c); }\n";

enum { OFF_VERSION, OFF_SESSION, OFF_SECRET_LEN, OFF_OPAQUE, OFF_HIDDEN, N_OFFSETS };

static const struct ps_offset_desc offsets[N_OFFSETS] = {
	[OFF_VERSION] = { "conn", "version", "PF_version", 1 },
	[OFF_SESSION] = { "conn", "session", "PF_session", 1, .pointer = true },
	[OFF_SECRET_LEN] = { "conn", "secret_len", "PF_secret_len", 1 },
	[OFF_OPAQUE] = { "conn", "opaque", "PF_opaque", 1 },   /* its code is a tail call: cannot tell */
	[OFF_HIDDEN] = { "conn", "hidden", NULL, 0 },          /* no accessor at all */
};

static const struct ps_flag_desc flags[] = {
	{ .name = "lib", .type = PS_FLAG_PATH },
	{ .name = "fix_version", .type = PS_FLAG_STRING },
};

static const struct ps_target_desc target_desc = {
	.name = "fixture",
	.override_flag = 0,
	.version = { ".rodata", "PLANFIX ([0-9]+\\.[0-9]+\\.[0-9]+)", NULL, NULL, 1 },
};

/* The secrets event (it has a 32-byte client_random): client_random reads hidden, secret_len is confirmed. */
static const uint32_t reads_hidden[] = { OFF_HIDDEN }, reads_secret_len[] = { OFF_SECRET_LEN };
static const uint32_t reads_version[] = { OFF_VERSION }, reads_session[] = { OFF_SESSION };
static const uint32_t reads_opaque[] = { OFF_OPAQUE };
static const struct ps_field_desc secrets_fields[] = {
	{ .name = "client_random", .kind = PS_FIELD_FIXED_BYTES, .size = 32, .present_bit = 0,
	  .check_field = -1, .reads = reads_hidden, .n_reads = 1 },
	{ .name = "secret_len", .kind = PS_FIELD_UINT, .size = 4, .present_bit = 1, .check_field = -1,
	  .reads = reads_secret_len, .n_reads = 1 },
};
/* A data event: version and session are confirmed; opaque, always present, is not. */
static const struct ps_field_desc data_fields[] = {
	{ .name = "version", .kind = PS_FIELD_UINT, .size = 4, .present_bit = 2, .check_field = -1,
	  .reads = reads_version, .n_reads = 1 },
	{ .name = "session", .kind = PS_FIELD_UINT, .size = 8, .present_bit = 3, .check_field = -1,
	  .reads = reads_session, .n_reads = 1 },
	{ .name = "opaque", .kind = PS_FIELD_UINT, .size = 4, .present_bit = -1, .check_field = -1,
	  .reads = reads_opaque, .n_reads = 1 },
};
enum { EV_SECRETS, EV_DATA, N_EVENTS };
static const struct ps_event_desc events[N_EVENTS] = {
	[EV_SECRETS] = { "fixture_secrets", 64, secrets_fields, 2, -1 },
	[EV_DATA] = { "fixture_data", 64, data_fields, 3, -1 },
};

/* The true offsets; -2 stands for "wrong" in a case's layout. */
#define RIGHT { 0, 16, 64, 8, 100 }

struct plan_case {
	const char *name;
	const char *min, *max;            /* the one layout's range */
	int32_t layout[N_OFFSETS];
	const char *forced;               /* --fix_version; NULL: detected ("2.1.0") */
	int want_err;
	enum ps_trust_basis want_basis;
	enum ps_secrets_refusal want_secrets;
	const char *want_contradicted_by; /* the accessor; NULL: none */
	uint32_t want_confirmed, want_corrected;
	int32_t want_session;             /* plan->offsets[OFF_SESSION]; -1: no offsets */
	uint32_t want_drop_secrets;       /* present bits left out of the secrets event */
	bool want_refuse_data;            /* the data event's records are not written */
	const char *want_error;           /* all ps_plan_make writes to stderr: "" (warnings wait), or one line */
};

static const struct plan_case cases[] = {
	{ "exact, accessors agree", "2.0.0", "2.9.9", RIGHT, NULL, 0, PS_TRUST_EXACT, PS_SECRETS_WRITTEN, NULL,
	  3, 0, 16, 0, false, NULL },
	{ "exact, an accessor that does not decode says nothing", "2.0.0", "2.9.9", { 0, 16, 64, 999, 100 }, NULL,
	  0, PS_TRUST_EXACT, PS_SECRETS_WRITTEN, NULL, 3, 0, 16, 0, false, NULL },
	{ "exact, a field the layout lacks is not checked", "2.0.0", "2.9.9", { 0, -1, 64, 8, 100 }, NULL, 0,
	  PS_TRUST_EXACT, PS_SECRETS_WRITTEN, NULL, 2, 0, -1, 0, false, NULL },
	{ "contradicted: session is elsewhere", "2.0.0", "2.9.9", { 0, 24, 64, 8, 100 }, NULL, 0,
	  PS_TRUST_CONTRADICTED, PS_SECRETS_FIELDS_REFUSED, "PF_session", 2, 1, 16, 1u << 0, true, NULL },
	{ "contradicted, the unconfirmed offsets absent: nothing left out", "2.0.0", "2.9.9", { 4, 16, 64, -1, -1 },
	  NULL, 0, PS_TRUST_CONTRADICTED, PS_SECRETS_WRITTEN, "PF_version", 2, 1, 16, 0, false, NULL },
	{ "nearest lower layout", "1.0.0", "1.9.9", RIGHT, NULL, 0, PS_TRUST_NEAREST_LOWER, PS_SECRETS_WRITTEN, NULL,
	  3, 0, 16, 0, false, NULL },
	{ "no layout: the version is older than every one", "3.0.0", "3.9.9", RIGHT, NULL, 0, PS_TRUST_NO_LAYOUT,
	  PS_SECRETS_WRITTEN, NULL, 0, 0, -1, 0, false, NULL },
	{ "forced version", "2.0.0", "2.9.9", RIGHT, "planfix 2.5.0", 0, PS_TRUST_FORCED, PS_SECRETS_WRITTEN, NULL,
	  3, 0, 16, 0, false, NULL },
	{ "forced version, nearest lower layout", "1.0.0", "1.9.9", RIGHT, "PLANFIX 2.5.0", 0, PS_TRUST_FORCED,
	  PS_SECRETS_WRITTEN, NULL, 3, 0, 16, 0, false, NULL },
	{ "forced version, contradicted: the machine code wins", "2.0.0", "2.9.9", { 0, 16, 72, 8, 100 },
	  "PLANFIX 2.5.0", 0, PS_TRUST_CONTRADICTED, PS_SECRETS_FIELDS_REFUSED, "PF_secret_len", 2, 1, 16, 1u << 0,
	  true, NULL },
	{ "forced version older than every layout", "2.0.0", "2.9.9", RIGHT, "PLANFIX 1.0.0", 0, PS_TRUST_NO_LAYOUT,
	  PS_SECRETS_WRITTEN, NULL, 0, 0, -1, 0, false, NULL },
	{ "forced version that is none", "2.0.0", "2.9.9", RIGHT, "two point one", -EINVAL, PS_TRUST_NO_LAYOUT,
	  PS_SECRETS_WRITTEN, NULL, 0, 0, -1, 0, false,
	  "plainsight: fixture: --fix_version 'two point one' names no version this module knows how to read "
	  "(the spec's pattern is 'PLANFIX ([0-9]+\\.[0-9]+\\.[0-9]+)')\n" },
};

static char fixture_path[PATH_MAX];

static bool build_fixture(const char *dir)
{
	char source[PATH_MAX], command[3 * PATH_MAX];
	FILE *file;

	snprintf(source, sizeof(source), "%s/fixture.c", dir);
	snprintf(fixture_path, sizeof(fixture_path), "%s/libplan_fixture.so", dir);
	file = fopen(source, "w");
	if (!file)
		return false;
	fputs(fixture_source, file);
	fclose(file);
	snprintf(command, sizeof(command), "cc -O2 -fPIC -shared -o '%s' '%s' >/dev/null 2>&1", fixture_path, source);
	return system(command) == 0;
}

static void check_case(const struct plan_case *c)
{
	const struct ps_layout_desc layout = {
		.name = "fixture", .min_version = c->min, .max_version = c->max,
		.source = "tests/unit/plan_test.c", .offsets = c->layout,
	};
	const struct ps_module_desc module = {
		.name = "fixture", .flags = flags, .n_flags = 2, .targets = &target_desc, .n_targets = 1,
		.offsets = offsets, .n_offsets = N_OFFSETS, .layouts = &layout, .n_layouts = 1,
		.events = events, .n_events = N_EVENTS,
	};
	const char *values[2] = { fixture_path, c->forced };
	const struct ps_options opts = { .module = &module, .flag_values = values };
	struct ps_plan plan;
	const struct ps_trust *t = &plan.trust;
	int before = check_failures_in_test;
	struct std_capture capture;
	char *out = NULL, *err = NULL;
	int made;

	if (!std_capture_begin(&capture)) {
		CHECK(!"cannot capture stdout and stderr");
		return;
	}
	made = ps_plan_make(&opts, &plan);
	std_capture_end(&capture, &out, &err);
	CHECK_INT(made, c->want_err);
	CHECK_STR(err, c->want_error ? c->want_error : "");
	free(out);
	free(err);
	if (c->want_err == 0) {
		CHECK_STR(ps_trust_basis_name(t->basis), ps_trust_basis_name(c->want_basis));
		CHECK_INT(t->secrets, c->want_secrets);
		CHECK_INT(ps_trust_keys_refused(t), c->want_secrets != PS_SECRETS_WRITTEN);
		if (c->want_contradicted_by)
			CHECK_STR(t->contradicted_by ? t->contradicted_by->accessor : NULL, c->want_contradicted_by);
		else
			CHECK(t->contradicted_by == NULL);
		CHECK_INT(t->accessors_confirmed, c->want_confirmed);
		CHECK_INT(t->accessors_corrected, c->want_corrected);
		CHECK_INT(plan.offsets ? plan.offsets[OFF_SESSION] : -1, c->want_session);
		CHECK_INT(t->events ? t->events[EV_SECRETS].drop_present : 0, c->want_drop_secrets);
		CHECK_INT(t->events ? t->events[EV_SECRETS].drop_record : false, false);
		CHECK_INT(t->events ? t->events[EV_DATA].drop_record : false, c->want_refuse_data);
		CHECK_INT(t->events ? t->events[EV_DATA].drop_present : 0, 0);
		CHECK_STR(plan.targets[0].version, c->forced ? c->forced + strlen("PLANFIX ") : "2.1.0");
		CHECK_INT(plan.targets[0].version_forced, c->forced != NULL);
	}
	if (check_failures_in_test != before)
		fprintf(stderr, "  (case \"%s\")\n", c->name);
	ps_plan_free(&plan);
}

static void test_trust_decisions(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_case(&cases[i]);
}

/* Without a version string, the plan runs without offsets and says so once attached. */
static void test_no_version_string(void)
{
	struct ps_target_desc silent = target_desc;
	const struct ps_layout_desc layout = {
		.name = "fixture", .min_version = "2.0.0", .max_version = "2.9.9",
		.source = "plan_test.c", .offsets = (int32_t[])RIGHT,
	};
	const struct ps_module_desc module = {
		.name = "fixture", .flags = flags, .n_flags = 2, .targets = &silent, .n_targets = 1,
		.offsets = offsets, .n_offsets = N_OFFSETS, .layouts = &layout, .n_layouts = 1,
		.events = events, .n_events = N_EVENTS,
	};
	const char *values[2] = { fixture_path, NULL };
	const struct ps_options opts = { .module = &module, .flag_values = values };
	struct ps_plan plan;

	silent.version.regex = "NOTHERE ([0-9.]+)";
	CHECK_INT(ps_plan_make(&opts, &plan), 0);
	CHECK_INT(plan.trust.basis, PS_TRUST_NO_LAYOUT);
	CHECK(plan.layout == NULL && plan.offsets == NULL);
	CHECK_INT(plan.n_warnings, 1);
	if (plan.n_warnings)
		CHECK(strstr(plan.warnings[0], "no version string in") != NULL);
	ps_plan_free(&plan);
}

/*
 * A Go program's module given neither its program nor -p: a plan of no
 * file, configured for the newest layout (whatever the order of the
 * tables), which discovery's copies compare themselves with.
 */
static void test_go_watch_plan(void)
{
	const struct ps_target_desc go_target = {
		.name = "program", .override_flag = 0, .go = true,
		.version = { ".go.buildinfo", "^go([0-9]+\\.[0-9]+)", NULL, NULL, 1 },
	};
	const struct ps_layout_desc layouts[] = {
		{ .name = "go1.21", .min_version = "1.21", .offsets = (int32_t[]){ 1, 2, 3, 4, 5 } },
		{ .name = "go1.24", .min_version = "1.24", .offsets = (int32_t[]){ 6, 7, 8, 9, 10 } },
		{ .name = "go1.15", .min_version = "1.15", .offsets = (int32_t[]){ 11, 12, 13, 14, 15 },
		  .go_stack_abi = true },
	};
	const struct ps_module_desc module = {
		.name = "gofix", .flags = flags, .n_flags = 2, .targets = &go_target, .n_targets = 1,
		.offsets = offsets, .n_offsets = N_OFFSETS, .layouts = layouts, .n_layouts = 3,
		.events = events, .n_events = N_EVENTS,
	};
	const char *values[2] = { NULL, NULL };
	struct ps_options opts = { .module = &module, .flag_values = values };
	struct std_capture capture;
	char *out = NULL, *err = NULL;
	struct ps_plan plan;
	int made;

	if (!std_capture_begin(&capture)) {
		CHECK(!"cannot capture stdout and stderr");
		return;
	}
	made = ps_plan_make(&opts, &plan);
	std_capture_end(&capture, &out, &err);
	CHECK_INT(made, 0);
	CHECK_STR(err, "");
	CHECK(plan.watch_only);
	CHECK_STR(plan.targets[0].path, "");
	CHECK(plan.layout == &layouts[1]);
	CHECK_INT(plan.trust.basis, PS_TRUST_EXACT);
	CHECK_INT(plan.offsets ? plan.offsets[OFF_OPAQUE] : -1, 9);
	ps_plan_free(&plan);
	free(out);
	free(err);

	/* a program given: that file, and it must be Go */
	values[0] = fixture_path;
	if (!std_capture_begin(&capture)) {
		CHECK(!"cannot capture stdout and stderr");
		return;
	}
	made = ps_plan_make(&opts, &plan);
	std_capture_end(&capture, &out, &err);
	CHECK_INT(made, -ENOENT);
	CHECK(!plan.watch_only);
	CHECK(err && strstr(err, "is not a Go program") != NULL);
	ps_plan_free(&plan);
	free(out);
	free(err);
}

/* The capture's verdict per record, from the state alone. */
static void test_record_verdicts(void)
{
	struct ps_event_trust per_event[N_EVENTS] = {
		[EV_SECRETS] = { .drop_present = 1u << 0 },
		[EV_DATA] = { .drop_record = true },
	};
	struct ps_trust trust = { .basis = PS_TRUST_EXACT };
	uint32_t drop = 99;

	/* nothing decided against: every record as it is */
	CHECK_INT(ps_trust_record(&trust, &events[EV_SECRETS], EV_SECRETS, 3, &drop), PS_RECORD_WRITE);
	CHECK_INT(drop, 0);
	/* out of memory while deciding: every secrets record refused, the others written */
	trust.secrets = PS_SECRETS_ALL_REFUSED;
	CHECK_INT(ps_trust_record(&trust, &events[EV_SECRETS], EV_SECRETS, 3, &drop), PS_RECORD_REFUSE);
	CHECK_INT(ps_trust_record(&trust, &events[EV_DATA], EV_DATA, 3, &drop), PS_RECORD_WRITE);
	CHECK(ps_trust_keys_refused(&trust));
	/* fields left out: trimmed when present, written when not, refused when always present */
	trust.basis = PS_TRUST_CONTRADICTED;
	trust.secrets = PS_SECRETS_FIELDS_REFUSED;
	trust.events = per_event;
	CHECK_INT(ps_trust_record(&trust, &events[EV_SECRETS], EV_SECRETS, 3, &drop), PS_RECORD_TRIM);
	CHECK_INT(drop, 1u << 0);
	CHECK_INT(ps_trust_record(&trust, &events[EV_SECRETS], EV_SECRETS, 2, &drop), PS_RECORD_WRITE);
	CHECK_INT(drop, 0);
	CHECK_INT(ps_trust_record(&trust, &events[EV_DATA], EV_DATA, 0, &drop), PS_RECORD_REFUSE);
	CHECK(ps_keylog_is_secrets_event(&events[EV_SECRETS]));
	CHECK(!ps_keylog_is_secrets_event(&events[EV_DATA]));
}

int main(void)
{
	char dir[] = "/tmp/plainsight-plan-test.XXXXXX", command[PATH_MAX + 16];
	int status;

	ps_log_set_debug(false);
	TEST(test_record_verdicts);
	if (!mkdtemp(dir)) {
		printf("FAIL plan_test: mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	if (build_fixture(dir)) {
		TEST(test_trust_decisions);
		TEST(test_no_version_string);
		TEST(test_go_watch_plan);
	} else {
		printf("FAIL test_trust_decisions: cc cannot build the fixture library in %s\n", dir);
		check_failed_tests++;
	}
	snprintf(command, sizeof(command), "rm -rf '%s'", dir);
	status = system(command);
	(void)status;
	return TEST_EXIT();
}
