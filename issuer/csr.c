/* SPDX-License-Identifier: ISC */
/*
 * csr: decode, verify and check a PKCS#10 request (see csr.h). The hot
 * path reads the request with the ASN.1 templates below and makes an EC
 * key from a per-curve template; everything else goes through
 * d2i_X509_REQ. Every refusal is a ca_error whose message the issuer
 * sends back unchanged, so the words here are the client's.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/asn1t.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "common/ca_error.h"
#include "common/general_name.h"
#include "common/profile.h"
#include "common/weak_key.h"
#include "issuer/csr.h"

#define CSR_DETAIL_MAX	1024	/* a refusal, as long as ca_error keeps */

struct csr_verifier {
	const struct weak_key_list *weak;	/* borrowed; may be NULL */
	EVP_MD *sha256, *sha384, *sha512;
	EC_GROUP *p256, *p384;
	EVP_PKEY *tmpl_p256, *tmpl_p384;
};

/*
 * A PKCS#10 request (RFC 2986 4) as plain ASN.1, for the hot path: it is
 * X509_REQ's layout except that the key stays an algorithm and a BIT
 * STRING. d2i_X509_REQ would run every key through OpenSSL 3.0's provider
 * decoder (about 150 us here, more than the signature check); an EC key is
 * made instead from a per-curve template (see csr_key_ec). The info keeps
 * its encoding, which is what the signature is verified over.
 */
struct csr_spki {
	X509_ALGOR *algor;
	ASN1_BIT_STRING *key;
};

ASN1_SEQUENCE(csr_spki) = {
	ASN1_SIMPLE(struct csr_spki, algor, X509_ALGOR),
	ASN1_SIMPLE(struct csr_spki, key, ASN1_BIT_STRING),
} static_ASN1_SEQUENCE_END_name(struct csr_spki, csr_spki)

struct csr_info {
	ASN1_ENCODING enc;
	ASN1_INTEGER *version;
	X509_NAME *subject;
	struct csr_spki *spki;
	STACK_OF(X509_ATTRIBUTE) *attrs;
};

/* ASN1_SEQUENCE_enc needs a type name for offsetof. */
typedef struct csr_info csr_info;

ASN1_SEQUENCE_enc(csr_info, enc, 0) = {
	ASN1_SIMPLE(struct csr_info, version, ASN1_INTEGER),
	ASN1_SIMPLE(struct csr_info, subject, X509_NAME),
	ASN1_SIMPLE(struct csr_info, spki, csr_spki),
	/* OPTIONAL as in X509_REQ_INFO: some CSRs omit the empty set. */
	ASN1_IMP_SET_OF_OPT(struct csr_info, attrs, X509_ATTRIBUTE, 0),
} static_ASN1_SEQUENCE_END_ref(struct csr_info, csr_info)

struct csr {
	struct csr_info *info;
	X509_ALGOR *sigalg;
	ASN1_BIT_STRING *sig;
};

ASN1_SEQUENCE(csr) = {
	ASN1_SIMPLE(struct csr, info, csr_info),
	ASN1_SIMPLE(struct csr, sigalg, X509_ALGOR),
	ASN1_SIMPLE(struct csr, sig, ASN1_BIT_STRING),
} static_ASN1_SEQUENCE_END_name(struct csr, csr)

static void
csr_free(struct csr *c)
{
	ASN1_item_free((ASN1_VALUE *)c, ASN1_ITEM_rptr(csr));
}

void
csr_request_free(struct csr_request *r)
{
	size_t i;

	if (r == NULL)
		return;
	EVP_PKEY_free(r->pk);
	free(r->cn);
	for (i = 0; i < r->nnames; i++)
		free(r->names[i]);
	free(r);
}

/*
 * csr_extensions returns the extensions the request asks for (a new stack,
 * empty when it asks for none), as X509_REQ_get_extensions finds them: the
 * first extensionRequest attribute, else a Microsoft one. NULL with *bad
 * set when the attribute is malformed, NULL alone when out of memory.
 */
