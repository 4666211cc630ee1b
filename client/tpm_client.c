/* SPDX-License-Identifier: ISC */
/*
 * tpm_client: drives a TPM through libtss2-esys for attestation. The EK
 * is recreated from the TCG EK Credential Profile templates (L-1 RSA 2048,
 * L-2 ECC P-256, or H-3 ECC P-384 when only that certificate is
 * provisioned, as swtpm does), so the key matches its NV certificate. The
 * AK is a primary in the endorsement hierarchy, so it is the same AK on
 * every run. TLS keys are children of the storage primary that the tpm2
 * OpenSSL provider recreates for parent 0x40000001 (ECC P-256, AES-128-CFB,
 * empty unique), so the PEM written here loads there.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/asn1t.h>
#include <openssl/bio.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include "client/tpm_client.h"
#include "common/ca_error.h"

#define NV_EK_ECC_P384		0x01c00016	/* high range, H-3 */
#define NV_CHUNK		512
#define NV_MAX_CERT		(8 * 1024)
#define TSS2_KEY_OID		"2.23.133.10.1.3"	/* loadable key */
#define TSS2_KEY_PEM		"TSS2 PRIVATE KEY"

struct tpm_client {
	TSS2_TCTI_CONTEXT *tcti;
	ESYS_CONTEXT *esys;
	ESYS_TR ek, ak, srk;
	int ek_user_auth;	/* EK has userWithAuth (H templates) */
};

struct tpm_client_key {
	TPM2B_PUBLIC pub;
	TPM2B_PRIVATE priv;
	ESYS_TR handle;
	tpm_client *c;
};

/* TCG EK Credential Profile: PolicyA (SHA-256) and PolicyB (SHA-384). */
static const uint8_t policy_a_sha256[] = {
	0x83, 0x71, 0x97, 0x67, 0x44, 0x84, 0xb3, 0xf8, 0x1a, 0x90, 0xcc,
	0x8d, 0x46, 0xa5, 0xd7, 0x24, 0xfd, 0x52, 0xd7, 0x6e, 0x06, 0x52,
	0x0b, 0x64, 0xf2, 0xa1, 0xda, 0x1b, 0x33, 0x14, 0x69, 0xaa,
};
static const uint8_t policy_b_sha384[] = {
	0xb2, 0x6e, 0x7d, 0x28, 0xd1, 0x1a, 0x50, 0xbc, 0x53, 0xd8, 0x82,
	0xbc, 0xf5, 0xfd, 0x3a, 0x1a, 0x07, 0x41, 0x48, 0xbb, 0x35, 0xd3,
	0xb4, 0xe4, 0xcb, 0x1c, 0x0a, 0xd9, 0xbd, 0xe4, 0x19, 0xca, 0xcb,
	0x47, 0xba, 0x09, 0x69, 0x96, 0x46, 0x15, 0x0f, 0x9f, 0xc0, 0x00,
	0xf3, 0xf8, 0x0e, 0x12,
};

#define EK_ATTRS (TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | \
	TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_ADMINWITHPOLICY | \
	TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT)

static int
tss_error(TSS2_RC r, const char *what)
{
	return ca_error(CA_ERR_HSM, "tpm: %s: %s", what, Tss2_RC_Decode(r));
}

int
tpm_client_open(tpm_client **out, const char *tcti)
{
	tpm_client *c = NULL;
	TSS2_RC r;
	int rc = CA_ERR_INTERNAL;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return ca_error(CA_ERR_NOMEM, "tpm: out of memory");
	c->ek = c->ak = c->srk = ESYS_TR_NONE;
	if ((r = Tss2_TctiLdr_Initialize(tcti, &c->tcti)) != TSS2_RC_SUCCESS) {
		rc = ca_error(CA_ERR_CONFIG, "tpm: TCTI \"%s\": %s", tcti,
		    Tss2_RC_Decode(r));
		goto out;
	}
	if ((r = Esys_Initialize(&c->esys, c->tcti, NULL)) != TSS2_RC_SUCCESS) {
		rc = tss_error(r, "Esys_Initialize");
		goto out;
	}
	r = Esys_Startup(c->esys, TPM2_SU_CLEAR);
	if (r != TSS2_RC_SUCCESS && r != TPM2_RC_INITIALIZE) {
		rc = tss_error(r, "TPM2_Startup");
		goto out;
	}
	*out = c;
	c = NULL;
	rc = CA_OK;
 out:
	tpm_client_free(c);
	return rc;
}

