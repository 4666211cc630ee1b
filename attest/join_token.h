/* SPDX-License-Identifier: ISC */
/*
 * join_token: one-time secrets an operator creates for a named identity.
 *
 * A token is an id (16 random bytes, public: the lookup key in the issuance
 * log, printed in lists and messages) and a secret (32 random bytes from
 * randombytes_buf). It is handed to a person as one string:
 *
 *   cpt1.<id: 32 lowercase hex digits>.<secret: 43 characters base64url,
 *                                       RFC 4648 section 5, no padding>
 *
 * 81 characters in all. The parser is strict: any other length, case,
 * alphabet, padding, whitespace or non-zero trailing bits is refused with
 * an error that names the part at fault (never the secret).
 *
 * The log stores only the hash (JOIN_TOKEN_HASH_LEN bytes):
 *
 *   BLAKE2b-256 keyed with JOIN_TOKEN_HASH_DOMAIN (the 22 ASCII bytes
 *   "carapace join token v1", no NUL) over the 32-byte secret
 *
 * (crypto_generichash with that public key, 32-byte output), which is the
 * definition log/issuance_log.h gives for issuance_log_token_hash, so
 * the two agree. The key separates these hashes from any other BLAKE2b use.
 * Hashes are compared with sodium_memcmp; the record's id is compared too.
 *
 * A parsed or generated token is a struct join_token_cred ("credential":
 * the id and the secret), so as not to clash with log/issuance_log.h's
 * struct join_token (the stored row). Its memory is sodium_malloc'd (guard
 * pages, wiped when freed); so is a formatted token string.
 */
#ifndef JOIN_TOKEN_H
#define JOIN_TOKEN_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define JOIN_TOKEN_PREFIX	"cpt1."
#define JOIN_TOKEN_ID_LEN	16
#define JOIN_TOKEN_ID_HEX	(2 * JOIN_TOKEN_ID_LEN + 1)
#define JOIN_TOKEN_SECRET_LEN	32
#define JOIN_TOKEN_SECRET_B64	43	/* base64url, no padding */
#define JOIN_TOKEN_STR_LEN	(5 + 32 + 1 + 43)	/* without the NUL */
#define JOIN_TOKEN_HASH_LEN	32
#define JOIN_TOKEN_HASH_DOMAIN	"carapace join token v1"

struct join_token_cred {
	uint8_t id[JOIN_TOKEN_ID_LEN];
	uint8_t secret[JOIN_TOKEN_SECRET_LEN];
};

/*
 * A token as the log keeps it. Strings and the names array are borrowed
 * from whoever filled the record in (the log reader or the operator
 * command). names are policy grants (policy.h): "host.example",
 * "*.node.example" or "=*.node.example". A time of 0 means "not".
 */
struct join_token_record {
	uint8_t id[JOIN_TOKEN_ID_LEN];
	uint8_t hash[JOIN_TOKEN_HASH_LEN];
	const char *identity;		/* the named identity */
	const char *const *names;	/* allowed names */
	size_t nnames;
	const char *profile;		/* profile section */
	time_t created;
	time_t expires;			/* required */
	time_t used_at;			/* 0 while unused */
	time_t revoked_at;		/* 0 unless revoked */
};

enum join_token_state {
	JOIN_TOKEN_OK = 0,
	JOIN_TOKEN_MISMATCH,	/* wrong id or secret */
	JOIN_TOKEN_REVOKED,
	JOIN_TOKEN_USED,
	JOIN_TOKEN_EXPIRED,
};

/*
 * join_token_generate makes a new random token. The caller frees it with
 * join_token_cred_free. Fails only when sodium_malloc does (CA_ERR_NOMEM) or
 * libsodium is not initialised (CA_ERR_INTERNAL).
 */
int join_token_generate(struct join_token_cred **out)
    __attribute__((warn_unused_result));

/* join_token_cred_free wipes and frees t; NULL does nothing. */
void join_token_cred_free(struct join_token_cred *t);

/*
 * join_token_format writes the token string ("cpt1.<id>.<secret>") into a
 * new sodium_malloc'd string the caller frees with join_token_string_free.
 */
int join_token_format(char **out, const struct join_token_cred *t)
    __attribute__((warn_unused_result));

/* join_token_string_free wipes and frees a formatted token; NULL is ok. */
void join_token_string_free(char *s);

/*
 * join_token_parse parses a token string (strictly, see above) into a new
 * token the caller frees with join_token_cred_free. CA_ERR_INVALID names the
 * part that is wrong; the message never contains the secret.
 */
int join_token_parse(struct join_token_cred **out, const char *s)
    __attribute__((warn_unused_result));

/* join_token_id_hex writes the id as 32 lowercase hex digits plus NUL. */
char *join_token_id_hex(char out[JOIN_TOKEN_ID_HEX],
    const uint8_t id[JOIN_TOKEN_ID_LEN]);

/* join_token_hash computes the stored hash of t (see above). */
int join_token_hash(uint8_t out[JOIN_TOKEN_HASH_LEN],
    const struct join_token_cred *t) __attribute__((warn_unused_result));

/*
 * join_token_record_check validates a record an operator is about to
 * create: an identity, a profile, one or more valid name grants and an
 * expiry after now. CA_ERR_INVALID naming the field otherwise.
 */
int join_token_record_check(const struct join_token_record *rec, time_t now)
    __attribute__((warn_unused_result));

/*
 * join_token_verdict decides whether the presented token t may be used
 * now against its stored record: the id and hash must match (constant
 * time), and the token must not be revoked, used or expired, checked in
 * that order. *state (when not NULL) gets the verdict. Returns CA_OK, or
 * CA_ERR_DENIED (mismatch, revoked, used) or CA_ERR_EXPIRED with a message
 * a person can act on: "join token 3f..: expired at 2026-05-01T12:00:00Z;
 * ask the operator for a new one". It changes nothing: consuming the token
 * is the log's job, atomically with the certificate's commit.
 */
int join_token_verdict(enum join_token_state *state,
    const struct join_token_record *rec, const struct join_token_cred *t,
    time_t now) __attribute__((warn_unused_result));

#endif /* JOIN_TOKEN_H */
