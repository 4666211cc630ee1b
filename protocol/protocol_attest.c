/* SPDX-License-Identifier: ISC */
/*
 * protocol_attest: the bytes the signature-based attestations sign, and
 * the signing and verification that client and server share.
 *
 * x509pop: the client proves it holds the key of an existing certificate
 * by signing
 *     "carapace x509pop v1" 0x00 || nonce (32 octets) || SHA-256(csr DER)
 * so the signature is bound to one fresh server nonce and to the exact CSR
 * it is sent with, and can never be mistaken for a signature made for
 * another purpose (the prefix). ECDSA and RSA sign over SHA-256 (RSA with
 * PKCS#1 v1.5); Ed25519 signs the bytes directly.
 *
 * Identity documents: the platform signs, with Ed25519 (libsodium),
 *     "carapace identity-document v1" 0x00 || PlatformDocument DER
 * exactly as carried in IdentityDoc.document.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "common/ca_error.h"
#include "protocol/protocol.h"

int
protocol_pop_tbs(uint8_t out[PROTOCOL_POP_TBS_LEN], const uint8_t *nonce,
    size_t nonce_len, const uint8_t *csr, size_t csr_len)
{
	unsigned int hlen = 0;

	if (nonce_len != PROTOCOL_NONCE_LEN)
		return ca_error(CA_ERR_INVALID, "x509pop: nonce of %zu octets, "
		    "expected %d", nonce_len, PROTOCOL_NONCE_LEN);
	if (csr_len == 0)
		return ca_error(CA_ERR_INVALID, "x509pop: empty CSR");
	memcpy(out, PROTOCOL_POP_PREFIX, sizeof(PROTOCOL_POP_PREFIX));
	memcpy(out + sizeof(PROTOCOL_POP_PREFIX), nonce, PROTOCOL_NONCE_LEN);
	if (!EVP_Digest(csr, csr_len, out + sizeof(PROTOCOL_POP_PREFIX) +
	    PROTOCOL_NONCE_LEN, &hlen, EVP_sha256(), NULL) ||
	    hlen != PROTOCOL_HASH_LEN)
		return ca_error_openssl(CA_ERR_INTERNAL, "x509pop: SHA-256");
	return CA_OK;
}

/* The digest for a key type: none for Ed25519, SHA-256 otherwise. */
static const EVP_MD *
pop_md(const EVP_PKEY *key)
{
	return EVP_PKEY_get_id(key) == EVP_PKEY_ED25519 ? NULL : EVP_sha256();
}

int
protocol_pop_sign(uint8_t **sig, size_t *sig_len, EVP_PKEY *key,
    const uint8_t *nonce, size_t nonce_len, const uint8_t *csr,
    size_t csr_len)
{
	uint8_t tbs[PROTOCOL_POP_TBS_LEN];
	EVP_MD_CTX *ctx = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc;

	*sig = NULL;
	*sig_len = 0;
	if ((rc = protocol_pop_tbs(tbs, nonce, nonce_len, csr, csr_len))
	    != CA_OK)
		goto out;
	rc = CA_ERR_INTERNAL;
	if ((ctx = EVP_MD_CTX_new()) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "x509pop: out of memory");
		goto out;
	}
	if (EVP_DigestSignInit(ctx, NULL, pop_md(key), NULL, key) != 1 ||
	    EVP_DigestSign(ctx, NULL, &len, tbs, sizeof(tbs)) != 1) {
		rc = ca_error_openssl(CA_ERR_UNSUPPORTED,
		    "x509pop: cannot sign with this key");
		goto out;
	}
	if ((buf = OPENSSL_malloc(len)) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "x509pop: out of memory");
		goto out;
	}
	if (EVP_DigestSign(ctx, buf, &len, tbs, sizeof(tbs)) != 1) {
		rc = ca_error_openssl(CA_ERR_INTERNAL, "x509pop: signing");
		goto out;
	}
	*sig = buf;
	*sig_len = len;
	buf = NULL;
	rc = CA_OK;
 out:
	OPENSSL_free(buf);
	EVP_MD_CTX_free(ctx);
	return rc;
}

