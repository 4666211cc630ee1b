/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for the issuance log as a file (log/issuance_log_file.c):
 * a log is created only by issuance_log_create, with mode 0600 (0640 and a
 * group) whatever the umask, for the -wal, -shm and head files too, and
 * never over an earlier log; no open creates one. The head state file:
 * a log that is gone, a log rolled back to an older copy and a log
 * replaced by another are refused by the writer and by the reader, and
 * left as they were. And a full disk (max_page_count) is reported as such,
 * naming what was not recorded, never as a failed rollback.
 * Shared set-up: ilog_fixture.c.
 */
#include "config.h"

#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "common/ca_error.h"
#include "common/fileio.h"
#include "log/issuance_log.h"
#include "log/issuance_log_int.h"
#include "tests/unit/ilog_fixture.h"
#include "tests/unit/unit.h"

static const char *const sides[] = { "", "-wal", "-shm",
    ISSUANCE_LOG_HEAD_SUFFIX };
#define NSIDES	(sizeof(sides) / sizeof(sides[0]))

/* mode_of returns the permission bits of path + suffix, or -1. */
static int
mode_of(const char *path, const char *suffix, gid_t *gid)
{
	char p[300];
	struct stat sb;

	snprintf(p, sizeof(p), "%s%s", path, suffix);
	if (stat(p, &sb) != 0)
		return -1;
	if (gid != NULL)
		*gid = sb.st_gid;
	return (int)(sb.st_mode & 07777);
}

/*
 * copy_log copies the log at from to to: the database, its -wal and -shm
 * files and, with head, its head file (an absent one is skipped).
 */
static void
copy_log(const char *to, const char *from, int head)
{
	char a[300], b[300];
	uint8_t *buf = NULL;
	size_t len, i;
	FILE *f;

	for (i = 0; i < (head ? NSIDES : NSIDES - 1); i++) {
		snprintf(a, sizeof(a), "%s%s", from, sides[i]);
		snprintf(b, sizeof(b), "%s%s", to, sides[i]);
		unlink(b);
		if (fileio_read(&buf, &len, a, 64 * 1024 * 1024) != CA_OK)
			continue;
		CU_ASSERT_PTR_NOT_NULL_FATAL(f = fopen(b, "w"));
		CU_ASSERT_EQUAL(fwrite(buf, 1, len, f), len);
		CU_ASSERT_EQUAL(fclose(f), 0);
		free(buf);
		buf = NULL;
	}
}

/* remove_files removes the log at path, all four files. */
static void
remove_files(const char *path)
{
	char p[300];
	size_t i;

	for (i = 0; i < NSIDES; i++) {
		snprintf(p, sizeof(p), "%s%s", path, sides[i]);
		unlink(p);
	}
}

/* sha_of hashes the log file itself, to show a refusal changed nothing. */
static void
sha_of(uint8_t out[FILEIO_SHA256_LEN], const char *path)
{
	CU_ASSERT_EQUAL(fileio_sha256(out, path), CA_OK);
}

static void
test_create_modes(void)
{
	struct issuance_log *log = NULL;
	uint8_t s[ISSUANCE_LOG_SERIAL_LEN];
	mode_t old;
	gid_t gid = 0;
	size_t i;

	old = umask(022);
	fresh();
	CU_ASSERT_EQUAL_FATAL(issuance_log_create(dbpath, (gid_t)-1), CA_OK);
	for (i = 0; i < NSIDES; i++)
		CU_ASSERT_EQUAL(mode_of(dbpath, sides[i], NULL), 0600);
	/* The writer's own use keeps them so (SQLite copies the mode). */
	log = open_log();
	CU_ASSERT_EQUAL(issue(log, s, "CN=a", NULL), CA_OK);
	issuance_log_close(log);
	for (i = 0; i < NSIDES; i++)
		CU_ASSERT_EQUAL(mode_of(dbpath, sides[i], NULL), 0600);
	/* -wal and -shm made again by SQLite get the log's mode too. */
	remove_files(dbpath);
	CU_ASSERT_EQUAL_FATAL(issuance_log_create(dbpath, (gid_t)-1), CA_OK);
	CU_ASSERT_EQUAL(mode_of(dbpath, "-wal", NULL), 0600);
	log = open_log();
	issuance_log_close(log);
	{
		char p[300];

		snprintf(p, sizeof(p), "%s-wal", dbpath);
		CU_ASSERT_EQUAL(unlink(p), 0);
		snprintf(p, sizeof(p), "%s-shm", dbpath);
		CU_ASSERT_EQUAL(unlink(p), 0);
	}
	log = open_log();
	CU_ASSERT_EQUAL(issue(log, s, "CN=b", NULL), CA_OK);
	CU_ASSERT_EQUAL(mode_of(dbpath, "-wal", NULL), 0600);
	CU_ASSERT_EQUAL(mode_of(dbpath, "-shm", NULL), 0600);
	issuance_log_close(log);

	/* A reader group: 0640 and that group, even under umask 077. */
	umask(077);
	fresh();
	CU_ASSERT_EQUAL_FATAL(issuance_log_create(dbpath, getegid()), CA_OK);
	for (i = 0; i < NSIDES; i++) {
		CU_ASSERT_EQUAL(mode_of(dbpath, sides[i], &gid), 0640);
		CU_ASSERT_EQUAL(gid, getegid());
	}
	umask(old);
}

