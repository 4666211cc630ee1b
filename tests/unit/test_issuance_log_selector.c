/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for the selectors stored with certificates
 * (log/issuance_log_selector.c, schema 5): the selector rules, recording
 * them in the certificate's transaction (a bad one refuses the whole
 * completion and writes nothing), a renewal inheriting its parent's,
 * issuance_log_find returning them, listing by selector, revoking by
 * selector (only issued certificates, one chain entry each, an unknown
 * reason refused, nothing matched is not an error), and the migration
 * from schema 4. Rows are checked through raw SQLite connections too.
 * Shared set-up: ilog_fixture.c.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <sqlite3.h>

#include "common/ca_error.h"
#include "log/issuance_log.h"
#include "log/issuance_log_int.h"
#include "tests/unit/ilog_fixture.h"
#include "tests/unit/unit.h"

/* complete_with records a certificate with sels and parent. */
static int
complete_with(struct issuance_log *log, uint8_t serial[ISSUANCE_LOG_SERIAL_LEN],
    const char *const *sels, size_t n, const uint8_t *parent)
{
	return issue_with(log, serial, "CN=node", NULL, sels, n, parent);
}

static void
test_selector_rules(void)
{
	static const char *const good[] = {
		"token:id:t-8f3a19c2", "x509pop:subject:CN=node 1,O=Ex",
		"tpm:ek-sha256:00ff", "iddoc:region:eu-west-1",
		"x509pop:cn:n\xc3\xa9ud", "a:b:c", "k:f:value:with:colons",
	};
	static const char *const bad[] = {
		"", "token", "token:id", "token:id:", ":id:x", "token::x",
		"Token:id:x", "tok en:id:x", "token:id:a\nb", "token:id:a\x7f",
		"token:id:\xc3", "token:id:\xc0\xaf", "token:id:\xc2\x85",
		"token_x:id:y",
		"abcdefghijabcdefghijabcdefghijabc:id:x",
	};
	char longsel[ISSUANCE_LOG_SELECTOR_MAX + 2];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		CU_ASSERT_EQUAL(issuance_selector_check(good[i]), CA_OK);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT_EQUAL(issuance_selector_check(bad[i]),
		    CA_ERR_INVALID);
		CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "selector"));
	}
	CU_ASSERT_EQUAL(issuance_selector_check(NULL), CA_ERR_INVALID);
	/* The length cap, exactly. */
	memset(longsel, 'v', sizeof(longsel));
	memcpy(longsel, "token:id:", 9);
	longsel[ISSUANCE_LOG_SELECTOR_MAX] = '\0';
	CU_ASSERT_EQUAL(issuance_selector_check(longsel), CA_OK);
	longsel[ISSUANCE_LOG_SELECTOR_MAX] = 'v';
	longsel[ISSUANCE_LOG_SELECTOR_MAX + 1] = '\0';
	CU_ASSERT_EQUAL(issuance_selector_check(longsel), CA_ERR_INVALID);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "limit"));
}

