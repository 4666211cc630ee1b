/* SPDX-License-Identifier: ISC */
/*
 * ocsp_http: carapace-ocsp's HTTP side, on nng's HTTP server.
 *
 * Handlers:
 *   POST /            an application/ocsp-request body (RFC 6960 A.1)
 *   POST <path>       the same, at the configured path
 *   GET  /...         tree handler: /<base64> and <path>/<base64>, the
 *                     RFC 5019 2.1 GET form
 * nng hands the raw URI over: the request part is percent-decoded here and
 * then base64-decoded by libsodium (standard alphabet, with or without
 * padding; the URL-safe alphabet is accepted as well).
 *
 * nng refuses bodies over OCSP_HTTP_BODY_MAX with HTTP 400; anything up to
 * that reaches ocsp_respond, which answers malformedRequest above the
 * configured max_request. Every answer that is not an HTTP-level refusal is
 * an OCSPResponse with status 200 and Content-Type
 * application/ocsp-response. Signed responses carry the RFC 5019 6.2
 * caching headers: Last-Modified (thisUpdate), Expires (nextUpdate),
 * Cache-Control max-age (at most the configured max_age and never past
 * nextUpdate) and an ETag (a hash of the response).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/supplemental/http/http.h>
#include <sodium.h>

#include "common/ca_error.h"
#include "common/log.h"
#include "ocsp/ocsp_responder.h"

struct ocsp_http {
	nng_http_server *srv;
	nng_url *url;
	struct ocsp_responder *r;
	char *path;		/* NULL or "/ocsp" */
	long max_age;
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

static void
send_reply(nng_aio *aio, const struct ocsp_http *h,
    const struct ocsp_reply *rep)
{
	nng_http_res *res = NULL;
	char cc[96];
	long age;
	time_t now = time(NULL);
	int rv;

	if ((rv = nng_http_res_alloc(&res)) != 0)
		goto fail;
	if ((rv = nng_http_res_set_header(res, "Content-Type",
	    "application/ocsp-response")) != 0 ||
	    (rv = nng_http_res_copy_data(res, rep->der, rep->len)) != 0)
		goto fail;
	if (rep->cacheable) {
		age = (long)(rep->next_update - now);
		if (age > h->max_age)
			age = h->max_age;
		if (age < 0)
			age = 0;
		snprintf(cc, sizeof(cc), "max-age=%ld, public, no-transform, "
		    "must-revalidate", age);
		if ((rv = nng_http_res_set_header(res, "Cache-Control", cc))
		    != 0 ||
		    (rv = nng_http_res_set_header(res, "Last-Modified",
		    rep->last_modified)) != 0 ||
		    (rv = nng_http_res_set_header(res, "Expires",
		    rep->expires)) != 0 ||
		    (rv = nng_http_res_set_header(res, "ETag", rep->etag)) != 0)
			goto fail;
	} else if ((rv = nng_http_res_set_header(res, "Cache-Control",
	    "no-cache, no-store")) != 0)
		goto fail;
	nng_aio_set_output(aio, 0, res);
	nng_aio_finish(aio, 0);
	return;
 fail:
	nng_http_res_free(res);
	nng_aio_finish(aio, rv);
}

static void
answer(nng_aio *aio, struct ocsp_http *h, const uint8_t *der, size_t len)
{
	struct ocsp_reply rep;

	if (ocsp_respond(h->r, &rep, der, len) != CA_OK) {
		nng_aio_finish(aio, NNG_ENOMEM);
		return;
	}
	send_reply(aio, h, &rep);
	ocsp_reply_clear(&rep);
}

static void
post_cb(nng_aio *aio)
{
	nng_http_req *req = nng_aio_get_input(aio, 0);
	nng_http_handler *hd = nng_aio_get_input(aio, 1);
	struct ocsp_http *h = nng_http_handler_get_data(hd);
	void *body = NULL;
	size_t len = 0;

	nng_http_req_get_data(req, &body, &len);
	answer(aio, h, body, len);
}

