/* SPDX-License-Identifier: ISC */
/*
 * handler: one request in, one response out (see handler.h for the steps
 * of an issue request). Everything that can refuse a request runs before
 * the serial is reserved, so a refusal changes nothing in the log; the
 * join token is consumed (and an identity document's instance marked seen)
 * only by issuance_log_complete, in the same transaction that records the
 * certificate, and the certificate is returned only after that commit.
 */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "common/ca_error.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/profile.h"
#include "common/weak_key.h"
#include "issuer/csr.h"
#include "issuer/handler.h"
#include "issuer/ops.h"

/* Everything one issue request collects on its way. */
struct issue {
	struct csr_request *req;	/* the checked CSR: key, CN, names */
	struct attest_result att;	/* what its attestor found */
	struct policy_decision *dec;
};

const struct leaf_profile *
handler_profile(const struct handler *h, const char *name)
{
	size_t i;

	for (i = 0; i < h->nprofiles; i++)
		if (strcmp(h->profiles[i]->name, name) == 0)
			return h->profiles[i];
	return NULL;
}

static PROTO_RESPONSE *
refuse(enum protocol_status st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static PROTO_RESPONSE *
refuse(enum protocol_status st, const char *fmt, ...)
{
	char msg[PROTOCOL_MAX_TEXT + 1];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return protocol_response_error(st, "%s", msg);
}

/* unavailable maps an HSM or log failure to the status a client acts on. */
static PROTO_RESPONSE *
unavailable(int rc, const char *what)
{
	struct attest_result res;

	memset(&res, 0, sizeof(res));
	attest_unavailable(&res, rc, what);
	return refuse(res.status, "%s", res.message);
}

/*
 * csr_refusal answers a CSR that csr_request_decode refused (rc): badCsr
 * or policy with its message, or internal.
 */
static PROTO_RESPONSE *
csr_refusal(int rc)
{
	switch (rc) {
	case CA_ERR_INVALID:
		return refuse(PROTOCOL_BAD_CSR, "%s", ca_error_detail());
	case CA_ERR_POLICY:
		return refuse(PROTOCOL_POLICY, "%s", ca_error_detail());
	default:
		return refuse(PROTOCOL_INTERNAL, "out of memory; retry later");
	}
}

static void
issue_clear(struct issue *is)
{
	csr_request_free(is->req);
	attest_result_free(&is->att);
	policy_decision_free(is->dec);
}

static PROTO_RESPONSE *issued_response(const struct handler *h,
    const uint8_t *der, size_t len, const char *msg);

/*
 * resent_answer answers a request that repeats one whose certificate is
 * already recorded: serial was paid for with the same attestation (the
 * join token, or the identity document's instance, that the caller found
 * used) and the log holds the hash of the same CSR content (subject, key,
 * names asked for: csr_request.info_hash; the signature may differ, as
 * ECDSA signs anew). A client whose answer was lost (the issuer died
 * between the commit and the reply, the connection broke, nng resent the
 * request, the client ran again with the same key) gets the certificate it
 * already paid for, not a refusal; another key or other names are still
 * refused by the caller. The certificate must still be issued (not
 * revoked) and unexpired. Returns NULL when the request is not such a
 * resend, or when the log cannot say (the caller then refuses as before).
 */
static PROTO_RESPONSE *
resent_answer(struct handler *h, const struct issue *is,
    const uint8_t serial[ISSUANCE_LOG_SERIAL_LEN], struct handler_note *note)
{
	struct issuance_cert *c = NULL;
	PROTO_RESPONSE *r = NULL;
	char hex[2 * ISSUANCE_LOG_SERIAL_LEN + 1];

	if (issuance_log_find(h->log, &c, serial) != CA_OK)
		goto out;
	if (c->status != ISSUANCE_ISSUED || c->der == NULL ||
	    c->request_hash_len != sizeof(is->req->info_hash) ||
	    CRYPTO_memcmp(c->request_hash, is->req->info_hash,
	    sizeof(is->req->info_hash)) != 0 ||
	    c->not_after <= (int64_t)time(NULL) ||
	    c->attestation == NULL || is->att.attestation == NULL ||
	    strcmp(c->attestation, is->att.attestation) != 0)
		goto out;
	fileio_hex(hex, serial, ISSUANCE_LOG_SERIAL_LEN);
	if ((r = issued_response(h, c->der, c->der_len, "certificate "
	    "issued earlier for this same request (the same attestation, "
	    "key and names)")) == NULL)
		goto out;
	memcpy(note->serial, hex, sizeof(note->serial));
	log_info("serial %s: %s resent the request it was issued for; "
	    "answering with the recorded certificate", hex, is->att.who);
 out:
	issuance_cert_free(c);
	return r;
}

/*
 * attest_refusal answers a request whose attestor refused it: with the
 * certificate already recorded for it when the evidence was spent on this
 * same request (resent_answer), else with the attestor's refusal.
 */
static PROTO_RESPONSE *
attest_refusal(struct handler *h, const struct issue *is,
    struct handler_note *note)
{
	PROTO_RESPONSE *r;

	if (is->att.spent && (r = resent_answer(h, is, is->att.spent_serial,
	    note)) != NULL)
		return r;
	return refuse(is->att.status, "%s", is->att.message);
}

/* names_join: "DNS:a\nDNS:b" for the log. */
static char *
names_join(char *const *names, size_t n)
{
	size_t i, len = 1;
	char *s;

	for (i = 0; i < n; i++)
		len += strlen(names[i]) + 5;
	if ((s = malloc(len)) == NULL)
		return NULL;
	s[0] = '\0';
	for (i = 0; i < n; i++) {
		if (i > 0)
			strcat(s, "\n");
		strcat(s, "DNS:");
		strcat(s, names[i]);
	}
	return s;
}

/*
 * nc_match: does the DNS name fall under the constraint base (RFC 5280
 * 4.2.1.10: "example.com" is the name itself and every name under it;
 * OpenSSL's ".example.com" form only the names under it)?
 */
static int
nc_match(const char *name, const char *base)
{
	size_t nl = strlen(name), bl;
	int sub_only = base[0] == '.';

	if (sub_only)
		base++;
	bl = strlen(base);
	if (bl == 0)
		return 1;
	if (!sub_only && strcasecmp(name, base) == 0)
		return 1;
	return nl > bl + 1 && name[nl - bl - 1] == '.' &&
	    strcasecmp(name + nl - bl, base) == 0;
}

int
handler_name_permitted(const struct handler *h, const char *name)
{
	size_t j;

	for (j = 0; j < h->nc_nexcluded; j++)
		if (nc_match(name, h->nc_excluded[j]))
			return 0;
	if (h->nc_npermitted == 0)
		return 1;
	for (j = 0; j < h->nc_npermitted; j++)
		if (nc_match(name, h->nc_permitted[j]))
			return 1;
	return 0;
}

/*
 * nc_check refuses a name that the intermediate's name constraints
 * exclude: a certificate with it would fail every relying party's path
 * validation, so it is better not issued.
 */
static PROTO_RESPONSE *
nc_check(const struct handler *h, const struct issue *is)
{
	size_t i;

	for (i = 0; i < is->req->nnames; i++)
		if (!handler_name_permitted(h, is->req->names[i]))
			goto bad;
	return NULL;
 bad:
	return refuse(PROTOCOL_NOT_AUTHORIZED, "name %s: outside the "
	    "intermediate certificate's name constraints (RFC 5280 "
	    "4.2.1.10); request only names this CA may issue",
	    is->req->names[i]);
}

/*
 * commit_refusal answers a request whose commit found its attestation gone
 * (rc CA_ERR_DENIED or CA_ERR_EXPIRED): a join token that another request
 * used, or that was revoked or expired, in between. For a token the
 * answer is the one the request would have had on arrival, from the
 * token as it is now; otherwise the log's reason, prefixed once. When the
 * request that came first was this same one (resent while it was being
 * signed), the answer is that request's certificate (resent_answer).
 */
static PROTO_RESPONSE *
commit_refusal(struct handler *h, struct issue *is, int rc,
    const struct attest_env *env, struct handler_note *note)
{
	char detail[PROTOCOL_MAX_TEXT];
	size_t wl = strlen(is->att.who);

	snprintf(detail, sizeof(detail), "%s", ca_error_detail());
	/* The attestor says why, or that the other request was this one. */
	attest_conflict(h->attest, env, &is->att, rc);
	if (is->att.status != PROTOCOL_OK)
		return attest_refusal(h, is, note);
	if (strncmp(detail, is->att.who, wl) == 0 && (detail[wl] == ':' ||
	    detail[wl] == ' '))
		return refuse(rc == CA_ERR_EXPIRED ? PROTOCOL_TOKEN_EXPIRED :
		    PROTOCOL_TOKEN_USED, "%s; nothing was issued", detail);
	return refuse(rc == CA_ERR_EXPIRED ? PROTOCOL_TOKEN_EXPIRED :
	    PROTOCOL_TOKEN_USED, "%s: %s; nothing was issued", is->att.who,
	    detail);
}

/*
 * issued_response: an ok Response with the certificate's DER and the
 * chain's, encoded once at startup.
 */
static PROTO_RESPONSE *
issued_response(const struct handler *h, const uint8_t *der, size_t len,
    const char *msg)
{
	PROTO_RESPONSE *r = NULL;
	PROTO_ISSUED *is;
	ASN1_OCTET_STRING *os = NULL;
	size_t i;

	if (len > INT32_MAX || (r = protocol_response_new(PROTOCOL_OK,
	    PROTO_RESP_ISSUED, "%s", msg)) == NULL)
		goto fail;
	is = r->body->value.issued;
	if (!ASN1_OCTET_STRING_set(is->certificate, der, (int)len))
		goto fail;
	for (i = 0; i < h->nchain_der; i++) {
		if ((os = ASN1_OCTET_STRING_new()) == NULL ||
		    !ASN1_OCTET_STRING_set(os, h->chain_der[i],
		    (int)h->chain_der_len[i]) ||
		    !sk_ASN1_OCTET_STRING_push(is->chain, os))
			goto fail;
		os = NULL;
	}
	return r;
 fail:
	ASN1_OCTET_STRING_free(os);
	PROTO_RESPONSE_free(r);
	return NULL;
}

/*
 * commit_unsure tells, after issuance_log_complete failed with rc (detail
 * d), whether the certificate may have been recorded all the same: the
 * COMMIT went through but the fsync after it failed, so the row is
 * "issued" and the token consumed, but not known to be on disk. The log
 * itself is asked (its read connections see what was committed); when it
 * cannot answer, a CA_ERR_DB naming an fsync counts as unsure. Returns 1
 * when unsure, 0 when nothing was recorded.
 */
static int
commit_unsure(struct handler *h, const uint8_t *serial, int rc, const char *d)
{
	struct issuance_cert *c = NULL;
	int unsure;

	if (issuance_log_find(h->log, &c, serial) == CA_OK)
		unsure = c->status != ISSUANCE_RESERVED;
	else
		unsure = rc == CA_ERR_DB && strstr(d, "fsync") != NULL;
	issuance_cert_free(c);
	return unsure;
}

/* issue_sign: reserve, sign, record, commit; then the response. */
static PROTO_RESPONSE *
issue_sign(struct handler *h, struct issue *is, const struct leaf_profile *lp,
    long long lifetime, const struct attest_env *env,
    struct handler_note *note)
{
	struct signer_intent *in = NULL;
	struct signer_issued *info = NULL;
	struct issuance_cert rec;
	struct issuance_completion comp;
	const char *sels[ATTEST_MAX_SELECTORS];
	uint8_t serial[ISSUANCE_LOG_SERIAL_LEN];
	uint8_t *der = NULL;
	size_t der_len = 0, i;
	char *names = NULL;
	PROTO_RESPONSE *r = NULL;
	int rc, reserved = 0;

	if ((in = calloc(1, sizeof(*in))) == NULL ||
	    (info = calloc(1, sizeof(*info))) == NULL)
		goto nomem;
	if (strlen(lp->name) >= sizeof(in->profile)) {
		r = refuse(PROTOCOL_INTERNAL, "profile name too long");
		goto out;
	}
	memcpy(in->profile, lp->name, strlen(lp->name) + 1);
	if (is->req->cn != NULL)
		memcpy(in->subject_cn, is->req->cn, strlen(is->req->cn) + 1);
	for (i = 0; i < is->req->nnames; i++)
		if (signer_intent_add_name(in, SIGNER_NAME_DNS,
		    is->req->names[i]) != CA_OK) {
			r = refuse(PROTOCOL_BAD_CSR, "CSR: %s",
			    ca_error_detail());
			goto out;
		}
	/* The CSR's key as it came (csr_request_decode checked it fits). */
	memcpy(in->spki, is->req->spki, is->req->spki_len);
	in->spki_len = (uint32_t)is->req->spki_len;
	in->lifetime = lifetime;
	memcpy(in->evidence, is->att.evidence, sizeof(in->evidence));

	rc = issuance_log_reserve(h->log, serial, h->issuer_key_id,
	    sizeof(h->issuer_key_id));
	if (rc != CA_OK) {
		r = unavailable(rc, "reserving a serial");
		goto out;
	}
	reserved = 1;
	fileio_hex(note->serial, serial, sizeof(serial));
	memcpy(in->serial, serial, sizeof(in->serial));
	if ((rc = signer_issue_info(h->signer, &der, &der_len, info,
	    in)) != CA_OK) {
		r = unavailable(rc, "signing");
		goto out;
	}
	if ((names = names_join(is->req->names, is->req->nnames)) == NULL)
		goto nomem;
	memset(&rec, 0, sizeof(rec));
	memcpy(rec.serial, serial, sizeof(serial));
	rec.issuer_key_id = h->issuer_key_id;
	rec.issuer_key_id_len = sizeof(h->issuer_key_id);
	rec.subject = info->subject;
	rec.names = names;
	rec.not_before = info->not_before;
	rec.not_after = info->not_after;
	rec.der = der;
	rec.der_len = der_len;
	rec.requester = is->att.requester;
	rec.attestation = (char *)is->att.attestation;
	rec.evidence = is->att.evidence;
	rec.evidence_len = sizeof(is->att.evidence);
	/* What a resent request is recognized by (resent_answer). */
	rec.request_hash = is->req->info_hash;
	rec.request_hash_len = sizeof(is->req->info_hash);
	/* What a renewal of it keeps (renewal_profile). */
	rec.profile = lp->name;
	memset(&comp, 0, sizeof(comp));
	comp.cert = &rec;
	/* What the attestor says must be used once. */
	comp.token_id = is->att.token_id;
	comp.seen_kind = is->att.seen_kind;
	comp.seen_id = is->att.seen_id;
	/* A renewal is refused at commit if its parent was revoked since. */
	if (is->att.renewal)
		comp.parent_serial = is->att.parent_serial;
	/*
	 * The selectors, stored with it (a renewal also gets its parent's).
	 * One whose value came out empty (a certificate with an empty
	 * subject) states no fact and is left out.
	 */
	for (i = 0; i < is->att.nselectors && i < ATTEST_MAX_SELECTORS; i++) {
		const char *sel = is->att.selectors[i];
		size_t len = strlen(sel);

		if (len > 0 && sel[len - 1] != ':')
			sels[comp.nselectors++] = sel;
	}
	comp.selectors = sels;
	rc = issuance_log_complete(h->log, &comp);
	if (rc == CA_ERR_REVOKED) {
		r = refuse(PROTOCOL_BAD_ATTESTATION, "%s: %s; ask the operator, "
		    "or request a new certificate with a join token", is->att.who,
		    ca_error_detail());
		goto out;
	}
	if (rc == CA_ERR_DENIED || rc == CA_ERR_EXPIRED) {
		r = commit_refusal(h, is, rc, env, note);
		goto out;
	}
	if (rc != CA_OK) {
		char why[512];

		snprintf(why, sizeof(why), "%s", ca_error_detail());
		if (commit_unsure(h, serial, rc, why)) {
			/* Committed: the serial must not be abandoned. */
			reserved = 0;
			log_err("serial %s: recorded as issued but maybe not "
			    "durable: %s", note->serial, why);
			r = refuse(PROTOCOL_INTERNAL, "recording the "
			    "certificate: the issuance log failed after the "
			    "commit (%s); the certificate may have been "
			    "recorded and the token used, so the outcome is "
			    "unknown: do not retry with this token; ask the "
			    "operator to check serial %s", why, note->serial);
			goto out;
		}
		ca_error(rc, "%s", why);
		r = unavailable(rc == CA_ERR_INTERNAL ? CA_ERR_DB : rc,
		    "recording the certificate");
		goto out;
	}
	reserved = 0;
	if ((r = issued_response(h, der, der_len,
	    "certificate issued")) == NULL)
		goto nomem;
	goto out;
 nomem:
	PROTO_RESPONSE_free(r);
	r = refuse(PROTOCOL_INTERNAL, "out of memory; retry later");
 out:
	if (reserved && issuance_log_abandon(h->log, serial) != CA_OK)
		log_warn("serial %s: could not mark it abandoned: %s",
		    note->serial, ca_error_detail());
	OPENSSL_free(der);
	free(names);
	free(info);
	free(in);
	return r;
}

/* The keyUsage bits a renewal may not add (the others follow the key). */
#define RENEWAL_KU_PURPOSE	(KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION | \
	KU_KEY_CERT_SIGN | KU_CRL_SIGN)

