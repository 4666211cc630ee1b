/* SPDX-License-Identifier: ISC */
/*
 * handler: turns one request message into one response message. It is the
 * glue between the wire (protocol/protocol.h), the attestors and policy
 * (attest/attestor.h and the attestors behind it, policy.h), the
 * signer (issuer/signer.h) and the issuance log (log/issuance_log.h).
 *
 * An issue request goes through these steps, and the first one that fails
 * decides the status of the answer; nothing before the reservation changes
 * any state (a refused request consumes no join token):
 *   1. decode the Request (badRequest, unsupportedVersion, tooLarge);
 *   2. parse the CSR, verify its signature, refuse a key type other than
 *      RSA >= 2048 or EC P-256/P-384, CA powers, subject attributes other
 *      than one commonName, and non-DNS names (issuer/csr.h; badCsr,
 *      policy);
 *   3. check the attestation (join token: tokenUnknown, tokenExpired,
 *      tokenUsed; x509pop: nonceInvalid, badAttestation; identity
 *      document: badAttestation, tokenUsed; TPM: nonceInvalid,
 *      badAttestation, tokenUsed);
 *   4. policy: the names and the profile (notAuthorized, policy), then the
 *      profile's key types and lifetime (policy);
 *   5. reserve a serial, sign, record and commit (issuance_log_complete,
 *      which also consumes the token or marks the instance seen), and only
 *      then answer with the certificate. A failure after the reservation
 *      abandons the serial (hsmUnavailable, logUnavailable, internal).
 *
 * A challenge request (the first round of TPM attestation) is handed to
 * the attestor that answers its alternative (attest_challenge), which
 * keeps the session; an x509pop nonce request is answered here.
 * Operator requests (ops.c) are answered only on the operator listener;
 * elsewhere they get forbidden.
 *
 * A handler is shared by every worker thread; handler_handle is
 * thread-safe. Every request is logged on one line: listener, method,
 * identity, serial, outcome and latency; never a token secret or a PIN.
 */
#ifndef HANDLER_H
#define HANDLER_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "log/issuance_log.h"
#include "protocol/protocol.h"
#include "attest/attestor.h"
#include "issuer/csr.h"
#include "issuer/issuer_config.h"
#include "issuer/leaf_profile.h"
#include "attest/nonce.h"
#include "issuer/policy.h"
#include "issuer/signer.h"

#define HANDLER_KEY_ID_LEN	20	/* SHA-1 of the CA's public key */
#define HANDLER_LIST_DEFAULT	PROTOCOL_MAX_LIST

struct handler {
	const struct issuer_config *cfg;	/* borrowed */
	struct signer *signer;			/* borrowed */
	struct issuance_log *log;		/* borrowed */
	X509 *inter;				/* owned */
	STACK_OF(X509) *chain;		/* sent with certificates: inter first */
	/* chain's DER, encoded once (the same bytes on every response) */
	uint8_t *chain_der[PROTOCOL_MAX_CHAIN];
	size_t chain_der_len[PROTOCOL_MAX_CHAIN];
	size_t nchain_der;
	struct weak_key_list *weak;	/* [issuer] weak_keys blocklists */
	struct csr_verifier *csrv;	/* what every CSR is checked with */
	uint8_t issuer_key_id[HANDLER_KEY_ID_LEN];
	struct leaf_profile *profiles[ISSUER_MAX_PROFILES];
	size_t nprofiles;
	struct policy *policy;
	struct nonce_cache *nonces;		/* x509pop's challenge */
	struct attest_registry *attest;		/* the attestors */
	/* The intermediate's dNSName constraints (RFC 5280 4.2.1.10). */
	char **nc_permitted, **nc_excluded;
	size_t nc_npermitted, nc_nexcluded;
};

/* What a request's log line says; filled in as the request goes. */
struct handler_note {
	const char *method;		/* "issue/joinToken", "tokenCreate", ... */
	char identity[128];		/* who asked, when known */
	char serial[2 * ISSUANCE_LOG_SERIAL_LEN + 1];
};

/*
 * handler_new builds a handler for cfg around a signer and an open log
 * (both borrowed; they must outlive the handler). inter is the
 * intermediate certificate (a reference is taken). It compiles the
 * profiles, loads the policy, the x509pop anchors (this CA for renewal,
 * cfg's device anchors) and the identity-document keys, and makes the
 * nonce cache. The caller frees *out with handler_free.
 */
int handler_new(struct handler **out, const struct issuer_config *cfg,
    struct signer *signer, struct issuance_log *log, X509 *inter)
    __attribute__((warn_unused_result));

/* handler_free releases what handler_new built; NULL does nothing. */
void handler_free(struct handler *h);

/*
 * handler_handle answers the request in (len bytes) received on a listener
 * (operator: the ipc operator socket). *out is the DER Response (*out_len
 * bytes), which the caller wipes and frees with OPENSSL_clear_free (a
 * tokenCreated response holds a secret); every request gets one,
 * errors included. Returns CA_OK, or CA_ERR_NOMEM / CA_ERR_INTERNAL when
 * no response could be made (the caller then drops the request).
 */
int handler_handle(struct handler *h, uint8_t **out, size_t *out_len,
    const uint8_t *in, size_t len, int operator)
    __attribute__((warn_unused_result));

/*
 * handler_profile returns the compiled profile named name, or NULL when
 * it is not configured.
 */
const struct leaf_profile *handler_profile(const struct handler *h,
    const char *name);

/*
 * handler_name_permitted returns 1 when the DNS name is within the
 * intermediate certificate's name constraints (RFC 5280 4.2.1.10: not
 * under an excluded subtree, and under a permitted one when there are
 * any), 0 when a certificate for it would fail path validation.
 */
int handler_name_permitted(const struct handler *h, const char *name);



#endif /* HANDLER_H */
