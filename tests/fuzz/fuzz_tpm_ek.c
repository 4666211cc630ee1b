/* SPDX-License-Identifier: ISC */
/*
 * fuzz_tpm_ek: libFuzzer target for tpm_ek_verify (attest/tpm_ek.c). The
 * input is a 2-byte big-endian length, the DER EK certificate (length 0:
 * none), then the EK's TPM2B_PUBLIC; the manufacturer CAs are the swtpm
 * local CA in tests/data/tpm (TPM_DATA). An admitted EK must carry its
 * key and, when its certificate chained, its issuer; a refusal nothing.
 * Built with tests/fuzz/replay.c, `make check` replays the seed corpus in
 * tests/fuzz/corpus/tpm_ek.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <openssl/x509.h>

#include "attest/tpm.h"
#include "common/ca_error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static X509_STORE *cas;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tpm_ek_trust trust = { NULL, NULL, 0 };
	struct tpm_ek *ek = NULL;
	size_t clen;

	if (cas == NULL && ((cas = X509_STORE_new()) == NULL ||
	    X509_STORE_load_file(cas, TPM_DATA "/ekca.pem") != 1)) {
		fprintf(stderr, "fuzz_tpm_ek: %s/ekca.pem\n", TPM_DATA);
		abort();
	}
	trust.cas = cas;
	if (size < 2)
		return 0;
	clen = (size_t)data[0] << 8 | data[1];
	if (clen > size - 2)
		return 0;
	if (tpm_ek_verify(&ek, &trust, clen ? data + 2 : NULL, clen,
	    data + 2 + clen, size - 2 - clen, time(NULL)) == CA_OK) {
		/* Without an allowlist only a chained certificate admits. */
		if (ek == NULL || ek->pkey == NULL || ek->issuer == NULL)
			abort();
	} else if (ek != NULL)
		abort();
	tpm_ek_free(ek);
	return 0;
}
