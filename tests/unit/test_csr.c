/* SPDX-License-Identifier: ISC */
/*
 * test_csr: issuer/csr.c, the issuer's PKCS#10 decoder. Requests are made
 * here with OpenSSL (X509_REQ) for P-256 and P-384 keys (the template fast
 * path) and RSA (d2i_X509_REQ fallback), and each refusal is checked by
 * its code and a word of its message: weak or foreign keys, a flipped
 * signature bit on both paths, trailing and missing bytes, CA powers,
 * names other than dNSNames, subject attributes other than the CN, a CN
 * that is not a SAN, and no names at all. An accepted request's names and
 * SPKI are compared with what was put in, and its request hash (info_hash)
 * is the same for two signatures of one request and differs otherwise.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <openssl/core_names.h>

#include "common/ca_error.h"
#include "issuer/csr.h"
#include "tests/tools/weak_rsa.h"
#include "tests/unit/unit.h"

static struct csr_verifier *ver;
static EVP_PKEY *p256, *p384, *rsa2048, *rsa1024, *k256, *ed25519;

/* What to put in a request. NULL fields are left out. */
struct req_spec {
	const char *cn;
	const char *org;	/* an O= after the CN */
	const char *san;	/* X509V3 config text, "DNS:a,DNS:b" */
	const char *bc;		/* basicConstraints text */
	const char *ku;		/* keyUsage text */
};

static int
add_ext(STACK_OF(X509_EXTENSION) *exts, int nid, const char *value)
{
	X509_EXTENSION *ext;

	if (value == NULL)
		return 1;
	if ((ext = X509V3_EXT_conf_nid(NULL, NULL, nid, value)) == NULL)
		return 0;
	if (!sk_X509_EXTENSION_push(exts, ext)) {
		X509_EXTENSION_free(ext);
		return 0;
	}
	return 1;
}

/*
 * make_csr builds a request for key as spec says, signed with SHA-256
 * (no digest for Ed25519). Returns its DER in *der (OPENSSL_free) and the
 * length, or -1.
 */
static int
make_csr(uint8_t **der, EVP_PKEY *key, const struct req_spec *spec)
{
	X509_REQ *req = NULL;
	X509_NAME *name = NULL;
	STACK_OF(X509_EXTENSION) *exts = NULL;
	const EVP_MD *md;
	int len = -1;

	*der = NULL;
	md = EVP_PKEY_is_a(key, "ED25519") ? NULL : EVP_sha256();
	if ((req = X509_REQ_new()) == NULL || (name = X509_NAME_new()) == NULL ||
	    (exts = sk_X509_EXTENSION_new_null()) == NULL)
		goto out;
	if (spec->cn != NULL && !X509_NAME_add_entry_by_txt(name, "CN",
	    MBSTRING_UTF8, (const unsigned char *)spec->cn, -1, -1, 0))
		goto out;
	if (spec->org != NULL && !X509_NAME_add_entry_by_txt(name, "O",
	    MBSTRING_UTF8, (const unsigned char *)spec->org, -1, -1, 0))
		goto out;
	if (!add_ext(exts, NID_subject_alt_name, spec->san) ||
	    !add_ext(exts, NID_basic_constraints, spec->bc) ||
	    !add_ext(exts, NID_key_usage, spec->ku))
		goto out;
	if (!X509_REQ_set_version(req, 0) ||
	    !X509_REQ_set_subject_name(req, name) ||
	    !X509_REQ_set_pubkey(req, key) ||
	    (sk_X509_EXTENSION_num(exts) > 0 &&
	    !X509_REQ_add_extensions(req, exts)) ||
	    X509_REQ_sign(req, key, md) <= 0)
		goto out;
	len = i2d_X509_REQ(req, der);
 out:
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_NAME_free(name);
	X509_REQ_free(req);
	return len;
}

/* decode: csr_request_decode on a request made from spec. */
static int
decode(struct csr_request **out, EVP_PKEY *key, const struct req_spec *spec)
{
	uint8_t *der;
	int len, rc;

	*out = NULL;
	len = make_csr(&der, key, spec);
	CU_ASSERT_FATAL(len > 0);
	rc = csr_request_decode(out, ver, der, (size_t)len);
	OPENSSL_free(der);
	return rc;
}

