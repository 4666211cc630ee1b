/* SPDX-License-Identifier: ISC */
/*
 * weak_rsa: makers of broken RSA keys and requests for the weak-key tests
 * (tests/unit/test_weak_key.c, test_csr.c, test_attest_x509pop.c and the
 * weak_csr tool). Test code only: nothing here belongs in a program.
 *
 *  - ROCA-shaped primes, p = k * M + (65537^a mod M) with M the product
 *    of the primes up to 167, the form of Infineon RSALib's primes;
 *  - two primes close to each other (Fermat-factorable moduli);
 *  - keys with public exponent 1, and a PKCS#10 request "signed" by one,
 *    whose signature is the EMSA-PKCS1-v1_5 encoding of the digest: it
 *    verifies under e = 1 without any private key.
 */
#ifndef WEAK_RSA_H
#define WEAK_RSA_H

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

/*
 * weak_rsa_roca_prime sets p to a bits-bit prime of RSALib's form with its
 * top two bits set (so that two of them make a 2 * bits-bit modulus).
 */
int weak_rsa_roca_prime(BIGNUM *p, int bits);

/* weak_rsa_close_primes sets p and q to bits-bit primes a few apart. */
int weak_rsa_close_primes(BIGNUM *p, BIGNUM *q, int bits);

/*
 * weak_rsa_private makes the RSA private key with primes p, q and public
 * exponent e (NULL: 65537). NULL on failure.
 */
EVP_PKEY *weak_rsa_private(const BIGNUM *p, const BIGNUM *q,
    const BIGNUM *e);

/* weak_rsa_public makes the RSA public key (n, e). NULL on failure. */
EVP_PKEY *weak_rsa_public(const BIGNUM *n, const BIGNUM *e);

/*
 * weak_rsa_e1 makes an RSA public key of bits bits with exponent 1 (its
 * modulus the product of two random primes). NULL on failure.
 */
EVP_PKEY *weak_rsa_e1(int bits);

/*
 * weak_rsa_e1_sign_req sets the signature of req (algorithm
 * sha256WithRSAEncryption) to the EMSA-PKCS1-v1_5 encoding of SHA-256 of
 * its info, which X509_REQ_verify accepts under its e = 1 key. The key must
 * already be set with X509_REQ_set_pubkey. 1 on success.
 */
int weak_rsa_e1_sign_req(X509_REQ *req);

/*
 * weak_rsa_e1_sig sets sig (of the modulus length of pk, an e = 1 key) to
 * the EMSA-PKCS1-v1_5 encoding of SHA-256(data): an RSA PKCS#1 v1.5
 * SHA-256 signature under e = 1. 1 on success.
 */
int weak_rsa_e1_sig(unsigned char *sig, size_t sig_len, const EVP_PKEY *pk,
    const unsigned char *data, size_t len);

/*
 * weak_rsa_req makes a request for CN=name, dNSName name, signed by pk
 * (SHA-256), or, with forge_e1, "signed" by weak_rsa_e1_sign_req.
 */
X509_REQ *weak_rsa_req(EVP_PKEY *pk, const char *name, int forge_e1);

#endif /* WEAK_RSA_H */
