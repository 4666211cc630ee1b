/* SPDX-License-Identifier: ISC */
/*
 * ocsp_signer: the certificate that signs an issuer's OCSP responses, over
 * its whole life. A relying party rejects every response whose signer is
 * outside its validity (RFC 6960 4.2.2.2, RFC 5280 6.1.3), so a delegated
 * responder certificate that expires unnoticed is an outage for all of
 * them. Here:
 *   - ocsp_signer_usable says whether the signer may sign or be served at
 *     a time (ocsp_respond answers tryLater, RFC 6960 2.3, when not);
 *   - ocsp_signer_state / ocsp_signer_report say how close it is to its
 *     notAfter and log a warning from the warning time on (by default a
 *     third of its lifetime, at most 7 days), an error once unusable;
 *   - ocsp_signer_reload reads responder_cert again when the file changed
 *     (the signer thread of ocsp_watch.c stats it every
 *     OCSP_SIGNER_POLL_MS, and at once on SIGHUP) and swaps in a renewed
 *     certificate for the same HSM key, after the checks the first one
 *     passed. The signer generation then moves on: the cache serves no
 *     response signed under the old certificate, and the signer thread
 *     re-signs them.
 * The certificate is swapped under signer_mu; its validity and generation
 * are atomics as well, so that the request path takes no lock.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/asn1.h>

#include "common/ca_error.h"
#include "common/log.h"
#include "ocsp/ocsp_responder.h"

#define REPORT_REPEAT	3600	/* seconds between repeated warnings */

/* asn1_time_t: t as seconds since the epoch, or -1. */
static int64_t
asn1_time_t(const ASN1_TIME *t)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	return (int64_t)timegm(&tm);
}

/* signer_set installs x (a reference taken) as the signer; mu held. */
static int
signer_set(struct ocsp_issuer *iss, X509 *x)
{
	int64_t nb, na;

	if ((nb = asn1_time_t(X509_get0_notBefore(x))) < 0 ||
	    (na = asn1_time_t(X509_get0_notAfter(x))) < 0)
		return ca_error(CA_ERR_INVALID, "%s: RFC 5280 4.1.2.5: the "
		    "signing certificate's validity cannot be read", iss->name);
	X509_up_ref(x);
	X509_free(iss->signer);
	iss->signer = x;
	atomic_store(&iss->signer_not_before, nb);
	atomic_store(&iss->signer_not_after, na);
	atomic_fetch_add(&iss->signer_gen, 1);
	return CA_OK;
}

int
ocsp_signer_init(struct ocsp_issuer *iss, X509 *signer)
{
	int rc;

	pthread_mutex_lock(&iss->signer_mu);
	rc = signer_set(iss, signer);
	pthread_mutex_unlock(&iss->signer_mu);
	return rc;
}

X509 *
ocsp_signer_get(const struct ocsp_issuer *iss, unsigned int *gen,
    time_t *not_before, time_t *not_after)
{
	/* The lock guards the swap, not the issuer's constness. */
	pthread_mutex_t *mu = (pthread_mutex_t *)&iss->signer_mu;
	X509 *x;

	pthread_mutex_lock(mu);
	x = iss->signer;
	X509_up_ref(x);
	if (gen != NULL)
		*gen = atomic_load(&iss->signer_gen);
	if (not_before != NULL)
		*not_before = (time_t)atomic_load(&iss->signer_not_before);
	if (not_after != NULL)
		*not_after = (time_t)atomic_load(&iss->signer_not_after);
	pthread_mutex_unlock(mu);
	return x;
}

int
ocsp_signer_usable(const struct ocsp_issuer *iss, time_t now)
{
	return (int64_t)now >= atomic_load(&iss->signer_not_before) &&
	    (int64_t)now < atomic_load(&iss->signer_not_after);
}

enum ocsp_signer_state
ocsp_signer_state(const struct ocsp_issuer *iss, time_t now, long warn,
    long *left)
{
	int64_t nb = atomic_load(&iss->signer_not_before);
	int64_t na = atomic_load(&iss->signer_not_after);

	if (left != NULL)
		*left = (long)(na - (int64_t)now);
	if ((int64_t)now < nb)
		return OCSP_SIGNER_NOT_YET;
	if ((int64_t)now >= na)
		return OCSP_SIGNER_EXPIRED;
	if (warn <= 0) {
		warn = (long)((na - nb) / 3);
		if (warn > OCSP_SIGNER_WARN_MAX)
			warn = OCSP_SIGNER_WARN_MAX;
	}
	return na - (int64_t)now <= warn ? OCSP_SIGNER_WARN : OCSP_SIGNER_OK;
}

/* what_signs: "responder_cert FILE" or "the CA certificate". */
static const char *
what_signs(const struct ocsp_issuer *iss, char *buf, size_t len)
{
	if (iss->responder_path == NULL)
		return iss->delegated ? "the responder certificate" :
		    "the CA certificate (the CA key signs)";
	snprintf(buf, len, "responder_cert %s", iss->responder_path);
	return buf;
}

