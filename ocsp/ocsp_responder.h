/* SPDX-License-Identifier: ISC */
/*
 * ocsp_responder: the modules of carapace-ocsp, the RFC 6960 / RFC 5019
 * OCSP responder (private to ocsp/).
 *
 *   ocsp_config.c   the configuration file (carapace-ocsp.cnf(5))
 *   ocsp_issuer.c   one CA the responder answers for: its certificate, the
 *                   CertID hashes (SHA-1 and SHA-256) of its name and key,
 *                   the signing certificate (the CA or a delegated
 *                   responder) and its key in the HSM
 *   ocsp_signer.c   the signing certificate over its life: validity at a
 *                   time, the expiry warning, a renewed responder_cert
 *                   file read and swapped in without a restart
 *   ocsp_respond.c  request bytes in, response bytes out: parse, match the
 *                   issuer, look the serial up, sign or take from the cache
 *   ocsp_cache.c    pre-signed responses keyed by the request's CertID DER
 *   ocsp_watch.c    the log watcher (PRAGMA data_version, events table) and
 *                   the refresher that re-signs responses before expiry
 *   ocsp_http.c     HTTP on our own HTTP/1.1 server (http_server.c,
 *                   http_parse.c, http_peers.c for the per-address
 *                   connection counts): POST and the RFC 5019 GET form
 *
 * Functions return CA_OK or a ca_err code with ca_error() detail, except
 * where a comment says otherwise. Nothing here prints except ocsp_main.c
 * and the background threads, which log through common/log.h.
 */
#ifndef OCSP_RESPONDER_H
#define OCSP_RESPONDER_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/ocsp.h>
#include <openssl/x509.h>

#include "common/module_config.h"
#include "log/issuance_log.h"

struct hsm;
struct hsm_key;
struct config;

#define OCSP_MAX_ISSUERS	16
#define OCSP_MAX_REQUEST_DEF	8192	/* bytes of DER in one request */
#define OCSP_MAX_REQUEST_MAX	65536
#define OCSP_MAX_CONNS_DEF	1024	/* open HTTP connections */
#define OCSP_MAX_CONNS_MAX	65536
#define OCSP_PER_ADDR_DEF	64	/* HTTP connections per client address */
#define OCSP_THREADS_MAX	256	/* HTTP worker threads */
#define OCSP_REQUEST_TIMEOUT_DEF 10	/* seconds for a request and answer */
#define OCSP_REQUEST_TIMEOUT_MAX 300
#define OCSP_ETAG_LEN		34	/* '"' + 32 hex + '"' */
#define OCSP_HTTP_DATE_LEN	32

/* What to answer for a serial that was reserved but never issued. */
enum ocsp_unissued {
	OCSP_UNISSUED_REVOKED = 0,	/* RFC 6960 2.2 extended "revoked" */
	OCSP_UNISSUED_UNKNOWN,
};

struct ocsp_issuer_config {
	char *section;
	char *cert;		/* CA certificate (PEM or DER) */
	char *responder_cert;	/* delegated responder certificate, or NULL */
	char *key;		/* pkcs11: URI of the signing key */
	char *pin_source;	/* file:... or env:..., or NULL (URI's) */
};

struct ocsp_config {
	char *listen;		/* http://HOST:PORT, e.g. http://127.0.0.1:8080 */
	char *path;		/* extra path, "/ocsp"; NULL: only "/" */
	char *log_path;		/* the issuance log */
	/* module, module_init_args, allow_unsafe_keys (no key: per issuer) */
	struct module_config mod;
	long validity;		/* nextUpdate - thisUpdate, seconds */
	long refresh;		/* re-sign responses older than this */
	long max_age;		/* Cache-Control max-age ceiling */
	long poll_ms;		/* log watch interval */
	long max_request;	/* bytes of DER per request */
	long max_unknown;	/* cached "unknown" answers */
	long max_live;		/* concurrent signatures for cache misses */
	long max_conns;		/* open HTTP connections (1024) */
	long max_per_addr;	/* of them per address or IPv6 /64 (64) */
	long threads;		/* HTTP workers; 0: CPUs, at least 2 */
	long request_timeout;	/* seconds for a request and its answer */
	long signer_warn;	/* warn this long before the signer expires;
				   0: a third of its lifetime, at most 7 days */
	int presign;		/* sign every certificate at start */
	enum ocsp_unissued unissued;
	size_t nissuers;
	struct ocsp_issuer_config issuer[OCSP_MAX_ISSUERS];
};

