/* SPDX-License-Identifier: ISC */
/*
 * crl_publish: one publication of a CRL, and the daemon loop around it.
 *
 * A publication reserves the next CRL number in the state file (durably,
 * before anything is signed), reads the revoked certificates from one
 * snapshot of the issuance log, builds and signs the CRL through hsm/,
 * checks it against that snapshot (crl_check), makes sure its number is
 * greater than the published CRL's, and replaces the DER and PEM files
 * atomically. See crl_publish_once in crl.h for the order and why.
 *
 * The daemon watches the log cheaply: PRAGMA data_version on its own
 * read-only connection tells whether anyone committed since the last
 * look, and only then a count of the issuer's revoked rows (through the
 * partial index certificates_revoked) tells whether a revocation arrived.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <sqlite3.h>

#include "common/ca_error.h"
#include "common/fileio.h"
#include "common/log.h"
#include "ocsp/crl.h"

#define BACKOFF_MAX	60	/* seconds between retries after a failure */

struct crl_publisher {
	const struct crl_config *cfg;
	struct crl_issuer iss;
	struct hsm *hsm;
	struct hsm_key *key;
	struct issuance_log_reader *reader;
	sqlite3 *watch;
	struct crl_list list;
};

static double
now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
hsm_signer(void *signer, hsm_sign_fn fn, void *arg)
{
	return hsm_key_sign(signer, fn, arg);
}

int
crl_publisher_open(struct crl_publisher **out, const struct crl_config *cfg)
{
	struct crl_publisher *p = NULL;
	struct hsm_config hc;
	EVP_PKEY *pub = NULL;
	int rc = CA_ERR_INTERNAL;

	*out = NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return ca_error(CA_ERR_NOMEM, "out of memory");
	p->cfg = cfg;
	if ((rc = crl_issuer_load(&p->iss, cfg->issuer_cert, cfg->digest)) !=
	    CA_OK)
		goto out;
	memset(&hc, 0, sizeof(hc));
	hc.module = cfg->mod.module;
	hc.init_args = cfg->mod.init_args;
	hc.allow_unsafe_keys = cfg->mod.allow_unsafe_keys;
	if ((rc = hsm_open(&p->hsm, &hc)) != CA_OK ||
	    (rc = hsm_key_open(&p->key, p->hsm, cfg->mod.key_uri,
	    cfg->mod.pin_source)) != CA_OK ||
	    (rc = hsm_key_public(&pub, p->key)) != CA_OK)
		goto out;
	module_config_warn(&cfg->mod, cfg->path, hsm_key_unsafe(p->key));
	log_info("key %s on %s", cfg->mod.key_uri,
	    hsm_key_token_ident(p->key));
	if (EVP_PKEY_eq(pub, p->iss.pub) != 1) {
		rc = ca_error(CA_ERR_CONFIG, "%s: [crl] key is not the key of "
		    "issuer_cert %s: its CRLs would not verify", cfg->path,
		    cfg->issuer_cert);
		goto out;
	}
	if ((rc = issuance_log_reader_open(&p->reader, cfg->log_path)) !=
	    CA_OK)
		goto out;
	*out = p;
	p = NULL;
	rc = CA_OK;
 out:
	EVP_PKEY_free(pub);
	crl_publisher_free(p);
	return rc;
}

void
crl_publisher_free(struct crl_publisher *p)
{
	if (p == NULL)
		return;
	if (p->watch != NULL)
		sqlite3_close(p->watch);
	issuance_log_reader_close(p->reader);
	hsm_free(p->hsm);	/* frees the key too */
	crl_issuer_clear(&p->iss);
	crl_list_clear(&p->list);
	free(p);
}

