# SPDX-License-Identifier: ISC
# ocsp_http_cache.sh: the HTTP/1.1 that caches and proxies in front of
# carapace-ocsp rely on, driven by curl and checked with openssl ocsp:
#   - HEAD answers 200 with the headers of GET (Content-Length, ETag,
#     Cache-Control, Expires) and no body (RFC 9110 9.3.2);
#   - If-None-Match with the current ETag (also weak, in a list, or "*")
#     answers 304 with ETag, Cache-Control and Expires and no body, for GET
#     and HEAD; another ETag gets the full answer; a POST whose
#     If-None-Match matches gets 412 (RFC 9110 13.1.2);
#   - an absolute-form target (http://host/path, as a proxy sends it) is
#     answered by its path, for GET and POST (RFC 9112 3.2.2);
#   - a chunked POST body (RFC 9112 7.1) is decoded and answered; one over
#     max_request, decoded, gets 413.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/ocsp_common.sh"

leaf_issue leaf >/dev/null
openssl ocsp -issuer "$CA/intermediate.pem" -cert "$T/leaf.pem" -no_nonce \
    -reqout "$T/req.der" 2>/dev/null || fail "reqout"
ENC=$(openssl base64 -A -in "$T/req.der" | urlenc)
ocsp_start
URL=http://127.0.0.1:$PORT

# good FILE WHAT: FILE is a good, verified answer for the leaf.
good() {
	openssl ocsp -respin "$1" -issuer "$CA/intermediate.pem" \
	    -cert "$T/leaf.pem" -CAfile "$CA/root.pem" >"$T/q.out" 2>&1 || true
	grep -q "^$T/leaf.pem: good" "$T/q.out" && grep -q "Response verify OK" "$T/q.out" ||
	    { cat "$T/q.out"; fail "$2: not a good, verified answer"; }
}
# hdr NAME: the value of header NAME in $T/h (curl -D), without CR.
hdr() {
	tr -d '\r' <"$T/h" | awk -v n="$1" 'BEGIN { IGNORECASE = 1 }
	    tolower($0) ~ "^" tolower(n) ":" { sub(/^[^:]*: */, ""); print }'
}
# get ARGS...: curl into $T/h (headers) and $T/b (body); echoes the status.
get() {
	rm -f "$T/h" "$T/b"
	curl -s -D "$T/h" -o "$T/b" -w '%{http_code}' "$@" || echo curl-failed
}

# --- GET, then HEAD --------------------------------------------------------------
code=$(get "$URL/ocsp/$ENC")
[ "$code" = 200 ] || fail "GET: HTTP $code"
good "$T/b" GET
ETAG=$(hdr ETag)
LEN=$(wc -c <"$T/b" | tr -d ' ')
[ -n "$ETAG" ] || fail "GET: no ETag"
# head ARGS...: a HEAD request; headers in $T/h; echoes the status and
# the body bytes read.
head_req() {
	rm -f "$T/h"
	curl -s -I -D "$T/h" -o /dev/null -w '%{http_code} %{size_download}' "$@" ||
	    echo curl-failed
}
code=$(head_req "$URL/ocsp/$ENC")
[ "$code" = "200 0" ] || fail "HEAD: HTTP status and body bytes: $code (before: 405)"
[ "$(hdr Content-Length)" = "$LEN" ] || fail "HEAD: Content-Length $(hdr Content-Length), GET's is $LEN"
[ "$(hdr ETag)" = "$ETAG" ] || fail "HEAD: ETag $(hdr ETag), GET's is $ETAG"
[ -n "$(hdr Cache-Control)" ] && [ -n "$(hdr Expires)" ] && [ -n "$(hdr Last-Modified)" ] ||
    { cat "$T/h"; fail "HEAD: caching headers missing"; }
ok "HEAD: 200, GET's headers (Content-Length $LEN, ETag), no body"
# Still serving on the same connection after a HEAD: curl reuses it.
code=$(curl -s -o /dev/null -w '%{http_code}' -I "$URL/ocsp/$ENC" \
    --next -s -o "$T/b2" -w ' %{http_code} %{num_connects}' "$URL/ocsp/$ENC")
[ "$code" = "200 200 0" ] || fail "HEAD then GET on one connection: $code"
good "$T/b2" "GET after HEAD on one connection"
ok "HEAD then GET on one kept-alive connection: both answered"

# --- If-None-Match ------------------------------------------------------------------
for inm in "$ETAG" "W/$ETAG" "\"nope\", $ETAG" "*"; do
	code=$(get -H "If-None-Match: $inm" "$URL/ocsp/$ENC")
	[ "$code" = 304 ] || fail "If-None-Match: $inm: HTTP $code (before: 200)"
	[ ! -s "$T/b" ] || fail "304 with a body"
	[ "$(hdr ETag)" = "$ETAG" ] && [ -n "$(hdr Cache-Control)" ] && [ -n "$(hdr Expires)" ] ||
	    { cat "$T/h"; fail "304 without ETag, Cache-Control or Expires"; }
	[ -z "$(hdr Content-Length)" ] || fail "304 with Content-Length"
done
code=$(head_req -H "If-None-Match: $ETAG" "$URL/ocsp/$ENC")
[ "$code" = "304 0" ] || fail "HEAD If-None-Match: HTTP $code"
code=$(get -H 'If-None-Match: "nope", W/"0123"' "$URL/ocsp/$ENC")
[ "$code" = 200 ] || fail "If-None-Match with other tags: HTTP $code"
good "$T/b" "If-None-Match with other tags"
code=$(get -H "If-None-Match: $ETAG" -H "Content-Type: application/ocsp-request" \
    --data-binary "@$T/req.der" "$URL/ocsp")
[ "$code" = 412 ] || fail "POST If-None-Match matching: HTTP $code"
ok "If-None-Match (exact, weak, list, *): 304 with ETag/Cache-Control/Expires, no body; other tags 200; POST 412"

# --- absolute-form targets -------------------------------------------------------------
code=$(get --request-target "http://ocsp.example.internal/ocsp/$ENC" "$URL/")
[ "$code" = 200 ] || fail "GET absolute-form: HTTP $code (before: 400)"
good "$T/b" "GET absolute-form"
code=$(get --request-target "HTTP://127.0.0.1:$PORT/ocsp" \
    -H "Content-Type: application/ocsp-request" --data-binary "@$T/req.der" "$URL/")
[ "$code" = 200 ] || fail "POST absolute-form: HTTP $code"
good "$T/b" "POST absolute-form"
code=$(get --request-target "http://user@ocsp.example.internal/ocsp/$ENC" "$URL/")
[ "$code" = 400 ] || fail "absolute-form with userinfo: HTTP $code"
ok "absolute-form GET and POST answered by path; userinfo refused (400)"

# --- chunked POST ----------------------------------------------------------------------
code=$(get -H "Transfer-Encoding: chunked" -H "Content-Type: application/ocsp-request" \
    --data-binary "@$T/req.der" "$URL/ocsp")
[ "$code" = 200 ] || fail "chunked POST: HTTP $code (before: 501)"
good "$T/b" "chunked POST"
head -c 20000 /dev/zero >"$T/big"
code=$(get -H "Transfer-Encoding: chunked" -H "Content-Type: application/ocsp-request" \
    --data-binary "@$T/big" "$URL/ocsp")
[ "$code" = 413 ] || fail "chunked POST over max_request: HTTP $code"
code=$(get "$URL/ocsp/$ENC")
[ "$code" = 200 ] || fail "not serving after the refusals: HTTP $code"
ok "chunked POST: good; over max_request: 413; still serving"
ocsp_stop
