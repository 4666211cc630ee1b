/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for attest/nonce.c with an injected clock: a nonce is good
 * once, a replay is "already used", an expired or unknown one is refused,
 * the cache is bounded and recovers as nonces expire, and concurrent
 * consumers of one nonce get exactly one success.
 */
#include "config.h"

#include <pthread.h>
#include <string.h>

#include "common/ca_error.h"
#include "attest/nonce.h"
#include "tests/unit/unit.h"

static time_t fake_now = 1700000000;

static time_t
fake_clock(void *arg)
{
	(void)arg;
	return fake_now;
}

static void
test_once(void)
{
	struct nonce_cache *c = NULL;
	uint8_t n[NONCE_LEN], m[NONCE_LEN];
	time_t exp = 0;

	fake_now = 1700000000;
	CU_ASSERT_EQUAL_FATAL(nonce_cache_new(&c, 16, 60, fake_clock, NULL),
	    CA_OK);
	CU_ASSERT_EQUAL(nonce_issue(c, n, &exp), CA_OK);
	CU_ASSERT_EQUAL(exp, 1700000060);
	CU_ASSERT_EQUAL(nonce_issue(c, m, NULL), CA_OK);
	CU_ASSERT_NOT_EQUAL(memcmp(n, m, sizeof(n)), 0);
	fake_now += 59;
	CU_ASSERT_EQUAL(nonce_consume(c, n, sizeof(n)), CA_OK);
	CU_ASSERT_EQUAL(nonce_consume(c, n, sizeof(n)), CA_ERR_DENIED);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(),
	    "nonce already used"));
	/* still "already used" after it expired */
	fake_now += 30;
	CU_ASSERT_EQUAL(nonce_consume(c, n, sizeof(n)), CA_ERR_DENIED);
	/* m expired unused */
	CU_ASSERT_EQUAL(nonce_consume(c, m, sizeof(m)), CA_ERR_EXPIRED);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "expired"));
	/* much later both are forgotten: unknown, still refused */
	fake_now += 3600;
	CU_ASSERT_EQUAL(nonce_consume(c, n, sizeof(n)), CA_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(nonce_consume(c, m, sizeof(m)), CA_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(nonce_cache_count(c), 0);
	nonce_cache_free(c);
	nonce_cache_free(NULL);
}

static void
test_unknown_and_bad(void)
{
	struct nonce_cache *c = NULL;
	uint8_t n[NONCE_LEN];

	fake_now = 1700000000;
	CU_ASSERT_EQUAL_FATAL(nonce_cache_new(&c, 4, 60, fake_clock, NULL),
	    CA_OK);
	CU_ASSERT_EQUAL(nonce_issue(c, n, NULL), CA_OK);
	n[0] ^= 1;
	CU_ASSERT_EQUAL(nonce_consume(c, n, sizeof(n)), CA_ERR_NOT_FOUND);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "not issued"));
	n[0] ^= 1;
	CU_ASSERT_EQUAL(nonce_consume(c, n, sizeof(n) - 1), CA_ERR_INVALID);
	CU_ASSERT_EQUAL(nonce_consume(c, n, 0), CA_ERR_INVALID);
	/* the failed attempts did not spend it */
	CU_ASSERT_EQUAL(nonce_consume(c, n, sizeof(n)), CA_OK);
	nonce_cache_free(c);

	CU_ASSERT_EQUAL(nonce_cache_new(&c, 0, 60, NULL, NULL), CA_ERR_USAGE);
	CU_ASSERT_EQUAL(nonce_cache_new(&c, 4, 0, NULL, NULL), CA_ERR_USAGE);
	CU_ASSERT_PTR_NULL(c);
}

static void
test_bounded(void)
{
	struct nonce_cache *c = NULL;
	uint8_t n[3][NONCE_LEN], x[NONCE_LEN];
	int i;

	fake_now = 1700000000;
	CU_ASSERT_EQUAL_FATAL(nonce_cache_new(&c, 3, 10, fake_clock, NULL),
	    CA_OK);
	for (i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(nonce_issue(c, n[i], NULL), CA_OK);
	CU_ASSERT_EQUAL(nonce_issue(c, x, NULL), CA_ERR_DENIED);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "try again"));
	/* the refusal evicted nothing */
	for (i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(nonce_consume(c, n[i], NONCE_LEN), CA_OK);
	/* spent nonces make room */
	CU_ASSERT_EQUAL(nonce_issue(c, x, NULL), CA_OK);
	CU_ASSERT_EQUAL(nonce_issue(c, n[0], NULL), CA_OK);
	/* full of live ones again; time passes and they expire */
	CU_ASSERT_EQUAL(nonce_issue(c, n[1], NULL), CA_OK);
	CU_ASSERT_EQUAL(nonce_issue(c, n[2], NULL), CA_ERR_DENIED);
	fake_now += 10;
	CU_ASSERT_EQUAL(nonce_issue(c, n[2], NULL), CA_OK);
	CU_ASSERT_EQUAL(nonce_consume(c, n[2], NONCE_LEN), CA_OK);
	CU_ASSERT(nonce_cache_count(c) <= 3);
	nonce_cache_free(c);
}

#define RACERS 8

struct race {
	struct nonce_cache *c;
	const uint8_t *n;
	int rc;
};

static void *
racer(void *arg)
{
	struct race *r = arg;

	r->rc = nonce_consume(r->c, r->n, NONCE_LEN);
	return NULL;
}

static void
test_race(void)
{
	struct nonce_cache *c = NULL;
	struct race r[RACERS];
	pthread_t th[RACERS];
	uint8_t n[NONCE_LEN];
	int i, ok = 0, used = 0;

	CU_ASSERT_EQUAL_FATAL(nonce_cache_new(&c, 64, 60, NULL, NULL), CA_OK);
	CU_ASSERT_EQUAL_FATAL(nonce_issue(c, n, NULL), CA_OK);
	for (i = 0; i < RACERS; i++) {
		r[i].c = c;
		r[i].n = n;
		r[i].rc = -1;
		CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, racer,
		    &r[i]), 0);
	}
	for (i = 0; i < RACERS; i++) {
		pthread_join(th[i], NULL);
		ok += r[i].rc == CA_OK;
		used += r[i].rc == CA_ERR_DENIED;
	}
	CU_ASSERT_EQUAL(ok, 1);
	CU_ASSERT_EQUAL(used, RACERS - 1);
	nonce_cache_free(c);
}

static CU_TestInfo tests[] = {
	{ "good once, then used, expired, forgotten", test_once },
	{ "unknown and malformed nonces", test_unknown_and_bad },
	{ "bounded size", test_bounded },
	{ "concurrent consumers", test_race },
	CU_TEST_INFO_NULL,
};

UNIT_MAIN("nonce", tests)
