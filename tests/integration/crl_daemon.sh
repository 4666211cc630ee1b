#!/bin/sh
# SPDX-License-Identifier: ISC
# crl_daemon.sh: carapace-crl without --once. It publishes at start, then
# republishes soon after a revocation is written to the log (it polls
# PRAGMA data_version), long before its hourly schedule; issuing a
# certificate alone does not make a new CRL; SIGTERM stops it cleanly with
# exit 0. Checked with `openssl crl`.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"
. "$S/tests/integration/crl_common.sh"

crl_issue 3
crl_config "poll_ms = 100"
"$CRL" -c "$T/crl.cnf" >"$T/daemon.out" 2>&1 &
pid=$!
# Stop the daemon on any exit, keeping the test's exit status.
stop_daemon() {
	kill -TERM "$pid" 2>/dev/null || true
}
trap 'rc=$?; stop_daemon; cleanup $rc' EXIT INT TERM

# wait_number N: up to 10 s for CRL number N to be published.
wait_number() {
	i=0
	while [ $i -lt 100 ]; do
		if [ -f "$T/out/crl.der" ] && [ "$(crl_number)" -ge "$1" ]; then
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || { cat "$T/daemon.out" >&2; fail "the daemon died"; }
		sleep 0.1
		i=$((i + 1))
	done
	cat "$T/daemon.out" >&2
	fail "CRL number $1 not published within 10 s"
}

wait_number 1
[ -z "$(crl_serials)" ] || fail "the first CRL lists something"
ok "the daemon published CRL number 1 at start"

crl_issue 1		# a commit that is not a revocation
sleep 1
[ "$(crl_number)" = 1 ] || fail "an issuance alone made CRL $(crl_number)"

t0=$(date +%s%N)
crl_revoke 2 3
wait_number 2
t1=$(date +%s%N)
sed -n 2p "$T/serials" | tr a-f A-F >"$T/want"
crl_serials >"$T/got"
cmp -s "$T/want" "$T/got" || fail "CRL 2 does not list exactly leaf 2"
openssl crl -in "$T/out/crl.pem" -CAfile "$CHAIN" -verify -noout \
    >/dev/null 2>&1 || fail "openssl crl -verify (daemon)"
ok "a revocation was published in $(( (t1 - t0) / 1000000 )) ms"

kill -TERM "$pid"
rc=0; wait "$pid" || rc=$?
[ "$rc" = 0 ] || { cat "$T/daemon.out" >&2; fail "SIGTERM: exit $rc"; }
grep -q "stopping" "$T/daemon.out" || fail "no clean stop logged"
ok "SIGTERM stops the daemon with exit 0"
