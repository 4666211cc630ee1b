/* SPDX-License-Identifier: ISC */
/*
 * nonce: a bounded, thread-safe cache of the x509pop nonces this issuer
 * handed out. Entries live in a ring in issue order (the ttl is the same
 * for all, so that is also expiry order) and in a chained hash table keyed
 * by a keyed BLAKE2b-256 of the nonce. An entry is dropped from the ring's
 * head once it has been expired for another ttl (until then a replay or a
 * late use gets a precise message); when the ring is full its head is
 * evicted only if it has expired or been used.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/ca_error.h"
#include "attest/nonce.h"

#define NIL	((size_t)-1)

struct nonce_entry {
	uint8_t hash[crypto_generichash_BYTES];
	time_t expires;
	int used;
	size_t next;		/* hash chain */
};

struct nonce_cache {
	pthread_mutex_t mu;
	uint8_t key[crypto_generichash_KEYBYTES];
	nonce_clock_fn clock;
	void *clock_arg;
	unsigned ttl;
	size_t max;		/* ring capacity */
	size_t head, count;	/* ring: oldest entry and number held */
	struct nonce_entry *ent;
	size_t *bucket;		/* nbuckets heads */
	size_t nbuckets;	/* power of two */
};

static time_t
now_of(const struct nonce_cache *c)
{
	return c->clock != NULL ? c->clock(c->clock_arg) : time(NULL);
}

int
nonce_cache_new(struct nonce_cache **out, size_t max, unsigned ttl,
    nonce_clock_fn clock, void *clock_arg)
{
	struct nonce_cache *c = NULL;
	size_t i;
	int rc = CA_ERR_NOMEM;

	*out = NULL;
	if (max == 0 || max > NONCE_MAX_MAX)
		return ca_error(CA_ERR_USAGE, "nonce cache: size %zu is out "
		    "of range 1..%d", max, NONCE_MAX_MAX);
	if (ttl == 0 || ttl > NONCE_TTL_MAX)
		return ca_error(CA_ERR_USAGE, "nonce cache: ttl %u s is out "
		    "of range 1..%d", ttl, NONCE_TTL_MAX);
	if (sodium_init() < 0)
		return ca_error(CA_ERR_INTERNAL, "nonce cache: libsodium "
		    "cannot be initialised");
	if ((c = calloc(1, sizeof(*c))) == NULL)
		goto out;
	if (pthread_mutex_init(&c->mu, NULL) != 0) {
		free(c);
		c = NULL;
		rc = ca_error(CA_ERR_INTERNAL, "nonce cache: mutex");
		goto out;
	}
	c->max = max;
	c->ttl = ttl;
	c->clock = clock;
	c->clock_arg = clock_arg;
	for (c->nbuckets = 16; c->nbuckets < max; c->nbuckets <<= 1)
		;
	if ((c->ent = calloc(max, sizeof(*c->ent))) == NULL ||
	    (c->bucket = calloc(c->nbuckets, sizeof(*c->bucket))) == NULL)
		goto out;
	for (i = 0; i < c->nbuckets; i++)
		c->bucket[i] = NIL;
	crypto_generichash_keygen(c->key);
	*out = c;
	c = NULL;
	rc = CA_OK;
 out:
	if (rc == CA_ERR_NOMEM)
		rc = ca_error(CA_ERR_NOMEM, "nonce cache: out of memory");
	nonce_cache_free(c);
	return rc;
}

void
nonce_cache_free(struct nonce_cache *c)
{
	if (c == NULL)
		return;
	pthread_mutex_destroy(&c->mu);
	if (c->ent != NULL) {
		sodium_memzero(c->ent, c->max * sizeof(*c->ent));
		free(c->ent);
	}
	free(c->bucket);
	sodium_memzero(c->key, sizeof(c->key));
	free(c);
}

static size_t
bucket_of(const struct nonce_cache *c, const uint8_t *h)
{
	uint64_t v;

	memcpy(&v, h, sizeof(v));
	return (size_t)(v & (c->nbuckets - 1));
}

static void
nonce_hash(const struct nonce_cache *c, uint8_t h[crypto_generichash_BYTES],
    const uint8_t *nonce, size_t len)
{
	crypto_generichash(h, crypto_generichash_BYTES, nonce, len, c->key,
	    sizeof(c->key));
}

