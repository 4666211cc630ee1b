/* SPDX-License-Identifier: ISC */
/*
 * protocol: strict decoding and encoding of the wire protocol messages.
 *
 * OpenSSL's template decoder does the parsing (protocol/protocol_asn1.c).
 * Around it this file enforces what the templates cannot say: the message
 * size cap, no trailing bytes, DER only (the decoded message must encode
 * back to exactly the input, so BER variants such as indefinite lengths or
 * an explicit DEFAULT value are refused), the protocol version, and the
 * size and value rules of every field in docs/protocol.md. The same rules
 * run before encoding, so this side never sends what it would refuse.
 * Errors name the field by its ASN.1 path, e.g.
 *   "Request.issue.attestation.x509pop.chain: 9 certificates, more than
 *    the limit of 8".
 */
#include "config.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/err.h>

#include "common/ca_error.h"
#include "protocol/protocol.h"

/*
 * wrap puts prefix (and [index], unless -1) in front of the current detail message (which
 * ca_error cannot read while it writes it) and returns rc.
 */
static int
wrap(int rc, const char *prefix, int index)
{
	char copy[512];

	snprintf(copy, sizeof(copy), "%s", ca_error_detail());
	if (index < 0)
		return ca_error(rc, "%s: %s", prefix, copy);
	return ca_error(rc, "%s[%d]: %s", prefix, index, copy);
}

/* Strings: check length and, for UTF8String, the characters. */
static int
check_str(const ASN1_STRING *s, const char *field, int utf8, size_t min,
    size_t max)
{
	const unsigned char *p;
	unsigned long c;
	int len, n;

	if (s == NULL)
		return ca_error(CA_ERR_INVALID, "%s: missing", field);
	len = ASN1_STRING_length(s);
	if (len < 0 || (size_t)len < min || (size_t)len > max)
		return ca_error(CA_ERR_INVALID,
		    "%s: %d octets, outside the allowed %zu..%zu", field, len,
		    min, max);
	if (!utf8)
		return CA_OK;
	p = ASN1_STRING_get0_data(s);
	while (len > 0) {
		if ((n = UTF8_getc(p, len, &c)) <= 0)
			return ca_error(CA_ERR_INVALID,
			    "%s: X.680: UTF8String is not valid UTF-8", field);
		if (c < 0x20 || (c >= 0x7f && c <= 0x9f))
			return ca_error(CA_ERR_INVALID,
			    "%s: control character U+%04lX not allowed", field,
			    c);
		p += n;
		len -= n;
	}
	return CA_OK;
}

#define check_utf8(s, f, min, max)	check_str((s), (f), 1, (min), (max))
#define check_octets(s, f, min, max)	check_str((s), (f), 0, (min), (max))

/* An INTEGER (enumerated == 0) or ENUMERATED within min..max. */
static int
check_num(const ASN1_STRING *i, const char *field, int enumerated,
    int64_t min, int64_t max)
{
	int64_t v;
	int ok;

	if (i == NULL)
		return ca_error(CA_ERR_INVALID, "%s: missing", field);
	if (enumerated)
		ok = ASN1_ENUMERATED_get_int64(&v, i);
	else
		ok = ASN1_INTEGER_get_int64(&v, i);
	ERR_clear_error();
	if (!ok)
		return ca_error(CA_ERR_INVALID,
		    "%s: value does not fit in 64 bits", field);
	if (v < min || v > max)
		return ca_error(CA_ERR_INVALID,
		    "%s: %lld is outside the allowed %lld..%lld", field,
		    (long long)v, (long long)min, (long long)max);
	return CA_OK;
}

#define check_int(i, f, min, max)	check_num((i), (f), 0, (min), (max))
#define check_enum(i, f, min, max)	check_num((i), (f), 1, (min), (max))

/* RFC 5280 4.1.2.2: a positive INTEGER of at most 20 octets. */
static int
check_serial(const ASN1_INTEGER *s, const char *field)
{
	const unsigned char *p;
	int len;

	if (s == NULL)
		return ca_error(CA_ERR_INVALID, "%s: missing", field);
	len = ASN1_STRING_length(s);
	p = ASN1_STRING_get0_data(s);
	if (ASN1_STRING_type(s) != V_ASN1_INTEGER || len <= 0 ||
	    (len == 1 && p[0] == 0))
		return ca_error(CA_ERR_INVALID,
		    "%s: RFC 5280 4.1.2.2: serial number must be positive",
		    field);
	/* The content octets, plus a leading 0x00 when the top bit is set. */
	if (len + ((p[0] & 0x80) != 0) > PROTOCOL_MAX_SERIAL)
		return ca_error(CA_ERR_INVALID,
		    "%s: RFC 5280 4.1.2.2: serial number longer than %d octets",
		    field, PROTOCOL_MAX_SERIAL);
	return CA_OK;
}

