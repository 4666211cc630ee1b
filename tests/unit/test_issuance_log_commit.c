/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for the issuance log (log/issuance_log*.c): group commit from
 * many threads; lookups that do not wait for the write connection, batches
 * that are written while an earlier batch's fsync runs but whose callers
 * return only after their own fsync, and a failed fsync that stops every
 * later write; a renewal refused at commit when its parent was revoked.
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

static int
queued(struct issuance_log *log)
{
	int n;

	pthread_mutex_lock(&log->q_mtx);
	n = log->q_len;
	pthread_mutex_unlock(&log->q_mtx);
	return n;
}

#define ISO_N	8

/*
 * One batch holding good and bad requests: the bad ones fail alone. The
 * test holds the connection's lock so that the first leader blocks and
 * the others queue up behind it, then lets go: the second batch holds
 * ISO_N - 1 requests.
 */
static void
test_batch_isolation(void)
{
	struct issuance_log *log;
	struct racer rs[ISO_N];
	pthread_t th[ISO_N];
	pthread_barrier_t barrier;
	uint64_t commits;
	int i, spins;

	fresh();
	log = open_log();
	make_token(log, "t-iso", "iso secret", 600);
	pthread_barrier_init(&barrier, NULL, ISO_N);
	for (i = 0; i < ISO_N; i++) {
		memset(&rs[i], 0, sizeof(rs[i]));
		rs[i].log = log;
		rs[i].barrier = &barrier;
		CU_ASSERT_EQUAL_FATAL(issuance_log_reserve(log, rs[i].serial,
		    kid, sizeof(kid)), CA_OK);
		/* Odd ones: an unknown token, refused. */
		rs[i].token_id = (i % 2) ? "t-unknown" : NULL;
	}
	/* Even serials 0 and 2 are spoiled: 0 is completed twice below. */
	memcpy(rs[2].serial, rs[0].serial, ISSUANCE_LOG_SERIAL_LEN);
	commits = log->commits;
	pthread_mutex_lock(&log->db_mtx);
	for (i = 0; i < ISO_N; i++)
		CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL,
		    race_consume, &rs[i]), 0);
	for (spins = 0; spins < 5000 && queued(log) < ISO_N - 1; spins++)
		usleep(1000);
	CU_ASSERT_EQUAL(queued(log), ISO_N - 1);
	pthread_mutex_unlock(&log->db_mtx);
	for (i = 0; i < ISO_N; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&barrier);
	CU_ASSERT_EQUAL(log->commits - commits, 2);
	for (i = 0; i < ISO_N; i++) {
		if (i % 2)
			CU_ASSERT_EQUAL(rs[i].rc, CA_ERR_DENIED);
	}
	/* Of the two requests for serial 0, exactly one won. */
	CU_ASSERT((rs[0].rc == CA_OK) != (rs[2].rc == CA_OK));
	CU_ASSERT_EQUAL(rs[4].rc, CA_OK);
	CU_ASSERT_EQUAL(rs[6].rc, CA_OK);
	CU_ASSERT_EQUAL(raw_int("SELECT count(*) FROM certificates WHERE "
	    "status = 'issued'"), 3);
	CU_ASSERT_EQUAL(raw_int("SELECT count(*) FROM join_tokens WHERE "
	    "used_at IS NULL"), 1);
	CU_ASSERT_EQUAL(issuance_log_verify(log, &(struct
	    issuance_verify_report){ 0 }), CA_OK);
	issuance_log_close(log);
}

#define GC_THREADS	16
#define GC_EACH		40

static void *
group_worker(void *arg)
{
	struct racer *r = arg;
	uint8_t serial[ISSUANCE_LOG_SERIAL_LEN];
	int i;

	pthread_barrier_wait(r->barrier);
	for (i = 0; i < r->n; i++)
		if (issue(r->log, serial, "CN=group", NULL) != CA_OK)
			r->failures++;
	return NULL;
}

