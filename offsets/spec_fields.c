/* SPDX-License-Identifier: MIT */
/*
 * The struct fields of a spec's module, as probec reads them: this runs
 * `probec --list-fields MODULE SPEC` and takes its "STRUCT PATH TYPE" lines,
 * so the spec language has one parser. probec is $PROBEC, else the probec
 * beside this executable (build/probec next to build/offsets), else the one
 * on $PATH.
 */
#include "spec_fields.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void find_probec(char *out, size_t size)
{
	const char *env = getenv("PROBEC");
	char self[PATH_MAX];
	ssize_t n;

	if (env && *env) {
		snprintf(out, size, "%s", env);
		return;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		char *slash;

		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash) {
			snprintf(out, size, "%.*s/probec", (int)(slash - self), self);
			if (access(out, X_OK) == 0)
				return;
		}
	}
	snprintf(out, size, "probec");
}

/* The first line of a file, without its newline, into buf. */
static void first_line(FILE *f, char *buf, size_t size)
{
	buf[0] = '\0';
	rewind(f);
	if (fgets(buf, (int)size, f))
		buf[strcspn(buf, "\n")] = '\0';
}

static int add_field(struct spec_fields *out, const char *strct, const char *path, const char *type, int line)
{
	struct spec_field *v = realloc(out->v, (out->n + 1) * sizeof(*v));

	if (!v)
		return -1;
	out->v = v;
	v[out->n] = (struct spec_field){ .strct = strdup(strct), .path = strdup(path), .type = strdup(type), .line = line };
	if (!v[out->n].strct || !v[out->n].path || !v[out->n].type)
		return -1;
	out->n++;
	return 0;
}

int spec_fields_read(const char *path, const char *module, struct spec_fields *out)
{
	char probec[PATH_MAX], line[1024], message[512];
	FILE *err = tmpfile();
	int pipefd[2], status, rc = 0, lineno = 0;
	pid_t pid;
	FILE *in;

	out->v = NULL;
	out->n = 0;
	find_probec(probec, sizeof(probec));
	if (!err || pipe(pipefd) != 0) {
		fprintf(stderr, "offsets: cannot run %s: %s\n", probec, strerror(errno));
		if (err)
			fclose(err);
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "offsets: cannot run %s: %s\n", probec, strerror(errno));
		close(pipefd[0]);
		close(pipefd[1]);
		fclose(err);
		return -1;
	}
	if (pid == 0) {
		dup2(pipefd[1], STDOUT_FILENO);
		dup2(fileno(err), STDERR_FILENO);
		close(pipefd[0]);
		close(pipefd[1]);
		execlp(probec, probec, "--list-fields", module, path, (char *)NULL);
		fprintf(stderr, "cannot run %s: %s (build it, or set PROBEC)\n", probec, strerror(errno));
		_exit(127);
	}
	close(pipefd[1]);
	in = fdopen(pipefd[0], "r");
	while (in && fgets(line, sizeof(line), in)) {
		char strct[256], field[512], type[256];

		lineno++;
		line[strcspn(line, "\n")] = '\0';
		/* the type may hold a space: "ptr bio_st" */
		if (rc == 0 && (sscanf(line, "%255s %511s %255[^\n]", strct, field, type) != 3 ||
				add_field(out, strct, field, type, lineno) < 0)) {
			fprintf(stderr, "offsets: unexpected line from %s --list-fields: \"%s\"\n", probec, line);
			rc = -1;
		}
	}
	if (in)
		fclose(in);
	else
		close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (rc == 0 && (!WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
		first_line(err, message, sizeof(message));
		/* probec's own diagnostic, without its "probec: " prefix: one line, as every tool error */
		fprintf(stderr, "offsets: %s: %s\n", path,
			strncmp(message, "probec: ", 8) == 0 ? message + 8 : *message ? message : "probec failed");
		rc = -1;
	}
	fclose(err);
	if (rc < 0)
		spec_fields_free(out);
	return rc;
}

void spec_fields_free(struct spec_fields *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->v[i].strct);
		free(f->v[i].path);
		free(f->v[i].type);
	}
	free(f->v);
	f->v = NULL;
	f->n = 0;
}