/* ocsp_config_load reads [ocsp] and the issuer sections of path. */
int ocsp_config_load(struct ocsp_config *out, const char *path)
    __attribute__((warn_unused_result));
void ocsp_config_clear(struct ocsp_config *c);

/* What a file was when last read: a change means "read it again". */
struct ocsp_file_id {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
	int missing;			/* stat failed */
};

struct ocsp_issuer {
	char *name;			/* config section, for messages */
	X509 *cert;			/* the CA certificate */
	/*
	 * The signing certificate: the CA's or the delegated responder's,
	 * swapped by ocsp_signer_reload (under signer_mu) when a renewed
	 * responder_cert appears. Read it with ocsp_signer_get; its
	 * validity and generation are also kept as atomics for the hot
	 * path (ocsp_signer_usable, the cache's generation check).
	 */
	pthread_mutex_t signer_mu;
	X509 *signer;
	_Atomic int64_t signer_not_before, signer_not_after;
	atomic_uint signer_gen;
	int delegated;
	char *responder_path;		/* responder_cert, or NULL */
	struct ocsp_file_id responder_id;
	int reload_failing;		/* the last reload failed (logged) */
	int logged_state;		/* last ocsp_signer_state logged */
	time_t logged_at;
	struct hsm_key *key;		/* signer's key in the HSM, or NULL */
	EVP_PKEY *soft_key;		/* software key (tests, fuzz) */
	EVP_PKEY *pub;			/* the signing key's public half */
	uint8_t name_sha1[20], key_sha1[20];
	uint8_t name_sha256[32], key_sha256[32];
	uint8_t ski[64];		/* the CA's subjectKeyIdentifier */
	size_t ski_len;
};

/*
 * ocsp_issuer_new builds an issuer from a CA certificate and the signing
 * certificate (the CA itself or a delegated responder issued by it, with
 * id-kp-OCSPSigning; without id-pkix-ocsp-nocheck it is refused). Exactly
 * one of key and soft_key is set; the issuer takes a reference on the
 * certificates and soft_key, and borrows key (owned by the hsm). Free with
 * ocsp_issuer_free.
 */
int ocsp_issuer_new(struct ocsp_issuer **out, const char *name, X509 *cert,
    X509 *responder, struct hsm_key *key, EVP_PKEY *soft_key)
    __attribute__((warn_unused_result));

/*
 * ocsp_issuer_load reads the certificates named by ic, opens the key in
 * the HSM and calls ocsp_issuer_new.
 */
int ocsp_issuer_load(struct ocsp_issuer **out, struct hsm *h,
    const struct ocsp_issuer_config *ic) __attribute__((warn_unused_result));
void ocsp_issuer_free(struct ocsp_issuer *iss);

/*
 * ocsp_cert_read reads one X.509 certificate in DER or PEM from path into
 * *out (the caller frees it).
 */
int ocsp_cert_read(X509 **out, const char *path)
    __attribute__((warn_unused_result));

/*
 * ocsp_responder_check: CA_OK when responder, a delegated responder
 * certificate, was issued by ca and carries id-kp-OCSPSigning and
 * id-pkix-ocsp-nocheck (RFC 6960 4.2.2.2); else CA_ERR_INVALID naming the
 * issuer section name and the rule.
 */
int ocsp_responder_check(const char *name, X509 *ca, X509 *responder)
    __attribute__((warn_unused_result));

/* --- the signer over its life (ocsp_signer.c) --- */

#define OCSP_SIGNER_WARN_MAX	(7L * 86400)	/* default warning, at most */
#define OCSP_SIGNER_POLL_MS	2000	/* responder_cert checked this often */

enum ocsp_signer_state {
	OCSP_SIGNER_OK = 0,
	OCSP_SIGNER_WARN,		/* expires within the warning time */
	OCSP_SIGNER_EXPIRED,		/* past notAfter: answers tryLater */
	OCSP_SIGNER_NOT_YET,		/* before notBefore: tryLater */
};

/*
 * ocsp_signer_init records signer as iss's signing certificate (taking a
 * reference): its validity, generation 1. Called by ocsp_issuer_new.
 */
int ocsp_signer_init(struct ocsp_issuer *iss, X509 *signer)
    __attribute__((warn_unused_result));

/*
 * ocsp_signer_get returns the current signing certificate with a reference
 * the caller drops with X509_free, and, read together with it, its
 * generation and validity (each pointer may be NULL: not wanted).
 */
