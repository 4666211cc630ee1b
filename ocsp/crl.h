/* SPDX-License-Identifier: ISC */
/*
 * crl: the modules behind carapace-crl, the RFC 5280 CRL publisher.
 *
 *   crl_config   the NCONF configuration file (carapace-crl.cnf(5))
 *   crl_der      writes a v2 CRL's DER directly from a list of revoked
 *                certificates (no X509_CRL object: a million entries in
 *                well under a second) and signs it through a callback
 *   crl_check    parses the result back with OpenSSL (d2i_X509_CRL),
 *                verifies its signature and compares every entry with the
 *                list it was built from
 *   crl_state    the CRL number state file, and the number of the CRL
 *                currently published
 *   crl_publish  one publication (reserve a number, build, check, write
 *                DER and PEM atomically) and the daemon loop
 *
 * Every function returns CA_OK or a ca_err code with a detail message
 * (ca_error_detail()) that names the file, the serial or the rule.
 */
#ifndef CRL_H
#define CRL_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "common/module_config.h"
#include "log/issuance_log.h"
#include "hsm/hsm.h"

/* Caps: the issuer key identifier, and the entries of one CRL. */
#define CRL_KEY_ID_MAX		64
#define CRL_ENTRIES_MAX		(64u * 1024 * 1024)

/* --- configuration (crl_config.c) --- */

struct crl_config {
	char *path;		/* the configuration file, for messages */
	/* module, module_init_args, allow_unsafe_keys, key, pin_source */
	struct module_config mod;
	char *issuer_cert;	/* the CA certificate (PEM or DER) */
	char *log_path;		/* the issuance log */
	char *state_path;	/* the CRL number state file */
	char *der_path;		/* published DER (required) */
	char *pem_path;		/* published PEM, or NULL */
	char *digest;		/* "sha256", ... or NULL (by key) */
	long next_update;	/* seconds from thisUpdate to nextUpdate */
	long rebuild_interval;	/* seconds between scheduled rebuilds */
	long poll_ms;		/* how often the daemon looks at the log */
	long backdate;		/* thisUpdate = now - backdate seconds */
};

/*
 * crl_config_load reads the [crl] section of path (carapace-crl.cnf(5)).
 * Unknown keys, missing required keys and a rebuild_interval not shorter
 * than next_update are errors (CA_ERR_CONFIG) that name the file and key.
 * Free the result with crl_config_free.
 */
int crl_config_load(struct crl_config **out, const char *path)
    __attribute__((warn_unused_result));
void crl_config_free(struct crl_config *c);

/*
 * crl_duration_parse parses "90", "90s", "15m", "12h" or "7d" into seconds
 * (at least 1, at most 10 years). Returns 0 on success, -1 otherwise.
 */
int crl_duration_parse(long *out, const char *s)
    __attribute__((warn_unused_result));

/* --- the issuer and the DER writer (crl_der.c) --- */

/* What the CRL says about its issuer; filled by crl_issuer_load. */
struct crl_issuer {
	X509 *cert;		/* the CA certificate */
	EVP_PKEY *pub;		/* borrowed from cert */
	const EVP_MD *md;	/* the signature digest */
	uint8_t kid[CRL_KEY_ID_MAX];	/* AKI keyIdentifier = the log's */
	size_t kid_len;			/* issuer_key_id */
};

/*
 * crl_issuer_load reads the CA certificate at path, checks that it may
 * sign CRLs (keyUsage cRLSign when keyUsage is present; an RSA or EC key),
 * takes its key identifier (its subjectKeyIdentifier, else the SHA-1 of
 * its subjectPublicKey, as RFC 5280 4.2.1.2 method 1) and chooses the
 * digest (profile_digest: digest, or by key when NULL). Free with
 * crl_issuer_clear.
 */
int crl_issuer_load(struct crl_issuer *iss, const char *path,
    const char *digest) __attribute__((warn_unused_result));
void crl_issuer_clear(struct crl_issuer *iss);

/* The list of revoked certificates a CRL is built from, in serial order. */
struct crl_list {
	struct issuance_revoked *v;
	size_t n, cap;
};

/*
 * crl_list_load reads every revoked certificate of iss from the log in
 * one statement (one snapshot), in serial order, into l (which it resets
 * first). Serial order is checked: a list out of order or with a
 * duplicate is CA_ERR_DB. Free with crl_list_clear.
 */
int crl_list_load(struct crl_list *l, struct issuance_log_reader *r,
    const struct crl_issuer *iss) __attribute__((warn_unused_result));
/* crl_list_add appends one entry (for tests and the benchmark). */
int crl_list_add(struct crl_list *l, const struct issuance_revoked *e)
    __attribute__((warn_unused_result));
void crl_list_clear(struct crl_list *l);

/* The variable parts of one CRL. */
struct crl_params {
	int64_t number;		/* CRL Number, > 0 */
	int64_t this_update;	/* Unix seconds */
	int64_t next_update;
};

/*
 * crl_sign_fn makes one signature: it must call fn(pkey, arg) with the
 * CA's private key and return CA_OK when fn returned 1. carapace-crl
 * passes hsm_key_sign; tests and the benchmark pass a software key.
 */
