/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for attest/x509pop.c. The test builds its own PKI with
 * OpenSSL: a root and an intermediate ("this CA", trusted as the renewal
 * anchor on its own), a manufacturer CA for devices, and an unrelated CA;
 * then checks a good renewal (P-256 and P-384) and device (RSA) proof, and
 * refusals for an unknown chain, an expired certificate, a revoked one (via
 * the hook), a bad signature, a signature over another CSR or another
 * nonce, and malformed evidence. The signed data is built here from the
 * layout in the header, independently of the module.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/ca_error.h"
#include "protocol/protocol.h"
#include "attest/x509pop.h"
#include "tests/tools/weak_rsa.h"
#include "tests/unit/unit.h"

#define NOW	((time_t)1700000000)
#define DAY	86400

static EVP_PKEY *root_key, *int_key, *mfr_key, *other_key;
static X509 *root, *inter, *mfr, *other;
static long next_serial = 0x1000;

/* PKI setup failures end the program (they also run in suite_init). */
#define NEED(cond) do {							\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: setup failed: %s\n", __FILE__,	\
		    __LINE__, #cond);					\
		exit(99);						\
	}								\
} while (0)

static void
add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ex;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	ex = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	NEED(ex != NULL);
	NEED(X509_add_ext(x, ex, -1) == 1);
	X509_EXTENSION_free(ex);
}

/* A certificate for key, signed by issuer/ikey (self-signed when NULL). */
static X509 *
cert_make(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey,
    int ca, time_t nb, time_t na, const char *san)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();

	NEED(x != NULL && name != NULL);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), next_serial++);
	X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
	    (const unsigned char *)"carapace test", -1, -1, 0);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, name);
	X509_set_issuer_name(x, issuer != NULL ?
	    X509_get_subject_name(issuer) : name);
	X509_NAME_free(name);
	ASN1_TIME_set(X509_getm_notBefore(x), nb);
	ASN1_TIME_set(X509_getm_notAfter(x), na);
	X509_set_pubkey(x, key);
	if (issuer == NULL) {
		issuer = x;
		ikey = key;
	}
	add_ext(x, issuer, NID_subject_key_identifier, "hash");
	add_ext(x, issuer, NID_authority_key_identifier, "keyid:always");
	if (ca) {
		add_ext(x, issuer, NID_basic_constraints, "critical,CA:TRUE");
		add_ext(x, issuer, NID_key_usage,
		    "critical,keyCertSign,cRLSign");
	} else {
		add_ext(x, issuer, NID_basic_constraints, "critical,CA:FALSE");
		add_ext(x, issuer, NID_key_usage,
		    "critical,digitalSignature");
	}
	if (san != NULL)
		add_ext(x, issuer, NID_subject_alt_name, san);
	NEED(X509_sign(x, ikey, EVP_sha256()) > 0);
	return x;
}

static int
suite_init(void)
{
	root_key = EVP_EC_gen("P-256");
	int_key = EVP_EC_gen("P-256");
	mfr_key = EVP_EC_gen("P-384");
	other_key = EVP_EC_gen("P-256");
	if (root_key == NULL || int_key == NULL || mfr_key == NULL ||
	    other_key == NULL)
		return 1;
	root = cert_make("Test Root", root_key, NULL, NULL, 1, NOW - DAY,
	    NOW + 365 * DAY, NULL);
	inter = cert_make("Test Issuing CA", int_key, root, root_key, 1,
	    NOW - DAY, NOW + 300 * DAY, NULL);
	mfr = cert_make("Acme Devices CA", mfr_key, NULL, NULL, 1, NOW - DAY,
	    NOW + 365 * DAY, NULL);
	other = cert_make("Someone Else CA", other_key, NULL, NULL, 1,
	    NOW - DAY, NOW + 365 * DAY, NULL);
	return 0;
}

static int
suite_clean(void)
{
	X509_free(root);
	X509_free(inter);
	X509_free(mfr);
	X509_free(other);
	EVP_PKEY_free(root_key);
	EVP_PKEY_free(int_key);
	EVP_PKEY_free(mfr_key);
	EVP_PKEY_free(other_key);
	return 0;
}

