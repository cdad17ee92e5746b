/* SPDX-License-Identifier: MIT */
#include <string.h>
#include "log.h"
#include "lws_lib.h"
#include "ws_context.h"

static void lws_to_debug(int level, const char *line)
{
	(void)level;
	ps_debug("libwebsockets: %.*s", (int)strcspn(line, "\n"), line);
}

struct lws_context *ps_ws_context_new(int port, const char *iface, const struct lws_protocols *protocols, void *owner)
{
	struct lws_context_creation_info info;

	if (!ps_lws_lib()) {
		ps_error("%s", ps_lws_lib_error());
		return NULL;
	}
	/* lws's own notices would reach the terminal: with -d alone, its errors and warnings, as debug lines */
	ps_lws_lib()->set_log_level(ps_log_debug_enabled() ? LLL_ERR | LLL_WARN : 0, lws_to_debug);
	memset(&info, 0, sizeof(info));
	info.port = port;
	info.iface = iface;
	info.protocols = protocols;
	info.user = owner;
	info.gid = -1;
	info.uid = -1;
	return ps_lws_lib()->create_context(&info);
}
