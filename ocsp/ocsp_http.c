/* SPDX-License-Identifier: ISC */
/*
 * ocsp_http: carapace-ocsp's HTTP side, over our own HTTP/1.1 server
 * (http_server.c, parser in http_parse.c; nng 1.5.2's HTTP server was
 * dropped for its heap overrun on paths that end in a %XX escape).
 *
 * Routes (an absolute-form target reaches here as its path):
 *   POST /            an application/ocsp-request body (RFC 6960 A.1),
 *                     by Content-Length or chunked
 *   POST <path>       the same, at the configured path
 *   GET  /<base64>    and <path>/<base64>: the RFC 5019 2.1 GET form;
 *                     outside <path>, a target that cannot be base64 of
 *                     an OCSPRequest (it does not start with 'M') is 404
 *   HEAD              as GET; the server leaves the body out
 *   anything else     404 (other methods: 405 from the server)
 * The server hands the raw request target over: the request part is
 * percent-decoded here (a truncated or non-hex escape is malformedRequest)
 * and then base64-decoded by libsodium (standard alphabet, with or without
 * padding; the URL-safe alphabet is accepted as well).
 *
 * The server refuses a Content-Length over the configured max_request with
 * HTTP 413 (whose body is a malformedRequest OCSPResponse) before reading
 * the body. Every other answer that is not an HTTP-level refusal is an
 * OCSPResponse with status 200 and Content-Type application/ocsp-response.
 * Signed responses carry the RFC 5019 6.2 caching headers: Last-Modified
 * (thisUpdate), Expires (nextUpdate), Cache-Control max-age (at most the
 * configured max_age and never past nextUpdate) and an ETag (a hash of
 * the response).
 *
 * If-None-Match (RFC 9110 13.1.2) is evaluated against that ETag with the
 * weak comparison, over a list of entity-tags or "*": when it matches, a
 * GET or HEAD gets 304 Not Modified with the same caching headers and no
 * body, a POST 412 Precondition Failed.
 */
#include "config.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "common/ca_error.h"
#include "ocsp/http_server.h"
#include "ocsp/ocsp_responder.h"

struct ocsp_http {
	struct http_server *srv;
	struct ocsp_responder *r;
	char *path;		/* NULL or "/ocsp" */
	_Atomic long max_age;
};

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
ocsp_http_get_decode(uint8_t **out, size_t *out_len, const char *s,
    size_t max)
{
	static const int variants[] = {
		sodium_base64_VARIANT_ORIGINAL,
		sodium_base64_VARIANT_ORIGINAL_NO_PADDING,
		sodium_base64_VARIANT_URLSAFE,
		sodium_base64_VARIANT_URLSAFE_NO_PADDING,
	};
	char *txt = NULL;
	uint8_t *bin = NULL;
	size_t i, n = 0, slen, binlen;
	int hi, lo, rc = CA_ERR_INTERNAL;

	*out = NULL;
	*out_len = 0;
	slen = strlen(s);
	/* base64 of max bytes, percent-encoded at worst 3 chars each */
	if (slen == 0 || slen > (max / 3 + 1) * 4 * 3)
		return ca_error(CA_ERR_INVALID, "RFC 5019 2.1: GET request "
		    "empty or too long");
	if ((txt = malloc(slen + 1)) == NULL ||
	    (bin = malloc(slen)) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < slen; i++) {
		if (s[i] == '%') {
			if (i + 2 >= slen) {
				rc = ca_error(CA_ERR_INVALID, "RFC 3986 2.1: "
				    "truncated percent-encoding");
				goto out;
			}
			if ((hi = hexval((unsigned char)s[i + 1])) < 0 ||
			    (lo = hexval((unsigned char)s[i + 2])) < 0) {
				rc = ca_error(CA_ERR_INVALID, "RFC 3986 2.1: "
				    "bad percent-encoding");
				goto out;
			}
			txt[n++] = (char)(hi * 16 + lo);
			i += 2;
		} else if (s[i] == '?' || s[i] == '#')
			break;
		else
			txt[n++] = s[i];
	}
	txt[n] = '\0';
	for (i = 0; i < sizeof(variants) / sizeof(variants[0]); i++)
		if (sodium_base642bin(bin, slen, txt, n, NULL, &binlen, NULL,
		    variants[i]) == 0)
			break;
	if (i == sizeof(variants) / sizeof(variants[0]) || binlen == 0) {
		rc = ca_error(CA_ERR_INVALID, "RFC 5019 2.1: GET request is "
		    "not base64");
		goto out;
	}
	if (binlen > max) {
		rc = ca_error(CA_ERR_INVALID, "RFC 5019 2.1: GET request "
		    "over %zu bytes", max);
		goto out;
	}
	*out = bin;
	*out_len = binlen;
	bin = NULL;
	rc = CA_OK;
 out:
	free(txt);
	free(bin);
	return rc;
}

