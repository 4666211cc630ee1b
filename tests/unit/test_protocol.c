/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for protocol/protocol*.c: every message round-trips through
 * DER; trailing bytes, BER, other versions, oversize messages, too many
 * names or chain certificates and unknown CHOICE alternatives are refused
 * with the right status; the attestation signed data is deterministic and
 * domain separated, and tampering breaks the signatures.
 *
 * The same message builders write the fuzz seed corpus: run
 *   PROTOCOL_WRITE_CORPUS=tests/fuzz/corpus/protocol tests/unit/test_protocol
 * Files named req-* must decode as a Request, resp-* as a Response, and
 * bad-* as neither; the "corpus" test checks the committed files do.
 */
#include "config.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "common/ca_error.h"
#include "protocol/protocol.h"
#include "tests/unit/unit.h"

#define T0	1700000000	/* 2023-11-14T22:13:20Z */

static const uint8_t fake_csr[] = "fake PKCS#10 DER: the protocol does not "
    "parse it";
static const uint8_t secret[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
static const uint8_t nonce[PROTOCOL_NONCE_LEN] = { 0xaa, 0xbb, 0xcc };
/* Stands for marshalled TPM structures: the protocol does not parse them. */
static const uint8_t tpm_blob[PROTOCOL_MAX_TPM_BLOB + 1] = { 0x00, 0x58, 0x23 };
static const uint8_t serial[16] = { 0x5e, 0x12, 0x34, 0x56, 0x78, 0x9a,
    0xbc, 0xde, 0xf0, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07 };

static void
set_str(ASN1_STRING *s, const char *v)
{
	CU_ASSERT_FATAL(ASN1_STRING_set(s, v, -1) == 1);
}

static ASN1_UTF8STRING *
new_str(const char *v)
{
	ASN1_UTF8STRING *s = ASN1_UTF8STRING_new();

	CU_ASSERT_FATAL(s != NULL);
	set_str(s, v);
	return s;
}

static void
push_str(STACK_OF(ASN1_UTF8STRING) *sk, const char *v)
{
	CU_ASSERT_FATAL(sk_ASN1_UTF8STRING_push(sk, new_str(v)) > 0);
}

static void
push_octets(STACK_OF(ASN1_OCTET_STRING) *sk, const char *v)
{
	CU_ASSERT_FATAL(sk_ASN1_OCTET_STRING_push(sk, new_str(v)) > 0);
}

static void
set_serial(ASN1_INTEGER *i)
{
	BIGNUM *bn = BN_bin2bn(serial, sizeof(serial), NULL);

	CU_ASSERT_FATAL(bn != NULL && BN_to_ASN1_INTEGER(bn, i) != NULL);
	BN_free(bn);
}

static ASN1_INTEGER *
new_serial(void)
{
	ASN1_INTEGER *i = ASN1_INTEGER_new();

	CU_ASSERT_FATAL(i != NULL);
	set_serial(i);
	return i;
}

static ASN1_INTEGER *
new_int(long v)
{
	ASN1_INTEGER *i = ASN1_INTEGER_new();

	CU_ASSERT_FATAL(i != NULL && ASN1_INTEGER_set(i, v) == 1);
	return i;
}

static ASN1_ENUMERATED *
new_enum(long v)
{
	ASN1_ENUMERATED *e = ASN1_ENUMERATED_new();

	CU_ASSERT_FATAL(e != NULL && ASN1_ENUMERATED_set(e, v) == 1);
	return e;
}

static ASN1_GENERALIZEDTIME *
new_time(time_t t)
{
	ASN1_GENERALIZEDTIME *g = ASN1_GENERALIZEDTIME_set(NULL, t);

	CU_ASSERT_FATAL(g != NULL);
	return g;
}

/* A fixed Ed25519 platform key, so the corpus is reproducible. */
static void
platform_key(uint8_t pk[32], uint8_t sk[64])
{
	uint8_t seed[32];

	memset(seed, 0x42, sizeof(seed));
	CU_ASSERT_FATAL(sodium_init() >= 0);
	CU_ASSERT_FATAL(crypto_sign_seed_keypair(pk, sk, seed) == 0);
}

static PROTO_PLATFORM_DOC *
build_platform_doc(void)
{
	PROTO_PLATFORM_DOC *d = PROTO_PLATFORM_DOC_new();

	CU_ASSERT_FATAL(d != NULL);
	CU_ASSERT_FATAL(ASN1_INTEGER_set(d->version, 1) == 1);
	set_str(d->platform, "example-cloud");
	set_str(d->instance_id, "i-0123456789abcdef");
	set_str(d->account, "123456789012");
	set_str(d->region, "eu-west-3");
	CU_ASSERT_FATAL(ASN1_GENERALIZEDTIME_set(d->issued_at, T0) != NULL);
	d->hostname = new_str("ip-10-0-0-7.example.internal");
	d->audience = new_str("carapace:ca.example.com");
	return d;
}

/* Request number i, for i in 0..REQ_BUILDERS-1; every type appears. */
#define REQ_BUILDERS 16
static PROTO_REQUEST *
build_request(int i)
{
	PROTO_REQUEST *req = NULL;
	PROTO_ATTESTATION *att;
	PROTO_PLATFORM_DOC *doc;
	uint8_t pk[32], sk[64], sig[64], *der = NULL;
	size_t len;

	switch (i) {
	case 0:
		att = protocol_attest_join_token("tok-7f3a", secret,
		    sizeof(secret));
		req = protocol_request_issue(fake_csr, sizeof(fake_csr), att,
		    86400);
		break;
	case 1:
		att = protocol_attest_x509_pop(NULL, nonce, sizeof(nonce),
		    (const uint8_t *)"signature", 9);
		CU_ASSERT_FATAL(att != NULL);
		push_octets(att->value.x509_pop->chain, "leaf cert DER");
		push_octets(att->value.x509_pop->chain, "issuer cert DER");
		req = protocol_request_issue(fake_csr, sizeof(fake_csr), att,
		    0);
		break;
	case 2:
		platform_key(pk, sk);
		doc = build_platform_doc();
		CU_ASSERT_FATAL(protocol_platform_doc_encode(&der, &len, doc)
		    == CA_OK);
		CU_ASSERT_FATAL(protocol_iddoc_sign(sig, sk, der, len)
		    == CA_OK);
		att = protocol_attest_identity_doc(der, len, "platform-2024",
		    sig, sizeof(sig));
		req = protocol_request_issue(fake_csr, sizeof(fake_csr), att,
		    3600);
		OPENSSL_free(der);
		PROTO_PLATFORM_DOC_free(doc);
		break;
	case 3:
		req = protocol_request_new(PROTO_REQ_NONCE);
		break;
	case 4:
		req = protocol_request_new(PROTO_REQ_TOKEN_CREATE);
		CU_ASSERT_FATAL(req != NULL);
		set_str(req->body->value.token_create->identity, "web-7");
		push_str(req->body->value.token_create->names,
		    "DNS:web7.example.com");
		push_str(req->body->value.token_create->names,
		    "IP:192.0.2.7");
		set_str(req->body->value.token_create->profile, "server");
		CU_ASSERT_FATAL(ASN1_INTEGER_set(
		    req->body->value.token_create->ttl, 3600) == 1);
		break;
	case 5:
		req = protocol_request_new(PROTO_REQ_TOKEN_LIST);
		break;
	case 6:
		req = protocol_request_new(PROTO_REQ_TOKEN_REVOKE);
		CU_ASSERT_FATAL(req != NULL);
		set_str(req->body->value.token_revoke->token_id, "tok-7f3a");
		break;
	case 7:
		req = protocol_request_new(PROTO_REQ_REVOKE);
		CU_ASSERT_FATAL(req != NULL);
		set_serial(req->body->value.revoke->serial);
		CU_ASSERT_FATAL(ASN1_ENUMERATED_set(
		    req->body->value.revoke->reason, 1) == 1);
		break;
	case 8:
		req = protocol_request_new(PROTO_REQ_LIST);
		CU_ASSERT_FATAL(req != NULL);
		req->body->value.list->status = new_enum(PROTO_CERT_GOOD);
		req->body->value.list->after = new_serial();
		req->body->value.list->limit = new_int(100);
		break;
	case 9:
		req = protocol_request_new(PROTO_REQ_SHOW);
		CU_ASSERT_FATAL(req != NULL);
		set_serial(req->body->value.show->serial);
		break;
	case 10:
		req = protocol_request_new(PROTO_REQ_LOG_VERIFY);
		break;
	case 11:
		req = protocol_request_new(PROTO_REQ_LIST);
		CU_ASSERT_FATAL(req != NULL);
		req->body->value.list->selector = new_str("token:id:tok-7f3a");
		break;
	case 12:
		req = protocol_request_new(PROTO_REQ_REVOKE_SELECTOR);
		CU_ASSERT_FATAL(req != NULL);
		set_str(req->body->value.revoke_selector->selector,
		    "tpm:ek-sha256:0f1e2d3c");
		CU_ASSERT_FATAL(ASN1_ENUMERATED_set(
		    req->body->value.revoke_selector->reason, 1) == 1);
		break;
	case 13:
		req = protocol_request_challenge_tpm(tpm_blob, 300, tpm_blob,
		    90, tpm_blob + 90, 88);
		break;
	case 14:
		req = protocol_request_challenge_tpm(NULL, 0, tpm_blob, 90,
		    tpm_blob + 90, 88);
		break;
	case 15:
		att = protocol_attest_tpm(tpm_blob, PROTOCOL_SESSION_ID_LEN,
		    secret, sizeof(secret), tpm_blob, 90, tpm_blob + 100, 129,
		    tpm_blob + 250, 72);
		req = protocol_request_issue(fake_csr, sizeof(fake_csr), att,
		    0);
		break;
	}
	CU_ASSERT_FATAL(req != NULL);
	return req;
}

static PROTO_CERT_INFO *
build_cert_info(int full)
{
	PROTO_CERT_INFO *c = PROTO_CERT_INFO_new();

	CU_ASSERT_FATAL(c != NULL);
	set_serial(c->serial);
	set_str(c->subject, "CN=web7.example.com");
	push_str(c->names, "DNS:web7.example.com");
	CU_ASSERT_FATAL(ASN1_GENERALIZEDTIME_set(c->not_before, T0) != NULL);
	CU_ASSERT_FATAL(ASN1_GENERALIZEDTIME_set(c->not_after, T0 + 86400)
	    != NULL);
	CU_ASSERT_FATAL(ASN1_ENUMERATED_set(c->status,
	    full ? PROTO_CERT_REVOKED : PROTO_CERT_GOOD) == 1);
	if (full) {
		c->revoked_at = new_time(T0 + 600);
		c->reason = new_enum(1);
		c->requester = new_str("token tok-7f3a (web-7)");
		c->method = new_enum(PROTO_ATTEST_JOIN_TOKEN);
		c->certificate = new_str("certificate DER");
		c->selectors = sk_ASN1_UTF8STRING_new_null();
		CU_ASSERT_FATAL(c->selectors != NULL);
		push_str(c->selectors, "token:id:tok-7f3a");
		push_str(c->selectors, "token:identity:web-7");
	}
	return c;
}

static PROTO_TOKEN_INFO *
build_token_info(const char *id, int state)
{
	PROTO_TOKEN_INFO *t = PROTO_TOKEN_INFO_new();

	CU_ASSERT_FATAL(t != NULL);
	set_str(t->token_id, id);
	set_str(t->identity, "web-7");
	push_str(t->names, "DNS:web7.example.com");
	set_str(t->profile, "server");
	CU_ASSERT_FATAL(ASN1_GENERALIZEDTIME_set(t->created_at, T0) != NULL);
	CU_ASSERT_FATAL(ASN1_GENERALIZEDTIME_set(t->expires_at, T0 + 3600)
	    != NULL);
	CU_ASSERT_FATAL(ASN1_ENUMERATED_set(t->state, state) == 1);
	return t;
}

/* Response number i, for i in 0..RESP_BUILDERS-1; every type appears. */
#define RESP_BUILDERS 11
static PROTO_RESPONSE *
build_response(int i)
{
	PROTO_RESPONSE *r = NULL;
	PROTO_RESPONSE_BODY *b;

	switch (i) {
	case 0:
		r = protocol_response_error(PROTOCOL_TOKEN_EXPIRED,
		    "token %s expired at 2023-11-14T22:13:20Z; ask the "
		    "operator for a new one", "tok-7f3a");
		break;
	case 1:
		r = protocol_response_new(PROTOCOL_OK, PROTO_RESP_ISSUED,
		    "certificate issued");
		CU_ASSERT_FATAL(r != NULL);
		set_str(r->body->value.issued->certificate, "leaf DER");
		push_octets(r->body->value.issued->chain, "intermediate DER");
		break;
	case 2:
		r = protocol_response_nonce(nonce, sizeof(nonce), T0 + 60);
		break;
	case 3:
		r = protocol_response_new(PROTOCOL_OK,
		    PROTO_RESP_TOKEN_CREATED, "token created");
		CU_ASSERT_FATAL(r != NULL);
		set_str(r->body->value.token_created->token_id, "tok-7f3a");
		CU_ASSERT_FATAL(ASN1_OCTET_STRING_set(
		    r->body->value.token_created->secret, secret,
		    sizeof(secret)) == 1);
		CU_ASSERT_FATAL(ASN1_GENERALIZEDTIME_set(
		    r->body->value.token_created->expires_at, T0 + 3600)
		    != NULL);
		break;
	case 4:
		r = protocol_response_new(PROTOCOL_OK, PROTO_RESP_TOKEN_LIST,
		    "2 tokens");
		CU_ASSERT_FATAL(r != NULL);
		b = r->body;
		CU_ASSERT_FATAL(sk_PROTO_TOKEN_INFO_push(b->value.token_list,
		    build_token_info("tok-1", PROTO_TOKEN_ACTIVE)) > 0);
		CU_ASSERT_FATAL(sk_PROTO_TOKEN_INFO_push(b->value.token_list,
		    build_token_info("tok-2", PROTO_TOKEN_USED)) > 0);
		break;
	case 5:
		r = protocol_response_new(PROTOCOL_OK, PROTO_RESP_CERT_LIST,
		    "%d certificates", 2);
		CU_ASSERT_FATAL(r != NULL);
		b = r->body;
		CU_ASSERT_FATAL(sk_PROTO_CERT_INFO_push(
		    b->value.cert_list->certs, build_cert_info(0)) > 0);
		CU_ASSERT_FATAL(sk_PROTO_CERT_INFO_push(
		    b->value.cert_list->certs, build_cert_info(1)) > 0);
		b->value.cert_list->more = 1;
		break;
	case 6:
		r = protocol_response_new(PROTOCOL_OK, PROTO_RESP_CERT_INFO,
		    "%s", "");
		CU_ASSERT_FATAL(r != NULL);
		PROTO_CERT_INFO_free(r->body->value.cert_info);
		r->body->value.cert_info = build_cert_info(1);
		break;
	case 7:
		r = protocol_response_new(PROTOCOL_OK, PROTO_RESP_LOG_VERIFY,
		    "issuance log broken at entry 17");
		CU_ASSERT_FATAL(r != NULL);
		CU_ASSERT_FATAL(ASN1_INTEGER_set(
		    r->body->value.log_verify->entries, 42) == 1);
		r->body->value.log_verify->first_bad = new_int(17);
		r->body->value.log_verify->head = new_str(
		    "0123456789abcdef0123456789abcdef");
		break;
	case 8:
		r = protocol_response_error(PROTOCOL_HSM_UNAVAILABLE,
		    "the intermediate key's token is not present; retry in "
		    "30 s");
		break;
	case 9:
		r = protocol_response_new(PROTOCOL_OK, PROTO_RESP_REVOKED,
		    "2 certificates revoked");
		CU_ASSERT_FATAL(r != NULL);
		CU_ASSERT_FATAL(ASN1_INTEGER_set(r->body->value.revoked->count,
		    2) == 1);
		CU_ASSERT_FATAL(sk_ASN1_INTEGER_push(
		    r->body->value.revoked->serials, new_serial()) > 0);
		CU_ASSERT_FATAL(sk_ASN1_INTEGER_push(
		    r->body->value.revoked->serials, new_serial()) > 0);
		break;
	case 10:
		r = protocol_response_challenge(tpm_blob,
		    PROTOCOL_SESSION_ID_LEN, 1700000000,
		    protocol_challenge_tpm(tpm_blob, 70, tpm_blob + 70, 258,
		    nonce, sizeof(nonce)));
		break;
	}
	CU_ASSERT_FATAL(r != NULL);
	return r;
}

static void
request_der(int i, uint8_t **der, size_t *len)
{
	PROTO_REQUEST *req = build_request(i);

	CU_ASSERT_FATAL(protocol_request_encode(der, len, req) == CA_OK);
	PROTO_REQUEST_free(req);
}

static void
response_der(int i, uint8_t **der, size_t *len)
{
	PROTO_RESPONSE *r = build_response(i);

	CU_ASSERT_FATAL(protocol_response_encode(der, len, r) == CA_OK);
	PROTO_RESPONSE_free(r);
}

/* Decoding a Request must fail with want_rc and want_status. */
static void
expect_request_refused(const uint8_t *der, size_t len, int want_rc,
    enum protocol_status want_status)
{
	PROTO_REQUEST *req = (PROTO_REQUEST *)1;
	enum protocol_status st = PROTOCOL_OK;
	int rc;

	rc = protocol_request_decode(&req, &st, der, len);
	CU_ASSERT_EQUAL(rc, want_rc);
	CU_ASSERT_EQUAL(st, want_status);
	CU_ASSERT_PTR_NULL(req);
	CU_ASSERT(strlen(ca_error_detail()) > 0);
	if (rc == CA_OK)
		PROTO_REQUEST_free(req);
}

static void
test_request_round_trip(void)
{
	PROTO_REQUEST *req;
	enum protocol_status st;
	uint8_t *der, *der2;
	size_t len, len2;
	int i;

	for (i = 0; i < REQ_BUILDERS; i++) {
		request_der(i, &der, &len);
		req = NULL;
		st = PROTOCOL_INTERNAL;
		CU_ASSERT_EQUAL_FATAL(protocol_request_decode(&req, &st, der,
		    len), CA_OK);
		CU_ASSERT_EQUAL(st, PROTOCOL_OK);
		CU_ASSERT_FATAL(protocol_request_encode(&der2, &len2, req)
		    == CA_OK);
		CU_ASSERT_EQUAL(len, len2);
		CU_ASSERT(len == len2 && memcmp(der, der2, len) == 0);
		PROTO_REQUEST_free(req);
		OPENSSL_free(der);
		OPENSSL_free(der2);
	}
}

static void
test_request_fields(void)
{
	PROTO_REQUEST *req = NULL;
	PROTO_ISSUE_REQUEST *is;
	uint8_t *der;
	size_t len;

	request_der(0, &der, &len);
	CU_ASSERT_FATAL(protocol_request_decode(&req, NULL, der, len)
	    == CA_OK);
	CU_ASSERT_EQUAL(req->body->type, PROTO_REQ_ISSUE);
	is = req->body->value.issue;
	CU_ASSERT_EQUAL(ASN1_STRING_length(is->csr), (int)sizeof(fake_csr));
	CU_ASSERT_EQUAL(is->attestation->type, PROTO_ATTEST_JOIN_TOKEN);
	CU_ASSERT(memcmp(ASN1_STRING_get0_data(
	    is->attestation->value.join_token->secret), secret,
	    sizeof(secret)) == 0);
	CU_ASSERT_EQUAL(ASN1_INTEGER_get(is->lifetime), 86400);
	PROTO_REQUEST_free(req);
	OPENSSL_free(der);

	/* Lifetime 0 means "absent". */
	request_der(1, &der, &len);
	CU_ASSERT_FATAL(protocol_request_decode(&req, NULL, der, len)
	    == CA_OK);
	CU_ASSERT_PTR_NULL(req->body->value.issue->lifetime);
	CU_ASSERT_EQUAL(sk_ASN1_OCTET_STRING_num(
	    req->body->value.issue->attestation->value.x509_pop->chain), 2);
	PROTO_REQUEST_free(req);
	OPENSSL_free(der);
}

static void
test_response_round_trip(void)
{
	PROTO_RESPONSE *r;
	enum protocol_status st;
	uint8_t *der, *der2;
	size_t len, len2;
	int i;

	for (i = 0; i < RESP_BUILDERS; i++) {
		response_der(i, &der, &len);
		r = NULL;
		CU_ASSERT_EQUAL_FATAL(protocol_response_decode(&r, &st, der,
		    len), CA_OK);
		CU_ASSERT_FATAL(protocol_response_encode(&der2, &len2, r)
		    == CA_OK);
		CU_ASSERT(len == len2 && memcmp(der, der2, len) == 0);
		PROTO_RESPONSE_free(r);
		OPENSSL_free(der);
		OPENSSL_free(der2);
	}
	/* A body goes with ok only. */
	r = build_response(1);
	CU_ASSERT_FATAL(ASN1_ENUMERATED_set(r->status, PROTOCOL_INTERNAL) == 1);
	CU_ASSERT_EQUAL(protocol_response_encode(&der, &len, r),
	    CA_ERR_INVALID);
	PROTO_RESPONSE_free(r);
	/* Fields survive. */
	response_der(0, &der, &len);
	CU_ASSERT_FATAL(protocol_response_decode(&r, NULL, der, len) == CA_OK);
	CU_ASSERT_EQUAL(protocol_response_status(r), PROTOCOL_TOKEN_EXPIRED);
	CU_ASSERT_PTR_NULL(r->body);
	CU_ASSERT(strncmp((const char *)ASN1_STRING_get0_data(r->message),
	    "token tok-7f3a expired", 22) == 0);
	PROTO_RESPONSE_free(r);
	OPENSSL_free(der);
	response_der(5, &der, &len);
	CU_ASSERT_FATAL(protocol_response_decode(&r, NULL, der, len) == CA_OK);
	CU_ASSERT_EQUAL(r->body->type, PROTO_RESP_CERT_LIST);
	CU_ASSERT_EQUAL(r->body->value.cert_list->more, 1);
	CU_ASSERT_EQUAL(sk_PROTO_CERT_INFO_num(r->body->value.cert_list->certs),
	    2);
	PROTO_RESPONSE_free(r);
	OPENSSL_free(der);
}

static void
test_trailing_bytes(void)
{
	uint8_t *der, *buf;
	size_t len;
	PROTO_RESPONSE *r = NULL;

	request_der(0, &der, &len);
	buf = malloc(len + 1);
	CU_ASSERT_FATAL(buf != NULL);
	memcpy(buf, der, len);
	buf[len] = 0;
	expect_request_refused(buf, len + 1, CA_ERR_INVALID,
	    PROTOCOL_BAD_REQUEST);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "trailing"));
	/* Truncated too. */
	expect_request_refused(buf, len - 1, CA_ERR_INVALID,
	    PROTOCOL_BAD_REQUEST);
	free(buf);
	OPENSSL_free(der);

	response_der(1, &der, &len);
	buf = malloc(len + 2);
	CU_ASSERT_FATAL(buf != NULL);
	memcpy(buf, der, len);
	buf[len] = 0x05;
	buf[len + 1] = 0x00;
	CU_ASSERT_EQUAL(protocol_response_decode(&r, NULL, buf, len + 2),
	    CA_ERR_INVALID);
	CU_ASSERT_PTR_NULL(r);
	free(buf);
	OPENSSL_free(der);
	expect_request_refused((const uint8_t *)"", 0, CA_ERR_INVALID,
	    PROTOCOL_BAD_REQUEST);
}

