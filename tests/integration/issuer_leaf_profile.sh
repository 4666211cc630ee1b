#!/bin/sh
# SPDX-License-Identifier: ISC
# issuer_leaf_profile.sh: what a leaf profile gives, as relying parties
# read it (issue 15).
# Lifetimes run from now: with the profile's 5-minute backdate, a 90 s
# certificate is valid for 90 s from issuance (it used to be expired on
# arrival), and the default hour is a full hour.
# A CSR with an empty subject and a SAN (RFC 5280 4.2.1.6) is issued (the
# sanitizer build once aborted on it).
# keyUsage follows the key type. The same
# profile (keyUsage digitalSignature, EKU serverAuth) gives an RSA leaf
# digitalSignature and keyEncipherment and an EC leaf digitalSignature
# only, and relying parties nobody here wrote accept both as TLS server
# certificates: NSS's vfychain (which refused the RSA leaf with -8102,
# SEC_ERROR_INADEQUATE_KEY_USAGE, before), and a GnuTLS TLS 1.2 handshake
# with RSA key exchange (gnutls-serv and gnutls-cli).

. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"
. "$S/tests/integration/issuer_common.sh"

for p in vfychain gnutls-serv gnutls-cli; do
	command -v "$p" >/dev/null || fail "$p is not installed (scripts/install-deps)"
done

# A second profile whose keyUsage leaves an EC key nothing (RFC 5480 3).
ISS_ISSUER_CONF="profiles = server, kx"
ISS_EXTRA_CONF="[kx]
max_lifetime = 1h
key_types    = ec-p256 rsa-2048
extensions   = kx_ext

[kx_ext]
keyUsage = critical,keyEncipherment

[policy_joinToken]
profiles = server, kx"
iss_setup
sed -i 's/^default_lifetime = 1h$/&\nbackdate         = 5m/' "$CA/issuer.cnf"
grep -q '^backdate         = 5m$' "$CA/issuer.cnf" || fail "could not add the backdate"
iss_start

# leaf TYPE NAME: a certificate for NAME with a key of TYPE.
leaf() {
	token "$T/tok-$1" "$2"
	car_ok "request ($1)" request -s "$URL" --token-file "$T/tok-$1" \
	    --name "$2" --key-type "$1" --key-out "$T/$1.key" \
	    --cert-out "$T/$1.pem"
}
leaf rsa-2048 rsa.example.internal
leaf ec-p256 ec.example.internal
token "$T/tok-short" short.example.internal
car_ok "request --lifetime 90s" request -s "$URL" --token-file "$T/tok-short" \
    --name short.example.internal --lifetime 90s --key-out "$T/short.key" \
    --cert-out "$T/short.pem"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$T/empty.key" -subj "/" -addext "subjectAltName=DNS:empty.example.internal" \
    -out "$T/empty.csr" 2>>"$T/openssl.log" || fail "openssl req (empty subject)"
token "$T/tok-empty" empty.example.internal
"$RACE" issue "$URL" "$T/tok-empty" "$T/empty.csr" >"$T/race.out" 2>&1 ||
    { cat "$T/race.out" >&2; fail "a CSR with an empty subject and a SAN was refused"; }
[ "$(sql "SELECT count(*) FROM certificates WHERE names = 'DNS:empty.example.internal' AND status = 'issued' AND coalesce(subject, '') = ''")" = 1 ] ||
    fail "the empty-subject certificate is not in the log with an empty subject"
ok "a CSR with an empty subject and a SAN is issued"
# Refused before a serial is reserved: nothing abandoned, token unused.
token "$T/tok-kx" kx.example.internal -- --profile kx --ttl 1h
log_state >"$T/state0"
car_refused "an EC key under a keyEncipherment-only profile" 1 \
    'policy: profile kx: its keyUsage leaves nothing this key type may do' \
    request -s "$URL" --token-file "$T/tok-kx" --name kx.example.internal \
    --key-out "$T/kx.key" --cert-out "$T/kx.pem"
assert_unchanged "an EC key under a keyEncipherment-only profile" "$T/state0"
iss_stop

