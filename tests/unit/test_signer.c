/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for issuer/signer.c with a software intermediate: a tiny root
 * and intermediate are made here with OpenSSL, certificates are issued and
 * then checked with OpenSSL's own X509_verify, X509_verify_cert and
 * extension decoders (never with signer code); refusals (key types, names,
 * lifetimes, serial, profile) and the check after signing, driven by the
 * test hook that alters the TBSCertificate just before it is signed.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/ca_config.h"
#include "common/ca_error.h"
#include "issuer/signer.h"
#include "tests/unit/unit.h"

static const char profiles[] =
    "[server]\n"
    "max_lifetime = 24h\n"
    "default_lifetime = 1h\n"
    "key_types = ec-p256 ec-p384 rsa-2048\n"
    "extensions = server_ext\n"
    "[server_ext]\n"
    "keyUsage = critical,digitalSignature\n"
    "extendedKeyUsage = serverAuth,clientAuth\n"
    "authorityInfoAccess = OCSP;URI:http://ocsp.example/\n"
    "crlDistributionPoints = URI:http://crl.example/int.crl\n"
    "certificatePolicies = 1.3.6.1.4.1.99999.1\n"
    "[clamped]\n"
    "max_lifetime = 2h\n"
    "lifetime_over_max = clamp\n"
    "backdate = 5m\n"
    "ski = sha256\n"
    "extensions = server_ext\n"
    "[client]\n"
    "max_lifetime = 1h\n"
    "key_types = ec-p256 rsa-2048\n"
    "extensions = client_ext\n"
    "[client_ext]\n"
    "keyUsage = critical,digitalSignature,keyEncipherment,keyAgreement\n"
    "extendedKeyUsage = clientAuth\n"
    "[kx]\n"
    "max_lifetime = 1h\n"
    "key_types = ec-p256 rsa-2048\n"
    "extensions = kx_ext\n"
    "[kx_ext]\n"
    "keyUsage = critical,keyEncipherment\n";

static EVP_PKEY *root_key, *inter_key;
static X509 *root, *inter;
static struct signer *signer;

static EVP_PKEY *
key_ec(const char *curve)
{
	return EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);
}

static EVP_PKEY *
key_rsa(size_t bits)
{
	return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", bits);
}

static int
add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL)
		return 0;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok;
}

/* make_ca: a CA certificate for key, signed by ikey (self when NULL). */
static X509 *
make_ca(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey,
    long days)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	int ok = 1;

	ok &= X509_set_version(x, X509_VERSION_3);
	ok &= ASN1_INTEGER_set(X509_get_serialNumber(x), 1000 + days);
	ok &= X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0);
	ok &= X509_set_subject_name(x, name);
	ok &= X509_set_issuer_name(x, issuer != NULL ?
	    X509_get_subject_name(issuer) : name);
	ok &= X509_gmtime_adj(X509_getm_notBefore(x), -60) != NULL;
	ok &= X509_gmtime_adj(X509_getm_notAfter(x), days * 86400) != NULL;
	ok &= X509_set_pubkey(x, key);
	ok &= add_ext(x, issuer ? issuer : x, NID_basic_constraints,
	    "critical,CA:TRUE");
	ok &= add_ext(x, issuer ? issuer : x, NID_key_usage,
	    "critical,keyCertSign,cRLSign");
	ok &= add_ext(x, issuer ? issuer : x, NID_subject_key_identifier,
	    "hash");
	if (issuer != NULL)
		ok &= add_ext(x, issuer, NID_authority_key_identifier,
		    "keyid:always");
	ok &= X509_sign(x, ikey != NULL ? ikey : key, EVP_sha256()) > 0;
	X509_NAME_free(name);
	if (!ok) {
		X509_free(x);
		return NULL;
	}
	return x;
}

static struct config *
load_text(const char *text)
{
	char path[] = "/tmp/test_signer.XXXXXX";
	struct config *c = NULL;
	FILE *f;
	int fd;

	if ((fd = mkstemp(path)) < 0)
		return NULL;
	if ((f = fdopen(fd, "w")) == NULL) {
		close(fd);
		unlink(path);
		return NULL;
	}
	fputs(text, f);
	fclose(f);
	if (config_load(&c, path) != CA_OK)
		c = NULL;
	unlink(path);
	return c;
}

static int
suite_init(void)
{
	struct config *c;
	int ok;

	if ((root_key = key_ec("P-256")) == NULL ||
	    (inter_key = key_ec("P-256")) == NULL ||
	    (root = make_ca("Test Root", root_key, NULL, NULL, 3650)) == NULL ||
	    (inter = make_ca("Test Intermediate", inter_key, root, root_key,
	    365)) == NULL)
		return -1;
	if (signer_new_soft(&signer, inter, inter_key) != CA_OK)
		return -1;
	if ((c = load_text(profiles)) == NULL)
		return -1;
	ok = signer_add_profile(signer, c, "server") == CA_OK &&
	    signer_add_profile(signer, c, "clamped") == CA_OK &&
	    signer_add_profile(signer, c, "client") == CA_OK &&
	    signer_add_profile(signer, c, "kx") == CA_OK;
	config_free(c);
	return ok ? 0 : -1;
}

static int
suite_clean(void)
{
	signer_free(signer);
	X509_free(inter);
	X509_free(root);
	EVP_PKEY_free(inter_key);
	EVP_PKEY_free(root_key);
	return 0;
}

