/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "elf_file.h"
#include "ldcache.h"
#include "link.h"
#include "log.h"
#include "accessors.h"
#include "keylog.h"
#include "names.h"
#include "proc_maps.h"
#include "target.h"
#include "tls_stacks.h"
#include "verdict_cache.h"
#include "version_order.h"

__attribute__((format(printf, 2, 3)))
static void plan_warn(struct ps_plan *plan, const char *fmt, ...)
{
	char **grown = realloc(plan->warnings, (plan->n_warnings + 1) * sizeof(*grown));
	va_list ap;
	char *line;

	if (!grown)
		return;
	plan->warnings = grown;
	va_start(ap, fmt);
	if (vasprintf(&line, fmt, ap) >= 0)
		plan->warnings[plan->n_warnings++] = line;
	va_end(ap);
}

void ps_plan_print_warnings(const struct ps_plan *plan)
{
	for (size_t i = 0; i < plan->n_warnings; i++)
		ps_warn("%s", plan->warnings[i]);
}

/*
 * A Go program has no soname to look up: -p PID alone names it, as the file
 * /proc/PID/exe links to, seen from inside the process's mount namespace
 * (/proc/PID/root), since uprobes attach by path. A deleted file is reached
 * through /proc/PID/exe itself.
 */
static int go_program_path(const struct ps_options *opts, const struct ps_target_desc *target, char *path,
			   size_t size)
{
	const char *module = opts->module->name;
	char link[64], exe[PATH_MAX];
	ssize_t len;

	if (!opts->pid) {
		ps_error("%s: no Go program to trace: give -p PID or --%s BINARY", module,
			 target->override_flag >= 0 ? opts->module->flags[target->override_flag].name : "?");
		return -ENOENT;
	}
	snprintf(link, sizeof(link), "/proc/%u/exe", opts->pid);
	len = readlink(link, exe, sizeof(exe) - 1);
	if (len < 0) {
		int err = -errno;

		ps_error("%s: cannot read %s (is process %u running, and are we root?): %s", module, link, opts->pid,
			 strerror(-err));
		return err;
	}
	exe[len] = '\0';
	if ((size_t)snprintf(path, size, "/proc/%u/root%s", opts->pid, exe) >= size)
		return -ENAMETOOLONG;
	if (access(path, R_OK) != 0 && (size_t)snprintf(path, size, "%s", link) >= size)
		return -ENAMETOOLONG;
	return 0;
}

bool ps_target_same_library(const char *wanted, const char *path)
{
	const char *base = strrchr(path, '/'), *so = strstr(wanted, ".so");
	size_t stem = so ? (size_t)(so - wanted) + 3 : strlen(wanted);

	base = base ? base + 1 : path;
	return strncmp(base, wanted, stem) == 0 && (base[stem] == '\0' || base[stem] == '.');
}

/* name, or the same through /proc/PID/root (another mount namespace), when it is the file of dev and ino. */
static bool reach_mapped_file(uint32_t pid, const char *name, dev_t dev, ino_t ino, char *path, size_t size)
{
	struct stat st;

	if ((size_t)snprintf(path, size, "%s", name) < size && stat(path, &st) == 0 && st.st_dev == dev &&
	    st.st_ino == ino)
		return true;
	return (size_t)snprintf(path, size, "/proc/%u/root%s", pid, name) < size && stat(path, &st) == 0 &&
	       st.st_dev == dev && st.st_ino == ino;
}

/*
 * -p PID: the copy of the library that process has mapped as code, which may
 * be none of the ld.so cache's (LD_LIBRARY_PATH, a container's root); else
 * OpenSSL linked into its executable; -ENOENT: it maps neither (yet).
 */
struct library_search {
	uint32_t pid;
	const struct ps_target_desc *target;
	char *path;
	size_t size;
};

static int reach_if_target(const struct ps_code_map *map, void *arg)
{
	struct library_search *s = arg;

	return ps_target_same_library(s->target->library, map->path) &&
	       reach_mapped_file(s->pid, map->path, map->dev, map->ino, s->path, s->size);
}

