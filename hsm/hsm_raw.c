/* SPDX-License-Identifier: ISC */
/*
 * hsm_raw: the few things libp11 0.4.12 cannot do, done with the module's
 * own function list: sessions private to one call, object searches by
 * template, attribute reads (the CKA_ALWAYS_SENSITIVE and
 * CKA_NEVER_EXTRACTABLE checks), and public keys rebuilt from their
 * attributes as plain OpenSSL keys. Every session opened here is closed
 * before the calling function returns; login state is shared with libp11's
 * sessions, as PKCS#11 defines it per application and token.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <stdio.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include "hsm/hsm_int.h"

static const struct {
	unsigned long rv;
	const char *name;
} ckr_names[] = {
	{ CKR_OK, "CKR_OK" },
	{ CKR_HOST_MEMORY, "CKR_HOST_MEMORY" },
	{ CKR_SLOT_ID_INVALID, "CKR_SLOT_ID_INVALID" },
	{ CKR_GENERAL_ERROR, "CKR_GENERAL_ERROR" },
	{ CKR_FUNCTION_FAILED, "CKR_FUNCTION_FAILED" },
	{ CKR_ARGUMENTS_BAD, "CKR_ARGUMENTS_BAD" },
	{ CKR_ATTRIBUTE_SENSITIVE, "CKR_ATTRIBUTE_SENSITIVE" },
	{ CKR_ATTRIBUTE_TYPE_INVALID, "CKR_ATTRIBUTE_TYPE_INVALID" },
	{ CKR_ATTRIBUTE_VALUE_INVALID, "CKR_ATTRIBUTE_VALUE_INVALID" },
	{ CKR_DEVICE_ERROR, "CKR_DEVICE_ERROR" },
	{ CKR_DEVICE_MEMORY, "CKR_DEVICE_MEMORY" },
	{ CKR_DEVICE_REMOVED, "CKR_DEVICE_REMOVED" },
	{ CKR_FUNCTION_NOT_SUPPORTED, "CKR_FUNCTION_NOT_SUPPORTED" },
	{ CKR_KEY_HANDLE_INVALID, "CKR_KEY_HANDLE_INVALID" },
	{ CKR_KEY_SIZE_RANGE, "CKR_KEY_SIZE_RANGE" },
	{ CKR_MECHANISM_INVALID, "CKR_MECHANISM_INVALID" },
	{ CKR_OBJECT_HANDLE_INVALID, "CKR_OBJECT_HANDLE_INVALID" },
	{ CKR_PIN_INCORRECT, "CKR_PIN_INCORRECT" },
	{ CKR_PIN_INVALID, "CKR_PIN_INVALID" },
	{ CKR_PIN_LEN_RANGE, "CKR_PIN_LEN_RANGE" },
	{ CKR_PIN_LOCKED, "CKR_PIN_LOCKED" },
	{ CKR_SESSION_CLOSED, "CKR_SESSION_CLOSED" },
	{ CKR_SESSION_HANDLE_INVALID, "CKR_SESSION_HANDLE_INVALID" },
	{ CKR_SESSION_READ_ONLY, "CKR_SESSION_READ_ONLY" },
	{ CKR_TEMPLATE_INCOMPLETE, "CKR_TEMPLATE_INCOMPLETE" },
	{ CKR_TEMPLATE_INCONSISTENT, "CKR_TEMPLATE_INCONSISTENT" },
	{ CKR_TOKEN_NOT_PRESENT, "CKR_TOKEN_NOT_PRESENT" },
	{ CKR_TOKEN_NOT_RECOGNIZED, "CKR_TOKEN_NOT_RECOGNIZED" },
	{ CKR_TOKEN_WRITE_PROTECTED, "CKR_TOKEN_WRITE_PROTECTED" },
	{ CKR_USER_NOT_LOGGED_IN, "CKR_USER_NOT_LOGGED_IN" },
	{ CKR_USER_PIN_NOT_INITIALIZED, "CKR_USER_PIN_NOT_INITIALIZED" },
	{ CKR_CRYPTOKI_NOT_INITIALIZED, "CKR_CRYPTOKI_NOT_INITIALIZED" },
	{ CKR_BUFFER_TOO_SMALL, "CKR_BUFFER_TOO_SMALL" },
};

/*
 * hsm_ckr_name names a PKCS#11 return value: its CKR_ name when it is a
 * standard one, "CKR_VENDOR_DEFINED+0x... (0x...)" with all 32 bits for a
 * vendor-defined one, and the whole value in hex otherwise. A value that
 * came through OpenSSL's error queue with only its low 23 bits
 * (HSM_CKR_LOW_BITS) says so. The result is a constant or a per-thread
 * buffer, valid until the thread's next call.
 */
