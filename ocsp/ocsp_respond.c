/* SPDX-License-Identifier: ISC */
/*
 * ocsp_respond: one OCSP request in, one OCSP response out (RFC 6960,
 * profiled by RFC 5019).
 *
 * The request is decoded by OpenSSL (d2i_OCSP_REQUEST); trailing bytes, a
 * request over the size cap, or anything but exactly one Request (RFC 5019
 * 2.1.1) is malformedRequest, and so are hash algorithm parameters other
 * than absent or NULL. The CertID's hash algorithm must be SHA-1 or
 * SHA-256 and its issuerNameHash and issuerKeyHash must name a configured
 * issuer; otherwise the answer is unauthorized (RFC 6960 2.3). Request
 * signatures and extensions, the nonce included, are ignored (RFC 5019
 * 2.1.2, 4).
 *
 * The CertID is then normalised (rebuilt from the issuer with NULL
 * parameters, the form OpenSSL sends) and both the cache key and the
 * response's CertID are that form, so the ways of spelling one question
 * share one cache entry and one signature (clients match a response by
 * hash algorithm OID, hashes and serial, RFC 6960 4.2.1). The answer
 * comes from the cache when it holds a response for the same normalised
 * CertID DER; otherwise the status is read from the log, a response is
 * signed (at most max_live at once; beyond that tryLater) and cached.
 *
 * Status mapping (docs/revocation.md):
 *   issued                 good
 *   revoked                revoked, revocationTime, reason (absent for 0)
 *   reserved, abandoned    revoked, 1970-01-01T00:00:00Z, certificateHold,
 *                          with the extended revoked definition extension
 *                          (RFC 6960 2.2); or unknown if configured so
 *   not in the log         unknown
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/objects.h>

#include "common/ca_error.h"
#include "hsm/hsm.h"
#include "ocsp/ocsp_responder.h"

/* id-pkix-ocsp-extended-revoke, RFC 6960 4.4.8 */
#define OID_EXTENDED_REVOKE	"1.3.6.1.5.5.7.48.1.9"

static time_t
now_of(const struct ocsp_responder *r)
{
	return r->now != NULL ? r->now() : time(NULL);
}

void
ocsp_http_date(char out[OCSP_HTTP_DATE_LEN], time_t t)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, OCSP_HTTP_DATE_LEN, "%a, %d %b %Y %H:%M:%S GMT",
	    &tm) == 0)
		out[0] = '\0';
}

int
ocsp_respond_error(struct ocsp_reply *out, int status)
{
	/* OCSPResponse ::= SEQUENCE { responseStatus ENUMERATED } */
	memset(out, 0, sizeof(*out));
	if ((out->der = malloc(5)) == NULL)
		return ca_error(CA_ERR_NOMEM, "out of memory");
	out->der[0] = 0x30;
	out->der[1] = 0x03;
	out->der[2] = 0x0a;
	out->der[3] = 0x01;
	out->der[4] = (uint8_t)status;
	out->len = 5;
	out->status = status;
	return CA_OK;
}

struct sign_ctx {
	OCSP_BASICRESP *bs;
	const struct ocsp_issuer *iss;
	X509 *signer;		/* the issuer's signer when signing began */
};

static int
sign_cb(EVP_PKEY *pkey, void *arg)
{
	struct sign_ctx *sc = arg;
	unsigned long flags = OCSP_RESPID_KEY;

	if (!sc->iss->delegated)
		flags |= OCSP_NOCERTS;
	return OCSP_basic_sign(sc->bs, sc->signer, pkey, EVP_sha256(),
	    NULL, flags);
}

static int
add_extended_revoke(OCSP_BASICRESP *bs)
{
	static const unsigned char asn1_null[] = { 0x05, 0x00 };
	ASN1_OBJECT *obj = NULL;
	ASN1_OCTET_STRING *val = NULL;
	X509_EXTENSION *ext = NULL;
	int ok = 0;

	if ((obj = OBJ_txt2obj(OID_EXTENDED_REVOKE, 1)) == NULL ||
	    (val = ASN1_OCTET_STRING_new()) == NULL ||
	    !ASN1_OCTET_STRING_set(val, asn1_null, sizeof(asn1_null)) ||
	    (ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, val)) == NULL ||
	    !OCSP_BASICRESP_add_ext(bs, ext, -1))
		goto out;
	ok = 1;
 out:
	X509_EXTENSION_free(ext);
	ASN1_OCTET_STRING_free(val);
	ASN1_OBJECT_free(obj);
	return ok;
}

