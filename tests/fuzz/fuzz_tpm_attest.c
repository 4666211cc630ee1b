/* SPDX-License-Identifier: ISC */
/*
 * fuzz_tpm_attest: libFuzzer target for tpm_certify_verify
 * (attest/tpm_certify.c), the TPMS_ATTEST and TPMT_SIGNATURE a client
 * sends for TPM2_Certify. The input is a 2-byte big-endian length, the
 * TPMS_ATTEST, then the TPMT_SIGNATURE; the AK, the certified key's public
 * area, the nonce and the CSR key are swtpm's from tests/data/tpm (TPM_DATA)
 * so the seeds reach every check. Success must hand back the key; a
 * refusal nothing. Built with tests/fuzz/replay.c, `make check` replays the
 * seed corpus in tests/fuzz/corpus/tpm_attest.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <openssl/evp.h>

#include "attest/tpm.h"
#include "common/ca_error.h"
#include "common/fileio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct tpm_ak *ak;
static uint8_t *key_pub, *nonce;
static size_t key_pub_len, nonce_len;
static EVP_PKEY *csr_key;

static void
fixture(void)
{
	uint8_t *akb = NULL;
	size_t akl = 0;
	TPM2B_PUBLIC p;

	if (ak != NULL)
		return;
	if (fileio_read(&akb, &akl, TPM_DATA "/ak.pub", 4096) != CA_OK ||
	    fileio_read(&key_pub, &key_pub_len, TPM_DATA "/key.tpub",
	    4096) != CA_OK ||
	    fileio_read(&nonce, &nonce_len, TPM_DATA "/nonce", 64) != CA_OK ||
	    tpm_ak_check(&ak, akb, akl) != CA_OK ||
	    tpm_public_parse(&p, "key", key_pub, key_pub_len) != CA_OK ||
	    tpm_public_pkey(&csr_key, "key", &p) != CA_OK) {
		fprintf(stderr, "fuzz_tpm_attest: %s\n", ca_error_detail());
		abort();
	}
	free(akb);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tpm_key *k = NULL;
	size_t alen;

	fixture();
	if (size < 2)
		return 0;
	alen = (size_t)data[0] << 8 | data[1];
	if (alen > size - 2)
		return 0;
	if (tpm_certify_verify(&k, ak, data + 2, alen, data + 2 + alen,
	    size - 2 - alen, key_pub, key_pub_len, nonce, nonce_len,
	    csr_key) == CA_OK) {
		if (k == NULL || EVP_PKEY_eq(k->pkey, csr_key) != 1)
			abort();
	} else if (k != NULL)
		abort();
	tpm_key_free(k);
	return 0;
}