static STACK_OF(X509_EXTENSION) *
csr_extensions(const struct csr_info *ri, int *bad)
{
	static const int nids[] = { NID_ext_req, NID_ms_ext_req };
	STACK_OF(X509_EXTENSION) *exts;
	X509_ATTRIBUTE *attr;
	const ASN1_TYPE *t = NULL;
	const unsigned char *p, *end;
	size_t k;
	int i;

	*bad = 0;
	for (k = 0; k < sizeof(nids) / sizeof(nids[0]) && t == NULL; k++)
		for (i = 0; i < sk_X509_ATTRIBUTE_num(ri->attrs); i++) {
			attr = sk_X509_ATTRIBUTE_value(ri->attrs, i);
			if (OBJ_obj2nid(X509_ATTRIBUTE_get0_object(attr)) !=
			    nids[k])
				continue;
			if (X509_ATTRIBUTE_count(attr) != 1 ||
			    (t = X509_ATTRIBUTE_get0_type(attr, 0)) == NULL) {
				*bad = 1;
				return NULL;
			}
			break;
		}
	if (t == NULL)
		return sk_X509_EXTENSION_new_null();
	if (t->type != V_ASN1_SEQUENCE) {
		*bad = 1;
		return NULL;
	}
	p = t->value.sequence->data;
	end = p + t->value.sequence->length;
	ERR_clear_error();
	exts = (STACK_OF(X509_EXTENSION) *)ASN1_item_d2i(NULL, &p, end - p,
	    ASN1_ITEM_rptr(X509_EXTENSIONS));
	if (exts == NULL || p != end) {
		ERR_clear_error();
		sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
		*bad = 1;
		return NULL;
	}
	return exts;
}

/*
 * csr_text_ok returns 1 when the len bytes at p are printable ASCII (no
 * control byte, NUL, DEL or byte past 0x7e), 0 otherwise. Names that fail
 * are refused without being echoed: a control byte would not survive into
 * the response message (protocol.c refuses them there).
 */
static int
csr_text_ok(const unsigned char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] < 0x20 || p[i] > 0x7e)
			return 0;
	return 1;
}

/*
 * csr_dns copies a dNSName into a new C string in *out. Returns CA_OK,
 * CA_ERR_INVALID when it holds a byte that is not printable ASCII (entry
 * is its 1-based place in subjectAltName, for the message), or
 * CA_ERR_NOMEM. The caller frees *out.
 */
static int
csr_dns(char **out, const ASN1_IA5STRING *s, size_t entry)
{
	int len = ASN1_STRING_length(s);

	*out = NULL;
	if (len < 0 || !csr_text_ok(ASN1_STRING_get0_data(s), (size_t)len))
		return ca_error(CA_ERR_INVALID, "CSR: subjectAltName entry %zu "
		    "holds a control or non-ASCII byte; a dNSName is letters, "
		    "digits, '-' and '.' (RFC 5280 4.2.1.6, RFC 1123)", entry);
	if ((*out = strndup((const char *)ASN1_STRING_get0_data(s),
	    (size_t)len)) == NULL)
		return ca_error(CA_ERR_NOMEM, "CSR: out of memory");
	return CA_OK;
}

/*
 * csr_check collects the CSR's dNSName SANs (and its CN when it has no
 * SAN) into r and refuses what the issuer never grants: other name types,
 * CA powers, subject attributes other than one commonName. Returns CA_OK
 * or the refusal (see csr.h).
 */