/*
 * eku_within reports whether every purpose of the extendedKeyUsage ext
 * (NULL: none, i.e. any purpose) is also in old's EKU (NULL: any).
 */
static int
eku_within(const X509_EXTENSION *ext, const EXTENDED_KEY_USAGE *old)
{
	EXTENDED_KEY_USAGE *eku;
	int i, j, ok = 1;

	if (old == NULL)
		return 1;
	if (ext == NULL ||
	    (eku = X509V3_EXT_d2i((X509_EXTENSION *)ext)) == NULL)
		return 0;
	for (i = 0; ok && i < sk_ASN1_OBJECT_num(eku); i++) {
		for (j = 0; j < sk_ASN1_OBJECT_num(old); j++)
			if (OBJ_cmp(sk_ASN1_OBJECT_value(eku, i),
			    sk_ASN1_OBJECT_value(old, j)) == 0)
				break;
		ok = j < sk_ASN1_OBJECT_num(old);
	}
	EXTENDED_KEY_USAGE_free(eku);
	return ok;
}

/*
 * renewal_widens reports whether profile lp would give a certificate
 * purposes the renewed certificate old lacks: keyUsage bits beyond its
 * (those that do not follow the key type), or extendedKeyUsage purposes
 * beyond its. 0: within; 1: wider, with *what naming which.
 */
