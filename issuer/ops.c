/* SPDX-License-Identifier: ISC */
/*
 * ops: operator commands over the operator socket (see ops.h). Each one
 * is a thin layer over the issuance log's writer API; the log appends the
 * chain entries (token-create, token-revoke, revoke) itself. Listings hold
 * the log's lock while they run, so they are capped at PROTOCOL_MAX_LIST
 * entries per reply (the client pages through with "after").
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/x509.h>

#include "common/ca_error.h"
#include "common/fileio.h"
#include "attest/join_token.h"
#include "issuer/ops.h"
#include "issuer/policy.h"

int
ops_serial_from_asn1(uint8_t out[ISSUANCE_LOG_SERIAL_LEN],
    const ASN1_INTEGER *a)
{
	BIGNUM *bn = NULL;
	int ret = -1;

	if (a == NULL || (bn = ASN1_INTEGER_to_BN(a, NULL)) == NULL)
		goto out;
	if (BN_is_negative(bn) || BN_is_zero(bn) ||
	    BN_num_bytes(bn) > ISSUANCE_LOG_SERIAL_LEN)
		goto out;
	if (BN_bn2binpad(bn, out, ISSUANCE_LOG_SERIAL_LEN) < 0)
		goto out;
	ret = 0;
 out:
	BN_free(bn);
	return ret;
}

static int
serial_to_asn1(ASN1_INTEGER *a, const uint8_t serial[ISSUANCE_LOG_SERIAL_LEN])
{
	BIGNUM *bn;
	int ok;

	if ((bn = BN_bin2bn(serial, ISSUANCE_LOG_SERIAL_LEN, NULL)) == NULL)
		return 0;
	ok = BN_to_ASN1_INTEGER(bn, a) != NULL;
	BN_free(bn);
	return ok;
}

static int
utf8_set(ASN1_UTF8STRING *s, const char *v)
{
	size_t len = strlen(v);

	if (len > PROTOCOL_MAX_TEXT)
		len = PROTOCOL_MAX_TEXT;
	return ASN1_STRING_set(s, v, (int)len);
}

static ASN1_UTF8STRING *
utf8_new(const char *v)
{
	ASN1_UTF8STRING *s;

	if ((s = ASN1_UTF8STRING_new()) == NULL)
		return NULL;
	if (!utf8_set(s, v)) {
		ASN1_UTF8STRING_free(s);
		return NULL;
	}
	return s;
}

/*
 * names_push adds the lines of text to sk (at most PROTOCOL_MAX_NAMES),
 * each prefixed with prefix (token grants are stored without "DNS:",
 * certificate names with it).
 */
static int
names_push(STACK_OF(ASN1_UTF8STRING) *sk, const char *text,
    const char *prefix)
{
	const char *p, *e;
	char buf[PROTOCOL_MAX_NAME_LEN + 1];
	ASN1_UTF8STRING *s;
	size_t len, plen = strlen(prefix);

	for (p = text; p != NULL && *p != '\0'; p = *e == '\0' ? e : e + 1) {
		if ((e = strchr(p, '\n')) == NULL)
			e = p + strlen(p);
		len = (size_t)(e - p);
		if (len == 0 || len + plen > PROTOCOL_MAX_NAME_LEN ||
		    sk_ASN1_UTF8STRING_num(sk) >= PROTOCOL_MAX_NAMES)
			continue;
		memcpy(buf, prefix, plen);
		memcpy(buf + plen, p, len);
		buf[plen + len] = '\0';
		if ((s = utf8_new(buf)) == NULL)
			return 0;
		if (!sk_ASN1_UTF8STRING_push(sk, s)) {
			ASN1_UTF8STRING_free(s);
			return 0;
		}
	}
	return 1;
}

static PROTO_RESPONSE *
nomem(void)
{
	return protocol_response_error(PROTOCOL_INTERNAL, "out of memory; "
	    "retry later");
}

