/* SPDX-License-Identifier: ISC */
/*
 * conn_limit: caps on the issuer's network connections, in total and per
 * peer address, with a fair share when the total is reached, and a thread
 * that closes idle pipes (see conn_limit.h for the rules and why). The
 * nng pipe callbacks only decide under the lock; every nng_pipe_close is
 * made after the lock is released.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nng/nng.h>

#include "common/ca_error.h"
#include "common/log.h"
#include "issuer/conn_limit.h"

struct conn_entry {
	uint32_t id;
	struct conn_peer peer;
	uint64_t last_ms;	/* connected, or its last request ended */
	uint32_t busy;		/* requests being handled */
	int closing;		/* closed by us, not yet forgotten */
};

struct conn_peer_count {
	struct conn_peer peer;
	size_t n;
};

struct conn_limit {
	pthread_mutex_t mtx;	/* guards everything below */
	pthread_cond_t cond;
	struct conn_entry *e;
	size_t n;
	struct conn_peer_count *peers;
	size_t npeers;
	size_t max_total, max_per_peer;
	long idle_ms;
	int attached, stop;
	pthread_t thread;
	uint32_t *expired;	/* the thread's buffer, max_total ids */
	/* Since the last report. */
	uint64_t n_peer, n_total, n_evicted, n_idle, report_ms;
	struct conn_peer last_refused;
};

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int
peer_eq(const struct conn_peer *a, const struct conn_peer *b)
{
	return a->family == b->family && memcmp(a->addr, b->addr,
	    sizeof(a->addr)) == 0;
}

void
conn_limit_peer_from(struct conn_peer *out, const nng_sockaddr *sa)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };

	memset(out, 0, sizeof(*out));
	switch (sa->s_family) {
	case NNG_AF_INET:
		out->family = 4;
		memcpy(out->addr, &sa->s_in.sa_addr, 4);	/* network order */
		break;
	case NNG_AF_INET6:
		if (memcmp(sa->s_in6.sa_addr, mapped, sizeof(mapped)) == 0) {
			out->family = 4;
			memcpy(out->addr, sa->s_in6.sa_addr + 12, 4);
		} else {
			out->family = 6;
			memcpy(out->addr, sa->s_in6.sa_addr, 8);
		}
		break;
	default:
		break;
	}
}

/* peer_str: the peer for a log line ("10.0.0.7", "2001:db8::/64"). */
static const char *
peer_str(char *buf, size_t len, const struct conn_peer *p)
{
	uint8_t a6[16];

	if (p->family == 4 && inet_ntop(AF_INET, p->addr, buf, len) != NULL)
		return buf;
	if (p->family == 6) {
		memset(a6, 0, sizeof(a6));
		memcpy(a6, p->addr, 8);
		if (inet_ntop(AF_INET6, a6, buf, len) != NULL &&
		    strlen(buf) + 4 < len) {
			strcat(buf, "/64");
			return buf;
		}
	}
	snprintf(buf, len, "local");
	return buf;
}

int
conn_limit_new(struct conn_limit **out, size_t max_total,
    size_t max_per_peer, long idle_ms)
{
	struct conn_limit *cl = NULL;
	int rc = CA_ERR_INTERNAL;

	*out = NULL;
	if (max_total < 1 || max_total > CONN_LIMIT_MAX_TOTAL ||
	    max_per_peer < 1 || max_per_peer > max_total || idle_ms < 1)
		return ca_error(CA_ERR_USAGE, "connection limits: total %zu "
		    "(1 to %d), per peer %zu (1 to the total), idle %ld ms "
		    "(> 0)", max_total, CONN_LIMIT_MAX_TOTAL, max_per_peer,
		    idle_ms);
	if ((cl = calloc(1, sizeof(*cl))) == NULL ||
	    (cl->e = calloc(max_total, sizeof(*cl->e))) == NULL ||
	    (cl->peers = calloc(max_total, sizeof(*cl->peers))) == NULL ||
	    (cl->expired = calloc(max_total, sizeof(*cl->expired))) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "connection limits: out of memory");
		goto out;
	}
	if (pthread_mutex_init(&cl->mtx, NULL) != 0) {
		rc = ca_error(CA_ERR_INTERNAL, "connection limits: mutex");
		goto out;
	}
	if (pthread_cond_init(&cl->cond, NULL) != 0) {
		pthread_mutex_destroy(&cl->mtx);
		rc = ca_error(CA_ERR_INTERNAL, "connection limits: condition "
		    "variable");
		goto out;
	}
	cl->max_total = max_total;
	cl->max_per_peer = max_per_peer;
	cl->idle_ms = idle_ms;
	cl->report_ms = now_ms();
	*out = cl;
	cl = NULL;
	rc = CA_OK;
 out:
	if (cl != NULL) {
		free(cl->e);
		free(cl->peers);
		free(cl->expired);
		free(cl);
	}
	return rc;
}