static int
renewal_widens(const struct leaf_profile *lp, X509 *old, const char **what)
{
	const X509_EXTENSION *e, *eku = NULL;
	EXTENDED_KEY_USAGE *old_eku;
	ASN1_BIT_STRING *ku;
	uint32_t old_ku, new_ku = UINT32_MAX;
	int i, wide = 0;

	old_ku = (X509_get_extension_flags(old) & EXFLAG_KUSAGE) != 0 ?
	    X509_get_key_usage(old) : UINT32_MAX;
	for (i = 0; i < sk_X509_EXTENSION_num(lp->exts); i++) {
		e = sk_X509_EXTENSION_value(lp->exts, i);
		switch (OBJ_obj2nid(X509_EXTENSION_get_object(
		    (X509_EXTENSION *)e))) {
		case NID_key_usage:
			new_ku = 0;
			if ((ku = X509V3_EXT_d2i((X509_EXTENSION *)e)) != NULL) {
				if (ku->length > 0)
					new_ku = ku->data[0];
				if (ku->length > 1)
					new_ku |= (uint32_t)ku->data[1] << 8;
				ASN1_BIT_STRING_free(ku);
			}
			break;
		case NID_ext_key_usage:
			eku = e;
			break;
		}
	}
	if ((new_ku & RENEWAL_KU_PURPOSE) & ~(old_ku & RENEWAL_KU_PURPOSE)) {
		*what = "keyUsage";
		return 1;
	}
	old_eku = X509_get_ext_d2i(old, NID_ext_key_usage, NULL, NULL);
	if (!eku_within(eku, old_eku)) {
		*what = "extendedKeyUsage";
		wide = 1;
	}
	EXTENDED_KEY_USAGE_free(old_eku);
	return wide;
}

