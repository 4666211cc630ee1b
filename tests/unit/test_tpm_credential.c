/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for attest/tpm_credential.c. tpm_credential_make is run
 * against software EKs (the public areas of the swtpm EKs in
 * tests/data/tpm with the key swapped for one made here), and the
 * credential is then activated in software by this file's own KDFa and
 * KDFe (plain HMAC and hash loops written from TPM 2.0 Part 1, not
 * OpenSSL's KBKDF and SSKDF that the module uses): seed, integrity HMAC,
 * AES-CFB, and the secret must come back; an AK name off by one bit must
 * fail the integrity check. The swtpm itself activates these credentials
 * in tests/integration/tpm_evidence.sh. Also: the challenge accepts its
 * secret once, refuses a wrong one without being consumed, and refuses a
 * replay.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>
#include <tss2/tss2_mu.h>

#include "attest/tpm.h"
#include "common/ca_error.h"
#include "tests/unit/tpm_fixture.h"
#include "tests/unit/unit.h"

static void
be32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

/* KDFa: HMAC(key, i || label 0 || ctx || bits) for i = 1, 2, ... */
static void
sw_kdfa(uint8_t *out, size_t len, const EVP_MD *md, const uint8_t *key,
    size_t key_len, const char *label, const uint8_t *ctx, size_t ctx_len)
{
	uint8_t msg[512], blk[EVP_MAX_MD_SIZE];
	size_t ll = strlen(label) + 1, m, done = 0;
	unsigned int bl;
	uint32_t i;

	for (i = 1; done < len; i++) {
		be32(msg, i);
		memcpy(msg + 4, label, ll);
		if (ctx_len > 0)
			memcpy(msg + 4 + ll, ctx, ctx_len);
		be32(msg + 4 + ll + ctx_len, (uint32_t)(len * 8));
		m = 8 + ll + ctx_len;
		CU_ASSERT_FATAL(HMAC(md, key, (int)key_len, msg, m, blk,
		    &bl) != NULL);
		memcpy(out + done, blk, len - done < bl ? len - done : bl);
		done += bl;
	}
}

/* KDFe: H(i || Z || label 0 || U || V) for i = 1, 2, ... */
static void
sw_kdfe(uint8_t *out, size_t len, const EVP_MD *md, const uint8_t *z,
    size_t zl, const char *label, const uint8_t *u, size_t ul,
    const uint8_t *v, size_t vl)
{
	uint8_t msg[512], blk[EVP_MAX_MD_SIZE];
	size_t ll = strlen(label) + 1, done = 0, m;
	unsigned int bl;
	uint32_t i;

	for (i = 1; done < len; i++) {
		be32(msg, i);
		m = 4;
		memcpy(msg + m, z, zl);
		m += zl;
		memcpy(msg + m, label, ll);
		m += ll;
		memcpy(msg + m, u, ul);
		m += ul;
		memcpy(msg + m, v, vl);
		m += vl;
		CU_ASSERT_FATAL(EVP_Digest(msg, m, blk, &bl, md, NULL) == 1);
		memcpy(out + done, blk, len - done < bl ? len - done : bl);
		done += bl;
	}
}

/*
 * sw_activate: ActivateCredential in software with the EK's private key.
 * Returns 0 and the secret, or -1 when the integrity check fails.
 */
static int
sw_activate(uint8_t *secret, size_t *secret_len, EVP_PKEY *ekpriv,
    const TPMT_PUBLIC *ekp, const TPM2B_NAME *name, const uint8_t *idb,
    size_t idl, const uint8_t *encb, size_t encl)
{
	const EVP_MD *md = ekp->nameAlg == TPM2_ALG_SHA384 ? EVP_sha384() :
	    EVP_sha256();
	size_t n = (size_t)EVP_MD_get_size(md), off = 0, seedl = 0;
	TPM2B_ID_OBJECT id;
	TPM2B_ENCRYPTED_SECRET enc;
	TPM2B_DIGEST hm, cred;
	uint8_t seed[512], sym[32], hk[64], mac[EVP_MAX_MD_SIZE], pt[128];
	uint8_t iv[16] = { 0 }, hmsg[256];
	unsigned int ml;
	int ptl = 0, keybits;
	EVP_PKEY_CTX *c;
	EVP_CIPHER_CTX *cc;
	const uint8_t *ct;
	size_t ctl;

	memset(&id, 0, sizeof(id));
	memset(&enc, 0, sizeof(enc));
	CU_ASSERT_FATAL(Tss2_MU_TPM2B_ID_OBJECT_Unmarshal(idb, idl, &off,
	    &id) == 0 && off == idl);
	off = 0;
	CU_ASSERT_FATAL(Tss2_MU_TPM2B_ENCRYPTED_SECRET_Unmarshal(encb, encl,
	    &off, &enc) == 0 && off == encl);
	c = EVP_PKEY_CTX_new(ekpriv, NULL);
	CU_ASSERT_FATAL(c != NULL);
	if (ekp->type == TPM2_ALG_RSA) {
		seedl = sizeof(seed);
		CU_ASSERT_FATAL(EVP_PKEY_decrypt_init(c) == 1);
		EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING);
		EVP_PKEY_CTX_set_rsa_oaep_md(c, md);
		EVP_PKEY_CTX_set_rsa_mgf1_md(c, md);
		EVP_PKEY_CTX_set0_rsa_oaep_label(c,
		    OPENSSL_memdup("IDENTITY", 9), 9);
		CU_ASSERT_FATAL(EVP_PKEY_decrypt(c, seed, &seedl, enc.secret,
		    enc.size) == 1);
		keybits = ekp->parameters.rsaDetail.symmetric.keyBits.aes;
	} else {
		TPMS_ECC_POINT q;
		uint8_t pt65[1 + 2 * 48], z[48];
		size_t zl = sizeof(z);
		EVP_PKEY *peer = NULL;
		EVP_PKEY_CTX *pc;
		OSSL_PARAM p[3];

		off = 0;
		memset(&q, 0, sizeof(q));
		CU_ASSERT_FATAL(Tss2_MU_TPMS_ECC_POINT_Unmarshal(enc.secret,
		    enc.size, &off, &q) == 0 && q.x.size == 48);
		pt65[0] = 4;
		memcpy(pt65 + 1, q.x.buffer, 48);
		memcpy(pt65 + 49, q.y.buffer, 48);
		p[0] = OSSL_PARAM_construct_utf8_string(
		    OSSL_PKEY_PARAM_GROUP_NAME, (char *)"P-384", 0);
		p[1] = OSSL_PARAM_construct_octet_string(
		    OSSL_PKEY_PARAM_PUB_KEY, pt65, sizeof(pt65));
		p[2] = OSSL_PARAM_construct_end();
		pc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
		CU_ASSERT_FATAL(pc != NULL && EVP_PKEY_fromdata_init(pc) == 1 &&
		    EVP_PKEY_fromdata(pc, &peer, EVP_PKEY_PUBLIC_KEY, p) == 1);
		CU_ASSERT_FATAL(EVP_PKEY_derive_init(c) == 1 &&
		    EVP_PKEY_derive_set_peer(c, peer) == 1 &&
		    EVP_PKEY_derive(c, z, &zl) == 1 && zl == 48);
		sw_kdfe(seed, n, md, z, zl, "IDENTITY", q.x.buffer, q.x.size,
		    ekp->unique.ecc.x.buffer, ekp->unique.ecc.x.size);
		seedl = n;
		EVP_PKEY_free(peer);
		EVP_PKEY_CTX_free(pc);
		keybits = ekp->parameters.eccDetail.symmetric.keyBits.aes;
	}
	EVP_PKEY_CTX_free(c);
	CU_ASSERT_EQUAL_FATAL(seedl, n);

	/* integrity: TPM2B_DIGEST outerHMAC || encIdentity */
	off = 0;
	CU_ASSERT_FATAL(Tss2_MU_TPM2B_DIGEST_Unmarshal(id.credential,
	    id.size, &off, &hm) == 0 && hm.size == n);
	ct = id.credential + off;
	ctl = id.size - off;
	sw_kdfa(hk, n, md, seed, n, "INTEGRITY", NULL, 0);
	memcpy(hmsg, ct, ctl);
	memcpy(hmsg + ctl, name->name, name->size);
	CU_ASSERT_FATAL(HMAC(md, hk, (int)n, hmsg, ctl + name->size, mac,
	    &ml) != NULL);
	if (ml != hm.size || memcmp(mac, hm.buffer, ml) != 0)
		return -1;
	sw_kdfa(sym, (size_t)keybits / 8, md, seed, n, "STORAGE", name->name,
	    name->size);
	cc = EVP_CIPHER_CTX_new();
	CU_ASSERT_FATAL(cc != NULL && EVP_DecryptInit_ex(cc, keybits == 128 ?
	    EVP_aes_128_cfb128() : EVP_aes_256_cfb128(), NULL, sym, iv) == 1 &&
	    EVP_DecryptUpdate(cc, pt, &ptl, ct, (int)ctl) == 1);
	EVP_CIPHER_CTX_free(cc);
	off = 0;
	CU_ASSERT_FATAL(Tss2_MU_TPM2B_DIGEST_Unmarshal(pt, (size_t)ptl, &off,
	    &cred) == 0 && off == (size_t)ptl);
	memcpy(secret, cred.buffer, cred.size);
	*secret_len = cred.size;
	return 0;
}

