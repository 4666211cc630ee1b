/* SPDX-License-Identifier: ISC */
/*
 * hsm_keygen: CA key pairs generated inside the token with C_GenerateKeyPair
 * and an explicit template (libp11 0.4.12's PKCS11_generate_key makes RSA
 * only and sets no protection attributes). The private key is a token
 * object, private, sensitive, not extractable, for signing only (no
 * decrypt, unwrap or derive). After generation the token must report
 * CKA_ALWAYS_SENSITIVE and CKA_NEVER_EXTRACTABLE, or the pair is destroyed.
 * An existing key with the same label or id is never replaced.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/rand.h>

#include "hsm/hsm_int.h"

/* DER OIDs of the named curves, as CKA_EC_PARAMS wants them. */
static const unsigned char oid_p256[] = {
	0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07
};
static const unsigned char oid_p384[] = {
	0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22
};

#define KEYGEN_ID_LEN	16

/* keygen_exists refuses when any key object has u's label or id. */
static int
keygen_exists(struct hsm *h, CK_SESSION_HANDLE s, const struct pkcs11_uri *u,
    const char *what)
{
	static const CK_OBJECT_CLASS classes[] = {
		CKO_PRIVATE_KEY, CKO_PUBLIC_KEY, CKO_SECRET_KEY
	};
	CK_OBJECT_CLASS cls;
	CK_ATTRIBUTE t[2];
	CK_OBJECT_HANDLE o;
	CK_ULONG count;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(classes) / sizeof(classes[0]); i++) {
		cls = classes[i];
		t[0].type = CKA_CLASS;
		t[0].pValue = &cls;
		t[0].ulValueLen = sizeof(cls);
		if (u->object != NULL) {
			t[1].type = CKA_LABEL;
			t[1].pValue = u->object;
			t[1].ulValueLen = strlen(u->object);
			if ((rc = hsm_raw_find(h, s, t, 2, &o, 1, &count)) !=
			    CA_OK)
				return rc;
			if (count > 0)
				return ca_error(CA_ERR_EXISTS, "%s: a key "
				    "labelled \"%s\" is already on the token; "
				    "refusing to add another", what,
				    u->object);
		}
		if (u->has_id) {
			t[1].type = CKA_ID;
			t[1].pValue = u->id;
			t[1].ulValueLen = u->id_len;
			if ((rc = hsm_raw_find(h, s, t, 2, &o, 1, &count)) !=
			    CA_OK)
				return rc;
			if (count > 0)
				return ca_error(CA_ERR_EXISTS, "%s: a key with "
				    "this id is already on the token; refusing "
				    "to add another", what);
		}
	}
	return CA_OK;
}

static int
keygen_pair(struct hsm *h, EVP_PKEY **pub_out, CK_SLOT_ID slot_id,
    const struct pkcs11_uri *u, enum hsm_key_type type, const char *what)
{
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	CK_OBJECT_HANDLE pub = CK_INVALID_HANDLE, priv = CK_INVALID_HANDLE;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ULONG bits = 0;
	CK_MECHANISM mech = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
	unsigned char e[] = { 0x01, 0x00, 0x01 };
	unsigned char rid[KEYGEN_ID_LEN];
	const unsigned char *id = u->id;
	size_t id_len = u->id_len;
	CK_ATTRIBUTE pt[10], kt[12];
	CK_ULONG np = 0, nk = 0;
	CK_RV rv;
	int rc = CA_ERR_INTERNAL, as, ne;

	switch (type) {
	case HSM_KEY_EC_P256:
	case HSM_KEY_EC_P384:
		break;
	case HSM_KEY_RSA_2048:
		bits = 2048;
		break;
	case HSM_KEY_RSA_3072:
		bits = 3072;
		break;
	case HSM_KEY_RSA_4096:
		bits = 4096;
		break;
	default:
		return ca_error(CA_ERR_UNSUPPORTED, "%s: key type %d is not "
		    "supported", what, (int)type);
	}
	if (!u->has_id) {
		/* A random CKA_ID so that other tools can pair the halves. */
		if (RAND_bytes(rid, sizeof(rid)) != 1)
			return ca_error_openssl(CA_ERR_INTERNAL, "%s: random id",
			    what);
		id = rid;
		id_len = sizeof(rid);
	}

#define A(t, n, ty, p, l) do { (t)[(n)].type = (ty); \
	(t)[(n)].pValue = (void *)(p); (t)[(n)++].ulValueLen = (l); } while (0)
	A(pt, np, CKA_TOKEN, &yes, sizeof(yes));
	A(pt, np, CKA_PRIVATE, &no, sizeof(no));
	A(pt, np, CKA_VERIFY, &yes, sizeof(yes));
	A(pt, np, CKA_ENCRYPT, &no, sizeof(no));
	A(pt, np, CKA_WRAP, &no, sizeof(no));
	A(pt, np, CKA_ID, id, id_len);
	if (u->object != NULL)
		A(pt, np, CKA_LABEL, u->object, strlen(u->object));

	A(kt, nk, CKA_TOKEN, &yes, sizeof(yes));
	A(kt, nk, CKA_PRIVATE, &yes, sizeof(yes));
	A(kt, nk, CKA_SENSITIVE, &yes, sizeof(yes));
	A(kt, nk, CKA_EXTRACTABLE, &no, sizeof(no));
	A(kt, nk, CKA_SIGN, &yes, sizeof(yes));
	A(kt, nk, CKA_DECRYPT, &no, sizeof(no));
	A(kt, nk, CKA_UNWRAP, &no, sizeof(no));
	A(kt, nk, CKA_DERIVE, &no, sizeof(no));
	A(kt, nk, CKA_ID, id, id_len);
	if (u->object != NULL)
		A(kt, nk, CKA_LABEL, u->object, strlen(u->object));

	if (type == HSM_KEY_EC_P256) {
		A(pt, np, CKA_EC_PARAMS, oid_p256, sizeof(oid_p256));
	} else if (type == HSM_KEY_EC_P384) {
		A(pt, np, CKA_EC_PARAMS, oid_p384, sizeof(oid_p384));
	} else {
		mech.mechanism = CKM_RSA_PKCS_KEY_PAIR_GEN;
		A(pt, np, CKA_MODULUS_BITS, &bits, sizeof(bits));
		A(pt, np, CKA_PUBLIC_EXPONENT, e, sizeof(e));
	}