/*
 * renewal_profile chooses the profile of an x509pop renewal (issue 15): the
 * one the renewed certificate was issued under, as the log recorded it,
 * while it is configured; else the one policy maps renewals to (*lp on
 * entry). Either way the renewal may not be for more than the renewed
 * certificate (renewal_widens): renewing a clientAuth certificate never
 * gives a TLS server certificate. Returns NULL with *lp set, or the
 * refusal.
 */
static PROTO_RESPONSE *
renewal_profile(struct handler *h, const struct issue *is,
    const struct leaf_profile **lp)
{
	struct issuance_cert *c = NULL;
	const struct leaf_profile *kept;
	const unsigned char *p;
	const char *what = NULL;
	PROTO_RESPONSE *r = NULL;
	X509 *old = NULL;
	int rc;

	if ((rc = issuance_log_find(h->log, &c, is->att.parent_serial)) !=
	    CA_OK)
		return unavailable(rc == CA_ERR_NOT_FOUND ? CA_ERR_DB : rc,
		    "renewal: the renewed certificate");
	if (c->profile != NULL && (kept = handler_profile(h, c->profile)) !=
	    NULL)
		*lp = kept;
	p = c->der;
	if (c->der == NULL || (old = d2i_X509(NULL, &p,
	    (long)c->der_len)) == NULL) {
		r = unavailable(CA_ERR_DB, "renewal: the renewed certificate's "
		    "DER in the log");
		goto out;
	}
	if (renewal_widens(*lp, old, &what))
		r = refuse(PROTOCOL_POLICY, "%s: renewing under profile %s "
		    "would give the new certificate a wider %s than the "
		    "certificate it renews (issued under %s); a renewal keeps "
		    "what a certificate is for: request a certificate for the "
		    "new purpose with a join token", is->att.who, (*lp)->name,
		    what, c->profile != NULL ? c->profile : "an unrecorded "
		    "profile");
 out:
	X509_free(old);
	issuance_cert_free(c);
	return r;
}

