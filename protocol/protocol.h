/* SPDX-License-Identifier: ISC */
/*
 * protocol: the carapace wire protocol, version 1. Requests and responses
 * are DER-encoded ASN.1 messages, one request and one response per nng
 * REQ/REP exchange. The ASN.1 module is in docs/protocol.md; the types
 * below are OpenSSL template structures (protocol/protocol_asn1.c) whose
 * field names follow the module (camelCase becomes snake_case).
 *
 * Decoding is strict: a message over PROTOCOL_MAX_MESSAGE bytes, trailing
 * bytes, an encoding that is BER but not DER, an unknown version, an
 * unknown CHOICE alternative, or a field over its size cap (the
 * PROTOCOL_MAX_* constants) is refused, with a detail message naming the
 * field and the rule, and a status the server can send back as is.
 *
 * The signed data of the two signature-based attestations is built here,
 * so that the client and the server compute the same bytes:
 * protocol_pop_tbs (x509pop) and protocol_iddoc_tbs (identity documents).
 *
 * Every function that can fail returns CA_OK or a ca_err code and sets
 * ca_error_detail(). Objects are freed with their OpenSSL-style _free
 * function (PROTO_REQUEST_free, ...), which accepts NULL.
 */
#ifndef PROTOCOL_H
#define PROTOCOL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/evp.h>
#include <openssl/safestack.h>
#include <openssl/x509.h>

/* The one protocol version this code speaks. */
#define PROTOCOL_VERSION		1

/*
 * Size caps. PROTOCOL_MAX_MESSAGE bounds a whole encoded message in either
 * direction; servers and clients set NNG_OPT_RECVMAXSZ to it.
 */
#define PROTOCOL_MAX_MESSAGE		(64 * 1024)
#define PROTOCOL_MAX_CSR		(16 * 1024)	/* DER PKCS#10 */
#define PROTOCOL_MAX_CERT		(16 * 1024)	/* one DER certificate */
#define PROTOCOL_MAX_CHAIN		8	/* certificates in a chain */
#define PROTOCOL_MAX_NAMES		64	/* subject alternative names */
#define PROTOCOL_MAX_NAME_LEN		255	/* one name, "DNS:..." */
#define PROTOCOL_MAX_STRING		255	/* ids, subjects, profiles */
#define PROTOCOL_MAX_TEXT		1024	/* Response.message */
#define PROTOCOL_MAX_DOCUMENT		4096	/* PlatformDocument DER */
#define PROTOCOL_MAX_SIGNATURE		1024	/* x509pop signature */
#define PROTOCOL_MAX_LIST		256	/* entries in one list reply */
#define PROTOCOL_MAX_LIFETIME		(400LL * 24 * 3600)	/* seconds */
#define PROTOCOL_MAX_SERIAL		20	/* octets, RFC 5280 4.1.2.2 */
#define PROTOCOL_MAX_SELECTORS		64	/* in one CertInfo */
#define PROTOCOL_MAX_SELECTOR_LEN	255	/* "kind:fact:value" */
#define PROTOCOL_NONCE_LEN		32
#define PROTOCOL_SECRET_MIN		16	/* join token secret, octets */
#define PROTOCOL_SECRET_MAX		64
#define PROTOCOL_ED25519_SIG_LEN	64
#define PROTOCOL_HASH_LEN		32	/* SHA-256 */
#define PROTOCOL_SESSION_ID_LEN		16	/* ChallengeResponse.sessionId */
#define PROTOCOL_MAX_TPM_EK_CERT	(8 * 1024)	/* DER EK certificate */
#define PROTOCOL_MAX_TPM_BLOB		2048	/* a marshalled TPM structure */
#define PROTOCOL_TPM_SECRET_LEN		32	/* the activated credential */

/* Domain separation prefixes of the signed data (NUL included). */
#define PROTOCOL_POP_PREFIX		"carapace x509pop v1"
#define PROTOCOL_IDDOC_PREFIX		"carapace identity-document v1"