static PROTO_RESPONSE *
log_failed(const char *what)
{
	return protocol_response_error(PROTOCOL_LOG_UNAVAILABLE, "%s: the "
	    "issuance log failed (%s); retry later", what, ca_error_detail());
}

/* --- tokens --- */

static PROTO_RESPONSE *
token_create(struct handler *h, const PROTO_TOKEN_CREATE *tc,
    struct handler_note *note)
{
	struct join_token_cred *cred = NULL;
	struct join_token_record rec;
	struct join_token t;
	char idhex[JOIN_TOKEN_ID_HEX];
	char *identity = NULL, *profile = NULL, *allowed = NULL;
	char *names[PROTOCOL_MAX_NAMES];
	size_t nnames = 0, i, len = 1;
	time_t now = time(NULL);
	int64_t ttl;
	PROTO_RESPONSE *r = NULL, *ok = NULL;
	PROTO_TOKEN_CREATED *b;
	int rc;

	note->method = "tokenCreate";
	if ((identity = protocol_string_dup(tc->identity)) == NULL ||
	    (profile = protocol_string_dup(tc->profile)) == NULL ||
	    ASN1_INTEGER_get_int64(&ttl, tc->ttl) != 1) {
		r = protocol_response_error(PROTOCOL_BAD_REQUEST, "tokenCreate: "
		    "identity, profile or ttl is not valid");
		goto out;
	}
	snprintf(note->identity, sizeof(note->identity), "%s", identity);
	if (handler_profile(h, profile) == NULL) {
		r = protocol_response_error(PROTOCOL_POLICY, "tokenCreate: "
		    "profile %s is not configured on this issuer ([issuer] "
		    "profiles); use one of them", profile);
		goto out;
	}
	for (i = 0; i < (size_t)sk_ASN1_UTF8STRING_num(tc->names) &&
	    i < PROTOCOL_MAX_NAMES; i++) {
		if ((names[nnames] = protocol_string_dup(sk_ASN1_UTF8STRING_value(
		    tc->names, (int)i))) == NULL) {
			r = protocol_response_error(PROTOCOL_BAD_REQUEST,
			    "tokenCreate: name %zu is not text", i + 1);
			goto out;
		}
		/* Accept the SubjectName form "DNS:host" too. */
		if (strncmp(names[nnames], "DNS:", 4) == 0)
			memmove(names[nnames], names[nnames] + 4,
			    strlen(names[nnames] + 4) + 1);
		len += strlen(names[nnames]) + 1;
		nnames++;
		/* A grant no certificate may carry makes a useless token. */
		if (policy_grant_check(names[nnames - 1]) == CA_OK &&
		    !handler_name_permitted(h, names[nnames - 1] +
		    (names[nnames - 1][0] == '='))) {
			r = protocol_response_error(PROTOCOL_NOT_AUTHORIZED,
			    "tokenCreate: name %s: outside the intermediate "
			    "certificate's name constraints (RFC 5280 "
			    "4.2.1.10), so no certificate could be issued for "
			    "it; grant only names this CA may issue",
			    names[nnames - 1]);
			goto out;
		}
	}
	if ((rc = join_token_generate(&cred)) != CA_OK) {
		r = nomem();
		goto out;
	}
	join_token_id_hex(idhex, cred->id);
	memset(&rec, 0, sizeof(rec));
	memcpy(rec.id, cred->id, sizeof(rec.id));
	if (join_token_hash(rec.hash, cred) != CA_OK) {
		r = nomem();
		goto out;
	}
	rec.identity = identity;
	rec.names = (const char *const *)names;
	rec.nnames = nnames;
	rec.profile = profile;
	rec.created = now;
	rec.expires = now + (time_t)ttl;
	if (join_token_record_check(&rec, now) != CA_OK) {
		r = protocol_response_error(PROTOCOL_BAD_REQUEST, "tokenCreate: "
		    "%s", ca_error_detail());
		goto out;
	}
	if ((allowed = malloc(len)) == NULL) {
		r = nomem();
		goto out;
	}
	allowed[0] = '\0';
	for (i = 0; i < nnames; i++) {
		if (i > 0)
			strcat(allowed, "\n");
		strcat(allowed, names[i]);
	}
	memset(&t, 0, sizeof(t));
	t.id = idhex;
	memcpy(t.hash, rec.hash, sizeof(t.hash));
	t.identity = identity;
	t.allowed_names = allowed;
	t.profile = profile;
	t.expires_at = (int64_t)rec.expires;
	if ((rc = issuance_log_token_create(h->log, &t)) != CA_OK) {
		r = log_failed("tokenCreate");
		goto out;
	}
	if ((ok = protocol_response_new(PROTOCOL_OK, PROTO_RESP_TOKEN_CREATED,
	    "join token %s for %s created; its secret is shown only now",
	    idhex, identity)) == NULL)
		goto out;
	b = ok->body->value.token_created;
	if (!utf8_set(b->token_id, idhex) ||
	    !ASN1_OCTET_STRING_set(b->secret, cred->secret,
	    sizeof(cred->secret)) ||
	    ASN1_GENERALIZEDTIME_set(b->expires_at, rec.expires) == NULL)
		goto out;
	r = ok;
	ok = NULL;
 out:
	if (ok != NULL) {
		/* The secret may be in it: wipe before freeing. */
		if (ok->body != NULL &&
		    ok->body->value.token_created->secret != NULL)
			OPENSSL_cleanse(ok->body->value.token_created->
			    secret->data, (size_t)ok->body->value.
			    token_created->secret->length);
		PROTO_RESPONSE_free(ok);
	}
	join_token_cred_free(cred);
	for (i = 0; i < nnames; i++)
		free(names[i]);
	free(allowed);
	free(identity);
	free(profile);
	return r;
}

