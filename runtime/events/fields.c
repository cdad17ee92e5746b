/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>
#include "fields.h"

bool ps_field_present(const struct ps_field_desc *field, const struct ps_record *rec)
{
	if (rec->unfinished && field - rec->event->fields != rec->event->var_field)
		return false;
	if (field->present_bit < 0)
		return true;
	if (field->present_bit >= 32)
		return false;
	return (ps_record_header(rec)->present >> field->present_bit) & 1;
}

/* Fields are little-endian and 1, 2, 4 or 8 bytes wide. */
static uint64_t read_unsigned(const uint8_t *p, uint32_t size)
{
	uint64_t v = 0;

	memcpy(&v, p, size < 8 ? size : 8);
	return v;
}

static int64_t read_signed(const uint8_t *p, uint32_t size)
{
	unsigned shift = size < 8 ? 64 - 8 * size : 0;

	return (int64_t)(read_unsigned(p, size) << shift) >> shift;
}

int ps_field_int(const struct ps_field_desc *field, const struct ps_record *rec, int64_t *value)
{
	const uint8_t *p = (const uint8_t *)rec->fixed + field->offset;

	if (field->kind != PS_FIELD_INT && field->kind != PS_FIELD_UINT && field->kind != PS_FIELD_ENUM)
		return -EINVAL;
	if (!ps_field_present(field, rec))
		return -ENOENT;
	*value = field->kind == PS_FIELD_INT ? read_signed(p, field->size) : (int64_t)read_unsigned(p, field->size);
	return 0;
}

const uint8_t *ps_field_fixed_bytes(const struct ps_field_desc *field, const struct ps_record *rec)
{
	if (field->kind != PS_FIELD_FIXED_BYTES || !ps_field_present(field, rec))
		return NULL;
	return (const uint8_t *)rec->fixed + field->offset;
}

const struct ps_tuple *ps_field_tuple(const struct ps_field_desc *field, const struct ps_record *rec)
{
	if (field->kind != PS_FIELD_TUPLE || !ps_field_present(field, rec))
		return NULL;
	return (const struct ps_tuple *)((const uint8_t *)rec->fixed + field->offset);
}