X509 *ocsp_signer_get(const struct ocsp_issuer *iss, unsigned int *gen,
    time_t *not_before, time_t *not_after);

/* ocsp_signer_usable: 1 when the signer is within its validity at now. */
int ocsp_signer_usable(const struct ocsp_issuer *iss, time_t now);

/*
 * ocsp_signer_state says where the signer stands at now: *left (if not
 * NULL) is notAfter - now in seconds. warn is the warning time in seconds;
 * 0 is the default, a third of the certificate's lifetime but at most
 * OCSP_SIGNER_WARN_MAX.
 */
enum ocsp_signer_state ocsp_signer_state(const struct ocsp_issuer *iss,
    time_t now, long warn, long *left);

/*
 * ocsp_signer_report logs the signer's state at now (a warning, or an
 * error when unusable) when it changed since the last report, or when
 * force is set, or once an hour while not OK; returns the state. Only one
 * thread at a time may call it for one issuer.
 */
enum ocsp_signer_state ocsp_signer_report(struct ocsp_issuer *iss,
    time_t now, long warn, int force);

/*
 * ocsp_signer_reload reads iss's responder_cert again when the file
 * changed since it was last read (or when force is set) and, when it
 * holds a new certificate that passes ocsp_responder_check, is for the
 * same key and is valid at now, makes it the signer (the generation
 * moves on, so cached responses signed under the old one are neither
 * served nor kept), and sets *swapped. Returns CA_OK (*swapped 0 when
 * nothing changed or iss has no delegated responder), or a ca_err with
 * the old signer kept; a file that stays bad is reported once. Only one
 * thread at a time may call it for one issuer.
 */
int ocsp_signer_reload(struct ocsp_issuer *iss, int *swapped, time_t now,
    int force)
    __attribute__((warn_unused_result));

/*
 * ocsp_issuer_owns: 1 when a log row's issuer_key_id names this issuer
 * (SHA-1 of its public key, or its subjectKeyIdentifier), else 0.
 */
int ocsp_issuer_owns(const struct ocsp_issuer *iss, const uint8_t *id,
    size_t len);

/* The status of one serial, as the log tells it. */
enum ocsp_state {
	OCSP_STATE_GOOD = 0,
	OCSP_STATE_REVOKED,
	OCSP_STATE_UNISSUED,	/* reserved or abandoned: never good */
	OCSP_STATE_UNKNOWN,	/* not in the log for this issuer */
};

struct ocsp_status {
	enum ocsp_state state;
	int64_t revoked_at;
	int reason;
};

/*
 * ocsp_status_fn looks serial (the INTEGER's content octets) up for iss.
 * Returns CA_OK with *out set (unknown included) or an error when the log
 * cannot be read (the request then gets internalError).
 */
typedef int (*ocsp_status_fn)(struct ocsp_status *out,
    const struct ocsp_issuer *iss, const uint8_t *serial, size_t serial_len,
    void *arg);

/* One pre-signed response. */
struct ocsp_entry {
	struct ocsp_entry *next;
	uint64_t hash;
	uint8_t *key;			/* DER of the CertID */
	size_t key_len;
	const struct ocsp_issuer *issuer;
	uint8_t serial[ISSUANCE_LOG_SERIAL_LEN];
	int has_serial;			/* serial is a log-sized serial */
	int unusable;			/* never served; kept to be re-signed */
	unsigned int signer_gen;	/* the issuer's signer it was signed by */
	enum ocsp_state state;
	uint8_t *der;			/* the OCSPResponse */
	size_t der_len;
	time_t this_update, next_update;
	char etag[OCSP_ETAG_LEN + 1];
	char last_modified[OCSP_HTTP_DATE_LEN];
	char expires[OCSP_HTTP_DATE_LEN];
};

void ocsp_entry_free(struct ocsp_entry *e);

/* What goes back to the HTTP client. */
struct ocsp_reply {
	uint8_t *der;			/* malloc'd; ocsp_reply_clear frees */
	size_t len;
	int status;			/* OCSP_RESPONSE_STATUS_* */
	int cacheable;			/* a signed response: HTTP caching headers */
	time_t this_update, next_update;
	char etag[OCSP_ETAG_LEN + 1];
	char last_modified[OCSP_HTTP_DATE_LEN];
	char expires[OCSP_HTTP_DATE_LEN];
};

void ocsp_reply_clear(struct ocsp_reply *r);

/* --- cache (ocsp_cache.c) --- */

struct ocsp_cache;

