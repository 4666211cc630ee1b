/* SPDX-License-Identifier: ISC */
/*
 * tpm_public: TPM 2.0 public areas (TPM2B_PUBLIC) from untrusted bytes.
 * Parsing is libtss2-mu's, with trailing bytes refused; the name is
 * computed per TPM 2.0 Part 1 (Names): nameAlg || H_nameAlg(TPMT_PUBLIC),
 * hashing the public area exactly as marshalled; the key is handed to
 * OpenSSL through EVP_PKEY_fromdata, which checks that an ECC point is on
 * its curve.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <tss2/tss2_mu.h>

#include "attest/tpm.h"
#include "attest/tpm_int.h"
#include "common/ca_error.h"

const EVP_MD *
tpm_alg_md(TPMI_ALG_HASH alg)
{
	switch (alg) {
	case TPM2_ALG_SHA256:
		return EVP_sha256();
	case TPM2_ALG_SHA384:
		return EVP_sha384();
	case TPM2_ALG_SHA512:
		return EVP_sha512();
	}
	return NULL;
}

char *
tpm_hex(const uint8_t *buf, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	char *s;
	size_t i;

	if ((s = malloc(len * 2 + 1)) == NULL)
		return NULL;
	for (i = 0; i < len; i++) {
		s[2 * i] = digits[buf[i] >> 4];
		s[2 * i + 1] = digits[buf[i] & 0x0f];
	}
	s[2 * len] = '\0';
	return s;
}

int
tpm_public_parse(TPM2B_PUBLIC *out, const char *what, const uint8_t *buf,
    size_t len)
{
	size_t off = 0;
	TSS2_RC rc;

	memset(out, 0, sizeof(*out));
	if (buf == NULL || len == 0)
		return ca_error(CA_ERR_INVALID, "tpm: %s: TPM2B_PUBLIC missing",
		    what);
	if (len > TPM_MAX_BLOB)
		return ca_error(CA_ERR_INVALID,
		    "tpm: %s: TPM2B_PUBLIC of %zu bytes (at most %d)", what,
		    len, TPM_MAX_BLOB);
	if ((rc = Tss2_MU_TPM2B_PUBLIC_Unmarshal(buf, len, &off, out)) !=
	    TSS2_RC_SUCCESS)
		return ca_error(CA_ERR_INVALID, "tpm: %s: TPM 2.0 Part 2: "
		    "TPM2B_PUBLIC does not unmarshal (0x%x)", what,
		    (unsigned int)rc);
	if (off != len)
		return ca_error(CA_ERR_INVALID, "tpm: %s: TPM2B_PUBLIC: %zu "
		    "trailing bytes", what, len - off);
	if (out->publicArea.type != TPM2_ALG_RSA &&
	    out->publicArea.type != TPM2_ALG_ECC)
		return ca_error(CA_ERR_UNSUPPORTED, "tpm: %s: key type 0x%04x "
		    "(only RSA and ECC)", what,
		    (unsigned int)out->publicArea.type);
	return CA_OK;
}

int
tpm_public_name(TPM2B_NAME *out, const char *what, const TPM2B_PUBLIC *pub)
{
	uint8_t buf[sizeof(TPMT_PUBLIC)];
	size_t off = 0;
	const EVP_MD *md;
	unsigned int dlen = 0;
	TPMI_ALG_HASH alg = pub->publicArea.nameAlg;

	memset(out, 0, sizeof(*out));
	if ((md = tpm_alg_md(alg)) == NULL)
		return ca_error(CA_ERR_UNSUPPORTED, "tpm: %s: nameAlg 0x%04x "
		    "(SHA-256, SHA-384 or SHA-512 only)", what,
		    (unsigned int)alg);
	if (Tss2_MU_TPMT_PUBLIC_Marshal(&pub->publicArea, buf, sizeof(buf),
	    &off) != TSS2_RC_SUCCESS)
		return ca_error(CA_ERR_INVALID, "tpm: %s: TPMT_PUBLIC does "
		    "not marshal", what);
	out->name[0] = alg >> 8;
	out->name[1] = alg & 0xff;
	if (EVP_Digest(buf, off, out->name + 2, &dlen, md, NULL) != 1)
		return ca_error_openssl(CA_ERR_INTERNAL, "tpm: %s: name hash",
		    what);
	out->size = 2 + dlen;
	return CA_OK;
}

/*
 * public_pkey_rsa pushes n and e; they must live until the parameters are
 * built, so the caller frees *n and *e.
 */