/*
 * entry_sign looks the CertID's serial up and signs a response for it.
 * *gen_out is the cache generation read before the lookup.
 */
static int
entry_sign(struct ocsp_responder *r, struct ocsp_entry **out,
    uint64_t *gen_out, const struct ocsp_issuer *iss, OCSP_CERTID *cid,
    const uint8_t *key, size_t key_len)
{
	struct ocsp_entry *e = NULL;
	struct ocsp_status st;
	struct sign_ctx sc = { NULL, iss, NULL };
	OCSP_RESPONSE *resp = NULL;
	ASN1_INTEGER *serial = NULL;
	ASN1_TIME *thisupd = NULL, *nextupd = NULL, *revtime = NULL;
	unsigned char *der = NULL;
	uint8_t md[32];
	char hex[65];
	const unsigned char *sdata;
	unsigned int sgen;
	int slen, len, cstatus, reason = -1, rc = CA_ERR_INTERNAL;
	time_t now = now_of(r), not_before, not_after;

	*out = NULL;
	*gen_out = r->cache != NULL ? ocsp_cache_gen(r->cache) : 0;
	/*
	 * The signer now, and whether it may sign: a response under a
	 * certificate outside its validity is one every client rejects.
	 */
	sc.signer = ocsp_signer_get(iss, &sgen, &not_before, &not_after);
	if (now < not_before || now >= not_after) {
		rc = ca_error(CA_ERR_EXPIRED, "%s: RFC 5280 4.1.2.5: the "
		    "signing certificate is not valid now", iss->name);
		goto out;
	}
	if (!OCSP_id_get0_info(NULL, NULL, NULL, &serial, cid) ||
	    serial == NULL)
		return ca_error(CA_ERR_INVALID, "CertID without a serial");
	sdata = ASN1_STRING_get0_data(serial);
	slen = ASN1_STRING_length(serial);
	memset(&st, 0, sizeof(st));
	st.state = OCSP_STATE_UNKNOWN;
	if (ASN1_STRING_type(serial) == V_ASN1_INTEGER &&
	    slen == ISSUANCE_LOG_SERIAL_LEN &&
	    (rc = r->status_fn(&st, iss, sdata, (size_t)slen, r->status_arg))
	    != CA_OK)
		goto out;
	if ((e = calloc(1, sizeof(*e))) == NULL ||
	    (e->key = malloc(key_len)) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "out of memory");
		goto out;
	}
	memcpy(e->key, key, key_len);
	e->key_len = key_len;
	e->issuer = iss;
	e->state = st.state;
	if (ASN1_STRING_type(serial) == V_ASN1_INTEGER &&
	    slen == ISSUANCE_LOG_SERIAL_LEN) {
		memcpy(e->serial, sdata, ISSUANCE_LOG_SERIAL_LEN);
		e->has_serial = 1;
	}
	e->signer_gen = sgen;
	e->this_update = now;
	/* No answer may outlive its signer: caches drop it by then. */
	e->next_update = now + r->validity;
	if (e->next_update > not_after)
		e->next_update = not_after;
	if ((sc.bs = OCSP_BASICRESP_new()) == NULL ||
	    (thisupd = ASN1_TIME_set(NULL, e->this_update)) == NULL ||
	    (nextupd = ASN1_TIME_set(NULL, e->next_update)) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "out of memory");
		goto out;
	}
	switch (st.state) {
	case OCSP_STATE_GOOD:
		cstatus = V_OCSP_CERTSTATUS_GOOD;
		break;
	case OCSP_STATE_REVOKED:
		cstatus = V_OCSP_CERTSTATUS_REVOKED;
		/* RFC 5280 5.3.1: omit the reason rather than send 0. */
		reason = st.reason > 0 ? st.reason : -1;
		revtime = ASN1_TIME_set(NULL, (time_t)st.revoked_at);
		break;
	case OCSP_STATE_UNISSUED:
		if (r->unissued == OCSP_UNISSUED_UNKNOWN) {
			cstatus = V_OCSP_CERTSTATUS_UNKNOWN;
			break;
		}
		/* RFC 6960 2.2: "revoked" for a serial never issued. */
		cstatus = V_OCSP_CERTSTATUS_REVOKED;
		reason = OCSP_REVOKED_STATUS_CERTIFICATEHOLD;
		revtime = ASN1_TIME_set(NULL, 0);
		if (!add_extended_revoke(sc.bs)) {
			rc = ca_error_openssl(CA_ERR_INTERNAL, "OCSP extended "
			    "revoke extension");
			goto out;
		}
		break;
	default:
		cstatus = V_OCSP_CERTSTATUS_UNKNOWN;
		break;
	}
	if (cstatus == V_OCSP_CERTSTATUS_REVOKED && revtime == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (OCSP_basic_add1_status(sc.bs, cid, cstatus, reason, revtime,
	    thisupd, nextupd) == NULL) {
		rc = ca_error_openssl(CA_ERR_INTERNAL, "OCSP_basic_add1_status");
		goto out;
	}
	if (iss->key != NULL) {
		if ((rc = hsm_key_sign(iss->key, sign_cb, &sc)) != CA_OK)
			goto out;
	} else if (sign_cb(iss->soft_key, &sc) != 1) {
		rc = ca_error_openssl(CA_ERR_INTERNAL, "%s: OCSP_basic_sign",
		    iss->name);
		goto out;
	}
	if ((resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL,
	    sc.bs)) == NULL || (len = i2d_OCSP_RESPONSE(resp, &der)) <= 0) {
		rc = ca_error_openssl(CA_ERR_INTERNAL, "encode OCSPResponse");
		goto out;
	}
	if ((e->der = malloc((size_t)len)) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "out of memory");
		goto out;
	}
	memcpy(e->der, der, (size_t)len);
	e->der_len = (size_t)len;
	if (EVP_Digest(e->der, e->der_len, md, NULL, EVP_sha256(), NULL) !=
	    1) {
		rc = ca_error_openssl(CA_ERR_INTERNAL, "SHA-256");
		goto out;
	}
	for (len = 0; len < 16; len++)
		snprintf(hex + 2 * len, 3, "%02x", md[len]);
	snprintf(e->etag, sizeof(e->etag), "\"%.32s\"", hex);
	ocsp_http_date(e->last_modified, e->this_update);
	ocsp_http_date(e->expires, e->next_update);
	*out = e;
	e = NULL;
	rc = CA_OK;
 out:
	X509_free(sc.signer);
	OPENSSL_free(der);
	OCSP_RESPONSE_free(resp);
	OCSP_BASICRESP_free(sc.bs);
	ASN1_TIME_free(thisupd);
	ASN1_TIME_free(nextupd);
	ASN1_TIME_free(revtime);
	ocsp_entry_free(e);
	return rc;
}

