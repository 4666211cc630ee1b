/* SPDX-License-Identifier: ISC */
/*
 * http_server: carapace-ocsp's HTTP/1.1 server (see http_server.h). Each
 * worker thread runs one level-triggered epoll loop over the shared
 * listening socket (EPOLLEXCLUSIVE), an eventfd that says "stop", and the
 * connections it accepted. A connection reads into one buffer, answers
 * every whole request in it in order (pipelining), and writes from one
 * buffer; while an answer is still being written it does not read. After
 * an answer with "Connection: close" (or a refusal) it shuts its writing
 * side and discards input for a moment, so that the answer is not lost to
 * a reset, then closes. Every connection has one deadline (see the
 * header), checked by its worker twice a second.
 *
 * The limits shared by the workers (the count, the per-address counts,
 * the idle list that a full table evicts from, oldest first) sit under
 * one mutex, taken on accept, on close, and when a connection turns idle
 * or busy; a keep-alive client answered within one read takes it not at
 * all. A worker that evicts another's connection shuts it down under the
 * mutex, and the owner, woken by the shutdown, closes it.
 */
#include "config.h"

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include "common/ca_error.h"
#include "ocsp/http_peers.h"
#include "ocsp/http_server.h"

#define IN_CHUNK	4096
#define OUT_HIGH	(256 * 1024)	/* stop answering until written */
#define DRAIN_MS	1000		/* discard input after a close */
#define SWEEP_MS	500
#define ACCEPT_BURST	64
#define IDLE_BUSY_MS	1000		/* idle limit when over half full */

struct conn {
	struct conn *prev, *next;	/* the worker's connections */
	struct conn *iprev, *inext;	/* the idle list (under srv->mu) */
	int fd;
	uint8_t peer[HTTP_PEER_KEY_LEN];
	int idle;		/* owner's view: no request, nothing to write */
	int listed;		/* on the idle list (under srv->mu) */
	atomic_int evicted;	/* shut down by another worker: close */
	int64_t idle_since;	/* ms, monotonic */
	uint8_t *in;
	size_t in_len, in_cap;
	uint8_t *out;
	size_t out_len, out_off, out_cap;
	int64_t deadline;	/* ms, monotonic */
	uint32_t events;	/* registered with epoll */
	int closing;		/* close once out is written */
	int draining;		/* written and shut: discarding input */
	int peer_eof;
	int sent_continue;
};

struct worker {
	struct http_server *srv;
	pthread_t tid;
	int started;
	int ep;
	struct conn *conns;
	uint8_t *scratch;	/* max_body bytes: a chunked body, decoded */
	time_t date_t;
	char date[40];
};

struct http_server {
	struct http_server_config cfg;
	int lfd;
	int efd;
	atomic_int stop;
	/*
	 * mu guards the connection count, the per-address counts and the
	 * idle list (oldest first), which every worker may evict from.
	 * nconns is also read without it, to tell whether the table is
	 * more than half full.
	 */
	pthread_mutex_t mu;
	int mu_init;
	atomic_long nconns;
	/*
	 * Under pressure from when the table is more than half full until it
	 * is back to a quarter: idle connections get idle_busy_ms meanwhile
	 * (hysteresis, so that a flood is cleared out, not trimmed to half).
	 */
	atomic_int pressure;
	long nevicting;		/* evicted, not yet closed by their owner */
	struct http_peers *peers;
	struct conn *idle_head, *idle_tail;
	int64_t idle_busy_ms;
	size_t in_max;
	int nworkers;
	struct worker *w;
};

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *
reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 411: return "Length Required";
	case 412: return "Precondition Failed";
	case 413: return "Content Too Large";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 505: return "HTTP Version Not Supported";
	default: return "Error";
	}
}

/* idle_unlink takes c off the idle list; the caller holds s->mu. */
static void
idle_unlink(struct http_server *s, struct conn *c)
{
	if (!c->listed)
		return;
	if (c->iprev != NULL)
		c->iprev->inext = c->inext;
	else
		s->idle_head = c->inext;
	if (c->inext != NULL)
		c->inext->iprev = c->iprev;
	else
		s->idle_tail = c->iprev;
	c->iprev = c->inext = NULL;
	c->listed = 0;
}