static void
test_group_commit(void)
{
	struct issuance_log *log;
	struct racer rs[GC_THREADS];
	pthread_t th[GC_THREADS];
	pthread_barrier_t barrier;
	struct issuance_verify_report rep;
	int i, failures = 0;

	fresh();
	log = open_log();
	pthread_barrier_init(&barrier, NULL, GC_THREADS);
	for (i = 0; i < GC_THREADS; i++) {
		memset(&rs[i], 0, sizeof(rs[i]));
		rs[i].log = log;
		rs[i].barrier = &barrier;
		rs[i].n = GC_EACH;
		CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL,
		    group_worker, &rs[i]), 0);
	}
	for (i = 0; i < GC_THREADS; i++) {
		pthread_join(th[i], NULL);
		failures += rs[i].failures;
	}
	pthread_barrier_destroy(&barrier);
	CU_ASSERT_EQUAL(failures, 0);
	CU_ASSERT_EQUAL(log->committed_rows, GC_THREADS * GC_EACH);
	CU_ASSERT(log->commits >= 1 && log->commits <= GC_THREADS * GC_EACH);
	fprintf(stderr, "\n  group commit: %d rows in %llu commits\n",
	    GC_THREADS * GC_EACH, (unsigned long long)log->commits);
	CU_ASSERT_EQUAL(issuance_log_verify(log, &rep), CA_OK);
	CU_ASSERT_EQUAL(rep.entries, GC_THREADS * GC_EACH);
	issuance_log_close(log);
	CU_ASSERT_EQUAL(raw_int("SELECT count(*) FROM certificates WHERE "
	    "status = 'issued' AND der IS NOT NULL"), GC_THREADS * GC_EACH);
	CU_ASSERT_EQUAL(raw_int("SELECT count(DISTINCT serial) FROM "
	    "certificates"), GC_THREADS * GC_EACH);
	CU_ASSERT_EQUAL(raw_int("SELECT max(seq) = count(*) FROM events"), 1);
	CU_ASSERT_EQUAL(raw_int("SELECT count(*) FROM pragma_integrity_check "
	    "WHERE integrity_check = 'ok'"), 1);
}

/* wait_for polls *flag (atomically) for up to 5 s; returns its value. */
static int
wait_for(const int *flag, int want)
{
	int spins;

	for (spins = 0; spins < 5000; spins++) {
		if (__atomic_load_n(flag, __ATOMIC_SEQ_CST) == want)
			return want;
		usleep(1000);
	}
	return __atomic_load_n(flag, __ATOMIC_SEQ_CST);
}

struct looker {
	struct issuance_log *log;
	uint8_t serial[ISSUANCE_LOG_SERIAL_LEN];
	int done;
	int failures;
};

/* Every read-only entry point, once. */
static void *
look(void *arg)
{
	struct looker *l = arg;
	struct join_token *t = NULL;
	struct issuance_cert *c = NULL;
	struct issuance_verify_report rep;
	uint8_t hash[ISSUANCE_LOG_HASH_LEN];

	issuance_log_token_hash(hash, "look secret", 11);
	if (issuance_log_token_find_hash(l->log, &t, hash) != CA_OK ||
	    strcmp(t->id, "t-look") != 0)
		l->failures++;
	join_token_free(t);
	t = NULL;
	if (issuance_log_token_find(l->log, &t, "t-look") != CA_OK)
		l->failures++;
	join_token_free(t);
	if (issuance_log_find(l->log, &c, l->serial) != CA_OK ||
	    c->status != ISSUANCE_ISSUED)
		l->failures++;
	issuance_cert_free(c);
	if (issuance_log_seen(l->log, NULL, "iid:test", "i-1") != CA_OK)
		l->failures++;
	if (issuance_log_verify(l->log, &rep) != CA_OK)
		l->failures++;
	__atomic_store_n(&l->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/*
 * Lookups go through read-only connections: they finish while the write
 * connection is taken (the test holds its lock, as a batch being written
 * would), and they see what was committed.
 */
static void
test_lookups_during_commit(void)
{
	struct issuance_log *log;
	struct looker l;
	pthread_t th;

	fresh();
	log = open_log();
	memset(&l, 0, sizeof(l));
	l.log = log;
	make_token(log, "t-look", "look secret", 600);
	CU_ASSERT_EQUAL_FATAL(issue(log, l.serial, "CN=look", NULL), CA_OK);
	pthread_mutex_lock(&log->db_mtx);
	CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, look, &l), 0);
	CU_ASSERT_EQUAL(wait_for(&l.done, 1), 1);
	pthread_mutex_unlock(&log->db_mtx);
	pthread_join(th, NULL);
	CU_ASSERT_EQUAL(l.failures, 0);
	issuance_log_close(log);
}

