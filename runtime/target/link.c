/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "callgraph.h"
#include "go_returns.h"
#include "keylog.h"
#include "link.h"
#include "names.h"
#include "rodata.h"
#include "verdict_cache.h"
#include "log.h"

#define LINK_VAR "ps_link"

int ps_target_override_flag(const struct ps_options *opts, const struct ps_target_desc *target)
{
	const char *value;

	if (target->override_flag < 0)
		return -1;
	value = ps_cli_flag_value(opts, target->override_flag);
	if (value && *value)
		return target->override_flag;
	for (uint32_t i = 0; i < target->n_more_overrides; i++) {
		value = ps_cli_flag_value(opts, target->more_overrides[i]);
		if (value && *value)
			return target->more_overrides[i];
	}
	return target->override_flag;
}

static const char *given(const struct ps_options *opts, int32_t flag)
{
	const char *value = flag >= 0 ? ps_cli_flag_value(opts, flag) : NULL;

	return value && *value ? value : NULL;
}

/* The offset of the function's own symbol, where the file has one (an unstripped build); else negative. */
static long own_symbol_offset(const struct ps_options *opts, struct ps_elf *elf, const char *symbol)
{
	long offset = ps_elf_symbol_offset(elf, symbol);

	if (offset >= 0)
		ps_debug("%s: %s found by its symbol in %s", opts->module->name, symbol, ps_elf_path(elf));
	return offset;
}

/*
 * `called by F, G`: the function's own symbol where the file has one (an
 * unstripped build), else the one direct callee F and G share. A file
 * without F or G has no such function: -ENOENT, as for an absent symbol.
 */
static long locate_called(const struct ps_options *opts, struct ps_resolved_target *target,
			  const struct ps_hook_desc *hook, const char *symbol)
{
	struct ps_elf *elf = target->elf;
	char *callers;
	size_t n_candidates;
	uint64_t vaddr;
	long offset;
	int err;

	for (uint32_t i = 0; i < hook->n_called_by; i++)
		if (ps_elf_symbol_offset(elf, hook->called_by[i]) < 0) {
			ps_debug("%s: %s not looked for: %s has no %s, one of its callers", opts->module->name, symbol,
				 ps_elf_path(elf), hook->called_by[i]);
			return -ENOENT;
		}
	offset = own_symbol_offset(opts, elf, symbol);
	if (offset >= 0)
		return offset;
	err = ps_callgraph_locate(elf, ps_target_disasm(target), hook->called_by, hook->n_called_by, &vaddr,
				  &n_candidates);
	callers = ps_names_join(hook->called_by, hook->n_called_by, "", ", ", " and ");
	if (!err) {
		ps_debug("%s: %s located at 0x%llx in %s: the one function %s call directly", opts->module->name,
			 symbol, (unsigned long long)vaddr, ps_elf_path(elf), callers ? callers : "its callers");
		offset = ps_elf_vaddr_offset(elf, vaddr);
	} else if (err == -EMLINK) {
		ps_warn("%s: cannot locate %s in %s: %s %s %zu unexported direct callees, not exactly one; hooks "
			"that stand in for it are used instead", opts->module->name, symbol, ps_elf_path(elf),
			callers ? callers : "its callers", hook->n_called_by == 1 ? "has" : "share", n_candidates);
	} else {
		ps_warn("%s: cannot locate %s in %s: the code of %s does not decode (%s); hooks that stand in for "
			"it are used instead", opts->module->name, symbol, ps_elf_path(elf),
			callers ? callers : "its callers", strerror(-err));
	}
	free(callers);
	return err ? -ENOENT : offset;
}

/*
 * `called with "S", "T"`: the function's own symbol where the file has one,
 * else the one function every place taking S's or T's address passes it to.
 * A file without one of the strings has no such function: -ENOENT.
 */
