/* SPDX-License-Identifier: ISC */
/*
 * http_parse: the HTTP/1.x request parser of carapace-ocsp's HTTP server
 * (see http_parse.h for what it accepts). It walks the input once, line
 * by line, never reads past len, and refuses anything ambiguous rather
 * than guessing: bare CR, whitespace before a colon, obs-fold, control
 * bytes, differing Content-Length values, Transfer-Encoding. Every refusal
 * carries the HTTP status to answer with.
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
 * Returns 0 or an HTTP status.
 */
static int
parse_request_line(struct http_request *out, const uint8_t *p, size_t n)
{
	size_t i = 0, m, t;

	while (i < n && is_tchar(p[i]))
		i++;
	if (i == 0 || i >= n || p[i] != ' ')
		return 400;
	m = i;
	if (m == 3 && memcmp(p, "GET", 3) == 0)
		out->method = HTTP_METHOD_GET;
	else if (m == 4 && memcmp(p, "POST", 4) == 0)
		out->method = HTTP_METHOD_POST;
	else
		out->method = HTTP_METHOD_OTHER;
	t = ++i;
	while (i < n && p[i] > 0x20 && p[i] < 0x7f)
		i++;
	if (i == t || i >= n || p[i] != ' ' || p[t] != '/')
		return 400;	/* origin-form only (RFC 9112 3.2.1) */
	out->target = p + t;
	out->target_len = i - t;
	i++;
	if (n - i != 8 || memcmp(p + i, "HTTP/", 5) != 0 ||
	    p[i + 5] < '0' || p[i + 5] > '9' || p[i + 6] != '.' ||
	    p[i + 7] < '0' || p[i + 7] > '9')
		return 400;
	if (p[i + 5] != '1' || p[i + 7] > '1')
		return 505;
	out->minor = p[i + 7] - '0';
	if (out->method == HTTP_METHOD_OTHER)
		return 405;
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
	size_t pos = 0, limit, ll, nlen, vlen, i, nheaders = 0, nhost = 0;
	uint64_t cl = 0, v;
	int have_cl = 0, te = 0, close_seen = 0, ka_seen = 0, line = 0, st;

	memset(out, 0, sizeof(*out));
	limit = len < HTTP_HEADER_MAX ? len : HTTP_HEADER_MAX;
	/* RFC 9112 2.2: empty lines before the request line are ignored. */
	while (pos < limit && (buf[pos] == '\n' || (buf[pos] == '\r' &&
	    pos + 1 < limit && buf[pos + 1] == '\n')))
		pos += buf[pos] == '\n' ? 1 : 2;
	for (;;) {
		if (pos >= limit ||
		    (nl = memchr(buf + pos, '\n', limit - pos)) == NULL) {
			if (len >= HTTP_HEADER_MAX)
				return fail(out, 431);
			return HTTP_PARSE_MORE;
		}
		ll = (size_t)(nl - (buf + pos));
		if (ll > 0 && buf[pos + ll - 1] == '\r')
			ll--;
		for (i = 0; i < ll; i++)
			if (buf[pos + i] == '\r' || buf[pos + i] == '\0')
				return fail(out, 400);
		if (line == 0) {
			if ((st = parse_request_line(out, buf + pos, ll)) != 0)
				return fail(out, st);
		} else if (ll == 0) {
			pos = (size_t)(nl - buf) + 1;
			break;
		} else {
			if (++nheaders > HTTP_HEADERS_MAX)
				return fail(out, 431);
			name = buf + pos;
			for (nlen = 0; nlen < ll && is_tchar(name[nlen]); nlen++)
				;
			/* No blank before ':', no obs-fold (RFC 9112 5). */
			if (nlen == 0 || nlen == ll || name[nlen] != ':')
				return fail(out, 400);
			val = name + nlen + 1;
			vlen = ll - nlen - 1;
			while (vlen > 0 && (val[0] == ' ' || val[0] == '\t')) {
				val++;
				vlen--;
			}
			while (vlen > 0 && (val[vlen - 1] == ' ' ||
			    val[vlen - 1] == '\t'))
				vlen--;
			for (i = 0; i < vlen; i++)
				if ((val[i] < 0x20 && val[i] != '\t') ||
				    val[i] == 0x7f)
					return fail(out, 400);
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