struct token_list_ctx {
	STACK_OF(PROTO_TOKEN_INFO) *sk;
	int64_t now;
	size_t total;
	int failed;
};

static int
token_list_cb(const struct join_token *t, void *arg)
{
	struct token_list_ctx *c = arg;
	PROTO_TOKEN_INFO *ti = NULL;
	int state;

	c->total++;
	if (sk_PROTO_TOKEN_INFO_num(c->sk) >= PROTOCOL_MAX_LIST)
		return 0;
	if (t->revoked_at != 0)
		state = PROTO_TOKEN_REVOKED;
	else if (t->used_at != 0)
		state = PROTO_TOKEN_USED;
	else if (t->expires_at <= c->now)
		state = PROTO_TOKEN_EXPIRED;
	else
		state = PROTO_TOKEN_ACTIVE;
	if ((ti = PROTO_TOKEN_INFO_new()) == NULL ||
	    !utf8_set(ti->token_id, t->id) ||
	    !utf8_set(ti->identity, t->identity) ||
	    !names_push(ti->names, t->allowed_names, "DNS:") ||
	    !utf8_set(ti->profile, t->profile) ||
	    ASN1_GENERALIZEDTIME_set(ti->created_at,
	    (time_t)t->created_at) == NULL ||
	    ASN1_GENERALIZEDTIME_set(ti->expires_at,
	    (time_t)t->expires_at) == NULL ||
	    !ASN1_ENUMERATED_set(ti->state, state) ||
	    !sk_PROTO_TOKEN_INFO_push(c->sk, ti)) {
		PROTO_TOKEN_INFO_free(ti);
		c->failed = 1;
		return 1;
	}
	return 0;
}

