/* SPDX-License-Identifier: ISC */
/*
 * issuance_log: the writer's handle. Opening the database (WAL, schema
 * migrations in one transaction, refusal of a newer schema), its
 * read-only connections and the WAL sync, the statement cache, serial
 * reservation with collision retry, abandonment, revocation, CRL numbers,
 * and the helpers the other issuance_log_*.c files share. Group commit is
 * in issuance_log_commit.c, the chain in issuance_log_chain.c, tokens in
 * issuance_log_token.c and the read-only handle in issuance_log_read.c.
 *
 * Every use of the write connection holds db_mtx, so the handle is
 * thread-safe. The connection runs with synchronous=NORMAL: a durable
 * write commits, lets go of db_mtx and then makes the WAL durable with
 * ilog_sync, so that an fsync never keeps other requests from the write
 * connection. Lookups run on read-only connections (ilog_rconn_get), which
 * WAL lets read the last committed state while the writer works.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "common/ca_error.h"
#include "log/issuance_log.h"
#include "log/issuance_log_int.h"

/*
 * The migrations, in order: migrations[i] takes the schema from version i
 * to version i + 1. Never edit one that has shipped; append a new one and
 * bump ISSUANCE_LOG_SCHEMA_VERSION. docs/issuance-log.md documents the
 * result.
 */
static const char *const migrations[ISSUANCE_LOG_SCHEMA_VERSION] = {
	/* 0 -> 1 */
	"CREATE TABLE certificates ("
	" id INTEGER PRIMARY KEY,"
	" serial BLOB NOT NULL UNIQUE"
	"  CHECK (typeof(serial) = 'blob' AND length(serial) = 16),"
	" issuer_key_id BLOB NOT NULL,"
	" status TEXT NOT NULL DEFAULT 'reserved'"
	"  CHECK (status IN ('reserved', 'issued', 'revoked', 'abandoned')),"
	" subject TEXT,"
	" names TEXT,"
	" not_before INTEGER,"
	" not_after INTEGER,"
	" der BLOB,"
	" requester TEXT,"
	" attestation TEXT,"
	" evidence BLOB,"
	" token_id TEXT,"
	" created_at INTEGER NOT NULL,"
	" issued_at INTEGER,"
	" revoked_at INTEGER,"
	" revocation_reason INTEGER CHECK (revocation_reason IS NULL OR"
	"  revocation_reason IN (0, 1, 2, 3, 4, 5, 9, 10)),"
	" CHECK (status IN ('reserved', 'abandoned') OR"
	"  (der IS NOT NULL AND issued_at IS NOT NULL)),"
	" CHECK ((status = 'revoked') ="
	"  (revoked_at IS NOT NULL AND revocation_reason IS NOT NULL))"
	");"
	"CREATE INDEX certificates_revoked ON certificates"
	" (issuer_key_id, serial) WHERE status = 'revoked';"
	"CREATE TABLE events ("
	" seq INTEGER PRIMARY KEY,"
	" time INTEGER NOT NULL,"
	" kind TEXT NOT NULL CHECK (kind IN ('issue', 'revoke',"
	"  'token-create', 'token-consume', 'token-revoke')),"
	" serial BLOB,"
	" token_id TEXT,"
	" prev_hash BLOB NOT NULL CHECK (length(prev_hash) = 32),"
	" hash BLOB NOT NULL CHECK (length(hash) = 32)"
	");"
	"CREATE INDEX events_serial ON events (serial, kind)"
	" WHERE serial IS NOT NULL;"
	"CREATE INDEX events_token ON events (token_id, kind)"
	" WHERE token_id IS NOT NULL;"
	"CREATE TRIGGER events_no_update BEFORE UPDATE ON events"
	" BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;"
	"CREATE TRIGGER events_no_delete BEFORE DELETE ON events"
	" BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;"
	"CREATE TABLE join_tokens ("
	" id TEXT PRIMARY KEY,"
	" secret_hash BLOB NOT NULL UNIQUE CHECK (length(secret_hash) = 32),"
	" identity TEXT NOT NULL,"
	" allowed_names TEXT NOT NULL,"
	" profile TEXT NOT NULL,"
	" expires_at INTEGER NOT NULL,"
	" created_at INTEGER NOT NULL,"
	" used_at INTEGER,"
	" used_serial BLOB,"
	" revoked_at INTEGER"
	");"
	"CREATE TABLE seen_instances ("
	" kind TEXT NOT NULL,"
	" instance_id TEXT NOT NULL,"
	" first_seen INTEGER NOT NULL,"
	" serial BLOB NOT NULL,"
	" PRIMARY KEY (kind, instance_id)"
	");"
	"CREATE TABLE crl_state ("
	" issuer_key_id BLOB PRIMARY KEY,"
	" crl_number INTEGER NOT NULL CHECK (crl_number > 0),"
	" updated_at INTEGER NOT NULL"
	");",
	/*
	 * 1 -> 2: the CRL publisher lists every revoked serial of one CA in
	 * serial order with its time and reason; a covering index answers
	 * that from the index alone (a million entries: 1.8 s -> 0.2 s).
	 */
	"DROP INDEX certificates_revoked;"
	"CREATE INDEX certificates_revoked ON certificates"
	" (issuer_key_id, serial, revoked_at, revocation_reason)"
	" WHERE status = 'revoked';",
	/*
	 * 2 -> 3: what a renewal was renewed from (so that its completion
	 * can refuse a revoked parent and an auditor can list a
	 * certificate's renewals), the hash of the request's CSR (so that a
	 * resent request gets the certificate recorded for it), and an index
	 * of the rows still reserved (resolved at the issuer's start without
	 * reading the whole table).
	 */
	"ALTER TABLE certificates ADD COLUMN parent_serial BLOB"
	" CHECK (parent_serial IS NULL OR length(parent_serial) = 16);"
	"ALTER TABLE certificates ADD COLUMN request_hash BLOB"
	" CHECK (request_hash IS NULL OR length(request_hash) = 32);"
	"CREATE INDEX certificates_reserved ON certificates (created_at)"
	" WHERE status = 'reserved';"
	"CREATE INDEX certificates_parent ON certificates (parent_serial)"
	" WHERE parent_serial IS NOT NULL;",
	/*
	 * 3 -> 4: the leaf profile a certificate was issued under, so that
	 * an x509pop renewal keeps it rather than widening what the
	 * certificate is for (NULL for rows written before).
	 */
	"ALTER TABLE certificates ADD COLUMN profile TEXT;",
	/*
	 * 4 -> 5: the selectors a certificate was attested with (typed facts
	 * such as "token:id:..."), and those of the certificate it renewed,
	 * so that an operator can find and revoke every certificate of one
	 * piece of evidence (docs/issuance-log.md, "Selectors").
	 */
	"CREATE TABLE certificate_selectors ("
	" serial BLOB NOT NULL CHECK (length(serial) = 16),"
	" selector TEXT NOT NULL CHECK (length(selector) BETWEEN 5 AND 255),"
	" inherited INTEGER NOT NULL DEFAULT 0 CHECK (inherited IN (0, 1)),"
	" PRIMARY KEY (selector, serial)"
	") WITHOUT ROWID;"
	"CREATE INDEX certificate_selectors_serial ON certificate_selectors"
	" (serial);"
};

