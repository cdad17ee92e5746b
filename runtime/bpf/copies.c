/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include "attached_note.h"
#include "copies.h"
#include "link.h"
#include "log.h"
#include "proc_maps.h"

struct file_id {
	dev_t dev;
	ino_t ino;
};

/*
 * One attachment: the files its probes went into. A module of one target
 * has one; NSS's copy (libssl3, freebl and libnspr4 as one process maps
 * them) has those of its files no other attachment had probes in already.
 */
struct copy {
	struct file_id *files;
	size_t n_files;
	bool attached;              /* false: it could not be (said once) */
	struct ps_probes probes;
	char *path;                 /* as the first process found with it names it */
	uint32_t *users;            /* processes known to map it, whose exit is watched */
	size_t n_users;
	bool users_unknown;         /* an exit could not be watched: never released before the end */
};

struct ps_copies {
	const struct ps_options *opts;
	const struct ps_probes *primary;
	uint32_t n_targets;
	struct file_id *primary_files; /* one per target */
	char **primary_paths;
	struct copy **copies;
	size_t n_copies;
	uint32_t n_attached;        /* files with probes now */
	uint32_t n_ever;            /* over the run, the released too */
	uint64_t released_interrupted; /* calls left in released copies' objects, not yet taken by a sweep */
	ps_attachment_fn announce;
	ps_exit_watch_fn watch_exit;
	void *arg;
};

/* One target's file as one process has it. */
struct member {
	char path[PATH_MAX];        /* as /proc/PID/maps names it */
	char opened[PATH_MAX];      /* a name it can be opened by from here */
	struct file_id id;
	bool found;
	bool primary;               /* the primary's file: probed from the start */
	struct copy *owner;         /* the copy whose probes are in it; NULL: none (nor the primary's) */
};

static uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * Discovery applies to a module whose targets are all libraries (or a
 * program linking one in), none named on the command line: --libssl PATH
 * (--nss, --nspr, --freebl) means that file and no other.
 */
static bool discovers(const struct ps_options *opts)
{
	const struct ps_module_desc *module = opts->module;

	if (!module->n_targets || opts->pid)
		return false;
	for (uint32_t t = 0; t < module->n_targets; t++) {
		const char *given = ps_cli_flag_value(opts, ps_target_override_flag(opts, &module->targets[t]));

		if (module->targets[t].go || !module->targets[t].library || (given && *given))
			return false;
	}
	return true;
}

struct ps_copies *ps_copies_new(const struct ps_options *opts, const struct ps_plan *primary_plan,
				const struct ps_probes *primary, ps_attachment_fn announce, ps_exit_watch_fn watch_exit,
				void *arg)
{
	uint32_t n_targets = opts->module->n_targets;
	struct ps_copies *copies;

	errno = 0;
	/* a Go program's module given neither -e nor -p (a watch_only plan): every program found is a copy */
	if (primary_plan->n_targets != n_targets || !(primary_plan->watch_only || discovers(opts)))
		return NULL;
	copies = calloc(1, sizeof(*copies));
	if (!copies)
		return NULL;
	*copies = (struct ps_copies){ .opts = opts, .primary = primary, .n_targets = n_targets,
				      .n_attached = primary_plan->watch_only ? 0 : n_targets,
				      .n_ever = primary_plan->watch_only ? 0 : n_targets, .announce = announce,
				      .watch_exit = watch_exit, .arg = arg };
	copies->primary_files = calloc(n_targets, sizeof(*copies->primary_files));
	copies->primary_paths = calloc(n_targets, sizeof(*copies->primary_paths));
	if (!copies->primary_files || !copies->primary_paths)
		goto fail;
	for (uint32_t t = 0; t < n_targets; t++) {
		struct stat st;

		/* a watch_only plan has no file (inode 0: none is the primary's) */
		if (primary_plan->watch_only)
			st = (struct stat){ 0 };
		else if (stat(primary_plan->targets[t].path, &st) != 0) {
			errno = 0;   /* a file gone since: no discovery, nothing to say */
			goto fail;
		}
		copies->primary_files[t] = (struct file_id){ st.st_dev, st.st_ino };
		copies->primary_paths[t] = strdup(primary_plan->targets[t].path);
		if (!copies->primary_paths[t])
			goto fail;
	}
	return copies;
fail:
	ps_copies_free(copies);
	return NULL;
}