static int process_library_path(uint32_t pid, const struct ps_target_desc *target, char *path, size_t size)
{
	struct library_search search = { pid, target, path, size };
	struct ps_exe_tls tls;
	char exe[64];
	bool found;
	int ret = ps_proc_code_maps(pid, reach_if_target, &search);

	if (ret < 0)
		return ret;
	if (ret)
		return 0;
	snprintf(exe, sizeof(exe), "/proc/%u/exe", pid);
	if (ps_tls_stack_of_library(target->library) != &ps_tls_openssl || ps_exe_tls_read(exe, &tls) != 0)
		return -ENOENT;
	found = tls.static_openssl;
	ps_exe_tls_free(&tls);
	if (!found || (size_t)snprintf(path, size, "%s", exe) >= size)
		return -ENOENT;
	return 0;
}

static int resolve_target_path(const struct ps_options *opts, const struct ps_target_desc *target,
			       char *path, size_t size)
{
	const char *module = opts->module->name;
	int override_flag = ps_target_override_flag(opts, target);
	const char *override = ps_cli_flag_value(opts, override_flag);
	int err;

	if (override && *override) {
		if (access(override, R_OK) != 0) {
			err = -errno;
			ps_error("%s: cannot read %s (--%s): %s", module, override,
				 opts->module->flags[override_flag].name, strerror(-err));
			return err;
		}
		if (strlen(override) >= size) {
			ps_error("%s: path too long: %s", module, override);
			return -ENAMETOOLONG;
		}
		strcpy(path, override);
		return 0;
	}
	if (target->go)
		return go_program_path(opts, target, path, size);
	if (!target->library) {
		ps_error("%s: no %s to trace: give --%s PATH", module, target->name,
			 target->override_flag >= 0 ? opts->module->flags[target->override_flag].name : "?");
		return -ENOENT;
	}
	/*
	 * -p: what that process maps, named as the ld.so cache names it when it
	 * is that file; one that has not loaded it yet gets the one ld.so would find.
	 */
	if (opts->pid && process_library_path(opts->pid, target, path, size) == 0) {
		char cached[PATH_MAX];
		struct stat mapped, found;

		if (ps_ldcache_resolve(target->library, cached, sizeof(cached)) == 0 && stat(path, &mapped) == 0 &&
		    stat(cached, &found) == 0 && mapped.st_dev == found.st_dev && mapped.st_ino == found.st_ino)
			snprintf(path, size, "%s", cached);
		return 0;
	}
	err = ps_ldcache_resolve(target->library, path, size);
	if (err) {
		if (target->override_flag >= 0)
			ps_error("%s: %s not found (ld.so cache and library directories); give its path with --%s",
				 module, target->library, opts->module->flags[target->override_flag].name);
		else
			ps_error("%s: %s not found: %s", module, target->library, strerror(-err));
		return err;
	}
	return 0;
}

/* The one opening of a target's file that every later step (version, accessors, hook sites) reads. */
static int open_target_elf(const char *module, struct ps_resolved_target *target)
{
	int err;

	target->elf = ps_elf_open(target->path);
	if (target->elf)
		return 0;
	err = errno ? -errno : -EINVAL;
	if (err == -ENOEXEC)
		ps_error("%s: %s is not an ELF binary", module, target->path);
	else
		ps_error("%s: cannot open %s: %s", module, target->path, strerror(-err));
	return err;
}

/* A Go target's function table: a file without one is no Go program, and nothing in it could be hooked. */
static int open_go_table(const char *module, struct ps_resolved_target *target)
{
	int err = ps_go_pclntab_open(target->elf, &target->go);

	if (err == -ENOENT)
		ps_error("%s: %s is not a Go program (it has no Go function table, .gopclntab)", module, target->path);
	else if (err)
		ps_error("%s: cannot read the Go function table of %s: %s", module, target->path, strerror(-err));
	else
		target->is_go = true;
	return err;
}

/* "'A' or 'B'": every pattern a forced version may follow, for the error line; NULL when out of memory. */
static char *list_patterns(const struct ps_target_desc *target)
{
	const char **patterns = calloc(target->n_more_versions + 1, sizeof(*patterns));
	const struct ps_version_rule *rule;
	size_t n = 0;
	char *text;

	if (!patterns)
		return NULL;
	while ((rule = ps_target_version_rule(target, (uint32_t)n)))
		patterns[n++] = rule->regex;
	text = ps_names_join(patterns, n, "'", " or ", " or ");
	free(patterns);
	return text;
}