void
tpm_client_free(tpm_client *c)
{
	if (c == NULL)
		return;
	if (c->esys != NULL) {
		if (c->ek != ESYS_TR_NONE)
			Esys_FlushContext(c->esys, c->ek);
		if (c->ak != ESYS_TR_NONE)
			Esys_FlushContext(c->esys, c->ak);
		if (c->srk != ESYS_TR_NONE)
			Esys_FlushContext(c->esys, c->srk);
		Esys_Finalize(&c->esys);
	}
	if (c->tcti != NULL)
		Tss2_TctiLdr_Finalize(&c->tcti);
	free(c);
}

static int
blob_out(uint8_t **out, size_t *out_len, const uint8_t *buf, size_t len)
{
	if ((*out = malloc(len ? len : 1)) == NULL)
		return ca_error(CA_ERR_NOMEM, "tpm: out of memory");
	memcpy(*out, buf, len);
	*out_len = len;
	return CA_OK;
}

static int
public_out(uint8_t **out, size_t *out_len, const TPM2B_PUBLIC *pub)
{
	uint8_t buf[sizeof(TPM2B_PUBLIC)];
	size_t off = 0;

	if (Tss2_MU_TPM2B_PUBLIC_Marshal(pub, buf, sizeof(buf), &off) !=
	    TSS2_RC_SUCCESS)
		return ca_error(CA_ERR_INTERNAL, "tpm: TPM2B_PUBLIC marshal");
	return blob_out(out, out_len, buf, off);
}

/*
 * nv_read_cert reads the certificate at index, trimmed to its DER length
 * (some TPMs pad the NV area). *out stays NULL when the index is absent.
 */
static int
nv_read_cert(tpm_client *c, TPM2_HANDLE index, uint8_t **out,
    size_t *out_len)
{
	ESYS_TR nv = ESYS_TR_NONE;
	TPM2B_NV_PUBLIC *nvpub = NULL;
	TPM2B_MAX_NV_BUFFER *data = NULL;
	uint8_t *buf = NULL;
	const unsigned char *p;
	long len;
	int tag, xclass;
	size_t size, off = 0;
	UINT16 n;
	TSS2_RC r;
	int rc = CA_ERR_INTERNAL;

	*out = NULL;
	*out_len = 0;
	if (Esys_TR_FromTPMPublic(c->esys, index, ESYS_TR_NONE, ESYS_TR_NONE,
	    ESYS_TR_NONE, &nv) != TSS2_RC_SUCCESS)
		return CA_OK;	/* no such index: no certificate */
	if ((r = Esys_NV_ReadPublic(c->esys, nv, ESYS_TR_NONE, ESYS_TR_NONE,
	    ESYS_TR_NONE, &nvpub, NULL)) != TSS2_RC_SUCCESS) {
		rc = tss_error(r, "NV_ReadPublic of the EK certificate");
		goto out;
	}
	size = nvpub->nvPublic.dataSize;
	if (size == 0 || size > NV_MAX_CERT) {
		rc = ca_error(CA_ERR_INVALID, "tpm: NV 0x%08x: EK certificate "
		    "of %zu bytes", (unsigned int)index, size);
		goto out;
	}
	if ((buf = malloc(size)) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "tpm: out of memory");
		goto out;
	}
	while (off < size) {
		n = (UINT16)(size - off > NV_CHUNK ? NV_CHUNK : size - off);
		r = Esys_NV_Read(c->esys, nv, nv, ESYS_TR_PASSWORD,
		    ESYS_TR_NONE, ESYS_TR_NONE, n, (UINT16)off, &data);
		if (r != TSS2_RC_SUCCESS)
			r = Esys_NV_Read(c->esys, ESYS_TR_RH_OWNER, nv,
			    ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, n,
			    (UINT16)off, &data);
		if (r != TSS2_RC_SUCCESS) {
			rc = tss_error(r, "NV_Read of the EK certificate");
			goto out;
		}
		memcpy(buf + off, data->buffer, data->size);
		off += data->size;
		Esys_Free(data);
		data = NULL;
		if (n == 0)
			break;
	}
	p = buf;
	if ((ASN1_get_object(&p, &len, &tag, &xclass, (long)size) & 0x80) ||
	    tag != V_ASN1_SEQUENCE || (size_t)(p - buf) + (size_t)len > size) {
		rc = ca_error(CA_ERR_INVALID, "tpm: NV 0x%08x: not a DER "
		    "certificate", (unsigned int)index);
		goto out;
	}
	*out_len = (size_t)(p - buf) + (size_t)len;
	*out = buf;
	buf = NULL;
	rc = CA_OK;
 out:
	Esys_Free(data);
	Esys_Free(nvpub);
	free(buf);
	if (nv != ESYS_TR_NONE)
		Esys_TR_Close(c->esys, &nv);
	return rc;
}

