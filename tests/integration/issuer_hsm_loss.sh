#!/bin/sh
# SPDX-License-Identifier: ISC
# issuer_hsm_loss.sh: the issuer's HSM goes away and comes back (SoftHSM's
# token directory moved aside, as in hsm_loss.sh). While it is gone, a
# request is refused with hsmUnavailable and a message that says to retry
# (carapace exits 3), nothing is issued, the token that paid for it is not
# consumed, and the daemon keeps answering; once the token is back, the
# same token gets a certificate.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"
. "$S/tests/integration/issuer_common.sh"

iss_setup
iss_start

token "$T/tok0" before.example.internal
car_ok "a certificate while the HSM is there" request -s "$URL" \
    --token-file "$T/tok0" --name before.example.internal \
    --key-out "$T/k0.pem" --cert-out "$T/c0.pem"
token "$T/tok1" loss.example.internal

mv "$CA/tokens" "$CA/tokens.away"
mkdir "$CA/tokens"
issued=$(sql "SELECT count(*) FROM certificates WHERE status IN ('issued','revoked')")
car_refused "request while the HSM is gone" 3 'hsmUnavailable' request \
    -s "$URL" --token-file "$T/tok1" --name loss.example.internal \
    --key-out "$T/k1.pem" --cert-out "$T/c1.pem"
grep -Eqi 'retry|try again|later' "$T/car.err" ||
    fail "the hsmUnavailable refusal does not say to retry"
[ ! -e "$T/k1.pem" ] && [ ! -e "$T/c1.pem" ] || fail "the refused request left files behind"
car_refused "and again" 3 'hsmUnavailable' request \
    -s "$URL" --token-file "$T/tok1" --name loss.example.internal \
    --key-out "$T/k1.pem" --cert-out "$T/c1.pem"
kill -0 "$ISS_PID" 2>/dev/null || fail "carapace-issuer died when the HSM went away"
car_ok "the operator socket still answers" list -S "$OPS"
[ "$(sql "SELECT count(*) FROM certificates WHERE status IN ('issued','revoked')")" -eq "$issued" ] ||
    fail "a certificate was recorded while the HSM was gone"
[ "$(sql "SELECT count(*) FROM join_tokens WHERE identity = 'id-tok1' AND used_at IS NULL")" -eq 1 ] ||
    fail "the token was consumed by a request the HSM could not sign"
[ "$(sql "SELECT count(*) FROM certificates WHERE status = 'reserved'")" -eq 0 ] ||
    fail "serials left reserved (they should be abandoned)"

rmdir "$CA/tokens"
mv "$CA/tokens.away" "$CA/tokens"
car_ok "the same token once the HSM is back" request -s "$URL" \
    --token-file "$T/tok1" --name loss.example.internal \
    --key-out "$T/k1.pem" --cert-out "$T/c1.pem"
openssl verify -CAfile "$CA/root.pem" -untrusted "$CA/intermediate.pem" \
    "$T/c1.pem" >/dev/null 2>&1 || fail "c1.pem does not verify"
certs_in_log "$T/c0.pem" "$T/c1.pem"
car_ok "log verify" log verify -S "$OPS"
grep -q '^log verify: OK' "$T/car.stdout" || fail "log verify did not say OK"
iss_stop
echo "PASS: issuer hsm loss"