/*
 * reply_fill moves rep's DER into res with the OCSP headers; rep keeps
 * nothing to free but is cleared by the caller all the same.
 */
static int
reply_fill(struct http_response *res, struct ocsp_http *h,
    struct ocsp_reply *rep)
{
	long age, max_age = atomic_load(&h->max_age);
	time_t now = time(NULL);
	int n;

	res->status = 200;
	res->content_type = "application/ocsp-response";
	if (rep->cacheable) {
		age = (long)(rep->next_update - now);
		if (age > max_age)
			age = max_age;
		if (age < 0)
			age = 0;
		n = snprintf(res->headers, sizeof(res->headers),
		    "Cache-Control: max-age=%ld, public, no-transform, "
		    "must-revalidate\r\nLast-Modified: %s\r\n"
		    "Expires: %s\r\nETag: %s\r\n", age, rep->last_modified,
		    rep->expires, rep->etag);
	} else
		n = snprintf(res->headers, sizeof(res->headers),
		    "Cache-Control: no-cache, no-store\r\n");
	if (n < 0 || (size_t)n >= sizeof(res->headers))
		return -1;
	res->body = rep->der;
	res->body_len = rep->len;
	rep->der = NULL;
	return 0;
}

/*
 * etag_match: 1 when the If-None-Match value v[0..n) names etag (a strong
 * quoted entity-tag) under the weak comparison (RFC 9110 8.8.3.2: a W/
 * prefix is ignored), or is "*".
 */
static int
etag_match(const uint8_t *v, size_t n, const char *etag)
{
	size_t i = 0, s, e, elen = strlen(etag);

	while (i < n) {
		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		if (i == n)
			break;
		s = i;
		if (v[i] == '*') {
			i++;
			e = i;
		} else {
			if (n - i >= 2 && v[i] == 'W' && v[i + 1] == '/')
				i += 2;
			s = i;
			if (i == n || v[i] != '"')
				return 0;	/* not an entity-tag list */
			for (i++; i < n && v[i] != '"'; i++)
				;
			if (i == n)
				return 0;
			e = ++i;
		}
		if (e - s == 1 && v[s] == '*')
			return 1;
		if (e - s == elen && memcmp(v + s, etag, elen) == 0)
			return 1;
		while (i < n && (v[i] == ' ' || v[i] == '\t'))
			i++;
		if (i < n && v[i] != ',')
			return 0;
	}
	return 0;
}

/*
 * conditional applies req's If-None-Match to res, the answer rep was
 * filled in: 304 (GET, HEAD) or 412 (POST) without a body when it
 * matches rep's ETag.
 */
static void
conditional(struct http_response *res, const struct ocsp_reply *rep,
    const struct http_request *req)
{
	if (req == NULL || req->if_none_match == NULL || !rep->cacheable ||
	    !etag_match(req->if_none_match, req->if_none_match_len,
	    rep->etag))
		return;
	res->status = req->method == HTTP_METHOD_POST ? 412 : 304;
	free(res->body);
	res->body = NULL;
	res->body_len = 0;
	res->content_type = NULL;
}

static int
answer_error(struct http_response *res, struct ocsp_http *h, int status)
{
	struct ocsp_reply rep;
	int rc;

	if (ocsp_respond_error(&rep, status) != CA_OK)
		return -1;
	rc = reply_fill(res, h, &rep);
	ocsp_reply_clear(&rep);
	return rc;
}

static int
answer(struct http_response *res, struct ocsp_http *h,
    const struct http_request *req, const uint8_t *der, size_t len)
{
	struct ocsp_reply rep;
	int rc;

	if (ocsp_respond(h->r, &rep, der, len) != CA_OK)
		return -1;
	if ((rc = reply_fill(res, h, &rep)) == 0)
		conditional(res, &rep, req);
	ocsp_reply_clear(&rep);
	return rc;
}