static int
csr_check(struct csr_request *r, const struct csr_info *ri)
{
	STACK_OF(X509_EXTENSION) *exts = NULL;
	int bad = 0;
	BASIC_CONSTRAINTS *bc = NULL;
	ASN1_BIT_STRING *ku = NULL;
	GENERAL_NAMES *san = NULL;
	const X509_NAME *subj;
	const X509_NAME_ENTRY *ne;
	const GENERAL_NAME *gn;
	unsigned char *u = NULL;
	size_t i;
	int crit, n, len, rc = CA_ERR_INTERNAL;

	subj = ri->subject;
	n = X509_NAME_entry_count(subj);
	if (n > 1 || (n == 1 && OBJ_obj2nid(X509_NAME_ENTRY_get_object(
	    ne = X509_NAME_get_entry(subj, 0))) != NID_commonName)) {
		rc = ca_error(CA_ERR_POLICY, "CSR subject: only one commonName "
		    "is accepted (the names go in subjectAltName); build a "
		    "CSR with at most a CN in its subject");
		goto out;
	}
	if (n == 1) {
		len = ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(ne));
		if (len <= 0 || len >= SIGNER_CN_LEN || memchr(u, 0,
		    (size_t)len) != NULL) {
			rc = ca_error(CA_ERR_INVALID, "CSR subject: the "
			    "commonName is empty, not text, or longer than 64 "
			    "characters (RFC 5280 ub-common-name)");
			goto out;
		}
		if (!csr_text_ok(u, (size_t)len)) {
			rc = ca_error(CA_ERR_INVALID, "CSR subject: the "
			    "commonName holds a control or non-ASCII "
			    "character; a CN must be one of the DNS names in "
			    "subjectAltName");
			goto out;
		}
		if ((r->cn = strndup((char *)u, (size_t)len)) == NULL)
			goto nomem;
	}
	if ((exts = csr_extensions(ri, &bad)) == NULL) {
		if (!bad)
			goto nomem;
		rc = ca_error(CA_ERR_INVALID, "CSR: RFC 2985 5.4.2: its "
		    "extensionRequest attribute is not a DER list of "
		    "extensions; build a new CSR");
		goto out;
	}
	bc = X509V3_get_d2i(exts, NID_basic_constraints, &crit, NULL);
	if (bc == NULL && crit == -2) {
		rc = ca_error(CA_ERR_INVALID, "CSR: requested basicConstraints "
		    "is malformed or repeated");
		goto out;
	}
	if (bc != NULL && bc->ca) {
		rc = ca_error(CA_ERR_POLICY, "CSR: requests CA:TRUE in "
		    "basicConstraints; this issuer makes end-entity "
		    "certificates only (RFC 5280 4.2.1.9); remove it");
		goto out;
	}
	ku = X509V3_get_d2i(exts, NID_key_usage, &crit, NULL);
	if (ku != NULL && (ASN1_BIT_STRING_get_bit(ku, 5) ||
	    ASN1_BIT_STRING_get_bit(ku, 6))) {
		rc = ca_error(CA_ERR_POLICY, "CSR: requests keyCertSign or "
		    "cRLSign in keyUsage; those are CA powers (RFC 5280 "
		    "4.2.1.3) this issuer never grants; remove them");
		goto out;
	}
	san = X509V3_get_d2i(exts, NID_subject_alt_name, &crit, NULL);
	if (san == NULL && crit == -2) {
		rc = ca_error(CA_ERR_INVALID, "CSR: requested subjectAltName "
		    "is malformed or repeated");
		goto out;
	}
	for (i = 0; san != NULL && i < (size_t)sk_GENERAL_NAME_num(san); i++) {
		gn = sk_GENERAL_NAME_value(san, (int)i);
		if (gn->type != GEN_DNS) {
			rc = ca_error(CA_ERR_POLICY, "CSR: subjectAltName "
			    "entry %zu is not a dNSName; only DNS names are "
			    "issued", i + 1);
			goto out;
		}
		if (r->nnames == SIGNER_MAX_NAMES) {
			rc = ca_error(CA_ERR_POLICY, "CSR: more than %d names",
			    SIGNER_MAX_NAMES);
			goto out;
		}
		if ((rc = csr_dns(&r->names[r->nnames], gn->d.dNSName,
		    i + 1)) != CA_OK)
			goto out;
		r->nnames++;
	}
	if (r->nnames == 0 && r->cn != NULL) {
		if ((r->names[0] = strdup(r->cn)) == NULL)
			goto nomem;
		r->nnames = 1;
	}
	if (r->nnames == 0) {
		rc = ca_error(CA_ERR_INVALID, "CSR: no names: put the DNS "
		    "names in subjectAltName");
		goto out;
	}
	for (i = 0; i < r->nnames; i++)
		if ((rc = general_name_dns_check(r->names[i],
		    strlen(r->names[i]), GENERAL_NAME_WILDCARD,
		    san != NULL ? "CSR: subjectAltName" : "CSR: commonName")) !=
		    CA_OK)
			goto out;
	if (r->cn != NULL) {
		for (i = 0; i < r->nnames; i++)
			if (strcasecmp(r->cn, r->names[i]) == 0)
				break;
		if (i == r->nnames) {
			rc = ca_error(CA_ERR_POLICY, "CSR: commonName \"%s\" is "
			    "not one of its subjectAltNames; use one of the "
			    "names as CN, or no CN", r->cn);
			goto out;
		}
	}
	rc = CA_OK;
	goto out;
 nomem:
	rc = ca_error(CA_ERR_NOMEM, "CSR: out of memory");
 out:
	OPENSSL_free(u);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	BASIC_CONSTRAINTS_free(bc);
	ASN1_BIT_STRING_free(ku);
	GENERAL_NAMES_free(san);
	return rc;
}

