#!/bin/sh
# SPDX-License-Identifier: ISC
# issuer_refuse.sh: requests the issuer must refuse, each with a status
# that says why and with nothing changed in the issuance log: no new row,
# no event, no consumed token. Most of them spend one join token (tok1)
# that must still work at the end. Hostile CSRs are made by openssl and
# sent by race_client, so that carapace(1)'s own checks do not hide the
# server's; the x509pop cases use certificates made by openssl (a stranger
# CA, and a throwaway "device maker" CA configured as a device anchor).

. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"
. "$S/tests/integration/issuer_common.sh"

NAME=node1.example.internal

# --- a device maker's CA (an x509pop device anchor) and a stranger's CA -------

mkdir "$T/dev"
mkca() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$T/dev/$1.key" -subj "/O=Test/CN=$2" -days 30 \
	    -addext basicConstraints=critical,CA:TRUE \
	    -addext keyUsage=critical,keyCertSign,cRLSign \
	    -out "$T/dev/$1.pem" 2>>"$T/openssl.log" || fail "openssl: $1 CA"
}
mkca devca "Test Device Maker CA"
mkca stranger "Stranger CA"
cp "$T/dev/devca.pem" "$T/devca.pem"

# leaf CA FILE DNS [START END]: a P-256 leaf under CA for DNS (its CN and its
# one SAN), serial $SERIAL (hex) if set; with START/END (openssl ca dates,
# YYYYMMDDHHMMSSZ) made by openssl ca, so that it can be expired.
leaf() {
	printf 'subjectAltName = DNS:%s\nbasicConstraints = CA:FALSE\nkeyUsage = critical,digitalSignature\n' \
	    "$3" >"$T/dev/ext"
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$T/dev/$2.key" -subj "/CN=$3" -out "$T/dev/$2.csr" \
	    2>>"$T/openssl.log" || fail "openssl req $2"
	if [ $# -eq 3 ]; then
		openssl x509 -req -in "$T/dev/$2.csr" -CA "$T/dev/$1.pem" \
		    -CAkey "$T/dev/$1.key" -set_serial "0x${SERIAL:-1234}" -days 30 \
		    -extfile "$T/dev/ext" -out "$T/dev/$2.pem" \
		    2>>"$T/openssl.log" || fail "openssl x509 -req $2"
		return
	fi
	: >"$T/dev/index.txt"
	echo 1000 >"$T/dev/serial"
	cat >"$T/dev/ca.cnf" <<EOF
[ca]
default_ca = dca
[dca]
database = $T/dev/index.txt
new_certs_dir = $T/dev
serial = $T/dev/serial
default_md = sha256
policy = pol
unique_subject = no
[pol]
commonName = supplied
[ext]
subjectAltName = DNS:$3
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
EOF
	openssl ca -batch -config "$T/dev/ca.cnf" -cert "$T/dev/$1.pem" \
	    -keyfile "$T/dev/$1.key" -in "$T/dev/$2.csr" -startdate "$4" \
	    -enddate "$5" -extensions ext -notext -out "$T/dev/$2.pem" \
	    >>"$T/openssl.log" 2>&1 || fail "openssl ca $2"
}
# The device policy grants {serial}.devices.example.internal; openssl ca
# numbers dev2 from the serial file (1000).
SERIAL=d1 leaf devca dev1 d1.devices.example.internal
leaf devca dev2 1000.devices.example.internal 20200101000000Z 20200201000000Z
leaf stranger web9 web9.example.internal
openssl verify -CAfile "$T/dev/devca.pem" "$T/dev/dev2.pem" 2>&1 |
    grep -q 'expired' || fail "openssl does not see dev2.pem as expired"
openssl verify -CAfile "$T/dev/devca.pem" "$T/dev/dev1.pem" >/dev/null 2>&1 ||
    fail "openssl refuses dev1.pem"

# Allow core dumps (soft limit up to the hard one) so that the programs,
# not this shell, are what sets the limit to 0 below.
ulimit -S -c "$(ulimit -H -c)" 2>/dev/null || :
[ "$(ulimit -c)" != 0 ] ||
    echo "note: the hard core limit is 0: the core dump checks cannot fail" >&2

iss_setup "$T/devca.pem"
iss_start

# core_off PID WHAT: PID's "Max core file size" is 0 (secure_no_core_dumps).
core_off() {
	grep -Eq '^Max core file size +0 +0 ' "/proc/$1/limits" 2>/dev/null
}
core_off "$ISS_PID" || {
	cat "/proc/$ISS_PID/limits" >&2
	fail "carapace-issuer (holds the HSM PIN) may dump core"
}
ok "carapace-issuer: Max core file size 0"

token "$T/tok1" "$NAME"
[ "$(stat -c %a "$T/tok1")" = 600 ] ||
    fail "carapace token create --out wrote mode $(stat -c %a "$T/tok1"), not 600"
log_state >"$T/state0"

# The client, while it waits to read its token from a FIFO, already runs
# with core dumps off (it will hold the token secret and a new key).
rm -f "$T/tok_fifo"
mkfifo -m 600 "$T/tok_fifo"
"$CARAPACE" request -s "$URL" --token-file "$T/tok_fifo" --name "$NAME" \
    --key-out "$T/rk.pem" --cert-out "$T/rc.pem" </dev/null \
    >"$T/fifo.out" 2>&1 &
cpid=$!
i=0
while [ $i -lt 100 ] && ! core_off "$cpid"; do
	sleep 0.1
	i=$((i + 1))
done
core_off "$cpid" && core=0 || core=1
: >"$T/tok_fifo"
wait "$cpid" && fail "carapace accepted an empty token file" || :
[ "$core" -eq 0 ] || fail "carapace (holds a token secret) may dump core"
ok "carapace: Max core file size 0"
assert_unchanged "empty token from a FIFO" "$T/state0"

# refused_race DESC PATTERN race_client-ARGS...: race_client's answer
# matches PATTERN and the log did not change.
refused_race() {
	desc=$1 pattern=$2
	shift 2
	r=0
	"$RACE" "$@" >"$T/race.out" 2>&1 || r=$?
	if [ $r -ne 1 ] && [ $r -ne 3 ] || ! grep -Eq -- "$pattern" "$T/race.out"; then
		cat "$T/race.out" >&2
		fail "$desc: expected /$pattern/, race_client exited $r"
	fi
	assert_unchanged "$desc" "$T/state0"
	ok "$desc: $(grep -E -m1 -- "$pattern" "$T/race.out")"
}

# refused_car DESC PATTERN carapace-ARGS...: carapace exits 1 with PATTERN
# on standard error, and the log did not change.
refused_car() {
	desc=$1 pattern=$2
	shift 2
	car_refused "$desc" 1 "$pattern" "$@"
	assert_unchanged "$desc" "$T/state0"
}

req() {
	rm -f "$T/rk.pem" "$T/rc.pem"
	# shellcheck disable=SC2068
	set -- request -s "$URL" "$@" --key-out "$T/rk.pem" --cert-out "$T/rc.pem"
	refused_car "$DESC" "$PAT" "$@"
	[ ! -e "$T/rk.pem" ] && [ ! -e "$T/rc.pem" ] ||
	    fail "$DESC: a refused request left output files behind"
}

# --- join token refusals --------------------------------------------------------
# A token file other users can read is refused before it is sent.
cp "$T/tok1" "$T/tok_open"
chmod 644 "$T/tok_open"
DESC="token file readable by others" PAT='tok_open.*mode 644' \
    req --token-file "$T/tok_open" --name "$NAME"

DESC="names not granted" PAT='notAuthorized.*other\.example\.internal|notAuthorized' \
    req --token-file "$T/tok1" --name other.example.internal
DESC="one name granted, one not" PAT='notAuthorized' \
    req --token-file "$T/tok1" --name "$NAME" --name evil.example.internal
DESC="lifetime over the profile's max (24h)" PAT='policy.*(lifetime|24h|86400)' \
    req --token-file "$T/tok1" --name "$NAME" --lifetime 48h

token "$T/tok_exp" exp.example.internal -- --ttl 1s
log_state >"$T/state0"
sleep 2
DESC="expired token" PAT='tokenExpired.*expire' \
    req --token-file "$T/tok_exp" --name exp.example.internal

umask 077
printf 'cpt1.%s.%s\n' "$(openssl rand -hex 16)" \
    "$(openssl rand -base64 32 | tr '+/' '-_' | tr -d '=\n')" >"$T/tok_fake"
DESC="unknown token" PAT='tokenUnknown' \
    req --token-file "$T/tok_fake" --name "$NAME"
# the right id with a wrong secret: the same answer, nothing learnt
printf '%s.%s\n' "$(cut -d. -f1-2 "$T/tok1")" \
    "$(openssl rand -base64 32 | tr '+/' '-_' | tr -d '=\n')" >"$T/tok_wrong"
DESC="wrong secret for a real token id" PAT='tokenUnknown|badAttestation' \
    req --token-file "$T/tok_wrong" --name "$NAME"

# Tokens that could never be used are refused when they are made: a grant
# outside the intermediate's name constraints, or not a DNS name at all.
log_state >"$T/state0"
refused_car "token for a name outside the name constraints" \
    'notAuthorized.*www\.example\.com: outside the intermediate certificate.s name constraints' \
    token create -S "$OPS" --identity nc --name www.example.com --profile server \
    --out "$T/tok_nc"
refused_car "token for a name with an empty label" \
    'badRequest.*DNS name "bad\.\.example\.internal": an empty label' \
    token create -S "$OPS" --identity nc --name bad..example.internal \
    --profile server --out "$T/tok_nc"
[ ! -e "$T/tok_nc" ] || fail "a refused token create wrote its file"
# The grant forms still work inside the constraints: a pattern and a
# literal wildcard.
car_ok "token for a pattern and a literal wildcard grant" token create \
    -S "$OPS" --identity nc2 --name '*.nodes.example.internal' \
    --name '=*.web.example.internal' --profile server --out "$T/tok_nc2"
log_state >"$T/state0"

# --- hostile CSRs, sent raw -------------------------------------------------------

csr() {
	openssl req -new "$@" -nodes -keyout "$T/junk.key" -subj "/CN=$NAME" \
	    -addext "subjectAltName=DNS:$NAME" -outform DER \
	    2>>"$T/openssl.log" || fail "openssl req $*"
}
csr -newkey ec -pkeyopt ec_paramgen_curve:P-256 -out "$T/good.der"
csr -newkey rsa:1024 -out "$T/rsa1024.der"
csr -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
    -addext basicConstraints=critical,CA:TRUE -out "$T/ca.der"
csr -newkey ec -pkeyopt ec_paramgen_curve:secp256k1 -out "$T/k256.der"
# flip the last bit of the ECDSA signature: still DER, no longer valid
cp "$T/good.der" "$T/badsig.der"
sz=$(stat -c %s "$T/badsig.der")
b=$(tail -c 1 "$T/badsig.der" | od -An -tu1 | tr -d ' ')
# shellcheck disable=SC2059
printf "\\$(printf %o $((b ^ 1)))" |
    dd of="$T/badsig.der" bs=1 seek=$((sz - 1)) conv=notrunc 2>/dev/null
# (openssl req -verify exits 0 either way in OpenSSL 3.0: read its words)
openssl req -inform DER -in "$T/badsig.der" -noout -verify 2>&1 |
    grep -q 'verify failure' || fail "badsig.der still verifies"
openssl req -inform DER -in "$T/good.der" -noout -verify 2>&1 |
    grep -q 'verify OK' || fail "good.der does not verify"
head -c 40 "$T/good.der" >"$T/trunc.der"

refused_race "RSA-1024 key" 'policy|badCsr' issue "$URL" "$T/tok1" "$T/rsa1024.der"
grep -Eqi 'rsa|2048|1024' "$T/race.out" || fail "RSA-1024 refusal does not say what is wrong with the key"
refused_race "secp256k1 key" 'policy|badCsr' issue "$URL" "$T/tok1" "$T/k256.der"
refused_race "CSR asks for CA:TRUE" 'policy|badCsr' issue "$URL" "$T/tok1" "$T/ca.der"
refused_race "bad CSR signature" 'badCsr' issue "$URL" "$T/tok1" "$T/badsig.der"
refused_race "truncated CSR" 'badCsr|badRequest' issue "$URL" "$T/tok1" "$T/trunc.der"
refused_race "lifetime over max (raw)" 'policy' issue "$URL" "$T/tok1" "$T/good.der" 172800
# control characters in the CN or a dNSName: badCsr, not "internal"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$T/junk.key" -subj "$(printf '/CN=a\033b.example.internal')" \
    -addext "subjectAltName=DNS:$NAME" -outform DER -out "$T/ctl.der" \
    2>>"$T/openssl.log" || fail "openssl req (control byte in CN)"
refused_race "control byte in the CN" 'badCsr.*control' issue "$URL" "$T/tok1" "$T/ctl.der"
! grep -q 'does not encode' "$T/issuer.err" ||
    fail "the issuer could not encode a refusal (see issuer.err)"

# --- malformed messages -------------------------------------------------------------

# Request { version 1, body nonce [1] NULL } is 30 07 02 01 01 a1 02 05 00.
printf '\060\007\002\001\001\241\002\005\000' >"$T/nonce.msg"
"$RACE" raw "$URL" "$T/nonce.msg" >"$T/race.out" 2>&1 ||
    { cat "$T/race.out" >&2; fail "a well-formed nonce request was refused"; }
log_state >"$T/state0"
printf 'hello, issuer' >"$T/m1"
refused_race "not DER at all" 'badRequest' raw "$URL" "$T/m1"
printf '\060\010\002\001\001' >"$T/m2"
refused_race "truncated DER" 'badRequest' raw "$URL" "$T/m2"
printf '\060\007\002\001\001\241\002\005\000\000' >"$T/m3"
refused_race "trailing byte" 'badRequest' raw "$URL" "$T/m3"
printf '\060\200\002\001\001\241\002\005\000\000\000' >"$T/m4"
refused_race "BER indefinite length" 'badRequest' raw "$URL" "$T/m4"
printf '\060\007\002\001\002\241\002\005\000' >"$T/m5"
refused_race "version 2" 'unsupportedVersion' raw "$URL" "$T/m5"
printf '\060\007\002\001\001\251\002\005\000' >"$T/m6"
refused_race "unknown CHOICE tag" 'badRequest' raw "$URL" "$T/m6"
# just over the protocol's 64 KiB cap, under the transport's 128 KiB:
# received, and answered tooLarge
head -c 65537 /dev/zero >"$T/m7"
refused_race "message just over the 64 KiB cap" 'tooLarge' -w 10 raw "$URL" "$T/m7"
kill -0 "$ISS_PID" 2>/dev/null || fail "carapace-issuer died after an oversized message"
# over the transport cap: nng closes the connection, no answer
head -c 140000 /dev/zero >"$T/m7b"
refused_race "message over the 128 KiB transport cap" 'no answer' -w 3 raw "$URL" "$T/m7b"
kill -0 "$ISS_PID" 2>/dev/null || fail "carapace-issuer died after a message over the transport cap"
# an operator request on the network listener
printf '\060\007\002\001\001\250\002\005\000' >"$T/m8"
refused_race "logVerify on the network listener" 'forbidden' raw "$URL" "$T/m8"
"$RACE" raw "$URL" "$T/nonce.msg" >"$T/race.out" 2>&1 ||
    { cat "$T/race.out" >&2; fail "the issuer no longer answers after the malformed messages"; }
ok "still serving after malformed messages"

# --- x509pop -------------------------------------------------------------------------

log_state >"$T/state0"
refused_car "x509pop with a stranger's chain" 'badAttestation' \
    renew -s "$URL" --cert "$T/dev/web9.pem" --key "$T/dev/web9.key" \
    --cert-out "$T/x.pem"
refused_car "x509pop with an expired device certificate" 'badAttestation|expired' \
    renew -s "$URL" --cert "$T/dev/dev2.pem" --key "$T/dev/dev2.key" \
    --cert-out "$T/x.pem"
grep -Eqi 'expired|not after|notAfter' "$T/car.err" ||
    fail "the expired-certificate refusal does not say it expired"
refused_race "x509pop with a nonce never issued" 'nonceInvalid' \
    nonce-forged "$URL" "$T/dev/dev1.pem" "$T/dev/dev1.key" d1.devices.example.internal

# the positive control: the same device anchor with a valid certificate
car_ok "x509pop with a valid device certificate" renew -s "$URL" \
    --cert "$T/dev/dev1.pem" --key "$T/dev/dev1.key" --cert-out "$T/dev1-new.pem"
openssl verify -CAfile "$CA/root.pem" -untrusted "$CA/intermediate.pem" \
    "$T/dev1-new.pem" >/dev/null 2>&1 || fail "dev1-new.pem does not verify"

# replayed nonce: the first use issues, the second is refused
before=$(sql "SELECT count(*) FROM certificates WHERE status = 'issued'")
r=0
"$RACE" replay "$URL" "$T/dev/dev1.pem" "$T/dev/dev1.key" \
    d1.devices.example.internal >"$T/race.out" 2>&1 || r=$?
if [ "$(sed -n 2p "$T/race.out" | cut -d: -f1)" != ok ] ||
    ! sed -n 3p "$T/race.out" | grep -q '^nonceInvalid'; then
	cat "$T/race.out" >&2
	fail "replayed nonce: expected ok then nonceInvalid"
fi
after=$(sql "SELECT count(*) FROM certificates WHERE status = 'issued'")
[ "$after" -eq $((before + 1)) ] || fail "replayed nonce: $((after - before)) certificates issued, expected 1"
ok "replayed nonce: $(sed -n 3p "$T/race.out")"

# a revoked certificate of this CA
token "$T/tok_rev" rev.example.internal
car_ok "certificate to revoke" request -s "$URL" --token-file "$T/tok_rev" \
    --name rev.example.internal --key-out "$T/rev.key" --cert-out "$T/rev.pem"
car_ok "revoke it" revoke -S "$OPS" "$(serial_of "$T/rev.pem")" --reason superseded
log_state >"$T/state0"
refused_car "x509pop with a revoked certificate" 'badAttestation|revoked' \
    renew -s "$URL" --cert "$T/rev.pem" --key "$T/rev.key" --cert-out "$T/x.pem"
grep -qi revoked "$T/car.err" || fail "the revoked-certificate refusal does not say revoked"
[ ! -e "$T/x.pem" ] || fail "a refused renewal wrote x.pem"

# --- the token survived every refusal ------------------------------------------------

[ "$(sql "SELECT count(*) FROM join_tokens WHERE used_at IS NULL AND revoked_at IS NULL AND identity = 'id-tok1'")" -eq 1 ] ||
    fail "tok1 is no longer unused in the log"
car_ok "tok1 still works after every refusal" request -s "$URL" \
    --token-file "$T/tok1" --name "$NAME" --key-out "$T/k1.pem" --cert-out "$T/c1.pem"
openssl verify -CAfile "$CA/root.pem" -untrusted "$CA/intermediate.pem" \
    "$T/c1.pem" >/dev/null 2>&1 || fail "c1.pem does not verify"
certs_in_log "$T/c1.pem" "$T/dev1-new.pem" "$T/rev.pem"

# Revocation is final: a hold (or its release) is refused before anything
# is sent, and the certificate stays issued.
log_state >"$T/state0"
for reason in certificateHold removeFromCRL; do
	car_refused "revoke --reason $reason" 2 'revocation is final' \
	    revoke -S "$OPS" "$(serial_of "$T/c1.pem")" --reason "$reason"
	assert_unchanged "revoke --reason $reason" "$T/state0"
done

car_ok "log verify" log verify -S "$OPS"
grep -q '^log verify: OK' "$T/car.stdout" || fail "log verify did not say OK"
iss_stop
echo "PASS: issuer refusals"
