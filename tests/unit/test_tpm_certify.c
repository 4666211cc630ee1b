/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for attest/tpm_certify.c on evidence a real swtpm made
 * (tests/data/tpm): an AK, a TLS key it certified over a nonce, and a
 * duplicable key (fixedTPM and fixedParent clear) it certified too. The
 * CSR's key is the certified key as OpenSSL's tpm2 provider exported it.
 * Checked: the AK's name against a hash computed here; an AK that is not
 * restricted, not fixedTPM, or may decrypt; good certify evidence; a
 * stale or replayed nonce; tampered attest bytes and magic; another
 * object's public area; a duplicable key; a software key in the CSR;
 * trailing bytes.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "attest/tpm.h"
#include "common/ca_error.h"
#include "tests/unit/tpm_fixture.h"
#include "tests/unit/unit.h"

static struct tpm_blob ak_pub, key_pub, attest, sig, nonce;
static struct tpm_blob dup_pub, dup_attest, dup_sig, dup_nonce;
static EVP_PKEY *csr_key;
static struct tpm_ak *ak;

static int
setup(void)
{
	ak_pub = tpm_fixture_read("ak.pub");
	key_pub = tpm_fixture_read("key.tpub");
	attest = tpm_fixture_read("attest");
	sig = tpm_fixture_read("sig");
	nonce = tpm_fixture_read("nonce");
	dup_pub = tpm_fixture_read("dup-key.tpub");
	dup_attest = tpm_fixture_read("dup-attest");
	dup_sig = tpm_fixture_read("dup-sig");
	dup_nonce = tpm_fixture_read("dup-nonce");
	csr_key = tpm_fixture_pubkey("key.spki.pem");
	return tpm_ak_check(&ak, ak_pub.buf, ak_pub.len) == CA_OK ? 0 : 1;
}

static int
teardown(void)
{
	struct tpm_blob *all[] = { &ak_pub, &key_pub, &attest, &sig, &nonce,
	    &dup_pub, &dup_attest, &dup_sig, &dup_nonce };
	size_t i;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		free(all[i]->buf);
	EVP_PKEY_free(csr_key);
	tpm_ak_free(ak);
	return 0;
}

/* The name computed here: 0x000b || SHA-256(the TPMT_PUBLIC as sent). */
static void
test_ak_name(void)
{
	uint8_t h[32];
	unsigned int hl;
	char **sel = NULL;
	size_t n = 0;
	struct tpm_ek ek;

	CU_ASSERT_FATAL(EVP_Digest(ak_pub.buf + 2, ak_pub.len - 2, h, &hl,
	    EVP_sha256(), NULL) == 1);
	CU_ASSERT_EQUAL_FATAL(ak->name.size, 34);
	CU_ASSERT(ak->name.name[0] == 0x00 && ak->name.name[1] == 0x0b);
	CU_ASSERT(memcmp(ak->name.name + 2, h, 32) == 0);
	memset(&ek, 0, sizeof(ek));
	CU_ASSERT_EQUAL(tpm_selectors(&sel, &n, &ek, ak), CA_OK);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT(strncmp(sel[1], "tpm:ak-name:000b", 16) == 0 &&
	    strlen(sel[1]) == 12 + 68);
	tpm_selectors_free(sel, n);
}

static void
ak_refused(struct tpm_blob b, const char *why)
{
	struct tpm_ak *a = NULL;

	CU_ASSERT_EQUAL(tpm_ak_check(&a, b.buf, b.len), CA_ERR_DENIED);
	CU_ASSERT_PTR_NULL(a);
	CU_ASSERT(strstr(ca_error_detail(), why) != NULL);
	free(b.buf);
}

