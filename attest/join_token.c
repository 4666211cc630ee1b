/* SPDX-License-Identifier: ISC */
/*
 * join_token: generation, the pasteable string form, strict parsing, the
 * hash the issuance log stores, and the verdict on a presented token
 * against its stored record (see join_token.h for the formats); and the
 * join token attestor (attestor.h): it finds the token by the hash of the
 * secret sent, refuses one that is unknown, used, revoked or expired, and
 * names the token as what the log must consume in the certificate's
 * commit. Selectors: token:id:ID, token:identity:IDENTITY.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/sha.h>
#include <sodium.h>

#include "attest/attestor.h"
#include "attest/join_token.h"
#include "common/ca_error.h"
#include "common/log.h"
#include "issuer/policy.h"

static const char hexdigits[] = "0123456789abcdef";

static struct join_token_cred *
token_alloc(void)
{
	struct join_token_cred *t;

	if (sodium_init() < 0)
		return NULL;
	if ((t = sodium_malloc(sizeof(*t))) == NULL)
		return NULL;
	sodium_memzero(t, sizeof(*t));
	return t;
}

void
join_token_cred_free(struct join_token_cred *t)
{
	if (t != NULL)
		sodium_free(t);	/* wipes */
}

void
join_token_string_free(char *s)
{
	if (s != NULL)
		sodium_free(s);
}

int
join_token_generate(struct join_token_cred **out)
{
	struct join_token_cred *t;

	*out = NULL;
	if ((t = token_alloc()) == NULL)
		return ca_error(CA_ERR_NOMEM, "join token: cannot allocate "
		    "secure memory");
	randombytes_buf(t->id, sizeof(t->id));
	randombytes_buf(t->secret, sizeof(t->secret));
	*out = t;
	return CA_OK;
}

char *
join_token_id_hex(char out[JOIN_TOKEN_ID_HEX],
    const uint8_t id[JOIN_TOKEN_ID_LEN])
{
	size_t i;

	for (i = 0; i < JOIN_TOKEN_ID_LEN; i++) {
		out[2 * i] = hexdigits[id[i] >> 4];
		out[2 * i + 1] = hexdigits[id[i] & 0x0f];
	}
	out[2 * JOIN_TOKEN_ID_LEN] = '\0';
	return out;
}

