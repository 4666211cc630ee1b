/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for attest/tpm_ek.c and attest/tpm_public.c, on EK
 * certificates and public areas a real swtpm made (tests/data/tpm).
 * Checked: the RSA and the (P-384) ECC EK verify to the swtpm local CA and
 * yield their selectors, with the EK hash computed here from the
 * certificate's key; an EK certificate from an untrusted CA; a
 * certificate of another key than the EK public area; the hash allowlist
 * with and without a certificate; an EK public area that may sign;
 * trailing and missing bytes.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "attest/tpm.h"
#include "common/ca_error.h"
#include "tests/unit/tpm_fixture.h"
#include "tests/unit/unit.h"

static struct tpm_blob ek_crt, ek_pub, ecc_crt, ecc_pub;
static X509_STORE *cas;

static int
setup(void)
{
	ek_crt = tpm_fixture_read("ek.crt");
	ek_pub = tpm_fixture_read("ek.pub");
	ecc_crt = tpm_fixture_read("ek-ecc.crt");
	ecc_pub = tpm_fixture_read("ek-ecc.pub");
	cas = tpm_fixture_store("ekca.pem");
	return 0;
}

static int
teardown(void)
{
	free(ek_crt.buf);
	free(ek_pub.buf);
	free(ecc_crt.buf);
	free(ecc_pub.buf);
	X509_STORE_free(cas);
	return 0;
}

/* The SHA-256 of the certificate's SubjectPublicKeyInfo, computed here. */
static void
cert_key_hash(uint8_t out[32], struct tpm_blob crt)
{
	const uint8_t *p = crt.buf;
	X509 *x = d2i_X509(NULL, &p, (long)crt.len);
	uint8_t *spki = NULL;
	int n;
	unsigned int hl;

	CU_ASSERT_FATAL(x != NULL);
	n = i2d_PUBKEY(X509_get0_pubkey(x), &spki);
	CU_ASSERT_FATAL(n > 0);
	CU_ASSERT_FATAL(EVP_Digest(spki, (size_t)n, out, &hl, EVP_sha256(),
	    NULL) == 1);
	OPENSSL_free(spki);
	X509_free(x);
}

static void
test_good(void)
{
	struct tpm_ek_trust trust = { cas, NULL, 0 };
	struct tpm_ek *ek = NULL;
	uint8_t h[32];
	char **sel = NULL, *hex;
	size_t n = 0;

	CU_ASSERT_EQUAL_FATAL(tpm_ek_verify(&ek, &trust, ek_crt.buf,
	    ek_crt.len, ek_pub.buf, ek_pub.len, time(NULL)), CA_OK);
	cert_key_hash(h, ek_crt);
	CU_ASSERT(memcmp(ek->sha256, h, 32) == 0);
	CU_ASSERT_STRING_EQUAL(ek->issuer, "CN=swtpm-localca");
	CU_ASSERT_EQUAL(tpm_selectors(&sel, &n, ek, NULL), CA_OK);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	hex = tpm_hex(h, 32);
	CU_ASSERT(strncmp(sel[0], "tpm:ek-sha256:", 14) == 0 &&
	    strcmp(sel[0] + 14, hex) == 0);
	CU_ASSERT_STRING_EQUAL(sel[1], "tpm:ek-issuer:CN=swtpm-localca");
	free(hex);
	tpm_selectors_free(sel, n);
	tpm_ek_free(ek);

	ek = NULL;
	CU_ASSERT_EQUAL_FATAL(tpm_ek_verify(&ek, &trust, ecc_crt.buf,
	    ecc_crt.len, ecc_pub.buf, ecc_pub.len, time(NULL)), CA_OK);
	cert_key_hash(h, ecc_crt);
	CU_ASSERT(memcmp(ek->sha256, h, 32) == 0);
	CU_ASSERT_EQUAL(ek->pub.publicArea.type, TPM2_ALG_ECC);
	tpm_ek_free(ek);
}

