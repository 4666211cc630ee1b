/* SPDX-License-Identifier: ISC */
/*
 * issuance_log_int: what the issuance_log*.c files share and the unit
 * tests may reach into (test hooks, the raw connection). Not for programs.
 */
#ifndef ISSUANCE_LOG_INT_H
#define ISSUANCE_LOG_INT_H

#include <pthread.h>
#include <stdint.h>

#include <sqlite3.h>

#include "log/issuance_log.h"

/* Test hooks: a serial generator and a clock. */
typedef void (*issuance_serial_fn)(uint8_t out[ISSUANCE_LOG_SERIAL_LEN],
    void *arg);
typedef int64_t (*issuance_clock_fn)(void *arg);

struct ilog_pending;

/*
 * A cache of prepared statements keyed by the address of their SQL text
 * (always a string literal), so that the hot path does not parse SQL.
 */
#define ILOG_CACHE_MAX	64
struct ilog_cache {
	sqlite3 *db;
	const char *path;		/* for messages */
	int n;
	const char *sql[ILOG_CACHE_MAX];
	sqlite3_stmt *st[ILOG_CACHE_MAX];
};

/* ilog_prep returns in *out the reset statement for sql. */
int ilog_prep(struct ilog_cache *c, sqlite3_stmt **out, const char *sql);
/* ilog_done resets st and clears its bindings; NULL is a no-op. */
void ilog_done(sqlite3_stmt *st);
/* ilog_cache_clear finalizes every cached statement. */
void ilog_cache_clear(struct ilog_cache *c);
/* ilog_run prepares, steps to SQLITE_DONE and resets a statement without
 * parameters (BEGIN, COMMIT, SAVEPOINT ...). */
int ilog_run(struct ilog_cache *c, const char *sql);

/*
 * A read-only connection of the writer's, for lookups that need no write
 * lock (tokens by hash, certificates, seen instances, listings, verify).
 * WAL lets it read the last committed state while the writer connection
 * is inside a transaction or its commit is being made durable. The writer
 * keeps a free list of them: a thread takes one, uses it, puts it back.
 */
struct ilog_rconn {
	struct ilog_cache cache;
	sqlite3 *db;
	struct ilog_rconn *next;
};

/*
 * The writer. Its locks never nest: q_mtx (the group-commit queue), db_mtx
 * (the write connection), r_mtx (the idle read connections) and sync_mtx
 * (the WAL's descriptor, held through the fsync) are each taken with no
 * other held, so an fsync holds up nothing but the next fsync.
 */
struct issuance_log {
	struct ilog_cache cache;
	sqlite3 *db;			/* the write connection */
	char *path;
	char *file;			/* the database file, absolute */
	char *wal_path;			/* its -wal file */
	pthread_mutex_t db_mtx;		/* every use of db */
	pthread_mutex_t r_mtx;		/* r_free */
	struct ilog_rconn *r_free;	/* idle read-only connections */
	pthread_mutex_t sync_mtx;	/* wal_fd and the fsync */
	int wal_fd;			/* the -wal file, -1 until needed */
	int sync_failed;		/* __atomic: an fsync failed */
	pthread_mutex_t q_mtx;		/* the group-commit queue */
	struct ilog_pending *q_head, *q_tail;
	int q_len;			/* requests queued, not yet taken */
	int sql_busy;			/* a leader is writing its batch */
	int syncing;			/* batches committed, fsync running */
	issuance_serial_fn serial_fn;
	void *serial_arg;
	issuance_clock_fn clock_fn;
	void *clock_arg;
	uint64_t commits;		/* statistics: transactions, rows */
	uint64_t committed_rows;	/* (under db_mtx) */
	struct issuance_log_head head;	/* last recorded in the head file */
	int head_written;		/* head is what the file holds */
	int head_adopted;		/* open found no head file */
	int lock_fd;			/* issuance_log_recover's flock */
	int locked;			/* lock_fd is open (0 after open) */
};

struct issuance_log_reader {
	struct ilog_cache cache;
	sqlite3 *db;
	char *path;
};