#undef A

	if ((rc = hsm_raw_session(h, &s, slot_id, 1)) != CA_OK)
		goto out;
	if ((rc = keygen_exists(h, s, u, what)) != CA_OK)
		goto out;
	if ((rv = h->fl->C_GenerateKeyPair(s, &mech, pt, np, kt, nk, &pub,
	    &priv)) != CKR_OK) {
		pub = priv = CK_INVALID_HANDLE;
		rc = ca_error(rv == CKR_PIN_EXPIRED || rv == CKR_USER_NOT_LOGGED_IN ?
		    CA_ERR_PIN : CA_ERR_HSM, "%s: C_GenerateKeyPair (%s) failed: "
		    "%s", what, hsm_key_type_name(type), hsm_ckr_name(rv));
		goto out;
	}
	as = hsm_raw_bool(h, s, priv, CKA_ALWAYS_SENSITIVE);
	ne = hsm_raw_bool(h, s, priv, CKA_NEVER_EXTRACTABLE);
	if (as != 1 || ne != 1) {
		rc = ca_error(CA_ERR_KEY_UNSAFE, "%s: the token reports the new "
		    "key with CKA_ALWAYS_SENSITIVE %s and CKA_NEVER_EXTRACTABLE "
		    "%s; the pair was destroyed", what,
		    as == 1 ? "TRUE" : as == 0 ? "FALSE" : "unreadable",
		    ne == 1 ? "TRUE" : ne == 0 ? "FALSE" : "unreadable");
		goto out;
	}
	if (pub_out != NULL &&
	    (rc = hsm_raw_public(pub_out, h, s, pub, what)) != CA_OK)
		goto out;
	pub = priv = CK_INVALID_HANDLE;	/* keep them */
	rc = CA_OK;
 out:
	if (priv != CK_INVALID_HANDLE)
		(void)h->fl->C_DestroyObject(s, priv);
	if (pub != CK_INVALID_HANDLE)
		(void)h->fl->C_DestroyObject(s, pub);
	hsm_raw_close(h, s);
	return rc;
}

int
hsm_keygen(EVP_PKEY **pub_out, struct hsm *h, const char *uri,
    const char *pin_source, enum hsm_key_type type)
{
	struct hsm_pin *pin = NULL;
	int rc;

	if (pub_out != NULL)
		*pub_out = NULL;
	if (pin_source != NULL &&
	    (rc = hsm_pin_from_source(&pin, pin_source)) != CA_OK)
		return rc;
	rc = hsm_keygen_pin(pub_out, h, uri, pin, type);
	hsm_pin_destroy(pin);
	return rc;
}

int
hsm_keygen_pin(EVP_PKEY **pub_out, struct hsm *h, const char *uri,
    const struct hsm_pin *given, enum hsm_key_type type)
{
	struct pkcs11_uri *u = NULL;
	char text[HSM_URI_TEXT];
	PKCS11_SLOT *slot;
	char *pin = NULL;
	int rc = CA_ERR_INTERNAL, locked = 0;

	if (pub_out != NULL)
		*pub_out = NULL;
	if (h == NULL || uri == NULL)
		return ca_error(CA_ERR_USAGE, "hsm_keygen: no hsm or URI");
	if ((rc = pkcs11_uri_parse(&u, uri)) != CA_OK)
		return rc;
	hsm_uri_text(text, sizeof(text), u);
	if (u->object == NULL && !u->has_id) {
		rc = ca_error(CA_ERR_USAGE, "%s: key generation needs a label "
		    "(object=) or an id (id=)", text);
		goto out;
	}
	if (u->type != PKCS11_URI_TYPE_ANY &&
	    u->type != PKCS11_URI_TYPE_PRIVATE) {
		rc = ca_error(CA_ERR_USAGE, "%s: key generation makes a "
		    "private key (type=private or no type)", text);
		goto out;
	}
	if ((rc = hsm_pin_copy(&pin, given, u->pin_source)) != CA_OK)
		goto out;
	pthread_rwlock_wrlock(&h->lock);
	locked = 1;
	if ((rc = hsm_ctx_ready(h)) != CA_OK ||
	    (rc = hsm_token_find(h, &slot, u, text)) != CA_OK ||
	    (rc = hsm_login(h, slot, pin)) != CA_OK)
		goto out;
	rc = keygen_pair(h, pub_out, PKCS11_get_slotid_from_slot(slot), u,
	    type, text);
 out:
	if (locked)
		pthread_rwlock_unlock(&h->lock);
	hsm_pin_free(pin);
	pkcs11_uri_free(u);
	return rc;
}