static int
reply_from_entry(struct ocsp_reply *out, const struct ocsp_entry *e)
{
	memset(out, 0, sizeof(*out));
	if ((out->der = malloc(e->der_len)) == NULL)
		return ca_error(CA_ERR_NOMEM, "out of memory");
	memcpy(out->der, e->der, e->der_len);
	out->len = e->der_len;
	out->status = OCSP_RESPONSE_STATUS_SUCCESSFUL;
	out->cacheable = 1;
	out->this_update = e->this_update;
	out->next_update = e->next_update;
	memcpy(out->etag, e->etag, sizeof(out->etag));
	memcpy(out->last_modified, e->last_modified,
	    sizeof(out->last_modified));
	memcpy(out->expires, e->expires, sizeof(out->expires));
	return CA_OK;
}

/* issuer_match: the issuer a CertID names, or NULL. */
static const struct ocsp_issuer *
issuer_match(const struct ocsp_responder *r, OCSP_CERTID *cid)
{
	ASN1_OCTET_STRING *nh = NULL, *kh = NULL;
	ASN1_OBJECT *alg = NULL;
	const struct ocsp_issuer *iss;
	size_t i, hlen;
	int nid;

	if (!OCSP_id_get0_info(&nh, &alg, &kh, NULL, cid) || nh == NULL ||
	    kh == NULL || alg == NULL)
		return NULL;
	nid = OBJ_obj2nid(alg);
	hlen = nid == NID_sha1 ? 20 : nid == NID_sha256 ? 32 : 0;
	if (hlen == 0 || (size_t)nh->length != hlen ||
	    (size_t)kh->length != hlen)
		return NULL;
	for (i = 0; i < r->nissuers; i++) {
		iss = r->issuers[i];
		if (memcmp(nh->data, nid == NID_sha1 ? iss->name_sha1 :
		    iss->name_sha256, hlen) == 0 &&
		    memcmp(kh->data, nid == NID_sha1 ? iss->key_sha1 :
		    iss->key_sha256, hlen) == 0)
			return iss;
	}
	return NULL;
}

