/* SPDX-License-Identifier: ISC */
/*
 * client_tpm: `carapace request --tpm TCTI`, TPM 2.0 attestation from the
 * client's side (docs/protocol.md, "TPM 2.0: the challenge exchange"),
 * driving the TPM through client/tpm_client.h:
 *   1. the EK (RSA 2048, TCG default template) and its certificate from
 *      NV, and the AK; send them in a challenge request;
 *   2. TPM2_ActivateCredential of the server's credential;
 *   3. a signing key (ECC P-256) made under the storage primary and
 *      certified by the AK over the server's nonce;
 *   4. the CSR, signed by that key inside the TPM through OpenSSL's tpm2
 *      provider (TPM2OPENSSL_TCTI is set to TCTI), digests kept in the
 *      default provider;
 *   5. the issue request with the tpm answer, on the same connection.
 * The key file is the TSS2 PRIVATE KEY PEM that tpm2-openssl loads; it is
 * written, like everything else, only once the certificate is issued.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/decoder.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/x509.h>

#include "client/client.h"
#include "client/tpm_client.h"
#include "common/ca_error.h"
#include "protocol/protocol.h"

/* What the TPM gave for one request; freed with tpm_evidence_clear. */
struct tpm_evidence {
	uint8_t *ek_cert, *ek_pub, *ak_pub, *secret, *key_pub, *attest, *sig;
	size_t ek_cert_len, ek_pub_len, ak_pub_len, secret_len, key_pub_len,
	    attest_len, sig_len;
	char *pem;
	size_t pem_len;
};

static void
tpm_evidence_clear(struct tpm_evidence *ev)
{
	if (ev->secret != NULL)
		OPENSSL_cleanse(ev->secret, ev->secret_len);
	free(ev->ek_cert);
	free(ev->ek_pub);
	free(ev->ak_pub);
	free(ev->secret);
	free(ev->key_pub);
	free(ev->attest);
	free(ev->sig);
	free(ev->pem);
	memset(ev, 0, sizeof(*ev));
}

/*
 * tpm_answer: round two inside the TPM: activate the credential, make the
 * key and certify it over the nonce. The TPM connection is closed on
 * return, so that the tpm2 provider can open its own.
 */
static int
tpm_answer(tpm_client *tc, struct tpm_evidence *ev,
    const PROTO_TPM_CHALLENGE *ch)
{
	struct tpm_client_key *k = NULL;
	int rc;

	if ((rc = tpm_client_activate(tc, &ev->secret, &ev->secret_len,
	    ASN1_STRING_get0_data(ch->credential_blob),
	    (size_t)ASN1_STRING_length(ch->credential_blob),
	    ASN1_STRING_get0_data(ch->encrypted_secret),
	    (size_t)ASN1_STRING_length(ch->encrypted_secret))) != CA_OK ||
	    (rc = tpm_client_key_create(tc, &k, TPM_CLIENT_ECC_P256,
	    TPM_CLIENT_KEY_FIXED)) != CA_OK ||
	    (rc = tpm_client_key_public(k, &ev->key_pub, &ev->key_pub_len))
	    != CA_OK ||
	    (rc = tpm_client_certify(tc, k, ASN1_STRING_get0_data(ch->nonce),
	    (size_t)ASN1_STRING_length(ch->nonce), &ev->attest,
	    &ev->attest_len, &ev->sig, &ev->sig_len)) != CA_OK)
		goto out;
	rc = tpm_client_key_pem(k, &ev->pem, &ev->pem_len);
 out:
	tpm_client_key_free(k);
	return rc;
}

/* The providers tpm_key_load loaded, unloaded after the key is freed. */
struct tpm_providers {
	OSSL_PROVIDER *tpm2, *dflt;
};

static void
tpm_providers_unload(struct tpm_providers *pv)
{
	if (pv->tpm2 != NULL)
		OSSL_PROVIDER_unload(pv->tpm2);
	if (pv->dflt != NULL)
		OSSL_PROVIDER_unload(pv->dflt);
	memset(pv, 0, sizeof(*pv));
}

/*
 * tpm_key_load makes the TSS2 PEM an EVP_PKEY of the tpm2 provider (loaded
 * with the default one into the default library context, in pv): signing
 * with it happens in the TPM at tcti. Free the key before unloading pv.
 */
