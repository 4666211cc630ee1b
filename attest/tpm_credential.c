/* SPDX-License-Identifier: ISC */
/*
 * tpm_credential: TPM2_MakeCredential in software, and the per-request
 * challenge (credential secret and certify nonce).
 *
 * TPM 2.0 Part 1, Credential Protection, with the EK's nameAlg H and
 * symmetric scheme (AES-CFB):
 *   seed           RSA EK: |H| random bytes, sent RSA-OAEP(H) encrypted
 *                  with the label "IDENTITY\0";
 *                  ECC EK: ECDH with an ephemeral key on the EK's curve,
 *                  seed = KDFe(H, Z, "IDENTITY", ephemeral.x, EK.x, |H|),
 *                  the ephemeral point sent as a TPMS_ECC_POINT
 *   symKey         KDFa(H, seed, "STORAGE", AK name, -, AES key bits)
 *   encIdentity    AES-CFB(symKey, IV 0, TPM2B_DIGEST(secret))
 *   hmacKey        KDFa(H, seed, "INTEGRITY", -, -, |H| bits)
 *   outerHMAC      HMAC-H(hmacKey, encIdentity || AK name)
 *   TPM2B_ID_OBJECT = TPM2B_DIGEST(outerHMAC) || encIdentity
 * KDFa is SP 800-108 counter mode with HMAC (OpenSSL's KBKDF), KDFe the
 * SP 800-56A concatenation KDF (OpenSSL's SSKDF).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <sodium.h>
#include <tss2/tss2_mu.h>

#include "attest/tpm.h"
#include "attest/tpm_int.h"
#include "common/ca_error.h"

struct tpm_challenge {
	uint8_t secret[TPM_SECRET_LEN];
	uint8_t nonce[TPM_NONCE_LEN];
	int secret_used;
};

/* kdf_derive: run OpenSSL's KDF name with params into out. */
static int
kdf_derive(const char *name, const char *what, const char *label,
    uint8_t *out, size_t out_len, const OSSL_PARAM *params)
{
	EVP_KDF *kdf = NULL;
	EVP_KDF_CTX *kctx = NULL;
	int rc = CA_OK;

	if ((kdf = EVP_KDF_fetch(NULL, name, NULL)) == NULL ||
	    (kctx = EVP_KDF_CTX_new(kdf)) == NULL ||
	    EVP_KDF_derive(kctx, out, out_len, params) != 1)
		rc = ca_error_openssl(CA_ERR_INTERNAL, "tpm: %s(%s)", what,
		    label);
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	return rc;
}

/* tpm_kdfa: TPM 2.0 Part 1 KDFa with HMAC-md; bits is a multiple of 8. */
static int
tpm_kdfa(uint8_t *out, size_t out_len, const EVP_MD *md, const uint8_t *key,
    size_t key_len, const char *label, const uint8_t *ctx_u, size_t u_len)
{
	OSSL_PARAM params[7], *p = params;

	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_MODE,
	    (char *)"counter", 0);
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_MAC,
	    (char *)"HMAC", 0);
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	    (char *)EVP_MD_get0_name(md), 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
	    (void *)key, key_len);
	/* KBKDF's salt is SP 800-108's Label, its info the Context. */
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
	    (void *)label, strlen(label));
	if (u_len > 0)
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
		    (void *)ctx_u, u_len);
	*p = OSSL_PARAM_construct_end();
	return kdf_derive("KBKDF", "KDFa", label, out, out_len, params);
}

/* tpm_kdfe: TPM 2.0 Part 1 KDFe: H(counter || Z || label 0 || U || V). */
static int
tpm_kdfe(uint8_t *out, size_t out_len, const EVP_MD *md, const uint8_t *z,
    size_t z_len, const char *label, const uint8_t *u, size_t u_len,
    const uint8_t *v, size_t v_len)
{
	OSSL_PARAM params[4], *p = params;
	uint8_t info[16 + 2 * 66];
	size_t llen = strlen(label) + 1;

	if (llen + u_len + v_len > sizeof(info))
		return ca_error(CA_ERR_INTERNAL, "tpm: KDFe: party info too "
		    "long");
	memcpy(info, label, llen);
	memcpy(info + llen, u, u_len);
	memcpy(info + llen + u_len, v, v_len);
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	    (char *)EVP_MD_get0_name(md), 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
	    (void *)z, z_len);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
	    info, llen + u_len + v_len);
	*p = OSSL_PARAM_construct_end();
	return kdf_derive("SSKDF", "KDFe", label, out, out_len, params);
}

