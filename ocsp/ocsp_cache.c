/* SPDX-License-Identifier: ISC */
/*
 * ocsp_cache: pre-signed OCSP responses, keyed by the DER of a normalised
 * CertID (hash algorithm with NULL parameters, issuerNameHash,
 * issuerKeyHash, serial; ocsp_respond.c builds it), so that the spellings
 * of one question share one entry and one signature, and the entries for
 * good, revoked and unissued serials are bounded by the log (two hash
 * algorithms per serial). A chained hash table under a read-write lock; the bucket index is
 * SipHash (libsodium crypto_shorthash) with a random key, so that hostile
 * CertIDs cannot be chosen to collide.
 *
 * A generation counter orders answers against log changes: a thread reads
 * the generation, looks the status up, signs, and stores the response only
 * if the generation has not moved meanwhile (ocsp_cache_put). The log
 * watcher bumps it before it re-reads the log, so a response signed from
 * the old state can never overwrite one signed from the new state.
 *
 * When the watcher cannot re-sign the response of a serial whose status
 * changed, it marks the entry unusable (ocsp_cache_invalidate) rather than
 * let the old answer, a "good" for a certificate just revoked, be served
 * until its nextUpdate: requests then take the uncached path (a live
 * signature, or tryLater with the HSM gone), and the entry stays for the
 * next poll to re-sign.
 *
 * An entry records the generation of its issuer's signer (ocsp_signer.c):
 * once a renewed signing certificate is swapped in, the entries signed
 * under the old one are not served (requests take the uncached path) and
 * are collected for re-signing like stale ones.
 *
 * "unknown" answers are cached too (so unknown serials do not cost a
 * signature each), at most max_unknown of them; when that is reached, they
 * are all dropped. Every bump also drops them: a serial unknown a moment
 * ago may have been reserved since.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/ca_error.h"
#include "ocsp/ocsp_responder.h"

#define CACHE_MIN_BUCKETS	1024

struct ocsp_cache {
	pthread_rwlock_t lock;
	struct ocsp_entry **bucket;
	size_t nbuckets;	/* a power of two */
	size_t count;
	size_t unknown;
	long max_unknown;
	uint64_t gen;
	uint8_t sipkey[crypto_shorthash_KEYBYTES];
};

void
ocsp_entry_free(struct ocsp_entry *e)
{
	if (e == NULL)
		return;
	free(e->key);
	free(e->der);
	free(e);
}

void
ocsp_reply_clear(struct ocsp_reply *r)
{
	if (r == NULL)
		return;
	free(r->der);
	memset(r, 0, sizeof(*r));
}

int
ocsp_cache_new(struct ocsp_cache **out, long max_unknown)
{
	struct ocsp_cache *c;

	*out = NULL;
	if (sodium_init() < 0)
		return ca_error(CA_ERR_INTERNAL, "libsodium: cannot initialise");
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return ca_error(CA_ERR_NOMEM, "out of memory");
	c->nbuckets = CACHE_MIN_BUCKETS;
	if ((c->bucket = calloc(c->nbuckets, sizeof(*c->bucket))) == NULL) {
		free(c);
		return ca_error(CA_ERR_NOMEM, "out of memory");
	}
	if (pthread_rwlock_init(&c->lock, NULL) != 0) {
		free(c->bucket);
		free(c);
		return ca_error(CA_ERR_INTERNAL, "pthread_rwlock_init failed");
	}
	c->max_unknown = max_unknown;
	c->gen = 1;
	randombytes_buf(c->sipkey, sizeof(c->sipkey));
	*out = c;
	return CA_OK;
}

void
ocsp_cache_free(struct ocsp_cache *c)
{
	struct ocsp_entry *e, *next;
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nbuckets; i++)
		for (e = c->bucket[i]; e != NULL; e = next) {
			next = e->next;
			ocsp_entry_free(e);
		}
	free(c->bucket);
	pthread_rwlock_destroy(&c->lock);
	free(c);
}