static bool same_file(struct file_id a, struct file_id b)
{
	return a.dev == b.dev && a.ino == b.ino;
}

static bool is_file(const char *path, struct file_id id)
{
	struct stat st;

	return stat(path, &st) == 0 && same_file((struct file_id){ st.st_dev, st.st_ino }, id);
}

/* The path as the process names it: without its root's prefix (a chroot), when it has one. */
static const char *name_inside(uint32_t pid, const char *path, char *root, size_t size)
{
	char link[64];
	ssize_t len;

	snprintf(link, sizeof(link), "/proc/%u/root", pid);
	len = readlink(link, root, size - 1);
	if (len <= 1)
		return path;
	root[len] = '\0';
	if (strncmp(path, root, (size_t)len) == 0 && path[len] == '/')
		return path + len;
	return path;
}

/*
 * A name of the file this process can open: /proc/PID/maps names it from
 * our root, which reaches it unless the process sits in another mount
 * namespace (a file on a mount only it has); /proc/PID/root is that
 * process's root, under which the file has the name the process gives it.
 * The device and inode tell it is the file mapped, not another of the same
 * name.
 */
static int reachable_name(uint32_t pid, const char *path, struct file_id id, char *name, size_t size)
{
	char root[PATH_MAX];

	if ((size_t)snprintf(name, size, "%s", path) < size && is_file(name, id))
		return 0;
	if ((size_t)snprintf(name, size, "/proc/%u/root%s", pid, name_inside(pid, path, root, sizeof(root))) < size &&
	    is_file(name, id))
		return 0;
	if ((size_t)snprintf(name, size, "/proc/%u/root%s", pid, path) < size && is_file(name, id))
		return 0;
	return -ENOENT;
}

static bool has_file(const struct copy *copy, struct file_id id)
{
	for (size_t f = 0; f < copy->n_files; f++)
		if (same_file(copy->files[f], id))
			return true;
	return false;
}

/* The copy whose probes are in the file; NULL: none's. */
static struct copy *owner_of(const struct ps_copies *copies, struct file_id id)
{
	for (size_t i = 0; i < copies->n_copies; i++)
		if (has_file(copies->copies[i], id))
			return copies->copies[i];
	return NULL;
}

static bool is_primary_file(const struct ps_copies *copies, struct file_id id)
{
	for (uint32_t t = 0; t < copies->n_targets; t++)
		if (copies->primary_files[t].ino && same_file(copies->primary_files[t], id))
			return true;
	return false;
}

struct targets_search {
	const struct ps_copies *copies;
	struct member *members;
};

static int note_if_target(const struct ps_code_map *map, void *arg)
{
	struct targets_search *s = arg;
	const struct ps_module_desc *module = s->copies->opts->module;

	for (uint32_t t = 0; t < s->copies->n_targets; t++) {
		struct member *m = &s->members[t];

		if (m->found || !ps_target_same_library(module->targets[t].library, map->path) ||
		    (size_t)snprintf(m->path, sizeof(m->path), "%s", map->path) >= sizeof(m->path))
			continue;
		m->id = (struct file_id){ map->dev, map->ino };
		m->found = true;
	}
	return 0;
}

/* Each target's file that pid maps as code (NSS's libssl3, freebl, libnspr4); -errno: its maps cannot be read. */
static int read_mapped_targets(const struct ps_copies *copies, uint32_t pid, struct member *members)
{
	struct targets_search search = { copies, members };

	return ps_proc_code_maps(pid, note_if_target, &search);
}

/*
 * A target not mapped yet, in the directory of the library found (lib):
 * NSS's softoken dlopens freebl from its own directory when NSS starts,
 * after libssl3 is mapped, and Firefox dlopens libssl3 beside its libnss3.
 * Looked at from the process's root first: the file it would load.
 */
static bool find_beside(uint32_t pid, const char *lib, const char *library, struct member *m)
{
	const char *slash = strrchr(lib, '/');
	char root[PATH_MAX];
	struct stat st;

	if (!slash || (size_t)snprintf(m->path, sizeof(m->path), "%.*s/%s", (int)(slash - lib), lib, library) >=
	    sizeof(m->path))
		return false;
	if (!((size_t)snprintf(m->opened, sizeof(m->opened), "/proc/%u/root%s", pid,
			       name_inside(pid, m->path, root, sizeof(root))) < sizeof(m->opened) &&
	      stat(m->opened, &st) == 0) && stat(m->path, &st) != 0)
		return false;
	m->id = (struct file_id){ st.st_dev, st.st_ino };
	m->found = true;
	return true;
}

