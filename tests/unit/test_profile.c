/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for common/profile.c: profile sections (pathlen, name
 * constraints, EKU, AIA, CDP, key_types) loaded from an NCONF file, bad
 * extension values refused with the key named, a profile applied to a
 * certificate signed with a software key and its extensions decoded back
 * with OpenSSL (and the chain checked by X509_verify_cert), serials, the
 * key policy, CSR checks (including the committed hostile CSRs in
 * tests/data/bad/) and strict PEM/DER readers. No HSM is involved.
 */
#include "config.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/ca_config.h"
#include "common/ca_error.h"
#include "common/fileio.h"
#include "common/profile.h"
#include "tests/unit/unit.h"

static char dir[256];
static struct config *cnf;
static EVP_PKEY *k256, *k256b, *k384, *krsa2048, *krsa1024, *kk1, *ked;

static const char profile_cnf[] =
    "[ica]\n"
    "basicConstraints      = critical, CA:TRUE, pathlen:0\n"
    "keyUsage              = critical, keyCertSign, cRLSign\n"
    "extendedKeyUsage      = serverAuth, clientAuth\n"
    "nameConstraints       = critical, permitted;DNS:example.internal, "
    "excluded;DNS:bad.example.internal\n"
    "authorityInfoAccess   = OCSP;URI:http://ocsp.example.internal/, "
    "caIssuers;URI:http://pki.example.internal/root.crt\n"
    "crlDistributionPoints = URI:http://pki.example.internal/root.crl\n"
    "certificatePolicies   = @policy\n"
    "\n"
    "[policy]\n"
    "policyIdentifier = 1.3.6.1.4.1.55555.1.2\n"
    "CPS.1 = http://pki.example.internal/cps\n"
    "\n"
    "[ica_path2]\n"
    "basicConstraints = critical, CA:TRUE, pathlen:2\n"
    "\n"
    "[ica_nopath]\n"
    "basicConstraints = critical, CA:TRUE\n"
    "keyUsage = keyCertSign\n"
    "\n"
    "[leaf]\n"
    "basicConstraints = critical, CA:FALSE\n"
    "keyUsage = critical, digitalSignature\n"
    "subjectKeyIdentifier = hash\n"
    "authorityKeyIdentifier = keyid\n"
    "\n"
    "[empty_profile]\n"
    "\n"
    "[bad_name]\n"
    "basicConstrains = critical, CA:TRUE\n"
    "[bad_bc]\n"
    "basicConstraints = critical, CA:maybe\n"
    "[bad_pathlen]\n"
    "basicConstraints = critical, CA:FALSE, pathlen:1\n"
    "[bad_pathlen_big]\n"
    "basicConstraints = critical, CA:TRUE, pathlen:65\n"
    "[bad_ku]\n"
    "keyUsage = critical, keyCertSign, signEverything\n"
    "[bad_eku]\n"
    "extendedKeyUsage = serverAuth, notAPurpose\n"
    "[bad_nc]\n"
    "nameConstraints = critical, permitted;DNZ:.example.internal\n"
    "[bad_aia]\n"
    "authorityInfoAccess = OCSP;URL:http://ocsp.example.internal/\n"
    "[bad_aia_method]\n"
    "authorityInfoAccess = OSCP;URI:http://ocsp.example.internal/\n"
    "[bad_cdp]\n"
    "crlDistributionPoints = FOO:http://pki.example.internal/root.crl\n"
    "[bad_ref]\n"
    "certificatePolicies = @no_such_policy\n"
    "\n"
    "[dn]\n"
    "C = XX\n"
    "O = Example Org\n"
    "1.OU = Unit One\n"
    "2.OU = Unit Two\n"
    "CN = Example Issuing CA 1\n"
    "[dn_multi]\n"
    "O = Example Org\n"
    "CN = Multi\n"
    "+UID = m1\n"
    "[dn_badattr]\n"
    "O = Example Org\n"
    "Planet = Mars\n"
    "[dn_empty_value]\n"
    "CN =\n"
    "[dn_plus_first]\n"
    "+CN = x\n"
    "[dn_nothing]\n";

static int
rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static EVP_PKEY *
keygen_ec(const char *curve)
{
	return EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);
}

static EVP_PKEY *
keygen_rsa(size_t bits)
{
	return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", bits);
}

static int
setup(void)
{
	const char *tmp = getenv("TMPDIR");
	char p[512];
	FILE *f;

	snprintf(dir, sizeof(dir), "%s/test_profile.XXXXXX",
	    tmp != NULL ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(p, sizeof(p), "%s/profile.cnf", dir);
	if ((f = fopen(p, "w")) == NULL)
		return 1;
	fputs(profile_cnf, f);
	if (fclose(f) != 0)
		return 1;
	if (config_load(&cnf, p) != CA_OK) {
		fprintf(stderr, "%s\n", ca_error_detail());
		return 1;
	}
	k256 = keygen_ec("P-256");
	k256b = keygen_ec("P-256");
	k384 = keygen_ec("P-384");
	kk1 = keygen_ec("secp256k1");
	krsa2048 = keygen_rsa(2048);
	krsa1024 = keygen_rsa(1024);
	ked = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	return k256 == NULL || k256b == NULL || k384 == NULL || kk1 == NULL ||
	    krsa2048 == NULL || krsa1024 == NULL || ked == NULL;
}

static int
teardown(void)
{
	EVP_PKEY_free(k256);
	EVP_PKEY_free(k256b);
	EVP_PKEY_free(k384);
	EVP_PKEY_free(kk1);
	EVP_PKEY_free(krsa2048);
	EVP_PKEY_free(krsa1024);
	EVP_PKEY_free(ked);
	config_free(cnf);
	return nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0;
}

static int
detail_has(const char *s)
{
	if (strstr(ca_error_detail(), s) != NULL)
		return 1;
	fprintf(stderr, "\n  detail \"%s\" lacks \"%s\"\n", ca_error_detail(),
	    s);
	return 0;
}

/* cert_new: an unsigned v3 certificate for pk, issued by issuer or self. */
static X509 *
cert_new(EVP_PKEY *pk, const char *cn, X509 *issuer)
{
	ASN1_INTEGER *serial = NULL;
	X509_NAME *name = NULL;
	X509 *x = NULL;

	if ((x = X509_new()) == NULL || X509_set_version(x, 2) != 1 ||
	    profile_serial_random(&serial) != CA_OK ||
	    X509_set_serialNumber(x, serial) != 1 ||
	    (name = X509_NAME_new()) == NULL ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0) != 1 ||
	    X509_set_subject_name(x, name) != 1 ||
	    X509_set_issuer_name(x, issuer != NULL ?
	    X509_get_subject_name(issuer) : name) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -60) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), 86400) == NULL ||
	    X509_set_pubkey(x, pk) != 1) {
		X509_free(x);
		x = NULL;
	}
	ASN1_INTEGER_free(serial);
	X509_NAME_free(name);
	return x;
}

