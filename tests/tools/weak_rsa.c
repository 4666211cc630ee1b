/* SPDX-License-Identifier: ISC */
/*
 * weak_rsa: broken RSA keys and requests for the weak-key tests (see
 * weak_rsa.h). The arithmetic is OpenSSL's BIGNUM; the keys are assembled
 * with EVP_PKEY_fromdata, which checks none of what carapace must.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/x509v3.h>

#include "tests/tools/weak_rsa.h"

#define ROCA_PRIME_MAX	167
#define ROCA_GENERATOR	65537

int
weak_rsa_roca_prime(BIGNUM *p, int bits)
{
	BN_CTX *ctx = NULL;
	BIGNUM *m, *g, *a, *base, *k, *lo, *span;
	unsigned d, q;
	int ok = 0, i;

	if ((ctx = BN_CTX_new()) == NULL)
		return 0;
	BN_CTX_start(ctx);
	m = BN_CTX_get(ctx);
	g = BN_CTX_get(ctx);
	a = BN_CTX_get(ctx);
	base = BN_CTX_get(ctx);
	lo = BN_CTX_get(ctx);
	span = BN_CTX_get(ctx);
	if ((k = BN_CTX_get(ctx)) == NULL || !BN_one(m) ||
	    !BN_set_word(g, ROCA_GENERATOR))
		goto out;
	/* M: the product of the primes up to 167. */
	for (q = 2; q <= ROCA_PRIME_MAX; q++) {
		for (d = 2; d * d <= q && q % d != 0; d++)
			;
		if (d * d <= q)
			continue;
		if (!BN_mul_word(m, q))
			goto out;
	}
	if (!BN_rand(a, 20, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) ||
	    !BN_mod_exp(base, g, a, m, ctx))
		goto out;
	/* k in [lo, lo + span): p in [3 * 2^(bits - 2), 2^bits). */
	BN_zero(lo);
	BN_zero(span);
	if (!BN_set_bit(lo, bits - 1) ||
	    !BN_set_bit(lo, bits - 2) || !BN_div(lo, NULL, lo, m, ctx) ||
	    !BN_add_word(lo, 1) || !BN_set_bit(span, bits) ||
	    !BN_div(span, NULL, span, m, ctx) || !BN_sub(span, span, lo))
		goto out;
	for (i = 0; i < 100000; i++) {
		if (!BN_rand_range(k, span) || !BN_add(k, k, lo) ||
		    !BN_mul(p, k, m, ctx) || !BN_add(p, p, base))
			goto out;
		if (BN_num_bits(p) != bits)
			continue;
		if (BN_check_prime(p, ctx, NULL) == 1) {
			ok = 1;
			break;
		}
	}
 out:
	BN_CTX_end(ctx);
	BN_CTX_free(ctx);
	return ok;
}

int
weak_rsa_close_primes(BIGNUM *p, BIGNUM *q, int bits)
{
	BN_CTX *ctx = NULL;
	int ok = 0, i;

	if ((ctx = BN_CTX_new()) == NULL)
		return 0;
	if (!BN_generate_prime_ex(p, bits, 0, NULL, NULL, NULL) ||
	    !BN_copy(q, p))
		goto out;
	for (i = 0; i < 1000000; i++) {
		if (!BN_add_word(q, 2))
			goto out;
		if (BN_check_prime(q, ctx, NULL) == 1) {
			ok = 1;
			break;
		}
	}
 out:
	BN_CTX_free(ctx);
	return ok;
}

static EVP_PKEY *
from_params(OSSL_PARAM_BLD *bld, int selection)
{
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	EVP_PKEY *pk = NULL;

	if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (pctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(pctx) != 1 ||
	    EVP_PKEY_fromdata(pctx, &pk, selection, params) != 1)
		pk = NULL;
	OSSL_PARAM_free(params);
	EVP_PKEY_CTX_free(pctx);
	return pk;
}

EVP_PKEY *
weak_rsa_public(const BIGNUM *n, const BIGNUM *e)
{
	OSSL_PARAM_BLD *bld;
	EVP_PKEY *pk = NULL;

	if ((bld = OSSL_PARAM_BLD_new()) == NULL)
		return NULL;
	if (OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
		pk = from_params(bld, EVP_PKEY_PUBLIC_KEY);
	OSSL_PARAM_BLD_free(bld);
	return pk;
}

EVP_PKEY *
weak_rsa_private(const BIGNUM *p, const BIGNUM *q, const BIGNUM *e_in)
{
	OSSL_PARAM_BLD *bld = NULL;
	BN_CTX *ctx = NULL;
	BIGNUM *n, *e, *d, *p1, *q1, *phi, *dp, *dq, *qinv;
	EVP_PKEY *pk = NULL;

	if ((ctx = BN_CTX_new()) == NULL)
		return NULL;
	BN_CTX_start(ctx);
	n = BN_CTX_get(ctx);
	e = BN_CTX_get(ctx);
	d = BN_CTX_get(ctx);
	p1 = BN_CTX_get(ctx);
	q1 = BN_CTX_get(ctx);
	phi = BN_CTX_get(ctx);
	dp = BN_CTX_get(ctx);
	dq = BN_CTX_get(ctx);
	if ((qinv = BN_CTX_get(ctx)) == NULL)
		goto out;
	if ((e_in != NULL ? BN_copy(e, e_in) != NULL :
	    BN_set_word(e, RSA_F4)) == 0 || !BN_mul(n, p, q, ctx) ||
	    !BN_sub(p1, p, BN_value_one()) || !BN_sub(q1, q, BN_value_one()) ||
	    !BN_mul(phi, p1, q1, ctx) ||
	    BN_mod_inverse(d, e, phi, ctx) == NULL ||
	    !BN_mod(dp, d, p1, ctx) || !BN_mod(dq, d, q1, ctx) ||
	    BN_mod_inverse(qinv, q, p, ctx) == NULL ||
	    (bld = OSSL_PARAM_BLD_new()) == NULL)
		goto out;
	if (OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_D, d) &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR1, p) &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR2, q) &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT1, dp) &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT2, dq) &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_COEFFICIENT1,
	    qinv))
		pk = from_params(bld, EVP_PKEY_KEYPAIR);
 out:
	OSSL_PARAM_BLD_free(bld);
	BN_CTX_end(ctx);
	BN_CTX_free(ctx);
	return pk;
}