struct completer {
	struct issuance_log *log;
	uint8_t serial[ISSUANCE_LOG_SERIAL_LEN];
	int rc;
	int done;
};

static void *
complete_one(void *arg)
{
	struct completer *w = arg;
	struct issuance_completion req;
	struct issuance_cert c;
	uint8_t der[64];

	memset(&c, 0, sizeof(c));
	memset(der, 0x30, sizeof(der));
	memcpy(c.serial, w->serial, sizeof(c.serial));
	c.der = der;
	c.der_len = sizeof(der);
	c.subject = (char *)"CN=sync";
	memset(&req, 0, sizeof(req));
	req.cert = &c;
	w->rc = issuance_log_complete(w->log, &req);
	__atomic_store_n(&w->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static uint64_t
commits_now(struct issuance_log *log)
{
	uint64_t n;

	pthread_mutex_lock(&log->db_mtx);
	n = log->commits;
	pthread_mutex_unlock(&log->db_mtx);
	return n;
}

/*
 * The fsync runs without the write connection: while one batch's fsync is
 * in progress (the test holds the sync lock), a serial can be reserved,
 * a revocation-free lookup answered and the next batch written; but
 * neither batch's caller returns before a sync that follows its COMMIT.
 */
static void
test_no_reply_before_sync(void)
{
	struct issuance_log *log;
	struct completer a, b;
	struct issuance_cert *c = NULL;
	pthread_t ta, tb;
	uint8_t s3[ISSUANCE_LOG_SERIAL_LEN];
	uint64_t c0;
	int spins;

	fresh();
	log = open_log();
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.log = b.log = log;
	CU_ASSERT_EQUAL_FATAL(issuance_log_reserve(log, a.serial, kid,
	    sizeof(kid)), CA_OK);
	CU_ASSERT_EQUAL_FATAL(issuance_log_reserve(log, b.serial, kid,
	    sizeof(kid)), CA_OK);
	c0 = commits_now(log);
	pthread_mutex_lock(&log->sync_mtx);
	CU_ASSERT_EQUAL_FATAL(pthread_create(&ta, NULL, complete_one, &a), 0);
	for (spins = 0; spins < 5000 && commits_now(log) < c0 + 1; spins++)
		usleep(1000);
	CU_ASSERT_EQUAL(commits_now(log), c0 + 1);
	/* During a's fsync: a reservation and a lookup go through. */
	CU_ASSERT_EQUAL(issuance_log_reserve(log, s3, kid, sizeof(kid)),
	    CA_OK);
	CU_ASSERT_EQUAL(issuance_log_find(log, &c, s3), CA_OK);
	if (c != NULL)
		CU_ASSERT_EQUAL(c->status, ISSUANCE_RESERVED);
	issuance_cert_free(c);
	/* And the next batch is written, too. */
	CU_ASSERT_EQUAL_FATAL(pthread_create(&tb, NULL, complete_one, &b), 0);
	for (spins = 0; spins < 5000 && commits_now(log) < c0 + 2; spins++)
		usleep(1000);
	CU_ASSERT_EQUAL(commits_now(log), c0 + 2);
	usleep(20000);
	/* Committed, visible, but not yet synced: nobody has returned. */
	CU_ASSERT_EQUAL(__atomic_load_n(&a.done, __ATOMIC_SEQ_CST), 0);
	CU_ASSERT_EQUAL(__atomic_load_n(&b.done, __ATOMIC_SEQ_CST), 0);
	CU_ASSERT_EQUAL(raw_int("SELECT count(*) FROM certificates WHERE "
	    "status = 'issued'"), 2);
	pthread_mutex_unlock(&log->sync_mtx);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	CU_ASSERT_EQUAL(a.rc, CA_OK);
	CU_ASSERT_EQUAL(b.rc, CA_OK);
	issuance_log_close(log);
}

/*
 * A failed fsync (the WAL's descriptor swapped for a pipe, on which
 * fdatasync fails): the caller gets CA_ERR_DB, and from then on every write
 * is refused, since the kernel may have dropped what it could not write.
 * Reads still work; a new handle (a restart) writes again.
 */
static void
test_sync_failure(void)
{
	struct issuance_log *log;
	struct issuance_cert *c = NULL;
	struct join_token t;
	uint8_t s1[ISSUANCE_LOG_SERIAL_LEN], s2[ISSUANCE_LOG_SERIAL_LEN];
	int64_t crl;
	int p[2];

	fresh();
	log = open_log();
	CU_ASSERT_EQUAL_FATAL(issue(log, s1, "CN=before", NULL), CA_OK);
	CU_ASSERT_EQUAL_FATAL(pipe(p), 0);
	pthread_mutex_lock(&log->sync_mtx);
	close(log->wal_fd);
	log->wal_fd = p[0];
	pthread_mutex_unlock(&log->sync_mtx);
	CU_ASSERT_EQUAL(issue(log, s2, "CN=lost", NULL), CA_ERR_DB);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "fsync"));
	CU_ASSERT_EQUAL(issuance_log_reserve(log, s2, kid, sizeof(kid)),
	    CA_ERR_DB);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "earlier fsync"));
	CU_ASSERT_EQUAL(issuance_log_revoke(log, s1, 1), CA_ERR_DB);
	CU_ASSERT_EQUAL(issuance_log_crl_number_next(log, &crl, kid,
	    sizeof(kid)), CA_ERR_DB);
	memset(&t, 0, sizeof(t));
	t.id = (char *)"t-late";
	t.identity = (char *)"node7";
	t.allowed_names = (char *)"";
	t.profile = (char *)"server";
	t.expires_at = fake_now + 600;
	CU_ASSERT_EQUAL(issuance_log_token_create(log, &t), CA_ERR_DB);
	CU_ASSERT_EQUAL(issuance_log_find(log, &c, s1), CA_OK);
	issuance_cert_free(c);
	issuance_log_close(log);
	close(p[1]);
	/* Nothing was half-written; a restarted writer goes on. */
	log = open_log();
	CU_ASSERT_EQUAL(issuance_log_revoke(log, s1, 1), CA_OK);
	CU_ASSERT_EQUAL(issuance_log_verify(log, &(struct
	    issuance_verify_report){ 0 }), CA_OK);
	issuance_log_close(log);
	CU_ASSERT_EQUAL(raw_int("SELECT count(*) FROM pragma_integrity_check "
	    "WHERE integrity_check = 'ok'"), 1);
}


