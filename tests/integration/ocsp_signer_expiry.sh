# SPDX-License-Identifier: ISC
# ocsp_signer_expiry.sh: a delegated OCSP responder certificate over its
# whole life, seen by relying parties nobody here wrote (openssl ocsp and
# GnuTLS ocsptool):
#   - carapace-ocsp -n refuses an expired responder certificate (exit 1,
#     "expired") and warns about one inside the warning time (signer_warn);
#   - a responder whose certificate expires while it runs answers
#     tryLater (RFC 6960 2.3) from then on, never a response signed under
#     the expired certificate (which openssl would reject with "certificate
#     has expired" and ocsptool with "signer cert expired"), and logs the
#     warning before and the error after;
#   - a renewed certificate for the same HSM key, renamed over
#     responder_cert, is picked up without a restart: answers are good
#     again, verified by both clients, and carry the new certificate;
#   - a renewal for another key is refused (logged) and the current one
#     kept; SIGHUP reads the file at once.
# Certificates with explicit dates come from `openssl ca` signing with the
# intermediate key in SoftHSM (pkcs11 engine).

OCSP_CA_KEYUSAGE="critical, keyCertSign, cRLSign"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/ocsp_common.sh"

command -v ocsptool >/dev/null || fail "ocsptool (gnutls-bin) not installed: scripts/install-deps"

SERIAL=$(leaf_issue leaf)

# The responder's key, inside the issuer's token, and a CSR for it.
responder_key_make
RESPONDER_KEY=$RKEY
# A second key: a "renewal" for it must be refused.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$T/other.key" -subj "/CN=Carapace Test OCSP Responder" \
    -out "$T/other.csr" 2>/dev/null || fail "other CSR"

cat >"$T/responder.ext" <<EXT
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = OCSPSigning
noCheck = ignored
authorityKeyIdentifier = keyid
EXT
mkdir "$T/cadb"
: >"$T/cadb/index.txt"
echo 01 >"$T/cadb/serial"
cat >"$T/ca.cnf" <<CNF
[ca]
default_ca = d
[d]
database = $T/cadb/index.txt
new_certs_dir = $T/cadb
serial = $T/cadb/serial
default_md = sha256
policy = p
unique_subject = no
[p]
commonName = supplied
CNF

# signer OUT START END [CSR]: a responder certificate valid from START to
# END (seconds from now, may be negative), signed by the intermediate.
signer() {
	now=$(date +%s)
	PKCS11_MODULE_PATH=$SOFTHSM2_MODULE openssl ca -config "$T/ca.cnf" \
	    -batch -notext -engine pkcs11 -keyform engine \
	    -keyfile "$CAKEY_ENGINE" -cert "$CA/intermediate.pem" \
	    -in "${4:-$T/resp.csr}" -out "$1" -extfile "$T/responder.ext" \
	    -startdate "$(date -u -d "@$((now + $2))" +%Y%m%d%H%M%SZ)" \
	    -enddate "$(date -u -d "@$((now + $3))" +%Y%m%d%H%M%SZ)" \
	    >"$T/ca.out" 2>&1 || { cat "$T/ca.out"; fail "openssl ca $1"; }
}

# wait_log PATTERN MESSAGE: until PATTERN is in the responder's log, for
# at most 10 s; then fail with MESSAGE.
wait_log() {
	i=0
	until grep -q "$1" "$T/ocsp.log"; do
		i=$((i + 1))
		[ $i -lt 50 ] || { cat "$T/ocsp.log"; fail "$2"; }
		sleep 0.2
	done
}

# ask: openssl ocsp and ocsptool against the responder, outputs in
# $T/q.out and $T/g.out.
ask() {
	q -issuer "$CA/intermediate.pem" -verify_other "$CA/intermediate.pem" \
	    -cert "$T/leaf.pem" -resp_text
	ocsptool --ask="http://127.0.0.1:$PORT/ocsp" \
	    --load-issuer "$CA/intermediate.pem" --load-cert "$T/leaf.pem" \
	    --load-trust "$CA/intermediate.pem" --no-nonce >"$T/g.out" 2>&1 || true
}

# --- -n: expired, and inside the warning time ------------------------------
signer "$T/expired.pem" -7200 -3600
signer "$T/oneday.pem" -60 86400
RESPONDER_CERT=$T/expired.pem
PORT=1
ocsp_config "$T/n.cnf"
r=0
"$OCSP" -n -c "$T/n.cnf" >"$T/n.out" 2>&1 || r=$?
[ $r -eq 1 ] || { cat "$T/n.out"; fail "-n with an expired responder certificate: exit $r"; }
grep -q "responder_cert $T/expired.pem expired .*tryLater" "$T/n.out" ||
    { cat "$T/n.out"; fail "-n does not say the responder certificate expired"; }
ok "-n: an expired responder certificate fails, named"
RESPONDER_CERT=$T/oneday.pem
ocsp_config "$T/n.cnf" "signer_warn = 2d"
r=0
"$OCSP" -n -c "$T/n.cnf" >"$T/n.out" 2>&1 || r=$?
[ $r -eq 0 ] || { cat "$T/n.out"; fail "-n with a valid responder certificate: exit $r"; }
grep -q "warning: .*responder_cert $T/oneday.pem expires .*renew it" "$T/n.out" ||
    { cat "$T/n.out"; fail "-n does not warn about a certificate expiring within signer_warn"; }