/*
 * conn_set_idle records whether c is idle (no request begun, nothing left
 * to write, not closing): an idle connection goes to the tail of the idle
 * list, where the accept path may evict it when the table is full.
 */
static void
conn_set_idle(struct http_server *s, struct conn *c, int idle)
{
	if (idle == c->idle)
		return;
	c->idle = idle;
	if (idle)
		c->idle_since = now_ms();
	pthread_mutex_lock(&s->mu);
	if (!idle)
		idle_unlink(s, c);
	else if (!atomic_load(&c->evicted)) {
		c->iprev = s->idle_tail;
		c->inext = NULL;
		if (s->idle_tail != NULL)
			s->idle_tail->inext = c;
		else
			s->idle_head = c;
		s->idle_tail = c;
		c->listed = 1;
	}
	pthread_mutex_unlock(&s->mu);
}

static void
conn_close(struct worker *w, struct conn *c)
{
	struct http_server *s = w->srv;

	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	/* Off the idle list before the descriptor may be reused. */
	pthread_mutex_lock(&s->mu);
	idle_unlink(s, c);
	http_peers_remove(s->peers, c->peer);
	if (atomic_load(&c->evicted))
		s->nevicting--;
	/* Back to a quarter: the pressure is over (see sweep). */
	if (atomic_fetch_sub(&s->nconns, 1) - 1 <= s->cfg.max_conns / 4)
		atomic_store(&s->pressure, 0);
	pthread_mutex_unlock(&s->mu);
	close(c->fd);	/* also leaves the epoll set */
	free(c->in);
	free(c->out);
	free(c);
}