/* next_number: the number to reserve, or a refusal (see crl.h). */
static int
next_number(struct crl_publisher *p, int64_t *out)
{
	const struct crl_config *cfg = p->cfg;
	int64_t state = 0, logn = 0, pub = 0;
	int rc;

	*out = 0;
	if ((rc = issuance_log_reader_crl_number(p->reader, &logn, p->iss.kid,
	    p->iss.kid_len)) != CA_OK)
		return rc;
	rc = crl_published_number(&pub, cfg->der_path);
	if (rc == CA_ERR_NOT_FOUND)
		pub = 0;
	else if (rc != CA_OK)
		return rc;
	rc = crl_state_read(&state, cfg->state_path, p->iss.kid,
	    p->iss.kid_len);
	if (rc == CA_ERR_NOT_FOUND) {
		if (pub > 0)
			return ca_error(CA_ERR_POLICY, "%s: missing, but %s "
			    "carries CRL number %lld: refusing to guess the "
			    "last number used (restore the state file; see "
			    "carapace-crl(8))", cfg->state_path, cfg->der_path,
			    (long long)pub);
		state = 0;
	} else if (rc != CA_OK)
		return rc;
	if (state < pub)
		return ca_error(CA_ERR_POLICY, "%s: crl_number %lld is below "
		    "the published CRL's number %lld (%s): the state file "
		    "was rolled back or altered; refusing to publish a CRL "
		    "number that is not greater than the last one",
		    cfg->state_path, (long long)state, (long long)pub,
		    cfg->der_path);
	if (logn > state)
		state = logn;
	if (state >= INT64_MAX - 1)
		return ca_error(CA_ERR_POLICY, "%s: CRL numbers exhausted",
		    cfg->state_path);
	*out = state + 1;
	return CA_OK;
}

static int
write_pem(const char *path, const struct crl_blob *b)
{
	BIO *bio = NULL;
	char *data;
	long len;
	int rc = CA_ERR_INTERNAL;

	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    !PEM_write_bio(bio, PEM_STRING_X509_CRL, "", b->der,
	    (long)b->len) || (len = BIO_get_mem_data(bio, &data)) <= 0) {
		rc = ca_error_openssl(CA_ERR_INTERNAL, "%s: PEM encoding",
		    path);
		goto out;
	}
	rc = fileio_replace(path, data, (size_t)len, 0644);
 out:
	BIO_free(bio);
	return rc;
}

int
crl_publish_once(struct crl_publisher *p, int64_t now, struct crl_result *res)
{
	const struct crl_config *cfg = p->cfg;
	struct crl_blob blob = { NULL, NULL, 0 };
	struct crl_params params;
	struct crl_result r;
	int64_t pub = 0;
	double t0, t1;
	int rc = CA_ERR_INTERNAL;

	memset(&r, 0, sizeof(r));
	if ((rc = next_number(p, &params.number)) != CA_OK)
		goto out;
	/* Reserve the number durably before anything carries it. */
	if ((rc = crl_state_write(cfg->state_path, params.number, p->iss.kid,
	    p->iss.kid_len)) != CA_OK)
		goto out;
	params.this_update = now - cfg->backdate;
	params.next_update = now + cfg->next_update;

	t0 = now_mono();
	if ((rc = crl_list_load(&p->list, p->reader, &p->iss)) != CA_OK ||
	    (rc = crl_der_build(&blob, &p->iss, &params, &p->list, hsm_signer,
	    p->key)) != CA_OK)
		goto out;
	t1 = now_mono();
	r.build_s = t1 - t0;
	if ((rc = crl_check(blob.der, blob.len, &p->iss, &params, &p->list)) !=
	    CA_OK)
		goto out;
	t0 = now_mono();
	r.check_s = t0 - t1;

	/* The last word: never replace a CRL with one not numbered higher. */
	rc = crl_published_number(&pub, cfg->der_path);
	if (rc != CA_OK && rc != CA_ERR_NOT_FOUND)
		goto out;
	if (params.number <= pub) {
		rc = ca_error(CA_ERR_POLICY, "%s: carries CRL number %lld; "
		    "refusing to replace it with number %lld", cfg->der_path,
		    (long long)pub, (long long)params.number);
		goto out;
	}
	if ((rc = fileio_replace(cfg->der_path, blob.der, blob.len, 0644)) !=
	    CA_OK)
		goto out;
	if (cfg->pem_path != NULL &&
	    (rc = write_pem(cfg->pem_path, &blob)) != CA_OK)
		goto out;
	r.write_s = now_mono() - t0;
	r.number = params.number;
	r.entries = p->list.n;
	r.der_len = blob.len;
	if (res != NULL)
		*res = r;
	rc = CA_OK;
 out:
	crl_blob_free(&blob);
	/* A million entries are 32 MB: do not keep them between runs. */
	crl_list_clear(&p->list);
	return rc;
}