/* An EK certificate from a CA nobody configured. */
static void
test_untrusted_ca(void)
{
	X509_STORE *other = X509_STORE_new();
	X509 *ca = X509_new();
	EVP_PKEY *k = EVP_EC_gen("P-256");
	struct tpm_ek_trust trust = { other, NULL, 0 };
	struct tpm_ek *ek = NULL;

	CU_ASSERT_FATAL(other != NULL && ca != NULL && k != NULL);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(ca), "CN",
	    MBSTRING_ASC, (const unsigned char *)"other EK CA", -1, -1, 0);
	X509_set_issuer_name(ca, X509_get_subject_name(ca));
	X509_gmtime_adj(X509_getm_notBefore(ca), -3600);
	X509_gmtime_adj(X509_getm_notAfter(ca), 3600);
	X509_set_pubkey(ca, k);
	CU_ASSERT_FATAL(X509_sign(ca, k, EVP_sha256()) > 0);
	CU_ASSERT_FATAL(X509_STORE_add_cert(other, ca) == 1);
	CU_ASSERT_EQUAL(tpm_ek_verify(&ek, &trust, ek_crt.buf, ek_crt.len,
	    ek_pub.buf, ek_pub.len, time(NULL)), CA_ERR_VERIFY);
	CU_ASSERT_PTR_NULL(ek);
	CU_ASSERT(strstr(ca_error_detail(), "does not chain to a "
	    "manufacturer CA") != NULL);
	/* No CA at all is the same refusal. */
	trust.cas = NULL;
	CU_ASSERT_EQUAL(tpm_ek_verify(&ek, &trust, ek_crt.buf, ek_crt.len,
	    ek_pub.buf, ek_pub.len, time(NULL)), CA_ERR_VERIFY);
	X509_free(ca);
	EVP_PKEY_free(k);
	X509_STORE_free(other);
}

/* The RSA EK's certificate sent with the ECC EK's public area. */
static void
test_cert_mismatch(void)
{
	struct tpm_ek_trust trust = { cas, NULL, 0 };
	struct tpm_ek *ek = NULL;

	CU_ASSERT_EQUAL(tpm_ek_verify(&ek, &trust, ek_crt.buf, ek_crt.len,
	    ecc_pub.buf, ecc_pub.len, time(NULL)), CA_ERR_DENIED);
	CU_ASSERT_PTR_NULL(ek);
	CU_ASSERT(strstr(ca_error_detail(), "is not the EK public key") !=
	    NULL);
}

static void
test_allowlist(void)
{
	uint8_t h[1][32];
	struct tpm_ek_trust trust = { NULL, (const uint8_t (*)[32])h, 1 };
	struct tpm_ek *ek = NULL;
	char **sel = NULL;
	size_t n = 0;

	cert_key_hash(h[0], ek_crt);
	/* No certificate, hash listed: admitted, no issuer selector. */
	CU_ASSERT_EQUAL_FATAL(tpm_ek_verify(&ek, &trust, NULL, 0, ek_pub.buf,
	    ek_pub.len, time(NULL)), CA_OK);
	CU_ASSERT_PTR_NULL(ek->issuer);
	CU_ASSERT_EQUAL(tpm_selectors(&sel, &n, ek, NULL), CA_OK);
	CU_ASSERT_EQUAL(n, 1);
	tpm_selectors_free(sel, n);
	tpm_ek_free(ek);
	ek = NULL;
	/* A certificate that does not chain, hash listed: admitted. */
	CU_ASSERT_EQUAL_FATAL(tpm_ek_verify(&ek, &trust, ek_crt.buf,
	    ek_crt.len, ek_pub.buf, ek_pub.len, time(NULL)), CA_OK);
	CU_ASSERT_PTR_NULL(ek->issuer);
	tpm_ek_free(ek);
	ek = NULL;
	/* Another EK, not listed, no certificate: refused. */
	CU_ASSERT_EQUAL(tpm_ek_verify(&ek, &trust, NULL, 0, ecc_pub.buf,
	    ecc_pub.len, time(NULL)), CA_ERR_DENIED);
	CU_ASSERT(strstr(ca_error_detail(), "not on the EK allowlist") !=
	    NULL);
	/* A listed hash does not excuse a certificate of another key. */
	CU_ASSERT_EQUAL(tpm_ek_verify(&ek, &trust, ecc_crt.buf, ecc_crt.len,
	    ek_pub.buf, ek_pub.len, time(NULL)), CA_ERR_DENIED);
	CU_ASSERT_PTR_NULL(ek);
}