/*
 * The files of the module's targets process pid has, lib (dev, ino) being
 * one of its libraries that discovery found: for a module of one target,
 * lib itself; else each target's file the process maps, or the one beside
 * lib (mapped later), or the primary's (what ld.so would find).
 */
static int find_members(const struct ps_copies *copies, uint32_t pid, const char *lib, struct file_id lib_id,
			struct member *members)
{
	const struct ps_module_desc *module = copies->opts->module;

	if (copies->n_targets == 1) {
		if ((size_t)snprintf(members[0].path, sizeof(members[0].path), "%s", lib) >= sizeof(members[0].path))
			return -ENAMETOOLONG;
		members[0].id = lib_id;
		members[0].found = true;
		return 0;
	}
	/* a process gone already has its files found as it would have loaded them */
	read_mapped_targets(copies, pid, members);
	for (uint32_t t = 0; t < copies->n_targets; t++) {
		struct member *m = &members[t];

		if (m->found || find_beside(pid, lib, module->targets[t].library, m))
			continue;
		snprintf(m->path, sizeof(m->path), "%s", copies->primary_paths[t]);
		m->id = copies->primary_files[t];
		m->found = true;
	}
	return 0;
}

/*
 * Gone, or a zombie: its exit (sched_process_exit comes before the zombie)
 * was before its exit could be watched, so no exit event will say it.
 */
static bool process_ended(uint32_t pid)
{
	char path[64], *line = NULL, *close_paren;
	size_t cap = 0;
	bool ended = true;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	f = fopen(path, "re");
	/* "pid (comm) S ...": comm may hold ')' itself, the last one ends it */
	if (f && getline(&line, &cap, f) > 0 && (close_paren = strrchr(line, ')')) != NULL)
		ended = close_paren[1] != ' ' || close_paren[2] == 'Z' || close_paren[2] == 'X';
	free(line);
	if (f)
		fclose(f);
	return ended;
}

static void add_user(struct ps_copies *copies, struct copy *copy, uint32_t pid)
{
	uint32_t *grown;

	for (size_t i = 0; i < copy->n_users; i++)
		if (copy->users[i] == pid)
			return;
	grown = realloc(copy->users, (copy->n_users + 1) * sizeof(*grown));
	if (!grown || !copies->watch_exit || !copies->watch_exit(pid, copies->arg)) {
		if (grown)
			copy->users = grown;
		copy->users_unknown = true;
		return;
	}
	copy->users = grown;
	/* watched from now on: an exit after this look is an event; one before it is none, and not waited for */
	if (process_ended(pid))
		return;
	copy->users[copy->n_users++] = pid;
}

static bool find_users(struct ps_copies *copies, struct copy *copy);
static void release(struct ps_copies *copies, size_t index, uint32_t pid);

/* A copy of the members no probes are in yet: attach_target says which. NULL: out of memory. */
static struct copy *add_copy(struct ps_copies *copies, const struct member *members, const bool *attach_target)
{
	struct copy **grown = realloc(copies->copies, (copies->n_copies + 1) * sizeof(*grown));
	struct copy *copy;

	if (!grown)
		return NULL;
	copies->copies = grown;
	copy = calloc(1, sizeof(*copy));
	if (copy)
		copy->files = calloc(copies->n_targets, sizeof(*copy->files));
	if (!copy || !copy->files) {
		free(copy);
		return NULL;
	}
	for (uint32_t t = 0; t < copies->n_targets; t++) {
		if (!attach_target[t])
			continue;
		copy->files[copy->n_files++] = members[t].id;
		if (!copy->path)
			copy->path = strdup(members[t].path);
	}
	copies->copies[copies->n_copies++] = copy;
	return copy;
}

/* The other files the attachment put probes in, as the process names them, for the attached line. */
static size_t name_others(uint32_t pid, const struct member *members, const bool *attach_target, uint32_t n,
			  const char *first, const char **others, char (*roots)[PATH_MAX])
{
	size_t n_others = 0;

	for (uint32_t t = 0; t < n; t++)
		if (attach_target[t] && members[t].path != first) {
			others[n_others] = name_inside(pid, members[t].path, roots[n_others], PATH_MAX);
			n_others++;
		}
	return n_others;
}

