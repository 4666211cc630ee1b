/* SPDX-License-Identifier: ISC */
/*
 * hsm_key: a private key on a token, found by pkcs11: URI, checked (it must
 * be sensitive and never extractable), and used for signing through an
 * EVP_PKEY that libp11 backs. The key survives its token going away: a
 * failed signature marks the context stale, and the next hsm_key_sign
 * rebuilds the whole libp11 context, logs in again with the PIN it kept
 * and finds the same key again (same public key) before it signs. A PIN
 * that the token refuses on that re-login is never tried again.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "hsm/hsm_int.h"

static int
libp11_key_matches(const PKCS11_KEY *key, const struct pkcs11_uri *u)
{
	if (u->object != NULL &&
	    (key->label == NULL || strcmp(key->label, u->object) != 0))
		return 0;
	if (u->has_id && (key->id_len != u->id_len ||
	    (u->id_len > 0 && memcmp(key->id, u->id, u->id_len) != 0)))
		return 0;
	return 1;
}

/*
 * key_find finds the one private key u names on slot's token (logged in
 * already), checks its attributes and returns the libp11 EVP_PKEY and the
 * DER SubjectPublicKeyInfo (freed with OPENSSL_free).
 */
static int
key_find(struct hsm *h, EVP_PKEY **pkey_out, unsigned char **spki_out,
    int *spki_len, char *unsafe, size_t unsafe_len, PKCS11_SLOT *slot,
    const struct pkcs11_uri *u, const char *what)
{
	PKCS11_KEY *keys = NULL, *key = NULL;
	unsigned int nkeys = 0, i, nmatch = 0;
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	CK_ATTRIBUTE tmpl[3];
	CK_OBJECT_CLASS cls;
	CK_OBJECT_HANDLE objs[2], priv;
	CK_ULONG n, count;
	EVP_PKEY *pkey = NULL, *pub = NULL;
	unsigned long ckr;
	int rc = CA_ERR_INTERNAL;

	*pkey_out = NULL;
	*spki_out = NULL;
	*spki_len = 0;
	ERR_clear_error();
	if (PKCS11_enumerate_keys(slot->token, &keys, &nkeys) != 0) {
		ckr = hsm_err_scan();
		rc = ca_error(CA_ERR_HSM, "%s: cannot list the private keys "
		    "of the token (%s; an Ed25519 key on the token breaks "
		    "libp11 0.4.12)", what, ckr ? hsm_ckr_name(ckr) : "?");
		goto out;
	}
	for (i = 0; i < nkeys; i++) {
		if (libp11_key_matches(&keys[i], u)) {
			if (key == NULL)
				key = &keys[i];
			nmatch++;
		}
	}
	if (nmatch == 0) {
		rc = ca_error(CA_ERR_NOT_FOUND, "%s: no private key with this "
		    "label and id on the token", what);
		goto out;
	}
	if (nmatch > 1) {
		rc = ca_error(CA_ERR_USAGE, "%s: %u private keys match; name "
		    "one with object= and id=", what, nmatch);
		goto out;
	}

	/* The attribute checks and the public key, on a private session. */
	if ((rc = hsm_raw_session(h, &s, PKCS11_get_slotid_from_slot(slot),
	    0)) != CA_OK)
		goto out;
	cls = CKO_PRIVATE_KEY;
	n = hsm_raw_key_template(tmpl, &cls, u);
	if ((rc = hsm_raw_find(h, s, tmpl, n, objs, 2, &count)) != CA_OK)
		goto out;
	if (count != 1) {
		rc = ca_error(CA_ERR_HSM, "%s: found %lu private key objects "
		    "where libp11 found one", what, count);
		goto out;
	}
	/*
	 * allow_unsafe_keys lets a failing key through, never silently: the
	 * reason is kept for hsm_key_unsafe, and the program says it.
	 */
	unsafe[0] = '\0';
	if ((rc = hsm_raw_key_check(h, s, objs[0], what)) != CA_OK) {
		if (!h->allow_unsafe_keys)
			goto out;
		snprintf(unsafe, unsafe_len, "%s", ca_error_detail());
	}
	if ((pkey = PKCS11_get_private_key(key)) == NULL) {
		ckr = hsm_err_scan();
		rc = ca_error(CA_ERR_HSM, "%s: libp11 cannot make an EVP_PKEY "
		    "(%s)", what, ckr ? hsm_ckr_name(ckr) : "?");
		goto out;
	}
	/*
	 * The public key: from the public key object with the same label
	 * and id, else from the private key object's own attributes (RSA
	 * keys and some EC keys carry them).
	 */
	priv = objs[0];
	cls = CKO_PUBLIC_KEY;
	n = hsm_raw_key_template(tmpl, &cls, u);
	if ((rc = hsm_raw_find(h, s, tmpl, n, objs, 2, &count)) != CA_OK)
		goto out;
	if ((count != 1 || hsm_raw_public(&pub, h, s, objs[0], what) !=
	    CA_OK) && hsm_raw_public(&pub, h, s, priv, what) != CA_OK) {
		rc = ca_error(CA_ERR_NOT_FOUND, "%s: the token holds no public "
		    "key for this private key (no public key object with the "
		    "same label and id)", what);
		goto out;
	}
	if ((*spki_len = i2d_PUBKEY(pub, spki_out)) <= 0) {
		*spki_out = NULL;
		*spki_len = 0;
		rc = ca_error_openssl(CA_ERR_HSM, "%s: cannot encode the "
		    "public key", what);
		goto out;
	}
	*pkey_out = pkey;
	pkey = NULL;
	rc = CA_OK;
 out:
	hsm_raw_close(h, s);
	EVP_PKEY_free(pkey);
	EVP_PKEY_free(pub);
	return rc;
}

