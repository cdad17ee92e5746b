/* SPDX-License-Identifier: MIT */
/* plainsight MODULE [OPTIONS]: parse, find the target, load, attach, capture. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include "stream.h"
#include "caps.h"
#include "capstone_lib.h"
#include "capture.h"
#include "cli.h"
#include "exec_watch_ahead.h"
#include "log.h"
#include "maps_ahead.h"
#include "outfile.h"
#include "probes.h"
#include "reach_watch.h"
#include "target.h"

#define BTF_PATH "/sys/kernel/btf/vmlinux"

/*
 * Root is not needed: loading the probes takes CAP_BPF and CAP_PERFMON
 * (CAP_SYS_ADMIN holds both); other users' processes (discovery, -p) take
 * CAP_SYS_PTRACE for their /proc/PID/maps and root, CAP_DAC_READ_SEARCH for
 * their files. The first missing one is named.
 */
static int check_privileges(const struct ps_options *opts)
{
	bool admin = ps_cap_effective(PS_CAP_SYS_ADMIN);

	if (!admin && !ps_cap_effective(PS_CAP_BPF)) {
		ps_error("needs CAP_BPF to load eBPF programs: run as root, or grant it (e.g. setpriv --ambient-caps "
			 "+bpf,+perfmon)");
		return -EPERM;
	}
	if (!admin && !ps_cap_effective(PS_CAP_PERFMON)) {
		ps_error("needs CAP_PERFMON to attach uprobes and tracepoints: run as root, or grant it (e.g. setpriv "
			 "--ambient-caps +bpf,+perfmon)");
		return -EPERM;
	}
	if (access(BTF_PATH, R_OK) != 0) {
		ps_error("this kernel has no BTF (%s): plainsight needs CONFIG_DEBUG_INFO_BTF=y", BTF_PATH);
		return -ENOENT;
	}
	if (geteuid() != 0 && !ps_cap_effective(PS_CAP_SYS_PTRACE))
		ps_warn("without CAP_SYS_PTRACE, other users' processes cannot be looked at (%s)",
			opts->pid ? "-p" : "their libraries are neither attached nor said to be out of reach");
	else if (geteuid() != 0 && !ps_cap_effective(PS_CAP_DAC_READ_SEARCH))
		ps_warn("without CAP_DAC_READ_SEARCH, files other users' processes map may not be readable");
	return 0;
}

/* Before anything is attached: a uprobe on a missing process fails with words about the probe. */
static int check_process_exists(const struct ps_options *opts)
{
	if (opts->pid && kill((pid_t)opts->pid, 0) != 0 && errno == ESRCH) {
		ps_error("no process with pid %u", opts->pid);
		return -ESRCH;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct ps_options opts;
	struct ps_plan plan = { 0 };
	struct ps_probes probes = { 0 };
	struct ps_outfiles files;
	struct ps_stream *stream = NULL;
	struct ps_exec_watch_ahead *exec_ahead = NULL;
	bool files_open = false;
	int err;

	switch (ps_cli_parse(argc, argv, &opts)) {
	case PS_CLI_EXIT_OK:
		ps_cli_free(&opts);
		return 0;
	case PS_CLI_EXIT_USAGE:
		ps_cli_free(&opts);
		return 2;
	case PS_CLI_RUN:
		break;
	}
	ps_log_set_debug(opts.debug);
	ps_log_install_libbpf();

	/* the live outputs first: their log lines start here (stream.h) */
	err = ps_stream_open(&opts, &stream);
	if (!err)
		err = check_privileges(&opts);
	if (!err)
		err = check_process_exists(&opts);
	/* the kernel makes the maps while the target is read (maps_ahead.h); most plans pick the first hook set */
	if (!err)
		probes.ahead = ps_maps_ahead_start(opts.mapsize_kib, &opts.module->hooksets[0]);
	if (!err)
		err = ps_plan_make(&opts, &plan);
	/* the exec watch loads where a core would sit idle, chiefly while the probes are verified */
	if (!err && ps_reach_watch_wanted(&opts))
		exec_ahead = ps_exec_watch_ahead_start(opts.btf_cache_dir);
	/* Every output is opened before attaching; a run that fails before capture leaves none it made. */
	if (!err) {
		err = ps_outfiles_open(&opts, &files);
		files_open = !err;
		files.stream = stream;
	}
	if (!err)
		err = ps_probes_start(&opts, &plan, &probes);
	ps_plan_close_files(&plan);
	ps_debug_phase("target files closed");
	if (!err) {
		err = ps_capture_run(&opts, &plan, &probes, &files, exec_ahead);
	} else {
		ps_exec_watch_ahead_cancel(exec_ahead);
		if (files_open)
			ps_outfiles_discard(&files);
	}

	ps_probes_destroy(&probes);
	ps_stream_close(stream);
	ps_plan_free(&plan);
	ps_cli_free(&opts);
	return err ? 1 : 0;
}