/*
 * hashalg_params_ok: 1 when the parameters of the CertID's hashAlgorithm
 * are absent or NULL (the only forms SHA-1 and SHA-256 take, RFC 5754
 * 2), 0 otherwise or when the CertID cannot be re-read.
 */
static int
hashalg_params_ok(OCSP_CERTID *cid)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	X509_ALGOR *alg = NULL;
	long clen;
	int dlen, tag, xclass, ptype, ok = 0;

	if ((dlen = i2d_OCSP_CERTID(cid, &der)) <= 0)
		goto out;
	p = der;
	/* CertID ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier, ... } */
	if ((ASN1_get_object(&p, &clen, &tag, &xclass, dlen) & 0x80) ||
	    tag != V_ASN1_SEQUENCE ||
	    (alg = d2i_X509_ALGOR(NULL, &p, clen)) == NULL)
		goto out;
	X509_ALGOR_get0(NULL, &ptype, NULL, alg);
	ok = ptype == V_ASN1_UNDEF || ptype == V_ASN1_NULL;
 out:
	X509_ALGOR_free(alg);
	OPENSSL_free(der);
	return ok;
}

/*
 * certid_normalise: the CertID cid names, rebuilt from iss (which
 * issuer_match found for it): the same hash algorithm, with NULL
 * parameters, iss's name and key hashes, and cid's serial. Its DER is the
 * cache key, so that the forms of one question a client can vary (the
 * parameters absent or NULL) share one entry and one signature. Returns a
 * new CertID the caller frees, or NULL.
 */
static OCSP_CERTID *
certid_normalise(OCSP_CERTID *cid, const struct ocsp_issuer *iss)
{
	ASN1_OBJECT *alg = NULL;
	ASN1_INTEGER *serial = NULL;
	const EVP_MD *md;

	if (!OCSP_id_get0_info(NULL, &alg, NULL, &serial, cid) ||
	    alg == NULL || serial == NULL)
		return NULL;
	switch (OBJ_obj2nid(alg)) {
	case NID_sha1:
		md = EVP_sha1();
		break;
	case NID_sha256:
		md = EVP_sha256();
		break;
	default:
		return NULL;
	}
	return OCSP_cert_id_new(md, X509_get_subject_name(iss->cert),
	    X509_get0_pubkey_bitstr(iss->cert), serial);
}

/*
 * certid_key writes the DER of the normalised CertID (see certid_normalise)
 * for a request that issuer_match tied to iss, without hashing anything
 * again: the algorithm with NULL parameters, iss's precomputed name and
 * key hashes, and the serial. It is the cache key on the hot path; a miss
 * still builds the CertID with OpenSSL and checks the two encodings agree.
 * Returns the length written to key (at most CERTID_KEY_MAX), or -1.
 */
