/* SPDX-License-Identifier: ISC */
/*
 * server: nng REP sockets, listeners and the worker pool (see server.h).
 * A context's aio callback only moves it along (received: queue it;
 * sent: receive again); the handler runs on the pool's threads, never in
 * nng's callbacks.
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/supplemental/tls/tls.h>

#include <openssl/crypto.h>

#include "common/ca_error.h"
#include "common/fileio.h"
#include "common/log.h"
#include "protocol/protocol.h"
#include "issuer/conn_limit.h"
#include "issuer/server.h"

/* One REP context: one request in flight. */
struct worker {
	struct pool *pool;
	nng_ctx ctx;
	nng_aio *aio;
	int ctx_open;
	int sending;		/* the aio is a send (else a receive) */
	nng_pipe pipe;		/* where the request in hand came from */
	struct worker *next;	/* in the pool's queue of received requests */
};

struct pool {
	struct server *srv;
	nng_socket sock;
	int sock_open;
	int operator;
	struct conn_limit *limit;	/* NULL: no limits (operator socket) */
	size_t nworkers;
	struct worker *workers;
	pthread_t *threads;
	size_t nthreads, nstarted;
	pthread_mutex_t mtx;	/* guards what follows */
	pthread_cond_t cond;
	int sync_init;
	struct worker *q_head, *q_tail;
	size_t active;		/* contexts not yet idle for good */
	int stopping;
};

struct server {
	struct handler *h;
	atomic_int stopping;
	int stopped;
	int abandoned;		/* a socket was left open at shutdown */
	nng_tls_config *tls;
	struct conn_limit *limit;
	struct pool net;
	struct pool op;
};

static int
nng_fail(int rv, const char *what, const char *url)
{
	return ca_error(CA_ERR_IO, "%s%s%s: %s", url != NULL ? url : "",
	    url != NULL ? ": " : "", what, nng_strerror(rv));
}

static int
tls_setup(struct server *s, const struct issuer_config *cfg)
{
	uint8_t *cert = NULL, *key = NULL;
	size_t cert_len = 0, key_len = 0;
	int rv, rc;

	if ((rv = nng_tls_config_alloc(&s->tls, NNG_TLS_MODE_SERVER)) != 0)
		return nng_fail(rv, "TLS configuration", NULL);
	if ((rc = fileio_read(&cert, &cert_len, cfg->tls_cert,
	    FILEIO_MAX_SMALL)) != CA_OK ||
	    (rc = fileio_read(&key, &key_len, cfg->tls_key,
	    FILEIO_MAX_SMALL)) != CA_OK)
		goto out;
	if ((rv = nng_tls_config_version(s->tls, NNG_TLS_1_2,
	    NNG_TLS_1_3)) != 0 && (rv = nng_tls_config_version(s->tls,
	    NNG_TLS_1_2, NNG_TLS_1_2)) != 0) {
		rc = nng_fail(rv, "TLS versions", NULL);
		goto out;
	}
	if ((rv = nng_tls_config_own_cert(s->tls, (char *)cert, (char *)key,
	    NULL)) != 0) {
		rc = ca_error(CA_ERR_CONFIG, "%s, %s: the transport "
		    "certificate and key cannot be used (PEM, unencrypted, "
		    "matching): %s", cfg->tls_cert, cfg->tls_key,
		    nng_strerror(rv));
		goto out;
	}
	rc = CA_OK;
 out:
	if (key != NULL) {
		OPENSSL_cleanse(key, key_len);
		free(key);
	}
	free(cert);
	return rc;
}

static int
operator_chgrp(const char *url, const char *group)
{
	struct group *gr;

	if ((gr = getgrnam(group)) == NULL)
		return ca_error(CA_ERR_CONFIG, "operator_group: %s: no such "
		    "group", group);
	if (chown(url + strlen("ipc://"), (uid_t)-1, gr->gr_gid) != 0)
		return ca_error(CA_ERR_IO, "%s: chgrp %s: %s", url, group,
		    strerror(errno));
	return CA_OK;
}

