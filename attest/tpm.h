/* SPDX-License-Identifier: ISC */
/*
 * tpm: the server side of TPM 2.0 attestation, as pure functions over the
 * bytes a client sends. No I/O, no global state, no wire protocol; the
 * attestor glue (later) feeds them and turns their verdicts into
 * selectors and refusals. Every TPM structure is unmarshalled with
 * libtss2-mu and trailing bytes are refused; all cryptography is OpenSSL.
 *
 * The evidence, in the order it is checked:
 *   1. the EK: its certificate chains to a manufacturer CA (or the EK
 *      public key's SHA-256 is on an allowlist) and certifies exactly the
 *      EK public area the client sent (tpm_ek_verify);
 *   2. the AK: a restricted signing key that cannot leave its TPM
 *      (tpm_ak_check), proved to live beside the EK by credential
 *      activation (tpm_credential_make, tpm_challenge_*);
 *   3. the certificate's key: TPM2_Certify by the AK over the server's
 *      nonce, the certified name is the key's, the key is fixedTPM,
 *      fixedParent and sensitiveDataOrigin, and it is the CSR's key
 *      (tpm_certify_verify).
 * Every refusal is a ca_error code with a message that starts "tpm: " and
 * names the structure and the TCG rule it broke.
 */
#ifndef ATTEST_TPM_H
#define ATTEST_TPM_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <tss2/tss2_tpm2_types.h>

#define TPM_MAX_EK_CERT		(8 * 1024)	/* DER EK certificate */
#define TPM_MAX_BLOB		2048		/* any marshalled TPM structure */
#define TPM_SHA256_LEN		32
#define TPM_NONCE_LEN		32		/* certify qualifyingData */
#define TPM_SECRET_LEN		32		/* credential secret */

/*
 * How an EK is trusted: a store of manufacturer CA certificates (every
 * certificate in it is an anchor, X509_V_FLAG_PARTIAL_CHAIN), and/or a list
 * of SHA-256 hashes of EK public keys (SubjectPublicKeyInfo DER) for vTPMs
 * without EK certificates. Both are borrowed.
 */
struct tpm_ek_trust {
	X509_STORE *cas;			/* may be NULL */
	const uint8_t (*hashes)[TPM_SHA256_LEN];
	size_t nhashes;
};

/* A verified EK; freed with tpm_ek_free. */
struct tpm_ek {
	TPM2B_PUBLIC pub;		/* the EK's public area */
	EVP_PKEY *pkey;			/* the same key for OpenSSL */
	uint8_t sha256[TPM_SHA256_LEN];	/* SHA-256 of the SPKI DER */
	char *issuer;			/* EK certificate issuer (RFC 2253), or
					   NULL when admitted by hash */
};

/* A checked AK; freed with tpm_ak_free. */
struct tpm_ak {
	TPM2B_PUBLIC pub;
	EVP_PKEY *pkey;
	TPM2B_NAME name;		/* nameAlg || H(TPMT_PUBLIC) */
};

/* The certified key; freed with tpm_key_free. */
struct tpm_key {
	TPM2B_PUBLIC pub;
	EVP_PKEY *pkey;
	TPM2B_NAME name;
};

/*
 * One request's fresh values: the credential secret sealed to the EK and
 * the nonce the AK certifies over. Each may be accepted once. Freed with
 * tpm_challenge_free (which wipes it).
 */
struct tpm_challenge;

/* --- public areas (tpm_public.c) --- */

/*
 * tpm_public_parse unmarshals a TPM2B_PUBLIC (what), refusing trailing
 * bytes, a size over TPM_MAX_BLOB, and types other than RSA and ECC.
 */
int tpm_public_parse(TPM2B_PUBLIC *out, const char *what, const uint8_t *buf,
    size_t len) __attribute__((warn_unused_result));

/*
 * tpm_public_name computes the TPM 2.0 name of a public area:
 * nameAlg (2 bytes, big-endian) || H_nameAlg(marshalled TPMT_PUBLIC).
 * nameAlg must be SHA-256, SHA-384 or SHA-512.
 */
int tpm_public_name(TPM2B_NAME *out, const char *what,
    const TPM2B_PUBLIC *pub) __attribute__((warn_unused_result));

/*
 * tpm_public_pkey returns the public key of an RSA or ECC (P-256, P-384)
 * public area as an EVP_PKEY the caller frees.
 */
int tpm_public_pkey(EVP_PKEY **out, const char *what,
    const TPM2B_PUBLIC *pub) __attribute__((warn_unused_result));

/*
 * tpm_public_attrs_check refuses (CA_ERR_DENIED) a public area that lacks
 * one of the TPMA_OBJECT bits in need or has one in forbid, naming every
 * bit that is wrong.
 */
int tpm_public_attrs_check(const char *what, const TPM2B_PUBLIC *pub,
    TPMA_OBJECT need, TPMA_OBJECT forbid)
    __attribute__((warn_unused_result));

/* tpm_hex writes len bytes as lowercase hex; the caller frees it. */
char *tpm_hex(const uint8_t *buf, size_t len);

/* --- EK (tpm_ek.c) --- */

