/* SPDX-License-Identifier: ISC */
/*
 * tpm_attestor: the TPM 2.0 attestor (attestor.h), the glue between the
 * wire's challenge exchange and the verification core of attest/tpm.h.
 *
 * Round one (challenge): the client sends its EK certificate (optional),
 * the EK's and the AK's public areas. The EK must chain to a manufacturer
 * CA of [issuer] tpm_ek_ca, or its public key's SHA-256 must be listed in
 * [issuer] tpm_ek_allow; the AK must be a restricted signing key that
 * cannot leave its TPM. The attestor seals a fresh secret to the EK and
 * the AK's name (MakeCredential in software), draws a certify nonce, and
 * keeps both, with the checked EK and AK, under a random session id: at
 * most TPM_SESSIONS_MAX at once, each good for [issuer] nonce_ttl seconds.
 *
 * Round two (verify, the issue request's tpm answer): the session must be
 * known, unexpired and unanswered; TPM2_Certify by that AK over that nonce
 * must certify a key that cannot leave the TPM and is the CSR's key; the
 * EK must not have received a certificate yet (one per TPM; renewals use
 * x509pop); and the secret must be the one sealed to the EK, which only
 * that TPM could recover. The secret is checked last: a refusal before it
 * leaves the session as it was, so nothing is consumed by a refusal.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "attest/attestor.h"
#include "attest/tpm.h"
#include "common/ca_error.h"
#include "common/fileio.h"
#include "common/profile.h"

#define TPM_SESSIONS_MAX	4096	/* challenges outstanding at once */
#define TPM_EK_CAS_MAX		64	/* certificates over all tpm_ek_ca */
#define TPM_ALLOW_MAX		4096	/* hashes in tpm_ek_allow */
#define TPM_ALLOW_FILE_MAX	(TPM_ALLOW_MAX * 80)
#define TPM_EK_PREFIX		16	/* hex digits in {ek} */
#define TPM_SEEN_KIND		"tpm:ek"

/* One challenge that was sent and may be answered once. */
struct tpm_session {
	int live;
	int used;
	uint8_t id[ATTEST_SESSION_LEN];
	time_t expires;
	struct tpm_challenge *ch;
	struct tpm_ek *ek;
	struct tpm_ak *ak;
};

struct tpm_state {
	X509_STORE *cas;
	uint8_t (*hashes)[TPM_SHA256_LEN];
	struct tpm_ek_trust trust;
	pthread_mutex_t mu;
	struct tpm_session *sessions;
	size_t max;
	time_t ttl;
};

/* What verify keeps for one request. */
struct tpm_priv {
	char ek_hex[2 * TPM_SHA256_LEN + 1];
	char ek_prefix[TPM_EK_PREFIX + 1];
};

static void
session_clear(struct tpm_session *s)
{
	tpm_challenge_free(s->ch);
	tpm_ek_free(s->ek);
	tpm_ak_free(s->ak);
	memset(s, 0, sizeof(*s));
}

static void
tpm_state_free(struct tpm_state *s)
{
	size_t i;

	if (s == NULL)
		return;
	if (s->sessions != NULL) {
		for (i = 0; i < s->max; i++)
			session_clear(&s->sessions[i]);
		pthread_mutex_destroy(&s->mu);
	}
	free(s->sessions);
	free(s->hashes);
	X509_STORE_free(s->cas);
	free(s);
}

/*
 * allow_load reads the EK allowlist: one SHA-256 (64 hex digits) of an EK
 * public key's SubjectPublicKeyInfo DER a line; blank lines and lines
 * starting with '#' are skipped.
 */
