/* SPDX-License-Identifier: ISC */
/*
 * protocol_msg: constructors for the messages clients and the issuer send
 * most, and the names and hints of the status codes. The constructors
 * allocate a version-1 message with every required field present so that
 * the caller only fills values; protocol_*_encode checks the result.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/x509.h>

#include "common/ca_error.h"
#include "protocol/protocol.h"

static const struct {
	const char *name;
	const char *hint;
} statuses[PROTOCOL_STATUS__MAX] = {
	[PROTOCOL_OK] = { "ok", "nothing to do" },
	[PROTOCOL_BAD_REQUEST] = { "badRequest",
	    "the request is malformed; fix the client, do not retry as is" },
	[PROTOCOL_UNSUPPORTED_VERSION] = { "unsupportedVersion",
	    "the server speaks another protocol version; upgrade the client "
	    "or the server" },
	[PROTOCOL_TOO_LARGE] = { "tooLarge",
	    "the request is over the size limit; send a smaller CSR or "
	    "chain" },
	[PROTOCOL_BAD_CSR] = { "badCsr",
	    "the CSR does not parse or its signature does not verify; build "
	    "a new CSR" },
	[PROTOCOL_BAD_ATTESTATION] = { "badAttestation",
	    "the attestation did not prove the identity; check the "
	    "certificate, chain, document or key used" },
	[PROTOCOL_TOKEN_UNKNOWN] = { "tokenUnknown",
	    "no such join token, or a wrong secret; check it was copied "
	    "whole, or ask the operator for a new one" },
	[PROTOCOL_TOKEN_EXPIRED] = { "tokenExpired",
	    "the join token expired; ask the operator for a new one" },
	[PROTOCOL_TOKEN_USED] = { "tokenUsed",
	    "the join token was already used or revoked, or the instance "
	    "already has a certificate; ask the operator for a new token, "
	    "or renew with the certificate you have" },
	[PROTOCOL_NONCE_INVALID] = { "nonceInvalid",
	    "the nonce is unknown, expired or used; ask for a new nonce and "
	    "sign again" },
	[PROTOCOL_NOT_AUTHORIZED] = { "notAuthorized",
	    "the CSR asks for names the attested identity was not granted; "
	    "request only the granted names" },
	[PROTOCOL_POLICY] = { "policy",
	    "refused by the profile (key type or size, lifetime, CA "
	    "powers); change the request as the message says" },
	[PROTOCOL_HSM_UNAVAILABLE] = { "hsmUnavailable",
	    "the signing key is unavailable; retry later with backoff" },
	[PROTOCOL_LOG_UNAVAILABLE] = { "logUnavailable",
	    "the issuance log cannot record the certificate; retry later "
	    "with backoff" },
	[PROTOCOL_INTERNAL] = { "internal",
	    "the server failed; retry later, and report it if it persists" },
	[PROTOCOL_NOT_FOUND] = { "notFound",
	    "no such certificate or token; check the serial or id" },
	[PROTOCOL_FORBIDDEN] = { "forbidden",
	    "operator commands are accepted on the local operator socket "
	    "only; run the command on the issuer host" },
	[PROTOCOL_CONFLICT] = { "conflict",
	    "the object is not in a state that allows this (already "
	    "revoked, token already used); nothing was changed" },
	[PROTOCOL_BUSY] = { "busy",
	    "the server is overloaded or shutting down; retry later with "
	    "backoff" },
};

const char *
protocol_status_name(long status)
{
	if (status < 0 || status >= PROTOCOL_STATUS__MAX)
		return "unknown status";
	return statuses[status].name;
}

const char *
protocol_status_hint(long status)
{
	if (status < 0 || status >= PROTOCOL_STATUS__MAX)
		return "the server sent a status this client does not know; "
		    "treat it as a failure";
	return statuses[status].hint;
}

long
protocol_response_status(const PROTO_RESPONSE *resp)
{
	int64_t v;

	if (resp == NULL || resp->status == NULL ||
	    !ASN1_ENUMERATED_get_int64(&v, resp->status) || v < 0 ||
	    v > INT32_MAX)
		return -1;
	return (long)v;
}

PROTO_REQUEST *
protocol_request_new(enum protocol_request_type type)
{
	PROTO_REQUEST *req = NULL, *ret = NULL;
	PROTO_REQUEST_BODY *b;
	void *v = NULL;

	if ((req = PROTO_REQUEST_new()) == NULL ||
	    !ASN1_INTEGER_set(req->version, PROTOCOL_VERSION))
		goto out;
	switch (type) {
	case PROTO_REQ_ISSUE:
		v = PROTO_ISSUE_REQUEST_new();
		break;
	case PROTO_REQ_NONCE:
	case PROTO_REQ_TOKEN_LIST:
	case PROTO_REQ_LOG_VERIFY:
		v = ASN1_NULL_new();
		break;
	case PROTO_REQ_TOKEN_CREATE:
		v = PROTO_TOKEN_CREATE_new();
		break;
	case PROTO_REQ_TOKEN_REVOKE:
		v = PROTO_TOKEN_REVOKE_new();
		break;
	case PROTO_REQ_REVOKE:
		v = PROTO_REVOKE_REQUEST_new();
		break;
	case PROTO_REQ_LIST:
		v = PROTO_LIST_REQUEST_new();
		break;
	case PROTO_REQ_REVOKE_SELECTOR:
		v = PROTO_REVOKE_SELECTOR_new();
		break;
	case PROTO_REQ_SHOW:
		v = PROTO_SHOW_REQUEST_new();
		break;
	case PROTO_REQ_CHALLENGE:
		v = PROTO_CHALLENGE_REQ_new();
		break;
	default:
		break;
	}
	if (v == NULL)
		goto out;
	b = req->body;
	b->type = type;
	/* Every member of the union is a pointer; store through one. */
	b->value.issue = v;
	ret = req;
	req = NULL;
 out:
	PROTO_REQUEST_free(req);
	return ret;
}