/* req_new: a CSR for pk signed by pk, requesting bc when not NULL. */
static X509_REQ *
req_new(EVP_PKEY *pk, const char *cn, const char *bc)
{
	STACK_OF(X509_EXTENSION) *exts = NULL;
	X509_EXTENSION *ext = NULL;
	X509_NAME *name = NULL;
	X509_REQ *r = NULL;
	int ok = 0;

	if ((r = X509_REQ_new()) == NULL || X509_REQ_set_version(r, 0) != 1 ||
	    (name = X509_NAME_new()) == NULL)
		goto out;
	if (cn != NULL && X509_NAME_add_entry_by_txt(name, "CN",
	    MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0) != 1)
		goto out;
	if (X509_REQ_set_subject_name(r, name) != 1 ||
	    X509_REQ_set_pubkey(r, pk) != 1)
		goto out;
	if (bc != NULL) {
		if ((exts = sk_X509_EXTENSION_new_null()) == NULL ||
		    (ext = X509V3_EXT_conf_nid(NULL, NULL,
		    NID_basic_constraints, bc)) == NULL ||
		    sk_X509_EXTENSION_push(exts, ext) == 0)
			goto out;
		ext = NULL;
		if (X509_REQ_add_extensions(r, exts) != 1)
			goto out;
	}
	if (X509_REQ_sign(r, pk, EVP_sha256()) <= 0)
		goto out;
	ok = 1;
 out:
	X509_EXTENSION_free(ext);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_NAME_free(name);
	if (!ok) {
		X509_REQ_free(r);
		r = NULL;
	}
	return r;
}

/* read_data reads tests/data/bad/NAME from the source tree. */
static uint8_t *
read_data(size_t *len, const char *name)
{
	const char *top = getenv("top_srcdir");
	uint8_t *buf = NULL;
	char p[1024];

	snprintf(p, sizeof(p), "%s/tests/data/bad/%s",
	    top != NULL ? top : ".", name);
	if (fileio_read(&buf, len, p, FILEIO_MAX_SMALL) != CA_OK)
		fprintf(stderr, "\n  %s (set top_srcdir)\n", ca_error_detail());
	return buf;
}

static void
test_load(void)
{
	struct profile *p = NULL;

	CU_ASSERT_EQUAL_FATAL(profile_load(&p, cnf, "ica", NULL), CA_OK);
	CU_ASSERT_STRING_EQUAL(p->section, "ica");
	CU_ASSERT_EQUAL(p->has_bc, 1);
	CU_ASSERT_EQUAL(p->bc_critical, 1);
	CU_ASSERT_EQUAL(p->ca, 1);
	CU_ASSERT_EQUAL(p->pathlen, 0);
	CU_ASSERT_EQUAL(p->has_ku, 1);
	CU_ASSERT_EQUAL(p->ku_critical, 1);
	CU_ASSERT_EQUAL(p->ku_cert_sign, 1);
	CU_ASSERT_EQUAL(p->ku_crl_sign, 1);
	CU_ASSERT_EQUAL(p->has_ski, 0);
	CU_ASSERT_EQUAL(p->has_aki, 0);
	CU_ASSERT_EQUAL(p->nexts, 7);
	profile_free(p);

	CU_ASSERT_EQUAL_FATAL(profile_load(&p, cnf, "ica_path2", NULL), CA_OK);
	CU_ASSERT_EQUAL(p->pathlen, 2);
	CU_ASSERT_EQUAL(p->has_ku, 0);
	CU_ASSERT_EQUAL(p->nexts, 1);
	profile_free(p);

	CU_ASSERT_EQUAL_FATAL(profile_load(&p, cnf, "ica_nopath", NULL),
	    CA_OK);
	CU_ASSERT_EQUAL(p->ca, 1);
	CU_ASSERT_EQUAL(p->pathlen, -1);
	CU_ASSERT_EQUAL(p->ku_critical, 0);
	CU_ASSERT_EQUAL(p->ku_cert_sign, 1);
	CU_ASSERT_EQUAL(p->ku_crl_sign, 0);
	profile_free(p);

	CU_ASSERT_EQUAL_FATAL(profile_load(&p, cnf, "leaf", NULL), CA_OK);
	CU_ASSERT_EQUAL(p->ca, 0);
	CU_ASSERT_EQUAL(p->pathlen, -1);
	CU_ASSERT_EQUAL(p->ku_cert_sign, 0);
	CU_ASSERT_EQUAL(p->has_ski, 1);
	CU_ASSERT_EQUAL(p->has_aki, 1);
	profile_free(p);

	CU_ASSERT_EQUAL_FATAL(profile_load(&p, cnf, "empty_profile", NULL),
	    CA_OK);
	CU_ASSERT_EQUAL(p->has_bc, 0);
	CU_ASSERT_EQUAL(p->nexts, 0);
	profile_free(p);
	profile_free(NULL);

	/* A missing or misspelled section names whoever referred to it. */
	p = (struct profile *)&p;
	CU_ASSERT_EQUAL(profile_load(&p, cnf, "icaa", "[intermediate] profile"),
	    CA_ERR_CONFIG);
	CU_ASSERT_PTR_NULL(p);
	CU_ASSERT(detail_has("profile.cnf: [intermediate] profile: section "
	    "[icaa] is missing (did you mean [ica]?)"));
	CU_ASSERT_EQUAL(profile_load(&p, cnf, "nope", NULL), CA_ERR_CONFIG);
	CU_ASSERT(detail_has("[nope]: missing section"));
}

static void
test_load_bad(void)
{
	static const struct {
		const char *section, *want;
	} bad[] = {
		{ "bad_name", "[bad_name] basicConstrains: not a valid "
		    "extension" },
		{ "bad_bc", "[bad_bc] basicConstraints: not a valid" },
		{ "bad_pathlen", "[bad_pathlen] basicConstraints: RFC 5280 "
		    "4.2.1.9: pathlen without CA:TRUE" },
		{ "bad_pathlen_big", "[bad_pathlen_big] basicConstraints: "
		    "pathlen out of range" },
		{ "bad_ku", "[bad_ku] keyUsage: not a valid" },
		{ "bad_eku", "[bad_eku] extendedKeyUsage: not a valid" },
		{ "bad_nc", "[bad_nc] nameConstraints: not a valid" },
		{ "bad_aia", "[bad_aia] authorityInfoAccess: not a valid" },
		{ "bad_aia_method", "[bad_aia_method] authorityInfoAccess: "
		    "not a valid" },
		{ "bad_cdp", "[bad_cdp] crlDistributionPoints: not a valid" },
		{ "bad_ref", "[bad_ref] certificatePolicies: not a valid" },
	};
	struct profile *p;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p = (struct profile *)&p;
		CU_ASSERT_EQUAL(profile_load(&p, cnf, bad[i].section, NULL),
		    CA_ERR_CONFIG);
		CU_ASSERT_PTR_NULL(p);
		CU_ASSERT(detail_has(bad[i].want));
		CU_ASSERT(detail_has("profile.cnf: "));
		profile_free(p);
	}
	/* The errors leave nothing on OpenSSL's queue for the next caller. */
	CU_ASSERT_EQUAL(ERR_peek_error(), 0);
}

