/* SPDX-License-Identifier: ISC */
/*
 * issuance_log_token: join tokens in the issuance log. A token is stored
 * only as the hash of its secret (issuance_log_token_hash); creation and
 * revocation are chained entries. Consumption happens only inside
 * issuance_log_complete, in the same transaction as the certificate it
 * pays for, so a request refused for any reason never uses a token up.
 * Lookups run on the writer's read-only connections: what they return is
 * the last committed state, good for an early refusal; the authoritative
 * check is the consuming UPDATE inside the completion's savepoint.
 */
#include "config.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/ca_error.h"
#include "log/issuance_log.h"
#include "log/issuance_log_int.h"

#define TOKEN_HASH_KEY	"carapace join token v1"
#define TOKEN_COLUMNS \
	"id, secret_hash, identity, allowed_names, profile, expires_at, " \
	"created_at, used_at, used_serial, revoked_at"

void
issuance_log_token_hash(uint8_t out[ISSUANCE_LOG_HASH_LEN],
    const void *secret, size_t secret_len)
{
	crypto_generichash(out, ISSUANCE_LOG_HASH_LEN, secret, secret_len,
	    (const unsigned char *)TOKEN_HASH_KEY, strlen(TOKEN_HASH_KEY));
}

void
join_token_free(struct join_token *t)
{
	if (t == NULL)
		return;
	free(t->id);
	free(t->identity);
	free(t->allowed_names);
	free(t->profile);
	free(t);
}

static char *
col_dup(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);

	return strdup(s != NULL ? (const char *)s : "");
}

int
ilog_token_row(sqlite3_stmt *st, struct join_token **out)
{
	struct join_token *t;

	*out = NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return ca_error(CA_ERR_NOMEM, "join token: out of memory");
	t->id = col_dup(st, 0);
	t->identity = col_dup(st, 2);
	t->allowed_names = col_dup(st, 3);
	t->profile = col_dup(st, 4);
	if (t->id == NULL || t->identity == NULL || t->allowed_names == NULL ||
	    t->profile == NULL) {
		join_token_free(t);
		return ca_error(CA_ERR_NOMEM, "join token: out of memory");
	}
	if (sqlite3_column_bytes(st, 1) == ISSUANCE_LOG_HASH_LEN)
		memcpy(t->hash, sqlite3_column_blob(st, 1), sizeof(t->hash));
	t->expires_at = sqlite3_column_int64(st, 5);
	t->created_at = sqlite3_column_int64(st, 6);
	t->used_at = sqlite3_column_int64(st, 7);
	if (sqlite3_column_bytes(st, 8) == ISSUANCE_LOG_SERIAL_LEN)
		memcpy(t->used_serial, sqlite3_column_blob(st, 8),
		    sizeof(t->used_serial));
	t->revoked_at = sqlite3_column_int64(st, 9);
	*out = t;
	return CA_OK;
}

int
ilog_token_find(struct ilog_cache *c, struct join_token **out, const char *id)
{
	sqlite3_stmt *st = NULL;
	int rc, step;

	*out = NULL;
	if ((rc = ilog_prep(c, &st, "SELECT " TOKEN_COLUMNS " FROM join_tokens "
	    "WHERE id = ?")) != CA_OK)
		return rc;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW)
		rc = ilog_token_row(st, out);
	else if (step == SQLITE_DONE)
		rc = ca_error(CA_ERR_NOT_FOUND, "token %s: no such token; ask "
		    "the operator for a new one", id);
	else
		rc = ilog_db_err(c->db, c->path, "find token");
	ilog_done(st);
	return rc;
}

