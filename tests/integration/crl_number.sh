#!/bin/sh
# SPDX-License-Identifier: ISC
# crl_number.sh: the CRL number only ever grows. Across runs (restarts) it
# increases; a number reserved in the state file by a run that crashed
# before publishing is skipped, never reused; a run whose publishing fails
# leaves the published files whole and no temporary files behind; a state
# file that was rolled back below the published CRL, that is missing while
# a CRL is published, or that belongs to another CA key is refused (exit 3
# or 1) and the published CRL is left as it was. Numbers are read with
# `openssl crl -crlnumber`.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"
. "$S/tests/integration/crl_common.sh"

crl_issue 3
crl_revoke 1 1

for n in 1 2 3; do
	crl_once || { cat "$T/crl.out" >&2; fail "run $n"; }
	[ "$(crl_number)" = "$n" ] || fail "run $n published number $(crl_number)"
done
grep -q "^crl_number 3\$" "$T/state/crl.state" || fail "state does not say 3"
ok "CRL numbers 1, 2, 3 across three runs"

# A crash after the reservation's rename and before publishing leaves the
# state one ahead of the published CRL. That number must not be reused.
sed -i 's/^crl_number 3$/crl_number 4/' "$T/state/crl.state"
crl_once || { cat "$T/crl.out" >&2; fail "run after a simulated crash"; }
[ "$(crl_number)" = 5 ] || fail "after a crash at 4, published $(crl_number), not 5"
ok "a number reserved by a crashed run is skipped (4), the next is 5"

# A real failure after the reservation: the PEM cannot be written.
cp "$T/out/crl.der" "$T/before.der"
rm -f "$T/out/crl.pem"
mkdir "$T/out/crl.pem"
rc=0; crl_once || rc=$?
[ "$rc" -ne 0 ] || fail "publishing over a directory succeeded"
rmdir "$T/out/crl.pem"
openssl crl -inform DER -in "$T/out/crl.der" -CAfile "$CHAIN" -verify -noout \
    >/dev/null 2>&1 || fail "crl.der is not a whole, valid CRL after a failure"
ls -A "$T/out" "$T/state" | grep -q '\.tmp-' && fail "temporary files left behind"
grep -q "^crl_number 6\$" "$T/state/crl.state" || fail "the failed run did not reserve 6"
crl_once || { cat "$T/crl.out" >&2; fail "run after a failed publication"; }
[ "$(crl_number)" = 7 ] || fail "after a failed run, published $(crl_number), not 7"
ok "a failed publication leaves whole files, and its number is not reused"

# Rolled back (tampered) state: refused, nothing changes.
sum=$(sha256sum "$T/out/crl.der" "$T/out/crl.pem")
cp "$T/state/crl.state" "$T/state.good"
sed -i 's/^crl_number 7$/crl_number 2/' "$T/state/crl.state"
rc=0; crl_once || rc=$?
[ "$rc" = 3 ] || { cat "$T/crl.out" >&2; fail "a rolled-back state exits $rc, not 3"; }
grep -q "not greater than the last one" "$T/crl.out" || fail "no clear message"
[ "$sum" = "$(sha256sum "$T/out/crl.der" "$T/out/crl.pem")" ] ||
    fail "the published CRL changed although the run was refused"
ok "a state rolled back below the published number is refused (exit 3)"

# One below the published number is refused as well.
sed -i 's/^crl_number 2$/crl_number 6/' "$T/state/crl.state"
rc=0; crl_once || rc=$?
[ "$rc" = 3 ] || fail "a state below the published number (6 < 7) exits $rc"

# Missing state while a CRL is published: refused.
rm "$T/state/crl.state"
rc=0; crl_once || rc=$?
[ "$rc" = 3 ] || fail "a missing state file exits $rc, not 3"
grep -q "refusing to guess" "$T/crl.out" || fail "no clear message (missing)"

# Another CA's state: refused.
sed 's/^issuer_key_id .*/issuer_key_id 00112233/' "$T/state.good" >"$T/state/crl.state"
rc=0; crl_once || rc=$?
[ "$rc" -ne 0 ] || fail "another CA's state file was accepted"
grep -q "another CA key" "$T/crl.out" || fail "no clear message (other key)"
[ "$sum" = "$(sha256sum "$T/out/crl.der" "$T/out/crl.pem")" ] ||
    fail "the published CRL changed although the runs were refused"
ok "missing or foreign state files are refused"

cp "$T/state.good" "$T/state/crl.state"
crl_once || { cat "$T/crl.out" >&2; fail "run after restoring the state"; }
[ "$(crl_number)" = 8 ] || fail "after restoring, published $(crl_number), not 8"
ok "restoring the state file continues at 8"