static int
allow_load(struct tpm_state *s, const char *path)
{
	uint8_t *buf = NULL;
	char *line, *save = NULL, *p;
	size_t len, n = 0, lineno = 0, l;
	int rc;

	if ((rc = fileio_read(&buf, &len, path, TPM_ALLOW_FILE_MAX)) != CA_OK)
		return ca_error(rc, "[issuer] tpm_ek_allow: %s: %s", path,
		    ca_error_detail());
	if ((s->hashes = calloc(TPM_ALLOW_MAX, sizeof(*s->hashes))) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "tpm: out of memory");
		goto out;
	}
	for (line = strtok_r((char *)buf, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		for (p = line; *p == ' ' || *p == '\t'; p++)
			;
		l = strcspn(p, " \t\r");
		if (l == 0 || *p == '#')
			continue;
		p[l] = '\0';
		if (n == TPM_ALLOW_MAX) {
			rc = ca_error(CA_ERR_CONFIG, "[issuer] tpm_ek_allow: "
			    "%s: more than %d hashes", path, TPM_ALLOW_MAX);
			goto out;
		}
		if (l != 2 * TPM_SHA256_LEN ||
		    fileio_unhex(s->hashes[n], TPM_SHA256_LEN, p) != CA_OK) {
			rc = ca_error(CA_ERR_CONFIG, "[issuer] tpm_ek_allow: "
			    "%s:%zu: not a SHA-256 in hex (64 digits: the hash "
			    "of the EK public key's SubjectPublicKeyInfo DER)",
			    path, lineno);
			goto out;
		}
		n++;
	}
	s->trust.hashes = (const uint8_t (*)[TPM_SHA256_LEN])s->hashes;
	s->trust.nhashes = n;
	rc = CA_OK;
 out:
	free(buf);
	return rc;
}

/* cas_load puts every certificate of the tpm_ek_ca files in one store. */
static int
cas_load(struct tpm_state *s, char *const *paths, size_t n)
{
	STACK_OF(X509) *sk = NULL;
	size_t i;
	int j, rc;

	if ((sk = sk_X509_new_null()) == NULL ||
	    (s->cas = X509_STORE_new()) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "tpm: out of memory");
		goto out;
	}
	for (i = 0; i < n; i++)
		if ((rc = profile_certs_read(sk, paths[i], TPM_EK_CAS_MAX)) !=
		    CA_OK) {
			rc = ca_error(rc, "[issuer] tpm_ek_ca: %s",
			    ca_error_detail());
			goto out;
		}
	for (j = 0; j < sk_X509_num(sk); j++)
		if (X509_STORE_add_cert(s->cas, sk_X509_value(sk, j)) != 1) {
			rc = ca_error_openssl(CA_ERR_CONFIG, "[issuer] "
			    "tpm_ek_ca: certificate %d", j);
			goto out;
		}
	s->trust.cas = s->cas;
	rc = CA_OK;
 out:
	sk_X509_pop_free(sk, X509_free);
	return rc;
}

static int
tpm_configure(void **state, const struct attest_config *ac)
{
	const struct issuer_config *cfg = ac->cfg;
	struct tpm_state *s = NULL;
	int rc = CA_ERR_INTERNAL;

	*state = NULL;
	if (cfg->ntpm_ek_ca == 0 && cfg->tpm_ek_allow == NULL)
		return CA_OK;	/* not enabled: every request is refused */
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "tpm: out of memory");
		goto out;
	}
	if (cfg->ntpm_ek_ca > 0 &&
	    (rc = cas_load(s, cfg->tpm_ek_ca, cfg->ntpm_ek_ca)) != CA_OK)
		goto out;
	if (cfg->tpm_ek_allow != NULL &&
	    (rc = allow_load(s, cfg->tpm_ek_allow)) != CA_OK)
		goto out;
	s->max = (size_t)cfg->nonce_max < TPM_SESSIONS_MAX ?
	    (size_t)cfg->nonce_max : TPM_SESSIONS_MAX;
	s->ttl = (time_t)cfg->nonce_ttl;
	if ((s->sessions = calloc(s->max, sizeof(*s->sessions))) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "tpm: out of memory");
		goto out;
	}
	if (pthread_mutex_init(&s->mu, NULL) != 0) {
		free(s->sessions);
		s->sessions = NULL;
		rc = ca_error(CA_ERR_INTERNAL, "tpm: mutex");
		goto out;
	}
	*state = s;
	s = NULL;
	rc = CA_OK;
 out:
	tpm_state_free(s);
	return rc;
}

static void
tpm_free(void *state)
{
	tpm_state_free(state);
}

