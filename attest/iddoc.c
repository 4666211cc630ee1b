/* SPDX-License-Identifier: ISC */
/*
 * attest_iddoc: verifies a platform identity document signed with Ed25519
 * (libsodium crypto_sign_verify_detached) by one of the operator's
 * configured platform keys, checks that it is fresh and well formed, and
 * returns the instance identity with a digest of the signed bytes for the
 * issuance log's evidence column; and the identity document attestor
 * (attestor.h), which accepts a document once per instance (the log marks
 * the instance seen in the certificate's commit). Selectors: iddoc:key-id:,
 * iddoc:platform:, iddoc:instance:, iddoc:account:, iddoc:region:.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "attest/attestor.h"
#include "attest/iddoc.h"
#include "common/ca_error.h"
#include "common/log.h"
#include "protocol/protocol.h"

struct iddoc_key {
	char id[IDDOC_KEY_ID_MAX + 1];
	uint8_t pk[IDDOC_PK_LEN];
};

struct iddoc_keys {
	struct iddoc_key key[IDDOC_MAX_KEYS];
	size_t n;
};

int
iddoc_keys_new(struct iddoc_keys **out)
{
	if ((*out = calloc(1, sizeof(**out))) == NULL)
		return ca_error(CA_ERR_NOMEM, "iddoc keys: out of memory");
	return CA_OK;
}

void
iddoc_keys_free(struct iddoc_keys *k)
{
	if (k == NULL)
		return;
	sodium_memzero(k, sizeof(*k));
	free(k);
}

size_t
iddoc_keys_count(const struct iddoc_keys *k)
{
	return k == NULL ? 0 : k->n;
}

static int
key_id_valid(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > IDDOC_KEY_ID_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		char ch = s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
		    ch == '-'))
			return 0;
	}
	return 1;
}

static const struct iddoc_key *
key_find(const struct iddoc_keys *k, const char *id)
{
	size_t i;

	for (i = 0; k != NULL && i < k->n; i++)
		if (strcmp(k->key[i].id, id) == 0)
			return &k->key[i];
	return NULL;
}

int
iddoc_keys_add(struct iddoc_keys *k, const char *key_id,
    const uint8_t pk[IDDOC_PK_LEN])
{
	if (k == NULL || key_id == NULL || pk == NULL)
		return ca_error(CA_ERR_USAGE, "iddoc_keys_add: bad arguments");
	if (!key_id_valid(key_id))
		return ca_error(CA_ERR_INVALID, "iddoc key id \"%.64s\": use "
		    "1..%d letters, digits, '.', '_' or '-'", key_id,
		    IDDOC_KEY_ID_MAX);
	if (key_find(k, key_id) != NULL)
		return ca_error(CA_ERR_EXISTS, "iddoc key id \"%s\": given "
		    "twice", key_id);
	if (k->n == IDDOC_MAX_KEYS)
		return ca_error(CA_ERR_INVALID, "iddoc keys: more than %d",
		    IDDOC_MAX_KEYS);
	snprintf(k->key[k->n].id, sizeof(k->key[k->n].id), "%s", key_id);
	memcpy(k->key[k->n].pk, pk, IDDOC_PK_LEN);
	k->n++;
	return CA_OK;
}

int
iddoc_keys_add_string(struct iddoc_keys *k, const char *key_id,
    const char *value)
{
	uint8_t pk[IDDOC_PK_LEN];
	const char *end = NULL;
	size_t len, bin_len = 0;
	int rc;

	if (value == NULL)
		return ca_error(CA_ERR_USAGE, "iddoc_keys_add_string: no key");
	if (sodium_init() < 0)
		return ca_error(CA_ERR_INTERNAL, "libsodium cannot be "
		    "initialised");
	len = strlen(value);
	if (len == 2 * IDDOC_PK_LEN) {
		if (sodium_hex2bin(pk, sizeof(pk), value, len, NULL, &bin_len,
		    &end) != 0 || bin_len != sizeof(pk) || end != value + len)
			return ca_error(CA_ERR_INVALID, "iddoc key \"%s\": 64 "
			    "characters but not hex", key_id);
	} else if (sodium_base642bin(pk, sizeof(pk), value, len, NULL,
	    &bin_len, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    bin_len != sizeof(pk) || end != value + len) {
		return ca_error(CA_ERR_INVALID, "iddoc key \"%s\": not a "
		    "32-byte Ed25519 public key in base64 (44 characters) or "
		    "hex (64 digits)", key_id);
	}
	rc = iddoc_keys_add(k, key_id, pk);
	sodium_memzero(pk, sizeof(pk));
	return rc;
}

int
iddoc_keys_load(struct iddoc_keys **out, const struct config *c,
    const char *section)
{
	struct iddoc_keys *k = NULL;
	const char *name, *value;
	char dbuf[512];
	size_t i, n;
	int rc = CA_ERR_INTERNAL;

	*out = NULL;
	if (c == NULL || section == NULL)
		return ca_error(CA_ERR_USAGE, "iddoc_keys_load: bad arguments");
	if ((rc = config_require_section(c, section, NULL)) != CA_OK)
		return rc;
	if ((n = config_section_count(c, section)) == 0)
		return ca_error(CA_ERR_CONFIG, "%s: [%s]: no platform keys",
		    config_path(c), section);
	if ((rc = iddoc_keys_new(&k)) != CA_OK)
		goto out;
	for (i = 0; i < n; i++) {
		if (config_section_item(&name, &value, c, section, i) != 0) {
			rc = ca_error(CA_ERR_INTERNAL, "%s: [%s]: cannot read "
			    "item %zu", config_path(c), section, i);
			goto out;
		}
		if ((rc = iddoc_keys_add_string(k, name, value)) != CA_OK) {
			snprintf(dbuf, sizeof(dbuf), "%s", ca_error_detail());
			rc = ca_error(CA_ERR_CONFIG, "%s: [%s] %s: %s",
			    config_path(c), section, name, dbuf);
			goto out;
		}
	}
	*out = k;
	k = NULL;
	rc = CA_OK;
 out:
	iddoc_keys_free(k);
	return rc;
}

void
iddoc_identity_free(struct iddoc_identity *id)
{
	if (id == NULL)
		return;
	free(id->key_id);
	free(id->platform);
	free(id->instance);
	free(id->account);
	free(id->region);
	free(id);
}

static void
fields_clear(struct iddoc_fields *f)
{
	free(f->platform);
	free(f->audience);
	free(f->instance);
	free(f->account);
	free(f->region);
	memset(f, 0, sizeof(*f));
}

/* A field: 1..IDDOC_MAX_FIELD printable ASCII bytes, no blanks. */
static int
field_check(const char *what, const char *s)
{
	size_t i, n;

	if (s == NULL || s[0] == '\0')
		return ca_error(CA_ERR_INVALID, "identity document: %s is "
		    "missing", what);
	if ((n = strlen(s)) > IDDOC_MAX_FIELD)
		return ca_error(CA_ERR_INVALID, "identity document: %s is "
		    "longer than %d bytes", what, IDDOC_MAX_FIELD);
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return ca_error(CA_ERR_INVALID, "identity document: "
			    "%s has a byte 0x%02x that is not printable ASCII",
			    what, (unsigned char)s[i]);
	return CA_OK;
}