/* Response.status. Values are on the wire; never renumber. */
enum protocol_status {
	PROTOCOL_OK = 0,
	PROTOCOL_BAD_REQUEST = 1,
	PROTOCOL_UNSUPPORTED_VERSION = 2,
	PROTOCOL_TOO_LARGE = 3,
	PROTOCOL_BAD_CSR = 4,
	PROTOCOL_BAD_ATTESTATION = 5,
	PROTOCOL_TOKEN_UNKNOWN = 6,
	PROTOCOL_TOKEN_EXPIRED = 7,
	PROTOCOL_TOKEN_USED = 8,
	PROTOCOL_NONCE_INVALID = 9,
	PROTOCOL_NOT_AUTHORIZED = 10,
	PROTOCOL_POLICY = 11,
	PROTOCOL_HSM_UNAVAILABLE = 12,
	PROTOCOL_LOG_UNAVAILABLE = 13,
	PROTOCOL_INTERNAL = 14,
	PROTOCOL_NOT_FOUND = 15,
	PROTOCOL_FORBIDDEN = 16,
	PROTOCOL_CONFLICT = 17,
	PROTOCOL_BUSY = 18,
	PROTOCOL_STATUS__MAX
};

/* CHOICE selectors: the index of the alternative, equal to its tag. */
enum protocol_request_type {
	PROTO_REQ_ISSUE = 0,
	PROTO_REQ_NONCE = 1,
	PROTO_REQ_TOKEN_CREATE = 2,
	PROTO_REQ_TOKEN_LIST = 3,
	PROTO_REQ_TOKEN_REVOKE = 4,
	PROTO_REQ_REVOKE = 5,
	PROTO_REQ_LIST = 6,
	PROTO_REQ_SHOW = 7,
	PROTO_REQ_LOG_VERIFY = 8,
	PROTO_REQ_REVOKE_SELECTOR = 9,
	PROTO_REQ_CHALLENGE = 10,
	PROTO_REQ__MAX
};

enum protocol_response_type {
	PROTO_RESP_ISSUED = 0,
	PROTO_RESP_NONCE = 1,
	PROTO_RESP_TOKEN_CREATED = 2,
	PROTO_RESP_TOKEN_LIST = 3,
	PROTO_RESP_CERT_LIST = 4,
	PROTO_RESP_CERT_INFO = 5,
	PROTO_RESP_LOG_VERIFY = 6,
	PROTO_RESP_REVOKED = 7,
	PROTO_RESP_CHALLENGE = 8,
	PROTO_RESP__MAX
};

enum protocol_attest_type {
	PROTO_ATTEST_JOIN_TOKEN = 0,
	PROTO_ATTEST_X509_POP = 1,
	PROTO_ATTEST_IDENTITY_DOC = 2,
	PROTO_ATTEST_TPM = 3,
	PROTO_ATTEST__MAX
};

/* CertInfo.status */
enum protocol_cert_status {
	PROTO_CERT_GOOD = 0,
	PROTO_CERT_REVOKED = 1,
	PROTO_CERT_RESERVED = 2,	/* serial reserved, not completed yet */
	PROTO_CERT_ABANDONED = 3,	/* reserved, then given up: never issued */
	PROTO_CERT__MAX
};

/*
 * ChallengeRequest and Challenge alternatives: one per attestor with a
 * challenge round.
 */
enum protocol_challenge_type {
	PROTO_CHALLENGE_TPM = 0,
	PROTO_CHALLENGE__MAX
};

/* TokenInfo.state */
enum protocol_token_state {
	PROTO_TOKEN_ACTIVE = 0,
	PROTO_TOKEN_USED = 1,
	PROTO_TOKEN_REVOKED = 2,
	PROTO_TOKEN_EXPIRED = 3,
	PROTO_TOKEN__MAX
};

#ifndef sk_ASN1_OCTET_STRING_num
DEFINE_STACK_OF(ASN1_OCTET_STRING)
#endif

/* --- attestations --- */

typedef struct proto_join_token_st {
	ASN1_UTF8STRING *token_id;
	ASN1_OCTET_STRING *secret;
} PROTO_JOIN_TOKEN;

typedef struct proto_x509_pop_st {
	STACK_OF(ASN1_OCTET_STRING) *chain;	/* DER, leaf first */
	ASN1_OCTET_STRING *nonce;
	ASN1_OCTET_STRING *signature;
} PROTO_X509_POP;

