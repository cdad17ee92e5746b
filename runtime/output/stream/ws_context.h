/* SPDX-License-Identifier: MIT */
/*
 * A libwebsockets context as both ends of ours want one (ws_server.h,
 * ws_client.h): the process keeps its user and group (lws would otherwise
 * change to uid/gid 0 when given zeros), the owner is its user pointer, and
 * lws's messages go to ps_debug (shown with -d), not to stderr.
 */
#ifndef PS_WS_CONTEXT_H
#define PS_WS_CONTEXT_H

#include <libwebsockets.h>

/* port: CONTEXT_PORT_NO_LISTEN for a client; iface NULL: every address. NULL when lws refuses. */
struct lws_context *ps_ws_context_new(int port, const char *iface, const struct lws_protocols *protocols, void *owner);

#endif
