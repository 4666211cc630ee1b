/* SPDX-License-Identifier: ISC */
/*
 * issuance_log_selector: the selectors stored with each certificate
 * (table certificate_selectors, schema 5). A selector is a typed fact an
 * attestor established about the requester, "kind:fact:value" such as
 * "token:id:3f9a..." or "x509pop:sha256:...". They are written in the
 * certificate's own transaction (a renewal also gets its parent's), found
 * by selector through the table's primary key, and revoked by selector in
 * one transaction with a "revoke" chain entry per certificate. They are
 * derived data and not chained: the evidence digest they come from is
 * (docs/issuance-log.md, "Selectors").
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ca_error.h"
#include "log/issuance_log.h"
#include "log/issuance_log_int.h"

/* utf8_len returns the length of the UTF-8 sequence at p, 0 if invalid. */
static size_t
utf8_len(const unsigned char *p, size_t left)
{
	size_t n, i;
	unsigned long c;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4;
	else
		return 0;
	if (n > left)
		return 0;
	c = p[0] & (0x7f >> n);
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (p[i] & 0x3f);
	}
	/* Overlong forms, surrogates, beyond U+10FFFF, C1 controls. */
	if ((n == 3 && c < 0x800) || (n == 4 && c < 0x10000) ||
	    (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff ||
	    (c >= 0x80 && c <= 0x9f))
		return 0;
	return n;
}

/* name_len returns the length of a kind or fact ending at ':', 0 if bad. */
static size_t
name_len(const char *s)
{
	size_t n;

	for (n = 0; s[n] != ':'; n++)
		if (!((s[n] >= 'a' && s[n] <= 'z') ||
		    (s[n] >= '0' && s[n] <= '9') || s[n] == '-') ||
		    n == ISSUANCE_LOG_SELECTOR_NAME_MAX)
			return 0;
	return n;
}

int
issuance_selector_check(const char *s)
{
	char shown[64];
	size_t len, i, n, k, f;

	if (s == NULL)
		return ca_error(CA_ERR_INVALID, "selector: missing");
	/* What is printable of it, for the message. */
	for (i = 0, n = 0; s[i] != '\0' && n + 1 < sizeof(shown); i++)
		if ((unsigned char)s[i] >= 0x20 && (unsigned char)s[i] < 0x7f)
			shown[n++] = s[i];
	shown[n] = '\0';
	if ((len = strlen(s)) > ISSUANCE_LOG_SELECTOR_MAX)
		return ca_error(CA_ERR_INVALID, "selector \"%s...\": %zu bytes, "
		    "more than the limit of %d", shown, len,
		    ISSUANCE_LOG_SELECTOR_MAX);
	if ((k = name_len(s)) == 0 || (f = name_len(s + k + 1)) == 0 ||
	    s[k + 1 + f + 1] == '\0')
		return ca_error(CA_ERR_INVALID, "selector \"%s\": not of the "
		    "form kind:fact:value (kind and fact: 1 to %d of a-z, "
		    "0-9, '-'; a value after them), e.g. token:id:t-8f3a19c2",
		    shown, ISSUANCE_LOG_SELECTOR_NAME_MAX);
	for (i = 0; i < len; i += n) {
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] == 0x7f)
			return ca_error(CA_ERR_INVALID, "selector \"%s\": "
			    "control character 0x%02x at byte %zu", shown,
			    (unsigned char)s[i], i);
		if ((n = utf8_len((const unsigned char *)s + i, len - i)) == 0)
			return ca_error(CA_ERR_INVALID, "selector \"%s\": not "
			    "valid UTF-8 at byte %zu", shown, i);
	}
	return CA_OK;
}

