// SPDX-License-Identifier: MIT
/*
 * The cheapest possible tracer: an entry and a return program that do
 * nothing.  bench/run.sh attaches them where plainsight attaches its data
 * hooks, so the throughput left is the cost of the uprobe traps alone, the
 * floor every uprobe-based capture sits on.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("uprobe")
int floor_entry(void *ctx)
{
	return 0;
}

SEC("uretprobe")
int floor_return(void *ctx)
{
	return 0;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