static void
get_cb(nng_aio *aio)
{
	nng_http_req *req = nng_aio_get_input(aio, 0);
	nng_http_handler *hd = nng_aio_get_input(aio, 1);
	struct ocsp_http *h = nng_http_handler_get_data(hd);
	const char *uri = nng_http_req_get_uri(req);
	struct ocsp_reply rep;
	uint8_t *der = NULL;
	size_t plen, len;

	if (h->path != NULL) {
		plen = strlen(h->path);
		if (strncmp(uri, h->path, plen) == 0 && uri[plen] == '/')
			uri += plen;
	}
	if (uri[0] == '/')
		uri++;
	if (ocsp_http_get_decode(&der, &len, uri,
	    (size_t)h->r->max_request) != CA_OK) {
		if (ocsp_respond_error(&rep,
		    OCSP_RESPONSE_STATUS_MALFORMEDREQUEST) != CA_OK) {
			nng_aio_finish(aio, NNG_ENOMEM);
			return;
		}
		send_reply(aio, h, &rep);
		ocsp_reply_clear(&rep);
		return;
	}
	answer(aio, h, der, len);
	free(der);
}

static int
add_handler(struct ocsp_http *h, const char *path, const char *method,
    int tree, void (*cb)(nng_aio *))
{
	nng_http_handler *hd = NULL;
	int rv;

	if ((rv = nng_http_handler_alloc(&hd, path, cb)) != 0 ||
	    (rv = nng_http_handler_set_method(hd, method)) != 0 ||
	    (rv = nng_http_handler_set_data(hd, h, NULL)) != 0 ||
	    (tree && (rv = nng_http_handler_set_tree(hd)) != 0) ||
	    (rv = nng_http_handler_collect_body(hd, true,
	    strcmp(method, "POST") == 0 ? OCSP_HTTP_BODY_MAX : 0)) != 0 ||
	    (rv = nng_http_server_add_handler(h->srv, hd)) != 0) {
		if (hd != NULL)
			nng_http_handler_free(hd);
		return ca_error(CA_ERR_INTERNAL, "HTTP handler %s %s: %s",
		    method, path, nng_strerror(rv));
	}
	return CA_OK;
}

int
ocsp_http_start(struct ocsp_http **out, struct ocsp_responder *r,
    const char *url, const char *path)
{
	struct ocsp_http *h;
	int rv, rc = CA_ERR_INTERNAL;

	*out = NULL;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return ca_error(CA_ERR_NOMEM, "out of memory");
	h->r = r;
	h->max_age = 60;
	if (path != NULL && (h->path = strdup(path)) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((rv = nng_url_parse(&h->url, url)) != 0) {
		rc = ca_error(CA_ERR_CONFIG, "%s: %s", url, nng_strerror(rv));
		goto out;
	}
	if ((rv = nng_http_server_hold(&h->srv, h->url)) != 0) {
		rc = ca_error(CA_ERR_IO, "%s: %s", url, nng_strerror(rv));
		goto out;
	}
	if ((rc = add_handler(h, "/", "POST", 0, post_cb)) != CA_OK ||
	    (rc = add_handler(h, "/", "GET", 1, get_cb)) != CA_OK)
		goto out;
	if (h->path != NULL &&
	    (rc = add_handler(h, h->path, "POST", 0, post_cb)) != CA_OK)
		goto out;
	if ((rv = nng_http_server_start(h->srv)) != 0) {
		rc = ca_error(CA_ERR_IO, "%s: cannot listen: %s", url,
		    nng_strerror(rv));
		goto out;
	}
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
	h->max_age = max_age;
}

void
ocsp_http_stop(struct ocsp_http *h)
{
	if (h == NULL)
		return;
	if (h->srv != NULL) {
		nng_http_server_stop(h->srv);
		nng_http_server_release(h->srv);
	}
	if (h->url != NULL)
		nng_url_free(h->url);
	free(h->path);
	free(h);
}
