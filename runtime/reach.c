/* SPDX-License-Identifier: MIT */
/*
 * Each program is read once (its ELF file, cached by device and inode); each
 * process's mapped libraries come from /proc/PID/maps. A process just
 * executed waits a little before its maps are read: at the exec tracepoint
 * the dynamic loader has not yet mapped anything.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include "ldcache.h"
#include "log.h"
#include "reach.h"

/* Long enough for ld.so to map the needed libraries and a program to dlopen its TLS library early. */
#define EXEC_SETTLE_NS (250 * 1000000ull)
/* Past this many processes waiting (an exec storm), the next ones are looked at without waiting. */
#define MAX_WAITING 256

struct file_id {
	dev_t dev;
	ino_t ino;
};

struct program {
	struct file_id id;
	struct ps_exe_tls tls;
	bool unreachable;           /* something was said about it */
};

/* One notice said: (program, stack, library) is never said again. */
struct said {
	struct file_id program;
	const struct ps_tls_stack *stack;
	struct file_id library;     /* zero: inside the executable */
};

struct waiting {
	uint32_t pid;
	int exe_fd;                 /* the executable as it was at exec time */
	char *exe_path;
	uint64_t due_ns;
};

/* A TLS library one process has mapped. */
struct mapped_library {
	const struct ps_tls_stack *stack;
	struct file_id id;
	char *path;
};

struct ps_reach {
	struct ps_reach_opts opts;
	struct file_id attached;
	struct program *programs;
	size_t n_programs;
	struct said *said;
	size_t n_said;
	struct waiting *waiting;
	size_t n_waiting;
	uint64_t unreachable;
};

static bool same_file(struct file_id a, struct file_id b)
{
	return a.dev == b.dev && a.ino == b.ino;
}

struct ps_reach *ps_reach_new(const struct ps_reach_opts *opts)
{
	struct ps_reach *reach;
	struct stat st;

	if (stat(opts->attached, &st) != 0)
		return NULL;
	reach = calloc(1, sizeof(*reach));
	if (!reach)
		return NULL;
	reach->opts = *opts;
	reach->attached = (struct file_id){ st.st_dev, st.st_ino };
	return reach;
}

static void forget_waiting(struct waiting *w)
{
	close(w->exe_fd);
	free(w->exe_path);
}

void ps_reach_free(struct ps_reach *reach)
{
	if (!reach)
		return;
	for (size_t i = 0; i < reach->n_programs; i++)
		ps_exe_tls_free(&reach->programs[i].tls);
	for (size_t i = 0; i < reach->n_waiting; i++)
		forget_waiting(&reach->waiting[i]);
	free(reach->programs);
	free(reach->said);
	free(reach->waiting);
	free(reach);
}

uint64_t ps_reach_unreachable_programs(const struct ps_reach *reach)
{
	return reach ? reach->unreachable : 0;
}

static bool module_probes(const struct ps_reach *reach, const struct ps_tls_stack *stack)
{
	return strcmp(reach->opts.module, stack->module) == 0;
}

/* The program behind exe_fd, read on first sight; NULL when it is no ELF file we can read. */
static struct program *find_program(struct ps_reach *reach, int exe_fd, struct file_id id)
{
	struct program *grown, *program;
	char fd_path[64];

	for (size_t i = 0; i < reach->n_programs; i++)
		if (same_file(reach->programs[i].id, id))
			return &reach->programs[i];
	grown = realloc(reach->programs, (reach->n_programs + 1) * sizeof(*grown));
	if (!grown)
		return NULL;
	reach->programs = grown;
	program = &reach->programs[reach->n_programs];
	memset(program, 0, sizeof(*program));
	program->id = id;
	snprintf(fd_path, sizeof(fd_path), "/proc/self/fd/%d", exe_fd);
	/* a script's interpreter is a program of its own; what is no ELF file carries nothing */
	if (ps_exe_tls_read(fd_path, &program->tls) != 0)
		memset(&program->tls, 0, sizeof(program->tls));
	reach->n_programs++;
	return program;
}

static bool already_said(struct ps_reach *reach, const struct said *notice)
{
	struct said *grown;

	for (size_t i = 0; i < reach->n_said; i++) {
		const struct said *s = &reach->said[i];

		if (same_file(s->program, notice->program) && s->stack == notice->stack &&
		    same_file(s->library, notice->library))
			return true;
	}
	grown = realloc(reach->said, (reach->n_said + 1) * sizeof(*grown));
	/* out of memory: said again later rather than never */
	if (!grown)
		return false;
	reach->said = grown;
	reach->said[reach->n_said++] = *notice;
	return false;
}

static void say(struct ps_reach *reach, struct program *program, uint32_t pid, const char *exe,
		const struct ps_tls_stack *stack, const struct mapped_library *library, const char *reason)
{
	struct said key = { .program = program->id, .stack = stack };
	struct ps_notice notice = { .pid = pid, .exe = exe, .stack = stack, .reason = reason };

	if (library) {
		key.library = library->id;
		notice.library = library->path;
	}
	if (already_said(reach, &key))
		return;
	if (!program->unreachable) {
		program->unreachable = true;
		reach->unreachable++;
	}
	reach->opts.notify(&notice, reach->opts.arg);
}

