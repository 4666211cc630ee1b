#!/bin/sh
# SPDX-License-Identifier: ISC
# issuer_selectors.sh: selectors stored with certificates (issue 11).
# Two machines get certificates with two join tokens; the first renews by
# x509pop. carapace show prints token:id:... for each (the renewal too, as
# it inherits its parent's selectors); carapace list --selector lists
# exactly the first machine's original and renewed certificates; carapace
# revoke --selector token:id:<first> revokes exactly those two and prints
# both serials and the count; openssl ocsp then says revoked for both
# (polling, within a few seconds) and good for the other machine;
# carapace-crl --once writes a CRL that openssl crl verifies and that
# lists both; carapace log verify says the chain is intact. A selector
# that matches nothing revokes nothing and says so, and an ill-formed one
# or one given with a SERIAL is refused before anything is sent.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"
. "$S/tests/integration/issuer_common.sh"

OCSPD=$B/ocsp/carapace-ocsp
CRLD=$B/ocsp/carapace-crl
KEY_URI="pkcs11:token=carapace-issuer;object=issuing-ca-1"
iss_setup
iss_start

token "$T/tok1" a.example.internal
token "$T/tok2" b.example.internal
TID1=$(cut -d. -f2 "$T/tok1")
TID2=$(cut -d. -f2 "$T/tok2")
sql "SELECT id FROM join_tokens" | grep -qx "$TID1" ||
    fail "the token file's second field is not the token id ($TID1)"
car_ok "machine a: request with token 1" request -s "$URL" \
    --token-file "$T/tok1" --name a.example.internal --key-out "$T/a.key" \
    --cert-out "$T/a.pem"
car_ok "machine b: request with token 2" request -s "$URL" \
    --token-file "$T/tok2" --name b.example.internal --key-out "$T/b.key" \
    --cert-out "$T/b.pem"
car_ok "machine a: renew by x509pop" renew -s "$URL" --cert "$T/a.pem" \
    --key "$T/a.key" --cert-out "$T/a2.pem"
SA=$(serial_of "$T/a.pem")
SA2=$(serial_of "$T/a2.pem")
SB=$(serial_of "$T/b.pem")