int
join_token_usable(const struct join_token *t, int64_t now)
{
	if (t->revoked_at != 0)
		return ca_error(CA_ERR_DENIED, "token %s: revoked at %" PRId64
		    "; ask the operator for a new one", t->id, t->revoked_at);
	if (t->used_at != 0)
		return ca_error(CA_ERR_DENIED, "token %s: already used at %"
		    PRId64 "; a join token is good for one certificate, ask "
		    "the operator for a new one", t->id, t->used_at);
	if (t->expires_at <= now)
		return ca_error(CA_ERR_EXPIRED, "token %s: expired at %" PRId64
		    "; ask the operator for a new one", t->id, t->expires_at);
	return CA_OK;
}

static int
text_ok(const char *what, const char *s, int empty_ok)
{
	if (s == NULL || (!empty_ok && *s == '\0') ||
	    strlen(s) > ISSUANCE_LOG_MAX_FIELD)
		return ca_error(CA_ERR_USAGE, "join token: %s is missing or "
		    "longer than %d bytes", what, ISSUANCE_LOG_MAX_FIELD);
	return CA_OK;
}

int
issuance_log_token_create(struct issuance_log *log, const struct join_token *t)
{
	sqlite3_stmt *st = NULL;
	int64_t now;
	int rc, began = 0, committed = 0;

	if ((rc = text_ok("id", t->id, 0)) != CA_OK ||
	    (rc = text_ok("identity", t->identity, 0)) != CA_OK ||
	    (rc = text_ok("allowed names", t->allowed_names, 1)) != CA_OK ||
	    (rc = text_ok("profile", t->profile, 0)) != CA_OK ||
	    (rc = ilog_writable(log)) != CA_OK)
		return rc;
	pthread_mutex_lock(&log->db_mtx);
	now = ilog_now(log);
	if (t->expires_at <= now) {
		rc = ca_error(CA_ERR_INVALID, "token %s: expiry %" PRId64
		    " is not in the future", t->id, t->expires_at);
		goto out;
	}
	if ((rc = ilog_run(&log->cache, "BEGIN IMMEDIATE")) != CA_OK)
		goto out;
	began = 1;
	if ((rc = ilog_prep(&log->cache, &st, "INSERT INTO join_tokens (id, "
	    "secret_hash, identity, allowed_names, profile, expires_at, "
	    "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)")) != CA_OK)
		goto out;
	sqlite3_bind_text(st, 1, t->id, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, t->hash, sizeof(t->hash), SQLITE_STATIC);
	sqlite3_bind_text(st, 3, t->identity, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, t->allowed_names, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, t->profile, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, t->expires_at);
	sqlite3_bind_int64(st, 7, now);
	if (sqlite3_step(st) != SQLITE_DONE) {
		if ((sqlite3_extended_errcode(log->db) & 0xff) ==
		    SQLITE_CONSTRAINT)
			rc = ca_error(CA_ERR_EXISTS, "token %s: a token with "
			    "this id or secret already exists", t->id);
		else
			rc = ilog_db_err(log->db, log->path, "create token");
		goto out;
	}
	if ((rc = ilog_chain_append(&log->cache, ILOG_EV_TOKEN_CREATE, now,
	    NULL, t->id)) != CA_OK ||
	    (rc = ilog_run(&log->cache, "COMMIT")) != CA_OK)
		goto out;
	began = 0;
	committed = 1;
 out:
	ilog_done(st);
	rc = ilog_write_end(log, began, committed, rc);
	return ilog_full_err(log->path, rc, "token %s was not created",
	    t->id);
}

int
issuance_log_token_find_hash(struct issuance_log *log,
    struct join_token **out, const uint8_t hash[ISSUANCE_LOG_HASH_LEN])
{
	struct ilog_rconn *r;
	sqlite3_stmt *st = NULL;
	int rc, step;