static void
test_not_der(void)
{
	/* nonce request: SEQUENCE { INTEGER 1, [1] { NULL } } */
	static const uint8_t der[] = { 0x30, 0x07, 0x02, 0x01, 0x01, 0xa1,
	    0x02, 0x05, 0x00 };
	/* The same with a long-form length on the outer SEQUENCE. */
	static const uint8_t ber_len[] = { 0x30, 0x81, 0x07, 0x02, 0x01, 0x01,
	    0xa1, 0x02, 0x05, 0x00 };
	/* The same with an indefinite length. */
	static const uint8_t ber_indef[] = { 0x30, 0x80, 0x02, 0x01, 0x01,
	    0xa1, 0x02, 0x05, 0x00, 0x00, 0x00 };
	PROTO_REQUEST *req = NULL;

	CU_ASSERT_EQUAL(protocol_request_decode(&req, NULL, der, sizeof(der)),
	    CA_OK);
	CU_ASSERT_EQUAL(req->body->type, PROTO_REQ_NONCE);
	PROTO_REQUEST_free(req);
	expect_request_refused(ber_len, sizeof(ber_len), CA_ERR_INVALID,
	    PROTOCOL_BAD_REQUEST);
	expect_request_refused(ber_indef, sizeof(ber_indef), CA_ERR_INVALID,
	    PROTOCOL_BAD_REQUEST);
}