typedef struct proto_identity_doc_st {
	ASN1_OCTET_STRING *document;	/* DER PlatformDocument */
	ASN1_UTF8STRING *key_id;
	ASN1_OCTET_STRING *signature;	/* Ed25519 */
} PROTO_IDENTITY_DOC;

#define PROTOCOL_KEY_BINDING_LEN	32	/* PlatformDocument.keyBinding */

typedef struct proto_platform_doc_st {
	ASN1_INTEGER *version;
	ASN1_UTF8STRING *platform;
	ASN1_UTF8STRING *instance_id;
	ASN1_UTF8STRING *account;
	ASN1_UTF8STRING *region;
	ASN1_GENERALIZEDTIME *issued_at;
	ASN1_UTF8STRING *hostname;	/* OPTIONAL */
	ASN1_UTF8STRING *audience;	/* OPTIONAL */
	ASN1_OCTET_STRING *key_binding;	/* OPTIONAL: SHA-256 of the SPKI */
} PROTO_PLATFORM_DOC;

/*
 * TPM 2.0 (docs/protocol.md, "TPM 2.0: the challenge exchange"). Every
 * OCTET STRING holds a TPM structure marshalled as the TPM does
 * (libtss2-mu), or DER for the EK certificate.
 */
typedef struct proto_tpm_challenge_req_st {
	ASN1_OCTET_STRING *ek_certificate;	/* OPTIONAL, DER */
	ASN1_OCTET_STRING *ek_public;		/* TPM2B_PUBLIC */
	ASN1_OCTET_STRING *ak_public;		/* TPM2B_PUBLIC */
} PROTO_TPM_CHALLENGE_REQ;

typedef struct proto_tpm_challenge_st {
	ASN1_OCTET_STRING *credential_blob;	/* TPM2B_ID_OBJECT */
	ASN1_OCTET_STRING *encrypted_secret;	/* TPM2B_ENCRYPTED_SECRET */
	ASN1_OCTET_STRING *nonce;		/* Certify qualifyingData */
} PROTO_TPM_CHALLENGE;

typedef struct proto_tpm_answer_st {
	ASN1_OCTET_STRING *session_id;
	ASN1_OCTET_STRING *secret;		/* what ActivateCredential gave */
	ASN1_OCTET_STRING *key_public;		/* TPM2B_PUBLIC */
	ASN1_OCTET_STRING *certify_info;	/* TPMS_ATTEST */
	ASN1_OCTET_STRING *signature;		/* TPMT_SIGNATURE */
} PROTO_TPM_ANSWER;

/* The first round of an attestor's challenge exchange. */
typedef struct proto_challenge_req_st {
	int type;			/* enum protocol_challenge_type */
	union {
		PROTO_TPM_CHALLENGE_REQ *tpm;
	} value;
} PROTO_CHALLENGE_REQ;

/* The attestor's challenge. */
typedef struct proto_challenge_st {
	int type;			/* enum protocol_challenge_type */
	union {
		PROTO_TPM_CHALLENGE *tpm;
	} value;
} PROTO_CHALLENGE;

typedef struct proto_challenge_resp_st {
	ASN1_OCTET_STRING *session_id;	/* PROTOCOL_SESSION_ID_LEN */
	ASN1_GENERALIZEDTIME *expires_at;
	PROTO_CHALLENGE *challenge;
} PROTO_CHALLENGE_RESP;

typedef struct proto_attestation_st {
	int type;			/* enum protocol_attest_type */
	union {
		PROTO_JOIN_TOKEN *join_token;
		PROTO_X509_POP *x509_pop;
		PROTO_IDENTITY_DOC *identity_doc;
		PROTO_TPM_ANSWER *tpm;
	} value;
} PROTO_ATTESTATION;

/* --- requests --- */

typedef struct proto_issue_request_st {
	ASN1_OCTET_STRING *csr;		/* DER PKCS#10 */
	PROTO_ATTESTATION *attestation;
	ASN1_INTEGER *lifetime;		/* OPTIONAL, seconds */
} PROTO_ISSUE_REQUEST;

