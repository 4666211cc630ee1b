/* SPDX-License-Identifier: ISC */
/*
 * tpm_ek: the endorsement key. The client sends the EK's public area (as
 * its TPM made it from the TCG default template) and the EK certificate it
 * read from NV. The public area must be a storage-style restricted
 * decryption key (TCG EK Credential Profile 2.x, the default templates),
 * because MakeCredential encrypts to it; the certificate must certify that
 * exact key and chain to a manufacturer CA. EK certificates are odd: an
 * empty subject, a critical subjectAltName of TCG directory attributes
 * (manufacturer, model, version), TCG policy OIDs and the EK usage
 * 2.23.133.8.1. OpenSSL's chain verification accepts all of that, so no
 * profile beyond the chain and the key match is imposed here. A vTPM
 * without a certificate is admitted by the SHA-256 of its EK public key.
 * Also here: the selectors the evidence yields.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "attest/tpm.h"
#include "attest/tpm_int.h"
#include "common/ca_error.h"

#define EK_NEED (TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | \
	TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_RESTRICTED | \
	TPMA_OBJECT_DECRYPT)

void
tpm_ek_free(struct tpm_ek *ek)
{
	if (ek == NULL)
		return;
	EVP_PKEY_free(ek->pkey);
	free(ek->issuer);
	free(ek);
}

/*
 * ek_public_check: the EK is a restricted decryption key with the AES-CFB
 * symmetric scheme MakeCredential needs, RSA 2048 or ECC P-256.
 */
static int
ek_public_check(const TPM2B_PUBLIC *pub)
{
	const TPMT_PUBLIC *p = &pub->publicArea;
	const TPMT_SYM_DEF_OBJECT *sym;
	int rc;

	if ((rc = tpm_public_attrs_check("EK public area (TCG EK Credential "
	    "Profile, EK template)", pub, EK_NEED, TPMA_OBJECT_SIGN_ENCRYPT)) !=
	    CA_OK)
		return rc;
	if (p->type == TPM2_ALG_RSA) {
		sym = &p->parameters.rsaDetail.symmetric;
		if (p->parameters.rsaDetail.keyBits != 2048 &&
		    p->parameters.rsaDetail.keyBits != 3072)
			return ca_error(CA_ERR_UNSUPPORTED, "tpm: EK public "
			    "area: RSA %u bits (TCG EK templates: RSA 2048 "
			    "or 3072, ECC P-256 or P-384)", (unsigned int)
			    p->parameters.rsaDetail.keyBits);
	} else {
		sym = &p->parameters.eccDetail.symmetric;
		if (p->parameters.eccDetail.curveID != TPM2_ECC_NIST_P256 &&
		    p->parameters.eccDetail.curveID != TPM2_ECC_NIST_P384)
			return ca_error(CA_ERR_UNSUPPORTED, "tpm: EK public "
			    "area: ECC curve 0x%04x (TCG EK templates: RSA "
			    "2048 or 3072, ECC P-256 or P-384)", (unsigned int)
			    p->parameters.eccDetail.curveID);
	}
	if (sym->algorithm != TPM2_ALG_AES || sym->mode.aes != TPM2_ALG_CFB ||
	    (sym->keyBits.aes != 128 && sym->keyBits.aes != 256))
		return ca_error(CA_ERR_UNSUPPORTED, "tpm: EK public area: "
		    "symmetric scheme 0x%04x/%u/0x%04x is not AES-128/256-CFB "
		    "(TPM 2.0 Part 1, Credential Protection)",
		    (unsigned int)sym->algorithm, (unsigned int)sym->keyBits.aes,
		    (unsigned int)sym->mode.aes);
	if (tpm_alg_md(p->nameAlg) == NULL)
		return ca_error(CA_ERR_UNSUPPORTED, "tpm: EK public area: "
		    "nameAlg 0x%04x", (unsigned int)p->nameAlg);
	return CA_OK;
}

static int
ek_hash_listed(const struct tpm_ek_trust *trust, const uint8_t *h)
{
	size_t i;

	for (i = 0; i < trust->nhashes; i++)
		if (CRYPTO_memcmp(trust->hashes[i], h, TPM_SHA256_LEN) == 0)
			return 1;
	return 0;
}

static char *
ek_name_string(const X509_NAME *name)
{
	BIO *b = NULL;
	char *s = NULL;
	long n;
	char *p;

	if ((b = BIO_new(BIO_s_mem())) == NULL)
		return NULL;
	if (X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253) >= 0 &&
	    (n = BIO_get_mem_data(b, &p)) >= 0 &&
	    (s = malloc((size_t)n + 1)) != NULL) {
		memcpy(s, p, (size_t)n);
		s[n] = '\0';
	}
	BIO_free(b);
	return s;
}

/*
 * ek_chain_verify: cert chains to one of the manufacturer CAs. Every
 * certificate in the store is an anchor; the EK certificate's purpose
 * is not checked (its EKU is the TCG EK usage, not a TLS one).
 */
static int
ek_chain_verify(X509_STORE *cas, X509 *cert, time_t now, const char **why)
{
	X509_STORE_CTX *ctx = NULL;
	int ok = 0;

	*why = "no manufacturer CA is configured";
	if (cas == NULL)
		return 0;
	if ((ctx = X509_STORE_CTX_new()) == NULL ||
	    X509_STORE_CTX_init(ctx, cas, cert, NULL) != 1) {
		*why = "out of memory";
		goto out;
	}
	X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_PARTIAL_CHAIN);
	X509_STORE_CTX_set_time(ctx, 0, now);
	ok = X509_verify_cert(ctx) == 1;
	if (!ok)
		*why = X509_verify_cert_error_string(
		    X509_STORE_CTX_get_error(ctx));
 out:
	X509_STORE_CTX_free(ctx);
	return ok;
}

