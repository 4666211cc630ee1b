/* SPDX-License-Identifier: ISC */
/*
 * issuance_log_read: the read-only handle for the OCSP responder, the CRL
 * publisher and `carapace log verify`, and the row decoding the writer
 * shares. The connection is opened with SQLITE_OPEN_READONLY and
 * query_only, so no code path through it can change the log. It does not
 * migrate: a log whose schema it does not know is refused.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/ca_error.h"
#include "log/issuance_log.h"
#include "log/issuance_log_int.h"

static int
col_str(sqlite3_stmt *st, int i, char **out)
{
	const unsigned char *s;

	*out = NULL;
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return CA_OK;
	if ((s = sqlite3_column_text(st, i)) == NULL ||
	    (*out = strdup((const char *)s)) == NULL)
		return ca_error(CA_ERR_NOMEM, "issuance log: out of memory");
	return CA_OK;
}

static int
col_blob(sqlite3_stmt *st, int i, uint8_t **out, size_t *len)
{
	const void *p;
	int n;

	*out = NULL;
	*len = 0;
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return CA_OK;
	p = sqlite3_column_blob(st, i);
	n = sqlite3_column_bytes(st, i);
	if ((*out = malloc(n > 0 ? (size_t)n : 1)) == NULL)
		return ca_error(CA_ERR_NOMEM, "issuance log: out of memory");
	if (n > 0)
		memcpy(*out, p, (size_t)n);
	*len = (size_t)n;
	return CA_OK;
}

static int
col_serial(sqlite3_stmt *st, int i, uint8_t out[ISSUANCE_LOG_SERIAL_LEN])
{
	if (sqlite3_column_bytes(st, i) != ISSUANCE_LOG_SERIAL_LEN) {
		memset(out, 0, ISSUANCE_LOG_SERIAL_LEN);
		return ca_error(CA_ERR_DB, "issuance log: a serial is not "
		    "%d bytes", ISSUANCE_LOG_SERIAL_LEN);
	}
	memcpy(out, sqlite3_column_blob(st, i), ISSUANCE_LOG_SERIAL_LEN);
	return CA_OK;
}

int
ilog_cert_row(sqlite3_stmt *st, struct issuance_cert **out)
{
	struct issuance_cert *c;
	int rc = CA_ERR_INTERNAL, status;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return ca_error(CA_ERR_NOMEM, "issuance log: out of memory");
	if ((rc = col_serial(st, 0, c->serial)) != CA_OK ||
	    (rc = col_blob(st, 1, &c->issuer_key_id, &c->issuer_key_id_len))
	    != CA_OK ||
	    (rc = col_str(st, 2, &c->subject)) != CA_OK ||
	    (rc = col_str(st, 3, &c->names)) != CA_OK ||
	    (rc = col_blob(st, 6, &c->der, &c->der_len)) != CA_OK ||
	    (rc = col_str(st, 10, &c->requester)) != CA_OK ||
	    (rc = col_str(st, 11, &c->attestation)) != CA_OK ||
	    (rc = col_blob(st, 12, &c->evidence, &c->evidence_len)) != CA_OK ||
	    (rc = col_str(st, 13, &c->token_id)) != CA_OK ||
	    (rc = col_blob(st, 16, &c->request_hash, &c->request_hash_len)) !=
	    CA_OK || (rc = col_str(st, 17, &c->profile)) != CA_OK)
		goto out;
	c->not_before = sqlite3_column_int64(st, 4);
	c->not_after = sqlite3_column_int64(st, 5);
	if ((status = ilog_status_parse((const char *)
	    sqlite3_column_text(st, 7))) < 0) {
		rc = ca_error(CA_ERR_DB, "issuance log: unknown status");
		goto out;
	}
	c->status = (enum issuance_status)status;
	c->revoked_at = sqlite3_column_int64(st, 8);
	c->reason = sqlite3_column_type(st, 9) == SQLITE_NULL ? -1 :
	    sqlite3_column_int(st, 9);
	c->created_at = sqlite3_column_int64(st, 14);
	c->issued_at = sqlite3_column_int64(st, 15);
	*out = c;
	c = NULL;
	rc = CA_OK;
 out:
	issuance_cert_free(c);
	return rc;
}

int
ilog_db_find(struct ilog_cache *c, struct issuance_cert **out,
    const uint8_t serial[ISSUANCE_LOG_SERIAL_LEN])
{
	sqlite3_stmt *st = NULL;
	char hex[2 * ISSUANCE_LOG_SERIAL_LEN + 1];
	int rc, step;

	*out = NULL;
	if ((rc = ilog_prep(c, &st, "SELECT " ILOG_CERT_COLUMNS
	    " FROM certificates WHERE serial = ?")) != CA_OK)
		return rc;
	sqlite3_bind_blob(st, 1, serial, ISSUANCE_LOG_SERIAL_LEN,
	    SQLITE_STATIC);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW)
		rc = ilog_cert_row(st, out);
	else if (step == SQLITE_DONE)
		rc = ca_error(CA_ERR_NOT_FOUND, "serial %s: not in the log",
		    ilog_hex(hex, serial, ISSUANCE_LOG_SERIAL_LEN));
	else
		rc = ilog_db_err(c->db, c->path, "find serial");
	ilog_done(st);
	return rc;
}

int
ilog_db_crl_number(struct ilog_cache *c, int64_t *out, const uint8_t *kid,
    size_t kid_len)
{
	sqlite3_stmt *st = NULL;
	int rc, step;

	*out = 0;
	if ((rc = ilog_prep(c, &st, "SELECT crl_number FROM crl_state "
	    "WHERE issuer_key_id = ?")) != CA_OK)
		return rc;
	sqlite3_bind_blob(st, 1, kid, (int)kid_len, SQLITE_STATIC);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	else if (step != SQLITE_DONE)
		rc = ilog_db_err(c->db, c->path, "read CRL number");
	ilog_done(st);
	return rc;
}

int
issuance_log_reader_open(struct issuance_log_reader **out, const char *path)
{
	struct issuance_log_head seen;
	struct issuance_log_reader *r = NULL;
	int rc = CA_ERR_INTERNAL, v;
	int have_seen = 0;

	*out = NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->path = strdup(path)) == NULL) {
		free(r);
		return ca_error(CA_ERR_NOMEM, "%s: out of memory", path);
	}
	/* Read first: the writer records a head only once it is durable. */
	if ((rc = ilog_present(path)) != CA_OK ||
	    (rc = ilog_head_read(path, &seen, &have_seen)) != CA_OK)
		goto out;
	if (sqlite3_open_v2(path, &r->db, SQLITE_OPEN_READONLY |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		rc = ilog_db_err(r->db, path, "open read-only");
		goto out;
	}
	r->cache.db = r->db;
	r->cache.path = r->path;
	sqlite3_busy_timeout(r->db, 10000);
	if ((rc = ilog_exec(r->db, path, "PRAGMA query_only = ON; "
	    "PRAGMA trusted_schema = OFF")) != CA_OK ||
	    (rc = ilog_schema_version(r->db, path, &v)) != CA_OK)
		goto out;
	if (v != ISSUANCE_LOG_SCHEMA_VERSION) {
		rc = ca_error(CA_ERR_UNSUPPORTED, "%s: schema version %d is "
		    "older than this program's (%d); start carapace-issuer "
		    "once to migrate it", path, v,
		    ISSUANCE_LOG_SCHEMA_VERSION);
		goto out;
	}
	if (have_seen && (rc = ilog_head_check(&r->cache, &seen)) != CA_OK)
		goto out;
	*out = r;
	r = NULL;
	rc = CA_OK;
 out:
	issuance_log_reader_close(r);
	return rc;
}