/* Copy fmt/ap into s, cut to PROTOCOL_MAX_TEXT on a UTF-8 boundary. */
static int set_text(ASN1_UTF8STRING *, const char *, va_list)
    __attribute__((format(printf, 2, 0)));

static int
set_text(ASN1_UTF8STRING *s, const char *fmt, va_list ap)
{
	char buf[PROTOCOL_MAX_TEXT + 1];
	int n;

	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	if (n < 0)
		buf[0] = '\0';
	n = (int)strlen(buf);
	while (n > 0 && n == PROTOCOL_MAX_TEXT &&
	    ((unsigned char)buf[n - 1] & 0xc0) == 0x80)
		n--;
	if (n > 0 && n == PROTOCOL_MAX_TEXT &&
	    ((unsigned char)buf[n - 1] & 0xc0) == 0xc0)
		n--;
	return ASN1_STRING_set(s, buf, n);
}

static PROTO_RESPONSE *response_vnew(enum protocol_status, int,
    const char *, va_list) __attribute__((format(printf, 3, 0)));

static PROTO_RESPONSE *
response_vnew(enum protocol_status status, int body_type, const char *fmt,
    va_list ap)
{
	PROTO_RESPONSE *resp = NULL, *ret = NULL;
	PROTO_RESPONSE_BODY *b;
	void *v = NULL;

	if ((resp = PROTO_RESPONSE_new()) == NULL ||
	    !ASN1_INTEGER_set(resp->version, PROTOCOL_VERSION) ||
	    !ASN1_ENUMERATED_set(resp->status, status) ||
	    !set_text(resp->message, fmt, ap))
		goto out;
	if (body_type != -1) {
		if (body_type < 0 || body_type >= PROTO_RESP__MAX ||
		    (b = resp->body = PROTO_RESPONSE_BODY_new()) == NULL)
			goto out;
		/* The body owns v from here, even when it is still NULL. */
		b->type = body_type;
		switch (body_type) {
		case PROTO_RESP_ISSUED:
			v = b->value.issued = PROTO_ISSUED_new();
			break;
		case PROTO_RESP_NONCE:
			v = b->value.nonce = PROTO_NONCE_new();
			break;
		case PROTO_RESP_TOKEN_CREATED:
			v = b->value.token_created = PROTO_TOKEN_CREATED_new();
			break;
		case PROTO_RESP_TOKEN_LIST:
			v = b->value.token_list =
			    sk_PROTO_TOKEN_INFO_new_null();
			break;
		case PROTO_RESP_CERT_LIST:
			v = b->value.cert_list = PROTO_CERT_LIST_new();
			break;
		case PROTO_RESP_CERT_INFO:
			v = b->value.cert_info = PROTO_CERT_INFO_new();
			break;
		case PROTO_RESP_REVOKED:
			v = b->value.revoked = PROTO_REVOKED_new();
			break;
		case PROTO_RESP_LOG_VERIFY:
			v = b->value.log_verify = PROTO_LOG_VERIFY_new();
			break;
		case PROTO_RESP_CHALLENGE:
			v = b->value.challenge = PROTO_CHALLENGE_RESP_new();
			break;
		}
		if (v == NULL)
			goto out;
	}
	ret = resp;
	resp = NULL;
 out:
	PROTO_RESPONSE_free(resp);
	return ret;
}

