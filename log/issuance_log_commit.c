/* SPDX-License-Identifier: ISC */
/*
 * issuance_log_commit: issuance_log_complete and its group commit.
 *
 * One fsync per certificate caps SQLite at a few thousand rows a second, so
 * concurrent completions share a transaction. There is no committer thread:
 * a caller enqueues its request and, if no batch is being written, becomes
 * the leader, takes everything queued (up to ISSUANCE_LOG_BATCH_MAX),
 * writes and commits it, lets go of the write connection and only then
 * makes the commit durable (ilog_sync: one fdatasync of the WAL). Callers
 * that arrive meanwhile wait, each on its own condition variable, and form
 * the next batch, which may be written while the previous one's fsync
 * runs. An idle log therefore commits at once, and a busy one batches
 * whatever accumulated during the previous batch.
 *
 * Each request runs inside its own SAVEPOINT, so one refused row (a used
 * token, a replayed instance) is rolled back alone; the others commit. A
 * caller is woken only by its own batch's leader, after the fsync that
 * followed the COMMIT holding its row returned, and gets its own result
 * and detail message.
 */
#include "config.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "common/ca_error.h"
#include "log/issuance_log.h"
#include "log/issuance_log_int.h"

/*
 * How many batches may be committed and waiting for their fsync while the
 * next one is written. With 1, the next batch's SQL overlaps the previous
 * batch's fsync, and batches do not shrink to a row or two each.
 */
#define ILOG_SYNCS_AHEAD	1

struct ilog_pending {
	const struct issuance_completion *req;
	int rc;
	int done;			/* under q_mtx */
	pthread_cond_t cond;		/* signalled under q_mtx */
	char msg[256];
	struct ilog_pending *next;
};

static int
field_ok(const char *what, const char *s)
{
	if (s != NULL && strlen(s) > ISSUANCE_LOG_MAX_FIELD)
		return ca_error(CA_ERR_INVALID, "issuance record: %s is longer "
		    "than %d bytes", what, ISSUANCE_LOG_MAX_FIELD);
	return CA_OK;
}

static int
record_check(const struct issuance_completion *req)
{
	const struct issuance_cert *c = req->cert;
	size_t i;
	int rc;

	if (c == NULL || c->der == NULL || c->der_len == 0 ||
	    c->der_len > INT32_MAX)
		return ca_error(CA_ERR_USAGE, "issuance record: no "
		    "certificate");
	if ((req->seen_kind == NULL) != (req->seen_id == NULL))
		return ca_error(CA_ERR_USAGE, "issuance record: seen_kind "
		    "and seen_id go together");
	if ((rc = field_ok("subject", c->subject)) != CA_OK ||
	    (rc = field_ok("names", c->names)) != CA_OK ||
	    (rc = field_ok("requester", c->requester)) != CA_OK ||
	    (rc = field_ok("attestation", c->attestation)) != CA_OK ||
	    (rc = field_ok("token id", req->token_id)) != CA_OK ||
	    (rc = field_ok("instance id", req->seen_id)) != CA_OK)
		return rc;
	if (c->evidence_len > ISSUANCE_LOG_MAX_FIELD)
		return ca_error(CA_ERR_INVALID, "issuance record: evidence "
		    "is longer than %d bytes", ISSUANCE_LOG_MAX_FIELD);
	if (c->request_hash_len != 0 &&
	    (c->request_hash == NULL ||
	    c->request_hash_len != ISSUANCE_LOG_HASH_LEN))
		return ca_error(CA_ERR_USAGE, "issuance record: a request "
		    "hash is %d bytes", ISSUANCE_LOG_HASH_LEN);
	if (req->nselectors > ISSUANCE_LOG_MAX_SELECTORS ||
	    (req->nselectors > 0 && req->selectors == NULL))
		return ca_error(CA_ERR_INVALID, "issuance record: %zu "
		    "selectors, more than the limit of %d", req->nselectors,
		    ISSUANCE_LOG_MAX_SELECTORS);
	for (i = 0; i < req->nselectors; i++)
		if ((rc = issuance_selector_check(req->selectors[i])) != CA_OK)
			return ca_error(rc, "issuance record: %s",
			    ca_error_detail());
	return CA_OK;
}

