/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for the issuance log (log/issuance_log*.c): the hash chain,
 * recomputed by an independent routine from docs/issuance-log.md alone,
 * against rows edited behind its back with plain sqlite3.
 * Results are checked through raw SQLite connections, not only through
 * the module. Shared set-up: ilog_fixture.c.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/sha.h>
#include <sodium.h>
#include <sqlite3.h>

#include "common/ca_error.h"
#include "log/issuance_log.h"
#include "log/issuance_log_int.h"
#include "tests/unit/ilog_fixture.h"
#include "tests/unit/unit.h"

static void
build_fixture(uint8_t serials[4][ISSUANCE_LOG_SERIAL_LEN])
{
	struct issuance_log *log;
	struct issuance_verify_report rep;
	int i;

	fresh();
	log = open_log();
	make_token(log, "t-a", "secret a", 600);
	make_token(log, "t-b", "secret b", 600);
	for (i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(issue(log, serials[i], i == 1 ? "CN=one" :
		    "CN=other", i == 2 ? "t-a" : NULL), CA_OK);
	CU_ASSERT_EQUAL(issuance_log_revoke(log, serials[3], 4), CA_OK);
	CU_ASSERT_EQUAL(issuance_log_token_revoke(log, "t-b"), CA_OK);
	/* events: 1,2 token-create; 3,4 issue; 5 issue; 6 token-consume;
	 * 7 issue; 8 revoke; 9 token-revoke */
	CU_ASSERT_EQUAL(issuance_log_verify(log, &rep), CA_OK);
	CU_ASSERT_EQUAL(rep.entries, 9);
	CU_ASSERT_EQUAL(rep.head_seq, 9);
	CU_ASSERT_EQUAL(rep.bad_seq, 0);
	issuance_log_close(log);
}

/* tamper runs sql on a fresh fixture and returns the verify report. */
static int
tamper(const char *sql, struct issuance_verify_report *rep,
    uint8_t serials[4][ISSUANCE_LOG_SERIAL_LEN])
{
	struct issuance_log_reader *r = NULL;
	char buf[512];
	int rc;

	build_fixture(serials);
	snprintf(buf, sizeof(buf), "DROP TRIGGER events_no_update; "
	    "DROP TRIGGER events_no_delete; %s", sql);
	CU_ASSERT_EQUAL(raw_exec(buf), SQLITE_OK);
	CU_ASSERT_EQUAL_FATAL(issuance_log_reader_open(&r, dbpath), CA_OK);
	rc = issuance_log_reader_verify(r, rep);
	issuance_log_reader_close(r);
	return rc;
}

/* Append F(value) as docs/issuance-log.md defines it. */
static void
doc_enc(uint8_t **b, size_t *n, sqlite3_stmt *st, int i)
{
	int type = sqlite3_column_type(st, i), len, k;
	uint64_t u;

	*b = realloc(*b, *n + 9 + (size_t)sqlite3_column_bytes(st, i));
	CU_ASSERT_PTR_NOT_NULL_FATAL(*b);
	if (type == SQLITE_NULL) {
		(*b)[(*n)++] = 0;
	} else if (type == SQLITE_INTEGER) {
		u = (uint64_t)sqlite3_column_int64(st, i);
		(*b)[(*n)++] = 1;
		for (k = 7; k >= 0; k--)
			(*b)[(*n)++] = (uint8_t)(u >> (8 * k));
	} else {
		len = sqlite3_column_bytes(st, i);
		(*b)[(*n)++] = type == SQLITE_TEXT ? 2 : 3;
		for (k = 3; k >= 0; k--)
			(*b)[(*n)++] = (uint8_t)((uint32_t)len >> (8 * k));
		memcpy(*b + *n, type == SQLITE_TEXT ?
		    (const void *)sqlite3_column_text(st, i) :
		    sqlite3_column_blob(st, i), (size_t)len);
		*n += (size_t)len;
	}
}

/*
 * An auditor's recomputation of the chain from the documentation alone:
 * plain sqlite3 queries and OpenSSL's one-shot SHA256, none of the
 * module's code. Returns the number of entries that match.
 */
static int
doc_recompute(void)
{
	static const char *const q[][2] = {
		{ "issue", "SELECT serial, issuer_key_id, subject, names, "
		    "not_before, not_after, der, requester, attestation, "
		    "evidence, token_id, issued_at FROM certificates WHERE "
		    "serial = ?1" },
		{ "revoke", "SELECT serial, revoked_at, revocation_reason "
		    "FROM certificates WHERE serial = ?1" },
		{ "token-create", "SELECT id, secret_hash, identity, "
		    "allowed_names, profile, expires_at, created_at FROM "
		    "join_tokens WHERE id = ?2" },
		{ "token-consume", "SELECT id, used_at, used_serial FROM "
		    "join_tokens WHERE id = ?2" },
		{ "token-revoke", "SELECT id, revoked_at FROM join_tokens "
		    "WHERE id = ?2" },
	};
	sqlite3 *db = NULL;
	sqlite3_stmt *ev = NULL, *row = NULL;
	uint8_t prev[32], md[32], *b = NULL;
	size_t n, k;
	int good = 0, i;

	memset(prev, 0, sizeof(prev));
	CU_ASSERT_EQUAL_FATAL(sqlite3_open(dbpath, &db), SQLITE_OK);
	CU_ASSERT_EQUAL_FATAL(sqlite3_prepare_v2(db, "SELECT seq, kind, "
	    "time, serial, token_id, hash FROM events ORDER BY seq", -1, &ev,
	    NULL), SQLITE_OK);
	while (sqlite3_step(ev) == SQLITE_ROW) {
		n = 0;
		b = realloc(b, 32);
		CU_ASSERT_PTR_NOT_NULL_FATAL(b);
		memcpy(b, prev, 32);
		n = 32;
		for (i = 0; i < 5; i++)
			doc_enc(&b, &n, ev, i);
		for (k = 0; k < sizeof(q) / sizeof(q[0]); k++)
			if (strcmp(q[k][0], (const char *)
			    sqlite3_column_text(ev, 1)) == 0)
				break;
		CU_ASSERT_FATAL(k < sizeof(q) / sizeof(q[0]));
		CU_ASSERT_EQUAL_FATAL(sqlite3_prepare_v2(db, q[k][1], -1,
		    &row, NULL), SQLITE_OK);
		sqlite3_bind_value(row, 1, sqlite3_column_value(ev, 3));
		sqlite3_bind_value(row, 2, sqlite3_column_value(ev, 4));
		if (sqlite3_step(row) == SQLITE_ROW)
			for (i = 0; i < sqlite3_column_count(row); i++)
				doc_enc(&b, &n, row, i);
		sqlite3_finalize(row);
		SHA256(b, n, md);
		if (sqlite3_column_bytes(ev, 5) == 32 &&
		    memcmp(md, sqlite3_column_blob(ev, 5), 32) == 0)
			good++;
		memcpy(prev, sqlite3_column_blob(ev, 5), 32);
	}
	free(b);
	sqlite3_finalize(ev);
	sqlite3_close(db);
	return good;
}

static void
test_chain_verify(void)
{
	uint8_t s[4][ISSUANCE_LOG_SERIAL_LEN];
	struct issuance_verify_report rep;
	struct issuance_log_reader *r = NULL;
	char hex[33];

	/* Intact, through the reader too. */
	build_fixture(s);
	CU_ASSERT_EQUAL_FATAL(issuance_log_reader_open(&r, dbpath), CA_OK);
	CU_ASSERT_EQUAL(issuance_log_reader_verify(r, &rep), CA_OK);
	CU_ASSERT_EQUAL(rep.entries, 9);
	CU_ASSERT_STRING_EQUAL(rep.what, "");
	issuance_log_reader_close(r);
	/* The documented hash definition is the one the code uses. */
	CU_ASSERT_EQUAL(doc_recompute(), 9);
	/* The triggers refuse casual edits of the chain. */
	CU_ASSERT_NOT_EQUAL(raw_exec("!DELETE FROM events WHERE seq = 3"),
	    SQLITE_OK);

	/* Changed subject of the second certificate: entry 4. */
	CU_ASSERT_EQUAL(tamper("UPDATE certificates SET subject = 'CN=evil' "
	    "WHERE subject = 'CN=one'", &rep, s), CA_ERR_VERIFY);
	CU_ASSERT_EQUAL(rep.bad_seq, 4);
	CU_ASSERT_PTR_NOT_NULL(strstr(rep.what, "hash mismatch"));
	CU_ASSERT_EQUAL(doc_recompute(), 8);	/* the auditor agrees */
	CU_ASSERT_PTR_NOT_NULL(strstr(rep.what, ilog_hex(hex, s[1], 16)));

	/* Changed DER of the third: entry 5. */
	CU_ASSERT_EQUAL(tamper("UPDATE certificates SET der = x'3000' "
	    "WHERE token_id = 't-a'", &rep, s), CA_ERR_VERIFY);
	CU_ASSERT_EQUAL(rep.bad_seq, 5);
	CU_ASSERT_PTR_NOT_NULL(strstr(rep.what, ilog_hex(hex, s[2], 16)));

	/* Deleted first certificate row: entry 3. */
	CU_ASSERT_EQUAL(tamper("DELETE FROM certificates WHERE id = 1", &rep,
	    s), CA_ERR_VERIFY);
	CU_ASSERT_EQUAL(rep.bad_seq, 3);
	CU_ASSERT_PTR_NOT_NULL(strstr(rep.what, "removed"));
	CU_ASSERT_PTR_NOT_NULL(strstr(rep.what, ilog_hex(hex, s[0], 16)));

	/* Deleted chain entry 6 (token-consume): the gap is reported. */
	CU_ASSERT_EQUAL(tamper("DELETE FROM events WHERE seq = 6", &rep, s),
	    CA_ERR_VERIFY);
	CU_ASSERT_EQUAL(rep.bad_seq, 6);
	CU_ASSERT_PTR_NOT_NULL(strstr(rep.what, "missing"));

	/* Changed revocation reason: the revoke entry, 8. */
	CU_ASSERT_EQUAL(tamper("UPDATE certificates SET revocation_reason = 1 "
	    "WHERE status = 'revoked'", &rep, s), CA_ERR_VERIFY);
	CU_ASSERT_EQUAL(rep.bad_seq, 8);
	CU_ASSERT_PTR_NOT_NULL(strstr(rep.what, "revoke"));

	/* An issued certificate pushed back to "reserved": entry 3. */
	CU_ASSERT_EQUAL(tamper("UPDATE certificates SET status = 'reserved' "
	    "WHERE id = 1", &rep, s), CA_ERR_VERIFY);
	CU_ASSERT_EQUAL(rep.bad_seq, 3);
	CU_ASSERT_PTR_NOT_NULL(strstr(rep.what, "status is reserved"));

	/* A revocation undone by hand: entry 8 contradicts the row. */
	CU_ASSERT_EQUAL(tamper("UPDATE certificates SET status = 'issued', "
	    "revoked_at = NULL, revocation_reason = NULL WHERE "
	    "status = 'revoked'", &rep, s), CA_ERR_VERIFY);
	CU_ASSERT_EQUAL(rep.bad_seq, 8);

	/* An entry re-hashed with a forged link: prev_hash of entry 7. */
	CU_ASSERT_EQUAL(tamper("UPDATE events SET prev_hash = zeroblob(32) "
	    "WHERE seq = 7", &rep, s), CA_ERR_VERIFY);
	CU_ASSERT_EQUAL(rep.bad_seq, 7);
	CU_ASSERT_PTR_NOT_NULL(strstr(rep.what, "prev_hash"));

	/* The last entries removed: the revoked row has no entry left. */
	CU_ASSERT_EQUAL(tamper("DELETE FROM events WHERE seq >= 8", &rep, s),
	    CA_ERR_VERIFY);
	CU_ASSERT_EQUAL(rep.bad_seq, -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(rep.what, ilog_hex(hex, s[3], 16)));
	CU_ASSERT_EQUAL(rep.head_seq, 7);
}


static CU_TestInfo tests[] = {
	{ "chain_verify", test_chain_verify },
	CU_TEST_INFO_NULL,
};

UNIT_MAIN_FIXTURE("issuance_log_chain", NULL, ilog_fixture_cleanup, tests)