/* intent_init: a good intent for profile "server" with a new P-256 key. */
static void
intent_init(struct signer_intent *in, EVP_PKEY *key)
{
	memset(in, 0, sizeof(*in));
	snprintf(in->profile, sizeof(in->profile), "server");
	snprintf(in->subject_cn, sizeof(in->subject_cn), "node7");
	CU_ASSERT_EQUAL(signer_intent_add_name(in, SIGNER_NAME_DNS,
	    "node7.example.com"), CA_OK);
	CU_ASSERT_EQUAL(signer_intent_add_name(in, SIGNER_NAME_IP,
	    "192.0.2.7"), CA_OK);
	CU_ASSERT_EQUAL(signer_intent_add_name(in, SIGNER_NAME_URI,
	    "spiffe://example.com/node7"), CA_OK);
	CU_ASSERT_EQUAL(signer_intent_add_name(in, SIGNER_NAME_IP,
	    "2001:db8::7"), CA_OK);
	CU_ASSERT_EQUAL(signer_intent_set_spki(in, key), CA_OK);
	in->lifetime = 3600;
	memset(in->serial, 0x5a, sizeof(in->serial));
	in->serial[0] = 0x01;
	memset(in->evidence, 0xee, sizeof(in->evidence));
}

static X509 *
parse(const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);

	CU_ASSERT_PTR_EQUAL(p, der + len);
	return x;
}

/* issue: signer_issue, returning the parsed certificate or NULL. */
static X509 *
issue(const struct signer_intent *in, int want_rc)
{
	uint8_t *der = NULL;
	size_t len = 0;
	X509 *x = NULL;
	int rc;

	rc = signer_issue(signer, &der, &len, in);
	if (rc != want_rc)
		fprintf(stderr, "\n  rc %d (%s), wanted %d: %s\n", rc,
		    ca_strerror(rc), want_rc, ca_error_detail());
	CU_ASSERT_EQUAL(rc, want_rc);
	if (rc == CA_OK) {
		CU_ASSERT_PTR_NOT_NULL(der);
		CU_ASSERT(len > 0);
		x = parse(der, len);
	} else {
		CU_ASSERT_PTR_NULL(der);
		CU_ASSERT_EQUAL(len, 0);
	}
	OPENSSL_free(der);
	return x;
}

static int
chain_verify(X509 *x)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	int ok = 0;

	if (store == NULL || ctx == NULL || untrusted == NULL ||
	    !X509_STORE_add_cert(store, root) ||
	    !sk_X509_push(untrusted, inter) ||
	    !X509_STORE_CTX_init(ctx, store, x, untrusted))
		goto out;
	X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
	ok = X509_verify_cert(ctx) == 1;
	if (!ok)
		fprintf(stderr, "\n  verify: %s\n", X509_verify_cert_error_string(
		    X509_STORE_CTX_get_error(ctx)));
 out:
	sk_X509_free(untrusted);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return ok;
}

/*
 * dump writes root.pem, intermediate.pem and leaf.pem into the directory
 * $SIGNER_TEST_DUMP when it is set, for a look with openssl x509 -text and
 * openssl verify.
 */
static void
dump(X509 *leaf)
{
	const char *dir = getenv("SIGNER_TEST_DUMP");
	X509 *certs[3] = { root, inter, leaf };
	const char *names[3] = { "root.pem", "intermediate.pem", "leaf.pem" };
	char path[512];
	FILE *f;
	int i;

	if (dir == NULL)
		return;
	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if ((f = fopen(path, "w")) == NULL)
			continue;
		PEM_write_X509(f, certs[i]);
		fclose(f);
	}
}

static long
lifetime_of(X509 *x)
{
	int days = 0, secs = 0;

	if (!ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x),
	    X509_get0_notAfter(x)))
		return -1;
	return (long)days * 86400 + secs;
}

