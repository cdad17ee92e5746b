/* SPDX-License-Identifier: MIT */
/* runtime/events/collect.c: buffered records joined by the record that collects them, and written unfinished at exit. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "collect.h"
#include "fields.h"

/* Shaped like the bash spec's events: lines wait per process until a command record takes them. */
struct test_input {
	struct ps_event_header hdr;
	__u8 line[] __attribute__((aligned(8)));
};

struct test_command {
	struct ps_event_header hdr;
	__s32 status;
	__u32 pad;
	__u8 line[] __attribute__((aligned(8)));
};

enum { EV_INPUT, EV_COMMAND, N_EVENTS };

static const struct ps_field_desc input_fields[] = {
	{ .name = "line", .kind = PS_FIELD_STRING, .offset = PS_TEST_HDR, .present_bit = -1, .check_field = -1 },
};

static const struct ps_field_desc command_fields[] = {
	{ .name = "status", .kind = PS_FIELD_INT, .offset = PS_TEST_HDR, .size = 4, .present_bit = -1,
	  .check_field = -1 },
	{ .name = "line", .kind = PS_FIELD_STRING, .offset = PS_TEST_HDR + 8, .present_bit = -1, .check_field = -1,
	  .collect = true, .collect_event = EV_INPUT, .joined = "\n" },
};

static const struct ps_event_desc events[N_EVENTS] = {
	[EV_INPUT] = { "input", sizeof(struct test_input), input_fields, 1, 0, PS_BUFFER_PID },
	[EV_COMMAND] = { "command", sizeof(struct test_command), command_fields, 2, 1, PS_BUFFER_NONE },
};

static const struct ps_flag_desc flags[] = {
	{ .name = "errnumber", .type = PS_FLAG_INT },
};

static const struct ps_filter_desc filters[] = {
	{ .field = "status", .op = PS_FILTER_EQ, .flag = 0 },
};

static const struct ps_module_desc module = {
	.name = "shell",
	.flags = flags,
	.n_flags = 1,
	.events = events,
	.n_events = N_EVENTS,
	.filters = filters,
	.n_filters = 1,
};

#define MAX_GOT 8

struct got {
	size_t n;
	struct {
		char line[64];
		bool incomplete, unfinished, status_present;
		int64_t status;
		uint32_t pid;
		char comm[PS_COMM_LEN];
		uint16_t event_id;
	} rec[MAX_GOT];
};

static void on_record(const struct ps_record *rec, void *arg)
{
	struct got *got = arg;

	if (got->n == MAX_GOT) {
		CHECK(!"too many records");
		return;
	}
	size_t i = got->n++;
	snprintf(got->rec[i].line, sizeof(got->rec[i].line), "%.*s", (int)rec->data_len, (const char *)rec->data);
	got->rec[i].incomplete = rec->incomplete;
	got->rec[i].unfinished = rec->unfinished;
	got->rec[i].status_present = ps_field_int(&rec->event->fields[0], rec, &got->rec[i].status) == 0;
	got->rec[i].pid = ps_record_header(rec)->pid;
	memcpy(got->rec[i].comm, ps_record_header(rec)->comm, PS_COMM_LEN);
	got->rec[i].event_id = ps_record_header(rec)->event_id;
}

/* One record of event ev from pid, with status (command) and a line. */
static void feed(struct ps_collect *c, struct got *got, uint32_t ev, uint32_t pid, int32_t status, const char *line)
{
	struct test_command fixed = { 0 };

	fixed.hdr.pid = fixed.hdr.tid = pid;
	fixed.hdr.event_id = (uint16_t)ev;
	snprintf(fixed.hdr.comm, sizeof(fixed.hdr.comm), "sh%u", pid);
	fixed.status = status;
	struct ps_record rec = {
		.module = &module,
		.event = &events[ev],
		.fixed = &fixed,
		.data = (const uint8_t *)line,
		.data_len = line ? strlen(line) : 0,
		.time_ns = 1000 + pid,
	};
	ps_collect_record(c, &rec, on_record, got);
}

static struct ps_collect *new_collect(struct ps_options *opts, const char **flag_values)
{
	memset(opts, 0, sizeof(*opts));
	opts->module = &module;
	opts->flag_values = flag_values;
	return ps_collect_new(opts);
}