#define CERTID_KEY_MAX	128
static int
certid_key(unsigned char key[CERTID_KEY_MAX], const struct ocsp_issuer *iss,
    OCSP_CERTID *cid)
{
	/* AlgorithmIdentifier { sha1 | sha256, NULL } (RFC 5754 2). */
	static const unsigned char alg_sha1[] = { 0x30, 0x09, 0x06, 0x05,
	    0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00 };
	static const unsigned char alg_sha256[] = { 0x30, 0x0d, 0x06, 0x09,
	    0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00 };
	ASN1_OBJECT *alg = NULL;
	ASN1_INTEGER *serial = NULL;
	const unsigned char *a;
	const uint8_t *nh, *kh;
	unsigned char *p;
	size_t alen, hlen, body;
	int slen;

	if (!OCSP_id_get0_info(NULL, &alg, NULL, &serial, cid) ||
	    alg == NULL || serial == NULL)
		return -1;
	switch (OBJ_obj2nid(alg)) {
	case NID_sha1:
		a = alg_sha1;
		alen = sizeof(alg_sha1);
		nh = iss->name_sha1;
		kh = iss->key_sha1;
		hlen = 20;
		break;
	case NID_sha256:
		a = alg_sha256;
		alen = sizeof(alg_sha256);
		nh = iss->name_sha256;
		kh = iss->key_sha256;
		hlen = 32;
		break;
	default:
		return -1;
	}
	if ((slen = i2d_ASN1_INTEGER(serial, NULL)) <= 0)
		return -1;
	body = alen + 2 * (2 + hlen) + (size_t)slen;
	if (body > 127)		/* serials are at most 20 octets (RFC 5280) */
		return -1;
	p = key;
	*p++ = 0x30;
	*p++ = (unsigned char)body;
	memcpy(p, a, alen);
	p += alen;
	*p++ = 0x04;
	*p++ = (unsigned char)hlen;
	memcpy(p, nh, hlen);
	p += hlen;
	*p++ = 0x04;
	*p++ = (unsigned char)hlen;
	memcpy(p, kh, hlen);
	p += hlen;
	if (i2d_ASN1_INTEGER(serial, &p) != slen)
		return -1;
	return (int)(2 + body);
}

int
ocsp_respond(struct ocsp_responder *r, struct ocsp_reply *out,
    const uint8_t *req, size_t req_len)
{
	OCSP_REQUEST *oreq = NULL;
	OCSP_CERTID *cid, *ncid = NULL;
	const unsigned char *p = req;
	const struct ocsp_issuer *iss;
	struct ocsp_entry *e = NULL;
	unsigned char fast[CERTID_KEY_MAX], *key = NULL;
	uint64_t gen;
	int klen, hit, status = OCSP_RESPONSE_STATUS_MALFORMEDREQUEST;

	memset(out, 0, sizeof(*out));
	if (req_len == 0 || req_len > (size_t)r->max_request)
		goto error;
	if ((oreq = d2i_OCSP_REQUEST(NULL, &p, (long)req_len)) == NULL ||
	    p != req + req_len)
		goto error;
	/* RFC 5019 2.1.1: exactly one Request. */
	if (OCSP_request_onereq_count(oreq) != 1 ||
	    (cid = OCSP_onereq_get0_id(OCSP_request_onereq_get0(oreq, 0)))
	    == NULL || !hashalg_params_ok(cid))
		goto error;
	if ((iss = issuer_match(r, cid)) == NULL) {
		status = OCSP_RESPONSE_STATUS_UNAUTHORIZED;
		goto error;
	}
	/* RFC 6960 2.3: no signer valid now, so no answer a client takes. */
	if (!ocsp_signer_usable(iss, now_of(r))) {
		status = OCSP_RESPONSE_STATUS_TRYLATER;
		goto error;
	}
	status = OCSP_RESPONSE_STATUS_INTERNALERROR;
	if ((klen = certid_key(fast, iss, cid)) < 0)
		goto error;
	if (r->cache != NULL) {
		hit = ocsp_cache_get(r->cache, out, fast, (size_t)klen,
		    now_of(r));
		if (hit == 1)
			goto done;
		if (hit < 0)
			goto error;
	}
	/* A miss: the CertID the response will carry, and its encoding. */
	if ((ncid = certid_normalise(cid, iss)) == NULL ||
	    i2d_OCSP_CERTID(ncid, &key) != klen ||
	    memcmp(key, fast, (size_t)klen) != 0)
		goto error;
	if (atomic_fetch_add(&r->live, 1) >= r->max_live) {
		atomic_fetch_sub(&r->live, 1);
		status = OCSP_RESPONSE_STATUS_TRYLATER;
		goto error;
	}
	klen = entry_sign(r, &e, &gen, iss, ncid, key, (size_t)klen);
	atomic_fetch_sub(&r->live, 1);
	if (klen != CA_OK) {
		if (klen == CA_ERR_TOKEN_ABSENT || klen == CA_ERR_HSM ||
		    klen == CA_ERR_EXPIRED)
			status = OCSP_RESPONSE_STATUS_TRYLATER;
		goto error;
	}
	if (reply_from_entry(out, e) != CA_OK)
		goto error;
	if (r->cache != NULL) {
		(void)ocsp_cache_put(r->cache, e, gen);
		e = NULL;
	}
	goto done;
 error:
	ocsp_reply_clear(out);
	if (ocsp_respond_error(out, status) != CA_OK) {
		OPENSSL_free(key);
		OCSP_CERTID_free(ncid);
		OCSP_REQUEST_free(oreq);
		ocsp_entry_free(e);
		return CA_ERR_NOMEM;
	}
 done:
	OPENSSL_free(key);
	OCSP_CERTID_free(ncid);
	OCSP_REQUEST_free(oreq);
	ocsp_entry_free(e);
	return CA_OK;
}

