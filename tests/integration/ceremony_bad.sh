#!/bin/sh
# SPDX-License-Identifier: ISC
# ceremony_bad.sh: bad input to carapace-ceremony. Each case must give an
# error that names the problem, a non-zero exit status (1 for refused
# input, 2 for a configuration error), no output file, and exactly one
# "failed" record appended to the transcript. Covers the hostile CSRs in
# tests/data/bad/, a validity past the root's, missing and misspelled
# sections and keys, and outputs that already exist (left byte for byte
# as they were).

. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"
. "$S/tests/integration/ceremony_common.sh"

token_init root
D=$T/c
mkdir "$D"
cer_config "$D" root
cd "$D"
cer_ok "keygen" ceremony.cnf keygen
cer_ok "root" ceremony.cnf root
soft_csr good.csr "Issuing CA 1"

# --- hostile CSRs ------------------------------------------------------------------

# csr_case FILE PATTERN: the CSR file from tests/data/bad must be refused.
csr_case() {
	rm -f issuer.csr
	cp "$BAD/$1" issuer.csr
	refused "$1" 1 "$2" ceremony.cnf intermediate "$D/intermediate.pem"
}
csr_case ceremony_csr_badsig.pem "signature"
csr_case ceremony_csr_ca_pathlen5.pem "path ?len"
csr_case ceremony_csr_ca_nopathlen.pem "path ?len"
csr_case ceremony_csr_rsa1024.pem "1024|2048"
csr_case ceremony_csr_secp256k1.pem "secp256k1|curve"
csr_case ceremony_csr_truncated.der "issuer\.csr"
csr_case ceremony_csr_trailing.der "trailing"

# Not a CSR at all: a certificate, and an empty file.
cp root.pem issuer.csr
refused "a certificate given as the CSR" 1 "issuer\.csr" ceremony.cnf intermediate \
    "$D/intermediate.pem"
: >issuer.csr
refused "an empty CSR file" 1 "issuer\.csr" ceremony.cnf intermediate \
    "$D/intermediate.pem"
rm -f issuer.csr
refused "a CSR file that does not exist" 1 "issuer\.csr" ceremony.cnf intermediate \
    "$D/intermediate.pem"

# A key type the profile does not list (this one is P-256; allow P-384 only).
cp good.csr issuer.csr
sed 's/^\[intermediate\]$/[intermediate]\nkey_types = ec-p384/' ceremony.cnf >p384only.cnf
refused "a P-256 CSR where the profile lists ec-p384 only" 1 "p-?256|prime256v1|key type" \
    p384only.cnf intermediate "$D/intermediate.pem"

# --- validity -----------------------------------------------------------------------

sed 's/^days       = 1825$/days       = 4000/' ceremony.cnf >long.cnf
grep -q '^days       = 4000$' long.cnf || fail "could not make long.cnf"
refused "an intermediate valid past the root's notAfter" 1 "past.*root|root.*(notAfter|not after)" long.cnf intermediate \
    "$D/intermediate.pem"

# --- the ceremony file ------------------------------------------------------------

# A missing section: no [crl] at all.
awk '/^\[crl\]$/ { skip = 1; next } /^\[/ { skip = 0 } !skip' ceremony.cnf >nocrl.cnf
refused "missing [crl] section" 2 "nocrl\.cnf.*\[?crl" nocrl.cnf crl \
    "$D/root-crl.pem"

# A misspelled section header: [intermedaite].
sed 's/^\[intermediate\]$/[intermedaite]/' ceremony.cnf >typo-section.cnf
refused "misspelled section [intermedaite]" 2 "typo-section\.cnf.*\[?intermed" \
    typo-section.cnf intermediate "$D/intermediate.pem"

# A reference to a misspelled section: profile = intermediate_profil.
sed 's/^profile    = intermediate_profile$/profile    = intermediate_profil/' \
    ceremony.cnf >typo-ref.cnf
grep -q 'intermediate_profil$' typo-ref.cnf || fail "could not make typo-ref.cnf"
refused "profile naming a section that does not exist" 2 "typo-ref\.cnf.*intermediate_profil\b" \
    typo-ref.cnf intermediate "$D/intermediate.pem"

# A misspelled key: dayz instead of days.
sed 's/^days       = 1825$/dayz       = 1825/' ceremony.cnf >typo-key.cnf
refused "misspelled key dayz in [intermediate]" 2 "typo-key\.cnf.*(dayz|days)" typo-key.cnf \
    intermediate "$D/intermediate.pem"

# A misspelled extension name in the profile.
sed 's/^keyUsage              =/keyUsages             =/' ceremony.cnf >typo-ext.cnf
refused "misspelled extension keyUsages in the profile" 2 "keyUsages" typo-ext.cnf \
    intermediate "$D/intermediate.pem"

# A required key missing: no output in [intermediate].
grep -v '^output     = intermediate.pem$' ceremony.cnf >noout.cnf
refused "[intermediate] without output" 2 "noout\.cnf.*output" noout.cnf intermediate \
    "$D/intermediate.pem"