static void
test_key_types(void)
{
	unsigned m = 99;

	CU_ASSERT_EQUAL(profile_key_types_parse(&m, "ec-p256 ec-p384", "kt"),
	    CA_OK);
	CU_ASSERT_EQUAL(m, PROFILE_KEY_EC_P256 | PROFILE_KEY_EC_P384);
	CU_ASSERT_EQUAL(profile_key_types_parse(&m,
	    " rsa-3072,rsa-4096 ,\tec-p384 ", "kt"), CA_OK);
	CU_ASSERT_EQUAL(m, PROFILE_KEY_RSA_3072 | PROFILE_KEY_RSA_4096 |
	    PROFILE_KEY_EC_P384);
	CU_ASSERT_EQUAL(profile_key_types_parse(&m, "rsa-2048", "kt"), CA_OK);
	CU_ASSERT_EQUAL(m, PROFILE_KEY_RSA_2048);

	CU_ASSERT_EQUAL(profile_key_types_parse(&m, "ec-p256 rsa-1024",
	    "x.cnf: [intermediate] key_types"), CA_ERR_CONFIG);
	CU_ASSERT_EQUAL(m, 0);
	CU_ASSERT(detail_has("x.cnf: [intermediate] key_types: unknown key "
	    "type \"rsa-1024\""));
	CU_ASSERT_EQUAL(profile_key_types_parse(&m, "ec-secp256k1", "kt"),
	    CA_ERR_CONFIG);
	CU_ASSERT_EQUAL(profile_key_types_parse(&m, "EC-P256", "kt"),
	    CA_ERR_CONFIG);
	CU_ASSERT_EQUAL(profile_key_types_parse(&m, "", "kt"), CA_ERR_CONFIG);
	CU_ASSERT(detail_has("kt: empty list of key types"));
	CU_ASSERT_EQUAL(profile_key_types_parse(&m, " , ", "kt"),
	    CA_ERR_CONFIG);
}

static void
test_key_check(void)
{
	char d[64];

	CU_ASSERT_STRING_EQUAL(profile_key_describe(d, sizeof(d), k256),
	    "EC P-256");
	CU_ASSERT_STRING_EQUAL(profile_key_describe(d, sizeof(d), k384),
	    "EC P-384");
	CU_ASSERT_STRING_EQUAL(profile_key_describe(d, sizeof(d), krsa2048),
	    "RSA 2048");
	CU_ASSERT_STRING_EQUAL(profile_key_describe(d, sizeof(d), kk1),
	    "EC secp256k1");

	CU_ASSERT_EQUAL(profile_key_check(k256, PROFILE_KEY_ALL, "k"), CA_OK);
	CU_ASSERT_EQUAL(profile_key_check(k384, PROFILE_KEY_ALL, "k"), CA_OK);
	CU_ASSERT_EQUAL(profile_key_check(krsa2048, PROFILE_KEY_ALL, "k"),
	    CA_OK);

	/* Refused whatever the profile allows. */
	CU_ASSERT_EQUAL(profile_key_check(krsa1024, PROFILE_KEY_ALL,
	    "weak.csr"), CA_ERR_POLICY);
	CU_ASSERT(detail_has("weak.csr: RSA 1024: RSA keys under 2048 bits "
	    "are refused"));
	CU_ASSERT_EQUAL(profile_key_check(kk1, PROFILE_KEY_ALL, "k1.csr"),
	    CA_ERR_POLICY);
	CU_ASSERT(detail_has("k1.csr: EC secp256k1: only the curves P-256 and "
	    "P-384"));
	CU_ASSERT_EQUAL(profile_key_check(ked, PROFILE_KEY_ALL, "ed.csr"),
	    CA_ERR_POLICY);
	CU_ASSERT(detail_has("ed.csr: "));

	/* Allowed by policy, not by the profile's key_types. */
	CU_ASSERT_EQUAL(profile_key_check(k256, PROFILE_KEY_EC_P384, "k"),
	    CA_ERR_POLICY);
	CU_ASSERT(detail_has("k: EC P-256: key type not allowed by the "
	    "profile's key_types"));
	CU_ASSERT_EQUAL(profile_key_check(k384, PROFILE_KEY_EC_P384, "k"),
	    CA_OK);
	CU_ASSERT_EQUAL(profile_key_check(krsa2048, PROFILE_KEY_RSA_3072 |
	    PROFILE_KEY_RSA_4096 | PROFILE_KEY_RSA_OTHER, "k"), CA_ERR_POLICY);
	CU_ASSERT_EQUAL(profile_key_check(krsa2048, PROFILE_KEY_RSA_2048, "k"),
	    CA_OK);
	CU_ASSERT_EQUAL(profile_key_check(k256, 0, "k"), CA_ERR_POLICY);
}

static void
test_digest(void)
{
	const EVP_MD *md;

	CU_ASSERT_EQUAL(profile_digest(&md, k384, NULL, "d"), CA_OK);
	CU_ASSERT_EQUAL(EVP_MD_get_type(md), NID_sha384);
	CU_ASSERT_EQUAL(profile_digest(&md, k256, NULL, "d"), CA_OK);
	CU_ASSERT_EQUAL(EVP_MD_get_type(md), NID_sha256);
	CU_ASSERT_EQUAL(profile_digest(&md, krsa2048, NULL, "d"), CA_OK);
	CU_ASSERT_EQUAL(EVP_MD_get_type(md), NID_sha256);
	CU_ASSERT_EQUAL(profile_digest(&md, k256, "sha512", "d"), CA_OK);
	CU_ASSERT_EQUAL(EVP_MD_get_type(md), NID_sha512);
	CU_ASSERT_EQUAL(profile_digest(&md, k384, "sha256", "d"), CA_OK);
	CU_ASSERT_EQUAL(EVP_MD_get_type(md), NID_sha256);
	CU_ASSERT_EQUAL(profile_digest(&md, k256, "sha1", "[root] digest"),
	    CA_ERR_POLICY);
	CU_ASSERT_PTR_NULL(md);
	CU_ASSERT(detail_has("[root] digest: digest \"sha1\" is not allowed"));
	CU_ASSERT_EQUAL(profile_digest(&md, k256, "md5", "d"), CA_ERR_POLICY);
	CU_ASSERT_EQUAL(profile_digest(&md, k256, "SHA256", "d"),
	    CA_ERR_POLICY);
}

static void
test_serial(void)
{
	enum { N = 64 };
	ASN1_INTEGER *s[N];
	BIGNUM *bn;
	unsigned char *der, *q;
	int i, j, len;

	for (i = 0; i < N; i++) {
		s[i] = NULL;
		CU_ASSERT_EQUAL_FATAL(profile_serial_random(&s[i]), CA_OK);
		CU_ASSERT_PTR_NOT_NULL_FATAL(s[i]);
		/* Positive (not V_ASN1_NEG_INTEGER) and not zero. */
		CU_ASSERT_EQUAL(ASN1_STRING_type(s[i]), V_ASN1_INTEGER);
		bn = ASN1_INTEGER_to_BN(s[i], NULL);
		CU_ASSERT_PTR_NOT_NULL_FATAL(bn);
		CU_ASSERT_EQUAL(BN_is_negative(bn), 0);
		CU_ASSERT_EQUAL(BN_is_zero(bn), 0);
		/*
		 * 128 random bits: fewer than 64 significant bits happens
		 * with probability 2^-64. RFC 5280 4.1.2.2: at most 20
		 * content octets.
		 */
		CU_ASSERT(BN_num_bits(bn) >= 64);
		CU_ASSERT(BN_num_bits(bn) <= 8 * PROFILE_SERIAL_BYTES);
		BN_free(bn);
		der = NULL;
		len = i2d_ASN1_INTEGER(s[i], &der);
		CU_ASSERT(len > 2 && len <= 2 + 20);
		if (len > 2) {
			q = der;
			CU_ASSERT_EQUAL(q[0], V_ASN1_INTEGER);
			CU_ASSERT_EQUAL(q[2] & 0x80, 0);
		}
		OPENSSL_free(der);
		for (j = 0; j < i; j++)
			CU_ASSERT_NOT_EQUAL(ASN1_INTEGER_cmp(s[i], s[j]), 0);
	}
	for (i = 0; i < N; i++)
		ASN1_INTEGER_free(s[i]);
}

