# SPDX-License-Identifier: ISC
# ocsp_delegated.sh: carapace-ocsp signing with a delegated responder
# certificate (RFC 6960 4.2.2.2): a key generated inside the issuer's
# SoftHSM token, certified by the intermediate with id-kp-OCSPSigning and
# id-pkix-ocsp-nocheck. openssl ocsp must accept the responses (the
# responder certificate travels in them); a responder certificate without
# OCSPSigning must be refused at start.
# The intermediate here has keyUsage keyCertSign and cRLSign only, so its
# own key may not sign OCSP responses (RFC 5280 4.2.1.3): carapace-ocsp
# (and -n) must refuse that and name the delegated responder as the fix,
# which is then shown to work.

OCSP_CA_KEYUSAGE="critical, keyCertSign, cRLSign"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/ocsp_common.sh"

SERIAL=$(leaf_issue leaf)
responder_key_make

cert_for() {
	PKCS11_MODULE_PATH=$SOFTHSM2_MODULE openssl x509 -req -in "$T/resp.csr" \
	    -CA "$CA/intermediate.pem" -engine pkcs11 -CAkeyform engine \
	    -CAkey "$CAKEY_ENGINE" -set_serial "0x$2" -days 30 -sha256 \
	    -extfile "$T/$1.ext" -out "$T/$1.pem" >"$T/x509.out" 2>&1 ||
	    { cat "$T/x509.out"; fail "responder certificate $1"; }
}
cat >"$T/responder.ext" <<EOF
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = OCSPSigning
noCheck = ignored
authorityKeyIdentifier = keyid
EOF
cat >"$T/noeku.ext" <<EOF
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
noCheck = ignored
EOF
cert_for responder 5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a01
cert_for noeku 5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a02

openssl x509 -in "$CA/intermediate.pem" -noout -ext keyUsage |
    grep -q '^ *Certificate Sign, CRL Sign$' ||
    fail "the intermediate's keyUsage is not keyCertSign, cRLSign only"
PORT=1
ocsp_config "$T/cakey.cnf"
r=0
"$OCSP" -n -c "$T/cakey.cnf" >"$T/cakey.out" 2>&1 || r=$?
[ $r -ne 0 ] || fail "-n accepted signing with a CA key without digitalSignature"
grep -q "RFC 5280 4.2.1.3: the CA certificate's keyUsage lacks digitalSignature.*delegated responder (responder_cert" \
    "$T/cakey.out" || { cat "$T/cakey.out"; fail "-n does not say why, or what to do"; }
r=0
timeout 20 "$OCSP" -d -c "$T/cakey.cnf" >"$T/cakey.out" 2>&1 || r=$?
[ $r -ne 0 ] && [ $r -ne 124 ] && grep -q "lacks digitalSignature" "$T/cakey.out" ||
    { cat "$T/cakey.out"; fail "carapace-ocsp started with a CA key without digitalSignature"; }
ok "a CA key without digitalSignature: -n and the daemon refuse, naming responder_cert"

RESPONDER_CERT=$T/noeku.pem
RESPONDER_KEY=$RKEY
PORT=1
ocsp_config "$T/bad.cnf"
"$OCSP" -n -c "$T/bad.cnf" >"$T/bad.out" 2>&1 &&
    fail "a responder certificate without OCSPSigning was accepted"
grep -q "OCSPSigning" "$T/bad.out" || { cat "$T/bad.out"; fail "message does not say why"; }
ok "responder certificate without id-kp-OCSPSigning refused"

RESPONDER_CERT=$T/responder.pem
ocsp_start
grep -q "signed by $T/responder.pem" "$T/ocsp.log" || fail "not using the delegated certificate"
q -issuer "$CA/intermediate.pem" -verify_other "$CA/intermediate.pem" -cert "$T/leaf.pem"
grep -q "^$T/leaf.pem: good" "$T/q.out" || { cat "$T/q.out"; fail "delegated: not good"; }
grep -q "Response verify OK" "$T/q.out" || { cat "$T/q.out"; fail "delegated: no verify"; }
q -issuer "$CA/intermediate.pem" -verify_other "$CA/intermediate.pem" \
    -cert "$T/leaf.pem" -resp_text
grep -q "Carapace Test OCSP Responder" "$T/q.out" ||
    fail "the responder certificate is not in the response"
ok "delegated responder: good, verified through the responder certificate"

"$FILL" "$LOG" revoke "$SERIAL" 4 || fail "revoke"
sleep 0.9
q -issuer "$CA/intermediate.pem" -verify_other "$CA/intermediate.pem" -cert "$T/leaf.pem"
grep -q "^$T/leaf.pem: revoked" "$T/q.out" || { cat "$T/q.out"; fail "delegated: not revoked"; }
grep -q "Reason: superseded" "$T/q.out" || { cat "$T/q.out"; fail "delegated: reason"; }
ok "delegated responder: revoked (superseded) within a second"
ocsp_stop
