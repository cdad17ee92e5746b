/* SPDX-License-Identifier: MIT */
/* What a call writes to stdout and stderr, for tests that compare messages exactly. */
#ifndef PS_STD_CAPTURE_H
#define PS_STD_CAPTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct std_capture {
	int saved_out, saved_err;
	FILE *out, *err;
};

/* From here on, stdout and stderr go to temporary files; false when they cannot. */
static bool std_capture_begin(struct std_capture *c)
{
	fflush(stdout);
	fflush(stderr);
	c->out = tmpfile();
	c->err = tmpfile();
	c->saved_out = dup(STDOUT_FILENO);
	c->saved_err = dup(STDERR_FILENO);
	if (!c->out || !c->err || c->saved_out < 0 || c->saved_err < 0)
		return false;
	return dup2(fileno(c->out), STDOUT_FILENO) >= 0 && dup2(fileno(c->err), STDERR_FILENO) >= 0;
}

static char *std_capture_read(FILE *f)
{
	long size;
	char *text;

	fseek(f, 0, SEEK_END);
	size = ftell(f);
	rewind(f);
	text = calloc((size_t)(size > 0 ? size : 0) + 1, 1);
	if (text && size > 0 && fread(text, 1, (size_t)size, f) != (size_t)size)
		text[0] = '\0';
	fclose(f);
	return text;
}

/* Puts stdout and stderr back; *out and *err (free them) hold what was written. */
static void std_capture_end(struct std_capture *c, char **out, char **err)
{
	fflush(stdout);
	fflush(stderr);
	dup2(c->saved_out, STDOUT_FILENO);
	dup2(c->saved_err, STDERR_FILENO);
	close(c->saved_out);
	close(c->saved_err);
	*out = std_capture_read(c->out);
	*err = std_capture_read(c->err);
}

#endif
