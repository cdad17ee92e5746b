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
#include "proc_maps.h"
#include "reach.h"

/*
 * A process whose dynamic loader is probed (exec_watch.bpf.c) is looked at
 * when the loader says it has mapped libraries. Any other (a loader in a
 * container, a static program) is looked at as soon as its loader may have
 * mapped what it needs (a few ms: a curl run may be over in 30), again in
 * case that was slow, and once more when a program that loads its TLS
 * library later (Python's ssl module) has had time to: ms after the exec.
 */
static const uint64_t look_after_ms[] = { 5, 25, 300 };
#define N_LOOKS (sizeof(look_after_ms) / sizeof(look_after_ms[0]))
/* Past this many processes waiting (an exec storm), the next ones are looked at without waiting. */
#define MAX_WAITING 256

struct file_id {
	dev_t dev;
	ino_t ino;
};

struct program {
	struct file_id id;
	char *path;                 /* as the first process seen running it named it */
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
	size_t program;             /* index into programs */
	uint64_t exec_ns;
	uint64_t due_ns;
	unsigned int looks;         /* done so far */
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
	uint64_t unchecked;         /* processes gone before their program could be read */
};

static bool same_file(struct file_id a, struct file_id b)
{
	return a.dev == b.dev && a.ino == b.ino;
}

struct ps_reach *ps_reach_new(const struct ps_reach_opts *opts)
{
	struct ps_reach *reach;
	struct stat st;

	memset(&st, 0, sizeof(st));
	if (opts->attached && stat(opts->attached, &st) != 0)
		return NULL;
	reach = calloc(1, sizeof(*reach));
	if (!reach)
		return NULL;
	reach->opts = *opts;
	/* no file attached yet (gotls watching every Go program): inode 0 is no file's */
	reach->attached = (struct file_id){ st.st_dev, st.st_ino };
	return reach;
}

void ps_reach_free(struct ps_reach *reach)
{
	if (!reach)
		return;
	for (size_t i = 0; i < reach->n_programs; i++) {
		ps_exe_tls_free(&reach->programs[i].tls);
		free(reach->programs[i].path);
	}
	free(reach->programs);
	free(reach->said);
	free(reach->waiting);
	free(reach);
}

uint64_t ps_reach_unreachable_programs(const struct ps_reach *reach)
{
	return reach ? reach->unreachable : 0;
}

uint64_t ps_reach_unchecked(const struct ps_reach *reach)
{
	return reach ? reach->unchecked : 0;
}

static bool module_probes(const struct ps_reach *reach, const struct ps_tls_stack *stack)
{
	return strcmp(reach->opts.module, stack->module) == 0;
}

static struct program *known_program(struct ps_reach *reach, struct file_id id)
{
	for (size_t i = 0; i < reach->n_programs; i++)
		if (same_file(reach->programs[i].id, id))
			return &reach->programs[i];
	return NULL;
}

/* The program in the open file exe_fd, read on first sight; NULL when out of memory. */
static struct program *add_program(struct ps_reach *reach, int exe_fd, struct file_id id, const char *path)
{
	struct program *grown, *program;
	char fd_path[64];