static int
listen_one(struct server *s, struct pool *p, const char *url,
    const struct issuer_config *cfg)
{
	nng_listener l;
	int rv, port = 0;

	if ((rv = nng_listener_create(&l, p->sock, url)) != 0)
		return nng_fail(rv, "cannot listen", url);
	if (strncmp(url, "tls+tcp://", 10) == 0 &&
	    (rv = nng_listener_set_ptr(l, NNG_OPT_TLS_CONFIG, s->tls)) != 0)
		return nng_fail(rv, "TLS configuration", url);
	if (p->operator && (rv = nng_listener_set_int(l,
	    NNG_OPT_IPC_PERMISSIONS, cfg->operator_group != NULL ? 0660 :
	    0600)) != 0)
		return nng_fail(rv, "socket permissions", url);
	if ((rv = nng_listener_start(l, 0)) != 0)
		return nng_fail(rv, "cannot listen", url);
	if (p->operator && cfg->operator_group != NULL) {
		int rc = operator_chgrp(url, cfg->operator_group);

		if (rc != CA_OK)
			return rc;
	}
	if (strstr(url, "tcp://") != NULL &&
	    nng_listener_get_int(l, NNG_OPT_TCP_BOUND_PORT, &port) == 0 &&
	    strstr(url, ":0") != NULL && url[strlen(url) - 1] == '0' &&
	    url[strlen(url) - 2] == ':')
		fprintf(stderr, "carapace-issuer: listening on %.*s%d\n",
		    (int)strlen(url) - 1, url, port);
	else
		fprintf(stderr, "carapace-issuer: listening on %s\n", url);
	fflush(stderr);
	return CA_OK;
}

static void worker_cb(void *);

static int
pool_open(struct server *s, struct pool *p, int operator, size_t nworkers,
    struct conn_limit *limit)
{
	size_t i;
	int rv, rc;

	p->srv = s;
	p->operator = operator;
	p->limit = limit;
	if (pthread_mutex_init(&p->mtx, NULL) != 0)
		return ca_error(CA_ERR_INTERNAL, "server: mutex");
	if (pthread_cond_init(&p->cond, NULL) != 0) {
		pthread_mutex_destroy(&p->mtx);
		return ca_error(CA_ERR_INTERNAL, "server: condition variable");
	}
	p->sync_init = 1;
	if ((rv = nng_rep0_open(&p->sock)) != 0)
		return nng_fail(rv, "REP socket", NULL);
	p->sock_open = 1;
	if ((rv = nng_socket_set_size(p->sock, NNG_OPT_RECVMAXSZ,
	    SERVER_RECV_MAX + SERVER_REQ_HEADER)) != 0)
		return nng_fail(rv, "NNG_OPT_RECVMAXSZ", NULL);
	if (limit != NULL && (rc = conn_limit_attach(limit, p->sock)) != CA_OK)
		return rc;
	if ((p->workers = calloc(nworkers, sizeof(*p->workers))) == NULL)
		return ca_error(CA_ERR_NOMEM, "server: out of memory");
	p->nworkers = nworkers;
	for (i = 0; i < nworkers; i++) {
		struct worker *w = &p->workers[i];

		w->pool = p;
		if ((rv = nng_ctx_open(&w->ctx, p->sock)) != 0)
			return nng_fail(rv, "REP context", NULL);
		w->ctx_open = 1;
		if ((rv = nng_aio_alloc(&w->aio, worker_cb, w)) != 0)
			return nng_fail(rv, "aio", NULL);
		nng_ctx_set_ms(w->ctx, NNG_OPT_SENDTIMEO, SERVER_SEND_MS);
	}
	return CA_OK;
}

/*
 * worker_idle decides what w does after a request or a timeout: receive
 * again (1), or, when the pool is stopping, nothing: w is idle for good
 * (0). Called with p->mtx held; the caller arms the receive after
 * unlocking (nng may run callbacks on the calling thread). A receive
 * armed just as the pool stops times out within SERVER_POLL_MS.
 */
static int
worker_idle(struct worker *w)
{
	struct pool *p = w->pool;

	if (p->stopping) {
		p->active--;
		pthread_cond_broadcast(&p->cond);
		return 0;
	}
	w->sending = 0;
	return 1;
}

static void
worker_recv(struct worker *w)
{
	nng_aio_set_timeout(w->aio, SERVER_POLL_MS);
	nng_ctx_recv(w->ctx, w->aio);
}

/*
 * worker_cb runs on nng's task queue when w's receive or send is done. It
 * never blocks for long: a received request goes on the pool's queue for
 * a pool thread, anything else re-arms the receive.
 */
