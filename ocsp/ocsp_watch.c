/* SPDX-License-Identifier: ISC */
/*
 * ocsp_watch: carapace-ocsp's view of the issuance log, and the threads
 * that keep the response cache true to it.
 *
 * Status lookups go through one read-only issuance_log_reader, shared
 * under a mutex (a reader belongs to one thread at a time); only cache
 * misses reach it.
 *
 * The watcher owns a second read-only SQLite connection. Every poll_ms it
 * asks PRAGMA data_version, which changes when another connection (the
 * issuer) committed; that costs no I/O beyond the shared-memory index. On
 * a change it bumps the cache generation (answers looked up before are not
 * stored, and "unknown" answers are dropped), reads the events appended
 * since the last sequence number it saw ("issue" and "revoke" entries name
 * a serial, docs/issuance-log.md), and re-signs every cached response for
 * those serials. A revocation is therefore served within poll_ms plus the
 * time to sign its responses. A response that cannot be re-signed then
 * (the HSM gone) is marked unusable in the cache, so that requests for it
 * are answered live (tryLater while the HSM is away) and never with the
 * old status; the next poll tries to re-sign it again.
 *
 * The refresher re-signs responses whose thisUpdate is older than
 * "refresh", well before their nextUpdate. The presigner, at start, signs
 * the SHA-1 CertID response of every certificate in the log.
 *
 * The signer thread (ocsp_watch_signers) looks at every issuer's signing
 * certificate each OCSP_SIGNER_POLL_MS, and at once after SIGHUP
 * (ocsp_watch_kick): a changed responder_cert file is read and, when it
 * holds a valid renewal, swapped in (ocsp_signer_reload), and the cached
 * responses signed under the old certificate are re-signed; the state of
 * each signer (valid, expiring soon, expired) is logged as it changes.
 * While a signer is outside its validity, nothing is re-signed under it
 * (ocsp_respond answers tryLater); the entries whose status changed
 * meanwhile are marked unusable as when the HSM is away.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "common/ca_error.h"
#include "common/log.h"
#include "ocsp/ocsp_responder.h"

struct ocsp_watch {
	struct issuance_log_reader *reader;
	pthread_mutex_t rlock;
	sqlite3 *db;
	sqlite3_stmt *st_version;
	sqlite3_stmt *st_events;
	int64_t last_seq;
	int64_t data_version;
	enum ocsp_unissued unissued;
	struct ocsp_responder *r;
	long poll_ms;
	long refresh;
	long signer_warn;
	int presign;
	atomic_int stop;
	atomic_int kick;
	int started;
	pthread_t t_watch, t_refresh, t_signer, t_presign;
};

static int
db_int(sqlite3 *db, const char *sql, int64_t *out)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return ca_error(CA_ERR_DB, "issuance log: %s: %s", sql,
		    sqlite3_errmsg(db));
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return ca_error(CA_ERR_DB, "issuance log: %s: %s", sql,
		    sqlite3_errmsg(db));
	}
	*out = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return CA_OK;
}

int
ocsp_watch_open(struct ocsp_watch **out, const char *path,
    enum ocsp_unissued unissued)
{
	struct ocsp_watch *w;
	int rc = CA_ERR_INTERNAL;

	*out = NULL;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return ca_error(CA_ERR_NOMEM, "out of memory");
	pthread_mutex_init(&w->rlock, NULL);
	w->unissued = unissued;
	if ((rc = issuance_log_reader_open(&w->reader, path)) != CA_OK)
		goto out;
	if (sqlite3_open_v2(path, &w->db, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK) {
		rc = ca_error(CA_ERR_DB, "%s: %s", path, w->db != NULL ?
		    sqlite3_errmsg(w->db) : "cannot open");
		goto out;
	}
	sqlite3_busy_timeout(w->db, 1000);
	if (sqlite3_prepare_v2(w->db, "PRAGMA data_version", -1,
	    &w->st_version, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(w->db, "SELECT seq, serial FROM events "
	    "WHERE seq > ?1 ORDER BY seq", -1, &w->st_events, NULL) !=
	    SQLITE_OK) {
		rc = ca_error(CA_ERR_DB, "%s: %s", path,
		    sqlite3_errmsg(w->db));
		goto out;
	}
	if ((rc = db_int(w->db, "SELECT coalesce(max(seq), 0) FROM events",
	    &w->last_seq)) != CA_OK ||
	    (rc = db_int(w->db, "PRAGMA data_version", &w->data_version))
	    != CA_OK)
		goto out;
	*out = w;
	w = NULL;
	rc = CA_OK;
 out:
	ocsp_watch_free(w);
	return rc;
}

int
ocsp_watch_status(struct ocsp_status *out, const struct ocsp_issuer *iss,
    const uint8_t *serial, size_t serial_len, void *arg)
{
	struct ocsp_watch *w = arg;
	struct issuance_cert *c = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	out->state = OCSP_STATE_UNKNOWN;
	if (serial_len != ISSUANCE_LOG_SERIAL_LEN)
		return CA_OK;
	pthread_mutex_lock(&w->rlock);
	rc = issuance_log_reader_find(w->reader, &c, serial);
	pthread_mutex_unlock(&w->rlock);
	if (rc == CA_ERR_NOT_FOUND)
		return CA_OK;
	if (rc != CA_OK)
		return rc;
	if (ocsp_issuer_owns(iss, c->issuer_key_id, c->issuer_key_id_len)) {
		switch (c->status) {
		case ISSUANCE_ISSUED:
			out->state = OCSP_STATE_GOOD;
			break;
		case ISSUANCE_REVOKED:
			out->state = OCSP_STATE_REVOKED;
			out->revoked_at = c->revoked_at;
			out->reason = c->reason;
			break;
		default:
			out->state = OCSP_STATE_UNISSUED;
			break;
		}
	}
	issuance_cert_free(c);
	return CA_OK;
}

/* nap sleeps ms milliseconds in short steps; returns 1 when told to stop. */
static int
nap(struct ocsp_watch *w, long ms)
{
	struct timespec ts;
	long step;

	while (ms > 0 && !atomic_load(&w->stop)) {
		step = ms > 50 ? 50 : ms;
		ts.tv_sec = 0;
		ts.tv_nsec = step * 1000000L;
		while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
			;
		ms -= step;
	}
	return atomic_load(&w->stop);
}

