/* SPDX-License-Identifier: MIT */
/* capstone, loaded only while something disassembles. */
#ifndef PS_CAPSTONE_LIB_H
#define PS_CAPSTONE_LIB_H

#include <capstone/capstone.h>

struct ps_capstone {
	__typeof__(cs_open) *open;
	__typeof__(cs_option) *option;
	__typeof__(cs_malloc) *malloc;
	__typeof__(cs_disasm_iter) *disasm_iter;
	__typeof__(cs_free) *free;
	__typeof__(cs_close) *close;
	__typeof__(cs_regs_access) *regs_access;
};

/* Loads the library on the first of nested calls; NULL (said with -d) when it cannot. */
const struct ps_capstone *ps_capstone_acquire(void);
/* Unloads it after the last release. */
void ps_capstone_release(void);

#endif