static void
test_create_refuses(void)
{
	struct issuance_log *log = NULL;
	uint8_t s[ISSUANCE_LOG_SERIAL_LEN], before[FILEIO_SHA256_LEN],
	    after[FILEIO_SHA256_LEN];
	char p[300];
	size_t i;

	fresh();
	log = open_log();
	CU_ASSERT_EQUAL(issue(log, s, "CN=a", NULL), CA_OK);
	issuance_log_close(log);
	sha_of(before, dbpath);
	CU_ASSERT_EQUAL(issuance_log_create(dbpath, (gid_t)-1), CA_ERR_EXISTS);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "already exists"));
	sha_of(after, dbpath);
	CU_ASSERT_EQUAL(memcmp(before, after, sizeof(before)), 0);
	CU_ASSERT_EQUAL(raw_int("SELECT count(*) FROM events"), 1);

	/* The leftovers of an earlier log: -wal, -shm or head file. */
	for (i = 1; i < NSIDES; i++) {
		fresh();
		snprintf(p, sizeof(p), "%s%s", dbpath, sides[i]);
		CU_ASSERT_EQUAL(fileio_create(p, "x", 1, 0600), CA_OK);
		CU_ASSERT_EQUAL(issuance_log_create(dbpath, (gid_t)-1),
		    CA_ERR_EXISTS);
		CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(),
		    "a log was here before"));
		CU_ASSERT_EQUAL(access(dbpath, F_OK), -1);
		unlink(p);
	}
}

static void
test_open_never_creates(void)
{
	struct issuance_log *log = NULL;
	struct issuance_log_reader *r = NULL;

	fresh();
	CU_ASSERT_EQUAL(issuance_log_open(&log, dbpath), CA_ERR_NOT_FOUND);
	CU_ASSERT_PTR_NULL(log);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(),
	    "carapace log init"));
	CU_ASSERT_EQUAL(issuance_log_reader_open(&r, dbpath),
	    CA_ERR_NOT_FOUND);
	CU_ASSERT_PTR_NULL(r);
	CU_ASSERT_EQUAL(access(dbpath, F_OK), -1);
	CU_ASSERT_EQUAL(mode_of(dbpath, ISSUANCE_LOG_HEAD_SUFFIX, NULL), -1);
}

/* A log that was there and is gone: refused, and nothing is created. */
static void
test_gone(void)
{
	struct issuance_log *log = NULL;
	struct issuance_log_reader *r = NULL;
	uint8_t s[ISSUANCE_LOG_SERIAL_LEN];
	char p[300];

	fresh();
	log = open_log();
	CU_ASSERT_EQUAL(issue(log, s, "CN=a", NULL), CA_OK);
	CU_ASSERT_EQUAL(issue(log, s, "CN=b", NULL), CA_OK);
	CU_ASSERT_EQUAL(issuance_log_head_save(log, NULL), CA_OK);
	issuance_log_close(log);
	log = NULL;
	unlink(dbpath);
	snprintf(p, sizeof(p), "%s-wal", dbpath);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", dbpath);
	unlink(p);
	CU_ASSERT_EQUAL(issuance_log_open(&log, dbpath), CA_ERR_NOT_FOUND);
	CU_ASSERT_PTR_NULL(log);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "is gone"));
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "entry 2"));
	CU_ASSERT_EQUAL(issuance_log_reader_open(&r, dbpath),
	    CA_ERR_NOT_FOUND);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "is gone"));
	CU_ASSERT_EQUAL(access(dbpath, F_OK), -1);
	/* And `log init` will not start a new one over its head file. */
	CU_ASSERT_EQUAL(issuance_log_create(dbpath, (gid_t)-1), CA_ERR_EXISTS);
	CU_ASSERT_EQUAL(access(dbpath, F_OK), -1);
}

