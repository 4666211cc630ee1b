/* SPDX-License-Identifier: ISC */
/*
 * test_weak_key: common/weak_key.c. Sound keys (RSA 2048 and 3072 with
 * e = 3 and 65537, EC P-256 and P-384, Ed25519) pass; each broken key is
 * refused by its code and a word of its message: exponents 1, 2, even and
 * over 2^256, an even modulus, moduli of the wrong size or not a multiple
 * of 8 bits, a small factor, ROCA-shaped and Fermat-factorable moduli, a
 * blocklisted modulus (the list in Debian's openssl-blacklist format), EC
 * keys with explicit curve parameters and off the curve. The forged e = 1
 * request is shown to pass OpenSSL's own X509_REQ_verify, which is why the
 * check must come first.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/sha.h>

#include "common/ca_error.h"
#include "common/weak_key.h"
#include "tests/tools/weak_rsa.h"
#include "tests/unit/unit.h"

static EVP_PKEY *rsa2048, *rsa3072_e3;
static char tmpdir[] = "/tmp/test_weak_key.XXXXXX";

/* refused: weak_key_check refuses pk with CA_ERR_POLICY and word. */
static void
refused(const EVP_PKEY *pk, const struct weak_key_list *wl, const char *word)
{
	int rc;

	CU_ASSERT_PTR_NOT_NULL_FATAL(pk);
	rc = weak_key_check(pk, wl, "test key");
	CU_ASSERT_EQUAL(rc, CA_ERR_POLICY);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), word));
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "test key"));
	if (rc != CA_ERR_POLICY || strstr(ca_error_detail(), word) == NULL)
		fprintf(stderr, "\n  rc %d, \"%s\" (wanted \"%s\")\n", rc,
		    ca_error_detail(), word);
}

static BIGNUM *
bn_get(const EVP_PKEY *pk, const char *param)
{
	BIGNUM *b = NULL;

	CU_ASSERT_EQUAL(EVP_PKEY_get_bn_param(pk, param, &b), 1);
	return b;
}

/* with_e makes rsa2048's modulus with exponent e (a decimal string). */
static EVP_PKEY *
with_e(const char *e_dec)
{
	BIGNUM *n = bn_get(rsa2048, OSSL_PKEY_PARAM_RSA_N), *e = NULL;
	EVP_PKEY *pk = NULL;

	if (BN_dec2bn(&e, e_dec) > 0)
		pk = weak_rsa_public(n, e);
	BN_free(n);
	BN_free(e);
	return pk;
}

static void
test_sound_keys(void)
{
	const char *kinds[] = { "P-256", "P-384" };
	EVP_PKEY *pk;
	size_t i;

	CU_ASSERT_EQUAL(weak_key_check(rsa2048, NULL, "k"), CA_OK);
	CU_ASSERT_EQUAL(weak_key_check(rsa3072_e3, NULL, "k"), CA_OK);
	for (i = 0; i < 2; i++) {
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", kinds[i]);
		CU_ASSERT_EQUAL(weak_key_check(pk, NULL, "k"), CA_OK);
		EVP_PKEY_free(pk);
	}
	pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	CU_ASSERT_EQUAL(weak_key_check(pk, NULL, "k"), CA_OK);
	EVP_PKEY_free(pk);
	pk = with_e("65539");
	CU_ASSERT_EQUAL(weak_key_check(pk, NULL, "k"), CA_OK);
	EVP_PKEY_free(pk);
}

static void
test_exponents(void)
{
	const char *bad[] = { "1", "2", "0", "65536",
	    /* 2^256 + 1: odd, but over the BR's bound */
	    "115792089237316195423570985008687907853269984665640564039457584"
	    "007913129639937" };
	const char *word[] = { "exponent 1 is refused", "exponent 2",
	    "exponent 0", "exponent 65536", "257 bits" };
	EVP_PKEY *pk;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		pk = with_e(bad[i]);
		refused(pk, NULL, word[i]);
		EVP_PKEY_free(pk);
	}
	/* The message says why e = 1 matters. */
	pk = with_e("1");
	refused(pk, NULL, "proves no private key");
	EVP_PKEY_free(pk);
}

