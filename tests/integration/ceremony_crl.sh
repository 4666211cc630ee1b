#!/bin/sh
# SPDX-License-Identifier: ISC
# ceremony_crl.sh: the root CRL. Two intermediates are signed, both are
# revoked (one named by its certificate file, one by its serial), and the
# CRL must list each with its reason and date, verify with OpenSSL and
# GnuTLS, and make `openssl verify -crl_check` reject the intermediate. The
# CRL number must grow on every run, also when the number file is deleted
# or rolled back. A revocation with an unknown reason is refused.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"
. "$S/tests/integration/ceremony_common.sh"

token_init root
D=$T/c
mkdir "$D"
cer_config "$D" root
cd "$D"

# Extra root extensions from the file, a second intermediate and the CRL's
# revocation list.
sed -i 's/^\[root\]$/[root]\nextensions = root_ext/' ceremony.cnf
sed -i 's/^\[crl\]$/[crl]\nrevoked = crl_revoked/' ceremony.cnf
cat >>ceremony.cnf <<'EOF'

[root_ext]
certificatePolicies = 1.3.6.1.4.1.311.21.8.1.1

[intermediate2]
csr     = issuer2.csr
output  = intermediate2.pem
days    = 365
digest  = sha256
profile = intermediate_profile
EOF

cer_ok "keygen" ceremony.cnf keygen
cer_ok "root (with extensions = root_ext)" ceremony.cnf root
openssl x509 -in root.pem -noout -text >"$T/root.txt"
grep -q "Policy: 1.3.6.1.4.1.311.21.8.1.1" "$T/root.txt" ||
    { cat "$T/root.txt" >&2; fail "root.pem lacks the certificatePolicies from [root_ext]"; }
ok "root.pem carries the extra extension from [root_ext]"

soft_csr issuer.csr "Issuing CA 1"
soft_csr issuer2.csr "Issuing CA 2"
cer_ok "intermediate 1" ceremony.cnf intermediate
cer_ok "intermediate 2 (--section intermediate2)" ceremony.cnf --section intermediate2 intermediate
s1=$(openssl x509 -in intermediate.pem -noout -serial | cut -d= -f2)
s2=$(openssl x509 -in intermediate2.pem -noout -serial | cut -d= -f2)
[ "$s1" != "$s2" ] || fail "both intermediates have serial $s1"
for f in intermediate.pem intermediate2.pem; do
	openssl verify -CAfile root.pem "$f" >/dev/null 2>&1 || fail "$f does not verify"
done

revtime=$(date -u -d '1 hour ago' +%Y%m%d%H%M%SZ)
cat >>ceremony.cnf <<EOF

[crl_revoked]
ica1 = intermediate.pem, keyCompromise, $revtime
ica2 = 0x$s2, cessationOfOperation
EOF
for k in 2 3 4; do
	cat >>ceremony.cnf <<EOF

[crl$k]
output      = root-crl-$k.pem
days        = 30
digest      = sha384
number_file = crlnumber
revoked     = crl_revoked
EOF
done

# --- the first CRL -------------------------------------------------------------

cer_ok "crl" ceremony.cnf crl
[ -s root-crl.pem ] || fail "crl wrote no root-crl.pem"
openssl crl -in root-crl.pem -CAfile root.pem -verify -noout >"$T/v.out" 2>&1 ||
    { cat "$T/v.out" >&2; fail "openssl crl -verify rejects root-crl.pem"; }
openssl crl -in root-crl.pem -noout -text >"$T/crl.txt"

# crl_entry SERIAL: the CRL text from that serial's entry to the next entry.
crl_entry() {
	awk -v s="$1" '/Serial Number:/ { on = (toupper($3) == toupper(s)) } on' "$T/crl.txt"
}
crl_entry "$s1" >"$T/e1"
crl_entry "$s2" >"$T/e2"
[ -s "$T/e1" ] || { cat "$T/crl.txt" >&2; fail "serial $s1 (intermediate.pem) is not on the CRL"; }
[ -s "$T/e2" ] || { cat "$T/crl.txt" >&2; fail "serial $s2 (intermediate2.pem) is not on the CRL"; }
grep -q "Key Compromise" "$T/e1" || { cat "$T/e1" >&2; fail "intermediate 1: reason is not keyCompromise"; }
grep -q "Cessation Of Operation" "$T/e2" || { cat "$T/e2" >&2; fail "intermediate 2: reason is not cessationOfOperation"; }
want=$(date -u -d "$(echo "$revtime" | sed 's/^\(....\)\(..\)\(..\)\(..\)\(..\)\(..\)Z$/\1-\2-\3 \4:\5:\6/')" '+%b %e %H:%M:%S %Y')
grep -q "Revocation Date: $want GMT" "$T/e1" ||
    { cat "$T/e1" >&2; fail "intermediate 1: revocation date is not $want"; }
[ "$(grep -c 'Serial Number:' "$T/crl.txt")" -eq 2 ] ||
    fail "the CRL does not list exactly the two revoked intermediates"
grep -q "Version 2" "$T/crl.txt" || fail "the CRL is not v2"
grep -q "X509v3 Authority Key Identifier" "$T/crl.txt" || fail "the CRL has no AKI"
last=$(date -u -d "$(openssl crl -in root-crl.pem -noout -lastupdate | cut -d= -f2)" +%s)
next=$(date -u -d "$(openssl crl -in root-crl.pem -noout -nextupdate | cut -d= -f2)" +%s)
[ $((next - last)) -eq $((30 * 86400)) ] ||
    fail "nextUpdate - thisUpdate is $((next - last)) s, not 30 days"