static long locate_passed(const struct ps_options *opts, struct ps_resolved_target *target,
			  const struct ps_hook_desc *hook, const char *symbol)
{
	struct ps_elf *elf = target->elf;
	char *strings;
	size_t n_candidates;
	uint64_t vaddr;
	long offset = own_symbol_offset(opts, elf, symbol);
	int err;

	if (offset >= 0)
		return offset;
	err = ps_callgraph_locate_passed(elf, ps_target_disasm(target), hook->called_with, hook->n_called_with,
					 &vaddr, &n_candidates);
	strings = ps_names_join(hook->called_with, hook->n_called_with, "\"", ", ", " and ");
	if (!err) {
		ps_debug("%s: %s located at 0x%llx in %s: the one function %s are passed to", opts->module->name,
			 symbol, (unsigned long long)vaddr, ps_elf_path(elf), strings ? strings : "its strings");
		offset = ps_elf_vaddr_offset(elf, vaddr);
	} else if (err == -ENOENT) {
		ps_debug("%s: %s not looked for: %s does not pass %s to a function", opts->module->name, symbol,
			 ps_elf_path(elf), strings ? strings : "its strings");
	} else if (err == -EMLINK) {
		ps_warn("%s: cannot locate %s in %s: %s are passed to %zu functions in common, not exactly one",
			opts->module->name, symbol, ps_elf_path(elf), strings ? strings : "its strings", n_candidates);
	} else {
		ps_warn("%s: cannot locate %s in %s: %s", opts->module->name, symbol, ps_elf_path(elf),
			strerror(-err));
	}
	free(strings);
	return err ? -ENOENT : offset;
}

/*
 * `slot S.F of T`: the function's own symbol where the file has one, else
 * the function whose address the table T returns holds at S.F, an offset of
 * the layout (freebl's FREEBL_GetVector, a PKCS#11 C_GetFunctionList). A file
 * without T, or a layout without S.F, has no such function: -ENOENT.
 */
static long locate_slot(const struct ps_options *opts, const struct ps_plan *plan,
			struct ps_resolved_target *target, const struct ps_hook_desc *hook, const char *symbol)
{
	const struct ps_offset_desc *slot = &opts->module->offsets[hook->slot];
	struct ps_elf *elf = target->elf;
	long offset = own_symbol_offset(opts, elf, symbol);
	uint64_t table, function;
	const char *section;
	int err;

	if (offset >= 0)
		return offset;
	if (!plan->offsets || plan->offsets[hook->slot] < 0) {
		ps_debug("%s: %s not looked for: no layout gives %s.%s, its slot in %s's table", opts->module->name,
			 symbol, slot->strct, slot->field, hook->slot_of);
		return -ENOENT;
	}
	err = ps_callgraph_returned_address(elf, ps_target_disasm(target), hook->slot_of, &table);
	if (err == -ENOENT) {
		ps_debug("%s: %s not looked for: %s has no %s", opts->module->name, symbol, ps_elf_path(elf),
			 hook->slot_of);
		return -ENOENT;
	}
	if (!err)
		err = ps_elf_pointer_at(elf, table + (uint64_t)plan->offsets[hook->slot], &function);
	section = err ? NULL : ps_elf_section_name_at(elf, function);
	if (err || !section || strcmp(section, ".text") != 0) {
		ps_warn("%s: cannot locate %s in %s: %s", opts->module->name, symbol, ps_elf_path(elf),
			err == -EMLINK ? "its table's function returns no one address" :
			err ? strerror(-err) : "its table's slot holds no function's address");
		return -ENOENT;
	}
	ps_debug("%s: %s located at 0x%llx in %s: slot %s.%s (+%d) of the table %s returns, at 0x%llx",
		 opts->module->name, symbol, (unsigned long long)function, ps_elf_path(elf), slot->strct, slot->field,
		 plan->offsets[hook->slot], hook->slot_of, (unsigned long long)table);
	return ps_elf_vaddr_offset(elf, function);
}

/* A Go function by its table, which strip and -s -w keep, past its stack check: -ENOENT when absent. */
static long go_function_offset(struct ps_resolved_target *target, const char *symbol)
{
	long offset;
	int err = ps_go_entry_site(target, symbol, &offset);

	return err ? err : offset;
}

/*
 * Whether the hook can emit an event other than secrets: with --from wire,
 * where the packets carry the data, it is not attached.
 */