static PROTO_RESPONSE *
token_list(struct handler *h, struct handler_note *note)
{
	struct token_list_ctx c;
	PROTO_RESPONSE *r;

	note->method = "tokenList";
	if ((r = protocol_response_new(PROTOCOL_OK, PROTO_RESP_TOKEN_LIST,
	    "tokens")) == NULL)
		return NULL;
	memset(&c, 0, sizeof(c));
	c.sk = r->body->value.token_list;
	c.now = (int64_t)time(NULL);
	if (issuance_log_token_list(h->log, token_list_cb, &c) != CA_OK) {
		PROTO_RESPONSE_free(r);
		return log_failed("tokenList");
	}
	if (c.failed) {
		PROTO_RESPONSE_free(r);
		return nomem();
	}
	if (c.total > PROTOCOL_MAX_LIST) {
		PROTO_RESPONSE_free(r);
		r = protocol_response_new(PROTOCOL_OK, PROTO_RESP_TOKEN_LIST,
		    "the oldest %d of %zu tokens", PROTOCOL_MAX_LIST, c.total);
		if (r == NULL)
			return NULL;
		memset(&c, 0, sizeof(c));
		c.sk = r->body->value.token_list;
		c.now = (int64_t)time(NULL);
		if (issuance_log_token_list(h->log, token_list_cb, &c) !=
		    CA_OK || c.failed) {
			PROTO_RESPONSE_free(r);
			return log_failed("tokenList");
		}
	}
	return r;
}

static PROTO_RESPONSE *
token_revoke(struct handler *h, const PROTO_TOKEN_REVOKE *tr,
    struct handler_note *note)
{
	PROTO_RESPONSE *r;
	char *id;
	int rc;

	note->method = "tokenRevoke";
	if ((id = protocol_string_dup(tr->token_id)) == NULL)
		return protocol_response_error(PROTOCOL_BAD_REQUEST,
		    "tokenRevoke: the token id is not text");
	snprintf(note->identity, sizeof(note->identity), "token %s", id);
	rc = issuance_log_token_revoke(h->log, id);
	if (rc == CA_OK)
		r = protocol_response_new(PROTOCOL_OK, -1, "join token %s "
		    "revoked", id);
	else if (rc == CA_ERR_NOT_FOUND)
		r = protocol_response_error(PROTOCOL_NOT_FOUND, "join token "
		    "%s: no such token; check the id with `carapace token "
		    "list`", id);
	else if (rc == CA_ERR_EXISTS)
		r = protocol_response_error(PROTOCOL_CONFLICT, "join token %s: "
		    "%s; nothing changed", id, ca_error_detail());
	else
		r = log_failed("tokenRevoke");
	free(id);
	return r;
}

/* --- certificates --- */

static int
cert_status(enum issuance_status s)
{
	switch (s) {
	case ISSUANCE_ISSUED:
		return PROTO_CERT_GOOD;
	case ISSUANCE_REVOKED:
		return PROTO_CERT_REVOKED;
	case ISSUANCE_ABANDONED:
		return PROTO_CERT_ABANDONED;
	default:
		return PROTO_CERT_RESERVED;
	}
}

static int
method_of(const char *attestation)
{
	if (attestation == NULL)
		return -1;
	if (strcmp(attestation, "join-token") == 0)
		return PROTO_ATTEST_JOIN_TOKEN;
	if (strcmp(attestation, "x509pop") == 0)
		return PROTO_ATTEST_X509_POP;
	if (strcmp(attestation, "iid") == 0)
		return PROTO_ATTEST_IDENTITY_DOC;
	if (strcmp(attestation, "tpm") == 0)
		return PROTO_ATTEST_TPM;
	return -1;
}

/*
 * selectors_push gives ci the selectors of c, the first
 * PROTOCOL_MAX_SELECTORS of them (sorted; the log keeps them all).
 */