static int
out_reserve(struct conn *c, size_t n)
{
	size_t cap;
	uint8_t *p;

	if (c->out_off > 0 && c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	if (c->out_cap - c->out_len >= n)
		return 0;
	if (n > SIZE_MAX / 2 - c->out_len)
		return -1;
	for (cap = c->out_cap ? c->out_cap : 4096; cap - c->out_len < n;)
		cap *= 2;
	if ((p = realloc(c->out, cap)) == NULL)
		return -1;
	c->out = p;
	c->out_cap = cap;
	return 0;
}

static int
out_append(struct conn *c, const void *p, size_t n)
{
	if (n == 0)
		return 0;
	if (out_reserve(c, n) != 0)
		return -1;
	memcpy(c->out + c->out_len, p, n);
	c->out_len += n;
	return 0;
}

static const char *
http_date(struct worker *w)
{
	time_t t = time(NULL);
	struct tm tm;

	if (t != w->date_t) {
		gmtime_r(&t, &tm);
		strftime(w->date, sizeof(w->date),
		    "%a, %d %b %Y %H:%M:%S GMT", &tm);
		w->date_t = t;
	}
	return w->date;
}

/*
 * emit appends res as an HTTP/1.1 response to c's output. minor and
 * keep_alive are those of the request (keep_alive 0 also for refusals);
 * for a HEAD request (head) the body is left out and its length kept
 * (RFC 9110 9.3.2). A 304 carries neither (RFC 9110 15.4.5).
 */
static int
emit(struct worker *w, struct conn *c, const struct http_response *res,
    int minor, int keep_alive, int head)
{
	char hdr[1024], cl[48];
	int n, nobody = res->status == 304;

	cl[0] = '\0';
	if (!nobody)
		snprintf(cl, sizeof(cl), "Content-Length: %zu\r\n",
		    res->body_len);
	n = snprintf(hdr, sizeof(hdr), "HTTP/1.1 %d %s\r\nDate: %s\r\n"
	    "%s%s%s%s%s%s%s\r\n", res->status,
	    reason(res->status), http_date(w),
	    res->content_type != NULL ? "Content-Type: " : "",
	    res->content_type != NULL ? res->content_type : "",
	    res->content_type != NULL ? "\r\n" : "", cl,
	    !keep_alive ? "Connection: close\r\n" :
	    minor == 0 ? "Connection: keep-alive\r\n" : "",
	    res->status == 405 ? "Allow: GET, HEAD, POST\r\n" : "",
	    res->headers);
	if (n < 0 || (size_t)n >= sizeof(hdr))
		return -1;
	if (out_append(c, hdr, (size_t)n) != 0)
		return -1;
	if (!head && !nobody && out_append(c, res->body, res->body_len) != 0)
		return -1;
	return 0;
}

/* refuse appends the answer to a request the parser refused. */
static int
refuse(struct worker *w, struct conn *c, int status)
{
	struct http_server *s = w->srv;
	struct http_response res;
	int rc = -1;

	memset(&res, 0, sizeof(res));
	res.status = status;
	if (status == 413) {
		if (s->cfg.handler(s->cfg.arg, &res, NULL) != 0)
			goto out;
		res.status = 413;
	}
	if (res.body == NULL) {
		res.content_type = "text/plain";
		res.headers[0] = '\0';
		if ((res.body = malloc(64)) == NULL)
			goto out;
		res.body_len = (size_t)snprintf((char *)res.body, 64,
		    "%d %s\n", status, reason(status));
	}
	rc = emit(w, c, &res, 1, 0, 0);
 out:
	free(res.body);
	return rc;
}

/*
 * conn_process answers the whole requests in c's input. Returns 1 when it
 * stopped with output over OUT_HIGH (call again once written), 0 when it
 * needs more input or the connection is closing, -1 to close now.
 */
static int
conn_process(struct worker *w, struct conn *c)
{
	struct http_server *s = w->srv;
	struct http_request req;
	struct http_response res;
	enum http_parse_result pr;
	size_t off = 0;
	int rc = 0;

	if (c->in == NULL)
		return 0;	/* nothing read yet */
	while (!c->closing) {
		if (c->out_len - c->out_off > OUT_HIGH) {
			rc = 1;
			break;
		}
		pr = http_parse_request(&req, c->in + off, c->in_len - off,
		    s->cfg.max_body, w->scratch);
		if (pr == HTTP_PARSE_ERROR) {
			c->closing = 1;
			off = c->in_len;
			if (refuse(w, c, req.status) != 0)
				rc = -1;
			break;
		}
		if (pr == HTTP_PARSE_MORE) {
			if (req.header_done && req.expect_continue &&
			    req.minor == 1 && !c->sent_continue) {
				c->sent_continue = 1;
				if (out_append(c, "HTTP/1.1 100 Continue\r\n\r\n",
				    25) != 0)
					rc = -1;
			}
			/* A full buffer holds a whole request (see start). */
			if (c->in_len - off == s->in_max)
				rc = -1;
			break;
		}
		memset(&res, 0, sizeof(res));
		if (s->cfg.handler(s->cfg.arg, &res, &req) != 0) {
			free(res.body);
			rc = -1;
			break;
		}
		if (!req.keep_alive)
			c->closing = 1;
		if (emit(w, c, &res, req.minor, req.keep_alive,
		    req.method == HTTP_METHOD_HEAD) != 0) {
			free(res.body);
			rc = -1;
			break;
		}
		free(res.body);
		off += req.consumed;
		c->sent_continue = 0;
		c->deadline = now_ms() + s->cfg.timeout_ms;
	}
	if (off > 0) {
		memmove(c->in, c->in + off, c->in_len - off);
		c->in_len -= off;
	}
	return rc;
}

/* conn_flush writes what it can. Returns 0, or -1 on a write error. */
static int
conn_flush(struct conn *c)
{
	ssize_t n;

	while (c->out_off < c->out_len) {
		n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
		    MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -1;
		}
		c->out_off += (size_t)n;
	}
	c->out_off = c->out_len = 0;
	return 0;
}

/*
 * conn_read reads what the socket holds into c's input, up to in_max.
 * Returns 0, or -1 on a read error.
 */