/*
 * resign: re-sign the n responses of v; CA_OK, or the last failure. With
 * invalidate (the serial's status changed), a response that could not be
 * re-signed is marked unusable, so that its old answer is not served.
 */
static int
resign(struct ocsp_watch *w, struct ocsp_stale *v, size_t n, int invalidate,
    const char *why)
{
	size_t i, bad = 0;
	int rc, last = CA_OK;

	for (i = 0; i < n && !atomic_load(&w->stop); i++)
		if ((rc = ocsp_respond_refresh(w->r, v[i].key, v[i].key_len,
		    v[i].issuer)) != CA_OK) {
			if (invalidate)
				(void)ocsp_cache_invalidate(w->r->cache,
				    v[i].key, v[i].key_len);
			/* An unusable signer: the signer thread says so. */
			if (rc == CA_ERR_EXPIRED)
				continue;
			bad++;
			last = rc;
		}
	if (bad > 0)
		log_ca_err(last, why);
	return last;
}

static int
serial_cmp(const void *a, const void *b)
{
	return memcmp(a, b, ISSUANCE_LOG_SERIAL_LEN);
}

/*
 * check_log: one poll. Returns CA_OK or a ca_err that is logged. The new
 * data_version and last sequence number are kept only once every event
 * was read and every response it touches re-signed: on any failure the
 * old ones stay, so the next poll reads the same events again rather than
 * leave a revoked serial's "good" response in the cache.
 */
static int
check_log(struct ocsp_watch *w)
{
	uint8_t (*serials)[ISSUANCE_LOG_SERIAL_LEN] = NULL, (*ns)[16];
	struct ocsp_stale *v = NULL;
	size_t n = 0, cap = 0, nv = 0, i, j;
	int64_t dv, seq = w->last_seq;
	int step, rc = CA_ERR_INTERNAL;

	sqlite3_reset(w->st_version);
	if (sqlite3_step(w->st_version) != SQLITE_ROW) {
		rc = ca_error(CA_ERR_DB, "PRAGMA data_version: %s",
		    sqlite3_errmsg(w->db));
		goto out;
	}
	dv = sqlite3_column_int64(w->st_version, 0);
	sqlite3_reset(w->st_version);
	if (dv == w->data_version)
		return CA_OK;
	(void)ocsp_cache_bump(w->r->cache);
	sqlite3_reset(w->st_events);
	sqlite3_bind_int64(w->st_events, 1, w->last_seq);
	while ((step = sqlite3_step(w->st_events)) == SQLITE_ROW) {
		seq = sqlite3_column_int64(w->st_events, 0);
		if (sqlite3_column_bytes(w->st_events, 1) !=
		    ISSUANCE_LOG_SERIAL_LEN)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			if ((ns = reallocarray(serials, cap, sizeof(*serials)))
			    == NULL) {
				rc = ca_error(CA_ERR_NOMEM, "out of memory");
				goto out;
			}
			serials = ns;
		}
		memcpy(serials[n++], sqlite3_column_blob(w->st_events, 1),
		    ISSUANCE_LOG_SERIAL_LEN);
	}
	if (step != SQLITE_DONE) {
		rc = ca_error(CA_ERR_DB, "issuance log events: %s",
		    sqlite3_errmsg(w->db));
		goto out;
	}
	sqlite3_reset(w->st_events);
	if (n > 0) {
		qsort(serials, n, ISSUANCE_LOG_SERIAL_LEN, serial_cmp);
		for (i = j = 1; i < n; i++)
			if (memcmp(serials[i], serials[j - 1],
			    ISSUANCE_LOG_SERIAL_LEN) != 0)
				memcpy(serials[j++], serials[i],
				    ISSUANCE_LOG_SERIAL_LEN);
		n = j;
		if ((rc = ocsp_cache_collect(w->r->cache, &v, &nv,
		    (const uint8_t (*)[ISSUANCE_LOG_SERIAL_LEN])serials, n, 0))
		    != CA_OK)
			goto out;
		if ((rc = resign(w, v, nv, 1,
		    "re-signing after a log change")) !=
		    CA_OK)
			goto out;
		if (atomic_load(&w->stop)) {
			rc = CA_OK;	/* cut short: nothing to commit */
			goto out;
		}
		log_debug("log changed: %zu serials, %zu responses re-signed",
		    n, nv);
	}
	w->data_version = dv;
	w->last_seq = seq;
	rc = CA_OK;
 out:
	sqlite3_reset(w->st_events);
	ocsp_stale_free(v, nv);
	free(serials);
	return rc;
}

