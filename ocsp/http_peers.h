/* SPDX-License-Identifier: ISC */
/*
 * http_peers: how many connections each client address holds, for
 * carapace-ocsp's HTTP server (private to ocsp/), so that one address
 * cannot take the whole connection table. An IPv4 address counts alone
 * (also when it arrives IPv4-mapped on an IPv6 listener); an IPv6 address
 * counts with its /64, the block one host or one customer is usually given
 * (RFC 6177), so that a host cannot escape the cap by using the 2^64
 * addresses it owns.
 *
 * An open-addressing hash table keyed by SipHash with a random key (a
 * client cannot choose addresses that collide), sized once for the
 * largest number of distinct addresses the caller will count. Not
 * thread-safe: the server calls it under its own lock.
 */
#ifndef OCSP_HTTP_PEERS_H
#define OCSP_HTTP_PEERS_H

#include <stddef.h>
#include <stdint.h>

#include <sys/socket.h>

#define HTTP_PEER_KEY_LEN	16

struct http_peers;

/*
 * http_peers_new makes a table for at most max_addrs distinct addresses
 * at a time. Returns CA_OK with *out set, or CA_ERR_NOMEM. Free with
 * http_peers_free.
 */
int http_peers_new(struct http_peers **out, size_t max_addrs)
    __attribute__((warn_unused_result));

/* http_peers_free frees p. http_peers_free(NULL) is a no-op. */
void http_peers_free(struct http_peers *p);

/*
 * http_peers_key writes the key that sa counts under: an IPv4 address as
 * ::ffff:a.b.c.d, an IPv6 address as its /64 prefix followed by zeros
 * (the two cannot meet: a /64 key ends in eight zero bytes, a mapped
 * address has ffff in bytes 10 and 11). Any other family: all zeros.
 */
void http_peers_key(uint8_t key[HTTP_PEER_KEY_LEN], const struct sockaddr *sa);

/*
 * http_peers_add counts one more connection for key unless key already
 * holds limit. Returns 0 when counted, -1 when refused (at limit, or the
 * table holds max_addrs addresses already).
 */
int http_peers_add(struct http_peers *p, const uint8_t key[HTTP_PEER_KEY_LEN],
    uint32_t limit) __attribute__((warn_unused_result));

/* http_peers_remove counts one connection of key less. */
void http_peers_remove(struct http_peers *p,
    const uint8_t key[HTTP_PEER_KEY_LEN]);

/* http_peers_count returns the connections counted for key. */
uint32_t http_peers_count(const struct http_peers *p,
    const uint8_t key[HTTP_PEER_KEY_LEN]);

#endif /* OCSP_HTTP_PEERS_H */