/* --- the daemon --- */

static int
watch_open(struct crl_publisher *p)
{
	if (p->watch != NULL)
		return CA_OK;
	if (sqlite3_open_v2(p->cfg->log_path, &p->watch, SQLITE_OPEN_READONLY,
	    NULL) != SQLITE_OK) {
		ca_error(CA_ERR_DB, "%s: open read-only: %s",
		    p->cfg->log_path, p->watch != NULL ?
		    sqlite3_errmsg(p->watch) : "out of memory");
		sqlite3_close(p->watch);
		p->watch = NULL;
		return CA_ERR_DB;
	}
	sqlite3_busy_timeout(p->watch, 5000);
	return CA_OK;
}

/* watch_int: one integer from a query on the watch connection. */
static int
watch_int(struct crl_publisher *p, int64_t *out, const char *sql, int bind)
{
	sqlite3_stmt *st = NULL;
	int rc = CA_ERR_DB;

	if ((rc = watch_open(p)) != CA_OK)
		return rc;
	rc = CA_ERR_DB;
	if (sqlite3_prepare_v2(p->watch, sql, -1, &st, NULL) != SQLITE_OK)
		goto out;
	if (bind)
		sqlite3_bind_blob(st, 1, p->iss.kid, (int)p->iss.kid_len,
		    SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW)
		goto out;
	*out = sqlite3_column_int64(st, 0);
	rc = CA_OK;
 out:
	if (rc != CA_OK)
		ca_error(CA_ERR_DB, "%s: watch: %s", p->cfg->log_path,
		    sqlite3_errmsg(p->watch));
	sqlite3_finalize(st);
	return rc;
}

static int
revoked_count(struct crl_publisher *p, int64_t *out)
{
	return watch_int(p, out, "SELECT count(*) FROM certificates WHERE "
	    "issuer_key_id = ? AND status = 'revoked'", 1);
}

static void
sleep_ms(long ms)
{
	struct timespec ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	nanosleep(&ts, NULL);	/* EINTR (a signal) just ends it early */
}

int
crl_publish_run(struct crl_publisher *p, volatile sig_atomic_t *stop)
{
	const struct crl_config *cfg = p->cfg;
	struct crl_result r;
	int64_t dv = -1, ndv, count = -1, ncount = -1;
	time_t now, due = 0, retry_at = 0;
	long backoff = 1;
	int rc, changed;

	while (!*stop) {
		now = time(NULL);
		changed = 0;
		if (watch_int(p, &ndv, "PRAGMA data_version", 0) == CA_OK &&
		    ndv != dv) {
			dv = ndv;
			if (revoked_count(p, &ncount) == CA_OK &&
			    ncount != count)
				changed = 1;
		} else if (p->watch == NULL)
			changed = 1;	/* cannot watch: rebuild on time */
		if ((now >= due || changed) && now >= retry_at) {
			if (revoked_count(p, &ncount) != CA_OK)
				ncount = -1;
			rc = crl_publish_once(p, (int64_t)now, &r);
			if (rc == CA_OK) {
				count = ncount;
				due = now + cfg->rebuild_interval;
				backoff = 1;
				retry_at = 0;
				log_info("published CRL number %lld: %zu "
				    "entries, %zu bytes (build %.2fs, check "
				    "%.2fs, write %.2fs)%s",
				    (long long)r.number, r.entries, r.der_len,
				    r.build_s, r.check_s, r.write_s,
				    changed ? " after a revocation" : "");
			} else {
				log_ca_err(rc, "publish");
				if (rc == CA_ERR_POLICY)
					log_err("not retrying until an "
					    "operator looks: see "
					    "carapace-crl(8)");
				retry_at = now + (rc == CA_ERR_POLICY ?
				    cfg->rebuild_interval : backoff);
				if (backoff < BACKOFF_MAX)
					backoff *= 2;
			}
		}
		sleep_ms(cfg->poll_ms);
	}
	return CA_OK;
}