/* DER GeneralizedTime, and the profile used here: YYYYMMDDHHMMSSZ. */
static int
check_time(const ASN1_GENERALIZEDTIME *t, const char *field)
{
	if (t == NULL)
		return ca_error(CA_ERR_INVALID, "%s: missing", field);
	if (ASN1_STRING_type(t) != V_ASN1_GENERALIZEDTIME ||
	    ASN1_STRING_length(t) != 15 ||
	    ASN1_STRING_get0_data(t)[14] != 'Z' ||
	    !ASN1_GENERALIZEDTIME_check(t))
		return ca_error(CA_ERR_INVALID,
		    "%s: not a GeneralizedTime of the form YYYYMMDDHHMMSSZ",
		    field);
	return CA_OK;
}

/* The name forms of openssl.cnf subjectAltName that a request may use. */
static int
check_names(const STACK_OF(ASN1_UTF8STRING) *sk, const char *field)
{
	static const char *const prefixes[] = {
		"DNS:", "IP:", "email:", "URI:",
	};
	const ASN1_UTF8STRING *s;
	const char *d;
	char f[128];
	size_t i, j, len;
	int n, rc;

	if (sk == NULL)
		return ca_error(CA_ERR_INVALID, "%s: missing", field);
	n = sk_ASN1_UTF8STRING_num(sk);
	if (n > PROTOCOL_MAX_NAMES)
		return ca_error(CA_ERR_INVALID,
		    "%s: %d names, more than the limit of %d", field, n,
		    PROTOCOL_MAX_NAMES);
	for (i = 0; i < (size_t)n; i++) {
		s = sk_ASN1_UTF8STRING_value(sk, (int)i);
		snprintf(f, sizeof(f), "%s[%zu]", field, i);
		if ((rc = check_utf8(s, f, 1, PROTOCOL_MAX_NAME_LEN)) != CA_OK)
			return rc;
		d = (const char *)ASN1_STRING_get0_data(s);
		len = (size_t)ASN1_STRING_length(s);
		for (j = 0; j < sizeof(prefixes) / sizeof(prefixes[0]); j++)
			if (len > strlen(prefixes[j]) &&
			    memcmp(d, prefixes[j], strlen(prefixes[j])) == 0)
				break;
		if (j == sizeof(prefixes) / sizeof(prefixes[0]))
			return ca_error(CA_ERR_INVALID,
			    "%s[%zu]: a name must start with DNS:, IP:, email: "
			    "or URI: and have a value", field, i);
	}
	return CA_OK;
}

/*
 * Selectors: "kind:fact:value" (the issuer checks the form; here the size
 * and the characters).
 */
static int
check_selector(const ASN1_UTF8STRING *s, const char *field)
{
	int rc;

	if ((rc = check_utf8(s, field, 5, PROTOCOL_MAX_SELECTOR_LEN)) != CA_OK)
		return rc;
	if (memchr(ASN1_STRING_get0_data(s), ':',
	    (size_t)ASN1_STRING_length(s)) == NULL)
		return ca_error(CA_ERR_INVALID, "%s: a selector is "
		    "kind:fact:value", field);
	return CA_OK;
}

static int
check_selectors(const STACK_OF(ASN1_UTF8STRING) *sk, const char *field)
{
	char f[128];
	int i, n, rc;

	n = sk_ASN1_UTF8STRING_num(sk);
	if (n > PROTOCOL_MAX_SELECTORS)
		return ca_error(CA_ERR_INVALID,
		    "%s: %d selectors, more than the limit of %d", field, n,
		    PROTOCOL_MAX_SELECTORS);
	for (i = 0; i < n; i++) {
		snprintf(f, sizeof(f), "%s[%d]", field, i);
		if ((rc = check_selector(sk_ASN1_UTF8STRING_value(sk, i), f))
		    != CA_OK)
			return rc;
	}
	return CA_OK;
}

/* A CRLReason a revocation may carry: 0..10 except 7 (unused). */
static int
check_reason(const ASN1_ENUMERATED *r, const char *field)
{
	int rc;

	if ((rc = check_enum(r, field, 0, 10)) != CA_OK)
		return rc;
	if (ASN1_ENUMERATED_get(r) == 7)
		return ca_error(CA_ERR_INVALID, "%s: RFC 5280 5.3.1: value 7 "
		    "is not used", field);
	return CA_OK;
}

/* SEQUENCE OF OCTET STRING holding DER certificates. */
static int
check_certs(const STACK_OF(ASN1_OCTET_STRING) *sk, const char *field, int min)
{
	char f[128];
	int i, n, rc;

	if (sk == NULL)
		return ca_error(CA_ERR_INVALID, "%s: missing", field);
	n = sk_ASN1_OCTET_STRING_num(sk);
	if (n < min)
		return ca_error(CA_ERR_INVALID, "%s: at least %d certificate "
		    "required", field, min);
	if (n > PROTOCOL_MAX_CHAIN)
		return ca_error(CA_ERR_INVALID,
		    "%s: %d certificates, more than the limit of %d", field, n,
		    PROTOCOL_MAX_CHAIN);
	for (i = 0; i < n; i++) {
		snprintf(f, sizeof(f), "%s[%d]", field, i);
		if ((rc = check_octets(sk_ASN1_OCTET_STRING_value(sk, i), f, 1,
		    PROTOCOL_MAX_CERT)) != CA_OK)
			return rc;
	}
	return CA_OK;
}

