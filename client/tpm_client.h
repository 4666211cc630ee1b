/* SPDX-License-Identifier: ISC */
/*
 * tpm_client: the client side of TPM 2.0 attestation, through
 * libtss2-esys on a TCTI named by a string ("swtpm:host=H,port=P",
 * "device:/dev/tpmrm0", anything tctildr accepts). It reads the EK
 * certificate from NV and recreates the EK from the TCG default template,
 * makes an AK, activates a credential, makes a TLS key under the storage
 * primary and has the AK certify it, and writes that key as a TSS2 PRIVATE
 * KEY PEM file that OpenSSL's tpm2 provider loads.
 *
 * Keys made here never carry an authorization value (emptyAuth). Every
 * output buffer is malloc'd and freed by the caller. Only programs that
 * talk to a TPM link this file (libtss2-esys, libtss2-tctildr).
 */
#ifndef CLIENT_TPM_CLIENT_H
#define CLIENT_TPM_CLIENT_H

#include <stddef.h>
#include <stdint.h>

/* NV indices of the EK certificates (TCG EK Credential Profile). */
#define TPM_CLIENT_NV_EK_RSA	0x01c00002
#define TPM_CLIENT_NV_EK_ECC	0x01c0000a

enum tpm_client_alg {
	TPM_CLIENT_RSA2048 = 1,
	TPM_CLIENT_ECC_P256 = 2,
};

enum tpm_client_key_flags {
	TPM_CLIENT_KEY_FIXED = 0,	/* fixedTPM|fixedParent (the default) */
	TPM_CLIENT_KEY_DUPLICABLE = 1,	/* neither: for refusal tests only */
};

typedef struct tpm_client tpm_client;
struct tpm_client_key;

/* tpm_client_open connects to the TPM through tcti. */
int tpm_client_open(tpm_client **out, const char *tcti)
    __attribute__((warn_unused_result));

/* tpm_client_free flushes every object it loaded and closes; NULL: no-op. */
void tpm_client_free(tpm_client *c);

/*
 * tpm_client_ek creates the EK (TCG default template for alg) and returns
 * its TPM2B_PUBLIC, and the certificate read from its NV index (*cert is
 * NULL when the TPM has none).
 */
int tpm_client_ek(tpm_client *c, enum tpm_client_alg alg, uint8_t **cert,
    size_t *cert_len, uint8_t **pub, size_t *pub_len)
    __attribute__((warn_unused_result));

/*
 * tpm_client_ak creates the AK, a restricted signing primary in the
 * endorsement hierarchy (ECDSA P-256 SHA-256 or RSASSA 2048 SHA-256; the
 * same TPM gives the same AK every time), and returns its TPM2B_PUBLIC.
 */
int tpm_client_ak(tpm_client *c, enum tpm_client_alg alg, uint8_t **pub,
    size_t *pub_len) __attribute__((warn_unused_result));

/*
 * tpm_client_activate runs TPM2_ActivateCredential with the AK and the EK
 * (under a PolicySecret(endorsement) session) and returns the secret. The
 * EK is flushed afterwards, whatever the outcome (a TPM without a resource
 * manager has room for three objects); tpm_client_ek loads it again.
 */
int tpm_client_activate(tpm_client *c, uint8_t **secret, size_t *secret_len,
    const uint8_t *id_object, size_t id_object_len, const uint8_t *enc_secret,
    size_t enc_secret_len) __attribute__((warn_unused_result));

/*
 * tpm_client_key_create makes a signing key under the storage primary (the
 * ECC P-256 template that the tpm2 provider recreates for parent
 * 0x40000001) and loads it. Free with tpm_client_key_free.
 */
int tpm_client_key_create(tpm_client *c, struct tpm_client_key **out,
    enum tpm_client_alg alg, enum tpm_client_key_flags flags)
    __attribute__((warn_unused_result));

/* tpm_client_key_free; NULL does nothing. */
void tpm_client_key_free(struct tpm_client_key *k);

/* tpm_client_key_public: the key's TPM2B_PUBLIC. */
int tpm_client_key_public(const struct tpm_client_key *k, uint8_t **pub,
    size_t *pub_len) __attribute__((warn_unused_result));

/*
 * tpm_client_certify has the AK certify key over nonce: the marshalled
 * TPMS_ATTEST and TPMT_SIGNATURE.
 */
int tpm_client_certify(tpm_client *c, const struct tpm_client_key *k,
    const uint8_t *nonce, size_t nonce_len, uint8_t **attest,
    size_t *attest_len, uint8_t **sig, size_t *sig_len)
    __attribute__((warn_unused_result));

/*
 * tpm_client_key_pem returns the key as a NUL-terminated "TSS2 PRIVATE
 * KEY" PEM (TSSPrivKey: loadable key OID 2.23.133.10.1.3, emptyAuth,
 * parent 0x40000001, TPM2B_PUBLIC, TPM2B_PRIVATE).
 */
int tpm_client_key_pem(const struct tpm_client_key *k, char **pem,
    size_t *pem_len) __attribute__((warn_unused_result));

#endif /* CLIENT_TPM_CLIENT_H */