static uint64_t
key_hash(const struct ocsp_cache *c, const uint8_t *key, size_t len)
{
	unsigned char h[crypto_shorthash_BYTES];
	uint64_t v;

	crypto_shorthash(h, key, len, c->sipkey);
	memcpy(&v, h, sizeof(v));
	return v;
}

static struct ocsp_entry **
slot_find(struct ocsp_cache *c, uint64_t hash, const uint8_t *key,
    size_t len)
{
	struct ocsp_entry **pp;

	for (pp = &c->bucket[hash & (c->nbuckets - 1)]; *pp != NULL;
	    pp = &(*pp)->next)
		if ((*pp)->hash == hash && (*pp)->key_len == len &&
		    memcmp((*pp)->key, key, len) == 0)
			return pp;
	return pp;
}

int
ocsp_cache_get(struct ocsp_cache *c, struct ocsp_reply *out,
    const uint8_t *key, size_t key_len, time_t now)
{
	struct ocsp_entry *e;
	uint64_t hash = key_hash(c, key, key_len);
	int ret = 0;

	pthread_rwlock_rdlock(&c->lock);
	e = *slot_find(c, hash, key, key_len);
	if (e != NULL && !e->unusable && e->next_update > now &&
	    e->signer_gen == atomic_load(&e->issuer->signer_gen)) {
		if ((out->der = malloc(e->der_len)) == NULL) {
			ret = -1;
			goto out;
		}
		memcpy(out->der, e->der, e->der_len);
		out->len = e->der_len;
		out->status = OCSP_RESPONSE_STATUS_SUCCESSFUL;
		out->cacheable = 1;
		out->this_update = e->this_update;
		out->next_update = e->next_update;
		memcpy(out->etag, e->etag, sizeof(out->etag));
		memcpy(out->last_modified, e->last_modified,
		    sizeof(out->last_modified));
		memcpy(out->expires, e->expires, sizeof(out->expires));
		ret = 1;
	}
 out:
	pthread_rwlock_unlock(&c->lock);
	return ret;
}

static void
grow(struct ocsp_cache *c)
{
	struct ocsp_entry **nb, *e, *next;
	size_t i, n = c->nbuckets * 2;

	if ((nb = calloc(n, sizeof(*nb))) == NULL)
		return;		/* keep the longer chains */
	for (i = 0; i < c->nbuckets; i++)
		for (e = c->bucket[i]; e != NULL; e = next) {
			next = e->next;
			e->next = nb[e->hash & (n - 1)];
			nb[e->hash & (n - 1)] = e;
		}
	free(c->bucket);
	c->bucket = nb;
	c->nbuckets = n;
}

/* drop_unknown removes every "unknown" entry; the write lock is held. */
static void
drop_unknown(struct ocsp_cache *c)
{
	struct ocsp_entry **pp, *e;
	size_t i;

	if (c->unknown == 0)
		return;
	for (i = 0; i < c->nbuckets; i++)
		for (pp = &c->bucket[i]; (e = *pp) != NULL;) {
			if (e->state == OCSP_STATE_UNKNOWN) {
				*pp = e->next;
				ocsp_entry_free(e);
				c->count--;
			} else
				pp = &e->next;
		}
	c->unknown = 0;
}

int
ocsp_cache_put(struct ocsp_cache *c, struct ocsp_entry *e, uint64_t gen)
{
	struct ocsp_entry **pp, *old;
	int ret = 0;

	if (e == NULL)
		return -1;
	e->hash = key_hash(c, e->key, e->key_len);
	pthread_rwlock_wrlock(&c->lock);
	if (gen != c->gen)
		goto out;
	if (e->state == OCSP_STATE_UNKNOWN) {
		if (c->max_unknown == 0)
			goto out;
		if (c->unknown >= (size_t)c->max_unknown)
			drop_unknown(c);
	}
	pp = slot_find(c, e->hash, e->key, e->key_len);
	if ((old = *pp) != NULL) {
		e->next = old->next;
		*pp = e;
		if (old->state == OCSP_STATE_UNKNOWN)
			c->unknown--;
		ocsp_entry_free(old);
	} else {
		e->next = NULL;
		*pp = e;
		c->count++;
	}
	if (e->state == OCSP_STATE_UNKNOWN)
		c->unknown++;
	e = NULL;
	ret = 1;
	if (c->count > c->nbuckets)
		grow(c);
 out:
	pthread_rwlock_unlock(&c->lock);
	ocsp_entry_free(e);
	return ret;
}