int
protocol_pop_verify(X509 *leaf, const uint8_t *sig, size_t sig_len,
    const uint8_t *nonce, size_t nonce_len, const uint8_t *csr,
    size_t csr_len)
{
	uint8_t tbs[PROTOCOL_POP_TBS_LEN];
	EVP_MD_CTX *ctx = NULL;
	EVP_PKEY *key;
	int rc;

	if ((rc = protocol_pop_tbs(tbs, nonce, nonce_len, csr, csr_len))
	    != CA_OK)
		goto out;
	rc = CA_ERR_INTERNAL;
	if ((key = X509_get0_pubkey(leaf)) == NULL) {
		rc = ca_error_openssl(CA_ERR_INVALID,
		    "x509pop: leaf certificate has no usable public key");
		goto out;
	}
	if ((ctx = EVP_MD_CTX_new()) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "x509pop: out of memory");
		goto out;
	}
	if (EVP_DigestVerifyInit(ctx, NULL, pop_md(key), NULL, key) != 1) {
		rc = ca_error_openssl(CA_ERR_UNSUPPORTED,
		    "x509pop: cannot verify with the leaf's key type");
		goto out;
	}
	if (EVP_DigestVerify(ctx, sig, sig_len, tbs, sizeof(tbs)) != 1) {
		rc = ca_error_openssl(CA_ERR_VERIFY, "x509pop: signature does "
		    "not verify with the leaf certificate's key");
		goto out;
	}
	rc = CA_OK;
 out:
	EVP_MD_CTX_free(ctx);
	return rc;
}

int
protocol_iddoc_tbs(uint8_t **out, size_t *out_len, const uint8_t *doc,
    size_t doc_len)
{
	uint8_t *buf;

	*out = NULL;
	*out_len = 0;
	if (doc_len == 0 || doc_len > PROTOCOL_MAX_DOCUMENT)
		return ca_error(CA_ERR_INVALID, "identity document: %zu octets,"
		    " outside 1..%d", doc_len, PROTOCOL_MAX_DOCUMENT);
	if ((buf = malloc(sizeof(PROTOCOL_IDDOC_PREFIX) + doc_len)) == NULL)
		return ca_error(CA_ERR_NOMEM, "identity document: out of "
		    "memory");
	memcpy(buf, PROTOCOL_IDDOC_PREFIX, sizeof(PROTOCOL_IDDOC_PREFIX));
	memcpy(buf + sizeof(PROTOCOL_IDDOC_PREFIX), doc, doc_len);
	*out = buf;
	*out_len = sizeof(PROTOCOL_IDDOC_PREFIX) + doc_len;
	return CA_OK;
}

int
protocol_iddoc_verify(const uint8_t pk[32], const uint8_t *sig,
    size_t sig_len, const uint8_t *doc, size_t doc_len)
{
	uint8_t *tbs = NULL;
	size_t len;
	int rc;

	if (sig_len != PROTOCOL_ED25519_SIG_LEN)
		return ca_error(CA_ERR_INVALID, "identity document: signature "
		    "of %zu octets, expected %d", sig_len,
		    PROTOCOL_ED25519_SIG_LEN);
	if (sodium_init() < 0)
		return ca_error(CA_ERR_INTERNAL, "libsodium: init failed");
	if ((rc = protocol_iddoc_tbs(&tbs, &len, doc, doc_len)) != CA_OK)
		return rc;
	if (crypto_sign_verify_detached(sig, tbs, len, pk) != 0)
		rc = ca_error(CA_ERR_VERIFY, "identity document: Ed25519 "
		    "signature does not verify with the platform key");
	free(tbs);
	return rc;
}

int
protocol_iddoc_sign(uint8_t sig[PROTOCOL_ED25519_SIG_LEN],
    const uint8_t sk[64], const uint8_t *doc, size_t doc_len)
{
	uint8_t *tbs = NULL;
	size_t len;
	int rc;

	if (sodium_init() < 0)
		return ca_error(CA_ERR_INTERNAL, "libsodium: init failed");
	if ((rc = protocol_iddoc_tbs(&tbs, &len, doc, doc_len)) != CA_OK)
		return rc;
	if (crypto_sign_detached(sig, NULL, tbs, len, sk) != 0)
		rc = ca_error(CA_ERR_INTERNAL, "identity document: signing");
	free(tbs);
	return rc;
}
