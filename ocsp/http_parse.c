/* SPDX-License-Identifier: ISC */
/*
 * http_parse: the HTTP/1.x request parser of carapace-ocsp's HTTP server
 * (see http_parse.h for what it accepts). It walks the input once, line
 * by line, never reads past len, and refuses anything ambiguous rather
 * than guessing: bare CR, whitespace before a colon, obs-fold, control
 * bytes, differing Content-Length values, Transfer-Encoding. A line that
 * has not ended yet is checked as far as it goes, by the same functions
 * as a whole one, so that a refusal never waits for a line end (and more
 * bytes can never turn it into a different status, which the fuzz target
 * checks). Every refusal carries the HTTP status to answer with.
 */
#include "config.h"

#include <string.h>

#include "ocsp/http_parse.h"

/* RFC 9110 5.6.2 tchar. */
static int
is_tchar(uint8_t c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int
lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* eq_ci: 1 when p[0..n) equals the lowercase word s, ignoring case. */
static int
eq_ci(const uint8_t *p, size_t n, const char *s)
{
	size_t i;

	if (n != strlen(s))
		return 0;
	for (i = 0; i < n; i++)
		if (lower(p[i]) != (uint8_t)s[i])
			return 0;
	return 1;
}

static enum http_parse_result
fail(struct http_request *out, int status)
{
	out->status = status;
	return HTTP_PARSE_ERROR;
}

/*
 * parse_request_line checks "METHOD SP /target SP HTTP/1.x" in p[0..n).
 * When whole is 0, p[0..n) is only the start of the line (no line end
 * yet): it returns 0 while the bytes so far can still begin a request
 * line, and 400 as soon as no bytes that follow could make one, so that
 * a peer that sends no line end is refused at once. Returns 0 or an HTTP
 * status.
 */
static int
parse_request_line(struct http_request *out, const uint8_t *p, size_t n,
    int whole)
{
	static const char version[] = "HTTP/9.9";	/* 9: any digit */
	size_t i = 0, m, t, k;

	while (i < n && is_tchar(p[i]))
		i++;
	if (i == n)
		return whole ? 400 : 0;
	if (i == 0 || p[i] != ' ')
		return 400;
	m = i;
	t = ++i;
	if (i == n)
		return whole ? 400 : 0;
	if (p[t] != '/')
		return 400;	/* origin-form only (RFC 9112 3.2.1) */
	while (i < n && p[i] > 0x20 && p[i] < 0x7f)
		i++;
	if (i == n)
		return whole ? 400 : 0;
	if (p[i] != ' ')
		return 400;
	i++;
	if (n - i > 8 || (whole && n - i != 8))
		return 400;
	for (k = 0; i + k < n; k++)
		if (version[k] == '9' ? p[i + k] < '0' || p[i + k] > '9' :
		    p[i + k] != (uint8_t)version[k])
			return 400;
	if (!whole)
		return 0;
	if (m == 3 && memcmp(p, "GET", 3) == 0)
		out->method = HTTP_METHOD_GET;
	else if (m == 4 && memcmp(p, "POST", 4) == 0)
		out->method = HTTP_METHOD_POST;
	else
		out->method = HTTP_METHOD_OTHER;
	out->target = p + t;
	out->target_len = i - 1 - t;
	if (p[i + 5] != '1' || p[i + 7] > '1')
		return 505;
	out->minor = p[i + 7] - '0';
	if (out->method == HTTP_METHOD_OTHER)
		return 405;
	return 0;
}

/*
 * check_field checks a header field line p[0..n): a token, ':', and a
 * value without control bytes other than HTAB. When whole is 0 the line
 * has not ended yet and only the bytes so far are checked (see
 * parse_request_line). Returns 0 with *nlen set to the name's length (for
 * a whole line), or 400.
 */
static int
check_field(size_t *nlen, const uint8_t *p, size_t n, int whole)
{
	size_t i;

	for (i = 0; i < n && is_tchar(p[i]); i++)
		;
	if (i == n)
		return whole ? 400 : 0;
	/* No blank before ':', no obs-fold (RFC 9112 5). */
	if (i == 0 || p[i] != ':')
		return 400;
	*nlen = i;
	for (i++; i < n; i++)
		if ((p[i] < 0x20 && p[i] != '\t') || p[i] == 0x7f)
			return 400;
	return 0;
}

/*
 * parse_length reads a Content-Length value: digits only, saturating at
 * UINT64_MAX (which is over any max_body). Returns 0 or 400.
 */
static int
parse_length(uint64_t *out, const uint8_t *v, size_t n)
{
	uint64_t x = 0;
	size_t i;

	if (n == 0)
		return 400;
	for (i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return 400;
		if (x > (UINT64_MAX - 9) / 10)
			x = UINT64_MAX;
		else
			x = x * 10 + (uint64_t)(v[i] - '0');
	}
	*out = x;
	return 0;
}

/* parse_connection reads the comma-separated tokens of Connection. */
static void
parse_connection(int *close_seen, int *ka_seen, const uint8_t *v, size_t n)
{
	size_t i = 0, s, e;

	while (i < n) {
		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		s = i;
		while (i < n && v[i] != ',')
			i++;
		e = i;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (eq_ci(v + s, e - s, "close"))
			*close_seen = 1;
		else if (eq_ci(v + s, e - s, "keep-alive"))
			*ka_seen = 1;
	}
}

enum http_parse_result
http_parse_request(struct http_request *out, const uint8_t *buf, size_t len,
    uint64_t max_body)
{
	const uint8_t *nl, *name, *val;
	size_t pos = 0, limit, ll, nlen = 0, vlen, i, nheaders = 0, nhost = 0;
	uint64_t cl = 0, v;
	int have_cl = 0, te = 0, close_seen = 0, ka_seen = 0, line = 0, st;
	int whole;

	memset(out, 0, sizeof(*out));
	limit = len < HTTP_HEADER_MAX ? len : HTTP_HEADER_MAX;
	/* RFC 9112 2.2: empty lines before the request line are ignored. */
	while (pos < limit && (buf[pos] == '\n' || (buf[pos] == '\r' &&
	    pos + 1 < limit && buf[pos + 1] == '\n')))
		pos += buf[pos] == '\n' ? 1 : 2;
	for (;;) {
		/*
		 * A line without its end yet is checked as far as it goes:
		 * bytes that no HTTP line could hold are refused now, not
		 * when the request deadline runs out.
		 */
		nl = pos < limit ? memchr(buf + pos, '\n', limit - pos) : NULL;
		whole = nl != NULL;
		ll = whole ? (size_t)(nl - (buf + pos)) : limit - pos;
		if (ll > 0 && buf[pos + ll - 1] == '\r')
			ll--;
		for (i = 0; i < ll; i++)
			if (buf[pos + i] == '\r' || buf[pos + i] == '\0')
				return fail(out, 400);
		if (line == 0) {
			if ((st = parse_request_line(out, buf + pos, ll,
			    whole)) != 0)
				return fail(out, st);
		} else if (ll == 0) {
			if (whole) {
				pos = (size_t)(nl - buf) + 1;
				break;
			}
		} else if (whole) {
			if (++nheaders > HTTP_HEADERS_MAX)
				return fail(out, 431);
			name = buf + pos;
			if ((st = check_field(&nlen, name, ll, 1)) != 0)
				return fail(out, st);
			val = name + nlen + 1;
			vlen = ll - nlen - 1;
			while (vlen > 0 && (val[0] == ' ' || val[0] == '\t')) {
				val++;
				vlen--;
			}
			while (vlen > 0 && (val[vlen - 1] == ' ' ||
			    val[vlen - 1] == '\t'))
				vlen--;
			if (eq_ci(name, nlen, "content-length")) {
				if (parse_length(&v, val, vlen) != 0 ||
				    (have_cl && v != cl))
					return fail(out, 400);
				cl = v;
				have_cl = 1;
			} else if (eq_ci(name, nlen, "transfer-encoding"))
				te = 1;
			else if (eq_ci(name, nlen, "host"))
				nhost++;
			else if (eq_ci(name, nlen, "connection"))
				parse_connection(&close_seen, &ka_seen, val,
				    vlen);
			else if (eq_ci(name, nlen, "expect") &&
			    eq_ci(val, vlen, "100-continue"))
				out->expect_continue = 1;
		} else if (nheaders < HTTP_HEADERS_MAX &&
		    (st = check_field(&nlen, buf + pos, ll, 0)) != 0)
			return fail(out, st);	/* (one more field is 431) */
		if (!whole) {
			if (len >= HTTP_HEADER_MAX)
				return fail(out, 431);
			return HTTP_PARSE_MORE;
		}
		line++;
		pos = (size_t)(nl - buf) + 1;
	}
	if (te)
		return fail(out, 501);	/* no chunked bodies: Content-Length */
	if (out->minor == 1 && nhost != 1)
		return fail(out, 400);	/* RFC 9112 3.2 */
	if (out->method == HTTP_METHOD_POST && !have_cl)
		return fail(out, 411);
	if (cl > max_body)
		return fail(out, 413);
	out->keep_alive = !close_seen && (out->minor == 1 || ka_seen);
	out->header_done = 1;
	out->header_len = pos;
	out->content_length = cl;
	if (len - pos < cl)
		return HTTP_PARSE_MORE;
	out->body = buf + pos;
	out->body_len = (size_t)cl;
	out->consumed = pos + (size_t)cl;
	return HTTP_PARSE_OK;
}