/* not_found: 404, for a target that is not an OCSP endpoint. */
static int
not_found(struct http_response *res)
{
	res->status = 404;
	res->content_type = "text/plain";
	if ((res->body = malloc(32)) == NULL)
		return -1;
	res->body_len = (size_t)snprintf((char *)res->body, 32,
	    "404 no OCSP here\n");
	return 0;
}

static int
answer_get(struct http_response *res, struct ocsp_http *h,
    const struct http_request *req)
{
	char uri[HTTP_HEADER_MAX + 1];
	const char *u = uri;
	uint8_t *der = NULL;
	size_t plen, len;
	int rc, under = 0;

	/* The parser allows only visible ASCII in a target: no NUL. */
	if (req->target_len >= sizeof(uri))
		return answer_error(res, h,
		    OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
	memcpy(uri, req->target, req->target_len);
	uri[req->target_len] = '\0';
	if (h->path != NULL) {
		plen = strlen(h->path);
		if (strncmp(u, h->path, plen) == 0 && u[plen] == '/') {
			u += plen;
			under = 1;
		}
	}
	if (u[0] == '/')
		u++;
	/*
	 * Outside the configured path, a target is an OCSP request only if
	 * it can be one: base64 of a DER SEQUENCE starts with 'M'. Anything
	 * else ("/favicon.ico", "/robots.txt", "/x/y") is not OCSP: 404, not
	 * a malformedRequest answer signed for every stray GET. (Base64 may
	 * hold '/', so the path itself cannot tell.)
	 */
	if (!under && u[0] != 'M')
		return not_found(res);
	if (ocsp_http_get_decode(&der, &len, u,
	    (size_t)h->r->max_request) != CA_OK)
		return answer_error(res, h,
		    OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
	rc = answer(res, h, req, der, len);
	free(der);
	return rc;
}

/* handle: the http_handler_fn of carapace-ocsp. */
static int
handle(void *arg, struct http_response *res, const struct http_request *req)
{
	struct ocsp_http *h = arg;
	size_t plen;

	if (req == NULL)	/* 413: over max_request */
		return answer_error(res, h,
		    OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
	if (req->method == HTTP_METHOD_GET || req->method == HTTP_METHOD_HEAD)
		return answer_get(res, h, req);
	/* POST: the path without its query. */
	plen = 0;
	while (plen < req->target_len && req->target[plen] != '?')
		plen++;
	if ((plen == 1 && req->target[0] == '/') || (h->path != NULL &&
	    plen == strlen(h->path) &&
	    memcmp(req->target, h->path, plen) == 0))
		return answer(res, h, req, req->body, req->body_len);
	return not_found(res);
}

int
ocsp_http_start(struct ocsp_http **out, struct ocsp_responder *r,
    const struct ocsp_config *cfg)
{
	struct http_server_config sc;
	struct ocsp_http *h;
	int rc = CA_ERR_INTERNAL;

	*out = NULL;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return ca_error(CA_ERR_NOMEM, "out of memory");
	h->r = r;
	atomic_init(&h->max_age, 60);
	if (cfg->path != NULL && (h->path = strdup(cfg->path)) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "out of memory");
		goto out;
	}
	memset(&sc, 0, sizeof(sc));
	sc.listen = cfg->listen;
	sc.nthreads = (int)cfg->threads;
	sc.max_conns = cfg->max_conns;
	sc.max_per_addr = cfg->max_per_addr;
	sc.timeout_ms = cfg->request_timeout * 1000;
	sc.max_body = r->max_request > 0 ? (uint64_t)r->max_request :
	    OCSP_MAX_REQUEST_DEF;
	sc.handler = handle;
	sc.arg = h;
	if ((rc = http_server_start(&h->srv, &sc)) != CA_OK)
		goto out;
	*out = h;
	h = NULL;
	rc = CA_OK;
 out:
	ocsp_http_stop(h);
	return rc;
}

void
ocsp_http_set_max_age(struct ocsp_http *h, long max_age)
{
	atomic_store(&h->max_age, max_age);
}

void
ocsp_http_stop(struct ocsp_http *h)
{
	if (h == NULL)
		return;
	http_server_stop(h->srv);
	free(h->path);
	free(h);
}
