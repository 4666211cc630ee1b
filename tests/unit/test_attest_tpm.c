/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for attest/tpm_attestor.c, the tpm attestor's glue: its
 * configuration (tpm_ek_ca, tpm_ek_allow, off without either), the
 * challenge round on evidence a real swtpm made (tests/data/tpm), and the
 * session rules of the answer: an unknown, expired or refused session,
 * and that a refused answer does not use the session up. (A whole
 * accepted exchange needs the TPM to activate the credential:
 * tests/integration/issuer_tpm.sh.)
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/sha.h>
#include <openssl/x509.h>

#include "attest/attestor.h"
#include "attest/tpm.h"
#include "common/ca_error.h"
#include "protocol/protocol.h"
#include "tests/unit/tpm_fixture.h"
#include "tests/unit/unit.h"

#define NOW	((time_t)1800000000)
#define TTL	60

static struct tpm_blob ek_crt, ek_pub, ak_pub, key_tpub, attest, sig;
static EVP_PKEY *key;
static char cafile[4096], allowfile[4096];

static int
setup(void)
{
	ek_crt = tpm_fixture_read("ek.crt");
	ek_pub = tpm_fixture_read("ek.pub");
	ak_pub = tpm_fixture_read("ak.pub");
	key_tpub = tpm_fixture_read("key.tpub");
	attest = tpm_fixture_read("attest");
	sig = tpm_fixture_read("sig");
	key = tpm_fixture_pubkey("key.spki.pem");
	snprintf(cafile, sizeof(cafile), "%s/ekca.pem", TPM_DATA);
	snprintf(allowfile, sizeof(allowfile), "/tmp/test_attest_tpm.%ld",
	    (long)getpid());
	return key == NULL;
}

static int
teardown(void)
{
	free(ek_crt.buf);
	free(ek_pub.buf);
	free(ak_pub.buf);
	free(key_tpub.buf);
	free(attest.buf);
	free(sig.buf);
	EVP_PKEY_free(key);
	unlink(allowfile);
	return 0;
}

/* configure the attestor with CAs and/or an allowlist file. */
static int
configure(void **state, int with_ca, const char *allow, long max)
{
	struct issuer_config cfg;
	struct attest_config ac;

	memset(&cfg, 0, sizeof(cfg));
	if (with_ca) {
		cfg.tpm_ek_ca[0] = cafile;
		cfg.ntpm_ek_ca = 1;
	}
	cfg.tpm_ek_allow = (char *)(uintptr_t)allow;
	cfg.nonce_ttl = TTL;
	cfg.nonce_max = max;
	memset(&ac, 0, sizeof(ac));
	ac.cfg = &cfg;
	return attestor_tpm.configure(state, &ac);
}

static PROTO_REQUEST *
challenge_request(int with_cert)
{
	PROTO_REQUEST *req;

	req = protocol_request_challenge_tpm(with_cert ? ek_crt.buf : NULL,
	    with_cert ? ek_crt.len : 0, ek_pub.buf, ek_pub.len, ak_pub.buf,
	    ak_pub.len);
	CU_ASSERT_FATAL(req != NULL);
	return req;
}

/* challenge: run the challenge op at now into ch. */
static void
challenge(void *state, time_t now, int with_cert, struct attest_challenge *ch)
{
	struct attest_env env;
	PROTO_REQUEST *req = challenge_request(with_cert);

	memset(&env, 0, sizeof(env));
	env.now = now;
	memset(ch, 0, sizeof(*ch));
	attestor_tpm.challenge(state, &env, req->body->value.challenge, ch);
	PROTO_REQUEST_free(req);
}

/* answer: the swtpm's recorded certify as the answer to session. */
static void
answer(void *state, time_t now, const uint8_t *session,
    struct attest_result *res)
{
	struct attest_env env;
	struct attest_request areq;
	PROTO_ATTESTATION *a;
	static const uint8_t secret[32];

	a = protocol_attest_tpm(session, ATTEST_SESSION_LEN, secret,
	    sizeof(secret), key_tpub.buf, key_tpub.len, attest.buf,
	    attest.len, sig.buf, sig.len);
	CU_ASSERT_FATAL(a != NULL);
	memset(&env, 0, sizeof(env));
	env.now = now;
	memset(&areq, 0, sizeof(areq));
	areq.evidence = a;
	areq.key = key;
	memset(res, 0, sizeof(*res));
	res->by = &attestor_tpm;
	attestor_tpm.verify(state, &env, &areq, res);
	PROTO_ATTESTATION_free(a);
}