int ocsp_cache_new(struct ocsp_cache **out, long max_unknown)
    __attribute__((warn_unused_result));
void ocsp_cache_free(struct ocsp_cache *c);

/*
 * ocsp_cache_get copies the response cached under key into out when there
 * is one that has not passed its nextUpdate at now, was not marked
 * unusable and was signed by its issuer's current signer. Returns 1 on a hit, 0 on a miss, -1 when out of memory.
 */
int ocsp_cache_get(struct ocsp_cache *c, struct ocsp_reply *out,
    const uint8_t *key, size_t key_len, time_t now);

/*
 * ocsp_cache_put stores e (taking ownership) when the cache's generation
 * still equals gen, replacing an entry with the same key; otherwise it
 * frees e. Returns 1 when stored, 0 when not, -1 on error.
 */
int ocsp_cache_put(struct ocsp_cache *c, struct ocsp_entry *e, uint64_t gen);

/* ocsp_cache_gen: the generation; bumped whenever the log changed. */
uint64_t ocsp_cache_gen(struct ocsp_cache *c);

/*
 * ocsp_cache_bump increments the generation (so that answers looked up
 * before it are not stored), drops every "unknown" entry, and returns the
 * new generation.
 */
uint64_t ocsp_cache_bump(struct ocsp_cache *c);

/* A key to re-sign, as collected by ocsp_cache_collect. */
struct ocsp_stale {
	uint8_t *key;
	size_t key_len;
	const struct ocsp_issuer *issuer;
};

/*
 * ocsp_cache_collect returns in *out (n in *n) copies of the keys of the
 * entries whose serial is one of serials (nserials of them, sorted with
 * memcmp), or, when
 * serials is NULL, of those whose thisUpdate is older than before or that
 * were signed by a signer since replaced (ocsp_signer_reload). Free
 * with ocsp_stale_free.
 */
int ocsp_cache_collect(struct ocsp_cache *c, struct ocsp_stale **out,
    size_t *n, const uint8_t (*serials)[ISSUANCE_LOG_SERIAL_LEN],
    size_t nserials, time_t before) __attribute__((warn_unused_result));
void ocsp_stale_free(struct ocsp_stale *s, size_t n);

/*
 * ocsp_cache_invalidate marks the entry cached under key (if any) unusable:
 * ocsp_cache_get no longer serves it, so requests for it are answered live,
 * while ocsp_cache_collect still finds it, so that it is re-signed; an
 * ocsp_cache_put under the same key replaces it. The watcher uses this when
 * re-signing the response of a serial whose status changed failed. Returns
 * 1 when an entry was marked, 0 when there was none.
 */
int ocsp_cache_invalidate(struct ocsp_cache *c, const uint8_t *key,
    size_t key_len);

/* ocsp_cache_count: entries held (all, and "unknown" ones). */
void ocsp_cache_count(struct ocsp_cache *c, size_t *all, size_t *unknown);

/* --- responder (ocsp_respond.c) --- */

struct ocsp_responder {
	struct ocsp_issuer **issuers;	/* borrowed */
	size_t nissuers;
	ocsp_status_fn status_fn;
	void *status_arg;
	struct ocsp_cache *cache;	/* NULL: sign every answer */
	long validity;
	long max_request;
	long max_live;
	enum ocsp_unissued unissued;
	atomic_long live;		/* signatures in progress for misses */
	time_t (*now)(void);		/* NULL: time() */
};

/*
 * ocsp_respond answers one DER OCSPRequest. It always fills out with a
 * well-formed OCSPResponse (malformedRequest, unauthorized, tryLater,
 * internalError or a signed successful one) and returns CA_OK, or
 * CA_ERR_NOMEM when not even an error response could be allocated. The
 * caller frees out with ocsp_reply_clear.
 */
int ocsp_respond(struct ocsp_responder *r, struct ocsp_reply *out,
    const uint8_t *req, size_t req_len) __attribute__((warn_unused_result));

/*
 * ocsp_respond_error fills out with an unsigned OCSPResponse carrying
 * status (OCSP_RESPONSE_STATUS_MALFORMEDREQUEST, ...).
 */
int ocsp_respond_error(struct ocsp_reply *out, int status)
    __attribute__((warn_unused_result));

/*
 * ocsp_respond_refresh re-reads the status of the CertID whose DER is key
 * and re-signs its cached response, unless the log changed meanwhile.
 */