bool ps_hook_emits_data(const struct ps_module_desc *module, const struct ps_hook_desc *hook)
{
	for (uint32_t e = 0; e < module->n_events && e < 32; e++)
		if ((hook->emits & (1u << e)) && !ps_keylog_is_secrets_event(&module->events[e]))
			return true;
	return false;
}

/* --from wire: no hook that emits data; otherwise none that is there only for it (`when wire`). */
static bool wanted_in_mode(const struct ps_options *opts, const struct ps_hook_desc *hook)
{
	if (opts->from_wire)
		return !ps_hook_emits_data(opts->module, hook);
	return !hook->wire_only;
}

/* One hook's file offset, ignoring `unless calls`; *symbol is the name looked up, for messages. */
static long hook_site(const struct ps_options *opts, const struct ps_plan *plan, struct ps_resolved_target *target,
		      const struct ps_hook_desc *hook, const char **symbol)
{
	struct ps_elf *elf = target->elf;
	const char *offset = given(opts, hook->offset_flag);
	const char *name = given(opts, hook->symbol_flag);

	*symbol = name ? name : hook->symbol;
	if (!wanted_in_mode(opts, hook))
		return -ESRCH;  /* not even looked for */
	if (offset) {
		char *end;
		long value = strtol(offset, &end, 0);

		if (*end || value < 0) {
			ps_error("%s: --%s '%s' is no file offset", opts->module->name,
				 opts->module->flags[hook->offset_flag].name, offset);
			return -EINVAL;
		}
		return value;
	}
	if (hook->unless && ps_elf_symbol_offset(elf, hook->unless) >= 0)
		return -ESRCH;
	if (target->is_go)
		return go_function_offset(target, *symbol);
	if (hook->n_called_by && !name)
		return locate_called(opts, target, hook, *symbol);
	if (hook->n_called_with && !name)
		return locate_passed(opts, target, hook, *symbol);
	if (hook->slot_of && !name)
		return locate_slot(opts, plan, target, hook, *symbol);
	return ps_elf_symbol_offset(elf, *symbol);
}

/*
 * `unless calls H`: -ESRCH when the hook's function reaches a function where
 * a hook on H (declared before it) attached, so one call is seen once.
 */
static long unless_calls(const struct ps_options *opts, struct ps_resolved_target *target,
			 const struct ps_hookset_desc *hookset, uint32_t index, const long *sites, const char *symbol)
{
	struct ps_elf *elf = target->elf;
	const struct ps_hook_desc *hook = &hookset->hooks[index];
	uint64_t *goals = calloc(index ? index : 1, sizeof(*goals));
	const char *reached = NULL;
	size_t n_goals = 0;
	int r;

	if (!goals)
		return -ENOMEM;
	for (uint32_t j = 0; j < index; j++) {
		const struct ps_hook_desc *other = &hookset->hooks[j];

		if (sites[j] < 0 || other->target != hook->target)
			continue;
		for (uint32_t k = 0; k < hook->n_unless_calls; k++)
			if (strcmp(other->symbol, hook->unless_calls[k]) == 0 &&
			    ps_elf_offset_vaddr(elf, (uint64_t)sites[j], &goals[n_goals]) == 0) {
				reached = reached ? reached : other->symbol;
				n_goals++;
				break;
			}
	}
	r = n_goals ? ps_callgraph_reaches(elf, ps_target_disasm(target), symbol, goals, n_goals) : 0;
	free(goals);
	if (r > 0) {
		ps_debug("%s: %s not hooked: it calls a hooked %s", opts->module->name, symbol,
			 n_goals == 1 ? reached : "function its 'unless calls' names");
		return -ESRCH;
	}
	if (r < 0)
		ps_warn("%s: cannot tell whether %s in %s calls %s (%s); hooking both, so a call may be seen twice",
			opts->module->name, symbol, ps_elf_path(elf), reached, strerror(-r));
	return sites[index];
}

