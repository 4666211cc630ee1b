/* SPDX-License-Identifier: ISC */
/*
 * conn_limit: how many connections carapace-issuer's network socket
 * holds, per peer and in total, and for how long an idle one is kept.
 *
 * Why. nng accepts every connection, and after the 8-byte SP handshake a
 * pipe lives until the peer closes it; its REP side keeps one receive
 * posted, and nng's tcp transport allocates the whole message as soon as
 * it has read the 8-byte length, before the body arrives. So one client
 * could hold every file descriptor (1,100 handshake-only connections
 * stopped the issuer) or announce 100 KB on each of 1,000 connections and
 * cost 112 MB without sending it.
 *
 * What. Registered with nng_pipe_notify on the socket:
 * - ADD_PRE: the pipe's peer is its remote address (IPv4 address; IPv6
 *   /64 prefix, since one host usually has a whole /64; an IPv4-mapped
 *   IPv6 address counts as IPv4). A pipe over max_per_peer for its peer
 *   is closed at once. When max_total pipes are open, the new pipe is
 *   admitted only if its peer then holds fewer pipes than the peer with
 *   the most, whose oldest idle pipe is closed to make room: so a few
 *   addresses that fill the socket cannot lock others out (fair share).
 *   Pipes without an IP address (ipc://) have no per-peer cap; they count
 *   towards the total.
 * - A pipe is idle when no request from it is being handled. A pipe idle
 *   for idle_ms since it connected or since its last reply was sent is
 *   closed: that ends handshake-only peers, peers that announce a message
 *   and send it slowly or never (nng shows no partial progress), and
 *   clients that keep a connection they no longer use (their REQ socket
 *   reconnects when it next sends). A request that waits in nng's queue
 *   for a free context counts as idle too, so idle_ms must be longer than
 *   the longest such wait (see carapace-issuer.cnf(5), idle_timeout).
 * - REM_POST: the pipe is forgotten.
 *
 * Memory: at most max_total messages are being received at once, each at
 * most SERVER_RECV_MAX (+ the REQ header) bytes.
 *
 * The table is a flat array scanned linearly (max_total is at most
 * CONN_LIMIT_MAX_TOTAL); a refusal costs a scan, not an allocation.
 *
 * conn_limit_admit, conn_limit_forget and conn_limit_expired are the
 * bookkeeping without nng, for the unit tests (tests/unit/test_conn_limit.c);
 * the daemon uses conn_limit_attach, conn_limit_busy and conn_limit_done.
 * Every function is thread-safe.
 */
#ifndef CONN_LIMIT_H
#define CONN_LIMIT_H

#include <stddef.h>
#include <stdint.h>

#include <nng/nng.h>

#define CONN_LIMIT_MAX_TOTAL		16384
#define CONN_LIMIT_TOTAL_DEFAULT	256
#define CONN_LIMIT_PER_PEER_DEFAULT	32
#define CONN_LIMIT_IDLE_DEFAULT		30	/* seconds */
#define CONN_LIMIT_IDLE_MAX		3600
/* How often idle pipes are looked for, at most and at least (ms). */
#define CONN_LIMIT_TICK_MAX_MS		1000
#define CONN_LIMIT_TICK_MIN_MS		100
/* Refusals are summed up in one warning per this many seconds. */
#define CONN_LIMIT_REPORT_S		10

struct conn_limit;

/* A peer: family 4 (4 address bytes), 6 (8 bytes: the /64), 0 (none). */
struct conn_peer {
	uint8_t family;
	uint8_t addr[8];
};

enum conn_verdict {
	CONN_ADMIT,		/* admitted */
	CONN_ADMIT_EVICT,	/* admitted; close *evict to make room */
	CONN_REFUSE_PEER,	/* its peer is at max_per_peer */
	CONN_REFUSE_TOTAL	/* max_total, and its peer has its fair share */
};

/*
 * conn_limit_new: max_total pipes in all, max_per_peer per peer (1 <=
 * max_per_peer <= max_total <= CONN_LIMIT_MAX_TOTAL), idle_ms before an
 * idle pipe is closed (> 0). CA_ERR_USAGE for values out of range,
 * CA_ERR_NOMEM. Free with conn_limit_free.
 */
int conn_limit_new(struct conn_limit **out, size_t max_total,
    size_t max_per_peer, long idle_ms) __attribute__((warn_unused_result));

/*
 * conn_limit_attach registers the pipe callbacks on sock and starts the
 * thread that closes idle pipes. Once per conn_limit; the socket must be
 * closed before conn_limit_free.
 */
int conn_limit_attach(struct conn_limit *cl, nng_socket sock)
    __attribute__((warn_unused_result));

/* conn_limit_busy: a request from p is being handled (received). */
void conn_limit_busy(struct conn_limit *cl, nng_pipe p);

/* conn_limit_done: the reply to p's request was sent (or dropped). */
void conn_limit_done(struct conn_limit *cl, nng_pipe p);

/* conn_limit_free stops the thread and frees; NULL is a no-op. */
void conn_limit_free(struct conn_limit *cl);

/*
 * conn_limit_peer_from: the peer of an nng address (family 0 for ipc://
 * and anything without an IP address).
 */
void conn_limit_peer_from(struct conn_peer *out, const nng_sockaddr *sa);

/*
 * conn_limit_admit records pipe id of peer at now_ms, or refuses it (then
 * nothing is recorded). With CONN_ADMIT_EVICT, *evict is a pipe for the
 * caller to close; it is no longer recorded (the newcomer has its slot).
 */
enum conn_verdict conn_limit_admit(struct conn_limit *cl, uint32_t *evict,
    uint32_t id, const struct conn_peer *peer, uint64_t now_ms)
    __attribute__((warn_unused_result));

/* conn_limit_forget: pipe id is gone (unknown ids are ignored). */
void conn_limit_forget(struct conn_limit *cl, uint32_t id);

/* conn_limit_mark: a request from id started (busy 1) or ended (busy 0). */
void conn_limit_mark(struct conn_limit *cl, uint32_t id, int busy,
    uint64_t now_ms);

/*
 * conn_limit_expired writes to ids (room for max) the pipes idle for
 * idle_ms at now_ms that are not being closed yet, marks them as being
 * closed, and returns how many.
 */
size_t conn_limit_expired(struct conn_limit *cl, uint32_t *ids, size_t max,
    uint64_t now_ms);

/* conn_limit_count: pipes recorded, in all (peer NULL) or for peer. */
size_t conn_limit_count(struct conn_limit *cl, const struct conn_peer *peer);

#endif /* CONN_LIMIT_H */
