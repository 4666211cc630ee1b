/* SPDX-License-Identifier: ISC */
/*
 * tpm_int: helpers shared by the attest/tpm_*.c files and nobody else.
 */
#ifndef ATTEST_TPM_INT_H
#define ATTEST_TPM_INT_H

#include <openssl/evp.h>
#include <tss2/tss2_tpm2_types.h>

/* tpm_alg_md: the OpenSSL digest of a TPM hash algorithm, or NULL. */
const EVP_MD *tpm_alg_md(TPMI_ALG_HASH alg);

/*
 * tpm_ecc_curve: OpenSSL's group name of a TPM curve and its field size in
 * bytes, or NULL (and 0) for a curve we do not accept.
 */
const char *tpm_ecc_curve(TPMI_ECC_CURVE curve, size_t *field_len);

#endif /* ATTEST_TPM_INT_H */
