/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include "keylog.h"
#include "trust.h"

enum ps_record_verdict ps_trust_record(const struct ps_trust *trust, const struct ps_event_desc *event, uint32_t e,
				       uint32_t present, uint32_t *drop)
{
	*drop = 0;
	if (!trust->events) {
		if (trust->secrets == PS_SECRETS_ALL_REFUSED && ps_keylog_is_secrets_event(event))
			return PS_RECORD_REFUSE;
		return PS_RECORD_WRITE;
	}
	if (trust->events[e].drop_record)
		return PS_RECORD_REFUSE;
	if (!(present & trust->events[e].drop_present))
		return PS_RECORD_WRITE;
	*drop = trust->events[e].drop_present;
	return PS_RECORD_TRIM;
}

bool ps_trust_keys_refused(const struct ps_trust *trust)
{
	return trust->secrets != PS_SECRETS_WRITTEN;
}

const char *ps_trust_basis_name(enum ps_trust_basis basis)
{
	switch (basis) {
	case PS_TRUST_NO_LAYOUT:
		return "no layout";
	case PS_TRUST_EXACT:
		return "exact layout";
	case PS_TRUST_NEAREST_LOWER:
		return "nearest lower layout";
	case PS_TRUST_FORCED:
		return "forced version";
	case PS_TRUST_CONTRADICTED:
		return "contradicted by an accessor";
	}
	return "?";
}

void ps_trust_free(struct ps_trust *trust)
{
	free(trust->events);
	trust->events = NULL;
}
