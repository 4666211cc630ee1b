#!/bin/sh
# SPDX-License-Identifier: ISC
# issuer_resend.sh: issuance is idempotent for a resent request (issue 17,
# item 6). A client whose answer was lost (the issuer was killed between
# the commit and the reply) sends the same request again: the same join
# token and the same CSR. It gets the certificate already recorded for it,
# byte for byte, also from an issuer restarted after kill -9 and when the
# CSR was signed anew (same key and names, other bytes), and the log gains
# nothing. The same token with another key is still refused (tokenUsed)
# and changes nothing; so is the same request once its certificate is
# revoked.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"
. "$S/tests/integration/issuer_common.sh"

iss_setup
iss_start

NAME=resend.example.internal
token "$T/tok" "$NAME"
csr() {
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$T/$1.key" -subj "/CN=$NAME" -addext "subjectAltName=DNS:$NAME" \
	    -out "$T/$1.csr" 2>>"$T/openssl.log" || fail "openssl req $1"
}
csr a
csr b

"$RACE" -o "$T/first.der" issue "$URL" "$T/tok" "$T/a.csr" >"$T/r1.out" 2>&1 ||
    { cat "$T/r1.out" >&2; fail "the first request was refused"; }
ok "first request: $(cat "$T/r1.out")"
certs_in_log "$T/first.der"
state=$T/state.first
log_state >"$state"

# same_cert DESC CSR: the token with CSR gets first.der again, and the log
# does not change.
same_cert() {
	rm -f "$T/again.der"
	"$RACE" -o "$T/again.der" issue "$URL" "$T/tok" "$2" >"$T/again.out" 2>&1 ||
	    { cat "$T/again.out" >&2; fail "$1: refused"; }
	cmp -s "$T/first.der" "$T/again.der" ||
	    fail "$1: another certificate than the first"
	assert_unchanged "$1" "$state"
	ok "$1: the same certificate, the log unchanged: $(cat "$T/again.out")"
}

# The same request again, as nng resends it when the answer was lost.
same_cert "the resent request" "$T/a.csr"

# After kill -9 and a restart: the answer comes from the log alone.
iss_kill9
iss_start same
same_cert "the request resent to the issuer restarted after kill -9" "$T/a.csr"

# A client that runs again with the same key and names signs a new CSR
# (ECDSA signs anew: other bytes); it is the same request.
openssl req -new -key "$T/a.key" -subj "/CN=$NAME" \
    -addext "subjectAltName=DNS:$NAME" -out "$T/a2.csr" 2>>"$T/openssl.log" ||
    fail "openssl req a2"
cmp -s "$T/a.csr" "$T/a2.csr" && fail "the second CSR is byte for byte the first"
same_cert "the same key and names in a newly signed CSR" "$T/a2.csr"

# The same token with another CSR is a second use: refused, nothing changes.
r=0
"$RACE" -o "$T/other.der" issue "$URL" "$T/tok" "$T/b.csr" >"$T/r4.out" 2>&1 || r=$?
[ $r -eq 1 ] && grep -q '^tokenUsed: .*already used' "$T/r4.out" ||
    { cat "$T/r4.out" >&2; fail "the token with another CSR was not refused as used (exit $r)"; }
[ ! -e "$T/other.der" ] || fail "a refused request wrote a certificate"
assert_unchanged "the token with another CSR" "$state"
ok "the token with another CSR: $(cat "$T/r4.out")"

# A revoked certificate is not handed out again.
car_ok "revoke the certificate" revoke -S "$OPS" "$(serial_of "$T/first.der")" \
    --reason superseded
log_state >"$state"
r=0
"$RACE" -o "$T/revoked.der" issue "$URL" "$T/tok" "$T/a.csr" >"$T/r5.out" 2>&1 || r=$?
[ $r -eq 1 ] && grep -q '^tokenUsed' "$T/r5.out" ||
    { cat "$T/r5.out" >&2; fail "the resent request for a revoked certificate was not refused (exit $r)"; }
assert_unchanged "the resent request for a revoked certificate" "$state"
ok "resent after revocation: $(cat "$T/r5.out")"

[ "$(sql "SELECT count(*) FROM certificates WHERE status IN ('issued', 'revoked')")" -eq 1 ] ||
    fail "the log holds other than one certificate"
[ "$(sql "SELECT count(*) FROM events WHERE kind = 'token-consume'")" -eq 1 ] ||
    fail "the token was consumed other than once"
car_ok "log verify" log verify -S "$OPS"
grep -q '^log verify: OK' "$T/car.stdout" || fail "log verify did not say OK"
iss_stop
echo "PASS: issuer resend"