const char *
hsm_ckr_name(unsigned long rv)
{
	static __thread char buf[96];
	size_t i;

	if (rv & HSM_CKR_LOW_BITS) {
		snprintf(buf, sizeof(buf), "a vendor-defined CKR ending in "
		    "0x%06lX (libp11 passes on only its low 23 bits)",
		    rv & HSM_CKR_REASON_MASK);
		return buf;
	}
	for (i = 0; i < sizeof(ckr_names) / sizeof(ckr_names[0]); i++)
		if (ckr_names[i].rv == rv)
			return ckr_names[i].name;
	if ((rv & 0xffffffffUL) >= CKR_VENDOR_DEFINED)
		snprintf(buf, sizeof(buf), "CKR_VENDOR_DEFINED+0x%lX "
		    "(0x%08lX, vendor-defined)", (rv & 0xffffffffUL) -
		    CKR_VENDOR_DEFINED, rv & 0xffffffffUL);
	else
		snprintf(buf, sizeof(buf), "CKR 0x%08lX", rv);
	return buf;
}

int
hsm_raw_session(struct hsm *h, CK_SESSION_HANDLE *out, CK_SLOT_ID slot,
    int rw)
{
	CK_RV rv;
	CK_FLAGS fl = CKF_SERIAL_SESSION | (rw ? CKF_RW_SESSION : 0);

	*out = CK_INVALID_HANDLE;
	if (!h->loaded)
		return ca_error(CA_ERR_HSM, "PKCS#11 module %s: not loaded",
		    h->module);
	if ((rv = h->fl->C_OpenSession(slot, fl, NULL, NULL, out)) != CKR_OK) {
		*out = CK_INVALID_HANDLE;
		return ca_error(rv == CKR_TOKEN_NOT_PRESENT ||
		    rv == CKR_DEVICE_REMOVED || rv == CKR_SLOT_ID_INVALID ?
		    CA_ERR_TOKEN_ABSENT : CA_ERR_HSM, "PKCS#11 module %s: slot "
		    "%lu: cannot open a session: %s", h->module, slot,
		    hsm_ckr_name(rv));
	}
	return CA_OK;
}

void
hsm_raw_close(struct hsm *h, CK_SESSION_HANDLE s)
{
	if (s != CK_INVALID_HANDLE && h->loaded)
		(void)h->fl->C_CloseSession(s);
}

int
hsm_raw_find(struct hsm *h, CK_SESSION_HANDLE s, CK_ATTRIBUTE *tmpl,
    CK_ULONG ntmpl, CK_OBJECT_HANDLE *objs, CK_ULONG max, CK_ULONG *count)
{
	CK_RV rv;

	*count = 0;
	if ((rv = h->fl->C_FindObjectsInit(s, tmpl, ntmpl)) != CKR_OK)
		return ca_error(CA_ERR_HSM, "PKCS#11: C_FindObjectsInit: %s",
		    hsm_ckr_name(rv));
	rv = h->fl->C_FindObjects(s, objs, max, count);
	(void)h->fl->C_FindObjectsFinal(s);
	if (rv != CKR_OK) {
		*count = 0;
		return ca_error(CA_ERR_HSM, "PKCS#11: C_FindObjects: %s",
		    hsm_ckr_name(rv));
	}
	return CA_OK;
}

