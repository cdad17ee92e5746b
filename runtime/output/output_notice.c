/* SPDX-License-Identifier: MIT */
/* Notices in the json output: what the running module cannot see (reach.h), and each copy it attached to (copies.h). */
#include <string.h>
#include "copies.h"
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

void ps_output_json_attachment(FILE *f, const struct ps_attachment *a)
{
	fprintf(f, "{\"notice\": \"%s\", \"pid\": %u", a->released ? "released" : "attached", a->pid);
	write_string_field(f, "path", a->path);
	if (a->released) {
		fputs("}\n", f);
		return;
	}
	write_string_field(f, "opened", a->opened);
	if (a->product)
		write_string_field(f, "product", a->product);
	write_string_field(f, "version", a->version);
	write_string_field(f, "layout", a->layout);
	fprintf(f, ", \"probes\": %u", a->n_uprobes);
	if (a->n_also) {
		fputs(", \"also\": [", f);
		for (size_t i = 0; i < a->n_also; i++) {
			fputs(i ? ", \"" : "\"", f);
			ps_format_json_string(f, (const uint8_t *)a->also[i], strlen(a->also[i]));
			fputc('"', f);
		}
		fputc(']', f);
	}
	fputs("}\n", f);
}