PROTO_RESPONSE *
protocol_response_new(enum protocol_status status, int body_type,
    const char *fmt, ...)
{
	PROTO_RESPONSE *resp;
	va_list ap;

	va_start(ap, fmt);
	resp = response_vnew(status, body_type, fmt, ap);
	va_end(ap);
	return resp;
}

PROTO_RESPONSE *
protocol_response_error(enum protocol_status status, const char *fmt, ...)
{
	PROTO_RESPONSE *resp;
	va_list ap;

	va_start(ap, fmt);
	resp = response_vnew(status, -1, fmt, ap);
	va_end(ap);
	return resp;
}

/* Append the DER of x to sk. */
static int
push_cert(STACK_OF(ASN1_OCTET_STRING) *sk, X509 *x)
{
	ASN1_OCTET_STRING *os = NULL;
	unsigned char *der = NULL;
	int n, ok = 0;

	if ((n = i2d_X509(x, &der)) <= 0 ||
	    (os = ASN1_OCTET_STRING_new()) == NULL)
		goto out;
	ASN1_STRING_set0(os, der, n);
	der = NULL;
	if (!sk_ASN1_OCTET_STRING_push(sk, os))
		goto out;
	os = NULL;
	ok = 1;
 out:
	OPENSSL_free(der);
	ASN1_OCTET_STRING_free(os);
	return ok;
}

PROTO_RESPONSE *
protocol_response_issued(X509 *cert, STACK_OF(X509) *chain)
{
	PROTO_RESPONSE *resp = NULL, *ret = NULL;
	PROTO_ISSUED *is;
	unsigned char *der = NULL;
	int i, n;

	if ((resp = protocol_response_new(PROTOCOL_OK, PROTO_RESP_ISSUED,
	    "certificate issued")) == NULL)
		goto out;
	is = resp->body->value.issued;
	if ((n = i2d_X509(cert, &der)) <= 0)
		goto out;
	ASN1_STRING_set0(is->certificate, der, n);
	der = NULL;
	for (i = 0; i < sk_X509_num(chain); i++)
		if (!push_cert(is->chain, sk_X509_value(chain, i)))
			goto out;
	ret = resp;
	resp = NULL;
 out:
	OPENSSL_free(der);
	PROTO_RESPONSE_free(resp);
	return ret;
}

PROTO_RESPONSE *
protocol_response_nonce(const uint8_t *nonce, size_t len, time_t expires_at)
{
	PROTO_RESPONSE *resp = NULL, *ret = NULL;
	PROTO_NONCE *nb;

	if (len > INT32_MAX || (resp = protocol_response_new(PROTOCOL_OK,
	    PROTO_RESP_NONCE, "sign this nonce")) == NULL)
		goto out;
	nb = resp->body->value.nonce;
	if (!ASN1_OCTET_STRING_set(nb->nonce, nonce, (int)len) ||
	    ASN1_GENERALIZEDTIME_set(nb->expires_at, expires_at) == NULL)
		goto out;
	ret = resp;
	resp = NULL;
 out:
	PROTO_RESPONSE_free(resp);
	return ret;
}

