/* SPDX-License-Identifier: ISC */
/*
 * issuance_log_chain: the hash chain over the events table.
 *
 * Every entry (issue, revoke, token-create, token-consume, token-revoke)
 * is a row of events that commits to the previous entry and to the fields
 * of the certificate or token row it is about:
 *
 *   hash = SHA-256(prev_hash || F(seq) || F(kind) || F(time) ||
 *                  F(serial) || F(token_id) || F(field_1) || ... )
 *
 * where the fields are the columns that ilog_kind_sql lists for the kind,
 * read back from the row, and F is a typed, length-prefixed encoding:
 *   NULL     0x00
 *   INTEGER  0x01 || 8-byte big-endian two's complement
 *   TEXT     0x02 || 4-byte big-endian length || UTF-8 bytes
 *   BLOB     0x03 || 4-byte big-endian length || bytes
 *   REAL     0x04 || 8-byte big-endian IEEE 754 bits
 * The first entry has seq 1 and a prev_hash of 32 zero bytes. The fields
 * are read back from the database both when appending and when verifying,
 * so the two can never disagree about the encoding. docs/issuance-log.md
 * spells this out for auditors.
 */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "common/ca_error.h"
#include "log/issuance_log.h"
#include "log/issuance_log_int.h"

struct kind_sql {
	const char *kind;
	const char *sql;	/* one parameter: serial or token id */
	int by_serial;
};

/* The fields each kind of entry commits to, in order. */
static const struct kind_sql kinds[] = {
	{ ILOG_EV_ISSUE, "SELECT serial, issuer_key_id, subject, names, "
	    "not_before, not_after, der, requester, attestation, evidence, "
	    "token_id, issued_at FROM certificates WHERE serial = ?", 1 },
	{ ILOG_EV_REVOKE, "SELECT serial, revoked_at, revocation_reason "
	    "FROM certificates WHERE serial = ?", 1 },
	{ ILOG_EV_TOKEN_CREATE, "SELECT id, secret_hash, identity, "
	    "allowed_names, profile, expires_at, created_at FROM join_tokens "
	    "WHERE id = ?", 0 },
	{ ILOG_EV_TOKEN_CONSUME, "SELECT id, used_at, used_serial "
	    "FROM join_tokens WHERE id = ?", 0 },
	{ ILOG_EV_TOKEN_REVOKE, "SELECT id, revoked_at FROM join_tokens "
	    "WHERE id = ?", 0 },
};

static const struct kind_sql *
kind_find(const char *kind)
{
	size_t i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (kind != NULL && strcmp(kinds[i].kind, kind) == 0)
			return &kinds[i];
	return NULL;
}

static int
enc_int(EVP_MD_CTX *h, int64_t v)
{
	uint8_t b[9];
	uint64_t u = (uint64_t)v;
	int i;

	b[0] = 0x01;
	for (i = 0; i < 8; i++)
		b[1 + i] = (uint8_t)(u >> (56 - 8 * i));
	return EVP_DigestUpdate(h, b, sizeof(b));
}

static int
enc_bytes(EVP_MD_CTX *h, uint8_t tag, const void *p, size_t n)
{
	uint8_t b[5];

	b[0] = tag;
	b[1] = (uint8_t)(n >> 24);
	b[2] = (uint8_t)(n >> 16);
	b[3] = (uint8_t)(n >> 8);
	b[4] = (uint8_t)n;
	return EVP_DigestUpdate(h, b, sizeof(b)) &&
	    (n == 0 || EVP_DigestUpdate(h, p, n));
}

static int
enc_null(EVP_MD_CTX *h)
{
	uint8_t b = 0x00;

	return EVP_DigestUpdate(h, &b, 1);
}

