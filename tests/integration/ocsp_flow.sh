# SPDX-License-Identifier: ISC
# ocsp_flow.sh: the revocation flow through carapace-ocsp, checked with
# openssl ocsp and curl: good, revoked with its reason within a second of
# the log write, unknown for a serial the log never saw, a reserved or
# abandoned serial never good, SHA-1 and SHA-256 CertIDs, POST at / and at
# the configured path, the RFC 5019 GET form with its caching headers, and
# a clean exit on SIGTERM.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/ocsp_common.sh"

SERIAL=$(leaf_issue leaf)
SERIAL2=$(leaf_issue leaf2)
ok "two leaves signed in SoftHSM and recorded in the log"

ocsp_start

# --- good -------------------------------------------------------------------
q -issuer "$CA/intermediate.pem" -cert "$T/leaf.pem"
grep -q "^$T/leaf.pem: good" "$T/q.out" || { cat "$T/q.out"; fail "leaf not good"; }
grep -q "Response verify OK" "$T/q.out" || { cat "$T/q.out"; fail "response does not verify"; }
grep -q "This Update:" "$T/q.out" && grep -q "Next Update:" "$T/q.out" ||
    fail "no thisUpdate/nextUpdate"
ok "openssl ocsp: good, signature verifies up to root.pem"

q -issuer "$CA/intermediate.pem" -sha256 -cert "$T/leaf.pem"
grep -q "^$T/leaf.pem: good" "$T/q.out" || { cat "$T/q.out"; fail "SHA-256 CertID not good"; }
grep -q "Response verify OK" "$T/q.out" || { cat "$T/q.out"; fail "SHA-256: no verify"; }
ok "SHA-256 CertID: good"

openssl ocsp -url "http://127.0.0.1:$PORT/ocsp" -CAfile "$CA/root.pem" \
    -issuer "$CA/intermediate.pem" -cert "$T/leaf2.pem" >"$T/q.out" 2>&1 || true
grep -q "^$T/leaf2.pem: good" "$T/q.out" || { cat "$T/q.out"; fail "POST /ocsp"; }
ok "POST at the configured path /ocsp"

# The nonce is ignored (RFC 5019): openssl warns, the status is still good.
q -issuer "$CA/intermediate.pem" -cert "$T/leaf2.pem" -nonce
grep -q "^$T/leaf2.pem: good" "$T/q.out" || { cat "$T/q.out"; fail "with a nonce"; }
ok "request with a nonce answered (nonce ignored)"

# --- revoked within a second -------------------------------------------------
"$FILL" "$LOG" revoke "$SERIAL" 1 || fail "ocsp_fill revoke"
sleep 0.9
q -issuer "$CA/intermediate.pem" -cert "$T/leaf.pem"
grep -q "^$T/leaf.pem: revoked" "$T/q.out" ||
    { cat "$T/q.out"; fail "not revoked 0.9 s after the log write"; }
grep -q "Reason: keyCompromise" "$T/q.out" || { cat "$T/q.out"; fail "no reason"; }
grep -q "Revocation Time:" "$T/q.out" || fail "no revocation time"
grep -q "Response verify OK" "$T/q.out" || fail "revoked: no verify"
ok "revoked (keyCompromise) within a second of the log write"
q -issuer "$CA/intermediate.pem" -sha256 -cert "$T/leaf.pem"
grep -q "^$T/leaf.pem: revoked" "$T/q.out" || { cat "$T/q.out"; fail "SHA-256 not revoked"; }
q -issuer "$CA/intermediate.pem" -cert "$T/leaf2.pem"
grep -q "^$T/leaf2.pem: good" "$T/q.out" || { cat "$T/q.out"; fail "leaf2 no longer good"; }
ok "the other leaf is still good"

# --- unknown ----------------------------------------------------------------
q -issuer "$CA/intermediate.pem" -serial 0x4d2c5e7f0a1b2c3d4e5f60718293a4b5
grep -q ": unknown" "$T/q.out" || { cat "$T/q.out"; fail "never-seen serial not unknown"; }
grep -q "Response verify OK" "$T/q.out" || fail "unknown: no verify"
ok "a serial the log never saw: unknown"

