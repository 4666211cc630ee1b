/* SPDX-License-Identifier: ISC */
/*
 * tpm_certify: the attestation key and what it certifies. An AK must be a
 * restricted signing key that can never leave its TPM (TCG: restricted,
 * sign, fixedTPM, fixedParent, sensitiveDataOrigin), so that whatever it
 * signs starting with TPM_GENERATED_VALUE was made by the TPM itself.
 * TPM2_Certify (TPM 2.0 Part 3) by that AK over the server's nonce names a
 * loaded object; the object's public area, hashed with its nameAlg, must
 * give that name, its attributes must say it was made in this TPM and
 * cannot leave it, and its key must be the key in the CSR.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <tss2/tss2_mu.h>

#include "attest/tpm.h"
#include "attest/tpm_int.h"
#include "common/ca_error.h"

#define TPM_FIXED (TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | \
	TPMA_OBJECT_SENSITIVEDATAORIGIN)
#define AK_NEED (TPM_FIXED | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT)
#define KEY_NEED (TPM_FIXED | TPMA_OBJECT_SIGN_ENCRYPT)

void
tpm_ak_free(struct tpm_ak *ak)
{
	if (ak == NULL)
		return;
	EVP_PKEY_free(ak->pkey);
	free(ak);
}

void
tpm_key_free(struct tpm_key *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}

/* ak_scheme: the AK's signing scheme and its hash, which must be strong. */
static int
ak_scheme_check(const TPMT_PUBLIC *p)
{
	TPMI_ALG_SIG_SCHEME s;
	TPMI_ALG_HASH h;

	if (p->type == TPM2_ALG_ECC) {
		s = p->parameters.eccDetail.scheme.scheme;
		h = p->parameters.eccDetail.scheme.details.ecdsa.hashAlg;
		if (s != TPM2_ALG_ECDSA)
			return ca_error(CA_ERR_UNSUPPORTED, "tpm: AK: ECC "
			    "scheme 0x%04x (a restricted signing AK uses "
			    "ECDSA)", (unsigned int)s);
	} else {
		s = p->parameters.rsaDetail.scheme.scheme;
		h = p->parameters.rsaDetail.scheme.details.rsassa.hashAlg;
		if (s != TPM2_ALG_RSASSA && s != TPM2_ALG_RSAPSS)
			return ca_error(CA_ERR_UNSUPPORTED, "tpm: AK: RSA "
			    "scheme 0x%04x (a restricted signing AK uses "
			    "RSASSA or RSAPSS)", (unsigned int)s);
	}
	if (tpm_alg_md(h) == NULL)
		return ca_error(CA_ERR_UNSUPPORTED, "tpm: AK: signing hash "
		    "0x%04x (SHA-256 or stronger)", (unsigned int)h);
	return CA_OK;
}

int
tpm_ak_check(struct tpm_ak **out, const uint8_t *pub, size_t pub_len)
{
	struct tpm_ak *ak = NULL;
	int rc = CA_ERR_INTERNAL;

	*out = NULL;
	if ((ak = calloc(1, sizeof(*ak))) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "tpm: AK: out of memory");
		goto out;
	}
	if ((rc = tpm_public_parse(&ak->pub, "AK public area", pub,
	    pub_len)) != CA_OK ||
	    (rc = tpm_public_attrs_check("AK public area (an AK is a "
	    "restricted signing key that cannot leave its TPM)", &ak->pub,
	    AK_NEED, TPMA_OBJECT_DECRYPT)) != CA_OK ||
	    (rc = ak_scheme_check(&ak->pub.publicArea)) != CA_OK ||
	    (rc = tpm_public_pkey(&ak->pkey, "AK public area", &ak->pub)) !=
	    CA_OK ||
	    (rc = tpm_public_name(&ak->name, "AK public area", &ak->pub)) !=
	    CA_OK)
		goto out;
	*out = ak;
	ak = NULL;
	rc = CA_OK;
 out:
	tpm_ak_free(ak);
	return rc;
}

/*
 * sig_to_der: the signature's raw form for EVP_PKEY_verify (DER ECDSA-Sig
 * or the RSA signature bytes), after checking it uses the AK's scheme and
 * hash. Returns the digest to verify with in *md.
 */
