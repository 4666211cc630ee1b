/* SPDX-License-Identifier: ISC */
/*
 * ilog_fixture: shared set-up for tests/unit/test_issuance_log*.c (see
 * ilog_fixture.c). Not a library: it asserts with CUnit.
 */
#ifndef ILOG_FIXTURE_H
#define ILOG_FIXTURE_H

#include <pthread.h>
#include <stdint.h>

#include "log/issuance_log.h"

extern const uint8_t kid[20];		/* the issuer key id used throughout */
extern char dir[128];			/* the test's private directory */
extern char dbpath[256];		/* the current database */
extern int64_t fake_now;		/* what the log's clock says */

int64_t fake_clock(void *arg);
/* db_remove deletes the current database and its -wal and -shm files. */
void db_remove(void);
/* fresh gives a new, empty database path for each test. */
void fresh(void);
/* open_log opens dbpath as the writer with the fake clock (creating the
 * log first when there is none, as `carapace log init` would), or fails. */
struct issuance_log *open_log(void);
/* raw_int runs a one-value query on a plain connection of our own. */
int64_t raw_int(const char *sql);
/* raw_exec runs sql on a plain connection; "!" in front: failure expected */
int raw_exec(const char *sql);
/* issue reserves a serial and records a certificate for it. */
int issue(struct issuance_log *log, uint8_t serial[ISSUANCE_LOG_SERIAL_LEN],
    const char *subject, const char *token_id);
/* issue_with is issue with selectors and a parent (NULL: none). */
int issue_with(struct issuance_log *log,
    uint8_t serial[ISSUANCE_LOG_SERIAL_LEN], const char *subject,
    const char *token_id, const char *const *sels, size_t nsels,
    const uint8_t *parent);
/* make_token creates join token id with the hash of secret. */
void make_token(struct issuance_log *log, const char *id, const char *secret,
    int64_t ttl);
/* ilog_fixture_cleanup removes the database and the directory (a CUnit
 * suite cleanup function). */
int ilog_fixture_cleanup(void);
void ilog_fixture_cleanup_dir(void);

/* One thread of a race or of a group-commit load. */
struct racer {
	struct issuance_log *log;
	pthread_barrier_t *barrier;
	uint8_t serial[ISSUANCE_LOG_SERIAL_LEN];
	const char *token_id;
	int rc;
	int n;			/* certificates to issue (group commit) */
	int failures;
};

/* race_consume completes r->serial with r->token_id after the barrier. */
void *race_consume(void *arg);

#endif /* ILOG_FIXTURE_H */
