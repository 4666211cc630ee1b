/* SPDX-License-Identifier: ISC */
/*
 * test_general_name: common/general_name.c. Each GeneralName form is
 * checked as a name and as a name constraint, good values pass and each
 * malformed one is refused with a message that quotes it; whole
 * extensions are built with OpenSSL's own x509v3 config parser, as the
 * ceremony and the issuer build them; general_name_uri_local tells local
 * URLs from public ones.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <openssl/x509v3.h>

#include "common/ca_error.h"
#include "common/general_name.h"
#include "tests/unit/unit.h"

#define C	GENERAL_NAME_CONSTRAINT
#define W	GENERAL_NAME_WILDCARD

static GENERAL_NAME *
gn_make(int type, const void *p, size_t len)
{
	GENERAL_NAME *gn = GENERAL_NAME_new();
	ASN1_STRING *s = type == GEN_IPADD ? ASN1_OCTET_STRING_new() :
	    ASN1_IA5STRING_new();

	CU_ASSERT_FATAL(gn != NULL && s != NULL);
	CU_ASSERT_FATAL(ASN1_STRING_set(s, p, (int)len) == 1);
	GENERAL_NAME_set0_value(gn, type, s);
	return gn;
}

/* check: general_name_check on a text name; 0 passes, 1 refused. */
static int
check(int type, const char *v, unsigned flags, const char *word)
{
	GENERAL_NAME *gn = gn_make(type, v, strlen(v));
	int rc = general_name_check(gn, flags, "test");

	GENERAL_NAME_free(gn);
	if (rc != CA_OK && (word == NULL ||
	    strstr(ca_error_detail(), word) == NULL)) {
		fprintf(stderr, "\n  \"%s\": \"%s\" lacks \"%s\"\n", v,
		    ca_error_detail(), word != NULL ? word : "(passes)");
		return 2;
	}
	if (rc != CA_OK && strstr(ca_error_detail(), "test: ") == NULL)
		return 2;
	return rc == CA_OK ? 0 : 1;
}

#define PASS(t, v, f)		CU_ASSERT_EQUAL(check(t, v, f, NULL), 0)
#define FAILS(t, v, f, w)	CU_ASSERT_EQUAL(check(t, v, f, w), 1)

static void
test_dns(void)
{
	char label64[80], long254[300];
	size_t i;

	PASS(GEN_DNS, "example.internal", 0);
	PASS(GEN_DNS, "host-1.a2.example.internal", 0);
	PASS(GEN_DNS, "xn--caf-dma.example", 0);
	PASS(GEN_DNS, "localhost", 0);
	PASS(GEN_DNS, "example.internal", C);
	PASS(GEN_DNS, "*.example.internal", W);
	FAILS(GEN_DNS, "*.example.internal", 0, "no wildcard");
	FAILS(GEN_DNS, "a.*.example.internal", W, "whole leftmost label");
	FAILS(GEN_DNS, "*x.example.internal", W, "whole leftmost label");
	FAILS(GEN_DNS, "*.example.internal", C | W, "no wildcard");
	FAILS(GEN_DNS, ".example.internal", C,
	    "\"example.internal\" already covers itself");
	FAILS(GEN_DNS, ".example.internal", 0, "leading dot");
	FAILS(GEN_DNS, "example.internal.", 0, "trailing dot");
	FAILS(GEN_DNS, "", 0, "empty");
	FAILS(GEN_DNS, "a..example", 0, "empty label");
	FAILS(GEN_DNS, "-a.example", 0, "starts or ends with '-'");
	FAILS(GEN_DNS, "a-.example", 0, "starts or ends with '-'");
	FAILS(GEN_DNS, "a_b.example", 0, "'_' is not allowed");
	FAILS(GEN_DNS, "a b.example", 0, "' ' is not allowed");
	FAILS(GEN_DNS, "caf\xc3\xa9.example", 0, "A-labels");
	memset(label64, 'a', 64);
	memcpy(label64 + 64, ".example", 9);
	FAILS(GEN_DNS, label64, 0, "64 characters, over 63");
	memmove(label64, label64 + 1, strlen(label64));	/* 63 a's */
	PASS(GEN_DNS, label64, 0);
	for (i = 0; i < 254; i++)
		long254[i] = i % 2 ? '.' : 'a';
	long254[254] = '\0';
	long254[253] = 'a';
	FAILS(GEN_DNS, long254, 0, "254 characters, over 253");
}

