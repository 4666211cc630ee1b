/* SPDX-License-Identifier: ISC */
/*
 * hsm_inventory: what the officers look at before a ceremony starts: the
 * module, every slot, the token in it, and the key objects on each token
 * with the attributes that matter for a CA key. It reads everything with
 * raw PKCS#11 calls (libp11 0.4.12 cannot show the attributes, and stops
 * listing a token that holds an Ed25519 key); it logs in, through libp11,
 * only to the tokens the caller names.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hsm/hsm_int.h"

#define INV_MAX_SLOTS	64

static void
copy_padded(char *dst, size_t dstlen, const unsigned char *src, size_t n)
{
	char tmp[80];

	if (n >= sizeof(tmp))
		n = sizeof(tmp) - 1;
	memcpy(tmp, src, n);
	tmp[n] = '\0';
	hsm_copy_field(dst, dstlen, tmp);
}

void
hsm_inventory_free(struct hsm_inventory *inv)
{
	size_t i;

	if (inv == NULL)
		return;
	for (i = 0; i < inv->ntokens; i++)
		free(inv->tokens[i].keys);
	free(inv->tokens);
	free(inv);
}

static void
inv_key(struct hsm *h, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
    struct hsm_inv_key *k, int is_private)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char *v = NULL;
	size_t vlen, i;

	memset(k, 0, sizeof(*k));
	k->is_private = is_private;
	if (hsm_raw_alloc(h, s, o, CKA_LABEL, &v, &vlen) == CA_OK) {
		for (i = 0; i < vlen && i < sizeof(k->label) - 1; i++)
			k->label[i] = (v[i] >= 0x20 && v[i] < 0x7f) ?
			    (char)v[i] : '?';
		k->label[i] = '\0';
	}
	free(v);
	v = NULL;
	if (hsm_raw_alloc(h, s, o, CKA_ID, &v, &vlen) == CA_OK) {
		for (i = 0; i < vlen && 2 * i + 2 < sizeof(k->id_hex); i++) {
			k->id_hex[2 * i] = hex[v[i] >> 4];
			k->id_hex[2 * i + 1] = hex[v[i] & 15];
		}
		k->id_hex[2 * i] = '\0';
	}
	free(v);
	(void)hsm_raw_key_desc(h, s, o, k->type, sizeof(k->type));
	if (is_private) {
		k->sensitive = hsm_raw_bool(h, s, o, CKA_SENSITIVE);
		k->always_sensitive = hsm_raw_bool(h, s, o,
		    CKA_ALWAYS_SENSITIVE);
		k->extractable = hsm_raw_bool(h, s, o, CKA_EXTRACTABLE);
		k->never_extractable = hsm_raw_bool(h, s, o,
		    CKA_NEVER_EXTRACTABLE);
		k->sign = hsm_raw_bool(h, s, o, CKA_SIGN);
		k->decrypt = hsm_raw_bool(h, s, o, CKA_DECRYPT);
		k->unwrap = hsm_raw_bool(h, s, o, CKA_UNWRAP);
		k->derive = hsm_raw_bool(h, s, o, CKA_DERIVE);
	} else {
		k->sensitive = k->always_sensitive = k->extractable =
		    k->never_extractable = k->sign = k->decrypt = k->unwrap =
		    -1;
		k->derive = hsm_raw_bool(h, s, o, CKA_DERIVE);
	}
}

static int
inv_keys(struct hsm *h, struct hsm_inv_token *t)
{
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	CK_OBJECT_HANDLE objs[2][HSM_MAX_OBJECTS];
	CK_ULONG count[2], i;
	CK_OBJECT_CLASS cls;
	CK_ATTRIBUTE tmpl = { CKA_CLASS, &cls, sizeof(cls) };
	int c, rc;

	if ((rc = hsm_raw_session(h, &s, t->slot_id, 0)) != CA_OK)
		return rc;
	for (c = 0; c < 2; c++) {
		cls = c == 0 ? CKO_PRIVATE_KEY : CKO_PUBLIC_KEY;
		if ((rc = hsm_raw_find(h, s, &tmpl, 1, objs[c],
		    HSM_MAX_OBJECTS, &count[c])) != CA_OK)
			goto out;
	}
	if (count[0] + count[1] > 0 && (t->keys = calloc(count[0] + count[1],
	    sizeof(*t->keys))) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "hsm: out of memory");
		goto out;
	}
	for (c = 0; c < 2; c++)
		for (i = 0; i < count[c]; i++)
			inv_key(h, s, objs[c][i], &t->keys[t->nkeys++],
			    c == 0);
	rc = CA_OK;
 out:
	hsm_raw_close(h, s);
	return rc;
}

static PKCS11_SLOT *
slot_by_id(struct hsm *h, CK_SLOT_ID id)
{
	unsigned int i;

	for (i = 0; i < h->nslots; i++)
		if (PKCS11_get_slotid_from_slot(&h->slots[i]) == id)
			return &h->slots[i];
	return NULL;
}

int
hsm_inventory(struct hsm_inventory **out, struct hsm *h,
    const char *token_uri, const char *pin_source)
{
	struct hsm_pin *pin = NULL;
	int rc;

	*out = NULL;
	/* As before: a PIN source without a token URI is not read. */
	if (token_uri != NULL && pin_source != NULL &&
	    (rc = hsm_pin_from_source(&pin, pin_source)) != CA_OK)
		return rc;
	rc = hsm_inventory_pin(out, h, token_uri, pin);
	hsm_pin_destroy(pin);
	return rc;
}