/*
 * csr_key_ec makes the EVP_PKEY of an EC request key on P-256 or P-384
 * without the provider decoder: the point is checked on the cached curve,
 * then set on a copy of the curve's template key. 0 when the key is not
 * on one of those curves (the caller takes the general path); -1 when it
 * is, but is not a valid point.
 */
static int
csr_key_ec(const struct csr_verifier *v, EVP_PKEY **out,
    const struct csr_spki *k)
{
	const ASN1_OBJECT *obj;
	const void *pval;
	const EC_GROUP *group;
	EVP_PKEY *tmpl;
	EC_POINT *pt = NULL;
	int ptype, nid, ret = -1;

	*out = NULL;
	X509_ALGOR_get0(&obj, &ptype, &pval, k->algor);
	if (OBJ_obj2nid(obj) != NID_X9_62_id_ecPublicKey ||
	    ptype != V_ASN1_OBJECT)
		return 0;
	nid = OBJ_obj2nid(pval);
	if (nid == NID_X9_62_prime256v1) {
		group = v->p256;
		tmpl = v->tmpl_p256;
	} else if (nid == NID_secp384r1) {
		group = v->p384;
		tmpl = v->tmpl_p384;
	} else
		return 0;
	if ((k->key->flags & 0x07) != 0 || (pt = EC_POINT_new(group)) ==
	    NULL || EC_POINT_oct2point(group, pt,
	    ASN1_STRING_get0_data(k->key), (size_t)ASN1_STRING_length(k->key),
	    NULL) != 1 || EC_POINT_is_at_infinity(group, pt))
		goto out;
	if ((*out = EVP_PKEY_dup(tmpl)) == NULL ||
	    EVP_PKEY_set1_encoded_public_key(*out,
	    ASN1_STRING_get0_data(k->key),
	    (size_t)ASN1_STRING_length(k->key)) != 1) {
		EVP_PKEY_free(*out);
		*out = NULL;
		goto out;
	}
	ret = 1;
 out:
	EC_POINT_free(pt);
	return ret;
}

/*
 * csr_verify_ec checks an ECDSA request signature with a digest fetched
 * once: 1 verified, 0 not, -1 when the signature algorithm is not ECDSA
 * with SHA-2 without parameters (the caller takes the general path).
 */
static int
csr_verify_ec(const struct csr_verifier *v, const struct csr *c, EVP_PKEY *pk)
{
	const ASN1_OBJECT *obj;
	const void *pval;
	const EVP_MD *md;
	EVP_MD_CTX *mctx = NULL;
	int ptype, ok = 0;

	X509_ALGOR_get0(&obj, &ptype, &pval, c->sigalg);
	switch (OBJ_obj2nid(obj)) {
	case NID_ecdsa_with_SHA256:
		md = v->sha256;
		break;
	case NID_ecdsa_with_SHA384:
		md = v->sha384;
		break;
	case NID_ecdsa_with_SHA512:
		md = v->sha512;
		break;
	default:
		return -1;
	}
	/*
	 * RFC 5758 3.2: the parameters are absent; a CSR with parameters
	 * is left to X509_REQ_verify, as before.
	 */
	if (ptype != V_ASN1_UNDEF)
		return -1;
	if ((c->sig->flags & 0x07) != 0)
		return 0;
	if ((mctx = EVP_MD_CTX_new()) != NULL &&
	    EVP_DigestVerifyInit(mctx, NULL, md, NULL, pk) == 1 &&
	    EVP_DigestVerify(mctx, ASN1_STRING_get0_data(c->sig),
	    (size_t)ASN1_STRING_length(c->sig), c->info->enc.enc,
	    (size_t)c->info->enc.len) == 1)
		ok = 1;
	EVP_MD_CTX_free(mctx);
	return ok;
}

