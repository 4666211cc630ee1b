/* SPDX-License-Identifier: ISC */
/*
 * attestor: the one small interface every kind of evidence implements (join
 * token, x509pop, signed identity document; TPM 2.0 and the cloud and
 * cluster documents next), and the registry the request handler calls.
 * The handler knows no attestor by name: it finds the one that answers the
 * request's attestation type, asks it to verify, gives policy the
 * attested identity, and has the log consume what the attestor says must
 * be used once, in the same transaction as the certificate.
 *
 * An attestor:
 *  - configure: builds its state from the issuer's configuration (its own
 *    settings; NULL state when it is not enabled there);
 *  - verify: checks the evidence against the CSR and its state, and fills
 *    a struct attest_result: the attested identity (what policy decides
 *    on, and the selectors, typed facts such as "token:id:..." stored with
 *    the certificate), what must be consumed once (a token id, an
 *    instance), the renewed certificate's serial for a renewal, or a
 *    refusal with a wire status and a message a person can act on;
 *  - conflict: when the log refused the single-use item at commit (another
 *    request used it in between), says why in the words verify would have
 *    used, or that the other request was this same one (a resend);
 *  - free: releases the state.
 *  - challenge (optional): the first round of a multi-round exchange
 *    (TPM 2.0): checks the first-round evidence of a ChallengeRequest,
 *    keeps what the answer will be checked against in its own state under
 *    a fresh session id (bounded, expiring, single use), and returns the
 *    challenge; verify then finds the session named by the answer.
 * The x509pop nonce is still served by the handler (NonceRequest).
 *
 * Attested identities name the evidence with selectors of the form
 * "kind:fact:value" (docs/attestation.md lists them per attestor).
 */
#ifndef ATTESTOR_H
#define ATTESTOR_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "issuer/issuer_config.h"
#include "issuer/policy.h"
#include "log/issuance_log.h"
#include "protocol/protocol.h"

#define ATTEST_MAX_SELECTORS	16
#define ATTEST_SELECTOR_MAX	256	/* bytes, with the NUL */
#define ATTEST_SELECTOR_CUT	17	/* "~" and 16 hex digits */
#define ATTEST_WHO_MAX		300
#define ATTEST_EVIDENCE_LEN	32	/* the evidence digest, SHA-256 */
#define ATTEST_SESSION_LEN	PROTOCOL_SESSION_ID_LEN

struct nonce_cache;
struct weak_key_list;

/* What configure may read. */
struct attest_config {
	const struct issuer_config *cfg;
	X509 *inter;				/* this CA's certificate */
	const struct weak_key_list *weak;	/* may be NULL */
};

/* What verify and conflict may use: the issuer's shared pieces. */
struct attest_env {
	struct issuance_log *log;	/* lookups: tokens, instances, certs */
	struct nonce_cache *nonces;	/* the x509pop challenge's nonces */
	time_t now;
};

/* The request as every attestor sees it; every pointer is borrowed. */
struct attest_request {
	const PROTO_ATTESTATION *evidence;
	const uint8_t *csr;		/* DER, as sent */
	size_t csr_len;
	const EVP_PKEY *key;		/* the CSR's key, already checked */
};

/*
 * What verify gives. status is PROTOCOL_OK when the evidence attests an
 * identity; otherwise message says why, and when spent is set the evidence
 * was good but already used for spent_serial (the handler answers a resend
 * of the same request with that certificate, else refuses).
 */
struct attest_result {
	enum protocol_status status;
	char message[PROTOCOL_MAX_TEXT];
	int spent;
	uint8_t spent_serial[ISSUANCE_LOG_SERIAL_LEN];

	/* The attested identity. */
	struct policy_identity id;	/* its pointers point into priv */
	const char *attestation;	/* the log's name: "join-token", ... */
	char who[ATTEST_WHO_MAX];	/* for messages: "token 3f..." */
	char requester[ATTEST_WHO_MAX];	/* recorded with the certificate */
	uint8_t evidence[ATTEST_EVIDENCE_LEN];
	char selectors[ATTEST_MAX_SELECTORS][ATTEST_SELECTOR_MAX];
	size_t nselectors;

	/* Consumed once, in the certificate's transaction. */
	const char *token_id;		/* a join token, or NULL */
	const char *seen_kind;		/* an instance, or NULL */
	const char *seen_id;
	int renewal;			/* parent_serial is set */
	uint8_t parent_serial[ISSUANCE_LOG_SERIAL_LEN];

