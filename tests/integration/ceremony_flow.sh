#!/bin/sh
# SPDX-License-Identifier: ISC
# ceremony_flow.sh: the whole root key ceremony on a private SoftHSM token
# (inventory, keygen, root, intermediate from a CSR, crl), each step run
# the way the tests run it; the results checked with tools nobody here
# wrote (OpenSSL, GnuTLS certtool, OpenSC pkcs11-tool): the chain, every
# extension the profiles ask for, the CRL, and the key's attributes in the
# token. Then the transcript is tampered with in several ways, each of
# which `verify` must catch. (ceremony_example.sh does the same run through
# the shipped rehearsal script, with the CSR made in a second token.)

. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"
. "$S/tests/integration/ceremony_common.sh"

token_init root
D=$T/c
mkdir "$D"
cer_config "$D" root
cd "$D"

# --- the steps ----------------------------------------------------------------

cer_ok "inventory" ceremony.cnf inventory
tok_serial=$(softhsm2-util --show-slots 2>/dev/null |
    awk '/Serial number:/ { s = $3 } /Label: *root *$/ { print s; exit }')
[ -n "$tok_serial" ] || fail "softhsm2-util shows no token labelled root"
grep -q "root" "$T/cer.out" && grep -qi "$tok_serial" "$T/cer.out" ||
    { cat "$T/cer.out" >&2; fail "inventory does not show token root with serial $tok_serial"; }
ok "inventory shows token root, serial $tok_serial"

cer_ok "keygen" ceremony.cnf keygen
[ -s root-pub.pem ] || fail "keygen wrote no root-pub.pem"
fp=$(openssl pkey -pubin -in root-pub.pem -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1)
tr -d ':' <"$T/cer.out" | tr 'A-F' 'a-f' | grep -q "$fp" ||
    { cat "$T/cer.out" >&2; fail "keygen did not print the SPKI SHA-256 $fp"; }
ok "keygen printed the SPKI SHA-256 of root-pub.pem"

cer_ok "root" ceremony.cnf root
soft_csr issuer.csr "Carapace Test Issuing CA 1"
cer_ok "intermediate" ceremony.cnf intermediate
# The officers compare the CSR's subject and key fingerprint with what the
# issuer's operators printed: both must be on the screen.
csr_fp=$(openssl req -in issuer.csr -noout -pubkey | openssl pkey -pubin -outform DER |
    openssl dgst -sha256 -r | cut -d' ' -f1)
tr -d ':' <"$T/cer.stdout" | tr 'A-F' 'a-f' | grep -q "$csr_fp" ||
    { cat "$T/cer.out" >&2; fail "intermediate did not show the CSR's SPKI SHA-256 $csr_fp"; }
grep -q "Carapace Test Issuing CA 1" "$T/cer.stdout" ||
    { cat "$T/cer.out" >&2; fail "intermediate did not show the CSR's subject"; }
ok "intermediate showed the CSR's subject and SPKI SHA-256"
cer_ok "crl" ceremony.cnf crl
for f in root.pem intermediate.pem root-crl.pem transcript crlnumber; do
	[ -s "$f" ] || fail "the steps did not leave $f"
done
assert_no_pin transcript "$T/cer.out"

# --- the chain, by OpenSSL ----------------------------------------------------

openssl verify -CAfile root.pem intermediate.pem >"$T/v.out" 2>&1 ||
    { cat "$T/v.out" >&2; fail "openssl verify rejects intermediate.pem"; }
# Not "-x509_strict -purpose": the point is the chain. Also a
# wrong anchor must fail, so the check above can fail.
openssl req -new -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$T/other.key" -subj "/CN=Some Other Root" -days 1 \
    -out "$T/other.pem" 2>/dev/null
if openssl verify -CAfile "$T/other.pem" intermediate.pem >/dev/null 2>&1; then
	fail "openssl verify accepts intermediate.pem under an unrelated root"
fi
ok "openssl verify: intermediate.pem chains to root.pem (and not to another root)"

openssl x509 -in root.pem -noout -text >"$T/root.txt"
openssl x509 -in intermediate.pem -noout -text >"$T/ica.txt"

