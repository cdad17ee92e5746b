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
#include <sys/sysmacros.h>
#include "attached_note.h"
#include "copies.h"
#include "link.h"
#include "log.h"

struct copy {
	dev_t dev;
	ino_t ino;
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
	dev_t primary_dev;
	ino_t primary_ino;
	struct copy **copies;
	size_t n_copies;
	uint32_t n_attached;
	uint32_t n_ever;            /* attached over the run, the released too */
	uint64_t released_interrupted; /* calls left in released copies' objects, not yet taken by a sweep */
	ps_attachment_fn announce;
	ps_exit_watch_fn watch_exit;
	void *arg;
};

static uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct ps_copies *ps_copies_new(const struct ps_options *opts, const struct ps_plan *primary_plan,
				const struct ps_probes *primary, ps_attachment_fn announce, ps_exit_watch_fn watch_exit,
				void *arg)
{
	const struct ps_module_desc *module = opts->module;
	const char *given;
	struct ps_copies *copies;
	struct stat st;

	errno = 0;
	/* a Go program's module given neither -e nor -p (a watch_only plan): every program found is a copy */
	memset(&st, 0, sizeof(st));
	if (!primary_plan->watch_only) {
		if (module->n_targets != 1 || module->targets[0].go || !module->targets[0].library || opts->pid)
			return NULL;
		/* --libssl PATH: that file and no other */
		given = ps_cli_flag_value(opts, ps_target_override_flag(opts, &module->targets[0]));
		if (given && *given)
			return NULL;
		if (stat(primary_plan->targets[0].path, &st) != 0)
			return NULL;
	}
	copies = calloc(1, sizeof(*copies));
	if (!copies)
		return NULL;
	*copies = (struct ps_copies){ .opts = opts, .primary = primary, .primary_dev = st.st_dev,
				      .primary_ino = st.st_ino, .n_attached = !primary_plan->watch_only,
				      .n_ever = !primary_plan->watch_only, .announce = announce,
				      .watch_exit = watch_exit, .arg = arg };
	return copies;
}

