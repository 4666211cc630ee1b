#!/bin/sh
# SPDX-License-Identifier: ISC
# issuer_weak_keys.sh: keys that prove nothing, or that anyone can break,
# are refused by the running issuer with a message that names the rule,
# and nothing changes in the issuance log (no row, no abandoned serial, no
# consumed token):
#  - a CSR whose RSA key has public exponent 1 and whose "signature" is the
#    padded digest (openssl req -verify accepts it: the forgery is real);
#  - correctly signed CSRs for a ROCA-shaped key and for a key whose primes
#    are close (Fermat);
#  - an EC CSR with explicit curve parameters (refused at the CSR step,
#    not at signing);
#  - a CSR whose RSA key is in the configured blocklist, in the format of
#    Debian's openssl-blacklist (the fingerprint is computed here with
#    openssl and sha1sum, as openssl-vulnkey did);
#  - x509pop evidence whose device certificate carries an e = 1 key.
# The one join token used throughout still works at the end.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"
. "$S/tests/integration/issuer_common.sh"

WEAK=$B/tests/tools/weak_csr
[ -x "$WEAK" ] || fail "$WEAK: not built (make tests/tools/weak_csr)"
NAME=node1.example.internal
mkdir "$T/w"

# --- the requests --------------------------------------------------------------
"$WEAK" e1 "$NAME" "$T/w/e1.csr" "$T/w/e1pub.pem" || fail "weak_csr e1"
"$WEAK" roca "$NAME" "$T/w/roca.csr" || fail "weak_csr roca"
"$WEAK" fermat "$NAME" "$T/w/fermat.csr" || fail "weak_csr fermat"
openssl req -verify -noout -in "$T/w/e1.csr" >"$T/w/verify.out" 2>&1 ||
    { cat "$T/w/verify.out" >&2; fail "openssl does not accept the e = 1 CSR"; }
openssl rsa -pubin -in "$T/w/e1pub.pem" -noout -text 2>/dev/null |
    grep -q 'Exponent: 1 (0x1)' || fail "e1pub.pem: the exponent is not 1"
ok "openssl req -verify accepts the forged e = 1 CSR"

csr() {
	out=$1
	shift
	openssl req -new "$@" -nodes -keyout "$T/w/junk.key" -subj "/CN=$NAME" \
	    -addext "subjectAltName=DNS:$NAME" -out "$out" \
	    2>>"$T/openssl.log" || fail "openssl req $*"
}
csr "$T/w/explicit.csr" -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
    -pkeyopt ec_param_enc:explicit
csr "$T/w/blocked.csr" -newkey rsa:2048
csr "$T/w/good.csr" -newkey rsa:2048

# The blocklist: a Debian-style header, a few unrelated entries, and the
# last 20 hex digits of SHA-1("Modulus=HEX\n") for blocked.csr's key.
{
	echo "# test blocklist in the format of openssl-blacklist"
	echo "0123456789abcdef0123"
	openssl req -in "$T/w/blocked.csr" -noout -modulus | sha1sum |
	    cut -c21-40
	echo "fedcba9876543210fedc"
} >"$T/w/blacklist.RSA-2048"

# --- a device maker whose certificate carries the e = 1 key ----------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$T/w/devca.key" -subj "/O=Test/CN=Weak Device Maker CA" -days 30 \
    -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign,cRLSign \
    -out "$T/devca.pem" 2>>"$T/openssl.log" || fail "openssl: device CA"
printf 'subjectAltName = DNS:%s\nbasicConstraints = CA:FALSE\nkeyUsage = critical,digitalSignature\n' \
    d1.devices.example.internal >"$T/w/ext"
openssl x509 -req -in "$T/w/good.csr" -force_pubkey "$T/w/e1pub.pem" \
    -CA "$T/devca.pem" -CAkey "$T/w/devca.key" -set_serial 0xd1 -days 30 \
    -extfile "$T/w/ext" -out "$T/w/dev-e1.pem" 2>>"$T/openssl.log" ||
    fail "openssl x509 -force_pubkey (the e = 1 device certificate)"
openssl verify -CAfile "$T/devca.pem" "$T/w/dev-e1.pem" >/dev/null 2>&1 ||
    fail "openssl refuses the e = 1 device certificate"

ISS_ISSUER_CONF="weak_keys = $T/w/blacklist.RSA-2048"
iss_setup "$T/devca.pem"
iss_start
grep -q 'weak key blocklists: 3 fingerprints from 1 files' "$T/issuer.err" ||
    fail "carapace-issuer did not report the blocklist it loaded"

token "$T/tok1" "$NAME"
log_state >"$T/state0"

# refused_race DESC PATTERN race_client-ARGS...: race_client's answer
# matches PATTERN and the log did not change.
refused_race() {
	desc=$1 pattern=$2
	shift 2
	r=0
	"$RACE" "$@" >"$T/race.out" 2>&1 || r=$?
	if [ $r -ne 1 ] || ! grep -Eq -- "$pattern" "$T/race.out"; then
		cat "$T/race.out" >&2
		fail "$desc: expected /$pattern/, race_client exited $r"
	fi
	assert_unchanged "$desc" "$T/state0"
	ok "$desc: $(grep -E -m1 -- "$pattern" "$T/race.out")"
}

refused_race "RSA e = 1, forged signature" \
    '^policy: CSR key: RSA public exponent 1 is refused.*proves no private key' \
    issue "$URL" "$T/tok1" "$T/w/e1.csr"
refused_race "ROCA-shaped RSA key" '^policy: CSR key: .*ROCA, CVE-2017-15361' \
    issue "$URL" "$T/tok1" "$T/w/roca.csr"
refused_race "RSA key with close primes" "^policy: CSR key: .*Fermat's method" \
    issue "$URL" "$T/tok1" "$T/w/fermat.csr"
refused_race "EC key with explicit curve parameters" \
    '^policy: CSR key: EC key with explicit curve parameters.*RFC 5480' \
    issue "$URL" "$T/tok1" "$T/w/explicit.csr"
refused_race "RSA key in the Debian-format blocklist" \
    '^policy: CSR key: RSA key is in the weak key blocklist' \
    issue "$URL" "$T/tok1" "$T/w/blocked.csr"
refused_race "x509pop device certificate with an e = 1 key" \
    '^badAttestation: x509pop: chain\[0\] \(the leaf\) key: RSA public exponent 1' \
    replay "$URL" "$T/w/dev-e1.pem" "$T/w/junk.key" d1.devices.example.internal
[ "$(sql "SELECT count(*) FROM certificates WHERE status != 'issued'")" = 0 ] ||
    fail "a refused request left a reserved or abandoned serial"

# The token was never consumed: a sound RSA key gets its certificate.
"$RACE" issue "$URL" "$T/tok1" "$T/w/good.csr" >"$T/race.out" 2>&1 || {
	cat "$T/race.out" >&2
	fail "the sound RSA-2048 CSR was refused after the weak ones"
}
ok "the same token then issues for a sound RSA-2048 key"

iss_stop
ok "issuer_weak_keys: done"