static void
ek_template(TPM2B_PUBLIC *t, enum tpm_client_alg alg, int high384)
{
	TPMT_PUBLIC *p = &t->publicArea;

	memset(t, 0, sizeof(*t));
	p->nameAlg = TPM2_ALG_SHA256;
	p->objectAttributes = EK_ATTRS;
	p->authPolicy.size = sizeof(policy_a_sha256);
	memcpy(p->authPolicy.buffer, policy_a_sha256, sizeof(policy_a_sha256));
	if (alg == TPM_CLIENT_RSA2048) {
		p->type = TPM2_ALG_RSA;
		p->parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_AES;
		p->parameters.rsaDetail.symmetric.keyBits.aes = 128;
		p->parameters.rsaDetail.symmetric.mode.aes = TPM2_ALG_CFB;
		p->parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
		p->parameters.rsaDetail.keyBits = 2048;
		p->unique.rsa.size = 256;
		return;
	}
	p->type = TPM2_ALG_ECC;
	p->parameters.eccDetail.symmetric.algorithm = TPM2_ALG_AES;
	p->parameters.eccDetail.symmetric.keyBits.aes = 128;
	p->parameters.eccDetail.symmetric.mode.aes = TPM2_ALG_CFB;
	p->parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
	p->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
	p->parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
	p->unique.ecc.x.size = p->unique.ecc.y.size = 32;
	if (!high384)
		return;
	/* H-3: SHA-384, PolicyB, userWithAuth, AES-256, empty unique. */
	p->nameAlg = TPM2_ALG_SHA384;
	p->objectAttributes |= TPMA_OBJECT_USERWITHAUTH;
	p->authPolicy.size = sizeof(policy_b_sha384);
	memcpy(p->authPolicy.buffer, policy_b_sha384, sizeof(policy_b_sha384));
	p->parameters.eccDetail.symmetric.keyBits.aes = 256;
	p->parameters.eccDetail.curveID = TPM2_ECC_NIST_P384;
	p->unique.ecc.x.size = p->unique.ecc.y.size = 0;
}

static int
primary_create(tpm_client *c, ESYS_TR hierarchy, const TPM2B_PUBLIC *tmpl,
    ESYS_TR *out, TPM2B_PUBLIC **pub, const char *what)
{
	TPM2B_SENSITIVE_CREATE sens;
	TPM2B_DATA outside;
	TPML_PCR_SELECTION pcrs;
	TSS2_RC r;

	memset(&sens, 0, sizeof(sens));
	memset(&outside, 0, sizeof(outside));
	memset(&pcrs, 0, sizeof(pcrs));
	if ((r = Esys_CreatePrimary(c->esys, hierarchy, ESYS_TR_PASSWORD,
	    ESYS_TR_NONE, ESYS_TR_NONE, &sens, tmpl, &outside, &pcrs, out, pub,
	    NULL, NULL, NULL)) != TSS2_RC_SUCCESS)
		return tss_error(r, what);
	return CA_OK;
}