static struct conn_peer_count *
peer_find(struct conn_limit *cl, const struct conn_peer *peer)
{
	size_t i;

	for (i = 0; i < cl->npeers; i++)
		if (peer_eq(&cl->peers[i].peer, peer))
			return &cl->peers[i];
	return NULL;
}

static struct conn_entry *
entry_find(struct conn_limit *cl, uint32_t id)
{
	size_t i;

	for (i = 0; i < cl->n; i++)
		if (cl->e[i].id == id)
			return &cl->e[i];
	return NULL;
}

/*
 * evict_pick: the oldest idle pipe of the peer holding the most pipes, if
 * that peer would still hold more than the newcomer's (mine + 1) after
 * losing it. NULL when there is none: the newcomer has its fair share.
 */
static struct conn_entry *
evict_pick(struct conn_limit *cl, size_t mine)
{
	struct conn_peer_count *top = NULL;
	struct conn_entry *best = NULL;
	size_t i;

	for (i = 0; i < cl->npeers; i++)
		if (top == NULL || cl->peers[i].n > top->n)
			top = &cl->peers[i];
	if (top == NULL || mine + 1 >= top->n)
		return NULL;
	for (i = 0; i < cl->n; i++) {
		struct conn_entry *e = &cl->e[i];

		if (e->busy == 0 && !e->closing && peer_eq(&e->peer,
		    &top->peer) && (best == NULL || e->last_ms < best->last_ms))
			best = e;
	}
	return best;
}

enum conn_verdict
conn_limit_admit(struct conn_limit *cl, uint32_t *evict, uint32_t id,
    const struct conn_peer *peer, uint64_t now)
{
	struct conn_peer_count *pc, *vp;
	struct conn_entry *victim = NULL;
	enum conn_verdict v = CONN_ADMIT;
	size_t mine;

	*evict = 0;
	pthread_mutex_lock(&cl->mtx);
	pc = peer_find(cl, peer);
	mine = pc != NULL ? pc->n : 0;
	if (peer->family != 0 && mine >= cl->max_per_peer) {
		v = CONN_REFUSE_PEER;
		cl->n_peer++;
		cl->last_refused = *peer;
		goto out;
	}
	if (cl->n >= cl->max_total) {
		if ((victim = evict_pick(cl, mine)) == NULL) {
			v = CONN_REFUSE_TOTAL;
			cl->n_total++;
			cl->last_refused = *peer;
			goto out;
		}
		/*
		 * The caller closes the victim; the newcomer takes its slot
		 * now (REM_POST then finds nothing to forget).
		 */
		*evict = victim->id;
		cl->n_evicted++;
		v = CONN_ADMIT_EVICT;
		if ((vp = peer_find(cl, &victim->peer)) != NULL &&
		    --vp->n == 0)
			*vp = cl->peers[--cl->npeers];
		*victim = cl->e[--cl->n];
		pc = peer_find(cl, peer);
	}
	if (pc == NULL) {
		pc = &cl->peers[cl->npeers++];
		pc->peer = *peer;
		pc->n = 0;
	}
	pc->n++;
	memset(&cl->e[cl->n], 0, sizeof(cl->e[cl->n]));
	cl->e[cl->n].id = id;
	cl->e[cl->n].peer = *peer;
	cl->e[cl->n].last_ms = now;
	cl->n++;
 out:
	pthread_mutex_unlock(&cl->mtx);
	return v;
}