static int
conn_read(struct http_server *s, struct conn *c)
{
	uint8_t *p, junk[4096];
	size_t cap;
	ssize_t n;

	for (;;) {
		if (c->draining) {
			n = recv(c->fd, junk, sizeof(junk), 0);
		} else {
			if (c->in_len == c->in_cap) {
				if (c->in_cap >= s->in_max)
					return 0;
				cap = c->in_cap ? c->in_cap * 2 : IN_CHUNK;
				if (cap > s->in_max)
					cap = s->in_max;
				if ((p = realloc(c->in, cap)) == NULL)
					return -1;
				c->in = p;
				c->in_cap = cap;
			}
			n = recv(c->fd, c->in + c->in_len,
			    c->in_cap - c->in_len, 0);
		}
		if (n == 0) {
			c->peer_eof = 1;
			return 0;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -1;
		}
		if (!c->draining)
			c->in_len += (size_t)n;
	}
}

static void
conn_event(struct worker *w, struct conn *c, uint32_t ev)
{
	struct http_server *s = w->srv;
	struct epoll_event ee;
	uint32_t want;
	int rc;

	if ((ev & EPOLLERR) || atomic_load(&c->evicted))
		goto close;
	if ((ev & (EPOLLIN | EPOLLHUP)) && !c->peer_eof &&
	    conn_read(s, c) != 0)
		goto close;
	if (c->draining) {
		if (c->peer_eof)
			goto close;
		return;
	}
	for (;;) {
		if ((rc = conn_process(w, c)) < 0)
			goto close;
		if (conn_flush(c) != 0)
			goto close;
		if (rc == 0 || c->out_off < c->out_len)
			break;
	}
	if (c->out_off < c->out_len)
		want = EPOLLOUT;
	else if (c->closing) {
		if (c->peer_eof)
			goto close;
		shutdown(c->fd, SHUT_WR);
		c->draining = 1;
		c->deadline = now_ms() + DRAIN_MS;
		want = EPOLLIN;
	} else if (c->peer_eof)
		goto close;	/* nothing more will come */
	else
		want = EPOLLIN;
	if (want != c->events) {
		memset(&ee, 0, sizeof(ee));
		ee.events = want;
		ee.data.ptr = c;
		if (epoll_ctl(w->ep, EPOLL_CTL_MOD, c->fd, &ee) != 0)
			goto close;
		c->events = want;
	}
	conn_set_idle(s, c, !c->closing && c->in_len == 0 &&
	    c->out_off == c->out_len);
	return;
 close:
	conn_close(w, c);
}

/*
 * evict_pick: among the HTTP_SERVER_EVICT_SCAN oldest idle connections,
 * the oldest of the address that holds the most connections. A flood's
 * reopened connections make room for each other, not at the expense of a
 * lone client that has connected and not yet sent its request. Under mu.
 */
#define HTTP_SERVER_EVICT_SCAN	64

static struct conn *
evict_pick(struct http_server *s)
{
	struct conn *c, *best = NULL;
	uint32_t n, most = 0;
	int i;

	for (c = s->idle_head, i = 0; c != NULL && i < HTTP_SERVER_EVICT_SCAN;
	    c = c->inext, i++)
		if ((n = http_peers_count(s->peers, c->peer)) > most) {
			most = n;
			best = c;
		}
	return best != NULL ? best : s->idle_head;
}

/*
 * conn_admit counts c (its peer key set) against the limits. When c's
 * address holds max_per_addr connections already it returns -1: refused.
 * When the table is full it evicts an idle connection (evict_pick), any
 * worker's (the owner closes it: shut down here, so that its worker wakes
 * up), and returns 1; with nothing idle to evict it returns -1. Otherwise
 * 0.
 */