/*
 * soft_ek: the swtpm EK public area in file with its key replaced by a
 * fresh software key (*priv), as a struct tpm_ek.
 */
static struct tpm_ek *
soft_ek(const char *file, EVP_PKEY **priv)
{
	struct tpm_blob b = tpm_fixture_read(file);
	struct tpm_ek *ek = calloc(1, sizeof(*ek));
	TPMT_PUBLIC *p;
	size_t off = 0;

	CU_ASSERT_FATAL(ek != NULL);
	CU_ASSERT_FATAL(tpm_public_parse(&ek->pub, file, b.buf, b.len) ==
	    CA_OK);
	p = &ek->pub.publicArea;
	if (p->type == TPM2_ALG_RSA) {
		BIGNUM *n = NULL;

		*priv = EVP_RSA_gen(2048);
		CU_ASSERT_FATAL(*priv != NULL && EVP_PKEY_get_bn_param(*priv,
		    OSSL_PKEY_PARAM_RSA_N, &n) == 1);
		CU_ASSERT_FATAL(BN_bn2binpad(n, p->unique.rsa.buffer, 256) ==
		    256);
		p->unique.rsa.size = 256;
		BN_free(n);
	} else {
		uint8_t pt[1 + 96];

		*priv = EVP_EC_gen("P-384");
		CU_ASSERT_FATAL(*priv != NULL &&
		    EVP_PKEY_get_octet_string_param(*priv,
		    OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt), &off) == 1 &&
		    off == sizeof(pt));
		memcpy(p->unique.ecc.x.buffer, pt + 1, 48);
		memcpy(p->unique.ecc.y.buffer, pt + 49, 48);
		p->unique.ecc.x.size = p->unique.ecc.y.size = 48;
	}
	CU_ASSERT_FATAL(tpm_public_pkey(&ek->pkey, file, &ek->pub) == CA_OK);
	free(b.buf);
	return ek;
}