static PROTO_RESPONSE *
handle_issue(struct handler *h, const PROTO_ISSUE_REQUEST *ir,
    struct handler_note *note)
{
	struct issue is;
	struct attest_env env;
	struct attest_request areq;
	const struct leaf_profile *lp;
	time_t end;
	PROTO_RESPONSE *r = NULL;
	long long lifetime = 0;
	int64_t l;
	int rc;

	memset(&is, 0, sizeof(is));
	note->method = attest_method(ir->attestation->type);
	if (ir->lifetime != NULL) {
		if (ASN1_INTEGER_get_int64(&l, ir->lifetime) != 1 || l < 1 ||
		    l > PROTOCOL_MAX_LIFETIME)
			return refuse(PROTOCOL_BAD_REQUEST, "lifetime: out of "
			    "range 1..%lld seconds", PROTOCOL_MAX_LIFETIME);
		lifetime = l;
	}
	rc = csr_request_decode(&is.req, h->csrv,
	    ASN1_STRING_get0_data(ir->csr),
	    (size_t)ASN1_STRING_length(ir->csr));
	if (rc != CA_OK) {
		r = csr_refusal(rc);
		goto out;
	}
	/* The attestor that answers this evidence; the handler knows none. */
	memset(&env, 0, sizeof(env));
	env.log = h->log;
	env.nonces = h->nonces;
	env.now = time(NULL);
	memset(&areq, 0, sizeof(areq));
	areq.evidence = ir->attestation;
	areq.csr = ASN1_STRING_get0_data(ir->csr);
	areq.csr_len = (size_t)ASN1_STRING_length(ir->csr);
	areq.key = is.req->pk;
	attest_verify(h->attest, &env, &areq, &is.att);
	snprintf(note->identity, sizeof(note->identity), "%.*s",
	    (int)sizeof(note->identity) - 1, is.att.requester);
	if (is.att.status != PROTOCOL_OK) {
		r = attest_refusal(h, &is, note);
		goto out;
	}
	is.att.id.who = is.att.who;
	rc = policy_check(&is.dec, h->policy, &is.att.id,
	    (const char *const *)is.req->names, is.req->nnames);
	if (rc == CA_ERR_DENIED) {
		r = refuse(PROTOCOL_NOT_AUTHORIZED, "%s; request only the "
		    "granted names, or ask the operator to grant more",
		    ca_error_detail());
		goto out;
	}
	if (rc == CA_ERR_INVALID) {
		r = refuse(PROTOCOL_BAD_CSR, "CSR: %s", ca_error_detail());
		goto out;
	}
	if (rc != CA_OK) {
		r = unavailable(rc, "policy");
		goto out;
	}
	if ((r = nc_check(h, &is)) != NULL)
		goto out;
	if ((lp = handler_profile(h, is.dec->profile)) == NULL) {
		r = refuse(PROTOCOL_POLICY, "profile %s is not configured on "
		    "this issuer; ask the operator", is.dec->profile);
		goto out;
	}
	if (is.att.renewal && (r = renewal_profile(h, &is, &lp)) != NULL)
		goto out;
	if (profile_key_check(is.req->pk, lp->key_types, "CSR key") != CA_OK) {
		r = refuse(PROTOCOL_POLICY, "profile %s: %s", lp->name,
		    ca_error_detail());
		goto out;
	}
	if (lifetime > lp->max_lifetime && !lp->clamp) {
		r = refuse(PROTOCOL_POLICY, "lifetime %lld s is over profile "
		    "%s's limit of %lld s; ask for at most that", lifetime,
		    lp->name, (long long)lp->max_lifetime);
		goto out;
	}
	/*
	 * What the signer would refuse anyway, refused before a serial is
	 * reserved, so that repeating such a request abandons nothing.
	 */
	if (!leaf_profile_key_usable(lp, EVP_PKEY_get_base_id(is.req->pk) ==
	    EVP_PKEY_RSA)) {
		r = refuse(PROTOCOL_POLICY, "profile %s: its keyUsage leaves "
		    "nothing this key type may do (RFC 5480 3); use another key "
		    "type", lp->name);
		goto out;
	}
	end = env.now + (time_t)(lifetime != 0 ? (lifetime > lp->max_lifetime ?
	    lp->max_lifetime : lifetime) : lp->default_lifetime);
	if (X509_cmp_time(X509_get0_notAfter(h->inter), &end) < 0) {
		r = refuse(PROTOCOL_POLICY, "a certificate for %lld s would "
		    "outlive the intermediate certificate; ask for a shorter "
		    "lifetime, or ask the operator", (long long)(end -
		    env.now));
		goto out;
	}
	r = issue_sign(h, &is, lp, lifetime, &env, note);
 out:
	issue_clear(&is);
	return r;
}