static void
test_moduli(void)
{
	BIGNUM *n = bn_get(rsa2048, OSSL_PKEY_PARAM_RSA_N), *m = BN_new(),
	    *e = BN_new(), *p = BN_new();
	EVP_PKEY *pk;

	CU_ASSERT_FATAL(n != NULL && m != NULL && e != NULL && p != NULL);
	CU_ASSERT_FATAL(BN_set_word(e, 65537));
	/* even */
	CU_ASSERT_FATAL(BN_copy(m, n) && BN_clear_bit(m, 0));
	pk = weak_rsa_public(m, e);
	refused(pk, NULL, "even");
	EVP_PKEY_free(pk);
	/* 2047 bits, 1024 bits, 2049 bits */
	CU_ASSERT_FATAL(BN_rshift1(m, n) && BN_set_bit(m, 0));
	pk = weak_rsa_public(m, e);
	refused(pk, NULL, "RSA 2047: RSA keys under 2048");
	EVP_PKEY_free(pk);
	CU_ASSERT_FATAL(BN_rshift(m, n, 1024) && BN_set_bit(m, 0));
	pk = weak_rsa_public(m, e);
	refused(pk, NULL, "RSA 1024: RSA keys under 2048");
	EVP_PKEY_free(pk);
	CU_ASSERT_FATAL(BN_lshift1(m, n) && BN_set_bit(m, 0));
	pk = weak_rsa_public(m, e);
	refused(pk, NULL, "multiple of 8");
	EVP_PKEY_free(pk);
	/* a small factor: 997 times a prime, 2048 bits in all */
	CU_ASSERT_FATAL(BN_generate_prime_ex(p, 2038, 0, NULL, NULL, NULL));
	CU_ASSERT_FATAL(BN_mul_word(p, 997));
	CU_ASSERT_EQUAL(BN_num_bits(p), 2048);
	pk = weak_rsa_public(p, e);
	refused(pk, NULL, "divisible by 997");
	EVP_PKEY_free(pk);
	BN_free(n);
	BN_free(m);
	BN_free(e);
	BN_free(p);
}

static void
test_roca(void)
{
	BIGNUM *p = BN_new(), *q = BN_new();
	EVP_PKEY *pk;

	CU_ASSERT_FATAL(p != NULL && q != NULL);
	CU_ASSERT_FATAL(weak_rsa_roca_prime(p, 1024));
	CU_ASSERT_FATAL(weak_rsa_roca_prime(q, 1024));
	pk = weak_rsa_private(p, q, NULL);
	CU_ASSERT_EQUAL(EVP_PKEY_get_bits(pk), 2048);
	refused(pk, NULL, "ROCA");
	EVP_PKEY_free(pk);
	/* One RSALib prime is not enough to be recognised, nor needed. */
	CU_ASSERT_FATAL(BN_generate_prime_ex(q, 1024, 0, NULL, NULL, NULL));
	pk = weak_rsa_private(p, q, NULL);
	CU_ASSERT_EQUAL(weak_key_check(pk, NULL, "k"), CA_OK);
	EVP_PKEY_free(pk);
	BN_free(p);
	BN_free(q);
}

static void
test_fermat(void)
{
	BIGNUM *p = BN_new(), *q = BN_new();
	EVP_PKEY *pk;

	CU_ASSERT_FATAL(p != NULL && q != NULL);
	CU_ASSERT_FATAL(weak_rsa_close_primes(p, q, 1024));
	pk = weak_rsa_private(p, q, NULL);
	refused(pk, NULL, "Fermat");
	EVP_PKEY_free(pk);
	BN_free(p);
	BN_free(q);
}

/* blocklist_line writes pk's openssl-blacklist entry to f. */
static void
blocklist_line(FILE *f, const EVP_PKEY *pk)
{
	unsigned char md[SHA_DIGEST_LENGTH];
	BIGNUM *n = bn_get(pk, OSSL_PKEY_PARAM_RSA_N);
	char *hex = BN_bn2hex(n), line[1200];
	int i;

	snprintf(line, sizeof(line), "Modulus=%s\n", hex);
	SHA1((unsigned char *)line, strlen(line), md);
	for (i = 10; i < SHA_DIGEST_LENGTH; i++)
		fprintf(f, "%02x", md[i]);
	fputc('\n', f);
	OPENSSL_free(hex);
	BN_free(n);
}