int
ocsp_cache_invalidate(struct ocsp_cache *c, const uint8_t *key,
    size_t key_len)
{
	struct ocsp_entry *e;
	uint64_t hash = key_hash(c, key, key_len);
	int ret = 0;

	pthread_rwlock_wrlock(&c->lock);
	if ((e = *slot_find(c, hash, key, key_len)) != NULL) {
		e->unusable = 1;
		ret = 1;
	}
	pthread_rwlock_unlock(&c->lock);
	return ret;
}

uint64_t
ocsp_cache_gen(struct ocsp_cache *c)
{
	uint64_t g;

	pthread_rwlock_rdlock(&c->lock);
	g = c->gen;
	pthread_rwlock_unlock(&c->lock);
	return g;
}

uint64_t
ocsp_cache_bump(struct ocsp_cache *c)
{
	uint64_t g;

	pthread_rwlock_wrlock(&c->lock);
	g = ++c->gen;
	drop_unknown(c);
	pthread_rwlock_unlock(&c->lock);
	return g;
}

void
ocsp_stale_free(struct ocsp_stale *s, size_t n)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < n; i++)
		free(s[i].key);
	free(s);
}

static int
serial_cmp(const void *a, const void *b)
{
	return memcmp(a, b, ISSUANCE_LOG_SERIAL_LEN);
}

/* serial_in: binary search in set, which the caller sorted. */
static int
serial_in(const uint8_t *serial, const uint8_t (*set)[ISSUANCE_LOG_SERIAL_LEN],
    size_t n)
{
	return bsearch(serial, set, n, ISSUANCE_LOG_SERIAL_LEN, serial_cmp) !=
	    NULL;
}

int
ocsp_cache_collect(struct ocsp_cache *c, struct ocsp_stale **out,
    size_t *n, const uint8_t (*serials)[ISSUANCE_LOG_SERIAL_LEN],
    size_t nserials, time_t before)
{
	struct ocsp_stale *v = NULL, *nv;
	struct ocsp_entry *e;
	size_t i, cnt = 0, cap = 0;
	int rc = CA_ERR_INTERNAL;

	*out = NULL;
	*n = 0;
	pthread_rwlock_rdlock(&c->lock);
	for (i = 0; i < c->nbuckets; i++)
		for (e = c->bucket[i]; e != NULL; e = e->next) {
			if (serials != NULL ? !(e->has_serial &&
			    serial_in(e->serial, serials, nserials)) :
			    e->this_update >= before && e->signer_gen ==
			    atomic_load(&e->issuer->signer_gen))
				continue;
			if (cnt == cap) {
				cap = cap ? cap * 2 : 64;
				if ((nv = reallocarray(v, cap, sizeof(*v)))
				    == NULL) {
					rc = ca_error(CA_ERR_NOMEM, "out of "
					    "memory");
					goto out;
				}
				v = nv;
			}
			if ((v[cnt].key = malloc(e->key_len)) == NULL) {
				rc = ca_error(CA_ERR_NOMEM, "out of memory");
				goto out;
			}
			memcpy(v[cnt].key, e->key, e->key_len);
			v[cnt].key_len = e->key_len;
			v[cnt].issuer = e->issuer;
			cnt++;
		}
	*out = v;
	*n = cnt;
	v = NULL;
	rc = CA_OK;
 out:
	pthread_rwlock_unlock(&c->lock);
	ocsp_stale_free(v, cnt);
	return rc;
}

void
ocsp_cache_count(struct ocsp_cache *c, size_t *all, size_t *unknown)
{
	pthread_rwlock_rdlock(&c->lock);
	*all = c->count;
	*unknown = c->unknown;
	pthread_rwlock_unlock(&c->lock);
}
