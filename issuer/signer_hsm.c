/* SPDX-License-Identifier: ISC */
/*
 * signer_hsm: the signer for an intermediate key in an HSM. Every
 * signature goes through hsm_key_sign, which hands the callback the
 * libp11-backed EVP_PKEY and rebuilds its context after a token loss. In
 * its own file so that programs and tests that use a software key
 * (signer_new_soft) do not link hsm/.
 */
#include "config.h"

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "common/ca_error.h"
#include "hsm/hsm.h"
#include "issuer/signer.h"

static int
hsm_sign(void *key, hsm_sign_fn fn, void *arg)
{
	return hsm_key_sign(key, fn, arg);
}

int
signer_new_hsm(struct signer **out, X509 *inter, struct hsm_key *key)
{
	EVP_PKEY *pub = NULL;
	int rc;

	*out = NULL;
	if ((rc = hsm_key_public(&pub, key)) != CA_OK)
		return rc;
	rc = signer_new_fn(out, inter, pub, hsm_sign, key);
	EVP_PKEY_free(pub);
	return rc;
}
