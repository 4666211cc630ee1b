#!/bin/sh
# SPDX-License-Identifier: ISC
# issuer_ocsp_signer.sh: the issuer can issue the OCSP responder's
# delegated signing certificate from configuration alone, as
# docs/issuer.md describes: an ocsp_signer profile whose extensions are
# keyUsage digitalSignature, extendedKeyUsage OCSPSigning (critical) and
# id-pkix-ocsp-nocheck (RFC 6960 4.2.2.2.1). openssl must show those
# extensions, accept the certificate for the OCSP helper purpose, and a
# token for the server profile must not be able to ask for it.
# A renewal keeps the profile the log recorded (issue 15): renewing the OCSP
# signer gives an OCSP signer again (it used to give a server certificate,
# which broke the responder), and a certificate whose profile is not
# recorded is not renewed under a profile that would widen its purposes.
# The documented way works end to end (issue 15): carapace request makes
# the signer's key inside the HSM (--key pkcs11:...), and carapace-ocsp
# signs with it; openssl ocsp verifies the answers through it.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"
. "$S/tests/integration/issuer_common.sh"

# NCONF: a key given twice in a section keeps its last value, and a
# section named twice is one section.
ISS_ISSUER_CONF='profiles = server, ocsp_signer'
ISS_EXTRA_CONF='[ocsp_signer]
max_lifetime     = 7d
default_lifetime = 2d
key_types        = ec-p256 ec-p384
extensions       = ocsp_signer_ext

[ocsp_signer_ext]
keyUsage         = critical,digitalSignature
extendedKeyUsage = critical,OCSPSigning
noCheck          = ignored

[policy_joinToken]
profiles = server, ocsp_signer'
iss_setup
iss_start

N=ocsp.example.internal
token "$T/tok" "$N" -- --profile ocsp_signer --ttl 1h
car_ok "request under the ocsp_signer profile" request -s "$URL" \
    --token-file "$T/tok" --name "$N" --key-out "$T/ocsp.key" \
    --cert-out "$T/ocsp.pem"

openssl verify -CAfile "$CA/root.pem" -untrusted "$CA/intermediate.pem" \
    -purpose ocsphelper "$T/ocsp.pem" >"$T/verify.out" 2>&1 ||
    { cat "$T/verify.out" >&2; fail "openssl verify -purpose ocsphelper refuses it"; }
ok "openssl verify -purpose ocsphelper: the certificate chains to root.pem"

openssl x509 -in "$T/ocsp.pem" -noout -text >"$T/x509.txt" ||
    fail "openssl x509 cannot read the certificate"
grep -A1 'X509v3 Extended Key Usage: critical' "$T/x509.txt" |
    grep -q 'OCSP Signing' || fail "no critical extendedKeyUsage OCSPSigning"
grep -q 'OCSP No Check' "$T/x509.txt" || fail "no id-pkix-ocsp-nocheck extension"
grep -A1 'X509v3 Key Usage: critical' "$T/x509.txt" |
    grep -q 'Digital Signature' || fail "no critical keyUsage digitalSignature"
grep -q 'CA:FALSE' "$T/x509.txt" || fail "basicConstraints is not CA:FALSE"
grep -A1 'Subject Alternative Name' "$T/x509.txt" | grep -q "DNS:$N" ||
    fail "the subjectAltName is not DNS:$N"
ok "extensions: keyUsage, extendedKeyUsage OCSPSigning (critical), OCSP No Check, CA:FALSE"

# Lifetime: the profile's default, 2 days (the server profile gives 1 h).
nb=$(date -d "$(openssl x509 -in "$T/ocsp.pem" -noout -startdate | cut -d= -f2)" +%s)
na=$(date -d "$(openssl x509 -in "$T/ocsp.pem" -noout -enddate | cut -d= -f2)" +%s)
life=$((na - nb))
[ "$life" -ge 172000 ] && [ "$life" -le 173000 ] ||
    fail "lifetime is $life s, expected the profile's 2 days"
ok "lifetime $life s (the ocsp_signer profile's default)"

# A token for the server profile gives a server certificate, never an
# OCSP signer: the token decides the profile.
token "$T/tok2" "other.example.internal"
car_ok "request with a server-profile token" request -s "$URL" \
    --token-file "$T/tok2" --name other.example.internal \
    --key-out "$T/k2.pem" --cert-out "$T/c2.pem"