/* refused: spec on key is refused with code and word in the detail. */
static void
refused(EVP_PKEY *key, const struct req_spec *spec, int code,
    const char *word)
{
	struct csr_request *r = (struct csr_request *)1;
	int rc;

	rc = decode(&r, key, spec);
	CU_ASSERT_EQUAL(rc, code);
	CU_ASSERT_PTR_NULL(r);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), word));
	if (rc != code || strstr(ca_error_detail(), word) == NULL)
		fprintf(stderr, "\n  rc %d, detail \"%s\" (wanted %d, \"%s\")\n",
		    rc, ca_error_detail(), code, word);
	csr_request_free(r == (struct csr_request *)1 ? NULL : r);
}

static int
setup(void)
{
	if (csr_verifier_new(&ver, NULL) != CA_OK)
		return 1;
	p256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	rsa2048 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	rsa1024 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	k256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp256k1");
	ed25519 = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	return p256 == NULL || p384 == NULL || rsa2048 == NULL ||
	    rsa1024 == NULL || k256 == NULL || ed25519 == NULL;
}

static int
teardown(void)
{
	csr_verifier_free(ver);
	EVP_PKEY_free(p256);
	EVP_PKEY_free(p384);
	EVP_PKEY_free(rsa2048);
	EVP_PKEY_free(rsa1024);
	EVP_PKEY_free(k256);
	EVP_PKEY_free(ed25519);
	return 0;
}

/* accepted: key's request with two SANs decodes to exactly what was sent. */
static void
accepted(EVP_PKEY *key)
{
	const struct req_spec spec = { .cn = "b.example.internal",
	    .san = "DNS:a.example.internal,DNS:b.example.internal",
	    .ku = "critical,digitalSignature" };
	struct csr_request *r;
	unsigned char *spki = NULL;
	int len;

	CU_ASSERT_EQUAL_FATAL(decode(&r, key, &spec), CA_OK);
	CU_ASSERT_FATAL(r != NULL);
	CU_ASSERT_PTR_NOT_NULL(r->pk);
	CU_ASSERT_STRING_EQUAL(r->cn, "b.example.internal");
	CU_ASSERT_EQUAL(r->nnames, 2);
	CU_ASSERT_STRING_EQUAL(r->names[0], "a.example.internal");
	CU_ASSERT_STRING_EQUAL(r->names[1], "b.example.internal");
	len = i2d_PUBKEY(key, &spki);
	CU_ASSERT_FATAL(len > 0);
	CU_ASSERT_EQUAL(r->spki_len, (size_t)len);
	CU_ASSERT(r->spki_len == (size_t)len &&
	    memcmp(r->spki, spki, (size_t)len) == 0);
	CU_ASSERT_EQUAL(EVP_PKEY_eq(r->pk, key), 1);
	OPENSSL_free(spki);
	csr_request_free(r);
}

static void
test_accept_p256(void)
{
	accepted(p256);
}

static void
test_accept_p384(void)
{
	accepted(p384);
}

static void
test_accept_rsa2048(void)
{
	accepted(rsa2048);
}

static void
test_cn_only(void)
{
	const struct req_spec spec = { .cn = "only.example.internal" };
	struct csr_request *r;

	CU_ASSERT_EQUAL_FATAL(decode(&r, p256, &spec), CA_OK);
	CU_ASSERT_STRING_EQUAL(r->cn, "only.example.internal");
	CU_ASSERT_EQUAL(r->nnames, 1);
	CU_ASSERT_STRING_EQUAL(r->names[0], "only.example.internal");
	csr_request_free(r);
}

static void
test_weak_keys(void)
{
	const struct req_spec spec = { .cn = "k.example.internal",
	    .san = "DNS:k.example.internal" };

	refused(rsa1024, &spec, CA_ERR_POLICY, "RSA 1024: RSA keys under 2048");
	refused(k256, &spec, CA_ERR_POLICY, "P-256");
	refused(ed25519, &spec, CA_ERR_POLICY, "P-256");
}