static void
test_version(void)
{
	/* Version 2 with a body we know, and with a body we do not. */
	static const uint8_t v2[] = { 0x30, 0x07, 0x02, 0x01, 0x02, 0xa1,
	    0x02, 0x05, 0x00 };
	static const uint8_t v2_new_body[] = { 0x30, 0x06, 0x02, 0x01, 0x02,
	    0xbf, 0x1f, 0x00 };
	static const uint8_t v0[] = { 0x30, 0x07, 0x02, 0x01, 0x00, 0xa1,
	    0x02, 0x05, 0x00 };
	PROTO_REQUEST *req;
	PROTO_RESPONSE *r = NULL;
	enum protocol_status st;
	uint8_t *der;
	size_t len;

	expect_request_refused(v2, sizeof(v2), CA_ERR_UNSUPPORTED,
	    PROTOCOL_UNSUPPORTED_VERSION);
	expect_request_refused(v2_new_body, sizeof(v2_new_body),
	    CA_ERR_UNSUPPORTED, PROTOCOL_UNSUPPORTED_VERSION);
	expect_request_refused(v0, sizeof(v0), CA_ERR_UNSUPPORTED,
	    PROTOCOL_UNSUPPORTED_VERSION);

	/* Our own encoder refuses to send another version. */
	req = build_request(3);
	CU_ASSERT_FATAL(ASN1_INTEGER_set(req->version, 2) == 1);
	CU_ASSERT_EQUAL(protocol_request_encode(&der, &len, req),
	    CA_ERR_UNSUPPORTED);
	CU_ASSERT_PTR_NULL(der);
	PROTO_REQUEST_free(req);

	/* A response of another version. */
	r = build_response(0);
	CU_ASSERT_FATAL(ASN1_INTEGER_set(r->version, 7) == 1);
	CU_ASSERT_FATAL(i2d_PROTO_RESPONSE(r, NULL) > 0);
	der = NULL;
	len = (size_t)i2d_PROTO_RESPONSE(r, &der);
	PROTO_RESPONSE_free(r);
	r = NULL;
	CU_ASSERT_EQUAL(protocol_response_decode(&r, &st, der, len),
	    CA_ERR_UNSUPPORTED);
	CU_ASSERT_EQUAL(st, PROTOCOL_UNSUPPORTED_VERSION);
	CU_ASSERT_PTR_NULL(r);
	OPENSSL_free(der);
}