static int
enc_column(EVP_MD_CTX *h, sqlite3_stmt *st, int i)
{
	uint8_t b[9];
	uint64_t u;
	double d;
	int k;

	switch (sqlite3_column_type(st, i)) {
	case SQLITE_INTEGER:
		return enc_int(h, sqlite3_column_int64(st, i));
	case SQLITE_TEXT:
		return enc_bytes(h, 0x02, sqlite3_column_text(st, i),
		    (size_t)sqlite3_column_bytes(st, i));
	case SQLITE_BLOB:
		return enc_bytes(h, 0x03, sqlite3_column_blob(st, i),
		    (size_t)sqlite3_column_bytes(st, i));
	case SQLITE_FLOAT:
		d = sqlite3_column_double(st, i);
		memcpy(&u, &d, sizeof(u));
		b[0] = 0x04;
		for (k = 0; k < 8; k++)
			b[1 + k] = (uint8_t)(u >> (56 - 8 * k));
		return EVP_DigestUpdate(h, b, sizeof(b));
	default:
		return enc_null(h);
	}
}

/*
 * entry_hash computes an entry's hash into out. *missing is set when the
 * row the entry is about does not exist (CA_OK is still returned).
 */
static int
entry_hash(struct ilog_cache *c, uint8_t out[ISSUANCE_LOG_HASH_LEN],
    const uint8_t prev[ISSUANCE_LOG_HASH_LEN], int64_t seq, const char *kind,
    int64_t time, const uint8_t *serial, const char *token_id, int *missing)
{
	const struct kind_sql *k;
	EVP_MD_CTX *h = NULL;
	sqlite3_stmt *st = NULL;
	unsigned int len;
	int rc = CA_ERR_INTERNAL, step, i, n;

	*missing = 0;
	if ((k = kind_find(kind)) == NULL)
		return ca_error(CA_ERR_VERIFY, "%s: entry %" PRId64 ": unknown "
		    "kind", c->path, seq);
	if ((k->by_serial && serial == NULL) ||
	    (!k->by_serial && token_id == NULL)) {
		*missing = 1;
		return CA_OK;
	}
	if ((h = EVP_MD_CTX_new()) == NULL ||
	    !EVP_DigestInit_ex(h, EVP_sha256(), NULL) ||
	    !EVP_DigestUpdate(h, prev, ISSUANCE_LOG_HASH_LEN) ||
	    !enc_int(h, seq) ||
	    !enc_bytes(h, 0x02, kind, strlen(kind)) ||
	    !enc_int(h, time) ||
	    !(serial != NULL ? enc_bytes(h, 0x03, serial,
	    ISSUANCE_LOG_SERIAL_LEN) : enc_null(h)) ||
	    !(token_id != NULL ? enc_bytes(h, 0x02, token_id,
	    strlen(token_id)) : enc_null(h))) {
		rc = ca_error_openssl(CA_ERR_INTERNAL, "%s: SHA-256", c->path);
		goto out;
	}
	if ((rc = ilog_prep(c, &st, k->sql)) != CA_OK)
		goto out;
	if (k->by_serial)
		sqlite3_bind_blob(st, 1, serial, ISSUANCE_LOG_SERIAL_LEN,
		    SQLITE_STATIC);
	else
		sqlite3_bind_text(st, 1, token_id, -1, SQLITE_STATIC);
	step = sqlite3_step(st);
	if (step == SQLITE_DONE) {
		*missing = 1;
		rc = CA_OK;
		goto out;
	}
	if (step != SQLITE_ROW) {
		rc = ilog_db_err(c->db, c->path, "read chained row");
		goto out;
	}
	n = sqlite3_column_count(st);
	for (i = 0; i < n; i++) {
		if (!enc_column(h, st, i)) {
			rc = ca_error_openssl(CA_ERR_INTERNAL, "%s: SHA-256",
			    c->path);
			goto out;
		}
	}
	if (!EVP_DigestFinal_ex(h, out, &len) || len != ISSUANCE_LOG_HASH_LEN) {
		rc = ca_error_openssl(CA_ERR_INTERNAL, "%s: SHA-256", c->path);
		goto out;
	}
	rc = CA_OK;
 out:
	ilog_done(st);
	EVP_MD_CTX_free(h);
	return rc;
}

