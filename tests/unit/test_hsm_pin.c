/* SPDX-License-Identifier: ISC */
/*
 * test_hsm_pin: the parts of hsm/ that need no module. A PIN read from the
 * environment must be gone from it afterwards (wiped and unset, so no child
 * inherits it); PKCS#11 return values must be printed whole, vendor-defined
 * ones named as such, and a value libp11 cut to its low 23 bits must not be
 * printed as if it were the module's.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/ca_error.h"
#include "hsm/hsm.h"
#include "hsm/hsm_int.h"
#include "tests/unit/unit.h"

static void
test_env_pin_forgotten(void)
{
	char *pin = NULL;

	CU_ASSERT_EQUAL_FATAL(setenv("CARAPACE_UNIT_PIN", "4711-secret", 1), 0);
	CU_ASSERT_EQUAL_FATAL(hsm_pin_read(&pin, "env:CARAPACE_UNIT_PIN"),
	    CA_OK);
	CU_ASSERT_STRING_EQUAL(pin, "4711-secret");
	CU_ASSERT_PTR_NULL(getenv("CARAPACE_UNIT_PIN"));
	hsm_pin_free(pin);
	pin = NULL;
	/* A second read finds nothing and says why. */
	CU_ASSERT_EQUAL(hsm_pin_read(&pin, "env:CARAPACE_UNIT_PIN"),
	    CA_ERR_NOT_FOUND);
	CU_ASSERT_PTR_NULL(pin);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "removed once read"));
}

static void
test_env_pin_empty_forgotten(void)
{
	char *pin = NULL;

	/* A refused (empty) PIN is not left behind either. */
	CU_ASSERT_EQUAL_FATAL(setenv("CARAPACE_UNIT_PIN", "", 1), 0);
	CU_ASSERT_EQUAL(hsm_pin_read(&pin, "env:CARAPACE_UNIT_PIN"),
	    CA_ERR_CONFIG);
	CU_ASSERT_PTR_NULL(getenv("CARAPACE_UNIT_PIN"));
}

static void
test_ckr_standard(void)
{
	CU_ASSERT_STRING_EQUAL(hsm_ckr_name(CKR_PIN_INCORRECT),
	    "CKR_PIN_INCORRECT");
	CU_ASSERT_STRING_EQUAL(hsm_ckr_name(CKR_GENERAL_ERROR),
	    "CKR_GENERAL_ERROR");
	/* Unnamed: the whole value, eight hex digits. */
	CU_ASSERT_STRING_EQUAL(hsm_ckr_name(0x1a0), "CKR 0x000001A0");
}

static void
test_ckr_vendor(void)
{
	const char *s = hsm_ckr_name(0xCE534351UL);

	CU_ASSERT_PTR_NOT_NULL(strstr(s, "0xCE534351"));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "vendor-defined"));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "CKR_VENDOR_DEFINED+0x4E534351"));
	CU_ASSERT_PTR_NULL(strstr(hsm_ckr_name(0x80000000UL), "0x534351"));
}

static void
test_ckr_cut(void)
{
	const char *s;

	if (HSM_CKR_LOW_BITS == 0)
		return;	/* 32-bit unsigned long: no room for the mark */
	s = hsm_ckr_name(0x534351UL | HSM_CKR_LOW_BITS);
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "vendor-defined"));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "low 23 bits"));
	CU_ASSERT_PTR_NULL(strstr(s, "CKR 0x"));
}

static CU_TestInfo tests[] = {
	{ "env: PIN is wiped and unset once read", test_env_pin_forgotten },
	{ "env: refused PIN is unset too", test_env_pin_empty_forgotten },
	{ "standard CKR names", test_ckr_standard },
	{ "vendor-defined CKR printed whole", test_ckr_vendor },
	{ "CKR cut by libp11 is marked", test_ckr_cut },
	CU_TEST_INFO_NULL,
};

UNIT_MAIN("hsm_pin", tests)