static void
test_blocklist(void)
{
	struct weak_key_list *wl = NULL;
	char path[200], bad[200];
	const char *paths[2];
	FILE *f;

	snprintf(path, sizeof(path), "%s/blacklist.RSA-2048", tmpdir);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f = fopen(path, "w"));
	fputs("# comment, as in the Debian files\n\n", f);
	fputs("00000000000000000000\n", f);
	blocklist_line(f, rsa2048);
	fputs("ffffffffffffffffffff\r\n", f);
	fclose(f);
	paths[0] = path;
	CU_ASSERT_EQUAL_FATAL(weak_key_list_load(&wl, paths, 1), CA_OK);
	CU_ASSERT_EQUAL(weak_key_list_count(wl), 3);
	refused(rsa2048, wl, "blocklist");
	CU_ASSERT_EQUAL(weak_key_check(rsa3072_e3, wl, "k"), CA_OK);
	/* Without the list the same key passes. */
	CU_ASSERT_EQUAL(weak_key_check(rsa2048, NULL, "k"), CA_OK);
	weak_key_list_free(wl);
	wl = NULL;

	/* A line that is not an entry is refused, naming file and line. */
	snprintf(bad, sizeof(bad), "%s/bad", tmpdir);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f = fopen(bad, "w"));
	fputs("# ok\n0123456789abcdef0123\n0123456789abcdef012x\n", f);
	fclose(f);
	paths[1] = bad;
	CU_ASSERT_EQUAL(weak_key_list_load(&wl, paths, 2), CA_ERR_CONFIG);
	CU_ASSERT_PTR_NULL(wl);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "bad:3"));
	CU_ASSERT_PTR_NOT_NULL_FATAL(f = fopen(bad, "w"));
	fputs("0123456789abcdef01234567\n", f);
	fclose(f);
	CU_ASSERT_EQUAL(weak_key_list_load(&wl, paths + 1, 1), CA_ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "bad:1"));
	paths[0] = "/nonexistent/blacklist";
	CU_ASSERT_NOT_EQUAL(weak_key_list_load(&wl, paths, 1), CA_OK);
	CU_ASSERT_PTR_NULL(wl);
	unlink(path);
	unlink(bad);
}

static void
test_ec(void)
{
	EVP_PKEY_CTX *ctx;
	EVP_PKEY *pk = NULL, *off = NULL;
	OSSL_PARAM params[3];
	unsigned char pt[65];
	size_t len = 0;

	/* explicit parameters for P-256 */
	CU_ASSERT_PTR_NOT_NULL_FATAL(ctx = EVP_PKEY_CTX_new_from_name(NULL,
	    "EC", NULL));
	params[0] = OSSL_PARAM_construct_utf8_string(
	    OSSL_PKEY_PARAM_GROUP_NAME, (char *)"P-256", 0);
	params[1] = OSSL_PARAM_construct_utf8_string(
	    OSSL_PKEY_PARAM_EC_ENCODING, (char *)"explicit", 0);
	params[2] = OSSL_PARAM_construct_end();
	CU_ASSERT_EQUAL(EVP_PKEY_keygen_init(ctx), 1);
	CU_ASSERT_EQUAL(EVP_PKEY_CTX_set_params(ctx, params), 1);
	CU_ASSERT_EQUAL(EVP_PKEY_generate(ctx, &pk), 1);
	EVP_PKEY_CTX_free(ctx);
	refused(pk, NULL, "explicit curve parameters");

	/* a point off the curve: the key's point with y + 1 */
	CU_ASSERT_EQUAL_FATAL(EVP_PKEY_get_octet_string_param(pk,
	    OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt), &len), 1);
	CU_ASSERT_EQUAL_FATAL(len, 65);
	pt[64] ^= 1;
	CU_ASSERT_PTR_NOT_NULL_FATAL(ctx = EVP_PKEY_CTX_new_from_name(NULL,
	    "EC", NULL));
	params[0] = OSSL_PARAM_construct_utf8_string(
	    OSSL_PKEY_PARAM_GROUP_NAME, (char *)"P-256", 0);
	params[1] = OSSL_PARAM_construct_octet_string(
	    OSSL_PKEY_PARAM_PUB_KEY, pt, len);
	params[2] = OSSL_PARAM_construct_end();
	CU_ASSERT_EQUAL(EVP_PKEY_fromdata_init(ctx), 1);
	if (EVP_PKEY_fromdata(ctx, &off, EVP_PKEY_PUBLIC_KEY, params) == 1)
		refused(off, NULL, "not a point on its curve");
	/* (else OpenSSL refused the point itself, which is fine too) */
	ERR_clear_error();
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(off);
	EVP_PKEY_free(pk);
}