int
ilog_chain_append(struct ilog_cache *c, const char *kind, int64_t now,
    const uint8_t *serial, const char *token_id)
{
	sqlite3_stmt *st = NULL;
	uint8_t prev[ISSUANCE_LOG_HASH_LEN], hash[ISSUANCE_LOG_HASH_LEN];
	int64_t seq = 0;
	int rc, step, missing;

	memset(prev, 0, sizeof(prev));
	if ((rc = ilog_prep(c, &st, "SELECT seq, hash FROM events "
	    "ORDER BY seq DESC LIMIT 1")) != CA_OK)
		return rc;
	step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		seq = sqlite3_column_int64(st, 0);
		if (sqlite3_column_bytes(st, 1) != ISSUANCE_LOG_HASH_LEN) {
			rc = ca_error(CA_ERR_VERIFY, "%s: entry %" PRId64 ": "
			    "hash is not 32 bytes", c->path, seq);
			goto out;
		}
		memcpy(prev, sqlite3_column_blob(st, 1), sizeof(prev));
	} else if (step != SQLITE_DONE) {
		rc = ilog_db_err(c->db, c->path, "read chain head");
		goto out;
	}
	ilog_done(st);
	st = NULL;
	seq++;
	if ((rc = entry_hash(c, hash, prev, seq, kind, now, serial, token_id,
	    &missing)) != CA_OK)
		goto out;
	if (missing) {
		rc = ca_error(CA_ERR_INTERNAL, "%s: %s entry for a row that "
		    "does not exist", c->path, kind);
		goto out;
	}
	if ((rc = ilog_prep(c, &st, "INSERT INTO events (seq, time, kind, "
	    "serial, token_id, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?)"))
	    != CA_OK)
		goto out;
	sqlite3_bind_int64(st, 1, seq);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_text(st, 3, kind, -1, SQLITE_STATIC);
	if (serial != NULL)
		sqlite3_bind_blob(st, 4, serial, ISSUANCE_LOG_SERIAL_LEN,
		    SQLITE_STATIC);
	if (token_id != NULL)
		sqlite3_bind_text(st, 5, token_id, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 6, prev, sizeof(prev), SQLITE_STATIC);
	sqlite3_bind_blob(st, 7, hash, sizeof(hash), SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		rc = ilog_db_err(c->db, c->path, "append chain entry");
		goto out;
	}
	rc = CA_OK;
 out:
	ilog_done(st);
	return rc;
}

/* What an entry is about, for messages: "issue 4f...", "token t-1". */
static void
entry_name(char *out, size_t len, const char *kind, const uint8_t *serial,
    const char *token_id)
{
	char hex[2 * ISSUANCE_LOG_SERIAL_LEN + 1];

	if (serial != NULL)
		snprintf(out, len, "%s, serial %s", kind,
		    ilog_hex(hex, serial, ISSUANCE_LOG_SERIAL_LEN));
	else
		snprintf(out, len, "%s, token %s", kind,
		    token_id != NULL ? token_id : "(none)");
}

/*
 * Rows whose state needs a chain entry that is not there, e.g. after the
 * last entries were deleted. Each query returns one offending row's name.
 */
static const struct {
	const char *sql;
	const char *noun;
	const char *what;
} orphans[] = {
	{ "SELECT lower(hex(serial)) FROM certificates c WHERE status IN "
	    "('issued', 'revoked') AND (SELECT count(*) FROM events e WHERE "
	    "e.serial = c.serial AND e.kind = 'issue') != 1 ORDER BY id "
	    "LIMIT 1", "certificate", "is issued but has no single issue "
	    "entry in the chain" },
	{ "SELECT lower(hex(serial)) FROM certificates c WHERE "
	    "status = 'revoked' AND (SELECT count(*) FROM events e WHERE "
	    "e.serial = c.serial AND e.kind = 'revoke') != 1 ORDER BY id "
	    "LIMIT 1", "certificate",
	    "is revoked but has no single revoke entry in the chain" },
	{ "SELECT id FROM join_tokens t WHERE (SELECT count(*) FROM events "
	    "e WHERE e.token_id = t.id AND e.kind = 'token-create') != 1 "
	    "ORDER BY rowid LIMIT 1", "token", "has no single token-create "
	    "entry in the chain" },
	{ "SELECT id FROM join_tokens t WHERE used_at IS NOT NULL AND "
	    "(SELECT count(*) FROM events e WHERE e.token_id = t.id AND "
	    "e.kind = 'token-consume') != 1 ORDER BY rowid LIMIT 1", "token",
	    "is used but has no single token-consume entry in the chain" },
	{ "SELECT id FROM join_tokens t WHERE revoked_at IS NOT NULL AND "
	    "(SELECT count(*) FROM events e WHERE e.token_id = t.id AND "
	    "e.kind = 'token-revoke') != 1 ORDER BY rowid LIMIT 1", "token",
	    "is revoked but has no single token-revoke entry in the chain" },
};

