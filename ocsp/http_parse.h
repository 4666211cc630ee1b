/* SPDX-License-Identifier: ISC */
/*
 * http_parse: one HTTP/1.x request (RFC 9112) parsed out of a byte
 * buffer. A pure function: no I/O, no allocation, no state kept between
 * calls; the caller keeps the bytes and calls again when more arrived.
 * tests/fuzz/fuzz_http_request.c feeds it hostile bytes.
 *
 * What it accepts is deliberately narrow, for an OCSP responder:
 *   - HTTP/1.0 and HTTP/1.1, origin-form targets ("/...") of visible
 *     ASCII only, single spaces in the request line; an absolute-form
 *     target ("http://host/path", RFC 9112 3.2.2, as a proxy sends it)
 *     is accepted and reduced to its path (no userinfo, a host required);
 *   - at most HTTP_HEADER_MAX bytes of request line and headers, at most
 *     HTTP_HEADERS_MAX header fields (431 beyond), no obs-fold, no NUL or
 *     other control bytes, lines ended by CRLF or a bare LF;
 *   - a body by Content-Length (one value, or repeats of the same
 *     value; differing values are request smuggling: 400), at most the
 *     caller's max_body (413), or by Transfer-Encoding: chunked (RFC
 *     9112 7.1) in HTTP/1.1, decoded into the caller's scratch buffer:
 *     at most max_body bytes decoded (413), the whole request at most
 *     HTTP_HEADER_MAX + max_body bytes on the wire (413), chunk-size
 *     lines with their extensions at most HTTP_CHUNK_LINE_MAX bytes
 *     (400), trailer fields checked like header fields and dropped.
 *     Any other transfer coding is 501; chunked twice, with
 *     Content-Length, or in HTTP/1.0 is 400 (RFC 9112 6.1, 6.3);
 *   - HTTP/1.1 needs exactly one Host (RFC 9112 3.2);
 *   - a line is refused as soon as its bytes so far cannot begin a
 *     request line or a header field (a NUL, a TLS handshake), before its
 *     end arrives: HTTP_PARSE_MORE means the bytes can still be a request.
 * Methods other than GET, HEAD and POST parse as HTTP_METHOD_OTHER with
 * an error status of 405 (the caller adds "Allow: GET, HEAD, POST").
 */
#ifndef OCSP_HTTP_PARSE_H
#define OCSP_HTTP_PARSE_H

#include <stddef.h>
#include <stdint.h>

#define HTTP_HEADER_MAX		8192	/* request line + headers, bytes */
#define HTTP_HEADERS_MAX	64	/* header fields, and trailer fields */
#define HTTP_CHUNK_LINE_MAX	256	/* a chunk-size line, extensions included */

enum http_method {
	HTTP_METHOD_OTHER = 0,
	HTTP_METHOD_GET,
	HTTP_METHOD_POST,
	HTTP_METHOD_HEAD,
};

enum http_parse_result {
	HTTP_PARSE_ERROR = -1,	/* status holds the HTTP status to send */
	HTTP_PARSE_OK = 0,	/* a whole request; consumed bytes used */
	HTTP_PARSE_MORE = 1,	/* incomplete: call again with more bytes */
};

struct http_request {
	enum http_method method;
	int minor;			/* HTTP/1.minor: 0 or 1 */
	const uint8_t *target;		/* raw request target: the path (and
					   query) in the input, or "/" */
	size_t target_len;
	const uint8_t *if_none_match;	/* its value in the input, or NULL
					   (also when given twice) */
	size_t if_none_match_len;
	int keep_alive;			/* the connection may serve another */
	int expect_continue;		/* Expect: 100-continue */
	int header_done;		/* the header block is complete */
	size_t header_len;		/* bytes up to and with the empty line */
	uint64_t content_length;	/* (chunked: body_len, once whole) */
	int chunked;			/* Transfer-Encoding: chunked */
	const uint8_t *body;		/* body_len bytes, in the input, or
					   (chunked) in the scratch buffer */
	size_t body_len;
	size_t consumed;		/* bytes of the input the request took */
	int status;			/* on HTTP_PARSE_ERROR: 400, 405, ... */
};

/*
 * http_parse_request parses the request at the start of buf (len bytes).
 * Returns HTTP_PARSE_OK with *out filled (its pointers point into buf;
 * out->consumed <= len bytes make up the request), HTTP_PARSE_MORE when
 * the request is not complete yet (out->header_done and the fields before
 * it are set once the header block is complete, so that the caller can
 * answer Expect: 100-continue), or HTTP_PARSE_ERROR with out->status set
 * (400, 405, 411, 413, 431, 501 or 505); after an error the connection must
 * be closed, since where the next request starts is not known. scratch
 * (max_body bytes) receives a chunked body; with scratch NULL a chunked
 * body is refused (501).
 */
enum http_parse_result http_parse_request(struct http_request *out,
    const uint8_t *buf, size_t len, uint64_t max_body, uint8_t *scratch)
    __attribute__((warn_unused_result));

#endif /* OCSP_HTTP_PARSE_H */
