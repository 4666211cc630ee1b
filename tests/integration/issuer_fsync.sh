#!/bin/sh
# SPDX-License-Identifier: ISC
# issuer_fsync.sh: the fsync after a certificate's COMMIT fails. The
# issuer runs as tests/tools/issuer_faults (carapace-issuer with the
# issuance log's ILOG_TEST_HOOKS fault point: the WAL's fsync fails with
# EIO while $CARAPACE_TEST_FSYNC_FAIL names a file that exists). Then, as
# log/issuance_log.h promises and docs/issuer.md says:
#   - the client is told the outcome is unknown (not "retry"), naming the
#     serial; the issuer logs it;
#   - the serial is not abandoned: the committed row stays "issued", its
#     token used;
#   - every later write is refused, even once fsync works again, and the
#     log does not change;
#   - a restarted issuer (a new log handle) writes again, and the
#     certificate is in the log, durable and in the chain.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"
. "$S/tests/integration/issuer_common.sh"

FAULTS=$B/tests/tools/issuer_faults
[ -x "$FAULTS" ] || fail "$FAULTS: not built (make tests/tools/issuer_faults)"
REAL=$ISSUER

iss_setup
ISSUER=$FAULTS
CARAPACE_TEST_FSYNC_FAIL=$T/fsync-fails
export CARAPACE_TEST_FSYNC_FAIL
iss_start
token "$T/tok" web.example.internal
token "$T/tok2" later.example.internal

: >"$CARAPACE_TEST_FSYNC_FAIL"
car request -s "$URL" --token-file "$T/tok" --name web.example.internal \
    --key-out "$T/k.pem" --cert-out "$T/c.pem"
rm -f "$CARAPACE_TEST_FSYNC_FAIL"
[ "$rc" -ne 0 ] || fail "the request succeeded although the fsync failed"
grep -q 'the outcome is unknown: do not retry with this token' "$T/car.err" ||
    { cat "$T/car.out" >&2; fail "the client is not told the outcome is unknown"; }
grep -q 'fsync' "$T/car.err" || { cat "$T/car.out" >&2; fail "the message does not name the fsync"; }
[ ! -s "$T/c.pem" ] || fail "a certificate reached the client before its entry was durable"
serial=$(sed -n 's/.*check serial \([0-9a-f]*\).*/\1/p' "$T/car.err" | head -n 1)
[ -n "$serial" ] || { cat "$T/car.err" >&2; fail "the message does not name the serial"; }
grep -q "serial $serial: recorded as issued but maybe not durable" "$T/issuer.err" ||
    fail "the issuer does not log the unsure serial"
ok "request: exit $rc: outcome unknown, serial $serial named"

st=$(sql "SELECT status FROM certificates WHERE lower(hex(serial)) = '$serial'")
[ "$st" = issued ] || fail "serial $serial is \"$st\" in the log, not issued (it must not be abandoned)"
[ "$(sql "SELECT count(*) FROM certificates WHERE status = 'abandoned'")" -eq 0 ] ||
    fail "a serial was abandoned"
[ "$(sql "SELECT count(*) FROM join_tokens WHERE used_at IS NOT NULL")" -eq 1 ] ||
    fail "the token is not recorded as used"
ok "the committed row stays issued and its token used; nothing abandoned"

# Later writes are refused, though fsync works again, until a restart.
log_state >"$T/state"
car_refused "a second request after the failed fsync" 3 'earlier fsync of the log failed' \
    request -s "$URL" --token-file "$T/tok2" --name later.example.internal \
    --key-out "$T/k2.pem" --cert-out "$T/c2.pem"
car_refused "token create after the failed fsync" 3 'earlier fsync of the log failed' \
    token create -S "$OPS" --identity x --name x.example.internal \
    --profile server --ttl 1h --out "$T/tok3"
car_refused "revoke after the failed fsync" 3 'earlier fsync of the log failed' \
    revoke -S "$OPS" "$serial" --reason keyCompromise
assert_unchanged "writes after the failed fsync" "$T/state"
ok "every later write refused; the log unchanged"
# It cannot record the chain head at shutdown either, and says so.
kill -TERM "$ISS_PID"
src=0
wait "$ISS_PID" || src=$?
ISS_PID=
sanitizer_clean "$T/issuer.err"
[ $src -ne 0 ] || fail "the issuer exited 0 although its log is not durable"
grep -q 'recording the chain head at shutdown: .*earlier fsync' "$T/issuer.err" ||
    fail "the issuer does not say why it could not record the head"
ok "SIGTERM: exit $src, the head not recorded, and why"

# A restart opens the log again: it writes, and the certificate is there.
ISSUER=$REAL
unset CARAPACE_TEST_FSYNC_FAIL
iss_start same
car_ok "show the unsure serial after the restart" show -S "$OPS" "$serial"
grep -q '^status: issued$' "$T/car.stdout" || fail "show does not say issued"
car_ok "a request after the restart" request -s "$URL" --token-file "$T/tok2" \
    --name later.example.internal --key-out "$T/k2.pem" --cert-out "$T/c2.pem"
car_ok "revoke after the restart" revoke -S "$OPS" "$serial" --reason keyCompromise
car_ok "log verify" log verify -S "$OPS"
grep -q '^log verify: OK' "$T/car.stdout" || fail "log verify did not say OK"
iss_stop
