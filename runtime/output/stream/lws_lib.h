/* SPDX-License-Identifier: MIT */
/*
 * libwebsockets, loaded when a live output first needs it (ps_ws_context_new).
 * Linked, it brings libssl, libcrypto and libcap into every start: relocating
 * libcrypto cost ~10 ms of each exec on this 2-core VM (an empty program
 * linked with -lwebsockets: 22 ms from exec to exit, 8 ms without), while
 * most runs have no WebSocket output at all.
 */
#ifndef PS_LWS_LIB_H
#define PS_LWS_LIB_H

#include <libwebsockets.h>

struct ps_lws {
	__typeof__(lws_callback_on_writable) *callback_on_writable;
	__typeof__(lws_cancel_service) *cancel_service;
	__typeof__(lws_client_connect_via_info) *client_connect_via_info;
	__typeof__(lws_context_destroy) *context_destroy;
	__typeof__(lws_context_user) *context_user;
	__typeof__(lws_create_context) *create_context;
	__typeof__(lws_get_context) *get_context;
	__typeof__(lws_get_socket_fd) *get_socket_fd;
	__typeof__(lws_partial_buffered) *partial_buffered;
	__typeof__(lws_send_pipe_choked) *send_pipe_choked;
	__typeof__(lws_service) *service;
	__typeof__(lws_set_log_level) *set_log_level;
	__typeof__(lws_set_timeout) *set_timeout;
	__typeof__(lws_sul_cancel) *sul_cancel;
	__typeof__(lws_sul_schedule) *sul_schedule;
	__typeof__(lws_write) *write;
};

/*
 * libwebsockets' functions, loaded at the first call and kept; NULL when it
 * cannot be loaded (ps_lws_lib_error says why). Once a context exists, it
 * is loaded.
 */
const struct ps_lws *ps_lws_lib(void);
const char *ps_lws_lib_error(void);

#endif