static void
test_spki(void)
{
	uint8_t h[FILEIO_SHA256_LEN], h2[FILEIO_SHA256_LEN];
	char hex[FILEIO_SHA256_HEX], hex2[FILEIO_SHA256_HEX];
	unsigned char *der = NULL;
	unsigned int hl = 0;
	X509 *x;
	int len;

	/* The same bytes as the SPKI inside a certificate for the key. */
	x = cert_new(k256, "spki", NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);
	CU_ASSERT_FATAL(len > 0);
	CU_ASSERT_EQUAL(EVP_Digest(der, (size_t)len, h2, &hl, EVP_sha256(),
	    NULL), 1);
	OPENSSL_free(der);
	X509_free(x);
	CU_ASSERT_EQUAL(profile_spki_sha256(h, k256), CA_OK);
	CU_ASSERT(memcmp(h, h2, sizeof(h)) == 0);
	CU_ASSERT_EQUAL(profile_spki_hex(hex, k256), CA_OK);
	CU_ASSERT_STRING_EQUAL(hex, fileio_hex(hex2, h2, sizeof(h2)));
	CU_ASSERT_EQUAL(profile_spki_hex(hex2, k256b), CA_OK);
	CU_ASSERT_STRING_NOT_EQUAL(hex, hex2);
}

static void
test_name(void)
{
	X509_NAME *n = NULL;
	char *s;

	CU_ASSERT_EQUAL_FATAL(profile_name_from_section(&n, cnf, "dn", NULL),
	    CA_OK);
	CU_ASSERT_EQUAL(X509_NAME_entry_count(n), 5);
	s = profile_name_string(n);
	CU_ASSERT_PTR_NOT_NULL(s);
	/* RFC 2253 prints the last RDN first. */
	if (s != NULL)
		CU_ASSERT_STRING_EQUAL(s, "CN=Example Issuing CA 1,OU=Unit Two,"
		    "OU=Unit One,O=Example Org,C=XX");
	free(s);
	X509_NAME_free(n);

	/* An empty name (a CSR with SANs only, RFC 5280 4.2.1.6) is "". */
	CU_ASSERT_PTR_NOT_NULL_FATAL(n = X509_NAME_new());
	s = profile_name_string(n);
	CU_ASSERT_PTR_NOT_NULL(s);
	if (s != NULL)
		CU_ASSERT_STRING_EQUAL(s, "");
	free(s);
	X509_NAME_free(n);

	CU_ASSERT_EQUAL_FATAL(profile_name_from_section(&n, cnf, "dn_multi",
	    NULL), CA_OK);
	CU_ASSERT_EQUAL(X509_NAME_entry_count(n), 3);
	/* CN and UID share one RDN. */
	CU_ASSERT_EQUAL(X509_NAME_ENTRY_set(X509_NAME_get_entry(n, 1)),
	    X509_NAME_ENTRY_set(X509_NAME_get_entry(n, 2)));
	CU_ASSERT_NOT_EQUAL(X509_NAME_ENTRY_set(X509_NAME_get_entry(n, 0)),
	    X509_NAME_ENTRY_set(X509_NAME_get_entry(n, 1)));
	X509_NAME_free(n);

	n = (X509_NAME *)&n;
	CU_ASSERT_EQUAL(profile_name_from_section(&n, cnf, "dn_badattr",
	    NULL), CA_ERR_CONFIG);
	CU_ASSERT_PTR_NULL(n);
	CU_ASSERT(detail_has("profile.cnf: [dn_badattr] Planet: unknown "
	    "attribute type"));
	CU_ASSERT_EQUAL(profile_name_from_section(&n, cnf, "dn_empty_value",
	    NULL), CA_ERR_CONFIG);
	CU_ASSERT(detail_has("[dn_empty_value] CN: empty value"));
	CU_ASSERT_EQUAL(profile_name_from_section(&n, cnf, "dn_plus_first",
	    NULL), CA_ERR_CONFIG);
	CU_ASSERT(detail_has("[dn_plus_first] +CN"));
	CU_ASSERT_EQUAL(profile_name_from_section(&n, cnf, "dn_nothing",
	    NULL), CA_ERR_CONFIG);
	CU_ASSERT(detail_has("[dn_nothing]: RFC 5280 4.1.2.6"));
	CU_ASSERT_EQUAL(profile_name_from_section(&n, cnf, "root_dn",
	    "[root] subject"), CA_ERR_CONFIG);
	CU_ASSERT(detail_has("[root] subject: section [root_dn] is missing"));
}

/* make_root: a self-signed CA certificate for key, signed. */
static X509 *
make_root(EVP_PKEY *key)
{
	X509 *root;

	root = cert_new(key, "Unit Root", NULL);
	if (root == NULL)
		return NULL;
	if (profile_ca_complete(root, root, 1, "root") != CA_OK ||
	    X509_sign(root, key, EVP_sha256()) <= 0) {
		X509_free(root);
		return NULL;
	}
	return root;
}