int
hsm_inventory_pin(struct hsm_inventory **out, struct hsm *h,
    const char *token_uri, const struct hsm_pin *given)
{
	struct hsm_inventory *inv = NULL;
	struct hsm_inv_token *t;
	struct pkcs11_uri *u = NULL;
	PKCS11_SLOT *want = NULL, *ps;
	CK_SLOT_ID ids[INV_MAX_SLOTS];
	CK_ULONG nids = INV_MAX_SLOTS, i;
	CK_INFO info;
	CK_SLOT_INFO si;
	CK_TOKEN_INFO ti;
	CK_RV rv;
	char text[HSM_URI_TEXT], *pin = NULL;
	int rc = CA_ERR_INTERNAL, locked = 0, logged;

	*out = NULL;
	if (h == NULL)
		return ca_error(CA_ERR_USAGE, "hsm_inventory: no hsm");
	if (token_uri != NULL) {
		if ((rc = pkcs11_uri_parse(&u, token_uri)) != CA_OK)
			return rc;
		hsm_uri_text(text, sizeof(text), u);
		if ((rc = hsm_pin_copy(&pin, given, u->pin_source)) != CA_OK)
			goto out;
	}
	if ((inv = calloc(1, sizeof(*inv))) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "hsm: out of memory");
		goto out;
	}
	pthread_rwlock_wrlock(&h->lock);
	locked = 1;
	if ((rc = hsm_ctx_ready(h)) != CA_OK)
		goto out;
	if (u != NULL && pin != NULL) {
		if ((rc = hsm_token_find(h, &want, u, text)) != CA_OK ||
		    (rc = hsm_login(h, want, pin)) != CA_OK)
			goto out;
	}
	if ((rv = h->fl->C_GetInfo(&info)) == CKR_OK) {
		copy_padded(inv->module_description,
		    sizeof(inv->module_description), info.libraryDescription,
		    sizeof(info.libraryDescription));
		copy_padded(inv->module_manufacturer,
		    sizeof(inv->module_manufacturer), info.manufacturerID,
		    sizeof(info.manufacturerID));
	}
	if ((rv = h->fl->C_GetSlotList(CK_FALSE, ids, &nids)) != CKR_OK) {
		rc = ca_error(CA_ERR_HSM, "PKCS#11 module %s: C_GetSlotList: "
		    "%s", h->module, hsm_ckr_name(rv));
		goto out;
	}
	if (nids > 0 && (inv->tokens = calloc(nids, sizeof(*inv->tokens))) ==
	    NULL) {
		rc = ca_error(CA_ERR_NOMEM, "hsm: out of memory");
		goto out;
	}
	for (i = 0; i < nids; i++) {
		t = &inv->tokens[inv->ntokens++];
		t->slot_id = ids[i];
		if (h->fl->C_GetSlotInfo(ids[i], &si) != CKR_OK)
			continue;
		copy_padded(t->slot_description, sizeof(t->slot_description),
		    si.slotDescription, sizeof(si.slotDescription));
		if (!(si.flags & CKF_TOKEN_PRESENT) ||
		    h->fl->C_GetTokenInfo(ids[i], &ti) != CKR_OK)
			continue;
		t->token_present = 1;
		copy_padded(t->label, sizeof(t->label), ti.label,
		    sizeof(ti.label));
		copy_padded(t->manufacturer, sizeof(t->manufacturer),
		    ti.manufacturerID, sizeof(ti.manufacturerID));
		copy_padded(t->model, sizeof(t->model), ti.model,
		    sizeof(ti.model));
		copy_padded(t->serial, sizeof(t->serial), ti.serialNumber,
		    sizeof(ti.serialNumber));
		hsm_token_ident(t->ident, sizeof(t->ident), t->label,
		    t->manufacturer, t->model, t->serial);
		t->hardware = (si.flags & CKF_HW_SLOT) != 0;
		t->initialized = (ti.flags & CKF_TOKEN_INITIALIZED) != 0;
		t->login_required = (ti.flags & CKF_LOGIN_REQUIRED) != 0;
		t->user_pin_locked = (ti.flags & CKF_USER_PIN_LOCKED) != 0;
		if (!t->initialized)
			continue;
		logged = 0;
		if ((ps = slot_by_id(h, ids[i])) != NULL)
			(void)PKCS11_is_logged_in(ps, 0, &logged);
		t->keys_listed = logged || !t->login_required;
		if ((rc = inv_keys(h, t)) != CA_OK)
			goto out;
	}
	*out = inv;
	inv = NULL;
	rc = CA_OK;
 out:
	if (locked)
		pthread_rwlock_unlock(&h->lock);
	hsm_inventory_free(inv);
	hsm_pin_free(pin);
	pkcs11_uri_free(u);
	return rc;
}