static int
sig_prepare(uint8_t **der, size_t *der_len, const EVP_MD **md,
    const struct tpm_ak *ak, const TPMT_SIGNATURE *sig)
{
	const TPMT_PUBLIC *p = &ak->pub.publicArea;
	TPMI_ALG_SIG_SCHEME want;
	TPMI_ALG_HASH want_hash, got_hash;
	ECDSA_SIG *es = NULL;
	BIGNUM *r = NULL, *s = NULL;
	unsigned char *d = NULL;
	int len, rc = CA_ERR_INTERNAL;

	*der = NULL;
	if (p->type == TPM2_ALG_ECC) {
		want = p->parameters.eccDetail.scheme.scheme;
		want_hash = p->parameters.eccDetail.scheme.details.ecdsa.hashAlg;
	} else {
		want = p->parameters.rsaDetail.scheme.scheme;
		want_hash =
		    p->parameters.rsaDetail.scheme.details.rsassa.hashAlg;
	}
	if (sig->sigAlg != want)
		return ca_error(CA_ERR_VERIFY, "tpm: certify signature: scheme "
		    "0x%04x is not the AK's 0x%04x", (unsigned int)sig->sigAlg,
		    (unsigned int)want);
	got_hash = sig->sigAlg == TPM2_ALG_ECDSA ?
	    sig->signature.ecdsa.hash : sig->signature.rsassa.hash;
	if (got_hash != want_hash || (*md = tpm_alg_md(got_hash)) == NULL)
		return ca_error(CA_ERR_VERIFY, "tpm: certify signature: hash "
		    "0x%04x is not the AK's 0x%04x", (unsigned int)got_hash,
		    (unsigned int)want_hash);
	if (sig->sigAlg == TPM2_ALG_ECDSA) {
		const TPMS_SIGNATURE_ECC *e = &sig->signature.ecdsa;

		if ((es = ECDSA_SIG_new()) == NULL ||
		    (r = BN_bin2bn(e->signatureR.buffer, e->signatureR.size,
		    NULL)) == NULL ||
		    (s = BN_bin2bn(e->signatureS.buffer, e->signatureS.size,
		    NULL)) == NULL || ECDSA_SIG_set0(es, r, s) != 1) {
			rc = ca_error_openssl(CA_ERR_NOMEM, "tpm: certify "
			    "signature");
			goto out;
		}
		r = s = NULL;
		if ((len = i2d_ECDSA_SIG(es, &d)) <= 0) {
			rc = ca_error_openssl(CA_ERR_INTERNAL, "tpm: certify "
			    "signature");
			goto out;
		}
		*der = d;
		*der_len = (size_t)len;
		d = NULL;
	} else {
		const TPM2B_PUBLIC_KEY_RSA *rs = &sig->signature.rsassa.sig;

		if ((*der = malloc(rs->size ? rs->size : 1)) == NULL) {
			rc = ca_error(CA_ERR_NOMEM, "tpm: certify signature");
			goto out;
		}
		memcpy(*der, rs->buffer, rs->size);
		*der_len = rs->size;
	}
	rc = CA_OK;
 out:
	OPENSSL_free(d);
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(es);
	return rc;
}

/* sig_verify: the AK's signature over the attest bytes. */
static int
sig_verify(const struct tpm_ak *ak, const uint8_t *attest, size_t attest_len,
    const uint8_t *sig, size_t sig_len)
{
	TPMT_SIGNATURE ts;
	uint8_t *raw = NULL, dg[EVP_MAX_MD_SIZE];
	size_t raw_len = 0, off = 0;
	unsigned int dlen = 0;
	const EVP_MD *md = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	int rc = CA_ERR_INTERNAL;

	memset(&ts, 0, sizeof(ts));
	if (sig == NULL || sig_len == 0 || sig_len > TPM_MAX_BLOB ||
	    Tss2_MU_TPMT_SIGNATURE_Unmarshal(sig, sig_len, &off, &ts) !=
	    TSS2_RC_SUCCESS)
		return ca_error(CA_ERR_INVALID, "tpm: certify signature: TPM "
		    "2.0 Part 2: not a TPMT_SIGNATURE");
	if (off != sig_len)
		return ca_error(CA_ERR_INVALID, "tpm: certify signature: "
		    "TPMT_SIGNATURE: %zu trailing bytes", sig_len - off);
	if ((rc = sig_prepare(&raw, &raw_len, &md, ak, &ts)) != CA_OK)
		goto out;
	if (EVP_Digest(attest, attest_len, dg, &dlen, md, NULL) != 1 ||
	    (pctx = EVP_PKEY_CTX_new_from_pkey(NULL, ak->pkey, NULL)) ==
	    NULL || EVP_PKEY_verify_init(pctx) != 1 ||
	    EVP_PKEY_CTX_set_signature_md(pctx, md) != 1) {
		rc = ca_error_openssl(CA_ERR_INTERNAL, "tpm: certify "
		    "signature: set-up");
		goto out;
	}
	if (ts.sigAlg == TPM2_ALG_RSASSA &&
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) {
		rc = ca_error_openssl(CA_ERR_INTERNAL, "tpm: RSASSA");
		goto out;
	}
	if (ts.sigAlg == TPM2_ALG_RSAPSS &&
	    (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_AUTO) !=
	    1)) {
		rc = ca_error_openssl(CA_ERR_INTERNAL, "tpm: RSAPSS");
		goto out;
	}
	if (EVP_PKEY_verify(pctx, raw, raw_len, dg, dlen) != 1) {
		ERR_clear_error();
		rc = ca_error(CA_ERR_VERIFY, "tpm: certify signature: the "
		    "AK's signature over TPMS_ATTEST does not verify");
		goto out;
	}
	rc = CA_OK;
 out:
	EVP_PKEY_CTX_free(pctx);
	free(raw);
	return rc;
}

