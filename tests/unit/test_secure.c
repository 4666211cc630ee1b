/* SPDX-License-Identifier: ISC */
/*
 * test_secure: the officer's confirmation and the core-dump guard.
 * secure_confirm must accept exactly "yes" and treat everything else,
 * end of input included, as a cancellation; secure_no_core_dumps must
 * leave RLIMIT_CORE at zero.
 */
#include "config.h"

#include <sys/resource.h>

#include <stdio.h>
#include <string.h>

#include "common/ca_error.h"
#include "common/secure.h"
#include "tests/unit/unit.h"

/* confirm_on runs secure_confirm on the given input text. */
static int
confirm_on(const char *text)
{
	FILE *f;
	int rc;

	if ((f = fmemopen((void *)text, strlen(text), "r")) == NULL)
		return -1;
	rc = secure_confirm(f);
	fclose(f);
	return rc;
}

static void
test_confirm_yes(void)
{
	CU_ASSERT_EQUAL(confirm_on("yes\n"), CA_OK);
	CU_ASSERT_EQUAL(confirm_on("  yes \t\n"), CA_OK);
	CU_ASSERT_EQUAL(confirm_on("yes"), CA_OK);	/* no newline at EOF */
}

static void
test_confirm_other(void)
{
	static const char *const no[] = { "", "\n", "y\n", "YES\n", "Yes\n",
	    "yes please\n", "yess\n", "no\n", "ye\n", "y es\n",
	    "\0yes\n" };
	char longline[200];
	size_t i;

	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		CU_ASSERT_EQUAL(confirm_on(no[i]), CA_ERR_CANCELLED);
	}
	/* An over-long line that starts with "yes" is not a yes. */
	memset(longline, ' ', sizeof(longline) - 2);
	memcpy(longline, "yes", 3);
	longline[sizeof(longline) - 2] = '\n';
	longline[sizeof(longline) - 1] = '\0';
	CU_ASSERT_EQUAL(confirm_on(longline), CA_ERR_CANCELLED);
}

static void
test_confirm_reads_one_line(void)
{
	FILE *f;
	static const char text[] = "no\nyes\n";

	f = fmemopen((void *)text, sizeof(text) - 1, "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(secure_confirm(f), CA_ERR_CANCELLED);
	CU_ASSERT_EQUAL(secure_confirm(f), CA_OK);
	CU_ASSERT_EQUAL(secure_confirm(f), CA_ERR_CANCELLED);	/* EOF */
	fclose(f);
}

static void
test_no_core_dumps(void)
{
	struct rlimit rl;

	CU_ASSERT_EQUAL(secure_no_core_dumps(), CA_OK);
	CU_ASSERT_EQUAL_FATAL(getrlimit(RLIMIT_CORE, &rl), 0);
	CU_ASSERT_EQUAL(rl.rlim_cur, 0);
	CU_ASSERT_EQUAL(rl.rlim_max, 0);
}

static CU_TestInfo tests[] = {
	{ "confirm_yes", test_confirm_yes },
	{ "confirm_other", test_confirm_other },
	{ "confirm_reads_one_line", test_confirm_reads_one_line },
	{ "no_core_dumps", test_no_core_dumps },
	CU_TEST_INFO_NULL,
};

UNIT_MAIN("secure", tests)
