#!/bin/sh
# SPDX-License-Identifier: ISC
# issuer_check.sh: carapace-issuer -n checks the configuration, the key,
# the profiles and the log without writing anything or listening, and
# warns about OCSP and CRL URLs only this host can reach (loopback,
# link-local, file:). A profile may carry an AIA caIssuers URL, which then
# appears in the certificates it issues; a malformed URL is refused with a
# message that quotes it (issue 19).

. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"
. "$S/tests/integration/issuer_common.sh"

NAME=node1.example.internal

# A first profile with public URLs and caIssuers, a second with local ones.
ISS_ISSUER_CONF="profiles = server, local"
ISS_EXTRA_CONF="[local]
max_lifetime = 1h
extensions   = local_ext

[local_ext]
basicConstraints      = critical,CA:FALSE
keyUsage              = critical,digitalSignature
extendedKeyUsage      = serverAuth
authorityInfoAccess   = OCSP;URI:http://127.0.0.1:8080/, caIssuers;URI:http://[fe80::1]/ica.crt
crlDistributionPoints = URI:file:///var/lib/carapace/crl/intermediate.crl"
iss_setup
# The shared setup writes one [server] profile; give it public URLs.
sed -i 's|^extendedKeyUsage = serverAuth,clientAuth$|&\nauthorityInfoAccess = OCSP;URI:http://ocsp.example.internal/, caIssuers;URI:http://pki.example.internal/issuing-ca-1.crt\ncrlDistributionPoints = URI:http://pki.example.internal/issuing-ca-1.crl|' \
    "$CA/issuer.cnf"
grep -q '^authorityInfoAccess = OCSP;URI:http://ocsp' "$CA/issuer.cnf" ||
    fail "could not add the public URLs to [server_ext]"
# One profile section per name; the duplicate "profiles" line must go.
sed -i '0,/^profiles      = server$/{/^profiles      = server$/d}' "$CA/issuer.cnf"
log_state >"$T/state0"

# check CNF: run carapace-issuer -n; sets $rc, output in $T/check.out.
check() {
	rc=0
	"$ISSUER" -c "$1" -n >"$T/check.out" 2>&1 || rc=$?
}

check "$CA/issuer.cnf"
[ $rc -eq 0 ] || { cat "$T/check.out" >&2; fail "-n refused a usable configuration"; }
grep -q 'configuration, key, profiles and log are usable (3 warnings)' "$T/check.out" ||
    { cat "$T/check.out" >&2; fail "-n did not count the three local URLs"; }
for u in 'http://127.0.0.1:8080/' 'http://\[fe80::1\]/ica.crt' \
    'file:///var/lib/carapace/crl/intermediate.crl'; do
	grep -q "\[local\]: $u is reachable only from this host" "$T/check.out" ||
	    { cat "$T/check.out" >&2; fail "-n did not warn about $u"; }
done
grep -q 'example.internal.*reachable only' "$T/check.out" &&
    fail "-n warned about a public URL"
grep -q 'listening on' "$T/check.out" && fail "-n bound a listener"
assert_unchanged "carapace-issuer -n" "$T/state0"
ok "-n: usable, with a warning for each local URL and none for public ones"

# A malformed URL is a configuration error (exit 2) that quotes it.
sed 's|^crlDistributionPoints = URI:http://pki.example.internal/issuing-ca-1.crl$|crlDistributionPoints = URI:pki.example.internal/issuing-ca-1.crl|' \
    "$CA/issuer.cnf" >"$CA/bad.cnf"
check "$CA/bad.cnf"
[ $rc -eq 2 ] && grep -q 'crlDistributionPoints: URI "pki.example.internal/issuing-ca-1.crl": not an absolute URI' \
    "$T/check.out" || { cat "$T/check.out" >&2; fail "-n: a URL without a scheme (exit $rc)"; }
ok "-n: a CRL URL without a scheme is refused, quoted"

# The daemon warns the same way, and the server profile's caIssuers URL
# reaches the certificate.
iss_start
grep -q '\[local\]: file:///var/lib/carapace/crl/intermediate.crl is reachable only' \
    "$T/issuer.err" || fail "carapace-issuer did not warn at startup"
token "$T/tok" "$NAME"
car_ok "request" request -s "$URL" --token-file "$T/tok" --name "$NAME" \
    --key-out "$T/leaf.key" --cert-out "$T/leaf.pem"
openssl x509 -in "$T/leaf.pem" -noout -ext authorityInfoAccess >"$T/aia.txt" 2>&1
grep -q 'CA Issuers - URI:http://pki.example.internal/issuing-ca-1.crt' "$T/aia.txt" ||
    { cat "$T/aia.txt" >&2; fail "the leaf has no caIssuers URL"; }
ok "the server profile's caIssuers URL is in the certificate"
iss_stop
ok "issuer_check: done"