void
issuance_log_reader_close(struct issuance_log_reader *r)
{
	if (r == NULL)
		return;
	ilog_cache_clear(&r->cache);
	sqlite3_close(r->db);
	free(r->path);
	free(r);
}

sqlite3 *
issuance_log_reader_db(struct issuance_log_reader *r)
{
	return r->db;
}

int
issuance_log_reader_find(struct issuance_log_reader *r,
    struct issuance_cert **out, const uint8_t serial[ISSUANCE_LOG_SERIAL_LEN])
{
	return ilog_db_find(&r->cache, out, serial);
}

int
issuance_log_reader_revoked(struct issuance_log_reader *r,
    const uint8_t *issuer_key_id, size_t issuer_key_id_len,
    issuance_revoked_cb cb, void *arg)
{
	struct issuance_revoked rv;
	sqlite3_stmt *st = NULL;
	int rc, step;

	if ((rc = ilog_prep(&r->cache, &st, "SELECT serial, revoked_at, "
	    "revocation_reason FROM certificates WHERE issuer_key_id = ? "
	    "AND status = 'revoked' ORDER BY serial")) != CA_OK)
		return rc;
	sqlite3_bind_blob(st, 1, issuer_key_id, (int)issuer_key_id_len,
	    SQLITE_STATIC);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if ((rc = col_serial(st, 0, rv.serial)) != CA_OK)
			goto out;
		rv.revoked_at = sqlite3_column_int64(st, 1);
		rv.reason = sqlite3_column_int(st, 2);
		if (cb(&rv, arg) != 0)
			goto out;
	}
	if (step != SQLITE_DONE)
		rc = ilog_db_err(r->db, r->path, "list revoked");
 out:
	ilog_done(st);
	return rc;
}

int
issuance_log_reader_foreach(struct issuance_log_reader *r,
    issuance_cert_cb cb, void *arg)
{
	return ilog_db_foreach(&r->cache, cb, arg);
}

int
ilog_cert_rows(struct ilog_cache *cache, sqlite3_stmt *st,
    issuance_cert_cb cb, void *arg)
{
	struct issuance_cert *c = NULL;
	int rc = CA_OK, step, stop;

	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if ((rc = ilog_cert_row(st, &c)) != CA_OK)
			return rc;
		stop = cb(c, arg);
		issuance_cert_free(c);
		c = NULL;
		if (stop != 0)
			return CA_OK;
	}
	if (step != SQLITE_DONE)
		rc = ilog_db_err(cache->db, cache->path,
		    "list certificates");
	return rc;
}

int
ilog_db_foreach(struct ilog_cache *cache, issuance_cert_cb cb, void *arg)
{
	sqlite3_stmt *st = NULL;
	int rc;

	/* Same columns as ILOG_CERT_COLUMNS, with NULL in place of der. */
	if ((rc = ilog_prep(cache, &st, "SELECT serial, issuer_key_id, "
	    "subject, names, not_before, not_after, NULL, status, "
	    "revoked_at, revocation_reason, requester, attestation, "
	    "evidence, token_id, created_at, issued_at, request_hash, "
	    "profile FROM certificates ORDER BY id")) != CA_OK)
		return rc;
	rc = ilog_cert_rows(cache, st, cb, arg);
	ilog_done(st);
	return rc;
}

int
issuance_log_reader_crl_number(struct issuance_log_reader *r, int64_t *out,
    const uint8_t *issuer_key_id, size_t issuer_key_id_len)
{
	return ilog_db_crl_number(&r->cache, out, issuer_key_id,
	    issuer_key_id_len);
}

int
issuance_log_reader_verify(struct issuance_log_reader *r,
    struct issuance_verify_report *report)
{
	return ilog_chain_verify(&r->cache, report);
}