int
tpm_client_ek(tpm_client *c, enum tpm_client_alg alg, uint8_t **cert,
    size_t *cert_len, uint8_t **pub, size_t *pub_len)
{
	TPM2B_PUBLIC tmpl, *ekpub = NULL;
	int high = 0, rc;

	*pub = NULL;
	*pub_len = 0;
	if ((rc = nv_read_cert(c, alg == TPM_CLIENT_RSA2048 ?
	    TPM_CLIENT_NV_EK_RSA : TPM_CLIENT_NV_EK_ECC, cert, cert_len)) !=
	    CA_OK)
		return rc;
	if (*cert == NULL && alg == TPM_CLIENT_ECC_P256) {
		if ((rc = nv_read_cert(c, NV_EK_ECC_P384, cert, cert_len)) !=
		    CA_OK)
			return rc;
		high = *cert != NULL;
	}
	ek_template(&tmpl, alg, high);
	if (c->ek != ESYS_TR_NONE) {
		Esys_FlushContext(c->esys, c->ek);
		c->ek = ESYS_TR_NONE;
	}
	if ((rc = primary_create(c, ESYS_TR_RH_ENDORSEMENT, &tmpl, &c->ek,
	    &ekpub, "CreatePrimary (EK)")) != CA_OK)
		goto out;
	c->ek_user_auth = high;
	rc = public_out(pub, pub_len, ekpub);
 out:
	if (rc != CA_OK) {
		free(*cert);
		*cert = NULL;
		*cert_len = 0;
	}
	Esys_Free(ekpub);
	return rc;
}

int
tpm_client_ak(tpm_client *c, enum tpm_client_alg alg, uint8_t **pub,
    size_t *pub_len)
{
	TPM2B_PUBLIC tmpl, *akpub = NULL;
	TPMT_PUBLIC *p = &tmpl.publicArea;
	int rc;

	memset(&tmpl, 0, sizeof(tmpl));
	p->nameAlg = TPM2_ALG_SHA256;
	p->objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
	    TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
	    TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT;
	if (alg == TPM_CLIENT_RSA2048) {
		p->type = TPM2_ALG_RSA;
		p->parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
		p->parameters.rsaDetail.scheme.scheme = TPM2_ALG_RSASSA;
		p->parameters.rsaDetail.scheme.details.rsassa.hashAlg =
		    TPM2_ALG_SHA256;
		p->parameters.rsaDetail.keyBits = 2048;
	} else {
		p->type = TPM2_ALG_ECC;
		p->parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
		p->parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
		p->parameters.eccDetail.scheme.details.ecdsa.hashAlg =
		    TPM2_ALG_SHA256;
		p->parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
		p->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
	}
	if (c->ak != ESYS_TR_NONE) {
		Esys_FlushContext(c->esys, c->ak);
		c->ak = ESYS_TR_NONE;
	}
	if ((rc = primary_create(c, ESYS_TR_RH_ENDORSEMENT, &tmpl, &c->ak,
	    &akpub, "CreatePrimary (AK)")) != CA_OK)
		return rc;
	rc = public_out(pub, pub_len, akpub);
	Esys_Free(akpub);
	return rc;
}