/*
 * response_free frees r after wiping the join token secret a tokenCreated
 * answer carries; NULL does nothing.
 */
static void
response_free(PROTO_RESPONSE *r)
{
	ASN1_OCTET_STRING *sec;

	if (r != NULL && r->body != NULL &&
	    r->body->type == PROTO_RESP_TOKEN_CREATED &&
	    r->body->value.token_created != NULL &&
	    (sec = r->body->value.token_created->secret) != NULL &&
	    sec->data != NULL && sec->length > 0)
		OPENSSL_cleanse(sec->data, (size_t)sec->length);
	PROTO_RESPONSE_free(r);
}

static PROTO_RESPONSE *
handle_nonce(struct handler *h)
{
	uint8_t n[NONCE_LEN];
	time_t exp;
	PROTO_RESPONSE *r;

	if (nonce_issue(h->nonces, n, &exp) != CA_OK)
		return refuse(PROTOCOL_BUSY, "nonce: %s", ca_error_detail());
	r = protocol_response_nonce(n, sizeof(n), exp);
	OPENSSL_cleanse(n, sizeof(n));
	return r;
}

/*
 * handle_challenge: the first round of a multi-round attestation, routed
 * to the attestor that answers its alternative (the handler knows none).
 */
static PROTO_RESPONSE *
handle_challenge(struct handler *h, const PROTO_CHALLENGE_REQ *req,
    struct handler_note *note)
{
	struct attest_challenge ch;
	struct attest_env env;
	PROTO_RESPONSE *r;

	memset(&env, 0, sizeof(env));
	env.log = h->log;
	env.nonces = h->nonces;
	env.now = time(NULL);
	attest_challenge(h->attest, &env, req, &ch);
	snprintf(note->identity, sizeof(note->identity), "%.*s",
	    (int)sizeof(note->identity) - 1, ch.who);
	if (ch.status != PROTOCOL_OK)
		r = refuse(ch.status, "%s", ch.message);
	else {
		r = protocol_response_challenge(ch.session, sizeof(ch.session),
		    ch.expires, ch.challenge);
		ch.challenge = NULL;	/* taken, also on failure */
	}
	attest_challenge_clear(&ch);
	return r;
}

