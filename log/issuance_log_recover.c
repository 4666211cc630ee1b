/* SPDX-License-Identifier: ISC */
/*
 * issuance_log_recover: what the log's one issuer does once at startup,
 * after issuance_log_open and before it takes requests. It claims the log
 * (an exclusive flock on the database file, held until
 * issuance_log_close) and resolves the rows a crash left "reserved": a
 * serial was drawn, maybe signed, but its certificate was never recorded,
 * so no client holds it (nothing is returned before it is recorded). Such
 * a row becomes "abandoned", exactly as issuance_log_abandon would have
 * made it: the serial stays taken, nothing is chained (reservations and
 * abandonments never are), OCSP never answers "good" for it.
 *
 * Why the lock: resolving every reserved row is right only if no other
 * process is between reserving and recording. carapace runs one issuer
 * per log; the lock turns that assumption into a refusal to start a
 * second one, instead of abandoning its reservations under it (whose
 * completions would then fail with "is abandoned, not reserved", never
 * record a certificate twice or lose one). flock(2) locks are separate
 * from the POSIX locks SQLite uses, and the descriptor is closed only
 * after every SQLite connection (closing a descriptor of the file drops
 * the process's POSIX locks on it). Tools that open the log as a writer
 * without calling this (tests, benchmarks) are not excluded.
 */
#include "config.h"

#include <sys/file.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "common/ca_error.h"
#include "log/issuance_log.h"
#include "log/issuance_log_int.h"

/* recover_lock takes the exclusive flock on the database file. */
static int
recover_lock(struct issuance_log *log)
{
	int fd;

	if (log->locked)
		return CA_OK;
	if ((fd = open(log->file, O_RDONLY | O_CLOEXEC)) < 0)
		return ca_error(CA_ERR_IO, "%s: open for the writer's lock: %s",
		    log->path, strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int e = errno;

		close(fd);
		if (e == EWOULDBLOCK)
			return ca_error(CA_ERR_EXISTS, "%s: another process "
			    "(a second carapace-issuer?) holds the log's writer "
			    "lock; one issuer writes a log: stop the other one "
			    "first", log->path);
		return ca_error(CA_ERR_IO, "%s: flock: %s", log->path,
		    strerror(e));
	}
	log->lock_fd = fd;
	log->locked = 1;
	return CA_OK;
}

int
issuance_log_recover(struct issuance_log *log, int64_t *abandoned)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*abandoned = 0;
	if ((rc = recover_lock(log)) != CA_OK ||
	    (rc = ilog_writable(log)) != CA_OK)
		return rc;
	pthread_mutex_lock(&log->db_mtx);
	/*
	 * With the lock held, every reservation is a leftover. One statement,
	 * so one transaction, answered from the partial index
	 * certificates_reserved (schema 3), not by reading the whole table.
	 */
	if ((rc = ilog_prep(&log->cache, &st, "UPDATE certificates SET "
	    "status = 'abandoned' WHERE status = 'reserved'")) != CA_OK)
		goto out;
	if (sqlite3_step(st) != SQLITE_DONE) {
		rc = ilog_db_err(log->db, log->path, "abandon the rows left "
		    "reserved");
		goto out;
	}
	*abandoned = sqlite3_changes64(log->db);
	rc = CA_OK;
 out:
	ilog_done(st);
	pthread_mutex_unlock(&log->db_mtx);
	return rc;
}
