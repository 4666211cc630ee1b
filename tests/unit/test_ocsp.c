/* SPDX-License-Identifier: ISC */
/*
 * test_ocsp: carapace-ocsp's modules without HTTP or an HSM: the GET
 * decoding, request handling against a software CA key (every answer
 * decoded and its signature checked by OpenSSL), the cache and its
 * generation rule, the log watcher (one poll at a time, with a failure
 * injected while it re-signs), and the configuration file.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>

#include "common/ca_error.h"
#include "log/issuance_log.h"
#include "ocsp/ocsp_responder.h"
#include "unit.h"

static EVP_PKEY *ca_key;
static X509 *ca_cert;
static struct ocsp_issuer *iss;
static struct ocsp_issuer *iss_list[1];
static int status_calls;

/* Serial k (last byte) -> state; 0x10: good, 0x11 revoked, 0x12 reserved. */
static int
test_status(struct ocsp_status *out, const struct ocsp_issuer *i,
    const uint8_t *serial, size_t len, void *arg)
{
	(void)i;
	(void)arg;
	status_calls++;
	memset(out, 0, sizeof(*out));
	out->state = OCSP_STATE_UNKNOWN;
	if (len != ISSUANCE_LOG_SERIAL_LEN)
		return CA_OK;
	switch (serial[15]) {
	case 0x10:
		out->state = OCSP_STATE_GOOD;
		break;
	case 0x11:
		out->state = OCSP_STATE_REVOKED;
		out->revoked_at = 1700000000;
		out->reason = 1;
		break;
	case 0x12:
		out->state = OCSP_STATE_UNISSUED;
		break;
	}
	return CA_OK;
}

static int
setup(void)
{
	X509_NAME *n;

	if ((ca_key = EVP_EC_gen("P-256")) == NULL ||
	    (ca_cert = X509_new()) == NULL)
		return -1;
	n = X509_get_subject_name(ca_cert);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)"test ocsp CA", -1, -1, 0);
	X509_set_issuer_name(ca_cert, n);
	X509_set_version(ca_cert, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(ca_cert), 1);
	X509_gmtime_adj(X509_getm_notBefore(ca_cert), -3600);
	X509_gmtime_adj(X509_getm_notAfter(ca_cert), 86400);
	X509_set_pubkey(ca_cert, ca_key);
	if (X509_sign(ca_cert, ca_key, EVP_sha256()) <= 0)
		return -1;
	if (ocsp_issuer_new(&iss, "test", ca_cert, NULL, NULL, ca_key) !=
	    CA_OK)
		return -1;
	iss_list[0] = iss;
	return 0;
}

static int
teardown(void)
{
	ocsp_issuer_free(iss);
	X509_free(ca_cert);
	EVP_PKEY_free(ca_key);
	return 0;
}

static void
responder_init(struct ocsp_responder *r, struct ocsp_cache *c)
{
	memset(r, 0, sizeof(*r));
	r->issuers = iss_list;
	r->nissuers = 1;
	r->status_fn = test_status;
	r->cache = c;
	r->validity = 3600;
	r->max_request = OCSP_MAX_REQUEST_DEF;
	r->max_live = 4;
	r->unissued = OCSP_UNISSUED_REVOKED;
	atomic_init(&r->live, 0);
}

/* make_req: DER OCSPRequest for serial ...00 last under md. */
static unsigned char *
make_req(int *len, uint8_t last, const EVP_MD *md, X509 *issuer)
{
	uint8_t s[ISSUANCE_LOG_SERIAL_LEN];
	ASN1_INTEGER *ai = ASN1_INTEGER_new();
	OCSP_REQUEST *req = OCSP_REQUEST_new();
	OCSP_CERTID *id;
	unsigned char *der = NULL;

	memset(s, 0x41, sizeof(s));
	s[15] = last;
	ASN1_STRING_set(ai, s, sizeof(s));
	id = OCSP_cert_id_new(md, X509_get_subject_name(issuer),
	    X509_get0_pubkey_bitstr(issuer), ai);
	OCSP_request_add0_id(req, id);
	*len = i2d_OCSP_REQUEST(req, &der);
	OCSP_REQUEST_free(req);
	ASN1_INTEGER_free(ai);
	return der;
}

/*
 * check_answer: decode rep, verify its signature against the CA and
 * return the cert status (V_OCSP_CERTSTATUS_*) and reason.
 */