int
hsm_key_open(struct hsm_key **out, struct hsm *h, const char *uri,
    const char *pin_source)
{
	struct hsm_pin *pin = NULL;
	int rc;

	*out = NULL;
	if (pin_source != NULL &&
	    (rc = hsm_pin_from_source(&pin, pin_source)) != CA_OK)
		return rc;
	rc = hsm_key_open_pin(out, h, uri, pin);
	hsm_pin_destroy(pin);
	return rc;
}

int
hsm_key_open_pin(struct hsm_key **out, struct hsm *h, const char *uri,
    const struct hsm_pin *pin)
{
	struct hsm_key *k = NULL;
	PKCS11_SLOT *slot;
	int rc = CA_ERR_INTERNAL, locked = 0;

	*out = NULL;
	if (h == NULL || uri == NULL)
		return ca_error(CA_ERR_USAGE, "hsm_key_open: no hsm or URI");
	if ((rc = hsm_check_fork(h)) != CA_OK)
		return rc;
	if ((k = calloc(1, sizeof(*k))) == NULL)
		return ca_error(CA_ERR_NOMEM, "hsm: out of memory");
	if ((rc = pkcs11_uri_parse(&k->uri, uri)) != CA_OK)
		goto out;
	hsm_uri_text(k->uri_text, sizeof(k->uri_text), k->uri);
	if (k->uri->type != PKCS11_URI_TYPE_ANY &&
	    k->uri->type != PKCS11_URI_TYPE_PRIVATE) {
		rc = ca_error(CA_ERR_USAGE, "%s: a signing key URI names a "
		    "private key (type=private or no type)", k->uri_text);
		goto out;
	}
	if ((rc = hsm_pin_copy(&k->pin, pin, k->uri->pin_source)) != CA_OK)
		goto out;

	pthread_rwlock_wrlock(&h->lock);
	locked = 1;
	if ((rc = hsm_ctx_ready(h)) != CA_OK ||
	    (rc = hsm_token_find(h, &slot, k->uri, k->uri_text)) != CA_OK)
		goto out;
	hsm_copy_field(k->label, sizeof(k->label), slot->token->label);
	hsm_copy_field(k->serial, sizeof(k->serial), slot->token->serialnr);
	hsm_token_ident(k->ident, sizeof(k->ident), slot->token->label,
	    slot->token->manufacturer, slot->token->model,
	    slot->token->serialnr);
	if ((rc = hsm_login(h, slot, k->pin)) != CA_OK)
		goto out;
	if ((rc = key_find(h, &k->pkey, &k->spki, &k->spki_len, k->unsafe,
	    sizeof(k->unsafe), slot, k->uri, k->uri_text)) != CA_OK)
		goto out;
	k->h = h;
	k->next = h->keys;
	h->keys = k;
	*out = k;
	k = NULL;
	rc = CA_OK;
 out:
	if (locked)
		pthread_rwlock_unlock(&h->lock);
	hsm_key_free(k);
	return rc;
}

