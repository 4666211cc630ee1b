/* SPDX-License-Identifier: ISC */
/*
 * test_crl: the CRL publisher's modules with a software CA key. The DER
 * that crl_der writes is decoded by OpenSSL and checked field by field;
 * crl_check must refuse a CRL that differs from its list in any way (an
 * entry missing or extra, a reason, a date, the number) or whose bytes
 * were altered; times are compared with OpenSSL's ASN1_TIME encoding; the
 * state file and the published-number reader refuse what they should; and
 * the configuration's durations parse as documented.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/ca_error.h"
#include "common/fileio.h"
#include "ocsp/crl.h"
#include "tests/unit/unit.h"

static char dir[256];
static EVP_PKEY *ca_key;
static struct crl_issuer iss;

static void
path_in(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s", dir, name);
}

static int
add_ext(X509 *cert, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&ctx, cert, cert, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL)
		return 0;
	ok = X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	return ok;
}

/* make_ca writes a self-signed CA certificate for ca_key to path. */
static int
make_ca(const char *path, const char *ku)
{
	X509 *c = X509_new();
	X509_NAME *n = X509_NAME_new();
	FILE *f = NULL;
	int ok = 0;

	if (c == NULL || n == NULL ||
	    !X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
	    (const unsigned char *)"test CA", -1, -1, 0) ||
	    !X509_set_version(c, X509_VERSION_3) ||
	    !ASN1_INTEGER_set(X509_get_serialNumber(c), 7) ||
	    !X509_set_subject_name(c, n) || !X509_set_issuer_name(c, n) ||
	    X509_gmtime_adj(X509_getm_notBefore(c), 0) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(c), 86400) == NULL ||
	    !X509_set_pubkey(c, ca_key) ||
	    !add_ext(c, NID_basic_constraints, "critical,CA:TRUE") ||
	    !add_ext(c, NID_key_usage, ku) ||
	    !add_ext(c, NID_subject_key_identifier, "hash") ||
	    X509_sign(c, ca_key, EVP_sha256()) <= 0 ||
	    (f = fopen(path, "w")) == NULL || !PEM_write_X509(f, c))
		goto out;
	ok = 1;
 out:
	if (f != NULL)
		fclose(f);
	X509_free(c);
	X509_NAME_free(n);
	return ok;
}

static int
soft_sign(void *signer, hsm_sign_fn fn, void *arg)
{
	return fn(signer, arg) == 1 ? CA_OK :
	    ca_error(CA_ERR_INTERNAL, "software signature failed");
}

static int
setup(void)
{
	char p[300];

	snprintf(dir, sizeof(dir), "%s/test_crl.XXXXXX",
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(dir) == NULL ||
	    (ca_key = EVP_EC_gen("P-256")) == NULL)
		return 1;
	path_in(p, sizeof(p), "ca.pem");
	if (!make_ca(p, "critical,keyCertSign,cRLSign") ||
	    crl_issuer_load(&iss, p, NULL) != CA_OK)
		return 1;
	return 0;
}

static int
teardown(void)
{
	char cmd[300];

	crl_issuer_clear(&iss);
	EVP_PKEY_free(ca_key);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : 1;
}

/* fill makes a list with awkward serials and every allowed reason. */
static void
fill(struct crl_list *l, size_t n)
{
	static const int reasons[] = { 0, 1, 2, 3, 4, 5, 9, 10 };
	struct issuance_revoked e;
	size_t i;

	for (i = 0; i < n; i++) {
		memset(&e, 0, sizeof(e));
		/* Increasing: leading zeros first, then high bits set. */
		e.serial[0] = (uint8_t)(i * 255 / (n > 1 ? n - 1 : 1));
		e.serial[14] = (uint8_t)(i >> 8);
		e.serial[15] = (uint8_t)i;
		e.revoked_at = 1700000000 + (int64_t)i * 3607;
		e.reason = reasons[i % 8];
		CU_ASSERT_EQUAL_FATAL(crl_list_add(l, &e), CA_OK);
	}
}

static void
build(struct crl_blob *b, const struct crl_params *p,
    const struct crl_list *l)
{
	CU_ASSERT_EQUAL_FATAL(crl_der_build(b, &iss, p, l, soft_sign, ca_key),
	    CA_OK);
}

static const struct crl_params params = { 42, 1700000000, 1700604800 };