typedef struct proto_token_create_st {
	ASN1_UTF8STRING *identity;
	STACK_OF(ASN1_UTF8STRING) *names;
	ASN1_UTF8STRING *profile;
	ASN1_INTEGER *ttl;		/* seconds */
} PROTO_TOKEN_CREATE;

typedef struct proto_token_revoke_st {
	ASN1_UTF8STRING *token_id;
} PROTO_TOKEN_REVOKE;

typedef struct proto_revoke_request_st {
	ASN1_INTEGER *serial;
	ASN1_ENUMERATED *reason;	/* CRLReason, RFC 5280 5.3.1 */
} PROTO_REVOKE_REQUEST;

typedef struct proto_list_request_st {
	ASN1_ENUMERATED *status;	/* OPTIONAL filter */
	ASN1_INTEGER *after;		/* OPTIONAL, serial to continue after */
	ASN1_INTEGER *limit;		/* OPTIONAL */
	ASN1_UTF8STRING *selector;	/* OPTIONAL filter */
} PROTO_LIST_REQUEST;

typedef struct proto_revoke_selector_st {
	ASN1_UTF8STRING *selector;
	ASN1_ENUMERATED *reason;	/* CRLReason, RFC 5280 5.3.1 */
} PROTO_REVOKE_SELECTOR;

typedef struct proto_show_request_st {
	ASN1_INTEGER *serial;
} PROTO_SHOW_REQUEST;

typedef struct proto_request_body_st {
	int type;			/* enum protocol_request_type */
	union {
		PROTO_ISSUE_REQUEST *issue;
		ASN1_NULL *nonce;
		PROTO_TOKEN_CREATE *token_create;
		ASN1_NULL *token_list;
		PROTO_TOKEN_REVOKE *token_revoke;
		PROTO_REVOKE_REQUEST *revoke;
		PROTO_LIST_REQUEST *list;
		PROTO_SHOW_REQUEST *show;
		ASN1_NULL *log_verify;
		PROTO_REVOKE_SELECTOR *revoke_selector;
		PROTO_CHALLENGE_REQ *challenge;
	} value;
} PROTO_REQUEST_BODY;

typedef struct proto_request_st {
	ASN1_INTEGER *version;
	PROTO_REQUEST_BODY *body;
} PROTO_REQUEST;

/* --- responses --- */

typedef struct proto_issued_st {
	ASN1_OCTET_STRING *certificate;
	STACK_OF(ASN1_OCTET_STRING) *chain;	/* issuer first, no root */
} PROTO_ISSUED;

typedef struct proto_nonce_st {
	ASN1_OCTET_STRING *nonce;
	ASN1_GENERALIZEDTIME *expires_at;
} PROTO_NONCE;

typedef struct proto_token_created_st {
	ASN1_UTF8STRING *token_id;
	ASN1_OCTET_STRING *secret;
	ASN1_GENERALIZEDTIME *expires_at;
} PROTO_TOKEN_CREATED;

typedef struct proto_token_info_st {
	ASN1_UTF8STRING *token_id;
	ASN1_UTF8STRING *identity;
	STACK_OF(ASN1_UTF8STRING) *names;
	ASN1_UTF8STRING *profile;
	ASN1_GENERALIZEDTIME *created_at;
	ASN1_GENERALIZEDTIME *expires_at;
	ASN1_ENUMERATED *state;		/* enum protocol_token_state */
} PROTO_TOKEN_INFO;
DEFINE_STACK_OF(PROTO_TOKEN_INFO)

typedef struct proto_cert_info_st {
	ASN1_INTEGER *serial;
	ASN1_UTF8STRING *subject;	/* RFC 4514 string */
	STACK_OF(ASN1_UTF8STRING) *names;
	ASN1_GENERALIZEDTIME *not_before;
	ASN1_GENERALIZEDTIME *not_after;
	ASN1_ENUMERATED *status;	/* enum protocol_cert_status */
	ASN1_GENERALIZEDTIME *revoked_at;	/* OPTIONAL */
	ASN1_ENUMERATED *reason;	/* OPTIONAL, CRLReason */
	ASN1_UTF8STRING *requester;	/* OPTIONAL */
	ASN1_ENUMERATED *method;	/* OPTIONAL, protocol_attest_type */
	ASN1_OCTET_STRING *certificate;	/* OPTIONAL, DER */
	STACK_OF(ASN1_UTF8STRING) *selectors;	/* OPTIONAL (show) */
} PROTO_CERT_INFO;
DEFINE_STACK_OF(PROTO_CERT_INFO)