static void
worker_cb(void *arg)
{
	struct worker *w = arg;
	struct pool *p = w->pool;
	int rv = nng_aio_result(w->aio), again = 0;

	if (w->sending && rv != 0) {
		nng_msg_free(nng_aio_get_msg(w->aio));
		nng_aio_set_msg(w->aio, NULL);
	}
	if (rv != 0 && rv != NNG_ETIMEDOUT && rv != NNG_ECLOSED &&
	    rv != NNG_ECANCELED)
		log_warn("%s: %s", w->sending ? "reply not sent" : "receive",
		    nng_strerror(rv));
	pthread_mutex_lock(&p->mtx);
	if (rv == NNG_ECLOSED || rv == NNG_ECANCELED)
		p->stopping = 1;
	if (w->sending)
		conn_limit_done(p->limit, w->pipe);
	if (!w->sending && rv == 0) {
		w->pipe = nng_msg_get_pipe(nng_aio_get_msg(w->aio));
		conn_limit_busy(p->limit, w->pipe);
		w->next = NULL;
		if (p->q_tail != NULL)
			p->q_tail->next = w;
		else
			p->q_head = w;
		p->q_tail = w;
		pthread_cond_signal(&p->cond);
	} else
		again = worker_idle(w);
	pthread_mutex_unlock(&p->mtx);
	if (again)
		worker_recv(w);
}

/* worker_serve handles w's request and starts sending the reply. */
static void
worker_serve(struct worker *w)
{
	struct pool *p = w->pool;
	nng_msg *msg = nng_aio_get_msg(w->aio), *reply = NULL;
	uint8_t *out = NULL;
	size_t out_len = 0;
	int rv, again;

	nng_aio_set_msg(w->aio, NULL);
	if (handler_handle(p->srv->h, &out, &out_len, nng_msg_body(msg),
	    nng_msg_len(msg), p->operator) != CA_OK)
		log_ca_err(CA_ERR_NOMEM, "request dropped");
	else if ((rv = nng_msg_alloc(&reply, 0)) != 0 ||
	    (rv = nng_msg_append(reply, out, out_len)) != 0) {
		log_err("reply: %s", nng_strerror(rv));
		nng_msg_free(reply);
		reply = NULL;
	}
	if (out != NULL)
		OPENSSL_clear_free(out, out_len);
	nng_msg_free(msg);
	if (reply != NULL) {
		w->sending = 1;
		nng_aio_set_msg(w->aio, reply);
		nng_aio_set_timeout(w->aio, SERVER_SEND_MS);
		nng_ctx_send(w->ctx, w->aio);
		return;
	}
	/* No answer: the client's REQ resends or times out. */
	conn_limit_done(p->limit, w->pipe);
	pthread_mutex_lock(&p->mtx);
	again = worker_idle(w);
	pthread_mutex_unlock(&p->mtx);
	if (again)
		worker_recv(w);
}

/*
 * thread_main: a pool thread takes received requests off the queue until
 * the pool is stopping and every context is idle (so each request that
 * was received is answered before the server stops).
 */
static void *
thread_main(void *arg)
{
	struct pool *p = arg;
	struct worker *w;

	pthread_mutex_lock(&p->mtx);
	for (;;) {
		if ((w = p->q_head) != NULL) {
			if ((p->q_head = w->next) == NULL)
				p->q_tail = NULL;
			pthread_mutex_unlock(&p->mtx);
			worker_serve(w);
			pthread_mutex_lock(&p->mtx);
			continue;
		}
		if (p->stopping && p->active == 0)
			break;
		pthread_cond_wait(&p->cond, &p->mtx);
	}
	pthread_mutex_unlock(&p->mtx);
	return NULL;
}

static int
pool_start(struct pool *p, size_t nthreads)
{
	size_t i;
	int e;

	if (p->nworkers == 0)
		return CA_OK;
	if (nthreads > p->nworkers)
		nthreads = p->nworkers;
	if ((p->threads = calloc(nthreads, sizeof(*p->threads))) == NULL)
		return ca_error(CA_ERR_NOMEM, "server: out of memory");
	p->nthreads = nthreads;
	for (i = 0; i < nthreads; i++) {
		if ((e = pthread_create(&p->threads[i], NULL, thread_main,
		    p)) != 0)
			return ca_error(CA_ERR_INTERNAL, "worker thread: %s",
			    strerror(e));
		p->nstarted++;
	}
	pthread_mutex_lock(&p->mtx);
	p->active = p->nworkers;
	pthread_mutex_unlock(&p->mtx);
	for (i = 0; i < p->nworkers; i++)
		worker_recv(&p->workers[i]);
	return CA_OK;
}