static int read_version(const struct ps_options *opts, const struct ps_target_desc *target,
			struct ps_resolved_target *resolved, struct ps_plan *plan)
{
	const char *module = opts->module->name;
	const char *forced = ps_cli_flag_value(opts, target->version.force_flag);
	const struct ps_version_rule *matched = NULL;
	int err;

	if (forced && *forced) {
		err = ps_target_version_parse_forced(forced, target, resolved->version, sizeof(resolved->version),
						     &matched);
		if (err) {
			char *patterns = list_patterns(target);

			ps_error("%s: --%s '%s' names no version this module knows how to read (the spec's pattern is %s)",
				 module, opts->module->flags[target->version.force_flag].name, forced,
				 patterns ? patterns : "(out of memory)");
			free(patterns);
			return err;
		}
		resolved->product = matched->product;
		resolved->version_forced = true;
		snprintf(resolved->version_from, sizeof(resolved->version_from), "--%s",
			 opts->module->flags[target->version.force_flag].name);
		return 0;
	}
	if (!target->version.regex)
		return 0;
	err = ps_verdict_cache_version(plan->verdicts, target, resolved);
	if (err == -ESRCH) {
		err = ps_target_version_detect(resolved->elf, target, resolved->version, sizeof(resolved->version),
					       resolved->version_from, sizeof(resolved->version_from), &matched);
		if (err == -ENOENT)
			resolved->version[0] = '\0';
		if (err == 0 || err == -ENOENT)
			ps_verdict_cache_keep_version(plan->verdicts, target, resolved, err ? NULL : matched);
		if (!err)
			resolved->product = matched->product;
	}
	if (err == -ENOENT) {
		plan_warn(plan, "%s: no version string in %s (nor in the libraries it needs); capturing without offsets",
			module, resolved->path);
		resolved->version[0] = '\0';
		return 0;
	}
	if (err) {
		ps_error("%s: cannot read the version of %s: %s", module, resolved->path, strerror(-err));
		return err;
	}
	return 0;
}

/* No memory to tell fields apart: every secrets record is refused whole (capture.c). */
static void refuse_all_secrets(struct ps_plan *plan)
{
	ps_trust_free(&plan->trust);
	plan->trust.secrets = PS_SECRETS_ALL_REFUSED;
	plan_warn(plan, "out of memory while checking which fields the accessors confirm: every secret is refused");
}

/*
 * One event's fields that read an offset this layout places and no accessor
 * showed: their present bits (or the whole record) are dropped, and one
 * warning names them with those offsets. false: out of memory.
 */
static bool drop_event_fields(const struct ps_module_desc *m, struct ps_plan *plan, const bool *shown, uint32_t e)
{
	const struct ps_event_desc *ev = &m->events[e];
	const char **fields = calloc(ev->n_fields + 1, sizeof(*fields));
	char **offsets = calloc(m->n_offsets + 1, sizeof(*offsets));
	bool *named = calloc(m->n_offsets + 1, sizeof(*named));
	size_t n_fields = 0, n_offsets = 0;
	bool ok = fields && offsets && named;

	for (uint32_t i = 0; ok && i < ev->n_fields; i++) {
		const struct ps_field_desc *f = &ev->fields[i];
		bool drop = false;

		for (uint32_t r = 0; ok && r < f->n_reads; r++) {
			uint32_t id = f->reads[r];

			if (id >= m->n_offsets || plan->offsets[id] < 0 || shown[id])
				continue;
			drop = true;
			if (named[id])
				continue;
			named[id] = true;
			if (asprintf(&offsets[n_offsets], "%s.%s", m->offsets[id].strct, m->offsets[id].field) < 0)
				ok = false;
			else
				n_offsets++;
		}
		if (!drop)
			continue;
		if (f->present_bit < 0 || f->present_bit >= 32)
			plan->trust.events[e].drop_record = true;
		else
			plan->trust.events[e].drop_present |= 1u << f->present_bit;
		fields[n_fields++] = f->name;
	}
	if (ok && n_fields) {
		char *field_list = ps_names_join(fields, n_fields, "", ", ", ", ");
		char *offset_list = ps_names_join((const char *const *)offsets, n_offsets, "", ", ", ", ");
		bool secrets = ps_keylog_is_secrets_event(ev);

		ok = field_list && offset_list;
		if (ok && secrets)
			plan->trust.secrets = PS_SECRETS_FIELDS_REFUSED;
		if (ok)
			plan_warn(plan, "%s: %s%s fields %s are not written: they read %s, which no accessor confirms "
				  "in this build (layout '%s' is contradicted)%s", m->name, secrets ? "keys refused: " : "",
				  ev->name, field_list, offset_list, plan->layout->name,
				  plan->trust.events[e].drop_record ? "; its records are not written" : "");
		free(field_list);
		free(offset_list);
	}
	for (size_t i = 0; i < n_offsets; i++)
		free(offsets[i]);
	free(offsets);
	free(fields);
	free(named);
	return ok;
}