/* Unlink ring slot i from its chain. */
static void
chain_remove(struct nonce_cache *c, size_t i)
{
	size_t *pp = &c->bucket[bucket_of(c, c->ent[i].hash)];

	while (*pp != NIL) {
		if (*pp == i) {
			*pp = c->ent[i].next;
			break;
		}
		pp = &c->ent[*pp].next;
	}
	sodium_memzero(&c->ent[i], sizeof(c->ent[i]));
}

/* Drop the oldest entry. */
static void
ring_pop(struct nonce_cache *c)
{
	chain_remove(c, c->head);
	c->head = (c->head + 1) % c->max;
	c->count--;
}

/* Forget entries expired for more than a ttl; caller holds the lock. */
static void
prune(struct nonce_cache *c, time_t now)
{
	while (c->count > 0 &&
	    now >= c->ent[c->head].expires + (time_t)c->ttl)
		ring_pop(c);
}

int
nonce_issue(struct nonce_cache *c, uint8_t out[NONCE_LEN], time_t *expires)
{
	struct nonce_entry *e;
	size_t i, b;
	time_t now;
	int rc = CA_ERR_INTERNAL;

	if (c == NULL || out == NULL)
		return ca_error(CA_ERR_USAGE, "nonce_issue: bad arguments");
	pthread_mutex_lock(&c->mu);
	now = now_of(c);
	prune(c, now);
	if (c->count == c->max) {
		/* Evict the oldest if it is spent; a replay of it is then
		 * "unknown", still refused. */
		if (now < c->ent[c->head].expires && !c->ent[c->head].used) {
			rc = ca_error(CA_ERR_DENIED, "nonce: the issuer has "
			    "%zu outstanding nonces, its limit; try again in "
			    "a few seconds", c->max);
			goto out;
		}
		ring_pop(c);
	}
	randombytes_buf(out, NONCE_LEN);
	i = (c->head + c->count) % c->max;
	e = &c->ent[i];
	nonce_hash(c, e->hash, out, NONCE_LEN);
	e->expires = now + (time_t)c->ttl;
	e->used = 0;
	b = bucket_of(c, e->hash);
	e->next = c->bucket[b];
	c->bucket[b] = i;
	c->count++;
	if (expires != NULL)
		*expires = e->expires;
	rc = CA_OK;
 out:
	pthread_mutex_unlock(&c->mu);
	return rc;
}

int
nonce_consume(struct nonce_cache *c, const uint8_t *nonce, size_t len)
{
	uint8_t h[crypto_generichash_BYTES];
	struct nonce_entry *e = NULL;
	size_t i;
	time_t now;
	int rc = CA_ERR_INTERNAL;

	if (c == NULL || (nonce == NULL && len > 0))
		return ca_error(CA_ERR_USAGE, "nonce_consume: bad arguments");
	if (len != NONCE_LEN)
		return ca_error(CA_ERR_INVALID, "nonce: %zu bytes, expected %d;"
		    " ask the issuer for a new nonce", len, NONCE_LEN);
	nonce_hash(c, h, nonce, len);
	pthread_mutex_lock(&c->mu);
	now = now_of(c);
	prune(c, now);
	for (i = c->bucket[bucket_of(c, h)]; i != NIL; i = c->ent[i].next)
		if (sodium_memcmp(c->ent[i].hash, h, sizeof(h)) == 0) {
			e = &c->ent[i];
			break;
		}
	if (e == NULL) {
		rc = ca_error(CA_ERR_NOT_FOUND, "nonce: not issued by this "
		    "issuer, or forgotten after it expired or the issuer "
		    "restarted; ask for a new nonce");
		goto out;
	}
	if (e->used) {
		rc = ca_error(CA_ERR_DENIED, "nonce already used: a nonce is "
		    "good for one request; ask for a new nonce");
		goto out;
	}
	if (now >= e->expires) {
		rc = ca_error(CA_ERR_EXPIRED, "nonce expired (nonces are good "
		    "for %u s); ask for a new nonce and sign at once",
		    c->ttl);
		goto out;
	}
	e->used = 1;
	rc = CA_OK;
 out:
	pthread_mutex_unlock(&c->mu);
	sodium_memzero(h, sizeof(h));
	return rc;
}

size_t
nonce_cache_count(struct nonce_cache *c)
{
	size_t n;

	if (c == NULL)
		return 0;
	pthread_mutex_lock(&c->mu);
	n = c->count;
	pthread_mutex_unlock(&c->mu);
	return n;
}
