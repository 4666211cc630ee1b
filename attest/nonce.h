/* SPDX-License-Identifier: ISC */
/*
 * nonce: the issuer's in-memory cache of x509pop nonces. A nonce is 32
 * random bytes, good once and for a short time (ttl seconds). The cache
 * keeps only a keyed BLAKE2b hash of each nonce (the key is random per
 * cache), so lookups are by hash with the final comparison in constant
 * time (sodium_memcmp), and an attacker cannot aim nonces at one bucket.
 *
 * A consumed nonce is remembered until well after it expires, so that a
 * replay is reported as "already used" rather than "unknown". The cache is
 * bounded: when it is full of nonces that are neither used nor expired,
 * nonce_issue refuses (CA_ERR_DENIED, "try again in a few seconds")
 * rather than evict a nonce a client is about to use.
 *
 * Nonces are lost when the issuer restarts; a client then asks again.
 * All functions are thread-safe.
 */
#ifndef NONCE_H
#define NONCE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define NONCE_LEN		32
#define NONCE_TTL_DEFAULT	60	/* seconds */
#define NONCE_MAX_DEFAULT	65536	/* outstanding nonces */
#define NONCE_TTL_MAX		3600
#define NONCE_MAX_MAX		(1024 * 1024)

struct nonce_cache;

/* A clock, for tests; NULL means time(NULL). */
typedef time_t (*nonce_clock_fn)(void *arg);

/*
 * nonce_cache_new makes a cache of at most max nonces (1..NONCE_MAX_MAX),
 * each good for ttl seconds (1..NONCE_TTL_MAX), reading time from clock
 * (or time(NULL) when clock is NULL). Free with nonce_cache_free.
 */
int nonce_cache_new(struct nonce_cache **out, size_t max, unsigned ttl,
    nonce_clock_fn clock, void *clock_arg)
    __attribute__((warn_unused_result));

/* nonce_cache_free wipes and frees the cache; NULL does nothing. */
void nonce_cache_free(struct nonce_cache *c);

/*
 * nonce_issue writes a new nonce to out and, when expires is not NULL,
 * the time it stops being good. CA_ERR_DENIED when the cache is full.
 */
int nonce_issue(struct nonce_cache *c, uint8_t out[NONCE_LEN],
    time_t *expires) __attribute__((warn_unused_result));

/*
 * nonce_consume accepts a nonce of len bytes once: CA_OK the first time
 * within its ttl; CA_ERR_DENIED "nonce already used" for a replay;
 * CA_ERR_EXPIRED when its time is up; CA_ERR_NOT_FOUND when this issuer
 * never issued it (or forgot it after a restart); CA_ERR_INVALID for a
 * wrong length. Each message says what the client should do (ask for a
 * new nonce).
 */
int nonce_consume(struct nonce_cache *c, const uint8_t *nonce, size_t len)
    __attribute__((warn_unused_result));

/* nonce_cache_count: entries held (outstanding and remembered). */
size_t nonce_cache_count(struct nonce_cache *c);

#endif /* NONCE_H */