int
tpm_client_activate(tpm_client *c, uint8_t **secret, size_t *secret_len,
    const uint8_t *id_object, size_t id_object_len, const uint8_t *enc_secret,
    size_t enc_secret_len)
{
	TPM2B_ID_OBJECT idobj;
	TPM2B_ENCRYPTED_SECRET enc;
	TPM2B_DIGEST *cert_info = NULL;
	TPMT_SYM_DEF sym = { .algorithm = TPM2_ALG_NULL };
	ESYS_TR session = ESYS_TR_NONE, ek_auth = ESYS_TR_PASSWORD;
	size_t off = 0;
	TSS2_RC r;
	int rc = CA_ERR_INTERNAL;

	*secret = NULL;
	*secret_len = 0;
	if (c->ek == ESYS_TR_NONE || c->ak == ESYS_TR_NONE)
		return ca_error(CA_ERR_USAGE, "tpm: activate: no EK or AK");
	memset(&idobj, 0, sizeof(idobj));
	memset(&enc, 0, sizeof(enc));
	if (Tss2_MU_TPM2B_ID_OBJECT_Unmarshal(id_object, id_object_len, &off,
	    &idobj) != TSS2_RC_SUCCESS || off != id_object_len)
		return ca_error(CA_ERR_INVALID, "tpm: activate: not a "
		    "TPM2B_ID_OBJECT");
	off = 0;
	if (Tss2_MU_TPM2B_ENCRYPTED_SECRET_Unmarshal(enc_secret,
	    enc_secret_len, &off, &enc) != TSS2_RC_SUCCESS ||
	    off != enc_secret_len)
		return ca_error(CA_ERR_INVALID, "tpm: activate: not a "
		    "TPM2B_ENCRYPTED_SECRET");
	if (!c->ek_user_auth) {
		/* PolicyA: PolicySecret(TPM_RH_ENDORSEMENT). */
		if ((r = Esys_StartAuthSession(c->esys, ESYS_TR_NONE,
		    ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
		    NULL, TPM2_SE_POLICY, &sym, TPM2_ALG_SHA256, &session)) !=
		    TSS2_RC_SUCCESS) {
			rc = tss_error(r, "StartAuthSession");
			goto out;
		}
		if ((r = Esys_PolicySecret(c->esys, ESYS_TR_RH_ENDORSEMENT,
		    session, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
		    NULL, NULL, NULL, 0, NULL, NULL)) != TSS2_RC_SUCCESS) {
			rc = tss_error(r, "PolicySecret(endorsement)");
			goto out;
		}
		ek_auth = session;
	}
	if ((r = Esys_ActivateCredential(c->esys, c->ak, c->ek,
	    ESYS_TR_PASSWORD, ek_auth, ESYS_TR_NONE, &idobj, &enc,
	    &cert_info)) != TSS2_RC_SUCCESS) {
		rc = tss_error(r, "ActivateCredential");
		goto out;
	}
	rc = blob_out(secret, secret_len, cert_info->buffer, cert_info->size);
 out:
	if (session != ESYS_TR_NONE)
		Esys_FlushContext(c->esys, session);
	/* A TPM without a resource manager has three object slots. */
	Esys_FlushContext(c->esys, c->ek);
	c->ek = ESYS_TR_NONE;
	if (cert_info != NULL) {
		OPENSSL_cleanse(cert_info, sizeof(*cert_info));
		Esys_Free(cert_info);
	}
	return rc;
}

static int
srk_load(tpm_client *c)
{
	TPM2B_PUBLIC tmpl;
	TPMT_PUBLIC *p = &tmpl.publicArea;

	if (c->srk != ESYS_TR_NONE)
		return CA_OK;
	/* The tpm2 provider's primary for parent TPM2_RH_OWNER. */
	memset(&tmpl, 0, sizeof(tmpl));
	p->type = TPM2_ALG_ECC;
	p->nameAlg = TPM2_ALG_SHA256;
	p->objectAttributes = TPMA_OBJECT_USERWITHAUTH |
	    TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT | TPMA_OBJECT_NODA |
	    TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
	    TPMA_OBJECT_SENSITIVEDATAORIGIN;
	p->parameters.eccDetail.symmetric.algorithm = TPM2_ALG_AES;
	p->parameters.eccDetail.symmetric.keyBits.aes = 128;
	p->parameters.eccDetail.symmetric.mode.aes = TPM2_ALG_CFB;
	p->parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
	p->parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
	p->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
	return primary_create(c, ESYS_TR_RH_OWNER, &tmpl, &c->srk, NULL,
	    "CreatePrimary (storage primary)");
}

int
tpm_client_key_create(tpm_client *c, struct tpm_client_key **out,
    enum tpm_client_alg alg, enum tpm_client_key_flags flags)
{
	struct tpm_client_key *k = NULL;
	TPM2B_SENSITIVE_CREATE sens;
	TPM2B_PUBLIC tmpl, *opub = NULL;
	TPM2B_PRIVATE *opriv = NULL;
	TPM2B_DATA outside;
	TPML_PCR_SELECTION pcrs;
	TPMT_PUBLIC *p = &tmpl.publicArea;
	TSS2_RC r;
	int rc = CA_ERR_INTERNAL;