int
attest_iddoc_verify(struct iddoc_identity **out,
    const struct iddoc_verifier *v, const struct iddoc_evidence *ev,
    time_t now, iddoc_seen_fn seen, void *seen_arg)
{
	struct iddoc_fields f;
	struct iddoc_identity *id = NULL;
	const struct iddoc_key *key;
	uint8_t *tbs = NULL;
	size_t tbs_len = 0;
	char when[64], dbuf[512];
	int rc = CA_ERR_INTERNAL, was_seen = 0;

	*out = NULL;
	memset(&f, 0, sizeof(f));
	if (v == NULL || ev == NULL || v->decode == NULL || v->window <= 0 ||
	    v->skew < 0)
		return ca_error(CA_ERR_USAGE, "attest_iddoc_verify: bad "
		    "arguments");
	if (sodium_init() < 0)
		return ca_error(CA_ERR_INTERNAL, "libsodium cannot be "
		    "initialised");
	if (ev->doc == NULL || ev->doc_len == 0 || ev->doc_len > IDDOC_MAX_DOC)
		return ca_error(CA_ERR_INVALID, "identity document: must be "
		    "1..%d bytes", IDDOC_MAX_DOC);
	if (ev->sig == NULL || ev->sig_len != IDDOC_SIG_LEN)
		return ca_error(CA_ERR_INVALID, "identity document: the "
		    "signature must be %d bytes (Ed25519)", IDDOC_SIG_LEN);
	if (ev->key_id == NULL || !key_id_valid(ev->key_id))
		return ca_error(CA_ERR_INVALID, "identity document: the key id "
		    "is missing or malformed");
	if ((key = key_find(v->keys, ev->key_id)) == NULL)
		return ca_error(CA_ERR_NOT_FOUND, "identity document: key id "
		    "\"%s\" is not a configured platform key; ask the operator "
		    "to add it to the issuer's platform keys", ev->key_id);

	if ((rc = protocol_iddoc_tbs(&tbs, &tbs_len, ev->doc, ev->doc_len)) !=
	    CA_OK)
		goto out;
	if (crypto_sign_verify_detached(ev->sig, tbs, tbs_len, key->pk) != 0) {
		rc = ca_error(CA_ERR_VERIFY, "identity document: the Ed25519 "
		    "signature does not verify with platform key \"%s\"; send "
		    "the document exactly as the platform signed it",
		    ev->key_id);
		goto out;
	}
	/* Only bytes whose signature verified are decoded. */
	if ((rc = v->decode(v->decode_arg, &f, ev->doc, ev->doc_len)) !=
	    CA_OK) {
		snprintf(dbuf, sizeof(dbuf), "%s", ca_error_detail());
		rc = ca_error(rc, "identity document: %s", dbuf);
		goto out;
	}
	if ((rc = field_check("instance id", f.instance)) != CA_OK ||
	    (rc = field_check("account", f.account)) != CA_OK ||
	    (rc = field_check("region", f.region)) != CA_OK ||
	    (f.platform != NULL &&
	    (rc = field_check("platform", f.platform)) != CA_OK))
		goto out;
	if (v->audience != NULL && (f.audience == NULL ||
	    strcmp(f.audience, v->audience) != 0)) {
		rc = ca_error(CA_ERR_VERIFY, "identity document for instance "
		    "%s: meant for another issuer (audience is not \"%s\"); "
		    "fetch a document for this issuer", f.instance,
		    v->audience);
		goto out;
	}
	if (f.issued_at > now + v->skew) {
		rc = ca_error(CA_ERR_EXPIRED, "identity document for instance "
		    "%s: issued at %s, in the future (more than %ld s ahead); "
		    "check the clocks of the platform and the issuer",
		    f.instance, log_time_str(when, sizeof(when), f.issued_at),
		    v->skew);
		goto out;
	}
	if (f.issued_at < now - v->window) {
		rc = ca_error(CA_ERR_EXPIRED, "identity document for instance "
		    "%s: issued at %s, older than %ld s; fetch a fresh "
		    "document from the platform", f.instance,
		    log_time_str(when, sizeof(when), f.issued_at), v->window);
		goto out;
	}
	if (seen != NULL) {
		if ((rc = seen(seen_arg, f.instance, &was_seen)) != CA_OK)
			goto out;
		if (was_seen) {
			rc = ca_error(CA_ERR_DENIED, "identity document: "
			    "instance %s already received a certificate this "
			    "way (a document is accepted once per instance); "
			    "renew with that certificate", f.instance);
			goto out;
		}
	}
	if ((id = calloc(1, sizeof(*id))) == NULL ||
	    (id->key_id = strdup(ev->key_id)) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "identity document: out of memory");
		goto out;
	}
	crypto_hash_sha256(id->digest, tbs, tbs_len);
	id->platform = f.platform;
	id->instance = f.instance;
	id->account = f.account;
	id->region = f.region;
	id->issued_at = f.issued_at;
	id->has_key_binding = f.has_key_binding;
	memcpy(id->key_binding, f.key_binding, sizeof(id->key_binding));
	f.platform = f.instance = f.account = f.region = NULL;
	*out = id;
	id = NULL;
	rc = CA_OK;
 out:
	fields_clear(&f);
	iddoc_identity_free(id);
	free(tbs);
	return rc;
}