static int
conn_admit(struct worker *w, struct conn *c)
{
	struct http_server *s = w->srv;
	struct conn *v;
	int rc = -1;

	pthread_mutex_lock(&s->mu);
	if (http_peers_add(s->peers, c->peer, (uint32_t)s->cfg.max_per_addr)
	    != 0)
		goto out;
	if (atomic_load(&s->nconns) - s->nevicting >= s->cfg.max_conns) {
		if ((v = evict_pick(s)) == NULL ||
		    s->nevicting >= HTTP_SERVER_EVICT_MAX) {
			http_peers_remove(s->peers, c->peer);
			goto out;
		}
		idle_unlink(s, v);
		atomic_store(&v->evicted, 1);
		s->nevicting++;
		/* v->fd stays open until its owner, holding mu, closes it. */
		shutdown(v->fd, SHUT_RDWR);
		rc = 1;
	} else
		rc = 0;
	atomic_fetch_add(&s->nconns, 1);
 out:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static void
accept_some(struct worker *w)
{
	struct http_server *s = w->srv;
	struct sockaddr_storage ss;
	struct epoll_event ee;
	struct conn *c;
	socklen_t sl;
	int fd, i, one = 1, admit;

	for (i = 0; i < ACCEPT_BURST; i++) {
		sl = sizeof(ss);
		fd = accept4(s->lfd, (struct sockaddr *)&ss, &sl,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM)
				usleep(10000);	/* do not spin on a full table */
			return;
		}
		if ((c = calloc(1, sizeof(*c))) == NULL) {
			close(fd);
			continue;
		}
		atomic_init(&c->evicted, 0);
		c->fd = fd;
		http_peers_key(c->peer, (struct sockaddr *)&ss);
		if ((admit = conn_admit(w, c)) < 0) {
			free(c);
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c->deadline = now_ms() + s->cfg.timeout_ms;
		c->events = EPOLLIN;
		memset(&ee, 0, sizeof(ee));
		ee.events = EPOLLIN;
		ee.data.ptr = c;
		if ((c->next = w->conns) != NULL)
			c->next->prev = c;
		w->conns = c;
		if (epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &ee) != 0) {
			conn_close(w, c);
			continue;
		}
		/* Most clients send at once: read now, before it can be
		 * taken for idle; the connection is idle if nothing came. */
		conn_event(w, c, EPOLLIN);
		/*
		 * After an eviction, back to epoll_wait: the connections
		 * already accepted get read before more are evicted, so a
		 * flood that reconnects at once cannot push a new client's
		 * connection to the head of the idle list unread.
		 */
		if (admit > 0)
			return;
	}
}

/*
 * sweep closes the connections past their deadline, those another worker
 * evicted, and, under pressure (from more than half full until back to a
 * quarter), those idle for idle_busy_ms.
 */
static void
sweep(struct worker *w)
{
	struct http_server *s = w->srv;
	struct conn *c, *next;
	int64_t now = now_ms();
	long n;
	int busy;

	n = atomic_load(&s->nconns);
	if (n > s->cfg.max_conns / 2)
		atomic_store(&s->pressure, 1);
	else if (n <= s->cfg.max_conns / 4)
		atomic_store(&s->pressure, 0);
	busy = atomic_load(&s->pressure);
	for (c = w->conns; c != NULL; c = next) {
		next = c->next;
		if (now >= c->deadline || atomic_load(&c->evicted) ||
		    (busy && c->idle && now - c->idle_since >= s->idle_busy_ms))
			conn_close(w, c);
	}
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct http_server *s = w->srv;
	struct epoll_event ev[64];
	int64_t next_sweep = now_ms() + SWEEP_MS;
	int i, n;

	while (!atomic_load(&s->stop)) {
		n = epoll_wait(w->ep, ev, 64, SWEEP_MS);
		if (n < 0 && errno != EINTR)
			break;
		for (i = 0; i < n && !atomic_load(&s->stop); i++) {
			if (ev[i].data.ptr == &s->lfd)
				accept_some(w);
			else if (ev[i].data.ptr == &s->efd)
				break;
			else
				conn_event(w, ev[i].data.ptr, ev[i].events);
		}
		if (now_ms() >= next_sweep) {
			sweep(w);
			next_sweep = now_ms() + SWEEP_MS;
		}
	}
	while (w->conns != NULL)
		conn_close(w, w->conns);
	return NULL;
}