static int
check_version(const ASN1_INTEGER *v, const char *field)
{
	int64_t n;

	if (v == NULL)
		return ca_error(CA_ERR_INVALID, "%s: missing", field);
	if (!ASN1_INTEGER_get_int64(&n, v) || n != PROTOCOL_VERSION) {
		ERR_clear_error();
		return ca_error(CA_ERR_UNSUPPORTED,
		    "%s: version not supported; this side speaks version %d",
		    field, PROTOCOL_VERSION);
	}
	return CA_OK;
}

static int
check_platform_doc(const PROTO_PLATFORM_DOC *d)
{
	int rc;

	if ((rc = check_version(d->version, "PlatformDocument.version"))
	    != CA_OK)
		return rc == CA_ERR_UNSUPPORTED ? CA_ERR_INVALID : rc;
	if ((rc = check_utf8(d->platform, "PlatformDocument.platform", 1,
	    PROTOCOL_MAX_STRING)) != CA_OK ||
	    (rc = check_utf8(d->instance_id, "PlatformDocument.instanceId", 1,
	    PROTOCOL_MAX_STRING)) != CA_OK ||
	    (rc = check_utf8(d->account, "PlatformDocument.account", 1,
	    PROTOCOL_MAX_STRING)) != CA_OK ||
	    (rc = check_utf8(d->region, "PlatformDocument.region", 1,
	    PROTOCOL_MAX_STRING)) != CA_OK ||
	    (rc = check_time(d->issued_at, "PlatformDocument.issuedAt"))
	    != CA_OK)
		return rc;
	if (d->hostname != NULL && (rc = check_utf8(d->hostname,
	    "PlatformDocument.hostname", 1, PROTOCOL_MAX_NAME_LEN)) != CA_OK)
		return rc;
	if (d->audience != NULL && (rc = check_utf8(d->audience,
	    "PlatformDocument.audience", 1, PROTOCOL_MAX_STRING)) != CA_OK)
		return rc;
	if (d->key_binding != NULL &&
	    ASN1_STRING_length(d->key_binding) != PROTOCOL_KEY_BINDING_LEN)
		return ca_error(CA_ERR_INVALID, "PlatformDocument.keyBinding: "
		    "%d bytes; it is the SHA-256 (%d bytes) of the certificate "
		    "key's SubjectPublicKeyInfo", ASN1_STRING_length(
		    d->key_binding), PROTOCOL_KEY_BINDING_LEN);
	return CA_OK;
}

/* A marshalled TPM structure: 1..PROTOCOL_MAX_TPM_BLOB octets. */
#define check_tpm_blob(s, f) \
	check_octets((s), (f), 1, PROTOCOL_MAX_TPM_BLOB)

static int
check_tpm_answer(const PROTO_TPM_ANSWER *t)
{
	int rc;

	if ((rc = check_octets(t->session_id,
	    "Request.issue.attestation.tpm.sessionId",
	    PROTOCOL_SESSION_ID_LEN, PROTOCOL_SESSION_ID_LEN)) != CA_OK ||
	    (rc = check_octets(t->secret,
	    "Request.issue.attestation.tpm.secret", 1,
	    PROTOCOL_TPM_SECRET_LEN)) != CA_OK ||
	    (rc = check_tpm_blob(t->key_public,
	    "Request.issue.attestation.tpm.keyPublic")) != CA_OK ||
	    (rc = check_tpm_blob(t->certify_info,
	    "Request.issue.attestation.tpm.certifyInfo")) != CA_OK)
		return rc;
	return check_tpm_blob(t->signature,
	    "Request.issue.attestation.tpm.signature");
}

static int
check_challenge_request(const PROTO_CHALLENGE_REQ *c)
{
	const PROTO_TPM_CHALLENGE_REQ *t;
	int rc;

	if (c == NULL)
		return ca_error(CA_ERR_INVALID, "Request.challenge: missing");
	switch (c->type) {
	case PROTO_CHALLENGE_TPM:
		if ((t = c->value.tpm) == NULL)
			break;
		if (t->ek_certificate != NULL && (rc = check_octets(
		    t->ek_certificate, "Request.challenge.tpm.ekCertificate",
		    1, PROTOCOL_MAX_TPM_EK_CERT)) != CA_OK)
			return rc;
		if ((rc = check_tpm_blob(t->ek_public,
		    "Request.challenge.tpm.ekPublic")) != CA_OK)
			return rc;
		return check_tpm_blob(t->ak_public,
		    "Request.challenge.tpm.akPublic");
	default:
		break;
	}
	return ca_error(CA_ERR_INVALID,
	    "Request.challenge: unknown or empty alternative %d", c->type);
}

