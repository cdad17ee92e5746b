/* SPDX-License-Identifier: MIT */
/* The process name beside a renamed main thread (runtime/procname.c). */
#include <stdint.h>
#include <unistd.h>
#include "check.h"
#include "procname.h"

static const char *choose(const char *leader, const char *exe, const char *argv0, const char *argv1)
{
	static char out[PS_COMM_LEN];

	ps_procname_choose(out, leader, exe, argv0, argv1);
	return out;
}

/* The leader's comm names what was executed: it stays. */
static void leader_comm_kept(void)
{
	CHECK_STR(choose("curl", "/usr/bin/curl", "curl", "https://x"), "curl");
	/* a symlink: python3 -> python3.11, sh -> dash, vi -> vim.basic, busybox applets */
	CHECK_STR(choose("python3", "/usr/bin/python3.11", "python3", "-c"), "python3");
	CHECK_STR(choose("sh", "/usr/bin/dash", "/bin/sh", "-c"), "sh");
	CHECK_STR(choose("ls", "/bin/busybox", "ls", ""), "ls");
	/* a script: its interpreter is the executable, argv[1] the script */
	CHECK_STR(choose("backup.py", "/usr/bin/python3.11", "/usr/bin/python3", "/opt/backup.py"), "backup.py");
	/* the kernel keeps 15 bytes of a longer name */
	CHECK_STR(choose("a-very-long-pro", "/opt/a-very-long-program", "x", ""), "a-very-long-pro");
	/* argv rewritten (nginx, postgres): the executable still matches */
	CHECK_STR(choose("nginx", "/usr/sbin/nginx", "nginx: worker process", ""), "nginx");
	/* the process is gone: nothing to compare with */
	CHECK_STR(choose("MainThread", "", "", ""), "MainThread");
}

/* The main thread renamed itself: the executable names the program. */
static void renamed_leader_gets_executable_name(void)
{
	CHECK_STR(choose("MainThread", "/usr/local/bin/node", "node", "server.js"), "node");
	CHECK_STR(choose("MainThread", "/opt/node/bin/node", "/opt/node/bin/node", "x.js"), "node");
	/* a prefix of a name is not the name */
	CHECK_STR(choose("nod", "/usr/bin/node", "node", ""), "node");
	CHECK_STR(choose("worker", "/opt/some-very-long-daemon", "w", ""), "some-very-long-");
	CHECK_STR(choose("", "/usr/bin/node", "", ""), "node");
}

/* Through /proc, on this very process; a pid with no process keeps the comm. */
static void from_proc(void)
{
	struct ps_procnames *names = ps_procnames_new();
	char renamed[PS_COMM_LEN] = "MainThread";
	char full[PS_COMM_LEN];
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	const char *base;

	CHECK(names && n > 0);
	if (!names || n <= 0)
		return;
	exe[n] = '\0';
	base = strrchr(exe, '/') + 1;
	snprintf(full, sizeof(full), "%s", base);
	CHECK_STR(ps_procname(names, (uint32_t)getpid(), renamed), full);
	/* cached: the same answer again */
	CHECK_STR(ps_procname(names, (uint32_t)getpid(), renamed), full);
	/* another comm for the same pid (an exec): looked up again */
	CHECK_STR(ps_procname(names, (uint32_t)getpid(), full), full);
	/* 16 bytes, no NUL: the kernel never sends that, but nothing may read past them */
	memcpy(renamed, "0123456789abcdef", PS_COMM_LEN);
	CHECK_STR(ps_procname(names, 0x7ffffffe, renamed), "0123456789abcde");
	ps_procnames_free(names);
}

int main(void)
{
	TEST(leader_comm_kept);
	TEST(renamed_leader_gets_executable_name);
	TEST(from_proc);
	return TEST_EXIT();
}