/*
 * listen_url splits http://HOST:PORT[/...] into host (NULL for an empty
 * host or "*") and port (default 80), in buf.
 */
static int
listen_url(const char **host, const char **port, char *buf, size_t bufsz,
    const char *url)
{
	char *h, *p, *e;

	if (strncmp(url, "http://", 7) != 0 ||
	    strlen(url + 7) >= bufsz)
		return ca_error(CA_ERR_CONFIG, "%s: not http://HOST:PORT", url);
	strcpy(buf, url + 7);
	if ((e = strchr(buf, '/')) != NULL)
		*e = '\0';
	h = buf;
	if (*h == '[') {
		if ((e = strchr(h, ']')) == NULL)
			return ca_error(CA_ERR_CONFIG, "%s: RFC 3986 3.2.2: "
			    "unterminated IPv6 literal", url);
		*e++ = '\0';
		h++;
		p = e;
	} else
		p = (e = strrchr(h, ':')) != NULL ? e : h + strlen(h);
	if (*p == ':')
		*p++ = '\0';
	else if (*p != '\0')
		return ca_error(CA_ERR_CONFIG, "%s: not http://HOST:PORT", url);
	else
		p = "80";
	if (*p == '\0' || strspn(p, "0123456789") != strlen(p) ||
	    atol(p) > 65535)
		return ca_error(CA_ERR_CONFIG, "%s: bad port", url);
	*host = (*h == '\0' || strcmp(h, "*") == 0) ? NULL : h;
	*port = p;
	return CA_OK;
}

static int
server_listen(struct http_server *s)
{
	struct addrinfo hints, *res = NULL, *ai;
	const char *host = NULL, *port = NULL;
	char buf[256];
	int fd = -1, one = 1, err = 0, rc;

	if ((rc = listen_url(&host, &port, buf, sizeof(buf), s->cfg.listen))
	    != CA_OK)
		return rc;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0)
		return ca_error(CA_ERR_CONFIG, "%s: %s", s->cfg.listen,
		    gai_strerror(rc));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, 1024) == 0)
			break;
		err = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return ca_error(CA_ERR_IO, "%s: cannot listen: %s",
		    s->cfg.listen, strerror(err));
	s->lfd = fd;
	return CA_OK;
}

