/* SPDX-License-Identifier: MIT */
/* Where --eventaddr, --logaddr and --ecaptureq send: a file path, tcp://HOST:PORT or ws://HOST:PORT/PATH. */
#ifndef PS_STREAM_ADDR_H
#define PS_STREAM_ADDR_H

#include <stdint.h>

enum ps_stream_addr_kind { PS_ADDR_FILE, PS_ADDR_TCP, PS_ADDR_WS };

struct ps_stream_addr {
	enum ps_stream_addr_kind kind;
	char host[256];             /* tcp, ws: without brackets */
	uint16_t port;
	char path[256];             /* ws: "/..."; file: unused */
	const char *file;           /* file: the path as given */
};

/*
 * Parses text; 0, or -EINVAL with why (a short phrase) set. A text without
 * "://" is a file path.
 */
int ps_stream_addr_parse(const char *text, struct ps_stream_addr *addr, const char **why);

#endif