static void
test_oversize(void)
{
	PROTO_REQUEST *req;
	uint8_t *big, *der;
	size_t len;

	big = calloc(1, PROTOCOL_MAX_MESSAGE + 1);
	CU_ASSERT_FATAL(big != NULL);
	big[0] = 0x30;
	expect_request_refused(big, PROTOCOL_MAX_MESSAGE + 1, CA_ERR_INVALID,
	    PROTOCOL_TOO_LARGE);
	free(big);

	/* A CSR over its own cap: refused to encode, and when decoding. */
	big = calloc(1, PROTOCOL_MAX_CSR + 1);
	CU_ASSERT_FATAL(big != NULL);
	req = protocol_request_issue(big, PROTOCOL_MAX_CSR + 1,
	    protocol_attest_join_token("t", secret, sizeof(secret)), 0);
	CU_ASSERT_FATAL(req != NULL);
	CU_ASSERT_EQUAL(protocol_request_encode(&der, &len, req),
	    CA_ERR_INVALID);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "Request.issue.csr"));
	der = NULL;
	len = (size_t)i2d_PROTO_REQUEST(req, &der);
	expect_request_refused(der, len, CA_ERR_INVALID, PROTOCOL_BAD_REQUEST);
	OPENSSL_free(der);
	PROTO_REQUEST_free(req);
	free(big);
}

static void
test_too_many(void)
{
	PROTO_REQUEST *req;
	STACK_OF(ASN1_OCTET_STRING) *chain;
	uint8_t *der;
	size_t len;
	int i;

	/* PROTOCOL_MAX_NAMES names are fine, one more is not. */
	req = build_request(4);
	while (sk_ASN1_UTF8STRING_num(req->body->value.token_create->names) <
	    PROTOCOL_MAX_NAMES)
		push_str(req->body->value.token_create->names,
		    "DNS:x.example.com");
	CU_ASSERT_EQUAL(protocol_request_encode(&der, &len, req), CA_OK);
	OPENSSL_free(der);
	push_str(req->body->value.token_create->names, "DNS:y.example.com");
	CU_ASSERT_EQUAL(protocol_request_encode(&der, &len, req),
	    CA_ERR_INVALID);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "names"));
	der = NULL;
	len = (size_t)i2d_PROTO_REQUEST(req, &der);
	expect_request_refused(der, len, CA_ERR_INVALID, PROTOCOL_BAD_REQUEST);
	OPENSSL_free(der);
	/* A name without a type prefix. */
	set_str(sk_ASN1_UTF8STRING_value(req->body->value.token_create->names,
	    0), "web7.example.com");
	CU_ASSERT_EQUAL(protocol_request_encode(&der, &len, req),
	    CA_ERR_INVALID);
	PROTO_REQUEST_free(req);

	/* Chain: PROTOCOL_MAX_CHAIN certificates, then one more. */
	req = build_request(1);
	chain = req->body->value.issue->attestation->value.x509_pop->chain;
	for (i = sk_ASN1_OCTET_STRING_num(chain); i < PROTOCOL_MAX_CHAIN; i++)
		push_octets(chain, "cert");
	CU_ASSERT_EQUAL(protocol_request_encode(&der, &len, req), CA_OK);
	OPENSSL_free(der);
	push_octets(chain, "cert");
	der = NULL;
	len = (size_t)i2d_PROTO_REQUEST(req, &der);
	expect_request_refused(der, len, CA_ERR_INVALID, PROTOCOL_BAD_REQUEST);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "x509pop.chain"));
	OPENSSL_free(der);
	PROTO_REQUEST_free(req);
}

