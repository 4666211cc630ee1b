/* SPDX-License-Identifier: ISC */
/*
 * test_http_peers: the per-address connection counts of carapace-ocsp's
 * HTTP server (ocsp/http_peers.c): which addresses count together (IPv4
 * alone, IPv4-mapped as IPv4, IPv6 by /64), the cap, the cap on distinct
 * addresses, and counts that stay right under churn (deletion shifts
 * entries back, so a lost or duplicated entry would show here).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "common/ca_error.h"
#include "ocsp/http_peers.h"
#include "unit.h"

static void
key_of(uint8_t key[HTTP_PEER_KEY_LEN], const char *addr)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;

	memset(&sin, 0, sizeof(sin));
	memset(&sin6, 0, sizeof(sin6));
	if (inet_pton(AF_INET, addr, &sin.sin_addr) == 1) {
		sin.sin_family = AF_INET;
		http_peers_key(key, (struct sockaddr *)&sin);
		return;
	}
	CU_ASSERT_FATAL(inet_pton(AF_INET6, addr, &sin6.sin6_addr) == 1);
	sin6.sin6_family = AF_INET6;
	http_peers_key(key, (struct sockaddr *)&sin6);
}

static int
same_key(const char *a, const char *b)
{
	uint8_t ka[HTTP_PEER_KEY_LEN], kb[HTTP_PEER_KEY_LEN];

	key_of(ka, a);
	key_of(kb, b);
	return memcmp(ka, kb, sizeof(ka)) == 0;
}

static void
test_keys(void)
{
	CU_ASSERT(same_key("127.0.0.1", "127.0.0.1"));
	CU_ASSERT(!same_key("127.0.0.1", "127.0.0.2"));
	CU_ASSERT(same_key("192.0.2.7", "::ffff:192.0.2.7"));
	CU_ASSERT(same_key("2001:db8:1:2::1", "2001:db8:1:2:ffff::9"));
	CU_ASSERT(!same_key("2001:db8:1:2::1", "2001:db8:1:3::1"));
	CU_ASSERT(!same_key("::1", "0.0.0.1"));
	CU_ASSERT(!same_key("::", "0.0.0.0"));
}

static void
test_cap(void)
{
	struct http_peers *p = NULL;
	uint8_t a[HTTP_PEER_KEY_LEN], b[HTTP_PEER_KEY_LEN];
	uint8_t c[HTTP_PEER_KEY_LEN];
	int i;

	CU_ASSERT_FATAL(http_peers_new(&p, 2) == CA_OK);
	key_of(a, "127.0.0.2");
	key_of(b, "2001:db8::1");
	key_of(c, "2001:db8:0:1::1");
	for (i = 0; i < 3; i++)
		CU_ASSERT(http_peers_add(p, a, 3) == 0);
	CU_ASSERT(http_peers_add(p, a, 3) == -1);
	CU_ASSERT(http_peers_count(p, a) == 3);
	CU_ASSERT(http_peers_add(p, b, 3) == 0);
	/* A third distinct address is over max_addrs. */
	CU_ASSERT(http_peers_add(p, c, 3) == -1);
	CU_ASSERT(http_peers_count(p, c) == 0);
	http_peers_remove(p, b);
	CU_ASSERT(http_peers_count(p, b) == 0);
	CU_ASSERT(http_peers_add(p, c, 3) == 0);
	http_peers_remove(p, a);
	CU_ASSERT(http_peers_add(p, a, 3) == 0);
	CU_ASSERT(http_peers_add(p, a, 3) == -1);
	/* Removing what is not there changes nothing. */
	http_peers_remove(p, b);
	CU_ASSERT(http_peers_count(p, a) == 3 && http_peers_count(p, c) == 1);
	http_peers_free(p);
	http_peers_free(NULL);
}

#define CHURN_ADDRS	2000

static void
test_churn(void)
{
	struct http_peers *p = NULL;
	uint8_t key[HTTP_PEER_KEY_LEN];
	uint32_t want[CHURN_ADDRS];
	struct sockaddr_in sin;
	unsigned int seed = 17;
	size_t i, k, bad = 0;

	memset(want, 0, sizeof(want));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	CU_ASSERT_FATAL(http_peers_new(&p, CHURN_ADDRS) == CA_OK);
	for (i = 0; i < 200000; i++) {
		k = (size_t)rand_r(&seed) % CHURN_ADDRS;
		sin.sin_addr.s_addr = htonl(0x0a000000u + (uint32_t)k);
		http_peers_key(key, (struct sockaddr *)&sin);
		if (want[k] > 0 && rand_r(&seed) % 2 == 0) {
			http_peers_remove(p, key);
			want[k]--;
		} else if (http_peers_add(p, key, 4) == 0)
			want[k]++;
		else if (want[k] != 4)
			bad++;
	}
	for (k = 0; k < CHURN_ADDRS; k++) {
		sin.sin_addr.s_addr = htonl(0x0a000000u + (uint32_t)k);
		http_peers_key(key, (struct sockaddr *)&sin);
		if (http_peers_count(p, key) != want[k])
			bad++;
	}
	CU_ASSERT(bad == 0);
	http_peers_free(p);
}

static CU_TestInfo tests[] = {
	{ "which addresses count together", test_keys },
	{ "the cap and the address limit", test_cap },
	{ "counts under churn", test_churn },
	CU_TEST_INFO_NULL,
};

UNIT_MAIN("http_peers", tests)
