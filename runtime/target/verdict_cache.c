/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <limits.h>
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include "cache_file.h"
#include "log.h"
#include "verdict_cache.h"
#include "verdict_format.h"

/* An entry is a few hundred bytes; far more is not one. */
#define ENTRY_MAX (1u << 20)

struct ps_verdict_cache {
	const struct ps_module_desc *module;
	char dir[PATH_MAX];
	char entry[PATH_MAX];
	struct ps_verdicts v;        /* from the entry, then what this start read itself */
	bool kept;                   /* something was read from the library: the entry is (re)written */
	unsigned long warnings_at_open;
};

/*
 * The GNU build id of plainsight's own executable (specs, tables and code all
 * change it), from its notes as loaded: the kernel tells where its program
 * headers are (AT_PHDR), PT_PHDR where they were meant to be.
 */
static void own_build_id(uint64_t *hash)
{
	const Elf64_Phdr *phdr = (const Elf64_Phdr *)getauxval(AT_PHDR);
	unsigned long n = getauxval(AT_PHNUM), bias = 0;

	if (!phdr)
		return;
	for (unsigned long i = 0; i < n; i++)
		if (phdr[i].p_type == PT_PHDR)
			bias = (unsigned long)phdr - phdr[i].p_vaddr;
	for (unsigned long i = 0; i < n; i++) {
		const uint8_t *p = (const uint8_t *)(bias + phdr[i].p_vaddr), *end = p + phdr[i].p_memsz;

		if (phdr[i].p_type != PT_NOTE)
			continue;
		while (p + sizeof(Elf64_Nhdr) <= end) {
			const Elf64_Nhdr *note = (const Elf64_Nhdr *)p;
			const uint8_t *name = p + sizeof(*note);
			const uint8_t *desc = name + ((note->n_namesz + 3u) & ~3u);

			if (desc + note->n_descsz > end)
				break;
			if (note->n_type == NT_GNU_BUILD_ID && note->n_namesz == 4 && memcmp(name, "GNU", 4) == 0) {
				*hash = ps_fnv1a(*hash, desc, note->n_descsz);
				return;
			}
			p = desc + ((note->n_descsz + 3u) & ~3u);
		}
	}
}

/* 0 when plainsight has no build id to tell builds apart: nothing is then cached. */
static uint64_t own_build(void)
{
	static uint64_t build;
	static bool done;
	uint64_t hash = PS_FNV_OFFSET;

	if (!done) {
		own_build_id(&hash);
		build = hash == PS_FNV_OFFSET ? 0 : hash;
		done = true;
	}
	return build;
}

static uint64_t hash_string(uint64_t hash, const char *s)
{
	return s ? ps_fnv1a(hash, s, strlen(s) + 1) : ps_fnv1a(hash, "", 1);
}

/* What, beside the files, decides the verdicts: a forced version, --from wire, hooks' symbol and offset flags. */
static uint64_t options_digest(const struct ps_options *opts)
{
	const struct ps_module_desc *m = opts->module;
	uint64_t hash = hash_string(PS_FNV_OFFSET, m->name);
	uint8_t from_wire = opts->from_wire;

	hash = ps_fnv1a(hash, &from_wire, 1);
	for (uint32_t t = 0; t < m->n_targets; t++)
		hash = hash_string(hash, ps_cli_flag_value(opts, m->targets[t].version.force_flag));
	for (uint32_t s = 0; s < m->n_hooksets; s++)
		for (uint32_t h = 0; h < m->hooksets[s].n_hooks; h++) {
			const struct ps_hook_desc *hook = &m->hooksets[s].hooks[h];

			hash = hash_string(hash, hook->offset_flag >= 0 ? ps_cli_flag_value(opts, hook->offset_flag) : NULL);
			hash = hash_string(hash, hook->symbol_flag >= 0 ? ps_cli_flag_value(opts, hook->symbol_flag) : NULL);
		}
	return hash;
}

static void file_identity(const struct stat *st, struct ps_verdict_file *file)
{
	file->dev = (uint64_t)st->st_dev;
	file->ino = (uint64_t)st->st_ino;
	file->size = (uint64_t)st->st_size;
	file->mtime_ns = (uint64_t)st->st_mtim.tv_sec * 1000000000ull + (uint64_t)st->st_mtim.tv_nsec;
}

static bool same_identity(const struct ps_verdict_file *a, const struct ps_verdict_file *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size && a->mtime_ns == b->mtime_ns;
}