static struct x509pop_anchors *
anchors_make(void)
{
	struct x509pop_anchors *a = NULL;

	CU_ASSERT_EQUAL_FATAL(x509pop_anchors_new(&a), CA_OK);
	/* the issuing CA alone, not its root: a partial-chain anchor */
	CU_ASSERT_EQUAL_FATAL(x509pop_anchors_add(a, "this-ca",
	    X509POP_RENEWAL, inter), CA_OK);
	CU_ASSERT_EQUAL_FATAL(x509pop_anchors_add(a, "acme", X509POP_DEVICE,
	    mfr), CA_OK);
	return a;
}

/* Sign "carapace x509pop v1\0" || nonce || SHA-256(csr). */
static size_t
pop_sign(uint8_t *sig, size_t cap, EVP_PKEY *key, const uint8_t *nonce,
    const uint8_t *csr, size_t csr_len)
{
	static const char prefix[] = "carapace x509pop v1";
	uint8_t tbs[sizeof(prefix) + 32 + 32];
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	size_t len = cap;

	memcpy(tbs, prefix, sizeof(prefix));
	memcpy(tbs + sizeof(prefix), nonce, 32);
	SHA256(csr, csr_len, tbs + sizeof(prefix) + 32);
	CU_ASSERT_FATAL(EVP_DigestSignInit(m, NULL, EVP_sha256(), NULL,
	    key) == 1);
	CU_ASSERT_FATAL(EVP_DigestSign(m, sig, &len, tbs, sizeof(tbs)) == 1);
	EVP_MD_CTX_free(m);
	return len;
}

/* One request's worth of evidence. */
struct req {
	uint8_t *der[3];
	size_t der_len[3];
	const uint8_t *chain[3];
	uint8_t nonce[32];
	uint8_t sig[1024];
	uint8_t csr[64];
	struct x509pop_evidence ev;
};

static void
req_make(struct req *r, X509 *leaf, X509 *extra, EVP_PKEY *key)
{
	size_t i;
	int n;

	memset(r, 0, sizeof(*r));
	for (i = 0; i < sizeof(r->nonce); i++)
		r->nonce[i] = (uint8_t)(i * 7 + 1);
	snprintf((char *)r->csr, sizeof(r->csr), "a CSR, DER in real life");
	n = i2d_X509(leaf, &r->der[0]);
	CU_ASSERT_FATAL(n > 0);
	r->der_len[0] = (size_t)n;
	r->ev.nchain = 1;
	if (extra != NULL) {
		n = i2d_X509(extra, &r->der[1]);
		CU_ASSERT_FATAL(n > 0);
		r->der_len[1] = (size_t)n;
		r->ev.nchain = 2;
	}
	for (i = 0; i < 3; i++)
		r->chain[i] = r->der[i];
	r->ev.chain = r->chain;
	r->ev.chain_len = r->der_len;
	r->ev.nonce = r->nonce;
	r->ev.nonce_len = sizeof(r->nonce);
	r->ev.csr = r->csr;
	r->ev.csr_len = strlen((char *)r->csr);
	r->ev.sig = r->sig;
	r->ev.sig_len = pop_sign(r->sig, sizeof(r->sig), key, r->nonce,
	    r->csr, r->ev.csr_len);
}

static void
req_free(struct req *r)
{
	size_t i;

	for (i = 0; i < 3; i++)
		OPENSSL_free(r->der[i]);
}

static long revoked_serial = -1;
static int revoked_calls;

static int
is_revoked(void *arg, enum x509pop_kind kind, const uint8_t *serial,
    size_t serial_len, const X509_NAME *issuer, int *revoked)
{
	long v = 0;
	size_t i;

	(void)arg;
	revoked_calls++;
	CU_ASSERT_EQUAL(kind, X509POP_RENEWAL);
	CU_ASSERT_EQUAL(X509_NAME_cmp(issuer, X509_get_subject_name(inter)),
	    0);
	for (i = 0; i < serial_len; i++)
		v = v << 8 | serial[i];
	*revoked = v == revoked_serial;
	return CA_OK;
}

