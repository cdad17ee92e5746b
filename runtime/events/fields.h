/* SPDX-License-Identifier: MIT */
/* Reading a record's fields through their descriptors. */
#ifndef PS_FIELDS_H
#define PS_FIELDS_H

#include <stdbool.h>
#include <stdint.h>
#include "record.h"

/* Whether the field has a value in this record (optional fields may not). */
bool ps_field_present(const struct ps_field_desc *field, const struct ps_record *rec);

/* An integer or enum field's value; -ENOENT when absent, -EINVAL for other kinds. */
int ps_field_int(const struct ps_field_desc *field, const struct ps_record *rec, int64_t *value);

/* A u8[N] field's field->size bytes; NULL when absent or not one. */
const uint8_t *ps_field_fixed_bytes(const struct ps_field_desc *field, const struct ps_record *rec);

/* A tuple field; NULL when absent or not a tuple. */
const struct ps_tuple *ps_field_tuple(const struct ps_field_desc *field, const struct ps_record *rec);

#endif