# epoch FILE FIELD: the certificate's notBefore or notAfter, in seconds.
epoch() {
	date -d "$(openssl x509 -in "$1" -noout "-$2" | cut -d= -f2)" +%s
}
now=$(date +%s)
nb=$(epoch "$T/short.pem" startdate)
na=$(epoch "$T/short.pem" enddate)
[ $((now - nb)) -ge 290 ] && [ $((now - nb)) -le 330 ] ||
    fail "short.pem: notBefore is $((now - nb)) s ago, not the 5-minute backdate"
[ $((na - now)) -ge 60 ] && [ $((na - now)) -le 91 ] ||
    fail "short.pem: notAfter is $((na - now)) s from now, not about 90 s"
openssl x509 -in "$T/short.pem" -noout -checkend 45 >/dev/null ||
    fail "openssl: short.pem expires within 45 s"
na=$(epoch "$T/ec-p256.pem" enddate)
[ $((na - now)) -ge 3500 ] ||
    fail "ec-p256.pem: the default 1h lifetime leaves $((na - now)) s"
ok "lifetimes run from now: 90 s with a 5-minute backdate, and a full default hour"

openssl x509 -in "$T/rsa-2048.pem" -noout -ext keyUsage >"$T/ku.txt"
grep -q '^ *Digital Signature, Key Encipherment$' "$T/ku.txt" ||
    { cat "$T/ku.txt" >&2; fail "the RSA leaf's keyUsage is not digitalSignature, keyEncipherment"; }
openssl x509 -in "$T/ec-p256.pem" -noout -ext keyUsage >"$T/ku.txt"
grep -q '^ *Digital Signature$' "$T/ku.txt" ||
    { cat "$T/ku.txt" >&2; fail "the EC leaf's keyUsage is not digitalSignature alone"; }
ok "keyUsage: RSA digitalSignature + keyEncipherment, EC digitalSignature"

# NSS, as a TLS server certificate (usage 1), the root trusted explicitly.
for k in rsa-2048 ec-p256; do
	vfychain -pp -u 1 -a "$T/$k.pem" -a "$CA/intermediate.pem" -t -a "$CA/root.pem" \
	    >"$T/vfy.out" 2>&1 ||
	    { cat "$T/vfy.out" >&2; fail "NSS vfychain refuses the $k leaf as a TLS server certificate"; }
	grep -q 'Chain is good' "$T/vfy.out" ||
	    { cat "$T/vfy.out" >&2; fail "vfychain did not say the $k chain is good"; }
done
ok "NSS vfychain -u 1 (SSL server): both chains are good"

# GnuTLS: TLS 1.2 with RSA key exchange, which needs keyEncipherment.
cat "$T/rsa-2048.pem" "$CA/intermediate.pem" >"$T/rsa-chain.pem"
PRIO='NORMAL:-KX-ALL:+RSA:-VERS-ALL:+VERS-TLS1.2'
port=$(free_port)
gnutls-serv --x509certfile "$T/rsa-chain.pem" --x509keyfile "$T/rsa-2048.key" \
    --priority "$PRIO" -p "$port" >"$T/serv.out" 2>&1 &
spid=$!
i=0
ok_tls=
while [ $i -lt 50 ]; do
	if echo | gnutls-cli --x509cafile "$CA/root.pem" --priority "$PRIO" \
	    --verify-hostname rsa.example.internal -p "$port" 127.0.0.1 \
	    >"$T/cli.out" 2>&1; then
		ok_tls=1
		break
	fi
	grep -q 'Connection refused\|Could not connect' "$T/cli.out" || break
	sleep 0.2
	i=$((i + 1))
done
kill "$spid" 2>/dev/null || :
wait "$spid" 2>/dev/null || :
[ -n "$ok_tls" ] && grep -qF '(TLS1.2-X.509)-(RSA)-' "$T/cli.out" ||
    { cat "$T/cli.out" >&2; fail "GnuTLS: no TLS 1.2 RSA key exchange with the RSA leaf"; }
ok "GnuTLS: TLS 1.2 handshake with RSA key exchange and the RSA leaf"
