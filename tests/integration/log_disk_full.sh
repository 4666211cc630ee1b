#!/bin/sh
# SPDX-License-Identifier: ISC
# log_disk_full.sh: the issuance log on a small tmpfs that runs full (issue
# 17, item 6). A request whose certificate cannot be recorded because the
# disk is full is refused with "disk full: certificate SERIAL was not
# recorded; the token was not consumed" (it used to read "cannot
# rollback"), and the token is indeed unused; a revocation and a token
# revocation say "disk full" and what was not recorded. Once there is room
# again the same token gets its certificate and the chain verifies.
# Needs root to mount the tmpfs (CI runs as root); skipped (77) otherwise.
#
# The filler leaves 4 pages free: enough for the serial's reservation (two
# WAL frames), not for the completion (about six), so the failure comes at
# the certificate's COMMIT, the path that used to report "cannot rollback".

. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"
. "$S/tests/integration/issuer_common.sh"

FULL=$T/full
mkdir "$FULL"
if [ "$(id -u)" != 0 ] ||
    ! mount -t tmpfs -o size=2m,mode=0700 tmpfs "$FULL" 2>/dev/null; then
	echo "SKIP: cannot mount a tmpfs (needs root)"
	exit 77
fi
full_atexit() {
	rc=$?
	if [ -n "$ISS_PID" ] && kill -0 "$ISS_PID" 2>/dev/null; then
		kill -KILL "$ISS_PID" 2>/dev/null || :
		wait "$ISS_PID" 2>/dev/null || :
	fi
	umount "$FULL" 2>/dev/null || umount -l "$FULL" 2>/dev/null || :
	iss_atexit $rc
}
trap full_atexit EXIT INT TERM

DB=$FULL/issuance.db
N=full.log.example.internal

iss_setup
iss_start
token "$T/tok1" "$N"
token "$T/tok2" "$N"
token "$T/tok3" "$N"
car_ok "a certificate while there is room" request -s "$URL" \
    --token-file "$T/tok1" --name "$N" --key-out "$T/k1.pem" \
    --cert-out "$T/c1.pem"
S1=$(serial_of "$T/c1.pem")
TOK3=$(sql "SELECT id FROM join_tokens WHERE identity = 'id-tok3'")

# Fill the file system, leaving 4 pages.
avail=$(stat -f -c %a "$FULL")
bs=$(stat -f -c %S "$FULL")
[ "$avail" -gt 4 ] || fail "the tmpfs is already full"
dd if=/dev/zero of="$FULL/filler" bs="$bs" count=$((avail - 4)) \
    2>"$T/dd.err" || { cat "$T/dd.err" >&2; fail "dd could not fill $FULL"; }
ok "$FULL filled: $(stat -f -c %a "$FULL") blocks of $bs bytes left"

car_refused "a request on a full disk" 3 \
    'disk full: certificate [0-9a-f]{32} was not recorded; the token was not consumed' \
    request -s "$URL" --token-file "$T/tok2" --name "$N" \
    --key-out "$T/k2.pem" --cert-out "$T/c2.pem"
if grep -Eiq 'rollback|savepoint' "$T/car.err"; then
	fail "the refusal still talks of a rollback: $(cat "$T/car.err")"
fi
[ ! -e "$T/c2.pem" ] && [ ! -e "$T/k2.pem" ] || fail "outputs were written"
[ "$(sql "SELECT count(*) FROM join_tokens WHERE used_at IS NULL")" = 2 ] ||
    fail "a token was consumed by the request that was not recorded"

# The revocation fills no less: it fails with what was not recorded.
car_refused "revoke on a full disk" 3 \
    'disk full: the revocation of serial [0-9a-f]{32} was not recorded' \
    revoke -S "$OPS" "$S1" --reason keyCompromise
car_refused "token revoke on a full disk" 3 'disk full: token .* was not revoked' \
    token revoke -S "$OPS" "$TOK3"
if grep -Eiq 'rollback|savepoint' "$T/car.err"; then
	fail "an operator refusal talks of a rollback: $(cat "$T/car.err")"
fi
[ "$(sql "SELECT status FROM certificates WHERE hex(serial) = '$S1'")" = issued ] ||
    fail "$S1 changed although its revocation failed"

# Room again: the same token works, the revocation goes through.
rm -f "$FULL/filler"
car_ok "the same token once there is room" request -s "$URL" \
    --token-file "$T/tok2" --name "$N" --key-out "$T/k2.pem" \
    --cert-out "$T/c2.pem"
car_ok "the revocation once there is room" revoke -S "$OPS" "$S1" \
    --reason keyCompromise
car_ok "log verify" log verify -S "$OPS"
certs_in_log "$T/c1.pem" "$T/c2.pem"
iss_stop
sanitizer_clean "$T/issuer.err"
