/* SPDX-License-Identifier: ISC */
/*
 * transcript: the ceremony's hash-chained, signature-sealed record of what
 * ran (docs/ceremony-file.md, "Transcript").
 *
 * A transcript is a text file of records, each:
 *
 *   record N                       N = 1, 2, ... in order
 *   prev HEX                       the previous record's hash, or 64 zeros
 *   time 2026-11-23T10:04:11Z
 *   step NAME
 *   KEY VALUE                      any number of body lines
 *   outcome ok | failed: MESSAGE | cancelled
 *   hash HEX                       SHA-256 over the lines "record" through
 *                                  "outcome", each with its "\n"
 *   (one empty line)
 *
 * A seal record (step "seal") signs the record before it with the root key:
 * its "signature DIGEST BASE64" line is a signature over the bytes
 * "carapace transcript seal v1\nrecord N\nhash HEX\n" of the sealed record
 * N, so each seal commits to the whole chain before it. The signing happens
 * through a callback, so this module does not depend on hsm/.
 *
 * The transcript is untrusted input for an auditor: parsing caps the file
 * size, the line length, the number of records and the lines per record,
 * and refuses control characters. Values written by transcript_entry_add
 * have control characters escaped as \xNN.
 *
 * Every function returns CA_OK or a ca_err code with a detail message that
 * names the transcript, the line and the record.
 */
#ifndef TRANSCRIPT_H
#define TRANSCRIPT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>

#include "common/fileio.h"

#define TRANSCRIPT_MAX_SIZE	(16 * 1024 * 1024)
#define TRANSCRIPT_MAX_LINE	8192	/* bytes, without the newline */
#define TRANSCRIPT_MAX_RECORDS	100000
#define TRANSCRIPT_MAX_FIELDS	256	/* body lines per record */

/* The domain-separation prefix of the bytes a seal signs. */
#define TRANSCRIPT_SEAL_CONTEXT	"carapace transcript seal v1\n"

enum transcript_outcome {
	TRANSCRIPT_OK = 0,
	TRANSCRIPT_FAILED,
	TRANSCRIPT_CANCELLED,
};

struct transcript_field {
	const char *key;
	const char *value;
};

struct transcript_record {
	unsigned long index;	/* N of "record N" */
	size_t line;		/* line number of "record N" in the file */
	char prev[FILEIO_SHA256_HEX];
	char hash[FILEIO_SHA256_HEX];
	const char *time;
	const char *step;
	const char *outcome;	/* "ok", "failed: ...", "cancelled" */
	size_t nfields;
	struct transcript_field *fields;	/* body lines, in order */
};

struct transcript;

/*
 * transcript_load reads and parses path, checking every record's hash and
 * every prev link (not the seals: see transcript_verify). A missing file is
 * CA_ERR_NOT_FOUND; a damaged one is CA_ERR_VERIFY naming the first bad
 * line and record. The caller frees the result with transcript_free.
 */
int transcript_load(struct transcript **out, const char *path)
    __attribute__((warn_unused_result));

/*
 * transcript_parse is transcript_load on a buffer (name is used in
 * messages). The buffer is copied.
 */
int transcript_parse(struct transcript **out, const uint8_t *buf, size_t len,
    const char *name) __attribute__((warn_unused_result));

/* transcript_free releases t; transcript_free(NULL) does nothing. */
void transcript_free(struct transcript *t);

/* transcript_count: the number of records. */
size_t transcript_count(const struct transcript *t);

/* transcript_record_at: record i (0-based), borrowed; NULL past the end. */
const struct transcript_record *transcript_record_at(
    const struct transcript *t, size_t i);

/*
 * transcript_record_field returns the value of the n-th (0-based) body
 * line with this key, or NULL.
 */
const char *transcript_record_field(const struct transcript_record *r,
    const char *key, size_t n);

/* A record being built. */
struct transcript_entry;

/*
 * transcript_entry_new starts a record for step (a lowercase word) in the
 * transcript at path, timed now. Free it with transcript_entry_free.
 */
