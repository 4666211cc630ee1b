/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for common/ca_error.c: names, detail messages, OpenSSL reasons.
 */
#include "config.h"

#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "common/ca_error.h"
#include "tests/unit/unit.h"

static void
test_names(void)
{
	int i;

	CU_ASSERT_STRING_EQUAL(ca_strerror(CA_OK), "success");
	CU_ASSERT_STRING_EQUAL(ca_strerror(CA_ERR_PIN), "incorrect PIN");
	CU_ASSERT_STRING_EQUAL(ca_strerror(-1), "unknown error");
	CU_ASSERT_STRING_EQUAL(ca_strerror(CA_ERR__MAX), "unknown error");
	/* Every code has its own name. */
	for (i = 0; i < CA_ERR__MAX; i++)
		CU_ASSERT_STRING_NOT_EQUAL(ca_strerror(i), "unknown error");
}

static void
test_detail(void)
{
	ca_error_clear();
	CU_ASSERT_STRING_EQUAL(ca_error_detail(), "");
	CU_ASSERT_EQUAL(ca_error(CA_ERR_INVALID, "%s: RFC %d", "x.csr", 2986),
	    CA_ERR_INVALID);
	CU_ASSERT_STRING_EQUAL(ca_error_detail(), "x.csr: RFC 2986");
	ca_error_clear();
	CU_ASSERT_STRING_EQUAL(ca_error_detail(), "");
}

static void
test_openssl_reason(void)
{
	const unsigned char junk[] = { 0x30, 0x03, 0x02, 0x01 };
	const unsigned char *p = junk;
	X509 *x;

	ERR_clear_error();
	x = d2i_X509(NULL, &p, sizeof(junk));
	CU_ASSERT_PTR_NULL(x);
	CU_ASSERT_EQUAL(ca_error_openssl(CA_ERR_INVALID, "junk.der"),
	    CA_ERR_INVALID);
	CU_ASSERT(strncmp(ca_error_detail(), "junk.der: ", 10) == 0);
	CU_ASSERT(strlen(ca_error_detail()) > 10);
	CU_ASSERT_EQUAL(ERR_peek_error(), 0);
}

static CU_TestInfo tests[] = {
	{ "names", test_names },
	{ "detail", test_detail },
	{ "openssl_reason", test_openssl_reason },
	CU_TEST_INFO_NULL,
};

UNIT_MAIN("ca_error", tests)