static void
test_ak_refused(void)
{
	struct tpm_ak *a = NULL;

	/* A TLS key (not restricted) offered as an AK. */
	CU_ASSERT_EQUAL(tpm_ak_check(&a, key_pub.buf, key_pub.len),
	    CA_ERR_DENIED);
	CU_ASSERT(strstr(ca_error_detail(), "missing restricted") != NULL);
	ak_refused(tpm_fixture_public_edit(ak_pub, 0, TPMA_OBJECT_FIXEDTPM),
	    "missing fixedTPM");
	ak_refused(tpm_fixture_public_edit(ak_pub, 0,
	    TPMA_OBJECT_SENSITIVEDATAORIGIN), "missing sensitiveDataOrigin");
	ak_refused(tpm_fixture_public_edit(ak_pub, TPMA_OBJECT_DECRYPT, 0),
	    "must not have decrypt");
	CU_ASSERT_EQUAL(tpm_ak_check(&a, ak_pub.buf, ak_pub.len - 1),
	    CA_ERR_INVALID);
	CU_ASSERT_PTR_NULL(a);
}

static void
test_good(void)
{
	struct tpm_key *k = NULL;
	uint8_t h[32];
	unsigned int hl;

	CU_ASSERT_EQUAL_FATAL(tpm_certify_verify(&k, ak, attest.buf,
	    attest.len, sig.buf, sig.len, key_pub.buf, key_pub.len, nonce.buf,
	    nonce.len, csr_key), CA_OK);
	CU_ASSERT_FATAL(EVP_Digest(key_pub.buf + 2, key_pub.len - 2, h, &hl,
	    EVP_sha256(), NULL) == 1);
	CU_ASSERT(k->name.size == 34 && memcmp(k->name.name + 2, h, 32) == 0);
	CU_ASSERT(EVP_PKEY_eq(k->pkey, csr_key) == 1);
	tpm_key_free(k);
	/* out may be NULL */
	CU_ASSERT_EQUAL(tpm_certify_verify(NULL, ak, attest.buf, attest.len,
	    sig.buf, sig.len, key_pub.buf, key_pub.len, nonce.buf, nonce.len,
	    csr_key), CA_OK);
}

static int
certify(struct tpm_blob a, struct tpm_blob s, struct tpm_blob p,
    struct tpm_blob n, EVP_PKEY *csr)
{
	struct tpm_key *k = NULL;
	int rc;

	rc = tpm_certify_verify(&k, ak, a.buf, a.len, s.buf, s.len, p.buf,
	    p.len, n.buf, n.len, csr);
	CU_ASSERT_PTR_NULL(k);
	tpm_key_free(k);
	return rc;
}

/* Evidence certified over another request's nonce (a replay). */
static void
test_nonce(void)
{
	CU_ASSERT_EQUAL(certify(attest, sig, key_pub, dup_nonce, csr_key),
	    CA_ERR_DENIED);
	CU_ASSERT(strstr(ca_error_detail(), "extraData is not this "
	    "request's nonce") != NULL);
	CU_ASSERT_EQUAL(certify(attest, sig, key_pub,
	    (struct tpm_blob){ nonce.buf, 16 }, csr_key), CA_ERR_DENIED);
}

static void
test_tampered(void)
{
	struct tpm_blob t = tpm_fixture_append(attest, 0);

	/* The last byte is in the certified qualifiedName. */
	t.buf[t.len - 1] ^= 1;
	CU_ASSERT_EQUAL(certify(t, sig, key_pub, nonce, csr_key),
	    CA_ERR_VERIFY);
	CU_ASSERT(strstr(ca_error_detail(), "does not verify") != NULL);
	t.buf[t.len - 1] ^= 1;
	t.buf[0] ^= 0x80;	/* magic */
	CU_ASSERT_EQUAL(certify(t, sig, key_pub, nonce, csr_key),
	    CA_ERR_DENIED);
	CU_ASSERT(strstr(ca_error_detail(), "TPM_GENERATED_VALUE") != NULL);
	free(t.buf);
	/* The other key's signature over this attest. */
	CU_ASSERT_EQUAL(certify(attest, dup_sig, key_pub, nonce, csr_key),
	    CA_ERR_VERIFY);
}