#define TPM_DISABLED	"TPM attestation is not accepted by this issuer (no " \
	"[issuer] tpm_ek_ca or tpm_ek_allow configured); use another " \
	"attestation"

/* The wire status for a refusal of the TPM core with rc. */
static enum protocol_status
core_status(int rc)
{
	switch (rc) {
	case CA_ERR_NOMEM:
	case CA_ERR_INTERNAL:
		return PROTOCOL_INTERNAL;
	default:
		return PROTOCOL_BAD_ATTESTATION;
	}
}

/* session_slot: a free (or expired) slot, under the lock; NULL when full. */
static struct tpm_session *
session_slot(struct tpm_state *s, time_t now)
{
	size_t i;

	for (i = 0; i < s->max; i++) {
		if (s->sessions[i].live && s->sessions[i].expires < now)
			session_clear(&s->sessions[i]);
		if (!s->sessions[i].live)
			return &s->sessions[i];
	}
	return NULL;
}

static void
tpm_challenge_op(void *state, const struct attest_env *env,
    const PROTO_CHALLENGE_REQ *req, struct attest_challenge *out)
{
	const PROTO_TPM_CHALLENGE_REQ *t = req->value.tpm;
	struct tpm_state *s = state;
	struct tpm_session *slot, fresh;
	uint8_t *idobj = NULL, *enc = NULL;
	size_t idobj_len = 0, enc_len = 0;
	char *hex = NULL;
	int rc, locked = 0;

	memset(&fresh, 0, sizeof(fresh));
	if (s == NULL) {
		out->status = PROTOCOL_BAD_ATTESTATION;
		snprintf(out->message, sizeof(out->message), "%s",
		    TPM_DISABLED);
		return;
	}
	rc = tpm_ek_verify(&fresh.ek, &s->trust, t->ek_certificate == NULL ?
	    NULL : ASN1_STRING_get0_data(t->ek_certificate),
	    t->ek_certificate == NULL ? 0 :
	    (size_t)ASN1_STRING_length(t->ek_certificate),
	    ASN1_STRING_get0_data(t->ek_public),
	    (size_t)ASN1_STRING_length(t->ek_public), env->now);
	if (rc == CA_OK) {
		if ((hex = tpm_hex(fresh.ek->sha256, TPM_EK_PREFIX / 2)) !=
		    NULL)
			snprintf(out->who, sizeof(out->who), "tpm ek %s", hex);
		rc = tpm_ak_check(&fresh.ak, ASN1_STRING_get0_data(
		    t->ak_public), (size_t)ASN1_STRING_length(t->ak_public));
	}
	if (rc == CA_OK && (rc = tpm_challenge_new(&fresh.ch)) == CA_OK)
		rc = tpm_credential_make(&idobj, &idobj_len, &enc, &enc_len,
		    fresh.ek, &fresh.ak->name, tpm_challenge_secret(fresh.ch),
		    TPM_SECRET_LEN);
	if (rc != CA_OK) {
		out->status = core_status(rc);
		snprintf(out->message, sizeof(out->message), "%s; nothing was "
		    "kept", ca_error_detail());
		goto out;
	}
	if (RAND_bytes(fresh.id, sizeof(fresh.id)) != 1) {
		out->status = PROTOCOL_INTERNAL;
		snprintf(out->message, sizeof(out->message), "tpm: no random "
		    "session id; retry later");
		goto out;
	}
	fresh.live = 1;
	fresh.expires = env->now + s->ttl;
	if ((out->challenge = protocol_challenge_tpm(idobj, idobj_len, enc,
	    enc_len, tpm_challenge_nonce(fresh.ch), TPM_NONCE_LEN)) == NULL) {
		out->status = PROTOCOL_INTERNAL;
		snprintf(out->message, sizeof(out->message), "tpm: out of "
		    "memory; retry later");
		goto out;
	}
	pthread_mutex_lock(&s->mu);
	locked = 1;
	if ((slot = session_slot(s, env->now)) == NULL) {
		PROTO_CHALLENGE_free(out->challenge);
		out->challenge = NULL;
		out->status = PROTOCOL_BUSY;
		snprintf(out->message, sizeof(out->message), "tpm: %zu "
		    "challenges are outstanding, the most this issuer keeps; "
		    "retry in a few seconds", s->max);
		goto out;
	}
	*slot = fresh;
	memset(&fresh, 0, sizeof(fresh));
	memcpy(out->session, slot->id, sizeof(out->session));
	out->expires = slot->expires;
	out->status = PROTOCOL_OK;
 out:
	if (locked)
		pthread_mutex_unlock(&s->mu);
	session_clear(&fresh);
	free(idobj);
	free(enc);
	free(hex);
}