/* A UTF8String field as a new C string; NULL when absent or with a NUL. */
static int
utf8_dup(char **out, const ASN1_UTF8STRING *s, const char *what)
{
	int n;

	*out = NULL;
	if (s == NULL)
		return ca_error(CA_ERR_INVALID, "PlatformDocument: %s is "
		    "missing", what);
	n = ASN1_STRING_length(s);
	if (n < 0 || memchr(ASN1_STRING_get0_data(s), '\0', (size_t)n) !=
	    NULL)
		return ca_error(CA_ERR_INVALID, "PlatformDocument: %s contains "
		    "a NUL", what);
	if ((*out = strndup((const char *)ASN1_STRING_get0_data(s),
	    (size_t)n)) == NULL)
		return ca_error(CA_ERR_NOMEM, "PlatformDocument: out of "
		    "memory");
	return CA_OK;
}

int
iddoc_decode_platform_doc(void *arg, struct iddoc_fields *out,
    const uint8_t *doc, size_t len)
{
	PROTO_PLATFORM_DOC *pd = NULL;
	struct tm tm;
	int rc;

	(void)arg;
	if ((rc = protocol_platform_doc_decode(&pd, doc, len)) != CA_OK)
		return rc;
	if ((rc = utf8_dup(&out->platform, pd->platform, "platform")) !=
	    CA_OK ||
	    (rc = utf8_dup(&out->instance, pd->instance_id, "instanceId")) !=
	    CA_OK ||
	    (rc = utf8_dup(&out->account, pd->account, "account")) != CA_OK ||
	    (rc = utf8_dup(&out->region, pd->region, "region")) != CA_OK)
		goto out;
	if (pd->audience != NULL && (rc = utf8_dup(&out->audience,
	    pd->audience, "audience")) != CA_OK)
		goto out;
	if (pd->issued_at == NULL || ASN1_TIME_to_tm(pd->issued_at, &tm) != 1) {
		rc = ca_error(CA_ERR_INVALID, "PlatformDocument: issuedAt is "
		    "missing or unreadable");
		goto out;
	}
	out->issued_at = timegm(&tm);
	if (pd->key_binding != NULL) {
		out->has_key_binding = 1;
		memcpy(out->key_binding, ASN1_STRING_get0_data(pd->key_binding),
		    sizeof(out->key_binding));
	}
	rc = CA_OK;
 out:
	PROTO_PLATFORM_DOC_free(pd);
	return rc;
}