/* hsm_raw_bool returns 1 or 0, or -1 when the attribute cannot be read. */
int
hsm_raw_bool(struct hsm *h, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
    CK_ATTRIBUTE_TYPE type)
{
	CK_BBOOL v = CK_FALSE;
	CK_ATTRIBUTE a = { type, &v, sizeof(v) };

	if (h->fl->C_GetAttributeValue(s, o, &a, 1) != CKR_OK ||
	    a.ulValueLen != sizeof(v))
		return -1;
	return v ? 1 : 0;
}

int
hsm_raw_ulong(struct hsm *h, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
    CK_ATTRIBUTE_TYPE type, CK_ULONG *out)
{
	CK_ATTRIBUTE a = { type, out, sizeof(*out) };

	if (h->fl->C_GetAttributeValue(s, o, &a, 1) != CKR_OK ||
	    a.ulValueLen != sizeof(*out))
		return -1;
	return 0;
}

/* hsm_raw_alloc reads a variable-length attribute; free *out with free(). */
int
hsm_raw_alloc(struct hsm *h, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
    CK_ATTRIBUTE_TYPE type, unsigned char **out, size_t *out_len)
{
	CK_ATTRIBUTE a = { type, NULL, 0 };
	CK_RV rv;

	*out = NULL;
	*out_len = 0;
	if ((rv = h->fl->C_GetAttributeValue(s, o, &a, 1)) != CKR_OK ||
	    a.ulValueLen == CK_UNAVAILABLE_INFORMATION ||
	    a.ulValueLen > 65536)
		return ca_error(CA_ERR_HSM, "PKCS#11: attribute 0x%lx cannot "
		    "be read: %s", type, hsm_ckr_name(rv));
	if ((a.pValue = malloc(a.ulValueLen ? a.ulValueLen : 1)) == NULL)
		return ca_error(CA_ERR_NOMEM, "hsm: out of memory");
	if ((rv = h->fl->C_GetAttributeValue(s, o, &a, 1)) != CKR_OK) {
		free(a.pValue);
		return ca_error(CA_ERR_HSM, "PKCS#11: attribute 0x%lx cannot "
		    "be read: %s", type, hsm_ckr_name(rv));
	}
	*out = a.pValue;
	*out_len = a.ulValueLen;
	return CA_OK;
}

/*
 * hsm_raw_token_present returns 1 when a token with this label and serial
 * answers C_GetTokenInfo, 0 when none does.
 */
int
hsm_raw_token_present(struct hsm *h, const char *label, const char *serial)
{
	CK_SLOT_ID ids[64];
	CK_ULONG n = 64, i;
	CK_TOKEN_INFO ti;
	char l[HSM_LABEL_LEN], s[HSM_SERIAL_LEN];

	if (!h->loaded || h->fl->C_GetSlotList(CK_TRUE, ids, &n) != CKR_OK)
		return 0;
	for (i = 0; i < n; i++) {
		if (h->fl->C_GetTokenInfo(ids[i], &ti) != CKR_OK)
			continue;
		memcpy(l, ti.label, 32);
		l[32] = '\0';
		memcpy(s, ti.serialNumber, 16);
		s[16] = '\0';
		hsm_copy_field(l, sizeof(l), l);
		hsm_copy_field(s, sizeof(s), s);
		if (strcmp(l, label) == 0 && strcmp(s, serial) == 0)
			return 1;
	}
	return 0;
}

/*
 * hsm_raw_key_template fills tmpl (room for 3) with the class *cls and
 * u's object label and id; returns the number of attributes.
 */
CK_ULONG
hsm_raw_key_template(CK_ATTRIBUTE *tmpl, CK_OBJECT_CLASS *cls,
    const struct pkcs11_uri *u)
{
	CK_ULONG n = 0;

	tmpl[n].type = CKA_CLASS;
	tmpl[n].pValue = cls;
	tmpl[n++].ulValueLen = sizeof(*cls);
	if (u->object != NULL) {
		tmpl[n].type = CKA_LABEL;
		tmpl[n].pValue = u->object;
		tmpl[n++].ulValueLen = strlen(u->object);
	}
	if (u->has_id) {
		tmpl[n].type = CKA_ID;
		tmpl[n].pValue = u->id;
		tmpl[n++].ulValueLen = u->id_len;
	}
	return n;
}

