/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for issuer/conn_limit.c's bookkeeping, without sockets: the
 * per-peer cap, the total cap with its fair share (a newcomer evicts the
 * oldest idle pipe of the peer with the most, never one that is busy, and
 * only while it has fewer), idle expiry that spares busy pipes, IPv6 peers
 * by /64 and IPv4-mapped addresses as IPv4, and the ranges refused.
 */
#include "config.h"

#include <string.h>

#include "common/ca_error.h"
#include "issuer/conn_limit.h"
#include "tests/unit/unit.h"

static struct conn_peer
v4(uint8_t last)
{
	struct conn_peer p;

	memset(&p, 0, sizeof(p));
	p.family = 4;
	p.addr[0] = 10;
	p.addr[3] = last;
	return p;
}

static void
test_ranges(void)
{
	struct conn_limit *cl = NULL;

	CU_ASSERT_NOT_EQUAL(conn_limit_new(&cl, 0, 1, 1000), CA_OK);
	CU_ASSERT_NOT_EQUAL(conn_limit_new(&cl, 4, 5, 1000), CA_OK);
	CU_ASSERT_NOT_EQUAL(conn_limit_new(&cl, 4, 0, 1000), CA_OK);
	CU_ASSERT_NOT_EQUAL(conn_limit_new(&cl, 4, 2, 0), CA_OK);
	CU_ASSERT_NOT_EQUAL(conn_limit_new(&cl, CONN_LIMIT_MAX_TOTAL + 1, 2,
	    1000), CA_OK);
	CU_ASSERT_PTR_NULL(cl);
	conn_limit_free(NULL);
}

static void
test_per_peer(void)
{
	struct conn_limit *cl = NULL;
	struct conn_peer a = v4(1), b = v4(2), local;
	uint32_t ev;

	memset(&local, 0, sizeof(local));
	CU_ASSERT_EQUAL_FATAL(conn_limit_new(&cl, 10, 2, 1000), CA_OK);
	CU_ASSERT_EQUAL(conn_limit_admit(cl, &ev, 1, &a, 0), CONN_ADMIT);
	CU_ASSERT_EQUAL(conn_limit_admit(cl, &ev, 2, &a, 0), CONN_ADMIT);
	CU_ASSERT_EQUAL(conn_limit_admit(cl, &ev, 3, &a, 0), CONN_REFUSE_PEER);
	CU_ASSERT_EQUAL(conn_limit_count(cl, &a), 2);
	/* another address is not affected */
	CU_ASSERT_EQUAL(conn_limit_admit(cl, &ev, 4, &b, 0), CONN_ADMIT);
	/* ipc:// (no address) has no per-peer cap */
	CU_ASSERT_EQUAL(conn_limit_admit(cl, &ev, 5, &local, 0), CONN_ADMIT);
	CU_ASSERT_EQUAL(conn_limit_admit(cl, &ev, 6, &local, 0), CONN_ADMIT);
	CU_ASSERT_EQUAL(conn_limit_admit(cl, &ev, 7, &local, 0), CONN_ADMIT);
	/* a closed pipe frees its place; unknown ids are ignored */
	conn_limit_forget(cl, 1);
	conn_limit_forget(cl, 999);
	CU_ASSERT_EQUAL(conn_limit_admit(cl, &ev, 8, &a, 0), CONN_ADMIT);
	CU_ASSERT_EQUAL(conn_limit_count(cl, NULL), 6);
	conn_limit_free(cl);
}

static void
test_fair_share(void)
{
	struct conn_limit *cl = NULL;
	struct conn_peer a = v4(1), b = v4(2), c = v4(3);
	uint32_t ev = 0, id;

	/* total 4, per peer 4: a alone can fill the table */
	CU_ASSERT_EQUAL_FATAL(conn_limit_new(&cl, 4, 4, 1000), CA_OK);
	for (id = 1; id <= 4; id++)
		CU_ASSERT_EQUAL(conn_limit_admit(cl, &ev, id, &a, 100 + id),
		    CONN_ADMIT);
	/* its own cap is checked first */
	CU_ASSERT_EQUAL(conn_limit_admit(cl, &ev, 5, &a, 200),
	    CONN_REFUSE_PEER);
	/* b gets in: a's oldest idle pipe (id 1) is closed... */
	conn_limit_mark(cl, 1, 1, 150);	/* ...unless it is busy: then id 2 */
	CU_ASSERT_EQUAL(conn_limit_admit(cl, &ev, 6, &b, 200),
	    CONN_ADMIT_EVICT);
	CU_ASSERT_EQUAL(ev, 2);
	CU_ASSERT_EQUAL(conn_limit_count(cl, &a), 3);
	CU_ASSERT_EQUAL(conn_limit_count(cl, &b), 1);
	CU_ASSERT_EQUAL(conn_limit_count(cl, NULL), 4);
	conn_limit_forget(cl, 2);	/* REM_POST of the victim: no-op */
	CU_ASSERT_EQUAL(conn_limit_count(cl, NULL), 4);
	/* b again: 2 < 3 after, so a loses one more */
	CU_ASSERT_EQUAL(conn_limit_admit(cl, &ev, 7, &b, 210),
	    CONN_ADMIT_EVICT);
	CU_ASSERT_EQUAL(ev, 3);
	/* a 2, b 2: b has its fair share, c does not */
	CU_ASSERT_EQUAL(conn_limit_admit(cl, &ev, 8, &b, 220),
	    CONN_REFUSE_TOTAL);
	CU_ASSERT_EQUAL(conn_limit_admit(cl, &ev, 9, &c, 220),
	    CONN_ADMIT_EVICT);
	/* a's remaining idle one (4) goes; its busy one (1) stays */
	CU_ASSERT_EQUAL(ev, 4);
	/* a 1 (busy), b 2, c 1: c has its fair share */
	CU_ASSERT_EQUAL(conn_limit_admit(cl, &ev, 10, &c, 230),
	    CONN_REFUSE_TOTAL);
	CU_ASSERT_EQUAL(conn_limit_count(cl, &a), 1);
	conn_limit_free(cl);
}

