/* SPDX-License-Identifier: ISC */
/*
 * attest_iddoc: signed platform identity documents. A platform the operator
 * trusts signs a document about an instance (instance id, account, region,
 * issued-at) with Ed25519; the operator configures the platform's public
 * keys by key id:
 *
 *   [iddoc_keys]
 *   platform-2026 = 3q2+7w...=        (32 bytes, base64 or 64 hex digits)
 *
 * The signature covers PROTOCOL_IDDOC_PREFIX (with its NUL) followed by the
 * document bytes, built by protocol/protocol.h's protocol_iddoc_tbs. The
 * document's encoding is a decode hook's business, which this module calls
 * only on the exact bytes whose signature verified, so the fields it
 * returns are always the signed ones. iddoc_decode_platform_doc is the hook
 * for the wire's DER PlatformDocument.
 *
 * A document must be fresh: issued no later than now + skew and no earlier
 * than now - window. It is accepted once per instance id; the atomic check
 * is the issuance log's (at commit), and the seen hook lets the caller
 * refuse a known instance early.
 */
#ifndef ATTEST_IDDOC_H
#define ATTEST_IDDOC_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/ca_config.h"

#define IDDOC_PK_LEN		32
#define IDDOC_SIG_LEN		64
#define IDDOC_DIGEST_LEN	32	/* SHA-256 of the signed bytes */
#define IDDOC_MAX_DOC		4096	/* PROTOCOL_MAX_DOCUMENT */
#define IDDOC_MAX_FIELD		255	/* PROTOCOL_MAX_STRING */
#define IDDOC_MAX_KEYS		64
#define IDDOC_KEY_ID_MAX	64
#define IDDOC_WINDOW_DEFAULT	300	/* seconds */
#define IDDOC_SKEW_DEFAULT	30	/* seconds */

struct iddoc_keys;

/* What a decoder extracts; strings are malloc'd and freed by this module. */
struct iddoc_fields {
	char *platform;		/* optional: e.g. "aws" */
	char *instance;
	char *account;
	char *region;
	char *audience;		/* optional: the issuer it is meant for */
	time_t issued_at;
	int has_key_binding;	/* the document names the certificate key */
	uint8_t key_binding[IDDOC_DIGEST_LEN];	/* SHA-256 of its SPKI */
};

/*
 * The decode hook: fill *out from doc (len bytes) and return CA_OK, or a
 * ca_err code with a detail message. On failure it must leave nothing
 * allocated in *out that it has not also set (fields start NULL).
 */
typedef int (*iddoc_decode_fn)(void *arg, struct iddoc_fields *out,
    const uint8_t *doc, size_t len);

/*
 * The seen hook: set *seen to 1 when an identity document for this
 * instance was already accepted, and return CA_OK (another code fails the
 * attestation with it).
 */
typedef int (*iddoc_seen_fn)(void *arg, const char *instance, int *seen);

struct iddoc_verifier {
	const struct iddoc_keys *keys;
	long window;			/* seconds a document stays fresh */
	long skew;			/* seconds a document may be early */
	const char *audience;		/* when set, documents must name it */
	iddoc_decode_fn decode;
	void *decode_arg;
};

struct iddoc_evidence {
	const uint8_t *doc;
	size_t doc_len;
	const char *key_id;
	const uint8_t *sig;
	size_t sig_len;
};

/* The attested identity; freed with iddoc_identity_free. */
struct iddoc_identity {
	char *key_id;
	char *platform;			/* NULL when the document has none */
	char *instance;
	char *account;
	char *region;
	time_t issued_at;
	uint8_t digest[IDDOC_DIGEST_LEN];
	int has_key_binding;		/* as in struct iddoc_fields */
	uint8_t key_binding[IDDOC_DIGEST_LEN];
};

/* iddoc_keys_new: an empty key ring, freed with iddoc_keys_free. */
int iddoc_keys_new(struct iddoc_keys **out)
    __attribute__((warn_unused_result));

/* iddoc_keys_free wipes and frees; NULL does nothing. */
void iddoc_keys_free(struct iddoc_keys *k);

/*
 * iddoc_keys_add adds a 32-byte Ed25519 public key under key_id (letters,
 * digits, '.', '_', '-'; 1..IDDOC_KEY_ID_MAX). A duplicate id is
 * CA_ERR_EXISTS.
 */
int iddoc_keys_add(struct iddoc_keys *k, const char *key_id,
    const uint8_t pk[IDDOC_PK_LEN]) __attribute__((warn_unused_result));

/*
 * iddoc_keys_add_string is iddoc_keys_add with the key given as 64 hex
 * digits or as standard base64 (with padding) of 32 bytes.
 */
int iddoc_keys_add_string(struct iddoc_keys *k, const char *key_id,
    const char *value) __attribute__((warn_unused_result));

/*
 * iddoc_keys_load reads every key = value of section in c into a new key
 * ring (errors name the file, section and key). A missing or empty section
 * is CA_ERR_CONFIG. Freed with iddoc_keys_free.
 */
int iddoc_keys_load(struct iddoc_keys **out, const struct config *c,
    const char *section) __attribute__((warn_unused_result));

/* iddoc_keys_count: the number of keys. */
size_t iddoc_keys_count(const struct iddoc_keys *k);

/*
 * attest_iddoc_verify checks the evidence at time now: the key id is
 * configured, the Ed25519 signature verifies over the signed bytes, the
 * decoded fields are well formed, the document names v->audience (when
 * set), the document is fresh, and (when seen is
 * not NULL) the instance was not accepted before. On success *out is the
 * identity, freed by the caller with iddoc_identity_free. Errors:
 * CA_ERR_INVALID (malformed), CA_ERR_NOT_FOUND (unknown key id),
 * CA_ERR_VERIFY (signature, or meant for another audience),
 * CA_ERR_EXPIRED (stale or from the future),
 * CA_ERR_DENIED (instance seen), each with a message saying what to do.
 */
int attest_iddoc_verify(struct iddoc_identity **out,
    const struct iddoc_verifier *v, const struct iddoc_evidence *ev,
    time_t now, iddoc_seen_fn seen, void *seen_arg)
    __attribute__((warn_unused_result));

/* iddoc_identity_free; NULL does nothing. */
void iddoc_identity_free(struct iddoc_identity *id);

/*
 * iddoc_decode_platform_doc is an iddoc_decode_fn for the DER
 * PlatformDocument of protocol/protocol.h (protocol_platform_doc_decode:
 * strict DER, size caps, no trailing bytes); arg is unused.
 */
int iddoc_decode_platform_doc(void *arg, struct iddoc_fields *out,
    const uint8_t *doc, size_t len) __attribute__((warn_unused_result));

#endif /* ATTEST_IDDOC_H */