/* seed_rsa: a random seed, RSA-OAEP encrypted to the EK. */
static int
seed_rsa(uint8_t *seed, size_t seed_len, TPM2B_ENCRYPTED_SECRET *enc,
    const struct tpm_ek *ek, const EVP_MD *md)
{
	static const char label[] = "IDENTITY";	/* with its NUL */
	EVP_PKEY_CTX *pctx = NULL;
	unsigned char *l = NULL;
	size_t outlen = sizeof(enc->secret);
	int rc = CA_ERR_INTERNAL;

	if (RAND_bytes(seed, (int)seed_len) != 1 ||
	    (pctx = EVP_PKEY_CTX_new_from_pkey(NULL, ek->pkey, NULL)) == NULL ||
	    EVP_PKEY_encrypt_init(pctx) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_OAEP_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_rsa_oaep_md(pctx, md) != 1 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) != 1 ||
	    (l = OPENSSL_memdup(label, sizeof(label))) == NULL ||
	    EVP_PKEY_CTX_set0_rsa_oaep_label(pctx, l, sizeof(label)) != 1) {
		OPENSSL_free(l);
		rc = ca_error_openssl(CA_ERR_INTERNAL, "tpm: MakeCredential: "
		    "RSA-OAEP set-up");
		goto out;
	}
	if (EVP_PKEY_encrypt(pctx, enc->secret, &outlen, seed,
	    seed_len) != 1) {
		rc = ca_error_openssl(CA_ERR_INTERNAL, "tpm: MakeCredential: "
		    "RSA-OAEP");
		goto out;
	}
	enc->size = (UINT16)outlen;
	rc = CA_OK;
 out:
	EVP_PKEY_CTX_free(pctx);
	return rc;
}

/* seed_ecc: ECDH with an ephemeral key on the EK's curve, then KDFe. */
static int
seed_ecc(uint8_t *seed, size_t seed_len, TPM2B_ENCRYPTED_SECRET *enc,
    const struct tpm_ek *ek, const EVP_MD *md)
{
	const TPMS_ECC_POINT *ekq = &ek->pub.publicArea.unique.ecc;
	EVP_PKEY *eph = NULL;
	EVP_PKEY_CTX *dctx = NULL;
	TPMS_ECC_POINT q;
	uint8_t point[1 + 2 * 66], z[66];
	size_t flen, plen = 0, zlen = sizeof(z), off = 0;
	const char *group;
	int rc = CA_ERR_INTERNAL;

	memset(&q, 0, sizeof(q));
	group = tpm_ecc_curve(ek->pub.publicArea.parameters.eccDetail.curveID,
	    &flen);
	if (group == NULL)
		return ca_error(CA_ERR_UNSUPPORTED, "tpm: MakeCredential: EK "
		    "curve");
	if ((eph = EVP_EC_gen(group)) == NULL ||
	    EVP_PKEY_get_octet_string_param(eph, OSSL_PKEY_PARAM_PUB_KEY,
	    point, sizeof(point), &plen) != 1 || plen != 1 + 2 * flen ||
	    (dctx = EVP_PKEY_CTX_new_from_pkey(NULL, eph, NULL)) == NULL ||
	    EVP_PKEY_derive_init(dctx) != 1 ||
	    EVP_PKEY_derive_set_peer(dctx, ek->pkey) != 1 ||
	    EVP_PKEY_derive(dctx, z, &zlen) != 1 || zlen != flen) {
		rc = ca_error_openssl(CA_ERR_INTERNAL, "tpm: MakeCredential: "
		    "ECDH");
		goto out;
	}
	q.x.size = q.y.size = (UINT16)flen;
	memcpy(q.x.buffer, point + 1, flen);
	memcpy(q.y.buffer, point + 1 + flen, flen);
	if ((rc = tpm_kdfe(seed, seed_len, md, z, zlen, "IDENTITY",
	    q.x.buffer, q.x.size, ekq->x.buffer, ekq->x.size)) != CA_OK)
		goto out;
	if (Tss2_MU_TPMS_ECC_POINT_Marshal(&q, enc->secret,
	    sizeof(enc->secret), &off) != TSS2_RC_SUCCESS) {
		rc = ca_error(CA_ERR_INTERNAL, "tpm: MakeCredential: point");
		goto out;
	}
	enc->size = (UINT16)off;
	rc = CA_OK;
 out:
	OPENSSL_cleanse(z, sizeof(z));
	EVP_PKEY_CTX_free(dctx);
	EVP_PKEY_free(eph);
	return rc;
}

