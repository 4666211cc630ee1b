#!/bin/sh
# SPDX-License-Identifier: ISC
#
# quickstart.sh: scripts/quickstart's demo (not its install and build) runs
# the whole chain on the programs of this build, into a private directory:
# ceremony, issuer, join token, carapace request, OCSP good, revoke, OCSP
# revoked, CRL. The script checks each step with openssl; this test also
# checks that it exits 0 only when it should, that the daemons are gone
# afterwards, and that the state directory is enough to start the issuer
# again, as the quick start promises.

. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/common.sh"

for p in root-ceremony/carapace-ceremony issuer/carapace-issuer \
    client/carapace ocsp/carapace-ocsp ocsp/carapace-crl; do
	[ -x "$B/$p" ] || fail "$B/$p is not built"
done
command -v pkcs11-tool >/dev/null || { echo "SKIP: pkcs11-tool (opensc) missing"; exit 77; }
openssl engine pkcs11 >/dev/null 2>&1 ||
    { echo "SKIP: OpenSSL's pkcs11 engine (libengine-pkcs11-openssl) missing"; exit 77; }

D=$T/demo
"$S/scripts/quickstart" --no-build --build "$B" --state "$D" >"$T/qs.out" 2>&1 || {
	cat "$T/qs.out" >&2
	fail "scripts/quickstart --no-build failed"
}
cat "$T/qs.out"
tail -n 1 "$T/qs.out" | grep -q '^quickstart: every check held' ||
    fail "quickstart did not end with its success line"
n=$(grep -c '^=== Step [1-8]/8' "$T/qs.out")
[ "$n" -eq 8 ] || fail "quickstart printed $n of 8 steps"
grep -q ': good$' "$T/qs.out" || fail "no OCSP \"good\" line in the output"
grep -q ': revoked$' "$T/qs.out" || fail "no OCSP \"revoked\" line in the output"
ok "quickstart ran all 8 steps"

# Every daemon it started is gone.
for pf in "$D"/run/*.pid; do
	[ -f "$pf" ] || continue
	fail "$pf left behind: $(cat "$pf")"
done
if command -v ss >/dev/null; then
	port=$(sed -n 's|^listen *= *tcp://127.0.0.1:||p' "$D/issuer.cnf")
	[ -z "$(ss -Hltn "sport = :$port")" ] || fail "something still listens on $port"
fi
ok "no daemon left running"

# Independent checks on what it left: the certificate chains to the root
# and is revoked in the CRL; the log's chain verifies.
openssl verify -CAfile "$D/ceremony/root.pem" \
    -untrusted "$D/ceremony/intermediate.pem" "$D/client/web1.pem" >/dev/null ||
    fail "client/web1.pem does not verify"
expect_fail "crl_check of the revoked leaf" openssl verify -crl_check \
    -CRLfile "$D/crl/intermediate.crl.pem" -CAfile "$D/ceremony/root.pem" \
    -untrusted "$D/ceremony/intermediate.pem" "$D/client/web1.pem"
"$B/client/carapace" log verify --log "$D/issuance.db" >/dev/null ||
    fail "carapace log verify --log rejects the demo's log"
ok "the demo's outputs check out with openssl"

# The state directory restarts the issuer: its configuration is complete.
(
	. "$D/env"
	"$B/issuer/carapace-issuer" -c "$D/issuer.cnf" >"$T/restart.log" 2>&1 &
	echo $! >"$T/restart.pid"
)
i=0
until grep -q 'listening on' "$T/restart.log"; do
	kill -0 "$(cat "$T/restart.pid")" 2>/dev/null ||
	    { cat "$T/restart.log" >&2; fail "carapace-issuer -c demo/issuer.cnf did not start"; }
	i=$((i + 1))
	[ $i -lt 100 ] || fail "carapace-issuer -c demo/issuer.cnf: no listener after 10 s"
	sleep 0.1
done
sock=$(sed -n 's/^operator *= *//p' "$D/issuer.cnf")
serial=$(openssl x509 -in "$D/client/web1.pem" -noout -serial | sed 's/^serial=//')
SOFTHSM2_CONF=$D/ceremony/softhsm2.conf "$B/client/carapace" show -S "$sock" "$serial" \
    >"$T/show.out" 2>&1 || { cat "$T/show.out" >&2; kill "$(cat "$T/restart.pid")"; fail "carapace show after the restart"; }
kill -TERM "$(cat "$T/restart.pid")"
i=0
while kill -0 "$(cat "$T/restart.pid")" 2>/dev/null; do
	i=$((i + 1))
	[ $i -lt 100 ] || { kill -9 "$(cat "$T/restart.pid")"; fail "the restarted issuer ignores SIGTERM"; }
	sleep 0.1
done
grep -q '^status: *revoked' "$T/show.out" ||
    { cat "$T/show.out" >&2; fail "after the restart the log does not show $serial revoked"; }
ok "carapace-issuer -c demo/issuer.cnf starts again and remembers the revocation"

# A second run into the same state directory is refused, not merged.
expect_fail "quickstart into a used state directory" \
    "$S/scripts/quickstart" --no-build --build "$B" --state "$D"
grep -q 'exists from an earlier run' "$T/expect_fail.out" ||
    fail "a used state directory is refused without saying why"
ok "a used state directory is refused"