/* --- the identity document attestor (attestor.h) --- */

/* Its state: the platform keys and how documents are judged. */
struct doc_state {
	struct iddoc_keys *keys;
	struct iddoc_verifier v;
	int binding_optional;		/* [issuer] iddoc_binding = optional */
};

/* What it keeps for one request. */
struct doc_priv {
	struct iddoc_identity *doc;
	char seen_kind[IDDOC_MAX_FIELD + 8];	/* "iid:PLATFORM" */
};

static int
doc_configure(void **state, const struct attest_config *ac)
{
	struct doc_state *s = NULL;
	int rc = CA_ERR_INTERNAL;

	*state = NULL;
	if (ac->cfg->iddoc_keys == NULL)
		return CA_OK;	/* not enabled: verify refuses documents */
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "identity documents: out of "
		    "memory");
		goto out;
	}
	if ((rc = iddoc_keys_load(&s->keys, ac->cfg->conf,
	    ac->cfg->iddoc_keys)) != CA_OK)
		goto out;
	s->v.keys = s->keys;
	s->v.window = ac->cfg->iddoc_window;
	s->v.skew = ac->cfg->iddoc_skew;
	s->v.audience = ac->cfg->iddoc_audience;
	s->v.decode = iddoc_decode_platform_doc;
	s->binding_optional = ac->cfg->iddoc_binding_optional;
	*state = s;
	s = NULL;
	rc = CA_OK;
 out:
	if (s != NULL) {
		iddoc_keys_free(s->keys);
		free(s);
	}
	return rc;
}

