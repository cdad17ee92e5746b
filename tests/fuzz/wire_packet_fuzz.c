/* SPDX-License-Identifier: MIT */
/* libFuzzer target: any frame of any link type the capture gives parses or is refused, within its bytes. */
#include <pcap/dlt.h>
#include <stdint.h>
#include <stdlib.h>
#include "wire_packet.h"

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size)
{
	static const int linktypes[] = { DLT_EN10MB, DLT_NULL, DLT_RAW, DLT_LINUX_SLL };
	struct ps_wire_segment seg;

	if (!size)
		return 0;
	if (ps_wire_parse(linktypes[in[0] % 4], in + 1, size - 1, &seg) == 0 &&
	    (seg.payload < in + 1 || seg.payload + seg.len > in + size))
		abort();
	return 0;
}
