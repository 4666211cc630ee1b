/* SPDX-License-Identifier: ISC */
/*
 * hsm_keygen: CA key pairs generated inside the token with C_GenerateKeyPair
 * and an explicit template built per mechanism (libp11 0.4.12's
 * PKCS11_generate_key makes RSA only and sets no protection attributes).
 * The private key is a token object, private, sensitive, not extractable,
 * for signing; the usage restrictions (no decrypt or unwrap; no derive for
 * EC) are sent too, and one the module refuses is left out and named. After generation the token must report
 * CKA_SENSITIVE, CKA_ALWAYS_SENSITIVE and CKA_NEVER_EXTRACTABLE true and
 * CKA_EXTRACTABLE false, or the pair is destroyed; then the wrap probe
 * (hsm_wrap.c) checks from outside whether the module enforces them.
 * An existing key with the same label or id is never replaced.
 */
#include "config.h"

#include <stdio.h>
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

/*
 * The key template, per mechanism. A module may refuse an attribute that
 * does not apply to the mechanism (tpm2-pkcs11 refuses CKA_DECRYPT on an EC
 * key), so only attributes meaningful for the key type are sent, plus
 * the usage restrictions a module would otherwise default to TRUE. The
 * protection attributes and the key's purpose are required; the usage
 * restrictions (no derive, no decrypt, no unwrap...) are optional: a module
 * that refuses one gets the template without it, the attribute is named in
 * the result, and what the key really allows is read back afterwards.
 */
#define KT_EC		1
#define KT_RSA		2
#define KT_ALL		(KT_EC | KT_RSA)

enum kt_value { KV_TRUE, KV_FALSE, KV_OTHER };

static const struct kt_attr {
	int priv;		/* private (1) or public (0) template */
	CK_ATTRIBUTE_TYPE type;
	const char *name;
	enum kt_value value;
	int kinds;		/* KT_EC, KT_RSA */
	int optional;
} kt_attrs[] = {
	{ 0, CKA_TOKEN, "CKA_TOKEN", KV_TRUE, KT_ALL, 0 },
	{ 0, CKA_PRIVATE, "CKA_PRIVATE", KV_FALSE, KT_ALL, 1 },
	{ 0, CKA_VERIFY, "CKA_VERIFY", KV_TRUE, KT_ALL, 1 },
	{ 0, CKA_ENCRYPT, "CKA_ENCRYPT", KV_FALSE, KT_RSA, 1 },
	{ 0, CKA_WRAP, "CKA_WRAP", KV_FALSE, KT_RSA, 1 },
	{ 1, CKA_TOKEN, "CKA_TOKEN", KV_TRUE, KT_ALL, 0 },
	{ 1, CKA_PRIVATE, "CKA_PRIVATE", KV_TRUE, KT_ALL, 0 },
	{ 1, CKA_SENSITIVE, "CKA_SENSITIVE", KV_TRUE, KT_ALL, 0 },
	{ 1, CKA_EXTRACTABLE, "CKA_EXTRACTABLE", KV_FALSE, KT_ALL, 0 },
	{ 1, CKA_SIGN, "CKA_SIGN", KV_TRUE, KT_ALL, 0 },
	{ 1, CKA_DERIVE, "CKA_DERIVE", KV_FALSE, KT_EC, 1 },
	/* SoftHSM makes EC keys decrypt and unwrap unless told not to. */
	{ 1, CKA_DECRYPT, "CKA_DECRYPT", KV_FALSE, KT_ALL, 1 },
	{ 1, CKA_UNWRAP, "CKA_UNWRAP", KV_FALSE, KT_ALL, 1 },
};
#define KT_NATTRS	(sizeof(kt_attrs) / sizeof(kt_attrs[0]))

/* What one key generation sends: the mechanism and both templates. */
struct keygen_tmpl {
	CK_MECHANISM mech;
	CK_ATTRIBUTE pt[16], kt[16];
	CK_ULONG np, nk;
};

static CK_BBOOL kt_yes = CK_TRUE, kt_no = CK_FALSE;