/* Test hooks; NULL restores the default. */
void issuance_log_set_serial_fn(struct issuance_log *log,
    issuance_serial_fn fn, void *arg);
void issuance_log_set_clock(struct issuance_log *log, issuance_clock_fn fn,
    void *arg);
sqlite3 *issuance_log_reader_db(struct issuance_log_reader *r);

/*
 * ilog_rconn_get lends the caller a read-only connection (opening one when
 * none is idle); ilog_rconn_put gives it back. A statement on it must be
 * reset (ilog_done) before it is put back, so that no read transaction
 * stays open.
 */
int ilog_rconn_get(struct issuance_log *log, struct ilog_rconn **out);
void ilog_rconn_put(struct issuance_log *log, struct ilog_rconn *rc);

/*
 * ilog_sync makes every transaction the write connection has committed so
 * far durable: one fdatasync of the -wal file. The connection runs with
 * synchronous=NORMAL, so its COMMIT does not fsync (nor hold the write
 * lock through an fsync); a durable write calls ilog_sync after COMMIT,
 * without db_mtx. After one failed fsync every later call fails: the
 * durability of what was committed is unknown (see docs/issuance-log.md).
 */
int ilog_sync(struct issuance_log *log);

/*
 * ilog_write_end ends a write made with log->db_mtx held: it rolls back
 * when began (the transaction is still open: something failed), releases
 * the write connection, and, when committed, makes the commit durable with
 * ilog_sync. It returns rc, or ilog_sync's error.
 */
int ilog_write_end(struct issuance_log *log, int began, int committed,
    int rc);

/* ilog_writable returns CA_OK, or CA_ERR_DB once an fsync has failed. */
int ilog_writable(struct issuance_log *log);

/* ilog_now returns the log's clock. */
int64_t ilog_now(struct issuance_log *log);

/*
 * ilog_db_err records a CA_ERR_DB detail "path: what: sqlite message".
 * When SQLite reports SQLITE_FULL (no space left, or max_page_count) the
 * detail is "path: disk full: what failed, nothing of it was recorded ...".
 */
#define ILOG_DISK_FULL	"disk full"
int ilog_db_err(sqlite3 *db, const char *path, const char *what);

/*
 * ilog_full_err returns rc unchanged unless it is a disk-full CA_ERR_DB
 * from ilog_db_err; then it records "path: disk full: <what the caller
 * says was not recorded>; free space ..." and returns CA_ERR_DB.
 */