typedef struct proto_cert_list_st {
	STACK_OF(PROTO_CERT_INFO) *certs;
	ASN1_BOOLEAN more;		/* DEFAULT FALSE */
} PROTO_CERT_LIST;

typedef struct proto_log_verify_st {
	ASN1_INTEGER *entries;
	ASN1_INTEGER *first_bad;	/* OPTIONAL: absent when intact */
	ASN1_OCTET_STRING *head;	/* OPTIONAL: hash of the last entry */
} PROTO_LOG_VERIFY;

typedef struct proto_revoked_st {
	ASN1_INTEGER *count;		/* how many were revoked */
	STACK_OF(ASN1_INTEGER) *serials;	/* the first PROTOCOL_MAX_LIST */
} PROTO_REVOKED;

typedef struct proto_response_body_st {
	int type;			/* enum protocol_response_type */
	union {
		PROTO_ISSUED *issued;
		PROTO_NONCE *nonce;
		PROTO_TOKEN_CREATED *token_created;
		STACK_OF(PROTO_TOKEN_INFO) *token_list;
		PROTO_CERT_LIST *cert_list;
		PROTO_CERT_INFO *cert_info;
		PROTO_LOG_VERIFY *log_verify;
		PROTO_REVOKED *revoked;
		PROTO_CHALLENGE_RESP *challenge;
	} value;
} PROTO_RESPONSE_BODY;

typedef struct proto_response_st {
	ASN1_INTEGER *version;
	ASN1_ENUMERATED *status;	/* enum protocol_status */
	ASN1_UTF8STRING *message;
	PROTO_RESPONSE_BODY *body;	/* OPTIONAL */
} PROTO_RESPONSE;

DECLARE_ASN1_FUNCTIONS(PROTO_JOIN_TOKEN)
DECLARE_ASN1_FUNCTIONS(PROTO_X509_POP)
DECLARE_ASN1_FUNCTIONS(PROTO_IDENTITY_DOC)
DECLARE_ASN1_FUNCTIONS(PROTO_PLATFORM_DOC)
DECLARE_ASN1_FUNCTIONS(PROTO_TPM_CHALLENGE_REQ)
DECLARE_ASN1_FUNCTIONS(PROTO_TPM_CHALLENGE)
DECLARE_ASN1_FUNCTIONS(PROTO_TPM_ANSWER)
DECLARE_ASN1_FUNCTIONS(PROTO_CHALLENGE_REQ)
DECLARE_ASN1_FUNCTIONS(PROTO_CHALLENGE)
DECLARE_ASN1_FUNCTIONS(PROTO_CHALLENGE_RESP)
DECLARE_ASN1_FUNCTIONS(PROTO_ATTESTATION)
DECLARE_ASN1_FUNCTIONS(PROTO_ISSUE_REQUEST)
DECLARE_ASN1_FUNCTIONS(PROTO_TOKEN_CREATE)
DECLARE_ASN1_FUNCTIONS(PROTO_TOKEN_REVOKE)
DECLARE_ASN1_FUNCTIONS(PROTO_REVOKE_REQUEST)
DECLARE_ASN1_FUNCTIONS(PROTO_LIST_REQUEST)
DECLARE_ASN1_FUNCTIONS(PROTO_SHOW_REQUEST)
DECLARE_ASN1_FUNCTIONS(PROTO_REVOKE_SELECTOR)
DECLARE_ASN1_FUNCTIONS(PROTO_REQUEST_BODY)
DECLARE_ASN1_FUNCTIONS(PROTO_REQUEST)
DECLARE_ASN1_FUNCTIONS(PROTO_ISSUED)
DECLARE_ASN1_FUNCTIONS(PROTO_NONCE)
DECLARE_ASN1_FUNCTIONS(PROTO_TOKEN_CREATED)
DECLARE_ASN1_FUNCTIONS(PROTO_TOKEN_INFO)
DECLARE_ASN1_FUNCTIONS(PROTO_CERT_INFO)
DECLARE_ASN1_FUNCTIONS(PROTO_CERT_LIST)
DECLARE_ASN1_FUNCTIONS(PROTO_LOG_VERIFY)
DECLARE_ASN1_FUNCTIONS(PROTO_REVOKED)
DECLARE_ASN1_FUNCTIONS(PROTO_RESPONSE_BODY)
DECLARE_ASN1_FUNCTIONS(PROTO_RESPONSE)