static int
check_challenge_response(const PROTO_CHALLENGE_RESP *c)
{
	const PROTO_TPM_CHALLENGE *t;
	int rc;

	if ((rc = check_octets(c->session_id,
	    "Response.challenge.sessionId", PROTOCOL_SESSION_ID_LEN,
	    PROTOCOL_SESSION_ID_LEN)) != CA_OK ||
	    (rc = check_time(c->expires_at, "Response.challenge.expiresAt"))
	    != CA_OK)
		return rc;
	if (c->challenge == NULL)
		return ca_error(CA_ERR_INVALID,
		    "Response.challenge.challenge: missing");
	switch (c->challenge->type) {
	case PROTO_CHALLENGE_TPM:
		if ((t = c->challenge->value.tpm) == NULL)
			break;
		if ((rc = check_tpm_blob(t->credential_blob,
		    "Response.challenge.challenge.tpm.credentialBlob"))
		    != CA_OK ||
		    (rc = check_tpm_blob(t->encrypted_secret,
		    "Response.challenge.challenge.tpm.encryptedSecret"))
		    != CA_OK)
			return rc;
		return check_octets(t->nonce,
		    "Response.challenge.challenge.tpm.nonce",
		    PROTOCOL_NONCE_LEN, PROTOCOL_NONCE_LEN);
	default:
		break;
	}
	return ca_error(CA_ERR_INVALID, "Response.challenge.challenge: unknown "
	    "or empty alternative %d", c->challenge->type);
}

static int
check_attestation(const PROTO_ATTESTATION *a)
{
	const PROTO_X509_POP *pop;
	const PROTO_IDENTITY_DOC *doc;
	PROTO_PLATFORM_DOC *pd = NULL;
	int rc;

	if (a == NULL)
		return ca_error(CA_ERR_INVALID,
		    "Request.issue.attestation: missing");
	switch (a->type) {
	case PROTO_ATTEST_JOIN_TOKEN:
		if (a->value.join_token == NULL)
			break;
		if ((rc = check_utf8(a->value.join_token->token_id,
		    "Request.issue.attestation.joinToken.tokenId", 1,
		    PROTOCOL_MAX_STRING)) != CA_OK)
			return rc;
		return check_octets(a->value.join_token->secret,
		    "Request.issue.attestation.joinToken.secret",
		    PROTOCOL_SECRET_MIN, PROTOCOL_SECRET_MAX);
	case PROTO_ATTEST_X509_POP:
		if ((pop = a->value.x509_pop) == NULL)
			break;
		if ((rc = check_certs(pop->chain,
		    "Request.issue.attestation.x509pop.chain", 1)) != CA_OK ||
		    (rc = check_octets(pop->nonce,
		    "Request.issue.attestation.x509pop.nonce",
		    PROTOCOL_NONCE_LEN, PROTOCOL_NONCE_LEN)) != CA_OK)
			return rc;
		return check_octets(pop->signature,
		    "Request.issue.attestation.x509pop.signature", 1,
		    PROTOCOL_MAX_SIGNATURE);
	case PROTO_ATTEST_IDENTITY_DOC:
		if ((doc = a->value.identity_doc) == NULL)
			break;
		if ((rc = check_octets(doc->document,
		    "Request.issue.attestation.identityDoc.document", 1,
		    PROTOCOL_MAX_DOCUMENT)) != CA_OK ||
		    (rc = check_utf8(doc->key_id,
		    "Request.issue.attestation.identityDoc.keyId", 1,
		    PROTOCOL_MAX_STRING)) != CA_OK ||
		    (rc = check_octets(doc->signature,
		    "Request.issue.attestation.identityDoc.signature",
		    PROTOCOL_ED25519_SIG_LEN, PROTOCOL_ED25519_SIG_LEN))
		    != CA_OK)
			return rc;
		/* The document is untrusted DER too: parse it here. */
		rc = protocol_platform_doc_decode(&pd,
		    ASN1_STRING_get0_data(doc->document),
		    (size_t)ASN1_STRING_length(doc->document));
		PROTO_PLATFORM_DOC_free(pd);
		if (rc != CA_OK)
			return wrap(rc,
			    "Request.issue.attestation.identityDoc.document",
			    -1);
		return CA_OK;
	case PROTO_ATTEST_TPM:
		if (a->value.tpm == NULL)
			break;
		return check_tpm_answer(a->value.tpm);
	default:
		break;
	}
	return ca_error(CA_ERR_INVALID,
	    "Request.issue.attestation: unknown or empty alternative %d",
	    a->type);
}