# --- show -------------------------------------------------------------------------
for pair in "$SA:$TID1" "$SA2:$TID1" "$SB:$TID2"; do
	s=${pair%%:*} id=${pair#*:}
	car_ok "show $s" show -S "$OPS" "$s"
	grep -qx "selector: token:id:$id" "$T/car.stdout" ||
	    { cat "$T/car.stdout" >&2; fail "show $s does not print selector: token:id:$id"; }
done
grep -qx "selector: x509pop:renewed-serial:$(echo "$SA" | tr A-F a-f)" "$T/car.stdout" &&
    fail "machine b's certificate carries machine a's renewal selector"
car_ok "show the renewal" show -S "$OPS" "$SA2"
grep -qix "selector: x509pop:renewed-serial:$SA" "$T/car.stdout" ||
    { cat "$T/car.stdout" >&2; fail "the renewal does not show x509pop:renewed-serial:$SA"; }
grep -q "selector: token:id:$TID2" "$T/car.stdout" &&
    fail "the renewal of machine a shows machine b's token"
ok "show prints token:id:... for each machine, and the renewal inherits machine a's"

# --- list --selector ----------------------------------------------------------------
car_ok "list --selector token:id:$TID1" list -S "$OPS" --selector "token:id:$TID1"
cut -d' ' -f1 "$T/car.stdout" | tr a-f A-F | sort >"$T/listed"
printf '%s\n%s\n' "$SA" "$SA2" | sort >"$T/want"
cmp -s "$T/listed" "$T/want" ||
    { cat "$T/car.stdout" >&2; fail "list --selector did not list exactly machine a's two certificates"; }
ok "list --selector lists exactly machine a's original and renewed certificates"

# --- refusals, and a selector that matches nothing ----------------------------------
log_state >"$T/state0"
car_refused "ill-formed selector" 2 'selector.*kind:fact:value' \
    revoke -S "$OPS" --selector "token-id" --reason keyCompromise
car_refused "--selector with a SERIAL" 2 'selector and SERIAL' \
    revoke -S "$OPS" --selector "token:id:$TID1" --reason keyCompromise "$SA"
car_refused "--selector without a reason" 2 'reason is required' \
    revoke -S "$OPS" --selector "token:id:$TID1"
car_ok "revoke --selector that matches nothing" revoke -S "$OPS" \
    --selector "token:id:t-nothing" --reason keyCompromise
grep -q "^0 certificates with selector token:id:t-nothing revoked" "$T/car.stdout" ||
    { cat "$T/car.out" >&2; fail "revoking by an unmatched selector does not say 0"; }
grep -q "^revoked:" "$T/car.stdout" && fail "an unmatched selector printed a serial"
assert_unchanged "refused and unmatched revocations" "$T/state0"

# --- OCSP before --------------------------------------------------------------------
OPORT=$(free_port)
cat >"$T/ocsp.cnf" <<EOF
[ocsp]
listen  = http://127.0.0.1:$OPORT
path    = /ocsp
log     = $DB
module  = $SOFTHSM2_MODULE
issuers = issuing_ca
poll_ms = 100

[issuing_ca]
cert       = $CA/intermediate.pem
key        = $KEY_URI
pin_source = file:$CA/pins/carapace-issuer.pin
EOF
"$OCSPD" -c "$T/ocsp.cnf" >"$T/ocspd.out" 2>&1 &
OPID=$!
ocspd_kill() {
	rc=$?
	kill -KILL "$OPID" 2>/dev/null || :
	iss_atexit $rc
}
trap ocspd_kill EXIT INT TERM
i=0
until grep -q "listening on" "$T/ocspd.out" 2>/dev/null; do
	kill -0 "$OPID" 2>/dev/null || { cat "$T/ocspd.out" >&2; fail "carapace-ocsp exited"; }
	i=$((i + 1))
	[ $i -lt 100 ] || fail "carapace-ocsp did not start within 10 s"
	sleep 0.1
done

# ocspq CERT...: one request each; "FILE: status" lines in $T/q.out.
ocspq() {
	: >"$T/q.out"
	for f in "$@"; do
		openssl ocsp -url "http://127.0.0.1:$OPORT/ocsp" \
		    -CAfile "$CA/root.pem" -issuer "$CA/intermediate.pem" \
		    -verify_other "$CA/intermediate.pem" -no_nonce -cert "$f" \
		    >"$T/q1.out" 2>&1 || :
		grep -q "Response verify OK" "$T/q1.out" ||
		    { cat "$T/q1.out" >&2; fail "openssl ocsp $f: the response does not verify"; }
		cat "$T/q1.out" >>"$T/q.out"
	done
}
ocspq "$T/a.pem" "$T/a2.pem" "$T/b.pem"
[ "$(grep -c ': good$' "$T/q.out")" -eq 3 ] ||
    { cat "$T/q.out" >&2; fail "openssl ocsp: not all three good before the revocation"; }
ok "openssl ocsp: all three good before"

# --- revoke --selector --------------------------------------------------------------
car_ok "revoke --selector token:id:$TID1" revoke -S "$OPS" \
    --selector "token:id:$TID1" --reason keyCompromise
sed -n 's/^revoked: //p' "$T/car.stdout" | tr a-f A-F | sort >"$T/revoked"
cmp -s "$T/revoked" "$T/want" ||
    { cat "$T/car.out" >&2; fail "revoke --selector did not print exactly machine a's two serials"; }
grep -q "^2 certificates with selector token:id:$TID1 revoked" "$T/car.stdout" ||
    { cat "$T/car.out" >&2; fail "revoke --selector does not print the count"; }
[ "$(sql "SELECT count(*) FROM certificates WHERE status = 'revoked' AND revocation_reason = 1")" -eq 2 ] ||
    fail "the log does not hold exactly two keyCompromise revocations"
[ "$(sql "SELECT status FROM certificates WHERE serial = x'$SB'")" = issued ] ||
    fail "machine b's certificate is no longer issued"
ok "revoke --selector revoked exactly machine a's two certificates"

i=0
while :; do
	ocspq "$T/a.pem" "$T/a2.pem" "$T/b.pem"
	if grep -q "^$T/a.pem: revoked" "$T/q.out" &&
	    grep -q "^$T/a2.pem: revoked" "$T/q.out" &&
	    grep -q "^$T/b.pem: good" "$T/q.out"; then
		break
	fi
	i=$((i + 1))
	[ $i -lt 100 ] || { cat "$T/q.out" >&2; fail "OCSP does not say revoked 10 s after revoke --selector"; }
	sleep 0.1
done
grep -A3 "^$T/a.pem: revoked" "$T/q.out" | grep -q "Reason: keyCompromise" ||
    { cat "$T/q.out" >&2; fail "OCSP does not give the reason keyCompromise"; }
ok "openssl ocsp: both of machine a's revoked (keyCompromise), machine b's good"
kill -TERM "$OPID"
wait "$OPID" || :

# Again: nothing left to revoke.
car_ok "revoke --selector again" revoke -S "$OPS" --selector "token:id:$TID1" \
    --reason keyCompromise
grep -q "^0 certificates" "$T/car.stdout" ||
    { cat "$T/car.out" >&2; fail "a second revoke --selector revoked something"; }

# --- CRL ----------------------------------------------------------------------------
cat >"$T/crl.cnf" <<EOF
[crl]
module      = $SOFTHSM2_MODULE
key         = $KEY_URI
pin_source  = file:$CA/pins/carapace-issuer.pin
issuer_cert = $CA/intermediate.pem
log         = $DB
state       = $T/crl.state
der         = $T/crl.der
pem         = $T/crl.pem
next_update = 1d
EOF
"$CRLD" -c "$T/crl.cnf" --once >"$T/crl.out" 2>&1 ||
    { cat "$T/crl.out" >&2; fail "carapace-crl --once"; }
sanitizer_clean "$T/crl.out"
openssl crl -in "$T/crl.pem" -CAfile "$CA/intermediate.pem" -verify -noout \
    2>"$T/crlv.out" || { cat "$T/crlv.out" >&2; fail "openssl crl -verify rejects the CRL"; }
openssl crl -in "$T/crl.pem" -noout -text | sed -n "s/^ *Serial Number: *//p" |
    tr a-f A-F | sort >"$T/crl.serials"
cmp -s "$T/crl.serials" "$T/want" ||
    { cat "$T/crl.serials" >&2; fail "the CRL does not list exactly machine a's two serials"; }
ok "carapace-crl: openssl crl verifies the CRL and it lists both serials"

# --- the log ------------------------------------------------------------------------
car_ok "log verify" log verify -S "$OPS"
grep -q "OK" "$T/car.stdout" || { cat "$T/car.out" >&2; fail "log verify is not OK"; }
[ "$(sql "SELECT count(*) FROM events WHERE kind = 'revoke'")" -eq 2 ] ||
    fail "not one revoke chain entry per revoked certificate"
certs_in_log "$T/a.pem" "$T/a2.pem" "$T/b.pem"
iss_stop
echo "PASS: issuer selectors"