static void
test_disabled(void)
{
	struct attest_challenge ch;
	struct attest_result res;
	void *state = (void *)1;
	static const uint8_t session[ATTEST_SESSION_LEN];

	CU_ASSERT_EQUAL_FATAL(configure(&state, 0, NULL, 16), CA_OK);
	CU_ASSERT_PTR_NULL_FATAL(state);
	challenge(NULL, NOW, 1, &ch);
	CU_ASSERT_EQUAL(ch.status, PROTOCOL_BAD_ATTESTATION);
	CU_ASSERT_PTR_NOT_NULL(strstr(ch.message, "tpm_ek_ca"));
	CU_ASSERT_PTR_NULL(ch.challenge);
	answer(NULL, NOW, session, &res);
	CU_ASSERT_EQUAL(res.status, PROTOCOL_BAD_ATTESTATION);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.message, "not accepted by this "
	    "issuer"));
	attest_result_free(&res);
}

static void
test_challenge(void)
{
	struct attest_challenge ch, ch2;
	const PROTO_TPM_CHALLENGE *t;
	void *state = NULL;

	CU_ASSERT_EQUAL_FATAL(configure(&state, 1, NULL, 16), CA_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(state);
	challenge(state, NOW, 1, &ch);
	CU_ASSERT_EQUAL_FATAL(ch.status, PROTOCOL_OK);
	CU_ASSERT_EQUAL(ch.expires, NOW + TTL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ch.challenge);
	CU_ASSERT_EQUAL(ch.challenge->type, PROTO_CHALLENGE_TPM);
	t = ch.challenge->value.tpm;
	CU_ASSERT(ASN1_STRING_length(t->credential_blob) > 2);
	CU_ASSERT(ASN1_STRING_length(t->encrypted_secret) > 2);
	CU_ASSERT_EQUAL(ASN1_STRING_length(t->nonce), TPM_NONCE_LEN);
	CU_ASSERT_PTR_NOT_NULL(strstr(ch.who, "tpm ek "));
	/* Every challenge is fresh: another session, another nonce. */
	challenge(state, NOW, 1, &ch2);
	CU_ASSERT_EQUAL_FATAL(ch2.status, PROTOCOL_OK);
	CU_ASSERT(memcmp(ch.session, ch2.session, sizeof(ch.session)) != 0);
	CU_ASSERT(ASN1_STRING_cmp(t->nonce, ch2.challenge->value.tpm->nonce)
	    != 0);
	attest_challenge_clear(&ch);
	attest_challenge_clear(&ch2);
	attestor_tpm.free(state);
}

static void
test_challenge_refused(void)
{
	struct attest_challenge ch;
	void *state = NULL;
	FILE *f;

	/* Without the certificate, an EK not on the allowlist. */
	CU_ASSERT_EQUAL_FATAL(configure(&state, 1, NULL, 16), CA_OK);
	challenge(state, NOW, 0, &ch);
	CU_ASSERT_EQUAL(ch.status, PROTOCOL_BAD_ATTESTATION);
	CU_ASSERT_PTR_NOT_NULL(strstr(ch.message, "not on the EK allowlist"));
	CU_ASSERT_PTR_NULL(ch.challenge);
	attest_challenge_clear(&ch);
	attestor_tpm.free(state);

	/* A certificate from a CA that is not configured (allowlist only). */
	f = fopen(allowfile, "w");
	CU_ASSERT_FATAL(f != NULL);
	fprintf(f, "# no EK of ours\n%064d\n", 0);
	fclose(f);
	CU_ASSERT_EQUAL_FATAL(configure(&state, 0, allowfile, 16), CA_OK);
	challenge(state, NOW, 1, &ch);
	CU_ASSERT_EQUAL(ch.status, PROTOCOL_BAD_ATTESTATION);
	CU_ASSERT_PTR_NOT_NULL(strstr(ch.message, "manufacturer CA"));
	attest_challenge_clear(&ch);
	attestor_tpm.free(state);
}

static void
test_allowlist(void)
{
	struct attest_challenge ch;
	EVP_PKEY *ekpk;
	unsigned char *spki = NULL, h[SHA256_DIGEST_LENGTH];
	char *hex;
	void *state = NULL;
	const unsigned char *p = ek_crt.buf;
	X509 *x;
	FILE *f;
	int len;

	x = d2i_X509(NULL, &p, (long)ek_crt.len);
	CU_ASSERT_FATAL(x != NULL);
	ekpk = X509_get0_pubkey(x);
	len = i2d_PUBKEY(ekpk, &spki);
	CU_ASSERT_FATAL(len > 0);
	SHA256(spki, (size_t)len, h);
	hex = tpm_hex(h, sizeof(h));
	f = fopen(allowfile, "w");
	CU_ASSERT_FATAL(f != NULL);
	fprintf(f, "\n# the vTPM\n  %s  \n", hex);
	fclose(f);
	CU_ASSERT_EQUAL_FATAL(configure(&state, 0, allowfile, 16), CA_OK);
	challenge(state, NOW, 0, &ch);
	CU_ASSERT_EQUAL(ch.status, PROTOCOL_OK);
	attest_challenge_clear(&ch);
	attestor_tpm.free(state);

	/* A line that is not a hash: refused, naming the file and line. */
	f = fopen(allowfile, "w");
	CU_ASSERT_FATAL(f != NULL);
	fprintf(f, "%s\n%.63s\n", hex, hex);
	fclose(f);
	CU_ASSERT_EQUAL(configure(&state, 0, allowfile, 16), CA_ERR_CONFIG);
	CU_ASSERT_PTR_NULL(state);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), ":2: not a SHA-256"));
	/* A missing file. */
	unlink(allowfile);
	CU_ASSERT_NOT_EQUAL(configure(&state, 0, allowfile, 16), CA_OK);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "tpm_ek_allow"));
	free(hex);
	OPENSSL_free(spki);
	X509_free(x);
}