static void
test_ca_complete(void)
{
	BASIC_CONSTRAINTS *bc;
	X509 *root, *x;
	int crit;

	root = make_root(k256);
	CU_ASSERT_PTR_NOT_NULL_FATAL(root);
	bc = X509_get_ext_d2i(root, NID_basic_constraints, &crit, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(bc);
	CU_ASSERT_EQUAL(crit, 1);
	CU_ASSERT(bc->ca != 0);
	CU_ASSERT_PTR_NULL(bc->pathlen);
	BASIC_CONSTRAINTS_free(bc);
	CU_ASSERT_EQUAL(X509_get_key_usage(root),
	    (uint32_t)(KU_KEY_CERT_SIGN | KU_CRL_SIGN));
	CU_ASSERT_EQUAL(X509_get_extension_flags(root) & EXFLAG_CRITICAL, 0);
	CU_ASSERT_PTR_NOT_NULL(X509_get0_subject_key_id(root));
	/* Self-signed: no authorityKeyIdentifier is added. */
	CU_ASSERT_EQUAL(X509_get_ext_by_NID(root, NID_authority_key_identifier,
	    -1), -1);
	CU_ASSERT_EQUAL(X509_check_ca(root), 1);
	CU_ASSERT_EQUAL(profile_cert_verify(root, k256, "root"), CA_OK);
	CU_ASSERT_EQUAL(profile_cert_verify(root, k256b, "root.pem"),
	    CA_ERR_VERIFY);
	CU_ASSERT(detail_has("root.pem: the certificate's signature does not "
	    "verify"));

	/* Contradictions are refused, not patched over. */
	x = cert_new(k256b, "x", root);
	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	CU_ASSERT_EQUAL(profile_add_ext(x, root, NID_basic_constraints,
	    "critical,CA:FALSE"), CA_OK);
	CU_ASSERT_EQUAL(profile_ca_complete(x, root, 1, "ica"), CA_ERR_POLICY);
	CU_ASSERT(detail_has("ica: RFC 5280 4.2.1.9"));
	X509_free(x);

	x = cert_new(k256b, "x", root);
	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	CU_ASSERT_EQUAL(profile_add_ext(x, root, NID_basic_constraints,
	    "CA:TRUE"), CA_OK);
	CU_ASSERT_EQUAL(profile_ca_complete(x, root, 1, "ica"), CA_ERR_POLICY);
	X509_free(x);

	x = cert_new(k256b, "x", root);
	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	CU_ASSERT_EQUAL(profile_add_ext(x, root, NID_key_usage,
	    "critical,keyCertSign"), CA_OK);
	CU_ASSERT_EQUAL(profile_ca_complete(x, root, 1, "ica"), CA_ERR_POLICY);
	CU_ASSERT(detail_has("ica: RFC 5280 4.2.1.3"));
	/* Without require_crl_sign keyCertSign alone is enough. */
	CU_ASSERT_EQUAL(profile_ca_complete(x, root, 0, "ica"), CA_OK);
	CU_ASSERT(X509_get_ext_by_NID(x, NID_authority_key_identifier, -1) >=
	    0);
	CU_ASSERT(X509_get_ext_by_NID(x, NID_subject_key_identifier, -1) >= 0);
	CU_ASSERT_EQUAL(profile_add_ext(x, root, NID_key_usage,
	    "critical,keyCertSign"), CA_ERR_INTERNAL);
	X509_free(x);

	x = cert_new(k256b, "x", root);
	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	CU_ASSERT_EQUAL(profile_add_ext(x, root, NID_key_usage,
	    "keyCertSign,cRLSign"), CA_OK);
	CU_ASSERT_EQUAL(profile_ca_complete(x, root, 1, "ica"), CA_ERR_POLICY);
	X509_free(x);
	X509_free(root);
}

static int
gn_is_uri(const GENERAL_NAME *gn, const char *uri)
{
	const ASN1_IA5STRING *s;

	if (gn == NULL || gn->type != GEN_URI)
		return 0;
	s = gn->d.uniformResourceIdentifier;
	return (size_t)ASN1_STRING_length(s) == strlen(uri) &&
	    memcmp(ASN1_STRING_get0_data(s), uri, strlen(uri)) == 0;
}

static int
gn_is_dns(const GENERAL_NAME *gn, const char *dns)
{
	const ASN1_IA5STRING *s;

	if (gn == NULL || gn->type != GEN_DNS)
		return 0;
	s = gn->d.dNSName;
	return (size_t)ASN1_STRING_length(s) == strlen(dns) &&
	    memcmp(ASN1_STRING_get0_data(s), dns, strlen(dns)) == 0;
}

static void
check_ica_extensions(X509 *ica, X509 *root)
{
	BASIC_CONSTRAINTS *bc;
	ASN1_BIT_STRING *ku;
	EXTENDED_KEY_USAGE *eku;
	NAME_CONSTRAINTS *nc;
	AUTHORITY_INFO_ACCESS *aia;
	ACCESS_DESCRIPTION *ad;
	CRL_DIST_POINTS *cdp;
	DIST_POINT *dp;
	CERTIFICATEPOLICIES *cp;
	POLICYINFO *pi;
	GENERAL_SUBTREE *st;
	const ASN1_OCTET_STRING *ski, *rski, *akid;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char oid[64];
	int crit;

	bc = X509_get_ext_d2i(ica, NID_basic_constraints, &crit, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(bc);
	CU_ASSERT_EQUAL(crit, 1);
	CU_ASSERT(bc->ca != 0);
	CU_ASSERT_PTR_NOT_NULL(bc->pathlen);
	CU_ASSERT_EQUAL(ASN1_INTEGER_get(bc->pathlen), 0);
	BASIC_CONSTRAINTS_free(bc);

	ku = X509_get_ext_d2i(ica, NID_key_usage, &crit, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ku);
	CU_ASSERT_EQUAL(crit, 1);
	ASN1_BIT_STRING_free(ku);
	CU_ASSERT_EQUAL(X509_get_key_usage(ica),
	    (uint32_t)(KU_KEY_CERT_SIGN | KU_CRL_SIGN));

	eku = X509_get_ext_d2i(ica, NID_ext_key_usage, &crit, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(eku);
	CU_ASSERT_EQUAL(crit, 0);
	CU_ASSERT_EQUAL(sk_ASN1_OBJECT_num(eku), 2);
	CU_ASSERT_EQUAL(OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, 0)),
	    NID_server_auth);
	CU_ASSERT_EQUAL(OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, 1)),
	    NID_client_auth);
	sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);

	nc = X509_get_ext_d2i(ica, NID_name_constraints, &crit, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(nc);
	CU_ASSERT_EQUAL(crit, 1);
	CU_ASSERT_EQUAL(sk_GENERAL_SUBTREE_num(nc->permittedSubtrees), 1);
	st = sk_GENERAL_SUBTREE_value(nc->permittedSubtrees, 0);
	CU_ASSERT(st != NULL && gn_is_dns(st->base, "example.internal"));
	CU_ASSERT_EQUAL(sk_GENERAL_SUBTREE_num(nc->excludedSubtrees), 1);
	st = sk_GENERAL_SUBTREE_value(nc->excludedSubtrees, 0);
	CU_ASSERT(st != NULL && gn_is_dns(st->base, "bad.example.internal"));
	NAME_CONSTRAINTS_free(nc);

	aia = X509_get_ext_d2i(ica, NID_info_access, &crit, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(aia);
	CU_ASSERT_EQUAL(crit, 0);
	CU_ASSERT_EQUAL(sk_ACCESS_DESCRIPTION_num(aia), 2);
	ad = sk_ACCESS_DESCRIPTION_value(aia, 0);
	CU_ASSERT(ad != NULL && OBJ_obj2nid(ad->method) == NID_ad_OCSP &&
	    gn_is_uri(ad->location, "http://ocsp.example.internal/"));
	ad = sk_ACCESS_DESCRIPTION_value(aia, 1);
	CU_ASSERT(ad != NULL && OBJ_obj2nid(ad->method) == NID_ad_ca_issuers &&
	    gn_is_uri(ad->location, "http://pki.example.internal/root.crt"));
	AUTHORITY_INFO_ACCESS_free(aia);

	cdp = X509_get_ext_d2i(ica, NID_crl_distribution_points, &crit, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cdp);
	CU_ASSERT_EQUAL(crit, 0);
	CU_ASSERT_EQUAL(sk_DIST_POINT_num(cdp), 1);
	dp = sk_DIST_POINT_value(cdp, 0);
	CU_ASSERT_FATAL(dp != NULL && dp->distpoint != NULL);
	CU_ASSERT_EQUAL(dp->distpoint->type, 0);	/* fullName */
	CU_ASSERT_EQUAL(sk_GENERAL_NAME_num(dp->distpoint->name.fullname), 1);
	CU_ASSERT(gn_is_uri(sk_GENERAL_NAME_value(dp->distpoint->name.fullname,
	    0), "http://pki.example.internal/root.crl"));
	CRL_DIST_POINTS_free(cdp);

	/* A section reference (@policy) resolved through the config. */
	cp = X509_get_ext_d2i(ica, NID_certificate_policies, &crit, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cp);
	CU_ASSERT_EQUAL(sk_POLICYINFO_num(cp), 1);
	pi = sk_POLICYINFO_value(cp, 0);
	CU_ASSERT_FATAL(pi != NULL);
	OBJ_obj2txt(oid, sizeof(oid), pi->policyid, 1);
	CU_ASSERT_STRING_EQUAL(oid, "1.3.6.1.4.1.55555.1.2");
	CU_ASSERT_EQUAL(sk_POLICYQUALINFO_num(pi->qualifiers), 1);
	CERTIFICATEPOLICIES_free(cp);

	/* SKI is the SHA-1 of the key bits (RFC 5280 4.2.1.2 method 1). */
	ski = X509_get0_subject_key_id(ica);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ski);
	CU_ASSERT_EQUAL(X509_pubkey_digest(ica, EVP_sha1(), md, &mdlen), 1);
	CU_ASSERT_EQUAL(ASN1_STRING_length(ski), (int)mdlen);
	CU_ASSERT(memcmp(ASN1_STRING_get0_data(ski), md, mdlen) == 0);
	/* AKI names the root's SKI. */
	rski = X509_get0_subject_key_id(root);
	akid = X509_get0_authority_key_id(ica);
	CU_ASSERT_FATAL(rski != NULL && akid != NULL);
	CU_ASSERT_EQUAL(ASN1_OCTET_STRING_cmp(rski, akid), 0);
}

