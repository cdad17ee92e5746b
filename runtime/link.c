/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "link.h"
#include "rodata.h"
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

long ps_hook_site(const struct ps_options *opts, struct ps_elf *elf, const struct ps_hook_desc *hook,
		  const char **symbol)
{
	const char *offset = given(opts, hook->offset_flag);
	const char *name = given(opts, hook->symbol_flag);

	*symbol = name ? name : hook->symbol;
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
	return ps_elf_symbol_offset(elf, *symbol);
}

/* st_value of each hook (0 when not attached) and each global; errors for a missing global. */
static int fill_addresses(const struct ps_options *opts, const struct ps_plan *plan,
			  const struct ps_hookset_desc *hookset, struct ps_elf **elves, uint64_t *addr)
{
	const struct ps_module_desc *module = opts->module;

	for (uint32_t i = 0; i < hookset->n_hooks + module->n_globals; i++) {
		bool is_hook = i < hookset->n_hooks;
		uint32_t target = is_hook ? hookset->hooks[i].target : module->globals[i - hookset->n_hooks].target;
		const char *path = plan->targets[target].path;
		int err;

		if (!elves[target] && !(elves[target] = ps_elf_open(path))) {
			ps_error("%s: cannot open %s: %s", module->name, path, strerror(errno));
			return -errno;
		}
		addr[i] = 0;
		if (is_hook) {
			const struct ps_hook_desc *hook = &hookset->hooks[i];
			const char *symbol;
			long offset = ps_hook_site(opts, elves[target], hook, &symbol);

			if (offset >= 0 && ps_elf_offset_vaddr(elves[target], (uint64_t)offset, &addr[i]))
				addr[i] = 0;
			continue;
		}
		err = ps_elf_symbol_vaddr(elves[target], module->globals[i - hookset->n_hooks].name, true, &addr[i]);
		if (err && module->globals[i - hookset->n_hooks].optional) {
			ps_debug("%s: optional global %s not in %s", module->name,
				 module->globals[i - hookset->n_hooks].name, path);
			addr[i] = 0;
		} else if (err) {
			ps_error("%s: global %s not found in %s%s", module->name, module->globals[i - hookset->n_hooks].name,
				 path, err == -ENODATA ? " (it is stripped)" : " (is it the right binary?)");
			return err;
		}
	}
	return 0;
}

int ps_link_write(const struct ps_options *opts, const struct ps_plan *plan, const struct ps_hookset_desc *hookset,
		  struct bpf_object *obj)
{
	const struct ps_module_desc *module = opts->module;
	uint32_t n = hookset->n_hooks + module->n_globals, size;
	struct ps_elf **elves;
	uint64_t *addr;
	void *init;
	int err;

	if (!module->n_globals)
		return 0;
	if (ps_rodata_var(obj, LINK_VAR, &init, &size) || size != n * sizeof(uint64_t)) {
		ps_error("internal: %s's BPF object and tables disagree on %s", module->name, LINK_VAR);
		return -EINVAL;
	}
	elves = calloc(module->n_targets, sizeof(*elves));
	addr = calloc(n, sizeof(*addr));
	err = elves && addr ? fill_addresses(opts, plan, hookset, elves, addr) : -ENOMEM;
	if (!err)
		memcpy(init, addr, size);
	for (uint32_t i = 0; elves && i < module->n_targets; i++)
		if (elves[i])
			ps_elf_close(elves[i]);
	free(elves);
	free(addr);
	return err;
}
