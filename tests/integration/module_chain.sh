# shellcheck shell=sh
# SPDX-License-Identifier: ISC
# module_chain.sh: the whole chain on one PKCS#11 module, named by $MODULE
# (softhsm, p11kit, nss or tpm2; see module_common.sh). Sourced by the thin
# wrappers module_chain_<module>.sh, which set MODULE; not a test itself.
#
# On a throwaway token of that module it runs:
#   ceremony   carapace-ceremony keygen, root; the issuing CA's key made by
#              carapace-ceremony keygen on the same token, its CSR by
#              carapace-issuer csr; intermediate, crl, verify (rehearsal =
#              yes where the wrap probe exports the key: NSS)
#   issuer     carapace-issuer with that key; a join token and one
#              carapace request; openssl verify of the leaf
#   OCSP       carapace-ocsp signing with the issuing CA's key: openssl ocsp
#              says good, then (after carapace revoke) revoked
#   CRL        carapace-crl --once; openssl crl -verify accepts the CRL and
#              it lists the serial
# Few operations, because tpm2-pkcs11 on swtpm is slow: EC P-256 keys, one
# leaf. What the module cannot do is printed as "not run: ..." lines (and
# listed in docs/hsm.md).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"
. "$S/tests/integration/module_common.sh"
. "$S/tests/integration/issuer_common.sh"

OCSPD=$B/ocsp/carapace-ocsp
CRLD=$B/ocsp/carapace-crl
for p in "$OCSPD" "$CRLD"; do
	[ -x "$p" ] || fail "$p: not built"
done
[ -n "${MODULE:-}" ] || fail "module_chain.sh: set MODULE (softhsm, p11kit, nss, tpm2)"
mod_setup "$MODULE"
M=$MODULE
# The token label in a pkcs11: URI (NSS's has spaces).
TOKU=pkcs11:token=$(printf '%s' "$MOD_TOKEN" | sed 's/ /%20/g')
REHEARSAL=
[ "$M" != nss ] || REHEARSAL="rehearsal  = yes"

# --- what this module cannot do -------------------------------------------
echo "not run: ed25519 on $M: carapace makes no Ed25519 key on a token (libp11 0.4.12 has no EdDSA)"
for kt in ec-p256 ec-p384 rsa-2048 rsa-3072 rsa-4096; do
	case " $MOD_CAN " in
	*" $kt "*) ;;
	*) echo "not run: $kt on $M: not among the key types the module generates (MOD_CAN)" ;;
	esac
done

# --- ceremony ---------------------------------------------------------------
mkdir -p "$CA/issuer"
cd "$CA"
cat >ceremony.cnf <<EOF
[ceremony]
$(mod_conf_lines)
key        = $TOKU;object=root-ca
pin_source = file:$MOD_PIN
key_type   = ec-p256
transcript = transcript
root_cert  = root.pem
$REHEARSAL

[keygen]
public_key = root-pub.pem

[root]
subject = root_dn
days    = 3650

[root_dn]
CN = Carapace $M chain root

[intermediate]
csr       = issuer.csr
output    = intermediate.pem
days      = 365
profile   = intermediate_profile
key_types = ec-p256

[intermediate_profile]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage         = critical, digitalSignature, keyCertSign, cRLSign

[crl]
output      = root-crl.pem
days        = 30
number_file = crlnumber
EOF
cat >issuer/keygen.cnf <<EOF
[ceremony]
$(mod_conf_lines)
key        = $TOKU;object=issuing-ca-1
pin_source = file:$MOD_PIN
key_type   = ec-p256
transcript = transcript
$REHEARSAL

[keygen]
public_key = issuer-pub.pem
EOF

# cer CNF STEP: one ceremony step, output in $T/cer.out.
cer() {
	if [ "$2" = verify ]; then
		set -- verify -c "$1"
	else
		set -- -c "$1" --yes --allow-network "$2"
	fi
	"$CEREMONY" "$@" </dev/null >"$T/cer.out" 2>&1 ||
	    { cat "$T/cer.out" >&2; fail "$M: carapace-ceremony $*"; }
	sanitizer_clean "$T/cer.out"
}
cer ceremony.cnf keygen
cer ceremony.cnf root
grep -q "^wrap-probe " transcript || fail "$M: the transcript lacks the wrap probe"
echo "$M: $(grep -m1 '^wrap-probe ' transcript)"
cer issuer/keygen.cnf keygen

cat >issuer.cnf <<EOF
[issuer]
$(mod_conf_lines)
key         = $TOKU;object=issuing-ca-1
pin_source  = file:$MOD_PIN
certificate = intermediate.pem
log         = $DB
listen      = tcp://127.0.0.1:PORT
operator    = $OPS
workers     = 2
csr_subject = issuer_dn
profiles    = server

[issuer_dn]
CN = Carapace $M chain issuing CA

[server]
max_lifetime     = 24h
default_lifetime = 1h
key_types        = ec-p256
extensions       = server_ext

[server_ext]
basicConstraints = critical,CA:FALSE
keyUsage         = critical,digitalSignature
extendedKeyUsage = serverAuth,clientAuth

[policy_joinToken]
profiles = server
EOF
"$ISSUER" -c issuer.cnf csr -o issuer.csr >"$T/csr.out" 2>&1 ||
    { cat "$T/csr.out" >&2; fail "$M: carapace-issuer csr"; }
spki() { openssl pkey -pubin -outform DER | openssl dgst -sha256 -r; }
[ "$(openssl req -in issuer.csr -noout -pubkey | spki)" = "$(spki <issuer/issuer-pub.pem)" ] ||
    fail "$M: the issuer's CSR is not for the key the ceremony made"