openssl x509 -in "$T/c2.pem" -noout -text | grep -q 'OCSP Signing' &&
    fail "a server-profile token produced an OCSP signing certificate"
ok "a server-profile token gets a server certificate"

# --- renewal keeps the profile --------------------------------------------------
[ "$(sql "SELECT profile FROM certificates WHERE status = 'issued' ORDER BY id LIMIT 1")" = ocsp_signer ] ||
    fail "the log did not record the ocsp_signer profile"
car_ok "renew the OCSP signer" renew -s "$URL" --cert "$T/ocsp.pem" \
    --key "$T/ocsp.key" --cert-out "$T/ocsp2.pem"
openssl x509 -in "$T/ocsp2.pem" -noout -text >"$T/x509.txt"
grep -A1 'X509v3 Extended Key Usage: critical' "$T/x509.txt" |
    grep -q 'OCSP Signing' && grep -q 'OCSP No Check' "$T/x509.txt" ||
    { cat "$T/x509.txt" >&2; fail "the renewed OCSP signer lost OCSPSigning or nocheck"; }
grep -q 'TLS Web Server Authentication' "$T/x509.txt" &&
    fail "the renewed OCSP signer became a server certificate"
openssl verify -CAfile "$CA/root.pem" -untrusted "$CA/intermediate.pem" \
    -purpose ocsphelper "$T/ocsp2.pem" >/dev/null 2>&1 ||
    fail "openssl verify -purpose ocsphelper refuses the renewed signer"
ok "renewing the OCSP signer gives an OCSP signer (OCSPSigning, nocheck)"

# Without a recorded profile (a log from before schema 4), the renewal
# profile (server) would add serverAuth/clientAuth: refused, nothing changed.
iss_stop
sqlite3 "$DB" "UPDATE certificates SET profile = NULL WHERE serial = x'$(serial_of "$T/ocsp2.pem")'" ||
    fail "could not clear the recorded profile"
iss_start
log_state >"$T/state0"
car_refused "renewal that would widen the EKU" 1 \
    'policy: .*renewing under profile server would give the new certificate a wider (extendedKeyUsage|keyUsage)' \
    renew -s "$URL" --cert "$T/ocsp2.pem" --key "$T/ocsp.key" --cert-out "$T/ocsp3.pem"
[ ! -e "$T/ocsp3.pem" ] || fail "a refused renewal wrote a certificate"
assert_unchanged "renewal that would widen the EKU" "$T/state0"

# --- the signer's key made in the HSM, used by carapace-ocsp ----------------------
OCSPD=$B/ocsp/carapace-ocsp
RKEY="pkcs11:token=carapace-issuer;object=ocsp-signer-hsm"
token "$T/tok3" "$N" -- --profile ocsp_signer --ttl 1h
# The PIN from the environment: read once although the key is first
# looked for, then made, then opened (an env: source is unset once read).
CARAPACE_SIGNER_PIN=$(cat "$CA/pins/carapace-issuer.pin")
export CARAPACE_SIGNER_PIN
car_ok "request with a key made in the HSM" request -s "$URL" \
    --token-file "$T/tok3" --name "$N" --key "$RKEY" \
    --module "$SOFTHSM2_MODULE" --pin-source env:CARAPACE_SIGNER_PIN \
    --cert-out "$T/ocsp-hsm.pem"
unset CARAPACE_SIGNER_PIN
grep -q "generated a ec-p256 key in the HSM" "$T/car.err" ||
    fail "carapace did not say it generated the key in the HSM"
CARAPACE_USER_PIN=$(cat "$CA/pins/carapace-issuer.pin") \
    pkcs11-tool --module "$SOFTHSM2_MODULE" --token-label carapace-issuer \
    --login --pin env:CARAPACE_USER_PIN --list-objects --type privkey \
    >"$T/objs.txt" 2>&1 || { cat "$T/objs.txt" >&2; fail "pkcs11-tool --list-objects"; }
grep -A6 'label: *ocsp-signer-hsm' "$T/objs.txt" | grep -q 'never extractable' ||
    { cat "$T/objs.txt" >&2; fail "the signer's key is not a never-extractable HSM key"; }
token "$T/tok4" leaf.example.internal
car_ok "a leaf to ask about" request -s "$URL" --token-file "$T/tok4" \
    --name leaf.example.internal --key-out "$T/leaf.key" --cert-out "$T/leaf.pem"
