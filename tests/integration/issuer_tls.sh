#!/bin/sh
# SPDX-License-Identifier: ISC
# issuer_tls.sh: carapace-issuer on a tls+tcp:// listener, with a
# transport certificate made here by openssl (for DNS:localhost, from a
# transport CA that has nothing to do with the issuing CA). carapace
# request and renew work over it with --ca transport-ca.pem; openssl
# s_client agrees that the listener's certificate verifies. The wrong
# --ca, or a URL host the certificate does not name, fail with a TLS
# error and exit 1 (carapace(1)), and spend nothing.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"
. "$S/tests/integration/issuer_common.sh"

# --- transport certificates ------------------------------------------------

# mkca NAME: a self-signed P-256 CA in $T/NAME.pem, its key $T/NAME.key.
mkca() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$T/$1.key" -out "$T/$1.pem" -days 2 -subj "/CN=$1" \
	    -addext 'basicConstraints=critical,CA:TRUE' \
	    -addext 'keyUsage=critical,keyCertSign,cRLSign' \
	    >"$T/openssl.out" 2>&1 ||
	    { cat "$T/openssl.out" >&2; fail "openssl req: CA $1"; }
}
mkca transport-ca
mkca wrong-ca
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$T/transport.key" -out "$T/transport.csr" -subj /CN=localhost \
    >"$T/openssl.out" 2>&1 || { cat "$T/openssl.out" >&2; fail "openssl req: transport CSR"; }
chmod 600 "$T/transport.key"
printf '%s\n' 'subjectAltName=DNS:localhost' \
    'extendedKeyUsage=serverAuth' 'keyUsage=critical,digitalSignature' \
    'basicConstraints=critical,CA:FALSE' >"$T/transport.ext"
openssl x509 -req -in "$T/transport.csr" -CA "$T/transport-ca.pem" \
    -CAkey "$T/transport-ca.key" -CAcreateserial -days 2 \
    -extfile "$T/transport.ext" -out "$T/transport.pem" \
    >"$T/openssl.out" 2>&1 || { cat "$T/openssl.out" >&2; fail "openssl x509 -req: transport certificate"; }
ok "transport CA and a certificate for DNS:localhost made with openssl"

ISS_SCHEME=tls+tcp
ISS_HOST=localhost
ISS_ISSUER_CONF="tls_cert      = $T/transport.pem
tls_key       = $T/transport.key"

iss_setup
iss_start
case $URL in
tls+tcp://localhost:*) ;;
*) fail "iss_start: URL is $URL, expected tls+tcp://localhost:PORT" ;;
esac
grep -q "listening on tls+tcp://127.0.0.1:${URL##*:}" "$T/issuer.err" ||
    fail "carapace-issuer did not say it listens on tls+tcp://127.0.0.1:${URL##*:}"
PORT=${URL##*:}

# A TLS implementation nobody here wrote agrees with the listener.
openssl s_client -connect "127.0.0.1:$PORT" -CAfile "$T/transport-ca.pem" \
    -verify_hostname localhost -verify_return_error </dev/null \
    >"$T/s_client.out" 2>&1 ||
    { cat "$T/s_client.out" >&2; fail "openssl s_client: the listener's TLS does not verify"; }
grep -aq 'Verify return code: 0 (ok)' "$T/s_client.out" ||
    { cat "$T/s_client.out" >&2; fail "openssl s_client: no 'Verify return code: 0 (ok)'"; }
ok "openssl s_client: the listener's certificate verifies for localhost ($(grep -a -m1 -o 'TLSv1\.[23]' "$T/s_client.out" || echo TLS))"

N1=tls1.example.internal

# --- the wrong CA, the wrong host, no CA: refused here, nothing spent ------

token "$T/tok1" "$N1"
log_state >"$T/state.before"
car_refused "request with the wrong --ca" 1 'TLS handshake failed.*wrong-ca.pem' \
    request -s "$URL" --ca "$T/wrong-ca.pem" --token-file "$T/tok1" \
    --name "$N1" --key-out "$T/kx.pem" --cert-out "$T/cx.pem"
[ ! -e "$T/kx.pem" ] && [ ! -e "$T/cx.pem" ] || fail "the wrong --ca left files behind"
car_refused "request to a host the certificate does not name" 1 'TLS handshake failed' \
    request -s "tls+tcp://127.0.0.1:$PORT" --ca "$T/transport-ca.pem" \
    --token-file "$T/tok1" --name "$N1" --key-out "$T/kx.pem" \
    --cert-out "$T/cx.pem"
car_refused "request over tls+tcp:// without --ca" 2 'needs --ca' \
    request -s "$URL" --token-file "$T/tok1" --name "$N1" \
    --key-out "$T/kx.pem" --cert-out "$T/cx.pem"
car_refused "request with the issuing root as --ca" 1 'TLS handshake failed' \
    request -s "$URL" --ca "$CA/root.pem" --token-file "$T/tok1" \
    --name "$N1" --key-out "$T/kx.pem" --cert-out "$T/cx.pem"
assert_unchanged "TLS failures" "$T/state.before"
car_ok "token list" token list -S "$OPS"
grep 'id-tok1' "$T/car.stdout" | grep -q active ||
    fail "the join token is not active after the TLS failures"
ok "the join token is still unused"

# --- request and renew over TLS --------------------------------------------

car_ok "carapace request over tls+tcp://localhost" request -s "$URL" \
    --ca "$T/transport-ca.pem" --token-file "$T/tok1" --name "$N1" \
    --key-out "$T/k1.pem" --cert-out "$T/c1.pem" --chain-out "$T/chain1.pem"
openssl verify -CAfile "$CA/root.pem" -untrusted "$T/chain1.pem" \
    "$T/c1.pem" >"$T/verify.out" 2>&1 ||
    { cat "$T/verify.out" >&2; fail "openssl verify refuses c1.pem"; }
ok "openssl verify: c1.pem chains to root.pem"

car_refused "renew with the wrong --ca" 1 'TLS handshake failed' \
    renew -s "$URL" --ca "$T/wrong-ca.pem" --cert "$T/c1.pem" \
    --key "$T/k1.pem" --chain "$T/chain1.pem" --cert-out "$T/c2.pem"
car_ok "carapace renew over tls+tcp://localhost" renew -s "$URL" \
    --ca "$T/transport-ca.pem" --cert "$T/c1.pem" --key "$T/k1.pem" \
    --chain "$T/chain1.pem" --new-key --key-out "$T/k2.pem" \
    --cert-out "$T/c2.pem"
openssl verify -CAfile "$CA/root.pem" -untrusted "$CA/intermediate.pem" \
    "$T/c2.pem" >"$T/verify.out" 2>&1 ||
    { cat "$T/verify.out" >&2; fail "openssl verify refuses c2.pem"; }
[ "$(serial_of "$T/c1.pem")" != "$(serial_of "$T/c2.pem")" ] ||
    fail "the renewal has the old serial"
san=$(openssl x509 -in "$T/c2.pem" -noout -ext subjectAltName | sed -n 2p | sed 's/^ *//')
[ "$san" = "DNS:$N1" ] || fail "c2.pem: subjectAltName '$san', expected DNS:$N1"
ok "the renewal over TLS verifies and carries DNS:$N1"
certs_in_log "$T/c1.pem" "$T/c2.pem"

iss_stop