static void
test_apply(void)
{
	struct profile *p = NULL;
	X509_STORE *store = NULL;
	X509_STORE_CTX *sctx = NULL;
	X509 *root, *ica, *leaf;
	int ok;

	root = make_root(k384);
	CU_ASSERT_PTR_NOT_NULL_FATAL(root);
	CU_ASSERT_EQUAL_FATAL(profile_load(&p, cnf, "ica", NULL), CA_OK);
	ica = cert_new(k256, "Unit Issuing CA", root);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ica);
	CU_ASSERT_EQUAL(profile_apply(p, cnf, ica, root), CA_OK);
	CU_ASSERT_EQUAL(X509_get_ext_count(ica), 7);
	/* The profile agrees with RFC 5280, so nothing is refused. */
	CU_ASSERT_EQUAL(profile_ca_complete(ica, root, 1, "ica"), CA_OK);
	CU_ASSERT_EQUAL(X509_get_ext_count(ica), 9);	/* + SKI, AKI */
	CU_ASSERT(X509_sign(ica, k384, EVP_sha384()) > 0);
	CU_ASSERT_EQUAL(profile_cert_verify(ica, k384, "ica"), CA_OK);
	CU_ASSERT_EQUAL(profile_cert_verify(ica, k256, "ica"), CA_ERR_VERIFY);
	check_ica_extensions(ica, root);

	/* Applying twice: an extension the certificate already has. */
	CU_ASSERT_EQUAL(profile_apply(p, cnf, ica, root), CA_ERR_CONFIG);
	CU_ASSERT(detail_has("profile.cnf: [ica] basicConstraints: RFC 5280 "
	    "4.2: the certificate already has this extension"));

	/* A leaf under the intermediate passes OpenSSL's path validation. */
	leaf = cert_new(k256b, "host.example.internal", ica);
	CU_ASSERT_PTR_NOT_NULL_FATAL(leaf);
	CU_ASSERT_EQUAL(profile_add_ext(leaf, ica, NID_subject_alt_name,
	    "DNS:host.example.internal"), CA_OK);
	CU_ASSERT_EQUAL(profile_add_ext(leaf, ica, NID_authority_key_identifier,
	    "keyid:always"), CA_OK);
	CU_ASSERT_EQUAL(profile_add_ext(leaf, ica, NID_ext_key_usage,
	    "serverAuth"), CA_OK);
	CU_ASSERT(X509_sign(leaf, k256, EVP_sha256()) > 0);

	store = X509_STORE_new();
	sctx = X509_STORE_CTX_new();
	CU_ASSERT_FATAL(store != NULL && sctx != NULL);
	CU_ASSERT_EQUAL(X509_STORE_add_cert(store, root), 1);
	CU_ASSERT_EQUAL(X509_STORE_add_cert(store, ica), 1);
	X509_STORE_set_flags(store, X509_V_FLAG_X509_STRICT);
	CU_ASSERT_EQUAL_FATAL(X509_STORE_CTX_init(sctx, store, leaf, NULL), 1);
	X509_STORE_CTX_set_purpose(sctx, X509_PURPOSE_SSL_SERVER);
	ok = X509_verify_cert(sctx);
	if (ok != 1)
		fprintf(stderr, "\n  verify: %s\n",
		    X509_verify_cert_error_string(
		    X509_STORE_CTX_get_error(sctx)));
	CU_ASSERT_EQUAL(ok, 1);
	X509_STORE_CTX_cleanup(sctx);
	X509_free(leaf);

	/* The name constraints bite: a name outside them is rejected. */
	leaf = cert_new(k256b, "www.example.com", ica);
	CU_ASSERT_PTR_NOT_NULL_FATAL(leaf);
	CU_ASSERT_EQUAL(profile_add_ext(leaf, ica, NID_subject_alt_name,
	    "DNS:www.example.com"), CA_OK);
	CU_ASSERT_EQUAL(profile_add_ext(leaf, ica, NID_authority_key_identifier,
	    "keyid:always"), CA_OK);
	CU_ASSERT(X509_sign(leaf, k256, EVP_sha256()) > 0);
	CU_ASSERT_EQUAL_FATAL(X509_STORE_CTX_init(sctx, store, leaf, NULL), 1);
	CU_ASSERT_EQUAL(X509_verify_cert(sctx), 0);
	CU_ASSERT_EQUAL(X509_STORE_CTX_get_error(sctx),
	    X509_V_ERR_PERMITTED_VIOLATION);
	X509_STORE_CTX_cleanup(sctx);
	X509_free(leaf);

	X509_STORE_CTX_free(sctx);
	X509_STORE_free(store);
	X509_free(ica);
	profile_free(p);

	/* A leaf profile with its own SKI and AKI lines. */
	CU_ASSERT_EQUAL_FATAL(profile_load(&p, cnf, "leaf", NULL), CA_OK);
	leaf = cert_new(k256b, "leaf", root);
	CU_ASSERT_PTR_NOT_NULL_FATAL(leaf);
	CU_ASSERT_EQUAL(profile_apply(p, cnf, leaf, root), CA_OK);
	CU_ASSERT_EQUAL(X509_check_ca(leaf), 0);
	CU_ASSERT_EQUAL(X509_get_key_usage(leaf),
	    (uint32_t)KU_DIGITAL_SIGNATURE);
	CU_ASSERT_EQUAL(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(leaf),
	    X509_get0_subject_key_id(root)), 0);
	X509_free(leaf);
	profile_free(p);
	X509_free(root);
}