/*
 * doc_binding_check: the document's keyBinding must be the SHA-256 of the
 * CSR key's DER SubjectPublicKeyInfo, so that a document copied from the
 * machine it was made for cannot get a certificate for another key. A
 * document without one is refused unless iddoc_binding = optional.
 */
static int
doc_binding_check(struct attest_result *res, const struct doc_state *s,
    const struct iddoc_identity *doc, const EVP_PKEY *key)
{
	unsigned char *spki = NULL;
	uint8_t h[IDDOC_DIGEST_LEN];
	int len, same;

	if (!doc->has_key_binding) {
		if (s->binding_optional)
			return CA_OK;
		attest_refuse(res, PROTOCOL_BAD_ATTESTATION, "identity document "
		    "for instance %s: not bound to the request; the platform "
		    "must sign keyBinding, the SHA-256 of the certificate "
		    "key's SubjectPublicKeyInfo, into the document "
		    "(docs/protocol.md), so that a copied document is useless",
		    doc->instance);
		return CA_ERR_DENIED;
	}
	if ((len = i2d_PUBKEY((EVP_PKEY *)key, &spki)) <= 0) {
		attest_refuse(res, PROTOCOL_INTERNAL, "out of memory; retry "
		    "later");
		return CA_ERR_NOMEM;
	}
	SHA256(spki, (size_t)len, h);
	OPENSSL_free(spki);
	same = CRYPTO_memcmp(h, doc->key_binding, sizeof(h)) == 0;
	if (!same) {
		attest_refuse(res, PROTOCOL_BAD_ATTESTATION, "identity document "
		    "for instance %s: bound to another key (its keyBinding is "
		    "not the SHA-256 of this CSR's SubjectPublicKeyInfo); ask "
		    "the platform for a document for this key", doc->instance);
		return CA_ERR_DENIED;
	}
	return CA_OK;
}

/* doc_used: the instance already has a certificate (maybe for this one). */
static void
doc_used(struct attest_result *res, const struct doc_priv *p,
    const uint8_t seen[ISSUANCE_LOG_SERIAL_LEN])
{
	attest_refuse(res, PROTOCOL_TOKEN_USED, "identity document: instance "
	    "%s (%s) already received a certificate; a document is accepted "
	    "once per instance; renew with x509pop instead", p->doc->instance,
	    p->seen_kind + 4);
	res->spent = 1;
	memcpy(res->spent_serial, seen, sizeof(res->spent_serial));
}