	/* The attestor's own objects, freed by its result_free. */
	const struct attestor *by;
	void *priv;
};

/*
 * What a challenge op gives: status PROTOCOL_OK with a session id, its
 * expiry and the challenge (owned here until the handler takes it), or a
 * refusal with a message. Cleared with attest_challenge_clear.
 */
struct attest_challenge {
	enum protocol_status status;
	char message[PROTOCOL_MAX_TEXT];
	uint8_t session[ATTEST_SESSION_LEN];
	time_t expires;
	PROTO_CHALLENGE *challenge;
	char who[ATTEST_WHO_MAX];	/* for the request log */
};

struct attestor {
	const char *name;		/* "joinToken", "x509pop", ... */
	const char *method;		/* the request log's: "issue/joinToken" */
	int wire_type;			/* the PROTO_ATTEST_* it answers */
	int (*configure)(void **state, const struct attest_config *ac);
	void (*verify)(void *state, const struct attest_env *env,
	    const struct attest_request *req, struct attest_result *res);
	/*
	 * conflict: the log refused res's single-use item with rc
	 * (CA_ERR_DENIED, CA_ERR_EXPIRED): sets res->status and message, or
	 * res->spent and spent_serial when that use was this same request.
	 */
	void (*conflict)(void *state, const struct attest_env *env,
	    struct attest_result *res, int rc);
	void (*result_free)(struct attest_result *res);
	void (*free)(void *state);
	/*
	 * challenge (NULL when the attestor has no challenge round): answers
	 * a ChallengeRequest of alternative challenge_type into out (zeroed
	 * first), or refuses in it.
	 */
	int challenge_type;		/* the PROTO_CHALLENGE_* it answers */
	void (*challenge)(void *state, const struct attest_env *env,
	    const PROTO_CHALLENGE_REQ *req, struct attest_challenge *out);
};

/* The built-in attestors. */
extern const struct attestor attestor_join_token;
extern const struct attestor attestor_x509pop;
extern const struct attestor attestor_iddoc;
extern const struct attestor attestor_tpm;

struct attest_registry;

/*
 * attest_registry_new configures every built-in attestor for ac. Returns
 * CA_OK or the first configuration error. Free with attest_registry_free.
 */
int attest_registry_new(struct attest_registry **out,
    const struct attest_config *ac) __attribute__((warn_unused_result));
void attest_registry_free(struct attest_registry *r);

/*
 * attest_verify finds the attestor for req's evidence and verifies it into
 * res (zeroed first). An evidence type no attestor answers, or one whose
 * attestor is not enabled, is a refusal in res like any other. Free res
 * with attest_result_free.
 */
void attest_verify(struct attest_registry *r, const struct attest_env *env,
    const struct attest_request *req, struct attest_result *res);

/*
 * attest_method is the request log's method for an attestation type
 * ("issue/joinToken"), or "issue" when no attestor answers it.
 */
const char *attest_method(int wire_type);

/*
 * attest_challenge finds the attestor whose challenge op answers req's
 * alternative and runs it into out (zeroed first); an alternative no
 * attestor answers is a refusal in out like any other. Free what out
 * holds with attest_challenge_clear.
 */
void attest_challenge(struct attest_registry *r, const struct attest_env *env,
    const PROTO_CHALLENGE_REQ *req, struct attest_challenge *out);
void attest_challenge_clear(struct attest_challenge *out);

/* attest_conflict calls res's attestor's conflict (see struct attestor). */
void attest_conflict(struct attest_registry *r, const struct attest_env *env,
    struct attest_result *res, int rc);

/* attest_result_free releases what verify put in res; res stays valid. */
void attest_result_free(struct attest_result *res);

/*
 * attest_refuse sets res to a refusal with status and a printf message;
 * attest_selector_add appends "kind:fact:value" (value sanitised: control
 * and stray bytes dropped, whole UTF-8 characters only; a value that does
 * not fit is cut and ends in "~" and 16 hex digits of its SHA-256; one the
 * log would refuse, issuance_selector_check, is left out). Helpers for
 * attestors.
 */
void attest_refuse(struct attest_result *res, enum protocol_status status,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void attest_selector_add(struct attest_result *res, const char *kind,
    const char *fact, const char *value);

/*
 * attest_unavailable sets res to the refusal for an HSM or log failure rc
 * (hsmUnavailable, logUnavailable, policy, internal) about what.
 */
void attest_unavailable(struct attest_result *res, int rc, const char *what);

#endif /* ATTESTOR_H */
