/* SPDX-License-Identifier: MIT */
/* A traced process's name, when its main thread renamed itself (procname.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "procname.h"

/*
 * A cache, one slot per pid modulo its size: a collision or a reused pid
 * costs only a fresh look at /proc, since the slot also keeps the comm it was
 * resolved for.
 */
#define PROCNAME_SLOTS 1024
/* argv[0] and argv[1] are all that is read of the command line */
#define CMDLINE_READ 4096

struct procname_slot {
	uint32_t pid;
	char leader[PS_COMM_LEN];
	char name[PS_COMM_LEN];
};

struct ps_procnames {
	struct procname_slot slots[PROCNAME_SLOTS];
};

struct ps_procnames *ps_procnames_new(void)
{
	return calloc(1, sizeof(struct ps_procnames));
}

void ps_procnames_free(struct ps_procnames *names)
{
	free(names);
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* Would the kernel name a process that executed path `leader`? It keeps PS_COMM_LEN - 1 bytes. */
static int comm_names(const char *leader, const char *path)
{
	const char *name = base_name(path);
	size_t n = strlen(leader);

	if (n == 0 || strncmp(leader, name, n) != 0)
		return 0;
	return name[n] == '\0' || n == PS_COMM_LEN - 1;
}

void ps_procname_choose(char out[PS_COMM_LEN], const char *leader, const char *exe, const char *argv0,
			const char *argv1)
{
	const char *name = leader;

	if (!exe[0] || comm_names(leader, exe) || comm_names(leader, argv0) || comm_names(leader, argv1))
		name = leader;
	else
		name = base_name(exe);
	snprintf(out, PS_COMM_LEN, "%s", name);
}

/* The executable's path; "" when unknown. A deleted one keeps its name. */
static void read_exe(uint32_t pid, char *out, size_t size)
{
	char link[64];
	ssize_t n;
	char *deleted;

	snprintf(link, sizeof(link), "/proc/%u/exe", pid);
	n = readlink(link, out, size - 1);
	out[n > 0 ? n : 0] = '\0';
	deleted = strstr(out, " (deleted)");
	if (deleted && deleted[10] == '\0')
		*deleted = '\0';
}

/* argv[0] and argv[1] into buf (CMDLINE_READ + 1 bytes); "" for what is missing. */
static void read_argv(uint32_t pid, char *buf, const char **argv0, const char **argv1)
{
	char path[64];
	ssize_t n = 0;
	size_t len0;
	int fd;

	snprintf(path, sizeof(path), "/proc/%u/cmdline", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, buf, CMDLINE_READ);
		close(fd);
	}
	buf[n > 0 ? n : 0] = '\0';
	*argv0 = buf;
	len0 = strlen(buf);
	*argv1 = (ssize_t)len0 + 1 < n ? buf + len0 + 1 : "";
}

const char *ps_procname(struct ps_procnames *names, uint32_t pid, const char leader[PS_COMM_LEN])
{
	struct procname_slot *slot = &names->slots[pid % PROCNAME_SLOTS];
	char comm[PS_COMM_LEN];
	char exe[4096];
	char cmdline[CMDLINE_READ + 1];
	const char *argv0, *argv1;

	if (slot->pid == pid && slot->name[0] && strncmp(slot->leader, leader, PS_COMM_LEN) == 0)
		return slot->name;
	/* the record's comm may fill all its bytes, with no NUL */
	snprintf(comm, sizeof(comm), "%.*s", PS_COMM_LEN - 1, leader);
	read_exe(pid, exe, sizeof(exe));
	read_argv(pid, cmdline, &argv0, &argv1);
	slot->pid = pid;
	memcpy(slot->leader, leader, PS_COMM_LEN);
	ps_procname_choose(slot->name, comm, exe, argv0, argv1);
	return slot->name;
}
