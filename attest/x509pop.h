/* SPDX-License-Identifier: ISC */
/*
 * attest_x509pop: proof of possession of an existing certificate. The
 * client asks for a nonce, then signs
 *
 *   "carapace x509pop v1" 0x00 || nonce (32 bytes) || SHA-256(CSR DER)
 *
 * (built by protocol_pop_tbs in protocol/protocol.h, the one definition the
 * client shares) with the key of a certificate that chains to a configured
 * anchor: this CA (renewal) or a manufacturer CA (devices). ECDSA (P-256,
 * P-384) and RSA PKCS#1 v1.5 signatures are over SHA-256; Ed25519 is pure.
 *
 * The chain is verified with X509_verify_cert, X509_V_FLAG_X509_STRICT,
 * purpose "any", at the caller's time; every certificate in an anchor set
 * is a trust anchor (X509_V_FLAG_PARTIAL_CHAIN), so an intermediate can be
 * one. Which nonce was issued and whether it was used is the nonce cache's
 * business (nonce.h); whether the leaf is revoked is the caller's (the
 * issuance log), through the is_revoked hook.
 */
#ifndef ATTEST_X509POP_H
#define ATTEST_X509POP_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#define X509POP_MAX_CHAIN	8		/* PROTOCOL_MAX_CHAIN */
#define X509POP_MAX_CERT	(16 * 1024)	/* PROTOCOL_MAX_CERT */
#define X509POP_MAX_SIG		1024		/* PROTOCOL_MAX_SIGNATURE */
#define X509POP_MAX_ANCHOR_SETS	16
#define X509POP_FP_LEN		32		/* SHA-256 */

enum x509pop_kind {
	X509POP_RENEWAL = 1,	/* anchored at this CA */
	X509POP_DEVICE = 2,	/* anchored at a manufacturer CA */
};

struct x509pop_anchors;

/*
 * The evidence as it came off the wire; every pointer is the caller's.
 * chain[0] is the leaf, the rest are untrusted intermediates.
 */
struct x509pop_evidence {
	const uint8_t *const *chain;
	const size_t *chain_len;
	size_t nchain;
	const uint8_t *nonce;
	size_t nonce_len;
	const uint8_t *sig;
	size_t sig_len;
	const uint8_t *csr;		/* DER PKCS#10, as sent */
	size_t csr_len;
};

/* The attested identity; freed with x509pop_identity_free. */
struct x509pop_identity {
	enum x509pop_kind kind;
	char *anchor;			/* the anchor set's name */
	uint8_t fingerprint[X509POP_FP_LEN];	/* SHA-256 of the leaf DER */
	uint8_t *serial;		/* big-endian magnitude */
	size_t serial_len;
	char *serial_hex;		/* lowercase, no separators */
	char *subject;			/* one line, "CN=..., O=..." */
	char *issuer;
	char *cn;			/* NULL when there is none */
	char **names;			/* dNSName SANs of the leaf */
	size_t nnames;
	time_t not_after;
};

/*
 * The revocation hook, called once the chain has verified, with the kind of
 * anchor it verified to (the issuance log knows this CA's certificates, not
 * a manufacturer's): set *revoked to 1 when the certificate with this
 * serial (big-endian magnitude) from this issuer is revoked, and return
 * CA_OK; any other return fails the attestation with that code (the log
 * could not be read).
 */
typedef int (*x509pop_revoked_fn)(void *arg, enum x509pop_kind kind,
    const uint8_t *serial, size_t serial_len, const X509_NAME *issuer,
    int *revoked);

/* x509pop_anchors_new: an empty list. Free with x509pop_anchors_free. */
int x509pop_anchors_new(struct x509pop_anchors **out)
    __attribute__((warn_unused_result));

/*
 * x509pop_anchors_set_weak_keys sets the weak-key blocklist (borrowed: it
 * must outlive a) that the leaf's and the chain's keys are checked
 * against, with weak_key_check, before any signature is verified. Without
 * one the structural checks still run.
 */
struct weak_key_list;
void x509pop_anchors_set_weak_keys(struct x509pop_anchors *a,
    const struct weak_key_list *weak);

/* x509pop_anchors_free; NULL does nothing. */
void x509pop_anchors_free(struct x509pop_anchors *a);

/*
 * x509pop_anchors_add adds cert (a reference is taken; the caller keeps
 * its own) to the anchor set called name, creating the set with the given
 * kind the first time. A set reused with another kind is CA_ERR_CONFIG.
 */
int x509pop_anchors_add(struct x509pop_anchors *a, const char *name,
    enum x509pop_kind kind, X509 *cert) __attribute__((warn_unused_result));

/*
 * attest_x509pop_verify checks the evidence at time now: every certificate
 * decodes (DER, no trailing bytes, size caps) and its key passes
 * weak_key_check before any signature is verified, the leaf is within its
 * validity, the chain verifies to one of the anchor sets (tried in the
 * order they were added), the leaf is not revoked (is_revoked, when not
 * NULL), and the signature over the pop data verifies with the leaf's key.
 * On success *out is the attested identity, freed by the caller with
 * x509pop_identity_free. Errors: CA_ERR_INVALID (malformed evidence),
 * CA_ERR_EXPIRED (leaf expired or not yet valid), CA_ERR_VERIFY (chain or
 * signature), CA_ERR_DENIED (revoked), CA_ERR_UNSUPPORTED (key type), each
 * with a message naming the certificate and what to do.
 */
int attest_x509pop_verify(struct x509pop_identity **out,
    const struct x509pop_anchors *anchors,
    const struct x509pop_evidence *ev, time_t now,
    x509pop_revoked_fn is_revoked, void *revoked_arg)
    __attribute__((warn_unused_result));

/* x509pop_identity_free; NULL does nothing. */
void x509pop_identity_free(struct x509pop_identity *id);

/*
 * x509pop_kind_name: "renewal" or "device" (static).
 */
const char *x509pop_kind_name(enum x509pop_kind k);

#endif /* ATTEST_X509POP_H */