	*out = NULL;
	memset(&sens, 0, sizeof(sens));
	memset(&tmpl, 0, sizeof(tmpl));
	memset(&outside, 0, sizeof(outside));
	memset(&pcrs, 0, sizeof(pcrs));
	if ((rc = srk_load(c)) != CA_OK)
		return rc;
	if ((k = calloc(1, sizeof(*k))) == NULL)
		return ca_error(CA_ERR_NOMEM, "tpm: out of memory");
	k->handle = ESYS_TR_NONE;
	k->c = c;
	p->nameAlg = TPM2_ALG_SHA256;
	p->objectAttributes = TPMA_OBJECT_SENSITIVEDATAORIGIN |
	    TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_SIGN_ENCRYPT;
	if (flags == TPM_CLIENT_KEY_FIXED)
		p->objectAttributes |= TPMA_OBJECT_FIXEDTPM |
		    TPMA_OBJECT_FIXEDPARENT;
	if (alg == TPM_CLIENT_RSA2048) {
		p->type = TPM2_ALG_RSA;
		p->parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
		p->parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
		p->parameters.rsaDetail.keyBits = 2048;
	} else {
		p->type = TPM2_ALG_ECC;
		p->parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
		p->parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
		p->parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
		p->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
	}
	if ((r = Esys_Create(c->esys, c->srk, ESYS_TR_PASSWORD, ESYS_TR_NONE,
	    ESYS_TR_NONE, &sens, &tmpl, &outside, &pcrs, &opriv, &opub, NULL,
	    NULL, NULL)) != TSS2_RC_SUCCESS) {
		rc = tss_error(r, "Create (TLS key)");
		goto out;
	}
	k->pub = *opub;
	k->priv = *opriv;
	if ((r = Esys_Load(c->esys, c->srk, ESYS_TR_PASSWORD, ESYS_TR_NONE,
	    ESYS_TR_NONE, &k->priv, &k->pub, &k->handle)) != TSS2_RC_SUCCESS) {
		rc = tss_error(r, "Load (TLS key)");
		goto out;
	}
	*out = k;
	k = NULL;
	rc = CA_OK;
 out:
	Esys_Free(opub);
	Esys_Free(opriv);
	tpm_client_key_free(k);
	return rc;
}

void
tpm_client_key_free(struct tpm_client_key *k)
{
	if (k == NULL)
		return;
	if (k->handle != ESYS_TR_NONE && k->c != NULL && k->c->esys != NULL)
		Esys_FlushContext(k->c->esys, k->handle);
	OPENSSL_cleanse(&k->priv, sizeof(k->priv));
	free(k);
}

int
tpm_client_key_public(const struct tpm_client_key *k, uint8_t **pub,
    size_t *pub_len)
{
	return public_out(pub, pub_len, &k->pub);
}

int
tpm_client_certify(tpm_client *c, const struct tpm_client_key *k,
    const uint8_t *nonce, size_t nonce_len, uint8_t **attest,
    size_t *attest_len, uint8_t **sig, size_t *sig_len)
{
	TPM2B_DATA qual;
	TPMT_SIG_SCHEME scheme = { .scheme = TPM2_ALG_NULL };
	TPM2B_ATTEST *info = NULL;
	TPMT_SIGNATURE *ts = NULL;
	uint8_t buf[sizeof(TPMT_SIGNATURE)];
	size_t off = 0;
	TSS2_RC r;
	int rc = CA_ERR_INTERNAL;

	*attest = *sig = NULL;
	*attest_len = *sig_len = 0;
	if (c->ak == ESYS_TR_NONE || nonce_len > sizeof(qual.buffer))
		return ca_error(CA_ERR_USAGE, "tpm: certify: no AK, or a "
		    "nonce of %zu bytes", nonce_len);
	qual.size = (UINT16)nonce_len;
	memcpy(qual.buffer, nonce, nonce_len);
	if ((r = Esys_Certify(c->esys, k->handle, c->ak, ESYS_TR_PASSWORD,
	    ESYS_TR_PASSWORD, ESYS_TR_NONE, &qual, &scheme, &info, &ts)) !=
	    TSS2_RC_SUCCESS) {
		rc = tss_error(r, "Certify");
		goto out;
	}
	if (Tss2_MU_TPMT_SIGNATURE_Marshal(ts, buf, sizeof(buf), &off) !=
	    TSS2_RC_SUCCESS) {
		rc = ca_error(CA_ERR_INTERNAL, "tpm: TPMT_SIGNATURE marshal");
		goto out;
	}
	if ((rc = blob_out(attest, attest_len, info->attestationData,
	    info->size)) != CA_OK)
		goto out;
	if ((rc = blob_out(sig, sig_len, buf, off)) != CA_OK) {
		free(*attest);
		*attest = NULL;
		*attest_len = 0;
	}
 out:
	Esys_Free(info);
	Esys_Free(ts);
	return rc;
}