int transcript_entry_new(struct transcript_entry **out, const char *path,
    const char *step) __attribute__((warn_unused_result));
void transcript_entry_free(struct transcript_entry *e);

/* transcript_entry_set_time overrides the record's time (tests). */
void transcript_entry_set_time(struct transcript_entry *e, time_t t);

/*
 * transcript_entry_add appends the body line "KEY VALUE". key is
 * [a-z][a-z0-9-]*; control characters in the value are escaped as \xNN,
 * and an over-long value is cut at TRANSCRIPT_MAX_LINE.
 */
int transcript_entry_add(struct transcript_entry *e, const char *key,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)))
    __attribute__((warn_unused_result));

/*
 * transcript_entry_file appends "KEY NAME sha256:HEX" for a file: NAME is
 * file's path relative to the transcript's directory when the file lies
 * under it, else its absolute path (so verify can find it again).
 */
int transcript_entry_file(struct transcript_entry *e, const char *key,
    const char *file, const uint8_t sha256[FILEIO_SHA256_LEN])
    __attribute__((warn_unused_result));

/*
 * transcript_append locks the transcript (flock), checks the chain that is
 * already there (refusing to extend a damaged transcript), appends the
 * record with its outcome (message is the failure text for
 * TRANSCRIPT_FAILED) and fsyncs. A missing transcript is created. The
 * record's hash is written to hash_out when it is not NULL.
 */
int transcript_append(struct transcript_entry *e,
    enum transcript_outcome outcome, const char *message,
    char hash_out[FILEIO_SHA256_HEX]) __attribute__((warn_unused_result));

/*
 * transcript_sign_fn signs msg with digest ("sha256", "sha384", "sha512")
 * and returns the signature in *sig (OPENSSL_malloc'd, freed by the
 * caller with OPENSSL_free). Returns CA_OK or a ca_err code.
 */
typedef int (*transcript_sign_fn)(unsigned char **sig, size_t *siglen,
    const char *digest, const unsigned char *msg, size_t msglen, void *arg);

/*
 * transcript_seal appends a seal record over the last record of the
 * transcript at path, signed through sign. key_desc (the key URI and its
 * SPKI fingerprint, "URI spki-sha256:HEX") goes on the seal's key line.
 * An empty transcript cannot be sealed (CA_ERR_INVALID).
 */
int transcript_seal(const char *path, const char *key_desc,
    const char *digest, transcript_sign_fn sign, void *arg)
    __attribute__((warn_unused_result));

/* transcript_verify flags. */
#define TRANSCRIPT_ALLOW_UNSEALED	0x1u

struct transcript_report {
	size_t records;		/* records in the transcript */
	size_t seals;		/* seal records, all verified */
	unsigned long sealed_through;	/* number of the last seal record; it
					   covers every record before it */
	char last_hash[FILEIO_SHA256_HEX];	/* hash of the last record, "" if
					   none: a transcript cut after an
					   earlier seal still verifies, so
					   officers compare this with the
					   paper log */
	size_t unsealed;	/* records after the last seal */
	size_t outputs;		/* output files recorded */
	size_t outputs_ok;	/* present with the recorded SHA-256 */
	size_t nmissing;	/* recorded outputs that are not present */
	char **missing;		/* their names */
};

/*
 * transcript_verify checks the transcript at path: every hash and link,
 * every seal's signature against pub (and the SPKI fingerprint on the
 * seal's key line against pub), and every recorded output that is present
 * against its SHA-256 (a missing output is listed in the report, not an
 * error). Records after the last seal are an error unless flags has
 * TRANSCRIPT_ALLOW_UNSEALED. The report is filled as far as the check got;
 * release it with transcript_report_clear in every case.
 */
int transcript_verify(struct transcript_report *rep, const char *path,
    EVP_PKEY *pub, unsigned flags) __attribute__((warn_unused_result));
void transcript_report_clear(struct transcript_report *rep);

#endif /* TRANSCRIPT_H */
