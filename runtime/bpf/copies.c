/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include "copies.h"
#include "link.h"
#include "log.h"

struct copy {
	dev_t dev;
	ino_t ino;
	bool attached;              /* false: it could not be (said once) */
	struct ps_probes probes;
};

struct ps_copies {
	const struct ps_options *opts;
	const struct ps_probes *primary;
	dev_t primary_dev;
	ino_t primary_ino;
	struct copy **copies;
	size_t n_copies;
	uint32_t n_attached;
	ps_attachment_fn announce;
	void *arg;
};

static uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct ps_copies *ps_copies_new(const struct ps_options *opts, const struct ps_plan *primary_plan,
				const struct ps_probes *primary, ps_attachment_fn announce, void *arg)
{
	const struct ps_module_desc *module = opts->module;
	const char *given;
	struct ps_copies *copies;
	struct stat st;

	errno = 0;
	if (module->n_targets != 1 || module->targets[0].go || !module->targets[0].library || opts->pid)
		return NULL;
	/* --libssl PATH: that file and no other */
	given = ps_cli_flag_value(opts, ps_target_override_flag(opts, &module->targets[0]));
	if (given && *given)
		return NULL;
	if (stat(primary_plan->targets[0].path, &st) != 0)
		return NULL;
	copies = calloc(1, sizeof(*copies));
	if (!copies)
		return NULL;
	*copies = (struct ps_copies){ .opts = opts, .primary = primary, .primary_dev = st.st_dev,
				      .primary_ino = st.st_ino, .n_attached = 1, .announce = announce, .arg = arg };
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
	struct ps_attachment attachment = {
		.pid = pid,
		.path = name_inside(pid, path, root, sizeof(root)),
		.opened = plan->targets[0].path,
		.product = plan->targets[0].product,
		.version = plan->targets[0].version,
		.layout = plan->layout ? plan->layout->name : "none",
		.n_uprobes = copy->probes.n_uprobes,
		.attach_ns = attach_ns,
	};

	copies->announce(&attachment, copies->arg);
}

int ps_copies_attach(struct ps_copies *copies, uint32_t pid, const char *path, dev_t dev, ino_t ino)
{
	struct ps_plan plan = { 0 };
	char name[PATH_MAX];
	uint64_t start = monotonic_ns();
	struct copy *copy;
	int err;

	if (!copies)
		return -ENOTSUP;
	if (dev == copies->primary_dev && ino == copies->primary_ino)
		return 0;
	copy = find_copy(copies, dev, ino);
	if (copy)
		return copy->attached ? 0 : -EALREADY;
	copy = add_copy(copies, dev, ino);
	if (!copy)
		return -ENOMEM;
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
		announce(copies, pid, path, &plan, copy, monotonic_ns() - start);
		ps_plan_print_warnings(&plan);
	} else {
		ps_probes_destroy(&copy->probes);
	}
	ps_plan_free(&plan);
	return err ? err : 1;
}

uint32_t ps_copies_targets(const struct ps_copies *copies)
{
	return copies ? copies->n_attached : 1;
}

void ps_copies_detach(struct ps_copies *copies)
{
	for (size_t i = 0; copies && i < copies->n_copies; i++)
		ps_probes_detach(&copies->copies[i]->probes);
}

void ps_copies_free(struct ps_copies *copies)
{
	if (!copies)
		return;
	for (size_t i = 0; i < copies->n_copies; i++) {
		ps_probes_destroy(&copies->copies[i]->probes);
		free(copies->copies[i]);
	}
	free(copies->copies);
	free(copies);
}
