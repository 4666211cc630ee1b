/* SPDX-License-Identifier: ISC */
/*
 * test_http_parse: carapace-ocsp's HTTP request parser (ocsp/
 * http_parse.c): whole, partial and pipelined requests, keep-alive rules,
 * the header and body caps, and every refusal with its status (bad
 * request lines, bare CR, NUL, obs-fold, Content-Length smuggling,
 * Transfer-Encoding, missing Host, other methods and versions), and
 * bytes that cannot be HTTP refused before any line end arrives.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ocsp/http_parse.h"
#include "unit.h"

/* LIT: a string literal and its length, NUL bytes included. */
#define LIT(s)	(s), sizeof(s) - 1

static struct http_request req;
static uint8_t scratch[1024];

static enum http_parse_result
parse_n(const char *s, size_t n, uint64_t max_body)
{
	uint8_t *copy = malloc(n ? n : 1);
	enum http_parse_result pr;

	CU_ASSERT_FATAL(copy != NULL);
	memcpy(copy, s, n);
	CU_ASSERT_FATAL(max_body <= sizeof(scratch));
	pr = http_parse_request(&req, copy, n, max_body, scratch);
	/* Pointers into copy are not used after this. */
	if (pr == HTTP_PARSE_OK) {
		if (req.target >= copy && req.target < copy + n)
			req.target = (const uint8_t *)s + (req.target - copy);
		if (req.body != NULL && !req.chunked)
			req.body = (const uint8_t *)s + (req.body - copy);
		if (req.if_none_match != NULL)
			req.if_none_match = (const uint8_t *)s +
			    (req.if_none_match - copy);
	}
	free(copy);
	return pr;
}

static enum http_parse_result
parse(const char *s)
{
	return parse_n(s, strlen(s), 1024);
}

/* refused: s is refused with status. */
static int
refused(const char *s, int status)
{
	return parse(s) == HTTP_PARSE_ERROR && req.status == status;
}

static void
test_get(void)
{
	const char *s = "GET /ocsp/MEow%3D HTTP/1.1\r\nHost: x\r\n\r\n";

	CU_ASSERT(parse(s) == HTTP_PARSE_OK);
	CU_ASSERT(req.method == HTTP_METHOD_GET && req.minor == 1);
	CU_ASSERT(req.target_len == 13 &&
	    memcmp(req.target, "/ocsp/MEow%3D", 13) == 0);
	CU_ASSERT(req.keep_alive == 1);
	CU_ASSERT(req.consumed == strlen(s) && req.body_len == 0);
	/* LF only, HTTP/1.0: closes unless asked to keep alive. */
	CU_ASSERT(parse("GET /a HTTP/1.0\n\n") == HTTP_PARSE_OK);
	CU_ASSERT(req.minor == 0 && req.keep_alive == 0);
	CU_ASSERT(parse("GET /a HTTP/1.0\nConnection: Keep-Alive\n\n") ==
	    HTTP_PARSE_OK && req.keep_alive == 1);
	CU_ASSERT(parse("GET /a HTTP/1.1\r\nHost: x\r\nConnection: foo, "
	    "close\r\n\r\n") == HTTP_PARSE_OK && req.keep_alive == 0);
	/* Empty lines before a request are skipped. */
	CU_ASSERT(parse("\r\n\nGET / HTTP/1.1\r\nHost: x\r\n\r\n") ==
	    HTTP_PARSE_OK && req.target_len == 1);
}

static void
test_post(void)
{
	const char *s = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
	    "Content-Type: application/ocsp-request\r\n\r\nABCDE";
	size_t n;

	CU_ASSERT(parse(s) == HTTP_PARSE_OK);
	CU_ASSERT(req.method == HTTP_METHOD_POST);
	CU_ASSERT(req.body_len == 5 && memcmp(req.body, "ABCDE", 5) == 0);
	CU_ASSERT(req.consumed == strlen(s));
	/* Every prefix wants more; the header is done once it is whole. */
	for (n = 0; n < strlen(s); n++) {
		CU_ASSERT(parse_n(s, n, 1024) == HTTP_PARSE_MORE);
		CU_ASSERT(req.header_done == (n >= strlen(s) - 5));
	}
	/* Same Content-Length twice is one value. */
	CU_ASSERT(parse("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n"
	    "content-length: 1\r\n\r\nZ") == HTTP_PARSE_OK);
	CU_ASSERT(parse("POST / HTTP/1.1\r\nHost: x\r\nExpect: "
	    "100-continue\r\nContent-Length: 9\r\n\r\n") ==
	    HTTP_PARSE_MORE && req.expect_continue && req.header_done);
}