typedef int (*crl_sign_fn)(void *signer, hsm_sign_fn fn, void *arg);

/* A built CRL: its DER is der[0 .. len); mem is what to free. */
struct crl_blob {
	uint8_t *mem;
	const uint8_t *der;
	size_t len;
};

/*
 * crl_der_build writes the DER of a v2 CRL (RFC 5280 5.1): version 2,
 * signature algorithm, issuer = the CA's subject, thisUpdate, nextUpdate,
 * one revokedCertificates entry per list element (serial, revocation
 * date, and a reasonCode extension unless the reason is unspecified,
 * RFC 5280 5.3.1), and the crlExtensions authorityKeyIdentifier (keyid)
 * and cRLNumber. It signs the TBSCertList through sign/signer. Free the
 * result with crl_blob_free.
 */
int crl_der_build(struct crl_blob *out, const struct crl_issuer *iss,
    const struct crl_params *p, const struct crl_list *l, crl_sign_fn sign,
    void *signer) __attribute__((warn_unused_result));
void crl_blob_free(struct crl_blob *b);

/*
 * crl_der_time writes t as an RFC 5280 Time (UTCTime through 2049,
 * GeneralizedTime from 2050) to out (at least 17 bytes) and returns its
 * length, or 0 when t cannot be represented (before year 1, after 9999).
 */
size_t crl_der_time(uint8_t *out, int64_t t);

/* --- the check before publishing (crl_check.c) --- */

/*
 * crl_check parses der with d2i_X509_CRL (trailing bytes refused), and
 * refuses it (CA_ERR_VERIFY, naming the entry) unless: it is v2, its
 * signature verifies with iss's public key, its issuer is iss's subject,
 * its thisUpdate, nextUpdate, CRL number and AKI are those of p and iss,
 * and its entries are exactly l's, in order, with the same revocation
 * dates and reasons.
 */
int crl_check(const uint8_t *der, size_t len, const struct crl_issuer *iss,
    const struct crl_params *p, const struct crl_list *l)
    __attribute__((warn_unused_result));

/* --- the CRL number (crl_state.c) --- */

/*
 * crl_state_read reads the last reserved CRL number from the state file.
 * CA_ERR_NOT_FOUND when the file does not exist; CA_ERR_INVALID when it
 * is malformed or belongs to another issuer key.
 */
int crl_state_read(int64_t *out, const char *path, const uint8_t *kid,
    size_t kid_len) __attribute__((warn_unused_result));

/*
 * crl_state_write replaces the state file atomically and durably (write,
 * fsync, rename, fsync of the directory) with number.
 */
int crl_state_write(const char *path, int64_t number, const uint8_t *kid,
    size_t kid_len) __attribute__((warn_unused_result));

/*
 * crl_published_number reads the CRL number of the CRL at path (DER)
 * without decoding its entries. CA_ERR_NOT_FOUND when the file does not
 * exist; CA_ERR_INVALID when it is not a CRL with a CRL number.
 */
int crl_published_number(int64_t *out, const char *path)
    __attribute__((warn_unused_result));

/* --- publishing (crl_publish.c) --- */

struct crl_publisher;

/* What one publication did. */
struct crl_result {
	int64_t number;
	size_t entries;
	size_t der_len;
	double build_s;		/* read the log, write and sign the DER */
	double check_s;		/* parse back, verify, compare */
	double write_s;		/* DER and PEM, written and fsync'd */
};

/*
 * crl_publisher_open loads the issuer certificate, opens the HSM and the
 * key (which must be the certificate's) and the log read-only. cfg is
 * borrowed and must outlive the publisher. Free with crl_publisher_free.
 */
int crl_publisher_open(struct crl_publisher **out,
    const struct crl_config *cfg) __attribute__((warn_unused_result));
void crl_publisher_free(struct crl_publisher *p);

/*
 * crl_publish_once publishes one CRL at time now:
 *  1. the new number is one more than the larger of the state file's and
 *     the log's crl_state; a state file below the published CRL's number
 *     (rolled back or tampered with) or missing while a CRL is published
 *     is refused (CA_ERR_POLICY);
 *  2. the number is written to the state file (fsync'd) before anything
 *     is signed, so a crash later skips it and never reuses it;
 *  3. the CRL is built from one snapshot of the log, signed, and checked
 *     with crl_check against that snapshot;
 *  4. the number is compared again with the published CRL's (refused,
 *     CA_ERR_POLICY, unless greater), then the DER and the PEM are each
 *     replaced atomically (write, fsync, rename, fsync the directory).
 * res may be NULL.
 */
int crl_publish_once(struct crl_publisher *p, int64_t now,
    struct crl_result *res) __attribute__((warn_unused_result));

/*
 * crl_publish_run is the daemon: it publishes at once, then every
 * rebuild_interval, and within about poll_ms of a change to the log's
 * list of revoked certificates (PRAGMA data_version, then a count). A
 * failed publication is logged and retried at the next poll after a
 * back-off. It returns CA_OK when *stop becomes non-zero.
 */
int crl_publish_run(struct crl_publisher *p, volatile sig_atomic_t *stop)
    __attribute__((warn_unused_result));

#endif /* CRL_H */
