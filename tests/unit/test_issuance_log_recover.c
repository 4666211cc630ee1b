/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for what the issuer does to its log at startup,
 * issuance_log_recover (log/issuance_log_recover.c): the writer's lock
 * that keeps a second issuer out, and the rows a crash left reserved,
 * which become abandoned while every other row stays as it was.
 * Results are checked through raw SQLite connections, not only through
 * the module. Shared set-up: ilog_fixture.c.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "common/ca_error.h"
#include "log/issuance_log.h"
#include "log/issuance_log_int.h"
#include "tests/unit/ilog_fixture.h"
#include "tests/unit/unit.h"

static void
test_recover_reserved(void)
{
	struct issuance_log *log, *second = NULL;
	uint8_t s[4][ISSUANCE_LOG_SERIAL_LEN];
	int64_t n = -1, events;
	int i;

	fresh();
	log = open_log();
	CU_ASSERT_EQUAL_FATAL(issue(log, s[0], "CN=issued", NULL), CA_OK);
	CU_ASSERT_EQUAL_FATAL(issue(log, s[1], "CN=revoked", NULL), CA_OK);
	CU_ASSERT_EQUAL(issuance_log_revoke(log, s[1], 1), CA_OK);
	for (i = 2; i < 4; i++)
		CU_ASSERT_EQUAL_FATAL(issuance_log_reserve(log, s[i], kid,
		    sizeof(kid)), CA_OK);
	CU_ASSERT_EQUAL(issuance_log_abandon(log, s[3]), CA_OK);
	CU_ASSERT_EQUAL_FATAL(issuance_log_reserve(log, s[3], kid,
	    sizeof(kid)), CA_OK);
	/* As a crash leaves it: the process is gone, the rows stay. */
	issuance_log_close(log);
	CU_ASSERT_EQUAL(raw_int("SELECT count(*) FROM certificates WHERE "
	    "status = 'reserved'"), 2);
	events = raw_int("SELECT count(*) FROM events");

	log = open_log();
	CU_ASSERT_EQUAL(issuance_log_recover(log, &n), CA_OK);
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT_EQUAL(raw_int("SELECT count(*) FROM certificates WHERE "
	    "status = 'reserved'"), 0);
	CU_ASSERT_EQUAL(raw_int("SELECT count(*) FROM certificates WHERE "
	    "status = 'abandoned' AND der IS NULL"), 3);
	CU_ASSERT_EQUAL(raw_int("SELECT count(*) FROM certificates WHERE "
	    "status = 'issued'"), 1);
	CU_ASSERT_EQUAL(raw_int("SELECT count(*) FROM certificates WHERE "
	    "status = 'revoked'"), 1);
	/* Abandonment is not chained, and the chain still verifies. */
	CU_ASSERT_EQUAL(raw_int("SELECT count(*) FROM events"), events);
	CU_ASSERT_EQUAL(issuance_log_verify(log, &(struct
	    issuance_verify_report){ 0 }), CA_OK);
	/* An abandoned serial cannot be completed any more. */
	CU_ASSERT_EQUAL(issuance_log_abandon(log, s[2]), CA_ERR_EXISTS);

	/* A second writer that claims the log is refused, changing nothing. */
	CU_ASSERT_EQUAL_FATAL(issuance_log_reserve(log, s[2], kid,
	    sizeof(kid)), CA_OK);
	CU_ASSERT_EQUAL_FATAL(issuance_log_open(&second, dbpath), CA_OK);
	n = -1;
	CU_ASSERT_EQUAL(issuance_log_recover(second, &n), CA_ERR_EXISTS);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "lock"));
	CU_ASSERT_EQUAL(raw_int("SELECT count(*) FROM certificates WHERE "
	    "status = 'reserved'"), 1);
	issuance_log_close(second);
	/* The first still holds its lock; calling again is harmless. */
	CU_ASSERT_EQUAL(issuance_log_recover(log, &n), CA_OK);
	issuance_log_close(log);

	/* Once the first is closed, the lock is free again. */
	CU_ASSERT_EQUAL_FATAL(issuance_log_open(&second, dbpath), CA_OK);
	CU_ASSERT_EQUAL(issuance_log_recover(second, &n), CA_OK);
	CU_ASSERT_EQUAL(n, 0);
	issuance_log_close(second);
}

static CU_TestInfo tests[] = {
	{ "recover_reserved", test_recover_reserved },
	CU_TEST_INFO_NULL,
};

UNIT_MAIN_FIXTURE("issuance_log_recover", NULL, ilog_fixture_cleanup, tests)