static void
test_renewal_good(void)
{
	struct x509pop_anchors *a = anchors_make();
	struct x509pop_identity *id = NULL;
	EVP_PKEY *k256 = EVP_EC_gen("P-256"), *k384 = EVP_EC_gen("P-384");
	X509 *leaf, *leaf384;
	uint8_t fp[32];
	unsigned int fplen;
	struct req r;

	leaf = cert_make("node7", k256, inter, int_key, 0, NOW - 3600,
	    NOW + DAY, "DNS:node7.example,DNS:Alias.Example,IP:192.0.2.1");
	req_make(&r, leaf, NULL, k256);
	revoked_serial = -1;
	revoked_calls = 0;
	CU_ASSERT_EQUAL(attest_x509pop_verify(&id, a, &r.ev, NOW, is_revoked,
	    NULL), CA_OK);
	if (id == NULL)
		fprintf(stderr, "\n  %s\n", ca_error_detail());
	CU_ASSERT_PTR_NOT_NULL_FATAL(id);
	CU_ASSERT_EQUAL(revoked_calls, 1);
	CU_ASSERT_EQUAL(id->kind, X509POP_RENEWAL);
	CU_ASSERT_STRING_EQUAL(id->anchor, "this-ca");
	CU_ASSERT_STRING_EQUAL(id->cn, "node7");
	CU_ASSERT_PTR_NOT_NULL(strstr(id->subject, "CN=node7"));
	CU_ASSERT_PTR_NOT_NULL(strstr(id->issuer, "CN=Test Issuing CA"));
	CU_ASSERT_EQUAL_FATAL(id->nnames, 2);
	CU_ASSERT_STRING_EQUAL(id->names[0], "node7.example");
	CU_ASSERT_STRING_EQUAL(id->names[1], "Alias.Example");
	CU_ASSERT_EQUAL(id->not_after, NOW + DAY);
	CU_ASSERT_EQUAL(X509_digest(leaf, EVP_sha256(), fp, &fplen), 1);
	CU_ASSERT_EQUAL(memcmp(fp, id->fingerprint, 32), 0);
	CU_ASSERT_EQUAL(id->serial_len, 2);
	CU_ASSERT_STRING_EQUAL(id->serial_hex, "1004");
	x509pop_identity_free(id);
	id = NULL;
	req_free(&r);

	/* P-384 leaf, with the intermediate sent along (ignored: anchor) */
	leaf384 = cert_make("node8", k384, inter, int_key, 0, NOW - 3600,
	    NOW + DAY, "DNS:node8.example");
	req_make(&r, leaf384, inter, k384);
	CU_ASSERT_EQUAL(attest_x509pop_verify(&id, a, &r.ev, NOW, NULL, NULL),
	    CA_OK);
	CU_ASSERT_PTR_NOT_NULL(id);
	x509pop_identity_free(id);
	req_free(&r);
	X509_free(leaf);
	X509_free(leaf384);
	EVP_PKEY_free(k256);
	EVP_PKEY_free(k384);
	x509pop_anchors_free(a);
}

static void
test_device_rsa(void)
{
	struct x509pop_anchors *a = anchors_make();
	struct x509pop_identity *id = NULL;
	EVP_PKEY *k = EVP_RSA_gen(2048);
	X509 *leaf;
	struct req r;

	CU_ASSERT_PTR_NOT_NULL_FATAL(k);
	leaf = cert_make("SN-0042", k, mfr, mfr_key, 0, NOW - 3600,
	    NOW + 3650 * DAY, NULL);
	req_make(&r, leaf, NULL, k);
	CU_ASSERT_EQUAL(attest_x509pop_verify(&id, a, &r.ev, NOW, NULL, NULL),
	    CA_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(id);
	CU_ASSERT_EQUAL(id->kind, X509POP_DEVICE);
	CU_ASSERT_STRING_EQUAL(id->anchor, "acme");
	CU_ASSERT_STRING_EQUAL(id->cn, "SN-0042");
	CU_ASSERT_EQUAL(id->nnames, 0);
	x509pop_identity_free(id);
	req_free(&r);
	X509_free(leaf);
	EVP_PKEY_free(k);
	x509pop_anchors_free(a);
}

static void
test_unknown_chain(void)
{
	struct x509pop_anchors *a = anchors_make();
	struct x509pop_identity *id = NULL;
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *leaf, *self;
	struct req r;

	leaf = cert_make("intruder", k, other, other_key, 0, NOW - 3600,
	    NOW + DAY, "DNS:node7.example");
	req_make(&r, leaf, other, k);
	CU_ASSERT_EQUAL(attest_x509pop_verify(&id, a, &r.ev, NOW, NULL, NULL),
	    CA_ERR_VERIFY);
	CU_ASSERT_PTR_NULL(id);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(),
	    "does not chain to a configured anchor"));
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "CN=intruder"));
	req_free(&r);
	/* a self-signed copy of a trusted subject is not trusted either */
	self = cert_make("Test Issuing CA", k, NULL, NULL, 0, NOW - 3600,
	    NOW + DAY, NULL);
	req_make(&r, self, NULL, k);
	CU_ASSERT_EQUAL(attest_x509pop_verify(&id, a, &r.ev, NOW, NULL, NULL),
	    CA_ERR_VERIFY);
	req_free(&r);
	/* the anchor itself, signed with its own key: not an end entity */
	req_make(&r, inter, NULL, int_key);
	CU_ASSERT_EQUAL(attest_x509pop_verify(&id, a, &r.ev, NOW, NULL, NULL),
	    CA_ERR_DENIED);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "CA certificate"));
	req_free(&r);
	/* no anchors at all */
	x509pop_anchors_free(a);
	CU_ASSERT_EQUAL(x509pop_anchors_new(&a), CA_OK);
	req_make(&r, leaf, NULL, k);
	CU_ASSERT_EQUAL(attest_x509pop_verify(&id, a, &r.ev, NOW, NULL, NULL),
	    CA_ERR_VERIFY);
	req_free(&r);
	X509_free(self);
	X509_free(leaf);
	EVP_PKEY_free(k);
	x509pop_anchors_free(a);
}