/*
 * EC P-256/P-384 keys signed with ECDSA (the usual case) take the fast
 * path above; anything else goes through d2i_X509_REQ and X509_REQ_verify.
 * Either way the key is checked (weak_key_check, then the key policy)
 * before its signature is verified: a key with e = 1, say, would "verify"
 * a signature that proves nothing.
 */
int
csr_request_decode(struct csr_request **out, const struct csr_verifier *v,
    const uint8_t *der, size_t len)
{
	const unsigned char *p = der, *end = der + len;
	struct csr_request *r = NULL;
	struct csr *c = NULL;
	unsigned char *spki = NULL;
	X509_REQ *req = NULL;
	char detail[CSR_DETAIL_MAX];
	int n, ok = -1, rc = CA_ERR_INTERNAL;

	*out = NULL;
	ERR_clear_error();
	if (len > INT32_MAX || (c = (struct csr *)ASN1_item_d2i(NULL, &p,
	    end - p, ASN1_ITEM_rptr(csr))) == NULL || p != end ||
	    ASN1_INTEGER_get(c->info->version) != 0) {
		rc = ca_error(CA_ERR_INVALID, "CSR: not a DER PKCS#10 "
		    "request (RFC 2986, version 1), or trailing bytes after "
		    "it; build a new CSR");
		goto out;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (n = ASN1_item_i2d((ASN1_VALUE *)c->info->spki, &spki,
	    ASN1_ITEM_rptr(csr_spki))) <= 0) {
		rc = ca_error(CA_ERR_NOMEM, "CSR: out of memory");
		goto out;
	}
	if ((size_t)n > sizeof(r->spki)) {
		rc = ca_error(CA_ERR_POLICY, "CSR key: SubjectPublicKeyInfo of "
		    "%d bytes is over %d; use EC P-256, P-384 or RSA of at "
		    "least 2048 bits", n, SIGNER_SPKI_MAX);
		goto out;
	}
	memcpy(r->spki, spki, (size_t)n);
	r->spki_len = (size_t)n;
	if (csr_key_ec(v, &r->pk, c->info->spki) < 0) {
		rc = ca_error(CA_ERR_POLICY, "CSR key: EC public key is not a "
		    "point on its curve, or is the point at infinity (RFC "
		    "5480 2.2); make a new key");
		goto out;
	}
	if (r->pk == NULL) {
		/* The general path: every key type, every algorithm. */
		p = der;
		if ((req = d2i_X509_REQ(NULL, &p, end - p)) == NULL ||
		    p != end || (r->pk = X509_REQ_get_pubkey(req)) == NULL) {
			ERR_clear_error();
			rc = ca_error(CA_ERR_INVALID, "CSR key: RFC 2986 4.1: "
			    "its SubjectPublicKeyInfo cannot be decoded; "
			    "build a new CSR");
			goto out;
		}
	}
	if ((rc = weak_key_check(r->pk, v->weak, "CSR key")) != CA_OK)
		goto out;
	if (profile_key_check(r->pk, PROFILE_KEY_ALL, "CSR key") != CA_OK) {
		snprintf(detail, sizeof(detail), "%s", ca_error_detail());
		rc = ca_error(CA_ERR_POLICY, "%s; use EC P-256, P-384 or "
		    "RSA of at least 2048 bits", detail);
		goto out;
	}
	if (req == NULL)
		ok = csr_verify_ec(v, c, r->pk);
	if (ok < 0) {
		p = der;
		ok = 0;
		if ((req != NULL || ((req = d2i_X509_REQ(NULL, &p,
		    end - p)) != NULL && p == end)) &&
		    X509_REQ_verify(req, r->pk) == 1)
			ok = 1;
	}
	ERR_clear_error();
	if (ok != 1) {
		rc = ca_error(CA_ERR_INVALID, "CSR: RFC 2986 4.2: its "
		    "signature does not verify with its own public key; build "
		    "a new CSR");
		goto out;
	}
	if ((rc = csr_check(r, c->info)) != CA_OK)
		goto out;
	if (c->info->enc.enc == NULL || c->info->enc.len <= 0 ||
	    SHA256(c->info->enc.enc, (size_t)c->info->enc.len,
	    r->info_hash) == NULL) {
		rc = ca_error(CA_ERR_INTERNAL, "CSR: no encoding to hash");
		goto out;
	}
	*out = r;
	r = NULL;
	rc = CA_OK;
 out:
	ERR_clear_error();
	OPENSSL_free(spki);
	X509_REQ_free(req);
	csr_free(c);
	csr_request_free(r);
	return rc;
}