/*
 * complete_renewal reserves a serial and completes it as a renewal of
 * parent, with request hash rh (NULL: none); it returns what
 * issuance_log_complete returned.
 */
static int
complete_renewal(struct issuance_log *log,
    uint8_t serial[ISSUANCE_LOG_SERIAL_LEN], const uint8_t *parent,
    const uint8_t *rh, size_t rh_len)
{
	struct issuance_completion req;
	struct issuance_cert c;
	uint8_t der[] = { 0x30, 0x03, 0x02, 0x01, 0x07 };
	int rc;

	if ((rc = issuance_log_reserve(log, serial, kid, sizeof(kid))) !=
	    CA_OK)
		return rc;
	memset(&c, 0, sizeof(c));
	memcpy(c.serial, serial, ISSUANCE_LOG_SERIAL_LEN);
	c.der = der;
	c.der_len = sizeof(der);
	c.attestation = (char *)"x509pop";
	c.request_hash = (uint8_t *)rh;
	c.request_hash_len = rh_len;
	memset(&req, 0, sizeof(req));
	req.cert = &c;
	req.parent_serial = parent;
	return issuance_log_complete(log, &req);
}

/*
 * A renewal of a revoked certificate is refused inside the transaction
 * that would record it (CA_ERR_REVOKED), whatever the request saw when it
 * arrived: nothing is recorded, the serial stays reserved, no chain entry
 * is added. A renewal of an issued one records its parent.
 */
