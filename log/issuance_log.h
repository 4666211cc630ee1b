/* SPDX-License-Identifier: ISC */
/*
 * issuance_log: the online CA's durable record of every certificate it
 * issued or revoked, of its join tokens (as hashes only), of identity
 * document instances it has accepted, and of its CRL numbers. The schema,
 * the statuses, the hash chain and the issuance cycle are specified in
 * docs/issuance-log.md.
 *
 * Two kinds of handle:
 *  - struct issuance_log, the writer, used by carapace-issuer (and through
 *    it by the operator commands). All of its functions are thread-safe.
 *  - struct issuance_log_reader, opened with SQLITE_OPEN_READONLY, for the
 *    OCSP responder and the CRL publisher. One reader per thread.
 *
 * The issuance cycle is:
 *   issuance_log_reserve      a fresh random serial, status "reserved"
 *   (sign, outside the log)
 *   issuance_log_complete     in one transaction: the certificate becomes
 *                             "issued", its chain entry is appended, the
 *                             join token (if any) is consumed and the
 *                             identity document instance (if any) is marked
 *                             seen; durable (WAL synced) on return.
 * Concurrent issuance_log_complete calls share commits (group commit), and
 * each returns only after the commit that holds its own record is synced.
 * No call holds the write connection through an fsync, and lookups run on
 * read-only connections that see the last committed state (see "Concurrency"
 * in docs/issuance-log.md).
 *
 * Times are Unix seconds (int64_t); 0 means "not set" in the structs.
 * Every function returns CA_OK or a ca_err code and sets a detail message
 * (ca_error_detail) that names the serial, token or file and the rule.
 */
#ifndef ISSUANCE_LOG_H
#define ISSUANCE_LOG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ISSUANCE_LOG_SCHEMA_VERSION	5
#define ISSUANCE_LOG_APPLICATION_ID	0x43415250	/* "CARP" */
#define ISSUANCE_LOG_SERIAL_LEN		16	/* 128 bits, positive */
#define ISSUANCE_LOG_HASH_LEN		32	/* SHA-256, BLAKE2b-256 */
#define ISSUANCE_LOG_SERIAL_TRIES	8	/* collisions retried */
#define ISSUANCE_LOG_BATCH_MAX		64	/* rows per group commit */
#define ISSUANCE_LOG_MAX_FIELD		(64 * 1024)	/* bytes per field */
#define ISSUANCE_LOG_MAX_SELECTORS	32	/* given per certificate */
#define ISSUANCE_LOG_SELECTOR_MAX	255	/* bytes in one selector */
#define ISSUANCE_LOG_SELECTOR_NAME_MAX	32	/* bytes in its kind, its fact */

enum issuance_status {
	ISSUANCE_RESERVED = 0,	/* serial taken, certificate not recorded */
	ISSUANCE_ISSUED,	/* certificate recorded and durable */
	ISSUANCE_REVOKED,	/* issued, then revoked */
	ISSUANCE_ABANDONED,	/* reserved, then given up: never issued */
};

/* RFC 5280 5.3.1 CRLReason codes accepted by issuance_log_revoke. */
enum issuance_reason {
	ISSUANCE_REASON_UNSPECIFIED = 0,
	ISSUANCE_REASON_KEY_COMPROMISE = 1,
	ISSUANCE_REASON_CA_COMPROMISE = 2,
	ISSUANCE_REASON_AFFILIATION_CHANGED = 3,
	ISSUANCE_REASON_SUPERSEDED = 4,
	ISSUANCE_REASON_CESSATION_OF_OPERATION = 5,
	/* 6 certificateHold, 7 unused, 8 removeFromCRL: refused */
	ISSUANCE_REASON_PRIVILEGE_WITHDRAWN = 9,
	ISSUANCE_REASON_AA_COMPROMISE = 10,
};