static void test_collected(void)
{
	const char *flag_values[1] = { NULL };
	struct ps_options opts;
	struct ps_collect *c = new_collect(&opts, flag_values);
	struct got got = { 0 };

	feed(c, &got, EV_INPUT, 10, 0, "for i in 1 2");
	feed(c, &got, EV_INPUT, 20, 0, "sleep 30");
	feed(c, &got, EV_INPUT, 10, 0, "do echo $i; done");
	CHECK_INT(got.n, 0);
	feed(c, &got, EV_COMMAND, 10, 0, NULL);
	CHECK_INT(got.n, 1);
	CHECK_STR(got.rec[0].line, "for i in 1 2\ndo echo $i; done");
	CHECK(!got.rec[0].incomplete && !got.rec[0].unfinished && got.rec[0].status_present);
	CHECK_INT(ps_collect_uncollected(c), 1);
	ps_collect_free(c);
}

/* What waits at the end is written, joined per process, marked, with no status; still counted. */
static void test_flush_unfinished(void)
{
	const char *flag_values[1] = { NULL };
	struct ps_options opts;
	struct ps_collect *c = new_collect(&opts, flag_values);
	struct got got = { 0 };

	feed(c, &got, EV_INPUT, 20, 0, "sleep 30");
	feed(c, &got, EV_INPUT, 10, 0, "while true");
	feed(c, &got, EV_INPUT, 10, 0, "do :; done");
	ps_collect_flush(c, on_record, &got);
	CHECK_INT(got.n, 2);
	CHECK_STR(got.rec[0].line, "sleep 30");
	CHECK_INT(got.rec[0].pid, 20);
	CHECK_STR(got.rec[0].comm, "sh20");
	CHECK_INT(got.rec[0].event_id, EV_COMMAND);
	CHECK(got.rec[0].incomplete && got.rec[0].unfinished && !got.rec[0].status_present);
	CHECK_STR(got.rec[1].line, "while true\ndo :; done");
	CHECK_INT(got.rec[1].pid, 10);
	CHECK_INT(ps_collect_pending(c), 0);
	CHECK_INT(ps_collect_uncollected(c), 3);
	/* A second flush has nothing left. */
	ps_collect_flush(c, on_record, &got);
	CHECK_INT(got.n, 2);
	ps_collect_free(c);
}

/* -e N: an unfinished record has no status, so it passes no status filter (but is counted). */
static void test_flush_filtered(void)
{
	const char *flag_values[1] = { "0" };
	struct ps_options opts;
	struct ps_collect *c = new_collect(&opts, flag_values);
	struct got got = { 0 };

	feed(c, &got, EV_INPUT, 10, 0, "sleep 30");
	ps_collect_flush(c, on_record, &got);
	CHECK_INT(got.n, 0);
	CHECK_INT(ps_collect_uncollected(c), 1);
	ps_collect_free(c);
}

/* Past the bound (65536 waiting records), the oldest process's lines are written unfinished at once. */
static void test_bound_writes_oldest(void)
{
	const char *flag_values[1] = { NULL };
	struct ps_options opts;
	struct ps_collect *c = new_collect(&opts, flag_values);
	struct got got = { 0 };

	feed(c, &got, EV_INPUT, 1, 0, "first");
	feed(c, &got, EV_INPUT, 1, 0, "second");
	for (uint32_t pid = 2; pid <= 65535; pid++)
		feed(c, &got, EV_INPUT, pid, 0, "x");
	CHECK_INT(got.n, 0);
	feed(c, &got, EV_INPUT, 70000, 0, "one too many");
	CHECK_INT(got.n, 1);
	CHECK_STR(got.rec[0].line, "first\nsecond");
	CHECK_INT(got.rec[0].pid, 1);
	CHECK(got.rec[0].incomplete && got.rec[0].unfinished);
	CHECK_INT(ps_collect_pending(c), 65535);
	CHECK_INT(ps_collect_uncollected(c), 65537);
	ps_collect_free(c);
}

int main(void)
{
	TEST(test_collected);
	TEST(test_flush_unfinished);
	TEST(test_flush_filtered);
	TEST(test_bound_writes_oldest);
	return TEST_EXIT();
}