/*
 * hsm_raw_key_check reads the protection attributes of private key o and
 * returns CA_ERR_KEY_UNSAFE naming the first one that fails.
 */
int
hsm_raw_key_check(struct hsm *h, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
    const char *what)
{
	static const struct {
		CK_ATTRIBUTE_TYPE type;
		const char *name;
		int want;
	} checks[] = {
		{ CKA_SENSITIVE, "CKA_SENSITIVE", 1 },
		{ CKA_ALWAYS_SENSITIVE, "CKA_ALWAYS_SENSITIVE", 1 },
		{ CKA_EXTRACTABLE, "CKA_EXTRACTABLE", 0 },
		{ CKA_NEVER_EXTRACTABLE, "CKA_NEVER_EXTRACTABLE", 1 },
	};
	size_t i;
	int v;

	for (i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
		v = hsm_raw_bool(h, s, o, checks[i].type);
		if (v != checks[i].want)
			return ca_error(CA_ERR_KEY_UNSAFE, "%s: private key "
			    "has %s %s; a CA key must be sensitive and never "
			    "extractable (allow_unsafe_keys overrides this)",
			    what, checks[i].name, v < 0 ? "unreadable" :
			    v ? "TRUE" : "FALSE");
	}
	return CA_OK;
}

static int
raw_public_ec(EVP_PKEY **out, struct hsm *h, CK_SESSION_HANDLE s,
    CK_OBJECT_HANDLE o, const char *what)
{
	unsigned char *params = NULL, *point = NULL;
	size_t plen, ptlen;
	const unsigned char *p;
	ASN1_OBJECT *oid = NULL;
	ASN1_OCTET_STRING *os = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *op = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	const char *group;
	int nid, rc = CA_ERR_HSM;

	if ((rc = hsm_raw_alloc(h, s, o, CKA_EC_PARAMS, &params, &plen)) !=
	    CA_OK || (rc = hsm_raw_alloc(h, s, o, CKA_EC_POINT, &point,
	    &ptlen)) != CA_OK)
		goto out;
	p = params;
	if ((oid = d2i_ASN1_OBJECT(NULL, &p, (long)plen)) == NULL ||
	    p != params + plen || (nid = OBJ_obj2nid(oid)) == NID_undef ||
	    (group = OBJ_nid2sn(nid)) == NULL) {
		rc = ca_error(CA_ERR_UNSUPPORTED, "%s: CKA_EC_PARAMS is not a "
		    "named curve OID", what);
		goto out;
	}
	/* CKA_EC_POINT is a DER OCTET STRING; some modules omit the wrap. */
	p = point;
	os = d2i_ASN1_OCTET_STRING(NULL, &p, (long)ptlen);
	if (os != NULL && p != point + ptlen) {
		ASN1_OCTET_STRING_free(os);
		os = NULL;
	}
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	    group, 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
	    os != NULL ? ASN1_STRING_get0_data(os) : point,
	    os != NULL ? (size_t)ASN1_STRING_length(os) : ptlen) ||
	    (op = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (pctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(pctx) <= 0 ||
	    EVP_PKEY_fromdata(pctx, out, EVP_PKEY_PUBLIC_KEY, op) <= 0) {
		rc = ca_error_openssl(CA_ERR_HSM, "%s: EC public key from "
		    "CKA_EC_POINT", what);
		goto out;
	}
	rc = CA_OK;
 out:
	EVP_PKEY_CTX_free(pctx);
	OSSL_PARAM_free(op);
	OSSL_PARAM_BLD_free(bld);
	ASN1_OCTET_STRING_free(os);
	ASN1_OBJECT_free(oid);
	free(params);
	free(point);
	return rc;
}