int
handler_handle(struct handler *h, uint8_t **out, size_t *out_len,
    const uint8_t *in, size_t len, int operator)
{
	struct handler_note note;
	struct timespec t0, t1;
	PROTO_REQUEST *req = NULL;
	PROTO_RESPONSE *resp = NULL;
	enum protocol_status st = PROTOCOL_OK;
	long status;
	int rc = CA_ERR_INTERNAL;

	*out = NULL;
	*out_len = 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(&note, 0, sizeof(note));
	note.method = "?";
	ca_error_clear();
	if (protocol_request_decode(&req, &st, in, len) != CA_OK) {
		if (st == PROTOCOL_OK)
			st = PROTOCOL_BAD_REQUEST;
		resp = refuse(st, "%s; %s", ca_error_detail(),
		    st == PROTOCOL_UNSUPPORTED_VERSION ? "upgrade the client "
		    "or the server" : st == PROTOCOL_TOO_LARGE ? "send a "
		    "smaller CSR or chain" : "this is a client bug: the "
		    "request does not follow docs/protocol.md");
		goto reply;
	}
	switch (req->body->type) {
	case PROTO_REQ_ISSUE:
		resp = handle_issue(h, req->body->value.issue, &note);
		break;
	case PROTO_REQ_NONCE:
		note.method = "nonce";
		resp = handle_nonce(h);
		break;
	case PROTO_REQ_CHALLENGE:
		note.method = "challenge";
		resp = handle_challenge(h, req->body->value.challenge, &note);
		break;
	default:
		if (!operator) {
			note.method = "operator";
			resp = refuse(PROTOCOL_FORBIDDEN, "operator requests "
			    "are answered only on the operator socket; run the "
			    "command on the issuer host, over ipc://");
			break;
		}
		if (ops_handle(h, &resp, req, &note) != CA_OK)
			resp = NULL;
		break;
	}
 reply:
	if (resp == NULL)
		resp = refuse(PROTOCOL_INTERNAL, "out of memory; retry later");
	if (resp == NULL) {
		rc = CA_ERR_NOMEM;
		goto out;
	}
	if ((rc = protocol_response_encode(out, out_len, resp)) != CA_OK) {
		log_err("%s: the response does not encode: %s", note.method,
		    ca_error_detail());
		response_free(resp);
		if ((resp = refuse(PROTOCOL_INTERNAL, "the response could not "
		    "be encoded; report it")) == NULL ||
		    (rc = protocol_response_encode(out, out_len, resp)) !=
		    CA_OK)
			goto out;
	}
	rc = CA_OK;
 out:
	clock_gettime(CLOCK_MONOTONIC, &t1);
	status = resp != NULL ? protocol_response_status(resp) : -1;
	log_msg(status == PROTOCOL_OK ? LOG_LVL_INFO : LOG_LVL_WARN,
	    "request %s%s identity=%s serial=%s outcome=%s latency=%.1fms%s%s",
	    operator ? "operator " : "", note.method,
	    note.identity[0] != '\0' ? note.identity : "-",
	    note.serial[0] != '\0' ? note.serial : "-",
	    protocol_status_name(status),
	    (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e6,
	    status == PROTOCOL_OK || resp == NULL ? "" : ": ",
	    status == PROTOCOL_OK || resp == NULL || resp->message == NULL ?
	    "" : (const char *)ASN1_STRING_get0_data(resp->message));
	/* *out holds the secret too: the caller clears it (server.c). */
	response_free(resp);
	PROTO_REQUEST_free(req);
	return rc;
}

void
handler_free(struct handler *h)
{
	size_t i;

	if (h == NULL)
		return;
	X509_free(h->inter);
	sk_X509_pop_free(h->chain, X509_free);
	for (i = 0; i < h->nchain_der; i++)
		OPENSSL_free(h->chain_der[i]);
	csr_verifier_free(h->csrv);
	for (i = 0; i < h->nprofiles; i++)
		leaf_profile_free(h->profiles[i]);
	policy_free(h->policy);
	nonce_cache_free(h->nonces);
	attest_registry_free(h->attest);
	weak_key_list_free(h->weak);
	for (i = 0; i < h->nc_npermitted; i++)
		free(h->nc_permitted[i]);
	for (i = 0; i < h->nc_nexcluded; i++)
		free(h->nc_excluded[i]);
	free(h->nc_permitted);
	free(h->nc_excluded);
	free(h);
}

/* chain_encode encodes h->chain once for every issued response. */
static int
chain_encode(struct handler *h)
{
	unsigned char *der;
	int i, n;

	for (i = 0; i < sk_X509_num(h->chain) && i < PROTOCOL_MAX_CHAIN; i++) {
		der = NULL;
		if ((n = i2d_X509(sk_X509_value(h->chain, i), &der)) <= 0)
			return ca_error_openssl(CA_ERR_INTERNAL, "handler: "
			    "cannot encode the chain");
		h->chain_der[h->nchain_der] = der;
		h->chain_der_len[h->nchain_der++] = (size_t)n;
	}
	return CA_OK;
}

/* nc_load copies the dNSName bases of subtrees into a new array. */
static int
nc_load(char ***out, size_t *n, const STACK_OF(GENERAL_SUBTREE) *st)
{
	const GENERAL_SUBTREE *t;
	int i, num = st != NULL ? sk_GENERAL_SUBTREE_num(st) : 0;

	*out = NULL;
	*n = 0;
	if (num <= 0)
		return CA_OK;
	if ((*out = calloc((size_t)num, sizeof(**out))) == NULL)
		return CA_ERR_NOMEM;
	for (i = 0; i < num; i++) {
		t = sk_GENERAL_SUBTREE_value(st, i);
		if (t->base->type != GEN_DNS)
			continue;
		if (((*out)[*n] = protocol_string_dup(t->base->d.dNSName)) == NULL)
			return CA_ERR_NOMEM;
		(*n)++;
	}
	return CA_OK;
}

int
handler_new(struct handler **out, const struct issuer_config *cfg,
    struct signer *signer, struct issuance_log *log, X509 *inter)
{
	struct handler *h = NULL;
	struct attest_config ac;
	NAME_CONSTRAINTS *nc = NULL;
	unsigned int mdlen = 0;
	size_t i;
	int rc = CA_ERR_INTERNAL;

	*out = NULL;
	if ((h = calloc(1, sizeof(*h))) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "handler: out of memory");
		goto out;
	}
	h->cfg = cfg;
	h->signer = signer;
	h->log = log;
	X509_up_ref(inter);
	h->inter = inter;
	if ((h->chain = sk_X509_new_null()) == NULL ||
	    !X509_up_ref(inter) || !sk_X509_push(h->chain, inter)) {
		rc = ca_error(CA_ERR_NOMEM, "handler: out of memory");
		goto out;
	}
	if (cfg->chain != NULL && (rc = profile_certs_read(h->chain, cfg->chain,
	    PROTOCOL_MAX_CHAIN)) != CA_OK)
		goto out;
	if ((rc = weak_key_list_load(&h->weak,
	    (const char *const *)cfg->weak_keys, cfg->nweak_keys)) != CA_OK ||
	    (rc = chain_encode(h)) != CA_OK ||
	    (rc = csr_verifier_new(&h->csrv, h->weak)) != CA_OK)
		goto out;
	if (cfg->nweak_keys > 0)
		log_info("weak key blocklists: %zu fingerprints from %zu files",
		    weak_key_list_count(h->weak), cfg->nweak_keys);
	if (X509_pubkey_digest(inter, EVP_sha1(), h->issuer_key_id,
	    &mdlen) != 1 || mdlen != sizeof(h->issuer_key_id)) {
		rc = ca_error_openssl(CA_ERR_INTERNAL, "%s: cannot hash the "
		    "public key", cfg->certificate);
		goto out;
	}
	nc = X509_get_ext_d2i(inter, NID_name_constraints, NULL, NULL);
	if (nc != NULL && (nc_load(&h->nc_permitted, &h->nc_npermitted,
	    nc->permittedSubtrees) != CA_OK || nc_load(&h->nc_excluded,
	    &h->nc_nexcluded, nc->excludedSubtrees) != CA_OK)) {
		rc = ca_error(CA_ERR_NOMEM, "handler: out of memory");
		goto out;
	}
	for (i = 0; i < cfg->nprofiles; i++) {
		if ((rc = leaf_profile_load(&h->profiles[i], cfg->conf,
		    cfg->profiles[i])) != CA_OK)
			goto out;
		h->nprofiles++;
	}
	if ((rc = policy_load(&h->policy, cfg->conf)) != CA_OK)
		goto out;
	if ((rc = nonce_cache_new(&h->nonces, (size_t)cfg->nonce_max,
	    (unsigned)cfg->nonce_ttl, NULL, NULL)) != CA_OK)
		goto out;
	memset(&ac, 0, sizeof(ac));
	ac.cfg = cfg;
	ac.inter = inter;
	ac.weak = h->weak;
	if ((rc = attest_registry_new(&h->attest, &ac)) != CA_OK)
		goto out;
	if (policy_enabled(h->policy, POLICY_X509POP_DEVICE) &&
	    cfg->ndevice_anchors == 0) {
		rc = ca_error(CA_ERR_CONFIG, "%s: [policy_x509pop_device] needs "
		    "[issuer] x509pop_device_anchors (the manufacturer CAs)",
		    config_path(cfg->conf));
		goto out;
	}
	if (cfg->iddoc_keys == NULL && policy_enabled(h->policy,
	    POLICY_IDDOC)) {
		rc = ca_error(CA_ERR_CONFIG, "%s: [policy_iddoc] needs [issuer] "
		    "iddoc_keys (a section of platform keys)",
		    config_path(cfg->conf));
		goto out;
	}
	if (cfg->ntpm_ek_ca == 0 && cfg->tpm_ek_allow == NULL &&
	    policy_enabled(h->policy, POLICY_TPM)) {
		rc = ca_error(CA_ERR_CONFIG, "%s: [policy_tpm] needs [issuer] "
		    "tpm_ek_ca (the TPM manufacturer CAs) or tpm_ek_allow (a "
		    "list of EK hashes)", config_path(cfg->conf));
		goto out;
	}
	*out = h;
	h = NULL;
	rc = CA_OK;
 out:
	NAME_CONSTRAINTS_free(nc);
	handler_free(h);
	return rc;
}
