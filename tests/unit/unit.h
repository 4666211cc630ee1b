/* SPDX-License-Identifier: ISC */
/*
 * unit: the few lines every CUnit test program shares. A test file defines
 * its tests, lists them in a CU_TestInfo array and ends with
 *	UNIT_MAIN("pkcs11_uri", tests)
 * or, when the suite needs a fixture (CUnit's suite init and cleanup),
 *	UNIT_MAIN_FIXTURE("profile", setup, teardown, tests)
 * A program with other start-up work calls unit_run itself. The program
 * exits non-zero if any assertion failed or nothing ran, so automake counts
 * it as FAIL.
 */
#ifndef UNIT_H
#define UNIT_H

#include <stdio.h>
#include <stdlib.h>

#include <CUnit/Basic.h>

/*
 * unit_run registers one suite and runs it verbosely. It returns the exit
 * status for main: 0 all passed, 1 a failure or no test ran, 99 CUnit
 * itself failed.
 */
static inline int
unit_run(const char *name, CU_InitializeFunc init, CU_CleanupFunc clean,
    CU_TestInfo *tests)
{
	CU_SuiteInfo suites[] = {
		{ (char *)name, init, clean, NULL, NULL, tests },
		CU_SUITE_INFO_NULL,
	};
	unsigned int failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 99;
	if (CU_register_suites(suites) != CUE_SUCCESS) {
		CU_cleanup_registry();
		return 99;
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() +
	    CU_get_number_of_tests_failed() + CU_get_number_of_suites_failed();
	if (CU_get_number_of_tests_run() == 0)
		failed = 1;
	CU_cleanup_registry();
	return failed == 0 ? 0 : 1;
}

#define UNIT_MAIN_FIXTURE(name, init, clean, tests)			\
int									\
main(void)								\
{									\
	return unit_run((name), (init), (clean), (tests));		\
}

#define UNIT_MAIN(name, tests)	UNIT_MAIN_FIXTURE(name, NULL, NULL, tests)

#endif /* UNIT_H */