/*
 * One certificate row. As an input (issuance_log_complete) every pointer is
 * the caller's and is only read; as an output (issuance_log_find and the
 * reader) the strings and buffers are allocated and freed together by
 * issuance_cert_free.
 */
struct issuance_cert {
	uint8_t serial[ISSUANCE_LOG_SERIAL_LEN];
	uint8_t *issuer_key_id;		/* e.g. SHA-1 of the CA public key */
	size_t issuer_key_id_len;
	char *subject;			/* RFC 4514 string */
	char *names;			/* SANs, one per line: "DNS:a.test" */
	int64_t not_before;
	int64_t not_after;
	uint8_t *der;
	size_t der_len;
	enum issuance_status status;	/* output only */
	int64_t revoked_at;		/* output only */
	int reason;			/* output only; -1 when not revoked */
	char *requester;		/* attested identity, e.g. "node7" */
	char *attestation;		/* "join-token", "x509pop", "iid" */
	uint8_t *evidence;		/* digest of the attestation evidence */
	size_t evidence_len;
	char *profile;			/* the leaf profile it was issued under */
	uint8_t *request_hash;		/* SHA-256 of the CSR's request info */
	size_t request_hash_len;	/* 0 or ISSUANCE_LOG_HASH_LEN */
	char *token_id;			/* output only: the token consumed */
	int64_t created_at;		/* output only: reservation time */
	int64_t issued_at;		/* output only */
	char **selectors;		/* output only (issuance_log_find): the
					 * selectors, sorted; see struct
					 * issuance_completion */
	size_t nselectors;
};

/*
 * What issuance_log_complete records, in one transaction. token_id, when
 * set, names a join token that is consumed (used_at set) only if every
 * other part of the record succeeds; seen_kind/seen_id, when set, mark an
 * identity document instance as accepted (a second use is refused).
 * parent_serial, when set (an x509pop renewal), names the certificate the
 * request proved possession of: it is recorded with the new one, and the
 * completion is refused (CA_ERR_REVOKED) unless that certificate is still
 * "issued" inside the same transaction, so that no renewal is recorded
 * after its parent's revocation.
 *
 * selectors (nselectors of them, each "kind:fact:value", see
 * issuance_selector_check) are stored with the certificate; a duplicate is
 * stored once. A renewal also gets every selector of its parent, in the same
 * transaction, so that revoking by the original evidence's selector reaches
 * its renewals too. A selector that breaks the rules refuses the whole
 * completion (CA_ERR_INVALID), and nothing is recorded.
 */
struct issuance_completion {
	const struct issuance_cert *cert;	/* serial, der, fields */
	const char *token_id;
	const char *seen_kind;		/* e.g. "iid:aws" */
	const char *seen_id;		/* e.g. the instance id */
	const uint8_t *parent_serial;	/* ISSUANCE_LOG_SERIAL_LEN bytes */
	const char *const *selectors;	/* issuance_selector_check each */
	size_t nselectors;		/* at most ISSUANCE_LOG_MAX_SELECTORS */
};

/* A join token. The secret itself is never stored, only its hash. */
struct join_token {
	char *id;			/* public name, e.g. "t-8f3a19c2" */
	uint8_t hash[ISSUANCE_LOG_HASH_LEN];	/* issuance_log_token_hash */
	char *identity;			/* who the token is for */
	char *allowed_names;		/* one per line, like cert names */
	char *profile;
	int64_t expires_at;
	int64_t created_at;		/* output only */
	int64_t used_at;		/* output only; 0: unused */
	uint8_t used_serial[ISSUANCE_LOG_SERIAL_LEN];	/* output only */
	int64_t revoked_at;		/* output only; 0: not revoked */
};

/* A revoked certificate, as the CRL publisher needs it. */
struct issuance_revoked {
	uint8_t serial[ISSUANCE_LOG_SERIAL_LEN];
	int64_t revoked_at;
	int reason;
};