static void
test_pipelined(void)
{
	const char *s = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
	    "\r\nABPOST /ocsp HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n"
	    "\r\nC";
	size_t first;

	CU_ASSERT_FATAL(parse(s) == HTTP_PARSE_OK);
	first = req.consumed;
	CU_ASSERT(memcmp(req.body, "AB", 2) == 0);
	CU_ASSERT(parse(s + first) == HTTP_PARSE_OK);
	CU_ASSERT(req.target_len == 5 && req.body_len == 1);
	CU_ASSERT(first + req.consumed == strlen(s));
}

static void
test_caps(void)
{
	char *big;
	size_t n, i;

	CU_ASSERT_FATAL((big = malloc(2 * HTTP_HEADER_MAX)) != NULL);
	/* A header block of exactly HTTP_HEADER_MAX bytes is fine. */
	n = (size_t)snprintf(big, 2 * HTTP_HEADER_MAX,
	    "GET / HTTP/1.1\r\nHost: x\r\nX: ");
	memset(big + n, 'a', HTTP_HEADER_MAX - n - 4);
	memcpy(big + HTTP_HEADER_MAX - 4, "\r\n\r\n", 4);
	CU_ASSERT(parse_n(big, HTTP_HEADER_MAX, 0) == HTTP_PARSE_OK);
	/* One byte more is 431, and so is a never-ending header. */
	memset(big + n, 'a', HTTP_HEADER_MAX - n - 3);
	memcpy(big + HTTP_HEADER_MAX - 3, "\r\n\r\n", 4);
	CU_ASSERT(parse_n(big, HTTP_HEADER_MAX + 1, 0) == HTTP_PARSE_ERROR &&
	    req.status == 431);
	memset(big, 'G', 2 * HTTP_HEADER_MAX);
	CU_ASSERT(parse_n(big, HTTP_HEADER_MAX - 1, 0) == HTTP_PARSE_MORE);
	CU_ASSERT(parse_n(big, HTTP_HEADER_MAX, 0) == HTTP_PARSE_ERROR &&
	    req.status == 431);
	/* 64 headers are fine, 65 are 431. */
	n = (size_t)snprintf(big, 2 * HTTP_HEADER_MAX, "GET / HTTP/1.1\r\n"
	    "Host: x\r\n");
	for (i = 1; i < HTTP_HEADERS_MAX; i++)
		n += (size_t)snprintf(big + n, 2 * HTTP_HEADER_MAX - n,
		    "X%zu: y\r\n", i);
	memcpy(big + n, "\r\n", 3);
	CU_ASSERT(parse(big) == HTTP_PARSE_OK);
	memcpy(big + n, "Z: z\r\n\r\n", 9);
	CU_ASSERT(refused(big, 431));
	free(big);
	/* Body over the cap: 413 at once, before the body. */
	CU_ASSERT(refused("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: "
	    "1025\r\n\r\n", 413));
	CU_ASSERT(parse("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: "
	    "1024\r\n\r\n") == HTTP_PARSE_MORE);
	CU_ASSERT(refused("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: "
	    "99999999999999999999999999\r\n\r\n", 413));
}

