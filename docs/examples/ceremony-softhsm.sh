#!/bin/sh
# SPDX-License-Identifier: ISC
#
# ceremony-softhsm.sh OUTDIR: rehearse a complete root key ceremony on
# SoftHSMv2, without a real HSM and without anybody typing "yes".
#
# It makes two SoftHSM tokens under OUTDIR, with OUTDIR/softhsm2.conf as
# their private configuration: "carapace-root" holds the root key and
# "carapace-issuer" stands in for the online issuer's HSM. It writes
# OUTDIR/ceremony.cnf and runs every step of carapace-ceremony with --yes
# and --allow-network: inventory, keygen, root; then it generates the
# issuing CA's key inside the second token (carapace-ceremony keygen with a
# second ceremony file, so the key is checked to be sensitive and
# never-extractable), makes the intermediate CSR with that key through
# OpenSSL's pkcs11 engine (libengine-pkcs11-openssl), and runs
# intermediate, crl and verify.
#
# It leaves OUTDIR/root.pem, OUTDIR/intermediate.pem, OUTDIR/root-crl.pem,
# OUTDIR/transcript and OUTDIR/softhsm2.conf (plus the public keys, the CSR,
# the CRL number file and the issuer side's own transcript under
# OUTDIR/issuer/), prints what it did, and exits non-zero if anything fails.
# Output of the third-party tools it calls goes to OUTDIR/rehearsal.log.
#
# PINs are random, written to 0600 files under OUTDIR/pins/ and never
# printed or passed in argv: carapace-ceremony reads them with
# pin_source = file:..., pkcs11-tool with --pin env:NAME, and the pkcs11
# engine with pin-source=file:... in the key URI.
#
# carapace-ceremony is found on PATH or through $CARAPACE_CEREMONY; the
# SoftHSM module through $SOFTHSM2_MODULE or the usual Debian paths.
# Needs: softhsm2, opensc (pkcs11-tool), openssl, libengine-pkcs11-openssl.
#
# This is a rehearsal. A real ceremony runs on an air-gapped machine with
# a real HSM, without --allow-network, with officers confirming each step;
# see docs/ceremony.md.

set -eu

PROG=ceremony-softhsm.sh

die() {
	echo "$PROG: $*" >&2
	exit 1
}

say() {
	echo "== $*"
}

[ $# -eq 1 ] || { echo "usage: $PROG OUTDIR" >&2; exit 2; }

# --- tools ------------------------------------------------------------------

CEREMONY=${CARAPACE_CEREMONY:-$(command -v carapace-ceremony || true)}
if [ -z "$CEREMONY" ] || [ ! -x "$CEREMONY" ]; then
	die "carapace-ceremony not found: put it on PATH or set CARAPACE_CEREMONY"
fi

MODULE=${SOFTHSM2_MODULE:-}
if [ -z "$MODULE" ] || [ ! -f "$MODULE" ]; then
	MODULE=
	for m in /usr/lib/softhsm/libsofthsm2.so \
	    /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so \
	    /usr/local/lib/softhsm/libsofthsm2.so; do
		if [ -f "$m" ]; then MODULE=$m; break; fi
	done
fi
[ -n "$MODULE" ] || die "the SoftHSMv2 module was not found (Debian: softhsm2)"
command -v pkcs11-tool >/dev/null || die "pkcs11-tool not found (Debian: opensc)"
command -v openssl >/dev/null || die "openssl not found (Debian: openssl)"

# --- OUTDIR -----------------------------------------------------------------

if [ -e "$1" ] && [ -n "$(ls -A "$1")" ]; then
	die "$1: exists and is not empty; a rehearsal starts from an empty directory"
fi
mkdir -p "$1"
OUT=$(cd "$1" && pwd -P)
# The path goes into NCONF values and a pkcs11: URI: keep it plain so that
# neither needs quoting ($ would expand in NCONF, # starts a comment, and
# ; and % mean something in a URI).
case $OUT in
*[!A-Za-z0-9._/+,@=-]*)
	die "$OUT: use a directory path of letters, digits and . _ / + , @ = - only" ;;
esac

LOG=$OUT/rehearsal.log
: >"$LOG"
STEP=setup
finish() {
	rc=$?
	if [ $rc -ne 0 ]; then
		echo "$PROG: FAILED during: $STEP (exit $rc)" >&2
		echo "$PROG: third-party tool output is in $LOG" >&2
	fi
	exit $rc
}
trap finish EXIT