/* pool_join stops taking requests, answers those taken, joins threads. */
static void
pool_join(struct pool *p)
{
	size_t i;

	if (!p->sync_init)
		return;
	pthread_mutex_lock(&p->mtx);
	p->stopping = 1;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->mtx);
	for (i = 0; i < p->nstarted; i++)
		pthread_join(p->threads[i], NULL);
	p->nstarted = 0;
}

/*
 * How long shutdown waits for nng to close a socket. nng_close waits until
 * every connection is reaped; under a flood, nng 1.5 has been seen to wait
 * for ever for one that never is. Every request has been answered or
 * dropped by then (the workers are joined), so past this bound the socket
 * is left to the exiting process and shutdown goes on to close the log.
 */
#define SERVER_CLOSE_WAIT	10	/* seconds */

struct closer {
	nng_socket sock;
	pthread_mutex_t mtx;
	pthread_cond_t cond;
	int done, abandoned;
};

/*
 * What a closer that did not finish still uses: kept reachable (volatile,
 * or the compiler drops a variable that is only written, and the leak
 * checker reports it all).
 */
static struct server *volatile server_abandoned;

static void *
closer_main(void *arg)
{
	struct closer *c = arg;
	int abandoned;

#ifdef ILOG_TEST_HOOKS
	/*
	 * Only in tests/tools/issuer_faults: while the file that
	 * $CARAPACE_TEST_CLOSE_HANG names exists, nng_close "hangs".
	 */
	{
		const char *hang = getenv("CARAPACE_TEST_CLOSE_HANG");

		while (hang != NULL && access(hang, F_OK) == 0)
			sleep(1);
	}
#endif
	nng_close(c->sock);
	pthread_mutex_lock(&c->mtx);
	c->done = 1;
	abandoned = c->abandoned;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->mtx);
	if (abandoned) {
		pthread_cond_destroy(&c->cond);
		pthread_mutex_destroy(&c->mtx);
		free(c);
	}
	return NULL;
}

/* sock_close_bounded: 0 when nng closed sock, -1 when it was left open. */
static int
sock_close_bounded(nng_socket sock, const char *what,
    const struct timespec *until)
{
	struct closer *c;
	pthread_t t;
	int done, rc = 0;

	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    pthread_mutex_init(&c->mtx, NULL) != 0) {
		free(c);
		nng_close(sock);
		return 0;
	}
	c->sock = sock;
	if (pthread_cond_init(&c->cond, NULL) != 0 ||
	    pthread_create(&t, NULL, closer_main, c) != 0) {
		nng_close(sock);
		pthread_mutex_destroy(&c->mtx);
		free(c);
		return 0;
	}
	pthread_mutex_lock(&c->mtx);
	while (!c->done &&
	    pthread_cond_timedwait(&c->cond, &c->mtx, until) != ETIMEDOUT)
		;
	done = c->done;
	if (!done)
		c->abandoned = 1;
	pthread_mutex_unlock(&c->mtx);
	if (done) {
		pthread_join(t, NULL);
		pthread_cond_destroy(&c->cond);
		pthread_mutex_destroy(&c->mtx);
		free(c);
	} else {
		pthread_detach(t);
		log_warn("shutdown: the %s socket did not close within %d s "
		    "of the stop (connections that nng never released); "
		    "leaving it to the exiting process", what,
		    SERVER_CLOSE_WAIT);
		rc = -1;
	}
	return rc;
}

/*
 * pool_close: 0 when everything was released, -1 when the socket was left
 * open (then its contexts and callbacks' state are kept too).
 */
static int
pool_close(struct pool *p, const struct timespec *until)
{
	size_t i;

	for (i = 0; i < p->nworkers; i++) {
		struct worker *w = &p->workers[i];

		if (w->aio != NULL)
			nng_aio_stop(w->aio);
		if (w->ctx_open)
			nng_ctx_close(w->ctx);
		w->ctx_open = 0;
	}
	if (p->sock_open) {
		p->sock_open = 0;
		if (sock_close_bounded(p->sock, p->operator ? "operator" :
		    "network", until) != 0)
			return -1;
	}
	for (i = 0; i < p->nworkers; i++) {
		nng_aio_free(p->workers[i].aio);
		p->workers[i].aio = NULL;
	}
	free(p->workers);
	p->workers = NULL;
	p->nworkers = 0;
	free(p->threads);
	p->threads = NULL;
	if (p->sync_init) {
		pthread_cond_destroy(&p->cond);
		pthread_mutex_destroy(&p->mtx);
		p->sync_init = 0;
	}
	return 0;
}