void
conn_limit_forget(struct conn_limit *cl, uint32_t id)
{
	struct conn_entry *e;
	struct conn_peer_count *pc;

	pthread_mutex_lock(&cl->mtx);
	if ((e = entry_find(cl, id)) != NULL) {
		if ((pc = peer_find(cl, &e->peer)) != NULL && --pc->n == 0)
			*pc = cl->peers[--cl->npeers];
		*e = cl->e[--cl->n];
	}
	pthread_mutex_unlock(&cl->mtx);
}

void
conn_limit_mark(struct conn_limit *cl, uint32_t id, int busy, uint64_t now)
{
	struct conn_entry *e;

	pthread_mutex_lock(&cl->mtx);
	if ((e = entry_find(cl, id)) != NULL) {
		if (busy)
			e->busy++;
		else if (e->busy > 0)
			e->busy--;
		e->last_ms = now;
	}
	pthread_mutex_unlock(&cl->mtx);
}

static size_t
expired_locked(struct conn_limit *cl, uint32_t *ids, size_t max,
    uint64_t now)
{
	size_t i, k = 0;

	for (i = 0; i < cl->n && k < max; i++) {
		struct conn_entry *e = &cl->e[i];

		if (e->busy == 0 && !e->closing &&
		    now - e->last_ms >= (uint64_t)cl->idle_ms) {
			e->closing = 1;
			ids[k++] = e->id;
		}
	}
	cl->n_idle += k;
	return k;
}

size_t
conn_limit_expired(struct conn_limit *cl, uint32_t *ids, size_t max,
    uint64_t now)
{
	size_t k;

	pthread_mutex_lock(&cl->mtx);
	k = expired_locked(cl, ids, max, now);
	pthread_mutex_unlock(&cl->mtx);
	return k;
}

size_t
conn_limit_count(struct conn_limit *cl, const struct conn_peer *peer)
{
	struct conn_peer_count *pc;
	size_t n;

	pthread_mutex_lock(&cl->mtx);
	if (peer == NULL)
		n = cl->n;
	else
		n = (pc = peer_find(cl, peer)) != NULL ? pc->n : 0;
	pthread_mutex_unlock(&cl->mtx);
	return n;
}

static void
pipe_close_id(uint32_t id)
{
	nng_pipe p = NNG_PIPE_INITIALIZER;

	p.id = id;
	(void)nng_pipe_close(p);	/* NNG_ENOENT: already gone */
}

static void
pipe_cb(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	struct conn_limit *cl = arg;
	struct conn_peer peer;
	nng_sockaddr sa;
	uint32_t evict = 0;
	char buf[64];
	int id = nng_pipe_id(p);

	if (id < 0)
		return;
	if (ev == NNG_PIPE_EV_REM_POST) {
		conn_limit_forget(cl, (uint32_t)id);
		return;
	}
	if (ev != NNG_PIPE_EV_ADD_PRE)
		return;
	memset(&sa, 0, sizeof(sa));
	if (nng_pipe_get_addr(p, NNG_OPT_REMADDR, &sa) != 0)
		sa.s_family = NNG_AF_UNSPEC;
	conn_limit_peer_from(&peer, &sa);
	switch (conn_limit_admit(cl, &evict, (uint32_t)id, &peer, now_ms())) {
	case CONN_ADMIT:
		break;
	case CONN_ADMIT_EVICT:
		log_debug("connection from %s admitted; closed one of the "
		    "peer with the most", peer_str(buf, sizeof(buf), &peer));
		pipe_close_id(evict);
		break;
	case CONN_REFUSE_PEER:
		log_debug("connection from %s refused: max_connections_per_"
		    "peer (%zu) reached", peer_str(buf, sizeof(buf), &peer),
		    cl->max_per_peer);
		nng_pipe_close(p);
		break;
	case CONN_REFUSE_TOTAL:
		log_debug("connection from %s refused: max_connections (%zu) "
		    "reached", peer_str(buf, sizeof(buf), &peer),
		    cl->max_total);
		nng_pipe_close(p);
		break;
	}
}