/* blob_marshal: malloc'd copy of buf[0..len). */
static int
blob_dup(uint8_t **out, size_t *out_len, const uint8_t *buf, size_t len)
{
	if ((*out = malloc(len)) == NULL)
		return ca_error(CA_ERR_NOMEM, "tpm: out of memory");
	memcpy(*out, buf, len);
	*out_len = len;
	return CA_OK;
}

int
tpm_credential_make(uint8_t **id_object, size_t *id_object_len,
    uint8_t **enc_secret, size_t *enc_secret_len, const struct tpm_ek *ek,
    const TPM2B_NAME *ak_name, const uint8_t *secret, size_t secret_len)
{
	const TPMT_PUBLIC *ekp = &ek->pub.publicArea;
	const TPMT_SYM_DEF_OBJECT *sym;
	const EVP_MD *md;
	TPM2B_ENCRYPTED_SECRET enc;
	TPM2B_DIGEST cred, hmac;
	TPM2B_ID_OBJECT idobj;
	uint8_t seed[64], symkey[32], hmackey[64], plain[2 + 64];
	uint8_t iv[16] = { 0 }, ct[2 + 64];
	uint8_t buf[sizeof(TPM2B_ID_OBJECT) + sizeof(TPM2B_ENCRYPTED_SECRET)];
	size_t n, plen = 0, off = 0, mlen = 0;

	EVP_CIPHER_CTX *cctx = NULL;
	EVP_MAC *mac = NULL;
	EVP_MAC_CTX *mctx = NULL;
	OSSL_PARAM mparams[2];
	int outl = 0, fin = 0, rc = CA_ERR_INTERNAL;

	*id_object = *enc_secret = NULL;
	*id_object_len = *enc_secret_len = 0;
	memset(&enc, 0, sizeof(enc));
	memset(&idobj, 0, sizeof(idobj));
	if ((md = tpm_alg_md(ekp->nameAlg)) == NULL)
		return ca_error(CA_ERR_UNSUPPORTED, "tpm: MakeCredential: EK "
		    "nameAlg 0x%04x", (unsigned int)ekp->nameAlg);
	n = (size_t)EVP_MD_get_size(md);
	if (secret_len == 0 || secret_len > n || ak_name->size < 2 + 32 ||
	    ak_name->size > sizeof(ak_name->name))
		return ca_error(CA_ERR_USAGE, "tpm: MakeCredential: secret of "
		    "%zu bytes or AK name of %u bytes", secret_len,
		    (unsigned int)ak_name->size);
	sym = ekp->type == TPM2_ALG_RSA ? &ekp->parameters.rsaDetail.symmetric :
	    &ekp->parameters.eccDetail.symmetric;

	rc = ekp->type == TPM2_ALG_RSA ? seed_rsa(seed, n, &enc, ek, md) :
	    seed_ecc(seed, n, &enc, ek, md);
	if (rc != CA_OK)
		goto out;

	/* encIdentity = AES-CFB(symKey, 0, TPM2B_DIGEST(secret)) */
	cred.size = (UINT16)secret_len;
	memcpy(cred.buffer, secret, secret_len);
	if (Tss2_MU_TPM2B_DIGEST_Marshal(&cred, plain, sizeof(plain),
	    &plen) != TSS2_RC_SUCCESS) {
		rc = ca_error(CA_ERR_INTERNAL, "tpm: MakeCredential: digest");
		goto out;
	}
	if ((rc = tpm_kdfa(symkey, sym->keyBits.aes / 8, md, seed, n,
	    "STORAGE", ak_name->name, ak_name->size)) != CA_OK)
		goto out;
	if ((cctx = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_EncryptInit_ex(cctx, sym->keyBits.aes == 128 ?
	    EVP_aes_128_cfb128() : EVP_aes_256_cfb128(), NULL, symkey,
	    iv) != 1 ||
	    EVP_EncryptUpdate(cctx, ct, &outl, plain, (int)plen) != 1 ||
	    EVP_EncryptFinal_ex(cctx, ct + outl, &fin) != 1) {
		rc = ca_error_openssl(CA_ERR_INTERNAL, "tpm: MakeCredential: "
		    "AES-CFB");
		goto out;
	}
	outl += fin;

	/* outerHMAC = HMAC(hmacKey, encIdentity || name) */
	if ((rc = tpm_kdfa(hmackey, n, md, seed, n, "INTEGRITY", NULL, 0)) !=
	    CA_OK)
		goto out;
	mparams[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)EVP_MD_get0_name(md), 0);
	mparams[1] = OSSL_PARAM_construct_end();
	if ((mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL ||
	    (mctx = EVP_MAC_CTX_new(mac)) == NULL ||
	    EVP_MAC_init(mctx, hmackey, n, mparams) != 1 ||
	    EVP_MAC_update(mctx, ct, (size_t)outl) != 1 ||
	    EVP_MAC_update(mctx, ak_name->name, ak_name->size) != 1 ||
	    EVP_MAC_final(mctx, hmac.buffer, &mlen, sizeof(hmac.buffer)) != 1) {
		rc = ca_error_openssl(CA_ERR_INTERNAL, "tpm: MakeCredential: "
		    "HMAC");
		goto out;
	}
	hmac.size = (UINT16)mlen;

	if (Tss2_MU_TPM2B_DIGEST_Marshal(&hmac, idobj.credential,
	    sizeof(idobj.credential), &off) != TSS2_RC_SUCCESS ||
	    off + (size_t)outl > sizeof(idobj.credential)) {
		rc = ca_error(CA_ERR_INTERNAL, "tpm: MakeCredential: ID "
		    "object");
		goto out;
	}
	memcpy(idobj.credential + off, ct, (size_t)outl);
	idobj.size = (UINT16)(off + (size_t)outl);

	off = 0;
	if (Tss2_MU_TPM2B_ID_OBJECT_Marshal(&idobj, buf, sizeof(buf), &off) !=
	    TSS2_RC_SUCCESS ||
	    (rc = blob_dup(id_object, id_object_len, buf, off)) != CA_OK) {
		rc = ca_error(CA_ERR_INTERNAL, "tpm: MakeCredential: "
		    "TPM2B_ID_OBJECT");
		goto out;
	}
	off = 0;
	if (Tss2_MU_TPM2B_ENCRYPTED_SECRET_Marshal(&enc, buf, sizeof(buf),
	    &off) != TSS2_RC_SUCCESS ||
	    (rc = blob_dup(enc_secret, enc_secret_len, buf, off)) != CA_OK) {
		rc = ca_error(CA_ERR_INTERNAL, "tpm: MakeCredential: "
		    "TPM2B_ENCRYPTED_SECRET");
		goto out;
	}
	rc = CA_OK;
 out:
	if (rc != CA_OK) {
		free(*id_object);
		free(*enc_secret);
		*id_object = *enc_secret = NULL;
		*id_object_len = *enc_secret_len = 0;
	}
	OPENSSL_cleanse(seed, sizeof(seed));
	OPENSSL_cleanse(symkey, sizeof(symkey));
	OPENSSL_cleanse(hmackey, sizeof(hmackey));
	OPENSSL_cleanse(plain, sizeof(plain));
	OPENSSL_cleanse(&cred, sizeof(cred));
	EVP_MAC_CTX_free(mctx);
	EVP_MAC_free(mac);
	EVP_CIPHER_CTX_free(cctx);
	return rc;
}

int
tpm_challenge_new(struct tpm_challenge **out)
{
	struct tpm_challenge *ch;

	*out = NULL;
	if (sodium_init() < 0)
		return ca_error(CA_ERR_INTERNAL, "tpm: challenge: libsodium");
	if ((ch = sodium_malloc(sizeof(*ch))) == NULL)
		return ca_error(CA_ERR_NOMEM, "tpm: challenge: out of memory");
	randombytes_buf(ch->secret, sizeof(ch->secret));
	randombytes_buf(ch->nonce, sizeof(ch->nonce));
	ch->secret_used = 0;
	*out = ch;
	return CA_OK;
}

void
tpm_challenge_free(struct tpm_challenge *ch)
{
	if (ch == NULL)
		return;
	sodium_memzero(ch, sizeof(*ch));
	sodium_free(ch);
}

const uint8_t *
tpm_challenge_secret(const struct tpm_challenge *ch)
{
	return ch->secret;
}

const uint8_t *
tpm_challenge_nonce(const struct tpm_challenge *ch)
{
	return ch->nonce;
}

int
tpm_challenge_check_secret(struct tpm_challenge *ch, const uint8_t *got,
    size_t got_len)
{
	if (ch->secret_used)
		return ca_error(CA_ERR_DENIED, "tpm: credential: this "
		    "challenge's secret was already accepted once (replay)");
	if (got_len != sizeof(ch->secret) ||
	    sodium_memcmp(got, ch->secret, sizeof(ch->secret)) != 0)
		return ca_error(CA_ERR_DENIED, "tpm: credential: the "
		    "activated secret is not this request's (TPM2_"
		    "ActivateCredential by another TPM, or a replay)");
	ch->secret_used = 1;
	return CA_OK;
}