int
ilog_selectors_record(struct ilog_cache *c,
    const struct issuance_completion *req)
{
	sqlite3_stmt *st = NULL;
	size_t i;
	int rc = CA_OK;

	for (i = 0; i < req->nselectors; i++) {
		if ((rc = ilog_prep(c, &st, "INSERT OR IGNORE INTO "
		    "certificate_selectors (serial, selector, inherited) "
		    "VALUES (?, ?, 0)")) != CA_OK)
			goto out;
		sqlite3_bind_blob(st, 1, req->cert->serial,
		    ISSUANCE_LOG_SERIAL_LEN, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, req->selectors[i], -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE) {
			rc = ilog_db_err(c->db, c->path, "record selector");
			goto out;
		}
		ilog_done(st);
		st = NULL;
	}
	if (req->parent_serial == NULL)
		goto out;
	/*
	 * A renewal carries the selectors of the evidence the chain of
	 * renewals started from: what its parent inherited, and the parent's
	 * own when the parent was not itself a renewal. A renewal's own
	 * (x509pop:renewed-serial:, ...) are not passed on, so a certificate
	 * renewed daily for years still has a handful of rows.
	 */
	if ((rc = ilog_prep(c, &st, "INSERT OR IGNORE INTO "
	    "certificate_selectors (serial, selector, inherited) "
	    "SELECT ?1, s.selector, 1 FROM certificate_selectors s "
	    "JOIN certificates p ON p.serial = s.serial WHERE s.serial = ?2 "
	    "AND (s.inherited = 1 OR p.parent_serial IS NULL)")) != CA_OK)
		goto out;
	sqlite3_bind_blob(st, 1, req->cert->serial, ISSUANCE_LOG_SERIAL_LEN,
	    SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, req->parent_serial, ISSUANCE_LOG_SERIAL_LEN,
	    SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = ilog_db_err(c->db, c->path, "inherit selectors");
 out:
	ilog_done(st);
	return rc;
}

int
ilog_selectors_load(struct ilog_cache *c, struct issuance_cert *cert)
{
	sqlite3_stmt *st = NULL;
	char **v = NULL, **grown;
	size_t n = 0, cap = 0;
	int rc, step;

	if ((rc = ilog_prep(c, &st, "SELECT selector FROM "
	    "certificate_selectors WHERE serial = ? ORDER BY selector")) !=
	    CA_OK)
		return rc;
	sqlite3_bind_blob(st, 1, cert->serial, ISSUANCE_LOG_SERIAL_LEN,
	    SQLITE_STATIC);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap == 0 ? 8 : 2 * cap;
			if ((grown = reallocarray(v, cap, sizeof(*v))) ==
			    NULL)
				goto nomem;
			v = grown;
		}
		if ((v[n] = strdup((const char *)sqlite3_column_text(st, 0)))
		    == NULL)
			goto nomem;
		n++;
	}
	if (step != SQLITE_DONE) {
		rc = ilog_db_err(c->db, c->path, "read selectors");
		goto out;
	}
	cert->selectors = v;
	cert->nselectors = n;
	v = NULL;
	n = 0;
	rc = CA_OK;
	goto out;
 nomem:
	rc = ca_error(CA_ERR_NOMEM, "issuance log: out of memory");
 out:
	ilog_done(st);
	while (n > 0)
		free(v[--n]);
	free(v);
	return rc;
}

/* The rows of ILOG_CERT_COLUMNS, without the DER, that carry a selector. */
#define SELECTOR_ROWS \
	"SELECT c.serial, c.issuer_key_id, c.subject, c.names, " \
	"c.not_before, c.not_after, NULL, c.status, c.revoked_at, " \
	"c.revocation_reason, c.requester, c.attestation, c.evidence, " \
	"c.token_id, c.created_at, c.issued_at, c.request_hash, c.profile " \
	"FROM certificate_selectors s JOIN certificates c " \
	"ON c.serial = s.serial WHERE s.selector = ? ORDER BY c.id"

int
issuance_log_foreach_selector(struct issuance_log *log, const char *selector,
    issuance_cert_cb cb, void *arg)
{
	struct ilog_rconn *r;
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = issuance_selector_check(selector)) != CA_OK)
		return rc;
	if ((rc = ilog_rconn_get(log, &r)) != CA_OK)
		return rc;
	if ((rc = ilog_prep(&r->cache, &st, SELECTOR_ROWS)) == CA_OK) {
		sqlite3_bind_text(st, 1, selector, -1, SQLITE_STATIC);
		rc = ilog_cert_rows(&r->cache, st, cb, arg);
	}
	ilog_done(st);
	ilog_rconn_put(log, r);
	return rc;
}