static void
test_bad_values(void)
{
	char big[PROTOCOL_MAX_SELECTOR_LEN + 2];
	PROTO_REQUEST *req;
	PROTO_RESPONSE *resp;
	PROTO_CERT_INFO *ci;
	uint8_t *der;
	size_t len;

	/* Reason 7 is unused in RFC 5280. */
	req = build_request(7);
	CU_ASSERT_FATAL(ASN1_ENUMERATED_set(req->body->value.revoke->reason, 7)
	    == 1);
	CU_ASSERT_EQUAL(protocol_request_encode(&der, &len, req),
	    CA_ERR_INVALID);
	/* Negative serial. */
	CU_ASSERT_FATAL(ASN1_ENUMERATED_set(req->body->value.revoke->reason, 1)
	    == 1);
	CU_ASSERT_FATAL(ASN1_INTEGER_set(req->body->value.revoke->serial, -5)
	    == 1);
	CU_ASSERT_EQUAL(protocol_request_encode(&der, &len, req),
	    CA_ERR_INVALID);
	PROTO_REQUEST_free(req);

	/* CertStatus: abandoned (3) is the last value; 4 is refused. */
	req = build_request(8);
	CU_ASSERT_FATAL(ASN1_ENUMERATED_set(req->body->value.list->status,
	    PROTO_CERT_ABANDONED) == 1);
	CU_ASSERT_EQUAL_FATAL(protocol_request_encode(&der, &len, req), CA_OK);
	OPENSSL_free(der);
	CU_ASSERT_FATAL(ASN1_ENUMERATED_set(req->body->value.list->status, 4)
	    == 1);
	CU_ASSERT_EQUAL(protocol_request_encode(&der, &len, req),
	    CA_ERR_INVALID);
	PROTO_REQUEST_free(req);

	/* Short join token secret; nonce of the wrong size. */
	req = build_request(0);
	CU_ASSERT_FATAL(ASN1_OCTET_STRING_set(req->body->value.issue->
	    attestation->value.join_token->secret, secret, 8) == 1);
	CU_ASSERT_EQUAL(protocol_request_encode(&der, &len, req),
	    CA_ERR_INVALID);
	PROTO_REQUEST_free(req);
	req = build_request(1);
	CU_ASSERT_FATAL(ASN1_OCTET_STRING_set(req->body->value.issue->
	    attestation->value.x509_pop->nonce, nonce, 16) == 1);
	CU_ASSERT_EQUAL(protocol_request_encode(&der, &len, req),
	    CA_ERR_INVALID);
	PROTO_REQUEST_free(req);

	/* Invalid UTF-8 and a NUL inside a token id. */
	req = build_request(6);
	CU_ASSERT_FATAL(ASN1_STRING_set(req->body->value.token_revoke->token_id,
	    "a\xff", 2) == 1);
	CU_ASSERT_EQUAL(protocol_request_encode(&der, &len, req),
	    CA_ERR_INVALID);
	CU_ASSERT_FATAL(ASN1_STRING_set(req->body->value.token_revoke->token_id,
	    "a\0b", 3) == 1);
	CU_ASSERT_EQUAL(protocol_request_encode(&der, &len, req),
	    CA_ERR_INVALID);
	PROTO_REQUEST_free(req);

	/* Identity document that is not a PlatformDocument. */
	req = build_request(2);
	CU_ASSERT_FATAL(ASN1_OCTET_STRING_set(req->body->value.issue->
	    attestation->value.identity_doc->document,
	    (const uint8_t *)"\x30\x00", 2) == 1);
	CU_ASSERT_EQUAL(protocol_request_encode(&der, &len, req),
	    CA_ERR_INVALID);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "identityDoc"));
	PROTO_REQUEST_free(req);

	/* Selectors: reason 7, no colon, too long, a control character. */
	req = build_request(12);
	CU_ASSERT_FATAL(ASN1_ENUMERATED_set(
	    req->body->value.revoke_selector->reason, 7) == 1);
	CU_ASSERT_EQUAL(protocol_request_encode(&der, &len, req),
	    CA_ERR_INVALID);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "revokeSelector"));
	CU_ASSERT_FATAL(ASN1_ENUMERATED_set(
	    req->body->value.revoke_selector->reason, 1) == 1);
	set_str(req->body->value.revoke_selector->selector, "nocolons");
	CU_ASSERT_EQUAL(protocol_request_encode(&der, &len, req),
	    CA_ERR_INVALID);
	set_str(req->body->value.revoke_selector->selector, "token:id:a\tb");
	CU_ASSERT_EQUAL(protocol_request_encode(&der, &len, req),
	    CA_ERR_INVALID);
	PROTO_REQUEST_free(req);
	req = build_request(11);
	memset(big, 'x', sizeof(big) - 1);
	memcpy(big, "token:id:", 9);
	big[sizeof(big) - 1] = '\0';
	set_str(req->body->value.list->selector, big);
	CU_ASSERT_EQUAL(protocol_request_encode(&der, &len, req),
	    CA_ERR_INVALID);
	big[sizeof(big) - 2] = '\0';
	set_str(req->body->value.list->selector, big);
	CU_ASSERT_EQUAL(protocol_request_encode(&der, &len, req), CA_OK);
	OPENSSL_free(der);
	PROTO_REQUEST_free(req);

	/* PROTOCOL_MAX_SELECTORS in a CertInfo are fine, one more is not. */
	resp = build_response(6);
	ci = resp->body->value.cert_info;
	while (sk_ASN1_UTF8STRING_num(ci->selectors) < PROTOCOL_MAX_SELECTORS)
		push_str(ci->selectors, "x509pop:sha256:00");
	CU_ASSERT_EQUAL(protocol_response_encode(&der, &len, resp), CA_OK);
	OPENSSL_free(der);
	push_str(ci->selectors, "x509pop:sha256:01");
	CU_ASSERT_EQUAL(protocol_response_encode(&der, &len, resp),
	    CA_ERR_INVALID);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "selectors"));
	PROTO_RESPONSE_free(resp);

	/* Lifetime over the cap. */
	req = build_request(0);
	CU_ASSERT_FATAL(ASN1_INTEGER_set_int64(req->body->value.issue->lifetime,
	    PROTOCOL_MAX_LIFETIME + 1) == 1);
	CU_ASSERT_EQUAL(protocol_request_encode(&der, &len, req),
	    CA_ERR_INVALID);
	PROTO_REQUEST_free(req);
}