/* store: sign cid (normalised: the cache key form) under iss and cache it. */
static int
store(struct ocsp_responder *r, const struct ocsp_issuer *iss,
    OCSP_CERTID *cid)
{
	struct ocsp_entry *e = NULL;
	unsigned char *key = NULL;
	uint64_t gen;
	int klen, rc = CA_ERR_INTERNAL;

	if ((klen = i2d_OCSP_CERTID(cid, &key)) <= 0)
		return ca_error_openssl(CA_ERR_INTERNAL, "encode CertID");
	if ((rc = entry_sign(r, &e, &gen, iss, cid, key, (size_t)klen))
	    == CA_OK && r->cache != NULL) {
		(void)ocsp_cache_put(r->cache, e, gen);
		e = NULL;
	}
	ocsp_entry_free(e);
	OPENSSL_free(key);
	return rc;
}

int
ocsp_respond_refresh(struct ocsp_responder *r, const uint8_t *key,
    size_t key_len, const struct ocsp_issuer *iss)
{
	OCSP_CERTID *cid;
	const unsigned char *p = key;
	int rc;

	if ((cid = d2i_OCSP_CERTID(NULL, &p, (long)key_len)) == NULL)
		return ca_error_openssl(CA_ERR_INTERNAL, "decode cached CertID");
	rc = store(r, iss, cid);
	OCSP_CERTID_free(cid);
	return rc;
}

int
ocsp_respond_presign(struct ocsp_responder *r, const struct ocsp_issuer *iss,
    const uint8_t serial[ISSUANCE_LOG_SERIAL_LEN])
{
	ASN1_INTEGER *ai = NULL;
	OCSP_CERTID *cid = NULL;
	int rc = CA_ERR_INTERNAL;

	if ((ai = ASN1_INTEGER_new()) == NULL ||
	    !ASN1_STRING_set(ai, serial, ISSUANCE_LOG_SERIAL_LEN) ||
	    (cid = OCSP_cert_id_new(EVP_sha1(),
	    X509_get_subject_name(iss->cert),
	    X509_get0_pubkey_bitstr(iss->cert), ai)) == NULL) {
		rc = ca_error_openssl(CA_ERR_INTERNAL, "build CertID");
		goto out;
	}
	rc = store(r, iss, cid);
 out:
	OCSP_CERTID_free(cid);
	ASN1_INTEGER_free(ai);
	return rc;
}