int
ocsp_watch_poll(struct ocsp_watch *w, struct ocsp_responder *r)
{
	w->r = r;
	return check_log(w);
}

static void *
watch_main(void *arg)
{
	struct ocsp_watch *w = arg;
	int rc, failing = 0;

	while (!nap(w, w->poll_ms)) {
		if ((rc = check_log(w)) != CA_OK) {
			if (!failing)
				log_ca_err(rc, "watching the issuance log");
			failing = 1;
		} else
			failing = 0;
	}
	return NULL;
}

static void *
refresh_main(void *arg)
{
	struct ocsp_watch *w = arg;
	struct ocsp_stale *v;
	size_t n;
	long period = w->refresh * 1000 / 8;
	int rc;

	if (period > 30000)
		period = 30000;
	while (!nap(w, period)) {
		if ((rc = ocsp_cache_collect(w->r->cache, &v, &n, NULL, 0,
		    time(NULL) - w->refresh)) != CA_OK) {
			log_ca_err(rc, "refresh");
			continue;
		}
		(void)resign(w, v, n, 0, "re-signing before nextUpdate");
		if (n > 0)
			log_debug("refreshed %zu responses", n);
		ocsp_stale_free(v, n);
	}
	return NULL;
}

enum ocsp_signer_state
ocsp_watch_signers(struct ocsp_watch *w, struct ocsp_responder *r,
    time_t now, long warn, int force)
{
	struct ocsp_issuer *iss;
	struct ocsp_stale *v;
	enum ocsp_signer_state st, worst = OCSP_SIGNER_OK;
	size_t i, n;
	int swapped, rc;

	w->r = r;
	for (i = 0; i < r->nissuers; i++) {
		iss = r->issuers[i];
		if ((rc = ocsp_signer_reload(iss, &swapped, now, force)) !=
		    CA_OK) {
			if (!iss->reload_failing)
				log_ca_err(rc, "renewed signer refused");
			iss->reload_failing = 1;
		} else if (swapped) {
			iss->reload_failing = 0;
			log_info("[%s] responder_cert %s: renewed signing "
			    "certificate in use", iss->name,
			    iss->responder_path);
		}
		st = ocsp_signer_report(iss, now, warn, 0);
		if (st > worst)
			worst = st;
		if (!swapped || r->cache == NULL)
			continue;
		/* Entries under the old signer: the only stale-gen ones. */
		if ((rc = ocsp_cache_collect(r->cache, &v, &n, NULL, 0, 0)) !=
		    CA_OK) {
			log_ca_err(rc, "collecting responses to re-sign");
			continue;
		}
		(void)resign(w, v, n, 0, "re-signing under the renewed signer");
		log_info("[%s] %zu cached responses re-signed under the "
		    "renewed certificate", iss->name, n);
		ocsp_stale_free(v, n);
	}
	return worst;
}

void
ocsp_watch_kick(struct ocsp_watch *w)
{
	if (w != NULL)
		atomic_store(&w->kick, 1);
}