int
protocol_request_check(const PROTO_REQUEST *req)
{
	const PROTO_REQUEST_BODY *b;
	const PROTO_ISSUE_REQUEST *is;
	const PROTO_TOKEN_CREATE *tc;
	const PROTO_LIST_REQUEST *l;
	int rc;

	if (req == NULL)
		return ca_error(CA_ERR_INVALID, "Request: missing");
	if ((rc = check_version(req->version, "Request.version")) != CA_OK)
		return rc;
	if ((b = req->body) == NULL)
		return ca_error(CA_ERR_INVALID, "Request.body: missing");
	switch (b->type) {
	case PROTO_REQ_ISSUE:
		if ((is = b->value.issue) == NULL)
			break;
		if ((rc = check_octets(is->csr, "Request.issue.csr", 1,
		    PROTOCOL_MAX_CSR)) != CA_OK ||
		    (rc = check_attestation(is->attestation)) != CA_OK)
			return rc;
		if (is->lifetime != NULL && (rc = check_int(is->lifetime,
		    "Request.issue.lifetime", 1, PROTOCOL_MAX_LIFETIME))
		    != CA_OK)
			return rc;
		return CA_OK;
	case PROTO_REQ_NONCE:
	case PROTO_REQ_TOKEN_LIST:
	case PROTO_REQ_LOG_VERIFY:
		/* ASN.1 NULL: the decoder leaves a non-NULL marker. */
		if (b->value.nonce == NULL)
			break;
		return CA_OK;
	case PROTO_REQ_TOKEN_CREATE:
		if ((tc = b->value.token_create) == NULL)
			break;
		if ((rc = check_utf8(tc->identity,
		    "Request.tokenCreate.identity", 1, PROTOCOL_MAX_STRING))
		    != CA_OK ||
		    (rc = check_names(tc->names, "Request.tokenCreate.names"))
		    != CA_OK ||
		    (rc = check_utf8(tc->profile, "Request.tokenCreate.profile",
		    1, PROTOCOL_MAX_STRING)) != CA_OK)
			return rc;
		return check_int(tc->ttl, "Request.tokenCreate.ttl", 1,
		    PROTOCOL_MAX_LIFETIME);
	case PROTO_REQ_TOKEN_REVOKE:
		if (b->value.token_revoke == NULL)
			break;
		return check_utf8(b->value.token_revoke->token_id,
		    "Request.tokenRevoke.tokenId", 1, PROTOCOL_MAX_STRING);
	case PROTO_REQ_REVOKE:
		if (b->value.revoke == NULL)
			break;
		if ((rc = check_serial(b->value.revoke->serial,
		    "Request.revoke.serial")) != CA_OK)
			return rc;
		return check_reason(b->value.revoke->reason,
		    "Request.revoke.reason");
	case PROTO_REQ_REVOKE_SELECTOR:
		if (b->value.revoke_selector == NULL)
			break;
		if ((rc = check_selector(b->value.revoke_selector->selector,
		    "Request.revokeSelector.selector")) != CA_OK)
			return rc;
		return check_reason(b->value.revoke_selector->reason,
		    "Request.revokeSelector.reason");
	case PROTO_REQ_LIST:
		if ((l = b->value.list) == NULL)
			break;
		if (l->status != NULL && (rc = check_enum(l->status,
		    "Request.list.status", 0, PROTO_CERT__MAX - 1)) != CA_OK)
			return rc;
		if (l->after != NULL &&
		    (rc = check_serial(l->after, "Request.list.after")) != CA_OK)
			return rc;
		if (l->limit != NULL && (rc = check_int(l->limit,
		    "Request.list.limit", 1, PROTOCOL_MAX_LIST)) != CA_OK)
			return rc;
		if (l->selector != NULL && (rc = check_selector(l->selector,
		    "Request.list.selector")) != CA_OK)
			return rc;
		return CA_OK;
	case PROTO_REQ_CHALLENGE:
		return check_challenge_request(b->value.challenge);
	case PROTO_REQ_SHOW:
		if (b->value.show == NULL)
			break;
		return check_serial(b->value.show->serial,
		    "Request.show.serial");
	default:
		break;
	}
	return ca_error(CA_ERR_INVALID,
	    "Request.body: unknown or empty alternative %d", b->type);
}

static int
check_token_info(const PROTO_TOKEN_INFO *t, int i)
{
	int rc;

	if (t == NULL)
		return ca_error(CA_ERR_INVALID,
		    "Response.tokenList[%d]: missing", i);
	if ((rc = check_utf8(t->token_id, "TokenInfo.tokenId", 1,
	    PROTOCOL_MAX_STRING)) != CA_OK ||
	    (rc = check_utf8(t->identity, "TokenInfo.identity", 1,
	    PROTOCOL_MAX_STRING)) != CA_OK ||
	    (rc = check_names(t->names, "TokenInfo.names"))
	    != CA_OK ||
	    (rc = check_utf8(t->profile, "TokenInfo.profile", 1,
	    PROTOCOL_MAX_STRING)) != CA_OK ||
	    (rc = check_time(t->created_at, "TokenInfo.createdAt"))
	    != CA_OK ||
	    (rc = check_time(t->expires_at, "TokenInfo.expiresAt"))
	    != CA_OK ||
	    (rc = check_enum(t->state, "TokenInfo.state", 0,
	    PROTO_TOKEN__MAX - 1)) != CA_OK)
		return wrap(rc, "Response.tokenList", i);
	return CA_OK;
}