/* --- decoding and encoding (protocol.c) --- */

/*
 * protocol_request_decode parses one DER Request of len bytes and checks
 * it against the version, the size caps and the value rules of
 * docs/protocol.md. On success *out is a new request the caller frees with
 * PROTO_REQUEST_free. On failure *out is NULL, the detail message names the
 * field and the rule, and, if status is not NULL, *status is the status to
 * answer with (badRequest, unsupportedVersion or tooLarge); it is
 * PROTOCOL_OK on success. Returns CA_OK, CA_ERR_INVALID (malformed or a
 * rule broken), CA_ERR_UNSUPPORTED (another version) or CA_ERR_NOMEM.
 */
int protocol_request_decode(PROTO_REQUEST **out, enum protocol_status *status,
    const uint8_t *buf, size_t len) __attribute__((warn_unused_result));

/*
 * protocol_response_decode is protocol_request_decode for a Response. An
 * unknown status value is accepted (a newer server may send one); treat it
 * as a failure (protocol_status_name says "unknown status").
 */
int protocol_response_decode(PROTO_RESPONSE **out, enum protocol_status *status,
    const uint8_t *buf, size_t len) __attribute__((warn_unused_result));

/*
 * protocol_platform_doc_decode parses and checks a DER PlatformDocument
 * (the content of IdentityDoc.document) with the same rules.
 */
int protocol_platform_doc_decode(PROTO_PLATFORM_DOC **out, const uint8_t *buf,
    size_t len) __attribute__((warn_unused_result));

/*
 * protocol_request_encode checks req with the rules the decoder applies and
 * DER-encodes it. On success *out is a buffer of *out_len bytes the caller
 * frees with OPENSSL_free. Returns CA_OK, CA_ERR_INVALID (req breaks a rule
 * or is over PROTOCOL_MAX_MESSAGE) or CA_ERR_NOMEM.
 */
int protocol_request_encode(uint8_t **out, size_t *out_len,
    const PROTO_REQUEST *req) __attribute__((warn_unused_result));
int protocol_response_encode(uint8_t **out, size_t *out_len,
    const PROTO_RESPONSE *resp) __attribute__((warn_unused_result));
int protocol_platform_doc_encode(uint8_t **out, size_t *out_len,
    const PROTO_PLATFORM_DOC *doc) __attribute__((warn_unused_result));

/*
 * protocol_request_check and protocol_response_check apply the rules
 * without encoding. They return CA_OK or CA_ERR_INVALID (or
 * CA_ERR_UNSUPPORTED for another version).
 */
int protocol_request_check(const PROTO_REQUEST *req);
int protocol_response_check(const PROTO_RESPONSE *resp);

/* --- constructors (protocol_msg.c) --- */

/*
 * protocol_request_new returns a new version-1 Request whose body is the
 * given alternative, with that alternative's structure allocated and empty
 * (NULL bodies are allocated as ASN.1 NULL), or NULL when out of memory.
 * The caller fills the fields and frees it with PROTO_REQUEST_free.
 */
PROTO_REQUEST *protocol_request_new(enum protocol_request_type type);

/*
 * protocol_response_new returns a new version-1 Response with the status,
 * the formatted message (cut to PROTOCOL_MAX_TEXT bytes on a UTF-8
 * boundary) and, unless body_type is -1, an empty body of that
 * alternative; NULL when out of memory. Freed with PROTO_RESPONSE_free.
 */
