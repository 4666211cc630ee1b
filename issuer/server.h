/* SPDX-License-Identifier: ISC */
/*
 * server: carapace-issuer's nng REP sockets and the pool of worker
 * threads that serve them.
 *
 * Design. Each socket (one for the network listeners, one for the
 * operator socket) has `workers` REP contexts, each with its own nng_aio,
 * so that many requests are in flight at once, and a small pool of
 * threads that run the handler. A context's aio callback never blocks: a
 * received request is put on the pool's queue, a finished send re-arms
 * the receive. A pool thread takes a request off the queue, handles it
 * and starts the send (nng_ctx_send, not waited for). The handler is not
 * run in nng's callbacks because it blocks: on the HSM (seconds when the
 * token is lost and the context is rebuilt) and on the issuance log's
 * group commit (an fsync); nng runs callbacks on a small shared task
 * queue, and blocking it would stall nng's own I/O.
 *
 * Why fewer threads than contexts: the work is CPU-bound apart from the
 * HSM and the fsync. With one thread per context (32 on 2 CPUs) the
 * issuer spent about 11-17% of its CPU switching threads and contending
 * on OpenSSL 3.0's internal locks. The network pool has
 * SERVER_THREADS_PER_CPU threads per online CPU (at least
 * SERVER_THREADS_MIN, at most `workers`); CARAPACE_ISSUER_THREADS
 * overrides it for benchmarks.
 *
 * Shutdown (server_stop): a flag is set; contexts stop re-arming their
 * receive (a pending one times out within SERVER_POLL_MS), every request
 * already received is handled and its reply sent (its log commit
 * included); when every context is idle the threads exit and are joined,
 * then the aios are stopped and the sockets closed.
 *
 * Every socket accepts requests of up to SERVER_RECV_MAX bytes, twice the
 * protocol's cap: a request between the two is received and answered
 * tooLarge by the decoder (so the client learns why); beyond it nng
 * drops the message and closes the connection. nng checks
 * NNG_OPT_RECVMAXSZ against the whole SP message, which carries the REQ
 * request id (SERVER_REQ_HEADER bytes) in front of the request, so the
 * option is set to SERVER_RECV_MAX + SERVER_REQ_HEADER. tls+tcp://
 * listeners get the transport certificate and key from files; the operator
 * ipc:// socket is created mode 0600 (0660 and chgrp'd with
 * operator_group).
 *
 * The network socket's connections are capped in total and per peer, and
 * closed when idle, by conn_limit (issuer/conn_limit.h); a context tells
 * it when a request from a pipe is received and when its reply is sent.
 * The operator socket, reachable only through file permissions, has no
 * such limits.
 */
#ifndef SERVER_H
#define SERVER_H

#include "protocol/protocol.h"
#include "issuer/handler.h"
#include "issuer/issuer_config.h"

#define SERVER_POLL_MS		200	/* receive timeout: how fast stop is */
#define SERVER_SEND_MS		10000
#define SERVER_OPERATOR_WORKERS	4
/* Threads serving the network contexts: this many per CPU, at least MIN. */
#define SERVER_THREADS_PER_CPU	16
#define SERVER_THREADS_MIN	4
/* The transport's receive cap: larger requests close the connection. */
#define SERVER_RECV_MAX		(2 * PROTOCOL_MAX_MESSAGE)
/*
 * The REQ header nng sends before a request: one 32-bit request id (more
 * only through nng devices, which carapace does not use).
 */
#define SERVER_REQ_HEADER	4
/*
 * File descriptors kept beyond max_connections: the log, the HSM, the
 * listeners, and connections nng has accepted but not yet negotiated
 * (it gives those 10 s for the SP handshake).
 */
#define SERVER_FD_RESERVE	256

struct server;

/*
 * server_new opens the sockets and starts every listener of cfg, printing
 * "carapace-issuer: listening on URL" to stderr for each one once it is
 * bound. h is borrowed and must outlive the server. No request is served
 * before server_start. Free with server_free.
 */
int server_new(struct server **out, const struct issuer_config *cfg,
    struct handler *h) __attribute__((warn_unused_result));

/* server_start starts the worker threads. */
int server_start(struct server *s) __attribute__((warn_unused_result));

/*
 * server_stop drains: workers finish the requests they hold and exit, and
 * the sockets are closed. Safe to call twice.
 */
void server_stop(struct server *s);

/* server_free stops the server if needed and frees it; NULL is a no-op. */
void server_free(struct server *s);

#endif /* SERVER_H */