static void
test_expired(void)
{
	struct x509pop_anchors *a = anchors_make();
	struct x509pop_identity *id = NULL;
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *leaf, *future;
	struct req r;

	leaf = cert_make("old", k, inter, int_key, 0, NOW - 2 * DAY,
	    NOW - 60, "DNS:old.example");
	req_make(&r, leaf, NULL, k);
	CU_ASSERT_EQUAL(attest_x509pop_verify(&id, a, &r.ev, NOW, NULL, NULL),
	    CA_ERR_EXPIRED);
	CU_ASSERT_PTR_NULL(id);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(),
	    "expired at 2023-11-14T22:12:20Z"));
	/* the same evidence was good a day earlier */
	CU_ASSERT_EQUAL(attest_x509pop_verify(&id, a, &r.ev, NOW - DAY, NULL,
	    NULL), CA_OK);
	x509pop_identity_free(id);
	id = NULL;
	req_free(&r);
	future = cert_make("early", k, inter, int_key, 0, NOW + 3600,
	    NOW + DAY, "DNS:early.example");
	req_make(&r, future, NULL, k);
	CU_ASSERT_EQUAL(attest_x509pop_verify(&id, a, &r.ev, NOW, NULL, NULL),
	    CA_ERR_EXPIRED);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "not valid before"));
	req_free(&r);
	X509_free(leaf);
	X509_free(future);
	EVP_PKEY_free(k);
	x509pop_anchors_free(a);
}

static void
test_revoked(void)
{
	struct x509pop_anchors *a = anchors_make();
	struct x509pop_identity *id = NULL;
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *leaf;
	struct req r;

	leaf = cert_make("node9", k, inter, int_key, 0, NOW - 3600,
	    NOW + DAY, "DNS:node9.example");
	revoked_serial = ASN1_INTEGER_get(X509_get0_serialNumber(leaf));
	req_make(&r, leaf, NULL, k);
	CU_ASSERT_EQUAL(attest_x509pop_verify(&id, a, &r.ev, NOW, is_revoked,
	    NULL), CA_ERR_DENIED);
	CU_ASSERT_PTR_NULL(id);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "is revoked"));
	revoked_serial = -1;
	CU_ASSERT_EQUAL(attest_x509pop_verify(&id, a, &r.ev, NOW, is_revoked,
	    NULL), CA_OK);
	x509pop_identity_free(id);
	req_free(&r);
	X509_free(leaf);
	EVP_PKEY_free(k);
	x509pop_anchors_free(a);
}