int
ilog_db_err(sqlite3 *db, const char *path, const char *what)
{
	/*
	 * SQLITE_FULL: the file system is full (ENOSPC while writing the WAL
	 * or the database), or the file reached max_page_count. SQLite has
	 * rolled the statement or the whole transaction back, so nothing of
	 * it was recorded: say so, and never "cannot rollback".
	 */
	if (db != NULL && (sqlite3_extended_errcode(db) & 0xff) ==
	    SQLITE_FULL)
		return ca_error(CA_ERR_DB, "%s: " ILOG_DISK_FULL ": %s "
		    "failed, nothing of it was recorded (%s); free space on "
		    "the file system that holds the log, then retry", path,
		    what, sqlite3_errmsg(db));
	return ca_error(CA_ERR_DB, "%s: %s: %s", path, what,
	    db != NULL ? sqlite3_errmsg(db) : "out of memory");
}

int
ilog_full_err(const char *path, int rc, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	if (rc != CA_ERR_DB || strstr(ca_error_detail(), ": " ILOG_DISK_FULL
	    ": ") == NULL)
		return rc;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return ca_error(CA_ERR_DB, "%s: " ILOG_DISK_FULL ": %s; free space "
	    "on the file system that holds the log, then retry", path, what);
}

void
ilog_rollback(sqlite3 *db)
{
	/*
	 * After SQLITE_FULL or an I/O error SQLite may already have rolled
	 * the transaction back; a ROLLBACK then only fails ("no transaction
	 * is active") and must not replace the real reason.
	 */
	if (db != NULL && !sqlite3_get_autocommit(db))
		(void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

int
ilog_exec(sqlite3 *db, const char *path, const char *sql)
{
	char *msg = NULL;
	int rc;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK)
		return CA_OK;
	rc = ca_error(CA_ERR_DB, "%s: %s", path,
	    msg != NULL ? msg : sqlite3_errmsg(db));
	sqlite3_free(msg);
	return rc;
}

int
ilog_prep(struct ilog_cache *c, sqlite3_stmt **out, const char *sql)
{
	int i;

	*out = NULL;
	for (i = 0; i < c->n; i++) {
		if (c->sql[i] == sql) {
			*out = c->st[i];
			return CA_OK;
		}
	}
	if (c->n == ILOG_CACHE_MAX)
		return ca_error(CA_ERR_INTERNAL, "%s: statement cache full",
		    c->path);
	if (sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
	    &c->st[c->n], NULL) != SQLITE_OK)
		return ilog_db_err(c->db, c->path, "prepare");
	c->sql[c->n] = sql;
	*out = c->st[c->n++];
	return CA_OK;
}

