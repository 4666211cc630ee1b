# SPDX-License-Identifier: ISC
# ocsp_bad.sh: hostile and wrong requests to carapace-ocsp. Each must get a
# well-formed OCSPResponse with the right error status (checked with
# openssl ocsp -respin and openssl asn1parse), and the responder must keep
# answering afterwards: garbage, truncated DER, trailing bytes, an empty
# body, a request over max_request, two Requests in one (RFC 5019 2.1.1),
# an issuer it does not serve (unauthorized), hash algorithm parameters
# other than absent or NULL, and bad GET encodings. The same CertID with
# the parameters absent is the NULL one's cached response. A body
# over max_request is refused by the HTTP layer with 413 before it is read,
# with a malformedRequest OCSPResponse as the 413's body. ocsp_http.sh
# tests the HTTP layer itself.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/ocsp_common.sh"

leaf_issue leaf >/dev/null
ocsp_start "max_request = 2048"
URL=http://127.0.0.1:$PORT

# post FILE: POST it; the response lands in $T/r.der.
post() {
	curl -s -H "Content-Type: application/ocsp-request" \
	    --data-binary "@$1" -o "$T/r.der" -w '%{http_code}' "$URL/" \
	    >"$T/code" || fail "curl POST $1"
}

# expect_status NAME DESC: $T/r.der is an OCSPResponse with that error.
expect_status() {
	openssl ocsp -respin "$T/r.der" -resp_text -noverify >"$T/r.txt" 2>&1 || true
	grep -qi "Responder Error: $1\|OCSP Response Status: $1" "$T/r.txt" ||
	    { cat "$T/r.txt"; od -An -tx1 "$T/r.der" | head; fail "$2: not $1"; }
	openssl asn1parse -inform DER -in "$T/r.der" >"$T/r.asn1" 2>&1 ||
	    { cat "$T/r.asn1"; fail "$2: not DER"; }
	grep -q ENUMERATED "$T/r.asn1" || fail "$2: no responseStatus"
	[ "$(cat "$T/code")" = "${3:-200}" ] || fail "$2: HTTP $(cat "$T/code")"
	ok "$2: $1"
}

openssl ocsp -issuer "$CA/intermediate.pem" -cert "$T/leaf.pem" -no_nonce \
    -reqout "$T/good.req" 2>/dev/null || fail "reqout"

head -c 300 /dev/urandom >"$T/garbage"
post "$T/garbage"
expect_status malformedrequest "random bytes"

head -c 20 "$T/good.req" >"$T/trunc"
post "$T/trunc"
expect_status malformedrequest "truncated DER"

{ cat "$T/good.req"; printf 'X'; } >"$T/trail"
post "$T/trail"
expect_status malformedrequest "trailing byte after the request"

: >"$T/empty"
post "$T/empty"
expect_status malformedrequest "empty body"

head -c 4000 /dev/zero >"$T/big"
post "$T/big"
expect_status malformedrequest "request over max_request (2048), HTTP 413" 413

openssl ocsp -issuer "$CA/intermediate.pem" -cert "$T/leaf.pem" \
    -serial 0x4000000000000000000000000000000a -no_nonce \
    -reqout "$T/two.req" 2>/dev/null || fail "reqout two"
post "$T/two.req"
expect_status malformedrequest "two Requests in one OCSPRequest"

openssl ocsp -issuer "$CA/root.pem" -serial 0x01 -no_nonce \
    -reqout "$T/other.req" 2>/dev/null || fail "reqout other issuer"
post "$T/other.req"
expect_status unauthorized "an issuer this responder does not serve"

openssl ocsp -issuer "$CA/intermediate.pem" -sha384 -cert "$T/leaf.pem" \
    -no_nonce -reqout "$T/sha384.req" 2>/dev/null || fail "reqout sha384"
post "$T/sha384.req"
expect_status unauthorized "a CertID hashed with SHA-384"

for g in "%%%" "not-base64!" "%ZZ" "QUJD" "$(head -c 3000 /dev/zero | tr '\0' 'M')"; do
	curl -s -o "$T/r.der" -w '%{http_code}' "$URL/ocsp/$g" >"$T/code" ||
	    fail "curl GET"
	expect_status malformedrequest "GET /ocsp/$(printf "%.8s" "$g")..."
done

head -c 200000 /dev/zero >"$T/huge"
post "$T/huge"
expect_status malformedrequest "a 200 kB body, refused before it is read" 413

# with_params IN OUT HEX: IN (openssl's SHA-1 request: short lengths, the
# hashAlgorithm NULL at offset 19) with HEX as the parameters instead.
with_params() {
	od -An -v -tx1 "$1" | tr -s ' \n' '\n\n' | grep . | awk -v p="$3" '
	function h(x) { return index("0123456789abcdef", substr(x, 1, 1)) * 16 \
	    + index("0123456789abcdef", substr(x, 2, 1)) - 17 }
	{ b[NR - 1] = $1 }
	END {
		if (b[10] != "30" || b[11] != "09" || b[19] != "05" ||
		    b[20] != "00") exit 1
		np = split(p, q, " ")
		for (i = 0; i < NR; i++) {
			if (i == 19 || i == 20) {
				if (i == 19) for (j = 1; j <= np; j++)
					printf "\\%03o", h(q[j])
				continue
			}
			v = h(b[i])
			if (i == 1 || i == 3 || i == 5 || i == 7 || i == 9 ||
			    i == 11) v += np - 2
			printf "\\%03o", v
		}
	}' >"$T/hex" || fail "with_params: unexpected layout of $1"
	printf "$(cat "$T/hex")" >"$2"
	openssl asn1parse -inform DER -in "$2" >/dev/null || fail "with_params DER"
}

post "$T/good.req"
cp "$T/r.der" "$T/null.resp"
with_params "$T/good.req" "$T/absent.req" ""
post "$T/absent.req"
openssl ocsp -respin "$T/r.der" -resp_text -noverify >"$T/r.txt" 2>&1 || true
grep -q "Cert Status: good" "$T/r.txt" || { cat "$T/r.txt"; fail "absent params: not good"; }
cmp -s "$T/r.der" "$T/null.resp" ||
    fail "absent params: not the NULL-params request's cached response"
ok "hash parameters absent: the same cached response as NULL"
with_params "$T/good.req" "$T/octets.req" "04 04 de ad be ef"
post "$T/octets.req"
expect_status malformedrequest "hash parameters an OCTET STRING"

openssl ocsp -url "$URL" -CAfile "$CA/root.pem" -issuer "$CA/intermediate.pem" \
    -cert "$T/leaf.pem" >"$T/q.out" 2>&1 || true
grep -q "^$T/leaf.pem: good" "$T/q.out" || { cat "$T/q.out"; fail "not answering afterwards"; }
ok "still answering good after the hostile requests"

ocsp_stop
ok "clean exit"