/* session_find: the live session id names, under the lock, or NULL. */
static struct tpm_session *
session_find(struct tpm_state *s, const ASN1_OCTET_STRING *id)
{
	size_t i;

	if (ASN1_STRING_length(id) != ATTEST_SESSION_LEN)
		return NULL;
	for (i = 0; i < s->max; i++)
		if (s->sessions[i].live && memcmp(s->sessions[i].id,
		    ASN1_STRING_get0_data(id), ATTEST_SESSION_LEN) == 0)
			return &s->sessions[i];
	return NULL;
}

/* tpm_used: the EK already has a certificate (maybe for this request). */
static void
tpm_used(struct attest_result *res, const struct tpm_priv *p,
    const uint8_t seen[ISSUANCE_LOG_SERIAL_LEN])
{
	attest_refuse(res, PROTOCOL_TOKEN_USED, "tpm: the TPM with EK "
	    "sha256 %s already received a certificate; a TPM is accepted "
	    "once per EK; renew with x509pop instead", p->ek_hex);
	res->spent = 1;
	memcpy(res->spent_serial, seen, sizeof(res->spent_serial));
}

/* selectors_add: "tpm:fact:value" strings of tpm_selectors into res. */
static void
selectors_add(struct attest_result *res, char **sel, size_t n)
{
	char *fact, *value;
	size_t i;

	for (i = 0; i < n; i++) {
		if ((fact = strchr(sel[i], ':')) == NULL ||
		    (value = strchr(fact + 1, ':')) == NULL)
			continue;
		*fact++ = '\0';
		*value++ = '\0';
		attest_selector_add(res, sel[i], fact, value);
	}
}