static void
test_issue(void)
{
	struct signer_intent in;
	EVP_PKEY *key = key_ec("P-256");
	X509 *x;
	GENERAL_NAMES *gens;
	GENERAL_NAME *g;
	BASIC_CONSTRAINTS *bc;
	ASN1_BIT_STRING *ku;
	EXTENDED_KEY_USAGE *eku;
	AUTHORITY_KEYID *akid;
	const ASN1_OCTET_STRING *ski;
	BIGNUM *bn;
	uint8_t serial[16], h[EVP_MAX_MD_SIZE];
	unsigned int hlen;
	const unsigned char *ipb;
	int crit, i;
	char *cn;

	CU_ASSERT_PTR_NOT_NULL_FATAL(key);
	intent_init(&in, key);
	x = issue(&in, CA_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(x);

	/* Signature and chain, by OpenSSL. */
	CU_ASSERT_EQUAL(X509_verify(x, inter_key), 1);
	CU_ASSERT(chain_verify(x));
	CU_ASSERT_EQUAL(X509_get_version(x), X509_VERSION_3);
	CU_ASSERT_EQUAL(X509_NAME_cmp(X509_get_issuer_name(x),
	    X509_get_subject_name(inter)), 0);
	CU_ASSERT_EQUAL(EVP_PKEY_eq(X509_get0_pubkey(x), key), 1);
	CU_ASSERT_EQUAL(X509_NAME_entry_count(X509_get_subject_name(x)), 1);
	cn = X509_NAME_oneline(X509_get_subject_name(x), NULL, 0);
	CU_ASSERT_STRING_EQUAL(cn, "/CN=node7");
	OPENSSL_free(cn);

	/* Serial as given. */
	bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(bn);
	CU_ASSERT(!BN_is_negative(bn));
	CU_ASSERT_EQUAL(BN_bn2binpad(bn, serial, sizeof(serial)), 16);
	CU_ASSERT(memcmp(serial, in.serial, 16) == 0);
	BN_free(bn);

	/* Validity: exactly the requested lifetime. */
	CU_ASSERT_EQUAL(lifetime_of(x), 3600);
	CU_ASSERT(X509_cmp_current_time(X509_get0_notBefore(x)) < 0);
	CU_ASSERT(X509_cmp_current_time(X509_get0_notAfter(x)) > 0);

	/* SAN: exactly the names, in order, not critical (subject set). */
	gens = X509_get_ext_d2i(x, NID_subject_alt_name, &crit, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(gens);
	CU_ASSERT_EQUAL(crit, 0);
	CU_ASSERT_EQUAL_FATAL(sk_GENERAL_NAME_num(gens), 4);
	g = sk_GENERAL_NAME_value(gens, 0);
	CU_ASSERT_EQUAL(g->type, GEN_DNS);
	CU_ASSERT_STRING_EQUAL(ASN1_STRING_get0_data(g->d.dNSName),
	    "node7.example.com");
	g = sk_GENERAL_NAME_value(gens, 1);
	CU_ASSERT_EQUAL(g->type, GEN_IPADD);
	CU_ASSERT_EQUAL(ASN1_STRING_length(g->d.iPAddress), 4);
	ipb = ASN1_STRING_get0_data(g->d.iPAddress);
	CU_ASSERT(ipb[0] == 192 && ipb[1] == 0 && ipb[2] == 2 && ipb[3] == 7);
	g = sk_GENERAL_NAME_value(gens, 2);
	CU_ASSERT_EQUAL(g->type, GEN_URI);
	CU_ASSERT_STRING_EQUAL(ASN1_STRING_get0_data(
	    g->d.uniformResourceIdentifier), "spiffe://example.com/node7");
	g = sk_GENERAL_NAME_value(gens, 3);
	CU_ASSERT_EQUAL(g->type, GEN_IPADD);
	CU_ASSERT_EQUAL(ASN1_STRING_length(g->d.iPAddress), 16);
	GENERAL_NAMES_free(gens);
	CU_ASSERT_EQUAL(X509_check_host(x, "node7.example.com", 0, 0, NULL),
	    1);
	CU_ASSERT_EQUAL(X509_check_host(x, "node8.example.com", 0, 0, NULL),
	    0);
	CU_ASSERT_EQUAL(X509_check_ip_asc(x, "192.0.2.7", 0), 1);

	/* basicConstraints CA:FALSE critical. */
	bc = X509_get_ext_d2i(x, NID_basic_constraints, &crit, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(bc);
	CU_ASSERT_EQUAL(bc->ca, 0);
	CU_ASSERT_EQUAL(crit, 1);
	BASIC_CONSTRAINTS_free(bc);
	CU_ASSERT_EQUAL(X509_check_ca(x), 0);

	/* KU and EKU. */
	ku = X509_get_ext_d2i(x, NID_key_usage, &crit, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ku);
	CU_ASSERT_EQUAL(crit, 1);
	CU_ASSERT_EQUAL(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE);
	ASN1_BIT_STRING_free(ku);
	eku = X509_get_ext_d2i(x, NID_ext_key_usage, &crit, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(eku);
	CU_ASSERT_EQUAL(crit, 0);
	CU_ASSERT_EQUAL(X509_get_extended_key_usage(x), XKU_SSL_SERVER |
	    XKU_SSL_CLIENT);
	sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
	CU_ASSERT(X509_get_ext_by_NID(x, NID_info_access, -1) >= 0);
	CU_ASSERT(X509_get_ext_by_NID(x, NID_crl_distribution_points, -1) >=
	    0);
	CU_ASSERT(X509_get_ext_by_NID(x, NID_certificate_policies, -1) >= 0);
	/* BC KU EKU AIA CDP CP SAN SKI AKI, and nothing else. */
	CU_ASSERT_EQUAL(X509_get_ext_count(x), 9);

	/* SKI: RFC 5280 method 1, as OpenSSL computes it. */
	ski = X509_get0_subject_key_id(x);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ski);
	CU_ASSERT_EQUAL(X509_pubkey_digest(x, EVP_sha1(), h, &hlen), 1);
	CU_ASSERT_EQUAL(ASN1_STRING_length(ski), (int)hlen);
	CU_ASSERT(memcmp(ASN1_STRING_get0_data(ski), h, hlen) == 0);
	/* AKI: the intermediate's SKI. */
	akid = X509_get_ext_d2i(x, NID_authority_key_identifier, &crit, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(akid);
	CU_ASSERT_EQUAL(crit, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(akid->keyid);
	CU_ASSERT_EQUAL(ASN1_OCTET_STRING_cmp(akid->keyid,
	    X509_get0_subject_key_id(inter)), 0);
	AUTHORITY_KEYID_free(akid);
	for (i = 0; i < X509_get_ext_count(x); i++)
		CU_ASSERT(X509_EXTENSION_get_object(X509_get_ext(x, i)) !=
		    NULL);

	dump(x);

	/* A signature by another key does not verify: the test can fail. */
	CU_ASSERT_NOT_EQUAL(X509_verify(x, root_key), 1);
	X509_free(x);
	EVP_PKEY_free(key);
}

static void
test_lifetime(void)
{
	struct signer_intent in;
	EVP_PKEY *key = key_ec("P-256");
	X509 *x;
	time_t now = time(NULL);

	intent_init(&in, key);
	in.lifetime = 0;		/* the profile's default */
	x = issue(&in, CA_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	CU_ASSERT_EQUAL(lifetime_of(x), 3600);
	X509_free(x);

	in.lifetime = 86400;		/* exactly the maximum */
	x = issue(&in, CA_OK);
	CU_ASSERT_EQUAL(lifetime_of(x), 86400);
	X509_free(x);

	in.lifetime = 86401;		/* over it: refused */
	CU_ASSERT_PTR_NULL(issue(&in, CA_ERR_POLICY));
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "max_lifetime"));
	in.lifetime = -5;
	CU_ASSERT_PTR_NULL(issue(&in, CA_ERR_INVALID));

	/* A clamping profile: over the maximum becomes the maximum. */
	snprintf(in.profile, sizeof(in.profile), "clamped");
	in.lifetime = 30 * 86400;
	x = issue(&in, CA_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	/* backdate = 5m: notBefore is about five minutes ago... */
	CU_ASSERT(X509_cmp_time(X509_get0_notBefore(x), &(time_t){ now -
	    290 }) < 0);
	/* ...and the lifetime still runs from now (issue 15). */
	CU_ASSERT_EQUAL(lifetime_of(x), 7200 + 300);
	CU_ASSERT(X509_cmp_time(X509_get0_notAfter(x), &(time_t){ now +
	    7200 - 1 }) > 0);
	CU_ASSERT(chain_verify(x));
	X509_free(x);
	/* 90 s with a 5-minute backdate: valid for 90 s from now. */
	in.lifetime = 90;
	x = issue(&in, CA_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	CU_ASSERT(X509_cmp_time(X509_get0_notAfter(x), &(time_t){ now +
	    89 }) > 0);
	CU_ASSERT(X509_cmp_time(X509_get0_notAfter(x), &(time_t){ now +
	    95 }) < 0);
	X509_free(x);

	/* An explicit notBefore close to now is kept; far away is refused. */
	snprintf(in.profile, sizeof(in.profile), "server");
	in.lifetime = 600;
	in.not_before = now + 60;
	x = issue(&in, CA_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	CU_ASSERT_EQUAL(ASN1_TIME_cmp_time_t(X509_get0_notBefore(x),
	    now + 60), 0);
	X509_free(x);
	in.not_before = now - 3600;
	CU_ASSERT_PTR_NULL(issue(&in, CA_ERR_INVALID));
	in.not_before = now + 3600;
	CU_ASSERT_PTR_NULL(issue(&in, CA_ERR_INVALID));
	EVP_PKEY_free(key);
}

/* ku_of: the certificate's keyUsage bits, as X509_get_key_usage has them. */
static uint32_t
ku_of(X509 *x)
{
	return X509_get_key_usage(x);
}

/* keyUsage follows the key type (issue 15). */
static void
test_key_usage(void)
{
	struct signer_intent in;
	EVP_PKEY *ec = key_ec("P-256"), *rsa = key_rsa(2048);
	X509 *x;

	/* server profile, digitalSignature: RSA gains keyEncipherment. */
	intent_init(&in, rsa);
	x = issue(&in, CA_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	CU_ASSERT_EQUAL(ku_of(x), KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT);
	CU_ASSERT(chain_verify(x));
	X509_free(x);
	intent_init(&in, ec);
	x = issue(&in, CA_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	CU_ASSERT_EQUAL(ku_of(x), KU_DIGITAL_SIGNATURE);
	X509_free(x);

	/* client profile: EC loses keyEncipherment, RSA keyAgreement. */
	intent_init(&in, ec);
	snprintf(in.profile, sizeof(in.profile), "client");
	x = issue(&in, CA_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	CU_ASSERT_EQUAL(ku_of(x), KU_DIGITAL_SIGNATURE | KU_KEY_AGREEMENT);
	X509_free(x);
	intent_init(&in, rsa);
	snprintf(in.profile, sizeof(in.profile), "client");
	x = issue(&in, CA_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	CU_ASSERT_EQUAL(ku_of(x), KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT);
	X509_free(x);

	/* keyEncipherment alone leaves an EC key nothing: refused. */
	intent_init(&in, ec);
	snprintf(in.profile, sizeof(in.profile), "kx");
	CU_ASSERT_PTR_NULL(issue(&in, CA_ERR_POLICY));
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "RFC 5480"));
	intent_init(&in, rsa);
	snprintf(in.profile, sizeof(in.profile), "kx");
	x = issue(&in, CA_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	CU_ASSERT_EQUAL(ku_of(x), KU_KEY_ENCIPHERMENT);
	X509_free(x);
	EVP_PKEY_free(ec);
	EVP_PKEY_free(rsa);
}

static time_t
clock_late(void)
{
	return time(NULL) + 365 * 86400 - 3600;
}

static time_t
clock_after(void)
{
	return time(NULL) + 400 * 86400;
}

static void
test_intermediate_validity(void)
{
	struct signer_intent in;
	EVP_PKEY *key = key_ec("P-256");

	intent_init(&in, key);
	/* An hour before the intermediate expires, 24h would outlive it. */
	signer_test_set_clock(signer, clock_late);
	in.lifetime = 86400;
	CU_ASSERT_PTR_NULL(issue(&in, CA_ERR_POLICY));
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "outlive"));
	signer_test_set_clock(signer, clock_after);
	in.lifetime = 60;
	CU_ASSERT_PTR_NULL(issue(&in, CA_ERR_EXPIRED));
	signer_test_set_clock(signer, NULL);
	EVP_PKEY_free(key);
}

static void
test_key_types(void)
{
	struct signer_intent in;
	EVP_PKEY *k;
	X509 *x;

	/* RSA-1024: too small. */
	k = key_rsa(1024);
	CU_ASSERT_PTR_NOT_NULL_FATAL(k);
	intent_init(&in, k);
	CU_ASSERT_PTR_NULL(issue(&in, CA_ERR_POLICY));
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "RSA 1024"));
	EVP_PKEY_free(k);

	/* secp256k1: not P-256 or P-384. */
	k = key_ec("secp256k1");
	CU_ASSERT_PTR_NOT_NULL_FATAL(k);
	intent_init(&in, k);
	CU_ASSERT_PTR_NULL(issue(&in, CA_ERR_POLICY));
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "P-256 and P-384"));
	EVP_PKEY_free(k);

	/* RSA-3072 is acceptable in general but not in this profile. */
	k = key_rsa(3072);
	CU_ASSERT_PTR_NOT_NULL_FATAL(k);
	intent_init(&in, k);
	CU_ASSERT_PTR_NULL(issue(&in, CA_ERR_POLICY));
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "key_types"));
	EVP_PKEY_free(k);

	/* P-384 and RSA-2048 are. */
	k = key_ec("P-384");
	intent_init(&in, k);
	x = issue(&in, CA_OK);
	CU_ASSERT(x != NULL && chain_verify(x));
	X509_free(x);
	EVP_PKEY_free(k);
	k = key_rsa(2048);
	intent_init(&in, k);
	x = issue(&in, CA_OK);
	CU_ASSERT(x != NULL && chain_verify(x));
	X509_free(x);
	EVP_PKEY_free(k);
}

static void
test_spki(void)
{
	struct signer_intent in;
	EVP_PKEY *k = key_ec("P-256");

	intent_init(&in, k);
	in.spki[in.spki_len++] = 0;	/* trailing byte */
	CU_ASSERT_PTR_NULL(issue(&in, CA_ERR_INVALID));
	in.spki_len -= 2;		/* truncated */
	CU_ASSERT_PTR_NULL(issue(&in, CA_ERR_INVALID));
	in.spki_len = 0;
	CU_ASSERT_PTR_NULL(issue(&in, CA_ERR_INVALID));
	in.spki_len = SIGNER_SPKI_MAX + 1;
	CU_ASSERT_PTR_NULL(issue(&in, CA_ERR_INVALID));
	EVP_PKEY_free(k);
}

/* names_one: an intent with the single name (type, value). */
static int
names_one(EVP_PKEY *k, enum signer_name_type type, const char *value)
{
	struct signer_intent in;
	uint8_t *der = NULL;
	size_t len;
	int rc;

	intent_init(&in, k);
	in.nnames = 0;
	memset(in.names, 0, sizeof(in.names));
	CU_ASSERT_EQUAL(signer_intent_add_name(&in, type, value), CA_OK);
	rc = signer_issue(signer, &der, &len, &in);
	OPENSSL_free(der);
	return rc;
}

static void
test_names(void)
{
	struct signer_intent in;
	GENERAL_NAMES *gens;
	GENERAL_NAME *g;
	X509 *x;
	EVP_PKEY *k = key_ec("P-256");
	char big[300];
	int i;

	intent_init(&in, k);
	in.nnames = 0;
	CU_ASSERT_PTR_NULL(issue(&in, CA_ERR_INVALID));
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "no names"));

	CU_ASSERT_EQUAL(names_one(k, SIGNER_NAME_DNS, "a.example"), CA_OK);
	CU_ASSERT_EQUAL(names_one(k, SIGNER_NAME_DNS, "bad_name.example"),
	    CA_ERR_INVALID);
	/* A wildcard only as the whole first label of a 2+ label name. */
	CU_ASSERT_EQUAL(names_one(k, SIGNER_NAME_DNS, "*.example.com"),
	    CA_OK);
	CU_ASSERT_EQUAL(names_one(k, SIGNER_NAME_DNS, "*.a.example.com"),
	    CA_OK);
	CU_ASSERT_EQUAL(names_one(k, SIGNER_NAME_DNS, "a*.example.com"),
	    CA_ERR_INVALID);
	CU_ASSERT_EQUAL(names_one(k, SIGNER_NAME_DNS, "*a.example.com"),
	    CA_ERR_INVALID);
	CU_ASSERT_EQUAL(names_one(k, SIGNER_NAME_DNS, "*"), CA_ERR_INVALID);
	CU_ASSERT_EQUAL(names_one(k, SIGNER_NAME_DNS, "*."), CA_ERR_INVALID);
	CU_ASSERT_EQUAL(names_one(k, SIGNER_NAME_DNS, "*.com"),
	    CA_ERR_INVALID);
	CU_ASSERT_EQUAL(names_one(k, SIGNER_NAME_DNS, "*.*.example.com"),
	    CA_ERR_INVALID);
	CU_ASSERT_EQUAL(names_one(k, SIGNER_NAME_DNS, "x.*.example.com"),
	    CA_ERR_INVALID);
	CU_ASSERT_EQUAL(names_one(k, SIGNER_NAME_DNS, "*..example.com"),
	    CA_ERR_INVALID);
	CU_ASSERT_EQUAL(names_one(k, SIGNER_NAME_DNS, "**.example.com"),
	    CA_ERR_INVALID);
	/* The wildcard goes into the certificate as the dNSName, verbatim. */
	intent_init(&in, k);
	in.nnames = 0;
	memset(in.names, 0, sizeof(in.names));
	CU_ASSERT_EQUAL(signer_intent_add_name(&in, SIGNER_NAME_DNS,
	    "*.example.com"), CA_OK);
	if ((x = issue(&in, CA_OK)) != NULL) {
		gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
		CU_ASSERT_PTR_NOT_NULL_FATAL(gens);
		CU_ASSERT_EQUAL(sk_GENERAL_NAME_num(gens), 1);
		g = sk_GENERAL_NAME_value(gens, 0);
		CU_ASSERT_EQUAL(g->type, GEN_DNS);
		if (g->type == GEN_DNS) {
			CU_ASSERT_EQUAL(ASN1_STRING_length(g->d.dNSName), 13);
			CU_ASSERT_NSTRING_EQUAL(ASN1_STRING_get0_data(
			    g->d.dNSName), "*.example.com", 13);
		}
		GENERAL_NAMES_free(gens);
		X509_free(x);
	}
	CU_ASSERT_EQUAL(names_one(k, SIGNER_NAME_DNS, "-a.example"),
	    CA_ERR_INVALID);
	CU_ASSERT_EQUAL(names_one(k, SIGNER_NAME_DNS, "a-.example"),
	    CA_ERR_INVALID);
	CU_ASSERT_EQUAL(names_one(k, SIGNER_NAME_DNS, "a..example"),
	    CA_ERR_INVALID);
	CU_ASSERT_EQUAL(names_one(k, SIGNER_NAME_DNS, "a.example."),
	    CA_ERR_INVALID);
	CU_ASSERT_EQUAL(names_one(k, SIGNER_NAME_DNS, ""), CA_ERR_INVALID);
	CU_ASSERT_EQUAL(names_one(k, SIGNER_NAME_IP, "1.2.3"),
	    CA_ERR_INVALID);
	CU_ASSERT_EQUAL(names_one(k, SIGNER_NAME_IP, "1.2.3.4x"),
	    CA_ERR_INVALID);
	CU_ASSERT_EQUAL(names_one(k, SIGNER_NAME_IP, "::1"), CA_OK);
	CU_ASSERT_EQUAL(names_one(k, SIGNER_NAME_URI, "no-scheme"),
	    CA_ERR_INVALID);
	CU_ASSERT_EQUAL(names_one(k, SIGNER_NAME_URI, "https://a b"),
	    CA_ERR_INVALID);
	CU_ASSERT_EQUAL(names_one(k, SIGNER_NAME_URI, "spiffe:"),
	    CA_ERR_INVALID);
	CU_ASSERT_EQUAL(names_one(k, 9, "a.example"), CA_ERR_INVALID);

	/* Duplicates, including another spelling of one address. */
	intent_init(&in, k);
	CU_ASSERT_EQUAL(signer_intent_add_name(&in, SIGNER_NAME_DNS,
	    "NODE7.example.com"), CA_OK);
	CU_ASSERT_PTR_NULL(issue(&in, CA_ERR_INVALID));
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "twice"));
	intent_init(&in, k);
	CU_ASSERT_EQUAL(signer_intent_add_name(&in, SIGNER_NAME_IP,
	    "2001:db8:0::7"), CA_OK);
	CU_ASSERT_PTR_NULL(issue(&in, CA_ERR_INVALID));

	/* Caps. */
	memset(big, 'a', sizeof(big));
	big[sizeof(big) - 1] = '\0';
	CU_ASSERT_EQUAL(signer_intent_add_name(&in, SIGNER_NAME_DNS, big),
	    CA_ERR_INVALID);
	intent_init(&in, k);
	in.nnames = 0;
	for (i = 0; i < SIGNER_MAX_NAMES; i++) {
		snprintf(big, sizeof(big), "n%d.example", i);
		CU_ASSERT_EQUAL(signer_intent_add_name(&in, SIGNER_NAME_DNS,
		    big), CA_OK);
	}
	CU_ASSERT_EQUAL(signer_intent_add_name(&in, SIGNER_NAME_DNS,
	    "one.more.example"), CA_ERR_INVALID);
	X509_free(issue(&in, CA_OK));
	in.nnames = SIGNER_MAX_NAMES + 1;
	CU_ASSERT_PTR_NULL(issue(&in, CA_ERR_INVALID));
	/* An unterminated name in a hand-made intent. */
	intent_init(&in, k);
	memset(in.names[0].value, 'a', SIGNER_NAME_LEN);
	CU_ASSERT_PTR_NULL(issue(&in, CA_ERR_INVALID));
	EVP_PKEY_free(k);
}

