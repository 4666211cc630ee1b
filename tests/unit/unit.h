/* SPDX-License-Identifier: ISC */
/*
 * unit: the few lines every CUnit test program shares. A test file defines
 * its tests, lists them in a CU_TestInfo array and calls UNIT_MAIN with
 * the suite name, e.g. UNIT_MAIN("pkcs11_uri", tests). The program exits
 * non-zero if any assertion failed, so automake counts it as FAIL.
 */
#ifndef UNIT_H
#define UNIT_H

#include <stdio.h>
#include <stdlib.h>

#include <CUnit/Basic.h>

#define UNIT_MAIN(name, tests)						\
int									\
main(void)								\
{									\
	CU_SuiteInfo suites[] = {					\
		{ (name), NULL, NULL, NULL, NULL, (tests) },		\
		CU_SUITE_INFO_NULL,					\
	};								\
	unsigned int failed;						\
									\
	if (CU_initialize_registry() != CUE_SUCCESS)			\
		return 99;						\
	if (CU_register_suites(suites) != CUE_SUCCESS) {		\
		CU_cleanup_registry();					\
		return 99;						\
	}								\
	CU_basic_set_mode(CU_BRM_VERBOSE);				\
	CU_basic_run_tests();						\
	failed = CU_get_number_of_failures() +				\
	    CU_get_number_of_tests_failed();				\
	if (CU_get_number_of_tests_run() == 0)				\
		failed = 1;						\
	CU_cleanup_registry();						\
	return failed == 0 ? 0 : 1;					\
}

#endif /* UNIT_H */