static int
public_pkey_rsa(BIGNUM **n, BIGNUM **e, const char *what,
    const TPMT_PUBLIC *p, OSSL_PARAM_BLD *bld)
{
	const TPMS_RSA_PARMS *rp = &p->parameters.rsaDetail;

	if (rp->keyBits < 2048 || rp->keyBits > 4096 ||
	    p->unique.rsa.size * 8 != rp->keyBits)
		return ca_error(CA_ERR_UNSUPPORTED, "tpm: %s: RSA key of %u "
		    "bits with a %u-byte modulus (2048 to 4096 bits)", what,
		    (unsigned int)rp->keyBits, (unsigned int)p->unique.rsa.size);
	if ((*n = BN_bin2bn(p->unique.rsa.buffer, p->unique.rsa.size,
	    NULL)) == NULL || (*e = BN_new()) == NULL ||
	    !BN_set_word(*e, rp->exponent == 0 ? 65537 : rp->exponent) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, *n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, *e))
		return ca_error_openssl(CA_ERR_NOMEM, "tpm: %s: RSA key", what);
	return CA_OK;
}

/* tpm_ecc_curve: OpenSSL's group name and the field size of a TPM curve. */
const char *
tpm_ecc_curve(TPMI_ECC_CURVE curve, size_t *field_len)
{
	switch (curve) {
	case TPM2_ECC_NIST_P256:
		*field_len = 32;
		return "P-256";
	case TPM2_ECC_NIST_P384:
		*field_len = 48;
		return "P-384";
	}
	*field_len = 0;
	return NULL;
}

static int
public_pkey_ecc(const char *what, const TPMT_PUBLIC *p, OSSL_PARAM_BLD *bld,
    uint8_t *point, size_t point_max)
{
	const TPMS_ECC_POINT *q = &p->unique.ecc;
	const char *group;
	size_t flen;

	if ((group = tpm_ecc_curve(p->parameters.eccDetail.curveID,
	    &flen)) == NULL)
		return ca_error(CA_ERR_UNSUPPORTED, "tpm: %s: ECC curve 0x%04x "
		    "(P-256 and P-384 only)", what,
		    (unsigned int)p->parameters.eccDetail.curveID);
	if (q->x.size == 0 || q->x.size > flen || q->y.size == 0 ||
	    q->y.size > flen || 1 + 2 * flen > point_max)
		return ca_error(CA_ERR_INVALID, "tpm: %s: ECC point of %u and "
		    "%u bytes on a %zu-byte curve", what,
		    (unsigned int)q->x.size, (unsigned int)q->y.size, flen);
	memset(point, 0, 1 + 2 * flen);
	point[0] = 0x04;
	memcpy(point + 1 + flen - q->x.size, q->x.buffer, q->x.size);
	memcpy(point + 1 + 2 * flen - q->y.size, q->y.buffer, q->y.size);
	if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	    group, 0) || !OSSL_PARAM_BLD_push_octet_string(bld,
	    OSSL_PKEY_PARAM_PUB_KEY, point, 1 + 2 * flen))
		return ca_error_openssl(CA_ERR_NOMEM, "tpm: %s: ECC key",
		    what);
	return CA_OK;
}