static void
test_idle(void)
{
	struct conn_limit *cl = NULL;
	struct conn_peer a = v4(1);
	uint32_t ev, ids[8];
	size_t k;

	CU_ASSERT_EQUAL_FATAL(conn_limit_new(&cl, 8, 8, 1000), CA_OK);
	CU_ASSERT_EQUAL(conn_limit_admit(cl, &ev, 1, &a, 0), CONN_ADMIT);
	CU_ASSERT_EQUAL(conn_limit_admit(cl, &ev, 2, &a, 0), CONN_ADMIT);
	CU_ASSERT_EQUAL(conn_limit_admit(cl, &ev, 3, &a, 500), CONN_ADMIT);
	CU_ASSERT_EQUAL(conn_limit_expired(cl, ids, 8, 999), 0);
	conn_limit_mark(cl, 2, 1, 900);		/* a request from 2 */
	k = conn_limit_expired(cl, ids, 8, 1000);
	CU_ASSERT_EQUAL(k, 1);
	CU_ASSERT_EQUAL(ids[0], 1);
	/* not twice */
	CU_ASSERT_EQUAL(conn_limit_expired(cl, ids, 8, 1000), 0);
	/* busy for long: kept; its reply restarts the clock */
	CU_ASSERT_EQUAL(conn_limit_expired(cl, ids, 8, 1400), 0);
	conn_limit_mark(cl, 3, 1, 1400);
	conn_limit_mark(cl, 3, 0, 1450);
	conn_limit_mark(cl, 2, 0, 5000);
	CU_ASSERT_EQUAL(conn_limit_expired(cl, ids, 8, 5999), 1);
	CU_ASSERT_EQUAL(ids[0], 3);
	CU_ASSERT_EQUAL(conn_limit_expired(cl, ids, 8, 6000), 1);
	CU_ASSERT_EQUAL(ids[0], 2);
	conn_limit_free(cl);
}

static void
test_peers(void)
{
	struct conn_peer p, q;
	nng_sockaddr sa;

	memset(&sa, 0, sizeof(sa));
	sa.s_in6.sa_family = NNG_AF_INET6;
	memcpy(sa.s_in6.sa_addr, "\x20\x01\x0d\xb8\0\0\0\x01"
	    "\0\0\0\0\0\0\0\x01", 16);
	conn_limit_peer_from(&p, &sa);
	sa.s_in6.sa_addr[15] = 2;
	conn_limit_peer_from(&q, &sa);
	CU_ASSERT_EQUAL(p.family, 6);
	CU_ASSERT_EQUAL(memcmp(&p, &q, sizeof(p)), 0);	/* same /64 */
	sa.s_in6.sa_addr[7] = 2;
	conn_limit_peer_from(&q, &sa);
	CU_ASSERT_NOT_EQUAL(memcmp(&p, &q, sizeof(p)), 0);

	/* ::ffff:127.0.0.2 is 127.0.0.2 */
	memset(sa.s_in6.sa_addr, 0, 16);
	memcpy(sa.s_in6.sa_addr + 10, "\xff\xff\x7f\0\0\x02", 6);
	conn_limit_peer_from(&p, &sa);
	memset(&sa, 0, sizeof(sa));
	sa.s_in.sa_family = NNG_AF_INET;
	memcpy(&sa.s_in.sa_addr, "\x7f\0\0\x02", 4);
	conn_limit_peer_from(&q, &sa);
	CU_ASSERT_EQUAL(p.family, 4);
	CU_ASSERT_EQUAL(memcmp(&p, &q, sizeof(p)), 0);

	memset(&sa, 0, sizeof(sa));
	sa.s_ipc.sa_family = NNG_AF_IPC;
	conn_limit_peer_from(&p, &sa);
	CU_ASSERT_EQUAL(p.family, 0);
}

static CU_TestInfo tests[] = {
	{ "values out of range are refused", test_ranges },
	{ "per-peer cap; ipc has none", test_per_peer },
	{ "total cap with a fair share", test_fair_share },
	{ "idle pipes expire, busy ones do not", test_idle },
	{ "peers: IPv6 by /64, mapped IPv4 as IPv4", test_peers },
	CU_TEST_INFO_NULL,
};

UNIT_MAIN("conn_limit", tests)
