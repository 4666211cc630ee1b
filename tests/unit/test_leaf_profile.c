/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for issuer/leaf_profile.c: durations, a good profile compiled
 * into extension objects (decoded back with OpenSSL), and profile errors
 * that name the file, the section and the key.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/ca_config.h"
#include "common/ca_error.h"
#include "common/profile.h"
#include "issuer/leaf_profile.h"
#include "tests/unit/unit.h"

static const char good_ext[] =
    "[server_ext]\n"
    "keyUsage = critical,digitalSignature\n"
    "extendedKeyUsage = serverAuth,clientAuth\n"
    "authorityInfoAccess = OCSP;URI:http://ocsp.example/\n"
    "crlDistributionPoints = URI:http://crl.example/int.crl\n"
    "certificatePolicies = 1.3.6.1.4.1.99999.1\n";

/* load_text writes text to a temporary file and loads it as a config. */
static struct config *
load_text(const char *text)
{
	char path[] = "/tmp/test_leaf_profile.XXXXXX";
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

/*
 * load_err loads profile [server] from text and expects failure with a
 * message containing every one of the NULL-terminated strings.
 */
static void
load_err(const char *text, ...)
{
	struct leaf_profile *p = NULL;
	struct config *c;
	const char *want;
	va_list ap;
	int rc;

	c = load_text(text);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	rc = leaf_profile_load(&p, c, "server");
	CU_ASSERT_EQUAL(rc, CA_ERR_CONFIG);
	CU_ASSERT_PTR_NULL(p);
	if (getenv("UNIT_VERBOSE") != NULL)
		fprintf(stderr, "\n  %s", ca_error_detail());
	va_start(ap, text);
	while ((want = va_arg(ap, const char *)) != NULL) {
		if (strstr(ca_error_detail(), want) == NULL) {
			fprintf(stderr, "\n  detail \"%s\" lacks \"%s\"\n",
			    ca_error_detail(), want);
			CU_FAIL("error message lacks an expected part");
		}
	}
	va_end(ap);
	leaf_profile_free(p);
	config_free(c);
}

static void
test_duration(void)
{
	int64_t v;

	CU_ASSERT_EQUAL(config_duration_parse(&v, "86400", 1, 1000000, "t"),
	    CA_OK);
	CU_ASSERT_EQUAL(v, 86400);
	CU_ASSERT_EQUAL(config_duration_parse(&v, "90m", 1, 1000000, "t"),
	    CA_OK);
	CU_ASSERT_EQUAL(v, 5400);
	CU_ASSERT_EQUAL(config_duration_parse(&v, "24h", 1, 1000000, "t"),
	    CA_OK);
	CU_ASSERT_EQUAL(v, 86400);
	CU_ASSERT_EQUAL(config_duration_parse(&v, "7d", 1, 1000000, "t"),
	    CA_OK);
	CU_ASSERT_EQUAL(v, 604800);
	CU_ASSERT_EQUAL(config_duration_parse(&v, "30s", 1, 1000000, "t"),
	    CA_OK);
	CU_ASSERT_EQUAL(v, 30);
	CU_ASSERT_EQUAL(config_duration_parse(&v, "", 1, 100, "t"),
	    CA_ERR_CONFIG);
	CU_ASSERT_EQUAL(config_duration_parse(&v, "-5", 1, 100, "t"),
	    CA_ERR_CONFIG);
	CU_ASSERT_EQUAL(config_duration_parse(&v, "1h2", 1, 100000, "t"),
	    CA_ERR_CONFIG);
	CU_ASSERT_EQUAL(config_duration_parse(&v, "5 h", 1, 100000, "t"),
	    CA_ERR_CONFIG);
	CU_ASSERT_EQUAL(config_duration_parse(&v, "24x", 1, 100000, "t"),
	    CA_ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "t: \"24x\""));
	CU_ASSERT_EQUAL(config_duration_parse(&v, "0", 1, 100, "t"),
	    CA_ERR_CONFIG);
	CU_ASSERT_EQUAL(config_duration_parse(&v, "99999999999999999999d", 1,
	    100, "t"), CA_ERR_CONFIG);
	CU_ASSERT_EQUAL(config_duration_parse(&v, "9223372036854775807d", 1,
	    100, "t"), CA_ERR_CONFIG);
	CU_ASSERT_EQUAL(config_duration_parse(&v, "2d", 1, 86400, "t"),
	    CA_ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "out of range"));
}