static void
bind_text_or_null(sqlite3_stmt *st, int i, const char *s)
{
	if (s != NULL)
		sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

/* Why the certificate update touched no row. */
static int
explain_cert(struct ilog_cache *c, const uint8_t *serial)
{
	struct issuance_cert *found = NULL;
	char hex[2 * ISSUANCE_LOG_SERIAL_LEN + 1];
	int rc;

	ilog_hex(hex, serial, ISSUANCE_LOG_SERIAL_LEN);
	if ((rc = ilog_db_find(c, &found, serial)) == CA_ERR_NOT_FOUND)
		return ca_error(CA_ERR_NOT_FOUND, "serial %s: not reserved in "
		    "the log; reserve it before signing", hex);
	if (rc != CA_OK)
		return rc;
	rc = ca_error(CA_ERR_EXISTS, "serial %s: is %s, not reserved; a "
	    "serial is recorded once", hex,
	    issuance_status_name(found->status));
	issuance_cert_free(found);
	return rc;
}

/* Why the token update touched no row. */
static int
explain_token(struct ilog_cache *c, const char *id, int64_t now)
{
	struct join_token *t = NULL;
	int rc;

	if ((rc = ilog_token_find(c, &t, id)) == CA_ERR_NOT_FOUND)
		return ca_error(CA_ERR_DENIED, "token %s: no such token; ask "
		    "the operator for a new one", id);
	if (rc != CA_OK)
		return rc;
	if ((rc = join_token_usable(t, now)) == CA_OK)
		rc = ca_error(CA_ERR_INTERNAL, "token %s: could not be "
		    "consumed", id);
	join_token_free(t);
	return rc;
}

/*
 * parent_check refuses a renewal whose parent certificate is no longer
 * "issued". It runs on the write connection inside the batch's
 * transaction, which a revocation (BEGIN IMMEDIATE on the same connection)
 * cannot interleave with: a revocation is either seen here, or it is
 * committed after this certificate and chained after it.
 */
static int
parent_check(struct ilog_cache *c, const uint8_t *serial,
    const uint8_t *parent)
{
	struct issuance_cert *p = NULL;
	char hex[2 * ISSUANCE_LOG_SERIAL_LEN + 1];
	char phex[2 * ISSUANCE_LOG_SERIAL_LEN + 1];
	int rc;

	ilog_hex(hex, serial, ISSUANCE_LOG_SERIAL_LEN);
	ilog_hex(phex, parent, ISSUANCE_LOG_SERIAL_LEN);
	if ((rc = ilog_db_find(c, &p, parent)) == CA_ERR_NOT_FOUND)
		return ca_error(CA_ERR_REVOKED, "serial %s: renewed from serial "
		    "%s, which is not in the log; nothing was issued", hex,
		    phex);
	if (rc != CA_OK)
		return rc;
	if (p->status == ISSUANCE_REVOKED)
		rc = ca_error(CA_ERR_REVOKED, "serial %s: renewed from serial "
		    "%s, which was revoked (reason %d) at %" PRId64 " before "
		    "the renewal was recorded; nothing was issued", hex, phex,
		    p->reason, p->revoked_at);
	else if (p->status != ISSUANCE_ISSUED)
		rc = ca_error(CA_ERR_REVOKED, "serial %s: renewed from serial "
		    "%s, which is %s, not issued; nothing was issued", hex,
		    phex, issuance_status_name(p->status));
	issuance_cert_free(p);
	return rc;
}

/* record_one writes one request inside the caller's savepoint. */
static int
record_one(struct issuance_log *log, const struct issuance_completion *req,
    int64_t now)
{
	const struct issuance_cert *c = req->cert;
	struct ilog_cache *cache = &log->cache;
	sqlite3_stmt *st = NULL;
	int rc, step;

	if ((rc = record_check(req)) != CA_OK)
		return rc;
	if (req->parent_serial != NULL &&
	    (rc = parent_check(cache, c->serial, req->parent_serial)) != CA_OK)
		return rc;
	if ((rc = ilog_prep(cache, &st, "UPDATE certificates SET "
	    "status = 'issued', subject = ?, names = ?, not_before = ?, "
	    "not_after = ?, der = ?, requester = ?, attestation = ?, "
	    "evidence = ?, token_id = ?, issued_at = ?, parent_serial = ?, "
	    "request_hash = ?, profile = ? WHERE serial = ? AND "
	    "status = 'reserved'")) !=
	    CA_OK)
		goto out;
	bind_text_or_null(st, 1, c->subject);
	bind_text_or_null(st, 2, c->names);
	sqlite3_bind_int64(st, 3, c->not_before);
	sqlite3_bind_int64(st, 4, c->not_after);
	sqlite3_bind_blob(st, 5, c->der, (int)c->der_len, SQLITE_STATIC);
	bind_text_or_null(st, 6, c->requester);
	bind_text_or_null(st, 7, c->attestation);
	if (c->evidence != NULL)
		sqlite3_bind_blob(st, 8, c->evidence, (int)c->evidence_len,
		    SQLITE_STATIC);
	bind_text_or_null(st, 9, req->token_id);
	sqlite3_bind_int64(st, 10, now);
	if (req->parent_serial != NULL)
		sqlite3_bind_blob(st, 11, req->parent_serial,
		    ISSUANCE_LOG_SERIAL_LEN, SQLITE_STATIC);
	if (c->request_hash_len != 0)
		sqlite3_bind_blob(st, 12, c->request_hash,
		    (int)c->request_hash_len, SQLITE_STATIC);
	bind_text_or_null(st, 13, c->profile);
	sqlite3_bind_blob(st, 14, c->serial, ISSUANCE_LOG_SERIAL_LEN,
	    SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		rc = ilog_db_err(log->db, log->path, "record certificate");
		goto out;
	}
	if (sqlite3_changes(log->db) != 1) {
		rc = explain_cert(cache, c->serial);
		goto out;
	}
	ilog_done(st);
	st = NULL;

	if (req->token_id != NULL) {
		if ((rc = ilog_prep(cache, &st, "UPDATE join_tokens SET "
		    "used_at = ?, used_serial = ? WHERE id = ? AND "
		    "used_at IS NULL AND revoked_at IS NULL AND "
		    "expires_at > ?")) != CA_OK)
			goto out;
		sqlite3_bind_int64(st, 1, now);
		sqlite3_bind_blob(st, 2, c->serial, ISSUANCE_LOG_SERIAL_LEN,
		    SQLITE_STATIC);
		sqlite3_bind_text(st, 3, req->token_id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, now);
		if (sqlite3_step(st) != SQLITE_DONE) {
			rc = ilog_db_err(log->db, log->path, "consume token");
			goto out;
		}
		if (sqlite3_changes(log->db) != 1) {
			rc = explain_token(cache, req->token_id, now);
			goto out;
		}
		ilog_done(st);
		st = NULL;
	}

	if (req->seen_id != NULL) {
		if ((rc = ilog_prep(cache, &st, "INSERT INTO seen_instances "
		    "(kind, instance_id, first_seen, serial) "
		    "VALUES (?, ?, ?, ?)")) != CA_OK)
			goto out;
		sqlite3_bind_text(st, 1, req->seen_kind, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, req->seen_id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, now);
		sqlite3_bind_blob(st, 4, c->serial, ISSUANCE_LOG_SERIAL_LEN,
		    SQLITE_STATIC);
		step = sqlite3_step(st);
		if (step != SQLITE_DONE) {
			if ((sqlite3_extended_errcode(log->db) & 0xff) ==
			    SQLITE_CONSTRAINT)
				rc = ca_error(CA_ERR_DENIED, "%s instance %s: "
				    "already accepted; an identity document is "
				    "accepted once per instance",
				    req->seen_kind, req->seen_id);
			else
				rc = ilog_db_err(log->db, log->path,
				    "mark instance seen");
			goto out;
		}
		ilog_done(st);
		st = NULL;
	}

	if ((rc = ilog_selectors_record(cache, req)) != CA_OK)
		goto out;
	if ((rc = ilog_chain_append(cache, ILOG_EV_ISSUE, now, c->serial,
	    NULL)) != CA_OK)
		goto out;
	if (req->token_id != NULL &&
	    (rc = ilog_chain_append(cache, ILOG_EV_TOKEN_CONSUME, now, NULL,
	    req->token_id)) != CA_OK)
		goto out;
	rc = CA_OK;
 out:
	ilog_done(st);
	return rc;
}

static void
pending_fail(struct ilog_pending *p, int rc)
{
	p->rc = rc;
	snprintf(p->msg, sizeof(p->msg), "%s", ca_error_detail());
}

/*
 * batch_write records and commits n requests, setting each one's result;
 * it returns CA_OK when the COMMIT succeeded (the batch then still has to
 * be synced), an error when nothing of it was committed.
 */
static int
batch_write(struct issuance_log *log, struct ilog_pending **batch, size_t n)
{
	int64_t now;
	size_t i;
	int rc;

	pthread_mutex_lock(&log->db_mtx);
	now = ilog_now(log);
	if ((rc = ilog_writable(log)) != CA_OK ||
	    (rc = ilog_run(&log->cache, "BEGIN IMMEDIATE")) != CA_OK) {
		for (i = 0; i < n; i++)
			pending_fail(batch[i], rc);
		goto out;
	}
	for (i = 0; i < n; i++) {
		if ((rc = ilog_run(&log->cache, "SAVEPOINT complete")) !=
		    CA_OK) {
			pending_fail(batch[i], rc);
			continue;
		}
		if ((rc = record_one(log, batch[i]->req, now)) == CA_OK) {
			batch[i]->rc = CA_OK;
			rc = ilog_run(&log->cache, "RELEASE complete");
		} else {
			pending_fail(batch[i], rc);
			/*
			 * Undo this request only; the batch goes on. After
			 * SQLITE_FULL or an I/O error SQLite may have rolled
			 * the whole transaction back: then every request
			 * fails with this one's reason (not "no such
			 * savepoint").
			 */
			if (sqlite3_get_autocommit(log->db))
				rc = ca_error(rc, "%s", batch[i]->msg);
			else if ((rc = ilog_run(&log->cache,
			    "ROLLBACK TO complete")) == CA_OK)
				rc = ilog_run(&log->cache, "RELEASE complete");
		}
		if (rc != CA_OK) {
			/* The transaction itself is broken: fail them all. */
			for (i = 0; i < n; i++)
				pending_fail(batch[i], rc);
			ilog_rollback(log->db);
			goto out;
		}
	}
	if ((rc = ilog_run(&log->cache, "COMMIT")) != CA_OK) {
		for (i = 0; i < n; i++)
			if (batch[i]->rc == CA_OK)
				pending_fail(batch[i], rc);
		ilog_rollback(log->db);
		goto out;
	}
	log->commits++;
	log->committed_rows += n;
 out:
	pthread_mutex_unlock(&log->db_mtx);
	return rc;
}

/* may_lead: no batch is being written and few enough await their fsync. */
static int
may_lead(const struct issuance_log *log)
{
	return !log->sql_busy && log->syncing <= ILOG_SYNCS_AHEAD;
}

/* wake_next tells the first queued request it may lead; q_mtx is held. */
static void
wake_next(struct issuance_log *log)
{
	if (log->q_head != NULL && may_lead(log))
		pthread_cond_signal(&log->q_head->cond);
}

int
issuance_log_complete(struct issuance_log *log,
    const struct issuance_completion *req)
{
	struct ilog_pending me, *batch[ISSUANCE_LOG_BATCH_MAX];
	char hex[2 * ISSUANCE_LOG_SERIAL_LEN + 1];
	size_t n, i, ok;
	int rc;

	memset(&me, 0, sizeof(me));
	me.req = req;
	me.rc = CA_ERR_INTERNAL;
	pthread_cond_init(&me.cond, NULL);
	pthread_mutex_lock(&log->q_mtx);
	if (log->q_tail != NULL)
		log->q_tail->next = &me;
	else
		log->q_head = &me;
	log->q_tail = &me;
	log->q_len++;
	while (!me.done) {
		/*
		 * Wait while another leader writes, or while my request is
		 * in a batch that is not yet durable (its leader wakes me),
		 * or while it is queued behind another (a leader that ends
		 * wakes the head of the queue).
		 */
		if (!may_lead(log) || log->q_head != &me) {
			pthread_cond_wait(&me.cond, &log->q_mtx);
			continue;
		}
		/* Lead: take what is queued and write it. */
		log->sql_busy = 1;
		for (n = 0; n < ISSUANCE_LOG_BATCH_MAX && log->q_head != NULL;
		    n++) {
			batch[n] = log->q_head;
			log->q_head = log->q_head->next;
			batch[n]->next = NULL;
			log->q_len--;
		}
		if (log->q_head == NULL)
			log->q_tail = NULL;
		pthread_mutex_unlock(&log->q_mtx);
		rc = batch_write(log, batch, n);
		for (i = 0, ok = 0; i < n; i++)
			ok += batch[i]->rc == CA_OK;
		pthread_mutex_lock(&log->q_mtx);
		log->sql_busy = 0;
		/* A batch of refusals changed nothing: no sync to wait for. */
		if (rc == CA_OK && ok > 0) {
			/* The next batch may be written during this fsync. */
			log->syncing++;
			wake_next(log);
			pthread_mutex_unlock(&log->q_mtx);
			rc = ilog_sync(log);
			pthread_mutex_lock(&log->q_mtx);
			log->syncing--;
			if (rc != CA_OK)
				for (i = 0; i < n; i++)
					if (batch[i]->rc == CA_OK)
						pending_fail(batch[i], rc);
		}
		/* Wake this batch's callers only, then the next leader. */
		for (i = 0; i < n; i++) {
			batch[i]->done = 1;
			if (batch[i] != &me)
				pthread_cond_signal(&batch[i]->cond);
		}
		wake_next(log);
	}
	pthread_mutex_unlock(&log->q_mtx);
	pthread_cond_destroy(&me.cond);
	if (me.rc != CA_OK) {
		ca_error(me.rc, "%s", me.msg);
		if (req->cert == NULL)
			return me.rc;
		return ilog_full_err(log->path, me.rc, "certificate %s was "
		    "not recorded%s%s", ilog_hex(hex, req->cert->serial,
		    ISSUANCE_LOG_SERIAL_LEN), req->token_id != NULL ?
		    "; the token was not consumed" : "", req->seen_id != NULL ?
		    "; the identity document was not marked as used" : "");
	}
	ca_error_clear();
	return CA_OK;
}