/* status_agrees checks that a certificate's status matches its entry. */
static int
status_agrees(struct ilog_cache *c, const char *kind, const uint8_t *serial,
    char *bad, size_t bad_len)
{
	sqlite3_stmt *st = NULL;
	const char *s;
	int rc;

	bad[0] = '\0';
	if (strcmp(kind, ILOG_EV_ISSUE) != 0 &&
	    strcmp(kind, ILOG_EV_REVOKE) != 0)
		return CA_OK;
	if ((rc = ilog_prep(c, &st, "SELECT status FROM certificates "
	    "WHERE serial = ?")) != CA_OK)
		return rc;
	sqlite3_bind_blob(st, 1, serial, ISSUANCE_LOG_SERIAL_LEN,
	    SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW) {
		rc = ilog_db_err(c->db, c->path, "read status");
		goto out;
	}
	s = (const char *)sqlite3_column_text(st, 0);
	if (s == NULL)
		s = "NULL";
	if (strcmp(kind, ILOG_EV_REVOKE) == 0 ? strcmp(s, "revoked") != 0 :
	    (strcmp(s, "issued") != 0 && strcmp(s, "revoked") != 0))
		snprintf(bad, bad_len, "the certificate's status is %s, "
		    "which contradicts this %s entry", s, kind);
 out:
	ilog_done(st);
	return rc;
}

static int
verify_fail(struct issuance_verify_report *rep, const char *path,
    int64_t seq, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int
verify_fail(struct issuance_verify_report *rep, const char *path,
    int64_t seq, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rep->what, sizeof(rep->what), fmt, ap);
	va_end(ap);
	rep->bad_seq = seq;
	return ca_error(CA_ERR_VERIFY, "%s: %s", path, rep->what);
}