int
join_token_format(char **out, const struct join_token_cred *t)
{
	char *s;
	size_t o = 0;

	*out = NULL;
	if (t == NULL)
		return ca_error(CA_ERR_USAGE, "join_token_format: no token");
	if (sodium_init() < 0 ||
	    (s = sodium_malloc(JOIN_TOKEN_STR_LEN + 1)) == NULL)
		return ca_error(CA_ERR_NOMEM, "join token: cannot allocate "
		    "secure memory");
	memcpy(s, JOIN_TOKEN_PREFIX, strlen(JOIN_TOKEN_PREFIX));
	o = strlen(JOIN_TOKEN_PREFIX);
	join_token_id_hex(s + o, t->id);
	o += 2 * JOIN_TOKEN_ID_LEN;
	s[o++] = '.';
	/* Writes 43 characters and a NUL. */
	sodium_bin2base64(s + o, JOIN_TOKEN_SECRET_B64 + 1, t->secret,
	    sizeof(t->secret), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	*out = s;
	return CA_OK;
}

static int
hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

int
join_token_parse(struct join_token_cred **out, const char *s)
{
	struct join_token_cred *t = NULL;
	const char *id, *sec, *end = NULL;
	size_t len, i, bin_len = 0, plen = strlen(JOIN_TOKEN_PREFIX);
	int rc = CA_ERR_INVALID, hi, lo;

	*out = NULL;
	if (s == NULL)
		return ca_error(CA_ERR_USAGE, "join_token_parse: no string");
	len = strlen(s);
	if (strncmp(s, JOIN_TOKEN_PREFIX, plen) != 0) {
		if (strncmp(s, "cpt", 3) == 0)
			return ca_error(CA_ERR_INVALID, "join token: unknown "
			    "version (expected \"%s\"): made by a newer "
			    "carapace?", JOIN_TOKEN_PREFIX);
		return ca_error(CA_ERR_INVALID, "join token: does not start "
		    "with \"%s\": not a carapace join token",
		    JOIN_TOKEN_PREFIX);
	}
	for (i = 0; i < len; i++)
		if (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' ||
		    s[i] == '\r')
			return ca_error(CA_ERR_INVALID, "join token: contains "
			    "whitespace at offset %zu; paste it as one word",
			    i);
	if (len != JOIN_TOKEN_STR_LEN)
		return ca_error(CA_ERR_INVALID, "join token: %zu characters "
		    "long; a join token has exactly %d (was it cut short?)",
		    len, JOIN_TOKEN_STR_LEN);
	id = s + plen;
	sec = id + 2 * JOIN_TOKEN_ID_LEN;
	if (*sec != '.')
		return ca_error(CA_ERR_INVALID, "join token: the id must be "
		    "%d lowercase hex digits followed by '.'",
		    2 * JOIN_TOKEN_ID_LEN);
	sec++;
	if ((t = token_alloc()) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "join token: cannot allocate "
		    "secure memory");
		goto out;
	}
	for (i = 0; i < JOIN_TOKEN_ID_LEN; i++) {
		hi = hexval((unsigned char)id[2 * i]);
		lo = hexval((unsigned char)id[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			rc = ca_error(CA_ERR_INVALID, "join token: the id must "
			    "be %d lowercase hex digits",
			    2 * JOIN_TOKEN_ID_LEN);
			goto out;
		}
		t->id[i] = (uint8_t)(hi << 4 | lo);
	}
	if (sodium_base642bin(t->secret, sizeof(t->secret), sec,
	    JOIN_TOKEN_SECRET_B64, NULL, &bin_len, &end,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    bin_len != sizeof(t->secret) ||
	    end != sec + JOIN_TOKEN_SECRET_B64) {
		rc = ca_error(CA_ERR_INVALID, "join token: the secret must be "
		    "%d base64url characters (A-Z a-z 0-9 - _, no padding)",
		    JOIN_TOKEN_SECRET_B64);
		goto out;
	}
	*out = t;
	t = NULL;
	rc = CA_OK;
 out:
	join_token_cred_free(t);
	return rc;
}

int
join_token_hash(uint8_t out[JOIN_TOKEN_HASH_LEN],
    const struct join_token_cred *t)
{
	crypto_generichash_state st;
	int rc = CA_ERR_INTERNAL;

	if (t == NULL)
		return ca_error(CA_ERR_USAGE, "join_token_hash: no token");
	if (sodium_init() < 0 ||
	    crypto_generichash_init(&st,
	    (const uint8_t *)JOIN_TOKEN_HASH_DOMAIN,
	    strlen(JOIN_TOKEN_HASH_DOMAIN), JOIN_TOKEN_HASH_LEN) != 0 ||
	    crypto_generichash_update(&st, t->secret, sizeof(t->secret)) != 0 ||
	    crypto_generichash_final(&st, out, JOIN_TOKEN_HASH_LEN) != 0) {
		rc = ca_error(CA_ERR_INTERNAL, "join token: BLAKE2b failed");
		goto out;
	}
	rc = CA_OK;
 out:
	sodium_memzero(&st, sizeof(st));
	return rc;
}

int
join_token_record_check(const struct join_token_record *rec, time_t now)
{
	char idhex[JOIN_TOKEN_ID_HEX], dbuf[512];
	size_t i;

	if (rec == NULL)
		return ca_error(CA_ERR_USAGE, "join_token_record_check: none");
	join_token_id_hex(idhex, rec->id);
	if (rec->identity == NULL || rec->identity[0] == '\0')
		return ca_error(CA_ERR_INVALID, "join token %s: no identity "
		    "name", idhex);
	if (rec->profile == NULL || rec->profile[0] == '\0')
		return ca_error(CA_ERR_INVALID, "join token %s: no profile",
		    idhex);
	if (rec->nnames == 0 || rec->names == NULL)
		return ca_error(CA_ERR_INVALID, "join token %s: no allowed "
		    "names", idhex);
	if (rec->nnames > POLICY_MAX_NAMES)
		return ca_error(CA_ERR_INVALID, "join token %s: more than %d "
		    "allowed names", idhex, POLICY_MAX_NAMES);
	for (i = 0; i < rec->nnames; i++)
		if (policy_grant_check(rec->names[i]) != CA_OK) {
			snprintf(dbuf, sizeof(dbuf), "%s", ca_error_detail());
			return ca_error(CA_ERR_INVALID, "join token %s: "
			    "allowed names: %s", idhex, dbuf);
		}
	if (rec->expires <= now)
		return ca_error(CA_ERR_INVALID, "join token %s: expiry is not "
		    "in the future", idhex);
	return CA_OK;
}

int
join_token_verdict(enum join_token_state *state,
    const struct join_token_record *rec, const struct join_token_cred *t,
    time_t now)
{
	uint8_t h[JOIN_TOKEN_HASH_LEN];
	char idhex[JOIN_TOKEN_ID_HEX], when[64];
	enum join_token_state st = JOIN_TOKEN_MISMATCH;
	int rc;

	if (state != NULL)
		*state = JOIN_TOKEN_MISMATCH;
	if (rec == NULL || t == NULL)
		return ca_error(CA_ERR_USAGE, "join_token_verdict: bad "
		    "arguments");
	join_token_id_hex(idhex, t->id);
	if ((rc = join_token_hash(h, t)) != CA_OK)
		return rc;
	if (sodium_memcmp(rec->id, t->id, JOIN_TOKEN_ID_LEN) != 0 ||
	    sodium_memcmp(rec->hash, h, JOIN_TOKEN_HASH_LEN) != 0) {
		rc = ca_error(CA_ERR_DENIED, "join token %s: not valid (the "
		    "secret does not match); check that the whole token was "
		    "pasted, or ask the operator for a new one", idhex);
		goto out;
	}
	if (rec->revoked_at != 0) {
		st = JOIN_TOKEN_REVOKED;
		rc = ca_error(CA_ERR_DENIED, "join token %s: revoked at %s; "
		    "ask the operator for a new one", idhex,
		    log_time_str(when, sizeof(when), rec->revoked_at));
		goto out;
	}
	if (rec->used_at != 0) {
		st = JOIN_TOKEN_USED;
		rc = ca_error(CA_ERR_DENIED, "join token %s: already used at "
		    "%s (a join token is good for one certificate); renew "
		    "with the certificate it gave, or ask the operator for a "
		    "new token", idhex,
		    log_time_str(when, sizeof(when), rec->used_at));
		goto out;
	}
	if (now >= rec->expires) {
		st = JOIN_TOKEN_EXPIRED;
		rc = ca_error(CA_ERR_EXPIRED, "join token %s: expired at %s; "
		    "ask the operator for a new one", idhex,
		    log_time_str(when, sizeof(when), rec->expires));
		goto out;
	}
	st = JOIN_TOKEN_OK;
	rc = CA_OK;
 out:
	sodium_memzero(h, sizeof(h));
	if (state != NULL)
		*state = st;
	return rc;
}

/* --- the join token attestor (attestor.h) --- */

/* What the join token attestor keeps for one request. */
struct jt_priv {
	struct join_token *tok;		/* the token the secret names */
	char **grants;			/* its allowed names, split */
	size_t ngrants;
	uint8_t hash[ISSUANCE_LOG_HASH_LEN];	/* of the secret sent */
};

static int
jt_configure(void **state, const struct attest_config *ac)
{
	(void)ac;
	*state = NULL;
	return CA_OK;
}

/* split_lines splits "a\nb" into a new array of new strings. */
static int
split_lines(char ***out, size_t *n, const char *s)
{
	char **v = NULL;
	const char *p, *e;
	size_t k = 0, cap = 1;

	for (p = s; *p != '\0'; p++)
		if (*p == '\n')
			cap++;
	if ((v = calloc(cap, sizeof(*v))) == NULL)
		return CA_ERR_NOMEM;
	for (p = s; *p != '\0'; p = *e == '\0' ? e : e + 1) {
		e = strchr(p, '\n');
		if (e == NULL)
			e = p + strlen(p);
		if (e == p)
			continue;
		if ((v[k] = strndup(p, (size_t)(e - p))) == NULL) {
			while (k > 0)
				free(v[--k]);
			free(v);
			return CA_ERR_NOMEM;
		}
		k++;
	}
	*out = v;
	*n = k;
	return CA_OK;
}

/*
 * jt_refusal says why a join token that was found cannot be used (rc from
 * join_token_usable), in the same words whether that was seen when the
 * request arrived or at its commit; a used token may have been used by this
 * same request (spent).
 */
static void
jt_refusal(struct attest_result *res, const struct join_token *t, int rc)
{
	char when[32];

	if (rc == CA_ERR_EXPIRED) {
		attest_refuse(res, PROTOCOL_TOKEN_EXPIRED, "join token %s: "
		    "expired at %s; ask the operator for a new one", t->id,
		    log_time_str(when, sizeof(when), (time_t)t->expires_at));
		return;
	}
	attest_refuse(res, PROTOCOL_TOKEN_USED, "join token %s: %s at %s; a "
	    "join token is good for one certificate; ask the operator for a "
	    "new one", t->id, t->revoked_at != 0 ? "revoked" : "already used",
	    log_time_str(when, sizeof(when), (time_t)(t->revoked_at != 0 ?
	    t->revoked_at : t->used_at)));
	if (t->used_at != 0 && t->revoked_at == 0) {
		res->spent = 1;
		memcpy(res->spent_serial, t->used_serial,
		    sizeof(res->spent_serial));
	}
}

static void
jt_verify(void *state, const struct attest_env *env,
    const struct attest_request *req, struct attest_result *res)
{
	const PROTO_JOIN_TOKEN *jt = req->evidence->value.join_token;
	struct jt_priv *p;
	char *id = NULL;
	int rc;

	(void)state;
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		attest_refuse(res, PROTOCOL_INTERNAL, "out of memory; retry "
		    "later");
		return;
	}
	res->priv = p;
	res->attestation = "join-token";
	if ((id = protocol_string_dup(jt->token_id)) == NULL) {
		attest_refuse(res, PROTOCOL_BAD_REQUEST, "joinToken: tokenId is "
		    "not text");
		goto out;
	}
	snprintf(res->who, sizeof(res->who), "token %s", id);
	issuance_log_token_hash(p->hash, ASN1_STRING_get0_data(jt->secret),
	    (size_t)ASN1_STRING_length(jt->secret));
	rc = issuance_log_token_find_hash(env->log, &p->tok, p->hash);
	if (rc == CA_ERR_NOT_FOUND || (rc == CA_OK &&
	    strcmp(p->tok->id, id) != 0)) {
		attest_refuse(res, PROTOCOL_TOKEN_UNKNOWN, "join token %s: "
		    "unknown, or the secret does not match; check that the "
		    "whole token was copied, or ask the operator for a new one",
		    id);
		goto out;
	}
	if (rc != CA_OK) {
		attest_unavailable(res, rc, res->who);
		goto out;
	}
	snprintf(res->requester, sizeof(res->requester), "%s",
	    p->tok->identity);
	if ((rc = join_token_usable(p->tok, (int64_t)env->now)) != CA_OK) {
		jt_refusal(res, p->tok, rc);
		goto out;
	}
	if (split_lines(&p->grants, &p->ngrants,
	    p->tok->allowed_names) != CA_OK) {
		attest_refuse(res, PROTOCOL_INTERNAL, "out of memory; retry "
		    "later");
		goto out;
	}
	res->id.method = POLICY_JOIN_TOKEN;
	res->id.names = (const char *const *)p->grants;
	res->id.nnames = p->ngrants;
	res->id.profile = p->tok->profile;
	SHA256((const unsigned char *)p->tok->id, strlen(p->tok->id),
	    res->evidence);
	res->token_id = p->tok->id;
	attest_selector_add(res, "token", "id", p->tok->id);
	attest_selector_add(res, "token", "identity", p->tok->identity);
 out:
	free(id);
}

static void
jt_conflict(void *state, const struct attest_env *env,
    struct attest_result *res, int rc)
{
	struct jt_priv *p = res->priv;
	struct join_token *t = NULL;
	int urc;

	(void)state;
	(void)rc;
	/* The token as it is now: used (maybe by this same request). */
	if (p != NULL && p->tok != NULL &&
	    issuance_log_token_find_hash(env->log, &t, p->hash) == CA_OK &&
	    strcmp(t->id, p->tok->id) == 0 &&
	    (urc = join_token_usable(t, (int64_t)env->now)) != CA_OK)
		jt_refusal(res, t, urc);
	join_token_free(t);
}

static void
jt_result_free(struct attest_result *res)
{
	struct jt_priv *p = res->priv;
	size_t i;

	if (p == NULL)
		return;
	join_token_free(p->tok);
	for (i = 0; i < p->ngrants; i++)
		free(p->grants[i]);
	free(p->grants);
	free(p);
}

const struct attestor attestor_join_token = {
	.name = "joinToken",
	.method = "issue/joinToken",
	.wire_type = PROTO_ATTEST_JOIN_TOKEN,
	.configure = jt_configure,
	.verify = jt_verify,
	.conflict = jt_conflict,
	.result_free = jt_result_free,
	.free = NULL,
};