static void announce(struct ps_copies *copies, uint32_t pid, const struct member *members,
		     const bool *attach_target, const struct ps_plan *plan, const struct copy *copy,
		     uint64_t attach_ns)
{
	uint32_t first = 0;
	char root[PATH_MAX];
	const char **others = calloc(copies->n_targets, sizeof(*others));
	char (*roots)[PATH_MAX] = calloc(copies->n_targets, sizeof(*roots));
	char *note = ps_attached_note(copies->opts, &copy->probes);
	struct ps_attachment attachment = {
		.pid = pid,
		.product = plan->targets[0].product,
		.version = plan->targets[0].version,
		.layout = plan->layout ? plan->layout->name : "none",
		.n_uprobes = copy->probes.n_uprobes,
		.note = note ? note : " (out of memory for the hooks' names)",
		.attach_ns = attach_ns,
		.also = others,
	};

	/* named by its first target's file with probes; the others follow ("also") */
	while (first + 1 < copies->n_targets && !attach_target[first])
		first++;
	attachment.path = name_inside(pid, members[first].path, root, sizeof(root));
	attachment.opened = members[first].opened;
	if (others && roots)
		attachment.n_also = name_others(pid, members, attach_target, copies->n_targets, members[first].path,
						others, roots);
	copies->announce(&attachment, copies->arg);
	free(note);
	free(others);
	free(roots);
}

/* A name to open each member by: every one is read (the version from libssl3, each hook's site). */
static int open_names(const struct ps_copies *copies, uint32_t pid, struct member *members, const char **names)
{
	for (uint32_t t = 0; t < copies->n_targets; t++) {
		struct member *m = &members[t];

		if (!m->opened[0] || !is_file(m->opened, m->id)) {
			if (reachable_name(pid, m->path, m->id, m->opened, sizeof(m->opened))) {
				ps_warn("%s: cannot attach to %s of pid %u: the file cannot be reached from here",
					copies->opts->module->name, m->path, pid);
				return -ENOENT;
			}
		}
		names[t] = m->opened;
	}
	return 0;
}

/* Probes into the members attach_target names, with a plan made for all of them: 1, or a negative errno. */
static int attach_members(struct ps_copies *copies, uint32_t pid, struct member *members, const bool *attach_target)
{
	const char **names = calloc(copies->n_targets, sizeof(*names));
	struct ps_plan plan = { 0 };
	uint64_t start = monotonic_ns();
	struct copy *copy = add_copy(copies, members, attach_target);
	int err;

	if (!names || !copy) {
		free(names);
		return -ENOMEM;
	}
	/* the plan and the probes say what fails themselves */
	err = open_names(copies, pid, members, names);
	if (!err)
		err = ps_plan_make_files(copies->opts, names, copies->n_targets, &plan);
	if (!err)
		err = ps_probes_attach_copy(copies->opts, &plan, copies->primary, attach_target, &copy->probes);
	if (!err) {
		copy->attached = true;
		copies->n_attached += (uint32_t)copy->n_files;
		copies->n_ever += (uint32_t)copy->n_files;
		add_user(copies, copy, pid);
		announce(copies, pid, members, attach_target, &plan, copy, monotonic_ns() - start);
		ps_plan_print_warnings(&plan);
		/* its process ended while it was being attached (a short run), and no other maps it */
		if (!copy->n_users && !copy->users_unknown && !find_users(copies, copy))
			release(copies, copies->n_copies - 1, pid);
	} else {
		/* its files stay known: a failure is said once */
		ps_probes_destroy(&copy->probes);
	}
	ps_plan_free(&plan);
	free(names);
	return err ? err : 1;
}