# --- reserved and abandoned: never good --------------------------------------
RES=$("$FILL" "$LOG" reserve "$CA/intermediate.pem") || fail "reserve"
sleep 0.3
q -issuer "$CA/intermediate.pem" -serial "0x$RES"
grep -q ": revoked" "$T/q.out" || { cat "$T/q.out"; fail "reserved serial not revoked"; }
grep -q "Reason: certificateHold" "$T/q.out" || { cat "$T/q.out"; fail "reserved: reason"; }
ok "reserved serial: revoked, certificateHold (RFC 6960 2.2)"
ABN=$("$FILL" "$LOG" reserve "$CA/intermediate.pem") || fail "reserve"
"$FILL" "$LOG" abandon "$ABN" || fail "abandon"
sleep 0.3
q -issuer "$CA/intermediate.pem" -serial "0x$ABN"
grep -q ": revoked" "$T/q.out" || { cat "$T/q.out"; fail "abandoned serial not revoked"; }
ok "abandoned serial: revoked"
openssl ocsp -issuer "$CA/intermediate.pem" -serial "0x$ABN" -no_nonce \
    -reqout "$T/abn.req" 2>/dev/null
curl -s --data-binary "@$T/abn.req" -H "Content-Type: application/ocsp-request" \
    -o "$T/abn.resp" "http://127.0.0.1:$PORT/" || fail "curl POST"
# OpenSSL names 1.3.6.1.5.5.7.48.1.9 "valid" (its old name); look for the
# OID's DER (06 09 2b 06 01 05 05 07 30 01 09) in the response bytes.
od -An -tx1 -v "$T/abn.resp" | tr -d ' \n' | grep -q 06092b0601050507300109 ||
    fail "no extended revoked definition extension (RFC 6960 4.4.8)"
ok "the extended revoked definition extension is present"

# --- the RFC 5019 GET form -----------------------------------------------------
openssl ocsp -issuer "$CA/intermediate.pem" -cert "$T/leaf2.pem" -no_nonce \
    -reqout "$T/get.req" 2>/dev/null || fail "openssl ocsp -reqout"
B64=$(openssl base64 -A -in "$T/get.req" | urlenc)
for base in "" /ocsp; do
	curl -s -D "$T/get.hdr" -o "$T/get.resp" \
	    "http://127.0.0.1:$PORT$base/$B64" || fail "curl GET $base/"
	grep -qi "^content-type: application/ocsp-response" "$T/get.hdr" ||
	    { cat "$T/get.hdr"; fail "GET $base: content type"; }
	for h in "cache-control: max-age=" "last-modified:" "expires:" "etag:"; do
		grep -qi "^$h" "$T/get.hdr" ||
		    { cat "$T/get.hdr"; fail "GET $base: no $h header"; }
	done
	openssl ocsp -respin "$T/get.resp" -issuer "$CA/intermediate.pem" \
	    -cert "$T/leaf2.pem" -CAfile "$CA/root.pem" >"$T/q.out" 2>&1 || true
	grep -q "^$T/leaf2.pem: good" "$T/q.out" || { cat "$T/q.out"; fail "GET $base: not good"; }
	grep -q "Response verify OK" "$T/q.out" || fail "GET $base: no verify"
done
ok "GET /<base64> and /ocsp/<base64> with curl: good, RFC 5019 headers"
# Unescaped base64 (some clients do not percent-encode) works too.
RAW=$(openssl base64 -A -in "$T/get.req")
case $RAW in
*/*) ;;	# a '/' would split the path; only test when there is none
*)
	curl -s -o "$T/get2.resp" "http://127.0.0.1:$PORT/ocsp/$RAW" || fail "curl raw"
	openssl ocsp -respin "$T/get2.resp" -issuer "$CA/intermediate.pem" \
	    -cert "$T/leaf2.pem" -CAfile "$CA/root.pem" >"$T/q.out" 2>&1 || true
	grep -q "^$T/leaf2.pem: good" "$T/q.out" || { cat "$T/q.out"; fail "raw GET"; }
	ok "GET without percent-encoding" ;;
esac

# --- SIGTERM -------------------------------------------------------------------
ocsp_stop
ok "SIGTERM: clean exit"