/*
 * server_threads: how many threads serve nworkers network contexts. The
 * work is CPU-bound but for the HSM and the log's fsync, so a few threads
 * per CPU keep the CPUs busy; many more only add switches and lock
 * contention inside OpenSSL. CARAPACE_ISSUER_THREADS overrides it (for
 * benchmarks).
 */
static size_t
server_threads(size_t nworkers)
{
	const char *env = getenv("CARAPACE_ISSUER_THREADS");
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	long n;
	char *end;

	if (env != NULL && *env != '\0') {
		n = strtol(env, &end, 10);
		if (*end == '\0' && n >= 1 && n <= 1024)
			return (size_t)n;
	}
	if (ncpu < 1)
		ncpu = 1;
	n = SERVER_THREADS_PER_CPU * ncpu;
	if (n < SERVER_THREADS_MIN)
		n = SERVER_THREADS_MIN;
	return (size_t)n < nworkers ? (size_t)n : nworkers;
}

/*
 * server_nofile raises the soft limit on open files to the hard one (the
 * daemon uses epoll, so more than 1024 descriptors are fine), and warns
 * when even that leaves too few for max_connections: beyond it, accept
 * fails and nobody new gets in.
 */
static void
server_nofile(const struct issuer_config *cfg)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)cfg->max_connections + SERVER_FD_RESERVE;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
		(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want)
		log_warn("open files limit %llu is below max_connections + "
		    "%d = %llu: raise LimitNOFILE (systemd) or ulimit -n",
		    (unsigned long long)rl.rlim_cur, SERVER_FD_RESERVE,
		    (unsigned long long)want);
}

void
server_stop(struct server *s)
{
	struct timespec until;

	if (s == NULL || s->stopped)
		return;
	atomic_store(&s->stopping, 1);
	pool_join(&s->net);
	pool_join(&s->op);
	/* One bound for both sockets, from here. */
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += SERVER_CLOSE_WAIT;
	if (pool_close(&s->net, &until) != 0)
		s->abandoned = 1;
	if (pool_close(&s->op, &until) != 0)
		s->abandoned = 1;
	s->stopped = 1;
}

void
server_free(struct server *s)
{
	if (s == NULL)
		return;
	server_stop(s);
	if (s->abandoned) {
		/* nng may still call back into s->limit: keep it all. */
		server_abandoned = s;
		return;
	}
	if (s->tls != NULL)
		nng_tls_config_free(s->tls);
	/* After the sockets are closed: no pipe callback runs any more. */
	conn_limit_free(s->limit);
	free(s);
}

int
server_new(struct server **out, const struct issuer_config *cfg,
    struct handler *h)
{
	struct server *s = NULL;
	size_t i;
	int rc = CA_ERR_INTERNAL;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "server: out of memory");
		goto out;
	}
	s->h = h;
	atomic_init(&s->stopping, 0);
	for (i = 0; i < cfg->nlisten; i++)
		if (strncmp(cfg->listen[i], "tls+tcp://", 10) == 0 &&
		    s->tls == NULL && (rc = tls_setup(s, cfg)) != CA_OK)
			goto out;
	if ((rc = conn_limit_new(&s->limit, (size_t)cfg->max_connections,
	    (size_t)cfg->max_connections_per_peer,
	    cfg->idle_timeout * 1000)) != CA_OK)
		goto out;
	server_nofile(cfg);
	if ((rc = pool_open(s, &s->net, 0, (size_t)cfg->workers,
	    s->limit)) != CA_OK)
		goto out;
	for (i = 0; i < cfg->nlisten; i++)
		if ((rc = listen_one(s, &s->net, cfg->listen[i], cfg)) !=
		    CA_OK)
			goto out;
	if (cfg->operator_url != NULL) {
		if ((rc = pool_open(s, &s->op, 1,
		    SERVER_OPERATOR_WORKERS, NULL)) != CA_OK ||
		    (rc = listen_one(s, &s->op, cfg->operator_url, cfg)) !=
		    CA_OK)
			goto out;
	}
	*out = s;
	s = NULL;
	rc = CA_OK;
 out:
	server_free(s);
	return rc;
}

int
server_start(struct server *s)
{
	int rc;

	if ((rc = pool_start(&s->net, server_threads(s->net.nworkers))) !=
	    CA_OK)
		return rc;
	return pool_start(&s->op, SERVER_OPERATOR_WORKERS);
}
