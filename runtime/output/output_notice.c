/* SPDX-License-Identifier: MIT */
/* Notices in the json output: what the running module cannot see (reach.h). */
#include <string.h>
#include "output.h"
#include "reach.h"

static void write_string_field(FILE *f, const char *key, const char *value)
{
	fprintf(f, ", \"%s\": \"", key);
	ps_format_json_string(f, (const uint8_t *)value, strlen(value));
	fputc('"', f);
}

void ps_output_json_notice(FILE *f, const struct ps_notice *notice)
{
	fprintf(f, "{\"notice\": \"unreachable\", \"pid\": %u", notice->pid);
	write_string_field(f, "exe", notice->exe);
	write_string_field(f, "stack", notice->stack->name);
	write_string_field(f, "module", notice->stack->module);
	if (notice->library)
		write_string_field(f, "library", notice->library);
	write_string_field(f, "reason", notice->reason);
	fputs("}\n", f);
}
