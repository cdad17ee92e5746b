/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "stream_addr.h"

/* HOST:PORT[/PATH], HOST a name, an IPv4 address or [IPv6]. */
static int parse_host_port(const char *s, struct ps_stream_addr *addr, const char **why)
{
	const char *colon, *end, *host = s;
	size_t host_len;
	unsigned long port;
	char *port_end;

	if (*s == '[') {
		end = strchr(s, ']');
		if (!end || end[1] != ':')
			return *why = "an IPv6 address is written [ADDR]:PORT", -EINVAL;
		host = s + 1;
		host_len = (size_t)(end - host);
		colon = end + 1;
	} else {
		colon = strchr(s, ':');
		if (!colon)
			return *why = "no :PORT", -EINVAL;
		host_len = (size_t)(colon - s);
	}
	if (!host_len || host_len >= sizeof(addr->host))
		return *why = "no host", -EINVAL;
	memcpy(addr->host, host, host_len);
	addr->host[host_len] = '\0';
	port = strtoul(colon + 1, &port_end, 10);
	if (port_end == colon + 1 || port == 0 || port > 65535 || (*port_end && *port_end != '/'))
		return *why = "the port is a number from 1 to 65535", -EINVAL;
	addr->port = (uint16_t)port;
	if (strlen(port_end) >= sizeof(addr->path))
		return *why = "the path is too long", -EINVAL;
	strcpy(addr->path, *port_end ? port_end : "/");
	return 0;
}

int ps_stream_addr_parse(const char *text, struct ps_stream_addr *addr, const char **why)
{
	memset(addr, 0, sizeof(*addr));
	if (!text || !*text)
		return *why = "empty", -EINVAL;
	if (strncmp(text, "tcp://", 6) == 0) {
		addr->kind = PS_ADDR_TCP;
		if (parse_host_port(text + 6, addr, why))
			return -EINVAL;
		if (strcmp(addr->path, "/") != 0)
			return *why = "tcp:// takes no path", -EINVAL;
		return 0;
	}
	if (strncmp(text, "ws://", 5) == 0) {
		addr->kind = PS_ADDR_WS;
		return parse_host_port(text + 5, addr, why);
	}
	if (strstr(text, "://"))
		return *why = "the scheme is tcp:// or ws:// (wss:// is not supported)", -EINVAL;
	addr->kind = PS_ADDR_FILE;
	addr->file = text;
	return 0;
}