static int add_file(struct ps_verdicts *v, const char *path, const struct stat *st)
{
	struct ps_verdict_file *grown = realloc(v->files, (v->n_files + 1) * sizeof(*grown));

	if (!grown)
		return -ENOMEM;
	v->files = grown;
	memset(&v->files[v->n_files], 0, sizeof(v->files[0]));
	v->files[v->n_files].path = strdup(path);
	if (!v->files[v->n_files].path)
		return -ENOMEM;
	file_identity(st, &v->files[v->n_files++]);
	return 0;
}

/* The targets as opened now: the first files of any entry that fits. */
static int identify_targets(const struct ps_plan *plan, struct ps_verdicts *v)
{
	for (uint32_t i = 0; i < plan->n_targets; i++) {
		struct stat st;
		int err = ps_elf_stat(plan->targets[i].elf, &st);

		if (!err)
			err = add_file(v, plan->targets[i].path, &st);
		if (err)
			return err;
	}
	return 0;
}

/* NULL when the entry was made for these files as they are now; else why not, for -d. */
static const char *entry_mismatch(const struct ps_verdicts *found, const struct ps_verdicts *now, char *why,
				  size_t size)
{
	if (found->build != now->build)
		return "made by another build of plainsight";
	if (found->options != now->options)
		return "made for other options";
	if (found->n_files < now->n_files)
		return "made for other files";
	for (uint32_t i = 0; i < found->n_files; i++) {
		const struct ps_verdict_file *was = &found->files[i];
		struct ps_verdict_file is;
		struct stat st;

		if (i < now->n_files && strcmp(was->path, now->files[i].path) != 0)
			return "made for other files";
		if (i < now->n_files) {
			is = now->files[i];
		} else if (stat(was->path, &st) == 0) {
			file_identity(&st, &is);
		} else {
			snprintf(why, size, "%s, which it was read from, is gone", was->path);
			return why;
		}
		if (!same_identity(was, &is)) {
			snprintf(why, size, "%s changed since (device, inode, size or modification time)", was->path);
			return why;
		}
	}
	return NULL;
}

/* The entry's verdicts, when they fit these files; v keeps this start's identity otherwise. */
static void load_entry(struct ps_verdict_cache *cache)
{
	struct ps_verdicts found;
	char why[PATH_MAX + 128];
	const char *mismatch;
	uint8_t *data;
	size_t size;
	int err = ps_cache_read_owned(cache->entry, ENTRY_MAX, &data, &size);

	if (err == -ENOENT) {
		ps_debug("verdicts: no cache entry %s yet: reading the library", cache->entry);
		return;
	}
	if (err) {
		ps_debug("verdicts: not using %s (%s): reading the library, then rewriting it", cache->entry,
			 err == -EPERM ? "owned by another user or writable by others" :
			 err == -EFBIG ? "too big to be one" : strerror(-err));
		return;
	}
	err = ps_verdicts_decode(data, size, &found);
	free(data);
	if (err) {
		ps_debug("verdicts: not using %s (damaged: not a whole entry): reading the library, then rewriting it",
			 cache->entry);
		return;
	}
	mismatch = entry_mismatch(&found, &cache->v, why, sizeof(why));
	if (mismatch) {
		ps_debug("verdicts: not using %s (%s): reading the library, then rewriting it", cache->entry, mismatch);
		ps_verdicts_free(&found);
		return;
	}
	ps_verdicts_free(&cache->v);
	cache->v = found;
	ps_debug("verdicts: from the cache, %s:%s%s%s", cache->entry, found.has_version ? " version" : "",
		 found.has_accessors ? " accessors" : "", found.has_sites ? " hook sites" : "");
}

struct ps_verdict_cache *ps_verdict_cache_open(const struct ps_options *opts, const struct ps_plan *plan)
{
	const char *dir = opts->btf_cache_dir;
	struct ps_verdict_cache *cache;
	uint64_t name_hash;
	int err;