int
tpm_certify_verify(struct tpm_key **out, const struct tpm_ak *ak,
    const uint8_t *attest, size_t attest_len, const uint8_t *sig,
    size_t sig_len, const uint8_t *key_pub, size_t key_pub_len,
    const uint8_t *nonce, size_t nonce_len, EVP_PKEY *csr_key)
{
	TPMS_ATTEST a;
	struct tpm_key *k = NULL;
	const TPM2B_NAME *cn;
	size_t off = 0;
	int rc = CA_ERR_INTERNAL;

	if (out != NULL)
		*out = NULL;
	memset(&a, 0, sizeof(a));
	if (attest == NULL || attest_len == 0 || attest_len > TPM_MAX_BLOB ||
	    Tss2_MU_TPMS_ATTEST_Unmarshal(attest, attest_len, &off, &a) !=
	    TSS2_RC_SUCCESS)
		return ca_error(CA_ERR_INVALID, "tpm: certify: TPM 2.0 Part 2: "
		    "not a TPMS_ATTEST");
	if (off != attest_len)
		return ca_error(CA_ERR_INVALID, "tpm: certify: TPMS_ATTEST: "
		    "%zu trailing bytes", attest_len - off);
	if (a.magic != TPM2_GENERATED_VALUE)
		return ca_error(CA_ERR_DENIED, "tpm: certify: TPMS_ATTEST "
		    "magic 0x%08x is not TPM_GENERATED_VALUE (not made by a "
		    "TPM)", (unsigned int)a.magic);
	if (a.type != TPM2_ST_ATTEST_CERTIFY)
		return ca_error(CA_ERR_DENIED, "tpm: certify: TPMS_ATTEST "
		    "type 0x%04x is not TPM_ST_ATTEST_CERTIFY",
		    (unsigned int)a.type);
	if (nonce == NULL || nonce_len == 0 ||
	    a.extraData.size != nonce_len ||
	    CRYPTO_memcmp(a.extraData.buffer, nonce, nonce_len) != 0)
		return ca_error(CA_ERR_DENIED, "tpm: certify: TPMS_ATTEST "
		    "extraData is not this request's nonce (stale or "
		    "replayed evidence)");
	if ((rc = sig_verify(ak, attest, attest_len, sig, sig_len)) != CA_OK)
		return rc;

	if ((k = calloc(1, sizeof(*k))) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "tpm: certify: out of memory");
		goto out;
	}
	if ((rc = tpm_public_parse(&k->pub, "certified key", key_pub,
	    key_pub_len)) != CA_OK || (rc = tpm_public_name(&k->name,
	    "certified key", &k->pub)) != CA_OK)
		goto out;
	cn = &a.attested.certify.name;
	if (cn->size != k->name.size ||
	    CRYPTO_memcmp(cn->name, k->name.name, k->name.size) != 0) {
		rc = ca_error(CA_ERR_DENIED, "tpm: certify: TPMS_CERTIFY_INFO "
		    "names another object than the public area sent (TPM 2.0 "
		    "Part 1, Names)");
		goto out;
	}
	if ((rc = tpm_public_attrs_check("certified key (it must be made in "
	    "this TPM and never leave it)", &k->pub, KEY_NEED,
	    TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT)) != CA_OK ||
	    (rc = tpm_public_pkey(&k->pkey, "certified key", &k->pub)) !=
	    CA_OK)
		goto out;
	if (csr_key == NULL || EVP_PKEY_eq(k->pkey, csr_key) != 1) {
		ERR_clear_error();
		rc = ca_error(CA_ERR_DENIED, "tpm: certify: the CSR's public "
		    "key is not the TPM-certified key");
		goto out;
	}
	if (out != NULL) {
		*out = k;
		k = NULL;
	}
	rc = CA_OK;
 out:
	tpm_key_free(k);
	return rc;
}