static int
check_cert_info(const PROTO_CERT_INFO *c, int i)
{
	int rc;

	if (c == NULL)
		return ca_error(CA_ERR_INVALID, "Response.certInfo: missing");
	if ((rc = check_serial(c->serial, "CertInfo.serial")) != CA_OK ||
	    (rc = check_utf8(c->subject, "CertInfo.subject", 0,
	    PROTOCOL_MAX_TEXT)) != CA_OK ||
	    (rc = check_names(c->names, "CertInfo.names")) != CA_OK ||
	    (rc = check_time(c->not_before, "CertInfo.notBefore")) != CA_OK ||
	    (rc = check_time(c->not_after, "CertInfo.notAfter")) != CA_OK ||
	    (rc = check_enum(c->status, "CertInfo.status", 0,
	    PROTO_CERT__MAX - 1)) != CA_OK ||
	    (c->revoked_at != NULL &&
	    (rc = check_time(c->revoked_at, "CertInfo.revokedAt")) != CA_OK) ||
	    (c->reason != NULL && (rc = check_enum(c->reason,
	    "CertInfo.reason", 0, 10)) != CA_OK) ||
	    (c->requester != NULL && (rc = check_utf8(c->requester,
	    "CertInfo.requester", 1, PROTOCOL_MAX_STRING)) != CA_OK) ||
	    (c->method != NULL && (rc = check_enum(c->method,
	    "CertInfo.method", 0, PROTO_ATTEST__MAX - 1)) != CA_OK) ||
	    (c->certificate != NULL && (rc = check_octets(c->certificate,
	    "CertInfo.certificate", 1, PROTOCOL_MAX_CERT)) != CA_OK) ||
	    (c->selectors != NULL && (rc = check_selectors(c->selectors,
	    "CertInfo.selectors")) != CA_OK))
		return i < 0 ? rc : wrap(rc, "Response.certList", i);
	return CA_OK;
}

static int
check_response_body(const PROTO_RESPONSE_BODY *b)
{
	const PROTO_TOKEN_CREATED *tc;
	const PROTO_LOG_VERIFY *lv;
	const PROTO_REVOKED *rv;
	int i, n, rc;

	switch (b->type) {
	case PROTO_RESP_ISSUED:
		if (b->value.issued == NULL)
			break;
		if ((rc = check_octets(b->value.issued->certificate,
		    "Response.issued.certificate", 1, PROTOCOL_MAX_CERT))
		    != CA_OK)
			return rc;
		return check_certs(b->value.issued->chain,
		    "Response.issued.chain", 0);
	case PROTO_RESP_NONCE:
		if (b->value.nonce == NULL)
			break;
		if ((rc = check_octets(b->value.nonce->nonce,
		    "Response.nonce.nonce", PROTOCOL_NONCE_LEN,
		    PROTOCOL_NONCE_LEN)) != CA_OK)
			return rc;
		return check_time(b->value.nonce->expires_at,
		    "Response.nonce.expiresAt");
	case PROTO_RESP_TOKEN_CREATED:
		if ((tc = b->value.token_created) == NULL)
			break;
		if ((rc = check_utf8(tc->token_id,
		    "Response.tokenCreated.tokenId", 1, PROTOCOL_MAX_STRING))
		    != CA_OK ||
		    (rc = check_octets(tc->secret,
		    "Response.tokenCreated.secret", PROTOCOL_SECRET_MIN,
		    PROTOCOL_SECRET_MAX)) != CA_OK)
			return rc;
		return check_time(tc->expires_at,
		    "Response.tokenCreated.expiresAt");
	case PROTO_RESP_TOKEN_LIST:
		if (b->value.token_list == NULL)
			break;
		n = sk_PROTO_TOKEN_INFO_num(b->value.token_list);
		if (n > PROTOCOL_MAX_LIST)
			return ca_error(CA_ERR_INVALID, "Response.tokenList: "
			    "%d entries, more than the limit of %d", n,
			    PROTOCOL_MAX_LIST);
		for (i = 0; i < n; i++)
			if ((rc = check_token_info(sk_PROTO_TOKEN_INFO_value(
			    b->value.token_list, i), i)) != CA_OK)
				return rc;
		return CA_OK;
	case PROTO_RESP_CERT_LIST:
		if (b->value.cert_list == NULL ||
		    b->value.cert_list->certs == NULL)
			break;
		n = sk_PROTO_CERT_INFO_num(b->value.cert_list->certs);
		if (n > PROTOCOL_MAX_LIST)
			return ca_error(CA_ERR_INVALID, "Response.certList: "
			    "%d entries, more than the limit of %d", n,
			    PROTOCOL_MAX_LIST);
		for (i = 0; i < n; i++)
			if ((rc = check_cert_info(sk_PROTO_CERT_INFO_value(
			    b->value.cert_list->certs, i), i)) != CA_OK)
				return rc;
		return CA_OK;
	case PROTO_RESP_CERT_INFO:
		return check_cert_info(b->value.cert_info, -1);
	case PROTO_RESP_REVOKED:
		if ((rv = b->value.revoked) == NULL || rv->serials == NULL)
			break;
		if ((rc = check_int(rv->count, "Response.revoked.count", 0,
		    INT64_MAX)) != CA_OK)
			return rc;
		n = sk_ASN1_INTEGER_num(rv->serials);
		if (n > PROTOCOL_MAX_LIST || n > ASN1_INTEGER_get(rv->count))
			return ca_error(CA_ERR_INVALID, "Response.revoked."
			    "serials: %d entries, more than the count or the "
			    "limit of %d", n, PROTOCOL_MAX_LIST);
		for (i = 0; i < n; i++)
			if ((rc = check_serial(sk_ASN1_INTEGER_value(
			    rv->serials, i), "Response.revoked.serials")) !=
			    CA_OK)
				return wrap(rc, "Response.revoked", i);
		return CA_OK;
	case PROTO_RESP_CHALLENGE:
		if (b->value.challenge == NULL)
			break;
		return check_challenge_response(b->value.challenge);
	case PROTO_RESP_LOG_VERIFY:
		if ((lv = b->value.log_verify) == NULL)
			break;
		if ((rc = check_int(lv->entries, "Response.logVerify.entries",
		    0, INT64_MAX)) != CA_OK)
			return rc;
		if (lv->first_bad != NULL && (rc = check_int(lv->first_bad,
		    "Response.logVerify.firstBad", 1, INT64_MAX)) != CA_OK)
			return rc;
		if (lv->head != NULL && (rc = check_octets(lv->head,
		    "Response.logVerify.head", PROTOCOL_HASH_LEN,
		    PROTOCOL_HASH_LEN)) != CA_OK)
			return rc;
		return CA_OK;
	default:
		break;
	}
	return ca_error(CA_ERR_INVALID,
	    "Response.body: unknown or empty alternative %d", b->type);
}