/*
 * In a layout the accessors contradict, only what they confirmed or gave is
 * known: an event field that reads any other offset this layout places
 * (`.reads` in the tables) is left out, and said once per event.
 */
static void drop_unconfirmed(const struct ps_module_desc *m, struct ps_plan *plan, const bool *shown)
{
	plan->trust.events = calloc(m->n_events + 1, sizeof(*plan->trust.events));
	if (!plan->trust.events) {
		refuse_all_secrets(plan);
		return;
	}
	for (uint32_t e = 0; e < m->n_events; e++)
		if (!drop_event_fields(m, plan, shown, e)) {
			refuse_all_secrets(plan);
			return;
		}
}

/*
 * The library's exported accessors (`accessor` in the spec) show where this
 * build keeps some fields: the machine code is the ground truth, so an offset
 * they contradict is replaced by theirs. What no accessor shows is then
 * unknown, and the fields that need it are left out; plaintext does not
 * depend on offsets.
 */
static void check_accessors(const struct ps_options *opts, struct ps_plan *plan)
{
	const struct ps_module_desc *m = opts->module;
	struct ps_accessor_result result;
	bool *shown;

	if (!plan->layout || !plan->layout->offsets)
		return;
	plan->offsets = malloc((m->n_offsets + 1) * sizeof(*plan->offsets));
	shown = calloc(m->n_offsets + 1, sizeof(*shown));
	if (!plan->offsets || !shown) {
		free(shown);
		free(plan->offsets);
		plan->offsets = NULL;
		plan->layout = NULL;
		plan_warn(plan, "%s: out of memory for the layout's offsets; capturing without them", m->name);
		return;
	}
	memcpy(plan->offsets, plan->layout->offsets, m->n_offsets * sizeof(*plan->offsets));
	if (!ps_verdict_cache_accessors(plan->verdicts, m, plan->layout, plan->offsets, shown, &result)) {
		ps_accessors_check(m, plan->layout, plan->targets[0].elf, ps_target_disasm(&plan->targets[0]),
				   plan->offsets, shown, &result);
		ps_verdict_cache_keep_accessors(plan->verdicts, m, plan->layout, plan->offsets, shown, &result);
	}
	plan->trust.accessors_confirmed = result.checked;
	if (result.mismatches) {
		plan->trust.contradicted_by = &m->offsets[result.first_mismatch];
		plan->trust.accessors_corrected = result.mismatches;
		if (result.mismatches > 1)
			plan_warn(plan, "%s: %s (and %u more fields); the offsets the accessors read replace the layout's "
				  "where they can (-d tells)", m->name, result.message, result.mismatches - 1);
		else
			plan_warn(plan, "%s: %s; the offset the accessor reads is used instead", m->name, result.message);
		drop_unconfirmed(m, plan, shown);
	}
	free(shown);
}

/* The strongest reason that applies: an accessor's evidence, then the user's word, then the version's. */
static enum ps_trust_basis trust_basis(const struct ps_plan *plan)
{
	if (!plan->layout)
		return PS_TRUST_NO_LAYOUT;
	if (plan->trust.contradicted_by)
		return PS_TRUST_CONTRADICTED;
	if (plan->targets[0].version_forced)
		return PS_TRUST_FORCED;
	return plan->layout_match == PS_LAYOUT_NEAREST ? PS_TRUST_NEAREST_LOWER : PS_TRUST_EXACT;
}