/* "GnuTLS (/usr/lib/.../libgnutls.so.30), not probed by the tls module" and the like. */
static void say_library(struct ps_reach *reach, struct program *program, uint32_t pid, const char *exe,
			const struct mapped_library *library)
{
	char *reason = NULL;
	int n;

	if (module_probes(reach, library->stack))
		n = asprintf(&reason, "%s from %s, not the %s the %s module is attached to: trace it with --libssl %s",
			     library->stack->name, library->path, reach->opts.attached, reach->opts.module,
			     library->path);
	else
		n = asprintf(&reason, "%s (%s), not probed by the %s module", library->stack->name, library->path,
			     reach->opts.module);
	if (n < 0)
		return;
	say(reach, program, pid, exe, library->stack, library, reason);
	free(reason);
}

static void say_compiled_in(struct ps_reach *reach, struct program *program, uint32_t pid, const char *exe)
{
	char *reason = NULL;

	if (program->tls.go_tls && !module_probes(reach, &ps_tls_go) &&
	    asprintf(&reason, "%s, not probed by the %s module", ps_tls_go.name, reach->opts.module) >= 0) {
		say(reach, program, pid, exe, &ps_tls_go, NULL, reason);
		free(reason);
		reason = NULL;
	}
	/* the module attached elsewhere: OpenSSL inside this executable has no probes */
	if (program->tls.static_openssl &&
	    asprintf(&reason, "%s linked into the executable, not probed by the %s module: trace it with --libssl %s",
		     ps_tls_openssl.name, reach->opts.module, exe) >= 0) {
		say(reach, program, pid, exe, &ps_tls_openssl, NULL, reason);
		free(reason);
	}
}

static void free_libraries(struct mapped_library *libs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(libs[i].path);
	free(libs);
}

static int add_library(struct mapped_library **libs, size_t *n, const struct ps_tls_stack *stack,
		       struct file_id id, const char *path)
{
	struct mapped_library *grown;

