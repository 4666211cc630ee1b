#!/bin/sh
# SPDX-License-Identifier: ISC
# crl_publish.sh: carapace-crl --once against an issuance log filled with
# leaves signed by the ceremony's intermediate (in SoftHSM), checked with
# OpenSSL: `openssl crl -verify` accepts the CRL, it lists exactly the
# revoked serials with their reasons, the DER and PEM files hold the same
# CRL, and `openssl verify -crl_check` rejects a revoked leaf and accepts a
# good one.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"
. "$S/tests/integration/crl_common.sh"

"$CRL" --help | grep -q -- --once || fail "--help does not mention --once"
"$CRL" --version | grep -q '^carapace-crl ' || fail "--version"
rc=0; "$CRL" --bogus >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "an unknown option exits $rc, not 2"

crl_issue 5

# No revocation yet: a valid CRL with no entries.
crl_once || { cat "$T/crl.out" >&2; fail "carapace-crl --once (empty)"; }
openssl crl -in "$T/out/crl.pem" -CAfile "$CHAIN" -verify -noout \
    >"$T/v.out" 2>&1 || { cat "$T/v.out" >&2; fail "openssl crl -verify (empty)"; }
openssl crl -in "$T/out/crl.pem" -noout -text | grep -q "No Revoked Certificates" ||
    fail "the empty CRL lists something"
[ "$(crl_number)" = 1 ] || fail "first CRL number is $(crl_number), not 1"
ok "empty CRL number 1 verifies"

crl_revoke 1 1		# keyCompromise
crl_revoke 2 0		# unspecified: no reasonCode extension
crl_revoke 3 4		# superseded
crl_once || { cat "$T/crl.out" >&2; fail "carapace-crl --once"; }
grep -q "published CRL number 2: 3 entries" "$T/crl.out" ||
    { cat "$T/crl.out" >&2; fail "unexpected report"; }

openssl crl -in "$T/out/crl.pem" -CAfile "$CHAIN" -verify -noout \
    >"$T/v.out" 2>&1 || { cat "$T/v.out" >&2; fail "openssl crl -verify"; }
grep -q "verify OK" "$T/v.out" || fail "openssl crl did not say verify OK"
openssl crl -in "$T/out/crl.der" -inform DER -CAfile "$CHAIN" -verify -noout \
    >/dev/null 2>&1 || fail "openssl crl -verify (DER)"
ok "openssl crl -verify accepts the CRL (PEM and DER)"

openssl crl -in "$T/out/crl.der" -inform DER -outform PEM >"$T/der2pem.pem" ||
    fail "openssl crl cannot read the DER"
cmp -s "$T/der2pem.pem" "$T/out/crl.pem" || fail "crl.der and crl.pem differ"

sed -n '1,3p' "$T/serials" | tr a-f A-F | sort >"$T/want"
crl_serials >"$T/got"
cmp -s "$T/want" "$T/got" || { diff "$T/want" "$T/got" >&2; fail "the CRL does not list exactly the revoked serials"; }
ok "the CRL lists exactly the 3 revoked serials"

openssl crl -in "$T/out/crl.der" -inform DER -noout -text >"$T/text"
# Reason per serial, from OpenSSL's own listing.
reason_of() {
	s=$(sed -n "$1p" "$T/serials" | tr a-f A-F)
	awk -v s="$s" '
	    /Serial Number:/ { cur = toupper($3) }
	    /CRL Reason Code/ { getline; r = $1; sub(/^ +/, "", r); if (cur == s) print }
	' "$T/text" | sed 's/^ *//'
}
[ "$(reason_of 1)" = "Key Compromise" ] || fail "leaf 1: reason '$(reason_of 1)'"
[ -z "$(reason_of 2)" ] || fail "leaf 2: an unspecified reason is encoded"
[ "$(reason_of 3)" = "Superseded" ] || fail "leaf 3: reason '$(reason_of 3)'"
[ "$(grep -c 'X509v3 CRL Reason Code' "$T/text")" = 2 ] || fail "reason count"
grep -q "Version 2" "$T/text" || fail "not a v2 CRL"
grep -q "X509v3 Authority Key Identifier" "$T/text" || fail "no AKI"
ski=$(openssl x509 -in "$CA/intermediate.pem" -noout -ext subjectKeyIdentifier | sed -n 2p | tr -d ' ')
grep -A1 "Authority Key Identifier" "$T/text" | grep -qF "$ski" ||
    fail "the AKI is not the intermediate's SKI ($ski)"
grep -q "Next Update:" "$T/text" || fail "no nextUpdate"
[ "$(crl_number)" = 2 ] || fail "second CRL number is $(crl_number)"
ok "reasons, AKI, nextUpdate and CRL number 2 are right"

# Relying party: revoked leaf rejected, good leaf accepted.
rc=0
openssl verify -crl_check -CRLfile "$T/out/crl.pem" -CAfile "$CHAIN" \
    "$T/leaves/leaf-1.pem" >"$T/verify.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "openssl verify -crl_check accepts revoked leaf-1"
grep -q "certificate revoked" "$T/verify.out" ||
    { cat "$T/verify.out" >&2; fail "leaf-1 rejected, but not as revoked"; }
openssl verify -crl_check -CRLfile "$T/out/crl.pem" -CAfile "$CHAIN" \
    "$T/leaves/leaf-4.pem" >"$T/verify.out" 2>&1 ||
    { cat "$T/verify.out" >&2; fail "openssl verify -crl_check rejects good leaf-4"; }
ok "openssl verify -crl_check: revoked leaf rejected, good leaf accepted"

# The published files are world-readable, the state is not.
[ "$(stat -c %a "$T/out/crl.der")" = 644 ] || fail "crl.der mode"
ls "$T/out" | grep -q tmp && fail "temporary files left in the output directory"

# Configuration errors name the key.
crl_config "rebuild_intervall = 5m"
rc=0; crl_once || rc=$?
[ "$rc" = 2 ] || fail "a misspelled key exits $rc, not 2"
grep -q "rebuild_intervall" "$T/crl.out" || fail "the misspelled key is not named"
crl_config "rebuild_interval = 2d"
sed -i '/^rebuild_interval *= 1h$/d' "$T/crl.cnf"
rc=0; crl_once || rc=$?
[ "$rc" = 2 ] && grep -q "shorter than next_update" "$T/crl.out" ||
    { cat "$T/crl.out" >&2; fail "rebuild_interval >= next_update accepted"; }
ok "configuration errors are refused with exit 2"