static void
test_uri(void)
{
	PASS(GEN_URI, "http://ocsp.example.internal/", 0);
	PASS(GEN_URI, "http://pki.example.internal/issuing-ca-1.crl", 0);
	PASS(GEN_URI, "http://127.0.0.1:8080/", 0);
	PASS(GEN_URI, "http://[2001:db8::1]:80/x", 0);
	PASS(GEN_URI, "http://user@pki.example.internal/x", 0);
	PASS(GEN_URI, "ldap://ldap.example.internal/cn=CA?cACertificate", 0);
	PASS(GEN_URI, "file:///var/lib/carapace/crl/intermediate.crl", 0);
	FAILS(GEN_URI, "ocsp.example.internal", 0, "not an absolute URI");
	FAILS(GEN_URI, "http:///x.crl", 0, "no host");
	FAILS(GEN_URI, "urn:example:x", 0, "no host");
	FAILS(GEN_URI, "http://pki example/x", 0, "not allowed in a URI");
	FAILS(GEN_URI, "http://pki_x.example/", 0, "the host of URI");
	FAILS(GEN_URI, "http://[zz::]/", 0, "not an IPv6 address");
	FAILS(GEN_URI, "http://1.2.3.400/", 0, "not an IPv4 address");
	FAILS(GEN_URI, "1http://x.example/", 0, "not an absolute URI");
	/* constraints: a host or a .domain, not a URI */
	PASS(GEN_URI, ".example.internal", C);
	PASS(GEN_URI, "host.example.internal", C);
	FAILS(GEN_URI, "http://example.internal/", C, "not a URI");
}

static void
test_email(void)
{
	PASS(GEN_EMAIL, "pki@example.internal", 0);
	PASS(GEN_EMAIL, "pki@example.internal", C);
	PASS(GEN_EMAIL, "example.internal", C);
	PASS(GEN_EMAIL, ".example.internal", C);
	FAILS(GEN_EMAIL, "example.internal", 0, "not a mailbox");
	FAILS(GEN_EMAIL, "@example.internal", 0, "not a mailbox");
	FAILS(GEN_EMAIL, "a@b@example.internal", 0, "not a mailbox");
	FAILS(GEN_EMAIL, "a b@example.internal", 0, "local part");
	FAILS(GEN_EMAIL, "a@example..internal", 0, "empty label");
}

static void
test_ip(void)
{
	static const unsigned char v4[4] = { 192, 0, 2, 1 },
	    v6[16] = { 0x20, 0x01, 0x0d, 0xb8 },
	    nc_ok[8] = { 10, 0, 0, 0, 255, 0, 0, 0 },
	    nc_gap[8] = { 10, 0, 0, 0, 255, 0, 255, 0 },
	    nc_host[8] = { 10, 0, 0, 1, 255, 255, 255, 0 },
	    nc6[32] = { 0x20, 0x01, 0x0d, 0xb8, [16] = 0xff, 0xff, 0xff,
		0xff };
	struct { const unsigned char *p; size_t len; unsigned f; int ok;
	    const char *w; } cases[] = {
		{ v4, 4, 0, 1, NULL },
		{ v6, 16, 0, 1, NULL },
		{ v4, 3, 0, 0, "(3 octets): it must be 4 octets" },
		{ nc_ok, 8, C, 1, NULL },
		{ nc6, 32, C, 1, NULL },
		{ nc_gap, 8, C, 0, "10.0.0.0/255.0.255.0: the mask is not" },
		{ nc_host, 8, C, 0, "10.0.0.1/255.255.255.0: the address" },
		{ v4, 4, C, 0, "same family" },
		{ v6, 16, C, 0, "same family" },
	};
	GENERAL_NAME *gn;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		gn = gn_make(GEN_IPADD, cases[i].p, cases[i].len);
		rc = general_name_check(gn, cases[i].f, "test");
		GENERAL_NAME_free(gn);
		CU_ASSERT_EQUAL(rc == CA_OK, cases[i].ok);
		if (!cases[i].ok)
			CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(),
			    cases[i].w));
	}
}