static void
test_subject(void)
{
	struct signer_intent in;
	EVP_PKEY *k = key_ec("P-256");
	X509_NAME *name;
	unsigned char *p;
	X509 *x;
	int crit, len;
	GENERAL_NAMES *gens;

	/* Empty subject: SAN becomes critical (RFC 5280 4.2.1.6). */
	intent_init(&in, k);
	in.subject_cn[0] = '\0';
	x = issue(&in, CA_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	CU_ASSERT_EQUAL(X509_NAME_entry_count(X509_get_subject_name(x)), 0);
	gens = X509_get_ext_d2i(x, NID_subject_alt_name, &crit, NULL);
	CU_ASSERT_EQUAL(crit, 1);
	GENERAL_NAMES_free(gens);
	CU_ASSERT(chain_verify(x));
	X509_free(x);

	/* A DER subject. */
	name = X509_NAME_new();
	CU_ASSERT(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
	    (const unsigned char *)"Example", -1, -1, 0));
	CU_ASSERT(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)"node7", -1, -1, 0));
	in.subject_len = (uint32_t)i2d_X509_NAME(name, NULL);
	p = in.subject_der;
	CU_ASSERT_EQUAL(i2d_X509_NAME(name, &p), (int)in.subject_len);
	x = issue(&in, CA_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	CU_ASSERT_EQUAL(X509_NAME_cmp(X509_get_subject_name(x), name), 0);
	X509_free(x);
	/* Both, or trailing bytes: refused. */
	snprintf(in.subject_cn, sizeof(in.subject_cn), "x");
	CU_ASSERT_PTR_NULL(issue(&in, CA_ERR_INVALID));
	in.subject_cn[0] = '\0';
	len = (int)in.subject_len;
	in.subject_der[len] = 0;
	in.subject_len++;
	CU_ASSERT_PTR_NULL(issue(&in, CA_ERR_INVALID));
	X509_NAME_free(name);

	/* A control character in the CN. */
	intent_init(&in, k);
	snprintf(in.subject_cn, sizeof(in.subject_cn), "a\nb");
	CU_ASSERT_PTR_NULL(issue(&in, CA_ERR_INVALID));
	/* Invalid UTF-8. */
	snprintf(in.subject_cn, sizeof(in.subject_cn), "a\xff");
	CU_ASSERT_PTR_NULL(issue(&in, CA_ERR_INVALID));
	EVP_PKEY_free(k);
}