int ilog_full_err(const char *path, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * ilog_rollback rolls back the connection's transaction if one is still
 * open (SQLite may have rolled it back itself after SQLITE_FULL or an I/O
 * error), without touching the error detail.
 */
void ilog_rollback(sqlite3 *db);

/* ilog_exec runs SQL without results. */
int ilog_exec(sqlite3 *db, const char *path, const char *sql);

/* ilog_hex writes len bytes as lowercase hex (2*len+1 bytes) to out. */
char *ilog_hex(char *out, const uint8_t *in, size_t len);

/*
 * ilog_schema_version reads user_version and application_id into
 * *version_out, refusing (CA_ERR_INVALID) a database that belongs to
 * another application and one that is not empty at version 0, and
 * (CA_ERR_UNSUPPORTED) a version newer than ISSUANCE_LOG_SCHEMA_VERSION.
 */
int ilog_schema_version(sqlite3 *db, const char *path, int *version_out);

/* Row readers shared by the writer and the reader. */
int ilog_db_find(struct ilog_cache *c, struct issuance_cert **out,
    const uint8_t serial[ISSUANCE_LOG_SERIAL_LEN]);
int ilog_db_foreach(struct ilog_cache *c, issuance_cert_cb cb, void *arg);
/* ilog_cert_rows steps st (rows of ILOG_CERT_COLUMNS) through cb; the
 * caller resets st. */
int ilog_cert_rows(struct ilog_cache *c, sqlite3_stmt *st,
    issuance_cert_cb cb, void *arg);
int ilog_db_crl_number(struct ilog_cache *c, int64_t *out,
    const uint8_t *kid, size_t kid_len);
/* ilog_cert_row fills a struct issuance_cert from a row of
 * ILOG_CERT_COLUMNS (der may be NULL in the row). */
int ilog_cert_row(sqlite3_stmt *st, struct issuance_cert **out);
#define ILOG_CERT_COLUMNS \
	"serial, issuer_key_id, subject, names, not_before, not_after, " \
	"der, status, revoked_at, revocation_reason, requester, " \
	"attestation, evidence, token_id, created_at, issued_at, " \
	"request_hash, profile"
/* ilog_status_parse maps a status column value; -1 if unknown. */
int ilog_status_parse(const char *s);

/*
 * ilog_reason_check refuses (CA_ERR_INVALID, naming what) a CRLReason that
 * issuance_log_revoke does not accept.
 */
int ilog_reason_check(const char *what, int reason);
/*
 * ilog_revoke_row revokes serial if it is "issued" and appends its
 * "revoke" chain entry, inside the caller's transaction on the write
 * connection; *changed is 1 when it did, 0 when the row was not issued.
 */
int ilog_revoke_row(struct ilog_cache *c, const uint8_t *serial, int64_t now,
    int reason, int *changed);

/*
 * Selectors (issuance_log_selector.c). ilog_selectors_record stores the
 * completion's selectors and, for a renewal, its parent's, inside the
 * caller's transaction; ilog_selectors_load fills c->selectors.
 */
int ilog_selectors_record(struct ilog_cache *c,
    const struct issuance_completion *req);
int ilog_selectors_load(struct ilog_cache *c, struct issuance_cert *cert);

/* Chain entry kinds (the "kind" column of events). */
#define ILOG_EV_ISSUE		"issue"
#define ILOG_EV_REVOKE		"revoke"
#define ILOG_EV_TOKEN_CREATE	"token-create"
#define ILOG_EV_TOKEN_CONSUME	"token-consume"
#define ILOG_EV_TOKEN_REVOKE	"token-revoke"

/*
 * ilog_chain_append appends one chain entry of kind for the row named by
 * serial (certificate entries) or token_id (token entries), inside the
 * caller's transaction: it reads the row back, hashes it with the previous
 * entry's hash and inserts the entry.
 */
int ilog_chain_append(struct ilog_cache *c, const char *kind, int64_t now,
    const uint8_t *serial, const char *token_id);

/* ilog_chain_verify is issuance_log_reader_verify on a connection. */
int ilog_chain_verify(struct ilog_cache *c,
    struct issuance_verify_report *report);

/* Join token rows, shared by the token functions and the committer. */
int ilog_token_row(sqlite3_stmt *st, struct join_token **out);
int ilog_token_find(struct ilog_cache *c, struct join_token **out,
    const char *id);

/* The head state file (issuance_log_file.c). */
/* ilog_head_path returns path ISSUANCE_LOG_HEAD_SUFFIX, freed with free(). */
char *ilog_head_path(const char *path);
/*
 * ilog_head_read reads the head state file of the log at path into *out;
 * *present is 0 (and CA_OK returned) when there is none.
 */
int ilog_head_read(const char *path, struct issuance_log_head *out,
    int *present);
/* ilog_head_write replaces it atomically, with the log's mode and group. */
int ilog_head_write(const char *path, const struct issuance_log_head *h);
/* ilog_head_of reads the newest chain entry (seq 0 for an empty chain). */
int ilog_head_of(struct ilog_cache *c, struct issuance_log_head *out);
/*
 * ilog_head_check returns CA_OK when the chain holds the recorded head
 * seen (the same hash at its seq), else CA_ERR_VERIFY naming both heads.
 */
int ilog_head_check(struct ilog_cache *c,
    const struct issuance_log_head *seen);
/*
 * ilog_present returns CA_OK when the log file at path exists, else
 * CA_ERR_NOT_FOUND: "no issuance log" or, when its head state file is
 * there, "the issuance log is gone".
 */
int ilog_present(const char *path);

#endif /* ISSUANCE_LOG_INT_H */