static void
test_bad_signatures(void)
{
	struct x509pop_anchors *a = anchors_make();
	struct x509pop_identity *id = NULL;
	EVP_PKEY *k = EVP_EC_gen("P-256"), *k2 = EVP_EC_gen("P-256");
	X509 *leaf;
	struct req r;
	uint8_t other_nonce[32];

	leaf = cert_make("node10", k, inter, int_key, 0, NOW - 3600,
	    NOW + DAY, "DNS:node10.example");
	req_make(&r, leaf, NULL, k);
	CU_ASSERT_EQUAL(attest_x509pop_verify(&id, a, &r.ev, NOW, NULL, NULL),
	    CA_OK);
	x509pop_identity_free(id);
	id = NULL;

	/* a flipped bit in the signature */
	r.sig[r.ev.sig_len / 2] ^= 0x01;
	CU_ASSERT_EQUAL(attest_x509pop_verify(&id, a, &r.ev, NOW, NULL, NULL),
	    CA_ERR_VERIFY);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "does not verify"));
	r.sig[r.ev.sig_len / 2] ^= 0x01;

	/* signed over one CSR, presented with another */
	r.csr[0] ^= 0x20;
	CU_ASSERT_EQUAL(attest_x509pop_verify(&id, a, &r.ev, NOW, NULL, NULL),
	    CA_ERR_VERIFY);
	r.csr[0] ^= 0x20;

	/* signed over one nonce, presented with another */
	memset(other_nonce, 0xaa, sizeof(other_nonce));
	r.ev.nonce = other_nonce;
	CU_ASSERT_EQUAL(attest_x509pop_verify(&id, a, &r.ev, NOW, NULL, NULL),
	    CA_ERR_VERIFY);
	r.ev.nonce = r.nonce;

	/* signed by another key */
	r.ev.sig_len = pop_sign(r.sig, sizeof(r.sig), k2, r.nonce, r.csr,
	    r.ev.csr_len);
	CU_ASSERT_EQUAL(attest_x509pop_verify(&id, a, &r.ev, NOW, NULL, NULL),
	    CA_ERR_VERIFY);
	CU_ASSERT_PTR_NULL(id);
	req_free(&r);
	X509_free(leaf);
	EVP_PKEY_free(k);
	EVP_PKEY_free(k2);
	x509pop_anchors_free(a);
}

static void
test_malformed(void)
{
	struct x509pop_anchors *a = anchors_make();
	struct x509pop_identity *id = NULL;
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *leaf;
	struct req r;
	uint8_t *longer;

	leaf = cert_make("node11", k, inter, int_key, 0, NOW - 3600,
	    NOW + DAY, "DNS:node11.example");
	req_make(&r, leaf, NULL, k);
	/* trailing byte after the leaf */
	longer = OPENSSL_malloc(r.der_len[0] + 1);
	memcpy(longer, r.der[0], r.der_len[0]);
	longer[r.der_len[0]] = 0;
	r.chain[0] = longer;
	r.der_len[0]++;
	CU_ASSERT_EQUAL(attest_x509pop_verify(&id, a, &r.ev, NOW, NULL, NULL),
	    CA_ERR_INVALID);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "trailing"));
	/* truncated */
	r.der_len[0] -= 20;
	CU_ASSERT_EQUAL(attest_x509pop_verify(&id, a, &r.ev, NOW, NULL, NULL),
	    CA_ERR_INVALID);
	r.der_len[0] += 19;
	r.chain[0] = r.der[0];
	OPENSSL_free(longer);
	CU_ASSERT_EQUAL(attest_x509pop_verify(&id, a, &r.ev, NOW, NULL, NULL),
	    CA_OK);
	x509pop_identity_free(id);
	id = NULL;
	/* wrong nonce length, empty signature, no chain, long chain */
	r.ev.nonce_len = 31;
	CU_ASSERT_EQUAL(attest_x509pop_verify(&id, a, &r.ev, NOW, NULL, NULL),
	    CA_ERR_INVALID);
	r.ev.nonce_len = 32;
	r.ev.sig_len = 0;
	CU_ASSERT_EQUAL(attest_x509pop_verify(&id, a, &r.ev, NOW, NULL, NULL),
	    CA_ERR_INVALID);
	r.ev.nchain = 0;
	CU_ASSERT_EQUAL(attest_x509pop_verify(&id, a, &r.ev, NOW, NULL, NULL),
	    CA_ERR_INVALID);
	r.ev.nchain = X509POP_MAX_CHAIN + 1;
	CU_ASSERT_EQUAL(attest_x509pop_verify(&id, a, &r.ev, NOW, NULL, NULL),
	    CA_ERR_INVALID);
	CU_ASSERT_PTR_NULL(id);
	/* an anchor set name reused with another kind */
	CU_ASSERT_EQUAL(x509pop_anchors_add(a, "acme", X509POP_RENEWAL, mfr),
	    CA_ERR_CONFIG);
	req_free(&r);
	X509_free(leaf);
	EVP_PKEY_free(k);
	x509pop_anchors_free(a);
	x509pop_anchors_free(NULL);
	x509pop_identity_free(NULL);
}