static int
check_answer(const struct ocsp_reply *rep, int *reason)
{
	const unsigned char *p = rep->der;
	OCSP_RESPONSE *or;
	OCSP_BASICRESP *bs;
	X509_STORE *st;
	ASN1_GENERALIZEDTIME *rev = NULL, *thisu = NULL, *nextu = NULL;
	int status;

	or = d2i_OCSP_RESPONSE(NULL, &p, (long)rep->len);
	CU_ASSERT_FATAL(or != NULL);
	CU_ASSERT(p == rep->der + rep->len);
	CU_ASSERT_FATAL(OCSP_response_status(or) ==
	    OCSP_RESPONSE_STATUS_SUCCESSFUL);
	bs = OCSP_response_get1_basic(or);
	CU_ASSERT_FATAL(bs != NULL);
	st = X509_STORE_new();
	X509_STORE_add_cert(st, ca_cert);
	{
		STACK_OF(X509) *certs = sk_X509_new_null();

		sk_X509_push(certs, ca_cert);
		CU_ASSERT(OCSP_basic_verify(bs, certs, st, 0) == 1);
		sk_X509_free(certs);
	}
	status = OCSP_single_get0_status(OCSP_resp_get0(bs, 0), reason, &rev,
	    &thisu, &nextu);
	CU_ASSERT(thisu != NULL && nextu != NULL);
	CU_ASSERT(OCSP_check_validity(thisu, nextu, 60, -1) == 1);
	X509_STORE_free(st);
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(or);
	return status;
}

static void
test_get_decode(void)
{
	uint8_t *out = NULL;
	size_t len;

	CU_ASSERT(ocsp_http_get_decode(&out, &len, "QUJD", 100) == CA_OK);
	CU_ASSERT(len == 3 && memcmp(out, "ABC", 3) == 0);
	free(out);
	CU_ASSERT(ocsp_http_get_decode(&out, &len, "QUI%3D", 100) == CA_OK);
	CU_ASSERT(len == 2 && memcmp(out, "AB", 2) == 0);
	free(out);
	CU_ASSERT(ocsp_http_get_decode(&out, &len, "QUI", 100) == CA_OK);
	CU_ASSERT(len == 2);
	free(out);
	/* "+/" as %2B%2F and in the URL-safe alphabet */
	CU_ASSERT(ocsp_http_get_decode(&out, &len, "%2B%2F8%3D", 100) ==
	    CA_OK);
	CU_ASSERT(len == 2 && out[0] == 0xfb && out[1] == 0xff);
	free(out);
	CU_ASSERT(ocsp_http_get_decode(&out, &len, "-_8", 100) == CA_OK);
	CU_ASSERT(len == 2 && out[0] == 0xfb && out[1] == 0xff);
	free(out);
	CU_ASSERT(ocsp_http_get_decode(&out, &len, "QUJD?x=1", 100) == CA_OK);
	free(out);
	CU_ASSERT(ocsp_http_get_decode(&out, &len, "", 100) != CA_OK);
	CU_ASSERT(ocsp_http_get_decode(&out, &len, "%4", 100) != CA_OK);
	CU_ASSERT(ocsp_http_get_decode(&out, &len, "%G1QUJD", 100) != CA_OK);
	CU_ASSERT(ocsp_http_get_decode(&out, &len, "QU!D", 100) != CA_OK);
	CU_ASSERT(ocsp_http_get_decode(&out, &len, "QUJDQUJD", 5) != CA_OK);
	CU_ASSERT(out == NULL);
}

