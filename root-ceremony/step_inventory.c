/* SPDX-License-Identifier: ISC */
/*
 * step_inventory: show the PKCS#11 module, its slots and tokens and the key
 * objects on them with their protection attributes, so that the officers
 * can confirm they hold the right HSM before anything is generated. It logs
 * in to the root key's token (to list private keys too) but opens no key,
 * changes nothing and asks for no confirmation; the tokens seen go into the
 * transcript.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ca_error.h"
#include "common/transcript.h"
#include "hsm/hsm.h"
#include "root-ceremony/ceremony.h"

static const char *
attr(int v)
{
	return v < 0 ? "?" : v ? "yes" : "no";
}

static void
print_key(const struct hsm_inv_key *k)
{
	printf("    %s key \"%s\" id %s, %s\n", k->is_private ? "private" :
	    "public", k->label, k->id_hex[0] != '\0' ? k->id_hex : "(none)",
	    k->type);
	if (k->is_private)
		printf("      sensitive %s, always sensitive %s, extractable %s, "
		    "never extractable %s\n", attr(k->sensitive),
		    attr(k->always_sensitive), attr(k->extractable),
		    attr(k->never_extractable));
	printf("      sign %s, decrypt %s, unwrap %s, derive %s\n",
	    attr(k->sign), attr(k->decrypt), attr(k->unwrap),
	    attr(k->derive));
}

int
step_inventory(struct ceremony *c)
{
	struct hsm_inventory *inv = NULL;
	const struct hsm_inv_token *t;
	char *turi = NULL;
	size_t i, j;
	int rc = CA_ERR_INTERNAL;

	/* The key URI names the token; hsm_inventory matches by token. */
	if ((turi = strdup(c->key_uri)) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "inventory: out of memory");
		goto out;
	}
	if ((rc = ceremony_hsm_open(c)) != CA_OK ||
	    (rc = ceremony_pin(c)) != CA_OK ||
	    (rc = ceremony_hsm_rc(hsm_inventory_pin(&inv, c->hsm, turi,
	    c->pin))) != CA_OK)
		goto out;
	if ((rc = transcript_entry_add(c->entry, "module", "%s \"%s\" \"%s\"",
	    c->module, inv->module_description,
	    inv->module_manufacturer)) != CA_OK)
		goto out;

	printf("\nPKCS#11 module %s\n", c->module);
	printf("  \"%s\" by \"%s\"\n", inv->module_description,
	    inv->module_manufacturer);
	for (i = 0; i < inv->ntokens; i++) {
		t = &inv->tokens[i];
		printf("\nSlot %lu: %s\n", t->slot_id, t->slot_description);
		if (!t->token_present) {
			printf("  no token\n");
			continue;
		}
		printf("  %s\n", t->ident);
		printf("  %s\n", t->hardware ? "hardware token (the slot says "
		    "CKF_HW_SLOT)" : "SOFTWARE token (the slot does not say "
		    "CKF_HW_SLOT)");
		printf("  initialized %s, login required %s, user PIN "
		    "locked %s\n", attr(t->initialized),
		    attr(t->login_required), attr(t->user_pin_locked));
		if (!t->initialized)
			continue;
		if ((rc = transcript_entry_add(c->entry, "token", "%s %s "
		    "keys %zu%s", t->ident, t->hardware ? "hardware" :
		    "software", t->nkeys,
		    t->keys_listed ? "" : " (public objects only)")) != CA_OK)
			goto out;
		printf("  %zu key object(s)%s\n", t->nkeys, t->keys_listed ?
		    "" : " (not logged in: public objects only)");
		for (j = 0; j < t->nkeys; j++) {
			print_key(&t->keys[j]);
			if ((rc = transcript_entry_add(c->entry, "object",
			    "token %s %s label \"%s\" id %s %s", t->label,
			    t->keys[j].is_private ? "private" : "public",
			    t->keys[j].label, t->keys[j].id_hex,
			    t->keys[j].type)) != CA_OK)
				goto out;
		}
	}
	printf("\nThe root key is to be %s\n", c->key_uri);
	rc = CA_OK;
 out:
	hsm_inventory_free(inv);
	free(turi);
	return rc;
}