static void
test_serial_profile_evidence(void)
{
	struct signer_intent in;
	EVP_PKEY *k = key_ec("P-256");
	X509 *x;
	BIGNUM *bn;
	uint8_t b[16];

	intent_init(&in, k);
	memset(in.serial, 0, sizeof(in.serial));
	CU_ASSERT_PTR_NULL(issue(&in, CA_ERR_INVALID));
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "4.1.2.2"));

	/* Top bit set: still a positive INTEGER with the same value. */
	memset(in.serial, 0xff, sizeof(in.serial));
	x = issue(&in, CA_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	CU_ASSERT(!BN_is_negative(bn));
	CU_ASSERT_EQUAL(BN_bn2binpad(bn, b, sizeof(b)), 16);
	CU_ASSERT(memcmp(b, in.serial, 16) == 0);
	BN_free(bn);
	X509_free(x);

	intent_init(&in, k);
	snprintf(in.profile, sizeof(in.profile), "nosuch");
	CU_ASSERT_PTR_NULL(issue(&in, CA_ERR_NOT_FOUND));
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "[nosuch]"));
	memset(in.profile, 'x', sizeof(in.profile));	/* unterminated */
	CU_ASSERT_PTR_NULL(issue(&in, CA_ERR_NOT_FOUND));

	intent_init(&in, k);
	memset(in.evidence, 0, sizeof(in.evidence));
	CU_ASSERT_PTR_NULL(issue(&in, CA_ERR_INVALID));
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "evidence"));
	EVP_PKEY_free(k);
}