/* issued_with lists the serials of the issued certificates with selector. */
static int
issued_with(struct ilog_cache *c, const char *selector, uint8_t **out,
    size_t *count)
{
	sqlite3_stmt *st = NULL;
	uint8_t *v = NULL, *grown;
	size_t n = 0, cap = 0;
	int rc, step;

	*out = NULL;
	*count = 0;
	if ((rc = ilog_prep(c, &st, "SELECT c.serial FROM "
	    "certificate_selectors s JOIN certificates c ON c.serial = "
	    "s.serial WHERE s.selector = ? AND c.status = 'issued' "
	    "ORDER BY c.id")) != CA_OK)
		return rc;
	sqlite3_bind_text(st, 1, selector, -1, SQLITE_STATIC);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (sqlite3_column_bytes(st, 0) != ISSUANCE_LOG_SERIAL_LEN) {
			rc = ca_error(CA_ERR_DB, "%s: a serial is not %d "
			    "bytes", c->path, ISSUANCE_LOG_SERIAL_LEN);
			goto out;
		}
		if (n == cap) {
			cap = cap == 0 ? 16 : 2 * cap;
			if ((grown = reallocarray(v, cap,
			    ISSUANCE_LOG_SERIAL_LEN)) == NULL) {
				rc = ca_error(CA_ERR_NOMEM, "%s: out of memory",
				    c->path);
				goto out;
			}
			v = grown;
		}
		memcpy(v + n * ISSUANCE_LOG_SERIAL_LEN,
		    sqlite3_column_blob(st, 0), ISSUANCE_LOG_SERIAL_LEN);
		n++;
	}
	if (step != SQLITE_DONE) {
		rc = ilog_db_err(c->db, c->path, "find by selector");
		goto out;
	}
	*out = v;
	*count = n;
	v = NULL;
	rc = CA_OK;
 out:
	ilog_done(st);
	free(v);
	return rc;
}

int
issuance_log_revoke_selector(struct issuance_log *log, const char *selector,
    int reason, size_t *count, uint8_t **serials)
{
	uint8_t *v = NULL;
	char what[ISSUANCE_LOG_SELECTOR_MAX + 16];
	int64_t now;
	size_t n = 0, i;
	int rc, changed, began = 0, committed = 0;

	*count = 0;
	if (serials != NULL)
		*serials = NULL;
	if ((rc = issuance_selector_check(selector)) != CA_OK)
		return rc;
	snprintf(what, sizeof(what), "selector %s", selector);
	if ((rc = ilog_reason_check(what, reason)) != CA_OK ||
	    (rc = ilog_writable(log)) != CA_OK)
		return rc;
	pthread_mutex_lock(&log->db_mtx);
	now = ilog_now(log);
	if ((rc = ilog_run(&log->cache, "BEGIN IMMEDIATE")) != CA_OK)
		goto out;
	began = 1;
	/* Inside the write transaction: no completion can slip in between. */
	if ((rc = issued_with(&log->cache, selector, &v, &n)) != CA_OK)
		goto out;
	for (i = 0; i < n; i++) {
		if ((rc = ilog_revoke_row(&log->cache,
		    v + i * ISSUANCE_LOG_SERIAL_LEN, now, reason, &changed)) !=
		    CA_OK)
			goto out;
		if (changed != 1) {
			rc = ca_error(CA_ERR_INTERNAL, "%s: a certificate "
			    "with selector %s changed while it was revoked",
			    log->path, selector);
			goto out;
		}
	}
	if (n == 0) {
		/* Nothing to write: end the transaction without a sync. */
		rc = ilog_run(&log->cache, "COMMIT");
		began = rc != CA_OK;
		goto out;
	}
	if ((rc = ilog_run(&log->cache, "COMMIT")) != CA_OK)
		goto out;
	began = 0;
	committed = 1;
 out:
	rc = ilog_write_end(log, began, committed, rc);
	if (rc != CA_OK) {
		free(v);
		return ilog_full_err(log->path, rc, "no certificate with "
		    "selector %s was revoked", selector);
	}
	*count = n;
	if (serials != NULL)
		*serials = v;
	else
		free(v);
	return CA_OK;
}