/* What issuance_log_verify found. */
struct issuance_verify_report {
	int64_t entries;		/* chain entries checked */
	int64_t bad_seq;		/* first bad entry, 0 when none */
	uint8_t head[ISSUANCE_LOG_HASH_LEN];	/* hash of the last entry */
	int64_t head_seq;
	char what[512];			/* the first problem, or "" */
};

struct issuance_log;
struct issuance_log_reader;

/* Callbacks for listings: return 0 to go on, anything else to stop. */
typedef int (*issuance_cert_cb)(const struct issuance_cert *, void *);
typedef int (*issuance_revoked_cb)(const struct issuance_revoked *, void *);
typedef int (*join_token_cb)(const struct join_token *, void *);

/*
 * The chain head this host has seen, kept in the head state file
 * PATH ISSUANCE_LOG_HEAD_SUFFIX next to the log (docs/issuance-log.md,
 * "Head state").
 */
#define ISSUANCE_LOG_HEAD_SUFFIX	".head"
struct issuance_log_head {
	int64_t seq;			/* newest entry; 0: an empty chain */
	uint8_t hash[ISSUANCE_LOG_HASH_LEN];	/* its hash; zeros if empty */
	int64_t time;			/* when it was recorded */
};

/* --- creating a log --- */

/*
 * issuance_log_create creates a new, empty issuance log at path: the
 * schema, WAL mode, and the head state file (an empty chain). The file
 * and its -wal, -shm and head files get mode 0600, or 0640 and the group
 * group when group is not (gid_t)-1, whatever the umask. It refuses
 * (CA_ERR_EXISTS) when path, or a -wal, -shm or head file of an earlier log
 * there, exists; on failure it leaves nothing behind. This is the only way
 * a log is created: no open creates one.
 */
int issuance_log_create(const char *path, gid_t group)
    __attribute__((warn_unused_result));

/* --- writer --- */

/*
 * issuance_log_open opens the existing log at path, switches it to WAL
 * mode, and migrates its schema to ISSUANCE_LOG_SCHEMA_VERSION in one
 * transaction. It refuses a missing log (CA_ERR_NOT_FOUND: "no issuance
 * log", or "the issuance log is gone" when its head state file says one
 * was there), a log whose chain does not hold the head recorded in the
 * head state file (CA_ERR_VERIFY: cut off or replaced; the detail names
 * both heads), a database with a newer schema (CA_ERR_UNSUPPORTED) or one
 * that is not an issuance log (CA_ERR_INVALID). It then records the
 * current head (issuance_log_head_save); when there was no head state file
 * it starts one (issuance_log_head_adopted). The caller frees *out with
 * issuance_log_close.
 */
int issuance_log_open(struct issuance_log **out, const char *path)
    __attribute__((warn_unused_result));

/*
 * issuance_log_head_save makes the log durable up to its current chain
 * head (one fsync of the WAL) and then, if the head moved since the last
 * save, records it in the head state file (written atomically and
 * fsync'd, with the log's mode and group). *out, when not NULL, gets the
 * head. Not on the commit path: the issuer calls it periodically and at
 * shutdown. Not to be called from two threads at once.
 */
int issuance_log_head_save(struct issuance_log *log,
    struct issuance_log_head *out) __attribute__((warn_unused_result));

/*
 * issuance_log_head_adopted returns 1 when issuance_log_open found no head
 * state file next to an existing log and started one from the log's own
 * head (a log from before head state files, or a deleted state file).
 */
int issuance_log_head_adopted(const struct issuance_log *log);

/* issuance_log_close closes the log; NULL is a no-op. */
void issuance_log_close(struct issuance_log *log);

/*
 * issuance_log_reserve inserts a row with status "reserved" under a fresh
 * random serial (see docs: 126 random bits, first octet 0x40..0x7f) and
 * writes it to serial_out. A serial that already exists is never reused: a
 * new one is drawn, up to ISSUANCE_LOG_SERIAL_TRIES times. The row is
 * committed but not synced (atomic, and it survives a crash of the process;
 * the certificate's own synced commit makes it durable).
 */