	grown = realloc(reach->programs, (reach->n_programs + 1) * sizeof(*grown));
	if (!grown)
		return NULL;
	reach->programs = grown;
	program = &reach->programs[reach->n_programs];
	memset(program, 0, sizeof(*program));
	program->id = id;
	program->path = strdup(path);
	if (!program->path)
		return NULL;
	snprintf(fd_path, sizeof(fd_path), "/proc/self/fd/%d", exe_fd);
	/* what is no ELF file we can read carries nothing of its own */
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

static void say(struct ps_reach *reach, struct program *program, uint32_t pid, const struct ps_tls_stack *stack,
		const struct mapped_library *library, const char *reason)
{
	struct said key = { .program = program->id, .stack = stack };
	struct ps_notice notice = { .pid = pid, .exe = program->path, .stack = stack, .reason = reason };

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
static void say_library(struct ps_reach *reach, struct program *program, uint32_t pid,
			const struct mapped_library *library)
{
	char *reason = NULL;
	int n;

	if (module_probes(reach, library->stack))
		n = asprintf(&reason, "%s from %s, not the %s the %s module is attached to: trace it with --%s %s",
			     library->stack->name, library->path, reach->opts.attached, reach->opts.module,
			     reach->opts.override_flag ? reach->opts.override_flag : "libssl", library->path);
	else
		n = asprintf(&reason, "%s (%s), not probed by the %s module", library->stack->name, library->path,
			     reach->opts.module);
	if (n < 0)
		return;
	say(reach, program, pid, library->stack, library, reason);
	free(reason);
}

static void say_compiled_in(struct ps_reach *reach, struct program *program, uint32_t pid)
{
	char *reason = NULL;

	/* discovery: a Go program gets probes of its own (the gotls module with neither -e nor -p) */
	if (program->tls.go_tls && module_probes(reach, &ps_tls_go) && reach->opts.attach_copy)
		reach->opts.attach_copy(pid, program->path, program->id.dev, program->id.ino, reach->opts.arg);
	if (program->tls.go_tls && !module_probes(reach, &ps_tls_go) &&
	    asprintf(&reason, "%s, not probed by the %s module", ps_tls_go.name, reach->opts.module) >= 0) {
		say(reach, program, pid, &ps_tls_go, NULL, reason);
		free(reason);
		reason = NULL;
	}
	/* the module attached elsewhere: OpenSSL inside this executable has no probes, unless discovery adds them */
	if (program->tls.static_openssl && module_probes(reach, &ps_tls_openssl) && reach->opts.attach_copy &&
	    reach->opts.attach_copy(pid, program->path, program->id.dev, program->id.ino, reach->opts.arg) >= 0)
		return;
	if (program->tls.static_openssl &&
	    asprintf(&reason, "%s linked into the executable, not probed by the %s module: trace it with --libssl %s",
		     ps_tls_openssl.name, reach->opts.module, program->path) >= 0) {
		say(reach, program, pid, &ps_tls_openssl, NULL, reason);
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

struct mapped_libraries {
	struct mapped_library **libs;
	size_t *n;
};

static int add_if_tls_library(const struct ps_code_map *map, void *arg)
{
	struct mapped_libraries *found = arg;
	const struct ps_tls_stack *stack = ps_tls_stack_of_library(map->path);

	return stack ? add_library(found->libs, found->n, stack, (struct file_id){ map->dev, map->ino }, map->path) : 0;
}

/* The TLS libraries pid has mapped; -ENOENT when it is gone. */
static int read_mapped_libraries(uint32_t pid, struct mapped_library **libs, size_t *n)
{
	struct mapped_libraries found = { libs, n };
	int err = ps_proc_code_maps(pid, add_if_tls_library, &found);

	/* a process gone while being read leaves an empty file */
	return err ? err : *n ? 0 : -ENOENT;
}

/* A process gone before its maps were read: the libraries its executable names, found as ld.so would. */
static void resolve_needed_libraries(const struct program *program, struct mapped_library **libs, size_t *n)
{
	for (size_t i = 0; i < program->tls.n_needed; i++) {
		char path[4096];
		struct stat st;

		if (ps_ldcache_resolve_needed(program->path, program->tls.needed[i], path, sizeof(path)) != 0 ||
		    stat(path, &st) != 0)
			continue;
		if (add_library(libs, n, ps_tls_stack_of_library(path), (struct file_id){ st.st_dev, st.st_ino },
				path) != 0)
			return;
	}
}

/*
 * Whether path is in the attached file's directory: a library of the same
 * stack there is part of the attached copy, mapped or not yet (Firefox maps
 * its bundled libnss3 at start and dlopens libssl3, beside it, later).
 */
static bool beside_attached(const struct ps_reach *reach, const char *path)
{
	const char *a = reach->opts.attached, *slash_a = a ? strrchr(a, '/') : NULL, *slash_p = strrchr(path, '/');

	return slash_a && slash_p && slash_a - a == slash_p - path && strncmp(a, path, (size_t)(slash_a - a)) == 0;
}

/*
 * A process with a library of the module's own stack mapped (the attached
 * copy or another, said on its own) has its TLS there: another stack beside
 * it (curl's libcurl pulls in GnuTLS through librtmp) is said only when the
 * executable itself names it.
 */
static void look_at_libraries(struct ps_reach *reach, struct program *program, uint32_t pid,
			      const struct mapped_library *libs, size_t n)
{
	const struct ps_tls_stack *attached_stack = NULL;
	bool uses_module_stack = false;

	for (size_t i = 0; i < n; i++) {
		if (module_probes(reach, libs[i].stack))
			uses_module_stack = true;
		if (same_file(libs[i].id, reach->attached))
			attached_stack = libs[i].stack;
	}
	for (size_t i = 0; i < n; i++) {
		const struct mapped_library *lib = &libs[i];

		/* the attached file, or another library of its stack beside it (NSS's libnss3 beside libssl3) */
		if (same_file(lib->id, reach->attached) || (attached_stack && lib->stack == attached_stack))
			continue;
		/* discovery: another copy of the module's library gets probes of its own */
		if (module_probes(reach, lib->stack) && reach->opts.attach_copy &&
		    reach->opts.attach_copy(pid, lib->path, lib->id.dev, lib->id.ino, reach->opts.arg) >= 0)
			continue;
		if (module_probes(reach, lib->stack) && beside_attached(reach, lib->path))
			continue;
		if (module_probes(reach, lib->stack) || !uses_module_stack ||
		    ps_exe_tls_needs(&program->tls, lib->stack))
			say_library(reach, program, pid, lib);
	}
}

/* Whether the process is still there to be looked at again. */
static bool look_at_process(struct ps_reach *reach, uint32_t pid, struct program *program)
{
	struct mapped_library *libs = NULL;
	size_t n = 0;
	bool alive = true;

	/* the module's own target: an executable given with --libssl */
	if (same_file(program->id, reach->attached))
		return false;
	say_compiled_in(reach, program, pid);
	if (read_mapped_libraries(pid, &libs, &n) == -ENOENT) {
		alive = false;
		resolve_needed_libraries(program, &libs, &n);
	}
	look_at_libraries(reach, program, pid, libs, n);
	free_libraries(libs, n);
	return alive;
}

/*
 * The program pid runs, read on first sight through /proc/PID/exe, or when
 * the process is already gone through the name exec was given (fallback,
 * when absolute), provided it is still the same file. NULL: neither is.
 */
static struct program *program_of(struct ps_reach *reach, uint32_t pid, struct file_id id, const char *fallback)
{
	char link_path[64], name[4096];
	struct program *program = NULL;
	struct stat st;
	ssize_t len;
	int fd;

	snprintf(link_path, sizeof(link_path), "/proc/%u/exe", pid);
	fd = open(link_path, O_RDONLY | O_CLOEXEC);
	len = fd >= 0 ? readlink(link_path, name, sizeof(name) - 1) : -1;
	if (len > 0 && fstat(fd, &st) == 0 && same_file((struct file_id){ st.st_dev, st.st_ino }, id)) {
		name[len] = '\0';
		program = add_program(reach, fd, id, name);
	} else if (fallback && fallback[0] == '/') {
		if (fd >= 0)
			close(fd);
		fd = open(fallback, O_RDONLY | O_CLOEXEC);
		if (fd >= 0 && fstat(fd, &st) == 0 && same_file((struct file_id){ st.st_dev, st.st_ino }, id))
			program = add_program(reach, fd, id, fallback);
	}
	if (fd >= 0)
		close(fd);
	return program;
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
		struct program *program;
		char exe_path[64];
		uint32_t pid, uid;
		struct stat st;

		if (!isdigit((unsigned char)entry->d_name[0]))
			continue;
		pid = (uint32_t)strtoul(entry->d_name, NULL, 10);
		snprintf(exe_path, sizeof(exe_path), "/proc/%u/exe", pid);
		/* kernel threads have no executable */
		if (!process_uid(pid, &uid) || !wanted(reach, pid, uid) || stat(exe_path, &st) != 0)
			continue;
		program = known_program(reach, (struct file_id){ st.st_dev, st.st_ino });
		if (!program)
			program = program_of(reach, pid, (struct file_id){ st.st_dev, st.st_ino }, NULL);
		if (program)
			look_at_process(reach, pid, program);
	}
	closedir(dir);
}

void ps_reach_exec(struct ps_reach *reach, const struct ps_exec_event *event, uint64_t now_ns)
{
	/* the kernel's dev_t is major << 20 | minor */
	struct file_id id = { makedev(event->dev >> 20, event->dev & 0xfffff), (ino_t)event->ino };
	struct program *program;
	struct waiting *grown;

	if (!wanted(reach, event->pid, event->uid))
		return;
	program = known_program(reach, id);
	if (!program)
		program = program_of(reach, event->pid, id, event->path_truncated ? NULL : event->path);
	if (!program) {
		reach->unchecked++;
		return;
	}
	/* a Go program needs only its executable, which exec has mapped: attached now, before its first call */
	if (program->tls.go_tls && module_probes(reach, &ps_tls_go) && reach->opts.attach_copy)
		reach->opts.attach_copy(event->pid, program->path, program->id.dev, program->id.ino, reach->opts.arg);
	if (reach->n_waiting >= MAX_WAITING) {
		look_at_process(reach, event->pid, program);
		return;
	}
	grown = realloc(reach->waiting, (reach->n_waiting + 1) * sizeof(*grown));
	if (!grown) {
		look_at_process(reach, event->pid, program);
		return;
	}
	reach->waiting = grown;
	reach->waiting[reach->n_waiting++] = (struct waiting){
		.pid = event->pid,
		.program = (size_t)(program - reach->programs),
		.exec_ns = now_ns,
		.due_ns = now_ns + look_after_ms[0] * 1000000ull,
	};
}

void ps_reach_libraries_mapped(struct ps_reach *reach, uint32_t pid, uint32_t uid)
{
	struct program *program = NULL;
	char exe_path[64];
	struct stat st;

	if (!wanted(reach, pid, uid))
		return;
	/* the loader says when to look: the timed looks are no longer needed */
	for (size_t i = 0; i < reach->n_waiting && !program; i++) {
		if (reach->waiting[i].pid != pid)
			continue;
		program = &reach->programs[reach->waiting[i].program];
		reach->waiting[i] = reach->waiting[--reach->n_waiting];
	}
	if (!program) {
		/* a dlopen in a process older than the exec watch */
		snprintf(exe_path, sizeof(exe_path), "/proc/%u/exe", pid);
		if (stat(exe_path, &st) != 0)
			return;
		program = known_program(reach, (struct file_id){ st.st_dev, st.st_ino });
		if (!program)
			program = program_of(reach, pid, (struct file_id){ st.st_dev, st.st_ino }, NULL);
		if (!program)
			return;
	}
	look_at_process(reach, pid, program);
}

void ps_reach_poll(struct ps_reach *reach, uint64_t now_ns, bool flush)
{
	size_t kept = 0;

	if (!reach)
		return;
	for (size_t i = 0; i < reach->n_waiting; i++) {
		struct waiting *w = &reach->waiting[i];
		bool alive;

		if (!flush && w->due_ns > now_ns) {
			reach->waiting[kept++] = *w;
			continue;
		}
		alive = look_at_process(reach, w->pid, &reach->programs[w->program]);
		if (alive && ++w->looks < N_LOOKS && !flush) {
			w->due_ns = w->exec_ns + look_after_ms[w->looks] * 1000000ull;
			reach->waiting[kept++] = *w;
		}
	}
	reach->n_waiting = kept;
}

int64_t ps_reach_next_look_ns(const struct ps_reach *reach, uint64_t now_ns)
{
	uint64_t next = UINT64_MAX;

	if (!reach || !reach->n_waiting)
		return -1;
	for (size_t i = 0; i < reach->n_waiting; i++)
		if (reach->waiting[i].due_ns < next)
			next = reach->waiting[i].due_ns;
	return next > now_ns ? (int64_t)(next - now_ns) : 0;
}