int ocsp_respond_refresh(struct ocsp_responder *r, const uint8_t *key,
    size_t key_len, const struct ocsp_issuer *iss)
    __attribute__((warn_unused_result));

/*
 * ocsp_respond_presign signs and caches the SHA-1 CertID response (the
 * form most clients send) for serial under iss.
 */
int ocsp_respond_presign(struct ocsp_responder *r,
    const struct ocsp_issuer *iss,
    const uint8_t serial[ISSUANCE_LOG_SERIAL_LEN])
    __attribute__((warn_unused_result));

/* ocsp_http_date formats t as an RFC 7231 IMF-fixdate. */
void ocsp_http_date(char out[OCSP_HTTP_DATE_LEN], time_t t);

/* --- log status and watcher (ocsp_watch.c) --- */

struct ocsp_watch;

/*
 * ocsp_watch_open opens the log at path twice read-only: a reader handle
 * for status lookups (ocsp_watch_status, an ocsp_status_fn whose arg is
 * the watch) and a connection for PRAGMA data_version and the events
 * table. Free with ocsp_watch_free after ocsp_watch_stop.
 */
int ocsp_watch_open(struct ocsp_watch **out, const char *path,
    enum ocsp_unissued unissued) __attribute__((warn_unused_result));
int ocsp_watch_status(struct ocsp_status *out, const struct ocsp_issuer *iss,
    const uint8_t *serial, size_t serial_len, void *arg);

/*
 * ocsp_watch_start starts the threads: presign (when asked), the watcher
 * (every poll_ms: on a new data_version, re-sign every cached response of
 * a serial named by new events), the refresher (responses older than
 * refresh are re-signed) and the signer thread (every
 * OCSP_SIGNER_POLL_MS, or at once after ocsp_watch_kick:
 * ocsp_watch_signers with signer_warn).
 */
int ocsp_watch_start(struct ocsp_watch *w, struct ocsp_responder *r,
    long poll_ms, long refresh, int presign, long signer_warn)
    __attribute__((warn_unused_result));
void ocsp_watch_stop(struct ocsp_watch *w);

/*
 * ocsp_watch_kick has the signer thread look at every responder_cert file
 * now (SIGHUP), rather than at its next OCSP_SIGNER_POLL_MS tick.
 */
void ocsp_watch_kick(struct ocsp_watch *w);

/*
 * ocsp_watch_signers runs one tick of the signer thread for r at now:
 * reload every changed responder_cert (force: read them all), re-sign
 * the cached responses of the issuers whose signer changed, and report
 * each signer's state (ocsp_signer_report with warn). Returns the worst
 * state of all signers.
 */
enum ocsp_signer_state ocsp_watch_signers(struct ocsp_watch *w,
    struct ocsp_responder *r, time_t now, long warn, int force);

/*
 * ocsp_watch_poll runs one poll of the watcher for r, in the calling
 * thread (for tests; the watcher thread runs the same). It returns CA_OK
 * when nothing changed or every change was handled; on an error the log
 * position is kept, so the next poll reads the same events again.
 */
int ocsp_watch_poll(struct ocsp_watch *w, struct ocsp_responder *r);
void ocsp_watch_free(struct ocsp_watch *w);

/* --- HTTP (ocsp_http.c) --- */

struct ocsp_http;

/*
 * ocsp_http_start serves r on cfg->listen (http://HOST:PORT): POST at "/"
 * and at cfg->path, GET /<base64> and GET path/<base64>, with cfg's
 * max_conns, max_per_addr, threads and request_timeout (0: the server's
 * defaults). Returns CA_OK, or the error of http_server_start. Stop and free with
 * ocsp_http_stop.
 */
int ocsp_http_start(struct ocsp_http **out, struct ocsp_responder *r,
    const struct ocsp_config *cfg) __attribute__((warn_unused_result));
void ocsp_http_stop(struct ocsp_http *h);

/* ocsp_http_set_max_age sets the Cache-Control max-age ceiling (60). */
void ocsp_http_set_max_age(struct ocsp_http *h, long max_age);

/*
 * ocsp_http_get_decode turns the part of a GET URI after the path prefix
 * (still percent-encoded) into request DER: percent-decoding, then base64
 * (standard, padded or not, or URL-safe) with libsodium. Refuses anything
 * that decodes to more than max bytes. *out is malloc'd.
 */
int ocsp_http_get_decode(uint8_t **out, size_t *out_len, const char *s,
    size_t max) __attribute__((warn_unused_result));

#endif /* OCSP_RESPONDER_H */