static void
test_record_find_inherit(void)
{
	static const char *const a[] = {
		"token:id:t-a", "token:identity:node-a", "token:id:t-a",
	};
	static const char *const r[] = {
		"x509pop:renewed-serial:aa", "x509pop:subject:CN=node",
	};
	struct issuance_log *log;
	struct issuance_cert *c = NULL;
	uint8_t s1[ISSUANCE_LOG_SERIAL_LEN], s2[ISSUANCE_LOG_SERIAL_LEN];
	uint8_t s3[ISSUANCE_LOG_SERIAL_LEN];

	fresh();
	log = open_log();
	CU_ASSERT_EQUAL_FATAL(complete_with(log, s1, a, 3, NULL), CA_OK);
	/* The duplicate is stored once. */
	CU_ASSERT_EQUAL(raw_int("SELECT count(*) FROM "
	    "certificate_selectors"), 2);
	CU_ASSERT_EQUAL_FATAL(issuance_log_find(log, &c, s1), CA_OK);
	CU_ASSERT_EQUAL_FATAL(c->nselectors, 2);
	CU_ASSERT_STRING_EQUAL(c->selectors[0], "token:id:t-a");
	CU_ASSERT_STRING_EQUAL(c->selectors[1], "token:identity:node-a");
	issuance_cert_free(c);

	/* A renewal: its own selectors and every one of its parent's. */
	CU_ASSERT_EQUAL_FATAL(complete_with(log, s2, r, 2, s1), CA_OK);
	CU_ASSERT_EQUAL_FATAL(issuance_log_find(log, &c, s2), CA_OK);
	CU_ASSERT_EQUAL_FATAL(c->nselectors, 4);
	CU_ASSERT_STRING_EQUAL(c->selectors[0], "token:id:t-a");
	CU_ASSERT_STRING_EQUAL(c->selectors[3], "x509pop:subject:CN=node");
	issuance_cert_free(c);
	/*
	 * A renewal of the renewal carries the first one's too, but not the
	 * renewal's own (they would pile up over a chain of renewals).
	 */
	CU_ASSERT_EQUAL_FATAL(complete_with(log, s3, NULL, 0, s2), CA_OK);
	CU_ASSERT_EQUAL_FATAL(issuance_log_find(log, &c, s3), CA_OK);
	CU_ASSERT_EQUAL_FATAL(c->nselectors, 2);
	CU_ASSERT_STRING_EQUAL(c->selectors[0], "token:id:t-a");
	CU_ASSERT_STRING_EQUAL(c->selectors[1], "token:identity:node-a");
	issuance_cert_free(c);

	/* The reader's find does not load them (OCSP has no use for them). */
	CU_ASSERT_EQUAL(issuance_log_verify(log, &(struct
	    issuance_verify_report){ 0 }), CA_OK);
	issuance_log_close(log);
}

static void
test_bad_selector_writes_nothing(void)
{
	static const char *const sels[] = { "token:id:ok", "token:id:" };
	const char *many[ISSUANCE_LOG_MAX_SELECTORS + 1];
	struct issuance_log *log;
	uint8_t s[ISSUANCE_LOG_SERIAL_LEN];
	int64_t events;
	size_t i;

	fresh();
	log = open_log();
	events = raw_int("SELECT count(*) FROM events");
	CU_ASSERT_EQUAL(complete_with(log, s, sels, 2, NULL), CA_ERR_INVALID);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "token:id"));
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "kind:fact:value"));
	CU_ASSERT_EQUAL(raw_int("SELECT count(*) FROM certificate_selectors"),
	    0);
	CU_ASSERT_EQUAL(raw_int("SELECT count(*) FROM certificates WHERE "
	    "status = 'reserved'"), 1);
	CU_ASSERT_EQUAL(raw_int("SELECT count(*) FROM events"), events);

	for (i = 0; i < ISSUANCE_LOG_MAX_SELECTORS + 1; i++)
		many[i] = "token:id:x";
	CU_ASSERT_EQUAL(complete_with(log, s, many,
	    ISSUANCE_LOG_MAX_SELECTORS + 1, NULL), CA_ERR_INVALID);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "limit"));
	CU_ASSERT_EQUAL(raw_int("SELECT count(*) FROM certificate_selectors"),
	    0);
	CU_ASSERT_EQUAL(complete_with(log, s, many,
	    ISSUANCE_LOG_MAX_SELECTORS, NULL), CA_OK);
	issuance_log_close(log);
}

struct seen {
	int n;
	uint8_t serial[4][ISSUANCE_LOG_SERIAL_LEN];
};

static int
seen_cb(const struct issuance_cert *c, void *arg)
{
	struct seen *s = arg;

	if (s->n < 4)
		memcpy(s->serial[s->n], c->serial, ISSUANCE_LOG_SERIAL_LEN);
	s->n++;
	return 0;
}