static void
test_build_and_check(void)
{
	struct crl_list l = { NULL, 0, 0 };
	struct crl_blob b;
	X509_CRL *crl;
	const unsigned char *q;
	STACK_OF(X509_REVOKED) *revs;
	ASN1_INTEGER *num;
	size_t sizes[] = { 0, 1, 2, 300 }, k;

	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		l.n = 0;
		fill(&l, sizes[k]);
		build(&b, &params, &l);
		CU_ASSERT_EQUAL(crl_check(b.der, b.len, &iss, &params, &l),
		    CA_OK);
		q = b.der;
		crl = d2i_X509_CRL(NULL, &q, (long)b.len);
		CU_ASSERT_PTR_NOT_NULL_FATAL(crl);
		CU_ASSERT_PTR_EQUAL(q, b.der + b.len);
		CU_ASSERT_EQUAL(X509_CRL_verify(crl, ca_key), 1);
		revs = X509_CRL_get_REVOKED(crl);
		/* RFC 5280 5.1.2.6: no entries means the list is absent. */
		CU_ASSERT_EQUAL(revs == NULL ? 0 : sk_X509_REVOKED_num(revs),
		    (int)sizes[k]);
		num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
		CU_ASSERT(num != NULL && ASN1_INTEGER_get(num) == 42);
		ASN1_INTEGER_free(num);
		/* OpenSSL's own re-encoding of the TBS gives our bytes. */
		{
			unsigned char *again = NULL;
			size_t off = (b.der[1] & 0x80) ? 2 + (b.der[1] & 0x7f) :
			    2;
			int len = i2d_re_X509_CRL_tbs(crl, &again);

			CU_ASSERT(len > 0 && off + (size_t)len < b.len &&
			    memcmp(again, b.der + off, (size_t)len) == 0);
			OPENSSL_free(again);
		}
		X509_CRL_free(crl);
		crl_blob_free(&b);
	}
	crl_list_clear(&l);
}

static void
test_check_refuses(void)
{
	struct crl_list l = { NULL, 0, 0 }, m = { NULL, 0, 0 };
	struct crl_blob b;
	struct crl_params p2 = params;
	uint8_t *bad;
	size_t i;

	fill(&l, 20);
	build(&b, &params, &l);
	/* One entry fewer in the log than in the CRL. */
	for (i = 0; i < 19; i++)
		CU_ASSERT_EQUAL(crl_list_add(&m, &l.v[i]), CA_OK);
	CU_ASSERT_EQUAL(crl_check(b.der, b.len, &iss, &params, &m),
	    CA_ERR_VERIFY);
	/* One more. */
	CU_ASSERT_EQUAL(crl_list_add(&m, &l.v[19]), CA_OK);
	m.v[19].serial[15] ^= 0x80;
	CU_ASSERT_EQUAL(crl_check(b.der, b.len, &iss, &params, &m),
	    CA_ERR_VERIFY);
	m.v[19] = l.v[19];
	CU_ASSERT_EQUAL(crl_check(b.der, b.len, &iss, &params, &m), CA_OK);
	/* A different reason, a different date. */
	m.v[3].reason = 9;
	CU_ASSERT_EQUAL(crl_check(b.der, b.len, &iss, &params, &m),
	    CA_ERR_VERIFY);
	m.v[3] = l.v[3];
	m.v[9].reason = 0;	/* was keyCompromise */
	CU_ASSERT_EQUAL(crl_check(b.der, b.len, &iss, &params, &m),
	    CA_ERR_VERIFY);
	m.v[9] = l.v[9];
	m.v[5].revoked_at++;
	CU_ASSERT_EQUAL(crl_check(b.der, b.len, &iss, &params, &m),
	    CA_ERR_VERIFY);
	m.v[5] = l.v[5];
	/* A different number or nextUpdate. */
	p2.number = 43;
	CU_ASSERT_EQUAL(crl_check(b.der, b.len, &iss, &p2, &l),
	    CA_ERR_VERIFY);
	p2 = params;
	p2.next_update++;
	CU_ASSERT_EQUAL(crl_check(b.der, b.len, &iss, &p2, &l),
	    CA_ERR_VERIFY);
	/* Any altered byte in the TBS or signature, or a trailing byte. */
	bad = malloc(b.len + 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(bad);
	for (i = 0; i < b.len; i += 7) {
		memcpy(bad, b.der, b.len);
		bad[i] ^= 0x01;
		CU_ASSERT_NOT_EQUAL(crl_check(bad, b.len, &iss, &params, &l),
		    CA_OK);
	}
	memcpy(bad, b.der, b.len);
	bad[b.len] = 0;
	CU_ASSERT_EQUAL(crl_check(bad, b.len + 1, &iss, &params, &l),
	    CA_ERR_VERIFY);
	CU_ASSERT_EQUAL(crl_check(bad, b.len - 1, &iss, &params, &l),
	    CA_ERR_VERIFY);
	free(bad);
	crl_blob_free(&b);
	crl_list_clear(&l);
	crl_list_clear(&m);
}

static void
test_time(void)
{
	static const int64_t t[] = {
		0, 1, 86399, 86400, -1, -631152000, -631152001,
		2524607999LL, 2524608000LL, 951782400, 4102444800LL,
		253402300799LL, 1700000000,
	};
	uint8_t mine[17];
	unsigned char *theirs = NULL;
	ASN1_TIME *at;
	size_t i, n;
	int len;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		n = crl_der_time(mine, t[i]);
		at = ASN1_TIME_set(NULL, (time_t)t[i]);
		CU_ASSERT_PTR_NOT_NULL_FATAL(at);
		len = i2d_ASN1_TIME(at, &theirs);
		CU_ASSERT(len > 0 && (size_t)len == n &&
		    memcmp(mine, theirs, n) == 0);
		OPENSSL_free(theirs);
		theirs = NULL;
		ASN1_TIME_free(at);
	}
	CU_ASSERT_EQUAL(crl_der_time(mine, 253402300800LL), 0);
}