/* The TSSPrivKey ASN.1 of the TSS2 key file format (loadable keys). */
struct tss2_privkey {
	ASN1_OBJECT *type;
	ASN1_BOOLEAN empty_auth;
	ASN1_INTEGER *parent;
	ASN1_OCTET_STRING *pubkey;
	ASN1_OCTET_STRING *privkey;
};
typedef struct tss2_privkey TSS2_PRIVKEY;
DECLARE_ASN1_FUNCTIONS(TSS2_PRIVKEY)

ASN1_SEQUENCE(TSS2_PRIVKEY) = {
	ASN1_SIMPLE(TSS2_PRIVKEY, type, ASN1_OBJECT),
	ASN1_EXP_OPT(TSS2_PRIVKEY, empty_auth, ASN1_BOOLEAN, 0),
	ASN1_SIMPLE(TSS2_PRIVKEY, parent, ASN1_INTEGER),
	ASN1_SIMPLE(TSS2_PRIVKEY, pubkey, ASN1_OCTET_STRING),
	ASN1_SIMPLE(TSS2_PRIVKEY, privkey, ASN1_OCTET_STRING),
} ASN1_SEQUENCE_END(TSS2_PRIVKEY)

IMPLEMENT_ASN1_FUNCTIONS(TSS2_PRIVKEY)

int
tpm_client_key_pem(const struct tpm_client_key *k, char **pem,
    size_t *pem_len)
{
	TSS2_PRIVKEY *tk = NULL;
	uint8_t pubbuf[sizeof(TPM2B_PUBLIC)], privbuf[sizeof(TPM2B_PRIVATE)];
	size_t puboff = 0, privoff = 0;
	unsigned char *der = NULL;
	BIO *b = NULL;
	char *data;
	long n;
	int dlen, rc = CA_ERR_INTERNAL;

	*pem = NULL;
	*pem_len = 0;
	if (Tss2_MU_TPM2B_PUBLIC_Marshal(&k->pub, pubbuf, sizeof(pubbuf),
	    &puboff) != TSS2_RC_SUCCESS ||
	    Tss2_MU_TPM2B_PRIVATE_Marshal(&k->priv, privbuf, sizeof(privbuf),
	    &privoff) != TSS2_RC_SUCCESS) {
		rc = ca_error(CA_ERR_INTERNAL, "tpm: key file: marshal");
		goto out;
	}
	if ((tk = TSS2_PRIVKEY_new()) == NULL ||
	    (tk->type = OBJ_txt2obj(TSS2_KEY_OID, 1)) == NULL ||
	    ASN1_INTEGER_set_uint64(tk->parent, TPM2_RH_OWNER) != 1 ||
	    ASN1_OCTET_STRING_set(tk->pubkey, pubbuf, (int)puboff) != 1 ||
	    ASN1_OCTET_STRING_set(tk->privkey, privbuf, (int)privoff) != 1) {
		rc = ca_error_openssl(CA_ERR_NOMEM, "tpm: key file");
		goto out;
	}
	tk->empty_auth = 0xff;	/* TRUE */
	if ((dlen = i2d_TSS2_PRIVKEY(tk, &der)) <= 0 ||
	    (b = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio(b, TSS2_KEY_PEM, "", der, dlen) <= 0 ||
	    (n = BIO_get_mem_data(b, &data)) <= 0) {
		rc = ca_error_openssl(CA_ERR_INTERNAL, "tpm: key file: PEM");
		goto out;
	}
	if ((*pem = malloc((size_t)n + 1)) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "tpm: out of memory");
		goto out;
	}
	memcpy(*pem, data, (size_t)n);
	(*pem)[n] = '\0';
	*pem_len = (size_t)n;
	rc = CA_OK;
 out:
	OPENSSL_cleanse(privbuf, sizeof(privbuf));
	OPENSSL_free(der);
	BIO_free(b);
	TSS2_PRIVKEY_free(tk);
	return rc;
}