ok "root-crl.pem lists $s1 keyCompromise at $revtime and $s2 cessationOfOperation; v2, AKI, 30 days"

rc=0
openssl verify -crl_check -CRLfile root-crl.pem -CAfile root.pem intermediate.pem \
    >"$T/v.out" 2>&1 || rc=$?
if [ "$rc" -eq 0 ] || ! grep -q "certificate revoked" "$T/v.out"; then
	cat "$T/v.out" >&2
	fail "openssl verify -crl_check does not see intermediate.pem revoked"
fi
ok "openssl verify -crl_check: intermediate.pem is revoked"

if command -v certtool >/dev/null; then
	certtool --verify-crl --load-ca-certificate root.pem --infile root-crl.pem \
	    >"$T/g.out" 2>&1 || { cat "$T/g.out" >&2; fail "certtool --verify-crl"; }
	certtool --crl-info --infile root-crl.pem >"$T/g.out" 2>&1 ||
	    fail "certtool --crl-info"
	grep -q "Revoked certificates (2)" "$T/g.out" ||
	    { cat "$T/g.out" >&2; fail "certtool does not count 2 revoked certificates"; }
	ok "GnuTLS certtool verifies the CRL and counts 2 revoked certificates"
fi

# --- the CRL number never goes down ---------------------------------------------

crlnum() {
	n=$(openssl crl -in "$1" -noout -crlnumber | sed 's/^crlNumber=//')
	case $n in
	0x*) printf '%d\n' "$n" ;;
	[0-9]*) echo "$n" ;;
	*) fail "$1: no CRL number" ;;
	esac
}
n1=$(crlnum root-crl.pem)
[ -f crlnumber ] || fail "crl did not write its number file"
cp crlnumber "$T/crlnumber.1"

cer_ok "crl again (--section crl2)" ceremony.cnf -s crl2 crl
n2=$(crlnum root-crl-2.pem)
[ "$n2" -gt "$n1" ] || fail "second CRL number $n2 is not above $n1"

rm crlnumber
cer_ok "crl after the number file was deleted" ceremony.cnf -s crl3 crl
n3=$(crlnum root-crl-3.pem)
[ "$n3" -gt "$n2" ] || fail "CRL number $n3 after deleting the number file is not above $n2"

cp "$T/crlnumber.1" crlnumber
cer_ok "crl after the number file was rolled back" ceremony.cnf -s crl4 crl
n4=$(crlnum root-crl-4.pem)
[ "$n4" -gt "$n3" ] || fail "CRL number $n4 after rolling the number file back is not above $n3"
ok "CRL numbers $n1 < $n2 < $n3 (number file deleted) < $n4 (rolled back)"

# --- bad revocation entries -------------------------------------------------------

cat >>ceremony.cnf <<'EOF'

[crl_badreason]
output      = root-crl-bad.pem
days        = 30
digest      = sha384
number_file = crlnumber
revoked     = crl_revoked_badreason

[crl_revoked_badreason]
ica1 = intermediate.pem, notAReason

[crl_badfile]
output      = root-crl-bad.pem
days        = 30
digest      = sha384
number_file = crlnumber
revoked     = crl_revoked_badfile

[crl_revoked_badfile]
gone = no-such-intermediate.pem, superseded
EOF
cp crlnumber "$T/crlnumber.before"
refused_section() {
	# as refused, with --section
	desc=$1 want=$2 pattern=$3 sect=$4
	cp transcript "$T/transcript.before"
	cer ceremony.cnf -s "$sect" crl
	rc_in "$want" || { cat "$T/cer.out" >&2; fail "$desc: exit $rc, expected $want"; }
	grep -Eiq -- "$pattern" "$T/cer.err" ||
	    { cat "$T/cer.out" >&2; fail "$desc: the error does not match /$pattern/"; }
	[ ! -e root-crl-bad.pem ] || fail "$desc: root-crl-bad.pem was written"
	tail_records "$T/transcript.before" transcript >"$T/tail"
	if [ "$(wc -l <"$T/tail")" -ne 1 ] || ! grep -q '^crl failed' "$T/tail"; then
		cat "$T/tail" >&2
		fail "$desc: expected one 'crl failed' record"
	fi
	cmp -s crlnumber "$T/crlnumber.before" || fail "$desc: the number file changed"
	ok "$desc: exit $rc"
}
refused_section "unknown revocation reason" 2 "notAReason" crl_badreason
refused_section "revoked certificate file missing" "1|2" "no-such-intermediate\.pem" crl_badfile

# --- the transcript --------------------------------------------------------------

[ "$(grep -c '^step crl$' transcript)" -ge 6 ] || fail "not every crl run is in the transcript"
rc=0
"$CER" verify --transcript transcript --root root.pem --allow-unsealed \
    >"$T/cer.out" 2>&1 </dev/null || rc=$?
[ "$rc" -eq 0 ] || { cat "$T/cer.out" >&2; fail "verify after the CRL runs: exit $rc"; }
ok "the transcript of all CRL runs, failed ones included, verifies"
