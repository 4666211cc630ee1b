/* SPDX-License-Identifier: ISC */
/*
 * test_ocsp_signer: the signing certificate over its life (ocsp/
 * ocsp_signer.c), with software keys and a clock the test sets: a
 * delegated responder certificate that expires while responses are cached
 * gets tryLater and never the cached response; no response outlives its
 * signer; the warning time; a renewed responder_cert file is swapped in,
 * the old cached responses are neither served nor left unsigned; a
 * renewal for another key, or one already expired, is refused and the old
 * certificate kept.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "common/ca_error.h"
#include "log/issuance_log.h"
#include "ocsp/ocsp_responder.h"
#include "unit.h"

static EVP_PKEY *ca_key, *resp_key, *other_key;
static X509 *ca_cert;
static time_t t0, fake_now;
static int status_calls;

static time_t
clock_fake(void)
{
	return fake_now;
}

static int
status_good(struct ocsp_status *out, const struct ocsp_issuer *i,
    const uint8_t *serial, size_t len, void *arg)
{
	(void)i;
	(void)serial;
	(void)len;
	(void)arg;
	status_calls++;
	memset(out, 0, sizeof(*out));
	out->state = OCSP_STATE_GOOD;
	return CA_OK;
}

/*
 * cert_make: a certificate for key, valid [nb, na], signed by the CA (its
 * own issuer before ca_cert is set), or NULL. No assertions: setup uses it.
 */
static X509 *
cert_make(EVP_PKEY *key, const char *cn, time_t nb, time_t na, int ocsp,
    long serial)
{
	X509 *x = X509_new();
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	if (x == NULL)
		return NULL;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
	    MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	if (ca_cert != NULL)
		X509_set_issuer_name(x, X509_get_subject_name(ca_cert));
	else
		X509_set_issuer_name(x, X509_get_subject_name(x));
	ASN1_TIME_set(X509_getm_notBefore(x), nb);
	ASN1_TIME_set(X509_getm_notAfter(x), na);
	X509_set_pubkey(x, key);
	X509V3_set_ctx(&ctx, ca_cert != NULL ? ca_cert : x, x, NULL, NULL, 0);
	if (ocsp) {
		ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_ext_key_usage,
		    "OCSPSigning");
		X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
		ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_id_pkix_OCSP_noCheck,
		    "ignored");
		X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
	}
	if (X509_sign(x, ca_key, EVP_sha256()) <= 0) {
		X509_free(x);
		return NULL;
	}
	return x;
}

static int
setup(void)
{
	t0 = time(NULL);
	if ((ca_key = EVP_EC_gen("P-256")) == NULL ||
	    (resp_key = EVP_EC_gen("P-256")) == NULL ||
	    (other_key = EVP_EC_gen("P-256")) == NULL)
		return -1;
	ca_cert = cert_make(ca_key, "test signer CA", t0 - 86400,
	    t0 + 365 * 86400, 0, 1);
	return ca_cert == NULL ? -1 : 0;
}

static int
teardown(void)
{
	X509_free(ca_cert);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(resp_key);
	EVP_PKEY_free(other_key);
	return 0;
}

/* responder_init: r answers for list[0] from c, on the fake clock. */
static void
responder_init(struct ocsp_responder *r, struct ocsp_issuer **list,
    struct ocsp_cache *c)
{
	memset(r, 0, sizeof(*r));
	r->issuers = list;
	r->nissuers = 1;
	r->status_fn = status_good;
	r->cache = c;
	r->validity = 3600;
	r->max_request = OCSP_MAX_REQUEST_DEF;
	r->max_live = 4;
	r->now = clock_fake;
	atomic_init(&r->live, 0);
}