int issuance_log_reserve(struct issuance_log *log,
    uint8_t serial_out[ISSUANCE_LOG_SERIAL_LEN], const uint8_t *issuer_key_id,
    size_t issuer_key_id_len) __attribute__((warn_unused_result));

/*
 * issuance_log_complete records a signed certificate for a reserved serial
 * as described at struct issuance_completion, appends its chain entries,
 * and returns only once the commit that holds it is durable. Safe to call
 * from many threads: concurrent calls are committed together, each with
 * its own result. CA_ERR_NOT_FOUND: the serial is not in the log;
 * CA_ERR_EXISTS: it is not reserved (already issued, revoked, abandoned);
 * CA_ERR_DENIED: the token is used, revoked or unknown, or the instance was
 * seen before; CA_ERR_EXPIRED: the token expired; CA_ERR_REVOKED: the
 * parent certificate (parent_serial) is no longer "issued". On those
 * errors nothing was changed. CA_ERR_DB with "fsync" in the detail is the
 * exception: the commit happened but could not be made durable, so the
 * certificate may be recorded (and the token consumed) or may be lost at a
 * crash; the caller must treat the outcome as unknown, and every later
 * write is refused until the log is reopened. The caller must not close the
 * log while calls are in flight.
 */
int issuance_log_complete(struct issuance_log *log,
    const struct issuance_completion *req)
    __attribute__((warn_unused_result));

/*
 * issuance_log_abandon marks a reserved serial "abandoned" (signing
 * failed): it stays taken and is never reported as issued.
 */
int issuance_log_abandon(struct issuance_log *log,
    const uint8_t serial[ISSUANCE_LOG_SERIAL_LEN])
    __attribute__((warn_unused_result));

/*
 * issuance_log_recover is for the log's one issuer, once, after
 * issuance_log_open and before it takes requests (it lives in
 * issuance_log_recover.c). It takes an exclusive lock on the log file,
 * held until issuance_log_close, so that a second issuer on the same log
 * is refused (CA_ERR_EXISTS) rather than having its reservations resolved
 * under it. Then every row still "reserved" (left by an issuer that died
 * between reserving a serial and recording its certificate) is marked
 * "abandoned", as issuance_log_abandon does: no client can hold such a
 * certificate, since nothing is returned before it is recorded. *abandoned
 * is how many rows were resolved.
 */
int issuance_log_recover(struct issuance_log *log, int64_t *abandoned)
    __attribute__((warn_unused_result));

/*
 * issuance_log_revoke revokes an issued certificate with an RFC 5280
 * reason code (6, 7 and 8 are refused) at the current time and appends a
 * "revoke" chain entry. Revocation is final: revoking again is
 * CA_ERR_EXISTS; a serial that is not issued is CA_ERR_NOT_FOUND.
 */
int issuance_log_revoke(struct issuance_log *log,
    const uint8_t serial[ISSUANCE_LOG_SERIAL_LEN], int reason)
    __attribute__((warn_unused_result));

/*
 * issuance_log_find looks a serial up (the last committed state, on one of
 * the writer's read-only connections); *out is freed with
 * issuance_cert_free. CA_ERR_NOT_FOUND if absent.
 */
int issuance_log_find(struct issuance_log *log, struct issuance_cert **out,
    const uint8_t serial[ISSUANCE_LOG_SERIAL_LEN])
    __attribute__((warn_unused_result));

/*
 * issuance_log_foreach is issuance_log_reader_foreach on one of the
 * writer's read-only connections (the last committed state). cb should be
 * quick: the connection is lent for the whole listing.
 */
int issuance_log_foreach(struct issuance_log *log, issuance_cert_cb cb,
    void *arg) __attribute__((warn_unused_result));