mkdir "$OUT/tokens" "$OUT/issuer"
(umask 077 && mkdir "$OUT/pins")
cat >"$OUT/softhsm2.conf" <<EOF
# SoftHSMv2 configuration for this rehearsal only.
directories.tokendir = $OUT/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
EOF
SOFTHSM2_CONF=$OUT/softhsm2.conf
export SOFTHSM2_CONF

# newpin FILE: a fresh random 16-hex-digit PIN in a 0600 file. (Not longer:
# the pkcs11 engine of libp11 0.4.12 reads at most 31 characters from a
# pin-source file, and a cut PIN fails to log in.)
newpin() {
	(umask 077 && od -An -N8 -tx1 /dev/urandom | tr -d ' \n' >"$1")
}

# token_init LABEL: initialise SoftHSM's free slot as token LABEL with
# random SO and user PINs in $OUT/pins/LABEL.sopin and LABEL.pin.
token_init() {
	newpin "$OUT/pins/$1.sopin"
	newpin "$OUT/pins/$1.pin"
	slot=$(pkcs11-tool --module "$MODULE" --list-slots 2>>"$LOG" |
	    awk '/^Slot [0-9]+ \(/ { id = $3 }
		/token state: *uninitialized/ { gsub(/[():]/, "", id); print id; exit }')
	[ -n "$slot" ] || die "SoftHSM offers no free slot"
	CARAPACE_SO_PIN=$(cat "$OUT/pins/$1.sopin") \
	    pkcs11-tool --module "$MODULE" --slot "$slot" --init-token \
	    --label "$1" --so-pin env:CARAPACE_SO_PIN >>"$LOG" 2>&1 ||
	    die "pkcs11-tool could not initialise token $1"
	CARAPACE_SO_PIN=$(cat "$OUT/pins/$1.sopin") \
	CARAPACE_USER_PIN=$(cat "$OUT/pins/$1.pin") \
	    pkcs11-tool --module "$MODULE" --token-label "$1" --login \
	    --login-type so --so-pin env:CARAPACE_SO_PIN \
	    --init-pin --new-pin env:CARAPACE_USER_PIN >>"$LOG" 2>&1 ||
	    die "pkcs11-tool could not set the user PIN of token $1"
}

# ceremony CNF STEP: run one ceremony step without waiting for "yes".
# verify asks nothing and checks no network: an auditor runs it anywhere.
ceremony() {
	cnf=$1
	STEP=$2
	if [ "$2" = verify ]; then
		set -- verify -c "$cnf"
	else
		set -- -c "$cnf" --yes --allow-network "$2"
	fi
	say "carapace-ceremony $*"
	"$CEREMONY" "$@" </dev/null || die "step $STEP failed"
}

# spki_sha256: SHA-256 of the DER SubjectPublicKeyInfo read on stdin (PEM).
spki_sha256() {
	openssl pkey -pubin -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1
}

# --- tokens -----------------------------------------------------------------

STEP="token setup"
say "SoftHSM tokens under $OUT/tokens (SOFTHSM2_CONF=$SOFTHSM2_CONF)"
token_init carapace-root
token_init carapace-issuer
echo "   carapace-root and carapace-issuer, PINs in $OUT/pins/ (0600, not shown)"

# --- the ceremony file --------------------------------------------------------

cat >"$OUT/ceremony.cnf" <<EOF
# Root key ceremony file written by $PROG (a SoftHSM rehearsal).
# See carapace-ceremony.cnf(5).

[ceremony]
module     = $MODULE
key        = pkcs11:token=carapace-root;object=root-ca;id=%01
pin_source = file:$OUT/pins/carapace-root.pin
key_type   = ec-p384
transcript = transcript
root_cert  = root.pem

[keygen]
public_key = root-pub.pem

[root]
subject    = root_dn
days       = 7300
digest     = sha384

[root_dn]
C  = XX
O  = Carapace Rehearsal
CN = Carapace Rehearsal Root CA

[intermediate]
csr        = issuer.csr
output     = intermediate.pem
days       = 1825
digest     = sha384
profile    = intermediate_profile
key_types  = ec-p256 ec-p384

[intermediate_profile]
basicConstraints      = critical, CA:TRUE, pathlen:0
# digitalSignature: carapace-ocsp may sign OCSP responses with this key
# (RFC 5280 4.2.1.3); drop it when a delegated responder always signs.
keyUsage              = critical, digitalSignature, keyCertSign, cRLSign
# EKU on a CA constrains what it may certify; OCSPSigning lets it certify a
# delegated OCSP responder that GnuTLS accepts (see docs/ceremony-file.md).
extendedKeyUsage      = serverAuth, clientAuth, OCSPSigning
nameConstraints       = critical, permitted;DNS:example.internal
authorityInfoAccess   = OCSP;URI:http://ocsp.example.internal/, caIssuers;URI:http://pki.example.internal/root.crt
crlDistributionPoints = URI:http://pki.example.internal/root.crl

[crl]
output      = root-crl.pem
days        = 365
digest      = sha384
number_file = crlnumber
EOF

# The issuer's side: the same tool generates the issuing CA's key inside
# the second token, with the same non-extractable template and checks.
cat >"$OUT/issuer/keygen.cnf" <<EOF
# Generates the issuing CA's key on the token standing in for the issuer's
# HSM. Written by $PROG.

[ceremony]
module     = $MODULE
key        = pkcs11:token=carapace-issuer;object=issuing-ca-1;id=%02
pin_source = file:$OUT/pins/carapace-issuer.pin
key_type   = ec-p256
transcript = transcript

[keygen]
public_key = issuer-pub.pem
EOF

# --- the root ceremony ----------------------------------------------------

ceremony "$OUT/ceremony.cnf" inventory
ceremony "$OUT/ceremony.cnf" keygen
ceremony "$OUT/ceremony.cnf" root

# --- the issuer's CSR, made inside the second token ---------------------------

ceremony "$OUT/issuer/keygen.cnf" keygen
STEP="intermediate CSR"
say "openssl req -engine pkcs11: CSR for the issuing CA, signed inside carapace-issuer"
PKCS11_MODULE_PATH=$MODULE openssl req -new -engine pkcs11 -keyform engine \
    -key "pkcs11:token=carapace-issuer;object=issuing-ca-1;type=private;pin-source=file:$OUT/pins/carapace-issuer.pin" \
    -subj "/C=XX/O=Carapace Rehearsal/CN=Carapace Rehearsal Issuing CA 1" \
    -sha256 -out "$OUT/issuer.csr" >>"$LOG" 2>&1 ||
    die "openssl req could not make the CSR with the pkcs11 engine"
openssl req -in "$OUT/issuer.csr" -noout -verify >>"$LOG" 2>&1 ||
    die "$OUT/issuer.csr: the CSR's signature does not verify"
csr_fp=$(openssl req -in "$OUT/issuer.csr" -noout -pubkey | spki_sha256)
key_fp=$(spki_sha256 <"$OUT/issuer/issuer-pub.pem")
[ "$csr_fp" = "$key_fp" ] ||
    die "issuer.csr: its public key is not the one generated in carapace-issuer"
echo "   issuer.csr SPKI SHA-256 $csr_fp (matches issuer/issuer-pub.pem)"

# --- the root signs ----------------------------------------------------------

ceremony "$OUT/ceremony.cnf" intermediate
ceremony "$OUT/ceremony.cnf" crl
ceremony "$OUT/ceremony.cnf" verify

# --- a last look with OpenSSL --------------------------------------------------

STEP="final checks"
for f in root.pem intermediate.pem root-crl.pem transcript softhsm2.conf; do
	[ -s "$OUT/$f" ] || die "$OUT/$f: missing after the ceremony"
done
openssl verify -CAfile "$OUT/root.pem" "$OUT/intermediate.pem" >>"$LOG" 2>&1 ||
    die "openssl verify does not accept intermediate.pem under root.pem"
openssl crl -in "$OUT/root-crl.pem" -CAfile "$OUT/root.pem" -verify -noout \
    >>"$LOG" 2>&1 || die "openssl crl does not verify root-crl.pem"

say "done; the rehearsal produced:"
for f in root.pem intermediate.pem; do
	echo "   $f: $(openssl x509 -in "$OUT/$f" -noout -serial)," \
	    "$(openssl x509 -in "$OUT/$f" -noout -fingerprint -sha256)"
done
echo "   root-crl.pem: $(openssl crl -in "$OUT/root-crl.pem" -noout -crlnumber)"
echo "   transcript: $OUT/transcript"
echo "   SOFTHSM2_CONF=$OUT/softhsm2.conf"