# need FILE EXTENDED-REGEXP WHAT: the text dump must contain the pattern
need() {
	grep -Eq -- "$2" "$1" || { cat "$1" >&2; fail "$(basename "$1"): $3"; }
}
# need_after FILE HEADER-REGEXP VALUE-REGEXP WHAT: the line after the header
need_after() {
	awk -v h="$2" '$0 ~ h { getline; print; exit }' "$1" >"$T/after"
	grep -Eq -- "$3" "$T/after" || { cat "$1" >&2; fail "$(basename "$1"): $4"; }
}

# Root: self-signed, CA:TRUE critical, keyCertSign + cRLSign critical, SKI.
need "$T/root.txt" "Issuer: C ?= ?XX, O ?= ?Carapace Test, CN ?= ?Carapace Test Root CA" "issuer"
need "$T/root.txt" "Subject: C ?= ?XX, O ?= ?Carapace Test, CN ?= ?Carapace Test Root CA" "subject"
need "$T/root.txt" "X509v3 Basic Constraints: critical" "basicConstraints not critical"
need_after "$T/root.txt" "X509v3 Basic Constraints" "^ *CA:TRUE" "CA:TRUE"
need "$T/root.txt" "X509v3 Key Usage: critical" "keyUsage not critical"
need_after "$T/root.txt" "X509v3 Key Usage" "^ *Certificate Sign, CRL Sign$" "keyUsage is not exactly keyCertSign, cRLSign"
need "$T/root.txt" "X509v3 Subject Key Identifier" "no SKI"
need "$T/root.txt" "ASN1 OID: secp384r1" "the root key is not P-384"
need "$T/root.txt" "Signature Algorithm: ecdsa-with-SHA384" "not signed with SHA-384"
openssl verify -CAfile root.pem root.pem >/dev/null 2>&1 ||
    fail "root.pem does not verify as self-signed"
ok "root.pem: self-signed P-384, BC CA:TRUE critical, KU keyCertSign+cRLSign critical, SKI"