static int
selectors_push(PROTO_CERT_INFO *ci, const struct issuance_cert *c)
{
	ASN1_UTF8STRING *s;
	size_t i;

	if ((ci->selectors = sk_ASN1_UTF8STRING_new_null()) == NULL)
		return 0;
	for (i = 0; i < c->nselectors && i < PROTOCOL_MAX_SELECTORS; i++) {
		if (strlen(c->selectors[i]) > PROTOCOL_MAX_SELECTOR_LEN)
			continue;
		if ((s = utf8_new(c->selectors[i])) == NULL)
			return 0;
		if (!sk_ASN1_UTF8STRING_push(ci->selectors, s)) {
			ASN1_UTF8STRING_free(s);
			return 0;
		}
	}
	return 1;
}

/*
 * cert_info makes a CertInfo for c (with the DER and the selectors when c
 * has them).
 */
static PROTO_CERT_INFO *
cert_info(const struct issuance_cert *c)
{
	PROTO_CERT_INFO *ci = NULL;
	int m;

	if ((ci = PROTO_CERT_INFO_new()) == NULL ||
	    !serial_to_asn1(ci->serial, c->serial) ||
	    !utf8_set(ci->subject, c->subject != NULL ? c->subject : "") ||
	    !names_push(ci->names, c->names, "") ||
	    ASN1_GENERALIZEDTIME_set(ci->not_before,
	    (time_t)c->not_before) == NULL ||
	    ASN1_GENERALIZEDTIME_set(ci->not_after,
	    (time_t)c->not_after) == NULL ||
	    !ASN1_ENUMERATED_set(ci->status, cert_status(c->status)))
		goto fail;
	if (c->status == ISSUANCE_REVOKED) {
		if ((ci->revoked_at = ASN1_GENERALIZEDTIME_set(NULL,
		    (time_t)c->revoked_at)) == NULL ||
		    (ci->reason = ASN1_ENUMERATED_new()) == NULL ||
		    !ASN1_ENUMERATED_set(ci->reason, c->reason))
			goto fail;
	}
	if (c->requester != NULL && c->requester[0] != '\0' &&
	    strlen(c->requester) <= PROTOCOL_MAX_STRING &&
	    (ci->requester = utf8_new(c->requester)) == NULL)
		goto fail;
	if ((m = method_of(c->attestation)) >= 0 &&
	    ((ci->method = ASN1_ENUMERATED_new()) == NULL ||
	    !ASN1_ENUMERATED_set(ci->method, m)))
		goto fail;
	if (c->nselectors > 0 && !selectors_push(ci, c))
		goto fail;
	if (c->der != NULL && c->der_len > 0 &&
	    c->der_len <= PROTOCOL_MAX_CERT &&
	    ((ci->certificate = ASN1_OCTET_STRING_new()) == NULL ||
	    !ASN1_OCTET_STRING_set(ci->certificate, c->der,
	    (int)c->der_len)))
		goto fail;
	return ci;
 fail:
	PROTO_CERT_INFO_free(ci);
	return NULL;
}

static PROTO_RESPONSE *
cert_response(const struct issuance_cert *c, const char *msg)
{
	PROTO_RESPONSE *r;
	PROTO_CERT_INFO *ci;

	if ((ci = cert_info(c)) == NULL ||
	    (r = protocol_response_new(PROTOCOL_OK, PROTO_RESP_CERT_INFO, "%s",
	    msg)) == NULL) {
		PROTO_CERT_INFO_free(ci);
		return NULL;
	}
	PROTO_CERT_INFO_free(r->body->value.cert_info);
	r->body->value.cert_info = ci;
	return r;
}

static PROTO_RESPONSE *
revoke(struct handler *h, const PROTO_REVOKE_REQUEST *rr,
    struct handler_note *note)
{
	uint8_t serial[ISSUANCE_LOG_SERIAL_LEN];
	struct issuance_cert *c = NULL;
	PROTO_RESPONSE *r;
	long reason;
	int rc;