EVP_PKEY *
weak_rsa_e1(int bits)
{
	BN_CTX *ctx = NULL;
	BIGNUM *p = NULL, *q = NULL, *n = NULL, *e = NULL;
	EVP_PKEY *pk = NULL;

	if ((ctx = BN_CTX_new()) == NULL || (p = BN_new()) == NULL ||
	    (q = BN_new()) == NULL || (n = BN_new()) == NULL ||
	    (e = BN_new()) == NULL || !BN_one(e) ||
	    !BN_generate_prime_ex(p, bits / 2, 0, NULL, NULL, NULL) ||
	    !BN_generate_prime_ex(q, bits / 2, 0, NULL, NULL, NULL) ||
	    !BN_mul(n, p, q, ctx))
		goto out;
	pk = weak_rsa_public(n, e);
 out:
	BN_free(p);
	BN_free(q);
	BN_free(n);
	BN_free(e);
	BN_CTX_free(ctx);
	return pk;
}

int
weak_rsa_e1_sig(unsigned char *sig, size_t sig_len, const EVP_PKEY *pk,
    const unsigned char *data, size_t len)
{
	/* RFC 8017 9.2, note 1: the DigestInfo prefix for SHA-256. */
	static const unsigned char prefix[] = {
		0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
		0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20,
	};
	size_t k = (size_t)EVP_PKEY_get_size(pk), tlen = sizeof(prefix) + 32;
	unsigned int mdlen = 0;

	if (k != sig_len || k < tlen + 11)
		return 0;
	/* EM = 0x00 || 0x01 || PS (0xff...) || 0x00 || T */
	sig[0] = 0x00;
	sig[1] = 0x01;
	memset(sig + 2, 0xff, k - tlen - 3);
	sig[k - tlen - 1] = 0x00;
	memcpy(sig + k - tlen, prefix, sizeof(prefix));
	return EVP_Digest(data, len, sig + k - 32, &mdlen, EVP_sha256(),
	    NULL) == 1 && mdlen == 32;
}

int
weak_rsa_e1_sign_req(X509_REQ *req)
{
	unsigned char *tbs = NULL, sig[1024];
	ASN1_BIT_STRING *bs = NULL;
	X509_ALGOR *alg = NULL;
	EVP_PKEY *pk;
	size_t k;
	int len, ok = 0;

	if ((pk = X509_REQ_get0_pubkey(req)) == NULL ||
	    (k = (size_t)EVP_PKEY_get_size(pk)) > sizeof(sig) ||
	    (alg = X509_ALGOR_new()) == NULL ||
	    !X509_ALGOR_set0(alg, OBJ_nid2obj(NID_sha256WithRSAEncryption),
	    V_ASN1_NULL, NULL) || !X509_REQ_set1_signature_algo(req, alg) ||
	    (len = i2d_re_X509_REQ_tbs(req, &tbs)) <= 0 ||
	    !weak_rsa_e1_sig(sig, k, pk, tbs, (size_t)len) ||
	    (bs = ASN1_BIT_STRING_new()) == NULL ||
	    !ASN1_BIT_STRING_set(bs, sig, (int)k))
		goto out;
	bs->flags &= ~(ASN1_STRING_FLAG_BITS_LEFT | 0x07);
	bs->flags |= ASN1_STRING_FLAG_BITS_LEFT;
	X509_REQ_set0_signature(req, bs);
	bs = NULL;
	ok = 1;
 out:
	ASN1_BIT_STRING_free(bs);
	X509_ALGOR_free(alg);
	OPENSSL_free(tbs);
	return ok;
}

X509_REQ *
weak_rsa_req(EVP_PKEY *pk, const char *name, int forge_e1)
{
	X509_REQ *req = NULL;
	X509_NAME *subj = NULL;
	STACK_OF(X509_EXTENSION) *exts = NULL;
	X509_EXTENSION *ext = NULL;
	char san[300];
	int ok = 0;

	snprintf(san, sizeof(san), "DNS:%s", name);
	if ((req = X509_REQ_new()) == NULL || !X509_REQ_set_version(req, 0) ||
	    (subj = X509_NAME_new()) == NULL ||
	    !X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_ASC,
	    (const unsigned char *)name, -1, -1, 0) ||
	    !X509_REQ_set_subject_name(req, subj) ||
	    !X509_REQ_set_pubkey(req, pk) ||
	    (exts = sk_X509_EXTENSION_new_null()) == NULL ||
	    (ext = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name,
	    san)) == NULL || !sk_X509_EXTENSION_push(exts, ext))
		goto out;
	ext = NULL;
	if (!X509_REQ_add_extensions(req, exts))
		goto out;
	if (forge_e1 ? !weak_rsa_e1_sign_req(req) :
	    X509_REQ_sign(req, pk, EVP_sha256()) <= 0)
		goto out;
	ok = 1;
 out:
	X509_NAME_free(subj);
	X509_EXTENSION_free(ext);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	if (!ok) {
		X509_REQ_free(req);
		req = NULL;
	}
	return req;
}