/* An older copy put back, and another log of the same length or longer. */
static void
test_rollback_and_replace(void)
{
	struct issuance_log *log = NULL;
	struct issuance_log_reader *r = NULL;
	struct issuance_log_head h;
	uint8_t s[ISSUANCE_LOG_SERIAL_LEN], before[FILEIO_SHA256_LEN],
	    after[FILEIO_SHA256_LEN];
	char old[300], real[300], other[300];
	int i;

	fresh();
	snprintf(old, sizeof(old), "%s/old.db", dir);
	snprintf(real, sizeof(real), "%s/real.db", dir);
	snprintf(other, sizeof(other), "%s/other.db", dir);
	log = open_log();
	CU_ASSERT_EQUAL(issue(log, s, "CN=a", NULL), CA_OK);
	issuance_log_close(log);
	copy_log(old, dbpath, 0);		/* a backup at entry 1 */
	log = open_log();
	CU_ASSERT_EQUAL(issue(log, s, "CN=b", NULL), CA_OK);
	CU_ASSERT_EQUAL(issue(log, s, "CN=c", NULL), CA_OK);
	CU_ASSERT_EQUAL(issuance_log_head_save(log, &h), CA_OK);
	CU_ASSERT_EQUAL(h.seq, 3);
	issuance_log_close(log);
	log = NULL;
	copy_log(real, dbpath, 0);

	/* The backup put back: older than the head seen. */
	copy_log(dbpath, old, 0);
	sha_of(before, dbpath);
	CU_ASSERT_EQUAL(issuance_log_open(&log, dbpath), CA_ERR_VERIFY);
	CU_ASSERT_PTR_NULL(log);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "older"));
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "entry 1 "));
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "entry 3 "));
	CU_ASSERT_EQUAL(issuance_log_reader_open(&r, dbpath), CA_ERR_VERIFY);
	CU_ASSERT_PTR_NULL(r);
	sha_of(after, dbpath);
	CU_ASSERT_EQUAL(memcmp(before, after, sizeof(before)), 0);

	/* The real one back: fine. */
	copy_log(dbpath, real, 0);
	log = open_log();
	issuance_log_close(log);
	log = NULL;

	/* Another log, longer than the real one: not the one seen. */
	CU_ASSERT_EQUAL_FATAL(issuance_log_create(other, (gid_t)-1), CA_OK);
	CU_ASSERT_EQUAL_FATAL(issuance_log_open(&log, other), CA_OK);
	for (i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(issue(log, s, "CN=x", NULL), CA_OK);
	issuance_log_close(log);
	log = NULL;
	copy_log(dbpath, other, 0);
	CU_ASSERT_EQUAL(issuance_log_open(&log, dbpath), CA_ERR_VERIFY);
	CU_ASSERT_PTR_NULL(log);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "not the one"));
	CU_ASSERT_EQUAL(issuance_log_reader_open(&r, dbpath), CA_ERR_VERIFY);
	CU_ASSERT_PTR_NULL(r);
	remove_files(old);
	remove_files(real);
	remove_files(other);
}

/* No head file next to an existing log: adopted, with a flag to warn. */
static void
test_head_adopted_and_garbage(void)
{
	struct issuance_log *log = NULL;
	uint8_t s[ISSUANCE_LOG_SERIAL_LEN];
	char p[300];

	fresh();
	log = open_log();
	CU_ASSERT_EQUAL(issuance_log_head_adopted(log), 0);
	CU_ASSERT_EQUAL(issue(log, s, "CN=a", NULL), CA_OK);
	CU_ASSERT_EQUAL(issuance_log_head_save(log, NULL), CA_OK);
	issuance_log_close(log);
	snprintf(p, sizeof(p), "%s" ISSUANCE_LOG_HEAD_SUFFIX, dbpath);
	CU_ASSERT_EQUAL(unlink(p), 0);
	log = open_log();
	CU_ASSERT_EQUAL(issuance_log_head_adopted(log), 1);
	issuance_log_close(log);
	CU_ASSERT_EQUAL(access(p, F_OK), 0);

	/* A head file that is not one: refused, not overwritten. */
	CU_ASSERT_EQUAL(fileio_replace(p, "seq 1\n", 6, 0600), CA_OK);
	log = NULL;
	CU_ASSERT_EQUAL(issuance_log_open(&log, dbpath), CA_ERR_INVALID);
	CU_ASSERT_PTR_NULL(log);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "head state file"));
	unlink(p);
}