static void
test_good(void)
{
	struct leaf_profile *p = NULL;
	struct config *c;
	X509_EXTENSION *ext;
	BASIC_CONSTRAINTS *bc;
	ASN1_BIT_STRING *ku;
	EXTENDED_KEY_USAGE *eku;
	char text[2048];

	snprintf(text, sizeof(text), "[server]\nmax_lifetime = 24h\n"
	    "default_lifetime = 1h\nkey_types = ec-p256 rsa-2048\n"
	    "backdate = 5m\nski = sha256\nextensions = server_ext\n%s",
	    good_ext);
	c = load_text(text);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL_FATAL(leaf_profile_load(&p, c, "server"), CA_OK);
	config_free(c);	/* the profile must not need it any more */
	CU_ASSERT_STRING_EQUAL(p->name, "server");
	CU_ASSERT_EQUAL(p->max_lifetime, 86400);
	CU_ASSERT_EQUAL(p->default_lifetime, 3600);
	CU_ASSERT_EQUAL(p->backdate, 300);
	CU_ASSERT_EQUAL(p->clamp, 0);
	CU_ASSERT_EQUAL(p->ski, LEAF_SKI_SHA256_160);
	CU_ASSERT_EQUAL(p->key_types, PROFILE_KEY_EC_P256 |
	    PROFILE_KEY_RSA_2048);
	CU_ASSERT_PTR_NULL(p->digest);
	/* basicConstraints added first, then the section in order. */
	CU_ASSERT_EQUAL_FATAL(sk_X509_EXTENSION_num(p->exts), 6);
	ext = sk_X509_EXTENSION_value(p->exts, 0);
	CU_ASSERT_EQUAL(OBJ_obj2nid(X509_EXTENSION_get_object(ext)),
	    NID_basic_constraints);
	CU_ASSERT_EQUAL(X509_EXTENSION_get_critical(ext), 1);
	bc = X509V3_EXT_d2i(ext);
	CU_ASSERT_PTR_NOT_NULL_FATAL(bc);
	CU_ASSERT_EQUAL(bc->ca, 0);
	BASIC_CONSTRAINTS_free(bc);

	ext = sk_X509_EXTENSION_value(p->exts, 1);
	CU_ASSERT_EQUAL(OBJ_obj2nid(X509_EXTENSION_get_object(ext)),
	    NID_key_usage);
	CU_ASSERT_EQUAL(X509_EXTENSION_get_critical(ext), 1);
	ku = X509V3_EXT_d2i(ext);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ku);
	CU_ASSERT_EQUAL(ASN1_BIT_STRING_get_bit(ku, 0), 1);
	CU_ASSERT_EQUAL(ASN1_BIT_STRING_get_bit(ku, 5), 0);
	ASN1_BIT_STRING_free(ku);

	ext = sk_X509_EXTENSION_value(p->exts, 2);
	CU_ASSERT_EQUAL(OBJ_obj2nid(X509_EXTENSION_get_object(ext)),
	    NID_ext_key_usage);
	eku = X509V3_EXT_d2i(ext);
	CU_ASSERT_PTR_NOT_NULL_FATAL(eku);
	CU_ASSERT_EQUAL(sk_ASN1_OBJECT_num(eku), 2);
	CU_ASSERT_EQUAL(OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, 0)),
	    NID_server_auth);
	sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
	CU_ASSERT_EQUAL(OBJ_obj2nid(X509_EXTENSION_get_object(
	    sk_X509_EXTENSION_value(p->exts, 3))), NID_info_access);
	CU_ASSERT_EQUAL(OBJ_obj2nid(X509_EXTENSION_get_object(
	    sk_X509_EXTENSION_value(p->exts, 4))), NID_crl_distribution_points);
	CU_ASSERT_EQUAL(OBJ_obj2nid(X509_EXTENSION_get_object(
	    sk_X509_EXTENSION_value(p->exts, 5))), NID_certificate_policies);
	leaf_profile_free(p);
	leaf_profile_free(NULL);
}

