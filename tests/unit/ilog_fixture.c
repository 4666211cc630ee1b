/* SPDX-License-Identifier: ISC */
/*
 * ilog_fixture: what the issuance log's unit tests share: a private
 * directory with a fresh database path per test, a fake clock, plain
 * SQLite connections for checking behind the module's back, and helpers
 * that issue a certificate or create a join token.
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

const uint8_t kid[20] = { 0xca, 0xfe, 1, 2, 3, 4, 5, 6, 7, 8, 9 };
char dir[128];
char dbpath[256];
int64_t fake_now = 1800000000;

int64_t
fake_clock(void *arg)
{
	(void)arg;
	return __atomic_load_n(&fake_now, __ATOMIC_SEQ_CST);
}

void
db_remove(void)
{
	char p[300];

	snprintf(p, sizeof(p), "%s-wal", dbpath);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", dbpath);
	unlink(p);
	snprintf(p, sizeof(p), "%s" ISSUANCE_LOG_HEAD_SUFFIX, dbpath);
	unlink(p);
	unlink(dbpath);
}

/* fresh gives a new, empty path for each test. */
void
fresh(void)
{
	static int n;

	if (dir[0] == '\0') {
		snprintf(dir, sizeof(dir), "%s/ilog-test-XXXXXX",
		    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
		CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	}
	if (dbpath[0] != '\0')
		db_remove();
	snprintf(dbpath, sizeof(dbpath), "%s/log%d.db", dir, n++);
}

struct issuance_log *
open_log(void)
{
	struct issuance_log *log = NULL;
	int rc;

	/* A log is created explicitly, once, like `carapace log init`. */
	if (access(dbpath, F_OK) != 0 &&
	    (rc = issuance_log_create(dbpath, (gid_t)-1)) != CA_OK)
		fprintf(stderr, "create: %s\n", ca_error_detail());
	if ((rc = issuance_log_open(&log, dbpath)) != CA_OK)
		fprintf(stderr, "open: %s\n", ca_error_detail());
	CU_ASSERT_EQUAL_FATAL(rc, CA_OK);
	issuance_log_set_clock(log, fake_clock, NULL);
	return log;
}

/* raw_int runs a one-value query on a plain connection of our own. */
int64_t
raw_int(const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int64_t v = -999;

	CU_ASSERT_EQUAL_FATAL(sqlite3_open(dbpath, &db), SQLITE_OK);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	else
		fprintf(stderr, "raw_int: %s: %s\n", sql, sqlite3_errmsg(db));
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* raw_exec runs sql on a plain connection; "!" in front: failure expected */
int
raw_exec(const char *sql)
{
	sqlite3 *db = NULL;
	int rc, quiet = sql[0] == '!';

	CU_ASSERT_EQUAL_FATAL(sqlite3_open(dbpath, &db), SQLITE_OK);
	rc = sqlite3_exec(db, sql + quiet, NULL, NULL, NULL);
	if (rc != SQLITE_OK && !quiet)
		fprintf(stderr, "raw_exec: %s: %s\n", sql, sqlite3_errmsg(db));
	sqlite3_close(db);
	return rc;
}

/* issue reserves a serial and records a certificate for it. */
int
issue(struct issuance_log *log, uint8_t serial[ISSUANCE_LOG_SERIAL_LEN],
    const char *subject, const char *token_id)
{
	return issue_with(log, serial, subject, token_id, NULL, 0, NULL);
}

int
issue_with(struct issuance_log *log, uint8_t serial[ISSUANCE_LOG_SERIAL_LEN],
    const char *subject, const char *token_id, const char *const *sels,
    size_t nsels, const uint8_t *parent)
{
	struct issuance_completion req;
	struct issuance_cert c;
	uint8_t der[300], ev[32];
	int rc;

	if ((rc = issuance_log_reserve(log, serial, kid, sizeof(kid))) !=
	    CA_OK)
		return rc;
	memset(&c, 0, sizeof(c));
	memcpy(c.serial, serial, ISSUANCE_LOG_SERIAL_LEN);
	randombytes_buf(der, sizeof(der));
	der[0] = 0x30;
	memset(ev, 0xee, sizeof(ev));
	c.subject = (char *)subject;
	c.names = (char *)"DNS:node.example\nIP:192.0.2.7";
	c.not_before = fake_now - 60;
	c.not_after = fake_now + 86400;
	c.der = der;
	c.der_len = sizeof(der);
	c.requester = (char *)"node7";
	c.attestation = (char *)(token_id != NULL ? "join-token" : "x509pop");
	c.evidence = ev;
	c.evidence_len = sizeof(ev);
	memset(&req, 0, sizeof(req));
	req.cert = &c;
	req.token_id = token_id;
	req.selectors = sels;
	req.nselectors = nsels;
	req.parent_serial = parent;
	return issuance_log_complete(log, &req);
}

void
make_token(struct issuance_log *log, const char *id, const char *secret,
    int64_t ttl)
{
	struct join_token t;

	memset(&t, 0, sizeof(t));
	t.id = (char *)id;
	issuance_log_token_hash(t.hash, secret, strlen(secret));
	t.identity = (char *)"node7";
	t.allowed_names = (char *)"DNS:node.example";
	t.profile = (char *)"server";
	t.expires_at = fake_now + ttl;
	CU_ASSERT_EQUAL(issuance_log_token_create(log, &t), CA_OK);
}


void *
race_consume(void *arg)
{
	struct racer *r = arg;
	struct issuance_completion req;
	struct issuance_cert c;
	uint8_t der[64];

	memset(&c, 0, sizeof(c));
	memset(der, 0x30, sizeof(der));
	memcpy(c.serial, r->serial, sizeof(c.serial));
	c.der = der;
	c.der_len = sizeof(der);
	c.subject = (char *)"CN=racer";
	memset(&req, 0, sizeof(req));
	req.cert = &c;
	req.token_id = r->token_id;
	pthread_barrier_wait(r->barrier);
	r->rc = issuance_log_complete(r->log, &req);
	return NULL;
}

void
ilog_fixture_cleanup_dir(void)
{
	if (dbpath[0] != '\0')
		db_remove();
	if (dir[0] != '\0')
		rmdir(dir);
}

int
ilog_fixture_cleanup(void)
{
	ilog_fixture_cleanup_dir();
	return 0;
}
