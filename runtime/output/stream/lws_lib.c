/* SPDX-License-Identifier: MIT */
/* libwebsockets, loaded when first needed: see lws_lib.h. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include "dl_symbols.h"
#include "lws_lib.h"

/* Debian 12's name for the libwebsockets ABI our header matches (package libwebsockets17) */
#define LWS_SONAME "libwebsockets.so.17"

static struct ps_lws api;
static bool loaded;
static char why[256];             /* why it could not be loaded */
static pthread_once_t load_once = PTHREAD_ONCE_INIT;

static void load(void)
{
	const struct ps_dl_symbol syms[] = {
		{ (void **)&api.callback_on_writable, "lws_callback_on_writable" },
		{ (void **)&api.cancel_service, "lws_cancel_service" },
		{ (void **)&api.client_connect_via_info, "lws_client_connect_via_info" },
		{ (void **)&api.context_destroy, "lws_context_destroy" },
		{ (void **)&api.context_user, "lws_context_user" },
		{ (void **)&api.create_context, "lws_create_context" },
		{ (void **)&api.get_context, "lws_get_context" },
		{ (void **)&api.get_socket_fd, "lws_get_socket_fd" },
		{ (void **)&api.partial_buffered, "lws_partial_buffered" },
		{ (void **)&api.send_pipe_choked, "lws_send_pipe_choked" },
		{ (void **)&api.service, "lws_service" },
		{ (void **)&api.set_log_level, "lws_set_log_level" },
		{ (void **)&api.set_timeout, "lws_set_timeout" },
		{ (void **)&api.sul_cancel, "lws_sul_cancel" },
		{ (void **)&api.sul_schedule, "lws_sul_schedule" },
		{ (void **)&api.write, "lws_write" },
	};
	void *handle = dlopen(LWS_SONAME, RTLD_NOW | RTLD_LOCAL);
	const char *missing;

	if (!handle) {
		snprintf(why, sizeof(why), "cannot load libwebsockets: %s (Debian package libwebsockets17)", dlerror());
		return;
	}
	missing = ps_dl_symbols(handle, syms, sizeof(syms) / sizeof(syms[0]));
	if (missing) {
		snprintf(why, sizeof(why), "%s has no %s: not the libwebsockets this build was made for", LWS_SONAME,
			 missing);
		dlclose(handle);
		return;
	}
	loaded = true;   /* kept until exit: contexts it made live as long */
}

const struct ps_lws *ps_lws_lib(void)
{
	pthread_once(&load_once, load);
	return loaded ? &api : NULL;
}

const char *ps_lws_lib_error(void)
{
	return why;
}