# A bad number.
sed 's/^days       = 1825$/days       = 18x5/' ceremony.cnf >badnum.cnf
refused "days = 18x5" 2 "badnum\.cnf.*days" badnum.cnf intermediate "$D/intermediate.pem"

# A profile that does not make a CA.
sed 's/^basicConstraints      = critical, CA:TRUE, pathlen:0$/basicConstraints      = critical, CA:FALSE/' \
    ceremony.cnf >notca.cnf
refused "a profile with CA:FALSE" 2 "CA:TRUE|CA:FALSE|basicConstraints" notca.cnf \
    intermediate "$D/intermediate.pem"

# Root extensions that contradict what root always writes.
sed 's/^\[root\]$/[root]\nextensions = root_bad_ext/' ceremony.cnf >rootext.cnf
printf '\n[root_bad_ext]\nbasicConstraints = critical, CA:FALSE\n' >>rootext.cnf
sed -i 's/^root_cert  = root.pem$/root_cert  = root2.pem/' rootext.cnf
refused "root extensions with CA:FALSE" 2 "basicConstraints" rootext.cnf root \
    "$D/root2.pem"

# GeneralNames that RFC 5280 does not define (issue 19): each is refused
# with a message that quotes the value and says what the right form is.
# gn_case DESC PATTERN OLD NEW: the profile's line OLD becomes NEW.
gn_case() {
	sed "s|^$3|$4|" ceremony.cnf >gn.cnf
	grep -qF -- "$4" gn.cnf || fail "could not make gn.cnf for $1"
	refused "$1" 2 "$2" gn.cnf intermediate "$D/intermediate.pem"
}
NC='nameConstraints       = critical, '
gn_case "a DNS constraint with a leading dot" \
    'DNS name constraint "\.example\.internal".*RFC 5280 4\.2\.1\.10.*"example\.internal" already covers' \
    "${NC}permitted;DNS:example.internal" "${NC}permitted;DNS:.example.internal"
gn_case "a DNS constraint with an empty label" \
    'DNS name "example\.\.internal": an empty label' \
    "${NC}permitted;DNS:example.internal" "${NC}permitted;DNS:example..internal"
gn_case "an IP constraint with a non-contiguous mask" \
    'IP constraint 10\.0\.0\.0/255\.0\.255\.0: the mask is not contiguous' \
    "${NC}permitted;DNS:example.internal" \
    "${NC}permitted;DNS:example.internal, permitted;IP:10.0.0.0/255.0.255.0"
gn_case "an OCSP URL without a scheme" \
    'authorityInfoAccess: URI "ocsp\.example\.internal/": not an absolute URI' \
    "authorityInfoAccess   = OCSP;URI:http://ocsp.example.internal/" \
    "authorityInfoAccess   = OCSP;URI:ocsp.example.internal/"
gn_case "a CRL distribution point without a host" \
    'crlDistributionPoints: URI "http:///root\.crl": no host' \
    "crlDistributionPoints = URI:http://pki.example.internal/root.crl" \
    "crlDistributionPoints = URI:http:///root.crl"

# --- outputs that already exist ---------------------------------------------------

# exists_case DESC CNF STEP FILE: FILE exists; STEP must refuse and leave it.
exists_case() {
	cp "$4" "$T/keep"
	refused "$1" 1 "$(basename "$4").*exist|exist.*$(basename "$4")" "$2" "$3"
	cmp -s "$4" "$T/keep" || fail "$1: $4 was changed"
}
cp good.csr issuer.csr
printf 'placeholder: an intermediate.pem that must not be overwritten\n' >intermediate.pem
exists_case "intermediate.pem already exists" ceremony.cnf intermediate intermediate.pem
rm intermediate.pem
exists_case "root.pem already exists (root run twice)" ceremony.cnf root root.pem
printf 'placeholder CRL\n' >root-crl.pem
exists_case "root-crl.pem already exists" ceremony.cnf crl root-crl.pem
rm root-crl.pem

# Nothing above consumed a CRL number or wrote an intermediate.
[ ! -e crlnumber ] || fail "a refused crl step wrote the number file"

# --- the good path still works, and the transcript is whole -----------------------

cer_ok "intermediate with the good CSR after all the refusals" ceremony.cnf intermediate
openssl verify -CAfile root.pem intermediate.pem >/dev/null 2>&1 ||
    fail "intermediate.pem does not verify"
failed=$(grep -c '^outcome failed' transcript)
[ "$failed" -ge 20 ] || fail "only $failed failed records in the transcript"
assert_no_pin "$D/transcript" "$T/cer.out"
rc=0
"$CER" verify --transcript transcript --root root.pem >"$T/cer.out" 2>&1 </dev/null || rc=$?
[ "$rc" -eq 0 ] || { cat "$T/cer.out" >&2; fail "verify of a transcript with $failed failed records: exit $rc"; }
ok "the transcript with $failed failed records verifies"