static void
test_respond_states(void)
{
	struct ocsp_responder r;
	struct ocsp_reply rep;
	unsigned char *der;
	int len, reason;

	responder_init(&r, NULL);
	der = make_req(&len, 0x10, EVP_sha1(), ca_cert);
	CU_ASSERT_FATAL(ocsp_respond(&r, &rep, der, (size_t)len) == CA_OK);
	CU_ASSERT(check_answer(&rep, &reason) == V_OCSP_CERTSTATUS_GOOD);
	CU_ASSERT(rep.cacheable && rep.etag[0] == '"');
	CU_ASSERT(rep.next_update - rep.this_update == 3600);
	ocsp_reply_clear(&rep);
	OPENSSL_free(der);

	der = make_req(&len, 0x11, EVP_sha256(), ca_cert);
	CU_ASSERT_FATAL(ocsp_respond(&r, &rep, der, (size_t)len) == CA_OK);
	CU_ASSERT(check_answer(&rep, &reason) == V_OCSP_CERTSTATUS_REVOKED);
	CU_ASSERT(reason == OCSP_REVOKED_STATUS_KEYCOMPROMISE);
	ocsp_reply_clear(&rep);
	OPENSSL_free(der);

	der = make_req(&len, 0x12, EVP_sha1(), ca_cert);
	CU_ASSERT_FATAL(ocsp_respond(&r, &rep, der, (size_t)len) == CA_OK);
	CU_ASSERT(check_answer(&rep, &reason) == V_OCSP_CERTSTATUS_REVOKED);
	CU_ASSERT(reason == OCSP_REVOKED_STATUS_CERTIFICATEHOLD);
	ocsp_reply_clear(&rep);
	r.unissued = OCSP_UNISSUED_UNKNOWN;
	CU_ASSERT_FATAL(ocsp_respond(&r, &rep, der, (size_t)len) == CA_OK);
	CU_ASSERT(check_answer(&rep, &reason) == V_OCSP_CERTSTATUS_UNKNOWN);
	ocsp_reply_clear(&rep);
	OPENSSL_free(der);

	der = make_req(&len, 0x13, EVP_sha1(), ca_cert);
	CU_ASSERT_FATAL(ocsp_respond(&r, &rep, der, (size_t)len) == CA_OK);
	CU_ASSERT(check_answer(&rep, &reason) == V_OCSP_CERTSTATUS_UNKNOWN);
	ocsp_reply_clear(&rep);
	OPENSSL_free(der);
}

static void
expect_error(struct ocsp_responder *r, const uint8_t *der, size_t len,
    int status)
{
	struct ocsp_reply rep;
	const unsigned char *p;
	OCSP_RESPONSE *or;

	CU_ASSERT_FATAL(ocsp_respond(r, &rep, der, len) == CA_OK);
	p = rep.der;
	or = d2i_OCSP_RESPONSE(NULL, &p, (long)rep.len);
	CU_ASSERT_FATAL(or != NULL);
	CU_ASSERT(OCSP_response_status(or) == status);
	CU_ASSERT(rep.status == status && !rep.cacheable);
	OCSP_RESPONSE_free(or);
	ocsp_reply_clear(&rep);
}