static void choose_layout(const struct ps_options *opts, struct ps_plan *plan)
{
	const char *module = opts->module->name;
	const char *version = plan->targets[0].version;
	const char *product = plan->targets[0].product;

	plan->layout = NULL;
	plan->layout_match = PS_LAYOUT_NONE;
	plan->hookset = 0;
	if (!version[0])
		return;
	plan->layout_match = ps_layout_select(opts->module, product, version, &plan->layout);
	switch (plan->layout_match) {
	case PS_LAYOUT_EXACT:
		break;
	case PS_LAYOUT_NEAREST:
		plan_warn(plan, "%s: no layout for %s%sversion %s; using the nearest lower one, '%s' (%s to %s)", module,
			product ? product : "", product ? " " : "", version, plan->layout->name,
			plan->layout->min_version, plan->layout->max_version);
		break;
	case PS_LAYOUT_NONE:
		if (opts->module->n_layouts)
			plan_warn(plan, "%s: %s%sversion %s is older than every known layout; capturing without offsets "
				"(plaintext is complete, offset-based fields are absent)",
				module, product ? product : "", product ? " " : "", version);
		break;
	}
	if (plan->layout)
		plan->hookset = plan->layout->hookset;
	check_accessors(opts, plan);
	/*
	 * "1.1.1v+quic" compares equal to 1.1.1v, but a patched build may have
	 * moved fields: say that the layout was made for the plain release. A
	 * banner with no number at all ("BoringSSL", version 0 of its product)
	 * is no modified release of anything.
	 */
	if (plan->layout && version[0] >= '0' && version[0] <= '9' && ps_version_suffix(version))
		plan_warn(plan, "%s: version %s is a modified build ('%s'); layout '%s' was made for the unmodified "
			  "release, so its offsets may not fit (plaintext capture does not depend on them)%s",
			  module, version, ps_version_suffix(version), plan->layout->name,
			  plan->trust.contradicted_by ? "; its accessors contradict them (see above)"
			  : plan->trust.accessors_confirmed ? "; its accessors confirm the offsets they show" : "");
	plan->trust.basis = trust_basis(plan);
	ps_debug("%s: offsets: %s%s%s", module, ps_trust_basis_name(plan->trust.basis),
		 plan->trust.contradicted_by ? " " : "",
		 plan->trust.contradicted_by ? plan->trust.contradicted_by->accessor : "");
}

int ps_plan_make(const struct ps_options *opts, struct ps_plan *plan)
{
	return ps_plan_make_at(opts, NULL, plan);
}

/*
 * A Go program's module with neither -e nor -p: discovery finds the
 * programs (runtime/bpf/copies.c), each with its own plan.
 */
static bool watches_every_go_program(const struct ps_options *opts)
{
	const struct ps_module_desc *module = opts->module;
	const char *given;

	if (module->n_targets != 1 || !module->targets[0].go || opts->pid)
		return false;
	given = ps_cli_flag_value(opts, ps_target_override_flag(opts, &module->targets[0]));
	return !given || !*given;
}

/*
 * The plan of no file: the probes are loaded configured for the newest
 * layout, so that the programs of the newest Go share them (copies.c), and
 * attached to nothing until a program is found.
 */
static int make_watch_plan(const struct ps_options *opts, struct ps_plan *plan)
{
	const struct ps_module_desc *module = opts->module;
	const struct ps_layout_desc *newest = NULL;

	for (uint32_t i = 0; i < module->n_layouts; i++)
		if (!newest || version_order_compare(module->layouts[i].min_version, newest->min_version) > 0)
			newest = &module->layouts[i];
	plan->watch_only = true;
	if (!newest)
		return 0;
	plan->layout = newest;
	plan->layout_match = PS_LAYOUT_EXACT;
	plan->hookset = newest->hookset;
	plan->trust.basis = PS_TRUST_EXACT;
	if (!newest->offsets)
		return 0;
	plan->offsets = malloc((module->n_offsets + 1) * sizeof(*plan->offsets));
	if (!plan->offsets)
		return -ENOMEM;
	memcpy(plan->offsets, newest->offsets, module->n_offsets * sizeof(*plan->offsets));
	return 0;
}

