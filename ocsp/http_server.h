/* SPDX-License-Identifier: ISC */
/*
 * http_server: a small HTTP/1.1 server on plain POSIX sockets and epoll,
 * for carapace-ocsp (private to ocsp/). It owns the listener, the
 * connections, keep-alive, pipelining (answered in order), the limits and
 * the timeouts; requests are parsed by http_parse.c and answered by one
 * handler function.
 *
 * Threads: nthreads workers, each with its own epoll set; the listening
 * socket is in every set with EPOLLEXCLUSIVE, and a connection stays with
 * the worker that accepted it. The handler runs on the worker and may
 * block briefly (an HSM signature).
 *
 * Limits: HTTP_HEADER_MAX bytes of header and HTTP_HEADERS_MAX fields
 * (431), max_body bytes of body (413, with the handler's error body), and
 * one deadline per connection: a request must arrive whole, and its
 * answer be written, within timeout_ms of the connection's start or of
 * the previous answer, or the connection is closed (slowloris). Bytes
 * that cannot begin an HTTP request are answered 400 at once.
 *
 * Connections, so that no one client can starve the others:
 *   - max_per_addr per client address (an IPv6 /64 counts as one, see
 *     http_peers.h): one more from that address is accepted and closed;
 *   - max_conns in all: when the table is full, a new connection evicts
 *     an idle one (no request begun, nothing left to write; the oldest of
 *     the busiest address among the 64 oldest idle), from any worker; only with nothing idle is the new one closed. Evicted
 *     connections are closed by their own worker, so up to
 *     HTTP_SERVER_EVICT_MAX more descriptors may be open for a moment;
 *   - while more than half of max_conns are open, a connection idle for
 *     1 s (or timeout_ms, if shorter) is closed.
 */
#ifndef OCSP_HTTP_SERVER_H
#define OCSP_HTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "ocsp/http_parse.h"

#define HTTP_SERVER_MAX_CONNS_DEF	1024
#define HTTP_SERVER_TIMEOUT_MS_DEF	10000
#define HTTP_SERVER_THREADS_MAX		256
#define HTTP_SERVER_PER_ADDR_DEF	64
#define HTTP_SERVER_EVICT_MAX		64	/* evicted, not yet closed */

/* What a handler answers. The server sends and frees body. */
struct http_response {
	int status;			/* 200, 404, ... */
	const char *content_type;	/* static string */
	char headers[512];		/* extra "Name: value\r\n" lines */
	uint8_t *body;			/* malloc'd, or NULL */
	size_t body_len;
};

/*
 * http_handler_fn answers req into res (zeroed by the server). When req is
 * NULL the server refuses a request with res->status already set (413:
 * the body was over max_body) and the handler may supply a body. Returns
 * 0, or -1 when out of memory (the connection is then closed).
 */
typedef int (*http_handler_fn)(void *arg, struct http_response *res,
    const struct http_request *req);

struct http_server_config {
	const char *listen;	/* http://HOST:PORT, HOST may be [v6] */
	int nthreads;		/* 0: CPUs, at least 2 */
	long max_conns;		/* 0: HTTP_SERVER_MAX_CONNS_DEF */
	long max_per_addr;	/* 0: HTTP_SERVER_PER_ADDR_DEF; <= max_conns */
	long timeout_ms;	/* 0: HTTP_SERVER_TIMEOUT_MS_DEF */
	uint64_t max_body;	/* Content-Length cap */
	http_handler_fn handler;
	void *arg;
};

struct http_server;

/*
 * http_server_start listens on cfg->listen and starts the workers.
 * Returns CA_OK with *out set, CA_ERR_CONFIG for a listen address it
 * cannot read, CA_ERR_IO when it cannot listen ("cannot listen" in the
 * detail). Stop and free with http_server_stop.
 */
int http_server_start(struct http_server **out,
    const struct http_server_config *cfg) __attribute__((warn_unused_result));

/*
 * http_server_stop stops accepting, stops the workers, closes every
 * connection and frees s. http_server_stop(NULL) is a no-op.
 */
void http_server_stop(struct http_server *s);

#endif /* OCSP_HTTP_SERVER_H */
