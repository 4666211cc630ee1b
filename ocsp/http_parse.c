/* SPDX-License-Identifier: ISC */
/*
 * http_parse: the HTTP/1.x request parser of carapace-ocsp's HTTP server
 * (see http_parse.h for what it accepts). It walks the input once, line
 * by line, never reads past len, and refuses anything ambiguous rather
 * than guessing: bare CR, whitespace before a colon, obs-fold, control
 * bytes, differing Content-Length values, Content-Length with
 * Transfer-Encoding, transfer codings other than chunked. A line that
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
 * line_next finds the line at buf[pos..limit): *nl its LF (NULL when it
 * has not ended yet), *ll its length without the line end (or so far).
 * Returns 0, or 400 for a bare CR or a NUL in it.
 */
static int
line_next(const uint8_t **nl, size_t *ll, const uint8_t *buf, size_t pos,
    size_t limit)
{
	size_t i;

	*nl = pos < limit ? memchr(buf + pos, '\n', limit - pos) : NULL;
	*ll = *nl != NULL ? (size_t)(*nl - (buf + pos)) : limit - pos;
	if (*ll > 0 && buf[pos + *ll - 1] == '\r')
		(*ll)--;
	for (i = 0; i < *ll; i++)
		if (buf[pos + i] == '\r' || buf[pos + i] == '\0')
			return 400;
	return 0;
}

/*
 * absolute_form checks the start of an absolute-form target p[0..n)
 * (RFC 9112 3.2.2): "http://" or "https://" (any case) and an authority
 * of visible ASCII without userinfo ('@', RFC 9110 4.2.4), not empty.
 * Returns 0 with *end the offset after the authority (n when the bytes
 * ran out first: more may come), or 400.
 */