static void
tpm_verify(void *state, const struct attest_env *env,
    const struct attest_request *req, struct attest_result *res)
{
	const PROTO_TPM_ANSWER *a = req->evidence->value.tpm;
	struct tpm_state *s = state;
	struct tpm_session *ss;
	struct tpm_priv *p;
	uint8_t seen[ISSUANCE_LOG_SERIAL_LEN];
	char **sel = NULL, *hex = NULL;
	size_t nsel = 0;
	EVP_MD_CTX *md = NULL;
	int rc;

	snprintf(res->who, sizeof(res->who), "tpm");
	res->attestation = "tpm";
	if (s == NULL) {
		attest_refuse(res, PROTOCOL_BAD_ATTESTATION, "%s",
		    TPM_DISABLED);
		return;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		attest_refuse(res, PROTOCOL_INTERNAL, "out of memory; retry "
		    "later");
		return;
	}
	res->priv = p;
	pthread_mutex_lock(&s->mu);
	if ((ss = session_find(s, a->session_id)) == NULL ||
	    ss->expires < env->now) {
		attest_refuse(res, PROTOCOL_NONCE_INVALID, "tpm: the session "
		    "is unknown or expired (a challenge is good for %lld s "
		    "and is forgotten when the issuer restarts); ask for a new "
		    "challenge", (long long)s->ttl);
		goto out;
	}
	if (ss->used) {
		attest_refuse(res, PROTOCOL_NONCE_INVALID, "tpm: the session "
		    "was already answered (replay); ask for a new challenge");
		goto out;
	}
	if ((hex = tpm_hex(ss->ek->sha256, TPM_SHA256_LEN)) == NULL) {
		attest_refuse(res, PROTOCOL_INTERNAL, "out of memory");
		goto out;
	}
	snprintf(p->ek_hex, sizeof(p->ek_hex), "%s", hex);
	snprintf(p->ek_prefix, sizeof(p->ek_prefix), "%.*s", TPM_EK_PREFIX,
	    hex);
	snprintf(res->who, sizeof(res->who), "tpm ek %s", p->ek_prefix);
	snprintf(res->requester, sizeof(res->requester), "tpm ek %s",
	    p->ek_hex);
	rc = tpm_certify_verify(NULL, ss->ak,
	    ASN1_STRING_get0_data(a->certify_info),
	    (size_t)ASN1_STRING_length(a->certify_info),
	    ASN1_STRING_get0_data(a->signature),
	    (size_t)ASN1_STRING_length(a->signature),
	    ASN1_STRING_get0_data(a->key_public),
	    (size_t)ASN1_STRING_length(a->key_public),
	    tpm_challenge_nonce(ss->ch), TPM_NONCE_LEN, (EVP_PKEY *)req->key);
	if (rc != CA_OK) {
		attest_refuse(res, core_status(rc), "%s; the challenge may be "
		    "answered again", ca_error_detail());
		goto out;
	}
	/* One certificate per TPM: refuse before the secret is spent. */
	memset(seen, 0, sizeof(seen));
	rc = issuance_log_seen(env->log, seen, TPM_SEEN_KIND, p->ek_hex);
	if (rc == CA_ERR_DENIED) {
		tpm_used(res, p, seen);
		goto out;
	}
	if (rc != CA_OK) {
		attest_unavailable(res, rc, res->who);
		goto out;
	}
	rc = tpm_challenge_check_secret(ss->ch, ASN1_STRING_get0_data(
	    a->secret), (size_t)ASN1_STRING_length(a->secret));
	if (rc != CA_OK) {
		attest_refuse(res, core_status(rc), "%s", ca_error_detail());
		goto out;
	}
	ss->used = 1;
	if ((rc = tpm_selectors(&sel, &nsel, ss->ek, ss->ak)) != CA_OK) {
		attest_unavailable(res, rc, res->who);
		goto out;
	}
	selectors_add(res, sel, nsel);
	/* The evidence digest: what the TPM signed, and its signature. */
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(md, ASN1_STRING_get0_data(a->certify_info),
	    (size_t)ASN1_STRING_length(a->certify_info)) != 1 ||
	    EVP_DigestUpdate(md, ASN1_STRING_get0_data(a->signature),
	    (size_t)ASN1_STRING_length(a->signature)) != 1 ||
	    EVP_DigestFinal_ex(md, res->evidence, NULL) != 1) {
		attest_refuse(res, PROTOCOL_INTERNAL, "tpm: SHA-256 failed");
		goto out;
	}
	res->id.method = POLICY_TPM;
	res->id.ek = p->ek_prefix;
	res->seen_kind = TPM_SEEN_KIND;
	res->seen_id = p->ek_hex;
	res->status = PROTOCOL_OK;
 out:
	pthread_mutex_unlock(&s->mu);
	EVP_MD_CTX_free(md);
	tpm_selectors_free(sel, nsel);
	free(hex);
}

static void
tpm_conflict(void *state, const struct attest_env *env,
    struct attest_result *res, int rc)
{
	struct tpm_priv *p = res->priv;
	uint8_t seen[ISSUANCE_LOG_SERIAL_LEN];

	(void)state;
	memset(seen, 0, sizeof(seen));
	if (rc == CA_ERR_DENIED && p != NULL && issuance_log_seen(env->log,
	    seen, TPM_SEEN_KIND, p->ek_hex) == CA_ERR_DENIED)
		tpm_used(res, p, seen);
}

static void
tpm_result_free(struct attest_result *res)
{
	free(res->priv);
}

const struct attestor attestor_tpm = {
	.name = "tpm",
	.method = "issue/tpm",
	.wire_type = PROTO_ATTEST_TPM,
	.configure = tpm_configure,
	.verify = tpm_verify,
	.conflict = tpm_conflict,
	.result_free = tpm_result_free,
	.free = tpm_free,
	.challenge_type = PROTO_CHALLENGE_TPM,
	.challenge = tpm_challenge_op,
};