	/*
	 * The index lookup is not constant-time, but what it could leak is
	 * about a hash of a 256-bit secret; the final comparison is.
	 */
	*out = NULL;
	if ((rc = ilog_rconn_get(log, &r)) != CA_OK)
		return rc;
	if ((rc = ilog_prep(&r->cache, &st, "SELECT " TOKEN_COLUMNS
	    " FROM join_tokens WHERE secret_hash = ?")) != CA_OK)
		goto out;
	sqlite3_bind_blob(st, 1, hash, ISSUANCE_LOG_HASH_LEN, SQLITE_STATIC);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW && sqlite3_column_bytes(st, 1) ==
	    ISSUANCE_LOG_HASH_LEN && sodium_memcmp(sqlite3_column_blob(st, 1),
	    hash, ISSUANCE_LOG_HASH_LEN) == 0)
		rc = ilog_token_row(st, out);
	else if (step == SQLITE_ROW || step == SQLITE_DONE)
		rc = ca_error(CA_ERR_NOT_FOUND, "join token: no token matches "
		    "the secret presented; check it or ask the operator for a "
		    "new one");
	else
		rc = ilog_db_err(r->db, log->path, "find token");
 out:
	ilog_done(st);
	ilog_rconn_put(log, r);
	return rc;
}

int
issuance_log_token_find(struct issuance_log *log, struct join_token **out,
    const char *id)
{
	struct ilog_rconn *r;
	int rc;

	*out = NULL;
	if ((rc = ilog_rconn_get(log, &r)) != CA_OK)
		return rc;
	rc = ilog_token_find(&r->cache, out, id);
	ilog_rconn_put(log, r);
	return rc;
}

int
issuance_log_token_revoke(struct issuance_log *log, const char *id)
{
	struct join_token *t = NULL;
	sqlite3_stmt *st = NULL;
	int64_t now;
	int rc, began = 0, committed = 0;

	if ((rc = ilog_writable(log)) != CA_OK)
		return rc;
	pthread_mutex_lock(&log->db_mtx);
	now = ilog_now(log);
	if ((rc = ilog_run(&log->cache, "BEGIN IMMEDIATE")) != CA_OK)
		goto out;
	began = 1;
	if ((rc = ilog_prep(&log->cache, &st, "UPDATE join_tokens SET "
	    "revoked_at = ? WHERE id = ? AND used_at IS NULL AND "
	    "revoked_at IS NULL")) != CA_OK)
		goto out;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		rc = ilog_db_err(log->db, log->path, "revoke token");
		goto out;
	}
	if (sqlite3_changes(log->db) != 1) {
		if ((rc = ilog_token_find(&log->cache, &t, id)) != CA_OK)
			goto out;
		rc = ca_error(CA_ERR_EXISTS, "token %s: already %s", id,
		    t->revoked_at != 0 ? "revoked" : "used");
		goto out;
	}
	if ((rc = ilog_chain_append(&log->cache, ILOG_EV_TOKEN_REVOKE, now,
	    NULL, id)) != CA_OK ||
	    (rc = ilog_run(&log->cache, "COMMIT")) != CA_OK)
		goto out;
	began = 0;
	committed = 1;
 out:
	join_token_free(t);
	ilog_done(st);
	rc = ilog_write_end(log, began, committed, rc);
	return ilog_full_err(log->path, rc, "token %s was not revoked", id);
}

int
issuance_log_token_list(struct issuance_log *log, join_token_cb cb, void *arg)
{
	struct join_token *t = NULL;
	sqlite3_stmt *st = NULL;
	struct ilog_rconn *r;
	int rc, step, stop;

	if ((rc = ilog_rconn_get(log, &r)) != CA_OK)
		return rc;
	if ((rc = ilog_prep(&r->cache, &st, "SELECT " TOKEN_COLUMNS
	    " FROM join_tokens ORDER BY rowid")) != CA_OK)
		goto out;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if ((rc = ilog_token_row(st, &t)) != CA_OK)
			goto out;
		stop = cb(t, arg);
		join_token_free(t);
		t = NULL;
		if (stop != 0)
			goto out;
	}
	if (step != SQLITE_DONE)
		rc = ilog_db_err(r->db, log->path, "list tokens");
 out:
	ilog_done(st);
	ilog_rconn_put(log, r);
	return rc;
}