/*
 * tpm_ek_verify checks an EK: pub is its TPM2B_PUBLIC (RSA 2048/3072 or
 * ECC P-256/P-384, a restricted decryption key with an AES-CFB storage scheme, per
 * the TCG EK Credential Profile templates), cert its DER certificate (may be
 * NULL with cert_len 0). With a certificate: its key must be the EK's, and
 * it must chain to trust->cas at time now; a chain that does not verify is
 * still accepted when the EK's hash is on trust->hashes. Without one, the
 * hash must be listed. *out is freed by the caller with tpm_ek_free.
 */
int tpm_ek_verify(struct tpm_ek **out, const struct tpm_ek_trust *trust,
    const uint8_t *cert, size_t cert_len, const uint8_t *pub, size_t pub_len,
    time_t now) __attribute__((warn_unused_result));

/* tpm_ek_free; NULL does nothing. */
void tpm_ek_free(struct tpm_ek *ek);

/* --- AK (tpm_certify.c) --- */

/*
 * tpm_ak_check parses an AK's TPM2B_PUBLIC and refuses one that is not
 * restricted|sign|fixedTPM|fixedParent|sensitiveDataOrigin (or is decrypt),
 * or whose scheme is not ECDSA (P-256, P-384) or RSASSA/RSAPSS (2048+)
 * with SHA-256 or stronger. *out carries its name; free with tpm_ak_free.
 */
int tpm_ak_check(struct tpm_ak **out, const uint8_t *pub, size_t pub_len)
    __attribute__((warn_unused_result));

/* tpm_ak_free; NULL does nothing. */
void tpm_ak_free(struct tpm_ak *ak);

/* --- credential (tpm_credential.c) --- */

/*
 * tpm_credential_make runs TPM2_MakeCredential in software (TPM 2.0 Part 1,
 * Credential Protection): a seed is shared with the EK (RSA-OAEP with the
 * label "IDENTITY", or ECDH and KDFe), KDFa derives the AES key and the
 * HMAC key, and secret is wrapped so that only the TPM holding the EK and
 * an object called ak_name can recover it. Outputs are the marshalled
 * TPM2B_ID_OBJECT and TPM2B_ENCRYPTED_SECRET, malloc'd, freed by the
 * caller.
 */
int tpm_credential_make(uint8_t **id_object, size_t *id_object_len,
    uint8_t **enc_secret, size_t *enc_secret_len, const struct tpm_ek *ek,
    const TPM2B_NAME *ak_name, const uint8_t *secret, size_t secret_len)
    __attribute__((warn_unused_result));

/*
 * tpm_challenge_new makes a fresh secret and nonce (TPM_SECRET_LEN and
 * TPM_NONCE_LEN random bytes) in locked memory.
 */
int tpm_challenge_new(struct tpm_challenge **out)
    __attribute__((warn_unused_result));

/* tpm_challenge_free wipes and frees; NULL does nothing. */
void tpm_challenge_free(struct tpm_challenge *ch);

/* tpm_challenge_secret / _nonce: the values to send (borrowed). */
const uint8_t *tpm_challenge_secret(const struct tpm_challenge *ch);
const uint8_t *tpm_challenge_nonce(const struct tpm_challenge *ch);

/*
 * tpm_challenge_check_secret compares the secret a client says it
 * activated (constant time) and, when it matches, marks it used: a second
 * check of the same challenge is refused as a replay. A mismatch leaves the
 * challenge as it was.
 */
int tpm_challenge_check_secret(struct tpm_challenge *ch,
    const uint8_t *got, size_t got_len) __attribute__((warn_unused_result));

/* --- certify (tpm_certify.c) --- */

/*
 * tpm_certify_verify checks TPM2_Certify evidence: attest is the
 * marshalled TPMS_ATTEST, sig the marshalled TPMT_SIGNATURE by ak over it,
 * key_pub the certified key's TPM2B_PUBLIC. In order: TPMS_ATTEST parses,
 * magic is TPM_GENERATED_VALUE, type is TPM_ST_ATTEST_CERTIFY, extraData is
 * nonce; the signature's scheme is the AK's and verifies; the certified
 * name is key_pub's name; the key is fixedTPM|fixedParent|
 * sensitiveDataOrigin|sign and neither restricted nor decrypt; its public
 * key is csr_key. On success *out (may be NULL) gets the key, freed with
 * tpm_key_free.
 */
int tpm_certify_verify(struct tpm_key **out, const struct tpm_ak *ak,
    const uint8_t *attest, size_t attest_len, const uint8_t *sig,
    size_t sig_len, const uint8_t *key_pub, size_t key_pub_len,
    const uint8_t *nonce, size_t nonce_len, EVP_PKEY *csr_key)
    __attribute__((warn_unused_result));

/* tpm_key_free; NULL does nothing. */
void tpm_key_free(struct tpm_key *k);

/* --- selectors (tpm_ek.c) --- */

/*
 * tpm_selectors returns the selectors this evidence yields, malloc'd
 * strings in a malloc'd array the caller frees with tpm_selectors_free:
 *   tpm:ek-sha256:<hex>   always
 *   tpm:ek-issuer:<DN>    when the EK was admitted by certificate
 *   tpm:ak-name:<hex>     when ak is not NULL
 */
int tpm_selectors(char ***out, size_t *n, const struct tpm_ek *ek,
    const struct tpm_ak *ak) __attribute__((warn_unused_result));

/* tpm_selectors_free frees n selectors and the array. */
void tpm_selectors_free(char **sel, size_t n);

#endif /* ATTEST_TPM_H */