static void
test_defaults_and_own_bc(void)
{
	struct leaf_profile *p = NULL;
	struct config *c;

	c = load_text("[server]\nmax_lifetime = 3600\nlifetime_over_max = "
	    "clamp\ndigest = sha384\nextensions = e\n[e]\nbasicConstraints = "
	    "critical,CA:FALSE\nkeyUsage = digitalSignature\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL_FATAL(leaf_profile_load(&p, c, "server"), CA_OK);
	CU_ASSERT_EQUAL(p->default_lifetime, 3600);
	CU_ASSERT_EQUAL(p->clamp, 1);
	CU_ASSERT_EQUAL(p->ski, LEAF_SKI_SHA1);
	CU_ASSERT_EQUAL(p->backdate, 0);
	CU_ASSERT_STRING_EQUAL(p->digest, "sha384");
	CU_ASSERT_EQUAL(p->key_types, PROFILE_KEY_EC_P256 | PROFILE_KEY_EC_P384
	    | PROFILE_KEY_RSA_2048 | PROFILE_KEY_RSA_3072 |
	    PROFILE_KEY_RSA_4096);
	/* Its own basicConstraints, not a second one. */
	CU_ASSERT_EQUAL(sk_X509_EXTENSION_num(p->exts), 2);
	leaf_profile_free(p);
	config_free(c);
}

#define GOOD_TOP "[server]\nmax_lifetime = 24h\nextensions = server_ext\n"

static void
test_errors(void)
{
	char text[2048];

	load_err("[other]\nx = 1\n", "[server]", "missing section", NULL);
	load_err("[server]\nmax_lifetime = 24x\nextensions = e\n[e]\n"
	    "keyUsage = digitalSignature\n", "[server] max_lifetime",
	    "24x", NULL);
	load_err("[server]\nextensions = e\n[e]\nkeyUsage = "
	    "digitalSignature\n", "[server] max_lifetime", "missing", NULL);
	load_err("[server]\nmax_lifetime = 500d\nextensions = e\n[e]\n"
	    "keyUsage = digitalSignature\n", "[server] max_lifetime",
	    "out of range", NULL);
	load_err("[server]\nmax_lifetime = 1h\ndefault_lifetime = 2h\n"
	    "extensions = e\n[e]\nkeyUsage = digitalSignature\n",
	    "[server] default_lifetime", NULL);
	load_err("[server]\nmax_lifetme = 1h\n", "[server] max_lifetme",
	    "max_lifetime", NULL);
	load_err("[server]\nmax_lifetime = 1h\n", "[server] extensions",
	    "missing", NULL);
	load_err("[server]\nmax_lifetime = 1h\nlifetime_over_max = maybe\n"
	    "extensions = e\n", "[server] lifetime_over_max", NULL);
	load_err("[server]\nmax_lifetime = 1h\nbackdate = 2h\nextensions = "
	    "e\n", "[server] backdate", NULL);
	load_err("[server]\nmax_lifetime = 1h\nski = md5\nextensions = e\n"
	    "[e]\n", "[server] ski", NULL);
	load_err("[server]\nmax_lifetime = 1h\ndigest = md5\nextensions = e\n"
	    "[e]\n", "[server] digest", "md5", NULL);
	snprintf(text, sizeof(text), GOOD_TOP "key_types = ec-p256 "
	    "ec-p521\n%s", good_ext);
	load_err(text, "[server] key_types", "ec-p521", NULL);
	load_err(GOOD_TOP, "[server_ext]", "[server] extensions", NULL);
	load_err(GOOD_TOP "[server_ext]\nkeyUsag = digitalSignature\n",
	    "[server_ext] keyUsag", NULL);
	load_err(GOOD_TOP "[server_ext]\nkeyUsage = digitalSignature\n"
	    "subjectAltName = DNS:evil.example\n",
	    "[server_ext] subjectAltName", "4.2.1.6", NULL);
	load_err(GOOD_TOP "[server_ext]\nsubjectKeyIdentifier = hash\n",
	    "[server_ext] subjectKeyIdentifier", NULL);
	load_err(GOOD_TOP "[server_ext]\nauthorityKeyIdentifier = "
	    "keyid:always\n", "[server_ext] authorityKeyIdentifier", NULL);
	load_err(GOOD_TOP "[server_ext]\nbasicConstraints = critical,CA:TRUE\n",
	    "[server_ext] basicConstraints", "CA:FALSE", NULL);
	load_err(GOOD_TOP "[server_ext]\nbasicConstraints = CA:FALSE\n",
	    "[server_ext] basicConstraints", NULL);
	load_err(GOOD_TOP "[server_ext]\nkeyUsage = digitalSignature,"
	    "keyCertSign\n", "[server_ext] keyUsage", "keyCertSign", NULL);
	load_err(GOOD_TOP "[server_ext]\nnameConstraints = "
	    "permitted;DNS:example\n", "[server_ext] nameConstraints", NULL);
	load_err(GOOD_TOP "[server_ext]\nissuerAltName = issuer:copy\n",
	    "[server_ext] issuerAltName", NULL);
}

static CU_TestInfo tests[] = {
	{ "duration", test_duration },
	{ "good", test_good },
	{ "defaults_and_own_bc", test_defaults_and_own_bc },
	{ "errors", test_errors },
	CU_TEST_INFO_NULL,
};

UNIT_MAIN("leaf_profile", tests)