static unsigned char *
make_req(int *len, uint8_t last)
{
	uint8_t s[ISSUANCE_LOG_SERIAL_LEN];
	ASN1_INTEGER *ai = ASN1_INTEGER_new();
	OCSP_REQUEST *req = OCSP_REQUEST_new();
	unsigned char *der = NULL;

	memset(s, 0x42, sizeof(s));
	s[15] = last;
	ASN1_STRING_set(ai, s, sizeof(s));
	OCSP_request_add0_id(req, OCSP_cert_id_new(EVP_sha1(),
	    X509_get_subject_name(ca_cert), X509_get0_pubkey_bitstr(ca_cert),
	    ai));
	*len = i2d_OCSP_REQUEST(req, &der);
	OCSP_REQUEST_free(req);
	ASN1_INTEGER_free(ai);
	return der;
}

/* ask: one request for serial ...last; the response status. */
static int
ask(struct ocsp_responder *r, struct ocsp_reply *rep, uint8_t last)
{
	unsigned char *der;
	int len;

	der = make_req(&len, last);
	CU_ASSERT_FATAL(ocsp_respond(r, rep, der, (size_t)len) == CA_OK);
	OPENSSL_free(der);
	return rep->status;
}

/*
 * signed_by: 1 when rep is a response that verifies under signer's key and
 * carries signer itself as its only certificate (a renewal keeps the key,
 * so the certificate tells the two apart).
 */
static int
signed_by(const struct ocsp_reply *rep, X509 *signer)
{
	const unsigned char *p = rep->der;
	OCSP_RESPONSE *or;
	OCSP_BASICRESP *bs = NULL;
	const STACK_OF(X509) *in;
	STACK_OF(X509) *certs = sk_X509_new_null();
	int ok = 0;

	if ((or = d2i_OCSP_RESPONSE(NULL, &p, (long)rep->len)) != NULL &&
	    (bs = OCSP_response_get1_basic(or)) != NULL) {
		sk_X509_push(certs, signer);
		in = OCSP_resp_get0_certs(bs);
		ok = OCSP_basic_verify(bs, certs, NULL, OCSP_NOVERIFY |
		    OCSP_TRUSTOTHER) == 1 && sk_X509_num(in) == 1 &&
		    X509_cmp(sk_X509_value(in, 0), signer) == 0;
	}
	sk_X509_free(certs);
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(or);
	return ok;
}

static void
pem_write(const char *path, X509 *x)
{
	FILE *f = fopen(path, "w");

	CU_ASSERT_FATAL(f != NULL);
	CU_ASSERT(PEM_write_X509(f, x) == 1);
	fclose(f);
}