int
protocol_response_check(const PROTO_RESPONSE *resp)
{
	int rc;

	if (resp == NULL)
		return ca_error(CA_ERR_INVALID, "Response: missing");
	if ((rc = check_version(resp->version, "Response.version")) != CA_OK)
		return rc;
	/* Unknown (newer) status values are accepted; see the header. */
	if ((rc = check_enum(resp->status, "Response.status", 0, INT32_MAX))
	    != CA_OK ||
	    (rc = check_utf8(resp->message, "Response.message", 0,
	    PROTOCOL_MAX_TEXT)) != CA_OK)
		return rc;
	if (resp->body == NULL)
		return CA_OK;
	if (ASN1_ENUMERATED_get(resp->status) != PROTOCOL_OK)
		return ca_error(CA_ERR_INVALID,
		    "Response.body: present with a status other than ok");
	return check_response_body(resp->body);
}

/*
 * version_probe: when a message does not decode, find out whether it is
 * at least a SEQUENCE starting with an INTEGER other than ours, so that a
 * newer peer hears "unsupportedVersion" and not "badRequest". Uses
 * OpenSSL's TLV reader; returns 1 for "another version", else 0.
 */
static int
version_probe(const uint8_t *buf, size_t len)
{
	const unsigned char *p = buf;
	ASN1_INTEGER *v = NULL;
	long plen;
	int64_t n;
	int tag, xclass, ret, other = 0;

	if (len > LONG_MAX)
		return 0;
	ret = ASN1_get_object(&p, &plen, &tag, &xclass, (long)len);
	if ((ret & 0x80) || !(ret & V_ASN1_CONSTRUCTED) ||
	    tag != V_ASN1_SEQUENCE || xclass != V_ASN1_UNIVERSAL)
		goto out;
	if ((v = d2i_ASN1_INTEGER(NULL, &p, (long)(buf + len - p))) == NULL)
		goto out;
	other = !ASN1_INTEGER_get_int64(&n, v) || n != PROTOCOL_VERSION;
 out:
	ASN1_INTEGER_free(v);
	ERR_clear_error();
	return other;
}

/*
 * decode: the steps every message goes through. what names the message
 * in errors; check applies its rules.
 */
static int
decode(ASN1_VALUE **out, enum protocol_status *status, const ASN1_ITEM *it,
    const char *what, int (*check)(const ASN1_VALUE *), const uint8_t *buf,
    size_t len)
{
	ASN1_VALUE *v = NULL;
	const unsigned char *p = buf;
	unsigned char *der = NULL;
	enum protocol_status st = PROTOCOL_BAD_REQUEST;
	int n, rc = CA_ERR_INVALID;

	*out = NULL;
	if (len == 0) {
		rc = ca_error(CA_ERR_INVALID, "%s: empty message", what);
		goto out;
	}
	if (len > PROTOCOL_MAX_MESSAGE) {
		st = PROTOCOL_TOO_LARGE;
		rc = ca_error(CA_ERR_INVALID, "%s: %zu bytes, more than the "
		    "limit of %d bytes", what, len, PROTOCOL_MAX_MESSAGE);
		goto out;
	}
	if ((v = ASN1_item_d2i(NULL, &p, (long)len, it)) == NULL) {
		if (version_probe(buf, len)) {
			st = PROTOCOL_UNSUPPORTED_VERSION;
			rc = ca_error(CA_ERR_UNSUPPORTED, "%s.version: version "
			    "not supported; this side speaks version %d",
			    what, PROTOCOL_VERSION);
		} else
			rc = ca_error_openssl(CA_ERR_INVALID,
			    "%s: not a valid DER %s", what, what);
		goto out;
	}
	if ((size_t)(p - buf) != len) {
		rc = ca_error(CA_ERR_INVALID, "%s: %zu trailing bytes after "
		    "the message", what, len - (size_t)(p - buf));
		goto out;
	}
	/* DER is canonical: re-encoding must give back the input. */
	if ((n = ASN1_item_i2d(v, &der, it)) <= 0) {
		rc = ca_error_openssl(CA_ERR_INVALID, "%s: decoded value does "
		    "not encode again", what);
		goto out;
	}
	if ((size_t)n != len || memcmp(der, buf, len) != 0) {
		rc = ca_error(CA_ERR_INVALID, "%s: X.690 10: encoding is BER, "
		    "not DER", what);
		goto out;
	}
	if ((rc = check(v)) != CA_OK) {
		if (rc == CA_ERR_UNSUPPORTED)
			st = PROTOCOL_UNSUPPORTED_VERSION;
		goto out;
	}
	*out = v;
	v = NULL;
	st = PROTOCOL_OK;
	rc = CA_OK;
 out:
	OPENSSL_free(der);
	ASN1_item_free(v, it);
	ERR_clear_error();
	if (status != NULL)
		*status = st;
	return rc;
}