static void
roundtrip(const char *file)
{
	EVP_PKEY *priv = NULL;
	struct tpm_ek *ek = soft_ek(file, &priv);
	struct tpm_blob akb = tpm_fixture_read("ak.pub");
	struct tpm_ak *ak = NULL;
	uint8_t sec[32], got[64], *id = NULL, *enc = NULL;
	size_t idl = 0, encl = 0, gotl = 0;
	TPM2B_NAME bad;

	memset(sec, 0x5a, sizeof(sec));
	sec[0] = 1;
	CU_ASSERT_EQUAL_FATAL(tpm_ak_check(&ak, akb.buf, akb.len), CA_OK);
	CU_ASSERT_EQUAL_FATAL(tpm_credential_make(&id, &idl, &enc, &encl, ek,
	    &ak->name, sec, sizeof(sec)), CA_OK);
	CU_ASSERT_EQUAL(sw_activate(got, &gotl, priv, &ek->pub.publicArea,
	    &ak->name, id, idl, enc, encl), 0);
	CU_ASSERT(gotl == sizeof(sec) && memcmp(got, sec, gotl) == 0);
	/* Bound to the AK's name: another name fails the integrity HMAC. */
	bad = ak->name;
	bad.name[bad.size - 1] ^= 1;
	CU_ASSERT_EQUAL(sw_activate(got, &gotl, priv, &ek->pub.publicArea,
	    &bad, id, idl, enc, encl), -1);
	free(id);
	free(enc);
	free(akb.buf);
	tpm_ak_free(ak);
	tpm_ek_free(ek);
	EVP_PKEY_free(priv);
}