	note->method = "revoke";
	if (ops_serial_from_asn1(serial, rr->serial) != 0)
		return protocol_response_error(PROTOCOL_NOT_FOUND, "revoke: "
		    "no certificate of this issuer has that serial (they are "
		    "16 octets); check it with `carapace list`");
	fileio_hex(note->serial, serial, sizeof(serial));
	reason = ASN1_ENUMERATED_get(rr->reason);
	rc = issuance_log_revoke(h->log, serial, (int)reason);
	if (rc == CA_ERR_NOT_FOUND)
		return protocol_response_error(PROTOCOL_NOT_FOUND, "revoke: "
		    "%s; check it with `carapace list`", ca_error_detail());
	if (rc == CA_ERR_EXISTS)
		return protocol_response_error(PROTOCOL_CONFLICT, "revoke: "
		    "%s; nothing changed", ca_error_detail());
	if (rc == CA_ERR_INVALID || rc == CA_ERR_USAGE)
		return protocol_response_error(PROTOCOL_BAD_REQUEST, "revoke: "
		    "%s", ca_error_detail());
	if (rc != CA_OK)
		return log_failed("revoke");
	if (issuance_log_find(h->log, &c, serial) != CA_OK)
		return protocol_response_new(PROTOCOL_OK, -1, "serial %s "
		    "revoked", note->serial);
	if (c->subject != NULL)
		snprintf(note->identity, sizeof(note->identity), "%s",
		    c->subject);
	r = cert_response(c, "revoked");
	issuance_cert_free(c);
	return r;
}

static PROTO_RESPONSE *
revoke_selector(struct handler *h, const PROTO_REVOKE_SELECTOR *rs,
    struct handler_note *note)
{
	PROTO_RESPONSE *r = NULL;
	PROTO_REVOKED *b;
	ASN1_INTEGER *a;
	uint8_t *serials = NULL;
	char *selector = NULL;
	size_t n = 0, i;
	int rc;

	note->method = "revokeSelector";
	if ((selector = protocol_string_dup(rs->selector)) == NULL)
		return protocol_response_error(PROTOCOL_BAD_REQUEST,
		    "revokeSelector: the selector is not text");
	snprintf(note->identity, sizeof(note->identity), "%s", selector);
	rc = issuance_log_revoke_selector(h->log, selector,
	    (int)ASN1_ENUMERATED_get(rs->reason), &n, &serials);
	if (rc == CA_ERR_INVALID || rc == CA_ERR_USAGE) {
		r = protocol_response_error(PROTOCOL_BAD_REQUEST,
		    "revokeSelector: %s; nothing was revoked",
		    ca_error_detail());
		goto out;
	}
	if (rc != CA_OK) {
		r = log_failed("revokeSelector");
		goto out;
	}
	if (n == 0)
		r = protocol_response_new(PROTOCOL_OK, PROTO_RESP_REVOKED,
		    "no issued certificate carries selector %s; nothing was "
		    "revoked", selector);
	else
		r = protocol_response_new(PROTOCOL_OK, PROTO_RESP_REVOKED,
		    "%zu certificate%s with selector %s revoked", n,
		    n == 1 ? "" : "s", selector);
	if (r == NULL)
		goto out;
	b = r->body->value.revoked;
	if (!ASN1_INTEGER_set_int64(b->count, (int64_t)n))
		goto fail;
	for (i = 0; i < n && i < PROTOCOL_MAX_LIST; i++) {
		if ((a = ASN1_INTEGER_new()) == NULL)
			goto fail;
		if (!serial_to_asn1(a, serials + i * ISSUANCE_LOG_SERIAL_LEN) ||
		    !sk_ASN1_INTEGER_push(b->serials, a)) {
			ASN1_INTEGER_free(a);
			goto fail;
		}
	}
	goto out;
 fail:
	PROTO_RESPONSE_free(r);
	r = protocol_response_error(PROTOCOL_INTERNAL, "revokeSelector: "
	    "%zu certificates with selector %s were revoked, but the answer "
	    "could not be built; see them with `carapace list --selector`",
	    n, selector);
 out:
	free(serials);
	free(selector);
	return r;
}