int
http_server_start(struct http_server **out,
    const struct http_server_config *cfg)
{
	struct http_server *s;
	struct epoll_event ee;
	long ncpu;
	int i, rc = CA_ERR_INTERNAL;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return ca_error(CA_ERR_NOMEM, "out of memory");
	s->cfg = *cfg;
	s->lfd = s->efd = -1;
	atomic_init(&s->stop, 0);
	atomic_init(&s->nconns, 0);
	atomic_init(&s->pressure, 0);
	if (s->cfg.max_conns <= 0)
		s->cfg.max_conns = HTTP_SERVER_MAX_CONNS_DEF;
	if (s->cfg.timeout_ms <= 0)
		s->cfg.timeout_ms = HTTP_SERVER_TIMEOUT_MS_DEF;
	if (s->cfg.max_per_addr <= 0)
		s->cfg.max_per_addr = HTTP_SERVER_PER_ADDR_DEF;
	if (s->cfg.max_per_addr > s->cfg.max_conns)
		s->cfg.max_per_addr = s->cfg.max_conns;
	s->idle_busy_ms = s->cfg.timeout_ms < IDLE_BUSY_MS ?
	    s->cfg.timeout_ms : IDLE_BUSY_MS;
	if ((rc = pthread_mutex_init(&s->mu, NULL)) != 0) {
		rc = ca_error(CA_ERR_INTERNAL, "pthread_mutex_init: %s",
		    strerror(rc));
		goto out;
	}
	s->mu_init = 1;
	/* Every connection, evicted ones included, may be a new address. */
	if ((rc = http_peers_new(&s->peers, (size_t)s->cfg.max_conns +
	    HTTP_SERVER_EVICT_MAX)) != CA_OK)
		goto out;
	if (s->cfg.nthreads <= 0) {
		ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		s->cfg.nthreads = ncpu < 2 ? 2 : ncpu > HTTP_SERVER_THREADS_MAX
		    ? HTTP_SERVER_THREADS_MAX : (int)ncpu;
	}
	if (s->cfg.nthreads > HTTP_SERVER_THREADS_MAX)
		s->cfg.nthreads = HTTP_SERVER_THREADS_MAX;
	if (s->cfg.max_body > UINT32_MAX) {
		rc = ca_error(CA_ERR_INVALID, "HTTP body cap over 4 GiB");
		goto out;
	}
	/* Leading empty lines count in HTTP_HEADER_MAX: a full buffer
	 * always holds one whole request or a refusal. */
	s->in_max = HTTP_HEADER_MAX + (size_t)s->cfg.max_body;
	if ((rc = server_listen(s)) != CA_OK)
		goto out;
	s->cfg.listen = NULL;	/* the caller's string: not kept */
	if ((s->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		rc = ca_error(CA_ERR_IO, "eventfd: %s", strerror(errno));
		goto out;
	}
	if ((s->w = calloc((size_t)s->cfg.nthreads, sizeof(*s->w))) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < s->cfg.nthreads; i++) {
		s->w[i].srv = s;
		s->w[i].ep = -1;
		if ((s->w[i].scratch = malloc(s->cfg.max_body > 0 ?
		    (size_t)s->cfg.max_body : 1)) == NULL) {
			s->nworkers = i;
			rc = ca_error(CA_ERR_NOMEM, "out of memory");
			goto out;
		}
	}
	s->nworkers = s->cfg.nthreads;
	for (i = 0; i < s->nworkers; i++) {
		struct worker *w = &s->w[i];

		if ((w->ep = epoll_create1(EPOLL_CLOEXEC)) < 0) {
			rc = ca_error(CA_ERR_IO, "epoll_create1: %s",
			    strerror(errno));
			goto out;
		}
		memset(&ee, 0, sizeof(ee));
		ee.events = EPOLLIN | EPOLLEXCLUSIVE;
		ee.data.ptr = &s->lfd;
		if (epoll_ctl(w->ep, EPOLL_CTL_ADD, s->lfd, &ee) != 0) {
			rc = ca_error(CA_ERR_IO, "epoll_ctl: %s",
			    strerror(errno));
			goto out;
		}
		ee.events = EPOLLIN;
		ee.data.ptr = &s->efd;
		if (epoll_ctl(w->ep, EPOLL_CTL_ADD, s->efd, &ee) != 0) {
			rc = ca_error(CA_ERR_IO, "epoll_ctl: %s",
			    strerror(errno));
			goto out;
		}
	}
	for (i = 0; i < s->nworkers; i++) {
		if ((rc = pthread_create(&s->w[i].tid, NULL, worker_main,
		    &s->w[i])) != 0) {
			rc = ca_error(CA_ERR_INTERNAL, "pthread_create: %s",
			    strerror(rc));
			goto out;
		}
		s->w[i].started = 1;
	}
	*out = s;
	s = NULL;
	rc = CA_OK;
 out:
	http_server_stop(s);
	return rc;
}

void
http_server_stop(struct http_server *s)
{
	uint64_t one = 1;
	ssize_t n = 0;
	int i;

	if (s == NULL)
		return;
	atomic_store(&s->stop, 1);
	/* Should it fail, the workers still see stop within SWEEP_MS. */
	if (s->efd >= 0)
		n = write(s->efd, &one, sizeof(one));
	(void)n;
	for (i = 0; i < s->nworkers; i++) {
		if (s->w[i].started)
			pthread_join(s->w[i].tid, NULL);
		if (s->w[i].ep >= 0)
			close(s->w[i].ep);
		free(s->w[i].scratch);
	}
	free(s->w);
	if (s->lfd >= 0)
		close(s->lfd);
	if (s->efd >= 0)
		close(s->efd);
	http_peers_free(s->peers);
	if (s->mu_init)
		pthread_mutex_destroy(&s->mu);
	free(s);
}