/* Hooks that change the TBS just before it is signed. */
static void
hook_not_after(X509 *x, void *arg)
{
	X509_gmtime_adj(X509_getm_notAfter(x), 30 * 86400);
}

static void
hook_extra_ext(X509 *x, void *arg)
{
	add_ext(x, NULL, NID_netscape_comment, "smuggled");
}

static void
hook_subject(X509 *x, void *arg)
{
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "O",
	    MBSTRING_UTF8, (const unsigned char *)"Evil", -1, -1, 0);
}

static void
hook_ca(X509 *x, void *arg)
{
	int i = X509_get_ext_by_NID(x, NID_basic_constraints, -1);

	X509_EXTENSION_free(X509_delete_ext(x, i));
	add_ext(x, NULL, NID_basic_constraints, "critical,CA:TRUE");
}

static void
hook_pubkey(X509 *x, void *arg)
{
	X509_set_pubkey(x, arg);
}

static void
test_check_after_sign(void)
{
	struct signer_intent in;
	EVP_PKEY *k = key_ec("P-256"), *other = key_ec("P-256");
	X509 *x;

	intent_init(&in, k);
	signer_test_set_hook(signer, hook_not_after, NULL);
	CU_ASSERT_PTR_NULL(issue(&in, CA_ERR_INTERNAL));
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "validity"));
	signer_test_set_hook(signer, hook_extra_ext, NULL);
	CU_ASSERT_PTR_NULL(issue(&in, CA_ERR_INTERNAL));
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "extensions"));
	signer_test_set_hook(signer, hook_subject, NULL);
	CU_ASSERT_PTR_NULL(issue(&in, CA_ERR_INTERNAL));
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "subject"));
	signer_test_set_hook(signer, hook_ca, NULL);
	CU_ASSERT_PTR_NULL(issue(&in, CA_ERR_INTERNAL));
	signer_test_set_hook(signer, hook_pubkey, other);
	CU_ASSERT_PTR_NULL(issue(&in, CA_ERR_INTERNAL));
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "public key"));
	signer_test_set_hook(signer, NULL, NULL);
	x = issue(&in, CA_OK);
	CU_ASSERT_PTR_NOT_NULL(x);
	X509_free(x);
	EVP_PKEY_free(other);
	EVP_PKEY_free(k);
}

