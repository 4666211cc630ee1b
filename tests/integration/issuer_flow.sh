#!/bin/sh
# SPDX-License-Identifier: ISC
# issuer_flow.sh: the whole life of a certificate, as issue 3's "Done
# when" describes it: a ceremony-signed intermediate in SoftHSM, then
# carapace-issuer, then carapace request with a join token, carapace renew
# (x509pop, same key and then a new key), carapace revoke, show, list and
# log verify. Certificates are checked with openssl and the log with
# sqlite3.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"
. "$S/tests/integration/issuer_common.sh"

iss_setup
iss_start

N1=web1.example.internal
N2=www.example.internal

# --- request with a join token --------------------------------------------

token "$T/tok1" "$N1" "$N2"
car_ok "token create" token list -S "$OPS"
grep -q "id-tok1" "$T/car.stdout" || fail "token list does not show id-tok1"

car_ok "carapace request with a join token" request -s "$URL" \
    --token-file "$T/tok1" --name "$N1" --name "$N2" \
    --lifetime 2h --key-out "$T/k1.pem" --cert-out "$T/c1.pem" \
    --chain-out "$T/chain1.pem"
[ "$(stat -c %a "$T/k1.pem")" = 600 ] || fail "k1.pem: mode $(stat -c %a "$T/k1.pem"), expected 600"

verify() {
	openssl verify -CAfile "$CA/root.pem" -untrusted "$CA/intermediate.pem" \
	    "$1" >"$T/verify.out" 2>&1 ||
	    { cat "$T/verify.out" >&2; fail "openssl verify refuses $1"; }
	openssl verify -CAfile "$CA/root.pem" -untrusted "$2" "$1" \
	    >"$T/verify.out" 2>&1 ||
	    { cat "$T/verify.out" >&2; fail "openssl verify refuses $1 with the chain the client wrote ($2)"; }
	ok "openssl verify: $(basename "$1") chains to root.pem"
}
verify "$T/c1.pem" "$T/chain1.pem"