/* The challenge exchange: each size rule, and the fields as sent. */
static void
test_tpm_exchange(void)
{
	PROTO_REQUEST *req;
	PROTO_RESPONSE *resp;
	PROTO_TPM_CHALLENGE_REQ *t;
	PROTO_TPM_ANSWER *a;
	uint8_t *der;
	size_t len;

	req = build_request(14);
	t = req->body->value.challenge->value.tpm;
	CU_ASSERT_EQUAL(req->body->value.challenge->type, PROTO_CHALLENGE_TPM);
	CU_ASSERT_PTR_NULL(t->ek_certificate);
	CU_ASSERT_EQUAL(ASN1_STRING_length(t->ak_public), 88);
	/* An AK public area over the cap. */
	CU_ASSERT_FATAL(ASN1_OCTET_STRING_set(t->ak_public, tpm_blob,
	    PROTOCOL_MAX_TPM_BLOB + 1) == 1);
	CU_ASSERT_EQUAL(protocol_request_encode(&der, &len, req),
	    CA_ERR_INVALID);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(),
	    "Request.challenge.tpm.akPublic"));
	/* An empty EK public area. */
	CU_ASSERT_FATAL(ASN1_OCTET_STRING_set(t->ak_public, tpm_blob, 8) == 1);
	CU_ASSERT_FATAL(ASN1_OCTET_STRING_set(t->ek_public, tpm_blob, 0) == 1);
	CU_ASSERT_EQUAL(protocol_request_encode(&der, &len, req),
	    CA_ERR_INVALID);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "ekPublic"));
	PROTO_REQUEST_free(req);

	/* The answer: a session id of another length, a long secret. */
	req = build_request(15);
	a = req->body->value.issue->attestation->value.tpm;
	CU_ASSERT_FATAL(ASN1_OCTET_STRING_set(a->session_id, tpm_blob,
	    PROTOCOL_SESSION_ID_LEN - 1) == 1);
	CU_ASSERT_EQUAL(protocol_request_encode(&der, &len, req),
	    CA_ERR_INVALID);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "tpm.sessionId"));
	CU_ASSERT_FATAL(ASN1_OCTET_STRING_set(a->session_id, tpm_blob,
	    PROTOCOL_SESSION_ID_LEN) == 1);
	CU_ASSERT_FATAL(ASN1_OCTET_STRING_set(a->secret, tpm_blob,
	    PROTOCOL_TPM_SECRET_LEN + 1) == 1);
	CU_ASSERT_EQUAL(protocol_request_encode(&der, &len, req),
	    CA_ERR_INVALID);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "tpm.secret"));
	PROTO_REQUEST_free(req);

	/* The challenge: a nonce of another length. */
	resp = build_response(10);
	CU_ASSERT_EQUAL(resp->body->value.challenge->challenge->type,
	    PROTO_CHALLENGE_TPM);
	CU_ASSERT_FATAL(ASN1_OCTET_STRING_set(resp->body->value.challenge->
	    challenge->value.tpm->nonce, nonce, 31) == 1);
	CU_ASSERT_EQUAL(protocol_response_encode(&der, &len, resp),
	    CA_ERR_INVALID);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(),
	    "Response.challenge.challenge.tpm.nonce"));
	PROTO_RESPONSE_free(resp);
}

static void
test_bad_choice(void)
{
	/* Request body [10] (unknown), and an attestation [3] (unknown). */
	static const uint8_t body9[] = { 0x30, 0x07, 0x02, 0x01, 0x01, 0xaa,
	    0x02, 0x05, 0x00 };
	static const uint8_t att3[] = { 0x30, 0x12, 0x02, 0x01, 0x01, 0xa0,
	    0x0d, 0x30, 0x0b, 0x04, 0x03, 'c', 's', 'r', 0xa3, 0x04, 0x30,
	    0x02, 0x05, 0x00 };
	/* nonce [1] carrying an INTEGER instead of NULL. */
	static const uint8_t wrong_inner[] = { 0x30, 0x08, 0x02, 0x01, 0x01,
	    0xa1, 0x03, 0x02, 0x01, 0x00 };
	/* Universal SEQUENCE where [1] belongs. */
	static const uint8_t untagged[] = { 0x30, 0x07, 0x02, 0x01, 0x01,
	    0x30, 0x02, 0x05, 0x00 };
	PROTO_RESPONSE *r = NULL;

	expect_request_refused(body9, sizeof(body9), CA_ERR_INVALID,
	    PROTOCOL_BAD_REQUEST);
	expect_request_refused(att3, sizeof(att3), CA_ERR_INVALID,
	    PROTOCOL_BAD_REQUEST);
	expect_request_refused(wrong_inner, sizeof(wrong_inner),
	    CA_ERR_INVALID, PROTOCOL_BAD_REQUEST);
	expect_request_refused(untagged, sizeof(untagged), CA_ERR_INVALID,
	    PROTOCOL_BAD_REQUEST);
	/* A Request is not a Response. */
	CU_ASSERT_EQUAL(protocol_response_decode(&r, NULL, body9,
	    sizeof(body9)), CA_ERR_INVALID);
	CU_ASSERT_PTR_NULL(r);
}

static void
test_pop_tbs(void)
{
	uint8_t a[PROTOCOL_POP_TBS_LEN], b[PROTOCOL_POP_TBS_LEN];
	uint8_t n2[PROTOCOL_NONCE_LEN], h[32];
	unsigned int hl;

	CU_ASSERT_EQUAL(PROTOCOL_POP_TBS_LEN, 20 + 32 + 32);
	CU_ASSERT_EQUAL(protocol_pop_tbs(a, nonce, sizeof(nonce), fake_csr,
	    sizeof(fake_csr)), CA_OK);
	CU_ASSERT_EQUAL(protocol_pop_tbs(b, nonce, sizeof(nonce), fake_csr,
	    sizeof(fake_csr)), CA_OK);
	CU_ASSERT(memcmp(a, b, sizeof(a)) == 0);
	/* Exactly prefix, NUL, nonce, SHA-256(csr), checked independently. */
	CU_ASSERT(memcmp(a, "carapace x509pop v1", 19) == 0);
	CU_ASSERT_EQUAL(a[19], 0);
	CU_ASSERT(memcmp(a + 20, nonce, sizeof(nonce)) == 0);
	CU_ASSERT_FATAL(EVP_Digest(fake_csr, sizeof(fake_csr), h, &hl,
	    EVP_sha256(), NULL) == 1);
	CU_ASSERT(memcmp(a + 52, h, 32) == 0);
	/* Different nonce or CSR: different bytes. */
	memcpy(n2, nonce, sizeof(n2));
	n2[31] ^= 1;
	CU_ASSERT_EQUAL(protocol_pop_tbs(b, n2, sizeof(n2), fake_csr,
	    sizeof(fake_csr)), CA_OK);
	CU_ASSERT(memcmp(a, b, sizeof(a)) != 0);
	CU_ASSERT_EQUAL(protocol_pop_tbs(b, nonce, sizeof(nonce), fake_csr,
	    sizeof(fake_csr) - 1), CA_OK);
	CU_ASSERT(memcmp(a, b, sizeof(a)) != 0);
	/* The two prefixes differ, so the two signed data never collide. */
	CU_ASSERT(strcmp(PROTOCOL_POP_PREFIX, PROTOCOL_IDDOC_PREFIX) != 0);
	CU_ASSERT_EQUAL(protocol_pop_tbs(b, nonce, 16, fake_csr,
	    sizeof(fake_csr)), CA_ERR_INVALID);
}