PROTO_RESPONSE *protocol_response_new(enum protocol_status status,
    int body_type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * protocol_response_error returns a new Response with a status, a message
 * and no body; NULL when out of memory.
 */
PROTO_RESPONSE *protocol_response_error(enum protocol_status status,
    const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * protocol_response_issued returns an ok Response carrying cert and the
 * chain (issuer first; may be NULL), both DER-encoded into it; NULL when out
 * of memory or a certificate does not encode. The caller keeps cert/chain.
 */
PROTO_RESPONSE *protocol_response_issued(X509 *cert, STACK_OF(X509) *chain);

/*
 * protocol_response_nonce returns an ok Response carrying a nonce of
 * PROTOCOL_NONCE_LEN bytes that expires at expires_at; NULL on failure.
 */
PROTO_RESPONSE *protocol_response_nonce(const uint8_t *nonce, size_t len,
    time_t expires_at);

/*
 * protocol_request_issue returns an issue Request carrying a copy of the
 * CSR, taking ownership of att (freed with the request, also on failure),
 * with lifetime in seconds (0: the profile's default). NULL on failure.
 */
PROTO_REQUEST *protocol_request_issue(const uint8_t *csr, size_t csr_len,
    PROTO_ATTESTATION *att, long long lifetime);

/*
 * protocol_attest_join_token returns a joinToken Attestation with copies of
 * the token id and secret; NULL when out of memory.
 */
PROTO_ATTESTATION *protocol_attest_join_token(const char *token_id,
    const uint8_t *secret, size_t secret_len);

/*
 * protocol_attest_x509_pop returns an x509pop Attestation with the chain
 * (leaf first) DER-encoded and copies of nonce and signature; NULL on
 * failure.
 */
PROTO_ATTESTATION *protocol_attest_x509_pop(STACK_OF(X509) *chain,
    const uint8_t *nonce, size_t nonce_len, const uint8_t *sig,
    size_t sig_len);

/*
 * protocol_attest_identity_doc returns an identityDoc Attestation with
 * copies of the document DER, the key id and the signature; NULL on failure.
 */
PROTO_ATTESTATION *protocol_attest_identity_doc(const uint8_t *doc,
    size_t doc_len, const char *key_id, const uint8_t *sig, size_t sig_len);

/*
 * protocol_status_name returns the ASN.1 name of a status ("tokenExpired"),
 * or "unknown status"; protocol_status_hint returns a static sentence that
 * says what a client should do about it.
 */
const char *protocol_status_name(long status);
const char *protocol_status_hint(long status);

/*
 * protocol_response_status returns resp's status as a long, or -1 when it
 * is missing or does not fit.
 */
long protocol_response_status(const PROTO_RESPONSE *resp);

/* --- the challenge exchange (protocol_tpm.c) --- */

/*
 * protocol_request_challenge_tpm returns a challenge Request carrying a
 * TPM's first round: the EK certificate (DER; left out when ek_cert is
 * NULL or ek_cert_len 0), the EK's and the AK's TPM2B_PUBLIC, all copied.
 * NULL when out of memory. Freed with PROTO_REQUEST_free.
 */
PROTO_REQUEST *protocol_request_challenge_tpm(const uint8_t *ek_cert,
    size_t ek_cert_len, const uint8_t *ek_pub, size_t ek_pub_len,
    const uint8_t *ak_pub, size_t ak_pub_len);

/*
 * protocol_challenge_tpm returns the tpm Challenge: copies of the
 * TPM2B_ID_OBJECT, the TPM2B_ENCRYPTED_SECRET and the certify nonce;
 * NULL when out of memory. Freed with PROTO_CHALLENGE_free.
 */
PROTO_CHALLENGE *protocol_challenge_tpm(const uint8_t *id_object,
    size_t id_object_len, const uint8_t *enc_secret, size_t enc_secret_len,
    const uint8_t *nonce, size_t nonce_len);

/*
 * protocol_response_challenge returns an ok Response carrying a copy of
 * the session id, its expiry and ch, which it takes (freed also on
 * failure); NULL on failure.
 */
PROTO_RESPONSE *protocol_response_challenge(const uint8_t *session,
    size_t session_len, time_t expires_at, PROTO_CHALLENGE *ch);

/*
 * protocol_attest_tpm returns a tpm Attestation (the answer to a tpm
 * challenge) with copies of the session id, the activated secret, the
 * key's TPM2B_PUBLIC, the TPMS_ATTEST and the TPMT_SIGNATURE of
 * TPM2_Certify; NULL when out of memory.
 */
PROTO_ATTESTATION *protocol_attest_tpm(const uint8_t *session,
    size_t session_len, const uint8_t *secret, size_t secret_len,
    const uint8_t *key_pub, size_t key_pub_len, const uint8_t *attest,
    size_t attest_len, const uint8_t *sig, size_t sig_len);

/* --- attestation signed data (protocol_attest.c) --- */

/*
 * protocol_pop_tbs builds the bytes an x509pop signature covers:
 *   "carapace x509pop v1" 0x00 || nonce (PROTOCOL_NONCE_LEN) ||
 *   SHA-256(csr DER)
 * into out, which must hold PROTOCOL_POP_TBS_LEN bytes. Returns CA_OK or
 * CA_ERR_INVALID (nonce of the wrong length).
 */
#define PROTOCOL_POP_TBS_LEN \
	(sizeof(PROTOCOL_POP_PREFIX) + PROTOCOL_NONCE_LEN + PROTOCOL_HASH_LEN)
int protocol_pop_tbs(uint8_t out[PROTOCOL_POP_TBS_LEN], const uint8_t *nonce,
    size_t nonce_len, const uint8_t *csr, size_t csr_len);

/*
 * protocol_pop_sign signs the x509pop data with key: ECDSA (DER
 * Ecdsa-Sig-Value) or RSA PKCS#1 v1.5, both over SHA-256, or pure
 * Ed25519. On success *sig is a buffer of *sig_len bytes freed with
 * OPENSSL_free.
 */
int protocol_pop_sign(uint8_t **sig, size_t *sig_len, EVP_PKEY *key,
    const uint8_t *nonce, size_t nonce_len, const uint8_t *csr,
    size_t csr_len) __attribute__((warn_unused_result));

/*
 * protocol_pop_verify checks an x509pop signature against the public key of
 * leaf. Returns CA_OK, CA_ERR_VERIFY (bad signature) or CA_ERR_INVALID.
 * It does not check the certificate itself (chain, validity, revocation).
 */
int protocol_pop_verify(X509 *leaf, const uint8_t *sig, size_t sig_len,
    const uint8_t *nonce, size_t nonce_len, const uint8_t *csr,
    size_t csr_len) __attribute__((warn_unused_result));

/*
 * protocol_iddoc_tbs builds the bytes an identity document signature
 * covers: "carapace identity-document v1" 0x00 || document DER. On success
 * *out is a buffer of *out_len bytes freed with free().
 */
int protocol_iddoc_tbs(uint8_t **out, size_t *out_len, const uint8_t *doc,
    size_t doc_len) __attribute__((warn_unused_result));

/*
 * protocol_iddoc_verify checks an Ed25519 signature over the identity
 * document signed data with a 32-byte public key. Returns CA_OK,
 * CA_ERR_VERIFY or CA_ERR_INVALID (wrong lengths).
 */
int protocol_iddoc_verify(const uint8_t pk[32], const uint8_t *sig,
    size_t sig_len, const uint8_t *doc, size_t doc_len)
    __attribute__((warn_unused_result));

/*
 * protocol_iddoc_sign signs a document with a 64-byte libsodium Ed25519
 * secret key (for platforms, tests and tools); sig receives 64 bytes.
 */
int protocol_iddoc_sign(uint8_t sig[PROTOCOL_ED25519_SIG_LEN],
    const uint8_t sk[64], const uint8_t *doc, size_t doc_len)
    __attribute__((warn_unused_result));

/*
 * protocol_string_dup copies an ASN.1 string into a new NUL-terminated C
 * string (malloc'd, freed by the caller), refusing embedded NULs; NULL on
 * failure or when s is NULL.
 */
char *protocol_string_dup(const ASN1_STRING *s);

#endif /* PROTOCOL_H */
