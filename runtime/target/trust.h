/* SPDX-License-Identifier: MIT */
/*
 * Whether the offsets a plan uses can be believed, and what is refused when
 * they cannot: decided once by the plan (target.c), read by the capture.
 */
#ifndef PS_TRUST_H
#define PS_TRUST_H

#include <stdbool.h>
#include <stdint.h>
#include "module.h"

/* Why the plan's offsets are what they are; one reason, the strongest that applies. */
enum ps_trust_basis {
	PS_TRUST_NO_LAYOUT,       /* no version, or older than every layout: no offsets, offset-based fields absent */
	PS_TRUST_EXACT,           /* the detected version lies in the layout's range */
	PS_TRUST_NEAREST_LOWER,   /* no range holds the detected version: the nearest lower layout */
	PS_TRUST_FORCED,          /* the version was given on the command line (--ssl_version and the like) */
	PS_TRUST_CONTRADICTED,    /* an accessor reads a field elsewhere (contradicted_by): only what they show is used */
};

/* What becomes of the secrets (keylog) records. */
enum ps_secrets_refusal {
	PS_SECRETS_WRITTEN,          /* no secrets field reads an offset the accessors leave unconfirmed */
	PS_SECRETS_FIELDS_REFUSED,   /* the secrets fields that do are left out (events[]) */
	PS_SECRETS_ALL_REFUSED,      /* no memory to tell the fields apart: every secrets record is refused */
};

/* One event's fields left out because they read offsets no accessor confirms in a contradicted layout. */
struct ps_event_trust {
	uint32_t drop_present;    /* their present bits */
	bool drop_record;         /* one of them is always present: the record is not written */
};

struct ps_trust {
	enum ps_trust_basis basis;
	const struct ps_offset_desc *contradicted_by; /* the first field an accessor contradicts; NULL: none */
	enum ps_secrets_refusal secrets;
	struct ps_event_trust *events; /* one per module event when contradicted; NULL: no field is left out */
	uint32_t accessors_confirmed;  /* layout offsets the library's accessors confirmed */
	uint32_t accessors_corrected;  /* layout offsets replaced by what the accessors read */
};

enum ps_record_verdict {
	PS_RECORD_WRITE,          /* as it is */
	PS_RECORD_TRIM,           /* without the fields *drop names (present bits) */
	PS_RECORD_REFUSE,         /* not at all */
};

/* What the capture does with a record of the module's event e whose header has these present bits. */
enum ps_record_verdict ps_trust_record(const struct ps_trust *trust, const struct ps_event_desc *event, uint32_t e,
				       uint32_t present, uint32_t *drop);

/* Whether any secret is refused (the summary says so). */
bool ps_trust_keys_refused(const struct ps_trust *trust);

/* "exact", "nearest lower", ...: for -d and for tests. */
const char *ps_trust_basis_name(enum ps_trust_basis basis);

void ps_trust_free(struct ps_trust *trust);

#endif