static X509 *
self_signed(EVP_PKEY *key)
{
	X509 *x = X509_new();

	CU_ASSERT_FATAL(x != NULL);
	CU_ASSERT_FATAL(X509_set_version(x, 2) == 1);
	CU_ASSERT_FATAL(ASN1_INTEGER_set(X509_get_serialNumber(x), 1) == 1);
	CU_ASSERT_FATAL(X509_NAME_add_entry_by_txt(X509_get_subject_name(x),
	    "CN", MBSTRING_ASC, (const unsigned char *)"dev", -1, -1, 0) == 1);
	CU_ASSERT_FATAL(X509_set_issuer_name(x, X509_get_subject_name(x))
	    == 1);
	CU_ASSERT_FATAL(X509_gmtime_adj(X509_getm_notBefore(x), 0) != NULL);
	CU_ASSERT_FATAL(X509_gmtime_adj(X509_getm_notAfter(x), 3600) != NULL);
	CU_ASSERT_FATAL(X509_set_pubkey(x, key) == 1);
	CU_ASSERT_FATAL(X509_sign(x, key, EVP_PKEY_get_id(key) ==
	    EVP_PKEY_ED25519 ? NULL : EVP_sha256()) > 0);
	return x;
}

static void
pop_round(EVP_PKEY *key)
{
	X509 *x = self_signed(key);
	uint8_t *sig = NULL, n2[PROTOCOL_NONCE_LEN];
	size_t sig_len = 0;

	CU_ASSERT_FATAL(protocol_pop_sign(&sig, &sig_len, key, nonce,
	    sizeof(nonce), fake_csr, sizeof(fake_csr)) == CA_OK);
	CU_ASSERT_EQUAL(protocol_pop_verify(x, sig, sig_len, nonce,
	    sizeof(nonce), fake_csr, sizeof(fake_csr)), CA_OK);
	/* Another CSR, another nonce, a flipped signature bit: refused. */
	CU_ASSERT_EQUAL(protocol_pop_verify(x, sig, sig_len, nonce,
	    sizeof(nonce), fake_csr, sizeof(fake_csr) - 1), CA_ERR_VERIFY);
	memcpy(n2, nonce, sizeof(n2));
	n2[0] ^= 0x80;
	CU_ASSERT_EQUAL(protocol_pop_verify(x, sig, sig_len, n2, sizeof(n2),
	    fake_csr, sizeof(fake_csr)), CA_ERR_VERIFY);
	sig[sig_len / 2] ^= 1;
	CU_ASSERT_EQUAL(protocol_pop_verify(x, sig, sig_len, nonce,
	    sizeof(nonce), fake_csr, sizeof(fake_csr)), CA_ERR_VERIFY);
	OPENSSL_free(sig);
	X509_free(x);
}

static void
test_pop_sign_verify(void)
{
	EVP_PKEY *key;

	key = EVP_EC_gen("P-256");
	CU_ASSERT_FATAL(key != NULL);
	pop_round(key);
	EVP_PKEY_free(key);
	key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	CU_ASSERT_FATAL(key != NULL);
	pop_round(key);
	EVP_PKEY_free(key);
}

static void
test_iddoc(void)
{
	PROTO_PLATFORM_DOC *doc, *doc2 = NULL;
	uint8_t pk[32], sk[64], sig[64], *der = NULL, *tbs = NULL;
	size_t len, tlen;

	platform_key(pk, sk);
	doc = build_platform_doc();
	CU_ASSERT_FATAL(protocol_platform_doc_encode(&der, &len, doc) == CA_OK);
	CU_ASSERT_FATAL(protocol_platform_doc_decode(&doc2, der, len) == CA_OK);
	CU_ASSERT_STRING_EQUAL((const char *)ASN1_STRING_get0_data(
	    doc2->instance_id), "i-0123456789abcdef");
	CU_ASSERT_FATAL(protocol_iddoc_tbs(&tbs, &tlen, der, len) == CA_OK);
	CU_ASSERT_EQUAL(tlen, sizeof(PROTOCOL_IDDOC_PREFIX) + len);
	CU_ASSERT(memcmp(tbs, "carapace identity-document v1\0", 30) == 0);
	CU_ASSERT(memcmp(tbs + 30, der, len) == 0);
	CU_ASSERT_FATAL(protocol_iddoc_sign(sig, sk, der, len) == CA_OK);
	/* Checked with libsodium directly over the documented bytes. */
	CU_ASSERT_EQUAL(crypto_sign_verify_detached(sig, tbs, tlen, pk), 0);
	CU_ASSERT_EQUAL(protocol_iddoc_verify(pk, sig, sizeof(sig), der, len),
	    CA_OK);
	der[len - 1] ^= 1;
	CU_ASSERT_EQUAL(protocol_iddoc_verify(pk, sig, sizeof(sig), der, len),
	    CA_ERR_VERIFY);
	der[len - 1] ^= 1;
	sig[0] ^= 1;
	CU_ASSERT_EQUAL(protocol_iddoc_verify(pk, sig, sizeof(sig), der, len),
	    CA_ERR_VERIFY);
	CU_ASSERT_EQUAL(protocol_iddoc_verify(pk, sig, 63, der, len),
	    CA_ERR_INVALID);
	free(tbs);
	OPENSSL_free(der);
	PROTO_PLATFORM_DOC_free(doc2);
	doc2 = NULL;

	/* keyBinding: 32 bytes round-trip; any other length is refused. */
	{
		uint8_t h[33];

		memset(h, 0xab, sizeof(h));
		CU_ASSERT_FATAL((doc->key_binding = ASN1_OCTET_STRING_new()) !=
		    NULL);
		CU_ASSERT_FATAL(ASN1_OCTET_STRING_set(doc->key_binding, h,
		    PROTOCOL_KEY_BINDING_LEN) == 1);
		CU_ASSERT_FATAL(protocol_platform_doc_encode(&der, &len, doc) ==
		    CA_OK);
		CU_ASSERT_EQUAL(protocol_platform_doc_decode(&doc2, der, len),
		    CA_OK);
		CU_ASSERT(doc2 != NULL && ASN1_STRING_length(
		    doc2->key_binding) == PROTOCOL_KEY_BINDING_LEN);
		PROTO_PLATFORM_DOC_free(doc2);
		doc2 = NULL;
		OPENSSL_free(der);
		CU_ASSERT_FATAL(ASN1_OCTET_STRING_set(doc->key_binding, h,
		    sizeof(h)) == 1);
		if (protocol_platform_doc_encode(&der, &len, doc) == CA_OK) {
			CU_ASSERT_EQUAL(protocol_platform_doc_decode(&doc2, der,
			    len), CA_ERR_INVALID);
			CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(),
			    "keyBinding"));
			OPENSSL_free(der);
		}
	}
	PROTO_PLATFORM_DOC_free(doc);
	PROTO_PLATFORM_DOC_free(doc2);
}

static void
test_status_names(void)
{
	long i;

	for (i = 0; i < PROTOCOL_STATUS__MAX; i++) {
		CU_ASSERT_STRING_NOT_EQUAL(protocol_status_name(i),
		    "unknown status");
		CU_ASSERT(strlen(protocol_status_hint(i)) > 10);
	}
	CU_ASSERT_STRING_EQUAL(protocol_status_name(PROTOCOL_TOKEN_EXPIRED),
	    "tokenExpired");
	CU_ASSERT_STRING_EQUAL(protocol_status_name(PROTOCOL_STATUS__MAX),
	    "unknown status");
	CU_ASSERT_STRING_EQUAL(protocol_status_name(-1), "unknown status");
}