static int
absolute_form(size_t *end, const uint8_t *p, size_t n)
{
	static const char *const schemes[] = { "http://", "https://" };
	size_t i = 0, j, s = 0;

	for (j = 0; j < 2; j++) {
		s = strlen(schemes[j]);
		for (i = 0; i < n && i < s && lower(p[i]) == schemes[j][i]; i++)
			;
		if (i == s || i == n)
			break;
	}
	if (j == 2)
		return 400;
	*end = n;
	if (i < s)
		return 0;
	for (i = s; i < n && p[i] != '/' && p[i] != '?' && p[i] != ' '; i++)
		if (p[i] < 0x20 || p[i] >= 0x7f || p[i] == '@')
			return 400;
	if (i < n && i == s)
		return 400;
	*end = i;
	return 0;
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
	size_t i = 0, m, t, k, a;
	int st, has_path = 1;

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
	if (p[t] != '/') {
		/* absolute-form: the path is what counts (RFC 9112 3.2.2) */
		if ((st = absolute_form(&a, p + t, n - t)) != 0)
			return st;
		i = t + a;
		if (i == n)
			return whole ? 400 : 0;
		if (p[i] == '/')
			t = i;
		else
			has_path = 0;	/* "http://host" or "http://host?q" */
	}
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
	else if (m == 4 && memcmp(p, "HEAD", 4) == 0)
		out->method = HTTP_METHOD_HEAD;
	else
		out->method = HTTP_METHOD_OTHER;
	if (has_path) {
		out->target = p + t;
		out->target_len = i - 1 - t;
	} else {
		out->target = (const uint8_t *)"/";
		out->target_len = 1;
	}
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

/*
 * list_next finds the next element of the comma-separated list v[0..n)
 * from *i on (RFC 9110 5.6.1: empty elements and blanks around them
 * skipped): v[*s..*e), with *i moved past it. Returns 0 at the end.
 */
static int
list_next(size_t *s, size_t *e, const uint8_t *v, size_t n, size_t *i)
{
	while (*i < n && (v[*i] == ' ' || v[*i] == '\t' || v[*i] == ','))
		(*i)++;
	if (*i == n)
		return 0;
	*s = *i;
	while (*i < n && v[*i] != ',')
		(*i)++;
	*e = *i;
	while (*e > *s && (v[*e - 1] == ' ' || v[*e - 1] == '\t'))
		(*e)--;
	return 1;
}

/*
 * parse_te reads the codings of one Transfer-Encoding field: *chunked
 * counts "chunked", *other is set by any other coding.
 */
static void
parse_te(int *chunked, int *other, const uint8_t *v, size_t n)
{
	size_t i = 0, s, e;

	while (list_next(&s, &e, v, n, &i)) {
		if (eq_ci(v + s, e - s, "chunked"))
			(*chunked)++;
		else
			*other = 1;
	}
	if (n == 0)
		*other = 1;
}

/*
 * chunk_line checks a chunk-size line p[0..n) (RFC 9112 7.1): hex digits,
 * then nothing or BWS ';' and extensions of visible ASCII, blanks and
 * tabs (which are ignored). When whole is 0 only the bytes so far are
 * checked. Returns 0 with *size set (saturating; whole lines only), or
 * 400.
 */
static int
chunk_line(uint64_t *size, const uint8_t *p, size_t n, int whole)
{
	uint64_t x = 0;
	size_t i;
	int d;

	if (n > HTTP_CHUNK_LINE_MAX)
		return 400;
	for (i = 0; i < n; i++) {
		if (p[i] >= '0' && p[i] <= '9')
			d = p[i] - '0';
		else if (lower(p[i]) >= 'a' && lower(p[i]) <= 'f')
			d = lower(p[i]) - 'a' + 10;
		else
			break;
		x = x > (UINT64_MAX >> 4) ? UINT64_MAX : x << 4 | (uint64_t)d;
	}
	if (i == 0)
		return n == 0 && !whole ? 0 : 400;
	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	if (i < n) {
		if (p[i] != ';')
			return 400;
		for (; i < n; i++)
			if ((p[i] < 0x20 && p[i] != '\t') || p[i] == 0x7f)
				return 400;
	}
	*size = x;
	return 0;
}

/*
 * parse_chunked decodes the chunked body that starts at buf[pos] into
 * scratch (max_body bytes), reading at most HTTP_HEADER_MAX + max_body
 * bytes of buf in all; see http_parse_request for the results.
 */
static enum http_parse_result
parse_chunked(struct http_request *out, const uint8_t *buf, size_t len,
    size_t pos, uint64_t max_body, uint8_t *scratch)
{
	const uint8_t *nl;
	size_t limit, cap, ll, n = 0, ntrailers = 0, nlen;
	uint64_t size = 0;
	int st, trailer = 0, whole;

	cap = HTTP_HEADER_MAX + (size_t)max_body;
	limit = len < cap ? len : cap;
	for (;;) {
		if (line_next(&nl, &ll, buf, pos, limit) != 0)
			return fail(out, 400);
		whole = nl != NULL;
		if (!trailer) {
			if ((st = chunk_line(&size, buf + pos, ll, whole)) != 0)
				return fail(out, st);
		} else if (ll > 0 && (st = check_field(&nlen, buf + pos, ll,
		    whole)) != 0)
			return fail(out, st);
		if (!whole)
			return len >= cap ? fail(out, 413) : HTTP_PARSE_MORE;
		pos = (size_t)(nl - buf) + 1;
		if (trailer) {
			if (ll == 0)
				break;		/* the end of the trailers */
			if (++ntrailers > HTTP_HEADERS_MAX)
				return fail(out, 431);
			continue;
		}
		if (size == 0) {
			trailer = 1;		/* last-chunk */
			continue;
		}
		if (size > max_body - n || size > cap - pos)
			return fail(out, 413);
		/* chunk-data, then CRLF or a bare LF */
		if (limit - pos < size + 1 ||
		    (buf[pos + size] == '\r' && limit - pos < size + 2))
			return len >= cap ? fail(out, 413) : HTTP_PARSE_MORE;
		memcpy(scratch + n, buf + pos, (size_t)size);
		n += (size_t)size;
		pos += (size_t)size;
		if (buf[pos] == '\r')
			pos++;
		if (buf[pos] != '\n')
			return fail(out, 400);
		pos++;
	}
	out->body = scratch;
	out->body_len = n;
	out->content_length = n;
	out->consumed = pos;
	return HTTP_PARSE_OK;
}

/* parse_connection reads the comma-separated tokens of Connection. */
static void
parse_connection(int *close_seen, int *ka_seen, const uint8_t *v, size_t n)
{
	size_t i = 0, s, e;

	while (list_next(&s, &e, v, n, &i)) {
		if (eq_ci(v + s, e - s, "close"))
			*close_seen = 1;
		else if (eq_ci(v + s, e - s, "keep-alive"))
			*ka_seen = 1;
	}
}

enum http_parse_result
http_parse_request(struct http_request *out, const uint8_t *buf, size_t len,
    uint64_t max_body, uint8_t *scratch)
{
	const uint8_t *nl, *name, *val;
	size_t pos = 0, limit, ll, nlen = 0, vlen, nheaders = 0, nhost = 0;
	size_t ninm = 0;
	uint64_t cl = 0, v;
	int have_cl = 0, te = 0, te_chunked = 0, te_other = 0, close_seen = 0;
	int ka_seen = 0, line = 0, st, whole;

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
		if (line_next(&nl, &ll, buf, pos, limit) != 0)
			return fail(out, 400);
		whole = nl != NULL;
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
			} else if (eq_ci(name, nlen, "transfer-encoding")) {
				te = 1;
				parse_te(&te_chunked, &te_other, val, vlen);
			} else if (eq_ci(name, nlen, "if-none-match")) {
				out->if_none_match = ++ninm == 1 ? val : NULL;
				out->if_none_match_len = ninm == 1 ? vlen : 0;
			} else if (eq_ci(name, nlen, "host"))
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
	if (te) {
		/* RFC 9112 6.1, 6.3: framing that is not exactly chunked */
		if (out->minor == 0 || have_cl)
			return fail(out, 400);
		if (te_other || scratch == NULL)
			return fail(out, 501);
		if (te_chunked != 1)
			return fail(out, 400);
	}
	if (out->minor == 1 && nhost != 1)
		return fail(out, 400);	/* RFC 9112 3.2 */
	if (out->method == HTTP_METHOD_POST && !have_cl && !te)
		return fail(out, 411);
	if (cl > max_body)
		return fail(out, 413);
	out->keep_alive = !close_seen && (out->minor == 1 || ka_seen);
	out->header_done = 1;
	out->header_len = pos;
	if (te) {
		out->chunked = 1;
		return parse_chunked(out, buf, len, pos, max_body, scratch);
	}
	out->content_length = cl;
	if (len - pos < cl)
		return HTTP_PARSE_MORE;
	out->body = buf + pos;
	out->body_len = (size_t)cl;
	out->consumed = pos + (size_t)cl;
	return HTTP_PARSE_OK;
}