static int
encode(uint8_t **out, size_t *out_len, const ASN1_ITEM *it, const char *what,
    int (*check)(const ASN1_VALUE *), const ASN1_VALUE *v)
{
	unsigned char *der = NULL;
	int n, rc;

	*out = NULL;
	*out_len = 0;
	if ((rc = check(v)) != CA_OK)
		return rc;
	if ((n = ASN1_item_i2d(v, &der, it)) <= 0)
		return ca_error_openssl(CA_ERR_NOMEM, "%s: encoding", what);
	if (n > PROTOCOL_MAX_MESSAGE) {
		OPENSSL_free(der);
		return ca_error(CA_ERR_INVALID, "%s: %d bytes, more than the "
		    "limit of %d bytes", what, n, PROTOCOL_MAX_MESSAGE);
	}
	*out = der;
	*out_len = (size_t)n;
	return CA_OK;
}

static int
check_request_v(const ASN1_VALUE *v)
{
	return protocol_request_check((const PROTO_REQUEST *)v);
}

static int
check_response_v(const ASN1_VALUE *v)
{
	return protocol_response_check((const PROTO_RESPONSE *)v);
}

static int
check_platform_doc_v(const ASN1_VALUE *v)
{
	return check_platform_doc((const PROTO_PLATFORM_DOC *)v);
}

int
protocol_request_decode(PROTO_REQUEST **out, enum protocol_status *status,
    const uint8_t *buf, size_t len)
{
	return decode((ASN1_VALUE **)out, status, ASN1_ITEM_rptr(PROTO_REQUEST),
	    "Request", check_request_v, buf, len);
}

int
protocol_response_decode(PROTO_RESPONSE **out, enum protocol_status *status,
    const uint8_t *buf, size_t len)
{
	return decode((ASN1_VALUE **)out, status,
	    ASN1_ITEM_rptr(PROTO_RESPONSE), "Response", check_response_v, buf,
	    len);
}

int
protocol_platform_doc_decode(PROTO_PLATFORM_DOC **out, const uint8_t *buf,
    size_t len)
{
	if (len > PROTOCOL_MAX_DOCUMENT) {
		*out = NULL;
		return ca_error(CA_ERR_INVALID, "PlatformDocument: %zu bytes, "
		    "more than the limit of %d bytes", len,
		    PROTOCOL_MAX_DOCUMENT);
	}
	return decode((ASN1_VALUE **)out, NULL,
	    ASN1_ITEM_rptr(PROTO_PLATFORM_DOC), "PlatformDocument",
	    check_platform_doc_v, buf, len);
}

int
protocol_request_encode(uint8_t **out, size_t *out_len,
    const PROTO_REQUEST *req)
{
	return encode(out, out_len, ASN1_ITEM_rptr(PROTO_REQUEST), "Request",
	    check_request_v, (const ASN1_VALUE *)req);
}

int
protocol_response_encode(uint8_t **out, size_t *out_len,
    const PROTO_RESPONSE *resp)
{
	return encode(out, out_len, ASN1_ITEM_rptr(PROTO_RESPONSE), "Response",
	    check_response_v, (const ASN1_VALUE *)resp);
}

int
protocol_platform_doc_encode(uint8_t **out, size_t *out_len,
    const PROTO_PLATFORM_DOC *doc)
{
	return encode(out, out_len, ASN1_ITEM_rptr(PROTO_PLATFORM_DOC),
	    "PlatformDocument", check_platform_doc_v,
	    (const ASN1_VALUE *)doc);
}

char *
protocol_string_dup(const ASN1_STRING *s)
{
	char *r;
	int len;

	if (s == NULL)
		return NULL;
	len = ASN1_STRING_length(s);
	if (len < 0 || memchr(ASN1_STRING_get0_data(s), '\0', (size_t)len))
		return NULL;
	if ((r = malloc((size_t)len + 1)) == NULL)
		return NULL;
	memcpy(r, ASN1_STRING_get0_data(s), (size_t)len);
	r[len] = '\0';
	return r;
}