static PROTO_RESPONSE *
show(struct handler *h, const PROTO_SHOW_REQUEST *sr,
    struct handler_note *note)
{
	uint8_t serial[ISSUANCE_LOG_SERIAL_LEN];
	struct issuance_cert *c = NULL;
	PROTO_RESPONSE *r;
	int rc;

	note->method = "show";
	if (ops_serial_from_asn1(serial, sr->serial) != 0)
		return protocol_response_error(PROTOCOL_NOT_FOUND, "show: no "
		    "certificate of this issuer has that serial");
	fileio_hex(note->serial, serial, sizeof(serial));
	rc = issuance_log_find(h->log, &c, serial);
	if (rc == CA_ERR_NOT_FOUND)
		return protocol_response_error(PROTOCOL_NOT_FOUND, "show: "
		    "serial %s is not in the issuance log; check it with "
		    "`carapace list`", note->serial);
	if (rc != CA_OK)
		return log_failed("show");
	r = cert_response(c, issuance_status_name(c->status));
	issuance_cert_free(c);
	return r;
}

struct list_ctx {
	STACK_OF(PROTO_CERT_INFO) *sk;
	int status;			/* -1: all */
	const uint8_t *after;		/* NULL: from the start */
	int skipping;
	long limit;
	int more, failed;
};

static int
list_cb(const struct issuance_cert *c, void *arg)
{
	struct list_ctx *l = arg;
	PROTO_CERT_INFO *ci;

	if (l->skipping) {
		if (memcmp(c->serial, l->after, ISSUANCE_LOG_SERIAL_LEN) == 0)
			l->skipping = 0;
		return 0;
	}
	if (l->status >= 0 && cert_status(c->status) != l->status)
		return 0;
	if (sk_PROTO_CERT_INFO_num(l->sk) >= l->limit) {
		l->more = 1;
		return 1;
	}
	if ((ci = cert_info(c)) == NULL || !sk_PROTO_CERT_INFO_push(l->sk,
	    ci)) {
		PROTO_CERT_INFO_free(ci);
		l->failed = 1;
		return 1;
	}
	return 0;
}

static PROTO_RESPONSE *
list(struct handler *h, const PROTO_LIST_REQUEST *lr,
    struct handler_note *note)
{
	uint8_t after[ISSUANCE_LOG_SERIAL_LEN];
	struct list_ctx l;
	PROTO_RESPONSE *r;
	char *selector = NULL;
	int rc;

	note->method = "list";
	memset(&l, 0, sizeof(l));
	l.status = lr->status != NULL ? (int)ASN1_ENUMERATED_get(lr->status) :
	    -1;
	l.limit = lr->limit != NULL ? ASN1_INTEGER_get(lr->limit) :
	    HANDLER_LIST_DEFAULT;
	if (l.limit < 1 || l.limit > PROTOCOL_MAX_LIST)
		l.limit = HANDLER_LIST_DEFAULT;
	if (lr->after != NULL) {
		if (ops_serial_from_asn1(after, lr->after) != 0)
			return protocol_response_error(PROTOCOL_NOT_FOUND,
			    "list: the serial to continue after is not one of "
			    "this issuer's");
		l.after = after;
		l.skipping = 1;
	}
	if (lr->selector != NULL) {
		if ((selector = protocol_string_dup(lr->selector)) == NULL)
			return protocol_response_error(PROTOCOL_BAD_REQUEST,
			    "list: the selector is not text");
		snprintf(note->identity, sizeof(note->identity), "%s",
		    selector);
	}
	if ((r = protocol_response_new(PROTOCOL_OK, PROTO_RESP_CERT_LIST,
	    "certificates")) == NULL) {
		free(selector);
		return NULL;
	}
	l.sk = r->body->value.cert_list->certs;
	if (selector != NULL)
		rc = issuance_log_foreach_selector(h->log, selector, list_cb,
		    &l);
	else
		rc = issuance_log_foreach(h->log, list_cb, &l);
	if (rc == CA_ERR_INVALID) {
		PROTO_RESPONSE_free(r);
		r = protocol_response_error(PROTOCOL_BAD_REQUEST, "list: %s",
		    ca_error_detail());
		goto out;
	}
	if (rc != CA_OK) {
		PROTO_RESPONSE_free(r);
		r = log_failed("list");
		goto out;
	}
	if (l.failed) {
		PROTO_RESPONSE_free(r);
		r = nomem();
		goto out;
	}
	r->body->value.cert_list->more = l.more ? 0xff : 0;
 out:
	free(selector);
	return r;
}

