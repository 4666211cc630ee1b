/* SPDX-License-Identifier: ISC */
/*
 * fuzz_http_request: carapace-ocsp's HTTP request parser (ocsp/
 * http_parse.c) on hostile bytes. The input is parsed as a connection's
 * byte stream: request after request while whole ones parse, each also
 * fed byte by byte as it would trickle in, with two body caps. Checked
 * invariants: consumed never exceeds the input; every pointer the parser
 * returns lies inside it (a chunked body inside the scratch buffer, and
 * at most the body cap); a body is exactly Content-Length bytes; an
 * error carries one of the statuses the parser promises; a prefix of a
 * request never parses as a different request; the result does not depend
 * on how the bytes arrived. A GET target that parsed then goes through
 * the RFC 5019 decoding (ocsp_http_get_decode), which must not read past
 * it. A failed check aborts; every `make check` replays
 * tests/fuzz/corpus/http_request through tests/fuzz/replay.c.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/ca_error.h"
#include "ocsp/http_parse.h"
#include "ocsp/ocsp_responder.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)	do { if (!(x)) abort(); } while (0)

static int
inside(const uint8_t *p, size_t n, const uint8_t *buf, size_t len)
{
	return p >= buf && n <= len && (size_t)(p - buf) <= len - n;
}

static void
check_one(const struct http_request *r, enum http_parse_result pr,
    const uint8_t *buf, size_t len, const uint8_t *scratch,
    uint64_t max_body)
{
	if (pr == HTTP_PARSE_ERROR) {
		CHECK(r->status == 400 || r->status == 405 ||
		    r->status == 411 || r->status == 413 ||
		    r->status == 431 || r->status == 501 || r->status == 505);
		return;
	}
	CHECK(pr == HTTP_PARSE_OK || pr == HTTP_PARSE_MORE);
	if (pr == HTTP_PARSE_MORE) {
		CHECK(len < HTTP_HEADER_MAX || r->header_done);
		if (r->header_done && !r->chunked)
			CHECK(r->header_len <= len &&
			    len - r->header_len < r->content_length);
		if (r->chunked)
			CHECK(r->header_done && r->minor == 1 &&
			    len < HTTP_HEADER_MAX + max_body);
		return;
	}
	CHECK(r->method == HTTP_METHOD_GET || r->method == HTTP_METHOD_POST ||
	    r->method == HTTP_METHOD_HEAD);
	CHECK(r->minor == 0 || r->minor == 1);
	CHECK(r->header_done && r->header_len <= HTTP_HEADER_MAX);
	CHECK(r->consumed <= len);
	CHECK(r->body_len == r->content_length);
	CHECK(r->body_len <= max_body);
	/* the target is in the input, or "/" for an absolute-form one */
	CHECK(inside(r->target, r->target_len, buf, r->header_len) ||
	    (r->target_len == 1 && r->target[0] == '/'));
	CHECK(r->target_len > 0 && r->target[0] == '/');
	CHECK(r->if_none_match == NULL ||
	    inside(r->if_none_match, r->if_none_match_len, buf,
	    r->header_len));
	if (r->chunked) {
		CHECK(r->consumed > r->header_len);
		CHECK(r->consumed <= HTTP_HEADER_MAX + max_body);
		CHECK(r->body == scratch);
		return;
	}
	CHECK(r->consumed == r->header_len + r->body_len);
	CHECK(r->body_len == 0 ||
	    inside(r->body, r->body_len, buf, r->consumed));
}

/* get_decode runs the GET decoding on an exact-size copy of the target. */
static void
get_decode(const struct http_request *r)
{
	uint8_t *der = NULL;
	size_t len;
	char *s;

	if ((s = malloc(r->target_len + 1)) == NULL)
		return;
	memcpy(s, r->target, r->target_len);
	s[r->target_len] = '\0';
	CHECK(strlen(s) == r->target_len);
	if (ocsp_http_get_decode(&der, &len, s + 1, 8192) == CA_OK)
		CHECK(der != NULL && len > 0 && len <= 8192);
	free(der);
	free(s);
}

/* stream parses data as one connection would, with max_body as the cap. */
static void
stream(const uint8_t *data, size_t size, uint64_t max_body)
{
	struct http_request r, t;
	enum http_parse_result pr, pt;
	size_t off = 0, n;
	uint8_t *copy, *scratch, *scratch2;

	/* Exact-size scratch buffers: a write past the cap is an error. */
	if ((scratch = malloc((size_t)max_body)) == NULL)
		return;
	if ((scratch2 = malloc((size_t)max_body)) == NULL) {
		free(scratch);
		return;
	}
	while (off < size) {
		/* Exact-size copy: a read past the input is an ASan error. */
		if ((copy = malloc(size - off)) == NULL)
			return;
		memcpy(copy, data + off, size - off);
		pr = http_parse_request(&r, copy, size - off, max_body,
		    scratch);
		check_one(&r, pr, copy, size - off, scratch, max_body);
		/* Arriving in pieces changes nothing. */
		for (n = 0; n < size - off && n < 2 * HTTP_HEADER_MAX;
		    n += n < 1024 ? 1 : 97) {
			pt = http_parse_request(&t, copy, n, max_body,
			    scratch2);
			check_one(&t, pt, copy, n, scratch2, max_body);
			/* A refusal is final: more bytes cannot fix it. */
			if (pt == HTTP_PARSE_ERROR) {
				CHECK(pr == HTTP_PARSE_ERROR &&
				    t.status == r.status);
				break;
			}
			if (pt == HTTP_PARSE_OK) {
				/* A whole request within a prefix is the
				 * same request. */
				CHECK(pr == HTTP_PARSE_OK &&
				    t.consumed == r.consumed &&
				    t.body_len == r.body_len &&
				    memcmp(t.body, r.body, r.body_len) == 0);
				break;
			}
		}
		if (pr == HTTP_PARSE_OK && r.method != HTTP_METHOD_POST)
			get_decode(&r);
		free(copy);
		if (pr != HTTP_PARSE_OK)
			break;
		CHECK(r.consumed > 0);
		off += r.consumed;
	}
	free(scratch);
	free(scratch2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	stream(data, size, 8192);
	stream(data, size, 16);
	return 0;
}