static void
test_respond_errors(void)
{
	struct ocsp_responder r;
	unsigned char *der, *big;
	EVP_PKEY *other_key = EVP_EC_gen("P-256");
	X509 *other = X509_new();
	int len;

	responder_init(&r, NULL);
	expect_error(&r, (const uint8_t *)"", 0,
	    OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
	expect_error(&r, (const uint8_t *)"\x30\x03\x02\x01", 4,
	    OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
	der = make_req(&len, 0x10, EVP_sha1(), ca_cert);
	big = malloc((size_t)len + 1);
	memcpy(big, der, (size_t)len);
	big[len] = 0;
	expect_error(&r, big, (size_t)len + 1,
	    OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
	free(big);
	r.max_request = len - 1;
	expect_error(&r, der, (size_t)len,
	    OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
	r.max_request = OCSP_MAX_REQUEST_DEF;
	r.max_live = 0;
	expect_error(&r, der, (size_t)len, OCSP_RESPONSE_STATUS_TRYLATER);
	r.max_live = 4;
	OPENSSL_free(der);

	/* another CA with the same name: the key hash does not match */
	X509_set_subject_name(other, X509_get_subject_name(ca_cert));
	X509_set_pubkey(other, other_key);
	der = make_req(&len, 0x10, EVP_sha1(), other);
	expect_error(&r, der, (size_t)len, OCSP_RESPONSE_STATUS_UNAUTHORIZED);
	OPENSSL_free(der);
	der = make_req(&len, 0x10, EVP_sha384(), ca_cert);
	expect_error(&r, der, (size_t)len, OCSP_RESPONSE_STATUS_UNAUTHORIZED);
	OPENSSL_free(der);
	X509_free(other);
	EVP_PKEY_free(other_key);
}

static void
test_cache(void)
{
	struct ocsp_responder r;
	struct ocsp_cache *c;
	struct ocsp_reply rep;
	struct ocsp_stale *v;
	uint8_t s[1][ISSUANCE_LOG_SERIAL_LEN];
	unsigned char *der;
	size_t n, all, unk;
	int len, reason, calls;

	CU_ASSERT_FATAL(ocsp_cache_new(&c, 2) == CA_OK);
	responder_init(&r, c);
	der = make_req(&len, 0x10, EVP_sha1(), ca_cert);
	status_calls = 0;
	CU_ASSERT_FATAL(ocsp_respond(&r, &rep, der, (size_t)len) == CA_OK);
	ocsp_reply_clear(&rep);
	CU_ASSERT_FATAL(ocsp_respond(&r, &rep, der, (size_t)len) == CA_OK);
	CU_ASSERT(check_answer(&rep, &reason) == V_OCSP_CERTSTATUS_GOOD);
	ocsp_reply_clear(&rep);
	CU_ASSERT(status_calls == 1);		/* the second was a hit */

	/* the entry is found by serial and re-signed by refresh */
	memset(s[0], 0x41, sizeof(s[0]));
	s[0][15] = 0x10;
	CU_ASSERT(ocsp_cache_collect(c, &v, &n,
	    (const uint8_t (*)[ISSUANCE_LOG_SERIAL_LEN])s, 1, 0) == CA_OK);
	CU_ASSERT_FATAL(n == 1);
	calls = status_calls;
	CU_ASSERT(ocsp_respond_refresh(&r, v[0].key, v[0].key_len,
	    v[0].issuer) == CA_OK);
	CU_ASSERT(status_calls == calls + 1);
	ocsp_stale_free(v, n);
	CU_ASSERT(ocsp_cache_collect(c, &v, &n, NULL, 0, time(NULL) + 10) ==
	    CA_OK);
	CU_ASSERT(n == 1);
	ocsp_stale_free(v, n);
	CU_ASSERT(ocsp_cache_collect(c, &v, &n, NULL, 0, time(NULL) - 10) ==
	    CA_OK);
	CU_ASSERT(n == 0);
	ocsp_stale_free(v, n);
	OPENSSL_free(der);

	/* unknown answers: capped at 2, dropped by a bump */
	der = make_req(&len, 0x20, EVP_sha1(), ca_cert);
	CU_ASSERT(ocsp_respond(&r, &rep, der, (size_t)len) == CA_OK);
	ocsp_reply_clear(&rep);
	OPENSSL_free(der);
	der = make_req(&len, 0x21, EVP_sha1(), ca_cert);
	CU_ASSERT(ocsp_respond(&r, &rep, der, (size_t)len) == CA_OK);
	ocsp_reply_clear(&rep);
	OPENSSL_free(der);
	ocsp_cache_count(c, &all, &unk);
	CU_ASSERT(all == 3 && unk == 2);
	der = make_req(&len, 0x22, EVP_sha1(), ca_cert);
	CU_ASSERT(ocsp_respond(&r, &rep, der, (size_t)len) == CA_OK);
	ocsp_reply_clear(&rep);
	OPENSSL_free(der);
	ocsp_cache_count(c, &all, &unk);
	CU_ASSERT(unk == 1 && all == 2);
	(void)ocsp_cache_bump(c);
	ocsp_cache_count(c, &all, &unk);
	CU_ASSERT(unk == 0 && all == 1);

	/* a response signed before a bump is not stored */
	{
		struct ocsp_entry *e = calloc(1, sizeof(*e));
		uint64_t g = ocsp_cache_gen(c);

		e->key = malloc(1);
		e->key[0] = 'k';
		e->key_len = 1;
		e->state = OCSP_STATE_GOOD;
		(void)ocsp_cache_bump(c);
		CU_ASSERT(ocsp_cache_put(c, e, g) == 0);
		ocsp_cache_count(c, &all, &unk);
		CU_ASSERT(all == 1);
	}
	ocsp_cache_free(c);
}

/* der_wrap: tag, a one-octet length (content under 128) and content. */
static size_t
der_wrap(uint8_t *out, uint8_t tag, const uint8_t *c, size_t clen)
{
	CU_ASSERT_FATAL(clen < 128);
	memmove(out + 2, c, clen);
	out[0] = tag;
	out[1] = (uint8_t)clen;
	return clen + 2;
}

/*
 * make_req_params: a SHA-1 OCSPRequest for serial ...00 last under the CA,
 * encoded by hand so that the hashAlgorithm parameters are params (plen
 * octets of DER, none: absent).
 */
static size_t
make_req_params(uint8_t out[256], uint8_t last, const uint8_t *params,
    size_t plen)
{
	static const uint8_t oid_sha1[] = { 0x06, 0x05, 0x2b, 0x0e, 0x03,
	    0x02, 0x1a };
	uint8_t buf[256], tmp[256], s[ISSUANCE_LOG_SERIAL_LEN];
	ASN1_OCTET_STRING *nh = NULL, *kh = NULL;
	ASN1_INTEGER *ai = ASN1_INTEGER_new();
	OCSP_CERTID *id;
	size_t n = 0, m;

	memset(s, 0x41, sizeof(s));
	s[15] = last;
	ASN1_STRING_set(ai, s, sizeof(s));
	id = OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(ca_cert),
	    X509_get0_pubkey_bitstr(ca_cert), ai);
	CU_ASSERT_FATAL(id != NULL);
	CU_ASSERT_FATAL(OCSP_id_get0_info(&nh, NULL, &kh, NULL, id) == 1);
	/* AlgorithmIdentifier */
	memcpy(tmp, oid_sha1, sizeof(oid_sha1));
	if (plen > 0)
		memcpy(tmp + sizeof(oid_sha1), params, plen);
	n = der_wrap(buf, 0x30, tmp, sizeof(oid_sha1) + plen);
	n += der_wrap(buf + n, 0x04, nh->data, (size_t)nh->length);
	n += der_wrap(buf + n, 0x04, kh->data, (size_t)kh->length);
	n += der_wrap(buf + n, 0x02, s, sizeof(s));	/* 0x41..: positive */
	/* CertID, Request, requestList, TBSRequest, OCSPRequest */
	for (m = 0; m < 5; m++) {
		memcpy(tmp, buf, n);
		n = der_wrap(buf, 0x30, tmp, n);
	}
	memcpy(out, buf, n);
	OCSP_CERTID_free(id);
	ASN1_INTEGER_free(ai);
	return n;
}

/*
 * One certificate asked with the hash parameters absent and NULL is one
 * cache entry and one signature; other parameters are malformedRequest.
 */
static void
test_certid_params(void)
{
	static const uint8_t p_null[] = { 0x05, 0x00 };
	static const uint8_t p_octets[] = { 0x04, 0x04, 0xde, 0xad, 0xbe,
	    0xef };
	static const uint8_t p_int[] = { 0x02, 0x01, 0x00 };
	struct ocsp_responder r;
	struct ocsp_cache *c;
	struct ocsp_reply a, b;
	uint8_t der[256];
	size_t len, all, unk;
	int reason, i;

	CU_ASSERT_FATAL(ocsp_cache_new(&c, 16) == CA_OK);
	responder_init(&r, c);
	status_calls = 0;
	len = make_req_params(der, 0x10, NULL, 0);
	CU_ASSERT_FATAL(ocsp_respond(&r, &a, der, len) == CA_OK);
	CU_ASSERT(check_answer(&a, &reason) == V_OCSP_CERTSTATUS_GOOD);
	len = make_req_params(der, 0x10, p_null, sizeof(p_null));
	CU_ASSERT_FATAL(ocsp_respond(&r, &b, der, len) == CA_OK);
	CU_ASSERT(check_answer(&b, &reason) == V_OCSP_CERTSTATUS_GOOD);
	CU_ASSERT(a.len == b.len && memcmp(a.der, b.der, a.len) == 0);
	CU_ASSERT(status_calls == 1);
	ocsp_cache_count(c, &all, &unk);
	CU_ASSERT(all == 1 && unk == 0);
	ocsp_reply_clear(&a);
	ocsp_reply_clear(&b);

	/* the response's CertID matches what OpenSSL's own request names */
	{
		unsigned char *d2;
		int l2;

		d2 = make_req(&l2, 0x10, EVP_sha1(), ca_cert);
		CU_ASSERT_FATAL(ocsp_respond(&r, &a, d2, (size_t)l2) ==
		    CA_OK);
		CU_ASSERT(check_answer(&a, &reason) ==
		    V_OCSP_CERTSTATUS_GOOD);
		CU_ASSERT(status_calls == 1);
		ocsp_reply_clear(&a);
		OPENSSL_free(d2);
	}

	/* anything else: malformed, however often it is varied */
	for (i = 0; i < 3; i++) {
		uint8_t po[sizeof(p_octets)];

		memcpy(po, p_octets, sizeof(po));
		po[2] = (uint8_t)i;
		len = make_req_params(der, 0x10, po, sizeof(po));
		expect_error(&r, der, len,
		    OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
	}
	len = make_req_params(der, 0x10, p_int, sizeof(p_int));
	expect_error(&r, der, len, OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
	CU_ASSERT(status_calls == 1);
	ocsp_cache_count(c, &all, &unk);
	CU_ASSERT(all == 1);
	ocsp_cache_free(c);
}

/* The watcher test's status: what w_state says, or a failure. */
static enum ocsp_state w_state;
static int w_fail;

static int
watch_status(struct ocsp_status *out, const struct ocsp_issuer *i,
    const uint8_t *serial, size_t len, void *arg)
{
	(void)i;
	(void)serial;
	(void)len;
	(void)arg;
	memset(out, 0, sizeof(*out));
	if (w_fail)
		return ca_error(CA_ERR_DB, "injected failure");
	out->state = w_state;
	out->revoked_at = 1700000000;
	out->reason = 1;
	return CA_OK;
}

/* ask: the cert status the responder gives for serial s (SHA-1). */
static int
ask(struct ocsp_responder *r, const uint8_t s[ISSUANCE_LOG_SERIAL_LEN])
{
	ASN1_INTEGER *ai = ASN1_INTEGER_new();
	OCSP_REQUEST *req = OCSP_REQUEST_new();
	struct ocsp_reply rep;
	unsigned char *der = NULL;
	int len, reason, st;

	ASN1_STRING_set(ai, s, ISSUANCE_LOG_SERIAL_LEN);
	OCSP_request_add0_id(req, OCSP_cert_id_new(EVP_sha1(),
	    X509_get_subject_name(ca_cert), X509_get0_pubkey_bitstr(ca_cert),
	    ai));
	len = i2d_OCSP_REQUEST(req, &der);
	CU_ASSERT_FATAL(len > 0);
	CU_ASSERT_FATAL(ocsp_respond(r, &rep, der, (size_t)len) == CA_OK);
	st = check_answer(&rep, &reason);
	ocsp_reply_clear(&rep);
	OPENSSL_free(der);
	OCSP_REQUEST_free(req);
	ASN1_INTEGER_free(ai);
	return st;
}

/*
 * ask_fails: 1 when the responder's answer for serial s (SHA-1) is a
 * well-formed OCSPResponse without a responseBytes (an error status,
 * never a signed answer from the cache).
 */
static int
ask_fails(struct ocsp_responder *r, const uint8_t s[ISSUANCE_LOG_SERIAL_LEN])
{
	ASN1_INTEGER *ai = ASN1_INTEGER_new();
	OCSP_REQUEST *req = OCSP_REQUEST_new();
	OCSP_RESPONSE *or = NULL;
	struct ocsp_reply rep;
	unsigned char *der = NULL;
	const unsigned char *p;
	int len, st, ok = 0;

	ASN1_STRING_set(ai, s, ISSUANCE_LOG_SERIAL_LEN);
	OCSP_request_add0_id(req, OCSP_cert_id_new(EVP_sha1(),
	    X509_get_subject_name(ca_cert), X509_get0_pubkey_bitstr(ca_cert),
	    ai));
	len = i2d_OCSP_REQUEST(req, &der);
	CU_ASSERT_FATAL(len > 0);
	CU_ASSERT_FATAL(ocsp_respond(r, &rep, der, (size_t)len) == CA_OK);
	p = rep.der;
	if ((or = d2i_OCSP_RESPONSE(NULL, &p, (long)rep.len)) != NULL &&
	    p == rep.der + rep.len) {
		st = OCSP_response_status(or);
		ok = st == rep.status && !rep.cacheable &&
		    (st == OCSP_RESPONSE_STATUS_TRYLATER ||
		    st == OCSP_RESPONSE_STATUS_INTERNALERROR) &&
		    OCSP_response_get1_basic(or) == NULL;
	}
	OCSP_RESPONSE_free(or);
	ocsp_reply_clear(&rep);
	OPENSSL_free(der);
	OCSP_REQUEST_free(req);
	ASN1_INTEGER_free(ai);
	return ok;
}

/*
 * A poll that fails while re-signing keeps its place in the log: the next
 * poll re-signs, and a revoked certificate is not left "good" in the
 * cache until the periodic refresh. Until the re-sign succeeds, the old
 * response is not served: requests take the uncached path and get an
 * error response while signing fails.
 */
static void
test_watch_retry(void)
{
	char dir[] = "/tmp/test_ocsp.XXXXXX", path[256], aux[300];
	struct issuance_log *log = NULL;
	struct issuance_cert cin;
	struct issuance_completion req;
	struct ocsp_watch *w = NULL;
	struct ocsp_responder r;
	struct ocsp_cache *c;
	uint8_t serial[ISSUANCE_LOG_SERIAL_LEN], keyid[20];
	unsigned int kl = sizeof(keyid);
	const ASN1_BIT_STRING *bits = X509_get0_pubkey_bitstr(ca_cert);
	ASN1_INTEGER *ai = ASN1_INTEGER_new();
	X509 *leaf = X509_new();
	EVP_PKEY *pub;
	unsigned char *der = NULL, *pp;
	const unsigned char *p;
	int len, plen;

	CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/log.db", dir);
	CU_ASSERT_FATAL(EVP_Digest(bits->data, (size_t)bits->length, keyid,
	    &kl, EVP_sha1(), NULL) == 1);
	CU_ASSERT_FATAL(issuance_log_create(path, (gid_t)-1) == CA_OK);
	CU_ASSERT_FATAL(issuance_log_open(&log, path) == CA_OK);
	CU_ASSERT_FATAL(issuance_log_reserve(log, serial, keyid,
	    sizeof(keyid)) == CA_OK);

	/* a leaf with that serial, signed by the test CA */
	ASN1_STRING_set(ai, serial, sizeof(serial));
	X509_set_serialNumber(leaf, ai);
	X509_set_version(leaf, 2);
	X509_set_issuer_name(leaf, X509_get_subject_name(ca_cert));
	X509_set_subject_name(leaf, X509_get_subject_name(ca_cert));
	X509_gmtime_adj(X509_getm_notBefore(leaf), -60);
	X509_gmtime_adj(X509_getm_notAfter(leaf), 3600);
	X509_set_pubkey(leaf, ca_key);
	CU_ASSERT_FATAL(X509_sign(leaf, ca_key, EVP_sha256()) > 0);
	CU_ASSERT_FATAL((len = i2d_X509(leaf, &der)) > 0);
	memset(&cin, 0, sizeof(cin));
	memcpy(cin.serial, serial, sizeof(serial));
	cin.subject = "CN=test ocsp leaf";
	cin.names = "DNS:leaf.example.internal";
	cin.der = der;
	cin.der_len = (size_t)len;
	cin.requester = "test_ocsp";
	cin.attestation = "join-token";
	memset(&req, 0, sizeof(req));
	req.cert = &cin;
	CU_ASSERT_FATAL(issuance_log_complete(log, &req) == CA_OK);

	CU_ASSERT_FATAL(ocsp_watch_open(&w, path, OCSP_UNISSUED_REVOKED) ==
	    CA_OK);
	CU_ASSERT_FATAL(ocsp_cache_new(&c, 16) == CA_OK);
	responder_init(&r, c);
	r.status_fn = watch_status;
	w_fail = 0;
	w_state = OCSP_STATE_GOOD;
	CU_ASSERT(ocsp_watch_poll(w, &r) == CA_OK);	/* nothing new */
	CU_ASSERT(ask(&r, serial) == V_OCSP_CERTSTATUS_GOOD);

	/*
	 * revoked; the signer fails (a public-only key stands in for a lost
	 * HSM): the cached "good" must not be served, and a live answer
	 * fails to sign too, so the reply is a bare error response
	 */
	CU_ASSERT_FATAL(issuance_log_revoke(log, serial, 1) == CA_OK);
	w_state = OCSP_STATE_REVOKED;
	/* (X509_get_pubkey would hand back ca_key itself, private half too) */
	pp = NULL;
	CU_ASSERT_FATAL((plen = i2d_PUBKEY(ca_key, &pp)) > 0);
	p = pp;
	pub = d2i_PUBKEY(NULL, &p, plen);
	OPENSSL_free(pp);
	CU_ASSERT_FATAL(pub != NULL);
	iss->soft_key = pub;
	CU_ASSERT(ocsp_watch_poll(w, &r) != CA_OK);
	CU_ASSERT(ask_fails(&r, serial));
	CU_ASSERT(ask_fails(&r, serial));	/* still not cached */
	iss->soft_key = ca_key;
	EVP_PKEY_free(pub);

	/* the re-sign after it fails once more, the status lookup this time */
	w_fail = 1;
	CU_ASSERT(ocsp_watch_poll(w, &r) != CA_OK);
	CU_ASSERT(ask_fails(&r, serial));
	w_fail = 0;
	CU_ASSERT(ocsp_watch_poll(w, &r) == CA_OK);
	/* served from the cache: no lookup would fix a stale entry */
	w_fail = 1;
	CU_ASSERT(ask(&r, serial) == V_OCSP_CERTSTATUS_REVOKED);
	w_fail = 0;
	CU_ASSERT(ocsp_watch_poll(w, &r) == CA_OK);	/* caught up */

	ocsp_watch_free(w);
	ocsp_cache_free(c);
	issuance_log_close(log);
	OPENSSL_free(der);
	X509_free(leaf);
	ASN1_INTEGER_free(ai);
	unlink(path);
	snprintf(aux, sizeof(aux), "%s-wal", path);
	unlink(aux);
	snprintf(aux, sizeof(aux), "%s-shm", path);
	unlink(aux);
	snprintf(aux, sizeof(aux), "%s" ISSUANCE_LOG_HEAD_SUFFIX, path);
	unlink(aux);
	rmdir(dir);
}

static void
write_file(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");

	CU_ASSERT_FATAL(f != NULL);
	fputs(s, f);
	fclose(f);
}

static void
test_config(void)
{
	char dir[] = "/tmp/test_ocsp.XXXXXX", path[256];
	struct ocsp_config c;

	CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/ocsp.cnf", dir);
	write_file(path, "[ocsp]\nlisten = http://127.0.0.1:9\n"
	    "path = /ocsp\nlog = log.db\nmodule = /m.so\n"
	    "issuers = a b\nvalidity = 600\nunissued = unknown\n"
	    "[a]\ncert = a.pem\nkey = pkcs11:token=t;object=a\n"
	    "[b]\ncert = /b.pem\nkey = pkcs11:token=t;object=b\n"
	    "pin_source = env:PIN\nresponder_cert = r.pem\n");
	CU_ASSERT_FATAL(ocsp_config_load(&c, path) == CA_OK);
	CU_ASSERT(c.nissuers == 2);
	CU_ASSERT(c.validity == 600 && c.refresh == 150);
	CU_ASSERT(c.unissued == OCSP_UNISSUED_UNKNOWN);
	CU_ASSERT(strcmp(c.path, "/ocsp") == 0);
	CU_ASSERT(strncmp(c.log_path, dir, strlen(dir)) == 0);
	CU_ASSERT(strcmp(c.issuer[1].cert, "/b.pem") == 0);
	CU_ASSERT(c.issuer[1].responder_cert != NULL);
	CU_ASSERT(c.issuer[0].pin_source == NULL);
	ocsp_config_clear(&c);

	write_file(path, "[ocsp]\nlog = l\nmodule = m\nissuers = a\n"
	    "valdity = 5\n[a]\ncert = a\nkey = pkcs11:object=a\n");
	CU_ASSERT(ocsp_config_load(&c, path) == CA_ERR_CONFIG);
	CU_ASSERT(strstr(ca_error_detail(), "validity") != NULL);
	write_file(path, "[ocsp]\nlog = l\nmodule = m\nissuers = a\n"
	    "unissued = good\n[a]\ncert = a\nkey = pkcs11:object=a\n");
	CU_ASSERT(ocsp_config_load(&c, path) == CA_ERR_CONFIG);
	write_file(path, "[ocsp]\nlog = l\nmodule = m\nissuers = a\n"
	    "[a]\ncert = a\nkey = /tmp/key.pem\n");
	CU_ASSERT(ocsp_config_load(&c, path) == CA_ERR_CONFIG);
	write_file(path, "[ocsp]\nlog = l\nmodule = m\nissuers = nosuch\n");
	CU_ASSERT(ocsp_config_load(&c, path) == CA_ERR_CONFIG);
	unlink(path);
	rmdir(dir);
}

static CU_TestInfo tests[] = {
	{ "GET form decoding", test_get_decode },
	{ "good, revoked, unissued, unknown", test_respond_states },
	{ "malformed, unauthorized, tryLater", test_respond_errors },
	{ "cache, refresh and generations", test_cache },
	{ "CertID hash parameters", test_certid_params },
	{ "watcher retries a failed poll, never serves the stale answer",
	    test_watch_retry },
	{ "configuration", test_config },
	CU_TEST_INFO_NULL,
};

UNIT_MAIN_FIXTURE("ocsp", setup, teardown, tests)