static void
test_sessions(void)
{
	struct attest_challenge ch, ch2, ch3;
	struct attest_result res;
	static const uint8_t unknown[ATTEST_SESSION_LEN] = { 1 };
	void *state = NULL;

	CU_ASSERT_EQUAL_FATAL(configure(&state, 1, NULL, 2), CA_OK);
	challenge(state, NOW, 1, &ch);
	CU_ASSERT_EQUAL_FATAL(ch.status, PROTOCOL_OK);

	/* A session this issuer never gave. */
	answer(state, NOW, unknown, &res);
	CU_ASSERT_EQUAL(res.status, PROTOCOL_NONCE_INVALID);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.message, "unknown or expired"));
	attest_result_free(&res);

	/*
	 * The recorded certify is over another nonce: refused, and the
	 * session is not used up by it (the same refusal again, not a
	 * replay).
	 */
	answer(state, NOW, ch.session, &res);
	CU_ASSERT_EQUAL(res.status, PROTOCOL_BAD_ATTESTATION);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.message, "extraData is not this "
	    "request's nonce"));
	CU_ASSERT_PTR_NULL(res.seen_id);
	attest_result_free(&res);
	answer(state, NOW + 1, ch.session, &res);
	CU_ASSERT_EQUAL(res.status, PROTOCOL_BAD_ATTESTATION);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.message, "extraData"));
	attest_result_free(&res);

	/* Bounded: two outstanding at most; the third waits. */
	challenge(state, NOW, 1, &ch2);
	CU_ASSERT_EQUAL(ch2.status, PROTOCOL_OK);
	challenge(state, NOW, 1, &ch3);
	CU_ASSERT_EQUAL(ch3.status, PROTOCOL_BUSY);
	CU_ASSERT_PTR_NULL(ch3.challenge);
	attest_challenge_clear(&ch3);

	/* Expired: refused; and its slot is free again. */
	answer(state, NOW + TTL + 1, ch.session, &res);
	CU_ASSERT_EQUAL(res.status, PROTOCOL_NONCE_INVALID);
	attest_result_free(&res);
	challenge(state, NOW + TTL + 1, 1, &ch3);
	CU_ASSERT_EQUAL(ch3.status, PROTOCOL_OK);
	attest_challenge_clear(&ch);
	attest_challenge_clear(&ch2);
	attest_challenge_clear(&ch3);
	attestor_tpm.free(state);
}

static CU_TestInfo tests[] = {
	{ "off without tpm_ek_ca and tpm_ek_allow", test_disabled },
	{ "a challenge for a trusted EK", test_challenge },
	{ "challenge refusals", test_challenge_refused },
	{ "EK allowlist file", test_allowlist },
	{ "sessions: unknown, refused answer, bound, expiry", test_sessions },
	CU_TEST_INFO_NULL,
};

UNIT_MAIN_FIXTURE("attest_tpm", setup, teardown, tests)