static void
doc_verify(void *state, const struct attest_env *env,
    const struct attest_request *req, struct attest_result *res)
{
	const PROTO_IDENTITY_DOC *d = req->evidence->value.identity_doc;
	struct doc_state *s = state;
	struct iddoc_evidence ev;
	struct doc_priv *p;
	uint8_t seen[ISSUANCE_LOG_SERIAL_LEN];
	char *key_id = NULL;
	int rc;

	snprintf(res->who, sizeof(res->who), "identity document");
	res->attestation = "iid";
	if (s == NULL) {
		attest_refuse(res, PROTOCOL_BAD_ATTESTATION, "identity "
		    "documents are not accepted by this issuer (no iddoc_keys "
		    "configured); use another attestation");
		return;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		attest_refuse(res, PROTOCOL_INTERNAL, "out of memory; retry "
		    "later");
		return;
	}
	res->priv = p;
	if ((key_id = protocol_string_dup(d->key_id)) == NULL) {
		attest_refuse(res, PROTOCOL_BAD_REQUEST, "identityDoc: keyId is "
		    "not text");
		return;
	}
	memset(&ev, 0, sizeof(ev));
	ev.doc = ASN1_STRING_get0_data(d->document);
	ev.doc_len = (size_t)ASN1_STRING_length(d->document);
	ev.key_id = key_id;
	ev.sig = ASN1_STRING_get0_data(d->signature);
	ev.sig_len = (size_t)ASN1_STRING_length(d->signature);
	rc = attest_iddoc_verify(&p->doc, &s->v, &ev, env->now, NULL, NULL);
	if (rc == CA_ERR_NOMEM || rc == CA_ERR_INTERNAL) {
		attest_unavailable(res, rc, "identity document");
		goto out;
	}
	if (rc != CA_OK) {
		/* attest_iddoc's messages name the document already. */
		attest_refuse(res, rc == CA_ERR_DENIED ? PROTOCOL_TOKEN_USED :
		    PROTOCOL_BAD_ATTESTATION, "%s", ca_error_detail());
		goto out;
	}
	/* A copied document is useless: it names the key it is for. */
	if ((rc = doc_binding_check(res, s, p->doc, req->key)) != CA_OK)
		goto out;
	snprintf(p->seen_kind, sizeof(p->seen_kind), "iid:%s",
	    p->doc->platform != NULL ? p->doc->platform : "-");
	snprintf(res->who, sizeof(res->who), "instance %s", p->doc->instance);
	snprintf(res->requester, sizeof(res->requester), "%s",
	    p->doc->instance);
	memset(seen, 0, sizeof(seen));
	rc = issuance_log_seen(env->log, seen, p->seen_kind,
	    p->doc->instance);
	if (rc == CA_ERR_DENIED) {
		doc_used(res, p, seen);
		goto out;
	}
	if (rc != CA_OK) {
		attest_unavailable(res, rc, res->who);
		goto out;
	}
	res->id.method = POLICY_IDDOC;
	res->id.instance = p->doc->instance;
	res->id.account = p->doc->account;
	res->id.region = p->doc->region;
	memcpy(res->evidence, p->doc->digest, sizeof(res->evidence));
	res->seen_kind = p->seen_kind;
	res->seen_id = p->doc->instance;
	attest_selector_add(res, "iddoc", "key-id", p->doc->key_id);
	attest_selector_add(res, "iddoc", "platform", p->doc->platform);
	attest_selector_add(res, "iddoc", "instance", p->doc->instance);
	attest_selector_add(res, "iddoc", "account", p->doc->account);
	attest_selector_add(res, "iddoc", "region", p->doc->region);
 out:
	free(key_id);
}

static void
doc_conflict(void *state, const struct attest_env *env,
    struct attest_result *res, int rc)
{
	struct doc_priv *p = res->priv;
	uint8_t seen[ISSUANCE_LOG_SERIAL_LEN];

	(void)state;
	memset(seen, 0, sizeof(seen));
	if (rc == CA_ERR_DENIED && p != NULL && p->doc != NULL &&
	    issuance_log_seen(env->log, seen, p->seen_kind,
	    p->doc->instance) == CA_ERR_DENIED)
		doc_used(res, p, seen);
}

static void
doc_result_free(struct attest_result *res)
{
	struct doc_priv *p = res->priv;

	if (p == NULL)
		return;
	iddoc_identity_free(p->doc);
	free(p);
}

static void
doc_free(void *state)
{
	struct doc_state *s = state;

	if (s == NULL)
		return;
	iddoc_keys_free(s->keys);
	free(s);
}

const struct attestor attestor_iddoc = {
	.name = "identityDoc",
	.method = "issue/identityDoc",
	.wire_type = PROTO_ATTEST_IDENTITY_DOC,
	.configure = doc_configure,
	.verify = doc_verify,
	.conflict = doc_conflict,
	.result_free = doc_result_free,
	.free = doc_free,
};
