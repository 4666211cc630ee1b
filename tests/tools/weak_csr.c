/* SPDX-License-Identifier: ISC */
/*
 * weak_csr: writes PKCS#10 requests with broken RSA keys for the issuer's
 * weak-key integration test (tests/integration/issuer_weak_keys.sh):
 *
 *   weak_csr e1 NAME OUT.csr [OUT-PUB.pem]
 *	a 2048-bit key with public exponent 1 and a forged signature (the
 *	padded digest; `openssl req -verify` accepts it); OUT-PUB.pem gets
 *	the public key, for a certificate made with openssl x509
 *	-force_pubkey
 *   weak_csr roca NAME OUT.csr
 *	a 2048-bit key whose primes have Infineon RSALib's form, correctly
 *	signed
 *   weak_csr fermat NAME OUT.csr
 *	a 2048-bit key whose primes are close, correctly signed
 *
 * Output is PEM. Exit 0 on success, 1 on failure, 2 for usage.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "tests/tools/weak_rsa.h"

static int
usage(void)
{
	fprintf(stderr, "usage: weak_csr e1|roca|fermat NAME OUT.csr "
	    "[OUT-PUB.pem]\n");
	return 2;
}

static int
write_pem(const char *path, X509_REQ *req, EVP_PKEY *pub)
{
	FILE *f;
	int ok;

	if ((f = fopen(path, "w")) == NULL) {
		perror(path);
		return 0;
	}
	ok = req != NULL ? PEM_write_X509_REQ(f, req) :
	    PEM_write_PUBKEY(f, pub);
	return fclose(f) == 0 && ok;
}

int
main(int argc, char **argv)
{
	BIGNUM *p = BN_new(), *q = BN_new();
	EVP_PKEY *pk = NULL;
	X509_REQ *req = NULL;
	int forge = 0, ret = 1;

	if (argc < 4 || argc > 5 || p == NULL || q == NULL)
		return usage();
	if (strcmp(argv[1], "e1") == 0) {
		pk = weak_rsa_e1(2048);
		forge = 1;
	} else if (strcmp(argv[1], "roca") == 0) {
		if (weak_rsa_roca_prime(p, 1024) &&
		    weak_rsa_roca_prime(q, 1024))
			pk = weak_rsa_private(p, q, NULL);
	} else if (strcmp(argv[1], "fermat") == 0) {
		if (weak_rsa_close_primes(p, q, 1024))
			pk = weak_rsa_private(p, q, NULL);
	} else
		return usage();
	if (argc == 5 && !forge)
		return usage();
	if (pk == NULL || (req = weak_rsa_req(pk, argv[2], forge)) == NULL ||
	    !write_pem(argv[3], req, NULL) ||
	    (argc == 5 && !write_pem(argv[4], NULL, pk))) {
		fprintf(stderr, "weak_csr: %s: cannot make the request\n",
		    argv[1]);
		ERR_print_errors_fp(stderr);
		goto out;
	}
	ret = 0;
 out:
	X509_REQ_free(req);
	EVP_PKEY_free(pk);
	BN_free(p);
	BN_free(q);
	return ret;
}
