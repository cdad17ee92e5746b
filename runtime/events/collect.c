/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "collect.h"
#include "fields.h"
#include "log.h"

/* Bound on records waiting to be collected: the oldest go first. */
#define MAX_PENDING 65536

struct pending {
	uint32_t event;
	uint32_t key;               /* pid or tid, as the event is buffered */
	uint8_t *data;
	size_t len;
	struct ps_event_header header; /* who and when, for a record written unfinished */
	uint64_t time_ns;
};

struct ps_collect {
	const struct ps_options *opts;
	bool active;                /* the module uses any of this */
	struct pending *pending;
	size_t n_pending, cap_pending;
	uint64_t dropped;           /* pending records pushed out by MAX_PENDING or written unfinished */
};

static bool module_needs_collect(const struct ps_module_desc *m)
{
	if (m->n_filters)
		return true;
	for (uint32_t e = 0; e < m->n_events; e++) {
		if (m->events[e].buffer != PS_BUFFER_NONE)
			return true;
		for (uint32_t f = 0; f < m->events[e].n_fields; f++)
			if (m->events[e].fields[f].collect || m->events[e].fields[f].unescape)
				return true;
	}
	return false;
}

struct ps_collect *ps_collect_new(const struct ps_options *opts)
{
	struct ps_collect *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->opts = opts;
	c->active = module_needs_collect(opts->module);
	return c;
}

size_t ps_collect_pending(const struct ps_collect *c)
{
	return c ? c->n_pending : 0;
}

uint64_t ps_collect_uncollected(const struct ps_collect *c)
{
	return c ? c->n_pending + c->dropped : 0;
}

void ps_collect_free(struct ps_collect *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_pending; i++)
		free(c->pending[i].data);
	free(c->pending);
	free(c);
}

static const struct ps_field_desc *var_field(const struct ps_record *rec)
{
	return rec->event->var_field >= 0 ? &rec->event->fields[rec->event->var_field] : NULL;
}

/* A copy of the data, each `byte` + next turned into next ^ mask when asked. */
static uint8_t *copy_data(const struct ps_field_desc *field, const uint8_t *data, size_t len, size_t *out_len)
{
	uint8_t *out = malloc(len + 1);
	size_t n = 0;

	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		if (field && field->unescape && data[i] == field->unescape_byte && i + 1 < len)
			out[n++] = data[++i] ^ field->unescape_xor;
		else
			out[n++] = data[i];
	}
	out[n] = '\0';
	*out_len = n;
	return out;
}

static uint32_t buffer_key(const struct ps_record *rec, enum ps_buffer_kind kind)
{
	const struct ps_event_header *hdr = ps_record_header(rec);

	return kind == PS_BUFFER_TID ? hdr->tid : hdr->pid;
}

static void write_unfinished(struct ps_collect *c, size_t index, ps_record_fn emit, void *arg);

static void keep(struct ps_collect *c, const struct ps_record *rec, uint8_t *data, size_t len, ps_record_fn emit,
		 void *arg)
{
	if (c->n_pending == MAX_PENDING) {
		if (!c->dropped)
			ps_warn("%s: more than %d records wait to be collected; writing the oldest unfinished",
				rec->module->name, MAX_PENDING);
		write_unfinished(c, 0, emit, arg);
	}
	if (c->n_pending == c->cap_pending) {
		size_t cap = c->cap_pending ? c->cap_pending * 2 : 64;
		struct pending *grown = realloc(c->pending, cap * sizeof(*grown));

		if (!grown) {
			free(data);
			return;
		}
		c->pending = grown;
		c->cap_pending = cap;
	}
	c->pending[c->n_pending++] = (struct pending){
		.event = (uint32_t)(rec->event - rec->module->events),
		.key = buffer_key(rec, rec->event->buffer),
		.data = data,
		.len = len,
		.header = *ps_record_header(rec),
		.time_ns = rec->time_ns,
	};
}

/* Joins (and forgets) what waits for this record; NULL when nothing does. */
static uint8_t *take(struct ps_collect *c, const struct ps_record *rec, const struct ps_field_desc *field,
		     size_t *out_len)
{
	const struct ps_event_desc *source = &rec->module->events[field->collect_event];
	uint32_t key = buffer_key(rec, source->buffer);
	size_t sep = field->joined ? strlen(field->joined) : 0, len = 0, kept = 0;
	uint8_t *out = NULL;
	bool any = false;

	for (size_t i = 0; i < c->n_pending; i++)
		if (c->pending[i].event == field->collect_event && c->pending[i].key == key) {
			len += (any ? sep : 0) + c->pending[i].len;
			any = true;
		}
	if (!any || !(out = malloc(len + 1)))
		return NULL;
	len = 0;
	any = false;
	for (size_t i = 0; i < c->n_pending; i++) {
		struct pending *p = &c->pending[i];

		if (p->event != field->collect_event || p->key != key) {
			c->pending[kept++] = *p;
			continue;
		}
		if (any && sep) {
			memcpy(out + len, field->joined, sep);
			len += sep;
		}
		memcpy(out + len, p->data, p->len);
		len += p->len;
		any = true;
		free(p->data);
	}
	c->n_pending = kept;
	out[len] = '\0';
	*out_len = len;
	return out;
}

static int compare(enum ps_filter_op op, int cmp)
{
	switch (op) {
	case PS_FILTER_EQ: return cmp == 0;
	case PS_FILTER_NE: return cmp != 0;
	case PS_FILTER_LT: return cmp < 0;
	case PS_FILTER_LE: return cmp <= 0;
	case PS_FILTER_GT: return cmp > 0;
	case PS_FILTER_GE: return cmp >= 0;
	}
	return 0;
}

