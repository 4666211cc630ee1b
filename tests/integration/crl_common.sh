# SPDX-License-Identifier: ISC
# crl_common.sh: sourced by the crl_*.sh tests after common.sh. It makes a
# CA chain with docs/examples/ceremony-softhsm.sh (the intermediate's key
# lives in its second token, "carapace-issuer"), an empty issuance log,
# and a carapace-crl configuration, then offers:
#   crl_issue N       issue N leaves into the log ($T/leaves/leaf-I.pem);
#                     their serials (hex) go to $T/serials, one per line
#   crl_revoke I R    revoke leaf I with RFC 5280 reason code R
#   crl_once          run carapace-crl --once; output in $T/crl.out
#   crl_number        the published CRL's number, in decimal
#   crl_serials       the published CRL's serials, sorted, upper-case hex
# $CA is the ceremony's directory; $CHAIN holds root and intermediate.

CRL=$B/ocsp/carapace-crl
FILL=$B/tests/tools/crl_fill
CER=$B/root-ceremony/carapace-ceremony
for p in "$CRL" "$FILL" "$CER"; do
	[ -x "$p" ] || fail "$p: not built"
done
for e in /usr/lib/x86_64-linux-gnu/engines-3/pkcs11.so \
    /usr/lib/x86_64-linux-gnu/engines-3/libpkcs11.so \
    /usr/lib/engines-3/pkcs11.so; do
	[ -f "$e" ] && break
	e=
done
if [ -z "$e" ] || ! command -v pkcs11-tool >/dev/null; then
	echo "SKIP: the ceremony rehearsal needs libengine-pkcs11-openssl and opensc"
	exit 77
fi

CA=$T/ca
CARAPACE_CEREMONY=$CER SOFTHSM2_MODULE=$SOFTHSM2_MODULE \
    sh "$S/docs/examples/ceremony-softhsm.sh" "$CA" >"$T/ceremony.out" 2>&1 || {
	cat "$T/ceremony.out" "$CA/rehearsal.log" >&2
	fail "docs/examples/ceremony-softhsm.sh did not make the CA chain"
}
SOFTHSM2_CONF=$CA/softhsm2.conf
export SOFTHSM2_CONF
CHAIN=$T/chain.pem
cat "$CA/root.pem" "$CA/intermediate.pem" >"$CHAIN"
KEY_URI="pkcs11:token=carapace-issuer;object=issuing-ca-1"
PIN_SOURCE=file:$CA/pins/carapace-issuer.pin
mkdir -p "$T/leaves" "$T/out" "$T/state"
"$B/client/carapace" log init --log "$T/log.db" >"$T/loginit.out" 2>&1 || {
	cat "$T/loginit.out" >&2
	fail "carapace log init --log $T/log.db failed"
}
: >"$T/serials"

# crl_config [EXTRA LINES]: (re)write $T/crl.cnf.
crl_config() {
	cat >"$T/crl.cnf" <<CNF
# carapace-crl test configuration
[crl]
module           = $SOFTHSM2_MODULE
key              = $KEY_URI
pin_source       = $PIN_SOURCE
issuer_cert      = $CA/intermediate.pem
log              = $T/log.db
state            = $T/state/crl.state
der              = $T/out/crl.der
pem              = $T/out/crl.pem
next_update      = 1d
rebuild_interval = 1h
$*
CNF
}
crl_config

crl_issue() {
	"$FILL" issue "$T/log.db" "$CA/intermediate.pem" "$SOFTHSM2_MODULE" \
	    "$KEY_URI" "$PIN_SOURCE" "$T/leaves" "$1" >>"$T/serials" ||
	    fail "crl_fill could not issue $1 leaves"
}

crl_revoke() {
	"$FILL" revoke "$T/log.db" "$(sed -n "$1p" "$T/serials")" "$2" ||
	    fail "crl_fill could not revoke leaf $1"
}

crl_once() {
	"$CRL" -c "$T/crl.cnf" --once >"$T/crl.out" 2>&1
}

crl_number() {
	openssl crl -inform DER -in "$T/out/crl.der" -noout -crlnumber |
	    sed 's/^crlNumber=\(0x\)\{0,1\}//' | { read -r h; printf '%d\n' "0x$h"; }
}

crl_serials() {
	openssl crl -inform DER -in "$T/out/crl.der" -noout -text |
	    sed -n 's/^ *Serial Number: *//p' | tr a-f A-F | sort
}