static void
test_message_cut(void)
{
	char big[3 * PROTOCOL_MAX_TEXT];
	PROTO_RESPONSE *r;
	uint8_t *der;
	size_t len;
	size_t i;

	/* "é" repeated: the cut must not split a character. */
	for (i = 0; i + 2 < sizeof(big); i += 2)
		memcpy(big + i, "\xc3\xa9", 2);
	big[i] = '\0';
	r = protocol_response_error(PROTOCOL_INTERNAL, "x%s", big);
	CU_ASSERT_FATAL(r != NULL);
	CU_ASSERT(ASN1_STRING_length(r->message) <= PROTOCOL_MAX_TEXT);
	CU_ASSERT_EQUAL(protocol_response_encode(&der, &len, r), CA_OK);
	OPENSSL_free(der);
	PROTO_RESPONSE_free(r);
}

/* The examples in docs/protocol.md, byte for byte. */
static void
test_doc_examples(void)
{
	static const uint8_t issue[] = { 0x30, 0x42, 0x02, 0x01, 0x01, 0xa0,
	    0x3d, 0x30, 0x3b, 0x04, 0x03, 0xc0, 0xff, 0xee, 0xa0, 0x2e, 0x30,
	    0x2c, 0x0c, 0x08, 't', 'o', 'k', '-', '7', 'f', '3', 'a', 0x04,
	    0x20, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17,
	    18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 0xa0,
	    0x04, 0x02, 0x02, 0x0e, 0x10 };
	static const uint8_t expired_head[] = { 0x30, 0x56, 0x02, 0x01, 0x01,
	    0x0a, 0x01, 0x07, 0x0c, 0x4e };
	PROTO_REQUEST *req = NULL;
	PROTO_ATTESTATION *att;
	uint8_t *der;
	size_t len;

	CU_ASSERT_FATAL(protocol_request_decode(&req, NULL, issue,
	    sizeof(issue)) == CA_OK);
	att = req->body->value.issue->attestation;
	CU_ASSERT_EQUAL(att->type, PROTO_ATTEST_JOIN_TOKEN);
	CU_ASSERT_EQUAL(ASN1_INTEGER_get(req->body->value.issue->lifetime),
	    3600);
	CU_ASSERT_EQUAL(ASN1_STRING_get0_data(att->value.join_token->secret)[31],
	    32);
	PROTO_REQUEST_free(req);

	response_der(0, &der, &len);
	CU_ASSERT_EQUAL(len, 0x58);
	CU_ASSERT(memcmp(der, expired_head, sizeof(expired_head)) == 0);
	CU_ASSERT(memcmp(der + sizeof(expired_head), "token tok-7f3a expired "
	    "at 2023-11-14T22:13:20Z; ask the operator for a new one", 0x4e)
	    == 0);
	OPENSSL_free(der);
}

/* --- the fuzz seed corpus --- */

static void
write_file(const char *dir, const char *name, const uint8_t *buf,
    size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	CU_ASSERT_FATAL(f != NULL);
	CU_ASSERT(fwrite(buf, 1, len, f) == len);
	CU_ASSERT(fclose(f) == 0);
}

static void
write_corpus(const char *dir)
{
	static const uint8_t garbage[] = { 0x30, 0x84, 0xff, 0xff, 0xff, 0xff,
	    0x02, 0x01 };
	static const uint8_t deep[] = { 0x30, 0x0c, 0x02, 0x01, 0x01, 0xa0,
	    0x07, 0x30, 0x05, 0x04, 0x00, 0xa0, 0x01, 0x30 };
	char name[64];
	uint8_t *der, *buf;
	size_t len;
	int i;

	for (i = 0; i < REQ_BUILDERS; i++) {
		request_der(i, &der, &len);
		snprintf(name, sizeof(name), "req-%02d.der", i);
		write_file(dir, name, der, len);
		if (i == 0 || i == 1 || i == 2 || i == 4 || i == 13 ||
		    i == 15) {
			/* Truncated, and with a trailing byte. */
			snprintf(name, sizeof(name), "bad-req-%02d-trunc.der",
			    i);
			write_file(dir, name, der, len / 2);
			buf = malloc(len + 1);
			CU_ASSERT_FATAL(buf != NULL);
			memcpy(buf, der, len);
			buf[len] = 0;
			snprintf(name, sizeof(name), "bad-req-%02d-trail.der",
			    i);
			write_file(dir, name, buf, len + 1);
			free(buf);
		}
		OPENSSL_free(der);
	}
	for (i = 0; i < RESP_BUILDERS; i++) {
		response_der(i, &der, &len);
		snprintf(name, sizeof(name), "resp-%02d.der", i);
		write_file(dir, name, der, len);
		if (i == 1 || i == 5 || i == 10) {
			snprintf(name, sizeof(name), "bad-resp-%02d-trunc.der",
			    i);
			write_file(dir, name, der, len - 1);
		}
		OPENSSL_free(der);
	}
	write_file(dir, "bad-garbage.der", garbage, sizeof(garbage));
	write_file(dir, "bad-deep.der", deep, sizeof(deep));
}

static int
corpus_expect(const char *name, const uint8_t *buf, size_t len)
{
	PROTO_REQUEST *req = NULL;
	PROTO_RESPONSE *resp = NULL;
	int req_ok, resp_ok, ok;

	req_ok = protocol_request_decode(&req, NULL, buf, len) == CA_OK;
	resp_ok = protocol_response_decode(&resp, NULL, buf, len) == CA_OK;
	PROTO_REQUEST_free(req);
	PROTO_RESPONSE_free(resp);
	if (strncmp(name, "req-", 4) == 0)
		ok = req_ok && !resp_ok;
	else if (strncmp(name, "resp-", 5) == 0)
		ok = resp_ok && !req_ok;
	else
		ok = !req_ok && !resp_ok;
	if (!ok)
		fprintf(stderr, "corpus %s: request %s, response %s\n", name,
		    req_ok ? "decodes" : "refused",
		    resp_ok ? "decodes" : "refused");
	return ok;
}

static void
test_corpus(void)
{
	const char *out = getenv("PROTOCOL_WRITE_CORPUS");
	const char *top = getenv("top_srcdir");
	char dir[4096], path[8192];
	struct dirent *de;
	uint8_t buf[PROTOCOL_MAX_MESSAGE + 1];
	size_t len;
	FILE *f;
	DIR *d;
	int n = 0;

	if (out != NULL)
		write_corpus(out);
	snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/protocol",
	    out != NULL ? "." : top != NULL ? top : ".");
	if (out != NULL)
		snprintf(dir, sizeof(dir), "%s", out);
	d = opendir(dir);
	CU_ASSERT_FATAL(d != NULL);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		f = fopen(path, "rb");
		CU_ASSERT_FATAL(f != NULL);
		len = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		CU_ASSERT(corpus_expect(de->d_name, buf, len));
		n++;
	}
	closedir(d);
	CU_ASSERT(n >= REQ_BUILDERS + RESP_BUILDERS);
	CU_ASSERT(n < 50);
}

static CU_TestInfo tests[] = {
	{ "request_round_trip", test_request_round_trip },
	{ "request_fields", test_request_fields },
	{ "response_round_trip", test_response_round_trip },
	{ "trailing_bytes", test_trailing_bytes },
	{ "not_der", test_not_der },
	{ "version", test_version },
	{ "oversize", test_oversize },
	{ "too_many", test_too_many },
	{ "bad_values", test_bad_values },
	{ "bad_choice", test_bad_choice },
	{ "tpm_exchange", test_tpm_exchange },
	{ "pop_tbs", test_pop_tbs },
	{ "pop_sign_verify", test_pop_sign_verify },
	{ "iddoc", test_iddoc },
	{ "status_names", test_status_names },
	{ "message_cut", test_message_cut },
	{ "doc_examples", test_doc_examples },
	{ "corpus", test_corpus },
	CU_TEST_INFO_NULL,
};

UNIT_MAIN("protocol", tests)