static int
tpm_key_load(EVP_PKEY **out, struct tpm_providers *pv, const char *pem,
    size_t pem_len, const char *tcti)
{
	OSSL_DECODER_CTX *dctx = NULL;
	const unsigned char *p = (const unsigned char *)pem;
	size_t len = pem_len;
	int rc = CA_ERR_INTERNAL;

	*out = NULL;
	if (setenv("TPM2OPENSSL_TCTI", tcti, 1) != 0 ||
	    (pv->tpm2 = OSSL_PROVIDER_load(NULL, "tpm2")) == NULL ||
	    (pv->dflt = OSSL_PROVIDER_load(NULL, "default")) == NULL) {
		rc = ca_error_openssl(CA_ERR_UNSUPPORTED, "OpenSSL's tpm2 "
		    "provider does not load (Debian: tpm2-openssl)");
		goto out;
	}
	if ((dctx = OSSL_DECODER_CTX_new_for_pkey(out, "PEM", NULL, NULL, 0,
	    NULL, NULL)) == NULL ||
	    OSSL_DECODER_from_data(dctx, &p, &len) != 1 || *out == NULL) {
		rc = ca_error_openssl(CA_ERR_INVALID, "the TPM key does not "
		    "load through the tpm2 provider");
		goto out;
	}
	rc = CA_OK;
 out:
	OSSL_DECODER_CTX_free(dctx);
	return rc;
}

int
client_tpm_request_run(const struct client_request_opts *o,
    const char *const *names)
{
	struct tpm_evidence ev;
	struct tpm_providers pv;
	struct client *c = NULL;
	tpm_client *tc = NULL;
	PROTO_REQUEST *creq = NULL, *req = NULL;
	PROTO_RESPONSE *cresp = NULL, *resp = NULL;
	PROTO_ATTESTATION *att = NULL;
	const PROTO_CHALLENGE_RESP *cr;
	EVP_PKEY *pkey = NULL;
	X509_REQ *csr = NULL;
	uint8_t *der = NULL;
	size_t der_len = 0;
	int rc, ret = CLIENT_EXIT_FAILED;

	memset(&ev, 0, sizeof(ev));
	memset(&pv, 0, sizeof(pv));
	if ((rc = tpm_client_open(&tc, o->tpm)) != CA_OK ||
	    (rc = tpm_client_ek(tc, TPM_CLIENT_RSA2048, &ev.ek_cert,
	    &ev.ek_cert_len, &ev.ek_pub, &ev.ek_pub_len)) != CA_OK ||
	    (rc = tpm_client_ak(tc, TPM_CLIENT_ECC_P256, &ev.ak_pub,
	    &ev.ak_pub_len)) != CA_OK) {
		ret = client_local_fail(rc);
		goto out;
	}
	if ((creq = protocol_request_challenge_tpm(ev.ek_cert, ev.ek_cert_len,
	    ev.ek_pub, ev.ek_pub_len, ev.ak_pub, ev.ak_pub_len)) == NULL) {
		fprintf(stderr, "carapace: out of memory\n");
		goto out;
	}
	/* One connection: the challenge, then the answer. */
	if ((ret = client_connect(&c, &o->conf)) != CLIENT_EXIT_OK ||
	    (ret = client_roundtrip(c, &cresp, creq, PROTO_RESP_CHALLENGE)) !=
	    CLIENT_EXIT_OK)
		goto out;
	ret = CLIENT_EXIT_FAILED;
	cr = cresp->body->value.challenge;
	if (cr->challenge->type != PROTO_CHALLENGE_TPM) {
		fprintf(stderr, "carapace: the issuer answered with a "
		    "challenge for another attestation\n");
		goto out;
	}
	rc = tpm_answer(tc, &ev, cr->challenge->value.tpm);
	tpm_client_free(tc);
	tc = NULL;
	if (rc != CA_OK ||
	    (rc = tpm_key_load(&pkey, &pv, ev.pem, ev.pem_len, o->tpm)) != CA_OK ||
	    (rc = client_csr_build_ex(&csr, pkey, "?provider=tpm2",
	    o->cn != NULL ? o->cn : names[0], names, o->nnames)) != CA_OK ||
	    (rc = client_csr_der(&der, &der_len, csr)) != CA_OK) {
		ret = client_local_fail(rc);
		goto out;
	}
	if ((att = protocol_attest_tpm(ASN1_STRING_get0_data(cr->session_id),
	    (size_t)ASN1_STRING_length(cr->session_id), ev.secret,
	    ev.secret_len, ev.key_pub, ev.key_pub_len, ev.attest,
	    ev.attest_len, ev.sig, ev.sig_len)) == NULL ||
	    (req = protocol_request_issue(der, der_len, att,
	    o->lifetime)) == NULL) {
		fprintf(stderr, "carapace: out of memory\n");
		goto out;
	}
	if ((ret = client_roundtrip(c, &resp, req, PROTO_RESP_ISSUED)) !=
	    CLIENT_EXIT_OK)
		goto out;
	ret = client_issued_write(resp->body->value.issued, pkey, NULL, ev.pem,
	    o->key_out, o->cert_out, o->chain_out);
 out:
	tpm_client_free(tc);
	client_close(c);
	tpm_evidence_clear(&ev);
	PROTO_REQUEST_free(creq);
	PROTO_REQUEST_free(req);
	PROTO_RESPONSE_free(cresp);
	PROTO_RESPONSE_free(resp);
	EVP_PKEY_free(pkey);
	tpm_providers_unload(&pv);
	X509_REQ_free(csr);
	OPENSSL_free(der);
	return ret;
}