/* A wrong key for the signature: the check catches it. */
static int
wrong_key_sign(void *key, hsm_sign_fn fn, void *arg)
{
	return fn(key, arg) == 1 ? CA_OK : ca_error(CA_ERR_HSM, "sign");
}

static int
failing_sign(void *key, hsm_sign_fn fn, void *arg)
{
	return ca_error(CA_ERR_TOKEN_ABSENT, "test token: not present");
}

static void
test_new(void)
{
	struct signer *s = NULL;
	struct signer_intent in;
	struct config *c;
	EVP_PKEY *k = key_ec("P-256"), *other = key_ec("P-256");
	X509 *leaf;
	uint8_t *der = NULL;
	size_t len;

	/* The key must match the intermediate. */
	CU_ASSERT_EQUAL(signer_new_soft(&s, inter, other), CA_ERR_INVALID);
	CU_ASSERT_PTR_NULL(s);
	/* The intermediate must be a CA. */
	intent_init(&in, k);
	leaf = issue(&in, CA_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(leaf);
	CU_ASSERT_EQUAL(signer_new_soft(&s, leaf, k), CA_ERR_POLICY);
	CU_ASSERT_PTR_NULL(s);
	X509_free(leaf);

	c = load_text(profiles);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	/* A key callback that signs with the wrong key: check catches it. */
	CU_ASSERT_EQUAL_FATAL(signer_new_fn(&s, inter, inter_key,
	    wrong_key_sign, other), CA_OK);
	CU_ASSERT_EQUAL(signer_add_profile(s, c, "server"), CA_OK);
	CU_ASSERT_EQUAL(signer_add_profile(s, c, "server"), CA_ERR_EXISTS);
	CU_ASSERT_EQUAL(signer_add_profile(s, c, "nosuch"), CA_ERR_CONFIG);
	CU_ASSERT_EQUAL(signer_issue(s, &der, &len, &in), CA_ERR_VERIFY);
	CU_ASSERT_PTR_NULL(der);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "signature"));
	signer_free(s);
	s = NULL;
	/* A token that is gone: its error comes through unchanged. */
	CU_ASSERT_EQUAL_FATAL(signer_new_fn(&s, inter, inter_key,
	    failing_sign, NULL), CA_OK);
	CU_ASSERT_EQUAL(signer_add_profile(s, c, "server"), CA_OK);
	CU_ASSERT_EQUAL(signer_issue(s, &der, &len, &in), CA_ERR_TOKEN_ABSENT);
	CU_ASSERT_PTR_NULL(der);
	signer_free(s);
	signer_free(NULL);
	config_free(c);
	EVP_PKEY_free(other);
	EVP_PKEY_free(k);
}