int ps_hook_sites(const struct ps_options *opts, const struct ps_plan *plan, const struct ps_hookset_desc *hookset,
		  long *sites, uint32_t *n_missing)
{
	const struct ps_module_desc *module = opts->module;
	uint32_t hookset_index = (uint32_t)(hookset - module->hooksets), missing_before = *n_missing;
	int err = 0;

	if (ps_verdict_cache_sites(plan->verdicts, hookset_index, hookset->n_hooks, sites, n_missing))
		return 0;
	for (uint32_t i = 0; i < hookset->n_hooks && !err; i++) {
		const struct ps_hook_desc *hook = &hookset->hooks[i];
		struct ps_resolved_target *target = &plan->targets[hook->target];
		const char *path = target->path;
		const char *symbol;
		long offset;

		offset = sites[i] = hook_site(opts, plan, target, hook, &symbol);
		if (offset >= 0 && hook->n_unless_calls && !given(opts, hook->offset_flag))
			offset = sites[i] = unless_calls(opts, target, hookset, i, sites, symbol);
		if (offset >= 0 || offset == -ESRCH)   /* -ESRCH: its `unless` says it is not wanted */
			continue;
		if (offset == -ENODATA) {
			ps_error("%s: %s is stripped: it has no symbol table to find %s in", module->name, path,
				 symbol);
			err = (int)offset;
		} else if (hook->optional) {
			ps_debug("%s: optional symbol %s not in %s", module->name, symbol, path);
			(*n_missing)++;
		} else {
			ps_error("%s: symbol %s not found in %s (is it the right library?)", module->name,
				 symbol, path);
			err = (int)offset;
		}
	}
	if (!err) {
		ps_verdict_cache_keep_sites(plan->verdicts, hookset_index, hookset->n_hooks, sites,
					    *n_missing - missing_before);
		ps_verdict_cache_save(plan->verdicts);
	}
	return err;
}

/* st_value of each hook (0 when not attached) and each global; errors for a missing global. */
static int fill_addresses(const struct ps_options *opts, const struct ps_plan *plan,
			  const struct ps_hookset_desc *hookset, const long *sites, uint64_t *addr)
{
	const struct ps_module_desc *module = opts->module;

	for (uint32_t i = 0; i < hookset->n_hooks + module->n_globals; i++) {
		bool is_hook = i < hookset->n_hooks;
		uint32_t target = is_hook ? hookset->hooks[i].target : module->globals[i - hookset->n_hooks].target;
		struct ps_elf *elf = plan->targets[target].elf;
		int err;

		addr[i] = 0;
		if (is_hook) {
			if (sites[i] >= 0 && ps_elf_offset_vaddr(elf, (uint64_t)sites[i], &addr[i]))
				addr[i] = 0;
			continue;
		}
		err = ps_elf_symbol_vaddr(elf, module->globals[i - hookset->n_hooks].name, true, &addr[i]);
		if (err && module->globals[i - hookset->n_hooks].optional) {
			ps_debug("%s: optional global %s not in %s", module->name,
				 module->globals[i - hookset->n_hooks].name, ps_elf_path(elf));
			addr[i] = 0;
		} else if (err) {
			ps_error("%s: global %s not found in %s%s", module->name, module->globals[i - hookset->n_hooks].name,
				 ps_elf_path(elf), err == -ENODATA ? " (it is stripped)" : " (is it the right binary?)");
			return err;
		}
	}
	return 0;
}

int ps_link_write(const struct ps_options *opts, const struct ps_plan *plan, const struct ps_hookset_desc *hookset,
		  const long *sites, struct bpf_object *obj)
{
	const struct ps_module_desc *module = opts->module;
	uint32_t n = hookset->n_hooks + module->n_globals, size;
	uint64_t *addr;
	void *init;
	int err;

	if (!module->n_globals)
		return 0;
	if (ps_rodata_var(obj, LINK_VAR, &init, &size) || size != n * sizeof(uint64_t)) {
		ps_error("internal: %s's BPF object and tables disagree on %s", module->name, LINK_VAR);
		return -EINVAL;
	}
	addr = calloc(n, sizeof(*addr));
	err = addr ? fill_addresses(opts, plan, hookset, sites, addr) : -ENOMEM;
	if (!err)
		memcpy(init, addr, size);
	free(addr);
	return err;
}
