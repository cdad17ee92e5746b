/* SPDX-License-Identifier: MIT */
/* libpcap, loaded when first needed: see pcap_lib.h. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include "dl_symbols.h"
#include "pcap_lib.h"

/* Debian's name for libpcap's ABI (package libpcap0.8), which our header matches */
#define PCAP_SONAME "libpcap.so.0.8"

static struct ps_pcap api;
static bool loaded;
static char why[256];             /* why it could not be loaded */
static pthread_once_t load_once = PTHREAD_ONCE_INIT;

static void load(void)
{
	const struct ps_dl_symbol syms[] = {
		{ (void **)&api.create, "pcap_create" },
		{ (void **)&api.activate, "pcap_activate" },
		{ (void **)&api.close, "pcap_close" },
		{ (void **)&api.compile, "pcap_compile" },
		{ (void **)&api.freecode, "pcap_freecode" },
		{ (void **)&api.setfilter, "pcap_setfilter" },
		{ (void **)&api.setnonblock, "pcap_setnonblock" },
		{ (void **)&api.set_snaplen, "pcap_set_snaplen" },
		{ (void **)&api.set_buffer_size, "pcap_set_buffer_size" },
		{ (void **)&api.set_timeout, "pcap_set_timeout" },
		{ (void **)&api.set_tstamp_precision, "pcap_set_tstamp_precision" },
		{ (void **)&api.datalink, "pcap_datalink" },
		{ (void **)&api.dispatch, "pcap_dispatch" },
		{ (void **)&api.get_selectable_fd, "pcap_get_selectable_fd" },
		{ (void **)&api.stats, "pcap_stats" },
		{ (void **)&api.geterr, "pcap_geterr" },
		{ (void **)&api.statustostr, "pcap_statustostr" },
		{ (void **)&api.open_dead_with_tstamp_precision, "pcap_open_dead_with_tstamp_precision" },
	};
	void *handle = dlopen(PCAP_SONAME, RTLD_NOW | RTLD_LOCAL);
	const char *missing;

	if (!handle) {
		snprintf(why, sizeof(why), "cannot load libpcap: %s (Debian package libpcap0.8)", dlerror());
		return;
	}
	missing = ps_dl_symbols(handle, syms, sizeof(syms) / sizeof(syms[0]));
	if (missing) {
		snprintf(why, sizeof(why), "%s has no %s: too old a libpcap", PCAP_SONAME, missing);
		dlclose(handle);
		return;
	}
	loaded = true;   /* kept until exit: handles it made live as long */
}

const struct ps_pcap *ps_pcap_lib(void)
{
	pthread_once(&load_once, load);
	return loaded ? &api : NULL;
}

const char *ps_pcap_lib_error(void)
{
	return why;
}