/* tampered: the request from key with one change is refused. */
static void
tampered(EVP_PKEY *key)
{
	const struct req_spec spec = { .cn = "t.example.internal",
	    .san = "DNS:t.example.internal" };
	struct csr_request *r = NULL;
	uint8_t *der, *big;
	int len;

	len = make_csr(&der, key, &spec);
	CU_ASSERT_FATAL(len > 0);
	/* The signature BIT STRING ends the request. */
	der[len - 1] ^= 0x01;
	CU_ASSERT_EQUAL(csr_request_decode(&r, ver, der, (size_t)len),
	    CA_ERR_INVALID);
	CU_ASSERT_PTR_NULL(r);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "signature"));
	der[len - 1] ^= 0x01;
	CU_ASSERT_EQUAL(csr_request_decode(&r, ver, der, (size_t)len), CA_OK);
	csr_request_free(r);
	r = NULL;

	CU_ASSERT_EQUAL(csr_request_decode(&r, ver, der, (size_t)len - 1),
	    CA_ERR_INVALID);
	CU_ASSERT_PTR_NULL(r);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "DER"));
	CU_ASSERT_EQUAL(csr_request_decode(&r, ver, der, 0), CA_ERR_INVALID);

	big = malloc((size_t)len + 1);
	CU_ASSERT_FATAL(big != NULL);
	memcpy(big, der, (size_t)len);
	big[len] = 0;
	CU_ASSERT_EQUAL(csr_request_decode(&r, ver, big, (size_t)len + 1),
	    CA_ERR_INVALID);
	CU_ASSERT_PTR_NULL(r);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "trailing"));
	free(big);
	OPENSSL_free(der);
}

static void
test_tampered_ec(void)
{
	tampered(p256);
}

static void
test_tampered_rsa(void)
{
	tampered(rsa2048);
}

static void
test_ca_powers(void)
{
	const struct req_spec ca = { .cn = "c.example.internal",
	    .san = "DNS:c.example.internal", .bc = "critical,CA:TRUE" };
	const struct req_spec kcs = { .cn = "c.example.internal",
	    .san = "DNS:c.example.internal",
	    .ku = "critical,digitalSignature,keyCertSign" };
	const struct req_spec crl = { .cn = "c.example.internal",
	    .san = "DNS:c.example.internal", .ku = "cRLSign" };

	refused(p256, &ca, CA_ERR_POLICY, "CA:TRUE");
	refused(rsa2048, &ca, CA_ERR_POLICY, "CA:TRUE");
	refused(p256, &kcs, CA_ERR_POLICY, "keyCertSign");
	refused(p384, &crl, CA_ERR_POLICY, "cRLSign");
}

static void
test_names(void)
{
	const struct req_spec ip = { .cn = "n.example.internal",
	    .san = "DNS:n.example.internal,IP:192.0.2.1" };
	const struct req_spec org = { .cn = "n.example.internal",
	    .org = "Example", .san = "DNS:n.example.internal" };
	const struct req_spec cn = { .cn = "other.example.internal",
	    .san = "DNS:n.example.internal" };
	const struct req_spec none = { .ku = "digitalSignature" };
	const struct req_spec empty = { 0 };

	refused(p256, &ip, CA_ERR_POLICY, "dNSName");
	refused(rsa2048, &ip, CA_ERR_POLICY, "dNSName");
	refused(p256, &org, CA_ERR_POLICY, "commonName");
	refused(p256, &cn, CA_ERR_POLICY, "other.example.internal");
	refused(p256, &none, CA_ERR_INVALID, "no names");
	refused(p384, &empty, CA_ERR_INVALID, "no names");
}

/*
 * A control byte in a name is refused as invalid (badCsr), not echoed (the
 * detail goes back in the response, which carries no control characters),
 * and not turned into an internal error.
 */
static void
test_control_bytes(void)
{
	const struct req_spec cn_nl = { .cn = "a\nb.example.internal" };
	const struct req_spec cn_del = { .cn = "a\x7f.example.internal",
	    .san = "DNS:a.example.internal" };
	const struct req_spec san_nl = {
	    .san = "DNS:ok.example.internal,DNS:x\ny.example.internal" };
	const struct req_spec san_esc = {
	    .san = "DNS:\x1b[31m.example.internal" };
	const struct req_spec san_hi = {
	    .san = "DNS:caf\xc3\xa9.example.internal" };
	const char *d;
	size_t i;

	refused(p256, &cn_nl, CA_ERR_INVALID, "commonName holds a control");
	refused(rsa2048, &cn_nl, CA_ERR_INVALID, "commonName holds a control");
	refused(p256, &cn_del, CA_ERR_INVALID, "commonName holds a control");
	refused(p256, &san_nl, CA_ERR_INVALID, "entry 2 holds a control");
	refused(p384, &san_esc, CA_ERR_INVALID, "entry 1 holds a control");
	refused(p256, &san_hi, CA_ERR_INVALID, "non-ASCII");
	d = ca_error_detail();
	for (i = 0; d[i] != '\0'; i++)
		CU_ASSERT(d[i] >= 0x20 && d[i] < 0x7f);
}