/* A signature made by the client side's protocol_pop_sign verifies. */
static void
test_protocol_signer(void)
{
	struct x509pop_anchors *a = anchors_make();
	struct x509pop_identity *id = NULL;
	EVP_PKEY *k = EVP_EC_gen("P-384");
	uint8_t *sig = NULL;
	size_t sig_len = 0;
	X509 *leaf;
	struct req r;

	leaf = cert_make("node12", k, inter, int_key, 0, NOW - 3600,
	    NOW + DAY, "DNS:node12.example");
	req_make(&r, leaf, NULL, k);
	CU_ASSERT_EQUAL_FATAL(protocol_pop_sign(&sig, &sig_len, k, r.nonce,
	    32, r.csr, r.ev.csr_len), CA_OK);
	CU_ASSERT_FATAL(sig_len <= sizeof(r.sig));
	memcpy(r.sig, sig, sig_len);
	r.ev.sig_len = sig_len;
	CU_ASSERT_EQUAL(attest_x509pop_verify(&id, a, &r.ev, NOW, NULL, NULL),
	    CA_OK);
	x509pop_identity_free(id);
	OPENSSL_free(sig);
	req_free(&r);
	X509_free(leaf);
	EVP_PKEY_free(k);
	x509pop_anchors_free(a);
}

/*
 * The forgery of issue 17: a certificate this CA issued for a key with
 * e = 1 lets anyone who has the certificate "sign" the pop data by
 * padding its digest. The leaf's key is refused before that signature,
 * or the chain, is verified.
 */
static void
test_exponent_one_leaf(void)
{
	static const char prefix[] = "carapace x509pop v1";
	struct x509pop_anchors *a = anchors_make();
	struct x509pop_identity *id = NULL;
	EVP_PKEY *e1 = weak_rsa_e1(2048), *k = EVP_EC_gen("P-256");
	uint8_t tbs[sizeof(prefix) + 32 + 32];
	X509 *leaf;
	struct req r;
	size_t n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(e1);
	leaf = cert_make("victim.example.internal", e1, inter, int_key, 0,
	    NOW - DAY, NOW + DAY, "DNS:victim.example.internal");
	req_make(&r, leaf, NULL, k);
	memcpy(tbs, prefix, sizeof(prefix));
	memcpy(tbs + sizeof(prefix), r.nonce, 32);
	SHA256(r.csr, r.ev.csr_len, tbs + sizeof(prefix) + 32);
	n = (size_t)EVP_PKEY_get_size(e1);
	CU_ASSERT_FATAL(weak_rsa_e1_sig(r.sig, n, e1, tbs, sizeof(tbs)));
	r.ev.sig_len = n;
	/* The forged signature does verify with the leaf's key... */
	{
		EVP_MD_CTX *m = EVP_MD_CTX_new();

		CU_ASSERT_EQUAL(EVP_DigestVerifyInit(m, NULL, EVP_sha256(),
		    NULL, e1), 1);
		CU_ASSERT_EQUAL(EVP_DigestVerify(m, r.sig, n, tbs,
		    sizeof(tbs)), 1);
		EVP_MD_CTX_free(m);
	}
	/* ...so the key must be, and is, refused first. */
	CU_ASSERT_EQUAL(attest_x509pop_verify(&id, a, &r.ev, NOW, NULL, NULL),
	    CA_ERR_POLICY);
	CU_ASSERT_PTR_NULL(id);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(),
	    "x509pop: chain[0] (the leaf) key: RSA public exponent 1"));
	req_free(&r);
	X509_free(leaf);
	EVP_PKEY_free(e1);
	EVP_PKEY_free(k);
	x509pop_anchors_free(a);
}

