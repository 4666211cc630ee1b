/* SPDX-License-Identifier: ISC */
/*
 * http_peers: connections per client address (see http_peers.h). Linear
 * probing in a power-of-two table at most half full, so probes stay
 * short; an address whose count drops to zero is deleted by shifting the
 * entries after it back (no tombstones to accumulate under churn).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>
#include <sodium.h>

#include "common/ca_error.h"
#include "ocsp/http_peers.h"

struct peer_slot {
	uint8_t key[HTTP_PEER_KEY_LEN];
	uint32_t n;			/* 0: empty */
};

struct http_peers {
	struct peer_slot *slot;
	size_t mask;			/* slots - 1 */
	size_t used, max_used;
	uint8_t sipkey[crypto_shorthash_KEYBYTES];
};

int
http_peers_new(struct http_peers **out, size_t max_addrs)
{
	struct http_peers *p = NULL;
	size_t n = 16;
	int rc = CA_ERR_INTERNAL;

	*out = NULL;
	if (sodium_init() < 0) {
		rc = ca_error(CA_ERR_INTERNAL, "sodium_init failed");
		goto out;
	}
	while (n < 2 * max_addrs && n < SIZE_MAX / 4)
		n *= 2;
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->slot = calloc(n, sizeof(*p->slot))) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "out of memory");
		goto out;
	}
	p->mask = n - 1;
	p->max_used = max_addrs;
	randombytes_buf(p->sipkey, sizeof(p->sipkey));
	*out = p;
	p = NULL;
	rc = CA_OK;
 out:
	http_peers_free(p);
	return rc;
}

void
http_peers_free(struct http_peers *p)
{
	if (p == NULL)
		return;
	free(p->slot);
	free(p);
}

void
http_peers_key(uint8_t key[HTTP_PEER_KEY_LEN], const struct sockaddr *sa)
{
	const struct sockaddr_in *sin;
	const struct sockaddr_in6 *sin6;

	memset(key, 0, HTTP_PEER_KEY_LEN);
	if (sa->sa_family == AF_INET) {
		sin = (const struct sockaddr_in *)(const void *)sa;
		key[10] = key[11] = 0xff;
		memcpy(key + 12, &sin->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		sin6 = (const struct sockaddr_in6 *)(const void *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
			memcpy(key, &sin6->sin6_addr, HTTP_PEER_KEY_LEN);
		else
			memcpy(key, &sin6->sin6_addr, 8);
	}
}

static size_t
peer_home(const struct http_peers *p, const uint8_t *key)
{
	uint64_t h;

	crypto_shorthash((unsigned char *)&h, key, HTTP_PEER_KEY_LEN,
	    p->sipkey);
	return (size_t)h & p->mask;
}

/* peer_find returns key's slot, or the empty slot where it would go. */
static size_t
peer_find(const struct http_peers *p, const uint8_t *key)
{
	size_t i = peer_home(p, key);

	while (p->slot[i].n != 0 &&
	    memcmp(p->slot[i].key, key, HTTP_PEER_KEY_LEN) != 0)
		i = (i + 1) & p->mask;
	return i;
}

int
http_peers_add(struct http_peers *p, const uint8_t key[HTTP_PEER_KEY_LEN],
    uint32_t limit)
{
	size_t i = peer_find(p, key);

	if (p->slot[i].n == 0) {
		if (limit == 0 || p->used >= p->max_used)
			return -1;
		memcpy(p->slot[i].key, key, HTTP_PEER_KEY_LEN);
		p->used++;
	} else if (p->slot[i].n >= limit)
		return -1;
	p->slot[i].n++;
	return 0;
}

void
http_peers_remove(struct http_peers *p, const uint8_t key[HTTP_PEER_KEY_LEN])
{
	size_t i = peer_find(p, key), j, home;

	if (p->slot[i].n == 0 || --p->slot[i].n > 0)
		return;
	p->used--;
	/*
	 * Backward-shift deletion: move up each later entry of the run
	 * whose home slot does not lie cyclically in (i, j].
	 */
	for (j = (i + 1) & p->mask; p->slot[j].n != 0; j = (j + 1) & p->mask) {
		home = peer_home(p, p->slot[j].key);
		if (((j - home) & p->mask) >= ((j - i) & p->mask)) {
			p->slot[i] = p->slot[j];
			p->slot[j].n = 0;
			i = j;
		}
	}
	p->slot[i].n = 0;
}

uint32_t
http_peers_count(const struct http_peers *p,
    const uint8_t key[HTTP_PEER_KEY_LEN])
{
	return p->slot[peer_find(p, key)].n;
}