	for (size_t i = 0; i < *n; i++)
		if (same_file((*libs)[i].id, id))
			return 0;
	grown = realloc(*libs, (*n + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	*libs = grown;
	grown[*n] = (struct mapped_library){ stack, id, strdup(path) };
	if (!grown[*n].path)
		return -ENOMEM;
	(*n)++;
	return 0;
}

/*
 * One line of /proc/PID/maps: "start-end perms offset major:minor inode path".
 * Anonymous and pseudo mappings have inode 0.
 */
static int add_mapped_line(const char *line, struct mapped_library **libs, size_t *n)
{
	unsigned int major, minor;
	unsigned long long inode;
	const struct ps_tls_stack *stack;
	int path_at = 0;
	size_t len;
	char *path;
	int err;

	if (sscanf(line, "%*s %*s %*s %x:%x %llu %n", &major, &minor, &inode, &path_at) < 3 || !path_at ||
	    !inode || line[path_at] != '/')
		return 0;
	stack = ps_tls_stack_of_library(line + path_at);
	if (!stack)
		return 0;
	path = strdup(line + path_at);
	if (!path)
		return -ENOMEM;
	len = strlen(path);
	if (len && path[len - 1] == '\n')
		path[len - 1] = '\0';
	err = add_library(libs, n, stack, (struct file_id){ makedev(major, minor), (ino_t)inode }, path);
	free(path);
	return err;
}

/* The TLS libraries pid has mapped; -ENOENT when it is gone. */
static int read_mapped_libraries(uint32_t pid, struct mapped_library **libs, size_t *n)
{
	char maps_path[64], *line = NULL;
	size_t cap = 0;
	FILE *f;
	int err = 0;

	snprintf(maps_path, sizeof(maps_path), "/proc/%u/maps", pid);
	f = fopen(maps_path, "re");
	if (!f)
		return -errno;
	while (!err && getline(&line, &cap, f) > 0)
		err = add_mapped_line(line, libs, n);
	free(line);
	fclose(f);
	/* a process gone while being read leaves an empty file */
	return err ? err : *n ? 0 : -ENOENT;
}

/* A process gone before its maps were read: the libraries its executable names, found as ld.so would. */
static void resolve_needed_libraries(const struct program *program, const char *exe, struct mapped_library **libs,
				     size_t *n)
{
	for (size_t i = 0; i < program->tls.n_needed; i++) {
		char path[4096];
		struct stat st;

		if (ps_ldcache_resolve_needed(exe, program->tls.needed[i], path, sizeof(path)) != 0 ||
		    stat(path, &st) != 0)
			continue;
		if (add_library(libs, n, ps_tls_stack_of_library(path), (struct file_id){ st.st_dev, st.st_ino },
				path) != 0)
			return;
	}
}

/*
 * A process with the attached library mapped is traced; another TLS library
 * beside it (curl's libcurl pulls in GnuTLS through librtmp) is said only
 * when the executable itself names it.
 */
static void look_at_libraries(struct ps_reach *reach, struct program *program, uint32_t pid, const char *exe,
			      const struct mapped_library *libs, size_t n)
{
	bool uses_attached = false;

	for (size_t i = 0; i < n; i++)
		if (same_file(libs[i].id, reach->attached))
			uses_attached = true;
	for (size_t i = 0; i < n; i++) {
		const struct mapped_library *lib = &libs[i];

		if (same_file(lib->id, reach->attached))
			continue;
		if (module_probes(reach, lib->stack) || !uses_attached || ps_exe_tls_needs(&program->tls, lib->stack))
			say_library(reach, program, pid, exe, lib);
	}
}

static void look_at_process(struct ps_reach *reach, uint32_t pid, int exe_fd, const char *exe)
{
	struct mapped_library *libs = NULL;
	struct program *program;
	struct stat st;
	size_t n = 0;

	if (fstat(exe_fd, &st) != 0)
		return;
	program = find_program(reach, exe_fd, (struct file_id){ st.st_dev, st.st_ino });
	/* the module's own target: an executable given with --libssl */
	if (!program || same_file(program->id, reach->attached))
		return;
	say_compiled_in(reach, program, pid, exe);
	if (read_mapped_libraries(pid, &libs, &n) == -ENOENT)
		resolve_needed_libraries(program, exe, &libs, &n);
	look_at_libraries(reach, program, pid, exe, libs, n);
	free_libraries(libs, n);
}

/* Opens /proc/PID/exe and names it; -errno when pid is gone or a kernel thread. */
static int open_exe(uint32_t pid, int *exe_fd, char **exe_path)
{
	char link_path[64], target[4096];
	ssize_t len;

	snprintf(link_path, sizeof(link_path), "/proc/%u/exe", pid);
	*exe_fd = open(link_path, O_RDONLY | O_CLOEXEC);
	if (*exe_fd < 0)
		return -errno;
	len = readlink(link_path, target, sizeof(target) - 1);
	if (len < 0)
		len = 0;
	target[len] = '\0';
	*exe_path = strdup(len ? target : "(unknown)");
	if (!*exe_path) {
		close(*exe_fd);
		return -ENOMEM;
	}
	return 0;
}

static bool process_uid(uint32_t pid, uint32_t *uid)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%u", pid);
	if (stat(path, &st) != 0)
		return false;
	*uid = st.st_uid;
	return true;
}

static bool wanted(const struct ps_reach *reach, uint32_t pid, uint32_t uid)
{
	return pid != reach->opts.self_pid && (!reach->opts.has_uid || uid == reach->opts.uid);
}

void ps_reach_scan_running(struct ps_reach *reach)
{
	DIR *dir = opendir("/proc");
	struct dirent *entry;

	if (!dir) {
		ps_warn("cannot read /proc: %s; running programs are not checked for what is out of reach",
			strerror(errno));
		return;
	}
	while ((entry = readdir(dir)) != NULL) {
		uint32_t pid, uid;
		char *exe;
		int fd;

		if (!isdigit((unsigned char)entry->d_name[0]))
			continue;
		pid = (uint32_t)strtoul(entry->d_name, NULL, 10);
		if (!process_uid(pid, &uid) || !wanted(reach, pid, uid) || open_exe(pid, &fd, &exe) != 0)
			continue;
		look_at_process(reach, pid, fd, exe);
		close(fd);
		free(exe);
	}
	closedir(dir);
}

void ps_reach_exec(struct ps_reach *reach, uint32_t pid, uint32_t uid, uint64_t now_ns)
{
	struct waiting w = { .pid = pid, .due_ns = now_ns + EXEC_SETTLE_NS };
	struct waiting *grown;

	if (!wanted(reach, pid, uid) || open_exe(pid, &w.exe_fd, &w.exe_path) != 0)
		return;
	if (reach->n_waiting >= MAX_WAITING) {
		look_at_process(reach, pid, w.exe_fd, w.exe_path);
		forget_waiting(&w);
		return;
	}
	grown = realloc(reach->waiting, (reach->n_waiting + 1) * sizeof(*grown));
	if (!grown) {
		forget_waiting(&w);
		return;
	}
	reach->waiting = grown;
	reach->waiting[reach->n_waiting++] = w;
}

void ps_reach_poll(struct ps_reach *reach, uint64_t now_ns, bool flush)
{
	size_t kept = 0;

	if (!reach)
		return;
	/* in exec order, which is due order */
	for (size_t i = 0; i < reach->n_waiting; i++) {
		struct waiting *w = &reach->waiting[i];

		if (!flush && w->due_ns > now_ns) {
			reach->waiting[kept++] = *w;
			continue;
		}
		look_at_process(reach, w->pid, w->exe_fd, w->exe_path);
		forget_waiting(w);
	}
	reach->n_waiting = kept;
}