static void
test_parent_revoked(void)
{
	struct issuance_log *log;
	struct issuance_cert *found = NULL;
	uint8_t parent[ISSUANCE_LOG_SERIAL_LEN], kid1[ISSUANCE_LOG_SERIAL_LEN];
	uint8_t kid2[ISSUANCE_LOG_SERIAL_LEN], unknown[ISSUANCE_LOG_SERIAL_LEN];
	uint8_t rh[ISSUANCE_LOG_HASH_LEN];
	int64_t events;

	fresh();
	log = open_log();
	CU_ASSERT_EQUAL_FATAL(issue(log, parent, "CN=parent", NULL), CA_OK);
	memset(rh, 0x5a, sizeof(rh));
	CU_ASSERT_EQUAL(complete_renewal(log, kid1, parent, rh, sizeof(rh)),
	    CA_OK);
	CU_ASSERT_EQUAL(raw_int("SELECT count(*) FROM certificates WHERE "
	    "parent_serial IS NOT NULL AND status = 'issued' AND "
	    "parent_serial = (SELECT serial FROM certificates ORDER BY id "
	    "LIMIT 1)"), 1);
	/* The request hash comes back with the row. */
	CU_ASSERT_EQUAL_FATAL(issuance_log_find(log, &found, kid1), CA_OK);
	CU_ASSERT_EQUAL(found->request_hash_len, sizeof(rh));
	CU_ASSERT(found->request_hash != NULL &&
	    memcmp(found->request_hash, rh, sizeof(rh)) == 0);
	issuance_cert_free(found);
	found = NULL;

	CU_ASSERT_EQUAL(issuance_log_revoke(log, parent,
	    ISSUANCE_REASON_KEY_COMPROMISE), CA_OK);
	events = raw_int("SELECT count(*) FROM events");
	CU_ASSERT_EQUAL(complete_renewal(log, kid2, parent, NULL, 0),
	    CA_ERR_REVOKED);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "revoked"));
	CU_ASSERT_EQUAL_FATAL(issuance_log_find(log, &found, kid2), CA_OK);
	CU_ASSERT_EQUAL(found->status, ISSUANCE_RESERVED);
	CU_ASSERT_PTR_NULL(found->der);
	issuance_cert_free(found);
	CU_ASSERT_EQUAL(raw_int("SELECT count(*) FROM events"), events);
	/* A parent that is not in the log is refused the same way. */
	memset(unknown, 0x41, sizeof(unknown));
	CU_ASSERT_EQUAL(complete_renewal(log, kid2, unknown, NULL, 0),
	    CA_ERR_REVOKED);
	/* A request hash of the wrong length is a caller's bug. */
	CU_ASSERT_EQUAL(complete_renewal(log, kid2, NULL, rh, 20),
	    CA_ERR_USAGE);
	CU_ASSERT_EQUAL(issuance_log_verify(log, &(struct
	    issuance_verify_report){ 0 }), CA_OK);
	issuance_log_close(log);
}

static CU_TestInfo tests[] = {
	{ "batch_isolation", test_batch_isolation },
	{ "lookups_during_commit", test_lookups_during_commit },
	{ "no_reply_before_sync", test_no_reply_before_sync },
	{ "sync_failure", test_sync_failure },
	{ "group_commit", test_group_commit },
	{ "parent_revoked", test_parent_revoked },
	CU_TEST_INFO_NULL,
};

UNIT_MAIN_FIXTURE("issuance_log_commit", NULL, ilog_fixture_cleanup, tests)