/* Several threads share one signer. */
static void *
thread_issue(void *arg)
{
	struct signer_intent in;
	EVP_PKEY *k = arg;
	uint8_t *der;
	size_t len;
	int i, fails = 0;

	intent_init(&in, k);
	for (i = 0; i < 20; i++) {
		in.serial[15] = (uint8_t)i;
		der = NULL;
		if (signer_issue(signer, &der, &len, &in) != CA_OK)
			fails++;
		OPENSSL_free(der);
	}
	return fails == 0 ? arg : NULL;
}

static void
test_threads(void)
{
	pthread_t t[4];
	EVP_PKEY *k = key_ec("P-256");
	void *r;
	int i;

	for (i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(pthread_create(&t[i], NULL, thread_issue, k), 0);
	for (i = 0; i < 4; i++) {
		CU_ASSERT_EQUAL(pthread_join(t[i], &r), 0);
		CU_ASSERT_PTR_EQUAL(r, k);
	}
	EVP_PKEY_free(k);
}

static CU_TestInfo tests[] = {
	{ "issue", test_issue },
	{ "lifetime", test_lifetime },
	{ "keyUsage follows the key type", test_key_usage },
	{ "intermediate_validity", test_intermediate_validity },
	{ "key_types", test_key_types },
	{ "spki", test_spki },
	{ "names", test_names },
	{ "subject", test_subject },
	{ "serial_profile_evidence", test_serial_profile_evidence },
	{ "check_after_sign", test_check_after_sign },
	{ "new", test_new },
	{ "threads", test_threads },
	CU_TEST_INFO_NULL,
};

UNIT_MAIN_FIXTURE("signer", suite_init, suite_clean, tests)
