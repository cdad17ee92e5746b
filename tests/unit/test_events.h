/* SPDX-License-Identifier: MIT */
/*
 * Events shaped like generated ones (see a build's tls.events.h), written
 * out by hand for the decoder and writer tests: a bytes event with a tuple
 * and a hidden checked field, a string event with an optional field, and a
 * fixed-size event.
 */
#ifndef PS_TEST_EVENTS_H
#define PS_TEST_EVENTS_H

#include "check.h"
#include "module.h"
#include "ps_event.h"

struct test_tls_data {
	struct ps_event_header hdr;
	__s32 fd;
	__u32 dir;
	struct ps_tuple conn;
	__s32 fd_by_offsets;
	__u8 data[] __attribute__((aligned(8)));
};
_Static_assert(sizeof(struct test_tls_data) == PS_TEST_HDR + 56, "test_tls_data: size");

struct test_open_path {
	struct ps_event_header hdr;
	__s32 dfd;
	__u32 mode;
	__u8 path[] __attribute__((aligned(8)));
};

struct test_exit {
	struct ps_event_header hdr;
	__s32 code;
	__u32 pad;
};

enum { EV_TLS_DATA, EV_OPEN_PATH, EV_EXIT, N_EVENTS };

static const char *const dir_names[] = { "write", "read" };

static const struct ps_field_desc tls_data_fields[] = {
	{ .name = "fd", .kind = PS_FIELD_INT, .offset = PS_TEST_HDR, .size = 4, .present_bit = -1, .check_field = -1 },
	{ .name = "dir", .kind = PS_FIELD_ENUM, .offset = PS_TEST_HDR + 4, .size = 4, .present_bit = -1,
	  .enum_names = dir_names, .n_enum = 2, .check_field = -1 },
	{ .name = "conn", .kind = PS_FIELD_TUPLE, .offset = PS_TEST_HDR + 8, .size = sizeof(struct ps_tuple),
	  .present_bit = -1, .check_field = -1 },
	{ .name = "fd_by_offsets", .kind = PS_FIELD_INT, .offset = PS_TEST_HDR + 48, .size = 4, .present_bit = 0,
	  .hidden = true, .check_field = 0 },
	{ .name = "payload", .kind = PS_FIELD_BYTES, .offset = PS_TEST_HDR + 56, .size = 0, .present_bit = -1,
	  .check_field = -1 },
};

/* An optional field that is shown, and a string as the variable part. */
static const struct ps_field_desc open_path_fields[] = {
	{ .name = "dfd", .kind = PS_FIELD_INT, .offset = PS_TEST_HDR, .size = 4, .present_bit = 3, .check_field = -1 },
	{ .name = "mode", .kind = PS_FIELD_UINT, .offset = PS_TEST_HDR + 4, .size = 4, .present_bit = -1, .check_field = -1 },
	{ .name = "path", .kind = PS_FIELD_STRING, .offset = PS_TEST_HDR + 8, .size = 0, .present_bit = -1,
	  .check_field = -1, .text = true },
};

static const struct ps_field_desc exit_fields[] = {
	{ .name = "code", .kind = PS_FIELD_INT, .offset = PS_TEST_HDR, .size = 4, .present_bit = -1, .check_field = -1 },
};

static const struct ps_event_desc test_events[N_EVENTS] = {
	[EV_TLS_DATA] = { "tls_data", sizeof(struct test_tls_data), tls_data_fields, 5, 4 },
	[EV_OPEN_PATH] = { "open_path", sizeof(struct test_open_path), open_path_fields, 3, 2 },
	[EV_EXIT] = { "exit", sizeof(struct test_exit), exit_fields, 1, -1 },
};

static const struct ps_module_desc test_module = {
	.name = "tls",
	.events = test_events,
	.n_events = N_EVENTS,
};

#endif