/*
 * issuance_log_crl_number_next increments and returns in *out the CRL
 * number for issuer_key_id (the first is 1), durably, before the caller
 * signs the CRL that carries it.
 */
int issuance_log_crl_number_next(struct issuance_log *log, int64_t *out,
    const uint8_t *issuer_key_id, size_t issuer_key_id_len)
    __attribute__((warn_unused_result));

/*
 * issuance_log_seen reports whether an identity document instance was
 * already accepted: CA_OK when never seen, CA_ERR_DENIED when seen, and
 * then, if serial_out is not NULL, the serial of the certificate it was
 * accepted for is written there.
 */
int issuance_log_seen(struct issuance_log *log,
    uint8_t serial_out[ISSUANCE_LOG_SERIAL_LEN], const char *kind,
    const char *id) __attribute__((warn_unused_result));

/*
 * issuance_log_verify checks the hash chain like issuance_log_reader_verify,
 * on one of the writer's read-only connections, in one read transaction
 * (a snapshot of the last committed state); it does not stop the writer.
 */
int issuance_log_verify(struct issuance_log *log,
    struct issuance_verify_report *report)
    __attribute__((warn_unused_result));

/* --- join tokens (writer) --- */

/*
 * issuance_log_token_hash computes the hash under which a token secret is
 * stored: BLAKE2b-256 keyed with the ASCII string "carapace join token
 * v1" (a public domain-separation key, see docs/issuance-log.md).
 */
void issuance_log_token_hash(uint8_t out[ISSUANCE_LOG_HASH_LEN],
    const void *secret, size_t secret_len);

/*
 * issuance_log_token_create stores a new token (id, hash, identity,
 * allowed_names, profile, expires_at are read from t) and appends a
 * "token-create" chain entry. CA_ERR_EXISTS for a duplicate id or hash.
 */
int issuance_log_token_create(struct issuance_log *log,
    const struct join_token *t) __attribute__((warn_unused_result));

/*
 * issuance_log_token_find_hash returns the token whose stored hash equals
 * hash (compared in constant time), whatever its state; check it with
 * join_token_usable. *out is freed with join_token_free.
 */
int issuance_log_token_find_hash(struct issuance_log *log,
    struct join_token **out, const uint8_t hash[ISSUANCE_LOG_HASH_LEN])
    __attribute__((warn_unused_result));

/* issuance_log_token_find looks a token up by id. */
int issuance_log_token_find(struct issuance_log *log, struct join_token **out,
    const char *id) __attribute__((warn_unused_result));

/*
 * issuance_log_token_revoke revokes an unused token and appends a
 * "token-revoke" chain entry. CA_ERR_NOT_FOUND: unknown; CA_ERR_EXISTS:
 * already used or revoked.
 */
int issuance_log_token_revoke(struct issuance_log *log, const char *id)
    __attribute__((warn_unused_result));

/*
 * issuance_log_token_list calls cb for every token, oldest first, from one
 * of the writer's read-only connections (the last committed state).
 */
int issuance_log_token_list(struct issuance_log *log, join_token_cb cb,
    void *arg) __attribute__((warn_unused_result));

/*
 * join_token_usable returns CA_OK when t can still be used at now, else
 * CA_ERR_DENIED (used, revoked) or CA_ERR_EXPIRED, with a message that says
 * when and what to do next.
 */
int join_token_usable(const struct join_token *t, int64_t now)
    __attribute__((warn_unused_result));

/* --- selectors (issuance_log_selector.c) --- */

/*
 * issuance_selector_check returns CA_OK when s is a well-formed selector,
 * "kind:fact:value": kind and fact are 1 to ISSUANCE_LOG_SELECTOR_NAME_MAX
 * bytes of a-z, 0-9 and '-', value is at least one byte, the whole is at
 * most ISSUANCE_LOG_SELECTOR_MAX bytes of UTF-8 without control
 * characters. Otherwise CA_ERR_INVALID, with a detail that quotes what is
 * printable of s and names the rule broken.
 */
