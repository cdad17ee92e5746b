/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "rodata.h"

static struct bpf_map *find_rodata_map(struct bpf_object *obj)
{
	struct bpf_map *map;

	bpf_object__for_each_map(map, obj) {
		const char *name = bpf_map__name(map);
		size_t len = strlen(name);

		/* libbpf names it "<object>.rodata", cut to the kernel's 15 characters */
		if (bpf_map__is_internal(map) && len >= 7 && strcmp(name + len - 7, ".rodata") == 0)
			return map;
	}
	return NULL;
}

int ps_rodata_var(struct bpf_object *obj, const char *name, void **data, uint32_t *size)
{
	struct btf *btf = bpf_object__btf(obj);
	struct bpf_map *map = find_rodata_map(obj);
	const struct btf_var_secinfo *vars;
	const struct btf_type *sec;
	size_t map_size;
	char *init;
	int id;

	if (!btf || !map)
		return -ENOENT;
	id = btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC);
	if (id < 0)
		return -ENOENT;
	/* libbpf 1.1 hands the mmap'ed image out as const; it is writable until load */
	init = (char *)bpf_map__initial_value(map, &map_size);
	if (!init)
		return -ENOENT;
	sec = btf__type_by_id(btf, id);
	vars = btf_var_secinfos(sec);
	for (int i = 0; i < btf_vlen(sec); i++) {
		const struct btf_type *var = btf__type_by_id(btf, vars[i].type);

		if (strcmp(btf__name_by_offset(btf, var->name_off), name) != 0)
			continue;
		if ((size_t)vars[i].offset + vars[i].size > map_size)
			return -EINVAL;
		*data = init + vars[i].offset;
		*size = vars[i].size;
		return 0;
	}
	return -ENOENT;
}

bool ps_rodata_equal(struct bpf_object *a, struct bpf_object *b)
{
	struct bpf_map *map_a = find_rodata_map(a), *map_b = find_rodata_map(b);
	size_t size_a, size_b;
	const void *init_a, *init_b;

	if (!map_a || !map_b)
		return false;
	init_a = bpf_map__initial_value(map_a, &size_a);
	init_b = bpf_map__initial_value(map_b, &size_b);
	return init_a && init_b && size_a == size_b && memcmp(init_a, init_b, size_a) == 0;
}