enum ocsp_signer_state
ocsp_signer_report(struct ocsp_issuer *iss, time_t now, long warn,
    int force)
{
	enum ocsp_signer_state st;
	char what[600], when[OCSP_HTTP_DATE_LEN];
	long left;

	st = ocsp_signer_state(iss, now, warn, &left);
	if (!force && (int)st == iss->logged_state &&
	    (st == OCSP_SIGNER_OK || now - iss->logged_at < REPORT_REPEAT))
		return st;
	iss->logged_state = (int)st;
	iss->logged_at = now;
	what_signs(iss, what, sizeof(what));
	switch (st) {
	case OCSP_SIGNER_OK:
		ocsp_http_date(when, (time_t)atomic_load(
		    &iss->signer_not_after));
		log_info("[%s] %s is valid until %s (%ld days)", iss->name,
		    what, when, left / 86400);
		break;
	case OCSP_SIGNER_WARN:
		ocsp_http_date(when, (time_t)atomic_load(
		    &iss->signer_not_after));
		log_warn("[%s] %s expires %s, in %ldd %ldh: renew it (see "
		    "carapace-ocsp(8), RENEWING THE SIGNER); from then on "
		    "every answer is tryLater", iss->name, what, when,
		    left / 86400, left % 86400 / 3600);
		break;
	case OCSP_SIGNER_EXPIRED:
		ocsp_http_date(when, (time_t)atomic_load(
		    &iss->signer_not_after));
		log_err("[%s] %s expired %s (RFC 5280 4.1.2.5): relying "
		    "parties would reject every response it signs, so every "
		    "answer is tryLater until a renewed certificate is in "
		    "place", iss->name, what, when);
		break;
	case OCSP_SIGNER_NOT_YET:
		ocsp_http_date(when, (time_t)atomic_load(
		    &iss->signer_not_before));
		log_err("[%s] %s is not valid before %s (RFC 5280 4.1.2.5): "
		    "every answer is tryLater until then", iss->name, what,
		    when);
		break;
	}
	return st;
}

static void
file_id_of(struct ocsp_file_id *id, const struct stat *sb)
{
	memset(id, 0, sizeof(*id));
	if (sb == NULL) {
		id->missing = 1;
		return;
	}
	id->dev = sb->st_dev;
	id->ino = sb->st_ino;
	id->size = sb->st_size;
	id->mtime = sb->st_mtim;
	id->ctime = sb->st_ctim;
}

static int
file_id_eq(const struct ocsp_file_id *a, const struct ocsp_file_id *b)
{
	if (a->missing || b->missing)
		return a->missing == b->missing;
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	    a->mtime.tv_sec == b->mtime.tv_sec &&
	    a->mtime.tv_nsec == b->mtime.tv_nsec &&
	    a->ctime.tv_sec == b->ctime.tv_sec &&
	    a->ctime.tv_nsec == b->ctime.tv_nsec;
}

/*
 * renewal_check: CA_OK when x may replace iss's signer at now: the checks
 * of ocsp_issuer_new, the HSM key's certificate, and valid now.
 */
static int
renewal_check(struct ocsp_issuer *iss, X509 *x, time_t now)
{
	int64_t nb, na;
	int rc;

	if ((rc = ocsp_responder_check(iss->name, iss->cert, x)) != CA_OK)
		return rc;
	if (iss->pub == NULL || EVP_PKEY_eq(iss->pub, X509_get0_pubkey(x)) != 1)
		return ca_error(CA_ERR_INVALID, "[%s] responder_cert %s: not "
		    "a certificate for the configured key in the HSM; a "
		    "renewal must certify the same key (a new key needs a "
		    "new key URI and a restart)", iss->name,
		    iss->responder_path);
	nb = asn1_time_t(X509_get0_notBefore(x));
	na = asn1_time_t(X509_get0_notAfter(x));
	if (nb < 0 || na < 0 || (int64_t)now < nb || (int64_t)now >= na)
		return ca_error(CA_ERR_EXPIRED, "[%s] responder_cert %s: RFC "
		    "5280 4.1.2.5: the new certificate is not valid now "
		    "(expired, or its notBefore is in the future)", iss->name,
		    iss->responder_path);
	return CA_OK;
}

int
ocsp_signer_reload(struct ocsp_issuer *iss, int *swapped, time_t now,
    int force)
{
	struct ocsp_file_id id;
	struct stat sb;
	X509 *x = NULL, *cur = NULL;
	int rc = CA_ERR_INTERNAL;

	*swapped = 0;
	if (!iss->delegated || iss->responder_path == NULL)
		return CA_OK;
	if (stat(iss->responder_path, &sb) != 0) {
		file_id_of(&id, NULL);
		if (file_id_eq(&id, &iss->responder_id) && !force)
			return CA_OK;
		iss->responder_id = id;
		return ca_error(CA_ERR_IO, "[%s] responder_cert %s: %s; "
		    "still signing with the certificate read before",
		    iss->name, iss->responder_path, strerror(errno));
	}
	file_id_of(&id, &sb);
	if (file_id_eq(&id, &iss->responder_id) && !force)
		return CA_OK;
	/* Recorded before reading: a bad file is reported once. */
	iss->responder_id = id;
	if ((rc = ocsp_cert_read(&x, iss->responder_path)) != CA_OK)
		goto out;
	cur = ocsp_signer_get(iss, NULL, NULL, NULL);
	if (X509_cmp(x, cur) == 0) {
		rc = CA_OK;	/* touched, or the same bytes again */
		goto out;
	}
	if ((rc = renewal_check(iss, x, now)) != CA_OK)
		goto out;
	pthread_mutex_lock(&iss->signer_mu);
	rc = signer_set(iss, x);
	pthread_mutex_unlock(&iss->signer_mu);
	if (rc != CA_OK)
		goto out;
	iss->logged_state = -1;		/* report the new one */
	*swapped = 1;
	rc = CA_OK;
 out:
	X509_free(cur);
	X509_free(x);
	return rc;
}
