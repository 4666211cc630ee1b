/* SPDX-License-Identifier: ISC */
/*
 * csr: the issuer's reading of a PKCS#10 certificate request (RFC 2986).
 * csr_request_decode takes the DER bytes of an untrusted request and
 * either refuses it, with a message a person can act on, or returns what
 * the rest of the issue path needs: the key (checked by weak_key_check
 * and the key policy, RSA >= 2048, EC P-256 or P-384, before the request's
 * own signature is verified with it), its SubjectPublicKeyInfo exactly as
 * sent (for the signer), the commonName and the DNS names, and a hash of
 * what it asks for (to know the same request when it comes again). It
 * refuses what this issuer never grants: subject attributes other than one
 * commonName, names other than dNSNames, CA:TRUE, keyCertSign and cRLSign.
 *
 * It knows nothing of the wire protocol: a refusal is a ca_err code with
 * the detail message (ca_error_detail) the caller sends back:
 *   CA_ERR_INVALID	malformed request (the issuer answers badCsr);
 *   CA_ERR_POLICY	well-formed, but asks for what is refused (policy);
 *   CA_ERR_NOMEM	out of memory (internal).
 *
 * The usual request (an EC P-256/P-384 key signed with ECDSA and SHA-2)
 * is decoded with an ASN.1 template and a per-curve key template, without
 * OpenSSL 3.0's provider key decoder (about 150 us a key here); anything
 * else takes d2i_X509_REQ and X509_REQ_verify.
 */
#ifndef CSR_H
#define CSR_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "issuer/signer.h"

/*
 * What csr_request_decode needs on every request, made once: the SHA-2
 * digests, fetched, and per curve its group and a template public key
 * that request keys are copied from. Read-only once made, so one verifier
 * serves every thread.
 */
struct csr_verifier;
struct weak_key_list;

/* A request that decoded, verified and passed the checks above. */
struct csr_request {
	EVP_PKEY *pk;			/* the request's key; owned */
	uint8_t spki[SIGNER_SPKI_MAX];	/* its DER SubjectPublicKeyInfo, as sent */
	size_t spki_len;
	char *cn;			/* its commonName (< SIGNER_CN_LEN), or NULL */
	char *names[SIGNER_MAX_NAMES];	/* its dNSNames; the CN when it has none */
	size_t nnames;			/* at least 1 */
	/*
	 * SHA-256 of its CertificationRequestInfo as sent: subject, key and
	 * attributes (the names asked for), without the signature, which an
	 * ECDSA signer makes anew each time it signs the same request.
	 */
	uint8_t info_hash[SHA256_DIGEST_LENGTH];
};

/*
 * csr_verifier_new fetches the digests and makes the curve templates.
 * weak (may be NULL) is the weak-key blocklist every request key is
 * checked against (weak_key_check); it is borrowed and must outlive the
 * verifier. Returns CA_OK, or CA_ERR_NOMEM / CA_ERR_INTERNAL with the
 * detail set. The caller frees *out with csr_verifier_free.
 */
int csr_verifier_new(struct csr_verifier **out,
    const struct weak_key_list *weak)
    __attribute__((warn_unused_result));

/* csr_verifier_free releases v; NULL does nothing. */
void csr_verifier_free(struct csr_verifier *v);

/*
 * csr_request_decode decodes der (len bytes, one DER CertificationRequest
 * with nothing after it), verifies its signature with its own key and
 * checks it as described above. Returns CA_OK and a new *out, freed by the
 * caller with csr_request_free; otherwise CA_ERR_INVALID, CA_ERR_POLICY or
 * CA_ERR_NOMEM with the refusal in ca_error_detail(), and *out NULL.
 * v is only read (thread-safe).
 */
int csr_request_decode(struct csr_request **out, const struct csr_verifier *v,
    const uint8_t *der, size_t len) __attribute__((warn_unused_result));

/* csr_request_free releases r and its key and names; NULL does nothing. */
void csr_request_free(struct csr_request *r);

#endif /* CSR_H */