int ps_copies_attach(struct ps_copies *copies, uint32_t pid, const char *path, dev_t dev, ino_t ino)
{
	struct member *members;
	bool *attach_target;
	bool any_new = false, failed = false;
	int err;

	if (!copies)
		return -ENOTSUP;
	members = calloc(copies->n_targets, sizeof(*members));
	attach_target = calloc(copies->n_targets, sizeof(*attach_target));
	err = members && attach_target ? find_members(copies, pid, path, (struct file_id){ dev, ino }, members)
				       : -ENOMEM;
	for (uint32_t t = 0; !err && t < copies->n_targets; t++) {
		struct member *m = &members[t];

		m->primary = is_primary_file(copies, m->id);
		m->owner = m->primary ? NULL : owner_of(copies, m->id);
		if (m->owner && m->owner->attached)
			add_user(copies, m->owner, pid);
		failed |= m->owner && !m->owner->attached;
		attach_target[t] = !m->primary && !m->owner;
		any_new |= attach_target[t];
	}
	if (!err && failed)
		err = -EALREADY;
	/* an ended process: nothing of it to see, and nothing would say when to release the copy; the next to map it will */
	else if (!err && any_new && !process_ended(pid))
		err = attach_members(copies, pid, members, attach_target);
	free(members);
	free(attach_target);
	return err;
}

/* Every process whose maps show one of the copy's files as code, found by reading them all; false: none. */
static int is_copy_file(const struct ps_code_map *map, void *copy)
{
	return has_file(copy, (struct file_id){ map->dev, map->ino });
}

static bool find_users(struct ps_copies *copies, struct copy *copy)
{
	DIR *dir = opendir("/proc");
	struct dirent *entry;
	bool found = false;

	if (!dir)
		return true;   /* cannot tell: keep it */
	while ((entry = readdir(dir)) != NULL) {
		uint32_t pid = (uint32_t)strtoul(entry->d_name, NULL, 10);

		if (pid && ps_proc_code_maps(pid, is_copy_file, copy) > 0) {
			add_user(copies, copy, pid);
			found = true;
		}
	}
	closedir(dir);
	return found;
}

static void free_copy(struct copy *copy)
{
	ps_probes_destroy(&copy->probes);
	free(copy->files);
	free(copy->users);
	free(copy->path);
	free(copy);
}

static void release(struct ps_copies *copies, size_t index, uint32_t pid)
{
	struct copy *copy = copies->copies[index];
	struct ps_attachment attachment = { .pid = pid, .path = copy->path ? copy->path : "?", .opened = "",
					    .version = "", .layout = "", .released = true };

	copies->released_interrupted += ps_probes_release_leftovers(&copy->probes);
	copies->n_attached -= (uint32_t)copy->n_files;
	copies->announce(&attachment, copies->arg);
	free_copy(copy);
	/* forgotten: a process that maps the file again has it attached anew */
	copies->copies[index] = copies->copies[--copies->n_copies];
}

void ps_copies_process_exit(struct ps_copies *copies, uint32_t pid)
{
	for (size_t i = 0; copies && i < copies->n_copies; i++) {
		struct copy *copy = copies->copies[i];
		size_t u;

		for (u = 0; u < copy->n_users && copy->users[u] != pid; u++)
			;
		if (u == copy->n_users)
			continue;
		copy->users[u] = copy->users[--copy->n_users];
		if (copy->n_users || copy->users_unknown || !copy->attached || find_users(copies, copy))
			continue;
		release(copies, i--, pid);
	}
}

uint32_t ps_copies_targets(const struct ps_copies *copies, bool ever)
{
	return copies ? ever ? copies->n_ever : copies->n_attached : 1;
}

void ps_copies_detach(struct ps_copies *copies)
{
	for (size_t i = 0; copies && i < copies->n_copies; i++)
		ps_probes_detach(&copies->copies[i]->probes);
}

uint64_t ps_copies_sweep_gone(struct ps_copies *copies)
{
	uint64_t interrupted = copies ? copies->released_interrupted : 0;

	if (copies)
		copies->released_interrupted = 0;
	for (size_t i = 0; copies && i < copies->n_copies; i++)
		interrupted += ps_probes_sweep_gone(&copies->copies[i]->probes);
	return interrupted;
}

void ps_copies_free(struct ps_copies *copies)
{
	if (!copies)
		return;
	for (size_t i = 0; i < copies->n_copies; i++)
		free_copy(copies->copies[i]);
	for (uint32_t t = 0; copies->primary_paths && t < copies->n_targets; t++)
		free(copies->primary_paths[t]);
	free(copies->primary_paths);
	free(copies->primary_files);
	free(copies->copies);
	free(copies);
}