static void
test_list_and_revoke(void)
{
	static const char *const a[] = { "token:id:t-a" };
	static const char *const b[] = { "token:id:t-b" };
	static const char *const r[] = { "x509pop:renewed-serial:01" };
	struct issuance_log *log;
	struct issuance_cert *c = NULL;
	struct seen seen;
	uint8_t sa[ISSUANCE_LOG_SERIAL_LEN], sb[ISSUANCE_LOG_SERIAL_LEN];
	uint8_t sr[ISSUANCE_LOG_SERIAL_LEN], sx[ISSUANCE_LOG_SERIAL_LEN];
	uint8_t sy[ISSUANCE_LOG_SERIAL_LEN];
	uint8_t *serials = NULL;
	size_t n = 99;
	int64_t events;

	fresh();
	log = open_log();
	CU_ASSERT_EQUAL_FATAL(complete_with(log, sa, a, 1, NULL), CA_OK);
	CU_ASSERT_EQUAL_FATAL(complete_with(log, sb, b, 1, NULL), CA_OK);
	CU_ASSERT_EQUAL_FATAL(complete_with(log, sr, r, 1, sa), CA_OK);
	/* One already revoked, and one recorded and abandoned: left alone. */
	CU_ASSERT_EQUAL_FATAL(complete_with(log, sx, a, 1, NULL), CA_OK);
	CU_ASSERT_EQUAL(issuance_log_revoke(log, sx, 4), CA_OK);
	CU_ASSERT_EQUAL_FATAL(issuance_log_reserve(log, sy, kid, sizeof(kid)),
	    CA_OK);
	CU_ASSERT_EQUAL(raw_exec("INSERT INTO certificate_selectors "
	    "SELECT serial, 'token:id:t-a', 0 FROM certificates WHERE "
	    "status = 'reserved'"), SQLITE_OK);
	CU_ASSERT_EQUAL(issuance_log_abandon(log, sy), CA_OK);

	memset(&seen, 0, sizeof(seen));
	CU_ASSERT_EQUAL(issuance_log_foreach_selector(log, "token:id:t-a",
	    seen_cb, &seen), CA_OK);
	CU_ASSERT_EQUAL_FATAL(seen.n, 4);
	CU_ASSERT_EQUAL(memcmp(seen.serial[0], sa, sizeof(sa)), 0);
	CU_ASSERT_EQUAL(memcmp(seen.serial[1], sr, sizeof(sr)), 0);
	memset(&seen, 0, sizeof(seen));
	CU_ASSERT_EQUAL(issuance_log_foreach_selector(log, "token:id:none",
	    seen_cb, &seen), CA_OK);
	CU_ASSERT_EQUAL(seen.n, 0);
	CU_ASSERT_EQUAL(issuance_log_foreach_selector(log, "token:id",
	    seen_cb, &seen), CA_ERR_INVALID);

	/* Refusals change nothing. */
	events = raw_int("SELECT count(*) FROM events");
	CU_ASSERT_EQUAL(issuance_log_revoke_selector(log, "token:id:t-a", 6,
	    &n, &serials), CA_ERR_INVALID);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "token:id:t-a"));
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "5.3.1"));
	CU_ASSERT_EQUAL(issuance_log_revoke_selector(log, "bad", 1, &n,
	    &serials), CA_ERR_INVALID);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_PTR_NULL(serials);
	/* Nothing matched: not an error, nothing written. */
	CU_ASSERT_EQUAL(issuance_log_revoke_selector(log, "token:id:none", 1,
	    &n, &serials), CA_OK);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_PTR_NULL(serials);
	CU_ASSERT_EQUAL(raw_int("SELECT count(*) FROM events"), events);
	CU_ASSERT_EQUAL(raw_int("SELECT count(*) FROM certificates WHERE "
	    "status = 'revoked'"), 1);

	/* The original and its renewal, exactly. */
	fake_now += 10;
	CU_ASSERT_EQUAL_FATAL(issuance_log_revoke_selector(log, "token:id:t-a",
	    1, &n, &serials), CA_OK);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(serials);
	CU_ASSERT_EQUAL(memcmp(serials, sa, sizeof(sa)), 0);
	CU_ASSERT_EQUAL(memcmp(serials + ISSUANCE_LOG_SERIAL_LEN, sr,
	    sizeof(sr)), 0);
	free(serials);
	serials = NULL;
	CU_ASSERT_EQUAL(raw_int("SELECT count(*) FROM events"), events + 2);
	CU_ASSERT_EQUAL(raw_int("SELECT count(*) FROM events WHERE kind = "
	    "'revoke'"), 3);
	CU_ASSERT_EQUAL_FATAL(issuance_log_find(log, &c, sb), CA_OK);
	CU_ASSERT_EQUAL(c->status, ISSUANCE_ISSUED);
	issuance_cert_free(c);
	CU_ASSERT_EQUAL_FATAL(issuance_log_find(log, &c, sr), CA_OK);
	CU_ASSERT_EQUAL(c->status, ISSUANCE_REVOKED);
	CU_ASSERT_EQUAL(c->reason, 1);
	CU_ASSERT_EQUAL(c->revoked_at, fake_now);
	issuance_cert_free(c);
	/* sx kept its first revocation; sy is still abandoned. */
	CU_ASSERT_EQUAL_FATAL(issuance_log_find(log, &c, sx), CA_OK);
	CU_ASSERT_EQUAL(c->reason, 4);
	issuance_cert_free(c);
	CU_ASSERT_EQUAL_FATAL(issuance_log_find(log, &c, sy), CA_OK);
	CU_ASSERT_EQUAL(c->status, ISSUANCE_ABANDONED);
	issuance_cert_free(c);
	/* Again: nothing left to revoke. */
	CU_ASSERT_EQUAL(issuance_log_revoke_selector(log, "token:id:t-a", 1,
	    &n, NULL), CA_OK);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_EQUAL(issuance_log_verify(log, &(struct
	    issuance_verify_report){ 0 }), CA_OK);
	issuance_log_close(log);
}