static bool is_file(const char *path, dev_t dev, ino_t ino)
{
	struct stat st;

	return stat(path, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
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
static int reachable_name(uint32_t pid, const char *path, dev_t dev, ino_t ino, char *name, size_t size)
{
	char root[PATH_MAX];

	if ((size_t)snprintf(name, size, "%s", path) < size && is_file(name, dev, ino))
		return 0;
	if ((size_t)snprintf(name, size, "/proc/%u/root%s", pid, name_inside(pid, path, root, sizeof(root))) < size &&
	    is_file(name, dev, ino))
		return 0;
	if ((size_t)snprintf(name, size, "/proc/%u/root%s", pid, path) < size && is_file(name, dev, ino))
		return 0;
	return -ENOENT;
}

static struct copy *find_copy(const struct ps_copies *copies, dev_t dev, ino_t ino)
{
	for (size_t i = 0; i < copies->n_copies; i++)
		if (copies->copies[i]->dev == dev && copies->copies[i]->ino == ino)
			return copies->copies[i];
	return NULL;
}

static struct copy *add_copy(struct ps_copies *copies, dev_t dev, ino_t ino)
{
	struct copy **grown = realloc(copies->copies, (copies->n_copies + 1) * sizeof(*grown));
	struct copy *copy;

	if (!grown)
		return NULL;
	copies->copies = grown;
	copy = calloc(1, sizeof(*copy));
	if (!copy)
		return NULL;
	copy->dev = dev;
	copy->ino = ino;
	copies->copies[copies->n_copies++] = copy;
	return copy;
}

static void announce(struct ps_copies *copies, uint32_t pid, const char *path, const struct ps_plan *plan,
		     const struct copy *copy, uint64_t attach_ns)
{
	char root[PATH_MAX];
	char *note = ps_attached_note(copies->opts, &copy->probes);
	struct ps_attachment attachment = {
		.pid = pid,
		.path = name_inside(pid, path, root, sizeof(root)),
		.opened = plan->targets[0].path,
		.product = plan->targets[0].product,
		.version = plan->targets[0].version,
		.layout = plan->layout ? plan->layout->name : "none",
		.n_uprobes = copy->probes.n_uprobes,
		.note = note ? note : " (out of memory for the hooks' names)",
		.attach_ns = attach_ns,
	};

	copies->announce(&attachment, copies->arg);
	free(note);
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

int ps_copies_attach(struct ps_copies *copies, uint32_t pid, const char *path, dev_t dev, ino_t ino)
{
	struct ps_plan plan = { 0 };
	char name[PATH_MAX];
	uint64_t start = monotonic_ns();
	struct copy *copy;
	int err;

	if (!copies)
		return -ENOTSUP;
	/* inode 0: no primary file (a watch_only plan) */
	if (copies->primary_ino && dev == copies->primary_dev && ino == copies->primary_ino)
		return 0;
	copy = find_copy(copies, dev, ino);
	if (copy && copy->attached)
		add_user(copies, copy, pid);
	if (copy)
		return copy->attached ? 0 : -EALREADY;
	/* nothing of it to see, and nothing would say when to release the copy: the next process to map it will */
	if (process_ended(pid))
		return 0;
	copy = add_copy(copies, dev, ino);
	if (!copy)
		return -ENOMEM;
	copy->path = strdup(path);
	err = reachable_name(pid, path, dev, ino, name, sizeof(name));
	if (err) {
		ps_warn("%s: cannot attach to %s of pid %u: the file cannot be reached from here", copies->opts->module->name,
			path, pid);
		return err;
	}
	/* the plan and the probes say what fails themselves */
	err = ps_plan_make_at(copies->opts, name, &plan);
	if (!err)
		err = ps_probes_attach_copy(copies->opts, &plan, copies->primary, &copy->probes);
	if (!err) {
		copy->attached = true;
		copies->n_attached++;
		copies->n_ever++;
		add_user(copies, copy, pid);
		announce(copies, pid, path, &plan, copy, monotonic_ns() - start);
		ps_plan_print_warnings(&plan);
		/* its process ended while it was being attached (a short run), and no other maps it */
		if (!copy->n_users && !copy->users_unknown && !find_users(copies, copy))
			release(copies, copies->n_copies - 1, pid);
	} else {
		ps_probes_destroy(&copy->probes);
	}
	ps_plan_free(&plan);
	return err ? err : 1;
}

/* Every process whose maps show the copy as code, found by reading them all; false: none. */
static bool find_users(struct ps_copies *copies, struct copy *copy)
{
	DIR *dir = opendir("/proc");
	struct dirent *entry;
	char maps[64], *line = NULL;
	size_t cap = 0;
	bool found = false;

	if (!dir)
		return true;   /* cannot tell: keep it */
	while ((entry = readdir(dir)) != NULL) {
		uint32_t pid = (uint32_t)strtoul(entry->d_name, NULL, 10);
		FILE *f;

		if (!pid)
			continue;
		snprintf(maps, sizeof(maps), "/proc/%u/maps", pid);
		f = fopen(maps, "re");
		while (f && getline(&line, &cap, f) > 0) {
			unsigned int major, minor;
			unsigned long long inode;
			char perms[8];

			if (sscanf(line, "%*s %7s %*s %x:%x %llu", perms, &major, &minor, &inode) == 4 &&
			    perms[2] == 'x' && makedev(major, minor) == copy->dev && (ino_t)inode == copy->ino) {
				add_user(copies, copy, pid);
				found = true;
				break;
			}
		}
		if (f)
			fclose(f);
	}
	free(line);
	closedir(dir);
	return found;
}

static void release(struct ps_copies *copies, size_t index, uint32_t pid)
{
	struct copy *copy = copies->copies[index];
	struct ps_attachment attachment = { .pid = pid, .path = copy->path ? copy->path : "?", .opened = "",
					    .version = "", .layout = "", .released = true };

	copies->released_interrupted += ps_probes_release_leftovers(&copy->probes);
	ps_probes_destroy(&copy->probes);
	copies->n_attached--;
	copies->announce(&attachment, copies->arg);
	free(copy->users);
	free(copy->path);
	free(copy);
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
	for (size_t i = 0; i < copies->n_copies; i++) {
		ps_probes_destroy(&copies->copies[i]->probes);
		free(copies->copies[i]->users);
		free(copies->copies[i]->path);
		free(copies->copies[i]);
	}
	free(copies->copies);
	free(copies);
}
