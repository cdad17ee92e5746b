/* SPDX-License-Identifier: MIT */
/*
 * capstone's decoder tables for every architecture it knows stay resident
 * once its library is mapped: ~4.7 MiB of a ~26 MiB runtime, for a check
 * that runs for a few milliseconds at start-up (accessors.c). Loaded with
 * dlopen while needed and unloaded after, it costs nothing while capturing.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include "capstone_lib.h"
#include "dl_symbols.h"
#include "log.h"

#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)
/* the soname of the capstone whose header we were built with */
#define CAPSTONE_SONAME "libcapstone.so." STRINGIFY(CS_API_MAJOR)

static struct ps_capstone api;
static void *handle;
static unsigned users;

static int load_symbols(void)
{
	const struct ps_dl_symbol syms[] = {
		{ (void **)&api.open, "cs_open" },
		{ (void **)&api.option, "cs_option" },
		{ (void **)&api.malloc, "cs_malloc" },
		{ (void **)&api.disasm_iter, "cs_disasm_iter" },
		{ (void **)&api.free, "cs_free" },
		{ (void **)&api.close, "cs_close" },
		{ (void **)&api.regs_access, "cs_regs_access" },
	};
	const char *missing = ps_dl_symbols(handle, syms, sizeof(syms) / sizeof(syms[0]));

	if (missing) {
		ps_debug("%s has no %s", CAPSTONE_SONAME, missing);
		return -1;
	}
	return 0;
}

static const struct ps_capstone *acquire(void)
{
	if (users) {
		users++;
		return &api;
	}
	handle = dlopen(CAPSTONE_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!handle) {
		ps_debug("cannot load capstone: %s", dlerror());
		return NULL;
	}
	if (load_symbols()) {
		dlclose(handle);
		handle = NULL;
		return NULL;
	}
	users = 1;
	return &api;
}

static void release(void)
{
	if (!users || --users)
		return;
	dlclose(handle);
	handle = NULL;
}

int ps_disasm_open(struct ps_disasm *disasm)
{
	memset(disasm, 0, sizeof(*disasm));
	disasm->lib = acquire();
	if (!disasm->lib)
		return -ENOEXEC;
	if (disasm->lib->open(CS_ARCH_X86, CS_MODE_64, &disasm->cs) != CS_ERR_OK) {
		ps_debug("capstone cannot open an x86-64 decoder");
		release();
		disasm->lib = NULL;
		return -ENOEXEC;
	}
	disasm->lib->option(disasm->cs, CS_OPT_DETAIL, CS_OPT_ON);
	disasm->insn = disasm->lib->malloc(disasm->cs);
	if (!disasm->insn) {
		ps_disasm_close(disasm);
		return -ENOMEM;
	}
	return 0;
}

void ps_disasm_close(struct ps_disasm *disasm)
{
	if (!disasm->lib)
		return;
	if (disasm->insn)
		disasm->lib->free(disasm->insn, 1);
	disasm->lib->close(&disasm->cs);
	memset(disasm, 0, sizeof(*disasm));
	release();
}

struct ps_capstone_warm {
	pthread_t thread;
	void *handle;     /* the thread's own reference, dropped by ps_capstone_warm_end */
};

static void *warm_thread(void *arg)
{
	struct ps_capstone_warm *warm = arg;

	/* the dynamic loader serializes this with the main thread's dlopen of the same library */
	warm->handle = dlopen(CAPSTONE_SONAME, RTLD_NOW | RTLD_LOCAL);
	return NULL;
}

struct ps_capstone_warm *ps_capstone_warm_start(void)
{
	struct ps_capstone_warm *warm = calloc(1, sizeof(*warm));
	sigset_t all, old;
	int err;

	if (!warm)
		return NULL;
	/* signals stay with the main thread: a discovered copy's plan is made while capture runs */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&warm->thread, NULL, warm_thread, warm);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		free(warm);
		return NULL;
	}
	return warm;
}

void ps_capstone_warm_end(struct ps_capstone_warm *warm)
{
	if (!warm)
		return;
	pthread_join(warm->thread, NULL);
	if (warm->handle)
		dlclose(warm->handle);
	free(warm);
}