void
ilog_done(sqlite3_stmt *st)
{
	if (st == NULL)
		return;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

void
ilog_cache_clear(struct ilog_cache *c)
{
	int i;

	for (i = 0; i < c->n; i++)
		sqlite3_finalize(c->st[i]);
	c->n = 0;
}

int
ilog_run(struct ilog_cache *c, const char *sql)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = ilog_prep(c, &st, sql)) != CA_OK)
		return rc;
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = ilog_db_err(c->db, c->path, sql);
	ilog_done(st);
	return rc;
}

char *
ilog_hex(char *out, const uint8_t *in, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0xf];
	}
	out[2 * len] = '\0';
	return out;
}

static int64_t
clock_default(void *arg)
{
	(void)arg;
	return (int64_t)time(NULL);
}

static void
serial_default(uint8_t out[ISSUANCE_LOG_SERIAL_LEN], void *arg)
{
	(void)arg;
	randombytes_buf(out, ISSUANCE_LOG_SERIAL_LEN);
	/* Positive, and always 16 content octets in DER: 0x40..0x7f. */
	out[0] = (uint8_t)((out[0] & 0x3f) | 0x40);
}

int64_t
ilog_now(struct issuance_log *log)
{
	return log->clock_fn(log->clock_arg);
}

void
issuance_log_set_serial_fn(struct issuance_log *log, issuance_serial_fn fn,
    void *arg)
{
	log->serial_fn = fn != NULL ? fn : serial_default;
	log->serial_arg = arg;
}

void
issuance_log_set_clock(struct issuance_log *log, issuance_clock_fn fn,
    void *arg)
{
	log->clock_fn = fn != NULL ? fn : clock_default;
	log->clock_arg = arg;
}

static int
pragma_int(sqlite3 *db, const char *path, const char *sql, int64_t *out)
{
	sqlite3_stmt *st = NULL;
	int rc = CA_ERR_DB;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		rc = ilog_db_err(db, path, sql);
		goto out;
	}
	*out = sqlite3_column_int64(st, 0);
	rc = CA_OK;
 out:
	sqlite3_finalize(st);
	return rc;
}

int
ilog_schema_version(sqlite3 *db, const char *path, int *version_out)
{
	int64_t v, app, nobj;
	int rc;

	if ((rc = pragma_int(db, path, "PRAGMA user_version", &v)) != CA_OK ||
	    (rc = pragma_int(db, path, "PRAGMA application_id", &app)) !=
	    CA_OK ||
	    (rc = pragma_int(db, path, "SELECT count(*) FROM sqlite_schema",
	    &nobj)) != CA_OK)
		return rc;
	if (app != 0 && app != ISSUANCE_LOG_APPLICATION_ID)
		return ca_error(CA_ERR_INVALID, "%s: application_id %#" PRIx64
		    " is not a carapace issuance log", path, (uint64_t)app);
	if (v == 0 && nobj != 0)
		return ca_error(CA_ERR_INVALID, "%s: has tables but no "
		    "issuance log schema version; not an issuance log", path);
	if (v < 0 || v > ISSUANCE_LOG_SCHEMA_VERSION)
		return ca_error(CA_ERR_UNSUPPORTED, "%s: schema version %"
		    PRId64 " is newer than this program's (%d); upgrade "
		    "carapace before opening it", path, v,
		    ISSUANCE_LOG_SCHEMA_VERSION);
	*version_out = (int)v;
	return CA_OK;
}

