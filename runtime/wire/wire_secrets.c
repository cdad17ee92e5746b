/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "wire_secrets.h"

/* Open addressing over a ring of entries in arrival order: the ring decides which one goes. */
#define SLOTS (2 * PS_WIRE_SECRETS_MAX)
#define EMPTY UINT32_MAX

struct ps_wire_secrets {
	struct ps_secrets *entries;  /* PS_WIRE_SECRETS_MAX, a ring */
	uint32_t next, used;
	uint32_t touched;            /* entries ever written: [0, touched) */
	uint32_t *slots;             /* SLOTS indices into entries, or EMPTY */
};

struct ps_wire_secrets *ps_wire_secrets_new(void)
{
	struct ps_wire_secrets *ws = calloc(1, sizeof(*ws));

	if (!ws)
		return NULL;
	ws->entries = calloc(PS_WIRE_SECRETS_MAX, sizeof(*ws->entries));
	ws->slots = malloc(SLOTS * sizeof(*ws->slots));
	if (!ws->entries || !ws->slots) {
		ps_wire_secrets_free(ws);
		return NULL;
	}
	memset(ws->slots, 0xff, SLOTS * sizeof(*ws->slots));
	return ws;
}

void ps_wire_secrets_free(struct ps_wire_secrets *ws)
{
	if (!ws)
		return;
	if (ws->entries)  /* keys do not outlive us in freed memory; untouched pages stay unmapped */
		memset(ws->entries, 0, ws->touched * sizeof(*ws->entries));
	free(ws->entries);
	free(ws->slots);
	free(ws);
}

/* Client randoms are random: their first bytes are a fine hash. */
static uint32_t home(const uint8_t random[32])
{
	uint32_t h;

	memcpy(&h, random, sizeof(h));
	return h % SLOTS;
}

static uint32_t *find_slot(const struct ps_wire_secrets *ws, const uint8_t random[32])
{
	for (uint32_t i = home(random), n = 0; n < SLOTS; i = (i + 1) % SLOTS, n++) {
		uint32_t e = ws->slots[i];

		if (e == EMPTY || memcmp(ws->entries[e].client_random, random, 32) == 0)
			return &ws->slots[i];
	}
	return NULL;
}

/* Takes an entry out of the table, moving later ones of its run back (linear probing's deletion). */
static void remove_slot(struct ps_wire_secrets *ws, uint32_t *slot)
{
	uint32_t i = (uint32_t)(slot - ws->slots), j = i;

	ws->slots[i] = EMPTY;
	for (;;) {
		uint32_t h;

		j = (j + 1) % SLOTS;
		if (ws->slots[j] == EMPTY)
			return;
		h = home(ws->entries[ws->slots[j]].client_random);
		/* the entry at j may fill the hole at i when its home is not in (i, j] */
		if ((i <= j) ? (h <= i || h > j) : (h <= i && h > j)) {
			ws->slots[i] = ws->slots[j];
			ws->slots[j] = EMPTY;
			i = j;
		}
	}
}

static void merge(struct ps_secrets *into, const struct ps_secrets *from)
{
	for (int l = 0; l < PS_SECRET_LABELS; l++)
		if (from->labels & (1u << l)) {
			memcpy(into->secret[l], from->secret[l], from->len[l]);
			into->len[l] = from->len[l];
			into->labels |= 1u << l;
		}
	if (from->has_version) {
		into->version = from->version;
		into->has_version = true;
	}
	if (from->has_cipher) {
		into->cipher = from->cipher;
		into->has_cipher = true;
	}
}

int ps_wire_secrets_add(struct ps_wire_secrets *ws, const struct ps_secrets *s)
{
	uint32_t *slot;
	struct ps_secrets *e;

	if (!s->has_client_random)
		return -EINVAL;
	slot = find_slot(ws, s->client_random);
	if (slot && *slot != EMPTY) {
		merge(&ws->entries[*slot], s);
		return 0;
	}
	if (ws->used == PS_WIRE_SECRETS_MAX) {  /* the oldest goes */
		uint32_t *old = find_slot(ws, ws->entries[ws->next].client_random);

		if (old && *old == ws->next)
			remove_slot(ws, old);
		ws->used--;
		slot = find_slot(ws, s->client_random);
	}
	if (!slot)
		return -ENOMEM;
	e = &ws->entries[ws->next];
	memset(e, 0, sizeof(*e));
	memcpy(e->client_random, s->client_random, 32);
	e->has_client_random = true;
	merge(e, s);
	*slot = ws->next;
	if (ws->next >= ws->touched)
		ws->touched = ws->next + 1;
	ws->next = (ws->next + 1) % PS_WIRE_SECRETS_MAX;
	ws->used++;
	return 0;
}

const struct ps_secrets *ps_wire_secrets_find(const struct ps_wire_secrets *ws, const uint8_t client_random[32])
{
	const uint32_t *slot = find_slot(ws, client_random);

	return slot && *slot != EMPTY ? &ws->entries[*slot] : NULL;
}
