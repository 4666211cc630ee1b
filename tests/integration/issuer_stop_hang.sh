#!/bin/sh
# SPDX-License-Identifier: ISC
# issuer_stop_hang.sh: nng_close never returns at shutdown. nng 1.5 has
# been seen, after a connection flood, to wait for ever for connections it
# never reaps; carapace-issuer must still stop. The issuer runs as
# tests/tools/issuer_faults, whose socket close "hangs" while
# $CARAPACE_TEST_CLOSE_HANG names a file that exists. On SIGTERM the
# issuer must, within its close bound (10 s for both sockets):
#   - say which socket it left open;
#   - still record the chain head and close the log, and exit 0;
# and a restarted issuer on the same log serves and verifies it.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"
. "$S/tests/integration/issuer_common.sh"

FAULTS=$B/tests/tools/issuer_faults
[ -x "$FAULTS" ] || fail "$FAULTS: not built (make tests/tools/issuer_faults)"
REAL=$ISSUER

iss_setup
ISSUER=$FAULTS
CARAPACE_TEST_CLOSE_HANG=$T/close-hangs
export CARAPACE_TEST_CLOSE_HANG
iss_start
token "$T/tok" web.example.internal
token "$T/tok2" later.example.internal
car_ok "a request before the stop" request -s "$URL" --token-file "$T/tok" \
    --name web.example.internal --key-out "$T/k.pem" --cert-out "$T/c.pem"

: >"$CARAPACE_TEST_CLOSE_HANG"
start=$(date +%s)
kill -TERM "$ISS_PID"
# A watchdog: the test fails rather than hangs if the bound does not hold.
( sleep 60; kill -KILL "$ISS_PID" 2>/dev/null ) &
dog=$!
src=0
wait "$ISS_PID" || src=$?
kill "$dog" 2>/dev/null || :
ISS_PID=
took=$(($(date +%s) - start))
rm -f "$CARAPACE_TEST_CLOSE_HANG"
sanitizer_clean "$T/issuer.err"
[ $src -eq 0 ] || { tail -n 5 "$T/issuer.err" >&2; fail "the issuer exited $src (killed by the watchdog: 137) after SIGTERM with a hanging nng_close"; }
grep -q 'shutdown: the network socket did not close within 10 s of the stop' "$T/issuer.err" ||
    fail "the issuer does not say which socket it left open"
grep -q 'chain head at shutdown: entry' "$T/issuer.err" ||
    fail "the issuer did not record the chain head"
grep -q 'stopped cleanly' "$T/issuer.err" || fail "the issuer did not close the log"
ok "SIGTERM with nng_close hanging: exit 0 after $took s, the socket named, the head recorded"

ISSUER=$REAL
unset CARAPACE_TEST_CLOSE_HANG
iss_start same
car_ok "a request after the restart" request -s "$URL" --token-file "$T/tok2" \
    --name later.example.internal --key-out "$T/k2.pem" --cert-out "$T/c2.pem"
car_ok "log verify" log verify -S "$OPS"
grep -q '^log verify: OK' "$T/car.stdout" || fail "log verify did not say OK"
iss_stop
echo "PASS: issuer stop with a hanging nng_close"