/*
 * A full disk, by max_page_count on the write connection (SQLite answers
 * SQLITE_FULL as for ENOSPC, from inside a statement; the tmpfs test in
 * tests/integration/log_disk_full.sh covers the COMMIT): the error says
 * "disk full" and what was not recorded, never "cannot rollback" or "no
 * such savepoint", nothing is half-written, and the log goes on once there
 * is room again.
 */
static void
test_disk_full(void)
{
	struct issuance_log *log;
	struct join_token t;
	uint8_t s[ISSUANCE_LOG_SERIAL_LEN];
	char sql[64], id[32];
	int i, rc = CA_OK;

	fresh();
	log = open_log();
	make_token(log, "t-full", "full secret", 600);
	CU_ASSERT_EQUAL(issue(log, s, "CN=before", NULL), CA_OK);
	snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %lld",
	    (long long)raw_int("PRAGMA page_count"));
	CU_ASSERT_EQUAL_FATAL(sqlite3_exec(log->db, sql, NULL, NULL, NULL),
	    SQLITE_OK);
	for (i = 0; i < 200 && rc == CA_OK; i++)
		rc = issue(log, s, "CN=filling", NULL);
	CU_ASSERT_EQUAL(rc, CA_ERR_DB);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "disk full: "
	    "certificate "));
	/* Full now: a request with a token keeps its token. */
	CU_ASSERT_EQUAL(issue(log, s, "CN=token", "t-full"), CA_ERR_DB);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "disk full: "
	    "certificate "));
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(),
	    "was not recorded; the token was not consumed"));
	CU_ASSERT_PTR_NULL(strstr(ca_error_detail(), "rollback"));
	CU_ASSERT_PTR_NULL(strstr(ca_error_detail(), "savepoint"));
	CU_ASSERT_EQUAL(raw_int("SELECT count(*) FROM join_tokens WHERE "
	    "used_at IS NULL"), 1);

	/* Operator writes: the token, then the revocation of "before". */
	memset(&t, 0, sizeof(t));
	t.identity = (char *)"node7";
	t.allowed_names = (char *)"DNS:node.example";
	t.profile = (char *)"server";
	t.expires_at = fake_now + 600;
	for (rc = CA_OK, i = 0; i < 500 && rc == CA_OK; i++) {
		snprintf(id, sizeof(id), "t-fill-%d", i);
		t.id = id;
		issuance_log_token_hash(t.hash, id, strlen(id));
		rc = issuance_log_token_create(log, &t);
	}
	CU_ASSERT_EQUAL(rc, CA_ERR_DB);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "disk full: token "));
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "was not created"));
	CU_ASSERT_PTR_NULL(strstr(ca_error_detail(), "rollback"));

	/* Room again: the log goes on, and its chain is whole. */
	CU_ASSERT_EQUAL(sqlite3_exec(log->db, "PRAGMA max_page_count = "
	    "1073741823", NULL, NULL, NULL), SQLITE_OK);
	CU_ASSERT_EQUAL(issue(log, s, "CN=after", "t-full"), CA_OK);
	CU_ASSERT_EQUAL(issuance_log_verify(log, &(struct
	    issuance_verify_report){ 0 }), CA_OK);
	issuance_log_close(log);
	CU_ASSERT_EQUAL(raw_int("SELECT count(*) FROM join_tokens WHERE "
	    "id = 't-full' AND used_serial = (SELECT serial FROM "
	    "certificates WHERE subject = 'CN=after')"), 1);
	CU_ASSERT_EQUAL(raw_int("SELECT count(*) FROM pragma_integrity_check "
	    "WHERE integrity_check = 'ok'"), 1);
}

static CU_TestInfo tests[] = {
	{ "create_modes", test_create_modes },
	{ "create_refuses", test_create_refuses },
	{ "open_never_creates", test_open_never_creates },
	{ "gone", test_gone },
	{ "rollback_and_replace", test_rollback_and_replace },
	{ "head_adopted_and_garbage", test_head_adopted_and_garbage },
	{ "disk_full", test_disk_full },
	CU_TEST_INFO_NULL,
};

UNIT_MAIN_FIXTURE("issuance_log_file", NULL, ilog_fixture_cleanup, tests)