static void
test_refused(void)
{
	CU_ASSERT(refused("DELETE / HTTP/1.1\r\nHost: x\r\n\r\n", 405));
	CU_ASSERT(refused("OPTIONS / HTTP/1.1\r\nHost: x\r\n\r\n", 405));
	CU_ASSERT(refused("GET / HTTP/2.0\r\n\r\n", 505));
	CU_ASSERT(refused("GET / HTTP/1.2\r\n\r\n", 505));
	CU_ASSERT(refused("GET / HTTP/1.10\r\n\r\n", 400));
	CU_ASSERT(refused("GET /\r\n\r\n", 400));
	CU_ASSERT(refused("GET  / HTTP/1.1\r\n\r\n", 400));
	CU_ASSERT(refused("GET ftp://x/ HTTP/1.1\r\nHost: x\r\n\r\n", 400));
	CU_ASSERT(refused("GET http:///a HTTP/1.1\r\nHost: x\r\n\r\n", 400));
	CU_ASSERT(refused("GET http://u@x/ HTTP/1.1\r\nHost: x\r\n\r\n",
	    400));
	CU_ASSERT(refused("GET http://x/ HTTP/1.1\r\n\r\n", 400));
	CU_ASSERT(refused("GET * HTTP/1.1\r\nHost: x\r\n\r\n", 400));
	CU_ASSERT(refused("GET /a b HTTP/1.1\r\nHost: x\r\n\r\n", 400));
	CU_ASSERT(refused("GET /\x80 HTTP/1.1\r\nHost: x\r\n\r\n", 400));
	CU_ASSERT(refused("GET / HTTP/1.1\rHost: x\r\n\r\n", 400));
	CU_ASSERT(parse_n(LIT("GET /\0 HTTP/1.1\r\nHost: x\r\n\r\n"), 0) ==
	    HTTP_PARSE_ERROR && req.status == 400);
	CU_ASSERT(parse_n(LIT("GET / HTTP/1.1\r\nHost: \0\r\n\r\n"), 0) ==
	    HTTP_PARSE_ERROR && req.status == 400);
	CU_ASSERT(refused("GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400));
	CU_ASSERT(refused("GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",
	    400));
	CU_ASSERT(refused("GET / HTTP/1.1\r\nNoColon\r\n\r\n", 400));
	CU_ASSERT(refused("GET / HTTP/1.1\r\n\r\n", 400));	/* no Host */
	CU_ASSERT(refused("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
	    400));
	CU_ASSERT(refused("POST / HTTP/1.1\r\nHost: x\r\n\r\n", 411));
	CU_ASSERT(refused("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n"
	    "Content-Length: 2\r\n\r\nab", 400));
	CU_ASSERT(refused("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: "
	    "-1\r\n\r\n", 400));
	CU_ASSERT(refused("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: "
	    "1, 1\r\n\r\nab", 400));
	CU_ASSERT(refused("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: "
	    "\r\n\r\n", 400));
	/* Transfer-Encoding: RFC 9112 6.1, 6.3 */
	CU_ASSERT(refused("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n", 400));
	CU_ASSERT(refused("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
	    "gzip, chunked\r\n\r\n", 501));
	CU_ASSERT(refused("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
	    "chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400));
	CU_ASSERT(refused("POST / HTTP/1.0\r\nTransfer-Encoding: "
	    "chunked\r\n\r\n1\r\nA\r\n0\r\n\r\n", 400));
}

#define CHUNKED_HEAD	"POST /ocsp HTTP/1.1\r\nHost: x\r\n" \
			"Transfer-Encoding: Chunked\r\n\r\n"

static void
test_chunked(void)
{
	static const char ok1[] = CHUNKED_HEAD "3;ext=1\r\nabc\r\n"
	    "A\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\nGET";
	char *big;
	size_t n, i;

	CU_ASSERT_FATAL(parse(ok1) == HTTP_PARSE_OK);
	CU_ASSERT(req.chunked && req.method == HTTP_METHOD_POST);
	CU_ASSERT(req.body_len == 13 && req.content_length == 13 &&
	    memcmp(req.body, "abc0123456789", 13) == 0);
	CU_ASSERT(req.consumed == sizeof(ok1) - 1 - 3);
	/* every prefix waits for more */
	for (n = 0; n < sizeof(ok1) - 4; n++)
		CU_ASSERT(parse_n(ok1, n, 1024) == HTTP_PARSE_MORE);
	/* bare LF line ends */
	CU_ASSERT(parse("POST / HTTP/1.1\nHost: x\nTransfer-Encoding: "
	    "chunked\n\n2\nab\n0\n\n") == HTTP_PARSE_OK &&
	    req.body_len == 2);
	/* without a scratch buffer: 501, as before */
	CU_ASSERT(http_parse_request(&req, (const uint8_t *)ok1,
	    sizeof(ok1) - 1, 1024, NULL) == HTTP_PARSE_ERROR &&
	    req.status == 501);
	/* decoded size over the cap, at once from the size line */
	CU_ASSERT(parse_n(LIT(CHUNKED_HEAD "401\r\n"), 1024) ==
	    HTTP_PARSE_ERROR && req.status == 413);
	CU_ASSERT(parse_n(LIT(CHUNKED_HEAD "ffffffffffffffffffff\r\n"),
	    1024) == HTTP_PARSE_ERROR && req.status == 413);
	CU_ASSERT(parse_n(LIT(CHUNKED_HEAD "200\r\n"), 1024) ==
	    HTTP_PARSE_MORE);
	/* bad framing */
	CU_ASSERT(refused(CHUNKED_HEAD "x\r\n", 400));
	CU_ASSERT(refused(CHUNKED_HEAD "\r\n", 400));
	CU_ASSERT(refused(CHUNKED_HEAD "3 x\r\n", 400));
	CU_ASSERT(refused(CHUNKED_HEAD "3;\x01\r\n", 400));
	CU_ASSERT(refused(CHUNKED_HEAD "3\r\nabcX\r\n", 400));
	CU_ASSERT(refused(CHUNKED_HEAD "0\r\nBad Trailer\r\n\r\n", 400));
	/* chunk extensions: one line at most HTTP_CHUNK_LINE_MAX */
	CU_ASSERT_FATAL((big = malloc(4096)) != NULL);
	n = (size_t)snprintf(big, 4096, "%s1;", CHUNKED_HEAD);
	memset(big + n, 'e', HTTP_CHUNK_LINE_MAX);
	n += HTTP_CHUNK_LINE_MAX;
	CU_ASSERT(parse_n(big, n, 1024) == HTTP_PARSE_ERROR &&
	    req.status == 400);
	/* many tiny chunks: the wire size is capped, not just the body */
	n = (size_t)snprintf(big, 4096, "%s", CHUNKED_HEAD);
	for (i = 0; n + 16 < 4096; i++)
		n += (size_t)snprintf(big + n, 4096 - n, "1;e=%04zu\r\nA\r\n",
		    i);
	CU_ASSERT(parse_n(big, n, 64) == HTTP_PARSE_ERROR &&
	    req.status == 413);
	free(big);
}

static void
test_forms(void)
{
	/* absolute-form: matched on its path (RFC 9112 3.2.2) */
	CU_ASSERT(parse("GET http://ocsp.example:8080/ocsp/MEow HTTP/1.1\r\n"
	    "Host: ocsp.example\r\n\r\n") == HTTP_PARSE_OK);
	CU_ASSERT(req.target_len == 10 &&
	    memcmp(req.target, "/ocsp/MEow", 10) == 0);
	CU_ASSERT(parse("POST HTTPS://x HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: 0\r\n\r\n") == HTTP_PARSE_OK);
	CU_ASSERT(req.target_len == 1 && req.target[0] == '/');
	CU_ASSERT(parse_n(LIT("GET http://x"), 0) == HTTP_PARSE_MORE);
	CU_ASSERT(parse_n(LIT("GET htt"), 0) == HTTP_PARSE_MORE);
	CU_ASSERT(parse_n(LIT("GET htx"), 0) == HTTP_PARSE_ERROR);
	/* HEAD, If-None-Match */
	CU_ASSERT(parse("HEAD /MEow HTTP/1.1\r\nHost: x\r\n"
	    "If-None-Match: W/\"a\", \"b\"\r\n\r\n") == HTTP_PARSE_OK);
	CU_ASSERT(req.method == HTTP_METHOD_HEAD);
	CU_ASSERT(req.if_none_match_len == 10 &&
	    memcmp(req.if_none_match, "W/\"a\", \"b\"", 10) == 0);
	/* given twice: not used at all (an unconditional answer is safe) */
	CU_ASSERT(parse("GET / HTTP/1.1\r\nHost: x\r\nIf-None-Match: \"a\"\r\n"
	    "If-None-Match: \"b\"\r\n\r\n") == HTTP_PARSE_OK &&
	    req.if_none_match == NULL);
}

/* partial: s[0..n) without its line end, with max_body 1024. */
static int
partial_refused(const char *s, size_t n)
{
	return parse_n(s, n, 1024) == HTTP_PARSE_ERROR && req.status == 400;
}

static void
test_partial(void)
{
	static const char *const whole[] = {
		"GET /ocsp/MEow%3D HTTP/1.1\r\nHost: x\r\nX-A:\t b \r\n\r\n",
		"\r\n\nPOST / HTTP/1.0\nContent-Length: 2\n\nAB",
	};
	char nul[100];
	size_t i, n;

	/* Every prefix of a good request waits for more. */
	for (i = 0; i < sizeof(whole) / sizeof(whole[0]); i++) {
		for (n = 0; n < strlen(whole[i]); n++)
			CU_ASSERT(parse_n(whole[i], n, 1024) ==
			    HTTP_PARSE_MORE);
		CU_ASSERT(parse(whole[i]) == HTTP_PARSE_OK);
	}
	/* Bytes no request line or field can hold: 400 at once, without
	 * a line end. */
	memset(nul, 0, sizeof(nul));
	CU_ASSERT(partial_refused(nul, sizeof(nul)));
	CU_ASSERT(partial_refused(nul, 1));
	CU_ASSERT(partial_refused(LIT("\x16\x03\x01\x02\x00\x01")));
	CU_ASSERT(partial_refused(LIT("GET\x01")));
	CU_ASSERT(partial_refused(LIT(" GET")));
	CU_ASSERT(partial_refused(LIT("GET  ")));
	CU_ASSERT(partial_refused(LIT("GET x")));
	CU_ASSERT(partial_refused(LIT("GET /\x7f")));
	CU_ASSERT(partial_refused(LIT("GET / X")));
	CU_ASSERT(partial_refused(LIT("GET / HTTP/x")));
	CU_ASSERT(partial_refused(LIT("GET / HTTP/1.1 ")));
	CU_ASSERT(partial_refused(LIT("GET / HTTP/1.1\r\r")));
	CU_ASSERT(partial_refused(LIT("GET / HTTP/1.1\r\nHo\x01")));
	CU_ASSERT(partial_refused(LIT("GET / HTTP/1.1\r\nHost : x")));
	CU_ASSERT(partial_refused(LIT("GET / HTTP/1.1\r\n folded")));
	CU_ASSERT(partial_refused(LIT("GET / HTTP/1.1\r\nHost: x\0")));
	CU_ASSERT(partial_refused(LIT("GET / HTTP/1.1\r\nHost: x\x1b")));
	/* A CR at the end may be the start of CRLF; versions are only
	 * judged whole (HTTP/2.0 is 505, not 400). */
	CU_ASSERT(parse_n(LIT("GET / HTTP/1.1\r"), 1024) == HTTP_PARSE_MORE);
	CU_ASSERT(parse_n(LIT("GET / HTTP/2.0"), 1024) == HTTP_PARSE_MORE);
	CU_ASSERT(parse_n(LIT("\r"), 1024) == HTTP_PARSE_MORE);
}

static CU_TestInfo tests[] = {
	{ "GET, keep-alive rules, LF only", test_get },
	{ "POST, partial input, Expect", test_post },
	{ "pipelined requests", test_pipelined },
	{ "header and body caps", test_caps },
	{ "refusals and their statuses", test_refused },
	{ "a line refused before its end", test_partial },
	{ "chunked bodies", test_chunked },
	{ "absolute-form, HEAD, If-None-Match", test_forms },
	CU_TEST_INFO_NULL,
};

UNIT_MAIN("http_parse", tests)