/* Good evidence about one key sent with another key's public area. */
static void
test_other_object(void)
{
	CU_ASSERT_EQUAL(certify(attest, sig, dup_pub, nonce, csr_key),
	    CA_ERR_DENIED);
	CU_ASSERT(strstr(ca_error_detail(), "names another object") != NULL);
	/* A public area edited to claim fixedTPM has another name. */
	{
		struct tpm_blob e = tpm_fixture_public_edit(dup_pub,
		    TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT, 0);

		CU_ASSERT_EQUAL(certify(dup_attest, dup_sig, e, dup_nonce,
		    csr_key), CA_ERR_DENIED);
		CU_ASSERT(strstr(ca_error_detail(), "names another object") !=
		    NULL);
		free(e.buf);
	}
}

/* A key the TPM certified that could be duplicated out of it. */
static void
test_duplicable(void)
{
	CU_ASSERT_EQUAL(certify(dup_attest, dup_sig, dup_pub, dup_nonce,
	    csr_key), CA_ERR_DENIED);
	CU_ASSERT(strstr(ca_error_detail(), "missing fixedTPM,fixedParent") !=
	    NULL);
}

/* The CSR carries a software key, or another TPM key. */
static void
test_csr_key(void)
{
	EVP_PKEY *soft = EVP_EC_gen("P-256");

	CU_ASSERT_FATAL(soft != NULL);
	CU_ASSERT_EQUAL(certify(attest, sig, key_pub, nonce, soft),
	    CA_ERR_DENIED);
	CU_ASSERT(strstr(ca_error_detail(), "CSR's public key is not the "
	    "TPM-certified key") != NULL);
	CU_ASSERT_EQUAL(certify(attest, sig, key_pub, nonce, NULL),
	    CA_ERR_DENIED);
	EVP_PKEY_free(soft);
}

static void
test_malformed(void)
{
	struct tpm_blob t;

	t = tpm_fixture_append(attest, 1);
	CU_ASSERT_EQUAL(certify(t, sig, key_pub, nonce, csr_key),
	    CA_ERR_INVALID);
	CU_ASSERT(strstr(ca_error_detail(), "TPMS_ATTEST: 1 trailing") != NULL);
	free(t.buf);
	t = tpm_fixture_append(sig, 3);
	CU_ASSERT_EQUAL(certify(attest, t, key_pub, nonce, csr_key),
	    CA_ERR_INVALID);
	CU_ASSERT(strstr(ca_error_detail(), "TPMT_SIGNATURE: 3 trailing") !=
	    NULL);
	free(t.buf);
	t = tpm_fixture_append(key_pub, 1);
	CU_ASSERT_EQUAL(certify(attest, sig, t, nonce, csr_key),
	    CA_ERR_INVALID);
	free(t.buf);
	CU_ASSERT_EQUAL(certify((struct tpm_blob){ attest.buf, 10 }, sig,
	    key_pub, nonce, csr_key), CA_ERR_INVALID);
	CU_ASSERT_EQUAL(certify((struct tpm_blob){ NULL, 0 }, sig, key_pub,
	    nonce, csr_key), CA_ERR_INVALID);
}

static CU_TestInfo tests[] = {
	{ "AK name and selector", test_ak_name },
	{ "AK not restricted, not fixedTPM, decrypt", test_ak_refused },
	{ "good certify evidence", test_good },
	{ "stale or replayed nonce", test_nonce },
	{ "tampered attest, magic, signature", test_tampered },
	{ "another object's public area", test_other_object },
	{ "duplicable key", test_duplicable },
	{ "software key in the CSR", test_csr_key },
	{ "trailing and missing bytes", test_malformed },
	CU_TEST_INFO_NULL,
};

UNIT_MAIN_FIXTURE("tpm_certify", setup, teardown, tests)