int
tpm_ek_verify(struct tpm_ek **out, const struct tpm_ek_trust *trust,
    const uint8_t *cert, size_t cert_len, const uint8_t *pub, size_t pub_len,
    time_t now)
{
	struct tpm_ek *ek = NULL;
	X509 *x = NULL;
	const uint8_t *p;
	uint8_t *spki = NULL;
	int spki_len;
	unsigned int hlen;
	const char *why = NULL;
	int listed, rc = CA_ERR_INTERNAL;

	*out = NULL;
	if ((ek = calloc(1, sizeof(*ek))) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "tpm: EK: out of memory");
		goto out;
	}
	if ((rc = tpm_public_parse(&ek->pub, "EK public area", pub,
	    pub_len)) != CA_OK || (rc = ek_public_check(&ek->pub)) != CA_OK ||
	    (rc = tpm_public_pkey(&ek->pkey, "EK public area", &ek->pub)) !=
	    CA_OK)
		goto out;
	if ((spki_len = i2d_PUBKEY(ek->pkey, &spki)) <= 0 ||
	    EVP_Digest(spki, (size_t)spki_len, ek->sha256, &hlen,
	    EVP_sha256(), NULL) != 1) {
		rc = ca_error_openssl(CA_ERR_INTERNAL, "tpm: EK: hash");
		goto out;
	}
	listed = ek_hash_listed(trust, ek->sha256);

	if (cert == NULL || cert_len == 0) {
		if (!listed) {
			rc = ca_error(CA_ERR_DENIED, "tpm: EK: no EK "
			    "certificate, and the EK's SHA-256 is not on the "
			    "EK allowlist");
			goto out;
		}
		goto done;
	}
	if (cert_len > TPM_MAX_EK_CERT) {
		rc = ca_error(CA_ERR_INVALID, "tpm: EK certificate: %zu bytes "
		    "(at most %d)", cert_len, TPM_MAX_EK_CERT);
		goto out;
	}
	p = cert;
	if ((x = d2i_X509(NULL, &p, (long)cert_len)) == NULL) {
		rc = ca_error_openssl(CA_ERR_INVALID, "tpm: EK certificate: "
		    "not a DER X.509 certificate");
		goto out;
	}
	if (p != cert + cert_len) {
		rc = ca_error(CA_ERR_INVALID, "tpm: EK certificate: %zu "
		    "trailing bytes", (size_t)(cert + cert_len - p));
		goto out;
	}
	if (X509_get0_pubkey(x) == NULL ||
	    EVP_PKEY_eq(X509_get0_pubkey(x), ek->pkey) != 1) {
		ERR_clear_error();
		rc = ca_error(CA_ERR_DENIED, "tpm: EK certificate: TCG EK "
		    "Credential Profile: its public key is not the EK public "
		    "key sent with it");
		goto out;
	}
	if (!ek_chain_verify(trust->cas, x, now, &why)) {
		if (!listed) {
			rc = ca_error(CA_ERR_VERIFY, "tpm: EK certificate: "
			    "does not chain to a manufacturer CA: %s", why);
			goto out;
		}
		goto done;	/* admitted by hash; no issuer selector */
	}
	if ((ek->issuer = ek_name_string(X509_get_issuer_name(x))) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "tpm: EK: out of memory");
		goto out;
	}
 done:
	*out = ek;
	ek = NULL;
	rc = CA_OK;
 out:
	OPENSSL_free(spki);
	X509_free(x);
	tpm_ek_free(ek);
	return rc;
}

static int
selector_add(char **sel, size_t *n, const char *prefix, const char *value)
{
	size_t len = strlen(prefix) + strlen(value) + 1;

	if ((sel[*n] = malloc(len)) == NULL)
		return ca_error(CA_ERR_NOMEM, "tpm: selectors: out of memory");
	snprintf(sel[*n], len, "%s%s", prefix, value);
	(*n)++;
	return CA_OK;
}

int
tpm_selectors(char ***out, size_t *nout, const struct tpm_ek *ek,
    const struct tpm_ak *ak)
{
	char **sel = NULL, *hex = NULL;
	size_t n = 0;
	int rc = CA_ERR_INTERNAL;

	*out = NULL;
	*nout = 0;
	if ((sel = calloc(3, sizeof(*sel))) == NULL ||
	    (hex = tpm_hex(ek->sha256, sizeof(ek->sha256))) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "tpm: selectors: out of memory");
		goto out;
	}
	if ((rc = selector_add(sel, &n, "tpm:ek-sha256:", hex)) != CA_OK)
		goto out;
	if (ek->issuer != NULL &&
	    (rc = selector_add(sel, &n, "tpm:ek-issuer:", ek->issuer)) != CA_OK)
		goto out;
	if (ak != NULL) {
		free(hex);
		if ((hex = tpm_hex(ak->name.name, ak->name.size)) == NULL) {
			rc = ca_error(CA_ERR_NOMEM, "tpm: selectors: out of "
			    "memory");
			goto out;
		}
		if ((rc = selector_add(sel, &n, "tpm:ak-name:", hex)) != CA_OK)
			goto out;
	}
	*out = sel;
	*nout = n;
	sel = NULL;
	n = 0;
	rc = CA_OK;
 out:
	free(hex);
	tpm_selectors_free(sel, n);
	return rc;
}

void
tpm_selectors_free(char **sel, size_t n)
{
	size_t i;

	if (sel == NULL)
		return;
	for (i = 0; i < n; i++)
		free(sel[i]);
	free(sel);
}