/* A sub-CA with e = 1 in the chain would vouch for any leaf. */
static void
test_exponent_one_chain(void)
{
	struct x509pop_anchors *a = anchors_make();
	struct x509pop_identity *id = NULL;
	EVP_PKEY *e1 = weak_rsa_e1(2048), *k = EVP_EC_gen("P-256");
	X509 *sub, *leaf;
	struct req r;

	CU_ASSERT_PTR_NOT_NULL_FATAL(e1);
	sub = cert_make("Acme Weak Sub CA", e1, mfr, mfr_key, 1, NOW - DAY,
	    NOW + DAY, NULL);
	leaf = cert_make("device-7", k, mfr, mfr_key, 0, NOW - DAY,
	    NOW + DAY, NULL);
	req_make(&r, leaf, sub, k);
	CU_ASSERT_EQUAL(attest_x509pop_verify(&id, a, &r.ev, NOW, NULL, NULL),
	    CA_ERR_POLICY);
	CU_ASSERT_PTR_NULL(id);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(),
	    "x509pop: chain[1] key: RSA public exponent 1"));
	req_free(&r);
	/* The same leaf without the weak sub-CA is accepted. */
	req_make(&r, leaf, NULL, k);
	CU_ASSERT_EQUAL(attest_x509pop_verify(&id, a, &r.ev, NOW, NULL, NULL),
	    CA_OK);
	x509pop_identity_free(id);
	req_free(&r);
	X509_free(sub);
	X509_free(leaf);
	EVP_PKEY_free(e1);
	EVP_PKEY_free(k);
	x509pop_anchors_free(a);
}

/*
 * A device certificate for the Ed25519 identity point: the "signature"
 * 01 00...00 verifies over any message, so anyone holding the public
 * certificate could prove possession. Refused on the key, first.
 */
static void
test_small_order_ed25519(void)
{
	unsigned char ident[32] = { 1 };
	struct x509pop_anchors *a = anchors_make();
	struct x509pop_identity *id = NULL;
	EVP_PKEY *weak = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL,
	    ident, sizeof(ident)), *k = EVP_EC_gen("P-256");
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	X509 *leaf;
	struct req r;

	CU_ASSERT_PTR_NOT_NULL_FATAL(weak);
	leaf = cert_make("device-zero", weak, mfr, mfr_key, 0, NOW - DAY,
	    NOW + DAY, NULL);
	req_make(&r, leaf, NULL, k);
	memset(r.sig, 0, 64);
	r.sig[0] = 1;
	r.ev.sig_len = 64;
	/* OpenSSL accepts it over the pop data... */
	CU_ASSERT_EQUAL(EVP_DigestVerifyInit(m, NULL, NULL, NULL, weak), 1);
	CU_ASSERT_EQUAL(EVP_DigestVerify(m, r.sig, 64, r.csr,
	    r.ev.csr_len), 1);
	/* ...so the key is refused before it is asked. */
	CU_ASSERT_EQUAL(attest_x509pop_verify(&id, a, &r.ev, NOW, NULL, NULL),
	    CA_ERR_POLICY);
	CU_ASSERT_PTR_NULL(id);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "small-order"));
	EVP_MD_CTX_free(m);
	req_free(&r);
	X509_free(leaf);
	EVP_PKEY_free(weak);
	EVP_PKEY_free(k);
	x509pop_anchors_free(a);
}

static CU_TestInfo tests[] = {
	{ "good renewal (P-256, P-384)", test_renewal_good },
	{ "good device (RSA, manufacturer CA)", test_device_rsa },
	{ "unknown chain", test_unknown_chain },
	{ "expired and not yet valid", test_expired },
	{ "revoked (hook)", test_revoked },
	{ "bad signature, other CSR, other nonce", test_bad_signatures },
	{ "malformed evidence", test_malformed },
	{ "signature from protocol_pop_sign", test_protocol_signer },
	{ "leaf key with e = 1 refused before the pop", test_exponent_one_leaf },
	{ "chain key with e = 1 refused", test_exponent_one_chain },
	{ "small-order Ed25519 leaf refused", test_small_order_ed25519 },
	CU_TEST_INFO_NULL,
};

UNIT_MAIN_FIXTURE("attest_x509pop", suite_init, suite_clean, tests)
