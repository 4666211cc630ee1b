/* SPDX-License-Identifier: ISC */
/*
 * fuzz_tpm_public: libFuzzer target for the TPM2B_PUBLIC parsing in
 * attest/tpm_public.c and the AK check in attest/tpm_certify.c. The input
 * is a TPM2B_PUBLIC as a client would send it for its AK, its EK or its
 * key. Whatever parses must name itself with nameAlg's digest size and
 * either yield an OpenSSL key or be refused cleanly; a refused AK leaves
 * nothing behind. Built with tests/fuzz/replay.c, `make check` replays the
 * seed corpus in tests/fuzz/corpus/tpm_public (swtpm output and hostile
 * variants).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>

#include <openssl/evp.h>

#include "attest/tpm.h"
#include "common/ca_error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	TPM2B_PUBLIC pub;
	TPM2B_NAME name;
	EVP_PKEY *k = NULL;
	struct tpm_ak *ak = NULL;

	if (tpm_public_parse(&pub, "fuzz", data, size) == CA_OK) {
		if (tpm_public_name(&name, "fuzz", &pub) == CA_OK &&
		    name.size != 2 + 32 && name.size != 2 + 48 &&
		    name.size != 2 + 64)
			abort();
		if (tpm_public_pkey(&k, "fuzz", &pub) != CA_OK && k != NULL)
			abort();
		EVP_PKEY_free(k);
	}
	if (tpm_ak_check(&ak, data, size) == CA_OK) {
		if (ak == NULL || ak->pkey == NULL || ak->name.size < 34)
			abort();
	} else if (ak != NULL)
		abort();
	tpm_ak_free(ak);
	return 0;
}