static int
raw_public_rsa(EVP_PKEY **out, struct hsm *h, CK_SESSION_HANDLE s,
    CK_OBJECT_HANDLE o, const char *what)
{
	unsigned char *nb = NULL, *eb = NULL;
	size_t nlen, elen;
	BIGNUM *n = NULL, *e = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *op = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	int rc = CA_ERR_HSM;

	if ((rc = hsm_raw_alloc(h, s, o, CKA_MODULUS, &nb, &nlen)) != CA_OK ||
	    (rc = hsm_raw_alloc(h, s, o, CKA_PUBLIC_EXPONENT, &eb, &elen)) !=
	    CA_OK)
		goto out;
	if ((n = BN_bin2bn(nb, (int)nlen, NULL)) == NULL ||
	    (e = BN_bin2bn(eb, (int)elen, NULL)) == NULL ||
	    (bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) ||
	    (op = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (pctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(pctx) <= 0 ||
	    EVP_PKEY_fromdata(pctx, out, EVP_PKEY_PUBLIC_KEY, op) <= 0) {
		rc = ca_error_openssl(CA_ERR_HSM, "%s: RSA public key from "
		    "CKA_MODULUS", what);
		goto out;
	}
	rc = CA_OK;
 out:
	EVP_PKEY_CTX_free(pctx);
	OSSL_PARAM_free(op);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	free(nb);
	free(eb);
	return rc;
}

/*
 * hsm_raw_public builds a plain OpenSSL public key from the attributes of
 * object pub (a public key, or a private key that carries them). The
 * caller frees *out.
 */
int
hsm_raw_public(EVP_PKEY **out, struct hsm *h, CK_SESSION_HANDLE s,
    CK_OBJECT_HANDLE pub, const char *what)
{
	CK_ULONG kt;

	*out = NULL;
	if (hsm_raw_ulong(h, s, pub, CKA_KEY_TYPE, &kt) == -1)
		return ca_error(CA_ERR_HSM, "%s: CKA_KEY_TYPE cannot be read",
		    what);
	if (kt == CKK_EC)
		return raw_public_ec(out, h, s, pub, what);
	if (kt == CKK_RSA)
		return raw_public_rsa(out, h, s, pub, what);
	return ca_error(CA_ERR_UNSUPPORTED, "%s: key type 0x%lx is not "
	    "supported (RSA and EC only)", what, kt);
}

/* hsm_raw_key_desc writes "EC P-256", "RSA 3072", ... for key object o. */
int
hsm_raw_key_desc(struct hsm *h, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
    char *buf, size_t len)
{
	unsigned char *v = NULL;
	const unsigned char *p;
	size_t vlen;
	ASN1_OBJECT *oid;
	CK_ULONG kt, bits;
	const char *name;
	int nid;

	snprintf(buf, len, "unknown");
	if (hsm_raw_ulong(h, s, o, CKA_KEY_TYPE, &kt) == -1)
		return -1;
	switch (kt) {
	case CKK_RSA:
		if (hsm_raw_ulong(h, s, o, CKA_MODULUS_BITS, &bits) == 0) {
			snprintf(buf, len, "RSA %lu", bits);
		} else if (hsm_raw_alloc(h, s, o, CKA_MODULUS, &v, &vlen) ==
		    CA_OK) {
			snprintf(buf, len, "RSA %zu", vlen * 8);
		} else {
			snprintf(buf, len, "RSA");
		}
		break;
	case CKK_EC:
		snprintf(buf, len, "EC");
		if (hsm_raw_alloc(h, s, o, CKA_EC_PARAMS, &v, &vlen) != CA_OK)
			break;
		p = v;
		if ((oid = d2i_ASN1_OBJECT(NULL, &p, (long)vlen)) != NULL) {
			nid = OBJ_obj2nid(oid);
			name = nid == NID_X9_62_prime256v1 ? "P-256" :
			    nid == NID_secp384r1 ? "P-384" :
			    nid == NID_secp521r1 ? "P-521" :
			    nid != NID_undef ? OBJ_nid2sn(nid) : "?";
			snprintf(buf, len, "EC %s", name);
			ASN1_OBJECT_free(oid);
		}
		break;
	case CKK_EC_EDWARDS:
		snprintf(buf, len, "EdDSA");
		break;
	default:
		snprintf(buf, len, "type 0x%lx", kt);
		break;
	}
	ERR_clear_error();
	free(v);
	return 0;
}