void
csr_verifier_free(struct csr_verifier *v)
{
	if (v == NULL)
		return;
	EVP_MD_free(v->sha256);
	EVP_MD_free(v->sha384);
	EVP_MD_free(v->sha512);
	EC_GROUP_free(v->p256);
	EC_GROUP_free(v->p384);
	EVP_PKEY_free(v->tmpl_p256);
	EVP_PKEY_free(v->tmpl_p384);
	free(v);
}

/*
 * curve_template makes the group of curve nid and a public key on it (its
 * generator) that request keys on the curve are copied from.
 */
static int
curve_template(EC_GROUP **group, EVP_PKEY **tmpl, int nid)
{
	EVP_PKEY_CTX *ctx = NULL;
	OSSL_PARAM params[3];
	unsigned char *pt = NULL;
	size_t len;
	int rc = CA_ERR_INTERNAL;

	ERR_clear_error();
	if ((*group = EC_GROUP_new_by_curve_name(nid)) == NULL ||
	    (len = EC_POINT_point2buf(*group, EC_GROUP_get0_generator(*group),
	    POINT_CONVERSION_UNCOMPRESSED, &pt, NULL)) == 0 ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1)
		goto fail;
	params[0] = OSSL_PARAM_construct_utf8_string(
	    OSSL_PKEY_PARAM_GROUP_NAME, (char *)OBJ_nid2sn(nid), 0);
	params[1] = OSSL_PARAM_construct_octet_string(
	    OSSL_PKEY_PARAM_PUB_KEY, pt, len);
	params[2] = OSSL_PARAM_construct_end();
	if (EVP_PKEY_fromdata(ctx, tmpl, EVP_PKEY_PUBLIC_KEY, params) != 1)
		goto fail;
	rc = CA_OK;
	goto out;
 fail:
	rc = ca_error_openssl(CA_ERR_INTERNAL, "CSR verifier: cannot set up "
	    "the curve %s", OBJ_nid2sn(nid));
 out:
	OPENSSL_free(pt);
	EVP_PKEY_CTX_free(ctx);
	return rc;
}

int
csr_verifier_new(struct csr_verifier **out, const struct weak_key_list *weak)
{
	struct csr_verifier *v = NULL;
	int rc = CA_ERR_INTERNAL;

	*out = NULL;
	if ((v = calloc(1, sizeof(*v))) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "CSR verifier: out of memory");
		goto out;
	}
	v->weak = weak;
	ERR_clear_error();
	if ((v->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL ||
	    (v->sha384 = EVP_MD_fetch(NULL, "SHA384", NULL)) == NULL ||
	    (v->sha512 = EVP_MD_fetch(NULL, "SHA512", NULL)) == NULL) {
		rc = ca_error_openssl(CA_ERR_INTERNAL, "CSR verifier: SHA-2 "
		    "digests are not available");
		goto out;
	}
	if ((rc = curve_template(&v->p256, &v->tmpl_p256,
	    NID_X9_62_prime256v1)) != CA_OK ||
	    (rc = curve_template(&v->p384, &v->tmpl_p384,
	    NID_secp384r1)) != CA_OK)
		goto out;
	*out = v;
	v = NULL;
	rc = CA_OK;
 out:
	csr_verifier_free(v);
	return rc;
}