static void
test_expiry(void)
{
	struct ocsp_issuer *iss = NULL, *list[1];
	struct ocsp_responder r;
	struct ocsp_cache *c;
	struct ocsp_reply rep;
	X509 *resp;
	long left;

	/* lifetime 4200 s: the default warning is a third, 1400 s */
	resp = cert_make(resp_key, "responder", t0 - 3600, t0 + 600, 1, 2);
	CU_ASSERT_FATAL(resp != NULL);
	CU_ASSERT_FATAL(ocsp_issuer_new(&iss, "deleg", ca_cert, resp, NULL,
	    resp_key) == CA_OK);
	CU_ASSERT(iss->delegated);
	CU_ASSERT(ocsp_signer_state(iss, t0 - 1000, 0, &left) ==
	    OCSP_SIGNER_OK);
	CU_ASSERT(left == 1600);
	CU_ASSERT(ocsp_signer_state(iss, t0, 0, &left) == OCSP_SIGNER_WARN);
	CU_ASSERT(ocsp_signer_state(iss, t0, 300, NULL) == OCSP_SIGNER_OK);
	CU_ASSERT(ocsp_signer_state(iss, t0 + 600, 0, NULL) ==
	    OCSP_SIGNER_EXPIRED);
	CU_ASSERT(ocsp_signer_state(iss, t0 - 3601, 0, NULL) ==
	    OCSP_SIGNER_NOT_YET);

	CU_ASSERT_FATAL(ocsp_cache_new(&c, 100) == CA_OK);
	list[0] = iss;
	responder_init(&r, list, c);

	fake_now = t0;
	CU_ASSERT(ask(&r, &rep, 1) == OCSP_RESPONSE_STATUS_SUCCESSFUL);
	CU_ASSERT(signed_by(&rep, resp));
	/* nextUpdate is the signer's notAfter, not now + validity */
	CU_ASSERT(rep.next_update == t0 + 600);
	ocsp_reply_clear(&rep);
	status_calls = 0;
	CU_ASSERT(ask(&r, &rep, 1) == OCSP_RESPONSE_STATUS_SUCCESSFUL);
	CU_ASSERT(status_calls == 0);		/* from the cache */
	ocsp_reply_clear(&rep);

	/* expired: tryLater, not the cached response, nor a new one */
	fake_now = t0 + 600;
	CU_ASSERT(ask(&r, &rep, 1) == OCSP_RESPONSE_STATUS_TRYLATER);
	ocsp_reply_clear(&rep);
	CU_ASSERT(ask(&r, &rep, 2) == OCSP_RESPONSE_STATUS_TRYLATER);
	ocsp_reply_clear(&rep);
	CU_ASSERT(status_calls == 0);
	/* refreshing under it fails as "expired", not as an HSM error */
	{
		struct ocsp_stale *v;
		size_t n;

		CU_ASSERT(ocsp_cache_collect(c, &v, &n, NULL, 0, t0 + 1) ==
		    CA_OK);
		CU_ASSERT_FATAL(n == 1);
		CU_ASSERT(ocsp_respond_refresh(&r, v[0].key, v[0].key_len,
		    v[0].issuer) == CA_ERR_EXPIRED);
		ocsp_stale_free(v, n);
	}
	/* not yet valid: the same */
	fake_now = t0 - 3601;
	CU_ASSERT(ask(&r, &rep, 1) == OCSP_RESPONSE_STATUS_TRYLATER);
	ocsp_reply_clear(&rep);

	ocsp_cache_free(c);
	ocsp_issuer_free(iss);
	X509_free(resp);
}