/* ext: the extension nid with OpenSSL config text value; 0 passes. */
static int
ext(int nid, const char *value, const char *word)
{
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, NULL, nid, value);
	int rc;

	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	rc = general_name_ext_check(e, "ceremony.cnf: [ca] ext");
	X509_EXTENSION_free(e);
	if (rc != CA_OK && (word == NULL ||
	    strstr(ca_error_detail(), word) == NULL)) {
		fprintf(stderr, "\n  \"%s\" lacks \"%s\"\n",
		    ca_error_detail(), word != NULL ? word : "(passes)");
		return 2;
	}
	return rc == CA_OK ? 0 : 1;
}

static void
test_extensions(void)
{
	CU_ASSERT_EQUAL(ext(NID_name_constraints,
	    "critical,permitted;DNS:example.internal,"
	    "permitted;IP:10.0.0.0/255.0.0.0,excluded;email:.example.com,"
	    "permitted;URI:.example.internal", NULL), 0);
	CU_ASSERT_EQUAL(ext(NID_name_constraints,
	    "critical,permitted;DNS:.example.internal",
	    "DNS name constraint \".example.internal\""), 1);
	CU_ASSERT_EQUAL(ext(NID_name_constraints,
	    "permitted;IP:192.168.0.0/255.0.255.0", "not contiguous"), 1);
	CU_ASSERT_EQUAL(ext(NID_name_constraints,
	    "excluded;DNS:bad..example", "empty label"), 1);
	CU_ASSERT_EQUAL(ext(NID_info_access,
	    "OCSP;URI:http://ocsp.example.internal/,"
	    "caIssuers;URI:http://pki.example.internal/ca.crt", NULL), 0);
	CU_ASSERT_EQUAL(ext(NID_info_access, "OCSP;URI:ocsp.example.internal",
	    "not an absolute URI"), 1);
	CU_ASSERT_EQUAL(ext(NID_crl_distribution_points,
	    "URI:http://pki.example.internal/ca.crl", NULL), 0);
	CU_ASSERT_EQUAL(ext(NID_crl_distribution_points, "URI:http:///ca.crl",
	    "no host"), 1);
	CU_ASSERT_EQUAL(ext(NID_subject_alt_name,
	    "DNS:a.example.internal,IP:192.0.2.1,email:a@example.internal",
	    NULL), 0);
	CU_ASSERT_EQUAL(ext(NID_subject_alt_name, "DNS:a_b.example.internal",
	    "'_' is not allowed"), 1);
	/* the name of the setting comes first */
	CU_ASSERT_EQUAL(ext(NID_subject_alt_name, "DNS:-x.example",
	    "ceremony.cnf: [ca] ext: DNS name \"-x.example\""), 1);
	/* other extensions are not looked at */
	CU_ASSERT_EQUAL(ext(NID_key_usage, "critical,keyCertSign", NULL), 0);
}

static void
test_uri_local(void)
{
	CU_ASSERT_EQUAL(general_name_uri_local("file:///tmp/x.crl"), 1);
	CU_ASSERT_EQUAL(general_name_uri_local("http://127.0.0.1:8080/"), 1);
	CU_ASSERT_EQUAL(general_name_uri_local("http://127.1.2.3/"), 1);
	CU_ASSERT_EQUAL(general_name_uri_local("http://localhost/"), 1);
	CU_ASSERT_EQUAL(general_name_uri_local("http://ocsp.localhost/"), 1);
	CU_ASSERT_EQUAL(general_name_uri_local("http://[::1]:80/"), 1);
	CU_ASSERT_EQUAL(general_name_uri_local("http://169.254.169.254/"), 1);
	CU_ASSERT_EQUAL(general_name_uri_local("http://[fe80::1]/"), 1);
	CU_ASSERT_EQUAL(general_name_uri_local("http://ocsp.example/"), 0);
	CU_ASSERT_EQUAL(general_name_uri_local("http://10.0.0.1/"), 0);
	CU_ASSERT_EQUAL(general_name_uri_local("http://[2001:db8::1]/"), 0);
	CU_ASSERT_EQUAL(general_name_uri_local("not a uri"), 0);
}

static CU_TestInfo tests[] = {
	{ "dNSName", test_dns },
	{ "URI", test_uri },
	{ "rfc822Name", test_email },
	{ "iPAddress", test_ip },
	{ "extensions", test_extensions },
	{ "local URIs", test_uri_local },
	CU_TEST_INFO_NULL,
};

UNIT_MAIN("general_name", tests)