static bool filter_passes(const struct ps_options *opts, const struct ps_filter_desc *flt, const struct ps_record *rec)
{
	const struct ps_field_desc *field = NULL;
	const char *flag_value = NULL;
	int64_t have, want = flt->value;

	for (uint32_t i = 0; i < rec->event->n_fields && !field; i++)
		if (strcmp(rec->event->fields[i].name, flt->field) == 0)
			field = &rec->event->fields[i];
	if (!field)
		return true;
	if (flt->flag >= 0) {
		flag_value = ps_cli_flag_value(opts, flt->flag);
		if (!flag_value)
			return true;    /* a filter on a flag not given is off */
	}
	if (flt->text) {
		const char *text = flag_value ? flag_value : flt->text_value ? flt->text_value : "";
		size_t n = strlen(text);
		int cmp = rec->data_len == n ? memcmp(rec->data ? (const void *)rec->data : "", text, n)
					     : (rec->data_len < n ? -1 : 1);

		return compare(flt->op, cmp);
	}
	if (flag_value) {
		char *end;

		want = strtoll(flag_value, &end, 0);
		if (*end)
			return false;
	}
	if (ps_field_int(field, rec, &have))
		return false;   /* an absent value satisfies no comparison */
	return compare(flt->op, have < want ? -1 : have > want);
}

static bool filters_pass(const struct ps_collect *c, const struct ps_record *rec)
{
	for (uint32_t i = 0; i < rec->module->n_filters; i++)
		if (!filter_passes(c->opts, &rec->module->filters[i], rec))
			return false;
	return true;
}

/* out, with data in place of its own where there is any, to emit if it passes the filters; data is freed. */
static void emit_filtered(const struct ps_collect *c, struct ps_record *out, uint8_t *data, size_t len,
			  ps_record_fn emit, void *arg)
{
	if (data) {
		out->data = data;
		out->data_len = len;
	}
	if (filters_pass(c, out))
		emit(out, arg);
	free(data);
}

void ps_collect_record(struct ps_collect *c, const struct ps_record *rec, ps_record_fn emit, void *arg)
{
	const struct ps_field_desc *field;
	struct ps_record out;
	uint8_t *data = NULL;
	size_t len = 0;

	if (!c || !c->active) {
		emit(rec, arg);
		return;
	}
	field = var_field(rec);
	out = *rec;
	if (rec->event->buffer != PS_BUFFER_NONE) {
		data = copy_data(field, rec->data, rec->data ? rec->data_len : 0, &len);
		if (data)
			keep(c, rec, data, len, emit, arg);
		return;
	}
	if (field && field->collect) {
		data = take(c, rec, field, &len);
		if (!data)
			return;     /* nothing was typed or sent for it */
		/* the gaps were in this record's own data, which the collected text replaces */
		out.gaps = NULL;
		out.n_gaps = 0;
		out.lost_bytes = 0;
	} else if (field && field->unescape && rec->data) {
		data = copy_data(field, rec->data, rec->data_len, &len);
		if (!data)
			return;
	}
	emit_filtered(c, &out, data, len, emit, arg);
}

/* The field (of another event) that collects event `source`, or NULL. */
static const struct ps_field_desc *collector_of(const struct ps_module_desc *m, uint32_t source,
						const struct ps_event_desc **event)
{
	for (uint32_t e = 0; e < m->n_events; e++) {
		const struct ps_event_desc *ev = &m->events[e];

		if (ev->var_field >= 0 && ev->fields[ev->var_field].collect &&
		    ev->fields[ev->var_field].collect_event == source) {
			*event = ev;
			return &ev->fields[ev->var_field];
		}
	}
	return NULL;
}

static void forget(struct ps_collect *c, size_t index)
{
	free(c->pending[index].data);
	memmove(c->pending + index, c->pending + index + 1, (c->n_pending - index - 1) * sizeof(*c->pending));
	c->n_pending--;
}

/*
 * Everything waiting with pending[index] (same event, same pid or tid),
 * joined into one record of the collecting event: its header is that of the
 * first part (who typed or sent it, when), with the event's own id; its
 * other fields are absent (unfinished), for their values never came.
 */
static void write_unfinished(struct ps_collect *c, size_t index, ps_record_fn emit, void *arg)
{
	const struct ps_module_desc *m = c->opts->module;
	const struct pending *p = &c->pending[index];
	const struct ps_event_desc *event = NULL;
	const struct ps_field_desc *field = collector_of(m, p->event, &event);
	struct ps_event_header *header;
	struct ps_record out;
	size_t before = c->n_pending, len = 0;
	uint8_t *data;

	/* no collecting event, or no memory for its header: it goes, counted */
	header = field ? calloc(1, event->fixed_size > sizeof(*header) ? event->fixed_size : sizeof(*header)) : NULL;
	if (!header) {
		forget(c, index);
		c->dropped++;
		return;
	}
	*header = p->header;
	header->event_id = (uint16_t)(event - m->events);
	header->present = 0;
	header->fixed_size = (uint16_t)event->fixed_size;
	out = (struct ps_record){
		.module = m,
		.event = event,
		.fixed = header,
		.time_ns = p->time_ns,
		.incomplete = true,
		.unfinished = true,
	};
	data = take(c, &out, field, &len);
	if (!data && c->n_pending == before)
		forget(c, index);   /* no memory to join them: they go, counted */
	c->dropped += before - c->n_pending;
	if (data)
		emit_filtered(c, &out, data, len, emit, arg);
	free(header);
}

void ps_collect_flush(struct ps_collect *c, ps_record_fn emit, void *arg)
{
	if (!c)
		return;
	while (c->n_pending)
		write_unfinished(c, 0, emit, arg);
}