int
ilog_chain_verify(struct ilog_cache *c, struct issuance_verify_report *rep)
{
	sqlite3_stmt *st = NULL, *o = NULL;
	uint8_t prev[ISSUANCE_LOG_HASH_LEN], hash[ISSUANCE_LOG_HASH_LEN];
	const uint8_t *serial;
	const char *kind, *token_id;
	char name[192], bad[160], kindbuf[32], tokbuf[128];
	uint8_t serialbuf[ISSUANCE_LOG_SERIAL_LEN];
	int64_t seq, expect = 1, time;
	size_t i;
	int rc, step, missing;

	memset(rep, 0, sizeof(*rep));
	memset(prev, 0, sizeof(prev));
	/* One read transaction: the walk sees a single snapshot. */
	if ((rc = ilog_run(c, "BEGIN")) != CA_OK)
		return rc;
	if ((rc = ilog_prep(c, &st, "SELECT seq, time, kind, serial, "
	    "token_id, prev_hash, hash FROM events ORDER BY seq")) != CA_OK)
		goto out;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		seq = sqlite3_column_int64(st, 0);
		time = sqlite3_column_int64(st, 1);
		kind = (const char *)sqlite3_column_text(st, 2);
		snprintf(kindbuf, sizeof(kindbuf), "%s",
		    kind != NULL ? kind : "?");
		serial = NULL;
		if (sqlite3_column_type(st, 3) != SQLITE_NULL) {
			if (sqlite3_column_bytes(st, 3) !=
			    ISSUANCE_LOG_SERIAL_LEN) {
				rc = verify_fail(rep, c->path, seq, "entry %"
				    PRId64 ": serial is not 16 bytes", seq);
				goto out;
			}
			memcpy(serialbuf, sqlite3_column_blob(st, 3),
			    sizeof(serialbuf));
			serial = serialbuf;
		}
		token_id = NULL;
		if (sqlite3_column_type(st, 4) != SQLITE_NULL) {
			snprintf(tokbuf, sizeof(tokbuf), "%s",
			    (const char *)sqlite3_column_text(st, 4));
			token_id = tokbuf;
		}
		entry_name(name, sizeof(name), kindbuf, serial, token_id);
		if (seq != expect) {
			rc = verify_fail(rep, c->path, expect, seq > expect ?
			    "entry %" PRId64 " is missing: the chain jumps "
			    "from %" PRId64 " to %" PRId64 : "entry %" PRId64
			    ": sequence out of order (%" PRId64 " after %"
			    PRId64 ")", expect, expect - 1, seq);
			goto out;
		}
		if (sqlite3_column_bytes(st, 5) != ISSUANCE_LOG_HASH_LEN ||
		    memcmp(sqlite3_column_blob(st, 5), prev, sizeof(prev))
		    != 0) {
			rc = verify_fail(rep, c->path, seq, "entry %" PRId64
			    " (%s): prev_hash does not match entry %" PRId64
			    "'s hash", seq, name, seq - 1);
			goto out;
		}
		if (kind_find(kindbuf) == NULL) {
			rc = verify_fail(rep, c->path, seq, "entry %" PRId64
			    ": unknown kind \"%s\"", seq, kindbuf);
			goto out;
		}
		if ((rc = entry_hash(c, hash, prev, seq, kindbuf, time,
		    serial, token_id, &missing)) != CA_OK)
			goto out;
		if (missing) {
			rc = verify_fail(rep, c->path, seq, "entry %" PRId64
			    " (%s): the %s row it records was removed", seq,
			    name, serial != NULL ? "certificate" : "token");
			goto out;
		}
		if (sqlite3_column_bytes(st, 6) != ISSUANCE_LOG_HASH_LEN ||
		    memcmp(sqlite3_column_blob(st, 6), hash, sizeof(hash))
		    != 0) {
			rc = verify_fail(rep, c->path, seq, "entry %" PRId64
			    " (%s): hash mismatch: the %s row or the entry "
			    "was altered after it was recorded", seq, name,
			    serial != NULL ? "certificate" : "token");
			goto out;
		}
		if ((rc = status_agrees(c, kindbuf, serial, bad,
		    sizeof(bad))) != CA_OK)
			goto out;
		if (bad[0] != '\0') {
			rc = verify_fail(rep, c->path, seq, "entry %" PRId64
			    " (%s): %s", seq, name, bad);
			goto out;
		}
		memcpy(prev, hash, sizeof(prev));
		rep->entries++;
		rep->head_seq = seq;
		memcpy(rep->head, hash, sizeof(hash));
		expect++;
	}
	if (step != SQLITE_DONE) {
		rc = ilog_db_err(c->db, c->path, "read chain");
		goto out;
	}
	for (i = 0; i < sizeof(orphans) / sizeof(orphans[0]); i++) {
		if ((rc = ilog_prep(c, &o, orphans[i].sql)) != CA_OK)
			goto out;
		step = sqlite3_step(o);
		if (step == SQLITE_ROW) {
			snprintf(tokbuf, sizeof(tokbuf), "%s",
			    (const char *)sqlite3_column_text(o, 0));
			/* -1: a row without its entry (entries removed). */
			rep->bad_seq = -1;
			snprintf(rep->what, sizeof(rep->what), "%s %s %s",
			    orphans[i].noun, tokbuf, orphans[i].what);
			rc = ca_error(CA_ERR_VERIFY, "%s: %s (the entries "
			    "after %" PRId64 " may have been removed)",
			    c->path, rep->what, rep->head_seq);
			goto out;
		}
		if (step != SQLITE_DONE) {
			rc = ilog_db_err(c->db, c->path, "cross-check");
			goto out;
		}
		ilog_done(o);
		o = NULL;
	}
	rc = CA_OK;
 out:
	ilog_done(o);
	ilog_done(st);
	(void)ilog_run(c, "COMMIT");
	return rc;
}