static void
tmpl_add(CK_ATTRIBUTE *t, CK_ULONG *n, CK_ATTRIBUTE_TYPE type,
    const void *p, size_t len)
{
	t[*n].type = type;
	t[*n].pValue = (void *)p;
	t[*n].ulValueLen = len;
	(*n)++;
}

/*
 * tmpl_build fills t for a key of kind (KT_EC or KT_RSA), leaving out the
 * optional attribute with index skip (or none when skip is KT_NATTRS, or
 * every optional one when skip is -1).
 */
static void
tmpl_build(struct keygen_tmpl *t, int kind, const unsigned char *params,
    size_t params_len, const CK_ULONG *bits, const unsigned char *id,
    size_t id_len, const char *label, long skip)
{
	static const unsigned char e[] = { 0x01, 0x00, 0x01 };
	const struct kt_attr *a;
	size_t i;

	memset(t, 0, sizeof(*t));
	for (i = 0; i < KT_NATTRS; i++) {
		a = &kt_attrs[i];
		if (!(a->kinds & kind) ||
		    (a->optional && (skip == -1 || (size_t)skip == i)))
			continue;
		if (a->priv)
			tmpl_add(t->kt, &t->nk, a->type, a->value == KV_TRUE ?
			    &kt_yes : &kt_no, sizeof(CK_BBOOL));
		else
			tmpl_add(t->pt, &t->np, a->type, a->value == KV_TRUE ?
			    &kt_yes : &kt_no, sizeof(CK_BBOOL));
	}
	tmpl_add(t->pt, &t->np, CKA_ID, id, id_len);
	tmpl_add(t->kt, &t->nk, CKA_ID, id, id_len);
	if (label != NULL) {
		tmpl_add(t->pt, &t->np, CKA_LABEL, label, strlen(label));
		tmpl_add(t->kt, &t->nk, CKA_LABEL, label, strlen(label));
	}
	if (kind == KT_EC) {
		t->mech.mechanism = CKM_EC_KEY_PAIR_GEN;
		tmpl_add(t->pt, &t->np, CKA_EC_PARAMS, params, params_len);
	} else {
		t->mech.mechanism = CKM_RSA_PKCS_KEY_PAIR_GEN;
		tmpl_add(t->pt, &t->np, CKA_MODULUS_BITS, bits, sizeof(*bits));
		tmpl_add(t->pt, &t->np, CKA_PUBLIC_EXPONENT, e, sizeof(e));
	}
}

/* optional_names lists every optional attribute of kind, for a message. */
static void
optional_names(char *buf, size_t len, int kind, CK_RV why)
{
	size_t i, off = 0;

	buf[0] = '\0';
	for (i = 0; i < KT_NATTRS && off < len; i++)
		if (kt_attrs[i].optional && (kt_attrs[i].kinds & kind))
			off += (size_t)snprintf(buf + off, len - off, "%s%s=%s",
			    off == 0 ? "" : ", ", kt_attrs[i].name,
			    kt_attrs[i].value == KV_TRUE ? "TRUE" : "FALSE");
	if (off < len)
		snprintf(buf + off, len - off, " (together; %s)",
		    hsm_ckr_name(why));
}

/* A refusal that may be about the template rather than the token. */
static int
template_refusal(CK_RV rv)
{
	return rv == CKR_ATTRIBUTE_TYPE_INVALID ||
	    rv == CKR_ATTRIBUTE_VALUE_INVALID ||
	    rv == CKR_TEMPLATE_INCONSISTENT || rv == CKR_TEMPLATE_INCOMPLETE ||
	    rv == CKR_GENERAL_ERROR || rv == CKR_FUNCTION_FAILED ||
	    rv == CKR_ATTRIBUTE_READ_ONLY;
}

static CK_RV
keygen_try(struct hsm *h, CK_SESSION_HANDLE s, struct keygen_tmpl *t,
    CK_OBJECT_HANDLE *pub, CK_OBJECT_HANDLE *priv)
{
	CK_RV rv;

	*pub = *priv = CK_INVALID_HANDLE;
	rv = h->fl->C_GenerateKeyPair(s, &t->mech, t->pt, t->np, t->kt, t->nk,
	    pub, priv);
	if (rv != CKR_OK)
		*pub = *priv = CK_INVALID_HANDLE;
	return rv;
}