OPORT=$(free_port)
{
	echo "[ocsp]"
	echo "listen  = http://127.0.0.1:$OPORT"
	echo "path    = /ocsp"
	echo "log     = $DB"
	echo "module  = $SOFTHSM2_MODULE"
	echo "issuers = issuing_ca"
	echo
	echo "[issuing_ca]"
	echo "cert           = $CA/intermediate.pem"
	echo "responder_cert = $T/ocsp-hsm.pem"
	echo "key            = $RKEY"
	echo "pin_source     = file:$CA/pins/carapace-issuer.pin"
} >"$T/ocsp.cnf"
"$OCSPD" -n -c "$T/ocsp.cnf" >"$T/ocspn.out" 2>&1 ||
    { cat "$T/ocspn.out" >&2; fail "carapace-ocsp -n refuses the HSM-made signer"; }
"$OCSPD" -c "$T/ocsp.cnf" >"$T/ocspd.out" 2>&1 &
opid=$!
i=0
until grep -q "listening on" "$T/ocspd.out" 2>/dev/null; do
	kill -0 "$opid" 2>/dev/null || { cat "$T/ocspd.out" >&2; fail "carapace-ocsp exited"; }
	i=$((i + 1))
	[ $i -lt 100 ] || { kill "$opid"; fail "carapace-ocsp did not start"; }
	sleep 0.1
done
openssl ocsp -url "http://127.0.0.1:$OPORT/ocsp" -CAfile "$CA/root.pem" \
    -issuer "$CA/intermediate.pem" -verify_other "$CA/intermediate.pem" \
    -cert "$T/leaf.pem" -no_nonce >"$T/q.out" 2>&1 || :
grep -q "^$T/leaf.pem: good" "$T/q.out" && grep -q "Response verify OK" "$T/q.out" ||
    { cat "$T/q.out" >&2; kill "$opid"; fail "openssl ocsp: not good, or not verified through the HSM-made signer"; }
ok "carapace-ocsp signs with the key carapace request made in the HSM; openssl ocsp verifies"

# Renewing the signer is ordinary: carapace renew with the HSM key (the
# renewal keeps the ocsp_signer profile), the new certificate moved over
# responder_cert, and carapace-ocsp picks it up without a restart.
car_ok "renew the HSM-held signer" renew -s "$URL" --cert "$T/ocsp-hsm.pem" \
    --key "$RKEY" --module "$SOFTHSM2_MODULE" \
    --pin-source "file:$CA/pins/carapace-issuer.pin" --cert-out "$T/ocsp-hsm2.pem"
openssl x509 -in "$T/ocsp-hsm2.pem" -noout -text | grep -q 'OCSP Signing' ||
    fail "the renewed HSM-held signer is not an OCSP signer"
cp "$T/ocsp-hsm2.pem" "$T/ocsp-hsm.pem.new"
mv "$T/ocsp-hsm.pem.new" "$T/ocsp-hsm.pem"
i=0
until grep -q "renewed signing certificate in use" "$T/ocspd.out" 2>/dev/null; do
	i=$((i + 1))
	[ $i -lt 100 ] || { cat "$T/ocspd.out" >&2; kill "$opid"; fail "carapace-ocsp did not pick up the renewed signer"; }
	sleep 0.1
done
openssl ocsp -url "http://127.0.0.1:$OPORT/ocsp" -CAfile "$CA/root.pem" \
    -issuer "$CA/intermediate.pem" -verify_other "$CA/intermediate.pem" \
    -cert "$T/leaf.pem" -no_nonce -resp_text >"$T/q2.out" 2>&1 || :
grep -q "^$T/leaf.pem: good" "$T/q2.out" && grep -q "Response verify OK" "$T/q2.out" &&
    grep -qi "$(openssl x509 -in "$T/ocsp-hsm2.pem" -noout -serial | cut -d= -f2 | sed 's/../&:/g; s/:$//')" "$T/q2.out" ||
    { cat "$T/q2.out" >&2; kill "$opid"; fail "openssl ocsp: the answer is not signed under the renewed certificate"; }
ok "carapace renew --key pkcs11:... renews the signer; carapace-ocsp uses it without a restart"
kill -TERM "$opid"
wait "$opid" || :

certs_in_log "$T/ocsp.pem" "$T/c2.pem" "$T/ocsp2.pem" "$T/ocsp-hsm.pem"
iss_stop
echo "PASS: issuer ocsp_signer profile"