int issuance_selector_check(const char *s) __attribute__((warn_unused_result));

/*
 * issuance_log_foreach_selector calls cb for every certificate row (all
 * statuses; the DER not loaded) that carries selector, in reservation
 * order, on one of the writer's read-only connections. The rows passed to
 * cb have no selectors loaded. A selector that breaks
 * issuance_selector_check is CA_ERR_INVALID.
 */
int issuance_log_foreach_selector(struct issuance_log *log,
    const char *selector, issuance_cert_cb cb, void *arg)
    __attribute__((warn_unused_result));

/*
 * issuance_log_revoke_selector revokes, in one transaction, every
 * certificate that carries selector and is "issued" (reserved, abandoned
 * and already revoked ones are left as they are), each with reason (as
 * issuance_log_revoke: 6, 7 and 8 are refused) and its own "revoke" chain
 * entry, and returns once that is durable. *count is how many were
 * revoked (0 is not an error); when serials is not NULL, *serials gets
 * them (ISSUANCE_LOG_SERIAL_LEN bytes each, in reservation order), freed
 * by the caller with free(), NULL when *count is 0. On an error nothing
 * was revoked.
 */
int issuance_log_revoke_selector(struct issuance_log *log,
    const char *selector, int reason, size_t *count, uint8_t **serials)
    __attribute__((warn_unused_result));

void join_token_free(struct join_token *t);
void issuance_cert_free(struct issuance_cert *c);

/* issuance_status_name returns "reserved", "issued", "revoked", ... */
const char *issuance_status_name(enum issuance_status s);

/* --- read-only --- */

/*
 * issuance_log_reader_open opens an existing log read-only
 * (SQLITE_OPEN_READONLY, query_only). It refuses a schema it does not know
 * (older: run the issuer once to migrate; newer: upgrade). The caller frees
 * *out with issuance_log_reader_close.
 */
int issuance_log_reader_open(struct issuance_log_reader **out,
    const char *path) __attribute__((warn_unused_result));

void issuance_log_reader_close(struct issuance_log_reader *r);

/* issuance_log_reader_find is issuance_log_find on a reader. */
int issuance_log_reader_find(struct issuance_log_reader *r,
    struct issuance_cert **out, const uint8_t serial[ISSUANCE_LOG_SERIAL_LEN])
    __attribute__((warn_unused_result));

/*
 * issuance_log_reader_revoked calls cb for every revoked certificate of
 * issuer_key_id, in serial order.
 */
int issuance_log_reader_revoked(struct issuance_log_reader *r,
    const uint8_t *issuer_key_id, size_t issuer_key_id_len,
    issuance_revoked_cb cb, void *arg) __attribute__((warn_unused_result));

/*
 * issuance_log_reader_foreach calls cb for every certificate row (all
 * statuses), in reservation order; the DER is not loaded (der == NULL).
 */
int issuance_log_reader_foreach(struct issuance_log_reader *r,
    issuance_cert_cb cb, void *arg) __attribute__((warn_unused_result));

/*
 * issuance_log_reader_crl_number returns in *out the last CRL number
 * issued for issuer_key_id, or 0 when none was.
 */
int issuance_log_reader_crl_number(struct issuance_log_reader *r,
    int64_t *out, const uint8_t *issuer_key_id, size_t issuer_key_id_len)
    __attribute__((warn_unused_result));

/*
 * issuance_log_reader_verify recomputes the hash chain from the rows and
 * checks sequence numbers, links and the agreement of statuses with the
 * chain. CA_OK when intact; CA_ERR_VERIFY when not, with report->bad_seq
 * and report->what naming the first bad entry and what did not match.
 * report may not be NULL.
 */
int issuance_log_reader_verify(struct issuance_log_reader *r,
    struct issuance_verify_report *report)
    __attribute__((warn_unused_result));

#endif /* ISSUANCE_LOG_H */