static void
test_rsa(void)
{
	roundtrip("ek.pub");
}

static void
test_ecc(void)
{
	roundtrip("ek-ecc.pub");
}

static void
test_usage(void)
{
	EVP_PKEY *priv = NULL;
	struct tpm_ek *ek = soft_ek("ek.pub", &priv);
	TPM2B_NAME name;
	uint8_t sec[64] = { 0 }, *id = NULL, *enc = NULL;
	size_t idl = 0, encl = 0;

	memset(&name, 0, sizeof(name));
	name.size = 34;
	CU_ASSERT_EQUAL(tpm_credential_make(&id, &idl, &enc, &encl, ek,
	    &name, sec, 0), CA_ERR_USAGE);
	/* The secret is a TPM2B_DIGEST of at most the EK's nameAlg size. */
	CU_ASSERT_EQUAL(tpm_credential_make(&id, &idl, &enc, &encl, ek,
	    &name, sec, 33), CA_ERR_USAGE);
	name.size = 3;
	CU_ASSERT_EQUAL(tpm_credential_make(&id, &idl, &enc, &encl, ek,
	    &name, sec, 32), CA_ERR_USAGE);
	CU_ASSERT(id == NULL && enc == NULL);
	tpm_ek_free(ek);
	EVP_PKEY_free(priv);
}

static void
test_challenge(void)
{
	struct tpm_challenge *a = NULL, *b = NULL;

	CU_ASSERT_EQUAL_FATAL(tpm_challenge_new(&a), CA_OK);
	CU_ASSERT_EQUAL_FATAL(tpm_challenge_new(&b), CA_OK);
	CU_ASSERT(memcmp(tpm_challenge_secret(a), tpm_challenge_secret(b),
	    TPM_SECRET_LEN) != 0);
	CU_ASSERT(memcmp(tpm_challenge_nonce(a), tpm_challenge_nonce(b),
	    TPM_NONCE_LEN) != 0);
	/* Another request's secret: refused, and a is not consumed. */
	CU_ASSERT_EQUAL(tpm_challenge_check_secret(a, tpm_challenge_secret(b),
	    TPM_SECRET_LEN), CA_ERR_DENIED);
	CU_ASSERT(strstr(ca_error_detail(), "is not this request's") != NULL);
	CU_ASSERT_EQUAL(tpm_challenge_check_secret(a, tpm_challenge_secret(a),
	    TPM_SECRET_LEN - 1), CA_ERR_DENIED);
	CU_ASSERT_EQUAL(tpm_challenge_check_secret(a, tpm_challenge_secret(a),
	    TPM_SECRET_LEN), CA_OK);
	/* The same secret again: a replay. */
	CU_ASSERT_EQUAL(tpm_challenge_check_secret(a, tpm_challenge_secret(a),
	    TPM_SECRET_LEN), CA_ERR_DENIED);
	CU_ASSERT(strstr(ca_error_detail(), "replay") != NULL);
	tpm_challenge_free(a);
	tpm_challenge_free(b);
	tpm_challenge_free(NULL);
}

static CU_TestInfo tests[] = {
	{ "RSA EK: MakeCredential, software activation", test_rsa },
	{ "ECC EK: MakeCredential, software activation", test_ecc },
	{ "bad secret and AK name sizes", test_usage },
	{ "challenge: once, not consumed by a wrong secret", test_challenge },
	CU_TEST_INFO_NULL,
};

UNIT_MAIN("tpm_credential", tests)