void
hsm_key_free(struct hsm_key *k)
{
	struct hsm_key **pp;
	struct hsm *h;

	if (k == NULL)
		return;
	if ((h = k->h) != NULL) {
		pthread_rwlock_wrlock(&h->lock);
		for (pp = &h->keys; *pp != NULL; pp = &(*pp)->next) {
			if (*pp == k) {
				*pp = k->next;
				break;
			}
		}
		EVP_PKEY_free(k->pkey);
		pthread_rwlock_unlock(&h->lock);
	} else {
		EVP_PKEY_free(k->pkey);
	}
	hsm_pin_free(k->pin);
	pkcs11_uri_free(k->uri);
	OPENSSL_free(k->spki);
	free(k);
}

int
hsm_key_public(EVP_PKEY **out, struct hsm_key *k)
{
	const unsigned char *p;

	*out = NULL;
	if (k == NULL || k->spki == NULL)
		return ca_error(CA_ERR_USAGE, "hsm_key_public: no key");
	p = k->spki;
	if ((*out = d2i_PUBKEY(NULL, &p, k->spki_len)) == NULL)
		return ca_error_openssl(CA_ERR_INTERNAL, "%s: public key",
		    k->uri_text);
	return CA_OK;
}

const char *
hsm_key_token_label(const struct hsm_key *k)
{
	return k != NULL ? k->label : "";
}

const char *
hsm_key_token_serial(const struct hsm_key *k)
{
	return k != NULL ? k->serial : "";
}

const char *
hsm_key_unsafe(const struct hsm_key *k)
{
	return k != NULL && k->unsafe[0] != '\0' ? k->unsafe : NULL;
}

const char *
hsm_key_token_ident(const struct hsm_key *k)
{
	return k != NULL ? k->ident : "";
}

/*
 * key_reopen makes k usable again after a rebuild (or rebuilds first when
 * the context is stale). The caller holds h->lock exclusively.
 */
static int
key_reopen(struct hsm_key *k)
{
	struct hsm *h = k->h;
	PKCS11_SLOT *slot;
	EVP_PKEY *pkey = NULL;
	unsigned char *spki = NULL;
	int spki_len = 0, rc = CA_ERR_INTERNAL;

	if (k->dead_rc != 0)
		return ca_error(k->dead_rc, "%s: %s refused the kept PIN "
		    "after a token loss; open the key again with the right "
		    "PIN", k->uri_text, k->ident);
	if (k->pkey != NULL && !__atomic_load_n(&h->stale, __ATOMIC_ACQUIRE))
		return CA_OK;
	if ((rc = hsm_ctx_ready(h)) != CA_OK)
		goto out;
	if ((slot = hsm_slot_by_token(h, k->label, k->serial)) == NULL) {
		/* The slot list is fixed at load: reload next time. */
		__atomic_store_n(&h->stale, 1, __ATOMIC_RELEASE);
		rc = ca_error(CA_ERR_TOKEN_ABSENT, "%s is not present; cannot "
		    "sign with %s", k->ident, k->uri_text);
		goto out;
	}
	if ((rc = hsm_login(h, slot, k->pin)) != CA_OK) {
		if (rc == CA_ERR_PIN || rc == CA_ERR_PIN_LOCKED)
			k->dead_rc = rc;
		else
			__atomic_store_n(&h->stale, 1, __ATOMIC_RELEASE);
		goto out;
	}
	if ((rc = key_find(h, &pkey, &spki, &spki_len, k->unsafe,
	    sizeof(k->unsafe), slot, k->uri, k->uri_text)) != CA_OK) {
		__atomic_store_n(&h->stale, 1, __ATOMIC_RELEASE);
		goto out;
	}
	if (spki_len != k->spki_len || memcmp(spki, k->spki,
	    (size_t)spki_len) != 0) {
		k->dead_rc = CA_ERR_VERIFY;
		rc = ca_error(CA_ERR_VERIFY, "%s: %s came back with a "
		    "different key under this name; refusing to sign with it",
		    k->uri_text, k->ident);
		goto out;
	}
	k->pkey = pkey;
	pkey = NULL;
	rc = CA_OK;
 out:
	EVP_PKEY_free(pkey);
	OPENSSL_free(spki);
	return rc;
}