	if (!dir || !*dir) {
		ps_debug("verdicts: no cache (--btf-cache none): reading the library");
		return NULL;
	}
	for (uint32_t i = 0; i < plan->n_targets; i++)
		if (plan->targets[i].is_go) {
			ps_debug("verdicts: not cached for a Go program");
			return NULL;
		}
	if (!own_build()) {
		ps_debug("verdicts: not cached: this build of plainsight has no build id to tell it from the next");
		return NULL;
	}
	cache = calloc(1, sizeof(*cache));
	if (!cache)
		return NULL;
	cache->module = opts->module;
	cache->warnings_at_open = ps_log_warnings_said();
	cache->v.build = own_build();
	cache->v.options = options_digest(opts);
	name_hash = ps_fnv1a(PS_FNV_OFFSET, &cache->v.options, sizeof(cache->v.options));
	for (uint32_t i = 0; i < plan->n_targets; i++)
		name_hash = hash_string(name_hash, plan->targets[i].path);
	if (snprintf(cache->dir, sizeof(cache->dir), "%s", dir) >= (int)sizeof(cache->dir) ||
	    snprintf(cache->entry, sizeof(cache->entry), "%s/%s-%016llx.verdicts", dir, opts->module->name,
		     (unsigned long long)name_hash) >= (int)sizeof(cache->entry) ||
	    identify_targets(plan, &cache->v)) {
		ps_verdict_cache_free(cache);
		return NULL;
	}
	err = ps_cache_dir_make(dir);
	if (err) {
		ps_debug("verdicts: cache directory %s unusable (%s): reading the library", dir, strerror(-err));
		ps_verdict_cache_free(cache);
		return NULL;
	}
	load_entry(cache);
	return cache;
}

/* The sites are kept last, with whatever the start before had to read: an entry with them holds it all. */
bool ps_verdict_cache_complete(const struct ps_verdict_cache *cache)
{
	return cache && cache->v.has_sites;
}

int ps_verdict_cache_version(struct ps_verdict_cache *cache, const struct ps_target_desc *target,
			     struct ps_resolved_target *resolved)
{
	const struct ps_verdicts *v = cache ? &cache->v : NULL;
	const struct ps_version_rule *rule;

	if (!v || !v->has_version)
		return -ESRCH;
	if (v->version_rule < 0) {
		resolved->version[0] = '\0';
		return -ENOENT;
	}
	rule = ps_target_version_rule(target, (uint32_t)v->version_rule);
	if (!rule || !v->version || !v->version_from ||
	    snprintf(resolved->version, sizeof(resolved->version), "%s", v->version) >= (int)sizeof(resolved->version) ||
	    snprintf(resolved->version_from, sizeof(resolved->version_from), "%s", v->version_from) >=
	    (int)sizeof(resolved->version_from)) {
		resolved->version[0] = resolved->version_from[0] = '\0';
		cache->v.has_version = false;
		return -ESRCH;
	}
	resolved->product = rule->product;
	return 0;
}

/* The file the version came from, when it is none of the targets: its identity joins the entry's. */
static void note_version_file(struct ps_verdict_cache *cache, const char *path)
{
	struct stat st;

	for (uint32_t i = 0; i < cache->v.n_files; i++)
		if (strcmp(cache->v.files[i].path, path) == 0)
			return;
	if (stat(path, &st) != 0 || add_file(&cache->v, path, &st) != 0)
		cache->kept = false, cache->v.has_version = false;
}

void ps_verdict_cache_keep_version(struct ps_verdict_cache *cache, const struct ps_target_desc *target,
				   const struct ps_resolved_target *resolved, const struct ps_version_rule *matched)
{
	int32_t index = -1;

	if (!cache)
		return;
	for (uint32_t i = 0; matched && ps_target_version_rule(target, i); i++)
		if (ps_target_version_rule(target, i) == matched)
			index = (int32_t)i;
	if (matched && index < 0)
		return;
	free(cache->v.version);
	free(cache->v.version_from);
	cache->v.version = strdup(resolved->version);
	cache->v.version_from = strdup(index >= 0 ? resolved->version_from : "");
	if (!cache->v.version || !cache->v.version_from)
		return;
	cache->v.version_rule = index;
	cache->v.has_version = cache->kept = true;
	if (index >= 0)
		note_version_file(cache, resolved->version_from);
}

static uint32_t layout_index(const struct ps_module_desc *module, const struct ps_layout_desc *layout)
{
	return (uint32_t)(layout - module->layouts);
}

bool ps_verdict_cache_accessors(struct ps_verdict_cache *cache, const struct ps_module_desc *module,
				const struct ps_layout_desc *layout, int32_t *offsets, bool *shown,
				struct ps_accessor_result *result)
{
	const struct ps_verdicts *v = cache ? &cache->v : NULL;

