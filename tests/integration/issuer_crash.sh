#!/bin/sh
# SPDX-License-Identifier: ISC
# issuer_crash.sh: kill -9 the issuer while 8 clients are getting
# certificates, restart it, and let the clients finish. Every certificate a
# client received (race_client writes each one to a file as it arrives) must
# be in the log, byte for byte; the rows the kill left reserved are
# abandoned by the restart; PRAGMA integrity_check must say ok; no
# serial appears twice; carapace log verify passes; and the restarted
# issuer issues again. A client whose request was in flight at the kill
# gets its certificate when nng resends the request to the new process
# (issued then, or, if the kill came between the commit and the reply,
# the one already recorded for it): every token ends as a certificate.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"
. "$S/tests/integration/issuer_common.sh"

iss_setup
iss_start

# Enough tokens that the load is still running when the kill comes: the
# issuer serves well over 1000 certificates/s here.
NTOK=${CRASH_TOKENS:-800}
"$RACE" tokens "$OPS" "$NTOK" crash-load server 3600 "$T/jt.list" \
    'DNS:*.crash.example.internal' >"$T/jt.out" 2>&1 ||
    { cat "$T/jt.out" >&2; fail "race_client could not create $NTOK tokens"; }
[ "$(grep -c . "$T/jt.list")" -eq "$NTOK" ] || fail "fewer than $NTOK tokens"
ok "$NTOK join tokens for *.crash.example.internal"

mkdir "$T/certs"
"$RACE" -i -w 15 load "$URL" "$T/jt.list" 8 '*.crash.example.internal' \
    "$T/certs" >"$T/load.out" 2>"$T/load.err" &
LOAD=$!

# Kill it once some certificates are out, while the rest are in flight.
waited=0
while [ "$(ls "$T/certs" | wc -l)" -lt 40 ] && [ $waited -lt 1000 ]; do
	sleep 0.02
	waited=$((waited + 1))
done
n_before=$(ls "$T/certs" | wc -l)
[ "$n_before" -gt 0 ] || fail "no certificate was issued within 20 s"
[ "$n_before" -lt "$NTOK" ] ||
    fail "the load finished before the kill: raise CRASH_TOKENS"
iss_kill9
ok "kill -9 after $n_before certificates"
# What the crash left reserved is resolved by the restart.
left=$(sql "SELECT count(*) FROM certificates WHERE status = 'reserved'")
lastid=$(sql "SELECT max(id) FROM certificates")
sleep 0.5
iss_start same
[ "$(sql "SELECT count(*) FROM certificates WHERE status = 'reserved' AND id <= $lastid")" -eq 0 ] ||
    fail "rows the crash left reserved are still reserved after the restart"
if [ "$left" -gt 0 ]; then
	grep -q ": $left serials were left reserved" "$T/issuer.err" ||
	    fail "the restarted issuer did not log the $left reservations it resolved"
fi
ok "the crash left $left rows reserved; the restart marked them abandoned"
r=0
wait "$LOAD" || r=$?
cat "$T/load.out" "$T/load.err"
[ $r -le 1 ] || { cat "$T/load.err" >&2; fail "race_client load exited $r"; }
n=$(ls "$T/certs" | wc -l)
[ "$n" -gt "$n_before" ] || fail "no certificate was issued after the restart"
# A request whose answer the kill lost is resent by nng to the new process
# and gets the certificate recorded for it (or is issued then): every token
# ends with its client holding a certificate, none with tokenUsed.
[ "$n" -eq "$NTOK" ] ||
    fail "only $n of $NTOK clients got a certificate (see the load: lines above)"
ok "$n certificates received in all ($n_before before the kill)"

certs_in_log "$T"/certs/*.der
# openssl verify on a sample (every 25th, and the last ones): the whole set
# is compared byte for byte with the log above
i=0
for f in $(ls "$T"/certs/*.der | awk 'NR % 25 == 1') $(ls "$T"/certs/*.der | tail -n 3); do
	openssl x509 -inform DER -in "$f" -out "$f.pem" &&
	openssl verify -CAfile "$CA/root.pem" -untrusted "$CA/intermediate.pem" \
	    "$f.pem" >/dev/null 2>&1 || fail "$f does not verify"
	i=$((i + 1))
done
ok "$i of them checked with openssl verify"

[ "$(sql 'PRAGMA integrity_check')" = ok ] || fail "PRAGMA integrity_check is not ok"
[ -z "$(sql 'SELECT hex(serial) FROM certificates GROUP BY serial HAVING count(*) > 1')" ] ||
    fail "duplicate serials in the log"
# and the serials the clients hold are distinct
# (each is in the log, whose serial column is UNIQUE: they hold one each)
[ -z "$(uniq -d "$T/client.ders")" ] ||
    fail "two clients received the same certificate"
[ "$(sql "SELECT count(*) FROM certificates WHERE status = 'issued' AND der IS NULL")" -eq 0 ] ||
    fail "issued rows without a certificate"
# every issued certificate paid with exactly one token, and each token once
[ "$(sql "SELECT count(*) FROM join_tokens WHERE used_at IS NOT NULL")" -eq \
    "$(sql "SELECT count(*) FROM certificates WHERE token_id IS NOT NULL AND status IN ('issued','revoked')")" ] ||
    fail "used tokens and certificates paid with tokens do not match"
ok "integrity_check ok, no duplicate serials, tokens and certificates match ($(sql "SELECT status || ' ' || count(*) FROM certificates GROUP BY status" | tr '\n' ',' ))"

car_ok "log verify after the crash" log verify -S "$OPS"
grep -q '^log verify: OK' "$T/car.stdout" || { cat "$T/car.out" >&2; fail "log verify did not say OK"; }

token "$T/tok_after" after.example.internal
car_ok "a request after the restart" request -s "$URL" \
    --token-file "$T/tok_after" --name after.example.internal \
    --key-out "$T/ka.pem" --cert-out "$T/ca.pem"
certs_in_log "$T/ca.pem"
iss_stop
car_ok "offline log verify" log verify --log "$DB"
echo "PASS: issuer crash"