int ps_plan_make_at(const struct ps_options *opts, const char *path, struct ps_plan *plan)
{
	return ps_plan_make_files(opts, &path, path ? 1 : 0, plan);
}

int ps_plan_make_files(const struct ps_options *opts, const char *const *paths, uint32_t n_paths,
		       struct ps_plan *plan)
{
	const struct ps_module_desc *module = opts->module;
	int err;

	memset(plan, 0, sizeof(*plan));
	if (module->n_targets == 0) {
		ps_error("%s: the spec declares no target", module->name);
		return -EINVAL;
	}
	plan->targets = calloc(module->n_targets, sizeof(*plan->targets));
	if (!plan->targets)
		return -ENOMEM;
	plan->n_targets = module->n_targets;
	if (!n_paths && watches_every_go_program(opts))
		return make_watch_plan(opts, plan);
	for (uint32_t i = 0; i < module->n_targets; i++) {
		if (i < n_paths && paths[i])
			err = snprintf(plan->targets[i].path, sizeof(plan->targets[i].path), "%s", paths[i]) >=
			      (int)sizeof(plan->targets[i].path) ? -ENAMETOOLONG : 0;
		else
			err = resolve_target_path(opts, &module->targets[i], plan->targets[i].path,
						  sizeof(plan->targets[i].path));
		if (!err)
			err = open_target_elf(module->name, &plan->targets[i]);
		if (!err && module->targets[i].go)
			err = open_go_table(module->name, &plan->targets[i]);
		if (err)
			return err;
	}
	ps_debug_phase("targets found");
	/* what an earlier start read from these very files; capstone loads ahead only when something must be decoded */
	plan->verdicts = ps_verdict_cache_open(opts, plan);
	if (!ps_verdict_cache_complete(plan->verdicts))
		plan->capstone_warm = ps_capstone_warm_start();
	err = read_version(opts, &module->targets[0], &plan->targets[0], plan);
	if (err)
		return err;
	ps_debug_phase("version read");
	choose_layout(opts, plan);
	ps_debug_phase("layout chosen, accessors checked");
	if (module->targets[0].go && !plan->layout) {
		const struct ps_layout_desc *oldest = module->n_layouts ? &module->layouts[0] : NULL;

		/* a Go function's arguments are where its version's calling convention puts them: no guessing */
		if (!plan->targets[0].version[0])
			ps_error("%s: %s does not say which Go built it (no version in .go.buildinfo); give --%s", module->name,
				 plan->targets[0].path, module->targets[0].version.force_flag >= 0 ?
				 module->flags[module->targets[0].version.force_flag].name : "?");
		else
			ps_error("%s: %s was built with Go %s, which no layout of this module covers (the oldest is for Go %s)", module->name, plan->targets[0].path,
				 plan->targets[0].version, oldest ? oldest->min_version : "?");
		return -ENOTSUP;
	}
	return 0;
}

struct ps_disasm *ps_target_disasm(struct ps_resolved_target *target)
{
	if (!target->disasm_tried) {
		target->disasm_tried = true;
		ps_disasm_open(&target->disasm);
	}
	return target->disasm.lib ? &target->disasm : NULL;
}

void ps_plan_close_files(struct ps_plan *plan)
{
	ps_capstone_warm_end(plan->capstone_warm);
	plan->capstone_warm = NULL;
	for (uint32_t i = 0; plan->targets && i < plan->n_targets; i++) {
		ps_disasm_close(&plan->targets[i].disasm);
		ps_elf_close(plan->targets[i].elf);
		plan->targets[i].elf = NULL;
	}
}

void ps_plan_free(struct ps_plan *plan)
{
	ps_plan_close_files(plan);
	for (size_t i = 0; i < plan->n_warnings; i++)
		free(plan->warnings[i]);
	free(plan->warnings);
	plan->warnings = NULL;
	plan->n_warnings = 0;
	free(plan->targets);
	plan->targets = NULL;
	free(plan->offsets);
	plan->offsets = NULL;
	ps_verdict_cache_free(plan->verdicts);
	plan->verdicts = NULL;
	ps_trust_free(&plan->trust);
}