static const char *
tf(int v)
{
	return v == 1 ? "TRUE" : v == 0 ? "FALSE" : "unreadable";
}

/*
 * keygen_check reads back what the token says about the new private key
 * (all four protection attributes must hold), asks the slot whether it is
 * hardware, and runs the wrap probe. A key that fails the attributes, or
 * the probe when flags has HSM_KEYGEN_PROBE_REQUIRED, is refused
 * (CA_ERR_KEY_UNSAFE); the caller destroys the pair.
 */
static int
keygen_check(struct hsm *h, struct hsm_keygen_info *info, CK_SESSION_HANDLE s,
    CK_SLOT_ID slot_id, CK_OBJECT_HANDLE priv, unsigned int flags,
    const char *what)
{
	struct hsm_keygen_info local;
	CK_SLOT_INFO si;

	if (info == NULL)
		info = &local;
	info->sensitive = hsm_raw_bool(h, s, priv, CKA_SENSITIVE);
	info->extractable = hsm_raw_bool(h, s, priv, CKA_EXTRACTABLE);
	info->always_sensitive = hsm_raw_bool(h, s, priv, CKA_ALWAYS_SENSITIVE);
	info->never_extractable = hsm_raw_bool(h, s, priv,
	    CKA_NEVER_EXTRACTABLE);
	info->hardware = h->fl->C_GetSlotInfo(slot_id, &si) == CKR_OK ?
	    (si.flags & CKF_HW_SLOT) != 0 : -1;
	if (info->sensitive != 1 || info->extractable != 0 ||
	    info->always_sensitive != 1 || info->never_extractable != 1)
		return ca_error(CA_ERR_KEY_UNSAFE, "%s: the token reports the "
		    "new key with CKA_SENSITIVE %s, CKA_EXTRACTABLE %s, "
		    "CKA_ALWAYS_SENSITIVE %s and CKA_NEVER_EXTRACTABLE %s; the "
		    "pair was destroyed", what, tf(info->sensitive),
		    tf(info->extractable), tf(info->always_sensitive),
		    tf(info->never_extractable));
	info->probe = hsm_wrap_probe(h, s, priv, info->probe_detail,
	    sizeof(info->probe_detail));
	if (info->probe == HSM_PROBE_EXPORTED &&
	    (flags & HSM_KEYGEN_PROBE_REQUIRED))
		return ca_error(CA_ERR_KEY_UNSAFE, "%s: the token reports the "
		    "new key as sensitive and never extractable, but the wrap "
		    "probe got it out: %s; this module does not enforce the "
		    "attributes it reports, and the pair was destroyed", what,
		    info->probe_detail);
	return CA_OK;
}