static void
test_csr_check(void)
{
	static const struct {
		const char *profile, *bc;
		int want;
		const char *detail;
	} cases[] = {
		{ "ica", NULL, CA_OK, NULL },
		{ "ica", "critical,CA:FALSE", CA_OK, NULL },
		{ "ica", "critical,CA:TRUE,pathlen:0", CA_OK, NULL },
		{ "ica", "critical,CA:TRUE,pathlen:1", CA_ERR_POLICY,
		    "req.csr: the CSR requests pathlen:1 but profile [ica] "
		    "allows pathlen:0 at most" },
		{ "ica", "critical,CA:TRUE,pathlen:5", CA_ERR_POLICY,
		    "requests pathlen:5" },
		{ "ica", "critical,CA:TRUE", CA_ERR_POLICY,
		    "req.csr: the CSR requests CA:TRUE without a path length "
		    "limit but profile [ica] allows pathlen:0 at most" },
		{ "ica_path2", "critical,CA:TRUE,pathlen:2", CA_OK, NULL },
		{ "ica_path2", "critical,CA:TRUE,pathlen:3", CA_ERR_POLICY,
		    "pathlen:3 but profile [ica_path2] allows pathlen:2" },
		{ "ica_nopath", "critical,CA:TRUE,pathlen:9", CA_OK, NULL },
		{ "ica_nopath", "critical,CA:TRUE", CA_OK, NULL },
		{ "leaf", "critical,CA:TRUE,pathlen:0", CA_ERR_POLICY,
		    "req.csr: the CSR requests CA:TRUE but profile [leaf] is "
		    "not a CA profile" },
		{ "leaf", "critical,CA:FALSE", CA_OK, NULL },
	};
	struct profile *p;
	X509_REQ *r;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		p = NULL;
		CU_ASSERT_EQUAL_FATAL(profile_load(&p, cnf, cases[i].profile,
		    NULL), CA_OK);
		r = req_new(k256, "Unit CSR", cases[i].bc);
		CU_ASSERT_PTR_NOT_NULL_FATAL(r);
		rc = profile_csr_check(r, p, PROFILE_KEY_ALL, "req.csr");
		if (rc != cases[i].want)
			fprintf(stderr, "\n  case %zu: %s\n", i,
			    ca_error_detail());
		CU_ASSERT_EQUAL(rc, cases[i].want);
		if (cases[i].detail != NULL)
			CU_ASSERT(detail_has(cases[i].detail));
		X509_REQ_free(r);
		profile_free(p);
	}
}

