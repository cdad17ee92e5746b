/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer: machine code of any bytes through the decoders that read a
 * library's functions with capstone: the call graph's sweep
 * (runtime/target/callgraph.c) and the accessor decoders
 * (runtime/target/accessors.c). The input's first 4 bytes choose the
 * decoders' parameters (which access, through which field, the copy's
 * length, where the function is); the rest is the function's code, in a
 * buffer of exactly its size so that a read past it is a finding. A call
 * target must be an address, nothing more is checked here
 * (tests/unit/callgraph_test.c and accessors_test.c check the answers).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "accessors.h"
#include "callgraph.h"
#include "capstone_lib.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ps_disasm disasm;
	static bool opened;
	uint64_t *targets = NULL, vaddr;
	size_t n_targets = 0, len;
	int64_t offset, through;
	bool pointer_load;
	uint32_t length;
	unsigned n;
	uint8_t *code;

	if (!opened) {
		/* no capstone: nothing to fuzz, and make unit must say so */
		if (ps_disasm_open(&disasm) != 0)
			abort();
		opened = true;
	}
	if (size < 4)
		return 0;
	n = data[0] % 8 + 1;
	through = data[1] & 0x80 ? -1 : (int64_t)(data[1] & 0x7f) * 8;
	length = (uint32_t)(data[2] % 8 + 1) * 16;
	vaddr = 0x1000 + (uint64_t)data[3] * 16;
	len = size - 4;
	code = malloc(len ? len : 1);
	if (!code)
		return 0;
	memcpy(code, data + 4, len);
	if (ps_callgraph_decode(&disasm, code, len, vaddr, &targets, &n_targets) == 0) {
		for (size_t i = 0; i < n_targets; i++)
			if (targets[i] >= vaddr && targets[i] < vaddr + len)
				abort(); /* a call or jump that stays inside is no callee */
		free(targets);
	}
	ps_accessor_decode(&disasm, code, len, vaddr, n, through, &offset, &pointer_load);
	ps_accessor_copy_decode(&disasm, code, len, vaddr, length, &offset);
	free(code);
	return 0;
}
