/* SPDX-License-Identifier: ISC */
/*
 * test_attestor: attest/registry.c's helpers. Selectors are whole UTF-8
 * characters without control or stray bytes, a value that does not fit is
 * cut and ends in a hash of the whole (so long values never collide), a
 * string that ends inside a character is not read past its end, and what
 * the log would refuse is left out rather than half-recorded.
 */
#include "config.h"

#include <string.h>

#include "attest/attestor.h"
#include "common/ca_error.h"
#include "log/issuance_log.h"
#include "tests/unit/unit.h"

static void
test_selector_plain(void)
{
	struct attest_result r;

	memset(&r, 0, sizeof(r));
	attest_selector_add(&r, "token", "id", "t-1");
	attest_selector_add(&r, "x509pop", "subject", "CN=caf\xc3\xa9\x01x");
	CU_ASSERT_EQUAL_FATAL(r.nselectors, 2);
	CU_ASSERT_STRING_EQUAL(r.selectors[0], "token:id:t-1");
	/* the control byte 0x01 is dropped, the UTF-8 kept */
	CU_ASSERT_STRING_EQUAL(r.selectors[1], "x509pop:subject:CN=caf\xc3\xa9x");
	/* a stray continuation byte and a cut-off sequence at the end */
	attest_selector_add(&r, "iddoc", "instance", "i-\x80z\xe2\x82");
	CU_ASSERT_EQUAL_FATAL(r.nselectors, 3);
	CU_ASSERT_STRING_EQUAL(r.selectors[2], "iddoc:instance:i-z");
	/* C1 controls are valid UTF-8 the log refuses: left out */
	attest_selector_add(&r, "x509pop", "cn", "a\xc2\x85");
	CU_ASSERT_EQUAL(r.nselectors, 3);
	/* empty values are left out */
	attest_selector_add(&r, "x509pop", "cn", "");
	CU_ASSERT_EQUAL(r.nselectors, 3);
	CU_ASSERT_EQUAL(issuance_selector_check(r.selectors[1]), CA_OK);
}

static void
test_selector_long(void)
{
	struct attest_result r;
	char a[400], b[400];

	memset(&r, 0, sizeof(r));
	memset(a, 'a', sizeof(a) - 1);
	a[sizeof(a) - 1] = '\0';
	memcpy(b, a, sizeof(b));
	b[sizeof(b) - 2] = 'b';		/* differs only at the end */
	attest_selector_add(&r, "x509pop", "subject", a);
	attest_selector_add(&r, "x509pop", "subject", b);
	CU_ASSERT_EQUAL_FATAL(r.nselectors, 2);
	CU_ASSERT(strlen(r.selectors[0]) < ATTEST_SELECTOR_MAX);
	CU_ASSERT_PTR_NOT_NULL(strchr(r.selectors[0], '~'));
	CU_ASSERT_STRING_NOT_EQUAL(r.selectors[0], r.selectors[1]);
	CU_ASSERT_EQUAL(issuance_selector_check(r.selectors[0]), CA_OK);
	/* a value that just fits is not cut */
	memset(&r, 0, sizeof(r));
	a[ATTEST_SELECTOR_MAX - 1 - strlen("x509pop:subject:")] = '\0';
	attest_selector_add(&r, "x509pop", "subject", a);
	CU_ASSERT_EQUAL_FATAL(r.nselectors, 1);
	CU_ASSERT_PTR_NULL(strchr(r.selectors[0], '~'));
	CU_ASSERT_EQUAL(strlen(r.selectors[0]), ATTEST_SELECTOR_MAX - 1);
}

static CU_TestInfo tests[] = {
	{ "selectors: UTF-8, controls, cut-off bytes", test_selector_plain },
	{ "selectors: long values cut with a hash", test_selector_long },
	CU_TEST_INFO_NULL,
};

UNIT_MAIN("attestor", tests)