static void
test_csr_bad(void)
{
	struct profile *p = NULL;
	X509_REQ *r, *r2;
	unsigned char *der = NULL;
	const unsigned char *q;
	int len;

	CU_ASSERT_EQUAL_FATAL(profile_load(&p, cnf, "ica", NULL), CA_OK);

	/* One flipped bit in the signature value. */
	r = req_new(k256, "Unit CSR", NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(profile_csr_check(r, p, PROFILE_KEY_ALL, "r"), CA_OK);
	len = i2d_X509_REQ(r, &der);
	CU_ASSERT_FATAL(len > 10);
	der[len - 1] ^= 0x01;
	q = der;
	r2 = d2i_X509_REQ(NULL, &q, len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r2);
	CU_ASSERT_EQUAL(profile_csr_check(r2, p, PROFILE_KEY_ALL, "flip.csr"),
	    CA_ERR_VERIFY);
	CU_ASSERT(detail_has("flip.csr: RFC 2986 4.2: CSR signature does not "
	    "verify"));
	X509_REQ_free(r2);
	OPENSSL_free(der);
	der = NULL;

	/* Signed by another key than the one it carries. */
	CU_ASSERT_EQUAL(X509_REQ_sign(r, k256b, EVP_sha256()) > 0, 1);
	CU_ASSERT_EQUAL(profile_csr_check(r, p, PROFILE_KEY_ALL, "other.csr"),
	    CA_ERR_VERIFY);
	X509_REQ_free(r);

	/* Empty subject. */
	r = req_new(k256, NULL, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(profile_csr_check(r, p, PROFILE_KEY_ALL, "anon.csr"),
	    CA_ERR_INVALID);
	CU_ASSERT(detail_has("anon.csr: RFC 5280 4.1.2.6"));
	X509_REQ_free(r);

	/* Weak or unaccepted keys, and a key the profile's list excludes. */
	r = req_new(krsa1024, "Weak", NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(profile_csr_check(r, p, PROFILE_KEY_ALL, "weak.csr"),
	    CA_ERR_POLICY);
	CU_ASSERT(detail_has("weak.csr: RSA 1024"));
	X509_REQ_free(r);
	r = req_new(kk1, "k1", NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(profile_csr_check(r, p, PROFILE_KEY_ALL, "k1.csr"),
	    CA_ERR_POLICY);
	X509_REQ_free(r);
	r = req_new(krsa2048, "RSA", NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(profile_csr_check(r, p, PROFILE_KEY_ALL, "rsa.csr"),
	    CA_OK);
	CU_ASSERT_EQUAL(profile_csr_check(r, p, PROFILE_KEY_EC_P256 |
	    PROFILE_KEY_EC_P384, "rsa.csr"), CA_ERR_POLICY);
	X509_REQ_free(r);
	profile_free(p);
}

static void
test_csr_corpus(void)
{
	static const struct {
		const char *file;
		int read_rc, check_rc;
		const char *detail;
	} cases[] = {
		{ "ceremony_csr_badsig.pem", CA_OK, CA_ERR_VERIFY,
		    "CSR signature does not verify" },
		{ "ceremony_csr_ca_pathlen5.pem", CA_OK, CA_ERR_POLICY,
		    "requests pathlen:5" },
		{ "ceremony_csr_ca_nopathlen.pem", CA_OK, CA_ERR_POLICY,
		    "without a path length limit" },
		{ "ceremony_csr_rsa1024.pem", CA_OK, CA_ERR_POLICY,
		    "RSA keys under 2048 bits" },
		{ "ceremony_csr_secp256k1.pem", CA_OK, CA_ERR_POLICY,
		    "curve secp256k1 is refused" },
		{ "ceremony_csr_trailing.der", CA_ERR_INVALID, 0,
		    "trailing bytes after the CSR" },
		{ "ceremony_csr_truncated.der", CA_ERR_INVALID, 0,
		    "not a DER CSR" },
	};
	struct profile *p = NULL;
	X509_REQ *r;
	uint8_t *buf;
	size_t i, len;

	CU_ASSERT_EQUAL_FATAL(profile_load(&p, cnf, "ica", NULL), CA_OK);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		buf = read_data(&len, cases[i].file);
		CU_ASSERT_PTR_NOT_NULL(buf);
		if (buf == NULL)
			continue;
		r = NULL;
		CU_ASSERT_EQUAL(profile_req_read(&r, buf, len, cases[i].file),
		    cases[i].read_rc);
		if (cases[i].read_rc != CA_OK) {
			CU_ASSERT_PTR_NULL(r);
			CU_ASSERT(detail_has(cases[i].file));
			CU_ASSERT(detail_has(cases[i].detail));
		} else if (r != NULL) {
			CU_ASSERT_EQUAL(profile_csr_check(r, p, PROFILE_KEY_ALL,
			    cases[i].file), cases[i].check_rc);
			CU_ASSERT(detail_has(cases[i].file));
			CU_ASSERT(detail_has(cases[i].detail));
		}
		X509_REQ_free(r);
		free(buf);
	}
	profile_free(p);
}

/* pem_req / pem_cert: PEM text in a new NUL-terminated buffer. */
static char *
pem_req(X509_REQ *r)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *s = NULL;
	long n;

	if (b != NULL && PEM_write_bio_X509_REQ(b, r) == 1 &&
	    (n = BIO_get_mem_data(b, &data)) > 0 &&
	    (s = malloc((size_t)n + 1)) != NULL) {
		memcpy(s, data, (size_t)n);
		s[n] = '\0';
	}
	BIO_free(b);
	return s;
}

static char *
pem_cert(X509 *x)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *s = NULL;
	long n;

	if (b != NULL && PEM_write_bio_X509(b, x) == 1 &&
	    (n = BIO_get_mem_data(b, &data)) > 0 &&
	    (s = malloc((size_t)n + 1)) != NULL) {
		memcpy(s, data, (size_t)n);
		s[n] = '\0';
	}
	BIO_free(b);
	return s;
}

static void
test_readers(void)
{
	X509_REQ *r, *got = NULL;
	X509 *x, *gotx = NULL;
	unsigned char *der = NULL;
	uint8_t *buf;
	char *pem, *two;
	int len;

	r = req_new(k256, "Reader", NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	len = i2d_X509_REQ(r, &der);
	CU_ASSERT_FATAL(len > 0);
	buf = malloc((size_t)len + 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	memcpy(buf, der, (size_t)len);

	CU_ASSERT_EQUAL(profile_req_read(&got, buf, (size_t)len, "r.der"),
	    CA_OK);
	CU_ASSERT(got != NULL && X509_REQ_verify(got, k256) == 1);
	X509_REQ_free(got);
	/* One trailing byte, or one byte short. */
	buf[len] = 0x00;
	got = (X509_REQ *)&got;
	CU_ASSERT_EQUAL(profile_req_read(&got, buf, (size_t)len + 1, "t.der"),
	    CA_ERR_INVALID);
	CU_ASSERT_PTR_NULL(got);
	CU_ASSERT(detail_has("t.der: trailing bytes after the CSR"));
	CU_ASSERT_EQUAL(profile_req_read(&got, buf, (size_t)len - 1, "s.der"),
	    CA_ERR_INVALID);
	CU_ASSERT(detail_has("s.der: RFC 2986: not a DER CSR"));
	CU_ASSERT_EQUAL(profile_req_read(&got, (const uint8_t *)"", 0, "e"),
	    CA_ERR_INVALID);
	free(buf);
	OPENSSL_free(der);
	der = NULL;

	pem = pem_req(r);
	CU_ASSERT_PTR_NOT_NULL_FATAL(pem);
	CU_ASSERT_EQUAL(profile_req_read(&got, (uint8_t *)pem, strlen(pem),
	    "r.pem"), CA_OK);
	CU_ASSERT(got != NULL && X509_REQ_verify(got, k256) == 1);
	X509_REQ_free(got);
	/* Two CSRs in one file: which one did the officer check? */
	CU_ASSERT(asprintf(&two, "%s%s", pem, pem) > 0);
	CU_ASSERT_EQUAL(profile_req_read(&got, (uint8_t *)two, strlen(two),
	    "two.pem"), CA_ERR_INVALID);
	CU_ASSERT(detail_has("two.pem: more than one CSR"));
	free(two);
	/* A certificate is not a CSR. */
	x = make_root(k256);
	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	free(pem);
	pem = pem_cert(x);
	CU_ASSERT_PTR_NOT_NULL_FATAL(pem);
	CU_ASSERT_EQUAL(profile_req_read(&got, (uint8_t *)pem, strlen(pem),
	    "cert.pem"), CA_ERR_INVALID);
	CU_ASSERT(detail_has("cert.pem: RFC 7468"));

	/* The same rules for certificates. */
	CU_ASSERT_EQUAL(profile_cert_read(&gotx, (uint8_t *)pem, strlen(pem),
	    "c.pem"), CA_OK);
	CU_ASSERT(gotx != NULL && X509_cmp(gotx, x) == 0);
	X509_free(gotx);
	CU_ASSERT(asprintf(&two, "comment line\n%s%s", pem, pem) > 0);
	CU_ASSERT_EQUAL(profile_cert_read(&gotx, (uint8_t *)two, strlen(two),
	    "two.pem"), CA_ERR_INVALID);
	CU_ASSERT(detail_has("two.pem: more than one certificate"));
	free(two);
	len = i2d_X509(x, &der);
	CU_ASSERT_FATAL(len > 0);
	buf = malloc((size_t)len + 2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	memcpy(buf, der, (size_t)len);
	buf[len] = 0x05;
	buf[len + 1] = 0x00;
	CU_ASSERT_EQUAL(profile_cert_read(&gotx, buf, (size_t)len, "c.der"),
	    CA_OK);
	CU_ASSERT(gotx != NULL && X509_cmp(gotx, x) == 0);
	X509_free(gotx);
	gotx = (X509 *)&gotx;
	CU_ASSERT_EQUAL(profile_cert_read(&gotx, buf, (size_t)len + 2,
	    "t.der"), CA_ERR_INVALID);
	CU_ASSERT_PTR_NULL(gotx);
	CU_ASSERT(detail_has("t.der: trailing bytes after the certificate"));
	CU_ASSERT_EQUAL(profile_cert_read(&gotx, buf, (size_t)len / 2,
	    "h.der"), CA_ERR_INVALID);
	CU_ASSERT(detail_has("h.der: RFC 5280: not a DER certificate"));
	free(buf);
	OPENSSL_free(der);
	free(pem);
	X509_free(x);
	X509_REQ_free(r);
	CU_ASSERT_EQUAL(ERR_peek_error(), 0);
}

static CU_TestInfo tests[] = {
	{ "load", test_load },
	{ "load_bad", test_load_bad },
	{ "key_types", test_key_types },
	{ "key_check", test_key_check },
	{ "digest", test_digest },
	{ "serial", test_serial },
	{ "spki", test_spki },
	{ "name", test_name },
	{ "ca_complete", test_ca_complete },
	{ "apply", test_apply },
	{ "csr_check", test_csr_check },
	{ "csr_bad", test_csr_bad },
	{ "csr_corpus", test_csr_corpus },
	{ "readers", test_readers },
	CU_TEST_INFO_NULL,
};

UNIT_MAIN_FIXTURE("profile", setup, teardown, tests)