int
hsm_key_sign(struct hsm_key *k, hsm_sign_fn fn, void *arg)
{
	struct hsm *h;
	unsigned long ckr;
	int tries, rc, present;

	if (k == NULL || k->h == NULL || fn == NULL)
		return ca_error(CA_ERR_USAGE, "hsm_key_sign: no key or "
		    "function");
	h = k->h;
	if ((rc = hsm_check_fork(h)) != CA_OK)
		return rc;
	for (tries = 0;; tries++) {
		pthread_rwlock_rdlock(&h->lock);
		if (k->dead_rc == 0 && k->pkey != NULL &&
		    !__atomic_load_n(&h->stale, __ATOMIC_ACQUIRE))
			break;
		pthread_rwlock_unlock(&h->lock);
		if (tries == 3)
			return ca_error(CA_ERR_HSM, "%s: the PKCS#11 context "
			    "keeps being rebuilt by other threads", k->uri_text);
		pthread_rwlock_wrlock(&h->lock);
		rc = key_reopen(k);
		pthread_rwlock_unlock(&h->lock);
		if (rc != CA_OK)
			return rc;
	}
	/* Shared lock held: other signers run, rebuilds wait. */
	ERR_clear_error();
	if (fn(k->pkey, arg) == 1) {
		pthread_rwlock_unlock(&h->lock);
		return CA_OK;
	}
	ckr = hsm_err_scan();
	present = hsm_raw_token_present(h, k->label, k->serial);
	if (ckr != 0 || !present)
		__atomic_store_n(&h->stale, 1, __ATOMIC_RELEASE);
	pthread_rwlock_unlock(&h->lock);
	if (!present)
		return ca_error(CA_ERR_TOKEN_ABSENT, "%s is not present: "
		    "signing with %s failed; a later attempt reloads the "
		    "module", k->ident, k->uri_text);
	return ca_error(CA_ERR_HSM, "%s: signing with %s failed (%s)%s",
	    k->ident, k->uri_text,
	    ckr ? hsm_ckr_name(ckr) : "no PKCS#11 error",
	    ckr ? "; a later attempt reloads the module" : "");
}

int
hsm_key_probe(struct hsm_key *k, enum hsm_wrap_probe *out, int *hardware,
    char *detail, size_t len)
{
	CK_SLOT_INFO si;
	struct hsm *h;
	PKCS11_SLOT *slot;
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	CK_ATTRIBUTE tmpl[3];
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_OBJECT_HANDLE objs[2];
	CK_ULONG n, count;
	int rc = CA_ERR_INTERNAL;

	*out = HSM_PROBE_NOT_RUN;
	*hardware = -1;
	snprintf(detail, len, "not run");
	if (k == NULL || (h = k->h) == NULL)
		return ca_error(CA_ERR_USAGE, "hsm_key_probe: no key");
	pthread_rwlock_wrlock(&h->lock);
	if ((rc = hsm_ctx_ready(h)) != CA_OK)
		goto out;
	if ((slot = hsm_slot_by_token(h, k->label, k->serial)) == NULL) {
		rc = ca_error(CA_ERR_TOKEN_ABSENT, "%s is not present; cannot "
		    "probe %s", k->ident, k->uri_text);
		goto out;
	}
	if (h->fl->C_GetSlotInfo(PKCS11_get_slotid_from_slot(slot), &si) ==
	    CKR_OK)
		*hardware = (si.flags & CKF_HW_SLOT) != 0;
	if ((rc = hsm_raw_session(h, &s, PKCS11_get_slotid_from_slot(slot),
	    1)) != CA_OK)
		goto out;
	n = hsm_raw_key_template(tmpl, &cls, k->uri);
	if ((rc = hsm_raw_find(h, s, tmpl, n, objs, 2, &count)) != CA_OK)
		goto out;
	if (count != 1) {
		rc = ca_error(CA_ERR_NOT_FOUND, "%s: %lu private key objects "
		    "match; cannot probe", k->uri_text, count);
		goto out;
	}
	*out = hsm_wrap_probe(h, s, objs[0], detail, len);
	rc = CA_OK;
 out:
	hsm_raw_close(h, s);
	pthread_rwlock_unlock(&h->lock);
	return rc;
}