int
tpm_public_pkey(EVP_PKEY **out, const char *what, const TPM2B_PUBLIC *pub)
{
	const TPMT_PUBLIC *p = &pub->publicArea;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	BIGNUM *n = NULL, *e = NULL;
	uint8_t point[1 + 2 * 66];
	int rc = CA_ERR_INTERNAL;

	*out = NULL;
	if ((bld = OSSL_PARAM_BLD_new()) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "tpm: %s: out of memory", what);
		goto out;
	}
	if (p->type == TPM2_ALG_RSA)
		rc = public_pkey_rsa(&n, &e, what, p, bld);
	else if (p->type == TPM2_ALG_ECC)
		rc = public_pkey_ecc(what, p, bld, point, sizeof(point));
	else
		rc = ca_error(CA_ERR_UNSUPPORTED, "tpm: %s: key type 0x%04x",
		    what, (unsigned int)p->type);
	if (rc != CA_OK)
		goto out;
	rc = CA_ERR_INTERNAL;
	if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (pctx = EVP_PKEY_CTX_new_from_name(NULL,
	    p->type == TPM2_ALG_RSA ? "RSA" : "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(pctx) != 1) {
		rc = ca_error_openssl(CA_ERR_INTERNAL, "tpm: %s: key", what);
		goto out;
	}
	if (EVP_PKEY_fromdata(pctx, out, EVP_PKEY_PUBLIC_KEY, params) != 1) {
		rc = ca_error_openssl(CA_ERR_INVALID, "tpm: %s: public key "
		    "is not a valid %s key", what,
		    p->type == TPM2_ALG_RSA ? "RSA" : "EC");
		goto out;
	}
	rc = CA_OK;
 out:
	EVP_PKEY_CTX_free(pctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	return rc;
}

/* attr_append: append src to the string dst of size bytes, truncating. */
static void
attr_append(char *dst, const char *src, size_t size)
{
	size_t dl = strlen(dst), sl = strlen(src);

	if (dl + 1 >= size)
		return;
	if (sl > size - dl - 1)
		sl = size - dl - 1;
	memcpy(dst + dl, src, sl);
	dst[dl + sl] = '\0';
}

static const struct {
	TPMA_OBJECT bit;
	const char *name;
} attr_names[] = {
	{ TPMA_OBJECT_FIXEDTPM, "fixedTPM" },
	{ TPMA_OBJECT_STCLEAR, "stClear" },
	{ TPMA_OBJECT_FIXEDPARENT, "fixedParent" },
	{ TPMA_OBJECT_SENSITIVEDATAORIGIN, "sensitiveDataOrigin" },
	{ TPMA_OBJECT_USERWITHAUTH, "userWithAuth" },
	{ TPMA_OBJECT_ADMINWITHPOLICY, "adminWithPolicy" },
	{ TPMA_OBJECT_NODA, "noDA" },
	{ TPMA_OBJECT_ENCRYPTEDDUPLICATION, "encryptedDuplication" },
	{ TPMA_OBJECT_RESTRICTED, "restricted" },
	{ TPMA_OBJECT_DECRYPT, "decrypt" },
	{ TPMA_OBJECT_SIGN_ENCRYPT, "sign" },
};

int
tpm_public_attrs_check(const char *what, const TPM2B_PUBLIC *pub,
    TPMA_OBJECT need, TPMA_OBJECT forbid)
{
	TPMA_OBJECT a = pub->publicArea.objectAttributes;
	char missing[160] = "", extra[160] = "";
	size_t i;

	for (i = 0; i < sizeof(attr_names) / sizeof(attr_names[0]); i++) {
		if ((need & attr_names[i].bit) && !(a & attr_names[i].bit)) {
			if (missing[0] != '\0')
				attr_append(missing, ",", sizeof(missing));
			attr_append(missing, attr_names[i].name,
			    sizeof(missing));
		}
		if ((forbid & attr_names[i].bit) && (a & attr_names[i].bit)) {
			if (extra[0] != '\0')
				attr_append(extra, ",", sizeof(extra));
			attr_append(extra, attr_names[i].name,
			    sizeof(extra));
		}
	}
	if (missing[0] == '\0' && extra[0] == '\0')
		return CA_OK;
	return ca_error(CA_ERR_DENIED, "tpm: %s: TPM 2.0 Part 2 TPMA_OBJECT "
	    "0x%08x:%s%s%s%s", what, (unsigned int)a,
	    missing[0] ? " missing " : "", missing,
	    extra[0] ? " must not have " : "", extra);
}