static int
keygen_pair(struct hsm *h, EVP_PKEY **pub_out, struct hsm_keygen_info *info,
    CK_SLOT_ID slot_id, const struct pkcs11_uri *u, enum hsm_key_type type,
    unsigned int flags, const char *what)
{
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	CK_OBJECT_HANDLE pub = CK_INVALID_HANDLE, priv = CK_INVALID_HANDLE;
	CK_ULONG bits = 0;
	struct keygen_tmpl t;
	unsigned char rid[KEYGEN_ID_LEN];
	const unsigned char *id = u->id, *params = NULL;
	size_t id_len = u->id_len, params_len = 0, i;
	CK_RV rv, first;
	int rc = CA_ERR_INTERNAL, kind = KT_EC;

	switch (type) {
	case HSM_KEY_EC_P256:
		params = oid_p256;
		params_len = sizeof(oid_p256);
		break;
	case HSM_KEY_EC_P384:
		params = oid_p384;
		params_len = sizeof(oid_p384);
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
	if (bits != 0)
		kind = KT_RSA;
	if (!u->has_id) {
		/* A random CKA_ID so that other tools can pair the halves. */
		if (RAND_bytes(rid, sizeof(rid)) != 1)
			return ca_error_openssl(CA_ERR_INTERNAL, "%s: random id",
			    what);
		id = rid;
		id_len = sizeof(rid);
	}

	if ((rc = hsm_raw_session(h, &s, slot_id, 1)) != CA_OK)
		goto out;
	if ((rc = keygen_exists(h, s, u, what)) != CA_OK)
		goto out;
	tmpl_build(&t, kind, params, params_len, &bits, id, id_len, u->object,
	    (long)KT_NATTRS);
	first = rv = keygen_try(h, s, &t, &pub, &priv);
	/*
	 * Refused: find the optional attribute the module will not take by
	 * leaving each out in turn, then all of them.
	 */
	for (i = 0; rv != CKR_OK && template_refusal(first) && i <= KT_NATTRS;
	    i++) {
		if (i < KT_NATTRS && (!kt_attrs[i].optional ||
		    !(kt_attrs[i].kinds & kind)))
			continue;
		tmpl_build(&t, kind, params, params_len, &bits, id, id_len,
		    u->object, i < KT_NATTRS ? (long)i : -1);
		if ((rv = keygen_try(h, s, &t, &pub, &priv)) != CKR_OK)
			continue;
		if (info != NULL && i < KT_NATTRS)
			snprintf(info->dropped, sizeof(info->dropped), "%s=%s "
			    "(%s key, %s)", kt_attrs[i].name,
			    kt_attrs[i].value == KV_TRUE ? "TRUE" : "FALSE",
			    kt_attrs[i].priv ? "private" : "public",
			    hsm_ckr_name(first));
		else if (info != NULL)
			optional_names(info->dropped, sizeof(info->dropped),
			    kind, first);
	}
	if (rv != CKR_OK) {
		rc = ca_error(first == CKR_PIN_EXPIRED ||
		    first == CKR_USER_NOT_LOGGED_IN ? CA_ERR_PIN : CA_ERR_HSM,
		    "%s: C_GenerateKeyPair (%s) failed: %s%s", what,
		    hsm_key_type_name(type), hsm_ckr_name(first),
		    template_refusal(first) ? "; the module refuses the "
		    "required template itself (CKA_TOKEN, CKA_PRIVATE, "
		    "CKA_SENSITIVE=TRUE, CKA_EXTRACTABLE=FALSE, CKA_SIGN=TRUE), "
		    "not one of the optional restrictions" : "");
		goto out;
	}
	if ((rc = keygen_check(h, info, s, slot_id, priv, flags, what)) !=
	    CA_OK)
		goto out;
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
	return hsm_keygen_ex(pub_out, NULL, h, uri, given, type, 0);
}

int
hsm_keygen_ex(EVP_PKEY **pub_out, struct hsm_keygen_info *info,
    struct hsm *h, const char *uri, const struct hsm_pin *given,
    enum hsm_key_type type, unsigned int flags)
{
	struct pkcs11_uri *u = NULL;
	char text[HSM_URI_TEXT];
	PKCS11_SLOT *slot;
	char *pin = NULL;
	int rc = CA_ERR_INTERNAL, locked = 0;

	if (pub_out != NULL)
		*pub_out = NULL;
	if (info != NULL) {
		memset(info, 0, sizeof(*info));
		info->sensitive = info->extractable = info->always_sensitive =
		    info->never_extractable = info->hardware = -1;
		snprintf(info->probe_detail, sizeof(info->probe_detail),
		    "not run");
	}
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
	if (info != NULL)
		hsm_token_ident(info->token, sizeof(info->token),
		    slot->token->label, slot->token->manufacturer,
		    slot->token->model, slot->token->serialnr);
	rc = keygen_pair(h, pub_out, info, PKCS11_get_slotid_from_slot(slot),
	    u, type, flags, text);
 out:
	if (locked)
		pthread_rwlock_unlock(&h->lock);
	hsm_pin_free(pin);
	pkcs11_uri_free(u);
	return rc;
}