static void
test_renewal(void)
{
	struct ocsp_issuer *iss = NULL, *list[1];
	struct ocsp_responder r;
	struct ocsp_cache *c;
	struct ocsp_reply rep;
	struct ocsp_stale *v;
	X509 *old, *renewed, *wrongkey, *expired, *noeku;
	char path[] = "/tmp/carapace-test-signer.XXXXXX", tmp[64];
	size_t n;
	unsigned int gen;
	int fd, swapped;

	CU_ASSERT_FATAL((fd = mkstemp(path)) >= 0);
	close(fd);
	old = cert_make(resp_key, "responder", t0 - 3600, t0 + 60, 1, 3);
	renewed = cert_make(resp_key, "responder", t0 - 60, t0 + 86400, 1, 4);
	wrongkey = cert_make(other_key, "responder", t0 - 60, t0 + 86400, 1,
	    5);
	expired = cert_make(resp_key, "responder", t0 - 7200, t0 - 3600, 1,
	    6);
	noeku = cert_make(resp_key, "responder", t0 - 60, t0 + 86400, 0, 7);
	CU_ASSERT_FATAL(old != NULL && renewed != NULL && wrongkey != NULL &&
	    expired != NULL && noeku != NULL);
	pem_write(path, old);
	CU_ASSERT_FATAL(ocsp_issuer_new(&iss, "deleg", ca_cert, old, NULL,
	    resp_key) == CA_OK);
	CU_ASSERT_FATAL((iss->responder_path = strdup(path)) != NULL);
	CU_ASSERT(ocsp_signer_reload(iss, &swapped, t0, 0) == CA_OK);
	CU_ASSERT(!swapped);			/* the same certificate */
	CU_ASSERT(ocsp_signer_reload(iss, &swapped, t0, 0) == CA_OK);
	CU_ASSERT(!swapped);			/* the file did not change */

	CU_ASSERT_FATAL(ocsp_cache_new(&c, 100) == CA_OK);
	list[0] = iss;
	responder_init(&r, list, c);
	fake_now = t0;
	CU_ASSERT(ask(&r, &rep, 1) == OCSP_RESPONSE_STATUS_SUCCESSFUL);
	CU_ASSERT(signed_by(&rep, old));
	ocsp_reply_clear(&rep);

	/* refused renewals, each written by rename as an operator would */
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	X509_free(ocsp_signer_get(iss, &gen, NULL, NULL));
	pem_write(tmp, wrongkey);
	CU_ASSERT_FATAL(rename(tmp, path) == 0);
	CU_ASSERT(ocsp_signer_reload(iss, &swapped, t0, 0) == CA_ERR_INVALID);
	CU_ASSERT(strstr(ca_error_detail(), "configured key") != NULL);
	pem_write(tmp, expired);
	CU_ASSERT_FATAL(rename(tmp, path) == 0);
	CU_ASSERT(ocsp_signer_reload(iss, &swapped, t0, 0) == CA_ERR_EXPIRED);
	pem_write(tmp, noeku);
	CU_ASSERT_FATAL(rename(tmp, path) == 0);
	CU_ASSERT(ocsp_signer_reload(iss, &swapped, t0, 0) == CA_ERR_INVALID);
	CU_ASSERT(strstr(ca_error_detail(), "OCSPSigning") != NULL);
	/* reported once: the same bad file again is no news */
	CU_ASSERT(ocsp_signer_reload(iss, &swapped, t0, 0) == CA_OK);
	CU_ASSERT(!swapped);
	CU_ASSERT(atomic_load(&iss->signer_gen) == gen);
	status_calls = 0;
	CU_ASSERT(ask(&r, &rep, 1) == OCSP_RESPONSE_STATUS_SUCCESSFUL);
	CU_ASSERT(status_calls == 0 && signed_by(&rep, old));
	ocsp_reply_clear(&rep);

	/* the renewal: swapped in; the old response is not served */
	pem_write(tmp, renewed);
	CU_ASSERT_FATAL(rename(tmp, path) == 0);
	CU_ASSERT(ocsp_signer_reload(iss, &swapped, t0, 0) == CA_OK);
	CU_ASSERT(swapped);
	CU_ASSERT(atomic_load(&iss->signer_gen) != gen);
	CU_ASSERT(ocsp_signer_state(iss, t0 + 120, 0, NULL) == OCSP_SIGNER_OK);
	/* the entry under the old signer is collected for re-signing */
	CU_ASSERT(ocsp_cache_collect(c, &v, &n, NULL, 0, 0) == CA_OK);
	CU_ASSERT(n == 1);
	ocsp_stale_free(v, n);
	fake_now = t0 + 120;			/* past the old notAfter */
	CU_ASSERT(ask(&r, &rep, 1) == OCSP_RESPONSE_STATUS_SUCCESSFUL);
	CU_ASSERT(status_calls == 1);		/* signed anew */
	CU_ASSERT(signed_by(&rep, renewed));
	CU_ASSERT(!signed_by(&rep, old));
	CU_ASSERT(rep.next_update == t0 + 120 + 3600);
	ocsp_reply_clear(&rep);
	CU_ASSERT(ocsp_cache_collect(c, &v, &n, NULL, 0, 0) == CA_OK);
	CU_ASSERT(n == 0);
	ocsp_stale_free(v, n);

	unlink(path);
	ocsp_cache_free(c);
	ocsp_issuer_free(iss);
	X509_free(old);
	X509_free(renewed);
	X509_free(wrongkey);
	X509_free(expired);
	X509_free(noeku);
}

static CU_TestInfo tests[] = {
	{ "expired signer: tryLater, nextUpdate capped", test_expiry },
	{ "renewed responder_cert swapped in, bad ones refused",
	    test_renewal },
	CU_TEST_INFO_NULL,
};

UNIT_MAIN_FIXTURE("ocsp_signer", setup, teardown, tests)