/* An EK public area that can sign is not an EK template. */
static void
test_ek_attributes(void)
{
	struct tpm_ek_trust trust = { cas, NULL, 0 };
	struct tpm_ek *ek = NULL;
	struct tpm_blob b;

	b = tpm_fixture_public_edit(ek_pub, TPMA_OBJECT_SIGN_ENCRYPT, 0);
	CU_ASSERT_EQUAL(tpm_ek_verify(&ek, &trust, ek_crt.buf, ek_crt.len,
	    b.buf, b.len, time(NULL)), CA_ERR_DENIED);
	CU_ASSERT(strstr(ca_error_detail(), "must not have sign") != NULL);
	free(b.buf);
	b = tpm_fixture_public_edit(ek_pub, 0, TPMA_OBJECT_RESTRICTED);
	CU_ASSERT_EQUAL(tpm_ek_verify(&ek, &trust, ek_crt.buf, ek_crt.len,
	    b.buf, b.len, time(NULL)), CA_ERR_DENIED);
	CU_ASSERT(strstr(ca_error_detail(), "missing restricted") != NULL);
	free(b.buf);
	CU_ASSERT_PTR_NULL(ek);
}

static void
test_malformed(void)
{
	struct tpm_ek_trust trust = { cas, NULL, 0 };
	struct tpm_ek *ek = NULL;
	struct tpm_blob b;

	b = tpm_fixture_append(ek_pub, 1);
	CU_ASSERT_EQUAL(tpm_ek_verify(&ek, &trust, ek_crt.buf, ek_crt.len,
	    b.buf, b.len, time(NULL)), CA_ERR_INVALID);
	CU_ASSERT(strstr(ca_error_detail(), "1 trailing bytes") != NULL);
	free(b.buf);
	b = tpm_fixture_append(ek_crt, 2);
	CU_ASSERT_EQUAL(tpm_ek_verify(&ek, &trust, b.buf, b.len, ek_pub.buf,
	    ek_pub.len, time(NULL)), CA_ERR_INVALID);
	CU_ASSERT(strstr(ca_error_detail(), "2 trailing bytes") != NULL);
	free(b.buf);
	CU_ASSERT_EQUAL(tpm_ek_verify(&ek, &trust, ek_crt.buf, ek_crt.len,
	    ek_pub.buf, ek_pub.len - 1, time(NULL)), CA_ERR_INVALID);
	CU_ASSERT_EQUAL(tpm_ek_verify(&ek, &trust, ek_crt.buf, ek_crt.len - 1,
	    ek_pub.buf, ek_pub.len, time(NULL)), CA_ERR_INVALID);
	CU_ASSERT_EQUAL(tpm_ek_verify(&ek, &trust, ek_crt.buf, ek_crt.len,
	    NULL, 0, time(NULL)), CA_ERR_INVALID);
	CU_ASSERT_PTR_NULL(ek);
}

static CU_TestInfo tests[] = {
	{ "RSA and ECC EKs verify, selectors", test_good },
	{ "EK certificate from an untrusted CA", test_untrusted_ca },
	{ "EK certificate of another key", test_cert_mismatch },
	{ "EK hash allowlist", test_allowlist },
	{ "EK public area attributes", test_ek_attributes },
	{ "trailing and missing bytes", test_malformed },
	CU_TEST_INFO_NULL,
};

UNIT_MAIN_FIXTURE("tpm_ek", setup, teardown, tests)