cer ceremony.cnf intermediate
cer ceremony.cnf crl
cer ceremony.cnf verify
openssl verify -CAfile root.pem intermediate.pem >/dev/null ||
    fail "$M: openssl verify rejects intermediate.pem"
openssl crl -in root-crl.pem -CAfile root.pem -verify -noout 2>/dev/null ||
    fail "$M: openssl crl does not verify root-crl.pem"
ok "$M: ceremony keygen, root, issuing key, intermediate, crl, verify; openssl verifies"

# --- issuer -----------------------------------------------------------------
"$CARAPACE" log init --log "$DB" >"$T/loginit.out" 2>&1 ||
    { cat "$T/loginit.out" >&2; fail "carapace log init"; }
iss_start
token "$T/web1.token" web1.example.internal
car_ok "$M: carapace request" request -s "$URL" --token-file "$T/web1.token" \
    --name web1.example.internal --key-type ec-p256 --key-out "$T/web1.key" \
    --cert-out "$T/web1.pem"
openssl verify -CAfile root.pem -untrusted intermediate.pem "$T/web1.pem" \
    >/dev/null || fail "$M: openssl verify rejects the leaf"
SERIAL=$(serial_of "$T/web1.pem")
ok "$M: carapace-issuer signed $SERIAL; openssl verifies it up to the root"

# --- OCSP -------------------------------------------------------------------
cat >ocsp.cnf <<EOF
[ocsp]
listen  = http://127.0.0.1:0
path    = /ocsp
log     = $DB
$(mod_conf_lines)
issuers = issuing_ca
poll_ms = 100

[issuing_ca]
cert       = intermediate.pem
key        = $TOKU;object=issuing-ca-1
pin_source = file:$MOD_PIN
EOF
OCSP_PID=
ocsp_down() {
	[ -z "$OCSP_PID" ] || { kill "$OCSP_PID" 2>/dev/null; wait "$OCSP_PID" || :; }
	OCSP_PID=
}
ATEXIT_HOOKS="ocsp_down $ATEXIT_HOOKS"
# A free port: tried again when someone took it meanwhile.
tries=0
until [ -n "$OCSP_PID" ]; do
	tries=$((tries + 1))
	[ $tries -le 5 ] || { cat "$T/ocsp.log" >&2; fail "$M: carapace-ocsp did not start"; }
	PORT=$(free_port)
	sed -i "s|^listen .*|listen  = http://127.0.0.1:$PORT|" ocsp.cnf
	"$OCSPD" -c ocsp.cnf >"$T/ocsp.log" 2>&1 &
	OCSP_PID=$!
	i=0
	until grep -q "listening on" "$T/ocsp.log"; do
		kill -0 "$OCSP_PID" 2>/dev/null || { wait "$OCSP_PID" || :; OCSP_PID=; break; }
		i=$((i + 1))
		[ $i -lt 300 ] || fail "$M: carapace-ocsp: no listener within 30 s"
		sleep 0.1
	done
done
ocsp_ask() {
	openssl ocsp -issuer intermediate.pem -cert "$T/web1.pem" -no_nonce \
	    -url "http://127.0.0.1:$PORT/ocsp" -CAfile root.pem \
	    -verify_other intermediate.pem >"$T/q.out" 2>&1 ||
	    { cat "$T/q.out" >&2; fail "$M: openssl ocsp"; }
	grep -q '^Response verify OK' "$T/q.out" ||
	    { cat "$T/q.out" >&2; fail "$M: openssl ocsp does not verify the response"; }
}
ocsp_ask
grep -q ": good$" "$T/q.out" || { cat "$T/q.out" >&2; fail "$M: OCSP does not say good"; }
ok "$M: carapace-ocsp signs; openssl ocsp: good"
car_ok "$M: carapace revoke" revoke -S "$OPS" "$SERIAL" --reason keyCompromise
i=0
until ocsp_ask && grep -q ": revoked$" "$T/q.out"; do
	i=$((i + 1))
	[ $i -lt 100 ] || { cat "$T/q.out" >&2; fail "$M: OCSP does not say revoked 10 s after carapace revoke"; }
	sleep 0.1
done
ok "$M: openssl ocsp: revoked"
kill -TERM "$OCSP_PID"
rc=0
wait "$OCSP_PID" || rc=$?
OCSP_PID=
sanitizer_clean "$T/ocsp.log"
[ $rc -eq 0 ] || { cat "$T/ocsp.log" >&2; fail "$M: carapace-ocsp exited $rc after SIGTERM"; }

# --- CRL --------------------------------------------------------------------
cat >crl.cnf <<EOF
[crl]
$(mod_conf_lines)
key         = $TOKU;object=issuing-ca-1
pin_source  = file:$MOD_PIN
issuer_cert = intermediate.pem
log         = $DB
state       = crl.state
der         = crl.der
pem         = crl.pem
next_update = 1d
EOF
"$CRLD" -c crl.cnf --once >"$T/crl.out" 2>&1 ||
    { cat "$T/crl.out" >&2; fail "$M: carapace-crl --once"; }
sanitizer_clean "$T/crl.out"
openssl crl -in crl.pem -CAfile intermediate.pem -verify -noout 2>"$T/crlv.out" ||
    { cat "$T/crlv.out" >&2; fail "$M: openssl crl -verify rejects the CRL"; }
openssl crl -in crl.pem -noout -text | sed -n "s/^ *Serial Number: *//p" |
    tr a-f A-F | grep -qx "$SERIAL" || fail "$M: the CRL does not list $SERIAL"
ok "$M: carapace-crl signs; openssl crl -verify accepts it and it lists $SERIAL"
iss_stop