PROTO_REQUEST *
protocol_request_issue(const uint8_t *csr, size_t csr_len,
    PROTO_ATTESTATION *att, long long lifetime)
{
	PROTO_REQUEST *req = NULL, *ret = NULL;
	PROTO_ISSUE_REQUEST *is;

	if (att == NULL || csr_len > INT32_MAX ||
	    (req = protocol_request_new(PROTO_REQ_ISSUE)) == NULL)
		goto out;
	is = req->body->value.issue;
	PROTO_ATTESTATION_free(is->attestation);
	is->attestation = att;
	att = NULL;
	if (!ASN1_OCTET_STRING_set(is->csr, csr, (int)csr_len))
		goto out;
	if (lifetime > 0 && ((is->lifetime = ASN1_INTEGER_new()) == NULL ||
	    !ASN1_INTEGER_set_int64(is->lifetime, lifetime)))
		goto out;
	ret = req;
	req = NULL;
 out:
	PROTO_ATTESTATION_free(att);
	PROTO_REQUEST_free(req);
	return ret;
}

PROTO_ATTESTATION *
protocol_attest_join_token(const char *token_id, const uint8_t *secret,
    size_t secret_len)
{
	PROTO_ATTESTATION *a = NULL, *ret = NULL;
	PROTO_JOIN_TOKEN *jt;

	if (secret_len > INT32_MAX || (a = PROTO_ATTESTATION_new()) == NULL)
		goto out;
	a->type = PROTO_ATTEST_JOIN_TOKEN;
	if ((jt = a->value.join_token = PROTO_JOIN_TOKEN_new()) == NULL ||
	    !ASN1_STRING_set(jt->token_id, token_id, -1) ||
	    !ASN1_OCTET_STRING_set(jt->secret, secret, (int)secret_len))
		goto out;
	ret = a;
	a = NULL;
 out:
	PROTO_ATTESTATION_free(a);
	return ret;
}

PROTO_ATTESTATION *
protocol_attest_x509_pop(STACK_OF(X509) *chain, const uint8_t *nonce,
    size_t nonce_len, const uint8_t *sig, size_t sig_len)
{
	PROTO_ATTESTATION *a = NULL, *ret = NULL;
	PROTO_X509_POP *pop;
	int i;

	if (nonce_len > INT32_MAX || sig_len > INT32_MAX ||
	    (a = PROTO_ATTESTATION_new()) == NULL)
		goto out;
	a->type = PROTO_ATTEST_X509_POP;
	if ((pop = a->value.x509_pop = PROTO_X509_POP_new()) == NULL ||
	    !ASN1_OCTET_STRING_set(pop->nonce, nonce, (int)nonce_len) ||
	    !ASN1_OCTET_STRING_set(pop->signature, sig, (int)sig_len))
		goto out;
	for (i = 0; i < sk_X509_num(chain); i++)
		if (!push_cert(pop->chain, sk_X509_value(chain, i)))
			goto out;
	ret = a;
	a = NULL;
 out:
	PROTO_ATTESTATION_free(a);
	return ret;
}

PROTO_ATTESTATION *
protocol_attest_identity_doc(const uint8_t *doc, size_t doc_len,
    const char *key_id, const uint8_t *sig, size_t sig_len)
{
	PROTO_ATTESTATION *a = NULL, *ret = NULL;
	PROTO_IDENTITY_DOC *id;

	if (doc_len > INT32_MAX || sig_len > INT32_MAX ||
	    (a = PROTO_ATTESTATION_new()) == NULL)
		goto out;
	a->type = PROTO_ATTEST_IDENTITY_DOC;
	if ((id = a->value.identity_doc = PROTO_IDENTITY_DOC_new()) == NULL ||
	    !ASN1_OCTET_STRING_set(id->document, doc, (int)doc_len) ||
	    !ASN1_STRING_set(id->key_id, key_id, -1) ||
	    !ASN1_OCTET_STRING_set(id->signature, sig, (int)sig_len))
		goto out;
	ret = a;
	a = NULL;
 out:
	PROTO_ATTESTATION_free(a);
	return ret;
}