static void *
signer_main(void *arg)
{
	struct ocsp_watch *w = arg;
	long waited;
	int force;

	while (!atomic_load(&w->stop)) {
		for (waited = 0; waited < OCSP_SIGNER_POLL_MS &&
		    !atomic_load(&w->kick); waited += 50)
			if (nap(w, 50))
				return NULL;
		force = atomic_exchange(&w->kick, 0);
		if (force)
			log_info("SIGHUP: reading every responder_cert again");
		(void)ocsp_watch_signers(w, w->r, time(NULL), w->signer_warn,
		    force);
	}
	return NULL;
}

struct presign_list {
	struct presign_item {
		uint8_t serial[ISSUANCE_LOG_SERIAL_LEN];
		size_t issuer;
	} *item;
	size_t n, cap;
	const struct ocsp_responder *r;
};

static int
presign_collect(const struct issuance_cert *c, void *arg)
{
	struct presign_list *l = arg;
	struct presign_item *ni;
	size_t i;

	for (i = 0; i < l->r->nissuers; i++) {
		if (!ocsp_issuer_owns(l->r->issuers[i], c->issuer_key_id,
		    c->issuer_key_id_len))
			continue;
		if (l->n == l->cap) {
			l->cap = l->cap ? l->cap * 2 : 1024;
			if ((ni = reallocarray(l->item, l->cap,
			    sizeof(*ni))) == NULL)
				return 1;
			l->item = ni;
		}
		memcpy(l->item[l->n].serial, c->serial,
		    ISSUANCE_LOG_SERIAL_LEN);
		l->item[l->n++].issuer = i;
	}
	return 0;
}

static void *
presign_main(void *arg)
{
	struct ocsp_watch *w = arg;
	struct presign_list l = { NULL, 0, 0, w->r };
	size_t i, bad = 0;
	int rc = CA_OK;
	time_t t0 = time(NULL);

	pthread_mutex_lock(&w->rlock);
	rc = issuance_log_reader_foreach(w->reader, presign_collect, &l);
	pthread_mutex_unlock(&w->rlock);
	if (rc != CA_OK) {
		log_ca_err(rc, "presign: listing the log");
		goto out;
	}
	for (i = 0; i < l.n && !atomic_load(&w->stop); i++)
		if ((rc = ocsp_respond_presign(w->r,
		    w->r->issuers[l.item[i].issuer], l.item[i].serial)) !=
		    CA_OK)
			bad++;
	if (bad > 0)
		log_ca_err(rc, "presign");
	log_info("presigned %zu responses in %lld s (%zu failed)", i - bad,
	    (long long)(time(NULL) - t0), bad);
 out:
	free(l.item);
	return NULL;
}

int
ocsp_watch_start(struct ocsp_watch *w, struct ocsp_responder *r,
    long poll_ms, long refresh, int presign, long signer_warn)
{
	w->r = r;
	w->poll_ms = poll_ms;
	w->refresh = refresh;
	w->presign = presign;
	w->signer_warn = signer_warn;
	if (r->cache == NULL)
		return ca_error(CA_ERR_USAGE, "ocsp_watch_start: no cache");
	if (pthread_create(&w->t_watch, NULL, watch_main, w) != 0)
		return ca_error(CA_ERR_INTERNAL, "cannot start the watcher");
	w->started = 1;
	if (pthread_create(&w->t_refresh, NULL, refresh_main, w) != 0) {
		ocsp_watch_stop(w);
		return ca_error(CA_ERR_INTERNAL, "cannot start the refresher");
	}
	w->started = 2;
	if (pthread_create(&w->t_signer, NULL, signer_main, w) != 0) {
		ocsp_watch_stop(w);
		return ca_error(CA_ERR_INTERNAL, "cannot start the signer "
		    "thread");
	}
	w->started = 3;
	if (presign) {
		if (pthread_create(&w->t_presign, NULL, presign_main, w) != 0) {
			ocsp_watch_stop(w);
			return ca_error(CA_ERR_INTERNAL, "cannot start the "
			    "presigner");
		}
		w->started = 4;
	}
	return CA_OK;
}

void
ocsp_watch_stop(struct ocsp_watch *w)
{
	if (w == NULL || w->started == 0)
		return;
	atomic_store(&w->stop, 1);
	pthread_join(w->t_watch, NULL);
	if (w->started >= 2)
		pthread_join(w->t_refresh, NULL);
	if (w->started >= 3)
		pthread_join(w->t_signer, NULL);
	if (w->started >= 4)
		pthread_join(w->t_presign, NULL);
	w->started = 0;
}

void
ocsp_watch_free(struct ocsp_watch *w)
{
	if (w == NULL)
		return;
	ocsp_watch_stop(w);
	sqlite3_finalize(w->st_version);
	sqlite3_finalize(w->st_events);
	if (w->db != NULL)
		sqlite3_close(w->db);
	issuance_log_reader_close(w->reader);
	pthread_mutex_destroy(&w->rlock);
	free(w);
}
