/* SPDX-License-Identifier: ISC */
/*
 * registry: the built-in attestors, configured once, found by the
 * attestation type of a request (see attestor.h), and the small helpers
 * attestors share to fill a result.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "attest/attestor.h"
#include "common/ca_error.h"

static const struct attestor *const builtin[] = {
	&attestor_join_token,
	&attestor_x509pop,
	&attestor_iddoc,
	&attestor_tpm,
};
#define NBUILTIN	(sizeof(builtin) / sizeof(builtin[0]))

struct attest_registry {
	void *state[NBUILTIN];
	int configured[NBUILTIN];
};

int
attest_registry_new(struct attest_registry **out,
    const struct attest_config *ac)
{
	struct attest_registry *r = NULL;
	size_t i;
	int rc = CA_ERR_INTERNAL;

	*out = NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "attestors: out of memory");
		goto out;
	}
	for (i = 0; i < NBUILTIN; i++) {
		if ((rc = builtin[i]->configure(&r->state[i], ac)) != CA_OK)
			goto out;
		r->configured[i] = 1;
	}
	*out = r;
	r = NULL;
	rc = CA_OK;
 out:
	attest_registry_free(r);
	return rc;
}

void
attest_registry_free(struct attest_registry *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < NBUILTIN; i++)
		if (r->configured[i] && builtin[i]->free != NULL)
			builtin[i]->free(r->state[i]);
	free(r);
}

static size_t
find(const struct attestor *a)
{
	size_t i;

	for (i = 0; i < NBUILTIN; i++)
		if (builtin[i] == a)
			break;
	return i;
}

void
attest_verify(struct attest_registry *r, const struct attest_env *env,
    const struct attest_request *req, struct attest_result *res)
{
	size_t i;

	memset(res, 0, sizeof(*res));
	for (i = 0; i < NBUILTIN; i++)
		if (builtin[i]->wire_type == req->evidence->type)
			break;
	if (i == NBUILTIN) {
		attest_refuse(res, PROTOCOL_BAD_REQUEST, "unknown "
		    "attestation type %d", req->evidence->type);
		return;
	}
	res->by = builtin[i];
	builtin[i]->verify(r->state[i], env, req, res);
}

const char *
attest_method(int wire_type)
{
	size_t i;

	for (i = 0; i < NBUILTIN; i++)
		if (builtin[i]->wire_type == wire_type)
			return builtin[i]->method;
	return "issue";
}

void
attest_challenge(struct attest_registry *r, const struct attest_env *env,
    const PROTO_CHALLENGE_REQ *req, struct attest_challenge *out)
{
	size_t i;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < NBUILTIN; i++)
		if (builtin[i]->challenge != NULL &&
		    builtin[i]->challenge_type == req->type)
			break;
	if (i == NBUILTIN) {
		out->status = PROTOCOL_BAD_REQUEST;
		snprintf(out->message, sizeof(out->message), "challenge: no "
		    "attestor of this issuer answers challenge type %d",
		    req->type);
		return;
	}
	snprintf(out->who, sizeof(out->who), "%s", builtin[i]->name);
	builtin[i]->challenge(r->state[i], env, req, out);
}

void
attest_challenge_clear(struct attest_challenge *out)
{
	if (out == NULL)
		return;
	PROTO_CHALLENGE_free(out->challenge);
	out->challenge = NULL;
}

void
attest_conflict(struct attest_registry *r, const struct attest_env *env,
    struct attest_result *res, int rc)
{
	size_t i = find(res->by);

	if (i == NBUILTIN || builtin[i]->conflict == NULL) {
		attest_refuse(res, PROTOCOL_TOKEN_USED, "%s: its evidence was "
		    "used by another request in the meantime; nothing was "
		    "issued", res->who);
		return;
	}
	builtin[i]->conflict(r->state[i], env, res, rc);
}

void
attest_result_free(struct attest_result *res)
{
	if (res == NULL)
		return;
	if (res->by != NULL && res->by->result_free != NULL)
		res->by->result_free(res);
	res->priv = NULL;
}

void
attest_refuse(struct attest_result *res, enum protocol_status status,
    const char *fmt, ...)
{
	va_list ap;

	res->status = status;
	va_start(ap, fmt);
	vsnprintf(res->message, sizeof(res->message), fmt, ap);
	va_end(ap);
}

void
attest_selector_add(struct attest_result *res, const char *kind,
    const char *fact, const char *value)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	char *s;
	size_t n, i, len, room;
	unsigned char c;
	int cut = 0;

	if (res->nselectors == ATTEST_MAX_SELECTORS || value == NULL)
		return;
	s = res->selectors[res->nselectors];
	n = (size_t)snprintf(s, ATTEST_SELECTOR_MAX, "%s:%s:", kind, fact);
	if (n >= ATTEST_SELECTOR_MAX - ATTEST_SELECTOR_CUT)
		return;
	/*
	 * Whole UTF-8 characters only (a cut never splits one); control
	 * bytes and stray bytes are dropped. A value that does not fit ends
	 * in "~" and 16 hex digits of its SHA-256, so that two long values
	 * never give the same selector.
	 */
	room = ATTEST_SELECTOR_MAX - 1;
	for (i = 0; value[i] != '\0'; i += len) {
		c = (unsigned char)value[i];
		len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 :
		    (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 1;
		if (strnlen(value + i, len) < len)
			break;		/* the string ends inside it */
		if (n + len > room - ATTEST_SELECTOR_CUT &&
		    strlen(value + i) > room - n) {
			cut = 1;	/* does not fit: cut, hash below */
			break;
		}
		if (c < 0x20 || c == 0x7f || (c & 0xc0) == 0x80 || c >= 0xf8)
			continue;
		memcpy(s + n, value + i, len);
		n += len;
	}
	if (cut) {
		SHA256((const unsigned char *)value, strlen(value), md);
		n += (size_t)snprintf(s + n, ATTEST_SELECTOR_MAX - n,
		    "~%02x%02x%02x%02x%02x%02x%02x%02x", md[0], md[1], md[2],
		    md[3], md[4], md[5], md[6], md[7]);
	}
	s[n] = '\0';
	/* What the log would refuse is left out, never half-recorded. */
	if (issuance_selector_check(s) != CA_OK)
		return;
	res->nselectors++;
}

void
attest_unavailable(struct attest_result *res, int rc, const char *what)
{
	const char *d = ca_error_detail();

	switch (rc) {
	case CA_ERR_TOKEN_ABSENT:
	case CA_ERR_HSM:
	case CA_ERR_PIN:
	case CA_ERR_PIN_LOCKED:
		attest_refuse(res, PROTOCOL_HSM_UNAVAILABLE, "%s: the CA key's "
		    "HSM is unavailable (%s); nothing was issued and no token "
		    "was used; retry later with backoff", what, d);
		break;
	case CA_ERR_DB:
	case CA_ERR_IO:
		attest_refuse(res, PROTOCOL_LOG_UNAVAILABLE, "%s: the issuance "
		    "log cannot record it (%s); nothing was issued; retry later "
		    "with backoff", what, d);
		break;
	case CA_ERR_POLICY:
	case CA_ERR_EXPIRED:
		attest_refuse(res, PROTOCOL_POLICY, "%s: %s", what, d);
		break;
	default:
		attest_refuse(res, PROTOCOL_INTERNAL, "%s: the issuer failed "
		    "(%s: %s); nothing was issued; retry later and report it if "
		    "it persists", what, ca_strerror(rc), d);
		break;
	}
}