static void
test_state(void)
{
	char p[300], d[300];
	struct crl_list l = { NULL, 0, 0 };
	struct crl_blob b;
	int64_t n;
	FILE *f;

	path_in(p, sizeof(p), "state");
	CU_ASSERT_EQUAL(crl_state_read(&n, p, iss.kid, iss.kid_len),
	    CA_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(crl_state_write(p, 17, iss.kid, iss.kid_len), CA_OK);
	CU_ASSERT_EQUAL(crl_state_read(&n, p, iss.kid, iss.kid_len), CA_OK);
	CU_ASSERT_EQUAL(n, 17);
	CU_ASSERT_EQUAL(crl_state_read(&n, p, iss.kid, iss.kid_len - 1),
	    CA_ERR_INVALID);
	f = fopen(p, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("crl_number -3\n", f);
	fclose(f);
	CU_ASSERT_EQUAL(crl_state_read(&n, p, iss.kid, iss.kid_len),
	    CA_ERR_INVALID);

	path_in(d, sizeof(d), "crl.der");
	CU_ASSERT_EQUAL(crl_published_number(&n, d), CA_ERR_NOT_FOUND);
	fill(&l, 1000);
	build(&b, &params, &l);
	CU_ASSERT_EQUAL(fileio_replace(d, b.der, b.len, 0644), CA_OK);
	CU_ASSERT_EQUAL(crl_published_number(&n, d), CA_OK);
	CU_ASSERT_EQUAL(n, 42);
	CU_ASSERT_EQUAL(fileio_replace(d, b.der, b.len / 2, 0644), CA_OK);
	CU_ASSERT_EQUAL(crl_published_number(&n, d), CA_ERR_INVALID);
	crl_blob_free(&b);
	crl_list_clear(&l);
}

static void
test_issuer_refused(void)
{
	char p[300];
	struct crl_issuer x;

	path_in(p, sizeof(p), "noncrl.pem");
	CU_ASSERT_FATAL(make_ca(p, "critical,keyCertSign"));
	CU_ASSERT_EQUAL(crl_issuer_load(&x, p, NULL), CA_ERR_POLICY);
	path_in(p, sizeof(p), "ca.pem");
	CU_ASSERT_EQUAL(crl_issuer_load(&x, p, "md5"), CA_ERR_POLICY);
}

static void
test_duration(void)
{
	long v;

	CU_ASSERT(crl_duration_parse(&v, "90") == 0 && v == 90);
	CU_ASSERT(crl_duration_parse(&v, "15m") == 0 && v == 900);
	CU_ASSERT(crl_duration_parse(&v, "12h") == 0 && v == 43200);
	CU_ASSERT(crl_duration_parse(&v, "7d") == 0 && v == 604800);
	CU_ASSERT_EQUAL(crl_duration_parse(&v, ""), -1);
	CU_ASSERT_EQUAL(crl_duration_parse(&v, "-5"), -1);
	CU_ASSERT_EQUAL(crl_duration_parse(&v, "5w"), -1);
	CU_ASSERT_EQUAL(crl_duration_parse(&v, "5hh"), -1);
	CU_ASSERT_EQUAL(crl_duration_parse(&v, "99999999999d"), -1);
}

static CU_TestInfo tests[] = {
	{ "build, decode with OpenSSL, check", test_build_and_check },
	{ "check refuses any difference", test_check_refuses },
	{ "Time encoding matches OpenSSL", test_time },
	{ "state file and published number", test_state },
	{ "issuer without cRLSign refused", test_issuer_refused },
	{ "durations", test_duration },
	CU_TEST_INFO_NULL,
};

UNIT_MAIN_FIXTURE("crl", setup, teardown, tests)