/*
 * Keys that "verify" signatures nobody made (review of issue 17): the
 * Ed25519 identity point, and any key on a curve with a cofactor.
 */
static void
test_small_order(void)
{
	unsigned char ident[32] = { 1 };	/* 01 00 ... 00: the identity */
	EVP_PKEY *pk;

	pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, ident,
	    sizeof(ident));
	refused(pk, NULL, "small-order or non-canonical");
	EVP_PKEY_free(pk);
	pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "sect163k1");
	refused(pk, NULL, "curve sect163k1 is refused");
	EVP_PKEY_free(pk);
	pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp256k1");
	refused(pk, NULL, "curve secp256k1 is refused");
	EVP_PKEY_free(pk);
	pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
	CU_ASSERT_EQUAL(weak_key_check(pk, NULL, "k"), CA_OK);
	EVP_PKEY_free(pk);
	pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED448");
	refused(pk, NULL, "key type ED448 is refused");
	EVP_PKEY_free(pk);
}

static void
test_other_types(void)
{
	EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");

	refused(pk, NULL, "key type X25519 is refused");
	EVP_PKEY_free(pk);
	CU_ASSERT_EQUAL(weak_key_check(NULL, NULL, "k"), CA_ERR_POLICY);
}

/* The forgery the check exists for: OpenSSL accepts it. */
static void
test_e1_forgery_verifies(void)
{
	EVP_PKEY *pk = weak_rsa_e1(2048);
	X509_REQ *req;

	CU_ASSERT_PTR_NOT_NULL_FATAL(pk);
	CU_ASSERT_PTR_NOT_NULL_FATAL(req = weak_rsa_req(pk, "a.test", 1));
	CU_ASSERT_EQUAL(X509_REQ_verify(req, pk), 1);
	refused(pk, NULL, "exponent 1");
	X509_REQ_free(req);
	EVP_PKEY_free(pk);
}

static int
setup(void)
{
	BIGNUM *e = BN_new();
	EVP_PKEY_CTX *ctx;

	if (mkdtemp(tmpdir) == NULL || e == NULL || !BN_set_word(e, 3))
		return 1;
	rsa2048 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) == NULL ||
	    EVP_PKEY_keygen_init(ctx) != 1 ||
	    EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, 3072) != 1 ||
	    EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx, e) != 1 ||
	    EVP_PKEY_generate(ctx, &rsa3072_e3) != 1)
		rsa3072_e3 = NULL;
	EVP_PKEY_CTX_free(ctx);
	BN_free(e);
	return rsa2048 == NULL || rsa3072_e3 == NULL;
}

static int
teardown(void)
{
	EVP_PKEY_free(rsa2048);
	EVP_PKEY_free(rsa3072_e3);
	rmdir(tmpdir);
	return 0;
}

static CU_TestInfo tests[] = {
	{ "sound keys pass", test_sound_keys },
	{ "RSA exponents", test_exponents },
	{ "RSA moduli", test_moduli },
	{ "ROCA", test_roca },
	{ "Fermat", test_fermat },
	{ "blocklist", test_blocklist },
	{ "EC", test_ec },
	{ "small-order Ed25519, curves with a cofactor", test_small_order },
	{ "other key types", test_other_types },
	{ "e = 1 forgery verifies in OpenSSL", test_e1_forgery_verifies },
	CU_TEST_INFO_NULL,
};

UNIT_MAIN_FIXTURE("weak_key", setup, teardown, tests)