/* report: one warning per CONN_LIMIT_REPORT_S with refusals. Locked. */
static void
report_locked(struct conn_limit *cl, uint64_t now)
{
	char buf[64];

	if (now - cl->report_ms < CONN_LIMIT_REPORT_S * 1000)
		return;
	if (cl->n_peer + cl->n_total + cl->n_evicted > 0)
		log_warn("connections in the last %d s: %llu refused at "
		    "max_connections_per_peer (%zu), %llu at max_connections "
		    "(%zu), %llu closed for a fair share, %llu closed idle "
		    "(idle_timeout); last refused: %s; open: %zu",
		    CONN_LIMIT_REPORT_S, (unsigned long long)cl->n_peer,
		    cl->max_per_peer, (unsigned long long)cl->n_total,
		    cl->max_total, (unsigned long long)cl->n_evicted,
		    (unsigned long long)cl->n_idle,
		    peer_str(buf, sizeof(buf), &cl->last_refused), cl->n);
	cl->n_peer = cl->n_total = cl->n_evicted = cl->n_idle = 0;
	cl->report_ms = now;
}

/* reaper_main: closes idle pipes every tick until conn_limit_free. */
static void *
reaper_main(void *arg)
{
	struct conn_limit *cl = arg;
	struct timespec ts;
	long tick = cl->idle_ms / 4;
	size_t i, k;

	if (tick > CONN_LIMIT_TICK_MAX_MS)
		tick = CONN_LIMIT_TICK_MAX_MS;
	if (tick < CONN_LIMIT_TICK_MIN_MS)
		tick = CONN_LIMIT_TICK_MIN_MS;
	pthread_mutex_lock(&cl->mtx);
	while (!cl->stop) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += (tick % 1000) * 1000000L;
		ts.tv_sec += tick / 1000 + ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		(void)pthread_cond_timedwait(&cl->cond, &cl->mtx, &ts);
		if (cl->stop)
			break;
		k = expired_locked(cl, cl->expired, cl->max_total, now_ms());
		report_locked(cl, now_ms());
		pthread_mutex_unlock(&cl->mtx);
		for (i = 0; i < k; i++)
			pipe_close_id(cl->expired[i]);
		pthread_mutex_lock(&cl->mtx);
	}
	pthread_mutex_unlock(&cl->mtx);
	return NULL;
}

int
conn_limit_attach(struct conn_limit *cl, nng_socket sock)
{
	int rv, e;

	if (cl->attached)
		return ca_error(CA_ERR_USAGE, "connection limits: attached "
		    "twice");
	if ((rv = nng_pipe_notify(sock, NNG_PIPE_EV_ADD_PRE, pipe_cb,
	    cl)) != 0 || (rv = nng_pipe_notify(sock, NNG_PIPE_EV_REM_POST,
	    pipe_cb, cl)) != 0)
		return ca_error(CA_ERR_IO, "connection limits: "
		    "nng_pipe_notify: %s", nng_strerror(rv));
	if ((e = pthread_create(&cl->thread, NULL, reaper_main, cl)) != 0)
		return ca_error(CA_ERR_INTERNAL, "connection limits: thread: "
		    "%s", strerror(e));
	cl->attached = 1;
	return CA_OK;
}

void
conn_limit_busy(struct conn_limit *cl, nng_pipe p)
{
	int id = nng_pipe_id(p);

	if (cl != NULL && id >= 0)
		conn_limit_mark(cl, (uint32_t)id, 1, now_ms());
}

void
conn_limit_done(struct conn_limit *cl, nng_pipe p)
{
	int id = nng_pipe_id(p);

	if (cl != NULL && id >= 0)
		conn_limit_mark(cl, (uint32_t)id, 0, now_ms());
}

void
conn_limit_free(struct conn_limit *cl)
{
	if (cl == NULL)
		return;
	if (cl->attached) {
		pthread_mutex_lock(&cl->mtx);
		cl->stop = 1;
		pthread_cond_broadcast(&cl->cond);
		pthread_mutex_unlock(&cl->mtx);
		pthread_join(cl->thread, NULL);
	}
	pthread_cond_destroy(&cl->cond);
	pthread_mutex_destroy(&cl->mtx);
	free(cl->e);
	free(cl->peers);
	free(cl->expired);
	free(cl);
}