	if (!v || !v->has_accessors || v->layout_index != layout_index(module, layout) ||
	    v->n_offsets != module->n_offsets || (v->mismatches && v->first_mismatch >= v->n_offsets) ||
	    !v->message || strlen(v->message) >= sizeof(result->message))
		return false;
	memcpy(offsets, v->offsets, v->n_offsets * sizeof(*offsets));
	for (uint32_t i = 0; i < v->n_offsets; i++)
		shown[i] = v->shown[i];
	memset(result, 0, sizeof(*result));
	result->checked = v->checked;
	result->mismatches = v->mismatches;
	result->first_mismatch = v->first_mismatch;
	snprintf(result->message, sizeof(result->message), "%s", v->message);
	return true;
}

void ps_verdict_cache_keep_accessors(struct ps_verdict_cache *cache, const struct ps_module_desc *module,
				     const struct ps_layout_desc *layout, const int32_t *offsets, const bool *shown,
				     const struct ps_accessor_result *result)
{
	struct ps_verdicts *v = cache ? &cache->v : NULL;

	if (!v)
		return;
	free(v->offsets);
	free(v->shown);
	free(v->message);
	v->has_accessors = false;
	v->n_offsets = module->n_offsets;
	v->offsets = malloc((v->n_offsets + 1) * sizeof(*v->offsets));
	v->shown = malloc(v->n_offsets + 1);
	v->message = strdup(result->message);
	if (!v->offsets || !v->shown || !v->message)
		return;
	memcpy(v->offsets, offsets, v->n_offsets * sizeof(*offsets));
	for (uint32_t i = 0; i < v->n_offsets; i++)
		v->shown[i] = shown[i];
	v->layout_index = layout_index(module, layout);
	v->checked = result->checked;
	v->mismatches = result->mismatches;
	v->first_mismatch = result->first_mismatch;
	v->has_accessors = cache->kept = true;
}

bool ps_verdict_cache_sites(struct ps_verdict_cache *cache, uint32_t hookset, uint32_t n_hooks, long *sites,
			    uint32_t *n_missing)
{
	const struct ps_verdicts *v = cache ? &cache->v : NULL;
	const struct ps_hookset_desc *hooks = cache && hookset < cache->module->n_hooksets ?
					      &cache->module->hooksets[hookset] : NULL;

	if (!v || !v->has_sites || !hooks || v->hookset != hookset || v->n_sites != n_hooks || v->n_missing > n_hooks)
		return false;
	/* a site is an offset into its hook's target: within that file as it was */
	for (uint32_t i = 0; i < n_hooks; i++) {
		uint32_t target = hooks->hooks[i].target;

		if (v->sites[i] >= 0 && (target >= v->n_files || (uint64_t)v->sites[i] >= v->files[target].size))
			return false;
	}
	for (uint32_t i = 0; i < n_hooks; i++)
		sites[i] = v->sites[i] < 0 ? -ESRCH : (long)v->sites[i];
	*n_missing += v->n_missing;
	return true;
}

void ps_verdict_cache_keep_sites(struct ps_verdict_cache *cache, uint32_t hookset, uint32_t n_hooks,
				 const long *sites, uint32_t n_missing)
{
	struct ps_verdicts *v = cache ? &cache->v : NULL;

	if (!v)
		return;
	free(v->sites);
	v->has_sites = false;
	v->sites = malloc((n_hooks + 1) * sizeof(*v->sites));
	if (!v->sites)
		return;
	for (uint32_t i = 0; i < n_hooks; i++)
		v->sites[i] = sites[i] < 0 ? -1 : sites[i];
	v->hookset = hookset;
	v->n_sites = n_hooks;
	v->n_missing = n_missing;
	v->has_sites = cache->kept = true;
}

void ps_verdict_cache_save(struct ps_verdict_cache *cache)
{
	uint8_t *bytes;
	size_t size;
	int err;

	if (!cache || !cache->kept)
		return;
	cache->kept = false;
	if (ps_log_warnings_said() != cache->warnings_at_open) {
		ps_debug("verdicts: not saved: warnings were said while reading the library, which a start from the "
			 "cache would not repeat");
		return;
	}
	err = ps_verdicts_encode(&cache->v, &bytes, &size);
	if (err) {
		ps_debug("verdicts: cannot save %s (%s)", cache->entry, strerror(-err));
		return;
	}
	err = ps_cache_write_atomic(cache->dir, cache->entry, 0600, bytes, size, NULL, 0);
	free(bytes);
	if (err)
		ps_debug("verdicts: cannot save %s (%s)", cache->entry, strerror(-err));
	else
		ps_debug("verdicts: saved in %s (%zu bytes)", cache->entry, size);
}

void ps_verdict_cache_free(struct ps_verdict_cache *cache)
{
	if (!cache)
		return;
	ps_verdicts_free(&cache->v);
	free(cache);
}