ocsp_config "$T/n.cnf" "signer_warn = 1h"
"$OCSP" -n -c "$T/n.cnf" >"$T/n.out" 2>&1 || { cat "$T/n.out"; fail "-n signer_warn = 1h"; }
grep -q "expires" "$T/n.out" && { cat "$T/n.out"; fail "-n warns outside signer_warn"; }
ocsp_config "$T/n.cnf" "signer_warn = 10s"
"$OCSP" -n -c "$T/n.cnf" >"$T/n.out" 2>&1 &&
    fail "signer_warn = 10s (under a minute) accepted"
grep -q "n.cnf: \[ocsp\] signer_warn" "$T/n.out" || { cat "$T/n.out"; fail "signer_warn: no message naming it"; }
ok "-n: warns within signer_warn (2d), not outside it (1h); signer_warn validated"

# --- a responder certificate that expires while serving ---------------------
# Valid for 15 more seconds (lifetime about an hour: inside the default
# warning time, a third of it).
signer "$T/short.pem" -3600 15
END=$(( $(date +%s) + 15 ))
cp "$T/short.pem" "$T/responder.pem"
RESPONDER_CERT=$T/responder.pem
ocsp_start
grep -q "warning: .*responder_cert $T/responder.pem expires" "$T/ocsp.log" ||
    { cat "$T/ocsp.log"; fail "no warning at start about the expiring certificate"; }
ok "daemon: warns at start that the responder certificate expires soon"
if [ "$(date +%s)" -lt $((END - 3)) ]; then
	ask
	grep -q "^$T/leaf.pem: good" "$T/q.out" || { cat "$T/q.out"; fail "before expiry: not good"; }
	ok "before expiry: good"
fi
while [ "$(date +%s)" -le "$END" ]; do sleep 0.5; done
sleep 1
ask
grep -qi "Responder Error: trylater" "$T/q.out" ||
    { cat "$T/q.out"; fail "openssl ocsp: expired signer, not tryLater"; }
grep -qi "expired" "$T/q.out" && { cat "$T/q.out"; fail "openssl ocsp got a response under the expired certificate"; }
grep -qi "trylater\|try later" "$T/g.out" ||
    { cat "$T/g.out"; fail "ocsptool: expired signer, not tryLater"; }
grep -qi "expired" "$T/g.out" && { cat "$T/g.out"; fail "ocsptool got a response under the expired certificate"; }
wait_log "error: .*responder_cert $T/responder.pem expired" \
    "no error logged for the expired certificate"
ok "expired while serving: tryLater to openssl ocsp and ocsptool, error logged"

# --- a renewal for another key: refused, logged -------------------------------
signer "$T/otherkey.pem" -60 86400 "$T/other.csr"
cp "$T/otherkey.pem" "$T/responder.pem.new"
mv "$T/responder.pem.new" "$T/responder.pem"
wait_log "responder_cert $T/responder.pem: not a certificate for the configured key" \
    "a renewal for another key: not refused in the log"
ask
grep -qi "Responder Error: trylater" "$T/q.out" || { cat "$T/q.out"; fail "after a refused renewal: not tryLater"; }
ok "a certificate for another key renamed over responder_cert: refused, still tryLater"

# --- the renewal: picked up without a restart --------------------------------
signer "$T/renewed.pem" -60 86400
NEWFP=$(openssl x509 -in "$T/renewed.pem" -noout -fingerprint -sha256)
cp "$T/renewed.pem" "$T/responder.pem.new"
mv "$T/responder.pem.new" "$T/responder.pem"
kill -HUP "$OCSP_PID"
i=0
while :; do
	ask
	grep -q "^$T/leaf.pem: good" "$T/q.out" && break
	i=$((i + 1))
	[ $i -lt 30 ] || { cat "$T/q.out" "$T/ocsp.log"; fail "renewed certificate not picked up within 6 s"; }
	sleep 0.2
done
grep -q "Response verify OK" "$T/q.out" || { cat "$T/q.out"; fail "renewed: openssl does not verify"; }
sed -n '/BEGIN CERTIFICATE/,/END CERTIFICATE/p' "$T/q.out" >"$T/carried.pem"
[ "$(openssl x509 -in "$T/carried.pem" -noout -fingerprint -sha256)" = "$NEWFP" ] ||
    { cat "$T/q.out"; fail "the response does not carry the renewed certificate"; }
grep -q "Verifying OCSP Response: Success" "$T/g.out" || { cat "$T/g.out"; fail "renewed: ocsptool does not verify"; }
grep -q "Certificate Status: good" "$T/g.out" || { cat "$T/g.out"; fail "renewed: ocsptool not good"; }
grep -q "SIGHUP: reading every responder_cert again" "$T/ocsp.log" || fail "SIGHUP not logged"
grep -q "renewed signing certificate in use" "$T/ocsp.log" || fail "renewal not logged"
ok "renewed certificate renamed over responder_cert: good again, verified by openssl and ocsptool, no restart"

# revocation still reaches the answers under the renewed signer
"$FILL" "$LOG" revoke "$SERIAL" 4 || fail "revoke"
i=0
until { ask; grep -q "^$T/leaf.pem: revoked" "$T/q.out"; }; do
	i=$((i + 1))
	[ $i -lt 20 ] || { cat "$T/q.out"; fail "revocation under the renewed signer"; }
	sleep 0.2
done
ok "revoked under the renewed signer"
ocsp_stop