# Root serial: positive, at least 64 bits.
serial=$(openssl x509 -in root.pem -noout -serial | sed 's/^serial=//')
case $serial in
-*|"") fail "root serial '$serial' is not positive" ;;
esac
sig=$(echo "$serial" | sed 's/^0*//')
bits=$(( ${#sig} * 4 ))
[ "$bits" -ge 64 ] || fail "root serial $serial has only about $bits bits"
# DER: the INTEGER's first content byte must not have its top bit set.
openssl x509 -in root.pem -outform DER -out "$T/root.der"
openssl asn1parse -inform DER -in "$T/root.der" | awk 'NR <= 6' |
    grep -E 'prim: INTEGER +:' | grep -qv ':-' ||
    fail "root serial is negative in DER"
ok "root serial $serial: positive, about $bits bits"

# Intermediate: every extension of the profile.
need "$T/ica.txt" "Issuer: C ?= ?XX, O ?= ?Carapace Test, CN ?= ?Carapace Test Root CA" "issuer is not the root"
need "$T/ica.txt" "Subject: O ?= ?Carapace Test, CN ?= ?Carapace Test Issuing CA 1" "subject is not the CSR's"
need "$T/ica.txt" "X509v3 Basic Constraints: critical" "basicConstraints not critical"
need_after "$T/ica.txt" "X509v3 Basic Constraints" "^ *CA:TRUE, pathlen:0$" "not CA:TRUE, pathlen:0"
need "$T/ica.txt" "X509v3 Key Usage: critical" "keyUsage not critical"
need_after "$T/ica.txt" "X509v3 Key Usage" "^ *Certificate Sign, CRL Sign$" "keyUsage"
need_after "$T/ica.txt" "X509v3 Extended Key Usage" "^ *TLS Web Server Authentication, TLS Web Client Authentication$" "EKU"
need "$T/ica.txt" "X509v3 Name Constraints: critical" "nameConstraints missing or not critical"
need_after "$T/ica.txt" "^ *Permitted:" "DNS:example\.internal" "nameConstraints permitted DNS"
need "$T/ica.txt" "OCSP - URI:http://ocsp\.example\.internal/" "AIA OCSP"
need "$T/ica.txt" "CA Issuers - URI:http://pki\.example\.internal/root\.crt" "AIA caIssuers"
need "$T/ica.txt" "X509v3 CRL Distribution Points" "no CDP"
need "$T/ica.txt" "URI:http://pki\.example\.internal/root\.crl" "CDP URI"
need "$T/ica.txt" "X509v3 Subject Key Identifier" "no SKI"
need "$T/ica.txt" "X509v3 Authority Key Identifier" "no AKI"
need "$T/ica.txt" "ASN1 OID: prime256v1" "the intermediate key is not the P-256 key"
ok "intermediate.pem: BC CA:TRUE pathlen:0 critical, KU, EKU, nameConstraints, AIA, CDP, SKI, AKI"

# AKI of the intermediate = SKI of the root.
ski=$(need_after "$T/root.txt" "X509v3 Subject Key Identifier" . "ski" && tr -d ' ' <"$T/after")
need_after "$T/ica.txt" "X509v3 Authority Key Identifier" . "aki"
aki=$(sed 's/^ *\(keyid:\)\{0,1\}//' "$T/after" | tr -d ' ')
if [ -z "$ski" ] || [ "$ski" != "$aki" ]; then
	fail "intermediate AKI $aki is not the root SKI $ski"
fi
# The intermediate's key is the one generated in the issuer token.
[ "$(openssl x509 -in intermediate.pem -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum)" = \
  "$(openssl req -in issuer.csr -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum)" ] ||
    fail "intermediate.pem does not certify the CSR's key"
# Validity inside the root's.
ica_end=$(date -d "$(openssl x509 -in intermediate.pem -noout -enddate | cut -d= -f2)" +%s)
root_end=$(date -d "$(openssl x509 -in root.pem -noout -enddate | cut -d= -f2)" +%s)
[ "$ica_end" -le "$root_end" ] || fail "intermediate outlives the root"
ok "AKI = root SKI; certified key = the CSR's key; validity inside the root's"

# --- the CRL --------------------------------------------------------------------

openssl crl -in root-crl.pem -CAfile root.pem -verify -noout >"$T/crl.out" 2>&1 ||
    { cat "$T/crl.out" >&2; fail "openssl crl -verify rejects root-crl.pem"; }
grep -q "verify OK" "$T/crl.out" || fail "openssl crl did not say verify OK"
if openssl crl -in root-crl.pem -CAfile "$T/other.pem" -verify -noout >/dev/null 2>&1; then
	fail "root-crl.pem verifies under an unrelated root"
fi
crlnum=$(openssl crl -in root-crl.pem -noout -crlnumber | sed 's/^crlNumber=//')
case $crlnum in
0x[0-9A-Fa-f]*|[0-9]*) ;;
*) fail "root-crl.pem has no CRL number" ;;
esac
openssl crl -in root-crl.pem -noout -text >"$T/crl.txt"
need "$T/crl.txt" "Version 2" "CRL is not v2"
need "$T/crl.txt" "X509v3 Authority Key Identifier" "CRL has no AKI"
ok "root-crl.pem: v2, verified by openssl crl with root.pem, CRL number $crlnum, AKI"

# --- GnuTLS ---------------------------------------------------------------------

if command -v certtool >/dev/null; then
	cat intermediate.pem root.pem >"$T/chain.pem"
	certtool --verify-chain --infile "$T/chain.pem" >"$T/gnutls.out" 2>&1 ||
	    { cat "$T/gnutls.out" >&2; fail "certtool --verify-chain rejects intermediate+root"; }
	grep -q "Chain verification output: Verified" "$T/gnutls.out" ||
	    { cat "$T/gnutls.out" >&2; fail "certtool did not say Verified"; }
	certtool --verify --load-ca-certificate root.pem --infile intermediate.pem \
	    >"$T/gnutls2.out" 2>&1 ||
	    { cat "$T/gnutls2.out" >&2; fail "certtool --verify with root.pem as CA"; }
	if certtool --verify --load-ca-certificate "$T/other.pem" \
	    --infile intermediate.pem >/dev/null 2>&1; then
		fail "certtool accepts intermediate.pem under an unrelated root"
	fi
	certtool --crl-info --infile root-crl.pem >/dev/null 2>&1 ||
	    fail "certtool cannot parse root-crl.pem"
	ok "GnuTLS certtool: chain verified, CRL parsed"
else
	echo "note: certtool (gnutls-bin) not installed; GnuTLS checks skipped"
fi

# --- the keys in the tokens, by pkcs11-tool ---------------------------------------

list_privkeys() {
	CARAPACE_TEST_PIN=$(cat "$T/$1.pin") \
	    pkcs11-tool --module "$SOFTHSM2_MODULE" --token-label "$1" --login \
	    --pin env:CARAPACE_TEST_PIN --list-objects --type privkey 2>&1
}
for tl in root:root-ca; do
	tok=${tl%%:*}
	label=${tl#*:}
	list_privkeys "$tok" >"$T/objs.txt" || { cat "$T/objs.txt" >&2; fail "pkcs11-tool on $tok"; }
	[ "$(grep -c '^Private Key Object' "$T/objs.txt")" -eq 1 ] ||
	    { cat "$T/objs.txt" >&2; fail "$tok: expected exactly one private key"; }
	grep -Eq "^ *label: *$label\$" "$T/objs.txt" ||
	    { cat "$T/objs.txt" >&2; fail "$tok: the private key is not labelled $label"; }
	access=$(grep 'Access:' "$T/objs.txt" || true)
	for a in "sensitive" "always sensitive" "never extractable"; do
		echo "$access" | grep -Eq "[:,] *$a(,|\$)" ||
		    { cat "$T/objs.txt" >&2; fail "$tok: private key not '$a'"; }
	done
	if echo "$access" | grep -Eq '[:,] *extractable'; then
		cat "$T/objs.txt" >&2
		fail "$tok: private key is extractable"
	fi
	usage=$(grep 'Usage:' "$T/objs.txt" || true)
	case $usage in
	*decrypt*|*unwrap*|*derive*)
		cat "$T/objs.txt" >&2; fail "$tok: CA key allows more than signing ($usage)" ;;
	esac
done
ok "pkcs11-tool: the root key is sensitive, always sensitive, never extractable, sign only"

# The root SPKI fingerprint in the transcript is the root certificate's.
fp=$(openssl x509 -in root.pem -noout -pubkey | openssl pkey -pubin -outform DER |
    openssl dgst -sha256 -r | cut -d' ' -f1)
grep -q "spki-sha256:$fp" transcript ||
    fail "the transcript does not record the root key's SPKI SHA-256 $fp"
for s in inventory keygen root intermediate crl; do
	grep -q "^step $s\$" transcript || fail "the transcript has no '$s' record"
done
ok "transcript records every step and the root SPKI fingerprint"

# Every input and output with its real SHA-256, and the token's serial.
sha() { openssl dgst -sha256 -r "$1" | cut -d' ' -f1; }
for io in "output root-pub.pem" "output root.pem" "input root.pem" \
    "input issuer.csr" "output intermediate.pem" "output root-crl.pem"; do
	f=${io#* }
	grep -q "^$io sha256:$(sha "$f")\$" transcript ||
	    fail "the transcript has no line '$io sha256:$(sha "$f")'"
done
grep -qi "^token token \"root\" (manufacturer \"SoftHSM project\", model \"SoftHSM v2\", serial $tok_serial)\$" transcript ||
    fail "the transcript does not record token root, serial $tok_serial"
grep -q "spki-sha256:$csr_fp" transcript ||
    fail "the transcript does not record the CSR's SPKI SHA-256"
ok "transcript: inputs and outputs with their SHA-256, token serial, CSR key fingerprint"

# --- verify, then tamper ------------------------------------------------------------

cer_ok "carapace-ceremony verify (with the ceremony file)" ceremony.cnf verify
rc=0
"$CER" verify --transcript transcript --root root.pem >"$T/cer.out" 2>&1 </dev/null || rc=$?
[ "$rc" -eq 0 ] || { cat "$T/cer.out" >&2; fail "verify --transcript --root exited $rc"; }
ok "carapace-ceremony verify --transcript transcript --root root.pem"

# verify_copy DESC FILE: verify must reject transcript copy FILE (exit 1).
verify_rejects() {
	rc=0
	"$CER" verify --transcript "$2" --root root.pem >"$T/cer.out" 2>&1 </dev/null || rc=$?
	if [ "$rc" -eq 0 ]; then
		cat "$T/cer.out" >&2
		fail "verify accepted a transcript with $1"
	fi
	[ "$rc" -eq 1 ] || { cat "$T/cer.out" >&2; fail "verify: $1: exit $rc, expected 1"; }
}

size=$(wc -c <transcript)
n=0
# Byte positions spread over the file, plus the first and the last ones.
for pos in 0 1 $((size / 9)) $((size * 2 / 9)) $((size / 3)) $((size * 4 / 9)) \
    $((size * 5 / 9)) $((size * 2 / 3)) $((size * 7 / 9)) $((size * 8 / 9)) \
    $((size - 10)) $((size - 2)) $((size - 1)); do
	cp transcript tampered
	byte=$(od -An -tu1 -j "$pos" -N1 transcript | tr -d ' ')
	new=$(( byte ^ 1 ))
	printf '%b' "\\0$(printf '%03o' "$new")" |
	    dd of=tampered bs=1 seek="$pos" conv=notrunc 2>/dev/null
	cmp -s transcript tampered && fail "could not flip byte $pos"
	verify_rejects "byte $pos flipped" tampered
	n=$((n + 1))
done
ok "verify rejects the transcript with any one of $n single bytes flipped"

# Record boundaries: lines that start a record.
records=$(grep -c '^record ' transcript)
[ "$records" -ge 6 ] || fail "only $records records in the transcript"
# delete_record K: the transcript without its K-th record (1-based).
delete_record() {
	awk -v k="$1" '/^record / { r++ } r != k' transcript
}
for k in 1 2 $((records / 2)) $((records - 1)) "$records"; do
	delete_record "$k" >tampered
	verify_rejects "record $k of $records deleted" tampered
done
ok "verify rejects the transcript with a record deleted (first, middle, last)"

# Two adjacent records swapped.
awk '/^record / { r++ } r == 2 { a = a $0 "\n"; next } r == 3 { b = b $0 "\n"; next }
    r == 4 && !done { printf "%s%s", b, a; done = 1 } { print }' transcript >tampered
cmp -s transcript tampered && fail "could not reorder records"
verify_rejects "records 2 and 3 swapped" tampered
# A record appended without a seal: an unsealed tail.
{ cat transcript; delete_record 1 | awk '/^record / { r++ } r == 1'; } >tampered
verify_rejects "a copied record appended after the last seal" tampered
# Truncated in the middle of the last record.
head -c $((size - 40)) transcript >tampered
verify_rejects "the last record truncated" tampered
ok "verify rejects reordered, appended-to and truncated transcripts"

# An output whose bytes changed after the ceremony.
cp intermediate.pem "$T/ica.keep"
sed 's/^MII/MIJ/' "$T/ica.keep" >intermediate.pem
cmp -s intermediate.pem "$T/ica.keep" && sed '2s/^./A/' "$T/ica.keep" >intermediate.pem
cer ceremony.cnf verify
[ "$rc" -eq 1 ] || { cat "$T/cer.out" >&2; fail "verify accepted a changed intermediate.pem (exit $rc)"; }
grep -q intermediate.pem "$T/cer.out" ||
    { cat "$T/cer.out" >&2; fail "verify did not name intermediate.pem"; }
cp "$T/ica.keep" intermediate.pem
cer_ok "verify passes again with the original intermediate.pem" ceremony.cnf verify

# A root certificate that is not the one that sealed the transcript.
rc=0
"$CER" verify --transcript transcript --root "$T/other.pem" >"$T/cer.out" 2>&1 </dev/null || rc=$?
[ "$rc" -eq 1 ] || { cat "$T/cer.out" >&2; fail "verify against an unrelated root: exit $rc"; }
ok "verify rejects a changed output file and a foreign root certificate"