static PROTO_RESPONSE *
log_verify(struct handler *h, struct handler_note *note)
{
	struct issuance_verify_report rep;
	PROTO_RESPONSE *r;
	PROTO_LOG_VERIFY *b;
	int rc;

	note->method = "logVerify";
	memset(&rep, 0, sizeof(rep));
	rc = issuance_log_verify(h->log, &rep);
	if (rc != CA_OK && rc != CA_ERR_VERIFY)
		return log_failed("logVerify");
	if (rc == CA_OK)
		r = protocol_response_new(PROTOCOL_OK, PROTO_RESP_LOG_VERIFY,
		    "OK: %lld entries", (long long)rep.entries);
	else
		r = protocol_response_new(PROTOCOL_OK, PROTO_RESP_LOG_VERIFY,
		    "FAILED at entry %lld: %s", (long long)rep.bad_seq,
		    rep.what);
	if (r == NULL)
		return NULL;
	b = r->body->value.log_verify;
	if (!ASN1_INTEGER_set_int64(b->entries, rep.entries))
		goto fail;
	if (rc == CA_ERR_VERIFY && rep.bad_seq > 0 &&
	    ((b->first_bad = ASN1_INTEGER_new()) == NULL ||
	    !ASN1_INTEGER_set_int64(b->first_bad, rep.bad_seq)))
		goto fail;
	if (rep.entries > 0 && ((b->head = ASN1_OCTET_STRING_new()) == NULL ||
	    !ASN1_OCTET_STRING_set(b->head, rep.head, sizeof(rep.head))))
		goto fail;
	return r;
 fail:
	PROTO_RESPONSE_free(r);
	return NULL;
}

int
ops_handle(struct handler *h, PROTO_RESPONSE **resp, const PROTO_REQUEST *req,
    struct handler_note *note)
{
	const PROTO_REQUEST_BODY *b = req->body;
	PROTO_RESPONSE *r = NULL;

	switch (b->type) {
	case PROTO_REQ_TOKEN_CREATE:
		r = token_create(h, b->value.token_create, note);
		break;
	case PROTO_REQ_TOKEN_LIST:
		r = token_list(h, note);
		break;
	case PROTO_REQ_TOKEN_REVOKE:
		r = token_revoke(h, b->value.token_revoke, note);
		break;
	case PROTO_REQ_REVOKE:
		r = revoke(h, b->value.revoke, note);
		break;
	case PROTO_REQ_LIST:
		r = list(h, b->value.list, note);
		break;
	case PROTO_REQ_REVOKE_SELECTOR:
		r = revoke_selector(h, b->value.revoke_selector, note);
		break;
	case PROTO_REQ_SHOW:
		r = show(h, b->value.show, note);
		break;
	case PROTO_REQ_LOG_VERIFY:
		r = log_verify(h, note);
		break;
	default:
		note->method = "?";
		r = protocol_response_error(PROTOCOL_BAD_REQUEST, "unknown "
		    "request");
		break;
	}
	*resp = r;
	return r != NULL ? CA_OK : CA_ERR_NOMEM;
}