/* Names a strict validator would refuse are refused here (issue 19). */
static void
test_name_syntax(void)
{
	const struct req_spec under = { .san = "DNS:a_b.example.internal" },
	    dot = { .san = "DNS:.example.internal" },
	    empty = { .san = "DNS:a..example.internal" },
	    cn_bad = { .cn = "-x.example.internal" },
	    wild = { .san = "DNS:*.example.internal" },
	    midwild = { .san = "DNS:a.*.example.internal" };
	struct csr_request *r = NULL;

	refused(p256, &under, CA_ERR_INVALID,
	    "CSR: subjectAltName: DNS name \"a_b.example.internal\": '_'");
	refused(p256, &dot, CA_ERR_INVALID, "leading dot");
	refused(p256, &empty, CA_ERR_INVALID, "empty label");
	refused(p256, &cn_bad, CA_ERR_INVALID, "CSR: commonName: DNS name");
	refused(p256, &midwild, CA_ERR_INVALID, "whole leftmost label");
	CU_ASSERT_EQUAL(decode(&r, p256, &wild), CA_OK);
	csr_request_free(r);
}

/* decode_req: csr_request_decode on a request made elsewhere. */
static int
decode_req(X509_REQ *req)
{
	struct csr_request *r = NULL;
	uint8_t *der = NULL;
	int len, rc;

	CU_ASSERT_PTR_NOT_NULL_FATAL(req);
	CU_ASSERT_FATAL((len = i2d_X509_REQ(req, &der)) > 0);
	rc = csr_request_decode(&r, ver, der, (size_t)len);
	CU_ASSERT_PTR_NULL(r);
	csr_request_free(r);
	OPENSSL_free(der);
	return rc;
}

/*
 * The critical forgery: a key with e = 1 "signs" by padding the digest.
 * OpenSSL's X509_REQ_verify accepts it; the decoder refuses it, on the
 * key, before any signature is looked at.
 */
static void
test_exponent_one(void)
{
	EVP_PKEY *pk = weak_rsa_e1(2048);
	X509_REQ *req = weak_rsa_req(pk, "forged.example.internal", 1);

	CU_ASSERT_EQUAL(X509_REQ_verify(req, pk), 1);
	CU_ASSERT_EQUAL(decode_req(req), CA_ERR_POLICY);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(),
	    "CSR key: RSA public exponent 1 is refused"));
	X509_REQ_free(req);
	EVP_PKEY_free(pk);
}

/* Correctly signed requests whose keys are known to be breakable. */
static void
test_breakable_rsa(void)
{
	BIGNUM *p = BN_new(), *q = BN_new();
	EVP_PKEY *pk;
	X509_REQ *req;

	CU_ASSERT_FATAL(weak_rsa_roca_prime(p, 1024) &&
	    weak_rsa_roca_prime(q, 1024));
	pk = weak_rsa_private(p, q, NULL);
	req = weak_rsa_req(pk, "roca.example.internal", 0);
	CU_ASSERT_EQUAL(decode_req(req), CA_ERR_POLICY);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "ROCA"));
	X509_REQ_free(req);
	EVP_PKEY_free(pk);
	CU_ASSERT_FATAL(weak_rsa_close_primes(p, q, 1024));
	pk = weak_rsa_private(p, q, NULL);
	req = weak_rsa_req(pk, "fermat.example.internal", 0);
	CU_ASSERT_EQUAL(decode_req(req), CA_ERR_POLICY);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "Fermat"));
	X509_REQ_free(req);
	EVP_PKEY_free(pk);
	BN_free(p);
	BN_free(q);
}

/* P-256 with explicit parameters: refused at the CSR, not at signing. */
static void
test_explicit_curve(void)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	EVP_PKEY *pk = NULL;
	OSSL_PARAM params[3];
	struct req_spec spec = { .san = "DNS:x.example.internal" };

	params[0] = OSSL_PARAM_construct_utf8_string(
	    OSSL_PKEY_PARAM_GROUP_NAME, (char *)"P-256", 0);
	params[1] = OSSL_PARAM_construct_utf8_string(
	    OSSL_PKEY_PARAM_EC_ENCODING, (char *)"explicit", 0);
	params[2] = OSSL_PARAM_construct_end();
	CU_ASSERT_FATAL(ctx != NULL && EVP_PKEY_keygen_init(ctx) == 1 &&
	    EVP_PKEY_CTX_set_params(ctx, params) == 1 &&
	    EVP_PKEY_generate(ctx, &pk) == 1);
	refused(pk, &spec, CA_ERR_POLICY, "explicit curve parameters");
	EVP_PKEY_free(pk);
	EVP_PKEY_CTX_free(ctx);
}