# profile checks, by openssl's reading of the certificate
profile_check() {
	openssl x509 -in "$1" -noout -text >"$T/x509.txt"
	san=$(openssl x509 -in "$1" -noout -ext subjectAltName | sed -n 2p | sed 's/^ *//')
	[ "$san" = "DNS:$N1, DNS:$N2" ] ||
	    fail "$1: subjectAltName is '$san', expected 'DNS:$N1, DNS:$N2'"
	grep -A1 'X509v3 Basic Constraints: critical' "$T/x509.txt" |
	    grep -q 'CA:FALSE' || fail "$1: basicConstraints is not critical CA:FALSE"
	grep -A1 'X509v3 Key Usage: critical' "$T/x509.txt" |
	    grep -qx ' *Digital Signature' ||
	    fail "$1: keyUsage is not exactly critical digitalSignature"
	grep -A1 'X509v3 Extended Key Usage' "$T/x509.txt" |
	    grep -qx ' *TLS Web Server Authentication, TLS Web Client Authentication' ||
	    fail "$1: extendedKeyUsage is not serverAuth, clientAuth"
	grep -q 'X509v3 Subject Key Identifier' "$T/x509.txt" || fail "$1: no SKI"
	grep -q 'X509v3 Authority Key Identifier' "$T/x509.txt" || fail "$1: no AKI"
	openssl x509 -in "$1" -noout -issuer | grep -q 'Carapace Rehearsal Issuing CA 1' ||
	    fail "$1: not issued by the rehearsal's intermediate"
	# 128-bit random serial: at most 17 octets, positive
	s=$(serial_of "$1")
	[ ${#s} -ge 20 ] && [ ${#s} -le 34 ] || fail "$1: serial $s is not a 128-bit serial"
	nb=$(date -d "$(openssl x509 -in "$1" -noout -startdate | cut -d= -f2)" +%s)
	na=$(date -d "$(openssl x509 -in "$1" -noout -enddate | cut -d= -f2)" +%s)
	now=$(date +%s)
	life=$((na - now))
	[ $life -le $(($2 + 5)) ] && [ $life -ge $(($2 - 120)) ] ||
	    fail "$1: notAfter is $life s from now, expected about $2"
	[ $nb -le $now ] || fail "$1: notBefore is in the future"
	ok "$(basename "$1"): SAN, basicConstraints, KU, EKU, SKI/AKI, serial and lifetime as the profile says"
}
profile_check "$T/c1.pem" 7200

# the certificate holds the key the client wrote
pub() { openssl pkey -in "$1" -pubout 2>/dev/null || openssl x509 -in "$1" -noout -pubkey; }
[ "$(openssl x509 -in "$T/c1.pem" -noout -pubkey)" = "$(pub "$T/k1.pem")" ] ||
    fail "c1.pem does not certify the key in k1.pem"

# a join token is good once
car_refused "the same token again" 1 'tokenUsed|already used' request \
    -s "$URL" --token-file "$T/tok1" --name "$N1" --key-out "$T/k1b.pem" \
    --cert-out "$T/c1b.pem"
[ ! -e "$T/k1b.pem" ] && [ ! -e "$T/c1b.pem" ] ||
    fail "a refused request left k1b.pem or c1b.pem behind"

# --- renew (x509pop) --------------------------------------------------------

car_ok "carapace renew, same key" renew -s "$URL" --cert "$T/c1.pem" \
    --key "$T/k1.pem" --cert-out "$T/c2.pem" --chain-out "$T/chain2.pem"
verify "$T/c2.pem" "$T/chain2.pem"
profile_check "$T/c2.pem" 3600
[ "$(openssl x509 -in "$T/c2.pem" -noout -pubkey)" = "$(pub "$T/k1.pem")" ] ||
    fail "c2.pem (renewed without --new-key) does not certify k1.pem's key"
[ "$(serial_of "$T/c1.pem")" != "$(serial_of "$T/c2.pem")" ] ||
    fail "the renewed certificate has the old serial"

car_ok "carapace renew --new-key" renew -s "$URL" --cert "$T/c2.pem" \
    --key "$T/k1.pem" --new-key --key-out "$T/k3.pem" --cert-out "$T/c3.pem"
verify "$T/c3.pem" "$CA/intermediate.pem"
profile_check "$T/c3.pem" 3600
[ "$(openssl x509 -in "$T/c3.pem" -noout -pubkey)" = "$(pub "$T/k3.pem")" ] ||
    fail "c3.pem does not certify the new key k3.pem"
[ "$(pub "$T/k3.pem")" != "$(pub "$T/k1.pem")" ] || fail "--new-key kept the old key"

# --- revoke, show, list ---------------------------------------------------

S1=$(serial_of "$T/c1.pem")
S2=$(serial_of "$T/c2.pem")
S3=$(serial_of "$T/c3.pem")
car_ok "carapace revoke" revoke -S "$OPS" "$S1" --reason keyCompromise
car_ok "carapace show" show -S "$OPS" "$S1"
grep -Eq '^status: *revoked' "$T/car.stdout" || { cat "$T/car.out" >&2; fail "show: status is not revoked"; }
grep -Eiq '^reason: *keyCompromise' "$T/car.stdout" || { cat "$T/car.out" >&2; fail "show: reason is not keyCompromise"; }
grep -Eq '^revoked_at:' "$T/car.stdout" || fail "show: no revoked_at"
grep -Eiq "^serial: *(0x)?0*$(echo "$S1" | sed 's/^0*//')" "$T/car.stdout" ||
    fail "show: serial line is not $S1"
grep -Eq "^names:.*$N1" "$T/car.stdout" || fail "show: names do not list $N1"
grep -Eq '^requester: *id-tok1' "$T/car.stdout" || fail "show: requester is not id-tok1"
sed -n '/-----BEGIN CERTIFICATE-----/,/-----END CERTIFICATE-----/p' \
    "$T/car.stdout" >"$T/shown.pem"
openssl x509 -in "$T/shown.pem" -outform DER -out "$T/shown.der" 2>/dev/null ||
    fail "show: no certificate PEM"
openssl x509 -in "$T/c1.pem" -outform DER -out "$T/c1.der"
cmp -s "$T/shown.der" "$T/c1.der" ||
    fail "show: the PEM is not the certificate the client received"
[ "$(sql "SELECT status, revocation_reason FROM certificates WHERE ltrim(hex(serial), '0') = '$(echo "$S1" | sed 's/^0*//')'")" = "revoked|1" ] ||
    fail "the log does not have $S1 revoked for keyCompromise (reason 1)"
ok "show and the log agree: $S1 revoked, keyCompromise"

car_refused "renew with a revoked certificate" 1 'badAttestation|revoked' \
    renew -s "$URL" --cert "$T/c1.pem" --key "$T/k1.pem" --cert-out "$T/c4.pem"
[ ! -e "$T/c4.pem" ] || fail "a refused renewal left c4.pem behind"

car_ok "carapace list" list -S "$OPS"
for s in "$S1" "$S2" "$S3"; do
	grep -Eiq "^(0x)?0*$(echo "$s" | sed 's/^0*//') " "$T/car.stdout" ||
	    { cat "$T/car.out" >&2; fail "list does not show $s"; }
done
[ "$(grep -c . "$T/car.stdout")" -eq 3 ] || { cat "$T/car.out" >&2; fail "list shows other than 3 certificates"; }
car_ok "carapace list --status revoked" list -S "$OPS" --status revoked
[ "$(grep -c . "$T/car.stdout")" -eq 1 ] && grep -Eiq "revoked" "$T/car.stdout" ||
    { cat "$T/car.out" >&2; fail "list --status revoked does not show exactly $S1"; }

car_ok "token list after use" token list -S "$OPS"
grep "id-tok1" "$T/car.stdout" | grep -qi used || fail "token list does not show id-tok1 as used"

# --- the log ------------------------------------------------------------------

car_ok "carapace log verify (operator socket)" log verify -S "$OPS"
grep -Eq '^log verify: OK: [0-9]+ entries' "$T/car.stdout" ||
    { cat "$T/car.out" >&2; fail "log verify did not say OK"; }
certs_in_log "$T/c1.pem" "$T/c2.pem" "$T/c3.pem"
[ "$(sql "SELECT count(*) FROM certificates WHERE status IN ('issued','revoked')")" -eq 3 ] ||
    fail "the log has other than 3 certificates"
[ "$(sql "SELECT count(*) FROM certificates WHERE status = 'reserved'")" -eq 0 ] ||
    fail "the log has serials left reserved"
[ "$(sql "SELECT attestation FROM certificates ORDER BY id" | tr '\n' ' ')" = "join-token x509pop x509pop " ] ||
    fail "attestation methods in the log: $(sql "SELECT attestation FROM certificates ORDER BY id" | tr '\n' ' ')"
[ "$(sql "SELECT count(*) FROM join_tokens WHERE length(secret_hash) = 32")" -ge 1 ] ||
    fail "join_tokens does not hold a 32-byte hash"
if sqlite3 -readonly "$DB" .dump | grep -qF -- "$(cut -d. -f3 "$T/tok1")"; then
	fail "the log holds the token secret"
fi

iss_stop
[ "$(sqlite3 -readonly "$DB" 'PRAGMA integrity_check')" = ok ] || fail "integrity_check"
car_ok "carapace log verify --log (offline, read-only)" log verify --log "$DB"
grep -Eq '^log verify: OK' "$T/car.stdout" || fail "offline log verify did not say OK"
echo "PASS: issuer flow"