/* A schema 4 log: a schema 5 one with the selector table taken out. */
static void
test_migrate_from_v4(void)
{
	static const char *const a[] = { "token:id:t-a" };
	struct issuance_log *log;
	struct issuance_log_reader *r = NULL;
	struct issuance_cert *c = NULL;
	uint8_t s1[ISSUANCE_LOG_SERIAL_LEN], s2[ISSUANCE_LOG_SERIAL_LEN];

	fresh();
	log = open_log();
	CU_ASSERT_EQUAL_FATAL(complete_with(log, s1, NULL, 0, NULL), CA_OK);
	issuance_log_close(log);
	CU_ASSERT_EQUAL_FATAL(raw_exec("DROP TABLE certificate_selectors; "
	    "PRAGMA user_version = 4"), SQLITE_OK);
	CU_ASSERT_EQUAL(issuance_log_reader_open(&r, dbpath),
	    CA_ERR_UNSUPPORTED);
	log = open_log();
	CU_ASSERT_EQUAL(raw_int("PRAGMA user_version"), 5);
	CU_ASSERT_EQUAL(raw_int("SELECT count(*) FROM sqlite_schema WHERE "
	    "name IN ('certificate_selectors', "
	    "'certificate_selectors_serial')"), 2);
	CU_ASSERT_EQUAL_FATAL(issuance_log_find(log, &c, s1), CA_OK);
	CU_ASSERT_EQUAL(c->nselectors, 0);
	issuance_cert_free(c);
	/* A renewal of a certificate from before has only its own. */
	CU_ASSERT_EQUAL(complete_with(log, s2, a, 1, s1), CA_OK);
	CU_ASSERT_EQUAL_FATAL(issuance_log_find(log, &c, s2), CA_OK);
	CU_ASSERT_EQUAL(c->nselectors, 1);
	issuance_cert_free(c);
	CU_ASSERT_EQUAL(issuance_log_verify(log, &(struct
	    issuance_verify_report){ 0 }), CA_OK);
	issuance_log_close(log);
	CU_ASSERT_EQUAL_FATAL(issuance_log_reader_open(&r, dbpath), CA_OK);
	issuance_log_reader_close(r);
}

static CU_TestInfo tests[] = {
	{ "selector_rules", test_selector_rules },
	{ "record_find_inherit", test_record_find_inherit },
	{ "bad_selector_writes_nothing", test_bad_selector_writes_nothing },
	{ "list_and_revoke", test_list_and_revoke },
	{ "migrate_from_v4", test_migrate_from_v4 },
	CU_TEST_INFO_NULL,
};

UNIT_MAIN_FIXTURE("issuance_log_selector", NULL, ilog_fixture_cleanup, tests)