static int
log_migrate(struct issuance_log *log)
{
	char sql[128];
	int rc, v, began = 0;

	/* Taking the write lock first makes the version check race-free. */
	if ((rc = ilog_exec(log->db, log->path, "BEGIN IMMEDIATE")) != CA_OK)
		goto out;
	began = 1;
	if ((rc = ilog_schema_version(log->db, log->path, &v)) != CA_OK)
		goto out;
	for (; v < ISSUANCE_LOG_SCHEMA_VERSION; v++) {
		if ((rc = ilog_exec(log->db, log->path, migrations[v])) !=
		    CA_OK) {
			rc = ca_error(CA_ERR_DB, "%s: migration %d to %d: %s",
			    log->path, v, v + 1, ca_error_detail());
			goto out;
		}
	}
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d; "
	    "PRAGMA application_id = %d", ISSUANCE_LOG_SCHEMA_VERSION,
	    ISSUANCE_LOG_APPLICATION_ID);
	if ((rc = ilog_exec(log->db, log->path, sql)) != CA_OK ||
	    (rc = ilog_exec(log->db, log->path, "COMMIT")) != CA_OK)
		goto out;
	began = 0;
	rc = CA_OK;
 out:
	if (began)
		sqlite3_exec(log->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

int
issuance_log_open(struct issuance_log **out, const char *path)
{
	struct issuance_log_head seen;
	struct issuance_log *log = NULL;
	sqlite3_stmt *st = NULL;
	int one, rc = CA_ERR_INTERNAL;
	int have_seen = 0;
	const char *mode;

	*out = NULL;
	if (sodium_init() < 0)
		return ca_error(CA_ERR_INTERNAL, "libsodium failed to start");
	if ((log = calloc(1, sizeof(*log))) == NULL ||
	    (log->path = strdup(path)) == NULL) {
		if (log != NULL)
			free(log);
		return ca_error(CA_ERR_NOMEM, "%s: out of memory", path);
	}
	log->wal_fd = -1;
	pthread_mutex_init(&log->db_mtx, NULL);
	pthread_mutex_init(&log->r_mtx, NULL);
	pthread_mutex_init(&log->sync_mtx, NULL);
	pthread_mutex_init(&log->q_mtx, NULL);
	issuance_log_set_serial_fn(log, NULL, NULL);
	issuance_log_set_clock(log, NULL, NULL);

	/* Never created here: issuance_log_create does that. */
	if ((rc = ilog_present(path)) != CA_OK ||
	    (rc = ilog_head_read(path, &seen, &have_seen)) != CA_OK)
		goto out;
	if (sqlite3_open_v2(path, &log->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		rc = ilog_db_err(log->db, path, "open");
		goto out;
	}
	log->cache.db = log->db;
	log->cache.path = log->path;
	sqlite3_extended_result_codes(log->db, 1);
	sqlite3_busy_timeout(log->db, 10000);
	if ((rc = ilog_exec(log->db, path, "PRAGMA trusted_schema = OFF; "
	    "PRAGMA foreign_keys = ON")) != CA_OK)
		goto out;
	/* WAL must be switched on outside a transaction; check it took. */
	if (sqlite3_prepare_v2(log->db, "PRAGMA journal_mode = WAL", -1, &st,
	    NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW) {
		rc = ilog_db_err(log->db, path, "journal_mode = WAL");
		goto out;
	}
	mode = (const char *)sqlite3_column_text(st, 0);
	if (mode == NULL || strcmp(mode, "wal") != 0) {
		rc = ca_error(CA_ERR_DB, "%s: cannot switch to WAL mode "
		    "(journal_mode is %s)", path, mode != NULL ? mode : "?");
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	/*
	 * Keep the -wal and -shm files when the writer closes: the OCSP
	 * responder and the CRL publisher open the log read-only, often from
	 * a directory they cannot write (systemd ReadOnlyPaths), and SQLite
	 * cannot recreate those files for them.
	 */
	one = 1;
	if (sqlite3_file_control(log->db, "main", SQLITE_FCNTL_PERSIST_WAL,
	    &one) != SQLITE_OK) {
		rc = ilog_db_err(log->db, path, "persistent WAL");
		goto out;
	}
	/* Before anything is written: is this the log this host has seen? */
	if (have_seen && (rc = ilog_head_check(&log->cache, &seen)) != CA_OK)
		goto out;
	if ((rc = ilog_exec(log->db, path, "PRAGMA synchronous = FULL")) !=
	    CA_OK || (rc = log_migrate(log)) != CA_OK)
		goto out;
	/*
	 * From here on COMMIT does not fsync; durable writes call ilog_sync
	 * after COMMIT (synchronous=FULL in WAL mode is exactly NORMAL plus
	 * a sync of the WAL after each commit). Syncing once now opens the
	 * WAL's descriptor and makes its directory entry durable.
	 */
	if ((mode = sqlite3_db_filename(log->db, "main")) == NULL ||
	    *mode == '\0' || (log->file = strdup(mode)) == NULL ||
	    (mode = sqlite3_filename_wal(mode)) == NULL ||
	    (log->wal_path = strdup(mode)) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "%s: no WAL file name", path);
		goto out;
	}
	if ((rc = ilog_exec(log->db, path, "PRAGMA synchronous = NORMAL")) !=
	    CA_OK || (rc = ilog_sync(log)) != CA_OK)
		goto out;
	log->head_adopted = !have_seen;
	if ((rc = issuance_log_head_save(log, NULL)) != CA_OK)
		goto out;
	*out = log;
	log = NULL;
	rc = CA_OK;
 out:
	sqlite3_finalize(st);
	issuance_log_close(log);
	return rc;
}

static void
rconn_free(struct ilog_rconn *r)
{
	if (r == NULL)
		return;
	ilog_cache_clear(&r->cache);
	sqlite3_close(r->db);
	free(r);
}

void
issuance_log_close(struct issuance_log *log)
{
	struct ilog_rconn *r;

	if (log == NULL)
		return;
	/* Readers first: the writer's close checkpoints the WAL. */
	while ((r = log->r_free) != NULL) {
		log->r_free = r->next;
		rconn_free(r);
	}
	ilog_cache_clear(&log->cache);
	sqlite3_close(log->db);
	if (log->wal_fd >= 0)
		close(log->wal_fd);
	/* After every connection: closing it drops SQLite's POSIX locks. */
	if (log->locked)
		close(log->lock_fd);
	pthread_mutex_destroy(&log->q_mtx);
	pthread_mutex_destroy(&log->sync_mtx);
	pthread_mutex_destroy(&log->r_mtx);
	pthread_mutex_destroy(&log->db_mtx);
	free(log->wal_path);
	free(log->file);
	free(log->path);
	free(log);
}

int
ilog_rconn_get(struct issuance_log *log, struct ilog_rconn **out)
{
	struct ilog_rconn *r;
	int rc = CA_ERR_INTERNAL;

	*out = NULL;
	pthread_mutex_lock(&log->r_mtx);
	if ((r = log->r_free) != NULL)
		log->r_free = r->next;
	pthread_mutex_unlock(&log->r_mtx);
	if (r != NULL) {
		r->next = NULL;
		*out = r;
		return CA_OK;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return ca_error(CA_ERR_NOMEM, "%s: out of memory", log->path);
	/* The writer's own file name: absolute, whatever the cwd is now. */
	if (sqlite3_open_v2(log->file, &r->db, SQLITE_OPEN_READONLY |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		rc = ilog_db_err(r->db, log->path, "open a read connection");
		goto out;
	}
	r->cache.db = r->db;
	r->cache.path = log->path;
	sqlite3_extended_result_codes(r->db, 1);
	sqlite3_busy_timeout(r->db, 10000);
	if ((rc = ilog_exec(r->db, log->path, "PRAGMA query_only = ON; "
	    "PRAGMA trusted_schema = OFF")) != CA_OK)
		goto out;
	*out = r;
	r = NULL;
	rc = CA_OK;
 out:
	rconn_free(r);
	return rc;
}

void
ilog_rconn_put(struct issuance_log *log, struct ilog_rconn *r)
{
	if (r == NULL)
		return;
	pthread_mutex_lock(&log->r_mtx);
	r->next = log->r_free;
	log->r_free = r;
	pthread_mutex_unlock(&log->r_mtx);
}

int
ilog_writable(struct issuance_log *log)
{
	if (__atomic_load_n(&log->sync_failed, __ATOMIC_ACQUIRE))
		return ca_error(CA_ERR_DB, "%s: an earlier fsync of the log "
		    "failed, so what was committed since may not be on disk; "
		    "stop the issuer, check the disk, then run carapace log "
		    "verify", log->path);
	return CA_OK;
}

/* wal_open opens the -wal file and makes its directory entry durable. */
static int
wal_open(struct issuance_log *log)
{
	char *dir = NULL, *slash;
	int rc = CA_ERR_DB, dfd = -1;

	if ((log->wal_fd = open(log->wal_path, O_RDWR | O_CLOEXEC)) < 0) {
		rc = ca_error(CA_ERR_DB, "%s: open: %s", log->wal_path,
		    strerror(errno));
		goto out;
	}
	if ((dir = strdup(log->wal_path)) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "%s: out of memory", log->path);
		goto out;
	}
	if ((slash = strrchr(dir, '/')) == NULL)
		strcpy(dir, ".");
	else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    fsync(dfd) != 0) {
		rc = ca_error(CA_ERR_DB, "%s: fsync of the directory: %s", dir,
		    strerror(errno));
		goto out;
	}
	rc = CA_OK;
 out:
	if (dfd >= 0)
		close(dfd);
	free(dir);
	return rc;
}

int
ilog_write_end(struct issuance_log *log, int began, int committed, int rc)
{
	if (began)
		ilog_rollback(log->db);
	pthread_mutex_unlock(&log->db_mtx);
	if (committed)
		rc = ilog_sync(log);
	return rc;
}

#ifdef ILOG_TEST_HOOKS
/*
 * Only in the test build of the issuer (tests/tools/issuer_faults, made
 * from this file with -DILOG_TEST_HOOKS; the library's object has none):
 * the WAL's fsync fails with EIO while the file that
 * $CARAPACE_TEST_FSYNC_FAIL names exists, so that a test can fail the
 * fsync of one chosen commit.
 */
static int
wal_fdatasync(int fd)
{
	const char *p = getenv("CARAPACE_TEST_FSYNC_FAIL");

	if (p != NULL && access(p, F_OK) == 0) {
		errno = EIO;
		return -1;
	}
	return fdatasync(fd);
}
#else
#define wal_fdatasync(fd)	fdatasync(fd)
#endif

int
ilog_sync(struct issuance_log *log)
{
	struct stat sb;
	int rc = CA_ERR_DB;

	pthread_mutex_lock(&log->sync_mtx);
	if ((rc = ilog_writable(log)) != CA_OK)
		goto out;
	if (log->wal_fd < 0 && (rc = wal_open(log)) != CA_OK)
		goto fail;
	if (wal_fdatasync(log->wal_fd) != 0) {
		rc = ca_error(CA_ERR_DB, "%s: fsync: %s; what was committed "
		    "may not be on disk", log->wal_path, strerror(errno));
		goto fail;
	}
	/*
	 * SQLite deletes the WAL only when the last connection closes, which
	 * ours does not while open; if it was replaced anyway, sync the new
	 * one too.
	 */
	if (fstat(log->wal_fd, &sb) == 0 && sb.st_nlink == 0) {
		close(log->wal_fd);
		log->wal_fd = -1;
		if ((rc = wal_open(log)) != CA_OK)
			goto fail;
		if (wal_fdatasync(log->wal_fd) != 0) {
			rc = ca_error(CA_ERR_DB, "%s: fsync: %s",
			    log->wal_path, strerror(errno));
			goto fail;
		}
	}
	rc = CA_OK;
	goto out;
 fail:
	/* Linux may drop the failed pages: never trust a later fsync. */
	__atomic_store_n(&log->sync_failed, 1, __ATOMIC_RELEASE);
 out:
	pthread_mutex_unlock(&log->sync_mtx);
	return rc;
}

/*
 * A reservation is committed but not synced (synchronous=NORMAL): in WAL
 * mode it is atomic, and survives a crash of the process, but not
 * necessarily a power cut. Losing it to one loses only a serial that no
 * client ever saw, since the certificate's own commit is synced, and a
 * sync of the WAL makes every earlier transaction durable too. It takes
 * db_mtx only for its INSERT: a batch's fsync runs without it.
 */
int
issuance_log_reserve(struct issuance_log *log,
    uint8_t serial_out[ISSUANCE_LOG_SERIAL_LEN], const uint8_t *issuer_key_id,
    size_t issuer_key_id_len)
{
	sqlite3_stmt *st = NULL;
	uint8_t serial[ISSUANCE_LOG_SERIAL_LEN];
	char hex[2 * ISSUANCE_LOG_SERIAL_LEN + 1];
	int rc = CA_ERR_INTERNAL, step, tries;

	if (issuer_key_id == NULL || issuer_key_id_len == 0 ||
	    issuer_key_id_len > 64)
		return ca_error(CA_ERR_USAGE, "%s: reserve: issuer key id "
		    "must be 1 to 64 bytes", log->path);
	if ((rc = ilog_writable(log)) != CA_OK)
		return rc;
	pthread_mutex_lock(&log->db_mtx);
	for (tries = 0; tries < ISSUANCE_LOG_SERIAL_TRIES; tries++) {
		log->serial_fn(serial, log->serial_arg);
		if ((rc = ilog_prep(&log->cache, &st, "INSERT INTO certificates"
		    " (serial, issuer_key_id, status, created_at)"
		    " VALUES (?, ?, 'reserved', ?)")) != CA_OK)
			goto out;
		sqlite3_bind_blob(st, 1, serial, sizeof(serial),
		    SQLITE_TRANSIENT);
		sqlite3_bind_blob(st, 2, issuer_key_id, (int)issuer_key_id_len,
		    SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 3, ilog_now(log));
		step = sqlite3_step(st);
		if (step == SQLITE_DONE) {
			memcpy(serial_out, serial, sizeof(serial));
			rc = CA_OK;
			goto out;
		}
		if (sqlite3_extended_errcode(log->db) !=
		    SQLITE_CONSTRAINT_UNIQUE) {
			rc = ilog_db_err(log->db, log->path, "reserve serial");
			goto out;
		}
		/* A collision: never reuse, draw again. */
		ilog_done(st);
		st = NULL;
	}
	rc = ca_error(CA_ERR_EXISTS, "%s: %d random serials in a row were "
	    "taken (last %s); the serial generator is broken", log->path,
	    tries, ilog_hex(hex, serial, sizeof(serial)));
 out:
	ilog_done(st);
	pthread_mutex_unlock(&log->db_mtx);
	return ilog_full_err(log->path, rc, "no serial was reserved");
}

/* cert_state returns the status of serial, or -1 if it is not in the log. */
static int
cert_state(struct ilog_cache *c, const uint8_t *serial, int *status)
{
	sqlite3_stmt *st = NULL;
	int rc, step;

	*status = -1;
	if ((rc = ilog_prep(c, &st, "SELECT status FROM certificates "
	    "WHERE serial = ?")) != CA_OK)
		return rc;
	sqlite3_bind_blob(st, 1, serial, ISSUANCE_LOG_SERIAL_LEN,
	    SQLITE_STATIC);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW)
		*status = ilog_status_parse((const char *)
		    sqlite3_column_text(st, 0));
	else if (step != SQLITE_DONE)
		rc = ilog_db_err(c->db, c->path, "read status");
	ilog_done(st);
	return rc;
}

int
issuance_log_abandon(struct issuance_log *log,
    const uint8_t serial[ISSUANCE_LOG_SERIAL_LEN])
{
	sqlite3_stmt *st = NULL;
	char hex[2 * ISSUANCE_LOG_SERIAL_LEN + 1];
	int rc, status;

	if ((rc = ilog_writable(log)) != CA_OK)
		return rc;
	pthread_mutex_lock(&log->db_mtx);
	if ((rc = ilog_prep(&log->cache, &st, "UPDATE certificates SET "
	    "status = 'abandoned' WHERE serial = ? AND status = 'reserved'"))
	    != CA_OK)
		goto out;
	sqlite3_bind_blob(st, 1, serial, ISSUANCE_LOG_SERIAL_LEN,
	    SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		rc = ilog_db_err(log->db, log->path, "abandon");
		goto out;
	}
	if (sqlite3_changes(log->db) != 1) {
		ilog_hex(hex, serial, ISSUANCE_LOG_SERIAL_LEN);
		if ((rc = cert_state(&log->cache, serial, &status)) != CA_OK)
			goto out;
		rc = status < 0 ?
		    ca_error(CA_ERR_NOT_FOUND, "serial %s: not in the log",
		    hex) :
		    ca_error(CA_ERR_EXISTS, "serial %s: is %s, not reserved; "
		    "only a reservation can be abandoned", hex,
		    issuance_status_name(status));
		goto out;
	}
	rc = CA_OK;
 out:
	ilog_done(st);
	pthread_mutex_unlock(&log->db_mtx);
	return ilog_full_err(log->path, rc, "serial %s was not marked "
	    "abandoned", ilog_hex(hex, serial, ISSUANCE_LOG_SERIAL_LEN));
}

int
ilog_reason_check(const char *what, int reason)
{
	if (reason < 0 || reason > 10 || reason == 6 || reason == 7 ||
	    reason == 8)
		return ca_error(CA_ERR_INVALID, "%s: RFC 5280 5.3.1: reason %d "
		    "is not accepted (use 0-5, 9 or 10; certificateHold is not "
		    "supported)", what, reason);
	return CA_OK;
}

int
ilog_revoke_row(struct ilog_cache *c, const uint8_t *serial, int64_t now,
    int reason, int *changed)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*changed = 0;
	if ((rc = ilog_prep(c, &st, "UPDATE certificates SET "
	    "status = 'revoked', revoked_at = ?, revocation_reason = ? "
	    "WHERE serial = ? AND status = 'issued'")) != CA_OK)
		return rc;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int(st, 2, reason);
	sqlite3_bind_blob(st, 3, serial, ISSUANCE_LOG_SERIAL_LEN,
	    SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = ilog_db_err(c->db, c->path, "revoke");
	else if ((*changed = sqlite3_changes(c->db)) == 1)
		rc = ilog_chain_append(c, ILOG_EV_REVOKE, now, serial, NULL);
	ilog_done(st);
	return rc;
}

int
issuance_log_revoke(struct issuance_log *log,
    const uint8_t serial[ISSUANCE_LOG_SERIAL_LEN], int reason)
{
	char hex[2 * ISSUANCE_LOG_SERIAL_LEN + 1];
	char what[64];
	int64_t now;
	int rc, status, changed, began = 0, committed = 0;

	ilog_hex(hex, serial, ISSUANCE_LOG_SERIAL_LEN);
	snprintf(what, sizeof(what), "serial %s", hex);
	if ((rc = ilog_reason_check(what, reason)) != CA_OK)
		return rc;
	if ((rc = ilog_writable(log)) != CA_OK)
		return rc;
	pthread_mutex_lock(&log->db_mtx);
	now = ilog_now(log);
	if ((rc = ilog_run(&log->cache, "BEGIN IMMEDIATE")) != CA_OK)
		goto out;
	began = 1;
	if ((rc = ilog_revoke_row(&log->cache, serial, now, reason,
	    &changed)) != CA_OK)
		goto out;
	if (changed != 1) {
		if ((rc = cert_state(&log->cache, serial, &status)) != CA_OK)
			goto out;
		if (status == ISSUANCE_REVOKED)
			rc = ca_error(CA_ERR_EXISTS, "serial %s: already "
			    "revoked", hex);
		else if (status < 0)
			rc = ca_error(CA_ERR_NOT_FOUND, "serial %s: not in "
			    "the log", hex);
		else
			rc = ca_error(CA_ERR_NOT_FOUND, "serial %s: is %s; "
			    "it was never issued, so there is nothing to "
			    "revoke", hex, issuance_status_name(status));
		goto out;
	}
	if ((rc = ilog_run(&log->cache, "COMMIT")) != CA_OK)
		goto out;
	began = 0;
	committed = 1;
 out:
	rc = ilog_write_end(log, began, committed, rc);
	return ilog_full_err(log->path, rc, "the revocation of serial %s was "
	    "not recorded", hex);
}

int
issuance_log_find(struct issuance_log *log, struct issuance_cert **out,
    const uint8_t serial[ISSUANCE_LOG_SERIAL_LEN])
{
	struct ilog_rconn *r;
	int rc;

	*out = NULL;
	if ((rc = ilog_rconn_get(log, &r)) != CA_OK)
		return rc;
	if ((rc = ilog_db_find(&r->cache, out, serial)) == CA_OK &&
	    (rc = ilog_selectors_load(&r->cache, *out)) != CA_OK) {
		issuance_cert_free(*out);
		*out = NULL;
	}
	ilog_rconn_put(log, r);
	return rc;
}

int
issuance_log_foreach(struct issuance_log *log, issuance_cert_cb cb, void *arg)
{
	struct ilog_rconn *r;
	int rc;

	if ((rc = ilog_rconn_get(log, &r)) != CA_OK)
		return rc;
	rc = ilog_db_foreach(&r->cache, cb, arg);
	ilog_rconn_put(log, r);
	return rc;
}

int
issuance_log_crl_number_next(struct issuance_log *log, int64_t *out,
    const uint8_t *issuer_key_id, size_t issuer_key_id_len)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*out = 0;
	if (issuer_key_id == NULL || issuer_key_id_len == 0)
		return ca_error(CA_ERR_USAGE, "%s: CRL number: no issuer key "
		    "id", log->path);
	if ((rc = ilog_writable(log)) != CA_OK)
		return rc;
	pthread_mutex_lock(&log->db_mtx);
	if ((rc = ilog_prep(&log->cache, &st, "INSERT INTO crl_state "
	    "(issuer_key_id, crl_number, updated_at) VALUES (?, 1, ?) "
	    "ON CONFLICT (issuer_key_id) DO UPDATE SET "
	    "crl_number = crl_number + 1, updated_at = excluded.updated_at "
	    "RETURNING crl_number")) != CA_OK)
		goto out;
	sqlite3_bind_blob(st, 1, issuer_key_id, (int)issuer_key_id_len,
	    SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, ilog_now(log));
	if (sqlite3_step(st) != SQLITE_ROW) {
		rc = ilog_db_err(log->db, log->path, "bump CRL number");
		goto out;
	}
	*out = sqlite3_column_int64(st, 0);
	/* Finish the statement: the autocommit transaction commits here. */
	if (sqlite3_step(st) != SQLITE_DONE) {
		*out = 0;
		rc = ilog_db_err(log->db, log->path, "commit CRL number");
		goto out;
	}
	rc = CA_OK;
 out:
	ilog_done(st);
	pthread_mutex_unlock(&log->db_mtx);
	/* Durable before the caller signs a CRL with the number. */
	if (rc == CA_OK && (rc = ilog_sync(log)) != CA_OK)
		*out = 0;
	return ilog_full_err(log->path, rc, "the CRL number was not "
	    "advanced");
}

int
issuance_log_seen(struct issuance_log *log,
    uint8_t serial_out[ISSUANCE_LOG_SERIAL_LEN], const char *kind,
    const char *id)
{
	struct ilog_rconn *r;
	sqlite3_stmt *st = NULL;
	int rc, step;

	/* An early refusal; issuance_log_complete checks it again. */
	if ((rc = ilog_rconn_get(log, &r)) != CA_OK)
		return rc;
	if ((rc = ilog_prep(&r->cache, &st, "SELECT first_seen, serial "
	    "FROM seen_instances WHERE kind = ? AND instance_id = ?")) !=
	    CA_OK)
		goto out;
	sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		if (serial_out != NULL &&
		    sqlite3_column_bytes(st, 1) == ISSUANCE_LOG_SERIAL_LEN)
			memcpy(serial_out, sqlite3_column_blob(st, 1),
			    ISSUANCE_LOG_SERIAL_LEN);
		rc = ca_error(CA_ERR_DENIED, "%s instance %s: already "
		    "accepted at %" PRId64 "; an identity document is "
		    "accepted once per instance", kind, id,
		    (int64_t)sqlite3_column_int64(st, 0));
	} else if (step != SQLITE_DONE)
		rc = ilog_db_err(r->db, log->path, "seen instances");
 out:
	ilog_done(st);
	ilog_rconn_put(log, r);
	return rc;
}