/*
 * The request hash (info_hash) is the same for two signatures of the same
 * request (ECDSA signs anew each time, so the DER differs), and differs
 * for another key or other names; on the RSA path too.
 */
static void
test_info_hash(void)
{
	const struct req_spec a = { .cn = "a.example.internal",
	    .san = "DNS:a.example.internal" };
	const struct req_spec b = { .cn = "a.example.internal",
	    .san = "DNS:a.example.internal,DNS:b.example.internal" };
	struct csr_request *r1 = NULL, *r2 = NULL, *r3 = NULL, *r4 = NULL;
	struct csr_request *r5 = NULL, *r6 = NULL;
	uint8_t *d1 = NULL, *d2 = NULL;
	int l1, l2;

	l1 = make_csr(&d1, p256, &a);
	l2 = make_csr(&d2, p256, &a);
	CU_ASSERT_FATAL(l1 > 0 && l2 > 0);
	/* Two signatures of one request: different bytes ... */
	CU_ASSERT(l1 != l2 || memcmp(d1, d2, (size_t)l1) != 0);
	CU_ASSERT_EQUAL_FATAL(csr_request_decode(&r1, ver, d1, (size_t)l1),
	    CA_OK);
	CU_ASSERT_EQUAL_FATAL(csr_request_decode(&r2, ver, d2, (size_t)l2),
	    CA_OK);
	/* ... one request hash. */
	CU_ASSERT_EQUAL(memcmp(r1->info_hash, r2->info_hash,
	    sizeof(r1->info_hash)), 0);
	/* Other names, another key: another hash. */
	CU_ASSERT_EQUAL_FATAL(decode(&r3, p256, &b), CA_OK);
	CU_ASSERT_NOT_EQUAL(memcmp(r1->info_hash, r3->info_hash,
	    sizeof(r1->info_hash)), 0);
	CU_ASSERT_EQUAL_FATAL(decode(&r4, p384, &a), CA_OK);
	CU_ASSERT_NOT_EQUAL(memcmp(r1->info_hash, r4->info_hash,
	    sizeof(r1->info_hash)), 0);
	/* The general (RSA) path sets it too. */
	CU_ASSERT_EQUAL_FATAL(decode(&r5, rsa2048, &a), CA_OK);
	CU_ASSERT_EQUAL_FATAL(decode(&r6, rsa2048, &a), CA_OK);
	CU_ASSERT_EQUAL(memcmp(r5->info_hash, r6->info_hash,
	    sizeof(r5->info_hash)), 0);
	CU_ASSERT_NOT_EQUAL(memcmp(r1->info_hash, r5->info_hash,
	    sizeof(r1->info_hash)), 0);
	OPENSSL_free(d1);
	OPENSSL_free(d2);
	csr_request_free(r1);
	csr_request_free(r2);
	csr_request_free(r3);
	csr_request_free(r4);
	csr_request_free(r5);
	csr_request_free(r6);
}

static CU_TestInfo tests[] = {
	{ "P-256 accepted, names and SPKI exact", test_accept_p256 },
	{ "P-384 accepted, names and SPKI exact", test_accept_p384 },
	{ "RSA-2048 accepted (fallback path)", test_accept_rsa2048 },
	{ "CN only: the CN is the name", test_cn_only },
	{ "RSA-1024, secp256k1, Ed25519 refused", test_weak_keys },
	{ "EC: bad signature, truncated, trailing", test_tampered_ec },
	{ "RSA: bad signature, truncated, trailing", test_tampered_rsa },
	{ "CA:TRUE, keyCertSign, cRLSign refused", test_ca_powers },
	{ "IP SAN, O=, CN not a SAN, no names", test_names },
	{ "control bytes in CN or dNSName refused", test_control_bytes },
	{ "DNS names in preferred name syntax", test_name_syntax },
	{ "RSA e = 1 forgery refused before verifying", test_exponent_one },
	{ "ROCA and Fermat-factorable RSA refused", test_breakable_rsa },
	{ "EC explicit curve parameters refused", test_explicit_curve },
	{ "info_hash: same request, same hash", test_info_hash },
	CU_TEST_INFO_NULL,
};

UNIT_MAIN_FIXTURE("csr", setup, teardown, tests)