int
issuance_log_verify(struct issuance_log *log,
    struct issuance_verify_report *report)
{
	struct ilog_rconn *r;
	int rc;

	memset(report, 0, sizeof(*report));
	if ((rc = ilog_rconn_get(log, &r)) != CA_OK)
		return rc;
	rc = ilog_chain_verify(&r->cache, report);
	ilog_rconn_put(log, r);
	return rc;
}

static const char *const status_names[] = {
	[ISSUANCE_RESERVED] = "reserved",
	[ISSUANCE_ISSUED] = "issued",
	[ISSUANCE_REVOKED] = "revoked",
	[ISSUANCE_ABANDONED] = "abandoned",
};

const char *
issuance_status_name(enum issuance_status s)
{
	if ((unsigned)s >= sizeof(status_names) / sizeof(status_names[0]))
		return "unknown";
	return status_names[s];
}

int
ilog_status_parse(const char *s)
{
	size_t i;

	if (s == NULL)
		return -1;
	for (i = 0; i < sizeof(status_names) / sizeof(status_names[0]); i++)
		if (strcmp(s, status_names[i]) == 0)
			return (int)i;
	return -1;
}

void
issuance_cert_free(struct issuance_cert *c)
{
	size_t i;

	if (c == NULL)
		return;
	free(c->issuer_key_id);
	free(c->subject);
	free(c->names);
	free(c->der);
	free(c->requester);
	free(c->attestation);
	free(c->evidence);
	free(c->request_hash);
	free(c->profile);
	free(c->token_id);
	for (i = 0; i < c->nselectors; i++)
		free(c->selectors[i]);
	free(c->selectors);
	free(c);
}
